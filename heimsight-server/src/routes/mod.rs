//! The HTTP routes, one module per endpoint group, assembled into the route groups of
//! [`RouteGroup`] (each with the layers of [`crate::layers`]) and into the reference server's
//! router. OTLP/HTTP's routes (`/v1/*`) come from [`crate::otlp`], with their own error format.

use axum::Router;
use axum::http::{Method, Uri};
use axum::routing::{delete, get, post};

use crate::api_error::ApiError;
use crate::layers::{
    AccessLayer, BodyLimitLayer, IngestBudgetLayer, RequestTracingLayer, RouteGroup,
};
use crate::state::AppState;

#[cfg(feature = "alerting")]
pub(crate) mod alerts;
#[cfg(feature = "alerting")]
pub(crate) mod channels;
pub(crate) mod dashboards;
mod health;
mod keys;
pub(crate) mod logs;
pub(crate) mod metrics;
pub(crate) mod prometheus;
pub(crate) mod query;
mod retention;
pub(crate) mod stats;
pub(crate) mod traces;

/// The layers every group gets, outermost last: access control (when configured), request
/// metrics, then request tracing with the panic safety net.
fn finish(router: Router, group: RouteGroup, state: &AppState) -> Router {
    let router = limited(router, group, state);
    let router = match &state.access {
        Some(control) => router.layer(AccessLayer::new(group, control.clone())),
        None => router,
    };
    observed(router, group, state).layer(RequestTracingLayer::new())
}

/// The group's requests through the client's rate limits (after access control: a refused
/// request costs no tokens), when any are set.
fn limited(router: Router, group: RouteGroup, state: &AppState) -> Router {
    if !state.limits.active() {
        return router;
    }
    router.layer(axum::middleware::from_fn_with_state(
        (state.clone(), group),
        rate_limit,
    ))
}

/// Takes a request's tokens from its client's buckets (and a query slot for
/// `/api/v1/query`), or answers 429 with `Retry-After`.
async fn rate_limit(
    axum::extract::State((state, group)): axum::extract::State<(AppState, RouteGroup)>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let (parts, body) = req.into_parts();
    let client = state.limits.client(&parts);
    // The body's size: its declared length, or what the body knows of itself.
    let bytes = (group == RouteGroup::Ingest)
        .then(|| {
            use axum::body::HttpBody as _;
            crate::budget::declared_length(&parts.headers).or_else(|| body.size_hint().exact())
        })
        .flatten();
    let refuse = |limited: crate::limits::Limited| {
        state.metrics.rate_limited(group, limited.what);
        ApiError::TooManyRequests {
            message: limited.message(&client),
            retry_after_secs: limited.retry_after_secs,
        }
        .into_response()
    };
    if let Err(l) = state.limits.check(&client, bytes) {
        return refuse(l);
    }
    let query = parts
        .extensions
        .get::<axum::extract::MatchedPath>()
        .is_some_and(|p| p.as_str() == "/api/v1/query");
    let _slot = if query {
        match state.limits.query_slot(&client).await {
            Ok(slot) => slot,
            Err(l) => return refuse(l),
        }
    } else {
        None
    };
    next.run(axum::extract::Request::from_parts(parts, body))
        .await
}

/// Counts and times the group's requests for `/metrics` (refusals of access control
/// included).
fn observed(router: Router, group: RouteGroup, state: &AppState) -> Router {
    router.layer(axum::middleware::from_fn_with_state(
        (state.metrics.clone(), group),
        crate::telemetry::observe,
    ))
}

/// Ingest: `POST /api/v1/{logs,traces,metrics}` (JSON, through the body limit and the ingest
/// budget), OTLP/HTTP (`POST /v1/{logs,traces,metrics}`) and Prometheus remote write
/// (`POST /prometheus/api/v1/write`); the last two budget and limit bodies themselves.
pub(crate) fn ingest(state: &AppState) -> Router {
    let limit = state.config.max_body_bytes;
    let rest = Router::new()
        .route("/api/v1/logs", post(logs::ingest))
        .route("/api/v1/metrics", post(metrics::ingest))
        .route("/api/v1/traces", post(traces::ingest))
        .layer(BodyLimitLayer::new(limit))
        // Outside the body limit, so that it sees (and reports) oversized bodies itself.
        .layer(IngestBudgetLayer::new(state.budget.clone(), limit))
        .with_state(state.clone());
    let otlp = crate::otlp::http::routes().with_state(state.clone());
    // Remote write reads its body itself (the budget pays for the decompressed size too).
    let remote_write = Router::new()
        .route("/prometheus/api/v1/write", post(prometheus::write))
        .with_state(state.clone());
    finish(
        rest.merge(otlp).merge(remote_write),
        RouteGroup::Ingest,
        state,
    )
}

/// Read: `GET /api/v1/{logs,traces,traces/{id},metrics,metrics/names}`, `/api/v1/query`
/// (GET and POST), `/api/v1/stats`, `/api/v1/status`; and `/health`, which access control never
/// asks about (load balancers and probes call it without credentials).
pub(crate) fn read(state: &AppState) -> Router {
    let health = Router::new()
        .route("/health", get(health::health))
        .layer(RequestTracingLayer::new());
    // Scrapers read `/metrics` without a key unless `auth.metrics_public` is off; then it is
    // a read route like the others.
    let metrics = Router::new()
        .route("/metrics", get(crate::telemetry::metrics))
        .with_state(state.clone());
    let (open, guarded) = if state.config.auth.metrics_public {
        (metrics.layer(RequestTracingLayer::new()), Router::new())
    } else {
        (Router::new(), metrics)
    };
    let router = Router::new()
        .route("/api/v1/logs", get(logs::query))
        .route("/api/v1/metrics", get(metrics::query))
        .route("/api/v1/metrics/names", get(metrics::names))
        .route("/api/v1/traces", get(traces::search))
        .route("/api/v1/traces/{trace_id}", get(traces::trace))
        .route("/api/v1/stats", get(stats::stats))
        .route("/api/v1/status", get(stats::status))
        .route("/api/v1/query", get(query::get).post(query::post))
        .route("/api/v1/openapi.json", get(openapi_json))
        .layer(BodyLimitLayer::new(state.config.max_body_bytes))
        .with_state(state.clone())
        .merge(guarded);
    finish(router, RouteGroup::Read, state)
        .merge(health)
        .merge(open)
}

/// Admin: retention, dashboards, API keys, and with the `alerting` feature alert rules,
/// active alerts, history, silences and notification channels.
pub(crate) fn admin(state: &AppState) -> Router {
    let router = Router::new()
        .route(
            "/api/v1/retention",
            get(retention::show).put(retention::update),
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
        .route("/api/v1/keys", get(keys::list).post(keys::create))
        .route("/api/v1/keys/{id}", delete(keys::revoke));
    #[cfg(feature = "alerting")]
    let router = router
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
        );
    let router = router
        .layer(BodyLimitLayer::new(state.config.max_body_bytes))
        .with_state(state.clone());
    finish(router, RouteGroup::Admin, state)
}

/// The web UI, at the root of the router (mount it under any path).
#[cfg(feature = "ui")]
pub(crate) fn ui(state: &AppState) -> Router {
    let router = crate::ui::routes(state)
        .layer(BodyLimitLayer::new(state.config.max_body_bytes))
        .with_state(state.clone());
    let router = match &state.access {
        Some(control) => router.layer(AccessLayer::new(RouteGroup::Ui, control.clone())),
        None => router,
    };
    // Metrics see the access control's answer (a 401 is an auth failure) before…
    let router = observed(router, RouteGroup::Ui, state);
    // …a browser without a key is sent to the sign-in page rather than given a JSON 401.
    let router = if state.key_auth {
        router.layer(axum::middleware::from_fn(crate::ui::to_sign_in))
    } else {
        router
    };
    router.layer(RequestTracingLayer::new())
}

/// The reference server's router: every group, the UI under `/ui/` (and `/` redirecting
/// there), JSON answers for unknown paths and methods.
pub(crate) fn router(state: &AppState) -> Router {
    let router = ingest(state).merge(read(state)).merge(admin(state));
    #[cfg(feature = "ui")]
    // `nest_service`, not `nest`: axum's `nest` leaves `/ui/` (the UI's home) unmatched.
    let router = router
        .nest_service("/ui", ui(state))
        .route("/", get(to_the_ui));
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
}

/// `/` → the UI, wherever this router is mounted.
#[cfg(feature = "ui")]
async fn to_the_ui(original: axum::extract::OriginalUri, uri: Uri) -> axum::response::Redirect {
    let base = crate::ui::mount_prefix(original.0.path(), uri.path());
    axum::response::Redirect::to(&format!("{base}/ui/"))
}

/// The router of the OTLP/HTTP listener: `POST /v1/logs`, `/v1/traces`, `/v1/metrics` only.
pub(crate) fn otlp_http_router(state: &AppState) -> Router {
    let routes = crate::otlp::http::routes()
        .fallback(crate::otlp::http::not_found)
        .with_state(state.clone());
    finish(routes, RouteGroup::Ingest, state)
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

/// `GET /api/v1/openapi.json`: the OpenAPI document of the REST API (made once).
async fn openapi_json() -> axum::response::Response {
    use axum::response::IntoResponse as _;
    static DOC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let doc = DOC.get_or_init(|| {
        crate::openapi::openapi()
            .to_json()
            .unwrap_or_else(|e| format!("{{\"error\": \"the document does not serialize: {e}\"}}"))
    });
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        doc.as_str(),
    )
        .into_response()
}
