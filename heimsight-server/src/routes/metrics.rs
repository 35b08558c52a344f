//! `POST /api/v1/metrics`, `GET /api/v1/metrics` and `GET /api/v1/metrics/names`.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use heimsight_core::api::{Accepted, Float, MetricNames, PointView, SeriesAnswer, SeriesView};
use heimsight_core::{Duration, MetricPoint, Timestamp};
use heimsight_query::metrics::{Agg, aggregate};
use heimsight_store::{LabelMatcher, Point, Series, SeriesQuery};
use serde_json::{Map, Value};

use super::traces::ingest_response;
use crate::api_error::ApiError;
use crate::body::JsonBody;
use crate::params::Params;
use crate::state::AppState;

const PARAMS: &[&str] = &["name", "label", "start_time", "end_time", "agg", "step"];

/// Default aggregation window: 60 s.
const DEFAULT_STEP_NS: i64 = 60_000_000_000;

pub(crate) async fn ingest(
    State(state): State<AppState>,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let size = body.len();
    let receipt = state
        .blocking(move |store| heimsight_ingest::json::ingest_points(store, &body))
        .await?;
    ingest_response(&state, heimsight_store::Signal::Metrics, receipt, size)
}

pub(crate) async fn names(State(state): State<AppState>) -> Result<Json<MetricNames>, ApiError> {
    let names = state.blocking(|store| store.metric_names()).await?;
    Ok(Json(MetricNames { names }))
}

pub(crate) async fn query(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<SeriesAnswer>, ApiError> {
    let p = Params::parse(raw.as_deref(), PARAMS)?;
    let range = p.time_range()?;
    let matchers: Vec<LabelMatcher> = p
        .pairs("label")?
        .into_iter()
        .map(|(k, v)| LabelMatcher::equal(k, v))
        .collect();
    let agg = p
        .one("agg")?
        .map(str::parse::<Agg>)
        .transpose()
        .map_err(heimsight_query::Error::from)?;
    let step = p.duration("step")?;
    if step.is_some() && agg.is_none() {
        return Err(ApiError::bad_param(
            "step",
            "only applies to aggregation; add agg=avg|sum|min|max|count",
        ));
    }
    let step = step.unwrap_or(DEFAULT_STEP_NS);
    if step <= 0 {
        return Err(ApiError::bad_param("step", "must be longer than zero"));
    }
    let mut query = SeriesQuery::default()
        .with_matchers(matchers)
        .with_range(range)
        .with_limit(0);
    query.name = p.one("name")?.map(str::to_string);
    let found = state
        .blocking(move |store| store.query_points(&query))
        .await?;
    let start = range.start.unwrap_or(Timestamp(i64::MIN));
    let end = range.end.unwrap_or(Timestamp(i64::MAX));
    let series = found
        .iter()
        .map(|sp| {
            let points: Vec<PointView> = match agg {
                None => sp
                    .points
                    .iter()
                    .map(|p| raw_point(&sp.series, p))
                    .collect::<Result<_, _>>()?,
                Some(agg) => aggregate(&sp.points, start, end, step, agg)
                    .into_iter()
                    .map(|(timestamp, v)| PointView {
                        timestamp,
                        value: Some(Float(v)),
                        other: Map::new(),
                    })
                    .collect(),
            };
            Ok(SeriesView {
                name: sp.series.name.clone(),
                kind: sp.series.kind.as_str().into(),
                labels: sp.series.labels.clone(),
                points,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(Json(SeriesAnswer {
        series,
        agg: agg.map(|a| a.as_str().into()),
        step: agg.map(|_| Duration::from_nanos(step)),
    }))
}

/// A stored point as the API shows it: `{timestamp, value}` for gauges and counters;
/// histograms and summaries with their own fields (`buckets`, `sum`, `count`, `quantiles`, …).
fn raw_point(series: &Series, p: &Point) -> Result<PointView, ApiError> {
    let point = MetricPoint {
        name: series.name.clone(),
        kind: series.kind,
        temporality: series.temporality,
        monotonic: series.monotonic,
        labels: Default::default(),
        timestamp: p.timestamp,
        start_timestamp: p.start_timestamp,
        value: p.value.clone(),
        unit: String::new(),
        description: String::new(),
        exemplars: p.exemplars.clone(),
        flags: p.flags,
    };
    let Value::Object(full) = point.to_json() else {
        return Err(ApiError::Internal(
            "a metric point did not serialize as an object".into(),
        ));
    };
    const KEEP: [&str; 16] = [
        "timestamp",
        "start_timestamp",
        "exemplars",
        "flags",
        "scale",
        "zero_count",
        "zero_threshold",
        "positive",
        "negative",
        "value",
        "buckets",
        "sum",
        "count",
        "min",
        "max",
        "quantiles",
    ];
    let mut other: Map<String, Value> = full
        .into_iter()
        .filter(|(k, _)| KEEP.contains(&k.as_str()))
        .collect();
    let value = match other.remove("value") {
        None | Some(Value::Null) => None,
        Some(v) => Some(serde_json::from_value(v).map_err(|e| {
            ApiError::Internal(format!("a metric point's value did not serialize: {e}"))
        })?),
    };
    other.remove("timestamp");
    Ok(PointView {
        timestamp: p.timestamp,
        value,
        other,
    })
}
