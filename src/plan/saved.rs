//! The desired state inside a saved plan (`plan --out`), as JSON. The model's
//! maps keyed by principal cannot be JSON objects (keys must be strings), so
//! principals are written as a list of `{principal, sets}` entries.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::{
    AttributeSet, DesiredState, GroupAssignments, Policy, PrincipalAssignments, PrincipalKey,
};

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SavedDesired {
    policy: Policy,
    attribute_sets: BTreeMap<String, AttributeSet>,
    assignments: Vec<SavedPrincipal>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    acknowledged_drift: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    values_owned_elsewhere: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    acknowledged_references: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    group_assignments: BTreeMap<String, GroupAssignments>,
    /// The coverage rules: they widen what the plan reads, so `apply
    /// PLANFILE` must read as the plan did.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    requirements: Vec<crate::model::requirement::Requirement>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SavedPrincipal {
    principal: PrincipalKey,
    sets: PrincipalAssignments,
}

/// The desired state as the saved plan's `desiredState`.
pub fn desired_to_json(desired: &DesiredState) -> Value {
    let saved = SavedDesired {
        policy: desired.policy,
        attribute_sets: desired.attribute_sets.clone(),
        assignments: desired
            .assignments
            .iter()
            .map(|(principal, sets)| SavedPrincipal { principal: principal.clone(), sets: sets.clone() })
            .collect(),
        acknowledged_drift: desired.acknowledged_drift.clone(),
        values_owned_elsewhere: desired.values_owned_elsewhere.clone(),
        acknowledged_references: desired.acknowledged_references.clone(),
        group_assignments: desired.group_assignments.clone(),
        requirements: desired.requirements.clone(),
    };
    // Plain data with string keys always serialises.
    serde_json::to_value(saved).unwrap_or(Value::Null)
}

/// The desired state back from a saved plan's `desiredState`.
pub fn desired_from_json(value: Value) -> Result<DesiredState, serde_json::Error> {
    let saved: SavedDesired = serde_json::from_value(value)?;
    Ok(DesiredState {
        policy: saved.policy,
        attribute_sets: saved.attribute_sets,
        assignments: saved.assignments.into_iter().map(|entry| (entry.principal, entry.sets)).collect(),
        acknowledged_drift: saved.acknowledged_drift,
        values_owned_elsewhere: saved.values_owned_elsewhere,
        acknowledged_references: saved.acknowledged_references,
        group_assignments: saved.group_assignments,
        requirements: saved.requirements,
    })
}
