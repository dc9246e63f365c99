//! The pipeline files in `examples/ci/` parse as YAML and every `entra-csa`
//! command in them parses with the tool's own argument parser, so they name
//! only commands and flags that exist; their jobs keep forks away from the
//! tenant, comment only on pull requests, close the drift issue when the
//! drift is gone, and the apply job's check of the fresh plan against the
//! approved one is run for real on plans the binary makes.

use std::path::Path;

use clap::Parser;
use entra_csa::cli::arguments::Arguments;
use serde_json::Value;

fn ci_file(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/ci").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    serde_saphyr::from_str(&text).unwrap_or_else(|error| panic!("{name} is not valid YAML: {error}"))
}

/// Every string under a `run` (GitHub) or `script` / `bash` (Azure
/// Pipelines) key, and each step of the entra-csa action as the argument
/// vector its `action/run.sh` runs: `args` one per line, `--auth workload`
/// added unless `--auth` or `--state` is given.
fn shell_steps(value: &Value, scripts: &mut Vec<String>, actions: &mut Vec<Vec<String>>) {
    match value {
        Value::Object(map)
            if map
                .get("uses")
                .and_then(Value::as_str)
                .is_some_and(|uses| uses.starts_with("entra-csa/entra-csa@")) =>
        {
            let with = &map["with"];
            if let Some(command) = with["command"].as_str() {
                let mut argv = vec!["entra-csa".to_owned(), command.to_owned()];
                let args = with["args"].as_str().unwrap_or_default();
                argv.extend(args.lines().map(str::trim).filter(|line| !line.is_empty()).map(str::to_owned));
                let given =
                    |flag: &str| argv.iter().any(|arg| arg == flag || arg.starts_with(&format!("{flag}=")));
                if matches!(command, "plan" | "apply" | "export" | "check-access" | "report")
                    && !given("--auth")
                    && !given("--state")
                {
                    argv.extend(["--auth".to_owned(), "workload".to_owned()]);
                }
                actions.push(argv);
            }
        }
        Value::Object(map) => {
            for (key, child) in map {
                match (key.as_str(), child) {
                    ("run" | "script" | "bash", Value::String(script)) => scripts.push(script.clone()),
                    _ => shell_steps(child, scripts, actions),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| shell_steps(item, scripts, actions)),
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
                // The shell's quotes are not part of the argument.
                argv.push(next.trim_matches('"').to_owned());
            }
            commands.push(argv);
            command_position = true;
        }
    }
    commands
}

/// Every `entra-csa` command of a pipeline file, as argument vectors.
fn commands_of(value: &Value) -> Vec<Vec<String>> {
    let (mut scripts, mut commands) = (Vec::new(), Vec::new());
    shell_steps(value, &mut scripts, &mut commands);
    commands.extend(scripts.iter().flat_map(|script| invocations(script)));
    commands
}

fn check_pipeline(name: &str, at_least: usize) {
    let commands = commands_of(&ci_file(name));
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
    check_pipeline("github-actions.yml", 7);
}

#[test]
fn azure_pipelines_file_uses_real_commands_and_flags() {
    check_pipeline("azure-pipelines.yml", 4);
}

/// The nightly job reads every difference as drift, gates on the detailed
/// exit code, opens or updates an issue with `gh` when there is drift, and
/// closes it when the tenant matches the files again.
#[test]
fn the_nightly_drift_job_checks_drift_files_an_issue_and_closes_it() {
    let workflow = ci_file("github-actions.yml");
    let job = &workflow["jobs"]["drift"];
    assert_eq!(job["permissions"]["issues"], "write", "{job}");
    let commands = commands_of(job);
    let check = commands.iter().find(|argv| argv.get(1).is_some_and(|word| word == "plan"));
    let check = check.unwrap_or_else(|| panic!("no plan in the drift job: {commands:?}"));
    for flag in ["--drift", "--explain", "--detailed-exitcode"] {
        assert!(check.iter().any(|word| word == flag), "{flag} missing: {check:?}");
    }
    let steps = job["steps"].as_array().unwrap();
    let issue =
        steps.iter().find(|step| step["name"].as_str().is_some_and(|name| name.contains("issue"))).unwrap();
    assert!(issue["if"].is_null(), "the issue step runs on every result, to close the issue too: {issue}");
    let script = issue["run"].as_str().unwrap();
    for needed in
        ["gh issue list --label entra-csa-drift", "gh issue comment", "gh issue create", "gh issue close"]
    {
        assert!(script.contains(needed), "{needed} missing from the drift job");
    }
    // Run the step with a stand-in `gh`: drift (or a coverage finding, also
    // exit 2) opens, a run in sync (exit 0) closes, anything else does neither.
    for (exit, open, expected) in [
        ("2", "", "issue create"),
        ("2", "17", "issue comment 17"),
        ("0", "17", "issue close 17"),
        ("0", "", ""),
        ("1", "17", ""),
    ] {
        let calls =
            run_with_fake_gh(script, &[("DRIFT_EXIT", exit), ("RUN_URL", "https://example/run")], open);
        let last = calls
            .lines()
            .filter(|line| !line.starts_with("issue list") && !line.starts_with("label"))
            .collect::<Vec<_>>();
        match expected {
            "" => assert!(last.is_empty(), "exit {exit}, open {open:?}: {calls}"),
            expected => assert!(
                last.len() == 1 && last[0].starts_with(expected),
                "exit {exit}, open {open:?}: {calls}"
            ),
        }
    }
    let azure = ci_file("azure-pipelines.yml");
    let mut scripts = Vec::new();
    shell_steps(&azure["stages"], &mut scripts, &mut Vec::new());
    assert!(
        scripts.iter().any(|script| script.contains("--drift --explain --detailed-exitcode")),
        "{scripts:?}"
    );
}

/// Runs a step's script with a `gh` that logs its arguments and lists
/// `open_issue` as the open drift issue; returns the log.
fn run_with_fake_gh(script: &str, env: &[(&str, &str)], open_issue: &str) -> String {
    let folder = tempfile::tempdir().unwrap();
    let log = folder.path().join("gh.log");
    std::fs::write(
        folder.path().join("gh"),
        format!(
            "#!/bin/sh\necho \"$*\" >> \"{}\"\ncase \"$1 $2\" in \"issue list\") echo \"{open_issue}\";; esac\n",
            log.display()
        ),
    )
    .unwrap();
    std::process::Command::new("chmod").arg("+x").arg(folder.path().join("gh")).status().unwrap();
    std::fs::write(folder.path().join("drift.md"), "## entra-csa drift check\n").unwrap();
    let mut command = std::process::Command::new("bash");
    command
        .args(["-e", "-c", script])
        .current_dir(folder.path())
        .env("PATH", format!("{}:{}", folder.path().display(), std::env::var("PATH").unwrap()));
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    std::fs::read_to_string(log).unwrap_or_default()
}

/// Pull requests from forks are validated, never planned against the
/// tenant; the plan comment is asked for only in the job that runs on
/// `pull_request` from this repository's branches.
#[test]
fn forks_are_kept_away_from_the_tenant_and_comments_stay_on_pull_requests() {
    let workflow = ci_file("github-actions.yml");
    let jobs = workflow["jobs"].as_object().unwrap();
    let plan_if = jobs["plan"]["if"].as_str().unwrap();
    assert!(plan_if.contains("github.event_name == 'pull_request'"), "{plan_if}");
    assert!(
        plan_if.contains("github.event.pull_request.head.repo.full_name == github.repository"),
        "{plan_if}"
    );
    let fork = &jobs["fork"];
    assert!(fork["if"].as_str().unwrap().contains("head.repo.full_name != github.repository"));
    assert!(fork["permissions"]["id-token"].is_null(), "a fork's job gets no OIDC token: {fork}");
    assert!(commands_of(fork).iter().all(|argv| argv[1] == "validate"), "a fork is only validated");
    for (name, job) in jobs {
        let text = serde_json::to_string(job).unwrap();
        if text.contains("\"comment\":\"true\"") {
            assert_eq!(name, "plan", "{name} comments outside pull requests");
        }
    }
}

/// The apply job re-plans inside its concurrency group and applies only a
/// plan whose every change the reviewers approved; run here on plans the
/// binary makes.
#[test]
fn the_apply_job_replans_in_its_group_and_applies_only_what_was_approved() {
    let workflow = ci_file("github-actions.yml");
    let apply = &workflow["jobs"]["apply"];
    assert_eq!(apply["environment"], "entra");
    assert_eq!(apply["concurrency"]["group"], "entra-csa-apply");
    assert_eq!(apply["concurrency"]["cancel-in-progress"], Value::Bool(false));
    assert!(workflow["jobs"].get("plan-for-apply").is_none(), "no plan made outside the group is applied");
    let steps = apply["steps"].as_array().unwrap();
    let position = |needle: &str| {
        steps
            .iter()
            .position(|step| serde_json::to_string(step).unwrap().contains(needle))
            .unwrap_or_else(|| panic!("{needle}"))
    };
    let (replan, compare, write) =
        (position("--out fresh.json"), position("REVIEWED"), position("apply fresh.json"));
    assert!(replan < compare && compare < write, "plan again, compare, then apply");
    let script = steps[compare]["run"].as_str().unwrap();

    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/plan");
    let folder = tempfile::tempdir().unwrap();
    let plan = |case: &str, name: &str| {
        let out = folder.path().join(name);
        let status = std::process::Command::new(env!("CARGO_BIN_EXE_entra-csa"))
            .current_dir(root.join(case))
            .args(["plan", "-f", "desired.yaml", "--state", "live.json", "--format", "json"])
            .output()
            .unwrap();
        std::fs::write(&out, &status.stdout).unwrap();
        out
    };
    let reviewed = plan("contoso", "reviewed.json");
    let compare_with = |fresh: &Path| {
        let summary = folder.path().join("summary.md");
        let output = std::process::Command::new("bash")
            .args(["-c", script])
            .env("REVIEWED", &reviewed)
            .env("FRESH", fresh)
            .env("RUN_URL", "https://github.example/o/r/actions/runs/5")
            .env("GITHUB_STEP_SUMMARY", &summary)
            .output()
            .unwrap();
        (output.status.code(), std::fs::read_to_string(summary).unwrap_or_default())
    };
    // The same plan, and a plan with fewer changes (some applied meanwhile), go ahead.
    assert_eq!(compare_with(&reviewed).0, Some(0));
    let mut fewer: Value = serde_json::from_slice(&std::fs::read(&reviewed).unwrap()).unwrap();
    fewer["changes"].as_array_mut().unwrap().truncate(3);
    let fewer_path = folder.path().join("fewer.json");
    std::fs::write(&fewer_path, serde_json::to_vec(&fewer).unwrap()).unwrap();
    assert_eq!(compare_with(&fewer_path).0, Some(0));
    // Another plan (the tenant drifted, or another merge): nothing is applied,
    // and the reviewer is told what changed and what to do.
    let other = plan("assignments", "other.json");
    let (code, summary) = compare_with(&other);
    assert_eq!(code, Some(1));
    assert!(summary.contains("Not applied: the tenant no longer matches the approved plan"), "{summary}");
    assert!(summary.contains("Re-run all jobs"), "{summary}");
    assert!(summary.contains("https://github.example/o/r/actions/runs/5"), "{summary}");
}

/// The Azure pipeline plans once and posts that plan once per pull request:
/// one `plan` in the plan stage, and one thread that later runs update.
#[test]
fn the_azure_pipeline_plans_once_and_keeps_one_thread() {
    let azure = ci_file("azure-pipelines.yml");
    let plan_stage = &azure["stages"][0];
    let plans: Vec<Vec<String>> =
        commands_of(plan_stage).into_iter().filter(|argv| argv[1] == "plan").collect();
    assert_eq!(plans.len(), 1, "{plans:?}");
    for flag in ["--out", "--render-to"] {
        assert!(plans[0].iter().any(|arg| arg == flag), "{flag}: {:?}", plans[0]);
    }
    let mut scripts = Vec::new();
    shell_steps(plan_stage, &mut scripts, &mut Vec::new());
    let post = scripts.iter().find(|script| script.contains("/threads")).expect("a step posts the plan");
    assert!(post.contains("PATCH") && post.contains("POST"), "updates its thread, else starts one");
    assert!(post.contains("authenticatedUser.id"), "only a thread of its own identity is updated");
}

#[test]
fn a_made_up_flag_is_caught() {
    assert!(invocations("cargo install --locked entra-csa").is_empty());
    let argv = &invocations("entra-csa plan -f attributes/ --no-such-flag > plan.md")[0];
    assert_eq!(argv, &["entra-csa", "plan", "-f", "attributes/", "--no-such-flag"]);
    assert!(Arguments::try_parse_from(argv).is_err());
}
