//! The HTTP edge: one axum handler that adds the configured latency, checks
//! the bearer token, injects the faults that happen on the connection, hands
//! Graph requests to `service` (or the `$batch` envelope to `batch`), and
//! renders the answers with Graph's headers; plus the `/_emulator` control
//! endpoints.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::Response;
use serde_json::{Value, json};

use super::audit::Initiator;
use super::batch;
use super::error::GraphError;
use super::faults::{Fault, delay};
use super::permissions::Grants;
use super::routes::{GraphRequest, GraphResponse, ResponseBody};
use super::service::{self, LogEntry, Shared, fault_response, graph_date};
use super::throttle::request_cost;

/// The content type Graph answers JSON with (C-BATCH sample headers).
const GRAPH_JSON: &str =
    "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

/// The panic payload that drops a connection to inject a reset.
struct InjectedConnectionReset;

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(handle).with_state(shared)
}

/// A random request id in GUID form, as Graph's `request-id`.
fn new_request_id() -> String {
    let bits: u128 = rand::random();
    let hex = format!("{bits:032x}");
    format!("{}-{}-4{}-a{}-{}", &hex[0..8], &hex[8..12], &hex[13..16], &hex[17..20], &hex[20..32])
}

/// The base URL clients reach the emulator at, from `Host`.
fn base_url(headers: &HeaderMap, address: SocketAddr) -> String {
    match headers.get(header::HOST).and_then(|host| host.to_str().ok()) {
        Some(host) if !host.is_empty() => format!("http://{host}"),
        _ => format!("http://{address}"),
    }
}

/// Checks `Authorization: Bearer <token>`: any non-empty token, or exactly
/// the configured one; the token's grants are what it allows. The error
/// codes are the emulator's choice.
fn authenticate(headers: &HeaderMap, expected: Option<&str>) -> Result<(Grants, Initiator), GraphError> {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            let (scheme, token) = value.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .filter(|token| !token.is_empty());
    match (presented, expected) {
        (None, _) => Err(GraphError::unauthorized("Access token is empty.")),
        (Some(token), Some(expected)) if token != expected => {
            Err(GraphError::unauthorized("Access token validation failure."))
        }
        (Some(token), _) => Ok((Grants::of_token(token), Initiator::of_token(token))),
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let query = uri.query().unwrap_or_default().to_owned();
    if path == "/_emulator" || path.starts_with("/_emulator/") {
        return control(&shared, &method, &path, &body);
    }
    delay(shared.config.latency).await;
    let request_id = new_request_id();
    let client_request_id =
        headers.get("client-request-id").and_then(|value| value.to_str().ok()).map(str::to_owned);
    let render_with = |response: GraphResponse| render(response, &request_id, client_request_id.as_deref());
    let cost = request_cost(&method, path.trim_start_matches("/v1.0/"), &query);
    let log = |status: u16, resource_units: u32| {
        shared.record(LogEntry {
            method: &method,
            path: &path,
            query: &query,
            status,
            body: &body,
            batch_item: None,
            resource_units,
        });
    };
    // A response the edge gives itself (refusal or fault), logged and charged.
    let answer_here = |mut response: GraphResponse| {
        response.headers.push(("x-ms-resource-unit".into(), cost.resource_units.to_string()));
        log(response.status.as_u16(), cost.resource_units);
        render_with(response)
    };

    if super::arm::is_arm_path(&path) {
        // Azure Resource Manager's role assignment reads (`emulator::arm`).
        let rows = shared.azure_role_assignments();
        let answer = super::arm::serve(
            rows.as_deref(),
            &method,
            &path,
            &query,
            &headers,
            &body,
            shared.config.token.as_deref(),
        );
        log(answer.status.as_u16(), 0);
        let mut rendered = Response::new(Body::from(serde_json::to_vec(&answer.body).unwrap_or_default()));
        *rendered.status_mut() = answer.status;
        rendered
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
        if let Ok(value) = HeaderValue::from_str(&request_id) {
            rendered.headers_mut().insert("x-ms-request-id", value);
        }
        return rendered;
    }
    let (grants, initiator) = match authenticate(&headers, shared.config.token.as_deref()) {
        Ok(caller) => caller,
        Err(error) => return answer_here(GraphResponse::error(error)),
    };
    let (graph_path, beta) = match (path.strip_prefix("/v1.0/"), path.strip_prefix("/beta/")) {
        (Some(graph_path), _) => (graph_path, false),
        (None, Some(graph_path)) if graph_path != "$batch" => (graph_path, true),
        _ => {
            // Emulator's choice: the v1.0 service root is served, and beta
            // for what exists only there.
            return answer_here(GraphResponse::error(GraphError::bad_request(format!(
                "Invalid version: the emulator serves only /v1.0/ and /beta/, not '{path}'."
            ))));
        }
    };
    if beta && shared.config.refuse_beta {
        return answer_here(GraphResponse::error(GraphError::forbidden()));
    }
    if shared.outage_on() {
        return answer_here(GraphResponse::error(GraphError::service_unavailable()));
    }
    // A fault after serving: the answer held back, or lost with the connection.
    let mut after_serving = None;
    match shared.next_fault(true) {
        Some(Fault::ConnectionReset) => {
            log(0, 0);
            drop_connection();
        }
        Some(fault @ (Fault::SlowAnswer | Fault::ResetAfterWrite)) => after_serving = Some(fault),
        Some(fault) => return answer_here(fault_response(&fault)),
        None => {}
    }
    let base = base_url(&headers, shared.address);
    let response = if graph_path == "$batch" {
        let response = if method == Method::POST {
            batch::serve(&shared, &body, &base, grants, &initiator)
        } else {
            GraphResponse::error(GraphError::method_not_allowed())
        };
        // The items were charged one by one.
        log(response.status.as_u16(), 0);
        response
    } else {
        let request = GraphRequest {
            method: method.clone(),
            path: graph_path.to_owned(),
            query: query.clone(),
            headers: headers.clone(),
            body: body.to_vec(),
            grants,
            beta,
            initiator,
        };
        let response = shared.serve_graph(&request, None, &base);
        if let ResponseBody::Json(Value::Object(page)) = &response.body
            && let Some(Value::Array(items)) = page.get("value")
        {
            let latency = shared.config.page_latency(items.len());
            shared.note_page_latency(latency);
            delay(latency).await;
        }
        response
    };
    match after_serving {
        Some(Fault::ResetAfterWrite) => drop_connection(),
        Some(_) => tokio::time::sleep(shared.config.slow_answer).await,
        None => {}
    }
    render_with(response)
}

/// Ends the connection without an answer: unwinding out of the handler ends
/// the connection task, so the client sees it close. No panic hook runs
/// (`resume_unwind`), so nothing is printed.
fn drop_connection() -> ! {
    std::panic::resume_unwind(Box::new(InjectedConnectionReset));
}

fn render(response: GraphResponse, request_id: &str, client_request_id: Option<&str>) -> Response {
    let (content_type, bytes) = match &response.body {
        ResponseBody::Empty => (None, Vec::new()),
        ResponseBody::Json(value) => (Some(GRAPH_JSON), serde_json::to_vec(value).unwrap_or_default()),
        ResponseBody::Text(text) => (Some("text/plain"), text.clone().into_bytes()),
        ResponseBody::Error(error) => (
            Some("application/json"),
            serde_json::to_vec(&error.envelope(request_id, client_request_id, &graph_date()))
                .unwrap_or_default(),
        ),
    };
    let mut rendered = Response::new(Body::from(bytes));
    *rendered.status_mut() = response.status;
    let headers = rendered.headers_mut();
    if let Some(content_type) = content_type {
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    headers.insert("OData-Version", HeaderValue::from_static("4.0"));
    if let Ok(value) = HeaderValue::from_str(request_id) {
        headers.insert("request-id", value);
    }
    if let Some(value) = client_request_id.and_then(|id| HeaderValue::from_str(id).ok()) {
        headers.insert("client-request-id", value);
    }
    for (name, value) in &response.headers {
        if let (Ok(name), Ok(value)) =
            (axum::http::HeaderName::try_from(name.as_str()), HeaderValue::from_str(value))
        {
            headers.insert(name, value);
        }
    }
    rendered
}

/// `/_emulator/…`: the log, the counters, the store, reset, and a write
/// made as someone else (`write`).
fn control(shared: &Shared, method: &Method, path: &str, body: &[u8]) -> Response {
    let json_response = |status: StatusCode, value: Value| {
        let mut response = Response::new(Body::from(serde_json::to_vec(&value).unwrap_or_default()));
        *response.status_mut() = status;
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        response
    };
    let to_json = |value: Result<Value, serde_json::Error>| value.unwrap_or(Value::Null);
    match (method, path.trim_end_matches('/')) {
        (&Method::GET, "/_emulator/requests") => {
            json_response(StatusCode::OK, to_json(serde_json::to_value(shared.requests())))
        }
        (&Method::GET, "/_emulator/stats") => {
            json_response(StatusCode::OK, to_json(serde_json::to_value(shared.stats())))
        }
        (&Method::GET, "/_emulator/state") => {
            json_response(StatusCode::OK, to_json(serde_json::to_value(shared.state())))
        }
        (&Method::POST, "/_emulator/reset") => {
            shared.reset();
            let mut response = Response::new(Body::empty());
            *response.status_mut() = StatusCode::NO_CONTENT;
            response
        }
        (&Method::POST, "/_emulator/write") => match shared.write_from_control(body) {
            Ok(answer) => json_response(answer.status, service::body_json(&answer.body, "control")),
            Err(message) => json_response(StatusCode::BAD_REQUEST, json!({ "error": message })),
        },
        (
            _,
            "/_emulator/requests"
            | "/_emulator/stats"
            | "/_emulator/state"
            | "/_emulator/reset"
            | "/_emulator/write",
        ) => json_response(StatusCode::METHOD_NOT_ALLOWED, json!({ "error": "method not allowed" })),
        _ => json_response(
            StatusCode::NOT_FOUND,
            json!({ "error": "unknown control endpoint; try requests, stats, state, reset or write" }),
        ),
    }
}
