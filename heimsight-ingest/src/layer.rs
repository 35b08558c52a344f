//! In-process capture: a [`tracing_subscriber::Layer`] that records the host service's own
//! events as [`LogRecord`]s and its spans as [`Span`]s, straight into an embedded store.
//!
//! [`HeimsightLayer`] turns what `tracing` reports into Heimsight's data model on the calling
//! thread, then hands it to a bounded queue and returns. A background thread takes records off
//! the queue and appends them to the store in batches (every
//! [`batch_size`](HeimsightLayerBuilder::batch_size) records or
//! [`flush_interval`](HeimsightLayerBuilder::flush_interval), whichever comes first), so the
//! instrumented code never waits for storage. When the queue is full, records are dropped and
//! counted ([`LayerStats::dropped`]) instead of blocking the caller.
//!
//! [`HeimsightLayerBuilder::build`] returns the layer together with a [`LayerGuard`]: keep the
//! guard alive for as long as telemetry should be recorded. [`LayerGuard::flush`] blocks until
//! everything queued so far is stored, and dropping the guard flushes and stops the background
//! thread, so a program's telemetry is stored before it exits.
//!
//! # Quick start
//!
//! ```
//! use std::sync::Arc;
//!
//! use heimsight_core::{Level, StatusCode};
//! use heimsight_ingest::HeimsightLayer;
//! use heimsight_store::{LogFilter, LogQuery, LogStore, MemoryStore, SpanStore};
//! use tracing_subscriber::prelude::*;
//!
//! let store = Arc::new(MemoryStore::new());
//! let (layer, guard) = HeimsightLayer::builder()
//!     .service_name("checkout")
//!     .build(store.clone())?;
//!
//! // Usually `tracing_subscriber::registry().with(layer).init()` once in `main`.
//! tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
//!     let span = tracing::info_span!("place_order", order_id = 42_i64);
//!     let _entered = span.enter();
//!     tracing::error!(reason = "card declined", "payment failed");
//! });
//! guard.flush(); // blocks until everything recorded so far is stored
//!
//! let errors = store
//!     .query_logs(&LogQuery::default().with_filter(LogFilter::default().with_levels([Level::Error])))?;
//! let log = &errors.logs[0];
//! assert_eq!(log.body, "payment failed");
//! assert_eq!(log.service, "checkout");
//! assert_eq!(log.attributes["reason"].to_text(), "card declined");
//!
//! // The event carries the ids of the span it happened in.
//! let trace = store.get_trace(&log.trace_id.expect("logged inside a span"))?;
//! assert_eq!(trace[0].name, "place_order");
//! assert_eq!(Some(trace[0].span_id), log.span_id);
//! assert_eq!(trace[0].attributes["order_id"].to_text(), "42");
//! assert_eq!(trace[0].status.code, StatusCode::Error); // an ERROR event happened inside it
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Mapping
//!
//! Events become log records:
//! - level → severity number and text the OpenTelemetry way (TRACE 1, DEBUG 5, INFO 9,
//!   WARN 13, ERROR 17; text `TRACE` … `ERROR`);
//! - the `message` field → body (an event without one gets its other fields as `key=value`,
//!   or failing that its callsite name);
//! - other fields → attributes with their types (`i64`/`u64` as integers, `u64`/`i128`
//!   beyond `i64` as text, `f64` as doubles, `bool`s, strings; `Debug` and `Error` values
//!   as their text);
//! - target → scope name; module path, file and line → `code.namespace`, `code.filepath`,
//!   `code.lineno`;
//! - inside a span: the trace and span id of the innermost recorded span, and the event is also
//!   added to that span as a span event (up to 128 per span; more are counted as dropped).
//!
//! Spans become spans when they close: name, wall-clock start and end, the fields given at
//! creation and later `record`ed as attributes, the parent from `tracing`'s parent (the nearest
//! recorded ancestor), one random trace id per root span inherited by its descendants, kind
//! internal, the builder's service and resource. `follows_from` relations become links. The
//! status is error when an ERROR event happened directly inside the span, or a field says so:
//! `error = true`, `error` with any non-boolean value (its text becomes the status message), or
//! `otel.status_code = "ERROR"`. The fields `otel.name`, `otel.kind`, `otel.status_code` and
//! `otel.status_message` set the name, kind and status instead of becoming attributes.
//!
//! Records below the builder's [`min_level`](HeimsightLayerBuilder::min_level) (default INFO)
//! are ignored by this layer; filters elsewhere in the subscriber apply as usual.
//!
//! # Guarantees
//!
//! The layer never blocks on storage, never panics and never emits `tracing` events of its
//! own. Telemetry produced on its background thread (for instance a storage backend's own
//! logs) is ignored, so storing never feeds back into itself. Failed writes are counted
//! ([`LayerStats::write_errors`]) and the last error message is kept
//! ([`LayerGuard::last_error`]).

use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::fmt::{self, Write as _};
use std::hash::{BuildHasher, Hasher};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use heimsight_core::log::UNKNOWN_SERVICE;
use heimsight_core::{
    AttributeValue, Attributes, LogRecord, Scope, SharedAttributes, Span, SpanEvent, SpanId,
    SpanKind, SpanLink, Status, StatusCode, Timestamp, TraceId,
};
use heimsight_store::{LogStore, SpanStore};
use tracing::field::{Field, Visit};
use tracing::span::{self, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// At most this many events are kept per span; further ones are counted as dropped.
const MAX_SPAN_EVENTS: usize = 128;

/// W3C trace flags of recorded spans and the logs inside them: sampled.
const SAMPLED: u32 = 1;

thread_local! {
    /// Set on the layer's background thread: telemetry produced there (e.g. by the store) is
    /// ignored, so that storing never records itself.
    static IGNORE_THREAD: Cell<bool> = const { Cell::new(false) };
}

fn ignored_thread() -> bool {
    IGNORE_THREAD.with(Cell::get)
}

// ---------------------------------------------------------------------------------------------
// Builder and configuration
// ---------------------------------------------------------------------------------------------

/// Settings of a [`HeimsightLayer`]; see [`HeimsightLayer::builder`].
#[derive(Debug, Clone)]
pub struct HeimsightLayerBuilder {
    service: String,
    resource: Attributes,
    batch_size: usize,
    flush_interval: Duration,
    queue_capacity: usize,
    min_level: Level,
}

impl Default for HeimsightLayerBuilder {
    fn default() -> Self {
        HeimsightLayerBuilder {
            service: UNKNOWN_SERVICE.to_string(),
            resource: Attributes::new(),
            batch_size: 512,
            flush_interval: Duration::from_millis(500),
            queue_capacity: 16_384,
            min_level: Level::INFO,
        }
    }
}

impl HeimsightLayerBuilder {
    /// The service every record belongs to (also the resource attribute `service.name`).
    /// Default: `unknown_service`.
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service = name.into();
        self
    }

    /// Adds a resource attribute (`service.version`, `deployment.environment`, …) to every
    /// record.
    pub fn resource_attribute(
        mut self,
        key: impl Into<String>,
        value: impl Into<AttributeValue>,
    ) -> Self {
        self.resource.insert(key.into(), value.into());
        self
    }

    /// Writes to the store once this many records are waiting (at least 1). Default: 512.
    pub fn batch_size(mut self, n: usize) -> Self {
        self.batch_size = n.max(1);
        self
    }

    /// Writes waiting records to the store at the latest this long after the oldest of them
    /// arrived (at least 1 ms). Default: 500 ms.
    pub fn flush_interval(mut self, interval: Duration) -> Self {
        self.flush_interval = interval.max(Duration::from_millis(1));
        self
    }

    /// How many records may wait for the background thread (at least 1); beyond that, new
    /// records are dropped and counted. Default: 16,384.
    pub fn queue_capacity(mut self, n: usize) -> Self {
        self.queue_capacity = n.max(1);
        self
    }

    /// The least severe level this layer records (`Level::DEBUG` records DEBUG, INFO, WARN
    /// and ERROR). Spans and events below it are ignored by this layer. Default: INFO.
    pub fn min_level(mut self, level: Level) -> Self {
        self.min_level = level;
        self
    }

    /// Starts the background thread that writes to `store`, and returns the layer together
    /// with the guard that flushes it.
    ///
    /// `store` is anything that stores logs and spans: a `MemoryStore`, a `RocksStore`, or an
    /// `Arc<dyn Store>`. Fails only when the thread cannot be spawned.
    pub fn build<S>(self, store: Arc<S>) -> std::io::Result<(HeimsightLayer, LayerGuard)>
    where
        S: LogStore + SpanStore + ?Sized + 'static,
    {
        let (tx, rx) = mpsc::sync_channel(self.queue_capacity);
        let shared = Arc::new(Shared::default());
        let worker = Worker {
            rx,
            shared: shared.clone(),
            batch_size: self.batch_size,
            flush_interval: self.flush_interval,
            logs: Vec::new(),
            spans: Vec::new(),
            oldest: None,
        };
        let handle = std::thread::Builder::new()
            .name("heimsight-telemetry".into())
            .spawn(move || worker.run(&*store))?;

        let mut resource = self.resource;
        resource.insert(
            "service.name".into(),
            AttributeValue::String(self.service.clone()),
        );
        for (k, v) in [
            ("telemetry.sdk.name", env!("CARGO_PKG_NAME")),
            ("telemetry.sdk.language", "rust"),
            ("telemetry.sdk.version", env!("CARGO_PKG_VERSION")),
        ] {
            resource
                .entry(k.into())
                .or_insert_with(|| AttributeValue::String(v.into()));
        }
        let layer = HeimsightLayer {
            service: self.service,
            resource: resource.into(),
            min_level: self.min_level,
            tx: tx.clone(),
            shared: shared.clone(),
        };
        let guard = LayerGuard {
            tx,
            shared,
            worker: Some(handle),
        };
        Ok((layer, guard))
    }
}

// ---------------------------------------------------------------------------------------------
// Shared counters
// ---------------------------------------------------------------------------------------------

/// Counters of a layer, from [`LayerGuard::stats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LayerStats {
    /// Records (logs and spans) accepted into the queue.
    pub queued: u64,
    /// Records dropped because the queue was full or the guard was gone.
    pub dropped: u64,
    /// Log records written to the store.
    pub stored_logs: u64,
    /// Spans written to the store.
    pub stored_spans: u64,
    /// Appends to the store that failed (their records are lost).
    pub write_errors: u64,
}

#[derive(Debug, Default)]
struct Shared {
    queued: AtomicU64,
    dropped: AtomicU64,
    stored_logs: AtomicU64,
    stored_spans: AtomicU64,
    write_errors: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl Shared {
    fn stats(&self) -> LayerStats {
        LayerStats {
            queued: self.queued.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            stored_logs: self.stored_logs.load(Ordering::Relaxed),
            stored_spans: self.stored_spans.load(Ordering::Relaxed),
            write_errors: self.write_errors.load(Ordering::Relaxed),
        }
    }

    fn write_failed(&self, message: String) {
        self.write_errors.fetch_add(1, Ordering::Relaxed);
        *self
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(message);
    }
}

// ---------------------------------------------------------------------------------------------
// The guard
// ---------------------------------------------------------------------------------------------

/// Owns the layer's background thread: [`flush`](Self::flush) stores everything queued, and
/// dropping the guard flushes and stops the thread. After that the layer drops (and counts)
/// whatever it still receives.
#[derive(Debug)]
pub struct LayerGuard {
    tx: SyncSender<Msg>,
    shared: Arc<Shared>,
    worker: Option<JoinHandle<()>>,
}

impl LayerGuard {
    /// Blocks until every record queued before the call has been handed to the store (spans
    /// still open are not records yet: they are queued when they close). Returns `false` if
    /// the background thread is gone (then nothing more will be stored).
    ///
    /// Whether the writes succeeded shows in [`stats`](Self::stats) and
    /// [`last_error`](Self::last_error).
    pub fn flush(&self) -> bool {
        if ignored_thread() {
            // Called by the store on the background thread itself: waiting would deadlock.
            return false;
        }
        let (ack_tx, ack_rx) = mpsc::sync_channel(1);
        if self.tx.send(Msg::Flush(ack_tx)).is_err() {
            return false;
        }
        ack_rx.recv().is_ok()
    }

    /// The layer's counters.
    pub fn stats(&self) -> LayerStats {
        self.shared.stats()
    }

    /// Records dropped so far because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// The message of the last failed write to the store, if any.
    pub fn last_error(&self) -> Option<String> {
        self.shared
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for LayerGuard {
    fn drop(&mut self) {
        if ignored_thread() {
            return;
        }
        // The worker writes what it holds before it stops; an error means it is gone already.
        let _ = self.tx.send(Msg::Shutdown);
        if let Some(h) = self.worker.take() {
            let _ = h.join();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The background thread
// ---------------------------------------------------------------------------------------------

enum Msg {
    Log(Box<LogRecord>),
    Span(Box<Span>),
    Flush(SyncSender<()>),
    Shutdown,
}

struct Worker {
    rx: Receiver<Msg>,
    shared: Arc<Shared>,
    batch_size: usize,
    flush_interval: Duration,
    logs: Vec<LogRecord>,
    spans: Vec<Span>,
    /// When the oldest waiting record arrived.
    oldest: Option<Instant>,
}

impl Worker {
    fn run<S: LogStore + SpanStore + ?Sized>(mut self, store: &S) {
        IGNORE_THREAD.with(|f| f.set(true));
        loop {
            let msg = match self.oldest {
                None => self.rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
                Some(t) => {
                    let wait = (t + self.flush_interval).saturating_duration_since(Instant::now());
                    self.rx.recv_timeout(wait)
                }
            };
            match msg {
                Ok(Msg::Log(rec)) => {
                    self.logs.push(*rec);
                    self.oldest.get_or_insert_with(Instant::now);
                }
                Ok(Msg::Span(span)) => {
                    self.spans.push(*span);
                    self.oldest.get_or_insert_with(Instant::now);
                }
                Ok(Msg::Flush(ack)) => {
                    self.write(store);
                    let _ = ack.try_send(());
                }
                Ok(Msg::Shutdown) | Err(RecvTimeoutError::Disconnected) => {
                    self.write(store);
                    return;
                }
                Err(RecvTimeoutError::Timeout) => self.write(store),
            }
            if self.logs.len() + self.spans.len() >= self.batch_size {
                self.write(store);
            }
        }
    }

    fn write<S: LogStore + SpanStore + ?Sized>(&mut self, store: &S) {
        self.oldest = None;
        if !self.logs.is_empty() {
            let logs = std::mem::take(&mut self.logs);
            let n = logs.len() as u64;
            match catch_unwind(AssertUnwindSafe(|| store.append_logs(logs))) {
                Ok(Ok(())) => {
                    self.shared.stored_logs.fetch_add(n, Ordering::Relaxed);
                }
                Ok(Err(e)) => self
                    .shared
                    .write_failed(format!("storing {n} log records failed: {e}")),
                Err(_) => self
                    .shared
                    .write_failed(format!("storing {n} log records panicked")),
            }
        }
        if !self.spans.is_empty() {
            let spans = std::mem::take(&mut self.spans);
            let n = spans.len() as u64;
            match catch_unwind(AssertUnwindSafe(|| store.append_spans(spans))) {
                Ok(Ok(())) => {
                    self.shared.stored_spans.fetch_add(n, Ordering::Relaxed);
                }
                Ok(Err(e)) => self
                    .shared
                    .write_failed(format!("storing {n} spans failed: {e}")),
                Err(_) => self
                    .shared
                    .write_failed(format!("storing {n} spans panicked")),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Ids
// ---------------------------------------------------------------------------------------------

/// A process-wide id source: SplitMix64 over a counter from a random start, so ids are
/// unpredictable across processes and never repeat within one (the mix is a bijection).
fn next_u64() -> u64 {
    struct Ids {
        seed: u64,
        counter: AtomicU64,
    }
    static IDS: OnceLock<Ids> = OnceLock::new();
    let ids = IDS.get_or_init(|| {
        // `RandomState` is seeded from the operating system's randomness.
        let mut h = RandomState::new().build_hasher();
        h.write_i64(Timestamp::now().0);
        h.write_u32(std::process::id());
        Ids {
            seed: h.finish(),
            counter: AtomicU64::new(0),
        }
    });
    let n = ids.counter.fetch_add(1, Ordering::Relaxed);
    let mut z = ids.seed.wrapping_add(n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn new_span_id() -> SpanId {
    loop {
        let v = next_u64();
        if v != 0 {
            return SpanId(v.to_be_bytes());
        }
    }
}

fn new_trace_id() -> TraceId {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&next_u64().to_be_bytes());
    b[8..].copy_from_slice(&next_u64().to_be_bytes());
    // Two consecutive outputs of a bijection cannot both be zero.
    TraceId(b)
}

// ---------------------------------------------------------------------------------------------
// Fields
// ---------------------------------------------------------------------------------------------

/// The fields of an event or span, read with their types.
#[derive(Default)]
struct Fields {
    message: Option<String>,
    values: Vec<(&'static str, AttributeValue)>,
}

impl Fields {
    fn push(&mut self, field: &Field, value: AttributeValue) {
        self.values.push((field.name(), value));
    }

    /// `key=value …` of the fields, for events without a message.
    fn summary(&self) -> String {
        let mut s = String::new();
        for (k, v) in &self.values {
            if !s.is_empty() {
                s.push(' ');
            }
            let _ = write!(s, "{k}={v}");
        }
        s
    }
}

fn int_or_text<T: Copy + fmt::Display>(v: T, as_i64: Option<i64>) -> AttributeValue {
    match as_i64 {
        Some(i) => AttributeValue::Int(i),
        None => AttributeValue::String(v.to_string()),
    }
}

impl Visit for Fields {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.push(field, AttributeValue::Double(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, AttributeValue::Int(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.push(field, int_or_text(value, i64::try_from(value).ok()));
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        self.push(field, int_or_text(value, i64::try_from(value).ok()));
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        self.push(field, int_or_text(value, i64::try_from(value).ok()));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field, AttributeValue::Bool(value));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = Some(value.to_string());
        } else {
            self.push(field, AttributeValue::String(value.to_string()));
        }
    }

    fn record_bytes(&mut self, field: &Field, value: &[u8]) {
        self.push(field, AttributeValue::Bytes(value.to_vec()));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.push(field, AttributeValue::String(value.to_string()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let text = format!("{value:?}");
        if field.name() == "message" {
            self.message = Some(text);
        } else {
            self.push(field, AttributeValue::String(text));
        }
    }
}

fn code_attributes(meta: &Metadata<'_>, attrs: &mut Attributes) {
    attrs.insert(
        "code.namespace".into(),
        AttributeValue::String(meta.module_path().unwrap_or(meta.target()).to_string()),
    );
    if let Some(file) = meta.file() {
        attrs.insert(
            "code.filepath".into(),
            AttributeValue::String(file.to_string()),
        );
    }
    if let Some(line) = meta.line() {
        attrs.insert("code.lineno".into(), AttributeValue::Int(i64::from(line)));
    }
}

/// OpenTelemetry's severity number of a `tracing` level.
fn severity_number(level: &Level) -> u8 {
    match *level {
        Level::TRACE => 1,
        Level::DEBUG => 5,
        Level::INFO => 9,
        Level::WARN => 13,
        Level::ERROR => 17,
    }
}

// ---------------------------------------------------------------------------------------------
// Per-span state
// ---------------------------------------------------------------------------------------------

/// What the layer keeps in a span's extensions while it is open.
struct SpanData {
    trace_id: TraceId,
    span_id: SpanId,
    parent_span_id: Option<SpanId>,
    name: String,
    kind: SpanKind,
    start: Timestamp,
    started: Instant,
    attributes: Attributes,
    status: Status,
    events: Vec<SpanEvent>,
    dropped_events: u32,
    links: Vec<SpanLink>,
}

impl SpanData {
    fn apply(&mut self, fields: Fields) {
        if let Some(m) = fields.message {
            self.attributes
                .insert("message".into(), AttributeValue::String(m));
        }
        for (key, value) in fields.values {
            match key {
                "otel.name" => self.name = value.to_text(),
                "otel.kind" => {
                    if let Some(k) = parse_kind(&value.to_text()) {
                        self.kind = k;
                    }
                }
                "otel.status_code" => match value.to_text().to_ascii_lowercase().as_str() {
                    "error" => self.status.code = StatusCode::Error,
                    "ok" if self.status.code != StatusCode::Error => {
                        self.status.code = StatusCode::Ok;
                    }
                    _ => {}
                },
                "otel.status_message" => self.status.message = value.to_text(),
                "error" => {
                    match &value {
                        AttributeValue::Bool(false) => {}
                        AttributeValue::Bool(true) => self.status.code = StatusCode::Error,
                        other => {
                            self.status.code = StatusCode::Error;
                            if self.status.message.is_empty() {
                                self.status.message = other.to_text();
                            }
                        }
                    }
                    self.attributes.insert(key.into(), value);
                }
                _ => {
                    self.attributes.insert(key.into(), value);
                }
            }
        }
    }

    fn into_span(self, layer: &HeimsightLayer, target: &str) -> Span {
        let elapsed = i64::try_from(self.started.elapsed().as_nanos()).unwrap_or(i64::MAX);
        Span {
            trace_id: self.trace_id,
            span_id: self.span_id,
            parent_span_id: self.parent_span_id,
            name: self.name,
            kind: self.kind,
            service: layer.service.clone(),
            start_time: self.start,
            end_time: self.start.saturating_add(elapsed),
            status: self.status,
            attributes: self.attributes,
            resource: layer.resource.clone(),
            scope: Scope {
                name: target.to_string(),
                ..Scope::default()
            }
            .into(),
            events: self.events,
            links: self.links,
            trace_state: String::new(),
            flags: SAMPLED,
            dropped_attributes_count: 0,
            dropped_events_count: self.dropped_events,
            dropped_links_count: 0,
        }
    }
}

fn parse_kind(s: &str) -> Option<SpanKind> {
    Some(match s.to_ascii_lowercase().as_str() {
        "internal" => SpanKind::Internal,
        "server" => SpanKind::Server,
        "client" => SpanKind::Client,
        "producer" => SpanKind::Producer,
        "consumer" => SpanKind::Consumer,
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------------
// The layer
// ---------------------------------------------------------------------------------------------

/// A [`tracing_subscriber::Layer`] that records events as log records and spans as spans into
/// a Heimsight store, batched on a background thread. See the [module docs](self).
#[derive(Debug)]
pub struct HeimsightLayer {
    service: String,
    resource: SharedAttributes,
    min_level: Level,
    tx: SyncSender<Msg>,
    shared: Arc<Shared>,
}

impl fmt::Debug for Msg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Msg::Log(_) => "Log",
            Msg::Span(_) => "Span",
            Msg::Flush(_) => "Flush",
            Msg::Shutdown => "Shutdown",
        })
    }
}

impl HeimsightLayer {
    /// A builder with the defaults: service `unknown_service`, batches of 512 records or
    /// 500 ms, a queue of 16,384 records, level INFO and above.
    pub fn builder() -> HeimsightLayerBuilder {
        HeimsightLayerBuilder::default()
    }

    /// The layer's counters (the same as [`LayerGuard::stats`]).
    pub fn stats(&self) -> LayerStats {
        self.shared.stats()
    }

    fn records(&self, meta: &Metadata<'_>) -> bool {
        // In `tracing`, more verbose levels compare greater.
        *meta.level() <= self.min_level && !ignored_thread()
    }

    fn send(&self, msg: Msg) {
        match self.tx.try_send(msg) {
            Ok(()) => {
                self.shared.queued.fetch_add(1, Ordering::Relaxed);
            }
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

impl<S> Layer<S> for HeimsightLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let meta = attrs.metadata();
        if !self.records(meta) {
            return;
        }
        let Some(span) = ctx.span(id) else {
            return;
        };
        // Read the fields before taking any lock: `Debug` impls may emit events themselves.
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        let parent = span.scope().skip(1).find_map(|p| {
            p.extensions()
                .get::<SpanData>()
                .map(|d| (d.trace_id, d.span_id))
        });
        let mut attributes = Attributes::new();
        code_attributes(meta, &mut attributes);
        let mut data = SpanData {
            trace_id: parent.map_or_else(new_trace_id, |(t, _)| t),
            span_id: new_span_id(),
            parent_span_id: parent.map(|(_, s)| s),
            name: meta.name().to_string(),
            kind: SpanKind::Internal,
            start: Timestamp::now(),
            started: Instant::now(),
            attributes,
            status: Status::default(),
            events: Vec::new(),
            dropped_events: 0,
            links: Vec::new(),
        };
        data.apply(fields);
        span.extensions_mut().insert(data);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else {
            return;
        };
        if span.extensions().get::<SpanData>().is_none() {
            return;
        }
        let mut fields = Fields::default();
        values.record(&mut fields);
        if let Some(data) = span.extensions_mut().get_mut::<SpanData>() {
            data.apply(fields);
        }
    }

    fn on_follows_from(&self, id: &Id, follows: &Id, ctx: Context<'_, S>) {
        let Some(cause) = ctx.span(follows).and_then(|s| {
            s.extensions()
                .get::<SpanData>()
                .map(|d| (d.trace_id, d.span_id))
        }) else {
            return;
        };
        let Some(span) = ctx.span(id) else {
            return;
        };
        if let Some(data) = span.extensions_mut().get_mut::<SpanData>() {
            data.links.push(SpanLink {
                trace_id: cause.0,
                span_id: cause.1,
                trace_state: String::new(),
                attributes: Attributes::new(),
                dropped_attributes_count: 0,
                flags: SAMPLED,
            });
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let meta = event.metadata();
        if !self.records(meta) {
            return;
        }
        let now = Timestamp::now();
        let mut fields = Fields::default();
        event.record(&mut fields);
        let body = match fields.message.take() {
            Some(m) if !m.trim().is_empty() => m,
            _ if !fields.values.is_empty() => fields.summary(),
            _ => meta.name().to_string(),
        };
        let mut attributes: Attributes = fields
            .values
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        let level = *meta.level();

        // The innermost span this layer records, if any; the event is added to it.
        let mut ids = None;
        if let Some(span) = ctx.event_span(event) {
            let recorded = span
                .scope()
                .find(|s| s.extensions().get::<SpanData>().is_some());
            if let Some(s) = recorded
                && let Some(data) = s.extensions_mut().get_mut::<SpanData>()
            {
                ids = Some((data.trace_id, data.span_id));
                if level == Level::ERROR {
                    data.status.code = StatusCode::Error;
                    if data.status.message.is_empty() {
                        data.status.message = body.clone();
                    }
                }
                if data.events.len() < MAX_SPAN_EVENTS {
                    let mut ev_attrs = attributes.clone();
                    ev_attrs.insert("level".into(), AttributeValue::String(level.to_string()));
                    data.events.push(SpanEvent {
                        timestamp: now,
                        name: body.clone(),
                        attributes: ev_attrs,
                        dropped_attributes_count: 0,
                    });
                } else {
                    data.dropped_events = data.dropped_events.saturating_add(1);
                }
            }
        }

        code_attributes(meta, &mut attributes);
        let record = LogRecord {
            timestamp: now,
            observed_timestamp: now,
            severity_number: severity_number(&level),
            severity_text: level.as_str().to_string(),
            body,
            service: self.service.clone(),
            attributes,
            resource: self.resource.clone(),
            scope: Scope {
                name: meta.target().to_string(),
                ..Scope::default()
            }
            .into(),
            trace_id: ids.map(|(t, _)| t),
            span_id: ids.map(|(_, s)| s),
            flags: if ids.is_some() { SAMPLED } else { 0 },
            dropped_attributes_count: 0,
        };
        self.send(Msg::Log(Box::new(record)));
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else {
            return;
        };
        let Some(data) = span.extensions_mut().remove::<SpanData>() else {
            return;
        };
        let out = data.into_span(self, span.metadata().target());
        self.send(Msg::Span(Box::new(out)));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use heimsight_core::Level as CoreLevel;
    use heimsight_store::{LogFilter, LogPage, LogQuery, MemoryStore, TraceQuery, TraceSummary};
    use std::sync::Condvar;
    use tracing_subscriber::prelude::*;

    fn all_logs(store: &MemoryStore) -> Vec<LogRecord> {
        store
            .query_logs(
                &LogQuery::default()
                    .with_order(heimsight_store::Order::OldestFirst)
                    .with_limit(10_000),
            )
            .unwrap()
            .logs
    }

    fn all_spans(store: &MemoryStore) -> Vec<Span> {
        let traces = store
            .find_traces(&TraceQuery::default().with_limit(1000))
            .unwrap();
        let mut spans = Vec::new();
        for t in traces {
            spans.extend(store.get_trace(&t.trace_id).unwrap());
        }
        spans
    }

    /// Runs `f` with the layer as the thread's subscriber, then flushes.
    fn capture(builder: HeimsightLayerBuilder, f: impl FnOnce()) -> (Arc<MemoryStore>, LayerStats) {
        let store = Arc::new(MemoryStore::new());
        let (layer, guard) = builder.build(store.clone()).unwrap();
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), f);
        assert!(guard.flush());
        let stats = guard.stats();
        drop(guard);
        (store, stats)
    }

    fn all_levels() -> HeimsightLayerBuilder {
        HeimsightLayer::builder()
            .service_name("svc")
            .min_level(Level::TRACE)
    }

    #[test]
    fn nested_spans_share_the_trace_and_link_their_parents() {
        let (store, stats) = capture(all_levels(), || {
            let root = tracing::info_span!("root");
            root.in_scope(|| {
                let child = tracing::info_span!("child");
                child.in_scope(|| {
                    tracing::info_span!("grandchild").in_scope(|| {});
                });
            });
            // A second root starts a second trace.
            tracing::info_span!("other_root").in_scope(|| {});
        });
        assert_eq!(stats.stored_spans, 4);
        let spans = all_spans(&store);
        let by = |n: &str| spans.iter().find(|s| s.name == n).unwrap();
        let (root, child, grand, other) =
            (by("root"), by("child"), by("grandchild"), by("other_root"));
        assert_eq!(root.parent_span_id, None);
        assert_eq!(child.parent_span_id, Some(root.span_id));
        assert_eq!(grand.parent_span_id, Some(child.span_id));
        assert_eq!(child.trace_id, root.trace_id);
        assert_eq!(grand.trace_id, root.trace_id);
        assert_ne!(other.trace_id, root.trace_id);
        assert_eq!(other.parent_span_id, None);
        for s in &spans {
            s.validate().unwrap();
            assert_eq!(s.service, "svc");
            assert_eq!(s.kind, SpanKind::Internal);
            assert_eq!(s.resource["service.name"].to_text(), "svc");
            assert!(s.end_time >= s.start_time);
            assert!(s.attributes.contains_key("code.filepath"));
        }
        let ids: std::collections::HashSet<_> = spans.iter().map(|s| s.span_id).collect();
        assert_eq!(ids.len(), 4);
        // The root encloses its descendants.
        assert!(root.start_time <= grand.start_time && grand.end_time <= root.end_time);
    }

    #[test]
    fn explicit_parents_are_followed() {
        let (store, _) = capture(all_levels(), || {
            let root = tracing::info_span!("root");
            let child = tracing::info_span!(parent: &root, "child");
            tracing::info!(parent: &child, "explicit");
            drop(child);
            drop(root);
        });
        let spans = all_spans(&store);
        let root = spans.iter().find(|s| s.name == "root").unwrap();
        let child = spans.iter().find(|s| s.name == "child").unwrap();
        assert_eq!(child.parent_span_id, Some(root.span_id));
        let log = &all_logs(&store)[0];
        assert_eq!(log.span_id, Some(child.span_id));
        assert_eq!(log.trace_id, Some(root.trace_id));
    }

    #[test]
    fn events_inside_spans_carry_their_ids_and_become_span_events() {
        let (store, _) = capture(all_levels(), || {
            tracing::info!("outside");
            let span = tracing::info_span!("work");
            let _e = span.enter();
            tracing::info!(step = 1_i64, "inside");
            let inner = tracing::debug_span!("inner");
            inner.in_scope(|| tracing::warn!("deeper"));
        });
        let logs = all_logs(&store);
        let spans = all_spans(&store);
        let work = spans.iter().find(|s| s.name == "work").unwrap();
        let inner = spans.iter().find(|s| s.name == "inner").unwrap();
        let log = |body: &str| logs.iter().find(|l| l.body == body).unwrap();

        assert_eq!(log("outside").trace_id, None);
        assert_eq!(log("outside").span_id, None);
        assert_eq!(log("outside").flags, 0);
        assert_eq!(log("inside").trace_id, Some(work.trace_id));
        assert_eq!(log("inside").span_id, Some(work.span_id));
        assert_eq!(log("inside").flags, SAMPLED);
        assert_eq!(log("deeper").span_id, Some(inner.span_id));
        assert_eq!(log("deeper").trace_id, Some(work.trace_id));

        assert_eq!(work.events.len(), 1);
        assert_eq!(work.events[0].name, "inside");
        assert_eq!(work.events[0].attributes["step"], AttributeValue::Int(1));
        assert_eq!(work.events[0].attributes["level"].to_text(), "INFO");
        assert_eq!(inner.events[0].name, "deeper");
        // The store finds the logs of a trace by its id.
        let page: LogPage = store
            .query_logs(
                &LogQuery::default()
                    .with_filter(LogFilter::default().with_trace_ids([work.trace_id])),
            )
            .unwrap();
        assert_eq!(page.total, 2);
    }

    #[derive(Debug)]
    struct Oops;
    impl fmt::Display for Oops {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("oops happened")
        }
    }
    impl std::error::Error for Oops {}

    #[test]
    fn fields_become_typed_attributes() {
        let (store, _) = capture(all_levels(), || {
            let err: &(dyn std::error::Error + 'static) = &Oops;
            tracing::info!(
                int = -3_i64,
                uint = 7_u64,
                huge = u64::MAX,
                float = 1.5_f64,
                flag = true,
                text = "hello",
                shown = %"displayed",
                dbg = ?vec![1, 2],
                cause = err,
                "typed {}",
                "message"
            );
            tracing::info!(only = 5_i64);
        });
        let logs = all_logs(&store);
        let rec = logs.iter().find(|l| l.body == "typed message").unwrap();
        let a = &rec.attributes;
        assert_eq!(a["int"], AttributeValue::Int(-3));
        assert_eq!(a["uint"], AttributeValue::Int(7));
        assert_eq!(a["huge"], AttributeValue::String(u64::MAX.to_string()));
        assert_eq!(a["float"], AttributeValue::Double(1.5));
        assert_eq!(a["flag"], AttributeValue::Bool(true));
        assert_eq!(a["text"], AttributeValue::String("hello".into()));
        assert_eq!(a["shown"], AttributeValue::String("displayed".into()));
        assert_eq!(a["dbg"], AttributeValue::String("[1, 2]".into()));
        assert_eq!(a["cause"], AttributeValue::String("oops happened".into()));
        assert!(!a.contains_key("message"));
        assert_eq!(
            a["code.namespace"].to_text(),
            module_path!(),
            "module path as code.namespace"
        );
        assert!(a["code.filepath"].to_text().ends_with("layer.rs"));
        assert!(matches!(a["code.lineno"], AttributeValue::Int(n) if n > 0));
        assert_eq!(rec.scope.name, module_path!());
        assert_eq!(rec.service, "svc");
        assert_eq!(rec.resource["telemetry.sdk.language"].to_text(), "rust");
        rec.validate().unwrap();

        // Without a message, the fields make the body.
        let bare = logs
            .iter()
            .find(|l| l.attributes.contains_key("only"))
            .unwrap();
        assert_eq!(bare.body, "only=5");
    }

    #[test]
    fn span_fields_and_recorded_values_become_attributes() {
        let (store, _) = capture(all_levels(), || {
            let span = tracing::info_span!(
                "request",
                method = "GET",
                status = tracing::field::Empty,
                otel.name = "GET /orders",
                otel.kind = "server"
            );
            span.record("status", 200_i64);
            drop(span);
        });
        let s = &all_spans(&store)[0];
        assert_eq!(s.name, "GET /orders");
        assert_eq!(s.kind, SpanKind::Server);
        assert_eq!(s.attributes["method"].to_text(), "GET");
        assert_eq!(s.attributes["status"], AttributeValue::Int(200));
        assert!(!s.attributes.contains_key("otel.name"));
        assert_eq!(s.status.code, StatusCode::Unset);
    }

    #[test]
    fn levels_map_to_otel_severities() {
        let (store, _) = capture(all_levels(), || {
            tracing::trace!("t");
            tracing::debug!("d");
            tracing::info!("i");
            tracing::warn!("w");
            tracing::error!("e");
        });
        let got: Vec<(String, u8, String, CoreLevel)> = all_logs(&store)
            .into_iter()
            .map(|l| {
                let level = l.level();
                (l.body, l.severity_number, l.severity_text, level)
            })
            .collect();
        let want = [
            ("t", 1, "TRACE", CoreLevel::Trace),
            ("d", 5, "DEBUG", CoreLevel::Debug),
            ("i", 9, "INFO", CoreLevel::Info),
            ("w", 13, "WARN", CoreLevel::Warn),
            ("e", 17, "ERROR", CoreLevel::Error),
        ];
        assert_eq!(got.len(), 5);
        for (g, w) in got.iter().zip(want) {
            assert_eq!((g.0.as_str(), g.1, g.2.as_str(), g.3), w);
        }
    }

    #[test]
    fn min_level_filters_events_and_spans() {
        let (store, _) = capture(HeimsightLayer::builder().min_level(Level::WARN), || {
            let outer = tracing::warn_span!("outer");
            let _o = outer.enter();
            // An INFO span is skipped; its WARN child hangs off the nearest recorded span.
            let skipped = tracing::info_span!("skipped");
            let _s = skipped.enter();
            tracing::info!("too chatty");
            tracing::warn!("kept");
            tracing::warn_span!("inner").in_scope(|| {});
        });
        let logs = all_logs(&store);
        assert_eq!(logs.len(), 1);
        assert_eq!(logs[0].body, "kept");
        assert_eq!(logs[0].service, UNKNOWN_SERVICE);
        let spans = all_spans(&store);
        let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(spans.len(), 2, "{names:?}");
        let outer = spans.iter().find(|s| s.name == "outer").unwrap();
        let inner = spans.iter().find(|s| s.name == "inner").unwrap();
        assert_eq!(inner.parent_span_id, Some(outer.span_id));
        assert_eq!(logs[0].span_id, Some(outer.span_id));
    }

    #[test]
    fn error_events_and_fields_set_the_error_status() {
        let (store, _) = capture(all_levels(), || {
            tracing::info_span!("ok").in_scope(|| tracing::warn!("just a warning"));
            tracing::info_span!("failed").in_scope(|| {
                tracing::info_span!("child_ok").in_scope(|| {});
                tracing::error!(code = 7_i64, "it broke");
            });
            tracing::info_span!("flagged", error = true).in_scope(|| {});
            tracing::info_span!(
                "otel",
                otel.status_code = "ERROR",
                otel.status_message = "bad"
            )
            .in_scope(|| {});
            let s = tracing::info_span!("later", error = tracing::field::Empty);
            s.record("error", tracing::field::display("timeout"));
            drop(s);
            tracing::info_span!("not_flagged", error = false).in_scope(|| {});
        });
        let spans = all_spans(&store);
        let status = |n: &str| spans.iter().find(|s| s.name == n).unwrap().status.clone();
        assert_eq!(status("ok").code, StatusCode::Unset);
        assert_eq!(status("child_ok").code, StatusCode::Unset);
        assert_eq!(status("failed").code, StatusCode::Error);
        assert_eq!(status("failed").message, "it broke");
        assert_eq!(status("flagged").code, StatusCode::Error);
        assert_eq!(status("otel").code, StatusCode::Error);
        assert_eq!(status("otel").message, "bad");
        assert_eq!(status("later").code, StatusCode::Error);
        assert_eq!(status("later").message, "timeout");
        assert_eq!(status("not_flagged").code, StatusCode::Unset);
        let failed = store
            .find_traces(&TraceQuery::default().with_operation("failed"))
            .unwrap();
        assert!(failed[0].error);
    }

    #[test]
    fn follows_from_becomes_a_link_and_span_events_are_capped() {
        let (store, _) = capture(all_levels(), || {
            let cause = tracing::info_span!("cause");
            let effect = tracing::info_span!("effect");
            effect.follows_from(&cause);
            effect.in_scope(|| {
                for i in 0..(MAX_SPAN_EVENTS + 5) {
                    tracing::trace!(i, "tick");
                }
            });
            drop(effect);
            drop(cause);
        });
        let spans = all_spans(&store);
        let cause = spans.iter().find(|s| s.name == "cause").unwrap();
        let effect = spans.iter().find(|s| s.name == "effect").unwrap();
        assert_eq!(effect.links.len(), 1);
        assert_eq!(effect.links[0].span_id, cause.span_id);
        assert_eq!(effect.links[0].trace_id, cause.trace_id);
        assert_eq!(effect.events.len(), MAX_SPAN_EVENTS);
        assert_eq!(effect.dropped_events_count, 5);
        // Every event is still a log record.
        assert_eq!(all_logs(&store).len(), MAX_SPAN_EVENTS + 5);
    }

    #[test]
    fn flush_stores_everything_across_threads() {
        let store = Arc::new(MemoryStore::new());
        let (layer, guard) = HeimsightLayer::builder()
            .batch_size(1000)
            .flush_interval(Duration::from_secs(3600))
            .build(store.clone())
            .unwrap();
        let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let d = dispatch.clone();
                std::thread::spawn(move || {
                    tracing::dispatcher::with_default(&d, || {
                        for i in 0..50 {
                            tracing::info_span!("op", t, i).in_scope(|| tracing::info!("step"));
                        }
                    });
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        // Neither the batch size nor the interval is reached: only flush writes.
        assert_eq!(all_logs(&store).len(), 0);
        assert!(guard.flush());
        assert_eq!(all_logs(&store).len(), 200);
        assert_eq!(all_spans(&store).len(), 200);
        let stats = guard.stats();
        assert_eq!(
            (
                stats.queued,
                stats.stored_logs,
                stats.stored_spans,
                stats.dropped
            ),
            (400, 200, 200, 0)
        );
        assert_eq!(stats.write_errors, 0);
        assert!(guard.last_error().is_none());
    }

    #[test]
    fn the_interval_writes_without_a_flush() {
        let store = Arc::new(MemoryStore::new());
        let (layer, guard) = HeimsightLayer::builder()
            .flush_interval(Duration::from_millis(10))
            .build(store.clone())
            .unwrap();
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
            tracing::info!("soon stored");
        });
        // Wait (bounded) for the background thread; no timing is asserted.
        for _ in 0..500 {
            if guard.stats().stored_logs == 1 {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(guard.stats().stored_logs, 1);
    }

    #[test]
    fn dropping_the_guard_flushes_and_later_records_are_dropped() {
        let store = Arc::new(MemoryStore::new());
        let (layer, guard) = HeimsightLayer::builder()
            .flush_interval(Duration::from_secs(3600))
            .build(store.clone())
            .unwrap();
        let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
        tracing::dispatcher::with_default(&dispatch, || tracing::info!("before"));
        drop(guard);
        assert_eq!(all_logs(&store).len(), 1);
        tracing::dispatcher::with_default(&dispatch, || tracing::info!("after"));
        assert_eq!(all_logs(&store).len(), 1);
        let layer = dispatch.downcast_ref::<HeimsightLayer>().unwrap();
        assert_eq!(layer.stats().dropped, 1);
    }

    /// A store whose appends wait until the gate opens.
    #[derive(Default)]
    struct GatedStore {
        inner: MemoryStore,
        open: Mutex<bool>,
        cv: Condvar,
    }

    impl GatedStore {
        fn wait(&self) {
            let mut open = self.open.lock().unwrap();
            while !*open {
                open = self.cv.wait(open).unwrap();
            }
        }
        fn release(&self) {
            *self.open.lock().unwrap() = true;
            self.cv.notify_all();
        }
    }

    impl LogStore for GatedStore {
        fn append_logs(&self, logs: Vec<LogRecord>) -> heimsight_store::Result<()> {
            self.wait();
            self.inner.append_logs(logs)
        }
        fn query_logs(&self, q: &LogQuery) -> heimsight_store::Result<LogPage> {
            self.inner.query_logs(q)
        }
    }

    impl SpanStore for GatedStore {
        fn append_spans(&self, spans: Vec<Span>) -> heimsight_store::Result<()> {
            self.wait();
            self.inner.append_spans(spans)
        }
        fn get_trace(&self, id: &TraceId) -> heimsight_store::Result<Vec<Span>> {
            self.inner.get_trace(id)
        }
        fn find_traces(&self, q: &TraceQuery) -> heimsight_store::Result<Vec<TraceSummary>> {
            self.inner.find_traces(q)
        }
    }

    #[test]
    fn a_full_queue_drops_instead_of_blocking() {
        let store = Arc::new(GatedStore::default());
        let (layer, guard) = HeimsightLayer::builder()
            .batch_size(1)
            .queue_capacity(4)
            .build(store.clone())
            .unwrap();
        // The store blocks every write, so at most one record is in the background thread's
        // hands and four wait in the queue; the rest must be dropped, not wait.
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
            for i in 0..100 {
                tracing::info!(i, "record");
            }
        });
        let stats = guard.stats();
        assert!(stats.dropped >= 95, "{stats:?}");
        assert_eq!(stats.queued + stats.dropped, 100);
        store.release();
        assert!(guard.flush());
        let stats = guard.stats();
        assert_eq!(stats.stored_logs, stats.queued);
        assert_eq!(guard.dropped(), stats.dropped);
        assert_eq!(
            store.inner.query_logs(&LogQuery::default()).unwrap().total,
            stats.queued
        );
    }

    /// A store that always fails, or panics.
    struct BrokenStore {
        panic: bool,
    }

    impl LogStore for BrokenStore {
        fn append_logs(&self, _: Vec<LogRecord>) -> heimsight_store::Result<()> {
            if self.panic {
                panic!("store exploded");
            }
            Err(heimsight_store::Error::backend("test", "nope"))
        }
        fn query_logs(&self, _: &LogQuery) -> heimsight_store::Result<LogPage> {
            Ok(LogPage::default())
        }
    }

    impl SpanStore for BrokenStore {
        fn append_spans(&self, _: Vec<Span>) -> heimsight_store::Result<()> {
            Err(heimsight_store::Error::backend("test", "nope"))
        }
        fn get_trace(&self, _: &TraceId) -> heimsight_store::Result<Vec<Span>> {
            Ok(Vec::new())
        }
        fn find_traces(&self, _: &TraceQuery) -> heimsight_store::Result<Vec<TraceSummary>> {
            Ok(Vec::new())
        }
    }

    #[test]
    fn failed_writes_are_counted_not_raised() {
        for panic in [false, true] {
            let (layer, guard) = HeimsightLayer::builder()
                .build(Arc::new(BrokenStore { panic }))
                .unwrap();
            tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
                tracing::info_span!("s").in_scope(|| tracing::info!("lost"));
            });
            assert!(guard.flush(), "the background thread survives");
            let stats = guard.stats();
            assert_eq!(stats.write_errors, 2, "{stats:?}");
            assert_eq!(stats.stored_logs, 0);
            let err = guard.last_error().unwrap();
            assert!(err.contains("spans"), "{err}");
        }
    }

    #[test]
    fn works_with_a_dyn_store() {
        let store: Arc<dyn heimsight_store::Store> = Arc::new(MemoryStore::new());
        let (layer, guard) = HeimsightLayer::builder().build(store.clone()).unwrap();
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
            tracing::info!("via dyn");
        });
        guard.flush();
        assert_eq!(store.query_logs(&LogQuery::default()).unwrap().total, 1);
    }

    #[test]
    fn telemetry_of_the_background_thread_is_ignored() {
        /// A store that logs through `tracing` on every append, like a real backend may, to
        /// the same subscriber as the application.
        struct Chatty {
            inner: MemoryStore,
            dispatch: OnceLock<tracing::Dispatch>,
        }
        impl Chatty {
            fn chat(&self) {
                if let Some(d) = self.dispatch.get() {
                    tracing::dispatcher::with_default(d, || {
                        tracing::info_span!("append").in_scope(|| tracing::info!("appending"));
                    });
                }
            }
        }
        impl LogStore for Chatty {
            fn append_logs(&self, logs: Vec<LogRecord>) -> heimsight_store::Result<()> {
                self.chat();
                self.inner.append_logs(logs)
            }
            fn query_logs(&self, q: &LogQuery) -> heimsight_store::Result<LogPage> {
                self.inner.query_logs(q)
            }
        }
        impl SpanStore for Chatty {
            fn append_spans(&self, spans: Vec<Span>) -> heimsight_store::Result<()> {
                self.chat();
                self.inner.append_spans(spans)
            }
            fn get_trace(&self, id: &TraceId) -> heimsight_store::Result<Vec<Span>> {
                self.inner.get_trace(id)
            }
            fn find_traces(&self, q: &TraceQuery) -> heimsight_store::Result<Vec<TraceSummary>> {
                self.inner.find_traces(q)
            }
        }
        let store = Arc::new(Chatty {
            inner: MemoryStore::new(),
            dispatch: OnceLock::new(),
        });
        let (layer, guard) = HeimsightLayer::builder().build(store.clone()).unwrap();
        let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
        assert!(store.dispatch.set(dispatch.clone()).is_ok());
        tracing::dispatcher::with_default(&dispatch, || {
            tracing::info_span!("mine").in_scope(|| tracing::info!("mine"));
        });
        assert!(guard.flush());
        assert!(guard.flush());
        let logs = store.inner.query_logs(&LogQuery::default()).unwrap();
        assert_eq!(logs.total, 1);
        assert_eq!(logs.logs[0].body, "mine");
        assert_eq!(guard.stats().queued, 2);
        assert_eq!(all_spans(&store.inner).len(), 1);
    }

    #[test]
    fn ids_are_unique_and_non_zero() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..10_000 {
            let id = new_span_id();
            assert_ne!(id.0, [0; 8]);
            assert!(seen.insert(id));
        }
        let t = new_trace_id();
        assert!(TraceId::from_slice(&t.0).is_ok());
    }
}
