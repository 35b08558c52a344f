//! Metrics on RocksDB: a series registry held in memory; points in a durable head, then in
//! compressed chunks keyed by day, series and sequence (see [`super::head`]).

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use heimsight_core::{
    Exemplar, ExpBuckets, ExpHistogramValue, HistogramValue, Labels, MetricKind, MetricPoint,
    MetricValue, PointGroup, Quantile, SpanId, SummaryValue, Temporality, Timestamp, TraceId,
};
use rocksdb::{IteratorMode, ReadOptions, WriteBatch};

use super::codec::{Reader, Writer};
use super::head::{self, Head};
use super::{
    CF_META, CF_POINT_LOG, CF_POINTS, CF_SERIES, Inner, META_INTERNAL, RocksStore, day_of,
    meta_key, rocks_err,
};
use crate::error::{Error, Result};
use crate::query::{Point, Series, SeriesPoints, SeriesQuery};
use crate::traits::{MetricStore, RefusedPoint};

const SERIES_VERSION: u8 = 1;

/// The newest point of each series that had one since the store opened (from appends and
/// the replayed point log): its timestamp and the hash of its encoding. Checked appends
/// compare points with it; it is also the lock that serializes appends.
#[derive(Debug, Default)]
pub(crate) struct Newest(HashMap<u64, (i64, u64)>);

impl Newest {
    /// Notes a point of series `id` at `t` whose encoding hashes to `hash`.
    pub(crate) fn note(&mut self, id: u64, t: i64, hash: u64) {
        match self.0.get_mut(&id) {
            Some(x) if x.0 > t => {}
            Some(x) => *x = (t, hash),
            None => {
                self.0.insert(id, (t, hash));
            }
        }
    }
}

/// The bytes of a [`series_key`], kept for each known series.
type SeriesKey = Box<[u8]>;

/// Every series, by id and by (name, labels).
#[derive(Debug, Default)]
pub(crate) struct Registry {
    by_key: BTreeMap<(String, Labels), u64>,
    by_id: HashMap<u64, Series>,
    /// Ids with their [`series_key`], by the key's hash (several on a hash collision). The
    /// key is one allocation, so checking a candidate reads a few adjacent cache lines rather
    /// than every label string of the series.
    by_hash: HashMap<u64, Vec<(u64, SeriesKey)>>,
    next_id: u64,
}

/// Writes the bytes that identify a series: its name, then each label (sorted by name) as
/// `0xff` name `0xfe` value. The separators never occur in UTF-8, so two series have the same
/// key only when they are the same series.
fn series_key<'a>(out: &mut Vec<u8>, name: &str, labels: impl Iterator<Item = (&'a str, &'a str)>) {
    out.clear();
    out.extend_from_slice(name.as_bytes());
    for (k, v) in labels {
        out.push(0xff);
        out.extend_from_slice(k.as_bytes());
        out.push(0xfe);
        out.extend_from_slice(v.as_bytes());
    }
}

/// The hash of a [`series_key`].
fn key_hash(key: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(key)
}

/// The labels of a stored series as the pairs [`series_key`] takes.
fn pairs(labels: &Labels) -> impl Iterator<Item = (&str, &str)> {
    labels.iter().map(|(k, v)| (k.as_str(), v.as_str()))
}

/// Every point of `groups`: group index, index in the group, group, point.
fn points_of(
    groups: &[PointGroup],
) -> impl Iterator<Item = (usize, usize, &PointGroup, &MetricPoint)> {
    groups.iter().enumerate().flat_map(|(gi, g)| {
        g.points
            .iter()
            .enumerate()
            .map(move |(pi, p)| (gi, pi, g, p))
    })
}

/// The series of `p`, a point of `g`, with its complete labels.
fn series_of(g: &PointGroup, p: &MetricPoint) -> Series {
    Series {
        labels: g.series_labels(p),
        ..Series::of(p)
    }
}

/// True when a known series already has the point's kind and metadata.
fn same_meta(s: &Series, p: &MetricPoint) -> bool {
    s.kind == p.kind
        && s.temporality == p.temporality
        && s.monotonic == p.monotonic
        && s.unit == p.unit
        && s.description == p.description
}

impl Registry {
    pub(crate) fn len(&self) -> usize {
        self.by_id.len()
    }

    /// The id of the series whose [`series_key`] is `key` (with hash `hash`), if known.
    fn find(&self, hash: u64, key: &[u8]) -> Option<u64> {
        let ids = self.by_hash.get(&hash)?;
        ids.iter().find(|(_, k)| **k == *key).map(|(id, _)| *id)
    }

    fn insert(&mut self, id: u64, s: Series) {
        let mut key = Vec::new();
        series_key(&mut key, &s.name, pairs(&s.labels));
        let ids = self.by_hash.entry(key_hash(&key)).or_default();
        if !ids.iter().any(|(known, _)| *known == id) {
            ids.push((id, key.into_boxed_slice()));
        }
        self.by_key.insert((s.name.clone(), s.labels.clone()), id);
        self.by_id.insert(id, s);
        self.next_id = self.next_id.max(id + 1);
    }

    /// Matching series ids, sorted by name then labels.
    fn matching(&self, q: &SeriesQuery) -> Vec<(u64, Series)> {
        let iter: Box<dyn Iterator<Item = (&(String, Labels), &u64)>> = match &q.name {
            Some(n) => Box::new(
                self.by_key
                    .range((n.clone(), Labels::new())..)
                    .take_while(move |((name, _), _)| name == n),
            ),
            None => Box::new(self.by_key.iter()),
        };
        iter.filter(|((name, labels), _)| q.matches(name, labels))
            .filter_map(|(_, id)| self.by_id.get(id).map(|s| (*id, s.clone())))
            .collect()
    }
}

fn kind_code(k: MetricKind) -> u8 {
    match k {
        MetricKind::Gauge => 0,
        MetricKind::Counter => 1,
        MetricKind::Histogram => 2,
        MetricKind::Summary => 3,
        MetricKind::ExponentialHistogram => 4,
    }
}

fn temporality_code(t: Temporality) -> u8 {
    match t {
        Temporality::Unspecified => 0,
        Temporality::Delta => 1,
        Temporality::Cumulative => 2,
    }
}

fn encode_series(s: &Series) -> Vec<u8> {
    let mut w = Writer::default();
    w.u8(SERIES_VERSION);
    w.str(&s.name);
    w.varint(s.labels.len() as u64);
    for (k, v) in &s.labels {
        w.str(k);
        w.str(v);
    }
    w.u8(kind_code(s.kind));
    w.u8(temporality_code(s.temporality));
    w.u8(u8::from(s.monotonic));
    w.str(&s.unit);
    w.str(&s.description);
    w.buf
}

fn decode_series(b: &[u8]) -> Result<Series> {
    let mut r = Reader::new(b, "series");
    let v = r.u8()?;
    if v != SERIES_VERSION {
        return Err(r.corrupt(format!("unknown series version {v}")));
    }
    let name = r.string()?;
    let n = r.len()?;
    let mut labels = Labels::new();
    for _ in 0..n {
        let k = r.string()?;
        labels.insert(k, r.string()?);
    }
    let kind = match r.u8()? {
        0 => MetricKind::Gauge,
        1 => MetricKind::Counter,
        2 => MetricKind::Histogram,
        3 => MetricKind::Summary,
        4 => MetricKind::ExponentialHistogram,
        k => return Err(r.corrupt(format!("unknown metric kind {k}"))),
    };
    let temporality = match r.u8()? {
        1 => Temporality::Delta,
        2 => Temporality::Cumulative,
        _ => Temporality::Unspecified,
    };
    Ok(Series {
        name,
        labels,
        kind,
        temporality,
        monotonic: r.u8()? != 0,
        unit: r.string()?,
        description: r.string()?,
    })
}

/// Encodes a point's value, then (only when present) its extras: start timestamp, flags and
/// exemplars. Values written before extras existed decode with empty extras.
fn encode_point(w: &mut Writer, p: &MetricPoint) {
    encode_value(w, &p.value);
    if p.start_timestamp.0 != 0 || p.flags != 0 || !p.exemplars.is_empty() {
        w.zigzag(p.start_timestamp.0);
        w.varint(u64::from(p.flags));
        w.varint(p.exemplars.len() as u64);
        for x in &p.exemplars {
            w.zigzag(x.timestamp.0);
            w.f64(x.value);
            match &x.trace_id {
                Some(t) => {
                    w.u8(1);
                    w.raw(t.as_bytes());
                }
                None => w.u8(0),
            }
            match &x.span_id {
                Some(s) => {
                    w.u8(1);
                    w.raw(s.as_bytes());
                }
                None => w.u8(0),
            }
            w.attributes(&x.attributes);
        }
    }
}

fn decode_point(ts: i64, b: &[u8]) -> Result<Point> {
    let mut r = Reader::new(b, "metric point");
    let value = decode_value(&mut r)?;
    let mut p = Point::new(Timestamp(ts), value);
    if !r.is_empty() {
        p.start_timestamp = Timestamp(r.zigzag()?);
        p.flags = u32::try_from(r.varint()?).map_err(|_| r.corrupt("flags"))?;
        let n = r.len()?;
        for _ in 0..n {
            let timestamp = Timestamp(r.zigzag()?);
            let value = r.f64()?;
            let trace_id = match r.u8()? {
                0 => None,
                _ => Some(TraceId::from_slice(r.take(16)?).map_err(|e| r.corrupt(e))?),
            };
            let span_id = match r.u8()? {
                0 => None,
                _ => Some(SpanId::from_slice(r.take(8)?).map_err(|e| r.corrupt(e))?),
            };
            p.exemplars.push(Exemplar {
                timestamp,
                value,
                trace_id,
                span_id,
                attributes: r.attributes()?,
            });
        }
    }
    Ok(p)
}

/// Writes optional floats: a presence byte each, then the value when present.
fn write_opt_f64s<const N: usize>(w: &mut Writer, values: [Option<f64>; N]) {
    for o in values {
        match o {
            Some(x) => {
                w.u8(1);
                w.f64(x);
            }
            None => w.u8(0),
        }
    }
}

/// Reads what [`write_opt_f64s`] wrote.
fn read_opt_f64s<const N: usize>(r: &mut Reader<'_>) -> Result<[Option<f64>; N]> {
    let mut out = [None; N];
    for o in &mut out {
        if r.u8()? != 0 {
            *o = Some(r.f64()?);
        }
    }
    Ok(out)
}

fn encode_value(w: &mut Writer, v: &MetricValue) {
    match v {
        MetricValue::Number(x) => {
            w.u8(0);
            w.f64(*x);
        }
        MetricValue::Histogram(h) => {
            w.u8(1);
            w.varint(h.bounds.len() as u64);
            for b in &h.bounds {
                w.f64(*b);
            }
            w.varint(h.counts.len() as u64);
            for c in &h.counts {
                w.varint(*c);
            }
            w.varint(h.count);
            write_opt_f64s(w, [h.sum, h.min, h.max]);
        }
        MetricValue::Summary(s) => {
            w.u8(2);
            w.varint(s.count);
            w.f64(s.sum);
            w.varint(s.quantiles.len() as u64);
            for q in &s.quantiles {
                w.f64(q.quantile);
                w.f64(q.value);
            }
        }
        MetricValue::ExponentialHistogram(h) => {
            w.u8(3);
            w.zigzag(i64::from(h.scale));
            w.varint(h.zero_count);
            w.f64(h.zero_threshold);
            for side in [&h.positive, &h.negative] {
                w.zigzag(i64::from(side.offset));
                w.varint(side.counts.len() as u64);
                for c in &side.counts {
                    w.varint(*c);
                }
            }
            w.varint(h.count);
            write_opt_f64s(w, [h.sum, h.min, h.max]);
        }
    }
}

fn decode_value(r: &mut Reader<'_>) -> Result<MetricValue> {
    Ok(match r.u8()? {
        0 => MetricValue::Number(r.f64()?),
        1 => {
            let n = r.len()?;
            let bounds = (0..n).map(|_| r.f64()).collect::<Result<Vec<_>>>()?;
            let n = r.len()?;
            let counts = (0..n).map(|_| r.varint()).collect::<Result<Vec<_>>>()?;
            let count = r.varint()?;
            let [sum, min, max] = read_opt_f64s(r)?;
            MetricValue::Histogram(HistogramValue {
                bounds,
                counts,
                sum,
                count,
                min,
                max,
            })
        }
        2 => {
            let count = r.varint()?;
            let sum = r.f64()?;
            let n = r.len()?;
            let mut quantiles = Vec::with_capacity(n.min(256));
            for _ in 0..n {
                quantiles.push(Quantile {
                    quantile: r.f64()?,
                    value: r.f64()?,
                });
            }
            MetricValue::Summary(SummaryValue {
                count,
                sum,
                quantiles,
            })
        }
        3 => {
            let scale = i32::try_from(r.zigzag()?).map_err(|_| r.corrupt("scale"))?;
            let zero_count = r.varint()?;
            let zero_threshold = r.f64()?;
            let mut sides = [ExpBuckets::default(), ExpBuckets::default()];
            for side in &mut sides {
                side.offset = i32::try_from(r.zigzag()?).map_err(|_| r.corrupt("offset"))?;
                let n = r.len()?;
                side.counts = (0..n).map(|_| r.varint()).collect::<Result<Vec<_>>>()?;
            }
            let count = r.varint()?;
            let [sum, min, max] = read_opt_f64s(r)?;
            let [positive, negative] = sides;
            MetricValue::ExponentialHistogram(ExpHistogramValue {
                scale,
                zero_count,
                zero_threshold,
                positive,
                negative,
                sum,
                count,
                min,
                max,
            })
        }
        t => return Err(r.corrupt(format!("unknown value tag {t}"))),
    })
}

/// Key of a chunk: day, series id, sequence (the last point log entry the chunk covers).
fn chunk_key(day: u32, id: u64, seq: u64) -> [u8; 20] {
    let mut k = [0u8; 20];
    k[..4].copy_from_slice(&day.to_be_bytes());
    k[4..12].copy_from_slice(&id.to_be_bytes());
    k[12..].copy_from_slice(&seq.to_be_bytes());
    k
}

/// Meta key holding the next point log sequence number (it survives the log being emptied).
const POINT_SEQ_KEY: &str = "point_log_seq";

impl Inner {
    pub(crate) fn load_registry(&self) -> Result<()> {
        let cf = self.cf(CF_SERIES)?;
        let mut reg = self
            .registry
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        for item in self.db.iterator_cf(cf, IteratorMode::Start) {
            let (k, v) = item.map_err(rocks_err)?;
            let id = <[u8; 8]>::try_from(k.as_ref())
                .map(u64::from_be_bytes)
                .map_err(|_| Error::Corrupt {
                    what: "series key",
                    reason: format!("length {}", k.len()),
                })?;
            reg.insert(id, decode_series(&v)?);
        }
        Ok(())
    }

    /// Appends groups of points; with `check` (an out-of-order window), as
    /// [`MetricStore::append_point_groups_checked`] says, returning the refused points.
    fn append_groups(
        &self,
        groups: &[PointGroup],
        check: Option<i64>,
    ) -> Result<Vec<RefusedPoint>> {
        let n: usize = groups.iter().map(|g| g.points.len()).sum();
        if n == 0 {
            return Ok(Vec::new());
        }
        let i = self;
        let cf_series = i.cf(CF_SERIES)?;
        // Before taking the append lock (so concurrent requests do this in parallel): each
        // point's encoding, and the id of its series when the series is known; the keys of the
        // series that were not, to look for again under the lock.
        let mut encs = Writer::with_capacity(n * 24);
        let mut found: Vec<(Option<u64>, u64, Range<usize>, usize)> = Vec::with_capacity(n);
        let mut unknown: Vec<u8> = Vec::new();
        {
            let reg = i.registry.read().unwrap_or_else(PoisonError::into_inner);
            let mut key = Vec::with_capacity(256);
            for (_, _, g, p) in points_of(groups) {
                series_key(&mut key, &p.name, g.labels_of(p));
                let hash = key_hash(&key);
                let id = reg.find(hash, &key);
                let at = unknown.len();
                if id.is_none() {
                    unknown.extend_from_slice(&key);
                }
                encode_point(&mut encs, p);
                found.push((id, hash, at..unknown.len(), encs.buf.len()));
            }
        }
        let mut newest = i.point_lock.lock().unwrap_or_else(PoisonError::into_inner);
        let mut refused = Vec::new();
        // Newest point per series among those this batch takes.
        let mut taken = Newest::default();
        let mut batch = WriteBatch::default();
        // Series written by this batch, latest version by id.
        let mut new_series: HashMap<u64, Series> = HashMap::new();
        // The log entry: per point its series id, timestamp and encoding; `spans` remembers
        // where each encoding is, for the head.
        let mut log = Writer::with_capacity(16 + n * 16 + encs.buf.len());
        head::encode_log_entry(&mut log, n);
        let mut spans: Vec<(u64, i64, usize, usize)> = Vec::with_capacity(n);
        {
            let reg = i.registry.read().unwrap_or_else(PoisonError::into_inner);
            // Series first seen in this batch: ids and where their keys are, by hash.
            let mut local: HashMap<u64, Vec<(u64, Range<usize>)>> = HashMap::new();
            let mut next = reg.next_id;
            let heads = check.map(|_| i.heads.read().unwrap_or_else(PoisonError::into_inner));
            let mut start = 0;
            for ((gi, pi, g, p), (id, hash, key, end)) in points_of(groups).zip(found) {
                let id = id.unwrap_or_else(|| {
                    // Another request may have added the series since.
                    let k = &unknown[key.clone()];
                    let here = local.get(&hash).and_then(|ids| {
                        ids.iter()
                            .find(|(_, r)| unknown[r.clone()] == *k)
                            .map(|(id, _)| *id)
                    });
                    reg.find(hash, k).or(here).unwrap_or_else(|| {
                        next += 1;
                        local.entry(hash).or_default().push((next - 1, key));
                        next - 1
                    })
                });
                let enc = &encs.buf[start..end];
                let t = p.timestamp.0;
                let enc_hash = key_hash(enc);
                if let (Some(window), Some(heads)) = (check, &heads) {
                    let prior = taken.0.get(&id).or_else(|| newest.0.get(&id));
                    let at_t = || {
                        let live = heads.live.series.get(&id);
                        let cutting = heads.cutting.as_ref().and_then(|c| c.series.get(&id));
                        [live, cutting]
                            .into_iter()
                            .flatten()
                            .find_map(|s| s.last_at(t))
                            .map(|e| e == enc)
                    };
                    let prior = prior.map(|&(ts, h)| (ts, h == enc_hash));
                    match crate::checked::verdict(t, prior, at_t, window) {
                        crate::checked::Verdict::Take => {}
                        crate::checked::Verdict::Drop => {
                            start = end;
                            continue;
                        }
                        crate::checked::Verdict::Refuse(reason) => {
                            refused.push(RefusedPoint {
                                group: gi,
                                point: pi,
                                reason,
                            });
                            start = end;
                            continue;
                        }
                    }
                }
                taken.note(id, t, enc_hash);
                // The latest version of the series: written earlier in this batch, or known.
                let latest = new_series.get(&id).or_else(|| reg.by_id.get(&id));
                if !latest.is_some_and(|s| same_meta(s, p)) {
                    let s = series_of(g, p);
                    batch.put_cf(cf_series, id.to_be_bytes(), encode_series(&s));
                    new_series.insert(id, s);
                }
                log.varint(id);
                log.zigzag(t);
                log.varint(enc.len() as u64);
                let at = log.buf.len();
                log.raw(enc);
                spans.push((id, t, at, log.buf.len()));
                start = end;
            }
        }
        if spans.is_empty() {
            return Ok(refused);
        }
        if spans.len() < n {
            // Points were left out: the entry's count says how many there are.
            let mut head_len = Writer::default();
            head::encode_log_entry(&mut head_len, n);
            let mut fixed = Writer::with_capacity(log.buf.len());
            head::encode_log_entry(&mut fixed, spans.len());
            // The count is a varint: fewer points take no more bytes.
            let shift = head_len.buf.len() - fixed.buf.len();
            fixed.raw(&log.buf[head_len.buf.len()..]);
            for s in &mut spans {
                s.2 -= shift;
                s.3 -= shift;
            }
            log = fixed;
        }
        let seq = i.point_seq.fetch_add(1, Ordering::SeqCst);
        batch.put_cf(i.cf(CF_POINT_LOG)?, seq.to_be_bytes(), &log.buf);
        i.add_parts(
            &mut batch,
            "points",
            &i.point_parts,
            spans.iter().map(|&(_, ts, _, _)| ts),
        )?;
        i.write(batch)?;
        {
            let mut reg = i.registry.write().unwrap_or_else(PoisonError::into_inner);
            for (id, s) in new_series {
                reg.insert(id, s);
            }
        }
        for (id, (t, h)) in taken.0 {
            newest.note(id, t, h);
        }
        let big = {
            let mut heads = i.heads.write().unwrap_or_else(PoisonError::into_inner);
            heads.live.add(
                seq,
                spans.iter().map(|&(id, ts, a, b)| (id, ts, &log.buf[a..b])),
            );
            heads.live.bytes >= i.head_bytes
        };
        if big {
            i.notify();
        }
        Ok(refused)
    }

    /// Replays the point log into the head and restores the log sequence number.
    pub(crate) fn load_head(&self) -> Result<()> {
        let mut next = match self.meta_get_raw(META_INTERNAL, POINT_SEQ_KEY)? {
            Some(v) => <[u8; 8]>::try_from(v.as_slice())
                .map(u64::from_be_bytes)
                .map_err(|_| Error::Corrupt {
                    what: "point log sequence",
                    reason: format!("length {}", v.len()),
                })?,
            None => 0,
        };
        let mut newest = self
            .point_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut heads = self.heads.write().unwrap_or_else(PoisonError::into_inner);
        let mut entries = 0u64;
        for item in self
            .db
            .iterator_cf(self.cf(CF_POINT_LOG)?, IteratorMode::Start)
        {
            let (k, v) = item.map_err(rocks_err)?;
            let seq = <[u8; 8]>::try_from(k.as_ref())
                .map(u64::from_be_bytes)
                .map_err(|_| Error::Corrupt {
                    what: "point log key",
                    reason: format!("length {}", k.len()),
                })?;
            let mut points = Vec::new();
            head::decode_log_entry(&v, |id, ts, enc| points.push((id, ts, enc)))?;
            for &(id, ts, enc) in &points {
                newest.note(id, ts, key_hash(enc));
            }
            heads.live.add(seq, points.into_iter());
            next = next.max(seq + 1);
            entries += 1;
        }
        self.point_seq.store(next, Ordering::SeqCst);
        if entries > 0 {
            tracing::info!(entries, "replayed the metric point log");
        }
        Ok(())
    }

    /// Cuts the head into chunks when it is big or old enough (always with `force`); returns
    /// whether it did.
    pub(crate) fn cut_head(&self, force: bool) -> Result<bool> {
        let _cutting = self.cut_lock.lock().unwrap_or_else(PoisonError::into_inner);
        let head = {
            // No append is between its log write and its head insert while we hold this.
            let _appends = self
                .point_lock
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let mut heads = self.heads.write().unwrap_or_else(PoisonError::into_inner);
            let due = heads.live.bytes >= self.head_bytes
                || heads
                    .live
                    .since
                    .is_some_and(|t| t.elapsed() >= self.head_age);
            if heads.live.is_empty() || !(force || due) {
                return Ok(false);
            }
            let head = Arc::new(std::mem::take(&mut heads.live));
            heads.cutting = Some(head.clone());
            head
        };
        let result = self.write_chunks(&head);
        // On failure the points stay in the log and come back on reopen; keep them readable
        // until then by putting them back in front of the live head.
        let mut heads = self.heads.write().unwrap_or_else(PoisonError::into_inner);
        heads.cutting = None;
        if let Err(e) = result {
            if let Ok(h) = Arc::try_unwrap(head) {
                let live = std::mem::replace(&mut heads.live, h);
                merge_heads(&mut heads.live, live);
            }
            return Err(e);
        }
        self.metric_cuts
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(true)
    }

    fn write_chunks(&self, head: &Head) -> Result<()> {
        let Some((first, last)) = head.log_range else {
            return Ok(());
        };
        let cf = self.cf(CF_POINTS)?;
        let mut batch = WriteBatch::default();
        let mut points: Vec<(i64, &[u8])> = Vec::new();
        let mut chunks = 0usize;
        for (&id, series) in &head.series {
            points.clear();
            points.extend(series.sorted_unique().into_iter().map(|i| series.get(i)));
            for day_points in points.chunk_by(|a, b| day_of(a.0) == day_of(b.0)) {
                batch.put_cf(
                    cf,
                    chunk_key(day_of(day_points[0].0), id, last),
                    head::encode_chunk(day_points),
                );
                chunks += 1;
            }
        }
        batch.delete_range_cf(
            self.cf(CF_POINT_LOG)?,
            first.to_be_bytes(),
            (last + 1).to_be_bytes(),
        );
        batch.put_cf(
            self.cf(CF_META)?,
            meta_key(META_INTERNAL, POINT_SEQ_KEY),
            self.point_seq.load(Ordering::SeqCst).to_be_bytes(),
        );
        self.write(batch)?;
        tracing::debug!(
            chunks,
            bytes = head.bytes,
            "cut the metric head into chunks"
        );
        Ok(())
    }

    pub(crate) fn head_loop(self: Arc<Self>) {
        while !self.stop.load(Ordering::SeqCst) {
            self.sleep(Duration::from_secs(1));
            if let Err(e) = self.cut_head(false) {
                tracing::warn!(error = %e, "cutting metric chunks failed");
                self.sleep(Duration::from_secs(10));
            }
        }
    }

    pub(crate) fn delete_points_before(&self, cutoff: i64) -> Result<u64> {
        self.cut_head(true)?;
        let cutoff_day = day_of(cutoff);
        let _g = self
            .point_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut batch = WriteBatch::default();
        batch.delete_range_cf(self.cf(CF_POINTS)?, [0u8; 4], cutoff_day.to_be_bytes());
        let removed = self.drop_parts(&mut batch, "points", &self.point_parts, cutoff_day)?;
        self.write(batch)?;
        Ok(removed)
    }

    /// Points of series `id` in `[start, end)`, oldest first; at most `limit` (0: all).
    fn points_of(
        &self,
        days: &[u32],
        id: u64,
        start: i64,
        end: i64,
        limit: usize,
    ) -> Result<Vec<Point>> {
        // The head first: a cut that finishes meanwhile leaves its points in the chunks read
        // below (seen twice, deduplicated), never in neither.
        let mut newer: Vec<(i64, Point)> = Vec::new();
        {
            let heads = self.heads.read().unwrap_or_else(PoisonError::into_inner);
            let cutting = heads.cutting.as_deref();
            for h in cutting.into_iter().chain([&heads.live]) {
                if let Some(s) = h.series.get(&id) {
                    for (ts, enc) in s.points_in(start, end) {
                        newer.push((ts, decode_point(ts, enc)?));
                    }
                }
            }
        }
        let cf = self.cf(CF_POINTS)?;
        let mut all: Vec<(i64, Point)> = Vec::new();
        for &day in days {
            let prefix = chunk_key(day, id, 0);
            let mut ro = ReadOptions::default();
            ro.set_iterate_upper_bound(chunk_key(day, id + 1, 0).to_vec());
            let mut it = self.db.raw_iterator_cf_opt(cf, ro);
            it.seek(prefix);
            while it.valid() {
                if let Some(v) = it.value() {
                    let (lo, hi) = head::chunk_range(v)?;
                    if hi >= start && lo < end {
                        head::decode_chunk(v, |ts, enc| {
                            if ts >= start && ts < end {
                                all.push((ts, decode_point(ts, enc)?));
                            }
                            Ok(())
                        })?;
                    }
                }
                it.next();
            }
            it.status().map_err(rocks_err)?;
        }
        all.extend(newer);
        // Stable: of equal timestamps the last written stays last and wins.
        all.sort_by_key(|(ts, _)| *ts);
        let mut out: Vec<Point> = Vec::with_capacity(all.len());
        let mut last_ts = None;
        for (ts, p) in all {
            if last_ts == Some(ts) {
                if let Some(l) = out.last_mut() {
                    *l = p;
                }
            } else {
                out.push(p);
                last_ts = Some(ts);
            }
        }
        if limit != 0 {
            out.truncate(limit);
        }
        Ok(out)
    }

    /// Matching series with their points in range (at most `points_per_series` each, 0 for
    /// all), leaving out series without points in range.
    fn select(&self, q: &SeriesQuery, points_per_series: usize) -> Result<Vec<SeriesPoints>> {
        let (start, end) = (q.range.start_nanos(), q.range.end_nanos());
        if start >= end {
            return Ok(Vec::new());
        }
        let days = self.days_in(start, end);
        let matching = self
            .registry
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .matching(q);
        let mut out = Vec::new();
        for (id, series) in matching {
            let points = self.points_of(&days, id, start, end, points_per_series)?;
            if !points.is_empty() {
                out.push(SeriesPoints { series, points });
                if q.limit != 0 && out.len() >= q.limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    fn days_in(&self, start: i64, end: i64) -> Vec<u32> {
        let (lo, hi) = (day_of(start), day_of(end.saturating_sub(1)));
        self.point_parts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .range(lo..=hi)
            .map(|(d, _)| *d)
            .collect()
    }
}

/// Appends the points of `newer` after those of `older` (used to undo a failed cut).
fn merge_heads(older: &mut Head, newer: Head) {
    for (id, s) in newer.series {
        let dst = older.series.entry(id).or_default();
        for i in 0..s.len() {
            let (ts, enc) = s.get(i);
            dst.push(ts, enc);
        }
    }
    older.bytes += newer.bytes;
    if let Some((f, l)) = newer.log_range {
        older.log_range = Some(match older.log_range {
            Some((f0, l0)) => (f0.min(f), l0.max(l)),
            None => (f, l),
        });
    }
    older.since = older.since.or(newer.since);
}

impl MetricStore for RocksStore {
    fn append_points(&self, points: Vec<MetricPoint>) -> Result<()> {
        self.append_point_groups(vec![PointGroup::of_points(points)])
    }

    fn append_point_groups(&self, groups: Vec<PointGroup>) -> Result<()> {
        self.inner.append_groups(&groups, None).map(drop)
    }

    fn append_point_groups_checked(
        &self,
        groups: &[PointGroup],
        window_ns: i64,
    ) -> Result<Vec<RefusedPoint>> {
        self.inner.append_groups(groups, Some(window_ns))
    }

    fn series(&self, q: &SeriesQuery) -> Result<Vec<Series>> {
        // A series qualifies with its first point in range; no need to read the rest.
        Ok(self
            .inner
            .select(q, 1)?
            .into_iter()
            .map(|sp| sp.series)
            .collect())
    }

    fn query_points(&self, q: &SeriesQuery) -> Result<Vec<SeriesPoints>> {
        self.inner.select(q, 0)
    }

    fn metric_names(&self) -> Result<Vec<String>> {
        let reg = self
            .inner
            .registry
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let mut names: Vec<String> = reg.by_key.keys().map(|(n, _)| n.clone()).collect();
        names.dedup();
        Ok(names)
    }
}
