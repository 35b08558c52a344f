//! OTLP/gRPC: the `LogsService`, `TraceService` and `MetricsService` of the OTLP collector
//! protocol, behind a layer that takes each request body in against the ingest budget.
//!
//! The layer reads the whole (unary) request first, reserving budget as it arrives, and
//! decompresses a gzip message itself, reserving budget for the decompressed bytes too, so
//! tonic only ever decodes messages that are paid for. Throttled requests are answered
//! `UNAVAILABLE` with a `RetryInfo`, as the OTLP specification asks of a server that cannot
//! keep up; messages over the size limit get `RESOURCE_EXHAUSTED` without one (not retryable).

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use bytes::Bytes;
use heimsight_ingest::otlp::proto::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use heimsight_ingest::otlp::proto::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use heimsight_ingest::otlp::proto::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use heimsight_ingest::otlp::proto::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use heimsight_ingest::otlp::proto::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use heimsight_ingest::otlp::proto::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use tonic::codec::CompressionEncoding;
use tonic::service::Routes;

use super::{ExportError, Signal, blocking, store_logs, store_points, store_spans};
use crate::budget;
use crate::state::AppState;

/// The length of a gRPC message frame's header: compressed flag and length.
const FRAME_HEADER: usize = 5;

/// The OTLP/gRPC services over the server's state. Cloning is cheap.
#[derive(Debug, Clone)]
pub(crate) struct OtlpGrpc {
    state: AppState,
}

impl OtlpGrpc {
    pub(crate) fn new(state: AppState) -> OtlpGrpc {
        OtlpGrpc { state }
    }
}

/// The three services with compression and size limits, behind the budget layer.
pub(crate) fn routes(state: AppState) -> Routes {
    let limit = state.config.max_body_bytes;
    let svc = OtlpGrpc::new(state.clone());
    let logs = LogsServiceServer::new(svc.clone())
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(limit);
    let traces = TraceServiceServer::new(svc.clone())
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(limit);
    let metrics = MetricsServiceServer::new(svc)
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(limit);
    let router = Routes::new(logs)
        .add_service(traces)
        .add_service(metrics)
        .prepare()
        .into_axum_router()
        .layer(axum::middleware::from_fn_with_state(state, budget_layer));
    Routes::from(router)
}

fn to_status(e: &ExportError) -> tonic::Status {
    e.log("otlp/grpc");
    let rpc = e.rpc_status();
    let code = tonic::Code::from_i32(rpc.code);
    if rpc.details.is_empty() {
        tonic::Status::new(code, rpc.message)
    } else {
        let details = Bytes::from(rpc.encode_to_vec());
        tonic::Status::with_details(code, rpc.message, details)
    }
}

#[tonic::async_trait]
impl LogsService for OtlpGrpc {
    async fn export(
        &self,
        request: tonic::Request<ExportLogsServiceRequest>,
    ) -> Result<tonic::Response<ExportLogsServiceResponse>, tonic::Status> {
        let req = request.into_inner();
        let outcome = blocking(&self.state, move |store| store_logs(store, &req))
            .await
            .map_err(|e| to_status(&e))?;
        outcome.log(Signal::Logs, "otlp/grpc");
        Ok(tonic::Response::new(outcome.logs_response()))
    }
}

#[tonic::async_trait]
impl TraceService for OtlpGrpc {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let req = request.into_inner();
        let outcome = blocking(&self.state, move |store| store_spans(store, &req))
            .await
            .map_err(|e| to_status(&e))?;
        outcome.log(Signal::Traces, "otlp/grpc");
        Ok(tonic::Response::new(outcome.traces_response()))
    }
}

#[tonic::async_trait]
impl MetricsService for OtlpGrpc {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        let req = request.into_inner();
        let outcome = blocking(&self.state, move |store| store_points(store, &req))
            .await
            .map_err(|e| to_status(&e))?;
        outcome.log(Signal::Metrics, "otlp/grpc");
        Ok(tonic::Response::new(outcome.metrics_response()))
    }
}

/// The budget layer: buffers the request (paid for), decompresses a gzip message (paid for),
/// hands it to tonic, and holds the budget until the answer is ready.
async fn budget_layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let limit = state.config.max_body_bytes;
    let (parts, body) = req.into_parts();
    let expected = match parts.uri.path() {
        p if p.contains(".logs.") => Signal::Logs.request_name(),
        p if p.contains(".trace.") => Signal::Traces.request_name(),
        p if p.contains(".metrics.") => Signal::Metrics.request_name(),
        _ => "OTLP export request",
    };
    let declared = parts
        .headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let (bytes, mut permit) = match budget::read_body(
        body,
        &state.budget,
        limit.saturating_add(FRAME_HEADER),
        declared,
    )
    .await
    {
        Ok(x) => x,
        Err(e) => return grpc_error(&ExportError::Body(e)),
    };
    let gzip = parts
        .headers
        .get("grpc-encoding")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
    let bytes = if gzip && is_one_compressed_frame(&bytes) {
        let budget = state.budget.clone();
        let unpacked = tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            out.extend_from_slice(&[0; FRAME_HEADER]);
            let r = budget::gunzip_into(
                &bytes[FRAME_HEADER..],
                &mut out,
                limit,
                &mut permit,
                &budget,
            );
            let compressed = bytes.len();
            drop(bytes);
            permit.shrink(compressed);
            r.map(|()| {
                let len = u32::try_from(out.len() - FRAME_HEADER).unwrap_or(u32::MAX);
                out[1..FRAME_HEADER].copy_from_slice(&len.to_be_bytes());
                (Bytes::from(out), permit)
            })
        })
        .await;
        match unpacked {
            Ok(Ok((b, p))) => {
                permit = p;
                b
            }
            Ok(Err(e)) => return grpc_error(&ExportError::Body(e)),
            Err(e) => {
                return grpc_error(&ExportError::Internal(format!(
                    "a decompression task failed: {e}"
                )));
            }
        }
    } else {
        bytes
    };
    let res = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    drop(permit);
    readable_decode_error(res, expected)
}

/// True when `bytes` is exactly one gRPC message frame with the compressed flag set.
fn is_one_compressed_frame(bytes: &[u8]) -> bool {
    if bytes.len() < FRAME_HEADER || bytes[0] != 1 {
        return false;
    }
    let len = u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]) as usize;
    bytes.len() - FRAME_HEADER == len
}

/// A gRPC error answer (trailers only).
fn grpc_error(e: &ExportError) -> Response {
    to_status(e).into_http::<Body>()
}

/// tonic answers a message that prost cannot decode with `INTERNAL`; OTLP wants
/// `INVALID_ARGUMENT` (not retryable, the client's fault), and a message that says what was
/// expected.
fn readable_decode_error(res: Response, expected: &str) -> Response {
    const PROST: &str = "failed to decode Protobuf message";
    match tonic::Status::from_header_map(res.headers()) {
        Some(s) if s.code() == tonic::Code::Internal && s.message().starts_with(PROST) => {
            tonic::Status::invalid_argument(format!(
                "malformed protobuf: the message is not a valid {expected}: {}",
                s.message()
            ))
            .into_http::<Body>()
        }
        _ => res,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_recognized() {
        assert!(is_one_compressed_frame(&[1, 0, 0, 0, 2, 9, 9]));
        assert!(!is_one_compressed_frame(&[0, 0, 0, 0, 2, 9, 9]));
        assert!(!is_one_compressed_frame(&[1, 0, 0, 0, 3, 9, 9]));
        assert!(!is_one_compressed_frame(&[1, 0, 0]));
    }
}
