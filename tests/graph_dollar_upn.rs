//! UPNs that begin with `$`: Graph answers `/users/$x@contoso.com` with 400
//! and documents `/users('$x@contoso.com')` as the form to use (user-get);
//! the metadata also declares the alternate key
//! `/users(userPrincipalName='…')`. The client uses the working form, the
//! emulator answers all three as Graph does.

use entra_csa::emulator::document::{PrincipalShape, StateDocument};
use entra_csa::emulator::{EmulatorConfig, RunningEmulator};
use entra_csa::model::PrincipalKey;

use crate::graph_support::*;

const DOLLAR_UPN: &str = "$x@contoso.com";
const DOLLAR_ID: &str = "8e1f0b2a-4c3d-4e5f-9a6b-7c8d9e0f1a2b";

fn seed() -> StateDocument {
    let mut seed = contoso_seed();
    seed.users.push(PrincipalShape {
        odata_type: None,
        id: DOLLAR_ID.into(),
        user_principal_name: Some(DOLLAR_UPN.into()),
        app_id: None,
        display_name: Some("Dollar".into()),
        custom_security_attributes: None,
    });
    seed
}

async fn get(emulator: &RunningEmulator, path: &str) -> (u16, serde_json::Value) {
    let response = reqwest::Client::new()
        .get(format!("{}/v1.0/{path}", emulator.base_url()))
        .bearer_auth("dollar-token")
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dollar_upn_is_planned_and_applied_through_the_literal_form() {
    let emulator = emulator(EmulatorConfig { seed_state: seed(), ..Default::default() }).await;
    let mut desired = desired("examples/contoso.yaml");
    let alice = desired.assignments[&PrincipalKey::User("alice@contoso.com".into())].clone();
    desired.assignments.insert(PrincipalKey::User(DOLLAR_UPN.into()), alice);

    let plan = apply_and_converge(&tenant(&emulator), &desired).await;
    let assigned: Vec<String> = plan
        .changes
        .iter()
        .map(|change| change.address.to_string())
        .filter(|address| address.starts_with("user:$x@"))
        .collect();
    assert_eq!(assigned.len(), 5, "{assigned:?}");

    let reads: Vec<String> = emulator
        .requests()
        .into_iter()
        .filter(|request| request.batch_item.is_some() && request.path.contains("$x"))
        .map(|request| request.path)
        .collect();
    assert!(
        !reads.is_empty() && reads.iter().all(|path| path == "/v1.0/users('$x@contoso.com')"),
        "{reads:?}"
    );
    let state = emulator.state();
    let dollar = state.users.iter().find(|user| user.id == DOLLAR_ID).unwrap();
    let values = dollar.custom_security_attributes.as_ref().expect("assigned");
    assert_eq!(values["Engineering"]["CostCenter"], 1001);
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emulator_answers_a_dollar_upn_as_graph_does() {
    let emulator = emulator(EmulatorConfig { seed_state: seed(), ..Default::default() }).await;
    let (status, body) = get(&emulator, "users/$x@contoso.com").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "Request_BadRequest");
    for path in [
        "users('$x@contoso.com')",
        "users(userPrincipalName='$x@contoso.com')",
        "users('%24x%40contoso.com')",
        "users('$X@Contoso.com')",
    ] {
        let (status, body) = get(&emulator, path).await;
        assert_eq!((status, body["id"].as_str()), (200, Some(DOLLAR_ID)), "{path}: {body}");
    }
    let (status, body) = get(&emulator, "users(userPrincipalName='alice@contoso.com')").await;
    assert_eq!((status, body["userPrincipalName"].as_str()), (200, Some("alice@contoso.com")), "{body}");
    let (status, _) = get(&emulator, "users('nobody@contoso.com')").await;
    assert_eq!(status, 404);
    let (status, _) = get(&emulator, "users(displayName='Dollar')").await;
    assert_eq!(status, 400, "only the declared alternate key");
    emulator.shutdown().await;
}
