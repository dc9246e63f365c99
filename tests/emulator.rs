//! The Graph emulator over real HTTP: the documented examples of
//! `graph-examples/` replayed against a store seeded to match (tests named
//! `doc_…` after their file), the documented rules, paging, batching,
//! faults, quotas, control endpoints and the `emulator` command. Tests of
//! behaviour Microsoft does not document are named `emulators_own_…`.

mod replay;
mod support;

use std::time::{Duration, Instant};

use entra_csa::emulator::{EmulatorConfig, Throttle};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use support::*;

// ── conformance: attribute sets ──

#[tokio::test]
async fn doc_create_attributeset() {
    let h = seeded(Default::default()).await;
    let reply = h
        .post(
            "directory/attributeSets",
            r#"{
    "id":"Engineering",
    "description":"Attributes for engineering team",
    "maxAttributesPerSet":25
}"#,
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(context_fragment(&reply.body), "directory/attributeSets/$entity");
    assert_eq!(reply.body["id"], "Engineering");
    assert_eq!(reply.body["description"], "Attributes for engineering team");
    assert_eq!(reply.body["maxAttributesPerSet"], 25);
    assert_eq!(h.emulator.state().attribute_sets.len(), 1);
}

#[tokio::test]
async fn doc_update_attributeset() {
    let h = seeded(contoso()).await;
    let reply = h
        .patch(
            "directory/attributeSets/Engineering",
            r#"{"description":"Attributes for engineering team","maxAttributesPerSet":20}"#,
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
    assert!(reply.text.is_empty());
    assert_eq!(h.emulator.state().attribute_sets[0].max_attributes_per_set, Some(20));
}

#[tokio::test]
async fn doc_get_attributeset() {
    let h = seeded(contoso()).await;
    let reply = h.get("directory/attributeSets/Engineering").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(context_fragment(&reply.body), "directory/attributeSets/$entity");
    assert_eq!(reply.body["id"], "Engineering");
    assert_eq!(reply.body["maxAttributesPerSet"], 25);
}

#[tokio::test]
async fn doc_list_attributesets_and_orderby() {
    let h = seeded(contoso()).await;
    let reply = h.get("directory/attributeSets").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(context_fragment(&reply.body), "directory/attributeSets");
    assert_eq!(reply.body["value"].as_array().map(Vec::len), Some(2));
    assert!(reply.body.get("@odata.nextLink").is_none());
    let reply = h.get("directory/attributeSets?$orderby=id desc").await;
    assert_eq!(reply.body["value"][0]["id"], "Marketing");
}

#[tokio::test]
async fn doc_list_attributesets_top_pages_with_skiptoken() {
    let mut tenant = contoso();
    for index in 0..10 {
        tenant.attribute_sets.push(serde_json::from_value(json!({ "id": format!("Set{index}") })).unwrap());
    }
    let h = seeded(tenant).await;
    let first = h.get("directory/attributeSets?$top=10").await;
    assert_eq!(first.body["value"].as_array().map(Vec::len), Some(10));
    let next = first.body["@odata.nextLink"].as_str().expect("a nextLink");
    assert!(next.contains("/v1.0/directory/attributeSets?$top=10&$skiptoken="), "{next}");
    let second = h.get(next).await;
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(second.body["value"].as_array().map(Vec::len), Some(2));
    assert!(second.body.get("@odata.nextLink").is_none());
}

// ── conformance: definitions ──

#[tokio::test]
async fn doc_create_definition() {
    let h = seeded(contoso()).await;
    let reply = h
        .post(
            "directory/customSecurityAttributeDefinitions",
            r#"{
    "attributeSet":"Engineering",
    "description":"Target completion date",
    "isCollection":false,
    "isSearchable":true,
    "name":"Deadline",
    "status":"Available",
    "type":"String",
    "usePreDefinedValuesOnly": false
}"#,
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(context_fragment(&reply.body), "directory/customSecurityAttributeDefinitions/$entity");
    assert_eq!(reply.body["id"], "Engineering_Deadline");
    for property in ["attributeSet", "description", "isCollection", "isSearchable", "name", "status", "type"]
    {
        assert!(reply.body.get(property).is_some(), "{property} missing: {}", reply.text);
    }
    assert_eq!(reply.body["usePreDefinedValuesOnly"], false);
}

#[tokio::test]
async fn doc_create_definition_with_allowedvalues_and_expand() {
    let mut tenant = contoso();
    tenant.custom_security_attribute_definitions.clear();
    let h = seeded(tenant).await;
    let reply = h
        .post(
            "directory/customSecurityAttributeDefinitions",
            r#"{
    "attributeSet": "Engineering", "description": "Active projects for user",
    "isCollection": true, "isSearchable": true, "name": "Project", "status": "Available",
    "type": "String", "usePreDefinedValuesOnly": true,
    "allowedValues": [
        { "id": "Alpine", "isActive": true },
        { "id": "Baker", "isActive": true },
        { "id": "Cascade", "isActive": true }
    ]
}"#,
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert!(reply.body.get("allowedValues").is_none(), "the 201 leaves allowedValues out");
    let listed = h.get("directory/customSecurityAttributeDefinitions?$expand=allowedValues").await;
    assert_eq!(listed.body["value"][0]["allowedValues"].as_array().map(Vec::len), Some(3));
    let plain = h.get("directory/customSecurityAttributeDefinitions").await;
    assert!(plain.body["value"][0].get("allowedValues").is_none(), "not returned without $expand");
}

#[tokio::test]
async fn doc_get_and_list_definitions() {
    let h = seeded(contoso()).await;
    let reply = h.get("directory/customSecurityAttributeDefinitions/Engineering_ProjectDate").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(context_fragment(&reply.body), "directory/customSecurityAttributeDefinitions/$entity");
    assert_eq!(reply.body["name"], "ProjectDate");
    let list = h.get("directory/customSecurityAttributeDefinitions").await;
    assert_eq!(context_fragment(&list.body), "directory/customSecurityAttributeDefinitions");
    assert_eq!(list.body["value"].as_array().map(Vec::len), Some(7));
    let keys: Vec<&String> = list.body["value"][0].as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "attributeSet",
            "description",
            "id",
            "isCollection",
            "isSearchable",
            "name",
            "status",
            "type",
            "usePreDefinedValuesOnly"
        ]
    );
}

#[tokio::test]
async fn doc_list_definitions_filter_name_and_attributeset() {
    let h = seeded(contoso()).await;
    // The documented URLs, encoding as printed ('+' and %20 for spaces).
    let reply = h
        .get("directory/customSecurityAttributeDefinitions?$filter=name+eq+'Project'%20and%20status+eq+'Available'")
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let ids: Vec<&Value> = reply.body["value"].as_array().unwrap().iter().map(|d| &d["id"]).collect();
    assert_eq!(ids, [&json!("Engineering_Project")]);
    let reply = h
        .get("directory/customSecurityAttributeDefinitions?$filter=attributeSet+eq+'Engineering'%20and%20status+eq+'Available'%20and%20type+eq+'String'")
        .await;
    let ids: Vec<&Value> = reply.body["value"].as_array().unwrap().iter().map(|d| &d["id"]).collect();
    assert_eq!(ids, [&json!("Engineering_Project"), &json!("Engineering_ProjectDate")]);
}

#[tokio::test]
async fn doc_update_definition_with_and_without_the_documented_trailing_comma() {
    let h = seeded(contoso()).await;
    let path = "directory/customSecurityAttributeDefinitions/Engineering_ProjectDate";
    // Verbatim body of update-definition.http: not strict JSON.
    let verbatim = "{\n  \"description\": \"Target completion date (YYYY/MM/DD)\",\n}";
    let reply = h.patch(path, verbatim).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "emulator's own choice: invalid JSON is a 400");
    let reply = h.patch(path, r#"{ "description": "Target completion date (YYYY/MM/DD)" }"#).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
    let reply = h.get(path).await;
    assert_eq!(reply.body["description"], "Target completion date (YYYY/MM/DD)");
}

#[tokio::test]
async fn doc_update_definition_allowedvalues_delta() {
    let h = seeded(contoso()).await;
    let path = "directory/customSecurityAttributeDefinitions/Engineering_Project";
    let body = r#"{ "allowedValues@delta": [ { "id": "Baker", "isActive": false }, { "id": "Skagit", "isActive": true } ] }"#;
    let reply = h.send(Method::PATCH, path, &[("OData-Version", "4.01")], Some(body)).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
    let values = h.get(&format!("{path}/allowedValues")).await;
    let values = values.body["value"].as_array().unwrap().clone();
    assert!(values.contains(&json!({ "id": "Baker", "isActive": false })));
    assert!(values.contains(&json!({ "id": "Skagit", "isActive": true })));
}

#[tokio::test]
async fn emulators_own_delta_without_odata_version_401_is_refused() {
    let h = seeded(contoso()).await;
    let reply = h
        .patch(
            "directory/customSecurityAttributeDefinitions/Engineering_Project",
            r#"{ "allowedValues@delta": [ { "id": "Skagit", "isActive": true } ] }"#,
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.error_code(), "Request_BadRequest");
}

#[tokio::test]
async fn doc_deactivate_definition() {
    let h = seeded(contoso()).await;
    let path = "directory/customSecurityAttributeDefinitions/Engineering_ProjectDate";
    let reply = h.patch(path, r#"{ "status": "Deprecated" }"#).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(h.get(path).await.body["status"], "Deprecated");
}

// ── conformance: allowed values ──

#[tokio::test]
async fn doc_create_allowedvalue_with_the_documented_string_boolean() {
    let h = seeded(contoso()).await;
    let reply = h
        .post(
            "directory/customSecurityAttributeDefinitions/Engineering_Project/allowedValues",
            r#"{ "id":"Denali", "isActive":"true" }"#,
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(
        context_fragment(&reply.body),
        "directory/customSecurityAttributeDefinitions('Engineering_Project')/allowedValues/$entity"
    );
    assert_eq!(reply.body["id"], "Denali");
    assert_eq!(reply.body["isActive"], true, "answered as a JSON boolean");
}

#[tokio::test]
async fn doc_get_list_and_deactivate_allowedvalue() {
    let h = seeded(contoso()).await;
    let base = "directory/customSecurityAttributeDefinitions/Engineering_Project/allowedValues";
    let reply = h.get(&format!("{base}/Alpine")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.body,
        json!({
            "@odata.context": format!("{}/v1.0/$metadata#directory/customSecurityAttributeDefinitions('Engineering_Project')/allowedValues/$entity", h.emulator.base_url()),
            "id": "Alpine",
            "isActive": true
        })
    );
    let list = h.get(base).await;
    assert_eq!(
        context_fragment(&list.body),
        "directory/customSecurityAttributeDefinitions('Engineering_Project')/allowedValues"
    );
    assert_eq!(list.body["value"].as_array().map(Vec::len), Some(3));
    // deactivate-allowedvalue.http sends the string "false".
    let reply = h.patch(&format!("{base}/Alpine"), r#"{ "isActive": "false" }"#).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(h.get(&format!("{base}/Alpine")).await.body["isActive"], false);
}

// ── conformance: assignments ──

const REQUEST_SET_TYPE: &str = "#Microsoft.DirectoryServices.CustomSecurityAttributeValue";

fn assignment(set: &str, members: Value) -> String {
    let mut object = json!({ "@odata.type": REQUEST_SET_TYPE });
    for (key, value) in members.as_object().unwrap() {
        object[key] = value.clone();
    }
    json!({ "customSecurityAttributes": { set: object } }).to_string()
}

#[tokio::test]
async fn doc_assign_user_every_documented_type_then_read_back() {
    let h = seeded(contoso()).await;
    let user = format!("users/{USER_ID}");
    for (file, set, members) in [
        ("assign-user-string.http", "Engineering", json!({ "ProjectDate": "2022-10-01" })),
        (
            "assign-user-multistring.http",
            "Engineering",
            json!({ "Project@odata.type": "#Collection(String)", "Project": ["Baker", "Cascade"] }),
        ),
        (
            "assign-user-integer.http",
            "Engineering",
            json!({ "NumVendors@odata.type": "#Int32", "NumVendors": 4 }),
        ),
        (
            "assign-user-multiinteger.http",
            "Engineering",
            json!({ "CostCenter@odata.type": "#Collection(Int32)", "CostCenter": [1001, 1003] }),
        ),
        ("assign-user-boolean.http", "Engineering", json!({ "Certification": true })),
        (
            "update-user-integer.http",
            "Engineering",
            json!({ "NumVendors@odata.type": "#Int32", "NumVendors": 8 }),
        ),
        ("update-user-boolean.http", "Engineering", json!({ "Certification": false })),
        ("assign (Marketing)", "Marketing", json!({ "EmployeeId": "QN26904" })),
    ] {
        let reply = h.patch(&user, &assignment(set, members)).await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT, "{file}: {}", reply.text);
        assert!(reply.text.is_empty(), "{file}: a 204 has no body");
    }
    let reply = h.get(&format!("{user}?$select=customSecurityAttributes")).await;
    assert_eq!(context_fragment(&reply.body), "users(customSecurityAttributes)/$entity");
    assert_eq!(
        reply.body["customSecurityAttributes"],
        json!({
            "Engineering": {
                "@odata.type": "#microsoft.graph.customSecurityAttributeValue",
                "ProjectDate": "2022-10-01",
                "Project@odata.type": "#Collection(String)", "Project": ["Baker", "Cascade"],
                "NumVendors": 8,
                "CostCenter@odata.type": "#Collection(Int32)", "CostCenter": [1001, 1003],
                "Certification": false
            },
            "Marketing": { "@odata.type": "#microsoft.graph.customSecurityAttributeValue", "EmployeeId": "QN26904" }
        })
    );
    // remove-user-singlevalue.http and remove-user-multivalue.http
    let reply = h.patch(&user, &assignment("Engineering", json!({ "ProjectDate": null }))).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let reply = h.patch(&user, &assignment("Engineering", json!({ "Project": [] }))).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let attributes = h.user_attributes(USER_ID).await;
    assert!(attributes["Engineering"].get("ProjectDate").is_none());
    assert!(attributes["Engineering"].get("Project").is_none());
    assert!(attributes["Engineering"].get("Project@odata.type").is_none());
}

#[tokio::test]
async fn doc_get_user_customsecurityattributes_none_is_null() {
    let h = seeded(contoso()).await;
    let reply = h.get(&format!("users/{USER_ID}?$select=customSecurityAttributes")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.body,
        json!({
            "@odata.context": format!("{}/v1.0/$metadata#users(customSecurityAttributes)/$entity", h.emulator.base_url()),
            "customSecurityAttributes": null
        })
    );
}

#[tokio::test]
async fn doc_get_user_customsecurityattributes_leaves_single_integers_unannotated() {
    let h = seeded(contoso_with_assignments()).await;
    let attributes = h.user_attributes(USER_ID).await;
    assert_eq!(attributes["Engineering"]["NumVendors"], 8);
    assert!(attributes["Engineering"].get("NumVendors@odata.type").is_none());
    assert_eq!(attributes["Engineering"]["CostCenter@odata.type"], "#Collection(Int32)");
    assert_eq!(attributes["Marketing"]["@odata.type"], "#microsoft.graph.customSecurityAttributeValue");
}

#[tokio::test]
async fn doc_serviceprincipal_assign_and_get() {
    let h = seeded(contoso()).await;
    let none =
        h.get(&format!("servicePrincipals/{SERVICE_PRINCIPAL_ID}?$select=customSecurityAttributes")).await;
    assert_eq!(context_fragment(&none.body), "servicePrincipals(customSecurityAttributes)/$entity");
    assert_eq!(none.body["customSecurityAttributes"], Value::Null);
    // assign-serviceprincipal-string.http
    let reply = h
        .patch(
            &format!("servicePrincipals/{SERVICE_PRINCIPAL_ID}"),
            &assignment("Engineering", json!({ "ProjectDate": "2024-11-15" })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
    // servicePrincipals(appId='…') names the same principal.
    let reply = h.get(&format!("servicePrincipals(appId='{APP_ID}')?$select=customSecurityAttributes")).await;
    assert_eq!(reply.body["customSecurityAttributes"]["Engineering"]["ProjectDate"], "2024-11-15");
}

#[tokio::test]
async fn emulators_own_scalar_under_a_collection_annotation_is_refused() {
    // entra-assign-serviceprincipal-collection-scalar.http: a doc quirk.
    let h = seeded(contoso()).await;
    let reply = h
        .patch(
            &format!("servicePrincipals/{SERVICE_PRINCIPAL_ID}"),
            &assignment(
                "Engineering",
                json!({ "Project@odata.type": "#Collection(String)", "Project": "Baker" }),
            ),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.error_code(), "Request_BadRequest");
}

// ── conformance: filters on custom security attributes ──

fn ids(reply: &Reply) -> Vec<String> {
    let mut ids: Vec<String> = reply.body["value"]
        .as_array()
        .map(|items| items.iter().filter_map(|item| item["id"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    ids.sort();
    ids
}

#[tokio::test]
async fn doc_list_users_filter_equals_startswith_and_not_equals() {
    let h = seeded(contoso_with_assignments()).await;
    let eventual = [("ConsistencyLevel", "eventual")];
    let reply = h
        .get_with(
            "users?$count=true&$select=id,displayName,customSecurityAttributes&$filter=customSecurityAttributes/Marketing/AppCountry eq 'Canada'",
            &eventual,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(context_fragment(&reply.body), "users(id,displayName,customSecurityAttributes)");
    assert_eq!(reply.body["@odata.count"], 1);
    assert_eq!(ids(&reply), [USER_ID]);
    let item = reply.body["value"][0].as_object().unwrap();
    assert_eq!(item.keys().collect::<Vec<_>>(), ["customSecurityAttributes", "displayName", "id"]);

    let reply = h
        .get_with(
            "users?$count=true&$select=id,displayName,customSecurityAttributes&$filter=startsWith(customSecurityAttributes/Marketing/EmployeeId,'GS')",
            &eventual,
        )
        .await;
    assert_eq!(ids(&reply), [USER_ID]);

    let reply = h
        .get_with(
            "users?$count=true&$select=id,displayName,customSecurityAttributes&$filter=customSecurityAttributes/Marketing/AppCountry ne 'Canada'",
            &eventual,
        )
        .await;
    assert_eq!(ids(&reply), [SECOND_USER_ID], "ne includes users without the attribute");
    assert_eq!(reply.body["value"][0]["customSecurityAttributes"], Value::Null);
}

#[tokio::test]
async fn doc_entra_list_serviceprincipals_filter_equals() {
    let h = seeded(contoso_with_assignments()).await;
    let reply = h
        .get_with(
            "servicePrincipals?$count=true&$select=id,displayName,customSecurityAttributes&$filter=customSecurityAttributes/Engineering/Project eq 'Baker'",
            &[("ConsistencyLevel", "eventual")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(ids(&reply), [SERVICE_PRINCIPAL_ID]);
    assert_eq!(reply.body["@odata.count"], 1);
}

#[tokio::test]
async fn doc_error_csa_filter_unsupported_query_without_advanced_parameters() {
    let h = seeded(contoso_with_assignments()).await;
    let path = "users?$select=id,displayName,customSecurityAttributes&$filter=customSecurityAttributes/Marketing/AppCountry eq 'Canada'";
    for headers in [&[][..], &[("ConsistencyLevel", "eventual")][..]] {
        let reply = h.get_with(path, headers).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        assert_eq!(reply.error_code(), "Request_UnsupportedQuery");
        assert_eq!(
            reply.error_message(),
            "Unsupported or invalid query filter clause specified for property 'Marketing_AppCountry' of resource 'CustomSecurityAttributeValue'."
        );
    }
    // With $count=true but no ConsistencyLevel: still refused.
    let reply = h.get(&format!("{path}&$count=true")).await;
    assert_eq!(reply.error_code(), "Request_UnsupportedQuery");
}

#[tokio::test]
async fn doc_error_count_without_consistencylevel() {
    let h = seeded(contoso()).await;
    let reply = h.get("users/$count").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.error_code(), "Request_BadRequest");
    assert_eq!(reply.error_message(), "$count is not currently supported.");
    assert!(reply.body["error"]["innerError"]["request-id"].is_string());
    let reply = h.get_with("users/$count", &[("ConsistencyLevel", "eventual")]).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text, "2");
}

#[tokio::test]
async fn doc_error_count_silently_ignored() {
    let h = seeded(contoso()).await;
    let reply = h.get("users?$count=true").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(context_fragment(&reply.body), "users");
    assert!(reply.body.get("@odata.count").is_none());
    let item = reply.body["value"][0].as_object().unwrap();
    assert!(item.get("customSecurityAttributes").is_none(), "returned only on $select");
    assert!(item.get("userPrincipalName").is_some());
}

#[tokio::test]
async fn doc_error_advanced_operator_and_search_without_params() {
    let h = seeded(contoso()).await;
    let reply = h.get("users?$filter=endsWith(userPrincipalName,'%23EXT%23@contoso.com')").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.error_code(), "Request_UnsupportedQuery");
    assert!(reply.error_message().starts_with("Operator 'endsWith' is not supported"));
    let reply = h.get("users?$search=\"displayName:Jana\"").await;
    assert_eq!(reply.error_code(), "Request_UnsupportedQuery");
    assert!(reply.error_message().contains("ConsistencyLevel: eventual"));
}

// ── conformance: paging ──

fn many_users(count: usize) -> entra_csa::graph::wire::TenantDocument {
    let mut tenant = contoso();
    tenant.users = (0..count)
        .map(|index| {
            serde_json::from_value(json!({
                "id": format!("00000000-0000-0000-0000-{index:012}"),
                "userPrincipalName": format!("user{index}@contoso.com"),
                "displayName": format!("User {index}")
            }))
            .unwrap()
        })
        .collect();
    tenant
}

#[tokio::test]
async fn doc_paging_users_nextlink_until_the_end() {
    let h = seeded(many_users(12)).await;
    let mut next = Some(h.url("users?$top=5"));
    let mut seen = Vec::new();
    let mut pages = 0;
    while let Some(url) = next {
        let reply = h.get(&url).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        seen.extend(ids(&reply));
        next = reply.body["@odata.nextLink"].as_str().map(str::to_owned);
        if let Some(link) = &next {
            assert!(link.contains("$top=5&$skiptoken="), "{link}");
        }
        pages += 1;
    }
    assert_eq!(pages, 3);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 12);
}

#[tokio::test]
async fn paging_follows_the_page_size_knob_and_counts_only_on_the_first_page() {
    let h = harness(EmulatorConfig { seed_state: many_users(5), page_size: 2, ..Default::default() }).await;
    let eventual = [("ConsistencyLevel", "eventual")];
    let first = h.get_with("users?$count=true&$top=999&$select=id", &eventual).await;
    assert_eq!(first.body["value"].as_array().map(Vec::len), Some(2));
    assert_eq!(first.body["@odata.count"], 5);
    let link = first.body["@odata.nextLink"].as_str().unwrap().to_owned();
    let second = h.get_with(&link, &eventual).await;
    assert!(second.body.get("@odata.count").is_none());
    assert_eq!(second.body["value"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn emulators_own_top_above_999_is_refused() {
    let h = seeded(contoso()).await;
    let reply = h.get("users?$top=1000").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(h.get("users?$top=999").await.status, StatusCode::OK);
}

#[tokio::test]
async fn principals_are_found_by_upn_and_app_id_filter() {
    let h = seeded(contoso()).await;
    let reply = h.get("users/jana@contoso.com?$select=id").await;
    assert_eq!(reply.body["id"], USER_ID);
    let reply = h.get(&format!("servicePrincipals?$filter=appId eq '{APP_ID}'&$select=id,appId")).await;
    assert_eq!(ids(&reply), [SERVICE_PRINCIPAL_ID]);
    let reply = h.get("users/nobody@contoso.com").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.error_code(), "Request_ResourceNotFound");
}

// ── rules: nothing is ever deleted ──

#[tokio::test]
async fn emulators_own_405_for_delete_everywhere_logged_and_counted() {
    let h = seeded(contoso_with_assignments()).await;
    let before = h.emulator.state();
    for path in [
        "directory/attributeSets/Engineering",
        "directory/customSecurityAttributeDefinitions/Engineering_Project",
        "directory/customSecurityAttributeDefinitions/Engineering_Project/allowedValues/Alpine",
        &format!("users/{USER_ID}"),
        "directory/attributeSets/Nonexistent",
    ] {
        let reply = h.send(Method::DELETE, path, &[], None).await;
        assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED, "{path}");
        assert_eq!(reply.error_code(), "Request_BadRequest");
        assert_eq!(reply.error_message(), "Specified HTTP method is not allowed for the request target.");
    }
    assert_eq!(h.emulator.state(), before, "nothing was deleted");
    assert_eq!(h.emulator.stats().deletes, 5);
    let logged = h.emulator.requests();
    assert!(logged.iter().all(|request| request.method == "DELETE" && request.status == 405));
}

// ── rules: definitions ──

fn definition_body(name: &str, data_type: &str, collection: bool, predefined: bool) -> String {
    json!({
        "attributeSet": "Engineering", "name": name, "description": "d", "type": data_type,
        "isCollection": collection, "isSearchable": true, "status": "Available",
        "usePreDefinedValuesOnly": predefined
    })
    .to_string()
}

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

/// `contoso()` as the emulator reports it (definition ids filled in).
fn contoso_normalised() -> entra_csa::graph::wire::TenantDocument {
    let mut tenant = contoso();
    for definition in &mut tenant.custom_security_attribute_definitions {
        definition.id = Some(format!("{}_{}", definition.attribute_set, definition.name));
        definition.allowed_values.get_or_insert_with(Vec::new);
    }
    tenant
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
    let document: entra_csa::graph::wire::TenantDocument = serde_json::from_value(state).unwrap();
    assert_eq!(document, h.emulator.state());

    let reset = h.client.post(format!("{base}/_emulator/reset")).send().await.unwrap();
    assert_eq!(reset.status(), StatusCode::NO_CONTENT);
    assert_eq!(h.emulator.state(), contoso_normalised());
    assert!(h.emulator.requests().is_empty());
    assert_eq!(h.emulator.stats().requests, 0);
}

#[tokio::test]
async fn every_response_reports_its_resource_units() {
    let h = seeded(contoso()).await;
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
    entra_csa::state_file::parse(&text, "tenant.json").expect("the state-file reader reads it back");
    let written: entra_csa::graph::wire::TenantDocument = serde_json::from_str(&text).unwrap();
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
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let folder = tempfile::tempdir().unwrap();
    let state = folder.path().join("tenant.json");
    std::fs::write(&state, serde_json::to_string(&contoso()).unwrap()).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_entra-csa"))
        .args(["emulator", "--listen", "127.0.0.1:0", "--state"])
        .arg(&state)
        .env_remove("ENTRA_CSA_EMULATOR_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let base = line.trim().strip_prefix("listening on ").map(str::to_owned);
    let result = std::panic::catch_unwind(|| {
        let base = base.expect("the first line names the address");
        assert!(base.starts_with("http://127.0.0.1:"), "{base}");
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let client = reqwest::Client::new();
            let reply = client
                .get(format!("{base}/v1.0/directory/attributeSets"))
                .bearer_auth("t")
                .send()
                .await
                .unwrap();
            assert_eq!(reply.status(), StatusCode::OK);
            let body: Value = reply.json().await.unwrap();
            assert_eq!(body["value"].as_array().map(Vec::len), Some(2));
        });
    });
    child.kill().unwrap();
    child.wait().unwrap();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

#[test]
fn the_emulator_command_refuses_a_non_loopback_address() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_entra-csa"))
        .args(["emulator", "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--allow-non-loopback"));
}

// ── $batch ──

async fn batch(h: &Harness, requests: Value) -> Reply {
    h.post("$batch", &json!({ "requests": requests }).to_string()).await
}

fn item<'a>(reply: &'a Reply, id: &str) -> &'a Value {
    reply.body["responses"]
        .as_array()
        .and_then(|items| items.iter().find(|item| item["id"] == id))
        .unwrap_or_else(|| panic!("no response for item {id}: {}", reply.text))
}

#[tokio::test]
async fn doc_batch_example_with_204_shapes() {
    let h = seeded(contoso()).await;
    let reply = batch(
        &h,
        json!([
            { "id": "1", "method": "GET", "url": "/directory/attributeSets/Engineering" },
            { "id": "2", "method": "GET", "url": "/users/nobody@contoso.com" },
            { "id": "4", "url": format!("/users/{USER_ID}"), "method": "PATCH",
              "body": json!({ "customSecurityAttributes": { "Engineering": {
                  "@odata.type": REQUEST_SET_TYPE, "ProjectDate": "2022-10-01" } } }),
              "headers": { "Content-Type": "application/json" } },
            { "id": "5", "url": "users?$select=id,displayName,userPrincipalName&$count=true", "method": "GET",
              "headers": { "ConsistencyLevel": "eventual" } }
        ]),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["responses"].as_array().map(Vec::len), Some(4));
    assert_eq!(item(&reply, "1")["status"], 200);
    assert_eq!(item(&reply, "1")["body"]["id"], "Engineering");
    assert_eq!(item(&reply, "2")["status"], 404);
    assert_eq!(item(&reply, "2")["body"]["error"]["code"], "Request_ResourceNotFound");
    assert_eq!(item(&reply, "4"), &json!({ "id": "4", "status": 204, "body": null }));
    let five = item(&reply, "5");
    assert_eq!(five["body"]["@odata.count"], 2, "ConsistencyLevel inside the item counts");
    assert_eq!(context_fragment(&five["body"]), "users(id,displayName,userPrincipalName)");
    assert!(five["headers"]["x-ms-resource-unit"].is_string());
    assert!(
        five["headers"]["Content-Type"]
            .as_str()
            .unwrap()
            .starts_with("application/json;odata.metadata=minimal")
    );
    assert_eq!(h.user_attributes(USER_ID).await["Engineering"]["ProjectDate"], "2022-10-01");
}

#[tokio::test]
async fn doc_batch_dependson_runs_in_order_and_fails_dependents_with_424() {
    let h = seeded(contoso()).await;
    let chain = |first_url: &str| {
        json!([
            { "id": "1", "method": "GET", "url": first_url },
            { "id": "2", "dependsOn": ["1"], "method": "GET", "url": "/directory/attributeSets/Marketing" },
            { "id": "4", "dependsOn": ["2"], "method": "GET", "url": "/users" },
            { "id": "3", "dependsOn": ["4"], "method": "GET", "url": "/servicePrincipals" }
        ])
    };
    let reply = batch(&h, chain("/directory/attributeSets/Engineering")).await;
    for id in ["1", "2", "3", "4"] {
        assert_eq!(item(&reply, id)["status"], 200, "{id}");
    }
    let order: Vec<String> =
        h.emulator.requests().iter().filter_map(|request| request.batch_item.clone()).collect();
    assert_eq!(order, ["1", "2", "4", "3"], "execution order 1, 2, 4, 3");

    let reply = batch(&h, chain("/directory/attributeSets/Missing")).await;
    assert_eq!(reply.status, StatusCode::OK, "the batch itself succeeds");
    assert_eq!(item(&reply, "1")["status"], 404);
    for id in ["2", "3", "4"] {
        assert_eq!(item(&reply, id)["status"], 424, "{id}");
    }
}

#[tokio::test]
async fn malformed_batches_are_refused_whole() {
    let h = seeded(contoso()).await;
    let get = |id: String| json!({ "id": id, "method": "GET", "url": "/users" });
    let reply = batch(&h, Value::Array((0..21).map(|i| get(i.to_string())).collect())).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "more than 20");
    let reply = batch(&h, Value::Array((0..20).map(|i| get(i.to_string())).collect())).await;
    assert_eq!(reply.status, StatusCode::OK, "20 is fine");
    let reply = batch(&h, json!([get("a".into()), get("A".into())])).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "ids are unique ignoring case");
    let reply = batch(&h, json!([{ "id": "1", "method": "GET", "url": "/users", "dependsOn": ["9"] }])).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "dependsOn names a missing id");
    let reply = batch(&h, json!([{ "id": "1", "method": "PATCH", "url": "/users/x", "body": {} }])).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "emulator's own: a body needs a Content-Type");
    let reply = h.post("$batch", "{ not json").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn batch_items_are_refused_one_by_one_and_answered_in_an_order_of_their_own() {
    let h = seeded(contoso()).await;
    let mut requests: Vec<Value> = (0..19)
        .map(|index| json!({ "id": index.to_string(), "method": "GET", "url": "/directory/attributeSets" }))
        .collect();
    requests
        .push(json!({ "id": "delete", "method": "DELETE", "url": "/directory/attributeSets/Engineering" }));
    let reply = batch(&h, Value::Array(requests.clone())).await;
    assert_eq!(item(&reply, "delete")["status"], 405);
    let answered: Vec<&Value> =
        reply.body["responses"].as_array().unwrap().iter().map(|item| &item["id"]).collect();
    let asked: Vec<&Value> = requests.iter().map(|request| &request["id"]).collect();
    assert_ne!(answered, asked, "responses come in a different order");
    assert_eq!(h.emulator.stats().deletes, 1);
    assert_eq!(h.emulator.state().attribute_sets.len(), 2);
}

// ── faults, latency, replication lag ──

/// The outcome of each of `count` GETs: the status, or "reset".
async fn outcomes(config: EmulatorConfig, count: usize) -> Vec<String> {
    let h = harness(config).await;
    let mut seen = Vec::new();
    for _ in 0..count {
        let response = h.client.get(h.url("directory/attributeSets")).bearer_auth("t").send().await;
        let outcome = match response {
            Err(_) => "reset".to_owned(),
            Ok(response) => {
                let status = response.status().as_u16();
                let retry_after =
                    response.headers().get("Retry-After").map(|v| v.to_str().unwrap().to_owned());
                match response.bytes().await {
                    Err(_) => "reset".to_owned(),
                    Ok(_) if status == 429 => format!("429 retry-after={retry_after:?}"),
                    Ok(_) => status.to_string(),
                }
            }
        };
        seen.push(outcome);
    }
    h.emulator.shutdown().await;
    seen
}

#[tokio::test]
async fn faults_are_deterministic_by_seed_and_cover_every_kind() {
    let config = |seed| EmulatorConfig { seed_state: contoso(), fault_rate: 0.5, seed, ..Default::default() };
    let first = outcomes(config(42), 80).await;
    assert_eq!(first, outcomes(config(42), 80).await, "same seed, same faults");
    assert_ne!(first, outcomes(config(43), 80).await, "another seed, other faults");
    assert!(first.iter().any(|o| o == "200"));
    assert!(first.iter().any(|o| o == "503"));
    assert!(first.iter().any(|o| o == "reset"));
    assert!(first.iter().any(|o| o == "429 retry-after=None"), "{first:?}");
    assert!(first.iter().any(|o| o.starts_with("429 retry-after=Some(\"0.")), "fractional: {first:?}");
    assert!(first.iter().any(|o| o == "429 retry-after=Some(\"1\")"), "{first:?}");
}

#[tokio::test]
async fn injected_429s_have_the_documented_body() {
    let h = harness(EmulatorConfig { fault_rate: 1.0, seed: 3, ..Default::default() }).await;
    for _ in 0..20 {
        let Ok(response) = h.client.get(h.url("users")).bearer_auth("t").send().await else { continue };
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["error"]["code"], "TooManyRequests");
            assert_eq!(body["error"]["message"], "Please retry again later.");
            assert_eq!(body["error"]["innerError"]["code"], "429");
            assert_eq!(body["error"]["innerError"]["status"], "429");
            return;
        }
    }
    panic!("no 429 in 20 faults");
}

#[tokio::test]
async fn latency_delays_every_request() {
    let h = harness(EmulatorConfig { latency: Duration::from_millis(150), ..Default::default() }).await;
    let started = Instant::now();
    assert_eq!(h.get("directory/attributeSets").await.status, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn emulators_own_400_during_the_replication_lag() {
    let h = harness(EmulatorConfig {
        seed_state: contoso(),
        replication_lag: Duration::from_millis(400),
        ..Default::default()
    })
    .await;
    let created = h
        .post(
            "directory/customSecurityAttributeDefinitions",
            &definition_body("Fresh", "String", false, false),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let body = assignment("Engineering", json!({ "Fresh": "x" }));
    let user = format!("users/{USER_ID}");
    let reply = h.patch(&user, &body).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "emulator's own: not replicated yet");
    // Seeded definitions are replicated from the start.
    assert_eq!(
        h.patch(&user, &assignment("Engineering", json!({ "ProjectDate": "d" }))).await.status,
        StatusCode::NO_CONTENT
    );
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(h.patch(&user, &body).await.status, StatusCode::NO_CONTENT);
}

// ── throttling ──

#[tokio::test]
async fn graph_write_quota_throttles_with_documented_headers() {
    // 3,000 writes per 150 s scaled by 0.001: 3 writes.
    let h = harness(EmulatorConfig {
        seed_state: contoso(),
        throttle: Throttle::Graph,
        throttle_scale: 0.001,
        ..Default::default()
    })
    .await;
    let user = format!("users/{USER_ID}");
    let body = assignment("Engineering", json!({ "ProjectDate": "d" }));
    let mut last = None;
    for _ in 0..3 {
        let reply = h.patch(&user, &body).await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT);
        last = Some(reply);
    }
    let percentage = last.unwrap().header("x-ms-throttle-limit-percentage").map(str::to_owned);
    assert!(percentage.is_some_and(|p| p.parse::<f64>().unwrap() > 0.8), "reported above 80%");
    let reply = h.patch(&user, &body).await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(reply.error_code(), "TooManyRequests");
    assert_eq!(reply.header("x-ms-throttle-information"), Some("WriteLimitExceeded"));
    assert!(
        reply.header("x-ms-throttle-scope").is_some_and(|s| s.starts_with("Tenant_Application/ReadWrite/"))
    );
    let retry_after: f64 = reply.header("Retry-After").unwrap().parse().unwrap();
    assert!((1.0..=50.0).contains(&retry_after), "{retry_after}");
    assert_eq!(h.emulator.stats().throttled, 1);
}

#[tokio::test]
async fn graph_resource_unit_quota_throttles_reads_and_batch_items() {
    // 3,500 resource units per 10 s for a small tenant, scaled: 3.5.
    let h = harness(EmulatorConfig {
        seed_state: contoso(),
        throttle: Throttle::Graph,
        throttle_scale: 0.001,
        ..Default::default()
    })
    .await;
    assert_eq!(h.get("users").await.status, StatusCode::OK, "costs 2");
    let reply = h.get("users").await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(reply.header("x-ms-throttle-information"), Some("ResourceUnitLimitExceeded"));
    let reply = batch(&h, json!([{ "id": "1", "method": "GET", "url": "/users" }])).await;
    assert_eq!(reply.status, StatusCode::OK, "the batch succeeds");
    assert_eq!(item(&reply, "1")["status"], 429, "the item is throttled");
    assert!(item(&reply, "1")["headers"]["Retry-After"].is_string());
}

#[tokio::test]
async fn stats_count_attempted_writes_and_the_batch_envelope_sums_its_items() {
    let h = seeded(contoso()).await;
    let reply = batch(
        &h,
        json!([
            { "id": "1", "method": "GET", "url": "/users" },
            { "id": "2", "method": "PATCH", "url": format!("/users/{USER_ID}"),
              "headers": { "Content-Type": "application/json" },
              "body": { "customSecurityAttributes": { "Engineering": {
                  "@odata.type": REQUEST_SET_TYPE, "ProjectDate": "d" } } } },
            { "id": "3", "method": "POST", "url": "/directory/attributeSets",
              "headers": { "Content-Type": "application/json" }, "body": { "id": "Bad Name" } }
        ]),
    )
    .await;
    assert_eq!(reply.header("x-ms-resource-unit"), Some("4"), "2 + 1 + 1");
    assert_eq!(item(&reply, "3")["status"], 400);
    let stats = h.emulator.stats();
    assert_eq!(stats.writes, 2, "refused writes count as attempted writes; the envelope does not");
    assert_eq!(stats.requests, 4, "three items and the envelope");
    assert_eq!(stats.by_path["/v1.0/$batch"], 1);
    assert_eq!(stats.resource_units, 4);
}

#[tokio::test]
async fn principals_filter_with_in_and_reset_replays_the_same_faults() {
    let h = seeded(contoso()).await;
    let reply = h.get(&format!("users?$filter=id in ('{USER_ID}', '{SECOND_USER_ID}')&$select=id")).await;
    assert_eq!(ids(&reply), [USER_ID, SECOND_USER_ID]);

    let faulty = harness(EmulatorConfig { fault_rate: 0.6, seed: 9, ..Default::default() }).await;
    let statuses = |h: &Harness| {
        let client = h.client.clone();
        let url = h.url("directory/attributeSets");
        async move {
            let mut seen = Vec::new();
            for _ in 0..15 {
                seen.push(
                    client.get(&url).bearer_auth("t").send().await.map(|r| r.status().as_u16()).unwrap_or(0),
                );
            }
            seen
        }
    };
    let first = statuses(&faulty).await;
    faulty.client.post(format!("{}/_emulator/reset", faulty.emulator.base_url())).send().await.unwrap();
    assert_eq!(statuses(&faulty).await, first);
}
