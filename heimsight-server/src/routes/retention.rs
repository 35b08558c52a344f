//! `GET /api/v1/retention` and `PUT /api/v1/retention`.

use axum::Json;
use axum::extract::State;
use heimsight_core::api::{RetentionUpdate, RetentionView};

use crate::api_error::ApiError;
use crate::body::JsonBody;
use crate::state::AppState;

pub(super) async fn show(State(state): State<AppState>) -> Result<Json<RetentionView>, ApiError> {
    let base = state.base_retention;
    let r = state
        .blocking(move |store| crate::retention::effective(store, base))
        .await?;
    Ok(Json(r.view()))
}

pub(super) async fn update(
    State(state): State<AppState>,
    JsonBody(body): JsonBody,
) -> Result<Json<RetentionView>, ApiError> {
    let value = heimsight_ingest::json::parse_json(&body)?;
    let update = RetentionUpdate::from_json(&value)
        .map_err(|errors| ApiError::invalid("invalid retention settings", errors))?;
    let base = state.base_retention;
    let r = state
        .blocking(move |store| crate::retention::update(store, base, &update))
        .await?;
    state.retention_changed.notify_one();
    Ok(Json(r.view()))
}
