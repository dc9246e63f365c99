//! The apply order of DESIGN §3: create/update sets → create/reactivate/update
//! definitions (new ones carry their allowed values) → create/reactivate
//! allowed values → assignments, grouped per principal → deactivate allowed
//! values → deactivate definitions. Within a step changes are sorted by
//! address, so the same inputs always give the same plan.
//!
//! Deactivations come last so that assignments can still move away from a
//! value or attribute before it goes; creations come first so that
//! assignments can use what the plan creates.

use super::{Action, Address, Change};

/// The step of the apply order a change belongs to (1 = first).
pub fn step(change: &Change) -> u8 {
    match (&change.address, change.action) {
        (Address::AttributeSet { .. }, _) => 1,
        (Address::Definition { .. }, Action::Deactivate) => 6,
        (Address::Definition { .. }, _) => 2,
        (Address::AllowedValue { .. }, Action::Deactivate) => 5,
        (Address::AllowedValue { .. }, _) => 3,
        (Address::Assignment { .. }, _) => 4,
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

/// Sorts `changes` into apply order and numbers them from 1.
pub fn order(mut changes: Vec<Change>) -> Vec<Change> {
    changes.sort_by(|a, b| (step(a), &a.address, rank(a.action)).cmp(&(step(b), &b.address, rank(b.action))));
    for (index, change) in changes.iter_mut().enumerate() {
        change.seq = index + 1;
    }
    changes
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
        let ordered = order(vec![
            change(Action::Deactivate, definition("B")),
            change(Action::Deactivate, value("x")),
            change(Action::Create, value("y")),
            change(Action::Update, definition("A")),
            change(Action::Reactivate, definition("A")),
            change(Action::Create, Address::AttributeSet { set: "S".into() }),
        ]);
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
}
