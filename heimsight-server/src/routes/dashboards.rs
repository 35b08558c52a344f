//! `/api/v1/dashboards`: saved metric dashboards, kept in the store's metadata.
//!
//! A dashboard is `{"name": "...", "panels": [{"metric": "cpu", "labels": {"host": "a"},
//! "agg": "avg", "step": "1m", "title": "..."}]}`; the API adds `id`, `created` and `updated`.
//! `labels`, `agg` (`avg`, `sum`, `min`, `max`, `count`, or `raw` for the stored points),
//! `step` (a duration, or `auto`) and `title` are optional.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use heimsight_core::{FieldReader, Timestamp, ValidationErrors};
use serde_json::{Map, Value, json};

use crate::api_error::ApiError;
use crate::body::JsonBody;
use crate::state::AppState;

/// The metadata namespace of dashboards.
const NAMESPACE: &str = "dashboards";
/// Most panels on one dashboard.
const MAX_PANELS: usize = 24;

/// A dashboard body checked against the schema, every problem named by its field.
pub(crate) fn validate(body: &Value) -> Result<Map<String, Value>, ApiError> {
    let mut problems = ValidationErrors::new();
    let Some(mut r) = FieldReader::new(body, "", &mut problems, "a dashboard") else {
        return Err(ApiError::invalid("invalid dashboard", problems.0));
    };
    let name = r.opt_str(&["name"]).map(|s| s.trim().to_string());
    if name.as_deref().is_none_or(str::is_empty) && !r.has_problem("name") {
        r.err("name", "is required");
    }
    let panels = match r.get(&["panels"]) {
        None => Vec::new(),
        Some((Value::Array(a), _)) => a.clone(),
        Some((other, _)) => {
            r.wrong_type("panels", "an array", other);
            Vec::new()
        }
    };
    if panels.len() > MAX_PANELS {
        r.err(
            "panels",
            format!(
                "{} panels; a dashboard holds at most {MAX_PANELS}",
                panels.len()
            ),
        );
    }
    // Stored with the dashboard; accepted back and ignored.
    r.allow(&["id", "created", "updated"]);
    r.finish();
    for (i, p) in panels.iter().enumerate() {
        if let Some(p) = FieldReader::new(p, &format!("panels[{i}]"), &mut problems, "a panel") {
            check_panel(p);
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::invalid("invalid dashboard", problems.0));
    }
    let mut out = Map::new();
    out.insert("name".into(), json!(name.unwrap_or_default()));
    out.insert("panels".into(), Value::Array(panels));
    Ok(out)
}

/// Records the problems of one panel: `{"metric", "labels", "agg", "step", "title"}`.
fn check_panel(mut p: FieldReader<'_, '_>) {
    if p.opt_str(&["metric"]).is_none_or(|m| m.trim().is_empty()) && !p.has_problem("metric") {
        p.err("metric", "is required (a metric name)");
    }
    if let Some((l, _)) = p.get(&["labels"])
        && !l
            .as_object()
            .is_some_and(|m| m.values().all(Value::is_string))
    {
        p.err("labels", "expected an object of strings");
    }
    match p.get(&["agg"]) {
        None => {}
        Some((Value::String(a), _))
            if a == "raw" || a.parse::<heimsight_query::metrics::Agg>().is_ok() => {}
        Some((other, _)) => p.err(
            "agg",
            format!("expected avg, sum, min, max, count or raw, found {other}"),
        ),
    }
    match p.get(&["step"]) {
        None => {}
        Some((Value::String(s), _))
            if s == "auto" || heimsight_core::parse_duration_nanos(s).is_ok_and(|d| d > 0) => {}
        Some((other, _)) => p.err(
            "step",
            format!("expected a positive duration such as 1m, or auto, found {other}"),
        ),
    }
    p.opt_str(&["title"]);
    p.finish();
}

fn load(id: String) -> impl FnOnce(&dyn heimsight_store::Store) -> Result<Value, ApiError> {
    move |store| {
        let bytes = store
            .meta_get(NAMESPACE, &id)?
            .ok_or_else(|| ApiError::NotFound(format!("no dashboard with id {id}")))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::Internal(format!("dashboard {id} is unreadable: {e}")))
    }
}

/// `GET /api/v1/dashboards`: every dashboard, by name.
pub(crate) async fn list(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let all = state.blocking(|store| store.meta_list(NAMESPACE)).await?;
    let mut dashboards: Vec<Value> = all
        .iter()
        .filter_map(|(_, b)| serde_json::from_slice(b).ok())
        .collect();
    dashboards.sort_by(|a: &Value, b: &Value| {
        a["name"]
            .as_str()
            .unwrap_or("")
            .cmp(b["name"].as_str().unwrap_or(""))
    });
    Ok(Json(json!({ "dashboards": dashboards })))
}

/// `POST /api/v1/dashboards`.
pub(crate) async fn create(
    State(state): State<AppState>,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let v = heimsight_ingest::json::parse_json(&body)?;
    let d = create_value(&state, &v).await?;
    Ok((StatusCode::CREATED, Json(d)))
}

/// Creates a dashboard from a JSON value (the UI calls this too).
pub(crate) async fn create_value(state: &AppState, v: &Value) -> Result<Value, ApiError> {
    let d = validate(v)?;
    let now = Timestamp::now();
    save(state, format!("{:016x}", now.0), d, json!(now.to_rfc3339())).await
}

/// Replaces a dashboard's name and panels with those of a JSON value (the UI calls this too).
pub(crate) async fn update_value(
    state: &AppState,
    id: String,
    v: &Value,
) -> Result<Value, ApiError> {
    let d = validate(v)?;
    let old = state.blocking(load(id.clone())).await?;
    save(state, id, d, old["created"].clone()).await
}

/// Stores a validated dashboard under `id`, stamped with its ids and times.
async fn save(
    state: &AppState,
    id: String,
    mut d: Map<String, Value>,
    created: Value,
) -> Result<Value, ApiError> {
    d.insert("id".into(), json!(id));
    d.insert("created".into(), created);
    d.insert("updated".into(), json!(Timestamp::now().to_rfc3339()));
    let d = Value::Object(d);
    let bytes = serde_json::to_vec(&d).map_err(|e| ApiError::Internal(e.to_string()))?;
    state
        .blocking(move |store| store.meta_put(NAMESPACE, &id, &bytes))
        .await?;
    Ok(d)
}

/// `GET /api/v1/dashboards/{id}`.
pub(crate) async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(state.blocking(load(id)).await?))
}

/// `PUT /api/v1/dashboards/{id}`: replaces name and panels.
pub(crate) async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let v = heimsight_ingest::json::parse_json(&body)?;
    Ok(Json(update_value(&state, id, &v).await?))
}

/// `DELETE /api/v1/dashboards/{id}`.
pub(crate) async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let found = state
        .blocking({
            let id = id.clone();
            move |store| store.meta_delete(NAMESPACE, &id)
        })
        .await?;
    if found {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!("no dashboard with id {id}")))
    }
}
