//! `GET /health`.

use axum::Json;
use serde_json::{Value, json};

/// 200 `{"status": "ok", "version": "<crate version>"}` while the server runs.
pub(super) async fn health() -> Json<Value> {
    Json(json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")}))
}
