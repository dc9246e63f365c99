//! Graph's JSON shapes for attribute sets, definitions, allowed values and
//! principals, and their conversion to and from the plain-data model. The
//! local state file, the emulator's store and the Graph client all speak these
//! shapes, so an export of a real tenant and a test fixture look the same.
//!
//! The annotations follow the documented examples: responses mark each set
//! object `#microsoft.graph.customSecurityAttributeValue` and collections
//! `#Collection(String)` / `#Collection(Int32)`, and leave single integers
//! bare; requests mark sets `#Microsoft.DirectoryServices.CustomSecurityAttributeValue`
//! and single integers `#Int32`, and remove a value with `null` (single) or
//! `[]` (collection).

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value, json};

use crate::model::live::{
    LiveAttributeSet, LiveGroup, LivePolicies, LivePrincipal, LiveState, NotUnderstood, PrincipalId,
};
use crate::model::{
    AllowedValue, AttributeValue, DataType, Definition, PrincipalAssignments, PrincipalKind, SetValues,
    Status,
};

/// `@odata.type` of each set object in Graph's responses.
pub const RESPONSE_SET_TYPE: &str = "#microsoft.graph.customSecurityAttributeValue";
/// `@odata.type` of each set object in the documented PATCH requests.
pub const REQUEST_SET_TYPE: &str = "#Microsoft.DirectoryServices.CustomSecurityAttributeValue";

/// A property Graph's metadata declares as an open string (a definition's
/// `status` and `type`): a value this version knows, or any other, kept as
/// written so it can be reported and left alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Open<T> {
    Known(T),
    Other(String),
}

impl<T: Copy> Open<T> {
    /// The known value, if it is one.
    pub fn known(&self) -> Option<T> {
        match self {
            Open::Known(value) => Some(*value),
            Open::Other(_) => None,
        }
    }
}

impl<T: PartialEq> PartialEq<T> for Open<T> {
    fn eq(&self, other: &T) -> bool {
        matches!(self, Open::Known(value) if value == other)
    }
}

impl<T> From<T> for Open<T> {
    fn from(value: T) -> Self {
        Open::Known(value)
    }
}

impl<T: Serialize> Serialize for Open<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Open::Known(value) => value.serialize(serializer),
            Open::Other(text) => serializer.serialize_str(text),
        }
    }
}

impl<'de, T: serde::de::DeserializeOwned> Deserialize<'de> for Open<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        match T::deserialize(serde::de::value::StrDeserializer::<serde::de::value::Error>::new(&text)) {
            Ok(value) => Ok(Open::Known(value)),
            Err(_) => Ok(Open::Other(text)),
        }
    }
}

impl<T: fmt::Display> fmt::Display for Open<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Open::Known(value) => value.fmt(f),
            Open::Other(text) => f.write_str(text),
        }
    }
}

/// An attribute set as Graph sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireAttributeSet {
    pub id: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub max_attributes_per_set: Option<i32>,
}

/// A definition as Graph sends it; `allowedValues` only with `$expand`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireDefinition {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub attribute_set: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(rename = "type")]
    pub data_type: Open<DataType>,
    pub is_collection: bool,
    #[serde(default)]
    pub is_searchable: Option<bool>,
    pub status: Open<Status>,
    #[serde(default)]
    pub use_pre_defined_values_only: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_values: Option<Vec<WireAllowedValue>>,
}

/// A predefined value as Graph sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireAllowedValue {
    pub id: String,
    pub is_active: bool,
}

/// A user or service principal as Graph sends it with
/// `$select=id,userPrincipalName|appId,displayName,customSecurityAttributes`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WirePrincipal {
    /// Present for a derived type (an agent identity or agent user).
    #[serde(rename = "@odata.type", default, skip_serializing_if = "Option::is_none")]
    pub odata_type: Option<String>,
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_principal_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Graph answers `null` when nothing is assigned (or nothing may be read).
    #[serde(default)]
    pub custom_security_attributes: Option<Map<String, Value>>,
}

/// The local state file, and the emulator's store: a tenant in Graph's shapes.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantDocument {
    #[serde(default)]
    pub attribute_sets: Vec<WireAttributeSet>,
    #[serde(default)]
    pub custom_security_attribute_definitions: Vec<WireDefinition>,
    #[serde(default)]
    pub users: Vec<WirePrincipal>,
    #[serde(default)]
    pub service_principals: Vec<WirePrincipal>,
    /// The policies that read attributes, kept as written (see
    /// `LivePolicies`): this and the two below are an optional part of the
    /// document, which older state files do not have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditional_access_policies: Option<Vec<PolicyObject>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_app_management_policy: Option<PolicyObject>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_management_policies: Option<Vec<PolicyObject>>,
    /// Groups and their direct members (`$expand=members`): an optional part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<LiveGroup>>,
    /// Azure role assignments as Azure Resource Graph's
    /// `authorizationresources` rows: an optional part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure_role_assignments: Option<Vec<PolicyObject>>,
    /// Lifecycle workflows as Graph's `workflow` with its tasks: an optional part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle_workflows: Option<Vec<PolicyObject>>,
}

/// A policy object as Graph returns it.
pub type PolicyObject = serde_json::Map<String, serde_json::Value>;

fn policies_of(
    conditional_access_policies: Option<Vec<PolicyObject>>,
    default_app_management_policy: Option<PolicyObject>,
    app_management_policies: Option<Vec<PolicyObject>>,
) -> LivePolicies {
    LivePolicies {
        conditional_access_policies,
        default_app_management_policy,
        app_management_policies,
        ..LivePolicies::default()
    }
}

/// A Graph body that does not have the shape the model needs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct WireError {
    /// Where in the document, e.g. `users[3].customSecurityAttributes.Engineering.Project`.
    pub path: String,
    pub message: String,
}

impl WireError {
    fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        WireError { path: path.into(), message: message.into() }
    }
}

impl From<&WireAttributeSet> for LiveAttributeSet {
    fn from(set: &WireAttributeSet) -> Self {
        LiveAttributeSet {
            id: set.id.clone(),
            description: set.description.clone(),
            max_attributes_per_set: set.max_attributes_per_set,
        }
    }
}

impl From<&LiveAttributeSet> for WireAttributeSet {
    fn from(set: &LiveAttributeSet) -> Self {
        WireAttributeSet {
            id: set.id.clone(),
            description: set.description.clone(),
            max_attributes_per_set: set.max_attributes_per_set,
        }
    }
}

impl WireDefinition {
    /// The model's definition. Graph documents `isSearchable` and
    /// `usePreDefinedValuesOnly` as nullable; a null reads as `false`. A
    /// `status` or `type` this version does not know is not understood.
    pub fn to_definition(&self) -> Result<Definition, NotUnderstood> {
        let (data_type, status) = match (&self.data_type, &self.status) {
            (Open::Known(data_type), Open::Known(status)) => (*data_type, *status),
            (data_type, status) => {
                let mut what = Vec::new();
                if let Open::Other(other) = data_type {
                    what.push(format!("type `{other}`"));
                }
                if let Open::Other(other) = status {
                    what.push(format!("status `{other}`"));
                }
                return Err(NotUnderstood {
                    set: self.attribute_set.clone(),
                    attribute: Some(self.name.clone()),
                    principal: None,
                    what: what.join(" and "),
                });
            }
        };
        let mut allowed_values: Vec<AllowedValue> = self
            .allowed_values
            .iter()
            .flatten()
            .map(|value| AllowedValue { id: value.id.clone(), is_active: value.is_active })
            .collect();
        allowed_values.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(Definition {
            attribute_set: self.attribute_set.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
            data_type,
            is_collection: self.is_collection,
            is_searchable: self.is_searchable.unwrap_or(false),
            use_pre_defined_values_only: self.use_pre_defined_values_only.unwrap_or(false),
            status,
            allowed_values,
        })
    }

    /// Graph's shape of a definition, with its id and allowed values.
    pub fn from_definition(definition: &Definition) -> Self {
        WireDefinition {
            id: Some(definition.id()),
            attribute_set: definition.attribute_set.clone(),
            name: definition.name.clone(),
            description: definition.description.clone(),
            data_type: definition.data_type.into(),
            is_collection: definition.is_collection,
            is_searchable: Some(definition.is_searchable),
            status: definition.status.into(),
            use_pre_defined_values_only: Some(definition.use_pre_defined_values_only),
            allowed_values: Some(
                definition
                    .allowed_values
                    .iter()
                    .map(|value| WireAllowedValue { id: value.id.clone(), is_active: value.is_active })
                    .collect(),
            ),
        }
    }
}

impl WirePrincipal {
    /// The model's principal, and what of its values was not understood;
    /// `path` names it in errors (and is only called for one).
    pub fn into_live(
        self,
        kind: PrincipalKind,
        path: impl Fn() -> String,
    ) -> Result<(LivePrincipal, Vec<NotUnderstood>), WireError> {
        let mut not_understood = Vec::new();
        let custom_security_attributes = match self.custom_security_attributes {
            None => None,
            Some(sets) => {
                let decoded = decode_custom_security_attributes(sets, || {
                    format!("{}.customSecurityAttributes", path())
                })?;
                let principal = PrincipalId { kind, object_id: self.id.clone() };
                not_understood = decoded
                    .not_understood
                    .into_iter()
                    .map(|(set, attribute, what)| NotUnderstood {
                        set,
                        attribute,
                        principal: Some(principal.clone()),
                        what,
                    })
                    .collect();
                Some(decoded.assignments)
            }
        };
        let principal = LivePrincipal {
            kind,
            object_id: self.id,
            user_principal_name: self.user_principal_name,
            app_id: self.app_id,
            display_name: self.display_name,
            odata_type: self.odata_type,
            custom_security_attributes,
        };
        Ok((principal, not_understood))
    }

    /// Graph's response shape of a principal.
    pub fn from_live(principal: &LivePrincipal) -> Self {
        WirePrincipal {
            odata_type: principal.odata_type.clone(),
            id: principal.object_id.clone(),
            user_principal_name: principal.user_principal_name.clone(),
            app_id: principal.app_id.clone(),
            display_name: principal.display_name.clone(),
            custom_security_attributes: principal
                .custom_security_attributes
                .as_ref()
                .filter(|sets| !sets.is_empty())
                .map(encode_custom_security_attributes),
        }
    }
}

impl TenantDocument {
    /// The live state this document describes; every principal is in it.
    pub fn to_live_state(&self) -> Result<LiveState, WireError> {
        self.clone().into_live_state()
    }

    /// As `to_live_state`, consuming the document: each principal's JSON is
    /// freed as soon as it is converted, so a large tenant is not held twice.
    pub fn into_live_state(self) -> Result<LiveState, WireError> {
        let mut live = schema_live_state(&self.attribute_sets, &self.custom_security_attribute_definitions)?;
        let mut principals = Vec::with_capacity(self.users.len() + self.service_principals.len());
        for (kind, list, name) in [
            (PrincipalKind::User, self.users, "users"),
            (PrincipalKind::ServicePrincipal, self.service_principals, "servicePrincipals"),
        ] {
            for (index, principal) in list.into_iter().enumerate() {
                let (principal, not_understood) = principal.into_live(kind, || format!("{name}[{index}]"))?;
                principals.push(principal);
                live.not_understood.extend(not_understood);
            }
        }
        live.principals = principals_by_id(principals);
        live.policies = policies_of(
            self.conditional_access_policies,
            self.default_app_management_policy,
            self.app_management_policies,
        );
        live.policies.azure_role_assignments = self.azure_role_assignments;
        live.policies.lifecycle_workflows = self.lifecycle_workflows;
        live.groups = self.groups;
        Ok(live)
    }

    /// The document of a live state, in a stable order.
    pub fn from_live_state(live: &LiveState) -> Self {
        let principals = |kind: PrincipalKind| -> Vec<WirePrincipal> {
            live.principals
                .values()
                .filter(|principal| principal.kind == kind)
                .map(WirePrincipal::from_live)
                .collect()
        };
        TenantDocument {
            attribute_sets: live.attribute_sets.values().map(WireAttributeSet::from).collect(),
            custom_security_attribute_definitions: live
                .definitions
                .values()
                .map(WireDefinition::from_definition)
                .collect(),
            users: principals(PrincipalKind::User),
            service_principals: principals(PrincipalKind::ServicePrincipal),
            conditional_access_policies: live.policies.conditional_access_policies.clone(),
            default_app_management_policy: live.policies.default_app_management_policy.clone(),
            app_management_policies: live.policies.app_management_policies.clone(),
            groups: live.groups.clone(),
            azure_role_assignments: live.policies.azure_role_assignments.clone(),
            lifecycle_workflows: live.policies.lifecycle_workflows.clone(),
        }
    }
}

/// The live state of a document's sets and definitions, with no principals.
fn schema_live_state(
    attribute_sets: &[WireAttributeSet],
    definitions: &[WireDefinition],
) -> Result<LiveState, WireError> {
    let mut live = LiveState { principals_complete: true, ..LiveState::default() };
    for set in attribute_sets {
        live.attribute_sets.insert(set.id.clone(), set.into());
    }
    for (index, definition) in definitions.iter().enumerate() {
        let id = crate::model::definition_id(&definition.attribute_set, &definition.name);
        if let Some(written) = &definition.id
            && *written != id
        {
            return Err(WireError::new(
                format!("customSecurityAttributeDefinitions[{index}].id"),
                format!("is `{written}`, but attributeSet and name make `{id}`"),
            ));
        }
        match definition.to_definition() {
            Ok(model) => {
                live.definitions.insert(id, model);
            }
            Err(not_understood) => live.not_understood.push(not_understood),
        }
    }
    Ok(live)
}

/// The principals keyed by id; of two with one id the later wins. Built from
/// one sorted run, the map's nodes are full.
fn principals_by_id(principals: Vec<LivePrincipal>) -> BTreeMap<PrincipalId, LivePrincipal> {
    principals.into_iter().map(|principal| (principal.id(), principal)).collect()
}

/// A `TenantDocument` converted to the live model while it is parsed: each
/// principal's JSON (a tree of `Value`s, several times the size of the
/// model) is converted as soon as it is read and then freed, so a large
/// state file never holds all of them at once. Converting never stops the
/// parse: a syntax or shape error anywhere comes first, as it would from
/// parsing the whole `TenantDocument` first.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LiveDocument {
    #[serde(default)]
    attribute_sets: Vec<WireAttributeSet>,
    #[serde(default)]
    custom_security_attribute_definitions: Vec<WireDefinition>,
    #[serde(default, deserialize_with = "read_users")]
    users: ReadPrincipals,
    #[serde(default, deserialize_with = "read_service_principals")]
    service_principals: ReadPrincipals,
    #[serde(default)]
    conditional_access_policies: Option<Vec<PolicyObject>>,
    #[serde(default)]
    default_app_management_policy: Option<PolicyObject>,
    #[serde(default)]
    app_management_policies: Option<Vec<PolicyObject>>,
    #[serde(default)]
    groups: Option<Vec<LiveGroup>>,
    #[serde(default)]
    azure_role_assignments: Option<Vec<PolicyObject>>,
    #[serde(default)]
    lifecycle_workflows: Option<Vec<PolicyObject>>,
}

impl LiveDocument {
    /// The live state, or the first problem `TenantDocument::into_live_state`
    /// would report for the same document.
    pub fn into_live_state(self) -> Result<LiveState, WireError> {
        let mut live = schema_live_state(&self.attribute_sets, &self.custom_security_attribute_definitions)?;
        let (users, service_principals) = (self.users.result?, self.service_principals.result?);
        let mut principals = users.0;
        principals.extend(service_principals.0);
        live.not_understood.extend(users.1);
        live.not_understood.extend(service_principals.1);
        live.principals = principals_by_id(principals);
        live.policies = policies_of(
            self.conditional_access_policies,
            self.default_app_management_policy,
            self.app_management_policies,
        );
        live.policies.azure_role_assignments = self.azure_role_assignments;
        live.policies.lifecycle_workflows = self.lifecycle_workflows;
        live.groups = self.groups;
        Ok(live)
    }
}

/// One list of principals of a `LiveDocument`, converted; after the first
/// principal that does not convert, the rest are only parsed.
struct ReadPrincipals {
    result: Result<(Vec<LivePrincipal>, Vec<NotUnderstood>), WireError>,
}

impl Default for ReadPrincipals {
    fn default() -> Self {
        ReadPrincipals { result: Ok((Vec::new(), Vec::new())) }
    }
}

fn read_users<'de, D: Deserializer<'de>>(deserializer: D) -> Result<ReadPrincipals, D::Error> {
    deserializer.deserialize_seq(PrincipalsVisitor { kind: PrincipalKind::User, list: "users" })
}

fn read_service_principals<'de, D: Deserializer<'de>>(deserializer: D) -> Result<ReadPrincipals, D::Error> {
    deserializer.deserialize_seq(PrincipalsVisitor {
        kind: PrincipalKind::ServicePrincipal,
        list: "servicePrincipals",
    })
}

struct PrincipalsVisitor {
    kind: PrincipalKind,
    /// The list's name in the document, for error paths.
    list: &'static str,
}

impl<'de> Visitor<'de> for PrincipalsVisitor {
    type Value = ReadPrincipals;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a sequence")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<ReadPrincipals, A::Error> {
        let mut converted = Vec::with_capacity(items.size_hint().unwrap_or(0));
        let mut not_understood = Vec::new();
        let mut failed = None;
        let mut index = 0usize;
        while let Some(principal) = items.next_element::<WirePrincipal>()? {
            if failed.is_none() {
                match principal.into_live(self.kind, || format!("{}[{index}]", self.list)) {
                    Ok((principal, mut unknown)) => {
                        converted.push(principal);
                        not_understood.append(&mut unknown);
                    }
                    Err(error) => failed = Some(error),
                }
            }
            index += 1;
        }
        Ok(ReadPrincipals { result: failed.map_or(Ok((converted, not_understood)), Err) })
    }
}

/// A principal's `customSecurityAttributes`, read: the values the model
/// holds, and what was not understood as (set, attribute or `None` for the
/// whole set, what).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DecodedAssignments {
    pub assignments: PrincipalAssignments,
    pub not_understood: Vec<(String, Option<String>, String)>,
}

/// The annotations a set object may carry on itself.
const SET_TYPES: &[&str] = &[
    "#microsoft.graph.customSecurityAttributeValue",
    "#Microsoft.DirectoryServices.CustomSecurityAttributeValue",
];
/// The annotations Graph writes on values: the types of integers and collections.
const VALUE_TYPES: &[&str] = &["#Int32", "#String", "#Boolean", "#Collection(String)", "#Collection(Int32)"];

/// Reads `customSecurityAttributes` (set → attribute → value) as Graph
/// answers it. The JSON type says what a value is (Graph leaves single
/// integers unannotated); a known annotation must agree with it. `null` and
/// `[]` mean no value, and so do `{}` and a set object holding only its
/// `@odata.type`. A value with an annotation this version does not know
/// (`#Int64`, a GUID collection), a value that disagrees with its annotation
/// or is not a 32-bit integer, or a set object of an unknown type, could be
/// misread, so it is not understood: left out of the model and reported,
/// never a guess.
/// The strings move from the JSON into the model; `path` names the object in
/// errors, and is only called for one (this runs for every principal).
pub fn decode_custom_security_attributes(
    sets: Map<String, Value>,
    path: impl Fn() -> String,
) -> Result<DecodedAssignments, WireError> {
    let mut decoded = PrincipalAssignments::with_capacity(sets.len());
    let mut not_understood = Vec::new();
    for (set, attributes) in sets {
        let attributes = match attributes {
            Value::Object(attributes) => attributes,
            Value::Null => continue,
            other => {
                return Err(WireError::new(
                    format!("{}.{set}", path()),
                    format!("expected an object, found {}", json_kind(&other)),
                ));
            }
        };
        if let Some(annotation) = attributes.get("@odata.type") {
            let set_path = || format!("{}.{set}.@odata.type", path());
            if let Some(unknown) = unknown_annotation(annotation, SET_TYPES, set_path)? {
                not_understood.push((set, None, format!("a set object of type `{unknown}`")));
                continue;
            }
        }
        let mut unknown_values = Vec::new();
        for (key, annotation) in &attributes {
            if let Some(attribute) = key.strip_suffix("@odata.type").filter(|attribute| !attribute.is_empty())
            {
                let value_path = || format!("{}.{set}.{key}", path());
                if let Some(unknown) = unknown_annotation(annotation, VALUE_TYPES, value_path)? {
                    unknown_values.push((attribute.to_owned(), format!("a value of type `{unknown}`")));
                }
            }
        }
        let mut values = SetValues::with_capacity(attributes.len());
        let annotations: Vec<(String, String)> = attributes
            .iter()
            .filter_map(|(key, annotation)| {
                let attribute = key.strip_suffix("@odata.type").filter(|attribute| !attribute.is_empty())?;
                Some((attribute.to_owned(), annotation.as_str()?.to_owned()))
            })
            .collect();
        for (attribute, value) in attributes {
            if attribute.contains('@') || unknown_values.iter().any(|(unknown, _)| *unknown == attribute) {
                continue;
            }
            let annotation = annotations
                .iter()
                .find(|(annotated, _)| *annotated == attribute)
                .map(|(_, annotation)| annotation.as_str());
            let value_path = || format!("{}.{set}.{attribute}", path());
            match decode_value(value, annotation, value_path)? {
                Decoded::Absent => {}
                Decoded::Value(value) => {
                    values.insert(attribute, value);
                }
                Decoded::Unknown(what) => unknown_values.push((attribute, what)),
            }
        }
        for (attribute, what) in unknown_values {
            not_understood.push((set.clone(), Some(attribute), what));
        }
        if !values.is_empty() {
            // Annotations took room they did not fill.
            values.shrink_to_fit();
            decoded.insert(set, values);
        }
    }
    decoded.shrink_to_fit();
    Ok(DecodedAssignments { assignments: decoded, not_understood })
}

/// The annotation if it is a string this version does not know; an error if
/// it is not a string at all.
fn unknown_annotation(
    annotation: &Value,
    known: &[&str],
    path: impl Fn() -> String,
) -> Result<Option<String>, WireError> {
    match annotation.as_str() {
        Some(text) if known.iter().any(|known| known.eq_ignore_ascii_case(text)) => Ok(None),
        Some(text) => Ok(Some(text.to_owned())),
        None => {
            Err(WireError::new(path(), format!("`@odata.type` is {}, not a string", json_kind(annotation))))
        }
    }
}

/// What one value in `customSecurityAttributes` reads as.
enum Decoded {
    /// `null` or `[]`: nothing assigned.
    Absent,
    Value(AttributeValue),
    /// A value this version does not understand, described: it is reported
    /// and left alone, never rewritten.
    Unknown(String),
}

/// One value, read against its `@odata.type` when it has one. A value that
/// disagrees with its annotation (`#Collection(Int32)` holding strings, a
/// string under `#Int32`) or a number that is not a 32-bit integer (`4.0`,
/// `5000000000`) is unknown: reading it as its JSON type would rewrite it
/// on the next write. A shape no attribute can hold (an object, a
/// collection of strings and numbers) is an error.
fn decode_value(
    value: Value,
    annotation: Option<&str>,
    path: impl Fn() -> String,
) -> Result<Decoded, WireError> {
    let decoded = match value {
        Value::Null => return Ok(Decoded::Absent),
        Value::Bool(value) => AttributeValue::Boolean(value),
        Value::String(value) => AttributeValue::String(value),
        Value::Number(number) => match int32(&number) {
            Some(value) => AttributeValue::Integer(value),
            None => return Ok(Decoded::Unknown(format!("the number `{number}`, not a 32-bit integer"))),
        },
        Value::Array(items) if items.is_empty() => return Ok(Decoded::Absent),
        Value::Array(items) if items.iter().all(Value::is_string) => AttributeValue::strings(
            items
                .into_iter()
                .filter_map(|item| match item {
                    Value::String(text) => Some(text),
                    _ => None,
                })
                .collect(),
        ),
        Value::Array(items) if items.iter().all(Value::is_number) => {
            let numbers: Vec<&serde_json::Number> = items.iter().filter_map(Value::as_number).collect();
            match numbers.iter().map(|number| int32(number)).collect::<Option<Vec<i32>>>() {
                Some(values) => AttributeValue::integers(values),
                None => {
                    let shown: Vec<String> = numbers.iter().map(ToString::to_string).collect();
                    return Ok(Decoded::Unknown(format!(
                        "the numbers `[{}]`, not all 32-bit integers",
                        shown.join(", ")
                    )));
                }
            }
        }
        Value::Array(_) => {
            return Err(WireError::new(path(), "a collection must hold only strings or only integers"));
        }
        Value::Object(_) => return Err(WireError::new(path(), "expected a value, found an object")),
    };
    if let Some(annotation) = annotation
        && !agrees_with_annotation(&decoded, annotation)
    {
        return Ok(Decoded::Unknown(format!("{} annotated `{annotation}`", decoded.described())));
    }
    Ok(Decoded::Value(decoded))
}

/// Whether `value` is of the type `annotation` (one of `VALUE_TYPES`) names.
fn agrees_with_annotation(value: &AttributeValue, annotation: &str) -> bool {
    let is = |known: &str| annotation.eq_ignore_ascii_case(known);
    match value {
        AttributeValue::Boolean(_) => is("#Boolean"),
        AttributeValue::Integer(_) => is("#Int32"),
        AttributeValue::String(_) => is("#String"),
        AttributeValue::Integers(_) => is("#Collection(Int32)"),
        AttributeValue::Strings(_) => is("#Collection(String)"),
    }
}

/// The number as a 32-bit integer, if it is one (`4.0` is not).
fn int32(number: &serde_json::Number) -> Option<i32> {
    number.as_i64().and_then(|wide| i32::try_from(wide).ok())
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `customSecurityAttributes` as Graph's responses show it.
pub fn encode_custom_security_attributes(sets: &PrincipalAssignments) -> Map<String, Value> {
    let mut encoded = Map::new();
    for (set, attributes) in sets {
        let mut object = Map::new();
        object.insert("@odata.type".into(), json!(RESPONSE_SET_TYPE));
        for (attribute, value) in attributes {
            if let Some(annotation) = collection_annotation(value) {
                object.insert(format!("{attribute}@odata.type"), json!(annotation));
            }
            object.insert(attribute.clone(), value_json(value));
        }
        encoded.insert(set.clone(), Value::Object(object));
    }
    encoded
}

/// One attribute's edit in an assignment PATCH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssignmentEdit {
    Set(AttributeValue),
    /// Remove a single value: `null`.
    RemoveSingle,
    /// Remove a collection: `[]`.
    RemoveCollection,
}

/// The body of `PATCH /users/{id}` or `/servicePrincipals/{id}` for the
/// edits of one principal (set → attribute → edit), in the documented
/// request annotations.
pub fn assignment_patch_body(edits: &BTreeMap<String, BTreeMap<String, AssignmentEdit>>) -> Value {
    let mut sets = Map::new();
    for (set, attributes) in edits {
        let mut object = Map::new();
        object.insert("@odata.type".into(), json!(REQUEST_SET_TYPE));
        for (attribute, edit) in attributes {
            match edit {
                AssignmentEdit::Set(value) => {
                    let annotation = match value {
                        AttributeValue::Integer(_) => Some("#Int32"),
                        other => collection_annotation(other),
                    };
                    if let Some(annotation) = annotation {
                        object.insert(format!("{attribute}@odata.type"), json!(annotation));
                    }
                    object.insert(attribute.clone(), value_json(value));
                }
                AssignmentEdit::RemoveSingle => {
                    object.insert(attribute.clone(), Value::Null);
                }
                AssignmentEdit::RemoveCollection => {
                    object.insert(attribute.clone(), json!([]));
                }
            }
        }
        sets.insert(set.clone(), Value::Object(object));
    }
    json!({ "customSecurityAttributes": sets })
}

fn collection_annotation(value: &AttributeValue) -> Option<&'static str> {
    match value {
        AttributeValue::Strings(_) => Some("#Collection(String)"),
        AttributeValue::Integers(_) => Some("#Collection(Int32)"),
        _ => None,
    }
}

fn value_json(value: &AttributeValue) -> Value {
    match value {
        AttributeValue::Boolean(value) => json!(value),
        AttributeValue::Integer(value) => json!(value),
        AttributeValue::String(value) => json!(value),
        AttributeValue::Integers(values) => json!(values),
        AttributeValue::Strings(values) => json!(values),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_unknown_annotation_is_not_understood_and_left_out() {
        let sets: Map<String, Value> = serde_json::from_str(
            r##"{"Eng": {"@odata.type": "#microsoft.graph.customSecurityAttributeValue",
                         "Ids@odata.type": "#Collection(Guid)", "Ids": ["0f8fad5b-d9cb-469f-a165-70867728950e"],
                         "Big@odata.type": "#Int64", "Big": 5000000000, "Name": "x"},
                 "New": {"@odata.type": "#microsoft.graph.somethingLater", "A": 1}}"##,
        )
        .unwrap();
        let decoded =
            decode_custom_security_attributes(sets, || "users[0].customSecurityAttributes".into()).unwrap();
        assert_eq!(decoded.assignments["Eng"].len(), 1, "only Name is understood");
        assert!(!decoded.assignments.contains_key("New"));
        assert_eq!(
            decoded.not_understood,
            vec![
                ("Eng".to_owned(), Some("Big".to_owned()), "a value of type `#Int64`".to_owned()),
                ("Eng".to_owned(), Some("Ids".to_owned()), "a value of type `#Collection(Guid)`".to_owned()),
                ("New".to_owned(), None, "a set object of type `#microsoft.graph.somethingLater`".to_owned()),
            ]
        );
        let known: Map<String, Value> = serde_json::from_str(
            r##"{"Eng": {"@odata.type": "#Microsoft.DirectoryServices.CustomSecurityAttributeValue",
                         "Cost@odata.type": "#Int32", "Cost": 7, "Tags@odata.type": "#Collection(String)", "Tags": ["a"]}}"##,
        )
        .unwrap();
        let decoded = decode_custom_security_attributes(known, || "p".into()).unwrap();
        assert_eq!(decoded.assignments["Eng"].len(), 2);
        assert!(decoded.not_understood.is_empty());
    }

    #[test]
    fn empty_objects_mean_nothing_assigned() {
        for text in
            [r#"{}"#, r##"{"Eng": {"@odata.type": "#microsoft.graph.customSecurityAttributeValue"}}"##]
        {
            let sets: Map<String, Value> = serde_json::from_str(text).unwrap();
            let decoded = decode_custom_security_attributes(sets, || "p".into()).unwrap();
            assert!(decoded.assignments.is_empty() && decoded.not_understood.is_empty(), "{text}");
        }
    }

    #[test]
    fn open_strings_keep_values_this_version_does_not_know() {
        let read = |text: &str| serde_json::from_str::<WireDefinition>(text).unwrap();
        let retired = read(
            r#"{"attributeSet": "Eng", "name": "P", "type": "DateTime", "isCollection": false, "status": "Retired"}"#,
        );
        assert_eq!(retired.status, Open::Other("Retired".into()));
        assert_eq!(retired.data_type, Open::Other("DateTime".into()));
        let not_understood = retired.to_definition().unwrap_err();
        assert_eq!(not_understood.what, "type `DateTime` and status `Retired`");
        assert_eq!(serde_json::to_value(&retired).unwrap()["status"], "Retired", "written back as read");
        let known = read(
            r#"{"attributeSet": "Eng", "name": "P", "type": "String", "isCollection": false, "status": "Deprecated"}"#,
        );
        assert_eq!(known.to_definition().unwrap().status, Status::Deprecated);
    }

    use super::*;

    /// `LiveDocument` converts while parsing; it must read a document exactly
    /// as `TenantDocument::into_live_state` does, first problem included.
    #[test]
    fn a_live_document_reads_as_a_tenant_document_converts() {
        let read = |text: &str| {
            let whole = serde_json::from_str::<TenantDocument>(text).unwrap().into_live_state();
            let streamed = serde_json::from_str::<LiveDocument>(text).unwrap().into_live_state();
            assert_eq!(streamed, whole, "{text}");
            streamed
        };
        let valid = r##"{
            "attributeSets": [{"id": "Eng"}],
            "customSecurityAttributeDefinitions": [
                {"id": "Eng_P", "attributeSet": "Eng", "name": "P", "type": "String", "isCollection": true, "status": "Available"}],
            "servicePrincipals": [{"id": "s1", "appId": "a1", "customSecurityAttributes": null}],
            "users": [
                {"id": "u1", "userPrincipalName": "a@x", "customSecurityAttributes": {"Eng": {
                    "@odata.type": "#microsoft.graph.customSecurityAttributeValue",
                    "P@odata.type": "#Collection(String)", "P": ["b", "a"]}}},
                {"id": "u1", "userPrincipalName": "later@x"}]
        }"##;
        let live = read(valid).unwrap();
        assert_eq!(live.principals.len(), 2);
        assert_eq!(
            live.principals.values().map(|p| p.user_principal_name.as_deref()).collect::<Vec<_>>(),
            vec![Some("later@x"), None],
            "of two principals with one id the later wins"
        );
        let bad_value = r#"{"P": {}}"#;
        let bad_users = format!(
            r#"[{{"id": "u1"}}, {{"id": "u2", "customSecurityAttributes": {{"Eng": {bad_value}}}}}]"#
        );
        let bad_service_principals =
            format!(r#"[{{"id": "s1", "customSecurityAttributes": {{"Eng": {bad_value}}}}}]"#);
        let bad_definition = r#"[{"id": "Eng_Q", "attributeSet": "Eng", "name": "P", "type": "String", "isCollection": false, "status": "Available"}]"#;
        let error =
            read(&format!(r#"{{"servicePrincipals": {bad_service_principals}, "users": {bad_users}}}"#))
                .unwrap_err();
        assert_eq!(error.path, "users[1].customSecurityAttributes.Eng.P", "users are converted first");
        let error = read(&format!(
            r#"{{"users": {bad_users}, "customSecurityAttributeDefinitions": {bad_definition}}}"#
        ))
        .unwrap_err();
        assert_eq!(error.path, "customSecurityAttributeDefinitions[0].id", "definitions come first");
    }

    #[test]
    fn documented_response_decodes_without_int_annotations() {
        // graph-examples/get-user-customsecurityattributes.http
        let body: Map<String, Value> = serde_json::from_str(
            r##"{
                "Marketing": { "@odata.type": "#microsoft.graph.customSecurityAttributeValue", "EmployeeId": "QN26904" },
                "Engineering": {
                    "@odata.type": "#microsoft.graph.customSecurityAttributeValue",
                    "Project@odata.type": "#Collection(String)", "Project": ["Baker", "Cascade"],
                    "CostCenter@odata.type": "#Collection(Int32)", "CostCenter": [1001],
                    "Certification": true, "NumVendors": 8
                }
            }"##,
        )
        .unwrap();
        let decoded = decode_custom_security_attributes(body, || "csa".into()).unwrap().assignments;
        let engineering = &decoded["Engineering"];
        assert_eq!(engineering["Project"], AttributeValue::strings(vec!["Baker".into(), "Cascade".into()]));
        assert_eq!(engineering["CostCenter"], AttributeValue::Integers(vec![1001]));
        assert_eq!(engineering["Certification"], AttributeValue::Boolean(true));
        assert_eq!(engineering["NumVendors"], AttributeValue::Integer(8));
        assert_eq!(decoded["Marketing"]["EmployeeId"], AttributeValue::String("QN26904".into()));
    }

    #[test]
    fn wrong_shapes_name_their_path() {
        let body: Map<String, Value> =
            serde_json::from_str(r#"{ "Engineering": { "Project": [1, "a"] } }"#).unwrap();
        let error = decode_custom_security_attributes(body, || "users[0].customSecurityAttributes".into())
            .unwrap_err();
        assert_eq!(error.path, "users[0].customSecurityAttributes.Engineering.Project");
    }

    #[test]
    fn a_value_unlike_its_annotation_or_not_an_int32_is_not_understood_and_left_out() {
        let body: Map<String, Value> = serde_json::from_str(
            r##"{ "Eng": {
                "Ids@odata.type": "#Collection(Int32)", "Ids": ["1", "2"],
                "Cost@odata.type": "#Int32", "Cost": "8",
                "Tags@odata.type": "#Collection(String)", "Tags": "solo",
                "Flag@odata.type": "#Boolean", "Flag": "true",
                "Ratio": 4.0, "Big": 4294967296, "Many": [1, 2.5],
                "Fine@odata.type": "#Collection(Int32)", "Fine": [3, 1],
                "Gone@odata.type": "#Collection(String)", "Gone": [],
                "Name": "x" } }"##,
        )
        .unwrap();
        let decoded = decode_custom_security_attributes(body, || "x".into()).unwrap();
        let kept: Vec<&String> = decoded.assignments["Eng"].keys().collect();
        assert_eq!(kept, vec!["Fine", "Name"]);
        assert_eq!(decoded.assignments["Eng"]["Fine"], AttributeValue::Integers(vec![1, 3]));
        let mut unknown: Vec<(String, String)> = decoded
            .not_understood
            .into_iter()
            .map(|(set, attribute, what)| (format!("{set}.{}", attribute.unwrap()), what))
            .collect();
        unknown.sort();
        let expected = [
            ("Eng.Big", "the number `4294967296`, not a 32-bit integer"),
            ("Eng.Cost", "the string `\"8\"` annotated `#Int32`"),
            ("Eng.Flag", "the string `\"true\"` annotated `#Boolean`"),
            ("Eng.Ids", "the strings `[\"1\", \"2\"]` annotated `#Collection(Int32)`"),
            ("Eng.Many", "the numbers `[1, 2.5]`, not all 32-bit integers"),
            ("Eng.Ratio", "the number `4.0`, not a 32-bit integer"),
            ("Eng.Tags", "the string `\"solo\"` annotated `#Collection(String)`"),
        ];
        let expected: Vec<(String, String)> =
            expected.iter().map(|(address, what)| (address.to_string(), what.to_string())).collect();
        assert_eq!(unknown, expected);
    }

    #[test]
    fn patch_bodies_use_the_documented_request_annotations() {
        let mut engineering = BTreeMap::new();
        engineering.insert("NumVendors".to_owned(), AssignmentEdit::Set(AttributeValue::Integer(4)));
        engineering
            .insert("CostCenter".to_owned(), AssignmentEdit::Set(AttributeValue::Integers(vec![1001, 1003])));
        engineering.insert("ProjectDate".to_owned(), AssignmentEdit::RemoveSingle);
        engineering.insert("Project".to_owned(), AssignmentEdit::RemoveCollection);
        let body = assignment_patch_body(&BTreeMap::from([("Engineering".to_owned(), engineering)]));
        assert_eq!(
            body,
            json!({ "customSecurityAttributes": { "Engineering": {
                "@odata.type": "#Microsoft.DirectoryServices.CustomSecurityAttributeValue",
                "NumVendors@odata.type": "#Int32", "NumVendors": 4,
                "CostCenter@odata.type": "#Collection(Int32)", "CostCenter": [1001, 1003],
                "ProjectDate": null,
                "Project": []
            }}})
        );
    }
}
