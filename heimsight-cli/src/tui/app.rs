//! The TUI's state and what keys and answers do to it. Nothing here does I/O: keys and
//! ticks return the [`Request`]s to send, and answers come back through
//! [`App::on_response`], so the whole behaviour is testable without a terminal or a server.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use heimsight_core::api::{
    Alert, LogsPage, MetricNames, QueryAnswer, RuleView, SeriesAnswer, SilenceView, SpanNode,
    TraceDetail, TraceSummary, TracesPage,
};
use heimsight_core::{LogRecord, Span, TailCursor};
use serde_json::Value;

use crate::output::{cell, pairs};

/// Most log records kept in the live tail.
pub(crate) const MAX_LOGS: usize = 2_000;
/// How often the live tail asks for new records.
pub(crate) const LOGS_POLL: Duration = Duration::from_secs(1);
/// How often the metrics chart and the alerts are refreshed.
pub(crate) const REFRESH: Duration = Duration::from_secs(10);
/// Time ranges of the metrics chart, cycled with `r`.
pub(crate) const RANGES: [&str; 5] = ["15m", "1h", "6h", "24h", "7d"];

/// The tabs, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tab {
    /// Live tail of logs.
    Logs,
    /// Query editor and results.
    Query,
    /// Trace search and waterfall.
    Traces,
    /// Metric chart.
    Metrics,
    /// Rules and active alerts.
    Alerts,
}

impl Tab {
    /// Every tab in display order.
    pub(crate) const ALL: [Tab; 5] = [
        Tab::Logs,
        Tab::Query,
        Tab::Traces,
        Tab::Metrics,
        Tab::Alerts,
    ];

    /// The tab's title.
    pub(crate) fn title(self) -> &'static str {
        match self {
            Tab::Logs => "Logs",
            Tab::Query => "Query",
            Tab::Traces => "Traces",
            Tab::Metrics => "Metrics",
            Tab::Alerts => "Alerts",
        }
    }

    fn index(self) -> usize {
        Tab::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }
}

/// A request for the server; the answer comes back with the request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Request {
    /// `GET /api/v1/logs` with these parameters.
    Logs(Vec<(&'static str, String)>),
    /// `POST /api/v1/query`.
    Query(String),
    /// `GET /api/v1/traces` with these parameters.
    Traces(Vec<(&'static str, String)>),
    /// `GET /api/v1/traces/{id}`.
    Trace(String),
    /// `GET /api/v1/metrics/names`.
    MetricNames,
    /// `GET /api/v1/metrics` of a name over a range (`1h`).
    Metric { name: String, range: String },
    /// `GET /api/v1/alerts/rules` and `GET /api/v1/alerts` together.
    Alerts,
    /// `POST /api/v1/silences` for a rule's alerts.
    Silence { rule_id: String, rule_name: String },
}

/// A line edited in place.
#[derive(Debug, Default, Clone)]
pub(crate) struct Input {
    /// The text.
    pub(crate) text: String,
    /// Cursor position in characters.
    pub(crate) cursor: usize,
}

impl Input {
    fn set(&mut self, text: &str) {
        self.text = text.to_string();
        self.cursor = text.chars().count();
    }

    fn byte(&self, chars: usize) -> usize {
        self.text
            .char_indices()
            .nth(chars)
            .map_or(self.text.len(), |(i, _)| i)
    }

    /// Applies an editing key; false when the key is not an editing key.
    fn edit(&mut self, key: &KeyEvent) -> bool {
        match key.code {
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                let at = self.byte(self.cursor);
                self.text.insert(at, c);
                self.cursor += 1;
            }
            KeyCode::Char('u') => {
                self.text.clear();
                self.cursor = 0;
            }
            KeyCode::Backspace if self.cursor > 0 => {
                let at = self.byte(self.cursor - 1);
                self.text.remove(at);
                self.cursor -= 1;
            }
            KeyCode::Delete if self.cursor < self.text.chars().count() => {
                let at = self.byte(self.cursor);
                self.text.remove(at);
            }
            KeyCode::Left => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::Right => self.cursor = (self.cursor + 1).min(self.text.chars().count()),
            KeyCode::Home => self.cursor = 0,
            KeyCode::End => self.cursor = self.text.chars().count(),
            KeyCode::Backspace | KeyCode::Delete => {}
            _ => return false,
        }
        true
    }
}

/// The Logs tab.
#[derive(Debug, Default)]
pub(crate) struct LogsTab {
    /// Records, oldest first.
    pub(crate) records: VecDeque<LogRecord>,
    /// No polling while paused.
    pub(crate) paused: bool,
    /// The filter bar: `level:error service:api words…`.
    pub(crate) filter: Input,
    /// Typing into the filter bar.
    pub(crate) editing: bool,
    /// The selected record (index into `records`); none follows the newest.
    pub(crate) selected: Option<usize>,
    /// The detail pane is open.
    pub(crate) detail: bool,
    cursor: TailCursor,
    in_flight: bool,
}

impl LogsTab {
    /// The filter bar as query parameters.
    pub(crate) fn params(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        let mut words = Vec::new();
        for w in self.filter.text.split_whitespace() {
            if let Some(l) = w.strip_prefix("level:") {
                q.push(("level", l.to_string()));
            } else if let Some(s) = w.strip_prefix("service:") {
                q.push(("service", s.to_string()));
            } else if let Some(t) = w.strip_prefix("trace:") {
                q.push(("trace_id", t.to_string()));
            } else {
                words.push(w);
            }
        }
        if !words.is_empty() {
            q.push(("q", words.join(" ")));
        }
        q
    }

    fn request(&mut self) -> Request {
        self.in_flight = true;
        let mut q = self.params();
        match self.cursor.last() {
            Some(ts) => {
                q.push(("start_time", ts.to_rfc3339()));
                q.push(("order", "asc".into()));
                q.push(("limit", "1000".into()));
            }
            // The first page: the newest records of the last hour.
            None => {
                q.push(("start_time", "now-1h".into()));
                q.push(("limit", "200".into()));
            }
        }
        Request::Logs(q)
    }

    fn restart(&mut self) -> Request {
        self.records.clear();
        self.cursor = TailCursor::default();
        self.selected = None;
        self.detail = false;
        self.request()
    }

    fn add(&mut self, answer: LogsPage) {
        let mut logs = answer.logs;
        if self.cursor.last().is_none() {
            // The first page comes newest first.
            logs.reverse();
        }
        for l in logs {
            if self.cursor.admit(&l) {
                self.records.push_back(l);
            }
        }
        while self.records.len() > MAX_LOGS {
            self.records.pop_front();
            self.selected = self.selected.map(|s| s.saturating_sub(1));
        }
    }

    /// The record the detail pane shows.
    pub(crate) fn current(&self) -> Option<&LogRecord> {
        self.selected
            .or_else(|| self.records.len().checked_sub(1))
            .and_then(|i| self.records.get(i))
    }
}

/// The Query tab.
#[derive(Debug, Default)]
pub(crate) struct QueryTab {
    /// The editor.
    pub(crate) input: Input,
    /// Typing into the editor.
    pub(crate) editing: bool,
    /// Queries run, oldest first.
    pub(crate) history: Vec<String>,
    hist_pos: Option<usize>,
    /// Result columns.
    pub(crate) columns: Vec<String>,
    /// Result rows as text.
    pub(crate) rows: Vec<Vec<String>>,
    /// First row shown.
    pub(crate) scroll: usize,
    /// `rows, scanned, ms` of the last result.
    pub(crate) stats: String,
    /// The last error, and where in the query it points (column from 0, length).
    pub(crate) error: Option<(String, Option<(usize, usize)>)>,
}

/// The Traces tab.
#[derive(Debug, Default)]
pub(crate) struct TracesTab {
    /// Search results.
    pub(crate) list: Vec<TraceSummary>,
    /// Selected trace in the list.
    pub(crate) selected: usize,
    /// The filter bar: `service:api op:checkout min:250ms` or a service name.
    pub(crate) filter: Input,
    /// Typing into the filter bar.
    pub(crate) editing: bool,
    /// The open trace.
    pub(crate) open: Option<TraceView>,
}

/// One trace as a waterfall.
#[derive(Debug, Default)]
pub(crate) struct TraceView {
    /// Trace id.
    pub(crate) id: String,
    /// Spans depth-first with their depth.
    pub(crate) spans: Vec<(usize, Span)>,
    /// Selected span.
    pub(crate) selected: usize,
    /// Start of the trace and its length, in Unix nanoseconds.
    pub(crate) start: i64,
    /// Length of the trace in nanoseconds (at least 1).
    pub(crate) total: i64,
    /// Logs of the trace.
    pub(crate) logs: usize,
}

impl TracesTab {
    fn params(&self) -> Vec<(&'static str, String)> {
        let mut q = vec![
            ("start_time", "now-1h".to_string()),
            ("limit", "100".to_string()),
        ];
        for w in self.filter.text.split_whitespace() {
            if let Some(s) = w.strip_prefix("service:") {
                q.push(("service", s.to_string()));
            } else if let Some(o) = w.strip_prefix("op:") {
                q.push(("operation", o.to_string()));
            } else if let Some(m) = w.strip_prefix("min:") {
                q.push(("min_duration", m.to_string()));
            } else {
                q.push(("service", w.to_string()));
            }
        }
        q
    }
}

impl TraceView {
    fn of(answer: TraceDetail) -> TraceView {
        fn walk(node: SpanNode, depth: usize, out: &mut Vec<(usize, Span)>) {
            out.push((depth, node.span));
            for c in node.children {
                walk(c, depth + 1, out);
            }
        }
        let mut spans = Vec::new();
        for root in answer.tree {
            walk(root, 0, &mut spans);
        }
        let start = spans.iter().map(|(_, s)| s.start_time.0).min().unwrap_or(0);
        TraceView {
            id: answer.trace_id.to_hex(),
            spans,
            selected: 0,
            start,
            total: answer.summary.duration_ns.max(1),
            logs: usize::try_from(answer.logs_total).unwrap_or(usize::MAX),
        }
    }
}

/// The Metrics tab.
#[derive(Debug, Default)]
pub(crate) struct MetricsTab {
    /// Metric names.
    pub(crate) names: Vec<String>,
    /// Selected name.
    pub(crate) selected: usize,
    /// Index into [`RANGES`].
    pub(crate) range: usize,
    /// The charted metric.
    pub(crate) charted: Option<String>,
    /// Its series: label text and (seconds since the range start, value) points.
    pub(crate) series: Vec<(String, Vec<(f64, f64)>)>,
    /// The one series charted (`s` cycles through them), or all of them.
    pub(crate) only: Option<usize>,
}

/// The Alerts tab.
#[derive(Debug, Default)]
pub(crate) struct AlertsTab {
    /// Rules with their state.
    pub(crate) rules: Vec<RuleView>,
    /// Pending and firing alerts.
    pub(crate) alerts: Vec<Alert>,
    /// Selected rule.
    pub(crate) selected: usize,
}

/// What the Alerts tab asks for: `GET /api/v1/alerts/rules` and `GET /api/v1/alerts`, in one
/// answer.
#[derive(Debug, serde::Deserialize)]
struct AlertsAnswer {
    rules: Vec<RuleView>,
    alerts: Vec<Alert>,
}

/// The whole TUI state.
#[derive(Debug)]
pub(crate) struct App {
    /// The server's URL (shown in the title).
    pub(crate) url: String,
    /// The current tab.
    pub(crate) tab: Tab,
    /// The help overlay is open.
    pub(crate) help: bool,
    /// Time to exit.
    pub(crate) quit: bool,
    /// The status line: a message and whether it is an error.
    pub(crate) status: Option<(String, bool)>,
    /// Requests in flight.
    pub(crate) loading: usize,
    /// Spinner frame.
    pub(crate) frame: usize,
    /// Logs tab.
    pub(crate) logs: LogsTab,
    /// Query tab.
    pub(crate) query: QueryTab,
    /// Traces tab.
    pub(crate) traces: TracesTab,
    /// Metrics tab.
    pub(crate) metrics: MetricsTab,
    /// Alerts tab.
    pub(crate) alerts: AlertsTab,
    next_logs: Instant,
    next_refresh: Instant,
}

impl App {
    /// A fresh state for the server at `url`.
    pub(crate) fn new(url: &str, now: Instant) -> Self {
        let mut query = QueryTab::default();
        query
            .input
            .set("SELECT service, level, count(*) FROM logs GROUP BY service, level");
        App {
            url: url.to_string(),
            tab: Tab::Logs,
            help: false,
            quit: false,
            status: None,
            loading: 0,
            frame: 0,
            logs: LogsTab::default(),
            query,
            traces: TracesTab::default(),
            // The chart shows the last hour first.
            metrics: MetricsTab {
                range: 1,
                ..MetricsTab::default()
            },
            alerts: AlertsTab::default(),
            next_logs: now + LOGS_POLL,
            next_refresh: now + REFRESH,
        }
    }

    /// What to fetch at start: the first page of logs, traces, metric names and alerts.
    pub(crate) fn start(&mut self) -> Vec<Request> {
        let reqs = vec![
            self.logs.request(),
            Request::Traces(self.traces.params()),
            Request::MetricNames,
            Request::Alerts,
        ];
        self.loading += reqs.len();
        reqs
    }

    fn send(&mut self, reqs: Vec<Request>) -> Vec<Request> {
        self.loading += reqs.len();
        reqs
    }

    /// Is a text field taking the keys?
    pub(crate) fn editing(&self) -> bool {
        match self.tab {
            Tab::Logs => self.logs.editing,
            Tab::Query => self.query.editing,
            Tab::Traces => self.traces.editing,
            _ => false,
        }
    }

    /// Time passes: the live tail polls, the chart and alerts refresh, the spinner turns.
    pub(crate) fn on_tick(&mut self, now: Instant) -> Vec<Request> {
        self.frame = self.frame.wrapping_add(1);
        let mut reqs = Vec::new();
        if now >= self.next_logs {
            self.next_logs = now + LOGS_POLL;
            if !self.logs.paused && !self.logs.in_flight {
                reqs.push(self.logs.request());
            }
        }
        if now >= self.next_refresh {
            self.next_refresh = now + REFRESH;
            reqs.push(Request::Alerts);
            if let Some(name) = &self.metrics.charted {
                reqs.push(Request::Metric {
                    name: name.clone(),
                    range: RANGES[self.metrics.range].to_string(),
                });
            }
        }
        self.send(reqs)
    }

    /// A key was pressed.
    pub(crate) fn on_key(&mut self, key: KeyEvent) -> Vec<Request> {
        if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
            self.quit = true;
            return Vec::new();
        }
        if self.help {
            // Any key closes the help.
            self.help = false;
            return Vec::new();
        }
        if self.editing() {
            let reqs = self.on_edit_key(&key);
            return self.send(reqs);
        }
        match key.code {
            KeyCode::Char('q') => {
                self.quit = true;
                return Vec::new();
            }
            KeyCode::Char('?') => {
                self.help = true;
                return Vec::new();
            }
            KeyCode::Tab => {
                self.tab = Tab::ALL[(self.tab.index() + 1) % Tab::ALL.len()];
                return Vec::new();
            }
            KeyCode::BackTab => {
                self.tab = Tab::ALL[(self.tab.index() + Tab::ALL.len() - 1) % Tab::ALL.len()];
                return Vec::new();
            }
            KeyCode::Char(c @ '1'..='5') => {
                self.tab = Tab::ALL[(c as usize) - ('1' as usize)];
                return Vec::new();
            }
            _ => {}
        }
        let reqs = match self.tab {
            Tab::Logs => self.logs_key(&key),
            Tab::Query => self.query_key(&key),
            Tab::Traces => self.traces_key(&key),
            Tab::Metrics => self.metrics_key(&key),
            Tab::Alerts => self.alerts_key(&key),
        };
        self.send(reqs)
    }

    fn on_edit_key(&mut self, key: &KeyEvent) -> Vec<Request> {
        match self.tab {
            Tab::Logs => match key.code {
                KeyCode::Enter => {
                    self.logs.editing = false;
                    vec![self.logs.restart()]
                }
                KeyCode::Esc => {
                    self.logs.editing = false;
                    Vec::new()
                }
                _ => {
                    self.logs.filter.edit(key);
                    Vec::new()
                }
            },
            Tab::Traces => match key.code {
                KeyCode::Enter => {
                    self.traces.editing = false;
                    self.traces.open = None;
                    vec![Request::Traces(self.traces.params())]
                }
                KeyCode::Esc => {
                    self.traces.editing = false;
                    Vec::new()
                }
                _ => {
                    self.traces.filter.edit(key);
                    Vec::new()
                }
            },
            _ => {
                let q = &mut self.query;
                match key.code {
                    KeyCode::Enter => {
                        let text = q.input.text.trim().to_string();
                        if text.is_empty() {
                            return Vec::new();
                        }
                        q.editing = false;
                        if q.history.last() != Some(&text) {
                            q.history.push(text.clone());
                        }
                        q.hist_pos = None;
                        vec![Request::Query(text)]
                    }
                    KeyCode::Esc => {
                        q.editing = false;
                        Vec::new()
                    }
                    KeyCode::Up if !q.history.is_empty() => {
                        let pos = q
                            .hist_pos
                            .map_or(q.history.len() - 1, |p| p.saturating_sub(1));
                        q.hist_pos = Some(pos);
                        let text = q.history[pos].clone();
                        q.input.set(&text);
                        Vec::new()
                    }
                    KeyCode::Down => {
                        if let Some(p) = q.hist_pos {
                            if p + 1 < q.history.len() {
                                q.hist_pos = Some(p + 1);
                                let text = q.history[p + 1].clone();
                                q.input.set(&text);
                            } else {
                                q.hist_pos = None;
                                q.input.set("");
                            }
                        }
                        Vec::new()
                    }
                    _ => {
                        q.input.edit(key);
                        Vec::new()
                    }
                }
            }
        }
    }

    fn logs_key(&mut self, key: &KeyEvent) -> Vec<Request> {
        let l = &mut self.logs;
        let n = l.records.len();
        match key.code {
            KeyCode::Char(' ' | 'p') => {
                l.paused = !l.paused;
                self.status = Some((
                    if l.paused {
                        "live tail paused (space resumes)"
                    } else {
                        "live tail resumed"
                    }
                    .into(),
                    false,
                ));
            }
            KeyCode::Char('/') => l.editing = true,
            KeyCode::Up | KeyCode::Char('k') if n > 0 => {
                l.selected = Some(l.selected.unwrap_or(n).saturating_sub(1));
            }
            KeyCode::Down | KeyCode::Char('j') => {
                l.selected = match l.selected {
                    Some(s) if s + 1 < n => Some(s + 1),
                    _ => None,
                };
            }
            KeyCode::End | KeyCode::Char('G') => l.selected = None,
            KeyCode::Enter => l.detail = !l.detail,
            KeyCode::Esc => {
                l.detail = false;
                l.selected = None;
            }
            KeyCode::Char('c') => {
                l.records.clear();
                l.selected = None;
            }
            KeyCode::Char('t') => {
                let trace = l.current().and_then(|r| r.trace_id).map(|t| t.to_hex());
                return match trace {
                    Some(id) => {
                        self.tab = Tab::Traces;
                        vec![Request::Trace(id)]
                    }
                    None => {
                        self.status = Some(("this record has no trace id".into(), true));
                        Vec::new()
                    }
                };
            }
            _ => {}
        }
        Vec::new()
    }

    fn query_key(&mut self, key: &KeyEvent) -> Vec<Request> {
        let q = &mut self.query;
        match key.code {
            KeyCode::Char('/' | 'e' | 'i') => q.editing = true,
            KeyCode::Enter => {
                let text = q.input.text.trim().to_string();
                if !text.is_empty() {
                    return vec![Request::Query(text)];
                }
            }
            KeyCode::Down | KeyCode::Char('j') => {
                q.scroll = (q.scroll + 1).min(q.rows.len().saturating_sub(1));
            }
            KeyCode::Up | KeyCode::Char('k') => q.scroll = q.scroll.saturating_sub(1),
            KeyCode::PageDown => q.scroll = (q.scroll + 10).min(q.rows.len().saturating_sub(1)),
            KeyCode::PageUp => q.scroll = q.scroll.saturating_sub(10),
            _ => {}
        }
        Vec::new()
    }

    fn traces_key(&mut self, key: &KeyEvent) -> Vec<Request> {
        let t = &mut self.traces;
        if let Some(view) = &mut t.open {
            match key.code {
                KeyCode::Esc | KeyCode::Backspace => t.open = None,
                KeyCode::Down | KeyCode::Char('j') => {
                    view.selected = (view.selected + 1).min(view.spans.len().saturating_sub(1));
                }
                KeyCode::Up | KeyCode::Char('k') => view.selected = view.selected.saturating_sub(1),
                KeyCode::Char('l') => {
                    let id = view.id.clone();
                    self.tab = Tab::Logs;
                    self.logs.filter.set(&format!("trace:{id}"));
                    return vec![self.logs.restart()];
                }
                _ => {}
            }
            return Vec::new();
        }
        match key.code {
            KeyCode::Char('/') => t.editing = true,
            KeyCode::Char('r') => return vec![Request::Traces(t.params())],
            KeyCode::Down | KeyCode::Char('j') => {
                t.selected = (t.selected + 1).min(t.list.len().saturating_sub(1));
            }
            KeyCode::Up | KeyCode::Char('k') => t.selected = t.selected.saturating_sub(1),
            KeyCode::Enter => {
                if let Some(id) = t.list.get(t.selected).map(|x| x.trace_id.to_hex()) {
                    return vec![Request::Trace(id.to_string())];
                }
            }
            _ => {}
        }
        Vec::new()
    }

    fn metrics_key(&mut self, key: &KeyEvent) -> Vec<Request> {
        let m = &mut self.metrics;
        match key.code {
            KeyCode::Down | KeyCode::Char('j') => {
                m.selected = (m.selected + 1).min(m.names.len().saturating_sub(1));
            }
            KeyCode::Up | KeyCode::Char('k') => m.selected = m.selected.saturating_sub(1),
            KeyCode::Char('s') if !m.series.is_empty() => {
                m.only = match m.only {
                    None => Some(0),
                    Some(i) if i + 1 < m.series.len() => Some(i + 1),
                    Some(_) => None,
                };
            }
            KeyCode::Enter => {
                if let Some(name) = m.names.get(m.selected).cloned() {
                    if m.charted.as_ref() != Some(&name) {
                        m.only = None;
                    }
                    m.charted = Some(name.clone());
                    return vec![Request::Metric {
                        name,
                        range: RANGES[m.range].into(),
                    }];
                }
            }
            KeyCode::Char('r') => {
                m.range = (m.range + 1) % RANGES.len();
                if let Some(name) = m.charted.clone() {
                    return vec![Request::Metric {
                        name,
                        range: RANGES[m.range].into(),
                    }];
                }
            }
            KeyCode::Char('R') => return vec![Request::MetricNames],
            _ => {}
        }
        Vec::new()
    }

    fn alerts_key(&mut self, key: &KeyEvent) -> Vec<Request> {
        let a = &mut self.alerts;
        match key.code {
            KeyCode::Down | KeyCode::Char('j') => {
                a.selected = (a.selected + 1).min(a.rules.len().saturating_sub(1));
            }
            KeyCode::Up | KeyCode::Char('k') => a.selected = a.selected.saturating_sub(1),
            KeyCode::Char('r') => return vec![Request::Alerts],
            KeyCode::Char('s') => {
                if let Some(r) = a.rules.get(a.selected) {
                    return vec![Request::Silence {
                        rule_id: r.id.clone(),
                        rule_name: r.rule.name.clone(),
                    }];
                }
            }
            _ => {}
        }
        Vec::new()
    }

    /// An answer arrived.
    /// `answer` read as the API shape `T`; else the status line says what did not fit.
    fn decode<T: serde::de::DeserializeOwned>(&mut self, what: &str, answer: Value) -> Option<T> {
        match serde_json::from_value(answer) {
            Ok(t) => Some(t),
            Err(e) => {
                self.status = Some((format!("unexpected answer for {what}: {e}"), true));
                None
            }
        }
    }

    pub(crate) fn on_response(&mut self, req: &Request, answer: Result<Value, ResponseError>) {
        self.loading = self.loading.saturating_sub(1);
        if let Request::Logs(_) = req {
            self.logs.in_flight = false;
        }
        let answer = match answer {
            Ok(a) => a,
            Err(e) => {
                if let Request::Query(q) = req {
                    let at = e.position.map(|(line, col, len)| {
                        // Single-line editor: count the columns of earlier lines too.
                        let before: usize = q
                            .lines()
                            .take(line.saturating_sub(1))
                            .map(|l| l.chars().count() + 1)
                            .sum();
                        (before + col.saturating_sub(1), len.max(1))
                    });
                    self.query.error = Some((e.message.clone(), at));
                    self.query.columns.clear();
                    self.query.rows.clear();
                }
                self.status = Some((e.message, true));
                return;
            }
        };
        match req {
            Request::Logs(_) => {
                if let Some(page) = self.decode::<LogsPage>("logs", answer) {
                    self.logs.add(page);
                }
            }
            Request::Query(_) => {
                let Some(answer) = self.decode::<QueryAnswer>("query", answer) else {
                    return;
                };
                let q = &mut self.query;
                q.error = None;
                q.scroll = 0;
                q.columns = answer.columns.into_iter().map(|c| c.name).collect();
                q.rows = answer
                    .rows
                    .iter()
                    .map(|r| r.iter().map(cell).collect())
                    .collect();
                let s = &answer.stats;
                q.stats = format!(
                    "{} rows, {} scanned, {} ms",
                    s.rows_returned, s.rows_scanned, s.elapsed_ms
                );
                self.status = Some((format!("query: {}", q.stats), false));
            }
            Request::Traces(_) => {
                let Some(answer) = self.decode::<TracesPage>("traces", answer) else {
                    return;
                };
                self.traces.list = answer.traces;
                self.traces.selected = self
                    .traces
                    .selected
                    .min(self.traces.list.len().saturating_sub(1));
            }
            Request::Trace(_) => {
                if let Some(answer) = self.decode::<TraceDetail>("the trace", answer) {
                    self.traces.open = Some(TraceView::of(answer));
                }
            }
            Request::MetricNames => {
                let Some(answer) = self.decode::<MetricNames>("metric names", answer) else {
                    return;
                };
                self.metrics.names = answer.names;
                self.metrics.selected = self
                    .metrics
                    .selected
                    .min(self.metrics.names.len().saturating_sub(1));
            }
            Request::Metric { .. } => {
                let Some(answer) = self.decode::<SeriesAnswer>("metrics", answer) else {
                    return;
                };
                let mut start = i64::MAX;
                let parsed: Vec<(String, Vec<(i64, f64)>)> = answer
                    .series
                    .into_iter()
                    .map(|s| {
                        let labels = pairs(&s.labels, ",", &[]);
                        // The value of each point; the sum for histograms and summaries.
                        let points: Vec<(i64, f64)> = s
                            .points
                            .iter()
                            .filter_map(|p| Some((p.timestamp.0, p.plotted()?)))
                            .collect();
                        if let Some((t, _)) = points.first() {
                            start = start.min(*t);
                        }
                        (if labels.is_empty() { s.name } else { labels }, points)
                    })
                    .collect();
                if self.metrics.only.is_some_and(|i| i >= parsed.len()) {
                    self.metrics.only = None;
                }
                self.metrics.series = parsed
                    .into_iter()
                    .map(|(l, pts)| {
                        (
                            l,
                            pts.into_iter()
                                .map(|(t, v)| ((t - start) as f64 / 1e9, v))
                                .collect(),
                        )
                    })
                    .collect();
            }
            Request::Alerts => {
                let Some(page) = self.decode::<AlertsAnswer>("alerts", answer) else {
                    return;
                };
                self.alerts.rules = page.rules;
                self.alerts.alerts = page.alerts;
                self.alerts.selected = self
                    .alerts
                    .selected
                    .min(self.alerts.rules.len().saturating_sub(1));
            }
            Request::Silence { rule_name, .. } => {
                let Some(silence) = self.decode::<SilenceView>("the silence", answer) else {
                    return;
                };
                self.status = Some((
                    format!(
                        "silenced {rule_name} until {}",
                        to_the_second(silence.ends_at)
                    ),
                    false,
                ));
            }
        }
    }
}

/// `2026-11-26T10:00:00Z`: a time to the second, short enough for the status line.
fn to_the_second(t: heimsight_core::Timestamp) -> String {
    let text = t.to_rfc3339();
    match text.get(..19) {
        Some(seconds) => format!("{seconds}Z"),
        None => text,
    }
}

/// A failed request as the TUI shows it.
#[derive(Debug, Clone)]
pub(crate) struct ResponseError {
    /// One line.
    pub(crate) message: String,
    /// For queries: line, column (from 1) and length of the first problem.
    pub(crate) position: Option<(usize, usize, usize)>,
}

#[cfg(test)]
pub(crate) fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_live_tail_polls_pauses_and_never_repeats_a_record() {
        let t0 = Instant::now();
        let mut app = App::new("http://x", t0);
        let reqs = app.start();
        assert!(
            matches!(&reqs[0], Request::Logs(q) if q.contains(&("start_time", "now-1h".to_string())))
        );
        let a = json!({"logs": [
            {"timestamp": "2026-01-01T00:00:02.000000000Z", "level": "error", "message": "b"},
            {"timestamp": "2026-01-01T00:00:01.000000000Z", "level": "info", "message": "a"}],
            "total": 2, "limit": 200, "offset": 0});
        app.on_response(&reqs[0], Ok(a));
        let msgs = |app: &App| {
            app.logs
                .records
                .iter()
                .map(|r| r.body.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(msgs(&app), ["a", "b"]);
        // The next poll asks from the newest timestamp, oldest first.
        let reqs = app.on_tick(t0 + LOGS_POLL);
        let Request::Logs(q) = &reqs[0] else {
            panic!("{reqs:?}")
        };
        assert!(q.contains(&("start_time", "2026-01-01T00:00:02.000000000Z".to_string())));
        assert!(q.contains(&("order", "asc".to_string())));
        // The record at that timestamp comes back and is not repeated.
        app.on_response(
            &reqs[0],
            Ok(json!({"logs": [
            {"timestamp": "2026-01-01T00:00:02.000000000Z", "level": "error", "message": "b"},
            {"timestamp": "2026-01-01T00:00:03.000000000Z", "level": "warn", "message": "c"}],
            "total": 2, "limit": 1000, "offset": 0})),
        );
        assert_eq!(msgs(&app), ["a", "b", "c"]);
        // Paused: no polling.
        app.on_key(key(KeyCode::Char(' ')));
        assert!(app.logs.paused);
        assert!(
            app.on_tick(t0 + LOGS_POLL * 3)
                .iter()
                .all(|r| !matches!(r, Request::Logs(_)))
        );
        app.on_key(key(KeyCode::Char(' ')));
        assert!(
            app.on_tick(t0 + LOGS_POLL * 5)
                .iter()
                .any(|r| matches!(r, Request::Logs(_)))
        );
    }

    #[test]
    fn the_filter_bar_becomes_parameters_and_restarts_the_tail() {
        let mut app = App::new("http://x", Instant::now());
        app.on_key(key(KeyCode::Char('/')));
        assert!(app.editing());
        // `q` types while editing instead of quitting.
        for c in "level:error service:api timeout q".chars() {
            app.on_key(key(KeyCode::Char(c)));
        }
        assert!(!app.quit);
        let reqs = app.on_key(key(KeyCode::Enter));
        let Request::Logs(q) = &reqs[0] else {
            panic!("{reqs:?}")
        };
        assert_eq!(
            q[..3],
            [
                ("level", "error".into()),
                ("service", "api".into()),
                ("q", "timeout q".into())
            ]
        );
        assert!(!app.editing());
    }

    #[test]
    fn query_history_errors_and_jump_to_trace() {
        let mut app = App::new("http://x", Instant::now());
        app.on_key(key(KeyCode::Char('2')));
        assert_eq!(app.tab, Tab::Query);
        app.on_key(key(KeyCode::Char('e')));
        for _ in 0..80 {
            app.on_key(key(KeyCode::Backspace));
        }
        for c in "SELECT levle FROM logs".chars() {
            app.on_key(key(KeyCode::Char(c)));
        }
        let reqs = app.on_key(key(KeyCode::Enter));
        assert_eq!(reqs, [Request::Query("SELECT levle FROM logs".into())]);
        app.on_response(
            &reqs[0],
            Err(ResponseError {
                message: "unknown column `levle`".into(),
                position: Some((1, 8, 5)),
            }),
        );
        assert_eq!(
            app.query.error,
            Some(("unknown column `levle`".into(), Some((7, 5))))
        );
        // History: Up brings the last query back.
        app.on_key(key(KeyCode::Char('e')));
        app.on_key(key(KeyCode::Char('u')));
        assert_eq!(app.query.input.text, "SELECT levle FROM logsu");
        app.on_key(key(KeyCode::Up));
        assert_eq!(app.query.input.text, "SELECT levle FROM logs");
        app.on_key(key(KeyCode::Esc));

        // From a log with a trace id to its waterfall.
        app.on_key(key(KeyCode::Char('1')));
        let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
        let page = json!({"logs": [{"timestamp": 1, "message": "m", "trace_id": trace}],
                          "total": 1, "limit": 200, "offset": 0});
        app.logs.add(serde_json::from_value(page).unwrap());
        let reqs = app.on_key(key(KeyCode::Char('t')));
        assert_eq!(reqs, [Request::Trace(trace.into())]);
        assert_eq!(app.tab, Tab::Traces);
    }
}
