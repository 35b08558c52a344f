//! `heimsight tui`: a terminal explorer of a running server (ratatui + crossterm).
//!
//! The state and its key handling live in [`app`] (no I/O), drawing in [`ui`]; this module
//! runs the loop: keys come from a thread reading the terminal, requests run as tokio tasks,
//! and answers come back over a channel, so the screen never waits on the network.

pub(crate) mod app;
pub(crate) mod ui;

use std::time::{Duration, Instant};

use anyhow::Result;
use crossterm::event::{Event, KeyEventKind};
use heimsight_core::api::QueryRequest;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::client::{Api, ServerError, path_segment};
use app::{App, Request, ResponseError};

/// What the loop waits for.
enum Msg {
    Input(Event),
    Answer(Request, Result<Value, ResponseError>),
}

/// Runs the TUI until the user quits.
pub(crate) async fn run(api: Api) -> Result<()> {
    let mut terminal = ratatui::try_init()?;
    let result = event_loop(&mut terminal, api).await;
    ratatui::try_restore()?;
    result
}

async fn event_loop(terminal: &mut ratatui::DefaultTerminal, api: Api) -> Result<()> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
    let input = tx.clone();
    std::thread::spawn(move || {
        loop {
            match crossterm::event::poll(Duration::from_millis(200)) {
                Ok(true) => match crossterm::event::read() {
                    Ok(ev) => {
                        if input.send(Msg::Input(ev)).is_err() {
                            return;
                        }
                    }
                    Err(_) => return,
                },
                Ok(false) => {
                    if input.is_closed() {
                        return;
                    }
                }
                Err(_) => return,
            }
        }
    });
    let mut app = App::new(api.url(), Instant::now());
    let spawn = |reqs: Vec<Request>| {
        for req in reqs {
            let api = api.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                let answer = fetch(&api, &req).await;
                let _ = tx.send(Msg::Answer(req, answer));
            });
        }
    };
    spawn(app.start());
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        terminal.draw(|f| ui::draw(f, &app))?;
        let reqs = tokio::select! {
            msg = rx.recv() => match msg {
                Some(Msg::Input(Event::Key(k))) if k.kind != KeyEventKind::Release => app.on_key(k),
                Some(Msg::Answer(req, answer)) => {
                    app.on_response(&req, answer);
                    Vec::new()
                }
                // Resizes and other events: the next draw uses the new size.
                Some(Msg::Input(_)) => Vec::new(),
                None => break,
            },
            _ = tick.tick() => app.on_tick(Instant::now()),
        };
        if app.quit {
            break;
        }
        spawn(reqs);
    }
    Ok(())
}

/// Runs one request against the server.
async fn fetch(api: &Api, req: &Request) -> Result<Value, ResponseError> {
    let r = match req {
        Request::Logs(q) => api.get("/api/v1/logs", q).await,
        Request::Query(text) => {
            api.post("/api/v1/query", &json!(QueryRequest::new(text.as_str())))
                .await
        }
        Request::Traces(q) => api.get("/api/v1/traces", q).await,
        Request::Trace(id) => {
            api.get(&format!("/api/v1/traces/{}", path_segment(id)), &[])
                .await
        }
        Request::MetricNames => api.get("/api/v1/metrics/names", &[]).await,
        Request::Metric { name, range } => {
            api.get(
                "/api/v1/metrics",
                &[
                    ("name", name.clone()),
                    ("start_time", format!("now-{range}")),
                ],
            )
            .await
        }
        Request::Alerts => match tokio::try_join!(
            api.get("/api/v1/alerts/rules", &[]),
            api.get("/api/v1/alerts", &[])
        ) {
            Ok((rules, alerts)) => Ok(json!({"rules": rules["rules"], "alerts": alerts["alerts"]})),
            Err(e) => Err(e),
        },
        Request::Silence { rule_id, rule_name } => {
            api.post(
                "/api/v1/silences",
                &json!({
                    "matchers": [{"name": "rule_id", "value": rule_id}],
                    "duration": "1h",
                    "created_by": std::env::var("USER").unwrap_or_else(|_| "heimsight-tui".into()),
                    "comment": format!("silenced from heimsight tui: {rule_name}"),
                }),
            )
            .await
        }
    };
    r.map_err(|e| {
        let position = match req {
            Request::Query(text) => e
                .downcast_ref::<ServerError>()
                .and_then(|se| se.body.diagnostics.first())
                .map(|d| crate::commands::query::span(text, d)),
            _ => None,
        };
        ResponseError {
            message: format!("{e:#}"),
            position,
        }
    })
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use crossterm::event::KeyCode;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use serde_json::json;

    use super::app::{App, Request, ResponseError, Tab, key};
    use super::ui::draw;

    /// The screen as lines of text after drawing `app` at `w`×`h`.
    fn screen(app: &App, w: u16, h: u16) -> Vec<String> {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| draw(f, app)).unwrap();
        let buf = t.backend().buffer().clone();
        (0..h)
            .map(|y| {
                (0..w)
                    .map(|x| buf[(x, y)].symbol().to_string())
                    .collect::<String>()
                    .trim_end()
                    .to_string()
            })
            .collect()
    }

    fn has(lines: &[String], needle: &str) -> bool {
        lines.iter().any(|l| l.contains(needle))
    }

    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

    /// An app with answers for every tab, as the server gives them.
    fn loaded() -> App {
        let mut app = App::new("http://127.0.0.1:8080", Instant::now());
        let reqs = app.start();
        app.on_response(&reqs[0], Ok(json!({"logs": [
            {"timestamp": "2026-11-26T09:00:02.500000000Z", "level": "error", "message": "payment declined",
             "service": "shop", "trace_id": TRACE, "attributes": {"order": 42}, "resource": {}},
            {"timestamp": "2026-11-26T09:00:01.000000000Z", "level": "info", "message": "order placed",
             "service": "shop", "attributes": {}, "resource": {}}],
            "total": 2, "limit": 200, "offset": 0})));
        app.on_response(&reqs[1], Ok(json!({"traces": [
            {"trace_id": TRACE, "root_service": "shop", "root_name": "POST /orders", "start_time": "2026-11-26T09:00:01.000000000Z",
             "duration_ns": 1_000_000_000, "span_count": 2, "services": ["shop", "payments"],
             "operations": ["POST /orders", "charge"], "error": true}]})));
        app.on_response(&reqs[2], Ok(json!({"names": ["cpu", "orders_total"]})));
        app.on_response(&reqs[3], Ok(json!({
            "rules": [{"id": "r1", "name": "High CPU", "kind": "threshold", "state": "firing", "severity": "critical",
                       "query": "SELECT avg(value) FROM metrics WHERE name = 'cpu'", "condition": {"op": ">", "threshold": 0.9},
                       "created_at": "2026-11-26T08:00:00Z", "updated_at": "2026-11-26T08:00:00Z",
                       "last_evaluation": "2026-11-26T09:00:00Z", "last_error": null, "compiled_query": "SELECT 1"},
                      {"id": "r2", "name": "Errors", "kind": "log_pattern", "state": "inactive", "severity": "warning",
                       "filter": "level = 'error'", "condition": {"op": ">", "threshold": 10},
                       "created_at": "2026-11-26T08:00:00Z", "updated_at": "2026-11-26T08:00:00Z",
                       "last_evaluation": null, "last_error": null, "compiled_query": "SELECT 2"}],
            "alerts": [{"fingerprint": "9f0c", "rule_id": "r1", "rule_name": "High CPU", "severity": "critical",
                        "state": "firing", "since": "2026-11-26T08:59:00.000000000Z", "active_at": null,
                        "fired_at": "2026-11-26T08:59:00Z", "resolved_at": null,
                        "value": 0.97, "labels": {"alertname": "High CPU", "host": "web-1"}, "silenced": false,
                        "silenced_by": null, "last_evaluation": "2026-11-26T09:00:00Z"}]})));
        app
    }

    #[test]
    fn logs_tab_shows_the_tail_with_levels_and_a_detail_pane() {
        let mut app = loaded();
        let s = screen(&app, 80, 24);
        assert!(
            s[0].starts_with(" 1 Logs | 2 Query | 3 Traces | 4 Metrics | 5 Alerts"),
            "{s:#?}"
        );
        assert!(s[0].ends_with("http://127.0.0.1:8080"), "{s:#?}");
        assert!(s[1].starts_with(" LIVE  filter: / to filter"), "{s:#?}");
        assert!(
            s[2].starts_with("09:00:01.000 INFO  shop order placed"),
            "{s:#?}"
        );
        assert!(
            s[3].starts_with("09:00:02.500 ERROR shop payment declined"),
            "{s:#?}"
        );
        assert!(
            s[23].ends_with("? help · Tab/1-5 switch · q quit"),
            "{s:#?}"
        );
        // Colours: the level is red.
        let mut t = Terminal::new(TestBackend::new(80, 24)).unwrap();
        t.draw(|f| draw(f, &app)).unwrap();
        assert_eq!(t.backend().buffer()[(13, 3)].fg, ratatui::style::Color::Red);

        app.on_key(key(KeyCode::Up));
        app.on_key(key(KeyCode::Down));
        app.on_key(key(KeyCode::Enter));
        let s = screen(&app, 80, 24);
        assert!(has(&s, "detail (Enter closes)"), "{s:#?}");
        assert!(has(&s, &format!("trace     {TRACE}")), "{s:#?}");
        assert!(has(&s, "attributes.order = 42"), "{s:#?}");

        app.on_key(key(KeyCode::Char(' ')));
        let s = screen(&app, 80, 24);
        assert!(s[1].starts_with(" PAUSED "), "{s:#?}");
        assert!(s[23].starts_with("live tail paused"), "{s:#?}");
    }

    #[test]
    fn query_tab_shows_results_and_errors_at_their_position() {
        let mut app = loaded();
        app.on_key(key(KeyCode::Char('2')));
        let req = Request::Query("SELECT service, count(*) FROM logs GROUP BY service".into());
        app.on_response(
            &req,
            Ok(json!({
            "columns": [{"name": "service", "type": "string"}, {"name": "count(*)", "type": "int"}],
            "rows": [["shop", 2], ["payments", 1]],
            "stats": {"rows_returned": 2, "rows_scanned": 3, "elapsed_ms": 0.4, "truncated": false},
            "plan": {"source": "logs", "access": "count logs by service"}})),
        );
        let s = screen(&app, 80, 24);
        assert!(
            s[1].starts_with("query> SELECT service, level, count(*)"),
            "{s:#?}"
        );
        assert!(
            s[3].starts_with("service") && s[3].contains("count(*)"),
            "{s:#?}"
        );
        assert!(
            s[4].starts_with("shop") && s[4].trim_end().ends_with('2'),
            "{s:#?}"
        );
        assert!(s[5].starts_with("payments"), "{s:#?}");
        assert!(s[22].starts_with("2 rows, 3 scanned, 0.4 ms"), "{s:#?}");

        let req = Request::Query("SELECT levle FROM logs".into());
        app.query.input.text = "SELECT levle FROM logs".into();
        app.on_response(
            &req,
            Err(ResponseError {
                message: "the server answered 400: invalid query: unknown column `levle`".into(),
                position: Some((1, 8, 5)),
            }),
        );
        let s = screen(&app, 80, 24);
        assert_eq!(s[1], "query> SELECT levle FROM logs");
        assert!(
            s[2].starts_with("              ^^^^^ the server answered 400"),
            "{s:#?}"
        );
        assert!(s[23].starts_with("the server answered 400"), "{s:#?}");
    }

    #[test]
    fn traces_tab_lists_and_opens_a_waterfall() {
        let mut app = loaded();
        app.on_key(key(KeyCode::Char('3')));
        let s = screen(&app, 80, 24);
        assert!(
            has(&s, "shop: POST /orders") && has(&s, "1.00s") && has(&s, "error"),
            "{s:#?}"
        );
        let reqs = app.on_key(key(KeyCode::Enter));
        assert_eq!(reqs, [Request::Trace(TRACE.into())]);
        let span = |id: &str,
                    parent: Option<&str>,
                    name: &str,
                    service: &str,
                    kind: &str,
                    start: &str,
                    end: &str,
                    status: serde_json::Value,
                    attrs: serde_json::Value| {
            json!({
            "trace_id": TRACE, "span_id": id, "parent_span_id": parent, "name": name,
            "service": service, "kind": kind, "start_time": start, "end_time": end,
            "status": status, "attributes": attrs})
        };
        let root = span(
            "00000000000000a1",
            None,
            "POST /orders",
            "shop",
            "server",
            "2026-11-26T09:00:01Z",
            "2026-11-26T09:00:02Z",
            json!({"code": "unset"}),
            json!({"http.route": "/orders"}),
        );
        let mut child = span(
            "00000000000000b2",
            Some("00000000000000a1"),
            "charge",
            "payments",
            "client",
            "2026-11-26T09:00:01.5Z",
            "2026-11-26T09:00:02Z",
            json!({"code": "error", "message": "declined"}),
            json!({}),
        );
        let spans = json!([root.clone(), child.clone()]);
        child["children"] = json!([]);
        let mut tree = root;
        tree["children"] = json!([child]);
        app.on_response(
            &reqs[0],
            Ok(json!({
            "trace_id": TRACE, "logs_total": 1, "logs": [], "spans": spans, "tree": [tree],
            "summary": {"trace_id": TRACE, "root_service": "shop", "root_name": "POST /orders",
                        "start_time": "2026-11-26T09:00:01Z", "duration_ns": 1_000_000_000,
                        "span_count": 2, "services": ["payments", "shop"],
                        "operations": ["POST /orders", "charge"], "error": true}})),
        );
        let s = screen(&app, 80, 24);
        assert!(
            s[1].starts_with(&format!("trace {TRACE}  2 spans, 1.00s, 1 logs")),
            "{s:#?}"
        );
        assert!(
            s[2].starts_with("POST /orders") && s[2].contains("1.00s"),
            "{s:#?}"
        );
        assert!(
            s[3].starts_with("  charge") && s[3].contains("500.0ms"),
            "{s:#?}"
        );
        // The child's bar starts halfway along the timeline.
        let bar_start = |l: &str| {
            l.char_indices()
                .find(|(_, c)| *c == '█')
                .map(|(i, _)| l[..i].chars().count())
        };
        let (a, b) = (bar_start(&s[2]).unwrap(), bar_start(&s[3]).unwrap());
        assert!(b > a + 10, "{s:#?}");
        assert!(has(&s, "http.route = /orders"), "{s:#?}");
        app.on_key(key(KeyCode::Down));
        let s = screen(&app, 80, 24);
        assert!(
            has(&s, "payments charge · client · status error: declined"),
            "{s:#?}"
        );
        app.on_key(key(KeyCode::Esc));
        assert!(app.traces.open.is_none());
    }

    #[test]
    fn metrics_tab_charts_a_series_and_alerts_tab_silences() {
        let mut app = loaded();
        app.on_key(key(KeyCode::Char('4')));
        let reqs = app.on_key(key(KeyCode::Enter));
        assert_eq!(
            reqs,
            [Request::Metric {
                name: "cpu".into(),
                range: "1h".into()
            }]
        );
        app.on_response(
            &reqs[0],
            Ok(
                json!({"series": [{"name": "cpu", "type": "gauge", "labels": {"host": "web-1"}, "points": [
            {"timestamp": "2026-11-26T09:00:00Z", "value": 0.2},
            {"timestamp": "2026-11-26T09:01:00Z", "value": 0.9},
            {"timestamp": "2026-11-26T09:02:00Z", "value": 0.5}]}]}),
            ),
        );
        let s = screen(&app, 80, 24);
        assert!(has(&s, "cpu · last 1h (r) · 1 series"), "{s:#?}");
        assert!(has(&s, "host=web-1"), "{s:#?}");
        assert!(
            has(&s, "0.9") && has(&s, "0.2") && has(&s, "2m00s"),
            "{s:#?}"
        );
        // Braille points are drawn.
        assert!(
            s.iter()
                .any(|l| l.chars().any(|c| ('\u{2801}'..='\u{28ff}').contains(&c))),
            "{s:#?}"
        );
        // Two series: `s` picks one, then the other, then both again.
        app.on_response(&reqs[0], Ok(json!({"series": [
            {"name": "cpu", "type": "gauge", "labels": {"host": "web-1"}, "points": [{"timestamp": "2026-11-26T09:00:00Z", "value": 0.2}, {"timestamp": "2026-11-26T09:02:00Z", "value": 0.9}]},
            {"name": "cpu", "type": "gauge", "labels": {"host": "web-2"}, "points": [{"timestamp": "2026-11-26T09:00:00Z", "value": 0.4}, {"timestamp": "2026-11-26T09:02:00Z", "value": 0.5}]}]})));
        let s = screen(&app, 80, 24);
        assert!(
            has(&s, "2 series (s picks one)") && has(&s, "host=web-1") && has(&s, "host=web-2"),
            "{s:#?}"
        );
        app.on_key(key(KeyCode::Char('s')));
        let s = screen(&app, 80, 24);
        assert!(
            has(&s, "series 1/2 (s)") && has(&s, "host=web-1") && !has(&s, "host=web-2"),
            "{s:#?}"
        );
        app.on_key(key(KeyCode::Char('s')));
        let s = screen(&app, 80, 24);
        assert!(
            has(&s, "series 2/2 (s)") && !has(&s, "host=web-1") && has(&s, "host=web-2"),
            "{s:#?}"
        );
        app.on_key(key(KeyCode::Char('s')));
        assert_eq!(app.metrics.only, None);
        let reqs = app.on_key(key(KeyCode::Char('r')));
        assert_eq!(
            reqs,
            [Request::Metric {
                name: "cpu".into(),
                range: "6h".into()
            }]
        );

        app.on_key(key(KeyCode::Char('5')));
        let s = screen(&app, 80, 24);
        let row = s.iter().find(|l| l.starts_with("High CPU")).unwrap();
        assert!(
            row.contains("threshold") && row.contains("firing") && row.contains("critical"),
            "{s:#?}"
        );
        assert!(
            has(&s, "active alerts (1)") && has(&s, "host=web-1") && has(&s, "0.97"),
            "{s:#?}"
        );
        let reqs = app.on_key(key(KeyCode::Char('s')));
        assert_eq!(
            reqs,
            [Request::Silence {
                rule_id: "r1".into(),
                rule_name: "High CPU".into()
            }]
        );
        app.on_response(
            &reqs[0],
            Ok(
                json!({"id": "s1", "matchers": [{"name": "rule_id", "value": "r1", "op": "="}],
                      "starts_at": "2026-11-26T09:00:00Z", "ends_at": "2026-11-26T10:00:00Z",
                      "created_by": "heimsight-tui", "comment": "", "status": "active"}),
            ),
        );
        // The range change is still loading: a spinner before the message.
        let s = screen(&app, 80, 24);
        assert!(
            s[23].starts_with("⠋ silenced High CPU until 2026-11-26T10:00:00Z "),
            "{s:#?}"
        );
    }

    #[test]
    fn help_overlay_and_every_size() {
        let mut app = loaded();
        app.on_key(key(KeyCode::Char('?')));
        let s = screen(&app, 80, 24);
        assert!(
            has(&s, "keys (any key closes)") && has(&s, "space pause/resume"),
            "{s:#?}"
        );
        app.on_key(key(KeyCode::Char('x')));
        assert!(!app.help);
        // Every tab draws at small, standard and large sizes without panicking, and resizing
        // (a draw at another size) leaves nothing of the old layout behind.
        for tab in Tab::ALL {
            app.tab = tab;
            for (w, h) in [(80, 24), (40, 10), (20, 5), (200, 60), (1, 1)] {
                let s = screen(&app, w, h);
                assert_eq!(s.len(), usize::from(h));
            }
        }
        app.tab = Tab::Logs;
        let small = screen(&app, 40, 10);
        assert!(small[0].starts_with(" 1 Logs | 2 Query"), "{small:#?}");
        assert!(
            small[2].starts_with("09:00:01.000 INFO  shop order placed"),
            "{small:#?}"
        );
        app.on_key(key(KeyCode::Char('q')));
        assert!(app.quit);
    }
}
