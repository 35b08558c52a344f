//! The Traces pages: search (service, operation, duration, status) with duration bars, and a
//! trace's waterfall — the span tree on a timeline, coloured by service, each span opening
//! into its attributes, events and links — with the trace's correlated logs.

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use heimsight_core::api::{SpanNode, TraceDetail};
use heimsight_core::{Span, StatusCode, Timestamp, TraceId};
use maud::{Markup, html};

use super::layout::range_inputs;
use super::logs::{log_rows, services};
use super::{
    Form, Nav, TimeRange, attributes_table, colour_of, error_box, fmt_duration, fmt_time, json_of,
    notice, qs,
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
                @let traces = v.traces;
                @let longest = traces.iter().map(|t| t.duration_ns).max().unwrap_or(1).max(1);
                @if traces.is_empty() {
                    p.empty { "No traces in this range match." }
                } @else {
                    table.traces {
                        thead { tr { th { "start" } th { "root" } th { "spans" } th { "services" } th.durcol { "duration" } } }
                        tbody {
                            @for t in &traces {
                                @let d = t.duration_ns;
                                tr class=[t.error.then_some("failed")] {
                                    td { time { (fmt_time(&t.start_time.to_rfc3339())) } }
                                    td {
                                        a.trace-link href={ "traces/" (t.trace_id) } {
                                            span.svc style={ "border-color:" (colour_of(&t.root_service)) } { (t.root_service) }
                                            " " (t.root_name)
                                        }
                                        @if t.error { " " span.badge.err { "error" } }
                                    }
                                    td { (t.span_count) }
                                    td.muted { (t.services.join(", ")) }
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

/// A span of the tree, flattened: its depth and the span.
struct Row<'a> {
    depth: usize,
    span: &'a Span,
}

fn flatten<'a>(nodes: &'a [SpanNode], depth: usize, out: &mut Vec<Row<'a>>) {
    for n in nodes {
        out.push(Row {
            depth,
            span: &n.span,
        });
        flatten(&n.children, depth + 1, out);
    }
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

fn trace_view(v: &TraceDetail) -> Markup {
    let mut rows = Vec::new();
    flatten(&v.tree, 0, &mut rows);
    let start = rows.iter().map(|r| r.span.start_time.0).min().unwrap_or(0);
    let end = rows
        .iter()
        .map(|r| r.span.end_time.0)
        .max()
        .unwrap_or(start)
        .max(start + 1);
    let total = (end - start) as f64;
    let s = &v.summary;
    html! {
        h1.trace-title {
            (s.root_service) ": " (s.root_name)
            @if s.error { " " span.badge.err { "error" } }
        }
        p.muted {
            "trace " code { (v.trace_id) } " · started " (fmt_time(&s.start_time.to_rfc3339()))
            " · " (fmt_duration(end - start)) " · " (rows.len()) " spans · "
            a href={ "logs?" (logs_link(v.trace_id, start, end)) } { (v.logs_total) " logs" }
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
                @let d = sp.duration_nanos();
                @let left = (sp.start_time.0 - start) as f64 / total * 100.0;
                @let width = (d as f64 / total * 100.0).max(0.3);
                @let service = sp.service.as_str();
                @let failed = sp.status.code == StatusCode::Error;
                details.span role="row" data-span-id=(sp.span_id) {
                    summary {
                        span.wf-name style={ "padding-left:" (r.depth as f64 * 1.1) "em" } {
                            span.svc style={ "border-color:" (colour_of(service)) } { (service) }
                            " " span.opname { (sp.name) }
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
        @if v.logs.is_empty() {
            p.empty { "No logs carry this trace id." }
        } @else {
            div.logs { (log_rows(&v.logs)) }
        }
    }
}

/// The Logs page's query for the trace's logs: its id, from an hour before the trace to an
/// hour after.
fn logs_link(trace_id: TraceId, start: i64, end: i64) -> String {
    const HOUR: i64 = 3_600_000_000_000;
    let mut p = TimeRange::custom(
        Timestamp(start.saturating_sub(HOUR)),
        Timestamp(end.saturating_add(HOUR)),
    )
    .link_pairs();
    p.push(("trace_id", trace_id.to_hex()));
    qs(&p)
}

fn span_detail(sp: &Span) -> Markup {
    let mut fields: Vec<(&str, String)> = vec![("span_id", sp.span_id.to_hex())];
    if let Some(p) = sp.parent_span_id {
        fields.push(("parent_span_id", p.to_hex()));
    }
    fields.push(("kind", sp.kind.as_str().into()));
    fields.push(("start_time", sp.start_time.to_rfc3339()));
    fields.push(("end_time", sp.end_time.to_rfc3339()));
    if !sp.trace_state.is_empty() {
        fields.push(("trace_state", sp.trace_state.clone()));
    }
    html! {
        table.kv {
            @for (k, v) in &fields { tr { th { (k) } td { (v) } } }
            tr { th { "duration" } td { (fmt_duration(sp.duration_nanos())) } }
            tr { th { "status" } td { (sp.status.code.as_str()) @if !sp.status.message.is_empty() { " — " (sp.status.message) } } }
        }
        h4 { "Attributes" }
        (attributes_table(&sp.attributes))
        @if !sp.events.is_empty() {
            h4 { "Events" }
            ul.events {
                @for e in &sp.events {
                    li { time { (fmt_time(&e.timestamp.to_rfc3339())) } " " strong { (e.name) } (attributes_table(&e.attributes)) }
                }
            }
        }
        @if !sp.links.is_empty() {
            h4 { "Links" }
            ul.links {
                @for l in &sp.links {
                    li { a href={ "traces/" (l.trace_id) } { (l.trace_id) } " span " code { (l.span_id) } (attributes_table(&l.attributes)) }
                }
            }
        }
        h4 { "Resource" }
        (attributes_table(&sp.resource))
    }
}
