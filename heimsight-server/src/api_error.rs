//! The one place where errors become HTTP responses.
//!
//! Every handler returns `Result<_, ApiError>`; the `From` impls below decide the status code
//! of every error of the other crates. Client mistakes are 4xx with a message naming the
//! problem; only failures of the server itself (storage, panics) are 5xx.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use heimsight_core::api::{ErrorBody, ErrorItem, QueryDiagnostic};
use heimsight_ingest::ItemError;
use serde_json::{Value, json};

/// An error answer of the HTTP API, rendered as JSON:
/// `{"error": "<message>", "details": [<more specific problems>]}`.
///
/// [`ApiError::Rejected`] is the exception: it answers a batch of which some items were
/// invalid, with `{"error", "accepted", "rejected", "errors": [{"index", "field", "reason"}]}`.
#[derive(Debug)]
#[non_exhaustive]
pub enum ApiError {
    /// 400: the request is wrong (a parameter, the body…).
    BadRequest {
        /// What is wrong.
        message: String,
        /// Every individual problem, when there are several.
        details: Vec<String>,
    },
    /// 400: some items of an ingested batch were invalid; the valid ones were stored.
    Rejected {
        /// Items stored.
        accepted: usize,
        /// Items rejected.
        rejected: usize,
        /// The problems of the rejected items.
        errors: Vec<ItemError>,
    },
    /// 400: a query in the query language is invalid; `diagnostics` locate every problem.
    InvalidQuery {
        /// The first problem.
        message: String,
        /// Every problem, one line each.
        details: Vec<String>,
        /// Every problem, located in the query's text.
        diagnostics: Vec<QueryDiagnostic>,
    },
    /// 400: an object (alert rule, silence, channel) is invalid; every problem names its field.
    Invalid {
        /// What is wrong, in one line.
        message: String,
        /// Every problem.
        errors: Vec<heimsight_core::FieldError>,
    },
    /// 401: the request does not say who sends it (no or an unknown credential).
    Unauthorized(String),
    /// 403: the sender may not do this (see [`AccessControl`](crate::layers::AccessControl)).
    Forbidden(String),
    /// 404: no such thing (route, trace…).
    NotFound(String),
    /// 405: the route exists, but not for this method.
    MethodNotAllowed(String),
    /// 413: the body is larger than the configured limit.
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// 413: the request needs more than the whole ingest budget (or another size limit).
    RequestTooLarge(String),
    /// 415: the body is not declared as JSON.
    UnsupportedMediaType(String),
    /// 429: ingestion is at capacity; retry after the given number of seconds (sent as
    /// `Retry-After`).
    TooManyRequests {
        /// What is going on.
        message: String,
        /// Seconds to wait before retrying.
        retry_after_secs: u64,
    },
    /// 500: the server failed.
    Internal(String),
    /// 503: the server could not answer in time or with the room it has (a query over its
    /// time budget); the same request may succeed later.
    Unavailable(String),
    /// 502: a service the server called on the client's behalf (a notification receiver)
    /// failed.
    BadGateway(String),
}

impl ApiError {
    /// A 400 with a message.
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            message: message.into(),
            details: Vec::new(),
        }
    }

    /// A 400 for an invalid object: `<what>: <every problem>`, with the problems listed.
    pub fn invalid(what: &str, errors: Vec<heimsight_core::FieldError>) -> Self {
        let message = format!(
            "{what}: {}",
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        );
        ApiError::Invalid { message, errors }
    }

    /// A 400 for a query parameter: `invalid parameter <name>: <reason>`.
    pub fn bad_param(name: &str, reason: impl std::fmt::Display) -> Self {
        ApiError::bad_request(format!("invalid parameter {name}: {reason}"))
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. }
            | ApiError::Rejected { .. }
            | ApiError::InvalidQuery { .. }
            | ApiError::Invalid { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::PayloadTooLarge { .. } | ApiError::RequestTooLarge(_) => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::BadGateway(_) => StatusCode::BAD_GATEWAY,
        }
    }

    /// The body of this error, as the API answers it.
    pub fn error_body(&self) -> ErrorBody {
        let (message, details): (String, &[String]) = match self {
            ApiError::BadRequest { message, details } => (message.clone(), details),
            ApiError::InvalidQuery {
                message,
                details,
                diagnostics,
            } => {
                return ErrorBody {
                    diagnostics: diagnostics.clone(),
                    ..ErrorBody::new(message.clone(), details.clone())
                };
            }
            ApiError::Invalid { message, errors } => {
                return ErrorBody {
                    errors: errors.iter().map(ErrorItem::from).collect(),
                    ..ErrorBody::new(
                        message.clone(),
                        errors.iter().map(ToString::to_string).collect(),
                    )
                };
            }
            ApiError::Rejected {
                accepted,
                rejected,
                errors,
            } => {
                return ErrorBody {
                    error: format!(
                        "rejected {rejected} of {} items (see errors); stored the other {accepted}",
                        accepted + rejected
                    ),
                    accepted: Some(*accepted),
                    rejected: Some(*rejected),
                    errors: errors
                        .iter()
                        .map(|e| ErrorItem::at(e.index, e.field.clone(), e.reason.clone()))
                        .collect(),
                    ..ErrorBody::default()
                };
            }
            ApiError::NotFound(m)
            | ApiError::Unauthorized(m)
            | ApiError::Forbidden(m)
            | ApiError::MethodNotAllowed(m)
            | ApiError::UnsupportedMediaType(m)
            | ApiError::RequestTooLarge(m)
            | ApiError::TooManyRequests { message: m, .. }
            | ApiError::Internal(m)
            | ApiError::Unavailable(m)
            | ApiError::BadGateway(m) => (m.clone(), &[]),
            ApiError::PayloadTooLarge { limit } => (
                format!(
                    "request body too large: the limit is {limit} bytes (max_body_bytes); \
                     split the batch into smaller requests"
                ),
                &[],
            ),
        };
        ErrorBody::new(message, details.to_vec())
    }

    /// The JSON body of this error ([`ApiError::error_body`]).
    pub fn body(&self) -> Value {
        serde_json::to_value(self.error_body()).unwrap_or_else(|_| json!({"error": "error"}))
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.body().get("error").and_then(Value::as_str) {
            Some(m) => f.write_str(m),
            None => f.write_str("error"),
        }
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        } else {
            tracing::debug!(status = status.as_u16(), error = %self, "request rejected");
        }
        let mut res = (status, Json(self.body())).into_response();
        if let ApiError::TooManyRequests {
            retry_after_secs, ..
        } = self
        {
            res.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(retry_after_secs),
            );
        }
        if let ApiError::Unauthorized(_) = self {
            // Both schemes Heimsight takes: a bearer key, or basic auth with the key as
            // password (what Grafana's data sources send).
            res.headers_mut().append(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"heimsight\""),
            );
            res.headers_mut().append(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Basic realm=\"heimsight\""),
            );
        }
        res
    }
}

impl From<heimsight_store::Error> for ApiError {
    fn from(e: heimsight_store::Error) -> Self {
        if e.is_client_error() {
            ApiError::bad_request(e.to_string())
        } else {
            ApiError::Internal(e.to_string())
        }
    }
}

impl From<heimsight_ingest::Error> for ApiError {
    fn from(e: heimsight_ingest::Error) -> Self {
        match e {
            heimsight_ingest::Error::Store(e) => e.into(),
            other if other.is_client_error() => ApiError::bad_request(other.to_string()),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<heimsight_core::Error> for ApiError {
    fn from(e: heimsight_core::Error) -> Self {
        let details = e.field_errors().iter().map(ToString::to_string).collect();
        ApiError::BadRequest {
            message: e.to_string(),
            details,
        }
    }
}

impl From<heimsight_query::Error> for ApiError {
    fn from(e: heimsight_query::Error) -> Self {
        ApiError::bad_request(e.to_string())
    }
}

impl From<crate::budget::BodyError> for ApiError {
    fn from(e: crate::budget::BodyError) -> Self {
        use crate::budget::{BodyError, Limit};
        match e {
            BodyError::TooLarge {
                limit,
                which: Limit::Body,
            } => ApiError::PayloadTooLarge { limit },
            e @ BodyError::TooLarge { .. } => ApiError::RequestTooLarge(e.message()),
            e @ BodyError::Throttled { .. } => ApiError::TooManyRequests {
                message: e.message(),
                retry_after_secs: crate::budget::RETRY_AFTER_SECS,
            },
            e => ApiError::bad_request(e.message()),
        }
    }
}

#[cfg(feature = "alerting")]
impl From<heimsight_alert::Error> for ApiError {
    fn from(e: heimsight_alert::Error) -> Self {
        match e {
            heimsight_alert::Error::Invalid { what, errors } => {
                ApiError::invalid(&format!("invalid {what}"), errors)
            }
            heimsight_alert::Error::NotFound { .. } => ApiError::NotFound(e.to_string()),
            heimsight_alert::Error::Query { .. } => ApiError::bad_request(e.to_string()),
            heimsight_alert::Error::Store(e) => e.into(),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<crate::blocking::TaskFailed> for ApiError {
    fn from(e: crate::blocking::TaskFailed) -> Self {
        ApiError::Internal(e.with_cause())
    }
}

impl From<crate::error::Error> for ApiError {
    fn from(e: crate::error::Error) -> Self {
        match e {
            crate::error::Error::Store(e) => e.into(),
            crate::error::Error::Config(problems) => ApiError::BadRequest {
                message: "invalid settings".into(),
                details: problems,
            },
            other => ApiError::Internal(other.to_string()),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// What clients read back with the shared type is what the server wrote, and each kind
    /// of error keeps its documented keys.
    #[test]
    fn error_bodies_read_back_as_the_shared_type() {
        let invalid = ApiError::invalid(
            "invalid rule",
            vec![heimsight_core::FieldError::new(
                "interval",
                "must be at least 1s",
            )],
        );
        let rejected = ApiError::Rejected {
            accepted: 2,
            rejected: 1,
            errors: vec![ItemError {
                index: 1,
                field: "timestamp".into(),
                reason: "is required".into(),
            }],
        };
        let mut d = QueryDiagnostic::new(1, 8, 7, 12, "unknown column `levle`");
        d.hint = Some("did you mean `level`?".into());
        let query = ApiError::InvalidQuery {
            message: "invalid query".into(),
            details: vec!["line 1".into()],
            diagnostics: vec![d],
        };
        for (e, keys) in [
            (&invalid, &["details", "error", "errors"][..]),
            (&rejected, &["accepted", "error", "errors", "rejected"][..]),
            (&query, &["details", "diagnostics", "error"][..]),
            (
                &ApiError::NotFound("no such rule".into()),
                &["details", "error"][..],
            ),
        ] {
            let json = e.body();
            let got: Vec<&str> = json
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            assert_eq!(got, keys, "{json}");
            let back: ErrorBody = serde_json::from_value(json).unwrap();
            assert_eq!(back, e.error_body());
        }
        assert_eq!(
            rejected.error_body().errors,
            [ErrorItem::at(1, "timestamp", "is required")]
        );
        assert_eq!(
            invalid.error_body().details(),
            ["interval: must be at least 1s"]
        );
    }
}
