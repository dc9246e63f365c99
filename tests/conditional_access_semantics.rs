//! Conditional Access against a second evaluator, written here from
//! Microsoft's pages alone and deliberately simple: it never calls the code
//! under test for a verdict. Random policies (every operator, `-not`,
//! nesting, include and exclude lists, `All`, the three states, the agent
//! target) and random value changes must give the impact and the references
//! this evaluator gives. The rules it encodes:
//!
//! - A filter rule holds `-and`, `-or`, `-not` and comparisons; a missing
//!   value matches only the negative operators; `-in`/`-notIn` compare with
//!   each item of a list
//!   (<https://learn.microsoft.com/entra/identity/users/groups-dynamic-membership#rules-with-multiple-expressions>,
//!   <https://learn.microsoft.com/entra/identity/conditional-access/concept-condition-filters-for-devices>).
//!   Whether comparisons regard letter case is not documented: both readings
//!   are tried.
//! - A target has the principal in scope when the principal is included
//!   (listed, by `All`/`ServicePrincipalsInMyTenant`, or by an include-mode
//!   filter that matches) and not excluded (listed, or by an exclude-mode
//!   filter that matches)
//!   (<https://learn.microsoft.com/graph/api/resources/conditionalaccessapplications>,
//!   <https://learn.microsoft.com/graph/api/resources/conditionalaccessfilter>).
//! - The agent filter and lists pick agent identities only; whether the
//!   workload-identity lists reach agent identities is not documented: both
//!   readings are tried
//!   (<https://learn.microsoft.com/graph/api/resources/conditionalaccessclientapplications?view=graph-rest-beta>).
//! - An impact is the move from out of scope to in (enters) or back
//!   (leaves); readings that disagree make it unknown.
//! - A deactivated value is named by a comparison on its attribute whose
//!   literal equals it (`-eq`, `-ne`, `-in`, `-notIn`), starts or ends it, or
//!   is part of it, in any case; naming it is a conflict when the policy is
//!   enabled or report-only, a note when it is disabled.

use std::collections::BTreeMap;

use entra_csa::model::live::{LivePrincipal, LiveState, PrincipalId};
use entra_csa::model::{
    AttributeValue, DataType, Definition, DesiredState, PrincipalAssignments, PrincipalKey, PrincipalKind,
    SetValues, Status,
};
use entra_csa::plan::{Action, Address, Change, Snapshot};
use proptest::prelude::*;
use serde_json::{Value, json};

const APP_ID: &str = "a1a1a1a1-0000-4000-8000-00000000000a";
const OBJECT_ID: &str = "b1b1b1b1-0000-4000-8000-00000000000a";
/// Another service principal the tenant holds: a plain one, never a blueprint.
const OTHER_APP_ID: &str = "a1a1a1a1-0000-4000-8000-00000000000b";
const OTHER_OBJECT_ID: &str = "b1b1b1b1-0000-4000-8000-00000000000b";

// ── the evaluator ─────────────────────────────────────────────────────────

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    StartsWith,
    NotStartsWith,
    EndsWith,
    NotEndsWith,
    Contains,
    NotContains,
    In,
    NotIn,
}

const OPS: [Op; 10] = [
    Op::Eq,
    Op::Ne,
    Op::StartsWith,
    Op::NotStartsWith,
    Op::EndsWith,
    Op::NotEndsWith,
    Op::Contains,
    Op::NotContains,
    Op::In,
    Op::NotIn,
];

impl Op {
    fn word(self) -> &'static str {
        match self {
            Op::Eq => "-eq",
            Op::Ne => "-ne",
            Op::StartsWith => "-startsWith",
            Op::NotStartsWith => "-notStartsWith",
            Op::EndsWith => "-endsWith",
            Op::NotEndsWith => "-notEndsWith",
            Op::Contains => "-contains",
            Op::NotContains => "-notContains",
            Op::In => "-in",
            Op::NotIn => "-notIn",
        }
    }

    fn negative(self) -> bool {
        matches!(self, Op::Ne | Op::NotStartsWith | Op::NotEndsWith | Op::NotContains | Op::NotIn)
    }
}

#[derive(Debug, Clone)]
enum R {
    Cmp(&'static str, Op, Vec<String>),
    And(Vec<R>),
    Or(Vec<R>),
    Not(Box<R>),
}

impl R {
    fn text(&self) -> String {
        let part = |rule: &R| match rule {
            R::Cmp(..) => rule.text(),
            _ => format!("({})", rule.text()),
        };
        match self {
            R::Cmp(attribute, op, literals) => {
                let quoted: Vec<String> = literals.iter().map(|literal| format!("\"{literal}\"")).collect();
                let operand = if matches!(op, Op::In | Op::NotIn) {
                    format!("[{}]", quoted.join(", "))
                } else {
                    quoted[0].clone()
                };
                format!("CustomSecurityAttribute.{attribute} {} {operand}", op.word())
            }
            R::And(parts) => parts.iter().map(part).collect::<Vec<_>>().join(" -and "),
            R::Or(parts) => parts.iter().map(part).collect::<Vec<_>>().join(" -or "),
            R::Not(inner) => format!("-not {}", part(inner)),
        }
    }

    fn holds(&self, values: &BTreeMap<&str, String>, case_sensitive: bool) -> bool {
        let fold = |text: &str| if case_sensitive { text.to_owned() } else { text.to_lowercase() };
        match self {
            R::And(parts) => parts.iter().all(|part| part.holds(values, case_sensitive)),
            R::Or(parts) => parts.iter().any(|part| part.holds(values, case_sensitive)),
            R::Not(inner) => !inner.holds(values, case_sensitive),
            R::Cmp(attribute, op, literals) => {
                let value = values
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(attribute))
                    .map(|(_, value)| value);
                let Some(value) = value else { return op.negative() };
                let value = fold(value);
                let literal = fold(&literals[0]);
                let positive = match op {
                    Op::Eq | Op::Ne => value == literal,
                    Op::StartsWith | Op::NotStartsWith => value.starts_with(&literal),
                    Op::EndsWith | Op::NotEndsWith => value.ends_with(&literal),
                    Op::Contains | Op::NotContains => value.contains(&literal),
                    Op::In | Op::NotIn => literals.iter().any(|item| fold(item) == value),
                };
                positive != op.negative()
            }
        }
    }

    fn names(&self, attribute: &str, value: &str) -> bool {
        match self {
            R::And(parts) | R::Or(parts) => parts.iter().any(|part| part.names(attribute, value)),
            R::Not(inner) => inner.names(attribute, value),
            R::Cmp(named, op, literals) => {
                let value = value.to_lowercase();
                named.eq_ignore_ascii_case(attribute)
                    && literals.iter().any(|literal| {
                        let literal = literal.to_lowercase();
                        match op {
                            Op::Eq | Op::Ne | Op::In | Op::NotIn => value == literal,
                            Op::StartsWith | Op::NotStartsWith => value.starts_with(&literal),
                            Op::EndsWith | Op::NotEndsWith => value.ends_with(&literal),
                            Op::Contains | Op::NotContains => value.contains(&literal),
                        }
                    })
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Applications,
    ServicePrincipals,
    Agents,
}

/// One random policy: its state, the target its filter sits in, the
/// filter, and who the target's lists name.
#[derive(Debug, Clone)]
struct Policy {
    state: &'static str,
    target: Target,
    include_mode: bool,
    rule: R,
    /// `All` (`ServicePrincipalsInMyTenant` for workload identities).
    include_all: bool,
    include_own: bool,
    include_other: bool,
    exclude_own: bool,
    exclude_other: bool,
    /// The principal's own id written in capitals (ids compare in any case).
    shout_ids: bool,
}

impl Policy {
    fn json(&self) -> Value {
        let (own, other, all) = match self.target {
            Target::Applications => (APP_ID, OTHER_APP_ID, "All"),
            Target::ServicePrincipals => (OBJECT_ID, OTHER_OBJECT_ID, "ServicePrincipalsInMyTenant"),
            Target::Agents => (OBJECT_ID, OTHER_OBJECT_ID, "All"),
        };
        let own = if self.shout_ids { own.to_uppercase() } else { own.to_owned() };
        let mut include = Vec::new();
        let mut exclude = Vec::new();
        if self.include_all {
            include.push(all.to_owned());
        }
        if self.include_own {
            include.push(own.clone());
        }
        if self.include_other {
            include.push(other.to_owned());
        }
        if self.exclude_own {
            exclude.push(own);
        }
        if self.exclude_other {
            exclude.push(other.to_owned());
        }
        let filter = json!({ "mode": if self.include_mode { "include" } else { "exclude" }, "rule": self.rule.text() });
        let conditions = match self.target {
            Target::Applications => json!({ "applications": {
                "includeApplications": include, "excludeApplications": exclude, "applicationFilter": filter } }),
            Target::ServicePrincipals => json!({
                "applications": { "includeApplications": ["All"] },
                "clientApplications": {
                    "includeServicePrincipals": include, "excludeServicePrincipals": exclude,
                    "servicePrincipalFilter": filter } }),
            Target::Agents => json!({
                "applications": { "includeApplications": ["All"] },
                "clientApplications": {
                    "includeAgentIdServicePrincipals": include, "excludeAgentIdServicePrincipals": exclude,
                    "agentIdServicePrincipalFilter": filter } }),
        };
        json!({ "id": "c1c1c1c1-0000-4000-8000-00000000000a", "displayName": "P", "state": self.state,
                "conditions": conditions })
    }

    /// Whether the target has the principal in scope, under one reading.
    fn in_scope(
        &self,
        agent: bool,
        values: &BTreeMap<&str, String>,
        case_sensitive: bool,
        agents_are_workloads: bool,
    ) -> Option<bool> {
        let covered = match (self.target, agent) {
            (Target::Agents, false) => return None,
            (Target::ServicePrincipals, true) => agents_are_workloads,
            _ => true,
        };
        let matches = self.rule.holds(values, case_sensitive);
        let included = self.include_all || self.include_own || (self.include_mode && matches);
        let excluded = self.exclude_own || (!self.include_mode && matches);
        Some(covered && included && !excluded)
    }

    /// The impact the docs give: `None` for no line, else the effect's name.
    fn expected_impact(
        &self,
        agent: bool,
        before: &BTreeMap<&str, String>,
        after: &BTreeMap<&str, String>,
    ) -> Option<&'static str> {
        let mut effects = Vec::new();
        for case_sensitive in [true, false] {
            for agents_are_workloads in [true, false] {
                let was = self.in_scope(agent, before, case_sensitive, agents_are_workloads)?;
                let is = self.in_scope(agent, after, case_sensitive, agents_are_workloads)?;
                effects.push(match (was, is) {
                    (false, true) => Some("enters"),
                    (true, false) => Some("leaves"),
                    _ => None,
                });
            }
        }
        if effects.iter().all(|effect| *effect == effects[0]) { effects[0] } else { Some("unknown") }
    }
}

// ── the tenant and the plan's changes ─────────────────────────────────────

fn principal(object_id: &str, app_id: &str, agent: bool, values: &BTreeMap<&str, String>) -> LivePrincipal {
    let mut set = SetValues::new();
    for (attribute, value) in values {
        set.insert((*attribute).trim_start_matches("Sec_").to_owned(), AttributeValue::String(value.clone()));
    }
    let mut sets = PrincipalAssignments::new();
    if !set.is_empty() {
        sets.insert("Sec".into(), set);
    }
    LivePrincipal {
        kind: PrincipalKind::ServicePrincipal,
        object_id: object_id.into(),
        user_principal_name: None,
        app_id: Some(app_id.into()),
        display_name: Some("Payroll".into()),
        odata_type: agent.then(|| "#microsoft.graph.agentIdentity".to_owned()),
        custom_security_attributes: Some(sets),
    }
}

fn tenant(policy: &Value, agent: bool, before: &BTreeMap<&str, String>) -> LiveState {
    let mut live = LiveState::default();
    for (object_id, app_id, agent, values) in
        [(OBJECT_ID, APP_ID, agent, before.clone()), (OTHER_OBJECT_ID, OTHER_APP_ID, false, BTreeMap::new())]
    {
        let id = PrincipalId { kind: PrincipalKind::ServicePrincipal, object_id: object_id.into() };
        live.principals.insert(id, principal(object_id, app_id, agent, &values));
    }
    for name in ["Tier", "Owner"] {
        live.definitions.insert(
            format!("Sec_{name}"),
            Definition {
                attribute_set: "Sec".into(),
                name: name.into(),
                description: None,
                data_type: DataType::String,
                is_collection: false,
                is_searchable: true,
                use_pre_defined_values_only: false,
                status: Status::Available,
                allowed_values: Vec::new(),
            },
        );
    }
    live.policies.conditional_access_policies = Some(vec![policy.as_object().unwrap().clone()]);
    live
}

/// The plan's change of `attribute` (`Sec_Tier`) on the principal.
fn value_change(attribute: &str, before: Option<&str>, after: Option<&str>) -> Change {
    let id = PrincipalId { kind: PrincipalKind::ServicePrincipal, object_id: OBJECT_ID.into() };
    let snapshot = |value: &str| Snapshot::Assignment {
        principal: id.clone(),
        value: AttributeValue::String(value.into()),
    };
    Change {
        seq: 1,
        action: match (before, after) {
            (None, _) => Action::Assign,
            (_, None) => Action::Unassign,
            _ => Action::Update,
        },
        address: Address::Assignment {
            principal: PrincipalKey::ServicePrincipal(APP_ID.into()),
            set: "Sec".into(),
            attribute: attribute.trim_start_matches("Sec_").into(),
        },
        before: before.map(snapshot),
        after: after.map(snapshot),
    }
}

fn deactivation(value: &str) -> Change {
    Change {
        seq: 1,
        action: Action::Deactivate,
        address: Address::AllowedValue { set: "Sec".into(), attribute: "Tier".into(), value: value.into() },
        before: Some(Snapshot::AllowedValue { is_active: true }),
        after: Some(Snapshot::AllowedValue { is_active: false }),
    }
}

/// The impact the code under test gives, as effect names.
fn impact_of(live: &LiveState, change: Change) -> Vec<String> {
    entra_csa::plan::impact::impact(&[change], live, &DesiredState::default())
        .0
        .iter()
        .map(|impact| impact.effect.as_str().to_owned())
        .collect()
}

// ── generators ────────────────────────────────────────────────────────────

const VALUES: [&str; 6] = ["Tier0", "tier0", "TIER0", "Tier1", "Tier10", "Fin"];
const LITERALS: [&str; 7] = ["Tier0", "tier0", "Tier1", "T", "0", "Fin", "ier"];

fn comparison() -> impl Strategy<Value = R> {
    (
        prop::sample::select(vec!["Sec_Tier", "Sec_Owner", "sec_tier"]),
        prop::sample::select(OPS.to_vec()),
        prop::collection::vec(prop::sample::select(LITERALS.to_vec()).prop_map(String::from), 1..3),
    )
        .prop_map(|(attribute, op, mut literals)| {
            if !matches!(op, Op::In | Op::NotIn) {
                literals.truncate(1);
            }
            R::Cmp(attribute, op, literals)
        })
}

fn rule() -> impl Strategy<Value = R> {
    comparison().prop_recursive(3, 10, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(R::And),
            prop::collection::vec(inner.clone(), 2..4).prop_map(R::Or),
            inner.prop_map(|part| R::Not(Box::new(part))),
        ]
    })
}

fn policy() -> impl Strategy<Value = Policy> {
    (
        prop::sample::select(vec!["enabled", "disabled", "enabledForReportingButNotEnforced"]),
        prop::sample::select(vec![Target::Applications, Target::ServicePrincipals, Target::Agents]),
        any::<bool>(),
        rule(),
        prop::collection::vec(any::<bool>(), 6),
    )
        .prop_map(|(state, target, include_mode, rule, flags)| Policy {
            state,
            target,
            include_mode,
            rule,
            // `All` is rarer, so that the filter decides often.
            include_all: flags[0] && flags[1],
            include_own: flags[1] && !flags[0] && flags[2],
            include_other: flags[2],
            exclude_own: flags[3] && flags[4],
            exclude_other: flags[4],
            shout_ids: flags[5],
        })
}

fn value() -> impl Strategy<Value = Option<&'static str>> {
    prop::option::weighted(0.8, prop::sample::select(VALUES.to_vec()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// The impact of one value change agrees with the evaluator.
    #[test]
    fn the_impact_agrees_with_an_evaluator_written_from_the_docs(
        policy in policy(),
        agent in any::<bool>(),
        tier_before in value(),
        tier_after in value(),
        owner in value(),
    ) {
        prop_assume!(tier_before != tier_after);
        let mut before = BTreeMap::new();
        if let Some(owner) = owner {
            before.insert("Sec_Owner", owner.to_owned());
        }
        let mut after = before.clone();
        if let Some(tier) = tier_before {
            before.insert("Sec_Tier", tier.to_owned());
        }
        if let Some(tier) = tier_after {
            after.insert("Sec_Tier", tier.to_owned());
        }
        let document = policy.json();
        let live = tenant(&document, agent, &before);
        let found = impact_of(&live, value_change("Sec_Tier", tier_before, tier_after));
        let expected: Vec<String> = policy.expected_impact(agent, &before, &after).into_iter().map(String::from).collect();
        prop_assert_eq!(found, expected, "{}", document);
    }

    /// Deactivating a value is a conflict exactly when an acting policy's
    /// rule names it, a note when a disabled one does, and nothing otherwise.
    #[test]
    fn the_references_agree_with_an_evaluator_written_from_the_docs(
        policy in policy(),
        deactivated in prop::sample::select(VALUES.to_vec()),
    ) {
        let document = policy.json();
        let live = tenant(&document, true, &BTreeMap::new());
        let (conflicts, notes) =
            entra_csa::plan::references::check(&[deactivation(deactivated)], &live, &BTreeMap::new());
        let named = policy.rule.names("Sec_Tier", deactivated);
        let acts = policy.state != "disabled";
        prop_assert_eq!(!conflicts.is_empty(), named && acts, "{} deactivating {}", document, deactivated);
        let noted = notes.iter().any(|note| note.message.starts_with("named by"));
        prop_assert_eq!(noted, named && !acts, "{} deactivating {}: {:?}", document, deactivated, notes);
    }
}

// ── what was found, one named case each ───────────────────────────────────

fn single(conditions: Value) -> Value {
    json!({ "id": "c1c1c1c1-0000-4000-8000-00000000000a", "displayName": "P", "state": "enabled", "conditions": conditions })
}

fn tier(value: &str) -> BTreeMap<&'static str, String> {
    BTreeMap::from([("Sec_Tier", value.to_owned())])
}

/// `-not` was refused: the impact was unknown and the text scan named every
/// value, so deactivating a value the rule never names was a conflict.
#[test]
fn regression_not_is_read_through_the_grammar() {
    let rule = r#"-not (CustomSecurityAttribute.Sec_Tier -eq "Tier0") -and CustomSecurityAttribute.Sec_Owner -ne "IT""#;
    let policy =
        single(json!({ "applications": { "applicationFilter": { "mode": "include", "rule": rule } } }));
    let live = tenant(&policy, false, &tier("Tier0"));
    assert_eq!(impact_of(&live, value_change("Sec_Tier", Some("Tier0"), Some("Tier1"))), ["enters"]);
    let (conflicts, _) =
        entra_csa::plan::references::check(&[deactivation("Tier1")], &live, &BTreeMap::new());
    assert!(conflicts.is_empty(), "Tier1 is not named: {conflicts:?}");
    let (conflicts, _) =
        entra_csa::plan::references::check(&[deactivation("Tier0")], &live, &BTreeMap::new());
    assert_eq!(conflicts.len(), 1);
}

/// An app in `includeApplications` (or under `All`) stays in scope whatever
/// an include-mode filter says.
#[test]
fn regression_an_included_app_stays_in_scope_whatever_an_include_filter_says() {
    let rule = r#"CustomSecurityAttribute.Sec_Tier -eq "Tier0""#;
    for included in [json!(["All"]), json!([APP_ID])] {
        let policy = single(json!({ "applications": { "includeApplications": included,
                                      "applicationFilter": { "mode": "include", "rule": rule } } }));
        let live = tenant(&policy, false, &tier("Tier0"));
        assert!(
            impact_of(&live, value_change("Sec_Tier", Some("Tier0"), Some("Tier1"))).is_empty(),
            "{policy}"
        );
    }
}

/// An exclude-mode filter cannot bring into scope an app the policy never
/// includes; with `All` it takes the matching apps out.
#[test]
fn regression_an_exclude_filter_brings_no_app_in() {
    let rule = r#"CustomSecurityAttribute.Sec_Tier -eq "Tier0""#;
    let policy =
        single(json!({ "applications": { "applicationFilter": { "mode": "exclude", "rule": rule } } }));
    let live = tenant(&policy, false, &tier("Tier0"));
    assert!(impact_of(&live, value_change("Sec_Tier", Some("Tier0"), Some("Tier1"))).is_empty());
    let policy = single(json!({ "applications": { "includeApplications": ["All"],
                                  "applicationFilter": { "mode": "exclude", "rule": rule } } }));
    let live = tenant(&policy, false, &tier("Tier0"));
    assert_eq!(impact_of(&live, value_change("Sec_Tier", Some("Tier0"), Some("Tier1"))), ["enters"]);
}

/// The client lists count too: `ServicePrincipalsInMyTenant` includes every
/// workload identity, `excludeServicePrincipals` takes one out.
#[test]
fn regression_the_workload_identity_lists_count() {
    let rule = r#"CustomSecurityAttribute.Sec_Tier -eq "Tier0""#;
    let clients = |include: Value, exclude: Value| {
        single(
            json!({ "clientApplications": { "includeServicePrincipals": include, "excludeServicePrincipals": exclude,
                    "servicePrincipalFilter": { "mode": "include", "rule": rule } } }),
        )
    };
    let moves = |policy: &Value| {
        impact_of(
            &tenant(policy, false, &tier("Tier0")),
            value_change("Sec_Tier", Some("Tier0"), Some("Tier1")),
        )
    };
    assert!(moves(&clients(json!(["ServicePrincipalsInMyTenant"]), json!([]))).is_empty());
    assert!(moves(&clients(json!([]), json!([OBJECT_ID]))).is_empty());
    assert_eq!(moves(&clients(json!([OTHER_OBJECT_ID]), json!([]))), ["leaves"]);
}

/// The agent filter was paired with `excludeServicePrincipals`: an agent
/// listed there was taken for excluded, one listed in
/// `excludeAgentIdServicePrincipals` was not.
#[test]
fn regression_the_agent_filter_reads_the_agent_lists() {
    let rule = r#"CustomSecurityAttribute.Sec_Tier -eq "Tier0""#;
    let agents = |exclude_key: &str| {
        let mut clients = json!({ "agentIdServicePrincipalFilter": { "mode": "include", "rule": rule } });
        clients[exclude_key] = json!([OBJECT_ID]);
        single(json!({ "clientApplications": clients }))
    };
    let moves = |policy: &Value| {
        impact_of(
            &tenant(policy, true, &tier("Tier0")),
            value_change("Sec_Tier", Some("Tier0"), Some("Tier1")),
        )
    };
    assert!(moves(&agents("excludeAgentIdServicePrincipals")).is_empty());
    assert_eq!(moves(&agents("excludeServicePrincipals")), ["leaves"]);
}

/// A verdict both readings of letter case agree on is settled; one they
/// disagree on is unknown.
#[test]
fn regression_a_verdict_every_reading_agrees_on_is_not_unknown() {
    let rule =
        r#"CustomSecurityAttribute.Sec_Tier -eq "tier0" -or CustomSecurityAttribute.Sec_Tier -ne "tier0""#;
    let policy =
        single(json!({ "applications": { "applicationFilter": { "mode": "include", "rule": rule } } }));
    let live = tenant(&policy, false, &tier("Tier0"));
    // Tier0 matches under both readings, and so does no value at all.
    assert!(impact_of(&live, value_change("Sec_Tier", Some("Tier0"), None)).is_empty());
    let rule = r#"CustomSecurityAttribute.Sec_Tier -eq "tier0""#;
    let policy =
        single(json!({ "applications": { "applicationFilter": { "mode": "include", "rule": rule } } }));
    let live = tenant(&policy, false, &tier("Tier1"));
    assert_eq!(impact_of(&live, value_change("Sec_Tier", Some("Tier1"), Some("Tier0"))), ["unknown"]);
    // Excluded by id: no reading of case matters.
    let policy = single(json!({ "applications": { "excludeApplications": [APP_ID],
                                  "applicationFilter": { "mode": "include", "rule": rule } } }));
    let live = tenant(&policy, false, &tier("Tier1"));
    assert!(impact_of(&live, value_change("Sec_Tier", Some("Tier1"), Some("Tier0"))).is_empty());
}
