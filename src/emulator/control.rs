//! What the emulator tells its tests and benchmarks about itself, under
//! `/_emulator/`: the request log (`requests`), counters (`stats`), the store
//! in the state-file format (`state`), and `reset`. These
//! endpoints are not Graph and need no token.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One request as the log keeps it. Headers are never kept, so no token is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedRequest {
    /// Order of arrival, from 1.
    pub sequence: u64,
    pub method: String,
    /// The path as sent, e.g. `/v1.0/users/alice@contoso.com`.
    pub path: String,
    /// The raw query string, when there is one.
    pub query: Option<String>,
    pub status: u16,
    /// The request body: JSON when it parses, else text; `None` when empty.
    pub body: Option<Value>,
    /// For a `$batch` item: the item's `id`.
    pub batch_item: Option<String>,
}

/// Counters over every request served since start or the last reset.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// HTTP requests plus `$batch` items.
    pub requests: u64,
    pub by_method: BTreeMap<String, u64>,
    /// By path pattern, e.g. `/v1.0/users/{id}`.
    pub by_path: BTreeMap<String, u64>,
    pub by_status: BTreeMap<u16, u64>,
    /// Requests that would change the store (POST, PATCH, PUT, DELETE).
    pub writes: u64,
    /// Resource units charged (C-THL costs), summed.
    pub resource_units: u64,
    /// DELETE requests, every one refused.
    pub deletes: u64,
    /// Requests answered 429 by the quota model.
    pub throttled: u64,
    /// Requests answered with an injected fault.
    pub faults: u64,
    /// Injected faults by kind (`TooManyRequests`, `ResetAfterWrite`, …).
    #[serde(default)]
    pub faults_by_kind: BTreeMap<String, u64>,
    /// Writes answered 429 by a storm (also counted in `throttled`).
    #[serde(default)]
    pub storm_refusals: u64,
    /// Requests answered 503 by an outage.
    #[serde(default)]
    pub outage_refusals: u64,
    /// Microseconds added to collection pages for their items
    /// (`--latency-per-item-us`), summed: what a benchmark waited on.
    #[serde(default)]
    pub page_latency_us: u64,
}

impl Stats {
    /// Counts one request.
    pub fn count(&mut self, method: &str, path: &str, status: u16, resource_units: u32, write: bool) {
        self.requests += 1;
        *self.by_method.entry(method.to_owned()).or_default() += 1;
        *self.by_path.entry(path_pattern(path)).or_default() += 1;
        *self.by_status.entry(status).or_default() += 1;
        self.resource_units += u64::from(resource_units);
        if write {
            self.writes += 1;
        }
        if method.eq_ignore_ascii_case("DELETE") {
            self.deletes += 1;
        }
    }
}

/// Literal path segments; every other segment is an id.
const LITERAL_SEGMENTS: &[&str] = &[
    "v1.0",
    "directory",
    "attributesets",
    "customsecurityattributedefinitions",
    "allowedvalues",
    "users",
    "serviceprincipals",
    "$batch",
    "$count",
    "_emulator",
    "requests",
    "stats",
    "state",
    "reset",
];

/// The path with ids replaced: `/v1.0/users/{id}`,
/// `/v1.0/servicePrincipals(appId={appId})`.
pub fn path_pattern(path: &str) -> String {
    let segments: Vec<String> = path
        .split('/')
        .filter(|segment| !segment.is_empty())
        .map(|segment| {
            let lower = segment.to_ascii_lowercase();
            if lower.starts_with("serviceprincipals(appid=") {
                "servicePrincipals(appId={appId})".to_owned()
            } else if LITERAL_SEGMENTS.contains(&lower.as_str()) {
                segment.to_owned()
            } else {
                "{id}".to_owned()
            }
        })
        .collect();
    format!("/{}", segments.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_hide_ids() {
        assert_eq!(path_pattern("/v1.0/users/alice@contoso.com"), "/v1.0/users/{id}");
        assert_eq!(
            path_pattern("/v1.0/directory/customSecurityAttributeDefinitions/Eng_P/allowedValues/Alpine"),
            "/v1.0/directory/customSecurityAttributeDefinitions/{id}/allowedValues/{id}"
        );
        assert_eq!(
            path_pattern("/v1.0/servicePrincipals(appId='abc')"),
            "/v1.0/servicePrincipals(appId={appId})"
        );
        assert_eq!(path_pattern("/v1.0/$batch"), "/v1.0/$batch");
    }
}
