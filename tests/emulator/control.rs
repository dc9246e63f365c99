//! The control endpoints, persistence, the listening rules and the
//! `entra-csa emulator` command itself.

use entra_csa::emulator::EmulatorConfig;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::support::*;
use crate::reliability_support::SpawnedEmulator;

// ── control endpoints and persistence ──

#[tokio::test]
async fn control_endpoints_show_log_stats_state_and_reset() {
    let h = seeded(contoso()).await;
    let base = h.emulator.base_url();
    h.get("directory/attributeSets?$top=1").await;
    h.post("directory/attributeSets", r#"{ "id": "Finance" }"#).await;
    h.patch(&format!("users/{USER_ID}"), &assignment("Engineering", json!({ "ProjectDate": "2022-10-01" })))
        .await;

    let requests: Value =
        h.client.get(format!("{base}/_emulator/requests")).send().await.unwrap().json().await.unwrap();
    let requests = requests.as_array().unwrap();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[0]["method"], "GET");
    assert_eq!(requests[0]["path"], "/v1.0/directory/attributeSets");
    assert_eq!(requests[0]["query"], "$top=1");
    assert_eq!(requests[1]["status"], 201);
    assert_eq!(requests[1]["body"], json!({ "id": "Finance" }));

    let stats: Value =
        h.client.get(format!("{base}/_emulator/stats")).send().await.unwrap().json().await.unwrap();
    assert_eq!(stats["requests"], 3);
    assert_eq!(stats["writes"], 2);
    assert_eq!(stats["byMethod"]["PATCH"], 1);
    assert_eq!(stats["byPath"]["/v1.0/users/{id}"], 1);
    assert_eq!(stats["byStatus"]["204"], 1);
    assert_eq!(stats["resourceUnits"], 3);
    assert_eq!(h.emulator.stats().resource_units, 3);

    let state: Value =
        h.client.get(format!("{base}/_emulator/state")).send().await.unwrap().json().await.unwrap();
    assert_eq!(state["attributeSets"][2]["id"], "Finance");
    let document: entra_csa::emulator::document::StateDocument = serde_json::from_value(state).unwrap();
    assert_eq!(document, h.emulator.state());

    let reset = h.client.post(format!("{base}/_emulator/reset")).send().await.unwrap();
    assert_eq!(reset.status(), StatusCode::NO_CONTENT);
    assert_eq!(h.emulator.state(), contoso_normalised());
    assert!(h.emulator.requests().is_empty());
    assert_eq!(h.emulator.stats().requests, 0);
}

#[tokio::test]
async fn every_response_reports_its_resource_units() {
    let h = seeded_expecting_deletes(contoso()).await;
    assert_eq!(h.get("users").await.header("x-ms-resource-unit"), Some("2"));
    assert_eq!(
        h.get(&format!("users/{USER_ID}?$select=customSecurityAttributes"))
            .await
            .header("x-ms-resource-unit"),
        Some("1")
    );
    let reply = h.get("directory/customSecurityAttributeDefinitions?$expand=allowedValues").await;
    assert_eq!(reply.header("x-ms-resource-unit"), Some("2"));
    assert_eq!(reply.header("OData-Version"), Some("4.0"));
    assert!(
        reply
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/json;odata.metadata=minimal"))
    );
    assert!(h.send(Method::DELETE, "users/x", &[], None).await.header("x-ms-resource-unit").is_some());
}

#[tokio::test]
async fn persist_writes_the_store_back_atomically_on_change() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("tenant.json");
    let h =
        harness(EmulatorConfig { seed_state: contoso(), persist: Some(path.clone()), ..Default::default() })
            .await;
    h.get("directory/attributeSets").await;
    assert!(!path.exists(), "a read writes nothing");
    assert_eq!(h.post("directory/attributeSets", r#"{ "id": "Finance" }"#).await.status, StatusCode::CREATED);
    let text = std::fs::read_to_string(&path).unwrap();
    entra_csa::tenant::state_file::parse(&text, "tenant.json").expect("the state-file reader reads it back");
    let written: entra_csa::emulator::document::StateDocument = serde_json::from_str(&text).unwrap();
    assert_eq!(written, h.emulator.state());
    assert_eq!(std::fs::read_dir(folder.path()).unwrap().count(), 1, "no temporary file is left");
}

#[tokio::test]
async fn non_loopback_needs_permission() {
    let config = EmulatorConfig { listen: "0.0.0.0:0".parse().unwrap(), ..Default::default() };
    let error = entra_csa::emulator::start(config).await.err().expect("refused");
    assert!(error.to_string().contains("loopback"), "{error}");
}

#[test]
fn the_emulator_command_serves_a_state_file() {
    let folder = tempfile::tempdir().unwrap();
    let state = folder.path().join("tenant.json");
    std::fs::write(&state, serde_json::to_string(&contoso()).unwrap()).unwrap();
    let emulator = SpawnedEmulator::start(&state, &[]);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let url = format!("{}/v1.0/directory/attributeSets", emulator.base);
        let reply = client.get(&url).bearer_auth("t").send().await.unwrap();
        assert_eq!(reply.status(), StatusCode::OK);
        let body: Value = reply.json().await.unwrap();
        assert_eq!(body["value"].as_array().map(Vec::len), Some(2));
    });
}

#[test]
fn the_emulator_command_persists_and_checks_its_token() {
    let folder = tempfile::tempdir().unwrap();
    let state = folder.path().join("tenant.json");
    std::fs::write(&state, serde_json::to_string(&contoso()).unwrap()).unwrap();
    let emulator = SpawnedEmulator::start(&state, &["--persist", "--token", "s3cret"]);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let url = format!("{}/v1.0/directory/attributeSets", emulator.base);
        let refused =
            client.post(&url).bearer_auth("other").json(&json!({ "id": "Finance" })).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
        let created =
            client.post(&url).bearer_auth("s3cret").json(&json!({ "id": "Finance" })).send().await.unwrap();
        assert_eq!(created.status(), StatusCode::CREATED);
    });
    let text = std::fs::read_to_string(&state).unwrap();
    let written =
        entra_csa::tenant::state_file::parse(&text, "tenant.json").expect("still a valid state file");
    assert!(written.attribute_sets.contains_key("Finance"));
}

#[test]
fn the_emulator_command_refuses_a_non_loopback_address() {
    let output = crate::launch::entra_csa().args(["emulator", "--listen", "0.0.0.0:0"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--allow-non-loopback"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_are_all_served_and_counted() {
    let h = harness(EmulatorConfig { seed_state: many_users(40), ..Default::default() }).await;
    let mut tasks = Vec::new();
    for index in 0..40 {
        let client = h.client.clone();
        let url = h.url(&format!("users/00000000-0000-0000-0000-{index:012}"));
        let body = assignment("Engineering", json!({ "ProjectDate": format!("d{index}") }));
        tasks.push(tokio::spawn(async move {
            let patched =
                client.patch(&url).bearer_auth("t").header("Content-Type", "application/json").body(body);
            let status = patched.send().await.unwrap().status();
            let read = client.get(format!("{url}?$select=customSecurityAttributes")).bearer_auth("t");
            (status, read.send().await.unwrap().status())
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), (StatusCode::NO_CONTENT, StatusCode::OK));
    }
    let stats = h.emulator.stats();
    assert_eq!((stats.requests, stats.writes), (80, 40));
    let state = h.emulator.state();
    assert!(state.users.iter().all(|user| user.custom_security_attributes.is_some()));
}
