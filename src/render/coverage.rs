//! Coverage findings in every format of the plan: the text and Markdown
//! sections, and the JSON plan's optional `coverage[]` both ways (written,
//! and read back by `show`). Kept apart from the renderers of changes so
//! that each renderer adds them with one call.

use std::fmt::Write as _;
use std::io::{self, Write};

use serde_json::Value;

use crate::model::AttributeValue;
use crate::model::requirement::OnFailure;
use crate::plan::coverage::Finding;
use crate::plan::{Address, Plan};

use super::json_types::JsonCoverage;

/// Up to this many findings are listed in Markdown (a pull-request comment
/// or an issue has a size limit); the text and JSON plans list them all.
const MARKDOWN_LINES: usize = 100;

/// The heading of the coverage list.
pub fn heading(plan: &Plan) -> String {
    format!(
        "Coverage ({}): principals that break a requirement of the files once this plan is applied.",
        plan.coverage.len()
    )
}

/// The line an empty plan ends with when only coverage findings remain:
/// nothing to apply, but principals break the files' requirements. It
/// starts as `NO_CHANGES` does, for scripts that look for "No changes.".
pub const NO_CHANGES_BUT_COVERAGE: &str =
    "No changes. The tenant matches the files, but principals break the requirements above.";

fn line_words(finding: &Finding) -> String {
    let name = finding.display_name.as_deref().map(|name| format!(" ({name})")).unwrap_or_default();
    let conflict = if finding.outcome == OnFailure::Conflict { " [conflict]" } else { "" };
    format!(
        "{}{name}: {} — requirement `{}`{conflict}",
        finding.address, finding.message, finding.requirement
    )
}

/// The text section, or nothing when there are no findings.
pub fn write_text(plan: &Plan, out: &mut dyn Write) -> io::Result<()> {
    if plan.coverage.is_empty() {
        return Ok(());
    }
    writeln!(out, "{}", heading(plan))?;
    writeln!(out)?;
    for finding in &plan.coverage {
        writeln!(out, "  # {}", line_words(finding))?;
    }
    writeln!(out)
}

/// The Markdown section (open: a finding is what a reader must see), or
/// nothing. `code` and `cell` are the Markdown renderer's escapes.
pub fn markdown(plan: &Plan, code: &dyn Fn(&str) -> String, cell: &dyn Fn(&str) -> String) -> String {
    let mut text = String::new();
    if plan.coverage.is_empty() {
        return text;
    }
    let _ = writeln!(text, "<details open><summary>{}</summary>\n", heading(plan));
    for finding in plan.coverage.iter().take(MARKDOWN_LINES) {
        let name =
            finding.display_name.as_deref().map(|name| format!(" ({})", cell(name))).unwrap_or_default();
        let conflict = if finding.outcome == OnFailure::Conflict { " **conflict**" } else { "" };
        let _ = writeln!(
            text,
            "- {}{name}: {} — requirement {}{conflict}",
            code(&finding.address.to_string()),
            cell(&finding.message),
            code(&finding.requirement)
        );
    }
    if plan.coverage.len() > MARKDOWN_LINES {
        let _ = writeln!(
            text,
            "\n:scissors: {} more not shown; `entra-csa report --coverage` lists every one.",
            plan.coverage.len() - MARKDOWN_LINES
        );
    }
    let _ = writeln!(text, "\n</details>\n");
    text
}

/// The JSON plan's `coverage[]`.
pub fn json_entries(plan: &Plan) -> Vec<JsonCoverage> {
    plan.coverage
        .iter()
        .map(|finding| JsonCoverage {
            requirement: finding.requirement.clone(),
            address: finding.address.to_string(),
            display_name: finding.display_name.clone(),
            value: finding.value.as_ref().map_or(Value::Null, value_json),
            message: finding.message.clone(),
            outcome: match finding.outcome {
                OnFailure::Report => "finding".to_owned(),
                OnFailure::Conflict => "conflict".to_owned(),
            },
        })
        .collect()
}

fn value_json(value: &AttributeValue) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// The findings of a JSON plan's `coverage[]`, read back.
pub fn read_json(entries: &[JsonCoverage]) -> Result<Vec<Finding>, String> {
    entries
        .iter()
        .map(|entry| {
            let address = super::json_read::address(&entry.address)?;
            if !matches!(address, Address::Assignment { .. }) {
                return Err(format!("coverage: `{}` is not a principal's attribute", entry.address));
            }
            let outcome = match entry.outcome.as_str() {
                "finding" => OnFailure::Report,
                "conflict" => OnFailure::Conflict,
                other => return Err(format!("coverage: unknown outcome `{other}`")),
            };
            let value = match &entry.value {
                Value::Null => None,
                value => Some(
                    serde_json::from_value::<AttributeValue>(value.clone())
                        .map_err(|error| format!("coverage: {}: {error}", entry.address))?,
                ),
            };
            Ok(Finding {
                requirement: entry.requirement.clone(),
                address,
                display_name: entry.display_name.clone(),
                value,
                message: entry.message.clone(),
                outcome,
            })
        })
        .collect()
}
