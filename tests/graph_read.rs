//! Reading through Graph against the emulator: every page of sets and
//! definitions (tiny pages), declared principals in batches of 20 or a sweep,
//! whichever costs fewer requests; unknown principals; the all-null warning.

use entra_csa::emulator::EmulatorConfig;
use entra_csa::emulator::document::{PrincipalShape, StateDocument};
use entra_csa::model::PrincipalKey;
use entra_csa::tenant::{ReadScope, Tenant};

use crate::graph_support::*;

fn graph_requests(
    emulator: &entra_csa::emulator::RunningEmulator,
) -> Vec<entra_csa::emulator::RecordedRequest> {
    emulator.requests().into_iter().filter(|request| request.path.starts_with("/v1.0")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiny_pages_are_all_followed() {
    let seed = contoso_seed();
    let emulator =
        emulator(EmulatorConfig { seed_state: seed.clone(), page_size: 1, ..Default::default() }).await;
    let live = tenant(&emulator).read(&ReadScope::default()).await.unwrap();
    let expected = live_of(&seed);
    assert_eq!(live.attribute_sets, expected.attribute_sets);
    assert_eq!(live.definitions, expected.definitions);
    let pages = graph_requests(&emulator)
        .iter()
        .filter(|request| request.query.as_deref().is_some_and(|query| query.contains("skiptoken")))
        .count();
    assert!(pages >= expected.attribute_sets.len() + expected.definitions.len() - 2, "{pages}");
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declared_principals_are_read_in_batches_and_match_the_seed() {
    let seed = contoso_seed();
    let emulator = emulator(EmulatorConfig { seed_state: seed.clone(), ..Default::default() }).await;
    let desired = desired("examples/contoso.yaml");
    let scope = ReadScope::for_desired(&desired);
    let live = tenant(&emulator).read(&scope).await.unwrap();
    let expected = live_of(&seed);
    for key in &scope.principals {
        assert_eq!(live.principal(key), expected.principal(key), "{key}");
    }
    assert!(!live.principals_complete);
    let requests = graph_requests(&emulator);
    let batches = requests.iter().filter(|request| request.path == "/v1.0/$batch").count();
    assert_eq!(batches, 2, "one batch per kind of principal: {requests:#?}");
    assert!(!requests.iter().any(|request| request.path == "/v1.0/users" && request.batch_item.is_none()));
    emulator.shutdown().await;
}

fn many_users(count: usize) -> StateDocument {
    let users = (0..count)
        .map(|index| PrincipalShape {
            odata_type: None,
            id: format!("00000000-0000-0000-0000-{index:012}"),
            user_principal_name: Some(format!("user{index}@contoso.com")),
            app_id: None,
            display_name: None,
            custom_security_attributes: None,
        })
        .collect();
    StateDocument { users, ..StateDocument::default() }
}

fn declared_users(count: usize) -> ReadScope {
    ReadScope {
        principals: (0..count).map(|index| PrincipalKey::User(format!("user{index}@contoso.com"))).collect(),
        ..ReadScope::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_tenant_is_swept_in_one_page_instead_of_many_batches() {
    let emulator = emulator(EmulatorConfig { seed_state: many_users(300), ..Default::default() }).await;
    let scope = declared_users(250);
    let live = tenant(&emulator).read(&scope).await.unwrap();
    assert!(scope.principals.iter().all(|key| live.principal(key).is_some()));
    let requests = graph_requests(&emulator);
    let user_pages = requests.iter().filter(|r| r.path == "/v1.0/users" && r.batch_item.is_none()).count();
    assert_eq!(user_pages, 1, "{requests:#?}");
    assert!(!requests.iter().any(|request| request.path == "/v1.0/$batch"));
    emulator.shutdown().await;
}

/// The first sweep page tells the population; the rest goes the cheaper way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_first_page_the_cheaper_route_is_taken() {
    // 60 users in pages of 10, 50 declared: 40 left, 2 batches beat 5 pages.
    let small =
        emulator(EmulatorConfig { seed_state: many_users(60), page_size: 10, ..Default::default() }).await;
    let scope = declared_users(50);
    let live = tenant(&small).read(&scope).await.unwrap();
    assert!(scope.principals.iter().all(|key| live.principal(key).is_some()));
    let requests = graph_requests(&small);
    let user_pages = requests.iter().filter(|r| r.path == "/v1.0/users" && r.batch_item.is_none()).count();
    let batches = requests.iter().filter(|r| r.path == "/v1.0/$batch").count();
    assert_eq!((user_pages, batches), (1, 2), "{requests:#?}");
    small.shutdown().await;

    // 210 users in pages of 50, 200 declared: 4 more pages beat 8 batches.
    let emulator =
        emulator(EmulatorConfig { seed_state: many_users(210), page_size: 50, ..Default::default() }).await;
    let scope = declared_users(200);
    let live = tenant(&emulator).read(&scope).await.unwrap();
    assert!(scope.principals.iter().all(|key| live.principal(key).is_some()));
    let requests = graph_requests(&emulator);
    let user_pages = requests.iter().filter(|r| r.path == "/v1.0/users" && r.batch_item.is_none()).count();
    assert_eq!(user_pages, 5, "{requests:#?}");
    assert!(!requests.iter().any(|request| request.path == "/v1.0/$batch"));
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_policy_sweep_reads_every_principal() {
    let seed = contoso_seed();
    let emulator =
        emulator(EmulatorConfig { seed_state: seed.clone(), page_size: 2, ..Default::default() }).await;
    let live = tenant(&emulator).read(&ReadScope { sweep: true, ..ReadScope::default() }).await.unwrap();
    assert!(live.principals_complete);
    assert_eq!(live.principals, live_of(&seed).principals);
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_principals_are_left_out_and_become_conflicts() {
    let emulator = emulator(EmulatorConfig { seed_state: contoso_seed(), ..Default::default() }).await;
    let mut desired = desired("examples/contoso.yaml");
    let ghost = PrincipalKey::User("ghost@contoso.com".into());
    let some_assignments = desired.assignments.values().next().unwrap().clone();
    desired.assignments.insert(ghost.clone(), some_assignments);
    let plan = plan_of(&tenant(&emulator), &desired).await;
    assert!(
        plan.conflicts.iter().any(|conflict| conflict.message.contains("ghost@contoso.com")),
        "{:#?}",
        plan.conflicts
    );
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_hidden_from_a_token_lacking_the_read_permission_are_an_error_not_an_empty_tenant() {
    // The emulator hides the values from this token as Graph does: every
    // principal reads `customSecurityAttributes: null`.
    let seed = contoso_seed();
    let hiding = emulator(EmulatorConfig { seed_state: seed.clone(), ..Default::default() }).await;
    let desired = desired("examples/contoso.yaml");
    let scope = ReadScope::for_desired(&desired);
    let token = jwt(serde_json::json!({ "roles": ["CustomSecAttributeDefinition.Read.All"] }));
    let error = tenant_with(&hiding, &token, fast_options()).read(&scope).await.unwrap_err().to_string();
    assert!(error.contains("CustomSecAttributeAssignment.Read.All"), "{error}");
    assert!(!error.contains(&token));

    let token = jwt(serde_json::json!({
        "roles": ["CustomSecAttributeDefinition.Read.All", "CustomSecAttributeAssignment.Read.All"]
    }));
    let live = tenant_with(&hiding, &token, fast_options()).read(&scope).await.unwrap();
    let seeded = live_of(&seed);
    assert!(live.principals.values().any(|principal| principal.custom_security_attributes.is_some()));
    for (id, principal) in &live.principals {
        assert_eq!(principal.custom_security_attributes, seeded.principals[id].custom_security_attributes);
    }
    hiding.shutdown().await;

    // Not a JWT, and nothing assigned: only a warning (and the plan's note).
    let emulator = emulator(EmulatorConfig { seed_state: empty_seed(), ..Default::default() }).await;
    let plan = plan_of(&tenant(&emulator), &desired).await;
    assert!(plan.notes.iter().any(|note| note.message.contains("customSecurityAttributes: null")));
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_token_is_a_clear_error_without_the_token() {
    let emulator =
        emulator(EmulatorConfig { token: Some("the-right-one".into()), ..Default::default() }).await;
    let error = tenant_with(&emulator, "sentinel-wrong-token", fast_options())
        .read(&ReadScope::default())
        .await
        .unwrap_err();
    let message = format!("{error:#} {error:?}");
    assert!(message.contains("401") && message.contains("sign in again"), "{message}");
    assert!(!message.contains("sentinel-wrong-token"), "{message}");
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_throttled_by_the_resource_unit_quota_wait_their_retry_after_and_complete() {
    use entra_csa::emulator::Throttle;
    // 7 resource units per 10 s, and pages of two items: the read outruns the quota.
    let seed = contoso_seed();
    let emulator = emulator(EmulatorConfig {
        seed_state: seed.clone(),
        page_size: 2,
        throttle: Throttle::Graph,
        throttle_scale: 0.002,
        ..Default::default()
    })
    .await;
    let live = tenant(&emulator).read(&ReadScope::default()).await.unwrap();
    assert_eq!(live.definitions, live_of(&seed).definitions);
    assert!(emulator.stats().throttled > 0, "the quota was never reached");
    emulator.shutdown().await;
}
