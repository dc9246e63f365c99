//! Finishing a saved plan that an earlier apply carried out in part (it was
//! stopped by its deadline, a signal or a fault): the tenant then differs
//! from the plan's snapshot by some of the plan's own changes, and only by
//! them. Each change is judged on the tenant as it is now — already made
//! (the tenant holds what the change leaves) or still to do (it holds what
//! the change found) — and the made ones are undone on a copy, which gives
//! back the tenant as the plan found it. If that copy has the plan's live
//! fingerprint and plans to the same changes, the difference was the plan's
//! own work and the rest may be applied; any other difference is still a
//! stale plan. Pure: no I/O.

use crate::model::live::{LivePrincipal, LiveState, PrincipalId};
use crate::model::{AttributeValue, Status, definition_id};

use super::effect::definition_from_snapshot;
use super::{Action, Address, Change, Snapshot};

/// The tenant as a saved plan found it, and which of its changes are made.
#[derive(Debug, Clone, PartialEq)]
pub struct Resumption {
    /// The tenant now with the made changes undone.
    pub snapshot: LiveState,
    /// Per change, in plan order: whether the tenant already holds it.
    pub done: Vec<bool>,
}

impl Resumption {
    /// How many of the plan's changes the tenant already holds.
    pub fn done_count(&self) -> usize {
        self.done.iter().filter(|done| **done).count()
    }
}

/// A change of the plan whose object is neither as the plan found it nor
/// as the plan leaves it: something besides this plan changed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("change {seq} ({address}): the tenant holds neither what the plan found there nor what it leaves")]
pub struct ForeignChange {
    pub seq: usize,
    pub address: String,
}

/// Whether one change is in the tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Progress {
    Done,
    ToDo,
}

/// The tenant as `changes` found it, judged from `live`, the tenant now.
/// The changes are judged and undone last to first, so a change sees its
/// object as the changes before it left it.
pub fn before_the_plan(live: &LiveState, changes: &[Change]) -> Result<Resumption, ForeignChange> {
    let principals = principals_of(live, changes);
    let mut snapshot = live.clone();
    let mut done = vec![false; changes.len()];
    for (index, change) in changes.iter().enumerate().rev() {
        let foreign = || ForeignChange { seq: change.seq, address: change.address.to_string() };
        let principal = principals[index].as_ref();
        match progress(&snapshot, change, principal).ok_or_else(foreign)? {
            Progress::ToDo => {}
            Progress::Done => {
                undo(&mut snapshot, change, principal).ok_or_else(foreign)?;
                done[index] = true;
            }
        }
    }
    Ok(Resumption { snapshot, done })
}

/// How many of `changes` the tenant `live` holds as each leaves it, each
/// judged on its own (the tenant may have changed otherwise too).
pub fn done_count(live: &LiveState, changes: &[Change]) -> usize {
    let principals = principals_of(live, changes);
    changes
        .iter()
        .zip(&principals)
        .filter(|(change, principal)| progress(live, change, principal.as_ref()) == Some(Progress::Done))
        .count()
}

/// The principal each assignment change is on, found by the key the
/// change names (a saved plan's own object ids are not trusted), with one
/// index for them all.
fn principals_of(live: &LiveState, changes: &[Change]) -> Vec<Option<PrincipalId>> {
    let index = live.principal_index();
    changes
        .iter()
        .map(|change| match &change.address {
            Address::Assignment { principal, .. } => index.find(principal).map(LivePrincipal::id),
            _ => None,
        })
        .collect()
}

/// Done when the tenant holds what the change leaves (also when that is
/// what it found), to do when it holds what the change found, `None` else.
fn judge<T: PartialEq>(now: T, found: T, leaves: T) -> Option<Progress> {
    if now == leaves {
        Some(Progress::Done)
    } else if now == found {
        Some(Progress::ToDo)
    } else {
        None
    }
}

type SetFacet = Option<(Option<String>, Option<i32>)>;

fn set_facet(snapshot: Option<&Snapshot>) -> Option<SetFacet> {
    match snapshot {
        None => Some(None),
        Some(Snapshot::AttributeSet { description, max_attributes_per_set }) => {
            Some(Some((description.clone(), *max_attributes_per_set)))
        }
        Some(_) => None,
    }
}

/// The value a change's snapshot names (`None` for no snapshot: unassigned).
fn value_facet(snapshot: Option<&Snapshot>) -> Option<Option<AttributeValue>> {
    match snapshot {
        None => Some(None),
        Some(Snapshot::Assignment { value, .. }) => Some(Some(value.clone())),
        Some(_) => None,
    }
}

/// The status a deactivation or reactivation leaves, and the one it finds.
fn statuses(action: Action) -> (Status, Status) {
    if action == Action::Deactivate {
        (Status::Available, Status::Deprecated)
    } else {
        (Status::Deprecated, Status::Available)
    }
}

fn progress(live: &LiveState, change: &Change, principal: Option<&PrincipalId>) -> Option<Progress> {
    let (before, after) = (change.before.as_ref(), change.after.as_ref());
    match (&change.address, change.action) {
        (Address::AttributeSet { set }, Action::Create | Action::Update) => {
            let now = live
                .attribute_sets
                .get(set)
                .map(|found| (found.description.clone(), found.max_attributes_per_set));
            let found = if change.action == Action::Create { None } else { set_facet(before)? };
            judge(now, found, set_facet(after)?)
        }
        (Address::Definition { set, attribute }, Action::Create) => {
            let Some(Snapshot::Definition(after)) = after else { return None };
            let now = live.definitions.get(&definition_id(set, attribute));
            judge(now.cloned(), None, Some(definition_from_snapshot(set, attribute, after)))
        }
        (Address::Definition { set, attribute }, Action::Update) => {
            let (Some(Snapshot::Definition(before)), Some(Snapshot::Definition(after))) = (before, after)
            else {
                return None;
            };
            let now = live.definitions.get(&definition_id(set, attribute))?;
            let facet = |description: &Option<String>, only: bool| (description.clone(), only);
            judge(
                facet(&now.description, now.use_pre_defined_values_only),
                facet(&before.description, before.use_pre_defined_values_only),
                facet(&after.description, after.use_pre_defined_values_only),
            )
        }
        (Address::Definition { set, attribute }, Action::Deactivate | Action::Reactivate) => {
            let now = live.definitions.get(&definition_id(set, attribute))?;
            let (found, leaves) = statuses(change.action);
            judge(now.status, found, leaves)
        }
        (Address::AllowedValue { set, attribute, value }, action) => {
            let now = live
                .definitions
                .get(&definition_id(set, attribute))
                .and_then(|definition| definition.allowed_value(value))
                .map(|allowed| allowed.is_active);
            match (action, after) {
                (Action::Create, Some(Snapshot::AllowedValue { is_active })) => {
                    judge(now, None, Some(*is_active))
                }
                (Action::Deactivate | Action::Reactivate, _) => {
                    let leaves = action == Action::Reactivate;
                    judge(now, Some(!leaves), Some(leaves))
                }
                _ => None,
            }
        }
        (Address::Assignment { set, attribute, .. }, Action::Assign | Action::Update | Action::Unassign) => {
            let now = live.principals.get(principal?)?.value(set, attribute).cloned();
            judge(now, value_facet(before)?, value_facet(after)?)
        }
        _ => None,
    }
}

/// Puts back what `change` found. `None` when the object is not there.
fn undo(live: &mut LiveState, change: &Change, principal: Option<&PrincipalId>) -> Option<()> {
    match (&change.address, change.action) {
        (Address::AttributeSet { set }, Action::Create) => {
            live.attribute_sets.remove(set)?;
        }
        (Address::AttributeSet { set }, _) => {
            let Some(Snapshot::AttributeSet { description, max_attributes_per_set }) = &change.before else {
                return None;
            };
            let found = live.attribute_sets.get_mut(set)?;
            found.description = description.clone();
            found.max_attributes_per_set = *max_attributes_per_set;
        }
        (Address::Definition { set, attribute }, Action::Create) => {
            live.definitions.remove(&definition_id(set, attribute))?;
        }
        (Address::Definition { set, attribute }, Action::Update) => {
            let Some(Snapshot::Definition(before)) = &change.before else { return None };
            let found = live.definitions.get_mut(&definition_id(set, attribute))?;
            found.description = before.description.clone();
            found.use_pre_defined_values_only = before.use_pre_defined_values_only;
        }
        (Address::Definition { set, attribute }, action) => {
            live.definitions.get_mut(&definition_id(set, attribute))?.status = statuses(action).0;
        }
        (Address::AllowedValue { set, attribute, value }, action) => {
            let definition = live.definitions.get_mut(&definition_id(set, attribute))?;
            if action == Action::Create {
                let position = definition.allowed_values.iter().position(|allowed| allowed.id == *value)?;
                definition.allowed_values.remove(position);
            } else {
                definition.allowed_values.iter_mut().find(|allowed| allowed.id == *value)?.is_active =
                    action == Action::Deactivate;
            }
        }
        (Address::Assignment { set, attribute, .. }, _) => {
            let found = live.principals.get_mut(principal?)?;
            let before = value_facet(change.before.as_ref())?;
            set_value(found, set, attribute, before);
        }
        (Address::GroupAssignment { .. }, _) => return None,
    }
    Some(())
}

/// Sets or removes one value. A principal left with no values holds
/// `null`, as Graph answers for one with nothing assigned.
fn set_value(principal: &mut LivePrincipal, set: &str, attribute: &str, value: Option<AttributeValue>) {
    let sets = principal.custom_security_attributes.get_or_insert_with(Default::default);
    match value {
        Some(value) => {
            sets.entry(set.to_owned()).or_default().insert(attribute.to_owned(), value);
        }
        None => {
            if let Some(values) = sets.get_mut(set) {
                values.remove(attribute);
                if values.is_empty() {
                    sets.remove(set);
                }
            }
        }
    }
    if principal.custom_security_attributes.as_ref().is_some_and(|sets| sets.is_empty()) {
        principal.custom_security_attributes = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::live::LiveAttributeSet;
    use crate::model::{PrincipalKey, PrincipalKind};

    fn user(object_id: &str, upn: &str, value: Option<AttributeValue>) -> LivePrincipal {
        LivePrincipal {
            kind: PrincipalKind::User,
            object_id: object_id.into(),
            user_principal_name: Some(upn.into()),
            app_id: None,
            display_name: None,
            odata_type: None,
            custom_security_attributes: value.map(|value| {
                [("Eng".to_owned(), [("Level".to_owned(), value)].into_iter().collect())]
                    .into_iter()
                    .collect()
            }),
        }
    }

    fn tenant(level: Option<AttributeValue>, with_set: bool) -> LiveState {
        let mut live = LiveState::default();
        if with_set {
            live.attribute_sets.insert(
                "Eng".into(),
                LiveAttributeSet {
                    id: "Eng".into(),
                    description: Some("d".into()),
                    max_attributes_per_set: None,
                },
            );
        }
        let principal = user("id-a", "a@x", level);
        live.principals.insert(principal.id(), principal);
        live
    }

    /// Create the set, then assign `Level = 3` to a@x (its saved object id
    /// wrong on purpose: a saved plan's ids are not trusted).
    fn changes() -> Vec<Change> {
        vec![
            Change {
                seq: 1,
                action: Action::Create,
                address: Address::AttributeSet { set: "Eng".into() },
                before: None,
                after: Some(Snapshot::AttributeSet {
                    description: Some("d".into()),
                    max_attributes_per_set: None,
                }),
            },
            Change {
                seq: 2,
                action: Action::Assign,
                address: Address::Assignment {
                    principal: PrincipalKey::User("a@x".into()),
                    set: "Eng".into(),
                    attribute: "Level".into(),
                },
                before: None,
                after: Some(Snapshot::Assignment {
                    principal: PrincipalId { kind: PrincipalKind::User, object_id: "a@x".into() },
                    value: AttributeValue::Integer(3),
                }),
            },
        ]
    }

    #[test]
    fn each_change_is_done_or_to_do_and_the_done_ones_are_taken_back() {
        let before = tenant(None, false);
        // Nothing applied.
        let resumed = before_the_plan(&before, &changes()).unwrap();
        assert_eq!((resumed.done, resumed.snapshot), (vec![false, false], before.clone()));
        // The set only.
        let resumed = before_the_plan(&tenant(None, true), &changes()).unwrap();
        assert_eq!((resumed.done, resumed.snapshot), (vec![true, false], before.clone()));
        // Both: the value taken back leaves `null`, as Graph answers.
        let resumed = before_the_plan(&tenant(Some(AttributeValue::Integer(3)), true), &changes()).unwrap();
        assert_eq!((resumed.done, resumed.snapshot), (vec![true, true], before));
    }

    #[test]
    fn a_value_neither_found_nor_left_by_the_plan_is_foreign() {
        let error = before_the_plan(&tenant(Some(AttributeValue::Integer(7)), true), &changes()).unwrap_err();
        assert_eq!(error.seq, 2);
        assert!(error.to_string().contains("user:a@x/Eng.Level"), "{error}");
        assert_eq!(done_count(&tenant(Some(AttributeValue::Integer(7)), true), &changes()), 1);
    }
}
