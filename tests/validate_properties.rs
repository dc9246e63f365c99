//! Property: any valid desired state, written as YAML, loads back equal —
//! including values that YAML would read as something else unquoted
//! (`NO`, `123`, `true`, `null`, `a: b`).

use std::collections::BTreeMap;

use entra_csa::desired::load::load_texts;
use entra_csa::model::{
    AllowedValue, AttributeSet, AttributeValue, DataType, Definition, DesiredState, Policy,
    PrincipalAssignments, PrincipalKey, SetValues, Status, UndeclaredAssignments, UndeclaredObjects,
};
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value, json};

/// Text that YAML would misread unless it is quoted.
const TRICKY: &[&str] =
    &["NO", "yes", "123", "true", "null", "a: b", "#hash", "- dash", "~", "0x1F", "1e3", "Ünïcödé"];

fn name(rng: &mut StdRng, taken: &mut Vec<String>) -> String {
    loop {
        let length = rng.random_range(1..=12);
        let mut text: String = (0..length)
            .map(|i| {
                let pool: &[u8] = if i == 0 {
                    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij"
                } else {
                    b"abcdefghijklmnopqrstuvwxyz0123456789Z"
                };
                pool[rng.random_range(0..pool.len())] as char
            })
            .collect();
        if rng.random_bool(0.1) {
            text.push('é');
        }
        if !taken.iter().any(|other| other.eq_ignore_ascii_case(&text)) {
            taken.push(text.clone());
            return text;
        }
    }
}

fn text_value(rng: &mut StdRng) -> String {
    if rng.random_bool(0.3) {
        TRICKY[rng.random_range(0..TRICKY.len())].to_owned()
    } else {
        let length = rng.random_range(1..=20);
        (0..length)
            .map(|_| b"abcdefghijklm nopqrstuvwxyz-_.:ABC"[rng.random_range(0..34)] as char)
            .collect::<String>()
            .trim()
            .to_owned()
            + "v"
    }
}

fn desired_state(seed: u64) -> DesiredState {
    let rng = &mut StdRng::seed_from_u64(seed);
    let mut desired = DesiredState {
        policy: Policy {
            undeclared_definitions: if rng.random_bool(0.5) {
                UndeclaredObjects::Report
            } else {
                UndeclaredObjects::Deactivate
            },
            undeclared_values: if rng.random_bool(0.5) {
                UndeclaredObjects::Report
            } else {
                UndeclaredObjects::Deactivate
            },
            undeclared_assignments: [
                UndeclaredAssignments::Ignore,
                UndeclaredAssignments::Report,
                UndeclaredAssignments::Remove,
            ][rng.random_range(0..3)],
        },
        ..DesiredState::default()
    };
    let mut set_names = Vec::new();
    for _ in 0..rng.random_range(0..4) {
        let set_id = name(rng, &mut set_names);
        let mut attribute_names = Vec::new();
        let mut attributes = BTreeMap::new();
        for _ in 0..rng.random_range(0..5) {
            let attribute = name(rng, &mut attribute_names);
            let data_type = [DataType::String, DataType::Integer, DataType::Boolean][rng.random_range(0..3)];
            let boolean = data_type == DataType::Boolean;
            let mut allowed_values: Vec<AllowedValue> = Vec::new();
            if !boolean {
                for _ in 0..rng.random_range(0..6) {
                    let id = match data_type {
                        DataType::Integer => rng.random_range(-5000..5000).to_string(),
                        _ => text_value(rng),
                    };
                    if allowed_values.iter().all(|value| value.id != id) {
                        allowed_values.push(AllowedValue { id, is_active: rng.random_bool(0.8) });
                    }
                }
            }
            allowed_values.sort_by(|a, b| a.id.cmp(&b.id));
            attributes.insert(
                attribute.clone(),
                Definition {
                    attribute_set: set_id.clone(),
                    name: attribute,
                    description: rng.random_bool(0.5).then(|| text_value(rng)),
                    data_type,
                    is_collection: !boolean && rng.random_bool(0.5),
                    is_searchable: rng.random_bool(0.7),
                    use_pre_defined_values_only: !boolean
                        && !allowed_values.is_empty()
                        && rng.random_bool(0.5),
                    status: if rng.random_bool(0.15) { Status::Deprecated } else { Status::Available },
                    allowed_values,
                },
            );
        }
        desired.attribute_sets.insert(
            set_id.clone(),
            AttributeSet {
                id: set_id,
                description: rng.random_bool(0.5).then(|| text_value(rng)),
                max_attributes_per_set: rng.random_bool(0.3).then(|| rng.random_range(1..=500)),
                attributes,
            },
        );
    }
    let sets: Vec<AttributeSet> = desired.attribute_sets.values().cloned().collect();
    for index in 0..rng.random_range(0..5) {
        let principal = match rng.random_range(0..4) {
            0 => PrincipalKey::User(format!("user{index}@contoso.com")),
            1 => PrincipalKey::User(format!("{index:08x}-0000-4000-8000-00000000000{}", index % 10)),
            2 => PrincipalKey::ServicePrincipal(format!("{index:08x}-1111-4000-8000-000000000000")),
            _ => PrincipalKey::ServicePrincipal(format!("id:{index:08x}-2222-4000-8000-000000000000")),
        };
        let mut values = PrincipalAssignments::new();
        for set in &sets {
            if !rng.random_bool(0.6) {
                continue;
            }
            let mut assigned = SetValues::new();
            for definition in set.attributes.values().filter(|d| d.status == Status::Available) {
                if !rng.random_bool(0.6) {
                    continue;
                }
                let pick = |rng: &mut StdRng| -> Option<String> {
                    let active: Vec<&AllowedValue> =
                        definition.allowed_values.iter().filter(|v| v.is_active).collect();
                    if definition.use_pre_defined_values_only {
                        (!active.is_empty()).then(|| active[rng.random_range(0..active.len())].id.clone())
                    } else if definition.data_type == DataType::Integer {
                        Some(rng.random_range(i32::MIN..i32::MAX).to_string())
                    } else {
                        Some(text_value(rng))
                    }
                };
                let value = match (definition.data_type, definition.is_collection) {
                    (DataType::Boolean, _) => Some(AttributeValue::Boolean(rng.random_bool(0.5))),
                    (data_type, false) => pick(rng).map(|text| match data_type {
                        DataType::Integer => AttributeValue::Integer(text.parse().unwrap()),
                        _ => AttributeValue::String(text),
                    }),
                    (data_type, true) => {
                        let mut members: Vec<String> = Vec::new();
                        for _ in 0..rng.random_range(1..4) {
                            if let Some(text) = pick(rng)
                                && !members.contains(&text)
                            {
                                members.push(text);
                            }
                        }
                        (!members.is_empty()).then(|| match data_type {
                            DataType::Integer => {
                                AttributeValue::integers(members.iter().map(|m| m.parse().unwrap()).collect())
                            }
                            _ => AttributeValue::strings(members),
                        })
                    }
                };
                if let Some(value) = value {
                    assigned.insert(definition.name.clone(), value);
                }
            }
            values.insert(set.id.clone(), assigned);
        }
        desired.assignments.insert(principal, values);
    }
    desired
}

/// The desired state in the file format (format version 1).
fn as_document(desired: &DesiredState, rng: &mut StdRng) -> Value {
    let name = |policy: UndeclaredObjects| match policy {
        UndeclaredObjects::Report => "report",
        UndeclaredObjects::Deactivate => "deactivate",
    };
    let mut sets = Map::new();
    for set in desired.attribute_sets.values() {
        let mut attributes = Map::new();
        for definition in set.attributes.values() {
            let mut attribute = Map::new();
            if let Some(description) = &definition.description {
                attribute.insert("description".into(), json!(description));
            }
            attribute.insert("type".into(), json!(definition.data_type.as_str()));
            attribute.insert("isCollection".into(), json!(definition.is_collection));
            if !definition.is_searchable || rng.random_bool(0.5) {
                attribute.insert("isSearchable".into(), json!(definition.is_searchable));
            }
            if definition.use_pre_defined_values_only || rng.random_bool(0.5) {
                attribute
                    .insert("usePreDefinedValuesOnly".into(), json!(definition.use_pre_defined_values_only));
            }
            if definition.status == Status::Deprecated || rng.random_bool(0.3) {
                attribute.insert("status".into(), json!(definition.status.as_str()));
            }
            if !definition.allowed_values.is_empty() {
                let values: Vec<Value> = definition
                    .allowed_values
                    .iter()
                    .map(|value| {
                        let written = match definition.data_type {
                            DataType::Integer => json!(value.id.parse::<i64>().unwrap()),
                            _ => json!(value.id),
                        };
                        if value.is_active && rng.random_bool(0.7) {
                            written
                        } else {
                            json!({ "value": written, "active": value.is_active })
                        }
                    })
                    .collect();
                attribute.insert("allowedValues".into(), Value::Array(values));
            }
            attributes.insert(definition.name.clone(), Value::Object(attribute));
        }
        let mut written = Map::new();
        if let Some(description) = &set.description {
            written.insert("description".into(), json!(description));
        }
        if let Some(max) = set.max_attributes_per_set {
            written.insert("maxAttributesPerSet".into(), json!(max));
        }
        written.insert("attributes".into(), Value::Object(attributes));
        sets.insert(set.id.clone(), Value::Object(written));
    }
    let mut users = Map::new();
    let mut service_principals = Map::new();
    for (principal, values) in &desired.assignments {
        let sets: Map<String, Value> = values
            .iter()
            .map(|(set, attributes)| {
                let attributes: Map<String, Value> = attributes
                    .iter()
                    .map(|(attribute, value)| (attribute.clone(), serde_json::to_value(value).unwrap()))
                    .collect();
                (set.clone(), Value::Object(attributes))
            })
            .collect();
        match principal {
            PrincipalKey::User(key) => users.insert(key.clone(), Value::Object(sets)),
            PrincipalKey::ServicePrincipal(key) => {
                service_principals.insert(key.clone(), Value::Object(sets))
            }
        };
    }
    json!({
        "version": 1,
        "policy": {
            "undeclaredDefinitions": name(desired.policy.undeclared_definitions),
            "undeclaredValues": name(desired.policy.undeclared_values),
            "undeclaredAssignments": match desired.policy.undeclared_assignments {
                UndeclaredAssignments::Ignore => "ignore",
                UndeclaredAssignments::Report => "report",
                UndeclaredAssignments::Remove => "remove",
            },
        },
        "attributeSets": sets,
        "assignments": { "users": users, "servicePrincipals": service_principals },
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn a_valid_desired_state_written_as_yaml_loads_back_equal(seed in any::<u64>()) {
        let desired = desired_state(seed);
        let document = as_document(&desired, &mut StdRng::seed_from_u64(seed ^ 0x5eed));
        let yaml = serde_saphyr::to_string(&document).unwrap();
        let loaded = load_texts(&[("generated.yaml".to_owned(), yaml.clone())])
            .map_err(|diagnostics| TestCaseError::fail(format!("{diagnostics}\n---\n{yaml}")))?;
        prop_assert_eq!(loaded, desired, "{}", yaml);
    }
}
