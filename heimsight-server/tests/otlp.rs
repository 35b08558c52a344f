//! OTLP/HTTP and OTLP/gRPC: all three signals in protobuf and JSON, compression, bad input,
//! partial success, and backpressure. HTTP goes through the router in-process; gRPC through
//! the generated tonic clients over loopback sockets served by `serve_all`.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::Request;
use heimsight_ingest::otlp::proto::collector::logs::v1::logs_service_client::LogsServiceClient;
use heimsight_ingest::otlp::proto::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use heimsight_ingest::otlp::proto::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use heimsight_ingest::otlp::proto::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use heimsight_ingest::otlp::proto::collector::trace::v1::trace_service_client::TraceServiceClient;
use heimsight_ingest::otlp::proto::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use heimsight_ingest::otlp::proto::common::v1::{AnyValue, KeyValue, any_value};
use heimsight_ingest::otlp::proto::logs::v1 as lpb;
use heimsight_ingest::otlp::proto::metrics::v1 as mpb;
use heimsight_ingest::otlp::proto::resource::v1::Resource;
use heimsight_ingest::otlp::proto::trace::v1 as tpb;
use heimsight_server::otlp::rpc;
use heimsight_server::{HeimsightServer, Listeners, ServerConfig};
use prost::Message;
use serde_json::{Value, json};
use tonic::codec::CompressionEncoding;
use tower::ServiceExt;

use crate::util::*;

const PB: &str = "application/x-protobuf";
const JSON: &str = "application/json";
const SPAN: [u8; 8] = [0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74];

fn trace_bytes() -> Vec<u8> {
    (0..16)
        .map(|i| u8::from_str_radix(&TRACE[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

fn t(secs: i64) -> u64 {
    u64::try_from(T0 + secs * SEC).unwrap()
}

fn kv(k: &str, v: &str) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(v.into())),
        }),
        ..KeyValue::default()
    }
}

fn resource(service: &str) -> Option<Resource> {
    Some(Resource {
        attributes: vec![kv("service.name", service)],
        ..Resource::default()
    })
}

pub(crate) fn logs_request(service: &str, messages: &[&str]) -> ExportLogsServiceRequest {
    let records = messages
        .iter()
        .enumerate()
        .map(|(i, m)| lpb::LogRecord {
            time_unix_nano: t(i as i64 + 1),
            severity_number: 9,
            severity_text: "INFO".into(),
            body: Some(AnyValue {
                value: Some(any_value::Value::StringValue((*m).into())),
            }),
            attributes: vec![kv("user", "alice")],
            ..lpb::LogRecord::default()
        })
        .collect();
    ExportLogsServiceRequest {
        resource_logs: vec![lpb::ResourceLogs {
            resource: resource(service),
            scope_logs: vec![lpb::ScopeLogs {
                log_records: records,
                ..lpb::ScopeLogs::default()
            }],
            ..lpb::ResourceLogs::default()
        }],
    }
}

fn span(id: Vec<u8>, parent: Vec<u8>, name: &str) -> tpb::Span {
    tpb::Span {
        trace_id: trace_bytes(),
        span_id: id,
        parent_span_id: parent,
        name: name.into(),
        kind: 2,
        start_time_unix_nano: t(1),
        end_time_unix_nano: t(2),
        ..tpb::Span::default()
    }
}

fn traces_request(spans: Vec<tpb::Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![tpb::ResourceSpans {
            resource: resource("checkout"),
            scope_spans: vec![tpb::ScopeSpans {
                spans,
                ..tpb::ScopeSpans::default()
            }],
            ..tpb::ResourceSpans::default()
        }],
    }
}

fn good_spans() -> Vec<tpb::Span> {
    vec![
        span(SPAN.to_vec(), vec![], "GET /checkout"),
        span(vec![1, 2, 3, 4, 5, 6, 7, 8], SPAN.to_vec(), "charge"),
    ]
}

fn metrics_request(name: &str, values: &[f64]) -> ExportMetricsServiceRequest {
    let points = values
        .iter()
        .enumerate()
        .map(|(i, v)| mpb::NumberDataPoint {
            time_unix_nano: t(i as i64 * 10),
            value: Some(mpb::number_data_point::Value::AsDouble(*v)),
            attributes: vec![kv("host", "a")],
            ..mpb::NumberDataPoint::default()
        })
        .collect();
    ExportMetricsServiceRequest {
        resource_metrics: vec![mpb::ResourceMetrics {
            resource: resource("checkout"),
            scope_metrics: vec![mpb::ScopeMetrics {
                metrics: vec![mpb::Metric {
                    name: name.into(),
                    unit: "1".into(),
                    data: Some(mpb::metric::Data::Gauge(mpb::Gauge {
                        data_points: points,
                    })),
                    ..mpb::Metric::default()
                }],
                ..mpb::ScopeMetrics::default()
            }],
            ..mpb::ResourceMetrics::default()
        }],
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// An OTLP/HTTP answer: status, headers and raw body.
struct Answer {
    status: u16,
    headers: axum::http::HeaderMap,
    body: Bytes,
}

impl Answer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    /// The `google.rpc.Status` of an error answer, in whichever encoding it came.
    fn rpc_status(&self) -> rpc::Status {
        let ct = self.headers["content-type"].to_str().unwrap();
        if ct == PB {
            rpc::Status::decode(self.body.as_ref()).unwrap()
        } else {
            let j = self.json();
            rpc::Status::new(
                i32::try_from(j["code"].as_i64().unwrap()).unwrap(),
                j["message"].as_str().unwrap(),
            )
        }
    }
}

async fn call(router: &axum::Router, req: Request<Body>) -> Answer {
    let res = router.clone().oneshot(req).await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let body = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    Answer {
        status,
        headers,
        body,
    }
}

async fn export(
    router: &axum::Router,
    path: &str,
    content_type: &str,
    encoding: Option<&str>,
    body: impl Into<Body>,
) -> Answer {
    let mut req = Request::post(path).header("content-type", content_type);
    if let Some(e) = encoding {
        req = req.header("content-encoding", e);
    }
    call(router, req.body(body.into()).unwrap()).await
}

fn log_messages(r: &Reply) -> Vec<String> {
    let mut m: Vec<String> = r.json["logs"]
        .as_array()
        .unwrap_or_else(|| panic!("no logs in {}", r.text))
        .iter()
        .map(|l| l["message"].as_str().unwrap().to_string())
        .collect();
    m.sort();
    m
}

async fn assert_everything_stored(app: &TestApp, service: &str, logs: &[&str], metric: &str) {
    let r = app.get(&format!("/api/v1/logs?service={service}")).await;
    assert_eq!(log_messages(&r), logs, "{}", r.text);
    let r = app.get(&format!("/api/v1/traces/{TRACE}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["tree"][0]["name"], "GET /checkout", "{}", r.text);
    assert_eq!(r.json["tree"][0]["children"][0]["name"], "charge");
    let r = app.get(&format!("/api/v1/metrics?name={metric}")).await;
    let values: Vec<f64> = r.json["series"][0]["points"]
        .as_array()
        .unwrap_or_else(|| panic!("no points in {}", r.text))
        .iter()
        .map(|p| p["value"].as_f64().unwrap())
        .collect();
    assert_eq!(values, [1.5, 2.5], "{}", r.text);
}

// ---------------------------------------------------------------------------------------------
// OTLP/HTTP

#[tokio::test]
async fn otlp_http_protobuf_for_all_three_signals() {
    let app = app();
    let r = export(
        &app.router,
        "/v1/logs",
        PB,
        None,
        logs_request("pb-app", &["one", "two"]).encode_to_vec(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.headers["content-type"], PB);
    let resp = ExportLogsServiceResponse::decode(r.body.as_ref()).unwrap();
    assert_eq!(resp.partial_success, None);

    let r = export(
        &app.router,
        "/v1/traces",
        PB,
        None,
        traces_request(good_spans()).encode_to_vec(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let resp = ExportTraceServiceResponse::decode(r.body.as_ref()).unwrap();
    assert_eq!(resp.partial_success, None);

    let r = export(
        &app.router,
        "/v1/metrics",
        "application/x-protobuf; charset=binary",
        None,
        metrics_request("cpu_pb", &[1.5, 2.5]).encode_to_vec(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    ExportMetricsServiceResponse::decode(r.body.as_ref()).unwrap();

    assert_everything_stored(&app, "pb-app", &["one", "two"], "cpu_pb").await;
    assert_eq!(
        app.server.ingest_budget().in_flight(),
        0,
        "budget given back"
    );
}

#[tokio::test]
async fn otlp_http_json_for_all_three_signals() {
    let app = app();
    // As in the OTLP specification's examples: hex ids, string int64s, enums as numbers.
    let logs = json!({"resourceLogs": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "json-app"}}]},
        "scopeLogs": [{"scope": {"name": "my.library", "version": "1.0.0"}, "logRecords": [
            {"timeUnixNano": t(1).to_string(), "severityNumber": 10, "severityText": "Information",
             "body": {"stringValue": "Example log record"},
             "attributes": [{"key": "int.attribute", "value": {"intValue": "10"}}],
             "traceId": TRACE, "spanId": "eee19b7ec3c1b174"}
        ]}]
    }]});
    let r = export(&app.router, "/v1/logs", JSON, None, logs.to_string()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.headers["content-type"], JSON);
    assert_eq!(r.json(), json!({}));

    let spans = json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "checkout"}}]},
        "scopeSpans": [{"spans": [
            {"traceId": TRACE, "spanId": "eee19b7ec3c1b174", "name": "GET /checkout", "kind": 2,
             "startTimeUnixNano": t(1).to_string(), "endTimeUnixNano": t(2).to_string()},
            {"traceId": TRACE, "spanId": "0102030405060708", "parentSpanId": "eee19b7ec3c1b174",
             "name": "charge", "kind": 3,
             "startTimeUnixNano": t(1).to_string(), "endTimeUnixNano": t(2).to_string(),
             "status": {"code": 2, "message": "declined"}}
        ]}]
    }]});
    let r = export(&app.router, "/v1/traces", JSON, None, spans.to_string()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), json!({}));

    let metrics = json!({"resourceMetrics": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "checkout"}}]},
        "scopeMetrics": [{"metrics": [{"name": "cpu_json", "unit": "1", "gauge": {"dataPoints": [
            {"timeUnixNano": t(0).to_string(), "asDouble": 1.5},
            {"timeUnixNano": t(10).to_string(), "asDouble": 2.5}
        ]}}]}]
    }]});
    let r = export(
        &app.router,
        "/v1/metrics",
        "application/json; charset=utf-8",
        None,
        metrics.to_string(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());

    assert_everything_stored(&app, "json-app", &["Example log record"], "cpu_json").await;
}

#[tokio::test]
async fn otlp_http_accepts_gzip_bodies() {
    let app = app();
    let body = gzip(&logs_request("gz-app", &["compressed"]).encode_to_vec());
    let r = export(&app.router, "/v1/logs", PB, Some("gzip"), body).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let json = json!({"resourceSpans": [{"scopeSpans": [{"spans": [
        {"traceId": TRACE, "spanId": "eee19b7ec3c1b174", "name": "GET /checkout",
         "startTimeUnixNano": t(1).to_string(), "endTimeUnixNano": t(2).to_string()}]}]}]});
    let r = export(
        &app.router,
        "/v1/traces",
        JSON,
        Some("gzip"),
        gzip(json.to_string().as_bytes()),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = app.get("/api/v1/logs?service=gz-app").await;
    assert_eq!(log_messages(&r), ["compressed"]);
    assert_eq!(
        app.get(&format!("/api/v1/traces/{TRACE}")).await.status,
        200
    );
    assert_eq!(app.server.ingest_budget().in_flight(), 0);
}

#[tokio::test]
async fn otlp_http_gzip_bombs_and_large_bodies_are_413() {
    let app = app_with(ServerConfig::default().with_max_body_bytes(1 << 20));
    // 64 MiB of zeros compress to ~64 KiB: well under the limit on the wire.
    let bomb = gzip(&vec![0u8; 64 << 20]);
    assert!(bomb.len() < 1 << 20);
    let r = export(&app.router, "/v1/logs", PB, Some("gzip"), bomb).await;
    assert_eq!(r.status, 413, "{}", r.text());
    let s = r.rpc_status();
    assert!(
        s.message.contains("decompressed") && s.message.contains("1048576"),
        "{}",
        s.message
    );
    // A compressed body over the limit as it is.
    let big = vec![1u8; (1 << 20) + 1];
    let r = export(&app.router, "/v1/logs", PB, Some("gzip"), big.clone()).await;
    assert_eq!(r.status, 413, "{}", r.text());
    assert!(
        r.rpc_status()
            .message
            .contains("1048576 bytes (max_body_bytes)")
    );
    // And without compression, in JSON: the status comes back as JSON.
    let r = export(&app.router, "/v1/traces", JSON, None, big).await;
    assert_eq!(r.status, 413);
    assert_eq!(r.headers["content-type"], JSON);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("max_body_bytes")
    );
    // Not gzip at all.
    let r = export(&app.router, "/v1/logs", PB, Some("gzip"), "plain text").await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.rpc_status().message.contains("not valid gzip"));
    assert_eq!(app.server.ingest_budget().in_flight(), 0);
}

#[tokio::test]
async fn otlp_http_wrong_content_type_or_encoding_is_415() {
    let app = app();
    let body = logs_request("x", &["a"]).encode_to_vec();
    let r = export(&app.router, "/v1/logs", "text/plain", None, body.clone()).await;
    assert_eq!(r.status, 415);
    let msg = r.json()["message"].as_str().unwrap().to_string();
    assert!(
        msg.contains("text/plain")
            && msg.contains("application/x-protobuf")
            && msg.contains("application/json"),
        "{msg}"
    );
    let r = call(
        &app.router,
        Request::post("/v1/logs")
            .body(Body::from(body.clone()))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 415);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("missing Content-Type")
    );
    let r = export(&app.router, "/v1/logs", PB, Some("br"), body).await;
    assert_eq!(r.status, 415);
    let s = r.rpc_status();
    assert!(
        s.message.contains("br") && s.message.contains("gzip"),
        "{}",
        s.message
    );
    // Only POST.
    let r = call(
        &app.router,
        Request::get("/v1/logs").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(r.status, 405);
    assert_eq!(r.headers["allow"], "POST");
}

#[tokio::test]
async fn otlp_http_undecodable_bodies_are_400_with_a_status() {
    let app = app();
    // Protobuf: a field header announcing more bytes than there are.
    let r = export(
        &app.router,
        "/v1/traces",
        PB,
        None,
        vec![0x0a, 0xff, 0x01, 0x02],
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.headers["content-type"], PB);
    let s = rpc::Status::decode(r.body.as_ref()).unwrap();
    assert_eq!(s.code, rpc::code::INVALID_ARGUMENT);
    assert!(
        s.message.contains("malformed protobuf") && s.message.contains("ExportTraceServiceRequest"),
        "{}",
        s.message
    );
    // JSON with the wrong type.
    let r = export(
        &app.router,
        "/v1/logs",
        JSON,
        None,
        r#"{"resourceLogs": "nope"}"#,
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text());
    let j = r.json();
    assert_eq!(j["code"], 3);
    assert!(j["message"].as_str().unwrap().contains("line 1"), "{j}");
    // Empty JSON.
    let r = export(&app.router, "/v1/metrics", JSON, None, "").await;
    assert_eq!(r.status, 400);
    assert!(r.json()["message"].as_str().unwrap().contains("empty"));
    // An empty protobuf body is a valid, empty request.
    let r = export(&app.router, "/v1/metrics", PB, None, Vec::new()).await;
    assert_eq!(r.status, 200, "{}", r.text());
}

/// A span without a name is refused and says so in `partial_success` (never answered as if it
/// were stored).
#[tokio::test]
async fn otlp_spans_without_a_name_are_reported_not_silently_dropped() {
    let app = app();
    let json = json!({"resourceSpans": [{"scopeSpans": [{"spans": [
        {"traceId": TRACE, "spanId": "0102030405060708", "name": "",
         "startTimeUnixNano": t(1).to_string(), "endTimeUnixNano": t(2).to_string()},
        {"traceId": TRACE, "spanId": "0102030405060709", "name": "named",
         "startTimeUnixNano": t(1).to_string(), "endTimeUnixNano": t(2).to_string()}]}]}]});
    let r = export(&app.router, "/v1/traces", JSON, None, json.to_string()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let stored = app.get(&format!("/api/v1/traces/{TRACE}")).await;
    let count = stored.json["summary"]["span_count"].as_u64().unwrap_or(0);
    let j = r.json();
    let rejected: u64 = j["partialSuccess"]["rejectedSpans"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    assert_eq!(count + rejected, 2, "answer {j}, stored {}", stored.text);
}

#[tokio::test]
async fn otlp_http_partial_success_keeps_the_good_records() {
    let app = app();
    let mut spans = good_spans();
    spans.push(span(vec![1, 2, 3], SPAN.to_vec(), "bad id"));
    let r = export(
        &app.router,
        "/v1/traces",
        PB,
        None,
        traces_request(spans.clone()).encode_to_vec(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let ps = ExportTraceServiceResponse::decode(r.body.as_ref())
        .unwrap()
        .partial_success
        .unwrap();
    assert_eq!(ps.rejected_spans, 1);
    assert!(ps.error_message.contains("span_id"), "{}", ps.error_message);
    let r = app.get(&format!("/api/v1/traces/{TRACE}")).await;
    assert_eq!(r.json["summary"]["span_count"], 2, "{}", r.text);

    // The same in JSON: counts as strings, camelCase names.
    let json = json!({"resourceSpans": [{"scopeSpans": [{"spans": [
        {"traceId": TRACE, "spanId": "0102", "name": "bad",
         "startTimeUnixNano": t(1).to_string(), "endTimeUnixNano": t(2).to_string()}]}]}]});
    let r = export(&app.router, "/v1/traces", JSON, None, json.to_string()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let j = r.json();
    assert_eq!(j["partialSuccess"]["rejectedSpans"], "1", "{j}");
    assert!(
        j["partialSuccess"]["errorMessage"]
            .as_str()
            .unwrap()
            .contains("span_id")
    );
}

#[tokio::test]
async fn the_otlp_http_router_serves_only_v1() {
    let app = app();
    let otlp = app.server.otlp_http_router();
    let r = export(
        &otlp,
        "/v1/logs",
        PB,
        None,
        logs_request("port-4318", &["hi"]).encode_to_vec(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = call(
        &otlp,
        Request::get("/api/v1/logs").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(r.status, 404);
    assert!(r.json()["message"].as_str().unwrap().contains("/v1/logs"));
    let r = app.get("/api/v1/logs?service=port-4318").await;
    assert_eq!(log_messages(&r), ["hi"]);
}

// ---------------------------------------------------------------------------------------------
// OTLP/gRPC over loopback

/// A server on loopback: the three listeners on free ports, until dropped.
pub(crate) struct Running {
    pub(crate) server: HeimsightServer,
    pub(crate) app: TestApp,
    /// `127.0.0.1:port` of the HTTP API.
    pub(crate) http: String,
    /// `http://127.0.0.1:port` of OTLP/gRPC.
    pub(crate) grpc: String,
    /// `127.0.0.1:port` of OTLP/HTTP.
    pub(crate) otlp_http: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    serving: Option<tokio::task::JoinHandle<heimsight_server::Result<()>>>,
}

pub(crate) async fn running(config: ServerConfig) -> Running {
    running_app(app_with(loopback(config))).await
}

/// `config` on loopback, every port free, keeping the fixtures' data.
pub(crate) fn loopback(config: ServerConfig) -> ServerConfig {
    // The fixtures are dated 2026-01-01: keep them from the retention task that `serve_all`
    // runs at once.
    let keep: heimsight_core::Duration = "36500d".parse().unwrap();
    config
        .with_host("127.0.0.1")
        .with_port(0)
        .with_otlp_grpc_port(0)
        .with_otlp_http_port(0)
        .with_retention(
            heimsight_server::RetentionConfig::default()
                .with_logs(keep)
                .with_spans(keep)
                .with_metrics(keep),
        )
}

/// Serves `app`'s server on the listeners of its configuration (see [`loopback`]).
pub(crate) async fn running_app(app: TestApp) -> Running {
    let listeners = Listeners::bind(app.server.config()).await.unwrap();
    let addrs = listeners.local_addrs().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(app.server.clone().serve_all(listeners, async {
        let _ = rx.await;
    }));
    Running {
        server: app.server.clone(),
        app,
        http: addrs.http.to_string(),
        grpc: format!("http://{}", addrs.otlp_grpc.unwrap()),
        otlp_http: addrs.otlp_http.unwrap().to_string(),
        stop: Some(tx),
        serving: Some(serving),
    }
}

impl Running {
    /// Stops every listener and waits for the graceful shutdown to finish.
    pub(crate) async fn stop(mut self) {
        self.stop.take().unwrap().send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(10), self.serving.take().unwrap())
            .await
            .expect("stopped within 10 s")
            .unwrap()
            .unwrap();
    }
}

#[tokio::test]
async fn otlp_grpc_for_all_three_signals_plain_and_gzip() {
    let srv = running(ServerConfig::default()).await;
    let mut logs = LogsServiceClient::connect(srv.grpc.clone()).await.unwrap();
    let resp = logs
        .export(logs_request("grpc-app", &["one", "two"]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resp.partial_success, None);
    // An empty request (an empty message on the wire) is valid and stores nothing.
    let resp = logs
        .export(ExportLogsServiceRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resp.partial_success, None);

    // A client that compresses its requests and accepts compressed answers.
    let mut traces = TraceServiceClient::connect(srv.grpc.clone())
        .await
        .unwrap()
        .send_compressed(CompressionEncoding::Gzip)
        .accept_compressed(CompressionEncoding::Gzip);
    let resp = traces.export(traces_request(good_spans())).await.unwrap();
    assert_eq!(resp.into_inner().partial_success, None);

    let mut metrics = MetricsServiceClient::connect(srv.grpc.clone())
        .await
        .unwrap()
        .send_compressed(CompressionEncoding::Gzip);
    metrics
        .export(metrics_request("cpu_grpc", &[1.5, 2.5]))
        .await
        .unwrap();

    let mut logs_gz = LogsServiceClient::connect(srv.grpc.clone())
        .await
        .unwrap()
        .send_compressed(CompressionEncoding::Gzip);
    logs_gz
        .export(logs_request("grpc-gz", &["zipped"]))
        .await
        .unwrap();

    assert_everything_stored(&srv.app, "grpc-app", &["one", "two"], "cpu_grpc").await;
    let r = srv.app.get("/api/v1/logs?service=grpc-gz").await;
    assert_eq!(log_messages(&r), ["zipped"]);
    assert_eq!(srv.server.ingest_budget().in_flight(), 0);
    srv.stop().await;
}

#[tokio::test]
async fn otlp_grpc_partial_success_and_bad_input() {
    let srv = running(ServerConfig::default().with_max_body_bytes(1 << 20)).await;
    let mut traces = TraceServiceClient::connect(srv.grpc.clone()).await.unwrap();
    let mut spans = good_spans();
    spans.push(span(vec![9; 3], vec![], "bad id"));
    let ps = traces
        .export(traces_request(spans))
        .await
        .unwrap()
        .into_inner()
        .partial_success
        .unwrap();
    assert_eq!(ps.rejected_spans, 1);
    assert!(ps.error_message.contains("span_id"), "{}", ps.error_message);
    let r = srv.app.get(&format!("/api/v1/traces/{TRACE}")).await;
    assert_eq!(r.json["summary"]["span_count"], 2, "{}", r.text);

    // Over the message size limit: RESOURCE_EXHAUSTED, without retry information.
    let mut logs = LogsServiceClient::connect(srv.grpc.clone()).await.unwrap();
    let big = "x".repeat(1 << 20);
    let err = logs
        .export(logs_request("big", &[big.as_str()]))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::ResourceExhausted, "{err:?}");
    assert!(
        err.message().contains("max_body_bytes"),
        "{}",
        err.message()
    );
    assert!(err.details().is_empty());
    // A gzip bomb: RESOURCE_EXHAUSTED too.
    let mut logs_gz = LogsServiceClient::connect(srv.grpc.clone())
        .await
        .unwrap()
        .send_compressed(CompressionEncoding::Gzip);
    let err = logs_gz
        .export(logs_request("big", &[big.as_str()]))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::ResourceExhausted, "{err:?}");
    assert!(err.message().contains("decompressed"), "{}", err.message());
    assert_eq!(srv.server.ingest_budget().in_flight(), 0);
    srv.stop().await;
}

/// A gRPC request with a raw message, through the routes in-process.
async fn raw_grpc(server: &HeimsightServer, path: &str, message: &[u8]) -> tonic::Status {
    let mut frame = vec![0u8];
    frame.extend_from_slice(&u32::try_from(message.len()).unwrap().to_be_bytes());
    frame.extend_from_slice(message);
    let req = Request::post(path)
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(Body::from(frame))
        .unwrap();
    let routes = server.otlp_grpc_routes();
    let res = routes.oneshot(req).await.unwrap();
    tonic::Status::from_header_map(res.headers()).expect("a trailers-only error answer")
}

#[tokio::test]
async fn otlp_grpc_garbage_is_invalid_argument() {
    let app = app();
    let status = raw_grpc(
        &app.server,
        "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
        &[0x0a, 0xff, 0x01, 0x02],
    )
    .await;
    let message = status.message();
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{message}");
    assert!(
        message.contains("malformed protobuf") && message.contains("ExportLogsServiceRequest"),
        "{message}"
    );
}

#[tokio::test]
async fn otlp_grpc_unknown_methods_are_unimplemented() {
    let app = app();
    for path in [
        "/opentelemetry.proto.collector.logs.v1.LogsService/Nope",
        "/opentelemetry.proto.collector.nope.v1.NopeService/Export",
    ] {
        let status = raw_grpc(&app.server, path, &[]).await;
        assert_eq!(
            status.code(),
            tonic::Code::Unimplemented,
            "{path}: {status:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Backpressure

/// `message` followed by an unknown length-delimited field (number 15) that pads the
/// encoding to exactly `total` bytes; decoders skip it.
fn padded(mut message: Vec<u8>, total: usize) -> Vec<u8> {
    for header in 2..=6 {
        let pad = total - message.len() - header;
        let mut field = vec![0x7a];
        prost::encoding::encode_varint(pad as u64, &mut field);
        if field.len() == header {
            message.extend_from_slice(&field);
            message.resize(total, b'p');
            return message;
        }
    }
    panic!("cannot pad to {total}")
}

#[tokio::test]
async fn a_spent_budget_throttles_http_and_grpc_until_it_frees() {
    const BUDGET: usize = 64 * 1024;
    let srv = running(ServerConfig::default().with_ingest_budget_bytes(BUDGET)).await;
    let budget = srv.server.ingest_budget().clone();
    assert_eq!(budget.total(), BUDGET);
    // Bigger than what the slow client leaves free (100 bytes).
    let body = padded(
        logs_request("throttled", &["wait for it"]).encode_to_vec(),
        1000,
    );

    // A slow client holds most of the budget: its declared length is reserved as soon as its
    // headers are in, while its body has not come yet.
    let slow_len = BUDGET - 100;
    let slow_body = padded(
        logs_request("throttled", &["slow one"]).encode_to_vec(),
        slow_len,
    );
    let mut slow = tokio::net::TcpStream::connect(&srv.otlp_http)
        .await
        .unwrap();
    {
        use tokio::io::AsyncWriteExt;
        let head = format!(
            "POST /v1/logs HTTP/1.1\r\nHost: test\r\nContent-Type: {PB}\r\n\
             Content-Length: {slow_len}\r\nConnection: close\r\n\r\n"
        );
        slow.write_all(head.as_bytes()).await.unwrap();
    }
    for _ in 0..500 {
        if budget.in_flight() > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(budget.in_flight(), slow_len);

    // OTLP/HTTP: 429 with Retry-After and a status carrying RetryInfo.
    let r = export(&srv.app.router, "/v1/logs", PB, None, body.clone()).await;
    assert_eq!(r.status, 429, "{}", r.text());
    assert_eq!(r.headers["retry-after"], "1");
    let s = rpc::Status::decode(r.body.as_ref()).unwrap();
    assert_eq!(s.code, rpc::code::UNAVAILABLE);
    assert_eq!(s.retry_delay(), Some(Duration::from_secs(1)));
    assert!(s.message.contains("ingest_budget_bytes"), "{}", s.message);
    let r = export(&srv.app.router, "/v1/logs", JSON, None, "{}".repeat(100)).await;
    assert_eq!(r.status, 429);
    assert_eq!(
        r.json()["details"][0]["@type"],
        "type.googleapis.com/google.rpc.RetryInfo"
    );
    // The REST API shares the budget.
    let rest = json!([{"level": "info", "message": "x".repeat(200), "service": "rest"}]);
    let r = srv.app.post("/api/v1/logs", &rest).await;
    assert_eq!(r.status, 429, "{}", r.text);
    assert!(r.error().contains("retry"), "{}", r.text);

    // OTLP/gRPC: UNAVAILABLE with RetryInfo.
    let mut logs = LogsServiceClient::connect(srv.grpc.clone()).await.unwrap();
    let err = logs
        .export(logs_request("throttled", &[&"w".repeat(500)]))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unavailable, "{err:?}");
    let details = rpc::Status::decode(err.details()).unwrap();
    assert_eq!(details.retry_delay(), Some(Duration::from_secs(1)));

    // A request larger than the whole budget is 413 / RESOURCE_EXHAUSTED, never 429.
    let huge = logs_request("huge", &[&"h".repeat(BUDGET)]);
    let r = export(&srv.app.router, "/v1/logs", PB, None, huge.encode_to_vec()).await;
    assert_eq!(r.status, 413, "{}", r.text());
    assert!(r.rpc_status().message.contains("ingest budget"));
    let err = logs.export(huge).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::ResourceExhausted, "{err:?}");

    // The slow request finishes; the budget frees; ingestion resumes everywhere.
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        slow.write_all(&slow_body).await.unwrap();
        let mut answer = String::new();
        slow.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }
    assert_eq!(budget.in_flight(), 0);

    let r = export(&srv.app.router, "/v1/logs", PB, None, body.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    logs.export(logs_request("throttled", &["after"]))
        .await
        .unwrap();
    let r = srv.app.post("/api/v1/logs", &rest).await;
    assert_eq!(r.status, 201, "{}", r.text);
    // Over the separate OTLP/HTTP listener too (raw HTTP/1.1).
    let (status, _) = post_raw(&srv.otlp_http, "/v1/logs", &body).await;
    assert_eq!(status, 200);
    let r = srv.app.get("/api/v1/logs?service=throttled").await;
    assert_eq!(
        log_messages(&r),
        ["after", "slow one", "wait for it", "wait for it"],
        "{}",
        r.text
    );
    assert_eq!(budget.in_flight(), 0);
    srv.stop().await;
}

/// POSTs a protobuf body over a fresh HTTP/1.1 connection; returns the status and the body.
async fn post_raw(addr: &str, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: {PB}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.write_all(body).await.unwrap();
    let mut answer = Vec::new();
    conn.read_to_end(&mut answer).await.unwrap();
    let text = String::from_utf8_lossy(&answer);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body_at = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(answer.len(), |p| p + 4);
    (status, answer[body_at..].to_vec())
}

#[tokio::test]
async fn serve_all_stops_every_listener_on_shutdown() {
    let srv = running(ServerConfig::default()).await;
    let (grpc, otlp_http, http) = (srv.grpc.clone(), srv.otlp_http.clone(), srv.http.clone());
    let (status, _) = post_raw(
        &otlp_http,
        "/v1/logs",
        &logs_request("before-stop", &["x"]).encode_to_vec(),
    )
    .await;
    assert_eq!(status, 200);
    let store = Arc::clone(&srv.app.store);
    srv.stop().await;
    for addr in [otlp_http, http] {
        assert!(
            tokio::net::TcpStream::connect(&addr).await.is_err(),
            "{addr} still open"
        );
    }
    assert!(LogsServiceClient::connect(grpc).await.is_err());
    assert_eq!(
        store
            .query_logs(&heimsight_store::LogQuery::default())
            .unwrap()
            .total,
        1
    );
}
