//! The partitioned sweep against the emulator over loopback: ranges of
//! users (by `userPrincipalName`, `ge`/`le`) and of service principals (by
//! `appId` prefix) read side by side cover every principal exactly once —
//! UPNs starting with every character class (`$`, `_`, digits, both cases,
//! punctuation, non-ASCII), service principals with a null display name —
//! and a drift read keeps only the principals that hold values in the
//! declared sets. The 1,000,000-user run is in the benchmark (`--sweep`).

use std::collections::BTreeSet;
use std::sync::Arc;

use entra_csa::emulator::document::{PrincipalShape, StateDocument};
use entra_csa::emulator::{EmulatorConfig, RunningEmulator, Throttle};
use entra_csa::graph::auth::{BearerToken, TokenSource};
use entra_csa::graph::endpoint::{self, Cloud};
use entra_csa::graph::route::Route;
use entra_csa::graph::{ClientOptions, GraphClient};
use entra_csa::model::{PrincipalKey, PrincipalKind};
use entra_csa::tenant::{ReadScope, Retain, Tenant};
use serde_json::json;

use crate::graph_support::*;

/// The characters a generated UPN starts with: every class a UPN may start with.
const FIRST: &[char] =
    &['$', '_', '0', '5', '9', 'a', 'm', 'z', 'A', 'M', 'Z', '\'', '-', '!', '#', '^', '~', 'é', '{', '&'];

/// A value in Contoso's `Engineering` set.
fn engineering_value(index: usize) -> serde_json::Map<String, serde_json::Value> {
    json!({
        "Engineering": {
            "@odata.type": "#microsoft.graph.customSecurityAttributeValue",
            "Project@odata.type": "#Collection(String)",
            "Project": ["Baker"],
            "CostCenter@odata.type": "#Int32",
            "CostCenter": index as i64,
        }
    })
    .as_object()
    .cloned()
    .unwrap()
}

/// Contoso's sets and definitions with `users` users and `apps` service
/// principals added; every `holder_every`-th holds an Engineering value.
fn population(users: usize, apps: usize, holder_every: usize) -> StateDocument {
    let mut seed = contoso_seed();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for index in 0..users {
        let first = FIRST[index % FIRST.len()];
        let rest = format!("{:x}", next() % 0xFFFF_FFFF);
        let upn = if index % 3 == 0 {
            format!("{first}{rest}@contoso.com")
        } else {
            format!("{first}{}{rest}@fabrikam.example", if index % 2 == 0 { "_" } else { "X" })
        };
        seed.users.push(PrincipalShape {
            odata_type: None,
            id: format!("10000000-0000-4000-8000-{index:012}"),
            user_principal_name: Some(upn),
            app_id: None,
            display_name: (index % 5 != 0).then(|| format!("User {index}")),
            custom_security_attributes: (index % holder_every == 0).then(|| engineering_value(index)),
        });
    }
    for index in 0..apps {
        let app_id = format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            next() as u32,
            next() as u16,
            next() % 0xFFF,
            next() % 0xFFF,
            next() % 0xFFFF_FFFF_FFFF
        );
        seed.service_principals.push(PrincipalShape {
            odata_type: None,
            id: format!("20000000-0000-4000-8000-{index:012}"),
            // Graph's appIds are lowercase; some uppercase ones hold the
            // prefix filter to ignoring case.
            app_id: Some(if index % 7 == 0 { app_id.to_uppercase() } else { app_id }),
            user_principal_name: None,
            display_name: (index % 2 == 0).then(|| format!("App {index}")),
            custom_security_attributes: (index % holder_every == 0).then(|| engineering_value(index)),
        });
    }
    seed
}

fn client(emulator: &RunningEmulator, options: ClientOptions) -> Arc<GraphClient> {
    let endpoint = endpoint::resolve(Cloud::Global, Some(&emulator.base_url()), false).unwrap();
    Arc::new(GraphClient::new(endpoint, TokenSource::Fixed(BearerToken::new("test-token")), options).unwrap())
}

fn ids(seed: &StateDocument, kind: PrincipalKind) -> BTreeSet<String> {
    let list = match kind {
        PrincipalKind::User => &seed.users,
        PrincipalKind::ServicePrincipal => &seed.service_principals,
    };
    list.iter().map(|principal| principal.id.clone()).collect()
}

/// The pages read of a collection, by their `$filter` (`None`:
/// unfiltered); the counts that place the boundaries are left out.
fn filters(emulator: &RunningEmulator, collection: &str) -> Vec<Option<String>> {
    emulator
        .requests()
        .into_iter()
        .filter(|request| request.path == format!("/v1.0/{collection}") && request.batch_item.is_none())
        .filter(|request| {
            let query = request.query.as_deref().unwrap_or_default();
            !query.contains("$count=true") && !query.contains("%24count=true")
        })
        .map(|request| {
            let query = request.query.unwrap_or_default();
            url::form_urlencoded::parse(query.as_bytes())
                .find(|(key, _)| key == "$filter")
                .map(|(_, value)| value.into_owned())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_ranges_read_every_principal_exactly_once() {
    let seed = population(3_000, 1_200, 1);
    // Pages of 40: each range takes several pages, and the first page (the
    // sample the user ranges are cut at) is 40 UPNs.
    let emulator =
        emulator(EmulatorConfig { seed_state: seed.clone(), page_size: 40, ..Default::default() }).await;
    let options = ClientOptions { sweep_partitions: Some(16), ..fast_options() };
    let client = client(&emulator, options);
    for (kind, collection) in
        [(PrincipalKind::User, "users"), (PrincipalKind::ServicePrincipal, "servicePrincipals")]
    {
        let swept = entra_csa::graph::read::sweep(&client, kind).await.unwrap();
        let expected = ids(&seed, kind);
        let read: BTreeSet<String> =
            swept.principals.iter().map(|principal| principal.object_id.clone()).collect();
        assert_eq!(
            swept.read as usize,
            expected.len(),
            "{collection}: read {} of {}",
            swept.read,
            expected.len()
        );
        assert_eq!(
            swept.principals.len(),
            expected.len(),
            "{collection}: kept everything (Retain::Everything)"
        );
        assert_eq!(swept.read_twice, 0, "{collection}");
        assert_eq!(read, expected, "{collection}: the principals read are the emulator's own list");
        // The ranges were used: only filtered pages (the population and the
        // boundaries come from counts).
        let filters = filters(&emulator, collection);
        let distinct: BTreeSet<&String> = filters.iter().flatten().collect();
        assert_eq!(swept.partitions, distinct.len(), "{collection}: {distinct:#?}");
        assert!(swept.partitions >= 12, "{collection}: {} ranges", swept.partitions);
        assert_eq!(
            filters.iter().filter(|filter| filter.is_none()).count(),
            0,
            "{collection}: no probe page"
        );
        if kind == PrincipalKind::User {
            assert!(distinct.iter().all(|filter| filter.contains(" ge ") || filter.contains(" le ")));
        } else {
            assert!(distinct.iter().all(|filter| filter.starts_with("startsWith(appId,")));
        }
    }
    emulator.shutdown().await;
}

/// Sixteen ranges of 1,500 users read under Graph's resource-unit quota,
/// scaled to 50 units per 10 s (`--throttle graph --throttle-scale
/// 0.00625`), against about 60 pages of one unit each: more than the
/// quota's bucket holds. `read_budget` is what the client is told of the quota.
/// Returns the 429s the emulator answered.
async fn sweep_under_the_read_quota(read_budget: Option<u32>) -> u64 {
    let seed = population(1_500, 0, 1);
    let emulator = emulator(EmulatorConfig {
        seed_state: seed.clone(),
        page_size: 30,
        throttle: Throttle::Graph,
        throttle_scale: 0.00625,
        ..Default::default()
    })
    .await;
    let options = ClientOptions { sweep_partitions: Some(16), read_budget, ..fast_options() };
    let client = client(&emulator, options);
    let swept = entra_csa::graph::read::sweep(&client, PrincipalKind::User).await.unwrap();
    let expected = ids(&seed, PrincipalKind::User);
    let read: BTreeSet<String> =
        swept.principals.iter().map(|principal| principal.object_id.clone()).collect();
    assert_eq!((swept.read as usize, swept.read_twice), (expected.len(), 0));
    assert_eq!(read, expected, "the principals read are the emulator's own list");
    assert!(swept.partitions >= 12, "{} ranges", swept.partitions);
    let stats = emulator.stats();
    assert!(stats.resource_units > 55, "more than the quota's bucket: {}", stats.resource_units);
    emulator.shutdown().await;
    stats.throttled
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_paced_under_the_quota_they_are_told_meet_no_429() {
    assert_eq!(sweep_under_the_read_quota(Some(50)).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partitioned_sweep_throttled_by_graph_still_reads_every_principal_once() {
    // Told nothing, the client assumes Graph's documented 8,000 units for a
    // tenant of this size, so the emulator's 50 refuse it: every reader
    // pauses for the Retry-After, and the sweep goes on.
    let throttled = sweep_under_the_read_quota(None).await;
    assert!(throttled > 0, "the quota was met");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_number_of_ranges_covers_every_user_once() {
    let seed = population(700, 0, 1);
    let emulator =
        emulator(EmulatorConfig { seed_state: seed.clone(), page_size: 60, ..Default::default() }).await;
    let expected = ids(&seed, PrincipalKind::User);
    for parts in [2, 3, 7, 16] {
        let client = client(&emulator, ClientOptions { sweep_partitions: Some(parts), ..fast_options() });
        let swept = entra_csa::graph::read::sweep(&client, PrincipalKind::User).await.unwrap();
        let read: BTreeSet<String> =
            swept.principals.iter().map(|principal| principal.object_id.clone()).collect();
        assert_eq!((swept.read as usize, swept.read_twice), (expected.len(), 0), "{parts} ranges");
        assert_eq!(read, expected, "{parts} ranges");
        assert!(swept.partitions > 1 && swept.partitions <= parts, "{parts}: {}", swept.partitions);
    }
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drift_read_keeps_only_the_holders_of_declared_sets() {
    // One principal in 10 holds an Engineering value; Contoso's own
    // principals hold values in other sets too.
    let seed = population(2_000, 400, 10);
    let emulator =
        emulator(EmulatorConfig { seed_state: seed.clone(), page_size: 50, ..Default::default() }).await;
    let tenant =
        tenant_with(&emulator, "test-token", ClientOptions { sweep_partitions: Some(16), ..fast_options() });
    let mut desired = desired("examples/contoso.yaml");
    desired.policy.undeclared_assignments = entra_csa::model::UndeclaredAssignments::Report;
    let scope = ReadScope::for_desired(&desired);
    let kept = tenant.read(&scope).await.unwrap();
    let everything = tenant.read(&ReadScope { retain: Retain::Everything, ..scope.clone() }).await.unwrap();
    assert!(kept.principals_complete && everything.principals_complete);
    assert_eq!(everything.principals.len(), seed.users.len() + seed.service_principals.len());
    // What is kept: declared principals and holders of a value in a declared set.
    let index = everything.principal_index();
    let declared: BTreeSet<_> =
        scope.principals.iter().filter_map(|key| index.find(key)).map(|p| p.id()).collect();
    let sets: BTreeSet<&String> = desired.attribute_sets.keys().collect();
    let expected: BTreeSet<_> = everything
        .principals
        .values()
        .filter(|principal| {
            declared.contains(&principal.id())
                || principal.custom_security_attributes.iter().flatten().any(|(set, _)| sets.contains(set))
        })
        .map(|principal| principal.id())
        .collect();
    assert_eq!(kept.principals.keys().cloned().collect::<BTreeSet<_>>(), expected);
    assert!(
        expected.len() < everything.principals.len() / 5,
        "{} of {}",
        expected.len(),
        everything.principals.len()
    );
    // The plan is the same whether the rest was kept or not.
    let plan_kept = entra_csa::plan::build(&desired, &kept, tenant.target());
    let plan_everything = entra_csa::plan::build(&desired, &everything, tenant.target());
    assert_eq!(plan_kept, plan_everything);
    assert!(plan_kept.drift.len() >= 240, "every holder is drift: {}", plan_kept.drift.len());
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emulator_serves_upn_ranges_and_app_id_prefixes_as_documented() {
    let seed = population(200, 100, 1);
    let emulator = emulator(EmulatorConfig { seed_state: seed.clone(), ..Default::default() }).await;
    let http = reqwest::Client::new();
    let get = |query: &str, advanced: bool| {
        let mut request = http.get(format!("{}/v1.0/{query}", emulator.base_url())).bearer_auth("test-token");
        if advanced {
            request = request.header("ConsistencyLevel", "eventual");
        }
        request.send()
    };
    // `ge`/`le` on userPrincipalName, as the sweep sends them: no advanced
    // query parameters (`le` is documented so; `ge` is served too, and
    // `refuse_upn_ranges` refuses both).
    let answer = get("users?$filter=userPrincipalName%20ge%20'a'%20and%20userPrincipalName%20le%20'n'&$top=999&$select=userPrincipalName", false).await.unwrap();
    assert_eq!(answer.status(), 200);
    let body: serde_json::Value = answer.json().await.unwrap();
    let upns: Vec<String> = body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|user| user["userPrincipalName"].as_str().unwrap().to_lowercase())
        .collect();
    let expected = seed
        .users
        .iter()
        .filter_map(|user| user.user_principal_name.as_deref())
        .map(str::to_lowercase)
        .filter(|upn| upn.as_str() >= "a" && upn.as_str() <= "n")
        .count();
    assert_eq!(upns.len(), expected);
    assert!(expected > 0 && upns.iter().all(|upn| upn.as_str() >= "a" && upn.as_str() <= "n"));
    // With the advanced query parameters, counted too.
    let answer = get("users?$filter=userPrincipalName%20ge%20'a'%20and%20userPrincipalName%20le%20'n'&$count=true&$top=999&$select=id", true).await.unwrap();
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["@odata.count"].as_u64(), Some(expected as u64));
    // `ge` on another property: refused.
    let refused = get("users?$filter=displayName%20ge%20'a'&$count=true", true).await.unwrap();
    assert_eq!(refused.status(), 400);
    // `startsWith` on appId, ignoring case, no advanced parameters needed.
    let answer =
        get("servicePrincipals?$filter=startsWith(appId,'a')&$top=999&$select=appId", false).await.unwrap();
    assert_eq!(answer.status(), 200);
    let body: serde_json::Value = answer.json().await.unwrap();
    let expected = seed
        .service_principals
        .iter()
        .filter(|principal| principal.app_id.as_deref().is_some_and(|id| id.to_lowercase().starts_with('a')))
        .count();
    assert_eq!(body["value"].as_array().unwrap().len(), expected);
    assert!(expected > 0);
    emulator.shutdown().await;
}

// ── what a stricter or slower Graph does to a sweep ──

/// `population`, with every UPN starting with a character Microsoft
/// documents for UPNs (the others become `q`): what the documented split
/// by first character covers.
fn documented_population(users: usize, apps: usize, holder_every: usize) -> StateDocument {
    let mut seed = population(users, apps, holder_every);
    for user in &mut seed.users {
        let upn = user.user_principal_name.take().unwrap();
        let first = upn.chars().next().unwrap();
        let documented = first.is_ascii_alphanumeric() || "'.-_!#^~".contains(first);
        user.user_principal_name =
            Some(if documented { upn } else { format!("q{}", &upn[first.len_utf8()..]) });
    }
    seed
}

/// Sweeps every principal of `kind` and holds the read to the seed: each
/// read once. Returns the sweep and the distinct filters sent.
async fn swept_exactly_once(
    emulator: &RunningEmulator,
    seed: &StateDocument,
    kind: PrincipalKind,
) -> (entra_csa::graph::read::Swept, BTreeSet<Option<String>>) {
    let client = client(emulator, ClientOptions { sweep_partitions: Some(16), ..fast_options() });
    let before = emulator.requests().len();
    let swept = entra_csa::graph::read::sweep(&client, kind).await.unwrap();
    let expected = ids(seed, kind);
    let read: BTreeSet<String> =
        swept.principals.iter().map(|principal| principal.object_id.clone()).collect();
    assert_eq!((swept.read as usize, swept.read_twice), (expected.len(), 0), "{kind:?}: {:?}", swept.notes);
    assert_eq!(read, expected, "{kind:?}: the principals read are the emulator's own list");
    let collection = match kind {
        PrincipalKind::User => "users",
        PrincipalKind::ServicePrincipal => "servicePrincipals",
    };
    let sent: Vec<Option<String>> = filters(emulator, collection);
    let distinct = sent[sent.len().min(before)..].iter().cloned().collect();
    (swept, distinct)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_upn_range_falls_back_to_the_documented_split_by_first_character() {
    let seed = documented_population(3_000, 0, 1);
    let emulator = emulator(EmulatorConfig {
        seed_state: seed.clone(),
        page_size: 40,
        refuse_upn_ranges: true,
        ..Default::default()
    })
    .await;
    let (swept, filters) = swept_exactly_once(&emulator, &seed, PrincipalKind::User).await;
    assert_eq!(swept.partitions, 44, "one range per documented first character");
    assert!(filters.iter().flatten().any(|filter| filter.starts_with("startsWith(userPrincipalName,")));
    assert_eq!(swept.notes.len(), 1, "{:?}", swept.notes);
    assert!(
        swept.notes[0].contains("refused the range filter `userPrincipalName")
            && swept.notes[0].contains("HTTP 400 Request_UnsupportedQuery")
            && swept.notes[0].contains("by first character of userPrincipalName"),
        "{}",
        swept.notes[0]
    );
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upns_outside_the_documented_characters_fall_back_to_one_sweep() {
    // `$`, `é`, `{` and `&` start some UPNs: a split by first character
    // could miss them, so a refused range leads to the single sweep.
    let seed = population(2_000, 0, 1);
    let emulator = emulator(EmulatorConfig {
        seed_state: seed.clone(),
        page_size: 40,
        refuse_upn_ranges: true,
        ..Default::default()
    })
    .await;
    let (swept, _) = swept_exactly_once(&emulator, &seed, PrincipalKind::User).await;
    assert_eq!(swept.partitions, 1);
    assert!(
        swept.notes.len() == 1 && swept.notes[0].ends_with("read in one sweep instead"),
        "{:?}",
        swept.notes
    );
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_app_id_prefix_falls_back_to_one_sweep() {
    let seed = population(0, 1_200, 1);
    let emulator = emulator(EmulatorConfig {
        seed_state: seed.clone(),
        page_size: 40,
        refuse_app_id_prefix: true,
        ..Default::default()
    })
    .await;
    let (swept, filters) = swept_exactly_once(&emulator, &seed, PrincipalKind::ServicePrincipal).await;
    assert_eq!(swept.partitions, 1);
    assert!(filters.iter().flatten().all(|filter| filter.starts_with("startsWith(appId,")));
    assert!(
        swept.notes.len() == 1
            && swept.notes[0].contains("refused the range filter `startsWith(appId,")
            && swept.notes[0].ends_with("read in one sweep instead"),
        "{:?}",
        swept.notes
    );
    emulator.shutdown().await;
}

/// The plan of `contoso.yaml` with `undeclaredAssignments: report` (every
/// principal swept, the split as the client chooses) against a tenant of
/// 2,000 users and 400 service principals, under `knob`.
async fn drift_plan_under(knob: impl FnOnce(&mut EmulatorConfig)) -> entra_csa::plan::Plan {
    let mut config = EmulatorConfig {
        seed_state: documented_population(2_000, 400, 10),
        page_size: 50,
        ..Default::default()
    };
    knob(&mut config);
    let emulator = emulator(config).await;
    // Sixteen ranges of each kind, as a tenant many times this size gets.
    let tenant =
        tenant_with(&emulator, "test-token", ClientOptions { sweep_partitions: Some(16), ..fast_options() });
    let mut desired = desired("examples/contoso.yaml");
    desired.policy.undeclared_assignments = entra_csa::model::UndeclaredAssignments::Report;
    let plan = plan_of(&tenant, &desired).await;
    emulator.shutdown().await;
    plan
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plans_are_unchanged_under_each_knob_of_a_stricter_or_lagging_graph() {
    let reference = drift_plan_under(|_| {}).await;
    assert!(!reference.changes.is_empty() && reference.drift.len() >= 200, "{}", reference.drift.len());
    assert!(reference.notes.iter().all(|note| !note.message.contains("refused")), "{:?}", reference.notes);
    type Knob = fn(&mut EmulatorConfig);
    let knobs: [(&str, Knob); 4] = [
        ("refuse_upn_ranges", |config| config.refuse_upn_ranges = true),
        ("refuse_app_id_prefix", |config| config.refuse_app_id_prefix = true),
        ("both", |config| {
            config.refuse_upn_ranges = true;
            config.refuse_app_id_prefix = true;
        }),
        ("advanced_query_lag", |config| config.advanced_query_lag = std::time::Duration::from_secs(60)),
    ];
    for (name, knob) in knobs {
        let plan = drift_plan_under(knob).await;
        assert_eq!(plan.changes, reference.changes, "{name}");
        assert_eq!(plan.conflicts, reference.conflicts, "{name}");
        assert_eq!(plan.drift, reference.drift, "{name}");
        assert_eq!(plan.fingerprint, reference.fingerprint, "{name}");
        let refusals =
            plan.notes.iter().filter(|note| note.message.contains("refused the range filter")).count();
        let expected = match name {
            "both" => 2,
            "advanced_query_lag" => 0,
            _ => 1,
        };
        assert_eq!(refusals, expected, "{name}: {:?}", plan.notes);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_then_plan_at_once_is_empty_while_the_index_lags() {
    // Advanced queries see the tenant as it was a minute ago: a plan that
    // read its pages from the index would see the values from before the
    // apply and plan them again.
    let emulator = emulator(EmulatorConfig {
        seed_state: population(1_500, 100, 10),
        advanced_query_lag: std::time::Duration::from_secs(60),
        ..Default::default()
    })
    .await;
    let tenant = tenant_with(&emulator, "test-token", fast_options());
    let mut desired = desired("examples/contoso.yaml");
    desired.policy.undeclared_assignments = entra_csa::model::UndeclaredAssignments::Report;
    let plan = apply_and_converge(&tenant, &desired).await;
    assert!(plan.changes.len() > 3, "{}", plan.changes.len());
    // The only advanced queries were the counts.
    let advanced: Vec<String> = emulator
        .requests()
        .into_iter()
        .filter(|request| request.query.as_deref().is_some_and(|query| query.contains("$count")))
        .map(|request| request.path)
        .collect();
    assert!(advanced.is_empty(), "{advanced:?}");
    emulator.shutdown().await;
}

/// Batched reads never count the tenant: the users they read prove its size
/// class, so a large declared population is read under the large tenant's
/// quota instead of the smallest one's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batched_reads_take_the_quota_of_the_size_the_users_read_prove() {
    let seed = population(600, 0, 1);
    let emulator = emulator(EmulatorConfig { seed_state: seed.clone(), ..Default::default() }).await;
    let keys: Vec<PrincipalKey> =
        seed.users.iter().map(|user| PrincipalKey::User(user.user_principal_name.clone().unwrap())).collect();
    for (declared, quota) in [(40, 3_500), (60, 5_000), (600, 8_000)] {
        let options = ClientOptions { read_route: Some(Route::Batched), ..fast_options() };
        let tenant = tenant_with(&emulator, "batched-token", options);
        assert_eq!(tenant.client().read_quota(), 3_500, "unknown size: the smallest quota");
        let scope = ReadScope { principals: keys[..declared].to_vec(), sweep: false, ..ReadScope::default() };
        let live = tenant.read(&scope).await.unwrap();
        assert_eq!(live.principals.len(), declared);
        assert_eq!(tenant.client().read_quota(), quota, "{declared} users read");
    }
    emulator.shutdown().await;
}
