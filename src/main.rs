//! The `entra-csa` binary: everything happens in `entra_csa::cli::run`.

use std::process::ExitCode;

fn main() -> ExitCode {
    entra_csa::cli::run().into()
}
