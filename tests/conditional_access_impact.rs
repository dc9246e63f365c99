//! Impact on Conditional Access, end to end: the emulator serves
//! the tenant of `tests/fixtures/plan/conditional-access-impact/live.json`
//! (three apps and the policies whose application filters read their
//! attributes), the plan moves values, and says which apps enter or leave
//! which policy's scope — through `-and`/`-or` rules and an exclude filter —
//! and that the impact of a rule it cannot read is unknown. The same case
//! against the state file is a golden plan (`tests/plan_goldens.rs`). A
//! saved plan goes stale when a policy it depends on changes, and only then.

use std::net::SocketAddr;

use entra_csa::emulator::document::StateDocument;
use entra_csa::emulator::{EmulatorConfig, RunningEmulator};
use entra_csa::plan::Plan;
use entra_csa::tenant::Tenant;
use serde_json::{Value, json};

use crate::graph_support::*;

const CASE: &str = "tests/fixtures/plan/conditional-access-impact";

fn case_seed() -> StateDocument {
    serde_json::from_str(&std::fs::read_to_string(repo(&format!("{CASE}/live.json"))).unwrap()).unwrap()
}

fn token(with_policy_read: bool) -> String {
    let mut roles =
        vec!["CustomSecAttributeDefinition.ReadWrite.All", "CustomSecAttributeAssignment.ReadWrite.All"];
    if with_policy_read {
        roles.push("Policy.Read.All");
    }
    jwt(json!({ "roles": roles }))
}

fn sentences(plan: &Plan) -> Vec<String> {
    plan.impact.iter().map(|impact| impact.sentence()).collect()
}

/// The lines the case's golden text plan shows, so the emulator and the
/// state file are held to one expectation.
fn golden_impact_lines() -> Vec<String> {
    std::fs::read_to_string(repo(&format!("{CASE}/plan.txt")))
        .unwrap()
        .lines()
        .filter_map(|line| line.strip_prefix("  > "))
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apps_entering_and_leaving_a_filters_scope_are_named_with_the_policy() {
    let emulator = emulator(EmulatorConfig { seed_state: case_seed(), ..Default::default() }).await;
    let tenant = tenant_with(&emulator, &token(true), fast_options());
    let plan = plan_of(&tenant, &desired(&format!("{CASE}/desired.yaml"))).await;
    let lines = sentences(&plan);
    for expected in [
        // -eq, include: Payroll moves Tier0 -> Tier1, the portal Tier1 -> Tier0.
        "app Contoso Payroll leaves the scope of `Block legacy auth (Tier0)` (enabled)",
        "app Contoso Legacy Portal enters the scope of `Block legacy auth (Tier0)` (enabled)",
        // The same rule as an exclude filter: the other way round.
        "app Contoso Payroll enters the scope of `Compliant device except Tier0` (enabled)",
        "app Contoso Legacy Portal leaves the scope of `Compliant device except Tier0` (enabled)",
        // -and: Tier1 and an owner starting with Fin.
        "app Contoso Payroll enters the scope of `MFA for finance apps` (report-only)",
        // -or, with -contains on a collection.
        "app Contoso Wiki enters the scope of `Require MFA by tag` (enabled)",
        "app Contoso Payroll leaves the scope of `Require MFA by tag` (enabled)",
    ] {
        assert!(lines.contains(&expected.to_owned()), "missing {expected:?} in {lines:#?}");
    }
    let unknown: Vec<&String> = lines.iter().filter(|line| line.starts_with("impact unknown: ")).collect();
    assert_eq!(unknown.len(), 2, "{lines:#?}");
    assert!(
        unknown.iter().all(|line| line.contains("`Legacy regex rule` (disabled): its rule cannot be read")
            && line.contains("`-match` is not an operator")),
        "{unknown:#?}"
    );
    // A rule that reads no custom security attribute says nothing.
    assert!(lines.iter().all(|line| !line.contains("Device filter only")), "{lines:#?}");
    assert_eq!(lines, golden_impact_lines(), "the emulator and the state file agree");
    assert!(plan.conflicts.is_empty(), "impact is information, never a conflict: {:?}", plan.conflicts);

    // Applied: the values now match, so planning again has no impact left.
    let report = tenant.apply(&plan.changes).await;
    assert!(report.succeeded(), "{report:#?}");
    let again = plan_of(&tenant, &desired(&format!("{CASE}/desired.yaml"))).await;
    assert!(again.changes.is_empty() && again.impact.is_empty(), "{:#?}", again.impact);
    emulator.shutdown().await;
}

#[test]
fn the_markdown_review_shows_the_impact_first() {
    let markdown = std::fs::read_to_string(repo(&format!("{CASE}/plan.md"))).unwrap();
    let impact = markdown.find("**Impact on Conditional Access (10)").expect("an impact callout");
    for later in ["**Plan: ", "### Changes (3)"] {
        assert!(impact < markdown.find(later).unwrap(), "the impact comes before {later}:\n{markdown}");
    }
    assert!(markdown.contains(
        "> - :grey_question: impact unknown: app **Contoso Payroll** against `Legacy regex rule` (disabled)"
    ));
}

/// The case's tenant plus an agent identity and a policy that targets agent
/// identities through the beta-only fields.
fn agent_seed() -> StateDocument {
    let mut seed = serde_json::to_value(case_seed()).unwrap();
    seed["servicePrincipals"].as_array_mut().unwrap().push(json!({
        "@odata.type": "#microsoft.graph.agentIdentity",
        "id": "b2b2b2b2-0000-4000-8000-000000000009",
        "appId": "a1a1a1a1-0000-4000-8000-000000000009",
        "displayName": "Travel Agent",
        "customSecurityAttributes": null
    }));
    seed["conditionalAccessPolicies"] = json!([{
        "id": "c3c3c3c3-0000-4000-8000-000000000009",
        "displayName": "Block untiered agents",
        "state": "enabled",
        "conditions": {
            "applications": { "includeApplications": ["All"] },
            "clientApplications": {
                // An exclude-mode filter takes agents out of what the policy
                // includes; it brings none in.
                "includeAgentIdServicePrincipals": ["All"],
                "agentIdServicePrincipalFilter": {
                    "mode": "exclude",
                    "rule": "CustomSecurityAttribute.Security_AppTier -in [\"Tier0\", \"Tier1\"]"
                }
            }
        },
        "grantControls": { "operator": "OR", "builtInControls": ["block"] }
    }]);
    serde_json::from_value(seed).unwrap()
}

/// The case's files, with the agent tiered `Tier1` and, when `deactivate`,
/// `Tier1` deactivated as well.
fn agent_desired(deactivate: bool) -> entra_csa::model::DesiredState {
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("desired.yaml");
    let mut text = std::fs::read_to_string(repo(&format!("{CASE}/desired.yaml"))).unwrap()
        + "    a1a1a1a1-0000-4000-8000-000000000009:     # Travel Agent, an agent identity\n      Security:\n        AppTier: Tier1\n";
    if deactivate {
        text = text.replace(
            "allowedValues: [Tier0, Tier1, Tier2]",
            "allowedValues:\n          - Tier0\n          - value: Tier1\n            active: false\n          - Tier2",
        );
    }
    std::fs::write(&file, text).unwrap();
    entra_csa::desired::load::load_files(&[file]).unwrap()
}

const AGENT_LEAVES: &str = "agent identity Travel Agent leaves the scope of `Block untiered agents` (enabled) (through its \
                            agentIdServicePrincipalFilter)";

/// The agent fields exist only in Graph beta: the emulator's v1.0 answer
/// lacks them, as a real tenant's does, and the plan still sees the policy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_targeted_policy_is_seen_on_a_tenant_whose_v1_answer_lacks_the_agent_fields() {
    let emulator = emulator(EmulatorConfig {
        seed_state: agent_seed(),
        limit_conditional_access_reads: true,
        ..Default::default()
    })
    .await;
    // Graph's pacing, which this emulator enforces.
    let options = entra_csa::graph::ClientOptions {
        conditional_access_interval: entra_csa::graph::policies::CONDITIONAL_ACCESS_INTERVAL,
        ..fast_options()
    };
    let tenant = tenant_with(&emulator, &token(true), options);
    let plan = plan_of(&tenant, &agent_desired(false)).await;
    // The agent leaves the block (its exclude filter now matches); the apps'
    // changes do not concern an agent-only filter.
    assert_eq!(sentences(&plan), [AGENT_LEAVES]);
    // Deactivating the value the agent filter names is refused.
    let plan = plan_of(&tenant, &agent_desired(true)).await;
    let conflict = plan
        .conflicts
        .iter()
        .find(|conflict| conflict.property == "references")
        .unwrap_or_else(|| panic!("no reference conflict: {:?}", plan.conflicts));
    assert_eq!(conflict.address.to_string(), "Security.AppTier=Tier1");
    assert!(conflict.message.contains("Block untiered agents"), "{}", conflict.message);
    // The JSON plan says the reference was read from Graph beta.
    let document = serde_json::to_value(entra_csa::render::json::document(&plan)).unwrap();
    let reference = &document["references"][0];
    assert_eq!(reference["address"], "Security.AppTier=Tier1", "{document}");
    assert_eq!(reference["reader"]["apiVersion"], "beta");
    assert_eq!(reference["reader"]["condition"], "agentIdServicePrincipalFilter");
    assert_eq!(reference["reader"]["kind"], "conditionalAccessPolicy");
    assert_eq!(reference["outcome"], "conflict");
    assert_eq!(reference["operator"], "-in");
    assert_eq!(reference["value"], "Tier1");
    // Each Conditional Access read came at least a second after the last:
    // the emulator refused none (Graph answers such a refusal with no
    // Retry-After).
    let reads: Vec<_> = emulator
        .requests()
        .into_iter()
        .filter(|request| request.path.ends_with("/identity/conditionalAccess/policies"))
        .collect();
    assert_eq!(reads.len(), 4, "v1.0 and beta, twice: {reads:?}");
    assert!(reads.iter().all(|request| request.status == 200), "{reads:?}");
    assert_eq!(reads.iter().filter(|request| request.path.starts_with("/beta/")).count(), 2);
    emulator.shutdown().await;
}

/// A tenant whose beta refuses: the v1.0 policies are still checked, and a
/// note says that agent-targeted ones were not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_beta_read_makes_a_note_that_agent_policies_were_not_checked() {
    let emulator =
        emulator(EmulatorConfig { seed_state: agent_seed(), refuse_beta: true, ..Default::default() }).await;
    let tenant = tenant_with(&emulator, &token(true), fast_options());
    let plan = plan_of(&tenant, &agent_desired(true)).await;
    assert!(sentences(&plan).is_empty(), "{:?}", sentences(&plan));
    assert!(plan.conflicts.iter().all(|conflict| conflict.property != "references"), "{:?}", plan.conflicts);
    let note = plan
        .notes
        .iter()
        .find(|note| {
            note.message.starts_with("Conditional Access policies that target agent identities not checked")
        })
        .unwrap_or_else(|| panic!("no note: {:?}", plan.notes));
    assert!(note.message.contains("403"), "{}", note.message);
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_policy_read_the_plan_says_impact_was_not_checked() {
    let emulator = emulator(EmulatorConfig { seed_state: case_seed(), ..Default::default() }).await;
    let tenant = tenant_with(&emulator, &token(false), fast_options());
    let plan = plan_of(&tenant, &desired(&format!("{CASE}/desired.yaml"))).await;
    assert!(plan.impact.is_empty(), "{:?}", plan.impact);
    assert!(
        plan.notes.iter().any(|note| note.message.starts_with("impact on Conditional Access not checked: ")
            && note.message.contains("Policy.Read.All")),
        "{:#?}",
        plan.notes
    );
    emulator.shutdown().await;
}

/// Starts an emulator at `address` (the one a saved plan names) with `state`.
async fn emulator_at(address: SocketAddr, state: StateDocument) -> RunningEmulator {
    emulator(EmulatorConfig { listen: address, seed_state: state, ..Default::default() }).await
}

fn with_rule(state: &StateDocument, policy: &str, rule: &str) -> StateDocument {
    let mut value = serde_json::to_value(state).unwrap();
    let policies = value["conditionalAccessPolicies"].as_array_mut().unwrap();
    let found = policies.iter_mut().find(|candidate| candidate["displayName"] == policy).unwrap();
    found["conditions"]["applications"]["applicationFilter"]["rule"] = Value::String(rule.to_owned());
    serde_json::from_value(value).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_plan_goes_stale_when_a_policy_it_reads_changes_and_only_then() {
    let first = emulator(EmulatorConfig { seed_state: case_seed(), ..Default::default() }).await;
    let token = token(true);
    let folder = tempfile::tempdir().unwrap();
    let saved = folder.path().join("plan.json");
    let args = |words: &[&str]| words.iter().map(|word| (*word).to_owned()).collect::<Vec<String>>();
    let (code, stdout, stderr) = run_cli(
        args(&[
            "plan",
            "-f",
            repo(&format!("{CASE}/desired.yaml")).to_str().unwrap(),
            "--graph-url",
            &first.base_url(),
            "--out",
            saved.to_str().unwrap(),
        ]),
        &token,
    )
    .await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("Impact on Conditional Access (10)"), "{stdout}");
    let document: Value = serde_json::from_str(&std::fs::read_to_string(&saved).unwrap()).unwrap();
    assert_eq!(document["formatVersion"], 2);
    assert_eq!(document["impact"].as_array().unwrap().len(), 10, "{document:#}");
    let address = first.address();
    let state = first.state();
    first.shutdown().await;
    let apply = args(&["apply", saved.to_str().unwrap(), "--auto-approve"]);

    // Someone narrows the policy the plan's impact reads: the plan is stale.
    let changed = with_rule(
        &state,
        "Block legacy auth (Tier0)",
        "CustomSecurityAttribute.Security_AppTier -eq \"Tier1\"",
    );
    let second = emulator_at(address, changed).await;
    let (code, stdout, stderr) = run_cli(apply.clone(), &token).await;
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stderr.contains("is stale: the tenant changed since it was made"), "{stdout}{stderr}");
    assert_eq!(second.stats().writes, 0, "nothing was written");
    second.shutdown().await;

    // A policy that reads no attribute of the files' sets changes: not stale.
    let unrelated = with_rule(&state, "Device filter only", "device.model -eq \"Surface Hub\"");
    let third = emulator_at(address, unrelated).await;
    let (code, stdout, stderr) = run_cli(apply, &token).await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("Apply complete: 3 changes done."), "{stdout}");
    third.shutdown().await;
}
