//! Coverage findings in every format of the plan: the text and Markdown
//! sections, the JSON plan's optional `coverage[]` both ways (written,
//! and read back by `show`), and the rows of `report --coverage`. Kept apart from the renderers of changes so
//! that each renderer adds them with one call.

use std::fmt::Write as _;
use std::io::{self, Write};

use serde_json::Value;

use crate::model::AttributeValue;
use crate::model::requirement::OnFailure;
use crate::plan::coverage::{Finding, Tally};
use crate::plan::{Address, Mode, Plan};

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

/// On a drift check (`plan --drift`), the callout at the top of the
/// Markdown (the nightly issue's body) when principals break a requirement:
/// findings are what such a check exists to show.
pub fn markdown_caution(plan: &Plan) -> String {
    let findings = plan.coverage_findings();
    if plan.mode != Mode::Drift || findings == 0 {
        return String::new();
    }
    format!(
        "> [!CAUTION]\n> **{findings} principal(s) break the files' requirements**: they hold no value, or \
         not an accepted one, of an attribute every one of them must hold.\n\n"
    )
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

// ───────────────────────────── report --coverage ─────────────────────────────

/// The columns of `report --coverage --format csv`: one row per principal
/// that breaks a requirement, the requirement's counts on each; a
/// requirement nobody breaks has one row with the principal's cells empty.
pub const REPORT_CSV_HEADER: [&str; 10] = [
    "requirement",
    "principals",
    "mustHold",
    "total",
    "meeting",
    "breaking",
    "principal",
    "displayName",
    "value",
    "problem",
];

/// `report --coverage` as CSV.
pub fn write_report_csv(tallies: &[Tally], out: &mut dyn Write) -> io::Result<()> {
    let header: Vec<String> = REPORT_CSV_HEADER.iter().map(|cell| (*cell).to_owned()).collect();
    super::holdings::write_csv_line(out, &header)?;
    for tally in tallies {
        let requirement = &tally.requirement;
        let head = [
            requirement.name.clone(),
            requirement.principals.to_string(),
            requirement.attribute_address(),
            tally.principals.to_string(),
            tally.meeting.to_string(),
            tally.breaking.len().to_string(),
        ];
        if tally.breaking.is_empty() {
            let problem =
                tally.not_checked.as_ref().map(|reason| format!("not checked: {reason}")).unwrap_or_default();
            let cells: Vec<String> =
                head.iter().cloned().chain([String::new(), String::new(), String::new(), problem]).collect();
            super::holdings::write_csv_line(out, &cells)?;
        }
        for finding in &tally.breaking {
            let principal = match &finding.address {
                Address::Assignment { principal, .. } => principal.to_string(),
                other => other.to_string(),
            };
            let cells: Vec<String> = head
                .iter()
                .cloned()
                .chain([
                    principal,
                    finding.display_name.clone().unwrap_or_default(),
                    finding.value.as_ref().map(ToString::to_string).unwrap_or_default(),
                    finding.message.clone(),
                ])
                .collect();
            super::holdings::write_csv_line(out, &cells)?;
        }
    }
    Ok(())
}

/// `report --coverage --format json`: per requirement, its rule, how many
/// principals it judged and how many meet it, and who breaks it.
pub fn write_report_json(tallies: &[Tally], out: &mut dyn Write) -> io::Result<()> {
    let requirements: Vec<ReportRequirement> = tallies
        .iter()
        .map(|tally| {
            let requirement = &tally.requirement;
            ReportRequirement {
                name: &requirement.name,
                principals: requirement.principals.to_string(),
                must_hold: requirement.attribute_address(),
                one_of: &requirement.one_of,
                on_failure: requirement.on_failure.as_str(),
                total: tally.principals,
                meeting: tally.meeting,
                not_understood: tally.not_understood,
                not_checked: tally.not_checked.as_deref(),
                breaking: tally
                    .breaking
                    .iter()
                    .map(|finding| ReportBreach {
                        principal: match &finding.address {
                            Address::Assignment { principal, .. } => principal.to_string(),
                            other => other.to_string(),
                        },
                        display_name: finding.display_name.as_deref(),
                        value: finding.value.as_ref().map_or(Value::Null, value_json),
                        problem: &finding.message,
                    })
                    .collect(),
            }
        })
        .collect();
    let document = ReportDocument { format_version: 1, requirements };
    serde_json::to_writer_pretty(&mut *out, &document).map_err(io::Error::from)?;
    writeln!(out)
}

/// The document of `report --coverage --format json`.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct ReportDocument<'a> {
    format_version: u32,
    requirements: Vec<ReportRequirement<'a>>,
}

/// One requirement of `report --coverage --format json`.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct ReportRequirement<'a> {
    name: &'a str,
    principals: String,
    must_hold: String,
    one_of: &'a [String],
    on_failure: &'static str,
    total: usize,
    meeting: usize,
    not_understood: usize,
    not_checked: Option<&'a str>,
    breaking: Vec<ReportBreach<'a>>,
}

/// One principal that breaks a requirement, in `report --coverage --format json`.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct ReportBreach<'a> {
    principal: String,
    display_name: Option<&'a str>,
    value: Value,
    problem: &'a str,
}
