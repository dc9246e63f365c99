//! Property tests of `export` over random tenants that hold unusual values:
//! values whose JSON type or shape disagrees with their definition (`"8"`
//! for an Integer, `"true"` for a Boolean, a list for a single value) and
//! values of attributes whose definition the read did not return. Read
//! through the state-file tenant (the reader every command uses), exported
//! with assignments, the files always load, and a plan of them against the
//! same tenant is empty or refuses clearly: it never changes or removes one
//! of those values.

use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use entra_csa::desired::export::{ExportOptions, export_single};
use entra_csa::desired::load::load_texts;
use entra_csa::model::live::UNREAD_DEFINITION;
use entra_csa::plan::{self, Address, Target};
use entra_csa::tenant::state_file::StateFileTenant;

const SETS: [&str; 2] = ["Eng", "Ops"];
const NAMES: [&str; 4] = ["Cost", "Flag", "Tags", "Level"];
const TYPES: [&str; 3] = ["String", "Integer", "Boolean"];

/// A random value for an attribute of `data_type`, right or (with `wrong`) of another JSON type or shape.
fn value(
    rng: &mut StdRng,
    data_type: &str,
    is_collection: bool,
    wrong: bool,
) -> (Value, Option<&'static str>) {
    if wrong {
        return [
            (json!("8"), None),
            (json!("true"), None),
            (json!(true), None),
            (json!(7), None),
            (json!(["a", "b"]), Some("#Collection(String)")),
            (json!([1, 2]), Some("#Collection(Int32)")),
            (json!("solo"), None),
        ]
        .choose(rng)
        .unwrap()
        .clone();
    }
    match (data_type, is_collection) {
        ("Boolean", _) => (json!(rng.random_bool(0.5)), None),
        ("Integer", false) => (json!(rng.random_range(1..9)), None),
        ("Integer", true) => (json!([rng.random_range(1..5), 9]), Some("#Collection(Int32)")),
        (_, false) => (json!(["Alpine", "Baker"].choose(rng).unwrap()), None),
        (_, true) => (json!(["Alpine", "Baker"]), Some("#Collection(String)")),
    }
}

/// A state document: two sets, random definitions (some Deprecated), and
/// users holding right values, wrong ones, and values of attributes no
/// definition is listed for.
fn random_tenant(seed: u64) -> Value {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut definitions = Vec::new();
    let mut shapes = Vec::new();
    for set in SETS {
        for name in NAMES {
            if !rng.random_bool(0.6) {
                continue;
            }
            let data_type = *TYPES.choose(&mut rng).unwrap();
            let is_collection = data_type != "Boolean" && rng.random_bool(0.4);
            let status = if rng.random_bool(0.85) { "Available" } else { "Deprecated" };
            definitions.push(json!({
                "id": format!("{set}_{name}"), "attributeSet": set, "name": name, "description": null,
                "type": data_type, "isCollection": is_collection, "isSearchable": true, "status": status,
                "usePreDefinedValuesOnly": false, "allowedValues": []
            }));
            shapes.push((set, name, data_type, is_collection));
        }
    }
    let mut users = Vec::new();
    for index in 0..5 {
        let mut sets = serde_json::Map::new();
        for (set, name, data_type, is_collection) in &shapes {
            if !rng.random_bool(0.5) {
                continue;
            }
            let wrong = rng.random_bool(0.3);
            let (held, annotation) = value(&mut rng, data_type, *is_collection, wrong);
            let members = sets
                .entry(set.to_string())
                .or_insert_with(|| json!({ "@odata.type": "#microsoft.graph.customSecurityAttributeValue" }));
            if let Some(annotation) = annotation {
                members[format!("{name}@odata.type")] = json!(annotation);
            }
            members[name.to_string()] = held;
        }
        if rng.random_bool(0.3) {
            // A value of an attribute whose definition was not listed.
            let set = *SETS.choose(&mut rng).unwrap();
            let members = sets
                .entry(set.to_string())
                .or_insert_with(|| json!({ "@odata.type": "#microsoft.graph.customSecurityAttributeValue" }));
            members["Unlisted"] = json!("kept");
        }
        users.push(json!({
            "id": format!("00000000-0000-0000-0000-00000000000{index}"),
            "userPrincipalName": format!("u{index}@x"),
            "customSecurityAttributes": sets,
        }));
    }
    json!({
        "attributeSets": SETS.iter().map(|set| json!({ "id": set, "description": null, "maxAttributesPerSet": null })).collect::<Vec<_>>(),
        "customSecurityAttributeDefinitions": definitions,
        "users": users,
        "servicePrincipals": [],
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn an_export_loads_and_its_plan_is_empty_or_refuses_and_never_touches_an_unusual_value(seed in any::<u64>()) {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("tenant.json");
        std::fs::write(&path, random_tenant(seed).to_string()).unwrap();
        let live = StateFileTenant::new(&path).load().unwrap();
        let options = ExportOptions { assignments: true, ..ExportOptions::default() };
        let text = export_single(&live, &options).unwrap();
        let desired = load_texts(&[("export.yaml".to_owned(), text.clone())]);
        prop_assert!(desired.is_ok(), "the loader refuses its own export:\n{text}\n{:?}", desired.err());
        let desired = desired.unwrap();
        let plan = plan::build(&desired, &live, Target::StateFile { path: "tenant.json".into() });
        prop_assert!(plan.changes.is_empty(), "the plan of the export changes {:?}\n{text}", plan.changes);
        for conflict in &plan.conflicts {
            prop_assert_eq!(conflict.property.as_str(), "value", "{:?}", conflict);
            let Address::Assignment { set, attribute, .. } = &conflict.address else {
                return Err(TestCaseError::fail(format!("{conflict:?}")));
            };
            prop_assert!(
                live.not_understood.iter().any(|item| item.set == *set && item.attribute.as_deref() == Some(attribute)),
                "{:?}", conflict
            );
        }
        // Every unusual value was set aside, and none was read as a value.
        for item in &live.not_understood {
            let principal = &live.principals[item.principal.as_ref().unwrap()];
            let held = principal
                .custom_security_attributes
                .as_ref()
                .and_then(|sets| sets.get(item.set.as_str()))
                .and_then(|values| values.get(item.attribute.as_deref().unwrap()));
            prop_assert!(held.is_none(), "{:?} is still read as a value", item);
            prop_assert!(
                item.what == UNREAD_DEFINITION || item.what.contains("where the attribute is"),
                "{:?}", item
            );
        }
    }
}
