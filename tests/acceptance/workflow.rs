//! `examples/ci/acceptance.yml` is the workflow the acceptance page of the
//! book (`docs/src/how-to/acceptance-suite.md`) promises: scheduled, OIDC only, one run at a time, running this
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

/// The book's page on the acceptance suite, which says how to run it and what it proves.
fn acceptance_page() -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/src/how-to/acceptance-suite.md"),
    )
    .unwrap()
}

#[test]
fn the_acceptance_page_names_every_setting_and_every_proof() {
    let section = acceptance_page();
    let settings = concat!(include_str!("settings.rs"), include_str!("random.rs"));
    let read: Vec<&str> = settings
        .split('"')
        .filter(|word| {
            word.starts_with("ENTRA_CSA_") && word.chars().all(|c| c.is_ascii_uppercase() || c == '_')
        })
        .collect();
    assert!(read.len() >= 6, "{read:?}");
    for name in read {
        assert!(section.contains(name), "the acceptance page does not mention {name}");
    }
    for source in [
        include_str!("proofs.rs"),
        include_str!("random.rs"),
        include_str!("refusals.rs"),
        include_str!("reuse.rs"),
    ] {
        let mut lines = source.lines();
        while let Some(line) = lines.next() {
            if line.trim() != "#[test]" {
                continue;
            }
            let name = lines.next().unwrap().trim().trim_start_matches("fn ").split('(').next().unwrap();
            assert!(
                section.contains(&format!("`{name}`")),
                "the acceptance page does not name the proof {name}"
            );
        }
    }
    let words: Vec<&str> = section
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '.'))
        .filter(|word| word.starts_with("CustomSecAttribute") || word.ends_with(".Read.All"))
        .collect();
    let known = entra_csa::graph::access::known_permissions();
    for word in words {
        assert!(known.contains(&word), "the acceptance page names {word}, which the tool does not know");
    }
}
