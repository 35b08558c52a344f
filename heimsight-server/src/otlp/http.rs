//! OTLP/HTTP: `POST /v1/logs`, `/v1/traces` and `/v1/metrics`.

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::header::{CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use bytes::Bytes;
use heimsight_ingest::otlp::Encoding;
use prost::Message;

use super::{ExportError, Signal, blocking, store_body};
use crate::budget::{self, BodyError, RETRY_AFTER_SECS};
use crate::state::AppState;

/// The OTLP/HTTP routes, without layers (the caller adds tracing and the panic net).
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/logs", post(logs).fallback(method_not_allowed))
        .route("/v1/traces", post(traces).fallback(method_not_allowed))
        .route("/v1/metrics", post(metrics).fallback(method_not_allowed))
}

async fn logs(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    export(state, Signal::Logs, &headers, body).await
}

async fn traces(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    export(state, Signal::Traces, &headers, body).await
}

async fn metrics(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    export(state, Signal::Metrics, &headers, body).await
}

async fn method_not_allowed(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let enc = encoding(&headers).unwrap_or(Encoding::Json);
    error_response(
        &ExportError::MethodNotAllowed(format!(
            "method {method} is not allowed on {}; OTLP/HTTP exports are POSTed",
            uri.path()
        )),
        enc,
    )
}

/// The answer to a request to a path of the OTLP/HTTP listener that does not exist.
pub(crate) async fn not_found(method: Method, uri: Uri) -> Response {
    let status = super::rpc::Status::new(
        super::rpc::code::UNIMPLEMENTED,
        format!(
            "no endpoint {method} {} here; OTLP/HTTP exports go to POST /v1/logs, /v1/traces \
             and /v1/metrics",
            uri.path()
        ),
    );
    (
        StatusCode::NOT_FOUND,
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        status.to_json().to_string(),
    )
        .into_response()
}

/// The compression of a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Coding {
    Identity,
    Gzip,
}

fn encoding(headers: &HeaderMap) -> Option<Encoding> {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(Encoding::from_content_type)
}

fn content_type(headers: &HeaderMap) -> Result<Encoding, ExportError> {
    let Some(value) = headers.get(CONTENT_TYPE) else {
        return Err(ExportError::Unsupported(
            "missing Content-Type header; OTLP/HTTP bodies are application/x-protobuf or \
             application/json"
                .into(),
        ));
    };
    let text = String::from_utf8_lossy(value.as_bytes());
    Encoding::from_content_type(&text).ok_or_else(|| {
        ExportError::Unsupported(format!(
            "unsupported Content-Type {text:?}; OTLP/HTTP accepts application/x-protobuf and \
             application/json"
        ))
    })
}

fn content_encoding(headers: &HeaderMap) -> Result<Coding, ExportError> {
    let mut coding = Coding::Identity;
    for value in headers.get_all(CONTENT_ENCODING) {
        let text = String::from_utf8_lossy(value.as_bytes());
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part.to_ascii_lowercase().as_str() {
                "identity" => {}
                "gzip" | "x-gzip" if coding == Coding::Identity => coding = Coding::Gzip,
                _ => {
                    return Err(ExportError::Unsupported(format!(
                        "unsupported Content-Encoding {text:?}; OTLP/HTTP accepts gzip or no \
                         compression (identity)"
                    )));
                }
            }
        }
    }
    Ok(coding)
}

/// Takes one OTLP/HTTP export in and answers it.
async fn export(state: AppState, signal: Signal, headers: &HeaderMap, body: Body) -> Response {
    // The answer's encoding is the request's; JSON when the request's is not known.
    let enc = match content_type(headers) {
        Ok(enc) => enc,
        Err(e) => return error_response(&e, Encoding::Json),
    };
    let ingested = state.ingested.clone();
    let metrics = state.metrics.clone();
    match try_export(state, signal, headers, body, enc).await {
        Ok((outcome, size)) => {
            outcome.log(signal, "otlp/http");
            ingested.add(signal.stored(), outcome.accepted);
            metrics.ingested(
                signal.stored(),
                crate::telemetry::Protocol::OtlpHttp,
                outcome.accepted,
                outcome.rejected,
                size,
            );
            (
                StatusCode::OK,
                [(CONTENT_TYPE, HeaderValue::from_static(enc.content_type()))],
                Bytes::from(outcome.encode(signal, enc)),
            )
                .into_response()
        }
        Err(e) => {
            e.log("otlp/http");
            error_response(&e, enc)
        }
    }
}

async fn try_export(
    state: AppState,
    signal: Signal,
    headers: &HeaderMap,
    body: Body,
    enc: Encoding,
) -> Result<(super::Outcome, usize), ExportError> {
    let coding = content_encoding(headers)?;
    let declared = budget::declared_length(headers);
    let limit = state.config.max_body_bytes;
    let (bytes, mut permit) = budget::read_body(body, &state.budget, limit, declared).await?;
    let size = bytes.len();
    let budget = state.budget.clone();
    blocking(&state, move |store| {
        let body = match coding {
            Coding::Identity => bytes,
            Coding::Gzip => {
                let mut out = Vec::new();
                budget::gunzip_into(&bytes, &mut out, limit, &mut permit, &budget)?;
                // The compressed body is not needed any more.
                permit.shrink(bytes.len());
                drop(bytes);
                Bytes::from(out)
            }
        };
        let outcome = store_body(store, signal, &body, enc);
        drop(body);
        drop(permit);
        outcome
    })
    .await
    .map(|outcome| (outcome, size))
}

/// An error answer: the status code, and a `google.rpc.Status` in `enc`.
fn error_response(e: &ExportError, enc: Encoding) -> Response {
    let status = match e {
        ExportError::Body(BodyError::TooLarge { .. }) => StatusCode::PAYLOAD_TOO_LARGE,
        ExportError::Body(BodyError::Throttled { .. }) => StatusCode::TOO_MANY_REQUESTS,
        ExportError::Body(BodyError::Read(_) | BodyError::BadGzip(_)) | ExportError::Decode(_) => {
            StatusCode::BAD_REQUEST
        }
        ExportError::Unsupported(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ExportError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
        ExportError::Store(s) if s.is_client_error() => StatusCode::BAD_REQUEST,
        ExportError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
        ExportError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let rpc = e.rpc_status();
    let body = match enc {
        Encoding::Protobuf => rpc.encode_to_vec(),
        Encoding::Json => rpc.to_json().to_string().into_bytes(),
    };
    let mut res = (
        status,
        [(CONTENT_TYPE, HeaderValue::from_static(enc.content_type()))],
        Bytes::from(body),
    )
        .into_response();
    if e.is_throttled() {
        res.headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
    }
    if matches!(e, ExportError::MethodNotAllowed(_)) {
        res.headers_mut()
            .insert(axum::http::header::ALLOW, HeaderValue::from_static("POST"));
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn content_types_and_encodings() {
        assert!(matches!(
            content_type(&headers(&[("content-type", "application/x-protobuf")])),
            Ok(Encoding::Protobuf)
        ));
        assert!(matches!(
            content_type(&headers(&[(
                "content-type",
                "application/json; charset=utf-8"
            )])),
            Ok(Encoding::Json)
        ));
        assert!(content_type(&headers(&[("content-type", "text/plain")])).is_err());
        assert!(content_type(&headers(&[])).is_err());
        assert_eq!(
            content_encoding(&headers(&[("content-encoding", "GZIP")])).ok(),
            Some(Coding::Gzip)
        );
        assert_eq!(
            content_encoding(&headers(&[("content-encoding", "identity")])).ok(),
            Some(Coding::Identity)
        );
        assert_eq!(content_encoding(&headers(&[])).ok(), Some(Coding::Identity));
        assert!(content_encoding(&headers(&[("content-encoding", "br")])).is_err());
        assert!(content_encoding(&headers(&[("content-encoding", "gzip, gzip")])).is_err());
    }
}
