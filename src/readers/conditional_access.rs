//! Conditional Access policies as readers of custom security attributes:
//! their filter rules (`CustomSecurityAttribute.Access_Tier -eq "Tier0"`,
//! grammar in `filter_rule`) name attributes and values, and decide which
//! apps, service principals and agent identities a policy covers.
//!
//! References: the `rule` of every filter object (`applicationFilter`,
//! `servicePrincipalFilter`, any later one) anywhere in a policy.
//!
//! Impact: for each service principal (agent identities included) whose
//! values the plan changes, each filter that reads custom security
//! attributes is evaluated against the principal's values before and after
//! the plan, and every app that enters or leaves a policy's scope is said,
//! with the policy's name and state ("app Contoso Payroll leaves the scope of
//! `Block legacy auth (Tier0)`"). A rule the tool cannot read or settle is
//! reported as "impact unknown", never guessed.
//!
//! The filters read (Graph v1.0 `conditionalAccessPolicy.conditions`):
//! - `applications.applicationFilter`: the apps (resources) the policy
//!   protects; an app named in `applications.excludeApplications` by its
//!   appId is out of scope whatever the filter says.
//! - `clientApplications.servicePrincipalFilter`: the workload identities the
//!   policy applies to; one named in `excludeServicePrincipals` is out.
//! - `clientApplications.agentIdServicePrincipalFilter`: agent identities
//!   only (`#microsoft.graph.agentIdentity`).
//!
//! `mode: include` brings the principals the rule matches into the policy's
//! scope; `mode: exclude` takes them out. Only the filter's verdict is
//! compared, not the policy's other conditions (users, locations, …).

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

/// A policy as the impact reads it.
struct PolicyView<'a> {
    name: String,
    id: Option<String>,
    state: State,
    filters: Vec<Filter<'a>>,
}

/// A filter of one policy: which one, its mode and rule (parsed once for
/// every principal), and who it is for.
struct Filter<'a> {
    name: &'a str,
    mode: Option<&'a str>,
    /// The rule's text lowercased, to see which attributes it can read.
    lowercase_rule: String,
    rule: Option<Result<Rule, filter_rule::ParseError>>,
    /// Who an explicit exclusion list names: the appId for resources, the
    /// object id for clients.
    excluded: Vec<&'a str>,
    excluded_by_app_id: bool,
    agents_only: bool,
}

/// The strings of the array `key` of `object`.
fn strings<'a>(object: Option<&'a Value>, key: &str) -> Vec<&'a str> {
    object
        .and_then(|object| object.get(key))
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn filters_of(policy: &Map<String, Value>) -> Vec<Filter<'_>> {
    let conditions = policy.get("conditions");
    let mut found = Vec::new();
    let applications = conditions.and_then(|conditions| conditions.get("applications"));
    let clients = conditions.and_then(|conditions| conditions.get("clientApplications"));
    for (holder, name, excluded_key, by_app_id, agents_only) in [
        (applications, "applicationFilter", "excludeApplications", true, false),
        (clients, "servicePrincipalFilter", "excludeServicePrincipals", false, false),
        (clients, "agentIdServicePrincipalFilter", "excludeServicePrincipals", false, true),
    ] {
        let Some(filter) = holder.and_then(|holder| holder.get(name)).filter(|filter| !filter.is_null())
        else {
            continue;
        };
        let text = filter.get("rule").and_then(Value::as_str);
        found.push(Filter {
            name,
            mode: filter.get("mode").and_then(Value::as_str),
            lowercase_rule: text.unwrap_or_default().to_ascii_lowercase(),
            rule: text.map(filter_rule::parse),
            excluded: strings(holder, excluded_key),
            excluded_by_app_id: by_app_id,
            agents_only,
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
            filters: filters_of(policy),
        })
        .collect();
    let mut found = Vec::new();
    for change in changed {
        let principal = change.principal;
        for view in &views {
            for filter in &view.filters {
                if filter.agents_only && !is_agent_identity(principal) {
                    continue;
                }
                let explicitly_excluded = filter.excluded.iter().any(|excluded| {
                    let own = if filter.excluded_by_app_id {
                        principal.app_id.as_deref()
                    } else {
                        Some(principal.object_id.as_str())
                    };
                    own.is_some_and(|own| own.eq_ignore_ascii_case(excluded))
                });
                if explicitly_excluded {
                    continue;
                }
                let effect = effect_of(filter, &change.touched, &types, &change.before, &change.after);
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
                            condition: filter.name.to_owned(),
                            api_version: api_version_of(filter.name).to_owned(),
                        },
                        effect,
                    });
                }
            }
        }
    }
    Impacts { lines: found, notes: Vec::new() }
}

/// The effect of the change on one filter, `None` when there is none.
fn effect_of(
    filter: &Filter<'_>,
    touched: &[String],
    types: &BTreeMap<String, DataType>,
    before: &PrincipalAssignments,
    after: &PrincipalAssignments,
) -> Option<Effect> {
    let parsed = filter.rule.as_ref()?;
    // A rule reads custom security attributes only through this prefix: one
    // that names none of the changed attributes cannot change its verdict.
    let names_touched = touched.iter().any(|id| {
        filter
            .lowercase_rule
            .match_indices(id.as_str())
            .any(|(at, _)| filter.lowercase_rule[..at].ends_with("customsecurityattribute."))
    });
    if !names_touched {
        return None;
    }
    let rule: &Rule = match parsed {
        Ok(rule) => rule,
        Err(error) => return Some(Effect::Unknown(format!("its rule cannot be read ({error})"))),
    };
    let include = match filter.mode {
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
    let matches = |values: &PrincipalAssignments| rule.evaluate(&|id: &str| held(values, id));
    let in_scope = |truth: Truth| match truth {
        Truth::Unknown => None,
        Truth::True => Some(include),
        Truth::False => Some(!include),
    };
    match (in_scope(matches(before)), in_scope(matches(after))) {
        (Some(was), Some(is)) if was == is => None,
        (Some(false), Some(true)) => Some(Effect::Enters),
        (Some(_), Some(_)) => Some(Effect::Leaves),
        _ => Some(Effect::Unknown(
            "its rule cannot be settled for these values (a comparison that Microsoft does not document \
             for them, or one whose verdict depends on letter case)"
                .into(),
        )),
    }
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
