//! Azure role assignments as readers of custom security attributes: a
//! condition (Azure ABAC) such as
//! `@Principal[Microsoft.Directory/CustomSecurityAttributes/Id:Engineering_Project] StringEquals @Resource[…tags:Project<$key_case_sensitive$>]`
//! grants Storage blob and queue data access by a principal's attributes
//! (<https://learn.microsoft.com/azure/role-based-access-control/conditions-custom-security-attributes>).
//! Deactivating an attribute a condition reads, or a value it compares with
//! as a literal, changes who can read the data: a conflict unless
//! acknowledged. A value change of the assignee on an attribute its
//! condition reads is an impact line: the verdict where literals decide,
//! "access may change" where the condition compares with a resource's tags.
//!
//! The assignments come in `LivePolicies::azure_role_assignments`, as Azure
//! Resource Graph's rows (`id`, `properties.scope`, `roleDefinitionId`,
//! `principalId`, `principalType`, `condition`), read only with
//! `--azure-role-assignments`. The grammar is `condition`'s.
//!
//! Pure: the tenant as read in, references and impacts out.

pub mod condition;

use serde_json::{Map, Value};

use crate::model::DesiredState;
use crate::model::PrincipalKind;
use crate::model::live::{LiveState, Membership};
use crate::readers::{
    Effect, Impact, Impacts, Kind, Pattern, Reader, ReadsAttributes, Reference, State, ValueChange, Values,
    held_values,
};

use condition::{Named, Verdict};

/// The role assignment reader.
pub struct RoleAssignments;

/// `Kind::key` of this reader.
pub const KIND_KEY: &str = "azureRoleAssignment";

pub const KIND: Kind = Kind { key: KIND_KEY, noun: "Azure role assignment" };

/// The condition a role assignment is read through.
const CONDITION: &str = "condition";

/// One role assignment as the reader uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub id: String,
    pub scope: String,
    /// The role definition's id (its last path segment, a GUID), after its
    /// `roleName` when the tenant's rows give it.
    pub role: String,
    pub principal_id: String,
    /// `User`, `ServicePrincipal`, `Group`, … as Azure writes it.
    pub principal_type: String,
    pub condition: String,
}

impl Assignment {
    /// The assignment of a Resource Graph row, when it has a condition.
    pub fn of_row(row: &Map<String, Value>) -> Option<Assignment> {
        let properties = row.get("properties")?;
        let text = |name: &str| properties.get(name).and_then(Value::as_str).unwrap_or_default().to_owned();
        let condition = text("condition");
        if condition.trim().is_empty() {
            return None;
        }
        let role_definition = text("roleDefinitionId");
        Some(Assignment {
            id: row.get("id").and_then(Value::as_str).unwrap_or_default().to_owned(),
            scope: text("scope"),
            role: role_definition.rsplit('/').next().unwrap_or_default().to_owned(),
            principal_id: text("principalId"),
            principal_type: text("principalType"),
            condition,
        })
    }

    /// "role Storage Blob Data Reader (2a2b9908-…) for User 5d… at /subscriptions/…":
    /// scope, role, assignee.
    pub fn name(&self) -> String {
        let assignee = if self.principal_type.is_empty() {
            self.principal_id.clone()
        } else {
            format!("{} {}", self.principal_type, self.principal_id)
        };
        format!("role {} for {assignee} at {}", self.role, self.scope)
    }

    fn reader(&self) -> Reader {
        Reader {
            kind: KIND,
            id: Some(self.id.clone()),
            name: self.name(),
            // An assignment grants while it exists; there is no disabled state.
            state: State::Enabled,
            condition: CONDITION.to_owned(),
            api_version: "Azure Resource Graph".to_owned(),
        }
    }
}

/// Every role assignment with a condition in `live`, each role named by its
/// definition's `roleName` where the rows hold it.
pub fn assignments(live: &LiveState) -> Vec<Assignment> {
    let rows = live.policies.azure_role_assignments.as_deref().unwrap_or_default();
    let names: std::collections::BTreeMap<String, &str> = rows
        .iter()
        .filter(|row| {
            row.get("type").and_then(Value::as_str).is_some_and(|kind| kind.eq_ignore_ascii_case(ROLE_DEFINITION_TYPE))
        })
        .filter_map(|row| {
            let id = row.get("name").and_then(Value::as_str)?;
            let name = row.get("properties")?.get("roleName")?.as_str()?;
            Some((id.to_ascii_lowercase(), name))
        })
        .collect();
    rows.iter()
        .filter(|row| {
            row.get("type").and_then(Value::as_str).is_none_or(|kind| !kind.eq_ignore_ascii_case(ROLE_DEFINITION_TYPE))
        })
        .filter_map(Assignment::of_row)
        .map(|mut assignment| {
            if let Some(name) = names.get(&assignment.role.to_ascii_lowercase()) {
                assignment.role = format!("{name} ({})", assignment.role);
            }
            assignment
        })
        .collect()
}

/// The `type` of a role definition's row in Resource Graph's `authorizationresources`.
const ROLE_DEFINITION_TYPE: &str = "microsoft.authorization/roledefinitions";

impl ReadsAttributes for RoleAssignments {
    fn kind(&self) -> Kind {
        KIND
    }

    fn not_checked(&self, live: &LiveState) -> Option<String> {
        live.policies.azure_role_assignments_not_checked.clone()
    }

    fn references(&self, live: &LiveState) -> Vec<Reference> {
        let mut found = Vec::new();
        for assignment in assignments(live) {
            let reader = assignment.reader();
            match condition::parse(&assignment.condition) {
                Ok(parsed) => {
                    for named in parsed.named() {
                        found.push(Reference {
                            reader: reader.clone(),
                            attribute: named.attribute.clone(),
                            operator: Some(named.operator.clone()),
                            values: values_of(&named),
                        });
                    }
                }
                // A condition nobody can read names every value of each
                // attribute written in it: never guessed to be unrelated.
                Err(_) => found.extend(scanned(&assignment.condition).into_iter().map(|attribute| Reference {
                    reader: reader.clone(),
                    attribute,
                    operator: None,
                    values: Values::Every,
                })),
            }
        }
        found
    }

    fn impact(&self, changes: &[ValueChange<'_>], live: &LiveState, _desired: &DesiredState) -> Impacts {
        let mut impacts = Impacts::default();
        let mut unread_groups = std::collections::BTreeSet::new();
        for assignment in assignments(live) {
            let parsed = condition::parse(&assignment.condition);
            let read: Vec<String> = match &parsed {
                Ok(parsed) => parsed.named().into_iter().map(|named| named.attribute.to_ascii_lowercase()).collect(),
                Err(_) => scanned(&assignment.condition).into_iter().map(|id| id.to_ascii_lowercase()).collect(),
            };
            for change in changes {
                if !change.touched.iter().any(|touched| read.contains(touched)) {
                    continue;
                }
                match assigned_to(&assignment, change, live) {
                    Assigned::Yes => {}
                    Assigned::No => continue,
                    Assigned::Unknown => {
                        unread_groups.insert(assignment.principal_id.clone());
                        continue;
                    }
                }
                let effect = match &parsed {
                    Ok(parsed) => {
                        let before = |id: &str| held_values(&change.before, id);
                        let after = |id: &str| held_values(&change.after, id);
                        match condition::verdict(parsed, &before, &after) {
                            Verdict::Unchanged => Effect::Unchanged,
                            Verdict::Gains => Effect::Enters,
                            Verdict::Loses => Effect::Leaves,
                            Verdict::MayChange(reason) => Effect::Unknown(format!("access may change: {reason}")),
                        }
                    }
                    Err(error) => Effect::Unknown(format!("the condition cannot be read ({error})")),
                };
                impacts.lines.push(Impact {
                    principal: change.key.clone(),
                    display_name: change.principal.display_name.clone(),
                    noun: match change.principal.kind {
                        PrincipalKind::User => "user",
                        PrincipalKind::ServicePrincipal => "app",
                    },
                    reader: assignment.reader(),
                    effect,
                });
            }
        }
        if !unread_groups.is_empty() {
            impacts.notes.push(format!(
                "Azure role assignments to {} group(s) whose members the plan did not read ({}) read attributes \
                 these changes touch: the impact on their members is not checked",
                unread_groups.len(),
                unread_groups.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
        impacts
    }
}

/// Whether an assignment applies to the principal of a change.
enum Assigned {
    Yes,
    No,
    /// Assigned to a group whose members the plan did not read.
    Unknown,
}

fn assigned_to(assignment: &Assignment, change: &ValueChange<'_>, live: &LiveState) -> Assigned {
    if assignment.principal_id.eq_ignore_ascii_case(&change.principal.object_id) {
        return Assigned::Yes;
    }
    if !assignment.principal_type.eq_ignore_ascii_case("Group") {
        return Assigned::No;
    }
    let id = change.principal.id();
    let membership = live.memberships.values().find(
        |membership| matches!(membership, Membership::Group { id, .. } if id.eq_ignore_ascii_case(&assignment.principal_id)),
    );
    match membership {
        Some(Membership::Group { members, .. }) if members.contains(&id) => Assigned::Yes,
        Some(_) => Assigned::No,
        None => Assigned::Unknown,
    }
}

/// The definition ids a Resource Graph row's condition names (none for
/// any other object).
pub fn attributes_named_by(row: &Map<String, Value>) -> Vec<String> {
    let Some(assignment) = Assignment::of_row(row) else { return Vec::new() };
    match condition::parse(&assignment.condition) {
        Ok(parsed) => parsed.named().into_iter().map(|named| named.attribute).collect(),
        Err(_) => scanned(&assignment.condition),
    }
}

/// Which values of its attribute one named comparison names: its literal,
/// matched as the operator matches it, or every value where the tool does
/// not read the comparison as an equality or prefix.
fn values_of(named: &Named) -> Values {
    let Some(literal) = &named.value else { return Values::Every };
    let operator = named.operator.rsplit(':').next().unwrap_or_default();
    let pattern = match operator.trim_end_matches("IgnoreCase") {
        "StringEquals" | "StringNotEquals" | "GuidEquals" | "GuidNotEquals" | "BoolEquals" | "BoolNotEquals"
        | "NumericEquals" | "NumericNotEquals" => Pattern::Equal,
        "StringStartsWith" | "StringNotStartsWith" => Pattern::Prefix,
        _ => return Values::Every,
    };
    Values::Matching { pattern, literal: literal.clone(), case_sensitive: named.case_sensitive }
}

/// Every `CustomSecurityAttributes/Id:<id>` in a condition that does not parse.
fn scanned(text: &str) -> Vec<String> {
    const MARK: &str = "customsecurityattributes/id:";
    let lower = text.to_ascii_lowercase();
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(offset) = lower[from..].find(MARK) {
        let start = from + offset + MARK.len();
        let rest = &text[start..];
        let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
        from = start + end;
        if end > 0 {
            found.push(rest[..end].to_owned());
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(condition: &str) -> Map<String, Value> {
        json!({
            "id": "/subscriptions/s1/providers/Microsoft.Authorization/roleAssignments/ra1",
            "name": "ra1",
            "type": "microsoft.authorization/roleassignments",
            "properties": {
                "scope": "/subscriptions/s1",
                "principalId": "u1",
                "principalType": "User",
                "roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
                "condition": condition,
                "conditionVersion": "2.0"
            }
        })
        .as_object()
        .unwrap()
        .clone()
    }

    fn live_with(rows: Vec<Map<String, Value>>) -> LiveState {
        let mut live = LiveState::default();
        live.policies.azure_role_assignments = Some(rows);
        live
    }

    #[test]
    fn a_literal_names_its_value_and_a_tag_comparison_every_value() {
        let live = live_with(vec![row(
            "((!(ActionMatches{'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'})) OR \
             (@Principal[Microsoft.Directory/CustomSecurityAttributes/Id:Sec_Tier] StringEquals 'Tier0' AND \
             @Principal[Microsoft.Directory/CustomSecurityAttributes/Id:Engineering_Project] StringEquals \
             @Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags:Project<$key_case_sensitive$>]))",
        )]);
        let found = RoleAssignments.references(&live);
        assert_eq!(found.len(), 2);
        assert!(found[0].names_attribute("Sec", "Tier") && found[0].names_value("Tier0"));
        assert!(!found[0].names_value("tier0"), "StringEquals regards case");
        assert!(!found[0].names_value("Tier1"));
        assert!(found[1].names_attribute("Engineering", "Project") && found[1].names_value("Anything"));
        assert_eq!(found[0].reader.describe(), "Azure role assignment `role 2a2b9908-6ea1-4ae2-8e65-a410df84e7d1 for User u1 at /subscriptions/s1` (enabled)");
    }

    #[test]
    fn an_unreadable_condition_names_every_value_of_what_it_writes() {
        let live = live_with(vec![row(
            "@Principal[Microsoft.Directory/CustomSecurityAttributes/Id:Sec_Tier] StringEquals 'a' AND \
             @Resource[x] StringEquals 'b' OR @Resource[y] StringEquals 'c'",
        )]);
        let found = RoleAssignments.references(&live);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].values, Values::Every);
    }

    #[test]
    fn rows_without_a_condition_are_left_out_whatever_the_server_sent() {
        let live = live_with(vec![row(""), row("   ")]);
        assert!(RoleAssignments.references(&live).is_empty());
    }
}
