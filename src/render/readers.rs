//! The usage report (`entra-csa readers`): for each attribute set,
//! attribute and value, every reader that names it — Conditional Access
//! policies (state, and which filter), app management policies, Azure role
//! assignments (scope, role, assignee), lifecycle workflows — as CSV (one
//! row per reference) or JSON (the rows, and what could not be read).
//!
//! Pure: the references and the tenant's definitions in, rows out.

use std::io::{self, Write};

use serde::Serialize;

use crate::model::live::LiveState;
use crate::readers::{Pattern, Reference, Values};

/// One reader naming one attribute (and which of its values).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageRow {
    /// The attribute set, as the tenant spells it; empty when the tenant
    /// has no definition with the id the reader writes.
    pub set: String,
    /// The attribute, or the id as the reader writes it when unknown.
    pub attribute: String,
    /// The literal the reader compares with; empty when it names every value.
    pub value: String,
    /// `equal`, `prefix`, `suffix`, `part`, or `every` (all values).
    pub matches: &'static str,
    /// Whether `value` is compared with regard to case.
    pub case_sensitive: bool,
    /// The allowed values of the attribute that `value` names, for an
    /// attribute with predefined values.
    pub allowed_values_named: Vec<String>,
    /// `conditionalAccessPolicy`, `appManagementPolicy`, `azureRoleAssignment`, `lifecycleWorkflow`.
    pub reader_kind: &'static str,
    /// Its display name; for a role assignment: role, assignee and scope.
    pub reader: String,
    pub reader_id: Option<String>,
    /// `enabled`, `report-only`, `disabled`, …
    pub state: String,
    /// Which of its conditions names the attribute.
    pub condition: String,
    /// The comparison as written, when read.
    pub operator: Option<String>,
    /// Where it was read: `v1.0`, `beta`, `Azure Resource Graph`.
    pub source: String,
}

/// The rows of `references` against the tenant's definitions, sorted by
/// set, attribute, value and reader; only those `keep` accepts
/// (`(set, attribute)`, as the tenant spells them).
pub fn rows(references: &[Reference], live: &LiveState, keep: &dyn Fn(&str, &str) -> bool) -> Vec<UsageRow> {
    let mut found: Vec<UsageRow> = references
        .iter()
        .filter_map(|reference| {
            let definition = live
                .definitions
                .iter()
                .find(|(id, _)| id.eq_ignore_ascii_case(&reference.attribute))
                .map(|(_, definition)| definition);
            let (set, attribute) = match definition {
                Some(definition) => (definition.attribute_set.clone(), definition.name.clone()),
                None => (String::new(), reference.attribute.clone()),
            };
            if !keep(&set, &attribute) {
                return None;
            }
            let (value, matches, case_sensitive) = match &reference.values {
                Values::Every => (String::new(), "every", false),
                Values::Matching { pattern, literal, case_sensitive } => (
                    literal.clone(),
                    match pattern {
                        Pattern::Equal => "equal",
                        Pattern::Prefix => "prefix",
                        Pattern::Suffix => "suffix",
                        Pattern::Part => "part",
                    },
                    *case_sensitive,
                ),
            };
            let allowed_values_named = definition
                .map(|definition| {
                    definition
                        .allowed_values
                        .iter()
                        .filter(|allowed| reference.names_value(&allowed.id))
                        .map(|allowed| allowed.id.clone())
                        .collect()
                })
                .unwrap_or_default();
            Some(UsageRow {
                set,
                attribute,
                value,
                matches,
                case_sensitive,
                allowed_values_named,
                reader_kind: reference.reader.kind.key,
                reader: reference.reader.name.clone(),
                reader_id: reference.reader.id.clone(),
                state: reference.reader.state.describe(),
                condition: reference.reader.condition.clone(),
                operator: reference.operator.clone(),
                source: reference.reader.api_version.clone(),
            })
        })
        .collect();
    found.sort_by(|a, b| {
        (&a.set, &a.attribute, &a.value, a.reader_kind, &a.reader, &a.condition).cmp(&(
            &b.set,
            &b.attribute,
            &b.value,
            b.reader_kind,
            &b.reader,
            &b.condition,
        ))
    });
    found.dedup();
    found
}

/// The CSV header.
pub const CSV_HEADER: [&str; 13] = [
    "set",
    "attribute",
    "value",
    "matches",
    "caseSensitive",
    "allowedValuesNamed",
    "readerKind",
    "reader",
    "readerId",
    "state",
    "condition",
    "operator",
    "source",
];

/// The rows as CSV, a header first.
pub fn write_csv(rows: &[UsageRow], out: &mut dyn Write) -> io::Result<()> {
    let header: Vec<String> = CSV_HEADER.iter().map(|cell| (*cell).to_owned()).collect();
    super::holdings::write_csv_line(out, &header)?;
    for row in rows {
        super::holdings::write_csv_line(
            out,
            &[
                row.set.clone(),
                row.attribute.clone(),
                row.value.clone(),
                row.matches.to_owned(),
                row.case_sensitive.to_string(),
                row.allowed_values_named.join(";"),
                row.reader_kind.to_owned(),
                row.reader.clone(),
                row.reader_id.clone().unwrap_or_default(),
                row.state.clone(),
                row.condition.clone(),
                row.operator.clone().unwrap_or_default(),
                row.source.clone(),
            ],
        )?;
    }
    Ok(())
}

/// The JSON report: the rows, and why a kind of reader was not read.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageReport<'a> {
    pub readers: &'a [UsageRow],
    pub not_checked: &'a [String],
}

pub fn write_json(rows: &[UsageRow], not_checked: &[String], out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &UsageReport { readers: rows, not_checked })?;
    out.write_all(b"\n")
}
