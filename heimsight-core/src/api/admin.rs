//! Health, ingest answers, store statistics, server status and retention.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Duration, Timestamp};

/// `GET /health`: `{"status": "ok", "version": "0.1.0"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    /// `ok` while the server runs.
    pub status: String,
    /// The server's version.
    pub version: String,
}

impl Health {
    /// A healthy server of `version`.
    pub fn ok(version: impl Into<String>) -> Health {
        Health {
            status: "ok".into(),
            version: version.into(),
        }
    }

    /// Whether the server says it is healthy.
    pub fn is_ok(&self) -> bool {
        self.status == "ok"
    }
}

/// The answer to a batch that was stored whole: `{"accepted": 3}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Accepted {
    /// Records stored.
    pub accepted: usize,
}

/// One value per signal: logs, spans, metric points.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PerSignal<T> {
    /// Log records.
    pub logs: T,
    /// Spans.
    pub spans: T,
    /// Metric points.
    pub metrics: T,
}

impl<T> PerSignal<T> {
    /// The three values with their signal's name, in the order logs, spans, metrics.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &T)> {
        [
            ("logs", &self.logs),
            ("spans", &self.spans),
            ("metrics", &self.metrics),
        ]
        .into_iter()
    }
}

/// `GET /api/v1/stats`: what the store holds of each signal, and its metric series.
///
/// ```
/// use heimsight_core::api::StatsView;
///
/// let stats: StatsView = serde_json::from_str(
///     r#"{"logs": {"records": 2, "bytes": 130, "oldest": "2026-01-01T00:00:00Z",
///                  "newest": "2026-01-01T00:00:01Z", "age_seconds": 60},
///         "spans": {"records": 0, "bytes": 0},
///         "metrics": {"records": 0, "bytes": 0}, "series": 0}"#,
/// )?;
/// assert_eq!(stats.signals.logs.records, 2);
/// assert_eq!(stats.signals.spans.oldest, None);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatsView {
    /// Per signal.
    #[serde(flatten)]
    pub signals: PerSignal<SignalStatsView>,
    /// Distinct metric series.
    pub series: u64,
}

/// What the store holds of one signal.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignalStatsView {
    /// Records stored.
    pub records: u64,
    /// Bytes they take on disk (an estimate).
    pub bytes: u64,
    /// Time of the oldest record.
    #[serde(default)]
    pub oldest: Option<Timestamp>,
    /// Time of the newest record.
    #[serde(default)]
    pub newest: Option<Timestamp>,
    /// Age of the oldest record in seconds.
    #[serde(default)]
    pub age_seconds: Option<i64>,
}

/// `GET /api/v1/status`: version, start, ingest since the start, memory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatusView {
    /// The server's version.
    pub version: String,
    /// When the server started.
    pub started_at: Timestamp,
    /// Seconds since then.
    pub uptime_seconds: u64,
    /// Records ingested per signal.
    pub ingest: PerSignal<IngestRate>,
    /// Memory use.
    pub memory: MemoryView,
}

/// Records of one signal ingested since the start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IngestRate {
    /// Records since the start.
    pub total: u64,
    /// Mean per second over the last minute.
    pub per_second: f64,
}

/// Memory the server uses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemoryView {
    /// Resident memory of the process, where the system tells.
    #[serde(default)]
    pub rss_bytes: Option<u64>,
    /// The store's own caches and buffers, by name.
    #[serde(default)]
    pub store: BTreeMap<String, u64>,
    /// The process's allocator figures, by name, when the binary installs a probe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<BTreeMap<String, u64>>,
}

/// `GET`/`PUT /api/v1/retention`: how long each signal is kept, as text and in nanoseconds.
///
/// ```
/// use heimsight_core::api::RetentionView;
/// use heimsight_core::Duration;
///
/// let r = RetentionView::new(Duration::from_secs(7 * 86_400), Duration::from_secs(3 * 86_400),
///                            Duration::from_secs(30 * 86_400));
/// let json = serde_json::to_value(&r)?;
/// assert_eq!(json["logs"], "7d");
/// assert_eq!(json["spans_ns"], 3 * 86_400 * 1_000_000_000_i64);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RetentionView {
    /// Log records.
    pub logs: Duration,
    /// Spans.
    pub spans: Duration,
    /// Metric points.
    pub metrics: Duration,
    /// Log records, in nanoseconds.
    pub logs_ns: i64,
    /// Spans, in nanoseconds.
    pub spans_ns: i64,
    /// Metric points, in nanoseconds.
    pub metrics_ns: i64,
}

impl RetentionView {
    /// The view of these times to live.
    pub fn new(logs: Duration, spans: Duration, metrics: Duration) -> RetentionView {
        RetentionView {
            logs,
            spans,
            metrics,
            logs_ns: logs.as_nanos(),
            spans_ns: spans.as_nanos(),
            metrics_ns: metrics.as_nanos(),
        }
    }

    /// The time to live of the signal named `logs`, `spans` or `metrics`.
    pub fn get(&self, signal: &str) -> Option<Duration> {
        match signal {
            "logs" => Some(self.logs),
            "spans" => Some(self.spans),
            "metrics" => Some(self.metrics),
            _ => None,
        }
    }
}

/// `PUT /api/v1/retention`: new times to live for some signals (the others keep theirs).
///
/// ```
/// use heimsight_core::Duration;
/// use heimsight_core::api::RetentionUpdate;
///
/// let u = RetentionUpdate::from_json(&serde_json::json!({"logs": "3d", "spans_ns": 3_600_000_000_000_i64}))?;
/// assert_eq!(u.logs, Some(Duration::from_secs(3 * 86_400)));
/// assert_eq!(u.spans, Some(Duration::from_secs(3_600)));
/// assert_eq!(u.metrics, None);
/// assert_eq!(serde_json::to_value(&u).unwrap(), serde_json::json!({"logs": "3d", "spans": "1h"}));
///
/// let errors = RetentionUpdate::from_json(&serde_json::json!({"logs": "-1d", "metrix": "1d"})).unwrap_err();
/// let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
/// assert_eq!(fields, ["logs", "metrix"]);
/// # Ok::<(), Vec<heimsight_core::FieldError>>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RetentionUpdate {
    /// Log records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logs: Option<Duration>,
    /// Spans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spans: Option<Duration>,
    /// Metric points.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<Duration>,
}

impl RetentionUpdate {
    /// Reads an update from the API's JSON with every problem by field: each signal as a
    /// positive duration (`"logs": "7d"`) or as nanoseconds (`"logs_ns": 604800000000000`);
    /// both forms of one signal must agree.
    pub fn from_json(v: &serde_json::Value) -> Result<RetentionUpdate, Vec<crate::FieldError>> {
        use serde_json::Value;
        let mut problems = crate::ValidationErrors::new();
        let Some(mut r) = crate::FieldReader::new(v, "", &mut problems, "retention settings")
        else {
            return Err(problems.0);
        };
        let mut update = RetentionUpdate::default();
        for signal in ["logs", "spans", "metrics"] {
            let ns_name = format!("{signal}_ns");
            // `logs` as a duration, or `logs_ns` as nanoseconds.
            for (name, ns_form) in [(signal, false), (ns_name.as_str(), true)] {
                let Some((value, _)) = r.get(&[name]) else {
                    continue;
                };
                let parsed = match (ns_form, value) {
                    (false, Value::String(s)) => match Duration::parse(s) {
                        Ok(d) if d.is_positive() => Ok(d),
                        Ok(_) => Err(format!("must be longer than zero, found {s:?}")),
                        Err(e) => Err(e.to_string()),
                    },
                    (false, other) => Err(format!(
                        "expected a duration string such as \"7d\", found {other}"
                    )),
                    (true, Value::Number(n)) => match n.as_i64() {
                        Some(ns) if ns > 0 => Ok(Duration::from_nanos(ns)),
                        _ => Err(format!(
                            "expected a positive integer of nanoseconds, found {n}"
                        )),
                    },
                    (true, other) => Err(format!(
                        "expected a positive integer of nanoseconds, found {other}"
                    )),
                };
                let slot = match signal {
                    "logs" => &mut update.logs,
                    "spans" => &mut update.spans,
                    _ => &mut update.metrics,
                };
                match (parsed, *slot) {
                    (Ok(d), Some(prev)) if prev != d => r.err(
                        name,
                        format!("disagrees with the other value given for {signal}"),
                    ),
                    (Ok(d), _) => *slot = Some(d),
                    (Err(p), _) => r.err(name, p),
                }
            }
        }
        r.finish();
        if problems.is_empty() {
            Ok(update)
        } else {
            Err(problems.0)
        }
    }
}
