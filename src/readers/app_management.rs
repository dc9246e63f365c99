//! App management policies as readers of custom security attributes: a
//! restriction's `excludeActors.customSecurityAttributes` exempts the apps
//! holding a given value from it, so deactivating that attribute or value
//! changes who the restriction binds. Both the tenant's default policy and
//! the custom policies are read.
//!
//! What Microsoft documents: the v1.0 wire name is `excludeActors` (on
//! `passwordCredentialConfiguration` and `keyCredentialConfiguration` in
//! Graph's v1.0 metadata), though the prose of the docs says
//! "excludedActors"; an exemption's `id` is the definition id
//! (`AttributeSetName_AttributeName`), and its `operator` is `equals` (or a
//! later value): "If `equals`, the customSecurityAttributeExemption value is
//! compared to match the custom security attribute value for the exemption
//! to be applied. The comparison is case sensitive."
//! (<https://learn.microsoft.com/graph/api/resources/customsecurityattributestringvalueexemption>).
//! An operator this version does not know names every value.

use serde_json::{Map, Value};

use crate::model::live::LiveState;
use crate::readers::{Kind, Pattern, Reader, ReadsAttributes, Reference, State, Values, display_name};

/// The app management policy reader.
pub struct AppManagement;

pub const KIND: Kind = Kind { key: "appManagementPolicy", noun: "app management policy" };

/// The condition an exemption is read from.
const CONDITION: &str = "excludeActors.customSecurityAttributes";

impl ReadsAttributes for AppManagement {
    fn kind(&self) -> Kind {
        KIND
    }

    fn not_checked(&self, live: &LiveState) -> Option<String> {
        live.policies.not_checked.clone()
    }

    fn references(&self, live: &LiveState) -> Vec<Reference> {
        let policies = &live.policies;
        let mut found = Vec::new();
        let app_management =
            policies.default_app_management_policy.iter().chain(policies.app_management_policies.iter().flatten());
        for policy in app_management {
            let enabled = policy.get("isEnabled").and_then(Value::as_bool).unwrap_or(true);
            let name = display_name(policy);
            let id = policy.get("id").and_then(Value::as_str).map(str::to_owned);
            let mut exemptions = Vec::new();
            exemptions_in(&Value::Object(policy.clone()), None, &mut exemptions);
            for (restriction_state, exemption) in exemptions {
                let state = match (enabled, restriction_state.as_deref()) {
                    (false, _) | (true, Some("disabled")) => State::Disabled,
                    (true, Some("enabled") | None) => State::Enabled,
                    (true, Some(other)) => State::Other(other.to_owned()),
                };
                let Some(attribute) = exemption.get("id").and_then(Value::as_str) else { continue };
                let operator = exemption.get("operator").and_then(Value::as_str).map(str::to_owned);
                let literal = exemption.get("value").and_then(Value::as_str);
                let values = match (operator.as_deref(), literal) {
                    (Some("equals"), Some(literal)) => Values::Matching {
                        pattern: Pattern::Equal,
                        literal: literal.to_owned(),
                        case_sensitive: true,
                    },
                    _ => Values::Every,
                };
                found.push(Reference {
                    reader: Reader {
                        kind: KIND,
                        id: id.clone(),
                        name: name.clone(),
                        state,
                        condition: CONDITION.to_owned(),
                        api_version: "v1.0".to_owned(),
                    },
                    attribute: attribute.to_owned(),
                    operator,
                    values,
                });
            }
        }
        found
    }
}

/// The definition ids (`Set_Attribute`, as written) that one policy's
/// exemptions name.
pub fn attributes_named_by(policy: &Map<String, Value>) -> Vec<String> {
    let mut exemptions = Vec::new();
    exemptions_in(&Value::Object(policy.clone()), None, &mut exemptions);
    exemptions
        .iter()
        .filter_map(|(_, exemption)| exemption.get("id").and_then(Value::as_str))
        .map(str::to_owned)
        .collect()
}

/// Every `excludeActors.customSecurityAttributes` item, with the `state` of
/// the nearest restriction holding it.
fn exemptions_in(value: &Value, state: Option<String>, found: &mut Vec<(Option<String>, Map<String, Value>)>) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn references_of(policy: Value) -> Vec<Reference> {
        let mut live = LiveState::default();
        live.policies.app_management_policies = Some(vec![policy.as_object().unwrap().clone()]);
        AppManagement.references(&live)
    }

    /// "If `equals`, ... The comparison is case sensitive."
    #[test]
    fn an_exemption_names_its_value_in_its_own_case_only() {
        let found = references_of(json!({
            "id": "p1", "displayName": "Credential rules", "isEnabled": true,
            "restrictions": { "passwordCredentials": [{
                "restrictionType": "passwordAddition", "state": "enabled",
                "excludeActors": { "customSecurityAttributes": [{
                    "@odata.type": "#microsoft.graph.customSecurityAttributeStringValueExemption",
                    "id": "Access_Exemption", "operator": "equals", "value": "PasswordAddition" }] } }] }
        }));
        assert_eq!(found.len(), 1);
        let reference = &found[0];
        assert!(reference.names_attribute("access", "exemption"));
        assert!(reference.names_value("PasswordAddition"));
        assert!(!reference.names_value("passwordaddition"));
        assert_eq!(reference.reader.condition, "excludeActors.customSecurityAttributes");
        assert_eq!(reference.reader.api_version, "v1.0");
        assert_eq!(reference.reader.state, State::Enabled);
    }

    /// An operator this version does not know names every value.
    #[test]
    fn an_unknown_operator_names_every_value() {
        let found = references_of(json!({
            "id": "p1", "isEnabled": true,
            "restrictions": { "keyCredentials": [{ "state": "disabled",
                "excludeActors": { "customSecurityAttributes": [{
                    "id": "Access_Exemption", "operator": "startsWith", "value": "Pass" }] } }] }
        }));
        assert_eq!(found[0].values, Values::Every);
        assert!(found[0].names_value("anything"));
        assert_eq!(found[0].reader.state, State::Disabled);
    }
}
