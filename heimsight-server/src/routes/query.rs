//! `POST /api/v1/query` (and `GET` with `?query=`): the query language.
//!
//! Body: `{"query": "SELECT ...", "start": <time>, "end": <time>, "timeout_ms": n,
//! "max_rows": n}`; times are RFC 3339, Unix nanoseconds or relative (`now-1h`), all optional.
//! The answer is `{"columns": [{"name", "type"}], "rows": [[...]], "stats": {"rows_scanned",
//! "rows_returned", "elapsed_ms", "truncated"}, "plan": {...}}`. Invalid queries answer 400
//! with every problem in `diagnostics` (`line`, `column`, `message`, `found`, `expected`,
//! `hint`, and the byte range `start`/`end`).

use std::time::Duration;

use axum::Json;
use axum::extract::{RawQuery, State};
use heimsight_core::Timestamp;
use heimsight_core::api::{QueryAnswer, QueryDiagnostic, QueryRequest};
use heimsight_query::{ErrorClass, Limits, QueryError, Request};
use serde_json::Value;

use crate::api_error::ApiError;
use crate::body::JsonBody;
use crate::params::Params;
use crate::state::AppState;

/// Longest time budget a request may ask for.
const MAX_TIMEOUT: Duration = Duration::from_secs(300);
/// Most rows a request may ask for.
const MAX_ROWS: usize = 100_000;

/// What a request asks for, parsed.
struct QueryParams {
    query: String,
    start: Option<Timestamp>,
    end: Option<Timestamp>,
    limits: Limits,
    now: Timestamp,
}

pub(crate) async fn post(
    State(state): State<AppState>,
    JsonBody(body): JsonBody,
) -> Result<Json<QueryAnswer>, ApiError> {
    let v: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))?;
    let req = QueryRequest::from_json(&v)
        .map_err(|errors| ApiError::invalid("invalid query request", errors))?;
    let now = Timestamp::now();
    let params = QueryParams {
        start: req.start.map(|t| t.resolve(now)),
        end: req.end.map(|t| t.resolve(now)),
        limits: limits(req.timeout_ms, req.max_rows)?,
        query: req.query,
        now,
    };
    run(state, params).await
}

pub(crate) async fn get(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<QueryAnswer>, ApiError> {
    let p = Params::parse(
        raw.as_deref(),
        &["query", "start", "end", "timeout_ms", "max_rows"],
    )?;
    let query = p
        .one("query")?
        .ok_or_else(|| ApiError::bad_request("missing parameter query"))?
        .to_string();
    let num = |name: &str| -> Result<Option<u64>, ApiError> {
        p.one(name)?
            .map(|v| {
                v.parse::<u64>().map_err(|_| {
                    ApiError::bad_param(name, format!("expected a count, found {v:?}"))
                })
            })
            .transpose()
    };
    let params = QueryParams {
        start: p.time("start")?,
        end: p.time("end")?,
        limits: limits(num("timeout_ms")?, num("max_rows")?)?,
        query,
        now: Timestamp::now(),
    };
    run(state, params).await
}

fn limits(timeout_ms: Option<u64>, max_rows: Option<u64>) -> Result<Limits, ApiError> {
    let mut l = Limits::default();
    if let Some(ms) = timeout_ms {
        let d = Duration::from_millis(ms);
        if ms == 0 || d > MAX_TIMEOUT {
            return Err(ApiError::bad_param(
                "timeout_ms",
                format!("must be between 1 and {}", MAX_TIMEOUT.as_millis()),
            ));
        }
        l.timeout = d;
    }
    if let Some(n) = max_rows {
        if n == 0 || n > MAX_ROWS as u64 {
            return Err(ApiError::bad_param(
                "max_rows",
                format!("must be between 1 and {MAX_ROWS}"),
            ));
        }
        l.max_rows = n as usize;
    }
    Ok(l)
}

async fn run(state: AppState, p: QueryParams) -> Result<Json<QueryAnswer>, ApiError> {
    let started = std::time::Instant::now();
    let out = state
        .blocking(move |store| {
            let req = Request::new(&p.query)
                .with_range(p.start, p.end)
                .with_now(p.now)
                .with_limits(p.limits);
            heimsight_query::run(store, &req).map_err(query_error)
        })
        .await;
    let seconds = started.elapsed().as_secs_f64();
    let out = match out {
        Ok(out) => {
            state.metrics.query(true, seconds, out.result.rows_scanned);
            out
        }
        Err(e) => {
            state.metrics.query(false, seconds, 0);
            return Err(e);
        }
    };
    tracing::debug!(
        rows = out.result.rows.len(),
        scanned = out.result.rows_scanned,
        elapsed_ms = out.elapsed.as_millis() as u64,
        "query"
    );
    Ok(Json(out.to_api()))
}

fn query_error(e: QueryError) -> ApiError {
    match e {
        QueryError::Invalid(d) => {
            let diagnostics = d
                .items
                .iter()
                .map(|x| {
                    let mut q = QueryDiagnostic::new(
                        x.line,
                        x.column,
                        x.pos.start,
                        x.pos.end,
                        x.message.clone(),
                    );
                    q.found.clone_from(&x.found);
                    q.expected.clone_from(&x.expected);
                    q.hint.clone_from(&x.hint);
                    q
                })
                .collect();
            let lines: Vec<String> = d.to_string().lines().map(str::to_string).collect();
            ApiError::InvalidQuery {
                message: format!(
                    "invalid query: {}",
                    lines.first().map_or("", String::as_str)
                ),
                details: lines,
                diagnostics,
            }
        }
        QueryError::Store(e) => e.into(),
        other => match other.class() {
            ErrorClass::Client => ApiError::bad_request(other.to_string()),
            ErrorClass::Unavailable => ApiError::Unavailable(other.to_string()),
            _ => ApiError::Internal(other.to_string()),
        },
    }
}
