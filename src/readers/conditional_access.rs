//! Conditional Access policies as readers of custom security attributes:
//! their filter rules (`CustomSecurityAttribute.Access_Tier -eq "Tier0"`,
//! grammar in `filter_rule`) name attributes and values, and decide which
//! apps, service principals and agent identities a policy covers.
//!
//! References: the `rule` of every filter object (`applicationFilter`,
//! `servicePrincipalFilter`, any later one) anywhere in a policy.
//!
//! Impact: for each service principal (agent identities included) whose
//! values the plan changes, each target of each policy whose filter reads a
//! changed attribute is evaluated before and after the plan, and every
//! principal that enters or leaves the target's scope is said, with the
//! policy's name and state ("app Contoso Payroll leaves the scope of `Block
//! legacy auth (Tier0)`"). Scope is the target's whole assignment, not the
//! filter's verdict alone: included (listed, by `All`, or by an
//! include-mode filter that matches) and not excluded (listed, or by an
//! exclude-mode filter that matches); see `in_scope`. The three targets,
//! each with its own lists, are in `Target`. Only the assignment is
//! compared, not the policy's other conditions (users, locations, …).
//!
//! A verdict is computed under every reading Microsoft's pages leave open
//! (letter case in comparisons, the members of a keyword such as
//! `Office365`, whether a listed id is an agent's blueprint, whether
//! workload-identity lists reach agent identities): the same verdict under
//! all of them is the verdict; readings that disagree, a rule the tool
//! cannot read, or a comparison not documented for the value make the
//! impact "unknown", never a guess.
//!
//! The agent-identity fields are Graph beta only (`graph::policies` merges
//! them into the v1.0 policies): references and impacts through them say
//! `beta` as their API version.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::model::live::{LivePrincipal, LiveState};
use crate::model::{AttributeValue, DataType, DesiredState, PrincipalAssignments, PrincipalKind};
use crate::readers::filter_rule::{self, Held, Operand, Operator, Rule, Truth};
use crate::readers::{
    Effect, Impact, Impacts, Kind, Pattern, Reader, ReadsAttributes, Reference, State, ValueChange, Values,
    display_name,
};

/// The Conditional Access reader.
pub struct ConditionalAccess;

pub const KIND: Kind = Kind { key: "conditionalAccessPolicy", noun: "Conditional Access policy" };

/// The filter that exists only in Graph beta.
const BETA_FILTERS: [&str; 1] = ["agentIdServicePrincipalFilter"];

impl ReadsAttributes for ConditionalAccess {
    fn kind(&self) -> Kind {
        KIND
    }

    fn not_checked(&self, live: &LiveState) -> Option<String> {
        live.policies.not_checked.clone()
    }

    fn partly_checked(&self, live: &LiveState) -> Option<String> {
        live.policies.agents_not_checked.as_ref().map(|reason| {
            format!(
                "Conditional Access policies that target agent identities not checked: {reason}; the plan \
                 cannot say whether such a policy names what it deactivates, or which agent identities enter or \
                 leave its scope"
            )
        })
    }

    fn references(&self, live: &LiveState) -> Vec<Reference> {
        let mut found = Vec::new();
        for policy in live.policies.conditional_access_policies.iter().flatten() {
            let state = State::of_conditional_access(policy.get("state").and_then(Value::as_str));
            let name = display_name(policy);
            let id = policy.get("id").and_then(Value::as_str).map(str::to_owned);
            let mut rules = Vec::new();
            filter_rules(&Value::Object(policy.clone()), &mut rules);
            for (condition, rule) in rules {
                let reader = Reader {
                    kind: KIND,
                    id: id.clone(),
                    name: name.clone(),
                    state: state.clone(),
                    api_version: api_version_of(&condition).to_owned(),
                    condition,
                };
                for (attribute, operator, values) in named_in_rule(&rule) {
                    found.push(Reference { reader: reader.clone(), attribute, operator, values });
                }
            }
        }
        found
    }

    fn impact(&self, changes: &[ValueChange<'_>], live: &LiveState, desired: &DesiredState) -> Impacts {
        impact(changes, live, desired)
    }
}

/// The Graph version a filter comes from.
fn api_version_of(condition: &str) -> &'static str {
    if BETA_FILTERS.contains(&condition) { "beta" } else { "v1.0" }
}

/// The definition ids (`Set_Attribute`, as written) that one policy's filter
/// rules name.
pub fn attributes_named_by(policy: &Map<String, Value>) -> Vec<String> {
    let mut rules = Vec::new();
    filter_rules(&Value::Object(policy.clone()), &mut rules);
    rules.iter().flat_map(|(_, rule)| named_in_rule(rule)).map(|(attribute, _, _)| attribute).collect()
}

/// The property name and `rule` of every filter object (`applicationFilter`,
/// `servicePrincipalFilter`, any later one) anywhere in a policy.
fn filter_rules(value: &Value, rules: &mut Vec<(String, String)>) {
    match value {
        Value::Object(object) => {
            for (key, inner) in object {
                if key.ends_with("Filter")
                    && let Some(rule) = inner.get("rule").and_then(Value::as_str)
                {
                    rules.push((key.clone(), rule.to_owned()));
                }
                filter_rules(inner, rules);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| filter_rules(item, rules)),
        _ => {}
    }
}

type Named = (String, Option<String>, Values);

/// The attributes a filter rule names, each with its operator and the
/// values it names (one entry per item of an `-in` list). A rule the grammar
/// of `filter_rule` reads is read through it; one it cannot read falls back
/// to a scan for `CustomSecurityAttribute.<id>` that names every value of
/// each attribute found (no operator): conservative, so a deactivation is
/// never taken for unrelated to a rule nobody can read. Whether Conditional
/// Access compares with regard to case is not documented, so a literal names
/// a value in any case.
pub(crate) fn named_in_rule(rule: &str) -> Vec<Named> {
    let Ok(parsed) = filter_rule::parse(rule) else { return scanned_in_rule(rule) };
    let mut named = Vec::new();
    for comparison in parsed.comparisons() {
        let operator = Some(format!("-{}", comparison.operator.name()));
        let pattern = pattern_of(comparison.operator);
        let values = |literal: &String| Values::Matching {
            pattern,
            literal: literal.clone(),
            case_sensitive: false,
        };
        match &comparison.operand {
            Operand::One(literal) => {
                named.push((comparison.attribute.clone(), operator, values(literal)));
            }
            Operand::List(items) => named
                .extend(items.iter().map(|item| (comparison.attribute.clone(), operator.clone(), values(item)))),
        }
    }
    named
}

/// Which values a comparison's literal names: the value itself for
/// (in)equality and lists, those it starts or ends with, those it is part of.
fn pattern_of(operator: Operator) -> Pattern {
    match operator {
        Operator::Eq | Operator::Ne | Operator::In | Operator::NotIn => Pattern::Equal,
        Operator::StartsWith | Operator::NotStartsWith => Pattern::Prefix,
        Operator::EndsWith | Operator::NotEndsWith => Pattern::Suffix,
        Operator::Contains | Operator::NotContains => Pattern::Part,
    }
}

/// Every `CustomSecurityAttribute.<id>` in a rule that cannot be parsed.
fn scanned_in_rule(rule: &str) -> Vec<Named> {
    const PREFIX: &str = "customsecurityattribute.";
    let lower = rule.to_ascii_lowercase();
    let mut named = Vec::new();
    let mut from = 0;
    while let Some(found) = lower[from..].find(PREFIX) {
        let start = from + found + PREFIX.len();
        let rest = &rule[start..];
        let id_len = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
        from = start + id_len;
        if id_len > 0 {
            named.push((rest[..id_len].to_owned(), None, Values::Every));
        }
    }
    named
}

/// The three parts of a policy's assignments that a filter can sit in, each
/// with its own include and exclude lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// `conditions.applications`: the resources the policy protects, by
    /// appId (`includeApplications`, `excludeApplications`,
    /// `applicationFilter`), Graph v1.0
    /// (<https://learn.microsoft.com/graph/api/resources/conditionalaccessapplications>).
    Applications,
    /// `conditions.clientApplications`: the workload identities the policy
    /// applies to, by object id (`includeServicePrincipals` with
    /// `ServicePrincipalsInMyTenant`, `excludeServicePrincipals`,
    /// `servicePrincipalFilter`), Graph v1.0
    /// (<https://learn.microsoft.com/graph/api/resources/conditionalaccessclientapplications>).
    ServicePrincipals,
    /// `conditions.clientApplications`: the agent identities the policy
    /// applies to (`includeAgentIdServicePrincipals`,
    /// `excludeAgentIdServicePrincipals`, `agentIdServicePrincipalFilter`),
    /// Graph beta only
    /// (<https://learn.microsoft.com/graph/api/resources/conditionalaccessclientapplications?view=graph-rest-beta>).
    Agents,
}

impl Target {
    const ALL: [Target; 3] = [Target::Applications, Target::ServicePrincipals, Target::Agents];

    /// The holder object under `conditions`, the filter, and the two lists.
    fn fields(self) -> (&'static str, &'static str, &'static str, &'static str) {
        match self {
            Target::Applications => {
                ("applications", "applicationFilter", "includeApplications", "excludeApplications")
            }
            Target::ServicePrincipals => (
                "clientApplications",
                "servicePrincipalFilter",
                "includeServicePrincipals",
                "excludeServicePrincipals",
            ),
            Target::Agents => (
                "clientApplications",
                "agentIdServicePrincipalFilter",
                "includeAgentIdServicePrincipals",
                "excludeAgentIdServicePrincipals",
            ),
        }
    }
}

/// A policy as the impact reads it.
struct PolicyView<'a> {
    name: String,
    id: Option<String>,
    state: State,
    targets: Vec<TargetView<'a>>,
}

/// One target of one policy that has a filter: the filter's mode and rule
/// (parsed once for every principal) and the target's lists.
struct TargetView<'a> {
    target: Target,
    filter_name: &'static str,
    mode: Option<&'a str>,
    /// The rule's text lowercased, to see which attributes it can read.
    lowercase_rule: String,
    rule: Option<Result<Rule, filter_rule::ParseError>>,
    include: Vec<&'a str>,
    exclude: Vec<&'a str>,
}

/// The strings of the array `key` of `object`.
fn strings<'a>(object: Option<&'a Value>, key: &str) -> Vec<&'a str> {
    object
        .and_then(|object| object.get(key))
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn targets_of(policy: &Map<String, Value>) -> Vec<TargetView<'_>> {
    let conditions = policy.get("conditions");
    let mut found = Vec::new();
    for target in Target::ALL {
        let (holder_key, filter_name, include_key, exclude_key) = target.fields();
        let holder = conditions.and_then(|conditions| conditions.get(holder_key));
        let Some(filter) = holder.and_then(|holder| holder.get(filter_name)).filter(|filter| !filter.is_null())
        else {
            continue;
        };
        let text = filter.get("rule").and_then(Value::as_str);
        found.push(TargetView {
            target,
            filter_name,
            mode: filter.get("mode").and_then(Value::as_str),
            lowercase_rule: text.unwrap_or_default().to_ascii_lowercase(),
            rule: text.map(filter_rule::parse),
            include: strings(holder, include_key),
            exclude: strings(holder, exclude_key),
        });
    }
    found
}

/// The impact of `changes` on the Conditional Access policies of `live`,
/// and a note when the policies could not be read but the plan changes
/// service principals' values.
fn impact(changes: &[ValueChange<'_>], live: &LiveState, desired: &DesiredState) -> Impacts {
    let changed: Vec<&ValueChange<'_>> =
        changes.iter().filter(|change| change.principal.kind == PrincipalKind::ServicePrincipal).collect();
    if changed.is_empty() {
        return Impacts::default();
    }
    if let Some(reason) = &live.policies.not_checked {
        let note = format!(
            "impact on Conditional Access not checked: {reason}; the plan cannot say which apps enter or \
             leave a policy's scope"
        );
        return Impacts { lines: Vec::new(), notes: vec![note] };
    }
    let Some(policies) = &live.policies.conditional_access_policies else { return Impacts::default() };
    let types = attribute_types(live, desired);
    // Each policy's name, state and parsed filters, once for every principal.
    let views: Vec<PolicyView<'_>> = policies
        .iter()
        .map(|policy| PolicyView {
            name: display_name(policy),
            id: policy.get("id").and_then(Value::as_str).map(str::to_owned),
            state: State::of_conditional_access(policy.get("state").and_then(Value::as_str)),
            targets: targets_of(policy),
        })
        .collect();
    let mut found = Vec::new();
    for change in changed {
        let principal = change.principal;
        for view in &views {
            for target in &view.targets {
                let Some(subject) = Subject::of(target.target, principal) else { continue };
                let effect = effect_of(target, subject, principal, live, change, &types);
                if let Some(effect) = effect {
                    found.push(Impact {
                        principal: change.key.clone(),
                        display_name: principal.display_name.clone(),
                        noun: noun_of(principal),
                        reader: Reader {
                            kind: KIND,
                            id: view.id.clone(),
                            name: view.name.clone(),
                            state: view.state.clone(),
                            condition: target.filter_name.to_owned(),
                            api_version: api_version_of(target.filter_name).to_owned(),
                        },
                        effect,
                    });
                }
            }
        }
    }
    Impacts { lines: found, notes: Vec::new() }
}

/// How a principal stands to a target: whether the target covers its kind
/// at all, or only under a reading Microsoft leaves open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Subject {
    Covered,
    /// An agent identity against the workload-identity lists: Microsoft's
    /// pages target agent identities through their own lists and say
    /// nothing of whether `includeServicePrincipals` (and its filter) also
    /// reach them.
    MaybeCovered,
}

impl Subject {
    fn of(target: Target, principal: &LivePrincipal) -> Option<Subject> {
        let agent = is_agent_identity(principal);
        match (target, agent) {
            (Target::Applications, _) | (Target::ServicePrincipals, false) | (Target::Agents, true) => {
                Some(Subject::Covered)
            }
            (Target::ServicePrincipals, true) => Some(Subject::MaybeCovered),
            (Target::Agents, false) => None,
        }
    }
}

/// Whether a list names a principal: yes, no, or open (a keyword whose
/// members the tool cannot know, an id that may be the agent's blueprint).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Listed {
    Yes,
    No,
    Open,
}

/// Whether `entries` (an include list when `including`) name `principal`
/// for `target`. The rules, by target:
/// - applications: an entry is an appId, `All` (every app, included) or a
///   keyword (`None`; `Office365` and `MicrosoftAdminPortals`, suites whose
///   members the tool does not know: open), per
///   <https://learn.microsoft.com/graph/api/resources/conditionalaccessapplications>
///   ("the list of client IDs (appId) the policy applies to, unless
///   explicitly excluded").
/// - service principals: an entry is an object id or
///   `ServicePrincipalsInMyTenant` (every one, included), per
///   <https://learn.microsoft.com/graph/api/resources/conditionalaccessclientapplications>.
/// - agent identities: an entry is an agent identity's object id, or a
///   blueprint's — "targeting a blueprint automatically covers all agent
///   identities derived from it"
///   (<https://learn.microsoft.com/entra/identity/conditional-access/howto-target-agent-identities>);
///   the tool does not know an agent's blueprint, so an id that is not a
///   principal it read as something else is open. `All` stands for the
///   portal's "All agent identities" (the beta page does not spell the
///   value).
///
/// Ids compare without regard to case; any other keyword is open.
fn listed(target: Target, entries: &[&str], principal: &LivePrincipal, live: &LiveState) -> Listed {
    let mut listed = Listed::No;
    for entry in entries {
        let is_id = is_guid(entry);
        let found = match target {
            Target::Applications => match principal.app_id.as_deref() {
                _ if entry.eq_ignore_ascii_case("All") => Listed::Yes,
                _ if entry.eq_ignore_ascii_case("None") => Listed::No,
                Some(app_id) if is_id && app_id.eq_ignore_ascii_case(entry) => Listed::Yes,
                _ if is_id => Listed::No,
                _ => Listed::Open,
            },
            Target::ServicePrincipals => {
                if entry.eq_ignore_ascii_case("ServicePrincipalsInMyTenant")
                    || principal.object_id.eq_ignore_ascii_case(entry)
                {
                    Listed::Yes
                } else if is_id || entry.eq_ignore_ascii_case("None") {
                    Listed::No
                } else {
                    Listed::Open
                }
            }
            Target::Agents => {
                if entry.eq_ignore_ascii_case("All") || principal.object_id.eq_ignore_ascii_case(entry) {
                    Listed::Yes
                } else if entry.eq_ignore_ascii_case("None") || known_not_a_blueprint(entry, live) {
                    Listed::No
                } else {
                    Listed::Open
                }
            }
        };
        match found {
            Listed::Yes => return Listed::Yes,
            Listed::Open => listed = Listed::Open,
            Listed::No => {}
        }
    }
    listed
}

/// Whether `text` is a GUID (`8-4-4-4-12` hexadecimal digits): an id, not a keyword.
fn is_guid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(group, length)| {
            group.len() == length && group.chars().all(|c| c.is_ascii_hexdigit())
        })
}

/// Whether `id` is a principal the tool read and knows is not an agent
/// identity blueprint principal.
fn known_not_a_blueprint(id: &str, live: &LiveState) -> bool {
    let id = crate::model::live::PrincipalId { kind: PrincipalKind::ServicePrincipal, object_id: id.to_owned() };
    let principal = live.principals.get(&id).or_else(|| {
        live.principals.values().find(|principal| principal.object_id.eq_ignore_ascii_case(&id.object_id))
    });
    principal.is_some_and(|principal| {
        !principal
            .odata_type
            .as_deref()
            .is_some_and(|kind| kind.eq_ignore_ascii_case("#microsoft.graph.agentIdentityBlueprintPrincipal"))
    })
}

/// One reading of what Microsoft leaves open (letter case is read in the
/// filter's verdict itself).
#[derive(Debug, Clone, Copy)]
struct Reading {
    /// An open entry of the include list names the principal.
    included_by_open: bool,
    /// An open entry of the exclude list names the principal.
    excluded_by_open: bool,
    /// The workload-identity lists reach an agent identity.
    agents_are_workloads: bool,
}

/// Whether the target has the principal in scope under `reading`, given
/// the filter's verdicts on its values under each case reading. In scope
/// means included and not excluded; included explicitly, by `All` (or
/// `ServicePrincipalsInMyTenant`), or by an include-mode filter that matches;
/// excluded explicitly or by an exclude-mode filter that matches
/// (<https://learn.microsoft.com/graph/api/resources/conditionalaccessfilter>:
/// `mode` include or exclude). Microsoft does not say how `All` combines
/// with an include-mode filter: the tool takes the union, so `All` with an
/// include-mode filter is every app, and an exclude-mode filter never brings
/// in an app the lists do not include.
fn in_scope(
    subject: Subject,
    include: Listed,
    exclude: Listed,
    include_mode: bool,
    verdict: Truth,
    reading: Reading,
) -> Truth {
    if subject == Subject::MaybeCovered && !reading.agents_are_workloads {
        return Truth::False;
    }
    let resolve = |listed: Listed, open: bool| match listed {
        Listed::Yes => Truth::True,
        Listed::No => Truth::False,
        Listed::Open => truth(open),
    };
    let (by_filter_in, by_filter_out) = if include_mode { (verdict, Truth::False) } else { (Truth::False, verdict) };
    let included = or(resolve(include, reading.included_by_open), by_filter_in);
    let excluded = or(resolve(exclude, reading.excluded_by_open), by_filter_out);
    and(included, not(excluded))
}

fn truth(value: bool) -> Truth {
    if value { Truth::True } else { Truth::False }
}

fn not(value: Truth) -> Truth {
    match value {
        Truth::True => Truth::False,
        Truth::False => Truth::True,
        Truth::Unknown => Truth::Unknown,
    }
}

fn or(a: Truth, b: Truth) -> Truth {
    match (a, b) {
        (Truth::True, _) | (_, Truth::True) => Truth::True,
        (Truth::False, Truth::False) => Truth::False,
        _ => Truth::Unknown,
    }
}

fn and(a: Truth, b: Truth) -> Truth {
    not(or(not(a), not(b)))
}

/// The effect of the change on one target of one policy, `None` when there
/// is none under every reading Microsoft leaves open.
fn effect_of(
    target: &TargetView<'_>,
    subject: Subject,
    principal: &LivePrincipal,
    live: &LiveState,
    change: &ValueChange<'_>,
    types: &BTreeMap<String, DataType>,
) -> Option<Effect> {
    let parsed = target.rule.as_ref()?;
    // A rule reads custom security attributes only through this prefix: one
    // that names none of the changed attributes cannot change its verdict,
    // and the lists do not depend on values.
    let names_touched = change.touched.iter().any(|id| {
        target
            .lowercase_rule
            .match_indices(id.as_str())
            .any(|(at, _)| target.lowercase_rule[..at].ends_with("customsecurityattribute."))
    });
    if !names_touched {
        return None;
    }
    let rule: &Rule = match parsed {
        Ok(rule) => rule,
        Err(error) => return Some(Effect::Unknown(format!("its rule cannot be read ({error})"))),
    };
    let include_mode = match target.mode {
        Some("include") => true,
        Some("exclude") => false,
        Some(other) => {
            return Some(Effect::Unknown(format!("its filter mode `{other}` is not one the tool knows")));
        }
        None => return Some(Effect::Unknown("its filter has no mode".into())),
    };
    for comparison in rule.comparisons() {
        if let Some(data_type) = types.get(&comparison.attribute.to_ascii_lowercase())
            && *data_type != DataType::String
        {
            return Some(Effect::Unknown(format!(
                "its rule names {}, a{} {} attribute, and Conditional Access filters read only String \
                 attributes",
                comparison.attribute,
                if *data_type == DataType::Integer { "n" } else { "" },
                data_type.as_str()
            )));
        }
    }
    let include = listed(target.target, &target.include, principal, live);
    let exclude = listed(target.target, &target.exclude, principal, live);
    let verdict = |values: &PrincipalAssignments, case_sensitive: bool| {
        rule.evaluate_with(&|id: &str| held(values, id), case_sensitive)
    };
    // The filter's verdicts before and after, under each case reading.
    let verdicts = [
        (verdict(&change.before, true), verdict(&change.after, true)),
        (verdict(&change.before, false), verdict(&change.after, false)),
    ];
    let mut open = vec!["whether Conditional Access compares values with regard to letter case"];
    let choices = |is_open: bool| if is_open { vec![false, true] } else { vec![false] };
    if include == Listed::Open || exclude == Listed::Open {
        open.push(match target.target {
            Target::Agents => "whether an id the policy lists is this agent's blueprint",
            _ => "which apps a keyword the policy lists (such as `Office365`) covers",
        });
    }
    if subject == Subject::MaybeCovered {
        open.push("whether workload-identity targeting reaches agent identities");
    }
    let mut effects = Vec::new();
    for (before, after) in verdicts {
        for included_by_open in choices(include == Listed::Open) {
            for excluded_by_open in choices(exclude == Listed::Open) {
                for agents_are_workloads in choices(subject == Subject::MaybeCovered) {
                    let reading = Reading { included_by_open, excluded_by_open, agents_are_workloads };
                    let scope = |verdict| in_scope(subject, include, exclude, include_mode, verdict, reading);
                    effects.push(match (scope(before), scope(after)) {
                        (Truth::Unknown, _) | (_, Truth::Unknown) => return Some(unsettled()),
                        (was, is) if was == is => None,
                        (Truth::False, Truth::True) => Some(Effect::Enters),
                        _ => Some(Effect::Leaves),
                    });
                }
            }
        }
    }
    let first = effects[0].clone();
    if effects.iter().all(|effect| *effect == first) {
        first
    } else {
        Some(Effect::Unknown(format!(
            "its verdict depends on what Microsoft does not document: {}",
            open.join("; ")
        )))
    }
}

fn unsettled() -> Effect {
    Effect::Unknown(
        "its rule cannot be settled for these values (a comparison that Microsoft does not document for them)"
            .into(),
    )
}

/// What `values` hold under the definition id `id` (any case), as a rule sees it.
fn held<'a>(values: &'a PrincipalAssignments, id: &str) -> Held<'a> {
    let Some((set, attribute)) = id.split_once('_') else { return Held::Absent };
    let value = values.iter().find(|(name, _)| name.eq_ignore_ascii_case(set)).and_then(|(_, set_values)| {
        set_values.iter().find(|(name, _)| name.eq_ignore_ascii_case(attribute)).map(|(_, value)| value)
    });
    match value {
        None => Held::Absent,
        Some(AttributeValue::String(text)) => Held::Text(text),
        Some(AttributeValue::Strings(texts)) => Held::Texts(texts),
        Some(_) => Held::NotText,
    }
}

/// Every definition's type by lowercased id: the files' where they declare
/// it, the tenant's otherwise.
fn attribute_types(live: &LiveState, desired: &DesiredState) -> BTreeMap<String, DataType> {
    let mut types: BTreeMap<String, DataType> = live
        .definitions
        .values()
        .map(|definition| (definition.id().to_ascii_lowercase(), definition.data_type))
        .collect();
    for definition in desired.attribute_sets.values().flat_map(|set| set.attributes.values()) {
        types.insert(definition.id().to_ascii_lowercase(), definition.data_type);
    }
    types
}

fn is_agent_identity(principal: &LivePrincipal) -> bool {
    principal
        .odata_type
        .as_deref()
        .is_some_and(|kind| kind.eq_ignore_ascii_case("#microsoft.graph.agentIdentity"))
}

fn noun_of(principal: &LivePrincipal) -> &'static str {
    match principal.odata_type.as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("#microsoft.graph.agentidentity") => "agent identity",
        Some("#microsoft.graph.agentidentityblueprintprincipal") => "agent identity blueprint",
        _ => "app",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matching(literal: &str, pattern: Pattern) -> Values {
        Values::Matching { pattern, literal: literal.into(), case_sensitive: false }
    }

    #[test]
    fn a_rule_names_each_attribute_with_its_operator_and_literal() {
        let named = named_in_rule(
            "CustomSecurityAttribute.Access_Tier -eq \"Tier1\" -and customSecurityAttribute.Access_Owner \
             -startsWith \"Fin\"",
        );
        assert_eq!(
            named,
            [
                ("Access_Tier".into(), Some("-eq".into()), matching("Tier1", Pattern::Equal)),
                ("Access_Owner".into(), Some("-startsWith".into()), matching("Fin", Pattern::Prefix)),
            ]
        );
    }

    #[test]
    fn a_list_names_each_of_its_items() {
        let named = named_in_rule("CustomSecurityAttribute.Access_Tier -in [\"A\",\"B\"]");
        assert_eq!(
            named,
            [
                ("Access_Tier".into(), Some("-in".into()), matching("A", Pattern::Equal)),
                ("Access_Tier".into(), Some("-in".into()), matching("B", Pattern::Equal)),
            ]
        );
    }

    #[test]
    fn an_unreadable_rule_names_every_value_of_each_attribute_in_it() {
        let named = named_in_rule(
            "CustomSecurityAttribute.Access_Tier -match \"Tier[01]\" -or -not (customSecurityAttribute.Access_Owner \
             -eq \"x\")",
        );
        assert_eq!(
            named,
            [("Access_Tier".into(), None, Values::Every), ("Access_Owner".into(), None, Values::Every)]
        );
        let reference = Reference {
            reader: Reader {
                kind: KIND,
                id: None,
                name: "p".into(),
                state: State::Enabled,
                condition: "applicationFilter".into(),
                api_version: "v1.0".into(),
            },
            attribute: "Access_Tier".into(),
            operator: None,
            values: Values::Every,
        };
        assert!(reference.names_value("Anything"));
    }
}
