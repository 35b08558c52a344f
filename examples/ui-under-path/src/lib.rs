//! An application that mounts Heimsight's whole web UI under `/observability`, next to its own
//! routes: the UI's links, forms, redirects, scripts and live tail all stay under that path.
//! OTLP/HTTP (`/v1/*`) and the REST API (`/api/v1/*`: ingest, read and admin groups) are
//! merged at the root, and Heimsight's background work (retention, alert evaluation,
//! notifications) runs beside the app.
//!
//! ```text
//! cargo run -p ui-under-path          # 127.0.0.1:3000 (PORT to change)
//! open http://localhost:3000/observability/
//! ```
//!
//! The browser test of `heimsight-cli` (`tests/browser.rs`) serves [`app`] and clicks
//! through its UI in headless Chromium.

use axum::Router;
use axum::routing::get;
use heimsight_server::HeimsightServer;

/// Where the UI is mounted.
pub const UI_PATH: &str = "/observability";

/// The application: its home page, Heimsight's UI under [`UI_PATH`], and Heimsight's API
/// groups at the root.
pub fn app(heimsight: &HeimsightServer) -> Router {
    Router::new()
        .route(
            "/",
            get(|| async {
                axum::response::Html(
                    "<h1>My shop</h1><p><a href=\"/observability/\">Observability</a></p>",
                )
            }),
        )
        // `nest_service`: axum's `nest` would leave `/observability/` unmatched.
        .nest_service(UI_PATH, heimsight.ui_routes())
        .merge(heimsight.ingest_routes())
        .merge(heimsight.read_routes())
        .merge(heimsight.admin_routes())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;

    use axum::body::Body;
    use axum::http::Request;
    use heimsight_store::MemoryStore;
    use tower::ServiceExt;

    use super::*;

    #[tokio::test]
    async fn the_ui_answers_under_its_path_and_the_app_keeps_its_own() {
        let heimsight = HeimsightServer::builder()
            .store(Arc::new(MemoryStore::new()))
            .build()
            .unwrap();
        let app = app(&heimsight);
        let get = |uri: &str| Request::get(uri).body(Body::empty()).unwrap();
        let res = app.clone().oneshot(get("/")).await.unwrap();
        assert_eq!(res.status(), 200);
        for home in ["/observability", "/observability/"] {
            let res = app.clone().oneshot(get(home)).await.unwrap();
            assert_eq!(res.headers()["location"], "/observability/logs", "{home}");
        }
        let res = app
            .clone()
            .oneshot(get("/observability/alerts"))
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let res = app.oneshot(get("/api/v1/alerts/rules")).await.unwrap();
        assert_eq!(res.status(), 200);
    }
}
