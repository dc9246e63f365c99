//! Azure Resource Manager as a source of readers: the Azure role assignments
//! whose condition (Azure ABAC) reads a principal's custom security
//! attributes. Kept apart from `graph` because it is another service with
//! its own host, token audience, paging and errors; it reads only, and only
//! when asked (`--azure-role-assignments`).
//!
//! One paged query of Azure Resource Graph's `authorizationresources`
//! table finds every role assignment with a condition that the sign-in may
//! read, across management groups and subscriptions
//! (<https://learn.microsoft.com/rest/api/azureresourcegraph/resourcegraph/resources/resources>,
//! api-version 2024-04-01; `$skipToken` pages as in its "Next page query"
//! example). Each condition's text is checked here as well, whatever the
//! server filtered. Resource Graph answers with what the caller may read and
//! says nothing of the rest: a scope without `Microsoft.Authorization/roleAssignments/read`
//! is absent, not refused.

pub mod endpoint;

use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::graph::auth::{AuthError, TokenSource};

pub use endpoint::ArmEndpoint;

/// The api-version of Resource Graph's `resources` query.
pub const RESOURCE_GRAPH_API_VERSION: &str = "2024-04-01";

/// The Azure permission the read needs, at every scope it should see.
pub const ROLE_ASSIGNMENT_READ: &str = "Microsoft.Authorization/roleAssignments/read";

/// The query: every role assignment whose condition is not empty, in a
/// stable order (paging needs `id`, as the REST examples say).
pub const QUERY: &str = "authorizationresources \
| where type =~ 'microsoft.authorization/roleassignments' \
| where isnotempty(tostring(properties.condition)) \
| project id, name, type, properties \
| order by id asc";

/// The role definitions, for their names.
pub const ROLE_DEFINITIONS_QUERY: &str = "authorizationresources \
| where type =~ 'microsoft.authorization/roledefinitions' \
| project id, name, type, properties \
| order by id asc";

/// The `type` of a role definition's row.
pub const ROLE_DEFINITION_TYPE: &str = "microsoft.authorization/roledefinitions";

/// The most rows one page asks for (the API's `$top` allows 1000).
const PAGE_SIZE: u64 = 1000;

/// The most pages one read follows before calling it a loop.
const MAX_PAGES: usize = 10_000;

/// Why Azure Resource Manager could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ArmError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("Azure Resource Graph: cannot reach {url}: {message}")]
    Transport { url: String, message: String },
    #[error("Azure Resource Graph answered {status}{code}: {message}")]
    Status { status: u16, code: String, message: String },
    #[error("Azure Resource Graph: {0}")]
    Body(String),
}

impl ArmError {
    pub fn status(&self) -> Option<u16> {
        match self {
            ArmError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// A client of Azure Resource Manager.
#[derive(Debug, Clone)]
pub struct ArmClient {
    http: reqwest::Client,
    endpoint: ArmEndpoint,
    tokens: TokenSource,
    /// How long a 429 or 5xx is waited out at most, in total.
    retry_budget: Duration,
}

impl ArmClient {
    pub fn new(endpoint: ArmEndpoint, tokens: TokenSource, retry_scale: f64) -> Result<Self, ArmError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(100))
            .connect_timeout(Duration::from_secs(15))
            .user_agent(concat!("entra-csa/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| ArmError::Transport {
                url: endpoint.display_root(),
                message: format!("cannot build the HTTP client: {error}"),
            })?;
        Ok(ArmClient { http, endpoint, tokens, retry_budget: Duration::from_secs(120).mul_f64(retry_scale) })
    }

    pub fn endpoint(&self) -> &ArmEndpoint {
        &self.endpoint
    }

    /// Every role assignment with a condition that the sign-in can see, as
    /// Resource Graph's rows (`id`, `name`, `type`, `properties`), each
    /// holding a non-empty `properties.condition`; then, when there are any,
    /// the role definitions (rows of type `microsoft.authorization/roledefinitions`),
    /// so that a role is shown by its `roleName` rather than its id.
    pub async fn role_assignments_with_conditions(&self) -> Result<Vec<Map<String, Value>>, ArmError> {
        let mut rows: Vec<Map<String, Value>> =
            self.query(QUERY).await?.into_iter().filter(has_condition).collect();
        if !rows.is_empty() {
            rows.extend(self.query(ROLE_DEFINITIONS_QUERY).await?.into_iter().filter(|row| {
                row.get("type")
                    .and_then(Value::as_str)
                    .is_some_and(|kind| kind.eq_ignore_ascii_case(ROLE_DEFINITION_TYPE))
            }));
        }
        Ok(rows)
    }

    /// Every row a query answers, page by page.
    async fn query(&self, query: &str) -> Result<Vec<Map<String, Value>>, ArmError> {
        let mut url = self.endpoint.root.clone();
        let path =
            format!("{}/providers/Microsoft.ResourceGraph/resources", url.path().trim_end_matches('/'));
        url.set_path(&path);
        url.query_pairs_mut().append_pair("api-version", RESOURCE_GRAPH_API_VERSION);
        let mut rows = Vec::new();
        let mut skip_token: Option<String> = None;
        let mut seen = std::collections::HashSet::new();
        for _ in 0..MAX_PAGES {
            let mut options = json!({
                "$top": PAGE_SIZE,
                "resultFormat": "objectArray",
                // Assignments inherited from management groups and the root too.
                "authorizationScopeFilter": "AtScopeAboveAndBelow",
            });
            if let Some(token) = &skip_token {
                options["$skipToken"] = Value::String(token.clone());
            }
            let body = json!({ "query": query, "options": options });
            let page = self.post(&url, &body).await?;
            let Value::Object(mut page) = page else {
                return Err(ArmError::Body("expected a JSON object".into()));
            };
            match page.remove("data") {
                Some(Value::Array(items)) => {
                    rows.extend(items.into_iter().filter_map(|item| match item {
                        Value::Object(row) => Some(row),
                        _ => None,
                    }));
                }
                _ => {
                    return Err(ArmError::Body(
                        "expected a `data` array of objects (resultFormat objectArray)".into(),
                    ));
                }
            }
            match page.get("$skipToken") {
                Some(Value::String(token)) if !token.is_empty() => {
                    if !seen.insert(token.clone()) {
                        return Err(ArmError::Body(
                            "`$skipToken` repeats a page already read (a paging loop)".into(),
                        ));
                    }
                    skip_token = Some(token.clone());
                }
                _ => return Ok(rows),
            }
        }
        Err(ArmError::Body(format!("more than {MAX_PAGES} pages")))
    }

    /// One POST, with 429 and 5xx waited out (`Retry-After`, else a doubling
    /// pause) within the retry budget.
    async fn post(&self, url: &url::Url, body: &Value) -> Result<Value, ArmError> {
        let mut waited = Duration::ZERO;
        let mut pause = Duration::from_millis(500).mul_f64(self.retry_budget.as_secs_f64() / 120.0);
        loop {
            let token = self.tokens.token().await?;
            let answer = self.http.post(url.clone()).bearer_auth(token.expose()).json(body).send().await;
            let answer = match answer {
                Ok(answer) => answer,
                Err(error) if waited < self.retry_budget => {
                    tracing::debug!("Azure Resource Graph: retrying after {}", error.without_url());
                    tokio::time::sleep(pause).await;
                    waited += pause;
                    pause *= 2;
                    continue;
                }
                Err(error) => {
                    return Err(ArmError::Transport {
                        url: self.endpoint.display_root(),
                        message: error.without_url().to_string(),
                    });
                }
            };
            let status = answer.status();
            let retry_after = answer
                .headers()
                .get("retry-after")
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.trim().parse::<f64>().ok())
                .map(|seconds| {
                    Duration::from_secs_f64(seconds.max(0.0)).mul_f64(self.retry_budget.as_secs_f64() / 120.0)
                });
            let text = answer.text().await.unwrap_or_default();
            let parsed: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            if status.is_success() {
                return Ok(parsed);
            }
            if (status.as_u16() == 429 || status.is_server_error()) && waited < self.retry_budget {
                let wait = retry_after.unwrap_or(pause);
                tracing::debug!("Azure Resource Graph answered {status}: retrying in {wait:?}");
                tokio::time::sleep(wait).await;
                waited += wait;
                pause *= 2;
                continue;
            }
            // ARM's error envelope: { "error": { "code", "message" } }.
            let error = parsed.get("error");
            let field = |name: &str| {
                error.and_then(|error| error.get(name)).and_then(Value::as_str).unwrap_or_default()
            };
            return Err(ArmError::Status {
                status: status.as_u16(),
                code: if field("code").is_empty() { String::new() } else { format!(" {}", field("code")) },
                message: if field("message").is_empty() {
                    "(no message)".into()
                } else {
                    field("message").to_owned()
                },
            });
        }
    }
}

/// Whether a row holds a non-empty `properties.condition`.
pub fn has_condition(row: &Map<String, Value>) -> bool {
    row.get("properties")
        .and_then(|properties| properties.get("condition"))
        .and_then(Value::as_str)
        .is_some_and(|condition| !condition.trim().is_empty())
}

/// What to say when the read was refused: what was not checked, and why.
pub fn not_checked(error: &ArmError) -> String {
    format!(
        "Azure Resource Graph refused to list role assignments ({error}): the sign-in needs \
         {ROLE_ASSIGNMENT_READ} at the scopes to check (the Reader role grants it)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_rows_with_a_condition_count() {
        let row = |condition: Value| {
            json!({ "id": "x", "properties": { "condition": condition } }).as_object().unwrap().clone()
        };
        assert!(has_condition(&row(json!("@Principal[x] StringEquals 'a'"))));
        assert!(!has_condition(&row(json!(""))));
        assert!(!has_condition(&row(json!("  "))));
        assert!(!has_condition(&row(Value::Null)));
        assert!(!has_condition(&json!({ "id": "x" }).as_object().unwrap().clone()));
    }
}
