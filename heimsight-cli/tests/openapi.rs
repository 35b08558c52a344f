//! The OpenAPI document (`GET /api/v1/openapi.json`) against the real `heimsight serve`:
//! Schemathesis generates requests for every operation it describes, valid and invalid, and
//! checks every answer: no 5xx, a documented status code and content type, and a body that
//! matches the documented schema.
//!
//! Schemathesis is installed into the test virtualenv by `scripts/otel-venv.sh` (pinned in
//! `tests/otel_sdk/requirements.txt`); `tests/openapi/run_schemathesis.py` runs it (its
//! docstring says how, and how to run it by hand against any server or document file).
#![allow(clippy::unwrap_used, missing_docs, unreachable_pub)]

#[allow(dead_code)]
#[path = "util.rs"]
mod util;

use std::fs::File;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use heimsight_core::Timestamp;
use serde_json::{Value, json};
use util::*;

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const OTHER_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";

/// Operations left out of the run. Sending a test notification makes the server call the
/// channel's destination (a webhook URL, an SMTP host, PagerDuty's or Opsgenie's API), and
/// Schemathesis makes those up: the test stays on loopback.
const EXCLUDED_PATHS: &[&str] = &[r"^/api/v1/notifications/channels/\{[^}]+\}/test$"];

/// The whole run's bound (it takes well under a minute); past it the driver is killed.
const RUN_LIMIT: Duration = Duration::from_secs(600);

/// A little of everything, so that reads answer with every shape a document must describe:
/// logs with and without a trace, typed attributes, a bare record (no level, service or
/// timestamp: `unspecified`, `unknown_service`, the arrival time); a trace of two spans with a
/// status, an event and a link, and a one-span trace with nothing optional; counters, gauges
/// (`NaN` and `+Inf` among them), a histogram and a summary.
fn ingest(server: &Server) {
    let now = Timestamp::now();
    let ts = |offset_ms: i64| now.saturating_add(offset_ms * 1_000_000).to_rfc3339();
    let client = server.client();
    let post = |path: &str, body: Value, accepted: u64| {
        let r = client
            .post(format!("{}{path}", server.url))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .unwrap();
        let status = r.status();
        let text = r.text().unwrap();
        assert_eq!(status, 201, "{path}: {text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["accepted"], accepted, "{path}: {text}");
    };
    post(
        "/api/v1/logs",
        json!([
            {"timestamp": ts(-3000), "level": "info", "message": "order placed", "service": "shop"},
            {"timestamp": ts(-2000), "level": "error", "message": "payment declined",
             "service": "shop", "trace_id": TRACE, "span_id": "00f067aa0ba902b8"},
            {"timestamp": ts(-1000), "level": "warn", "message": "retrying payment",
             "service": "payments",
             "attributes": {"attempt": 2, "ratio": 0.5, "cached": true, "tags": ["a", "b"]},
             "resource": {"host.name": "web-1"}},
            {"message": "bare record"},
        ]),
        4,
    );
    post(
        "/api/v1/traces",
        json!([
            {"trace_id": TRACE, "span_id": "00f067aa0ba902b7", "name": "POST /orders",
             "service": "shop", "kind": "server", "start_time": ts(-2500), "end_time": ts(-1500),
             "attributes": {"http.status_code": 402}},
            {"trace_id": TRACE, "span_id": "00f067aa0ba902b8", "parent_span_id": "00f067aa0ba902b7",
             "name": "charge", "service": "payments", "kind": "client", "start_time": ts(-2400),
             "end_time": ts(-1600), "status": {"code": "error", "message": "declined"},
             "events": [{"name": "card declined", "timestamp": ts(-1700),
                         "attributes": {"attempt": 2}}],
             "links": [{"trace_id": OTHER_TRACE, "span_id": "b7ad6b7169203331"}]},
            {"trace_id": OTHER_TRACE, "span_id": "b7ad6b7169203331", "name": "bare span",
             "start_time": ts(-1200), "duration_ns": 1000},
        ]),
        3,
    );
    post(
        "/api/v1/metrics",
        json!([
            {"name": "orders_total", "type": "counter", "value": 1, "timestamp": ts(-2000),
             "labels": {"shop": "eu"}},
            {"name": "orders_total", "type": "counter", "value": 2, "timestamp": ts(-1000),
             "labels": {"shop": "eu"}},
            {"name": "queue_depth", "type": "gauge", "value": 7.5, "timestamp": ts(-1000)},
            {"name": "temperature", "type": "gauge", "value": "NaN", "timestamp": ts(-2000)},
            {"name": "temperature", "type": "gauge", "value": "+Inf", "timestamp": ts(-1000)},
            {"name": "http_request_duration_seconds", "type": "histogram",
             "labels": {"route": "/checkout"}, "timestamp": ts(-1000),
             "buckets": [{"le": 0.1, "count": 80}, {"le": 0.5, "count": 15},
                         {"le": "+Inf", "count": 5}],
             "sum": 14.2, "count": 100},
            {"name": "rpc_latency", "type": "summary", "timestamp": ts(-1000), "sum": 3.5,
             "count": 10,
             "quantiles": [{"quantile": 0.5, "value": 0.2}, {"quantile": 0.99, "value": 0.9}]},
        ]),
        7,
    );
}

/// The last `n` warnings and errors the server logged (where the cause of a 5xx would show).
fn server_problems(log: &str, n: usize) -> String {
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
        .collect();
    if lines.is_empty() {
        return "(none)".to_string();
    }
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The last `n` lines of `text`.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[test]
#[ignore = "e2e: needs the Python test peers from PyPI (scripts/otel-venv.sh); scripts/test.sh runs it"]
fn schemathesis_finds_no_server_error_or_schema_break() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(&dir.path().join("data"));
    assert!(
        server.url.starts_with("http://127.0.0.1:"),
        "{}",
        server.url
    );
    ingest(&server);

    // The document is there and is OpenAPI 3.1 (else Schemathesis' own complaint would be
    // less to the point).
    let r = server
        .client()
        .get(format!("{}/api/v1/openapi.json", server.url))
        .send()
        .unwrap();
    let status = r.status();
    let text = r.text().unwrap();
    assert_eq!(status, 200, "GET /api/v1/openapi.json: {text}");
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "not an OpenAPI 3.1 document: {}",
        text.chars().take(300).collect::<String>()
    );

    let python = python();
    let log = dir.path().join("schemathesis.log");
    let out = File::create(&log).unwrap();
    let mut cmd = Command::new(python);
    cmd.arg(manifest_dir().join("tests/openapi/run_schemathesis.py"))
        .args(["--base-url", server.url.as_str()]);
    for re in EXCLUDED_PATHS {
        cmd.args(["--exclude-path-regex", *re]);
    }
    let started = Instant::now();
    let mut child = cmd
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > RUN_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "Schemathesis still running after {RUN_LIMIT:?}:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let output = std::fs::read_to_string(&log).unwrap_or_default();
    let running = server.running();
    assert!(
        status.success() && running,
        "Schemathesis found problems ({status}; the server is {}):\n{output}\n\
         ---- the server's last warnings and errors ----\n{}",
        if running { "still running" } else { "gone" },
        server_problems(&server.output(), 40)
    );
    eprintln!("{}", tail(&output, 3));
}
