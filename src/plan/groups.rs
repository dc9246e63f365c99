//! Assignments by group (`assignments.groups`): what each group entry gives
//! the principals it reaches, from the memberships the tenant returned at
//! plan time. The diff asks it, principal by principal, and plans the
//! changes; this module only works out who is given what, by which group,
//! and where two sources disagree.
//!
//! Decisions (docs/src/how-to/assign-by-group.md):
//! - A group names only the attributes it lists: a member's other values,
//!   in the same set or not, are left as they are (a directly listed
//!   principal keeps its own rule: each set it lists is managed whole).
//! - Two groups giving one principal the same attribute with equal values
//!   is fine; with different values it is a conflict naming both groups
//!   and the principal, and nothing is planned for that attribute.
//! - A group the tenant does not hold, a display name that several groups
//!   share, or a group of more than `MAX_GROUP_MEMBERS` members is a
//!   conflict at each attribute the entry gives.

use std::collections::BTreeMap;

use crate::model::live::{
    LivePrincipal, LiveState, MAX_GROUP_MEMBERS, Membership, PrincipalId, PrincipalIndex,
};
use crate::model::{AttributeValue, DesiredState, PrincipalKey, PrincipalKind};
use crate::plan::diff::Diff;
use crate::plan::{Address, Conflict, Note};

/// One value a group gives a principal.
#[derive(Debug, Clone, Copy)]
pub struct Grant<'a> {
    pub value: &'a AttributeValue,
    /// The group entry, as the files key it.
    pub group: &'a str,
    /// Another source gives a different value: a conflict, nothing planned.
    pub disputed: bool,
}

/// Set → attribute → what a group gives.
pub type Grants<'a> = BTreeMap<&'a str, BTreeMap<&'a str, Grant<'a>>>;

/// What the groups give, by principal, and which attributes they are
/// authoritative for.
#[derive(Debug, Default)]
pub struct GroupGrants<'a> {
    pub by_principal: BTreeMap<PrincipalId, Grants<'a>>,
    /// `(set, attribute)` → the groups authoritative for it.
    pub authoritative: BTreeMap<(&'a str, &'a str), Vec<&'a str>>,
}

impl<'a> GroupGrants<'a> {
    pub fn get(&self, principal: &PrincipalId, set: &str, attribute: &str) -> Option<&Grant<'a>> {
        self.by_principal.get(principal)?.get(set)?.get(attribute)
    }
}

/// The address of a group entry's attribute, for its conflicts and notes.
fn group_address(group: &str, set: &str, attribute: &str) -> Address {
    Address::GroupAssignment { group: group.to_owned(), set: set.to_owned(), attribute: attribute.to_owned() }
}

/// What every group entry of `desired` gives the principals it reaches.
/// Problems go to `out`: groups not found or named ambiguously, and two
/// groups disagreeing on a principal's value (`address_of` names the
/// principal as the plan addresses it).
pub fn grants<'a>(
    desired: &'a DesiredState,
    live: &'a LiveState,
    index: &PrincipalIndex<'a>,
    address_of: &dyn Fn(&LivePrincipal) -> PrincipalKey,
    out: &mut Diff,
) -> GroupGrants<'a> {
    let mut grants = GroupGrants::default();
    for (group, entry) in &desired.group_assignments {
        let attributes = entry
            .values
            .iter()
            .flat_map(|(set, values)| values.iter().map(move |(attribute, value)| (set, attribute, value)));
        let members = match live.memberships.get(group) {
            Some(Membership::Group { members, other_members, id, .. }) => {
                if !other_members.is_empty() {
                    let named =
                        if id.eq_ignore_ascii_case(group) { String::new() } else { format!(" ({id})") };
                    out.notes.push(Note {
                        address: None,
                        message: format!(
                            "group `{group}`{named}: {} member(s) neither users nor service principals \
                             (devices, contacts) hold no values and are left alone",
                            other_members.len()
                        ),
                    });
                }
                members
            }
            found => {
                let (message, hint) = unresolved(group, found);
                for (set, attribute, value) in attributes {
                    out.conflicts.push(Conflict {
                        address: group_address(group, set, attribute),
                        property: "group".into(),
                        live: None,
                        desired: Some(value.to_string()),
                        message: message.clone(),
                        hint: hint.clone(),
                    });
                }
                continue;
            }
        };
        for set_attribute in &entry.authoritative {
            if let Some((set, attribute)) = set_attribute.split_once('.') {
                grants.authoritative.entry((set, attribute)).or_default().push(group);
            }
        }
        for member in members {
            let key = match member.kind {
                PrincipalKind::User => PrincipalKey::User(member.object_id.clone()),
                PrincipalKind::ServicePrincipal => {
                    PrincipalKey::ServicePrincipal(format!("id:{}", member.object_id))
                }
            };
            let Some(principal) = index.find(&key) else { continue };
            let given = grants.by_principal.entry(principal.id()).or_default();
            for (set, attribute, value) in attributes.clone() {
                let in_set = given.entry(set.as_str()).or_default();
                match in_set.get_mut(attribute.as_str()) {
                    None => {
                        in_set.insert(attribute, Grant { value, group, disputed: false });
                    }
                    Some(first) if first.value == value => {}
                    Some(first) => {
                        if !first.disputed {
                            first.disputed = true;
                            out.conflicts.push(disagreement(
                                Address::Assignment {
                                    principal: address_of(principal),
                                    set: set.clone(),
                                    attribute: attribute.clone(),
                                },
                                (&format!("group:{}", first.group), first.value),
                                (&format!("group:{group}"), value),
                            ));
                        }
                    }
                }
            }
        }
    }
    grants
}

/// The conflict of two sources giving one principal's attribute different
/// values: each source is `(name, value)`, e.g. `("group:Eng", "Alpine")`.
pub fn disagreement(
    address: Address,
    (first, first_value): (&str, &AttributeValue),
    (second, second_value): (&str, &AttributeValue),
) -> Conflict {
    let Address::Assignment { principal, set, attribute } = &address else {
        unreachable!("a principal's value")
    };
    Conflict {
        message: format!(
            "{principal} is given `{set}.{attribute}` = {first_value} by {first} and = {second_value} by \
             {second}: one principal holds one value"
        ),
        hint: format!("give `{set}.{attribute}` to {principal} from one source, or make both values equal"),
        property: "source".into(),
        live: None,
        desired: Some(format!("{first}: {first_value}; {second}: {second_value}")),
        address,
    }
}

/// Why a group entry cannot be planned, and what to do.
fn unresolved(group: &str, found: Option<&Membership>) -> (String, String) {
    match found {
        Some(Membership::NotFound { suggestion }) => (
            format!("no group in the tenant has the object id or display name `{group}`"),
            match suggestion {
                Some(near) => format!("did you mean `{near}`?"),
                None => "key the group by its object id, or by its whole display name".into(),
            },
        ),
        Some(Membership::Ambiguous { candidates }) => (
            format!(
                "{} groups have the display name `{group}`: {}",
                candidates.len(),
                candidates.iter().map(|(id, name)| format!("{id} ({name})")).collect::<Vec<_>>().join(", ")
            ),
            "key the group by its object id: a display name is an alias only where it is unique".into(),
        ),
        Some(Membership::TooLarge { read }) => (
            format!("group `{group}` has {read} members, more than the {MAX_GROUP_MEMBERS} a plan reads"),
            "assign by smaller groups, or by an attribute the directory already holds".into(),
        ),
        Some(Membership::Group { .. }) | None => (
            format!("the members of group `{group}` were not read"),
            "plan again: a plan reads every group the files name".into(),
        ),
    }
}
