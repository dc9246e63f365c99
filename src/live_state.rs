//! The tenant as read: a plain-data snapshot that the diff compares with the
//! desired state. It is filled by a `Tenant` (Microsoft Graph or a local state
//! file) and knows nothing about either.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

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

/// The principals of a `LiveState` by every key the files may use for them;
/// keys compare ignoring ASCII case.
pub struct PrincipalIndex<'a> {
    users: KeyMaps<'a>,
    service_principals: KeyMaps<'a>,
}

/// The principals of one kind by each form of key, lowercased. Keys that are
/// lowercase already (GUIDs, most UPNs) are borrowed, not copied.
#[derive(Default)]
struct KeyMaps<'a> {
    object_id: HashMap<Cow<'a, str>, &'a LivePrincipal>,
    user_principal_name: HashMap<Cow<'a, str>, &'a LivePrincipal>,
    app_id: HashMap<Cow<'a, str>, &'a LivePrincipal>,
}

impl<'a> KeyMaps<'a> {
    /// Room for `principals` of `kind`: every one has an object id, users a
    /// UPN and service principals an appId.
    fn with_capacity(kind: PrincipalKind, principals: usize) -> Self {
        let mut maps = KeyMaps { object_id: HashMap::with_capacity(principals), ..KeyMaps::default() };
        match kind {
            PrincipalKind::User => maps.user_principal_name.reserve(principals),
            PrincipalKind::ServicePrincipal => maps.app_id.reserve(principals),
        }
        maps
    }

    fn insert(&mut self, principal: &'a LivePrincipal) {
        self.object_id.insert(lowercase(&principal.object_id), principal);
        if let Some(upn) = &principal.user_principal_name {
            self.user_principal_name.insert(lowercase(upn), principal);
        }
        if let Some(app_id) = &principal.app_id {
            self.app_id.insert(lowercase(app_id), principal);
        }
    }
}

fn lowercase(text: &str) -> Cow<'_, str> {
    if text.bytes().any(|byte| byte.is_ascii_uppercase()) {
        Cow::Owned(text.to_ascii_lowercase())
    } else {
        Cow::Borrowed(text)
    }
}

impl<'a> PrincipalIndex<'a> {
    /// The principal `key` names, if it was read.
    pub fn find(&self, key: &PrincipalKey) -> Option<&'a LivePrincipal> {
        let maps = match key.kind() {
            PrincipalKind::User => &self.users,
            PrincipalKind::ServicePrincipal => &self.service_principals,
        };
        let (map, text) = match key.lookup() {
            PrincipalLookup::ObjectId(id) => (&maps.object_id, id),
            PrincipalLookup::UserPrincipalName(upn) => (&maps.user_principal_name, upn),
            PrincipalLookup::AppId(app_id) => (&maps.app_id, app_id),
        };
        map.get(lowercase(text).as_ref()).copied()
    }
}

impl LiveState {
    /// The principal a files key names, if it was read. One lookup builds an
    /// index; for many, build it once with `principal_index`.
    pub fn principal(&self, key: &PrincipalKey) -> Option<&LivePrincipal> {
        self.principal_index().find(key)
    }

    /// An index to find principals by the keys the files use, each in
    /// constant time. UPNs, object ids and appIds compare ignoring ASCII case,
    /// as Entra treats them.
    pub fn principal_index(&self) -> PrincipalIndex<'_> {
        let users = self.principals.keys().filter(|id| id.kind == PrincipalKind::User).count();
        let mut index = PrincipalIndex {
            users: KeyMaps::with_capacity(PrincipalKind::User, users),
            service_principals: KeyMaps::with_capacity(
                PrincipalKind::ServicePrincipal,
                self.principals.len() - users,
            ),
        };
        for principal in self.principals.values() {
            match principal.kind {
                PrincipalKind::User => index.users.insert(principal),
                PrincipalKind::ServicePrincipal => index.service_principals.insert(principal),
            }
        }
        index
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

    /// Definitions of the set `set_id`.
    pub fn definitions_in<'a>(&'a self, set_id: &'a str) -> impl Iterator<Item = &'a Definition> + 'a {
        self.definitions.values().filter(move |def| def.attribute_set == set_id)
    }
}
