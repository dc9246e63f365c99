//! Coverage: who breaks the files' `requirements` once the plan is applied
//! (ARCHITECTURE.md, "Coverage rules").
//!
//! A requirement says every principal of a population must hold an
//! attribute (one of some values). Each principal is judged on its value at
//! the end of the plan: the value the plan assigns, or none where it
//! unassigns, or else the value it holds now. So a principal the files tag
//! in this very plan is no finding, and a finding means "after an apply this
//! principal still breaks the rule". Values another writer owns
//! (`valuesOwnedBy`) count like any other: the rule asks what is held, not
//! who wrote it.
//!
//! Pure, like the rest of the plan: the populations come from what the read
//! put in the `LiveState` (the swept kinds, the memberships of the groups
//! the rules name).

use std::collections::{HashMap, HashSet};

use crate::model::live::{LivePrincipal, LiveState, Membership, PrincipalId};
use crate::model::requirement::{OnFailure, Population, Requirement};
use crate::model::{AttributeValue, DesiredState, PrincipalKind};
use crate::plan::diff::principal_key;
use crate::plan::{Address, Change, Conflict, Note, Snapshot};

/// A principal that breaks a requirement at the end of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The requirement's name.
    pub requirement: String,
    /// The principal and the attribute, as addresses write them
    /// (`servicePrincipal:<appId>/AgentGovernance.RiskTier`).
    pub address: Address,
    pub display_name: Option<String>,
    /// The value it holds at the end of the plan, if any.
    pub value: Option<AttributeValue>,
    /// What breaks the rule, in words.
    pub message: String,
    /// A finding (`report`) or a conflict.
    pub outcome: OnFailure,
}

/// One requirement over its population: how many principals it covers,
/// and who breaks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    pub requirement: Requirement,
    /// Principals of the population that were judged.
    pub principals: usize,
    /// Those that meet the requirement.
    pub meeting: usize,
    /// Those that break it, by address.
    pub breaking: Vec<Finding>,
    /// Principals whose value the tool does not understand: neither counted
    /// as meeting nor as breaking.
    pub not_understood: usize,
    /// Why the requirement could not be judged at all, when it could not.
    pub not_checked: Option<String>,
}

/// What coverage adds to a plan.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Coverage {
    pub findings: Vec<Finding>,
    pub conflicts: Vec<Conflict>,
    pub notes: Vec<Note>,
}

/// Every requirement of `desired` over `live` at the end of `changes`
/// (empty: the tenant as it is), in the files' order.
pub fn tally(desired: &DesiredState, live: &LiveState, changes: &[Change]) -> Vec<Tally> {
    if desired.requirements.is_empty() {
        return Vec::new();
    }
    let planned = planned_values(changes, &desired.requirements);
    let not_understood: HashSet<(&PrincipalId, &str, &str)> = live
        .not_understood
        .iter()
        .filter_map(|item| {
            Some((item.principal.as_ref()?, item.set.as_str(), item.attribute.as_deref().unwrap_or("")))
        })
        .collect();
    desired
        .requirements
        .iter()
        .map(|requirement| judge(requirement, live, &planned, &not_understood))
        .collect()
}

/// The coverage findings, conflicts and notes of a plan.
pub fn check(desired: &DesiredState, live: &LiveState, changes: &[Change]) -> Coverage {
    let mut coverage = Coverage::default();
    for tally in tally(desired, live, changes) {
        let requirement = &tally.requirement;
        if let Some(reason) = &tally.not_checked {
            if let Population::Group(group) = &requirement.principals {
                coverage.conflicts.push(Conflict {
                    address: Address::GroupAssignment {
                        group: group.clone(),
                        set: requirement.set.clone(),
                        attribute: requirement.attribute.clone(),
                    },
                    property: "requirement".into(),
                    live: None,
                    desired: Some(requirement.name.clone()),
                    message: format!("requirement `{}`: {reason}", requirement.name),
                    hint: "name the group by its object id, or by a display name only it has".into(),
                });
            } else {
                coverage.notes.push(Note {
                    address: None,
                    message: format!("requirement `{}` was not checked: {reason}", requirement.name),
                });
            }
            continue;
        }
        if tally.principals == 0 && tally.not_understood == 0 {
            coverage.notes.push(Note { address: None, message: empty_population_words(requirement) });
        }
        if tally.not_understood > 0 {
            coverage.notes.push(Note {
                address: None,
                message: format!(
                    "requirement `{}`: {} principal(s) hold a value of {} this version does not \
                     understand; they were not judged",
                    requirement.name,
                    tally.not_understood,
                    requirement.attribute_address()
                ),
            });
        }
        for finding in tally.breaking {
            if finding.outcome == OnFailure::Conflict {
                coverage.conflicts.push(Conflict {
                    address: finding.address.clone(),
                    property: "requirement".into(),
                    live: finding.value.as_ref().map(ToString::to_string),
                    desired: Some(requirement.name.clone()),
                    message: format!("breaks requirement `{}`: {}", requirement.name, finding.message),
                    hint: format!(
                        "assign {} to it in the files, or write `onFailure: report` to list it without refusing the plan",
                        wanted_words(requirement)
                    ),
                });
            }
            coverage.findings.push(finding);
        }
    }
    coverage
}

/// The values the plan leaves on principals for the attributes the
/// requirements name: `Some(value)` where it assigns or updates, `None`
/// where it unassigns.
type Planned<'a> = HashMap<(&'a PrincipalId, &'a str, &'a str), Option<&'a AttributeValue>>;

fn planned_values<'a>(changes: &'a [Change], requirements: &[Requirement]) -> Planned<'a> {
    let wanted: HashSet<(&str, &str)> =
        requirements.iter().map(|rule| (rule.set.as_str(), rule.attribute.as_str())).collect();
    let mut planned = HashMap::new();
    for change in changes {
        let Address::Assignment { set, attribute, .. } = &change.address else { continue };
        if !wanted.contains(&(set.as_str(), attribute.as_str())) {
            continue;
        }
        let principal = match (&change.after, &change.before) {
            (Some(Snapshot::Assignment { principal, .. }), _)
            | (None, Some(Snapshot::Assignment { principal, .. })) => principal,
            _ => continue,
        };
        let value = match &change.after {
            Some(Snapshot::Assignment { value, .. }) => Some(value),
            _ => None,
        };
        // In apply order, the last change to a value is where it ends.
        planned.insert((principal, set.as_str(), attribute.as_str()), value);
    }
    planned
}

fn judge(
    requirement: &Requirement,
    live: &LiveState,
    planned: &Planned<'_>,
    not_understood: &HashSet<(&PrincipalId, &str, &str)>,
) -> Tally {
    let mut tally = Tally {
        requirement: requirement.clone(),
        principals: 0,
        meeting: 0,
        breaking: Vec::new(),
        not_understood: 0,
        not_checked: None,
    };
    let members: Vec<&LivePrincipal> = match &requirement.principals {
        Population::Group(group) => match live.memberships.get(group) {
            Some(Membership::Group { members, .. }) => {
                members.iter().filter_map(|member| live.principals.get(member)).collect()
            }
            Some(Membership::NotFound { suggestion }) => {
                let near =
                    suggestion.as_ref().map(|near| format!(" (did you mean `{near}`?)")).unwrap_or_default();
                tally.not_checked = Some(format!("no group `{group}` was found{near}"));
                return tally;
            }
            Some(Membership::Ambiguous { candidates }) => {
                tally.not_checked = Some(format!(
                    "{} groups are named `{group}`: {}",
                    candidates.len(),
                    candidates.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>().join(", ")
                ));
                return tally;
            }
            Some(Membership::TooLarge { read }) => {
                tally.not_checked = Some(format!(
                    "group `{group}` has more than {} members ({read} read)",
                    crate::model::live::MAX_GROUP_MEMBERS
                ));
                return tally;
            }
            None => {
                tally.not_checked = Some(format!("the members of group `{group}` were not read"));
                return tally;
            }
        },
        population => {
            let kind = population.kind().expect("only a group has no kind");
            if !live.holds_every(kind) {
                let kinds = match kind {
                    PrincipalKind::User => "users",
                    PrincipalKind::ServicePrincipal => "service principals",
                };
                tally.not_checked = Some(format!("not every one of the tenant's {kinds} was read"));
                return tally;
            }
            live.principals.values().filter(|principal| population.includes(principal)).collect()
        }
    };
    let (set, attribute) = (requirement.set.as_str(), requirement.attribute.as_str());
    for principal in members {
        let id = principal.id();
        if not_understood.contains(&(&id, set, attribute)) || not_understood.contains(&(&id, set, "")) {
            tally.not_understood += 1;
            continue;
        }
        tally.principals += 1;
        let value = match planned.get(&(&id, set, attribute)) {
            Some(planned) => *planned,
            None => principal.value(set, attribute),
        };
        if requirement.is_met_by(value) {
            tally.meeting += 1;
            continue;
        }
        tally.breaking.push(Finding {
            requirement: requirement.name.clone(),
            address: Address::Assignment {
                principal: principal_key(principal),
                set: set.to_owned(),
                attribute: attribute.to_owned(),
            },
            display_name: principal.display_name.clone(),
            value: value.filter(|value| !value.is_empty_collection()).cloned(),
            message: breach_words(requirement, value),
            outcome: requirement.on_failure,
        });
    }
    tally.breaking.sort_by(|a, b| a.address.cmp(&b.address));
    tally
}

/// The note for a requirement whose population is empty: a rule that
/// judged nobody passes, and says so. For agents it says why that may be:
/// Microsoft documents that the service principals' list returns blueprint
/// principals, but not whether it returns agent identities (see
/// docs/src/how-to/coverage-requirements.md, "What it reads").
fn empty_population_words(requirement: &Requirement) -> String {
    let why = match &requirement.principals {
        Population::AgentIdentities
        | Population::AgentUsers
        | Population::AgentIdentityBlueprintPrincipals => {
            " (agents are recognised by the `@odata.type` the sweep returns; if the tenant has some, \
             check that its list of service principals or users returns them)"
        }
        _ => "",
    };
    let nobody = match &requirement.principals {
        Population::Users => "no user was read".to_owned(),
        Population::ServicePrincipals => "no service principal was read".to_owned(),
        Population::AgentIdentities => "no agent identity was read".to_owned(),
        Population::AgentIdentityBlueprintPrincipals => {
            "no agent identity blueprint principal was read".to_owned()
        }
        Population::AgentUsers => "no agent user was read".to_owned(),
        Population::Group(group) => {
            format!("group `{group}` has no user or service principal among its members")
        }
    };
    format!("requirement `{}` judged no principal: {nobody}{why}", requirement.name)
}

/// `a value of Gov.Tier` or `one of Low, High in Gov.Tier`.
fn wanted_words(requirement: &Requirement) -> String {
    if requirement.one_of.is_empty() {
        format!("a value of {}", requirement.attribute_address())
    } else {
        format!("one of {} in {}", requirement.one_of.join(", "), requirement.attribute_address())
    }
}

/// Why `value` breaks `requirement`, in words.
fn breach_words(requirement: &Requirement, value: Option<&AttributeValue>) -> String {
    match value.filter(|value| !value.is_empty_collection()) {
        None => format!("holds no value of {}", requirement.attribute_address()),
        Some(value) => format!(
            "holds {value} in {}, not one of {}",
            requirement.attribute_address(),
            requirement.one_of.join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{PrincipalAssignments, SetValues};
    use crate::plan::Action;

    fn agent(id: &str, tier: Option<&str>) -> LivePrincipal {
        LivePrincipal {
            kind: PrincipalKind::ServicePrincipal,
            object_id: id.into(),
            user_principal_name: None,
            app_id: Some(format!("app-{id}")),
            display_name: Some(format!("Agent {id}")),
            odata_type: Some("#microsoft.graph.agentIdentity".into()),
            custom_security_attributes: tier.map(|tier| {
                let values = SetValues::from_iter([("Tier".to_owned(), AttributeValue::String(tier.into()))]);
                PrincipalAssignments::from_iter([("Gov".to_owned(), values)])
            }),
        }
    }

    fn rule() -> Requirement {
        Requirement {
            name: "tiered".into(),
            principals: Population::AgentIdentities,
            set: "Gov".into(),
            attribute: "Tier".into(),
            one_of: vec!["Low".into(), "High".into()],
            on_failure: OnFailure::Report,
        }
    }

    fn live(principals: Vec<LivePrincipal>) -> LiveState {
        let mut live = LiveState { principals_complete: true, ..LiveState::default() };
        for principal in principals {
            live.principals.insert(principal.id(), principal);
        }
        live
    }

    #[test]
    fn the_end_of_the_plan_decides() {
        let live = live(vec![
            agent("a", None),
            agent("b", Some("Low")),
            agent("c", Some("Mid")),
            agent("d", Some("High")),
        ]);
        let desired = DesiredState { requirements: vec![rule()], ..DesiredState::default() };
        let assignment = |id: &str, before: Option<&str>, after: Option<&str>, action| {
            let principal = PrincipalId { kind: PrincipalKind::ServicePrincipal, object_id: id.into() };
            let snapshot = |value: Option<&str>| {
                value.map(|value| Snapshot::Assignment {
                    principal: principal.clone(),
                    value: AttributeValue::String(value.into()),
                })
            };
            Change {
                seq: 0,
                action,
                address: Address::Assignment {
                    principal: crate::model::PrincipalKey::ServicePrincipal(format!("app-{id}")),
                    set: "Gov".into(),
                    attribute: "Tier".into(),
                },
                before: snapshot(before),
                after: snapshot(after),
            }
        };
        // `a` is tagged by the plan; `d` loses its value.
        let changes = vec![
            assignment("a", None, Some("High"), Action::Assign),
            assignment("d", Some("High"), None, Action::Unassign),
        ];
        let tallies = tally(&desired, &live, &changes);
        let breaking: Vec<String> =
            tallies[0].breaking.iter().map(|finding| finding.address.to_string()).collect();
        assert_eq!(breaking, ["servicePrincipal:app-c/Gov.Tier", "servicePrincipal:app-d/Gov.Tier"]);
        assert_eq!((tallies[0].principals, tallies[0].meeting), (4, 2));
        let now = tally(&desired, &live, &[]);
        assert_eq!(now[0].breaking.len(), 2, "the tenant as it is: a and c");
    }

    #[test]
    fn an_unread_population_is_not_checked_and_a_missing_group_is_a_conflict() {
        let mut unread = live(vec![agent("a", None)]);
        unread.principals_complete = false;
        let desired = DesiredState {
            requirements: vec![
                rule(),
                Requirement { name: "grouped".into(), principals: Population::Group("G".into()), ..rule() },
            ],
            ..DesiredState::default()
        };
        let coverage = check(&desired, &unread, &[]);
        assert!(coverage.findings.is_empty());
        assert_eq!(coverage.notes.len(), 1, "{:?}", coverage.notes);
        assert_eq!(coverage.conflicts.len(), 1);
        assert_eq!(coverage.conflicts[0].address.to_string(), "group:G/Gov.Tier");
    }

    #[test]
    fn a_rule_that_judged_nobody_says_so() {
        let mut app = agent("a", None);
        app.odata_type = None;
        let desired = DesiredState { requirements: vec![rule()], ..DesiredState::default() };
        let coverage = check(&desired, &live(vec![app]), &[]);
        assert!(coverage.findings.is_empty());
        assert_eq!(coverage.notes.len(), 1);
        assert!(coverage.notes[0].message.contains("no agent identity was read"), "{:?}", coverage.notes);
    }

    #[test]
    fn conflicts_on_failure_become_conflicts_too() {
        let live = live(vec![agent("a", None)]);
        let strict = Requirement { on_failure: OnFailure::Conflict, ..rule() };
        let desired = DesiredState { requirements: vec![strict], ..DesiredState::default() };
        let coverage = check(&desired, &live, &[]);
        assert_eq!(coverage.findings.len(), 1);
        assert_eq!(coverage.conflicts.len(), 1);
        assert_eq!(coverage.conflicts[0].address.to_string(), "servicePrincipal:app-a/Gov.Tier");
        assert!(
            coverage.conflicts[0].message.contains("holds no value of Gov.Tier"),
            "{:?}",
            coverage.conflicts
        );
    }
}
