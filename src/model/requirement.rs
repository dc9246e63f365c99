//! Coverage rules (`requirements` in the files): every principal of a
//! population — every user, every service principal, every agent identity,
//! every member of a group — must hold an attribute, optionally one of some
//! values. A rule declares what must be true of principals the files do not
//! list one by one; the plan (`plan::coverage`) finds those that break it.
//!
//! Agent identities are recognised the way the rest of the tool recognises
//! them (`LivePrincipal::odata_type`, `GroupMember::principal_kind`): by the
//! `@odata.type` Graph v1.0 writes on a derived type in the users and
//! service-principals collections (ARCHITECTURE.md, "Where Microsoft says
//! it": R-AGENT, R-AGENT-USER, L-LIST-SP). Microsoft documents that the
//! service principals' list returns blueprint principals; it does not say
//! whether it returns agent identities, whose own list (L-LIST-AGENTS)
//! returns them alone, at most 100 a page. The tool reads the sweep it
//! already makes and says so when a rule judged nobody.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::model::live::LivePrincipal;
use crate::model::{AttributeValue, PrincipalKind};

/// One coverage rule, validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Requirement {
    /// Its name as written: unique among the files' requirements.
    pub name: String,
    /// Who must hold the attribute.
    pub principals: Population,
    /// The attribute set of the attribute that must be held.
    pub set: String,
    /// The attribute that must be held.
    pub attribute: String,
    /// The values that count, as text (`AttributeValue::members`); empty:
    /// any value. A collection counts when every member it holds is listed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub one_of: Vec<String>,
    /// What a principal that breaks the rule makes of the plan.
    #[serde(default)]
    pub on_failure: OnFailure,
}

impl Requirement {
    /// `Set.Attribute`, as addresses write it.
    pub fn attribute_address(&self) -> String {
        format!("{}.{}", self.set, self.attribute)
    }

    /// Whether `value` (a principal's value of the attribute, at the end of
    /// the plan) meets the rule. No value, or an empty collection, never does.
    pub fn is_met_by(&self, value: Option<&AttributeValue>) -> bool {
        let Some(value) = value.filter(|value| !value.is_empty_collection()) else { return false };
        self.one_of.is_empty() || value.members().iter().all(|member| self.one_of.contains(member))
    }
}

/// What a principal that breaks a requirement makes of the plan.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub enum OnFailure {
    /// A coverage finding: listed, and counted like drift (`--detailed-exitcode` exits 2).
    #[default]
    Report,
    /// A conflict: the plan exits 1 and `apply` refuses it.
    Conflict,
}

impl OnFailure {
    pub fn as_str(self) -> &'static str {
        match self {
            OnFailure::Report => "report",
            OnFailure::Conflict => "conflict",
        }
    }
}

/// Who a requirement is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Population {
    /// Every user, agent users included (Graph derives `agentUser` from `user`).
    Users,
    /// Every service principal, agent identities and blueprint principals
    /// included (Graph derives both from `servicePrincipal`).
    ServicePrincipals,
    /// Every service principal whose `@odata.type` is `#microsoft.graph.agentIdentity`.
    AgentIdentities,
    /// Every service principal whose `@odata.type` is
    /// `#microsoft.graph.agentIdentityBlueprintPrincipal`.
    AgentIdentityBlueprintPrincipals,
    /// Every user whose `@odata.type` is `#microsoft.graph.agentUser`.
    AgentUsers,
    /// The users and service principals among a group's transitive members,
    /// the group named as the files name it (object id, or a display name
    /// unique in the tenant).
    Group(String),
}

/// The keywords of `principals:`, with the population each names.
pub const POPULATION_KEYWORDS: [(&str, Population); 5] = [
    ("users", Population::Users),
    ("servicePrincipals", Population::ServicePrincipals),
    ("agentIdentities", Population::AgentIdentities),
    ("agentIdentityBlueprintPrincipals", Population::AgentIdentityBlueprintPrincipals),
    ("agentUsers", Population::AgentUsers),
];

impl Population {
    /// The kind of principal the population is made of; `None` for a group,
    /// which may hold both.
    pub fn kind(&self) -> Option<PrincipalKind> {
        match self {
            Population::Users | Population::AgentUsers => Some(PrincipalKind::User),
            Population::ServicePrincipals
            | Population::AgentIdentities
            | Population::AgentIdentityBlueprintPrincipals => Some(PrincipalKind::ServicePrincipal),
            Population::Group(_) => None,
        }
    }

    /// The derived type (`agentIdentity`, lower-cased, without its
    /// namespace) the population is limited to, if any.
    fn derived_type(&self) -> Option<&'static str> {
        match self {
            Population::AgentIdentities => Some("agentidentity"),
            Population::AgentIdentityBlueprintPrincipals => Some("agentidentityblueprintprincipal"),
            Population::AgentUsers => Some("agentuser"),
            _ => None,
        }
    }

    /// Whether `principal` belongs to this population. Always false for a
    /// group: its members are known from the membership the tenant returned.
    pub fn includes(&self, principal: &LivePrincipal) -> bool {
        let Some(kind) = self.kind() else { return false };
        if principal.kind != kind {
            return false;
        }
        match self.derived_type() {
            None => true,
            Some(wanted) => principal.odata_type.as_deref().is_some_and(|odata_type| {
                let name = odata_type.strip_prefix('#').unwrap_or(odata_type);
                let name = name.strip_prefix("microsoft.graph.").unwrap_or(name);
                name.eq_ignore_ascii_case(wanted)
            }),
        }
    }
}

/// `agentIdentities`, `group:Eng-Agents`: as the plan names a population.
impl fmt::Display for Population {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Population::Group(group) => write!(f, "group:{group}"),
            keyword => {
                let word = POPULATION_KEYWORDS
                    .iter()
                    .find(|(_, population)| population == keyword)
                    .map_or("?", |(word, _)| word);
                f.write_str(word)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(kind: PrincipalKind, odata_type: Option<&str>) -> LivePrincipal {
        LivePrincipal {
            kind,
            object_id: "x".into(),
            user_principal_name: None,
            app_id: None,
            display_name: None,
            odata_type: odata_type.map(str::to_owned),
            custom_security_attributes: None,
        }
    }

    #[test]
    fn populations_recognise_agents_by_their_odata_type() {
        let agent = principal(PrincipalKind::ServicePrincipal, Some("#microsoft.graph.agentIdentity"));
        let blueprint = principal(
            PrincipalKind::ServicePrincipal,
            Some("#microsoft.graph.agentIdentityBlueprintPrincipal"),
        );
        let app = principal(PrincipalKind::ServicePrincipal, None);
        let agent_user = principal(PrincipalKind::User, Some("#microsoft.graph.agentUser"));
        let person = principal(PrincipalKind::User, Some("#microsoft.graph.user"));
        let table = [
            (Population::AgentIdentities, [true, false, false, false, false]),
            (Population::AgentIdentityBlueprintPrincipals, [false, true, false, false, false]),
            (Population::ServicePrincipals, [true, true, true, false, false]),
            (Population::AgentUsers, [false, false, false, true, false]),
            (Population::Users, [false, false, false, true, true]),
            (Population::Group("G".into()), [false; 5]),
        ];
        for (population, expected) in table {
            let found: Vec<bool> = [&agent, &blueprint, &app, &agent_user, &person]
                .iter()
                .map(|principal| population.includes(principal))
                .collect();
            assert_eq!(found, expected, "{population}");
        }
    }

    #[test]
    fn a_value_meets_a_rule_when_present_and_listed() {
        let rule = Requirement {
            name: "tier".into(),
            principals: Population::AgentIdentities,
            set: "Gov".into(),
            attribute: "Tier".into(),
            one_of: vec!["Low".into(), "High".into()],
            on_failure: OnFailure::Report,
        };
        assert!(rule.is_met_by(Some(&AttributeValue::String("Low".into()))));
        assert!(!rule.is_met_by(Some(&AttributeValue::String("low".into()))), "values are case-sensitive");
        assert!(!rule.is_met_by(None));
        assert!(!rule.is_met_by(Some(&AttributeValue::strings(Vec::new()))));
        assert!(rule.is_met_by(Some(&AttributeValue::strings(vec!["Low".into(), "High".into()]))));
        assert!(!rule.is_met_by(Some(&AttributeValue::strings(vec!["Low".into(), "Mid".into()]))));
        let any = Requirement { one_of: Vec::new(), ..rule };
        assert!(any.is_met_by(Some(&AttributeValue::Boolean(false))));
    }
}
