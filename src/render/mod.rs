//! Rendering a plan for people (text, Markdown) and machines (JSON). Every
//! renderer works from the plan alone — it never reads the tenant, never
//! sorts, never decides — so all formats list the changes in the same order.

pub mod coverage;
pub mod explain;
pub mod holdings;
pub mod json;
pub mod json_read;
pub mod json_types;
pub mod markdown;
pub mod readers;
pub mod text;

use std::io::{self, Write};

use crate::model::AttributeValue;
use crate::plan::{DefinitionSnapshot, Mode, Plan, Snapshot, Summary, Target};

/// An output format of `plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Markdown,
}

/// Writes `plan` in `format`. `colour` only matters for text.
pub fn render(plan: &Plan, format: Format, colour: bool, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Text => text::render(plan, colour, out),
        Format::Json => json::render(plan, out),
        Format::Markdown => markdown::render(plan, out),
    }
}

/// Writes `plan` in `format` with each drift finding's explanation from the
/// audit log (`plan --explain`); as `render` when `explained` is empty.
pub fn render_explained(
    plan: &Plan,
    explained: &crate::plan::explain::Explained,
    format: Format,
    colour: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Text => text::render_explained(plan, explained, colour, out),
        Format::Json => json::render_explained(plan, explained, out),
        Format::Markdown => markdown::render_explained(plan, explained, out),
    }
}

/// The line every empty plan ends with.
pub const NO_CHANGES: &str = "No changes. The tenant matches the files.";

/// The line an empty plan ends with when it found drift: nothing to apply,
/// but the tenant does not match the files. It starts as `NO_CHANGES` does,
/// for scripts that look for "No changes.".
pub const NO_CHANGES_BUT_DRIFT: &str =
    "No changes. The tenant differs from the files only by the drift above, reported and left as it is.";

/// The line an empty plan ends with: it matches, or differs only by drift.
pub fn no_changes_line(plan: &Plan) -> &'static str {
    if !plan.drift.is_empty() {
        NO_CHANGES_BUT_DRIFT
    } else if plan.coverage_findings() > 0 {
        coverage::NO_CHANGES_BUT_COVERAGE
    } else {
        NO_CHANGES
    }
}

/// The heading of the drift list. A definition or value reported as drift
/// is left as it is, but the values the files give a listed principal are
/// managed all the same: the heading says both, so that an unassign beside
/// a drift line of the same attribute does not read as a contradiction.
pub fn drift_heading(plan: &Plan) -> String {
    match plan.mode {
        Mode::Plan => format!(
            "Drift ({}): in the tenant, not in the files; reported and left as it is. The values \
             of the principals the files list are managed all the same.",
            plan.drift.len()
        ),
        Mode::Drift => format!(
            "Drift ({}): the tenant differs from the files (tenant value, then the files' value).",
            plan.drift.len()
        ),
    }
}

/// The heading of the impact list: what the plan's assignment changes do
/// to Conditional Access policies' scope, or, when other readers have
/// lines, to every reader's.
pub fn impact_heading(plan: &Plan) -> String {
    let only_conditional_access =
        plan.impact.iter().all(|impact| impact.reader.kind == crate::readers::conditional_access::KIND);
    if only_conditional_access {
        format!(
            "Impact on Conditional Access ({}): apps that enter or leave a policy's scope through these changes.",
            plan.impact.len()
        )
    } else {
        format!(
            "Impact on what reads these attributes ({}): who enters or leaves a policy's or workflow's scope, \
             or gains or loses access through an Azure role assignment, through these changes.",
            plan.impact.len()
        )
    }
}

/// The heading of the acknowledged drift list.
pub fn acknowledged_heading(plan: &Plan) -> String {
    format!(
        "Acknowledged drift ({}): accepted in the files (acknowledgedDrift); not counted as drift.",
        plan.acknowledged.len()
    )
}

/// `Target: ...` in words.
pub fn target_words(target: &Target) -> String {
    match target {
        Target::Graph { graph_url, tenant_id: Some(tenant) } => {
            format!("Microsoft Graph {graph_url}, tenant {tenant}")
        }
        Target::Graph { graph_url, tenant_id: None } => format!("Microsoft Graph {graph_url}"),
        Target::StateFile { path } => format!("state file {path}"),
    }
}

/// `Plan: 3 to create, 1 to update, ...` (Terraform's summary line).
pub fn summary_line(summary: &Summary) -> String {
    let plural = |count: usize, word: &str| {
        if count == 1 { format!("{count} {word}") } else { format!("{count} {word}s") }
    };
    format!(
        "Plan: {} to create, {} to update, {} to deactivate, {} to reactivate, {} to assign, {} to unassign; {}, {}.",
        summary.create,
        summary.update,
        summary.deactivate,
        summary.reactivate,
        summary.assign,
        summary.unassign,
        plural(summary.conflicts, "conflict"),
        match summary.drift {
            1 => "1 drift finding".to_owned(),
            count => format!("{count} drift findings"),
        },
    ) + &coverage_summary(summary)
}

/// `; 2 coverage findings` before the summary line's full stop, only when
/// there are any: plans without requirements keep the line they always had.
fn coverage_summary(summary: &Summary) -> String {
    match summary.coverage {
        0 => String::new(),
        1 => " 1 coverage finding.".to_owned(),
        count => format!(" {count} coverage findings."),
    }
}

/// A value as the plan shows it: strings quoted, collections in brackets.
pub fn value_words(value: &AttributeValue) -> String {
    value.to_string()
}

/// `String, collection, searchable, predefined values only`.
pub fn shape_words(definition: &DefinitionSnapshot) -> String {
    let mut words = vec![definition.data_type.to_string()];
    words.push(if definition.is_collection { "collection" } else { "single value" }.to_owned());
    words.push(if definition.is_searchable { "searchable" } else { "not searchable" }.to_owned());
    if definition.use_pre_defined_values_only {
        words.push("predefined values only".to_owned());
    }
    words.join(", ")
}

/// `Alpine, Baker, Legacy (inactive)`.
pub fn allowed_values_words(values: &[(String, bool)]) -> String {
    values
        .iter()
        .map(|(id, active)| if *active { id.clone() } else { format!("{id} (inactive)") })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A one-line account of a snapshot, for tables.
pub fn snapshot_words(snapshot: &Snapshot) -> String {
    match snapshot {
        Snapshot::AttributeSet { description, max_attributes_per_set } => {
            let mut parts = Vec::new();
            if let Some(description) = description {
                parts.push(format!("description: {description:?}"));
            }
            if let Some(max) = max_attributes_per_set {
                parts.push(format!("maxAttributesPerSet: {max}"));
            }
            parts.join("; ")
        }
        Snapshot::Definition(definition) => {
            let mut parts = vec![shape_words(definition), definition.status.to_string()];
            if let Some(description) = &definition.description {
                parts.push(format!("description: {description:?}"));
            }
            if !definition.allowed_values.is_empty() {
                parts.push(format!("values: {}", allowed_values_words(&definition.allowed_values)));
            }
            parts.join("; ")
        }
        Snapshot::AllowedValue { is_active } => (if *is_active { "active" } else { "inactive" }).to_owned(),
        Snapshot::Assignment { value, .. } => value_words(value),
    }
}

/// Before and after of a change in words, for tables: all properties of a
/// created object, only the changed ones of an updated one.
pub fn change_words(before: Option<&Snapshot>, after: Option<&Snapshot>) -> (Option<String>, Option<String>) {
    match (before, after) {
        (
            Some(Snapshot::AttributeSet { description: old_description, max_attributes_per_set: old_max }),
            Some(Snapshot::AttributeSet { description, max_attributes_per_set }),
        ) => {
            let (mut old, mut new) = (Vec::new(), Vec::new());
            if old_description != description {
                old.push(format!("description: {}", optional_text(old_description)));
                new.push(format!("description: {}", optional_text(description)));
            }
            if old_max != max_attributes_per_set {
                old.push(format!("maxAttributesPerSet: {}", optional_number(old_max)));
                new.push(format!("maxAttributesPerSet: {}", optional_number(max_attributes_per_set)));
            }
            (Some(old.join("; ")), Some(new.join("; ")))
        }
        (Some(Snapshot::Definition(old_definition)), Some(Snapshot::Definition(definition))) => {
            let (mut old, mut new) = (Vec::new(), Vec::new());
            if old_definition.description != definition.description {
                old.push(format!("description: {}", optional_text(&old_definition.description)));
                new.push(format!("description: {}", optional_text(&definition.description)));
            }
            if old_definition.use_pre_defined_values_only != definition.use_pre_defined_values_only {
                old.push(format!("usePreDefinedValuesOnly: {}", old_definition.use_pre_defined_values_only));
                new.push(format!("usePreDefinedValuesOnly: {}", definition.use_pre_defined_values_only));
            }
            if old_definition.status != definition.status {
                old.push(format!("status: {}", old_definition.status));
                new.push(format!("status: {}", definition.status));
            }
            (Some(old.join("; ")), Some(new.join("; ")))
        }
        (before, after) => (before.map(snapshot_words), after.map(snapshot_words)),
    }
}

/// The word diff of two texts as runs of equal, deleted and inserted text.
pub fn word_runs(old: &str, new: &str) -> Vec<(similar::ChangeTag, String)> {
    let diff = similar::TextDiff::from_words(old, new);
    let mut runs: Vec<(similar::ChangeTag, String)> = Vec::new();
    for change in diff.iter_all_changes() {
        match runs.last_mut() {
            Some((tag, run)) if *tag == change.tag() => run.push_str(change.value()),
            _ => runs.push((change.tag(), change.value().to_owned())),
        }
    }
    runs
}

fn optional_text(text: &Option<String>) -> String {
    text.as_ref().map_or_else(|| "(none)".to_owned(), |text| format!("{text:?}"))
}

fn optional_number(number: &Option<i32>) -> String {
    number.map_or_else(|| "(none)".to_owned(), |number| number.to_string())
}
