//! Exists so that every format shows a drift finding's explanation from the
//! audit log (`plan --explain`, `plan::explain`) the same way: who, when,
//! the activity, the old and new values. Text and Markdown put the lines
//! under their finding; JSON adds an optional `explanation` to it (an
//! addition within format version 2).

use crate::plan::explain::{Actor, ExplainedFinding, Explanation, PropertyChange};

use super::json_types::{JsonActor, JsonAuditChange, JsonAuditEntry, JsonExplanation};

/// The lines under a finding, in plain words (text; Markdown escapes its own).
pub fn lines(finding: ExplainedFinding<'_>) -> Vec<String> {
    match finding {
        ExplainedFinding::NothingSince(since) => {
            vec![format!("no change to it in the audit log since {since}")]
        }
        ExplainedFinding::Found(found) => {
            let mut lines: Vec<String> = found.entries.iter().map(entry_words).collect();
            if found.older > 0 {
                lines.push(format!("and {} earlier change(s) in the audit log", found.older));
            }
            lines
        }
    }
}

/// `changed 2026-12-07T09:12:03Z by user bob@contoso.com (Update attribute
/// values assigned to a user): Engineering.Project ["Alpine"] → ["Baker"]`.
pub fn entry_words(entry: &Explanation) -> String {
    let mut words = format!("changed {} by {} ({})", entry.at, entry.actor.words(), entry.activity);
    let changes: Vec<String> = entry.changes.iter().map(change_words).collect();
    if changes.is_empty() {
        words.push_str(": the entry does not name the attribute's values");
    } else {
        words.push_str(": ");
        words.push_str(&changes.join("; "));
    }
    words
}

/// `Engineering.Project ["Alpine"] → ["Baker"]`, `(none)` for a side Graph left empty.
pub fn change_words(change: &PropertyChange) -> String {
    let side = |value: &Option<String>| value.clone().unwrap_or_else(|| "(none)".to_owned());
    format!("{} {} → {}", change.name, side(&change.old_value), side(&change.new_value))
}

/// The `explanation` of a JSON drift finding, the log read from `since`.
pub fn json(finding: ExplainedFinding<'_>, since: &str) -> JsonExplanation {
    match finding {
        ExplainedFinding::NothingSince(_) => {
            JsonExplanation { audit_log_since: since.to_owned(), entries: Vec::new(), older_entries: 0 }
        }
        ExplainedFinding::Found(found) => JsonExplanation {
            audit_log_since: since.to_owned(),
            entries: found.entries.iter().map(json_entry).collect(),
            older_entries: found.older,
        },
    }
}

fn json_entry(entry: &Explanation) -> JsonAuditEntry {
    JsonAuditEntry {
        activity_date_time: entry.at.clone(),
        activity: entry.activity.clone(),
        initiated_by: match &entry.actor {
            Actor::User { user_principal_name, id, display_name } => JsonActor {
                kind: "user".into(),
                user_principal_name: user_principal_name.clone(),
                id: id.clone(),
                display_name: display_name.clone(),
                app_id: None,
            },
            Actor::App { display_name, app_id, service_principal_id } => JsonActor {
                kind: "app".into(),
                user_principal_name: None,
                id: service_principal_id.clone(),
                display_name: display_name.clone(),
                app_id: app_id.clone(),
            },
            Actor::Unknown => JsonActor {
                kind: "unknown".into(),
                user_principal_name: None,
                id: None,
                display_name: None,
                app_id: None,
            },
        },
        changes: entry
            .changes
            .iter()
            .map(|change| JsonAuditChange {
                property: change.name.clone(),
                old_value: change.old_value.clone(),
                new_value: change.new_value.clone(),
            })
            .collect(),
    }
}
