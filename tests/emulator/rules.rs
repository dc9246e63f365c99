//! The documented rules: nothing is deleted, immutable properties, the
//! one-way flag, Boolean constraints, the limits, the assignment checks and
//! the bearer token. Microsoft documents the rules but not their errors, so
//! the tests name the status as the emulator's own.

use entra_csa::emulator::EmulatorConfig;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::support::*;

// ── rules: nothing is ever deleted ──

#[tokio::test]
async fn emulators_own_405_for_delete_everywhere_logged_and_counted() {
    let h = seeded_expecting_deletes(contoso_with_assignments()).await;
    let before = h.emulator.state();
    for path in [
        "directory/attributeSets/Engineering",
        "directory/customSecurityAttributeDefinitions/Engineering_Project",
        "directory/customSecurityAttributeDefinitions/Engineering_Project/allowedValues/Alpine",
        &format!("users/{USER_ID}"),
        "directory/attributeSets/Nonexistent",
        "groups/anything",
    ] {
        let reply = h.send(Method::DELETE, path, &[], None).await;
        assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED, "{path}");
        assert_eq!(reply.error_code(), "Request_BadRequest");
        assert_eq!(reply.error_message(), "Specified HTTP method is not allowed for the request target.");
    }
    assert_eq!(h.emulator.state(), before, "nothing was deleted");
    assert_eq!(h.emulator.stats().deletes, 6);
    let logged = h.emulator.requests();
    assert!(logged.iter().all(|request| request.method == "DELETE" && request.status == 405));
}

// ── rules: definitions ──

#[tokio::test]
async fn emulators_own_immutable_properties_are_refused() {
    let h = seeded(contoso()).await;
    let definition = "directory/customSecurityAttributeDefinitions/Engineering_ProjectDate";
    for body in [
        r#"{ "type": "Integer" }"#,
        r#"{ "isCollection": true }"#,
        r#"{ "isSearchable": false }"#,
        r#"{ "name": "Renamed" }"#,
        r#"{ "attributeSet": "Marketing" }"#,
    ] {
        let reply = h.patch(definition, body).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(reply.error_code(), "Request_BadRequest");
    }
    // Sending the current value is not a change.
    assert_eq!(h.patch(definition, r#"{ "type": "String" }"#).await.status, StatusCode::NO_CONTENT);
    let reply = h.patch("directory/attributeSets/Engineering", r#"{ "id": "Other" }"#).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let reply = h
        .patch(
            "directory/customSecurityAttributeDefinitions/Engineering_Project/allowedValues/Alpine",
            r#"{ "id": "Alps" }"#,
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(h.emulator.state(), contoso_normalised(), "refusals change nothing");
}

#[tokio::test]
async fn emulators_own_400_when_use_predefined_values_only_goes_false_to_true() {
    let h = seeded(contoso()).await;
    let reply = h
        .patch(
            "directory/customSecurityAttributeDefinitions/Engineering_ProjectDate",
            r#"{ "usePreDefinedValuesOnly": true }"#,
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "false to true is refused");
    let reply = h
        .patch(
            "directory/customSecurityAttributeDefinitions/Engineering_Project",
            r#"{ "usePreDefinedValuesOnly": false }"#,
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "true to false is allowed");
}

#[tokio::test]
async fn emulators_own_400_for_boolean_collections_or_predefined_only() {
    let h = seeded(contoso()).await;
    let path = "directory/customSecurityAttributeDefinitions";
    assert_eq!(
        h.post(path, &definition_body("Flag", "Boolean", true, false)).await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        h.post(path, &definition_body("Flag", "Boolean", false, true)).await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        h.post(path, &definition_body("Flag", "Boolean", false, false)).await.status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn emulators_own_names_descriptions_and_duplicates_are_checked() {
    let h = seeded(contoso()).await;
    let path = "directory/customSecurityAttributeDefinitions";
    for name in ["Deployment level", "Cost_Center", "1Project", &"a".repeat(33), "Semi;colon"] {
        let reply = h.post(path, &definition_body(name, "String", false, false)).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{name}");
    }
    assert_eq!(
        h.post(path, &definition_body(&"a".repeat(32), "String", false, false)).await.status,
        StatusCode::CREATED
    );
    let reply = h.post(path, &definition_body("project", "String", false, false)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "names are unique ignoring case");
    let long = json!({ "id": "Finance", "description": "x".repeat(129) }).to_string();
    assert_eq!(h.post("directory/attributeSets", &long).await.status, StatusCode::BAD_REQUEST);
    let reply = h.post("directory/attributeSets", r#"{ "id": "engineering" }"#).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "set ids are unique ignoring case");
    let reply = h.post(path, &json!({ "attributeSet": "Nowhere", "name": "X", "type": "String",
        "isCollection": false, "isSearchable": true, "status": "Available", "usePreDefinedValuesOnly": false }).to_string()).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "the set must exist");
    let reply = h.post(path, &json!({ "id": "Engineering_X", "attributeSet": "Engineering", "name": "X", "type": "String",
        "isCollection": false, "isSearchable": true, "status": "Available", "usePreDefinedValuesOnly": false }).to_string()).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "the id cannot be set");
    let value = json!({ "id": "v".repeat(65), "isActive": true }).to_string();
    let reply = h
        .post("directory/customSecurityAttributeDefinitions/Engineering_Project/allowedValues", &value)
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "values have at most 64 characters");
    let reply = h
        .post(
            "directory/customSecurityAttributeDefinitions/Engineering_Project/allowedValues",
            r#"{ "id": "Alpine", "isActive": true }"#,
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "duplicate value");
}

// ── rules: limits ──

#[tokio::test]
async fn emulators_own_400_past_500_attribute_sets() {
    let mut tenant = contoso();
    for index in tenant.attribute_sets.len()..500 {
        tenant.attribute_sets.push(serde_json::from_value(json!({ "id": format!("Set{index}") })).unwrap());
    }
    let h = seeded(tenant).await;
    let reply = h.post("directory/attributeSets", r#"{ "id": "OneTooMany" }"#).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.error_code(), "Request_BadRequest");
}

#[tokio::test]
async fn emulators_own_400_past_500_active_definitions_deprecated_ones_not_counted() {
    let mut tenant = contoso();
    tenant.attribute_sets[0].max_attributes_per_set = None;
    let template = tenant.custom_security_attribute_definitions[1].clone();
    for index in tenant.custom_security_attribute_definitions.len()..500 {
        let mut definition = template.clone();
        definition.name = format!("Attr{index}");
        tenant.custom_security_attribute_definitions.push(definition);
    }
    let h = seeded(tenant).await;
    let path = "directory/customSecurityAttributeDefinitions";
    assert_eq!(
        h.post(path, &definition_body("Extra", "String", false, false)).await.status,
        StatusCode::BAD_REQUEST
    );
    let deprecated = definition_body("Old", "String", false, false).replace("Available", "Deprecated");
    assert_eq!(h.post(path, &deprecated).await.status, StatusCode::CREATED);
    // Reactivating it would make 501 (the emulator's own choice to refuse).
    let reply = h.patch(&format!("{path}/Engineering_Old"), r#"{ "status": "Available" }"#).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    // Deactivating one makes room.
    assert_eq!(
        h.patch(&format!("{path}/Engineering_Attr10"), r#"{ "status": "Deprecated" }"#).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        h.post(path, &definition_body("Extra", "String", false, false)).await.status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn emulators_own_400_past_max_attributes_per_set() {
    let mut tenant = contoso();
    tenant.attribute_sets[1].max_attributes_per_set = Some(2);
    let h = seeded(tenant).await;
    let body = definition_body("Region", "String", false, false).replace("Engineering", "Marketing");
    let reply = h.post("directory/customSecurityAttributeDefinitions", &body).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    let reply = h.patch("directory/attributeSets/Marketing", r#"{ "maxAttributesPerSet": 1 }"#).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "emulator's own: not below the attributes it holds");
    let reply = h.patch("directory/attributeSets/Marketing", r#"{ "maxAttributesPerSet": 3 }"#).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(
        h.post("directory/customSecurityAttributeDefinitions", &body).await.status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn emulators_own_400_past_100_predefined_values() {
    let h = seeded(contoso()).await;
    let values: Vec<Value> =
        (0..101).map(|index| json!({ "id": format!("V{index}"), "isActive": true })).collect();
    let mut body: Value = serde_json::from_str(&definition_body("Many", "String", true, true)).unwrap();
    body["allowedValues"] = json!(values[..101]);
    let path = "directory/customSecurityAttributeDefinitions";
    assert_eq!(h.post(path, &body.to_string()).await.status, StatusCode::BAD_REQUEST);
    body["allowedValues"] = json!(values[..100]);
    assert_eq!(h.post(path, &body.to_string()).await.status, StatusCode::CREATED);
    let reply = h
        .post(&format!("{path}/Engineering_Many/allowedValues"), r#"{ "id": "V100", "isActive": true }"#)
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let delta = r#"{ "allowedValues@delta": [ { "id": "V100", "isActive": true } ] }"#;
    let reply = h
        .send(Method::PATCH, &format!("{path}/Engineering_Many"), &[("OData-Version", "4.01")], Some(delta))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn emulators_own_400_past_50_values_per_principal() {
    let h = seeded(contoso()).await;
    let user = format!("users/{USER_ID}");
    let fifty: Vec<String> = (0..50).map(|index| format!("C{index}")).collect();
    let body = assignment(
        "Marketing",
        json!({ "AppCountry@odata.type": "#Collection(String)", "AppCountry": fifty }),
    );
    assert_eq!(h.patch(&user, &body).await.status, StatusCode::NO_CONTENT);
    let reply = h.patch(&user, &assignment("Marketing", json!({ "EmployeeId": "E1" }))).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "the 51st value across attributes is refused");
}

// ── rules: assignments ──

#[tokio::test]
async fn emulators_own_assignment_type_annotation_and_arity_checks() {
    let h = seeded(contoso()).await;
    let user = format!("users/{USER_ID}");
    for (why, set, members) in [
        (
            "string to an Integer",
            "Engineering",
            json!({ "NumVendors@odata.type": "#Int32", "NumVendors": "4" }),
        ),
        ("integer without #Int32", "Engineering", json!({ "NumVendors": 4 })),
        (
            "beyond 32 bits",
            "Engineering",
            json!({ "NumVendors@odata.type": "#Int32", "NumVendors": 4_294_967_296_i64 }),
        ),
        (
            "collection to a single value",
            "Engineering",
            json!({ "ProjectDate@odata.type": "#Collection(String)", "ProjectDate": ["a"] }),
        ),
        ("collection without annotation", "Engineering", json!({ "CostCenter": [1001] })),
        (
            "wrong collection annotation",
            "Engineering",
            json!({ "CostCenter@odata.type": "#Collection(String)", "CostCenter": [1001] }),
        ),
        ("null for a collection", "Engineering", json!({ "Project": null })),
        ("string to a Boolean", "Engineering", json!({ "Certification": "true" })),
        ("unknown attribute", "Engineering", json!({ "Nope": "x" })),
        ("unknown set", "Finance", json!({ "Budget": "x" })),
        ("value over 64 characters", "Engineering", json!({ "ProjectDate": "x".repeat(65) })),
    ] {
        let reply = h.patch(&user, &assignment(set, members)).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{why}: {}", reply.text);
        assert_eq!(reply.error_code(), "Request_BadRequest", "{why}");
    }
    let unannotated =
        json!({ "customSecurityAttributes": { "Engineering": { "ProjectDate": "2022-10-01" } } });
    let reply = h.patch(&user, &unannotated.to_string()).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "the set object needs @odata.type");
    assert_eq!(h.user_attributes(USER_ID).await, Value::Null, "refusals change nothing");
}

#[tokio::test]
async fn emulators_own_400_for_unlisted_inactive_or_deprecated_values() {
    let h = seeded(contoso()).await;
    let user = format!("users/{USER_ID}");
    let project = |values: Value| {
        assignment("Engineering", json!({ "Project@odata.type": "#Collection(String)", "Project": values }))
    };
    assert_eq!(
        h.patch(&user, &project(json!(["Denali"]))).await.status,
        StatusCode::BAD_REQUEST,
        "not predefined"
    );
    assert_eq!(
        h.patch(&user, &project(json!(["alpine"]))).await.status,
        StatusCode::BAD_REQUEST,
        "case sensitive"
    );
    assert_eq!(h.patch(&user, &project(json!(["Alpine"]))).await.status, StatusCode::NO_CONTENT);
    let value = "directory/customSecurityAttributeDefinitions/Engineering_Project/allowedValues";
    assert_eq!(
        h.patch(&format!("{value}/Alpine"), r#"{ "isActive": false }"#).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        h.patch(&format!("{value}/Baker"), r#"{ "isActive": false }"#).await.status,
        StatusCode::NO_CONTENT
    );
    // Alpine is held already, so it may stay; Baker is inactive and new.
    assert_eq!(h.patch(&user, &project(json!(["Alpine", "Cascade"]))).await.status, StatusCode::NO_CONTENT);
    assert_eq!(h.patch(&user, &project(json!(["Alpine", "Baker"]))).await.status, StatusCode::BAD_REQUEST);
    let other = format!("users/{SECOND_USER_ID}");
    assert_eq!(h.patch(&other, &project(json!(["Alpine"]))).await.status, StatusCode::BAD_REQUEST);
    // A deprecated attribute takes no new values, but its values can be removed.
    let definition = "directory/customSecurityAttributeDefinitions/Engineering_Project";
    assert_eq!(h.patch(definition, r#"{ "status": "Deprecated" }"#).await.status, StatusCode::NO_CONTENT);
    assert_eq!(h.patch(&other, &project(json!(["Cascade"]))).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(h.patch(&user, &project(json!([]))).await.status, StatusCode::NO_CONTENT);
    assert_eq!(h.user_attributes(USER_ID).await, Value::Null, "no values left reads as null");
}

// ── authentication ──

#[tokio::test]
async fn emulators_own_401_without_a_valid_bearer_token() {
    let h = seeded(contoso()).await;
    let url = h.url("directory/attributeSets");
    let reply = h.client.get(&url).send().await.unwrap();
    assert_eq!(reply.status(), StatusCode::UNAUTHORIZED);
    let body: Value = reply.json().await.unwrap();
    assert_eq!(body["error"]["code"], "InvalidAuthenticationToken");
    let reply = h.client.get(&url).header("Authorization", "Bearer ").send().await.unwrap();
    assert_eq!(reply.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(h.client.get(&url).bearer_auth("anything").send().await.unwrap().status(), StatusCode::OK);

    let strict = harness(EmulatorConfig { token: Some("s3cret".into()), ..Default::default() }).await;
    let url = strict.url("directory/attributeSets");
    assert_eq!(
        strict.client.get(&url).bearer_auth("other").send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(strict.client.get(&url).bearer_auth("s3cret").send().await.unwrap().status(), StatusCode::OK);
    let logged = serde_json::to_string(&strict.emulator.requests()).unwrap();
    assert!(!logged.contains("s3cret"), "the log never holds a token");
}
