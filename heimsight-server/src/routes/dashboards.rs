//! `/api/v1/dashboards`: saved metric dashboards, kept in the store's metadata.
//!
//! A dashboard is `{"name": "...", "panels": [{"metric": "cpu", "labels": {"host": "a"},
//! "agg": "avg", "step": "1m", "title": "..."}]}`; the API adds `id`, `created` and `updated`.
//! `labels`, `agg` (`avg`, `sum`, `min`, `max`, `count`, or `raw` for the stored points),
//! `step` (a duration, or `auto`) and `title` are optional.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use heimsight_core::Timestamp;
use heimsight_core::api::{Dashboard, DashboardSpec, DashboardsPage};
use serde_json::Value;

use crate::api_error::ApiError;
use crate::body::JsonBody;
use crate::state::AppState;

/// The metadata namespace of dashboards.
const NAMESPACE: &str = "dashboards";

/// A dashboard body, every problem named by its field.
pub(crate) fn read_spec(body: &Value) -> Result<DashboardSpec, ApiError> {
    DashboardSpec::from_json(body).map_err(|e| ApiError::invalid("invalid dashboard", e))
}

fn decode(id: &str, bytes: &[u8]) -> Result<Dashboard, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::Internal(format!("dashboard {id} is unreadable: {e}")))
}

fn load(id: String) -> impl FnOnce(&dyn heimsight_store::Store) -> Result<Dashboard, ApiError> {
    move |store| {
        let bytes = store
            .meta_get(NAMESPACE, &id)?
            .ok_or_else(|| ApiError::NotFound(format!("no dashboard with id {id}")))?;
        decode(&id, &bytes)
    }
}

/// `GET /api/v1/dashboards`: every dashboard, by name.
pub(crate) async fn list(State(state): State<AppState>) -> Result<Json<DashboardsPage>, ApiError> {
    let all = state.blocking(|store| store.meta_list(NAMESPACE)).await?;
    let mut dashboards = Vec::new();
    for (id, bytes) in &all {
        match decode(id, bytes) {
            Ok(d) => dashboards.push(d),
            // One unreadable dashboard must not hide the others.
            Err(e) => tracing::warn!(id = %id, error = %e, "skipping a dashboard"),
        }
    }
    dashboards.sort_by(|a, b| a.spec.name.cmp(&b.spec.name));
    Ok(Json(DashboardsPage { dashboards }))
}

/// `POST /api/v1/dashboards`.
pub(crate) async fn create(
    State(state): State<AppState>,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Dashboard>), ApiError> {
    let v = heimsight_ingest::json::parse_json(&body)?;
    let d = create_spec(&state, read_spec(&v)?).await?;
    Ok((StatusCode::CREATED, Json(d)))
}

/// Saves a new dashboard (the UI calls this too).
pub(crate) async fn create_spec(
    state: &AppState,
    spec: DashboardSpec,
) -> Result<Dashboard, ApiError> {
    let now = Timestamp::now();
    save(
        state,
        Dashboard {
            id: format!("{:016x}", now.0),
            spec,
            created: now,
            updated: now,
        },
    )
    .await
}

/// Replaces a dashboard's name and panels (the UI calls this too).
pub(crate) async fn update_spec(
    state: &AppState,
    id: String,
    spec: DashboardSpec,
) -> Result<Dashboard, ApiError> {
    let old = state.blocking(load(id)).await?;
    save(
        state,
        Dashboard {
            spec,
            updated: Timestamp::now(),
            ..old
        },
    )
    .await
}

/// Stores a dashboard under its id.
async fn save(state: &AppState, d: Dashboard) -> Result<Dashboard, ApiError> {
    let bytes = serde_json::to_vec(&d).map_err(|e| ApiError::Internal(e.to_string()))?;
    let id = d.id.clone();
    state
        .blocking(move |store| store.meta_put(NAMESPACE, &id, &bytes))
        .await?;
    Ok(d)
}

/// `GET /api/v1/dashboards/{id}`.
pub(crate) async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Dashboard>, ApiError> {
    Ok(Json(state.blocking(load(id)).await?))
}

/// `PUT /api/v1/dashboards/{id}`: replaces name and panels.
pub(crate) async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Dashboard>, ApiError> {
    let v = heimsight_ingest::json::parse_json(&body)?;
    Ok(Json(update_spec(&state, id, read_spec(&v)?).await?))
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
