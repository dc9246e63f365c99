//! The command line: parses arguments, runs one command, and turns its result
//! into an exit status. Each command lives in its own file.

pub mod apply;
pub mod arguments;
pub mod emulator;
pub mod export;
pub mod plan;
pub mod schema;
pub mod target;
pub mod validate;

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
        Command::Validate(args) => validate::run(args),
        Command::Plan(args) => plan::run(args),
        Command::Apply(args) => apply::run(args),
        Command::Export(args) => export::run(args),
        Command::Schema => schema::run(),
        Command::Emulator(args) => emulator::run(args),
    }
}
