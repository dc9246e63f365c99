//! Fingerprints of a plan's inputs: `sha256:<hex>` over a canonical JSON
//! form. Maps iterate in key order (BTreeMaps, `model::NameMap`s) and lists
//! are kept sorted by the model, so equal states give equal bytes; maps keyed
//! by principals are written as lists of pairs because JSON object keys must
//! be strings.

use std::io::{BufWriter, Write};

use serde::Serialize;
use sha2::{Digest, Sha256};

use std::collections::{BTreeSet, HashSet};

use crate::model::live::{LiveAttributeSet, LivePrincipal, LiveState, Membership, PrincipalId};
use crate::model::{
    Definition, DesiredState, PrincipalAssignments, PrincipalKey, PrincipalKind, SetValues, Status,
};
use crate::plan::effect::active_definitions;
use crate::readers::attributes_named_by;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CanonicalDesired<'a> {
    policy: &'a crate::model::Policy,
    attribute_sets: &'a std::collections::BTreeMap<String, crate::model::AttributeSet>,
    assignments: Vec<(&'a PrincipalKey, &'a PrincipalAssignments)>,
    /// Left out when empty, so files that name no other writer keep the
    /// fingerprints they always had.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    values_owned_elsewhere: &'a std::collections::BTreeMap<String, String>,
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    group_assignments: &'a std::collections::BTreeMap<String, crate::model::GroupAssignments>,
}

/// What of the tenant a plan depends on (ARCHITECTURE.md, "What a saved plan depends on"): the declared sets
/// (and any set differing from one only in case) with their definitions,
/// the tenant-wide counts its limits check, the declared principals, and,
/// under an `undeclaredAssignments` sweep, the holders of values in declared
/// sets, and the policies that name an attribute of a declared set. The
/// counts of sets and of active definitions are covered only
/// when the files add to them. Other teams' sets, display names and principals read only by
/// chance (a probe page, a sweep) are left out, so a saved plan is not
/// refused as stale over changes it does not depend on.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CanonicalLive<'a> {
    attribute_set_count: Option<usize>,
    active_definition_count: Option<usize>,
    attribute_sets: Vec<&'a LiveAttributeSet>,
    definitions: Vec<&'a Definition>,
    principals: Vec<PrincipalPart<'a>>,
    principals_complete: bool,
    /// The policies that name an attribute of a declared set, as the tenant
    /// returned them: the plan's references and impact read them. Left out
    /// when there are none, so plans that no policy concerns keep the
    /// fingerprints they always had.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    policies: Vec<&'a serde_json::Map<String, serde_json::Value>>,
    /// How each group the files name was found and who its transitive
    /// members are: a member joining or leaving makes a saved plan stale.
    /// Left out when the files name no group, so other plans keep their
    /// fingerprints.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    memberships: std::collections::BTreeMap<&'a String, &'a Membership>,
}

/// A principal as the plan sees it: its keys and its values (all of them
/// for a declared principal, whose limit of values counts every set; those
/// in declared sets for an undeclared holder).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PrincipalPart<'a> {
    kind: PrincipalKind,
    object_id: &'a str,
    user_principal_name: Option<&'a str>,
    app_id: Option<&'a str>,
    /// `None` when the tenant answered `null`.
    values: Option<Vec<(&'a String, OwnValues<'a>)>>,
}

/// A principal's values in one set, without those another writer owns
/// (`valuesOwnedBy`): the plan never touches them, so their changes between
/// plan and apply do not make a plan stale. Written as the set's map itself,
/// so fingerprints of files that name no other writer stay as they were.
struct OwnValues<'a> {
    set: &'a str,
    values: &'a SetValues,
    desired: &'a DesiredState,
}

impl Serialize for OwnValues<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(
            self.values
                .iter()
                .filter(|(attribute, _)| self.desired.values_owner(self.set, attribute).is_none()),
        )
    }
}

/// The fingerprint of a desired state.
pub fn desired(state: &DesiredState) -> String {
    hash(&CanonicalDesired {
        policy: &state.policy,
        attribute_sets: &state.attribute_sets,
        assignments: state.assignments.iter().collect(),
        values_owned_elsewhere: &state.values_owned_elsewhere,
        group_assignments: &state.group_assignments,
    })
}

/// The fingerprint of what of the live state a plan of `desired` depends on.
pub fn live<'a>(state: &'a LiveState, desired: &'a DesiredState) -> String {
    let declared_sets: HashSet<String> =
        desired.attribute_sets.keys().map(|set| set.to_ascii_lowercase()).collect();
    let declared_set = |set: &str| declared_sets.contains(&set.to_ascii_lowercase());
    // The groups the files assign by: a group only a requirement names is
    // read too, but the plan's changes never depend on its members.
    let memberships: std::collections::BTreeMap<&String, &Membership> = state
        .memberships
        .iter()
        .filter(|(group, _)| desired.group_assignments.contains_key(*group))
        .collect();
    // Copied only when a requirement's group is among them (rare, and small next to the tenant).
    let assigning: std::borrow::Cow<'_, std::collections::BTreeMap<String, Membership>> = if memberships.len()
        == state.memberships.len()
    {
        std::borrow::Cow::Borrowed(&state.memberships)
    } else {
        std::borrow::Cow::Owned(
            memberships.iter().map(|(group, membership)| ((*group).clone(), (*membership).clone())).collect(),
        )
    };
    let index = state.principal_index();
    // The principals the files list, and those groups reach: all their
    // values count, as the plan compares them all.
    let declared: BTreeSet<PrincipalId> = desired
        .assignments
        .keys()
        .cloned()
        .chain(crate::model::live::member_keys(&assigning))
        .filter_map(|key| index.find(&key))
        .map(LivePrincipal::id)
        .collect();
    // An authoritative group, like `undeclaredAssignments`, depends on every
    // holder of values in the declared sets.
    let holders_count = desired.policy.undeclared_assignments.needs_sweep()
        || (desired.has_authoritative_groups() && !memberships.is_empty());
    let part = |principal: &'a LivePrincipal, all_sets: bool| PrincipalPart {
        kind: principal.kind,
        object_id: &principal.object_id,
        user_principal_name: principal.user_principal_name.as_deref(),
        app_id: principal.app_id.as_deref(),
        values: principal.custom_security_attributes.as_ref().map(|sets| {
            sets.iter()
                .filter(|(set, _)| all_sets || declared_set(set))
                // A set holding only another writer's values is as good as absent.
                .filter(|(set, values)| {
                    values.is_empty()
                        || values.keys().any(|attribute| desired.values_owner(set, attribute).is_none())
                })
                .map(|(set, values)| (set, OwnValues { set, values, desired }))
                .collect()
        }),
    };
    let mut principals: Vec<PrincipalPart<'a>> = Vec::new();
    for principal in state.principals.values() {
        if declared.contains(&principal.id()) {
            principals.push(part(principal, true));
        } else if holders_count
            && principal.custom_security_attributes.iter().flatten().any(|(set, values)| {
                declared_set(set)
                    && values.keys().any(|attribute| desired.values_owner(set, attribute).is_none())
            })
        {
            principals.push(part(principal, false));
        }
    }
    // The tenant-wide counts matter only to a plan that adds to them.
    let creates_sets =
        desired.attribute_sets.keys().any(|set| state.attribute_set_ignoring_case(set).is_none());
    let adds_active =
        desired.attribute_sets.values().flat_map(|set| set.attributes.values()).any(|definition| {
            definition.status == Status::Available
                && state.definitions.get(&definition.id()).is_none_or(|live| live.status != Status::Available)
        });
    hash(&CanonicalLive {
        attribute_set_count: creates_sets.then_some(state.attribute_sets.len()),
        active_definition_count: adds_active.then(|| active_definitions(state)),
        attribute_sets: state.attribute_sets.values().filter(|set| declared_set(&set.id)).collect(),
        definitions: state
            .definitions
            .values()
            .filter(|definition| declared_set(&definition.attribute_set))
            .collect(),
        principals,
        principals_complete: state.principals_complete,
        policies: policies_naming(state, &declared_set),
        memberships,
    })
}

/// The readers (Conditional Access and app management policies, Azure role
/// assignments, lifecycle workflows) that name an attribute of a set
/// `declared` accepts, in the order the tenant gave them.
fn policies_naming<'a>(
    state: &'a LiveState,
    declared: &dyn Fn(&str) -> bool,
) -> Vec<&'a serde_json::Map<String, serde_json::Value>> {
    let policies = &state.policies;
    policies
        .conditional_access_policies
        .iter()
        .flatten()
        .chain(policies.default_app_management_policy.iter())
        .chain(policies.app_management_policies.iter().flatten())
        .chain(policies.azure_role_assignments.iter().flatten())
        .chain(policies.lifecycle_workflows.iter().flatten())
        .filter(|policy| {
            attributes_named_by(policy)
                .iter()
                .any(|id| id.split_once('_').is_some_and(|(set, _)| declared(set)))
        })
        .collect()
}

/// Feeds serialised bytes straight into the hash, so that a tenant of
/// 100,000 principals is never held as one JSON text.
struct HashWriter(Sha256);

impl Write for HashWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.update(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn hash(value: &impl Serialize) -> String {
    // serde_json writes a few bytes at a time; the hasher takes them in blocks.
    let mut writer = BufWriter::with_capacity(64 * 1024, HashWriter(Sha256::new()));
    // Serialising plain data with string keys into a hasher cannot fail.
    let _ = serde_json::to_writer(&mut writer, value);
    let _ = writer.flush();
    let (HashWriter(hasher), _) = writer.into_parts();
    let digest = hasher.finalize();
    let mut text = String::with_capacity(7 + 64);
    text.push_str("sha256:");
    for byte in digest.iter() {
        text.push_str(&format!("{byte:02x}"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_states_have_equal_fingerprints_and_any_difference_that_matters_shows() {
        let set =
            |id: &str| LiveAttributeSet { id: id.into(), description: None, max_attributes_per_set: None };
        let mut desired_state = DesiredState::default();
        desired_state.attribute_sets.insert(
            "Eng".into(),
            crate::model::AttributeSet {
                id: "Eng".into(),
                description: None,
                max_attributes_per_set: None,
                attributes: Default::default(),
            },
        );
        let mut state = LiveState::default();
        let empty = live(&state, &desired_state);
        assert!(empty.starts_with("sha256:") && empty.len() == 7 + 64, "{empty}");
        state.attribute_sets.insert("Eng".into(), set("Eng"));
        let with_eng = live(&state, &desired_state);
        assert_ne!(with_eng, empty);
        assert_eq!(live(&state.clone(), &desired_state), with_eng);
        let mut other = state.clone();
        other.attribute_sets.insert("Other".into(), set("Other"));
        other.attribute_sets.get_mut("Other").unwrap().description = Some("theirs".into());
        let mut described = other.clone();
        described.attribute_sets.get_mut("Other").unwrap().description = Some("changed".into());
        assert_eq!(
            live(&other, &desired_state),
            live(&described, &desired_state),
            "an undeclared set's properties do not count"
        );
        let mut declared = DesiredState::default();
        declared.assignments.insert(PrincipalKey::User("a@x".into()), Default::default());
        assert_ne!(desired(&declared), desired(&DesiredState::default()));
    }
}
