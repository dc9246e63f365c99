//! The documented examples of `graph-examples/`, inline: each `doc_…` test
//! sends the documented request to a store seeded to match and checks the
//! documented status and shape (attribute sets, definitions, allowed values,
//! assignments, filters, paging).

use entra_csa::emulator::EmulatorConfig;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::support::*;

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

/// The documented request sends `"isActive":"true"`, a doc mistake: a
/// Boolean sent as a string is a wrong type (the emulator's documented
/// choice of Graph's OData error); the same request with a boolean works.
#[tokio::test]
async fn doc_create_allowedvalue_refuses_the_documented_string_boolean() {
    let h = seeded(contoso()).await;
    let path = "directory/customSecurityAttributeDefinitions/Engineering_Project/allowedValues";
    let reply = h.post(path, r#"{ "id":"Denali", "isActive":"true" }"#).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(reply.error_code(), "BadRequest");
    assert_eq!(
        reply.error_message(),
        "Cannot convert the literal 'true' to the expected type 'Edm.Boolean'."
    );
    let reply = h.post(path, r#"{ "id":"Denali", "isActive":true }"#).await;
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
    // deactivate-allowedvalue.http sends the string "false": a wrong type.
    let reply = h.patch(&format!("{base}/Alpine"), r#"{ "isActive": "false" }"#).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(h.get(&format!("{base}/Alpine")).await.body["isActive"], true, "unchanged");
    let reply = h.patch(&format!("{base}/Alpine"), r#"{ "isActive": false }"#).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(h.get(&format!("{base}/Alpine")).await.body["isActive"], false);
}

// ── conformance: assignments ──

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
async fn doc_paging_needs_consistency_level_again_on_every_page() {
    // C-PAGE: headers such as ConsistencyLevel are not carried by the nextLink.
    let mut tenant = contoso_with_assignments();
    tenant.users.push(tenant.users[0].clone());
    tenant.users[2].id = "0b0b0b0b-0000-4000-8000-000000000002".into();
    let h = harness(EmulatorConfig { seed_state: tenant, page_size: 1, ..Default::default() }).await;
    let eventual = [("ConsistencyLevel", "eventual")];
    let first = h
        .get_with(
            "users?$count=true&$select=id&$filter=customSecurityAttributes/Marketing/AppCountry eq 'Canada'",
            &eventual,
        )
        .await;
    assert_eq!(first.body["@odata.count"], 2);
    let link = first.body["@odata.nextLink"].as_str().unwrap().to_owned();
    assert_eq!(h.get(&link).await.error_code(), "Request_UnsupportedQuery");
    assert_eq!(h.get_with(&link, &eventual).await.status, StatusCode::OK);
}

#[tokio::test]
async fn emulators_own_top_above_999_is_refused() {
    let h = seeded(contoso()).await;
    let reply = h.get("users?$top=1000").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(h.get("users?$top=999").await.status, StatusCode::OK);
}

#[tokio::test]
async fn principals_are_found_by_upn_app_id_filter_and_id_in() {
    let h = seeded(contoso()).await;
    let reply = h.get("users/jana@contoso.com?$select=id").await;
    assert_eq!(reply.body["id"], USER_ID);
    let reply = h.get(&format!("servicePrincipals?$filter=appId eq '{APP_ID}'&$select=id,appId")).await;
    assert_eq!(ids(&reply), [SERVICE_PRINCIPAL_ID]);
    let reply = h.get(&format!("users?$filter=id in ('{USER_ID}', '{SECOND_USER_ID}')&$select=id")).await;
    assert_eq!(ids(&reply), [USER_ID, SECOND_USER_ID]);
    let reply = h.get("users/nobody@contoso.com").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.error_code(), "Request_ResourceNotFound");
}

/// A 201's `Location` is a URL: an allowed value's id (spaces, `#`, `%`, a
/// quote) is percent-encoded inside its OData literal.
#[tokio::test]
async fn a_created_location_is_percent_encoded() {
    let h = seeded(contoso()).await;
    let path = "directory/customSecurityAttributeDefinitions/Engineering_Project/allowedValues";
    let reply = h.post(path, r#"{ "id": "Q3 #1 100% O'Neil", "isActive": true }"#).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let location = reply.header("Location").unwrap();
    assert_eq!(
        location,
        format!(
            "{}/v1.0/directory/customSecurityAttributeDefinitions('Engineering_Project')/allowedValues('Q3%20%231%20100%25%20O''Neil')",
            h.emulator.base_url()
        )
    );
    assert!(reqwest::Url::parse(location).is_ok());
}

/// OData's canonical key form, `customSecurityAttributeDefinitions('id')`,
/// addresses the same entity as the key as a segment, for sets,
/// definitions and allowed values; a key that is not a quoted literal is a 400.
#[tokio::test]
async fn keys_in_parentheses_address_the_same_entities_as_key_segments() {
    let h = seeded(contoso()).await;
    for (segment_form, parenthesised) in [
        ("directory/attributeSets/Engineering", "directory/attributeSets('Engineering')"),
        (
            "directory/customSecurityAttributeDefinitions/Engineering_Project",
            "directory/customSecurityAttributeDefinitions('Engineering_Project')",
        ),
        (
            "directory/customSecurityAttributeDefinitions/Engineering_Project/allowedValues",
            "directory/customSecurityAttributeDefinitions('Engineering_Project')/allowedValues",
        ),
        (
            "directory/customSecurityAttributeDefinitions/Engineering_Project/allowedValues/Alpine",
            "directory/customSecurityAttributeDefinitions('Engineering_Project')/allowedValues('Alpine')",
        ),
    ] {
        let (by_segment, by_key) = (h.get(segment_form).await, h.get(parenthesised).await);
        assert_eq!(by_key.status, StatusCode::OK, "{parenthesised}: {}", by_key.text);
        assert_eq!(by_key.body, by_segment.body, "{parenthesised}");
    }
    let reply = h.patch("directory/attributeSets('Engineering')", r#"{ "description": "by key" }"#).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
    assert_eq!(h.get("directory/attributeSets/Engineering").await.body["description"], "by key");
    let reply = h.get("directory/attributeSets(Engineering)").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    h.emulator.shutdown().await;
}
