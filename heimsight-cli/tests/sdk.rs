//! Real OpenTelemetry clients against the real `heimsight serve`: the Python SDK's standard
//! OTLP exporters send logs, spans and metrics over gRPC and over HTTP/protobuf, and the test
//! reads them back through the REST API, field for field. Also OTLP JSON bodies written the
//! way the specification's examples are.
//!
//! The SDK is installed into a virtualenv outside the clone by `scripts/otel-venv.sh` (pinned
//! in `tests/otel_sdk/requirements.txt`); the first run downloads it from PyPI.
#![allow(clippy::unwrap_used, missing_docs, unreachable_pub)]

#[allow(dead_code)]
#[path = "util.rs"]
mod util;

use std::process::Command;

use serde_json::Value;
use util::*;

/// Runs the SDK sender; returns the ids it printed.
fn send(transport: &str, endpoint: &str, tag: &str) -> Value {
    send_as(transport, endpoint, tag, None).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs the SDK sender with `OTEL_EXPORTER_OTLP_HEADERS` (when given), as an exporter
/// configured for a protected collector would; the ids it printed, or why it failed.
fn send_as(
    transport: &str,
    endpoint: &str,
    tag: &str,
    headers: Option<&str>,
) -> Result<Value, String> {
    send_with(transport, endpoint, tag, headers, &[])
}

/// [`send_as`] with more environment variables of the exporter (e.g.
/// `OTEL_EXPORTER_OTLP_CERTIFICATE`).
fn send_with(
    transport: &str,
    endpoint: &str,
    tag: &str,
    headers: Option<&str>,
    env: &[(&str, &str)],
) -> Result<Value, String> {
    let script = manifest_dir().join("tests/otel_sdk/send.py");
    let mut cmd = Command::new(python());
    cmd.arg(script)
        .args([
            "--transport",
            transport,
            "--endpoint",
            endpoint,
            "--tag",
            tag,
        ])
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_HEADERS")
        .env_remove("OTEL_EXPORTER_OTLP_CERTIFICATE")
        // requests (under the HTTP exporter) lets these override the exporter's own
        // certificate setting.
        .env_remove("REQUESTS_CA_BUNDLE")
        .env_remove("CURL_CA_BUNDLE")
        .envs(env.iter().copied());
    if let Some(h) = headers {
        cmd.env("OTEL_EXPORTER_OTLP_HEADERS", h);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!(
            "the SDK sender failed ({}):\n{stdout}\n{stderr}",
            out.status
        ));
    }
    serde_json::from_str(stdout.trim()).map_err(|e| format!("{e}: {stdout}"))
}

thread_local! {
    /// The API key the checks of this test read with (each test runs on its own thread).
    static READ_KEY: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

fn get(client: &reqwest::blocking::Client, url: &str) -> Value {
    let mut req = client.get(url);
    if let Some(k) = READ_KEY.with(|k| k.borrow().clone()) {
        req = req.bearer_auth(k);
    }
    let r = req.send().unwrap();
    let status = r.status();
    let text = r.text().unwrap();
    assert_eq!(status, 200, "{url}: {text}");
    serde_json::from_str(&text).unwrap()
}

/// What the sender sent, read back through the REST API.
fn check(server: &Server, transport: &str, tag: &str, ids: &Value) {
    let client = server.client();
    let get = |url: &str| get(&client, url);
    let service = format!("sdk-test-{transport}");
    let trace_id = ids["trace_id"].as_str().unwrap();

    // The trace: both spans, the parent link, kinds, typed attributes, status, the event.
    let t = get(&format!("{}/api/v1/traces/{trace_id}", server.url));
    let spans = t["spans"].as_array().unwrap();
    assert_eq!(spans.len(), 2, "{t}");
    let by_name = |n: &str| {
        spans
            .iter()
            .find(|s| s["name"] == n)
            .unwrap_or_else(|| panic!("no span {n}: {t}"))
    };
    let parent = by_name("checkout");
    let child = by_name("charge card");
    assert_eq!(parent["span_id"], ids["parent_span_id"]);
    assert_eq!(parent["parent_span_id"], Value::Null);
    assert_eq!(child["span_id"], ids["child_span_id"]);
    assert_eq!(child["parent_span_id"], ids["parent_span_id"]);
    assert_eq!(parent["kind"], "server");
    assert_eq!(child["kind"], "client");
    assert_eq!(parent["service"], service.as_str());
    assert_eq!(parent["attributes"]["tag"], tag);
    assert_eq!(parent["attributes"]["retries"], 3);
    assert_eq!(parent["attributes"]["ratio"], 0.5);
    assert_eq!(parent["attributes"]["cached"], true);
    assert_eq!(parent["resource"]["service.version"], "1.0.0");
    assert_eq!(child["status"]["code"], "error");
    assert_eq!(child["status"]["message"], "insufficient funds");
    assert_eq!(child["events"][0]["name"], "card declined");
    assert_eq!(child["events"][0]["attributes"]["attempt"], 2);
    assert!(parent["start_time"].as_str() <= child["start_time"].as_str());
    assert!(parent["duration_ns"].as_i64().unwrap() >= child["duration_ns"].as_i64().unwrap());
    assert_eq!(t["tree"][0]["children"][0]["name"], "charge card");

    // The logs: levels, messages, attributes and the trace context of the span they were in.
    let logs = get(&format!(
        "{}/api/v1/logs?service={service}&contains={tag}&start_time=now-1h&end_time=now%2B1h",
        server.url
    ));
    assert_eq!(logs["total"], 2, "{logs}");
    let error = logs["logs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["level"] == "error")
        .unwrap_or_else(|| panic!("no error log: {logs}"));
    assert_eq!(error["message"], format!("payment {tag} declined"));
    assert_eq!(error["attributes"]["order.id"], 42);
    assert_eq!(error["trace_id"], trace_id);
    assert_eq!(error["span_id"], ids["child_span_id"]);
    assert_eq!(t["logs_total"], 2, "the trace lists its logs");

    // The metrics: a cumulative monotonic sum, a histogram, an up-down counter, a gauge.
    let series = |name: &str| {
        let m = get(&format!(
            "{}/api/v1/metrics?name={name}&label=tag:{tag}&start_time=now-1h&end_time=now%2B1h",
            server.url
        ));
        let s = m["series"].as_array().unwrap();
        assert_eq!(s.len(), 1, "{name}: {m}");
        s[0].clone()
    };
    let requests = series("sdk_test_requests");
    assert_eq!(requests["type"], "counter");
    assert_eq!(requests["labels"]["route"], "/checkout");
    assert_eq!(requests["labels"]["service.name"], service.as_str());
    assert_eq!(requests["points"][0]["value"], 7.0);
    let latency = series("sdk_test_latency");
    assert_eq!(latency["type"], "histogram");
    assert_eq!(latency["points"][0]["count"], 3);
    assert!((latency["points"][0]["sum"].as_f64().unwrap() - 3.3).abs() < 1e-9);
    assert_eq!(latency["points"][0]["min"], 0.1);
    assert_eq!(latency["points"][0]["max"], 3.0);
    let queue = series("sdk_test_queue_depth");
    assert_eq!(queue["points"][0]["value"], 6.0);
    let temperature = series("sdk_test_temperature");
    assert_eq!(temperature["type"], "gauge");
    assert_eq!(temperature["labels"]["room"], "lab");
    assert_eq!(temperature["points"][0]["value"], 21.5);
}

#[test]
#[ignore = "e2e: needs the Python test peers from PyPI (scripts/otel-venv.sh); scripts/test.sh runs it"]
fn python_sdk_over_grpc_and_http_protobuf() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let ids = send("grpc", &server.otlp_grpc, "grpc-run");
    check(&server, "grpc", "grpc-run", &ids);
    let ids = send("http", &format!("http://{}", server.otlp_http), "http-run");
    check(&server, "http", "http-run", &ids);
    // OTLP/HTTP is also served on the main port.
    let ids = send("http", &server.url, "main-port-run");
    check(&server, "http", "main-port-run", &ids);
}

/// With `--auth`, the SDK's exporters carry the key in `OTEL_EXPORTER_OTLP_HEADERS`, over
/// gRPC (metadata) and HTTP (a header); without it every export is refused. The first key is
/// made offline in the data directory, as a new user would.
#[test]
#[ignore = "e2e: needs the Python test peers from PyPI (scripts/otel-venv.sh); scripts/test.sh runs it"]
fn python_sdk_sends_its_api_key_in_the_exporter_headers() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let key = offline_key(&data);
    let server = Server::start_with(&data, &["--auth"]);
    let http = format!("http://{}", server.otlp_http);
    for (transport, endpoint) in [("grpc", server.otlp_grpc.as_str()), ("http", http.as_str())] {
        let refused = send_as(transport, endpoint, "no-key", None).unwrap_err();
        assert!(refused.contains("Exporter"), "{transport}: {refused}");
        let wrong = send_as(
            transport,
            endpoint,
            "bad-key",
            Some("authorization=Bearer%20hsk_x_y"),
        );
        assert!(wrong.is_err(), "{transport}");
    }
    READ_KEY.with(|k| *k.borrow_mut() = Some(key.clone()));
    let headers = format!("authorization=Bearer%20{key}");
    let ids = send_as("grpc", &server.otlp_grpc, "grpc-key", Some(&headers)).unwrap();
    check(&server, "grpc", "grpc-key", &ids);
    let ids = send_as("http", &http, "http-key", Some(&headers)).unwrap();
    check(&server, "http", "http-key", &ids);
}

/// A server with a TLS certificate (`--tls-cert`/`--tls-key`, made with openssl): the SDK's
/// gRPC and HTTP exporters send to `https://` endpoints trusting the certificate authority in
/// `OTEL_EXPORTER_OTLP_CERTIFICATE`, with an API key; without the authority they cannot.
#[test]
#[ignore = "e2e: needs the Python test peers from PyPI (scripts/otel-venv.sh); scripts/test.sh runs it"]
fn python_sdk_exports_over_tls_with_the_servers_ca() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new();
    let data = dir.path().join("data");
    let key = offline_key(&data);
    let server = Server::start_tls(&data, &pki, "server", &["--auth"]);
    let ca = pki.ca().display().to_string();
    let grpc = format!("https://127.0.0.1:{}", port_of(&server.otlp_grpc));
    let http = format!("https://127.0.0.1:{}", port_of(&server.otlp_http));
    let headers = format!("authorization=Bearer%20{key}");
    let trust = [("OTEL_EXPORTER_OTLP_CERTIFICATE", ca.as_str())];
    for endpoint in [&grpc, &http] {
        let transport = if endpoint == &grpc { "grpc" } else { "http" };
        let refused = send_with(
            transport,
            endpoint,
            "untrusted",
            Some(&headers),
            &[("SDK_TEST_TIMEOUT", "2")],
        );
        assert!(
            refused.is_err(),
            "{transport} exported without trusting the CA"
        );
    }
    READ_KEY.with(|k| *k.borrow_mut() = Some(key.clone()));
    let ids = send_with("grpc", &grpc, "grpc-tls", Some(&headers), &trust).unwrap();
    check(&server, "grpc", "grpc-tls", &ids);
    let ids = send_with("http", &http, "http-tls", Some(&headers), &trust).unwrap();
    check(&server, "http", "http-tls", &ids);
}

/// An `ingest,read` key made offline in the data directory `data`.
fn offline_key(data: &std::path::Path) -> String {
    let out = heimsight()
        .args([
            "keys",
            "create",
            "--name",
            "sdk",
            "--scope",
            "ingest,read",
            "-o",
            "json",
        ])
        .arg("--data-dir")
        .arg(data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let made: Value = serde_json::from_slice(&out.stdout).unwrap();
    made["key"].as_str().unwrap().to_string()
}

fn port_of(addr: &str) -> &str {
    addr.rsplit(':').next().unwrap()
}

/// OTLP JSON as the specification's examples write it: hex ids, string int64s, enums as
/// numbers, lowerCamelCase names.
#[test]
fn otlp_json_like_the_spec_examples() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let now = heimsight_core::Timestamp::now().0;
    let traces = format!(
        r#"{{"resourceSpans":[{{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"my.service"}}}}]}},
          "scopeSpans":[{{"scope":{{"name":"my.library","version":"1.0.0","attributes":[{{"key":"my.scope.attribute","value":{{"stringValue":"some scope attribute"}}}}]}},
            "spans":[{{"traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"EEE19B7EC3C1B174","parentSpanId":"EEE19B7EC3C1B173",
              "name":"I'm a server span","startTimeUnixNano":"{start}","endTimeUnixNano":"{end}","kind":2,
              "attributes":[{{"key":"my.span.attr","value":{{"stringValue":"some value"}}}},{{"key":"count","value":{{"intValue":"5893"}}}}]}}]}}]}}]}}"#,
        start = now - 1_000_000_000,
        end = now
    );
    let logs = format!(
        r#"{{"resourceLogs":[{{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"my.service"}}}}]}},
          "scopeLogs":[{{"scope":{{"name":"my.library","version":"1.0.0"}},
            "logRecords":[{{"timeUnixNano":"{now}","observedTimeUnixNano":"{now}","severityNumber":10,"severityText":"Information",
              "traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"EEE19B7EC3C1B174","body":{{"stringValue":"Example log record"}},
              "attributes":[{{"key":"string.attribute","value":{{"stringValue":"some string"}}}},{{"key":"boolean.attribute","value":{{"boolValue":true}}}},
                {{"key":"int.attribute","value":{{"intValue":"10"}}}},{{"key":"double.attribute","value":{{"doubleValue":637.704}}}},
                {{"key":"array.attribute","value":{{"arrayValue":{{"values":[{{"stringValue":"many"}},{{"stringValue":"values"}}]}}}}}},
                {{"key":"map.attribute","value":{{"kvlistValue":{{"values":[{{"key":"some.map.key","value":{{"stringValue":"some value"}}}}]}}}}}}]}}]}}]}}]}}"#
    );
    let metrics = format!(
        r#"{{"resourceMetrics":[{{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"my.service"}}}}]}},
          "scopeMetrics":[{{"scope":{{"name":"my.library","version":"1.0.0"}},"metrics":[
            {{"name":"my.counter","unit":"1","description":"I am a Counter","sum":{{"aggregationTemporality":1,"isMonotonic":true,
              "dataPoints":[{{"asDouble":5,"startTimeUnixNano":"{start}","timeUnixNano":"{now}","attributes":[{{"key":"my.counter.attr","value":{{"stringValue":"some value"}}}}]}}]}}}},
            {{"name":"my.gauge","unit":"1","gauge":{{"dataPoints":[{{"asDouble":10,"timeUnixNano":"{now}"}}]}}}},
            {{"name":"my.histogram","unit":"1","histogram":{{"aggregationTemporality":1,"dataPoints":[{{"startTimeUnixNano":"{start}","timeUnixNano":"{now}",
              "count":2,"sum":2,"bucketCounts":[1,1],"explicitBounds":[1],"min":0,"max":2}}]}}}}]}}]}}]}}"#,
        start = now - 1_000_000_000
    );
    let http = format!("http://{}", server.otlp_http);
    for (path, body) in [
        ("/v1/traces", traces),
        ("/v1/logs", logs),
        ("/v1/metrics", metrics),
    ] {
        let r = client()
            .post(format!("{http}{path}"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .unwrap();
        let status = r.status();
        let ct = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string());
        let text = r.text().unwrap();
        assert_eq!(status, 200, "{path}: {text}");
        assert_eq!(ct.as_deref(), Some("application/json"), "{path}");
        let v: Value = serde_json::from_str(&text).unwrap();
        // Nothing rejected: no partialSuccess, or one whose rejected count is zero.
        let rejected = v
            .get("partialSuccess")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter(|(k, _)| k.starts_with("rejected"))
            .map(|(_, n)| {
                n.as_u64()
                    .or_else(|| n.as_str().and_then(|s| s.parse().ok()))
                    .unwrap_or(u64::MAX)
            })
            .fold(0u64, u64::saturating_add);
        assert_eq!(rejected, 0, "{path}: {text}");
    }
    let client = server.client();
    let get = |url: &str| get(&client, url);
    let t = get(&format!(
        "{}/api/v1/traces/5b8efff798038103d269b633813fc60c",
        server.url
    ));
    let span = &t["spans"][0];
    assert_eq!(span["name"], "I'm a server span");
    assert_eq!(span["parent_span_id"], "eee19b7ec3c1b173");
    assert_eq!(span["attributes"]["count"], 5893);
    assert_eq!(t["logs"][0]["message"], "Example log record");
    let attrs = &t["logs"][0]["attributes"];
    assert_eq!(attrs["int.attribute"], 10);
    assert_eq!(attrs["double.attribute"], 637.704);
    assert_eq!(
        attrs["array.attribute"],
        serde_json::json!(["many", "values"])
    );
    assert_eq!(attrs["map.attribute"]["some.map.key"], "some value");
    assert_eq!(t["logs"][0]["level"], "info");
    let m = get(&format!(
        "{}/api/v1/metrics?name=my.histogram&start_time=now-1h&end_time=now%2B1h",
        server.url
    ));
    assert_eq!(m["series"][0]["points"][0]["count"], 2, "{m}");
    assert_eq!(m["series"][0]["type"], "histogram");
    let m = get(&format!(
        "{}/api/v1/metrics?name=my.counter&start_time=now-1h&end_time=now%2B1h",
        server.url
    ));
    assert_eq!(m["series"][0]["points"][0]["value"], 5.0, "{m}");
    assert_eq!(m["series"][0]["labels"]["my.counter.attr"], "some value");
}
