//! Assigning by group (`assignments.groups`), end to end: the files give a
//! value to a group's transitive members, nested groups and a cycle
//! included; equal values from two sources are one value and different ones
//! a conflict naming both; an authoritative group takes its attribute away
//! from a member who left and a plain one leaves it; a membership change
//! between plan and apply makes the saved plan stale; and a plan applied
//! plans empty. Each through the binary against a state file and against
//! the emulator over loopback, which must agree.

use entra_csa::emulator::EmulatorConfig;
use entra_csa::emulator::document::{GroupShape, MemberShape};
use serde_json::{Value, json};

use crate::graph_support::*;
use crate::launch::run;

const PAYMENTS: &str = "6a1f0c2e-0000-4000-8000-000000000001";
const PLATFORM: &str = "6a1f0c2e-0000-4000-8000-000000000002";
const TIER0: &str = "6a1f0c2e-0000-4000-8000-000000000003";
const OPS_A: &str = "6a1f0c2e-0000-4000-8000-000000000004";
const OPS_B: &str = "6a1f0c2e-0000-4000-8000-000000000005";
/// A name with a quote, an ampersand and a slash, which the lookup must escape.
const SALES: &str = "6a1f0c2e-0000-4000-8000-000000000006";

const ALICE: &str = "0b9a1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d";
const BOB: &str = "1c2d3e4f-5a6b-4c7d-9e8f-0a1b2c3d4e5f";
const CAROL: &str = "2d3e4f5a-6b7c-4d8e-af90-1b2c3d4e5f6a";
const APP: &str = "6b7c8d9e-0f1a-4b2c-9d3e-4f5a6b7c8d9e";

/// The attribute sets of `examples/contoso-live.json`, declared as they are.
const SETS: &str = r#"version: 1
attributeSets:
  Engineering:
    attributes:
      Project:
        type: String
        isCollection: true
        usePreDefinedValuesOnly: true
        allowedValues: [Alpine, Baker, Cascade, Zephyr, {value: Denali, active: false}, {value: Legacy, active: false}]
      CostCenter: {type: Integer}
      ProjectCode: {type: String}
      Legacy: {type: String}
"#;

/// Contoso's tenant with groups: Eng-Payments holds alice and Eng-Platform,
/// which holds bob, an app, a device and Eng-Payments again (a cycle);
/// Tier0-Apps holds the app; two groups are both named "Ops".
fn contoso_with_groups() -> Value {
    let mut document: Value =
        serde_json::from_str(&std::fs::read_to_string(repo("examples/contoso-live.json")).unwrap()).unwrap();
    let member = |odata_type: &str, id: &str| json!({ "@odata.type": format!("#microsoft.graph.{odata_type}"), "id": id });
    document["groups"] = json!([
        { "id": PAYMENTS, "displayName": "Eng-Payments", "members": [member("user", ALICE), member("group", PLATFORM)] },
        { "id": PLATFORM, "displayName": "Eng-Platform", "members": [
            member("user", BOB), member("servicePrincipal", APP), member("group", PAYMENTS),
            member("device", "d0000000-0000-4000-8000-000000000001") ] },
        { "id": TIER0, "displayName": "Tier0-Apps", "members": [member("servicePrincipal", APP)] },
        { "id": OPS_A, "displayName": "Ops", "members": [member("user", CAROL)] },
        { "id": OPS_B, "displayName": "ops", "members": [] },
        { "id": SALES, "displayName": "Sales 'EMEA' & Co/Ops", "members": [member("user", CAROL)] }
    ]);
    document
}

/// A folder with the state file and `files.yaml` (the sets plus `assignments`).
fn workspace(assignments: &str) -> tempfile::TempDir {
    let folder = tempfile::tempdir().unwrap();
    std::fs::write(
        folder.path().join("tenant.json"),
        serde_json::to_string_pretty(&contoso_with_groups()).unwrap(),
    )
    .unwrap();
    std::fs::write(folder.path().join("files.yaml"), format!("{SETS}{assignments}")).unwrap();
    folder
}

/// `entra-csa ARGS` in `folder`: exit code, stdout, stderr.
fn cli(folder: &tempfile::TempDir, args: &[&str]) -> (i32, String, String) {
    let mut command = entra_csa();
    command.current_dir(folder.path()).args(args);
    run(&mut command)
}

fn plan_json(folder: &tempfile::TempDir) -> Value {
    let (_, stdout, stderr) =
        cli(folder, &["plan", "-f", "files.yaml", "--state", "tenant.json", "--format", "json"]);
    serde_json::from_str(&stdout).unwrap_or_else(|error| panic!("{error}: {stdout}\n{stderr}"))
}

/// `(action, address, source)` of each change, in plan order.
fn changes(plan: &Value) -> Vec<(String, String, Option<String>)> {
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|change| change["kind"] == "assignment")
        .map(|change| {
            (
                change["action"].as_str().unwrap().to_owned(),
                change["address"].as_str().unwrap().to_owned(),
                change["source"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

fn change(action: &str, address: &str, source: &str) -> (String, String, Option<String>) {
    (action.to_owned(), address.to_owned(), Some(source.to_owned()))
}

const NESTED: &str = r#"assignments:
  groups:
    Eng-Payments:
      Engineering:
        ProjectCode: PAY
"#;

#[test]
fn nested_groups_and_a_cycle_reach_every_transitive_member_once() {
    let folder = workspace(NESTED);
    let plan = plan_json(&folder);
    assert_eq!(plan["formatVersion"], 2, "files that assign by group are written in format version 2");
    // Eng-Payments → alice, and through Eng-Platform (which lists Eng-Payments
    // back) bob and the app; the device holds no values.
    assert_eq!(
        changes(&plan),
        vec![
            change("assign", "user:alice@contoso.com/Engineering.ProjectCode", "group:Eng-Payments"),
            change("assign", "user:bob@contoso.com/Engineering.ProjectCode", "group:Eng-Payments"),
            change(
                "assign",
                "servicePrincipal:7c2f3c3e-1111-4a4a-9b9b-0123456789ab/Engineering.ProjectCode",
                "group:Eng-Payments"
            ),
        ]
    );
    let notes = plan["notes"].to_string();
    assert!(notes.contains("1 member(s) neither users nor service principals"), "{notes}");
    // The group is named beside each change in text and Markdown too.
    let (_, text, _) = cli(&folder, &["plan", "-f", "files.yaml", "--state", "tenant.json"]);
    assert!(
        text.contains(
            "+ assign user:bob@contoso.com/Engineering.ProjectCode = \"PAY\"  (from group:Eng-Payments)"
        ),
        "{text}"
    );
    let (_, markdown, _) =
        cli(&folder, &["plan", "-f", "files.yaml", "--state", "tenant.json", "--format", "markdown"]);
    assert!(
        markdown.contains("`user:bob@contoso.com/Engineering.ProjectCode` from `group:Eng-Payments`"),
        "{markdown}"
    );
    // The JSON plan of format version 2 is what its schema says.
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(repo("schema/plan.v2.schema.json")).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(&plan).map(|error| error.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
}

#[test]
fn equal_values_from_two_sources_are_one_value_and_different_ones_a_conflict_naming_both() {
    let equal = workspace(
        r#"assignments:
  users:
    bob@contoso.com:
      Engineering:
        Project: [Alpine]
        CostCenter: 1002
  groups:
    Eng-Platform:
      Engineering:
        ProjectCode: PLT
    6a1f0c2e-0000-4000-8000-000000000003:
      Engineering:
        ProjectCode: PLT
    Eng-Payments:
      Engineering:
        Project: [Alpine]
"#,
    );
    let plan = plan_json(&equal);
    assert_eq!(plan["conflicts"], json!([]), "{plan:#}");
    let planned = changes(&plan);
    // The app is reached by Eng-Platform and by Tier0-Apps (by object id)
    // with one value: one change, named after the first group.
    let app_code: Vec<_> = planned
        .iter()
        .filter(|(_, address, _)| address.ends_with("0123456789ab/Engineering.ProjectCode"))
        .collect();
    assert_eq!(app_code.len(), 1, "{planned:?}");
    // bob lists Project himself, with the value his group gives: his own
    // entry plans it (it is already held), so nothing changes for it; his
    // listed Engineering set keeps the group's ProjectCode.
    assert!(planned.iter().all(|(_, address, _)| address != "user:bob@contoso.com/Engineering.Project"));
    assert!(planned.contains(&change(
        "assign",
        "user:bob@contoso.com/Engineering.ProjectCode",
        "group:Eng-Platform"
    )));

    let different = workspace(
        r#"assignments:
  users:
    bob@contoso.com:
      Engineering:
        CostCenter: 5
  groups:
    Eng-Platform:
      Engineering:
        CostCenter: 7
        ProjectCode: PLT
    Tier0-Apps:
      Engineering:
        ProjectCode: T0
"#,
    );
    let plan = plan_json(&different);
    let conflicts: Vec<(String, String, String)> = plan["conflicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|conflict| {
            (
                conflict["address"].as_str().unwrap().to_owned(),
                conflict["property"].as_str().unwrap().to_owned(),
                conflict["desired"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        conflicts,
        vec![
            (
                "user:bob@contoso.com/Engineering.CostCenter".into(),
                "source".into(),
                "user:bob@contoso.com: 5; group:Eng-Platform: 7".into()
            ),
            (
                "servicePrincipal:7c2f3c3e-1111-4a4a-9b9b-0123456789ab/Engineering.ProjectCode".into(),
                "source".into(),
                "group:Eng-Platform: \"PLT\"; group:Tier0-Apps: \"T0\"".into()
            ),
        ]
    );
    let message = plan["conflicts"][1]["message"].as_str().unwrap();
    assert!(message.contains("group:Eng-Platform") && message.contains("group:Tier0-Apps"), "{message}");
    // Nothing is planned for a disputed attribute, and apply refuses the plan.
    assert!(
        changes(&plan)
            .iter()
            .all(|(_, address, _)| !address.ends_with("0123456789ab/Engineering.ProjectCode"))
    );
    let (code, _, stderr) =
        cli(&different, &["apply", "-f", "files.yaml", "--state", "tenant.json", "--auto-approve"]);
    assert_eq!(code, 1, "{stderr}");
}

#[test]
fn a_group_name_must_name_one_group_and_an_unknown_one_gets_a_suggestion() {
    let folder = workspace(NAMES);
    let plan = plan_json(&folder);
    let conflicts = plan["conflicts"].as_array().unwrap();
    assert_eq!(conflicts.len(), 2, "{conflicts:#?}");
    assert_eq!(conflicts[0]["address"], "group:Eng-Paymnts/Engineering.ProjectCode");
    assert_eq!(conflicts[0]["hint"], "did you mean `Eng-Payments`?");
    assert_eq!(conflicts[1]["address"], "group:Ops/Engineering.ProjectCode");
    let message = conflicts[1]["message"].as_str().unwrap();
    assert!(message.contains(OPS_A) && message.contains(OPS_B), "the candidates are named: {message}");
    assert!(changes(&plan).contains(&change(
        "assign",
        "user:carol@contoso.com/Engineering.ProjectCode",
        "group:Sales 'EMEA' & Co/Ops"
    )));
    // A display name matches ignoring case, as Entra compares it.
    assert!(changes(&plan).contains(&change(
        "assign",
        "user:bob@contoso.com/Engineering.ProjectCode",
        "group:eng-platform"
    )));
}

/// Names: one two groups share, one misspelt, one in another case, one
/// with a quote, an ampersand and a slash.
const NAMES: &str = r#"assignments:
  groups:
    Ops:
      Engineering:
        ProjectCode: OPS
    Eng-Paymnts:
      Engineering:
        ProjectCode: PAY
    eng-platform:
      Engineering:
        ProjectCode: PLT
    "Sales 'EMEA' & Co/Ops":
      Engineering:
        ProjectCode: EMEA
"#;

const LEAVERS: &str = r#"assignments:
  groups:
    Tier0-Apps:
      Engineering:
        ProjectCode:
          value: T0
          authoritative: true
    Eng-Platform:
      Engineering:
        CostCenter: 7
"#;

/// Applies `LEAVERS`, then empties Tier0-Apps and Eng-Platform of the app:
/// the authoritative ProjectCode is taken away, the plain CostCenter kept.
#[test]
fn an_authoritative_group_unassigns_a_leaver_and_a_plain_one_keeps_its_value() {
    let folder = workspace(LEAVERS);
    // Through a saved plan (format version 2), applied as saved.
    let (code, _, stderr) =
        cli(&folder, &["plan", "-f", "files.yaml", "--state", "tenant.json", "--out", "plan.json"]);
    assert_eq!(code, 0, "{stderr}");
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(folder.path().join("plan.json")).unwrap()).unwrap();
    assert_eq!(saved["formatVersion"], 2);
    assert!(saved["desiredState"]["groupAssignments"]["Tier0-Apps"].is_object(), "{saved:#}");
    let (code, stdout, stderr) = cli(&folder, &["apply", "plan.json", "--auto-approve"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let state = folder.path().join("tenant.json");
    let mut document: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    let app = |document: &Value| {
        document["servicePrincipals"][0]["customSecurityAttributes"]["Engineering"].clone()
    };
    assert_eq!(app(&document)["ProjectCode"], "T0");
    assert_eq!(app(&document)["CostCenter"], 7);
    for group in document["groups"].as_array_mut().unwrap() {
        group["members"].as_array_mut().unwrap().retain(|member| member["id"] != APP);
    }
    std::fs::write(&state, serde_json::to_string_pretty(&document).unwrap()).unwrap();

    let plan = plan_json(&folder);
    assert_eq!(
        changes(&plan),
        vec![change(
            "unassign",
            "servicePrincipal:7c2f3c3e-1111-4a4a-9b9b-0123456789ab/Engineering.ProjectCode",
            "group:Tier0-Apps"
        )]
    );
    let (code, _, stderr) =
        cli(&folder, &["apply", "-f", "files.yaml", "--state", "tenant.json", "--auto-approve"]);
    assert_eq!(code, 0, "{stderr}");
    let after: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(app(&after).get("ProjectCode"), None, "left the group, lost the tag");
    assert_eq!(app(&after)["CostCenter"], 7, "a plain group's leaver keeps its value");
    assert!(changes(&plan_json(&folder)).is_empty(), "converged");
}

/// The same files and tenant, through Graph: the emulator, the real
/// client, loopback HTTP. The plan equals the state file's; after apply it
/// is empty; a membership change between plan and apply makes the saved
/// plan stale; the authoritative group's leaver loses the value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_the_emulator_groups_plan_apply_converge_and_go_stale_on_a_membership_change() {
    let folder = workspace(LEAVERS);
    let state_file_plan = plan_json(&folder);
    let emulator = emulator(EmulatorConfig {
        seed_state: seed_of(&serde_json::from_value(contoso_with_groups()).unwrap()),
        page_size: 2,
        ..Default::default()
    })
    .await;
    let url = emulator.base_url();
    let graph = |args: &[&str]| {
        let mut all: Vec<String> = args.iter().map(|arg| arg.to_string()).collect();
        all.extend(["--graph-url".into(), url.clone()]);
        all
    };
    let files = folder.path().join("files.yaml").display().to_string();
    let saved = folder.path().join("plan.json").display().to_string();
    let (code, stdout, stderr) =
        run_cli(graph(&["plan", "-f", &files, "--format", "json"]), "test-token").await;
    assert_eq!(code, 0, "{stderr}");
    let graph_plan: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(changes(&graph_plan), changes(&state_file_plan));
    assert_eq!(graph_plan["conflicts"], json!([]));
    // Each member's values were read once, in the read the principals share.
    let reads: Vec<String> = emulator
        .requests()
        .iter()
        .filter(|request| request.method == "GET")
        .map(|request| request.path.to_ascii_lowercase())
        .filter(|path| [ALICE, BOB, APP].iter().any(|id| path.ends_with(id)))
        .collect();
    let unique: std::collections::BTreeSet<&String> = reads.iter().collect();
    assert_eq!(unique.len(), reads.len(), "a principal read twice: {reads:?}");

    // Plan, then the app leaves both groups before the apply: stale.
    let (code, _, stderr) = run_cli(graph(&["plan", "-f", &files, "--out", &saved]), "test-token").await;
    assert_eq!(code, 0, "{stderr}");
    emulator.edit_groups(|groups| {
        for group in groups.iter_mut() {
            group.members.retain(|member| member.id != APP);
        }
    });
    let (code, stdout, stderr) = run_cli(graph(&["apply", &saved, "--auto-approve"]), "test-token").await;
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stderr.contains("stale"), "{stderr}");
    assert_eq!(emulator.stats().writes, 0, "a stale plan writes nothing");

    // Back in the groups: plan, apply, converge.
    emulator.edit_groups(|groups| {
        let app = MemberShape { odata_type: "#microsoft.graph.servicePrincipal".into(), id: APP.into() };
        groups
            .iter_mut()
            .filter(|group| group.id == TIER0 || group.id == PLATFORM)
            .for_each(|group: &mut GroupShape| group.members.push(app.clone()));
    });
    let (code, _, stderr) = run_cli(graph(&["apply", "-f", &files, "--auto-approve"]), "test-token").await;
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, stderr) =
        run_cli(graph(&["plan", "-f", &files, "--detailed-exitcode"]), "test-token").await;
    assert_eq!(code, 0, "a second plan has no changes: {stdout}\n{stderr}");

    // The app leaves: the authoritative ProjectCode goes, CostCenter stays.
    emulator.edit_groups(|groups| {
        for group in groups.iter_mut() {
            group.members.retain(|member| member.id != APP);
        }
    });
    let (code, stdout, stderr) =
        run_cli(graph(&["apply", "-f", &files, "--auto-approve"]), "test-token").await;
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("(from group:Tier0-Apps)"), "{stdout}");
    let app = emulator.state().service_principals.into_iter().find(|principal| principal.id == APP).unwrap();
    let engineering = app.custom_security_attributes.unwrap()["Engineering"].clone();
    assert_eq!(engineering.get("ProjectCode"), None, "{engineering}");
    assert_eq!(engineering["CostCenter"], 7);
    emulator.shutdown().await;
}

/// Alice listed by UPN and reached by a group (by her object id): the
/// batched read asks for her once, by name, and finds her id there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_principal_listed_by_upn_and_reached_by_a_group_is_read_once() {
    let folder = workspace(
        r#"assignments:
  users:
    alice@contoso.com:
      Engineering:
        CostCenter: 1
  groups:
    Eng-Payments:
      Engineering:
        ProjectCode: PAY
"#,
    );
    let emulator = emulator(EmulatorConfig {
        seed_state: seed_of(&serde_json::from_value(contoso_with_groups()).unwrap()),
        ..Default::default()
    })
    .await;
    let files = folder.path().join("files.yaml").display().to_string();
    let args = ["plan", "-f", &files, "--format", "json", "--graph-url", &emulator.base_url()];
    let (code, stdout, stderr) = run_cli(args.map(str::to_owned).to_vec(), "test-token").await;
    assert_eq!(code, 0, "{stderr}");
    let plan: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(changes(&plan), changes(&plan_json(&folder)), "Graph and the state file agree");
    let alice: Vec<String> = emulator
        .requests()
        .iter()
        .filter(|request| request.method == "GET")
        .map(|request| request.path.to_ascii_lowercase().replace("%40", "@"))
        .filter(|path| path.ends_with(ALICE) || path.ends_with("alice@contoso.com"))
        .collect();
    assert_eq!(alice.len(), 1, "alice read once: {alice:?}");
    emulator.shutdown().await;
}

#[test]
fn the_example_applies_and_plans_empty_after() {
    let folder = tempfile::tempdir().unwrap();
    std::fs::copy(repo("examples/groups/groups-live.json"), folder.path().join("tenant.json")).unwrap();
    let files = repo("examples/groups").display().to_string();
    let (code, stdout, stderr) =
        cli(&folder, &["apply", "-f", &files, "--state", "tenant.json", "--auto-approve"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("(from group:Eng-Payments)"), "{stdout}");
    let (code, stdout, stderr) =
        cli(&folder, &["plan", "-f", &files, "--state", "tenant.json", "--detailed-exitcode"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_the_emulator_names_resolve_by_filter_and_an_ambiguous_one_lists_its_candidates() {
    let folder = workspace(NAMES);
    let state_file_plan = plan_json(&folder);
    let emulator = emulator(EmulatorConfig {
        seed_state: seed_of(&serde_json::from_value(contoso_with_groups()).unwrap()),
        ..Default::default()
    })
    .await;
    let files = folder.path().join("files.yaml").display().to_string();
    let args = ["plan", "-f", &files, "--format", "json", "--graph-url", &emulator.base_url()];
    let (code, stdout, stderr) =
        run_cli(args.iter().map(|arg| arg.to_string()).collect(), "test-token").await;
    assert_eq!(code, 1, "conflicts: {stderr}");
    let plan: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(changes(&plan), changes(&state_file_plan));
    let addresses = |plan: &Value| -> Vec<(Value, Value)> {
        plan["conflicts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|conflict| (conflict["address"].clone(), conflict["message"].clone()))
            .collect()
    };
    assert_eq!(addresses(&plan), addresses(&state_file_plan));
    // Graph is not searched for near names: the hint says how to key it.
    assert_eq!(plan["conflicts"][0]["hint"], "key the group by its object id, or by its whole display name");
    // The four names were looked up in one $batch.
    let lookups = emulator
        .requests()
        .iter()
        .filter(|request| request.path.ends_with("/groups") && request.batch_item.is_some())
        .count();
    assert_eq!(lookups, 4);
    emulator.shutdown().await;
}

/// Generated tenants: six users, four groups with random members and
/// random nesting (cycles and a group inside itself included), an
/// attribute some users hold, and group entries giving it, some
/// authoritative. In process (the plan's own code, the state file's
/// membership expansion and its apply): every conflict is a principal two
/// groups give different values, and otherwise the plan applied converges
/// (a second plan is empty), every reached principal holds its groups'
/// value, and no one holds an authoritative attribute that no group gives.
mod generated {
    use std::collections::{BTreeMap, BTreeSet};

    use entra_csa::model::live::{GroupMember, LiveGroup, LivePrincipal, LiveState};
    use entra_csa::model::{
        AttributeSet, AttributeValue, DataType, Definition, DesiredState, GroupAssignments,
        PrincipalAssignments, PrincipalKind,
    };
    use entra_csa::plan::{self, Target};
    use proptest::prelude::*;

    const USERS: usize = 6;
    const GROUPS: usize = 4;

    fn user_id(index: usize) -> String {
        format!("00000000-0000-4000-8000-0000000000{index:02}")
    }

    fn group_id(index: usize) -> String {
        format!("6a1f0c2e-0000-4000-8000-0000000000{index:02}")
    }

    #[derive(Debug, Clone)]
    struct Case {
        /// Each user's live value of Eng.Team.
        held: Vec<Option<u8>>,
        /// Each group's user members and group members, as bit masks.
        users_in: Vec<u8>,
        groups_in: Vec<u8>,
        /// Each group's entry: the value it gives, and whether authoritative.
        entries: Vec<Option<(u8, bool)>>,
    }

    fn cases() -> impl Strategy<Value = Case> {
        (
            proptest::collection::vec(proptest::option::of(0u8..3), USERS),
            proptest::collection::vec(0u8..(1 << USERS), GROUPS),
            proptest::collection::vec(0u8..(1 << GROUPS), GROUPS),
            proptest::collection::vec(proptest::option::of((0u8..3, any::<bool>())), GROUPS),
        )
            .prop_map(|(held, users_in, groups_in, entries)| Case {
                held,
                users_in,
                groups_in,
                entries,
            })
    }

    fn value(index: u8) -> AttributeValue {
        AttributeValue::String(["Alpine", "Baker", "Cascade"][usize::from(index)].to_owned())
    }

    fn values(index: u8) -> PrincipalAssignments {
        [("Eng".to_owned(), [("Team".to_owned(), value(index))].into_iter().collect())].into_iter().collect()
    }

    fn states(case: &Case) -> (DesiredState, LiveState) {
        let definition = Definition::with_defaults("Eng", "Team", DataType::String);
        let mut desired = DesiredState::default();
        desired.attribute_sets.insert(
            "Eng".into(),
            AttributeSet {
                id: "Eng".into(),
                description: None,
                max_attributes_per_set: None,
                attributes: [("Team".to_owned(), definition.clone())].into_iter().collect(),
            },
        );
        for (group, entry) in case.entries.iter().enumerate() {
            if let Some((given, authoritative)) = entry {
                let authoritative =
                    if *authoritative { BTreeSet::from(["Eng.Team".to_owned()]) } else { BTreeSet::new() };
                desired
                    .group_assignments
                    .insert(group_id(group), GroupAssignments { values: values(*given), authoritative });
            }
        }
        let mut live = LiveState { principals_complete: true, ..LiveState::default() };
        live.attribute_sets.insert(
            "Eng".into(),
            entra_csa::model::live::LiveAttributeSet {
                id: "Eng".into(),
                description: None,
                max_attributes_per_set: None,
            },
        );
        live.definitions.insert(definition.id(), definition);
        for (index, held) in case.held.iter().enumerate() {
            let principal = LivePrincipal {
                kind: PrincipalKind::User,
                object_id: user_id(index),
                user_principal_name: Some(format!("user{index}@contoso.com")),
                app_id: None,
                display_name: None,
                odata_type: None,
                custom_security_attributes: held.map(values),
            };
            live.principals.insert(principal.id(), principal);
        }
        let member = |odata_type: &str, id: String| GroupMember {
            odata_type: format!("#microsoft.graph.{odata_type}"),
            id,
            other: Default::default(),
        };
        live.groups = Some(
            (0..GROUPS)
                .map(|group| LiveGroup {
                    id: group_id(group),
                    display_name: Some(format!("Group {group}")),
                    members: (0..USERS)
                        .filter(|user| case.users_in[group] & (1 << user) != 0)
                        .map(|user| member("user", user_id(user)))
                        .chain(
                            (0..GROUPS)
                                .filter(|nested| case.groups_in[group] & (1 << nested) != 0)
                                .map(|nested| member("group", group_id(nested))),
                        )
                        .collect(),
                    other: Default::default(),
                })
                .collect(),
        );
        (desired, live)
    }

    /// The users each group reaches, worked out here on its own.
    fn reached(case: &Case, group: usize) -> BTreeSet<usize> {
        let mut seen = BTreeSet::from([group]);
        let mut queue = vec![group];
        let mut users = BTreeSet::new();
        while let Some(next) = queue.pop() {
            users.extend((0..USERS).filter(|user| case.users_in[next] & (1 << user) != 0));
            for nested in (0..GROUPS).filter(|nested| case.groups_in[next] & (1 << nested) != 0) {
                if seen.insert(nested) {
                    queue.push(nested);
                }
            }
        }
        users
    }

    fn plan_of(desired: &DesiredState, live: &mut LiveState) -> plan::Plan {
        let keys: Vec<String> = desired.group_assignments.keys().cloned().collect();
        live.memberships = entra_csa::tenant::memberships_in(live, &keys);
        plan::build(desired, live, Target::StateFile { path: "generated.json".into() })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

        #[test]
        fn group_plans_converge_and_hold_their_rules(case in cases()) {
            let (desired, mut live) = states(&case);
            // What each user is given, by group, as worked out here.
            let mut given: BTreeMap<usize, BTreeSet<u8>> = BTreeMap::new();
            for (group, entry) in case.entries.iter().enumerate() {
                if let Some((value, _)) = entry {
                    for user in reached(&case, group) {
                        given.entry(user).or_default().insert(*value);
                    }
                }
            }
            let disputed: BTreeSet<String> = given
                .iter()
                .filter(|(_, values)| values.len() > 1)
                .map(|(user, _)| format!("user:user{user}@contoso.com/Eng.Team"))
                .collect();
            let plan = plan_of(&desired, &mut live);
            let conflicts: BTreeSet<String> =
                plan.conflicts.iter().map(|conflict| conflict.address.to_string()).collect();
            prop_assert_eq!(&conflicts, &disputed);
            if !disputed.is_empty() {
                return Ok(());
            }
            for change in &plan.changes {
                entra_csa::plan::effect::apply_change(&mut live, change).unwrap();
            }
            let again = plan_of(&desired, &mut live);
            prop_assert!(again.changes.is_empty(), "not converged: {:?}", again.changes);
            let authoritative = case.entries.iter().flatten().any(|(_, authoritative)| *authoritative);
            for user in 0..USERS {
                let holds = live.principals.values().find(|principal| principal.object_id == user_id(user))
                    .and_then(|principal| principal.value("Eng", "Team").cloned());
                match given.get(&user) {
                    Some(values) => {
                        prop_assert_eq!(holds, Some(value(*values.iter().next().unwrap())));
                    }
                    None if authoritative => prop_assert_eq!(holds, None),
                    None => prop_assert_eq!(holds, case.held[user].map(value), "left alone"),
                }
            }
        }
    }
}

#[test]
fn under_undeclared_assignments_what_a_group_gives_is_neither_drift_nor_removed() {
    let report = workspace(&format!("policy:\n  undeclaredAssignments: report\n{NESTED}"));
    let (code, stdout, stderr) =
        cli(&report, &["apply", "-f", "files.yaml", "--state", "tenant.json", "--auto-approve"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let plan = plan_json(&report);
    assert_eq!(plan["changes"], json!([]));
    let drift: Vec<&str> =
        plan["drift"].as_array().unwrap().iter().map(|drift| drift["address"].as_str().unwrap()).collect();
    assert!(drift.contains(&"user:alice@contoso.com/Engineering.CostCenter"), "{drift:?}");
    assert!(drift.iter().all(|address| !address.ends_with("ProjectCode")), "{drift:?}");

    let remove = workspace(&format!("policy:\n  undeclaredAssignments: remove\n{NESTED}"));
    let (code, stdout, stderr) =
        cli(&remove, &["apply", "-f", "files.yaml", "--state", "tenant.json", "--auto-approve"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(remove.path().join("tenant.json")).unwrap()).unwrap();
    let alice = &state["users"][0]["customSecurityAttributes"]["Engineering"];
    assert_eq!(alice["ProjectCode"], "PAY", "{alice}");
    assert_eq!(alice.get("CostCenter"), None, "what no source gives is removed: {alice}");
    assert!(changes(&plan_json(&remove)).is_empty());
}

/// An export of a tenant the groups were applied to, with the group entries
/// beside it: the exported principals and the groups give equal values, so
/// the plan is empty.
#[test]
fn an_export_with_the_group_entries_beside_it_plans_empty() {
    let folder = tempfile::tempdir().unwrap();
    std::fs::copy(repo("examples/groups/groups-live.json"), folder.path().join("tenant.json")).unwrap();
    let files = repo("examples/groups").display().to_string();
    let (code, _, stderr) =
        cli(&folder, &["apply", "-f", &files, "--state", "tenant.json", "--auto-approve"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) =
        cli(&folder, &["export", "--assignments", "--state", "tenant.json", "-o", "exported/"]);
    assert_eq!(code, 0, "{stderr}");
    let example = std::fs::read_to_string(repo("examples/groups/groups.yaml")).unwrap();
    let groups = &example[example.find("assignments:").unwrap()..];
    std::fs::write(folder.path().join("exported/groups.yaml"), format!("version: 1\n{groups}")).unwrap();
    let (code, stdout, stderr) =
        cli(&folder, &["plan", "-f", "exported/", "--state", "tenant.json", "--detailed-exitcode"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
}

/// Reading members needs `GroupMember.Read.All` (or higher): the emulator
/// refuses a token without it as Graph does, and the plan says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_the_emulator_a_token_that_cannot_read_group_members_is_refused() {
    let folder = workspace(NESTED);
    let emulator = emulator(EmulatorConfig {
        seed_state: seed_of(&serde_json::from_value(contoso_with_groups()).unwrap()),
        ..Default::default()
    })
    .await;
    let files = folder.path().join("files.yaml").display().to_string();
    let args: Vec<String> = ["plan", "-f", &files, "--graph-url", &emulator.base_url()]
        .iter()
        .map(|arg| arg.to_string())
        .collect();
    let grants = ["CustomSecAttributeDefinition.ReadWrite.All", "CustomSecAttributeAssignment.ReadWrite.All"];
    let without = jwt(json!({ "tid": "t", "appid": "a", "roles": grants }));
    let (code, stdout, stderr) = run_cli(args.clone(), &without).await;
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stderr.contains("Authorization_RequestDenied") || stderr.contains("403"), "{stderr}");
    let mut with_groups = grants.to_vec();
    with_groups.push("GroupMember.Read.All");
    let with = jwt(json!({ "tid": "t", "appid": "a", "roles": with_groups }));
    let (code, stdout, stderr) = run_cli(args, &with).await;
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("(from group:Eng-Payments)"), "{stdout}");
    emulator.shutdown().await;
}

/// Display names that differ only in case beyond ASCII (`Ärzte`, `ärzte`)
/// are one name to `validate`, to the state file and to the Graph path: a
/// key naming them is ambiguous on both paths, and a key naming one group
/// in another case (`århus` for `ÅRHUS`) resolves on both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_that_differ_in_case_beyond_ascii_read_alike_in_a_state_file_and_through_graph() {
    const AERZTE_A: &str = "6a1f0c2e-0000-4000-8000-000000000011";
    const AERZTE_B: &str = "6a1f0c2e-0000-4000-8000-000000000012";
    const AARHUS: &str = "6a1f0c2e-0000-4000-8000-000000000013";
    let mut document = contoso_with_groups();
    let member = |id: &str| json!({ "@odata.type": "#microsoft.graph.user", "id": id });
    let groups = document["groups"].as_array_mut().unwrap();
    groups.push(json!({ "id": AERZTE_A, "displayName": "Ärzte", "members": [member(ALICE)] }));
    groups.push(json!({ "id": AERZTE_B, "displayName": "ärzte", "members": [member(BOB)] }));
    groups.push(json!({ "id": AARHUS, "displayName": "ÅRHUS", "members": [member(CAROL)] }));
    let folder = workspace(
        "assignments:\n  groups:\n    ärzte:\n      Engineering:\n        ProjectCode: MED\n    århus:\n      Engineering:\n        ProjectCode: AAR\n",
    );
    std::fs::write(folder.path().join("tenant.json"), serde_json::to_string_pretty(&document).unwrap())
        .unwrap();
    let state_file_plan = plan_json(&folder);
    let conflicts = |plan: &Value| -> Vec<String> {
        plan["conflicts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["message"].as_str().unwrap().to_owned())
            .collect()
    };
    let found = conflicts(&state_file_plan);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("2 groups have the display name `ärzte`"), "{found:?}");
    assert_eq!(
        changes(&state_file_plan),
        vec![change("assign", "user:carol@contoso.com/Engineering.ProjectCode", "group:århus")]
    );

    let emulator = emulator(EmulatorConfig {
        seed_state: seed_of(&serde_json::from_value(document).unwrap()),
        ..Default::default()
    })
    .await;
    let files = folder.path().join("files.yaml").display().to_string();
    let args = ["plan", "-f", &files, "--format", "json", "--graph-url", &emulator.base_url()];
    let (code, stdout, stderr) =
        run_cli(args.iter().map(|arg| arg.to_string()).collect(), "test-token").await;
    assert_eq!(code, 1, "conflicts: {stderr}");
    let graph_plan: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(changes(&graph_plan), changes(&state_file_plan));
    assert_eq!(conflicts(&graph_plan), found);
    emulator.shutdown().await;
}
