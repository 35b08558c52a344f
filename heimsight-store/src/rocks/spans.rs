//! Spans on RocksDB: spans by day and trace id, trace summaries by start time, and the span
//! index (by day, service and start time, holding the fields most queries read).

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError};

use heimsight_core::{
    SharedAttributes, Span, SpanEvent, SpanId, SpanKind, SpanLink, Status, StatusCode, Timestamp,
    TraceId,
};
use rocksdb::{Direction, IteratorMode, ReadOptions, Snapshot, WriteBatch};

use super::codec::{Reader, Writer, ts_from_key, ts_key};
use super::{
    CF_META, CF_SPAN_INDEX, CF_SPANS, CF_TRACE_STARTS, CF_TRACES, DAY_NS, Inner, META_INTERNAL,
    RocksStore, day_of, meta_key, rocks_err,
};
use crate::error::{Error, Result};
use crate::hash::FastHash;
use crate::query::{Interner, SpanRow, SpanScan, TraceQuery, TraceSummary};
use crate::traits::SpanStore;

/// Version 1 holds the resource attributes in every span; version 2 refers to them by id
/// (see [`ResourceRef`]).
const SPAN_VERSION: u8 = 2;

/// Resources kept in memory by id before the map is emptied (they are read back on demand):
/// bounds the memory of an estate whose pods churn.
const MAX_CACHED_RESOURCES: usize = 10_000;

/// The id of a span resource: the 128-bit xxh3 of its encoding. Spans of version 2 hold it in
/// place of the resource's attributes, which are stored once under [`resource_key`].
type ResourceRef = [u8; 16];

/// Where a span resource is stored (default column family).
fn resource_key(id: &ResourceRef) -> Vec<u8> {
    let mut k = b"heimsight.span_resource.".to_vec();
    k.extend_from_slice(id);
    k
}
/// Span names kept per trace summary (for operation searches).
const MAX_OPERATIONS: usize = 256;

fn span_key(day: u32, t: &TraceId, s: &SpanId) -> [u8; 28] {
    let mut k = [0u8; 28];
    k[..4].copy_from_slice(&day.to_be_bytes());
    k[4..20].copy_from_slice(t.as_bytes());
    k[20..].copy_from_slice(s.as_bytes());
    k
}

fn trace_key(day: u32, start: i64, t: &TraceId) -> [u8; 28] {
    let mut k = [0u8; 28];
    k[..4].copy_from_slice(&day.to_be_bytes());
    k[4..12].copy_from_slice(&ts_key(start));
    k[12..].copy_from_slice(t.as_bytes());
    k
}

/// Meta key (internal namespace) set once every stored span is in the span index.
const INDEX_BUILT_KEY: &str = "span_index_built";

/// The span index key prefix of a day and service: day · service (length-prefixed).
fn index_prefix(day: u32, service: &str) -> Vec<u8> {
    let mut w = Writer::with_capacity(4 + service.len() + 2 + 32);
    w.raw(&day.to_be_bytes());
    w.str(service);
    w.buf
}

/// The span index key: day · service · start ts · trace id · span id.
fn index_key(s: &Span) -> Vec<u8> {
    let mut k = index_prefix(day_of(s.start_time.0), &s.service);
    k.extend_from_slice(&ts_key(s.start_time.0));
    k.extend_from_slice(s.trace_id.as_bytes());
    k.extend_from_slice(s.span_id.as_bytes());
    k
}

/// The span index value: parent id, kind, status code, duration, name.
fn index_value(s: &Span) -> Vec<u8> {
    let mut w = Writer::with_capacity(s.name.len() + 24);
    match &s.parent_span_id {
        Some(p) => {
            w.u8(1);
            w.raw(p.as_bytes());
        }
        None => w.u8(0),
    }
    w.u8(s.kind as u8);
    w.u8(s.status.code as u8);
    w.zigzag(s.end_time.0.wrapping_sub(s.start_time.0));
    w.str(&s.name);
    w.buf
}

/// The fields of a span index entry, borrowed from it (service and name as unchecked bytes:
/// they are checked to be UTF-8 when turned into text).
struct IndexEntry<'a> {
    service: &'a [u8],
    name: &'a [u8],
    start: i64,
    end: i64,
    trace_id: TraceId,
    span_id: SpanId,
    parent_span_id: Option<SpanId>,
    kind: SpanKind,
    status: StatusCode,
}

fn not_utf8(_: std::str::Utf8Error) -> crate::Error {
    crate::Error::Corrupt {
        what: "span index entry",
        reason: "invalid UTF-8".into(),
    }
}

fn utf8(b: &[u8]) -> Result<&str> {
    std::str::from_utf8(b).map_err(not_utf8)
}

impl<'a> IndexEntry<'a> {
    fn decode(key: &'a [u8], value: &'a [u8]) -> Result<Self> {
        let mut k = Reader::new(key, "span index key");
        k.take(4)?;
        let service = k.bytes()?;
        let start = ts_from_key(k.take(8)?).ok_or_else(|| k.corrupt("start time"))?;
        let trace_id = TraceId::from_slice(k.take(16)?).map_err(|e| k.corrupt(e))?;
        let span_id = SpanId::from_slice(k.take(8)?).map_err(|e| k.corrupt(e))?;
        let mut r = Reader::new(value, "span index value");
        let parent_span_id = match r.u8()? {
            0 => None,
            _ => Some(SpanId::from_slice(r.take(8)?).map_err(|e| r.corrupt(e))?),
        };
        let kind = kind_from(r.u8()?);
        let status = StatusCode::from_number(u64::from(r.u8()?)).unwrap_or_default();
        let end = start.wrapping_add(r.zigzag()?);
        let name = r.bytes()?;
        Ok(IndexEntry {
            service,
            name,
            start,
            end,
            trace_id,
            span_id,
            parent_span_id,
            kind,
            status,
        })
    }

    /// [`SpanScan::matches_fields`] on the entry's bytes.
    fn matches(&self, scan: &SpanScan) -> bool {
        scan.range.contains(Timestamp(self.start))
            && (scan.services.is_empty()
                || scan.services.iter().any(|s| s.as_bytes() == self.service))
            && (scan.names.is_empty() || scan.names.iter().any(|n| n.as_bytes() == self.name))
            && (scan.trace_ids.is_empty() || scan.trace_ids.contains(&self.trace_id))
    }

    /// A span with the indexed fields (the others empty).
    fn span(&self) -> Result<Span> {
        let mut s = Span::new(
            self.trace_id,
            self.span_id,
            utf8(self.name)?,
            utf8(self.service)?,
            Timestamp(self.start),
            Timestamp(self.end),
        );
        s.parent_span_id = self.parent_span_id;
        s.kind = self.kind;
        s.status.code = self.status;
        Ok(s)
    }

    fn row(&self, strings: &mut Interner) -> Result<SpanRow> {
        Ok(SpanRow {
            trace_id: self.trace_id,
            span_id: self.span_id,
            parent_span_id: self.parent_span_id,
            service: strings.get_utf8(self.service).map_err(not_utf8)?,
            name: strings.get_utf8(self.name).map_err(not_utf8)?,
            kind: self.kind,
            status: self.status,
            start_time: Timestamp(self.start),
            end_time: Timestamp(self.end),
        })
    }
}

fn kind_from(n: u8) -> SpanKind {
    SpanKind::from_number(u64::from(n)).unwrap_or_default()
}

/// Encodes a span whose resource is stored under `resource` (version 2).
pub(crate) fn encode_span(s: &Span, resource: &ResourceRef) -> Vec<u8> {
    encode_span_version(s, SPAN_VERSION, Some(resource))
}

/// Encodes a span in a version: 1 with its resource inline (only tests write it, to check it
/// is still read), 2 with `resource`.
fn encode_span_version(s: &Span, version: u8, resource: Option<&ResourceRef>) -> Vec<u8> {
    let mut w = Writer::with_capacity(256);
    w.u8(version);
    w.raw(s.trace_id.as_bytes());
    w.raw(s.span_id.as_bytes());
    match &s.parent_span_id {
        Some(p) => {
            w.u8(1);
            w.raw(p.as_bytes());
        }
        None => w.u8(0),
    }
    w.str(&s.name);
    w.u8(s.kind as u8);
    w.str(&s.service);
    w.zigzag(s.start_time.0);
    w.zigzag(s.end_time.0.wrapping_sub(s.start_time.0));
    w.u8(s.status.code as u8);
    w.str(&s.status.message);
    w.attributes(&s.attributes);
    match resource {
        Some(id) if version >= 2 => w.raw(id),
        _ => w.attributes(&s.resource),
    }
    w.scope(&s.scope);
    w.varint(s.events.len() as u64);
    for e in &s.events {
        w.zigzag(e.timestamp.0.wrapping_sub(s.start_time.0));
        w.str(&e.name);
        w.attributes(&e.attributes);
        w.varint(u64::from(e.dropped_attributes_count));
    }
    w.varint(s.links.len() as u64);
    for l in &s.links {
        w.raw(l.trace_id.as_bytes());
        w.raw(l.span_id.as_bytes());
        w.str(&l.trace_state);
        w.attributes(&l.attributes);
        w.varint(u64::from(l.dropped_attributes_count));
        w.varint(u64::from(l.flags));
    }
    w.str(&s.trace_state);
    for n in [
        s.flags,
        s.dropped_attributes_count,
        s.dropped_events_count,
        s.dropped_links_count,
    ] {
        w.varint(u64::from(n));
    }
    w.buf
}

fn u32_of(r: &mut Reader<'_>) -> Result<u32> {
    let v = r.varint()?;
    u32::try_from(v).map_err(|_| r.corrupt("value out of range"))
}

/// Decodes a span; `resource` finds the resource of a version 2 span by its id.
fn decode_span(
    b: &[u8],
    resource: &dyn Fn(&ResourceRef) -> Result<SharedAttributes>,
) -> Result<Span> {
    let mut r = Reader::new(b, "span");
    let v = r.u8()?;
    if v == 0 || v > SPAN_VERSION {
        return Err(r.corrupt(format!("unknown span version {v}")));
    }
    let trace_id = TraceId::from_slice(r.take(16)?).map_err(|e| r.corrupt(e))?;
    let span_id = SpanId::from_slice(r.take(8)?).map_err(|e| r.corrupt(e))?;
    let parent_span_id = match r.u8()? {
        0 => None,
        _ => Some(SpanId::from_slice(r.take(8)?).map_err(|e| r.corrupt(e))?),
    };
    let name = r.string()?;
    let kind = kind_from(r.u8()?);
    let service = r.string()?;
    let start = r.zigzag()?;
    let end = start.wrapping_add(r.zigzag()?);
    let code = StatusCode::from_number(u64::from(r.u8()?)).unwrap_or_default();
    let message = r.string()?;
    let attributes = r.attributes()?;
    let resource = if v >= 2 {
        let id: ResourceRef = r
            .take(16)?
            .try_into()
            .map_err(|_| r.corrupt("resource id"))?;
        resource(&id)?
    } else {
        SharedAttributes::new(r.attributes()?)
    };
    let scope = r.scope()?;
    let n = r.len()?;
    let mut events = Vec::with_capacity(n.min(1024));
    for _ in 0..n {
        events.push(SpanEvent {
            timestamp: Timestamp(start.wrapping_add(r.zigzag()?)),
            name: r.string()?,
            attributes: r.attributes()?,
            dropped_attributes_count: u32_of(&mut r)?,
        });
    }
    let n = r.len()?;
    let mut links = Vec::with_capacity(n.min(1024));
    for _ in 0..n {
        links.push(SpanLink {
            trace_id: TraceId::from_slice(r.take(16)?).map_err(|e| r.corrupt(e))?,
            span_id: SpanId::from_slice(r.take(8)?).map_err(|e| r.corrupt(e))?,
            trace_state: r.string()?,
            attributes: r.attributes()?,
            dropped_attributes_count: u32_of(&mut r)?,
            flags: u32_of(&mut r)?,
        });
    }
    let trace_state = r.string()?;
    Ok(Span {
        trace_id,
        span_id,
        parent_span_id,
        name,
        kind,
        service,
        start_time: Timestamp(start),
        end_time: Timestamp(end),
        status: Status { code, message },
        attributes,
        resource,
        scope: scope.into(),
        events,
        links,
        trace_state,
        flags: u32_of(&mut r)?,
        dropped_attributes_count: u32_of(&mut r)?,
        dropped_events_count: u32_of(&mut r)?,
        dropped_links_count: u32_of(&mut r)?,
    })
}

/// The running summary of a trace, updated as its spans arrive.
#[derive(Debug, Clone, PartialEq)]
struct TraceAgg {
    start: i64,
    end: i64,
    spans: u64,
    /// The head: the earliest root span, else the earliest span.
    head_is_root: bool,
    head_start: i64,
    head_service: String,
    head_name: String,
    services: BTreeSet<String>,
    operations: BTreeSet<String>,
    error: bool,
}

impl TraceAgg {
    fn new(s: &Span) -> Self {
        TraceAgg {
            start: s.start_time.0,
            end: s.end_time.0,
            spans: 0,
            head_is_root: s.is_root(),
            head_start: s.start_time.0,
            head_service: s.service.clone(),
            head_name: s.name.clone(),
            services: BTreeSet::new(),
            operations: BTreeSet::new(),
            error: false,
        }
    }

    fn add(&mut self, s: &Span) {
        self.start = self.start.min(s.start_time.0);
        self.end = self.end.max(s.end_time.0);
        self.spans += 1;
        let better = match (self.head_is_root, s.is_root()) {
            (false, true) => true,
            (true, false) => false,
            _ => s.start_time.0 < self.head_start,
        };
        if better {
            self.head_is_root = s.is_root();
            self.head_start = s.start_time.0;
            self.head_service = s.service.clone();
            self.head_name = s.name.clone();
        }
        if !self.services.contains(&s.service) {
            self.services.insert(s.service.clone());
        }
        if self.operations.len() < MAX_OPERATIONS && !self.operations.contains(&s.name) {
            self.operations.insert(s.name.clone());
        }
        self.error |= s.status.code == StatusCode::Error;
    }

    fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(128);
        w.u8(SPAN_VERSION);
        w.zigzag(self.start);
        w.zigzag(self.end);
        w.varint(self.spans);
        w.u8(u8::from(self.head_is_root));
        w.zigzag(self.head_start);
        w.str(&self.head_service);
        w.str(&self.head_name);
        for set in [&self.services, &self.operations] {
            w.varint(set.len() as u64);
            for s in set {
                w.str(s);
            }
        }
        w.u8(u8::from(self.error));
        w.buf
    }

    fn decode(b: &[u8]) -> Result<Self> {
        let mut r = Reader::new(b, "trace summary");
        let v = r.u8()?;
        if v != SPAN_VERSION {
            return Err(r.corrupt(format!("unknown trace summary version {v}")));
        }
        let start = r.zigzag()?;
        let end = r.zigzag()?;
        let spans = r.varint()?;
        let head_is_root = r.u8()? != 0;
        let head_start = r.zigzag()?;
        let head_service = r.string()?;
        let head_name = r.string()?;
        let mut sets = [BTreeSet::new(), BTreeSet::new()];
        for set in &mut sets {
            let n = r.len()?;
            for _ in 0..n {
                set.insert(r.string()?);
            }
        }
        let [services, operations] = sets;
        let error = r.u8()? != 0;
        Ok(TraceAgg {
            start,
            end,
            spans,
            head_is_root,
            head_start,
            head_service,
            head_name,
            services,
            operations,
            error,
        })
    }

    fn summary(&self, trace_id: TraceId) -> TraceSummary {
        TraceSummary {
            trace_id,
            root_service: self.head_service.clone(),
            root_name: self.head_name.clone(),
            start_time: Timestamp(self.start),
            duration_ns: self.end.saturating_sub(self.start),
            span_count: self.spans,
            services: self.services.iter().cloned().collect(),
            operations: self.operations.iter().cloned().collect(),
            error: self.error,
        }
    }
}

impl Inner {
    /// Decodes a stored span, finding its resource by id (see [`ResourceRef`]).
    fn decode_span(&self, b: &[u8]) -> Result<Span> {
        decode_span(b, &|id| self.span_resource(id))
    }

    /// The span resource stored under `id`: from memory, else read (and kept).
    fn span_resource(&self, id: &ResourceRef) -> Result<SharedAttributes> {
        if let Some(r) = self
            .span_resources
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
        {
            return Ok(r.clone());
        }
        let raw = self
            .db
            .get_pinned(resource_key(id))
            .map_err(rocks_err)?
            .ok_or_else(|| Error::Corrupt {
                what: "span",
                reason: "the span's resource is not stored".into(),
            })?;
        let r = SharedAttributes::new(Reader::new(&raw, "span resource").attributes()?);
        self.remember_resources(vec![(*id, r.clone())]);
        Ok(r)
    }

    /// Keeps stored span resources in memory (the map is emptied when it grows past
    /// [`MAX_CACHED_RESOURCES`]: what it held is read back when needed).
    fn remember_resources(&self, items: Vec<(ResourceRef, SharedAttributes)>) {
        if items.is_empty() {
            return;
        }
        let mut m = self
            .span_resources
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if m.len() + items.len() > MAX_CACHED_RESOURCES {
            m.clear();
        }
        m.extend(items);
    }

    /// Adds every stored span to the span index, once (stores written before the index
    /// existed); later appends keep it complete.
    pub(crate) fn build_span_index(&self) -> Result<()> {
        if self.meta_get_raw(META_INTERNAL, INDEX_BUILT_KEY)?.is_some() {
            return Ok(());
        }
        let _g = self
            .span_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let cf_spans = self.cf(CF_SPANS)?;
        let cf_index = self.cf(CF_SPAN_INDEX)?;
        let mut batch = WriteBatch::default();
        let mut indexed = 0u64;
        for item in self.db.iterator_cf(cf_spans, IteratorMode::Start) {
            let (_, v) = item.map_err(rocks_err)?;
            let s = self.decode_span(&v)?;
            batch.put_cf(cf_index, index_key(&s), index_value(&s));
            indexed += 1;
            if batch.len() >= 10_000 {
                self.write(std::mem::take(&mut batch))?;
            }
        }
        batch.put_cf(
            self.cf(CF_META)?,
            meta_key(META_INTERNAL, INDEX_BUILT_KEY),
            [1u8],
        );
        self.write(batch)?;
        if indexed > 0 {
            tracing::info!(spans = indexed, "built the span index");
        }
        Ok(())
    }

    /// Calls `f(day, entry)` for the span index entries matching `scan` in `[start, end)`:
    /// per day, the services' key ranges (or the whole day when any service will do), under
    /// one snapshot. Stops when `f` returns false.
    fn for_each_index_entry(
        &self,
        scan: &SpanScan,
        snapshot: &Snapshot<'_>,
        f: &mut dyn FnMut(u32, &IndexEntry<'_>) -> Result<bool>,
    ) -> Result<()> {
        let (start, end) = (scan.range.start_nanos(), scan.range.end_nanos());
        if start >= end {
            return Ok(());
        }
        let cf_index = self.cf(CF_SPAN_INDEX)?;
        let days: Vec<u32> = self
            .span_parts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .range(day_of(start)..=day_of(end.saturating_sub(1)))
            .map(|(d, _)| *d)
            .collect();
        for day in days {
            let day_start = i64::from(day).saturating_mul(DAY_NS);
            // Day 0 also holds every earlier (negative) time.
            let lo = if day == 0 {
                start
            } else {
                start.max(day_start)
            };
            let ranges: Vec<(Vec<u8>, Vec<u8>)> = if scan.services.is_empty() {
                vec![(day.to_be_bytes().to_vec(), (day + 1).to_be_bytes().to_vec())]
            } else {
                scan.services
                    .iter()
                    .map(|s| {
                        let prefix = index_prefix(day, s);
                        let mut lower = prefix.clone();
                        lower.extend_from_slice(&ts_key(lo));
                        let mut upper = prefix;
                        upper.extend_from_slice(&ts_key(end));
                        (lower, upper)
                    })
                    .collect()
            };
            for (lower, upper) in ranges {
                let mut ro = ReadOptions::default();
                ro.set_snapshot(snapshot);
                ro.set_iterate_upper_bound(upper);
                let mut it = self.db.raw_iterator_cf_opt(cf_index, ro);
                it.seek(&lower);
                while it.valid() {
                    if let (Some(k), Some(v)) = (it.key(), it.value()) {
                        let e = IndexEntry::decode(k, v)?;
                        if e.matches(scan) && !f(day, &e)? {
                            return Ok(());
                        }
                    }
                    it.next();
                }
                it.status().map_err(rocks_err)?;
            }
        }
        Ok(())
    }

    /// A span scan through the span index; reads whole spans only when the scan needs more
    /// than the index holds.
    fn scan_span_index(
        &self,
        scan: &SpanScan,
        visit: &mut dyn FnMut(Vec<Span>) -> bool,
    ) -> Result<()> {
        let cf_spans = self.cf(CF_SPANS)?;
        let snapshot = self.db.snapshot();
        let mut batch: Vec<Span> = Vec::with_capacity(SCAN_BATCH);
        let mut keys: Vec<[u8; 28]> = Vec::new();
        // Sends the batch (reading whole spans first when needed); false when told to stop.
        let mut flush = |batch: &mut Vec<Span>, keys: &mut Vec<[u8; 28]>| -> Result<bool> {
            if !keys.is_empty() {
                let mut ro = ReadOptions::default();
                ro.set_snapshot(&snapshot);
                let got = self
                    .db
                    .batched_multi_get_cf_opt(cf_spans, keys.iter(), false, &ro);
                for v in got {
                    if let Some(v) = v.map_err(rocks_err)? {
                        let s = self.decode_span(&v)?;
                        if scan.matches(&s) {
                            batch.push(s);
                        }
                    }
                }
                keys.clear();
            }
            Ok(batch.is_empty() || visit(std::mem::take(batch)))
        };
        let mut stopped = false;
        self.for_each_index_entry(scan, &snapshot, &mut |day, e| {
            // Whole spans are read by key at the flush; the index entry is the answer only
            // for index-only scans.
            if scan.index_only {
                batch.push(e.span()?);
            } else {
                keys.push(span_key(day, &e.trace_id, &e.span_id));
            }
            if batch.len() + keys.len() >= SCAN_BATCH && !flush(&mut batch, &mut keys)? {
                stopped = true;
                return Ok(false);
            }
            Ok(true)
        })?;
        if !stopped {
            flush(&mut batch, &mut keys)?;
        }
        Ok(())
    }

    pub(crate) fn delete_spans_before(&self, cutoff: i64) -> Result<u64> {
        let cutoff_day = day_of(cutoff);
        let _g = self
            .span_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut batch = WriteBatch::default();
        let (from, to) = ([0u8; 4], cutoff_day.to_be_bytes());
        batch.delete_range_cf(self.cf(CF_SPANS)?, from, to);
        batch.delete_range_cf(self.cf(CF_TRACES)?, from, to);
        batch.delete_range_cf(self.cf(CF_SPAN_INDEX)?, from, to);
        let removed = self.drop_parts(&mut batch, "spans", &self.span_parts, cutoff_day)?;
        self.write(batch)?;
        Ok(removed)
    }
}

impl SpanStore for RocksStore {
    fn append_spans(&self, spans: Vec<Span>) -> Result<()> {
        if spans.is_empty() {
            return Ok(());
        }
        let i = &self.inner;
        let cf_spans = i.cf(CF_SPANS)?;
        let cf_traces = i.cf(CF_TRACES)?;
        let cf_starts = i.cf(CF_TRACE_STARTS)?;
        let _g = i.span_lock.lock().unwrap_or_else(PoisonError::into_inner);
        let mut by_trace: HashMap<TraceId, Vec<&Span>> = HashMap::new();
        for s in &spans {
            by_trace.entry(s.trace_id).or_default().push(s);
        }
        // Looking up the traces already stored must not fill the block cache: that would grow
        // the memory of a server that only ingests until the cache is full, and push out the
        // blocks queries read. Recent traces are in the memtables anyway.
        let mut ro = ReadOptions::default();
        ro.fill_cache(false);
        let mut batch = WriteBatch::default();
        for (tid, group) in &by_trace {
            let old = match i
                .db
                .get_cf_opt(cf_starts, tid.as_bytes(), &ro)
                .map_err(rocks_err)?
            {
                Some(loc) if loc.len() == 12 => {
                    let day = u32::from_be_bytes([loc[0], loc[1], loc[2], loc[3]]);
                    let start = ts_from_key(&loc[4..]).unwrap_or(0);
                    let key = trace_key(day, start, tid);
                    i.db.get_cf_opt(cf_traces, key, &ro)
                        .map_err(rocks_err)?
                        .map(|v| TraceAgg::decode(&v).map(|a| (key, a)))
                        .transpose()?
                }
                _ => None,
            };
            let mut agg = match &old {
                Some((_, a)) => a.clone(),
                None => TraceAgg::new(group[0]),
            };
            for s in group {
                agg.add(s);
            }
            let key = trace_key(day_of(agg.start), agg.start, tid);
            if let Some((old_key, _)) = &old
                && *old_key != key
            {
                batch.delete_cf(cf_traces, old_key);
            }
            batch.put_cf(cf_traces, key, agg.encode());
            batch.put_cf(cf_starts, tid.as_bytes(), &key[..12]);
        }
        let cf_index = i.cf(CF_SPAN_INDEX)?;
        // Each resource is stored once: spans refer to it by id. The ids of the batch's
        // resources by the address of the shared map (spans of one request share it), and the
        // resources this batch stores, which join the known ones once it is written.
        let mut ids: HashMap<usize, ResourceRef, FastHash> = HashMap::default();
        let mut stored: Vec<(ResourceRef, SharedAttributes)> = Vec::new();
        {
            let known = i
                .span_resources
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            let mut w = Writer::default();
            for s in &spans {
                let ptr = Arc::as_ptr(&s.resource) as usize;
                let id = match ids.get(&ptr) {
                    Some(id) => *id,
                    None => {
                        w.buf.clear();
                        w.attributes(&s.resource);
                        let id = xxhash_rust::xxh3::xxh3_128(&w.buf).to_be_bytes();
                        if !known.contains_key(&id) && !stored.iter().any(|(k, _)| *k == id) {
                            batch.put(resource_key(&id), &w.buf);
                            stored.push((id, s.resource.clone()));
                        }
                        ids.insert(ptr, id);
                        id
                    }
                };
                batch.put_cf(
                    cf_spans,
                    span_key(day_of(s.start_time.0), &s.trace_id, &s.span_id),
                    encode_span(s, &id),
                );
                batch.put_cf(cf_index, index_key(s), index_value(s));
            }
        }
        i.add_parts(
            &mut batch,
            "spans",
            &i.span_parts,
            spans.iter().map(|s| s.start_time.0),
        )?;
        i.write(batch)?;
        i.remember_resources(stored);
        Ok(())
    }

    fn get_trace(&self, trace_id: &TraceId) -> Result<Vec<Span>> {
        let i = &self.inner;
        let cf = i.cf(CF_SPANS)?;
        let days: Vec<u32> = i
            .span_parts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .copied()
            .collect();
        let mut out = Vec::new();
        for day in days {
            let mut prefix = [0u8; 20];
            prefix[..4].copy_from_slice(&day.to_be_bytes());
            prefix[4..].copy_from_slice(trace_id.as_bytes());
            let mut ro = ReadOptions::default();
            ro.set_prefix_same_as_start(true);
            let iter =
                i.db.iterator_cf_opt(cf, ro, IteratorMode::From(&prefix, Direction::Forward));
            for item in iter {
                let (k, v) = item.map_err(rocks_err)?;
                if !k.starts_with(&prefix) {
                    break;
                }
                out.push(i.decode_span(&v)?);
            }
        }
        out.sort_by_key(|s| (s.start_time, s.span_id));
        Ok(out)
    }

    fn find_traces(&self, q: &TraceQuery) -> Result<Vec<TraceSummary>> {
        let i = &self.inner;
        let cf = i.cf(CF_TRACES)?;
        let (start, end) = (q.range.start_nanos(), q.range.end_nanos());
        let mut out = Vec::new();
        if start >= end || q.limit == 0 {
            return Ok(out);
        }
        let upper = trace_key(day_of(end), end, &TraceId([0; 16]));
        let lower = trace_key(day_of(start), start, &TraceId([0; 16]));
        let mut ro = ReadOptions::default();
        ro.set_iterate_upper_bound(upper.to_vec());
        ro.set_iterate_lower_bound(lower.to_vec());
        let mut it = i.db.raw_iterator_cf_opt(cf, ro);
        it.seek_to_last();
        while it.valid() {
            if let (Some(k), Some(v)) = (it.key(), it.value())
                && k.len() == 28
            {
                let tid = TraceId::from_slice(&k[12..]).map_err(|e| crate::Error::Corrupt {
                    what: "trace key",
                    reason: e,
                })?;
                let summary = TraceAgg::decode(v)?.summary(tid);
                if q.matches(&summary) {
                    out.push(summary);
                    if out.len() >= q.limit {
                        break;
                    }
                }
            }
            it.prev();
        }
        it.status().map_err(rocks_err)?;
        Ok(out)
    }

    fn scan_spans(&self, scan: &SpanScan, visit: &mut dyn FnMut(Vec<Span>) -> bool) -> Result<()> {
        if !scan.trace_ids.is_empty() {
            let mut out = Vec::new();
            for t in &scan.trace_ids {
                out.extend(self.get_trace(t)?.into_iter().filter(|s| scan.matches(s)));
            }
            if !out.is_empty() {
                visit(out);
            }
            return Ok(());
        }
        let i = &self.inner;
        let (start, end) = (scan.range.start_nanos(), scan.range.end_nanos());
        if start >= end {
            return Ok(());
        }
        if scan.index_only || !scan.services.is_empty() {
            return i.scan_span_index(scan, visit);
        }
        let cf = i.cf(CF_SPANS)?;
        let days: Vec<u32> = i
            .span_parts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .range(day_of(start)..=day_of(end.saturating_sub(1)))
            .map(|(d, _)| *d)
            .collect();
        let snapshot = i.db.snapshot();
        for day in days {
            let mut ro = ReadOptions::default();
            ro.set_snapshot(&snapshot);
            ro.set_total_order_seek(true);
            ro.set_iterate_upper_bound((day + 1).to_be_bytes().to_vec());
            let mut it = i.db.raw_iterator_cf_opt(cf, ro);
            it.seek(day.to_be_bytes());
            let mut batch = Vec::with_capacity(SCAN_BATCH);
            while it.valid() {
                if let Some(v) = it.value() {
                    let s = i.decode_span(v)?;
                    if scan.matches(&s) {
                        batch.push(s);
                        if batch.len() >= SCAN_BATCH && !visit(std::mem::take(&mut batch)) {
                            return Ok(());
                        }
                    }
                }
                it.next();
            }
            it.status().map_err(rocks_err)?;
            if !batch.is_empty() && !visit(batch) {
                return Ok(());
            }
        }
        Ok(())
    }

    fn scan_span_rows(
        &self,
        scan: &SpanScan,
        visit: &mut dyn FnMut(Vec<SpanRow>) -> bool,
    ) -> Result<()> {
        if !scan.trace_ids.is_empty() {
            // Traces by id: whole spans are as cheap as the index.
            let mut interner = Interner::default();
            return self.scan_spans(scan, &mut |batch| {
                visit(batch.iter().map(|s| interner.row(s)).collect())
            });
        }
        let i = &self.inner;
        let snapshot = i.db.snapshot();
        // The later half of the time range is read on a second thread (reading the index is
        // most of the work), its batches handed over between the first half's batches.
        let Some((early, late)) = i.split_span_scan(scan) else {
            return i.span_rows(scan, &snapshot, &mut |b| Ok(visit(b)));
        };
        let stop = AtomicBool::new(false);
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<SpanRow>>(4);
        std::thread::scope(|scope| {
            let helper = scope.spawn(|| {
                let tx = tx;
                i.span_rows(&late, &snapshot, &mut |b| {
                    Ok(!stop.load(Ordering::Relaxed) && tx.send(b).is_ok())
                })
            });
            let mut go_on = true;
            let mut pass = |b: Vec<SpanRow>| {
                go_on = go_on && visit(b);
                if !go_on {
                    stop.store(true, Ordering::Relaxed);
                }
                go_on
            };
            let early_result = i.span_rows(&early, &snapshot, &mut |b| {
                if !pass(b) {
                    return Ok(false);
                }
                while let Ok(other) = rx.try_recv() {
                    if !pass(other) {
                        return Ok(false);
                    }
                }
                Ok(true)
            });
            if early_result.is_err() {
                stop.store(true, Ordering::Relaxed);
            }
            // The rest of the later half (the helper ends when told to stop or when done).
            for b in rx.iter() {
                if !pass(b) {
                    break;
                }
            }
            drop(rx);
            let late_result = helper
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            early_result.and(late_result)
        })
    }
}

impl Inner {
    /// Two scans covering `scan`'s time range (clipped to the stored spans) in halves, or
    /// `None` when it is too small to split.
    fn split_span_scan(&self, scan: &SpanScan) -> Option<(SpanScan, SpanScan)> {
        let parts = self
            .span_parts
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let lo = parts.values().map(|p| p.min_ts).min()?;
        let hi = parts.values().map(|p| p.max_ts).max()?.saturating_add(1);
        let start = scan.range.start_nanos().max(lo);
        let end = scan.range.end_nanos().min(hi);
        if end.saturating_sub(start) < 2 {
            return None;
        }
        let mid = start.checked_add(end.checked_sub(start)? / 2)?;
        let half = |a: i64, b: i64| SpanScan {
            range: crate::query::TimeRange::new(Timestamp(a), Timestamp(b)),
            ..scan.clone()
        };
        Some((half(start, mid), half(mid, end)))
    }

    /// The rows of a span index scan, in batches; stops when `visit` returns false.
    fn span_rows(
        &self,
        scan: &SpanScan,
        snapshot: &Snapshot<'_>,
        visit: &mut dyn FnMut(Vec<SpanRow>) -> Result<bool>,
    ) -> Result<()> {
        let mut strings = Interner::default();
        let mut batch: Vec<SpanRow> = Vec::with_capacity(SCAN_BATCH);
        let mut stopped = false;
        self.for_each_index_entry(scan, snapshot, &mut |_, e| {
            batch.push(e.row(&mut strings)?);
            if batch.len() >= SCAN_BATCH && !visit(std::mem::take(&mut batch))? {
                stopped = true;
                return Ok(false);
            }
            Ok(true)
        })?;
        if !stopped && !batch.is_empty() {
            visit(batch)?;
        }
        Ok(())
    }
}

/// Spans per batch of a scan.
const SCAN_BATCH: usize = 4096;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use heimsight_core::SpanKind;

    fn span(n: u8, service: &str, start: i64) -> Span {
        let mut s = Span::new(
            TraceId([n; 16]),
            SpanId([n; 8]),
            format!("op {n}"),
            service,
            Timestamp(start),
            Timestamp(start + 1_000 * i64::from(n)),
        );
        s.parent_span_id = n.is_multiple_of(2).then_some(SpanId([1; 8]));
        s.kind = SpanKind::Client;
        s.status = Status {
            code: StatusCode::Error,
            message: "boom".into(),
        };
        s
    }

    /// Spans of traces already stored look those traces up without putting what they read
    /// in the block cache: the cache is for queries, and ingestion alone must not grow it.
    #[test]
    fn looking_up_stored_traces_does_not_fill_the_block_cache() {
        let dir = tempfile::tempdir().unwrap();
        let store = RocksStore::open(dir.path()).unwrap();
        let tid = |t: u32| {
            let mut id = [1u8; 16];
            id[..4].copy_from_slice(&t.to_be_bytes());
            TraceId(id)
        };
        let round = |r: u8| -> Vec<Span> {
            (0..2000u32)
                .map(|t| {
                    let mut s = span(3, "checkout", i64::from(t) * 1_000_000);
                    s.trace_id = tid(t);
                    s.span_id = SpanId([r + 1; 8]);
                    s
                })
                .collect()
        };
        store.append_spans(round(0)).unwrap();
        let i = &store.inner;
        for cf in [CF_TRACES, CF_TRACE_STARTS] {
            i.db.flush_cf(i.cf(cf).unwrap()).unwrap();
        }
        let on_disk = i.cf_bytes(&[CF_TRACES, CF_TRACE_STARTS]);
        let before = i.cache.get_usage();
        store.append_spans(round(1)).unwrap();
        let grown = i.cache.get_usage().saturating_sub(before);
        // Every trace was looked up on disk; caching what was read would add more than
        // what is stored (blocks are cached uncompressed).
        assert!(on_disk > 32 << 10, "{on_disk}");
        assert!(grown < on_disk as usize / 4, "{grown} of {on_disk}");
        // The lookups found the traces: each has both spans, and its summary counts them.
        assert_eq!(store.get_trace(&tid(1234)).unwrap().len(), 2);
        let found = store
            .find_traces(&crate::query::TraceQuery {
                limit: 5000,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(found.len(), 2000);
        assert!(found.iter().all(|t| t.span_count == 2), "{:?}", found[0]);
    }

    /// Spans store their resource once, by id: two requests' worth of spans of two resources
    /// leave two stored resources, every span reads back with its own resource after a
    /// restart (nothing in memory), and spans written by version 1 (resource inline) still read.
    #[test]
    fn span_resources_are_stored_once_and_read_back_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let resource = |pod: &str| -> SharedAttributes {
            Arc::new(
                [
                    ("service.name".to_string(), "api".into()),
                    ("k8s.pod.name".to_string(), pod.into()),
                ]
                .into(),
            )
        };
        let (a, b) = (resource("api-1"), resource("api-2"));
        let mut want = Vec::new();
        {
            let store = RocksStore::open(dir.path()).unwrap();
            for request in 0..2u8 {
                // Each request's spans share a map, as OTLP conversion makes them.
                let (a, b) = if request == 0 {
                    (a.clone(), b.clone())
                } else {
                    (Arc::new((*a).clone()), Arc::new((*b).clone()))
                };
                let spans: Vec<Span> = (1..=10u8)
                    .map(|n| {
                        let mut s = span(n + 10 * request, "api", DAY_NS + i64::from(n));
                        s.resource = if n % 2 == 0 { a.clone() } else { b.clone() };
                        s
                    })
                    .collect();
                store.append_spans(spans.clone()).unwrap();
                want.extend(spans);
            }
            // A span of version 1, as older stores hold them.
            let mut old = span(99, "api", DAY_NS + 99);
            old.resource = resource("api-old");
            let i = &store.inner;
            i.db.put_cf(
                i.cf(CF_SPANS).unwrap(),
                span_key(day_of(old.start_time.0), &old.trace_id, &old.span_id),
                encode_span_version(&old, 1, None),
            )
            .unwrap();
            want.push(old);
            let stored =
                i.db.prefix_iterator(b"heimsight.span_resource.")
                    .filter_map(|kv| kv.ok())
                    .take_while(|(k, _)| k.starts_with(b"heimsight.span_resource."))
                    .count();
            assert_eq!(stored, 2, "one stored resource per distinct resource");
        }
        let store = RocksStore::open(dir.path()).unwrap();
        assert!(store.inner.span_resources.read().unwrap().is_empty());
        for w in &want {
            let got = store.get_trace(&w.trace_id).unwrap();
            assert_eq!(got, vec![w.clone()], "span {}", w.span_id);
        }
        // Spans of one resource share one map once read.
        let x = store.get_trace(&want[1].trace_id).unwrap();
        let y = store.get_trace(&want[3].trace_id).unwrap();
        assert!(Arc::ptr_eq(&x[0].resource, &y[0].resource));
    }

    #[test]
    fn index_entries_round_trip_and_corrupt_ones_never_panic() {
        let s = span(4, "checkout ünïcode", -DAY_NS - 7);
        let (k, v) = (index_key(&s), index_value(&s));
        let back = IndexEntry::decode(&k, &v).unwrap().span().unwrap();
        assert_eq!(
            back,
            Span {
                status: Status {
                    code: StatusCode::Error,
                    message: String::new(),
                },
                ..s.clone()
            }
        );
        for cut in 0..k.len() {
            assert!(IndexEntry::decode(&k[..cut], &v).is_err());
        }
        for cut in 0..v.len() {
            assert!(IndexEntry::decode(&k, &v[..cut]).is_err());
        }
    }

    #[test]
    fn stores_written_before_the_index_get_it_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let spans: Vec<Span> = (1..=20)
            .map(|n| span(n, ["a", "b"][usize::from(n % 2)], i64::from(n) * DAY_NS / 3))
            .collect();
        {
            let store = RocksStore::open(dir.path()).unwrap();
            store.append_spans(spans.clone()).unwrap();
            // Make it look like a store from before the index: no entries, no marker.
            let i = &store.inner;
            let mut batch = WriteBatch::default();
            batch.delete_range_cf(i.cf(CF_SPAN_INDEX).unwrap(), [0u8; 4], [0xffu8; 4]);
            batch.delete_cf(
                i.cf(CF_META).unwrap(),
                meta_key(META_INTERNAL, INDEX_BUILT_KEY),
            );
            i.write(batch).unwrap();
        }
        let store = RocksStore::open(dir.path()).unwrap();
        let scan = SpanScan {
            services: vec!["a".into()],
            ..SpanScan::default()
        };
        let mut got = Vec::new();
        store
            .scan_spans(&scan, &mut |b| {
                got.extend(b);
                true
            })
            .unwrap();
        got.sort_by_key(|s| s.start_time);
        let want: Vec<Span> = spans.into_iter().filter(|s| s.service == "a").collect();
        assert_eq!(got, want);
    }
}
