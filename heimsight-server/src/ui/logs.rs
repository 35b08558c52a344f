//! The Logs page: search (plain text, or a condition of the query language), service and
//! level filters, a histogram of log counts over time (a click on a bar zooms in), results
//! that load more on scroll, a detail panel per record, and a live tail over Server-Sent
//! Events.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use heimsight_core::api::QueryAnswer;
use heimsight_core::{LogRecord, TailCursor, Timestamp};
use maud::{Markup, html};
use serde_json::Value;

use super::layout::count;
use super::{
    Form, Nav, TimeRange, attributes_table, error_box, fmt_time, html_response, json_of, notice,
    qs, see_other, value_text,
};
use crate::api_error::ApiError;
use crate::state::AppState;

/// Records per page (and per "load more").
const PAGE: usize = 100;
/// Levels offered by the filter.
const LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "fatal"];
/// How often the live tail looks for new records.
const TAIL_EVERY: Duration = Duration::from_millis(500);
/// Most records one tail poll sends.
const TAIL_BATCH: usize = 500;

/// The page's filters.
#[derive(Debug, Clone)]
struct Filters {
    q: String,
    service: String,
    level: String,
    trace_id: String,
}

impl Filters {
    fn from_form(f: &Form) -> Filters {
        Filters {
            q: f.str("q").to_string(),
            service: f.str("service").to_string(),
            level: f.str("level").to_string(),
            trace_id: f.str("trace_id").to_string(),
        }
    }

    fn pairs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("q", self.q.clone()),
            ("service", self.service.clone()),
            ("level", self.level.clone()),
            ("trace_id", self.trace_id.clone()),
        ]
    }

    /// Whether the search box holds a condition of the query language rather than words.
    fn is_condition(&self) -> bool {
        is_condition(&self.q)
    }

    /// The filters as a `WHERE` condition of the query language.
    fn condition(&self) -> String {
        let mut parts = Vec::new();
        if !self.q.is_empty() {
            if self.is_condition() {
                parts.push(format!("({})", self.q));
            } else {
                parts.push(format!("MATCH({})", sql_string(&self.q)));
            }
        }
        if !self.service.is_empty() {
            parts.push(format!("service = {}", sql_string(&self.service)));
        }
        if !self.level.is_empty() {
            parts.push(format!("level = {}", sql_string(&self.level)));
        }
        if !self.trace_id.is_empty() {
            parts.push(format!("trace_id = {}", sql_string(&self.trace_id)));
        }
        parts.join(" AND ")
    }
}

/// Whether the search box holds a condition (`level = 'error' AND …`, `message LIKE '%x%'`,
/// `duration > 5`) rather than words: a comparison between a name and a value outside quotes,
/// or one of the query language's keywords.
fn is_condition(q: &str) -> bool {
    let lower = q.to_ascii_lowercase();
    // Outside 'string literals' and "quoted phrases"; each quoted part becomes `q`.
    let mut outside = String::new();
    let mut quote = None;
    for c in lower.chars() {
        match (quote, c) {
            (None, '\'' | '"') => {
                quote = Some(c);
                outside.push('q');
            }
            (Some(q), c) if c == q => quote = None,
            (None, c) => outside.push(c),
            _ => {}
        }
    }
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.';
    let chars: Vec<char> = outside.chars().collect();
    let comparison = chars.iter().enumerate().any(|(i, &c)| {
        if !matches!(c, '=' | '<' | '>') {
            return false;
        }
        let before = chars[..i]
            .iter()
            .rev()
            .find(|c| !matches!(c, ' ' | '!' | '<' | '>' | '='));
        let after = chars[i + 1..]
            .iter()
            .find(|c| !matches!(c, ' ' | '=' | '>'));
        before.is_some_and(|&c| word(c)) && after.is_some_and(|&c| word(c) || c == '-' || c == '(')
    });
    comparison
        || [" like ", " in (", "match(", " is null", " is not null"]
            .iter()
            .any(|k| outside.contains(k))
}

fn is_whole_query(q: &str) -> bool {
    let lower = q.trim_start().to_ascii_lowercase();
    lower.starts_with("select ") || lower.starts_with("explain ")
}

/// A string literal of the query language.
pub(crate) fn sql_string(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// `GET /ui/logs`.
pub(crate) async fn page(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Response {
    let form = Form::parse(raw.as_deref());
    let (range, range_problem) = TimeRange::from_form(&form);
    let filters = Filters::from_form(&form);
    if is_whole_query(&filters.q) {
        let mut p = range.link_pairs();
        p.push(("q", filters.q.clone()));
        return see_other(&format!("query?{}", qs(&p)));
    }
    let offset = form
        .get("offset")
        .and_then(|o| o.parse::<usize>().ok())
        .unwrap_or(0);
    let services = services(&state, &range, "logs").await;
    let (hist, list) = tokio::join!(
        histogram(&state, &range, &filters),
        fetch(&state, &range, &filters, offset)
    );
    // The tail starts where the list ends, so that no record falls between them.
    let since = range.end.to_rfc3339();
    let mut tail_q = filters.pairs();
    tail_q.push(("since", since));
    let body = html! {
        @if let Some(p) = range_problem { (notice(&p)) }
        form.filters method="get" action="logs" {
            (super::layout::range_inputs(&range))
            input.search type="search" name="q" value=(filters.q) autofocus
                placeholder="Search words or \"a phrase\", or a condition: level = 'error' AND service = 'api'"
                aria-label="Search";
            select name="service" aria-label="Service" {
                option value="" { "all services" }
                @for s in &services { option value=(s) selected[*s == filters.service] { (s) } }
                @if !filters.service.is_empty() && !services.contains(&filters.service) {
                    option value=(filters.service) selected { (filters.service) }
                }
            }
            select name="level" aria-label="Level" {
                option value="" { "all levels" }
                @for l in LEVELS { option value=(l) selected[l == filters.level] { (l) } }
            }
            @if !filters.trace_id.is_empty() {
                label.chip { "trace " code { (short(&filters.trace_id)) } input type="hidden" name="trace_id" value=(filters.trace_id); }
            }
            button type="submit" { "Search" }
        }
        (hist)
        section.tail #tail data-src={ "logs/tail?" (qs(&tail_q)) } {
            button #tail-toggle type="button" disabled { "▶ Live tail" }
            button #tail-pause type="button" hidden { "Pause" }
            span #tail-status.muted { "Live tail needs JavaScript." }
            div #tail-rows.logs {}
        }
        @match list {
            Ok((logs, total)) => {
                p.muted.summary {
                    @match total {
                        Some(t) => { (count(t)) " logs" @if t > 0 { ", newest first" } }
                        None => { "logs matching the condition, newest first" }
                    }
                }
                div #results.logs {
                    (log_rows(&logs))
                    (more_link(&range, &filters, offset, logs.len(), total))
                }
                @if logs.is_empty() {
                    p.empty { "No logs in this range. Widen the time range or change the search." }
                }
            }
            Err(e) => (error_box(&e)),
        }
    };
    let mut keep = filters.pairs();
    keep.retain(|(_, v)| !v.is_empty());
    super::page(&state, "Logs", Nav::Logs, &range, &keep, body).await
}

/// `GET /ui/logs/more`: the next page of results, as a fragment (htmx swaps it in for the
/// "load more" link).
pub(crate) async fn more(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Response {
    let form = Form::parse(raw.as_deref());
    let (range, _) = TimeRange::from_form(&form);
    let filters = Filters::from_form(&form);
    let offset = form
        .get("offset")
        .and_then(|o| o.parse::<usize>().ok())
        .unwrap_or(0);
    match fetch(&state, &range, &filters, offset).await {
        Ok((logs, total)) => html_response(html! {
            (log_rows(&logs))
            (more_link(&range, &filters, offset, logs.len(), total))
        }),
        Err(e) => html_response(error_box(&e)),
    }
}

fn more_link(
    range: &TimeRange,
    filters: &Filters,
    offset: usize,
    got: usize,
    total: Option<u64>,
) -> Markup {
    let next = offset + got;
    let has_more = match total {
        Some(t) => (next as u64) < t,
        None => got == PAGE,
    };
    if !has_more {
        return html! {};
    }
    // The absolute range of the first page, so that new records do not shift the pages.
    let mut p = TimeRange::custom(range.start, range.end).link_pairs();
    p.extend(filters.pairs());
    p.push(("offset", next.to_string()));
    let q = qs(&p);
    html! {
        a.more href={ "logs?" (q) } hx-get={ "logs/more?" (q) }
            hx-trigger="revealed" hx-swap="outerHTML" { "Load more" }
    }
}

/// One page of logs: from `GET /api/v1/logs` for words, from the query API for conditions.
/// The total is known for the former only.
async fn fetch(
    state: &AppState,
    range: &TimeRange,
    filters: &Filters,
    offset: usize,
) -> Result<(Vec<LogRecord>, Option<u64>), ApiError> {
    if filters.is_condition() {
        let query = format!(
            "SELECT * FROM logs WHERE {} ORDER BY timestamp DESC LIMIT {PAGE} OFFSET {offset}",
            filters.condition()
        );
        let v = run_query(state, range, &query).await?;
        return Ok((records_of(&v)?, None));
    }
    let mut p = range.api_pairs();
    p.extend(filters.pairs());
    p.push(("limit", PAGE.to_string()));
    p.push(("offset", offset.to_string()));
    let page =
        json_of(crate::routes::logs::query(State(state.clone()), RawQuery(Some(qs(&p)))).await)?;
    Ok((page.logs, Some(page.total)))
}

/// The rows of a `SELECT * FROM logs` as records (its columns are fields of a record).
fn records_of(answer: &QueryAnswer) -> Result<Vec<LogRecord>, ApiError> {
    answer
        .rows_as_objects()
        .into_iter()
        .map(|row| {
            LogRecord::read_back(&Value::Object(row)).map_err(|e| {
                ApiError::Internal(format!("a row of logs did not read back as a record: {e}"))
            })
        })
        .collect()
}

/// Runs a query of the query language through `GET /api/v1/query` over the range.
pub(crate) async fn run_query(
    state: &AppState,
    range: &TimeRange,
    query: &str,
) -> Result<QueryAnswer, ApiError> {
    let p = [
        ("query", query.to_string()),
        ("start", range.start.to_rfc3339()),
        ("end", range.end.to_rfc3339()),
    ];
    json_of(crate::routes::query::get(State(state.clone()), RawQuery(Some(qs(&p)))).await)
}

/// Services seen in the range in `source` (`logs` or `spans`), for the filters.
pub(crate) async fn services(state: &AppState, range: &TimeRange, source: &str) -> Vec<String> {
    let query = format!(
        "SELECT service, count(*) AS n FROM {source} GROUP BY service ORDER BY service LIMIT 200"
    );
    run_query(state, range, &query)
        .await
        .map(|v| {
            v.rows_as_objects()
                .iter()
                .filter_map(|r| r.get("service")?.as_str().map(str::to_string))
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// The histogram of log counts over the range, with the same filters as the list.
async fn histogram(state: &AppState, range: &TimeRange, filters: &Filters) -> Markup {
    let width = super::chart::bucket_width(range.width(), 60);
    let cond = filters.condition();
    let query = format!(
        "SELECT bucket(timestamp, {}) AS t, count(*) AS n FROM logs {} GROUP BY t ORDER BY t",
        crate::retention::format_duration(width),
        if cond.is_empty() {
            String::new()
        } else {
            format!("WHERE {cond}")
        }
    );
    let v = match run_query(state, range, &query).await {
        Ok(v) => v,
        Err(e) => return error_box(&e),
    };
    let buckets: Vec<(i64, u64)> = v
        .rows_as_objects()
        .iter()
        .filter_map(|r| {
            let t = Timestamp::parse(r.get("t")?.as_str()?).ok()?;
            Some((t.0, r.get("n")?.as_u64()?))
        })
        .collect();
    let href = |s: i64, e: i64| {
        let mut p = TimeRange::custom(Timestamp(s), Timestamp(e)).link_pairs();
        p.extend(filters.pairs());
        format!("logs?{}", qs(&p))
    };
    super::chart::histogram(&buckets, range.start.0, range.end.0, width, href)
}

/// Log records as rows; each opens into its details.
pub(crate) fn log_rows(logs: &[LogRecord]) -> Markup {
    html! {
        @for r in logs { (log_row(r)) }
    }
}

fn log_row(r: &LogRecord) -> Markup {
    let level = r.level().as_str();
    let timestamp = r.timestamp.to_rfc3339();
    let mut more: Vec<(&str, String)> = Vec::new();
    if !r.severity_text.is_empty() {
        more.push(("severity_text", r.severity_text.clone()));
    }
    more.push(("severity_number", r.severity_number.to_string()));
    if r.observed_timestamp.0 != 0 {
        more.push(("observed_timestamp", r.observed_timestamp.to_rfc3339()));
    }
    if !r.scope.is_empty() {
        more.push(("scope", value_text(&r.scope.to_json())));
    }
    if r.flags != 0 {
        more.push(("flags", r.flags.to_string()));
    }
    html! {
        details.log {
            summary {
                time { (fmt_time(&timestamp)) }
                span class={ "level level-" (level) } { (level) }
                span.service { (r.service) }
                span.message { (r.body) }
            }
            div.detail {
                table.kv {
                    tr { th { "timestamp" } td { (timestamp) } }
                    @if let Some(t) = r.trace_id {
                        @let t = t.to_hex();
                        tr { th { "trace" } td { a.trace-link href={ "traces/" (t) } { (t) } } }
                        tr { th { "span" } td { (r.span_id.map(|s| s.to_hex()).unwrap_or_default()) } }
                    }
                    @for (k, v) in &more {
                        tr { th { (k) } td { (v) } }
                    }
                }
                h4 { "Attributes" }
                (attributes_table(&r.attributes))
                h4 { "Resource" }
                (attributes_table(&r.resource))
            }
        }
    }
}

fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

/// `GET /ui/logs/tail?since=…&q=…&service=…&level=…`: new records as Server-Sent Events
/// (`event: log`, the data an HTML row), oldest first, each once, from `since` on.
/// Each event's id is its record's timestamp: a browser reconnecting sends the last one as
/// `Last-Event-ID`, and the tail goes on from there.
pub(crate) async fn tail(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let form = Form::parse(raw.as_deref());
    let filters = Filters::from_form(&form);
    let last_event = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|s| Timestamp::parse(s).ok());
    let since = last_event
        .or_else(|| form.get("since").and_then(|s| Timestamp::parse(s).ok()))
        .unwrap_or_else(Timestamp::now);
    // With API keys, the tail lives only as long as the key that opened it.
    let key = if state.key_auth {
        crate::auth::presented_key(&headers)
    } else {
        None
    };
    Sse::new(tail_stream(state, filters, since, key))
        .keep_alive(KeepAlive::default())
        .into_response()
}

struct TailState {
    state: AppState,
    filters: Filters,
    /// Where the first poll starts, until a record was sent.
    since: Timestamp,
    cursor: TailCursor,
    queue: std::collections::VecDeque<Event>,
    first: bool,
    /// The API key the tail was opened with: checked before each poll, so that a revoked or
    /// expired key ends the stream.
    key: Option<String>,
}

fn tail_stream(
    state: AppState,
    filters: Filters,
    since: Timestamp,
    key: Option<String>,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let init = TailState {
        state,
        filters,
        since,
        cursor: TailCursor::default(),
        queue: Default::default(),
        first: true,
        key,
    };
    futures_util::stream::unfold(init, |mut s| async move {
        if s.first {
            s.first = false;
            return Some((Ok(Event::default().event("ready").data("live")), s));
        }
        loop {
            if let Some(e) = s.queue.pop_front() {
                return Some((Ok(e), s));
            }
            tokio::time::sleep(TAIL_EVERY).await;
            if let Some(k) = &s.key
                && s.state.keys.authenticate(k, Timestamp::now()).is_none()
            {
                return None;
            }
            let from = s.cursor.last().unwrap_or(s.since);
            match poll(&s.state, &s.filters, from).await {
                Ok(logs) => {
                    for r in logs.iter().filter(|r| s.cursor.admit(r)) {
                        s.queue.push_back(
                            Event::default()
                                .event("log")
                                .id(r.timestamp.to_rfc3339())
                                .data(log_row(r).into_string()),
                        );
                    }
                }
                Err(e) => {
                    let msg = e.error_body().error;
                    return Some((Ok(Event::default().event("problem").data(msg)), s));
                }
            }
        }
    })
}

async fn poll(
    state: &AppState,
    filters: &Filters,
    cursor: Timestamp,
) -> Result<Vec<LogRecord>, ApiError> {
    if filters.is_condition() {
        let query = format!(
            "SELECT * FROM logs WHERE {} ORDER BY timestamp ASC LIMIT {TAIL_BATCH}",
            filters.condition()
        );
        let range = TimeRange::custom(cursor, Timestamp(Timestamp::now().0 + 86_400_000_000_000));
        let v = run_query(state, &range, &query).await?;
        return records_of(&v);
    }
    let mut p = vec![
        ("start_time", cursor.to_rfc3339()),
        ("order", "asc".to_string()),
        ("limit", TAIL_BATCH.to_string()),
    ];
    p.extend(filters.pairs());
    let page =
        json_of(crate::routes::logs::query(State(state.clone()), RawQuery(Some(qs(&p)))).await)?;
    Ok(page.logs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_and_words_are_told_apart() {
        assert!(is_condition("level = 'error' AND service = 'api'"));
        assert!(is_condition("message LIKE '%GET%'"));
        assert!(is_condition("MATCH('timeout')"));
        assert!(!is_condition("connection refused"));
        assert!(!is_condition("\"a=b\""), "an = inside a phrase is a word");
        assert!(!is_condition("not found"));
        assert!(!is_condition("<html>"));
        assert!(!is_condition("a -> b"));
        assert!(is_condition("duration > 5"));
        assert!(is_condition("level != 'debug'"));
        assert!(is_whole_query("SELECT count(*) FROM logs"));
    }

    #[test]
    fn filters_become_a_condition() {
        let f = Filters {
            q: "it's down".into(),
            service: "api".into(),
            level: "error".into(),
            trace_id: String::new(),
        };
        assert_eq!(
            f.condition(),
            "MATCH('it''s down') AND service = 'api' AND level = 'error'"
        );
    }
}
