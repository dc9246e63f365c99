//! Sign-in through azure_identity for real, end to end: the binary picks the
//! managed identity that `IDENTITY_ENDPOINT` / `IDENTITY_HEADER` announce
//! (as App Service and Functions set them), asks that endpoint for a Graph
//! token over loopback, and the emulator, which accepts only that token,
//! serves the plan. A refusing endpoint stops the run before any Graph
//! request, with an error that names the method and not the secret.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use entra_csa::emulator::EmulatorConfig;
use serde_json::json;

use crate::graph_support::*;

const ISSUED_TOKEN: &str = "issued-by-the-identity-endpoint-5d1c";
const IDENTITY_HEADER: &str = "identity-header-secret-93ab";

/// What the identity endpoint was asked: (query parameters, X-IDENTITY-HEADER).
type Asked = Arc<Mutex<Vec<(Vec<(String, String)>, Option<String>)>>>;

/// A managed-identity endpoint as App Service serves it (API version
/// 2019-08-01): a token when the header matches, 400 otherwise.
async fn identity_endpoint(refuse: bool) -> (SocketAddr, Asked) {
    let asked: Asked = Arc::default();
    let answer = move |State(asked): State<Asked>,
                       Query(query): Query<Vec<(String, String)>>,
                       headers: HeaderMap| async move {
        let header =
            headers.get("x-identity-header").and_then(|value| value.to_str().ok()).map(str::to_owned);
        let matches = header.as_deref() == Some(IDENTITY_HEADER);
        asked.lock().unwrap().push((query, header));
        if refuse || !matches {
            let body =
                json!({ "statusCode": 400, "message": "No managed identity is assigned to this resource." });
            return (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
        }
        let expires_on =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 3600;
        let body = json!({
            "access_token": ISSUED_TOKEN,
            "expires_on": expires_on.to_string(),
            "resource": "https://graph.microsoft.com",
            "token_type": "Bearer",
        });
        axum::Json(body).into_response()
    };
    let router: axum::Router =
        axum::Router::new().route("/msi/token", axum::routing::get(answer)).with_state(asked.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (address, asked)
}

async fn plan_with_managed_identity(identity: SocketAddr, graph_url: &str) -> (i32, String, String) {
    let example = repo("examples/contoso.yaml").display().to_string();
    let graph_url = graph_url.to_owned();
    tokio::task::spawn_blocking(move || {
        let output = entra_csa()
            .env("IDENTITY_ENDPOINT", format!("http://{identity}/msi/token"))
            .env("IDENTITY_HEADER", IDENTITY_HEADER)
            .args(["-v", "plan", "-f", &example, "--graph-url", &graph_url])
            .output()
            .unwrap();
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_managed_identity_token_is_fetched_and_sent_to_graph() {
    let (identity, asked) = identity_endpoint(false).await;
    let emulator = emulator(EmulatorConfig {
        seed_state: contoso_seed(),
        token: Some(ISSUED_TOKEN.into()),
        ..Default::default()
    })
    .await;
    let (code, stdout, stderr) = plan_with_managed_identity(identity, &emulator.base_url()).await;
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("update attribute set Engineering"), "{stdout}");

    let asked = asked.lock().unwrap().clone();
    assert_eq!(asked.len(), 1, "one token for the whole run: {asked:?}");
    let (query, header) = &asked[0];
    assert_eq!(header.as_deref(), Some(IDENTITY_HEADER));
    let parameter = |name: &str| query.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str());
    assert_eq!(parameter("api-version"), Some("2019-08-01"));
    assert_eq!(parameter("resource"), Some("https://graph.microsoft.com"), "Graph's resource: {query:?}");
    assert!(emulator.stats().requests > 0);
    for text in [&stdout, &stderr] {
        assert!(!text.contains(ISSUED_TOKEN) && !text.contains(IDENTITY_HEADER), "a secret was printed");
    }
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_managed_identity_stops_before_any_graph_request() {
    let (identity, asked) = identity_endpoint(true).await;
    let emulator = emulator(EmulatorConfig { seed_state: contoso_seed(), ..Default::default() }).await;
    let (code, stdout, stderr) = plan_with_managed_identity(identity, &emulator.base_url()).await;
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stderr.to_lowercase().contains("managed identity"), "the error names the method: {stderr}");
    assert!(!asked.lock().unwrap().is_empty(), "the endpoint was asked");
    assert_eq!(emulator.stats().requests, 0, "no Graph request without a token");
    assert!(!stderr.contains(IDENTITY_HEADER), "the header secret was printed: {stderr}");
    emulator.shutdown().await;
}

/// A first run with nothing configured (and no `az` on PATH): the error
/// lists every method `--auth auto` tries and what configures each, and on
/// a loopback Graph says that any token works. No request is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_sign_in_failure_lists_every_method_and_for_an_emulator_says_any_token_works() {
    let emulator = emulator(EmulatorConfig { seed_state: empty_seed(), ..Default::default() }).await;
    let example = repo("examples/minimal/minimal.yaml").display().to_string();
    let mut command = crate::launch::entra_csa();
    command.args(["plan", "-f", &example, "--graph-url", &emulator.base_url()]);
    let (code, stdout, stderr) = crate::launch::run_off_runtime(command).await;
    assert_eq!(code, 1, "{stdout}{stderr}");
    for (method, configured_by) in [
        ("token", "ENTRA_CSA_ACCESS_TOKEN"),
        ("workload", "AZURE_FEDERATED_TOKEN_FILE"),
        ("pipelines", "SYSTEM_OIDCREQUESTURI"),
        ("secret", "AZURE_CLIENT_SECRET"),
        ("certificate", "AZURE_CLIENT_CERTIFICATE_PATH"),
        ("managed-identity", "IDENTITY_ENDPOINT"),
        ("cli", "az login"),
    ] {
        let line = stderr.lines().find(|line| line.trim_start().starts_with(&format!("{method} ")));
        let line = line.unwrap_or_else(|| panic!("no line for {method}: {stderr}"));
        assert!(line.contains(configured_by), "{method}: {line}");
    }
    assert!(stderr.contains("any ENTRA_CSA_ACCESS_TOKEN works there"), "{stderr}");
    assert_eq!(emulator.stats().requests, 0, "nothing was sent without a token");

    // Against Microsoft Graph itself, the same list and no emulator hint.
    let mut command = crate::launch::entra_csa();
    command.args(["plan", "-f", &example]);
    let (code, _, stderr) = crate::launch::run_off_runtime(command).await;
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("--auth auto found no sign-in configured"), "{stderr}");
    assert!(!stderr.contains("any ENTRA_CSA_ACCESS_TOKEN works"), "{stderr}");

    // A method picked by name says only what it lacks.
    let mut command = crate::launch::entra_csa();
    command.args(["plan", "-f", &example, "--graph-url", &emulator.base_url(), "--auth", "secret"]);
    let (code, _, stderr) = crate::launch::run_off_runtime(command).await;
    assert_eq!(code, 1, "{stderr}");
    assert!(!stderr.contains("--auth auto found"), "{stderr}");
    emulator.shutdown().await;
}
