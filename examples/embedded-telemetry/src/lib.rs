//! A small "checkout" service that keeps its own telemetry, with no server anywhere.
//!
//! [`run`] opens an embedded RocksDB store in a directory, installs Heimsight's `tracing` layer
//! ([`HeimsightLayer`]), handles a few orders in nested instrumented spans (one payment is
//! declined), flushes, and then reads its own telemetry back from the store: the error logs of
//! the run and, through the trace id those logs carry, the whole trace with its span tree.
//! The returned [`Report`] prints as a short human-readable summary.
//!
//! ```text
//! cargo run -p embedded-telemetry                 # a temporary directory
//! cargo run -p embedded-telemetry -- ./telemetry  # a directory that outlives the run
//! ```

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use heimsight_core::{Level, LogRecord, Span, SpanId, StatusCode, Timestamp, TraceId};
use heimsight_ingest::{HeimsightLayer, LayerStats};
use heimsight_store::{LogFilter, LogQuery, LogStore, Order, RocksStore, SpanStore, TimeRange};
use tracing::{debug, error, info, instrument, warn};
use tracing_subscriber::prelude::*;

/// The service the example records its telemetry under.
pub const SERVICE: &str = "checkout";

/// What one [`run`] stored and read back.
#[derive(Debug)]
pub struct Report {
    /// The store's directory.
    pub dir: PathBuf,
    /// The layer's counters after the final flush.
    pub stats: LayerStats,
    /// Log records of this run found in the store.
    pub logs: u64,
    /// The ERROR log records of this run, oldest first.
    pub error_logs: Vec<LogRecord>,
    /// The trace of the first error log.
    pub trace_id: TraceId,
    /// Every span of that trace, by start time.
    pub trace: Vec<Span>,
    /// Log records carrying that trace id.
    pub trace_logs: u64,
}

/// Runs the service against a RocksDB store in `dir` (created if missing) and reads its
/// telemetry back.
pub fn run(dir: &Path) -> anyhow::Result<Report> {
    let store = Arc::new(
        RocksStore::open(dir).with_context(|| format!("opening the store in {}", dir.display()))?,
    );
    let (layer, guard) = HeimsightLayer::builder()
        .service_name(SERVICE)
        .resource_attribute("service.version", env!("CARGO_PKG_VERSION"))
        .resource_attribute("deployment.environment", "example")
        .min_level(tracing::Level::DEBUG)
        .build(store.clone())
        .context("starting the telemetry thread")?;

    let started = Timestamp::now();
    {
        // A service calls `.init()` once in `main`; a scoped default keeps `run` callable
        // more than once in one process.
        let _default = tracing_subscriber::registry().with(layer).set_default();
        for (order_id, card) in [(1001, "visa"), (1002, "expired-visa"), (1003, "mastercard")] {
            // The outcome is recorded in the telemetry; nothing more to do with it here.
            let _ = handle_order(order_id, card);
        }
    }
    // Every span has closed: make sure all of it is in the store.
    if !guard.flush() {
        bail!("the telemetry thread stopped before everything was stored");
    }
    let stats = guard.stats();
    if let Some(e) = guard.last_error() {
        bail!("storing telemetry failed: {e}");
    }
    drop(guard);

    // Read it back, like any other Heimsight client would.
    let this_run = LogFilter::default().with_services([SERVICE]);
    let range = TimeRange {
        start: Some(started),
        end: None,
    };
    let logs = store
        .query_logs(
            &LogQuery::default()
                .with_range(range)
                .with_filter(this_run.clone())
                .with_limit(0),
        )?
        .total;
    let error_logs = store
        .query_logs(
            &LogQuery::default()
                .with_range(range)
                .with_filter(this_run.with_levels([Level::Error]))
                .with_order(Order::OldestFirst)
                .with_limit(100),
        )?
        .logs;
    let trace_id = error_logs
        .first()
        .and_then(|l| l.trace_id)
        .context("no error log with a trace id was stored")?;
    let trace = store.get_trace(&trace_id)?;
    let trace_logs = store
        .query_logs(
            &LogQuery::default()
                .with_filter(LogFilter::default().with_trace_ids([trace_id]))
                .with_limit(0),
        )?
        .total;
    Ok(Report {
        dir: dir.to_path_buf(),
        stats,
        logs,
        error_logs,
        trace_id,
        trace,
        trace_logs,
    })
}

// ---------------------------------------------------------------------------------------------
// The "service"
// ---------------------------------------------------------------------------------------------

#[instrument(fields(
    otel.kind = "server",
    order.total_cents = tracing::field::Empty,
    otel.status_code = tracing::field::Empty,
))]
fn handle_order(order_id: u64, card: &str) -> Result<(), String> {
    info!("order received");
    let items = reserve_stock(order_id);
    let total_cents = items * 1250;
    let span = tracing::Span::current();
    span.record("order.total_cents", total_cents);
    match charge_card(card, total_cents) {
        Ok(payment_id) => {
            send_confirmation(order_id, &payment_id);
            info!("order completed");
            Ok(())
        }
        Err(e) => {
            span.record("otel.status_code", "ERROR");
            warn!(error = %e, "order failed; stock released");
            Err(e)
        }
    }
}

#[instrument]
fn reserve_stock(order_id: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(1));
    let items = order_id % 3 + 1;
    debug!(items, "stock reserved");
    items
}

#[instrument(skip(card), fields(card.kind = card))]
fn charge_card(card: &str, amount_cents: u64) -> Result<String, String> {
    std::thread::sleep(Duration::from_millis(2));
    if card.starts_with("expired") {
        error!(amount_cents, reason = "card expired", "payment declined");
        return Err("card expired".into());
    }
    info!(amount_cents, "payment captured");
    Ok(format!("pay-{amount_cents}"))
}

#[instrument]
fn send_confirmation(order_id: u64, payment_id: &str) {
    std::thread::sleep(Duration::from_millis(1));
    info!("confirmation sent");
}

// ---------------------------------------------------------------------------------------------
// The summary
// ---------------------------------------------------------------------------------------------

fn millis(nanos: i64) -> String {
    format!("{:.1} ms", nanos as f64 / 1e6)
}

impl Report {
    fn span_line(&self, f: &mut fmt::Formatter<'_>, span: &Span, depth: usize) -> fmt::Result {
        write!(
            f,
            "  {:indent$}{}  {}",
            "",
            span.name,
            millis(span.duration_nanos()),
            indent = depth * 2
        )?;
        if span.status.code == StatusCode::Error {
            write!(f, "  status=error")?;
            if !span.status.message.is_empty() {
                write!(f, " ({})", span.status.message)?;
            }
        }
        let fields: Vec<String> = span
            .attributes
            .iter()
            .filter(|(k, _)| !k.starts_with("code."))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        if !fields.is_empty() {
            write!(f, "  [{}]", fields.join(" "))?;
        }
        writeln!(f, "  {} event(s)", span.events.len())
    }

    fn tree(
        &self,
        f: &mut fmt::Formatter<'_>,
        parent: Option<SpanId>,
        depth: usize,
        ids: &HashSet<SpanId>,
    ) -> fmt::Result {
        // Spans whose parent is missing from the store are shown as roots.
        let children = self
            .trace
            .iter()
            .filter(|s| match (parent, s.parent_span_id) {
                (None, None) => true,
                (None, Some(p)) => !ids.contains(&p),
                (Some(want), got) => got == Some(want),
            });
        for span in children {
            self.span_line(f, span, depth)?;
            self.tree(f, Some(span.span_id), depth + 1, ids)?;
        }
        Ok(())
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.stats;
        writeln!(f, "store: {}", self.dir.display())?;
        writeln!(
            f,
            "recorded: {} log records and {} spans ({} dropped, {} failed writes)",
            s.stored_logs, s.stored_spans, s.dropped, s.write_errors
        )?;
        writeln!(f, "logs of this run: {}", self.logs)?;
        writeln!(f, "error logs: {}", self.error_logs.len())?;
        for log in &self.error_logs {
            let attrs: Vec<String> = log
                .attributes
                .iter()
                .filter(|(k, _)| !k.starts_with("code."))
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            writeln!(
                f,
                "  {} {} {}  [{}]  trace={}",
                log.timestamp.to_rfc3339(),
                log.severity_text,
                log.body,
                attrs.join(" "),
                log.trace_id.map(|t| t.to_hex()).unwrap_or_default()
            )?;
        }
        let (start, end) = self.trace.iter().fold((i64::MAX, i64::MIN), |(a, b), s| {
            (a.min(s.start_time.0), b.max(s.end_time.0))
        });
        writeln!(
            f,
            "trace {}: {} spans, {}, {} log records",
            self.trace_id,
            self.trace.len(),
            millis(end.saturating_sub(start).max(0)),
            self.trace_logs
        )?;
        let ids: HashSet<SpanId> = self.trace.iter().map(|s| s.span_id).collect();
        self.tree(f, None, 0, &ids)
    }
}
