//! The policies part of a state file (Conditional Access and app management
//! policies, as Graph returns them) is optional: a state file with it plans
//! and applies as one without, and an apply writes it back unchanged.

use serde_json::Value;

use crate::launch::{entra_csa, run};

fn repo(path: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

#[test]
fn a_state_file_keeps_its_policies_through_an_apply() {
    let folder = tempfile::tempdir().unwrap();
    let mut tenant: Value =
        serde_json::from_str(&std::fs::read_to_string(repo("examples/contoso-live.json")).unwrap()).unwrap();
    let policies: Value = serde_json::from_str(
        &std::fs::read_to_string(repo("tests/fixtures/policies/policies.json")).unwrap(),
    )
    .unwrap();
    for (key, value) in policies.as_object().unwrap() {
        tenant[key] = value.clone();
    }
    let path = folder.path().join("tenant.json");
    std::fs::write(&path, serde_json::to_string_pretty(&tenant).unwrap()).unwrap();
    let examples = repo("examples/contoso.yaml");
    let (code, stdout, stderr) = run(entra_csa().current_dir(folder.path()).args([
        "apply",
        "-f",
        examples.to_str().unwrap(),
        "--state",
        "tenant.json",
        "--auto-approve",
    ]));
    assert_eq!(code, 0, "{stdout}{stderr}");
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_ne!(written["users"], tenant["users"], "the apply changed values");
    for key in ["conditionalAccessPolicies", "defaultAppManagementPolicy", "appManagementPolicies"] {
        assert_eq!(written[key], policies[key], "{key} was not kept as written");
    }
}
