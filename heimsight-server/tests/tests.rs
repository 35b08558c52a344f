//! Integration tests of the HTTP API, driven through the router on a memory store, and of
//! OTLP over HTTP and gRPC (`otlp`).
#![allow(clippy::unwrap_used, missing_docs, unreachable_pub)]

mod alerts;
mod auth;
mod compose;
mod limits;
mod openapi;
mod otlp;
mod pki;
mod prometheus;
mod query;
mod telemetry;
mod tls;
mod util;

use axum::body::Body;
use axum::http::Request;
use heimsight_server::ServerConfig;
use serde_json::{Value, json};
use util::*;

fn logs_fixture() -> Value {
    json!([
        {"timestamp": at(1), "level": "info", "message": "user logged in", "service": "auth",
         "attributes": {"user": "alice", "http.status": 200}},
        {"timestamp": at(2), "level": "error", "message": "connection refused by db", "service": "api",
         "attributes": {"http.status": 503}, "trace_id": TRACE, "span_id": "eee19b7ec3c1b174"},
        {"timestamp": at(3), "level": "warn", "message": "slow query took 2s", "service": "api",
         "resource": {"host.name": "web-1"}, "trace_id": TRACE},
        {"timestamp": at(4), "level": "error", "message": "Connection reset", "service": "billing"},
    ])
}

async fn msgs(app: &TestApp, query: &str) -> Vec<String> {
    let r = app.get(&format!("/api/v1/logs?{query}")).await;
    messages(&r).into_iter().map(str::to_string).collect()
}

fn messages(r: &Reply) -> Vec<&str> {
    r.json["logs"]
        .as_array()
        .unwrap_or_else(|| panic!("no logs in {}", r.text))
        .iter()
        .map(|l| l["message"].as_str().unwrap())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Health and routing

#[tokio::test]
async fn health_reports_status_and_version() {
    let app = app();
    let r = app.get("/health").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["status"], "ok");
    assert_eq!(r.json["version"], env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json() {
    let app = app();
    let r = app.get("/api/v1/nope").await;
    assert_client_error(&r, 404, &["/api/v1/nope"]);
    let r = app.send("DELETE", "/health", None, Body::empty()).await;
    assert_client_error(&r, 405, &["DELETE", "/health"]);
}

#[tokio::test]
async fn router_can_be_mounted_under_a_prefix() {
    let app = app();
    let outer = axum::Router::new()
        .route("/", axum::routing::get(|| async { "mine" }))
        .nest("/heimsight", app.router.clone());
    let mounted = TestApp {
        router: outer,
        server: app.server.clone(),
        store: app.store.clone(),
    };
    assert_eq!(mounted.get("/heimsight/health").await.status, 200);
    assert_eq!(mounted.get("/").await.text, "mine");
    let r = mounted.get("/heimsight/missing").await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn status_shows_the_memory_probes_figures() {
    use heimsight_server::HeimsightServer;
    use heimsight_store::{MemoryStore, Store};
    use std::sync::Arc;
    assert!(app().get("/api/v1/status").await.json["memory"]["process"].is_null());
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let server = HeimsightServer::builder()
        .store(Arc::clone(&store))
        .memory_probe(|| vec![("arena_bytes", 4096), ("cache_bytes", 7)])
        .build()
        .unwrap();
    let app = TestApp {
        router: server.router(),
        server,
        store,
    };
    let r = app.get("/api/v1/status").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json["memory"]["process"],
        json!({"arena_bytes": 4096, "cache_bytes": 7})
    );
    assert!(r.json["memory"]["store"].is_object(), "{}", r.text);
}

// ---------------------------------------------------------------------------------------------
// Log ingestion and its bad input

#[tokio::test]
async fn posting_logs_returns_201_with_the_count() {
    let app = app();
    let r = app.post("/api/v1/logs", &logs_fixture()).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json, json!({"accepted": 4}));
    let r = app
        .post(
            "/api/v1/logs",
            &json!({"message": "single", "level": "debug"}),
        )
        .await;
    assert_eq!(r.json, json!({"accepted": 1}));
    let r = app.post("/api/v1/logs", &json!([])).await;
    assert_eq!((r.status.as_u16(), &r.json), (201, &json!({"accepted": 0})));
    assert_eq!(app.get("/api/v1/logs").await.json["total"], 5);
}

#[tokio::test]
async fn invalid_records_are_listed_and_valid_ones_stored() {
    let app = app();
    let body = json!([
        {"message": "fine", "timestamp": at(1)},
        {"level": 5, "timestamp": "yesterday"},
        {"message": "also fine", "timestamp": at(2)},
        "not an object",
    ]);
    let r = app.post("/api/v1/logs", &body).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.json["accepted"], 2);
    assert_eq!(r.json["rejected"], 2);
    assert!(
        r.error()
            .contains("rejected 2 of 4 items (see errors); stored the other 2"),
        "{}",
        r.error()
    );
    let errors = r.json["errors"].as_array().unwrap();
    let fields: Vec<(u64, &str)> = errors
        .iter()
        .map(|e| (e["index"].as_u64().unwrap(), e["field"].as_str().unwrap()))
        .collect();
    assert_eq!(
        fields,
        [(1, "timestamp"), (1, "level"), (1, "message"), (3, "")]
    );
    assert!(
        errors[1]["reason"]
            .as_str()
            .unwrap()
            .contains("expected a string, found a number")
    );
    assert!(errors[2]["reason"].as_str().unwrap().contains("missing"));
    assert_eq!(
        messages(&app.get("/api/v1/logs").await),
        ["also fine", "fine"]
    );
}

#[tokio::test]
async fn malformed_json_names_line_and_column() {
    let app = app();
    let r = app
        .send(
            "POST",
            "/api/v1/logs",
            Some("application/json"),
            "[\n  {\"message\": \"a\"},\n  {\"message\": }\n]",
        )
        .await;
    assert_client_error(&r, 400, &["malformed JSON", "line 3, column 15"]);
    let r = app
        .send("POST", "/api/v1/logs", Some("application/json"), "")
        .await;
    assert_client_error(&r, 400, &["empty"]);
    let r = app
        .send("POST", "/api/v1/logs", Some("application/json"), "42")
        .await;
    assert_client_error(&r, 400, &["found a number"]);
}

#[tokio::test]
async fn invalid_utf8_is_a_400() {
    let app = app();
    let body: Vec<u8> = b"{\"message\": \"caf\xe9\"}".to_vec();
    let r = app
        .send("POST", "/api/v1/logs", Some("application/json"), body)
        .await;
    assert_client_error(&r, 400, &["not valid UTF-8", "offset 16"]);
}

#[tokio::test]
async fn wrong_or_missing_content_type_is_a_415() {
    let app = app();
    let body = json!({"message": "x"}).to_string();
    let r = app
        .send("POST", "/api/v1/logs", Some("text/plain"), body.clone())
        .await;
    assert_client_error(&r, 415, &["text/plain", "application/json"]);
    let r = app
        .send(
            "POST",
            "/api/v1/traces",
            Some("application/x-www-form-urlencoded"),
            body.clone(),
        )
        .await;
    assert_client_error(&r, 415, &["application/json"]);
    let r = app
        .send("POST", "/api/v1/metrics", None, body.clone())
        .await;
    assert_client_error(&r, 415, &["missing Content-Type"]);
    let r = app
        .send(
            "POST",
            "/api/v1/logs",
            Some("application/json; charset=utf-8"),
            body,
        )
        .await;
    assert_eq!(r.status, 201);
}

#[tokio::test]
async fn bodies_over_the_limit_are_a_413_naming_the_limit() {
    let app = app_with(ServerConfig::default().with_max_body_bytes(1000));
    let big = json!([{"message": "x".repeat(2000)}]).to_string();
    // With a Content-Length header: refused before the body is read.
    let req = Request::post("/api/v1/logs")
        .header("content-type", "application/json")
        .header("content-length", big.len())
        .body(Body::from(big.clone()))
        .unwrap();
    let r = app.request(req).await;
    assert_client_error(&r, 413, &["1000 bytes"]);
    // Without one: refused while reading.
    let req = Request::post("/api/v1/logs")
        .header("content-type", "application/json")
        .body(Body::from(big))
        .unwrap();
    let r = app.request(req).await;
    assert_client_error(&r, 413, &["1000 bytes"]);
    assert_eq!(app.get("/api/v1/logs").await.json["total"], 0);
}

#[tokio::test]
async fn wrong_types_and_missing_fields_name_the_field() {
    let app = app();
    let r = app
        .post(
            "/api/v1/logs",
            &json!({"message": "x", "attributes": "nope"}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json["errors"][0]["field"], "attributes");
    let r = app
        .post(
            "/api/v1/traces",
            &json!({"trace_id": TRACE, "name": "GET /"}),
        )
        .await;
    assert_eq!(r.status, 400);
    let fields: Vec<&str> = r.json["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["span_id", "start_time", "end_time"]);
    let r = app
        .post("/api/v1/metrics", &json!({"name": "cpu", "value": "high"}))
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json["errors"][0]["field"], "value");
    assert!(
        r.json["errors"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("\"high\"")
    );
}

// ---------------------------------------------------------------------------------------------
// Log queries

#[tokio::test]
async fn logs_come_newest_first_with_total_limit_and_offset() {
    let app = app();
    app.post("/api/v1/logs", &logs_fixture()).await;
    let r = app.get("/api/v1/logs").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        messages(&r),
        [
            "Connection reset",
            "slow query took 2s",
            "connection refused by db",
            "user logged in"
        ]
    );
    assert_eq!(
        (
            r.json["total"].as_u64(),
            r.json["limit"].as_u64(),
            r.json["offset"].as_u64()
        ),
        (Some(4), Some(100), Some(0))
    );
    let log = &r.json["logs"][2];
    assert_eq!(log["timestamp"], at(2).as_str());
    assert_eq!(log["level"], "error");
    assert_eq!(log["service"], "api");
    assert_eq!(log["attributes"]["http.status"], 503);
    assert_eq!(log["trace_id"], TRACE);
    assert_eq!(log["span_id"], "eee19b7ec3c1b174");

    let r = app.get("/api/v1/logs?order=asc&limit=2&offset=1").await;
    assert_eq!(
        messages(&r),
        ["connection refused by db", "slow query took 2s"]
    );
    assert_eq!(r.json["total"], 4);
    let r = app.get("/api/v1/logs?limit=0").await;
    assert_eq!((messages(&r).len(), r.json["total"].as_u64()), (0, Some(4)));
}

#[tokio::test]
async fn logs_filter_by_level_service_text_attributes_trace_and_time() {
    let app = app();
    app.post("/api/v1/logs", &logs_fixture()).await;
    assert_eq!(
        msgs(&app, "level=error").await,
        ["Connection reset", "connection refused by db"]
    );
    assert_eq!(
        msgs(&app, "level=warn,info").await,
        ["slow query took 2s", "user logged in"]
    );
    assert_eq!(
        msgs(&app, "level=ERROR&service=api").await,
        ["connection refused by db"]
    );
    assert_eq!(
        msgs(&app, "service=auth,billing").await,
        ["Connection reset", "user logged in"]
    );
    assert_eq!(msgs(&app, "service=auth&service=billing").await.len(), 2);
    assert_eq!(
        msgs(&app, "contains=CONNECTION").await,
        ["Connection reset", "connection refused by db"]
    );
    assert_eq!(msgs(&app, "q=refused").await, ["connection refused by db"]);
    assert_eq!(
        msgs(&app, "q=%22refused%20by%22%20db").await,
        ["connection refused by db"]
    );
    assert!(msgs(&app, "q=%22by%20refused%22").await.is_empty());
    assert_eq!(
        msgs(&app, "attr=http.status:503").await,
        ["connection refused by db"]
    );
    assert_eq!(
        msgs(&app, "attr=user:alice&attr=http.status:200").await,
        ["user logged in"]
    );
    assert_eq!(
        msgs(&app, "attr=host.name:web-1").await,
        ["slow query took 2s"]
    );
    assert_eq!(msgs(&app, &format!("trace_id={TRACE}")).await.len(), 2);
    let range = format!("start_time={}&end_time={}", at(2), at(4));
    assert_eq!(
        msgs(&app, &range).await,
        ["slow query took 2s", "connection refused by db"]
    );
    let nanos = format!("start_time={}", T0 + 3 * SEC);
    assert_eq!(
        msgs(&app, &nanos).await,
        ["Connection reset", "slow query took 2s"]
    );
    // The fixture is in 2026: nothing in the last 15 minutes… unless we log now.
    assert!(msgs(&app, "start_time=now-15m").await.is_empty());
    app.post("/api/v1/logs", &json!({"message": "just now"}))
        .await;
    assert_eq!(
        msgs(&app, "start_time=now-15m&end_time=now%2B1m").await,
        ["just now"]
    );
}

#[tokio::test]
async fn bad_log_query_parameters_are_400s_naming_the_parameter() {
    let app = app();
    for (query, needles) in [
        ("limit=-5", &["limit", "negative"][..]),
        ("limit=abc", &["limit", "\"abc\""]),
        ("limit=10001", &["limit", "maximum 10000"]),
        ("offset=-1", &["offset", "negative"]),
        ("level=loud", &["level", "unknown level \"loud\""]),
        ("trace_id=xyz", &["trace_id", "32 hex"]),
        ("start_time=yesterday", &["start_time", "yesterday"]),
        ("end_time=now-banana", &["end_time"]),
        ("order=sideways", &["order", "asc", "desc"]),
        ("attr=nocolon", &["attr", "key:value"]),
        ("limit=1&limit=2", &["limit", "more than once"]),
        (
            "colour=blue",
            &["unknown parameter \"colour\"", "start_time"],
        ),
    ] {
        let r = app.get(&format!("/api/v1/logs?{query}")).await;
        assert_client_error(&r, 400, needles);
    }
    let r = app
        .get(&format!(
            "/api/v1/logs?start_time={}&end_time={}",
            at(10),
            at(5)
        ))
        .await;
    assert_client_error(&r, 400, &["end_time", "before start_time"]);
}

// ---------------------------------------------------------------------------------------------
// Metrics

fn metrics_fixture() -> Value {
    let mut points = Vec::new();
    for i in 0..6 {
        points.push(
            json!({"name": "cpu", "type": "gauge", "value": i as f64, "timestamp": at(i * 30),
                           "labels": {"host": "a"}}),
        );
        points.push(json!({"name": "cpu", "type": "gauge", "value": 10.0 * i as f64, "timestamp": at(i * 30),
                           "labels": {"host": "b"}}));
    }
    points.push(
        json!({"name": "requests", "type": "counter", "value": 42, "timestamp": at(0),
                       "labels": {"code": "200"}}),
    );
    points.push(json!({"name": "latency", "type": "histogram", "timestamp": at(0),
                       "buckets": [{"le": 0.1, "count": 3}, {"le": 1, "count": 1}, {"le": "+Inf", "count": 0}],
                       "sum": 0.9, "count": 4}));
    Value::Array(points)
}

#[tokio::test]
async fn metrics_round_trip_raw() {
    let app = app();
    let r = app.post("/api/v1/metrics", &metrics_fixture()).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["accepted"], 14);

    let r = app.get("/api/v1/metrics?name=cpu&label=host:a").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let series = r.json["series"].as_array().unwrap();
    assert_eq!(series.len(), 1);
    assert_eq!(series[0]["name"], "cpu");
    assert_eq!(series[0]["type"], "gauge");
    assert_eq!(series[0]["labels"], json!({"host": "a"}));
    let points = series[0]["points"].as_array().unwrap();
    assert_eq!(points.len(), 6);
    assert_eq!(points[1], json!({"timestamp": at(30), "value": 1.0}));

    let r = app.get("/api/v1/metrics?name=cpu").await;
    assert_eq!(r.json["series"].as_array().unwrap().len(), 2);

    let r = app.get("/api/v1/metrics?name=latency").await;
    let p = &r.json["series"][0]["points"][0];
    assert_eq!(r.json["series"][0]["type"], "histogram");
    assert_eq!(p["sum"], 0.9);
    assert_eq!(p["count"], 4);
    assert_eq!(p["buckets"][2], json!({"le": "+Inf", "count": 0}));

    let r = app
        .get(&format!(
            "/api/v1/metrics?name=cpu&label=host:b&start_time={}&end_time={}",
            at(60),
            at(120)
        ))
        .await;
    let values: Vec<f64> = r.json["series"][0]["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["value"].as_f64().unwrap())
        .collect();
    assert_eq!(values, [20.0, 30.0]);

    let r = app.get("/api/v1/metrics/names").await;
    assert_eq!(r.json, json!({"names": ["cpu", "latency", "requests"]}));
}

#[tokio::test]
async fn metrics_aggregate_over_windows() {
    let app = app();
    app.post("/api/v1/metrics", &metrics_fixture()).await;
    let get = |agg: &str, step: &str| {
        let uri = format!("/api/v1/metrics?name=cpu&label=host:a&agg={agg}{step}");
        let app = &app;
        async move {
            let r = app.get(&uri).await;
            assert_eq!(r.status, 200, "{}", r.text);
            r.json["series"][0]["points"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    (
                        p["timestamp"].as_str().unwrap().to_string(),
                        p["value"].as_f64().unwrap(),
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    // Points at 0,30,…,150 s with values 0..5; default step 60 s.
    assert_eq!(
        get("avg", "").await,
        [(at(0), 0.5), (at(60), 2.5), (at(120), 4.5)]
    );
    assert_eq!(get("sum", "&step=2m").await, [(at(0), 6.0), (at(120), 9.0)]);
    assert_eq!(get("max", "&step=90s").await, [(at(0), 2.0), (at(90), 5.0)]);
    assert_eq!(get("count", "&step=1h").await, [(at(0), 6.0)]);
    assert_eq!(get("min", "&step=60s").await[1], (at(60), 2.0));
    let r = app.get("/api/v1/metrics?name=cpu&agg=avg&step=30s").await;
    assert_eq!(r.json["agg"], "avg");
    assert_eq!(r.json["step"], "30s");
}

#[tokio::test]
async fn bad_metric_query_parameters_are_400s() {
    let app = app();
    for (query, needles) in [
        (
            "agg=median",
            &[
                "unknown aggregation \"median\"",
                "avg, sum, min, max, count",
            ][..],
        ),
        ("agg=avg&step=0s", &["step", "longer than zero"]),
        ("agg=avg&step=soon", &["step", "invalid duration"]),
        ("step=60s", &["step", "agg="]),
        ("label=host", &["label", "key:value"]),
        ("start_time=2026-13-01T00:00:00Z", &["start_time"]),
    ] {
        let r = app.get(&format!("/api/v1/metrics?{query}")).await;
        assert_client_error(&r, 400, needles);
    }
    let r = app
        .get(&format!(
            "/api/v1/metrics?start_time={}&end_time={}",
            at(10),
            at(5)
        ))
        .await;
    assert_client_error(&r, 400, &["end_time", "before start_time"]);
}

// ---------------------------------------------------------------------------------------------
// Traces

fn span(id: &str, parent: Option<&str>, name: &str, service: &str, start: i64, ms: i64) -> Value {
    json!({
        "trace_id": TRACE, "span_id": id, "parent_span_id": parent, "name": name,
        "service": service, "kind": "server", "start_time": at(start),
        "end_time": heimsight_core::Timestamp(T0 + start * SEC + ms * 1_000_000).to_rfc3339(),
        "status": {"code": "unset"}, "attributes": {}, "events": [], "links": []
    })
}

async fn traces_fixture(app: &TestApp) {
    let spans = json!([
        span(
            "0000000000000001",
            None,
            "GET /checkout",
            "frontend",
            10,
            300
        ),
        span(
            "0000000000000002",
            Some("0000000000000001"),
            "charge",
            "payments",
            10,
            120
        ),
        span(
            "0000000000000003",
            Some("0000000000000002"),
            "SELECT",
            "db",
            10,
            20
        ),
        span(
            "0000000000000004",
            Some("0000000000000001"),
            "render",
            "frontend",
            10,
            50
        ),
    ]);
    let r = app.post("/api/v1/traces", &spans).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["accepted"], 4);
    // A second trace, posted as a single span, with an error.
    let mut other = span("00000000000000aa", None, "GET /health", "frontend", 20, 5);
    other["trace_id"] = json!("00000000000000000000000000000abc");
    other["status"] = json!({"code": "error", "message": "boom"});
    let r = app.post("/api/v1/traces", &other).await;
    assert_eq!((r.status.as_u16(), &r.json), (201, &json!({"accepted": 1})));
    app.post("/api/v1/logs", &logs_fixture()).await;
}

#[tokio::test]
async fn traces_are_searchable() {
    let app = app();
    traces_fixture(&app).await;
    let r = app.get("/api/v1/traces").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let traces = r.json["traces"].as_array().unwrap();
    assert_eq!(traces.len(), 2);
    // Newest first.
    assert_eq!(traces[0]["trace_id"], "00000000000000000000000000000abc");
    assert_eq!(traces[0]["error"], true);
    let t = &traces[1];
    assert_eq!(t["trace_id"], TRACE);
    assert_eq!(t["root_service"], "frontend");
    assert_eq!(t["root_name"], "GET /checkout");
    assert_eq!(t["start_time"], at(10).as_str());
    assert_eq!(t["duration_ns"], 300_000_000);
    assert_eq!(t["span_count"], 4);
    assert_eq!(t["services"], json!(["db", "frontend", "payments"]));
    assert_eq!(t["error"], false);

    let ids = |r: Reply| -> Vec<String> {
        r.json["traces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["trace_id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids(app.get("/api/v1/traces?service=db").await), [TRACE]);
    assert_eq!(
        ids(app.get("/api/v1/traces?operation=SELECT").await),
        [TRACE]
    );
    assert_eq!(
        ids(app.get("/api/v1/traces?min_duration=250ms").await),
        [TRACE]
    );
    assert_eq!(
        ids(app.get("/api/v1/traces?max_duration=10ms").await).len(),
        1
    );
    assert_eq!(ids(app.get("/api/v1/traces?limit=1").await).len(), 1);
    let r = app
        .get(&format!(
            "/api/v1/traces?start_time={}&end_time={}",
            at(0),
            at(15)
        ))
        .await;
    assert_eq!(ids(r), [TRACE]);
}

#[tokio::test]
async fn a_trace_comes_with_its_tree_and_logs() {
    let app = app();
    traces_fixture(&app).await;
    let r = app.get(&format!("/api/v1/traces/{TRACE}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["trace_id"], TRACE);
    assert_eq!(r.json["summary"]["span_count"], 4);
    let spans = r.json["spans"].as_array().unwrap();
    assert_eq!(spans.len(), 4);
    for key in [
        "trace_id",
        "span_id",
        "parent_span_id",
        "name",
        "service",
        "kind",
        "start_time",
        "end_time",
        "status",
        "attributes",
        "events",
        "links",
    ] {
        assert!(
            spans[0].get(key).is_some(),
            "span has no {key}: {}",
            spans[0]
        );
    }
    let tree = r.json["tree"].as_array().unwrap();
    assert_eq!(tree.len(), 1);
    assert_eq!(tree[0]["name"], "GET /checkout");
    let kids: Vec<&str> = tree[0]["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(kids.len(), 2);
    assert!(kids.contains(&"charge") && kids.contains(&"render"));
    let charge = tree[0]["children"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "charge")
        .unwrap();
    assert_eq!(charge["children"][0]["name"], "SELECT");
    // Correlated logs, oldest first.
    let logs: Vec<&str> = r.json["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["message"].as_str().unwrap())
        .collect();
    assert_eq!(logs, ["connection refused by db", "slow query took 2s"]);
}

#[tokio::test]
async fn unknown_and_malformed_trace_ids() {
    let app = app();
    traces_fixture(&app).await;
    let r = app
        .get("/api/v1/traces/0123456789abcdef0123456789abcdef")
        .await;
    assert_client_error(&r, 404, &["no trace", "0123456789abcdef0123456789abcdef"]);
    let r = app.get("/api/v1/traces/not-a-trace").await;
    assert_client_error(&r, 400, &["invalid trace id", "32 hex"]);
    let r = app
        .get("/api/v1/traces/00000000000000000000000000000000")
        .await;
    assert_client_error(&r, 400, &["all-zero"]);
    for (query, needles) in [
        (
            "min_duration=fast",
            &["min_duration", "invalid duration"][..],
        ),
        ("max_duration=-5ms", &["max_duration", "negative"]),
        (
            "min_duration=2s&max_duration=1s",
            &["max_duration", "shorter"],
        ),
        ("limit=-1", &["limit", "negative"]),
        ("limit=1001", &["limit", "maximum 1000"]),
    ] {
        let r = app.get(&format!("/api/v1/traces?{query}")).await;
        assert_client_error(&r, 400, needles);
    }
    let r = app
        .get(&format!(
            "/api/v1/traces?start_time={}&end_time={}",
            at(10),
            at(5)
        ))
        .await;
    assert_client_error(&r, 400, &["end_time", "before start_time"]);
}

// ---------------------------------------------------------------------------------------------
// Retention and stats

#[tokio::test]
async fn retention_defaults_updates_and_persistence() {
    let app = app();
    let r = app.get("/api/v1/retention").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["logs"], "7d");
    assert_eq!(r.json["spans"], "7d");
    assert_eq!(r.json["metrics"], "30d");
    assert_eq!(r.json["logs_ns"], 7 * 86_400 * SEC);

    let r = app.put("/api/v1/retention", &json!({"logs": "36h"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["logs"], "1d12h");
    assert_eq!(r.json["spans"], "7d");
    assert_eq!(app.get("/api/v1/retention").await.json["logs"], "1d12h");

    // A server restarted on the same store keeps it, even with another configuration.
    let config = ServerConfig::default().with_retention(
        heimsight_server::RetentionConfig::default()
            .with_logs("1d".parse().unwrap())
            .with_spans("2d".parse().unwrap())
            .with_metrics("3d".parse().unwrap()),
    );
    let again = app_on(app.store.clone(), config);
    let r = again.get("/api/v1/retention").await;
    assert_eq!(
        (r.json["logs"].as_str(), r.json["spans"].as_str()),
        (Some("1d12h"), Some("2d"))
    );

    // What GET returns can be PUT back.
    let r = again.put("/api/v1/retention", &r.json.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn invalid_retention_updates_change_nothing() {
    let app = app();
    let r = app
        .put(
            "/api/v1/retention",
            &json!({"logs": "3d", "spans": "forever", "traces": "1d"}),
        )
        .await;
    assert_client_error(&r, 400, &["spans", "forever", "traces: unknown field"]);
    assert_eq!(app.get("/api/v1/retention").await.json["logs"], "7d");
    let r = app.put("/api/v1/retention", &json!({"logs": 5})).await;
    assert_client_error(&r, 400, &["logs", "duration string"]);
    let r = app.put("/api/v1/retention", &json!({"logs": "0s"})).await;
    assert_client_error(&r, 400, &["longer than zero"]);
    let r = app.put("/api/v1/retention", &json!(["7d"])).await;
    assert_client_error(&r, 400, &["JSON object"]);
    let r = app
        .send(
            "PUT",
            "/api/v1/retention",
            Some("application/json"),
            "{\"logs\": ",
        )
        .await;
    assert_client_error(&r, 400, &["malformed JSON", "line 1"]);
    let r = app
        .send("PUT", "/api/v1/retention", Some("text/plain"), "{}")
        .await;
    assert_eq!(r.status, 415);
}

#[tokio::test]
async fn retention_pass_deletes_expired_data() {
    let app = app();
    let old = heimsight_core::Timestamp::now()
        .saturating_add(-3 * 86_400 * SEC)
        .to_rfc3339();
    app.post(
        "/api/v1/logs",
        &json!([{"message": "old", "timestamp": old}, {"message": "new"}]),
    )
    .await;
    app.post(
        "/api/v1/metrics",
        &json!([{"name": "m", "value": 1, "timestamp": old}, {"name": "m", "value": 2}]),
    )
    .await;
    app.server.enforce_retention().await.unwrap();
    assert_eq!(messages(&app.get("/api/v1/logs").await), ["new", "old"]);
    app.put("/api/v1/retention", &json!({"logs": "1d", "metrics": "1d"}))
        .await;
    let removed = app.server.enforce_retention().await.unwrap();
    assert!(removed >= 2, "removed {removed}");
    assert_eq!(messages(&app.get("/api/v1/logs").await), ["new"]);
    let r = app.get("/api/v1/metrics?name=m").await;
    assert_eq!(r.json["series"][0]["points"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn stats_report_records_ages_and_series() {
    let app = app();
    let r = app.get("/api/v1/stats").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["logs"]["records"], 0);
    assert_eq!(r.json["logs"]["oldest"], Value::Null);
    assert_eq!(r.json["logs"]["age_seconds"], Value::Null);
    traces_fixture(&app).await;
    app.post("/api/v1/metrics", &metrics_fixture()).await;
    let r = app.get("/api/v1/stats").await;
    assert_eq!(r.json["logs"]["records"], 4);
    assert_eq!(r.json["spans"]["records"], 5);
    assert_eq!(r.json["metrics"]["records"], 14);
    assert_eq!(r.json["series"], 4);
    assert_eq!(r.json["logs"]["oldest"], at(1).as_str());
    assert_eq!(r.json["logs"]["newest"], at(4).as_str());
    assert!(r.json["logs"]["bytes"].as_u64().unwrap() > 0);
    let age = r.json["logs"]["age_seconds"].as_i64().unwrap();
    let expected = (heimsight_core::Timestamp::now().0 - (T0 + SEC)) / SEC;
    assert!((expected - age).abs() <= 5, "{age} vs {expected}");
}

// ---------------------------------------------------------------------------------------------
// Serving over a socket

#[tokio::test]
async fn serve_answers_and_shuts_down_gracefully() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let app = app();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(app.server.clone().serve(listener, async {
        let _ = rx.await;
    }));
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    conn.write_all(b"GET /health HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"status\":\"ok\""), "{answer}");
    tx.send(()).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(10), serving)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn builder_rejects_bad_configuration() {
    let err = heimsight_server::HeimsightServer::builder()
        .store(std::sync::Arc::new(heimsight_store::MemoryStore::new()))
        .config(
            ServerConfig::default().with_retention_check_interval(heimsight_core::Duration::ZERO),
        )
        .build()
        .unwrap_err();
    assert!(
        err.to_string().contains("retention_check_interval"),
        "{err}"
    );
    let err = heimsight_server::HeimsightServer::builder()
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("no store"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Dashboards and the web UI's pages (the browser test in heimsight-cli drives them for real).

#[tokio::test]
async fn dashboards_are_validated_saved_updated_and_deleted() {
    let app = app();
    let r = app
        .post(
            "/api/v1/dashboards",
            &json!({"panels": [{"agg": "median", "step": "-1m"}, 3], "colour": "red"}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    let fields: Vec<&str> = r.json["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for f in [
        "colour",
        "name",
        "panels[0].metric",
        "panels[0].agg",
        "panels[0].step",
        "panels[1]",
    ] {
        assert!(fields.contains(&f), "{f} in {fields:?}");
    }
    let r = app
        .post(
            "/api/v1/dashboards",
            &json!({"name": "Hosts", "panels": [{"metric": "cpu", "labels": {"host": "a"}, "agg": "max"}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.json["id"].as_str().unwrap().to_string();
    let got = app.get(&format!("/api/v1/dashboards/{id}")).await;
    assert_eq!(got.json["panels"][0]["labels"]["host"], "a");
    // Defaults are shown filled in, and the answer sent back is accepted (id and times are
    // ignored).
    assert_eq!(got.json["panels"][0]["step"], "auto");
    let r = app
        .put(&format!("/api/v1/dashboards/{id}"), &got.json)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["panels"], got.json["panels"]);
    let r = app
        .put(
            &format!("/api/v1/dashboards/{id}"),
            &json!({"name": "Hosts 2", "panels": []}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["created"], got.json["created"]);
    let list = app.get("/api/v1/dashboards").await;
    assert_eq!(list.json["dashboards"][0]["name"], "Hosts 2");
    let r = app
        .send("DELETE", &format!("/api/v1/dashboards/{id}"), None, "")
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(
        app.get(&format!("/api/v1/dashboards/{id}")).await.status,
        404
    );
}

#[tokio::test]
async fn ui_pages_render_and_refuse_cross_site_posts() {
    let app = app();
    for page in [
        "/ui/logs",
        "/ui/traces",
        "/ui/metrics",
        "/ui/alerts",
        "/ui/alerts/new",
        "/ui/query?q=SELECT%20count(*)%20FROM%20logs",
    ] {
        let r = app.get(page).await;
        assert_eq!(r.status, 200, "{page}: {}", r.text);
        assert!(r.text.starts_with("<!DOCTYPE html>"), "{page}");
    }
    assert_eq!(app.get("/ui/static/app.css").await.status, 200);
    let silence_from = |site: &str| {
        Request::post("/ui/alerts/silences")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("sec-fetch-site", site)
            .body(Body::from("matchers=alertname%3DX&duration=1h"))
            .unwrap()
    };
    // Another site, or a sibling subdomain (same-site), may not post the UI's forms.
    assert_eq!(app.request(silence_from("cross-site")).await.status, 403);
    assert_eq!(app.request(silence_from("same-site")).await.status, 403);
    assert!(
        app.get("/api/v1/silences").await.json["silences"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(app.request(silence_from("same-origin")).await.status, 303);
    assert_eq!(
        app.get("/api/v1/silences").await.json["silences"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

/// Editing an anomaly rule in the web UI keeps its settings: the form shows the method,
/// history, minimum history, smoothing and direction, and saving sends them back.
#[tokio::test]
async fn ui_edits_of_an_anomaly_rule_keep_its_settings() {
    let app = app();
    let r = app
        .post(
            "/api/v1/alerts/rules",
            &json!({"name": "odd latency", "kind": "anomaly",
                    "query": "SELECT avg(value) FROM metrics WHERE name = 'latency'",
                    "method": "ewma", "sensitivity": 3, "min_history": 5, "history": 50,
                    "alpha": 0.5, "direction": "above", "interval": "1m"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.json["id"].as_str().unwrap().to_string();
    let form = app.get(&format!("/ui/alerts/rules/{id}")).await;
    assert_eq!(form.status, 200, "{}", form.text);
    for (name, value) in [("min_history", "5"), ("history", "50"), ("alpha", "0.5")] {
        assert!(
            form.text
                .contains(&format!(r#"name="{name}" value="{value}""#)),
            "no {name} = {value} in the edit form"
        );
    }
    assert!(form.text.contains(r#"<option value="ewma" selected>"#));
    assert!(form.text.contains(r#"<option value="above" selected>"#));
    // Saved as the browser sends the form (every field, as text).
    let body = "name=odd+latency&kind=anomaly&query=SELECT+avg%28value%29+FROM+metrics+WHERE+name+%3D+%27latency%27\
        &method=ewma&sensitivity=2.5&min_history=6&history=60&alpha=0.25&direction=below\
        &interval=1m&window=&for=&keep_firing_for=&absent_for=&pattern=&filter=&group_by=&measure=\
        &op=%3E&threshold=&severity=warning&labels=&summary=&enabled=on";
    let saved = app
        .request(
            Request::post(format!("/ui/alerts/rules/{id}"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(body))
                .unwrap(),
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.text);
    let rule = app.get(&format!("/api/v1/alerts/rules/{id}")).await;
    for (k, v) in [
        ("method", json!("ewma")),
        ("sensitivity", json!(2.5)),
        ("min_history", json!(6)),
        ("history", json!(60)),
        ("alpha", json!(0.25)),
        ("direction", json!("below")),
    ] {
        assert_eq!(rule.json[k], v, "{k} in {}", rule.text);
    }
}
