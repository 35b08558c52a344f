//! `GET /health`.

use axum::Json;
use heimsight_core::api::Health;

/// 200 `{"status": "ok", "version": "<crate version>"}` while the server runs.
pub(super) async fn health() -> Json<Health> {
    Json(Health::ok(env!("CARGO_PKG_VERSION")))
}
