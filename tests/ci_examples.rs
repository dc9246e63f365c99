//! The pipeline files in `examples/ci/` parse as YAML and every `entra-csa`
//! command in them parses with the tool's own argument parser, so they name
//! only commands and flags that exist.

use std::path::Path;

use clap::Parser;
use entra_csa::cli::arguments::Arguments;
use serde_json::Value;

fn ci_file(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/ci").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    serde_saphyr::from_str(&text).unwrap_or_else(|error| panic!("{name} is not valid YAML: {error}"))
}

/// Every string under a `run` (GitHub) or `script` (Azure Pipelines) key,
/// and each step of the entra-csa action as the command line its
/// `action/run.sh` runs (`--auth workload` added as the script adds it).
fn shell_steps(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map)
            if map
                .get("uses")
                .and_then(Value::as_str)
                .is_some_and(|uses| uses.starts_with("entra-csa/entra-csa@")) =>
        {
            let with = &map["with"];
            if let Some(command) = with["command"].as_str() {
                let args = with["args"].as_str().unwrap_or_default();
                let auth = if matches!(command, "plan" | "apply" | "export" | "check-access") {
                    " --auth workload"
                } else {
                    ""
                };
                let format = if command == "plan" { " --format markdown" } else { "" };
                found.push(format!("entra-csa {command} {args}{auth}{format}"));
            }
        }
        Value::Object(map) => {
            for (key, child) in map {
                match (key.as_str(), child) {
                    ("run" | "script" | "bash", Value::String(script)) => found.push(script.clone()),
                    _ => shell_steps(child, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| shell_steps(item, found)),
        _ => {}
    }
}

const SHELL_OPERATORS: [&str; 7] = [">", ">>", "|", "||", "&&", ";", "2>&1"];

/// The `entra-csa` invocations of a script, as argument vectors: joined
/// continuation lines, cut at redirections and shell operators. Only words in
/// command position count (not `cargo install entra-csa`).
fn invocations(script: &str) -> Vec<Vec<String>> {
    let joined = script.replace("\\\n", " ");
    let mut commands = Vec::new();
    for line in joined.lines() {
        let mut words = line.split_whitespace();
        let mut command_position = true;
        while let Some(word) = words.next() {
            if word != "entra-csa" || !command_position {
                command_position = SHELL_OPERATORS.contains(&word);
                continue;
            }
            let mut argv = vec![word.to_owned()];
            for next in words.by_ref() {
                if SHELL_OPERATORS.contains(&next) {
                    break;
                }
                argv.push(next.to_owned());
            }
            commands.push(argv);
            command_position = true;
        }
    }
    commands
}

fn check_pipeline(name: &str, at_least: usize) {
    let mut scripts = Vec::new();
    shell_steps(&ci_file(name), &mut scripts);
    let commands: Vec<Vec<String>> = scripts.iter().flat_map(|script| invocations(script)).collect();
    assert!(
        commands.len() >= at_least,
        "{name}: expected at least {at_least} entra-csa commands, found {commands:?}"
    );
    for argv in &commands {
        if let Err(error) = Arguments::try_parse_from(argv) {
            panic!("{name}: `{}` does not parse:\n{error}", argv.join(" "));
        }
    }
}

#[test]
fn github_actions_workflow_uses_real_commands_and_flags() {
    check_pipeline("github-actions.yml", 5);
}

#[test]
fn azure_pipelines_file_uses_real_commands_and_flags() {
    check_pipeline("azure-pipelines.yml", 5);
}

/// The nightly job reads every difference as drift, gates on the detailed
/// exit code, and opens or updates an issue with `gh` when there is drift.
#[test]
fn the_nightly_drift_job_checks_drift_and_files_an_issue() {
    let workflow = ci_file("github-actions.yml");
    let job = &workflow["jobs"]["drift"];
    assert_eq!(job["permissions"]["issues"], "write", "{job}");
    let mut scripts = Vec::new();
    shell_steps(job, &mut scripts);
    let commands: Vec<Vec<String>> = scripts.iter().flat_map(|script| invocations(script)).collect();
    let check = commands.iter().find(|argv| argv.get(1).is_some_and(|word| word == "plan"));
    let check = check.unwrap_or_else(|| panic!("no plan in the drift job: {commands:?}"));
    for flag in ["--drift", "--detailed-exitcode"] {
        assert!(check.iter().any(|word| word == flag), "{flag} missing: {check:?}");
    }
    let all = scripts.join("\n");
    for needed in ["gh issue list --label entra-csa-drift", "gh issue comment", "gh issue create"] {
        assert!(all.contains(needed), "{needed} missing from the drift job");
    }
    let azure = ci_file("azure-pipelines.yml");
    let mut scripts = Vec::new();
    shell_steps(&azure["stages"], &mut scripts);
    assert!(scripts.iter().any(|script| script.contains("--drift --detailed-exitcode")), "{scripts:?}");
}

#[test]
fn a_made_up_flag_is_caught() {
    assert!(invocations("cargo install --locked entra-csa").is_empty());
    let argv = &invocations("entra-csa plan -f attributes/ --no-such-flag > plan.md")[0];
    assert_eq!(argv, &["entra-csa", "plan", "-f", "attributes/", "--no-such-flag"]);
    assert!(Arguments::try_parse_from(argv).is_err());
}
