//! What reads an attribute: the policies that name a custom security
//! attribute (Conditional Access filter rules such as
//! `CustomSecurityAttribute.Access_Tier -eq "Tier0"`, app management
//! exemptions `excludeActors.customSecurityAttributes`), found in the
//! policies the tenant returned, and checked against what the plan
//! deactivates. Each policy naming a deactivated attribute or value is
//! listed (name and state); one that is enabled or report-only makes the
//! deactivation a conflict, unless the files acknowledge it
//! (`acknowledgedReferences`). Policies not read make a note saying so.
//!
//! Pure: the policies come in `LiveState`.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::model::live::LivePolicies;
use crate::plan::filter_rule::{self, Operand};
use crate::plan::{Action, Address, Change, Conflict, Note};

/// Where a policy comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    ConditionalAccess,
    AppManagement,
}

impl PolicyKind {
    pub fn describe(self) -> &'static str {
        match self {
            PolicyKind::ConditionalAccess => "Conditional Access policy",
            PolicyKind::AppManagement => "app management policy",
        }
    }
}

/// Whether a policy acts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyState {
    Enabled,
    ReportOnly,
    Disabled,
    /// A state this version does not know: treated as one that acts.
    Other(String),
}

impl PolicyState {
    /// Whether deactivating what the policy names changes what it does now.
    pub fn acts(&self) -> bool {
        !matches!(self, PolicyState::Disabled)
    }

    pub fn describe(&self) -> String {
        match self {
            PolicyState::Enabled => "enabled".into(),
            PolicyState::ReportOnly => "report-only".into(),
            PolicyState::Disabled => "disabled".into(),
            PolicyState::Other(state) => format!("state `{state}`"),
        }
    }

    /// The state as Graph writes it (`enabledForReportingButNotEnforced`).
    pub fn graph_value(&self) -> &str {
        match self {
            PolicyState::Enabled => "enabled",
            PolicyState::ReportOnly => "enabledForReportingButNotEnforced",
            PolicyState::Disabled => "disabled",
            PolicyState::Other(state) => state,
        }
    }

    pub fn of_conditional_access(state: Option<&str>) -> Self {
        match state {
            Some("enabled") => PolicyState::Enabled,
            Some("enabledForReportingButNotEnforced") => PolicyState::ReportOnly,
            Some("disabled") => PolicyState::Disabled,
            Some(other) => PolicyState::Other(other.to_owned()),
            None => PolicyState::Other("(none)".to_owned()),
        }
    }
}

/// One policy naming one attribute, with the value it compares it to when
/// the tool can read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub kind: PolicyKind,
    pub policy: String,
    pub state: PolicyState,
    /// The definition id as the policy writes it (`Access_Tier`).
    pub attribute: String,
    /// The operator as written (`-eq`, `-startsWith`, `equals`).
    pub operator: Option<String>,
    /// The literal compared with; `None` when the tool cannot read it (then
    /// every value of the attribute counts as named).
    pub value: Option<String>,
}

impl Reference {
    /// Whether this reference names the attribute `set.attribute` (Graph
    /// compares ids without regard to case).
    fn names_attribute(&self, set: &str, attribute: &str) -> bool {
        self.attribute.eq_ignore_ascii_case(&crate::model::definition_id(set, attribute))
    }

    /// Whether it names `value` of its attribute: equality (any case, also
    /// for each item of an `-in` list), a prefix for `startsWith`, a suffix
    /// for `endsWith`, a part for `contains`, and any value when the
    /// comparison is one the tool does not read (never guessed to be unrelated).
    fn names_value(&self, value: &str) -> bool {
        let (Some(operator), Some(literal)) = (&self.operator, &self.value) else { return true };
        match operator.trim_start_matches('-').to_ascii_lowercase().as_str() {
            "eq" | "ne" | "equals" | "notequals" | "in" | "notin" => literal.eq_ignore_ascii_case(value),
            "startswith" | "notstartswith" => {
                value.to_ascii_lowercase().starts_with(&literal.to_ascii_lowercase())
            }
            "endswith" | "notendswith" => value.to_ascii_lowercase().ends_with(&literal.to_ascii_lowercase()),
            "contains" | "notcontains" => value.to_ascii_lowercase().contains(&literal.to_ascii_lowercase()),
            _ => true,
        }
    }
}

/// Every reference to a custom security attribute in `policies`.
pub fn references(policies: &LivePolicies) -> Vec<Reference> {
    let mut found = Vec::new();
    for policy in policies.conditional_access_policies.iter().flatten() {
        let state = PolicyState::of_conditional_access(policy.get("state").and_then(Value::as_str));
        let name = display_name(policy);
        let mut rules = Vec::new();
        filter_rules(&Value::Object(policy.clone()), &mut rules);
        for rule in rules {
            for (attribute, operator, value) in named_in_rule(&rule) {
                found.push(Reference {
                    kind: PolicyKind::ConditionalAccess,
                    policy: name.clone(),
                    state: state.clone(),
                    attribute,
                    operator,
                    value,
                });
            }
        }
    }
    let app_management = policies
        .default_app_management_policy
        .iter()
        .chain(policies.app_management_policies.iter().flatten());
    for policy in app_management {
        let enabled = policy.get("isEnabled").and_then(Value::as_bool).unwrap_or(true);
        let name = display_name(policy);
        let mut exemptions = Vec::new();
        exemptions_in(&Value::Object(policy.clone()), None, &mut exemptions);
        for (restriction_state, exemption) in exemptions {
            let state = match (enabled, restriction_state.as_deref()) {
                (false, _) | (true, Some("disabled")) => PolicyState::Disabled,
                (true, Some("enabled") | None) => PolicyState::Enabled,
                (true, Some(other)) => PolicyState::Other(other.to_owned()),
            };
            let Some(attribute) = exemption.get("id").and_then(Value::as_str) else { continue };
            found.push(Reference {
                kind: PolicyKind::AppManagement,
                policy: name.clone(),
                state,
                attribute: attribute.to_owned(),
                operator: exemption.get("operator").and_then(Value::as_str).map(str::to_owned),
                value: exemption.get("value").and_then(Value::as_str).map(str::to_owned),
            });
        }
    }
    found
}

/// The definition ids (`Set_Attribute`, as written) that one policy names,
/// in its filter rules or its exemptions, whichever kind it is.
pub fn attributes_named_by(policy: &Map<String, Value>) -> Vec<String> {
    let whole = Value::Object(policy.clone());
    let mut rules = Vec::new();
    filter_rules(&whole, &mut rules);
    let mut named: Vec<String> =
        rules.iter().flat_map(|rule| named_in_rule(rule)).map(|(attribute, _, _)| attribute).collect();
    let mut exemptions = Vec::new();
    exemptions_in(&whole, None, &mut exemptions);
    named.extend(
        exemptions
            .iter()
            .filter_map(|(_, exemption)| exemption.get("id").and_then(Value::as_str))
            .map(str::to_owned),
    );
    named
}

/// What to call a policy: its `displayName`, else its id.
pub fn display_name(policy: &Map<String, Value>) -> String {
    policy
        .get("displayName")
        .and_then(Value::as_str)
        .or_else(|| policy.get("id").and_then(Value::as_str))
        .unwrap_or("(unnamed)")
        .to_owned()
}

/// The `rule` of every filter object (`applicationFilter`,
/// `servicePrincipalFilter`, any later one) anywhere in a policy.
fn filter_rules(value: &Value, rules: &mut Vec<String>) {
    match value {
        Value::Object(object) => {
            for (key, inner) in object {
                if key.ends_with("Filter")
                    && let Some(rule) = inner.get("rule").and_then(Value::as_str)
                {
                    rules.push(rule.to_owned());
                }
                filter_rules(inner, rules);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| filter_rules(item, rules)),
        _ => {}
    }
}

/// Every `excludeActors.customSecurityAttributes` item, with the `state` of
/// the nearest restriction holding it.
fn exemptions_in(
    value: &Value,
    state: Option<String>,
    found: &mut Vec<(Option<String>, Map<String, Value>)>,
) {
    match value {
        Value::Object(object) => {
            let state = object.get("state").and_then(Value::as_str).map(str::to_owned).or(state);
            if let Some(Value::Array(items)) =
                object.get("excludeActors").and_then(|actors| actors.get("customSecurityAttributes"))
            {
                for item in items {
                    if let Value::Object(exemption) = item {
                        found.push((state.clone(), exemption.clone()));
                    }
                }
            }
            for (key, inner) in object {
                if key != "excludeActors" {
                    exemptions_in(inner, state.clone(), found);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| exemptions_in(item, state.clone(), found)),
        _ => {}
    }
}

/// The attributes a filter rule names, each with its operator and the
/// literal it is compared with (one entry per item of an `-in` list). A rule
/// the grammar of `filter_rule` reads is read through it; one it cannot read
/// falls back to a scan for `CustomSecurityAttribute.<id>` that names every
/// value of each attribute found (no operator, no literal): conservative, so
/// a deactivation is never taken for unrelated to a rule nobody can read.
fn named_in_rule(rule: &str) -> Vec<(String, Option<String>, Option<String>)> {
    let Ok(parsed) = filter_rule::parse(rule) else { return scanned_in_rule(rule) };
    let mut named = Vec::new();
    for comparison in parsed.comparisons() {
        let operator = Some(format!("-{}", comparison.operator.name()));
        match &comparison.operand {
            Operand::One(literal) => {
                named.push((comparison.attribute.clone(), operator, Some(literal.clone())));
            }
            Operand::List(items) => named.extend(
                items.iter().map(|item| (comparison.attribute.clone(), operator.clone(), Some(item.clone()))),
            ),
        }
    }
    named
}

/// Every `CustomSecurityAttribute.<id>` in a rule that cannot be parsed.
fn scanned_in_rule(rule: &str) -> Vec<(String, Option<String>, Option<String>)> {
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
            named.push((rest[..id_len].to_owned(), None, None));
        }
    }
    named
}

/// The conflicts and notes of the plan's deactivations against the policies.
pub fn check(
    changes: &[Change],
    policies: &LivePolicies,
    acknowledged: &BTreeMap<String, String>,
) -> (Vec<Conflict>, Vec<Note>) {
    let mut conflicts = Vec::new();
    let mut notes = Vec::new();
    let deactivations: Vec<&Change> =
        changes.iter().filter(|change| change.action == Action::Deactivate).collect();
    if let Some(reason) = &policies.not_checked
        && !deactivations.is_empty()
    {
        notes.push(Note {
            address: None,
            message: format!(
                "references not checked: {reason}; the plan cannot say which policies name what it deactivates"
            ),
        });
        return (conflicts, notes);
    }
    let found = references(policies);
    let mut used = std::collections::BTreeSet::new();
    for change in deactivations {
        let named: Vec<&Reference> = match &change.address {
            Address::Definition { set, attribute } => {
                found.iter().filter(|reference| reference.names_attribute(set, attribute)).collect()
            }
            Address::AllowedValue { set, attribute, value } => found
                .iter()
                .filter(|reference| reference.names_attribute(set, attribute) && reference.names_value(value))
                .collect(),
            _ => Vec::new(),
        };
        let address = change.address.to_string();
        for reference in named {
            let what = format!(
                "{} `{}` ({})",
                reference.kind.describe(),
                reference.policy,
                reference.state.describe()
            );
            let acknowledgement = acknowledged.get(&address);
            match (reference.state.acts(), acknowledgement) {
                (true, None) => conflicts.push(Conflict {
                    address: change.address.clone(),
                    property: "references".to_owned(),
                    live: Some(what.clone()),
                    desired: Some("deactivated".to_owned()),
                    message: format!("deactivating {address} changes what {what} does: it names it"),
                    hint: format!(
                        "change the policy first, or acknowledge it in the files: \
                         `acknowledgedReferences: {{ \"{address}\": <why> }}`"
                    ),
                }),
                (true, Some(reason)) => {
                    used.insert(address.clone());
                    notes.push(Note {
                        address: Some(change.address.clone()),
                        message: format!("named by {what}; acknowledged reference: {reason}"),
                    });
                }
                (false, _) => notes.push(Note {
                    address: Some(change.address.clone()),
                    message: format!("named by {what}"),
                }),
            }
        }
    }
    // An acknowledgement nothing needs any more is said, so the list cannot rot.
    // A misspelt one (`Access.Teir`) names the conflict it likely meant to acknowledge.
    let refused: Vec<String> = conflicts.iter().map(|conflict| conflict.address.to_string()).collect();
    for address in acknowledged.keys().filter(|address| !used.contains(*address)) {
        let advice = match crate::desired::diagnostic::nearest(address, refused.iter().map(String::as_str)) {
            Some(near) => format!("did you mean `{near}`? If not, remove it from acknowledgedReferences"),
            None => "remove it from acknowledgedReferences".to_owned(),
        };
        notes.push(Note {
            address: None,
            message: format!(
                "acknowledged reference `{address}` matches no deactivation that an enabled or report-only \
                 policy names: {advice}"
            ),
        });
    }
    (conflicts, notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_names_each_attribute_with_its_operator_and_literal() {
        let named = named_in_rule(
            "CustomSecurityAttribute.Access_Tier -eq \"Tier1\" -and customSecurityAttribute.Access_Owner \
             -startsWith \"Fin\"",
        );
        assert_eq!(
            named,
            [
                ("Access_Tier".into(), Some("-eq".into()), Some("Tier1".into())),
                ("Access_Owner".into(), Some("-startsWith".into()), Some("Fin".into())),
            ]
        );
    }

    #[test]
    fn a_list_names_each_of_its_items() {
        let named = named_in_rule("CustomSecurityAttribute.Access_Tier -in [\"A\",\"B\"]");
        assert_eq!(
            named,
            [
                ("Access_Tier".into(), Some("-in".into()), Some("A".into())),
                ("Access_Tier".into(), Some("-in".into()), Some("B".into())),
            ]
        );
    }

    #[test]
    fn an_unreadable_rule_names_every_value_of_each_attribute_in_it() {
        let named = named_in_rule(
            "CustomSecurityAttribute.Access_Tier -match \"Tier[01]\" -or -not (customSecurityAttribute.Access_Owner \
             -eq \"x\")",
        );
        assert_eq!(named, [("Access_Tier".into(), None, None), ("Access_Owner".into(), None, None)]);
        let reference = Reference {
            kind: PolicyKind::ConditionalAccess,
            policy: "p".into(),
            state: PolicyState::Enabled,
            attribute: "Access_Tier".into(),
            operator: None,
            value: None,
        };
        assert!(reference.names_value("Anything"));
    }
}
