//! The emulated Graph service behind the HTTP edge: the store, the request
//! log and counters, the fault injector and the quotas that every request
//! shares, and the serving of one Graph request (direct or a `$batch` item).
//! Both `server` (the HTTP handler) and `batch` (the `$batch` envelope) serve
//! through it; neither imports the other.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::http::Method;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::Value;

use super::control::{RecordedRequest, Stats};
use super::document::StateDocument;
use super::error::GraphError;
use super::faults::{Fault, FaultInjector};
use super::routes::{GraphRequest, GraphResponse, ResponseBody, RouteContext, dispatch};
use super::store::Store;
use super::throttle::{Admission, RequestCost, Throttler, request_cost};
use super::{EmulatorConfig, Window};
use crate::model::PrincipalKind;
use crate::tenant::state_file::write_document;

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
    pub(super) config: EmulatorConfig,
    pub(super) address: SocketAddr,
    seed_store: Store,
    store: Mutex<Store>,
    log: Mutex<Vec<RecordedRequest>>,
    stats: Mutex<Stats>,
    faults: Mutex<FaultInjector>,
    throttler: Mutex<Throttler>,
    pub(super) batch_order: Mutex<StdRng>,
    sequence: AtomicU64,
    /// Writes received (direct or batch items), for when a window begins.
    writes_seen: AtomicU64,
    storm_began: Mutex<Option<Instant>>,
    outage_began: Mutex<Option<Instant>>,
    /// With `advanced_query_lag`: when each recent write came, and the store
    /// just before it, oldest first, for advanced queries to read from.
    before_writes: Mutex<VecDeque<(Instant, Store)>>,
}

/// The fault injector a start (or a reset) begins with.
fn fault_injector(config: &EmulatorConfig) -> FaultInjector {
    FaultInjector::new(config.fault_rate, config.seed)
        .with_lost_answers(config.lost_answers)
        .with_retry_after_scale(config.retry_after_scale)
}

/// The quotas a start (or a reset) begins with, none used.
fn throttler(config: &EmulatorConfig) -> Throttler {
    Throttler::new(config.throttle, config.throttle_scale, config.other_app_share)
}

/// Whether `window` is on at `now`, given the writes received so far; it
/// begins (once) when they reach its `after_writes`.
fn window_on(window: Option<Window>, writes_seen: u64, began: &Mutex<Option<Instant>>, now: Instant) -> bool {
    let Some(window) = window else { return false };
    if writes_seen < window.after_writes {
        return false;
    }
    let began = *lock(began).get_or_insert(now);
    now < began + window.duration
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
            writes_seen: AtomicU64::new(0),
            storm_began: Mutex::new(None),
            outage_began: Mutex::new(None),
            before_writes: Mutex::new(VecDeque::new()),
            config,
        })
    }

    pub fn state(&self) -> StateDocument {
        lock(&self.store).to_document()
    }

    /// Changes the groups in place, as an administrator would in the portal.
    pub fn edit_groups(&self, edit: impl FnOnce(&mut Vec<super::document::GroupShape>)) {
        edit(lock(&self.store).groups.get_or_insert_with(Vec::new));
    }

    /// The document's Azure Resource Graph rows, as seeded.
    pub fn azure_role_assignments(&self) -> Option<Vec<super::document::PolicyDocument>> {
        lock(&self.store).azure_role_assignments.clone()
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.log).clone()
    }

    pub fn stats(&self) -> Stats {
        lock(&self.stats).clone()
    }

    /// Counts the delay a page got for its items.
    pub(super) fn note_page_latency(&self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        let mut stats = lock(&self.stats);
        stats.page_latency_us = stats.page_latency_us.saturating_add(micros);
    }

    pub fn expects_deletes(&self) -> bool {
        self.config.expect_deletes
    }

    pub(super) fn reset(&self) {
        *lock(&self.store) = self.seed_store.clone();
        lock(&self.before_writes).clear();
        lock(&self.log).clear();
        *lock(&self.stats) = Stats::default();
        *lock(&self.throttler) = throttler(&self.config);
        // The same faults and batch orders again, as after start.
        *lock(&self.faults) = fault_injector(&self.config);
        *lock(&self.batch_order) = StdRng::seed_from_u64(self.config.seed);
        self.sequence.store(0, Ordering::SeqCst);
        self.writes_seen.store(0, Ordering::SeqCst);
        *lock(&self.storm_began) = None;
        *lock(&self.outage_began) = None;
    }

    pub fn outage_began(&self) -> Option<Instant> {
        *lock(&self.outage_began)
    }

    /// Whether an outage is on now: every Graph request is then answered 503.
    pub(super) fn outage_on(&self) -> bool {
        let writes_seen = self.writes_seen.load(Ordering::SeqCst);
        let on = window_on(self.config.outage, writes_seen, &self.outage_began, Instant::now());
        if on {
            lock(&self.stats).outage_refusals += 1;
        }
        on
    }

    /// Counts a write received, and says whether a storm refuses it.
    fn storm_refuses(&self, request: &GraphRequest) -> bool {
        if !request.is_write() {
            return false;
        }
        // The writes received before this one.
        let writes_seen = self.writes_seen.fetch_add(1, Ordering::SeqCst);
        let on = window_on(self.config.storm, writes_seen, &self.storm_began, Instant::now());
        if on {
            let mut stats = lock(&self.stats);
            stats.storm_refusals += 1;
            stats.throttled += 1;
        }
        on
    }

    /// Adds a request to the log and the counters. Every POST, PATCH, PUT
    /// or DELETE of a Graph object counts as a write, whatever its answer;
    /// the `$batch` envelope does not (its items do).
    pub(super) fn record(&self, entry: LogEntry<'_>) {
        let LogEntry { method, path, query, status, body, batch_item, resource_units } = entry;
        let write = matches!(*method, Method::POST | Method::PATCH | Method::PUT | Method::DELETE)
            && !path.ends_with("/$batch");
        let sequence = self.sequence.fetch_add(1, Ordering::SeqCst) + 1;
        tracing::debug!(
            "{method} {path}{}{query} -> {status}{}",
            if query.is_empty() { "" } else { "?" },
            batch_item.map(|id| format!(" (batch item {id})")).unwrap_or_default()
        );
        if *method == Method::DELETE {
            tracing::warn!("refused DELETE {path}: Graph cannot delete custom security attribute objects");
        }
        lock(&self.stats).count(method.as_str(), path, status, resource_units, write);
        if !self.config.keep_request_log {
            return;
        }
        let body = if body.iter().all(u8::is_ascii_whitespace) {
            None
        } else {
            Some(
                serde_json::from_slice(body)
                    .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned())),
            )
        };
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
        let stormy = self.storm_refuses(request);
        let mut response = match fault {
            _ if stormy => throttled_response(self.config.storm_retry_after, "WriteLimitExceeded"),
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
            path: &format!(
                "/{}/{}",
                if request.beta { "beta" } else { "v1.0" },
                request.path.trim_start_matches('/')
            ),
            query: &request.query,
            status: response.status.as_u16(),
            body: &request.body,
            batch_item,
            resource_units: cost.resource_units,
        });
        response
    }

    fn serve_admitted(&self, request: &GraphRequest, cost: RequestCost, base_url: &str) -> GraphResponse {
        let now = Instant::now();
        let mut store = lock(&self.store);
        let admission = lock(&self.throttler).admit(cost, store.principals(PrincipalKind::User).len(), now);
        match admission {
            Admission::Throttled { retry_after, information } => {
                lock(&self.stats).throttled += 1;
                let seconds = retry_after.as_secs_f64().ceil().max(1.0);
                throttled_response(Duration::from_secs_f64(seconds), information)
            }
            Admission::Admitted { limit_percentage } => {
                let context = self.route_context(base_url, now);
                let mut response = match self.lagging_store(&store, request, now) {
                    Some(mut past) => dispatch(&mut past, request, &context),
                    None => audited_dispatch(&mut store, request, &context, None),
                };
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

/// Serves `request` against `store`, recording a write that succeeds in the
/// audit log (`emulator::audit`), at `at` or now.
fn audited_dispatch(
    store: &mut Store,
    request: &GraphRequest,
    context: &RouteContext,
    at: Option<time::OffsetDateTime>,
) -> GraphResponse {
    let pending = super::audit::before_write(store, request);
    let response = dispatch(store, request, context);
    if let Some(pending) = pending {
        let at = at.unwrap_or_else(time::OffsetDateTime::now_utc);
        let sequence = store.audit.len() + 1;
        if let Some(entry) =
            super::audit::after_write(store, pending, &response, &request.initiator, at, sequence)
        {
            store.audit.push(entry);
        }
    }
    response
}

impl Shared {
    fn route_context(&self, base_url: &str, now: Instant) -> RouteContext {
        RouteContext {
            base_url: base_url.to_owned(),
            page_size: self.config.page_size,
            expansion: self.config.expansion,
            replication_lag: self.config.replication_lag,
            now,
            refuse_upn_ranges: self.config.refuse_upn_ranges,
            refuse_app_id_prefix: self.config.refuse_app_id_prefix,
            limit_conditional_access_reads: self.config.limit_conditional_access_reads,
        }
    }

    /// `POST /_emulator/write`: a Graph write made as someone other than the
    /// caller of the Graph endpoints — an administrator in the portal, or
    /// another app — so the audit log names that initiator. The body is
    /// `{"method", "path" (below the service root, e.g.
    /// "/v1.0/users/alice@contoso.com"), "body", "initiatedBy" (optional:
    /// {"user": {"userPrincipalName", "id"}} or {"app": {"appId",
    /// "displayName"}}; by default the user `admin@emulator.invalid`),
    /// "activityDateTime" (optional, RFC 3339: when the log says it
    /// happened)}`. Emulator's choice: such a write holds every grant, meets
    /// no fault or quota, and is neither logged with the requests nor counted.
    pub fn write_from_control(&self, body: &[u8]) -> Result<GraphResponse, String> {
        let body: Value =
            serde_json::from_slice(body).map_err(|error| format!("the body is not JSON: {error}"))?;
        let text = |key: &str| body.get(key).and_then(Value::as_str);
        let method = Method::from_bytes(text("method").unwrap_or("PATCH").to_ascii_uppercase().as_bytes())
            .map_err(|_| "`method` is not an HTTP method".to_owned())?;
        let path = text("path").ok_or("`path` is missing")?;
        let path = path.strip_prefix("/v1.0/").ok_or("`path` must start with /v1.0/")?;
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        let initiator = match body.get("initiatedBy") {
            None | Some(Value::Null) => super::audit::Initiator::control_user(),
            Some(value) => super::audit::Initiator::from_json(value)?,
        };
        let at = match text("activityDateTime") {
            None => None,
            Some(at) => Some(
                time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339)
                    .map_err(|error| format!("`activityDateTime` is not RFC 3339: {error}"))?,
            ),
        };
        let request = GraphRequest {
            method,
            path: path.to_owned(),
            query: query.to_owned(),
            headers: axum::http::HeaderMap::new(),
            body: match body.get("body") {
                None | Some(Value::Null) => Vec::new(),
                Some(value) => serde_json::to_vec(value).unwrap_or_default(),
            },
            grants: super::permissions::Grants::ALL,
            beta: false,
            initiator,
        };
        let now = Instant::now();
        let context = self.route_context(&format!("http://{}", self.address), now);
        let mut store = lock(&self.store);
        let response = audited_dispatch(&mut store, &request, &context, at);
        if request.is_write()
            && response.status.is_success()
            && let Some(path) = &self.config.persist
            && let Err(error) = write_document(path, &store.to_document())
        {
            tracing::error!("cannot persist the store to {}: {error}", path.display());
        }
        Ok(response)
    }

    /// With `advanced_query_lag`: keeps the store as it is before a write,
    /// and gives an advanced query the store as it was `advanced_query_lag`
    /// ago (the store before the first write since then); `None` serves the
    /// store as it is.
    fn lagging_store(&self, store: &Store, request: &GraphRequest, now: Instant) -> Option<Store> {
        let lag = self.config.advanced_query_lag;
        if lag.is_zero() {
            return None;
        }
        let mut before_writes = lock(&self.before_writes);
        // Writes older than the lag are seen by every query.
        let as_of = now.checked_sub(lag);
        while before_writes.front().is_some_and(|(at, _)| as_of.is_some_and(|as_of| *at <= as_of)) {
            before_writes.pop_front();
        }
        if request.is_write() {
            before_writes.push_back((now, store.clone()));
            return None;
        }
        if !request.is_advanced() {
            return None;
        }
        before_writes.front().map(|(_, before)| before.clone())
    }
}

/// The application and tenant the throttle scope names.
const EMULATOR_APPLICATION_ID: &str = "00000000-0000-0000-0000-00000000e4a1";
const EMULATOR_TENANT_ID: &str = "00000000-0000-0000-0000-0000000074e1";

/// A 429 of the quota model or a storm, with the headers Graph sends (C-THL).
fn throttled_response(retry_after: Duration, information: &str) -> GraphResponse {
    let mut response = GraphResponse::error(GraphError::too_many_requests());
    response.headers.push(("Retry-After".into(), format!("{}", retry_after.as_secs_f64())));
    response.headers.push((
        "x-ms-throttle-scope".into(),
        format!("Tenant_Application/ReadWrite/{EMULATOR_APPLICATION_ID}/{EMULATOR_TENANT_ID}"),
    ));
    response.headers.push(("x-ms-throttle-information".into(), information.into()));
    response
}

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

/// Graph's timestamp format in `innerError.date`.
pub(super) fn graph_date() -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    time::OffsetDateTime::now_utc().format(format).unwrap_or_default()
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
