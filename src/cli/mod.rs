//! The command line: parses arguments, runs one command, and turns its result
//! into an exit status. Each command lives in its own file.

pub mod apply;
pub mod arguments;
pub mod check_access;
pub mod completions;
pub mod emulator;
pub mod exit_status;
pub mod export;
pub mod plan;
pub mod schema;
pub mod target;
pub mod validate;

use clap::Parser;

use crate::cli::exit_status::ExitStatus;
use arguments::{Arguments, Command};

/// Runs the tool with the process arguments.
pub fn run() -> ExitStatus {
    let arguments = Arguments::parse();
    // The emulator sets up its own logging from RUST_LOG unless -v is given.
    if !matches!(arguments.command, Command::Emulator(_)) || arguments.verbose > 0 {
        init_logging(arguments.verbose);
    }
    match execute(arguments) {
        Ok(status) => status,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitStatus::Failed
        }
    }
}

fn execute(arguments: Arguments) -> anyhow::Result<ExitStatus> {
    match arguments.command {
        Command::Validate(args) => validate::run(args),
        Command::Plan(args) => plan::run(args),
        Command::Apply(args) => apply::run(args),
        Command::Export(args) => export::run(args),
        Command::Schema => schema::run(),
        Command::CheckAccess(args) => check_access::run(args),
        Command::Emulator(args) => emulator::run(args),
        Command::Completions(args) => completions::print_completions(args),
        Command::Man(args) => completions::write_man_pages(args),
    }
}

/// Logs on stderr: warnings by default, requests and retries with `-v`,
/// everything of this tool and its sign-in libraries with `-vv`. Tokens are
/// never logged: they live only in `graph::auth::BearerToken`.
fn init_logging(verbose: u8) {
    let filter = match verbose {
        0 => "entra_csa=warn",
        1 => "entra_csa=debug",
        _ => "entra_csa=trace,azure_core=debug,azure_identity=debug",
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_ansi(
            std::io::IsTerminal::is_terminal(&std::io::stderr())
                && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty()),
        )
        .with_target(verbose > 1)
        .without_time()
        .try_init();
}
