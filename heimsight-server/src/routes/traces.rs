//! `POST /api/v1/traces`, `GET /api/v1/traces` and `GET /api/v1/traces/{trace_id}`.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use heimsight_core::api::{Accepted, SpanNode, TraceDetail, TracesPage};
use heimsight_core::{Span, SpanId, TraceId};
use heimsight_ingest::Receipt;
use heimsight_store::{LogFilter, LogQuery, Order, TraceQuery, TraceSummary};

use crate::api_error::ApiError;
use crate::body::JsonBody;
use crate::params::Params;
use crate::state::AppState;

const PARAMS: &[&str] = &[
    "service",
    "operation",
    "start_time",
    "end_time",
    "min_duration",
    "max_duration",
    "status",
    "limit",
];
const DEFAULT_LIMIT: usize = 20;
const MAX_LIMIT: usize = 1_000;
/// At most this many correlated logs are returned with a trace (oldest first).
const MAX_TRACE_LOGS: usize = 1_000;
/// Nesting of the span tree is capped at this depth; deeper spans are listed flat under the
/// deepest node shown (their `parent_span_id` still tells where they belong).
const MAX_TREE_DEPTH: usize = 64;

/// The answer of every ingest endpoint: 201 `{"accepted": n}` when every item was valid, else
/// a 400 that lists the rejected items (the valid ones are stored all the same).
pub(crate) fn ingest_response(
    state: &AppState,
    signal: heimsight_store::Signal,
    r: Receipt,
    bytes: usize,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    state.ingested.add(signal, r.accepted);
    state.metrics.ingested(
        signal,
        crate::telemetry::Protocol::Json,
        r.accepted,
        r.rejected_items as u64,
        bytes,
    );
    if r.rejected_items == 0 {
        Ok((
            StatusCode::CREATED,
            Json(Accepted {
                accepted: r.accepted,
            }),
        ))
    } else {
        Err(ApiError::Rejected {
            accepted: r.accepted,
            rejected: r.rejected_items,
            errors: r.errors,
        })
    }
}

pub(crate) async fn ingest(
    State(state): State<AppState>,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let size = body.len();
    let receipt = state
        .blocking(move |store| heimsight_ingest::json::ingest_spans(store, &body))
        .await?;
    ingest_response(&state, heimsight_store::Signal::Spans, receipt, size)
}

pub(crate) async fn search(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<TracesPage>, ApiError> {
    let p = Params::parse(raw.as_deref(), PARAMS)?;
    let min_duration = p.duration("min_duration")?;
    let max_duration = p.duration("max_duration")?;
    if let (Some(min), Some(max)) = (min_duration, max_duration)
        && max < min
    {
        return Err(ApiError::bad_request(
            "invalid duration range: max_duration is shorter than min_duration",
        ));
    }
    let want_error = match p.one("status")? {
        None => None,
        Some("error") => Some(true),
        Some("ok") => Some(false),
        Some(other) => {
            return Err(ApiError::bad_param(
                "status",
                format!("expected error (traces with a failed span) or ok, found {other:?}"),
            ));
        }
    };
    let limit = p.count("limit", DEFAULT_LIMIT, MAX_LIMIT)?;
    // The store does not index status: look through more traces, then keep `limit`.
    let mut query = TraceQuery::default()
        .with_range(p.time_range()?)
        .with_limit(if want_error.is_some() {
            MAX_LIMIT
        } else {
            limit
        });
    query.service = p.one("service")?.map(str::to_string);
    query.operation = p.one("operation")?.map(str::to_string);
    query.min_duration = min_duration;
    query.max_duration = max_duration;
    let mut traces = state
        .blocking(move |store| store.find_traces(&query))
        .await?;
    if let Some(error) = want_error {
        traces.retain(|t| t.error == error);
        traces.truncate(limit);
    }
    Ok(Json(TracesPage { traces }))
}

pub(crate) async fn trace(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<TraceDetail>, ApiError> {
    let trace_id: TraceId = id
        .parse()
        .map_err(|e| ApiError::bad_request(format!("invalid trace id {id:?}: {e}")))?;
    let (spans, logs) = state
        .blocking(move |store| {
            let spans = store.get_trace(&trace_id)?;
            if spans.is_empty() {
                return Ok::<_, heimsight_store::Error>((spans, None));
            }
            let logs = store.query_logs(
                &LogQuery::default()
                    .with_filter(LogFilter::default().with_trace_ids([trace_id]))
                    .with_order(Order::OldestFirst)
                    .with_limit(MAX_TRACE_LOGS),
            )?;
            Ok((spans, Some(logs)))
        })
        .await?;
    let (Some(summary), Some(logs)) = (TraceSummary::from_spans(&spans), logs) else {
        return Err(ApiError::NotFound(format!(
            "no trace with id {}",
            trace_id.to_hex()
        )));
    };
    let tree = span_tree(&spans);
    Ok(Json(TraceDetail {
        trace_id,
        summary,
        spans,
        tree,
        logs: logs.logs,
        logs_total: logs.total,
    }))
}

/// The spans as a forest: each span with its `children`, ordered by start time. Spans
/// whose parent is not stored are roots. Never loops, whatever the parent links say.
fn span_tree(spans: &[Span]) -> Vec<SpanNode> {
    let index: HashMap<SpanId, usize> = spans
        .iter()
        .enumerate()
        .map(|(i, s)| (s.span_id, i))
        .collect();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); spans.len()];
    let mut roots = Vec::new();
    for (i, s) in spans.iter().enumerate() {
        match s.parent_span_id.and_then(|p| index.get(&p)) {
            Some(&parent) if parent != i => children[parent].push(i),
            _ => roots.push(i),
        }
    }
    let mut visited = vec![false; spans.len()];
    let mut forest: Vec<SpanNode> = roots
        .into_iter()
        .map(|r| node(spans, &children, &mut visited, r, 0))
        .collect();
    // Spans on a parent cycle are reachable from no root: show them as roots.
    for i in 0..spans.len() {
        if !visited[i] {
            forest.push(node(spans, &children, &mut visited, i, 0));
        }
    }
    forest
}

fn node(
    spans: &[Span],
    children: &[Vec<usize>],
    visited: &mut [bool],
    i: usize,
    depth: usize,
) -> SpanNode {
    visited[i] = true;
    let kids: Vec<SpanNode> = if depth + 1 < MAX_TREE_DEPTH {
        let mut out = Vec::new();
        for &c in &children[i] {
            if !visited[c] {
                out.push(node(spans, children, visited, c, depth + 1));
            }
        }
        out
    } else {
        // Too deep: list every remaining descendant flat, without recursion.
        let mut out = Vec::new();
        let mut stack: Vec<usize> = children[i].iter().rev().copied().collect();
        while let Some(c) = stack.pop() {
            if visited[c] {
                continue;
            }
            visited[c] = true;
            out.push(SpanNode {
                span: spans[c].clone(),
                children: Vec::new(),
            });
            stack.extend(children[c].iter().rev().copied());
        }
        out
    };
    SpanNode {
        span: spans[i].clone(),
        children: kids,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use serde_json::json;

    fn span(id: u8, parent: Option<u8>, start: i64) -> Span {
        Span::from_json(&json!({
            "trace_id": "5b8efff798038103d269b633813fc60c",
            "span_id": format!("00000000000000{id:02x}"),
            "parent_span_id": parent.map(|p| format!("00000000000000{p:02x}")),
            "name": format!("op{id}"),
            "start_time": start,
            "end_time": start + 10,
        }))
        .unwrap()
    }

    fn names(forest: &[SpanNode]) -> Vec<String> {
        forest
            .iter()
            .map(|n| {
                let kids = names(&n.children);
                let name = n.span.name.clone();
                if kids.is_empty() {
                    name
                } else {
                    format!("{name}({})", kids.join(","))
                }
            })
            .collect()
    }

    #[test]
    fn builds_nested_tree_with_orphans_as_roots() {
        let spans = vec![
            span(1, None, 0),
            span(2, Some(1), 1),
            span(3, Some(2), 2),
            span(4, Some(1), 3),
            span(5, Some(99), 4),
        ];
        assert_eq!(names(&span_tree(&spans)), ["op1(op2(op3),op4)", "op5"]);
    }

    #[test]
    fn cycles_and_self_parents_terminate() {
        // Validation refuses a span that is its own parent, but stored data is not trusted.
        let mut own_parent = span(3, None, 2);
        own_parent.parent_span_id = Some(own_parent.span_id);
        let spans = vec![span(1, Some(2), 0), span(2, Some(1), 1), own_parent];
        let forest = span_tree(&spans);
        assert_eq!(names(&forest), ["op3", "op1(op2)"]);
    }

    #[test]
    fn deep_chains_are_capped() {
        let spans: Vec<Span> = (1..=200u8)
            .map(|i| span(i, if i == 1 { None } else { Some(i - 1) }, i64::from(i)))
            .collect();
        let forest = span_tree(&spans);
        let mut depth = 0;
        let mut n = &forest[0];
        while let Some(first) = n.children.first() {
            depth += 1;
            n = first;
        }
        assert_eq!(depth, MAX_TREE_DEPTH);
    }
}
