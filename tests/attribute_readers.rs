//! The readers outside Conditional Access, end to end through the emulator:
//! Azure role assignments whose condition reads a custom security attribute
//! (read through Azure Resource Graph with `--azure-role-assignments`) and
//! lifecycle workflows whose scope rule, trigger or tasks name one. A
//! deactivation they rely on is refused unless acknowledged; a value change
//! they read is an impact line; a read that is refused is a note saying
//! what was not checked.

use entra_csa::azure::{ArmClient, endpoint as arm_endpoint};
use entra_csa::emulator::document::StateDocument;
use entra_csa::emulator::{EmulatorConfig, RunningEmulator};
use entra_csa::graph::endpoint::Cloud;
use entra_csa::graph::{BearerToken, GraphTenant, TokenSource};
use entra_csa::model::{AttributeValue, DesiredState, PrincipalKey, Status};
use entra_csa::plan::Plan;
use entra_csa::readers::Effect;
use serde_json::{Value, json};

use crate::graph_support::*;

const FILES: &str = "tests/fixtures/readers/access.yaml";

const ALICE: &str = "alice@contoso.com";

/// No attributes yet, and the role assignments and workflows of
/// `tests/fixtures/readers/readers.json`.
fn seed_with_readers() -> StateDocument {
    let mut document = serde_json::to_value(empty_seed()).unwrap();
    let readers: Value =
        serde_json::from_str(&std::fs::read_to_string(repo("tests/fixtures/readers/readers.json")).unwrap())
            .unwrap();
    for (key, value) in readers.as_object().unwrap() {
        document[key] = value.clone();
    }
    serde_json::from_value(document).unwrap()
}

fn arm(emulator: &RunningEmulator, token: &str) -> ArmClient {
    let endpoint = arm_endpoint::resolve(Cloud::Global, Some(&emulator.base_url()), false).unwrap();
    ArmClient::new(endpoint, TokenSource::Fixed(BearerToken::new(token)), 0.01).unwrap()
}

/// A tenant on the emulator that reads the role assignments too.
fn tenant_with_azure(emulator: &RunningEmulator, graph_token: &str, arm_token: &str) -> GraphTenant {
    tenant_with(emulator, graph_token, fast_options()).with_azure(arm(emulator, arm_token))
}

fn deactivate_value(desired: &mut DesiredState, attribute: &str, value: &str) {
    let definition = desired.attribute_sets.get_mut("Access").unwrap().attributes.get_mut(attribute).unwrap();
    definition.allowed_values.iter_mut().find(|allowed| allowed.id == value).unwrap().is_active = false;
}

fn assign(desired: &mut DesiredState, attribute: &str, value: &str) {
    let key = PrincipalKey::User(ALICE.into());
    let sets = desired.assignments.get_mut(&key).unwrap();
    sets.get_mut("Access").unwrap().insert(attribute.into(), AttributeValue::String(value.into()));
}

fn conflicts(plan: &Plan) -> Vec<String> {
    plan.conflicts.iter().map(|conflict| format!("{}: {}", conflict.address, conflict.message)).collect()
}

fn notes(plan: &Plan) -> Vec<String> {
    plan.notes.iter().map(|note| note.message.clone()).collect()
}

const TIER0_ASSIGNMENT: &str = "Azure role assignment `role Storage Blob Data Reader \
    (2a2b9908-6ea1-4ae2-8e65-a410df84e7d1) for User \
    0b9a1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d at /subscriptions/11111111-1111-4111-8111-111111111111/resourceGroups/finance` \
    (enabled)";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deactivating_a_value_a_role_assignment_condition_compares_is_refused_unless_acknowledged() {
    let emulator = emulator(EmulatorConfig { seed_state: seed_with_readers(), ..Default::default() }).await;
    let tenant = tenant_with_azure(&emulator, "test-token", "test-token");
    let desired = desired(FILES);
    apply_and_converge(&tenant, &desired).await;

    let mut tier0 = desired.clone();
    deactivate_value(&mut tier0, "Tier", "Tier0");
    let plan = plan_of(&tenant, &tier0).await;
    assert_eq!(
        conflicts(&plan),
        [format!(
            "Access.Tier=Tier0: deactivating Access.Tier=Tier0 changes what {TIER0_ASSIGNMENT} does: it names it"
        )]
    );
    // The query went to Resource Graph, paged, with the documented body.
    let queries: Vec<_> = emulator
        .requests()
        .into_iter()
        .filter(|request| request.path.eq_ignore_ascii_case("/providers/Microsoft.ResourceGraph/resources"))
        .collect();
    assert!(!queries.is_empty());
    let body = queries[0].body.as_ref().unwrap();
    assert!(body["query"].as_str().unwrap().starts_with("authorizationresources"), "{body}");
    assert_eq!(body["options"]["authorizationScopeFilter"], "AtScopeAboveAndBelow");
    let query = queries[0].query.clone().unwrap_or_default();
    assert!(query.contains("api-version=2024-04-01"), "{query}");

    // Acknowledged in the files: a note, no conflict.
    tier0
        .acknowledged_references
        .insert("Access.Tier=Tier0".into(), "Tier0 readers move to a new account".into());
    let plan = plan_of(&tenant, &tier0).await;
    assert!(plan.conflicts.is_empty(), "{:?}", plan.conflicts);
    assert!(
        notes(&plan).contains(&format!(
            "named by {TIER0_ASSIGNMENT}; acknowledged reference: Tier0 readers move to a new account"
        )),
        "{:?}",
        notes(&plan)
    );

    // Not asked for (no --azure-role-assignments): not read, so no conflict.
    let mut unasked = desired.clone();
    deactivate_value(&mut unasked, "Tier", "Tier0");
    let plan = plan_of(&tenant_with(&emulator, "test-token", fast_options()), &unasked).await;
    assert!(plan.conflicts.is_empty(), "{:?}", plan.conflicts);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deactivating_what_a_workflow_reads_is_refused_unless_acknowledged() {
    let emulator = emulator(EmulatorConfig { seed_state: seed_with_readers(), ..Default::default() }).await;
    let tenant = tenant_with_azure(&emulator, "test-token", "test-token");
    let desired = desired(FILES);
    apply_and_converge(&tenant, &desired).await;

    // Tier1: the enabled workflow's scope rule compares with it.
    let mut tier1 = desired.clone();
    deactivate_value(&mut tier1, "Tier", "Tier1");
    let plan = plan_of(&tenant, &tier1).await;
    assert_eq!(
        conflicts(&plan),
        [
            "Access.Tier=Tier1: deactivating Access.Tier=Tier1 changes what lifecycle workflow `Mover: Tier1 finance \
          staff` (enabled) does: it names it"
        ]
    );

    // Tier2: only a disabled workflow names it: a note, no conflict.
    let mut tier2 = desired.clone();
    deactivate_value(&mut tier2, "Tier", "Tier2");
    let plan = plan_of(&tenant, &tier2).await;
    assert!(plan.conflicts.is_empty(), "{:?}", plan.conflicts);
    assert!(
        notes(&plan).contains(&"named by lifecycle workflow `Leaver: Tier2 (off)` (disabled)".to_owned())
    );

    // Owner: the tag condition, the workflow's trigger and its task argument.
    let mut owner = desired.clone();
    owner.attribute_sets.get_mut("Access").unwrap().attributes.get_mut("Owner").unwrap().status =
        Status::Deprecated;
    owner
        .assignments
        .get_mut(&PrincipalKey::User(ALICE.into()))
        .unwrap()
        .get_mut("Access")
        .unwrap()
        .remove("Owner");
    let plan = plan_of(&tenant, &owner).await;
    let found = conflicts(&plan);
    assert_eq!(found.len(), 3, "{found:#?}");
    assert!(found.iter().any(|conflict| conflict.contains("managementGroups/contoso")), "{found:#?}");
    assert_eq!(found.iter().filter(|conflict| conflict.contains("`Mover: Tier1 finance staff`")).count(), 2);

    tier1.acknowledged_references.insert("Access.Tier=Tier1".into(), "the workflow moves to Tier2".into());
    let plan = plan_of(&tenant, &tier1).await;
    assert!(plan.conflicts.is_empty(), "{:?}", plan.conflicts);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_read_is_a_note_saying_what_was_not_checked() {
    let emulator = emulator(EmulatorConfig { seed_state: seed_with_readers(), ..Default::default() }).await;
    let desired = desired(FILES);
    apply_and_converge(&tenant(&emulator), &desired).await;
    // No LifecycleWorkflows.Read.All; a Graph token sent to Resource Manager.
    let graph_token = jwt(json!({
        "aud": "https://graph.microsoft.com",
        "roles": ["CustomSecAttributeDefinition.ReadWrite.All", "CustomSecAttributeAssignment.ReadWrite.All", "Policy.Read.All"]
    }));
    let tenant = tenant_with_azure(&emulator, &graph_token, &graph_token);
    let mut tier1 = desired.clone();
    deactivate_value(&mut tier1, "Tier", "Tier1");
    let plan = plan_of(&tenant, &tier1).await;
    assert!(plan.conflicts.is_empty(), "{:?}", plan.conflicts);
    let notes = notes(&plan);
    assert!(
        notes.iter().any(|note| note.starts_with(
            "references not checked: Microsoft Graph refused to read the lifecycle \
             workflows (403): the sign-in lacks LifecycleWorkflows.Read.All"
        )),
        "{notes:#?}"
    );
    assert!(
        notes.iter().any(|note| note.contains("Azure Resource Graph refused to list role assignments")
            && note.contains("InvalidAuthenticationTokenAudience")
            && note.contains("Microsoft.Authorization/roleAssignments/read")),
        "{notes:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_value_change_a_condition_or_workflow_reads_is_an_impact_line() {
    let emulator = emulator(EmulatorConfig { seed_state: seed_with_readers(), ..Default::default() }).await;
    let tenant = tenant_with_azure(&emulator, "test-token", "test-token");
    let desired = desired(FILES);
    apply_and_converge(&tenant, &desired).await;
    let lines = |plan: &Plan| plan.impact.iter().map(|impact| impact.sentence()).collect::<Vec<_>>();

    // Tier2 → Tier0: the literal decides, Alice gains access; she leaves the
    // scope of the disabled workflow (said with its state); the enabled
    // one's scope (Tier1) is unchanged, so it has no line.
    let mut to_tier0 = desired.clone();
    assign(&mut to_tier0, "Tier", "Tier0");
    let plan = plan_of(&tenant, &to_tier0).await;
    let alice = plan.impact[0].name();
    assert_eq!(
        lines(&plan),
        [
            format!(
                "user {alice} leaves the scope of `Leaver: Tier2 (off)` (disabled) (through its \
                 executionConditions.scope.rule)"
            ),
            format!(
                "user {alice} gains access through {} (through its condition)",
                &TIER0_ASSIGNMENT["Azure role assignment ".len()..]
            )
        ]
    );
    assert_eq!(plan.impact[1].effect, Effect::Enters);
    for format in [entra_csa::render::Format::Text, entra_csa::render::Format::Markdown] {
        let mut out = Vec::new();
        entra_csa::render::render(&plan, format, false, &mut out).unwrap();
        let shown = String::from_utf8(out).unwrap();
        assert!(shown.contains("Impact on what reads these attributes (2)"), "{shown}");
        assert!(shown.contains("gains access through"), "{shown}");
    }
    // A saved plan (`show`, `apply PLANFILE`) reads these lines back as printed.
    let written = entra_csa::render::json::document(&plan);
    let read = entra_csa::render::json_read::plan_from_document(&written).unwrap();
    assert_eq!(entra_csa::render::json::document(&read), written);
    // The API version is written and read back with each line.
    assert_eq!(read.impact, plan.impact);

    // Tier2 → Tier1: the assignment's verdict stays; the enabled workflow's
    // scope depends on the department, which the tool does not read; Alice
    // leaves the disabled one's.
    let mut to_tier1 = desired.clone();
    assign(&mut to_tier1, "Tier", "Tier1");
    let plan = plan_of(&tenant, &to_tier1).await;
    let effects: Vec<(&str, &Effect)> =
        plan.impact.iter().map(|impact| (impact.reader.kind.key, &impact.effect)).collect();
    assert_eq!(effects.len(), 3, "{:#?}", lines(&plan));
    assert!(effects.contains(&("azureRoleAssignment", &Effect::Unchanged)), "{effects:?}");
    let written = entra_csa::render::json::document(&plan);
    let read = entra_csa::render::json_read::plan_from_document(&written).unwrap();
    assert_eq!(
        entra_csa::render::json::document(&read),
        written,
        "an unchanged and an unknown line read back"
    );
    assert!(
        plan.impact.iter().any(|impact| impact.reader.kind.key == "lifecycleWorkflow"
            && matches!(&impact.effect, Effect::Unknown(reason) if reason.contains("department"))),
        "{:#?}",
        lines(&plan)
    );

    // Owner Finance → Legal: compared with a blob's tag, access may change;
    // the workflow's attribute-change trigger starts it.
    let mut owner = desired.clone();
    assign(&mut owner, "Owner", "Legal");
    let plan = plan_of(&tenant, &owner).await;
    let lines = lines(&plan);
    assert!(
        lines.iter().any(|line| line.contains("managementGroups/contoso")
            && line.contains("access may change: it compares with @Resource[")),
        "{lines:#?}"
    );
    assert!(lines.iter().any(|line| line.contains("starts this workflow")), "{lines:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_opts_in_with_the_flag_or_the_variable() {
    let emulator = emulator(EmulatorConfig { seed_state: seed_with_readers(), ..Default::default() }).await;
    let desired = desired(FILES);
    apply_and_converge(&tenant(&emulator), &desired).await;
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("access.yaml");
    let text = std::fs::read_to_string(repo(FILES)).unwrap().replace("allowedValues: [Tier0, Tier1, Tier2]", "allowedValues:\n          - value: Tier0\n            active: false\n          - Tier1\n          - Tier2");
    std::fs::write(&file, &text).unwrap();
    let plan = |extra: &[&str], opt_in_variable: bool| {
        let mut command = entra_csa();
        command
            .env("ENTRA_CSA_ACCESS_TOKEN", "test-token")
            .env_remove("ENTRA_CSA_AZURE_ROLE_ASSIGNMENTS")
            .env("ENTRA_CSA_ARM_URL", emulator.base_url())
            .args(["plan", "-f"])
            .arg(&file)
            .args(["--graph-url", &emulator.base_url(), "--format", "json"])
            .args(extra);
        if opt_in_variable {
            command.env("ENTRA_CSA_AZURE_ROLE_ASSIGNMENTS", "1");
        }
        run_off_runtime(command)
    };
    let (code, stdout, stderr) = plan(&["--azure-role-assignments"], false).await;
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stdout.contains("Azure role assignment `role Storage Blob Data Reader (2a2b9908"), "{stdout}");
    let (code, stdout, stderr) = plan(&[], true).await;
    assert_eq!(code, 1, "{stdout}{stderr}");
    let (code, stdout, stderr) = plan(&[], false).await;
    assert_eq!(code, 0, "not asked for, not read: {stdout}{stderr}");
    let (code, _, stderr) = plan(&["--azure-role-assignments", "--arm-url", "http://10.0.0.1"], false).await;
    assert_eq!(code, 1);
    assert!(
        stderr.contains("--arm-url `http://10.0.0.1`: plain http:// is only allowed for a loopback host"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_usage_report_lists_every_reader() {
    let mut seed = serde_json::to_value(seed_with_readers()).unwrap();
    let policies: Value = serde_json::from_str(
        &std::fs::read_to_string(repo("tests/fixtures/policies/policies.json")).unwrap(),
    )
    .unwrap();
    for (key, value) in policies.as_object().unwrap() {
        seed[key] = value.clone();
    }
    let emulator =
        emulator(EmulatorConfig { seed_state: serde_json::from_value(seed).unwrap(), ..Default::default() })
            .await;
    apply_and_converge(&tenant(&emulator), &desired(FILES)).await;
    let report = |format: &str, extra: &[&str]| {
        let mut command = entra_csa();
        command
            .env("ENTRA_CSA_ACCESS_TOKEN", "test-token")
            .env_remove("ENTRA_CSA_AZURE_ROLE_ASSIGNMENTS")
            .args([
                "readers",
                "--format",
                format,
                "--graph-url",
                &emulator.base_url(),
                "--arm-url",
                &emulator.base_url(),
            ])
            .args(extra);
        run_off_runtime(command)
    };
    let (code, stdout, stderr) = report("json", &["--azure-role-assignments"]).await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    let json: Value = serde_json::from_str(&stdout).unwrap();
    let rows = json["readers"].as_array().unwrap();
    let row = |kind: &str, attribute: &str, value: &str| {
        rows.iter()
            .find(|row| row["readerKind"] == kind && row["attribute"] == attribute && row["value"] == value)
            .unwrap_or_else(|| panic!("no {kind} row for {attribute}={value}: {stdout}"))
    };
    let blocking = row("conditionalAccessPolicy", "Tier", "Tier0");
    assert_eq!(blocking["reader"], "Block legacy auth (Tier0)");
    assert_eq!(blocking["state"], "enabled");
    assert_eq!(blocking["condition"], "applicationFilter");
    assert_eq!(blocking["set"], "Access");
    assert_eq!(blocking["allowedValuesNamed"], json!(["Tier0"]));
    assert_eq!(row("conditionalAccessPolicy", "Owner", "Fin")["matches"], "prefix");
    assert_eq!(
        row("appManagementPolicy", "Exemption", "PasswordAddition")["condition"],
        "excludeActors.customSecurityAttributes"
    );
    let assignment = row("azureRoleAssignment", "Tier", "Tier0");
    assert_eq!(assignment["caseSensitive"], true);
    assert!(
        assignment["reader"]
            .as_str()
            .unwrap()
            .contains("for User 0b9a1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d at /subscriptions/")
    );
    assert_eq!(row("azureRoleAssignment", "Owner", "")["matches"], "every");
    assert_eq!(row("lifecycleWorkflow", "Tier", "Tier1")["condition"], "executionConditions.scope.rule");
    assert_eq!(row("lifecycleWorkflow", "Tier", "Tier2")["state"], "disabled");
    assert!(
        rows.iter()
            .any(|row| row["readerKind"] == "lifecycleWorkflow" && row["condition"] == "tasks.arguments")
    );
    assert_eq!(json["notChecked"], json!([]));

    // CSV, without Azure: the header, the other readers, and a word on stderr.
    let (code, stdout, stderr) = report("csv", &["--attribute", "Access.Tier"]).await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    let mut lines = stdout.lines();
    assert_eq!(
        lines.next(),
        Some(
            "set,attribute,value,matches,caseSensitive,allowedValuesNamed,readerKind,reader,readerId,state,condition,operator,source"
        )
    );
    let lines: Vec<&str> = lines.collect();
    assert!(lines.iter().all(|line| line.starts_with("Access,Tier,")), "{stdout}");
    assert!(lines.iter().any(|line| line.contains(",conditionalAccessPolicy,")), "{stdout}");
    assert!(lines.iter().any(|line| line.contains(",lifecycleWorkflow,")), "{stdout}");
    assert!(!lines.iter().any(|line| line.contains(",azureRoleAssignment,")), "{stdout}");
    assert!(
        stderr.contains("not checked: Azure role assignments: not read; pass --azure-role-assignments"),
        "{stderr}"
    );
}

#[test]
fn check_access_names_the_azure_permission_and_the_optional_workflow_read() {
    let token =
        jwt(json!({ "tid": "t", "appid": "a", "roles": ["CustomSecAttributeAssignment.ReadWrite.All"] }));
    let check = |extra: &[&str]| {
        let mut command = entra_csa();
        command
            .env("ENTRA_CSA_ACCESS_TOKEN", &token)
            .env_remove("ENTRA_CSA_AZURE_ROLE_ASSIGNMENTS")
            .args(["check-access", "--graph-url", "http://127.0.0.1:9"])
            .args(extra);
        crate::launch::run(&mut command)
    };
    let (_, stdout, stderr) = check(&["--azure-role-assignments"]);
    assert!(
        stdout.contains(
            "needs   Microsoft.Authorization/roleAssignments/read at the management groups and subscriptions"
        ),
        "{stdout}{stderr}"
    );
    assert!(
        stdout.contains("absent  LifecycleWorkflows.Read.All — without it the plan cannot say"),
        "{stdout}"
    );
    let (_, stdout, _) = check(&[]);
    assert!(
        stdout.contains("Azure role assignments: not read (opt in with --azure-role-assignments"),
        "{stdout}"
    );
}

/// A saved plan depends on the readers that name a declared attribute: a
/// role assignment's condition or a workflow's rule changed since makes it
/// stale; one that names another team's attribute does not.
#[test]
fn a_saved_plan_depends_on_the_readers_that_name_its_attributes() {
    let desired = desired(FILES);
    let live = live_of(&seed_with_readers());
    let fingerprint =
        |live: &entra_csa::model::live::LiveState| entra_csa::plan::fingerprint::live(live, &desired);
    let before = fingerprint(&live);
    let edited = |edit: &dyn Fn(&mut entra_csa::model::live::LiveState)| {
        let mut changed = live.clone();
        edit(&mut changed);
        fingerprint(&changed)
    };
    let condition = edited(&|live| {
        let row = &mut live.policies.azure_role_assignments.as_mut().unwrap()[0];
        row["properties"]["condition"] = json!(
            "@Principal[Microsoft.Directory/CustomSecurityAttributes/Id:Access_Tier] StringEquals 'Tier1'"
        );
    });
    assert_ne!(condition, before);
    let rule = edited(&|live| {
        let workflow = &mut live.policies.lifecycle_workflows.as_mut().unwrap()[0];
        workflow["executionConditions"]["scope"]["rule"] =
            json!("customSecurityAttributes/Access/Tier eq 'Tier0'");
    });
    assert_ne!(rule, before);
    let elsewhere = edited(&|live| {
        let mut other = live.policies.azure_role_assignments.as_ref().unwrap()[0].clone();
        other["properties"]["condition"] = json!(
            "@Principal[Microsoft.Directory/CustomSecurityAttributes/Id:Finance_Region] StringEquals 'EU'"
        );
        live.policies.azure_role_assignments.as_mut().unwrap().push(other);
    });
    assert_eq!(elsewhere, before);
}

/// Thousands of assignments come in pages of 1,000, followed by their
/// `$skipToken` to the end; those without a condition never reach the plan.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_assignments_are_read_page_by_page_at_a_realistic_size() {
    let mut seed = seed_with_readers();
    let template = seed.azure_role_assignments.as_ref().unwrap()[0].clone();
    let definition = seed.azure_role_assignments.as_ref().unwrap().last().unwrap().clone();
    let mut rows: Vec<_> = (0..2_500)
        .map(|index| {
            let mut row = template.clone();
            row.insert(
                "id".into(),
                json!(format!(
                    "/subscriptions/s{index:05}/providers/Microsoft.Authorization/roleAssignments/r{index}"
                )),
            );
            if index % 5 == 0 {
                row["properties"]["condition"] = Value::Null;
            }
            row
        })
        .collect();
    rows.push(definition);
    seed.azure_role_assignments = Some(rows);
    let emulator = emulator(EmulatorConfig { seed_state: seed, ..Default::default() }).await;
    let read = arm(&emulator, "test-token").role_assignments_with_conditions().await.unwrap();
    // The assignments with a condition, then the one role definition.
    assert_eq!(read.len(), 2_001);
    assert_eq!(read[2_000]["properties"]["roleName"], "Storage Blob Data Reader");
    let mut ids: Vec<&str> = read[..2_000].iter().map(|row| row["id"].as_str().unwrap()).collect();
    ids.dedup();
    assert_eq!(ids.len(), 2_000, "no row twice");
    let pages: Vec<_> = emulator
        .requests()
        .into_iter()
        .filter(|request| request.path.eq_ignore_ascii_case("/providers/Microsoft.ResourceGraph/resources"))
        .collect();
    assert_eq!(pages.len(), 3, "2,000 rows with a condition in pages of 1,000, then the role definitions");
    assert!(pages[1].body.as_ref().unwrap()["options"]["$skipToken"].is_string());
}

/// The emulator's routes over HTTP: Resource Manager's list of a scope's
/// assignments, and the workflows behind their permission (the list
/// without tasks, one workflow with them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emulator_serves_the_role_assignment_list_and_the_workflows() {
    let emulator = emulator(EmulatorConfig { seed_state: seed_with_readers(), ..Default::default() }).await;
    let http = reqwest::Client::new();
    let get = |path: String, token: String| {
        let http = http.clone();
        let url = format!("{}{path}", emulator.base_url());
        async move {
            let answer = http.get(url).bearer_auth(token).send().await.unwrap();
            (answer.status().as_u16(), answer.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let subscription = "/subscriptions/11111111-1111-4111-8111-111111111111";
    let (status, body) = get(
        format!("{subscription}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01"),
        "test-token".into(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let names: Vec<&str> =
        body["value"].as_array().unwrap().iter().map(|row| row["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["aaaaaaaa-0000-4000-8000-000000000001", "aaaaaaaa-0000-4000-8000-000000000003"]);
    assert_eq!(body["value"][0]["type"], "Microsoft.Authorization/roleAssignments");
    let (status, body) = get(
        format!("{subscription}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&$filter=atScope()"),
        "test-token".into(),
    )
    .await;
    assert_eq!((status, body["value"].as_array().unwrap().len()), (200, 1));

    let workflows = "/v1.0/identityGovernance/lifecycleWorkflows/workflows";
    let without = jwt(json!({ "roles": ["Policy.Read.All"] }));
    assert_eq!(get(workflows.into(), without).await.0, 403);
    let reader = jwt(json!({ "roles": ["LifecycleWorkflows.Read.All"] }));
    let (status, list) = get(workflows.into(), reader.clone()).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["value"].as_array().unwrap().len(), 2);
    assert!(list["value"][0].get("tasks").is_none(), "{list}");
    let (status, one) = get(format!("{workflows}/bbbbbbbb-0000-4000-8000-000000000001"), reader).await;
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["tasks"][0]["arguments"][0]["value"], "User/customSecurityAttributes/Access/Owner");
}
