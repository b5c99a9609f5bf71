//! The `{object, messages}` envelope (api.md §1.3) and the one place where errors become
//! status codes (§1.4).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::{json, Value};

/// A message of the envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    /// Machine code, `UPPER_SNAKE`.
    pub code: &'static str,
    /// Human-readable; never secrets, stack traces or internal host names.
    pub message: String,
    /// JSON Pointer to the offending request member.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// A refused request: the status and the one message that explains it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// What the client is told.
    pub message: Message,
    /// Seconds for a `Retry-After` header (429).
    pub retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: Message {
                code,
                message: message.into(),
                field: None,
            },
            retry_after: None,
        }
    }

    /// Names the request member at fault.
    pub fn at(mut self, pointer: impl Into<String>) -> ApiError {
        self.message.field = Some(pointer.into());
        self
    }

    /// 503 `LEDGER_UNAVAILABLE`: this node cannot serve yet (`/readyz`), saying why.
    pub fn not_ready(message: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "LEDGER_UNAVAILABLE",
            message,
        )
    }

    /// 400 `INVALID_REQUEST`: the body is not what the endpoint takes.
    pub fn invalid_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "INVALID_REQUEST", message)
    }

    /// 400 `INVALID_FORMAT`: a value has the wrong form.
    pub fn invalid_format(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "INVALID_FORMAT", message)
    }

    /// 400 `MISSING_FIELD`.
    pub fn missing(pointer: &str) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "MISSING_FIELD",
            format!("{pointer} is required"),
        )
        .at(pointer)
    }

    /// 400 `UNSUPPORTED`.
    pub fn unsupported(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "UNSUPPORTED", message)
    }

    /// 400 `INVALID_SIGNATURE_FORMAT`: a signature of the wrong length or not hex.
    pub fn invalid_signature_format(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "INVALID_SIGNATURE_FORMAT", message)
    }

    /// 401 `SIGNATURE_MISMATCH`: a body signature does not verify or is not the expected key's.
    pub fn signature_mismatch(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "SIGNATURE_MISMATCH", message)
    }

    /// 403 `FORBIDDEN`: the caller may not act on this issuer's data.
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "FORBIDDEN", message)
    }

    /// 409 `DUPLICATE`.
    pub fn duplicate(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, "DUPLICATE", message)
    }

    /// 409 `INVALID_STATE`.
    pub fn invalid_state(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, "INVALID_STATE", message)
    }

    /// 401 `UNAUTHENTICATED`.
    pub fn unauthenticated(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", message)
    }

    /// 429 `RATE_LIMITED`.
    pub fn rate_limited(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED", message)
    }

    /// 429 `QUOTA_EXCEEDED`, retry after `seconds`.
    pub fn quota_exceeded(message: impl Into<String>, seconds: u64) -> ApiError {
        let mut e = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "QUOTA_EXCEEDED", message);
        e.retry_after = Some(seconds);
        e
    }

    /// 403 `FEATURE_DISABLED`.
    pub fn feature_disabled(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "FEATURE_DISABLED", message)
    }

    /// 410 `GONE`.
    pub fn gone(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::GONE, "GONE", message)
    }

    /// 400 `INVALID_CREDENTIAL`.
    pub fn invalid_credential(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "INVALID_CREDENTIAL", message)
    }

    /// 404 `NOT_FOUND`.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "NOT_FOUND", message)
    }

    /// 405, for a known path called with another method.
    pub fn method_not_allowed() -> ApiError {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "INVALID_REQUEST",
            "this endpoint does not take that HTTP method",
        )
    }

    /// 413 `PAYLOAD_TOO_LARGE`.
    pub fn too_large(limit: usize) -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            format!("the body is over {limit} bytes"),
        )
    }

    /// 500 `LEDGER_UNAVAILABLE` when the store (and so the ledger) failed; the detail goes to
    /// the log only.
    pub fn unavailable(detail: impl std::fmt::Display) -> ApiError {
        tracing::error!(%detail, "storage unavailable");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "LEDGER_UNAVAILABLE",
            "the service's storage is unavailable; try again",
        )
    }

    /// 500 `INTERNAL`; the detail goes to the log only.
    pub fn internal(detail: impl std::fmt::Display) -> ApiError {
        tracing::error!(%detail, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL",
            "an unexpected error occurred",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "object": Value::Null, "messages": [self.message] });
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(seconds),
            );
        }
        response
    }
}

/// A successful result in the envelope (HTTP 200, no messages).
#[derive(Debug)]
pub struct Envelope(pub Value);

impl IntoResponse for Envelope {
    fn into_response(self) -> Response {
        Json(json!({ "object": self.0, "messages": [] })).into_response()
    }
}
