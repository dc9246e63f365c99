//! The HTTP side of Graph: one `reqwest` client, a bearer token on every
//! request, retries (backon; `Retry-After` honoured) for 429/503/504, resets
//! and timeouts, client-side pacing of writes, `$batch` with per-item
//! retries, and paging that follows `@odata.nextLink` verbatim — but only on
//! the service's own origin, and never in a loop. Logs (tracing) name the
//! method, path, status, attempt and time; never a token.

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use backon::Retryable;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use url::Url;

use super::auth::{AuthError, BearerToken, TokenSource};
use super::batch::{BatchError, BatchItemResponse, BatchRequest, envelope, parse_answer};
use super::endpoint::GraphEndpoint;
use super::pacing::{GRAPH_WRITE_WINDOW, GRAPH_WRITES_PER_WINDOW, WritePacer};
use super::retry::{RetryPolicy, is_retryable_status, next_delay, parse_retry_after, within_total};

/// How the client behaves; the defaults suit Microsoft Graph.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub retry: RetryPolicy,
    /// How long a new definition may take to become assignable.
    pub replication: RetryPolicy,
    /// Writes per `write_window` the pacer aims under (90 % of it).
    pub write_budget: u32,
    pub write_window: Duration,
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
    /// Resource units per `read_window` the reads aim under (90 % of it):
    /// Graph's 8,000 per 10 s of a large tenant.
    pub read_budget: u32,
    pub read_window: Duration,
    /// Pages read at once by a partitioned sweep.
    pub read_concurrency: usize,
    /// Ranges a sweep of every principal is split into; `None` chooses
    /// (`partition::partitions_for`). Tests force it on small tenants.
    pub sweep_partitions: Option<usize>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            retry: RetryPolicy::default(),
            replication: RetryPolicy {
                min_delay: Duration::from_secs(1),
                max_delay: Duration::from_secs(15),
                max_attempts: 20,
                max_total_delay: Duration::from_secs(120),
            },
            write_budget: GRAPH_WRITES_PER_WINDOW,
            write_window: GRAPH_WRITE_WINDOW,
            concurrency: 4,
            request_timeout: Duration::from_secs(60),
            batch_size: super::batch::MAX_BATCH_REQUESTS,
            read_route: None,
            read_budget: GRAPH_READ_UNITS_PER_WINDOW,
            read_window: GRAPH_READ_WINDOW,
            read_concurrency: super::partition::MAX_PARTITIONS,
            sweep_partitions: None,
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
    /// Items of a batch still throttled or failing transiently (internal to retries).
    #[error("{count} batch item(s) still to retry")]
    ItemsPending { count: usize, retry_after: Option<Duration> },
}

impl GraphError {
    /// Whether another attempt may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            GraphError::Status { status, .. } => is_retryable_status(*status),
            GraphError::Transport { .. } | GraphError::ItemsPending { .. } => true,
            _ => false,
        }
    }

    fn retry_after(&self) -> Option<Duration> {
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

    /// The HTTP status, for an answered request.
    pub fn status(&self) -> Option<u16> {
        match self {
            GraphError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Graph's resource-unit quota of a large tenant (over 500 users) per app
/// and tenant: 8,000 per 10 s.
pub const GRAPH_READ_UNITS_PER_WINDOW: u32 = 8_000;
pub const GRAPH_READ_WINDOW: Duration = Duration::from_secs(10);

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
    /// The same token bucket over resource units, for reads: told each
    /// answer's `x-ms-resource-unit` and `x-ms-throttle-limit-percentage`.
    read_pacer: Mutex<WritePacer>,
    pub(crate) options: ClientOptions,
}

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
    let dots_only = !text.is_empty() && text.bytes().all(|byte| byte == b'.');
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        let plain = byte.is_ascii_alphanumeric()
            || matches!(byte, b'-' | b'_' | b'~' | b'@')
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
        let read_pacer =
            Mutex::new(WritePacer::new(options.read_budget, options.read_window, Instant::now()));
        Ok(GraphClient { http, v1: endpoint.v1(), endpoint, tokens, pacer, read_pacer, options })
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

    async fn pace(&self, writes: u32) {
        // A read reserves the one resource unit most reads cost; `observe`
        // charges the rest when the answer says it cost more.
        let (pacer, units) = if writes == 0 { (&self.read_pacer, 1) } else { (&self.pacer, writes) };
        let wait = pacer.lock().expect("pacer lock").reserve(units, Instant::now());
        if !wait.is_zero() {
            tracing::debug!(writes, units, wait_ms = wait.as_millis() as u64, "pacing");
            tokio::time::sleep(wait).await;
        }
    }

    fn observe(&self, headers: &HeaderMap, status: u16, wrote: bool) {
        let mut pacer = if wrote { &self.pacer } else { &self.read_pacer }.lock().expect("pacer lock");
        if !wrote {
            let units = headers
                .get("x-ms-resource-unit")
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.trim().parse::<u32>().ok());
            if let Some(extra) = units.and_then(|units| units.checked_sub(1)).filter(|extra| *extra > 0) {
                // Taken now, waited for by the next read.
                pacer.reserve(extra, Instant::now());
            }
        }
        if status == 429 {
            pacer.observe_throttled();
        } else {
            let pressure = headers
                .get("x-ms-throttle-limit-percentage")
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.trim().parse::<f64>().ok());
            pacer.observe_pressure(pressure);
        }
    }

    /// One attempt; no retries.
    async fn attempt(
        &self,
        method: &Method,
        url: &Url,
        body: Option<&Value>,
        headers: &[(&str, &str)],
        writes: u32,
    ) -> Result<Answer, GraphError> {
        self.pace(writes).await;
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
                let kind = if error.is_timeout() {
                    "timed out"
                } else if error.is_connect() {
                    "could not connect"
                } else {
                    "connection failed"
                };
                tracing::debug!(%method, %path, elapsed_ms = started.elapsed().as_millis() as u64, "{kind}");
                let refused = connection_refused(&error);
                let message = format!("{kind}: {}", error_chain(&error.without_url()));
                return Err(if refused {
                    GraphError::Refused { method: method.to_string(), path, message }
                } else {
                    GraphError::Transport { method: method.to_string(), path, message }
                });
            }
        };
        let status = response.status();
        let response_headers = response.headers().clone();
        self.observe(&response_headers, status.as_u16(), writes > 0);
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
        with_retries(self.options.retry, "retrying", move || async move {
            self.attempt(method, url, body, headers, writes).await
        })
        .await
    }

    pub async fn get(&self, url: &Url) -> Result<Answer, GraphError> {
        self.send(Method::GET, url, None, &[], 0).await
    }

    /// One page of a collection at `url`.
    pub async fn page(&self, url: &Url, headers: &[(&str, &str)]) -> Result<Page, GraphError> {
        let answer = self.send(Method::GET, url, None, headers, 0).await?;
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

    /// One `POST /$batch` with its envelope-level retries.
    async fn batch_once(
        &self,
        requests: &[BatchRequest],
    ) -> Result<BTreeMap<String, BatchItemResponse>, GraphError> {
        let writes = requests.iter().filter(|request| request.is_write()).count() as u32;
        let url = self.url("$batch");
        let answer = self.send(Method::POST, &url, Some(&envelope(requests)), &[], writes).await?;
        let items = parse_answer(answer.body, requests)?;
        if writes > 0 {
            let mut pacer = self.pacer.lock().expect("pacer lock");
            let mut worst: Option<f64> = None;
            for item in items.values() {
                if item.status == 429 {
                    pacer.observe_throttled();
                }
                if let Some(share) =
                    item.header("x-ms-throttle-limit-percentage").and_then(|v| v.trim().parse().ok())
                {
                    worst = Some(worst.map_or(share, |w: f64| w.max(share)));
                }
            }
            if worst.is_some() {
                pacer.observe_pressure(worst);
            }
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
        let round = move || async move {
            let pending = progress.lock().expect("batch lock").pending.clone();
            let mut answers = self.batch_once(&pending).await?;
            let mut state = progress.lock().expect("batch lock");
            let mut still = Vec::new();
            let mut longest: Option<Duration> = None;
            for request in pending {
                let item = answers.remove(&request.id).expect("parse_answer answers every id");
                if is_retryable_status(item.status) || (!item.is_success() && retry_item(&request, &item)) {
                    longest = longest.max(item.retry_after());
                    tracing::debug!(id = %request.id, url = %request.url, status = item.status, "batch item to retry");
                    still.push(request.clone());
                }
                state.answered.insert(request.id.clone(), item);
            }
            state.pending = still;
            match state.pending.len() {
                0 => Ok(()),
                count => Err(GraphError::ItemsPending { count, retry_after: longest }),
            }
        };
        let outcome = with_retries(policy, "batch", round).await;
        let mut state = progress.lock().expect("batch lock");
        let failure_message = outcome.err().map(|error| error.to_string());
        requests
            .into_iter()
            .map(|request| {
                let result = match state.answered.remove(&request.id) {
                    Some(item) => Ok(item),
                    None => Err(GraphError::Transport {
                        method: "POST".into(),
                        path: "/$batch".into(),
                        message: failure_message.clone().unwrap_or_else(|| "no answer".into()),
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

/// Runs `operation` until it succeeds, fails for good, or `policy`'s bounds
/// run out; a `Retry-After` the error carries sets the next wait. Each retry
/// is logged as `{what}: {error}`.
async fn with_retries<T, Fut>(
    policy: RetryPolicy,
    what: &str,
    operation: impl FnMut() -> Fut,
) -> Result<T, GraphError>
where
    Fut: std::future::Future<Output = Result<T, GraphError>>,
{
    let started = Instant::now();
    operation
        .retry(policy.backoff())
        .sleep(tokio::time::sleep)
        .when(GraphError::is_retryable)
        .adjust(|error: &GraphError, delay| {
            within_total(started.elapsed(), policy.max_total_delay, next_delay(delay, error.retry_after()))
        })
        .notify(|error: &GraphError, delay: Duration| {
            tracing::info!(retry_in_ms = delay.as_millis() as u64, "{what}: {error}");
        })
        .await
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
        let endpoint = super::super::endpoint::resolve(
            crate::graph::endpoint::Cloud::Global,
            Some(&format!("http://{address}")),
            false,
        )
        .unwrap();
        let client =
            GraphClient::new(endpoint, TokenSource::Fixed(BearerToken::new("t")), ClientOptions::default())
                .unwrap();
        let mut pages = 0;
        let error =
            client.all_pages(client.url("directory/attributeSets"), |_| pages += 1).await.unwrap_err();
        assert!(error.to_string().contains("paging loop"), "{error}");
        assert_eq!(pages, 2);
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
