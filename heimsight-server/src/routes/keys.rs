//! `/api/v1/keys`: API keys (admin scope): make one (its secret shown once), list them (never
//! a secret), revoke one (at once, on every listener).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use heimsight_core::api::{CreatedKey, KeySpec, KeysPage};

use crate::api_error::ApiError;
use crate::body::JsonBody;
use crate::state::AppState;

/// `GET /api/v1/keys`.
pub(crate) async fn list(State(state): State<AppState>) -> Json<KeysPage> {
    Json(KeysPage {
        keys: state.keys.list(),
    })
}

/// `POST /api/v1/keys`: 201 with the key.
pub(crate) async fn create(
    State(state): State<AppState>,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<CreatedKey>), ApiError> {
    let v = heimsight_ingest::json::parse_json(&body)?;
    let spec = KeySpec::from_json(&v).map_err(|e| ApiError::invalid("invalid key", e))?;
    let keys = state.keys.clone();
    let made = crate::blocking::run(move || keys.create(&spec)).await??;
    Ok((StatusCode::CREATED, Json(made)))
}

/// `DELETE /api/v1/keys/{id}`: 204, or 404 for an unknown id.
pub(crate) async fn revoke(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let keys = state.keys.clone();
    let key = id.clone();
    if crate::blocking::run(move || keys.revoke(&key)).await?? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!("no API key with id {id:?}")))
    }
}
