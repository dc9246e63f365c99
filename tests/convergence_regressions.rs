//! Ten bugs of the plan rules, each reproduced through the real binary against
//! a state file (or through the Graph client against the emulator), so that
//! none comes back: one principal under two keys, unassigning values of
//! Deprecated attributes, reactivation that does not converge, the active
//! limit at every step, inactive values, export round trips, saved plans
//! refused over unrelated changes, silent empty mappings, folder exports that
//! collide, and path segments that do not round-trip.

use std::path::Path;

use serde_json::{Value, json};

use crate::launch::entra_csa;

const ALICE: &str = "11111111-1111-4111-8111-111111111111";
const BOB: &str = "22222222-2222-4222-8222-222222222222";
const GUID: &str = "7c2f3c3e-1111-4a4a-9b9b-0123456789ab";

fn run(folder: &Path, args: &[&str]) -> (i32, String, String) {
    let output = entra_csa().current_dir(folder).env("NO_COLOR", "1").args(args).output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn definition(set: &str, name: &str, kind: &str, collection: bool, status: &str, values: Value) -> Value {
    json!({
        "id": format!("{set}_{name}"), "attributeSet": set, "name": name, "description": null,
        "type": kind, "isCollection": collection, "isSearchable": true, "status": status,
        "usePreDefinedValuesOnly": false, "allowedValues": values,
    })
}

fn user(id: &str, upn: &str, attributes: Value) -> Value {
    json!({ "id": id, "userPrincipalName": upn, "displayName": upn, "customSecurityAttributes": attributes })
}

fn tenant(sets: &[&str], definitions: Vec<Value>, users: Vec<Value>) -> Value {
    let sets: Vec<Value> =
        sets.iter().map(|id| json!({ "id": id, "description": null, "maxAttributesPerSet": null })).collect();
    json!({
        "attributeSets": sets,
        "customSecurityAttributeDefinitions": definitions,
        "users": users,
        "servicePrincipals": [],
    })
}

/// `Eng` values as Graph writes them: a single String attribute each.
fn eng(values: &[(&str, &str)]) -> Value {
    let mut object = serde_json::Map::new();
    object.insert("@odata.type".into(), "#microsoft.graph.customSecurityAttributeValue".into());
    for (name, value) in values {
        object.insert((*name).into(), (*value).into());
    }
    json!({ "Eng": object })
}

/// A scratch folder with `desired.yaml` and `live.json`.
fn scratch(desired: &str, live: &Value) -> tempfile::TempDir {
    let folder = tempfile::tempdir().unwrap();
    std::fs::write(folder.path().join("desired.yaml"), desired).unwrap();
    std::fs::write(folder.path().join("live.json"), serde_json::to_string_pretty(live).unwrap()).unwrap();
    folder
}

fn plan(folder: &Path) -> (i32, Value, String) {
    let (code, stdout, stderr) =
        run(folder, &["plan", "-f", "desired.yaml", "--state", "live.json", "--format", "json"]);
    let plan = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (code, plan, stderr)
}

fn apply(folder: &Path) -> (i32, String, String) {
    run(folder, &["apply", "-f", "desired.yaml", "--state", "live.json", "--auto-approve"])
}

fn changes(plan: &Value) -> Vec<String> {
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|change| {
            format!("{} {}", change["action"].as_str().unwrap(), change["address"].as_str().unwrap())
        })
        .collect()
}

fn state(folder: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(folder.join("live.json")).unwrap()).unwrap()
}

const ENG_CUR_OTHER: &str = "Eng:\n    attributes:\n      Cur: {type: String}\n      Other: {type: String}\n";

#[test]
fn one_principal_under_a_upn_and_its_object_id_is_a_conflict_naming_both() {
    let desired = format!(
        "version: 1\nattributeSets:\n  {ENG_CUR_OTHER}assignments:\n  users:\n    alice@x.com:\n      \
         Eng: {{Cur: fromupn}}\n    {ALICE}:\n      Eng: {{Other: fromid}}\n"
    );
    let live = tenant(
        &["Eng"],
        vec![
            definition("Eng", "Cur", "String", false, "Available", json!([])),
            definition("Eng", "Other", "String", false, "Available", json!([])),
        ],
        vec![user(ALICE, "alice@x.com", Value::Null)],
    );
    let folder = scratch(&desired, &live);
    let (code, plan, stderr) = plan(folder.path());
    assert_eq!(code, 1, "{plan}\n{stderr}");
    let conflict = plan["conflicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|conflict| conflict["property"] == "principal")
        .unwrap_or_else(|| panic!("no principal conflict: {plan}"));
    let message = conflict["message"].as_str().unwrap();
    assert!(message.contains("alice@x.com") && message.contains(ALICE), "{message}");
    let (code, _, _) = apply(folder.path());
    assert_eq!(code, 1, "apply refuses the plan");
    assert_eq!(state(folder.path()), live, "nothing was written");
}

#[test]
fn object_ids_or_upns_differing_only_in_case_are_refused_by_validate_at_both_places() {
    for (first, second) in [("alice@x.com", "Alice@X.com"), (GUID, "7C2F3C3E-1111-4A4A-9B9B-0123456789AB")]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    {
        let desired = format!(
            "version: 1\nattributeSets:\n  {ENG_CUR_OTHER}assignments:\n  users:\n    {first}:\n      \
             Eng: {{Cur: one}}\n    {second}:\n      Eng: {{Other: two}}\n"
        );
        let folder = scratch(&desired, &tenant(&[], vec![], vec![]));
        let (code, stdout, stderr) = run(folder.path(), &["validate", "-f", "desired.yaml"]);
        assert_eq!(code, 1, "{stdout}{stderr}");
        let text = format!("{stdout}{stderr}");
        assert!(text.contains(&first) && text.contains(&second), "both keys are named: {text}");
        assert!(text.contains("desired.yaml:9:") && text.contains("desired.yaml:11:"), "both places: {text}");
    }
}

#[test]
fn remove_leaves_values_of_deprecated_attributes_on_undeclared_principals() {
    let desired = "version: 1\npolicy:\n  undeclaredAssignments: remove\nattributeSets:\n  Eng:\n    \
                   attributes:\n      Cur: {type: String}\n      Old: {type: String, status: Deprecated}\n";
    let live = tenant(
        &["Eng"],
        vec![
            definition("Eng", "Cur", "String", false, "Available", json!([])),
            definition("Eng", "Old", "String", false, "Deprecated", json!([])),
        ],
        vec![user(ALICE, "alice@x.com", eng(&[("Cur", "a"), ("Old", "legacy")]))],
    );
    let folder = scratch(desired, &live);
    let (code, plan, stderr) = plan(folder.path());
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(changes(&plan), vec!["unassign user:alice@x.com/Eng.Cur"]);
}

#[test]
fn reactivating_a_definition_unassigns_its_undeclared_values_in_the_same_reviewed_plan() {
    let desired = "version: 1\nattributeSets:\n  Eng:\n    attributes:\n      Cur: {type: String}\n      \
                   Old: {type: String}\nassignments:\n  users:\n    alice@x.com:\n      Eng: {Cur: a}\n";
    let live = tenant(
        &["Eng"],
        vec![
            definition("Eng", "Cur", "String", false, "Available", json!([])),
            definition("Eng", "Old", "String", false, "Deprecated", json!([])),
        ],
        vec![user(ALICE, "alice@x.com", eng(&[("Cur", "a"), ("Old", "legacyvalue")]))],
    );
    let folder = scratch(desired, &live);
    let (_, first, _) = plan(folder.path());
    assert_eq!(changes(&first), vec!["reactivate Eng.Old", "unassign user:alice@x.com/Eng.Old"]);
    let (code, stdout, stderr) = apply(folder.path());
    assert_eq!(code, 0, "{stdout}{stderr}");
    let (_, second, _) = plan(folder.path());
    assert_eq!(changes(&second), Vec::<String>::new(), "converged");
}

#[test]
fn at_the_active_limit_deprecating_one_and_creating_one_applies() {
    let mut yaml = String::from("version: 1\nattributeSets:\n  Eng:\n    attributes:\n");
    let mut definitions = Vec::new();
    for index in 0..500 {
        definitions.push(definition("Eng", &format!("A{index}"), "String", false, "Available", json!([])));
        let status = if index == 0 { ", status: Deprecated" } else { "" };
        yaml.push_str(&format!("      A{index}: {{type: String{status}}}\n"));
    }
    yaml.push_str("      Fresh: {type: Integer}\n");
    let folder = scratch(&yaml, &tenant(&["Eng"], definitions, vec![]));
    let (code, first, stderr) = plan(folder.path());
    assert_eq!(code, 0, "{first}\n{stderr}");
    assert_eq!(changes(&first), vec!["deactivate Eng.A0", "create Eng.Fresh"], "room is freed first");
    let (code, stdout, stderr) = apply(folder.path());
    assert_eq!(code, 0, "{stdout}{stderr}");
    let (_, second, _) = plan(folder.path());
    assert_eq!(changes(&second), Vec::<String>::new());

    // Reactivating one more past the limit is still a conflict.
    let yaml = yaml.replace("A0: {type: String, status: Deprecated}", "A0: {type: String}");
    std::fs::write(folder.path().join("desired.yaml"), yaml).unwrap();
    let (code, plan, _) = plan(folder.path());
    assert_eq!(code, 1, "{plan}");
    assert!(plan["conflicts"][0]["message"].as_str().unwrap().contains("501 active"), "{plan}");
}

#[test]
fn a_new_assignment_of_an_inactive_value_is_a_conflict_on_any_attribute_with_allowed_values() {
    for predefined_only in [false, true] {
        let desired = format!(
            "version: 1\nattributeSets:\n  Eng:\n    attributes:\n      Cur:\n        type: String\n        \
             usePreDefinedValuesOnly: {predefined_only}\n        allowedValues: [Live, {{value: Gone, active: \
             false}}]\nassignments:\n  users:\n    alice@x.com:\n      Eng: {{Cur: Gone}}\n    bob@x.com:\n      \
             Eng: {{Cur: Gone}}\n"
        );
        let mut cur = definition(
            "Eng",
            "Cur",
            "String",
            false,
            "Available",
            json!([{ "id": "Live", "isActive": true }, { "id": "Gone", "isActive": false }]),
        );
        cur["usePreDefinedValuesOnly"] = predefined_only.into();
        let live = tenant(
            &["Eng"],
            vec![cur],
            vec![user(ALICE, "alice@x.com", eng(&[("Cur", "Gone")])), user(BOB, "bob@x.com", Value::Null)],
        );
        let folder = scratch(&desired, &live);
        let (code, plan, stderr) = plan(folder.path());
        assert_eq!(code, 1, "{plan}\n{stderr}");
        let conflicts = plan["conflicts"].as_array().unwrap();
        assert_eq!(conflicts.len(), 1, "alice keeps the value she holds; bob cannot get it: {plan}");
        assert_eq!(conflicts[0]["address"], "user:bob@x.com/Eng.Cur");
        assert!(conflicts[0]["message"].as_str().unwrap().contains("inactive"), "{plan}");
    }
}

#[test]
fn export_of_a_tenant_whose_principals_hold_deactivated_values_plans_empty() {
    let mut cur = definition(
        "Eng",
        "Cur",
        "String",
        true,
        "Available",
        json!([{ "id": "Live", "isActive": true }, { "id": "Gone", "isActive": false }]),
    );
    cur["usePreDefinedValuesOnly"] = true.into();
    let mut values = eng(&[]);
    values["Eng"]["Cur@odata.type"] = "#Collection(String)".into();
    values["Eng"]["Cur"] = json!(["Gone", "Live"]);
    let live = tenant(&["Eng"], vec![cur], vec![user(ALICE, "alice@x.com", values)]);
    let folder = scratch("", &live);
    let (code, _, stderr) =
        run(folder.path(), &["export", "--state", "live.json", "--assignments", "-o", "desired.yaml"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, stderr) =
        run(folder.path(), &["plan", "-f", "desired.yaml", "--state", "live.json", "--detailed-exitcode"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
}

#[test]
fn a_saved_plan_is_not_stale_over_undeclared_sets_or_principals_read_by_chance() {
    let desired = "version: 1\npolicy:\n  undeclaredAssignments: report\nattributeSets:\n  Eng:\n    \
                   attributes:\n      Cur: {type: String}\nassignments:\n  users:\n    alice@x.com:\n      \
                   Eng: {Cur: a}\n";
    let live = tenant(
        &["Eng", "Other"],
        vec![
            definition("Eng", "Cur", "String", false, "Available", json!([])),
            definition("Other", "Team", "String", false, "Available", json!([])),
        ],
        vec![user(ALICE, "alice@x.com", Value::Null), user(BOB, "bob@x.com", Value::Null)],
    );
    let folder = scratch(desired, &live);
    let (code, _, stderr) =
        run(folder.path(), &["plan", "-f", "desired.yaml", "--state", "live.json", "--out", "plan.json"]);
    assert_eq!(code, 0, "{stderr}");
    // Another team edits its own set, renames bob and gives him a value there.
    let mut edited = live.clone();
    edited["customSecurityAttributeDefinitions"][1]["description"] = "theirs".into();
    edited["users"][1]["displayName"] = "Robert".into();
    edited["users"][1]["customSecurityAttributes"] = json!({ "Other": {
        "@odata.type": "#microsoft.graph.customSecurityAttributeValue", "Team": "blue" } });
    std::fs::write(folder.path().join("live.json"), serde_json::to_string(&edited).unwrap()).unwrap();
    let (code, stdout, stderr) =
        run(folder.path(), &["apply", "plan.json", "--state", "live.json", "--auto-approve"]);
    assert_eq!(code, 0, "{stdout}{stderr}");

    // What the plan depends on still makes it stale: a holder of a value in a declared set.
    let (code, _, _) =
        run(folder.path(), &["plan", "-f", "desired.yaml", "--state", "live.json", "--out", "plan.json"]);
    assert_eq!(code, 0);
    let mut edited = state(folder.path());
    edited["users"][1]["customSecurityAttributes"]["Eng"] = json!({
        "@odata.type": "#microsoft.graph.customSecurityAttributeValue", "Cur": "b" });
    std::fs::write(folder.path().join("live.json"), serde_json::to_string(&edited).unwrap()).unwrap();
    let (code, stdout, stderr) =
        run(folder.path(), &["apply", "plan.json", "--state", "live.json", "--auto-approve"]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(format!("{stdout}{stderr}").contains("stale"), "{stdout}{stderr}");
}

#[test]
fn an_empty_mapping_for_a_missing_principal_is_a_conflict() {
    for assignments in ["    alcie@x.com: {Eng: {}}\n", "    bob@x.com: {}\n"] {
        let desired = format!(
            "version: 1\nattributeSets:\n  Eng:\n    attributes:\n      Cur: {{type: String}}\nassignments:\n  \
             users:\n{assignments}"
        );
        let live = tenant(
            &["Eng"],
            vec![definition("Eng", "Cur", "String", false, "Available", json!([]))],
            vec![user(ALICE, "alice@x.com", Value::Null)],
        );
        let folder = scratch(&desired, &live);
        let (code, plan, stderr) = plan(folder.path());
        assert_eq!(code, 1, "{assignments}: {plan}\n{stderr}");
        assert_eq!(plan["conflicts"][0]["property"], "principal", "{plan}");
    }
}

#[test]
fn a_folder_export_keeps_a_set_named_assignments() {
    let live = tenant(
        &["assignments", "Eng"],
        vec![
            definition("assignments", "Team", "String", false, "Available", json!([])),
            definition("Eng", "Cur", "String", false, "Available", json!([])),
        ],
        vec![user(ALICE, "alice@x.com", eng(&[("Cur", "a")]))],
    );
    let folder = scratch("", &live);
    std::fs::remove_file(folder.path().join("desired.yaml")).unwrap();
    let (code, _, stderr) =
        run(folder.path(), &["export", "--state", "live.json", "--assignments", "-o", "out/"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, stderr) =
        run(folder.path(), &["plan", "-f", "out", "--state", "live.json", "--format", "json"]);
    assert_eq!(code, 0, "{stderr}");
    let plan: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(changes(&plan), Vec::<String>::new());
    let text: String = std::fs::read_dir(folder.path().join("out"))
        .unwrap()
        .map(|entry| std::fs::read_to_string(entry.unwrap().path()).unwrap())
        .collect();
    assert!(text.contains("Team"), "the set `assignments` was exported: {text}");
    assert!(text.contains("alice@x.com"), "the assignments were exported: {text}");
}

/// Allowed values that are path-segment trouble: dot segments, escapes,
/// separators, query and fragment marks, spaces and non-ASCII. Each is
/// created and then deactivated on its own URL through `$batch`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_values_with_odd_characters_are_written_to_their_own_url() {
    use crate::graph_support::{empty_seed, emulator, tenant};
    use entra_csa::emulator::EmulatorConfig;
    use entra_csa::tenant::{ReadScope, Tenant};

    const ODD: [&str; 10] = [".", "..", "%", "%2E", "a/b", "what?", "#tag", "two words", "Zürich", "..."];
    let yaml = |active: bool| {
        let mut text = String::from(
            "version: 1\nattributeSets:\n  Eng:\n    attributes:\n      Odd:\n        type: String\n        \
             allowedValues:\n",
        );
        for value in ODD {
            text.push_str(&format!(
                "          - {{value: {}, active: {active}}}\n",
                serde_json::to_string(value).unwrap()
            ));
        }
        text
    };
    let load = |text: String| {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("desired.yaml");
        std::fs::write(&path, text).unwrap();
        entra_csa::desired::load::load_files(&[path]).unwrap_or_else(|diagnostics| panic!("{diagnostics}"))
    };
    let emulator = emulator(EmulatorConfig { seed_state: empty_seed(), ..Default::default() }).await;
    let tenant = tenant(&emulator);
    for active in [true, false] {
        let desired = load(yaml(active));
        let live = tenant.read(&ReadScope::for_desired(&desired)).await.unwrap();
        let plan = entra_csa::plan::build(&desired, &live, tenant.target());
        assert!(plan.conflicts.is_empty(), "{:?}", plan.conflicts);
        let report = tenant.apply(&plan.changes).await;
        assert!(report.succeeded(), "{report:#?}");
        let live = tenant.read(&ReadScope::for_desired(&desired)).await.unwrap();
        let values: Vec<(String, bool)> = live.definitions["Eng_Odd"]
            .allowed_values
            .iter()
            .map(|value| (value.id.clone(), value.is_active))
            .collect();
        let mut wanted: Vec<(String, bool)> = ODD.iter().map(|value| ((*value).to_owned(), active)).collect();
        wanted.sort();
        assert_eq!(values, wanted);
        let again = entra_csa::plan::build(&desired, &live, tenant.target());
        assert!(again.changes.is_empty(), "{:?}", again.changes);
    }
    emulator.shutdown().await;
}

/// The smaller findings of the same random run, one test each.
mod smaller {
    use super::*;

    fn validate(yaml: &str) -> (i32, String) {
        let folder = scratch(yaml, &tenant(&[], vec![], vec![]));
        let (code, stdout, stderr) = run(folder.path(), &["validate", "-f", "desired.yaml"]);
        (code, format!("{stdout}{stderr}"))
    }

    const HEAD: &str = "version: 1\nattributeSets:\n  Eng:\n    attributes:\n";

    #[test]
    fn the_environment_graph_url_does_not_conflict_with_state_on_the_command_line() {
        let folder = scratch(&format!("{HEAD}      Cur: {{type: String}}\n"), &tenant(&[], vec![], vec![]));
        let output = entra_csa()
            .current_dir(folder.path())
            .env("ENTRA_CSA_GRAPH_URL", "http://127.0.0.1:9")
            .args(["plan", "-f", "desired.yaml", "--state", "live.json"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{text}");
        let (code, _, stderr) = run(
            folder.path(),
            &["plan", "-f", "desired.yaml", "--state", "live.json", "--graph-url", "http://127.0.0.1:9"],
        );
        assert_ne!(code, 0, "both flags on the command line still conflict: {stderr}");
    }

    #[test]
    fn a_predefined_only_attribute_with_no_active_value_says_so() {
        let (code, text) = validate(&format!(
            "{HEAD}      Cur:\n        type: String\n        usePreDefinedValuesOnly: true\n        allowedValues: \
             [{{value: Gone, active: false}}]\nassignments:\n  users:\n    a@x.com:\n      Eng: {{Cur: Other}}\n"
        ));
        assert_eq!(code, 1, "{text}");
        assert!(text.contains("no active allowed value"), "{text}");
        assert!(!text.contains("one of \n"), "{text}");
    }

    #[test]
    fn an_integer_beyond_64_bits_is_called_so() {
        let (code, text) = validate(&format!(
            "{HEAD}      Cost: {{type: Integer}}\nassignments:\n  users:\n    a@x.com:\n      Eng: {{Cost: \
             99999999999999999999999}}\n"
        ));
        assert_eq!(code, 1, "{text}");
        assert!(text.contains("too large for 64 bits") && !text.contains("fraction"), "{text}");
    }

    #[test]
    fn every_bad_member_of_an_integer_list_is_reported() {
        let (code, text) = validate(&format!(
            "{HEAD}      Nums: {{type: Integer, isCollection: true}}\nassignments:\n  users:\n    a@x.com:\n      \
             Eng: {{Nums: [1, 3000000000, 2.5, 4000000000]}}\n"
        ));
        assert_eq!(code, 1, "{text}");
        assert!(text.contains("Nums[1]") && text.contains("Nums[2]") && text.contains("Nums[3]"), "{text}");
    }

    #[test]
    fn integer_allowed_values_must_be_written_as_graph_writes_them() {
        let (code, text) = validate(&format!(
            "{HEAD}      Level:\n        type: Integer\n        allowedValues: [\"01\", \"+2\", 3]\n"
        ));
        assert_eq!(code, 1, "{text}");
        assert!(text.contains("write it as `1`") && text.contains("write it as `2`"), "{text}");
    }

    #[test]
    fn apply_of_a_yaml_file_without_f_suggests_it() {
        let folder = scratch(&format!("{HEAD}      Cur: {{type: String}}\n"), &tenant(&[], vec![], vec![]));
        let (code, stdout, stderr) =
            run(folder.path(), &["apply", "desired.yaml", "--state", "live.json", "--auto-approve"]);
        assert_eq!(code, 1, "{stdout}{stderr}");
        assert!(stderr.contains("did you mean `apply -f desired.yaml`?"), "{stderr}");
    }

    #[test]
    fn a_mis_indented_attribute_gets_a_hint_to_indent_it() {
        let (code, text) =
            validate(&format!("{HEAD}      Cur: {{type: String}}\n    Project:\n      type: String\n"));
        assert_eq!(code, 1, "{text}");
        assert!(text.contains("indent it under `attributes`"), "{text}");
    }
}

/// Every string, as a path segment, decodes back to itself and holds no
/// character that would end the segment, the path or the URL.
mod path_segments {
    use entra_csa::graph::client::segment;
    use proptest::prelude::*;

    fn decode(text: &str) -> Vec<u8> {
        let bytes = text.as_bytes();
        let mut decoded = Vec::new();
        let mut index = 0;
        while index < bytes.len() {
            if bytes[index] == b'%' {
                decoded.push(u8::from_str_radix(&text[index + 1..index + 3], 16).unwrap());
                index += 3;
            } else {
                decoded.push(bytes[index]);
                index += 1;
            }
        }
        decoded
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        #[test]
        fn segments_round_trip_exactly(text in r"(\PC|[./%?# ]){0,12}") {
            let encoded = segment(&text);
            prop_assert_eq!(decode(&encoded), text.as_bytes().to_vec());
            prop_assert!(!encoded.contains(['/', '?', '#', ' ', '\\']), "{}", encoded);
            prop_assert!(encoded != "." && encoded != "..", "{}", encoded);
            prop_assert!(encoded.is_ascii());
        }
    }

    #[test]
    fn the_odd_values_of_the_issue_round_trip() {
        for text in [".", "..", "%", "/", "?", "#", "a b", "Zürich", "%2E", "..."] {
            assert_eq!(decode(&segment(text)), text.as_bytes(), "{text}");
        }
    }
}
