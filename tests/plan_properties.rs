//! Property tests of the plan engine over random desired and live states:
//! (a) no change is a delete or a rename, (b) applying a conflict-free plan
//! converges (a new plan is empty), (c) the apply order holds, (d) a saved
//! plan is refused once the tenant changed, (e) a JSON plan reads back
//! (`show`) as it was printed, (f) a saved plan applied in part resumes with
//! exactly the rest, unless anything else changed too.
//!
//! States are drawn from a small universe of names (so that desired and live
//! overlap, differ in case, and collide) with a seeded generator, and are
//! kept as valid as the validator would make the desired side.

use std::collections::BTreeMap;

use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};

use entra_csa::cli::apply::{check_saved_plan, judge_saved_plan};
use entra_csa::model::live::{LiveAttributeSet, LivePrincipal, LiveState};
use entra_csa::model::{
    AllowedValue, AttributeSet, AttributeValue, DataType, Definition, DesiredState, Policy,
    PrincipalAssignments, PrincipalKey, PrincipalKind, Status, UndeclaredAssignments, UndeclaredObjects,
};
use entra_csa::plan::effect::apply_change;
use entra_csa::plan::order::step;
use entra_csa::plan::{self, Action, Address, Kind, Plan, Snapshot, Target};
use entra_csa::render::json::document;
use entra_csa::render::{Format, render};

const SETS: [&str; 3] = ["Eng", "Mkt", "eng"];
const NAMES: [&str; 5] = ["Project", "Cost", "Flag", "Level", "project"];
const VALUES: [&str; 4] = ["Alpine", "Baker", "Cascade", "alpine"];
const USERS: [&str; 4] = ["a@x", "b@x", "c@x", "d@x"];

/// Each of `items`, kept with probability `p`.
fn some<'a>(rng: &mut StdRng, items: &[&'a str], p: f64) -> Vec<&'a str> {
    items.iter().copied().filter(|_| rng.random_bool(p)).collect()
}

fn target() -> Target {
    Target::StateFile { path: "t.json".into() }
}

fn random_definition(rng: &mut StdRng, set: &str, name: &str) -> Definition {
    let data_type = *[DataType::String, DataType::Integer, DataType::Boolean].choose(rng).unwrap();
    let is_collection = data_type != DataType::Boolean && rng.random_bool(0.5);
    let allowed_values: Vec<AllowedValue> = if data_type == DataType::String {
        let mut values: Vec<AllowedValue> = Vec::new();
        for id in some(rng, &VALUES, 0.5) {
            values.push(AllowedValue { id: id.to_owned(), is_active: rng.random_bool(0.8) });
        }
        values.sort_by(|a, b| a.id.cmp(&b.id));
        values
    } else {
        Vec::new()
    };
    Definition {
        attribute_set: set.to_owned(),
        name: name.to_owned(),
        description: rng
            .random_bool(0.6)
            .then(|| ["old text", "new text here"].choose(rng).unwrap().to_string()),
        data_type,
        is_collection,
        is_searchable: rng.random_bool(0.8),
        use_pre_defined_values_only: data_type == DataType::String
            && allowed_values.iter().any(|value| value.is_active)
            && rng.random_bool(0.5),
        status: if rng.random_bool(0.8) { Status::Available } else { Status::Deprecated },
        allowed_values,
    }
}

/// A value valid for `definition`, or `None` when none can be made.
fn random_value(rng: &mut StdRng, definition: &Definition) -> Option<AttributeValue> {
    let pool: Vec<String> = if definition.use_pre_defined_values_only {
        definition
            .allowed_values
            .iter()
            .filter(|value| value.is_active)
            .map(|value| value.id.clone())
            .collect()
    } else {
        VALUES.iter().map(|value| (*value).to_owned()).collect()
    };
    Some(match (definition.data_type, definition.is_collection) {
        (DataType::Boolean, _) => AttributeValue::Boolean(rng.random_bool(0.5)),
        (DataType::Integer, false) => AttributeValue::Integer(rng.random_range(1..4)),
        (DataType::Integer, true) => {
            AttributeValue::integers((0..rng.random_range(1..4)).map(|_| rng.random_range(1..5)).collect())
        }
        (DataType::String, false) => AttributeValue::String(pool.choose(rng)?.clone()),
        (DataType::String, true) => {
            if pool.is_empty() {
                return None;
            }
            AttributeValue::strings(
                (0..rng.random_range(1..4)).map(|_| pool.choose(rng).unwrap().clone()).collect(),
            )
        }
    })
}

/// Random values for the available definitions among `definitions`.
fn random_assignments(rng: &mut StdRng, definitions: &[Definition]) -> PrincipalAssignments {
    let mut sets = PrincipalAssignments::new();
    for definition in definitions {
        if definition.status == Status::Available
            && rng.random_bool(0.4)
            && let Some(value) = random_value(rng, definition)
        {
            sets.entry(definition.attribute_set.clone()).or_default().insert(definition.name.clone(), value);
        }
    }
    sets
}

fn random_live(rng: &mut StdRng) -> LiveState {
    let mut live = LiveState { principals_complete: true, ..LiveState::default() };
    for set in some(rng, &SETS, 0.5) {
        if live.attribute_set_ignoring_case(set).is_some() || (set == "eng" && rng.random_bool(0.7)) {
            continue;
        }
        live.attribute_sets.insert(
            set.to_owned(),
            LiveAttributeSet {
                id: set.to_owned(),
                description: rng.random_bool(0.5).then(|| "set text".to_owned()),
                max_attributes_per_set: rng.random_bool(0.2).then_some(rng.random_range(4..8)),
            },
        );
        for name in some(rng, &NAMES, 0.5) {
            let definition = random_definition(rng, set, name);
            if live.definition_ignoring_case(&definition.id()).is_none() {
                live.definitions.insert(definition.id(), definition);
            }
        }
    }
    let definitions: Vec<Definition> = live.definitions.values().cloned().collect();
    for (index, user) in USERS.iter().enumerate().take(3) {
        let sets = random_assignments(rng, &definitions);
        let principal = LivePrincipal {
            odata_type: None,
            kind: PrincipalKind::User,
            object_id: format!("00000000-0000-0000-0000-00000000000{index}"),
            user_principal_name: Some((*user).to_owned()),
            app_id: None,
            display_name: None,
            custom_security_attributes: if sets.is_empty() && rng.random_bool(0.5) {
                None
            } else {
                Some(sets)
            },
        };
        live.principals.insert(principal.id(), principal);
    }
    live
}

/// A desired definition that starts from the live one and changes a little.
fn evolve(rng: &mut StdRng, existing: &Definition) -> Definition {
    let mut definition = existing.clone();
    if rng.random_bool(0.3) {
        definition.description =
            Some(["old text", "new text here", "brand new words"].choose(rng).unwrap().to_string());
    }
    if rng.random_bool(0.2) {
        definition.status =
            if definition.status == Status::Available { Status::Deprecated } else { Status::Available };
    }
    if definition.data_type == DataType::String {
        for value in &mut definition.allowed_values {
            if rng.random_bool(0.2) {
                value.is_active = !value.is_active;
            }
        }
        definition.allowed_values.retain(|_| rng.random_bool(0.85));
        for id in some(rng, &VALUES, 0.3) {
            if definition.allowed_value(id).is_none() {
                definition
                    .allowed_values
                    .push(AllowedValue { id: id.to_owned(), is_active: rng.random_bool(0.8) });
            }
        }
        definition.allowed_values.sort_by(|a, b| a.id.cmp(&b.id));
    }
    if definition.use_pre_defined_values_only && rng.random_bool(0.2) {
        definition.use_pre_defined_values_only = false;
    }
    if !definition.allowed_values.iter().any(|value| value.is_active) {
        definition.use_pre_defined_values_only = false;
    }
    if rng.random_bool(0.05) {
        definition.is_searchable = !definition.is_searchable;
    }
    definition
}

/// Whether the validator would accept `value` for `definition`.
fn valid(definition: &Definition, value: &AttributeValue) -> bool {
    definition.status == Status::Available
        && value.is_collection() == definition.is_collection
        && value.data_type().is_none_or(|data_type| data_type == definition.data_type)
        && (!definition.use_pre_defined_values_only
            || value
                .members()
                .iter()
                .all(|member| definition.allowed_value(member).is_some_and(|allowed| allowed.is_active)))
}

fn random_desired(rng: &mut StdRng, live: &LiveState) -> DesiredState {
    let objects = |rng: &mut StdRng| {
        if rng.random_bool(0.5) { UndeclaredObjects::Report } else { UndeclaredObjects::Deactivate }
    };
    let policy = Policy {
        undeclared_definitions: objects(rng),
        undeclared_values: objects(rng),
        undeclared_assignments: *[
            UndeclaredAssignments::Ignore,
            UndeclaredAssignments::Report,
            UndeclaredAssignments::Remove,
        ]
        .choose(rng)
        .unwrap(),
    };
    let mut desired = DesiredState { policy, ..DesiredState::default() };
    for set in some(rng, &SETS, 0.7) {
        if desired.attribute_sets.keys().any(|declared| declared.eq_ignore_ascii_case(set))
            || (set == "eng" && rng.random_bool(0.7))
        {
            continue;
        }
        let mut attributes = BTreeMap::new();
        for name in some(rng, &NAMES, 0.6) {
            if attributes.keys().any(|declared: &String| declared.eq_ignore_ascii_case(name))
                || (name == "project" && rng.random_bool(0.7))
            {
                continue;
            }
            let definition = match live.definitions.get(&format!("{set}_{name}")) {
                Some(existing) if rng.random_bool(0.9) => evolve(rng, existing),
                _ => random_definition(rng, set, name),
            };
            attributes.insert(name.to_owned(), definition);
        }
        let live_set = live.attribute_sets.get(set);
        desired.attribute_sets.insert(
            set.to_owned(),
            AttributeSet {
                id: set.to_owned(),
                description: rng
                    .random_bool(0.5)
                    .then(|| ["set text", "other set text"].choose(rng).unwrap().to_string()),
                max_attributes_per_set: if rng.random_bool(0.2) {
                    Some(rng.random_range(3..9))
                } else {
                    live_set.and_then(|set| set.max_attributes_per_set).filter(|_| rng.random_bool(0.5))
                },
                attributes,
            },
        );
    }
    let definitions: Vec<Definition> =
        desired.attribute_sets.values().flat_map(|set| set.attributes.values().cloned()).collect();
    for (index, user) in USERS.iter().enumerate() {
        if !rng.random_bool(if index == 3 { 0.05 } else { 0.6 }) {
            continue;
        }
        let key = PrincipalKey::User((*user).to_owned());
        let mut sets = PrincipalAssignments::new();
        let current = live.principal(&key).and_then(|principal| principal.custom_security_attributes.clone());
        for definition in &definitions {
            let kept = current
                .as_ref()
                .and_then(|sets| sets.get(&definition.attribute_set)?.get(&definition.name))
                .filter(|value| valid(definition, value) && rng.random_bool(0.6))
                .cloned();
            let value = match kept {
                Some(value) => Some(value),
                None if definition.status == Status::Available && rng.random_bool(0.4) => {
                    random_value(rng, definition)
                }
                None => None,
            };
            if let Some(value) = value {
                sets.entry(definition.attribute_set.clone())
                    .or_default()
                    .insert(definition.name.clone(), value);
            }
        }
        desired.assignments.insert(key, sets);
    }
    desired
}

fn inputs(seed: u64) -> (DesiredState, LiveState) {
    let mut rng = StdRng::seed_from_u64(seed);
    let live = random_live(&mut rng);
    let desired = random_desired(&mut rng, &live);
    (desired, live)
}

/// Whether `action` is one the design allows for `kind`.
fn legal(kind: Kind, action: Action) -> bool {
    match kind {
        Kind::AttributeSet => matches!(action, Action::Create | Action::Update),
        Kind::Definition | Kind::AllowedValue => {
            matches!(action, Action::Create | Action::Update | Action::Deactivate | Action::Reactivate)
                && !(kind == Kind::AllowedValue && action == Action::Update)
        }
        Kind::Assignment => matches!(action, Action::Assign | Action::Update | Action::Unassign),
    }
}

/// Whether the object `address` names exists in `live` under exactly that name.
fn exists(live: &LiveState, address: &Address) -> bool {
    match address {
        Address::AttributeSet { set } => live.attribute_sets.contains_key(set),
        Address::Definition { set, attribute } => {
            live.definitions.contains_key(&format!("{set}_{attribute}"))
        }
        Address::AllowedValue { set, attribute, value } => live
            .definitions
            .get(&format!("{set}_{attribute}"))
            .is_some_and(|definition| definition.allowed_value(value).is_some()),
        Address::Assignment { .. } | Address::GroupAssignment { .. } => true,
    }
}

/// The object `address` names in `state`, as a change's snapshot shows it
/// (definitions without their allowed values).
fn snapshot_of(state: &LiveState, address: &Address) -> Option<Snapshot> {
    match address {
        Address::AttributeSet { set } => state.attribute_sets.get(set).map(|set| Snapshot::AttributeSet {
            description: set.description.clone(),
            max_attributes_per_set: set.max_attributes_per_set,
        }),
        Address::Definition { set, attribute } => state
            .definitions
            .get(&format!("{set}_{attribute}"))
            .map(|definition| Snapshot::Definition(plan::definition_snapshot(definition, false))),
        Address::AllowedValue { set, attribute, value } => state
            .definitions
            .get(&format!("{set}_{attribute}"))
            .and_then(|definition| definition.allowed_value(value))
            .map(|value| Snapshot::AllowedValue { is_active: value.is_active }),
        Address::Assignment { .. } | Address::GroupAssignment { .. } => None,
    }
}

/// `snapshot` without the allowed values a create sends inline.
fn without_values(snapshot: Option<Snapshot>) -> Option<Snapshot> {
    match snapshot {
        Some(Snapshot::Definition(mut definition)) => {
            definition.allowed_values.clear();
            Some(Snapshot::Definition(definition))
        }
        other => other,
    }
}

fn check_no_delete_no_rename(plan: &Plan, live: &LiveState) -> Result<(), TestCaseError> {
    for change in &plan.changes {
        prop_assert!(legal(change.kind(), change.action), "illegal {} of {}", change.action, change.kind());
        match change.action {
            Action::Create => {
                prop_assert!(!exists(live, &change.address), "create of existing {}", change.address);
                prop_assert!(change.before.is_none());
            }
            Action::Update | Action::Deactivate | Action::Reactivate if change.kind() != Kind::Assignment => {
                prop_assert!(
                    exists(live, &change.address),
                    "{} of missing {}",
                    change.action,
                    change.address
                );
                if let (Some(Snapshot::Definition(before)), Some(Snapshot::Definition(after))) =
                    (&change.before, &change.after)
                {
                    prop_assert_eq!(before.data_type, after.data_type);
                    prop_assert_eq!(before.is_collection, after.is_collection);
                    prop_assert_eq!(before.is_searchable, after.is_searchable);
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn check_order(plan: &Plan) -> Result<(), TestCaseError> {
    for (index, change) in plan.changes.iter().enumerate() {
        prop_assert_eq!(change.seq, index + 1);
    }
    for pair in plan.changes.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        prop_assert!(step(a) <= step(b), "{} before {}", a.address, b.address);
        if step(a) == step(b) {
            prop_assert!(a.address <= b.address, "{} before {} in one step", a.address, b.address);
        }
    }
    // Assignments of one principal are contiguous.
    let principals: Vec<&PrincipalKey> = plan
        .changes
        .iter()
        .filter_map(|change| match &change.address {
            Address::Assignment { principal, .. } => Some(principal),
            _ => None,
        })
        .collect();
    let mut seen: Vec<&PrincipalKey> = Vec::new();
    for principal in principals {
        if seen.last() != Some(&principal) {
            prop_assert!(!seen.contains(&principal), "assignments of {} are split", principal);
            seen.push(principal);
        }
    }
    // Whatever a change uses was created or reactivated before it.
    for (index, change) in plan.changes.iter().enumerate() {
        if let Address::Definition { set, .. } | Address::AllowedValue { set, .. } = &change.address
            && change.action == Action::Create
            && let Some(position) = plan.changes.iter().position(|other| {
                other.action == Action::Create
                    && other.address == (Address::AttributeSet { set: set.clone() })
            })
        {
            prop_assert!(position < index, "{} created before its set", change.address);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn plans_never_delete_or_rename_and_keep_their_order(seed in any::<u64>()) {
        let (desired, live) = inputs(seed);
        let plan = plan::build(&desired, &live, target());
        check_no_delete_no_rename(&plan, &live)?;
        check_order(&plan)?;
        prop_assert_eq!(plan::build(&desired, &live, target()), plan, "the plan is deterministic");
    }

    #[test]
    fn after_apply_a_new_plan_is_empty(seed in any::<u64>()) {
        let (desired, live) = inputs(seed);
        let plan = plan::build(&desired, &live, target());
        prop_assume!(plan.conflicts.is_empty());
        let mut after = live.clone();
        for change in &plan.changes {
            let applied = apply_change(&mut after, change);
            prop_assert!(applied.is_ok(), "change {} failed: {:?}", change.address, applied);
        }
        let again = plan::build(&desired, &after, target());
        prop_assert!(again.changes.is_empty(), "not converged: {:?}", again.changes);
        prop_assert!(again.conflicts.is_empty(), "conflicts after apply: {:?}", again.conflicts);
    }

    #[test]
    fn the_snapshots_of_one_object_chain_to_its_end_state(seed in any::<u64>()) {
        let (desired, live) = inputs(seed);
        let plan = plan::build(&desired, &live, target());
        prop_assume!(plan.conflicts.is_empty());
        let mut end = live.clone();
        for change in &plan.changes {
            prop_assert!(apply_change(&mut end, change).is_ok());
        }
        // Applying the `after`s in order, object by object, from the tenant.
        let mut state: BTreeMap<Address, Option<Snapshot>> = BTreeMap::new();
        for change in &plan.changes {
            if change.kind() == Kind::Assignment {
                continue;
            }
            let start = state.entry(change.address.clone()).or_insert_with(|| snapshot_of(&live, &change.address));
            prop_assert_eq!(
                without_values(start.clone()),
                without_values(change.before.clone()),
                "change {} of {} does not start where the one before it ended",
                change.seq,
                change.address
            );
            *start = change.after.clone();
        }
        for (address, last) in state {
            prop_assert_eq!(
                without_values(last),
                snapshot_of(&end, &address),
                "the last `after` of {} is not its end state",
                address
            );
        }
    }

    #[test]
    fn a_saved_plan_is_refused_once_the_tenant_changed(seed in any::<u64>(), mutation in 0u8..4) {
        let (desired, live) = inputs(seed);
        let plan = plan::build(&desired, &live, target());
        let mut saved = document(&plan);
        saved.desired_state = Some(plan::saved::desired_to_json(&desired));
        let unchanged = plan::build(&desired, &live, target());
        prop_assert!(check_saved_plan(&saved, &unchanged).is_ok());

        // Each mutation touches what the plan depends on (ARCHITECTURE.md, "What a saved plan depends on"); where
        // the case has nothing of that kind, the sweep flag changes instead.
        let mut changed = live.clone();
        let declared_set = live.attribute_sets.keys().find(|set| desired.attribute_sets.contains_key(*set)).cloned();
        let declared_principal =
            desired.assignments.keys().find_map(|key| live.principal(key)).map(LivePrincipal::id);
        let declared_definition = live
            .definitions
            .iter()
            .find(|(_, definition)| desired.attribute_sets.contains_key(&definition.attribute_set))
            .map(|(id, _)| id.clone());
        let flip = |changed: &mut LiveState| changed.principals_complete = !changed.principals_complete;
        match (mutation, declared_set, declared_principal, declared_definition) {
            (0, Some(set), _, _) => {
                changed.attribute_sets.get_mut(&set).unwrap().description = Some("edited in the portal".into());
            }
            (1, _, Some(principal), _) => {
                let principal = changed.principals.get_mut(&principal).unwrap();
                let sets = principal.custom_security_attributes.get_or_insert_with(Default::default);
                sets.entry("Other".into()).or_default().insert("X".into(), AttributeValue::Integer(7));
            }
            (2, _, _, Some(id)) => {
                changed.definitions.get_mut(&id).unwrap().description = Some("edited in the portal".into());
            }
            (3, Some(set), _, _) if desired.policy.undeclared_assignments.needs_sweep() => {
                let mut values = PrincipalAssignments::new();
                values.entry(set).or_default().insert("X".into(), AttributeValue::Integer(7));
                let principal = LivePrincipal {
                    odata_type: None,
                    kind: PrincipalKind::ServicePrincipal,
                    object_id: "11111111-0000-0000-0000-000000000000".into(),
                    user_principal_name: None,
                    app_id: Some("22222222-0000-0000-0000-000000000000".into()),
                    display_name: None,
                    custom_security_attributes: Some(values),
                };
                changed.principals.insert(principal.id(), principal);
            }
            _ => flip(&mut changed),
        }
        let fresh = plan::build(&desired, &changed, target());
        let refusal = check_saved_plan(&saved, &fresh);
        prop_assert!(refusal.as_ref().is_err_and(|message| message.starts_with("is stale")), "{:?}", refusal);
    }

    #[test]
    fn a_saved_plan_survives_changes_it_does_not_depend_on(seed in any::<u64>()) {
        let (desired, live) = inputs(seed);
        let plan = plan::build(&desired, &live, target());
        let mut saved = document(&plan);
        saved.desired_state = Some(plan::saved::desired_to_json(&desired));
        let mut changed = live.clone();
        // Another team's set and definition, and display names.
        changed.attribute_sets.insert("Theirs".into(), LiveAttributeSet {
            id: "Theirs".into(), description: Some("theirs".into()), max_attributes_per_set: None,
        });
        for principal in changed.principals.values_mut() {
            principal.display_name = Some("renamed".into());
        }
        if !desired.policy.undeclared_assignments.needs_sweep() {
            // A principal the plan never reads.
            let principal = LivePrincipal {
                kind: PrincipalKind::User,
                object_id: "99999999-0000-0000-0000-000000000000".into(),
                user_principal_name: Some("new@x".into()),
                app_id: None,
                display_name: None,
                odata_type: None,
                custom_security_attributes: None,
            };
            changed.principals.insert(principal.id(), principal);
        }
        // New sets count against the tenant's limit only for a plan that creates sets.
        prop_assume!(desired.attribute_sets.keys().all(|set| live.attribute_set_ignoring_case(set).is_some()));
        let fresh = plan::build(&desired, &changed, target());
        prop_assert!(check_saved_plan(&saved, &fresh).is_ok(), "{:?}", check_saved_plan(&saved, &fresh));
    }

    /// `show` reads a JSON plan back (`render::json_read`): the document it
    /// reads is the document written, and each format prints the same bytes.
    #[test]
    fn a_json_plan_reads_back_and_shows_as_it_was_printed(seed in any::<u64>(), drift in any::<bool>()) {
        let (desired, live) = inputs(seed);
        let mut plan = plan::build(&desired, &live, target());
        if drift {
            plan.mode = plan::Mode::Drift;
        }
        let written = document(&plan);
        let read = entra_csa::render::json_read::plan_from_document(&written);
        prop_assert!(read.is_ok(), "{:?}", read);
        let read = read.unwrap();
        prop_assert_eq!(document(&read), written);
        for format in [Format::Text, Format::Json, Format::Markdown] {
            let (mut printed, mut shown) = (Vec::new(), Vec::new());
            render(&plan, format, false, &mut printed).unwrap();
            render(&read, format, false, &mut shown).unwrap();
            prop_assert_eq!(String::from_utf8(shown).unwrap(), String::from_utf8(printed).unwrap());
        }
    }
}

/// Graph answers `customSecurityAttributes: null` for a principal with no
/// values, never `{}`; the generated tenants hold both.
fn as_graph_answers(mut live: LiveState) -> LiveState {
    for principal in live.principals.values_mut() {
        if principal.custom_security_attributes.as_ref().is_some_and(|sets| sets.is_empty()) {
            principal.custom_security_attributes = None;
        }
    }
    live
}

/// A plan and a partial application of it: each change in order, taken with
/// a drawn probability when the tenant accepts it then (a change whose
/// definition was not created fails, as on Graph), and which were taken.
fn partly_applied(seed: u64, cut: u64) -> Option<(DesiredState, LiveState, Plan, LiveState, Vec<bool>)> {
    let (desired, live) = inputs(seed);
    let live = as_graph_answers(live);
    let plan = plan::build(&desired, &live, target());
    if !plan.conflicts.is_empty() || plan.changes.is_empty() {
        return None;
    }
    let mut rng = StdRng::seed_from_u64(cut);
    let share = rng.random_range(0.0..1.0);
    let mut partial = live.clone();
    let mut taken = vec![false; plan.changes.len()];
    for (index, change) in plan.changes.iter().enumerate() {
        taken[index] = rng.random_bool(share) && apply_change(&mut partial, change).is_ok();
    }
    Some((desired, live, plan, as_graph_answers(partial), taken))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// A saved plan applied in part, applied again, writes exactly the rest
    /// and ends where the whole plan at once ends.
    #[test]
    fn a_partly_applied_saved_plan_resumes_with_exactly_the_rest(seed in any::<u64>(), cut in any::<u64>()) {
        let Some((desired, live, plan, partial, taken)) = partly_applied(seed, cut) else {
            return Err(TestCaseError::reject("no plan to apply"));
        };
        let saved = document(&plan);
        let judged = judge_saved_plan(&saved, &desired, &partial, target());
        prop_assert!(judged.is_ok(), "{:?}", judged);
        let (rest, done) = judged.unwrap();
        prop_assert_eq!(done, taken.iter().filter(|taken| **taken).count());
        let remaining: Vec<usize> = rest.changes.iter().map(|change| change.seq).collect();
        let untaken: Vec<usize> =
            plan.changes.iter().zip(&taken).filter(|(_, taken)| !**taken).map(|(change, _)| change.seq).collect();
        prop_assert_eq!(remaining, untaken, "the rest is exactly what was not applied");

        let mut finished = partial.clone();
        for change in &rest.changes {
            let applied = apply_change(&mut finished, change);
            prop_assert!(applied.is_ok(), "change {} failed: {:?}", change.address, applied);
        }
        let mut whole = live.clone();
        for change in &plan.changes {
            prop_assert!(apply_change(&mut whole, change).is_ok());
        }
        prop_assert_eq!(as_graph_answers(finished), as_graph_answers(whole));
    }

    /// The same, with something besides the plan changed in the tenant: a
    /// declared set's description, a declared principal's value, a new
    /// allowed value on a declared definition. Still stale.
    #[test]
    fn a_partly_applied_saved_plan_with_any_other_difference_is_stale(
        seed in any::<u64>(),
        cut in any::<u64>(),
        edit in 0..3usize,
        pick in any::<prop::sample::Index>(),
    ) {
        let Some((desired, _, plan, mut partial, _)) = partly_applied(seed, cut) else {
            return Err(TestCaseError::reject("no plan to apply"));
        };
        let declared: Vec<String> =
            desired.attribute_sets.keys().filter(|set| partial.attribute_sets.contains_key(*set)).cloned().collect();
        let edited = match edit {
            0 => declared.get(pick.index(declared.len().max(1))).is_some_and(|set| {
                partial.attribute_sets.get_mut(set).unwrap().description = Some("changed by someone else".into());
                true
            }),
            1 => {
                let definitions: Vec<(String, String)> = partial
                    .definitions
                    .values()
                    .filter(|definition| declared.contains(&definition.attribute_set))
                    .map(|definition| (definition.attribute_set.clone(), definition.name.clone()))
                    .collect();
                let user = desired.assignments.keys().next().and_then(|key| partial.principal(key)).map(LivePrincipal::id);
                match (definitions.get(pick.index(definitions.len().max(1))), user) {
                    (Some((set, attribute)), Some(user)) => {
                        partial.principals.get_mut(&user).unwrap()
                            .custom_security_attributes
                            .get_or_insert_with(Default::default)
                            .entry(set.clone())
                            .or_default()
                            .insert(attribute.clone(), AttributeValue::String("Zebra".into()));
                        true
                    }
                    _ => false,
                }
            }
            _ => {
                let ids: Vec<String> = partial
                    .definitions
                    .values()
                    .filter(|definition| declared.contains(&definition.attribute_set))
                    .map(Definition::id)
                    .collect();
                ids.get(pick.index(ids.len().max(1))).is_some_and(|id| {
                    let definition = partial.definitions.get_mut(id).unwrap();
                    definition.allowed_values.push(AllowedValue { id: "Zulu".into(), is_active: true });
                    true
                })
            }
        };
        prop_assume!(edited);
        let saved = document(&plan);
        let judged = judge_saved_plan(&saved, &desired, &partial, target());
        prop_assert!(judged.is_err(), "a foreign change was taken for the plan's own: {:?}", judged.map(|(plan, done)| (plan.changes, done)));
        prop_assert!(judged.unwrap_err().contains("stale"));
    }
}
