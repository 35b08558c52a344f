//! Prometheus remote write: `POST /prometheus/api/v1/write`, the receiving end of a Prometheus
//! server's `remote_write` block (Snappy-compressed protobuf `WriteRequest`, remote write 1.0).
//!
//! Answers as Prometheus's own receiver does: 204 when every sample was stored; 400 with the
//! reasons when the body cannot be read or some samples were refused (the others are stored;
//! Prometheus does not send a 4xx batch again); 413 over `max_body_bytes`; 429 with
//! `Retry-After` when the ingest budget is in use, and 5xx when storing failed, which Prometheus
//! retries.

use axum::body::Body;
use axum::extract::State;
use axum::http::header::{CONTENT_ENCODING, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use heimsight_ingest::prometheus;

use crate::api_error::ApiError;
use crate::budget::{self, BodyError, Limit};
use crate::state::AppState;

/// `POST /prometheus/api/v1/write`.
pub(crate) async fn write(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode, ApiError> {
    check_headers(&headers)?;
    let declared = budget::declared_length(&headers);
    let limit = state.config.max_body_bytes;
    let (bytes, mut permit) = budget::read_body(body, &state.budget, limit, declared).await?;
    let size = bytes.len();
    // The decompressed body is paid for from the budget too; its size is in Snappy's header.
    if let Some(len) = prometheus::decompressed_len(&bytes) {
        if len > limit {
            return Err(BodyError::TooLarge {
                limit,
                which: Limit::Decompressed,
            }
            .into());
        }
        if !permit.grow(len) {
            return Err(BodyError::no_budget(&state.budget, permit.bytes() + len).into());
        }
    }
    let window = state.config.metrics_out_of_order_window.as_nanos();
    let stored = state
        .blocking(move |store| {
            let _permit = permit;
            let req = prometheus::decode_write_request(&bytes, limit)?;
            prometheus::store_write_request(store, &req, window)
        })
        .await?;
    state
        .ingested
        .add(heimsight_store::Signal::Metrics, stored.accepted);
    state.metrics.ingested(
        heimsight_store::Signal::Metrics,
        crate::telemetry::Protocol::PrometheusRemoteWrite,
        stored.accepted,
        stored.rejected,
        size,
    );
    if stored.rejected > 0 {
        return Err(ApiError::bad_request(format!(
            "{} sample(s) refused, {} stored: {}",
            stored.rejected, stored.accepted, stored.error_message
        )));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Remote write bodies are Snappy-compressed protobuf: anything else declared is refused
/// (415) before the body is read. Missing headers are taken as the protocol's.
fn check_headers(headers: &HeaderMap) -> Result<(), ApiError> {
    if let Some(ct) = headers.get(CONTENT_TYPE) {
        let text = String::from_utf8_lossy(ct.as_bytes());
        let mime = text.split(';').next().unwrap_or("").trim();
        if !mime.eq_ignore_ascii_case("application/x-protobuf") {
            return Err(ApiError::UnsupportedMediaType(format!(
                "unsupported Content-Type {text:?}; Prometheus remote write sends \
                 application/x-protobuf"
            )));
        }
        if let Some(proto) = text
            .split(';')
            .skip(1)
            .find_map(|p| p.trim().strip_prefix("proto="))
            && proto != "prometheus.WriteRequest"
        {
            return Err(ApiError::UnsupportedMediaType(format!(
                "unsupported remote write message {proto:?}; this receiver speaks remote write \
                 1.0 (prometheus.WriteRequest)"
            )));
        }
    }
    if let Some(enc) = headers.get(CONTENT_ENCODING) {
        let text = String::from_utf8_lossy(enc.as_bytes());
        if !text.trim().eq_ignore_ascii_case("snappy") {
            return Err(ApiError::UnsupportedMediaType(format!(
                "unsupported Content-Encoding {text:?}; Prometheus remote write bodies are \
                 snappy"
            )));
        }
    }
    Ok(())
}
