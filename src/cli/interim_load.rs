//! INTERIM: a minimal reader of the desired-state YAML of DESIGN §2 so that
//! `plan` and `apply` work before the real loader (`crate::load`, with
//! validation and positioned diagnostics) lands; `cli::plan::load_desired`
//! switches to it then and this file is deleted. It does not validate.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;

use crate::model::{
    AllowedValue, AttributeSet, AttributeValue, DataType, Definition, DesiredState, Policy, PrincipalKey,
    Status, UndeclaredAssignments, UndeclaredObjects,
};

#[derive(Debug)]
pub struct Diagnostics(String);

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct File {
    #[allow(dead_code)]
    version: u32,
    #[serde(default)]
    policy: Option<PolicyY>,
    #[serde(default)]
    attribute_sets: BTreeMap<String, SetY>,
    #[serde(default)]
    assignments: Option<AssignY>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
struct PolicyY {
    undeclared_definitions: UndeclaredObjects,
    undeclared_values: UndeclaredObjects,
    undeclared_assignments: UndeclaredAssignments,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SetY {
    description: Option<String>,
    max_attributes_per_set: Option<i32>,
    #[serde(default)]
    attributes: BTreeMap<String, AttrY>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AttrY {
    description: Option<String>,
    #[serde(rename = "type")]
    data_type: DataType,
    #[serde(default)]
    is_collection: bool,
    #[serde(default = "yes")]
    is_searchable: bool,
    #[serde(default)]
    use_pre_defined_values_only: bool,
    #[serde(default)]
    status: Status,
    #[serde(default)]
    allowed_values: Vec<ValueY>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ValueY {
    Plain(String),
    Full {
        value: String,
        #[serde(default = "yes")]
        active: bool,
    },
}

type Values = BTreeMap<String, BTreeMap<String, serde_json::Value>>;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
struct AssignY {
    users: BTreeMap<String, Values>,
    service_principals: BTreeMap<String, Values>,
}

pub fn load_files(paths: &[PathBuf]) -> Result<DesiredState, Diagnostics> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| Diagnostics(format!("{}: {e}", path.display())))?
                .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    let mut desired = DesiredState::default();
    for path in files {
        let text =
            std::fs::read_to_string(&path).map_err(|e| Diagnostics(format!("{}: {e}", path.display())))?;
        let file: File =
            serde_saphyr::from_str(&text).map_err(|e| Diagnostics(format!("{}: {e}", path.display())))?;
        if let Some(policy) = file.policy {
            desired.policy = Policy {
                undeclared_definitions: policy.undeclared_definitions,
                undeclared_values: policy.undeclared_values,
                undeclared_assignments: policy.undeclared_assignments,
            };
        }
        for (id, set) in file.attribute_sets {
            let attributes = set
                .attributes
                .into_iter()
                .map(|(name, attr)| {
                    let mut allowed_values: Vec<AllowedValue> = attr
                        .allowed_values
                        .into_iter()
                        .map(|v| match v {
                            ValueY::Plain(id) => AllowedValue { id, is_active: true },
                            ValueY::Full { value, active } => AllowedValue { id: value, is_active: active },
                        })
                        .collect();
                    allowed_values.sort_by(|a, b| a.id.cmp(&b.id));
                    let definition = Definition {
                        attribute_set: id.clone(),
                        name: name.clone(),
                        description: attr.description,
                        data_type: attr.data_type,
                        is_collection: attr.is_collection,
                        is_searchable: attr.is_searchable,
                        use_pre_defined_values_only: attr.use_pre_defined_values_only,
                        status: attr.status,
                        allowed_values,
                    };
                    (name, definition)
                })
                .collect();
            desired.attribute_sets.insert(
                id.clone(),
                AttributeSet {
                    id,
                    description: set.description,
                    max_attributes_per_set: set.max_attributes_per_set,
                    attributes,
                },
            );
        }
        let assignments = file.assignments.unwrap_or_default();
        for (keys, make) in [
            (assignments.users, PrincipalKey::User as fn(String) -> PrincipalKey),
            (assignments.service_principals, PrincipalKey::ServicePrincipal),
        ] {
            for (key, sets) in keys {
                let mut converted = BTreeMap::new();
                for (set, attrs) in sets {
                    let mut values = BTreeMap::new();
                    for (attr, value) in attrs {
                        let value = match value {
                            serde_json::Value::Bool(b) => AttributeValue::Boolean(b),
                            serde_json::Value::Number(n) => {
                                AttributeValue::Integer(n.as_i64().unwrap_or(0) as i32)
                            }
                            serde_json::Value::String(s) => AttributeValue::String(s),
                            serde_json::Value::Array(items)
                                if items.iter().all(|i| i.is_number()) && !items.is_empty() =>
                            {
                                AttributeValue::integers(
                                    items.iter().filter_map(|i| i.as_i64()).map(|i| i as i32).collect(),
                                )
                            }
                            serde_json::Value::Array(items) => AttributeValue::strings(
                                items
                                    .iter()
                                    .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                                    .collect(),
                            ),
                            other => {
                                return Err(Diagnostics(format!("{}: bad value {other}", path.display())));
                            }
                        };
                        values.insert(attr, value);
                    }
                    converted.insert(set, values);
                }
                desired.assignments.insert(make(key), converted);
            }
        }
    }
    Ok(desired)
}
