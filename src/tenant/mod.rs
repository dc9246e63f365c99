//! The tenants the tool plans against: the `Tenant` trait (something that can
//! be read into a `LiveState` and can carry out a plan's changes) and the
//! local state file (`state_file`). Microsoft Graph, the other tenant, lives
//! beside this folder in `crate::graph`.

pub mod state_file;

use async_trait::async_trait;

use std::collections::BTreeMap;

use crate::desired::diagnostic::nearest;
pub use crate::model::live::member_keys;
use crate::model::live::{LiveGroup, LivePrincipal, LiveState, Membership, NotUnderstood};
use crate::model::{DesiredState, PrincipalKey, is_guid};
use crate::plan::{Change, Target};

/// What a read must cover.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReadScope {
    /// The principals whose assignments the files declare.
    pub principals: Vec<PrincipalKey>,
    /// Read every user and service principal (an undeclared-assignments policy needs it).
    pub sweep: bool,
    /// Which principals read besides the declared ones are kept: a sweep
    /// of a million users keeps the few that hold values, so memory grows
    /// with them and not with the tenant. The others are counted and dropped.
    pub retain: Retain,
    /// The groups the files assign by, as they name them: their transitive
    /// members are read and added to the principals, and the memberships
    /// kept in `LiveState::memberships`.
    pub groups: Vec<String>,
    /// The populations the files' requirements are about (groups aside,
    /// which join `groups`): their kind is swept, and each of their
    /// principals is kept whatever it holds, so that coverage sees those
    /// that hold nothing. A rule about agent identities sweeps the service
    /// principals only.
    pub populations: Vec<crate::model::requirement::Population>,
}

/// What of a sweep is kept besides the declared principals (always kept)
/// and those holding a value the tool does not understand (always kept, to
/// be reported).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Retain {
    /// Every principal read.
    #[default]
    Everything,
    /// Those holding a value in one of these attribute sets (lowercase:
    /// set names compare ignoring case).
    HoldersOf(std::collections::BTreeSet<String>),
    /// Those holding any value.
    AnyValue,
}

impl ReadScope {
    /// What a plan of `desired` needs to read.
    pub fn for_desired(desired: &DesiredState) -> Self {
        ReadScope {
            principals: desired.assignments.keys().cloned().collect(),
            // An authoritative group must find every holder of its attributes.
            sweep: desired.policy.undeclared_assignments.needs_sweep() || desired.has_authoritative_groups(),
            retain: Retain::HoldersOf(
                desired.attribute_sets.keys().map(|set| set.to_ascii_lowercase()).collect(),
            ),
            groups: desired
                .group_assignments
                .keys()
                .cloned()
                .chain(
                    requirement_groups(desired)
                        .filter(|group| !desired.group_assignments.contains_key(*group))
                        .cloned(),
                )
                .collect::<std::collections::BTreeSet<String>>()
                .into_iter()
                .collect(),
            populations: requirement_populations(desired),
        }
    }

    /// What `report --coverage` reads: the populations of the requirements
    /// of `desired` and the groups they name, nothing else.
    pub fn for_coverage(desired: &DesiredState) -> Self {
        ReadScope {
            principals: Vec::new(),
            sweep: false,
            // Only the populations (and the groups' members) are judged:
            // nobody else is kept.
            retain: Retain::HoldersOf(std::collections::BTreeSet::new()),
            groups: requirement_groups(desired)
                .cloned()
                .collect::<std::collections::BTreeSet<String>>()
                .into_iter()
                .collect(),
            populations: requirement_populations(desired),
        }
    }

    /// Whether every principal of `kind` is read.
    pub fn sweeps(&self, kind: crate::model::PrincipalKind) -> bool {
        self.sweep || self.populations.iter().any(|population| population.kind() == Some(kind))
    }
}

/// The groups the requirements of `desired` are about, as the files name them.
fn requirement_groups(desired: &DesiredState) -> impl Iterator<Item = &String> {
    desired.requirements.iter().filter_map(|requirement| match &requirement.principals {
        crate::model::requirement::Population::Group(group) => Some(group),
        _ => None,
    })
}

/// The populations other than groups the requirements of `desired` are about, each once.
fn requirement_populations(desired: &DesiredState) -> Vec<crate::model::requirement::Population> {
    let mut populations: Vec<_> = desired
        .requirements
        .iter()
        .map(|requirement| requirement.principals.clone())
        .filter(|population| population.kind().is_some())
        .collect();
    populations.sort();
    populations.dedup();
    populations
}

/// How each group in `keys` is found among the groups `live` holds (a
/// state file's `groups`), by object id or by display name (folded over all
/// of Unicode, `model::same_display_name`: two groups whose names differ
/// only in case are ambiguous), with its transitive members.
pub fn memberships_in(live: &LiveState, keys: &[String]) -> BTreeMap<String, Membership> {
    let groups = live.groups.as_deref().unwrap_or_default();
    let mut found = BTreeMap::new();
    for key in keys {
        let named: Vec<&LiveGroup> = if is_guid(key) {
            groups.iter().filter(|group| group.id.eq_ignore_ascii_case(key)).collect()
        } else {
            groups
                .iter()
                .filter(|group| {
                    group
                        .display_name
                        .as_deref()
                        .is_some_and(|name| crate::model::same_display_name(name, key))
                })
                .collect()
        };
        let membership = match named.as_slice() {
            [] => Membership::NotFound {
                suggestion: nearest(key, groups.iter().filter_map(|group| group.display_name.as_deref()))
                    .map(str::to_owned),
            },
            [group] => Membership::of_group(
                &group.id,
                group.display_name.as_deref(),
                live.transitive_members(&group.id).unwrap_or_default(),
            ),
            several => Membership::Ambiguous {
                candidates: several
                    .iter()
                    .map(|group| (group.id.clone(), group.display_name.clone().unwrap_or_default()))
                    .collect(),
            },
        };
        found.insert(key.clone(), membership);
    }
    found
}

/// A tenant the tool can read and change.
#[async_trait]
pub trait Tenant: Send + Sync {
    /// Where the live state comes from, as the plan records it.
    fn target(&self) -> Target;

    /// Reads the attribute sets, definitions (with allowed values) and the
    /// assignments of the principals `scope` names.
    async fn read(&self, scope: &ReadScope) -> anyhow::Result<LiveState>;

    /// Carries out `changes` in their order, stopping at the first failure it
    /// cannot retry. The report tells, per change, what happened.
    async fn apply(&self, changes: &[Change]) -> ApplyReport;

    /// Keeps other applies out until this one ends, where the tenant can
    /// promise that: called before the read an apply plans from, so what is
    /// shown and confirmed is what gets applied. A local state file takes
    /// its lock; Graph offers no lock, so by default nothing happens.
    async fn reserve_for_apply(&self) -> anyhow::Result<()> {
        Ok(())
    }

    /// The flag that stops an apply in progress: once set, nothing new is
    /// sent and the requests in flight get a short grace to finish. `None`
    /// where an apply is one step that cannot stop half-way (a state file is
    /// written whole or not at all).
    fn stop_handle(&self) -> Option<std::sync::Arc<std::sync::atomic::AtomicBool>> {
        None
    }

    /// The entries of the custom security attribute audit log from `since`
    /// on (RFC 3339, UTC), for `plan --explain`; `Err` says why there are
    /// none to read. Only Graph keeps such a log.
    async fn audit_log(&self, _since: &str) -> Result<crate::plan::explain::AuditLog, String> {
        Err("a state file keeps no audit log, so the drift findings are unexplained".to_owned())
    }

    /// Hands every user and service principal to `visit`, one at a time,
    /// with what of its values was not understood. By default the whole
    /// tenant is read first (a state file is one document anyway); Graph
    /// streams it page by page, so a report of a large tenant never holds it.
    async fn each_principal(&self, visit: &mut PrincipalVisitor<'_>) -> anyhow::Result<()> {
        let live =
            self.read(&ReadScope { principals: Vec::new(), sweep: true, ..ReadScope::default() }).await?;
        let mut not_understood: std::collections::BTreeMap<_, Vec<NotUnderstood>> = Default::default();
        for item in live.not_understood {
            if let Some(principal) = item.principal.clone() {
                not_understood.entry(principal).or_default().push(item);
            }
        }
        for (id, principal) in live.principals {
            visit(principal, not_understood.remove(&id).unwrap_or_default())?;
        }
        Ok(())
    }
}

/// What `Tenant::each_principal` calls with each principal and what of its
/// values was not understood.
pub type PrincipalVisitor<'a> =
    dyn FnMut(LivePrincipal, Vec<NotUnderstood>) -> anyhow::Result<()> + Send + 'a;

/// What an apply did, change by change.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ApplyReport {
    /// One entry per change, in plan order.
    pub outcomes: Vec<ChangeOutcome>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeOutcome {
    pub seq: usize,
    pub address: String,
    pub result: Outcome,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done,
    Failed(String),
    /// Not tried, because an earlier change failed or the run was stopped.
    NotAttempted,
    /// Sent, but the apply stopped before Graph answered: it may or may not
    /// be in the tenant (the next plan, or the same saved plan applied again,
    /// finds out).
    CutOff,
}

impl ApplyReport {
    pub fn succeeded(&self) -> bool {
        self.outcomes.iter().all(|outcome| outcome.result == Outcome::Done)
    }

    pub fn count(&self, wanted: fn(&Outcome) -> bool) -> usize {
        self.outcomes.iter().filter(|outcome| wanted(&outcome.result)).count()
    }
}
