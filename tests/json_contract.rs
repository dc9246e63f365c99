//! The JSON plan is a contract (DESIGN §4): these structs are a copy of
//! format version 1 kept in the test, with `deny_unknown_fields`, and
//! `schema/plan.v1.schema.json` is its published schema. Any change to the
//! shape of `plan --format json` or of a saved plan fails here; a deliberate
//! change must bump `formatVersion`, add `plan.v2.schema.json` and update
//! these structs. Version 2 (files that assign by group) is version 1 plus
//! an optional `source` on changes: `schema/plan.v2.schema.json`, held to
//! differ from version 1 by that field only.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::plan_goldens::{cases, run_plan};

#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PlanV1 {
    format_version: u32,
    target: TargetV1,
    fingerprint: FingerprintV1,
    summary: SummaryV1,
    changes: Vec<ChangeV1>,
    conflicts: Vec<ConflictV1>,
    drift: Vec<DriftV1>,
    notes: Vec<NoteV1>,
    #[serde(default)]
    desired_state: Option<Value>,
}

#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(tag = "kind", deny_unknown_fields)]
enum TargetV1 {
    #[serde(rename = "graph", rename_all = "camelCase")]
    Graph { graph_url: String, tenant_id: Option<String> },
    #[serde(rename = "stateFile")]
    StateFile { path: String },
}

#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FingerprintV1 {
    desired: String,
    live: String,
}

#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SummaryV1 {
    create: u64,
    update: u64,
    deactivate: u64,
    reactivate: u64,
    assign: u64,
    unassign: u64,
    conflicts: u64,
    drift: u64,
}

#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeV1 {
    seq: u64,
    action: String,
    kind: String,
    address: String,
    before: Value,
    after: Value,
}

#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConflictV1 {
    kind: String,
    address: String,
    property: String,
    live: Option<String>,
    desired: Option<String>,
    message: String,
    hint: String,
}

#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DriftV1 {
    kind: String,
    address: String,
    message: String,
}

#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoteV1 {
    address: Option<String>,
    message: String,
}

/// Snapshot shapes by kind, as version 1 defines them.
#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SetSnapshotV1 {
    description: Option<String>,
    max_attributes_per_set: Option<i64>,
}

#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DefinitionSnapshotV1 {
    description: Option<String>,
    #[serde(rename = "type")]
    data_type: String,
    is_collection: bool,
    is_searchable: bool,
    use_pre_defined_values_only: bool,
    status: String,
    #[serde(default)]
    allowed_values: Option<Vec<AllowedValueV1>>,
}

#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AllowedValueV1 {
    id: String,
    is_active: bool,
}

#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ValueSnapshotV1 {
    is_active: bool,
}

fn schema() -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/plan.v1.schema.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::validator_for(&schema).expect("the plan schema compiles")
}

/// Checks one document against the test's structs and the schema.
fn check(document_text: &str, origin: &str, validator: &jsonschema::Validator) -> PlanV1 {
    let value: Value =
        serde_json::from_str(document_text).unwrap_or_else(|e| panic!("{origin}: not JSON: {e}"));
    let first_key = document_text.trim_start().strip_prefix('{').map(str::trim_start);
    assert!(
        first_key.is_some_and(|rest| rest.starts_with("\"formatVersion\"")),
        "{origin}: formatVersion comes first"
    );
    let errors: Vec<String> =
        validator.iter_errors(&value).map(|error| format!("{} at {}", error, error.instance_path)).collect();
    assert!(errors.is_empty(), "{origin}: breaks schema/plan.v1.schema.json:\n{}", errors.join("\n"));
    let plan: PlanV1 =
        serde_json::from_value(value).unwrap_or_else(|e| panic!("{origin}: shape changed: {e}"));
    assert_eq!(plan.format_version, 1, "{origin}: a new formatVersion needs a new contract test");
    for change in &plan.changes {
        for (side, snapshot) in [("before", &change.before), ("after", &change.after)] {
            if snapshot.is_null() {
                continue;
            }
            let result = match change.kind.as_str() {
                "attributeSet" => serde_json::from_value::<SetSnapshotV1>(snapshot.clone()).err(),
                "definition" => serde_json::from_value::<DefinitionSnapshotV1>(snapshot.clone()).err(),
                "allowedValue" => serde_json::from_value::<ValueSnapshotV1>(snapshot.clone()).err(),
                "assignment" => None,
                other => panic!("{origin}: unknown kind {other}"),
            };
            assert!(result.is_none(), "{origin}: {} {side} changed shape: {result:?}", change.address);
        }
    }
    plan
}

#[test]
fn plan_json_keeps_format_version_1() {
    let validator = schema();
    let mut pairs = BTreeSet::new();
    let mut conflicts = 0;
    let mut drift = 0;
    let mut notes = 0;
    for case in cases() {
        let (_, stdout, stderr) = run_plan(&case, "json");
        let origin = case.display().to_string();
        assert!(!stdout.is_empty(), "{origin}: no output: {stderr}");
        let plan = check(&stdout, &origin, &validator);
        for change in &plan.changes {
            pairs.insert(format!("{} {}", change.action, change.kind));
        }
        conflicts += plan.conflicts.len();
        drift += plan.drift.len();
        notes += plan.notes.len();
    }
    // The cases exercise every legal pair, so the checks above cannot pass vacuously.
    let expected: BTreeSet<String> = [
        "create attributeSet",
        "update attributeSet",
        "create definition",
        "update definition",
        "deactivate definition",
        "reactivate definition",
        "create allowedValue",
        "deactivate allowedValue",
        "reactivate allowedValue",
        "assign assignment",
        "update assignment",
        "unassign assignment",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(pairs, expected);
    assert!(conflicts > 0 && drift > 0 && notes > 0);
}

#[test]
fn a_saved_plan_is_the_json_plan_plus_its_desired_state() {
    let case = cases().into_iter().find(|case| case.ends_with("create-everything")).unwrap();
    let folder = tempfile::tempdir().unwrap();
    let out = folder.path().join("plan.json");
    let status = crate::launch::entra_csa()
        .current_dir(&case)
        .args(["plan", "-f", "desired.yaml", "--state", "live.json", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let plan = check(&std::fs::read_to_string(&out).unwrap(), "saved plan", &schema());
    assert!(plan.desired_state.is_some_and(|state| state.is_object()));
}

#[test]
fn the_schema_rejects_an_unknown_field() {
    let case = cases().into_iter().find(|case| case.ends_with("create-everything")).unwrap();
    let mut value: Value =
        serde_json::from_str(&std::fs::read_to_string(case.join("plan.json")).unwrap()).unwrap();
    value["changes"][0]["extra"] = Value::Bool(true);
    assert!(!schema().is_valid(&value));
}

/// Format version 2 is version 1 plus an optional `source` on changes, and
/// only files that assign by group get it.
#[test]
fn plans_of_files_with_groups_are_version_2_which_only_adds_source() {
    let load = |name: &str| -> Value {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema").join(name);
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    let (v1, mut v2) = (load("plan.v1.schema.json"), load("plan.v2.schema.json"));
    // Take the additions back out: what is left is version 1.
    let change = v2["$defs"]["change"]["properties"].as_object_mut().expect("a change's properties");
    assert!(change.remove("source").is_some(), "version 2 adds `source`");
    for key in ["title", "description"] {
        v2[key] = v1[key].clone();
    }
    v2["properties"]["formatVersion"] = v1["properties"]["formatVersion"].clone();
    assert_eq!(v2, v1, "version 2 differs from version 1 by more than `source`");

    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let folder = tempfile::tempdir().unwrap();
    std::fs::copy(root.join("examples/groups/groups-live.json"), folder.path().join("tenant.json")).unwrap();
    let output = crate::launch::entra_csa()
        .current_dir(folder.path())
        .arg("plan")
        .arg("-f")
        .arg(root.join("examples/groups"))
        .args(["--state", "tenant.json", "--format", "json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let plan: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(plan["formatVersion"], 2);
    assert!(plan["changes"].as_array().unwrap().iter().any(|change| change["source"].is_string()));
    let validator = jsonschema::validator_for(&load("plan.v2.schema.json")).unwrap();
    assert!(validator.is_valid(&plan), "the version 2 schema accepts it");
    assert!(!schema().is_valid(&plan), "the version 1 schema refuses it");
}
