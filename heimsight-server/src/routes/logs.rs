//! `POST /api/v1/logs` and `GET /api/v1/logs`.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use heimsight_core::api::{Accepted, LogsPage};
use heimsight_core::{Level, TraceId};
use heimsight_store::{LogFilter, LogQuery, Order};

use super::traces::ingest_response;
use crate::api_error::ApiError;
use crate::body::JsonBody;
use crate::params::{Params, split_terms};
use crate::state::AppState;

/// Default page size.
const DEFAULT_LIMIT: usize = 100;
/// Largest page size.
const MAX_LIMIT: usize = 10_000;
/// Largest offset (deep paging should narrow the time range instead).
const MAX_OFFSET: usize = 1_000_000;

const PARAMS: &[&str] = &[
    "start_time",
    "end_time",
    "level",
    "service",
    "contains",
    "q",
    "attr",
    "trace_id",
    "order",
    "limit",
    "offset",
];

pub(crate) async fn ingest(
    State(state): State<AppState>,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let size = body.len();
    let receipt = state
        .blocking(move |store| heimsight_ingest::json::ingest_logs(store, &body))
        .await?;
    ingest_response(&state, heimsight_store::Signal::Logs, receipt, size)
}

pub(crate) async fn query(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<LogsPage>, ApiError> {
    let q = log_query(&Params::parse(raw.as_deref(), PARAMS)?)?;
    let (limit, offset) = (q.limit, q.offset);
    let page = state.blocking(move |store| store.query_logs(&q)).await?;
    Ok(Json(LogsPage {
        logs: page.logs,
        total: page.total,
        limit,
        offset,
    }))
}

fn log_query(p: &Params) -> Result<LogQuery, ApiError> {
    let levels = p
        .list("level")
        .iter()
        .map(|l| {
            l.parse::<Level>()
                .map_err(|e| ApiError::bad_param("level", e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let trace_id = p
        .one("trace_id")?
        .map(|t| {
            t.parse::<TraceId>()
                .map_err(|e| ApiError::bad_param("trace_id", e))
        })
        .transpose()?;
    let order = match p.one("order")? {
        None | Some("desc") => Order::NewestFirst,
        Some("asc") => Order::OldestFirst,
        Some(other) => {
            return Err(ApiError::bad_param(
                "order",
                format!("expected asc (oldest first) or desc (newest first), found {other:?}"),
            ));
        }
    };
    let mut filter = LogFilter::default()
        .with_services(p.list("service"))
        .with_levels(levels)
        .with_attributes(p.pairs("attr")?)
        .with_terms(p.one("q")?.map(split_terms).unwrap_or_default())
        .with_trace_ids(trace_id);
    filter.contains = p.one("contains")?.map(str::to_string);
    Ok(LogQuery::default()
        .with_range(p.time_range()?)
        .with_filter(filter)
        .with_order(order)
        .with_limit(p.count("limit", DEFAULT_LIMIT, MAX_LIMIT)?)
        .with_offset(p.count("offset", 0, MAX_OFFSET)?))
}
