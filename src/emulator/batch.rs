//! JSON batching (C-BATCH): up to 20 requests in one `POST /v1.0/$batch`,
//! unique ids, `dependsOn` sequencing with 424 for dependents of a failed
//! request, per-item status, and responses in an order of their own — so a
//! client that batches is tested against everything the docs promise.

use std::collections::HashMap;

use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use rand::seq::SliceRandom;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::audit::Initiator;
use super::error::GraphError;
use super::permissions::Grants;
use super::routes::{GraphRequest, GraphResponse};
use super::service::{LogEntry, Shared, body_json};
use super::throttle::request_cost;

/// "JSON batch requests are currently limited to 20 individual requests."
pub const MAX_BATCH_REQUESTS: usize = 20;

#[derive(Debug, Deserialize)]
struct BatchBody {
    requests: Vec<BatchItem>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BatchItem {
    id: String,
    method: String,
    url: String,
    #[serde(default)]
    headers: Option<Map<String, Value>>,
    #[serde(default)]
    body: Option<Value>,
    #[serde(default)]
    depends_on: Option<Vec<String>>,
}

/// Serves a batch. A malformed batch is a 400 for the whole; otherwise 200
/// with one response per item, in a shuffled (seeded) order. The envelope's
/// `x-ms-resource-unit` is the sum over its items.
pub fn serve(
    shared: &Shared,
    body: &[u8],
    base_url: &str,
    grants: Grants,
    initiator: &Initiator,
) -> GraphResponse {
    let (mut response, units) = match run(shared, body, base_url, grants, initiator) {
        Ok((responses, units)) => {
            (GraphResponse::json(StatusCode::OK, json!({ "responses": responses })), units)
        }
        Err(error) => (GraphResponse::error(error), 0),
    };
    response.headers.push(("x-ms-resource-unit".into(), units.to_string()));
    response
}

/// The item responses, and the resource units the served items cost.
fn run(
    shared: &Shared,
    body: &[u8],
    base_url: &str,
    grants: Grants,
    initiator: &Initiator,
) -> Result<(Vec<Value>, u64), GraphError> {
    let batch: BatchBody = serde_json::from_slice(body)
        .map_err(|error| GraphError::bad_request(format!("The batch request is malformed: {error}.")))?;
    let items = batch.requests;
    if items.is_empty() {
        return Err(GraphError::bad_request("The batch holds no requests."));
    }
    if items.len() > MAX_BATCH_REQUESTS {
        return Err(GraphError::bad_request(format!(
            "The batch holds {} requests; the limit is {MAX_BATCH_REQUESTS}.",
            items.len()
        )));
    }
    // Ids are "not case-sensitive" and must be unique (C-BATCH).
    let mut positions: HashMap<String, usize> = HashMap::new();
    for (position, item) in items.iter().enumerate() {
        if item.id.trim().is_empty() {
            return Err(GraphError::bad_request("Every batch request needs an id."));
        }
        if positions.insert(item.id.to_lowercase(), position).is_some() {
            return Err(GraphError::bad_request(format!(
                "The batch request id '{}' is not unique.",
                item.id
            )));
        }
    }
    for item in &items {
        for dependency in item.depends_on.iter().flatten() {
            if !positions.contains_key(&dependency.to_lowercase()) {
                return Err(GraphError::bad_request(format!(
                    "Request '{}' depends on '{dependency}', which is not in the batch.",
                    item.id
                )));
            }
        }
        // "headers: Optional but required when the body is specified."
        // Emulator's choice: a body without a Content-Type fails the batch.
        let has_content_type = item
            .headers
            .as_ref()
            .is_some_and(|headers| headers.keys().any(|name| name.eq_ignore_ascii_case("content-type")));
        if item.body.as_ref().is_some_and(|body| !body.is_null()) && !has_content_type {
            return Err(GraphError::bad_request(format!(
                "Request '{}' has a body but no Content-Type header.",
                item.id
            )));
        }
    }
    let order = execution_order(&items, &positions)?;
    let mut statuses: HashMap<String, StatusCode> = HashMap::new();
    let mut responses = Vec::with_capacity(items.len());
    let mut units = 0_u64;
    for position in order {
        let item = &items[position];
        let failed_dependency =
            item.depends_on.iter().flatten().find(|dependency| {
                !statuses.get(&dependency.to_lowercase()).is_some_and(StatusCode::is_success)
            });
        let response = match failed_dependency {
            Some(dependency) => {
                let response = GraphResponse::error(GraphError::failed_dependency(dependency));
                let (path, query) = split_url(&item.url);
                shared.record(LogEntry {
                    method: &parse_method(&item.method),
                    path: &format!("/v1.0/{path}"),
                    query,
                    status: response.status.as_u16(),
                    body: &[],
                    batch_item: Some(&item.id),
                    resource_units: 0,
                });
                response
            }
            None => match item_request(item, grants, initiator) {
                Ok(request) => {
                    units += u64::from(
                        request_cost(&request.method, &request.path, &request.query).resource_units,
                    );
                    shared.serve_graph(&request, Some(&item.id), base_url)
                }
                Err(error) => GraphResponse::error(error),
            },
        };
        statuses.insert(item.id.to_lowercase(), response.status);
        responses.push(item_response(&item.id, &response));
    }
    // "Responses to the batched requests might appear in a different order."
    responses.shuffle(&mut *shared.batch_order.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
    Ok((responses, units))
}

/// Request order, except that every item runs after those it depends on.
/// A cycle is a malformed batch (the emulator's choice of message).
fn execution_order(
    items: &[BatchItem],
    positions: &HashMap<String, usize>,
) -> Result<Vec<usize>, GraphError> {
    let mut done = vec![false; items.len()];
    let mut order = Vec::with_capacity(items.len());
    while order.len() < items.len() {
        let ready = (0..items.len()).find(|&position| {
            !done[position]
                && items[position].depends_on.iter().flatten().all(|dependency| {
                    positions.get(&dependency.to_lowercase()).is_some_and(|&other| done[other])
                })
        });
        match ready {
            Some(position) => {
                done[position] = true;
                order.push(position);
            }
            None => {
                return Err(GraphError::bad_request("The dependsOn references of the batch form a cycle."));
            }
        }
    }
    Ok(order)
}

fn parse_method(text: &str) -> Method {
    Method::from_bytes(text.to_ascii_uppercase().as_bytes()).unwrap_or(Method::GET)
}

/// `/users?$top=5`, `users`, or a full `https://…/v1.0/users` → path, query.
fn split_url(url: &str) -> (&str, &str) {
    let relative = match url.find("/v1.0/") {
        Some(index) => &url[index + "/v1.0/".len()..],
        None => url.trim_start_matches('/'),
    };
    relative.split_once('?').unwrap_or((relative, ""))
}

/// An item as a request of its own, with the batch's grants: items carry
/// no token of their own (C-BATCH).
fn item_request(item: &BatchItem, grants: Grants, initiator: &Initiator) -> Result<GraphRequest, GraphError> {
    let method = Method::from_bytes(item.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| GraphError::bad_request(format!("'{}' is not an HTTP method.", item.method)))?;
    if item.url.contains("://") {
        // C-BATCH: `url` is "the relative resource URL the individual request
        // would typically send"; Graph refuses an absolute one. The message is
        // the emulator's choice.
        return Err(GraphError::bad_request(format!(
            "Request '{}': the url must be relative to the service root (such as /users), not '{}'.",
            item.id, item.url
        )));
    }
    let (path, query) = split_url(&item.url);
    if path.eq_ignore_ascii_case("$batch") {
        return Err(GraphError::bad_request("A batch cannot contain a batch."));
    }
    let mut headers = HeaderMap::new();
    for (name, value) in item.headers.iter().flatten() {
        let value = match value {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name.as_str()), HeaderValue::from_str(&value)) {
            headers.insert(name, value);
        }
    }
    let body = match &item.body {
        None | Some(Value::Null) => Vec::new(),
        Some(body) => serde_json::to_vec(body).unwrap_or_default(),
    };
    Ok(GraphRequest {
        method,
        path: path.to_owned(),
        query: query.to_owned(),
        headers,
        body,
        grants,
        beta: false,
        initiator: initiator.clone(),
    })
}

/// One item of the batch response. A 204 is `{"id","status":204,"body":null}`
/// as C-BATCH shows it; others carry their headers and body.
fn item_response(id: &str, response: &GraphResponse) -> Value {
    let request_id = format!("batch-{id}");
    if response.status == StatusCode::NO_CONTENT {
        // As Microsoft's sample answers a 204 item: no headers, unless the
        // quota is nearly used up, which Graph reports on every answer
        // (C-THR); an apply of PATCHes hears it only here.
        let pressure = response
            .headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("x-ms-throttle-limit-percentage"));
        return match pressure {
            Some((name, value)) => {
                json!({ "id": id, "status": 204, "headers": { name.as_str(): value }, "body": null })
            }
            None => json!({ "id": id, "status": 204, "body": null }),
        };
    }
    let mut headers = Map::new();
    if matches!(response.body, super::routes::ResponseBody::Json(_)) {
        headers.insert(
            "Content-Type".into(),
            json!("application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"),
        );
        headers.insert("OData-Version".into(), json!("4.0"));
    }
    for (name, value) in &response.headers {
        headers.insert(name.clone(), json!(value));
    }
    // C-THR: a throttled item is retried "using the value provided in the
    // `retry-after` response header from the JSON content", so a 429 item
    // always carries one (one second when the throttle gave no wait).
    if response.status == StatusCode::TOO_MANY_REQUESTS
        && !headers.keys().any(|name| name.eq_ignore_ascii_case("retry-after"))
    {
        headers.insert("Retry-After".into(), json!("1"));
    }
    json!({
        "id": id,
        "status": response.status.as_u16(),
        "headers": headers,
        "body": body_json(&response.body, &request_id),
    })
}
