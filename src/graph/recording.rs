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
