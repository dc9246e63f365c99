//! The policies that read custom security attributes, served read-only from
//! the state document: Conditional Access policies, the
//! tenant's default app management policy and the custom ones, each as
//! written, behind `Policy.Read.All` (403 `Authorization_RequestDenied`
//! without it). An older document without them still loads, and is written
//! back without them.

use reqwest::StatusCode;
use serde_json::{Value, json};

use std::time::Duration;

use super::support::*;
use crate::graph_support::jwt;

/// Graph answers one Conditional Access read a second per tenant.
const CONDITIONAL_ACCESS_INTERVAL: Duration = Duration::from_millis(1_050);

/// Contoso with the policies of `tests/fixtures/policies/policies.json`.
pub fn contoso_with_policies() -> entra_csa::emulator::document::StateDocument {
    let mut document = serde_json::to_value(contoso()).unwrap();
    let policies: Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/policies/policies.json"),
        )
        .unwrap(),
    )
    .unwrap();
    for (key, value) in policies.as_object().unwrap() {
        document[key] = value.clone();
    }
    serde_json::from_value(document).unwrap()
}

fn policies_fixture() -> Value {
    serde_json::to_value(contoso_with_policies()).unwrap()
}

#[tokio::test]
async fn emulators_own_policies_are_served_as_the_document_holds_them() {
    let mut h = seeded(contoso_with_policies()).await;
    h.token = jwt(json!({ "roles": ["Policy.Read.All"] }));
    let fixture = policies_fixture();

    let listed = h.get("identity/conditionalAccess/policies").await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    assert!(
        listed.body["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("/v1.0/$metadata#identity/conditionalAccess/policies")
    );
    assert_eq!(listed.body["value"], fixture["conditionalAccessPolicies"]);
    assert_eq!(
        listed.body["value"][0]["conditions"]["applications"]["applicationFilter"]["rule"],
        "CustomSecurityAttribute.Access_Tier -eq \"Tier0\""
    );

    let custom = h.get("policies/appManagementPolicies").await;
    assert_eq!(custom.status, StatusCode::OK, "{}", custom.text);
    assert_eq!(custom.body["value"], fixture["appManagementPolicies"]);

    let default = h.get("policies/defaultAppManagementPolicy").await;
    assert_eq!(default.status, StatusCode::OK, "{}", default.text);
    let exemption = &default.body["applicationRestrictions"]["passwordCredentials"][0]["excludeActors"]["customSecurityAttributes"]
        [0];
    assert_eq!(exemption["id"], "Access_Exemption");
    assert_eq!(exemption["operator"], "equals");
    assert_eq!(exemption["value"], "PasswordAddition");

    // Paged like any collection, one Conditional Access read a second.
    tokio::time::sleep(CONDITIONAL_ACCESS_INTERVAL).await;
    let first = h.get("identity/conditionalAccess/policies?$top=1").await;
    assert_eq!(first.body["value"].as_array().unwrap().len(), 1);
    tokio::time::sleep(CONDITIONAL_ACCESS_INTERVAL).await;
    let next = h.get(first.body["@odata.nextLink"].as_str().unwrap()).await;
    assert_eq!(next.body["value"][0]["displayName"], "MFA for finance apps (report-only)");
    h.emulator.shutdown().await;
}

/// A policy that targets agent identities, as beta writes it.
fn agent_policy() -> Value {
    json!({
        "id": "c3c3c3c3-0000-4000-8000-000000000021",
        "displayName": "Block unapproved agents",
        "state": "enabled",
        "conditions": {
            "agentIdRiskLevels": "high",
            "applications": { "includeApplications": ["All"] },
            "clientApplications": {
                "includeServicePrincipals": [],
                "includeAgentIdServicePrincipals": ["All"],
                "excludeAgentIdServicePrincipals": ["b2b2b2b2-0000-4000-8000-000000000021"],
                "agentIdServicePrincipalFilter": {
                    "mode": "exclude",
                    "rule": "CustomSecurityAttribute.Access_Approval -eq \"Approved\""
                }
            }
        },
        "grantControls": { "operator": "OR", "builtInControls": ["block"] }
    })
}

/// The agent fields exist only in Graph beta (the beta and v1.0 pages of
/// `conditionalAccessClientApplications`): v1.0 answers without them, beta
/// with them, both behind `Policy.Read.All`.
#[tokio::test]
async fn emulators_own_agent_fields_are_served_by_beta_only() {
    let mut document = serde_json::to_value(contoso()).unwrap();
    document["conditionalAccessPolicies"] = json!([agent_policy()]);
    let mut h = seeded(serde_json::from_value(document).unwrap()).await;
    h.token = jwt(json!({ "roles": ["Policy.Read.All"] }));
    let v1 = h.get("identity/conditionalAccess/policies").await;
    assert_eq!(v1.status, StatusCode::OK, "{}", v1.text);
    let conditions = &v1.body["value"][0]["conditions"];
    assert_eq!(conditions["clientApplications"], json!({ "includeServicePrincipals": [] }));
    assert!(conditions.get("agentIdRiskLevels").is_none(), "{conditions}");
    assert_eq!(conditions["applications"], agent_policy()["conditions"]["applications"]);

    tokio::time::sleep(CONDITIONAL_ACCESS_INTERVAL).await;
    let beta_url = format!("{}/beta/identity/conditionalAccess/policies", h.emulator.base_url());
    let beta = h.get(&beta_url).await;
    assert_eq!(beta.status, StatusCode::OK, "{}", beta.text);
    assert_eq!(beta.body["value"], json!([agent_policy()]));
    assert!(beta.body["@odata.context"].as_str().unwrap().contains("/beta/$metadata#"), "{}", beta.text);

    // Beta serves nothing else here, and asks for the same grant.
    let other = h.get(&format!("{}/beta/users", h.emulator.base_url())).await;
    assert_eq!(other.status, StatusCode::BAD_REQUEST, "{}", other.text);
    tokio::time::sleep(CONDITIONAL_ACCESS_INTERVAL).await;
    h.token = jwt(json!({ "roles": ["CustomSecAttributeDefinition.Read.All"] }));
    let refused = h.get(&beta_url).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    h.emulator.shutdown().await;
}

/// "1 request per second" per tenant for all apps, and no `Retry-After` on
/// the 429 (Graph's throttling limits, identity protection and Conditional
/// Access).
#[tokio::test]
async fn emulators_own_conditional_access_reads_are_one_a_second_without_retry_after() {
    let mut h = harness(entra_csa::emulator::EmulatorConfig {
        seed_state: contoso_with_policies(),
        limit_conditional_access_reads: true,
        ..Default::default()
    })
    .await;
    h.token = jwt(json!({ "roles": ["Policy.Read.All"] }));
    let first = h.get("identity/conditionalAccess/policies").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    let beta_url = format!("{}/beta/identity/conditionalAccess/policies", h.emulator.base_url());
    let second = h.get(&beta_url).await;
    assert_eq!(second.status, StatusCode::TOO_MANY_REQUESTS, "{}", second.text);
    assert_eq!(second.header("Retry-After"), None);
    // Other policy reads are not held to it.
    let other = h.get("policies/appManagementPolicies").await;
    assert_eq!(other.status, StatusCode::OK, "{}", other.text);
    tokio::time::sleep(CONDITIONAL_ACCESS_INTERVAL).await;
    assert_eq!(h.get(&beta_url).await.status, StatusCode::OK);
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn emulators_own_policies_need_policy_read_all_and_are_read_only() {
    let mut h = seeded(contoso_with_policies()).await;
    h.token = jwt(json!({
        "roles": ["CustomSecAttributeDefinition.ReadWrite.All", "CustomSecAttributeAssignment.ReadWrite.All"]
    }));
    for path in [
        "identity/conditionalAccess/policies",
        "policies/defaultAppManagementPolicy",
        "policies/appManagementPolicies",
    ] {
        let reply = h.get(path).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{path}: {}", reply.text);
        assert_eq!(reply.error_code(), "Authorization_RequestDenied");
        // A write is refused for its method, whatever the caller holds.
        let reply = h.patch(path, r#"{ "displayName": "x" }"#).await;
        assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED, "{path}: {}", reply.text);
    }
    h.token = jwt(json!({ "roles": ["Policy.Read.All"] }));
    let before = h.emulator.state();
    // One policy, by id: read as listed, never written.
    let listed = h.get("identity/conditionalAccess/policies").await.body["value"][0].clone();
    let id = listed["id"].as_str().unwrap().to_owned();
    let path = format!("identity/conditionalAccess/policies/{id}");
    let one = h.get(&path).await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.text);
    assert_eq!(one.body["displayName"], listed["displayName"]);
    let reply = h.patch(&path, r#"{ "state": "disabled" }"#).await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED, "{}", reply.text);
    let reply = h.get("identity/conditionalAccess/policies/00000000-0000-0000-0000-00000000dead").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.text);
    let reply = h.patch("policies/defaultAppManagementPolicy", r#"{ "isEnabled": false }"#).await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED, "{}", reply.text);
    let reply = h.post("identity/conditionalAccess/policies", r#"{ "displayName": "x" }"#).await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED, "{}", reply.text);
    assert_eq!(h.emulator.state(), before);
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn emulators_own_an_older_document_has_no_policies_and_gains_none() {
    let h = seeded(contoso()).await;
    let listed = h.get("identity/conditionalAccess/policies").await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    assert_eq!(listed.body["value"], json!([]));
    let default = h.get("policies/defaultAppManagementPolicy").await;
    assert_eq!(default.body["isEnabled"], false);
    let written = serde_json::to_value(h.emulator.state()).unwrap();
    for key in ["conditionalAccessPolicies", "defaultAppManagementPolicy", "appManagementPolicies"] {
        assert!(written.get(key).is_none(), "{key} appeared in an older document");
    }
    // A document with them keeps them through the store, as written.
    let h = seeded(contoso_with_policies()).await;
    let written = serde_json::to_value(h.emulator.state()).unwrap();
    let fixture = policies_fixture();
    for key in ["conditionalAccessPolicies", "defaultAppManagementPolicy", "appManagementPolicies"] {
        assert_eq!(written[key], fixture[key], "{key}");
    }
}
