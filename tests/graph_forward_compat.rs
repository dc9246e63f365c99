//! What a later Graph may answer: a definition's `status` and `type` are open
//! strings in the metadata, and a value may carry an annotation this version
//! does not know (`#Int64`). Such things are read, named, and left alone:
//! outside the declared sets they are notes and plan, apply and export work;
//! inside them they are conflicts, and nothing is written over them.

use entra_csa::emulator::document::{DefinitionShape, OpenString, StateDocument};
use entra_csa::emulator::{EmulatorConfig, RunningEmulator};
use entra_csa::model::Status;
use serde_json::{Value, json};

use crate::graph_support::*;

fn definition(value: Value) -> DefinitionShape {
    serde_json::from_value(value).unwrap()
}

fn user_mut<'a>(
    seed: &'a mut StateDocument,
    upn: &str,
) -> &'a mut entra_csa::emulator::document::PrincipalShape {
    seed.users.iter_mut().find(|user| user.user_principal_name.as_deref() == Some(upn)).unwrap()
}

/// Contoso plus a `Legal` set the files never mention, holding a Retired
/// attribute, a DateTime attribute, and a value annotated `#Int64` on carol.
fn undeclared_seed() -> StateDocument {
    let mut seed = contoso_seed();
    seed.attribute_sets
        .push(serde_json::from_value(json!({"id": "Legal", "description": "Legal holds"})).unwrap());
    for (name, data_type, status) in
        [("Hold", "String", "Retired"), ("Filed", "DateTime", "Available"), ("Case", "Integer", "Available")]
    {
        seed.custom_security_attribute_definitions.push(definition(json!({
            "id": format!("Legal_{name}"), "attributeSet": "Legal", "name": name, "type": data_type,
            "isCollection": false, "isSearchable": true, "status": status, "usePreDefinedValuesOnly": false
        })));
    }
    user_mut(&mut seed, "carol@contoso.com").custom_security_attributes = Some(
        serde_json::from_value(json!({"Legal": {
            "@odata.type": "#microsoft.graph.customSecurityAttributeValue",
            "Case@odata.type": "#Int64", "Case": 5_000_000_000_i64
        }}))
        .unwrap(),
    );
    seed
}

fn legal_in(state: &StateDocument) -> (Vec<DefinitionShape>, Value) {
    let definitions = state
        .custom_security_attribute_definitions
        .iter()
        .filter(|definition| definition.attribute_set == "Legal")
        .cloned()
        .collect();
    let carol =
        state.users.iter().find(|user| user.user_principal_name.as_deref() == Some("carol@contoso.com"));
    (definitions, json!(carol.unwrap().custom_security_attributes.as_ref().unwrap()["Legal"]))
}

async fn cli(emulator: &RunningEmulator, args: &[&str]) -> (i32, String, String) {
    let mut args: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
    args.extend(["--graph-url".to_owned(), emulator.base_url()]);
    run_cli(args, "forward-token").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_things_outside_the_declared_sets_are_noted_and_left_alone() {
    let emulator = emulator(EmulatorConfig { seed_state: undeclared_seed(), ..Default::default() }).await;
    let before = legal_in(&emulator.state());
    let desired = desired("examples/contoso.yaml");
    let plan = apply_and_converge(&tenant(&emulator), &desired).await;
    let notes: Vec<String> = plan
        .notes
        .iter()
        .map(|note| format!("{} {}", note.address.as_ref().unwrap(), note.message))
        .collect();
    for expected in [
        "Legal.Hold not understood (status `Retired`)",
        "Legal.Filed not understood (type `DateTime`)",
        "user:carol@contoso.com/Legal.Case not understood (a value of type `#Int64`)",
    ] {
        assert!(notes.iter().any(|note| note.starts_with(expected)), "{expected} missing from {notes:#?}");
    }
    let after = legal_in(&emulator.state());
    assert_eq!(after, before, "an apply leaves what it does not understand as it was");
    assert_eq!(
        after.0.iter().find(|d| d.name == "Hold").unwrap().status,
        OpenString::<Status>::Other("Retired".into())
    );
    assert_eq!(after.1["Case"], json!(5_000_000_000_i64));

    let (code, stdout, stderr) =
        cli(&emulator, &["plan", "-f", &repo("examples/contoso.yaml").display().to_string()]).await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("Legal.Hold") && stdout.contains("status `Retired`"), "{stdout}");

    let (code, stdout, stderr) = cli(&emulator, &["export", "--assignments"]).await;
    assert_eq!(code, 0, "{stderr}");
    for expected in [
        "warning: Legal.Hold holds status `Retired`",
        "warning: Legal.Filed holds type `DateTime`",
        "warning: user:carol@contoso.com/Legal.Case holds a value of type `#Int64`",
    ] {
        assert!(stderr.contains(expected), "{expected} missing from {stderr}");
    }
    assert!(stdout.contains("Legal:") && stdout.contains("Case:"), "{stdout}");
    assert!(!stdout.contains("Hold") && !stdout.contains("Filed"), "{stdout}");
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_things_in_what_the_files_declare_are_conflicts_and_never_overwritten() {
    let mut seed = contoso_seed();
    // The files declare Engineering.OnCall as a Boolean the tenant does not
    // hold yet; here the tenant holds it with a type of a later Graph.
    seed.custom_security_attribute_definitions.push(definition(json!({
        "id": "Engineering_OnCall", "attributeSet": "Engineering", "name": "OnCall", "type": "DateTime",
        "isCollection": false, "isSearchable": true, "status": "Available", "usePreDefinedValuesOnly": false
    })));
    let alice = user_mut(&mut seed, "alice@contoso.com").custom_security_attributes.as_mut().unwrap();
    alice["Engineering"]["CostCenter@odata.type"] = json!("#Int64");
    alice["Engineering"]["CostCenter"] = json!(7_000_000_000_i64);
    let emulator = emulator(EmulatorConfig { seed_state: seed, ..Default::default() }).await;
    let before = emulator.state();

    let plan = plan_of(&tenant(&emulator), &desired("examples/contoso.yaml")).await;
    let conflicts: Vec<String> =
        plan.conflicts.iter().map(|conflict| format!("{} {}", conflict.address, conflict.message)).collect();
    for expected in [
        "Engineering.OnCall `Engineering.OnCall` holds type `DateTime`, which this version of entra-csa does not understand",
        "user:alice@contoso.com/Engineering.CostCenter `user:alice@contoso.com/Engineering.CostCenter` holds a value of type `#Int64`",
    ] {
        assert!(
            conflicts.iter().any(|conflict| conflict.starts_with(expected)),
            "{expected} missing from {conflicts:#?}"
        );
    }
    let touched: Vec<String> = plan
        .changes
        .iter()
        .map(|change| change.address.to_string())
        .filter(|address| {
            address.contains("OnCall") || address.contains("alice@contoso.com/Engineering.CostCenter")
        })
        .collect();
    assert!(touched.is_empty(), "nothing is planned over what is not understood: {touched:?}");

    let files = repo("examples/contoso.yaml").display().to_string();
    let (code, stdout, _) = cli(&emulator, &["plan", "-f", &files]).await;
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("does not understand"), "{stdout}");
    let (code, stdout, stderr) = cli(&emulator, &["apply", "-f", &files, "--auto-approve"]).await;
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert_eq!(emulator.stats().writes, 0, "a plan with conflicts writes nothing");
    assert_eq!(emulator.state(), before);
    emulator.shutdown().await;
}

/// `customSecurityAttributes: {}` and a set object holding only its
/// `@odata.type` both mean nothing is assigned (a state file keeps them as
/// written): the plan assigns, and unassigns nothing.
#[test]
fn empty_objects_mean_nothing_assigned() {
    let mut seed: Value =
        serde_json::from_str(&std::fs::read_to_string(repo("examples/contoso-live.json")).unwrap()).unwrap();
    for user in seed["users"].as_array_mut().unwrap() {
        match user["userPrincipalName"].as_str() {
            Some("bob@contoso.com") => user["customSecurityAttributes"] = json!({}),
            Some("carol@contoso.com") => {
                user["customSecurityAttributes"] =
                    json!({"Marketing": {"@odata.type": "#microsoft.graph.customSecurityAttributeValue"}})
            }
            _ => {}
        }
    }
    let folder = tempfile::tempdir().unwrap();
    let state = folder.path().join("tenant.json");
    std::fs::write(&state, serde_json::to_string_pretty(&seed).unwrap()).unwrap();
    let output = entra_csa()
        .args(["plan", "-f"])
        .arg(repo("examples/contoso.yaml"))
        .arg("--state")
        .arg(&state)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let plan: Value = serde_json::from_slice(&output.stdout).unwrap();
    let changes: Vec<String> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|change| {
            let address = change["address"].as_str().unwrap();
            address.starts_with("user:bob@") || address.starts_with("user:carol@")
        })
        .map(|change| {
            format!("{} {}", change["action"].as_str().unwrap(), change["address"].as_str().unwrap())
        })
        .collect();
    assert_eq!(
        changes,
        [
            "assign user:bob@contoso.com/Engineering.CostCenter",
            "assign user:bob@contoso.com/Engineering.Project",
            "assign user:bob@contoso.com/Marketing.Region",
            "assign user:carol@contoso.com/Marketing.Campaigns",
            "assign user:carol@contoso.com/Marketing.Region",
        ]
    );
}

/// A state file is rewritten by an apply; what it held that was not
/// understood is written back as it was.
#[test]
fn a_state_file_keeps_what_it_does_not_understand_across_an_apply() {
    let folder = tempfile::tempdir().unwrap();
    let state = folder.path().join("tenant.json");
    std::fs::write(&state, serde_json::to_string_pretty(&undeclared_seed()).unwrap()).unwrap();
    let before = legal_in(&serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap());
    let output = entra_csa()
        .args(["apply", "--auto-approve", "-f"])
        .arg(repo("examples/contoso.yaml"))
        .arg("--state")
        .arg(&state)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let after: StateDocument = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    let unknown = |(definitions, carol): (Vec<DefinitionShape>, Value)| {
        let mut definitions: Vec<DefinitionShape> =
            definitions.into_iter().filter(|definition| definition.name != "Case").collect();
        definitions.sort_by(|a, b| a.name.cmp(&b.name));
        (definitions, carol)
    };
    let (kept, carol) = unknown(legal_in(&after));
    assert_eq!(kept.len(), 2);
    assert_eq!((kept, carol), unknown(before), "written back as they were");
}

/// Contoso plus a `Legal` set of an Integer, a Boolean and a String
/// attribute, where alice holds `"8"` and `"true"` for the first two (and a
/// plain `Note`), and a value of `Legal.Unlisted`, an attribute whose
/// definition the read does not return.
fn unusual_values_seed() -> StateDocument {
    let mut seed = contoso_seed();
    seed.attribute_sets
        .push(serde_json::from_value(json!({"id": "Legal", "description": "Legal holds"})).unwrap());
    for (name, data_type) in [("Case", "Integer"), ("Sealed", "Boolean"), ("Note", "String")] {
        seed.custom_security_attribute_definitions.push(definition(json!({
            "id": format!("Legal_{name}"), "attributeSet": "Legal", "name": name, "type": data_type,
            "isCollection": false, "isSearchable": true, "status": "Available", "usePreDefinedValuesOnly": false
        })));
    }
    let alice = user_mut(&mut seed, "alice@contoso.com").custom_security_attributes.as_mut().unwrap();
    alice.insert(
        "Legal".into(),
        json!({
            "@odata.type": "#microsoft.graph.customSecurityAttributeValue",
            "Case": "8", "Sealed": "true", "Unlisted": "kept", "Note": "on hold"
        }),
    );
    seed
}

fn alice_legal(state: &StateDocument) -> Value {
    let alice =
        state.users.iter().find(|user| user.user_principal_name.as_deref() == Some("alice@contoso.com"));
    json!(alice.unwrap().custom_security_attributes.as_ref().unwrap()["Legal"])
}

/// The plan of `files` against `emulator`: its exit status, and every
/// change it would make to alice's `Legal` values.
async fn legal_changes(emulator: &RunningEmulator, files: &str) -> (i32, Vec<Value>, String) {
    let (code, out, err) = cli(emulator, &["plan", "-f", files, "--format", "json"]).await;
    let plan: Value = serde_json::from_str(&out).unwrap_or_else(|_| panic!("{out}{err}"));
    let touching = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|change| change["address"].as_str().is_some_and(|address| address.contains("/Legal.")))
        .cloned()
        .collect();
    (code, touching, out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_unlike_their_definition_or_without_one_are_exported_under_values_owned_by_and_never_removed()
{
    let emulator = emulator(EmulatorConfig { seed_state: unusual_values_seed(), ..Default::default() }).await;
    let before = alice_legal(&emulator.state());

    let (code, stdout, stderr) = cli(&emulator, &["export", "--assignments"]).await;
    assert_eq!(code, 0, "{stderr}");
    for expected in [
        "warning: user:alice@contoso.com/Legal.Case holds the string `\"8\"`, where the attribute is an Integer",
        "warning: user:alice@contoso.com/Legal.Sealed holds the string `\"true\"`, where the attribute is a Boolean",
        "warning: user:alice@contoso.com/Legal.Unlisted holds a value of an attribute whose definition the read did not return",
        // Legal.Unlisted cannot be declared (its type is unknown): the whole set is left to its writer.
        "note: Legal is written with `valuesOwnedBy`",
    ] {
        assert!(stderr.contains(expected), "{expected} missing from {stderr}");
    }
    let document = stdout.split_once("\nversion: 1\n").unwrap().1;
    assert!(!document.contains("\"8\"") && !document.contains("Unlisted"), "{stdout}");
    assert!(
        stdout.contains("    valuesOwnedBy: \"unknown: values entra-csa does not understand"),
        "{stdout}"
    );
    assert!(stdout.contains("# `valuesOwnedBy` on Legal: the tenant holds values there"), "{stdout}");
    assert!(
        stdout.contains("#   user:alice@contoso.com holds Legal.Unlisted: a value of an attribute"),
        "{stdout}"
    );

    // The export loads, and its plan is empty: the values are notes, left alone.
    let folder = tempfile::tempdir().unwrap();
    let files = folder.path().join("export.yaml");
    std::fs::write(&files, &stdout).unwrap();
    let files = files.display().to_string();
    let (code, out, err) = run_cli(vec!["validate".into(), "-f".into(), files.clone()], "unused").await;
    assert_eq!(code, 0, "the loader refuses its own export: {out}{err}\n{stdout}");
    let (code, out, err) = cli(&emulator, &["plan", "-f", &files]).await;
    assert_eq!(code, 0, "{out}{err}{stdout}");
    assert!(out.contains("No changes"), "{out}");
    for address in ["Legal.Case", "Legal.Sealed", "Legal.Unlisted"] {
        assert!(out.contains(&format!("user:alice@contoso.com/{address}")), "{address} missing from {out}");
    }
    let (code, out, err) = cli(&emulator, &["apply", "-f", &files, "--auto-approve"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(alice_legal(&emulator.state()), before, "alice's values are as they were");

    // The day a plan understands them (the definition readable, the values
    // set right), the export's files still never unassign them, even under
    // `undeclaredAssignments: remove`.
    let mut later = emulator.state();
    later.custom_security_attribute_definitions.push(definition(json!({
        "id": "Legal_Unlisted", "attributeSet": "Legal", "name": "Unlisted", "type": "String",
        "isCollection": false, "isSearchable": true, "status": "Available", "usePreDefinedValuesOnly": false
    })));
    user_mut(&mut later, "alice@contoso.com").custom_security_attributes.as_mut().unwrap().insert(
        "Legal".into(),
        json!({
            "@odata.type": "#microsoft.graph.customSecurityAttributeValue",
            "Case@odata.type": "#Int32", "Case": 8, "Sealed": true, "Unlisted": "kept", "Note": "on hold"
        }),
    );
    emulator.shutdown().await;
    let later = emulator_with(later).await;
    let understood = alice_legal(&later.state());
    let removing = folder.path().join("remove.yaml");
    std::fs::write(&removing, format!("{stdout}policy:\n  undeclaredAssignments: remove\n")).unwrap();
    // The export as it was before (no `valuesOwnedBy`, alice's `Note`
    // written, the rest left out) unassigns them that day.
    let unprotected: String = stdout
        .lines()
        .filter(|line| !line.contains("valuesOwnedBy:"))
        .map(|line| match line {
            "    alice@contoso.com:" => format!("{line}\n      Legal:\n        Note: on hold\n"),
            _ => format!("{line}\n"),
        })
        .collect();
    let unprotected_path = folder.path().join("unprotected.yaml");
    std::fs::write(&unprotected_path, format!("{unprotected}policy:\n  undeclaredAssignments: remove\n"))
        .unwrap();
    let (_, touching, out) = legal_changes(&later, &unprotected_path.display().to_string()).await;
    assert!(!touching.is_empty(), "files without `valuesOwnedBy` would unassign them: {out}");
    for files in [files, removing.display().to_string()] {
        let (_, touching, out) = legal_changes(&later, &files).await;
        assert!(
            touching.is_empty(),
            "a plan of the export changes alice's Legal values: {touching:?}\n{out}"
        );
        let (code, out, err) = cli(&later, &["apply", "-f", &files, "--auto-approve"]).await;
        assert!(code == 0 || code == 2, "{out}{err}");
        assert_eq!(alice_legal(&later.state()), understood, "alice's values are as they were");
    }
    later.shutdown().await;
}

async fn emulator_with(seed: StateDocument) -> RunningEmulator {
    emulator(EmulatorConfig { seed_state: seed, ..Default::default() }).await
}
