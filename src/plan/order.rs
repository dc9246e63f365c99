//! The apply order (ARCHITECTURE.md, "Apply order"): create/update sets → create/reactivate/update
//! definitions (new ones carry their allowed values) → create/reactivate
//! allowed values → assignments, grouped per principal → deactivate allowed
//! values → deactivate definitions. Within a step changes are sorted by
//! address, so the same inputs always give the same plan.
//!
//! One exception: when the plan's creates and reactivations of definitions
//! would pass Graph's limit of active definitions before the deactivations
//! ran, the deactivations that free that room run right after the sets.
//!
//! Deactivations come last so that assignments can still move away from a
//! value or attribute before it goes; creations come first so that
//! assignments can use what the plan creates.

use super::{Action, Address, Change, DefinitionSnapshot, Snapshot};
use crate::model::{MAX_ACTIVE_DEFINITIONS, Status};

/// The step of the apply order a change belongs to (1 = first).
pub fn step(change: &Change) -> u8 {
    match (&change.address, change.action) {
        (Address::AttributeSet { .. }, _) => 1,
        (Address::Definition { .. }, Action::Deactivate) => 6,
        (Address::Definition { .. }, _) => 2,
        (Address::AllowedValue { .. }, Action::Deactivate) => 5,
        (Address::AllowedValue { .. }, _) => 3,
        (Address::Assignment { .. } | Address::GroupAssignment { .. }, _) => 4,
    }
}

/// Rank of an action within one step and one address: a definition that is
/// reactivated and updated is reactivated first.
fn rank(action: Action) -> u8 {
    match action {
        Action::Create | Action::Assign => 0,
        Action::Reactivate => 1,
        Action::Update => 2,
        Action::Deactivate | Action::Unassign => 3,
    }
}

/// Sorts `changes` into apply order and numbers them from 1. `live_active`
/// is how many definitions the tenant holds Available: when the plan's
/// creates and reactivations need more room than Graph's limit leaves, as
/// many deactivations of definitions as free that room run first, right
/// after the sets (ARCHITECTURE.md, "Limits hold at every step"). The others stay last.
pub fn order(mut changes: Vec<Change>, live_active: usize) -> Vec<Change> {
    let room_freeing = room_freeing_deactivations(&changes, live_active);
    let position = |change: &Change| {
        let first = room_freeing.contains(&change.address);
        let step = if first { 1 } else { step(change) };
        (step, first, change.address.clone(), rank(change.action))
    };
    changes.sort_by_cached_key(position);
    for (index, change) in changes.iter_mut().enumerate() {
        change.seq = index + 1;
    }
    chain_snapshots(&mut changes);
    changes
}

/// Makes the `before`/`after` of the changes to one object a chain, in apply
/// order: the diff takes each change's `before` from the tenant alone, so a
/// definition that is updated and deactivated (or reactivated and updated)
/// would show a second change whose `before` ignores the first, and a last
/// `after` that is not where the object ends. Each later change starts from
/// the one before it and changes only what it changed against the tenant.
/// The writes do not depend on this: a status change sends only the status,
/// and an update only the properties it changes.
fn chain_snapshots(changes: &mut [Change]) {
    let mut last_after: std::collections::HashMap<Address, Option<Snapshot>> =
        std::collections::HashMap::new();
    for change in changes.iter_mut() {
        if !matches!(change.address, Address::Definition { .. }) {
            continue;
        }
        if let Some(Some(Snapshot::Definition(previous))) = last_after.get(&change.address)
            && let (Some(Snapshot::Definition(before)), Some(Snapshot::Definition(after))) =
                (&change.before, &change.after)
        {
            let mut chained = DefinitionSnapshot { allowed_values: Vec::new(), ..previous.clone() };
            if before.description != after.description {
                chained.description = after.description.clone();
            }
            if before.use_pre_defined_values_only != after.use_pre_defined_values_only {
                chained.use_pre_defined_values_only = after.use_pre_defined_values_only;
            }
            if before.status != after.status {
                chained.status = after.status;
            }
            let start = DefinitionSnapshot { allowed_values: Vec::new(), ..previous.clone() };
            change.before = Some(Snapshot::Definition(start));
            change.after = Some(Snapshot::Definition(chained));
        }
        last_after.insert(change.address.clone(), change.after.clone());
    }
}

/// The deactivations of definitions that must run before the creates and
/// reactivations so that the tenant never holds more than its limit of
/// active definitions, the first by address. Definitions whose allowed
/// values the plan also changes are not moved (their values are edited
/// while they are still Available); if too few remain, the plan's limit
/// check reports a conflict.
fn room_freeing_deactivations(changes: &[Change], live_active: usize) -> Vec<Address> {
    let is_definition = |change: &Change| matches!(change.address, Address::Definition { .. });
    let added = changes
        .iter()
        .filter(|change| is_definition(change))
        .filter(|change| match change.action {
            Action::Reactivate => true,
            Action::Create => {
                matches!(&change.after, Some(super::Snapshot::Definition(created)) if created.status == Status::Available)
            }
            _ => false,
        })
        .count();
    let needed = (live_active + added).saturating_sub(MAX_ACTIVE_DEFINITIONS);
    if needed == 0 || added == 0 {
        return Vec::new();
    }
    let values_changed = |set: &str, attribute: &str| {
        changes.iter().any(|change| {
            matches!(&change.address, Address::AllowedValue { set: s, attribute: a, .. } if s == set && a == attribute)
        })
    };
    let mut candidates: Vec<&Address> = changes
        .iter()
        .filter(|change| change.action == Action::Deactivate)
        .filter_map(|change| match &change.address {
            address @ Address::Definition { set, attribute } if !values_changed(set, attribute) => {
                Some(address)
            }
            _ => None,
        })
        .collect();
    candidates.sort();
    candidates.into_iter().take(needed).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Snapshot;

    fn change(action: Action, address: Address) -> Change {
        Change {
            seq: 0,
            action,
            address,
            before: None,
            after: Some(Snapshot::AllowedValue { is_active: true }),
        }
    }

    #[test]
    fn steps_follow_the_documented_order_and_seq_counts_from_one() {
        let value =
            |v: &str| Address::AllowedValue { set: "S".into(), attribute: "A".into(), value: v.into() };
        let definition = |a: &str| Address::Definition { set: "S".into(), attribute: a.into() };
        let ordered = order(
            vec![
                change(Action::Deactivate, definition("B")),
                change(Action::Deactivate, value("x")),
                change(Action::Create, value("y")),
                change(Action::Update, definition("A")),
                change(Action::Reactivate, definition("A")),
                change(Action::Create, Address::AttributeSet { set: "S".into() }),
            ],
            0,
        );
        let seen: Vec<(usize, Action, String)> =
            ordered.iter().map(|c| (c.seq, c.action, c.address.to_string())).collect();
        assert_eq!(
            seen,
            vec![
                (1, Action::Create, "S".into()),
                (2, Action::Reactivate, "S.A".into()),
                (3, Action::Update, "S.A".into()),
                (4, Action::Create, "S.A=y".into()),
                (5, Action::Deactivate, "S.A=x".into()),
                (6, Action::Deactivate, "S.B".into()),
            ]
        );
    }

    #[test]
    fn deactivations_that_free_room_for_creates_run_right_after_the_sets() {
        let definition = |a: &str| Address::Definition { set: "S".into(), attribute: a.into() };
        let created = |a: &str| Change {
            seq: 0,
            action: Action::Create,
            address: definition(a),
            before: None,
            after: Some(crate::plan::Snapshot::Definition(crate::plan::DefinitionSnapshot {
                description: None,
                data_type: crate::model::DataType::String,
                is_collection: false,
                is_searchable: true,
                use_pre_defined_values_only: false,
                status: Status::Available,
                allowed_values: Vec::new(),
            })),
        };
        let changes = vec![
            created("New"),
            change(Action::Deactivate, definition("Old1")),
            change(Action::Deactivate, definition("Old2")),
            change(Action::Create, Address::AttributeSet { set: "S".into() }),
        ];
        let seen = |ordered: Vec<Change>| -> Vec<String> {
            ordered.iter().map(|c| format!("{} {}", c.action, c.address)).collect()
        };
        assert_eq!(
            seen(order(changes.clone(), MAX_ACTIVE_DEFINITIONS)),
            vec!["create S", "deactivate S.Old1", "create S.New", "deactivate S.Old2"],
            "one create at the limit needs one deactivation first"
        );
        assert_eq!(
            seen(order(changes, MAX_ACTIVE_DEFINITIONS - 1)),
            vec!["create S", "create S.New", "deactivate S.Old1", "deactivate S.Old2"],
            "with room left, deactivations stay last"
        );
    }
}
