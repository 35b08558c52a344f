//! Alerting: `/api/v1/alerts/rules` (CRUD and preview), `/api/v1/alerts` (active alerts),
//! `/api/v1/alerts/history` and `/api/v1/silences`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use heimsight_alert::{AlertManager, QueryChecks};
use heimsight_core::Timestamp;
use heimsight_core::api::{
    AlertsPage, HistoryPage, RulePreview, RuleSpec, RuleView, RulesPage, SilenceView, SilencesPage,
};
use serde_json::Value;

use crate::api_error::ApiError;
use crate::body::JsonBody;
use crate::params::Params;
use crate::state::AppState;

/// Runs `f` with the alert manager on the blocking pool (it reads and writes the store).
async fn with_manager<T, F>(state: &AppState, f: F) -> Result<T, ApiError>
where
    F: FnOnce(&AlertManager) -> Result<T, heimsight_alert::Error> + Send + 'static,
    T: Send + 'static,
{
    let m = Arc::clone(&state.alerts);
    crate::blocking::run(move || f(&m))
        .await?
        .map_err(ApiError::from)
}

fn body_json(body: &[u8]) -> Result<Value, ApiError> {
    Ok(heimsight_ingest::json::parse_json(body)?)
}

/// A rule's JSON, read with every problem (shape and meaning) named by its field.
fn rule_spec(v: &Value) -> Result<RuleSpec, heimsight_alert::Error> {
    RuleSpec::from_json_with(v, &QueryChecks).map_err(|errors| heimsight_alert::Error::Invalid {
        what: "rule",
        errors,
    })
}

pub(crate) async fn list_rules(State(state): State<AppState>) -> Json<RulesPage> {
    let m = &state.alerts;
    let rules = m.rules().iter().map(|r| m.rule_view(r)).collect();
    Json(RulesPage { rules })
}

pub(crate) async fn create_rule(
    State(state): State<AppState>,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<RuleView>), ApiError> {
    let v = body_json(&body)?;
    let rule = with_manager(&state, move |m| m.create_rule(&rule_spec(&v)?)).await?;
    Ok((StatusCode::CREATED, Json(state.alerts.rule_view(&rule))))
}

pub(crate) async fn get_rule(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<RuleView>, ApiError> {
    let rule = state.alerts.rule(&id)?;
    Ok(Json(state.alerts.rule_view(&rule)))
}

pub(crate) async fn update_rule(
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<RuleView>, ApiError> {
    let v = body_json(&body)?;
    let rule = with_manager(&state, move |m| m.update_rule(&id, &rule_spec(&v)?)).await?;
    Ok(Json(state.alerts.rule_view(&rule)))
}

pub(crate) async fn delete_rule(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    with_manager(&state, move |m| m.delete_rule(&id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn preview_rule(
    State(state): State<AppState>,
    JsonBody(body): JsonBody,
) -> Result<Json<RulePreview>, ApiError> {
    let v = body_json(&body)?;
    Ok(Json(
        with_manager(&state, move |m| m.preview(&rule_spec(&v)?)).await?,
    ))
}

const ALERT_PARAMS: &[&str] = &["state", "include_resolved", "rule_id"];

pub(crate) async fn list_alerts(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<AlertsPage>, ApiError> {
    let p = Params::parse(raw.as_deref(), ALERT_PARAMS)?;
    let include_resolved = match p.one("include_resolved")? {
        None | Some("false") | Some("0") => false,
        Some("true") | Some("1") => true,
        Some(other) => {
            return Err(ApiError::bad_param(
                "include_resolved",
                format!("{other:?} is not true or false"),
            ));
        }
    };
    let states = p.list("state");
    for s in &states {
        if !["pending", "firing", "resolved"].contains(&s.as_str()) {
            return Err(ApiError::bad_param(
                "state",
                format!("{s:?} is not pending, firing or resolved"),
            ));
        }
    }
    let rule_id = p.one("rule_id")?.map(str::to_string);
    let alerts = state
        .alerts
        .alerts(include_resolved || states.iter().any(|s| s == "resolved"))
        .into_iter()
        .filter(|a| states.is_empty() || states.iter().any(|w| w == a.state.as_str()))
        .filter(|a| rule_id.as_deref().is_none_or(|r| a.rule_id == r))
        .collect();
    Ok(Json(AlertsPage { alerts }))
}

const HISTORY_PARAMS: &[&str] = &["rule_id", "limit"];

pub(crate) async fn history(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<HistoryPage>, ApiError> {
    let p = Params::parse(raw.as_deref(), HISTORY_PARAMS)?;
    let limit = p.count("limit", 100, 10_000)?;
    let rule_id = p.one("rule_id")?.map(str::to_string);
    let history = with_manager(&state, move |m| m.history(rule_id.as_deref(), limit)).await?;
    Ok(Json(HistoryPage { history }))
}

pub(crate) async fn list_silences(State(state): State<AppState>) -> Json<SilencesPage> {
    let now = Timestamp::now();
    let silences = state
        .alerts
        .silences()
        .iter()
        .map(|s| s.view(now))
        .collect();
    Json(SilencesPage { silences })
}

pub(crate) async fn create_silence(
    State(state): State<AppState>,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<SilenceView>), ApiError> {
    let v = body_json(&body)?;
    let spec = heimsight_alert::Silence::read_spec(&v, Timestamp::now()).map_err(|errors| {
        ApiError::from(heimsight_alert::Error::Invalid {
            what: "silence",
            errors,
        })
    })?;
    let s = with_manager(&state, move |m| m.create_silence(&spec)).await?;
    Ok((StatusCode::CREATED, Json(s.view(Timestamp::now()))))
}

pub(crate) async fn get_silence(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<SilenceView>, ApiError> {
    state
        .alerts
        .silences()
        .into_iter()
        .find(|s| s.id == id)
        .map(|s| Json(s.view(Timestamp::now())))
        .ok_or_else(|| ApiError::NotFound(format!("silence {id:?} not found")))
}

pub(crate) async fn delete_silence(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    with_manager(&state, move |m| m.delete_silence(&id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
