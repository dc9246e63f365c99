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
    /// Why `valuesOwnedBy` was written on a set or attribute the export
    /// chose itself (`values_left_to_their_writer`): the lines of a comment
    /// at the top of the file that declares it.
    pub owned_because: BTreeMap<String, Vec<String>>,
}

impl ExportOptions {
    fn values_owner(&self, set: &str, attribute: &str) -> Option<&str> {
        self.values_owned_elsewhere
            .get(&format!("{set}.{attribute}"))
            .or_else(|| self.values_owned_elsewhere.get(set))
            .map(String::as_str)
    }
}

/// The writer an export names in `valuesOwnedBy` on a set or attribute
/// where the tenant holds values this version does not understand.
pub const NOT_UNDERSTOOD_WRITER: &str =
    "unknown: values entra-csa does not understand (see the comment above)";

/// The sets (`Set`) and attributes (`Set.Attribute`) an export of
/// assignments writes under `valuesOwnedBy`, each with why: those where a
/// principal holds a value this version set aside as not understood (a
/// value whose JSON type disagrees with its definition, or whose
/// definition the read did not return). The export cannot write such a
/// value, and files that listed the principal without it would unassign it
/// on the day a plan reads it as a value (a sign-in that reads the
/// definition, a value set right): under `valuesOwnedBy`, no plan of the
/// files ever assigns or unassigns it. The attribute when its definition
/// was read, else its whole set (an attribute cannot be declared without
/// its type). Sets not exported, values already owned by a writer the
/// caller named, and values of definitions themselves not understood (the
/// export leaves those definitions out, and a plan leaves their values
/// alone) need none.
pub fn values_left_to_their_writer(
    live: &LiveState,
    options: &ExportOptions,
) -> BTreeMap<String, Vec<String>> {
    let sets = selected_sets(live, options);
    let mut owned: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for item in &live.not_understood {
        let Some(id) = &item.principal else { continue };
        let attribute = item.attribute.as_deref().unwrap_or("*");
        if !options.assignments
            || !sets.contains(&item.set.as_str())
            || options.values_owner(&item.set, attribute).is_some()
            || live.is_not_understood(None, &item.set, attribute)
        {
            continue;
        }
        let target = match &item.attribute {
            Some(name) if live.definitions.contains_key(&crate::model::definition_id(&item.set, name)) => {
                format!("{}.{name}", item.set)
            }
            _ => item.set.clone(),
        };
        let holder = live.principals.get(id).map_or_else(
            || format!("{}:{}", id.kind.as_str(), id.object_id),
            |principal| match principal.kind {
                PrincipalKind::User => format!("user:{}", user_key(principal)),
                PrincipalKind::ServicePrincipal => {
                    format!("servicePrincipal:{}", service_principal_key(principal))
                }
            },
        );
        owned
            .entry(target)
            .or_default()
            .push(format!("{holder} holds {}.{attribute}: {}", item.set, item.what));
    }
    // A set owned whole covers its attributes.
    let whole: Vec<String> = owned.keys().filter(|target| !target.contains('.')).cloned().collect();
    for set in whole {
        let covered: Vec<String> = owned
            .keys()
            .filter(|target| target.strip_prefix(&format!("{set}.")).is_some())
            .cloned()
            .collect();
        for target in covered {
            let reasons = owned.remove(&target).unwrap_or_default();
            owned.entry(set.clone()).or_default().extend(reasons);
        }
    }
    owned
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
    for (target, reasons) in &options.owned_because {
        let set = target.split_once('.').map_or(target.as_str(), |(set, _)| set);
        if !document.attribute_sets.contains_key(set) {
            continue;
        }
        text.push_str(&format!(
            "#\n# `valuesOwnedBy` on {target}: the tenant holds values there that this version does not\n\
             # understand, so the export cannot write them, and a plan of these files never assigns or\n\
             # unassigns them (nor any other value of {target}). Settle them (or let the sign-in read\n\
             # every definition), then remove the line, or name the writer that owns them:\n"
        ));
        for reason in reasons {
            text.push_str(&format!("#   {}\n", reason.replace('\n', " ")));
        }
    }
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
    fn values_not_understood_put_their_attribute_or_set_under_values_owned_by() {
        use crate::model::live::{NotUnderstood, PrincipalId, UNREAD_DEFINITION};
        let mut live = tenant();
        let alice = PrincipalId {
            kind: PrincipalKind::User,
            object_id: "00000000-0000-0000-0000-000000000001".into(),
        };
        let item = |set: &str, attribute: &str, what: &str| NotUnderstood {
            set: set.into(),
            attribute: Some(attribute.into()),
            principal: Some(alice.clone()),
            what: what.into(),
        };
        live.not_understood.push(item("Engineering", "Project", "the string `\"x\"`, where …"));
        let options = ExportOptions { assignments: true, ..Default::default() };
        let owned = values_left_to_their_writer(&live, &options);
        assert_eq!(owned.keys().collect::<Vec<_>>(), ["Engineering.Project"], "its definition was read");
        assert!(
            owned["Engineering.Project"][0].starts_with("user:alice@contoso.com holds Engineering.Project")
        );

        // An attribute whose definition was not read takes its whole set, with the rest.
        live.not_understood.push(item("Engineering", "Ghost", UNREAD_DEFINITION));
        let owned = values_left_to_their_writer(&live, &options);
        assert_eq!(owned.keys().collect::<Vec<_>>(), ["Engineering"]);
        assert_eq!(owned["Engineering"].len(), 2);

        // None for sets not exported, without assignments, or owned already.
        let marketing = ExportOptions { sets: vec!["Marketing".into()], ..options.clone() };
        assert!(values_left_to_their_writer(&live, &marketing).is_empty());
        assert!(values_left_to_their_writer(&live, &ExportOptions::default()).is_empty());
        let named = ExportOptions {
            values_owned_elsewhere: BTreeMap::from([("Engineering".into(), "HR".into())]),
            ..options.clone()
        };
        assert!(values_left_to_their_writer(&live, &named).is_empty());

        // The export says why, above the set, and leaves alice's values of it out.
        let mut options = options;
        options.owned_because = values_left_to_their_writer(&live, &options);
        options.values_owned_elsewhere.insert("Engineering".into(), NOT_UNDERSTOOD_WRITER.into());
        let text = export_single(&live, &options).unwrap();
        assert!(text.contains("# `valuesOwnedBy` on Engineering: the tenant holds values there"), "{text}");
        assert!(text.contains("#   user:alice@contoso.com holds Engineering.Ghost: a value of an attribute"));
        assert!(text.contains("  valuesOwnedBy: \"unknown: values entra-csa does not understand"), "{text}");
        assert!(!text.contains("assignments:"), "{text}");
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
