//! A local Microsoft Graph for custom security attributes (ARCHITECTURE.md, "The emulator"), so
//! the tests, the benchmarks and a newcomer can run the tool against a tenant
//! on loopback that enforces Graph's documented rules, shapes, faults and
//! quotas instead of a real one.
//!
//! `start` serves a store seeded from a state document (the state-file format) over HTTP;
//! the returned `RunningEmulator` exposes the store, the request log and the
//! counters to the test that started it:
//!
//! ```text
//! let emulator = emulator::start(EmulatorConfig { seed_state, ..Default::default() }).await?;
//! GET {emulator.base_url()}/v1.0/users?$select=id,customSecurityAttributes   (Authorization: Bearer any)
//! emulator.requests(); emulator.stats(); emulator.state(); emulator.shutdown().await;
//! ```
//!
//! Faults (`fault_rate`, by `seed`): 429 with and without `Retry-After`, 503,
//! a dropped connection; with `lost_answers` also the faults after which the
//! write has happened (an answer held back past the client's timeout, a reset
//! after the write, a batch item answered 503 after it was applied). Beyond
//! single faults: a `storm` (every write 429 for a while, as when another app
//! uses up the tenant's quota), an `outage` (every request 503 for a while),
//! and `other_app_share` (a second app using part of the write quota). A
//! `RunningEmulator` that received a DELETE panics when dropped unless
//! `expect_deletes` is set, so every test that uses one proves none was sent.
//!
//! Choices the emulator makes where Microsoft documents nothing are labelled
//! "emulator's choice" in the code and `emulators_own_…` in the tests. In
//! short: every refused write is 400 `Request_BadRequest` (duplicates,
//! immutable or unknown properties, limits, names, assignment types,
//! annotations and arity, predefined and inactive values, deprecated or
//! not-yet-replicated attributes); unknown ids are 404
//! `Request_ResourceNotFound`; DELETE is 405 with the documented
//! method-not-allowed message; a body that is not strict JSON is 400; string
//! booleans are accepted for `isActive` only (as the examples send them);
//! single integers need `#Int32` and non-empty collections their
//! `#Collection(...)` annotation; a principal keeps an inactive value it
//! already holds; `$top` above 999 is 400; a token that is not a JWT holds
//! every permission, a JWT only those its claims give (`permissions`).

pub mod arm;
pub mod audit;
mod batch;
mod control;
pub mod document;
mod error;
mod expansion;
mod faults;
mod odata;
mod permissions;
mod routes;
mod server;
mod service;
mod store;
mod throttle;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use document::StateDocument;

pub use control::{RecordedRequest, Stats};
pub use expansion::Expansion;
pub use throttle::Throttle;

/// How an emulator is set up; `Default` is a plain Graph on a free loopback port.
#[derive(Clone)]
pub struct EmulatorConfig {
    pub listen: SocketAddr,
    /// Allow an address that is not loopback.
    pub allow_non_loopback: bool,
    /// The tenant the store starts with (and returns to on reset).
    pub seed_state: StateDocument,
    /// Write the store here, atomically, after every change.
    pub persist: Option<PathBuf>,
    /// The only bearer token accepted; `None` accepts any non-empty one.
    pub token: Option<String>,
    /// Delay added to every Graph request.
    pub latency: Duration,
    /// Delay added per item of a collection page, on top of `latency`: a
    /// real page of 999 users with `customSecurityAttributes` takes a
    /// second or more, and a part-filled page less, so a benchmark waits
    /// for what users wait for.
    pub latency_per_item: Duration,
    /// Items per page when `$top` is absent (Graph's default is 100); a value
    /// below 100 also caps `$top`, to force paging.
    pub page_size: usize,
    /// How `$expand=allowedValues` is answered: whole, or cut short as a
    /// real tenant may cut it (`Expansion`).
    pub expansion: Expansion,
    /// Share of requests answered with an injected fault, 0 to 1.
    pub fault_rate: f64,
    /// Seed of the fault injector and of the order of batch responses.
    pub seed: u64,
    /// How long a newly created definition cannot be assigned.
    pub replication_lag: Duration,
    pub throttle: Throttle,
    /// Multiplies Graph's quotas.
    pub throttle_scale: f64,
    /// Adds to the injected faults those after which the write has
    /// happened: an answer held back for `slow_answer`, a connection reset
    /// after the write, a batch item answered 503 after it was applied.
    /// Off by default, so a seed's faults stay what they were.
    pub lost_answers: bool,
    /// How long a `SlowAnswer` fault holds the answer back.
    pub slow_answer: Duration,
    /// Multiplies the `Retry-After` of injected 429s (tests shorten them).
    pub retry_after_scale: f64,
    /// A throttling storm: every write answered 429 with `storm_retry_after`
    /// for a while, as when another app uses up the tenant's quota.
    pub storm: Option<Window>,
    pub storm_retry_after: Duration,
    /// An outage: every Graph request answered 503 for a while.
    pub outage: Option<Window>,
    /// Share of the write quota a second app of the tenant uses (with
    /// `throttle: Graph`): the write bucket starts empty, and only the rest
    /// of each refill is left.
    pub other_app_share: f64,
    /// Refuse `ge` and `le` on `userPrincipalName` (400
    /// `Request_UnsupportedQuery`), with or without advanced query
    /// parameters: Microsoft's filter table leaves `ge` blank for it, so a
    /// tenant may refuse the ranges a sweep is split into.
    pub refuse_upn_ranges: bool,
    /// Refuse `startsWith(appId, …)` without advanced query parameters (400
    /// `Request_UnsupportedQuery`): the `servicePrincipal` page lists it,
    /// the filter table leaves it blank.
    pub refuse_app_id_prefix: bool,
    /// Answer at most one Conditional Access read a second, the next with
    /// 429 and no `Retry-After`, as Graph documents. Off by default, so
    /// that tests running many plans against one emulator do not wait out a
    /// second each; `--throttle graph` turns it on with Graph's other quotas.
    pub limit_conditional_access_reads: bool,
    /// Advanced queries (`ConsistencyLevel: eventual`, `$count`, `$search`)
    /// see the tenant as it was this long ago, as the eventually consistent
    /// index Microsoft describes may. Keeps a copy of the store per write
    /// while it matters: a knob for tests, not for a million principals.
    pub advanced_query_lag: Duration,
    /// The test means to send DELETEs (to check they are refused). Without
    /// it, a `RunningEmulator` that received any DELETE panics when dropped,
    /// so every test that uses the emulator proves the client never sent one.
    pub expect_deletes: bool,
    /// A tenant whose Graph beta refuses the caller (403), as a tenant may
    /// for a preview API: the client must then say what it could not check.
    pub refuse_beta: bool,
    /// Keep every request, body and all, for `requests()` (on by default:
    /// tests read it). A benchmark of a million writes turns it off: the
    /// log would hold gigabytes, and the counters (`stats()`) are kept
    /// either way.
    pub keep_request_log: bool,
}

impl EmulatorConfig {
    /// The delay a collection page of `items` items gets on top of
    /// `latency`: `latency_per_item` for each, so a page of 999 waits about
    /// a hundred times longer than a page of 10, as Graph's do.
    pub fn page_latency(&self, items: usize) -> Duration {
        self.latency_per_item.saturating_mul(u32::try_from(items).unwrap_or(u32::MAX))
    }
}

/// Shows everything but the token.
impl std::fmt::Debug for EmulatorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmulatorConfig")
            .field("listen", &self.listen)
            .field("allow_non_loopback", &self.allow_non_loopback)
            .field("persist", &self.persist)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("latency", &self.latency)
            .field("latency_per_item", &self.latency_per_item)
            .field("page_size", &self.page_size)
            .field("expansion", &self.expansion)
            .field("fault_rate", &self.fault_rate)
            .field("seed", &self.seed)
            .field("replication_lag", &self.replication_lag)
            .field("throttle", &self.throttle)
            .field("throttle_scale", &self.throttle_scale)
            .field("lost_answers", &self.lost_answers)
            .field("slow_answer", &self.slow_answer)
            .field("retry_after_scale", &self.retry_after_scale)
            .field("storm", &self.storm)
            .field("storm_retry_after", &self.storm_retry_after)
            .field("outage", &self.outage)
            .field("other_app_share", &self.other_app_share)
            .field("refuse_upn_ranges", &self.refuse_upn_ranges)
            .field("refuse_app_id_prefix", &self.refuse_app_id_prefix)
            .field("advanced_query_lag", &self.advanced_query_lag)
            .field("expect_deletes", &self.expect_deletes)
            .field("keep_request_log", &self.keep_request_log)
            .finish_non_exhaustive()
    }
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            allow_non_loopback: false,
            seed_state: StateDocument::default(),
            persist: None,
            token: None,
            latency: Duration::ZERO,
            latency_per_item: Duration::ZERO,
            page_size: odata::GRAPH_DEFAULT_PAGE_SIZE,
            expansion: Expansion::Whole,
            fault_rate: 0.0,
            seed: 0,
            replication_lag: Duration::ZERO,
            throttle: Throttle::None,
            throttle_scale: 1.0,
            lost_answers: false,
            slow_answer: Duration::from_secs(2),
            retry_after_scale: 1.0,
            storm: None,
            storm_retry_after: Duration::from_secs(2),
            outage: None,
            other_app_share: 0.0,
            refuse_upn_ranges: false,
            refuse_app_id_prefix: false,
            limit_conditional_access_reads: false,
            advanced_query_lag: Duration::ZERO,
            expect_deletes: false,
            refuse_beta: false,
            keep_request_log: true,
        }
    }
}

/// When a storm or an outage happens: it begins with the write that comes
/// after `after_writes` writes (so "mid-apply" is repeatable) and lasts
/// `duration`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub after_writes: u64,
    pub duration: Duration,
}

/// A serving emulator; `shutdown` stops it. Dropped after receiving a
/// DELETE it panics, unless its config set `expect_deletes`.
pub struct RunningEmulator {
    address: SocketAddr,
    shared: Arc<service::Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

/// Binds the listener and starts serving in the background.
pub async fn start(config: EmulatorConfig) -> anyhow::Result<RunningEmulator> {
    if !config.listen.ip().is_loopback() && !config.allow_non_loopback {
        anyhow::bail!(
            "{} is not a loopback address; the emulator accepts any token, so pass --allow-non-loopback to serve it anyway",
            config.listen
        );
    }
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let address = listener.local_addr()?;
    let shared = Arc::new(service::Shared::new(config, address)?);
    let (stop, stopped) = oneshot::channel::<()>();
    let router = server::router(Arc::clone(&shared));
    let task = tokio::spawn(async move {
        let serving = axum::serve(listener, router).with_graceful_shutdown(async {
            let _ = stopped.await;
        });
        if let Err(error) = serving.await {
            tracing::error!("emulator stopped: {error}");
        }
    });
    Ok(RunningEmulator { address, shared, stop: Some(stop), task })
}

impl RunningEmulator {
    /// The service root without `/v1.0`, e.g. `http://127.0.0.1:8790`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The address it listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The store now, in the state-file format.
    pub fn state(&self) -> StateDocument {
        self.shared.state()
    }

    /// Changes group membership behind the tool's back, as an administrator
    /// would in the portal (Graph's group writes are not served): for tests
    /// of what a membership change does to a plan.
    pub fn edit_groups(&self, edit: impl FnOnce(&mut Vec<document::GroupShape>)) {
        self.shared.edit_groups(edit);
    }

    /// A write made as `initiated_by` (`{"user": {...}}` or `{"app": {...}}`,
    /// `None` for the default administrator), as `POST /_emulator/write`
    /// makes it: the audit log names that initiator. `path` is below the
    /// service root (`/v1.0/users/alice@contoso.com`).
    pub fn write_as(
        &self,
        initiated_by: Option<serde_json::Value>,
        method: &str,
        path: &str,
        body: serde_json::Value,
    ) -> Result<u16, String> {
        let request = serde_json::json!({
            "method": method, "path": path, "body": body, "initiatedBy": initiated_by,
        });
        self.shared.write_from_control(request.to_string().as_bytes()).map(|answer| answer.status.as_u16())
    }

    /// Every request served since start or the last reset.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.requests()
    }

    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }

    /// When the configured outage began, once it has.
    pub fn outage_began(&self) -> Option<std::time::Instant> {
        self.shared.outage_began()
    }

    /// Stops serving and waits (briefly) for open connections to close.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if tokio::time::timeout(Duration::from_secs(5), &mut self.task).await.is_err() {
            self.task.abort();
        }
    }
}

/// Fails the test that received a DELETE it did not ask for: the guarantee
/// "never a DELETE on the wire" holds for every test that starts an emulator.
impl Drop for RunningEmulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // The counters and the log record every request together; the log
        // (bodies and all) is only read to name the DELETEs in the failure.
        let counted = self.shared.stats().deletes;
        if counted > 0 && !self.shared.expects_deletes() && !std::thread::panicking() {
            let deletes: Vec<String> = self
                .shared
                .requests()
                .into_iter()
                .filter(|request| request.method.eq_ignore_ascii_case("DELETE"))
                .map(|request| request.path)
                .collect();
            panic!(
                "the emulator received {counted} DELETE request(s) ({}); nothing may ever be deleted \
                 (set EmulatorConfig::expect_deletes only in tests of the refusal itself)",
                deletes.join(", ")
            );
        }
    }
}
