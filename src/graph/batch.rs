//! JSON batching (`POST /$batch`): envelopes of at most 20 requests with
//! unique ids, and the per-item answers, which may come in any order and
//! must each be checked — a 200 on the envelope says nothing about its items.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::retry::parse_retry_after;

/// Graph's limit on requests per batch.
pub const MAX_BATCH_REQUESTS: usize = 20;

/// One request inside a batch; `url` is relative to the version root (`/users/...`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BatchRequest {
    pub id: String,
    pub method: String,
    pub url: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
}

impl BatchRequest {
    pub fn get(id: impl Into<String>, url: impl Into<String>) -> Self {
        BatchRequest {
            id: id.into(),
            method: "GET".into(),
            url: url.into(),
            headers: BTreeMap::new(),
            body: None,
        }
    }

    /// A PATCH with a JSON body (the `Content-Type` a body needs is set).
    pub fn patch(id: impl Into<String>, url: impl Into<String>, body: Value) -> Self {
        BatchRequest {
            id: id.into(),
            method: "PATCH".into(),
            url: url.into(),
            headers: BTreeMap::from([("Content-Type".to_owned(), "application/json".to_owned())]),
            body: Some(body),
        }
    }

    /// Whether the item counts against the write quota.
    pub fn is_write(&self) -> bool {
        !self.method.eq_ignore_ascii_case("GET")
    }
}

/// The body of `POST /$batch`.
pub fn envelope(requests: &[BatchRequest]) -> Value {
    json!({ "requests": requests })
}

/// One item's answer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BatchItemResponse {
    pub id: String,
    pub status: u16,
    #[serde(default)]
    pub headers: Option<Map<String, Value>>,
    #[serde(default)]
    pub body: Option<Value>,
}

impl BatchItemResponse {
    /// A header of the item, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .as_ref()?
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.as_str())
    }

    pub fn retry_after(&self) -> Option<Duration> {
        self.header("Retry-After").and_then(parse_retry_after)
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// `error.code` and `error.message` of a failed item, when it has them.
    pub fn error(&self) -> (Option<&str>, Option<&str>) {
        let error = self.body.as_ref().and_then(|body| body.get("error"));
        (
            error.and_then(|e| e.get("code")).and_then(Value::as_str),
            error.and_then(|e| e.get("message")).and_then(Value::as_str),
        )
    }
}

/// A batch answer that does not fit the batch that was sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    #[error("the $batch answer is not the documented shape: {0}")]
    Shape(String),
    #[error("the $batch answer has no item for request id {0}")]
    MissingItem(String),
    #[error("the $batch answer has an item with unknown or repeated id {0}")]
    UnexpectedItem(String),
}

/// The items of a batch answer, keyed by id; every sent id must be answered once.
pub fn parse_answer(
    answer: Value,
    sent: &[BatchRequest],
) -> Result<BTreeMap<String, BatchItemResponse>, BatchError> {
    #[derive(Deserialize)]
    struct Answer {
        responses: Vec<BatchItemResponse>,
    }
    let answer: Answer =
        serde_json::from_value(answer).map_err(|error| BatchError::Shape(error.to_string()))?;
    let mut items = BTreeMap::new();
    for item in answer.responses {
        let known = sent.iter().any(|request| request.id.eq_ignore_ascii_case(&item.id));
        let key = item.id.to_ascii_lowercase();
        if !known || items.contains_key(&key) {
            return Err(BatchError::UnexpectedItem(item.id));
        }
        items.insert(key, item);
    }
    let mut by_sent_id = BTreeMap::new();
    for request in sent {
        let item = items
            .remove(&request.id.to_ascii_lowercase())
            .ok_or_else(|| BatchError::MissingItem(request.id.clone()))?;
        by_sent_id.insert(request.id.clone(), item);
    }
    Ok(by_sent_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_match_the_documented_shape() {
        let requests = vec![
            BatchRequest::get("1", "/users/u1?$select=id"),
            BatchRequest::patch("2", "/users/u2", json!({ "customSecurityAttributes": {} })),
        ];
        assert_eq!(
            envelope(&requests),
            json!({ "requests": [
                { "id": "1", "method": "GET", "url": "/users/u1?$select=id" },
                { "id": "2", "method": "PATCH", "url": "/users/u2",
                  "headers": { "Content-Type": "application/json" },
                  "body": { "customSecurityAttributes": {} } }
            ]})
        );
        assert!(requests[1].is_write() && !requests[0].is_write());
    }

    #[test]
    fn answers_in_any_order_are_matched_by_id() {
        let sent = vec![BatchRequest::get("1", "/a"), BatchRequest::get("2", "/b")];
        // graph-examples/batch-example-with-204.http: a 204 item has a null body.
        let answer = json!({ "responses": [
            { "id": "2", "status": 429, "headers": { "Retry-After": "2.5" }, "body": { "error": { "code": "TooManyRequests", "message": "Please retry again later." } } },
            { "id": "1", "status": 204, "body": null }
        ]});
        let items = parse_answer(answer, &sent).unwrap();
        assert!(items["1"].is_success());
        assert_eq!(items["2"].retry_after(), Some(Duration::from_millis(2500)));
        assert_eq!(items["2"].error(), (Some("TooManyRequests"), Some("Please retry again later.")));
    }

    #[test]
    fn missing_and_unexpected_items_are_errors() {
        let sent = vec![BatchRequest::get("1", "/a"), BatchRequest::get("2", "/b")];
        let missing = json!({ "responses": [ { "id": "1", "status": 200 } ] });
        assert_eq!(parse_answer(missing, &sent), Err(BatchError::MissingItem("2".into())));
        let repeated = json!({ "responses": [ { "id": "1", "status": 200 }, { "id": "1", "status": 200 } ] });
        assert_eq!(parse_answer(repeated, &sent), Err(BatchError::UnexpectedItem("1".into())));
        assert!(matches!(parse_answer(json!({ "value": [] }), &sent), Err(BatchError::Shape(_))));
    }
}
