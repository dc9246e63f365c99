//! What the plan makes of the references readers make (`readers`): each
//! reader naming an attribute or value the plan deactivates is listed (name
//! and state); one that acts (enabled, report-only) makes the deactivation a
//! conflict, unless the files acknowledge it (`acknowledgedReferences`).
//! Readers not read make a note saying so.
//!
//! Pure: the readers come in `LiveState`.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::live::LiveState;
use crate::plan::{Action, Address, Change, Conflict, Note};
use crate::readers::{READERS, Reference};

/// A note for each kind of reader read only in part, when the plan
/// deactivates something or changes a value (otherwise nothing it does could
/// concern them).
pub fn partly_checked(changes: &[Change], live: &LiveState) -> Vec<Note> {
    let concerned = changes.iter().any(|change| {
        change.action == Action::Deactivate || matches!(change.address, Address::Assignment { .. })
    });
    if !concerned {
        return Vec::new();
    }
    READERS
        .iter()
        .filter_map(|reader| reader.partly_checked(live))
        .map(|message| Note { address: None, message })
        .collect()
}

/// What the plan makes of one reference to something it deactivates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The reader acts and the files do not acknowledge it: refused.
    Conflict,
    /// The reader acts and the files acknowledge it: said.
    Acknowledged,
    /// The reader does not act (disabled): said.
    Noted,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Conflict => "conflict",
            Outcome::Acknowledged => "acknowledged",
            Outcome::Noted => "note",
        }
    }
}

/// One reference naming what the plan deactivates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    /// The deactivated definition or value.
    pub address: Address,
    pub reference: Reference,
    pub outcome: Outcome,
}

/// Every reference naming what `changes` deactivate, in the order of the
/// changes, with what the plan makes of it.
pub fn named(changes: &[Change], live: &LiveState, acknowledged: &BTreeMap<String, String>) -> Vec<Named> {
    let found = crate::readers::references(live);
    let mut named = Vec::new();
    for change in changes.iter().filter(|change| change.action == Action::Deactivate) {
        let naming = found.iter().filter(|reference| match &change.address {
            Address::Definition { set, attribute } => reference.names_attribute(set, attribute),
            Address::AllowedValue { set, attribute, value } => {
                reference.names_attribute(set, attribute) && reference.names_value(value)
            }
            _ => false,
        });
        for reference in naming {
            let outcome =
                match (reference.reader.state.acts(), acknowledged.contains_key(&change.address.to_string()))
                {
                    (true, false) => Outcome::Conflict,
                    (true, true) => Outcome::Acknowledged,
                    (false, _) => Outcome::Noted,
                };
            named.push(Named { address: change.address.clone(), reference: reference.clone(), outcome });
        }
    }
    named
}

/// The conflicts and notes of the plan's deactivations against the policies.
pub fn check(
    changes: &[Change],
    live: &LiveState,
    acknowledged: &BTreeMap<String, String>,
) -> (Vec<Conflict>, Vec<Note>) {
    let mut conflicts = Vec::new();
    let mut notes = Vec::new();
    let deactivations: Vec<&Change> =
        changes.iter().filter(|change| change.action == Action::Deactivate).collect();
    // One note for each reason a kind of reader was not read (kinds read
    // from the same endpoints share one).
    let mut unread = BTreeSet::new();
    for reader in READERS {
        if let Some(reason) = reader.not_checked(live) {
            unread.insert(reason);
        }
    }
    if !deactivations.is_empty() {
        for reason in &unread {
            notes.push(Note {
                address: None,
                message: format!(
                    "references not checked: {reason}; the plan cannot say which policies name what it deactivates"
                ),
            });
        }
    }
    let mut used = BTreeSet::new();
    for Named { address: deactivated, reference, outcome } in named(changes, live, acknowledged) {
        let address = deactivated.to_string();
        {
            let what = reference.reader.describe();
            match (outcome, acknowledged.get(&address)) {
                (Outcome::Conflict, _) | (Outcome::Acknowledged, None) => conflicts.push(Conflict {
                    address: deactivated.clone(),
                    property: "references".to_owned(),
                    live: Some(what.clone()),
                    desired: Some("deactivated".to_owned()),
                    message: format!("deactivating {address} changes what {what} does: it names it"),
                    hint: format!(
                        "change the policy first, or acknowledge it in the files: \
                         `acknowledgedReferences: {{ \"{address}\": <why> }}`"
                    ),
                }),
                (Outcome::Acknowledged, Some(reason)) => {
                    used.insert(address.clone());
                    notes.push(Note {
                        address: Some(deactivated.clone()),
                        message: format!("named by {what}; acknowledged reference: {reason}"),
                    });
                }
                (Outcome::Noted, _) => notes
                    .push(Note { address: Some(deactivated.clone()), message: format!("named by {what}") }),
            }
        }
    }
    // An acknowledgement nothing needs any more is said, so the list cannot
    // rot; unless a reader that might need it could not be read.
    if !unread.is_empty() && !deactivations.is_empty() {
        return (conflicts, notes);
    }
    // A misspelt one (`Access.Teir`) names the conflict it likely meant to acknowledge.
    let refused: Vec<String> = conflicts.iter().map(|conflict| conflict.address.to_string()).collect();
    for address in acknowledged.keys().filter(|address| !used.contains(*address)) {
        let advice = match crate::desired::diagnostic::nearest(address, refused.iter().map(String::as_str)) {
            Some(near) => format!("did you mean `{near}`? If not, remove it from acknowledgedReferences"),
            None => "remove it from acknowledgedReferences".to_owned(),
        };
        notes.push(Note {
            address: None,
            message: format!(
                "acknowledged reference `{address}` matches no deactivation that an enabled or report-only \
                 policy names: {advice}"
            ),
        });
    }
    (conflicts, notes)
}
