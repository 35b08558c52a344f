//! OTLP/gRPC: the `LogsService`, `TraceService` and `MetricsService` of the OTLP collector
//! protocol, behind a layer that takes each request body in against the ingest budget.
//!
//! The layer reads the whole (unary) request first, reserving budget as it arrives, and
//! decompresses a gzip message itself, reserving budget for the decompressed bytes too, so
//! only messages that are paid for are decoded. A message that is not a valid export request
//! is `INVALID_ARGUMENT`, naming what was expected. Throttled requests are answered
//! `UNAVAILABLE` with a `RetryInfo`, as the OTLP specification asks of a server that cannot
//! keep up; messages over the size limit get `RESOURCE_EXHAUSTED` without one (not retryable).

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use bytes::Bytes;
use heimsight_ingest::otlp::Encoding;
use prost::Message;
use tonic::codec::CompressionEncoding;
use tonic::service::Routes;

use super::{ExportError, RawCodec, Signal, blocking, store_body};
use crate::budget;
use crate::state::AppState;

/// The length of a gRPC message frame's header: compressed flag and length.
const FRAME_HEADER: usize = 5;

/// The three services with compression and size limits, behind the budget layer.
pub(crate) fn routes(state: AppState) -> Routes {
    let router = Routes::new(Export::<LOGS>(state.clone()))
        .add_service(Export::<TRACES>(state.clone()))
        .add_service(Export::<METRICS>(state.clone()))
        .prepare()
        .into_axum_router()
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            budget_layer,
        ))
        // Outside the budget: a request without access never reserves any.
        .layer(axum::middleware::from_fn_with_state(state, access_layer));
    Routes::from(router)
}

/// Asks the server's access control (if any) about each call, as the ingest group: refusals
/// are gRPC statuses (`UNAUTHENTICATED`, `PERMISSION_DENIED`, or `UNAVAILABLE` for limits),
/// the headers being the call's metadata.
async fn access_layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    if let Some(control) = &state.access
        && let Err(e) = control.check(crate::layers::RouteGroup::Ingest, &parts)
    {
        state
            .metrics
            .auth_failure(crate::layers::RouteGroup::Ingest, e.status().as_u16());
        let message = e.to_string();
        let status = match e.status() {
            axum::http::StatusCode::UNAUTHORIZED => tonic::Status::unauthenticated(message),
            axum::http::StatusCode::FORBIDDEN => tonic::Status::permission_denied(message),
            axum::http::StatusCode::TOO_MANY_REQUESTS => tonic::Status::unavailable(message),
            _ => tonic::Status::internal(message),
        };
        return status.into_http::<Body>();
    }
    if state.limits.active() {
        let client = state.limits.client(&parts);
        // Request rate now; the bytes once the message is read (gRPC sends no length).
        if let Err(l) = state.limits.check(&client, None) {
            return limited(&state, &client, &l).into_http::<Body>();
        }
        parts.extensions.insert(Client(client));
    }
    next.run(Request::from_parts(parts, body)).await
}

/// Who sent a call, for its rate limits (set by [`access_layer`] when limits are on).
#[derive(Debug, Clone)]
struct Client(String);

/// `UNAVAILABLE` with `RetryInfo`: what OTLP exporters retry after.
fn limited(state: &AppState, client: &str, l: &crate::limits::Limited) -> tonic::Status {
    state
        .metrics
        .rate_limited(crate::layers::RouteGroup::Ingest, l.what);
    let rpc = super::rpc::Status::new(super::rpc::code::UNAVAILABLE, l.message(client))
        .with_retry_after(l.retry_after_secs);
    let details = Bytes::from(rpc.encode_to_vec());
    tonic::Status::with_details(tonic::Code::Unavailable, rpc.message, details)
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

const LOGS: u8 = 0;
const TRACES: u8 = 1;
const METRICS: u8 = 2;

/// One OTLP collector service (`S`: [`LOGS`], [`TRACES`] or [`METRICS`]) with its `Export`
/// method.
///
/// Written out rather than generated: the generated servers decode through tonic's frame
/// buffer, which is measurably slower for large messages than decoding the message's bytes
/// as one slice, as OTLP/HTTP does; here tonic hands over the bytes ([`RawCodec`]) and the
/// export decodes, converts and stores them on the blocking pool.
#[derive(Debug, Clone)]
struct Export<const S: u8>(AppState);

impl tonic::server::NamedService for Export<LOGS> {
    const NAME: &'static str = "opentelemetry.proto.collector.logs.v1.LogsService";
}

impl tonic::server::NamedService for Export<TRACES> {
    const NAME: &'static str = "opentelemetry.proto.collector.trace.v1.TraceService";
}

impl tonic::server::NamedService for Export<METRICS> {
    const NAME: &'static str = "opentelemetry.proto.collector.metrics.v1.MetricsService";
}

impl<const S: u8> Export<S> {
    fn signal() -> Signal {
        match S {
            LOGS => Signal::Logs,
            TRACES => Signal::Traces,
            _ => Signal::Metrics,
        }
    }

    fn path() -> &'static str {
        match S {
            LOGS => "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
            TRACES => "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
            _ => "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
        }
    }
}

impl<const S: u8> tonic::server::UnaryService<Bytes> for Export<S> {
    type Response = Bytes;
    type Future = tonic::codegen::BoxFuture<tonic::Response<Bytes>, tonic::Status>;

    fn call(&mut self, request: tonic::Request<Bytes>) -> Self::Future {
        let state = self.0.clone();
        Box::pin(async move {
            let client = request.extensions().get::<Client>().cloned();
            let body = request.into_inner();
            let size = body.len();
            if let Some(Client(client)) = &client
                && let Err(l) = state.limits.check_bytes(client, size as u64)
            {
                return Err(limited(&state, client, &l));
            }
            let signal = Self::signal();
            let outcome = blocking(&state, move |store| {
                store_body(store, signal, &body, Encoding::Protobuf)
            })
            .await
            .map_err(|e| to_status(&e))?;
            outcome.log(signal, "otlp/grpc");
            state.ingested.add(signal.stored(), outcome.accepted);
            state.metrics.ingested(
                signal.stored(),
                crate::telemetry::Protocol::OtlpGrpc,
                outcome.accepted,
                outcome.rejected,
                size,
            );
            let answer = match signal {
                Signal::Logs => outcome.logs_response().encode_to_vec(),
                Signal::Traces => outcome.traces_response().encode_to_vec(),
                Signal::Metrics => outcome.metrics_response().encode_to_vec(),
            };
            Ok(tonic::Response::new(Bytes::from(answer)))
        })
    }
}

impl<const S: u8, B> tower::Service<tonic::codegen::http::Request<B>> for Export<S>
where
    B: tonic::codegen::Body + Send + 'static,
    B::Error: Into<tonic::codegen::StdError> + Send + 'static,
{
    type Response = tonic::codegen::http::Response<tonic::body::Body>;
    type Error = std::convert::Infallible;
    type Future = tonic::codegen::BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(
        &mut self,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: tonic::codegen::http::Request<B>) -> Self::Future {
        if req.uri().path() != Self::path() {
            let status = tonic::Status::unimplemented(format!(
                "no such method: {} (this service has {})",
                req.uri().path(),
                Self::path()
            ));
            return Box::pin(async move { Ok(status.into_http()) });
        }
        let limit = self.0.config.max_body_bytes;
        let method = self.clone();
        Box::pin(async move {
            let mut grpc = tonic::server::Grpc::new(RawCodec)
                .accept_compressed(CompressionEncoding::Gzip)
                .send_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(limit);
            Ok(grpc.unary(method, req).await)
        })
    }
}

/// The budget layer: buffers the request (paid for), decompresses a gzip message (paid for),
/// hands it to tonic, and holds the budget until the answer is ready.
async fn budget_layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let limit = state.config.max_body_bytes;
    let (parts, body) = req.into_parts();
    let declared = budget::declared_length(&parts.headers);
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
        let unpacked = crate::blocking::run(move || {
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
                    "decompressing: {}",
                    e.with_cause()
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
    res
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
