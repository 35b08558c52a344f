//! The HTTP routes, one module per endpoint group, and the router that stacks them with the
//! tower layers (request tracing, panic safety net, body limits, ingest budget). OTLP/HTTP's
//! routes (`/v1/*`) come from [`crate::otlp`] and are merged in with their own error format.

use std::any::Any;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{Method, StatusCode, Uri};
use axum::middleware::{Next, from_fn_with_state, map_response_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};

use crate::api_error::ApiError;
use crate::state::AppState;

pub(crate) mod alerts;
pub(crate) mod channels;
pub(crate) mod dashboards;
mod health;
pub(crate) mod logs;
pub(crate) mod metrics;
pub(crate) mod query;
mod retention;
pub(crate) mod stats;
pub(crate) mod traces;

/// Builds the router of every endpoint, with its layers, over `state`.
pub(crate) fn router(state: AppState) -> Router {
    let limit = state.config.max_body_bytes;
    let rest = Router::new()
        .route("/health", get(health::health))
        .route("/api/v1/logs", get(logs::query).post(logs::ingest))
        .route("/api/v1/metrics", get(metrics::query).post(metrics::ingest))
        .route("/api/v1/metrics/names", get(metrics::names))
        .route("/api/v1/traces", get(traces::search).post(traces::ingest))
        .route("/api/v1/traces/{trace_id}", get(traces::trace))
        .route(
            "/api/v1/retention",
            get(retention::show).put(retention::update),
        )
        .route("/api/v1/stats", get(stats::stats))
        .route("/api/v1/status", get(stats::status))
        .route("/api/v1/query", get(query::get).post(query::post))
        .route("/api/v1/alerts", get(alerts::list_alerts))
        .route("/api/v1/alerts/history", get(alerts::history))
        .route(
            "/api/v1/alerts/rules",
            get(alerts::list_rules).post(alerts::create_rule),
        )
        .route("/api/v1/alerts/rules/preview", post(alerts::preview_rule))
        .route(
            "/api/v1/alerts/rules/{id}",
            get(alerts::get_rule)
                .put(alerts::update_rule)
                .delete(alerts::delete_rule),
        )
        .route(
            "/api/v1/silences",
            get(alerts::list_silences).post(alerts::create_silence),
        )
        .route(
            "/api/v1/silences/{id}",
            get(alerts::get_silence).delete(alerts::delete_silence),
        )
        .route(
            "/api/v1/notifications/channels",
            get(channels::list).post(channels::create),
        )
        .route(
            "/api/v1/notifications/channels/{id}",
            get(channels::get)
                .put(channels::update)
                .delete(channels::delete),
        )
        .route(
            "/api/v1/notifications/channels/{id}/test",
            post(channels::test),
        )
        .route(
            "/api/v1/dashboards",
            get(dashboards::list).post(dashboards::create),
        )
        .route(
            "/api/v1/dashboards/{id}",
            get(dashboards::get)
                .put(dashboards::update)
                .delete(dashboards::delete),
        )
        .merge(crate::ui::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limit))
        .layer(RequestBodyLimitLayer::new(limit))
        .layer(map_response_with_state(limit, json_payload_too_large))
        // Outside the body limit, so that it sees (and reports) oversized bodies itself.
        .layer(from_fn_with_state(state.clone(), rest_budget))
        .with_state(state.clone());
    let otlp = crate::otlp::http::routes().with_state(state);
    with_common_layers(rest.merge(otlp))
}

/// The router of the OTLP/HTTP listener: `POST /v1/logs`, `/v1/traces`, `/v1/metrics` only.
pub(crate) fn otlp_http_router(state: AppState) -> Router {
    let routes = crate::otlp::http::routes()
        .fallback(crate::otlp::http::not_found)
        .with_state(state);
    with_common_layers(routes)
}

/// Request tracing and the panic safety net.
fn with_common_layers(router: Router) -> Router {
    router.layer(CatchPanicLayer::custom(panic_response)).layer(
        TraceLayer::new_for_http()
            .make_span_with(DefaultMakeSpan::new().level(tracing::Level::INFO))
            .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
    )
}

/// Takes the body of a POST or PUT in against the ingest budget (and the body limit) before
/// the handler runs, and holds the budget until the handler has answered.
async fn rest_budget(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST && req.method() != Method::PUT {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let declared = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    match crate::budget::read_body(body, &state.budget, state.config.max_body_bytes, declared).await
    {
        Ok((bytes, permit)) => {
            let res = next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await;
            drop(permit);
            res
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::NotFound(format!(
        "no endpoint {method} {}; the API is described in docs/api.md",
        uri.path()
    ))
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::MethodNotAllowed(format!("method {method} is not allowed on {}", uri.path()))
}

/// `RequestBodyLimitLayer` answers bodies whose declared length is over the limit itself, in
/// plain text; this gives those answers the API's JSON shape.
async fn json_payload_too_large(State(limit): State<usize>, res: Response) -> Response {
    let is_json = res
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if res.status() == StatusCode::PAYLOAD_TOO_LARGE && !is_json {
        ApiError::PayloadTooLarge { limit }.into_response()
    } else {
        res
    }
}

/// The safety net: a panic in a handler becomes a 500 instead of a dropped connection.
fn panic_response(err: Box<dyn Any + Send + 'static>) -> Response {
    let detail = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    ApiError::Internal(format!("internal error: {detail}")).into_response()
}
