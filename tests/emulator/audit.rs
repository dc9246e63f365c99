//! The custom security attribute audit log over real HTTP: every write the
//! emulator performs leaves an entry in the documented shape (the keys of
//! the documented "List customSecurityAttributeAudits" and "Get
//! customSecurityAttributeAudit" examples, the six documented activity
//! names, `category: AttributeManagement`), served under `/beta/` only, to a
//! token holding `CustomSecAttributeAuditLogs.Read.All`, filtered by
//! `activityDateTime` (`eq`, `ge`, `le`) and paged by `$top` (at most 100).
//! The initiator is the token's caller, or whoever a control write names.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::support::*;
use crate::graph_support::jwt;

/// The activities "Manage access to custom security attributes" lists.
const DOCUMENTED_ACTIVITIES: [&str; 6] = [
    "Add an attribute set",
    "Add custom security attribute definition in an attribute set",
    "Update an attribute set",
    "Update attribute values assigned to a servicePrincipal",
    "Update attribute values assigned to a user",
    "Update custom security attribute definition in an attribute set",
];

/// The keys of the documented example entries.
const DOCUMENTED_KEYS: [&str; 13] = [
    "activityDateTime",
    "activityDisplayName",
    "additionalDetails",
    "category",
    "correlationId",
    "id",
    "initiatedBy",
    "loggedByService",
    "operationType",
    "result",
    "resultReason",
    "targetResources",
    "userAgent",
];

async fn log(h: &Harness, query: &str) -> Reply {
    let url = format!("{}/beta/auditLogs/customSecurityAttributeAudits{query}", h.emulator.base_url());
    h.get(&url).await
}

/// Every entry, page by page.
async fn all_entries(h: &Harness) -> Vec<Value> {
    let mut entries = Vec::new();
    let mut reply = log(h, "").await;
    loop {
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        entries.extend(reply.body["value"].as_array().unwrap().iter().cloned());
        match reply.body["@odata.nextLink"].as_str() {
            Some(next) => reply = h.get(next).await,
            None => return entries,
        }
    }
}

#[tokio::test]
async fn doc_every_kind_of_write_is_logged_with_a_documented_activity_and_shape() {
    let h = seeded(contoso()).await;
    let writes = [
        h.post(
            "directory/attributeSets",
            r#"{"id":"Finance","description":"Money","maxAttributesPerSet":10}"#,
        )
        .await,
        h.patch("directory/attributeSets/Finance", r#"{"maxAttributesPerSet":20}"#).await,
        h.post(
            "directory/customSecurityAttributeDefinitions",
            &definition_body("Budget", "String", false, false),
        )
        .await,
        h.patch("directory/customSecurityAttributeDefinitions/Engineering_Budget", r#"{"description":"e"}"#)
            .await,
        h.post(
            "directory/customSecurityAttributeDefinitions/Engineering_Project/allowedValues",
            r#"{"id":"Delta","isActive":true}"#,
        )
        .await,
        h.patch(
            &format!("users/{USER_ID}"),
            &assignment("Engineering", json!({ "ProjectDate": "2024-11-15" })),
        )
        .await,
        h.patch(
            &format!("servicePrincipals/{SERVICE_PRINCIPAL_ID}"),
            &assignment("Marketing", json!({ "EmployeeId": "GS1" })),
        )
        .await,
    ];
    for reply in &writes {
        assert!(reply.status.is_success(), "{}", reply.text);
    }
    let entries = all_entries(&h).await;
    assert_eq!(entries.len(), writes.len(), "{entries:#?}");
    for entry in &entries {
        let keys: BTreeSet<&str> = entry.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, DOCUMENTED_KEYS.into_iter().collect(), "{entry}");
        assert_eq!(entry["category"], "AttributeManagement");
        assert_eq!(entry["loggedByService"], "Core Directory");
        assert_eq!(entry["result"], "success");
        let activity = entry["activityDisplayName"].as_str().unwrap();
        assert!(DOCUMENTED_ACTIVITIES.contains(&activity), "{activity}");
        assert!(
            time::OffsetDateTime::parse(
                entry["activityDateTime"].as_str().unwrap(),
                &time::format_description::well_known::Rfc3339
            )
            .is_ok()
        );
        // The opaque test token is the emulator's own client app.
        assert_eq!(entry["initiatedBy"]["app"]["displayName"], "entra-csa emulator client", "{entry}");
        assert!(entry["initiatedBy"]["user"].is_null());
    }
    // Newest first: the service principal's value, then the user's.
    assert_eq!(entries[0]["activityDisplayName"], "Update attribute values assigned to a servicePrincipal");
    let user = &entries[1]["targetResources"][0];
    assert_eq!(user["id"], USER_ID);
    assert_eq!(user["type"], "User");
    assert_eq!(user["userPrincipalName"], "jana@contoso.com");
    assert_eq!(
        user["modifiedProperties"][0],
        json!({ "displayName": "Engineering.ProjectDate", "oldValue": "[]", "newValue": "[\"2024-11-15\"]" })
    );
    // The set update as the documented "Get" example has it.
    let set = entries.iter().find(|entry| entry["activityDisplayName"] == "Update an attribute set").unwrap();
    assert_eq!(
        set["targetResources"][0]["modifiedProperties"],
        json!([
            { "displayName": "MaxAttributesPerSet", "oldValue": "[10]", "newValue": "[20]" },
            { "displayName": "Included Updated Properties", "oldValue": null, "newValue": "\"MaxAttributesPerSet\"" }
        ])
    );
    // A refused write leaves nothing.
    let refused = h.patch("directory/attributeSets/Nope", r#"{"description":"x"}"#).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    assert_eq!(all_entries(&h).await.len(), writes.len());
}

#[tokio::test]
async fn doc_the_log_needs_its_permission_and_a_log_role_for_a_user() {
    let mut h = seeded(contoso()).await;
    h.token = jwt(json!({ "roles": ["CustomSecAttributeAssignment.ReadWrite.All"] }));
    let reply = log(&h, "").await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.text);
    assert_eq!(reply.error_code(), "Authorization_RequestDenied");
    h.token = jwt(json!({ "roles": ["CustomSecAttributeAuditLogs.Read.All"] }));
    assert_eq!(log(&h, "").await.status, StatusCode::OK);
    h.token = jwt(json!({ "scp": "CustomSecAttributeAuditLogs.Read.All" }));
    assert_eq!(log(&h, "").await.status, StatusCode::FORBIDDEN, "a user also needs a log role");
    h.token = jwt(json!({
        "scp": "CustomSecAttributeAuditLogs.Read.All",
        "wids": ["9c99539d-8186-4804-835f-fd51ef9e2dcd"]
    }));
    assert_eq!(log(&h, "").await.status, StatusCode::OK, "Attribute Log Reader");
}

#[tokio::test]
async fn doc_activity_date_time_filters_with_eq_ge_le_and_top_pages_by_at_most_100() {
    let h = seeded(contoso()).await;
    for value in ["a", "b", "c", "d"] {
        let status = h
            .emulator
            .write_as(
                Some(json!({ "user": { "userPrincipalName": "mallory@contoso.com" } })),
                "PATCH",
                &format!("/v1.0/users/{USER_ID}"),
                serde_json::from_str(&assignment("Marketing", json!({ "EmployeeId": value }))).unwrap(),
            )
            .unwrap();
        assert_eq!(status, 204);
    }
    // Backdated writes through the control endpoint, over HTTP.
    for day in ["01", "02", "03"] {
        let answer = h
            .client
            .post(format!("{}/_emulator/write", h.emulator.base_url()))
            .json(&json!({
                "method": "PATCH", "path": format!("/v1.0/users/{SECOND_USER_ID}"),
                "body": serde_json::from_str::<Value>(&assignment("Marketing", json!({ "EmployeeId": day }))).unwrap(),
                "initiatedBy": { "app": { "appId": "1111", "displayName": "HR sync" } },
                "activityDateTime": format!("2026-01-{day}T12:00:00Z")
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), 204);
    }
    let count = |reply: &Reply| reply.body["value"].as_array().map_or(0, Vec::len);
    let ge = log(&h, "?$filter=activityDateTime%20ge%202026-01-02T00:00:00Z%20and%20activityDateTime%20le%202026-01-03T00:00:00Z").await;
    assert_eq!(count(&ge), 1, "{}", ge.text);
    assert_eq!(ge.body["value"][0]["initiatedBy"]["app"]["displayName"], "HR sync");
    let eq = log(&h, "?$filter=activityDateTime%20eq%202026-01-03T12:00:00Z").await;
    assert_eq!(count(&eq), 1, "{}", eq.text);
    let recent = log(&h, "?$filter=activityDateTime%20ge%202026-02-01T00:00:00Z").await;
    assert_eq!(count(&recent), 4, "{}", recent.text);
    assert!(
        recent.body["value"]
            .as_array()
            .unwrap()
            .iter()
            .all(|entry| { entry["initiatedBy"]["user"]["userPrincipalName"] == "mallory@contoso.com" })
    );
    // $top pages, carrying the filter into the nextLink.
    let first = log(&h, "?$top=2&$filter=activityDateTime%20ge%202026-02-01T00:00:00Z").await;
    assert_eq!(count(&first), 2);
    let next = first.body["@odata.nextLink"].as_str().unwrap();
    assert!(
        next.contains("/beta/auditLogs/customSecurityAttributeAudits?") && next.contains("filter"),
        "{next}"
    );
    let second = h.get(next).await;
    assert_eq!(count(&second), 2);
    assert!(second.body["@odata.nextLink"].is_null());
    assert_eq!(log(&h, "?$top=101").await.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn emulators_own_filters_paths_and_versions_it_does_not_serve_are_400() {
    let h = seeded(contoso()).await;
    for query in [
        "?$filter=activityDisplayName%20eq%20'Add%20an%20attribute%20set'",
        "?$filter=activityDateTime%20gt%202026-01-01T00:00:00Z",
        "?$orderby=activityDateTime",
    ] {
        assert_eq!(log(&h, query).await.status, StatusCode::BAD_REQUEST, "{query}");
    }
    assert_eq!(
        h.get("auditLogs/customSecurityAttributeAudits").await.status,
        StatusCode::BAD_REQUEST,
        "v1.0"
    );
    let missing = log(&h, "/Directory_nope").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    // A control write that names no one is the emulator's administrator.
    let status = h
        .emulator
        .write_as(
            None,
            "PATCH",
            "/v1.0/directory/attributeSets/Engineering",
            json!({ "description": "Changed in the portal" }),
        )
        .unwrap();
    assert_eq!(status, 204);
    let entry = &all_entries(&h).await[0];
    assert_eq!(entry["initiatedBy"]["user"]["userPrincipalName"], "admin@emulator.invalid");
    let id = entry["id"].as_str().unwrap();
    let one = log(&h, &format!("/{id}")).await;
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(one.body["id"], id);
}
