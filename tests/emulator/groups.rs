//! Groups in the emulator: held in the state document as an optional part
//! (`groups`, each with its direct members as `$expand=members` shows them),
//! served read-only by `GET /groups`, `/groups/{id}`, `/groups/{id}/members`
//! and `/groups/{id}/transitiveMembers`, paged like any collection. Nested
//! groups are followed, a cycle in the seed ends, and each member is listed
//! once with its `@odata.type`.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::support::*;
use entra_csa::emulator::EmulatorConfig;
use entra_csa::emulator::document::StateDocument;

const PAYMENTS: &str = "6a1f0c2e-0000-4000-8000-000000000001";
const PLATFORM: &str = "6a1f0c2e-0000-4000-8000-000000000002";
const TIER0: &str = "6a1f0c2e-0000-4000-8000-000000000003";

/// Contoso with three groups: Eng-Payments holds a user and Eng-Platform;
/// Eng-Platform holds another user, a service principal and (a cycle)
/// Eng-Payments again; Tier0-Apps holds a service principal and an id the
/// tenant does not hold.
fn contoso_with_groups() -> (StateDocument, [String; 3]) {
    let mut document = contoso_with_assignments();
    let (alice, bob) = (document.users[0].id.clone(), document.users[1].id.clone());
    let app = document.service_principals[0].id.clone();
    let member = |odata_type: &str, id: &str| json!({ "@odata.type": format!("#microsoft.graph.{odata_type}"), "id": id });
    let groups = json!([
        { "id": PAYMENTS, "displayName": "Eng-Payments", "members": [member("user", &alice), member("group", PLATFORM)] },
        { "id": PLATFORM, "displayName": "Eng-Platform",
          "members": [member("user", &bob), member("servicePrincipal", &app), member("group", PAYMENTS), member("user", &alice)] },
        { "id": TIER0, "displayName": "Tier0-Apps",
          "members": [member("servicePrincipal", &app), member("user", "00000000-0000-4000-8000-00000000dead")] }
    ]);
    document.groups = Some(serde_json::from_value(groups).unwrap());
    (document, [alice, bob, app])
}

/// Every page of a collection, following `@odata.nextLink`.
async fn all_pages(h: &Harness, path: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut next = Some(path.to_owned());
    let mut pages = 0;
    while let Some(path) = next.take() {
        let reply = h.get(&path).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        items.extend(reply.body["value"].as_array().unwrap().iter().cloned());
        next = reply.body["@odata.nextLink"].as_str().map(str::to_owned);
        pages += 1;
        assert!(pages < 100, "a paging loop");
    }
    items
}

fn ids_and_types(items: &[Value]) -> BTreeSet<(String, String)> {
    items
        .iter()
        .map(|item| {
            (item["id"].as_str().unwrap().to_owned(), item["@odata.type"].as_str().unwrap().to_owned())
        })
        .collect()
}

#[tokio::test]
async fn transitive_members_follow_nested_groups_end_on_a_cycle_and_page() {
    let (seed, [alice, bob, app]) = contoso_with_groups();
    let h = harness(EmulatorConfig { seed_state: seed, page_size: 2, ..EmulatorConfig::default() }).await;

    let transitive = all_pages(&h, &format!("groups/{PAYMENTS}/transitiveMembers")).await;
    assert_eq!(transitive.len(), 4, "each member once: {transitive:#?}");
    let expected: BTreeSet<(String, String)> = [
        (alice.clone(), "#microsoft.graph.user".to_owned()),
        (PLATFORM.to_owned(), "#microsoft.graph.group".to_owned()),
        (bob.clone(), "#microsoft.graph.user".to_owned()),
        (app.clone(), "#microsoft.graph.servicePrincipal".to_owned()),
    ]
    .into();
    assert_eq!(ids_and_types(&transitive), expected);
    // The defaults leave the values out, as Graph's do.
    assert!(transitive.iter().all(|member| member.get("customSecurityAttributes").is_none()));

    // Direct members only; an id the tenant does not hold is left out.
    let direct = all_pages(&h, &format!("groups/{TIER0}/members")).await;
    assert_eq!(
        ids_and_types(&direct),
        [(app.clone(), "#microsoft.graph.servicePrincipal".to_owned())].into()
    );

    // `$select` with the values, as a client reading assignments asks.
    let selected = all_pages(
        &h,
        &format!("groups/{PLATFORM}/transitiveMembers?$select=id,customSecurityAttributes&$top=1"),
    )
    .await;
    assert_eq!(selected.len(), 4, "Eng-Platform reaches Eng-Payments and, through it, Alice");
    assert!(!ids_and_types(&selected).contains(&(PLATFORM.to_owned(), "#microsoft.graph.group".to_owned())));
    let alice_values = selected.iter().find(|member| member["id"] == alice.as_str()).unwrap();
    assert_eq!(
        alice_values["customSecurityAttributes"]["Marketing"]["EmployeeId"], "GS46982",
        "{alice_values}"
    );

    let group = h.get(&format!("groups/{TIER0}?$select=displayName")).await;
    assert_eq!(group.body["displayName"], "Tier0-Apps");
    let groups = all_pages(&h, "groups").await;
    assert_eq!(groups.len(), 3);
    let missing = h.get("groups/6a1f0c2e-0000-4000-8000-0000000000ff/transitiveMembers").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let write = h.post(&format!("groups/{PAYMENTS}/members"), "{}").await;
    assert!(write.status.is_client_error(), "groups are read-only: {}", write.status);
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn groups_are_an_optional_part_of_the_state_document_kept_as_written() {
    let (seed, _) = contoso_with_groups();
    let h = seeded(seed.clone()).await;
    assert_eq!(h.emulator.state().groups, seed.groups);
    h.emulator.shutdown().await;

    let h = seeded(contoso()).await;
    let state = serde_json::to_value(h.emulator.state()).unwrap();
    assert!(state.get("groups").is_none(), "an older document is written back without groups");
    let listed = h.get("groups").await;
    assert_eq!(listed.body["value"], json!([]));
    h.emulator.shutdown().await;
}
