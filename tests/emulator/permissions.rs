//! What a token's grants allow (C-PERM, E-ROLES; ARCHITECTURE.md): the documented 403
//! `Authorization_RequestDenied` for a write or a definition read it lacks,
//! and `customSecurityAttributes: null` for principals whose values it may
//! not read (C-EX: "or if the calling principal does not have access").

use entra_csa::graph::access::DirectoryRole;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::support::*;
use crate::graph_support::jwt;

async fn with_token(claims: Value) -> Harness {
    let mut h = seeded(contoso_with_assignments()).await;
    h.token = jwt(claims);
    h
}

fn assert_denied(reply: &Reply) {
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.text);
    assert_eq!(reply.error_code(), "Authorization_RequestDenied");
    assert_eq!(reply.error_message(), "Insufficient privileges to complete the operation.");
}

#[tokio::test]
async fn doc_without_the_assignment_read_permission_values_read_null() {
    let h = with_token(json!({ "roles": ["CustomSecAttributeDefinition.Read.All"] })).await;
    assert_eq!(h.get("directory/attributeSets").await.status, StatusCode::OK);
    assert_eq!(h.user_attributes(USER_ID).await, Value::Null);
    let listed = h.get("users?$select=id,customSecurityAttributes").await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    let values: Vec<&Value> = listed.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|user| &user["customSecurityAttributes"])
        .collect();
    assert!(!values.is_empty() && values.iter().all(|value| value.is_null()), "{values:?}");
    let principal =
        h.get(&format!("servicePrincipals/{SERVICE_PRINCIPAL_ID}?$select=customSecurityAttributes")).await;
    assert_eq!(principal.body["customSecurityAttributes"], Value::Null, "{}", principal.text);

    // The same tenant, read with the permission: the values are there.
    let mut h = h;
    h.token = jwt(json!({ "roles": ["CustomSecAttributeAssignment.Read.All"] }));
    assert_eq!(h.user_attributes(USER_ID).await["Engineering"]["Project"], json!(["Baker", "Cascade"]));
    assert_denied(&h.get("directory/customSecurityAttributeDefinitions").await);
}

#[tokio::test]
async fn doc_writes_without_the_permission_are_refused_and_change_nothing() {
    let h = with_token(json!({
        "roles": ["CustomSecAttributeDefinition.Read.All", "CustomSecAttributeAssignment.Read.All"]
    }))
    .await;
    let before = h.emulator.state();
    assert_denied(&h.post("directory/attributeSets", r#"{ "id": "Finance" }"#).await);
    assert_denied(&h.patch("directory/attributeSets/Engineering", r#"{ "description": "new" }"#).await);
    assert_denied(
        &h.patch(
            "directory/customSecurityAttributeDefinitions/Engineering_Project/allowedValues/Baker",
            r#"{ "isActive": false }"#,
        )
        .await,
    );
    let write = assignment("Engineering", json!({ "ProjectDate": "2022-10-01" }));
    assert_denied(&h.patch(&format!("users/{USER_ID}"), &write).await);

    // Batch items carry the batch's token.
    let reply = batch(
        &h,
        json!([
            { "id": "1", "method": "PATCH", "url": format!("/users/{USER_ID}"),
              "headers": { "Content-Type": "application/json" },
              "body": serde_json::from_str::<Value>(&write).unwrap() },
            { "id": "2", "method": "GET", "url": format!("/users/{USER_ID}?$select=customSecurityAttributes") }
        ]),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(item(&reply, "1")["status"], 403);
    assert_eq!(item(&reply, "1")["body"]["error"]["code"], "Authorization_RequestDenied");
    assert_eq!(item(&reply, "2")["status"], 200);
    assert_eq!(h.emulator.state(), before, "a refused write changed the tenant");
}

#[tokio::test]
async fn emulators_own_a_filter_on_values_the_token_cannot_read_is_refused() {
    let h = with_token(json!({ "roles": ["CustomSecAttributeDefinition.Read.All"] })).await;
    let reply = h
        .get_with(
            "users?$count=true&$select=id&$filter=customSecurityAttributes/Engineering/ProjectDate eq '2022-10-01'",
            &[("ConsistencyLevel", "eventual")],
        )
        .await;
    assert_denied(&reply);
}

#[tokio::test]
async fn emulators_own_a_signed_in_user_needs_the_scope_and_a_tenant_wide_role() {
    let scopes =
        "User.Read.All CustomSecAttributeDefinition.ReadWrite.All CustomSecAttributeAssignment.ReadWrite.All";
    let h = with_token(json!({ "scp": scopes })).await;
    assert_denied(&h.get("directory/attributeSets").await);
    assert_eq!(h.user_attributes(USER_ID).await, Value::Null);

    let h = with_token(json!({
        "scp": scopes,
        "wids": [DirectoryRole::AttributeAssignmentAdministrator.template_id()]
    }))
    .await;
    assert_eq!(h.get("directory/attributeSets").await.status, StatusCode::OK);
    assert_eq!(h.user_attributes(USER_ID).await["Engineering"]["NumVendors"], 8);
    assert_denied(&h.post("directory/attributeSets", r#"{ "id": "Finance" }"#).await);
    let write = assignment("Engineering", json!({ "ProjectDate": "2022-10-01" }));
    assert_eq!(h.patch(&format!("users/{USER_ID}"), &write).await.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn emulators_own_a_token_that_is_not_a_jwt_holds_every_grant() {
    let h = seeded(contoso_with_assignments()).await;
    assert_eq!(h.token, "test-token");
    assert_eq!(h.user_attributes(USER_ID).await["Engineering"]["NumVendors"], 8);
    assert_eq!(h.post("directory/attributeSets", r#"{ "id": "Finance" }"#).await.status, StatusCode::CREATED);
}
