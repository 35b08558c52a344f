//! An application of its own — an order service with its own routes and its own bearer-token
//! middleware — that takes in OpenTelemetry data and answers queries with Heimsight's route
//! groups, and nothing else of Heimsight: no web UI, no alerting, no RocksDB (the
//! `heimsight-server` dependency has no default features; telemetry is kept in memory).
//!
//! ```text
//! TOKEN=s3cret cargo run -p otlp-ingest-query       # 127.0.0.1:3000 (PORT to change)
//! curl localhost:3000/orders                         # the app's own, open route
//! curl -H 'authorization: Bearer s3cret' -H 'content-type: application/json' \
//!      -d '{"resourceLogs": [{"resource": {"attributes": [{"key": "service.name",
//!           "value": {"stringValue": "shop"}}]}, "scopeLogs": [{"logRecords": [
//!           {"severityText": "ERROR", "body": {"stringValue": "payment declined"}}]}]}]}' \
//!      localhost:3000/v1/logs                        # OTLP/HTTP (an exporter's endpoint)
//! curl -H 'authorization: Bearer s3cret' \
//!      'localhost:3000/api/v1/query?query=SELECT+count(*)+FROM+logs+GROUP+BY+service'
//! ```

use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use heimsight_server::{HeimsightServer, ServerConfig};
use heimsight_store::MemoryStore;

/// The application's own authentication: a bearer token, checked by its own middleware.
async fn require_token(State(token): State<Arc<str>>, req: Request, next: Next) -> Response {
    let sent = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if sent == Some(&*token) {
        next.run(req).await
    } else {
        (
            StatusCode::UNAUTHORIZED,
            "this app wants its bearer token\n",
        )
            .into_response()
    }
}

/// The application: its own routes, plus Heimsight's ingest group (OTLP/HTTP at `/v1/*`, JSON
/// at `POST /api/v1/*`) and read group (`/api/v1/query`, `GET /api/v1/logs`, …) behind the
/// app's token middleware. The admin group and the UI are not mounted.
pub fn app(heimsight: &HeimsightServer, token: &str) -> Router {
    let telemetry = heimsight
        .ingest_routes()
        .merge(heimsight.read_routes())
        .layer(from_fn_with_state(Arc::<str>::from(token), require_token));
    Router::new()
        .route("/orders", get(|| async { "[]\n" }))
        .merge(telemetry)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_env_filter("info").init();
    let token = std::env::var("TOKEN").context("set TOKEN, the bearer token of the app")?;
    let heimsight = HeimsightServer::builder()
        .store(Arc::new(MemoryStore::new()))
        .config(ServerConfig::default())
        .build()?;
    // Retention (no alerting in this build) until the app stops.
    let background = heimsight.spawn_background();

    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let address = format!("127.0.0.1:{port}");
    let listener = tokio::net::TcpListener::bind(&address)
        .await
        .with_context(|| format!("cannot listen on {address}"))?;
    tracing::info!("listening on http://{address}");
    axum::serve(listener, app(&heimsight, &token))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    background.shutdown().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use axum::body::Body;
    use axum::http::Request;
    use serde_json::{Value, json};
    use tower::ServiceExt;

    use super::*;

    async fn send(app: &Router, req: Request<Body>) -> (StatusCode, String) {
        let res = app.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let body = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    fn otlp_logs() -> Value {
        let record =
            |level: &str, body: &str| json!({"severityText": level, "body": {"stringValue": body}});
        json!({"resourceLogs": [{
            "resource": {"attributes": [
                {"key": "service.name", "value": {"stringValue": "shop"}}]},
            "scopeLogs": [{"logRecords": [
                record("INFO", "order placed"),
                record("ERROR", "payment declined"),
            ]}],
        }]})
    }

    #[tokio::test]
    async fn otlp_in_and_queries_out_behind_the_apps_own_token() {
        let heimsight = HeimsightServer::builder()
            .store(Arc::new(MemoryStore::new()))
            .build()
            .unwrap();
        let app = app(&heimsight, "s3cret");
        let export = |token: Option<&str>| {
            let mut req = Request::post("/v1/logs").header("content-type", "application/json");
            if let Some(t) = token {
                req = req.header("authorization", format!("Bearer {t}"));
            }
            req.body(Body::from(otlp_logs().to_string())).unwrap()
        };

        // The app's own route is open; Heimsight's need the app's token.
        let (status, body) = send(&app, Request::get("/orders").body(Body::empty()).unwrap()).await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, "[]\n"));
        let (status, body) = send(&app, export(None)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        let (status, body) = send(&app, export(Some("wrong"))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        let (status, body) = send(&app, export(Some("s3cret"))).await;
        assert_eq!(status, StatusCode::OK, "{body}");

        // What was exported answers a query.
        let query = Request::get(
            "/api/v1/query?query=SELECT+service,+count(*)+AS+n+FROM+logs+WHERE+level+=+'error'+GROUP+BY+service",
        )
        .header("authorization", "Bearer s3cret")
        .body(Body::empty())
        .unwrap();
        let (status, body) = send(&app, query).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let json: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["rows"], json!([["shop", 1]]), "{json}");

        // Only ingest and read are mounted: no admin API, no UI.
        for path in ["/api/v1/retention", "/api/v1/dashboards", "/ui/logs"] {
            let req = Request::get(path)
                .header("authorization", "Bearer s3cret")
                .body(Body::empty())
                .unwrap();
            assert_eq!(send(&app, req).await.0, StatusCode::NOT_FOUND, "{path}");
        }
    }
}
