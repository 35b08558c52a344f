//! The storage traits every backend implements.
//!
//! The traits are synchronous: the embedded backends answer from local disk or memory, and
//! async callers (the server) run them on a blocking thread pool.

use heimsight_core::{LogRecord, MetricPoint, PointGroup, Span, Timestamp, TraceId};

use crate::error::Result;
use crate::query::{
    Interner, LogCount, LogCountRow, LogCounter, LogFields, LogFilter, LogPage, LogQuery, LogScan,
    Order, Series, SeriesPoints, SeriesQuery, Signal, SpanRow, SpanScan, StoreStats, TraceQuery,
    TraceSummary,
};

/// Records per batch of the default scans.
const SCAN_BATCH: usize = 4096;

/// Stores and queries log records.
pub trait LogStore: Send + Sync {
    /// Appends records. When this returns `Ok`, the records are durable per the backend's
    /// durability policy (for RocksDB: in the write-ahead log) and visible to queries.
    fn append_logs(&self, logs: Vec<LogRecord>) -> Result<()>;

    /// A page of matching records in time order, with the total number of matches.
    fn query_logs(&self, query: &LogQuery) -> Result<LogPage>;

    /// Calls `visit` with batches of the matching records (filled as
    /// [`LogScan::fields`] asks) until every match was visited or `visit` returns false.
    /// Records appended during the scan may or may not be visited.
    ///
    /// The default reads everything through [`query_logs`](Self::query_logs) at once;
    /// backends override it to stream.
    fn scan_logs(
        &self,
        scan: &LogScan,
        visit: &mut dyn FnMut(Vec<LogRecord>) -> bool,
    ) -> Result<()> {
        let page = self.query_logs(&LogQuery {
            range: scan.range,
            filter: scan.filter.clone(),
            order: scan.order,
            limit: if scan.limit == 0 {
                usize::MAX
            } else {
                scan.limit
            },
            offset: 0,
        })?;
        for batch in page.logs.chunks(SCAN_BATCH) {
            if !visit(batch.to_vec()) {
                break;
            }
        }
        Ok(())
    }

    /// Counts the matching records per group (see [`LogCount`]), calling `visit` with rows of
    /// partial counts (equal keys add up) until everything was counted or `visit` returns
    /// false.
    ///
    /// How this store finds the records passing `filter`'s full-text, substring and trace
    /// conditions, one line per condition, for `EXPLAIN` (say, "from the term index" or "scan of
    /// the messages"). The default says nothing.
    fn explain_log_filter(&self, filter: &LogFilter) -> Vec<String> {
        let _ = filter;
        Vec::new()
    }

    /// The default counts the records of [`scan_logs`](Self::scan_logs), batch by batch;
    /// backends override it to count from summaries without reading records.
    fn count_logs(
        &self,
        count: &LogCount,
        visit: &mut dyn FnMut(Vec<LogCountRow>) -> bool,
    ) -> Result<()> {
        count.validate()?;
        let scan = LogScan {
            range: count.range,
            filter: count.filter.clone(),
            order: Order::OldestFirst,
            fields: LogFields::default(),
            limit: 0,
        };
        let mut counter = LogCounter::default();
        self.scan_logs(&scan, &mut |batch| {
            for r in &batch {
                counter.add(count, &r.service, r.level(), r.timestamp.0, 1);
            }
            visit(counter.take())
        })
    }
}

/// Stores and queries spans.
pub trait SpanStore: Send + Sync {
    /// Appends spans (of any traces, in any order). Durable and visible when `Ok`.
    fn append_spans(&self, spans: Vec<Span>) -> Result<()>;

    /// Every stored span of a trace, sorted by start time (empty when unknown).
    fn get_trace(&self, trace_id: &TraceId) -> Result<Vec<Span>>;

    /// Summaries of the matching traces, newest (by start time) first.
    fn find_traces(&self, query: &TraceQuery) -> Result<Vec<TraceSummary>>;

    /// Calls `visit` with batches of the matching spans until every match was visited or
    /// `visit` returns false.
    ///
    /// The default finds every trace with [`find_traces`](Self::find_traces) and reads them
    /// with [`get_trace`](Self::get_trace); backends override it to stream.
    fn scan_spans(&self, scan: &SpanScan, visit: &mut dyn FnMut(Vec<Span>) -> bool) -> Result<()> {
        let ids: Vec<TraceId> = if scan.trace_ids.is_empty() {
            self.find_traces(&TraceQuery {
                limit: usize::MAX,
                ..TraceQuery::default()
            })?
            .into_iter()
            .map(|t| t.trace_id)
            .collect()
        } else {
            scan.trace_ids.clone()
        };
        let mut batch = Vec::new();
        for id in ids {
            batch.extend(self.get_trace(&id)?.into_iter().filter(|s| scan.matches(s)));
            if batch.len() >= SCAN_BATCH && !visit(std::mem::take(&mut batch)) {
                return Ok(());
            }
        }
        if !batch.is_empty() {
            visit(batch);
        }
        Ok(())
    }

    /// Like [`scan_spans`](Self::scan_spans) with [`SpanScan::index_only`], but the batches
    /// hold [`SpanRow`]s, whose service and name are shared between rows: the cheapest way
    /// to aggregate many spans.
    ///
    /// The default converts the spans of `scan_spans`; backends with a span index override
    /// it to read the index alone.
    fn scan_span_rows(
        &self,
        scan: &SpanScan,
        visit: &mut dyn FnMut(Vec<SpanRow>) -> bool,
    ) -> Result<()> {
        let scan = SpanScan {
            index_only: true,
            ..scan.clone()
        };
        let mut interner = Interner::default();
        self.scan_spans(&scan, &mut |batch| {
            visit(batch.iter().map(|s| interner.row(s)).collect())
        })
    }
}

/// Stores and queries metric points.
pub trait MetricStore: Send + Sync {
    /// Appends points. Durable and visible when `Ok`. A point with the same series and
    /// timestamp as a stored one replaces it.
    fn append_points(&self, points: Vec<MetricPoint>) -> Result<()>;

    /// Appends groups of points that share labels (see [`PointGroup`]), as
    /// [`append_points`](Self::append_points) would append the groups' points with their
    /// complete labels. Stores override it to find series without building each point's
    /// labels; the default builds them.
    fn append_point_groups(&self, groups: Vec<PointGroup>) -> Result<()> {
        self.append_points(
            groups
                .into_iter()
                .flat_map(PointGroup::into_points)
                .collect(),
        )
    }

    /// Appends groups of points the way Prometheus's TSDB takes samples, and returns the points
    /// it refused (the others are appended):
    /// - a point newer than its series' newest point, or of a series without points, is taken;
    /// - a point at the newest point's timestamp is dropped when it is the same (an exact
    ///   duplicate) and refused when it differs;
    /// - an older point is dropped when the series has the same point at its timestamp (a
    ///   batch sent again), refused when it has another one there, and otherwise taken when it
    ///   is at most `out_of_order_window_ns` older than the series' newest and refused when it
    ///   is older still.
    ///
    /// RocksDB keeps each series' newest point in memory (rebuilt from the point log at open:
    /// after a restart, a series whose points were all cut into chunks is checked again from
    /// its next point), and looks for points at an older timestamp among those not yet cut
    /// into chunks.
    fn append_point_groups_checked(
        &self,
        groups: &[PointGroup],
        out_of_order_window_ns: i64,
    ) -> Result<Vec<RefusedPoint>>;

    /// Series matching name and matchers that have at least one point in the range, sorted by
    /// name then labels.
    fn series(&self, query: &SeriesQuery) -> Result<Vec<Series>>;

    /// Matching series with their points in the range, oldest point first; series without
    /// points in the range are left out. Sorted by name then labels.
    fn query_points(&self, query: &SeriesQuery) -> Result<Vec<SeriesPoints>>;

    /// Every metric name, sorted.
    fn metric_names(&self) -> Result<Vec<String>>;
}

/// A point [`MetricStore::append_point_groups_checked`] refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedPoint {
    /// Index of its group.
    pub group: usize,
    /// Index of the point in its group.
    pub point: usize,
    /// Why, in words (without the series: the caller has it).
    pub reason: String,
}

/// A small key/value store for metadata: settings, alert rules, channels, state, outbox.
/// Keys live in namespaces.
pub trait MetaStore: Send + Sync {
    /// The value under `key`, if any.
    fn meta_get(&self, namespace: &str, key: &str) -> Result<Option<Vec<u8>>>;
    /// Stores `value` under `key` (durably).
    fn meta_put(&self, namespace: &str, key: &str, value: &[u8]) -> Result<()>;
    /// Removes `key`; returns whether it existed.
    fn meta_delete(&self, namespace: &str, key: &str) -> Result<bool>;
    /// Every key and value of a namespace, sorted by key.
    fn meta_list(&self, namespace: &str) -> Result<Vec<(String, Vec<u8>)>>;

    /// Applies several puts and deletes at once: a reader or a crash sees all of them or none
    /// (alert state and the notifications of its transition are written together this way).
    /// The default applies them one by one; backends that can do better override it.
    fn meta_write(&self, ops: &[MetaOp]) -> Result<()> {
        for op in ops {
            match op {
                MetaOp::Put {
                    namespace,
                    key,
                    value,
                } => self.meta_put(namespace, key, value)?,
                MetaOp::Delete { namespace, key } => {
                    self.meta_delete(namespace, key)?;
                }
            }
        }
        Ok(())
    }
}

/// One change of a [`MetaStore::meta_write`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetaOp {
    /// Store `value` under `key`.
    Put {
        /// The namespace.
        namespace: String,
        /// The key.
        key: String,
        /// The value.
        value: Vec<u8>,
    },
    /// Remove `key` (nothing happens when it does not exist).
    Delete {
        /// The namespace.
        namespace: String,
        /// The key.
        key: String,
    },
}

impl MetaOp {
    /// A put.
    pub fn put(namespace: &str, key: &str, value: impl Into<Vec<u8>>) -> Self {
        MetaOp::Put {
            namespace: namespace.to_string(),
            key: key.to_string(),
            value: value.into(),
        }
    }

    /// A delete.
    pub fn delete(namespace: &str, key: &str) -> Self {
        MetaOp::Delete {
            namespace: namespace.to_string(),
            key: key.to_string(),
        }
    }
}

/// Retention, statistics and lifecycle.
pub trait Maintenance: Send + Sync {
    /// Deletes data of `signal` older than `cutoff`. Backends may keep slightly older data
    /// (up to one time partition) when deleting it exactly would be costly; they never delete
    /// data at or after `cutoff`. Returns an estimate of the records removed.
    fn delete_before(&self, signal: Signal, cutoff: Timestamp) -> Result<u64>;

    /// Sizes and ages per signal.
    fn stats(&self) -> Result<StoreStats>;

    /// Flushes buffered data so that it survives power loss (fsync), e.g. before shutdown; a
    /// backend with a write-ahead log also writes what only the log holds to its data files,
    /// so that the next open replays nothing.
    fn flush(&self) -> Result<()>;

    /// Memory the store holds, by part, in bytes (caches, write buffers, in-memory indexes),
    /// for diagnostics such as `GET /api/v1/status`. Estimates; the default reports nothing.
    fn memory(&self) -> Vec<(&'static str, u64)> {
        Vec::new()
    }

    /// The store's background work: merges and compactions done and under way. The default
    /// reports none.
    fn activity(&self) -> crate::StoreActivity {
        crate::StoreActivity::default()
    }
}

/// Everything a Heimsight store does. Implemented automatically for any type implementing
/// the signal traits.
pub trait Store: LogStore + SpanStore + MetricStore + MetaStore + Maintenance {}

impl<T: LogStore + SpanStore + MetricStore + MetaStore + Maintenance> Store for T {}
