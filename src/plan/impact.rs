//! Impact of the plan's value changes on the readers of attributes
//! (`readers`): the principals whose values the plan changes, before and
//! after, handed to every reader; the lines they return, sorted, become the
//! plan's `impact`, and their remarks its notes.
//!
//! Pure: the plan's changes, the tenant as read and the files in, lines out.

use std::collections::BTreeMap;

use crate::model::live::{LiveState, PrincipalId};
use crate::model::{AttributeValue, DesiredState, PrincipalAssignments, PrincipalKey};
use crate::plan::{Address, Change, Note, Snapshot};
use crate::readers::{READERS, ValueChange};

pub use crate::readers::{Effect, Impact};

/// The impact of `changes` on every reader in `live`, and the notes of what
/// could not be checked.
pub fn impact(changes: &[Change], live: &LiveState, desired: &DesiredState) -> (Vec<Impact>, Vec<Note>) {
    let changed = changed_principals(changes);
    if changed.is_empty() {
        return (Vec::new(), Vec::new());
    }
    let mut value_changes = Vec::with_capacity(changed.len());
    for (id, (key, attribute_changes)) in changed {
        let Some(principal) = live.principals.get(&id) else { continue };
        let before = principal.custom_security_attributes.clone().unwrap_or_default();
        let after = after_values(&before, &attribute_changes);
        if after == before {
            continue;
        }
        let touched = attribute_changes
            .iter()
            .map(|(set, attribute, _)| crate::model::definition_id(set, attribute).to_ascii_lowercase())
            .collect();
        value_changes.push(ValueChange { key, principal, before, after, touched });
    }
    let mut found = Vec::new();
    let mut notes = Vec::new();
    for reader in READERS {
        let impacts = reader.impact(&value_changes, live, desired);
        found.extend(impacts.lines);
        notes.extend(impacts.notes.into_iter().map(|message| Note { address: None, message }));
    }
    found.sort_by(|a, b| {
        (&a.reader.name, &a.reader.id, &a.reader.condition, &a.principal).cmp(&(
            &b.reader.name,
            &b.reader.id,
            &b.reader.condition,
            &b.principal,
        ))
    });
    (found, notes)
}

type AttributeChange = (String, String, Option<AttributeValue>);

/// The principals whose values the plan changes, with their key and each
/// changed attribute's value after the plan (`None`: unassigned).
fn changed_principals(changes: &[Change]) -> BTreeMap<PrincipalId, (PrincipalKey, Vec<AttributeChange>)> {
    let mut changed: BTreeMap<PrincipalId, (PrincipalKey, Vec<AttributeChange>)> = BTreeMap::new();
    for change in changes {
        let Address::Assignment { principal: key, set, attribute } = &change.address else { continue };
        let snapshot = change.after.as_ref().or(change.before.as_ref());
        let Some(Snapshot::Assignment { principal, .. }) = snapshot else { continue };
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::live::LivePrincipal;
    use crate::model::{DataType, PrincipalKind, Status};
    use crate::plan::Action;
    use serde_json::{Value, json};

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
    /// An exclude-mode filter takes apps out of what the lists include, so
    /// that policy includes `All`; the include-mode one includes nothing else.
    fn moving(mode: &str, rule: &str, before: Option<&str>, after: Option<&str>) -> Vec<Effect> {
        let mut applications = filter(mode, rule);
        if mode == "exclude" {
            applications["includeApplications"] = json!(["All"]);
        }
        let mut live = tenant(applications, DataType::String);
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
                Effect::Unchanged => Effect::Unchanged,
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
