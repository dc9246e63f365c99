//! The file-format reference (`docs/src/reference/file-format.md`) and the
//! JSON Schema (`schema/entra-csa.schema.json`) describe the same keys: every
//! key of the schema has a row in the reference whose type cell names the
//! schema's types (or each of its choices) and whose default cell gives the
//! schema's default, and every row of the reference is a key of the schema.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

/// What the schema says of one key.
#[derive(Debug, Default)]
struct Key {
    /// Words the type cell must contain: `string`, `integer`, `boolean`,
    /// `list`, `map`, `mapping`, or each choice of an enumeration.
    types: Vec<String>,
    /// The default, as the schema gives it or as its description states it
    /// ("Default false.", "`Available` (default)").
    default: Option<String>,
}

fn schema() -> Value {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/entra-csa.schema.json"))
            .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn resolve<'a>(schema: &'a Value, node: &'a Value) -> &'a Value {
    match node.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let name = reference.trim_start_matches("#/$defs/");
            resolve(schema, &schema["$defs"][name])
        }
        None => node,
    }
}

/// The alternatives of a node that are not `null`.
fn alternatives<'a>(schema: &'a Value, node: &'a Value) -> Vec<&'a Value> {
    let node = resolve(schema, node);
    for combinator in ["anyOf", "oneOf"] {
        if let Some(choices) = node.get(combinator).and_then(Value::as_array) {
            if choices.iter().all(|choice| choice.get("const").is_some()) {
                return vec![node];
            }
            return choices
                .iter()
                .filter(|choice| choice.get("type") != Some(&Value::from("null")))
                .flat_map(|choice| alternatives(schema, choice))
                .collect();
        }
    }
    vec![node]
}

fn type_words(schema: &Value, node: &Value) -> Vec<String> {
    let mut words = Vec::new();
    for alternative in alternatives(schema, node) {
        if let Some(choices) = alternative.get("enum").and_then(Value::as_array) {
            words.extend(choices.iter().map(|choice| format!("`{}`", choice.as_str().unwrap())));
            continue;
        }
        if let Some(choices) = alternative.get("oneOf").and_then(Value::as_array) {
            words.extend(choices.iter().map(|choice| format!("`{}`", choice["const"].as_str().unwrap())));
            continue;
        }
        let types: Vec<&str> = match &alternative["type"] {
            Value::String(single) => vec![single.as_str()],
            Value::Array(several) => several.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        for kind in types {
            let word = match kind {
                "object" if alternative.get("properties").is_some() => "mapping",
                "object" => "map",
                "array" => "list",
                "null" => continue,
                other => other,
            };
            words.push(word.to_owned());
        }
    }
    words.dedup();
    words
}

/// The default the schema gives, or the one its description states.
fn default_of(schema: &Value, node: &Value) -> Option<String> {
    if let Some(default) = node.get("default").or_else(|| resolve(schema, node).get("default")) {
        return Some(match default {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        });
    }
    let description = node.get("description").and_then(Value::as_str).unwrap_or_default();
    if let Some(at) = description.find("Default ") {
        let word: String = description[at + "Default ".len()..]
            .chars()
            .take_while(|character| character.is_alphanumeric() || *character == '`')
            .collect();
        return Some(word.trim_matches('`').to_owned());
    }
    if let Some(at) = description.find("(default)") {
        let before = description[..at].trim_end();
        return Some(before.rsplit(' ').next().unwrap().trim_matches('`').to_owned());
    }
    None
}

/// The placeholder the reference writes for the keys of a map under `parent`.
fn placeholder(parent: &str) -> &'static str {
    match parent.rsplit('.').next().unwrap() {
        "attributeSets" => "<set>",
        "attributes" => "<attribute>",
        "users" => "<user>",
        "servicePrincipals" => "<servicePrincipal>",
        "groups" => "<group>",
        "<user>" | "<servicePrincipal>" | "<group>" => "<set>",
        "<set>" => "<attribute>",
        other => panic!("no placeholder for the keys under {other}"),
    }
}

/// Whether a node, or a map or list inside it, has named keys.
fn has_keys(schema: &Value, node: &Value) -> bool {
    alternatives(schema, node).into_iter().any(|alternative| {
        alternative.get("properties").is_some()
            || alternative.get("additionalProperties").is_some_and(|values| has_keys(schema, values))
    })
}

/// Every named key of the schema, by its path in the reference's notation.
fn schema_keys(schema: &Value, node: &Value, path: &str, keys: &mut BTreeMap<String, Key>) {
    for alternative in alternatives(schema, node) {
        if let Some(properties) = alternative.get("properties").and_then(Value::as_object) {
            for (name, property) in properties {
                let key = if path.is_empty() { name.clone() } else { format!("{path}.{name}") };
                keys.insert(
                    key.clone(),
                    Key { types: type_words(schema, property), default: default_of(schema, property) },
                );
                schema_keys(schema, property, &key, keys);
            }
        }
        if let Some(values) =
            alternative.get("additionalProperties").filter(|values| has_keys(schema, values))
        {
            schema_keys(schema, values, &format!("{path}.{}", placeholder(path)), keys);
        }
        if let Some(items) = alternative.get("items").filter(|_| alternative["type"] == "array") {
            // Only lists of mappings have keys of their own.
            schema_keys(schema, items, &format!("{path}[]"), keys);
        }
    }
}

/// The rows of the reference's key tables: key → (type cell, default cell).
fn reference_rows() -> BTreeMap<String, (String, String)> {
    let page = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/src/reference/file-format.md"),
    )
    .unwrap();
    let mut rows = BTreeMap::new();
    for line in page.lines().filter(|line| line.starts_with("| `")) {
        let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
        assert_eq!(cells.len(), 4, "a key row has four cells: {line}");
        let key = cells[0].trim_matches('`').to_owned();
        assert!(
            rows.insert(key.clone(), (cells[1].to_owned(), cells[2].to_owned())).is_none(),
            "{key} twice"
        );
    }
    rows
}

#[test]
fn the_file_format_reference_documents_every_key_of_the_schema_and_no_other() {
    let schema = schema();
    let mut keys = BTreeMap::new();
    schema_keys(&schema, &schema, "", &mut keys);
    assert!(keys.len() > 25, "the schema walk found only {keys:?}");
    let rows = reference_rows();
    let mut problems = Vec::new();
    for (key, expected) in &keys {
        let Some((types, default)) = rows.get(key) else {
            problems.push(format!("{key}: not in the reference (schema types {:?})", expected.types));
            continue;
        };
        for word in &expected.types {
            if !types.contains(word.as_str()) {
                problems.push(format!("{key}: the type cell `{types}` does not name {word}"));
            }
        }
        if let Some(value) = &expected.default
            && !default.contains(&format!("`{value}`"))
        {
            problems.push(format!("{key}: the default cell `{default}` does not give `{value}`"));
        }
    }
    for key in rows.keys() {
        if !keys.contains_key(key) {
            problems.push(format!("{key}: in the reference but not in the schema"));
        }
    }
    assert!(problems.is_empty(), "the reference and the schema differ:\n{}", problems.join("\n"));
}

#[test]
fn the_schema_walk_sees_types_defaults_and_placeholders() {
    let schema = schema();
    let mut keys = BTreeMap::new();
    schema_keys(&schema, &schema, "", &mut keys);
    let undeclared = &keys["policy.undeclaredAssignments"];
    assert_eq!(undeclared.types, ["`ignore`", "`report`", "`remove`"]);
    assert_eq!(undeclared.default.as_deref(), Some("ignore"));
    let collection = &keys["attributeSets.<set>.attributes.<attribute>.isCollection"];
    assert_eq!(
        (collection.types.as_slice(), collection.default.as_deref()),
        (&["boolean".to_owned()][..], Some("false"))
    );
    assert_eq!(
        keys["attributeSets.<set>.attributes.<attribute>.status"].default.as_deref(),
        Some("Available")
    );
    assert!(keys.contains_key("attributeSets.<set>.attributes.<attribute>.allowedValues[].active"));
    assert!(keys.contains_key("assignments.groups.<group>.<set>.<attribute>.authoritative"));
}
