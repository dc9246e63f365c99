//! The diff: what must change for the tenant to match the files, and what
//! cannot. This is the only home of the plan rules (ARCHITECTURE.md) — add, update,
//! deactivate or reactivate, never delete, never rename — and it is pure: a
//! function from a desired and a live state to changes, conflicts, drift and
//! notes. `plan::order` puts the changes in apply order.
//!
//! Decisions this file makes where the design leaves room:
//! - An undeclared definition or value that is already deactivated is neither
//!   drift nor a change: deactivated is the only end state an object that
//!   cannot be deleted can reach, so reporting it forever would be noise.
//! - A principal the files declare but the tenant does not hold is a conflict
//!   (one per declared attribute, `Set.*` for a set declared empty, `*.*` for
//!   a principal declared with no set; property `principal`): the plan cannot
//!   be applied, and the message names the principal. So is a second key
//!   that names a principal another key already declared.
//! - Whether a value is left alone or unassigned, and whether an inactive
//!   value may be assigned, is decided by the state after the plan
//!   (ARCHITECTURE.md, "What the plan moves to decides"), not by the live one.
//! - A set or definition whose name differs only in case from a live one is a
//!   conflict, and nothing below it (definitions, values) is compared.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use similar::TextDiff;

use crate::model::live::{LivePolicies, LivePrincipal, LiveState, PrincipalId};
use crate::model::{
    AttributeSet, AttributeValue, Definition, DesiredState, MAX_ACTIVE_DEFINITIONS, MAX_ALLOWED_VALUES,
    MAX_ASSIGNED_VALUES, MAX_ATTRIBUTE_SETS, PrincipalKey, PrincipalKind, Status, UndeclaredAssignments,
    UndeclaredObjects, definition_id,
};
use crate::plan::effect::{active_definitions, apply_change};
use crate::plan::groups::{self, GroupGrants};
use crate::plan::{Action, Address, Change, Conflict, Drift, Note, Snapshot, definition_snapshot};

/// Everything the diff found, changes not yet ordered (`seq` is 0).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Diff {
    pub changes: Vec<Change>,
    pub conflicts: Vec<Conflict>,
    pub drift: Vec<Drift>,
    pub notes: Vec<Note>,
    /// The group entry (`group:<key>`) each group-derived change comes from.
    pub sources: BTreeMap<Address, String>,
}

/// How similar two names must be (0..1, `similar`'s ratio over characters)
/// for a new definition to get a rename hint.
const RENAME_SIMILARITY: f32 = 0.6;

/// Compares the files with the tenant.
pub fn diff(desired: &DesiredState, live: &LiveState) -> Diff {
    let mut out = Diff::default();
    for (set_id, set) in &desired.attribute_sets {
        if !diff_set(set_id, set, live, &mut out) {
            continue;
        }
        diff_definitions(set_id, set, desired, live, &mut out);
    }
    diff_assignments(desired, live, &mut out);
    diff_not_understood(desired, live, &mut out);
    note_values_owned_elsewhere(desired, &mut out);
    out
}

/// One note per attribute (or set) whose values another writer owns, so
/// the review says why the plan never touches them.
fn note_values_owned_elsewhere(desired: &DesiredState, out: &mut Diff) {
    for (owned, writer) in &desired.values_owned_elsewhere {
        let address = match owned.split_once('.') {
            Some((set, attribute)) => {
                Address::Definition { set: set.to_string(), attribute: attribute.to_string() }
            }
            None => Address::AttributeSet { set: owned.clone() },
        };
        out.notes.push(Note {
            address: Some(address),
            message: format!(
                "values owned by {writer}: entra-csa manages the definition, and never assigns or \
                 unassigns these values on any principal"
            ),
        });
    }
}

/// What the tenant holds that this version does not understand is never
/// changed: where the files declare its set, or assign it, a conflict says
/// so (the plan cannot be applied until a newer entra-csa or a person
/// settles it); elsewhere a note names it. The diff above plans nothing for
/// it, as if it were not there, so the conflict is the only trace. A value
/// under `valuesOwnedBy` (an export writes it there for such values) is a
/// note too: the files already leave it to its writer, so nothing is
/// unsettled.
fn diff_not_understood(desired: &DesiredState, live: &LiveState, out: &mut Diff) {
    let index = live.principal_index();
    for item in &live.not_understood {
        let attribute = item.attribute.clone().unwrap_or_else(|| "*".to_owned());
        let owner = item.principal.as_ref().and(desired.values_owner(&item.set, &attribute));
        let (address, declared) = match &item.principal {
            None => {
                let declared = desired.attribute_sets.contains_key(&item.set);
                (Address::Definition { set: item.set.clone(), attribute }, declared)
            }
            Some(id) => {
                // The files' own key for the principal, when they list it.
                let listed = desired
                    .assignments
                    .iter()
                    .find(|(key, _)| index.find(key).is_some_and(|principal| principal.id() == *id));
                let assigned = listed.is_some_and(|(_, sets)| {
                    sets.get(&item.set).is_some_and(|attributes| {
                        item.attribute.as_ref().is_none_or(|attribute| attributes.contains_key(attribute))
                    })
                });
                let key = match (listed, live.principals.get(id)) {
                    (Some((key, _)), _) => key.clone(),
                    (None, Some(principal)) => principal_key(principal),
                    (None, None) => continue,
                };
                let declared = assigned || desired.attribute_sets.contains_key(&item.set);
                (Address::Assignment { principal: key, set: item.set.clone(), attribute }, declared)
            }
        };
        if let (true, Some(writer)) = (declared, owner) {
            out.notes.push(Note {
                address: Some(address),
                message: format!(
                    "not understood ({}): values owned by {writer}, read and left alone",
                    item.what
                ),
            });
        } else if declared {
            out.conflicts.push(Conflict {
                address: address.clone(),
                property: if item.principal.is_some() { "value".into() } else { "definition".into() },
                live: Some(item.what.clone()),
                desired: None,
                message: format!(
                    "`{address}` holds {}, which this version of entra-csa does not understand; it is \
                     left as it is, never overwritten",
                    item.what
                ),
                hint: if item.what == crate::model::live::UNREAD_DEFINITION {
                    "let the sign-in read every attribute definition (Attribute Definition Reader on the \
                     whole tenant), or settle the value in the Entra admin center; until then the files \
                     cannot manage it"
                        .into()
                } else {
                    "upgrade entra-csa, or settle it in the Entra admin center; until then the files \
                     cannot manage it"
                        .into()
                },
            });
        } else {
            out.notes.push(Note {
                address: Some(address),
                message: format!("not understood ({}): read and left alone", item.what),
            });
        }
    }
}

fn change(action: Action, address: Address, before: Option<Snapshot>, after: Option<Snapshot>) -> Change {
    Change { seq: 0, action, address, before, after }
}

/// The set itself. Returns whether its definitions should be compared.
fn diff_set(set_id: &str, set: &AttributeSet, live: &LiveState, out: &mut Diff) -> bool {
    let address = Address::AttributeSet { set: set_id.to_owned() };
    let Some(live_set) = live.attribute_sets.get(set_id) else {
        if let Some(other) = live.attribute_set_ignoring_case(set_id) {
            out.conflicts.push(Conflict {
                address,
                property: "id".into(),
                live: Some(other.id.clone()),
                desired: Some(set_id.to_owned()),
                message: format!(
                    "attribute set `{set_id}` differs only in case from the existing set `{}`, and \
                     Graph may treat set ids case-insensitively",
                    other.id
                ),
                hint: format!("write the set's name exactly as the tenant has it: `{}`", other.id),
            });
            return false;
        }
        out.changes.push(change(
            Action::Create,
            address,
            None,
            Some(Snapshot::AttributeSet {
                description: set.description.clone(),
                max_attributes_per_set: set.max_attributes_per_set,
            }),
        ));
        return true;
    };
    let before = Snapshot::AttributeSet {
        description: live_set.description.clone(),
        max_attributes_per_set: live_set.max_attributes_per_set,
    };
    let after = Snapshot::AttributeSet {
        description: set.description.clone().or_else(|| live_set.description.clone()),
        max_attributes_per_set: set.max_attributes_per_set.or(live_set.max_attributes_per_set),
    };
    if after != before {
        out.changes.push(change(Action::Update, address, Some(before), Some(after)));
    }
    true
}

fn diff_definitions(
    set_id: &str,
    set: &AttributeSet,
    desired: &DesiredState,
    live: &LiveState,
    out: &mut Diff,
) {
    let declared = |name: &str| set.attributes.keys().any(|declared| declared.eq_ignore_ascii_case(name));
    let undeclared: Vec<&Definition> =
        live.definitions_in(set_id).filter(|def| !declared(&def.name)).collect();

    for (name, definition) in &set.attributes {
        let id = definition_id(set_id, name);
        let address = Address::Definition { set: set_id.to_owned(), attribute: name.clone() };
        match live.definitions.get(&id) {
            Some(live_definition) => {
                diff_definition(&address, definition, live_definition, desired, out);
            }
            None if live.is_not_understood(None, set_id, name) => {}
            None => {
                if let Some(other) = live.definition_ignoring_case(&id) {
                    out.conflicts.push(Conflict {
                        address,
                        property: "name".into(),
                        live: Some(other.name.clone()),
                        desired: Some(name.clone()),
                        message: format!(
                            "attribute `{set_id}.{name}` differs only in case from the existing attribute \
                             `{}.{}`, and Graph may treat attribute names case-insensitively",
                            other.attribute_set, other.name
                        ),
                        hint: format!(
                            "write the attribute's name exactly as the tenant has it: `{}`",
                            other.name
                        ),
                    });
                    continue;
                }
                out.changes.push(change(
                    Action::Create,
                    address.clone(),
                    None,
                    Some(Snapshot::Definition(definition_snapshot(definition, true))),
                ));
                rename_hints(&address, definition, &undeclared, out);
            }
        }
    }

    for live_definition in undeclared {
        if live_definition.status == Status::Deprecated {
            continue;
        }
        let address = Address::Definition { set: set_id.to_owned(), attribute: live_definition.name.clone() };
        match desired.policy.undeclared_definitions {
            UndeclaredObjects::Report => {
                out.drift.push(Drift { address, message: "exists in the tenant but is not declared".into() })
            }
            UndeclaredObjects::Deactivate => {
                let before = definition_snapshot(live_definition, false);
                let after = crate::plan::DefinitionSnapshot { status: Status::Deprecated, ..before.clone() };
                out.changes.push(change(
                    Action::Deactivate,
                    address,
                    Some(Snapshot::Definition(before)),
                    Some(Snapshot::Definition(after)),
                ));
            }
        }
    }
}

fn diff_definition(
    address: &Address,
    definition: &Definition,
    live_definition: &Definition,
    desired: &DesiredState,
    out: &mut Diff,
) {
    let shown = address.to_string();
    let migrate = |what: &str| {
        format!(
            "declare a new attribute {what}, move the assignments to it, then deprecate `{shown}` \
             (status: Deprecated); or declare `{shown}` as the tenant has it"
        )
    };
    let mut immutable = |property: &str, live: String, wanted: String, hint: String| {
        out.conflicts.push(Conflict {
            address: address.clone(),
            property: property.into(),
            live: Some(live.clone()),
            desired: Some(wanted.clone()),
            message: format!("`{property}` of an attribute cannot change (tenant: {live}, files: {wanted})"),
            hint,
        });
    };
    if definition.data_type != live_definition.data_type {
        immutable(
            "type",
            live_definition.data_type.to_string(),
            definition.data_type.to_string(),
            migrate(&format!("of type {}", definition.data_type)),
        );
    }
    if definition.is_collection != live_definition.is_collection {
        immutable(
            "isCollection",
            live_definition.is_collection.to_string(),
            definition.is_collection.to_string(),
            migrate(&format!("with isCollection: {}", definition.is_collection)),
        );
    }
    if definition.is_searchable != live_definition.is_searchable {
        immutable(
            "isSearchable",
            live_definition.is_searchable.to_string(),
            definition.is_searchable.to_string(),
            migrate(&format!("with isSearchable: {}", definition.is_searchable)),
        );
    }
    if definition.use_pre_defined_values_only && !live_definition.use_pre_defined_values_only {
        out.conflicts.push(Conflict {
            address: address.clone(),
            property: "usePreDefinedValuesOnly".into(),
            live: Some("false".into()),
            desired: Some("true".into()),
            message: "usePreDefinedValuesOnly can be turned off but never on again".into(),
            hint: migrate("with usePreDefinedValuesOnly: true and its allowed values"),
        });
    }

    let before = definition_snapshot(live_definition, false);
    let mut after = before.clone();
    if let Some(description) = &definition.description {
        after.description = Some(description.clone());
    }
    if live_definition.use_pre_defined_values_only && !definition.use_pre_defined_values_only {
        after.use_pre_defined_values_only = false;
    }
    if after != before {
        out.changes.push(change(
            Action::Update,
            address.clone(),
            Some(Snapshot::Definition(before.clone())),
            Some(Snapshot::Definition(after)),
        ));
    }
    if definition.status != live_definition.status {
        let action = match definition.status {
            Status::Available => Action::Reactivate,
            Status::Deprecated => Action::Deactivate,
        };
        let after = crate::plan::DefinitionSnapshot { status: definition.status, ..before.clone() };
        out.changes.push(change(
            action,
            address.clone(),
            Some(Snapshot::Definition(before)),
            Some(Snapshot::Definition(after)),
        ));
    }

    let (set, attribute) = (&definition.attribute_set, &definition.name);
    let value_address = |value: &str| Address::AllowedValue {
        set: set.clone(),
        attribute: attribute.clone(),
        value: value.into(),
    };
    for value in &definition.allowed_values {
        match live_definition.allowed_value(&value.id) {
            Some(live_value) if live_value.is_active == value.is_active => {}
            Some(live_value) => out.changes.push(change(
                if value.is_active { Action::Reactivate } else { Action::Deactivate },
                value_address(&value.id),
                Some(Snapshot::AllowedValue { is_active: live_value.is_active }),
                Some(Snapshot::AllowedValue { is_active: value.is_active }),
            )),
            None => {
                out.changes.push(change(
                    Action::Create,
                    value_address(&value.id),
                    None,
                    Some(Snapshot::AllowedValue { is_active: value.is_active }),
                ));
                if let Some(other) = live_definition
                    .allowed_values
                    .iter()
                    .find(|live_value| live_value.id.eq_ignore_ascii_case(&value.id))
                {
                    out.notes.push(Note {
                        address: Some(value_address(&value.id)),
                        message: format!(
                            "`{}` differs only in case from the existing value `{}`. Values are \
                             case-sensitive, so this creates a second value; if you meant `{}`, write it \
                             exactly so.",
                            value.id, other.id, other.id
                        ),
                    });
                }
            }
        }
    }
    for live_value in &live_definition.allowed_values {
        if !live_value.is_active || definition.allowed_value(&live_value.id).is_some() {
            continue;
        }
        match desired.policy.undeclared_values {
            UndeclaredObjects::Report => out.drift.push(Drift {
                address: value_address(&live_value.id),
                message: "exists in the tenant but is not declared".into(),
            }),
            UndeclaredObjects::Deactivate => out.changes.push(change(
                Action::Deactivate,
                value_address(&live_value.id),
                Some(Snapshot::AllowedValue { is_active: true }),
                Some(Snapshot::AllowedValue { is_active: false }),
            )),
        }
    }
}

/// A note for each undeclared live definition a new one may be meant to replace.
fn rename_hints(address: &Address, definition: &Definition, undeclared: &[&Definition], out: &mut Diff) {
    for old in undeclared {
        if old.data_type != definition.data_type || old.is_collection != definition.is_collection {
            continue;
        }
        let similar_name = TextDiff::from_chars(old.name.to_lowercase(), definition.name.to_lowercase())
            .ratio()
            >= RENAME_SIMILARITY;
        let same_description = old.description.is_some() && old.description == definition.description;
        if !similar_name && !same_description {
            continue;
        }
        let why = if same_description { "the same description" } else { "a similar name" };
        out.notes.push(Note {
            address: Some(address.clone()),
            message: format!(
                "`{address}` is new, and the tenant has `{set}.{old_name}` ({why}, same type), which the \
                 files do not declare. Names cannot change: this creates a second attribute and leaves \
                 `{set}.{old_name}` as it is. To retire it, declare it with `status: Deprecated`.",
                set = old.attribute_set,
                old_name = old.name,
            ),
        });
    }
}

/// How a live principal is named in addresses when the files do not name it.
pub fn principal_key(principal: &LivePrincipal) -> PrincipalKey {
    match principal.kind {
        PrincipalKind::User => PrincipalKey::User(
            principal.user_principal_name.clone().unwrap_or_else(|| principal.object_id.clone()),
        ),
        PrincipalKind::ServicePrincipal => PrincipalKey::ServicePrincipal(
            principal.app_id.clone().unwrap_or_else(|| format!("id:{}", principal.object_id)),
        ),
    }
}

/// A value that counts as assigned: an empty collection is no value.
fn present(value: Option<&AttributeValue>) -> Option<&AttributeValue> {
    value.filter(|value| !value.is_empty_collection())
}

fn diff_assignments(desired: &DesiredState, live: &LiveState, out: &mut Diff) {
    let policy = desired.policy.undeclared_assignments;
    // The live principals the files declare, by kind and object id, with
    // the key that declared them first: a second key for one principal is a
    // conflict, and the sweep skips them.
    let mut declared: HashMap<(PrincipalKind, &str), &PrincipalKey> = HashMap::new();
    let mut with_values = 0usize;
    let mut unreadable = 0usize;
    let index = live.principal_index();
    // What groups give, resolved before the principals listed directly so
    // that each listed principal's values are compared with its groups'.
    let grants = if desired.group_assignments.is_empty() {
        GroupGrants::default()
    } else {
        let mut direct: HashMap<PrincipalId, &PrincipalKey> = HashMap::new();
        for key in desired.assignments.keys() {
            if let Some(principal) = index.find(key) {
                direct.entry(principal.id()).or_insert(key);
            }
        }
        let address_of = |principal: &LivePrincipal| {
            direct.get(&principal.id()).map_or_else(|| principal_key(principal), |key| (*key).clone())
        };
        groups::grants(desired, live, &index, &address_of, out)
    };
    let mut suggestions = PrincipalSuggestions::default();
    for (key, sets) in &desired.assignments {
        let Some(principal) = index.find(key) else {
            let how = match key.kind() {
                PrincipalKind::User => {
                    "key users by userPrincipalName or object id; \
                                    entra-csa never creates principals"
                }
                PrincipalKind::ServicePrincipal => {
                    "key service principals by appId or \
                                                `id:<object id>`; entra-csa never creates principals"
                }
            };
            let hint = match suggestions.nearest(key, desired, live, &index) {
                Some(near) => format!("did you mean `{near}`? {how}"),
                None => how.to_owned(),
            };
            out.conflicts.extend(declared_addresses(key, sets).into_iter().map(|address| Conflict {
                address,
                property: "principal".into(),
                live: None,
                desired: Some(key.key().to_owned()),
                message: format!("{} `{}` was not found in the tenant", noun(key.kind()), key.key()),
                hint: hint.clone(),
            }));
            continue;
        };
        if let Some(first) = declared.get(&(principal.kind, principal.object_id.as_str())) {
            out.conflicts.extend(declared_addresses(key, sets).into_iter().map(|address| Conflict {
                address,
                property: "principal".into(),
                live: Some(principal.object_id.clone()),
                desired: Some(key.key().to_owned()),
                message: format!(
                    "`{}` and `{}` name the same {} (object id {}): the files declare it twice",
                    first.key(),
                    key.key(),
                    noun(key.kind()),
                    principal.object_id
                ),
                hint: format!("declare its values under one key only, `{}` or `{}`", first.key(), key.key()),
            }));
            continue;
        }
        declared.insert((principal.kind, &principal.object_id), key);
        if sets
            .values()
            .flat_map(|attributes| attributes.values())
            .any(|value| present(Some(value)).is_some())
        {
            with_values += 1;
            if principal.custom_security_attributes.is_none() {
                unreadable += 1;
            }
        }
        for (set, attributes) in sets {
            let live_values = principal.custom_security_attributes.as_ref().and_then(|sets| sets.get(set));
            let address = |attribute: &str| Address::Assignment {
                principal: key.clone(),
                set: set.clone(),
                attribute: attribute.to_owned(),
            };
            for (attribute, value) in attributes {
                // `validate` refuses these; a saved plan's state is held to it too.
                if desired.values_owner(set, attribute).is_some() {
                    continue;
                }
                if !live.not_understood.is_empty()
                    && (live.is_not_understood(Some(&principal.id()), set, attribute)
                        || live.is_not_understood(None, set, attribute))
                {
                    continue;
                }
                if let Some(grant) = grants.get(&principal.id(), set, attribute)
                    && grant.value != value
                {
                    out.conflicts.push(groups::disagreement(
                        address(attribute),
                        (&key.to_string(), value),
                        (&format!("group:{}", grant.group), grant.value),
                    ));
                    continue;
                }
                let current = present(live_values.and_then(|values| values.get(attribute)));
                let wanted = present(Some(value));
                if let Some(conflict) =
                    inactive_value_conflict(desired, live, current, wanted, || address(attribute))
                {
                    out.conflicts.push(conflict);
                    continue;
                }
                assignment_change(principal, || address(attribute), current, wanted, out);
            }
            for (attribute, value) in live_values.into_iter().flatten() {
                // Values another writer owns are never unassigned; those a
                // group gives are planned with the group's values below.
                if attributes.contains_key(attribute)
                    || desired.values_owner(set, attribute).is_some()
                    || grants.get(&principal.id(), set, attribute).is_some()
                {
                    continue;
                }
                // An undeclared value is unassigned, unless its attribute is
                // Deprecated once the plan is applied: the files cannot
                // assign it, so it is left alone.
                if status_after(desired, live, set, attribute) != Some(Status::Deprecated) {
                    assignment_change(principal, || address(attribute), present(Some(value)), None, out);
                }
            }
        }
    }
    if with_values > 0 && unreadable == with_values {
        out.notes.push(Note {
            address: None,
            message: "Every declared principal reads `customSecurityAttributes: null`: nothing may be \
                      assigned yet, or the sign-in may lack CustomSecAttributeAssignment.Read.All so that \
                      the tenant's values are hidden. Check the permission before applying."
                .into(),
        });
    }

    let handled = if desired.group_assignments.is_empty() {
        HashSet::new()
    } else {
        diff_group_grants(desired, live, &grants, &declared, out)
    };

    if !policy.needs_sweep() {
        return;
    }
    if !live.principals_complete {
        out.notes.push(Note {
            address: None,
            message: "undeclaredAssignments needs every principal of the tenant, but only the declared \
                      ones were read: undeclared assignments were not checked"
                .into(),
        });
        return;
    }
    for principal in live.principals.values() {
        if declared.contains_key(&(principal.kind, principal.object_id.as_str())) {
            continue;
        }
        let key = principal_key(principal);
        for (set, attributes) in principal.custom_security_attributes.iter().flatten() {
            if !desired.attribute_sets.contains_key(set) {
                continue;
            }
            for (attribute, value) in attributes {
                // Another writer's values are neither drift nor to remove;
                // those groups give or took away are planned already.
                if desired.values_owner(set, attribute).is_some()
                    || (!handled.is_empty()
                        && handled.contains(&(principal.id(), set.clone(), attribute.clone())))
                {
                    continue;
                }
                let address = Address::Assignment {
                    principal: key.clone(),
                    set: set.clone(),
                    attribute: attribute.clone(),
                };
                match policy {
                    UndeclaredAssignments::Ignore => {}
                    UndeclaredAssignments::Report => out.drift.push(Drift {
                        address,
                        message: format!(
                            "assigned in the tenant ({value}) to a principal the files do not list"
                        ),
                    }),
                    UndeclaredAssignments::Remove => {
                        if status_after(desired, live, set, attribute) != Some(Status::Deprecated) {
                            assignment_change(principal, || address, present(Some(value)), None, out)
                        }
                    }
                }
            }
        }
    }
}

/// Plans what groups give and take away: each value a group gives a
/// principal (unless the principal's own entry gives that attribute, which
/// was planned with it), then, for each attribute a group is authoritative
/// for, the unassignment of values that no source gives. Returns the
/// `(principal, set, attribute)` planned here, which the sweep leaves alone.
fn diff_group_grants(
    desired: &DesiredState,
    live: &LiveState,
    grants: &GroupGrants<'_>,
    declared: &HashMap<(PrincipalKind, &str), &PrincipalKey>,
    out: &mut Diff,
) -> HashSet<(PrincipalId, String, String)> {
    let mut handled = HashSet::new();
    let listed =
        |principal: &LivePrincipal| declared.get(&(principal.kind, principal.object_id.as_str())).copied();
    let listed_attribute = |principal: &LivePrincipal, set: &str, attribute: &str| {
        listed(principal)
            .and_then(|key| desired.assignments.get(key))
            .and_then(|sets| sets.get(set))
            .map(|attributes| attributes.contains_key(attribute))
    };
    let skipped = |principal: &LivePrincipal, set: &str, attribute: &str| {
        desired.values_owner(set, attribute).is_some()
            || (!live.not_understood.is_empty()
                && (live.is_not_understood(Some(&principal.id()), set, attribute)
                    || live.is_not_understood(None, set, attribute)))
    };
    let planned =
        |out: &mut Diff, address: Address, group: &str, change: &mut dyn FnMut(&mut Diff, Address)| {
            let before = out.changes.len();
            change(out, address.clone());
            if out.changes.len() > before {
                out.sources.insert(address, format!("group:{group}"));
            }
        };
    for (id, given) in &grants.by_principal {
        let Some(principal) = live.principals.get(id) else { continue };
        let key = listed(principal).cloned().unwrap_or_else(|| principal_key(principal));
        for ((set, attribute), grant) in given.iter().flat_map(|(set, attributes)| {
            attributes.iter().map(move |(attribute, grant)| ((*set, *attribute), grant))
        }) {
            // A group gives it: neither drift nor to remove, even where
            // the principal's own entry or a conflict decides it.
            handled.insert((principal.id(), set.to_string(), attribute.to_string()));
            if grant.disputed
                || listed_attribute(principal, set, attribute) == Some(true)
                || skipped(principal, set, attribute)
            {
                continue;
            }
            let current = present(principal.value(set, attribute));
            let address = Address::Assignment {
                principal: key.clone(),
                set: set.to_string(),
                attribute: attribute.to_string(),
            };
            if let Some(conflict) =
                inactive_value_conflict(desired, live, current, Some(grant.value), || address.clone())
            {
                out.conflicts.push(conflict);
                continue;
            }
            planned(out, address, grant.group, &mut |out, address| {
                assignment_change(principal, || address, current, Some(grant.value), out)
            });
        }
    }
    if grants.authoritative.is_empty() {
        return handled;
    }
    if !live.principals_complete {
        out.notes.push(Note {
            address: None,
            message: "an authoritative group needs every holder of its attributes, but only some principals                       were read: leavers were not checked"
                .into(),
        });
        return handled;
    }
    for principal in live.principals.values() {
        for ((set, attribute), groups) in &grants.authoritative {
            let Some(value) = present(principal.value(set, attribute)) else { continue };
            // Reached by a source, or managed by the principal's own entry
            // (a set it lists is managed whole there).
            if grants.get(&principal.id(), set, attribute).is_some()
                || listed_attribute(principal, set, attribute).is_some()
                || skipped(principal, set, attribute)
                || status_after(desired, live, set, attribute) == Some(Status::Deprecated)
            {
                continue;
            }
            handled.insert((principal.id(), set.to_string(), attribute.to_string()));
            let key = listed(principal).cloned().unwrap_or_else(|| principal_key(principal));
            let address = Address::Assignment {
                principal: key,
                set: set.to_string(),
                attribute: attribute.to_string(),
            };
            planned(out, address, groups[0], &mut |out, address| {
                assignment_change(principal, || address, Some(value), None, out)
            });
        }
    }
    handled
}

/// The addresses a declared principal's problems are reported at: each
/// declared attribute, `Set.*` for a set declared empty (all of its values
/// unassigned), or `*.*` for a principal declared with no set at all.
fn declared_addresses(key: &PrincipalKey, sets: &crate::model::PrincipalAssignments) -> Vec<Address> {
    let address = |set: &str, attribute: &str| Address::Assignment {
        principal: key.clone(),
        set: set.to_owned(),
        attribute: attribute.to_owned(),
    };
    let mut addresses = Vec::new();
    for (set, attributes) in sets {
        if attributes.is_empty() {
            addresses.push(address(set, "*"));
        }
        addresses.extend(attributes.keys().map(|attribute| address(set, attribute)));
    }
    if addresses.is_empty() {
        addresses.push(address("*", "*"));
    }
    addresses
}

/// The status `set.attribute` has once the plan is applied: as the files
/// declare it; for an undeclared live one in a declared set, Deprecated when
/// the policy deactivates it; otherwise as it is. `None`: no such attribute.
pub fn status_after(desired: &DesiredState, live: &LiveState, set: &str, attribute: &str) -> Option<Status> {
    if let Some(definition) = desired.definition(set, attribute) {
        return Some(definition.status);
    }
    let definition = live.definitions.get(&definition_id(set, attribute))?;
    let deactivated = definition.status == Status::Available
        && desired.attribute_sets.contains_key(set)
        && desired.policy.undeclared_definitions == UndeclaredObjects::Deactivate
        && desired.attribute_sets[set].attributes.keys().all(|name| !name.eq_ignore_ascii_case(attribute));
    Some(if deactivated { Status::Deprecated } else { definition.status })
}

/// Whether `value` is an allowed value of `set.attribute` that is inactive
/// once the plan is applied. Values that are no allowed value are `false`.
fn inactive_after(desired: &DesiredState, live: &LiveState, set: &str, attribute: &str, value: &str) -> bool {
    let live_value = live
        .definitions
        .get(&definition_id(set, attribute))
        .and_then(|definition| definition.allowed_value(value));
    if let Some(definition) = desired.definition(set, attribute) {
        return match definition.allowed_value(value) {
            Some(declared) => !declared.is_active,
            None => live_value.is_some_and(|live_value| {
                !live_value.is_active || desired.policy.undeclared_values == UndeclaredObjects::Deactivate
            }),
        };
    }
    live_value.is_some_and(|live_value| !live_value.is_active)
}

/// Graph refuses a new assignment of an inactive allowed value, on any
/// attribute that has allowed values, but lets a principal keep one it
/// holds (and a write may send it again). A member of `wanted` that is not in
/// `current` and is inactive once the plan is applied is a conflict.
fn inactive_value_conflict(
    desired: &DesiredState,
    live: &LiveState,
    current: Option<&AttributeValue>,
    wanted: Option<&AttributeValue>,
    address: impl FnOnce() -> Address,
) -> Option<Conflict> {
    let wanted = wanted?;
    if current == Some(wanted) {
        return None;
    }
    let address = address();
    let Address::Assignment { set, attribute, .. } = &address else { return None };
    let held = current.map(AttributeValue::members).unwrap_or_default();
    let new_inactive: Vec<String> = wanted
        .members()
        .into_iter()
        .filter(|member| !held.contains(member) && inactive_after(desired, live, set, attribute, member))
        .collect();
    if new_inactive.is_empty() {
        return None;
    }
    let listed = new_inactive.iter().map(|member| format!("`{member}`")).collect::<Vec<_>>().join(", ");
    Some(Conflict {
        address: address.clone(),
        property: "value".into(),
        live: current.map(ToString::to_string),
        desired: Some(wanted.to_string()),
        message: format!(
            "{listed} is an inactive allowed value of `{set}.{attribute}`: a principal may keep an inactive \
             value it holds, but Graph refuses to assign one anew"
        ),
        hint: "reactivate the value (active: true), or assign an active one".into(),
    })
}

/// The nearest name of a principal the tenant read, for a key the tenant
/// does not have (`alise@contoso.com` for `alice@contoso.com`). Only
/// principals no other key of the files names are candidates, and only
/// what the tenant read is searched: a state file holds every principal, a
/// Graph read the listed ones (and every one when the policy sweeps). At
/// most `SUGGESTED_KEYS` keys are looked up, and only names that start
/// with the same character are compared, so a file of many unknown
/// principals against a large tenant stays quick.
#[derive(Default)]
struct PrincipalSuggestions {
    /// The object ids the files' keys find, computed at the first unknown key.
    found: Option<HashSet<PrincipalId>>,
    looked_up: usize,
}

const SUGGESTED_KEYS: usize = 20;

impl PrincipalSuggestions {
    fn nearest(
        &mut self,
        key: &PrincipalKey,
        desired: &DesiredState,
        live: &LiveState,
        index: &crate::model::live::PrincipalIndex<'_>,
    ) -> Option<String> {
        if self.looked_up >= SUGGESTED_KEYS {
            return None;
        }
        self.looked_up += 1;
        let found = self.found.get_or_insert_with(|| {
            desired.assignments.keys().filter_map(|key| index.find(key)).map(LivePrincipal::id).collect()
        });
        let typed = key.key();
        let candidates = live.principals.values().filter(|principal| principal.kind == key.kind());
        let names: Vec<String> = candidates
            .filter(|principal| !found.contains(&principal.id()))
            .flat_map(|principal| match principal.kind {
                PrincipalKind::User => {
                    [principal.user_principal_name.clone(), Some(principal.object_id.clone())]
                }
                PrincipalKind::ServicePrincipal => {
                    [principal.app_id.clone(), Some(format!("id:{}", principal.object_id))]
                }
            })
            .flatten()
            // Cheap filters before the edit distance, so that a tenant of
            // 100,000 principals costs a few thousand comparisons: the
            // distance is at least the difference in length, and a typo
            // rarely falls on the first character (nor does a key cut short).
            .filter(|name| {
                name.len().abs_diff(typed.len()) <= (name.len() / 3).max(2)
                    || name.to_ascii_lowercase().starts_with(&typed.to_ascii_lowercase())
            })
            .filter(|name| same_first_character(name, typed))
            .collect();
        crate::desired::diagnostic::nearest(typed, names.iter().map(String::as_str)).map(str::to_owned)
    }
}

fn same_first_character(a: &str, b: &str) -> bool {
    let first = |text: &str| text.chars().next().map(|c| c.to_ascii_lowercase());
    first(a) == first(b)
}

fn noun(kind: PrincipalKind) -> &'static str {
    match kind {
        PrincipalKind::User => "user",
        PrincipalKind::ServicePrincipal => "service principal",
    }
}

/// The change from `current` to `wanted`, if they differ. The address is
/// built only then: most values of a large tenant are unchanged.
fn assignment_change(
    principal: &LivePrincipal,
    address: impl FnOnce() -> Address,
    current: Option<&AttributeValue>,
    wanted: Option<&AttributeValue>,
    out: &mut Diff,
) {
    let snapshot =
        |value: &AttributeValue| Snapshot::Assignment { principal: principal.id(), value: value.clone() };
    let action = match (current, wanted) {
        (None, None) => return,
        (Some(current), Some(wanted)) if current == wanted => return,
        (None, Some(_)) => Action::Assign,
        (Some(_), Some(_)) => Action::Update,
        (Some(_), None) => Action::Unassign,
    };
    out.changes.push(change(action, address(), current.map(snapshot), wanted.map(snapshot)));
}

/// The tenant limits the plan would break, checked on the tenant as it would
/// be after `changes` (in apply order). Changes the tenant would refuse are
/// skipped here; they are conflicts already.
pub fn limit_conflicts(desired: &DesiredState, live: &LiveState, changes: &[Change]) -> Vec<Conflict> {
    // The tenant after the plan, simulated on a copy of the schema and of the
    // principals the plan touches only: copying every principal would cost
    // more than the whole diff at tenant scale.
    let touched: BTreeSet<&PrincipalId> = changes
        .iter()
        .filter_map(|change| match change.after.as_ref().or(change.before.as_ref()) {
            Some(Snapshot::Assignment { principal, .. }) => Some(principal),
            _ => None,
        })
        .collect();
    let mut after = LiveState {
        attribute_sets: live.attribute_sets.clone(),
        definitions: live.definitions.clone(),
        principals: touched
            .into_iter()
            .filter_map(|id| live.principals.get(id).map(|principal| (id.clone(), principal.clone())))
            .collect(),
        principals_complete: live.principals_complete,
        complete_kinds: live.complete_kinds.clone(),
        not_understood: Vec::new(),
        policies: LivePolicies::default(),
        groups: None,
        memberships: Default::default(),
        read_notes: Vec::new(),
    };
    for change in changes {
        let _ = apply_change(&mut after, change);
    }
    let mut conflicts = Vec::new();
    let first =
        |wanted: fn(&Change) -> bool| changes.iter().find(|change| wanted(change)).map(|c| &c.address);

    if after.attribute_sets.len() > MAX_ATTRIBUTE_SETS
        && after.attribute_sets.len() > live.attribute_sets.len()
        && let Some(address) = first(|change| {
            change.action == Action::Create && matches!(change.address, Address::AttributeSet { .. })
        })
    {
        conflicts.push(Conflict {
            address: address.clone(),
            property: "attributeSets".into(),
            live: Some(live.attribute_sets.len().to_string()),
            desired: Some(after.attribute_sets.len().to_string()),
            message: format!(
                "the tenant would hold {} attribute sets; Graph allows at most {MAX_ATTRIBUTE_SETS}",
                after.attribute_sets.len()
            ),
            hint: "attribute sets cannot be deleted: reuse an existing set".into(),
        });
    }

    // Graph's active limit holds at every step of the apply, not only at
    // its end: count along the ordered changes and keep the peak.
    let live_active = active_definitions(live);
    let mut active = live_active;
    let mut peak = active;
    for change in changes {
        match (&change.address, change.action, &change.after) {
            (Address::Definition { .. }, Action::Reactivate, _) => active += 1,
            (Address::Definition { .. }, Action::Create, Some(Snapshot::Definition(created)))
                if created.status == Status::Available =>
            {
                active += 1
            }
            (Address::Definition { .. }, Action::Deactivate, _) => active = active.saturating_sub(1),
            _ => {}
        }
        peak = peak.max(active);
    }
    if peak > MAX_ACTIVE_DEFINITIONS
        && peak > live_active
        && let Some(address) = first(|change| {
            matches!(change.address, Address::Definition { .. })
                && matches!(change.action, Action::Create | Action::Reactivate)
        })
    {
        conflicts.push(Conflict {
            address: address.clone(),
            property: "status".into(),
            live: Some(live_active.to_string()),
            desired: Some(peak.to_string()),
            message: format!(
                "the tenant would hold {peak} active attributes during the apply; Graph allows at most \
                 {MAX_ACTIVE_DEFINITIONS}"
            ),
            hint: "deactivate attributes no longer used (status: Deprecated) to make room; the plan runs \
                   those deactivations first"
                .into(),
        });
    }

    // A set may already hold more definitions than its cap (the cap was
    // lowered in the portal, or deprecated definitions count): only a plan
    // that adds to such a set, or lowers its cap below what it holds, breaks
    // the limit. Declaring the set as it is, as an export does, does not.
    for set_id in desired.attribute_sets.keys() {
        let Some(set) = after.attribute_sets.get(set_id) else { continue };
        let Some(max) = set.max_attributes_per_set else { continue };
        let count = after.definitions_in(set_id).count();
        let live_count = live.definitions_in(set_id).count();
        let live_max = live.attribute_sets.get(set_id).and_then(|set| set.max_attributes_per_set);
        let adds = count > live_count;
        let lowers = live_max.is_none_or(|live_max| max < live_max);
        if count > usize::try_from(max).unwrap_or(0) && (adds || lowers) {
            conflicts.push(Conflict {
                address: Address::AttributeSet { set: set_id.clone() },
                property: "maxAttributesPerSet".into(),
                live: live_max.map(|max| max.to_string()),
                desired: Some(max.to_string()),
                message: format!(
                    "the set would hold {count} attributes (deprecated ones count too), more than its \
                     maxAttributesPerSet of {max}"
                ),
                hint: format!("raise maxAttributesPerSet to at least {count}, or declare fewer attributes"),
            });
        }
    }

    for change in changes {
        let (Address::AllowedValue { set, attribute, .. } | Address::Definition { set, attribute }) =
            &change.address
        else {
            continue;
        };
        if change.action != Action::Create {
            continue;
        }
        let address = Address::Definition { set: set.clone(), attribute: attribute.clone() };
        // Counted from the plan rather than from `after`: the simulation
        // refuses values past the limit, as Graph would.
        let id = definition_id(set, attribute);
        let existing = live.definitions.get(&id).map_or(0, |definition| definition.allowed_values.len());
        let count = existing
            + changes
                .iter()
                .map(|change| match (&change.address, change.action, &change.after) {
                    (Address::AllowedValue { set: s, attribute: a, .. }, Action::Create, _)
                        if s == set && a == attribute =>
                    {
                        1
                    }
                    (
                        Address::Definition { set: s, attribute: a },
                        Action::Create,
                        Some(Snapshot::Definition(created)),
                    ) if s == set && a == attribute => created.allowed_values.len(),
                    _ => 0,
                })
                .sum::<usize>();
        if count > MAX_ALLOWED_VALUES && !conflicts.iter().any(|conflict| conflict.address == address) {
            conflicts.push(Conflict {
                address,
                property: "allowedValues".into(),
                live: Some(existing.to_string()),
                desired: Some(count.to_string()),
                message: format!(
                    "the attribute would have {count} allowed values (inactive ones count too); Graph \
                     allows at most {MAX_ALLOWED_VALUES}"
                ),
                hint: "allowed values cannot be deleted: declare a new attribute for a new list".into(),
            });
        }
    }

    let mut seen: BTreeSet<&PrincipalId> = BTreeSet::new();
    for change in changes {
        let Some(Snapshot::Assignment { principal, .. }) = change.after.as_ref().or(change.before.as_ref())
        else {
            continue;
        };
        if !matches!(change.address, Address::Assignment { .. }) || !seen.insert(principal) {
            continue;
        }
        let values = |state: &LiveState| -> usize {
            state
                .principals
                .get(principal)
                .and_then(|principal| principal.custom_security_attributes.as_ref())
                .map_or(0, |sets| {
                    sets.values().flat_map(|values| values.values()).map(AttributeValue::count).sum()
                })
        };
        let count = values(&after);
        if count > MAX_ASSIGNED_VALUES {
            conflicts.push(Conflict {
                address: change.address.clone(),
                property: "values".into(),
                live: Some(values(live).to_string()),
                desired: Some(count.to_string()),
                message: format!(
                    "the principal would hold {count} attribute values across all sets; Graph allows at \
                     most {MAX_ASSIGNED_VALUES}"
                ),
                hint: "assign fewer values to this principal".into(),
            });
        }
    }
    conflicts
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::model::live::LiveAttributeSet;
    use crate::model::{AllowedValue, DataType, Policy};

    fn definition(set: &str, name: &str, data_type: DataType) -> Definition {
        Definition::with_defaults(set, name, data_type)
    }

    fn desired_with(definitions: Vec<Definition>) -> DesiredState {
        let attributes: BTreeMap<String, Definition> =
            definitions.into_iter().map(|definition| (definition.name.clone(), definition)).collect();
        let set =
            AttributeSet { id: "Eng".into(), description: None, max_attributes_per_set: None, attributes };
        DesiredState {
            policy: Policy::default(),
            attribute_sets: BTreeMap::from([("Eng".to_owned(), set)]),
            assignments: BTreeMap::new(),
            acknowledged_drift: BTreeMap::new(),
            values_owned_elsewhere: BTreeMap::new(),
            acknowledged_references: BTreeMap::new(),
            group_assignments: BTreeMap::new(),
            requirements: Vec::new(),
        }
    }

    fn live_with(definitions: Vec<Definition>) -> LiveState {
        let mut live = LiveState { principals_complete: true, ..LiveState::default() };
        live.attribute_sets.insert(
            "Eng".into(),
            LiveAttributeSet { id: "Eng".into(), description: None, max_attributes_per_set: None },
        );
        for definition in definitions {
            live.definitions.insert(definition.id(), definition);
        }
        live
    }

    fn summary(found: &Diff) -> Vec<String> {
        found.changes.iter().map(|change| format!("{} {}", change.action, change.address)).collect()
    }

    #[test]
    fn a_type_change_is_a_conflict_with_both_values_and_a_migration_hint() {
        let found = diff(
            &desired_with(vec![definition("Eng", "Cost", DataType::Integer)]),
            &live_with(vec![definition("Eng", "Cost", DataType::String)]),
        );
        assert!(found.changes.is_empty());
        let conflict = &found.conflicts[0];
        assert_eq!(
            (conflict.property.as_str(), conflict.live.as_deref(), conflict.desired.as_deref()),
            ("type", Some("String"), Some("Integer"))
        );
        assert!(conflict.hint.contains("declare a new attribute"), "{}", conflict.hint);
        assert!(conflict.hint.contains("Deprecated"), "{}", conflict.hint);
    }

    #[test]
    fn omitted_description_is_unmanaged_and_declared_one_is_updated() {
        let mut live_definition = definition("Eng", "Cost", DataType::String);
        live_definition.description = Some("old".into());
        let found = diff(
            &desired_with(vec![definition("Eng", "Cost", DataType::String)]),
            &live_with(vec![live_definition.clone()]),
        );
        assert!(found.changes.is_empty());
        let mut wanted = definition("Eng", "Cost", DataType::String);
        wanted.description = Some("new".into());
        let found = diff(&desired_with(vec![wanted]), &live_with(vec![live_definition]));
        assert_eq!(summary(&found), vec!["update Eng.Cost"]);
    }

    #[test]
    fn the_one_way_flag_updates_off_and_conflicts_on() {
        let mut on = definition("Eng", "Cost", DataType::String);
        on.use_pre_defined_values_only = true;
        let off = definition("Eng", "Cost", DataType::String);
        let found = diff(&desired_with(vec![off.clone()]), &live_with(vec![on.clone()]));
        assert_eq!(summary(&found), vec!["update Eng.Cost"]);
        let found = diff(&desired_with(vec![on]), &live_with(vec![off]));
        assert!(found.changes.is_empty());
        assert_eq!(found.conflicts[0].property, "usePreDefinedValuesOnly");
    }

    #[test]
    fn undeclared_values_follow_the_policy_and_case_variants_are_new_values_with_a_note() {
        let mut live_definition = definition("Eng", "Project", DataType::String);
        live_definition.allowed_values = vec![
            AllowedValue { id: "Alpine".into(), is_active: true },
            AllowedValue { id: "Old".into(), is_active: false },
        ];
        let mut wanted = definition("Eng", "Project", DataType::String);
        wanted.allowed_values = vec![AllowedValue { id: "alpine".into(), is_active: true }];
        let mut desired = desired_with(vec![wanted]);
        let live = live_with(vec![live_definition]);
        let found = diff(&desired, &live);
        assert_eq!(summary(&found), vec!["create Eng.Project=alpine"]);
        assert_eq!(found.drift.len(), 1, "only the active undeclared value is drift");
        assert_eq!(found.drift[0].address.to_string(), "Eng.Project=Alpine");
        assert!(found.notes[0].message.contains("differs only in case"));
        desired.policy.undeclared_values = UndeclaredObjects::Deactivate;
        let found = diff(&desired, &live);
        assert_eq!(summary(&found), vec!["create Eng.Project=alpine", "deactivate Eng.Project=Alpine"]);
        assert!(found.drift.is_empty());
    }

    #[test]
    fn a_new_definition_next_to_a_similar_undeclared_one_gets_a_rename_hint() {
        let found = diff(
            &desired_with(vec![definition("Eng", "ProjectCode", DataType::String)]),
            &live_with(vec![definition("Eng", "Project", DataType::String)]),
        );
        assert_eq!(summary(&found), vec!["create Eng.ProjectCode"]);
        assert!(found.notes[0].message.contains("Names cannot change"), "{:?}", found.notes);
        let found = diff(
            &desired_with(vec![definition("Eng", "ProjectCode", DataType::Integer)]),
            &live_with(vec![definition("Eng", "Project", DataType::String)]),
        );
        assert!(found.notes.is_empty(), "a different type is no rename");
    }

    #[test]
    fn case_only_differences_of_names_are_conflicts() {
        let found = diff(
            &desired_with(vec![definition("Eng", "project", DataType::String)]),
            &live_with(vec![definition("Eng", "Project", DataType::String)]),
        );
        assert!(found.changes.is_empty());
        assert_eq!(found.conflicts[0].property, "name");
        assert!(found.drift.is_empty(), "the case variant is not also undeclared drift");
    }

    #[test]
    fn the_tenant_wide_limits_are_conflicts_when_the_plan_would_break_them() {
        let mut live = live_with(Vec::new());
        for index in 0..MAX_ATTRIBUTE_SETS {
            let id = format!("Set{index}");
            live.attribute_sets
                .insert(id.clone(), LiveAttributeSet { id, description: None, max_attributes_per_set: None });
        }
        for index in 0..MAX_ACTIVE_DEFINITIONS - 1 {
            let definition = definition("Eng", &format!("A{index}"), DataType::String);
            live.definitions.insert(definition.id(), definition);
        }
        let mut desired = desired_with(vec![
            definition("Eng", "New", DataType::String),
            definition("Eng", "Newer", DataType::String),
        ]);
        desired.attribute_sets.insert(
            "Zed".into(),
            AttributeSet {
                id: "Zed".into(),
                description: None,
                max_attributes_per_set: None,
                attributes: BTreeMap::new(),
            },
        );
        let plan = crate::plan::build(&desired, &live, crate::plan::Target::StateFile { path: "t".into() });
        let found: Vec<(String, &str)> =
            plan.conflicts.iter().map(|c| (c.address.to_string(), c.property.as_str())).collect();
        assert_eq!(found, vec![("Zed".to_owned(), "attributeSets"), ("Eng.New".to_owned(), "status")]);
        assert!(plan.conflicts[1].message.contains("501 active attributes"), "{}", plan.conflicts[1].message);
        // Deprecated definitions do not count.
        for definition in live.definitions.values_mut().take(10) {
            definition.status = Status::Deprecated;
        }
        desired.attribute_sets.remove("Zed");
        let plan = crate::plan::build(&desired, &live, crate::plan::Target::StateFile { path: "t".into() });
        assert!(plan.conflicts.is_empty(), "{:?}", plan.conflicts);
    }

    /// The plan's `maxAttributesPerSet` conflicts for a set `Eng` whose tenant
    /// cap is `live_max` and which holds `held` definitions (the first one
    /// Deprecated), of files that declare them all plus `added` new ones with
    /// the cap `wanted`.
    fn cap_conflicts(live_max: i32, held: usize, added: usize, wanted: i32) -> (Vec<String>, bool) {
        let held: Vec<Definition> = (0..held)
            .map(|index| {
                let mut definition = definition("Eng", &format!("Held{index}"), DataType::String);
                if index == 0 {
                    definition.status = Status::Deprecated;
                }
                definition
            })
            .collect();
        let mut live = live_with(held.clone());
        live.attribute_sets.get_mut("Eng").unwrap().max_attributes_per_set = Some(live_max);
        let mut declared = held;
        declared.extend((0..added).map(|index| definition("Eng", &format!("New{index}"), DataType::String)));
        let mut desired = desired_with(declared);
        desired.attribute_sets.get_mut("Eng").unwrap().max_attributes_per_set = Some(wanted);
        let plan = crate::plan::build(&desired, &live, crate::plan::Target::StateFile { path: "t".into() });
        let conflicts = plan
            .conflicts
            .iter()
            .filter(|conflict| conflict.property == "maxAttributesPerSet")
            .map(|conflict| conflict.message.clone())
            .collect();
        (conflicts, plan.changes.is_empty())
    }

    #[test]
    fn a_set_already_over_its_cap_is_a_conflict_only_when_the_plan_adds_or_lowers_the_cap() {
        // The tenant holds 6 definitions (one Deprecated) under a cap of 5.
        let (conflicts, empty) = cap_conflicts(5, 6, 0, 5);
        assert!(conflicts.is_empty() && empty, "declaring the set as it is: {conflicts:?}");
        let (conflicts, _) = cap_conflicts(5, 6, 1, 5);
        assert_eq!(conflicts.len(), 1, "adding one more");
        assert!(conflicts[0].contains("would hold 7 attributes"), "{conflicts:?}");
        let (conflicts, _) = cap_conflicts(5, 6, 0, 4);
        assert_eq!(conflicts.len(), 1, "lowering the cap further");
        let (conflicts, empty) = cap_conflicts(5, 6, 0, 6);
        assert!(conflicts.is_empty() && !empty, "raising the cap to the count: {conflicts:?}");
        let (conflicts, _) = cap_conflicts(5, 6, 1, 7);
        assert!(conflicts.is_empty(), "adding with room made: {conflicts:?}");
        // At the cap and one below it.
        let (conflicts, _) = cap_conflicts(5, 5, 1, 5);
        assert_eq!(conflicts.len(), 1, "the sixth definition under a cap of 5");
        let (conflicts, _) = cap_conflicts(5, 4, 1, 5);
        assert!(conflicts.is_empty(), "the fifth definition under a cap of 5: {conflicts:?}");
        let (conflicts, _) = cap_conflicts(5, 5, 0, 4);
        assert_eq!(conflicts.len(), 1, "a cap lowered one below the count");
        let (conflicts, _) = cap_conflicts(5, 5, 0, 5);
        assert!(conflicts.is_empty(), "a cap equal to the count: {conflicts:?}");
    }

    #[test]
    fn a_service_principal_by_app_id_and_by_object_id_is_one_principal_declared_twice() {
        use crate::model::PrincipalAssignments;
        let mut live = live_with(vec![definition("Eng", "Cost", DataType::Integer)]);
        let principal = LivePrincipal {
            kind: PrincipalKind::ServicePrincipal,
            object_id: "eeeeeeee-0000-4000-8000-000000000005".into(),
            user_principal_name: None,
            app_id: Some("dddddddd-0000-4000-8000-000000000004".into()),
            display_name: None,
            odata_type: None,
            custom_security_attributes: None,
        };
        live.principals.insert(principal.id(), principal);
        let mut desired = desired_with(vec![definition("Eng", "Cost", DataType::Integer)]);
        let values = |cost: i32| -> PrincipalAssignments {
            PrincipalAssignments::from_iter([(
                "Eng".to_owned(),
                [("Cost".to_owned(), AttributeValue::Integer(cost))].into_iter().collect(),
            )])
        };
        desired
            .assignments
            .insert(PrincipalKey::ServicePrincipal("DDDDDDDD-0000-4000-8000-000000000004".into()), values(1));
        desired.assignments.insert(
            PrincipalKey::ServicePrincipal("id:eeeeeeee-0000-4000-8000-000000000005".into()),
            values(2),
        );
        let found = diff(&desired, &live);
        assert_eq!(found.conflicts.len(), 1, "{:?}", found.conflicts);
        let message = &found.conflicts[0].message;
        assert!(message.contains("DDDDDDDD") && message.contains("id:eeeeeeee"), "{message}");
        assert_eq!(summary(&found).len(), 1, "only the first key's change is planned: {:?}", found.changes);
    }
}
