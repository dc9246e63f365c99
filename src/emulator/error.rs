//! The one error type of the emulator's Graph boundary: a status plus Graph's
//! error envelope (`{"error":{"code","message","innerError"}}`), so every
//! refusal — documented by Microsoft or chosen by the emulator — has one shape.

use axum::http::StatusCode;
use serde_json::{Value, json};

/// A refused Graph request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl GraphError {
    /// 400 `Request_BadRequest`. Used for every validation failure Microsoft
    /// documents no error for: the emulator's own choice (ARCHITECTURE.md, "The emulator's own choices").
    pub fn bad_request(message: impl Into<String>) -> Self {
        GraphError { status: StatusCode::BAD_REQUEST, code: "Request_BadRequest", message: message.into() }
    }

    /// 400 `Request_UnsupportedQuery`, the documented code for query options
    /// Graph cannot serve (C-AQ, E-TS).
    pub fn unsupported_query(message: impl Into<String>) -> Self {
        GraphError {
            status: StatusCode::BAD_REQUEST,
            code: "Request_UnsupportedQuery",
            message: message.into(),
        }
    }

    /// The documented CSA filter error (E-TS), for `{set}_{attribute}`.
    pub fn unsupported_attribute_filter(definition_id: &str) -> Self {
        GraphError::unsupported_query(format!(
            "Unsupported or invalid query filter clause specified for property '{definition_id}' of resource 'CustomSecurityAttributeValue'."
        ))
    }

    /// 404 `Request_ResourceNotFound` for an unknown id: the emulator's own
    /// choice, after the directory's conventions (C-ERR).
    pub fn not_found(id: &str) -> Self {
        GraphError {
            status: StatusCode::NOT_FOUND,
            code: "Request_ResourceNotFound",
            message: format!(
                "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
            ),
        }
    }

    /// 405 with the code and message C-BATCH documents for a method the
    /// target does not allow. Using it for DELETE is the emulator's choice:
    /// Graph has no DELETE endpoint for these objects and documents no answer.
    pub fn method_not_allowed() -> Self {
        GraphError {
            status: StatusCode::METHOD_NOT_ALLOWED,
            code: "Request_BadRequest",
            message: "Specified HTTP method is not allowed for the request target.".into(),
        }
    }

    /// 401 `InvalidAuthenticationToken` (the emulator's choice of code).
    pub fn unauthorized(message: impl Into<String>) -> Self {
        GraphError {
            status: StatusCode::UNAUTHORIZED,
            code: "InvalidAuthenticationToken",
            message: message.into(),
        }
    }

    /// 403 `Authorization_RequestDenied` with the documented message, for a
    /// token that lacks the permission or role (E-TS).
    pub fn forbidden() -> Self {
        GraphError {
            status: StatusCode::FORBIDDEN,
            code: "Authorization_RequestDenied",
            message: "Insufficient privileges to complete the operation.".into(),
        }
    }

    /// 400 `BadRequest`, as Graph's OData reader answers a property of the
    /// wrong JSON type (the emulator's choice of code and wording).
    pub fn wrong_type(message: impl Into<String>) -> Self {
        GraphError { status: StatusCode::BAD_REQUEST, code: "BadRequest", message: message.into() }
    }

    /// 429 `TooManyRequests` as the documented sample (C-THR).
    pub fn too_many_requests() -> Self {
        GraphError {
            status: StatusCode::TOO_MANY_REQUESTS,
            code: "TooManyRequests",
            message: "Please retry again later.".into(),
        }
    }

    /// 503 `serviceNotAvailable` (the emulator's choice of code).
    pub fn service_unavailable() -> Self {
        GraphError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "serviceNotAvailable",
            message: "The service is temporarily unavailable. Please retry later.".into(),
        }
    }

    /// 424 for a batch item whose `dependsOn` predecessor failed (C-BATCH
    /// documents the status; the body is the emulator's choice).
    pub fn failed_dependency(dependency: &str) -> Self {
        GraphError {
            status: StatusCode::FAILED_DEPENDENCY,
            code: "FailedDependency",
            message: format!("The request depends on request '{dependency}', which failed."),
        }
    }

    /// Graph's error envelope. A 429 carries the inner fields of the
    /// documented sample (`code`/`status` "429", "Please retry after").
    pub fn envelope(&self, request_id: &str, client_request_id: Option<&str>, date: &str) -> Value {
        let mut inner = json!({ "date": date, "request-id": request_id });
        if let Some(client_request_id) = client_request_id {
            inner["client-request-id"] = json!(client_request_id);
        }
        if self.status == StatusCode::TOO_MANY_REQUESTS {
            inner["code"] = json!("429");
            inner["message"] = json!("Please retry after");
            inner["status"] = json!("429");
        }
        json!({ "error": { "code": self.code, "message": self.message, "innerError": inner } })
    }
}
