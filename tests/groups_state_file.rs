//! Groups in the client's state file: the optional `groups` part (the shape
//! the emulator serves) is read into the live state, kept as written through
//! an apply (properties this version does not use included), and the
//! client's own transitive expansion agrees with what the emulator's
//! `/groups/{id}/transitiveMembers` answers for the same document,
//! nesting and a cycle included, and so does the client's Graph read of
//! them (first pages batched across groups, further pages by nextLink).

use std::collections::BTreeSet;

use entra_csa::emulator::EmulatorConfig;
use serde_json::{Value, json};

use crate::graph_support::*;
use crate::launch::run;

const PAYMENTS: &str = "6a1f0c2e-0000-4000-8000-000000000001";
const PLATFORM: &str = "6a1f0c2e-0000-4000-8000-000000000002";
const TIER0: &str = "6a1f0c2e-0000-4000-8000-000000000003";

/// Contoso's state file with three groups: nested, with a cycle, and with a
/// member id the tenant does not hold.
fn contoso_with_groups() -> Value {
    let mut document: Value =
        serde_json::from_str(&std::fs::read_to_string(repo("examples/contoso-live.json")).unwrap()).unwrap();
    let id = |list: &str, index: usize| document[list][index]["id"].as_str().unwrap().to_owned();
    let (alice, bob, app) = (id("users", 0), id("users", 1), id("servicePrincipals", 0));
    let member = |odata_type: &str, id: &str| json!({ "@odata.type": format!("#microsoft.graph.{odata_type}"), "id": id });
    document["groups"] = json!([
        { "id": PAYMENTS, "displayName": "Eng-Payments", "members": [member("user", &alice), member("group", PLATFORM)] },
        { "id": PLATFORM, "displayName": "Eng-Platform",
          "members": [member("user", &bob), member("servicePrincipal", &app), member("group", PAYMENTS)] },
        { "id": TIER0, "displayName": "Tier0-Apps",
          "members": [member("servicePrincipal", &app), member("user", "00000000-0000-4000-8000-00000000dead")] }
    ]);
    document
}

#[test]
fn a_state_file_keeps_its_groups_as_written_through_an_apply() {
    let folder = tempfile::tempdir().unwrap();
    let state = folder.path().join("tenant.json");
    let mut document = contoso_with_groups();
    // What this version does not use is kept as written.
    document["groups"][0]["description"] = json!("Payments engineers");
    document["groups"][0]["members"][0]["displayName"] = json!("Alice");
    std::fs::write(&state, serde_json::to_string_pretty(&document).unwrap()).unwrap();

    let examples = repo("examples/contoso.yaml");
    let mut apply = crate::launch::entra_csa();
    apply.args(["apply", "-f"]).arg(&examples).arg("--state").arg(&state).arg("--auto-approve");
    let (code, stdout, stderr) = run(&mut apply);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let after: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_ne!(after["users"], document["users"], "the apply changed the tenant");
    assert_eq!(after["groups"], document["groups"]);

    let mut report = crate::launch::entra_csa();
    report.args(["report", "--state"]).arg(&state);
    let (code, _, stderr) = run(&mut report);
    assert_eq!(code, 0, "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clients_transitive_members_agree_with_the_emulators() {
    let document = contoso_with_groups();
    let tenant: entra_csa::graph::wire::TenantDocument = serde_json::from_value(document.clone()).unwrap();
    let live = tenant.into_live_state().unwrap();
    let emulator = emulator(EmulatorConfig {
        seed_state: seed_of(&serde_json::from_value(document).unwrap()),
        page_size: 2,
        ..Default::default()
    })
    .await;
    let client = reqwest::Client::new();
    for group in [PAYMENTS, PLATFORM, TIER0] {
        let mut served = BTreeSet::new();
        let mut next =
            Some(format!("{}/v1.0/groups/{group}/transitiveMembers?$select=id", emulator.base_url()));
        while let Some(url) = next.take() {
            let page: Value = client.get(&url).bearer_auth("t").send().await.unwrap().json().await.unwrap();
            for item in page["value"].as_array().unwrap() {
                served.insert(item["id"].as_str().unwrap().to_owned());
            }
            next = page["@odata.nextLink"].as_str().map(str::to_owned);
        }
        // The client keeps a member id the tenant does not hold (it is
        // reported when used); the emulator leaves it out of its answer.
        let expanded: BTreeSet<String> = live
            .transitive_members(group)
            .unwrap()
            .into_iter()
            .map(|member| member.id.clone())
            .filter(|id| id != "00000000-0000-4000-8000-00000000dead")
            .collect();
        assert_eq!(expanded, served, "group {group}");
        assert!(!served.contains(group), "a group is not its own member");
    }
    assert_eq!(live.transitive_members(PAYMENTS).unwrap().len(), 4);
    assert!(live.transitive_members("no-such-group").is_none());
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_reads_transitive_members_from_graph_in_pages_batched_across_groups() {
    let document = contoso_with_groups();
    let tenant_document: entra_csa::graph::wire::TenantDocument =
        serde_json::from_value(document.clone()).unwrap();
    let live = tenant_document.into_live_state().unwrap();
    let emulator = emulator(EmulatorConfig {
        seed_state: seed_of(&serde_json::from_value(document).unwrap()),
        page_size: 2,
        ..Default::default()
    })
    .await;
    let graph = tenant(&emulator);
    let missing = "6a1f0c2e-0000-4000-8000-0000000000ff".to_owned();
    let ids = vec![PAYMENTS.to_owned(), PLATFORM.to_owned(), TIER0.to_owned(), missing.clone()];
    let read = entra_csa::graph::membership::transitive_members(graph.client(), &ids).await.unwrap();
    assert!(!read.contains_key(&missing), "a group Graph does not know is left out");
    for group in [PAYMENTS, PLATFORM, TIER0] {
        let expected: Vec<(String, String)> = live
            .transitive_members(group)
            .unwrap()
            .into_iter()
            .filter(|member| member.id != "00000000-0000-4000-8000-00000000dead")
            .map(|member| (member.odata_type.clone(), member.id.clone()))
            .collect();
        let got: Vec<(String, String)> =
            read[group].iter().map(|member| (member.odata_type.clone(), member.id.clone())).collect();
        assert_eq!(got, expected, "group {group}");
    }
    // One $batch for the four first pages; one GET for each further page
    // (pages of 2 here: Eng-Payments and Eng-Platform reach 4 members each).
    let wire = emulator.requests().iter().filter(|request| request.batch_item.is_none()).count();
    assert_eq!(wire, 1 + 1 + 1, "{:#?}", emulator.requests());
    emulator.shutdown().await;
}
