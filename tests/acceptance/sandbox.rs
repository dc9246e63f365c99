//! The sandbox: one attribute set holding a fixed pool of definitions and
//! values that every run reuses, because nothing in a tenant can be deleted
//! (500 sets, 500 active definitions, 100 values per definition, forever).
//! A run only reactivates, deactivates, describes and assigns within the
//! pool, so run 1 and run 1,000 leave the tenant the same size.
//!
//! This file is pure: the pool, the scenes the tests move the sandbox
//! through (written as desired-state YAML, as a user writes them), and the
//! guard that refuses to touch a sandbox holding anything else.

use std::collections::{BTreeMap, BTreeSet};

use entra_csa::model::live::{LivePrincipal, LiveState};
use entra_csa::model::{AttributeValue, DataType, Status};
use serde_json::{Value, json};

/// One definition of the pool.
#[derive(Debug, Clone, Copy)]
pub struct Pooled {
    pub name: &'static str,
    pub data_type: DataType,
    pub is_collection: bool,
    pub predefined_only: bool,
    pub values: &'static [&'static str],
}

const fn pooled(
    name: &'static str,
    data_type: DataType,
    is_collection: bool,
    predefined_only: bool,
    values: &'static [&'static str],
) -> Pooled {
    Pooled { name, data_type, is_collection, predefined_only, values }
}

const ABC: &[&str] = &["Alpha", "Bravo", "Charlie"];

/// Every type, single and collection, predefined-only and free, with and
/// without allowed values; `Retired` is the one whose status a run toggles.
/// Integer definitions carry no allowed values and nothing is ever switched
/// from predefined-only to free: neither can be undone, so neither may run
/// more than once against a tenant.
pub const POOL: [Pooled; 9] = [
    pooled("Text", DataType::String, false, false, &[]),
    pooled("TextList", DataType::String, true, false, &[]),
    pooled("Choice", DataType::String, false, true, ABC),
    pooled("ChoiceList", DataType::String, true, true, ABC),
    pooled("Suggested", DataType::String, false, false, &["Alpha", "Bravo"]),
    pooled("Number", DataType::Integer, false, false, &[]),
    pooled("NumberList", DataType::Integer, true, false, &[]),
    pooled("Flag", DataType::Boolean, false, false, &[]),
    pooled("Retired", DataType::String, false, false, &[]),
];

/// The pool's size: (sets, definitions, allowed values).
pub fn pool_size() -> (usize, usize, usize) {
    (1, POOL.len(), POOL.iter().map(|definition| definition.values.len()).sum())
}

pub fn pooled_named(name: &str) -> Option<&'static Pooled> {
    POOL.iter().find(|definition| definition.name == name)
}

/// What the sandbox holds in `live`: (sets, definitions, allowed values).
pub fn sandbox_size(live: &LiveState, set: &str) -> (usize, usize, usize) {
    let sets = live.attribute_sets.keys().filter(|id| id.eq_ignore_ascii_case(set)).count();
    let definitions: Vec<_> = live
        .definitions
        .values()
        .filter(|definition| definition.attribute_set.eq_ignore_ascii_case(set))
        .collect();
    let values = definitions.iter().map(|definition| definition.allowed_values.len()).sum();
    (sets, definitions.len(), values)
}

/// Values of one principal in the sandbox: attribute name → JSON value.
pub type Values = BTreeMap<String, Value>;

/// A state of the sandbox, as desired-state files declare it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scene {
    /// The set's description is the run's (`true`) or the resting one.
    pub set_described_by_run: bool,
    /// Definitions whose description is the run's.
    pub described_by_run: BTreeSet<&'static str>,
    pub deprecated: BTreeSet<&'static str>,
    /// (definition, value) pairs deactivated.
    pub inactive: BTreeSet<(&'static str, &'static str)>,
    /// The test users' values, in the order of the settings.
    pub users: Vec<Values>,
    pub service_principal: Values,
}

pub const RESTING_SET_DESCRIPTION: &str =
    "entra-csa acceptance sandbox: reused by every run, never edit by hand";

fn description(definition: &Pooled, by_run: bool) -> String {
    let shape = if definition.is_collection { "collection" } else { "single" };
    let kind = if definition.predefined_only { "predefined only" } else { "free" };
    let run = if by_run { "; changed by a run in progress" } else { "" };
    format!("entra-csa acceptance: {:?}, {shape}, {kind}{run}", definition.data_type)
}

impl Scene {
    /// The sandbox at rest, with the principals' values as given.
    pub fn resting(users: Vec<Values>, service_principal: Values) -> Scene {
        Scene { users, service_principal, ..Scene::default() }
    }

    /// The desired-state file of this scene for the set `set`, the users and the service principal.
    pub fn yaml(&self, set: &str, users: &[String], service_principal: &str) -> String {
        let quoted = |text: &str| Value::from(text).to_string();
        let mut yaml = String::from("version: 1\nattributeSets:\n");
        let set_description = if self.set_described_by_run {
            format!("{RESTING_SET_DESCRIPTION} (a run is in progress)")
        } else {
            RESTING_SET_DESCRIPTION.to_owned()
        };
        yaml.push_str(&format!(
            "  {}:\n    description: {}\n    attributes:\n",
            quoted(set),
            quoted(&set_description)
        ));
        for definition in &POOL {
            yaml.push_str(&format!("      {}:\n", definition.name));
            yaml.push_str(&format!(
                "        description: {}\n",
                quoted(&description(definition, self.described_by_run.contains(definition.name)))
            ));
            yaml.push_str(&format!("        type: {:?}\n", definition.data_type));
            yaml.push_str(&format!("        isCollection: {}\n", definition.is_collection));
            yaml.push_str(&format!("        usePreDefinedValuesOnly: {}\n", definition.predefined_only));
            let status = if self.deprecated.contains(definition.name) { "Deprecated" } else { "Available" };
            yaml.push_str(&format!("        status: {status}\n"));
            if !definition.values.is_empty() {
                let values: Vec<String> = definition
                    .values
                    .iter()
                    .map(|value| {
                        let active = !self.inactive.contains(&(definition.name, *value));
                        format!("{{value: {}, active: {active}}}", quoted(value))
                    })
                    .collect();
                yaml.push_str(&format!("        allowedValues: [{}]\n", values.join(", ")));
            }
        }
        let in_set = |values: &Values| {
            format!("{{{}: {}}}", quoted(set), Value::Object(values.clone().into_iter().collect()))
        };
        yaml.push_str("assignments:\n  users:\n");
        for (user, values) in users.iter().zip(&self.users) {
            yaml.push_str(&format!("    {}: {}\n", quoted(user), in_set(values)));
        }
        yaml.push_str(&format!(
            "  servicePrincipals:\n    {}: {}\n",
            quoted(service_principal),
            in_set(&self.service_principal)
        ));
        yaml
    }
}

/// A value as the files write it.
pub fn as_json(value: &AttributeValue) -> Value {
    match value {
        AttributeValue::Boolean(flag) => json!(flag),
        AttributeValue::Integer(number) => json!(number),
        AttributeValue::String(text) => json!(text),
        AttributeValue::Integers(numbers) => json!(numbers),
        AttributeValue::Strings(texts) => json!(texts),
    }
}

/// What `principal` holds in the sandbox set.
pub fn sandbox_values(principal: &LivePrincipal, set: &str) -> Values {
    let Some(sets) = &principal.custom_security_attributes else { return Values::new() };
    sets.iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case(set))
        .flat_map(|(_, values)| values.iter().map(|(name, value)| (name.clone(), as_json(value))))
        .collect()
}

/// Why the suite must not run against this tenant: the sandbox holds a
/// definition or value outside the pool (or a pooled one of another
/// shape), or a test principal holds values outside the sandbox set (it is
/// then not a test principal). Empty when the suite may run.
pub fn refusals(live: &LiveState, set: &str, principals: &[&LivePrincipal]) -> Vec<String> {
    let mut refusals = Vec::new();
    for definition in
        live.definitions.values().filter(|definition| definition.attribute_set.eq_ignore_ascii_case(set))
    {
        let address = format!("{}.{}", definition.attribute_set, definition.name);
        let Some(pooled) = pooled_named(&definition.name) else {
            refusals.push(format!("the sandbox holds `{address}`, which is not in the suite's pool"));
            continue;
        };
        if definition.data_type != pooled.data_type
            || definition.is_collection != pooled.is_collection
            || definition.use_pre_defined_values_only != pooled.predefined_only
        {
            refusals.push(format!(
                "`{address}` is {:?}, collection {}, predefined only {}; the pool has it {:?}, collection {}, predefined only {}",
                definition.data_type,
                definition.is_collection,
                definition.use_pre_defined_values_only,
                pooled.data_type,
                pooled.is_collection,
                pooled.predefined_only
            ));
        }
        for value in &definition.allowed_values {
            if !pooled.values.contains(&value.id.as_str()) {
                refusals.push(format!(
                    "the sandbox holds the value `{address}={}`, which is not in the suite's pool",
                    value.id
                ));
            }
        }
    }
    for principal in principals {
        let name = principal
            .user_principal_name
            .as_deref()
            .or(principal.app_id.as_deref())
            .unwrap_or(&principal.object_id);
        for (held_set, values) in principal.custom_security_attributes.iter().flat_map(|sets| sets.iter()) {
            if !held_set.eq_ignore_ascii_case(set) {
                refusals.push(format!(
                    "the test principal {name} holds values in the set `{held_set}`, outside the sandbox: name a dedicated test principal"
                ));
                continue;
            }
            for (attribute, _) in values.iter() {
                if pooled_named(attribute).is_none() {
                    refusals.push(format!(
                        "the test principal {name} holds `{held_set}.{attribute}`, which is not in the pool"
                    ));
                }
            }
        }
    }
    refusals
}

/// Only `Retired` is ever deprecated, and never holds values.
pub fn is_resting_status(live: &LiveState, set: &str) -> bool {
    live.definitions
        .values()
        .filter(|definition| definition.attribute_set.eq_ignore_ascii_case(set))
        .all(|definition| definition.status == Status::Available)
}

#[cfg(test)]
mod tests {
    use super::*;
    use entra_csa::model::{AllowedValue, Definition, PrincipalKind};

    fn definition(name: &str, data_type: DataType, values: &[&str]) -> Definition {
        Definition {
            attribute_set: "Sandbox".into(),
            name: name.into(),
            description: None,
            data_type,
            is_collection: false,
            is_searchable: true,
            use_pre_defined_values_only: false,
            status: Status::Available,
            allowed_values: values
                .iter()
                .map(|id| AllowedValue { id: (*id).into(), is_active: true })
                .collect(),
        }
    }

    #[test]
    fn the_guard_refuses_anything_outside_the_pool_and_principals_holding_other_sets() {
        let mut live = LiveState::default();
        for (name, data_type, values) in
            [("Text", DataType::String, vec![]), ("Suggested", DataType::String, vec!["Alpha"])]
        {
            let model = definition(name, data_type, &values);
            live.definitions.insert(model.id(), model);
        }
        let mut principal = LivePrincipal {
            kind: PrincipalKind::User,
            object_id: "u1".into(),
            user_principal_name: Some("one@t.example".into()),
            app_id: None,
            display_name: None,
            odata_type: None,
            custom_security_attributes: None,
        };
        principal.custom_security_attributes =
            Some(serde_json::from_value(json!({ "Sandbox": { "Text": "x" } })).unwrap());
        assert_eq!(refusals(&live, "Sandbox", &[&principal]), Vec::<String>::new());

        let foreign = definition("Payroll", DataType::String, &[]);
        let mut with_foreign = live.clone();
        with_foreign.definitions.insert(foreign.id(), foreign);
        let found = refusals(&with_foreign, "sandbox", &[]);
        assert!(found.len() == 1 && found[0].contains("`Sandbox.Payroll`"), "{found:?}");

        let mut reshaped = live.clone();
        reshaped.definitions.get_mut("Sandbox_Text").unwrap().data_type = DataType::Integer;
        reshaped
            .definitions
            .get_mut("Sandbox_Suggested")
            .unwrap()
            .allowed_values
            .push(AllowedValue { id: "Zulu".into(), is_active: true });
        let found = refusals(&reshaped, "Sandbox", &[]);
        assert!(found.iter().any(|refusal| refusal.contains("the pool has it String")), "{found:?}");
        assert!(found.iter().any(|refusal| refusal.contains("`Sandbox.Suggested=Zulu`")), "{found:?}");

        let mut elsewhere = principal.clone();
        let sets: entra_csa::model::PrincipalAssignments = serde_json::from_value(json!({
            "Sandbox": { "Text": "x" }, "Payroll": { "Grade": "7" }
        }))
        .unwrap();
        elsewhere.custom_security_attributes = Some(sets);
        let found = refusals(&live, "Sandbox", &[&elsewhere]);
        assert!(
            found.len() == 1 && found[0].contains("one@t.example holds values in the set `Payroll`"),
            "{found:?}"
        );
    }

    #[test]
    fn every_scene_is_a_valid_desired_state_file() {
        let busy = Scene {
            set_described_by_run: true,
            described_by_run: ["Text"].into(),
            deprecated: ["Retired"].into(),
            inactive: [("Choice", "Charlie")].into(),
            users: vec![Values::from([("Text".into(), json!("it's \"quoted\": yes"))]), Values::new()],
            service_principal: Values::from([("NumberList".into(), json!([1, 2]))]),
        };
        for scene in [Scene::resting(vec![Values::new(), Values::new()], Values::new()), busy] {
            let folder = tempfile::tempdir().unwrap();
            let file = folder.path().join("sandbox.yaml");
            let yaml = scene.yaml(
                "Sandbox",
                &["one@t.example".into(), "two@t.example".into()],
                "00000000-0000-4000-8000-000000000001",
            );
            std::fs::write(&file, &yaml).unwrap();
            let desired = entra_csa::desired::load::load_files(&[file])
                .unwrap_or_else(|diagnostics| panic!("{diagnostics}\n{yaml}"));
            assert_eq!(desired.attribute_sets["Sandbox"].attributes.len(), POOL.len(), "{yaml}");
        }
    }
}
