//! `entra-csa schema`: prints the JSON Schema of the desired-state file, for
//! editors (yaml-language-server) and for checking files in other tools.

use std::io::Write;

use crate::cli::exit_status::ExitStatus;

/// Runs `schema`.
pub fn run() -> anyhow::Result<ExitStatus> {
    std::io::stdout().lock().write_all(crate::desired::manifest::json_schema().as_bytes())?;
    Ok(ExitStatus::Success)
}
