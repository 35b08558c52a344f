//! `GET /api/v1/stats`.

use axum::Json;
use axum::extract::State;
use heimsight_core::Timestamp;
use heimsight_store::{Signal, SignalStats};
use serde_json::{Map, Value, json};

use crate::api_error::ApiError;
use crate::state::AppState;

pub(crate) async fn stats(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let stats = state.blocking(|store| store.stats()).await?;
    let now = Timestamp::now();
    let mut out = Map::new();
    for s in Signal::ALL {
        out.insert(s.as_str().into(), signal_json(stats.get(s), now));
    }
    out.insert("series".into(), json!(stats.series));
    Ok(Json(Value::Object(out)))
}

/// `GET /api/v1/status`: version, start time, uptime and ingest counters since the start.
pub(crate) async fn status(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let mut v = state.ingested.to_json();
    v["version"] = json!(env!("CARGO_PKG_VERSION"));
    let store = state
        .blocking(|store| Ok::<_, ApiError>(store.memory()))
        .await?;
    v["memory"] = json!({"rss_bytes": rss_bytes(), "store": named_bytes(store)});
    if let Some(probe) = &state.memory_probe {
        v["memory"]["process"] = named_bytes(probe());
    }
    Ok(Json(v))
}

/// `(name, bytes)` pairs as a JSON object.
fn named_bytes(pairs: Vec<(&'static str, u64)>) -> Value {
    Value::Object(
        pairs
            .into_iter()
            .map(|(k, b)| (k.to_string(), json!(b)))
            .collect(),
    )
}

/// The process's resident memory (Linux: `VmRSS` of `/proc/self/status`), else `null`.
fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn signal_json(s: &SignalStats, now: Timestamp) -> Value {
    json!({
        "records": s.records,
        "bytes": s.bytes,
        "oldest": s.oldest.map(|t| t.to_rfc3339()),
        "newest": s.newest.map(|t| t.to_rfc3339()),
        "age_seconds": s.oldest.map(|t| now.0.saturating_sub(t.0).max(0) / 1_000_000_000),
    })
}
