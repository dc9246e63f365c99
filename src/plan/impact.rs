//! Impact on Conditional Access: for each service principal (agent
//! identities included) whose values the plan changes, each Conditional
//! Access filter that reads custom security attributes is evaluated against
//! the principal's values before and after the plan, and every app that
//! enters or leaves a policy's scope is said, with the policy's name and
//! state ("app Contoso Payroll leaves the scope of `Block legacy auth
//! (Tier0)`"). A rule the tool cannot read or settle is reported as "impact
//! unknown", never guessed.
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
//!
//! Pure: the plan's changes, the tenant as read and the files in, lines out.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::model::live::{LivePrincipal, LiveState, PrincipalId};
use crate::model::{
    AttributeValue, DataType, DesiredState, PrincipalAssignments, PrincipalKey, PrincipalKind,
};
use crate::plan::filter_rule::{self, Held, Rule, Truth};
use crate::plan::references::{PolicyState, display_name};
use crate::plan::{Address, Change, Note, Snapshot};

/// How a change moves one principal against one policy's filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Enters,
    Leaves,
    /// The tool cannot say; the reason completes "impact unknown: …".
    Unknown(String),
}

impl Effect {
    pub fn as_str(&self) -> &'static str {
        match self {
            Effect::Enters => "enters",
            Effect::Leaves => "leaves",
            Effect::Unknown(_) => "unknown",
        }
    }
}

/// One line of impact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Impact {
    /// The principal as the files key it.
    pub principal: PrincipalKey,
    pub display_name: Option<String>,
    /// `app`, `agent identity`, `agent identity blueprint`.
    pub noun: &'static str,
    pub policy: String,
    pub policy_id: Option<String>,
    pub state: PolicyState,
    /// The filter's property name (`applicationFilter`).
    pub filter: String,
    pub effect: Effect,
}

impl Impact {
    /// What to call the principal: its display name, or its key.
    pub fn name(&self) -> String {
        self.display_name.clone().unwrap_or_else(|| self.principal.to_string())
    }

    /// "app Contoso Payroll leaves the scope of `Block legacy auth (Tier0)` (enabled)".
    pub fn sentence(&self) -> String {
        let what = format!("`{}` ({})", self.policy, self.state.describe());
        let via = match self.filter.as_str() {
            "applicationFilter" => String::new(),
            other => format!(" (through its {other})"),
        };
        match &self.effect {
            Effect::Enters => format!("{} {} enters the scope of {what}{via}", self.noun, self.name()),
            Effect::Leaves => format!("{} {} leaves the scope of {what}{via}", self.noun, self.name()),
            Effect::Unknown(reason) => {
                format!("impact unknown: {} {} against {what}{via}: {reason}", self.noun, self.name())
            }
        }
    }
}

/// A policy as the impact reads it.
struct PolicyView<'a> {
    name: String,
    id: Option<String>,
    state: PolicyState,
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
pub fn impact(changes: &[Change], live: &LiveState, desired: &DesiredState) -> (Vec<Impact>, Vec<Note>) {
    let changed = changed_principals(changes);
    if changed.is_empty() {
        return (Vec::new(), Vec::new());
    }
    if let Some(reason) = &live.policies.not_checked {
        let note = Note {
            address: None,
            message: format!(
                "impact on Conditional Access not checked: {reason}; the plan cannot say which apps enter or \
                 leave a policy's scope"
            ),
        };
        return (Vec::new(), vec![note]);
    }
    let Some(policies) = &live.policies.conditional_access_policies else { return (Vec::new(), Vec::new()) };
    let types = attribute_types(live, desired);
    // Each policy's name, state and parsed filters, once for every principal.
    let views: Vec<PolicyView<'_>> = policies
        .iter()
        .map(|policy| PolicyView {
            name: display_name(policy),
            id: policy.get("id").and_then(Value::as_str).map(str::to_owned),
            state: PolicyState::of_conditional_access(policy.get("state").and_then(Value::as_str)),
            filters: filters_of(policy),
        })
        .collect();
    let mut found = Vec::new();
    for (id, (key, attribute_changes)) in &changed {
        let Some(principal) = live.principals.get(id) else { continue };
        let before = principal.custom_security_attributes.clone().unwrap_or_default();
        let after = after_values(&before, attribute_changes);
        if after == before {
            continue;
        }
        let touched: Vec<String> = attribute_changes
            .iter()
            .map(|(set, attribute, _)| crate::model::definition_id(set, attribute).to_ascii_lowercase())
            .collect();
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
                let effect = effect_of(filter, &touched, &types, &before, &after);
                if let Some(effect) = effect {
                    found.push(Impact {
                        principal: key.clone(),
                        display_name: principal.display_name.clone(),
                        noun: noun_of(principal),
                        policy: view.name.clone(),
                        policy_id: view.id.clone(),
                        state: view.state.clone(),
                        filter: filter.name.to_owned(),
                        effect,
                    });
                }
            }
        }
    }
    found.sort_by(|a, b| {
        (&a.policy, &a.policy_id, &a.filter, &a.principal).cmp(&(
            &b.policy,
            &b.policy_id,
            &b.filter,
            &b.principal,
        ))
    });
    (found, Vec::new())
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

type AttributeChange = (String, String, Option<AttributeValue>);

/// The service principals whose values the plan changes, with their key and
/// each changed attribute's value after the plan (`None`: unassigned).
fn changed_principals(changes: &[Change]) -> BTreeMap<PrincipalId, (PrincipalKey, Vec<AttributeChange>)> {
    let mut changed: BTreeMap<PrincipalId, (PrincipalKey, Vec<AttributeChange>)> = BTreeMap::new();
    for change in changes {
        let Address::Assignment { principal: key, set, attribute } = &change.address else { continue };
        let snapshot = change.after.as_ref().or(change.before.as_ref());
        let Some(Snapshot::Assignment { principal, .. }) = snapshot else { continue };
        if principal.kind != PrincipalKind::ServicePrincipal {
            continue;
        }
        let value = match &change.after {
            Some(Snapshot::Assignment { value, .. }) => Some(value.clone()),
            _ => None,
        };
        changed.entry(principal.clone()).or_insert_with(|| (key.clone(), Vec::new())).1.push((
            set.clone(),
            attribute.clone(),
            value,
        ));
    }
    changed
}

/// `before` with the plan's changes made.
fn after_values(before: &PrincipalAssignments, changes: &[AttributeChange]) -> PrincipalAssignments {
    let mut after = before.clone();
    for (set, attribute, value) in changes {
        match value {
            Some(value) => {
                if after.get(set.as_str()).is_none() {
                    after.insert(set.clone(), Default::default());
                }
                if let Some(values) = after.get_mut(set.as_str()) {
                    values.insert(attribute.clone(), value.clone());
                }
            }
            None => {
                if let Some(values) = after.get_mut(set.as_str()) {
                    values.remove(attribute.as_str());
                }
            }
        }
    }
    after
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

/// Every noun an impact line calls its principal by (`noun_of`).
pub const NOUNS: [&str; 3] = ["app", "agent identity", "agent identity blueprint"];

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
    use crate::model::Status;
    use crate::model::live::LivePrincipal;
    use crate::plan::Action;
    use serde_json::json;

    const APP: &str = "a1a1a1a1-0000-4000-8000-000000000001";

    /// A tenant with one app holding `Sec.Tier = Tier0` and one policy whose
    /// `applicationFilter` is `filter` (plus `applications` properties).
    fn tenant(applications: Value, tier_type: DataType) -> LiveState {
        let mut live = LiveState::default();
        let id = PrincipalId { kind: PrincipalKind::ServicePrincipal, object_id: "sp-1".into() };
        let mut values = crate::model::SetValues::new();
        values.insert("Tier".into(), AttributeValue::String("Tier0".into()));
        let mut sets = PrincipalAssignments::new();
        sets.insert("Sec".into(), values);
        live.principals.insert(
            id,
            LivePrincipal {
                kind: PrincipalKind::ServicePrincipal,
                object_id: "sp-1".into(),
                user_principal_name: None,
                app_id: Some(APP.into()),
                display_name: Some("Payroll".into()),
                odata_type: None,
                custom_security_attributes: Some(sets),
            },
        );
        live.definitions.insert(
            "Sec_Tier".into(),
            crate::model::Definition {
                attribute_set: "Sec".into(),
                name: "Tier".into(),
                description: None,
                data_type: tier_type,
                is_collection: false,
                is_searchable: true,
                use_pre_defined_values_only: false,
                status: Status::Available,
                allowed_values: Vec::new(),
            },
        );
        let policy = json!({ "id": "p1", "displayName": "P", "state": "enabled",
                             "conditions": { "applications": applications } });
        live.policies.conditional_access_policies = Some(vec![policy.as_object().unwrap().clone()]);
        live
    }

    /// The plan's change: Sec.Tier from Tier0 to `to` (`None`: unassigned).
    fn change(to: Option<&str>) -> Vec<Change> {
        let principal = PrincipalId { kind: PrincipalKind::ServicePrincipal, object_id: "sp-1".into() };
        let snapshot = |value: &str| Snapshot::Assignment {
            principal: principal.clone(),
            value: AttributeValue::String(value.into()),
        };
        vec![Change {
            seq: 1,
            action: if to.is_some() { Action::Update } else { Action::Unassign },
            address: Address::Assignment {
                principal: PrincipalKey::ServicePrincipal(APP.into()),
                set: "Sec".into(),
                attribute: "Tier".into(),
            },
            before: Some(snapshot("Tier0")),
            after: to.map(snapshot),
        }]
    }

    fn sentences(live: &LiveState, changes: &[Change]) -> Vec<String> {
        impact(changes, live, &DesiredState::default()).0.iter().map(Impact::sentence).collect()
    }

    fn filter(mode: &str, rule: &str) -> Value {
        json!({ "applicationFilter": { "mode": mode, "rule": rule } })
    }

    #[test]
    fn unassigning_the_value_an_include_filter_matches_takes_the_app_out() {
        let live =
            tenant(filter("include", r#"CustomSecurityAttribute.Sec_Tier -eq "Tier0""#), DataType::String);
        assert_eq!(sentences(&live, &change(None)), ["app Payroll leaves the scope of `P` (enabled)"]);
        // A negative operator matches an app without the value: it enters.
        let live =
            tenant(filter("include", r#"CustomSecurityAttribute.Sec_Tier -ne "Tier0""#), DataType::String);
        assert_eq!(sentences(&live, &change(None)), ["app Payroll enters the scope of `P` (enabled)"]);
    }

    #[test]
    fn a_change_the_rule_does_not_see_says_nothing() {
        let live = tenant(
            filter("include", r#"CustomSecurityAttribute.Sec_Tier -startsWith "Tier""#),
            DataType::String,
        );
        assert!(sentences(&live, &change(Some("Tier1"))).is_empty());
        let live =
            tenant(filter("include", r#"CustomSecurityAttribute.Sec_Owner -eq "x""#), DataType::String);
        assert!(sentences(&live, &change(Some("Tier1"))).is_empty());
    }

    #[test]
    fn an_app_excluded_by_app_id_is_out_whatever_the_filter_says() {
        let mut applications = filter("include", r#"CustomSecurityAttribute.Sec_Tier -eq "Tier0""#);
        applications["excludeApplications"] = json!([APP.to_uppercase()]);
        let live = tenant(applications, DataType::String);
        assert!(sentences(&live, &change(Some("Tier1"))).is_empty());
    }

    #[test]
    fn a_rule_on_a_non_string_attribute_or_an_unknown_mode_is_impact_unknown() {
        let live =
            tenant(filter("include", r#"CustomSecurityAttribute.Sec_Tier -eq "1""#), DataType::Integer);
        assert_eq!(
            sentences(&live, &change(Some("Tier1"))),
            [
                "impact unknown: app Payroll against `P` (enabled): its rule names Sec_Tier, an Integer attribute, \
              and Conditional Access filters read only String attributes"
            ]
        );
        let live = tenant(
            filter("includeLater", r#"CustomSecurityAttribute.Sec_Tier -eq "Tier0""#),
            DataType::String,
        );
        assert_eq!(
            sentences(&live, &change(Some("Tier1"))),
            [
                "impact unknown: app Payroll against `P` (enabled): its filter mode `includeLater` is not one the tool knows"
            ]
        );
    }

    #[test]
    fn a_verdict_letter_case_would_decide_is_impact_unknown() {
        let live =
            tenant(filter("include", r#"CustomSecurityAttribute.Sec_Tier -eq "TIER1""#), DataType::String);
        let lines = sentences(&live, &change(Some("Tier1")));
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].contains("letter case"), "{lines:?}");
    }

    #[test]
    fn policies_not_read_make_a_note_instead() {
        let mut live =
            tenant(filter("include", r#"CustomSecurityAttribute.Sec_Tier -eq "Tier0""#), DataType::String);
        live.policies.not_checked = Some("Microsoft Graph refused (403)".into());
        let (found, notes) = impact(&change(None), &live, &DesiredState::default());
        assert!(found.is_empty());
        assert!(
            notes[0].message.starts_with("impact on Conditional Access not checked: Microsoft Graph refused")
        );
    }

    /// The impact of moving `Sec.Tier` of one app from `before` to `after`
    /// (`None`: not assigned) under one policy with `mode` and `rule`.
    fn moving(mode: &str, rule: &str, before: Option<&str>, after: Option<&str>) -> Vec<Effect> {
        let mut live = tenant(filter(mode, rule), DataType::String);
        let id = PrincipalId { kind: PrincipalKind::ServicePrincipal, object_id: "sp-1".into() };
        let principal = live.principals.get_mut(&id).unwrap();
        let sets = principal.custom_security_attributes.as_mut().unwrap();
        let values = sets.get_mut("Sec").unwrap();
        match before {
            Some(value) => values.insert("Tier".into(), AttributeValue::String(value.into())),
            None => values.remove("Tier"),
        };
        let snapshot = |value: &str| Snapshot::Assignment {
            principal: id.clone(),
            value: AttributeValue::String(value.into()),
        };
        let change = Change {
            seq: 1,
            action: match (before, after) {
                (None, _) => Action::Assign,
                (_, None) => Action::Unassign,
                _ => Action::Update,
            },
            address: Address::Assignment {
                principal: PrincipalKey::ServicePrincipal(APP.into()),
                set: "Sec".into(),
                attribute: "Tier".into(),
            },
            before: before.map(snapshot),
            after: after.map(snapshot),
        };
        impact(&[change], &live, &DesiredState::default()).0.into_iter().map(|impact| impact.effect).collect()
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn value() -> impl Strategy<Value = Option<String>> {
            prop::option::of(
                prop::sample::select(vec!["Tier0", "tier0", "Tier1", "Tier10", "Fin"]).prop_map(String::from),
            )
        }

        fn comparison() -> impl Strategy<Value = String> {
            (
                prop::sample::select(vec!["Sec_Tier", "Sec_Other"]),
                prop::sample::select(vec![
                    "-eq",
                    "-ne",
                    "-startsWith",
                    "-notStartsWith",
                    "-endsWith",
                    "-contains",
                ]),
                prop::sample::select(vec!["Tier0", "Tier1", "T", "0"]),
            )
                .prop_map(|(attribute, operator, literal)| {
                    format!("CustomSecurityAttribute.{attribute} {operator} \"{literal}\"")
                })
        }

        fn rule() -> impl Strategy<Value = String> {
            (prop::collection::vec(comparison(), 1..4), prop::sample::select(vec![" -and ", " -or "]))
                .prop_map(|(parts, connective)| parts.join(connective))
        }

        fn mirrored(effect: &Effect) -> Effect {
            match effect {
                Effect::Enters => Effect::Leaves,
                Effect::Leaves => Effect::Enters,
                Effect::Unknown(reason) => Effect::Unknown(reason.clone()),
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            /// Undoing a change undoes its impact: what enters one way leaves
            /// the other, what is unknown stays unknown, and no change says nothing.
            #[test]
            fn undoing_a_change_mirrors_its_impact(
                rule in rule(),
                exclude in any::<bool>(),
                before in value(),
                after in value(),
            ) {
                prop_assume!(before.is_some() || after.is_some());
                let mode = if exclude { "exclude" } else { "include" };
                let forth = moving(mode, &rule, before.as_deref(), after.as_deref());
                let back = moving(mode, &rule, after.as_deref(), before.as_deref());
                prop_assert_eq!(back, forth.iter().map(mirrored).collect::<Vec<_>>(), "{}", rule);
                if before == after {
                    prop_assert!(forth.is_empty(), "{:?}", forth);
                }
                // The other mode turns every enter into a leave.
                let other = moving(if exclude { "include" } else { "exclude" }, &rule, before.as_deref(), after.as_deref());
                prop_assert_eq!(other, forth.iter().map(mirrored).collect::<Vec<_>>(), "{}", rule);
            }
        }
    }
}
