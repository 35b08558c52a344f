//! `/api/v1/notifications/channels`: CRUD and "send test notification".

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use heimsight_core::api::{ChannelTestResult, ChannelView, ChannelsPage};

use crate::api_error::ApiError;
use crate::body::JsonBody;
use crate::channels::Channels;
use crate::state::AppState;

async fn blocking<T, F>(state: &AppState, f: F) -> Result<T, ApiError>
where
    F: FnOnce(&Channels) -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    let ch = state.channels.clone();
    crate::blocking::run(move || f(&ch)).await?
}

pub(crate) async fn list(State(state): State<AppState>) -> Result<Json<ChannelsPage>, ApiError> {
    let all = blocking(&state, |c| c.list()).await?;
    Ok(Json(ChannelsPage {
        channels: all.iter().map(Channels::view).collect(),
    }))
}

pub(crate) async fn create(
    State(state): State<AppState>,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<ChannelView>), ApiError> {
    let v = heimsight_ingest::json::parse_json(&body)?;
    let ch = blocking(&state, move |c| c.create(&Channels::read_spec(&v, None)?)).await?;
    Ok((StatusCode::CREATED, Json(Channels::view(&ch))))
}

pub(crate) async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ChannelView>, ApiError> {
    let key = id.clone();
    match blocking(&state, move |c| c.get(&key)).await? {
        Some(ch) => Ok(Json(Channels::view(&ch))),
        None => Err(ApiError::NotFound(format!(
            "notification channel {id:?} not found"
        ))),
    }
}

pub(crate) async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<ChannelView>, ApiError> {
    let v = heimsight_ingest::json::parse_json(&body)?;
    let ch = blocking(&state, move |c| {
        let previous = c.get(&id)?.map(|old| old.settings);
        c.update(&id, &Channels::read_spec(&v, previous.as_ref())?)
    })
    .await?;
    Ok(Json(Channels::view(&ch)))
}

pub(crate) async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    blocking(&state, move |c| c.delete(&id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn test(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ChannelTestResult>, ApiError> {
    Ok(Json(state.channels.test(&id).await?))
}
