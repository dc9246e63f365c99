//! The command line: parses arguments, runs one command, and turns its result
//! into an exit status. Each command lives in its own file.

pub mod apply;
pub mod arguments;
pub mod emulator;
mod interim_load;
pub mod plan;
pub mod target;

use clap::Parser;

use crate::exit_status::ExitStatus;
use arguments::{Arguments, Command};

/// Runs the tool with the process arguments.
pub fn run() -> ExitStatus {
    let arguments = Arguments::parse();
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
        Command::Validate(_) => anyhow::bail!("`validate` is not built yet"),
        Command::Plan(args) => plan::run(args),
        Command::Apply(args) => apply::run(args),
        Command::Export(_) => anyhow::bail!("`export` is not built yet"),
        Command::Schema => anyhow::bail!("`schema` is not built yet"),
        Command::Emulator(args) => emulator::run(args),
    }
}
