//! OTLP transport: OTLP/HTTP (`POST /v1/logs`, `/v1/traces`, `/v1/metrics`) and OTLP/gRPC
//! (`LogsService`, `TraceService`, `MetricsService`), over one conversion and storage path.
//!
//! Both transports take a request body in against the [`IngestBudget`](crate::IngestBudget),
//! decode it with [`heimsight_ingest::otlp`], store the valid records, and answer with the
//! `Export*ServiceResponse`, whose `partial_success` counts the records that were rejected.
//!
//! | problem                                  | OTLP/HTTP | OTLP/gRPC                         |
//! |------------------------------------------|-----------|-----------------------------------|
//! | body not decodable, bad gzip             | 400       | `INVALID_ARGUMENT`                |
//! | over `max_body_bytes` (also decompressed) or over the whole budget | 413 | `RESOURCE_EXHAUSTED` (no retry info) |
//! | wrong `Content-Type` / `Content-Encoding`| 415       | (`UNIMPLEMENTED`, from tonic)     |
//! | budget in use (throttled)                | 429 + `Retry-After` | `UNAVAILABLE` + `RetryInfo` |
//! | the store failed                         | 503       | `UNAVAILABLE`                     |
//!
//! HTTP error bodies are a `google.rpc.Status` ([`rpc::Status`]) in the request's encoding.

pub(crate) mod grpc;
pub(crate) mod http;
pub mod rpc;

use heimsight_core::Timestamp;
use heimsight_ingest::otlp::proto::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use heimsight_ingest::otlp::proto::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use heimsight_ingest::otlp::proto::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use heimsight_ingest::otlp::{self, Converted, Encoding};
use heimsight_store::Store;
use serde_json::json;

use crate::budget::{BodyError, RETRY_AFTER_SECS};
use crate::state::AppState;

/// The three OTLP signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    Logs,
    Traces,
    Metrics,
}

impl Signal {
    /// The store's signal of these records.
    pub(crate) fn stored(self) -> heimsight_store::Signal {
        match self {
            Signal::Logs => heimsight_store::Signal::Logs,
            Signal::Traces => heimsight_store::Signal::Spans,
            Signal::Metrics => heimsight_store::Signal::Metrics,
        }
    }

    /// The `Export*ServiceRequest` message name.
    pub(crate) fn request_name(self) -> &'static str {
        match self {
            Signal::Logs => "ExportLogsServiceRequest",
            Signal::Traces => "ExportTraceServiceRequest",
            Signal::Metrics => "ExportMetricsServiceRequest",
        }
    }

    /// The JSON name of the `rejected_<x>` field of the partial success.
    fn rejected_field(self) -> &'static str {
        match self {
            Signal::Logs => "rejectedLogRecords",
            Signal::Traces => "rejectedSpans",
            Signal::Metrics => "rejectedDataPoints",
        }
    }

    /// What the records are called, for logs.
    fn records(self) -> &'static str {
        match self {
            Signal::Logs => "log records",
            Signal::Traces => "spans",
            Signal::Metrics => "data points",
        }
    }
}

/// What became of the records of one export request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Outcome {
    /// Records stored.
    pub(crate) accepted: usize,
    /// Records rejected.
    pub(crate) rejected: u64,
    /// Why (the first few reasons); empty when nothing was rejected.
    pub(crate) error_message: String,
}

impl Outcome {
    fn of<T>(c: &Converted<T>) -> Outcome {
        Outcome {
            accepted: c.items.len(),
            rejected: c.rejected,
            error_message: c.error_message(),
        }
    }

    fn partial(&self) -> bool {
        self.rejected > 0 || !self.error_message.is_empty()
    }

    fn rejected_i64(&self) -> i64 {
        i64::try_from(self.rejected).unwrap_or(i64::MAX)
    }

    pub(crate) fn logs_response(&self) -> ExportLogsServiceResponse {
        ExportLogsServiceResponse {
            partial_success: self.partial().then(|| ExportLogsPartialSuccess {
                rejected_log_records: self.rejected_i64(),
                error_message: self.error_message.clone(),
            }),
        }
    }

    pub(crate) fn traces_response(&self) -> ExportTraceServiceResponse {
        ExportTraceServiceResponse {
            partial_success: self.partial().then(|| ExportTracePartialSuccess {
                rejected_spans: self.rejected_i64(),
                error_message: self.error_message.clone(),
            }),
        }
    }

    pub(crate) fn metrics_response(&self) -> ExportMetricsServiceResponse {
        ExportMetricsServiceResponse {
            partial_success: self.partial().then(|| ExportMetricsPartialSuccess {
                rejected_data_points: self.rejected_i64(),
                error_message: self.error_message.clone(),
            }),
        }
    }

    /// The response of `signal` in `enc`.
    pub(crate) fn encode(&self, signal: Signal, enc: Encoding) -> Vec<u8> {
        match enc {
            Encoding::Protobuf => match signal {
                Signal::Logs => otlp::encode(&self.logs_response(), enc),
                Signal::Traces => otlp::encode(&self.traces_response(), enc),
                Signal::Metrics => otlp::encode(&self.metrics_response(), enc),
            },
            // By hand, to follow OTLP JSON exactly: no `partialSuccess` when there is nothing
            // to say, and int64 counts as strings.
            Encoding::Json => {
                let body = if self.partial() {
                    json!({"partialSuccess": {
                        signal.rejected_field(): self.rejected.to_string(),
                        "errorMessage": self.error_message,
                    }})
                } else {
                    json!({})
                };
                body.to_string().into_bytes()
            }
        }
    }

    pub(crate) fn log(&self, signal: Signal, transport: &str) {
        if self.rejected > 0 {
            tracing::debug!(
                transport,
                accepted = self.accepted,
                rejected = self.rejected,
                reasons = %self.error_message,
                "OTLP export partially rejected"
            );
        } else {
            tracing::trace!(
                transport,
                accepted = self.accepted,
                "OTLP {} stored",
                signal.records()
            );
        }
    }
}

/// Why an export failed as a whole.
#[derive(Debug)]
pub(crate) enum ExportError {
    /// The body could not be taken in (size, budget, gzip).
    Body(BodyError),
    /// The body is not a valid export request.
    Decode(String),
    /// `Content-Type` or `Content-Encoding` not supported (OTLP/HTTP only).
    Unsupported(String),
    /// No such method on this path (OTLP/HTTP only).
    MethodNotAllowed(String),
    /// The store refused or failed.
    Store(heimsight_store::Error),
    /// The server failed otherwise.
    Internal(String),
}

impl ExportError {
    pub(crate) fn message(&self) -> String {
        match self {
            ExportError::Body(e) => e.message(),
            ExportError::Decode(m)
            | ExportError::Unsupported(m)
            | ExportError::MethodNotAllowed(m)
            | ExportError::Internal(m) => m.clone(),
            ExportError::Store(e) if e.is_client_error() => e.to_string(),
            ExportError::Store(e) => format!(
                "storing the records failed: {e}; nothing of this request was stored, retry later"
            ),
        }
    }

    /// The `google.rpc.Status` of this error.
    pub(crate) fn rpc_status(&self) -> rpc::Status {
        use rpc::code::*;
        let code = match self {
            ExportError::Body(BodyError::TooLarge { .. }) => RESOURCE_EXHAUSTED,
            ExportError::Body(BodyError::Throttled { .. }) => UNAVAILABLE,
            ExportError::Body(BodyError::Read(_) | BodyError::BadGzip(_))
            | ExportError::Decode(_) => INVALID_ARGUMENT,
            ExportError::Unsupported(_) | ExportError::MethodNotAllowed(_) => UNIMPLEMENTED,
            ExportError::Store(e) if e.is_client_error() => INVALID_ARGUMENT,
            ExportError::Store(_) => UNAVAILABLE,
            ExportError::Internal(_) => INTERNAL,
        };
        let status = rpc::Status::new(code, self.message());
        if self.is_throttled() {
            status.with_retry_after(RETRY_AFTER_SECS)
        } else {
            status
        }
    }

    pub(crate) fn is_throttled(&self) -> bool {
        matches!(self, ExportError::Body(BodyError::Throttled { .. }))
    }

    pub(crate) fn log(&self, transport: &str) {
        match self {
            ExportError::Store(e) if !e.is_client_error() => {
                tracing::error!(transport, error = %self.message(), "OTLP export failed");
            }
            ExportError::Internal(_) => {
                tracing::error!(transport, error = %self.message(), "OTLP export failed");
            }
            ExportError::Body(BodyError::Throttled { .. }) => {
                tracing::debug!(transport, "OTLP export throttled: ingest budget in use");
            }
            _ => tracing::debug!(transport, error = %self.message(), "OTLP export rejected"),
        }
    }
}

impl From<BodyError> for ExportError {
    fn from(e: BodyError) -> Self {
        ExportError::Body(e)
    }
}

fn decode_error(e: heimsight_ingest::Error, signal: Signal, enc: Encoding) -> ExportError {
    match e {
        heimsight_ingest::Error::EmptyBody => ExportError::Decode(format!(
            "the request body is empty; expected an OTLP {} in {}",
            signal.request_name(),
            enc.content_type()
        )),
        heimsight_ingest::Error::Store(e) => ExportError::Store(e),
        e if e.is_client_error() => ExportError::Decode(e.to_string()),
        e => ExportError::Internal(e.to_string()),
    }
}

/// Converts and stores a logs request.
pub(crate) fn store_logs(
    store: &dyn Store,
    req: ExportLogsServiceRequest,
) -> Result<Outcome, ExportError> {
    let c = otlp::logs_from_otlp(req, Timestamp::now());
    let outcome = Outcome::of(&c);
    if !c.items.is_empty() {
        store.append_logs(c.items).map_err(ExportError::Store)?;
    }
    Ok(outcome)
}

/// Converts and stores a traces request.
pub(crate) fn store_spans(
    store: &dyn Store,
    req: ExportTraceServiceRequest,
) -> Result<Outcome, ExportError> {
    let c = otlp::spans_from_otlp(req);
    let outcome = Outcome::of(&c);
    if !c.items.is_empty() {
        store.append_spans(c.items).map_err(ExportError::Store)?;
    }
    Ok(outcome)
}

/// Converts and stores a metrics request.
pub(crate) fn store_points(
    store: &dyn Store,
    req: &ExportMetricsServiceRequest,
) -> Result<Outcome, ExportError> {
    let c = otlp::point_groups_from_otlp(req);
    let outcome = Outcome {
        accepted: c.items.iter().map(|g| g.points.len()).sum(),
        ..Outcome::of(&c)
    };
    if !c.items.is_empty() {
        store
            .append_point_groups(c.items)
            .map_err(ExportError::Store)?;
    }
    Ok(outcome)
}

/// Decodes, converts and stores an OTLP/HTTP body (already decompressed).
pub(crate) fn store_body(
    store: &dyn Store,
    signal: Signal,
    body: &[u8],
    enc: Encoding,
) -> Result<Outcome, ExportError> {
    let err = |e| decode_error(e, signal, enc);
    match signal {
        Signal::Logs => store_logs(store, otlp::decode_logs(body, enc).map_err(err)?),
        Signal::Traces => store_spans(store, otlp::decode_traces(body, enc).map_err(err)?),
        Signal::Metrics => store_points(store, &otlp::decode_metrics(body, enc).map_err(err)?),
    }
}

/// Runs `f` with the store on the blocking pool.
pub(crate) async fn blocking<T, F>(state: &AppState, f: F) -> Result<T, ExportError>
where
    F: FnOnce(&dyn Store) -> Result<T, ExportError> + Send + 'static,
    T: Send + 'static,
{
    let store = std::sync::Arc::clone(&state.store);
    crate::blocking::run(move || f(&*store))
        .await
        .map_err(|e| ExportError::Internal(format!("ingesting: {}", e.with_cause())))?
}

/// A gRPC codec that passes message bytes through unchanged: what is sent is already an
/// encoded message, what is received is handed over undecoded. The OTLP/gRPC services use it
/// to decode a request's bytes as one slice; load generators use it to send pre-encoded
/// requests.
#[derive(Debug, Clone, Copy, Default)]
pub struct RawCodec;

impl tonic::codec::Codec for RawCodec {
    type Encode = bytes::Bytes;
    type Decode = bytes::Bytes;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> RawCodec {
        RawCodec
    }

    fn decoder(&mut self) -> RawCodec {
        RawCodec
    }
}

impl tonic::codec::Encoder for RawCodec {
    type Item = bytes::Bytes;
    type Error = tonic::Status;

    fn encode(
        &mut self,
        item: bytes::Bytes,
        dst: &mut tonic::codec::EncodeBuf<'_>,
    ) -> Result<(), tonic::Status> {
        bytes::BufMut::put(dst, item);
        Ok(())
    }
}

impl tonic::codec::Decoder for RawCodec {
    type Item = bytes::Bytes;
    type Error = tonic::Status;

    fn decode(
        &mut self,
        src: &mut tonic::codec::DecodeBuf<'_>,
    ) -> Result<Option<bytes::Bytes>, tonic::Status> {
        use bytes::Buf as _;
        let n = src.remaining();
        Ok(Some(src.copy_to_bytes(n)))
    }
}
