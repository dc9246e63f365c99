//! The command line: parses arguments, runs one command, and turns its result
//! into an exit status. Each command lives in its own file.

pub mod apply;
pub mod arguments;
pub mod check_access;
pub mod completions;
pub mod emulator;
pub mod exit_status;
pub mod export;
pub mod output;
pub mod plan;
pub mod readers;
pub mod report;
pub mod schema;
pub mod show;
pub mod stop;
pub mod target;
pub mod troubleshooting;
pub mod usage;
pub mod validate;

use clap::{CommandFactory, Parser};

use crate::cli::exit_status::ExitStatus;
use crate::cli::output::tell;
use arguments::{Arguments, Command};

/// Runs the tool with the process arguments.
pub fn run() -> ExitStatus {
    let words: Vec<String> =
        std::env::args_os().skip(1).map(|word| word.to_string_lossy().into_owned()).collect();
    let mut root = Arguments::command();
    root.build();
    if let Some(flag) = usage::single_dash_long_flag(&root, &words) {
        output::tell_part!("{}", flag.message());
        return ExitStatus::Failed;
    }
    let arguments = match Arguments::try_parse() {
        Ok(arguments) => arguments,
        Err(error) => return usage_error(&error),
    };
    // The emulator sets up its own logging from RUST_LOG unless -v is given.
    if !matches!(arguments.command, Command::Emulator(_)) || arguments.verbose > 0 {
        init_logging(arguments.verbose);
    }
    match execute(arguments) {
        Ok(status) => status,
        // The reader of stdout has gone (`| head -1`): nothing is wrong.
        Err(error) if output::is_closed_pipe(&error) => ExitStatus::Success,
        Err(error) => {
            let message = format!("{error:#}");
            tell!("error: {message}");
            if let Some(anchor) = troubleshooting::anchor_for(&message) {
                tell!("{}", troubleshooting::see(anchor));
            }
            ExitStatus::Failed
        }
    }
}

/// Prints clap's message and ends the run. `--help` and `--version` succeed;
/// every misspelt flag, missing value or unknown command exits 1, as
/// Terraform's usage errors do, so that a pipeline gate on exit 2 ("changes
/// present") can never mistake a typo for a plan.
fn usage_error(error: &clap::Error) -> ExitStatus {
    // Writing to a closed pipe is no reason to panic; the status stands.
    let _ = error.print();
    if error.use_stderr() { ExitStatus::Failed } else { ExitStatus::Success }
}

fn execute(arguments: Arguments) -> anyhow::Result<ExitStatus> {
    match arguments.command {
        Command::Validate(args) => validate::run(args),
        Command::Plan(args) => plan::run(args),
        Command::Apply(args) => apply::run(args),
        Command::Export(args) => export::run(args),
        Command::Report(args) => report::run(args),
        Command::Readers(args) => readers::run(args),
        Command::Schema => schema::run(),
        Command::Show(args) => show::run(args),
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
