//! An axum application of its own that mounts Heimsight's REST API under `/heimsight`, next to
//! its own routes, over an in-memory store.
//!
//! ```text
//! cargo run -p embed-server                       # listens on 127.0.0.1:3000 (PORT to change)
//! curl localhost:3000/                            # the app's own route
//! curl localhost:3000/heimsight/health            # Heimsight's
//! curl -H 'content-type: application/json' -d '{"message": "hi"}' \
//!      localhost:3000/heimsight/api/v1/logs
//! curl localhost:3000/heimsight/api/v1/logs
//! ```

use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::routing::get;
use heimsight_server::{HeimsightServer, ServerConfig};
use heimsight_store::MemoryStore;

/// The application: its own routes plus Heimsight under `/heimsight`.
fn app(heimsight: &HeimsightServer) -> Router {
    Router::new()
        .route(
            "/",
            get(|| async { "my app; telemetry lives under /heimsight\n" }),
        )
        .nest_service("/heimsight", heimsight.router())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_env_filter("info").init();
    let heimsight = HeimsightServer::builder()
        .store(Arc::new(MemoryStore::new()))
        .config(ServerConfig::default())
        .build()?;

    // Heimsight's background work — retention, alert evaluation, notification delivery —
    // runs for as long as the app does.
    let background = heimsight.spawn_background();

    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let address = format!("127.0.0.1:{port}");
    let listener = tokio::net::TcpListener::bind(&address)
        .await
        .with_context(|| format!("cannot listen on {address}"))?;
    tracing::info!("listening on http://{address}");
    axum::serve(listener, app(&heimsight))
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
    use tower::ServiceExt;

    use super::*;

    #[tokio::test]
    async fn heimsight_is_mounted_next_to_the_app() {
        let heimsight = HeimsightServer::builder()
            .store(Arc::new(MemoryStore::new()))
            .build()
            .unwrap();
        let app = app(&heimsight);
        let res = app
            .clone()
            .oneshot(Request::get("/").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let res = app
            .clone()
            .oneshot(
                Request::post("/heimsight/api/v1/logs")
                    .header("content-type", "application/json")
                    .body(Body::from(r#"{"message": "hello"}"#))
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let res = app
            .oneshot(
                Request::get("/heimsight/api/v1/logs")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        let body = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["logs"][0]["message"], "hello");
    }
}
