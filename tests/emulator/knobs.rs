//! The knobs: injected faults by seed, latency, replication lag and
//! Graph's identity quotas.

use std::time::{Duration, Instant};

use entra_csa::emulator::{EmulatorConfig, Throttle, Window};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::support::*;

// ── faults, latency, replication lag ──

/// The outcome of each of `count` GETs: the status, or "reset".
async fn outcomes(config: EmulatorConfig, count: usize) -> Vec<String> {
    let h = harness(config).await;
    let mut seen = Vec::new();
    for _ in 0..count {
        let response = h.client.get(h.url("directory/attributeSets")).bearer_auth("t").send().await;
        let outcome = match response {
            Err(_) => "reset".to_owned(),
            Ok(response) => {
                let status = response.status().as_u16();
                let retry_after =
                    response.headers().get("Retry-After").map(|v| v.to_str().unwrap().to_owned());
                match response.bytes().await {
                    Err(_) => "reset".to_owned(),
                    Ok(_) if status == 429 => format!("429 retry-after={retry_after:?}"),
                    Ok(_) => status.to_string(),
                }
            }
        };
        seen.push(outcome);
    }
    h.emulator.shutdown().await;
    seen
}

#[tokio::test]
async fn faults_are_deterministic_by_seed_and_cover_every_kind() {
    let config = |seed| EmulatorConfig { seed_state: contoso(), fault_rate: 0.5, seed, ..Default::default() };
    let first = outcomes(config(42), 80).await;
    assert_eq!(first, outcomes(config(42), 80).await, "same seed, same faults");
    assert_ne!(first, outcomes(config(43), 80).await, "another seed, other faults");
    assert!(first.iter().any(|o| o == "200"));
    assert!(first.iter().any(|o| o == "503"));
    assert!(first.iter().any(|o| o == "reset"));
    assert!(first.iter().any(|o| o == "429 retry-after=None"), "{first:?}");
    assert!(first.iter().any(|o| o.starts_with("429 retry-after=Some(\"0.")), "fractional: {first:?}");
    assert!(first.iter().any(|o| o == "429 retry-after=Some(\"1\")"), "{first:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulators_own_lost_answers_hide_writes_that_happened() {
    let slow_answer = Duration::from_millis(400);
    let h = harness(EmulatorConfig {
        fault_rate: 1.0,
        seed: 9,
        lost_answers: true,
        slow_answer,
        ..Default::default()
    })
    .await;
    let client = reqwest::Client::builder().timeout(Duration::from_millis(150)).build().unwrap();
    let (mut lost_but_written, mut refused_not_written) = (0, 0);
    for index in 0..30 {
        let id = format!("Set{index}");
        let answer = client
            .post(h.url("directory/attributeSets"))
            .bearer_auth("t")
            .json(&json!({ "id": id }))
            .send()
            .await;
        let written = h.emulator.state().attribute_sets.iter().any(|set| set.id == id);
        match answer {
            // A reset after the write, or an answer slower than the timeout.
            Err(_) if written => lost_but_written += 1,
            Ok(answer) if !answer.status().is_success() && !written => refused_not_written += 1,
            _ => {}
        }
    }
    let kinds = h.emulator.stats().faults_by_kind;
    assert!(kinds.contains_key("SlowAnswer") && kinds.contains_key("ResetAfterWrite"), "{kinds:?}");
    assert!(lost_but_written > 0, "no answer was lost after its write");
    assert!(refused_not_written > 0, "the faults before the write are still drawn");
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn injected_429s_have_the_documented_body() {
    let h = harness(EmulatorConfig { fault_rate: 1.0, seed: 3, ..Default::default() }).await;
    for _ in 0..20 {
        let Ok(response) = h.client.get(h.url("users")).bearer_auth("t").send().await else { continue };
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["error"]["code"], "TooManyRequests");
            assert_eq!(body["error"]["message"], "Please retry again later.");
            assert_eq!(body["error"]["innerError"]["code"], "429");
            assert_eq!(body["error"]["innerError"]["status"], "429");
            return;
        }
    }
    panic!("no 429 in 20 faults");
}

#[tokio::test]
async fn latency_delays_every_request() {
    let h = harness(EmulatorConfig { latency: Duration::from_millis(150), ..Default::default() }).await;
    let started = Instant::now();
    assert_eq!(h.get("directory/attributeSets").await.status, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(150));
}

/// `--latency-per-item-us`: a page waits for each item it holds, so a page
/// of 250 waits 50 times what a page of 5 does. Held to the delay the
/// emulator counts where it sleeps (`pageLatencyUs`), not to a clock.
#[tokio::test]
async fn latency_per_item_makes_a_bigger_page_slower() {
    let mut tenant = contoso();
    let template = tenant.users[0].clone();
    for index in 0..300 {
        tenant.users.push(entra_csa::emulator::document::PrincipalShape {
            id: format!("30000000-0000-4000-8000-{index:012}"),
            user_principal_name: Some(format!("user{index}@contoso.com")),
            ..template.clone()
        });
    }
    let per_item = Duration::from_micros(20);
    let config = EmulatorConfig { seed_state: tenant, latency_per_item: per_item, ..Default::default() };
    assert_eq!(config.page_latency(999), Duration::from_micros(19_980));
    assert_eq!(config.page_latency(0), Duration::ZERO);
    let h = harness(config).await;
    let mut delays = Vec::new();
    for top in [5, 250] {
        let before = h.emulator.stats().page_latency_us;
        let reply = h.get(&format!("users?$top={top}&$select=id")).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.body["value"].as_array().unwrap().len(), top);
        delays.push(h.emulator.stats().page_latency_us - before);
    }
    assert_eq!(delays, [100, 5_000], "20 µs per item");
    // A request that is not a collection page gets none.
    let before = h.emulator.stats().page_latency_us;
    assert_eq!(h.get("users/user1@contoso.com").await.status, StatusCode::OK);
    assert_eq!(h.emulator.stats().page_latency_us, before);
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn emulators_own_400_during_the_replication_lag() {
    let h = harness(EmulatorConfig {
        seed_state: contoso(),
        replication_lag: Duration::from_millis(400),
        ..Default::default()
    })
    .await;
    let created = h
        .post(
            "directory/customSecurityAttributeDefinitions",
            &definition_body("Fresh", "String", false, false),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let body = assignment("Engineering", json!({ "Fresh": "x" }));
    let user = format!("users/{USER_ID}");
    let reply = h.patch(&user, &body).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "emulator's own: not replicated yet");
    // Seeded definitions are replicated from the start.
    assert_eq!(
        h.patch(&user, &assignment("Engineering", json!({ "ProjectDate": "d" }))).await.status,
        StatusCode::NO_CONTENT
    );
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(h.patch(&user, &body).await.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn advanced_queries_see_the_tenant_as_it_was_during_the_index_lag() {
    let h = harness(EmulatorConfig {
        seed_state: contoso(),
        advanced_query_lag: Duration::from_millis(600),
        ..Default::default()
    })
    .await;
    let user = format!("users/{USER_ID}");
    let eventual = [("ConsistencyLevel", "eventual")];
    let project = |reply: &Reply| reply.body["value"][0]["customSecurityAttributes"].clone();
    let query = format!("users?$filter=id eq '{USER_ID}'&$select=id,customSecurityAttributes");
    let before = h.get(&query).await;
    let body = assignment("Engineering", json!({ "ProjectDate": "2026-12-07" }));
    assert_eq!(h.patch(&user, &body).await.status, StatusCode::NO_CONTENT);
    // A plain read sees the write at once; an advanced one (`$count=true`
    // with ConsistencyLevel) sees the tenant as it was, count and all.
    let plain = h.get(&query).await;
    assert_eq!(
        plain.body["value"][0]["customSecurityAttributes"]["Engineering"]["ProjectDate"],
        "2026-12-07"
    );
    let advanced = h.get_with(&format!("{query}&$count=true"), &eventual).await;
    assert_eq!(advanced.status, StatusCode::OK, "{}", advanced.text);
    assert_eq!(project(&advanced), project(&before), "the index has not caught up");
    assert_eq!(advanced.body["@odata.count"], 1);
    tokio::time::sleep(Duration::from_millis(650)).await;
    let caught_up = h.get_with(&format!("{query}&$count=true"), &eventual).await;
    assert_eq!(project(&caught_up), project(&plain), "the index caught up");
}

#[tokio::test]
async fn knobs_refuse_upn_ranges_and_app_id_prefixes_as_a_stricter_graph_may() {
    let lenient = harness(EmulatorConfig { seed_state: contoso(), ..Default::default() }).await;
    let strict = harness(EmulatorConfig {
        seed_state: contoso(),
        refuse_upn_ranges: true,
        refuse_app_id_prefix: true,
        ..Default::default()
    })
    .await;
    let eventual = [("ConsistencyLevel", "eventual")];
    let ranges = ["users?$filter=userPrincipalName ge 'a'", "users?$filter=userPrincipalName le 'n'"];
    for query in ranges {
        assert_eq!(lenient.get(query).await.status, StatusCode::OK, "{query}");
        for headers in [&[][..], &eventual[..]] {
            let refused = strict.get_with(&format!("{query}&$count=true"), headers).await;
            assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{query}");
            assert_eq!(refused.error_code(), "Request_UnsupportedQuery");
        }
    }
    // `startsWith` on userPrincipalName is documented: served by both.
    let prefix = "users?$filter=startsWith(userPrincipalName,'a')";
    assert_eq!(strict.get(prefix).await.status, StatusCode::OK);
    let app_ids = "servicePrincipals?$filter=startsWith(appId,'a')";
    assert_eq!(lenient.get(app_ids).await.status, StatusCode::OK);
    let refused = strict.get(app_ids).await;
    assert_eq!((refused.status, refused.error_code()), (StatusCode::BAD_REQUEST, "Request_UnsupportedQuery"));
    let advanced = strict.get_with(&format!("{app_ids}&$count=true"), &eventual).await;
    assert_eq!(advanced.status, StatusCode::OK, "with the advanced query parameters: {}", advanced.text);
}

// ── throttling ──

#[tokio::test]
async fn graph_write_quota_throttles_with_documented_headers() {
    // 3,000 writes per 150 s scaled by 0.001: 3 writes.
    let h = harness(EmulatorConfig {
        seed_state: contoso(),
        throttle: Throttle::Graph,
        throttle_scale: 0.001,
        ..Default::default()
    })
    .await;
    let user = format!("users/{USER_ID}");
    let body = assignment("Engineering", json!({ "ProjectDate": "d" }));
    let mut last = None;
    for _ in 0..3 {
        let reply = h.patch(&user, &body).await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT);
        last = Some(reply);
    }
    let percentage = last.unwrap().header("x-ms-throttle-limit-percentage").map(str::to_owned);
    assert!(percentage.is_some_and(|p| p.parse::<f64>().unwrap() > 0.8), "reported above 80%");
    let reply = h.patch(&user, &body).await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(reply.error_code(), "TooManyRequests");
    assert_eq!(reply.header("x-ms-throttle-information"), Some("WriteLimitExceeded"));
    assert!(
        reply.header("x-ms-throttle-scope").is_some_and(|s| s.starts_with("Tenant_Application/ReadWrite/"))
    );
    let retry_after: f64 = reply.header("Retry-After").unwrap().parse().unwrap();
    assert!((1.0..=50.0).contains(&retry_after), "{retry_after}");
    assert_eq!(h.emulator.stats().throttled, 1);
}

#[tokio::test]
async fn graph_resource_unit_quota_throttles_reads_and_batch_items() {
    // 3,500 resource units per 10 s for a small tenant, scaled: 3.5.
    let h = harness(EmulatorConfig {
        seed_state: contoso(),
        throttle: Throttle::Graph,
        throttle_scale: 0.001,
        ..Default::default()
    })
    .await;
    assert_eq!(h.get("users").await.status, StatusCode::OK, "costs 2");
    let reply = h.get("users").await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(reply.header("x-ms-throttle-information"), Some("ResourceUnitLimitExceeded"));
    let reply = batch(&h, json!([{ "id": "1", "method": "GET", "url": "/users" }])).await;
    assert_eq!(reply.status, StatusCode::OK, "the batch succeeds");
    assert_eq!(item(&reply, "1")["status"], 429, "the item is throttled");
    assert!(item(&reply, "1")["headers"]["Retry-After"].is_string());
}

#[tokio::test]
async fn reset_replays_the_same_faults() {
    let faulty = harness(EmulatorConfig { fault_rate: 0.6, seed: 9, ..Default::default() }).await;
    let statuses = |h: &Harness| {
        let client = h.client.clone();
        let url = h.url("directory/attributeSets");
        async move {
            let mut seen = Vec::new();
            for _ in 0..15 {
                seen.push(
                    client.get(&url).bearer_auth("t").send().await.map(|r| r.status().as_u16()).unwrap_or(0),
                );
            }
            seen
        }
    };
    let first = statuses(&faulty).await;
    faulty.client.post(format!("{}/_emulator/reset", faulty.emulator.base_url())).send().await.unwrap();
    assert_eq!(statuses(&faulty).await, first);
}

// ── storms, outages, a second app ──

#[tokio::test]
async fn a_storm_answers_every_write_429_for_its_length_and_leaves_reads_alone() {
    let storm = Duration::from_millis(600);
    let h = harness(EmulatorConfig {
        seed_state: contoso(),
        storm: Some(Window { after_writes: 1, duration: storm }),
        storm_retry_after: Duration::from_millis(250),
        ..Default::default()
    })
    .await;
    let user = format!("users/{USER_ID}");
    let body = assignment("Engineering", json!({ "ProjectDate": "d" }));
    assert_eq!(h.patch(&user, &body).await.status, StatusCode::NO_CONTENT, "before the storm");
    let began = Instant::now();
    let reply = h.patch(&user, &body).await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS, "the second write meets the storm");
    assert_eq!(reply.header("Retry-After"), Some("0.25"));
    assert_eq!(reply.header("x-ms-throttle-information"), Some("WriteLimitExceeded"));
    assert!(reply.header("x-ms-throttle-scope").is_some_and(|s| s.starts_with("Tenant_Application/")));
    assert_eq!(h.get("directory/attributeSets").await.status, StatusCode::OK, "reads are served");
    // Batch items that write are refused too; those that read are not.
    let reply = batch(
        &h,
        json!([{ "id": "1", "method": "PATCH", "url": format!("/{user}"), "headers": { "Content-Type": "application/json" },
                 "body": serde_json::from_str::<Value>(&body).unwrap() },
               { "id": "2", "method": "GET", "url": "/directory/attributeSets" }]),
    )
    .await;
    if began.elapsed() < storm {
        assert_eq!(item(&reply, "1")["status"], 429);
    }
    assert_eq!(item(&reply, "2")["status"], 200);
    tokio::time::sleep(storm.saturating_sub(began.elapsed()) + Duration::from_millis(50)).await;
    assert_eq!(h.patch(&user, &body).await.status, StatusCode::NO_CONTENT, "after the storm");
    let stats = h.emulator.stats();
    assert!(stats.storm_refusals >= 1 && stats.throttled == stats.storm_refusals, "{stats:?}");
}

#[tokio::test]
async fn an_outage_answers_every_request_503_once_its_writes_are_reached() {
    let h = harness(EmulatorConfig {
        seed_state: contoso(),
        outage: Some(Window { after_writes: 1, duration: Duration::from_secs(3_600) }),
        ..Default::default()
    })
    .await;
    assert_eq!(h.get("directory/attributeSets").await.status, StatusCode::OK, "before any write");
    let user = format!("users/{USER_ID}");
    let body = assignment("Engineering", json!({ "ProjectDate": "d" }));
    assert_eq!(h.patch(&user, &body).await.status, StatusCode::NO_CONTENT, "the first write");
    for path in ["directory/attributeSets", &user] {
        let reply = h.get(path).await;
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert_eq!(reply.error_code(), "serviceNotAvailable");
    }
    assert_eq!(h.patch(&user, &body).await.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(h.emulator.stats().outage_refusals, 3);
}

#[tokio::test]
async fn a_second_app_has_used_the_write_quota_and_leaves_only_its_rest() {
    // 3,000 writes per 150 s scaled by 0.01: 0.2 write/s; the other app takes half.
    let h = harness(EmulatorConfig {
        seed_state: contoso(),
        throttle: Throttle::Graph,
        throttle_scale: 0.01,
        other_app_share: 0.5,
        ..Default::default()
    })
    .await;
    let user = format!("users/{USER_ID}");
    let body = assignment("Engineering", json!({ "ProjectDate": "d" }));
    let reply = h.patch(&user, &body).await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS, "the quota starts used up");
    let retry_after: f64 = reply.header("Retry-After").unwrap().parse().unwrap();
    // One write at the 0.1 write/s left: 10 s (a whole quota would say 5).
    assert_eq!(retry_after, 10.0);
    assert_eq!(h.get("directory/attributeSets").await.status, StatusCode::OK, "reads have their own quota");
}
