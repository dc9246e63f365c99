//! The validated desired state: what the files say the tenant should hold,
//! normalised (defaults applied, collections sorted, maps ordered) so that the
//! diff can compare it with the live state by plain equality.
//!
//! Nothing here knows about YAML: `desired::validate` builds these values
//! from the files as written, and nothing after it sees a raw YAML type.
//! `live` is the other state the plan compares (the tenant as read), and
//! `synthetic` makes seeded pairs of both for benchmarks and scale tests.

pub mod live;
pub mod requirement;
pub mod synthetic;

use std::collections::BTreeMap;
use std::fmt;
use std::ops::{Deref, DerefMut, Index};

use litemap::LiteMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Graph's limit on the characters of a set or attribute name.
pub const MAX_NAME_LEN: usize = 32;
/// Graph's limit on the characters of a set or attribute description.
pub const MAX_DESCRIPTION_LEN: usize = 128;
/// Graph's limit on the characters of one attribute value (and allowed value).
pub const MAX_VALUE_LEN: usize = 64;
/// Graph's limit on predefined values per definition.
pub const MAX_ALLOWED_VALUES: usize = 100;
/// Graph's limit on values assigned to one principal, across all sets.
pub const MAX_ASSIGNED_VALUES: usize = 50;
/// Graph's limit on attribute sets per tenant.
pub const MAX_ATTRIBUTE_SETS: usize = 500;
/// Graph's limit on active (Available) definitions per tenant.
pub const MAX_ACTIVE_DEFINITIONS: usize = 500;

/// Everything the files declare, validated.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DesiredState {
    pub policy: Policy,
    /// Keyed by attribute set id, exactly as written.
    pub attribute_sets: BTreeMap<String, AttributeSet>,
    /// Keyed by the principal as the files name it.
    pub assignments: BTreeMap<PrincipalKey, PrincipalAssignments>,
    /// Drift the files accept (`acknowledgedDrift`): a plan address
    /// (`Engineering.Legacy`, `user:bob@contoso.com/Engineering.Project`)
    /// and the reason written beside it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub acknowledged_drift: BTreeMap<String, String>,
    /// Attributes whose definitions the files manage but whose values
    /// another writer owns (`valuesOwnedBy`: HR inbound provisioning, a
    /// script): keyed `Set` (every attribute of the set, declared or not) or
    /// `Set.Attribute`, each with the writer the files name. The plan never
    /// assigns or unassigns these values, on any principal.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub values_owned_elsewhere: BTreeMap<String, String>,
    /// Deactivations the files make knowing that enabled or report-only
    /// policies name them (`acknowledgedReferences`): the plan address
    /// (`Access.Tier`, `Access.Tier=Tier0`) and the reason written beside it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub acknowledged_references: BTreeMap<String, String>,
    /// Values assigned to the transitive members of groups
    /// (`assignments.groups`), keyed by the group as the files name it: its
    /// object id, or its display name where that is unique in the tenant.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub group_assignments: BTreeMap<String, GroupAssignments>,
    /// Coverage rules (`requirements`): populations whose every principal
    /// must hold an attribute. They change nothing; the plan lists who
    /// breaks them (`plan::coverage`). In the order the files give them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requirements: Vec<requirement::Requirement>,
}

/// What one group entry gives its transitive members.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupAssignments {
    /// Set id → attribute name → value, as for a principal.
    pub values: PrincipalAssignments,
    /// The attributes (`Set.Attribute`) this group is authoritative for:
    /// a principal holding a value of one that no source (no group, no
    /// direct entry) gives it has the value unassigned.
    #[serde(default, skip_serializing_if = "std::collections::BTreeSet::is_empty")]
    pub authoritative: std::collections::BTreeSet<String>,
}

impl DesiredState {
    /// Whether any group entry is authoritative for an attribute, which
    /// needs every holder of its values read.
    pub fn has_authoritative_groups(&self) -> bool {
        self.group_assignments.values().any(|group| !group.authoritative.is_empty())
    }
}

impl DesiredState {
    /// The definition `set.name`, when the files declare it.
    pub fn definition(&self, set: &str, name: &str) -> Option<&Definition> {
        self.attribute_sets.get(set)?.attributes.get(name)
    }

    /// The writer that owns the values of `set.attribute`, when the files
    /// say another one does (for the attribute, or for its whole set).
    pub fn values_owner(&self, set: &str, attribute: &str) -> Option<&str> {
        if self.values_owned_elsewhere.is_empty() {
            return None;
        }
        self.values_owned_elsewhere
            .get(&format!("{set}.{attribute}"))
            .or_else(|| self.values_owned_elsewhere.get(set))
            .map(String::as_str)
    }
}

/// What to do with objects that exist in the tenant but not in the files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Policy {
    pub undeclared_definitions: UndeclaredObjects,
    pub undeclared_values: UndeclaredObjects,
    pub undeclared_assignments: UndeclaredAssignments,
}

/// Policy for live definitions or allowed values the files do not mention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum UndeclaredObjects {
    /// List them as drift; change nothing.
    #[default]
    Report,
    /// Plan their deactivation.
    Deactivate,
}

/// Policy for managed-set values on principals the files do not list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum UndeclaredAssignments {
    /// Do not read them at all.
    #[default]
    Ignore,
    /// Sweep every principal and list them as drift.
    Report,
    /// Sweep every principal and plan their removal.
    Remove,
}

impl UndeclaredAssignments {
    /// Whether this policy needs every user and service principal read.
    pub fn needs_sweep(self) -> bool {
        !matches!(self, UndeclaredAssignments::Ignore)
    }
}

/// An attribute set and the definitions the files declare in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttributeSet {
    pub id: String,
    /// `None`: not managed, the live value stays.
    pub description: Option<String>,
    /// `None`: not managed, the live value stays.
    pub max_attributes_per_set: Option<i32>,
    /// Keyed by attribute name.
    pub attributes: BTreeMap<String, Definition>,
}

/// A custom security attribute definition. The same type describes the live
/// one, where `description: None` means Graph holds `null`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Definition {
    pub attribute_set: String,
    pub name: String,
    pub description: Option<String>,
    #[serde(rename = "type")]
    pub data_type: DataType,
    pub is_collection: bool,
    pub is_searchable: bool,
    pub use_pre_defined_values_only: bool,
    pub status: Status,
    /// Sorted by value id; ids are unique (case-sensitively).
    pub allowed_values: Vec<AllowedValue>,
}

impl Definition {
    /// An Available, searchable, single-valued definition without a
    /// description or allowed values: what the files get by declaring only
    /// `type`.
    pub fn with_defaults(set: &str, name: &str, data_type: DataType) -> Definition {
        Definition {
            attribute_set: set.to_owned(),
            name: name.to_owned(),
            description: None,
            data_type,
            is_collection: false,
            is_searchable: true,
            use_pre_defined_values_only: false,
            status: Status::Available,
            allowed_values: Vec::new(),
        }
    }

    /// Graph's id of a definition: `{attributeSet}_{name}`.
    pub fn id(&self) -> String {
        definition_id(&self.attribute_set, &self.name)
    }

    pub fn allowed_value(&self, id: &str) -> Option<&AllowedValue> {
        self.allowed_values.iter().find(|value| value.id == id)
    }
}

/// Graph's id of a definition: `{attributeSet}_{name}`. Names cannot contain
/// `_`, so the first underscore splits it back unambiguously.
pub fn definition_id(set: &str, name: &str) -> String {
    // Not `format!`: the diff and the plan's checks look definitions up by
    // id for every changed value, and this is several times faster.
    let mut id = String::with_capacity(set.len() + 1 + name.len());
    id.push_str(set);
    id.push('_');
    id.push_str(name);
    id
}

/// The data type of an attribute. Graph spells these exactly so.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
pub enum DataType {
    String,
    Integer,
    Boolean,
}

impl DataType {
    pub fn as_str(self) -> &'static str {
        match self {
            DataType::String => "String",
            DataType::Integer => "Integer",
            DataType::Boolean => "Boolean",
        }
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A definition's status: `Deprecated` is how Graph spells deactivated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub enum Status {
    #[default]
    Available,
    Deprecated,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Available => "Available",
            Status::Deprecated => "Deprecated",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A predefined value; its id is the value itself (case-sensitive).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AllowedValue {
    pub id: String,
    pub is_active: bool,
}

/// A user or service principal, as the files key it.
///
/// Users: a userPrincipalName, or an object id (a GUID). Service principals:
/// an appId (a GUID), or `id:<object id>`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "key", rename_all = "camelCase")]
pub enum PrincipalKey {
    User(String),
    ServicePrincipal(String),
}

impl PrincipalKey {
    pub fn kind(&self) -> PrincipalKind {
        match self {
            PrincipalKey::User(_) => PrincipalKind::User,
            PrincipalKey::ServicePrincipal(_) => PrincipalKind::ServicePrincipal,
        }
    }

    /// The key as written in the files.
    pub fn key(&self) -> &str {
        match self {
            PrincipalKey::User(key) | PrincipalKey::ServicePrincipal(key) => key,
        }
    }

    /// How the key identifies the principal in Graph.
    pub fn lookup(&self) -> PrincipalLookup<'_> {
        match self {
            PrincipalKey::User(key) if is_guid(key) => PrincipalLookup::ObjectId(key),
            PrincipalKey::User(key) => PrincipalLookup::UserPrincipalName(key),
            PrincipalKey::ServicePrincipal(key) => match key.strip_prefix("id:") {
                Some(object_id) => PrincipalLookup::ObjectId(object_id),
                None => PrincipalLookup::AppId(key),
            },
        }
    }
}

/// `user:alice@contoso.com`, `servicePrincipal:<appId>`, `servicePrincipal:id:<object id>`.
impl fmt::Display for PrincipalKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind().as_str(), self.key())
    }
}

/// How a principal key finds its principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalLookup<'a> {
    ObjectId(&'a str),
    UserPrincipalName(&'a str),
    AppId(&'a str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PrincipalKind {
    User,
    ServicePrincipal,
}

impl PrincipalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalKind::User => "user",
            PrincipalKind::ServicePrincipal => "servicePrincipal",
        }
    }
}

/// Whether `text` is a GUID in its canonical 8-4-4-4-12 hexadecimal form.
/// A group display name folded for comparison: upper-cased, then
/// lower-cased, over all of Unicode (`Ärzte`, `ärzte` and `ÄRZTE` fold
/// alike; so do `Straße` and `STRASSE`). Microsoft documents `$filter` `eq`
/// on a group's `displayName` but not how it compares letter case, so the
/// tool takes the widest reading: names that fold alike name the same group,
/// and a name two groups share that way is ambiguous. `validate`, the state
/// file and the Graph path all compare names through this.
pub fn display_name_fold(name: &str) -> String {
    name.to_uppercase().to_lowercase()
}

/// Whether two group display names are the same name (see `display_name_fold`).
pub fn same_display_name(left: &str, right: &str) -> bool {
    left == right || display_name_fold(left) == display_name_fold(right)
}

pub fn is_guid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, len)| group.len() == len && group.chars().all(|c| c.is_ascii_hexdigit()))
}

/// The values of one principal: set id → attribute name → value.
pub type PrincipalAssignments = NameMap<SetValues>;

/// The values of one principal in one set: attribute name → value.
pub type SetValues = NameMap<AttributeValue>;

/// A small map keyed by set or attribute name, held as one vector sorted by
/// key. A principal has a few sets of a few values each, and a tenant has
/// 100,000 principals: B-tree nodes, allocated for 11 entries each, would cost
/// ten times the data. It iterates, compares and serialises (as a JSON object)
/// in key order, like a `BTreeMap`.
#[derive(Clone, PartialEq, Eq)]
pub struct NameMap<V>(LiteMap<String, V>);

impl<V> NameMap<V> {
    pub fn new() -> Self {
        NameMap(LiteMap::new())
    }

    /// An empty map with room for `capacity` entries.
    pub fn with_capacity(capacity: usize) -> Self {
        NameMap(LiteMap::with_capacity(capacity))
    }

    /// Frees the room grown for entries that never came, for maps built
    /// one entry at a time and then kept.
    pub fn shrink_to_fit(&mut self) {
        let mut entries = std::mem::take(&mut self.0).into_tuple_vec();
        entries.shrink_to_fit();
        self.0 = LiteMap::from_sorted_store_unchecked(entries);
    }
}

impl<V: fmt::Debug> fmt::Debug for NameMap<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.0.iter()).finish()
    }
}

impl<V> Default for NameMap<V> {
    fn default() -> Self {
        NameMap::new()
    }
}

impl<V> Deref for NameMap<V> {
    type Target = LiteMap<String, V>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl<V> DerefMut for NameMap<V> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl<V> Index<&str> for NameMap<V> {
    type Output = V;

    /// The value of `key`; panics when there is none, like `BTreeMap`.
    fn index(&self, key: &str) -> &V {
        self.0.get(key).expect("no entry for this name")
    }
}

impl<V> FromIterator<(String, V)> for NameMap<V> {
    /// Sorted by key; of equal keys the last wins.
    fn from_iter<I: IntoIterator<Item = (String, V)>>(entries: I) -> Self {
        let mut map = NameMap(LiteMap::from_iter(entries));
        map.shrink_to_fit();
        map
    }
}

impl<'a, V> IntoIterator for &'a NameMap<V> {
    type Item = (&'a String, &'a V);
    type IntoIter = <&'a LiteMap<String, V> as IntoIterator>::IntoIter;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl<'a, V> IntoIterator for &'a mut NameMap<V> {
    type Item = (&'a String, &'a mut V);
    type IntoIter = <&'a mut LiteMap<String, V> as IntoIterator>::IntoIter;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter_mut()
    }
}

impl<V> IntoIterator for NameMap<V> {
    type Item = (String, V);
    type IntoIter = std::vec::IntoIter<(String, V)>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_tuple_vec().into_iter()
    }
}

/// Always a JSON object, even when empty (`LiteMap` writes an empty map as
/// a list, as it cannot tell its keys are strings).
impl<V: Serialize> Serialize for NameMap<V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for NameMap<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let entries = BTreeMap::<String, V>::deserialize(deserializer)?;
        Ok(entries.into_iter().collect())
    }
}

/// One assigned attribute value, typed. Collections are kept sorted and free
/// of duplicates, because Graph gives them no order: two collections with the
/// same members are the same value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AttributeValue {
    Boolean(bool),
    Integer(i32),
    String(String),
    Integers(Vec<i32>),
    Strings(Vec<String>),
}

impl AttributeValue {
    /// A collection with its members sorted and duplicates removed, holding
    /// no spare room (a large tenant keeps hundreds of thousands).
    pub fn strings(mut values: Vec<String>) -> Self {
        values.sort();
        values.dedup();
        values.shrink_to_fit();
        AttributeValue::Strings(values)
    }

    /// A collection with its members sorted and duplicates removed, holding
    /// no spare room.
    pub fn integers(mut values: Vec<i32>) -> Self {
        values.sort_unstable();
        values.dedup();
        values.shrink_to_fit();
        AttributeValue::Integers(values)
    }

    /// How many values this counts for against the 50-per-principal limit.
    pub fn count(&self) -> usize {
        match self {
            AttributeValue::Boolean(_) | AttributeValue::Integer(_) | AttributeValue::String(_) => 1,
            AttributeValue::Integers(values) => values.len(),
            AttributeValue::Strings(values) => values.len(),
        }
    }

    pub fn is_collection(&self) -> bool {
        matches!(self, AttributeValue::Integers(_) | AttributeValue::Strings(_))
    }

    /// An empty collection, which Graph treats as no value at all.
    pub fn is_empty_collection(&self) -> bool {
        match self {
            AttributeValue::Integers(values) => values.is_empty(),
            AttributeValue::Strings(values) => values.is_empty(),
            _ => false,
        }
    }

    /// The data type of the value; an empty collection has none of its own.
    pub fn data_type(&self) -> Option<DataType> {
        match self {
            AttributeValue::Boolean(_) => Some(DataType::Boolean),
            AttributeValue::Integer(_) => Some(DataType::Integer),
            AttributeValue::String(_) => Some(DataType::String),
            AttributeValue::Integers(values) if !values.is_empty() => Some(DataType::Integer),
            AttributeValue::Strings(values) if !values.is_empty() => Some(DataType::String),
            AttributeValue::Integers(_) | AttributeValue::Strings(_) => None,
        }
    }

    /// The value's JSON type and the value, in words, for what is reported
    /// about a value that is not understood: ``the string `"8"` ``.
    pub fn described(&self) -> String {
        match self {
            AttributeValue::Boolean(value) => format!("the boolean `{value}`"),
            AttributeValue::Integer(value) => format!("the integer `{value}`"),
            AttributeValue::String(value) => format!("the string `{value:?}`"),
            AttributeValue::Integers(values) => format!("the integers `{values:?}`"),
            AttributeValue::Strings(values) => format!("the strings `{values:?}`"),
        }
    }

    /// The members as text, for predefined-value checks and display.
    pub fn members(&self) -> Vec<String> {
        match self {
            AttributeValue::Boolean(value) => vec![value.to_string()],
            AttributeValue::Integer(value) => vec![value.to_string()],
            AttributeValue::String(value) => vec![value.clone()],
            AttributeValue::Integers(values) => values.iter().map(ToString::to_string).collect(),
            AttributeValue::Strings(values) => values.clone(),
        }
    }
}

impl fmt::Display for AttributeValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttributeValue::Boolean(value) => write!(f, "{value}"),
            AttributeValue::Integer(value) => write!(f, "{value}"),
            AttributeValue::String(value) => write!(f, "{value:?}"),
            AttributeValue::Integers(values) => write!(f, "{values:?}"),
            AttributeValue::Strings(values) => write!(f, "{values:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principal_keys_resolve_by_their_form() {
        let guid = "7c2f3c3e-1111-4a4a-9b9b-0123456789ab";
        assert_eq!(
            PrincipalKey::User("alice@contoso.com".into()).lookup(),
            PrincipalLookup::UserPrincipalName("alice@contoso.com")
        );
        assert_eq!(PrincipalKey::User(guid.into()).lookup(), PrincipalLookup::ObjectId(guid));
        assert_eq!(PrincipalKey::ServicePrincipal(guid.into()).lookup(), PrincipalLookup::AppId(guid));
        assert_eq!(
            PrincipalKey::ServicePrincipal(format!("id:{guid}")).lookup(),
            PrincipalLookup::ObjectId(guid)
        );
        assert_eq!(
            PrincipalKey::ServicePrincipal(format!("id:{guid}")).to_string(),
            format!("servicePrincipal:id:{guid}")
        );
    }

    #[test]
    fn guids_are_recognised_only_in_canonical_form() {
        assert!(is_guid("7c2f3c3e-1111-4a4a-9b9b-0123456789AB"));
        assert!(!is_guid("7c2f3c3e11114a4a9b9b0123456789ab"));
        assert!(!is_guid("alice@contoso.com"));
        assert!(!is_guid("7c2f3c3e-1111-4a4a-9b9b-0123456789ag"));
    }

    #[test]
    fn collections_compare_as_sets() {
        assert_eq!(
            AttributeValue::strings(vec!["Cascade".into(), "Baker".into(), "Baker".into()]),
            AttributeValue::strings(vec!["Baker".into(), "Cascade".into()])
        );
        assert_eq!(AttributeValue::integers(vec![3, 1]).count(), 2);
    }

    #[test]
    fn name_maps_serialise_like_btree_maps_even_when_empty() {
        let values: SetValues = [
            ("Zone".to_owned(), AttributeValue::Integer(1)),
            ("Area".to_owned(), AttributeValue::Boolean(true)),
            ("Zone".to_owned(), AttributeValue::Integer(2)),
        ]
        .into_iter()
        .collect();
        assert_eq!(values.len(), 2, "of equal keys the last wins");
        assert_eq!(serde_json::to_string(&values).unwrap(), r#"{"Area":true,"Zone":2}"#);
        let sets = PrincipalAssignments::from_iter([
            ("Eng".to_owned(), values),
            ("Ops".to_owned(), SetValues::new()),
        ]);
        let text = serde_json::to_string(&sets).unwrap();
        assert_eq!(text, r#"{"Eng":{"Area":true,"Zone":2},"Ops":{}}"#);
        assert_eq!(serde_json::from_str::<PrincipalAssignments>(&text).unwrap(), sets);
        assert_eq!(serde_json::to_string(&PrincipalAssignments::new()).unwrap(), "{}");
    }
}
