//! Coverage rules (`requirements`) end to end: the real binary against the
//! emulator over loopback and against a state file. An untagged agent
//! identity is a coverage finding (`plan --detailed-exitcode` exits 2), a
//! rule with `onFailure: conflict` refuses the plan, `report --coverage`
//! lists who breaks each rule, and a rule about agents reads no more than
//! the service principals' sweep. Property tests hold the plan's judgement
//! to "apply the plan, then look at the tenant".

use proptest::prelude::*;
use serde_json::Value;

use entra_csa::emulator::EmulatorConfig;
use entra_csa::emulator::document::{GroupShape, MemberShape, StateDocument};
use entra_csa::model::live::LiveState;
use entra_csa::model::requirement::{OnFailure, Population, Requirement};
use entra_csa::model::{AttributeValue, DesiredState, PrincipalAssignments, PrincipalKey, SetValues};
use entra_csa::plan::{self, Target};

use crate::graph_support::*;

const FILES: &str = "examples/agents/requirements.yaml";
const EXPENSE_AGENT: &str = "e7c9a1b3-5d2f-4a6e-8c0b-4f6a8c0e2b55";
const EXPENSE_AGENT_ID: &str = "8e2b4d6f-1a3c-4e5f-9b7d-3c5e7a9b1d22";
const TRAVEL_AGENT: &str = "a9e1c0d2-7b3f-4c1e-9a5d-0f2b8c6e4a11";

fn agents_seed() -> StateDocument {
    let text = std::fs::read_to_string(repo("examples/agents/agents-live.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

async fn cli(emulator: &entra_csa::emulator::RunningEmulator, args: &[&str]) -> (i32, String, String) {
    let mut args: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
    args.extend(["--graph-url".to_owned(), emulator.base_url()]);
    run_cli(args, "coverage-token").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untagged_agent_identity_is_a_finding_in_every_format_and_in_the_report() {
    let emulator = emulator(EmulatorConfig { seed_state: agents_seed(), ..Default::default() }).await;
    let files = repo(FILES).display().to_string();

    let (code, stdout, stderr) = cli(&emulator, &["plan", "-f", &files, "--detailed-exitcode"]).await;
    assert_eq!(code, 2, "a coverage finding exits 2:\n{stdout}{stderr}");
    assert!(stdout.contains("Coverage (1)"), "{stdout}");
    assert!(
        stdout
            .contains(&format!("servicePrincipal:{EXPENSE_AGENT}/AgentGovernance.RiskTier (Expense agent)"))
    );
    assert!(stdout.contains("1 coverage finding."), "{stdout}");
    // Without the flag the finding is shown and the exit stays 0.
    let (code, _, _) = cli(&emulator, &["plan", "-f", &files]).await;
    assert_eq!(code, 0);

    let (code, stdout, _) = cli(&emulator, &["plan", "-f", &files, "--format", "json"]).await;
    assert_eq!(code, 0);
    let plan: Value = serde_json::from_str(&stdout).unwrap();
    let coverage = plan["coverage"].as_array().unwrap();
    assert_eq!(coverage.len(), 1, "{stdout}");
    assert_eq!(coverage[0]["address"], format!("servicePrincipal:{EXPENSE_AGENT}/AgentGovernance.RiskTier"));
    assert_eq!(coverage[0]["requirement"], "every agent carries a risk tier");
    assert_eq!(coverage[0]["value"], Value::Null);
    assert_eq!(coverage[0]["outcome"], "finding");

    let (code, stdout, _) = cli(&emulator, &["plan", "-f", &files, "--format", "markdown"]).await;
    assert_eq!(code, 0);
    assert!(
        stdout.contains(&format!(
            "`servicePrincipal:{EXPENSE_AGENT}/AgentGovernance.RiskTier` (Expense agent)"
        ))
    );

    // The report judges the tenant as it is: the travel agent, which the
    // plan would tag, is listed too.
    let (code, stdout, stderr) = cli(&emulator, &["report", "--coverage", "-f", &files]).await;
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines[0],
        "requirement,principals,mustHold,total,meeting,breaking,principal,displayName,value,problem"
    );
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(
        lines.iter().any(|line| line.contains(&format!("servicePrincipal:{EXPENSE_AGENT},Expense agent,")))
    );
    assert!(
        lines.iter().any(|line| line.contains(&format!("servicePrincipal:{TRAVEL_AGENT},Travel agent,")))
    );
    assert!(
        lines[1]
            .starts_with("every agent carries a risk tier,agentIdentities,AgentGovernance.RiskTier,3,1,2,")
    );

    let (code, stdout, _) = cli(&emulator, &["report", "--coverage", "-f", &files, "--format", "json"]).await;
    assert_eq!(code, 0);
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let requirement = &report["requirements"][0];
    assert_eq!((requirement["total"].as_u64(), requirement["meeting"].as_u64()), (Some(3), Some(1)));
    assert_eq!(requirement["breaking"].as_array().unwrap().len(), 2);

    // Once applied, the travel agent is tagged; the expense agent is still a finding.
    let (code, stdout, stderr) = cli(&emulator, &["apply", "-f", &files, "--auto-approve"]).await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    let (code, stdout, _) = cli(&emulator, &["plan", "-f", &files, "--detailed-exitcode"]).await;
    assert_eq!(code, 2, "no changes, one finding: {stdout}");
    assert!(stdout.contains(entra_csa::render::coverage::NO_CHANGES_BUT_COVERAGE), "{stdout}");
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_about_agents_sweeps_the_service_principals_only() {
    let emulator = emulator(EmulatorConfig { seed_state: agents_seed(), ..Default::default() }).await;
    let files = repo(FILES).display().to_string();
    let (code, stdout, stderr) = cli(&emulator, &["plan", "-f", &files]).await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    let collection = |name: &str| {
        emulator
            .requests()
            .into_iter()
            .filter(|request| request.method == "GET" && request.path.ends_with(&format!("/v1.0/{name}")))
            .count()
    };
    assert!(collection("servicePrincipals") >= 1, "the service principals are swept");
    assert_eq!(collection("users"), 0, "no user is read: the rule is about agent identities");
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_rule_judges_its_transitive_members_and_a_strict_rule_refuses_the_plan() {
    let mut seed = agents_seed();
    seed.groups = Some(vec![
        GroupShape {
            id: "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d".into(),
            display_name: Some("Agent-Pilots".into()),
            members: vec![
                MemberShape {
                    odata_type: "#microsoft.graph.group".into(),
                    id: "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e".into(),
                },
                MemberShape {
                    odata_type: "#microsoft.graph.device".into(),
                    id: "2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f".into(),
                },
            ],
        },
        GroupShape {
            id: "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e".into(),
            display_name: Some("Nested pilots".into()),
            members: vec![MemberShape {
                odata_type: "#microsoft.graph.agentIdentity".into(),
                id: EXPENSE_AGENT_ID.into(),
            }],
        },
    ]);
    let emulator = emulator(EmulatorConfig { seed_state: seed, ..Default::default() }).await;
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("pilots.yaml");
    let text = std::fs::read_to_string(repo(FILES)).unwrap().replace(
        "    principals: agentIdentities\n",
        "    principals: {group: Agent-Pilots}\n    onFailure: conflict\n",
    );
    std::fs::write(&file, text).unwrap();
    let file = file.display().to_string();
    let (code, stdout, stderr) = cli(&emulator, &["plan", "-f", &file, "--format", "json"]).await;
    assert_eq!(code, 1, "a strict rule broken is a conflict:\n{stdout}{stderr}");
    let plan: Value = serde_json::from_str(&stdout).unwrap();
    let conflicts: Vec<&str> = plan["conflicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|conflict| conflict["address"].as_str().unwrap())
        .collect();
    assert_eq!(conflicts, [format!("servicePrincipal:{EXPENSE_AGENT}/AgentGovernance.RiskTier")]);
    assert_eq!(plan["coverage"][0]["outcome"], "conflict");
    let (code, _, stderr) = cli(&emulator, &["apply", "-f", &file, "--auto-approve"]).await;
    assert_eq!(code, 1, "apply refuses: {stderr}");

    // A group that does not exist cannot be judged: a conflict naming it.
    let missing = std::fs::read_to_string(&file).unwrap().replace("Agent-Pilots", "Agent-Pilot");
    std::fs::write(&file, missing).unwrap();
    let (code, stdout, _) = cli(&emulator, &["plan", "-f", &file]).await;
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("group:Agent-Pilot/AgentGovernance.RiskTier"), "{stdout}");
    assert!(stdout.contains("no group `Agent-Pilot` was found"), "{stdout}");
    emulator.shutdown().await;
}

#[test]
fn a_saved_plan_with_requirements_applies_as_planned() {
    let folder = tempfile::tempdir().unwrap();
    let state = folder.path().join("tenant.json");
    std::fs::copy(repo("examples/agents/agents-live.json"), &state).unwrap();
    let saved = folder.path().join("plan.json");
    let output = entra_csa()
        .args(["plan", "-f"])
        .arg(repo(FILES))
        .arg("--state")
        .arg(&state)
        .arg("--out")
        .arg(&saved)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let document: Value = serde_json::from_str(&std::fs::read_to_string(&saved).unwrap()).unwrap();
    assert_eq!(document["desiredState"]["requirements"][0]["principals"], "agentIdentities");
    let output = entra_csa().arg("apply").arg(&saved).arg("--auto-approve").output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let output = entra_csa().arg("show").arg(&saved).output().unwrap();
    assert!(String::from_utf8_lossy(&output.stdout).contains("Coverage (1)"));
}

// ───────────────────────────── properties ─────────────────────────────

const TIERS: [&str; 3] = ["Low", "Medium", "High"];

/// A tenant of agents, apps, agent users and people, each holding a tier
/// or not, and files that list some of them with a tier (or with the set
/// and no tier, which unassigns it), under rules over every population.
fn tenant_and_files() -> impl Strategy<Value = (LiveState, DesiredState)> {
    let principal =
        (0usize..5, proptest::option::of(0usize..3), proptest::option::of(proptest::option::of(0usize..3)));
    (proptest::collection::vec(principal, 1..40), proptest::collection::vec(0usize..3, 1..4), any::<bool>())
        .prop_map(|(principals, one_of, conflict)| {
            let mut live: LiveState = entra_csa::tenant::state_file::parse(
                &std::fs::read_to_string(repo("examples/agents/agents-live.json")).unwrap(),
                "agents-live.json",
            )
            .unwrap();
            live.principals.clear();
            let mut desired = entra_csa::desired::load::load_files(&[repo(FILES)]).unwrap();
            desired.assignments.clear();
            for (index, (kind, held, listed)) in principals.into_iter().enumerate() {
                let (base, odata_type) = [
                    (
                        entra_csa::model::PrincipalKind::ServicePrincipal,
                        Some("#microsoft.graph.agentIdentity"),
                    ),
                    (
                        entra_csa::model::PrincipalKind::ServicePrincipal,
                        Some("#microsoft.graph.agentIdentityBlueprintPrincipal"),
                    ),
                    (entra_csa::model::PrincipalKind::ServicePrincipal, None),
                    (entra_csa::model::PrincipalKind::User, Some("#microsoft.graph.agentUser")),
                    (entra_csa::model::PrincipalKind::User, None),
                ][kind];
                let tier_values = |tier: usize| {
                    PrincipalAssignments::from_iter([(
                        "AgentGovernance".to_owned(),
                        SetValues::from_iter([(
                            "RiskTier".to_owned(),
                            AttributeValue::String(TIERS[tier].into()),
                        )]),
                    )])
                };
                let object_id = format!("00000000-0000-4000-8000-{index:012}");
                let principal = entra_csa::model::live::LivePrincipal {
                    kind: base,
                    object_id: object_id.clone(),
                    user_principal_name: (base == entra_csa::model::PrincipalKind::User)
                        .then(|| format!("p{index}@contoso.com")),
                    app_id: (base == entra_csa::model::PrincipalKind::ServicePrincipal)
                        .then(|| format!("10000000-0000-4000-8000-{index:012}")),
                    display_name: Some(format!("principal {index}")),
                    odata_type: odata_type.map(str::to_owned),
                    custom_security_attributes: held.map(tier_values),
                };
                if let Some(listed) = listed {
                    let key = match base {
                        entra_csa::model::PrincipalKind::User => {
                            PrincipalKey::User(format!("p{index}@contoso.com"))
                        }
                        entra_csa::model::PrincipalKind::ServicePrincipal => {
                            PrincipalKey::ServicePrincipal(format!("id:{object_id}"))
                        }
                    };
                    let values = match listed {
                        Some(tier) => tier_values(tier),
                        None => PrincipalAssignments::from_iter([(
                            "AgentGovernance".to_owned(),
                            SetValues::new(),
                        )]),
                    };
                    desired.assignments.insert(key, values);
                }
                live.principals.insert(principal.id(), principal);
            }
            let mut one_of: Vec<String> = one_of.into_iter().map(|tier| TIERS[tier].to_owned()).collect();
            one_of.sort();
            one_of.dedup();
            let populations = [
                Population::Users,
                Population::ServicePrincipals,
                Population::AgentIdentities,
                Population::AgentIdentityBlueprintPrincipals,
                Population::AgentUsers,
            ];
            desired.requirements = populations
                .into_iter()
                .enumerate()
                .map(|(index, principals)| Requirement {
                    name: format!("rule {index}"),
                    principals,
                    set: "AgentGovernance".into(),
                    attribute: "RiskTier".into(),
                    one_of: if index % 2 == 0 { one_of.clone() } else { Vec::new() },
                    on_failure: if conflict && index == 0 { OnFailure::Conflict } else { OnFailure::Report },
                })
                .collect();
            (live, desired)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// A finding is a principal that still breaks the rule once the plan is
    /// applied: judging the plan's end state equals applying the plan and
    /// judging the tenant as it then is. And every principal is counted
    /// once: meeting plus breaking is the population.
    #[test]
    fn the_plan_judges_the_tenant_as_an_apply_leaves_it((live, desired) in tenant_and_files()) {
        let target = Target::StateFile { path: "t.json".into() };
        let built = plan::build(&desired, &live, target);
        prop_assume!(built.conflicts.iter().all(|conflict| conflict.property == "requirement"));
        let mut applied = live.clone();
        for change in &built.changes {
            plan::effect::apply_change(&mut applied, change).unwrap();
        }
        let planned = plan::coverage::tally(&desired, &live, &built.changes);
        let after = plan::coverage::tally(&desired, &applied, &[]);
        for (planned, after) in planned.iter().zip(&after) {
            prop_assert_eq!(&planned.breaking, &after.breaking);
            prop_assert_eq!(planned.meeting + planned.breaking.len(), planned.principals);
            let population = live.principals.values().filter(|principal| planned.requirement.principals.includes(principal)).count();
            prop_assert_eq!(planned.principals, population);
        }
        let findings: usize = planned.iter().map(|tally| tally.breaking.len()).sum();
        prop_assert_eq!(built.coverage.len(), findings);
        let strict = built.coverage.iter().filter(|finding| finding.outcome == OnFailure::Conflict).count();
        prop_assert_eq!(built.conflicts.len(), strict);
        prop_assert_eq!(built.coverage_findings(), findings - strict);
    }
}

/// A group only a requirement names is read, but the plan's changes never
/// depend on its members: a saved plan is not made stale by them.
#[test]
fn a_requirement_group_is_not_part_of_what_a_saved_plan_depends_on() {
    use entra_csa::model::live::{Membership, PrincipalId};
    let live: LiveState = entra_csa::tenant::state_file::parse(
        &std::fs::read_to_string(repo("examples/agents/agents-live.json")).unwrap(),
        "agents-live.json",
    )
    .unwrap();
    let mut desired = entra_csa::desired::load::load_files(&[repo(FILES)]).unwrap();
    desired.requirements[0].principals = Population::Group("Agent-Pilots".into());
    let mut grouped = live.clone();
    grouped.memberships.insert(
        "Agent-Pilots".into(),
        Membership::Group {
            id: "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d".into(),
            display_name: Some("Agent-Pilots".into()),
            members: vec![PrincipalId {
                kind: entra_csa::model::PrincipalKind::ServicePrincipal,
                object_id: EXPENSE_AGENT_ID.into(),
            }],
            other_members: Vec::new(),
        },
    );
    assert_eq!(plan::fingerprint::live(&live, &desired), plan::fingerprint::live(&grouped, &desired));
    assert_eq!(plan::build(&desired, &grouped, Target::StateFile { path: "t".into() }).coverage.len(), 1);
}

// ───────────────────────────── realistic sizes ─────────────────────────────

/// 2,500 service principals of which 500 are agent identities, 200 of them
/// untagged: the read is the service principals' sweep — one page per 999
/// (`$top=999`), none of the users — and every untagged agent is a finding.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_of_thousands_costs_one_sweep_page_per_999_service_principals() {
    use entra_csa::emulator::document::PrincipalShape;
    let mut seed = agents_seed();
    seed.service_principals.clear();
    for index in 0..2_500usize {
        let agent = index % 5 == 0;
        let tagged = agent && (index / 5) % 5 >= 2;
        seed.service_principals.push(PrincipalShape {
            odata_type: agent.then(|| "#microsoft.graph.agentIdentity".to_owned()),
            id: format!("00000000-0000-4000-8000-{index:012}"),
            user_principal_name: None,
            app_id: Some(format!("10000000-0000-4000-8000-{index:012}")),
            display_name: Some(format!("principal {index}")),
            custom_security_attributes: tagged.then(|| {
                let value = serde_json::json!({"AgentGovernance": {
                    "@odata.type": "#microsoft.graph.customSecurityAttributeValue",
                    "RiskTier": "Low"
                }});
                value.as_object().unwrap().clone()
            }),
        });
    }
    let emulator = emulator(EmulatorConfig { seed_state: seed, ..Default::default() }).await;
    let mut desired = desired(FILES);
    desired.assignments.clear();
    let options = entra_csa::graph::ClientOptions { sweep_partitions: Some(1), ..fast_options() };
    let tenant = tenant_with(&emulator, "coverage-token", options);
    let plan = plan_of(&tenant, &desired).await;
    assert_eq!(plan.coverage.len(), 200, "the untagged agents");
    assert_eq!(plan.coverage_findings(), 200);
    let reads: Vec<(String, String)> = emulator
        .requests()
        .into_iter()
        .filter(|request| request.method == "GET" && request.path.contains("/servicePrincipals"))
        .map(|request| (request.path, request.query.unwrap_or_default()))
        .collect();
    let pages = reads.iter().filter(|(_, query)| query.contains("$top=999")).count();
    assert_eq!(pages, 3, "2,500 service principals are three pages of 999: {reads:#?}");
    // Besides the pages, at most the population count (`$count`) that sizes the sweep.
    assert!(reads.len() <= pages + 1, "{reads:#?}");
    assert!(reads.iter().all(|(path, _)| !path.contains("agentIdentity")), "no cast is read: {reads:#?}");
    assert!(!emulator.requests().iter().any(|request| request.path.ends_with("/users")), "no user is read");
    emulator.shutdown().await;
}

/// The pure judgement at a large tenant's size: 200,000 principals, a
/// quarter of them agents, a fifth of those untagged.
#[test]
fn two_hundred_thousand_principals_are_judged_exactly() {
    let mut live = LiveState { principals_complete: true, ..LiveState::default() };
    let mut untagged = 0;
    for index in 0..200_000usize {
        let agent = index % 4 == 0;
        let tagged = !agent || index % 20 != 0;
        untagged += usize::from(agent && !tagged);
        let principal = entra_csa::model::live::LivePrincipal {
            kind: entra_csa::model::PrincipalKind::ServicePrincipal,
            object_id: format!("{index:08}"),
            user_principal_name: None,
            app_id: Some(format!("app-{index}")),
            display_name: None,
            odata_type: agent.then(|| "#microsoft.graph.agentIdentity".to_owned()),
            custom_security_attributes: tagged.then(|| {
                PrincipalAssignments::from_iter([(
                    "AgentGovernance".to_owned(),
                    SetValues::from_iter([("RiskTier".to_owned(), AttributeValue::String("High".into()))]),
                )])
            }),
        };
        live.principals.insert(principal.id(), principal);
    }
    let mut desired = entra_csa::desired::load::load_files(&[repo(FILES)]).unwrap();
    desired.assignments.clear();
    let tallies = plan::coverage::tally(&desired, &live, &[]);
    assert_eq!(tallies[0].principals, 50_000);
    assert_eq!(tallies[0].breaking.len(), untagged);
    assert_eq!(tallies[0].meeting, 50_000 - untagged);
}

// ───────────────────────────── validation, generated ─────────────────────────────

/// The attributes the generated rules require, with their type and whether
/// only their allowed values (`A`, `B`) may be assigned.
const RULE_ATTRIBUTES: [(&str, &str, bool); 4] = [
    ("Tier", "String", true),
    ("Note", "String", false),
    ("Cost", "Integer", false),
    ("OnCall", "Boolean", false),
];

/// A value of `oneOf` as YAML, and what it is.
#[derive(Debug, Clone)]
enum Written {
    Text(&'static str),
    Number(i64),
    Flag(bool),
}

fn written() -> impl Strategy<Value = Written> {
    prop_oneof![
        prop::sample::select(vec!["A", "B", "C", "true", "7"]).prop_map(Written::Text),
        prop::sample::select(vec![7i64, -1, 5_000_000_000]).prop_map(Written::Number),
        any::<bool>().prop_map(Written::Flag),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// A rule's values are accepted exactly when each has the attribute's
    /// type (a 32-bit integer for Integer) and, for a predefined-only
    /// attribute, is an allowed value, and no value is listed twice; every
    /// refusal points into the rule, and an accepted rule keeps its values.
    #[test]
    fn a_rules_values_are_checked_against_its_attribute(
        attribute in 0usize..4,
        values in proptest::collection::vec(written(), 1..5),
    ) {
        let (name, data_type, predefined) = RULE_ATTRIBUTES[attribute];
        let mut text = String::from("version: 1\nattributeSets:\n  Eng:\n    attributes:\n");
        for (name, data_type, predefined) in RULE_ATTRIBUTES {
            text.push_str(&format!("      {name}:\n        type: {data_type}\n"));
            if predefined {
                text.push_str("        usePreDefinedValuesOnly: true\n        allowedValues: [A, B]\n");
            }
        }
        let yaml: Vec<String> = values
            .iter()
            .map(|value| match value {
                Written::Text(text) => format!("\"{text}\""),
                Written::Number(number) => number.to_string(),
                Written::Flag(flag) => flag.to_string(),
            })
            .collect();
        text.push_str(&format!(
            "requirements:\n  - name: rule\n    principals: users\n    mustHold: Eng.{name}\n    oneOf: [{}]\n",
            yaml.join(", ")
        ));
        let fits = |value: &Written| match (value, data_type) {
            (Written::Text(text), "String") => !predefined || ["A", "B"].contains(text),
            (Written::Number(number), "Integer") => i32::try_from(*number).is_ok(),
            (Written::Flag(_), "Boolean") => true,
            _ => false,
        };
        let texts: Vec<String> = values
            .iter()
            .map(|value| match value {
                Written::Text(text) => (*text).to_owned(),
                Written::Number(number) => number.to_string(),
                Written::Flag(flag) => flag.to_string(),
            })
            .collect();
        let unique = texts.iter().collect::<std::collections::BTreeSet<_>>().len() == texts.len();
        let valid = values.iter().all(fits) && unique;
        let loaded = entra_csa::desired::load::load_texts(&[("a.yaml".to_owned(), text)]);
        match loaded {
            Ok(desired) => {
                prop_assert!(valid, "accepted {values:?} for {data_type}");
                prop_assert_eq!(&desired.requirements[0].one_of, &texts);
            }
            Err(diagnostics) => {
                prop_assert!(!valid, "refused {values:?} for {data_type}: {diagnostics}");
                for diagnostic in diagnostics.iter() {
                    prop_assert!(diagnostic.path.starts_with("requirements[0].oneOf["), "{diagnostic}");
                    prop_assert_eq!(diagnostic.place.line, 19, "{}", diagnostic);
                }
            }
        }
    }
}

/// Display names come from the tenant, which anyone with a portal role can
/// write: in the Markdown plan they cannot inject HTML or break the list.
#[test]
fn a_hostile_display_name_reaches_the_markdown_escaped() {
    let mut live: LiveState = entra_csa::tenant::state_file::parse(
        &std::fs::read_to_string(repo("examples/agents/agents-live.json")).unwrap(),
        "agents-live.json",
    )
    .unwrap();
    for principal in live.principals.values_mut() {
        principal.display_name = Some("<img src=x onerror=alert(1)> | **bold**\n- injected".into());
    }
    let desired = entra_csa::desired::load::load_files(&[repo(FILES)]).unwrap();
    let built = plan::build(&desired, &live, Target::StateFile { path: "t".into() });
    assert_eq!(built.coverage.len(), 1);
    let markdown = entra_csa::render::markdown::render_to_string(&built, 60_000);
    let section = &markdown[markdown.find("Coverage (1)").unwrap()..];
    assert!(!section.contains("<img"), "{section}");
    assert!(!section.contains("\n- injected"), "{section}");
    assert!(!section.contains(" **bold**"), "{section}");
}

/// On a state file: a group rule over what the same files assign by group
/// is met once the plan is applied (alice and bob get `Access.Team` from
/// `Eng-Payments`), while the report, which looks at the tenant now, lists
/// them; a rule over every user lists those no group reaches; a misspelt
/// group is a conflict with the nearest name.
#[test]
fn group_rules_on_a_state_file_judge_the_plans_end_and_the_report_judges_now() {
    let folder = tempfile::tempdir().unwrap();
    let state = folder.path().join("tenant.json");
    std::fs::copy(repo("examples/groups/groups-live.json"), &state).unwrap();
    let file = folder.path().join("groups.yaml");
    let rules = "requirements:\n  - name: payments has a team\n    principals: {group: Eng-Payments}\n    mustHold: Access.Team\n    oneOf: [Payments]\n  - name: everyone has a team\n    principals: users\n    mustHold: Access.Team\n";
    let text = std::fs::read_to_string(repo("examples/groups/groups.yaml")).unwrap() + rules;
    std::fs::write(&file, &text).unwrap();
    let run = |args: &[&str]| {
        let output = entra_csa().args(args).arg("-f").arg(&file).arg("--state").arg(&state).output().unwrap();
        (output.status.code().unwrap(), String::from_utf8_lossy(&output.stdout).into_owned())
    };
    let (code, stdout) = run(&["plan", "--format", "json"]);
    assert_eq!(code, 0, "{stdout}");
    let plan: Value = serde_json::from_str(&stdout).unwrap();
    let breaking: Vec<(&str, &str)> = plan["coverage"]
        .as_array()
        .unwrap()
        .iter()
        .map(|finding| (finding["requirement"].as_str().unwrap(), finding["address"].as_str().unwrap()))
        .collect();
    assert!(breaking.iter().all(|(rule, _)| *rule == "everyone has a team"), "{breaking:?}");
    for user in ["carol", "dave", "erin"] {
        let address = format!("user:{user}@contoso.com/Access.Team");
        assert!(breaking.iter().any(|(_, found)| *found == address), "{user}: {breaking:?}");
    }
    assert!(
        !breaking.iter().any(|(_, found)| found.starts_with("user:alice@") || found.starts_with("user:bob@"))
    );

    let (code, stdout) = run(&["report", "--coverage"]);
    assert_eq!(code, 0, "{stdout}");
    let payments: Vec<&str> =
        stdout.lines().filter(|line| line.starts_with("payments has a team,")).collect();
    assert_eq!(payments.len(), 2, "{stdout}");
    assert!(payments.iter().all(|line| line.contains("group:Eng-Payments,Access.Team,2,0,2,")), "{stdout}");

    std::fs::write(&file, text.replace("{group: Eng-Payments}", "{group: Eng-Payment}")).unwrap();
    let (code, stdout) = run(&["plan"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("group:Eng-Payment/Access.Team"), "{stdout}");
    assert!(stdout.contains("did you mean `Eng-Payments`?"), "{stdout}");
}

/// Values another writer owns (`valuesOwnedBy`) count: the plan never
/// writes them, yet an agent that writer tagged meets the rule.
#[test]
fn values_another_writer_owns_meet_a_rule() {
    let live: LiveState = entra_csa::tenant::state_file::parse(
        &std::fs::read_to_string(repo("examples/agents/agents-live.json")).unwrap(),
        "agents-live.json",
    )
    .unwrap();
    let text = std::fs::read_to_string(repo(FILES)).unwrap();
    let (head, rest) = text.split_once("assignments:").unwrap();
    let rules = &rest[rest.find("requirements:").unwrap()..];
    let owned = head.replace(
        "        allowedValues: [Low, Medium, High]\n",
        "        allowedValues: [Low, Medium, High]\n        valuesOwnedBy: the agent registry's feed\n",
    );
    let desired =
        entra_csa::desired::load::load_texts(&[("owned.yaml".to_owned(), format!("{owned}{rules}"))])
            .unwrap_or_else(|diagnostics| panic!("{diagnostics}"));
    assert!(desired.values_owner("AgentGovernance", "RiskTier").is_some());
    let built = plan::build(&desired, &live, Target::StateFile { path: "t".into() });
    assert!(built.changes.is_empty(), "the plan writes none of the owned values");
    let tallies = plan::coverage::tally(&desired, &live, &built.changes);
    assert_eq!((tallies[0].principals, tallies[0].meeting), (3, 1), "the helpdesk agent's owned Low counts");
    let breaking: Vec<String> = built.coverage.iter().map(|finding| finding.address.to_string()).collect();
    assert_eq!(
        breaking,
        [
            format!("servicePrincipal:{TRAVEL_AGENT}/AgentGovernance.RiskTier"),
            format!("servicePrincipal:{EXPENSE_AGENT}/AgentGovernance.RiskTier"),
        ]
    );
}

/// Values hidden from a token without the read permission would make every
/// agent look untagged: with files that list nobody, the requirement's
/// population is what the read checks, and the plan stops naming the
/// permission rather than reporting every agent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hidden_values_are_an_error_not_a_finding_for_every_agent() {
    use entra_csa::tenant::Tenant;
    let emulator = emulator(EmulatorConfig { seed_state: agents_seed(), ..Default::default() }).await;
    let mut desired = desired(FILES);
    desired.assignments.clear();
    let scope = entra_csa::tenant::ReadScope::for_desired(&desired);
    let token = jwt(serde_json::json!({
        "roles": ["CustomSecAttributeDefinition.Read.All", "Application.Read.All"]
    }));
    let error = tenant_with(&emulator, &token, fast_options()).read(&scope).await.unwrap_err().to_string();
    assert!(error.contains("CustomSecAttributeAssignment.Read.All"), "{error}");
    let token = jwt(serde_json::json!({
        "roles": ["CustomSecAttributeDefinition.Read.All", "CustomSecAttributeAssignment.Read.All", "Application.Read.All"]
    }));
    let live = tenant_with(&emulator, &token, fast_options()).read(&scope).await.unwrap();
    let built = plan::build(&desired, &live, Target::StateFile { path: "t".into() });
    assert_eq!(built.coverage.len(), 2, "the travel and expense agents");
    emulator.shutdown().await;
}

/// The JSON Schema takes `requirements` as `validate` does, structurally:
/// a keyword or `{group: …}` for the population, `report` or `conflict`,
/// the three required keys, no others, and a non-empty `oneOf`.
#[test]
fn the_schema_takes_requirements_as_validate_does() {
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(repo("schema/entra-csa.schema.json")).unwrap())
            .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let rule = |body: &str| format!("version: 1\nrequirements:\n  - name: r\n{body}");
    let good = [
        "    principals: agentIdentities\n    mustHold: Gov.Tier\n",
        "    principals: {group: Eng-Agents}\n    mustHold: Gov.Tier\n    oneOf: [Low, 1, true]\n",
        "    principals: users\n    mustHold: Gov.Tier\n    onFailure: conflict\n",
    ];
    let bad = [
        "    principals: agents\n    mustHold: Gov.Tier\n",
        "    principals: {group: ''}\n    mustHold: Gov.Tier\n",
        "    principals: {groups: Eng}\n    mustHold: Gov.Tier\n",
        "    principals: users\n    mustHold: GovTier\n",
        "    principals: users\n",
        "    principals: users\n    mustHold: Gov.Tier\n    onFailure: block\n",
        "    principals: users\n    mustHold: Gov.Tier\n    oneOf: []\n",
        "    principals: users\n    mustHold: Gov.Tier\n    mustHave: Gov.Tier\n",
    ];
    for body in good {
        let document: Value = serde_saphyr::from_str(&rule(body)).unwrap();
        let errors: Vec<String> = validator.iter_errors(&document).map(|error| error.to_string()).collect();
        assert!(errors.is_empty(), "{body}: {errors:#?}");
    }
    for body in bad {
        let document: Value = serde_saphyr::from_str(&rule(body)).unwrap();
        assert!(!validator.is_valid(&document), "the schema accepts {body:?}");
    }
}
