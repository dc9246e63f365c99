//! Exists to prove that a broken or hostile Graph cannot crash the tool or
//! make it guess: a proxy in front of the emulator corrupts one kind of
//! answer (truncated or non-JSON bodies, an HTML error page, wrong field
//! types, a nextLink that loops, a 200 batch whose items all fail, an
//! unknown `@odata.type`), and the real binary must exit 1 with a clear
//! message, never panic, and say what was applied before the failure.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::Response;
use entra_csa::emulator::EmulatorConfig;
use serde_json::{Value, json};

use crate::graph_support::*;

const SENTINEL: &str = "sentinel-token-hostile-3b9f-never-print";

/// One way of breaking Graph's answers.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Hostility {
    /// The definitions page cut in half.
    TruncatedBody,
    /// 200 with a body that is not JSON.
    NotJson,
    /// A proxy's HTML error page instead of Graph's answer.
    HtmlErrorPage,
    /// `isCollection: "yes"` on every definition.
    WrongFieldTypes,
    /// The attribute sets page links to itself.
    LoopingNextLink,
    /// Write batches answered 200, every item an error (assignments only,
    /// so the creates before them are done).
    BatchItemsAllErrors,
    /// Assigned values annotated with a type Graph does not have.
    UnknownOdataType,
    /// Write batches of assignments served, their answers cut in half.
    TruncatedWriteBatch,
}

struct Proxy {
    upstream: String,
    own: String,
    hostility: Hostility,
    client: reqwest::Client,
}

async fn handle(
    State(proxy): State<Arc<Proxy>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let path_and_query = uri.path_and_query().map_or(path.clone(), |value| value.as_str().to_owned());
    let is_write_batch = path.ends_with("/$batch") && {
        let text = String::from_utf8_lossy(&body);
        text.contains("\"PATCH\"") && text.contains("\"/users/")
    };
    if proxy.hostility == Hostility::BatchItemsAllErrors && is_write_batch {
        let request: Value = serde_json::from_slice(&body).unwrap();
        let responses: Vec<Value> = request["requests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| {
                json!({ "id": item["id"], "status": 500, "headers": {},
                        "body": { "error": { "code": "InternalServerError", "message": "Something broke." } } })
            })
            .collect();
        return answer(StatusCode::OK, "application/json", json!({ "responses": responses }).to_string());
    }
    let method = reqwest::Method::from_bytes(method.as_str().as_bytes()).unwrap();
    let mut request = proxy.client.request(method.clone(), format!("{}{path_and_query}", proxy.upstream));
    for name in ["authorization", "consistencylevel", "content-type"] {
        if let Some(value) = headers.get(name).and_then(|value| value.to_str().ok()) {
            request = request.header(name, value);
        }
    }
    let upstream = request.body(body.to_vec()).send().await.unwrap();
    let status = StatusCode::from_u16(upstream.status().as_u16()).unwrap();
    let text = upstream.text().await.unwrap().replace(&proxy.upstream, &proxy.own);
    let reads_sets = method == reqwest::Method::GET && path.ends_with("/directory/attributeSets");
    let reads_definitions =
        method == reqwest::Method::GET && path.ends_with("/directory/customSecurityAttributeDefinitions");
    match proxy.hostility {
        Hostility::TruncatedBody if reads_definitions => {
            answer(status, "application/json", text[..text.len() / 2].to_owned())
        }
        Hostility::NotJson if reads_sets => answer(status, "text/plain", "Service is up and running.".into()),
        Hostility::HtmlErrorPage if reads_sets => answer(
            StatusCode::BAD_GATEWAY,
            "text/html",
            "<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>"
                .into(),
        ),
        Hostility::WrongFieldTypes if reads_definitions => answer(
            status,
            "application/json",
            text.replace("\"isCollection\":false", "\"isCollection\":\"yes\"")
                .replace("\"isCollection\":true", "\"isCollection\":\"yes\""),
        ),
        Hostility::LoopingNextLink if reads_sets => {
            let mut page: Value = serde_json::from_str(&text).unwrap();
            page["@odata.nextLink"] = json!(format!("{}{path_and_query}", proxy.own));
            answer(status, "application/json", page.to_string())
        }
        Hostility::TruncatedWriteBatch if is_write_batch => {
            answer(status, "application/json", text[..text.len() / 2].to_owned())
        }
        Hostility::UnknownOdataType if method == reqwest::Method::GET || path.ends_with("/$batch") => {
            answer(status, "application/json", text.replace("#Collection(String)", "#Collection(Guid)"))
        }
        _ => answer(status, "application/json", text),
    }
}

fn answer(status: StatusCode, content_type: &str, body: String) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, content_type.parse().unwrap());
    response
}

/// Runs `apply` of the Contoso change through a proxy with `hostility`:
/// (exit code, stdout, stderr, writes the emulator received).
async fn apply_through(hostility: Hostility) -> (i32, String, String, u64) {
    let (code, stdout, stderr, writes, _) = apply_through_then(hostility, false).await;
    (code, stdout, stderr, writes)
}

/// As `apply_through`; with `rerun`, then applies again straight to the
/// emulator and returns whether a plan afterwards is empty.
async fn apply_through_then(hostility: Hostility, rerun: bool) -> (i32, String, String, u64, bool) {
    let emulator = emulator(EmulatorConfig { seed_state: contoso_seed(), ..Default::default() }).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let own = format!("http://{}", listener.local_addr().unwrap());
    let proxy = Arc::new(Proxy {
        upstream: emulator.base_url(),
        own: own.clone(),
        hostility,
        client: reqwest::Client::new(),
    });
    let server = tokio::spawn(async move {
        axum::serve(listener, Router::new().fallback(handle).with_state(proxy)).await.unwrap();
    });
    let example = repo("examples/contoso.yaml").display().to_string();
    // Retries shortened a hundredfold: a persistent 502 on a read is retried, then fails.
    let args =
        ["-v", "apply", "-f", &example, "--graph-url", &own, "--auto-approve", "--retry-scale", "0.01"];
    let (code, stdout, stderr) = run_cli(args.iter().map(|arg| (*arg).to_owned()).collect(), SENTINEL).await;
    server.abort();
    let writes = emulator.stats().writes;
    let mut converged = false;
    if rerun {
        let args = ["apply", "-f", &example, "--graph-url", &emulator.base_url(), "--auto-approve"];
        let (code, stdout, stderr) =
            run_cli(args.iter().map(|arg| (*arg).to_owned()).collect(), SENTINEL).await;
        assert_eq!(code, 0, "{hostility:?}: the rerun failed\n{stdout}\n{stderr}");
        let tenant = tenant_with(&emulator, SENTINEL, fast_options());
        converged = plan_of(&tenant, &desired("examples/contoso.yaml")).await.changes.is_empty();
    }
    emulator.shutdown().await;
    for text in [&stdout, &stderr] {
        assert!(!text.contains("panicked"), "{hostility:?}: the binary panicked\n{text}");
        assert!(!text.contains(SENTINEL), "{hostility:?}: the token leaked");
    }
    (code, stdout, stderr, writes, converged)
}

/// A failure while reading: exit 1, the message names the problem, nothing was sent.
async fn refused_while_reading(hostility: Hostility, expected: &[&str]) {
    let (code, stdout, stderr, writes) = apply_through(hostility).await;
    assert_eq!(code, 1, "{hostility:?}\n{stdout}\n{stderr}");
    let error = stderr.lines().find(|line| line.starts_with("error: ")).unwrap_or_default();
    for part in expected {
        assert!(error.contains(part), "{hostility:?}: the error should say {part:?}: {stderr}");
    }
    assert!(error.contains("nothing was applied"), "{hostility:?}: {stderr}");
    assert!(error.matches("/v1.0/").count() <= 1, "{hostility:?}: the error repeats itself: {error}");
    assert_eq!(writes, 0, "{hostility:?}: something was written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reliability_a_truncated_answer_is_an_error_and_nothing_is_applied() {
    refused_while_reading(Hostility::TruncatedBody, &["customSecurityAttributeDefinitions", "JSON"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reliability_an_answer_that_is_not_json_is_an_error_and_nothing_is_applied() {
    refused_while_reading(Hostility::NotJson, &["attributeSets", "JSON"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reliability_an_html_error_page_is_an_error_and_nothing_is_applied() {
    refused_while_reading(Hostility::HtmlErrorPage, &["attributeSets", "502"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reliability_wrong_field_types_are_an_error_and_nothing_is_applied() {
    refused_while_reading(
        Hostility::WrongFieldTypes,
        &["customSecurityAttributeDefinitions[0].isCollection", "unexpected shape", "expected a boolean"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reliability_a_looping_next_link_is_an_error_and_nothing_is_applied() {
    refused_while_reading(Hostility::LoopingNextLink, &["nextLink", "loop"]).await;
}

/// Values of a type this version does not know, on principals the files
/// declare: not understood, so conflicts, and nothing is written over them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reliability_an_unknown_odata_type_is_a_conflict_and_nothing_is_applied() {
    let (code, stdout, stderr, writes) = apply_through(Hostility::UnknownOdataType).await;
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stderr.contains("conflict(s); nothing was applied"), "{stderr}");
    assert!(stdout.contains("a value of type `#Collection(Guid)`"), "{stdout}");
    assert!(stdout.contains("does not understand"), "{stdout}");
    assert_eq!(writes, 0, "something was written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reliability_a_batch_whose_items_all_fail_stops_the_apply_and_reports_what_was_done() {
    let (code, stdout, stderr, writes) = apply_through(Hostility::BatchItemsAllErrors).await;
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    // The steps before the assignments were done, and say so.
    assert!(writes > 0, "the creates before the assignments were sent");
    assert!(stdout.contains("  done "), "{stdout}");
    assert!(stdout.contains("  FAILED ") && stdout.contains("HTTP 500"), "{stdout}");
    assert!(stdout.contains("Something broke."), "the item's own message is shown: {stdout}");
    assert!(stdout.contains("(not attempted)"), "{stdout}");
    let summary = stdout.lines().find(|line| line.starts_with("Apply failed: ")).unwrap_or_default();
    assert!(summary.contains(" done, ") && summary.contains(" failed, "), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reliability_a_truncated_batch_answer_fails_its_items_and_a_rerun_finishes_the_job() {
    let (code, stdout, stderr, writes, converged) =
        apply_through_then(Hostility::TruncatedWriteBatch, true).await;
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(writes > 0);
    assert!(stdout.contains("  done "), "the steps before are reported done: {stdout}");
    let failed: Vec<&str> = stdout.lines().filter(|line| line.starts_with("  FAILED ")).collect();
    assert!(!failed.is_empty(), "{stdout}");
    assert!(failed.iter().all(|line| line.contains("$batch")), "the failure names the batch: {failed:?}");
    assert!(converged, "applying again converges");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reliability_an_unreachable_graph_is_reported_quickly() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let example = repo("examples/contoso.yaml").display().to_string();
    let started = std::time::Instant::now();
    let args = ["plan", "-f", &example, "--graph-url", &closed];
    let (code, _, stderr) = run_cli(args.iter().map(|arg| (*arg).to_owned()).collect(), SENTINEL).await;
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("could not connect"), "{stderr}");
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "took {:?}", started.elapsed());
}
