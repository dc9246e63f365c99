//! The JSON plan document, format version 2 (ARCHITECTURE.md, "The JSON plan is a contract"), as its own types so
//! that a change to the model cannot change the contract by accident. The
//! shape is checked by `tests/json_contract.rs` and `schema/plan.v2.schema.json`;
//! any change to it must bump `plan::FORMAT_VERSION`.
//!
//! Version 2 is version 1 plus `impact[]` and an optional `source` on a
//! change. Field by field:
//! - `formatVersion` (first), `target` (`kind`: `graph` | `stateFile`),
//!   `fingerprint` (`desired`, `live`: `sha256:<hex>`), `summary` (counts).
//! - `changes[]`: `seq`, `action`, `kind`, `address`, `before`, `after`.
//!   `before`/`after` are `null` or, by kind: attributeSet
//!   `{description, maxAttributesPerSet}`; definition `{description, type,
//!   isCollection, isSearchable, usePreDefinedValuesOnly, status}` plus
//!   `allowedValues: [{id, isActive}]` on a create; allowedValue `{isActive}`;
//!   assignment: the value itself (string, integer, boolean or array).
//!   The changes to one definition chain: a later change's `before` is the
//!   `after` of the one before it, so the last `after` is its end state.
//! - `conflicts[]`: `kind`, `address`, `property`, `live`, `desired`
//!   (strings or null), `message`, `hint`.
//! - `drift[]`: `kind`, `address`, `message`, and (optional within version
//!   2, `plan --explain` only) `explanation`: `auditLogSince`, `entries[]`
//!   (`activityDateTime`, `activity`, `initiatedBy` {`kind`: `user` | `app`
//!   | `unknown`, `userPrincipalName`, `id`, `displayName`, `appId`},
//!   `changes[]` {`property`, `oldValue`, `newValue`}), `olderEntries`.
//! - `notes[]`: `address` (or null), `message`.
//! - `impact[]`: `principal`, `displayName`, `policy`, `policyId`, `state`,
//!   `filter`, `effect` (`enters` | `leaves` | `unknown`), `message`, and
//!   `apiVersion` (the Graph version the filter was read from: `v1.0`, or
//!   `beta` for the agent filter), an optional addition within version 2.
//! - `references[]` (optional within version 2, absent when empty): each
//!   reader naming what the plan deactivates: `address`, `reader` (`kind`,
//!   `id`, `name`, `state`, `condition`, `apiVersion`), `attribute`,
//!   `operator`, `value`, `outcome` (`conflict` | `acknowledged` | `note`).
//! - `coverage[]` (optional within version 2, absent when empty): each
//!   principal that breaks a requirement of the files at the end of the
//!   plan: `requirement` (its name), `address` (the principal and the
//!   attribute), `displayName`, `value` (held at the end of the plan, or
//!   null), `message`, `outcome` (`finding` | `conflict`).
//! - `source` on a change that a group gives or takes away (optional):
//!   `group:<key as the files write it>`.
//! - A saved plan (`plan --out`) adds `desiredState`: the desired state the
//!   plan was computed from, which `apply PLANFILE` plans from again.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The whole document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JsonPlan {
    pub format_version: u32,
    pub target: JsonTarget,
    pub fingerprint: JsonFingerprint,
    pub summary: JsonSummary,
    pub changes: Vec<JsonChange>,
    pub conflicts: Vec<JsonConflict>,
    pub drift: Vec<JsonDrift>,
    pub notes: Vec<JsonNote>,
    /// Version 2. Absent from a version-1 saved plan, which apply still reads.
    #[serde(default)]
    pub impact: Vec<JsonImpact>,
    /// Within version 2, optional: the references to what the plan deactivates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<JsonReference>,
    /// Within version 2, optional: who breaks a requirement of the files.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub coverage: Vec<JsonCoverage>,
    /// Only in a saved plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired_state: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", deny_unknown_fields)]
pub enum JsonTarget {
    #[serde(rename = "graph", rename_all = "camelCase")]
    Graph { graph_url: String, tenant_id: Option<String> },
    #[serde(rename = "stateFile")]
    StateFile { path: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonFingerprint {
    pub desired: String,
    pub live: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonSummary {
    pub create: usize,
    pub update: usize,
    pub deactivate: usize,
    pub reactivate: usize,
    pub assign: usize,
    pub unassign: usize,
    pub conflicts: usize,
    pub drift: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonChange {
    pub seq: usize,
    pub action: String,
    pub kind: String,
    pub address: String,
    pub before: Value,
    pub after: Value,
    /// Format version 2 only: the group the change comes from (`group:<key>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonConflict {
    pub kind: String,
    pub address: String,
    pub property: String,
    pub live: Option<String>,
    pub desired: Option<String>,
    pub message: String,
    pub hint: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonDrift {
    pub kind: String,
    pub address: String,
    pub message: String,
    /// Within version 2, optional (`plan --explain` only): what the audit
    /// log says about the finding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<JsonExplanation>,
}

/// What the custom security attribute audit log says about one drift
/// finding (`plan --explain`): its newest entries since `auditLogSince`,
/// newest first; none when the log holds nothing about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JsonExplanation {
    /// The start of the window read (RFC 3339, UTC).
    pub audit_log_since: String,
    pub entries: Vec<JsonAuditEntry>,
    /// Older matching entries, not shown.
    pub older_entries: usize,
}

/// One audit entry about a finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JsonAuditEntry {
    /// `activityDateTime` as Graph wrote it.
    pub activity_date_time: String,
    /// `activityDisplayName`.
    pub activity: String,
    pub initiated_by: JsonActor,
    /// The changed properties that concern the finding, values as Graph
    /// wrote them (JSON text); empty when the entry names none.
    pub changes: Vec<JsonAuditChange>,
}

/// Who initiated an audited activity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JsonActor {
    /// `user`, `app` or `unknown`.
    pub kind: String,
    pub user_principal_name: Option<String>,
    /// The user's object id, or the app's service principal id.
    pub id: Option<String>,
    pub display_name: Option<String>,
    pub app_id: Option<String>,
}

/// One modified property of an audit entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JsonAuditChange {
    pub property: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonNote {
    pub address: Option<String>,
    pub message: String,
}

/// One app entering or leaving a Conditional Access policy's scope
/// (version 2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JsonImpact {
    /// The principal as addresses write it (`servicePrincipal:<appId>`).
    pub principal: String,
    pub display_name: Option<String>,
    pub policy: String,
    pub policy_id: Option<String>,
    /// The policy's `state` as Graph writes it.
    pub state: String,
    /// The filter evaluated: `applicationFilter`, `servicePrincipalFilter`,
    /// `agentIdServicePrincipalFilter`.
    pub filter: String,
    /// `enters`, `leaves` or `unknown`.
    pub effect: String,
    pub message: String,
    /// The Graph version the filter was read from (`v1.0`, `beta`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
}

/// One reader naming something the plan deactivates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JsonReference {
    /// The deactivated definition or value, as addresses write it.
    pub address: String,
    pub reader: JsonReader,
    /// The definition id as the reader writes it.
    pub attribute: String,
    /// The comparison as written, when the tool read one.
    pub operator: Option<String>,
    /// The literal compared with; `null` when every value counts as named.
    pub value: Option<String>,
    /// `conflict`, `acknowledged` or `note`.
    pub outcome: String,
}

/// Who reads: a policy (or, later, another kind of reader).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JsonReader {
    /// `conditionalAccessPolicy`, `appManagementPolicy`, ...
    pub kind: String,
    pub id: Option<String>,
    pub name: String,
    /// The state as Graph writes it.
    pub state: String,
    /// The condition that reads the attribute (`applicationFilter`, ...).
    pub condition: String,
    /// The API version it was read from (`v1.0`, `beta`).
    pub api_version: String,
}

/// A principal that breaks a requirement of the files at the end of the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JsonCoverage {
    /// The requirement's name, as the files write it.
    pub requirement: String,
    /// The principal and the attribute, as addresses write them.
    pub address: String,
    pub display_name: Option<String>,
    /// The value held at the end of the plan (string, integer, boolean or
    /// array), or null.
    pub value: Value,
    pub message: String,
    /// `finding` (counted like drift) or `conflict`.
    pub outcome: String,
}
