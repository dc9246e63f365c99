//! Exists so that a run against a real tenant can leave fixtures behind: a
//! `Recorder` in `ClientOptions` keeps every request the client sends and
//! the answer it got (method, URL below the v1.0 root, JSON bodies, status),
//! for the acceptance suite to redact and write down and for `cargo test` to
//! replay through the client's parsers. Headers are never kept, so neither
//! is the token. Off (`None`) unless a caller asks for it.

use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One request and its answer, as the client saw them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Exchange {
    pub method: String,
    /// Below the v1.0 root (`directory/attributeSets?$top=1`), or whole when
    /// the request left the root (it never does; the client refuses that).
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<Value>,
    pub status: u16,
    /// The answer's JSON (`null` for an empty or non-JSON body).
    pub response: Value,
}

/// Where the client writes down its exchanges; clones share one log.
#[derive(Clone, Default)]
pub struct Recorder {
    exchanges: Arc<Mutex<Vec<Exchange>>>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Recorder({} exchanges)", self.exchanges.lock().map(|log| log.len()).unwrap_or(0))
    }
}

impl Recorder {
    pub fn new() -> Recorder {
        Recorder::default()
    }

    pub(crate) fn record(&self, exchange: Exchange) {
        self.exchanges.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(exchange);
    }

    /// Everything recorded so far, emptying the log.
    pub fn take(&self) -> Vec<Exchange> {
        std::mem::take(&mut *self.exchanges.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::client::{ClientOptions, GraphClient};
    use crate::graph::endpoint::{self, Cloud};
    use crate::graph::{BearerToken, TokenSource};
    use reqwest::Method;
    use serde_json::json;

    /// A client with a recorder keeps each exchange, failures too, and
    /// never the token it sent.
    #[tokio::test]
    async fn a_recorder_keeps_every_exchange_and_never_the_token() {
        use axum::routing::get;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let router = axum::Router::new()
            .route(
                "/v1.0/directory/attributeSets",
                get(|| async { axum::Json(json!({ "value": [ { "id": "S" } ] })) }),
            )
            .route(
                "/v1.0/users/u1",
                axum::routing::patch(|| async {
                    (
                        axum::http::StatusCode::BAD_REQUEST,
                        axum::Json(json!({ "error": { "code": "Request_BadRequest", "message": "no" } })),
                    )
                }),
            );
        let server = tokio::spawn(async move { axum::serve(listener, router).await });
        let endpoint = endpoint::resolve(Cloud::Global, Some(&format!("http://{address}")), false).unwrap();
        let recorder = Recorder::new();
        let options = ClientOptions { recorder: Some(recorder.clone()), ..ClientOptions::default() };
        let client = GraphClient::new(
            endpoint,
            TokenSource::Fixed(BearerToken::new("sentinel-recorded-token")),
            options,
        )
        .unwrap();
        let sets = client.all_pages(client.url("directory/attributeSets"), |_| {}).await.unwrap();
        assert_eq!(sets, [json!({ "id": "S" })]);
        let body = json!({ "customSecurityAttributes": null });
        let refused = client.send(Method::PATCH, &client.url("users/u1"), Some(&body), &[], 1).await;
        assert_eq!(refused.unwrap_err().status(), Some(400));
        server.abort();

        let exchanges = recorder.take();
        assert_eq!(
            exchanges,
            [
                Exchange {
                    method: "GET".into(),
                    url: "directory/attributeSets".into(),
                    request: None,
                    status: 200,
                    response: json!({ "value": [ { "id": "S" } ] }),
                },
                Exchange {
                    method: "PATCH".into(),
                    url: "users/u1".into(),
                    request: Some(body),
                    status: 400,
                    response: json!({ "error": { "code": "Request_BadRequest", "message": "no" } }),
                },
            ]
        );
        let written = serde_json::to_string(&exchanges).unwrap();
        assert!(!written.contains("sentinel-recorded-token"), "{written}");
        assert!(recorder.take().is_empty(), "take empties the log");
        assert_eq!(format!("{recorder:?}"), "Recorder(0 exchanges)");
    }
}
