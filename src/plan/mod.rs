//! The plan: an ordered list of changes that only add, update, deactivate or
//! reactivate — never delete, never rename — plus the conflicts Graph cannot
//! carry out and the drift the policy only reports. A plan knows the
//! fingerprints of what it was computed from, so a stale one can be refused.
//!
//! `diff` computes the changes, `order` sorts them, `build` puts a plan
//! together with its fingerprints, and `effect` says what one change does.
//! What reads the attributes is `readers`' business: `references` turns the
//! references readers make into conflicts and notes, `impact` turns their
//! impacts into the plan's impact lines.

pub mod acknowledge;
pub mod action;
pub mod apply_time;
pub mod address;
pub mod coverage;
pub mod diff;
pub mod effect;
pub mod explain;
pub mod fingerprint;
pub mod impact;
pub mod groups;
pub mod order;
pub mod references;
pub mod resume;
pub mod saved;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::live::{LiveState, PrincipalId};
use crate::model::{AttributeValue, DataType, Definition, DesiredState, Status};
use crate::plan::diff::{diff, limit_conflicts};

pub use action::{Action, Kind};
pub use address::Address;

/// Version of the JSON plan format (`plan --format json`, `plan --out`).
/// Bump it on any change to the shape of the JSON document. Version 2 added
/// `impact[]` and an optional `source` on a change; `apply` still reads a version-1 saved plan (see
/// `READABLE_FORMAT_VERSIONS`).
pub const FORMAT_VERSION: u32 = 2;

/// The saved-plan versions `apply` reads: version 1 is version 2 without
/// `impact[]`, which apply does not use.
pub const READABLE_FORMAT_VERSIONS: [u32; 2] = [1, 2];

/// A plan, computed from a desired state and a live state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub target: Target,
    pub fingerprint: Fingerprint,
    /// In apply order; `seq` counts from 1.
    pub changes: Vec<Change>,
    pub conflicts: Vec<Conflict>,
    pub drift: Vec<Drift>,
    /// Drift the files acknowledge (`acknowledgedDrift`): shown, not counted.
    pub acknowledged: Vec<Drift>,
    /// What the plan is read as; see `Mode`.
    pub mode: Mode,
    /// Things worth saying that are neither changes nor conflicts
    /// (rename hints, a likely missing read permission, ...).
    pub notes: Vec<Note>,
    /// Principals that enter or leave what a reader of attributes governs
    /// (a Conditional Access policy's scope) through the plan's assignment
    /// changes (see `impact`).
    pub impact: Vec<impact::Impact>,
    /// Every reference naming what the plan deactivates, with what the plan
    /// made of it (conflict, acknowledged, note), and where it was read.
    pub references: Vec<references::Named>,
    /// Where a change comes from when the files do not list it directly:
    /// `group:<key>` for a value a group gives or an authoritative group
    /// takes away, by the change's address.
    pub sources: BTreeMap<Address, String>,
    /// Principals that break a requirement of the files at the end of the
    /// plan (`coverage`), those whose rule says `conflict` included (they
    /// are among `conflicts` too).
    pub coverage: Vec<coverage::Finding>,
}

impl Plan {
    /// The coverage findings that count like drift: those whose rule says
    /// `report` (the others are conflicts).
    pub fn coverage_findings(&self) -> usize {
        self.coverage
            .iter()
            .filter(|finding| finding.outcome == crate::model::requirement::OnFailure::Report)
            .count()
    }

    /// Whether apply has nothing to do.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    pub fn summary(&self) -> Summary {
        let mut summary = Summary {
            conflicts: self.conflicts.len(),
            drift: self.drift.len(),
            coverage: self.coverage_findings(),
            ..Summary::default()
        };
        for change in &self.changes {
            match change.action {
                Action::Create => summary.create += 1,
                Action::Update => summary.update += 1,
                Action::Deactivate => summary.deactivate += 1,
                Action::Reactivate => summary.reactivate += 1,
                Action::Assign => summary.assign += 1,
                Action::Unassign => summary.unassign += 1,
            }
        }
        summary
    }
}

/// How a plan is read. The tool keeps no state, so only the caller knows
/// whether the files were applied: on a scheduled run against the files
/// everyone agreed on (`plan --drift`), every difference is drift — someone
/// changed the tenant — rather than a change waiting for its apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// The changes an apply would make.
    #[default]
    Plan,
    /// How the tenant differs from the files; each change is also drift.
    Drift,
}

/// Counts by action, for the summary line of every format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    pub deactivate: usize,
    pub reactivate: usize,
    pub assign: usize,
    pub unassign: usize,
    pub conflicts: usize,
    pub drift: usize,
    /// Coverage findings that count like drift (`Plan::coverage_findings`).
    pub coverage: usize,
}

/// Where the live state came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Target {
    #[serde(rename_all = "camelCase")]
    Graph { graph_url: String, tenant_id: Option<String> },
    #[serde(rename_all = "camelCase")]
    StateFile { path: String },
}

/// Hashes (`sha256:<hex>`) of the normalised inputs of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    pub desired: String,
    pub live: String,
}

/// One step of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub seq: usize,
    pub action: Action,
    pub address: Address,
    pub before: Option<Snapshot>,
    pub after: Option<Snapshot>,
}

impl Change {
    pub fn kind(&self) -> Kind {
        self.address.kind()
    }
}

/// The state of one object before or after a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Snapshot {
    AttributeSet {
        description: Option<String>,
        max_attributes_per_set: Option<i32>,
    },
    Definition(DefinitionSnapshot),
    AllowedValue {
        is_active: bool,
    },
    /// An assigned value; `principal` is the object it is assigned on.
    Assignment {
        principal: PrincipalId,
        value: AttributeValue,
    },
}

/// A definition's properties, with its allowed values when it is created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefinitionSnapshot {
    pub description: Option<String>,
    pub data_type: DataType,
    pub is_collection: bool,
    pub is_searchable: bool,
    pub use_pre_defined_values_only: bool,
    pub status: Status,
    /// Only on create: the values sent inline, as `(id, isActive)`.
    pub allowed_values: Vec<(String, bool)>,
}

/// The snapshot of a definition; with its allowed values when `with_values`
/// (a create sends them inline).
pub fn definition_snapshot(definition: &Definition, with_values: bool) -> DefinitionSnapshot {
    DefinitionSnapshot {
        description: definition.description.clone(),
        data_type: definition.data_type,
        is_collection: definition.is_collection,
        is_searchable: definition.is_searchable,
        use_pre_defined_values_only: definition.use_pre_defined_values_only,
        status: definition.status,
        allowed_values: if with_values {
            definition.allowed_values.iter().map(|value| (value.id.clone(), value.is_active)).collect()
        } else {
            Vec::new()
        },
    }
}

/// The plan that makes `live` match `desired`: changes in apply order with
/// `seq` from 1, the conflicts (including the tenant limits the plan would
/// break), drift and notes, and the fingerprints of both inputs.
pub fn build(desired: &DesiredState, live: &LiveState, target: Target) -> Plan {
    std::thread::scope(|scope| {
        // The fingerprints serialise both states (tens of megabytes for a
        // large tenant) and need nothing from the diff: they are computed
        // beside it.
        let fingerprint = scope.spawn(|| Fingerprint {
            desired: fingerprint::desired(desired),
            live: fingerprint::live(live, desired),
        });
        let found = diff(desired, live);
        let changes = order::order(found.changes, effect::active_definitions(live));
        let mut conflicts = found.conflicts;
        conflicts.extend(limit_conflicts(desired, live, &changes));
        let (reference_conflicts, reference_notes) =
            references::check(&changes, live, &desired.acknowledged_references);
        conflicts.extend(reference_conflicts);
        let coverage = coverage::check(desired, live, &changes);
        conflicts.extend(coverage.conflicts);
        conflicts.sort_by(|a, b| (&a.address, &a.property).cmp(&(&b.address, &b.property)));
        let mut drift = found.drift;
        drift.sort_by(|a, b| a.address.cmp(&b.address));
        let (drift, acknowledged) = acknowledge::acknowledge(drift, &desired.acknowledged_drift);
        let (impact, impact_notes) = impact::impact(&changes, live, desired);
        let mut notes = found.notes;
        notes.extend(reference_notes);
        notes.extend(references::partly_checked(&changes, live));
        let named = references::named(&changes, live, &desired.acknowledged_references);
        notes.extend(impact_notes);
        notes.extend(coverage.notes);
        notes.extend(live.read_notes.iter().map(|message| Note { address: None, message: message.clone() }));
        notes.extend(apply_time::note(&changes, &target));
        notes.sort_by(|a, b| (&a.address, &a.message).cmp(&(&b.address, &b.message)));
        let fingerprint = fingerprint.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        Plan {
            target,
            fingerprint,
            changes,
            conflicts,
            drift,
            acknowledged,
            mode: Mode::Plan,
            notes,
            impact,
            references: named,
            sources: found.sources,
            coverage: coverage.findings,
        }
    })
}

/// A desired change Graph cannot make. A plan with conflicts is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub address: Address,
    pub property: String,
    pub live: Option<String>,
    pub desired: Option<String>,
    pub message: String,
    pub hint: String,
}

/// Something in the tenant the files do not declare, left alone by policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    pub address: Address,
    pub message: String,
}

/// A remark that changes nothing: a rename hint, a permission warning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub address: Option<Address>,
    pub message: String,
}
