//! `examples/ci/acceptance.yml` is the workflow the README's acceptance
//! section promises: scheduled, OIDC only, one run at a time, running this
//! suite against the tenant with the settings `settings.rs` reads.

use serde_json::Value;

#[test]
fn the_acceptance_workflow_runs_this_suite_against_the_tenant_with_oidc() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/ci/acceptance.yml");
    let text = std::fs::read_to_string(&path).unwrap();
    let workflow: Value = serde_saphyr::from_str(&text).unwrap();
    assert!(workflow["on"]["schedule"][0]["cron"].is_string(), "scheduled");
    assert_eq!(workflow["concurrency"]["cancel-in-progress"], false, "runs never overlap");
    let job = &workflow["jobs"]["acceptance"];
    assert_eq!(job["permissions"]["id-token"], "write", "OIDC");
    let env = job["env"].as_object().unwrap();
    assert_eq!(env["ENTRA_CSA_ACCEPTANCE"], "1");
    assert_eq!(env["ENTRA_CSA_ACCEPTANCE_AUTH"], "workload");
    let known = [
        "ENTRA_CSA_ACCEPTANCE",
        "ENTRA_CSA_ACCEPTANCE_AUTH",
        "ENTRA_CSA_ACCEPTANCE_USERS",
        "ENTRA_CSA_ACCEPTANCE_SERVICE_PRINCIPAL",
        "ENTRA_CSA_ACCEPTANCE_RECORD",
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_ID",
    ];
    for name in env.keys() {
        assert!(known.contains(&name.as_str()), "{name} is read by nothing");
    }
    let settings = include_str!("settings.rs");
    for name in known.iter().filter(|name| name.starts_with("ENTRA_CSA")) {
        assert!(settings.contains(&format!("\"{name}\"")), "settings.rs reads {name}");
    }
    assert!(!text.contains("secrets."), "no stored secret: OIDC only");
    let runs: Vec<&str> =
        job["steps"].as_array().unwrap().iter().filter_map(|step| step["run"].as_str()).collect();
    assert!(runs.contains(&"cargo test --locked --test acceptance"), "{runs:?}");
}
