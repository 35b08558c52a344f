//! Tests of the real `heimsight` binary: configuration precedence, help, and data surviving
//! restarts and `kill -9`.
#![allow(clippy::unwrap_used, missing_docs, unreachable_pub)]

mod browser;
mod remote;
mod util;
mod webdriver;

use std::io::Write;

use heimsight_core::Timestamp;
use serde_json::{Value, json};
use util::*;

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

/// Posts logs, spans and metrics, asserting each is acknowledged with 201.
fn ingest(url: &str) {
    let now = Timestamp::now();
    let ts = |offset_ms: i64| now.saturating_add(offset_ms * 1_000_000).to_rfc3339();
    let client = client();
    let post = |path: &str, body: Value| {
        let r = client
            .post(format!("{url}{path}"))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .unwrap();
        let status = r.status();
        let text = r.text().unwrap();
        assert_eq!(status, 201, "{path}: {text}");
        serde_json::from_str::<Value>(&text).unwrap()
    };
    let logs = json!([
        {"timestamp": ts(-3000), "level": "info", "message": "order placed", "service": "shop"},
        {"timestamp": ts(-2000), "level": "error", "message": "payment declined", "service": "shop",
         "trace_id": TRACE},
        {"timestamp": ts(-1000), "level": "warn", "message": "retrying payment", "service": "payments",
         "attributes": {"attempt": 2}},
    ]);
    assert_eq!(post("/api/v1/logs", logs)["accepted"], 3);
    let spans = json!([
        {"trace_id": TRACE, "span_id": "00f067aa0ba902b7", "name": "POST /orders", "service": "shop",
         "kind": "server", "start_time": ts(-2500), "end_time": ts(-1500)},
        {"trace_id": TRACE, "span_id": "00f067aa0ba902b8", "parent_span_id": "00f067aa0ba902b7",
         "name": "charge", "service": "payments", "start_time": ts(-2400), "end_time": ts(-1600),
         "status": {"code": "error", "message": "declined"}},
    ]);
    assert_eq!(post("/api/v1/traces", spans)["accepted"], 2);
    let points = json!([
        {"name": "orders_total", "type": "counter", "value": 1, "timestamp": ts(-2000), "labels": {"shop": "eu"}},
        {"name": "orders_total", "type": "counter", "value": 2, "timestamp": ts(-1000), "labels": {"shop": "eu"}},
    ]);
    assert_eq!(post("/api/v1/metrics", points)["accepted"], 2);
}

/// Asserts that everything [`ingest`] sent is readable.
fn assert_all_readable(url: &str) {
    let client = client();
    let get = |path: &str| -> Value {
        let r = client.get(format!("{url}{path}")).send().unwrap();
        assert_eq!(r.status(), 200, "{path}");
        r.json().unwrap()
    };
    let logs = get("/api/v1/logs");
    assert_eq!(logs["total"], 3, "{logs}");
    let messages: Vec<&str> = logs["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        messages,
        ["retrying payment", "payment declined", "order placed"]
    );
    assert_eq!(logs["logs"][0]["attributes"]["attempt"], 2);

    let trace = get(&format!("/api/v1/traces/{TRACE}"));
    assert_eq!(trace["spans"].as_array().unwrap().len(), 2, "{trace}");
    assert_eq!(trace["tree"][0]["children"][0]["name"], "charge");
    assert_eq!(trace["summary"]["error"], true);
    assert_eq!(trace["logs"][0]["message"], "payment declined");

    let metrics = get("/api/v1/metrics?name=orders_total");
    let values: Vec<f64> = metrics["series"][0]["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["value"].as_f64().unwrap())
        .collect();
    assert_eq!(values, [1.0, 2.0], "{metrics}");
}

#[test]
fn acknowledged_data_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data);
    ingest(&server.url);
    server.kill_hard();

    let server = Server::start(&data);
    assert_all_readable(&server.url);
    // And it keeps working after the crash.
    ingest(&server.url);
    let total = client()
        .get(format!("{}/api/v1/logs?limit=0", server.url))
        .send()
        .unwrap()
        .json::<Value>()
        .unwrap()["total"]
        .clone();
    assert_eq!(total, 6);
}

#[test]
fn otlp_is_served_on_its_own_port_and_under_v1() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let now = Timestamp::now().0;
    let client = client();
    let export = |url: String, body: Value| {
        let r = client
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .unwrap();
        let status = r.status();
        let text = r.text().unwrap();
        assert_eq!(status, 200, "{text}");
        assert_eq!(text, "{}");
    };
    let logs = json!({"resourceLogs": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "otel-app"}}]},
        "scopeLogs": [{"logRecords": [{"timeUnixNano": now.to_string(), "severityNumber": 17,
                                       "body": {"stringValue": "exported over OTLP/HTTP"}}]}]
    }]});
    export(format!("http://{}/v1/logs", server.otlp_http), logs);
    let spans = json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "otel-app"}}]},
        "scopeSpans": [{"spans": [{"traceId": TRACE, "spanId": "00f067aa0ba902b7", "name": "GET /",
                                   "kind": 2, "startTimeUnixNano": (now - 1_000_000).to_string(),
                                   "endTimeUnixNano": now.to_string()}]}]
    }]});
    export(format!("{}/v1/traces", server.url), spans);
    let logs = client
        .get(format!("{}/api/v1/logs?service=otel-app", server.url))
        .send()
        .unwrap()
        .json::<Value>()
        .unwrap();
    assert_eq!(
        logs["logs"][0]["message"], "exported over OTLP/HTTP",
        "{logs}"
    );
    let trace = client
        .get(format!("{}/api/v1/traces/{TRACE}", server.url))
        .send()
        .unwrap();
    assert_eq!(trace.status(), 200);
    // The gRPC port is open too.
    std::net::TcpStream::connect(&server.otlp_grpc).unwrap();
    let output = server.output();
    assert!(
        output.contains("otlp_grpc=127.0.0.1:") && output.contains("otlp_http=127.0.0.1:"),
        "{output}"
    );
}

#[test]
fn data_survives_a_graceful_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data);
    ingest(&server.url);
    let (status, output) = server.terminate();
    assert!(status.success(), "exit status {status}:\n{output}");
    assert!(output.contains("received SIGTERM"), "{output}");
    assert!(output.contains("store flushed"), "{output}");

    let server = Server::start(&data);
    assert_all_readable(&server.url);
    assert!(
        server
            .output()
            .contains("Heimsight listening on http://127.0.0.1:")
    );
}

#[test]
fn health_reports_up_and_down() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let out = heimsight()
        .args(["health", "--url", &server.url, "-o", "table"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text.trim(),
        format!(
            "ok: Heimsight {} at {}",
            env!("CARGO_PKG_VERSION"),
            server.url
        )
    );
    // Piped without -o: JSON.
    let out = heimsight()
        .arg("health")
        .env("HEIMSIGHT_URL", format!("{}/", server.url))
        .output()
        .unwrap();
    assert!(out.status.success());
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["status"], "ok");

    drop(server);
    let closed = format!("http://127.0.0.1:{}", free_port());
    let out = heimsight()
        .args(["health", "--url", &closed, "--timeout", "2s"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains(&format!("cannot reach Heimsight at {closed}")),
        "{err}"
    );
}

#[test]
fn settings_come_from_defaults_file_env_and_flags_in_that_order() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("heimsight.toml");
    let mut f = std::fs::File::create(&file).unwrap();
    writeln!(
        f,
        "host = \"127.0.0.2\"\nport = 9001\nlog_level = \"debug\"\n[retention]\nlogs = \"2d\"\nspans = \"3d\"\n[rate_limit]\nrequests_per_second = 5.0\nquery_concurrency = 2"
    )
    .unwrap();
    let out = heimsight()
        .args([
            "serve",
            "--print-config",
            "--log-level",
            "warn",
            "--retention-spans",
            "4d",
            "--auth",
            "--rate-limit-query-concurrency",
            "3",
        ])
        .env("HEIMSIGHT_CONFIG", &file)
        .env("HEIMSIGHT_PORT", "9002")
        .env("HEIMSIGHT_LOG_LEVEL", "error")
        .env("HEIMSIGHT_RETENTION_LOGS", "5d")
        .env("HEIMSIGHT_RATE_LIMIT_INGEST_BYTES_PER_SECOND", "1000000")
        .env("HEIMSIGHT_AUTH_METRICS_PUBLIC", "false")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config: toml::Table = toml::from_str(&String::from_utf8(out.stdout).unwrap()).unwrap();
    assert_eq!(config["host"].as_str(), Some("127.0.0.2")); // file over default
    assert_eq!(config["port"].as_integer(), Some(9002)); // env over file
    assert_eq!(config["log_level"].as_str(), Some("warn")); // flag over env and file
    assert_eq!(config["retention"]["logs"].as_str(), Some("5d")); // env over file
    assert_eq!(config["retention"]["spans"].as_str(), Some("4d")); // flag over file
    assert_eq!(config["retention"]["metrics"].as_str(), Some("30d")); // default
    assert_eq!(config["data_dir"].as_str(), Some("./data")); // default
    assert_eq!(config["auth"]["enabled"].as_bool(), Some(true)); // flag
    assert_eq!(config["auth"]["metrics_public"].as_bool(), Some(false)); // env
    let limits = &config["rate_limit"];
    assert_eq!(limits["requests_per_second"].as_float(), Some(5.0)); // file
    assert_eq!(
        limits["ingest_bytes_per_second"].as_integer(),
        Some(1_000_000)
    ); // env
    assert_eq!(limits["query_concurrency"].as_integer(), Some(3)); // flag over file
}

#[test]
fn the_example_config_holds_the_defaults() {
    let out = heimsight()
        .args(["serve", "--print-config", "--config"])
        .arg(manifest_dir().join("../heimsight.example.toml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The example file's settings are the defaults: printed alike with and without it.
    let defaults = heimsight()
        .args(["serve", "--print-config"])
        .output()
        .unwrap();
    assert!(defaults.status.success());
    let config: toml::Table = toml::from_str(&String::from_utf8(out.stdout).unwrap()).unwrap();
    let default: toml::Table =
        toml::from_str(&String::from_utf8(defaults.stdout).unwrap()).unwrap();
    assert_eq!(config, default);
    assert_eq!(config["retention"]["metrics"].as_str(), Some("30d"));
}

#[test]
fn invalid_settings_fail_before_anything_starts() {
    let port = free_port();
    let out = heimsight()
        .args(["serve", "--retention-logs", "forever", "--port"])
        .arg(port.to_string())
        .env("HEIMSIGHT_MAX_BODY_BYTES", "0")
        .env("HEIMSIGHT_RATE_LIMIT_REQUESTS_PER_SECOND", "-1")
        .env("HEIMSIGHT_RATE_LIMIT_QUERY_CONCURRENCY", "0")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.starts_with("error: invalid configuration"), "{err}");
    for what in [
        "retention.logs",
        "max_body_bytes",
        "rate_limit.requests_per_second",
        "rate_limit.query_concurrency",
    ] {
        assert!(err.contains(what), "{what}: {err}");
    }
    // A port that is not a number is a usage error, from the parser.
    let out = heimsight()
        .args(["serve", "--port", "eighty"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--port"));
}

#[test]
fn help_explains_every_flag_with_its_default_and_variable() {
    let out = heimsight().args(["serve", "--help"]).output().unwrap();
    assert!(out.status.success());
    // Compare with whitespace collapsed: the help is wrapped to the terminal's width.
    let help = String::from_utf8(out.stdout).unwrap();
    let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
    for needle in [
        "--host",
        "HEIMSIGHT_HOST",
        "--port",
        "HEIMSIGHT_PORT",
        "[default: 8080]",
        "--data-dir",
        "HEIMSIGHT_DATA_DIR",
        "--log-level",
        "HEIMSIGHT_LOG_LEVEL",
        "--config",
        "HEIMSIGHT_CONFIG",
        "--max-body-bytes",
        "--otlp-grpc-port",
        "HEIMSIGHT_OTLP_GRPC_PORT",
        "[default: 4317]",
        "--otlp-http-port",
        "HEIMSIGHT_OTLP_HTTP_PORT",
        "[default: 4318]",
        "--ingest-budget-bytes",
        "HEIMSIGHT_INGEST_BUDGET_BYTES",
        "--retention-logs",
        "[default: 7d]",
        "--retention-metrics",
        "[default: 30d]",
        "--retention-check-interval",
        "environment",
    ] {
        assert!(help.contains(needle), "{needle:?} missing from:\n{help}");
    }
    let out = heimsight().arg("--help").output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(help.contains("serve") && help.contains("health"), "{help}");
}

#[test]
fn compact_merges_a_stopped_servers_blocks_and_keeps_every_record() {
    use heimsight_core::{Level, LogRecord, Timestamp};
    use heimsight_store::{LogQuery, LogStore, RocksStore};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let all = |store: &RocksStore| {
        let q = LogQuery::default().with_limit(usize::MAX);
        store.query_logs(&q).unwrap().logs
    };
    let before = {
        let store = RocksStore::builder(&data)
            .background_merge(false)
            .open()
            .unwrap();
        // Many small appends: many small blocks, for `compact` to merge.
        for batch in 0..40i64 {
            let recs = (0..100i64)
                .map(|i| {
                    let t = Timestamp((batch * 100 + i) * 1_000_000);
                    LogRecord::new(t, Level::Info, format!("request {i} of batch {batch}"))
                })
                .collect();
            store.append_logs(recs).unwrap();
        }
        all(&store)
    };
    assert_eq!(before.len(), 4000);
    let out = stdout_of(
        heimsight()
            .args(["compact", "--data-dir"])
            .arg(&data)
            .args(["-o", "json"]),
    );
    let report: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let (b, a) = (
        report["bytes_before"].as_u64().unwrap(),
        report["bytes_after"].as_u64().unwrap(),
    );
    assert!(a > 0 && b > 0, "{report}");
    let store = RocksStore::builder(&data)
        .background_merge(false)
        .open()
        .unwrap();
    assert_eq!(all(&store), before);
    // The word search now goes through the merged blocks' term index.
    let q = LogQuery::default()
        .with_filter(heimsight_store::LogFilter::default().with_terms(["batch 39"]))
        .with_limit(usize::MAX);
    assert_eq!(store.query_logs(&q).unwrap().logs.len(), 100);
    drop(store);
    // A directory that is not there is an error naming it.
    let out = heimsight()
        .args(["compact", "--data-dir"])
        .arg(dir.path().join("nope"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope"));
}
