//! Attributes whose values another writer owns (`valuesOwnedBy`): HR inbound
//! provisioning writes them between plan/apply cycles, and entra-csa manages
//! their definitions but never assigns or unassigns their values, even under
//! `undeclaredAssignments: remove`. The files cannot assign them, and an
//! export leaves their values out and says so.

use entra_csa::emulator::EmulatorConfig;
use entra_csa::emulator::RunningEmulator;
use entra_csa::plan::{Action, Address};
use entra_csa::tenant::Tenant;
use serde_json::{Value, json};

use crate::graph_support::*;
use crate::launch::{entra_csa, run};

const FIXTURE: &str = "tests/fixtures/owned/owned.yaml";

/// The other writer: a PATCH of one user's values, as HR provisioning sends it.
async fn other_writer_sets(emulator: &RunningEmulator, user: &str, set: &str, values: Value) {
    let mut attributes =
        json!({ "@odata.type": "#Microsoft.DirectoryServices.CustomSecurityAttributeValue" });
    for (name, value) in values.as_object().unwrap() {
        attributes[name] = value.clone();
        if value.is_i64() {
            attributes[format!("{name}@odata.type")] = json!("#Int32");
        }
    }
    let answer = reqwest::Client::new()
        .patch(format!("{}/v1.0/users/{user}", emulator.base_url()))
        .bearer_auth("hr-provisioning")
        .json(&json!({ "customSecurityAttributes": { set: attributes } }))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 204, "{}", answer.text().await.unwrap());
}

/// Whether any request entra-csa sent (batched or not) writes `set.attribute`.
fn writes_of(emulator: &RunningEmulator, set: &str, attribute: &str, since: u64) -> usize {
    emulator
        .requests()
        .into_iter()
        .filter(|request| request.sequence > since)
        .filter_map(|request| request.body)
        .flat_map(|body| {
            let mut bodies = vec![body.clone()];
            bodies.extend(body["requests"].as_array().into_iter().flatten().map(|item| item["body"].clone()));
            bodies
        })
        .filter(|body| body["customSecurityAttributes"][set].get(attribute).is_some())
        .count()
}

fn last_sequence(emulator: &RunningEmulator) -> u64 {
    emulator.requests().last().map_or(0, |request| request.sequence)
}

fn values_of(emulator: &RunningEmulator, user: &str) -> Value {
    let state = serde_json::to_value(emulator.state()).unwrap();
    state["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["userPrincipalName"] == user)
        .map(|entry| entry["customSecurityAttributes"].clone())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_another_writer_owns_are_left_alone_over_repeated_cycles() {
    let emulator = emulator(EmulatorConfig { seed_state: contoso_seed(), ..Default::default() }).await;
    let desired = desired(FIXTURE);
    let tenant = tenant(&emulator);
    // Cycle 0: entra-csa creates the definitions, HR's included.
    let first = apply_and_converge(&tenant, &desired).await;
    assert!(first.changes.iter().any(|change| change.address.to_string() == "HR.Department"));

    let mut current = desired.clone();
    let departments = ["Finance", "Legal", "Research"];
    for (cycle, department) in departments.iter().enumerate() {
        // Between cycles, the other writers change their values: on a
        // declared principal (alice) and on principals the files do not list.
        let kind = if cycle % 2 == 0 { "Employee" } else { "Contractor" };
        for user in ["alice@contoso.com", "bob@contoso.com", "carol@contoso.com"] {
            other_writer_sets(
                &emulator,
                user,
                "HR",
                json!({ "Department": department, "EmployeeType": kind }),
            )
            .await;
            other_writer_sets(&emulator, user, "Access", json!({ "CostCenter": 4000 + cycle as i64 })).await;
        }
        let before = last_sequence(&emulator);
        let plan = plan_of(&tenant, &current).await;
        assert!(plan.conflicts.is_empty(), "{:?}", plan.conflicts);
        assert!(plan.drift.is_empty(), "another writer's values are not drift: {:?}", plan.drift);
        assert!(plan.changes.is_empty(), "cycle {cycle}: {:#?}", plan.changes);
        assert!(
            plan.notes
                .iter()
                .any(|note| note.message.starts_with("values owned by Workday inbound provisioning")),
            "{:?}",
            plan.notes
        );
        // The files change a managed value on alice: only that is written.
        let mut changed = current.clone();
        let alice = entra_csa::model::PrincipalKey::User("alice@contoso.com".into());
        let tier = if cycle % 2 == 0 { "Tier0" } else { "Tier1" };
        changed
            .assignments
            .get_mut(&alice)
            .unwrap()
            .get_mut("Access")
            .unwrap()
            .insert("Tier".into(), entra_csa::model::AttributeValue::String(tier.into()));
        let plan = plan_of(&tenant, &changed).await;
        assert_eq!(plan.changes.len(), 1, "one value changes: {:#?}", plan.changes);
        let applied = tenant.apply(&plan.changes).await;
        assert!(applied.succeeded(), "{applied:#?}");
        assert!(
            plan.changes.iter().all(|change| matches!(&change.address,
                Address::Assignment { set, attribute, .. } if set == "Access" && attribute == "Tier")),
            "{:#?}",
            plan.changes
        );
        for (set, attribute) in [("HR", "Department"), ("HR", "EmployeeType"), ("Access", "CostCenter")] {
            assert_eq!(writes_of(&emulator, set, attribute, before), 0, "{set}.{attribute} was written");
        }
        let alice_values = values_of(&emulator, "alice@contoso.com");
        assert_eq!(alice_values["HR"]["Department"], *department);
        assert_eq!(alice_values["Access"]["CostCenter"], 4000 + cycle as i64);
        let bob = values_of(&emulator, "bob@contoso.com");
        assert_eq!(bob["HR"]["EmployeeType"], kind);
        assert!(plan_of(&tenant, &changed).await.changes.is_empty());
        current = changed;
    }

    // Not vacuous: the same files without `valuesOwnedBy` would unassign them all.
    let mut fighting = desired.clone();
    fighting.values_owned_elsewhere.clear();
    let plan = plan_of(&tenant, &fighting).await;
    let unassigned: Vec<String> = plan
        .changes
        .iter()
        .filter(|change| change.action == Action::Unassign)
        .map(|change| change.address.to_string())
        .collect();
    assert!(unassigned.contains(&"user:alice@contoso.com/Access.CostCenter".to_owned()), "{unassigned:?}");
    assert!(unassigned.contains(&"user:bob@contoso.com/HR.Department".to_owned()), "{unassigned:?}");
    emulator.shutdown().await;
}

#[test]
fn the_files_cannot_assign_values_another_writer_owns() {
    let folder = tempfile::tempdir().unwrap();
    let mut text = std::fs::read_to_string(repo(FIXTURE)).unwrap();
    text = text.replace(
        "      Access:\n        Tier: Tier1\n",
        "      Access:\n        Tier: Tier1\n        CostCenter: 1001\n    bob@contoso.com:\n      HR:\n        Department: Sales\n",
    );
    std::fs::write(folder.path().join("owned.yaml"), &text).unwrap();
    let (code, stdout, stderr) =
        run(entra_csa().current_dir(folder.path()).args(["validate", "-f", "owned.yaml"]));
    assert_eq!(code, 1, "{stdout}{stderr}");
    let output = format!("{stdout}{stderr}");
    let cost_line = text.lines().position(|line| line == "        CostCenter: 1001").unwrap() + 1;
    let hr_line = text.lines().position(|line| line == "      HR:").unwrap() + 1;
    assert!(output.contains(&format!("owned.yaml:{cost_line}:9")), "{output}");
    assert!(output.contains(&format!("owned.yaml:{hr_line}:7")), "{output}");
    assert!(
        output.contains(
            "attribute `Access.CostCenter` has its values owned by the PowerShell cost-center feed (`valuesOwnedBy`), \
             so the files cannot assign it"
        ),
        "{output}"
    );
    assert!(
        output.contains("attribute set `HR` has its values owned by Workday inbound provisioning"),
        "{output}"
    );
    assert!(output.contains("remove `valuesOwnedBy` to manage its values in the files"), "{output}");

    // No request is sent: the plan stops at the files.
    std::fs::copy(repo("examples/contoso-live.json"), folder.path().join("tenant.json")).unwrap();
    let before = std::fs::read(folder.path().join("tenant.json")).unwrap();
    let (code, _, _) = run(entra_csa().current_dir(folder.path()).args([
        "apply",
        "-f",
        "owned.yaml",
        "--state",
        "tenant.json",
        "--auto-approve",
    ]));
    assert_eq!(code, 1);
    assert_eq!(std::fs::read(folder.path().join("tenant.json")).unwrap(), before);
}

#[test]
fn an_empty_owner_is_refused_where_it_is_written() {
    let folder = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(repo(FIXTURE))
        .unwrap()
        .replace("valuesOwnedBy: Workday inbound provisioning", "valuesOwnedBy: \"\"");
    std::fs::write(folder.path().join("owned.yaml"), &text).unwrap();
    let (code, stdout, stderr) =
        run(entra_csa().current_dir(folder.path()).args(["validate", "-f", "owned.yaml"]));
    assert_eq!(code, 1);
    let line = text.lines().position(|line| line.contains("valuesOwnedBy: \"\"")).unwrap() + 1;
    let output = format!("{stdout}{stderr}");
    assert!(output.contains(&format!("owned.yaml:{line}:20")), "{output}");
    assert!(output.contains("`valuesOwnedBy` is empty"), "{output}");
}

#[test]
fn export_leaves_values_another_writer_owns_out_and_plans_empty() {
    let folder = tempfile::tempdir().unwrap();
    std::fs::copy(repo("examples/contoso-live.json"), folder.path().join("tenant.json")).unwrap();
    let in_folder = |args: &[&str]| run(entra_csa().current_dir(folder.path()).args(args));
    let (code, _, stderr) = in_folder(&[
        "apply",
        "-f",
        repo(FIXTURE).to_str().unwrap(),
        "--state",
        "tenant.json",
        "--auto-approve",
    ]);
    assert_eq!(code, 0, "{stderr}");
    // HR provisioning writes its values into the state file.
    let path = folder.path().join("tenant.json");
    let mut tenant: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for user in tenant["users"].as_array_mut().unwrap() {
        let sets = &mut user["customSecurityAttributes"];
        if sets.is_null() {
            *sets = json!({});
        }
        sets["HR"] = json!({ "@odata.type": "#Microsoft.DirectoryServices.CustomSecurityAttributeValue", "Department": "Finance" });
        if sets.get("Access").is_none() {
            sets["Access"] =
                json!({ "@odata.type": "#Microsoft.DirectoryServices.CustomSecurityAttributeValue" });
        }
        sets["Access"]["CostCenter@odata.type"] = json!("#Int32");
        sets["Access"]["CostCenter"] = json!(4242);
    }
    std::fs::write(&path, serde_json::to_string_pretty(&tenant).unwrap()).unwrap();

    let (code, _, stderr) = in_folder(&[
        "export",
        "--assignments",
        "--set",
        "HR",
        "--set",
        "Access",
        "--values-owned-by",
        "HR=Workday inbound provisioning",
        "--values-owned-by",
        "Access.CostCenter=the PowerShell cost-center feed",
        "-o",
        "exported/",
        "--state",
        "tenant.json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains(
            "note: the values of HR are owned by Workday inbound provisioning: left out of the assignments"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("note: the values of Access.CostCenter are owned by the PowerShell cost-center feed"),
        "{stderr}"
    );
    let exported = |name: &str| std::fs::read_to_string(folder.path().join("exported").join(name)).unwrap();
    assert!(exported("HR.yaml").contains("valuesOwnedBy: Workday inbound provisioning"));
    assert!(exported("Access.yaml").contains("valuesOwnedBy: the PowerShell cost-center feed"));
    let assignments = exported("_assignments.yaml");
    assert!(assignments.contains("Tier: Tier1"), "{assignments}");
    assert!(!assignments.contains("HR") && !assignments.contains("CostCenter"), "{assignments}");

    let (code, stdout, stderr) =
        in_folder(&["plan", "-f", "exported/", "--state", "tenant.json", "--detailed-exitcode"]);
    assert_eq!(code, 0, "the export plans empty:\n{stdout}{stderr}");

    // A flag naming nothing in the tenant is an error, not a silent no-op.
    let (code, _, stderr) =
        in_folder(&["export", "--values-owned-by", "HR.Nope=x", "--state", "tenant.json"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("the tenant has no attribute set or attribute `HR.Nope`"), "{stderr}");
}

#[test]
fn another_writers_change_between_plan_and_apply_does_not_make_a_saved_plan_stale() {
    let folder = tempfile::tempdir().unwrap();
    std::fs::copy(repo("examples/contoso-live.json"), folder.path().join("tenant.json")).unwrap();
    let in_folder = |args: &[&str]| run(entra_csa().current_dir(folder.path()).args(args));
    let fixture = repo(FIXTURE);
    // The HR definitions exist before provisioning writes values of them
    // (a value of an attribute the read finds no definition for is set
    // aside as not understood).
    let (code, stdout, stderr) =
        in_folder(&["apply", "-f", fixture.to_str().unwrap(), "--state", "tenant.json", "--auto-approve"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let (code, stdout, stderr) =
        in_folder(&["plan", "-f", fixture.to_str().unwrap(), "--state", "tenant.json", "--out", "plan.json"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    // HR provisioning writes alice's (a declared principal's) owned value meanwhile.
    let path = folder.path().join("tenant.json");
    let mut tenant: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let alice = tenant["users"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|user| user["userPrincipalName"] == "alice@contoso.com")
        .unwrap();
    alice["customSecurityAttributes"]["HR"] = json!({ "@odata.type": "#Microsoft.DirectoryServices.CustomSecurityAttributeValue", "Department": "Finance" });
    std::fs::write(&path, serde_json::to_string_pretty(&tenant).unwrap()).unwrap();
    let (code, stdout, stderr) = in_folder(&["apply", "plan.json", "--auto-approve"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    // A managed value changed the same way does make it stale: the check is live.
    let (code, _, _) =
        in_folder(&["plan", "-f", fixture.to_str().unwrap(), "--state", "tenant.json", "--out", "plan.json"]);
    assert_eq!(code, 0);
    let mut tenant: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let alice = tenant["users"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|user| user["userPrincipalName"] == "alice@contoso.com")
        .unwrap();
    alice["customSecurityAttributes"]["Access"]["Tier"] = json!("Tier0");
    std::fs::write(&path, serde_json::to_string_pretty(&tenant).unwrap()).unwrap();
    let (code, stdout, stderr) = in_folder(&["apply", "plan.json", "--auto-approve"]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(format!("{stdout}{stderr}").contains("stale"), "{stdout}{stderr}");
}
