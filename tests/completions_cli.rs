//! `entra-csa completions SHELL` and `entra-csa man` name every command and
//! every flag the parser knows: they are generated from the same definitions,
//! and this holds them to it.

use clap::CommandFactory;
use entra_csa::cli::arguments::Arguments;

use crate::launch::{entra_csa, run};

/// Every (subcommand path, long flag) the parser accepts, global flags included.
fn commands_and_flags() -> Vec<(String, Vec<String>)> {
    fn walk(command: &clap::Command, name: String, found: &mut Vec<(String, Vec<String>)>) {
        let flags = command
            .get_arguments()
            .filter(|arg| !arg.is_hide_set())
            .filter_map(|arg| arg.get_long().map(str::to_owned))
            .collect();
        found.push((name.clone(), flags));
        for sub in command.get_subcommands().filter(|sub| sub.get_name() != "help") {
            walk(sub, format!("{name}-{}", sub.get_name()), found);
        }
    }
    let mut command = Arguments::command();
    command.build();
    let mut found = Vec::new();
    walk(&command, "entra-csa".to_owned(), &mut found);
    found
}

#[test]
fn every_shell_completes_every_command_and_flag() {
    let expected = commands_and_flags();
    assert!(expected.len() >= 9, "{expected:?}");
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let (code, script, stderr) = run(entra_csa().args(["completions", shell]));
        assert_eq!(code, 0, "{shell}: {stderr}");
        for (command, flags) in &expected {
            let name =
                if command == "entra-csa" { "entra-csa" } else { command.trim_start_matches("entra-csa-") };
            assert!(script.contains(name), "{shell}: no command `{name}`");
            for flag in flags {
                assert!(script.contains(flag.as_str()), "{shell}: no flag --{flag} of `{command}`");
            }
        }
    }
}

#[test]
fn a_man_page_per_command_names_each_of_its_flags() {
    let folder = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = run(entra_csa().arg("man").arg("--out-dir").arg(folder.path()));
    assert_eq!(code, 0, "{stderr}");
    let expected = commands_and_flags();
    assert!(stdout.contains(&format!("wrote {} man pages", expected.len())), "{stdout}");
    for (command, flags) in &expected {
        let page = std::fs::read_to_string(folder.path().join(format!("{command}.1")))
            .unwrap_or_else(|error| panic!("no page for {command}: {error}"));
        assert!(page.starts_with(".ie") || page.contains(".TH"), "{command}: not roff");
        for flag in flags {
            // roff escapes each hyphen.
            let written = format!("\\-\\-{}", flag.replace('-', "\\-"));
            assert!(page.contains(&written), "{command}.1 does not name --{flag}");
        }
    }
}

#[test]
fn the_version_names_the_commit() {
    let (code, stdout, _) = run(entra_csa().arg("--version"));
    assert_eq!(code, 0);
    let version = stdout.trim();
    assert!(version.starts_with(&format!("entra-csa {} (commit ", env!("CARGO_PKG_VERSION"))), "{version}");
    let commit = version.rsplit("commit ").next().unwrap().trim_end_matches(')');
    assert!(
        commit == "unknown" || (commit.len() == 12 && commit.chars().all(|c| c.is_ascii_hexdigit())),
        "{version}"
    );
}
