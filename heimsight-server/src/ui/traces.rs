//! The Traces pages: search (service, operation, duration, status) with duration bars, and a
//! trace's waterfall — the span tree on a timeline, coloured by service, each span opening
//! into its attributes, events and links — with the trace's correlated logs.

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use heimsight_core::Timestamp;
use maud::{Markup, html};
use serde_json::Value;

use super::layout::range_inputs;
use super::logs::{log_rows, services};
use super::{
    Form, Nav, TimeRange, colour_of, error_box, fmt_duration, fmt_time, json_of, kv_table, notice,
    qs, value_text,
};
use crate::state::AppState;

/// `GET /ui/traces`.
pub(crate) async fn search(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Response {
    let form = Form::parse(raw.as_deref());
    let (range, range_problem) = TimeRange::from_form(&form);
    let fields = [
        "service",
        "operation",
        "min_duration",
        "max_duration",
        "status",
    ];
    let mut p = range.api_pairs();
    for f in fields {
        p.push((f, form.str(f).to_string()));
    }
    p.push(("limit", "50".into()));
    let found =
        json_of(crate::routes::traces::search(State(state.clone()), RawQuery(Some(qs(&p)))).await);
    let services = services(&state, &range, "spans").await;
    let status = form.str("status");
    let body = html! {
        @if let Some(p) = range_problem { (notice(&p)) }
        form.filters method="get" action="traces" {
            (range_inputs(&range))
            select name="service" aria-label="Service" {
                option value="" { "all services" }
                @for s in &services { option value=(s) selected[s == form.str("service")] { (s) } }
            }
            input type="text" name="operation" value=(form.str("operation")) placeholder="operation (span name)" aria-label="Operation";
            input.short type="text" name="min_duration" value=(form.str("min_duration")) placeholder="min 250ms" aria-label="Minimum duration";
            input.short type="text" name="max_duration" value=(form.str("max_duration")) placeholder="max 2s" aria-label="Maximum duration";
            select name="status" aria-label="Status" {
                option value="" { "any status" }
                option value="error" selected[status == "error"] { "errors" }
                option value="ok" selected[status == "ok"] { "no errors" }
            }
            button type="submit" { "Search" }
        }
        @match found {
            Ok(v) => {
                @let traces = v["traces"].as_array().cloned().unwrap_or_default();
                @let longest = traces.iter().filter_map(|t| t["duration_ns"].as_i64()).max().unwrap_or(1).max(1);
                @if traces.is_empty() {
                    p.empty { "No traces in this range match." }
                } @else {
                    table.traces {
                        thead { tr { th { "start" } th { "root" } th { "spans" } th { "services" } th.durcol { "duration" } } }
                        tbody {
                            @for t in &traces {
                                @let id = t["trace_id"].as_str().unwrap_or("");
                                @let d = t["duration_ns"].as_i64().unwrap_or(0);
                                tr class=[(t["error"] == true).then_some("failed")] {
                                    td { time { (fmt_time(t["start_time"].as_str().unwrap_or(""))) } }
                                    td {
                                        a.trace-link href={ "traces/" (id) } {
                                            span.svc style={ "border-color:" (colour_of(t["root_service"].as_str().unwrap_or(""))) } { (t["root_service"].as_str().unwrap_or("")) }
                                            " " (t["root_name"].as_str().unwrap_or(""))
                                        }
                                        @if t["error"] == true { " " span.badge.err { "error" } }
                                    }
                                    td { (value_text(&t["span_count"])) }
                                    td.muted { (t["services"].as_array().map(|s| s.iter().map(value_text).collect::<Vec<_>>().join(", ")).unwrap_or_default()) }
                                    td.durcol {
                                        div.durbar { span style={ "width:" (format!("{:.1}", d as f64 / longest as f64 * 100.0)) "%" } {} }
                                        span.dur { (fmt_duration(d)) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            Err(e) => (error_box(&e)),
        }
    };
    let keep: Vec<(&str, String)> = fields
        .iter()
        .map(|f| (*f, form.str(f).to_string()))
        .collect();
    super::page(&state, "Traces", Nav::Traces, &range, &keep, body).await
}

/// A span of the tree, flattened: its depth and its JSON.
struct Row<'a> {
    depth: usize,
    span: &'a Value,
}

fn flatten<'a>(nodes: &'a [Value], depth: usize, out: &mut Vec<Row<'a>>) {
    for n in nodes {
        out.push(Row { depth, span: n });
        if let Some(kids) = n["children"].as_array() {
            flatten(kids, depth + 1, out);
        }
    }
}

fn nanos(v: &Value) -> Option<i64> {
    v.as_str()
        .and_then(|s| Timestamp::parse(s).ok())
        .map(|t| t.0)
}

/// `GET /ui/traces/{id}`.
pub(crate) async fn detail(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let form = Form::parse(raw.as_deref());
    let (range, _) = TimeRange::from_form(&form);
    let answer =
        json_of(crate::routes::traces::trace(State(state.clone()), Path(id.clone())).await);
    let body = match answer {
        Err(e) => html! {
            h1 { "Trace " code { (id) } }
            (error_box(&e))
            p { a href="traces" { "Back to the trace search" } }
        },
        Ok(v) => trace_view(&v),
    };
    super::page(&state, "Trace", Nav::Traces, &range, &[], body).await
}

fn trace_view(v: &Value) -> Markup {
    let tree = v["tree"].as_array().cloned().unwrap_or_default();
    let mut rows = Vec::new();
    flatten(&tree, 0, &mut rows);
    let start = rows
        .iter()
        .filter_map(|r| nanos(&r.span["start_time"]))
        .min()
        .unwrap_or(0);
    let end = rows
        .iter()
        .filter_map(|r| nanos(&r.span["end_time"]))
        .max()
        .unwrap_or(start)
        .max(start + 1);
    let total = (end - start) as f64;
    let s = &v["summary"];
    let logs = v["logs"].as_array().cloned().unwrap_or_default();
    html! {
        h1.trace-title {
            (s["root_service"].as_str().unwrap_or("")) ": " (s["root_name"].as_str().unwrap_or(""))
            @if s["error"] == true { " " span.badge.err { "error" } }
        }
        p.muted {
            "trace " code { (value_text(&v["trace_id"])) } " · started " (fmt_time(s["start_time"].as_str().unwrap_or("")))
            " · " (fmt_duration(end - start)) " · " (rows.len()) " spans · "
            a href={ "logs?" (logs_link(v, start, end)) } { (value_text(&v["logs_total"])) " logs" }
        }
        div.waterfall role="table" aria-label="span waterfall" {
            div.wf-head role="row" {
                span role="columnheader" { "span" }
                span.wf-scale role="columnheader" {
                    @for i in 0..=4 { span style={ "left:" (i * 25) "%" } { (fmt_duration((total * i as f64 / 4.0) as i64)) } }
                }
                span role="columnheader" { "duration" }
            }
            @for r in &rows {
                @let sp = r.span;
                @let s0 = nanos(&sp["start_time"]).unwrap_or(start);
                @let d = sp["duration_ns"].as_i64().unwrap_or(0);
                @let left = (s0 - start) as f64 / total * 100.0;
                @let width = (d as f64 / total * 100.0).max(0.3);
                @let service = sp["service"].as_str().unwrap_or("");
                @let failed = sp["status"]["code"] == "error";
                details.span role="row" data-span-id=(value_text(&sp["span_id"])) {
                    summary {
                        span.wf-name style={ "padding-left:" (r.depth as f64 * 1.1) "em" } {
                            span.svc style={ "border-color:" (colour_of(service)) } { (service) }
                            " " span.opname { (value_text(&sp["name"])) }
                            @if failed { " " span.badge.err { "error" } }
                        }
                        span.wf-track {
                            span class={ "wf-bar" @if failed { " failed" } }
                                style={ "left:" (format!("{left:.2}")) "%;width:" (format!("{width:.2}")) "%;background:" (colour_of(service)) } {}
                        }
                        span.wf-dur { (fmt_duration(d)) }
                    }
                    div.detail { (span_detail(sp)) }
                }
            }
        }
        h2 { "Logs of this trace" }
        @if logs.is_empty() {
            p.empty { "No logs carry this trace id." }
        } @else {
            div.logs { (log_rows(&logs)) }
        }
    }
}

/// The Logs page's query for the trace's logs: its id, from an hour before the trace to an
/// hour after.
fn logs_link(v: &Value, start: i64, end: i64) -> String {
    const HOUR: i64 = 3_600_000_000_000;
    let mut p = TimeRange::custom(
        Timestamp(start.saturating_sub(HOUR)),
        Timestamp(end.saturating_add(HOUR)),
    )
    .link_pairs();
    p.push(("trace_id", value_text(&v["trace_id"])));
    qs(&p)
}

fn span_detail(sp: &Value) -> Markup {
    html! {
        table.kv {
            @for k in ["span_id", "parent_span_id", "kind", "start_time", "end_time", "trace_state"] {
                @if !sp[k].is_null() { tr { th { (k) } td { (value_text(&sp[k])) } } }
            }
            tr { th { "duration" } td { (fmt_duration(sp["duration_ns"].as_i64().unwrap_or(0))) } }
            tr { th { "status" } td { (value_text(&sp["status"]["code"])) @if let Some(m) = sp["status"]["message"].as_str() { " — " (m) } } }
        }
        h4 { "Attributes" }
        (kv_table(&sp["attributes"]))
        @if let Some(events) = sp["events"].as_array().filter(|e| !e.is_empty()) {
            h4 { "Events" }
            ul.events {
                @for e in events {
                    li { time { (fmt_time(e["timestamp"].as_str().unwrap_or(""))) } " " strong { (value_text(&e["name"])) } (kv_table(&e["attributes"])) }
                }
            }
        }
        @if let Some(links) = sp["links"].as_array().filter(|l| !l.is_empty()) {
            h4 { "Links" }
            ul.links {
                @for l in links {
                    li { a href={ "traces/" (value_text(&l["trace_id"])) } { (value_text(&l["trace_id"])) } " span " code { (value_text(&l["span_id"])) } (kv_table(&l["attributes"])) }
                }
            }
        }
        h4 { "Resource" }
        (kv_table(&sp["resource"]))
    }
}
