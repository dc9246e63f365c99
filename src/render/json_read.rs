//! A JSON plan document read back into a `Plan`, so that a saved plan
//! (`plan --out`) can be shown again in every format (`entra-csa show`)
//! by the same renderers that printed it, without asking the tenant.
//!
//! The reading is the inverse of `json::document`: `document(read(d)) == d`
//! for every document this version writes (held by the tests). What the
//! document does not carry is filled in for display only: an assignment's
//! principal object id is its key as the files write it. A plan read back
//! is never applied; `apply PLANFILE` plans again from the saved desired state.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::model::live::PrincipalId;
use crate::model::{AttributeValue, DataType, PrincipalKey, Status};
use crate::plan::impact::{Effect, Impact};
use crate::plan::references::{Named, Outcome};
use crate::plan::{
    Action, Address, Change, Conflict, DefinitionSnapshot, Drift, Fingerprint, Mode, Note, Plan, Snapshot,
    Target,
};
use crate::readers::{NOUNS, Pattern, Reader, Reference, State, Values};
use crate::render::json::{ACKNOWLEDGED_PREFIX, DRIFT_MODE_NOTE};
use crate::render::json_types::{JsonChange, JsonImpact, JsonPlan, JsonReference, JsonTarget};

/// The plan a JSON plan document describes; the error names what does not read.
pub fn plan_from_document(document: &JsonPlan) -> Result<Plan, String> {
    let target = match &document.target {
        JsonTarget::Graph { graph_url, tenant_id } => {
            Target::Graph { graph_url: graph_url.clone(), tenant_id: tenant_id.clone() }
        }
        JsonTarget::StateFile { path } => Target::StateFile { path: path.clone() },
    };
    let mut changes = Vec::with_capacity(document.changes.len());
    let mut sources = BTreeMap::new();
    for change in &document.changes {
        let read = read_change(change).map_err(|problem| format!("change {}: {problem}", change.seq))?;
        if let Some(source) = &change.source {
            sources.insert(read.address.clone(), source.clone());
        }
        changes.push(read);
    }
    let conflicts = document
        .conflicts
        .iter()
        .map(|conflict| {
            Ok(Conflict {
                address: address(&conflict.address)?,
                property: conflict.property.clone(),
                live: conflict.live.clone(),
                desired: conflict.desired.clone(),
                message: conflict.message.clone(),
                hint: conflict.hint.clone(),
            })
        })
        .collect::<Result<_, String>>()?;
    let drift = document
        .drift
        .iter()
        .map(|drift| Ok(Drift { address: address(&drift.address)?, message: drift.message.clone() }))
        .collect::<Result<_, String>>()?;
    let mut notes = Vec::new();
    let mut acknowledged = Vec::new();
    let mut mode = Mode::Plan;
    for note in &document.notes {
        let noted = note.address.as_deref().map(address).transpose()?;
        match (note.message.strip_prefix(ACKNOWLEDGED_PREFIX), noted) {
            (Some(message), Some(address)) => {
                acknowledged.push(Drift { address, message: message.to_owned() })
            }
            _ if note.address.is_none() && note.message == DRIFT_MODE_NOTE => mode = Mode::Drift,
            (_, address) => notes.push(Note { address, message: note.message.clone() }),
        }
    }
    let impact = document.impact.iter().map(read_impact).collect::<Result<_, String>>()?;
    Ok(Plan {
        target,
        fingerprint: Fingerprint {
            desired: document.fingerprint.desired.clone(),
            live: document.fingerprint.live.clone(),
        },
        changes,
        conflicts,
        drift,
        acknowledged,
        mode,
        notes,
        impact,
        references: document.references.iter().map(read_reference).collect::<Result<_, String>>()?,
        sources,
        coverage: super::coverage::read_json(&document.coverage)?,
    })
}

fn read_change(change: &JsonChange) -> Result<Change, String> {
    let action = match change.action.as_str() {
        "create" => Action::Create,
        "update" => Action::Update,
        "deactivate" => Action::Deactivate,
        "reactivate" => Action::Reactivate,
        "assign" => Action::Assign,
        "unassign" => Action::Unassign,
        other => return Err(format!("unknown action `{other}`")),
    };
    let address = address(&change.address)?;
    let principal = match &address {
        Address::Assignment { principal, .. } => Some(principal.clone()),
        _ => None,
    };
    let snapshot = |value: &Value| snapshot(&address, principal.as_ref(), value);
    Ok(Change {
        seq: change.seq,
        action,
        before: snapshot(&change.before)?,
        after: snapshot(&change.after)?,
        address,
    })
}

/// An address as every format prints it, read back.
pub fn address(text: &str) -> Result<Address, String> {
    let unreadable = || format!("`{text}` is not an address");
    if let Some(rest) = text.strip_prefix("group:") {
        // A group's display name may hold a `/`; a set or attribute name never does.
        let (group, object) = rest.rsplit_once('/').ok_or_else(unreadable)?;
        let (set, attribute) = object.split_once('.').ok_or_else(unreadable)?;
        return Ok(Address::GroupAssignment {
            group: group.to_owned(),
            set: set.to_owned(),
            attribute: attribute.to_owned(),
        });
    }
    if text.starts_with("user:") || text.starts_with("servicePrincipal:") {
        return crate::plan::acknowledge::parse_address(text).ok_or_else(unreadable);
    }
    // A set or attribute name holds neither `.`, `=` nor `/`; an allowed value may hold any of them.
    let (object, value) = match text.split_once('=') {
        Some((object, value)) => (object, Some(value)),
        None => (text, None),
    };
    let named = |name: &str| !name.is_empty() && !name.contains(['/', '.', ':']);
    match (object.split_once('.'), value) {
        (None, None) if named(object) => Ok(Address::AttributeSet { set: object.to_owned() }),
        (Some((set, attribute)), None) if named(set) && named(attribute) => {
            Ok(Address::Definition { set: set.to_owned(), attribute: attribute.to_owned() })
        }
        (Some((set, attribute)), Some(value)) if named(set) && named(attribute) && !value.is_empty() => {
            Ok(Address::AllowedValue {
                set: set.to_owned(),
                attribute: attribute.to_owned(),
                value: value.to_owned(),
            })
        }
        _ => Err(unreadable()),
    }
}

/// `before` or `after` of a change at `address`.
fn snapshot(
    address: &Address,
    principal: Option<&PrincipalKey>,
    value: &Value,
) -> Result<Option<Snapshot>, String> {
    if value.is_null() {
        return Ok(None);
    }
    let field = |name: &str| value.get(name).cloned().unwrap_or(Value::Null);
    let text = |name: &str| field(name).as_str().map(str::to_owned);
    let flag = |name: &str| field(name).as_bool().ok_or_else(|| format!("`{name}` is not true or false"));
    Ok(Some(match address {
        Address::AttributeSet { .. } => Snapshot::AttributeSet {
            description: text("description"),
            max_attributes_per_set: field("maxAttributesPerSet")
                .as_i64()
                .map(|number| i32::try_from(number).map_err(|_| "`maxAttributesPerSet` is out of range"))
                .transpose()?,
        },
        Address::Definition { .. } => Snapshot::Definition(DefinitionSnapshot {
            description: text("description"),
            data_type: match text("type").as_deref() {
                Some("String") => DataType::String,
                Some("Integer") => DataType::Integer,
                Some("Boolean") => DataType::Boolean,
                other => return Err(format!("unknown type {other:?}")),
            },
            is_collection: flag("isCollection")?,
            is_searchable: flag("isSearchable")?,
            use_pre_defined_values_only: flag("usePreDefinedValuesOnly")?,
            status: match text("status").as_deref() {
                Some("Available") => Status::Available,
                Some("Deprecated") => Status::Deprecated,
                other => return Err(format!("unknown status {other:?}")),
            },
            allowed_values: match field("allowedValues") {
                Value::Array(values) => values
                    .iter()
                    .map(|value| {
                        let id =
                            value.get("id").and_then(Value::as_str).ok_or("an allowed value has no id")?;
                        let active = value.get("isActive").and_then(Value::as_bool).ok_or("no isActive")?;
                        Ok((id.to_owned(), active))
                    })
                    .collect::<Result<_, String>>()?,
                _ => Vec::new(),
            },
        }),
        Address::AllowedValue { .. } => Snapshot::AllowedValue { is_active: flag("isActive")? },
        Address::Assignment { .. } | Address::GroupAssignment { .. } => {
            let principal = principal.ok_or("an assignment change names no principal")?;
            Snapshot::Assignment {
                // For display only: the document names the principal by its key.
                principal: PrincipalId { kind: principal.kind(), object_id: principal.key().to_owned() },
                value: assigned_value(value)?,
            }
        }
    }))
}

/// An assigned value as `json::attribute_value_json` writes it.
fn assigned_value(value: &Value) -> Result<AttributeValue, String> {
    let integer = |value: &Value| value.as_i64().and_then(|number| i32::try_from(number).ok());
    match value {
        Value::Bool(flag) => Ok(AttributeValue::Boolean(*flag)),
        Value::Number(_) => integer(value).map(AttributeValue::Integer).ok_or("not a 32-bit integer".into()),
        Value::String(text) => Ok(AttributeValue::String(text.clone())),
        Value::Array(items) if items.iter().all(Value::is_number) && !items.is_empty() => items
            .iter()
            .map(|item| integer(item).ok_or_else(|| "not a 32-bit integer".to_owned()))
            .collect::<Result<_, _>>()
            .map(AttributeValue::Integers),
        Value::Array(items) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned).ok_or_else(|| "a list of mixed values".to_owned()))
            .collect::<Result<_, _>>()
            .map(AttributeValue::Strings),
        _ => Err(format!("`{value}` is not an assigned value")),
    }
}

/// One impact line: the noun (`app`, `agent identity`, …) is the one whose
/// sentence is the document's message, and an unknown effect's reason is
/// what the message says after that sentence's start. Impact lines come
/// from the readers that govern access by value: Conditional Access
/// policies, Azure role assignments and lifecycle workflows; the
/// condition's API version is not in the document and no renderer shows it.
/// A reference as the JSON plan wrote it: enough to show it again (the
/// literal is kept; how it matched values is not written, so it reads back as
/// equality without regard to case).
fn read_reference(line: &JsonReference) -> Result<Named, String> {
    let kind = crate::readers::READERS
        .iter()
        .map(|reader| reader.kind())
        .find(|kind| kind.key == line.reader.kind)
        .ok_or_else(|| format!("unknown reader kind `{}`", line.reader.kind))?;
    let outcome = match line.outcome.as_str() {
        "conflict" => Outcome::Conflict,
        "acknowledged" => Outcome::Acknowledged,
        "note" => Outcome::Noted,
        other => return Err(format!("unknown reference outcome `{other}`")),
    };
    let reference = Reference {
        reader: Reader {
            kind,
            id: line.reader.id.clone(),
            name: line.reader.name.clone(),
            state: State::of_conditional_access(Some(&line.reader.state)),
            condition: line.reader.condition.clone(),
            api_version: line.reader.api_version.clone(),
        },
        attribute: line.attribute.clone(),
        operator: line.operator.clone(),
        values: match &line.value {
            None => Values::Every,
            Some(literal) => {
                Values::Matching { pattern: Pattern::Equal, literal: literal.clone(), case_sensitive: false }
            }
        },
    };
    Ok(Named { address: address(&line.address)?, reference, outcome })
}

fn read_impact(line: &JsonImpact) -> Result<Impact, String> {
    let principal = match address(&format!("{}/S.A", line.principal))? {
        Address::Assignment { principal, .. } => principal,
        _ => return Err(format!("`{}` is not a principal", line.principal)),
    };
    // The document names no kind; the condition tells the readers that
    // govern by value apart (a role assignment's `condition`, a workflow's
    // `executionConditions…`), and the kind decides the sentence's words.
    let kind = match line.filter.as_str() {
        "condition" => crate::readers::role_assignment::KIND,
        filter if filter.starts_with("executionConditions") => crate::readers::lifecycle_workflow::KIND,
        _ => crate::readers::conditional_access::KIND,
    };
    let reader = Reader {
        kind,
        id: line.policy_id.clone(),
        name: line.policy.clone(),
        state: State::of_conditional_access(Some(&line.state)),
        condition: line.filter.clone(),
        api_version: line.api_version.clone().unwrap_or_default(),
    };
    let effect = match line.effect.as_str() {
        "enters" => Effect::Enters,
        "leaves" => Effect::Leaves,
        "unchanged" => Effect::Unchanged,
        "unknown" => Effect::Unknown(String::new()),
        other => return Err(format!("unknown impact effect `{other}`")),
    };
    for noun in NOUNS {
        let mut impact = Impact {
            principal: principal.clone(),
            display_name: line.display_name.clone(),
            noun,
            reader: reader.clone(),
            effect: effect.clone(),
        };
        if matches!(impact.effect, Effect::Unknown(_)) {
            // The sentence without a reason ends "…: "; the message goes on with it.
            if let Some(rest) = line.message.strip_prefix(&impact.sentence()) {
                impact.effect = Effect::Unknown(rest.to_owned());
                return Ok(impact);
            }
        } else if impact.sentence() == line.message {
            return Ok(impact);
        }
    }
    Err(format!("impact line `{}` does not read", line.message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_address_reads_back_as_printed() {
        for text in [
            "Engineering",
            "Engineering.Project",
            "Engineering.Project=Two words = one/value",
            "user:alice@contoso.com/Engineering.Project",
            "servicePrincipal:id:9d8e7f6a-5b4c-4d3e-8f2a-1b0c9d8e7f6a/Security.Clearance",
            "group:Eng/Payments/Access.Team",
        ] {
            assert_eq!(address(text).unwrap().to_string(), text);
        }
        assert!(
            matches!(address("group:Eng/Payments/Access.Team"), Ok(Address::GroupAssignment { group, .. }) if group == "Eng/Payments")
        );
        for not_one in ["", "user:/E.A", "group:g", "E.A=", "a/b"] {
            assert!(address(not_one).is_err(), "{not_one}");
        }
    }

    #[test]
    fn assigned_values_read_back_in_their_type() {
        for value in [
            AttributeValue::Boolean(true),
            AttributeValue::Integer(-7),
            AttributeValue::String("x".into()),
            AttributeValue::Integers(vec![3, 7]),
            AttributeValue::Strings(vec!["a".into(), "b".into()]),
        ] {
            let json = crate::render::json::attribute_value_json(&value);
            assert_eq!(assigned_value(&json).unwrap(), value);
        }
        assert!(assigned_value(&serde_json::json!(1.5)).is_err());
        assert!(assigned_value(&serde_json::json!([1, "a"])).is_err());
    }
}
