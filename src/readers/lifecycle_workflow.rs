//! Lifecycle workflows as readers of custom security attributes. Three
//! places of a workflow (Graph v1.0 `identityGovernance/lifecycleWorkflows/workflows`)
//! can name one:
//!
//! - the scope rule, `executionConditions.scope.rule` (`rule` has the
//!   grammar; who the workflow runs for), evaluated for impact where it can be;
//! - an attribute-change trigger, `executionConditions.trigger.triggerAttributes[].name`
//!   ("Use custom attribute triggers in lifecycle workflows",
//!   <https://learn.microsoft.com/entra/id-governance/workflow-custom-triggers>):
//!   a change of that attribute starts the workflow for a user in scope;
//! - a task argument, such as the `to` of "Generate TAP and send email",
//!   which takes `User/customSecurityAttributes/{attributeSet}/{attributeName}`
//!   ("List taskDefinitions",
//!   <https://learn.microsoft.com/graph/api/identitygovernance-lifecycleworkflowscontainer-list-taskdefinitions>).
//!
//! Deactivating what an enabled workflow names is a conflict unless
//! acknowledged. How a trigger or an argument writes the attribute is not
//! shown in Microsoft's pages; `customSecurityAttributes/<Set>/<Attribute>`
//! (as Graph's `$filter` on users writes it) is recognised wherever it
//! appears, and names every value of the attribute.
//!
//! Pure: the tenant as read in, references and impacts out.

pub mod rule;

use serde_json::{Map, Value};

use crate::model::DesiredState;
use crate::model::PrincipalKind;
use crate::model::live::LiveState;
use crate::readers::{
    Effect, Impact, Impacts, Kind, Pattern, Reader, ReadsAttributes, Reference, State, ValueChange, Values,
    display_name, held_values,
};

use rule::{Operator, Verdict};

/// The lifecycle workflow reader.
pub struct LifecycleWorkflows;

pub const KIND: Kind = Kind { key: "lifecycleWorkflow", noun: "lifecycle workflow" };

const SCOPE: &str = "executionConditions.scope.rule";
const TRIGGER: &str = "executionConditions.trigger.triggerAttributes";
const TASKS: &str = "tasks.arguments";

fn reader(workflow: &Map<String, Value>, condition: &str) -> Reader {
    let enabled = workflow.get("isEnabled").and_then(Value::as_bool).unwrap_or(true);
    Reader {
        kind: KIND,
        id: workflow.get("id").and_then(Value::as_str).map(str::to_owned),
        name: display_name(workflow),
        // A disabled workflow runs neither on schedule nor on demand.
        state: if enabled { State::Enabled } else { State::Disabled },
        condition: condition.to_owned(),
        api_version: "v1.0".to_owned(),
    }
}

/// The scope rule of a workflow, when it has one.
fn scope_rule(workflow: &Map<String, Value>) -> Option<&str> {
    workflow.get("executionConditions")?.get("scope")?.get("rule")?.as_str()
}

/// The attributes the trigger's `triggerAttributes` name.
fn trigger_attributes(workflow: &Map<String, Value>) -> Vec<String> {
    let names = workflow
        .get("executionConditions")
        .and_then(|conditions| conditions.get("trigger"))
        .and_then(|trigger| trigger.get("triggerAttributes"))
        .and_then(Value::as_array);
    names
        .into_iter()
        .flatten()
        .filter_map(|attribute| attribute.get("name").and_then(Value::as_str))
        .flat_map(rule::scan)
        .collect()
}

/// The attributes the tasks' argument values name.
fn task_attributes(workflow: &Map<String, Value>) -> Vec<String> {
    let tasks = workflow.get("tasks").and_then(Value::as_array);
    tasks
        .into_iter()
        .flatten()
        .filter_map(|task| task.get("arguments").and_then(Value::as_array))
        .flatten()
        .filter_map(|argument| argument.get("value").and_then(Value::as_str))
        .flat_map(rule::scan)
        .collect()
}

/// The definition ids a workflow names: in its scope rule, trigger and
/// task arguments (none for any other object).
pub fn attributes_named_by(workflow: &Map<String, Value>) -> Vec<String> {
    let mut named = match scope_rule(workflow) {
        Some(text) => match rule::parse(text) {
            Ok(parsed) => parsed.named().into_iter().map(|(id, _)| id).collect(),
            Err(_) => rule::scan(text),
        },
        None => Vec::new(),
    };
    named.extend(trigger_attributes(workflow));
    named.extend(task_attributes(workflow));
    named
}

impl ReadsAttributes for LifecycleWorkflows {
    fn kind(&self) -> Kind {
        KIND
    }

    fn not_checked(&self, live: &LiveState) -> Option<String> {
        live.policies.lifecycle_workflows_not_checked.clone()
    }

    fn references(&self, live: &LiveState) -> Vec<Reference> {
        let mut found = Vec::new();
        for workflow in live.policies.lifecycle_workflows.iter().flatten() {
            if let Some(text) = scope_rule(workflow) {
                let scope = reader(workflow, SCOPE);
                match rule::parse(text) {
                    Ok(parsed) => {
                        for (attribute, comparison) in parsed.named() {
                            let pattern =
                                if comparison.operator == Operator::StartsWith { Pattern::Prefix } else { Pattern::Equal };
                            for literal in &comparison.literals {
                                found.push(Reference {
                                    reader: scope.clone(),
                                    attribute: attribute.clone(),
                                    operator: Some(comparison.operator.name().to_owned()),
                                    // Whether the rule regards case is not documented:
                                    // the wider reading names more values.
                                    values: Values::Matching { pattern, literal: literal.clone(), case_sensitive: false },
                                });
                            }
                        }
                    }
                    Err(_) => found.extend(rule::scan(text).into_iter().map(|attribute| Reference {
                        reader: scope.clone(),
                        attribute,
                        operator: None,
                        values: Values::Every,
                    })),
                }
            }
            for (condition, attributes) in [(TRIGGER, trigger_attributes(workflow)), (TASKS, task_attributes(workflow))] {
                found.extend(attributes.into_iter().map(|attribute| Reference {
                    reader: reader(workflow, condition),
                    attribute,
                    operator: None,
                    values: Values::Every,
                }));
            }
        }
        found
    }

    fn impact(&self, changes: &[ValueChange<'_>], live: &LiveState, _desired: &DesiredState) -> Impacts {
        let mut impacts = Impacts::default();
        // Workflows run for users only.
        let users: Vec<&ValueChange<'_>> =
            changes.iter().filter(|change| change.principal.kind == PrincipalKind::User).collect();
        for workflow in live.policies.lifecycle_workflows.iter().flatten() {
            let parsed = scope_rule(workflow).map(|text| (text, rule::parse(text)));
            let scope_reads: Vec<String> = match &parsed {
                Some((_, Ok(parsed))) => parsed.named().into_iter().map(|(id, _)| id.to_ascii_lowercase()).collect(),
                Some((text, Err(_))) => rule::scan(text).into_iter().map(|id| id.to_ascii_lowercase()).collect(),
                None => Vec::new(),
            };
            let triggers: Vec<String> =
                trigger_attributes(workflow).into_iter().map(|id| id.to_ascii_lowercase()).collect();
            for change in &users {
                let line = |effect: Effect, condition: &str| Impact {
                    principal: change.key.clone(),
                    display_name: change.principal.display_name.clone(),
                    noun: "user",
                    reader: reader(workflow, condition),
                    effect,
                };
                if change.touched.iter().any(|touched| scope_reads.contains(touched)) {
                    let effect = match &parsed {
                        Some((_, Ok(parsed))) => {
                            let before = |id: &str| held_values(&change.before, id);
                            let after = |id: &str| held_values(&change.after, id);
                            match rule::verdict(parsed, &before, &after) {
                                Verdict::Unchanged => None,
                                Verdict::Enters => Some(Effect::Enters),
                                Verdict::Leaves => Some(Effect::Leaves),
                                Verdict::Unknown(reason) => Some(Effect::Unknown(reason)),
                            }
                        }
                        Some((_, Err(error))) => Some(Effect::Unknown(format!("the scope rule cannot be read ({error})"))),
                        None => None,
                    };
                    if let Some(effect) = effect {
                        impacts.lines.push(line(effect, SCOPE));
                    }
                }
                if let Some(attribute) = change.touched.iter().find(|touched| triggers.contains(touched)) {
                    impacts.lines.push(line(
                        Effect::Unknown(format!(
                            "the change of {attribute} starts this workflow for the user, if the user is in its scope \
                             and the workflow is scheduled"
                        )),
                        TRIGGER,
                    ));
                }
            }
        }
        impacts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn live_with(workflows: Vec<Value>) -> LiveState {
        let mut live = LiveState::default();
        live.policies.lifecycle_workflows =
            Some(workflows.into_iter().map(|workflow| workflow.as_object().unwrap().clone()).collect());
        live
    }

    #[test]
    fn scope_trigger_and_task_arguments_are_references() {
        let live = live_with(vec![json!({
            "id": "w1",
            "displayName": "Mover: pay grade",
            "isEnabled": true,
            "executionConditions": {
                "@odata.type": "#microsoft.graph.identityGovernance.triggerAndScopeBasedConditions",
                "scope": {
                    "@odata.type": "#microsoft.graph.identityGovernance.ruleBasedSubjectSet",
                    "rule": "(department eq 'Sales') and (customSecurityAttributes/Hr/PayGrade eq 'G7')"
                },
                "trigger": {
                    "@odata.type": "#microsoft.graph.identityGovernance.attributeChangeTrigger",
                    "triggerAttributes": [{ "name": "customSecurityAttributes/Hr/CostCenter" }]
                }
            },
            "tasks": [{ "arguments": [{ "name": "to", "value": "User/customSecurityAttributes/Hr/ManagerMail" }] }]
        })]);
        let found = LifecycleWorkflows.references(&live);
        let named: Vec<(&str, &str)> =
            found.iter().map(|reference| (reference.attribute.as_str(), reference.reader.condition.as_str())).collect();
        assert_eq!(named, [("Hr_PayGrade", SCOPE), ("Hr_CostCenter", TRIGGER), ("Hr_ManagerMail", TASKS)]);
        assert!(found[0].names_value("g7") && !found[0].names_value("G8"));
        assert!(found[1].names_value("anything"));
        assert_eq!(found[0].reader.describe(), "lifecycle workflow `Mover: pay grade` (enabled)");
    }

    #[test]
    fn a_disabled_workflow_does_not_act() {
        let live = live_with(vec![json!({
            "id": "w2", "displayName": "Off", "isEnabled": false,
            "executionConditions": { "scope": { "rule": "customSecurityAttributes/Hr/PayGrade eq 'G7'" } }
        })]);
        let found = LifecycleWorkflows.references(&live);
        assert_eq!(found.len(), 1);
        assert!(!found[0].reader.state.acts());
    }
}
