//! The JSON plan is a contract (ARCHITECTURE.md, "The JSON plan is a contract"): these structs are a copy of
//! format version 2 kept in the test, with `deny_unknown_fields`, and
//! `schema/plan.v2.schema.json` is its published schema (version 2 is
//! version 1, `schema/plan.v1.schema.json`, plus `impact[]`). Any change to the
//! shape of `plan --format json` or of a saved plan fails here; a deliberate
//! change must bump `formatVersion`, add a new schema and update these
//! structs. Version 2 also adds an optional `source` on changes (the group a
//! change comes from), and is held to differ from version 1 by those two
//! additions only.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::plan_goldens::{cases, run_plan};

#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct PlanV2 {
    format_version: u32,
    target: TargetV1,
    fingerprint: FingerprintV1,
    summary: SummaryV1,
    changes: Vec<ChangeV1>,
    conflicts: Vec<ConflictV1>,
    drift: Vec<DriftV1>,
    notes: Vec<NoteV1>,
    impact: Vec<ImpactV2>,
    /// An optional addition within version 2.
    #[serde(default)]
    references: Vec<ReferenceV2>,
    /// An optional addition within version 2.
    #[serde(default)]
    coverage: Vec<CoverageV2>,
    #[serde(default)]
    desired_state: Option<Value>,
}

#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CoverageV2 {
    requirement: String,
    address: String,
    display_name: Option<String>,
    value: Value,
    message: String,
    outcome: String,
}

#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ReferenceV2 {
    address: String,
    reader: ReaderV2,
    attribute: String,
    operator: Option<String>,
    value: Option<String>,
    outcome: String,
}

#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ReaderV2 {
    kind: String,
    id: Option<String>,
    name: String,
    state: String,
    condition: String,
    api_version: String,
}

#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ImpactV2 {
    principal: String,
    display_name: Option<String>,
    policy: String,
    policy_id: Option<String>,
    state: String,
    filter: String,
    effect: String,
    message: String,
    /// An optional addition within version 2.
    #[serde(default)]
    api_version: Option<String>,
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
    /// Version 2: the group a change comes from, on those a group makes.
    #[serde(default)]
    source: Option<String>,
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
    /// An optional addition within version 2 (`plan --explain` only).
    #[serde(default)]
    explanation: Option<ExplanationV2>,
}

#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ExplanationV2 {
    audit_log_since: String,
    entries: Vec<AuditEntryV2>,
    older_entries: usize,
}

#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AuditEntryV2 {
    activity_date_time: String,
    activity: String,
    initiated_by: ActorV2,
    changes: Vec<AuditChangeV2>,
}

#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ActorV2 {
    kind: String,
    user_principal_name: Option<String>,
    id: Option<String>,
    display_name: Option<String>,
    app_id: Option<String>,
}

#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AuditChangeV2 {
    property: String,
    old_value: Option<String>,
    new_value: Option<String>,
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

pub(crate) fn schema() -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/plan.v2.schema.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::validator_for(&schema).expect("the plan schema compiles")
}

/// Checks one document against the test's structs and the schema (also
/// for the plans of other test files, such as `plan --explain`'s).
pub(crate) fn check(document_text: &str, origin: &str, validator: &jsonschema::Validator) -> PlanV2 {
    let value: Value =
        serde_json::from_str(document_text).unwrap_or_else(|e| panic!("{origin}: not JSON: {e}"));
    let first_key = document_text.trim_start().strip_prefix('{').map(str::trim_start);
    assert!(
        first_key.is_some_and(|rest| rest.starts_with("\"formatVersion\"")),
        "{origin}: formatVersion comes first"
    );
    let errors: Vec<String> =
        validator.iter_errors(&value).map(|error| format!("{} at {}", error, error.instance_path)).collect();
    assert!(errors.is_empty(), "{origin}: breaks schema/plan.v2.schema.json:\n{}", errors.join("\n"));
    let plan: PlanV2 =
        serde_json::from_value(value).unwrap_or_else(|e| panic!("{origin}: shape changed: {e}"));
    assert_eq!(plan.format_version, 2, "{origin}: a new formatVersion needs a new contract test");
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
fn plan_json_keeps_format_version_2() {
    let validator = schema();
    let mut pairs = BTreeSet::new();
    let mut conflicts = 0;
    let mut drift = 0;
    let mut notes = 0;
    let mut effects = BTreeSet::new();
    let mut outcomes = BTreeSet::new();
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
        effects.extend(plan.impact.iter().map(|impact| impact.effect.clone()));
        outcomes.extend(plan.coverage.iter().map(|finding| finding.outcome.clone()));
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
    let every_effect: BTreeSet<String> =
        ["enters", "leaves", "unknown"].into_iter().map(String::from).collect();
    assert_eq!(effects, every_effect, "the cases show every effect of impact[]");
    let every_outcome: BTreeSet<String> = ["finding", "conflict"].into_iter().map(String::from).collect();
    assert_eq!(outcomes, every_outcome, "the cases show every outcome of coverage[]");
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

#[test]
fn apply_still_reads_a_plan_saved_as_version_1() {
    let case = cases().into_iter().find(|case| case.ends_with("create-everything")).unwrap();
    let folder = tempfile::tempdir().unwrap();
    for file in ["desired.yaml", "live.json"] {
        std::fs::copy(case.join(file), folder.path().join(file)).unwrap();
    }
    let run =
        |args: &[&str]| crate::launch::entra_csa().current_dir(folder.path()).args(args).output().unwrap();
    let planned = run(&["plan", "-f", "desired.yaml", "--state", "live.json", "--out", "plan.json"]);
    assert!(planned.status.success(), "{}", String::from_utf8_lossy(&planned.stderr));
    // What the previous release wrote: version 1, without impact[].
    let path = folder.path().join("plan.json");
    let mut saved: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    saved["formatVersion"] = Value::from(1);
    saved.as_object_mut().unwrap().remove("impact");
    std::fs::write(&path, serde_json::to_string_pretty(&saved).unwrap()).unwrap();
    let applied = run(&["apply", "plan.json", "--auto-approve"]);
    let stdout = String::from_utf8_lossy(&applied.stdout);
    assert!(applied.status.success(), "{stdout}{}", String::from_utf8_lossy(&applied.stderr));
    assert!(stdout.contains("Apply complete"), "{stdout}");
    // A version this release does not know is refused, naming what it reads.
    saved["formatVersion"] = Value::from(3);
    std::fs::write(&path, serde_json::to_string_pretty(&saved).unwrap()).unwrap();
    let refused = run(&["apply", "plan.json", "--auto-approve"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused.stderr)
            .contains("plan format version 3; this entra-csa reads versions 1 to 2")
    );
}

/// Format version 2 is version 1 plus `impact[]` and an optional `source`
/// on changes, which plans of files that assign by group carry.
#[test]
fn version_2_only_adds_impact_and_source_which_group_plans_carry() {
    let load = |name: &str| -> Value {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema").join(name);
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    let (v1, mut v2) = (load("plan.v1.schema.json"), load("plan.v2.schema.json"));
    // Take the additions back out: what is left is version 1.
    let change = v2["$defs"]["change"]["properties"].as_object_mut().expect("a change's properties");
    assert!(change.remove("source").is_some(), "version 2 adds `source`");
    assert!(v2["$defs"].as_object_mut().unwrap().remove("impact").is_some(), "version 2 adds `impact`");
    assert!(v2["properties"].as_object_mut().unwrap().remove("impact").is_some());
    // Optional additions within version 2: where each reference and impact
    // was read (the Graph version), and the references to what is deactivated.
    assert!(v2["$defs"].as_object_mut().unwrap().remove("reference").is_some());
    assert!(v2["$defs"].as_object_mut().unwrap().remove("reader").is_some());
    assert!(v2["properties"].as_object_mut().unwrap().remove("references").is_some());
    // Optional addition within version 2: who breaks a requirement of the files.
    assert!(v2["$defs"].as_object_mut().unwrap().remove("coverage").is_some());
    assert!(v2["properties"].as_object_mut().unwrap().remove("coverage").is_some());
    // And, with `plan --explain`, each drift finding's explanation from the audit log.
    assert!(v2["$defs"]["drift"]["properties"].as_object_mut().unwrap().remove("explanation").is_some());
    for definition in ["explanation", "auditEntry", "auditActor", "auditChange"] {
        assert!(v2["$defs"].as_object_mut().unwrap().remove(definition).is_some(), "{definition}");
    }
    v2["required"] = v1["required"].clone();
    for key in ["title", "description"] {
        v2[key] = v1[key].clone();
    }
    v2["properties"]["formatVersion"] = v1["properties"]["formatVersion"].clone();
    assert_eq!(v2, v1, "version 2 differs from version 1 by more than `impact` and `source`");

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
}

/// The changes to one object chain: each later change's `before` is the
/// `after` of the one before it (a definition's inline `allowedValues`
/// aside), so the last `after` is where the object ends. The cases hold a
/// definition updated then deactivated, and one reactivated then updated.
#[test]
fn the_changes_to_one_object_chain_their_before_and_after() {
    let without_values = |snapshot: &Value| {
        let mut snapshot = snapshot.clone();
        if let Value::Object(fields) = &mut snapshot {
            fields.remove("allowedValues");
        }
        snapshot
    };
    let mut chained = 0;
    for case in cases() {
        let (_, stdout, _) = run_plan(&case, "json");
        let plan: Value = serde_json::from_str(&stdout).unwrap();
        let changes = plan["changes"].as_array().unwrap();
        for (index, later) in changes.iter().enumerate() {
            let Some(earlier) =
                changes[..index].iter().rev().find(|earlier| earlier["address"] == later["address"])
            else {
                continue;
            };
            assert_eq!(
                without_values(&later["before"]),
                without_values(&earlier["after"]),
                "{}: change {} of {} does not start where change {} ended",
                case.display(),
                later["seq"],
                later["address"],
                earlier["seq"]
            );
            chained += 1;
        }
    }
    assert!(chained >= 2, "the cases hold definitions with two changes");
}
