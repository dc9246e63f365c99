//! Shell completions and man pages, generated from the same clap definitions
//! the tool parses with, so they can never name a command or flag that does
//! not exist. The release workflow ships both beside the binary.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use clap::CommandFactory;

use crate::cli::arguments::{Arguments, CompletionsArgs, ManArgs};
use crate::cli::exit_status::ExitStatus;

/// Runs `completions SHELL`: the script on stdout.
pub fn print_completions(args: CompletionsArgs) -> anyhow::Result<ExitStatus> {
    let mut command = Arguments::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "entra-csa", &mut script);
    std::io::stdout().lock().write_all(&script)?;
    Ok(ExitStatus::Success)
}

/// Runs `man --out-dir DIR`: one page for the tool and one per command.
pub fn write_man_pages(args: ManArgs) -> anyhow::Result<ExitStatus> {
    std::fs::create_dir_all(&args.out_dir)
        .with_context(|| format!("cannot create {}", args.out_dir.display()))?;
    // Built, so that global flags (-v) appear on every command's page.
    let mut command = Arguments::command();
    command.build();
    let mut written = 0;
    write_page(&command, "entra-csa", &args.out_dir, &mut written)?;
    writeln!(std::io::stdout(), "wrote {written} man pages to {}", args.out_dir.display())?;
    Ok(ExitStatus::Success)
}

/// Writes `command`'s page as `{name}.1`, then each subcommand's as `{name}-{sub}.1`.
fn write_page(command: &clap::Command, name: &str, folder: &Path, written: &mut usize) -> anyhow::Result<()> {
    let page = command.clone().name(name.to_owned());
    let mut roff = Vec::new();
    clap_mangen::Man::new(page).render(&mut roff)?;
    let path = folder.join(format!("{name}.1"));
    std::fs::write(&path, roff).with_context(|| format!("cannot write {}", path.display()))?;
    *written += 1;
    for sub in command.get_subcommands().filter(|sub| !sub.is_hide_set() && sub.get_name() != "help") {
        write_page(sub, &format!("{name}-{}", sub.get_name()), folder, written)?;
    }
    Ok(())
}
