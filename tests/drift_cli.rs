//! Drift a nightly job can live with, through the real binary on state
//! files: acknowledged drift does not exit 2 and a stale acknowledgement
//! does; `plan --drift` words every difference as drift with the tenant's
//! and the files' values; and the README's own example reaches exit 0.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::launch::{entra_csa, run};

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn in_folder(folder: &Path, args: &[&str]) -> (i32, String, String) {
    run(entra_csa().current_dir(folder).args(args))
}

/// A folder with the examples' `contoso.yaml` and a copy of its state file as `tenant.json`.
fn contoso() -> tempfile::TempDir {
    let folder = tempfile::tempdir().unwrap();
    std::fs::create_dir(folder.path().join("examples")).unwrap();
    std::fs::copy(repo("examples/contoso.yaml"), folder.path().join("examples/contoso.yaml")).unwrap();
    std::fs::copy(repo("examples/contoso-live.json"), folder.path().join("tenant.json")).unwrap();
    folder
}

const PLAN: [&str; 5] = ["plan", "-f", "examples/", "--state", "tenant.json"];

fn with<'a>(base: &[&'a str], more: &[&'a str]) -> Vec<&'a str> {
    base.iter().chain(more).copied().collect()
}

#[test]
fn the_readme_example_is_in_sync_after_its_apply_and_its_known_drift_is_acknowledged() {
    let folder = contoso();
    let (code, stdout, _) = in_folder(folder.path(), &with(&PLAN, &["--detailed-exitcode"]));
    assert_eq!(code, 2, "changes before the apply: {stdout}");
    let (code, stdout, stderr) =
        in_folder(folder.path(), &["apply", "-f", "examples/", "--state", "tenant.json", "--auto-approve"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let (code, stdout, _) = in_folder(folder.path(), &with(&PLAN, &["--detailed-exitcode"]));
    assert_eq!(code, 0, "exit 0: in sync, as examples/README.md says: {stdout}");
    assert!(stdout.contains("Acknowledged drift (1)"), "{stdout}");
    assert!(
        stdout.contains("= attribute Engineering.Legacy: exists in the tenant but is not declared"),
        "{stdout}"
    );
    assert!(stdout.contains("0 drift findings"), "{stdout}");
    // The nightly job of examples/ci: also exit 0.
    let (code, stdout, _) = in_folder(folder.path(), &with(&PLAN, &["--drift", "--detailed-exitcode"]));
    assert_eq!(code, 0, "{stdout}");
}

#[test]
fn acknowledged_drift_does_not_exit_2_but_drift_and_stale_acknowledgements_do() {
    let folder = tempfile::tempdir().unwrap();
    let case = repo("tests/fixtures/plan/acknowledged-drift");
    std::fs::copy(case.join("live.json"), folder.path().join("live.json")).unwrap();
    let desired = std::fs::read_to_string(case.join("desired.yaml")).unwrap();
    let plan =
        ["plan", "-f", "desired.yaml", "--state", "live.json", "--detailed-exitcode", "--format", "json"];

    // As committed: one finding still open, one acknowledgement stale.
    std::fs::write(folder.path().join("desired.yaml"), &desired).unwrap();
    let (code, stdout, stderr) = in_folder(folder.path(), &plan);
    assert_eq!(code, 2, "{stderr}");
    let document: Value = serde_json::from_str(&stdout).unwrap();
    let drift: Vec<&str> =
        document["drift"].as_array().unwrap().iter().map(|d| d["address"].as_str().unwrap()).collect();
    assert_eq!(
        drift,
        ["Engineering.Retired", "servicePrincipal:7c2f3c3e-1111-4a4a-9b9b-0123456789ab/Engineering.Project"]
    );
    assert!(document["drift"][0]["message"].as_str().unwrap().contains("remove it from acknowledgedDrift"));
    let acknowledged = &document["notes"][0];
    assert_eq!(acknowledged["address"], "user:carol@contoso.com/Engineering.Project");
    assert!(acknowledged["message"].as_str().unwrap().starts_with("acknowledged drift: "), "{acknowledged}");

    // The stale one removed and the other finding acknowledged: exit 0.
    let settled = desired.replace(
        "  Engineering.Retired: removed in the portal last quarter\n",
        "  servicePrincipal:7c2f3c3e-1111-4a4a-9b9b-0123456789ab/Engineering.Project: the build agent's pool\n",
    );
    assert_ne!(settled, desired);
    std::fs::write(folder.path().join("desired.yaml"), settled).unwrap();
    let (code, stdout, stderr) = in_folder(folder.path(), &plan);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let document: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(document["summary"]["drift"], 0);
    assert_eq!(document["notes"].as_array().unwrap().len(), 2, "both shown as acknowledged");
}

#[test]
fn acknowledgements_that_cannot_be_drift_are_refused_before_any_read() {
    let folder = tempfile::tempdir().unwrap();
    std::fs::write(
        folder.path().join("desired.yaml"),
        "version: 1\nattributeSets:\n  Engineering:\n    attributes:\n      Project:\n        type: String\n\
         acknowledgedDrift:\n  Enginering.Legacy: typo in the set\n  Engineering: a whole set\n  \
         Engineering.Old: \"\"\n  group:x/Engineering.Project: not a principal kind\n",
    )
    .unwrap();
    // No state file exists: validation stops the run before any read.
    let (code, _, stderr) =
        in_folder(folder.path(), &["plan", "-f", "desired.yaml", "--state", "missing.json"]);
    assert_eq!(code, 1, "{stderr}");
    for expected in [
        "desired.yaml:8:3: error: `Enginering.Legacy` is in the attribute set `Enginering`, which the files do not declare",
        "did you mean `Engineering`?",
        "desired.yaml:9:3: error: `Engineering` is not an address of the plan",
        "desired.yaml:10:20: error: `Engineering.Old` has no reason",
        "desired.yaml:11:3: error: `group:x/Engineering.Project` is not an address of the plan",
    ] {
        assert!(stderr.contains(expected), "{expected}\n{stderr}");
    }
    assert!(!stderr.contains("does not exist"), "{stderr}");
}

#[test]
fn plan_drift_words_every_difference_as_drift_with_both_values() {
    let folder = contoso();
    let apply = ["apply", "-f", "examples/", "--state", "tenant.json", "--auto-approve"];
    assert_eq!(in_folder(folder.path(), &apply).0, 0);
    // Someone changes a value in the portal after the apply.
    let path = folder.path().join("tenant.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let changed = text.replacen("\"CostCenter\": 1001", "\"CostCenter\": 4242", 1);
    assert_ne!(changed, text, "alice's cost center is in the state file");
    std::fs::write(&path, changed).unwrap();

    // A plain plan: an ordinary update, drift empty.
    let (code, stdout, _) =
        in_folder(folder.path(), &with(&PLAN, &["--format", "json", "--detailed-exitcode"]));
    assert_eq!(code, 2);
    let document: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(document["drift"].as_array().unwrap().len(), 0);

    // --drift: the same difference, as drift, with the tenant's and the files' values.
    let (code, stdout, _) =
        in_folder(folder.path(), &with(&PLAN, &["--drift", "--format", "json", "--detailed-exitcode"]));
    assert_eq!(code, 2);
    let document: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(document["summary"]["drift"], 1);
    assert_eq!(document["drift"][0]["address"], "user:alice@contoso.com/Engineering.CostCenter");
    assert_eq!(document["drift"][0]["message"], "tenant: 4242; files: 1001");
    assert_eq!(document["changes"][0]["action"], "update", "the change that would repair it is kept");

    let (_, text, _) = in_folder(folder.path(), &with(&PLAN, &["--drift"]));
    assert!(text.contains("The tenant differs from the files."), "{text}");
    assert!(text.contains("Drift (1): the tenant differs from the files"), "{text}");
    assert!(
        text.contains(
            "? assignment user:alice@contoso.com/Engineering.CostCenter: tenant: 4242; files: 1001"
        ),
        "{text}"
    );
    let (_, markdown, _) = in_folder(folder.path(), &with(&PLAN, &["--drift", "--format", "markdown"]));
    assert!(markdown.starts_with("## entra-csa drift check"), "{markdown}");
    assert!(markdown.contains("**The tenant differs from the files** in 1 place(s)"), "{markdown}");
    assert!(markdown.contains("<details open><summary>Drift (1)"), "{markdown}");
}
