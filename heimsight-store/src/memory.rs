//! The in-memory backend: the reference implementation of the traits, for tests, examples
//! and short-lived embedders. Nothing survives the process.

use std::collections::{BTreeMap, HashMap};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use heimsight_core::{
    Labels, LogRecord, MetricPoint, MetricValue, PointGroup, Span, Timestamp, TraceId,
};

use crate::error::Result;
use crate::query::{
    LogPage, LogQuery, Order, Point, Series, SeriesPoints, SeriesQuery, Signal, SignalStats,
    SpanScan, StoreStats, TraceQuery, TraceSummary,
};
use crate::traits::{
    LogStore, Maintenance, MetaOp, MetaStore, MetricStore, RefusedPoint, SpanStore,
};

type SeriesKey = (String, Labels);

#[derive(Debug, Default)]
struct Inner {
    logs: BTreeMap<(i64, u64), LogRecord>,
    log_seq: u64,
    traces: HashMap<TraceId, Vec<Span>>,
    series: BTreeMap<SeriesKey, (Series, BTreeMap<i64, Point>)>,
    meta: BTreeMap<(String, String), Vec<u8>>,
}

/// A store that keeps everything in memory.
///
/// ```
/// use heimsight_store::{LogQuery, LogStore, MemoryStore};
/// use heimsight_core::{Level, LogRecord, Timestamp};
///
/// let store = MemoryStore::new();
/// store.append_logs(vec![LogRecord::new(Timestamp(1), Level::Info, "hello")])?;
/// assert_eq!(store.query_logs(&LogQuery::default())?.total, 1);
/// # Ok::<(), heimsight_store::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: RwLock<Inner>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(PoisonError::into_inner)
    }
}

impl LogStore for MemoryStore {
    fn append_logs(&self, logs: Vec<LogRecord>) -> Result<()> {
        let mut g = self.write();
        for rec in logs {
            g.log_seq += 1;
            let seq = g.log_seq;
            g.logs.insert((rec.timestamp.0, seq), rec);
        }
        Ok(())
    }

    fn query_logs(&self, q: &LogQuery) -> Result<LogPage> {
        let g = self.read();
        let lo = (q.range.start_nanos(), 0u64);
        let hi = (q.range.end_nanos(), 0u64);
        if lo >= hi {
            return Ok(LogPage::default());
        }
        let iter = g.logs.range(lo..hi).map(|(_, r)| r);
        let matching: Box<dyn Iterator<Item = &LogRecord>> = match q.order {
            Order::OldestFirst => Box::new(iter),
            Order::NewestFirst => Box::new(iter.rev()),
        };
        let mut total = 0u64;
        let mut logs = Vec::new();
        for rec in matching.filter(|r| q.filter.matches(r)) {
            if total as usize >= q.offset && logs.len() < q.limit {
                logs.push(rec.clone());
            }
            total += 1;
        }
        Ok(LogPage { logs, total })
    }
}

impl SpanStore for MemoryStore {
    fn append_spans(&self, spans: Vec<Span>) -> Result<()> {
        let mut g = self.write();
        for s in spans {
            let trace = g.traces.entry(s.trace_id).or_default();
            match trace.iter_mut().find(|x| x.span_id == s.span_id) {
                Some(existing) => *existing = s,
                None => trace.push(s),
            }
        }
        Ok(())
    }

    fn get_trace(&self, trace_id: &TraceId) -> Result<Vec<Span>> {
        let mut spans = self
            .read()
            .traces
            .get(trace_id)
            .cloned()
            .unwrap_or_default();
        spans.sort_by_key(|s| (s.start_time, s.span_id));
        Ok(spans)
    }

    fn find_traces(&self, q: &TraceQuery) -> Result<Vec<TraceSummary>> {
        let g = self.read();
        let mut out: Vec<TraceSummary> = g
            .traces
            .values()
            .filter_map(|spans| TraceSummary::from_spans(spans))
            .filter(|t| q.matches(t))
            .collect();
        out.sort_by(|a, b| {
            b.start_time
                .cmp(&a.start_time)
                .then(a.trace_id.cmp(&b.trace_id))
        });
        out.truncate(q.limit);
        Ok(out)
    }

    fn scan_spans(&self, scan: &SpanScan, visit: &mut dyn FnMut(Vec<Span>) -> bool) -> Result<()> {
        let spans: Vec<Span> = {
            let g = self.read();
            let mut v: Vec<Span> = g
                .traces
                .values()
                .flatten()
                .filter(|s| scan.matches(s))
                .cloned()
                .collect();
            v.sort_by_key(|s| (s.start_time, s.trace_id, s.span_id));
            v
        };
        for batch in spans.chunks(4096) {
            if !visit(batch.to_vec()) {
                break;
            }
        }
        Ok(())
    }
}

impl MetricStore for MemoryStore {
    fn append_points(&self, points: Vec<MetricPoint>) -> Result<()> {
        let mut g = self.write();
        for p in points {
            let key = (p.name.clone(), p.labels.clone());
            let entry = g
                .series
                .entry(key)
                .or_insert_with(|| (Series::of(&p), BTreeMap::new()));
            entry.0 = Series::of(&p);
            entry.1.insert(p.timestamp.0, Point::of(&p));
        }
        Ok(())
    }

    fn append_point_groups_checked(
        &self,
        groups: &[PointGroup],
        window_ns: i64,
    ) -> Result<Vec<RefusedPoint>> {
        let mut g = self.write();
        let mut refused = Vec::new();
        for (gi, group) in groups.iter().enumerate() {
            for (pi, p) in group.points.iter().enumerate() {
                let key = (p.name.clone(), group.series_labels(p));
                let point = Point::of(p);
                let stored = g.series.get(&key).map(|(_, points)| points);
                let newest = stored
                    .and_then(|points| points.last_key_value())
                    .map(|(t, q)| (*t, same_point(q, &point)));
                let at_t = || {
                    stored
                        .and_then(|points| points.get(&p.timestamp.0))
                        .map(|q| same_point(q, &point))
                };
                match crate::checked::verdict(p.timestamp.0, newest, at_t, window_ns) {
                    crate::checked::Verdict::Take => {
                        // The series takes the point's kind and metadata, as in `append_points`.
                        let series = Series {
                            labels: key.1.clone(),
                            ..Series::of(p)
                        };
                        let points = match g.series.entry(key) {
                            std::collections::btree_map::Entry::Occupied(e) => {
                                let entry = e.into_mut();
                                entry.0 = series;
                                &mut entry.1
                            }
                            std::collections::btree_map::Entry::Vacant(e) => {
                                &mut e.insert((series, BTreeMap::new())).1
                            }
                        };
                        points.insert(p.timestamp.0, point);
                    }
                    crate::checked::Verdict::Drop => {}
                    crate::checked::Verdict::Refuse(reason) => refused.push(RefusedPoint {
                        group: gi,
                        point: pi,
                        reason,
                    }),
                }
            }
        }
        Ok(refused)
    }

    fn series(&self, q: &SeriesQuery) -> Result<Vec<Series>> {
        Ok(self
            .query_points(q)?
            .into_iter()
            .map(|sp| sp.series)
            .collect())
    }

    fn query_points(&self, q: &SeriesQuery) -> Result<Vec<SeriesPoints>> {
        let g = self.read();
        let lo = q.range.start_nanos();
        let hi = q.range.end_nanos();
        let mut out = Vec::new();
        for ((name, labels), (series, points)) in &g.series {
            if !q.matches(name, labels) || lo >= hi {
                continue;
            }
            let pts: Vec<Point> = points.range(lo..hi).map(|(_, p)| p.clone()).collect();
            if !pts.is_empty() {
                out.push(SeriesPoints {
                    series: series.clone(),
                    points: pts,
                });
                if q.limit != 0 && out.len() >= q.limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    fn metric_names(&self) -> Result<Vec<String>> {
        let mut names: Vec<String> = self.read().series.keys().map(|(n, _)| n.clone()).collect();
        names.dedup();
        Ok(names)
    }
}

impl MetaStore for MemoryStore {
    fn meta_get(&self, namespace: &str, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self
            .read()
            .meta
            .get(&(namespace.to_string(), key.to_string()))
            .cloned())
    }

    fn meta_put(&self, namespace: &str, key: &str, value: &[u8]) -> Result<()> {
        self.write()
            .meta
            .insert((namespace.to_string(), key.to_string()), value.to_vec());
        Ok(())
    }

    fn meta_delete(&self, namespace: &str, key: &str) -> Result<bool> {
        Ok(self
            .write()
            .meta
            .remove(&(namespace.to_string(), key.to_string()))
            .is_some())
    }

    fn meta_write(&self, ops: &[MetaOp]) -> Result<()> {
        let mut guard = self.write();
        for op in ops {
            match op {
                MetaOp::Put {
                    namespace,
                    key,
                    value,
                } => {
                    guard
                        .meta
                        .insert((namespace.clone(), key.clone()), value.clone());
                }
                MetaOp::Delete { namespace, key } => {
                    guard.meta.remove(&(namespace.clone(), key.clone()));
                }
            }
        }
        Ok(())
    }

    fn meta_list(&self, namespace: &str) -> Result<Vec<(String, Vec<u8>)>> {
        Ok(self
            .read()
            .meta
            .iter()
            .filter(|((ns, _), _)| ns == namespace)
            .map(|((_, k), v)| (k.clone(), v.clone()))
            .collect())
    }
}

impl Maintenance for MemoryStore {
    fn delete_before(&self, signal: Signal, cutoff: Timestamp) -> Result<u64> {
        let mut g = self.write();
        let mut removed = 0u64;
        match signal {
            Signal::Logs => {
                let keep = g.logs.split_off(&(cutoff.0, 0));
                removed = g.logs.len() as u64;
                g.logs = keep;
            }
            Signal::Spans => {
                g.traces.retain(|_, spans| {
                    let before = spans.len();
                    spans.retain(|s| s.start_time >= cutoff);
                    removed += (before - spans.len()) as u64;
                    !spans.is_empty()
                });
            }
            Signal::Metrics => {
                g.series.retain(|_, (_, pts)| {
                    let keep = pts.split_off(&cutoff.0);
                    removed += pts.len() as u64;
                    *pts = keep;
                    !pts.is_empty()
                });
            }
        }
        Ok(removed)
    }

    fn stats(&self) -> Result<StoreStats> {
        let g = self.read();
        let logs = SignalStats {
            records: g.logs.len() as u64,
            bytes: g.logs.values().map(|r| 64 + r.body.len() as u64).sum(),
            oldest: g.logs.keys().next().map(|k| Timestamp(k.0)),
            newest: g.logs.keys().next_back().map(|k| Timestamp(k.0)),
        };
        let all_spans = g.traces.values().flatten();
        let spans = SignalStats {
            records: g.traces.values().map(|v| v.len() as u64).sum(),
            bytes: g.traces.values().map(|v| 128 * v.len() as u64).sum(),
            oldest: all_spans.clone().map(|s| s.start_time).min(),
            newest: all_spans.map(|s| s.start_time).max(),
        };
        let pts = g.series.values().flat_map(|(_, p)| p.keys());
        let metrics = SignalStats {
            records: g.series.values().map(|(_, p)| p.len() as u64).sum(),
            bytes: g.series.values().map(|(_, p)| 16 * p.len() as u64).sum(),
            oldest: pts.clone().min().map(|t| Timestamp(*t)),
            newest: pts.max().map(|t| Timestamp(*t)),
        };
        Ok(StoreStats {
            logs,
            spans,
            metrics,
            series: g.series.len() as u64,
        })
    }

    fn flush(&self) -> Result<()> {
        Ok(())
    }
}

/// Whether two stored points are the same (numbers by their bits, so NaNs and staleness
/// markers compare equal to themselves).
fn same_point(a: &Point, b: &Point) -> bool {
    match (&a.value, &b.value) {
        (MetricValue::Number(x), MetricValue::Number(y)) => {
            x.to_bits() == y.to_bits()
                && a.start_timestamp == b.start_timestamp
                && a.flags == b.flags
                && a.exemplars == b.exemplars
        }
        _ => a == b,
    }
}
