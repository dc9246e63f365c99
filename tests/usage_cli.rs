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
