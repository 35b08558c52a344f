//! OTLP traces to and from [`Span`]s.

use std::sync::Arc;

use heimsight_core::SharedAttributes;
use heimsight_core::log::service_name;
use heimsight_core::{Span, SpanEvent, SpanKind, SpanLink, Status, StatusCode, Timestamp};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1 as pb;

use super::Converted;
use super::common::{
    Source, attributes_from_otlp_owned, attributes_to_otlp, group_by_resource_and_scope,
    resource_from_otlp, resource_to_otlp, scope_from_otlp, scope_to_otlp, span_id, time,
    time_to_otlp, trace_id,
};

/// Converts an export request to spans.
///
/// A span is rejected (and counted in [`Converted::rejected`]) when its trace or span id is
/// missing or has the wrong length, its name is empty, its kind or status code is unknown,
/// a time is zero or out of range, or it ends before it starts.
///
/// The request is taken by value: strings and attribute values move into the spans rather
/// than being copied (a request is converted once).
pub fn spans_from_otlp(req: ExportTraceServiceRequest) -> Converted<Span> {
    let mut out = Converted::default();
    for (ri, rs) in req.resource_spans.into_iter().enumerate() {
        let resource =
            SharedAttributes::new(resource_from_otlp(rs.resource.as_ref(), &rs.schema_url));
        let service = service_name(None, &resource);
        for (si, ss) in rs.scope_spans.into_iter().enumerate() {
            let scope = Arc::new(scope_from_otlp(ss.scope.as_ref(), &ss.schema_url));
            let from = Source {
                service: &service,
                resource: &resource,
                scope: &scope,
            };
            for (pi, sp) in ss.spans.into_iter().enumerate() {
                match span(sp, &from) {
                    Ok(s) => out.items.push(s),
                    Err(e) => out.reject(format!(
                        "resource_spans[{ri}].scope_spans[{si}].spans[{pi}].{e}"
                    )),
                }
            }
        }
    }
    out
}

fn required_time(field: &str, t: u64) -> Result<Timestamp, String> {
    let ts = Timestamp(time(field, t)?);
    if t == 0 {
        return Err(format!("{field}: missing (0)"));
    }
    if !ts.in_record_range() {
        return Err(format!(
            "{field}: {t} is out of range (1970-01-01 to 2200-01-01)"
        ));
    }
    Ok(ts)
}

fn span(sp: pb::Span, from: &Source<'_>) -> Result<Span, String> {
    let trace = trace_id("trace_id", &sp.trace_id)?.ok_or("trace_id: missing")?;
    let id = span_id("span_id", &sp.span_id)?.ok_or("span_id: missing")?;
    let parent = span_id("parent_span_id", &sp.parent_span_id)?;
    if sp.name.trim().is_empty() {
        return Err("name: must not be empty".into());
    }
    let kind = u64::try_from(sp.kind)
        .ok()
        .and_then(SpanKind::from_number)
        .ok_or_else(|| format!("kind: {} is not a known span kind (0-5)", sp.kind))?;
    let start = required_time("start_time_unix_nano", sp.start_time_unix_nano)?;
    let end = required_time("end_time_unix_nano", sp.end_time_unix_nano)?;
    if end < start {
        return Err("end_time_unix_nano: is before start_time_unix_nano".into());
    }
    if parent == Some(id) {
        return Err("parent_span_id: a span cannot be its own parent".into());
    }
    let status = match sp.status {
        None => Status::default(),
        Some(st) => Status {
            code: u64::try_from(st.code)
                .ok()
                .and_then(StatusCode::from_number)
                .ok_or_else(|| {
                    format!("status.code: {} is not a known status code (0-2)", st.code)
                })?,
            message: st.message,
        },
    };
    let mut events = Vec::with_capacity(sp.events.len());
    for (i, ev) in sp.events.into_iter().enumerate() {
        events.push(SpanEvent {
            timestamp: required_time(&format!("events[{i}].time_unix_nano"), ev.time_unix_nano)?,
            name: ev.name,
            attributes: attributes_from_otlp_owned(ev.attributes),
            dropped_attributes_count: ev.dropped_attributes_count,
        });
    }
    let mut links = Vec::with_capacity(sp.links.len());
    for (i, l) in sp.links.into_iter().enumerate() {
        links.push(SpanLink {
            trace_id: trace_id(&format!("links[{i}].trace_id"), &l.trace_id)?
                .ok_or_else(|| format!("links[{i}].trace_id: missing"))?,
            span_id: span_id(&format!("links[{i}].span_id"), &l.span_id)?
                .ok_or_else(|| format!("links[{i}].span_id: missing"))?,
            trace_state: l.trace_state,
            attributes: attributes_from_otlp_owned(l.attributes),
            dropped_attributes_count: l.dropped_attributes_count,
            flags: l.flags,
        });
    }
    Ok(Span {
        trace_id: trace,
        span_id: id,
        parent_span_id: parent,
        name: sp.name,
        kind,
        service: from.service.to_owned(),
        start_time: start,
        end_time: end,
        status,
        attributes: attributes_from_otlp_owned(sp.attributes),
        resource: from.resource.clone(),
        scope: from.scope.clone(),
        events,
        links,
        trace_state: sp.trace_state,
        flags: sp.flags,
        dropped_attributes_count: sp.dropped_attributes_count,
        dropped_events_count: sp.dropped_events_count,
        dropped_links_count: sp.dropped_links_count,
    })
}

fn kind_number(k: SpanKind) -> i32 {
    match k {
        SpanKind::Unspecified => 0,
        SpanKind::Internal => 1,
        SpanKind::Server => 2,
        SpanKind::Client => 3,
        SpanKind::Producer => 4,
        SpanKind::Consumer => 5,
    }
}

fn status_number(c: StatusCode) -> i32 {
    match c {
        StatusCode::Unset => 0,
        StatusCode::Ok => 1,
        StatusCode::Error => 2,
    }
}

/// Converts spans to an export request, grouping them by resource and scope (the inverse of
/// [`spans_from_otlp`]).
pub fn spans_to_otlp(spans: &[Span]) -> ExportTraceServiceRequest {
    let groups = group_by_resource_and_scope(spans, |s| &s.resource, |s| &s.scope);
    let resource_spans = groups
        .into_iter()
        .map(|scopes| {
            let (resource, schema_url) = resource_to_otlp(&scopes[0][0].resource);
            pb::ResourceSpans {
                resource: Some(resource),
                schema_url,
                scope_spans: scopes
                    .into_iter()
                    .map(|spans| {
                        let (scope, schema_url) = scope_to_otlp(&spans[0].scope);
                        pb::ScopeSpans {
                            scope,
                            schema_url,
                            spans: spans.into_iter().map(span_to_otlp).collect(),
                        }
                    })
                    .collect(),
            }
        })
        .collect();
    ExportTraceServiceRequest { resource_spans }
}

fn span_to_otlp(s: &Span) -> pb::Span {
    pb::Span {
        trace_id: s.trace_id.0.to_vec(),
        span_id: s.span_id.0.to_vec(),
        trace_state: s.trace_state.clone(),
        parent_span_id: s.parent_span_id.map(|p| p.0.to_vec()).unwrap_or_default(),
        flags: s.flags,
        name: s.name.clone(),
        kind: kind_number(s.kind),
        start_time_unix_nano: time_to_otlp(s.start_time.0),
        end_time_unix_nano: time_to_otlp(s.end_time.0),
        attributes: attributes_to_otlp(&s.attributes),
        dropped_attributes_count: s.dropped_attributes_count,
        events: s
            .events
            .iter()
            .map(|e| pb::span::Event {
                time_unix_nano: time_to_otlp(e.timestamp.0),
                name: e.name.clone(),
                attributes: attributes_to_otlp(&e.attributes),
                dropped_attributes_count: e.dropped_attributes_count,
            })
            .collect(),
        dropped_events_count: s.dropped_events_count,
        links: s
            .links
            .iter()
            .map(|l| pb::span::Link {
                trace_id: l.trace_id.0.to_vec(),
                span_id: l.span_id.0.to_vec(),
                trace_state: l.trace_state.clone(),
                attributes: attributes_to_otlp(&l.attributes),
                dropped_attributes_count: l.dropped_attributes_count,
                flags: l.flags,
            })
            .collect(),
        dropped_links_count: s.dropped_links_count,
        status: if s.status == Status::default() {
            None
        } else {
            Some(pb::Status {
                message: s.status.message.clone(),
                code: status_number(s.status.code),
            })
        },
    }
}
