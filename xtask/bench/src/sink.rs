//! A server that takes what `heimsight-bench` sends and throws it away, answering each
//! request as a real server would (an empty OTLP export response, or `{"accepted": n}` for
//! the REST API). Driving it measures the ceiling of the driver and the transport alone.

use std::net::SocketAddr;

use anyhow::{Context, Result};
use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use heimsight_ingest::otlp::proto::collector as col;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tonic::codec::CompressionEncoding::Gzip;

use crate::bench::BenchProtocol;

/// Header in which the driver tells the sink how many records a REST body holds.
pub(crate) const RECORDS_HEADER: &str = "x-heimsight-bench-records";

/// A running sink.
pub(crate) struct Sink {
    /// Where it listens.
    pub(crate) addr: SocketAddr,
    stop: oneshot::Sender<()>,
}

impl Sink {
    /// Stops the sink.
    pub(crate) fn stop(self) {
        let _ = self.stop.send(());
    }
}

/// Starts a sink for a protocol on an ephemeral loopback port.
pub(crate) async fn start(protocol: BenchProtocol) -> Result<Sink> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .context("binding a loopback port")?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    if protocol == BenchProtocol::OtlpGrpc {
        let server = tonic::transport::Server::builder()
            .add_service(
                col::logs::v1::logs_service_server::LogsServiceServer::new(Discard)
                    .accept_compressed(Gzip)
                    .max_decoding_message_size(64 << 20),
            )
            .add_service(
                col::trace::v1::trace_service_server::TraceServiceServer::new(Discard)
                    .accept_compressed(Gzip)
                    .max_decoding_message_size(64 << 20),
            )
            .add_service(
                col::metrics::v1::metrics_service_server::MetricsServiceServer::new(Discard)
                    .accept_compressed(Gzip)
                    .max_decoding_message_size(64 << 20),
            );
        let incoming = tonic::transport::server::TcpIncoming::from(listener);
        tokio::spawn(async move {
            let _ = server
                .serve_with_incoming_shutdown(incoming, async {
                    let _ = stopped.await;
                })
                .await;
        });
    } else {
        let app = Router::new().fallback(discard_http);
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
    }
    Ok(Sink { addr, stop })
}

async fn discard_http(headers: HeaderMap, body: axum::body::Bytes) -> impl IntoResponse {
    drop(body);
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if let Some(n) = headers
        .get(RECORDS_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        && ct.starts_with("application/json")
        && !headers.contains_key(header::CONTENT_ENCODING)
    {
        // A REST body: answer the way the REST API does.
        return (
            StatusCode::CREATED,
            [(header::CONTENT_TYPE, "application/json")],
            format!("{{\"accepted\":{n}}}").into_bytes(),
        );
    }
    if ct.starts_with("application/json") {
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            b"{}".to_vec(),
        )
    } else {
        // An empty protobuf message is a valid export response.
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/x-protobuf")],
            Vec::new(),
        )
    }
}

/// gRPC services that discard every export.
#[derive(Debug, Clone, Copy)]
struct Discard;

#[tonic::async_trait]
impl col::logs::v1::logs_service_server::LogsService for Discard {
    async fn export(
        &self,
        _req: tonic::Request<col::logs::v1::ExportLogsServiceRequest>,
    ) -> Result<tonic::Response<col::logs::v1::ExportLogsServiceResponse>, tonic::Status> {
        Ok(tonic::Response::new(Default::default()))
    }
}

#[tonic::async_trait]
impl col::trace::v1::trace_service_server::TraceService for Discard {
    async fn export(
        &self,
        _req: tonic::Request<col::trace::v1::ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<col::trace::v1::ExportTraceServiceResponse>, tonic::Status> {
        Ok(tonic::Response::new(Default::default()))
    }
}

#[tonic::async_trait]
impl col::metrics::v1::metrics_service_server::MetricsService for Discard {
    async fn export(
        &self,
        _req: tonic::Request<col::metrics::v1::ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<col::metrics::v1::ExportMetricsServiceResponse>, tonic::Status>
    {
        Ok(tonic::Response::new(Default::default()))
    }
}
