//! The HTTP side of Graph: one `reqwest` client, a bearer token on every
//! request, retries (`Retry-After` honoured) for 429/503/504, resets and
//! timeouts (reads also for 500/502), client-side pacing of writes shared by
//! every writer, `$batch` with per-item
//! retries, and paging that follows `@odata.nextLink` verbatim — but only on
//! the service's own origin, and never in a loop. Logs (tracing) name the
//! method, path, status, attempt and time; never a token.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use url::Url;

use super::auth::{AuthError, BearerToken, TokenSource};
use super::batch::{BatchError, BatchItemResponse, BatchRequest, envelope, parse_answer};
use super::endpoint::GraphEndpoint;
use super::pacing::{GRAPH_WRITE_WINDOW, GRAPH_WRITES_PER_WINDOW, WritePacer, WriteSignal};
use super::read_pacing::{ReadPacer, ReadSignal};
use super::retry::{Refusal, RetryBudget, RetryPolicy, is_retryable, parse_retry_after};

/// How the client behaves; the defaults suit Microsoft Graph.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub retry: RetryPolicy,
    /// How long a new definition may take to become assignable.
    pub replication: RetryPolicy,
    /// Graph's write quota the pacer spends: writes per `write_window`
    /// (`pacing`).
    pub write_budget: u32,
    pub write_window: Duration,
    /// Paces writes (`pacing`). Off, writes go as fast as the batches in
    /// flight allow, waiting only for a `Retry-After`: the benchmarks'
    /// comparison of the pacer with no pacing at all, never a user's choice.
    pub pace_writes: bool,
    /// Batches in flight at once during an apply.
    pub concurrency: usize,
    /// Timeout of one HTTP request.
    pub request_timeout: Duration,
    /// Writes per `$batch` envelope: Graph's 20, or 1 to send them one by
    /// one (the benchmarks' comparison with tools that do).
    pub batch_size: usize,
    /// The route of a read of declared principals; `None` chooses the
    /// cheaper one. The benchmarks force the other to show the choice.
    pub read_route: Option<super::route::Route>,
    /// Keeps every exchange (the acceptance suite's recordings); `None` keeps nothing.
    pub recorder: Option<super::recording::Recorder>,
    /// Pages read at once by a partitioned sweep.
    pub read_concurrency: usize,
    /// Ranges a sweep of every principal is split into; `None` chooses
    /// (`partition::partitions_for`). Tests force it on small tenants.
    pub sweep_partitions: Option<usize>,
    /// Resource units per 10 s the read pacer aims under (90 % of it);
    /// `None`: Graph's documented quota for the tenant's size
    /// (`read_pacing`). Tests tell it what the emulator enforces.
    pub read_budget: Option<u32>,
    /// How long after one Conditional Access request ends the next may
    /// start: Graph's one a second (`policies`). Tests against an emulator
    /// that does not hold them to it set it to zero.
    pub conditional_access_interval: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            retry: RetryPolicy::default(),
            replication: RetryPolicy {
                // As short as a plain retry at first (a batch with writes on
                // new definitions meets 503s and resets like any other), then
                // longer and for longer, as replication may take a while.
                min_delay: Duration::from_millis(500),
                max_delay: Duration::from_secs(15),
                max_attempts: 20,
                max_total_delay: Duration::from_secs(120),
                max_throttle_wait: Duration::from_secs(600),
            },
            write_budget: GRAPH_WRITES_PER_WINDOW,
            write_window: GRAPH_WRITE_WINDOW,
            pace_writes: true,
            concurrency: 4,
            request_timeout: Duration::from_secs(60),
            batch_size: super::batch::MAX_BATCH_REQUESTS,
            read_route: None,
            recorder: None,
            read_concurrency: super::partition::MAX_PARTITIONS,
            sweep_partitions: None,
            read_budget: None,
            conditional_access_interval: super::policies::CONDITIONAL_ACCESS_INTERVAL,
        }
    }
}

/// A Graph call that did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    #[error("{method} {path}: HTTP {status}{}: {message}", code.as_deref().map(|c| format!(" {c}")).unwrap_or_default())]
    Status {
        method: String,
        path: String,
        status: u16,
        code: Option<String>,
        message: String,
        retry_after: Option<Duration>,
    },
    #[error("{method} {path}: {message}")]
    Transport { method: String, path: String, message: String },
    /// The request got no answer: the name did not resolve, the connection
    /// or its TLS handshake failed, or it timed out. Retried, and each retry
    /// is shown at default verbosity (`with_retries`).
    #[error("{method} {path}: {message}")]
    Unreachable { method: String, path: String, reason: Unreachable, message: String },
    /// The host refused the connection: nothing listens there, so retrying
    /// would only delay the report of a wrong `--graph-url`.
    #[error("{method} {path}: {message}")]
    Refused { method: String, path: String, message: String },
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("{method} {path}: unexpected answer: {message}")]
    Body { method: String, path: String, message: String },
    #[error("POST /$batch: {0}")]
    Batch(#[from] BatchError),
    #[error("paging {path}: {message}")]
    Paging { path: String, message: String },
    /// A write held by the pacer when the apply was told to stop
    /// (`GraphClient::stop_flag`): it was not sent. `sent_before`: an
    /// earlier attempt of it was (refused or failed transiently), so what
    /// became of it is not known for sure.
    #[error("not sent: the apply was stopped")]
    Stopped { sent_before: bool },
    /// Items of a batch still throttled or failing transiently (internal to retries).
    #[error("{count} batch item(s) still to retry")]
    /// `progressed`: some items settled in that round and the rest met
    /// faults, so the backoff starts again (it grows while Graph keeps failing).
    ItemsPending { count: usize, retry_after: Option<Duration>, progressed: bool },
}

impl GraphError {
    /// Whether another attempt may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            GraphError::Status { status, method, .. } => is_retryable(method, *status),
            GraphError::Transport { .. }
            | GraphError::Unreachable { .. }
            | GraphError::ItemsPending { .. } => true,
            _ => false,
        }
    }

    /// Whether Graph refused it for throttling (429; a batch's items all 429).
    fn throttled(&self) -> bool {
        match self {
            GraphError::Status { status, .. } => *status == 429,
            GraphError::ItemsPending { retry_after, .. } => retry_after.is_some(),
            _ => false,
        }
    }

    pub(crate) fn retry_after(&self) -> Option<Duration> {
        match self {
            GraphError::Status { retry_after, .. } | GraphError::ItemsPending { retry_after, .. } => {
                *retry_after
            }
            _ => None,
        }
    }

    /// What to do about a refusal, for the errors people can fix.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            GraphError::Status { status: 401, .. } => {
                Some("the token was refused: sign in again, and check that it is for this cloud's Graph")
            }
            GraphError::Status { status: 403, method, path, .. } => {
                let assignments = path.contains("/users") || path.contains("/servicePrincipals");
                Some(match (assignments, method.as_str() == "GET") {
                    (true, true) => {
                        "reading assigned values needs CustomSecAttributeAssignment.Read.All; a signed-in \
                         user also needs the Attribute Assignment Reader or Administrator role"
                    }
                    (true, false) => {
                        "assigning values needs CustomSecAttributeAssignment.ReadWrite.All; a signed-in user \
                         also needs the Attribute Assignment Administrator role, tenant-wide or on the set"
                    }
                    (false, true) => {
                        "reading sets and definitions needs CustomSecAttributeDefinition.Read.All; a \
                         signed-in user also needs the Attribute Definition Reader role (or another attribute role)"
                    }
                    (false, false) => {
                        "changing sets and definitions needs CustomSecAttributeDefinition.ReadWrite.All; a \
                         signed-in user also needs the Attribute Definition Administrator role"
                    }
                })
            }
            _ => None,
        }
    }

    /// The error with its hint, for people.
    pub fn explained(&self) -> String {
        match self.hint() {
            Some(hint) => format!("{self} (hint: {hint})"),
            None => self.to_string(),
        }
    }

    /// Why Graph could not be reached, for a request that got no answer.
    pub fn unreachable(&self) -> Option<Unreachable> {
        match self {
            GraphError::Unreachable { reason, .. } => Some(*reason),
            _ => None,
        }
    }

    /// The HTTP status, for an answered request.
    pub fn status(&self) -> Option<u16> {
        match self {
            GraphError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// A successful answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

/// One page of a collection.
#[derive(Debug, Clone)]
pub struct Page {
    pub items: Vec<Value>,
    pub next: Option<Url>,
    /// `@odata.count`, when asked for and given.
    pub count: Option<u64>,
}

/// The Graph client.
#[derive(Debug)]
pub struct GraphClient {
    http: reqwest::Client,
    endpoint: GraphEndpoint,
    v1: Url,
    tokens: TokenSource,
    pacer: Mutex<WritePacer>,
    /// A token bucket over resource units, for reads: told each answer's
    /// `x-ms-resource-unit` and `x-ms-throttle-limit-percentage`.
    read_pacer: Mutex<ReadPacer>,
    /// When the last Conditional Access request ended: Graph answers one a
    /// second per tenant (`policies`). Held across a read, so that two
    /// reads through one client never overlap.
    pub(crate) conditional_access_clock: tokio::sync::Mutex<Option<Instant>>,
    pub(crate) options: ClientOptions,
    /// Set when an apply is told to stop (a signal, the deadline): a write
    /// the pacer holds is then not sent (`pace`), so nothing new goes out
    /// during the grace given to the requests in flight.
    stop: Arc<AtomicBool>,
}

/// How often a write the pacer holds looks at the stop flag.
const STOP_POLL: Duration = Duration::from_millis(50);

/// The path and query of `url`, for logs and errors.
pub fn shown(url: &Url) -> String {
    match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    }
}

/// `text` (an id from the tenant or the files) as one URL path segment that
/// decodes back to exactly `text`: every byte but letters, digits and
/// `-._~@` is percent-encoded, and a segment of dots alone (`.`, `..`), which
/// URL resolution would drop or climb with, has its dots encoded too. The
/// url crate's `push` drops `.` and `..`, which sent writes to the wrong URL.
///
/// Such a segment survives only in a string sent as is (a `$batch` item's
/// `url`, where every write goes); `Url` parsing resolves `%2E` as a dot too.
pub fn segment(text: &str) -> String {
    segment_keeping(text, b"")
}

/// `text` percent-encoded as a query string value (`$filter=…`): every
/// byte but unreserved ones.
pub fn query_value(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// As `segment`, also leaving the bytes of `also_plain` as they are (path
/// segments may hold RFC 3986 sub-delims such as `$` and `'` unencoded).
pub fn segment_keeping(text: &str, also_plain: &[u8]) -> String {
    let dots_only = !text.is_empty() && text.bytes().all(|byte| byte == b'.');
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        let plain = byte.is_ascii_alphanumeric()
            || matches!(byte, b'-' | b'_' | b'~' | b'@')
            || also_plain.contains(&byte)
            || (byte == b'.' && !dots_only);
        if plain {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

impl GraphClient {
    pub fn new(
        endpoint: GraphEndpoint,
        tokens: TokenSource,
        options: ClientOptions,
    ) -> Result<Self, GraphError> {
        let http = reqwest::Client::builder()
            .timeout(options.request_timeout)
            .connect_timeout(Duration::from_secs(15))
            .user_agent(concat!("entra-csa/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| GraphError::Transport {
                method: "-".into(),
                path: "-".into(),
                message: format!("cannot build the HTTP client: {error}"),
            })?;
        let pacer = Mutex::new(WritePacer::new(options.write_budget, options.write_window, Instant::now()));
        let read_pacer = Mutex::new(ReadPacer::new(options.read_budget, Instant::now()));
        Ok(GraphClient {
            http,
            v1: endpoint.v1(),
            endpoint,
            tokens,
            pacer,
            read_pacer,
            conditional_access_clock: tokio::sync::Mutex::new(None),
            options,
            stop: Arc::new(AtomicBool::new(false)),
        })
    }

    /// The flag that stops this client's writes: once set, a write waiting
    /// for the pacer (or about to ask it) is not sent and fails with
    /// `GraphError::Stopped`. Reads are not affected.
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.stop)
    }

    pub fn endpoint(&self) -> &GraphEndpoint {
        &self.endpoint
    }

    /// A token for the Graph scope (for the claims check).
    pub async fn token(&self) -> Result<BearerToken, GraphError> {
        Ok(self.tokens.token().await?)
    }

    /// The v1.0 URL of `relative` (e.g. `directory/attributeSets?$top=999`).
    pub fn url(&self, relative: &str) -> Url {
        self.v1.join(relative.trim_start_matches('/')).expect("relative Graph paths join")
    }

    /// A nextLink Graph gave (on its own origin, under the version root) as
    /// the relative URL a `$batch` item takes: batch items must not be
    /// absolute.
    pub fn relative_link(&self, link: &str, path: &str) -> Result<String, GraphError> {
        let url = self.next_link(link, path)?;
        let root = self.v1.path().trim_end_matches('/');
        match url.path().strip_prefix(root) {
            Some(rest) if rest.starts_with('/') => Ok(match url.query() {
                Some(query) => format!("{rest}?{query}"),
                None => rest.to_owned(),
            }),
            _ => Err(GraphError::Paging {
                path: path.to_owned(),
                message: format!("`{link}` is not under the service root {root}/"),
            }),
        }
    }

    /// The tenant holds `users` users: reads are paced under the quota
    /// Graph documents for its size.
    pub fn tenant_users(&self, users: u64) {
        self.read_pacer.lock().expect("read pacer lock").tenant_users(users, Instant::now());
    }

    /// The tenant holds at least `users` users (they were read): a larger
    /// size's read quota applies, never a smaller one.
    pub fn tenant_has_at_least_users(&self, users: u64) {
        self.read_pacer.lock().expect("read pacer lock").tenant_has_at_least(users, Instant::now());
    }

    /// The read quota the client paces under: resource units per 10 s.
    pub fn read_quota(&self) -> u32 {
        self.read_pacer.lock().expect("read pacer lock").budget()
    }

    /// How long `writes` more writes take at the write pacer's pace from
    /// now (latency aside): for a progress line's time left.
    pub fn expected_write_time(&self, writes: u64) -> Duration {
        self.pacer.lock().expect("pacer lock").expected_time_for(writes, Instant::now())
    }

    /// The rate an apply of many quota windows settles to, in writes per second.
    pub fn sustained_write_rate(&self) -> f64 {
        self.pacer.lock().expect("pacer lock").sustained_rate()
    }

    /// Waits until the read pacer lets a read go; says how long that took.
    async fn pace_read(&self) -> Duration {
        let started = Instant::now();
        loop {
            let wait = self.read_pacer.lock().expect("read pacer lock").wait_for(Instant::now());
            if wait.is_zero() {
                return started.elapsed();
            }
            tracing::trace!(wait_ms = wait.as_millis() as u64, "pacing reads");
            tokio::time::sleep(wait).await;
        }
    }

    /// Waits until the pacer lets `writes` go (the read pacer for a read),
    /// and says how long that took and which throttling episode they are
    /// sent in. Writes are refused (`GraphError::Stopped`, with
    /// `sent_before`) once the stop flag is set, however long the pacer
    /// would have held them: the flag is looked at before the pacer is
    /// asked and at least every `STOP_POLL` while it holds them.
    async fn pace(&self, writes: u32, sent_before: bool) -> Result<(Duration, u64), GraphError> {
        if writes == 0 {
            let waited = self.pace_read().await;
            return Ok((waited, self.pacer.lock().expect("pacer lock").episode()));
        }
        let started = Instant::now();
        loop {
            if self.stop.load(Ordering::SeqCst) {
                return Err(GraphError::Stopped { sent_before });
            }
            let (wait, episode) = {
                let mut pacer = self.pacer.lock().expect("pacer lock");
                let now = Instant::now();
                let wait = if self.options.pace_writes {
                    pacer.wait_for(writes, now)
                } else {
                    pacer.pause_left(now)
                };
                (wait, pacer.episode())
            };
            if wait.is_zero() {
                return Ok((started.elapsed(), episode));
            }
            tracing::debug!(writes, wait_ms = wait.as_millis() as u64, "pacing writes");
            // The pacer's answer is asked again after the sleep (it reserves
            // nothing while it holds writes), so a short sleep costs nothing.
            tokio::time::sleep(wait.min(STOP_POLL)).await;
        }
    }

    fn observe(&self, signal: WriteSignal, sent_in: u64) {
        if signal.writes > 0 {
            self.pacer.lock().expect("pacer lock").observe(signal, sent_in, Instant::now());
        }
    }

    /// One attempt; no retries.
    /// `writes` were paced in episode `sent_in`; a `$batch` envelope
    /// answered 200 reports its items' signals itself.
    async fn attempt(
        &self,
        method: &Method,
        url: &Url,
        body: Option<&Value>,
        headers: &[(&str, &str)],
        writes: u32,
        sent_in: u64,
    ) -> Result<Answer, GraphError> {
        let token = self.tokens.token().await?;
        let mut request = self.http.request(method.clone(), url.clone()).bearer_auth(token.expose());
        for (name, value) in headers {
            request = request.header(*name, HeaderValue::from_str(value).expect("static header values"));
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let started = Instant::now();
        let path = shown(url);
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => {
                let reason = Unreachable::of(&error);
                let kind = reason.described();
                tracing::debug!(%method, %path, elapsed_ms = started.elapsed().as_millis() as u64, "{kind}");
                let refused = connection_refused(&error);
                let message = format!("{kind}: {}", error_chain(&error.without_url()));
                return Err(if refused {
                    GraphError::Refused { method: method.to_string(), path, message }
                } else {
                    GraphError::Unreachable { method: method.to_string(), path, reason, message }
                });
            }
        };
        let status = response.status();
        let response_headers = response.headers().clone();
        let said = quota_signal(status, &response_headers);
        // A `$batch` answered 200 reports its items' signals (`batch_once`).
        if !status.is_success() || !url.path().ends_with("/$batch") {
            let throttled = if said.throttled { writes } else { 0 };
            let whole = url.path().ends_with("/$batch");
            let (retry_after, pressure) = (said.retry_after, said.pressure);
            self.observe(WriteSignal { writes, throttled, retry_after, pressure, whole }, sent_in);
        }
        if writes == 0 {
            self.read_pacer.lock().expect("read pacer lock").observe(said, Instant::now());
        }
        let bytes = match response.bytes().await {
            Ok(bytes) => bytes,
            Err(error) => {
                return Err(GraphError::Transport {
                    method: method.to_string(),
                    path,
                    message: format!("reading the answer failed: {}", error_chain(&error.without_url())),
                });
            }
        };
        tracing::debug!(
            %method, %path, status = status.as_u16(), elapsed_ms = started.elapsed().as_millis() as u64, "graph"
        );
        let parsed: Value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        if let Some(recorder) = &self.options.recorder {
            recorder.record(super::recording::Exchange {
                method: method.to_string(),
                url: url.as_str().strip_prefix(self.v1.as_str()).unwrap_or(url.as_str()).to_owned(),
                request: body.cloned(),
                status: status.as_u16(),
                response: parsed.clone(),
            });
        }
        if status.is_success() {
            return Ok(Answer { status: status.as_u16(), body: parsed });
        }
        Err(status_error(method.as_str(), &path, status, &response_headers, &parsed))
    }

    /// A request with retries: `writes` is how many quota writes it costs.
    pub async fn send(
        &self,
        method: Method,
        url: &Url,
        body: Option<&Value>,
        headers: &[(&str, &str)],
        writes: u32,
    ) -> Result<Answer, GraphError> {
        let method = &method;
        self.with_retries(self.options.retry, "retrying", &|| writes, move |sent_in| async move {
            self.attempt(method, url, body, headers, writes, sent_in).await
        })
        .await
    }

    pub async fn get(&self, url: &Url) -> Result<Answer, GraphError> {
        self.send(Method::GET, url, None, &[], 0).await
    }

    /// The beta URL of `relative` (`identity/conditionalAccess/policies`).
    pub fn beta_url(&self, relative: &str) -> Url {
        self.endpoint.beta().join(relative.trim_start_matches('/')).expect("relative Graph paths join")
    }

    /// One page of a collection at `url`.
    pub async fn page(&self, url: &Url, headers: &[(&str, &str)]) -> Result<Page, GraphError> {
        self.page_retried(url, headers, self.options.retry).await
    }

    /// One page, retried as `policy` says (a request whose answer only
    /// speeds a read up gives up sooner).
    pub async fn page_retried(
        &self,
        url: &Url,
        headers: &[(&str, &str)],
        policy: RetryPolicy,
    ) -> Result<Page, GraphError> {
        let answer = self
            .with_retries(policy, "retrying", &|| 0, move |sent_in| async move {
                self.attempt(&Method::GET, url, None, headers, 0, sent_in).await
            })
            .await?;
        self.page_of(url, answer)
    }

    /// One page of a collection at `url`, in one attempt with no retry: for
    /// the caller that paces a resource by rules of its own
    /// (`policies::read`, at most one Conditional Access read a second).
    pub async fn page_once(&self, url: &Url) -> Result<Page, GraphError> {
        let (_, sent_in) = self.pace(0, false).await?;
        let answer = self.attempt(&Method::GET, url, None, &[], 0, sent_in).await?;
        self.page_of(url, answer)
    }

    fn page_of(&self, url: &Url, answer: Answer) -> Result<Page, GraphError> {
        let path = shown(url);
        let body_error = |message: &str| GraphError::Body {
            method: "GET".into(),
            path: path.clone(),
            message: message.into(),
        };
        let Value::Object(mut body) = answer.body else {
            return Err(body_error("expected a JSON object"));
        };
        let items = match body.remove("value") {
            Some(Value::Array(items)) => items,
            _ => return Err(body_error("expected a `value` array")),
        };
        let count = body.get("@odata.count").and_then(Value::as_u64);
        let next = match body.get("@odata.nextLink") {
            None | Some(Value::Null) => None,
            Some(Value::String(link)) => Some(self.next_link(link, &path)?),
            Some(_) => return Err(body_error("`@odata.nextLink` is not a string")),
        };
        Ok(Page { items, next, count })
    }

    /// `link`, a nextLink found at `path`, if it may be followed.
    pub fn next_link(&self, link: &str, path: &str) -> Result<Url, GraphError> {
        next_link(&self.v1, link).map_err(|message| GraphError::Paging { path: path.to_owned(), message })
    }

    /// Every item of the collection at `url`, following nextLinks until
    /// there are none; a link seen twice is an error, not an endless loop.
    pub async fn all_pages(
        &self,
        url: Url,
        mut on_page: impl FnMut(usize),
    ) -> Result<Vec<Value>, GraphError> {
        let mut items = Vec::new();
        let mut seen = HashSet::new();
        let mut next = Some(url);
        while let Some(url) = next.take() {
            if !seen.insert(url.as_str().to_owned()) {
                return Err(GraphError::Paging {
                    path: shown(&url),
                    message: "`@odata.nextLink` repeats a page already read (a paging loop)".into(),
                });
            }
            let page = self.page(&url, &[]).await?;
            on_page(page.items.len());
            items.extend(page.items);
            next = page.next;
        }
        Ok(items)
    }

    /// Runs `operation` until it succeeds, fails for good, or `policy`'s
    /// bounds run out. Before each attempt the pacer lets `writes()` go; its
    /// wait, and the waits Graph asks for, do not use up the failure budget
    /// (`RetryBudget`). A throttled write waits in the pause every writer
    /// shares; a throttled read waits its own `Retry-After`. Each retry is
    /// logged as `{what}: {error}`.
    async fn with_retries<T, Fut>(
        &self,
        policy: RetryPolicy,
        what: &str,
        writes: &(dyn Fn() -> u32 + Sync),
        mut operation: impl FnMut(u64) -> Fut,
    ) -> Result<T, GraphError>
    where
        Fut: std::future::Future<Output = Result<T, GraphError>>,
    {
        let mut budget = RetryBudget::new(policy);
        let mut attempts = 0_u32;
        loop {
            let writes = writes();
            let (waited, sent_in) = self.pace(writes, attempts > 0).await?;
            attempts += 1;
            budget.waited(waited);
            let started = Instant::now();
            let outcome = operation(sent_in).await;
            budget.spent(started.elapsed());
            let error = match outcome {
                Ok(value) => return Ok(value),
                Err(error) if !error.is_retryable() => return Err(error),
                Err(error) => error,
            };
            if budget.throttle_spent() {
                return Err(error);
            }
            let refusal = match (error.throttled(), error.retry_after()) {
                // A write's Retry-After is the pause the pacer now holds every
                // writer in, when the quota may be empty: the next `pace`
                // waits it (and counts it). A fault's refused items wait what
                // the pause does not cover.
                (true, Some(wait)) if writes > 0 => {
                    let paused = self.pacer.lock().expect("pacer lock").pause_left(Instant::now());
                    Refusal::Throttled(wait.saturating_sub(paused))
                }
                (true, Some(wait)) => Refusal::Throttled(wait),
                (_, asked) => Refusal::Failed(asked),
            };
            if let Refusal::Failed(_) = refusal
                && writes > 0
            {
                let unserved = match &error {
                    GraphError::ItemsPending { count, .. } => (*count as u32).min(writes),
                    _ => writes,
                };
                self.pacer.lock().expect("pacer lock").refund(unserved);
            }
            if let GraphError::ItemsPending { progressed: true, .. } = error {
                // Graph answered some of the items: the others met faults of
                // their own, not a Graph that keeps failing.
                budget.progressed();
            }
            let Some(delay) = budget.next(refusal) else { return Err(error) };
            match error.unreachable() {
                Some(reason) => {
                    let most = match reason {
                        Unreachable::NameResolution => UNRESOLVED_NAME_RETRIES,
                        _ => policy.max_attempts,
                    };
                    if budget.failures() > most {
                        return Err(error);
                    }
                    // One line a retry, at default verbosity: a CI log that
                    // cannot reach Graph says so instead of stalling.
                    tracing::warn!(
                        "Graph unreachable ({}): retrying in {}, attempt {} of {}",
                        reason.described(),
                        seconds(delay),
                        budget.failures() + 1,
                        most + 1
                    );
                    tracing::debug!("{what}: {error}");
                }
                None => tracing::info!(retry_in_ms = delay.as_millis() as u64, "{what}: {error}"),
            }
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
        }
    }

    /// One `POST /$batch`, one attempt; the pacer hears what its write
    /// items were answered.
    async fn batch_once(
        &self,
        requests: &[BatchRequest],
        sent_in: u64,
    ) -> Result<BTreeMap<String, BatchItemResponse>, GraphError> {
        let writes = requests.iter().filter(|request| request.is_write()).count() as u32;
        let url = self.url("$batch");
        let answer =
            self.attempt(&Method::POST, &url, Some(&envelope(requests)), &[], writes, sent_in).await?;
        let items = parse_answer(answer.body, requests)?;
        if writes > 0 {
            let mut signal =
                WriteSignal { writes, throttled: 0, retry_after: None, pressure: None, whole: false };
            for request in requests.iter().filter(|request| request.is_write()) {
                let item = &items[&request.id];
                if item.status == 429 {
                    signal.throttled += 1;
                    signal.retry_after = signal.retry_after.max(item.retry_after());
                }
                if let Some(share) =
                    item.header("x-ms-throttle-limit-percentage").and_then(|v| v.trim().parse::<f64>().ok())
                {
                    signal.pressure = Some(signal.pressure.map_or(share, |worst| worst.max(share)));
                }
            }
            self.observe(signal, sent_in);
        }
        Ok(items)
    }

    /// Sends `requests` (at most 20) as one batch and retries the items that
    /// were throttled or failed transiently (and those `retry_item` asks
    /// for) in new batches, after the longest `Retry-After`, within
    /// `policy`. Each request gets its last answer, or the error that ended
    /// the batch.
    pub async fn batch(
        &self,
        requests: Vec<BatchRequest>,
        policy: RetryPolicy,
        retry_item: &(dyn Fn(&BatchRequest, &BatchItemResponse) -> bool + Sync),
    ) -> Vec<(BatchRequest, Result<BatchItemResponse, GraphError>)> {
        struct Progress {
            pending: Vec<BatchRequest>,
            answered: BTreeMap<String, BatchItemResponse>,
        }
        let progress = Mutex::new(Progress { pending: requests.clone(), answered: BTreeMap::new() });
        let progress = &progress;
        let pending_writes = || {
            let state = progress.lock().expect("batch lock");
            state.pending.iter().filter(|request| request.is_write()).count() as u32
        };
        let round = move |sent_in| async move {
            let pending = progress.lock().expect("batch lock").pending.clone();
            let mut answers = self.batch_once(&pending, sent_in).await?;
            let mut state = progress.lock().expect("batch lock");
            let mut still = Vec::new();
            let mut longest: Option<Duration> = None;
            let mut failed = false;
            // Some items settled, and those left met faults (not a new
            // definition still replicating, which takes its own time).
            let (mut settled, mut replicating) = (false, false);
            for request in pending {
                let item = answers.remove(&request.id).expect("parse_answer answers every id");
                let transient = is_retryable(&request.method, item.status);
                if transient || (!item.is_success() && retry_item(&request, &item)) {
                    replicating |= !transient;
                    match item.retry_after().filter(|_| item.status == 429) {
                        Some(wait) => longest = longest.max(Some(wait)),
                        None => failed = true,
                    }
                    tracing::debug!(id = %request.id, url = %request.url, status = item.status, "batch item to retry");
                    still.push(request.clone());
                } else {
                    settled = true;
                }
                state.answered.insert(request.id.clone(), item);
            }
            state.pending = still;
            match state.pending.len() {
                0 => Ok(()),
                count => Err(GraphError::ItemsPending {
                    count,
                    retry_after: if failed { None } else { longest },
                    progressed: settled && !replicating,
                }),
            }
        };
        let outcome = self.with_retries(policy, "batch", &pending_writes, round).await;
        let mut state = progress.lock().expect("batch lock");
        let stopped = match &outcome {
            Err(GraphError::Stopped { sent_before }) => Some(*sent_before),
            _ => None,
        };
        let failure_message = outcome.err().map(|error| error.to_string());
        // Stopped before a retry: the items still to retry were not sent
        // again, whatever an earlier attempt was answered.
        let held: HashSet<String> = match stopped {
            Some(_) => state.pending.iter().map(|request| request.id.clone()).collect(),
            None => HashSet::new(),
        };
        requests
            .into_iter()
            .map(|request| {
                if let Some(sent_before) = stopped.filter(|_| held.contains(&request.id)) {
                    return (request, Err(GraphError::Stopped { sent_before }));
                }
                let result = match state.answered.remove(&request.id) {
                    Some(item) => Ok(item),
                    None => Err(match stopped {
                        Some(sent_before) => GraphError::Stopped { sent_before },
                        None => GraphError::Transport {
                            method: "POST".into(),
                            path: "/$batch".into(),
                            message: failure_message.clone().unwrap_or_else(|| "no answer".into()),
                        },
                    }),
                };
                (request, result)
            })
            .collect()
    }
}

/// A nextLink, used verbatim, but only on the service's own origin (`base`):
/// the token goes nowhere else.
pub fn next_link(base: &Url, link: &str) -> Result<Url, String> {
    let next = Url::parse(link).map_err(|error| format!("`@odata.nextLink` is not a URL: {error}"))?;
    if next.origin() != base.origin() {
        return Err(format!(
            "`@odata.nextLink` points to another origin ({}); not following it",
            next.origin().ascii_serialization()
        ));
    }
    Ok(next)
}

/// Retries of a request whose host name did not resolve: two, so a
/// resolver's hiccup (a second or two) is ridden out, while a name that
/// does not exist, a runner without DNS or a misspelt `--graph-url` is
/// reported within seconds instead of after eight waits (minutes). Waiting
/// does not make a name exist.
pub const UNRESOLVED_NAME_RETRIES: usize = 2;

/// Why a request got no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unreachable {
    NameResolution,
    Tls,
    Connect,
    Timeout,
    /// The connection broke (reset, closed) before the answer.
    Connection,
}

impl Unreachable {
    fn of(error: &reqwest::Error) -> Unreachable {
        if error.is_timeout() {
            return Unreachable::Timeout;
        }
        let chain = error_chain(error).to_ascii_lowercase();
        if ["dns error", "failed to lookup address", "name or service not known", "no such host"]
            .iter()
            .any(|said| chain.contains(said))
        {
            Unreachable::NameResolution
        } else if ["certificate", "tls", "handshake"].iter().any(|said| chain.contains(said)) {
            Unreachable::Tls
        } else if error.is_connect() {
            Unreachable::Connect
        } else {
            Unreachable::Connection
        }
    }

    /// As the retry line and the error show it.
    pub fn described(self) -> &'static str {
        match self {
            Unreachable::NameResolution => "name resolution failed",
            Unreachable::Tls => "TLS handshake failed",
            Unreachable::Connect => "could not connect",
            Unreachable::Timeout => "timed out",
            Unreachable::Connection => "connection failed",
        }
    }
}

/// A wait as people read it: `30 s`, `1.5 s`, `0.25 s`.
fn seconds(wait: Duration) -> String {
    let seconds = wait.as_secs_f64();
    if seconds >= 10.0 {
        format!("{seconds:.0} s")
    } else if seconds >= 1.0 {
        format!("{seconds:.1} s")
    } else {
        format!("{seconds:.2} s")
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

/// What an answer says about Graph's quota: the read pacer takes it whole, a
/// write's signal its `Retry-After` and pressure. A `$batch` of reads
/// reports its envelope's `x-ms-resource-unit` (the emulator's sum of its
/// items), when given.
fn quota_signal(status: StatusCode, headers: &HeaderMap) -> ReadSignal {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok()).map(str::trim);
    ReadSignal {
        resource_units: header("x-ms-resource-unit").and_then(|value| value.parse().ok()),
        pressure: header("x-ms-throttle-limit-percentage").and_then(|value| value.parse().ok()),
        throttled: status.as_u16() == 429,
        retry_after: header("retry-after").and_then(parse_retry_after),
    }
}

/// The error of a non-2xx answer, from Graph's error envelope.
fn status_error(
    method: &str,
    path: &str,
    status: StatusCode,
    headers: &HeaderMap,
    body: &Value,
) -> GraphError {
    let error = body.get("error");
    let code = error.and_then(|e| e.get("code")).and_then(Value::as_str).map(str::to_owned);
    let message = error
        .and_then(|e| e.get("message"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned());
    let retry_after = headers.get("retry-after").and_then(|v| v.to_str().ok()).and_then(parse_retry_after);
    GraphError::Status {
        method: method.to_owned(),
        path: path.to_owned(),
        status: status.as_u16(),
        code,
        message,
        retry_after,
    }
}

/// A failed batch item as an error naming its request.
pub fn item_error(request: &BatchRequest, item: &BatchItemResponse) -> GraphError {
    let (code, message) = item.error();
    GraphError::Status {
        method: request.method.clone(),
        path: request.url.clone(),
        status: item.status,
        code: code.map(str::to_owned),
        message: message.unwrap_or("failed").to_owned(),
        retry_after: item.retry_after(),
    }
}

/// Whether the connection was actively refused (nothing listens at the address).
fn connection_refused(error: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(error);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::ConnectionRefused
        {
            return true;
        }
        source = cause.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client of the test server at `address`.
    fn client_at(address: std::net::SocketAddr, options: ClientOptions) -> GraphClient {
        let endpoint = super::super::endpoint::resolve(
            crate::graph::endpoint::Cloud::Global,
            Some(&format!("http://{address}")),
            false,
        )
        .unwrap();
        GraphClient::new(endpoint, TokenSource::Fixed(BearerToken::new("t")), options).unwrap()
    }

    #[test]
    fn next_links_stay_on_the_service_origin() {
        let base = Url::parse("https://graph.microsoft.com/v1.0/").unwrap();
        let same = "https://graph.microsoft.com/v1.0/users?$top=999&$skiptoken=X%27Y";
        assert_eq!(next_link(&base, same).unwrap().as_str(), same);
        assert!(
            next_link(&base, "https://evil.example/v1.0/users?$skiptoken=1")
                .unwrap_err()
                .contains("another origin")
        );
        assert!(next_link(&base, "http://graph.microsoft.com/v1.0/users").is_err());
        assert!(next_link(&base, "/v1.0/users").is_err());
    }

    /// A server whose nextLink points back at the page itself: the one
    /// paging fault the emulator never produces.
    #[tokio::test]
    async fn a_next_link_loop_is_an_error_not_an_endless_read() {
        use axum::routing::get;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let link = format!("http://{address}/v1.0/directory/attributeSets?$skiptoken=again");
        let router = axum::Router::new().route(
            "/v1.0/directory/attributeSets",
            get(move || {
                let link = link.clone();
                async move { axum::Json(serde_json::json!({ "value": [], "@odata.nextLink": link })) }
            }),
        );
        let server = tokio::spawn(async move { axum::serve(listener, router).await });
        let client = client_at(address, ClientOptions::default());
        let mut pages = 0;
        let error =
            client.all_pages(client.url("directory/attributeSets"), |_| pages += 1).await.unwrap_err();
        assert!(error.to_string().contains("paging loop"), "{error}");
        assert_eq!(pages, 2);
        server.abort();
    }

    /// A gateway answering 502 to the first two requests of each kind: a
    /// read is retried through it, a write is not (its outcome is unclear,
    /// so the caller's read-back rule decides).
    #[tokio::test]
    async fn reads_are_retried_on_500_and_502_writes_are_not() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};

        use axum::http::StatusCode;
        use axum::routing::get;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let reads = Arc::new(AtomicUsize::new(0));
        let writes = Arc::new(AtomicUsize::new(0));
        let (read_count, write_count) = (Arc::clone(&reads), Arc::clone(&writes));
        let router = axum::Router::new().route(
            "/v1.0/directory/attributeSets",
            get(move || {
                let reads = Arc::clone(&read_count);
                async move {
                    match reads.fetch_add(1, Ordering::SeqCst) {
                        0 => (StatusCode::BAD_GATEWAY, "<html>502 Bad Gateway</html>".to_owned()),
                        1 => (StatusCode::INTERNAL_SERVER_ERROR, "{}".to_owned()),
                        _ => (StatusCode::OK, r#"{"value":[]}"#.to_owned()),
                    }
                }
            })
            .post(move || {
                let writes = Arc::clone(&write_count);
                async move {
                    writes.fetch_add(1, Ordering::SeqCst);
                    (StatusCode::BAD_GATEWAY, "<html>502 Bad Gateway</html>".to_owned())
                }
            }),
        );
        let server = tokio::spawn(async move { axum::serve(listener, router).await });
        let options =
            ClientOptions { retry: RetryPolicy::default().scaled(0.01), ..ClientOptions::default() };
        let client = client_at(address, options);
        let url = client.url("directory/attributeSets");
        let items = client.all_pages(url.clone(), |_| {}).await.unwrap();
        assert!(items.is_empty());
        assert_eq!(reads.load(Ordering::SeqCst), 3, "502, then 500, then the page");
        let error = client
            .send(Method::POST, &url, Some(&serde_json::json!({ "id": "Eng" })), &[], 1)
            .await
            .unwrap_err();
        assert_eq!(error.status(), Some(502));
        assert_eq!(writes.load(Ordering::SeqCst), 1, "a write is sent once");
        server.abort();
    }

    #[test]
    fn segments_are_percent_encoded() {
        assert_eq!(segment("alice@contoso.com"), "alice@contoso.com");
        assert_eq!(segment("bob_x.com#EXT#@t.onmicrosoft.com"), "bob_x.com%23EXT%23@t.onmicrosoft.com");
        assert_eq!(segment("a/b c?"), "a%2Fb%20c%3F");
        for (text, encoded) in [
            (".", "%2E"),
            ("..", "%2E%2E"),
            ("...", "%2E%2E%2E"),
            ("a.b", "a.b"),
            ("%", "%25"),
            ("#", "%23"),
            ("Zürich", "Z%C3%BCrich"),
            ("'", "%27"),
        ] {
            assert_eq!(segment(text), encoded, "{text}");
        }
    }
}
