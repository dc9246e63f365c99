//! The client against Microsoft's documented examples
//! (tests/fixtures/graph-examples/), both ways: each example's write is
//! applied through the client against the emulator and the body the emulator
//! received is compared with the documented one; each documented answer is
//! read with the client's decoder. With `tests/emulator/replay.rs` (the
//! emulator against the same examples) this is the only bridge between the
//! client and the emulator, which share no JSON code.

use entra_csa::emulator::EmulatorConfig;
use entra_csa::graph::wire::{
    TenantDocument, WireAllowedValue, WireAttributeSet, WireDefinition, WirePrincipal,
};
use entra_csa::model::live::PrincipalId;
use entra_csa::model::{AttributeValue, DataType, PrincipalKey, PrincipalKind, Status};
use entra_csa::plan::{Action, Address, Change, Snapshot};
use entra_csa::tenant::Tenant;
use serde_json::{Value, json};

use crate::graph_support::*;

fn definition(name: &str, data_type: DataType, is_collection: bool) -> WireDefinition {
    WireDefinition {
        id: Some(format!("Engineering_{name}")),
        attribute_set: "Engineering".into(),
        name: name.into(),
        description: None,
        data_type: data_type.into(),
        is_collection,
        is_searchable: Some(true),
        status: Status::Available.into(),
        use_pre_defined_values_only: Some(false),
        allowed_values: Some(Vec::new()),
    }
}

fn holding() -> Option<serde_json::Map<String, Value>> {
    let value = json!({ "Engineering": {
        "@odata.type": "#microsoft.graph.customSecurityAttributeValue",
        "ProjectDate": "2022-01-01",
        "Project@odata.type": "#Collection(String)", "Project": ["Baker"] } });
    value.as_object().cloned()
}

fn seed() -> TenantDocument {
    TenantDocument {
        attribute_sets: vec![WireAttributeSet {
            id: "Engineering".into(),
            description: None,
            max_attributes_per_set: None,
        }],
        custom_security_attribute_definitions: vec![
            definition("ProjectDate", DataType::String, false),
            definition("Project", DataType::String, true),
            definition("CostCenter", DataType::Integer, true),
            definition("NumVendors", DataType::Integer, false),
            definition("Certification", DataType::Boolean, false),
        ],
        users: vec![WirePrincipal {
            odata_type: None,
            id: "u1".into(),
            user_principal_name: Some("alice@contoso.com".into()),
            app_id: None,
            display_name: None,
            custom_security_attributes: holding(),
        }],
        service_principals: vec![WirePrincipal {
            odata_type: None,
            id: "s1".into(),
            user_principal_name: None,
            app_id: Some("11111111-1111-1111-1111-111111111111".into()),
            display_name: None,
            custom_security_attributes: holding(),
        }],
        ..TenantDocument::default()
    }
}

/// The documented request of an example: its URL and JSON body.
fn documented(file: &str) -> (String, Value) {
    let text = std::fs::read_to_string(repo("tests/fixtures/graph-examples").join(file)).unwrap();
    let request = text.split("### REQUEST").nth(1).unwrap().split("### RESPONSE").next().unwrap();
    let url = request.lines().find(|line| line.starts_with("PATCH ")).unwrap().to_owned();
    let start = request.find("\n{").unwrap() + 1;
    let body = &request[start..=request.rfind('}').unwrap()];
    (url, serde_json::from_str(body).unwrap())
}

/// The plan change that makes the documented edit.
fn change_for(url: &str, body: &Value) -> Change {
    let (kind, object_id, key) = if url.contains("/servicePrincipals/") {
        (PrincipalKind::ServicePrincipal, "s1", PrincipalKey::ServicePrincipal("id:s1".into()))
    } else {
        (PrincipalKind::User, "u1", PrincipalKey::User("alice@contoso.com".into()))
    };
    let principal = PrincipalId { kind, object_id: object_id.into() };
    let set = body["customSecurityAttributes"]["Engineering"].as_object().unwrap();
    let (attribute, value) = set.iter().find(|(name, _)| !name.contains('@')).unwrap();
    let address =
        Address::Assignment { principal: key, set: "Engineering".into(), attribute: attribute.clone() };
    let snapshot = |value: AttributeValue| Some(Snapshot::Assignment { principal: principal.clone(), value });
    let (action, before, after) = match value {
        Value::Null => (Action::Unassign, snapshot(AttributeValue::String("2022-01-01".into())), None),
        Value::Array(items) if items.is_empty() => {
            (Action::Unassign, snapshot(AttributeValue::strings(vec!["Baker".into()])), None)
        }
        Value::String(text) => (Action::Assign, None, snapshot(AttributeValue::String(text.clone()))),
        Value::Bool(flag) => (Action::Assign, None, snapshot(AttributeValue::Boolean(*flag))),
        Value::Number(number) => {
            (Action::Assign, None, snapshot(AttributeValue::Integer(number.as_i64().unwrap() as i32)))
        }
        Value::Array(items) if items[0].is_string() => (
            Action::Assign,
            None,
            snapshot(AttributeValue::strings(items.iter().map(|i| i.as_str().unwrap().to_owned()).collect())),
        ),
        Value::Array(items) => (
            Action::Assign,
            None,
            snapshot(AttributeValue::integers(items.iter().map(|i| i.as_i64().unwrap() as i32).collect())),
        ),
        Value::Object(_) => panic!("not an assignment example"),
    };
    Change { seq: 1, action, address, before, after }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assignment_patches_equal_the_documented_examples() {
    let files = [
        "assign-user-string.http",
        "assign-serviceprincipal-string.http",
        "assign-user-multistring.http",
        "assign-user-integer.http",
        "assign-user-multiinteger.http",
        "assign-user-boolean.http",
        "update-user-integer.http",
        "update-user-boolean.http",
        "remove-user-singlevalue.http",
        "remove-user-multivalue.http",
    ];
    for file in files {
        let emulator = emulator(EmulatorConfig { seed_state: seed_of(&seed()), ..Default::default() }).await;
        let (url, body) = documented(file);
        let change = change_for(&url, &body);
        let report = tenant(&emulator).apply(std::slice::from_ref(&change)).await;
        assert!(report.succeeded(), "{file}: {report:#?}");
        let sent: Vec<Value> = emulator
            .requests()
            .into_iter()
            .filter(|request| request.path == "/v1.0/$batch" && request.batch_item.is_none())
            .filter_map(|request| request.body)
            .flat_map(|envelope| envelope["requests"].as_array().cloned().unwrap_or_default())
            .collect();
        assert_eq!(sent.len(), 1, "{file}");
        assert_eq!(sent[0]["method"], "PATCH", "{file}");
        let path = url
            .split("/v1.0")
            .nth(1)
            .unwrap()
            .replace("{id}", if url.contains("servicePrincipals") { "s1" } else { "u1" });
        assert_eq!(sent[0]["url"], path, "{file}");
        assert_eq!(sent[0]["body"], body, "{file}: the body differs from the documented one");
        emulator.shutdown().await;
    }
}

/// The documented request of an example: method, path under /v1.0, body.
fn documented_request(file: &str) -> (String, String, Value) {
    let text = std::fs::read_to_string(repo("tests/fixtures/graph-examples").join(file)).unwrap();
    let request = text.split("### REQUEST").nth(1).unwrap().split("### RESPONSE").next().unwrap();
    let line = request.lines().find(|line| line.starts_with("POST ") || line.starts_with("PATCH ")).unwrap();
    let (method, url) = line.split_once(' ').unwrap();
    let path = url.split("/v1.0").nth(1).unwrap().to_owned();
    let start = request.find("\n{").unwrap() + 1;
    let text = &request[start..=request.rfind('}').unwrap()];
    // update-definition.http keeps the docs' trailing comma (a flagged doc
    // mistake); the body meant is the one without it.
    let strict = match text.trim_end_matches('}').trim_end().strip_suffix(',') {
        Some(open) => format!("{open}}}"),
        None => text.to_owned(),
    };
    let body = serde_json::from_str(&strict).unwrap();
    (method.to_owned(), path, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_and_definition_writes_equal_the_documented_examples() {
    use entra_csa::plan::DefinitionSnapshot;
    let set = || Address::AttributeSet { set: "Engineering".into() };
    let engineering_only =
        || TenantDocument { attribute_sets: seed().attribute_sets, ..TenantDocument::default() };
    let definition_snapshot = |description: &str, is_collection: bool, predefined: bool, values: &[&str]| {
        Snapshot::Definition(DefinitionSnapshot {
            description: Some(description.into()),
            data_type: DataType::String,
            is_collection,
            is_searchable: true,
            use_pre_defined_values_only: predefined,
            status: Status::Available,
            allowed_values: values.iter().map(|value| ((*value).to_owned(), true)).collect(),
        })
    };
    let cases: Vec<(&str, TenantDocument, Change)> = vec![
        (
            "create-attributeset.http",
            TenantDocument::default(),
            Change {
                seq: 1,
                action: Action::Create,
                address: set(),
                before: None,
                after: Some(Snapshot::AttributeSet {
                    description: Some("Attributes for engineering team".into()),
                    max_attributes_per_set: Some(25),
                }),
            },
        ),
        (
            "update-attributeset.http",
            engineering_only(),
            Change {
                seq: 1,
                action: Action::Update,
                address: set(),
                before: Some(Snapshot::AttributeSet { description: None, max_attributes_per_set: None }),
                after: Some(Snapshot::AttributeSet {
                    description: Some("Attributes for engineering team".into()),
                    max_attributes_per_set: Some(20),
                }),
            },
        ),
        (
            "create-definition.http",
            engineering_only(),
            Change {
                seq: 1,
                action: Action::Create,
                address: Address::Definition { set: "Engineering".into(), attribute: "ProjectDate".into() },
                before: None,
                after: Some(definition_snapshot("Target completion date", false, false, &[])),
            },
        ),
        (
            "create-definition-with-allowedvalues.http",
            engineering_only(),
            Change {
                seq: 1,
                action: Action::Create,
                address: Address::Definition { set: "Engineering".into(), attribute: "Project".into() },
                before: None,
                after: Some(definition_snapshot(
                    "Active projects for user",
                    true,
                    true,
                    &["Alpine", "Baker", "Cascade"],
                )),
            },
        ),
        (
            "deactivate-definition.http",
            seed(),
            Change {
                seq: 1,
                action: Action::Deactivate,
                address: Address::Definition { set: "Engineering".into(), attribute: "Project".into() },
                before: None,
                after: None,
            },
        ),
        (
            "update-definition.http",
            seed(),
            Change {
                seq: 1,
                action: Action::Update,
                address: Address::Definition { set: "Engineering".into(), attribute: "ProjectDate".into() },
                before: Some(definition_snapshot("Target completion date", false, false, &[])),
                after: Some(definition_snapshot("Target completion date (YYYY/MM/DD)", false, false, &[])),
            },
        ),
        (
            "create-allowedvalue.http",
            seed(),
            Change {
                seq: 1,
                action: Action::Create,
                address: Address::AllowedValue {
                    set: "Engineering".into(),
                    attribute: "Project".into(),
                    value: "Alpine".into(),
                },
                before: None,
                after: Some(Snapshot::AllowedValue { is_active: true }),
            },
        ),
        (
            "deactivate-allowedvalue.http",
            {
                let mut seed = seed();
                let project =
                    seed.custom_security_attribute_definitions.iter_mut().find(|d| d.name == "Project");
                project.unwrap().allowed_values =
                    Some(vec![WireAllowedValue { id: "Alpine".into(), is_active: true }]);
                seed
            },
            Change {
                seq: 1,
                action: Action::Deactivate,
                address: Address::AllowedValue {
                    set: "Engineering".into(),
                    attribute: "Project".into(),
                    value: "Alpine".into(),
                },
                before: None,
                after: None,
            },
        ),
    ];
    for (file, seed_state, change) in cases {
        let emulator =
            emulator(EmulatorConfig { seed_state: seed_of(&seed_state), ..Default::default() }).await;
        let report = tenant(&emulator).apply(std::slice::from_ref(&change)).await;
        assert!(report.succeeded(), "{file}: {report:#?}");
        let sent: Vec<Value> = emulator
            .requests()
            .into_iter()
            .filter(|request| request.path == "/v1.0/$batch" && request.batch_item.is_none())
            .filter_map(|request| request.body)
            .flat_map(|envelope| envelope["requests"].as_array().cloned().unwrap_or_default())
            .collect();
        let (method, path, mut body) = documented_request(file);
        // The allowed-value examples send `"isActive":"true"`, a doc mistake
        // the examples flag (the property is Edm.Boolean): meant as a boolean.
        if let Some(Value::String(flag)) = body.get("isActive").cloned() {
            body["isActive"] = json!(flag == "true");
        }
        assert_eq!(sent.len(), 1, "{file}");
        assert_eq!(sent[0]["method"], method, "{file}");
        assert_eq!(sent[0]["url"], path, "{file}");
        assert_eq!(sent[0]["body"], body, "{file}: the body differs from the documented one");
        emulator.shutdown().await;
    }
}

/// The other direction: every documented answer the client reads (sets,
/// definitions with their values, principals' values, `null` ones
/// included) decodes with the client's own code into the model.
#[test]
fn the_client_reads_every_documented_answer() {
    let answer = |file: &str| -> Value {
        let text = std::fs::read_to_string(repo("tests/fixtures/graph-examples").join(file)).unwrap();
        let response = text.split("### RESPONSE").nth(1).unwrap();
        let start = response.find('{').unwrap_or_else(|| panic!("{file}: no body"));
        serde_json::Deserializer::from_str(&response[start..]).into_iter::<Value>().next().unwrap().unwrap()
    };
    let entities = |body: Value| match body.get("value") {
        Some(Value::Array(items)) => items.clone(),
        _ => vec![body],
    };
    for file in ["list-attributesets.http", "list-attributesets-top.http", "get-attributeset.http"] {
        for entity in entities(answer(file)) {
            let set: WireAttributeSet =
                serde_json::from_value(entity).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert!(!set.id.is_empty(), "{file}");
        }
    }
    for file in ["list-definitions.http", "get-definition.http"] {
        for entity in entities(answer(file)) {
            let definition: WireDefinition =
                serde_json::from_value(entity).unwrap_or_else(|e| panic!("{file}: {e}"));
            definition.to_definition().unwrap_or_else(|e| panic!("{file}: not understood: {e:?}"));
        }
    }
    for file in ["list-allowedvalues.http", "get-allowedvalue.http"] {
        for entity in entities(answer(file)) {
            serde_json::from_value::<WireAllowedValue>(entity).unwrap_or_else(|e| panic!("{file}: {e}"));
        }
    }
    for (file, kind, assigned) in [
        ("get-user-customsecurityattributes.http", PrincipalKind::User, true),
        ("entra-get-user-customsecurityattributes.http", PrincipalKind::User, true),
        ("get-serviceprincipal-customsecurityattributes.http", PrincipalKind::ServicePrincipal, true),
        ("get-user-customsecurityattributes-none.http", PrincipalKind::User, false),
        ("get-serviceprincipal-customsecurityattributes-none.http", PrincipalKind::ServicePrincipal, false),
    ] {
        let mut body = answer(file);
        // The documented GETs `$select` only customSecurityAttributes; the id is not shown.
        body["id"] = json!("documented");
        let principal: WirePrincipal = serde_json::from_value(body).unwrap_or_else(|e| panic!("{file}: {e}"));
        let (live, not_understood) = principal.into_live(kind, || file.to_owned()).unwrap();
        assert!(not_understood.is_empty(), "{file}: {not_understood:?}");
        assert_eq!(live.custom_security_attributes.is_some_and(|sets| !sets.is_empty()), assigned, "{file}");
    }
}
