//! The plan as JSON (format version 2, see `json_types`): conversion from
//! the model to the contract's types, and writing them.

use std::io::{self, Write};

use serde_json::{Value, json};

use crate::model::AttributeValue;
use crate::plan::explain::Explained;
use crate::plan::{Action, FORMAT_VERSION, Mode, Plan, Snapshot, Target};

use super::json_types::{
    JsonChange, JsonConflict, JsonDrift, JsonFingerprint, JsonImpact, JsonNote, JsonPlan, JsonReader,
    JsonReference, JsonSummary, JsonTarget,
};

/// Writes `plan` as pretty JSON and a final newline.
pub fn render(plan: &Plan, out: &mut dyn Write) -> io::Result<()> {
    // `io::Error::from` hands back the writer's own error (a closed pipe) as it was.
    serde_json::to_writer_pretty(&mut *out, &document(plan)).map_err(io::Error::from)?;
    writeln!(out)
}

/// Writes `plan` as JSON with each drift finding's explanation from the audit log.
pub fn render_explained(plan: &Plan, explained: &Explained, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &document_explained(plan, explained)).map_err(io::Error::from)?;
    writeln!(out)
}

/// The contract document of `plan`, each drift finding with what the audit
/// log says about it (`explanation`, absent when the log was not read).
pub fn document_explained(plan: &Plan, explained: &Explained) -> JsonPlan {
    let mut document = document(plan);
    if let Some(since) = explained.since.as_deref() {
        for (json, drift) in document.drift.iter_mut().zip(&plan.drift) {
            json.explanation =
                explained.finding(&drift.address).map(|finding| super::explain::json(finding, since));
        }
    }
    document
}

/// The contract document of `plan` (without a desired state).
pub fn document(plan: &Plan) -> JsonPlan {
    let summary = plan.summary();
    JsonPlan {
        format_version: FORMAT_VERSION,
        target: match &plan.target {
            Target::Graph { graph_url, tenant_id } => {
                JsonTarget::Graph { graph_url: graph_url.clone(), tenant_id: tenant_id.clone() }
            }
            Target::StateFile { path } => JsonTarget::StateFile { path: path.clone() },
        },
        fingerprint: JsonFingerprint {
            desired: plan.fingerprint.desired.clone(),
            live: plan.fingerprint.live.clone(),
        },
        summary: JsonSummary {
            create: summary.create,
            update: summary.update,
            deactivate: summary.deactivate,
            reactivate: summary.reactivate,
            assign: summary.assign,
            unassign: summary.unassign,
            conflicts: summary.conflicts,
            drift: summary.drift,
        },
        changes: plan
            .changes
            .iter()
            .map(|change| JsonChange {
                seq: change.seq,
                action: change.action.as_str().to_owned(),
                kind: change.kind().as_str().to_owned(),
                address: change.address.to_string(),
                before: snapshot_json(change.before.as_ref(), false),
                after: snapshot_json(change.after.as_ref(), change.action == Action::Create),
                source: plan.sources.get(&change.address).cloned(),
            })
            .collect(),
        conflicts: plan
            .conflicts
            .iter()
            .map(|conflict| JsonConflict {
                kind: conflict.address.kind().as_str().to_owned(),
                address: conflict.address.to_string(),
                property: conflict.property.clone(),
                live: conflict.live.clone(),
                desired: conflict.desired.clone(),
                message: conflict.message.clone(),
                hint: conflict.hint.clone(),
            })
            .collect(),
        drift: plan
            .drift
            .iter()
            .map(|drift| JsonDrift {
                kind: drift.address.kind().as_str().to_owned(),
                address: drift.address.to_string(),
                message: drift.message.clone(),
                explanation: None,
            })
            .collect(),
        notes: notes(plan),
        impact: plan
            .impact
            .iter()
            .map(|impact| JsonImpact {
                principal: impact.principal.to_string(),
                display_name: impact.display_name.clone(),
                policy: impact.reader.name.clone(),
                policy_id: impact.reader.id.clone(),
                state: impact.reader.state.graph_value().to_owned(),
                filter: impact.reader.condition.clone(),
                effect: impact.effect.as_str().to_owned(),
                message: impact.sentence(),
                api_version: Some(impact.reader.api_version.clone()).filter(|version| !version.is_empty()),
            })
            .collect(),
        references: plan
            .references
            .iter()
            .map(|named| {
                let reference = &named.reference;
                let reader = &reference.reader;
                JsonReference {
                    address: named.address.to_string(),
                    reader: JsonReader {
                        kind: reader.kind.key.to_owned(),
                        id: reader.id.clone(),
                        name: reader.name.clone(),
                        state: reader.state.graph_value().to_owned(),
                        condition: reader.condition.clone(),
                        api_version: reader.api_version.clone(),
                    },
                    attribute: reference.attribute.clone(),
                    operator: reference.operator.clone(),
                    value: match &reference.values {
                        crate::readers::Values::Every => None,
                        crate::readers::Values::Matching { literal, .. } => Some(literal.clone()),
                    },
                    outcome: named.outcome.as_str().to_owned(),
                }
            })
            .collect(),
        coverage: super::coverage::json_entries(plan),
        desired_state: None,
    }
}

/// The notes, then — so that the format keeps the shape version 1 gave it — the
/// acknowledged drift (`acknowledged drift: ...`) and, for `plan --drift`,
/// what its drift list holds.
fn notes(plan: &Plan) -> Vec<JsonNote> {
    let mut notes: Vec<JsonNote> = plan
        .notes
        .iter()
        .map(|note| JsonNote {
            address: note.address.as_ref().map(ToString::to_string),
            message: note.message.clone(),
        })
        .collect();
    notes.extend(plan.acknowledged.iter().map(|drift| JsonNote {
        address: Some(drift.address.to_string()),
        message: format!("{ACKNOWLEDGED_PREFIX}{}", drift.message),
    }));
    if plan.mode == Mode::Drift {
        notes.push(JsonNote { address: None, message: DRIFT_MODE_NOTE.to_owned() });
    }
    notes
}

/// How an acknowledged finding starts among the JSON notes.
pub const ACKNOWLEDGED_PREFIX: &str = "acknowledged drift: ";

/// The note of a `plan --drift` document.
pub const DRIFT_MODE_NOTE: &str = "plan --drift: the files are taken as applied, so every difference between \
                                   the tenant and the files is listed under drift, with the tenant's and the \
                                   files' values";

/// `before`/`after` of a change; definitions list their allowed values only
/// on a create (`with_values`), where they are sent inline.
fn snapshot_json(snapshot: Option<&Snapshot>, with_values: bool) -> Value {
    match snapshot {
        None => Value::Null,
        Some(Snapshot::AttributeSet { description, max_attributes_per_set }) => {
            json!({ "description": description, "maxAttributesPerSet": max_attributes_per_set })
        }
        Some(Snapshot::Definition(definition)) => {
            let mut object = json!({
                "description": definition.description,
                "type": definition.data_type.as_str(),
                "isCollection": definition.is_collection,
                "isSearchable": definition.is_searchable,
                "usePreDefinedValuesOnly": definition.use_pre_defined_values_only,
                "status": definition.status.as_str(),
            });
            if with_values && let Value::Object(fields) = &mut object {
                let values: Vec<Value> = definition
                    .allowed_values
                    .iter()
                    .map(|(id, is_active)| json!({ "id": id, "isActive": is_active }))
                    .collect();
                fields.insert("allowedValues".into(), Value::Array(values));
            }
            object
        }
        Some(Snapshot::AllowedValue { is_active }) => json!({ "isActive": is_active }),
        Some(Snapshot::Assignment { value, .. }) => attribute_value_json(value),
    }
}

/// An assigned value as JSON.
pub fn attribute_value_json(value: &AttributeValue) -> Value {
    match value {
        AttributeValue::Boolean(value) => json!(value),
        AttributeValue::Integer(value) => json!(value),
        AttributeValue::String(value) => json!(value),
        AttributeValue::Integers(values) => json!(values),
        AttributeValue::Strings(values) => json!(values),
    }
}
