//! `GET /api/v1/stats`.

use axum::Json;
use axum::extract::State;
use heimsight_core::Timestamp;
use heimsight_core::api::{MemoryView, PerSignal, SignalStatsView, StatsView, StatusView};
use heimsight_store::{Signal, SignalStats};

use crate::api_error::ApiError;
use crate::state::AppState;

pub(crate) async fn stats(State(state): State<AppState>) -> Result<Json<StatsView>, ApiError> {
    let stats = state.blocking(|store| store.stats()).await?;
    let now = Timestamp::now();
    let view = |s| signal_view(stats.get(s), now);
    Ok(Json(StatsView {
        signals: PerSignal {
            logs: view(Signal::Logs),
            spans: view(Signal::Spans),
            metrics: view(Signal::Metrics),
        },
        series: stats.series,
    }))
}

/// `GET /api/v1/status`: version, start time, uptime and ingest counters since the start.
pub(crate) async fn status(State(state): State<AppState>) -> Result<Json<StatusView>, ApiError> {
    let (started_at, uptime_seconds, ingest) = state.ingested.snapshot();
    let store = state
        .blocking(|store| Ok::<_, ApiError>(store.memory()))
        .await?;
    Ok(Json(StatusView {
        version: env!("CARGO_PKG_VERSION").into(),
        started_at,
        uptime_seconds,
        ingest,
        memory: MemoryView {
            rss_bytes: rss_bytes(),
            store: named_bytes(store),
            process: state
                .memory_probe
                .as_ref()
                .map(|probe| named_bytes(probe())),
        },
    }))
}

/// `(name, bytes)` pairs as a map.
fn named_bytes(pairs: Vec<(&'static str, u64)>) -> std::collections::BTreeMap<String, u64> {
    pairs.into_iter().map(|(k, b)| (k.to_string(), b)).collect()
}

/// The process's resident memory (Linux: `VmRSS` of `/proc/self/status`), else `null`.
pub(crate) fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn signal_view(s: &SignalStats, now: Timestamp) -> SignalStatsView {
    SignalStatsView {
        records: s.records,
        bytes: s.bytes,
        oldest: s.oldest,
        newest: s.newest,
        age_seconds: s
            .oldest
            .map(|t| now.0.saturating_sub(t.0).max(0) / 1_000_000_000),
    }
}
