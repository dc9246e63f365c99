//! Turns a live tenant into desired-state YAML (format version 1), so a team
//! can adopt the tool on an existing tenant: export, commit, plan. The output
//! is deterministic (sets, attributes, values and principals sorted) and
//! leaves out every property that sits at its default, so that a plan of the
//! exported files against the same tenant reports no changes.
//!
//! Pure: the caller reads the tenant and writes the files.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_saphyr::FlowSeq;

use crate::model::live::{LivePrincipal, LiveState};
use crate::model::{AttributeValue, Definition, PrincipalKind, Status};

/// What to export.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportOptions {
    /// Only these sets (exact ids); all when empty.
    pub sets: Vec<String>,
    /// Also the values assigned to users and service principals.
    pub assignments: bool,
    /// The `$schema` path for the yaml-language-server modeline, if any.
    pub schema_path: Option<String>,
    /// Sets (`Set`) and attributes (`Set.Attribute`) whose values another
    /// writer owns, with that writer: exported with `valuesOwnedBy`, their
    /// values left out of the assignments.
    pub values_owned_elsewhere: BTreeMap<String, String>,
}

impl ExportOptions {
    fn values_owner(&self, set: &str, attribute: &str) -> Option<&str> {
        self.values_owned_elsewhere
            .get(&format!("{set}.{attribute}"))
            .or_else(|| self.values_owned_elsewhere.get(set))
            .map(String::as_str)
    }
}

/// One exported file: a name (for a folder export) and its YAML text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedFile {
    pub name: String,
    pub text: String,
}

/// A failure to write YAML; it would mean a value the serializer cannot carry.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the export as YAML: {0}")]
pub struct ExportError(#[from] serde_saphyr::ser::Error);

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Document<'a> {
    version: u32,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    attribute_sets: BTreeMap<&'a str, SetOut<'a>>,
    #[serde(skip_serializing_if = "AssignmentsOut::is_empty")]
    assignments: AssignmentsOut,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SetOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_attributes_per_set: Option<i32>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    attributes: BTreeMap<&'a str, AttributeOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    values_owned_by: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AttributeOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(rename = "type")]
    data_type: &'static str,
    #[serde(skip_serializing_if = "is_false")]
    is_collection: bool,
    #[serde(skip_serializing_if = "is_true")]
    is_searchable: bool,
    #[serde(skip_serializing_if = "is_false")]
    use_pre_defined_values_only: bool,
    #[serde(skip_serializing_if = "is_available")]
    status: Status,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    allowed_values: Vec<AllowedValueOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    values_owned_by: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum AllowedValueOut<'a> {
    Active(&'a str),
    Inactive { value: &'a str, active: bool },
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct AssignmentsOut {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    users: BTreeMap<String, BTreeMap<String, BTreeMap<String, ValueOut>>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    service_principals: BTreeMap<String, BTreeMap<String, BTreeMap<String, ValueOut>>>,
}

impl AssignmentsOut {
    fn is_empty(&self) -> bool {
        self.users.is_empty() && self.service_principals.is_empty()
    }
}

#[derive(Serialize)]
#[serde(untagged)]
enum ValueOut {
    Boolean(bool),
    Integer(i32),
    String(String),
    Integers(FlowSeq<Vec<i32>>),
    Strings(FlowSeq<Vec<String>>),
}

fn is_false(value: &bool) -> bool {
    !*value
}

fn is_true(value: &bool) -> bool {
    *value
}

fn is_available(status: &Status) -> bool {
    *status == Status::Available
}

/// The tenant as one desired-state file.
pub fn export_single(live: &LiveState, options: &ExportOptions) -> Result<String, ExportError> {
    let sets = selected_sets(live, options);
    let document = Document {
        version: 1,
        attribute_sets: sets.iter().map(|set| (*set, set_out(live, set, options))).collect(),
        assignments: if options.assignments {
            assignments_out(live, &sets, options)
        } else {
            Default::default()
        },
    };
    render(&document, options)
}

/// The file of a folder export that holds the assignments. Set names
/// cannot contain `_`, so no set's file (`<Set>.yaml`) can take this name.
pub const ASSIGNMENTS_FILE: &str = "_assignments.yaml";

/// The tenant as a folder: one file per set (`<Set>.yaml`) and, with
/// assignments, `_assignments.yaml` (a principal may appear in one file only).
pub fn export_folder(live: &LiveState, options: &ExportOptions) -> Result<Vec<ExportedFile>, ExportError> {
    let sets = selected_sets(live, options);
    let mut files = Vec::new();
    for set in &sets {
        let document = Document {
            version: 1,
            attribute_sets: BTreeMap::from([(*set, set_out(live, set, options))]),
            assignments: AssignmentsOut::default(),
        };
        files.push(ExportedFile { name: format!("{set}.yaml"), text: render(&document, options)? });
    }
    if options.assignments {
        let assignments = assignments_out(live, &sets, options);
        if !assignments.is_empty() {
            let document = Document { version: 1, attribute_sets: BTreeMap::new(), assignments };
            files.push(ExportedFile { name: ASSIGNMENTS_FILE.into(), text: render(&document, options)? });
        }
    }
    Ok(files)
}

fn selected_sets<'a>(live: &'a LiveState, options: &ExportOptions) -> Vec<&'a str> {
    live.attribute_sets
        .keys()
        .filter(|id| options.sets.is_empty() || options.sets.iter().any(|wanted| wanted == *id))
        .map(String::as_str)
        .collect()
}

fn set_out<'a>(live: &'a LiveState, set: &'a str, options: &'a ExportOptions) -> SetOut<'a> {
    let live_set = &live.attribute_sets[set];
    let set_owner = options.values_owned_elsewhere.get(set).map(String::as_str);
    SetOut {
        description: live_set.description.as_deref(),
        max_attributes_per_set: live_set.max_attributes_per_set,
        attributes: live
            .definitions_in(set)
            .map(|definition| {
                let mut out = attribute_out(definition);
                // Named on the attribute only when its set does not already say it.
                out.values_owned_by = options
                    .values_owned_elsewhere
                    .get(&format!("{set}.{}", definition.name))
                    .map(String::as_str)
                    .filter(|_| set_owner.is_none());
                (definition.name.as_str(), out)
            })
            .collect(),
        values_owned_by: set_owner,
    }
}

fn attribute_out(definition: &Definition) -> AttributeOut<'_> {
    AttributeOut {
        values_owned_by: None,
        description: definition.description.as_deref(),
        data_type: definition.data_type.as_str(),
        is_collection: definition.is_collection,
        is_searchable: definition.is_searchable,
        use_pre_defined_values_only: definition.use_pre_defined_values_only,
        status: definition.status,
        allowed_values: definition
            .allowed_values
            .iter()
            .map(|value| match value.is_active {
                true => AllowedValueOut::Active(&value.id),
                false => AllowedValueOut::Inactive { value: &value.id, active: false },
            })
            .collect(),
    }
}

/// Values in the exported sets, on Available attributes only: the files may
/// not assign a Deprecated attribute, and the plan leaves such values alone.
/// Values another writer owns are left out too: the files may not assign them.
fn assignments_out(live: &LiveState, sets: &[&str], options: &ExportOptions) -> AssignmentsOut {
    let mut out = AssignmentsOut::default();
    for principal in live.principals.values() {
        let Some(assigned) = &principal.custom_security_attributes else { continue };
        let mut by_set = BTreeMap::new();
        for (set, attributes) in assigned {
            if !sets.contains(&set.as_str()) {
                continue;
            }
            let values: BTreeMap<String, ValueOut> = attributes
                .iter()
                .filter(|(name, _)| {
                    live.definitions_in(set)
                        .any(|definition| definition.name == **name && definition.status == Status::Available)
                })
                .filter(|(_, value)| !value.is_empty_collection())
                .filter(|(name, _)| options.values_owner(set, name).is_none())
                .map(|(name, value)| (name.clone(), value_out(value)))
                .collect();
            if !values.is_empty() {
                by_set.insert(set.clone(), values);
            }
        }
        if by_set.is_empty() {
            continue;
        }
        let (key, target) = match principal.kind {
            PrincipalKind::User => (user_key(principal), &mut out.users),
            PrincipalKind::ServicePrincipal => {
                (service_principal_key(principal), &mut out.service_principals)
            }
        };
        target.insert(key, by_set);
    }
    out
}

/// Users by userPrincipalName, or by object id when the tenant gave none.
fn user_key(principal: &LivePrincipal) -> String {
    principal.user_principal_name.clone().unwrap_or_else(|| principal.object_id.clone())
}

/// Service principals by appId, or `id:<object id>` when the tenant gave none.
fn service_principal_key(principal: &LivePrincipal) -> String {
    principal.app_id.clone().unwrap_or_else(|| format!("id:{}", principal.object_id))
}

fn value_out(value: &AttributeValue) -> ValueOut {
    match value {
        AttributeValue::Boolean(value) => ValueOut::Boolean(*value),
        AttributeValue::Integer(value) => ValueOut::Integer(*value),
        AttributeValue::String(value) => ValueOut::String(value.clone()),
        AttributeValue::Integers(values) => ValueOut::Integers(FlowSeq(values.clone())),
        AttributeValue::Strings(values) => ValueOut::Strings(FlowSeq(values.clone())),
    }
}

fn render(document: &Document<'_>, options: &ExportOptions) -> Result<String, ExportError> {
    let mut text = String::new();
    if let Some(schema) = &options.schema_path {
        text.push_str(&format!("# yaml-language-server: $schema={schema}\n"));
    }
    text.push_str(
        "# Exported by `entra-csa export`. Review, commit, then `entra-csa plan` should show no changes.\n",
    );
    text.push_str(&serde_saphyr::to_string(document)?);
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::live::LiveAttributeSet;
    use crate::model::{AllowedValue, DataType, PrincipalAssignments, SetValues};

    fn tenant() -> LiveState {
        let mut live = LiveState::default();
        live.attribute_sets.insert(
            "Engineering".into(),
            LiveAttributeSet {
                id: "Engineering".into(),
                description: Some("Attributes for engineering team".into()),
                max_attributes_per_set: Some(25),
            },
        );
        live.attribute_sets.insert(
            "Marketing".into(),
            LiveAttributeSet { id: "Marketing".into(), description: None, max_attributes_per_set: None },
        );
        let project = Definition {
            attribute_set: "Engineering".into(),
            name: "Project".into(),
            description: Some("Active projects".into()),
            data_type: DataType::String,
            is_collection: true,
            is_searchable: true,
            use_pre_defined_values_only: true,
            status: Status::Available,
            allowed_values: vec![
                AllowedValue { id: "Alpine".into(), is_active: true },
                AllowedValue { id: "Legacy".into(), is_active: false },
                AllowedValue { id: "yes".into(), is_active: true },
            ],
        };
        let old = Definition {
            name: "Old".into(),
            description: None,
            data_type: DataType::Integer,
            is_collection: false,
            is_searchable: false,
            use_pre_defined_values_only: false,
            status: Status::Deprecated,
            allowed_values: vec![],
            ..project.clone()
        };
        live.definitions.insert(project.id(), project);
        live.definitions.insert(old.id(), old);
        let mut assigned = PrincipalAssignments::new();
        assigned.insert(
            "Engineering".into(),
            SetValues::from_iter([
                ("Project".to_owned(), AttributeValue::strings(vec!["yes".into(), "Alpine".into()])),
                ("Old".to_owned(), AttributeValue::Integer(3)),
            ]),
        );
        let alice = LivePrincipal {
            odata_type: None,
            kind: PrincipalKind::User,
            object_id: "00000000-0000-0000-0000-000000000001".into(),
            user_principal_name: Some("alice@contoso.com".into()),
            app_id: None,
            display_name: None,
            custom_security_attributes: Some(assigned),
        };
        live.principals.insert(alice.id(), alice);
        live
    }

    #[test]
    fn single_file_leaves_defaults_out_and_quotes_ambiguous_strings() {
        let options = ExportOptions { assignments: true, ..Default::default() };
        let text = export_single(&tenant(), &options).unwrap();
        let expected = r#"# Exported by `entra-csa export`. Review, commit, then `entra-csa plan` should show no changes.
version: 1
attributeSets:
  Engineering:
    description: Attributes for engineering team
    maxAttributesPerSet: 25
    attributes:
      Old:
        type: Integer
        isSearchable: false
        status: Deprecated
      Project:
        description: Active projects
        type: String
        isCollection: true
        usePreDefinedValuesOnly: true
        allowedValues:
        - Alpine
        - value: Legacy
          active: false
        - "yes"
  Marketing: {}
assignments:
  users:
    alice@contoso.com:
      Engineering:
        Project: [Alpine, "yes"]
"#;
        assert_eq!(text, expected, "got:\n{text}");
    }

    #[test]
    fn set_filter_and_folder_split() {
        let options = ExportOptions {
            sets: vec!["Marketing".into()],
            assignments: true,
            schema_path: Some("../schema/entra-csa.schema.json".into()),
            ..Default::default()
        };
        let files = export_folder(&tenant(), &options).unwrap();
        let names: Vec<&str> = files.iter().map(|file| file.name.as_str()).collect();
        assert_eq!(names, ["Marketing.yaml"], "alice has no values in Marketing");
        assert!(
            files[0].text.starts_with("# yaml-language-server: $schema=../schema/entra-csa.schema.json\n")
        );
        let all =
            export_folder(&tenant(), &ExportOptions { assignments: true, ..Default::default() }).unwrap();
        let names: Vec<&str> = all.iter().map(|file| file.name.as_str()).collect();
        assert_eq!(names, ["Engineering.yaml", "Marketing.yaml", ASSIGNMENTS_FILE]);
    }
}
