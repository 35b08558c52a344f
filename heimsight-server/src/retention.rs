//! Retention: how long each signal is kept, the runtime overrides persisted in the store, and
//! the pass that deletes expired data.
//!
//! The effective retention of a signal is the value set through `PUT /api/v1/retention` if
//! there is one (persisted in the [`MetaStore`](heimsight_store::MetaStore) namespace
//! [`SETTINGS_NAMESPACE`], key [`RETENTION_KEY`]), else the configured one. It is read from the
//! store on every use, so several servers sharing a store agree, and nothing is cached.

use std::sync::{Mutex, PoisonError};

use heimsight_core::Timestamp;
use heimsight_core::api::{RetentionUpdate, RetentionView};
use heimsight_store::{Signal, Store};
use serde::{Deserialize, Serialize};

use crate::api_error::ApiError;

/// Metadata namespace of server settings.
pub const SETTINGS_NAMESPACE: &str = "settings";
/// Key of the retention overrides in [`SETTINGS_NAMESPACE`].
pub const RETENTION_KEY: &str = "retention";

/// Time to live of each signal, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Log records.
    pub logs: i64,
    /// Spans.
    pub spans: i64,
    /// Metric points.
    pub metrics: i64,
}

impl Retention {
    /// The time to live of `signal`.
    pub fn get(&self, signal: Signal) -> i64 {
        match signal {
            Signal::Logs => self.logs,
            Signal::Spans => self.spans,
            Signal::Metrics => self.metrics,
        }
    }

    fn set(&mut self, signal: Signal, ns: i64) {
        match signal {
            Signal::Logs => self.logs = ns,
            Signal::Spans => self.spans = ns,
            Signal::Metrics => self.metrics = ns,
        }
    }

    /// The answer of `GET /api/v1/retention`: `{"logs": "7d", …, "logs_ns": …, …}`.
    pub fn view(&self) -> RetentionView {
        let d = |ns: i64| heimsight_core::Duration::from_nanos(ns.max(0));
        RetentionView::new(d(self.logs), d(self.spans), d(self.metrics))
    }
}

/// Formats nanoseconds as a compact duration that
/// [`parse_duration_nanos`](heimsight_core::parse_duration_nanos) reads back: `7d`, `1h30m`,
/// `250ms` ([`heimsight_core::Duration`]'s text form; `0s` for zero or less).
pub fn format_duration(ns: i64) -> String {
    heimsight_core::Duration::from_nanos(ns.max(0)).to_string()
}

/// The overrides as persisted: only the signals set at runtime.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Overrides {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    logs: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    spans: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    metrics: Option<i64>,
}

impl Overrides {
    fn get(&self, s: Signal) -> Option<i64> {
        match s {
            Signal::Logs => self.logs,
            Signal::Spans => self.spans,
            Signal::Metrics => self.metrics,
        }
    }

    fn set(&mut self, s: Signal, ns: i64) {
        match s {
            Signal::Logs => self.logs = Some(ns),
            Signal::Spans => self.spans = Some(ns),
            Signal::Metrics => self.metrics = Some(ns),
        }
    }

    fn load(store: &dyn Store) -> heimsight_store::Result<Overrides> {
        let Some(bytes) = store.meta_get(SETTINGS_NAMESPACE, RETENTION_KEY)? else {
            return Ok(Overrides::default());
        };
        match serde_json::from_slice(&bytes) {
            Ok(o) => Ok(o),
            Err(e) => {
                tracing::warn!(error = %e, "ignoring unreadable retention settings in the store");
                Ok(Overrides::default())
            }
        }
    }
}

/// The effective retention: `base` overridden by the values persisted in `store`.
pub fn effective(store: &dyn Store, base: Retention) -> heimsight_store::Result<Retention> {
    let o = Overrides::load(store)?;
    let mut r = base;
    for s in Signal::ALL {
        if let Some(ns) = o.get(s).filter(|ns| *ns > 0) {
            r.set(s, ns);
        }
    }
    Ok(r)
}

/// Serializes read-modify-write of the overrides within this process.
static UPDATE_LOCK: Mutex<()> = Mutex::new(());

/// Applies a partial update (the body of `PUT /api/v1/retention`), persists it and returns the
/// new effective retention. Nothing is changed unless every given value is valid.
pub(crate) fn update(
    store: &dyn Store,
    base: Retention,
    update: &RetentionUpdate,
) -> Result<Retention, ApiError> {
    let changes: Vec<(Signal, i64)> = [
        (Signal::Logs, update.logs),
        (Signal::Spans, update.spans),
        (Signal::Metrics, update.metrics),
    ]
    .into_iter()
    .filter_map(|(s, d)| Some((s, d?.as_nanos())))
    .collect();
    if let Some((s, _)) = changes.iter().find(|(_, ns)| *ns <= 0) {
        return Err(ApiError::invalid(
            "invalid retention settings",
            vec![heimsight_core::FieldError::new(
                s.as_str(),
                "must be longer than zero",
            )],
        ));
    }
    let _guard = UPDATE_LOCK.lock().unwrap_or_else(PoisonError::into_inner);
    let mut overrides = Overrides::load(store)?;
    for (s, ns) in &changes {
        overrides.set(*s, *ns);
    }
    let bytes = serde_json::to_vec(&overrides)
        .map_err(|e| ApiError::Internal(format!("could not encode retention settings: {e}")))?;
    store.meta_put(SETTINGS_NAMESPACE, RETENTION_KEY, &bytes)?;
    let r = effective(store, base)?;
    tracing::info!(
        logs = %format_duration(r.logs),
        spans = %format_duration(r.spans),
        metrics = %format_duration(r.metrics),
        "retention changed"
    );
    Ok(r)
}

/// One retention pass: deletes, for every signal, the data older than now minus its time to
/// live. Returns the number of records removed (an estimate for some backends).
pub fn enforce(store: &dyn Store, base: Retention) -> heimsight_store::Result<u64> {
    Ok(enforce_each(store, base)?.iter().map(|(_, n)| n).sum())
}

/// [`enforce`], with the records removed per signal.
pub fn enforce_each(
    store: &dyn Store,
    base: Retention,
) -> heimsight_store::Result<Vec<(Signal, u64)>> {
    let r = effective(store, base)?;
    let now = Timestamp::now();
    let mut removed_each = Vec::new();
    for s in Signal::ALL {
        let cutoff = now.saturating_add(-r.get(s));
        let removed = store.delete_before(s, cutoff)?;
        if removed > 0 {
            tracing::info!(signal = s.as_str(), removed, cutoff = %cutoff.to_rfc3339(), "deleted expired data");
        }
        removed_each.push((s, removed));
    }
    Ok(removed_each)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use heimsight_core::parse_duration_nanos;
    use heimsight_store::MemoryStore;
    use serde_json::{Value, json};

    const BASE: Retention = Retention {
        logs: 7 * 86_400_000_000_000,
        spans: 7 * 86_400_000_000_000,
        metrics: 30 * 86_400_000_000_000,
    };

    #[test]
    fn formats_durations_that_parse_back() {
        for (ns, text) in [
            (86_400_000_000_000 * 7, "7d"),
            (5_400_000_000_000, "1h30m"),
            (250_000_000, "250ms"),
            (1_500_000_000, "1s500ms"),
            (1, "1ns"),
            (0, "0s"),
        ] {
            assert_eq!(format_duration(ns), text);
            assert_eq!(parse_duration_nanos(text).unwrap(), ns);
        }
    }

    #[test]
    fn updates_are_partial_validated_and_persisted() {
        let store = MemoryStore::new();
        assert_eq!(effective(&store, BASE).unwrap(), BASE);
        let read = |v: Value| RetentionUpdate::from_json(&v).unwrap();
        let r = update(&store, BASE, &read(json!({"logs": "3d"}))).unwrap();
        assert_eq!(r.logs, 3 * 86_400_000_000_000);
        assert_eq!(r.spans, BASE.spans);
        let r = update(
            &store,
            BASE,
            &read(json!({"metrics_ns": 60_000_000_000_i64})),
        )
        .unwrap();
        assert_eq!(
            (r.logs, r.metrics),
            (3 * 86_400_000_000_000, 60_000_000_000)
        );
        // A new base (config file) does not override runtime settings, but applies elsewhere.
        let base2 = Retention { spans: 1, ..BASE };
        assert_eq!(effective(&store, base2).unwrap().spans, 1);
        assert_eq!(
            effective(&store, base2).unwrap().logs,
            3 * 86_400_000_000_000
        );

        let errors = RetentionUpdate::from_json(
            &json!({"logs": "soon", "spans": 5, "colour": "x", "metrics": "0s"}),
        )
        .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["logs", "spans", "metrics", "colour"], "{errors:?}");
        // A zero made in code is refused too; nothing changed.
        let zero = RetentionUpdate {
            logs: Some(heimsight_core::Duration::from_nanos(0)),
            ..RetentionUpdate::default()
        };
        assert!(matches!(
            update(&store, BASE, &zero),
            Err(ApiError::Invalid { .. })
        ));
        assert_eq!(
            effective(&store, BASE).unwrap().logs,
            3 * 86_400_000_000_000
        );
    }
}
