//! The web UI in a real browser: headless Chromium, driven through ChromeDriver, against a
//! real `heimsight serve` with ingested data. Screenshots of each page are saved to
//! `$HEIMSIGHT_SCREENSHOTS` (default `target/ui-screenshots` under the repository).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use heimsight_core::Timestamp;
use serde_json::{Value, json};

use super::{TRACE, ingest};
use crate::util::*;
use crate::webdriver::{Driver, Session};

fn screenshots() -> PathBuf {
    let dir = std::env::var_os("HEIMSIGHT_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target").join("ui-screenshots"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn post(url: &str, path: &str, body: Value) -> Value {
    let r = client()
        .post(format!("{url}{path}"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .unwrap();
    let status = r.status();
    let v: Value = r.json().unwrap_or(Value::Null);
    assert!(status.is_success(), "{path}: {status} {v}");
    v
}

/// A CPU gauge per host, one point a minute over the last 30 minutes.
fn ingest_cpu(url: &str) {
    let now = Timestamp::now();
    let points: Vec<Value> = (0..30)
        .flat_map(|i| {
            let t = now.saturating_add(-(30 - i) * 60_000_000_000).to_rfc3339();
            [("a", 0.2), ("b", 0.6)].map(|(host, base)| {
                json!({"name": "cpu", "type": "gauge", "labels": {"host": host},
                       "timestamp": t, "value": base + (i as f64 / 100.0)})
            })
        })
        .collect();
    post(url, "/api/v1/metrics", json!(points));
}

/// A loopback HTTP receiver answering 200 to everything: its URL, and each request's first
/// line and body.
fn receiver() -> (String, mpsc::Receiver<(String, String)>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut first = String::new();
            reader.read_line(&mut first).unwrap_or_default();
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                    break;
                }
                if let Some((k, v)) = line.split_once(':')
                    && k.eq_ignore_ascii_case("content-length")
                {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap_or_default();
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            let _ = tx.send((
                first.trim().to_string(),
                String::from_utf8_lossy(&body).into_owned(),
            ));
        }
    });
    (url, rx)
}

fn log_messages(s: &Session<'_>, css: &str) -> Vec<String> {
    s.texts(&format!("{css} details.log summary .message"))
}

#[test]
#[ignore = "e2e: needs Chromium and ChromeDriver (scripts/browser-deps.sh); scripts/test.sh runs it"]
fn web_ui_in_headless_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let url = server.url.clone();
    ingest(&url);
    ingest_cpu(&url);
    let shots = screenshots();
    let driver = Driver::start();
    let s = driver.session(&dir.path().join("profile"), true);

    // Logs: every record, newest first, with level colours and a histogram.
    s.goto(&format!("{url}/ui/logs?range=1h"));
    s.find("details.log");
    assert_eq!(
        log_messages(&s, "#results"),
        ["retrying payment", "payment declined", "order placed"]
    );
    assert!(
        s.text("p.summary").starts_with("3 logs"),
        "{}",
        s.text("p.summary")
    );
    let bars = s.all("figure.histogram rect.bar");
    assert!(!bars.is_empty(), "the histogram has bars");
    s.screenshot(&shots.join("logs.png"));

    // Filter by level, then search words.
    s.select("form.filters select[name=level]", "error");
    s.click(&s.find("form.filters button[type=submit]"));
    s.wait_for(10, "the level filter", |s| {
        log_messages(s, "#results") == ["payment declined"]
    });
    assert!(s.url().contains("level=error"), "{}", s.url());
    s.goto(&format!("{url}/ui/logs?range=1h&q=retrying"));
    assert_eq!(log_messages(&s, "#results"), ["retrying payment"]);
    // A condition of the query language works in the same box.
    s.goto(&format!(
        "{url}/ui/logs?range=1h&q={}",
        "service%20%3D%20%27shop%27"
    ));
    assert_eq!(
        log_messages(&s, "#results"),
        ["payment declined", "order placed"]
    );

    // The detail panel shows the attributes and links to the trace.
    s.goto(&format!("{url}/ui/logs?range=1h&q=declined"));
    s.click(&s.find("#results details.log summary"));
    let link = s.find("#results details.log[open] a.trace-link");
    assert_eq!(s.text_of(&link), TRACE);
    s.goto(&format!("{url}/ui/logs?range=1h&q=retrying"));
    s.click(&s.find("#results details.log summary"));
    assert!(
        s.text("#results details.log[open] .detail")
            .contains("attempt")
    );

    // A click on a histogram bar zooms in: the range becomes that bucket.
    s.goto(&format!("{url}/ui/logs?range=1h"));
    let bar = s.find("figure.histogram svg a");
    let href = s.attr(&bar, "href").unwrap_or_default();
    assert!(href.contains("range=custom"), "{href}");
    s.goto(&format!("{url}/ui/{href}"));
    assert!(s.url().contains("range=custom"));
    assert!(!log_messages(&s, "#results").is_empty());

    // Live tail: a record ingested after the page opened appears; pause holds new ones back.
    s.goto(&format!("{url}/ui/logs?range=15m"));
    s.click(&s.find("#tail-toggle"));
    s.wait_for(10, "the tail to connect", |s| {
        s.text("#tail-status").starts_with("live")
    });
    let now = || Timestamp::now().to_rfc3339();
    post(
        &url,
        "/api/v1/logs",
        json!({"timestamp": now(), "level": "info", "service": "shop", "message": "tailed record one"}),
    );
    s.wait_for(10, "the tailed record", |s| {
        log_messages(s, "#tail-rows") == ["tailed record one"]
    });
    s.click(&s.find("#tail-pause"));
    post(
        &url,
        "/api/v1/logs",
        json!({"timestamp": now(), "level": "error", "service": "shop", "message": "tailed record two"}),
    );
    s.wait_for(10, "the paused tail to count the record", |s| {
        s.text("#tail-status") == "paused · 1 waiting"
    });
    assert_eq!(log_messages(&s, "#tail-rows"), ["tailed record one"]);
    s.click(&s.find("#tail-pause"));
    assert_eq!(
        log_messages(&s, "#tail-rows"),
        ["tailed record two", "tailed record one"]
    );
    // Stop and start again: the tail goes on from the last record, showing none twice.
    s.click(&s.find("#tail-toggle"));
    s.click(&s.find("#tail-toggle"));
    s.wait_for(10, "the tail to reconnect", |s| {
        s.text("#tail-status").starts_with("live")
    });
    post(
        &url,
        "/api/v1/logs",
        json!({"timestamp": now(), "level": "debug", "service": "shop", "message": "tailed record three"}),
    );
    s.wait_for(10, "the third record", |s| {
        log_messages(s, "#tail-rows").len() == 3
    });
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(
        log_messages(&s, "#tail-rows"),
        [
            "tailed record three",
            "tailed record two",
            "tailed record one"
        ]
    );
    s.screenshot(&shots.join("logs-live-tail.png"));

    // Traces: the search lists the trace with a duration bar; its waterfall lists the spans
    // in order, each opening into its details, with the trace's logs below.
    s.goto(&format!("{url}/ui/traces?range=1h"));
    let row = s.find("table.traces a.trace-link");
    assert!(s.text_of(&row).contains("POST /orders"));
    assert_eq!(s.all("table.traces .durbar").len(), 1);
    s.screenshot(&shots.join("traces.png"));
    s.goto(&format!("{url}/ui/traces?range=1h&status=ok"));
    assert!(
        s.all("table.traces a.trace-link").is_empty(),
        "the trace failed"
    );
    s.goto(&format!("{url}/ui/traces?range=1h"));
    s.click(&s.find("table.traces a.trace-link"));
    s.find(".waterfall details.span");
    assert_eq!(
        s.texts(".waterfall details.span .opname"),
        ["POST /orders", "charge"]
    );
    let bars: Vec<String> = s
        .all(".waterfall .wf-bar")
        .iter()
        .filter_map(|b| s.attr(b, "style"))
        .collect();
    assert_eq!(bars.len(), 2);
    assert!(bars[0].contains("left:0.00%"), "{bars:?}");
    let charge = s.all(".waterfall details.span summary")[1].clone();
    s.click(&charge);
    let detail = s.text(".waterfall details.span[open] .detail");
    assert!(detail.contains("declined"), "{detail}");
    assert!(
        s.texts("details.log summary .message")
            .contains(&"payment declined".to_string())
    );
    s.screenshot(&shots.join("trace-waterfall.png"));

    // Metrics: the chart of a metric is an SVG with a line per host and hover points.
    s.goto(&format!("{url}/ui/metrics?range=1h"));
    let names = s.texts("#metric-names li a");
    assert!(names.contains(&"cpu".to_string()), "{names:?}");
    s.click(&s.find("#metric-names li a[href*='name=cpu']"));
    s.find("figure.chart svg");
    assert_eq!(
        s.all("figure.chart svg g.series").len(),
        2,
        "a line per host"
    );
    assert!(s.all("figure.chart svg circle.pt").len() >= 20);
    let legend = s.texts("ul.legend li");
    assert!(
        legend.iter().any(|l| l.contains("host=\"a\"")),
        "{legend:?}"
    );
    s.screenshot(&shots.join("metrics.png"));
    // Filter by label, add to a dashboard, save it and open it again.
    s.type_into(&s.find("form.filters input[name=labels]"), "host=b");
    s.click(&s.find("form.filters button[name=add]"));
    s.find("form input[name=dashboard_name]");
    s.type_into(&s.find("form input[name=dashboard_name]"), "Hosts");
    s.click(&s.find("input[name=dashboard_name] ~ button"));
    s.wait_for(10, "the saved dashboard", |s| {
        s.text("h1").contains("Dashboard: Hosts")
    });
    assert_eq!(s.all("figure.chart svg g.series").len(), 1, "host b only");
    let saved: Value = client()
        .get(format!("{url}/api/v1/dashboards"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(saved["dashboards"][0]["name"], "Hosts", "{saved}");
    assert_eq!(saved["dashboards"][0]["panels"][0]["labels"]["host"], "b");
    // The metric list filters as you type.
    s.goto(&format!("{url}/ui/metrics?range=1h"));
    s.type_into(&s.find("aside.names input[name=search]"), "orders");
    s.wait_for(10, "the filtered metric list", |s| {
        s.texts("#metric-names li a") == ["orders_total"]
    });
    assert!(!s.url().contains("search="), "filtered in place");
    s.click(&s.find("ul.dashboards a"));
    s.wait_for(10, "the reopened dashboard", |s| {
        s.all("figure.chart svg g.series").len() == 1
    });

    // Alerts: the form shows the API's validation problems at their fields, previews, and a
    // created rule appears in the list.
    s.goto(&format!("{url}/ui/alerts/new"));
    s.type_into(&s.find("input[name=interval]"), "-1m");
    s.click(&s.find("button[value=save]"));
    s.wait_for(10, "the validation errors", |s| {
        !s.all(".field-error").is_empty()
    });
    let errors = s.texts(".field-error").join("\n");
    assert!(errors.contains("name"), "{errors}");
    assert!(errors.contains("interval"), "{errors}");
    s.type_into(&s.find("input[name=name]"), "High CPU");
    s.type_into(
        &s.find("textarea[name=query]"),
        "SELECT labels.host AS host, avg(value) FROM metrics WHERE name = 'cpu' GROUP BY host",
    );
    s.type_into(&s.find("input[name=interval]"), "1m");
    s.type_into(&s.find("input[name=threshold]"), "0.5");
    s.type_into(&s.find("input[name=window]"), "1h");
    s.click(&s.find("button[value=preview]"));
    s.wait_for(10, "the preview", |s| s.all("#preview table tr").len() == 3);
    let preview = s.text("#preview");
    assert!(preview.contains("host=b"), "{preview}");
    s.screenshot(&shots.join("alert-form.png"));
    s.click(&s.find("button[value=save]"));
    s.wait_for(10, "the rule in the list", |s| {
        s.all("tr[data-rule='High CPU']").len() == 1
    });
    assert!(s.text(".notice").contains("created"));

    // Edit it: the form comes back filled in, and the change goes through the API.
    s.click(&s.find("tr[data-rule='High CPU'] td a"));
    let name = s.find("input[name=name]");
    assert_eq!(s.attr(&name, "value").as_deref(), Some("High CPU"));
    let threshold = s.find("input[name=threshold]");
    assert_eq!(s.attr(&threshold, "value").as_deref(), Some("0.5"));
    s.type_into(&threshold, "0.95");
    s.click(&s.find("button[value=save]"));
    s.wait_for(10, "the saved rule", |s| {
        s.text(".notice").contains("saved")
    });
    let rules: Value = client()
        .get(format!("{url}/api/v1/alerts/rules"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(rules["rules"][0]["condition"]["threshold"], 0.95, "{rules}");
    assert_eq!(rules["rules"][0]["window"], "1h", "{rules}");

    // A webhook channel to a loopback receiver, and its test button.
    let (hook, received) = receiver();
    s.click(&s.find("details.new-channel summary"));
    s.type_into(&s.find("details.new-channel input[name=name]"), "ops hook");
    s.select("details.new-channel select[name=type]", "webhook");
    s.type_into(
        &s.find("details.new-channel textarea[name=settings]"),
        &format!("url={hook}"),
    );
    s.click(&s.find("details.new-channel button[type=submit]"));
    s.wait_for(10, "the channel in the list", |s| {
        s.text("#channels table").contains("ops hook")
    });
    s.click(&s.find("#channels form[action$='/test'] button"));
    s.wait_for(10, "the test's result", |s| {
        s.text("#channels .result").contains("sent")
    });
    let (request, body) = received.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(request, "POST /hook HTTP/1.1");
    assert!(serde_json::from_str::<Value>(&body).is_ok(), "{body}");

    // A silence made on the page.
    s.type_into(
        &s.find("#silences input[name=matchers]"),
        "alertname=High CPU",
    );
    s.type_into(&s.find("#silences input[name=comment]"), "maintenance");
    s.click(&s.find("#silences button[type=submit]"));
    s.wait_for(10, "the silence", |s| {
        s.text("#silences table").contains("alertname=High CPU")
    });
    s.screenshot(&shots.join("alerts.png"));

    // Query: a table of results; an invalid query shows where the problem is.
    s.goto(&format!(
        "{url}/ui/query?range=1h&q={}",
        "SELECT%20service%2C%20count(*)%20AS%20n%20FROM%20logs%20GROUP%20BY%20service%20ORDER%20BY%20service"
    ));
    let rows = s.texts("table.result tbody tr");
    assert!(rows.iter().any(|r| r.starts_with("payments")), "{rows:?}");
    s.screenshot(&shots.join("query.png"));
    // EXPLAIN: the plan, with what the store does.
    s.goto(&format!(
        "{url}/ui/query?range=1h&q={}",
        "SELECT%20count(*)%20FROM%20logs%20WHERE%20service%20%3D%20%27shop%27"
    ));
    s.click(&s.find("form.query button[name=explain]"));
    s.wait_for(10, "the plan", |s| {
        s.text("main").contains("pushed down: service = 'shop'")
    });
    s.goto(&format!(
        "{url}/ui/query?range=1h&q=SELECT%20levle%20FROM%20logs"
    ));
    let diag = s.text("pre.diagnostic");
    assert_eq!(
        diag.lines().collect::<Vec<_>>(),
        ["SELECT levle FROM logs", "       ^^^^^"],
        "{diag}"
    );
    assert!(s.text(".query-error").contains("did you mean `level`"));
    s.goto(&format!(
        "{url}/ui/query?range=1h&view=chart&q={}",
        "SELECT%20bucket(timestamp%2C%201m)%20AS%20t%2C%20count(*)%20FROM%20logs%20GROUP%20BY%20t"
    ));
    s.find("figure.chart svg circle.pt");

    // Light and dark: the switch flips the theme and remembers it.
    s.goto(&format!("{url}/ui/logs"));
    s.click(&s.find("#theme"));
    let theme = s.script("return document.documentElement.dataset.theme;");
    assert!(theme == "dark" || theme == "light", "{theme}");
    s.goto(&format!("{url}/ui/traces"));
    assert_eq!(
        s.script("return document.documentElement.dataset.theme;"),
        theme
    );
    s.screenshot(&shots.join(format!("traces-{}.png", theme.as_str().unwrap_or("theme"))));
    // A phone: the pages fit the width.
    s.resize(390, 844);
    for page in ["logs", "traces", "metrics?name=cpu", "alerts"] {
        s.goto(&format!("{url}/ui/{page}"));
        let overflow = s.script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
        );
        assert!(
            overflow.as_i64().unwrap_or(1) <= 0,
            "{page} is wider than the phone: {overflow}"
        );
    }
    s.goto(&format!("{url}/ui/logs"));
    s.screenshot(&shots.join("logs-phone.png"));
    drop(s);

    // Without JavaScript, browsing works: pages, filters (forms), details, links.
    let nojs = driver.session(&dir.path().join("profile-nojs"), false);
    nojs.goto(&format!("{url}/ui/logs?range=1h"));
    // The page's scripts did not run: the live tail's button is still disabled.
    assert_eq!(nojs.text("#tail-status"), "Live tail needs JavaScript.");
    assert_eq!(log_messages(&nojs, "#results").len(), 6);
    nojs.select("form.filters select[name=level]", "warn");
    nojs.click(&nojs.find("form.filters button[type=submit]"));
    nojs.wait_for(10, "the filtered page", |s| {
        log_messages(s, "#results") == ["retrying payment"]
    });
    nojs.click(&nojs.find("#results details.log summary"));
    assert!(nojs.text("#results details.log[open]").contains("attempt"));
    nojs.click(&nojs.find("nav.main a[href^='traces']"));
    nojs.click(&nojs.find("table.traces a.trace-link"));
    assert_eq!(nojs.all(".waterfall details.span").len(), 2);
    nojs.goto(&format!("{url}/ui/alerts"));
    assert_eq!(nojs.all("tr[data-rule='High CPU']").len(), 1);
    nojs.screenshot(&shots.join("alerts-no-js.png"));
}

/// The example `ui-under-path` (an app mounting the UI under `/observability`), served in this
/// process: its address; the server stops when the runtime is dropped.
fn serve_ui_example() -> (String, tokio::runtime::Runtime) {
    use std::sync::Arc;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let addr = rt.block_on(async {
        let heimsight = heimsight_server::HeimsightServer::builder()
            .store(Arc::new(heimsight_store::MemoryStore::new()))
            .build()
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = ui_under_path::app(&heimsight);
        tokio::spawn(async move { axum_serve(listener, app).await });
        std::mem::forget(heimsight.spawn_background());
        addr
    });
    (format!("http://{addr}"), rt)
}

async fn axum_serve(listener: tokio::net::TcpListener, app: axum::Router) {
    axum::serve(listener, app).await.unwrap();
}

#[test]
#[ignore = "e2e: needs Chromium and ChromeDriver (scripts/browser-deps.sh); scripts/test.sh runs it"]
fn ui_mounted_under_a_path_of_another_app() {
    let dir = tempfile::tempdir().unwrap();
    let (url, _rt) = serve_ui_example();
    ingest(&url);
    let driver = Driver::start();
    let s = driver.session(&dir.path().join("profile"), true);
    let ui = format!("{url}{}", ui_under_path::UI_PATH);

    // The app's own page links to the UI, which lands on its logs page.
    s.goto(&format!("{url}/"));
    s.click(&s.find("a"));
    s.wait_for(10, "the logs page", |s| {
        s.url().starts_with(&format!("{ui}/logs"))
    });
    s.find("details.log");
    assert_eq!(
        log_messages(&s, "#results"),
        ["retrying payment", "payment declined", "order placed"]
    );
    // The stylesheet and scripts came from under the mount point.
    let styled = s.script(
        "return getComputedStyle(document.querySelector('header.top')).display !== 'inline' \
         && typeof htmx !== 'undefined';",
    );
    assert_eq!(styled, Value::Bool(true), "app.css and htmx loaded");

    // Every navigation link stays under the mount point.
    for (label, path) in [
        ("Traces", "/traces"),
        ("Metrics", "/metrics"),
        ("Alerts", "/alerts"),
        ("Query", "/query"),
        ("Logs", "/logs"),
    ] {
        let link = s
            .all("nav.main a")
            .into_iter()
            .find(|a| s.text_of(a) == label)
            .unwrap_or_else(|| panic!("no {label} link"));
        s.click(&link);
        s.wait_for(10, label, |s| s.url().starts_with(&format!("{ui}{path}")));
    }

    // A form: the level filter submits to the UI under the mount point.
    s.select("form.filters select[name=level]", "error");
    s.click(&s.find("form.filters button[type=submit]"));
    s.wait_for(10, "the level filter", |s| {
        log_messages(s, "#results") == ["payment declined"]
    });
    assert!(s.url().starts_with(&format!("{ui}/logs?")), "{}", s.url());

    // The detail panel's trace link opens the trace under the mount point.
    s.click(&s.find("#results details.log summary"));
    let link = s.find("#results details.log[open] a.trace-link");
    s.click(&link);
    s.wait_for(10, "the trace page", |s| {
        s.url() == format!("{ui}/traces/{TRACE}")
    });

    // The query page runs a query (a GET form) and shows its rows.
    s.goto(&format!("{ui}/query"));
    let area = s.find("textarea[name=q]");
    s.type_into(
        &area,
        "SELECT service, count(*) AS n FROM logs GROUP BY service",
    );
    s.click(&s.find("form.query button[type=submit]"));
    s.wait_for(10, "the query result", |s| {
        s.source().contains("<td>shop</td>")
    });
    assert!(s.url().starts_with(&format!("{ui}/query?")), "{}", s.url());

    // A rule created through the UI's form (a POST with a redirect) ends under the mount point.
    s.goto(&format!("{ui}/alerts/new"));
    s.type_into(&s.find("input[name=name]"), "Logs");
    s.type_into(&s.find("textarea[name=query]"), "SELECT count(*) FROM logs");
    s.type_into(&s.find("input[name=interval]"), "1m");
    s.type_into(&s.find("input[name=threshold]"), "0");
    s.type_into(&s.find("input[name=window]"), "1h");
    s.click(&s.find("button[value=save]"));
    s.wait_for(10, "the rule in the list", |s| {
        s.all("tr[data-rule='Logs']").len() == 1
    });
    assert!(s.url().starts_with(&format!("{ui}/alerts?")), "{}", s.url());
    assert!(s.text(".notice").contains("created"));

    // The live tail connects through the mount point.
    s.goto(&format!("{ui}/logs?range=15m"));
    s.click(&s.find("#tail-toggle"));
    s.wait_for(10, "the tail to connect", |s| {
        s.text("#tail-status").starts_with("live")
    });
    post(
        &url,
        "/api/v1/logs",
        json!({"timestamp": Timestamp::now().to_rfc3339(), "level": "info", "service": "shop",
               "message": "tailed under a path"}),
    );
    s.wait_for(10, "the tailed record", |s| {
        log_messages(s, "#tail-rows") == ["tailed under a path"]
    });
    // An unknown page of the UI is the UI's own 404 page.
    s.goto(&format!("{ui}/no-such-page"));
    assert!(
        s.text("main").contains("There is no page"),
        "{}",
        s.source()
    );
}
