//! JSON batching: documented item shapes, `dependsOn` and 424, the limits
//! of a batch, per-item refusals and the order of responses.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::support::*;

// ── $batch ──

#[tokio::test]
async fn doc_batch_example_with_204_shapes() {
    let h = seeded(contoso()).await;
    let reply = batch(
        &h,
        json!([
            { "id": "1", "method": "GET", "url": "/directory/attributeSets/Engineering" },
            { "id": "2", "method": "GET", "url": "/users/nobody@contoso.com" },
            { "id": "4", "url": format!("/users/{USER_ID}"), "method": "PATCH",
              "body": json!({ "customSecurityAttributes": { "Engineering": {
                  "@odata.type": REQUEST_SET_TYPE, "ProjectDate": "2022-10-01" } } }),
              "headers": { "Content-Type": "application/json" } },
            { "id": "5", "url": "users?$select=id,displayName,userPrincipalName&$count=true", "method": "GET",
              "headers": { "ConsistencyLevel": "eventual" } }
        ]),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["responses"].as_array().map(Vec::len), Some(4));
    assert_eq!(item(&reply, "1")["status"], 200);
    assert_eq!(item(&reply, "1")["body"]["id"], "Engineering");
    assert_eq!(item(&reply, "2")["status"], 404);
    assert_eq!(item(&reply, "2")["body"]["error"]["code"], "Request_ResourceNotFound");
    assert_eq!(item(&reply, "4"), &json!({ "id": "4", "status": 204, "body": null }));
    let five = item(&reply, "5");
    assert_eq!(five["body"]["@odata.count"], 2, "ConsistencyLevel inside the item counts");
    assert_eq!(context_fragment(&five["body"]), "users(id,displayName,userPrincipalName)");
    assert!(five["headers"]["x-ms-resource-unit"].is_string());
    assert!(
        five["headers"]["Content-Type"]
            .as_str()
            .unwrap()
            .starts_with("application/json;odata.metadata=minimal")
    );
    assert_eq!(h.user_attributes(USER_ID).await["Engineering"]["ProjectDate"], "2022-10-01");
}

#[tokio::test]
async fn doc_batch_dependson_runs_in_order_and_fails_dependents_with_424() {
    let h = seeded(contoso()).await;
    let chain = |first_url: &str| {
        json!([
            { "id": "1", "method": "GET", "url": first_url },
            { "id": "2", "dependsOn": ["1"], "method": "GET", "url": "/directory/attributeSets/Marketing" },
            { "id": "4", "dependsOn": ["2"], "method": "GET", "url": "/users" },
            { "id": "3", "dependsOn": ["4"], "method": "GET", "url": "/servicePrincipals" }
        ])
    };
    let reply = batch(&h, chain("/directory/attributeSets/Engineering")).await;
    for id in ["1", "2", "3", "4"] {
        assert_eq!(item(&reply, id)["status"], 200, "{id}");
    }
    let order: Vec<String> =
        h.emulator.requests().iter().filter_map(|request| request.batch_item.clone()).collect();
    assert_eq!(order, ["1", "2", "4", "3"], "execution order 1, 2, 4, 3");

    let reply = batch(&h, chain("/directory/attributeSets/Missing")).await;
    assert_eq!(reply.status, StatusCode::OK, "the batch itself succeeds");
    assert_eq!(item(&reply, "1")["status"], 404);
    for id in ["2", "3", "4"] {
        assert_eq!(item(&reply, id)["status"], 424, "{id}");
    }
}

#[tokio::test]
async fn malformed_batches_are_refused_whole() {
    let h = seeded(contoso()).await;
    let get = |id: String| json!({ "id": id, "method": "GET", "url": "/users" });
    let reply = batch(&h, Value::Array((0..21).map(|i| get(i.to_string())).collect())).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "more than 20");
    let reply = batch(&h, Value::Array((0..20).map(|i| get(i.to_string())).collect())).await;
    assert_eq!(reply.status, StatusCode::OK, "20 is fine");
    let reply = batch(&h, json!([get("a".into()), get("A".into())])).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "ids are unique ignoring case");
    let reply = batch(&h, json!([{ "id": "1", "method": "GET", "url": "/users", "dependsOn": ["9"] }])).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "dependsOn names a missing id");
    let reply = batch(&h, json!([{ "id": "1", "method": "PATCH", "url": "/users/x", "body": {} }])).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "emulator's own: a body needs a Content-Type");
    let reply = h.post("$batch", "{ not json").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn batch_items_are_refused_one_by_one_and_answered_in_an_order_of_their_own() {
    let h = seeded_expecting_deletes(contoso()).await;
    let mut requests: Vec<Value> = (0..19)
        .map(|index| json!({ "id": index.to_string(), "method": "GET", "url": "/directory/attributeSets" }))
        .collect();
    requests
        .push(json!({ "id": "delete", "method": "DELETE", "url": "/directory/attributeSets/Engineering" }));
    let reply = batch(&h, Value::Array(requests.clone())).await;
    assert_eq!(item(&reply, "delete")["status"], 405);
    let answered: Vec<&Value> =
        reply.body["responses"].as_array().unwrap().iter().map(|item| &item["id"]).collect();
    let asked: Vec<&Value> = requests.iter().map(|request| &request["id"]).collect();
    assert_ne!(answered, asked, "responses come in a different order");
    assert_eq!(h.emulator.stats().deletes, 1);
    assert_eq!(h.emulator.state().attribute_sets.len(), 2);
}

#[tokio::test]
async fn stats_count_attempted_writes_and_the_batch_envelope_sums_its_items() {
    let h = seeded(contoso()).await;
    let reply = batch(
        &h,
        json!([
            { "id": "1", "method": "GET", "url": "/users" },
            { "id": "2", "method": "PATCH", "url": format!("/users/{USER_ID}"),
              "headers": { "Content-Type": "application/json" },
              "body": { "customSecurityAttributes": { "Engineering": {
                  "@odata.type": REQUEST_SET_TYPE, "ProjectDate": "d" } } } },
            { "id": "3", "method": "POST", "url": "/directory/attributeSets",
              "headers": { "Content-Type": "application/json" }, "body": { "id": "Bad Name" } }
        ]),
    )
    .await;
    assert_eq!(reply.header("x-ms-resource-unit"), Some("4"), "2 + 1 + 1");
    assert_eq!(item(&reply, "3")["status"], 400);
    let stats = h.emulator.stats();
    assert_eq!(stats.writes, 2, "refused writes count as attempted writes; the envelope does not");
    assert_eq!(stats.requests, 4, "three items and the envelope");
    assert_eq!(stats.by_path["/v1.0/$batch"], 1);
    assert_eq!(stats.resource_units, 4);
}

/// C-BATCH: an item's `url` is relative to the service root; an absolute
/// one is refused with 400 (that item only), as Graph refuses it.
#[tokio::test]
async fn an_item_with_an_absolute_url_is_refused_with_400() {
    let h = seeded(contoso()).await;
    let absolute = format!("{}/v1.0/directory/attributeSets", h.emulator.base_url());
    let reply = batch(
        &h,
        json!([
            { "id": "absolute", "method": "GET", "url": absolute },
            { "id": "graph", "method": "GET", "url": "https://graph.microsoft.com/v1.0/directory/attributeSets" },
            { "id": "relative", "method": "GET", "url": "/directory/attributeSets" }
        ]),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(item(&reply, "absolute")["status"], 400);
    assert_eq!(item(&reply, "absolute")["body"]["error"]["code"], "Request_BadRequest");
    assert_eq!(item(&reply, "graph")["status"], 400);
    assert_eq!(item(&reply, "relative")["status"], 200);
}

/// C-THR: a throttled item is retried after the `retry-after` of its own
/// headers, so every 429 item carries one, also an injected fault that
/// answers a direct request without it.
#[tokio::test]
async fn every_throttled_item_carries_retry_after() {
    let h = harness(entra_csa::emulator::EmulatorConfig {
        seed_state: contoso(),
        fault_rate: 0.3,
        seed: 7,
        ..Default::default()
    })
    .await;
    let mut throttled = 0;
    for _ in 0..40 {
        let requests: Vec<Value> = (0..20)
            .map(|index| json!({ "id": index.to_string(), "method": "GET", "url": "/directory/attributeSets" }))
            .collect();
        // The envelope itself may draw a fault, a reset among them.
        let Ok(response) = reqwest::Client::new()
            .post(format!("{}/v1.0/$batch", h.emulator.base_url()))
            .bearer_auth("batch-token")
            .json(&json!({ "requests": requests }))
            .send()
            .await
        else {
            continue;
        };
        let body: Value = response.json().await.unwrap_or_default();
        let Some(answers) = body["responses"].as_array() else { continue };
        for answer in answers {
            if answer["status"] == 429 {
                throttled += 1;
                let retry_after =
                    answer["headers"]["Retry-After"].as_str().unwrap_or_else(|| panic!("{answer}"));
                assert!(retry_after.parse::<f64>().is_ok(), "{answer}");
            }
        }
    }
    assert!(throttled > 0, "no item was throttled");
    assert!(
        h.emulator.stats().faults_by_kind.contains_key("TooManyRequestsWithoutRetryAfter"),
        "the fault without Retry-After was among them"
    );
}
