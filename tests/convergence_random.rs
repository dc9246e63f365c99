//! The random differential tester of the plan rules: proptest-generated live
//! states and desired files, run through the real pipeline — the files as
//! YAML text through parse and validate, the tenant as a state file on disk,
//! and for a share of the cases also as the Graph emulator over loopback.
//!
//! For every pair whose files are valid:
//! - the first plan never deletes or renames, and creates only what is missing;
//! - when it has no conflicts, its apply succeeds, and a new plan is empty
//!   (a plan with conflicts is refused by apply, so there is nothing to run);
//! - through the emulator, the plan from Graph's read is the state file's
//!   plan, the apply succeeds, a new plan is empty, and both tenants end equal.
//!
//! Generation covers Deprecated definitions, inactive values, values held
//! after deactivation, the active-definition limit at ±1, one principal under
//! several keys, missing principals and odd value strings (`.`, `..`, `%`,
//! `/`, `?`, `#`, spaces, non-ASCII). The inputs are drawn from a byte
//! string, read as a list of dice rolls where 0 always means "nothing" or
//! "the first choice", so that proptest shrinks a failure to a minimal case.
//!
//! Sized for CI (1,500 state-file cases, 150 through the emulator, about a
//! minute together); `CONVERGENCE_RANDOM_SCALE=10` runs ten times as many.

use std::sync::OnceLock;

use proptest::prelude::*;
use serde_json::Value;

use entra_csa::emulator::EmulatorConfig;
use entra_csa::graph::wire::TenantDocument;
use entra_csa::model::live::{LiveAttributeSet, LivePrincipal, LiveState};
use entra_csa::model::{
    AllowedValue, AttributeValue, DataType, Definition, DesiredState, PrincipalAssignments, PrincipalKind,
    Status,
};
use entra_csa::plan::{self, Action, Address, Kind, Plan};
use entra_csa::tenant::state_file::{StateFileTenant, write_document};
use entra_csa::tenant::{ReadScope, Tenant};

use crate::graph_support::{emulator, fast_options, live_of, seed_of, tenant_with};

const SETS: [&str; 2] = ["Eng", "Ops"];
const ATTRIBUTES: [&str; 4] = ["Cur", "Old", "Num", "Tags"];
/// String values: plain, case variants, and path-segment trouble.
const STRINGS: [&str; 10] =
    ["Alpine", "alpine", "Baker", ".", "..", "%", "a/b?c#d", "two words", "Zürich", "Cédille"];
const INTEGERS: [i32; 3] = [1, 2, 3];
/// Users: (userPrincipalName, object id).
const USERS: [(&str, &str); 3] = [
    ("alice@x.com", "aaaaaaaa-0000-4000-8000-000000000001"),
    ("bob@x.com", "bbbbbbbb-0000-4000-8000-000000000002"),
    ("carol@x.com", "cccccccc-0000-4000-8000-000000000003"),
];
/// A service principal: (appId, object id).
const APP: (&str, &str) = ("dddddddd-0000-4000-8000-000000000004", "eeeeeeee-0000-4000-8000-000000000005");

/// How many times the CI-sized run to make (`CONVERGENCE_RANDOM_SCALE`).
fn scale() -> u32 {
    std::env::var("CONVERGENCE_RANDOM_SCALE").ok().and_then(|text| text.parse().ok()).unwrap_or(1).max(1)
}

/// Dice rolls read from a byte string; past its end every roll is 0.
struct Dice<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Dice<'_> {
    /// A number below `n`.
    fn pick(&mut self, n: usize) -> usize {
        let byte = self.bytes.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        usize::from(byte) % n
    }

    /// True with about `percent` % chance; a 0 roll is false.
    fn yes(&mut self, percent: usize) -> bool {
        let roll = self.pick(100);
        roll != 0 && roll > 100 - percent
    }

    fn choose<'b, T>(&mut self, items: &'b [T]) -> &'b T {
        &items[self.pick(items.len())]
    }
}

fn new_definition(dice: &mut Dice, set: &str, name: &str) -> Definition {
    let data_type = *dice.choose(&[DataType::String, DataType::Integer, DataType::Boolean]);
    let is_collection = data_type != DataType::Boolean && dice.yes(40);
    let mut allowed_values = Vec::new();
    match data_type {
        DataType::String => {
            for value in STRINGS {
                if dice.yes(30) {
                    allowed_values.push(AllowedValue { id: value.to_owned(), is_active: !dice.yes(25) });
                }
            }
        }
        DataType::Integer => {
            for value in INTEGERS {
                if dice.yes(15) {
                    allowed_values.push(AllowedValue { id: value.to_string(), is_active: !dice.yes(25) });
                }
            }
        }
        DataType::Boolean => {}
    }
    allowed_values.sort_by(|a, b| a.id.cmp(&b.id));
    let use_pre_defined_values_only =
        allowed_values.iter().any(|value| value.is_active) && data_type != DataType::Boolean && dice.yes(40);
    Definition {
        attribute_set: set.to_owned(),
        name: name.to_owned(),
        description: dice.yes(30).then(|| "about it".to_owned()),
        data_type,
        is_collection,
        is_searchable: !dice.yes(10),
        use_pre_defined_values_only,
        status: if dice.yes(25) { Status::Deprecated } else { Status::Available },
        allowed_values,
    }
}

/// A value of `definition`'s type and arity. With `only_active`, a
/// predefined-only one takes active allowed values only (none: `None`).
fn value_for(dice: &mut Dice, definition: &Definition, only_active: bool) -> Option<AttributeValue> {
    let pool: Vec<String> = if definition.use_pre_defined_values_only || dice.yes(30) {
        definition
            .allowed_values
            .iter()
            .filter(|value| value.is_active || !only_active)
            .map(|value| value.id.clone())
            .collect()
    } else {
        match definition.data_type {
            DataType::String => STRINGS.iter().map(|value| (*value).to_owned()).collect(),
            _ => INTEGERS.iter().map(ToString::to_string).collect(),
        }
    };
    let pool: Vec<String> = if pool.is_empty() && !definition.use_pre_defined_values_only {
        match definition.data_type {
            DataType::String => vec![STRINGS[0].to_owned()],
            _ => vec!["1".to_owned()],
        }
    } else {
        pool
    };
    let members = |dice: &mut Dice| -> Option<Vec<String>> {
        if pool.is_empty() {
            return None;
        }
        let count = if definition.is_collection { 1 + dice.pick(3) } else { 1 };
        Some((0..count).map(|_| dice.choose(&pool).clone()).collect())
    };
    Some(match (definition.data_type, definition.is_collection) {
        (DataType::Boolean, _) => AttributeValue::Boolean(dice.yes(50)),
        (DataType::Integer, false) => AttributeValue::Integer(members(dice)?[0].parse().ok()?),
        (DataType::Integer, true) => {
            AttributeValue::integers(members(dice)?.iter().filter_map(|member| member.parse().ok()).collect())
        }
        (DataType::String, false) => AttributeValue::String(members(dice)?.remove(0)),
        (DataType::String, true) => AttributeValue::strings(members(dice)?),
    })
}

fn live_state(dice: &mut Dice) -> LiveState {
    let mut live = LiveState { principals_complete: true, ..LiveState::default() };
    for set in SETS {
        if !dice.yes(70) {
            continue;
        }
        let max_attributes_per_set = dice.yes(10).then(|| 4 + dice.pick(2) as i32);
        live.attribute_sets.insert(
            set.to_owned(),
            LiveAttributeSet { id: set.to_owned(), description: None, max_attributes_per_set },
        );
        for name in ATTRIBUTES {
            if dice.yes(60) {
                let definition = new_definition(dice, set, name);
                live.definitions.insert(definition.id(), definition);
            }
        }
    }
    // The active-definition limit at -2..+0 of full, in a set the files never declare.
    if dice.yes(8) {
        let target = 498 + dice.pick(3);
        live.attribute_sets.insert(
            "Bulk".into(),
            LiveAttributeSet { id: "Bulk".into(), description: None, max_attributes_per_set: None },
        );
        let mut index = 0;
        while live.definitions.values().filter(|d| d.status == Status::Available).count() < target {
            let definition = Definition {
                attribute_set: "Bulk".into(),
                name: format!("B{index}"),
                description: None,
                data_type: DataType::String,
                is_collection: false,
                is_searchable: true,
                use_pre_defined_values_only: false,
                status: Status::Available,
                allowed_values: Vec::new(),
            };
            live.definitions.insert(definition.id(), definition);
            index += 1;
        }
    }
    let ours: Vec<Definition> =
        live.definitions.values().filter(|definition| definition.attribute_set != "Bulk").cloned().collect();
    let principals = USERS.iter().map(|(upn, id)| (PrincipalKind::User, *id, Some(*upn), None)).chain([(
        PrincipalKind::ServicePrincipal,
        APP.1,
        None,
        Some(APP.0),
    )]);
    for (kind, object_id, upn, app_id) in principals {
        let mut sets = PrincipalAssignments::new();
        // Whatever Graph may hold: values of Deprecated attributes, inactive values.
        for definition in &ours {
            if dice.yes(35)
                && let Some(value) = value_for(dice, definition, false)
            {
                sets.entry(definition.attribute_set.clone())
                    .or_default()
                    .insert(definition.name.clone(), value);
            }
        }
        let principal = LivePrincipal {
            kind,
            object_id: object_id.to_owned(),
            user_principal_name: upn.map(str::to_owned),
            app_id: app_id.map(str::to_owned),
            display_name: Some("someone".into()),
            odata_type: None,
            custom_security_attributes: if sets.is_empty() && dice.yes(50) { None } else { Some(sets) },
        };
        live.principals.insert(principal.id(), principal);
    }
    live
}

/// The desired definition: the live one evolved a little, or a new one.
fn desired_definition(dice: &mut Dice, live: &LiveState, set: &str, name: &str) -> Definition {
    let Some(existing) = live.definitions.get(&format!("{set}_{name}")).filter(|_| !dice.yes(8)) else {
        return new_definition(dice, set, name);
    };
    let mut definition = existing.clone();
    if dice.yes(20) {
        definition.status =
            if definition.status == Status::Available { Status::Deprecated } else { Status::Available };
    }
    if dice.yes(15) {
        definition.description = Some("changed".into());
    }
    for value in &mut definition.allowed_values {
        if dice.yes(20) {
            value.is_active = !value.is_active;
        }
    }
    definition.allowed_values.retain(|_| !dice.yes(15));
    if definition.data_type == DataType::String {
        for value in STRINGS {
            if definition.allowed_value(value).is_none() && dice.yes(15) {
                definition
                    .allowed_values
                    .push(AllowedValue { id: value.to_owned(), is_active: !dice.yes(20) });
            }
        }
    }
    definition.allowed_values.sort_by(|a, b| a.id.cmp(&b.id));
    if definition.use_pre_defined_values_only && dice.yes(15) {
        definition.use_pre_defined_values_only = false;
    }
    definition
}

fn yaml_scalar(text: &str) -> String {
    serde_json::to_string(text).unwrap()
}

fn yaml_value(value: &AttributeValue) -> String {
    match value {
        AttributeValue::Boolean(flag) => flag.to_string(),
        AttributeValue::Integer(number) => number.to_string(),
        AttributeValue::String(text) => yaml_scalar(text),
        AttributeValue::Integers(numbers) => {
            format!("[{}]", numbers.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))
        }
        AttributeValue::Strings(texts) => {
            format!("[{}]", texts.iter().map(|text| yaml_scalar(text)).collect::<Vec<_>>().join(", "))
        }
    }
}

/// The desired files as YAML text, drawn against `live`.
fn desired_yaml(dice: &mut Dice, live: &LiveState) -> String {
    let mut yaml = String::from("version: 1\npolicy:\n");
    yaml.push_str(&format!("  undeclaredDefinitions: {}\n", dice.choose(&["report", "deactivate"])));
    yaml.push_str(&format!("  undeclaredValues: {}\n", dice.choose(&["report", "deactivate"])));
    yaml.push_str(&format!("  undeclaredAssignments: {}\n", dice.choose(&["ignore", "report", "remove"])));
    yaml.push_str("attributeSets:\n");
    let mut declared: Vec<Definition> = Vec::new();
    for set in SETS {
        if !dice.yes(80) {
            continue;
        }
        yaml.push_str(&format!("  {set}:\n"));
        if dice.yes(15) {
            yaml.push_str(&format!("    maxAttributesPerSet: {}\n", 3 + dice.pick(3)));
        }
        yaml.push_str("    attributes:\n");
        let mut any = false;
        for name in ATTRIBUTES {
            if !dice.yes(70) {
                continue;
            }
            any = true;
            let definition = desired_definition(dice, live, set, name);
            yaml.push_str(&format!("      {name}:\n        type: {}\n", definition.data_type));
            if let Some(description) = &definition.description {
                yaml.push_str(&format!("        description: {}\n", yaml_scalar(description)));
            }
            yaml.push_str(&format!(
                "        isCollection: {}\n        isSearchable: {}\n        usePreDefinedValuesOnly: {}\n        \
                 status: {}\n",
                definition.is_collection,
                definition.is_searchable,
                definition.use_pre_defined_values_only,
                definition.status
            ));
            if !definition.allowed_values.is_empty() {
                yaml.push_str("        allowedValues:\n");
                for value in &definition.allowed_values {
                    let id = match definition.data_type {
                        DataType::Integer => value.id.clone(),
                        _ => yaml_scalar(&value.id),
                    };
                    yaml.push_str(&format!("          - {{value: {id}, active: {}}}\n", value.is_active));
                }
            }
            declared.push(definition);
        }
        if !any {
            yaml.push_str("      {}\n");
        }
    }
    yaml.push_str("assignments:\n  users:\n");
    let mut keys: Vec<String> = Vec::new();
    for (upn, id) in USERS {
        if dice.yes(60) {
            // Keyed by UPN, by object id, or (rarely) by both.
            keys.push(if dice.yes(20) { id.to_owned() } else { upn.to_owned() });
            if dice.yes(6) {
                keys.push(id.to_owned());
            }
        }
    }
    if dice.yes(4) {
        keys.push("ghost@x.com".into());
    }
    keys.dedup();
    let principal_yaml = |dice: &mut Dice, key: &str, current: Option<&PrincipalAssignments>| -> String {
        let mut text = format!("    {}:\n", yaml_scalar(key));
        let mut sets: Vec<String> = Vec::new();
        for set in SETS {
            let attributes: Vec<&Definition> =
                declared.iter().filter(|definition| definition.attribute_set == set).collect();
            if attributes.is_empty() && !declared.iter().any(|d| d.attribute_set == set) && !dice.yes(5) {
                continue;
            }
            if !dice.yes(60) {
                continue;
            }
            let mut lines = Vec::new();
            for definition in attributes {
                if definition.status != Status::Available || !dice.yes(50) {
                    continue;
                }
                let held = current.and_then(|sets| sets.get(set)?.get(&definition.name)).filter(|value| {
                    value.is_collection() == definition.is_collection
                        && value.data_type().is_none_or(|data_type| data_type == definition.data_type)
                });
                let value = match held {
                    Some(value) if dice.yes(50) => Some(value.clone()),
                    _ => {
                        let only_active = !dice.yes(20);
                        value_for(dice, definition, only_active)
                    }
                };
                if let Some(value) = value.filter(|value| !value.is_empty_collection()) {
                    lines.push(format!("        {}: {}\n", definition.name, yaml_value(&value)));
                }
            }
            if lines.is_empty() {
                sets.push(format!("      {set}: {{}}\n"));
            } else {
                sets.push(format!("      {set}:\n{}", lines.concat()));
            }
        }
        if sets.is_empty() {
            text = format!("    {}: {{}}\n", yaml_scalar(key));
        } else {
            text.push_str(&sets.concat());
        }
        text
    };
    let index = live.principal_index();
    let mut any_user = false;
    for key in &keys {
        let current = index
            .find(&entra_csa::model::PrincipalKey::User(key.clone()))
            .and_then(|principal| principal.custom_security_attributes.as_ref());
        yaml.push_str(&principal_yaml(dice, key, current));
        any_user = true;
    }
    if !any_user {
        yaml.push_str("    {}\n");
    }
    if dice.yes(40) {
        let current = live.principals.values().find(|principal| principal.app_id.as_deref() == Some(APP.0));
        let key = if dice.yes(30) { format!("id:{}", APP.1) } else { APP.0.to_owned() };
        yaml.push_str("  servicePrincipals:\n");
        yaml.push_str(&principal_yaml(
            dice,
            &key,
            current.and_then(|p| p.custom_security_attributes.as_ref()),
        ));
    }
    yaml
}

/// Whether `action` is one the design allows for `kind`.
fn legal(kind: Kind, action: Action) -> bool {
    match kind {
        Kind::AttributeSet => matches!(action, Action::Create | Action::Update),
        Kind::Definition => {
            matches!(action, Action::Create | Action::Update | Action::Deactivate | Action::Reactivate)
        }
        Kind::AllowedValue => matches!(action, Action::Create | Action::Deactivate | Action::Reactivate),
        Kind::Assignment => matches!(action, Action::Assign | Action::Update | Action::Unassign),
    }
}

fn exists(live: &LiveState, address: &Address) -> bool {
    match address {
        Address::AttributeSet { set } => live.attribute_set_ignoring_case(set).is_some(),
        Address::Definition { set, attribute } => {
            live.definition_ignoring_case(&format!("{set}_{attribute}")).is_some()
        }
        Address::AllowedValue { set, attribute, value } => live
            .definitions
            .get(&format!("{set}_{attribute}"))
            .is_some_and(|definition| definition.allowed_value(value).is_some()),
        Address::Assignment { .. } | Address::GroupAssignment { .. } => false,
    }
}

fn check_first_plan(plan: &Plan, live: &LiveState) -> Result<(), TestCaseError> {
    for change in &plan.changes {
        prop_assert!(legal(change.kind(), change.action), "{} of a {}", change.action, change.kind());
        if change.action == Action::Create {
            prop_assert!(!exists(live, &change.address), "create of the existing {}", change.address);
        }
    }
    Ok(())
}

fn shown(plan: &Plan) -> String {
    let mut text = String::new();
    for change in &plan.changes {
        text.push_str(&format!("  {} {}\n", change.action, change.address));
    }
    for conflict in &plan.conflicts {
        text.push_str(&format!(
            "  conflict {} {}: {}\n",
            conflict.address, conflict.property, conflict.message
        ));
    }
    text
}

/// Live and desired from the dice; `None` when the files do not validate.
fn inputs(bytes: &[u8]) -> (LiveState, String, Option<DesiredState>) {
    let mut dice = Dice { bytes, at: 0 };
    let live = live_state(&mut dice);
    let yaml = desired_yaml(&mut dice, &live);
    let desired = entra_csa::desired::load::load_texts(&[("desired.yaml".to_owned(), yaml.clone())]).ok();
    (live, yaml, desired)
}

/// The production client with retries bounded to a second or two: the
/// emulator injects no faults here, so a retry only delays a failure (and
/// shrinking runs many failures).
fn quick_options() -> entra_csa::graph::ClientOptions {
    let mut options = fast_options();
    options.retry.max_total_delay = std::time::Duration::from_secs(2);
    options.replication.max_total_delay = std::time::Duration::from_secs(2);
    options
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
    })
}

/// Apply through the state file, then plan again. Returns the plan and the
/// tenant after it (or as it was, when the plan has conflicts).
fn through_state_file(
    desired: &DesiredState,
    live: &LiveState,
    yaml: &str,
) -> Result<(Plan, LiveState), TestCaseError> {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("live.json");
    write_document(&path, &TenantDocument::from_live_state(live)).unwrap();
    let tenant = StateFileTenant::new(&path);
    let scope = ReadScope::for_desired(desired);
    let read = runtime().block_on(tenant.read(&scope)).unwrap();
    let first = plan::build(desired, &read, tenant.target());
    check_first_plan(&first, &read)?;
    if !first.conflicts.is_empty() {
        return Ok((first, read));
    }
    let report = runtime().block_on(tenant.apply(&first.changes));
    prop_assert!(report.succeeded(), "apply failed: {report:#?}\nplan:\n{}files:\n{yaml}", shown(&first));
    let after = runtime().block_on(tenant.read(&scope)).unwrap();
    let second = plan::build(desired, &after, tenant.target());
    prop_assert!(
        second.changes.is_empty() && second.conflicts.is_empty(),
        "not converged; first plan:\n{}second plan:\n{}files:\n{yaml}",
        shown(&first),
        shown(&second)
    );
    Ok((first, after))
}

/// What two tenants must agree on after the same plan: schema and values.
fn comparable(live: &LiveState) -> Value {
    let principals: Vec<Value> = live
        .principals
        .values()
        .map(|principal| {
            serde_json::json!([
                principal.object_id,
                principal.custom_security_attributes.clone().unwrap_or_default()
            ])
        })
        .collect();
    serde_json::json!({
        "sets": live.attribute_sets,
        "definitions": live.definitions,
        "principals": principals,
    })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 1500 * scale(),
        max_shrink_iters: 4000,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_plans_through_the_state_file_converge(bytes in proptest::collection::vec(any::<u8>(), 0..220)) {
        let (live, yaml, desired) = inputs(&bytes);
        let Some(desired) = desired else { return Ok(()) };
        through_state_file(&desired, &live, &yaml)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 150 * scale(),
        max_shrink_iters: 400,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_plans_through_the_emulator_converge_to_the_state_files_end(
        bytes in proptest::collection::vec(any::<u8>(), 0..220)
    ) {
        let (live, yaml, desired) = inputs(&bytes);
        let Some(desired) = desired else { return Ok(()) };
        let (file_plan, file_end) = through_state_file(&desired, &live, &yaml)?;
        runtime().block_on(async {
            let emulator = emulator(EmulatorConfig {
                seed_state: seed_of(&TenantDocument::from_live_state(&live)),
                ..Default::default()
            })
            .await;
            let graph = tenant_with(&emulator, "test-token", quick_options());
            let scope = ReadScope::for_desired(&desired);
            let read = graph.read(&scope).await.unwrap();
            let first = plan::build(&desired, &read, graph.target());
            let result = (|| {
                prop_assert_eq!(shown(&first), shown(&file_plan), "Graph's read plans as the state file's");
                Ok(())
            })();
            if result.is_err() || !first.conflicts.is_empty() {
                emulator.shutdown().await;
                return result;
            }
            let report = graph.apply(&first.changes).await;
            let after = graph.read(&scope).await.unwrap();
            let second = plan::build(&desired, &after, graph.target());
            let end = live_of(&emulator.state());
            emulator.shutdown().await;
            prop_assert!(report.succeeded(), "apply failed: {report:#?}\nplan:\n{}files:\n{yaml}", shown(&first));
            prop_assert!(
                second.changes.is_empty(),
                "not converged; first plan:\n{}second plan:\n{}files:\n{yaml}",
                shown(&first),
                shown(&second)
            );
            prop_assert_eq!(comparable(&end), comparable(&file_end), "the emulator and the state file end apart");
            Ok(())
        })?;
    }
}
