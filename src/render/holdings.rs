//! "Who holds what": the rows of `entra-csa report`, one per principal,
//! attribute and value (a collection gives one row per member, so a
//! spreadsheet filter or a `grep` finds every holder of a value), and the
//! summary per attribute and value. Principals arrive one at a time and
//! each one's rows are written at once, so a report of a whole tenant holds
//! one principal and the summary's counts, never the tenant.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;

use crate::model::live::LivePrincipal;
use crate::model::{AttributeValue, PrincipalKind};

/// The output format of `report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldingsFormat {
    Csv,
    Json,
}

/// Which attributes a report covers: those of the named sets and the named
/// `Set.Attribute`s; everything when both are empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HoldingsFilter {
    pub sets: Vec<String>,
    /// `(set, attribute)` pairs.
    pub attributes: Vec<(String, String)>,
}

impl HoldingsFilter {
    pub fn covers(&self, set: &str, attribute: &str) -> bool {
        (self.sets.is_empty() && self.attributes.is_empty())
            || self.sets.iter().any(|wanted| wanted == set)
            || self.attributes.iter().any(|(wanted_set, wanted)| wanted_set == set && wanted == attribute)
    }

    /// Whether the filter covers `set.attribute`, or with no attribute
    /// (something of the whole set), any attribute of `set`.
    pub fn touches(&self, set: &str, attribute: Option<&str>) -> bool {
        match attribute {
            Some(attribute) => self.covers(set, attribute),
            None => {
                (self.sets.is_empty() && self.attributes.is_empty())
                    || self.sets.iter().any(|wanted| wanted == set)
                    || self.attributes.iter().any(|(wanted_set, _)| wanted_set == set)
            }
        }
    }
}

/// One assigned value, typed as Graph holds it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(untagged)]
pub enum HeldValue {
    Boolean(bool),
    Integer(i32),
    String(String),
}

impl HeldValue {
    /// The attribute type Graph names it by.
    pub fn type_name(&self) -> &'static str {
        match self {
            HeldValue::Boolean(_) => "Boolean",
            HeldValue::Integer(_) => "Integer",
            HeldValue::String(_) => "String",
        }
    }

    fn text(&self) -> String {
        match self {
            HeldValue::Boolean(value) => value.to_string(),
            HeldValue::Integer(value) => value.to_string(),
            HeldValue::String(value) => value.clone(),
        }
    }

    /// The members of `value`: itself, or each member of a collection.
    fn members_of(value: &AttributeValue) -> Vec<HeldValue> {
        match value {
            AttributeValue::Boolean(value) => vec![HeldValue::Boolean(*value)],
            AttributeValue::Integer(value) => vec![HeldValue::Integer(*value)],
            AttributeValue::String(value) => vec![HeldValue::String(value.clone())],
            AttributeValue::Integers(values) => values.iter().copied().map(HeldValue::Integer).collect(),
            AttributeValue::Strings(values) => values.iter().cloned().map(HeldValue::String).collect(),
        }
    }
}

/// One principal holding one value of one attribute.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HoldingRow {
    /// `user` or `servicePrincipal`.
    pub kind: &'static str,
    /// The derived type Graph names (`agentIdentity`, `agentUser`, …), if any.
    pub object_type: Option<String>,
    pub id: String,
    pub user_principal_name: Option<String>,
    pub app_id: Option<String>,
    pub display_name: Option<String>,
    pub set: String,
    pub attribute: String,
    pub value_type: &'static str,
    /// Whether the attribute holds a collection (then one row per member).
    pub collection: bool,
    pub value: HeldValue,
}

const CSV_HEADER: &str =
    "kind,objectType,id,userPrincipalName,appId,displayName,set,attribute,valueType,collection,value";

const CSV_SUMMARY_HEADER: &str = "set,attribute,valueType,value,users,servicePrincipals";

/// The rows of `principal` the filter covers, in set, attribute and value order.
pub fn rows_of(principal: &LivePrincipal, filter: &HoldingsFilter) -> Vec<HoldingRow> {
    let Some(sets) = &principal.custom_security_attributes else { return Vec::new() };
    let object_type = principal
        .odata_type
        .as_deref()
        .map(|odata| odata.trim_start_matches('#').trim_start_matches("microsoft.graph.").to_owned());
    let mut rows = Vec::new();
    for (set, values) in sets.iter() {
        for (attribute, value) in values.iter() {
            if !filter.covers(set, attribute) {
                continue;
            }
            let collection = matches!(value, AttributeValue::Integers(_) | AttributeValue::Strings(_));
            for member in HeldValue::members_of(value) {
                rows.push(HoldingRow {
                    kind: principal.kind.as_str(),
                    object_type: object_type.clone(),
                    id: principal.object_id.clone(),
                    user_principal_name: principal.user_principal_name.clone(),
                    app_id: principal.app_id.clone(),
                    display_name: principal.display_name.clone(),
                    set: set.clone(),
                    attribute: attribute.clone(),
                    value_type: member.type_name(),
                    collection,
                    value: member,
                });
            }
        }
    }
    rows
}

/// How many users and service principals hold one value of one attribute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SummaryRow {
    pub set: String,
    pub attribute: String,
    pub value_type: &'static str,
    pub value: HeldValue,
    pub users: usize,
    pub service_principals: usize,
}

/// The counts per set, attribute and value, in that order.
#[derive(Debug, Default)]
pub struct HoldingsSummary {
    counts: BTreeMap<(String, String, HeldValue), [usize; 2]>,
}

impl HoldingsSummary {
    /// Counts `row`: a principal holds a value at most once (collections
    /// hold no duplicates), so rows count principals.
    pub fn count(&mut self, row: &HoldingRow) {
        let slot = match row.kind {
            kind if kind == PrincipalKind::User.as_str() => 0,
            _ => 1,
        };
        let key = (row.set.clone(), row.attribute.clone(), row.value.clone());
        self.counts.entry(key).or_default()[slot] += 1;
    }

    pub fn rows(&self) -> impl Iterator<Item = SummaryRow> + '_ {
        self.counts.iter().map(|((set, attribute, value), [users, service_principals])| SummaryRow {
            set: set.clone(),
            attribute: attribute.clone(),
            value_type: value.type_name(),
            value: value.clone(),
            users: *users,
            service_principals: *service_principals,
        })
    }
}

/// Writes a report as principals arrive: the rows (unless only the summary
/// is asked for), then the summary where the format carries it.
pub struct HoldingsWriter<'a> {
    out: &'a mut (dyn Write + Send),
    format: HoldingsFormat,
    summary_only: bool,
    summary: HoldingsSummary,
    rows_written: usize,
}

impl<'a> HoldingsWriter<'a> {
    /// Starts the report: the CSV header, or the JSON object's opening.
    pub fn start(
        out: &'a mut (dyn Write + Send),
        format: HoldingsFormat,
        summary_only: bool,
    ) -> io::Result<Self> {
        match (format, summary_only) {
            (HoldingsFormat::Csv, false) => write!(out, "{CSV_HEADER}\r\n")?,
            (HoldingsFormat::Csv, true) => {}
            (HoldingsFormat::Json, false) => write!(out, "{{\"formatVersion\":1,\"rows\":[")?,
            (HoldingsFormat::Json, true) => write!(out, "{{\"formatVersion\":1")?,
        }
        Ok(HoldingsWriter { out, format, summary_only, summary: HoldingsSummary::default(), rows_written: 0 })
    }

    /// Writes the rows of one principal and counts them.
    pub fn principal(&mut self, principal: &LivePrincipal, filter: &HoldingsFilter) -> io::Result<()> {
        for row in rows_of(principal, filter) {
            self.summary.count(&row);
            if !self.summary_only {
                self.row(&row)?;
            }
        }
        Ok(())
    }

    fn row(&mut self, row: &HoldingRow) -> io::Result<()> {
        match self.format {
            HoldingsFormat::Csv => {
                let cells = [
                    row.kind.to_owned(),
                    row.object_type.clone().unwrap_or_default(),
                    row.id.clone(),
                    row.user_principal_name.clone().unwrap_or_default(),
                    row.app_id.clone().unwrap_or_default(),
                    row.display_name.clone().unwrap_or_default(),
                    row.set.clone(),
                    row.attribute.clone(),
                    row.value_type.to_owned(),
                    row.collection.to_string(),
                    row.value.text(),
                ];
                write_csv_line(self.out, &cells)?;
            }
            HoldingsFormat::Json => {
                if self.rows_written > 0 {
                    write!(self.out, ",")?;
                }
                writeln!(self.out)?;
                serde_json::to_writer(&mut *self.out, row).map_err(io::Error::from)?;
            }
        }
        self.rows_written += 1;
        Ok(())
    }

    /// Ends the report: the summary (JSON always; CSV when only the summary
    /// was asked for) and the closing of the JSON object. The number of rows.
    pub fn finish(self) -> io::Result<(usize, HoldingsSummary)> {
        let HoldingsWriter { out, format, summary_only, summary, rows_written } = self;
        match format {
            HoldingsFormat::Csv => {
                if summary_only {
                    write!(out, "{CSV_SUMMARY_HEADER}\r\n")?;
                    for row in summary.rows() {
                        let cells = [
                            row.set,
                            row.attribute,
                            row.value_type.to_owned(),
                            row.value.text(),
                            row.users.to_string(),
                            row.service_principals.to_string(),
                        ];
                        write_csv_line(out, &cells)?;
                    }
                }
            }
            HoldingsFormat::Json => {
                if !summary_only {
                    write!(out, "\n]")?;
                }
                write!(out, ",\"summary\":[")?;
                for (index, row) in summary.rows().enumerate() {
                    writeln!(out, "{}", if index == 0 { "" } else { "," })?;
                    serde_json::to_writer(&mut *out, &row).map_err(io::Error::from)?;
                }
                writeln!(out, "\n]}}")?;
            }
        }
        out.flush()?;
        Ok((rows_written, summary))
    }
}

/// One CSV record (RFC 4180): a cell holding a comma, quote or line break
/// is quoted, its quotes doubled. A cell a spreadsheet would run as a
/// formula (`=`, `+`, `-`, `@` first) is written as is: the report is data,
/// and changing values would make it lie; open it as text where that matters.
pub(crate) fn write_csv_line(out: &mut dyn Write, cells: &[String]) -> io::Result<()> {
    for (index, cell) in cells.iter().enumerate() {
        if index > 0 {
            out.write_all(b",")?;
        }
        if cell.contains([',', '"', '\n', '\r']) {
            write!(out, "\"{}\"", cell.replace('"', "\"\""))?;
        } else {
            out.write_all(cell.as_bytes())?;
        }
    }
    out.write_all(b"\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{NameMap, PrincipalAssignments};

    fn principal(values: Vec<(&str, &str, AttributeValue)>) -> LivePrincipal {
        let mut sets: PrincipalAssignments = NameMap::new();
        for (set, attribute, value) in values {
            let held = sets.get_mut(set);
            match held {
                Some(held) => {
                    held.insert(attribute.to_owned(), value);
                }
                None => {
                    sets.insert(set.to_owned(), [(attribute.to_owned(), value)].into_iter().collect());
                }
            }
        }
        LivePrincipal {
            kind: PrincipalKind::User,
            object_id: "u1".into(),
            user_principal_name: Some("a,b@contoso.com".into()),
            app_id: None,
            display_name: Some("Say \"hi\"".into()),
            odata_type: None,
            custom_security_attributes: Some(sets),
        }
    }

    #[test]
    fn collections_give_one_row_per_member_and_csv_quotes_what_it_must() {
        let alice = principal(vec![
            ("Eng", "Project", AttributeValue::strings(vec!["Baker".into(), "Alpine".into()])),
            ("Eng", "Level", AttributeValue::Integer(3)),
            ("HR", "Remote", AttributeValue::Boolean(true)),
        ]);
        let mut out = Vec::new();
        let mut writer = HoldingsWriter::start(&mut out, HoldingsFormat::Csv, false).unwrap();
        writer.principal(&alice, &HoldingsFilter::default()).unwrap();
        let (rows, _) = writer.finish().unwrap();
        assert_eq!(rows, 4);
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines[0], CSV_HEADER);
        assert_eq!(lines[1], "user,,u1,\"a,b@contoso.com\",,\"Say \"\"hi\"\"\",Eng,Level,Integer,false,3");
        assert_eq!(
            lines[2],
            "user,,u1,\"a,b@contoso.com\",,\"Say \"\"hi\"\"\",Eng,Project,String,true,Alpine"
        );
        assert_eq!(
            lines[3],
            "user,,u1,\"a,b@contoso.com\",,\"Say \"\"hi\"\"\",Eng,Project,String,true,Baker"
        );
        assert_eq!(lines[4], "user,,u1,\"a,b@contoso.com\",,\"Say \"\"hi\"\"\",HR,Remote,Boolean,false,true");
        assert_eq!(lines[5], "");
    }

    #[test]
    fn filters_keep_named_sets_and_attributes_and_the_summary_counts_what_is_kept() {
        let alice = principal(vec![
            ("Eng", "Project", AttributeValue::strings(vec!["Alpine".into()])),
            ("Eng", "Level", AttributeValue::Integer(3)),
            ("HR", "Remote", AttributeValue::Boolean(true)),
        ]);
        let filter =
            HoldingsFilter { sets: vec!["HR".into()], attributes: vec![("Eng".into(), "Level".into())] };
        let kept: Vec<(String, String)> =
            rows_of(&alice, &filter).into_iter().map(|row| (row.set, row.attribute)).collect();
        assert_eq!(kept, [("Eng".to_owned(), "Level".to_owned()), ("HR".to_owned(), "Remote".to_owned())]);

        let mut out = Vec::new();
        let mut writer = HoldingsWriter::start(&mut out, HoldingsFormat::Json, true).unwrap();
        writer.principal(&alice, &filter).unwrap();
        writer.principal(&alice, &filter).unwrap();
        writer.finish().unwrap();
        let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(json["rows"], serde_json::Value::Null);
        assert_eq!(json["summary"][0]["value"], 3);
        assert_eq!(json["summary"][0]["users"], 2);
        assert_eq!(json["summary"][1]["value"], true);
        assert_eq!(json["summary"].as_array().unwrap().len(), 2);
    }
}
