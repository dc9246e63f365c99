//! Usage errors (a misspelt flag, a missing value, an unknown command) exit 1
//! for every command, never 2: exit 2 means "changes or drift present" to a
//! pipeline gate such as `|| test $? -eq 2`. `--help` and `--version` exit 0.

use clap::CommandFactory;
use entra_csa::cli::arguments::Arguments;

use crate::launch::{entra_csa, run};

#[test]
fn every_command_exits_1_on_a_misspelt_flag() {
    let commands: Vec<String> =
        Arguments::command().get_subcommands().map(|command| command.get_name().to_owned()).collect();
    assert!(commands.len() >= 7, "{commands:?}");
    for command in &commands {
        let (code, stdout, stderr) = run(entra_csa().args([command.as_str(), "--fromat", "json"]));
        assert_eq!(code, 1, "{command}: {stdout}{stderr}");
        assert!(stderr.contains("unexpected argument '--fromat'"), "{command}: {stderr}");
        assert!(stdout.is_empty(), "{command}: {stdout}");
    }
}

#[test]
fn the_pipeline_gate_of_the_readme_does_not_pass_a_typo() {
    let folder = tempfile::tempdir().unwrap();
    let (code, _, stderr) = run(entra_csa().current_dir(folder.path()).args([
        "plan",
        "--detailed-exitcode",
        "-f",
        "x.yaml",
        "--fromat",
        "json",
        "--out",
        "saved.plan",
    ]));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("tip: a similar argument exists: '--format'"), "{stderr}");
    assert!(!folder.path().join("saved.plan").exists());
}

#[test]
fn missing_values_unknown_commands_and_bad_enum_values_exit_1() {
    for args in [
        vec!["plan"],
        vec!["plan", "-f"],
        vec!["plan", "-f", "x.yaml", "--format", "yaml"],
        vec!["apply", "--state", "t.json"],
        vec!["aply", "plan.json"],
        vec![],
    ] {
        let (code, _, stderr) = run(entra_csa().args(&args));
        assert_eq!(code, 1, "{args:?}: {stderr}");
        // No command at all prints the help, on stderr, as the error it is.
        let expected = if args.is_empty() { "Usage: entra-csa" } else { "error:" };
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

#[test]
fn help_and_version_exit_0_on_stdout() {
    for args in [vec!["--help"], vec!["plan", "--help"], vec!["help", "apply"], vec!["--version"]] {
        let (code, stdout, stderr) = run(entra_csa().args(&args));
        assert_eq!(code, 0, "{args:?}: {stderr}");
        assert!(!stdout.is_empty(), "{args:?}");
    }
}

/// Terraform's single-dash flags (`-out`, `-detailed-exitcode`) and every
/// other long flag typed with one dash get a hint naming the real flag,
/// exit 1 and do nothing (clap alone would read `-out` as `-o -u -t`).
#[test]
fn a_long_flag_typed_with_one_dash_names_the_double_dash_flag() {
    let folder = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = run(entra_csa().current_dir(folder.path()).args([
        "plan",
        "-f",
        "x.yaml",
        "-out",
        "saved.plan",
        "-detailed-exitcode",
    ]));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("unexpected argument '-out' found"), "{stderr}");
    assert!(stderr.contains("tip: long flags take two dashes: '--out'"), "{stderr}");
    assert!(stderr.contains("Usage: entra-csa plan"), "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(!folder.path().join("saved.plan").exists());

    let (code, _, stderr) = run(entra_csa().args(["plan", "-f", "x.yaml", "-detailed-exitcode"]));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("'--detailed-exitcode'"), "{stderr}");

    // Every visible long flag of every command, with and without `=value`.
    let mut root = Arguments::command();
    root.build();
    let mut checked = 0;
    for command in root.get_subcommands().filter(|command| command.get_name() != "help") {
        for arg in command.get_arguments().filter(|arg| !arg.is_hide_set()) {
            let Some(long) = arg.get_long() else { continue };
            if long == "help" || long == "version" {
                continue;
            }
            for word in [format!("-{long}"), format!("-{long}=x")] {
                let (code, stdout, stderr) =
                    run(entra_csa().current_dir(folder.path()).args([command.get_name(), word.as_str()]));
                assert_eq!(code, 1, "{} {word}: {stderr}", command.get_name());
                assert!(stderr.contains(&format!("tip: long flags take two dashes: '--{long}'")), "{stderr}");
                assert!(stdout.is_empty(), "{stdout}");
                checked += 1;
            }
        }
    }
    assert!(checked > 60, "{checked}");
    assert_eq!(std::fs::read_dir(folder.path()).unwrap().count(), 0, "nothing was written");
}
