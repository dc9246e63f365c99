//! The tenant as read: a plain-data snapshot that the diff compares with the
//! desired state. It is filled by a `Tenant` (Microsoft Graph or a local state
//! file) and knows nothing about either.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::model::{
    AttributeValue, Definition, PrincipalAssignments, PrincipalKey, PrincipalKind, PrincipalLookup,
};

/// A snapshot of the tenant's custom security attributes.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LiveState {
    /// Keyed by set id as Graph holds it.
    pub attribute_sets: BTreeMap<String, LiveAttributeSet>,
    /// Keyed by definition id (`{set}_{name}`) as Graph holds it.
    pub definitions: BTreeMap<String, Definition>,
    /// The principals that were read, keyed by kind and object id.
    pub principals: BTreeMap<PrincipalId, LivePrincipal>,
    /// Whether `principals` holds every user and service principal of the
    /// tenant (a sweep), or only those the files declare.
    pub principals_complete: bool,
    /// The kinds read whole when not both were (a coverage rule about
    /// agent identities sweeps the service principals only): see
    /// `holds_every`. Never part of what a plan decides from otherwise.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub complete_kinds: BTreeSet<PrincipalKind>,
    /// What the tenant holds that this version cannot read faithfully: left
    /// out of the maps above, reported, and never overwritten.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_understood: Vec<NotUnderstood>,
    /// The policies that read custom security attributes, as the tenant
    /// returned them.
    #[serde(default, skip_serializing_if = "LivePolicies::is_empty")]
    pub policies: LivePolicies,
    /// The groups and their direct members, where the tenant holds them
    /// (a state file's optional `groups`). `None`: not read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<LiveGroup>>,
    /// The groups the files assign by (`assignments.groups`), keyed as the
    /// files name them: how each was found and its transitive members, as
    /// read at plan time. Part of what a saved plan depends on.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub memberships: BTreeMap<String, Membership>,
    /// How the read went where it differs from the usual (a split of the
    /// principals Graph refused, and what was read instead): the plan shows
    /// them as notes. Never part of what a plan decides from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub read_notes: Vec<String>,
}

/// The most transitive members a plan reads for one group. A group past
/// it is a conflict: planning it would hold every member and read every
/// member's values, and a group that size is better served by an attribute
/// the directory already knows (a department, a dynamic rule).
pub const MAX_GROUP_MEMBERS: usize = 500_000;

/// How a group the files name was found in the tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "found", rename_all = "camelCase")]
pub enum Membership {
    /// One group, with its transitive members.
    #[serde(rename_all = "camelCase")]
    Group {
        id: String,
        display_name: Option<String>,
        /// The users and service principals among its transitive members
        /// (agent identities are either), sorted, each once.
        members: Vec<PrincipalId>,
        /// Members that are neither (devices, contacts, types this version
        /// does not know), as `@odata.type id`: they hold no values and are
        /// left alone.
        other_members: Vec<String>,
    },
    /// No group has this id or display name; `suggestion` is a near one.
    #[serde(rename_all = "camelCase")]
    NotFound { suggestion: Option<String> },
    /// Several groups have this display name: `(id, displayName)` of each.
    Ambiguous { candidates: Vec<(String, String)> },
    /// More members than `MAX_GROUP_MEMBERS`; `read` is how many were seen.
    TooLarge { read: usize },
}

/// The principal keys that read the members of `memberships` by object id,
/// each once: a member reached by two groups is read once.
pub fn member_keys(memberships: &BTreeMap<String, Membership>) -> BTreeSet<PrincipalKey> {
    memberships
        .values()
        .filter_map(|membership| match membership {
            Membership::Group { members, .. } => Some(members),
            _ => None,
        })
        .flatten()
        .map(|member| match member.kind {
            PrincipalKind::User => PrincipalKey::User(member.object_id.clone()),
            PrincipalKind::ServicePrincipal => {
                PrincipalKey::ServicePrincipal(format!("id:{}", member.object_id))
            }
        })
        .collect()
}

impl Membership {
    /// The membership of group `id` from its transitive members, nested
    /// groups (which `transitiveMembers` lists too) left out.
    pub fn of_group<'a>(
        id: &str,
        display_name: Option<&str>,
        transitive: impl IntoIterator<Item = &'a GroupMember>,
    ) -> Membership {
        Membership::of_group_within(id, display_name, transitive, MAX_GROUP_MEMBERS)
    }

    /// As `of_group`, with `bound` in place of `MAX_GROUP_MEMBERS`.
    fn of_group_within<'a>(
        id: &str,
        display_name: Option<&str>,
        transitive: impl IntoIterator<Item = &'a GroupMember>,
        bound: usize,
    ) -> Membership {
        let mut members = Vec::new();
        let mut other_members = Vec::new();
        for member in transitive {
            match member.principal_kind() {
                Some(kind) => members.push(PrincipalId { kind, object_id: member.id.to_ascii_lowercase() }),
                None if member.is_group() => {}
                None => other_members.push(format!("{} {}", member.odata_type, member.id)),
            }
        }
        members.sort();
        members.dedup();
        if members.len() > bound {
            return Membership::TooLarge { read: members.len() };
        }
        other_members.sort();
        other_members.dedup();
        Membership::Group {
            id: id.to_owned(),
            display_name: display_name.map(str::to_owned),
            members,
            other_members,
        }
    }
}

/// A group and its direct members, as Graph's `$expand=members` shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LiveGroup {
    pub id: String,
    pub display_name: Option<String>,
    #[serde(default)]
    pub members: Vec<GroupMember>,
    /// Properties this version does not use, kept as written.
    #[serde(flatten, default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// A direct member of a group: its `@odata.type` as Graph names it (kept
/// as written, so a type this version does not know is not lost) and id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupMember {
    #[serde(rename = "@odata.type")]
    pub odata_type: String,
    pub id: String,
    /// Properties this version does not use, kept as written.
    #[serde(flatten, default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl GroupMember {
    pub fn is_group(&self) -> bool {
        self.odata_type.eq_ignore_ascii_case("#microsoft.graph.group")
    }

    /// The kind of principal this member is, when it can hold values: a
    /// user or an `agentUser` (a user), a service principal, an
    /// `agentIdentity` or an `agentIdentityBlueprintPrincipal` (service
    /// principals), as Graph v1.0 derives them.
    pub fn principal_kind(&self) -> Option<PrincipalKind> {
        let name = self.odata_type.strip_prefix('#').unwrap_or(&self.odata_type);
        let name = name.strip_prefix("microsoft.graph.").unwrap_or(name).to_ascii_lowercase();
        match name.as_str() {
            "user" | "agentuser" => Some(PrincipalKind::User),
            "serviceprincipal" | "agentidentity" | "agentidentityblueprintprincipal" => {
                Some(PrincipalKind::ServicePrincipal)
            }
            _ => None,
        }
    }
}

/// The policies that read custom security attributes, each kept as Graph's
/// JSON object (Conditional Access application filters, app management
/// exemptions): what the tool does not understand of them is kept as
/// written, so a state file's write never loses it. `None`: not read.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LivePolicies {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditional_access_policies: Option<Vec<serde_json::Map<String, serde_json::Value>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_app_management_policy: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_management_policies: Option<Vec<serde_json::Map<String, serde_json::Value>>>,
    /// Why the policies could not be read (no `Policy.Read.All`), when they
    /// could not: the plan then says references were not checked.
    #[serde(skip)]
    pub not_checked: Option<String>,
    /// Why the Conditional Access fields that target agent identities (Graph
    /// beta only) could not be read, when the rest was: the plan then says
    /// agent-targeted policies were not checked.
    #[serde(skip)]
    pub agents_not_checked: Option<String>,
    /// The Azure role assignments whose condition is not empty, as Azure
    /// Resource Graph's `authorizationresources` rows (`id`, `name`, `type`,
    /// `properties`). `None`: not read (they are read only when asked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure_role_assignments: Option<Vec<serde_json::Map<String, serde_json::Value>>>,
    /// Why the role assignments were asked for but could not be read.
    #[serde(skip)]
    pub azure_role_assignments_not_checked: Option<String>,
    /// The lifecycle workflows, each as Graph's `workflow` with its
    /// `executionConditions` and `tasks`. `None`: not read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle_workflows: Option<Vec<serde_json::Map<String, serde_json::Value>>>,
    /// Why the workflows could not be read (no `LifecycleWorkflows.Read.All`).
    #[serde(skip)]
    pub lifecycle_workflows_not_checked: Option<String>,
}

impl LivePolicies {
    pub fn is_empty(&self) -> bool {
        self.conditional_access_policies.is_none()
            && self.default_app_management_policy.is_none()
            && self.app_management_policies.is_none()
            && self.azure_role_assignments.is_none()
            && self.lifecycle_workflows.is_none()
    }
}

/// What each attribute the read returned holds (type, and whether a
/// collection), and which definitions were not understood: enough to set
/// aside a principal's values one principal at a time, as a streamed read
/// (`report`) sees them, without the whole tenant.
#[derive(Debug, Clone, Default)]
pub struct ValueShapes {
    /// Set → attribute → the definition's type and `isCollection`.
    shapes: HashMap<String, HashMap<String, (crate::model::DataType, bool)>>,
    /// `(set, attribute or None for a whole set)` of the definitions not understood.
    not_understood: Vec<(String, Option<String>)>,
}

impl ValueShapes {
    /// The shapes of `live`'s definitions.
    pub fn of(live: &LiveState) -> Self {
        let mut shapes: HashMap<String, HashMap<String, _>> = HashMap::new();
        for definition in live.definitions.values() {
            shapes
                .entry(definition.attribute_set.clone())
                .or_default()
                .insert(definition.name.clone(), (definition.data_type, definition.is_collection));
        }
        ValueShapes {
            shapes,
            not_understood: live
                .not_understood
                .iter()
                .filter(|item| item.principal.is_none())
                .map(|item| (item.set.clone(), item.attribute.clone()))
                .collect(),
        }
    }

    /// Takes out of `principal` the values its definitions cannot account
    /// for (see `LiveState::set_aside_values_unlike_their_definitions`),
    /// and says what each was.
    pub fn set_aside(&self, principal: &mut LivePrincipal) -> Vec<NotUnderstood> {
        let Some(sets) = principal.custom_security_attributes.as_mut() else { return Vec::new() };
        let mut set_aside = Vec::new();
        for (set, values) in sets.iter_mut() {
            let mut unlike = Vec::new();
            for (attribute, value) in values.iter() {
                let shape =
                    self.shapes.get(set.as_str()).and_then(|attributes| attributes.get(attribute.as_str()));
                let what = match shape {
                    Some(&(data_type, is_collection)) if value_fits(data_type, is_collection, value) => {
                        continue;
                    }
                    Some(&(data_type, is_collection)) => format!(
                        "{}, where the attribute is {}",
                        value.described(),
                        definition_shape(data_type, is_collection)
                    ),
                    None if self.not_understood.iter().any(|(unknown_set, unknown_attribute)| {
                        unknown_set == set
                            && unknown_attribute.as_ref().is_none_or(|unknown| unknown == attribute)
                    }) =>
                    {
                        continue;
                    }
                    None => UNREAD_DEFINITION.to_owned(),
                };
                unlike.push((attribute.clone(), what));
            }
            for (attribute, what) in unlike {
                values.remove(attribute.as_str());
                set_aside.push(NotUnderstood {
                    set: set.clone(),
                    attribute: Some(attribute),
                    principal: Some(PrincipalId {
                        kind: principal.kind,
                        object_id: principal.object_id.clone(),
                    }),
                    what,
                });
            }
        }
        if !set_aside.is_empty() {
            sets.retain(|_, values| !values.is_empty());
        }
        set_aside
    }
}

/// What a value is set aside as when its attribute's definition was not read.
pub const UNREAD_DEFINITION: &str = "a value of an attribute whose definition the read did not return";

/// Whether `value` has the type and shape a definition of `data_type` and
/// `is_collection` declares.
fn value_fits(data_type: crate::model::DataType, is_collection: bool, value: &AttributeValue) -> bool {
    value.is_collection() == is_collection && value.data_type().is_none_or(|held| held == data_type)
}

/// `an Integer`, `a collection of String`: what a definition holds, in words.
fn definition_shape(data_type: crate::model::DataType, is_collection: bool) -> String {
    if is_collection {
        format!("a collection of {data_type}")
    } else {
        let article = if data_type == crate::model::DataType::Integer { "an" } else { "a" };
        format!("{article} {data_type}")
    }
}

/// Something read from the tenant that this version does not understand: a
/// definition whose `status` or `type` is a value Graph added later, an
/// assigned value with an annotation it does not know (`#Int64`). Graph's
/// metadata declares these as open strings, so new values can appear any day.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotUnderstood {
    /// The attribute set it is in.
    pub set: String,
    /// The attribute, unless the whole set object was not understood.
    pub attribute: Option<String>,
    /// The principal it is assigned on; `None` for a definition.
    pub principal: Option<PrincipalId>,
    /// What was not understood, e.g. "status `Retired`".
    pub what: String,
}

impl NotUnderstood {
    /// Whether this covers `set.attribute` (on `principal`, for an assigned value).
    pub fn covers(&self, principal: Option<&PrincipalId>, set: &str, attribute: &str) -> bool {
        self.principal.as_ref() == principal
            && self.set == set
            && self.attribute.as_deref().is_none_or(|held| held == attribute)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LiveAttributeSet {
    pub id: String,
    pub description: Option<String>,
    pub max_attributes_per_set: Option<i32>,
}

/// A principal's kind and object id: its identity in Graph.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrincipalId {
    pub kind: PrincipalKind,
    pub object_id: String,
}

/// A user or service principal and its assigned values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LivePrincipal {
    pub kind: PrincipalKind,
    pub object_id: String,
    /// Users only.
    pub user_principal_name: Option<String>,
    /// Service principals only.
    pub app_id: Option<String>,
    pub display_name: Option<String>,
    /// The derived type Graph names in `@odata.type` when the object is not
    /// a plain user or service principal: `#microsoft.graph.agentUser` (a
    /// user), `#microsoft.graph.agentIdentity` and
    /// `#microsoft.graph.agentIdentityBlueprintPrincipal` (service
    /// principals). They are read, planned and written as their base kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub odata_type: Option<String>,
    /// `None` when Graph answered `null`: no values, or no permission to read them.
    pub custom_security_attributes: Option<PrincipalAssignments>,
}

impl LivePrincipal {
    pub fn id(&self) -> PrincipalId {
        PrincipalId { kind: self.kind, object_id: self.object_id.clone() }
    }

    /// The value of `set.attribute`, if one is assigned.
    pub fn value(&self, set: &str, attribute: &str) -> Option<&AttributeValue> {
        self.custom_security_attributes.as_ref()?.get(set)?.get(attribute)
    }
}

/// Which form of key a principal is found by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyForm {
    ObjectId,
    UserPrincipalName,
    AppId,
}

/// The principals of a `LiveState` by every key the files may use for them;
/// keys compare ignoring ASCII case.
pub struct PrincipalIndex<'a> {
    principals: &'a BTreeMap<PrincipalId, LivePrincipal>,
    /// One map per kind and form of key, built on first use (files that
    /// key users by UPN never need the users' object-id map), keyed by the
    /// key lowercased. Keys that are lowercase already (GUIDs, most UPNs)
    /// are borrowed, not copied.
    maps: [[OnceCell<KeyMap<'a>>; 3]; 2],
}

/// Lowercased key → principal.
type KeyMap<'a> = HashMap<Cow<'a, str>, &'a LivePrincipal>;

impl<'a> PrincipalIndex<'a> {
    /// The principal `key` names, if it was read.
    pub fn find(&self, key: &PrincipalKey) -> Option<&'a LivePrincipal> {
        let (form, text) = match key.lookup() {
            PrincipalLookup::ObjectId(id) => (KeyForm::ObjectId, id),
            PrincipalLookup::UserPrincipalName(upn) => (KeyForm::UserPrincipalName, upn),
            PrincipalLookup::AppId(app_id) => (KeyForm::AppId, app_id),
        };
        self.map(key.kind(), form).get(lowercase(text).as_ref()).copied()
    }

    fn map(&self, kind: PrincipalKind, form: KeyForm) -> &KeyMap<'a> {
        self.maps[kind as usize][form as usize].get_or_init(|| {
            let principals = self.principals.values().filter(|principal| principal.kind == kind);
            let mut map = HashMap::with_capacity(principals.clone().count());
            let keyed = principals.filter_map(|principal| {
                let key = match form {
                    KeyForm::ObjectId => Some(&principal.object_id),
                    KeyForm::UserPrincipalName => principal.user_principal_name.as_ref(),
                    KeyForm::AppId => principal.app_id.as_ref(),
                };
                Some((lowercase(key?), principal))
            });
            // Of two principals with one key, the later (by id) wins.
            map.extend(keyed);
            map
        })
    }
}

fn lowercase(text: &str) -> Cow<'_, str> {
    if text.bytes().any(|byte| byte.is_ascii_uppercase()) {
        Cow::Owned(text.to_ascii_lowercase())
    } else {
        Cow::Borrowed(text)
    }
}

impl LiveState {
    /// Whether every principal of `kind` in the tenant was read.
    pub fn holds_every(&self, kind: PrincipalKind) -> bool {
        self.principals_complete || self.complete_kinds.contains(&kind)
    }

    /// The principal a files key names, if it was read. One lookup builds an
    /// index; for many, build it once with `principal_index`.
    pub fn principal(&self, key: &PrincipalKey) -> Option<&LivePrincipal> {
        self.principal_index().find(key)
    }

    /// An index to find principals by the keys the files use, each in
    /// constant time. UPNs, object ids and appIds compare ignoring ASCII case,
    /// as Entra treats them.
    pub fn principal_index(&self) -> PrincipalIndex<'_> {
        PrincipalIndex { principals: &self.principals, maps: Default::default() }
    }

    /// The members of group `id` reached through nested groups, each once,
    /// nested groups included, breadth first; `None` when the group is not
    /// held. A cycle ends: each group is expanded once, and the group asked
    /// about is not among its own members.
    pub fn transitive_members(&self, id: &str) -> Option<Vec<&GroupMember>> {
        let groups = self.groups.as_deref()?;
        let find = |id: &str| groups.iter().find(|group| group.id.eq_ignore_ascii_case(id));
        let start = find(id)?;
        let mut seen = std::collections::HashSet::from([start.id.to_ascii_lowercase()]);
        let mut queue = std::collections::VecDeque::from([start]);
        let mut members = Vec::new();
        while let Some(group) = queue.pop_front() {
            for member in &group.members {
                if !seen.insert(member.id.to_ascii_lowercase()) {
                    continue;
                }
                if member.is_group()
                    && let Some(nested) = find(&member.id)
                {
                    queue.push_back(nested);
                }
                members.push(member);
            }
        }
        Some(members)
    }

    /// The live set whose id equals `id` ignoring case, if any.
    pub fn attribute_set_ignoring_case(&self, id: &str) -> Option<&LiveAttributeSet> {
        self.attribute_sets
            .get(id)
            .or_else(|| self.attribute_sets.values().find(|set| set.id.eq_ignore_ascii_case(id)))
    }

    /// The live definition whose id equals `id` ignoring case, if any.
    pub fn definition_ignoring_case(&self, id: &str) -> Option<&Definition> {
        self.definitions
            .get(id)
            .or_else(|| self.definitions.values().find(|def| def.id().eq_ignore_ascii_case(id)))
    }

    /// Whether `set.attribute` (on `principal`, for an assigned value) is
    /// something the tenant holds that was not understood.
    pub fn is_not_understood(&self, principal: Option<&PrincipalId>, set: &str, attribute: &str) -> bool {
        self.not_understood.iter().any(|item| item.covers(principal, set, attribute))
    }

    /// Sets aside, as not understood, each value a principal holds that the
    /// definitions read cannot account for: a value whose JSON type or shape
    /// disagrees with its definition (`"8"` for an Integer, `"true"` for a
    /// Boolean, a list for a single value), and a value of an attribute whose
    /// definition the read did not return (a sign-in allowed to read some
    /// attribute sets only may see such values; what Graph lists then is
    /// not documented). Read as they are, the first would be exported as
    /// files the loader refuses, and the second dropped from an export and
    /// unassigned by a plan of it. Set aside, they are reported and never
    /// planned over. Values of definitions that were themselves not
    /// understood stay: those are covered already.
    pub fn set_aside_values_unlike_their_definitions(&mut self) {
        let shapes = ValueShapes::of(self);
        let mut set_aside = Vec::new();
        for principal in self.principals.values_mut() {
            set_aside.extend(shapes.set_aside(principal));
        }
        self.not_understood.extend(set_aside);
    }

    /// Definitions of the set `set_id`.
    pub fn definitions_in<'a>(&'a self, set_id: &'a str) -> impl Iterator<Item = &'a Definition> + 'a {
        self.definitions.values().filter(move |def| def.attribute_set == set_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_unlike_their_definition_or_without_one_are_set_aside_and_the_rest_stay() {
        use crate::model::{DataType, SetValues};
        let mut live = LiveState::default();
        let mut tags = Definition::with_defaults("Eng", "Tags", DataType::String);
        tags.is_collection = true;
        for definition in [Definition::with_defaults("Eng", "Cost", DataType::Integer), tags] {
            live.definitions.insert(definition.id(), definition);
        }
        live.not_understood.push(NotUnderstood {
            set: "Eng".into(),
            attribute: Some("When".into()),
            principal: None,
            what: "type `DateTime`".into(),
        });
        let mut values = SetValues::new();
        values.insert("Cost".into(), AttributeValue::String("8".into()));
        values.insert("Tags".into(), AttributeValue::strings(vec!["a".into()]));
        values.insert("When".into(), AttributeValue::String("2026-01-01".into()));
        values.insert("Ghost".into(), AttributeValue::Integer(1));
        let mut other = SetValues::new();
        other.insert("Gone".into(), AttributeValue::Boolean(true));
        let mut sets = PrincipalAssignments::new();
        sets.insert("Eng".into(), values);
        sets.insert("Other".into(), other);
        let principal = LivePrincipal {
            odata_type: None,
            kind: PrincipalKind::User,
            object_id: "u1".into(),
            user_principal_name: None,
            app_id: None,
            display_name: None,
            custom_security_attributes: Some(sets),
        };
        live.principals.insert(principal.id(), principal);
        live.set_aside_values_unlike_their_definitions();

        let held = live.principals.values().next().unwrap().custom_security_attributes.as_ref().unwrap();
        let kept: Vec<String> = held
            .iter()
            .flat_map(|(set, values)| values.keys().map(move |name| format!("{set}.{name}")))
            .collect();
        assert_eq!(kept, vec!["Eng.Tags", "Eng.When"], "a set left empty is removed");
        let set_aside: Vec<(String, String)> = live
            .not_understood
            .iter()
            .filter(|item| item.principal.is_some())
            .map(|item| (format!("{}.{}", item.set, item.attribute.as_deref().unwrap()), item.what.clone()))
            .collect();
        assert_eq!(
            set_aside,
            vec![
                ("Eng.Cost".to_owned(), "the string `\"8\"`, where the attribute is an Integer".to_owned()),
                ("Eng.Ghost".to_owned(), UNREAD_DEFINITION.to_owned()),
                ("Other.Gone".to_owned(), UNREAD_DEFINITION.to_owned()),
            ]
        );
    }

    fn member(odata_type: &str, id: &str) -> GroupMember {
        GroupMember { odata_type: odata_type.into(), id: id.into(), other: Default::default() }
    }

    #[test]
    fn members_are_users_or_service_principals_by_their_derived_types_too() {
        let kinds = [
            ("#microsoft.graph.user", Some(PrincipalKind::User)),
            ("#microsoft.graph.agentUser", Some(PrincipalKind::User)),
            ("#microsoft.graph.servicePrincipal", Some(PrincipalKind::ServicePrincipal)),
            ("#microsoft.graph.agentIdentity", Some(PrincipalKind::ServicePrincipal)),
            ("#microsoft.graph.agentIdentityBlueprintPrincipal", Some(PrincipalKind::ServicePrincipal)),
            ("#microsoft.graph.device", None),
            ("#microsoft.graph.orgContact", None),
            ("#microsoft.graph.group", None),
            ("#microsoft.graph.somethingNew", None),
        ];
        for (odata_type, kind) in kinds {
            assert_eq!(member(odata_type, "x").principal_kind(), kind, "{odata_type}");
        }
    }

    #[test]
    fn a_membership_keeps_principals_once_counts_the_rest_and_has_a_bound() {
        let transitive = [
            member("#microsoft.graph.user", "B"),
            member("#microsoft.graph.user", "b"),
            member("#microsoft.graph.agentIdentity", "a"),
            member("#microsoft.graph.group", "g"),
            member("#microsoft.graph.device", "d"),
        ];
        let Membership::Group { members, other_members, .. } = Membership::of_group("G", None, &transitive)
        else {
            panic!("one group")
        };
        assert_eq!(
            members,
            vec![
                PrincipalId { kind: PrincipalKind::User, object_id: "b".into() },
                PrincipalId { kind: PrincipalKind::ServicePrincipal, object_id: "a".into() },
            ]
        );
        assert_eq!(other_members, vec!["#microsoft.graph.device d".to_owned()]);
        assert_eq!(Membership::of_group_within("G", None, &transitive, 1), Membership::TooLarge { read: 2 });
    }
}
