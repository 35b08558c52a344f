//! The server's own metrics, served at `GET /metrics` in the text format Prometheus scrapes
//! (OpenMetrics), built with `prometheus-client`: what was ingested and refused, how requests
//! and queries went, what is stored, the store's merges and compactions, retention deletes,
//! alert evaluations and notifications, the memory the parts hold, the alerting outbox, and
//! the process's resident memory, CPU time and open files.
//!
//! Counters are kept as things happen ([`ServerMetrics::ingested`], the request layer of every
//! route group); figures the server already has elsewhere (stored bytes, memory parts, the
//! process) are read when Prometheus scrapes.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::api_error::ApiError;
use crate::layers::RouteGroup;
use crate::state::AppState;

/// How telemetry came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    /// `POST /api/v1/{logs,traces,metrics}`.
    Json,
    /// OTLP over HTTP.
    OtlpHttp,
    /// OTLP over gRPC.
    OtlpGrpc,
    /// Prometheus remote write.
    PrometheusRemoteWrite,
}

impl Protocol {
    fn as_str(self) -> &'static str {
        match self {
            Protocol::Json => "json",
            Protocol::OtlpHttp => "otlp_http",
            Protocol::OtlpGrpc => "otlp_grpc",
            Protocol::PrometheusRemoteWrite => "prometheus_remote_write",
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct IngestLabels {
    signal: &'static str,
    protocol: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RejectLabels {
    signal: &'static str,
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AuthLabels {
    group: &'static str,
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    group: &'static str,
    method: String,
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    group: &'static str,
    route: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SignalLabel {
    signal: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PartLabel {
    part: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EvalLabels {
    kind: String,
    result: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NotifyLabels {
    channel_type: String,
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WorkLabel {
    work: &'static str,
}

fn latency_histogram() -> Histogram {
    // 0.5 ms … ~16 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

/// The server's metrics and their registry.
pub(crate) struct ServerMetrics {
    registry: Registry,
    ingested_records: Family<IngestLabels, Counter>,
    ingested_bytes: Family<IngestLabels, Counter>,
    rejected_records: Family<RejectLabels, Counter>,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    stored_bytes: Family<SignalLabel, Gauge>,
    stored_records: Family<SignalLabel, Gauge>,
    series: Gauge,
    memory: Family<PartLabel, Gauge>,
    outbox: Gauge,
    rules: Gauge,
    keys: Gauge,
    auth_failures: Family<AuthLabels, Counter>,
    rate_limited: Family<AuthLabels, Counter>,
    queries: Family<ResultLabel, Counter>,
    query_latency: Family<ResultLabel, Histogram, fn() -> Histogram>,
    query_rows_scanned: Counter,
    retention_deleted: Family<SignalLabel, Counter>,
    evaluations: Family<EvalLabels, Counter>,
    evaluation_latency: Family<EvalLabels, Histogram, fn() -> Histogram>,
    notifications: Family<NotifyLabels, Counter>,
    store_work: Family<WorkLabel, Counter>,
    /// The store's counters already counted (they are read at scrape time).
    store_work_seen: Mutex<heimsight_store::StoreActivity>,
    store_busy: Family<WorkLabel, Gauge>,
    resident: Gauge,
    open_fds: Gauge,
    cpu_seconds: Counter<f64, AtomicU64>,
    /// CPU seconds already counted.
    cpu_seen: Mutex<f64>,
    started: Instant,
    uptime: Gauge<f64, AtomicU64>,
}

impl std::fmt::Debug for ServerMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerMetrics").finish_non_exhaustive()
    }
}

impl ServerMetrics {
    pub(crate) fn new() -> Arc<ServerMetrics> {
        let mut registry = Registry::with_prefix("heimsight");
        let m = ServerMetrics {
            ingested_records: Family::default(),
            ingested_bytes: Family::default(),
            rejected_records: Family::default(),
            requests: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
            stored_bytes: Family::default(),
            stored_records: Family::default(),
            series: Gauge::default(),
            memory: Family::default(),
            outbox: Gauge::default(),
            rules: Gauge::default(),
            keys: Gauge::default(),
            auth_failures: Family::default(),
            rate_limited: Family::default(),
            queries: Family::default(),
            query_latency: Family::new_with_constructor(latency_histogram),
            query_rows_scanned: Counter::default(),
            retention_deleted: Family::default(),
            evaluations: Family::default(),
            evaluation_latency: Family::new_with_constructor(latency_histogram),
            notifications: Family::default(),
            store_work: Family::default(),
            store_work_seen: Mutex::new(heimsight_store::StoreActivity::default()),
            store_busy: Family::default(),
            resident: Gauge::default(),
            open_fds: Gauge::default(),
            cpu_seconds: Counter::default(),
            cpu_seen: Mutex::new(0.0),
            started: Instant::now(),
            uptime: Gauge::default(),
            registry: Registry::default(),
        };
        registry.register(
            "ingested_records",
            "Records stored (log records, spans, metric points), by signal and protocol",
            m.ingested_records.clone(),
        );
        registry.register(
            "ingested_bytes",
            "Request bytes of stored ingestion requests (as received, compressed or not)",
            m.ingested_bytes.clone(),
        );
        registry.register(
            "rejected_records",
            "Records refused by ingestion, by signal and reason",
            m.rejected_records.clone(),
        );
        registry.register(
            "http_requests",
            "HTTP requests answered, by route group, method, route and status",
            m.requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer HTTP requests, by route group and route",
            m.latency.clone(),
        );
        registry.register(
            "stored_bytes",
            "Bytes the store holds per signal",
            m.stored_bytes.clone(),
        );
        registry.register(
            "stored_records",
            "Records the store holds per signal",
            m.stored_records.clone(),
        );
        registry.register("metric_series", "Metric series known", m.series.clone());
        registry.register(
            "memory_bytes",
            "Memory held by the store's parts (memtables, caches, summaries, …)",
            m.memory.clone(),
        );
        registry.register(
            "alert_outbox",
            "Notifications waiting in the outbox",
            m.outbox.clone(),
        );
        registry.register("alert_rules", "Alert rules", m.rules.clone());
        registry.register("api_keys", "API keys", m.keys.clone());
        registry.register(
            "auth_failures",
            "Requests refused by access control, by route group and reason (unauthenticated, forbidden)",
            m.auth_failures.clone(),
        );
        registry.register(
            "rate_limited_requests",
            "Requests refused by rate limits, by route group and limit (requests, ingest bytes, concurrent queries)",
            m.rate_limited.clone(),
        );
        registry.register(
            "queries",
            "Queries of the query language run (/api/v1/query), by result (ok, error)",
            m.queries.clone(),
        );
        registry.register(
            "query_duration_seconds",
            "Time to run queries of the query language, by result",
            m.query_latency.clone(),
        );
        registry.register(
            "query_rows_scanned",
            "Rows the store read to answer queries of the query language",
            m.query_rows_scanned.clone(),
        );
        registry.register(
            "retention_deleted_records",
            "Records deleted by retention, by signal (an estimate for some backends)",
            m.retention_deleted.clone(),
        );
        registry.register(
            "alert_evaluations",
            "Alert rule evaluations, by rule kind and result (ok, error)",
            m.evaluations.clone(),
        );
        registry.register(
            "alert_evaluation_duration_seconds",
            "Time to evaluate alert rules, by rule kind and result",
            m.evaluation_latency.clone(),
        );
        registry.register(
            "notifications",
            "Notification delivery attempts, by channel type and outcome (sent; failed: given up; retried: will be tried again)",
            m.notifications.clone(),
        );
        registry.register(
            "store_background_work",
            "Background work the store has done: log block merges, log blocks merged away, metric chunk cuts",
            m.store_work.clone(),
        );
        registry.register(
            "store_background_running",
            "Background work of the storage engine under way (compactions, flushes) and compaction bytes pending",
            m.store_busy.clone(),
        );
        registry.register(
            "uptime_seconds",
            "Seconds since the server started",
            m.uptime.clone(),
        );
        let process = registry.sub_registry_with_prefix("process");
        process.register(
            "resident_memory_bytes",
            "Resident memory of the process",
            m.resident.clone(),
        );
        process.register(
            "open_fds",
            "Open file descriptors of the process",
            m.open_fds.clone(),
        );
        process.register(
            "cpu_seconds",
            "CPU time of the process (user and system)",
            m.cpu_seconds.clone(),
        );
        Arc::new(ServerMetrics { registry, ..m })
    }

    /// Counts an ingestion request: records stored and refused, and its bytes.
    pub(crate) fn ingested(
        &self,
        signal: heimsight_store::Signal,
        protocol: Protocol,
        accepted: usize,
        rejected: u64,
        bytes: usize,
    ) {
        let signal = signal_name(signal);
        let labels = IngestLabels {
            signal,
            protocol: protocol.as_str(),
        };
        self.ingested_records
            .get_or_create(&labels)
            .inc_by(accepted as u64);
        self.ingested_bytes
            .get_or_create(&labels)
            .inc_by(bytes as u64);
        if rejected > 0 {
            self.rejected_records
                .get_or_create(&RejectLabels {
                    signal,
                    reason: "invalid",
                })
                .inc_by(rejected);
        }
    }

    /// Counts and times a query of the query language.
    pub(crate) fn query(&self, ok: bool, seconds: f64, rows_scanned: u64) {
        let label = ResultLabel {
            result: if ok { "ok" } else { "error" },
        };
        self.queries.get_or_create(&label).inc();
        self.query_latency.get_or_create(&label).observe(seconds);
        self.query_rows_scanned.inc_by(rows_scanned);
    }

    /// Counts records deleted by retention.
    pub(crate) fn retention_deleted(&self, signal: heimsight_store::Signal, records: u64) {
        self.retention_deleted
            .get_or_create(&SignalLabel {
                signal: signal_name(signal),
            })
            .inc_by(records);
    }

    /// Counts and times an alert rule evaluation.
    #[cfg(feature = "alerting")]
    pub(crate) fn evaluation(&self, e: &heimsight_alert::Evaluation<'_>) {
        let labels = EvalLabels {
            kind: e.kind.to_string(),
            result: if e.ok { "ok" } else { "error" },
        };
        self.evaluations.get_or_create(&labels).inc();
        self.evaluation_latency
            .get_or_create(&labels)
            .observe(e.duration.as_secs_f64());
    }

    /// Counts a notification delivery attempt through a channel of type `channel_type`:
    /// `sent`, `retried` (failed, will be tried again) or `failed` (given up).
    #[cfg(feature = "alerting")]
    pub(crate) fn notification(&self, channel_type: &str, outcome: &'static str) {
        self.notifications
            .get_or_create(&NotifyLabels {
                channel_type: channel_type.to_string(),
                outcome,
            })
            .inc();
    }

    /// Counts a request refused by access control.
    pub(crate) fn auth_failure(&self, group: RouteGroup, status: u16) {
        let reason = if status == 401 {
            "unauthenticated"
        } else {
            "forbidden"
        };
        self.auth_failures
            .get_or_create(&AuthLabels {
                group: group.as_str(),
                reason,
            })
            .inc();
    }

    /// Counts a request refused by a rate limit.
    pub(crate) fn rate_limited(&self, group: RouteGroup, what: &'static str) {
        self.rate_limited
            .get_or_create(&AuthLabels {
                group: group.as_str(),
                reason: what,
            })
            .inc();
    }

    fn request(&self, group: RouteGroup, method: &str, route: &str, status: u16, secs: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                group: group.as_str(),
                method: method.to_string(),
                route: route.to_string(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                group: group.as_str(),
                route: route.to_string(),
            })
            .observe(secs);
    }

    /// Reads what is read at scrape time and encodes everything.
    async fn render(&self, state: &AppState) -> Result<String, ApiError> {
        let (stats, memory, activity) = state
            .blocking(|store| Ok::<_, ApiError>((store.stats(), store.memory(), store.activity())))
            .await?;
        {
            let mut seen = self
                .store_work_seen
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            for (work, now, before) in [
                ("log_merges", activity.log_merges, seen.log_merges),
                (
                    "log_blocks_merged",
                    activity.log_blocks_merged,
                    seen.log_blocks_merged,
                ),
                (
                    "metric_chunk_cuts",
                    activity.metric_chunk_cuts,
                    seen.metric_chunk_cuts,
                ),
            ] {
                // Created at 0 so that the series exists before the first merge.
                self.store_work
                    .get_or_create(&WorkLabel { work })
                    .inc_by(now.saturating_sub(before));
            }
            *seen = activity;
        }
        for (work, value) in [
            ("compactions", activity.compactions_running),
            ("flushes", activity.flushes_running),
            (
                "pending_compaction_bytes",
                activity.pending_compaction_bytes,
            ),
        ] {
            self.store_busy
                .get_or_create(&WorkLabel { work })
                .set(i64::try_from(value).unwrap_or(i64::MAX));
        }
        let stats = stats?;
        for s in [
            heimsight_store::Signal::Logs,
            heimsight_store::Signal::Spans,
            heimsight_store::Signal::Metrics,
        ] {
            let label = SignalLabel {
                signal: signal_name(s),
            };
            let st = stats.get(s);
            self.stored_bytes
                .get_or_create(&label)
                .set(i64::try_from(st.bytes).unwrap_or(i64::MAX));
            self.stored_records
                .get_or_create(&label)
                .set(i64::try_from(st.records).unwrap_or(i64::MAX));
        }
        self.series
            .set(i64::try_from(stats.series).unwrap_or(i64::MAX));
        for (part, bytes) in memory {
            self.memory
                .get_or_create(&PartLabel {
                    part: part.to_string(),
                })
                .set(i64::try_from(bytes).unwrap_or(i64::MAX));
        }
        #[cfg(feature = "alerting")]
        {
            let alerts = Arc::clone(&state.alerts);
            let (outbox, rules) = crate::blocking::run(move || {
                (
                    alerts.outbox().map(|o| o.len()).unwrap_or(0),
                    alerts.rules().len(),
                )
            })
            .await?;
            self.outbox.set(i64::try_from(outbox).unwrap_or(i64::MAX));
            self.rules.set(i64::try_from(rules).unwrap_or(i64::MAX));
        }
        self.keys
            .set(i64::try_from(state.keys.count()).unwrap_or(i64::MAX));
        self.uptime.set(self.started.elapsed().as_secs_f64());
        let p = process_figures();
        if let Some(rss) = p.resident {
            self.resident.set(i64::try_from(rss).unwrap_or(i64::MAX));
        }
        if let Some(fds) = p.open_fds {
            self.open_fds.set(i64::try_from(fds).unwrap_or(i64::MAX));
        }
        if let Some(cpu) = p.cpu_seconds {
            let mut seen = self.cpu_seen.lock().unwrap_or_else(PoisonError::into_inner);
            if cpu > *seen {
                self.cpu_seconds.inc_by(cpu - *seen);
                *seen = cpu;
            }
        }
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .map_err(|e| ApiError::Internal(format!("could not encode the metrics: {e}")))?;
        Ok(out)
    }
}

fn signal_name(s: heimsight_store::Signal) -> &'static str {
    match s {
        heimsight_store::Signal::Logs => "logs",
        heimsight_store::Signal::Spans => "spans",
        heimsight_store::Signal::Metrics => "metrics",
    }
}

/// The process's figures (Linux `/proc`; absent elsewhere).
#[derive(Debug, Default)]
struct Process {
    resident: Option<u64>,
    open_fds: Option<u64>,
    cpu_seconds: Option<f64>,
}

fn process_figures() -> Process {
    let resident = crate::routes::stats::rss_bytes();
    let open_fds = std::fs::read_dir("/proc/self/fd")
        .ok()
        .map(|d| d.count() as u64);
    // Fields 14 and 15 of /proc/self/stat (after the command name in parentheses): user and
    // system time in clock ticks, 100 per second on Linux.
    let cpu_seconds = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let rest = &s[s.rfind(')')? + 2..];
            let f: Vec<&str> = rest.split_whitespace().collect();
            let utime: f64 = f.get(11)?.parse().ok()?;
            let stime: f64 = f.get(12)?.parse().ok()?;
            Some((utime + stime) / 100.0)
        });
    Process {
        resident,
        open_fds,
        cpu_seconds,
    }
}

/// `GET /metrics`.
pub(crate) async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    let text = state.metrics.render(&state).await?;
    let mut res = text.into_response();
    res.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    Ok(res)
}

/// Times every request of a route group and counts it by method, route and status (and the
/// refusals of access control). Used by every group of the server.
pub(crate) async fn observe(
    State((metrics, group)): State<(Arc<ServerMetrics>, RouteGroup)>,
    req: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    // A fixed set: methods are the client's choice, and each would be a new series.
    let method = match req.method().as_str() {
        m @ ("GET" | "HEAD" | "POST" | "PUT" | "DELETE" | "PATCH" | "OPTIONS") => m,
        _ => "other",
    }
    .to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let res = next.run(req).await;
    let status = res.status().as_u16();
    if status == 401 || status == 403 {
        metrics.auth_failure(group, status);
    }
    metrics.request(
        group,
        &method,
        &route,
        status,
        started.elapsed().as_secs_f64(),
    );
    res
}
