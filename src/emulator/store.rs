//! The emulator's in-memory tenant and the rules Graph enforces on it:
//! creation and update of attribute sets, definitions and predefined values,
//! and assignment writes on users and service principals. Every method checks
//! everything before it changes anything, so a refused request leaves the
//! store as it was. Where Microsoft documents a rule but not its error, the
//! refusal is a 400 `Request_BadRequest` of the emulator's own choosing.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use super::document::{
    AllowedValueShape, AttributeSetShape, DefinitionShape, DocumentError, GroupShape, MemberShape,
    PolicyDocument, PrincipalShape, REQUEST_SET_TYPE, RESPONSE_SET_TYPE, StateDocument, answer_values,
    read_seeded_values,
};
use super::error::GraphError;
use super::odata::KeyRange;
use crate::model::{
    AttributeValue, DataType, MAX_ACTIVE_DEFINITIONS, MAX_ALLOWED_VALUES, MAX_ASSIGNED_VALUES,
    MAX_ATTRIBUTE_SETS, MAX_DESCRIPTION_LEN, MAX_NAME_LEN, MAX_VALUE_LEN, PrincipalAssignments,
    PrincipalKind, Status, definition_id,
};

/// Characters E-OV forbids in attribute set and attribute names.
const FORBIDDEN_NAME_CHARACTERS: &str = " `~!@#$%^&*()_-+={[}]|\\:;\"'<,>.?/";

/// A definition as stored: Graph's shape (allowed values always present)
/// and, for one created through the API, when, for the replication lag.
#[derive(Debug, Clone)]
pub struct StoredDefinition {
    pub shape: DefinitionShape,
    pub created_at: Option<Instant>,
}

impl StoredDefinition {
    pub fn id(&self) -> String {
        definition_id(&self.shape.attribute_set, &self.shape.name)
    }

    pub fn allowed_values(&self) -> &[AllowedValueShape] {
        self.shape.allowed_values.as_deref().unwrap_or(&[])
    }

    fn allowed_values_mut(&mut self) -> &mut Vec<AllowedValueShape> {
        self.shape.allowed_values.get_or_insert_with(Vec::new)
    }

    fn is_active(&self) -> bool {
        self.shape.status == Status::Available
    }

    /// The type, when it is one the emulator knows. Emulator's choice: a
    /// definition seeded with another type (to show the client a type Graph
    /// may add later) takes no new values and no assignments.
    fn data_type(&self) -> Result<DataType, GraphError> {
        self.shape.data_type.known().ok_or_else(|| {
            GraphError::bad_request(format!(
                "Attribute '{}' has type '{}', which this emulator cannot check values against.",
                self.id(),
                self.shape.data_type
            ))
        })
    }

    /// The definition as Graph answers it, with or without `allowedValues`.
    pub fn to_json(&self, expand_allowed_values: bool) -> Map<String, Value> {
        let mut shape = self.shape.clone();
        shape.id = Some(self.id());
        if !expand_allowed_values {
            shape.allowed_values = None;
        }
        to_object(&shape)
    }
}

/// A user or service principal as stored; no assignments reads as `null`.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredPrincipal {
    /// `@odata.type` of a derived type the collection also holds: an agent
    /// identity or blueprint principal among service principals, an agent
    /// user among users. Graph answers it on each such object.
    pub odata_type: Option<String>,
    pub id: String,
    pub user_principal_name: Option<String>,
    pub app_id: Option<String>,
    pub display_name: Option<String>,
    pub assignments: PrincipalAssignments,
    /// Seeded values the emulator holds only as written (set → its members):
    /// an annotation or set type it does not know, to show the client what
    /// a later Graph may answer. A write to one of them replaces it.
    pub opaque: Map<String, Value>,
}

impl StoredPrincipal {
    /// Every property the emulator knows, `customSecurityAttributes` included.
    pub fn to_json(&self) -> Map<String, Value> {
        let mut object = Map::new();
        if let Some(odata_type) = &self.odata_type {
            object.insert("@odata.type".into(), Value::String(odata_type.clone()));
        }
        object.insert("id".into(), Value::String(self.id.clone()));
        if let Some(upn) = &self.user_principal_name {
            object.insert("userPrincipalName".into(), Value::String(upn.clone()));
        }
        if let Some(app_id) = &self.app_id {
            object.insert("appId".into(), Value::String(app_id.clone()));
        }
        object.insert("displayName".into(), self.display_name.clone().map_or(Value::Null, Value::String));
        object.insert("customSecurityAttributes".into(), self.custom_security_attributes());
        object
    }

    /// `customSecurityAttributes` as Graph answers it: `null` when none.
    pub fn custom_security_attributes(&self) -> Value {
        if self.assignments.is_empty() && self.opaque.is_empty() {
            return Value::Null;
        }
        let mut sets = answer_values(&self.assignments);
        for (set, members) in &self.opaque {
            let Value::Object(members) = members else { continue };
            match sets.get_mut(set) {
                Some(Value::Object(object)) => object.extend(
                    members
                        .iter()
                        .filter(|(key, _)| *key != "@odata.type")
                        .map(|(k, v)| (k.clone(), v.clone())),
                ),
                _ => {
                    sets.insert(set.clone(), Value::Object(members.clone()));
                }
            }
        }
        Value::Object(sets)
    }

    /// Forgets a seeded value held only as written, once it is written over.
    fn overwrite_opaque(&mut self, set: &str, attribute: &str) {
        let Some(Value::Object(members)) = self.opaque.get_mut(set) else { return };
        members.remove(attribute);
        members.remove(&format!("{attribute}@odata.type"));
        if members.keys().all(|key| key.starts_with('@')) {
            self.opaque.remove(set);
        }
    }
}

/// How a request names a principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalRef<'a> {
    /// An object id, or for users also a userPrincipalName.
    IdOrUserPrincipalName(&'a str),
    /// `servicePrincipals(appId='…')`.
    AppId(&'a str),
}

/// The tenant the emulator serves.
#[derive(Debug, Clone, Default)]
pub struct Store {
    pub attribute_sets: Vec<AttributeSetShape>,
    pub definitions: Vec<StoredDefinition>,
    users: Vec<StoredPrincipal>,
    service_principals: Vec<StoredPrincipal>,
    /// Lookups by lower-cased key. Principals are only seeded, never added
    /// or removed, so positions stay valid; a benchmark tenant holds 100,000.
    users_by_id_or_upn: HashMap<String, usize>,
    service_principals_by_id: HashMap<String, usize>,
    service_principals_by_app_id: HashMap<String, usize>,
    /// The policies that read attributes, as seeded: never written.
    pub conditional_access_policies: Option<Vec<PolicyDocument>>,
    pub default_app_management_policy: Option<PolicyDocument>,
    pub app_management_policies: Option<Vec<PolicyDocument>>,
    /// Azure Resource Graph's `authorizationresources` rows, as seeded: never written.
    pub azure_role_assignments: Option<Vec<PolicyDocument>>,
    /// The lifecycle workflows, as seeded: never written.
    pub lifecycle_workflows: Option<Vec<PolicyDocument>>,
    /// Positions of the users with a userPrincipalName, ordered by it
    /// lower-cased (and of the service principals with an appId, by that):
    /// a range or prefix filter is a binary search, not a scan, so a
    /// partitioned sweep of a million users costs a page of work per request.
    /// Each holds the key lower-cased, so a search allocates nothing.
    users_by_upn_order: Vec<(Box<str>, u32)>,
    service_principals_by_app_id_order: Vec<(Box<str>, u32)>,
    /// Groups as seeded: never written.
    pub groups: Option<Vec<GroupShape>>,
    /// When Conditional Access policies were last read (v1.0 or beta): Graph
    /// answers one such read a second per tenant.
    pub last_conditional_access_read: Option<std::time::Instant>,
    /// The custom security attribute audit log, oldest first
    /// (`emulator::audit`): never seeded, never persisted, cleared on reset.
    pub audit: Vec<serde_json::Value>,
}

/// The principals holding a key, as the key lower-cased and their
/// position, ordered by the key.
fn key_order(principals: &[StoredPrincipal], key: KeyOf) -> Vec<(Box<str>, u32)> {
    let mut keyed: Vec<(Box<str>, u32)> = principals
        .iter()
        .enumerate()
        .filter_map(|(position, principal)| Some((key(principal)?.to_lowercase().into(), position as u32)))
        .collect();
    keyed.sort_unstable();
    keyed
}

/// The key a kind's principals are ordered by.
type KeyOf = fn(&StoredPrincipal) -> Option<&str>;

fn user_principal_name(principal: &StoredPrincipal) -> Option<&str> {
    principal.user_principal_name.as_deref()
}

fn app_id(principal: &StoredPrincipal) -> Option<&str> {
    principal.app_id.as_deref()
}

/// Position of each key, lower-cased; the first principal wins a duplicate.
fn index_by<'a>(keys: impl Iterator<Item = (&'a str, usize)>) -> HashMap<String, usize> {
    let mut index = HashMap::new();
    for (key, position) in keys {
        index.entry(key.to_lowercase()).or_insert(position);
    }
    index
}

impl Store {
    /// A store seeded from a state document.
    pub fn from_document(document: &StateDocument) -> Result<Store, DocumentError> {
        let definitions = document
            .custom_security_attribute_definitions
            .iter()
            .map(|definition| {
                let mut shape = definition.clone();
                shape.id = Some(definition_id(&shape.attribute_set, &shape.name));
                shape.allowed_values.get_or_insert_with(Vec::new);
                StoredDefinition { shape, created_at: None }
            })
            .collect();
        let principals = |list: &[PrincipalShape],
                          name: &str|
         -> Result<Vec<StoredPrincipal>, DocumentError> {
            list.iter()
                .enumerate()
                .map(|(index, principal)| {
                    let (assignments, opaque) = match &principal.custom_security_attributes {
                        None => (PrincipalAssignments::new(), Map::new()),
                        Some(sets) => {
                            read_seeded_values(sets, &format!("{name}[{index}].customSecurityAttributes"))?
                        }
                    };
                    Ok(StoredPrincipal {
                        odata_type: principal.odata_type.clone(),
                        id: principal.id.clone(),
                        user_principal_name: principal.user_principal_name.clone(),
                        app_id: principal.app_id.clone(),
                        display_name: principal.display_name.clone(),
                        assignments,
                        opaque,
                    })
                })
                .collect()
        };
        let users = principals(&document.users, "users")?;
        let service_principals = principals(&document.service_principals, "servicePrincipals")?;
        let users_by_id_or_upn =
            index_by(users.iter().enumerate().map(|(position, user)| (user.id.as_str(), position)).chain(
                users.iter().enumerate().filter_map(|(position, user)| {
                    user.user_principal_name.as_deref().map(|upn| (upn, position))
                }),
            ));
        let service_principals_by_id = index_by(
            service_principals
                .iter()
                .enumerate()
                .map(|(position, principal)| (principal.id.as_str(), position)),
        );
        let service_principals_by_app_id =
            index_by(service_principals.iter().enumerate().filter_map(|(position, principal)| {
                principal.app_id.as_deref().map(|app_id| (app_id, position))
            }));
        let users_by_upn_order = key_order(&users, user_principal_name);
        let service_principals_by_app_id_order = key_order(&service_principals, app_id);
        Ok(Store {
            users_by_upn_order,
            service_principals_by_app_id_order,
            attribute_sets: document.attribute_sets.clone(),
            definitions,
            users,
            service_principals,
            users_by_id_or_upn,
            service_principals_by_id,
            service_principals_by_app_id,
            conditional_access_policies: document.conditional_access_policies.clone(),
            default_app_management_policy: document.default_app_management_policy.clone(),
            app_management_policies: document.app_management_policies.clone(),
            azure_role_assignments: document.azure_role_assignments.clone(),
            lifecycle_workflows: document.lifecycle_workflows.clone(),
            groups: document.groups.clone(),
            last_conditional_access_read: None,
            audit: Vec::new(),
        })
    }

    /// The store as a state document.
    pub fn to_document(&self) -> StateDocument {
        let principals = |list: &[StoredPrincipal]| -> Vec<PrincipalShape> {
            list.iter()
                .map(|principal| PrincipalShape {
                    odata_type: principal.odata_type.clone(),
                    id: principal.id.clone(),
                    user_principal_name: principal.user_principal_name.clone(),
                    app_id: principal.app_id.clone(),
                    display_name: principal.display_name.clone(),
                    custom_security_attributes: match principal.custom_security_attributes() {
                        Value::Object(sets) => Some(sets),
                        _ => None,
                    },
                })
                .collect()
        };
        StateDocument {
            attribute_sets: self.attribute_sets.clone(),
            custom_security_attribute_definitions: self
                .definitions
                .iter()
                .map(|definition| definition.shape.clone())
                .collect(),
            users: principals(&self.users),
            service_principals: principals(&self.service_principals),
            conditional_access_policies: self.conditional_access_policies.clone(),
            default_app_management_policy: self.default_app_management_policy.clone(),
            app_management_policies: self.app_management_policies.clone(),
            azure_role_assignments: self.azure_role_assignments.clone(),
            lifecycle_workflows: self.lifecycle_workflows.clone(),
            groups: self.groups.clone(),
        }
    }

    // ── lookups ──

    /// The group whose id equals `id` ignoring case.
    pub fn group(&self, id: &str) -> Option<&GroupShape> {
        self.groups.as_deref()?.iter().find(|group| same_ignoring_case(&group.id, id))
    }

    /// A group as Graph shows it in a collection of directory objects.
    pub fn group_json(group: &GroupShape) -> Map<String, Value> {
        let mut object = Map::new();
        object.insert("@odata.type".into(), Value::String("#microsoft.graph.group".into()));
        object.insert("id".into(), Value::String(group.id.clone()));
        object.insert("displayName".into(), group.display_name.clone().map_or(Value::Null, Value::String));
        object
    }

    /// A member as Graph shows it among a group's members, with its
    /// `@odata.type` always; `None` when the store does not hold it.
    fn member_json(&self, member: &MemberShape) -> Option<Map<String, Value>> {
        if member.odata_type.eq_ignore_ascii_case("#microsoft.graph.group") {
            return self.group(&member.id).map(Store::group_json);
        }
        let (principal, base_type) = match self.users_by_id_or_upn.get(&member.id.to_lowercase()) {
            Some(&position) => (&self.users[position], "#microsoft.graph.user"),
            None => {
                let position = *self.service_principals_by_id.get(&member.id.to_lowercase())?;
                (&self.service_principals[position], "#microsoft.graph.servicePrincipal")
            }
        };
        let mut object = principal.to_json();
        object.entry("@odata.type").or_insert_with(|| Value::String(base_type.into()));
        Some(object)
    }

    /// The direct members of `group` the store holds, in the seed's order.
    pub fn direct_members(&self, group: &GroupShape) -> Vec<Map<String, Value>> {
        group.members.iter().filter_map(|member| self.member_json(member)).collect()
    }

    /// Every member of `group` reached through nested groups, each once,
    /// nested groups included (as Graph's `transitiveMembers` lists them),
    /// breadth first. Emulator's choice for a cycle in the seed (Entra does
    /// not let one be made): each group is expanded once, and the group
    /// asked about is not listed among its own members.
    pub fn transitive_members(&self, group: &GroupShape) -> Vec<Map<String, Value>> {
        let mut seen = std::collections::HashSet::from([group.id.to_lowercase()]);
        let mut queue = std::collections::VecDeque::from([group]);
        let mut members = Vec::new();
        while let Some(current) = queue.pop_front() {
            for member in &current.members {
                if !seen.insert(member.id.to_lowercase()) {
                    continue;
                }
                let Some(object) = self.member_json(member) else { continue };
                if member.odata_type.eq_ignore_ascii_case("#microsoft.graph.group")
                    && let Some(nested) = self.group(&member.id)
                {
                    queue.push_back(nested);
                }
                members.push(object);
            }
        }
        members
    }

    /// Set ids are matched ignoring case (R-AS says case insensitive, E-OV case sensitive: the safe reading).
    pub fn attribute_set_index(&self, id: &str) -> Option<usize> {
        self.attribute_sets.iter().position(|set| same_ignoring_case(&set.id, id))
    }

    /// Definition ids are case insensitive (R-DEF).
    pub fn definition_index(&self, id: &str) -> Option<usize> {
        // Names cannot contain `_`, so the first one splits the id (R-DEF, E-OV).
        let (set, name) = id.split_once('_')?;
        self.definitions.iter().position(|definition| {
            same_ignoring_case(&definition.shape.attribute_set, set)
                && same_ignoring_case(&definition.shape.name, name)
        })
    }

    pub fn definition(&self, id: &str) -> Result<&StoredDefinition, GraphError> {
        self.definition_index(id)
            .map(|index| &self.definitions[index])
            .ok_or_else(|| GraphError::not_found(id))
    }

    pub fn principals(&self, kind: PrincipalKind) -> &[StoredPrincipal] {
        match kind {
            PrincipalKind::User => &self.users,
            PrincipalKind::ServicePrincipal => &self.service_principals,
        }
    }

    /// The principals whose key (users: userPrincipalName; service
    /// principals: appId) is in `range`, in the key's order.
    pub fn principals_in_key_range(&self, kind: PrincipalKind, range: &KeyRange) -> Vec<&StoredPrincipal> {
        let (principals, order): (&[StoredPrincipal], &[(Box<str>, u32)]) = match kind {
            PrincipalKind::User => (&self.users, &self.users_by_upn_order),
            PrincipalKind::ServicePrincipal => {
                (&self.service_principals, &self.service_principals_by_app_id_order)
            }
        };
        let from: &str = match (&range.at_least, &range.prefix) {
            (Some(bound), Some(prefix)) => bound.max(prefix),
            (Some(bound), None) | (None, Some(bound)) => bound,
            (None, None) => "",
        };
        let start = order.partition_point(|(key, _)| &**key < from);
        let end = start
            + order[start..].partition_point(|(key, _)| {
                range.at_most.as_deref().is_none_or(|bound| &**key <= bound)
                    && range.prefix.as_deref().is_none_or(|prefix| &**key < prefix || key.starts_with(prefix))
            });
        // Both searches' conditions hold in one run of the order, so the
        // run is exactly the range; the check costs no allocation.
        order[start..end]
            .iter()
            .filter(|(key, _)| range.holds(key))
            .map(|(_, position)| &principals[*position as usize])
            .collect()
    }

    fn principals_mut(&mut self, kind: PrincipalKind) -> &mut Vec<StoredPrincipal> {
        match kind {
            PrincipalKind::User => &mut self.users,
            PrincipalKind::ServicePrincipal => &mut self.service_principals,
        }
    }

    /// Users are found by object id or userPrincipalName (ignoring case);
    /// service principals by object id or appId.
    pub fn principal_index(&self, kind: PrincipalKind, reference: PrincipalRef<'_>) -> Option<usize> {
        let (index, key) = match (kind, reference) {
            (PrincipalKind::User, PrincipalRef::IdOrUserPrincipalName(key)) => {
                (&self.users_by_id_or_upn, key)
            }
            (PrincipalKind::User, PrincipalRef::AppId(_)) => return None,
            (PrincipalKind::ServicePrincipal, PrincipalRef::IdOrUserPrincipalName(key)) => {
                (&self.service_principals_by_id, key)
            }
            (PrincipalKind::ServicePrincipal, PrincipalRef::AppId(app_id)) => {
                (&self.service_principals_by_app_id, app_id)
            }
        };
        index.get(&key.to_lowercase()).copied()
    }

    fn active_definitions(&self) -> usize {
        self.definitions.iter().filter(|definition| definition.is_active()).count()
    }

    fn active_definitions_in(&self, set: &str) -> usize {
        self.definitions
            .iter()
            .filter(|definition| {
                definition.is_active() && same_ignoring_case(&definition.shape.attribute_set, set)
            })
            .count()
    }

    // ── attribute sets ──

    /// POST /directory/attributeSets.
    pub fn create_attribute_set(
        &mut self,
        body: &Map<String, Value>,
    ) -> Result<AttributeSetShape, GraphError> {
        only_properties(body, &["id", "description", "maxAttributesPerSet"], "attributeSet")?;
        let id = required_string(body, "id")?;
        check_name("attribute set id", &id)?;
        let description = optional_nullable_string(body, "description")?.flatten();
        check_description(description.as_deref())?;
        let max_attributes_per_set = optional_nullable_int(body, "maxAttributesPerSet")?.flatten();
        check_max_attributes_per_set(max_attributes_per_set)?;
        if self.attribute_set_index(&id).is_some() {
            // Emulator's choice: Graph documents no error for a duplicate set.
            return Err(GraphError::bad_request(format!("An attribute set with id '{id}' already exists.")));
        }
        if self.attribute_sets.len() >= MAX_ATTRIBUTE_SETS {
            return Err(GraphError::bad_request(format!(
                "A tenant can hold at most {MAX_ATTRIBUTE_SETS} attribute sets."
            )));
        }
        let set = AttributeSetShape { id, description, max_attributes_per_set };
        self.attribute_sets.push(set.clone());
        Ok(set)
    }

    /// PATCH /directory/attributeSets/{id}.
    pub fn update_attribute_set(&mut self, id: &str, body: &Map<String, Value>) -> Result<(), GraphError> {
        let index = self.attribute_set_index(id).ok_or_else(|| GraphError::not_found(id))?;
        let existing = self.attribute_sets[index].clone();
        only_properties(body, &["id", "description", "maxAttributesPerSet"], "attributeSet")?;
        unchanged(body, "id", &Value::String(existing.id.clone()))?;
        let mut updated = existing.clone();
        if let Some(description) = optional_nullable_string(body, "description")? {
            check_description(description.as_deref())?;
            updated.description = description;
        }
        if let Some(max) = optional_nullable_int(body, "maxAttributesPerSet")? {
            check_max_attributes_per_set(max)?;
            if let Some(max) = max {
                let active = self.active_definitions_in(&existing.id);
                if usize::try_from(max).is_ok_and(|max| max < active) {
                    // Emulator's choice: lowering below the set's content is undocumented.
                    return Err(GraphError::bad_request(format!(
                        "maxAttributesPerSet cannot be lower than the {active} active attributes already in set '{}'.",
                        existing.id
                    )));
                }
            }
            updated.max_attributes_per_set = max;
        }
        self.attribute_sets[index] = updated;
        Ok(())
    }

    // ── definitions ──

    /// POST /directory/customSecurityAttributeDefinitions (optionally with
    /// inline `allowedValues`, A-DEF-POST Ex. 3).
    pub fn create_definition(
        &mut self,
        body: &Map<String, Value>,
        now: Instant,
    ) -> Result<StoredDefinition, GraphError> {
        only_properties(
            body,
            &[
                "attributeSet",
                "name",
                "description",
                "type",
                "isCollection",
                "isSearchable",
                "status",
                "usePreDefinedValuesOnly",
                "allowedValues",
            ],
            "customSecurityAttributeDefinition",
        )?;
        let set_id = required_string(body, "attributeSet")?;
        let Some(set_index) = self.attribute_set_index(&set_id) else {
            return Err(GraphError::bad_request(format!("Attribute set '{set_id}' does not exist.")));
        };
        let set = self.attribute_sets[set_index].clone();
        let name = required_string(body, "name")?;
        check_name("attribute name", &name)?;
        let description = optional_nullable_string(body, "description")?.flatten();
        check_description(description.as_deref())?;
        let data_type = match required_string(body, "type")?.as_str() {
            "String" => DataType::String,
            "Integer" => DataType::Integer,
            "Boolean" => DataType::Boolean,
            other => {
                return Err(GraphError::bad_request(format!(
                    "type '{other}' is not one of String, Integer, Boolean."
                )));
            }
        };
        let is_collection = required_bool(body, "isCollection")?;
        let is_searchable = required_bool(body, "isSearchable")?;
        let status = parse_status(&required_string(body, "status")?)?;
        let use_pre_defined_values_only = required_bool(body, "usePreDefinedValuesOnly")?;
        check_boolean_constraints(data_type, is_collection, use_pre_defined_values_only)?;
        let id = definition_id(&set.id, &name);
        if self.definition_index(&id).is_some() {
            // Emulator's choice: Graph documents no error for a duplicate definition.
            return Err(GraphError::bad_request(format!(
                "An attribute named '{name}' already exists in attribute set '{}'.",
                set.id
            )));
        }
        if status == Status::Available {
            self.check_room_for_active_definition(&set)?;
        }
        let mut allowed_values: Vec<AllowedValueShape> = Vec::new();
        match body.get("allowedValues") {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                for item in items {
                    let Value::Object(item) = item else {
                        return Err(GraphError::bad_request("Each of allowedValues must be an object."));
                    };
                    let value = parse_new_allowed_value(item, data_type)?;
                    if allowed_values.iter().any(|existing| existing.id == value.id) {
                        return Err(GraphError::bad_request(format!(
                            "allowedValues names '{}' twice.",
                            value.id
                        )));
                    }
                    allowed_values.push(value);
                }
            }
            Some(_) => return Err(GraphError::bad_request("allowedValues must be an array.")),
        }
        check_allowed_values_room(allowed_values.len(), 0)?;
        let definition = StoredDefinition {
            shape: DefinitionShape {
                id: Some(id),
                attribute_set: set.id.clone(),
                name,
                description,
                data_type: data_type.into(),
                is_collection,
                is_searchable: Some(is_searchable),
                status: status.into(),
                use_pre_defined_values_only: Some(use_pre_defined_values_only),
                allowed_values: Some(allowed_values),
            },
            created_at: Some(now),
        };
        self.definitions.push(definition.clone());
        Ok(definition)
    }

    /// 500 active definitions per tenant (R-DEF) and the set's own cap.
    fn check_room_for_active_definition(&self, set: &AttributeSetShape) -> Result<(), GraphError> {
        if self.active_definitions() >= MAX_ACTIVE_DEFINITIONS {
            return Err(GraphError::bad_request(format!(
                "A tenant can hold at most {MAX_ACTIVE_DEFINITIONS} active attribute definitions."
            )));
        }
        if let Some(max) = set.max_attributes_per_set {
            // Emulator's choice: the cap counts the set's active definitions.
            if usize::try_from(max).is_ok_and(|max| self.active_definitions_in(&set.id) >= max) {
                return Err(GraphError::bad_request(format!(
                    "Attribute set '{}' allows at most {max} attributes (maxAttributesPerSet).",
                    set.id
                )));
            }
        }
        Ok(())
    }

    /// PATCH /directory/customSecurityAttributeDefinitions/{id}, including
    /// `allowedValues@delta` (which Graph wants with `OData-Version: 4.01`).
    pub fn update_definition(
        &mut self,
        id: &str,
        body: &Map<String, Value>,
        odata_version_401: bool,
    ) -> Result<(), GraphError> {
        let index = self.definition_index(id).ok_or_else(|| GraphError::not_found(id))?;
        let existing = self.definitions[index].clone();
        only_properties(
            body,
            &[
                "id",
                "attributeSet",
                "name",
                "type",
                "isCollection",
                "isSearchable",
                "description",
                "status",
                "usePreDefinedValuesOnly",
                "allowedValues@delta",
            ],
            "customSecurityAttributeDefinition",
        )?;
        let current = existing.to_json(false);
        for immutable in ["id", "attributeSet", "name", "type", "isCollection", "isSearchable"] {
            unchanged(body, immutable, current.get(immutable).unwrap_or(&Value::Null))?;
        }
        let mut updated = existing.clone();
        if let Some(description) = optional_nullable_string(body, "description")? {
            check_description(description.as_deref())?;
            updated.shape.description = description;
        }
        if let Some(value) = body.get("usePreDefinedValuesOnly") {
            let requested = bool_value(value, "usePreDefinedValuesOnly")?;
            let was = existing.shape.use_pre_defined_values_only.unwrap_or(false);
            if requested && !was {
                // Documented rule (R-DEF); the error is the emulator's choice.
                return Err(GraphError::bad_request(
                    "usePreDefinedValuesOnly can be changed from true to false, but not from false to true.",
                ));
            }
            check_boolean_constraints(updated.data_type()?, updated.shape.is_collection, requested)?;
            updated.shape.use_pre_defined_values_only = Some(requested);
        }
        if body.contains_key("status") {
            let status = parse_status(&required_string(body, "status")?)?;
            if status == Status::Available && existing.shape.status == Status::Deprecated {
                // Emulator's choice: reactivation counts against the limits.
                let set_index = self
                    .attribute_set_index(&existing.shape.attribute_set)
                    .ok_or_else(|| GraphError::not_found(&existing.shape.attribute_set))?;
                self.check_room_for_active_definition(&self.attribute_sets[set_index])?;
            }
            updated.shape.status = status.into();
        }
        if let Some(delta) = body.get("allowedValues@delta") {
            if !odata_version_401 {
                // Emulator's choice: A-DEF-PATCH says the header is required.
                return Err(GraphError::bad_request(
                    "allowedValues@delta requires the request header 'OData-Version: 4.01'.",
                ));
            }
            let Value::Array(items) = delta else {
                return Err(GraphError::bad_request("allowedValues@delta must be an array."));
            };
            let data_type = updated.data_type()?;
            for item in items {
                let Value::Object(item) = item else {
                    return Err(GraphError::bad_request("Each of allowedValues@delta must be an object."));
                };
                let id = required_string(item, "id")?;
                let values = updated.allowed_values_mut();
                match values.iter_mut().find(|value| value.id == id) {
                    Some(value) => {
                        only_properties(item, &["id", "isActive"], "allowedValue")?;
                        value.is_active =
                            bool_value(item.get("isActive").unwrap_or(&Value::Null), "isActive")?;
                    }
                    None => {
                        let value = parse_new_allowed_value(item, data_type)?;
                        check_allowed_values_room(1, values.len())?;
                        values.push(value);
                    }
                }
            }
        }
        self.definitions[index] = updated;
        Ok(())
    }

    // ── allowed values ──

    /// POST /directory/customSecurityAttributeDefinitions/{id}/allowedValues.
    pub fn create_allowed_value(
        &mut self,
        definition: &str,
        body: &Map<String, Value>,
    ) -> Result<(String, AllowedValueShape), GraphError> {
        let index = self.definition_index(definition).ok_or_else(|| GraphError::not_found(definition))?;
        let stored = &mut self.definitions[index];
        let value = parse_new_allowed_value(body, stored.data_type()?)?;
        if stored.allowed_values().iter().any(|existing| existing.id == value.id) {
            // Emulator's choice: Graph documents no error for a duplicate value.
            return Err(GraphError::bad_request(format!(
                "The predefined value '{}' already exists.",
                value.id
            )));
        }
        check_allowed_values_room(1, stored.allowed_values().len())?;
        stored.allowed_values_mut().push(value.clone());
        Ok((stored.id(), value))
    }

    /// PATCH .../allowedValues/{valueId}: only `isActive` changes.
    pub fn update_allowed_value(
        &mut self,
        definition: &str,
        value_id: &str,
        body: &Map<String, Value>,
    ) -> Result<(), GraphError> {
        let index = self.definition_index(definition).ok_or_else(|| GraphError::not_found(definition))?;
        only_properties(body, &["id", "isActive"], "allowedValue")?;
        unchanged(body, "id", &Value::String(value_id.to_owned()))?;
        let is_active = match body.get("isActive") {
            Some(value) => Some(bool_value(value, "isActive")?),
            None => None,
        };
        let value = self.definitions[index]
            .allowed_values_mut()
            .iter_mut()
            .find(|value| value.id == value_id)
            .ok_or_else(|| GraphError::not_found(value_id))?;
        if let Some(is_active) = is_active {
            value.is_active = is_active;
        }
        Ok(())
    }

    // ── assignments ──

    /// PATCH /users/{id} or /servicePrincipals/{id} with
    /// `customSecurityAttributes`: merges the named attributes into the
    /// principal's values (C-EX), after every check C-EX documents.
    pub fn patch_principal(
        &mut self,
        kind: PrincipalKind,
        reference: PrincipalRef<'_>,
        body: &Map<String, Value>,
        now: Instant,
        replication_lag: Duration,
    ) -> Result<(), GraphError> {
        let key = match reference {
            PrincipalRef::IdOrUserPrincipalName(key) | PrincipalRef::AppId(key) => key,
        };
        let index = self.principal_index(kind, reference).ok_or_else(|| GraphError::not_found(key))?;
        // Emulator's choice: it stores only custom security attributes.
        only_properties(body, &["customSecurityAttributes"], kind.as_str())?;
        let Some(sets) = body.get("customSecurityAttributes") else {
            return Ok(());
        };
        let Value::Object(sets) = sets else {
            return Err(GraphError::bad_request("customSecurityAttributes must be an object."));
        };
        let held = &self.principals(kind)[index].assignments;
        let mut merged = held.clone();
        for (set_key, attributes) in sets {
            if set_key.starts_with('@') {
                continue;
            }
            let set_id = match self.attribute_set_index(set_key) {
                Some(set_index) => self.attribute_sets[set_index].id.clone(),
                None => {
                    return Err(GraphError::bad_request(format!(
                        "Attribute set '{set_key}' does not exist."
                    )));
                }
            };
            let Value::Object(attributes) = attributes else {
                return Err(GraphError::bad_request(format!(
                    "customSecurityAttributes.{set_key} must be an object."
                )));
            };
            check_set_annotation(set_key, attributes)?;
            for (attribute, value) in attributes {
                if attribute.contains('@') {
                    continue;
                }
                let annotation = attributes.get(&format!("{attribute}@odata.type")).and_then(Value::as_str);
                let definition = self.definition(&definition_id(&set_id, attribute)).map_err(|_| {
                    GraphError::bad_request(format!(
                        "Attribute '{attribute}' does not exist in attribute set '{set_id}'."
                    ))
                })?;
                let name = definition.shape.name.clone();
                let edit = decode_assignment(definition, annotation, value)?;
                match edit {
                    None => {
                        if let Some(set_values) = merged.get_mut(&set_id) {
                            set_values.remove(&name);
                            if set_values.is_empty() {
                                merged.remove(&set_id);
                            }
                        }
                    }
                    Some(new_value) => {
                        check_assignable(
                            definition,
                            &new_value,
                            held.get(&set_id).and_then(|s| s.get(&name)),
                            now,
                            replication_lag,
                        )?;
                        merged.entry(set_id.clone()).or_default().insert(name, new_value);
                    }
                }
            }
        }
        let total: usize =
            merged.values().flat_map(|values| values.values()).map(AttributeValue::count).sum();
        if total > MAX_ASSIGNED_VALUES {
            return Err(GraphError::bad_request(format!(
                "A principal can hold at most {MAX_ASSIGNED_VALUES} custom security attribute values; this change makes {total}."
            )));
        }
        let principal = &mut self.principals_mut(kind)[index];
        for (set_key, attributes) in sets {
            if let Value::Object(attributes) = attributes {
                for attribute in attributes.keys().filter(|key| !key.contains('@')) {
                    principal.overwrite_opaque(set_key, attribute);
                }
            }
        }
        principal.assignments = merged;
        Ok(())
    }
}

/// Checks the set object's `@odata.type`. Emulator's choice: it must be
/// present and be the documented request form or the response form.
fn check_set_annotation(set_key: &str, attributes: &Map<String, Value>) -> Result<(), GraphError> {
    match attributes.get("@odata.type").and_then(Value::as_str) {
        Some(annotation)
            if same_ignoring_case(annotation, REQUEST_SET_TYPE)
                || same_ignoring_case(annotation, RESPONSE_SET_TYPE) =>
        {
            Ok(())
        }
        Some(other) => Err(GraphError::bad_request(format!(
            "customSecurityAttributes.{set_key}: @odata.type '{other}' is not '{REQUEST_SET_TYPE}'."
        ))),
        None => Err(GraphError::bad_request(format!(
            "customSecurityAttributes.{set_key} needs \"@odata.type\": \"{REQUEST_SET_TYPE}\"."
        ))),
    }
}

/// One attribute of an assignment PATCH: `None` removes the value.
/// Annotations and arity as C-EX documents them; refusals are
/// the emulator's choice.
fn decode_assignment(
    definition: &StoredDefinition,
    annotation: Option<&str>,
    value: &Value,
) -> Result<Option<AttributeValue>, GraphError> {
    let shape = &definition.shape;
    let name = &shape.name;
    let data_type = definition.data_type()?;
    let element_type = match data_type {
        DataType::String => "String",
        DataType::Integer => "Int32",
        DataType::Boolean => "Boolean",
    };
    let wrong_type = || {
        GraphError::bad_request(format!(
            "Attribute '{name}' is of type {}{}; the value does not match.",
            if shape.is_collection { "Collection of " } else { "" },
            data_type
        ))
    };
    match value {
        Value::Null if shape.is_collection => Err(GraphError::bad_request(format!(
            "Attribute '{name}' is a collection: remove its values with [] (documented), not null."
        ))),
        Value::Null => Ok(None),
        Value::Array(items) if !shape.is_collection => {
            let _ = items;
            Err(GraphError::bad_request(format!(
                "Attribute '{name}' is single-valued; a collection was sent."
            )))
        }
        Value::Array(items) if items.is_empty() => Ok(None),
        Value::Array(items) => {
            let expected = format!("#Collection({element_type})");
            if annotation != Some(expected.as_str()) {
                return Err(GraphError::bad_request(format!(
                    "Attribute '{name}' needs \"{name}@odata.type\": \"{expected}\"."
                )));
            }
            match data_type {
                DataType::String => {
                    let strings = items
                        .iter()
                        .map(|item| item.as_str().map(str::to_owned).ok_or_else(wrong_type))
                        .collect::<Result<Vec<_>, _>>()?;
                    Ok(Some(AttributeValue::strings(strings)))
                }
                DataType::Integer => {
                    let integers = items
                        .iter()
                        .map(|item| json_int32(item).ok_or_else(wrong_type))
                        .collect::<Result<Vec<_>, _>>()?;
                    Ok(Some(AttributeValue::integers(integers)))
                }
                DataType::Boolean => Err(wrong_type()),
            }
        }
        _ if shape.is_collection => Err(GraphError::bad_request(format!(
            "Attribute '{name}' is a collection; a single value was sent."
        ))),
        scalar => {
            let expected = format!("#{element_type}");
            match (data_type, annotation) {
                (DataType::Integer, Some(given)) if given == expected => {}
                (DataType::Integer, _) => {
                    return Err(GraphError::bad_request(format!(
                        "Attribute '{name}' needs \"{name}@odata.type\": \"#Int32\"."
                    )));
                }
                (_, Some(given)) if given != expected => {
                    return Err(GraphError::bad_request(format!(
                        "Attribute '{name}': annotation '{given}' does not match type {}.",
                        data_type
                    )));
                }
                _ => {}
            }
            match (data_type, scalar) {
                (DataType::String, Value::String(text)) => Ok(Some(AttributeValue::String(text.clone()))),
                (DataType::Boolean, Value::Bool(flag)) => Ok(Some(AttributeValue::Boolean(*flag))),
                (DataType::Integer, number) => {
                    json_int32(number).map(AttributeValue::Integer).map(Some).ok_or_else(wrong_type)
                }
                _ => Err(wrong_type()),
            }
        }
    }
}

/// Whether a value may be assigned: the definition is active and replicated,
/// values are short enough, predefined-only values are predefined, and
/// inactive values are not assigned anew (R-AV: "cannot be assigned to any
/// additional" objects, so a principal that already holds one keeps it).
fn check_assignable(
    definition: &StoredDefinition,
    value: &AttributeValue,
    held: Option<&AttributeValue>,
    now: Instant,
    replication_lag: Duration,
) -> Result<(), GraphError> {
    let shape = &definition.shape;
    let id = definition.id();
    if shape.status == Status::Deprecated {
        return Err(GraphError::bad_request(format!(
            "Attribute '{id}' is deprecated and cannot be assigned."
        )));
    }
    if let Some(created_at) = definition.created_at
        && now.saturating_duration_since(created_at) < replication_lag
    {
        // Emulator's choice: a definition that has not replicated yet reads
        // as unknown to the assignment endpoint.
        return Err(GraphError::bad_request(format!(
            "Attribute '{id}' does not exist yet (the directory has not replicated it)."
        )));
    }
    let held_members = held.map(AttributeValue::members).unwrap_or_default();
    for member in value.members() {
        if member.chars().count() > MAX_VALUE_LEN {
            return Err(GraphError::bad_request(format!(
                "A value of '{id}' is longer than {MAX_VALUE_LEN} characters."
            )));
        }
        let predefined = definition.allowed_values().iter().find(|allowed| allowed.id == member);
        match predefined {
            None if shape.use_pre_defined_values_only.unwrap_or(false) => {
                return Err(GraphError::bad_request(format!(
                    "'{member}' is not a predefined value of '{id}', which accepts only predefined values."
                )));
            }
            Some(allowed) if !allowed.is_active && !held_members.contains(&member) => {
                return Err(GraphError::bad_request(format!(
                    "The predefined value '{member}' of '{id}' is inactive and cannot be assigned."
                )));
            }
            _ => {}
        }
    }
    Ok(())
}

fn json_int32(value: &Value) -> Option<i32> {
    value.as_i64().and_then(|wide| i32::try_from(wide).ok())
}

/// A new predefined value: `id` (≤ 64 characters) and `isActive` (the
/// documented string booleans are accepted: the emulator's choice).
fn parse_new_allowed_value(
    body: &Map<String, Value>,
    data_type: DataType,
) -> Result<AllowedValueShape, GraphError> {
    only_properties(body, &["id", "isActive"], "allowedValue")?;
    let id = required_string(body, "id")?;
    if id.is_empty() || id.chars().count() > MAX_VALUE_LEN {
        return Err(GraphError::bad_request(format!(
            "A predefined value must have 1 to {MAX_VALUE_LEN} characters."
        )));
    }
    match data_type {
        DataType::String => {}
        // Emulator's choice: predefined values of an Integer attribute are 32-bit integers.
        DataType::Integer if id.parse::<i32>().is_ok() => {}
        DataType::Integer => {
            return Err(GraphError::bad_request(format!(
                "'{id}' is not a 32-bit integer, as predefined values of an Integer attribute must be."
            )));
        }
        // Emulator's choice: a Boolean attribute cannot use predefined values.
        DataType::Boolean => {
            return Err(GraphError::bad_request("A Boolean attribute cannot have predefined values."));
        }
    }
    let Some(is_active) = body.get("isActive") else {
        return Err(GraphError::bad_request("isActive is required."));
    };
    Ok(AllowedValueShape { id, is_active: bool_value(is_active, "isActive")? })
}

fn check_allowed_values_room(adding: usize, existing: usize) -> Result<(), GraphError> {
    if existing + adding > MAX_ALLOWED_VALUES {
        return Err(GraphError::bad_request(format!(
            "A definition can have at most {MAX_ALLOWED_VALUES} predefined values."
        )));
    }
    Ok(())
}

/// R-DEF: a Boolean attribute is single-valued and not predefined-only.
fn check_boolean_constraints(
    data_type: DataType,
    is_collection: bool,
    use_pre_defined_values_only: bool,
) -> Result<(), GraphError> {
    if data_type == DataType::Boolean && is_collection {
        return Err(GraphError::bad_request("If type is Boolean, isCollection cannot be true."));
    }
    if data_type == DataType::Boolean && use_pre_defined_values_only {
        return Err(GraphError::bad_request("If type is Boolean, usePreDefinedValuesOnly cannot be true."));
    }
    Ok(())
}

fn parse_status(text: &str) -> Result<Status, GraphError> {
    match text {
        "Available" => Ok(Status::Available),
        "Deprecated" => Ok(Status::Deprecated),
        other => Err(GraphError::bad_request(format!("status '{other}' is not Available or Deprecated."))),
    }
}

/// E-OV: up to 32 characters, none of the listed special characters, not
/// starting with a digit.
fn check_name(what: &str, name: &str) -> Result<(), GraphError> {
    if name.is_empty() || name.chars().count() > MAX_NAME_LEN {
        return Err(GraphError::bad_request(format!("The {what} must have 1 to {MAX_NAME_LEN} characters.")));
    }
    if name.chars().next().is_some_and(char::is_numeric) {
        return Err(GraphError::bad_request(format!("The {what} '{name}' cannot start with a number.")));
    }
    if let Some(bad) = name.chars().find(|c| c.is_whitespace() || FORBIDDEN_NAME_CHARACTERS.contains(*c)) {
        return Err(GraphError::bad_request(format!(
            "The {what} '{name}' cannot contain spaces or the special character '{bad}'."
        )));
    }
    Ok(())
}

fn check_description(description: Option<&str>) -> Result<(), GraphError> {
    if description.is_some_and(|text| text.chars().count() > MAX_DESCRIPTION_LEN) {
        return Err(GraphError::bad_request(format!(
            "The description can have at most {MAX_DESCRIPTION_LEN} characters."
        )));
    }
    Ok(())
}

/// Emulator's choice: the range is undocumented; 1 to 500 is accepted.
fn check_max_attributes_per_set(max: Option<i32>) -> Result<(), GraphError> {
    if max.is_some_and(|max| max < 1 || usize::try_from(max).is_ok_and(|max| max > MAX_ACTIVE_DEFINITIONS)) {
        return Err(GraphError::bad_request(format!(
            "maxAttributesPerSet must be between 1 and {MAX_ACTIVE_DEFINITIONS}."
        )));
    }
    Ok(())
}

// ── request-body helpers ──

/// Equal ignoring case, without allocating (lookups scan every principal).
fn same_ignoring_case(a: &str, b: &str) -> bool {
    a == b || a.chars().flat_map(char::to_lowercase).eq(b.chars().flat_map(char::to_lowercase))
}

/// Refuses properties the resource does not have (instance annotations
/// such as `@odata.type` are allowed).
fn only_properties(body: &Map<String, Value>, known: &[&str], resource: &str) -> Result<(), GraphError> {
    match body.keys().find(|key| !key.starts_with('@') && !known.contains(&key.as_str())) {
        Some(unknown) => Err(GraphError::bad_request(format!(
            "Property '{unknown}' does not exist on type 'microsoft.graph.{resource}' or cannot be set here."
        ))),
        None => Ok(()),
    }
}

/// Refuses a change to an immutable property (sending its current value is
/// accepted). Emulator's choice of error: Graph documents none.
fn unchanged(body: &Map<String, Value>, property: &str, current: &Value) -> Result<(), GraphError> {
    match body.get(property) {
        Some(sent) if sent != current => {
            Err(GraphError::bad_request(format!("Property '{property}' cannot be changed after creation.")))
        }
        _ => Ok(()),
    }
}

fn required_string(body: &Map<String, Value>, key: &str) -> Result<String, GraphError> {
    match body.get(key) {
        Some(Value::String(text)) => Ok(text.clone()),
        Some(_) => Err(GraphError::bad_request(format!("{key} must be a string."))),
        None => Err(GraphError::bad_request(format!("{key} is required."))),
    }
}

/// Absent → `None`; `null` → `Some(None)`.
fn optional_nullable_string(
    body: &Map<String, Value>,
    key: &str,
) -> Result<Option<Option<String>>, GraphError> {
    match body.get(key) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(text)) => Ok(Some(Some(text.clone()))),
        Some(_) => Err(GraphError::bad_request(format!("{key} must be a string or null."))),
    }
}

fn optional_nullable_int(body: &Map<String, Value>, key: &str) -> Result<Option<Option<i32>>, GraphError> {
    match body.get(key) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(value) => json_int32(value)
            .map(|number| Some(Some(number)))
            .ok_or_else(|| GraphError::bad_request(format!("{key} must be a 32-bit integer or null."))),
    }
}

fn required_bool(body: &Map<String, Value>, key: &str) -> Result<bool, GraphError> {
    match body.get(key) {
        Some(value) => bool_value(value, key),
        None => Err(GraphError::bad_request(format!("{key} is required."))),
    }
}

/// A JSON boolean; with `accept_strings`, also "true"/"false", as the
/// allowedValue examples send them (the emulator's choice; A-AV-POST, A-AV-PATCH).
/// A Boolean property. A string, even `"false"`, is a wrong type: the
/// allowed-value examples send `"isActive":"true"`, a doc mistake the
/// examples' README flags. Graph's answer to it is not documented; the
/// emulator gives the one Graph's OData reader gives a literal of the wrong
/// type, 400 `BadRequest` "Cannot convert the literal … to the expected type
/// 'Edm.Boolean'" (an emulator choice, see docs/src/reference/emulator.md).
fn bool_value(value: &Value, key: &str) -> Result<bool, GraphError> {
    match value {
        Value::Bool(flag) => Ok(*flag),
        Value::Null => Err(GraphError::bad_request(format!("{key} must be a boolean."))),
        other => {
            let literal = match other {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            Err(GraphError::wrong_type(format!(
                "Cannot convert the literal '{literal}' to the expected type 'Edm.Boolean'."
            )))
        }
    }
}

fn to_object<T: serde::Serialize>(value: &T) -> Map<String, Value> {
    match serde_json::to_value(value) {
        Ok(Value::Object(object)) => object,
        _ => Map::new(),
    }
}

/// The attribute set as Graph answers it.
pub fn attribute_set_json(set: &AttributeSetShape) -> Map<String, Value> {
    to_object(set)
}

/// The allowed value as Graph answers it.
pub fn allowed_value_json(value: &AllowedValueShape) -> Map<String, Value> {
    to_object(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_documented_character_rules() {
        assert!(check_name("name", "Engineering").is_ok());
        assert!(check_name("name", "Ingénierie").is_ok());
        assert!(check_name("name", "Deployment level").is_err());
        assert!(check_name("name", "Cost_Center").is_err());
        assert!(check_name("name", "1Project").is_err());
        assert!(check_name("name", &"a".repeat(33)).is_err());
        assert!(check_name("name", "").is_err());
    }

    #[test]
    fn a_boolean_sent_as_a_string_is_a_wrong_type() {
        assert_eq!(bool_value(&Value::Bool(false), "isActive"), Ok(false));
        let error = bool_value(&Value::String("false".into()), "isActive").unwrap_err();
        assert_eq!((error.status.as_u16(), error.code), (400, "BadRequest"));
        assert_eq!(error.message, "Cannot convert the literal 'false' to the expected type 'Edm.Boolean'.");
    }
}
