//! What reads an attribute: a plan against the emulator reads the
//! Conditional Access and app management policies (`Policy.Read.All`) and
//! names, for each attribute and value it deactivates, every policy that
//! names it. Deactivating what an enabled or report-only policy names is a
//! conflict unless `acknowledgedReferences` accepts it; without the
//! permission the plan says references were not checked, and why.

use entra_csa::emulator::EmulatorConfig;
use entra_csa::emulator::document::StateDocument;
use entra_csa::model::{DesiredState, Status};
use entra_csa::plan::Plan;
use entra_csa::tenant::Tenant;
use serde_json::{Value, json};

use crate::graph_support::*;

const FILES: &str = "tests/fixtures/policies/access.yaml";

/// No attributes yet, and the policies of `tests/fixtures/policies/policies.json`.
fn seed_with_policies() -> StateDocument {
    let mut document = serde_json::to_value(empty_seed()).unwrap();
    let policies: Value = serde_json::from_str(
        &std::fs::read_to_string(repo("tests/fixtures/policies/policies.json")).unwrap(),
    )
    .unwrap();
    for (key, value) in policies.as_object().unwrap() {
        document[key] = value.clone();
    }
    serde_json::from_value(document).unwrap()
}

fn deactivate_value(desired: &mut DesiredState, attribute: &str, value: &str) {
    let definition = desired.attribute_sets.get_mut("Access").unwrap().attributes.get_mut(attribute).unwrap();
    definition.allowed_values.iter_mut().find(|allowed| allowed.id == value).unwrap().is_active = false;
}

fn deprecate(desired: &mut DesiredState, attribute: &str) {
    desired.attribute_sets.get_mut("Access").unwrap().attributes.get_mut(attribute).unwrap().status =
        Status::Deprecated;
}

fn conflicts(plan: &Plan) -> Vec<(String, String)> {
    plan.conflicts.iter().map(|conflict| (conflict.address.to_string(), conflict.message.clone())).collect()
}

fn notes(plan: &Plan) -> Vec<String> {
    plan.notes
        .iter()
        .map(|note| {
            format!(
                "{}: {}",
                note.address.as_ref().map(ToString::to_string).unwrap_or_default(),
                note.message
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deactivation_an_enabled_policy_names_is_a_conflict_until_acknowledged() {
    let emulator = emulator(EmulatorConfig { seed_state: seed_with_policies(), ..Default::default() }).await;
    let reader = jwt(json!({ "roles": [
        "CustomSecAttributeDefinition.ReadWrite.All", "CustomSecAttributeAssignment.ReadWrite.All", "Policy.Read.All"
    ] }));
    let tenant = tenant_with(&emulator, &reader, fast_options());
    let desired = desired(FILES);
    apply_and_converge(&tenant, &desired).await;

    // Tier0 is named by the enabled "Block legacy auth (Tier0)".
    let mut tier0 = desired.clone();
    deactivate_value(&mut tier0, "Tier", "Tier0");
    let plan = plan_of(&tenant, &tier0).await;
    assert_eq!(
        conflicts(&plan),
        [(
            "Access.Tier=Tier0".to_owned(),
            "deactivating Access.Tier=Tier0 changes what Conditional Access policy `Block legacy auth (Tier0)` \
             (enabled) does: it names it"
                .to_owned()
        )],
        "{:#?}",
        plan.notes
    );
    assert!(plan.conflicts[0].hint.contains("acknowledgedReferences"), "{:?}", plan.conflicts[0].hint);

    // Tier2 is named by no policy: no conflict, no note.
    let mut tier2 = desired.clone();
    deactivate_value(&mut tier2, "Tier", "Tier2");
    let plan = plan_of(&tenant, &tier2).await;
    assert!(plan.conflicts.is_empty(), "{:?}", plan.conflicts);
    assert!(notes(&plan).iter().all(|note| !note.contains("named by")), "{:?}", notes(&plan));
    assert_eq!(plan.changes.len(), 1);

    // The whole attribute Owner: the report-only policy's `-startsWith` names it.
    let mut owner = desired.clone();
    deprecate(&mut owner, "Owner");
    let plan = plan_of(&tenant, &owner).await;
    assert_eq!(conflicts(&plan).len(), 1, "{:?}", plan.conflicts);
    assert!(plan.conflicts[0].message.contains("`MFA for finance apps (report-only)` (report-only)"));

    // The app management exemption names Access.Exemption=PasswordAddition.
    let mut exemption = desired.clone();
    deactivate_value(&mut exemption, "Exemption", "PasswordAddition");
    let plan = plan_of(&tenant, &exemption).await;
    assert_eq!(conflicts(&plan).len(), 1, "{:?}", plan.conflicts);
    assert!(
        plan.conflicts[0]
            .message
            .contains("app management policy `Default app management tenant policy` (enabled)"),
        "{:?}",
        plan.conflicts
    );

    // Acknowledged in the files: a note, and the apply goes ahead.
    tier0
        .acknowledged_references
        .insert("Access.Tier=Tier0".into(), "Tier0 apps move to Tier1 this week".into());
    let plan = plan_of(&tenant, &tier0).await;
    assert!(plan.conflicts.is_empty(), "{:?}", plan.conflicts);
    assert!(
        notes(&plan).contains(
            &"Access.Tier=Tier0: named by Conditional Access policy `Block legacy auth (Tier0)` (enabled); \
              acknowledged reference: Tier0 apps move to Tier1 this week"
                .to_owned()
        ),
        "{:?}",
        notes(&plan)
    );
    let report = tenant.apply(&plan.changes).await;
    assert!(report.succeeded(), "{report:#?}");
    // Applied: the acknowledgement now matches nothing, and the plan says so.
    let plan = plan_of(&tenant, &tier0).await;
    assert!(plan.changes.is_empty() && plan.conflicts.is_empty(), "{plan:#?}");
    assert!(
        notes(&plan).contains(
            &": acknowledged reference `Access.Tier=Tier0` matches no deactivation that an enabled or \
              report-only policy names: remove it from acknowledgedReferences"
                .to_owned()
        ),
        "{:?}",
        notes(&plan)
    );
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_policy_read_the_plan_says_references_were_not_checked() {
    let emulator = emulator(EmulatorConfig { seed_state: seed_with_policies(), ..Default::default() }).await;
    let writer = jwt(json!({ "roles": [
        "CustomSecAttributeDefinition.ReadWrite.All", "CustomSecAttributeAssignment.ReadWrite.All"
    ] }));
    let tenant = tenant_with(&emulator, &writer, fast_options());
    let desired = desired(FILES);
    apply_and_converge(&tenant, &desired).await;
    let mut tier0 = desired.clone();
    deactivate_value(&mut tier0, "Tier", "Tier0");
    let live = tenant.read(&entra_csa::tenant::ReadScope::for_desired(&tier0)).await.unwrap();
    let plan = entra_csa::plan::build(&tier0, &live, tenant.target());
    assert!(plan.conflicts.is_empty(), "not checked, so not a conflict: {:?}", plan.conflicts);
    assert!(
        notes(&plan).iter().any(|note| note.starts_with(": references not checked: Microsoft Graph refused")
            && note.contains("Policy.Read.All")),
        "{:?}",
        notes(&plan)
    );
    emulator.shutdown().await;
}

#[test]
fn an_acknowledgement_outside_the_declared_sets_is_a_located_error() {
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("access.yaml");
    let text = std::fs::read_to_string(repo(FILES)).unwrap()
        + "\nacknowledgedReferences:\n  Acess.Tier=Tier0: moving apps\n";
    std::fs::write(&file, text).unwrap();
    let diagnostics = entra_csa::desired::load::load_files(&[file]).unwrap_err().to_string();
    assert!(diagnostics.contains("access.yaml:"), "{diagnostics}");
    assert!(diagnostics.contains("which the files do not declare"), "{diagnostics}");
    assert!(diagnostics.contains("did you mean `Access`?"), "{diagnostics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_plan_refuses_the_deactivation_and_names_the_policy() {
    let emulator = emulator(EmulatorConfig { seed_state: seed_with_policies(), ..Default::default() }).await;
    let token = jwt(json!({ "roles": [
        "CustomSecAttributeDefinition.ReadWrite.All", "CustomSecAttributeAssignment.ReadWrite.All", "Policy.Read.All"
    ] }));
    apply_and_converge(&tenant_with(&emulator, &token, fast_options()), &desired(FILES)).await;
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("access.yaml");
    let text = std::fs::read_to_string(repo(FILES)).unwrap().replace(
        "allowedValues: [Tier0, Tier1, Tier2]",
        "allowedValues: [{ value: Tier0, active: false }, Tier1, Tier2]",
    );
    std::fs::write(&file, &text).unwrap();
    let plan = |format: &str| {
        vec![
            "plan".to_owned(),
            "-f".to_owned(),
            file.to_str().unwrap().to_owned(),
            "--graph-url".to_owned(),
            emulator.base_url(),
            "--format".to_owned(),
            format.to_owned(),
        ]
    };
    let (code, stdout, stderr) = run_cli(plan("text"), &token).await;
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stdout.contains("Access.Tier=Tier0"), "{stdout}");
    assert!(
        stdout.contains("Conditional Access policy `Block legacy auth (Tier0)` (enabled)"),
        "{stdout}{stderr}"
    );
    let (_, stdout, _) = run_cli(plan("json"), &token).await;
    let json: Value = serde_json::from_str(&stdout).unwrap();
    let conflict = &json["conflicts"][0];
    assert_eq!(conflict["property"], "references", "{json:#}");
    assert_eq!(conflict["address"], "Access.Tier=Tier0", "{json:#}");

    // Acknowledged in the file: the plan passes and says why.
    std::fs::write(
        &file,
        text + "\nacknowledgedReferences:\n  Access.Tier=Tier0: Tier0 apps move this week\n",
    )
    .unwrap();
    let (code, stdout, stderr) = run_cli(plan("text"), &token).await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("acknowledged reference: Tier0 apps move this week"), "{stdout}");
    emulator.shutdown().await;
}
