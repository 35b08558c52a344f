//! The Query page: any query of the query language over the time range, its result as a
//! table or a chart, `EXPLAIN`, and errors shown at their position in the query.

use axum::extract::{RawQuery, State};
use axum::response::Response;
use heimsight_core::Timestamp;
use heimsight_core::api::QueryAnswer;
use maud::{Markup, html};
use serde_json::Value;

use super::chart::{Line, line_chart};
use super::layout::range_inputs;
use super::logs::run_query;
use super::{Form, Nav, TimeRange, error_box, notice, value_text};
use crate::api_error::ApiError;
use crate::state::AppState;

const EXAMPLES: [(&str, &str); 4] = [
    (
        "Log volume per minute",
        "SELECT bucket(timestamp, 1m) AS minute, count(*) FROM logs GROUP BY minute ORDER BY minute",
    ),
    (
        "Errors per service",
        "SELECT service, count(*) AS n FROM logs WHERE level = 'error' GROUP BY service ORDER BY n DESC",
    ),
    (
        "Slowest operations",
        "SELECT name, p99(duration) AS p99, count(*) FROM spans GROUP BY name ORDER BY p99 DESC LIMIT 10",
    ),
    (
        "Logs of failed traces",
        "SELECT timestamp, service, message FROM logs WHERE trace_id IN (SELECT trace_id FROM spans WHERE status = 'error')",
    ),
];

/// `GET /ui/query?q=…&view=table|chart&explain=1`.
pub(crate) async fn page(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Response {
    let form = Form::parse(raw.as_deref());
    let (range, range_problem) = TimeRange::from_form(&form);
    let q = form.str("q").to_string();
    let explain = form.get("explain").is_some();
    let view = form.get("view").unwrap_or("table");
    let answer = if q.is_empty() {
        None
    } else {
        let text = if explain && !q.trim_start().to_ascii_lowercase().starts_with("explain") {
            format!("EXPLAIN {q}")
        } else {
            q.clone()
        };
        Some((run_query(&state, &range, &text).await, text))
    };
    let body = html! {
        @if let Some(p) = range_problem { (notice(&p)) }
        form.query method="get" action="query" {
            (range_inputs(&range))
            textarea name="q" rows="5" spellcheck="false" aria-label="Query"
                placeholder="SELECT service, count(*) FROM logs WHERE level = 'error' GROUP BY service" { (q) }
            div.buttons {
                button type="submit" { "Run" }
                button type="submit" name="explain" value="1" { "Explain" }
                label { "View "
                    select name="view" {
                        option value="table" selected[view == "table"] { "table" }
                        option value="chart" selected[view == "chart"] { "chart" }
                    }
                }
                span.muted { "Over the time range above. " a href="query?q=" { "Clear" } }
            }
        }
        @match &answer {
            None => {
                h3 { "Examples" }
                ul.examples {
                    @for (label, ex) in EXAMPLES {
                        li { a href={ "query?" (super::qs(&[("q", ex)])) } { (label) } br; code { (ex) } }
                    }
                }
            }
            Some((Err(e), text)) => (query_error(e, text)),
            Some((Ok(v), _)) => (result(v, view, &range)),
        }
    };
    let keep = vec![("q", q.clone()), ("view", view.to_string())];
    super::page(&state, "Query", Nav::Query, &range, &keep, body).await
}

/// An invalid query: each problem with the query's line and a caret under its position.
fn query_error(e: &ApiError, text: &str) -> Markup {
    let diagnostics = e.error_body().diagnostics;
    if diagnostics.is_empty() {
        return error_box(e);
    }
    let lines: Vec<&str> = text.lines().collect();
    html! {
        div.error.query-error role="alert" {
            strong { "The query is not valid:" }
            @for d in &diagnostics {
                @let line = d.line.max(1);
                @let col = d.column.max(1);
                @let width = d.end.saturating_sub(d.start).max(1);
                @let src = lines.get(line - 1).copied().unwrap_or("");
                pre.diagnostic {
                    (src) "\n"
                    span.caret { (" ".repeat(src.chars().take(col - 1).count())) ("^".repeat(width.min(80))) }
                }
                p { "line " (line) ", column " (col) ": " (d.message)
                    @if let Some(h) = &d.hint { " — " em { (h) } } }
            }
        }
    }
}

fn result(v: &QueryAnswer, view: &str, range: &TimeRange) -> Markup {
    let columns: Vec<(String, String)> = v
        .columns
        .iter()
        .map(|c| (c.name.clone(), c.ty.clone()))
        .collect();
    let stats = &v.stats;
    html! {
        h3 { "Plan" }
        pre.plan { (serde_json::to_string_pretty(&v.plan).unwrap_or_default()) }
        @if !columns.is_empty() {
            p.muted.summary {
                (stats.rows_returned) " rows · " (stats.rows_scanned) " scanned · "
                (stats.elapsed_ms) " ms"
                @if stats.truncated { " · truncated" }
            }
            @if view == "chart" {
                @match chart_of(&columns, &v.rows, range) {
                    Some(c) => (c),
                    None => p.notice { "A chart needs a time column (such as bucket(timestamp, 1m)) and numeric columns; showing the table." },
                }
            }
            div.scroll {
                table.result {
                    thead { tr { @for (n, t) in &columns { th title=(t) { (n) } } } }
                    tbody {
                        @for r in &v.rows {
                            tr { @for c in r { td { (value_text(c)) } } }
                        }
                    }
                }
            }
        }
    }
}

/// A line chart: the first timestamp column is x; each numeric column is a line, split by
/// the values of the string columns.
fn chart_of(
    columns: &[(String, String)],
    rows: &[Vec<Value>],
    range: &TimeRange,
) -> Option<Markup> {
    let time_col = columns.iter().position(|(_, t)| t == "timestamp")?;
    let numeric: Vec<usize> = columns
        .iter()
        .enumerate()
        .filter(|(i, (_, t))| *i != time_col && ["int", "float", "number"].contains(&t.as_str()))
        .map(|(i, _)| i)
        .collect();
    if numeric.is_empty() {
        return None;
    }
    let keys: Vec<usize> = columns
        .iter()
        .enumerate()
        .filter(|(i, (_, t))| *i != time_col && t == "string")
        .map(|(i, _)| i)
        .collect();
    let mut lines: Vec<Line> = Vec::new();
    for cells in rows {
        let Some(t) = cells
            .get(time_col)
            .and_then(Value::as_str)
            .and_then(|s| Timestamp::parse(s).ok())
        else {
            continue;
        };
        let key: Vec<String> = keys
            .iter()
            .map(|k| value_text(cells.get(*k).unwrap_or(&Value::Null)))
            .collect();
        for n in &numeric {
            let Some(v) = cells.get(*n).and_then(Value::as_f64) else {
                continue;
            };
            let label = if key.is_empty() {
                columns[*n].0.clone()
            } else {
                format!("{} {}", columns[*n].0, key.join(" "))
            };
            match lines.iter_mut().find(|l| l.label == label) {
                Some(l) => l.points.push((t.0, v)),
                None => lines.push(Line {
                    label,
                    points: vec![(t.0, v)],
                }),
            }
        }
    }
    for l in &mut lines {
        l.points.sort_by_key(|p| p.0);
    }
    let (lo, hi) = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.0))
        .fold((range.start.0, range.end.0), |(lo, hi), t| {
            (lo.min(t), hi.max(t))
        });
    Some(line_chart(&lines, lo, hi))
}
