//! Logs on RocksDB: block writes, block-pruned queries, background block merging, retention.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use heimsight_core::Level;
use heimsight_core::LogRecord;
use rocksdb::{ReadOptions, Snapshot, WriteBatch};

use super::block::{self, Block, BlockSummary, Cheap, Need};
use super::codec::ts_key;
use super::{CF_LOG_BLOCKS, CF_LOG_SUMMARIES, Inner, RocksStore, hour_of, rocks_err};
use crate::error::{Error, Result};
use crate::query::{
    LogCount, LogCountRow, LogCounter, LogFields, LogFilter, LogPage, LogQuery, LogScan, Order,
    tokenize,
};
use crate::traits::LogStore;

/// Largest block, in records.
const MAX_BLOCK: usize = 16_384;
/// Blocks smaller than this are merged in the background.
const MERGE_BELOW: u32 = 8_192;
/// A group of small blocks is merged once it holds this many records...
const MERGE_MIN_RECORDS: u32 = 8_192;
/// ...or this many blocks.
const MERGE_MIN_BLOCKS: usize = 32;
/// zstd level of blocks written by appends (fast); merges recompress harder.
const WRITE_ZSTD_LEVEL: i32 = 1;

type Key = [u8; 20];

fn block_key(hour: u32, min_ts: i64, seq: u64) -> Key {
    let mut k = [0u8; 20];
    k[..4].copy_from_slice(&hour.to_be_bytes());
    k[4..12].copy_from_slice(&ts_key(min_ts));
    k[12..].copy_from_slice(&seq.to_be_bytes());
    k
}

fn key_hour(k: &Key) -> u32 {
    u32::from_be_bytes([k[0], k[1], k[2], k[3]])
}

fn key_seq(k: &Key) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&k[12..]);
    u64::from_be_bytes(a)
}

impl Inner {
    /// Loads every block summary into memory; returns their encoded size in bytes (about
    /// what they take in memory, most of it Bloom filters).
    pub(crate) fn load_blocks(&self) -> Result<u64> {
        let cf = self.cf(CF_LOG_SUMMARIES)?;
        let mut map = self.blocks.write().unwrap_or_else(PoisonError::into_inner);
        let mut max_seq = 0;
        let mut bytes = 0u64;
        for item in self.db.iterator_cf(cf, rocksdb::IteratorMode::Start) {
            let (k, v) = item.map_err(rocks_err)?;
            let key: Key = k.as_ref().try_into().map_err(|_| Error::Corrupt {
                what: "log block key",
                reason: format!("length {}", k.len()),
            })?;
            max_seq = max_seq.max(key_seq(&key));
            bytes += v.len() as u64;
            map.insert(key, Arc::new(BlockSummary::decode(&v)?));
        }
        self.block_seq.store(max_seq + 1, Ordering::SeqCst);
        Ok(bytes)
    }

    /// Encodes sorted records into blocks (one or more per hour) and adds them to a batch.
    /// `merged`: the blocks come from a merge (else from an append, whose small blocks the
    /// merge rewrites soon, so their summaries skip the attribute-value tokens).
    fn add_blocks(
        &self,
        batch: &mut WriteBatch,
        recs: &[LogRecord],
        level: i32,
        merged: bool,
    ) -> Result<Vec<(Key, Arc<BlockSummary>)>> {
        let cf_b = self.cf(CF_LOG_BLOCKS)?;
        let cf_s = self.cf(CF_LOG_SUMMARIES)?;
        let mut out = Vec::new();
        let mut start = 0;
        while start < recs.len() {
            let hour = hour_of(recs[start].timestamp.0);
            let mut end = start;
            while end < recs.len()
                && end - start < MAX_BLOCK
                && hour_of(recs[end].timestamp.0) == hour
            {
                end += 1;
            }
            let chunk = &recs[start..end];
            let attr_tokens = merged || chunk.len() >= MERGE_BELOW as usize;
            let (raw, summary) = block::encode_block(chunk, level, attr_tokens)?;
            let seq = self.block_seq.fetch_add(1, Ordering::SeqCst);
            let key = block_key(hour, summary.min_ts, seq);
            batch.put_cf(cf_b, key, raw);
            batch.put_cf(cf_s, key, summary.encode());
            out.push((key, Arc::new(summary)));
            start = end;
        }
        Ok(out)
    }

    /// The blocks that may hold records of `[start, end)` passing `f` (in key order), and a
    /// snapshot taken with them, so that reading those blocks sees exactly this state.
    fn candidates(
        &self,
        start: i64,
        end: i64,
        f: &LogFilter,
    ) -> (Vec<(Key, Arc<BlockSummary>)>, Snapshot<'_>) {
        let map = self.blocks.read().unwrap_or_else(PoisonError::into_inner);
        let cands = map
            .iter()
            .filter(|(_, s)| s.max_ts >= start && s.min_ts < end && s.may_match(f))
            .map(|(k, s)| (*k, s.clone()))
            .collect();
        (cands, self.db.snapshot())
    }

    fn read_block(&self, key: &Key, ro: &ReadOptions) -> Result<Block> {
        let cf = self.cf(CF_LOG_BLOCKS)?;
        let raw = self
            .db
            .get_pinned_cf_opt(cf, key, ro)
            .map_err(rocks_err)?
            .ok_or_else(|| Error::Corrupt {
                what: "log block",
                reason: "block listed in summaries is missing".into(),
            })?;
        Block::parse(&raw)
    }

    pub(crate) fn merge_loop(self: Arc<Self>) {
        while !self.stop.load(Ordering::SeqCst) {
            match self.merge_once() {
                Ok(true) => continue,
                Ok(false) => self.sleep(Duration::from_secs(1)),
                Err(e) => {
                    tracing::warn!(error = %e, "merging log blocks failed");
                    self.sleep(Duration::from_secs(10));
                }
            }
        }
    }

    pub(crate) fn merge_all(&self) -> Result<()> {
        while self.merge_group(true)? {}
        Ok(())
    }

    fn merge_once(&self) -> Result<bool> {
        self.merge_group(false)
    }

    /// Merges one group of small blocks; returns whether there was one. With `all`, any two
    /// or more small blocks of an hour form a group.
    fn merge_group(&self, all: bool) -> Result<bool> {
        let _guard = self
            .merge_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let group: Vec<(Key, Arc<BlockSummary>)> = {
            let map = self.blocks.read().unwrap_or_else(PoisonError::into_inner);
            let mut found = Vec::new();
            let mut cur: Vec<(Key, Arc<BlockSummary>)> = Vec::new();
            let mut records = 0u32;
            let ready = |g: &Vec<(Key, Arc<BlockSummary>)>, records: u32| {
                g.len() >= 2 && (all || records >= MERGE_MIN_RECORDS || g.len() >= MERGE_MIN_BLOCKS)
            };
            for (k, s) in map.iter() {
                if s.count >= MERGE_BELOW {
                    continue;
                }
                if cur
                    .first()
                    .is_some_and(|(fk, _)| key_hour(fk) != key_hour(k))
                {
                    if ready(&cur, records) {
                        break;
                    }
                    cur.clear();
                    records = 0;
                }
                cur.push((*k, s.clone()));
                records += s.count;
                if records as usize >= MAX_BLOCK {
                    break;
                }
            }
            if ready(&cur, records) {
                found = cur;
            }
            found
        };
        if group.is_empty() {
            return Ok(false);
        }
        let ro = ReadOptions::default();
        let mut recs: Vec<LogRecord> = Vec::new();
        for (k, _) in &group {
            let b = self.read_block(k, &ro)?;
            let cheap = b.cheap()?;
            let rows: Vec<usize> = (0..b.count).collect();
            recs.extend(b.records(&cheap, &rows, Need::ALL)?);
        }
        recs.sort_by_key(|r| r.timestamp);
        let mut batch = WriteBatch::default();
        let new_blocks = self.add_blocks(&mut batch, &recs, self.merge_level, true)?;
        let cf_b = self.cf(CF_LOG_BLOCKS)?;
        let cf_s = self.cf(CF_LOG_SUMMARIES)?;
        for (k, _) in &group {
            batch.delete_cf(cf_b, k);
            batch.delete_cf(cf_s, k);
        }
        let mut map = self.blocks.write().unwrap_or_else(PoisonError::into_inner);
        self.write(batch)?;
        for (k, _) in &group {
            map.remove(k);
        }
        map.extend(new_blocks);
        tracing::debug!(
            blocks = group.len(),
            records = recs.len(),
            "merged log blocks"
        );
        Ok(true)
    }

    pub(crate) fn delete_logs_before(&self, cutoff: i64) -> Result<u64> {
        let cutoff_hour = hour_of(cutoff);
        let cf_b = self.cf(CF_LOG_BLOCKS)?;
        let cf_s = self.cf(CF_LOG_SUMMARIES)?;
        let _guard = self
            .merge_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut map = self.blocks.write().unwrap_or_else(PoisonError::into_inner);
        let doomed: Vec<Key> = map
            .iter()
            .filter(|(k, s)| key_hour(k) < cutoff_hour || s.max_ts < cutoff)
            .map(|(k, _)| *k)
            .collect();
        if doomed.is_empty() {
            return Ok(0);
        }
        let mut batch = WriteBatch::default();
        // Whole hours go with one range delete; stragglers of the cutoff hour one by one.
        let from = [0u8; 4];
        let to = cutoff_hour.to_be_bytes();
        batch.delete_range_cf(cf_b, from, to);
        batch.delete_range_cf(cf_s, from, to);
        for k in doomed.iter().filter(|k| key_hour(k) >= cutoff_hour) {
            batch.delete_cf(cf_b, k);
            batch.delete_cf(cf_s, k);
        }
        self.write(batch)?;
        let mut removed = 0u64;
        for k in &doomed {
            if let Some(s) = map.remove(k) {
                removed += u64::from(s.count);
            }
        }
        drop(map);
        if cutoff_hour > 0 {
            self.db
                .compact_range_cf(cf_b, Some(&from[..]), Some(&to[..]));
        }
        Ok(removed)
    }
}

/// A decoded block with the rows that match the query.
struct Hit {
    block: Block,
    cheap: Cheap,
    rows: Vec<usize>,
}

impl LogStore for RocksStore {
    fn append_logs(&self, mut logs: Vec<LogRecord>) -> Result<()> {
        if logs.is_empty() {
            return Ok(());
        }
        logs.sort_by_key(|r| r.timestamp);
        let i = &self.inner;
        let mut batch = WriteBatch::default();
        let blocks = i.add_blocks(&mut batch, &logs, WRITE_ZSTD_LEVEL, false)?;
        let small = blocks.iter().any(|(_, s)| s.count < MERGE_BELOW);
        {
            // Write and publish under the lock, so queries see blocks and summaries agree.
            let mut map = i.blocks.write().unwrap_or_else(PoisonError::into_inner);
            i.write(batch)?;
            map.extend(blocks);
        }
        if small {
            i.notify();
        }
        Ok(())
    }

    fn query_logs(&self, q: &LogQuery) -> Result<LogPage> {
        self.page(q, true, Need::ALL)
    }

    fn scan_logs(
        &self,
        scan: &LogScan,
        visit: &mut dyn FnMut(Vec<LogRecord>) -> bool,
    ) -> Result<()> {
        let need_out = need_of(scan.fields);
        if scan.limit > 0 {
            let q = LogQuery {
                range: scan.range,
                filter: scan.filter.clone(),
                order: scan.order,
                limit: scan.limit,
                offset: 0,
            };
            let page = self.page(&q, false, need_out)?;
            if !page.logs.is_empty() {
                visit(page.logs);
            }
            return Ok(());
        }
        self.scan_all(scan, need_out, visit)
    }

    fn count_logs(
        &self,
        q: &LogCount,
        visit: &mut dyn FnMut(Vec<LogCountRow>) -> bool,
    ) -> Result<()> {
        q.validate()?;
        let i = &self.inner;
        let (start, end) = (q.range.start_nanos(), q.range.end_nanos());
        if start >= end {
            return Ok(());
        }
        let f = &q.filter;
        let (cands, snapshot) = i.candidates(start, end, f);
        let mut counter = LogCounter::default();
        let mut to_read = Vec::new();
        for (key, s) in &cands {
            if !count_from_summary(q, s, start, end, &mut counter)? {
                to_read.push((key, s));
            }
        }
        if !counter.is_empty() && !visit(counter.take()) {
            return Ok(());
        }
        let mut ro = ReadOptions::default();
        ro.set_snapshot(&snapshot);
        // Per block: counts by (service index, level, bucket), then one row per group.
        let mut groups: HashMap<(u32, Level, i64), u64> = HashMap::new();
        for (key, s) in to_read {
            let block = i.read_block(key, &ro)?;
            let cheap = block.cheap()?;
            let rows = filtered_rows(&block, &cheap, start, end, f, s)?;
            for row in rows {
                let service = if q.by_service {
                    cheap.service_index(row)
                } else {
                    0
                };
                let level = if q.by_level {
                    cheap.levels[row]
                } else {
                    Level::Unspecified
                };
                let bucket = q.bucket_of(cheap.ts[row]).map_or(0, |b| b.0);
                *groups.entry((service, level, bucket)).or_insert(0) += 1;
            }
            for ((service, level, bucket), n) in groups.drain() {
                counter.add(q, cheap.service_name(service), level, bucket, n);
            }
            if !visit(counter.take()) {
                break;
            }
        }
        Ok(())
    }
}

/// The columns testing `f` on a block's records reads: [`Need::for_filter`], plus the
/// attributes when a full-text term may be in an attribute value of the block (by its Bloom
/// filter).
fn need_for(f: &LogFilter, s: &BlockSummary) -> Need {
    let mut need = Need::for_filter(f);
    need.attrs |= s.terms_need_attrs(f);
    need
}

/// The `rows` that may pass `f`'s full-text terms: those whose message passes every
/// message condition, and those with an attribute value holding the longest word of some
/// term (a term matched in an attribute value holds all its words there).
fn text_candidates(block: &Block, rows: Vec<usize>, f: &LogFilter) -> Result<Vec<usize>> {
    let words: Vec<String> = f
        .terms
        .iter()
        .filter_map(|t| tokenize(t).max_by_key(String::len))
        .collect();
    if words.len() < f.terms.len() {
        // A term without words matches everything.
        return Ok(rows);
    }
    let by_attrs = block.rows_with_attr_words(&rows, &words)?;
    let by_body = block.filter_bodies(rows, f)?;
    let mut out: Vec<usize> = by_body.into_iter().chain(by_attrs).collect();
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// The rows of a block in `[start, end)` passing `f`, in block order.
fn filtered_rows(
    block: &Block,
    cheap: &Cheap,
    start: i64,
    end: i64,
    f: &LogFilter,
    s: &BlockSummary,
) -> Result<Vec<usize>> {
    let mut rows = cheap.candidate_rows(start, end, f);
    if rows.is_empty() {
        return Ok(rows);
    }
    let need_f = need_for(f, s);
    if need_f.body && !need_f.attrs && !need_f.trace {
        // Message conditions alone are tested on the body column in place.
        rows = block.filter_bodies(rows, f)?;
    } else if !need_f.is_cheap() {
        if !f.terms.is_empty() {
            rows = text_candidates(block, rows, f)?;
        }
        let recs = block.records(cheap, &rows, need_f)?;
        rows = rows
            .into_iter()
            .zip(recs.iter())
            .filter(|(_, r)| f.matches(r))
            .map(|(row, _)| row)
            .collect();
    }
    Ok(rows)
}

/// Adds a block's records to `counter` from its summary alone, when the summary can tell:
/// the block lies wholly in the range, the filter names at most services and levels, and
/// either the block lies in one time bucket or the buckets are whole seconds and nothing is
/// grouped or filtered by service or level. Returns false when the block must be read.
fn count_from_summary(
    q: &LogCount,
    s: &BlockSummary,
    start: i64,
    end: i64,
    counter: &mut LogCounter,
) -> Result<bool> {
    if !Need::for_filter(&q.filter).is_cheap() || s.min_ts < start || s.max_ts >= end {
        return Ok(false);
    }
    let f = &q.filter;
    if q.bucket_of(s.min_ts) == q.bucket_of(s.max_ts) {
        for (service, counts) in &s.services {
            if !f.services.is_empty() && !f.services.contains(service) {
                continue;
            }
            for (level, n) in Level::ALL.iter().zip(counts) {
                if *n > 0 && (f.levels.is_empty() || f.levels.contains(level)) {
                    counter.add(q, service, *level, s.min_ts, u64::from(*n));
                }
            }
        }
        return Ok(true);
    }
    let whole_seconds = q.bucket.is_some_and(|w| w % NS_PER_SEC == 0);
    let by_row_fields =
        q.by_service || q.by_level || !f.services.is_empty() || !f.levels.is_empty();
    if !whole_seconds || by_row_fields {
        return Ok(false);
    }
    // Every record of a second falls in that second's bucket.
    s.for_each_second(&mut |sec, n| {
        counter.add(q, "", Level::Unspecified, sec * NS_PER_SEC, n);
    })
}

/// Nanoseconds per second.
const NS_PER_SEC: i64 = 1_000_000_000;

fn need_of(fields: LogFields) -> Need {
    Need {
        body: fields.body || fields.all,
        attrs: fields.attributes || fields.all,
        trace: fields.trace || fields.all,
        all: fields.all,
    }
}

impl RocksStore {
    /// A page of matching records in order, filled as `need_out` says, with the total number
    /// of matches when `with_total` (else `total` is 0 and blocks past the page are skipped).
    fn page(&self, q: &LogQuery, with_total: bool, need_out: Need) -> Result<LogPage> {
        let i = &self.inner;
        let (start, end) = (q.range.start_nanos(), q.range.end_nanos());
        if start >= end {
            return Ok(LogPage::default());
        }
        let f = &q.filter;
        let need_f = Need::for_filter(f);
        let (cands, snapshot) = i.candidates(start, end, f);
        let mut ro = ReadOptions::default();
        ro.set_snapshot(&snapshot);

        let mut hits: HashMap<usize, Hit> = HashMap::new();
        let decode = |idx: usize| -> Result<Hit> {
            let (key, s) = &cands[idx];
            let block = i.read_block(key, &ro)?;
            let cheap = block.cheap()?;
            let rows = filtered_rows(&block, &cheap, start, end, f, s)?;
            Ok(Hit { block, cheap, rows })
        };

        // The total: from summaries where a block lies wholly in range and the filter only
        // names services and levels; by decoding otherwise.
        let mut total = 0u64;
        for (idx, (_, s)) in cands.iter().enumerate().filter(|_| with_total) {
            if need_f.is_cheap() && s.min_ts >= start && s.max_ts < end {
                // `need_f` is cheap only without terms, so attributes never matter here.
                total += s.count_service_level(f);
            } else {
                let hit = decode(idx)?;
                total += hit.rows.len() as u64;
                hits.insert(idx, hit);
            }
        }

        // The page: visit blocks in order until no unvisited block can hold a better record.
        let want = q.offset.saturating_add(q.limit);
        let newest = q.order == Order::NewestFirst;
        let mut order: Vec<usize> = (0..cands.len()).collect();
        if newest {
            order.sort_by_key(|&x| std::cmp::Reverse(cands[x].1.max_ts));
        } else {
            order.sort_by_key(|&x| cands[x].1.min_ts);
        }
        // (timestamp, candidate index, row): a total order, ties broken by block key and row.
        let mut picked: Vec<(i64, usize, usize)> = Vec::new();
        let sort = |p: &mut Vec<(i64, usize, usize)>| {
            if newest {
                p.sort_unstable_by(|a, b| b.cmp(a));
            } else {
                p.sort_unstable();
            }
        };
        if want > 0 {
            for &idx in &order {
                let s = &cands[idx].1;
                if picked.len() >= want {
                    let kth = picked[want - 1].0;
                    if (newest && kth > s.max_ts) || (!newest && kth < s.min_ts) {
                        break;
                    }
                }
                if let std::collections::hash_map::Entry::Vacant(e) = hits.entry(idx) {
                    e.insert(decode(idx)?);
                }
                let hit = &hits[&idx];
                picked.extend(hit.rows.iter().map(|&r| (hit.cheap.ts[r], idx, r)));
                sort(&mut picked);
                picked.truncate(want);
            }
        }
        // Candidate indexes follow key order, so (ts, idx, row) ties follow block keys.
        let page: Vec<(i64, usize, usize)> =
            picked.into_iter().skip(q.offset).take(q.limit).collect();
        let mut by_block: HashMap<usize, Vec<usize>> = HashMap::new();
        for (_, idx, row) in &page {
            by_block.entry(*idx).or_default().push(*row);
        }
        let mut built: HashMap<(usize, usize), LogRecord> = HashMap::new();
        for (idx, mut rows) in by_block {
            rows.sort_unstable();
            let hit = &hits[&idx];
            let recs = hit.block.records(&hit.cheap, &rows, need_out)?;
            built.extend(rows.into_iter().map(|r| (idx, r)).zip(recs));
        }
        let logs = page
            .iter()
            .filter_map(|(_, idx, row)| built.remove(&(*idx, *row)))
            .collect();
        Ok(LogPage { logs, total })
    }

    /// Every matching record, block by block.
    fn scan_all(
        &self,
        scan: &LogScan,
        need_out: Need,
        visit: &mut dyn FnMut(Vec<LogRecord>) -> bool,
    ) -> Result<()> {
        let i = &self.inner;
        let (start, end) = (scan.range.start_nanos(), scan.range.end_nanos());
        if start >= end {
            return Ok(());
        }
        let f = &scan.filter;
        let newest = scan.order == Order::NewestFirst;
        let (mut cands, snapshot) = i.candidates(start, end, f);
        if newest {
            cands.sort_by_key(|(_, s)| std::cmp::Reverse(s.max_ts));
        } else {
            cands.sort_by_key(|(_, s)| s.min_ts);
        }
        let mut ro = ReadOptions::default();
        ro.set_snapshot(&snapshot);
        for (key, s) in &cands {
            let block = i.read_block(key, &ro)?;
            let cheap = block.cheap()?;
            let mut rows = cheap.candidate_rows(start, end, f);
            if rows.is_empty() {
                continue;
            }
            let need_f = need_for(f, s);
            // Message conditions alone are tested on the body column in place.
            let body_only = need_f.body && !need_f.attrs && !need_f.trace;
            if body_only {
                rows = block.filter_bodies(rows, f)?;
            } else if !f.terms.is_empty() {
                rows = text_candidates(&block, rows, f)?;
            }
            if rows.is_empty() {
                continue;
            }
            let need = Need {
                body: need_out.body || need_f.body,
                attrs: need_out.attrs || need_f.attrs,
                trace: need_out.trace || need_f.trace,
                all: need_out.all,
            };
            let mut recs = block.records(&cheap, &rows, need)?;
            if !(need_f.is_cheap() || body_only) {
                recs.retain(|r| f.matches(r));
            }
            // `records` wants rows in block order; the batch goes out in time order.
            recs.sort_by_key(|r| r.timestamp);
            if newest {
                recs.reverse();
            }
            if !recs.is_empty() && !visit(recs) {
                break;
            }
        }
        Ok(())
    }
}
