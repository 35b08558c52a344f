//! The client commands against a real `heimsight serve` on loopback: what a user types and
//! reads (tables), what a script gets (JSON, CSV), and how failures read.

use std::io::{BufRead, BufReader, Read};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{TRACE, ingest};
use crate::util::*;

/// Runs `heimsight ARGS --url URL`, returning the output.
fn run(url: &str, args: &[&str]) -> Output {
    heimsight()
        .args(args)
        .args(["--url", url])
        .output()
        .unwrap()
}

/// Runs it and expects success; returns stdout.
fn ok(url: &str, args: &[&str]) -> String {
    let out = run(url, args);
    assert!(
        out.status.success(),
        "heimsight {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs it with `-o json` and parses stdout.
fn json_of(url: &str, args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.extend(["-o", "json"]);
    let text = ok(url, &a);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?}: {e}: {text}"))
}

/// Runs it expecting failure; returns stderr.
fn fails(url: &str, args: &[&str]) -> String {
    let out = run(url, args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "heimsight {args:?} should fail: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn reading_logs_traces_metrics_and_queries() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let url = server.url.as_str();
    ingest(url);

    // Logs: JSON for scripts, lines for people (oldest first), CSV with a header.
    let v = json_of(url, &["logs", "--level", "error,warn"]);
    let msgs: Vec<&str> = v["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["message"].as_str().unwrap())
        .collect();
    assert_eq!(msgs, ["retrying payment", "payment declined"]);
    let text = ok(url, &["logs", "-o", "table", "--service", "shop"]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].contains("INFO  shop order placed"), "{text}");
    assert!(
        lines[1].contains("ERROR shop payment declined") && lines[1].contains(TRACE),
        "{text}"
    );
    assert!(
        !text.contains('\x1b'),
        "no colours when stdout is not a terminal: {text:?}"
    );
    let csv = ok(
        url,
        &[
            "logs",
            "-o",
            "csv",
            "--search",
            "payment",
            "--attr",
            "attempt=2",
        ],
    );
    assert_eq!(
        csv.lines().next().unwrap(),
        "timestamp,level,service,message,trace_id,attributes"
    );
    assert!(
        csv.lines()
            .nth(1)
            .unwrap()
            .contains(",warn,payments,retrying payment,,attempt=2"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 2);

    // Query: a table, JSON, CSV; an invalid query shows where.
    let q = "SELECT service, count(*) AS n FROM logs GROUP BY service ORDER BY n DESC";
    let v = json_of(url, &["query", q]);
    assert_eq!(v["rows"], json!([["shop", 2], ["payments", 1]]));
    let text = ok(url, &["query", q, "-o", "table"]);
    assert_eq!(
        text.lines().collect::<Vec<_>>(),
        ["SERVICE   N", "shop      2", "payments  1"]
    );
    assert_eq!(
        ok(url, &["query", q, "-o", "csv"]),
        "service,n\nshop,2\npayments,1\n"
    );
    let err = fails(url, &["query", "SELECT levle FROM logs"]);
    assert!(
        err.starts_with("error: invalid query: line 1, column 8: unknown column `levle`"),
        "{err}"
    );
    assert!(err.contains("did you mean `level`?"), "{err}");
    assert!(
        err.contains("  SELECT levle FROM logs\n         ^^^^^"),
        "{err}"
    );

    // Traces: the list, and one trace as a tree.
    let v = json_of(url, &["traces", "--service", "payments"]);
    assert_eq!(v["traces"][0]["trace_id"], TRACE);
    let text = ok(url, &["traces", "-o", "table"]);
    assert!(
        text.contains(TRACE)
            && text.contains("shop: POST /orders")
            && text.contains("1.00s")
            && text.contains("error"),
        "{text}"
    );
    let text = ok(url, &["trace", TRACE, "-o", "table"]);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with(&format!("trace {TRACE}  2 spans, 1.00s")),
        "{text}"
    );
    assert!(
        lines[2].starts_with("POST /orders")
            && lines[2].contains("shop")
            && lines[2].contains("1.00s"),
        "{text}"
    );
    assert!(
        lines[3].starts_with("└─ charge !")
            && lines[3].contains("payments")
            && lines[3].contains("800.0ms")
            && lines[3].contains("+100.0ms"),
        "{text}"
    );
    assert!(text.contains("1 logs of this trace"), "{text}");
    let text = ok(url, &["trace", TRACE, "-o", "table", "--logs"]);
    assert!(text.contains("payment declined"), "{text}");
    let err = fails(url, &["trace", "0123456789abcdef0123456789abcdef"]);
    assert_eq!(
        err.trim(),
        "error: the server answered 404: no trace with id 0123456789abcdef0123456789abcdef"
    );

    // Metrics: names, then a series with a sparkline; matchers the server does not take are
    // applied by the CLI.
    assert_eq!(json_of(url, &["metrics"])["names"], json!(["orders_total"]));
    let text = ok(
        url,
        &[
            "metrics",
            "orders_total",
            "-o",
            "table",
            "--label",
            "shop=~e.",
        ],
    );
    let row = text.lines().nth(1).unwrap();
    assert!(
        row.starts_with("orders_total  shop=eu  2") && row.contains('▁') && row.contains('█'),
        "{text}"
    );
    let v = json_of(url, &["metrics", "orders_total", "--label", "shop!=eu"]);
    assert_eq!(v["series"], json!([]));
    let v = json_of(
        url,
        &["metrics", "orders_total", "--agg", "sum", "--step", "1h"],
    );
    assert_eq!(v["series"][0]["points"][0]["value"], 3.0);

    // Status: version, uptime, ingest counters and storage.
    let v = json_of(url, &["status"]);
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(v["ingest"]["logs"]["total"], 3);
    assert_eq!(v["ingest"]["spans"]["total"], 2);
    assert_eq!(v["ingest"]["metrics"]["total"], 2);
    assert!(v["ingest"]["logs"]["per_second"].as_f64().unwrap() > 0.0);
    assert_eq!(v["alerts"], json!({"firing": 0, "pending": 0}));
    // Memory: the process's and the RocksDB store's parts.
    assert!(v["memory"]["rss_bytes"].as_u64().unwrap() > 1 << 20, "{v}");
    for part in [
        "block_cache",
        "memtables",
        "table_readers",
        "log_block_summaries",
        "log_bloom_cache",
        "metric_heads",
    ] {
        assert!(v["memory"]["store"][part].is_u64(), "{part}: {v}");
    }
    // The binary reports its allocator: jemalloc (Rust) holds at least what it has allocated.
    let p = &v["memory"]["process"];
    let allocated = p["jemalloc_allocated"].as_u64().unwrap();
    let resident = p["jemalloc_resident"].as_u64().unwrap();
    assert!(allocated > 0 && resident >= allocated, "{v}");
    assert!(
        v["memory"]["store"]["memtables"].as_u64().unwrap() > 0,
        "{v}"
    );
    assert_eq!(v["retention"]["logs"], "7d");
    let text = ok(url, &["status", "-o", "table"]);
    assert!(
        text.starts_with(&format!(
            "Heimsight {} at {url}, up ",
            env!("CARGO_PKG_VERSION")
        )),
        "{text}"
    );
    assert!(text.contains("alerts: 0 firing, 0 pending"), "{text}");
    assert!(text.contains(" resident (store: block_cache "), "{text}");

    // Retention.
    assert_eq!(
        json_of(url, &["retention", "set", "--logs", "3d"])["logs"],
        "3d"
    );
    assert_eq!(json_of(url, &["retention", "get"])["logs"], "3d");
    let err = fails(url, &["retention", "set", "--logs", "forever"]);
    assert!(err.starts_with("error: the server answered 400: invalid retention settings: logs: invalid duration \"forever\""), "{err}");
}

#[test]
fn alerts_channels_and_silences() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let url = server.url.as_str();

    let v = json_of(
        url,
        &[
            "channels",
            "create",
            "--name",
            "ops",
            "--type",
            "webhook",
            "--set",
            "url=http://127.0.0.1:9/hook",
            "--set",
            "secret=s3cret-value",
        ],
    );
    assert_eq!(v["name"], "ops");
    let list = ok(url, &["channels", "list", "-o", "table"]);
    assert!(list.contains("ops") && list.contains("webhook"), "{list}");
    assert!(!list.contains("s3cret-value"));
    let err = fails(
        url,
        &["channels", "create", "--name", "bad", "--type", "pager"],
    );
    assert!(
        err.starts_with("error: the server answered 400: invalid channel"),
        "{err}"
    );
    // Nobody listens on port 9: the test fails with the reason.
    let err = fails(url, &["channels", "test", "ops"]);
    assert!(err.contains("502") && err.contains("127.0.0.1:9"), "{err}");

    let rule = dir.path().join("rule.yaml");
    std::fs::write(
        &rule,
        "name: High CPU\nkind: threshold\nquery: avg(value) FROM metrics WHERE name = 'cpu'\n\
         condition: {op: '>', threshold: 0.9}\nwindow: 5m\ninterval: 1s\nseverity: critical\n\
         channels: [ops]\nannotations:\n  summary: 'CPU at {{ $value }}'\n",
    )
    .unwrap();
    let v = json_of(url, &["alerts", "create", "-f", rule.to_str().unwrap()]);
    let id = v["id"].as_str().unwrap().to_string();
    assert_eq!(v["state"], "inactive");
    // From flags.
    let v = json_of(
        url,
        &[
            "alerts",
            "create",
            "--name",
            "Errors",
            "--kind",
            "log_pattern",
            "--filter",
            "level = 'error'",
            "--op",
            ">",
            "--threshold",
            "0",
            "--interval",
            "1s",
            "--for",
            "0s",
        ],
    );
    assert_eq!(v["kind"], "log_pattern");
    let err = fails(
        url,
        &[
            "alerts",
            "create",
            "--name",
            "x",
            "--kind",
            "threshold",
            "--query",
            "SELECT levle FROM logs",
            "--window=-5m",
        ],
    );
    assert!(
        err.contains("problems:") || err.contains("invalid rule"),
        "{err}"
    );
    assert!(err.contains("query") && err.contains("window"), "{err}");

    // An error log: the log pattern rule fires within a few evaluations.
    let client = client();
    let r = client
        .post(format!("{url}/api/v1/logs"))
        .header("content-type", "application/json")
        .body(json!({"level": "error", "message": "boom", "service": "api"}).to_string())
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let v = json_of(url, &["alerts", "list"]);
        let errors = v["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == "Errors")
            .unwrap()
            .clone();
        if errors["state"] == "firing" {
            assert!(errors["since"].is_string(), "{errors}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the Errors rule did not fire: {v}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let text = ok(url, &["alerts", "list", "-o", "table"]);
    let errors_row = text.lines().find(|l| l.contains("Errors")).unwrap();
    let cells: Vec<&str> = errors_row.split_whitespace().collect();
    assert_eq!(cells[1..4], ["Errors", "log_pattern", "firing"], "{text}");
    assert!(
        cells[4].starts_with("20") && cells[4].ends_with('Z'),
        "{text}"
    );
    let cpu_row = text.lines().find(|l| l.contains("High CPU")).unwrap();
    assert!(
        cpu_row.contains("inactive") && cpu_row.contains("critical") && cpu_row.contains("ops"),
        "{text}"
    );
    let active = ok(url, &["alerts", "active", "-o", "table"]);
    assert!(
        active.contains("Errors") && active.contains("firing"),
        "{active}"
    );

    // Get and update by name or id.
    let v = json_of(url, &["alerts", "get", "High CPU"]);
    assert_eq!(v["id"], id.as_str());
    assert!(v["compiled_query"].as_str().unwrap().contains("cpu"));
    let v = json_of(
        url,
        &[
            "alerts",
            "update",
            &id,
            "--threshold",
            "0.5",
            "--label",
            "team=infra",
        ],
    );
    assert_eq!(v["condition"], json!({"op": ">", "threshold": 0.5}));
    assert_eq!(v["labels"], json!({"team": "infra"}));
    assert_eq!(v["annotations"]["summary"], "CPU at {{ $value }}");

    // Silences.
    let v = json_of(
        url,
        &[
            "alerts",
            "silence",
            "-m",
            "service=api",
            "-d",
            "2h",
            "-c",
            "deploying",
            "--created-by",
            "alice",
        ],
    );
    let sid = v["id"].as_str().unwrap().to_string();
    let text = ok(url, &["alerts", "silences", "-o", "table"]);
    assert!(
        text.contains(&sid)
            && text.contains("service=api")
            && text.contains("alice")
            && text.contains("deploying"),
        "{text}"
    );
    ok(url, &["alerts", "unsilence", &sid]);
    let v = json_of(url, &["alerts", "silences"]);
    assert!(
        v["silences"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["id"] != sid.as_str() || s["status"] == "expired"),
        "{v}"
    );
    let v = json_of(url, &["alerts", "history", "--rule", "Errors"]);
    assert!(
        v["history"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["kind"] == "state" && h["to"] == "firing"),
        "{v}"
    );

    // Delete.
    assert_eq!(
        ok(url, &["alerts", "delete", "High CPU", "-o", "table"]).trim(),
        "deleted rule High CPU"
    );
    let err = fails(url, &["alerts", "get", "High CPU"]);
    assert!(
        err.contains("no rule with id or name \"High CPU\""),
        "{err}"
    );
    ok(url, &["alerts", "delete", "Errors"]);
    assert_eq!(json_of(url, &["alerts", "list"])["rules"], json!([]));
    ok(url, &["channels", "delete", "ops"]);
    assert_eq!(json_of(url, &["channels", "list"])["channels"], json!([]));
}

#[test]
fn logs_follow_prints_records_that_arrive_later() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let client = client();
    let post = |msg: &str| {
        let r = client
            .post(format!("{}/api/v1/logs", server.url))
            .header("content-type", "application/json")
            .body(json!({"level": "info", "message": msg, "service": "tail"}).to_string())
            .send()
            .unwrap();
        assert_eq!(r.status(), 201);
    };
    post("before the tail");
    let mut child = heimsight()
        .args([
            "logs",
            "--follow",
            "--poll",
            "100ms",
            "-o",
            "json",
            "--url",
            &server.url,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let next = || -> Value {
        let line = rx
            .recv_timeout(Duration::from_secs(15))
            .expect("a line from --follow");
        serde_json::from_str(&line).unwrap()
    };
    assert_eq!(next()["message"], "before the tail");
    std::thread::sleep(Duration::from_millis(300));
    post("after the tail started");
    post("and one more");
    assert_eq!(next()["message"], "after the tail started");
    assert_eq!(next()["message"], "and one more");
    // Nothing is printed twice.
    assert!(rx.recv_timeout(Duration::from_millis(700)).is_err());
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn failures_read_as_one_line_and_a_closed_pipe_is_fine() {
    let closed = format!("http://127.0.0.1:{}", free_port());
    let err = fails(&closed, &["logs"]);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!("error: cannot reach Heimsight at {closed}")),
        "{err}"
    );
    assert!(err.contains("heimsight serve"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let err = fails(&server.url, &["logs", "--level", "loud"]);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: the server answered 400: ") && err.contains("unknown level"),
        "{err}"
    );

    // Many lines into a pipe closed after the first: exit 0, nothing on stderr.
    let body: Vec<Value> = (0..3000)
        .map(|i| json!({"level": "info", "message": format!("line {i}"), "service": "pipe"}))
        .collect();
    let r = client()
        .post(format!("{}/api/v1/logs", server.url))
        .header("content-type", "application/json")
        .body(Value::Array(body).to_string())
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let mut child = heimsight()
        .args(["logs", "-n", "3000", "-o", "table", "--url", &server.url])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    drop(child.stdout.take());
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(status.success(), "{status}: {stderr}");
    assert!(!stderr.contains("error"), "{stderr}");
}

#[test]
fn named_servers_completions_and_man_pages() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("cli.toml");
    std::fs::write(
        &conf,
        "default = \"local\"\n[servers.local]\nurl = \"http://127.0.0.1:18080/\"\n\
         [servers.prod]\nurl = \"https://heimsight.example.com\"\napi_key = \"abcdef123456\"\n",
    )
    .unwrap();
    let show = |args: &[&str]| -> Value {
        let out = heimsight()
            .args([
                "config",
                "show",
                "-o",
                "json",
                "--client-config",
                conf.to_str().unwrap(),
            ])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let v = show(&[]);
    assert_eq!(v["url"], "http://127.0.0.1:18080");
    assert_eq!(v["source"], "default server local");
    let v = show(&["--server", "prod"]);
    assert_eq!(v["url"], "https://heimsight.example.com");
    assert_eq!(v["api_key"], "••••3456");
    let v = show(&["--url", "http://10.0.0.1:8080"]);
    assert_eq!(v["source"], "--url");
    let out = heimsight()
        .args([
            "status",
            "--server",
            "staging",
            "--client-config",
            conf.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("no server named \"staging\"") && err.contains("known: local, prod"),
        "{err}"
    );

    let out = heimsight().args(["completions", "bash"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success() && text.contains("_heimsight()") && text.contains("alerts"),
        "{text}"
    );
    let out = heimsight().args(["man"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(".TH heimsight") && text.contains("logs"),
        "{text}"
    );
    let mandir = dir.path().join("man");
    assert!(
        heimsight()
            .arg("man")
            .arg(&mandir)
            .status()
            .unwrap()
            .success()
    );
    assert!(mandir.join("heimsight-logs.1").exists());
    assert!(mandir.join("heimsight-alerts-create.1").exists());
}

/// `heimsight tui` in a real pseudo-terminal (`pty_drive.py`: Python's pty module and the
/// pyte terminal emulator) against a real server: keys typed, screens read as a user sees them.
#[test]
#[ignore = "e2e: needs the Python test peers from PyPI (scripts/otel-venv.sh); scripts/test.sh runs it"]
fn tui_shows_live_data_in_a_real_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let url = server.url.clone();
    ingest(&url);
    let driver = manifest_dir().join("tests/pty_drive.py");
    let steps = [
        "sleep:5",
        "screen:logs",
        // Query tab: replace the query and run it.
        "key:2",
        "key:e",
        "key:\\x15",
        "key:SELECT service, count(*) AS n FROM logs GROUP BY service ORDER BY n DESC",
        "key:\\r",
        "sleep:2",
        "screen:query",
        "key:e",
        "key:\\x15",
        "key:SELECT levle FROM logs",
        "key:\\r",
        "sleep:2",
        "screen:query-error",
        // Traces tab: open the newest trace.
        "key:3",
        "sleep:0.3",
        "key:\\r",
        "sleep:2",
        "screen:trace",
        // Metrics tab: chart the first metric.
        "key:4",
        "key:\\r",
        "sleep:2",
        "screen:metrics",
        "key:5",
        "sleep:1",
        "screen:alerts",
        "key:?",
        "sleep:0.3",
        "screen:help",
        "key:x",
        "key:1",
        "resize:60x20",
        "sleep:1",
        "screen:small",
        "key:q",
    ];
    let child = std::process::Command::new(python())
        .arg(&driver)
        .args(["100", "30"])
        .args(steps)
        .arg("--")
        .arg(BIN)
        .args(["tui", "--url", &url])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the pty driver starts");
    // A record that arrives while the TUI is open shows up in the live tail.
    std::thread::sleep(Duration::from_millis(1500));
    let r = client()
        .post(format!("{url}/api/v1/logs"))
        .header("content-type", "application/json")
        .body(
            json!({"level": "warn", "message": "arrived while watching", "service": "live"})
                .to_string(),
        )
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let screen = |name: &str| -> Vec<String> {
        let start = text
            .find(&format!("=== {name}\n"))
            .unwrap_or_else(|| panic!("no screen {name}: {text}"));
        text[start..]
            .lines()
            .skip(1)
            .take_while(|l| !l.starts_with("=== "))
            .map(str::to_string)
            .collect()
    };
    let find = |s: &[String], needle: &str| -> String {
        s.iter()
            .find(|l| l.contains(needle))
            .cloned()
            .unwrap_or_else(|| panic!("{needle:?} not on screen:\n{}", s.join("\n")))
    };

    let s = screen("logs");
    assert!(
        s[0].starts_with(" 1 Logs | 2 Query | 3 Traces | 4 Metrics | 5 Alerts")
            && s[0].ends_with(&url),
        "{s:#?}"
    );
    assert!(s[1].starts_with(" LIVE  filter:"), "{s:#?}");
    assert!(find(&s, "order placed").contains("INFO  shop order placed"));
    assert!(find(&s, "payment declined").contains("ERROR shop payment declined"));
    assert!(find(&s, "arrived while watching").contains("WARN  live arrived while watching"));

    let s = screen("query");
    assert_eq!(
        s[1],
        "query> SELECT service, count(*) AS n FROM logs GROUP BY service ORDER BY n DESC"
    );
    assert!(s[3].split_whitespace().eq(["service", "n"]), "{s:#?}");
    assert!(
        find(&s, "shop").split_whitespace().eq(["shop", "2"]),
        "{s:#?}"
    );
    assert!(
        find(&s, "3 rows, 4 scanned").starts_with("3 rows"),
        "{s:#?}"
    );

    let s = screen("query-error");
    assert_eq!(s[1], "query> SELECT levle FROM logs");
    assert!(
        s[2].starts_with("              ^^^^^ the server answered 400: invalid query"),
        "{s:#?}"
    );

    let s = screen("trace");
    assert!(
        s[1].starts_with(&format!("trace {TRACE}  2 spans, 1.00s, 1 logs")),
        "{s:#?}"
    );
    assert!(find(&s, "POST /orders").contains("1.00s"), "{s:#?}");
    assert!(find(&s, "  charge").contains("800.0ms"), "{s:#?}");

    let s = screen("metrics");
    find(&s, "orders_total · last 1h (r)");
    find(&s, "shop=eu");

    let s = screen("alerts");
    find(
        &s,
        "rules (s silences the selected rule for 1h, r refreshes)",
    );
    find(&s, "active alerts (0)");

    find(&screen("help"), "keys (any key closes)");

    let s = screen("small");
    assert_eq!(s.len(), 20);
    assert!(s[0].starts_with(" 1 Logs | 2 Query"), "{s:#?}");
    assert!(find(&s, "arrived while watching").len() <= 60);

    assert!(
        text.contains("=== EXIT 0"),
        "the TUI did not exit cleanly on q: {text}"
    );
    assert!(
        text.contains("=== RESTORED true"),
        "the terminal was not restored: {text}"
    );
}

/// What OTLP lets a sender leave out, the server stores and the client shows as it is: a log
/// without a body or severity, a span event without a name.
#[test]
fn otlp_records_without_body_or_names_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let url = server.url.as_str();
    let now = heimsight_core::Timestamp::now().0;
    let resource =
        json!({"attributes": [{"key": "service.name", "value": {"stringValue": "edge"}}]});
    let client = client();
    let logs = json!({"resourceLogs": [{"resource": resource, "scopeLogs": [{"logRecords": [
        {"timeUnixNano": (now - 1_000_000).to_string(),
         "attributes": [{"key": "k", "value": {"stringValue": "v"}}]}]}]}]});
    let trace_id = "0af7651916cd43dd8448eb211c80319c";
    let spans = json!({"resourceSpans": [{"resource": resource, "scopeSpans": [{"spans": [
        {"traceId": trace_id, "spanId": "b7ad6b7169203331", "name": "GET /",
         "startTimeUnixNano": (now - 2_000_000).to_string(),
         "endTimeUnixNano": (now - 1_000_000).to_string(),
         "events": [{"timeUnixNano": (now - 1_500_000).to_string()}]}]}]}]});
    for (path, body) in [("/v1/logs", logs), ("/v1/traces", spans)] {
        let r = client
            .post(format!("{url}{path}"))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.text().unwrap());
    }
    let v = json_of(url, &["logs", "--service", "edge"]);
    let log = &v["logs"][0];
    assert_eq!(log["message"], "", "{v}");
    assert_eq!(log["attributes"]["k"], "v", "{v}");
    assert!(log.get("severity_text").is_none(), "nothing invented: {v}");
    let text = ok(url, &["logs", "--service", "edge", "-o", "table"]);
    assert_eq!(text.lines().count(), 1, "{text}");
    let v = json_of(url, &["trace", trace_id]);
    assert!(
        v.to_string().contains(r#""name":"""#),
        "the unnamed event: {v}"
    );
    let text = ok(url, &["trace", trace_id, "-o", "table"]);
    assert!(
        text.starts_with(&format!("trace {trace_id}  1 spans")),
        "{text}"
    );
}

/// `heimsight keys`: the first key made offline in a stopped server's data directory, then
/// `serve --auth`: commands need `--api-key` with the right scope, keys are listed without
/// their secrets and revoked at once.
#[test]
fn keys_made_offline_then_used_listed_and_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_arg = data.to_str().unwrap();
    let made = json_of(
        "http://127.0.0.1:9",
        &[
            "keys",
            "create",
            "--name",
            "first",
            "--scope",
            "admin",
            "--data-dir",
            data_arg,
        ],
    );
    let admin = made["key"].as_str().unwrap().to_string();
    assert_eq!(made["scopes"], json!(["admin"]));
    let listed = json_of(
        "http://127.0.0.1:9",
        &["keys", "list", "--data-dir", data_arg],
    );
    assert_eq!(listed["keys"][0]["name"], "first");
    assert!(!listed.to_string().contains(&admin[20..]));

    let server = Server::start_with(&data, &["--auth"]);
    let url = server.url.as_str();
    let err = fails(url, &["status"]);
    assert!(err.contains("API key"), "{err}");
    // Made through the API with the admin key; the table says it is shown once.
    let text = ok(
        url,
        &[
            "keys",
            "create",
            "--name",
            "collector",
            "--scope",
            "ingest",
            "--api-key",
            &admin,
            "-o",
            "table",
        ],
    );
    assert!(text.contains("not shown again"), "{text}");
    // The key is a line of its own.
    let ingest = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("hsk_"))
        .unwrap()
        .to_string();
    let err = fails(url, &["status", "--api-key", &ingest]);
    assert!(err.contains("`read` scope"), "{err}");
    let table = ok(url, &["keys", "list", "--api-key", &admin, "-o", "table"]);
    assert!(
        table.contains("collector") && table.contains("first"),
        "{table}"
    );
    assert!(!table.contains(&ingest[20..]), "{table}");
    let id = json_of(url, &["keys", "list", "--api-key", &admin])["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "collector")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    ok(url, &["status", "--api-key", &admin]);
    ok(url, &["keys", "revoke", &id, "--api-key", &admin]);
    let err = fails(url, &["logs", "--api-key", &ingest]);
    assert!(err.contains("revoked"), "{err}");
}

/// A real Prometheus (Debian's, fetched by `scripts/prometheus-deps.sh`) scrapes
/// `heimsight serve`'s `/metrics` on loopback, and PromQL on it sees the ingest counter grow.
#[test]
#[ignore = "e2e: needs Debian's Prometheus (scripts/prometheus-deps.sh); scripts/test.sh runs it"]
fn prometheus_scrapes_the_server_and_sees_ingestion_grow() {
    let prometheus = std::env::var_os("HEIMSIGHT_PROMETHEUS_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(std::env::var_os("HOME").unwrap())
                .join(".cache/heimsight-prometheus")
        })
        .join("usr/bin/prometheus");
    assert!(
        prometheus.exists(),
        "{} is missing: run scripts/prometheus-deps.sh",
        prometheus.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let target = server.url.trim_start_matches("http://").to_string();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global: {{scrape_interval: 1s, evaluation_interval: 1s}}\n\
             scrape_configs:\n  - job_name: heimsight\n    static_configs: [{{targets: [\"{target}\"]}}]\n\
             remote_write:\n  - url: {url}/prometheus/api/v1/write\n\
             \x20   queue_config: {{batch_send_deadline: 1s}}\n\
             \x20   metadata_config: {{send_interval: 1s}}\n",
            url = server.url
        ),
    )
    .unwrap();
    let port = free_port();
    let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
    let mut child = std::process::Command::new(&prometheus)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("tsdb").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    struct Kill<'a>(&'a mut std::process::Child);
    impl Drop for Kill<'_> {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _guard = Kill(&mut child);
    let query = |q: &str| -> Option<f64> {
        let encoded: String = q
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect();
        let r = client()
            .get(format!(
                "http://127.0.0.1:{port}/api/v1/query?query={encoded}"
            ))
            .send()
            .ok()?;
        let v: Value = r.json().ok()?;
        v["data"]["result"][0]["value"][1].as_str()?.parse().ok()
    };
    let wait_for = |q: &str, what: &dyn Fn(f64) -> bool| -> f64 {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(v) = query(q)
                && what(v)
            {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "Prometheus never answered {q} as expected; its log:\n{}",
                std::fs::read_to_string(dir.path().join("prometheus.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    };
    // Up, and scraping.
    wait_for("up{job=\"heimsight\"}", &|v| v == 1.0);
    let ingested = "sum(heimsight_ingested_records_total{signal=\"logs\"})";
    let post = |n: usize| {
        let body: Vec<Value> = (0..n)
            .map(|i| json!({"message": format!("scrape me {i}"), "service": "prom-test"}))
            .collect();
        let r = client()
            .post(format!("{}/api/v1/logs", server.url))
            .json(&body)
            .send()
            .unwrap();
        assert_eq!(r.status(), 201);
    };
    post(5);
    let first = wait_for(ingested, &|v| v >= 5.0);
    post(7);
    let second = wait_for(ingested, &|v| v >= first + 7.0);
    assert_eq!(second, 12.0);
    // A histogram quantile of the server's request latencies is computable.
    wait_for(
        "histogram_quantile(0.99, sum by (le) (rate(heimsight_http_request_duration_seconds_bucket[1m])))",
        &|v| v.is_finite() && v > 0.0,
    );

    // Prometheus forwards what it scraped to Heimsight over remote write: the same series,
    // with the job and instance Prometheus gave them, reach the same value there.
    let latest = |name: &str, labels: &[(&str, &str)]| -> Option<(Value, f64)> {
        let mut url = format!("{}/api/v1/metrics?name={name}", server.url);
        for (k, v) in labels {
            url.push_str(&format!("&label={k}:{v}"));
        }
        let v: Value = client().get(url).send().ok()?.json().ok()?;
        let series = &v["series"][0];
        let value = series["points"].as_array()?.last()?["value"].as_f64()?;
        Some((series["labels"].clone(), value))
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let (labels, _) = loop {
        match latest(
            "heimsight_ingested_records_total",
            &[("signal", "logs"), ("protocol", "json")],
        ) {
            Some((labels, v)) if v == 12.0 => break (labels, v),
            other => assert!(
                Instant::now() < deadline,
                "remote write never brought the ingest counter to 12 (last: {other:?}); \
                 Prometheus's log:\n{}",
                std::fs::read_to_string(dir.path().join("prometheus.log")).unwrap_or_default()
            ),
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    assert_eq!(labels["job"], "heimsight", "{labels}");
    assert_eq!(labels["instance"], target.as_str(), "{labels}");
    let (_, up) = latest("up", &[("job", "heimsight")]).expect("the up series, remote written");
    assert_eq!(up, 1.0);
    // And Prometheus saw its remote write answered without failures.
    let failed = query("sum(prometheus_remote_storage_samples_failed_total)").unwrap_or(0.0);
    assert_eq!(failed, 0.0);
}

/// The subject of the certificate `addr` presents (for `localhost`), read with `openssl`.
fn served_subject(addr: &str) -> String {
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "openssl s_client -connect {addr} -servername localhost </dev/null 2>/dev/null \
             | openssl x509 -noout -subject"
        ))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `serve --tls-cert --tls-key`: the CLI talks to `https://` with the server's certificate
/// authority (`--ca-cert`, `HEIMSIGHT_CA_CERT` or `ca_cert` of a named server), refuses it
/// without and says what to do, and `SIGHUP` reloads a renewed certificate without a restart.
#[test]
fn a_tls_server_is_used_over_https_with_its_ca_and_reloads_on_sighup() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new();
    let mut server = Server::start_tls(&dir.path().join("data"), &pki, "first", &[]);
    let url = server.url.clone();
    assert!(url.starts_with("https://localhost:"), "{url}");
    let ca = pki.ca().display().to_string();
    let status = json_of(&url, &["status", "--ca-cert", &ca]);
    assert_eq!(status["url"], url.as_str(), "{status}");
    let out = heimsight()
        .args(["status", "--url", &url])
        .env("HEIMSIGHT_CA_CERT", &ca)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = fails(&url, &["status"]);
    assert!(
        err.contains("certificate") && err.contains("--ca-cert"),
        "{err}"
    );
    // Plain http:// to the TLS port gets nowhere.
    let plain = url.replace("https://", "http://");
    assert!(!run(&plain, &["status"]).status.success());
    // A named server of the client config with its ca_cert.
    let config = dir.path().join("cli.toml");
    std::fs::write(
        &config,
        format!("default = \"tls\"\n[servers.tls]\nurl = \"{url}\"\nca_cert = \"{ca}\"\n"),
    )
    .unwrap();
    let out = heimsight()
        .args(["status", "-o", "json", "--client-config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A renewed certificate written over the files, then SIGHUP: served without a restart.
    let addr = url.trim_start_matches("https://").to_string();
    assert!(served_subject(&addr).contains("CN = first"));
    let (cert, key) = (pki.file("first.pem"), pki.file("first.key"));
    let (new_cert, new_key) = pki.server("renewed", false);
    std::fs::copy(&new_key, &key).unwrap();
    std::fs::copy(&new_cert, &cert).unwrap();
    server.signal("HUP");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !(server.output().contains("SIGHUP: TLS certificate reloaded")
        && served_subject(&addr).contains("CN = renewed"))
    {
        assert!(
            Instant::now() < deadline,
            "not reloaded on SIGHUP within 10 s:\n{}",
            server.output()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(server.running(), "SIGHUP stopped the server");
    ok(&url, &["status", "--ca-cert", &ca]);

    // Unusable TLS settings stop `serve` before it listens, naming the problem.
    let out = heimsight()
        .args(["serve", "--port", "0", "--tls-cert"])
        .arg(&cert)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("tls.key"), "{err}");
    let out = heimsight()
        .args([
            "serve",
            "--port",
            "0",
            "--otlp-grpc-port",
            "0",
            "--otlp-http-port",
            "0",
        ])
        .arg("--data-dir")
        .arg(dir.path().join("other"))
        .arg("--tls-cert")
        .arg(dir.path().join("nowhere.pem"))
        .arg("--tls-key")
        .arg(&key)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nowhere.pem"), "{err}");
}
