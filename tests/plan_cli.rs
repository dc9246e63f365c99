//! `plan` and `apply` against a state file, through the real binary: exit
//! codes, apply then plan converging, saved plans and stale refusal, the
//! confirmation rules, and the atomic rewrite of the state file.

use std::path::{Path, PathBuf};

use crate::launch::entra_csa;
use serde_json::Value;

fn fixture(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/plan").join(case)
}

/// A temporary folder holding a copy of a case's `desired.yaml` and `live.json`.
fn scratch(case: &str) -> tempfile::TempDir {
    let folder = tempfile::tempdir().unwrap();
    for file in ["desired.yaml", "live.json"] {
        std::fs::copy(fixture(case).join(file), folder.path().join(file)).unwrap();
    }
    folder
}

fn run(folder: &Path, args: &[&str]) -> (i32, String, String) {
    let output = entra_csa().current_dir(folder).args(args).output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

const PLAN: [&str; 5] = ["plan", "-f", "desired.yaml", "--state", "live.json"];
const APPLY: [&str; 6] = ["apply", "-f", "desired.yaml", "--state", "live.json", "--auto-approve"];

fn with<'a>(base: &[&'a str], more: &[&'a str]) -> Vec<&'a str> {
    base.iter().chain(more).copied().collect()
}

#[test]
fn detailed_exitcode_tells_in_sync_changes_and_errors_apart() {
    let detailed = with(&PLAN, &["--detailed-exitcode"]);
    assert_eq!(run(&fixture("no-changes"), &detailed).0, 0);
    assert_eq!(run(&fixture("create-everything"), &detailed).0, 2);
    assert_eq!(run(&fixture("undeclared-report"), &detailed).0, 2, "drift alone exits 2");
    assert_eq!(run(&fixture("immutable-properties"), &detailed).0, 1, "conflicts exit 1");
    assert_eq!(run(&fixture("create-everything"), &PLAN).0, 0, "without the flag, changes exit 0");
}

#[test]
fn apply_then_plan_reports_no_changes() {
    for case in [
        "create-everything",
        "assignments",
        "allowed-values",
        "undeclared-deactivate",
        "undeclared-assignments-remove",
    ] {
        let folder = scratch(case);
        let (code, stdout, stderr) = run(folder.path(), &APPLY);
        assert_eq!(code, 0, "{case}: {stdout}{stderr}");
        assert!(stdout.contains("Apply complete:"), "{case}: {stdout}");
        let (code, stdout, _) = run(folder.path(), &with(&PLAN, &["--detailed-exitcode"]));
        // Nothing left to apply; with drift, the plan does not say the tenant matches.
        let drift = stdout.contains("Drift (");
        let line = if drift {
            "No changes. The tenant differs from the files only by the drift above"
        } else {
            "No changes. The tenant matches the files."
        };
        assert!(stdout.contains(line), "{case}: {stdout}");
        assert!(code == 0 || drift, "{case}: exit {code}");
        // The rewrite is whole, valid JSON, and leaves no partial file
        // behind; only the lock file that serialises applies stays.
        let text = std::fs::read_to_string(folder.path().join("live.json")).unwrap();
        serde_json::from_str::<Value>(&text).unwrap();
        let mut names: Vec<String> = std::fs::read_dir(folder.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, [".live.json.entra-csa-lock", "desired.yaml", "live.json"], "{case}");
    }
}

#[test]
fn apply_without_a_terminal_needs_auto_approve() {
    let folder = scratch("create-everything");
    let before = std::fs::read_to_string(folder.path().join("live.json")).unwrap();
    let (code, _, stderr) = run(folder.path(), &APPLY[..5]);
    assert_eq!(code, 1);
    assert!(stderr.contains("pass --auto-approve"), "{stderr}");
    assert_eq!(std::fs::read_to_string(folder.path().join("live.json")).unwrap(), before);
}

#[test]
fn apply_refuses_a_plan_with_conflicts() {
    let folder = scratch("immutable-properties");
    let before = std::fs::read_to_string(folder.path().join("live.json")).unwrap();
    let (code, stdout, stderr) = run(folder.path(), &APPLY);
    assert_eq!(code, 1);
    assert!(stdout.contains("apply refuses this plan"), "{stdout}");
    assert!(stderr.contains("nothing was applied"), "{stderr}");
    assert_eq!(std::fs::read_to_string(folder.path().join("live.json")).unwrap(), before);
}

#[test]
fn a_saved_plan_applies_exactly_and_a_stale_one_is_refused() {
    let folder = scratch("create-everything");
    let (code, _, stderr) = run(folder.path(), &with(&PLAN, &["--out", "saved.json"]));
    assert_eq!(code, 0, "{stderr}");
    let saved = folder.path().join("saved.json");

    // Someone changes the tenant after the plan was saved.
    let live_path = folder.path().join("live.json");
    let mut live: Value = serde_json::from_str(&std::fs::read_to_string(&live_path).unwrap()).unwrap();
    live["attributeSets"] = serde_json::json!([{ "id": "Engineering", "description": "made in the portal" }]);
    let original = std::fs::read_to_string(&live_path).unwrap();
    std::fs::write(&live_path, serde_json::to_string_pretty(&live).unwrap()).unwrap();
    let (code, _, stderr) =
        run(folder.path(), &["apply", "saved.json", "--state", "live.json", "--auto-approve"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("is stale"), "{stderr}");
    assert!(stderr.contains("no longer planned: create Engineering"), "{stderr}");
    assert!(stderr.contains("now planned:       update Engineering"), "{stderr}");

    // Back to the state it was planned against, it applies.
    std::fs::write(&live_path, original).unwrap();
    let (code, stdout, stderr) =
        run(folder.path(), &["apply", "saved.json", "--state", "live.json", "--auto-approve"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("Apply complete: 8 changes done."), "{stdout}");
    let (code, _, _) = run(folder.path(), &with(&PLAN, &["--detailed-exitcode"]));
    assert_eq!(code, 0);
    // Applied once, the same saved plan has nothing left to do: every change
    // is in the tenant, and nothing is written again.
    let applied = std::fs::read_to_string(&live_path).unwrap();
    let (code, stdout, stderr) =
        run(folder.path(), &["apply", "saved.json", "--state", "live.json", "--auto-approve"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stderr.contains("The saved plan is applied already: all 8 of its changes are in the tenant"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&live_path).unwrap(), applied, "nothing was written again");
    drop(saved);
}

#[test]
fn a_saved_plan_is_refused_against_another_target() {
    let folder = scratch("create-everything");
    assert_eq!(run(folder.path(), &with(&PLAN, &["--out", "saved.json"])).0, 0);
    std::fs::copy(folder.path().join("live.json"), folder.path().join("other.json")).unwrap();
    let (code, _, stderr) =
        run(folder.path(), &["apply", "saved.json", "--state", "other.json", "--auto-approve"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("was made for"), "{stderr}");
}

#[test]
fn a_saved_plan_applies_to_the_state_file_it_records_with_the_command_it_prints() {
    let folder = scratch("create-everything");
    std::fs::rename(folder.path().join("live.json"), folder.path().join("t2.json")).unwrap();
    let (code, _, stderr) =
        run(folder.path(), &["plan", "-f", "desired.yaml", "--state", "t2.json", "--out", "saved.plan"]);
    assert_eq!(code, 0, "{stderr}");
    let hint = "apply it with `entra-csa apply saved.plan`.";
    assert!(stderr.contains(hint), "{stderr}");
    let printed: Vec<&str> = "apply saved.plan".split(' ').collect();

    // Exactly the printed command (no terminal here, so --auto-approve).
    let (code, stdout, stderr) = run(folder.path(), &with(&printed, &["--auto-approve"]));
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("Apply complete: 8 changes done."), "{stdout}");
    let (code, _, _) =
        run(folder.path(), &["plan", "-f", "desired.yaml", "--state", "t2.json", "--detailed-exitcode"]);
    assert_eq!(code, 0, "the state file the plan recorded was the one changed");
}

#[test]
fn a_saved_plan_accepts_its_state_file_however_the_path_is_spelt() {
    for spelling in ["absolute", "dot-slash", "through-a-folder"] {
        let folder = scratch("create-everything");
        std::fs::create_dir(folder.path().join("sub")).unwrap();
        assert_eq!(run(folder.path(), &with(&PLAN, &["--out", "saved.json"])).0, 0);
        let path = match spelling {
            "absolute" => folder.path().join("live.json").display().to_string(),
            "dot-slash" => "./live.json".to_owned(),
            _ => "sub/../live.json".to_owned(),
        };
        let (code, stdout, stderr) =
            run(folder.path(), &["apply", "saved.json", "--state", &path, "--auto-approve"]);
        assert_eq!(code, 0, "{spelling}: {stdout}{stderr}");
        assert!(stdout.contains("Apply complete: 8 changes done."), "{spelling}: {stdout}");
    }
}

#[test]
fn a_saved_plan_for_another_state_file_names_both_and_changes_neither() {
    let folder = scratch("create-everything");
    assert_eq!(run(folder.path(), &with(&PLAN, &["--out", "saved.json"])).0, 0);
    std::fs::copy(folder.path().join("live.json"), folder.path().join("other.json")).unwrap();
    let before = std::fs::read_to_string(folder.path().join("other.json")).unwrap();
    let (code, _, stderr) =
        run(folder.path(), &["apply", "saved.json", "--state", "other.json", "--auto-approve"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("was made for the state file live.json, not for the state file other.json"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(folder.path().join("other.json")).unwrap(), before);
    // Nor against Graph: a target flag names another target, nothing is sent.
    let (code, _, stderr) = crate::launch::run(
        entra_csa().current_dir(folder.path()).env("ENTRA_CSA_ACCESS_TOKEN", "any").args([
            "apply",
            "saved.json",
            "--graph-url",
            "http://127.0.0.1:9",
            "--auto-approve",
        ]),
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("not for Microsoft Graph at http://127.0.0.1:9;"), "{stderr}");
}

#[test]
fn a_malformed_state_file_is_named_with_line_and_column() {
    let folder = scratch("create-everything");
    std::fs::write(folder.path().join("live.json"), "{\n  \"attributeSets\": [\n    { \"id\": 5 }\n  ]\n}\n")
        .unwrap();
    let (code, stdout, stderr) = run(folder.path(), &PLAN);
    assert_eq!(code, 1);
    assert!(stdout.is_empty());
    assert!(
        stderr.contains(
            "live.json:3:13: at `attributeSets[0].id`: invalid type: integer `5`, expected a string"
        ),
        "{stderr}"
    );
}

#[test]
fn a_missing_state_file_is_an_error() {
    let folder = scratch("create-everything");
    let (code, _, stderr) = run(folder.path(), &["plan", "-f", "desired.yaml", "--state", "absent.json"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("state file absent.json does not exist"), "{stderr}");
}

/// The README's first command: the examples planned against a copy of their
/// state file show every kind of change; applied, the next plan has none.
#[test]
fn the_readme_main_job_shows_every_kind_of_change_and_converges() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let folder = tempfile::tempdir().unwrap();
    std::fs::copy(examples.join("contoso-live.json"), folder.path().join("tenant.json")).unwrap();
    let examples = examples.to_str().unwrap();
    let plan = ["plan", "-f", examples, "--state", "tenant.json", "--format", "json"];

    let (code, stdout, stderr) = run(folder.path(), &plan);
    assert_eq!(code, 0, "{stderr}");
    let document: Value = serde_json::from_str(&stdout).unwrap();
    let summary = &document["summary"];
    for action in ["create", "update", "deactivate", "reactivate", "assign", "unassign"] {
        assert!(summary[action].as_u64().unwrap() > 0, "no {action} in {summary}");
    }
    assert_eq!(summary["conflicts"], 0);
    let kinds: std::collections::BTreeSet<(String, String)> = document["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|change| {
            (change["kind"].as_str().unwrap().to_owned(), change["action"].as_str().unwrap().to_owned())
        })
        .collect();
    for (kind, action) in [
        ("attributeSet", "create"),
        ("attributeSet", "update"),
        ("definition", "create"),
        ("definition", "update"),
        ("definition", "deactivate"),
        ("allowedValue", "create"),
        ("allowedValue", "reactivate"),
        ("allowedValue", "deactivate"),
        ("assignment", "assign"),
        ("assignment", "update"),
        ("assignment", "unassign"),
    ] {
        assert!(kinds.contains(&(kind.to_owned(), action.to_owned())), "no {action} of a {kind}");
    }

    let (code, _, stderr) =
        run(folder.path(), &["apply", "-f", examples, "--state", "tenant.json", "--auto-approve"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, stderr) = run(folder.path(), &plan);
    assert_eq!(code, 0, "{stderr}");
    let after: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(after["changes"], serde_json::json!([]), "{stdout}");
    // The undeclared attribute stays under `report`; contoso.yaml acknowledges it.
    assert_eq!(after["summary"]["drift"], 0, "{stdout}");
    assert_eq!(after["notes"][0]["address"], "Engineering.Legacy", "{stdout}");
    assert!(after["notes"][0]["message"].as_str().unwrap().starts_with("acknowledged drift: "), "{stdout}");
}
