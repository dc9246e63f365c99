//! The desired-state file exactly as written (format version 1; ARCHITECTURE.md, "The desired-state file"):
//! every key and value keeps its position so that validation can point at it.
//!
//! These types are also the source of `schema/entra-csa.schema.json`
//! (schemars reads their doc comments as descriptions). `read` builds them from
//! a YAML tree and reports every structural problem — unknown keys with the
//! nearest known one, wrong types — rather than stopping at the first.

use std::borrow::Cow;
use std::collections::BTreeMap;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

use crate::desired::diagnostic::{Diagnostic, Place, nearest};
use crate::desired::yaml::{Node, Position, Value};
use crate::model::{DataType, Status, UndeclaredAssignments, UndeclaredObjects};

/// A value and the position it was written at.
#[derive(Debug, Clone, PartialEq)]
pub struct Located<T> {
    pub value: T,
    pub at: Position,
}

impl<T> Located<T> {
    pub fn new(value: T, at: Position) -> Self {
        Located { value, at }
    }
}

impl<T: JsonSchema> JsonSchema for Located<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }

    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }

    fn schema_id() -> Cow<'static, str> {
        T::schema_id()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        T::json_schema(generator)
    }
}

/// A YAML mapping with user-chosen keys (set ids, attribute names, principals),
/// in document order.
#[derive(Debug, Clone, PartialEq)]
pub struct Entries<V>(pub Vec<(Located<String>, V)>);

impl<V> Default for Entries<V> {
    fn default() -> Self {
        Entries(Vec::new())
    }
}

impl<V: JsonSchema> JsonSchema for Entries<V> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        <BTreeMap<String, V>>::schema_name()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        <BTreeMap<String, V>>::json_schema(generator)
    }
}

/// A desired-state file of entra-csa: Microsoft Entra ID custom security
/// attributes as code. Several files (or a folder of them) make one desired state.
#[derive(Debug, Clone, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(title = "entra-csa desired state, format version 1")]
pub struct ManifestFile {
    /// Format version of this file. Always 1.
    #[schemars(with = "u8", required, range(min = 1, max = 1))]
    pub version: Option<Located<i64>>,
    /// What to do with tenant objects the files do not declare. Declare it in one file at most.
    pub policy: Option<Located<PolicySpec>>,
    /// Attribute sets, keyed by the set's id (which is also its name): up to 32
    /// characters, no spaces or special characters (not even `_`), not starting with a digit.
    #[serde(default)]
    #[schemars(extend("propertyNames" = { "maxLength": 32, "pattern": NAME_PATTERN }))]
    pub attribute_sets: Entries<SetSpec>,
    /// Values assigned to users and service principals.
    pub assignments: Option<AssignmentsSpec>,
    /// Drift that is known and accepted, like Terraform's `ignore_changes`:
    /// each key is an address as the plan prints it under Drift
    /// (`Engineering.Legacy`, `Engineering.Project=Alpine`,
    /// `user:bob@contoso.com/Engineering.Project`), each value the reason. The
    /// plan shows these as acknowledged, not as drift; one that matches no
    /// drift any more is reported, so the list cannot rot.
    #[serde(default)]
    pub acknowledged_drift: Entries<Located<String>>,
    /// Deactivations made knowing that enabled or report-only policies
    /// (Conditional Access filters, app management exemptions) name them:
    /// each key is the address the plan deactivates (`Access.Tier`,
    /// `Access.Tier=Tier0`), each value the reason. Without it such a
    /// deactivation is a conflict.
    #[serde(default)]
    pub acknowledged_references: Entries<Located<String>>,
    /// Coverage rules: every principal of a population (`users`,
    /// `servicePrincipals`, `agentIdentities`, `agentIdentityBlueprintPrincipals`,
    /// `agentUsers`, or `{group: <id or name>}`) must hold an attribute,
    /// optionally one of some values. They change nothing: the plan lists
    /// each principal that breaks one, after the plan's own changes.
    #[serde(default)]
    pub requirements: Vec<RequirementSpec>,
}

/// One coverage rule, as written.
#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequirementSpec {
    /// What the rule is for, in words; unique among the files' requirements.
    #[schemars(with = "String", length(min = 1))]
    pub name: Located<String>,
    /// Who must hold the attribute.
    #[schemars(with = "PrincipalsSpec")]
    pub principals: Located<crate::model::requirement::Population>,
    /// The attribute every one of them must hold, as `Set.Attribute`; the
    /// files must declare it.
    #[schemars(with = "String", regex(pattern = r"^[^.\s]+\.[^.\s]+$"))]
    pub must_hold: Located<String>,
    /// The values that count, of the attribute's type (and among its
    /// allowed values when only those may be assigned). Omitted: any value
    /// counts. A collection counts when every value it holds is listed.
    #[serde(default)]
    #[schemars(with = "Vec<ScalarValue>", length(min = 1))]
    pub one_of: Vec<Located<AssignedValue>>,
    /// `report` (default): each principal that breaks the rule is a coverage
    /// finding, counted like drift (`--detailed-exitcode` exits 2).
    /// `conflict`: each is a conflict; the plan exits 1 and apply refuses it.
    #[serde(default)]
    #[schemars(with = "crate::model::requirement::OnFailure")]
    pub on_failure: Option<Located<crate::model::requirement::OnFailure>>,
    /// Where the rule starts (the list item).
    #[schemars(skip)]
    pub at: Position,
}

/// `principals:` of a requirement: a keyword, or `{group: <id or name>}`.
pub struct PrincipalsSpec;

impl JsonSchema for PrincipalsSpec {
    fn schema_name() -> Cow<'static, str> {
        "RequirementPrincipals".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let keywords: Vec<&str> =
            crate::model::requirement::POPULATION_KEYWORDS.iter().map(|(word, _)| *word).collect();
        json_schema!({
            "description": "Every user (agent users included), every service principal (agent identities and blueprint principals included), every agent identity, every agent identity blueprint principal, every agent user; or the users and service principals among a group's transitive members.",
            "anyOf": [
                { "type": "string", "enum": keywords },
                {
                    "type": "object",
                    "properties": {
                        "group": {
                            "description": "The group's object id, or its display name where that is unique in the tenant.",
                            "type": "string",
                            "minLength": 1,
                            "maxLength": 256
                        }
                    },
                    "required": ["group"],
                    "additionalProperties": false
                }
            ]
        })
    }
}

/// One value of `oneOf`: a string, an integer or a boolean.
pub struct ScalarValue;

impl JsonSchema for ScalarValue {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "ScalarValue".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "anyOf": [
                { "type": "boolean" },
                { "type": "integer", "minimum": i32::MIN, "maximum": i32::MAX },
                { "type": "string", "maxLength": 64 }
            ]
        })
    }
}

/// The JSON Schema pattern of a set or attribute name (E-OV, "Limits and constraints").
pub const NAME_PATTERN: &str =
    r#"^[^0-9\s`~!@#$%^&*()_\-+={\[}\]|\\:;"'<,>.?/][^\s`~!@#$%^&*()_\-+={\[}\]|\\:;"'<,>.?/]*$"#;

/// Policy for objects in the tenant that the files do not declare.
#[derive(Debug, Clone, Copy, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicySpec {
    /// Definitions in a declared set that the files do not mention: `report` lists
    /// them as drift, `deactivate` plans their deactivation. Default `report`.
    #[serde(default)]
    pub undeclared_definitions: UndeclaredObjects,
    /// Allowed values the files do not mention: `report` or `deactivate`. Default `report`.
    #[serde(default)]
    pub undeclared_values: UndeclaredObjects,
    /// Values of declared sets on principals the files do not list: `ignore` (default),
    /// `report` or `remove`. `report` and `remove` read every user and service principal.
    #[serde(default)]
    pub undeclared_assignments: UndeclaredAssignments,
}

/// An attribute set: a group of related attribute definitions.
#[derive(Debug, Clone, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetSpec {
    /// Up to 128 characters. Omitted: the tenant's description stays as it is
    /// (entra-csa never clears it, so `null` is refused).
    #[serde(default)]
    #[schemars(with = "String")]
    pub description: Option<Located<String>>,
    /// The most attributes this set may hold (1 to 500). Omitted: not managed
    /// (entra-csa never clears it, so `null` is refused).
    #[serde(default)]
    #[schemars(with = "i64", range(min = 1, max = 500))]
    pub max_attributes_per_set: Option<Located<i64>>,
    /// The set's attribute definitions, keyed by attribute name (same rules as set names).
    /// The definition's id in Graph is `{set}_{name}`.
    #[serde(default)]
    #[schemars(extend("propertyNames" = { "maxLength": 32, "pattern": NAME_PATTERN }))]
    pub attributes: Entries<AttributeSpec>,
    /// Another writer assigns the values of every attribute of this set (HR
    /// inbound provisioning, a PowerShell feed): name it here. entra-csa
    /// still creates, updates and deactivates the definitions and their
    /// allowed values, but never assigns or unassigns their values, on any
    /// principal, whatever `undeclaredAssignments` says; the files may not
    /// assign them.
    #[serde(default)]
    #[schemars(with = "String", length(min = 1))]
    pub values_owned_by: Option<Located<String>>,
    /// The attributes written here that could not be read (their problems
    /// are reported): declared all the same, so that their assignments are
    /// not also reported as undeclared.
    #[schemars(skip)]
    pub unreadable_attributes: Vec<String>,
}

/// A custom security attribute definition.
#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AttributeSpec {
    /// Up to 128 characters. Omitted: the tenant's description stays as it is
    /// (entra-csa never clears it, so `null` is refused).
    #[serde(default)]
    #[schemars(with = "String")]
    pub description: Option<Located<String>>,
    /// `String`, `Integer` (32-bit) or `Boolean`. Never changeable once created.
    #[serde(rename = "type")]
    pub data_type: Located<DataType>,
    /// Whether several values can be assigned. Default false. Never changeable; not for Boolean.
    #[serde(default)]
    pub is_collection: Option<Located<bool>>,
    /// Whether values are indexed for searching. Default true. Never changeable.
    #[serde(default)]
    pub is_searchable: Option<Located<bool>>,
    /// Whether only the allowed values may be assigned. Default false. Can change
    /// from true to false, never from false to true; not for Boolean.
    #[serde(default)]
    pub use_pre_defined_values_only: Option<Located<bool>>,
    /// `Available` (default) or `Deprecated` (deactivated: no new assignments).
    #[serde(default)]
    pub status: Option<Located<Status>>,
    /// Predefined values (up to 100; each up to 64 characters, case-sensitive):
    /// a plain value, or `{value, active}` to declare a deactivated one.
    #[serde(default)]
    pub allowed_values: Vec<AllowedValueSpec>,
    /// Another writer assigns this attribute's values (HR inbound
    /// provisioning, a PowerShell feed): name it here. entra-csa manages the
    /// definition and its allowed values, but never assigns or unassigns its
    /// values, on any principal; the files may not assign it.
    #[serde(default)]
    #[schemars(with = "String", length(min = 1))]
    pub values_owned_by: Option<Located<String>>,
}

/// A predefined value, as a plain value or with its `active` flag.
#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[serde(untagged)]
pub enum AllowedValueSpec {
    Plain(Located<ScalarText>),
    Full(FullAllowedValue),
}

impl AllowedValueSpec {
    pub fn value(&self) -> &Located<ScalarText> {
        match self {
            AllowedValueSpec::Plain(value) => value,
            AllowedValueSpec::Full(full) => &full.value,
        }
    }

    pub fn active(&self) -> bool {
        match self {
            AllowedValueSpec::Plain(_) => true,
            AllowedValueSpec::Full(full) => full.active.as_ref().is_none_or(|active| active.value),
        }
    }
}

/// A predefined value with its `active` flag.
#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FullAllowedValue {
    /// The value itself (its id in Graph).
    pub value: Located<ScalarText>,
    /// false: deactivated, defined but not assignable any more. Default true.
    pub active: Option<Located<bool>>,
}

/// A scalar written as a string or an integer, kept as its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScalarText {
    pub text: String,
    /// Whether it was written as an integer (not quoted).
    pub integer: bool,
}

impl JsonSchema for ScalarText {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "ScalarText".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": ["string", "integer"] })
    }
}

/// Who gets which values.
#[derive(Debug, Clone, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AssignmentsSpec {
    /// Users keyed by userPrincipalName or object id (a GUID); each maps attribute
    /// set → attribute → value. For a declared set, attributes not listed are unassigned.
    #[serde(default)]
    pub users: Entries<Entries<Entries<Located<AssignedValue>>>>,
    /// Service principals keyed by appId (a GUID) or `id:<object id>`; as for users.
    #[serde(default)]
    pub service_principals: Entries<Entries<Entries<Located<AssignedValue>>>>,
    /// Groups keyed by object id (a GUID), or by display name where it is
    /// unique in the tenant; each maps attribute set → attribute → value,
    /// and the values go to the group's transitive members (users, service
    /// principals, agent identities). A group manages only the attributes
    /// it names. Write `{value: …, authoritative: true}` to also unassign
    /// the attribute from every principal no source gives it to.
    #[serde(default)]
    pub groups: Entries<GroupSpec>,
}

/// One group entry: attribute set → attribute → value, as for a principal,
/// and the attributes written with `authoritative: true`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GroupSpec {
    pub sets: Entries<Entries<Located<AssignedValue>>>,
    /// `(set, attribute)` of each `authoritative: true`, and where it is written.
    pub authoritative: Vec<(String, String, Position)>,
}

impl JsonSchema for GroupSpec {
    fn schema_name() -> Cow<'static, str> {
        "GroupAssignments".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let value = generator.subschema_for::<AssignedValue>();
        json_schema!({
            "description": "Attribute set → attribute → value for the group's transitive members. A value may be written `{value: …, authoritative: true}`: then a principal that holds the attribute and that no group or direct entry gives it to has it unassigned.",
            "type": "object",
            "propertyNames": { "maxLength": 32, "pattern": NAME_PATTERN },
            "additionalProperties": {
                "type": "object",
                "propertyNames": { "maxLength": 32, "pattern": NAME_PATTERN },
                "additionalProperties": {
                    "anyOf": [
                        value.clone(),
                        {
                            "type": "object",
                            "properties": {
                                "value": value,
                                "authoritative": {
                                    "description": "Unassign this attribute from principals that no source gives it to (default false).",
                                    "type": "boolean"
                                }
                            },
                            "required": ["value"],
                            "additionalProperties": false
                        }
                    ]
                }
            }
        })
    }
}

/// An assigned value: a boolean, an integer, a string, or a list for a collection.
#[derive(Debug, Clone, PartialEq)]
pub enum AssignedValue {
    Boolean(bool),
    Integer(i64),
    String(String),
    List(Vec<Located<AssignedValue>>),
    /// A list member that is not a value at all, reported already: kept in
    /// its place so that the other members are validated with their own
    /// index, and skipped by validation.
    Reported,
}

impl AssignedValue {
    pub fn kind(&self) -> &'static str {
        match self {
            AssignedValue::Boolean(_) => "a boolean",
            AssignedValue::Integer(_) => "an integer",
            AssignedValue::String(_) => "a string",
            AssignedValue::List(_) => "a list",
            AssignedValue::Reported => "an invalid value",
        }
    }
}

impl JsonSchema for AssignedValue {
    fn schema_name() -> Cow<'static, str> {
        "AssignedValue".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A boolean, an integer (32-bit), a string (up to 64 characters), or a list of strings or integers for a collection attribute.",
            "anyOf": [
                { "type": "boolean" },
                { "type": "integer", "minimum": i32::MIN, "maximum": i32::MAX },
                { "type": "string", "maxLength": 64 },
                { "type": "array", "items": { "anyOf": [
                    { "type": "integer", "minimum": i32::MIN, "maximum": i32::MAX },
                    { "type": "string", "maxLength": 64 }
                ] } }
            ]
        })
    }
}

/// The JSON Schema of a desired-state file, as committed in `schema/entra-csa.schema.json`.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(ManifestFile);
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema serialises");
    text.push('\n');
    text
}

// ───────────────────────────── reading a YAML tree ─────────────────────────────

const FILE_KEYS: &[&str] = &[
    "version",
    "policy",
    "attributeSets",
    "assignments",
    "acknowledgedDrift",
    "acknowledgedReferences",
    "requirements",
];
const POLICY_KEYS: &[&str] = &["undeclaredDefinitions", "undeclaredValues", "undeclaredAssignments"];
const SET_KEYS: &[&str] = &["description", "maxAttributesPerSet", "attributes", "valuesOwnedBy"];
const ATTRIBUTE_KEYS: &[&str] = &[
    "description",
    "type",
    "isCollection",
    "isSearchable",
    "usePreDefinedValuesOnly",
    "status",
    "allowedValues",
    "valuesOwnedBy",
];
const ALLOWED_VALUE_KEYS: &[&str] = &["value", "active"];
const ASSIGNMENT_KEYS: &[&str] = &["users", "servicePrincipals", "groups"];
const GROUP_VALUE_KEYS: &[&str] = &["value", "authoritative"];
const REQUIREMENT_KEYS: &[&str] = &["name", "principals", "mustHold", "oneOf", "onFailure"];

/// Builds a `ManifestFile` from the YAML tree of `file`, adding every problem
/// to `problems`. The tree is consumed as it is read: its strings move into
/// the manifest and each part is freed once read, so a large file is never
/// held twice.
pub fn read(file: &str, root: Node, problems: &mut Vec<Diagnostic>) -> ManifestFile {
    let mut reader = Reader { file, problems };
    reader.file(root)
}

/// The file being read and the problems found so far.
struct Reader<'a> {
    file: &'a str,
    problems: &'a mut Vec<Diagnostic>,
}

impl Reader<'_> {
    fn place(&self, at: Position) -> Place {
        Place { file: self.file.to_owned(), line: at.line, column: at.column }
    }

    fn report(&mut self, at: Position, path: &str, message: impl Into<String>) -> &mut Diagnostic {
        let diagnostic = Diagnostic::new(self.place(at), path, message);
        self.problems.push(diagnostic);
        self.problems.last_mut().expect("just pushed")
    }

    fn wrong_type(&mut self, node: &Node, path: &str, expected: &str) -> &mut Diagnostic {
        let message = if path.is_empty() {
            format!("the file is {}", node.value.kind())
        } else {
            format!("`{}` is {}", last_segment(path), node.value.kind())
        };
        let problem = self.report(node.position, path, message);
        problem.expected = Some(expected.to_owned());
        problem
    }

    /// The entries of a mapping node; null counts as empty.
    fn mapping(&mut self, node: Node, path: &str, expected: &str) -> Vec<(Node, Node)> {
        match node.value {
            Value::Mapping(entries) => entries,
            Value::Null => Vec::new(),
            _ => {
                self.wrong_type(&node, path, expected);
                Vec::new()
            }
        }
    }

    /// A mapping with a fixed set of keys: reports unknown keys, returns the known ones.
    fn fields(
        &mut self,
        node: Node,
        path: &str,
        known: &[&'static str],
        what: &str,
    ) -> BTreeMap<&'static str, Node> {
        let mut found = BTreeMap::new();
        for (key, value) in self.mapping(node, path, &format!("a mapping ({what})")) {
            let position = key.position;
            let Some(name) = self.key_text(key, path) else { continue };
            match known.iter().find(|known| **known == name) {
                Some(known) => {
                    found.insert(*known, value);
                }
                None => {
                    let key_path = join(path, &name);
                    let looks_like_attribute = known.contains(&"attributes")
                        && matches!(&value.value, Value::Mapping(entries)
                            if entries.iter().any(|(key, _)| key.value == Value::String("type".into())));
                    let suggestion = if looks_like_attribute {
                        Some(format!("`{name}` looks like an attribute: indent it under `attributes`"))
                    } else {
                        nearest(&name, known.iter().copied()).map(|known| format!("did you mean `{known}`?"))
                    };
                    let diagnostic =
                        self.report(position, &key_path, format!("unknown key `{name}` in {what}"));
                    diagnostic.expected = Some(format!("one of {}", known.join(", ")));
                    diagnostic.suggestion = suggestion;
                }
            }
        }
        found
    }

    /// A mapping with free keys (names, principals), in document order.
    fn entries<V>(
        &mut self,
        node: Node,
        path: &str,
        expected: &str,
        mut read_value: impl FnMut(&mut Self, Node, &str, Position) -> Option<V>,
    ) -> Entries<V> {
        let pairs = self.mapping(node, path, expected);
        let mut entries = Vec::with_capacity(pairs.len());
        // One buffer for every entry's path: `path.name` (`name` at the top).
        let mut value_path = if path.is_empty() { String::new() } else { format!("{path}.") };
        let prefix = value_path.len();
        for (key, value) in pairs {
            let position = key.position;
            let Some(name) = self.key_text(key, path) else { continue };
            value_path.truncate(prefix);
            value_path.push_str(&name);
            if let Some(value) = read_value(self, value, &value_path, position) {
                entries.push((Located::new(name, position), value));
            }
        }
        entries.shrink_to_fit();
        Entries(entries)
    }

    /// A key as text: strings as they are, other scalars as written.
    fn key_text(&mut self, key: Node, path: &str) -> Option<String> {
        match key.value {
            Value::String(text) => Some(text),
            Value::Integer(number) => Some(number.to_string()),
            Value::Bool(flag) => Some(flag.to_string()),
            Value::Float(number) => Some(number.to_string()),
            Value::Null => Some("null".to_owned()),
            Value::Sequence(_) | Value::Mapping(_) => {
                self.report(key.position, path, format!("a key is {}", key.value.kind())).expected =
                    Some("a plain key such as a name".to_owned());
                None
            }
        }
    }

    fn string(&mut self, node: Node, path: &str) -> Option<Located<String>> {
        match node.value {
            Value::String(text) => Some(Located::new(text, node.position)),
            _ => {
                self.wrong_type(&node, path, "a string");
                None
            }
        }
    }

    /// `description` or `maxAttributesPerSet`: the files never clear them,
    /// so `null` is refused with how to go on (docs/src/reference/file-format.md, "Clearing").
    fn unclearable<T>(
        &mut self,
        node: Node,
        path: &str,
        read: impl FnOnce(&mut Self, Node, &str) -> Option<T>,
    ) -> Option<T> {
        if matches!(node.value, Value::Null) {
            let field = last_segment(path).to_owned();
            let problem = self.report(node.position, path, format!("`{field}` is null"));
            problem.expected =
                Some(if field == "description" { "a string" } else { "an integer" }.to_owned());
            problem.suggestion = Some(format!(
                "leave `{field}` out to keep the tenant's value; entra-csa does not clear it (see \"Clearing\" in docs/src/reference/file-format.md)"
            ));
            return None;
        }
        read(self, node, path)
    }

    fn boolean(&mut self, node: Node, path: &str) -> Option<Located<bool>> {
        match node.value {
            Value::Bool(flag) => Some(Located::new(flag, node.position)),
            Value::String(ref text) => {
                let hint = crate::desired::diagnostic::boolean_hint(text);
                self.wrong_type(&node, path, "true or false").suggestion = hint;
                None
            }
            _ => {
                self.wrong_type(&node, path, "true or false");
                None
            }
        }
    }

    fn integer(&mut self, node: Node, path: &str) -> Option<Located<i64>> {
        match node.value {
            Value::Integer(number) => Some(Located::new(number, node.position)),
            _ => {
                self.wrong_type(&node, path, "an integer");
                None
            }
        }
    }

    /// One of `choices`, spelled exactly; a near miss gets a suggestion.
    fn choice<T: Copy>(
        &mut self,
        node: Node,
        path: &str,
        choices: &[(&'static str, T)],
    ) -> Option<Located<T>> {
        let names: Vec<&str> = choices.iter().map(|(name, _)| *name).collect();
        let expected = format!("one of {}", names.join(", "));
        let Value::String(text) = &node.value else {
            self.wrong_type(&node, path, &expected);
            return None;
        };
        if let Some((_, value)) = choices.iter().find(|(name, _)| name == text) {
            return Some(Located::new(*value, node.position));
        }
        let suggestion = nearest(text, names.iter().copied()).map(|name| format!("did you mean `{name}`?"));
        let diagnostic =
            self.report(node.position, path, format!("`{text}` is not a valid `{}`", last_segment(path)));
        diagnostic.expected = Some(expected);
        diagnostic.suggestion = suggestion;
        None
    }

    fn file(&mut self, root: Node) -> ManifestFile {
        let mut manifest = ManifestFile::default();
        if root.value == Value::Null {
            self.report(root.position, "", "the file is empty").expected =
                Some("a desired-state document starting with `version: 1`".to_owned());
            return manifest;
        }
        let (root_position, root_is_mapping) = (root.position, matches!(root.value, Value::Mapping(_)));
        let mut fields = self.fields(root, "", FILE_KEYS, "the file");
        match fields.remove("version") {
            None => {
                if root_is_mapping {
                    self.report(root_position, "version", "the file has no `version`").expected =
                        Some("`version: 1` at the top".to_owned());
                }
            }
            Some(node) => {
                let position = node.position;
                if let Some(version) = self.integer(node, "version") {
                    if version.value != 1 {
                        self.report(position, "version", format!("unsupported version {}", version.value))
                            .expected = Some("1".to_owned());
                    }
                    manifest.version = Some(version);
                }
            }
        }
        if let Some(node) = fields.remove("policy") {
            let position = node.position;
            manifest.policy = Some(Located::new(self.policy(node), position));
        }
        if let Some(node) = fields.remove("attributeSets") {
            manifest.attribute_sets = self.entries(
                node,
                "attributeSets",
                "a mapping of attribute set names",
                |reader, node, path, _| Some(reader.set(node, path)),
            );
        }
        if let Some(node) = fields.remove("assignments") {
            manifest.assignments = Some(self.assignments(node));
        }
        if let Some(node) = fields.remove("acknowledgedDrift") {
            manifest.acknowledged_drift = self.entries(
                node,
                "acknowledgedDrift",
                "a mapping of drift addresses to the reason each is accepted",
                |reader, node, path, _| reader.string(node, path),
            );
        }
        if let Some(node) = fields.remove("acknowledgedReferences") {
            manifest.acknowledged_references = self.entries(
                node,
                "acknowledgedReferences",
                "a mapping of deactivated addresses to the reason each is made despite the policies naming it",
                |reader, node, path, _| reader.string(node, path),
            );
        }
        if let Some(node) = fields.remove("requirements") {
            manifest.requirements = self.requirements(node);
        }
        manifest
    }

    /// `requirements`: a list of rules, each read on its own so that every
    /// problem of every rule is reported.
    fn requirements(&mut self, node: Node) -> Vec<RequirementSpec> {
        let items = match node.value {
            Value::Sequence(items) => items,
            Value::Null => return Vec::new(),
            _ => {
                self.wrong_type(&node, "requirements", "a list of requirements (`- name: …`)");
                return Vec::new();
            }
        };
        let mut rules = Vec::with_capacity(items.len());
        for (index, item) in items.into_iter().enumerate() {
            let path = format!("requirements[{index}]");
            let at = item.position;
            let is_mapping = matches!(item.value, Value::Mapping(_));
            let mut fields = self.fields(item, &path, REQUIREMENT_KEYS, "a requirement");
            let missing = |reader: &mut Self, key: &str, expected: &str| {
                if is_mapping {
                    reader.report(at, &path, format!("the requirement has no `{key}`")).expected =
                        Some(expected.to_owned());
                }
            };
            let name = match fields.remove("name") {
                Some(node) => self.string(node, &join(&path, "name")),
                None => {
                    missing(self, "name", "`name: <what the rule is for>`");
                    None
                }
            };
            let principals = match fields.remove("principals") {
                Some(node) => self.population(node, &join(&path, "principals")),
                None => {
                    missing(self, "principals", "`principals: agentIdentities` (or another population)");
                    None
                }
            };
            let must_hold = match fields.remove("mustHold") {
                Some(node) => self.string(node, &join(&path, "mustHold")),
                None => {
                    missing(self, "mustHold", "`mustHold: Set.Attribute`");
                    None
                }
            };
            let one_of = match fields.remove("oneOf") {
                None => Vec::new(),
                Some(node) => {
                    let one_of_path = join(&path, "oneOf");
                    match node.value {
                        Value::Sequence(values) if values.is_empty() => {
                            let problem = self.report(
                                node.position,
                                &one_of_path,
                                "`oneOf` is empty: no value could meet the rule",
                            );
                            problem.expected =
                                Some("one value or more, e.g. `[Low, Medium, High]`".to_owned());
                            problem.suggestion = Some("leave `oneOf` out to accept any value".to_owned());
                            Vec::new()
                        }
                        Value::Sequence(values) => values
                            .into_iter()
                            .enumerate()
                            .filter_map(|(index, value)| {
                                self.assigned_value(value, &format!("{one_of_path}[{index}]"), false)
                            })
                            .collect(),
                        _ => {
                            self.wrong_type(
                                &node,
                                &one_of_path,
                                "a list of values, e.g. `[Low, Medium, High]`",
                            );
                            Vec::new()
                        }
                    }
                }
            };
            let on_failure = fields.remove("onFailure").and_then(|node| {
                use crate::model::requirement::OnFailure;
                self.choice(
                    node,
                    &join(&path, "onFailure"),
                    &[("report", OnFailure::Report), ("conflict", OnFailure::Conflict)],
                )
            });
            // A rule whose name or population is reported already is still
            // checked for the rest (its attribute, its values), so that every
            // problem shows in one run; the files are refused all the same.
            let name = name.unwrap_or_else(|| Located::new(path.clone(), at));
            let principals =
                principals.unwrap_or_else(|| Located::new(crate::model::requirement::Population::Users, at));
            if let Some(must_hold) = must_hold {
                rules.push(RequirementSpec { name, principals, must_hold, one_of, on_failure, at });
            }
        }
        rules
    }

    /// `principals:` of a requirement: a keyword, or `{group: <id or name>}`.
    fn population(
        &mut self,
        node: Node,
        path: &str,
    ) -> Option<Located<crate::model::requirement::Population>> {
        use crate::model::requirement::{POPULATION_KEYWORDS, Population};
        let at = node.position;
        if matches!(node.value, Value::Mapping(_)) {
            let mut fields = self.fields(node, path, &["group"], "`principals`");
            let Some(group) = fields.remove("group") else {
                self.report(at, path, "`principals` names no group").expected =
                    Some("`{group: <object id or display name>}`".to_owned());
                return None;
            };
            let group_path = join(path, "group");
            let group_at = group.position;
            let name = self.string(group, &group_path)?;
            if name.value.trim().is_empty() {
                self.report(group_at, &group_path, "the group is empty").expected =
                    Some("the group's object id or display name".to_owned());
                return None;
            }
            return Some(Located::new(Population::Group(name.value), at));
        }
        let choices: Vec<(&'static str, usize)> =
            POPULATION_KEYWORDS.iter().enumerate().map(|(index, (word, _))| (*word, index)).collect();
        if !matches!(node.value, Value::String(_)) {
            let expected = format!(
                "one of {}, or `{{group: <object id or display name>}}`",
                choices.iter().map(|(word, _)| *word).collect::<Vec<_>>().join(", ")
            );
            self.wrong_type(&node, path, &expected);
            return None;
        }
        let written = match &node.value {
            Value::String(text) => text.clone(),
            _ => String::new(),
        };
        let Some(chosen) = self.choice(node, path, &choices) else {
            // The singular of a keyword (`agentIdentity`) means the keyword,
            // whatever keyword starts with it.
            let plural =
                written.strip_suffix('y').map(|stem| format!("{stem}ies")).unwrap_or(format!("{written}s"));
            let meant = choices.iter().find(|(word, _)| word.eq_ignore_ascii_case(&plural));
            if let (Some((word, _)), Some(problem)) = (meant, self.problems.last_mut()) {
                problem.suggestion = Some(format!("did you mean `{word}`?"));
                return None;
            }
            // No keyword is near: the name is likely a group's.
            if let Some(problem) = self.problems.last_mut()
                && problem.suggestion.is_none()
            {
                problem.expected = Some(format!(
                    "{}, or `{{group: <object id or display name>}}`",
                    problem.expected.as_deref().unwrap_or_default()
                ));
                problem.suggestion = Some(format!(
                    "to require it of a group's members, write `principals: {{group: {written}}}`"
                ));
            }
            return None;
        };
        Some(Located::new(POPULATION_KEYWORDS[chosen.value].1.clone(), chosen.at))
    }

    fn policy(&mut self, node: Node) -> PolicySpec {
        let mut fields = self.fields(node, "policy", POLICY_KEYS, "`policy`");
        let objects = [("report", UndeclaredObjects::Report), ("deactivate", UndeclaredObjects::Deactivate)];
        let mut policy = PolicySpec::default();
        if let Some(node) = fields.remove("undeclaredDefinitions")
            && let Some(choice) = self.choice(node, "policy.undeclaredDefinitions", &objects)
        {
            policy.undeclared_definitions = choice.value;
        }
        if let Some(node) = fields.remove("undeclaredValues")
            && let Some(choice) = self.choice(node, "policy.undeclaredValues", &objects)
        {
            policy.undeclared_values = choice.value;
        }
        if let Some(node) = fields.remove("undeclaredAssignments")
            && let Some(choice) = self.choice(
                node,
                "policy.undeclaredAssignments",
                &[
                    ("ignore", UndeclaredAssignments::Ignore),
                    ("report", UndeclaredAssignments::Report),
                    ("remove", UndeclaredAssignments::Remove),
                ],
            )
        {
            policy.undeclared_assignments = choice.value;
        }
        policy
    }

    fn set(&mut self, node: Node, path: &str) -> SetSpec {
        let mut fields = self.fields(node, path, SET_KEYS, "an attribute set");
        let mut set = SetSpec::default();
        if let Some(node) = fields.remove("description") {
            set.description = self.unclearable(node, &join(path, "description"), Self::string);
        }
        if let Some(node) = fields.remove("maxAttributesPerSet") {
            set.max_attributes_per_set =
                self.unclearable(node, &join(path, "maxAttributesPerSet"), Self::integer);
        }
        if let Some(node) = fields.remove("attributes") {
            let attributes_path = join(path, "attributes");
            let mut unreadable = Vec::new();
            set.attributes = self.entries(
                node,
                &attributes_path,
                "a mapping of attribute names",
                |reader, node, path, key_at| {
                    let attribute = reader.attribute(node, path, key_at);
                    if attribute.is_none() {
                        let name = path.get(attributes_path.len() + 1..).unwrap_or_default();
                        unreadable.push(name.to_owned());
                    }
                    attribute
                },
            );
            set.unreadable_attributes = unreadable;
        }
        if let Some(node) = fields.remove("valuesOwnedBy") {
            set.values_owned_by = self.writer(node, &join(path, "valuesOwnedBy"));
        }
        set
    }

    /// `valuesOwnedBy`: the other writer, named in a non-empty string.
    fn writer(&mut self, node: Node, path: &str) -> Option<Located<String>> {
        let position = node.position;
        let writer = self.string(node, path)?;
        if writer.value.trim().is_empty() {
            let problem = self.report(position, path, "`valuesOwnedBy` is empty");
            problem.expected = Some("the writer that owns the values, as text".to_owned());
            problem.suggestion =
                Some("name the other writer, e.g. `valuesOwnedBy: Workday inbound provisioning`".to_owned());
            return None;
        }
        Some(writer)
    }

    fn attribute(&mut self, node: Node, path: &str, key_at: Position) -> Option<AttributeSpec> {
        let can_have_type = matches!(node.value, Value::Mapping(_) | Value::Null);
        let mut fields = self.fields(node, path, ATTRIBUTE_KEYS, "an attribute");
        let types =
            [("String", DataType::String), ("Integer", DataType::Integer), ("Boolean", DataType::Boolean)];
        let data_type = match fields.remove("type") {
            Some(type_node) => self.choice(type_node, &join(path, "type"), &types),
            None => {
                if can_have_type {
                    self.report(key_at, path, format!("attribute `{}` has no `type`", last_segment(path)))
                        .expected = Some("`type: String`, `type: Integer` or `type: Boolean`".to_owned());
                }
                None
            }
        };
        let description = fields
            .remove("description")
            .and_then(|node| self.unclearable(node, &join(path, "description"), Self::string));
        let mut flag = |reader: &mut Self, key: &str| {
            fields.remove(key).and_then(|node| reader.boolean(node, &join(path, key)))
        };
        let is_collection = flag(self, "isCollection");
        let is_searchable = flag(self, "isSearchable");
        let use_pre_defined_values_only = flag(self, "usePreDefinedValuesOnly");
        let status = fields.remove("status").and_then(|node| {
            self.choice(
                node,
                &join(path, "status"),
                &[("Available", Status::Available), ("Deprecated", Status::Deprecated)],
            )
        });
        let allowed_values = match fields.remove("allowedValues") {
            Some(node) => self.allowed_values(node, &join(path, "allowedValues")),
            None => Vec::new(),
        };
        let values_owned_by =
            fields.remove("valuesOwnedBy").and_then(|node| self.writer(node, &join(path, "valuesOwnedBy")));
        Some(AttributeSpec {
            description,
            data_type: data_type?,
            is_collection,
            is_searchable,
            use_pre_defined_values_only,
            status,
            allowed_values,
            values_owned_by,
        })
    }

    fn allowed_values(&mut self, node: Node, path: &str) -> Vec<AllowedValueSpec> {
        let items = match node.value {
            Value::Sequence(items) => items,
            Value::Null => return Vec::new(),
            _ => {
                self.wrong_type(&node, path, "a list of values");
                return Vec::new();
            }
        };
        let mut values = Vec::with_capacity(items.len());
        for (index, item) in items.into_iter().enumerate() {
            let item_path = format!("{path}[{index}]");
            match &item.value {
                Value::Mapping(_) => {
                    let item_position = item.position;
                    let mut fields = self.fields(item, &item_path, ALLOWED_VALUE_KEYS, "an allowed value");
                    let value = match fields.remove("value") {
                        Some(node) => self.scalar_text(node, &join(&item_path, "value")),
                        None => {
                            self.report(item_position, &item_path, "an allowed value has no `value`")
                                .expected = Some("`value: <text>` and optionally `active: false`".to_owned());
                            None
                        }
                    };
                    let active = fields
                        .remove("active")
                        .and_then(|node| self.boolean(node, &join(&item_path, "active")));
                    if let Some(value) = value {
                        values.push(AllowedValueSpec::Full(FullAllowedValue { value, active }));
                    }
                }
                _ => {
                    if let Some(value) = self.scalar_text(item, &item_path) {
                        values.push(AllowedValueSpec::Plain(value));
                    }
                }
            }
        }
        values
    }

    fn scalar_text(&mut self, node: Node, path: &str) -> Option<Located<ScalarText>> {
        match node.value {
            Value::String(text) => Some(Located::new(ScalarText { text, integer: false }, node.position)),
            Value::Integer(number) => {
                Some(Located::new(ScalarText { text: number.to_string(), integer: true }, node.position))
            }
            _ => {
                self.wrong_type(&node, path, "a string (or an integer for an Integer attribute)");
                None
            }
        }
    }

    fn assignments(&mut self, node: Node) -> AssignmentsSpec {
        let mut fields = self.fields(node, "assignments", ASSIGNMENT_KEYS, "`assignments`");
        let mut assignments = AssignmentsSpec::default();
        for (key, target) in
            [("users", &mut assignments.users), ("servicePrincipals", &mut assignments.service_principals)]
        {
            if let Some(node) = fields.remove(key) {
                *target = self.entries(
                    node,
                    &join("assignments", key),
                    "a mapping of principals to their attribute sets",
                    |reader, node, path, _| {
                        Some(reader.entries(
                            node,
                            path,
                            "a mapping of attribute sets",
                            |reader, node, path, _| {
                                Some(reader.entries(
                                    node,
                                    path,
                                    "a mapping of attributes to values",
                                    |reader, node, path, _| reader.assigned_value(node, path, true),
                                ))
                            },
                        ))
                    },
                );
            }
        }
        if let Some(node) = fields.remove("groups") {
            assignments.groups = self.entries(
                node,
                "assignments.groups",
                "a mapping of groups to their attribute sets",
                |reader, node, path, _| Some(reader.group(node, path)),
            );
        }
        assignments
    }

    /// A group entry: sets of attributes whose values are plain, or
    /// `{value, authoritative}`.
    fn group(&mut self, node: Node, path: &str) -> GroupSpec {
        let mut authoritative = Vec::new();
        let sets = self.entries(node, path, "a mapping of attribute sets", |reader, node, set_path, _| {
            let set = last_segment(set_path).to_owned();
            Some(reader.entries(
                node,
                set_path,
                "a mapping of attributes to values",
                |reader, node, path, _| {
                    if !matches!(node.value, Value::Mapping(_)) {
                        return reader.assigned_value(node, path, true);
                    }
                    let at = node.position;
                    let mut fields = reader.fields(node, path, GROUP_VALUE_KEYS, "a group's value");
                    if let Some(flag) = fields
                        .remove("authoritative")
                        .and_then(|flag| reader.boolean(flag, &join(path, "authoritative")))
                        && flag.value
                    {
                        authoritative.push((set.clone(), last_segment(path).to_owned(), flag.at));
                    }
                    match fields.remove("value") {
                        Some(value) => reader.assigned_value(value, &join(path, "value"), true),
                        None => {
                            reader
                                .report(at, path, format!("`{}` has no `value`", last_segment(path)))
                                .expected =
                                Some("`value: …`, and optionally `authoritative: true`".to_owned());
                            None
                        }
                    }
                },
            ))
        });
        GroupSpec { sets, authoritative }
    }

    fn assigned_value(
        &mut self,
        node: Node,
        path: &str,
        list_allowed: bool,
    ) -> Option<Located<AssignedValue>> {
        let position = node.position;
        let value = match node.value {
            Value::Bool(flag) => AssignedValue::Boolean(flag),
            Value::Integer(number) => AssignedValue::Integer(number),
            Value::String(text) => AssignedValue::String(text),
            Value::Sequence(items) if list_allowed => {
                let count = items.len();
                // Members that are no value are reported here and kept as
                // `Reported`: the others go on to validation, so that every
                // bad member is reported in one run.
                let members: Vec<Located<AssignedValue>> = items
                    .into_iter()
                    .enumerate()
                    .map(|(index, item)| {
                        let at = item.position;
                        self.assigned_value(item, &format!("{path}[{index}]"), false)
                            .unwrap_or_else(|| Located::new(AssignedValue::Reported, at))
                    })
                    .collect();
                if count > 0 && members.iter().all(|member| member.value == AssignedValue::Reported) {
                    return None;
                }
                AssignedValue::List(members)
            }
            value => {
                let expected = if list_allowed {
                    "a boolean, an integer, a string, or a list of them"
                } else {
                    "an integer or a string"
                };
                self.wrong_type(&Node { value, position }, path, expected);
                return None;
            }
        };
        Some(Located::new(value, position))
    }
}

/// `parent.child`, or `child` at the top.
pub fn join(parent: &str, child: &str) -> String {
    if parent.is_empty() { child.to_owned() } else { format!("{parent}.{child}") }
}

fn last_segment(path: &str) -> &str {
    path.rsplit('.').next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desired::yaml::parse;

    fn read_text(text: &str) -> (ManifestFile, Vec<Diagnostic>) {
        let mut problems = Vec::new();
        let manifest = read("f.yaml", parse(text).unwrap(), &mut problems);
        (manifest, problems)
    }

    #[test]
    fn every_unknown_key_is_reported_with_a_suggestion() {
        let (_, problems) = read_text(
            "version: 1\nattributeSets:\n  A:\n    desciption: x\n    attributes:\n      B:\n        tpye: String\n",
        );
        assert_eq!(problems.len(), 3, "{problems:#?}");
        assert_eq!((problems[0].place.line, problems[0].place.column), (4, 5));
        assert_eq!(problems[0].suggestion.as_deref(), Some("did you mean `description`?"));
        assert_eq!(problems[1].suggestion.as_deref(), Some("did you mean `type`?"));
        assert!(problems[2].message.contains("has no `type`"));
    }

    #[test]
    fn allowed_values_take_both_forms() {
        let (manifest, problems) = read_text(
            "version: 1\nattributeSets:\n  A:\n    attributes:\n      B:\n        type: String\n        allowedValues: [x, {value: y, active: false}]\n",
        );
        assert!(problems.is_empty(), "{problems:#?}");
        let attribute = &manifest.attribute_sets.0[0].1.attributes.0[0].1;
        assert_eq!(attribute.allowed_values.len(), 2);
        assert!(attribute.allowed_values[0].active());
        assert!(!attribute.allowed_values[1].active());
    }
}
