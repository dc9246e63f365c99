//! The HTTP edge: one axum handler that records every request, adds the
//! configured latency, checks the bearer token, injects faults, applies the
//! quotas, hands Graph requests to the routes (or `$batch`), persists the
//! store after a change, and renders responses with Graph's headers.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::Response;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::{Value, json};

use super::EmulatorConfig;
use super::batch;
use super::control::{RecordedRequest, Stats};
use super::error::GraphError;
use super::faults::{Fault, FaultInjector, delay};
use super::permissions::Grants;
use super::routes::{GraphRequest, GraphResponse, ResponseBody, RouteContext, dispatch};
use super::store::Store;
use super::throttle::{Admission, Throttler, request_cost};
use crate::graph::wire::TenantDocument;
use crate::model::PrincipalKind;
use crate::state_file::write_document;

/// The content type Graph answers JSON with (C-BATCH sample headers).
const GRAPH_JSON: &str =
    "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

/// The panic payload that drops a connection to inject a reset.
struct InjectedConnectionReset;

/// One served request, for the log and the counters.
pub(super) struct LogEntry<'a> {
    pub method: &'a Method,
    pub path: &'a str,
    pub query: &'a str,
    /// 0 for a dropped connection.
    pub status: u16,
    pub body: &'a [u8],
    pub batch_item: Option<&'a str>,
    pub resource_units: u32,
}

/// Everything the handler shares across requests.
pub struct Shared {
    config: EmulatorConfig,
    address: SocketAddr,
    seed_store: Store,
    store: Mutex<Store>,
    log: Mutex<Vec<RecordedRequest>>,
    stats: Mutex<Stats>,
    faults: Mutex<FaultInjector>,
    throttler: Mutex<Throttler>,
    pub(super) batch_order: Mutex<StdRng>,
    sequence: AtomicU64,
}

/// The fault injector a start (or a reset) begins with.
fn fault_injector(config: &EmulatorConfig) -> FaultInjector {
    FaultInjector::new(config.fault_rate, config.seed).with_lost_answers(config.lost_answers)
}

/// The quotas a start (or a reset) begins with, none used.
fn throttler(config: &EmulatorConfig) -> Throttler {
    Throttler::new(config.throttle, config.throttle_scale)
}

/// Locks a mutex; a panic elsewhere (an injected reset) cannot leave the
/// data half-changed, since every change is made in one assignment.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    pub fn new(config: EmulatorConfig, address: SocketAddr) -> anyhow::Result<Shared> {
        let seed_store = Store::from_document(&config.seed_state)
            .map_err(|error| anyhow::anyhow!("the seed state is not valid: {error}"))?;
        Ok(Shared {
            address,
            store: Mutex::new(seed_store.clone()),
            seed_store,
            log: Mutex::new(Vec::new()),
            stats: Mutex::new(Stats::default()),
            faults: Mutex::new(fault_injector(&config)),
            throttler: Mutex::new(throttler(&config)),
            batch_order: Mutex::new(StdRng::seed_from_u64(config.seed)),
            sequence: AtomicU64::new(0),
            config,
        })
    }

    pub fn state(&self) -> TenantDocument {
        lock(&self.store).to_document()
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.log).clone()
    }

    pub fn stats(&self) -> Stats {
        lock(&self.stats).clone()
    }

    pub fn expects_deletes(&self) -> bool {
        self.config.expect_deletes
    }

    fn reset(&self) {
        *lock(&self.store) = self.seed_store.clone();
        lock(&self.log).clear();
        *lock(&self.stats) = Stats::default();
        *lock(&self.throttler) = throttler(&self.config);
        // The same faults and batch orders again, as after start.
        *lock(&self.faults) = fault_injector(&self.config);
        *lock(&self.batch_order) = StdRng::seed_from_u64(self.config.seed);
        self.sequence.store(0, Ordering::SeqCst);
    }

    /// Adds a request to the log and the counters. Every POST, PATCH, PUT
    /// or DELETE of a Graph object counts as a write, whatever its answer;
    /// the `$batch` envelope does not (its items do).
    pub(super) fn record(&self, entry: LogEntry<'_>) {
        let LogEntry { method, path, query, status, body, batch_item, resource_units } = entry;
        let write = matches!(*method, Method::POST | Method::PATCH | Method::PUT | Method::DELETE)
            && !path.ends_with("/$batch");
        let sequence = self.sequence.fetch_add(1, Ordering::SeqCst) + 1;
        let body = if body.iter().all(u8::is_ascii_whitespace) {
            None
        } else {
            Some(
                serde_json::from_slice(body)
                    .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned())),
            )
        };
        tracing::debug!(
            "{method} {path}{}{query} -> {status}{}",
            if query.is_empty() { "" } else { "?" },
            batch_item.map(|id| format!(" (batch item {id})")).unwrap_or_default()
        );
        if *method == Method::DELETE {
            tracing::warn!("refused DELETE {path}: Graph cannot delete custom security attribute objects");
        }
        lock(&self.stats).count(method.as_str(), path, status, resource_units, write);
        lock(&self.log).push(RecordedRequest {
            sequence,
            method: method.as_str().to_owned(),
            path: path.to_owned(),
            query: (!query.is_empty()).then(|| query.to_owned()),
            status,
            body,
            batch_item: batch_item.map(str::to_owned),
        });
    }

    /// Rolls for a fault; counts it when one comes.
    pub(super) fn next_fault(&self, allow_reset: bool) -> Option<Fault> {
        let fault = lock(&self.faults).next_fault(allow_reset);
        if let Some(fault) = &fault {
            let mut stats = lock(&self.stats);
            stats.faults += 1;
            *stats.faults_by_kind.entry(fault.kind().to_owned()).or_default() += 1;
        }
        fault
    }

    /// Serves one Graph request (direct or a batch item): faults for batch
    /// items, the quota check, the route, persistence, the log.
    pub(super) fn serve_graph(
        &self,
        request: &GraphRequest,
        batch_item: Option<&str>,
        base_url: &str,
    ) -> GraphResponse {
        let cost = request_cost(&request.method, &request.path, &request.query);
        let fault = if batch_item.is_some() { self.next_fault(false) } else { None };
        let mut response = match fault {
            Some(Fault::UnavailableAfterWrite) => {
                // The item is served; its answer says it failed.
                let _ = self.serve_admitted(request, cost, base_url);
                GraphResponse::error(GraphError::service_unavailable())
            }
            Some(fault) => fault_response(&fault),
            None => self.serve_admitted(request, cost, base_url),
        };
        response.headers.push(("x-ms-resource-unit".into(), cost.resource_units.to_string()));
        self.record(LogEntry {
            method: &request.method,
            path: &format!("/v1.0/{}", request.path.trim_start_matches('/')),
            query: &request.query,
            status: response.status.as_u16(),
            body: &request.body,
            batch_item,
            resource_units: cost.resource_units,
        });
        response
    }

    fn serve_admitted(
        &self,
        request: &GraphRequest,
        cost: super::throttle::RequestCost,
        base_url: &str,
    ) -> GraphResponse {
        let now = Instant::now();
        let mut store = lock(&self.store);
        let admission = lock(&self.throttler).admit(cost, store.principals(PrincipalKind::User).len(), now);
        match admission {
            Admission::Throttled { retry_after, information } => {
                lock(&self.stats).throttled += 1;
                let mut response = GraphResponse::error(GraphError::too_many_requests());
                let seconds = retry_after.as_secs_f64().ceil().max(1.0);
                response.headers.push(("Retry-After".into(), format!("{seconds}")));
                response.headers.push((
                    "x-ms-throttle-scope".into(),
                    format!("Tenant_Application/ReadWrite/{EMULATOR_APPLICATION_ID}/{EMULATOR_TENANT_ID}"),
                ));
                response.headers.push(("x-ms-throttle-information".into(), information.into()));
                response
            }
            Admission::Admitted { limit_percentage } => {
                let context = RouteContext {
                    base_url: base_url.to_owned(),
                    page_size: self.config.page_size,
                    replication_lag: self.config.replication_lag,
                    now,
                };
                let mut response = dispatch(&mut store, request, &context);
                if let Some(percentage) = limit_percentage {
                    response
                        .headers
                        .push(("x-ms-throttle-limit-percentage".into(), format!("{percentage:.2}")));
                }
                if request.is_write()
                    && response.status.is_success()
                    && let Some(path) = &self.config.persist
                    && let Err(error) = write_document(path, &store.to_document())
                {
                    tracing::error!("cannot persist the store to {}: {error}", path.display());
                }
                response
            }
        }
    }
}

/// The application and tenant the throttle scope names.
const EMULATOR_APPLICATION_ID: &str = "00000000-0000-0000-0000-00000000e4a1";
const EMULATOR_TENANT_ID: &str = "00000000-0000-0000-0000-0000000074e1";

/// The 429 or 503 of an injected fault (a reset has no response).
pub(super) fn fault_response(fault: &Fault) -> GraphResponse {
    match fault {
        Fault::TooManyRequests { retry_after } => {
            let mut response = GraphResponse::error(GraphError::too_many_requests());
            if let Some(retry_after) = retry_after {
                response.headers.push(("Retry-After".into(), retry_after.clone()));
            }
            response
        }
        Fault::ServiceUnavailable
        | Fault::ConnectionReset
        | Fault::SlowAnswer
        | Fault::ResetAfterWrite
        | Fault::UnavailableAfterWrite => GraphResponse::error(GraphError::service_unavailable()),
    }
}

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(handle).with_state(shared)
}

/// Graph's timestamp format in `innerError.date`.
pub(super) fn graph_date() -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    time::OffsetDateTime::now_utc().format(format).unwrap_or_default()
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
fn authenticate(headers: &HeaderMap, expected: Option<&str>) -> Result<Grants, GraphError> {
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
        (Some(token), _) => Ok(Grants::of_token(token)),
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
        return control(&shared, &method, &path);
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

    let grants = match authenticate(&headers, shared.config.token.as_deref()) {
        Ok(grants) => grants,
        Err(error) => return answer_here(GraphResponse::error(error)),
    };
    let Some(graph_path) = path.strip_prefix("/v1.0/") else {
        // Emulator's choice: only the v1.0 service root is served.
        return answer_here(GraphResponse::error(GraphError::bad_request(format!(
            "Invalid version: the emulator serves only /v1.0/, not '{path}'."
        ))));
    };
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
            batch::serve(&shared, &body, &base, grants)
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
        };
        shared.serve_graph(&request, None, &base)
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

/// The body of a Graph response as JSON (`null` when empty), for batch items.
pub(super) fn body_json(body: &ResponseBody, request_id: &str) -> Value {
    match body {
        ResponseBody::Empty => Value::Null,
        ResponseBody::Json(value) => value.clone(),
        ResponseBody::Text(text) => Value::String(text.clone()),
        ResponseBody::Error(error) => error.envelope(request_id, None, &graph_date()),
    }
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

/// `/_emulator/…`: the log, the counters, the store, reset.
fn control(shared: &Shared, method: &Method, path: &str) -> Response {
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
        (_, "/_emulator/requests" | "/_emulator/stats" | "/_emulator/state" | "/_emulator/reset") => {
            json_response(StatusCode::METHOD_NOT_ALLOWED, json!({ "error": "method not allowed" }))
        }
        _ => json_response(
            StatusCode::NOT_FOUND,
            json!({ "error": "unknown control endpoint; try requests, stats, state or reset" }),
        ),
    }
}
