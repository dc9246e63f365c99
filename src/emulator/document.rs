//! Graph's JSON as the emulator reads and writes it: the state document it
//! is seeded from and persists to (ARCHITECTURE.md, "The state file is the emulator's store": attribute sets, definitions,
//! users and service principals in Graph's response shapes), and the
//! `customSecurityAttributes` of a principal. Written from
//! Microsoft's resource pages (R-AS, R-DEF, R-AV, C-EX in ARCHITECTURE.md) and the
//! verbatim examples of `tests/fixtures/graph-examples/`, deliberately apart from
//! the client's `graph::wire`: with one codec on both sides a wrong shape
//! would be invisible, since client and emulator would agree on it; with
//! two, the documented examples are the only bridge between them.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value, json};

use crate::model::{AttributeValue, DataType, PrincipalAssignments, SetValues, Status};

/// `@odata.type` of a set object in Graph's responses (C-EX).
pub const RESPONSE_SET_TYPE: &str = "#microsoft.graph.customSecurityAttributeValue";
/// `@odata.type` of a set object in the documented PATCH requests (C-EX).
pub const REQUEST_SET_TYPE: &str = "#Microsoft.DirectoryServices.CustomSecurityAttributeValue";

/// The state document (ARCHITECTURE.md, "The state file is the emulator's store").
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StateDocument {
    #[serde(default)]
    pub attribute_sets: Vec<AttributeSetShape>,
    #[serde(default)]
    pub custom_security_attribute_definitions: Vec<DefinitionShape>,
    #[serde(default)]
    pub users: Vec<PrincipalShape>,
    #[serde(default)]
    pub service_principals: Vec<PrincipalShape>,
    /// `GET /identity/conditionalAccess/policies`, served read-only. This
    /// and the two below are optional parts (see `PolicyDocument`): older
    /// state documents have none, and are written back without them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditional_access_policies: Option<Vec<PolicyDocument>>,
    /// `GET /policies/defaultAppManagementPolicy`, served read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_app_management_policy: Option<PolicyDocument>,
    /// `GET /policies/appManagementPolicies`, served read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_management_policies: Option<Vec<PolicyDocument>>,
    /// Groups and their direct members, served read-only by `GET /groups`,
    /// `/groups/{id}/members` and `/groups/{id}/transitiveMembers`. An
    /// optional part: older documents have none and are written back so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<GroupShape>>,
    /// Azure role assignments (and, for their names, role definitions, of
    /// `type` `microsoft.authorization/roledefinitions` with
    /// `properties.roleName`) as the rows of Azure Resource Graph's
    /// `authorizationresources` table:
    /// `id`, `name`, `type` (`microsoft.authorization/roleassignments`),
    /// `properties` (`roleDefinitionId`, `principalId`, `principalType`,
    /// `scope`, `condition`, `conditionVersion`). Served read-only by the
    /// Resource Graph query and the Resource Manager role assignment list
    /// (`emulator::arm`). An optional part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure_role_assignments: Option<Vec<PolicyDocument>>,
    /// Lifecycle workflows as Graph's `workflow` (with `executionConditions`
    /// and `tasks`), served read-only by `GET /identityGovernance/lifecycleWorkflows/workflows`
    /// and `/workflows/{id}`. An optional part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle_workflows: Option<Vec<PolicyDocument>>,
}

/// A group (Graph's `group` resource: `id`, `displayName`) with its direct
/// members as `$expand=members` shows them: each a directory object's
/// `@odata.type` and `id`. A member may be a user, a service principal (an
/// agent identity too) or another group; one the document does not hold is
/// left out of the answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GroupShape {
    pub id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub members: Vec<MemberShape>,
}

/// A direct member of a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberShape {
    /// `#microsoft.graph.user`, `#microsoft.graph.servicePrincipal` or
    /// `#microsoft.graph.group` (a derived type such as
    /// `#microsoft.graph.agentIdentity` is found by its id all the same).
    #[serde(rename = "@odata.type")]
    pub odata_type: String,
    pub id: String,
}

/// A policy that reads custom security attributes, kept as Graph's own JSON
/// object (`conditions.applications.applicationFilter` of
/// a `conditionalAccessPolicy`; `excludeActors.customSecurityAttributes` in
/// the restrictions of an `appManagementPolicy` or of the
/// `tenantAppManagementPolicy`). The emulator interprets none of it and
/// serves it as written, so no property it does not know is lost.
pub type PolicyDocument = Map<String, Value>;

impl StateDocument {
    /// The document any other type of the same JSON shape describes (a
    /// test's or the CLI's state file), through its JSON.
    pub fn from_shape(document: &impl Serialize) -> Result<StateDocument, serde_json::Error> {
        serde_json::from_value(serde_json::to_value(document)?)
    }

    /// This document as another type of the same JSON shape.
    pub fn to_shape<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_value(serde_json::to_value(self)?)
    }
}

/// An attribute set (R-AS).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttributeSetShape {
    pub id: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub max_attributes_per_set: Option<i32>,
}

/// A definition (R-DEF); `allowedValues` as `$expand` shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DefinitionShape {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub attribute_set: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(rename = "type")]
    pub data_type: OpenString<DataType>,
    pub is_collection: bool,
    #[serde(default)]
    pub is_searchable: Option<bool>,
    pub status: OpenString<Status>,
    #[serde(default)]
    pub use_pre_defined_values_only: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_values: Option<Vec<AllowedValueShape>>,
}

/// A predefined value (R-AV).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AllowedValueShape {
    pub id: String,
    pub is_active: bool,
}

/// A user or service principal with the properties the emulator keeps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrincipalShape {
    /// A derived type (an agent identity among service principals).
    #[serde(rename = "@odata.type", default, skip_serializing_if = "Option::is_none")]
    pub odata_type: Option<String>,
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_principal_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default)]
    pub custom_security_attributes: Option<Map<String, Value>>,
}

/// A property the metadata declares as an open string (`status`, `type`):
/// a value the emulator knows, or any other, held as written (ARCHITECTURE.md, "Unknown is left alone").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenString<T> {
    Known(T),
    Other(String),
}

impl<T: Copy> OpenString<T> {
    pub fn known(&self) -> Option<T> {
        match self {
            OpenString::Known(value) => Some(*value),
            OpenString::Other(_) => None,
        }
    }
}

impl<T: PartialEq> PartialEq<T> for OpenString<T> {
    fn eq(&self, other: &T) -> bool {
        matches!(self, OpenString::Known(value) if value == other)
    }
}

impl<T> From<T> for OpenString<T> {
    fn from(value: T) -> Self {
        OpenString::Known(value)
    }
}

impl<T: Serialize> Serialize for OpenString<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            OpenString::Known(value) => value.serialize(serializer),
            OpenString::Other(text) => serializer.serialize_str(text),
        }
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for OpenString<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let known = T::deserialize(serde::de::value::StrDeserializer::<serde::de::value::Error>::new(&text));
        Ok(known.map_or(OpenString::Other(text), OpenString::Known))
    }
}

impl<T: fmt::Display> fmt::Display for OpenString<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenString::Known(value) => value.fmt(f),
            OpenString::Other(text) => f.write_str(text),
        }
    }
}

/// A seeded `customSecurityAttributes` the emulator cannot hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct DocumentError {
    pub path: String,
    pub message: String,
}

/// The annotations the emulator knows on values (C-EX).
const VALUE_TYPES: &[&str] = &["#Int32", "#String", "#Boolean", "#Collection(String)", "#Collection(Int32)"];

/// A seeded principal's values: what the emulator holds as values, and the
/// members it keeps only as written (an annotation or set type it does not
/// know, set → members), which it answers back unchanged.
pub fn read_seeded_values(
    sets: &Map<String, Value>,
    path: &str,
) -> Result<(PrincipalAssignments, Map<String, Value>), DocumentError> {
    let error = |at: String, message: &str| DocumentError { path: at, message: message.to_owned() };
    let mut values = PrincipalAssignments::new();
    let mut as_written = Map::new();
    for (set, members) in sets {
        let members = match members {
            Value::Null => continue,
            Value::Object(members) => members,
            _ => return Err(error(format!("{path}.{set}"), "expected an object")),
        };
        let set_type = members.get("@odata.type").and_then(Value::as_str);
        if set_type.is_some_and(|kind| {
            !kind.eq_ignore_ascii_case(RESPONSE_SET_TYPE) && !kind.eq_ignore_ascii_case(REQUEST_SET_TYPE)
        }) {
            as_written.insert(set.clone(), Value::Object(members.clone()));
            continue;
        }
        let mut held = SetValues::new();
        for (attribute, value) in members.iter().filter(|(key, _)| !key.contains('@')) {
            let annotation = members.get(&format!("{attribute}@odata.type")).and_then(Value::as_str);
            if annotation.is_some_and(|annotation| {
                !VALUE_TYPES.iter().any(|known| known.eq_ignore_ascii_case(annotation))
            }) {
                let kept = as_written
                    .entry(set.clone())
                    .or_insert_with(|| json!({ "@odata.type": RESPONSE_SET_TYPE }));
                if let Value::Object(kept) = kept {
                    kept.insert(attribute.clone(), value.clone());
                    kept.insert(format!("{attribute}@odata.type"), json!(annotation));
                }
                continue;
            }
            let at = || format!("{path}.{set}.{attribute}");
            let int32 = |number: &Value| number.as_i64().and_then(|wide| i32::try_from(wide).ok());
            let value = match value {
                Value::Null => continue,
                Value::Bool(flag) => AttributeValue::Boolean(*flag),
                Value::String(text) => AttributeValue::String(text.clone()),
                Value::Number(_) => {
                    AttributeValue::Integer(int32(value).ok_or_else(|| error(at(), "not a 32-bit integer"))?)
                }
                Value::Array(items) if items.is_empty() => continue,
                Value::Array(items) if items.iter().all(Value::is_string) => AttributeValue::strings(
                    items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
                ),
                Value::Array(items) => AttributeValue::integers(
                    items
                        .iter()
                        .map(|item| {
                            int32(item).ok_or_else(|| {
                                error(at(), "a collection holds only strings or only 32-bit integers")
                            })
                        })
                        .collect::<Result<_, _>>()?,
                ),
                Value::Object(_) => return Err(error(at(), "expected a value, found an object")),
            };
            held.insert(attribute.clone(), value);
        }
        if !held.is_empty() {
            values.insert(set.clone(), held);
        }
    }
    Ok((values, as_written))
}

/// A principal's values as Graph answers them (C-EX, the documented GET
/// examples): each set object typed `#microsoft.graph.customSecurityAttributeValue`,
/// collections annotated `#Collection(String)` / `#Collection(Int32)`,
/// single values bare.
pub fn answer_values(values: &PrincipalAssignments) -> Map<String, Value> {
    let mut sets = Map::new();
    for (set, attributes) in values {
        let mut object = Map::new();
        object.insert("@odata.type".into(), json!(RESPONSE_SET_TYPE));
        for (attribute, value) in attributes {
            let member = match value {
                AttributeValue::Boolean(flag) => json!(flag),
                AttributeValue::Integer(number) => json!(number),
                AttributeValue::String(text) => json!(text),
                AttributeValue::Strings(texts) => {
                    object.insert(format!("{attribute}@odata.type"), json!("#Collection(String)"));
                    json!(texts)
                }
                AttributeValue::Integers(numbers) => {
                    object.insert(format!("{attribute}@odata.type"), json!("#Collection(Int32)"));
                    json!(numbers)
                }
            };
            object.insert(attribute.clone(), member);
        }
        sets.insert(set.clone(), Value::Object(object));
    }
    sets
}

#[cfg(test)]
mod tests {
    use super::*;

    /// graph-examples/get-user-customsecurityattributes.http, read and answered back.
    #[test]
    fn the_documented_answer_reads_and_is_answered_back() {
        let documented: Map<String, Value> = serde_json::from_str(
            r##"{
                "Engineering": {
                    "@odata.type": "#microsoft.graph.customSecurityAttributeValue",
                    "Project@odata.type": "#Collection(String)", "Project": ["Baker", "Cascade"],
                    "CostCenter@odata.type": "#Collection(Int32)", "CostCenter": [1001],
                    "Certification": true, "NumVendors": 8
                },
                "Later": { "@odata.type": "#microsoft.graph.customSecurityAttributeValue", "Big@odata.type": "#Int64", "Big": 5000000000 }
            }"##,
        )
        .unwrap();
        let (values, as_written) = read_seeded_values(&documented, "users[0]").unwrap();
        assert_eq!(values["Engineering"]["NumVendors"], AttributeValue::Integer(8));
        assert_eq!(Value::Object(answer_values(&values))["Engineering"], documented["Engineering"]);
        assert_eq!(as_written["Later"], documented["Later"], "kept as written");
    }
}
