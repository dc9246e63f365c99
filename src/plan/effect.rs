//! What one change does to a tenant, as Graph would do it, on plain data.
//!
//! The state-file tenant applies plans with this, the diff uses it to check
//! the tenant limits a plan would reach, and the property tests use it to
//! check that applying a plan converges. It refuses what Graph refuses
//! (creating what exists, changing what cannot change, assigning to a missing
//! or deprecated attribute, a predefined-only value that is not active), so a
//! wrong plan fails here the way it would fail against Microsoft Graph.

use crate::model::live::{LiveAttributeSet, LiveState};
use crate::model::{
    AllowedValue, AttributeValue, Definition, MAX_ACTIVE_DEFINITIONS, MAX_ALLOWED_VALUES, Status,
    definition_id,
};

use super::{Action, Address, Change, DefinitionSnapshot, Snapshot};

/// Why a change could not be carried out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{address}: {message}")]
pub struct EffectError {
    pub address: String,
    pub message: String,
}

fn refuse(change: &Change, message: impl Into<String>) -> EffectError {
    EffectError { address: change.address.to_string(), message: message.into() }
}

/// Carries out `change` on `live`. On error `live` is unchanged.
pub fn apply_change(live: &mut LiveState, change: &Change) -> Result<(), EffectError> {
    match (&change.address, change.action) {
        (Address::AttributeSet { set }, Action::Create) => {
            if live.attribute_set_ignoring_case(set).is_some() {
                return Err(refuse(change, "an attribute set with this id already exists"));
            }
            let Some(Snapshot::AttributeSet { description, max_attributes_per_set }) = &change.after else {
                return Err(refuse(change, "a set is created from an attribute-set snapshot"));
            };
            live.attribute_sets.insert(
                set.clone(),
                LiveAttributeSet {
                    id: set.clone(),
                    description: description.clone(),
                    max_attributes_per_set: *max_attributes_per_set,
                },
            );
            Ok(())
        }
        (Address::AttributeSet { set }, Action::Update) => {
            let Some(Snapshot::AttributeSet { description, max_attributes_per_set }) = &change.after else {
                return Err(refuse(change, "a set is updated from an attribute-set snapshot"));
            };
            let Some(existing) = live.attribute_sets.get_mut(set) else {
                return Err(refuse(change, "the attribute set does not exist"));
            };
            existing.description = description.clone();
            existing.max_attributes_per_set = *max_attributes_per_set;
            Ok(())
        }
        (Address::Definition { set, attribute }, Action::Create) => {
            let Some(Snapshot::Definition(snapshot)) = &change.after else {
                return Err(refuse(change, "a definition is created from a definition snapshot"));
            };
            if !live.attribute_sets.contains_key(set) {
                return Err(refuse(change, format!("attribute set `{set}` does not exist")));
            }
            let id = definition_id(set, attribute);
            if live.definition_ignoring_case(&id).is_some() {
                return Err(refuse(change, "a definition with this name already exists in the set"));
            }
            if snapshot.allowed_values.len() > MAX_ALLOWED_VALUES {
                return Err(refuse(change, format!("more than {MAX_ALLOWED_VALUES} allowed values")));
            }
            if snapshot.status == Status::Available && active_definitions(live) >= MAX_ACTIVE_DEFINITIONS {
                return Err(refuse(
                    change,
                    format!("the tenant has {MAX_ACTIVE_DEFINITIONS} active attributes"),
                ));
            }
            live.definitions.insert(id, definition_from_snapshot(set, attribute, snapshot));
            Ok(())
        }
        (Address::Definition { set, attribute }, Action::Update) => {
            let Some(Snapshot::Definition(after)) = &change.after else {
                return Err(refuse(change, "a definition is updated from a definition snapshot"));
            };
            let definition = definition_mut(live, change, set, attribute)?;
            if definition.data_type != after.data_type
                || definition.is_collection != after.is_collection
                || definition.is_searchable != after.is_searchable
            {
                return Err(refuse(change, "type, isCollection and isSearchable cannot change"));
            }
            if !definition.use_pre_defined_values_only && after.use_pre_defined_values_only {
                return Err(refuse(change, "usePreDefinedValuesOnly cannot change from false to true"));
            }
            definition.description = after.description.clone();
            definition.use_pre_defined_values_only = after.use_pre_defined_values_only;
            Ok(())
        }
        (Address::Definition { set, attribute }, Action::Deactivate | Action::Reactivate) => {
            let status =
                if change.action == Action::Deactivate { Status::Deprecated } else { Status::Available };
            let full = active_definitions(live) >= MAX_ACTIVE_DEFINITIONS;
            let definition = definition_mut(live, change, set, attribute)?;
            if status == Status::Available && definition.status == Status::Deprecated && full {
                return Err(refuse(
                    change,
                    format!("the tenant has {MAX_ACTIVE_DEFINITIONS} active attributes"),
                ));
            }
            definition.status = status;
            Ok(())
        }
        (Address::AllowedValue { set, attribute, value }, Action::Create) => {
            let is_active = match &change.after {
                Some(Snapshot::AllowedValue { is_active }) => *is_active,
                _ => return Err(refuse(change, "a value is created from an allowed-value snapshot")),
            };
            let definition = definition_mut(live, change, set, attribute)?;
            if definition.allowed_value(value).is_some() {
                return Err(refuse(change, "the allowed value already exists"));
            }
            if definition.allowed_values.len() >= MAX_ALLOWED_VALUES {
                return Err(refuse(
                    change,
                    format!("the definition already has {MAX_ALLOWED_VALUES} values"),
                ));
            }
            definition.allowed_values.push(AllowedValue { id: value.clone(), is_active });
            definition.allowed_values.sort_by(|a, b| a.id.cmp(&b.id));
            Ok(())
        }
        (Address::AllowedValue { set, attribute, value }, Action::Deactivate | Action::Reactivate) => {
            let definition = definition_mut(live, change, set, attribute)?;
            let Some(allowed) = definition.allowed_values.iter_mut().find(|allowed| allowed.id == *value)
            else {
                return Err(refuse(change, "the allowed value does not exist"));
            };
            allowed.is_active = change.action == Action::Reactivate;
            Ok(())
        }
        (Address::Assignment { set, attribute, .. }, Action::Assign | Action::Update) => {
            let Some(Snapshot::Assignment { principal, value }) = &change.after else {
                return Err(refuse(change, "a value is assigned from an assignment snapshot"));
            };
            let id = definition_id(set, attribute);
            let Some(definition) = live.definitions.get(&id) else {
                return Err(refuse(change, format!("attribute `{set}.{attribute}` does not exist")));
            };
            let Some(target) = live.principals.get_mut(principal) else {
                return Err(refuse(
                    change,
                    format!("principal with object id `{}` does not exist", principal.object_id),
                ));
            };
            check_assignable(definition, value, target.value(set, attribute))
                .map_err(|message| refuse(change, message))?;
            target
                .custom_security_attributes
                .get_or_insert_with(Default::default)
                .entry(set.clone())
                .or_default()
                .insert(attribute.clone(), value.clone());
            Ok(())
        }
        (Address::Assignment { set, attribute, .. }, Action::Unassign) => {
            let Some(Snapshot::Assignment { principal, .. }) = &change.before else {
                return Err(refuse(change, "a value is unassigned from an assignment snapshot"));
            };
            let Some(target) = live.principals.get_mut(principal) else {
                return Err(refuse(
                    change,
                    format!("principal with object id `{}` does not exist", principal.object_id),
                ));
            };
            if let Some(sets) = target.custom_security_attributes.as_mut()
                && let Some(values) = sets.get_mut(set)
            {
                values.remove(attribute);
                if values.is_empty() {
                    sets.remove(set);
                }
            }
            Ok(())
        }
        (address, action) => {
            Err(refuse(change, format!("`{action}` is not an action for {}", address.kind().as_str())))
        }
    }
}

/// How many definitions are Available (Graph's limit counts these only).
pub fn active_definitions(live: &LiveState) -> usize {
    live.definitions.values().filter(|definition| definition.status == Status::Available).count()
}

fn definition_mut<'a>(
    live: &'a mut LiveState,
    change: &Change,
    set: &str,
    attribute: &str,
) -> Result<&'a mut Definition, EffectError> {
    live.definitions
        .get_mut(&definition_id(set, attribute))
        .ok_or_else(|| refuse(change, format!("attribute `{set}.{attribute}` does not exist")))
}

/// The definition a create snapshot describes.
pub fn definition_from_snapshot(set: &str, attribute: &str, snapshot: &DefinitionSnapshot) -> Definition {
    let mut allowed_values: Vec<AllowedValue> = snapshot
        .allowed_values
        .iter()
        .map(|(id, is_active)| AllowedValue { id: id.clone(), is_active: *is_active })
        .collect();
    allowed_values.sort_by(|a, b| a.id.cmp(&b.id));
    Definition {
        attribute_set: set.to_owned(),
        name: attribute.to_owned(),
        description: snapshot.description.clone(),
        data_type: snapshot.data_type,
        is_collection: snapshot.is_collection,
        is_searchable: snapshot.is_searchable,
        use_pre_defined_values_only: snapshot.use_pre_defined_values_only,
        status: snapshot.status,
        allowed_values,
    }
}

/// Whether Graph would accept `value` for `definition` on a principal that
/// holds `held`: an inactive allowed value may be kept, never newly assigned
/// (on any attribute with allowed values, predefined-only or not).
fn check_assignable(
    definition: &Definition,
    value: &AttributeValue,
    held: Option<&AttributeValue>,
) -> Result<(), String> {
    if definition.status == Status::Deprecated {
        return Err("the attribute is deprecated and cannot be assigned".into());
    }
    if value.is_collection() != definition.is_collection {
        return Err(if definition.is_collection {
            "the attribute is a collection; a single value was given".into()
        } else {
            "the attribute holds a single value; a collection was given".into()
        });
    }
    if let Some(data_type) = value.data_type()
        && data_type != definition.data_type
    {
        return Err(format!("the attribute holds {} values, not {data_type}", definition.data_type));
    }
    let held = held.map(AttributeValue::members).unwrap_or_default();
    for member in value.members() {
        match definition.allowed_value(&member) {
            None if definition.use_pre_defined_values_only => {
                return Err(format!("`{member}` is not a predefined value"));
            }
            Some(allowed) if !allowed.is_active && !held.contains(&member) => {
                return Err(format!(
                    "`{member}` is an inactive predefined value and cannot be assigned anew"
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::live::{LivePrincipal, PrincipalId};
    use crate::model::{DataType, PrincipalKey, PrincipalKind};

    fn live() -> LiveState {
        let mut live = LiveState::default();
        live.attribute_sets.insert(
            "Eng".into(),
            LiveAttributeSet { id: "Eng".into(), description: None, max_attributes_per_set: None },
        );
        live.definitions.insert(
            "Eng_Project".into(),
            Definition {
                attribute_set: "Eng".into(),
                name: "Project".into(),
                description: None,
                data_type: DataType::String,
                is_collection: true,
                is_searchable: true,
                use_pre_defined_values_only: true,
                status: Status::Available,
                allowed_values: vec![AllowedValue { id: "Alpine".into(), is_active: true }],
            },
        );
        let principal = LivePrincipal {
            odata_type: None,
            kind: PrincipalKind::User,
            object_id: "u1".into(),
            user_principal_name: Some("a@x".into()),
            app_id: None,
            display_name: None,
            custom_security_attributes: None,
        };
        live.principals.insert(principal.id(), principal);
        live
    }

    fn assign(value: AttributeValue) -> Change {
        Change {
            seq: 1,
            action: Action::Assign,
            address: Address::Assignment {
                principal: PrincipalKey::User("a@x".into()),
                set: "Eng".into(),
                attribute: "Project".into(),
            },
            before: None,
            after: Some(Snapshot::Assignment {
                principal: PrincipalId { kind: PrincipalKind::User, object_id: "u1".into() },
                value,
            }),
        }
    }

    #[test]
    fn assignments_are_checked_like_graph_checks_them() {
        let mut state = live();
        apply_change(&mut state, &assign(AttributeValue::strings(vec!["Alpine".into()]))).unwrap();
        assert!(state.principals.values().next().unwrap().value("Eng", "Project").is_some());
        let error =
            apply_change(&mut state, &assign(AttributeValue::strings(vec!["Baker".into()]))).unwrap_err();
        assert!(error.message.contains("`Baker` is not a predefined value"), "{error}");
        let error = apply_change(&mut state, &assign(AttributeValue::String("Alpine".into()))).unwrap_err();
        assert!(error.message.contains("collection"), "{error}");
    }

    #[test]
    fn creating_an_existing_set_is_refused_whatever_its_case() {
        let mut state = live();
        let change = Change {
            seq: 1,
            action: Action::Create,
            address: Address::AttributeSet { set: "ENG".into() },
            before: None,
            after: Some(Snapshot::AttributeSet { description: None, max_attributes_per_set: None }),
        };
        assert!(apply_change(&mut state, &change).is_err());
        assert_eq!(state, live());
    }

    #[test]
    fn one_way_flag_cannot_be_turned_on() {
        let mut state = live();
        state.definitions.get_mut("Eng_Project").unwrap().use_pre_defined_values_only = false;
        let definition = state.definitions["Eng_Project"].clone();
        let mut after = super::super::definition_snapshot(&definition, false);
        after.use_pre_defined_values_only = true;
        let change = Change {
            seq: 1,
            action: Action::Update,
            address: Address::Definition { set: "Eng".into(), attribute: "Project".into() },
            before: None,
            after: Some(Snapshot::Definition(after)),
        };
        assert!(apply_change(&mut state, &change).unwrap_err().message.contains("false to true"));
    }
}
