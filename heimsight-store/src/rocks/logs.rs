//! Logs on RocksDB: block writes, block-pruned queries, background block merging, retention.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use heimsight_core::Level;
use heimsight_core::LogRecord;
use rocksdb::{ReadOptions, Snapshot, WriteBatch};

use super::block::{self, Block, BlockSummary, Cheap, Need, intersect_sorted};
use super::bloom::Bloom;
use super::codec::ts_key;
use super::dict::{self, ColumnDicts};
use super::terms;
use super::{CF_LOG_BLOCKS, CF_LOG_SUMMARIES, CF_LOG_TERMS, Inner, RocksStore, hour_of, rocks_err};
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

/// Keys are unique for the life of the process: `seq` comes from `Inner::block_seq`, which
/// starts past every stored key and only grows. So a cached Bloom filter (by key) can never
/// be taken for another block's.
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

/// A block that may hold records passing a filter, as [`Inner::candidates`] found it.
struct Candidate {
    key: Key,
    summary: Arc<BlockSummary>,
    /// Whether some full-text term of the filter may sit in an attribute value of the block
    /// (by its Bloom filter, see [`BlockSummary::terms_need_attrs`]): then testing the filter
    /// reads the attribute columns. Computed with the candidates so that reading the block
    /// does not need the filter again.
    terms_in_attrs: bool,
}

/// Blocks written to a batch, and the dictionaries made for them (see [`Inner::add_blocks`]).
type NewBlocks = (Vec<(Key, Arc<BlockSummary>)>, Option<Arc<ColumnDicts>>);

/// Blocks that stay get a dictionary made from their records when none exists yet, if they
/// hold at least this many records.
const DICT_MIN_RECORDS: usize = 4096;

impl Inner {
    /// Loads the zstd dictionaries of log block frames.
    pub(crate) fn load_log_dicts(&self) -> Result<()> {
        let mut dicts = self
            .log_dicts
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let mode = rocksdb::IteratorMode::From(dict::KEY_PREFIX, rocksdb::Direction::Forward);
        for item in self.db.iterator(mode) {
            let (k, v) = item.map_err(rocks_err)?;
            let Some(id) = k.strip_prefix(dict::KEY_PREFIX) else {
                break;
            };
            let id = <[u8; 4]>::try_from(id)
                .map(u32::from_be_bytes)
                .map_err(|_| Error::Corrupt {
                    what: "log block dictionary key",
                    reason: format!("length {}", k.len()),
                })?;
            dicts.insert(id, ColumnDicts::decode(id, &v)?);
            self.log_dict_seq
                .fetch_max(id.saturating_add(1), Ordering::SeqCst);
        }
        Ok(())
    }

    /// Publishes a dictionary written with the blocks that first use it: new blocks use it
    /// from now on. Called before those blocks are published.
    fn publish_dict(&self, d: Option<Arc<ColumnDicts>>) {
        if let Some(d) = d {
            let mut dicts = self
                .log_dicts
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            dicts.insert(d.id, d);
        }
    }

    /// The dictionaries of an id, if loaded.
    fn dict(&self, id: u32) -> Option<Arc<ColumnDicts>> {
        let dicts = self
            .log_dicts
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        dicts.get(&id).cloned()
    }

    /// The dictionaries new blocks use: the newest (highest id), if any.
    pub(crate) fn current_dict(&self) -> Option<Arc<ColumnDicts>> {
        let dicts = self
            .log_dicts
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        dicts.values().max_by_key(|d| d.id).cloned()
    }

    /// Loads every block summary into memory without its Bloom filter, and warms the Bloom
    /// cache with the filters of the newest blocks until one does not fit. Returns the
    /// bytes the summaries take in memory (about).
    pub(crate) fn load_blocks(&self) -> Result<u64> {
        let cf = self.cf(CF_LOG_SUMMARIES)?;
        let mut map = self.blocks.write().unwrap_or_else(PoisonError::into_inner);
        let mut max_seq = 0;
        let mut bytes = 0u64;
        let mut warm = true;
        // Newest first (keys start with the hour), so the warmed filters are those of the
        // blocks queries most likely look at.
        for item in self.db.iterator_cf(cf, rocksdb::IteratorMode::End) {
            let (k, v) = item.map_err(rocks_err)?;
            let key: Key = k.as_ref().try_into().map_err(|_| Error::Corrupt {
                what: "log block key",
                reason: format!("length {}", k.len()),
            })?;
            max_seq = max_seq.max(key_seq(&key));
            let (summary, bloom) = BlockSummary::decode(&v, warm)?;
            if let Some(bloom) = bloom {
                warm = self.blooms.insert_if_room(key, Arc::new(bloom));
            }
            bytes += summary.mem_bytes() as u64;
            map.insert(key, Arc::new(summary));
        }
        self.block_seq.store(max_seq + 1, Ordering::SeqCst);
        Ok(bytes)
    }

    /// Publishes new blocks (already written): their summaries in the map. The caller holds
    /// the map's write lock.
    ///
    /// Their Bloom filters are not cached here but by the first query that needs them (see
    /// [`Inner::bloom`]): ingestion alone then leaves the cache as it is, so that the memory
    /// of a server that only ingests stays flat instead of growing until the cache is full,
    /// and the cache holds the filters queries use rather than the newest written.
    fn publish(
        &self,
        map: &mut std::collections::BTreeMap<Key, Arc<BlockSummary>>,
        blocks: Vec<(Key, Arc<BlockSummary>)>,
    ) {
        for (key, summary) in blocks {
            map.insert(key, summary);
        }
    }

    /// Forgets a removed block (already deleted): its summary and its cached Bloom filter.
    /// The caller holds the map's write lock, so no query can cache the filter again after
    /// this (see [`Inner::bloom`]).
    fn unpublish(
        &self,
        map: &mut std::collections::BTreeMap<Key, Arc<BlockSummary>>,
        key: &Key,
    ) -> Option<Arc<BlockSummary>> {
        self.blooms.remove(key);
        map.remove(key)
    }

    /// The Bloom filter of a block listed among a query's candidates: from the cache, else
    /// read from the block's stored summary with `ro` (at the snapshot the candidates were
    /// taken with, so the block is certainly there) and cached.
    fn bloom(&self, key: &Key, ro: &ReadOptions) -> Result<Arc<Bloom>> {
        if let Some(b) = self.blooms.get(key) {
            return Ok(b);
        }
        let cf = self.cf(CF_LOG_SUMMARIES)?;
        let raw = self
            .db
            .get_pinned_cf_opt(cf, key, ro)
            .map_err(rocks_err)?
            .ok_or_else(|| Error::Corrupt {
                what: "log block summary",
                reason: "block listed in memory has no stored summary".into(),
            })?;
        let bloom = Arc::new(block::decode_bloom(&raw)?);
        self.bloom_loads.fetch_add(1, Ordering::Relaxed);
        // The block may have been merged away or deleted since the snapshot. Removal evicts
        // under the map's write lock, so checking and caching under its read lock never leaves
        // the filter of a removed block in the cache.
        let map = self.blocks.read().unwrap_or_else(PoisonError::into_inner);
        if map.contains_key(key) {
            self.blooms.insert(*key, bloom.clone());
        }
        Ok(bloom)
    }

    /// Encodes sorted records into blocks (one or more per hour) and adds them to a batch.
    /// `merged`: the blocks come from a merge (else from an append, whose small blocks the
    /// merge rewrites soon, so their summaries skip the attribute-value tokens).
    ///
    /// Blocks that stay are compressed with the current frame dictionaries; when there are none
    /// yet, new ones are made from the first such block and written in the same batch, and
    /// returned to be published ([`Inner::publish_dict`]) once the batch is written.
    fn add_blocks(
        &self,
        batch: &mut WriteBatch,
        recs: &[LogRecord],
        level: i32,
        merged: bool,
    ) -> Result<NewBlocks> {
        let mut current = self.current_dict();
        let mut new_dict = None;
        let cf_b = self.cf(CF_LOG_BLOCKS)?;
        let cf_s = self.cf(CF_LOG_SUMMARIES)?;
        let cf_t = self.cf(CF_LOG_TERMS)?;
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
            // Blocks that stay (merged, or large enough not to be merged) get a term index.
            let indexed = attr_tokens;
            if indexed && current.is_none() && chunk.len() >= DICT_MIN_RECORDS {
                let id = self.log_dict_seq.fetch_add(1, Ordering::SeqCst);
                let d = Arc::new(ColumnDicts::sample(id, chunk));
                batch.put(dict::key(id), d.encode());
                current = Some(d.clone());
                new_dict = Some(d);
            }
            let dicts = current.as_deref().filter(|_| indexed);
            let (raw, summary, bloom) =
                block::encode_block(chunk, level, attr_tokens, indexed, dicts)?;
            let seq = self.block_seq.fetch_add(1, Ordering::SeqCst);
            let key = block_key(hour, summary.min_ts, seq);
            batch.put_cf(cf_b, key, raw);
            if indexed {
                for (suffix, value) in terms::build(chunk) {
                    let mut k = key.to_vec();
                    k.extend_from_slice(&suffix);
                    batch.put_cf(cf_t, k, value);
                }
            }
            batch.put_cf(cf_s, key, summary.encode(&bloom));
            out.push((key, Arc::new(summary)));
            start = end;
        }
        Ok((out, new_dict))
    }

    /// The blocks that may hold records of `[start, end)` passing `f` (in key order), and a
    /// snapshot taken with them, so that reading those blocks sees exactly this state.
    ///
    /// Time, service and level are checked under the map's read lock; the Bloom filters, for
    /// filters that need them, after it is released, since a filter not cached is read from
    /// disk (at the snapshot).
    fn candidates(
        &self,
        start: i64,
        end: i64,
        f: &LogFilter,
    ) -> Result<(Vec<Candidate>, Snapshot<'_>)> {
        let (cands, snapshot) = {
            let map = self.blocks.read().unwrap_or_else(PoisonError::into_inner);
            let cands: Vec<(Key, Arc<BlockSummary>)> = map
                .iter()
                .filter(|(_, s)| s.max_ts >= start && s.min_ts < end && s.may_match_counts(f))
                .map(|(k, s)| (*k, s.clone()))
                .collect();
            (cands, self.db.snapshot())
        };
        if !block::needs_bloom(f) {
            let cands = cands
                .into_iter()
                .map(|(key, summary)| Candidate {
                    key,
                    summary,
                    terms_in_attrs: false,
                })
                .collect();
            return Ok((cands, snapshot));
        }
        let mut ro = ReadOptions::default();
        ro.set_snapshot(&snapshot);
        let mut out = Vec::with_capacity(cands.len());
        for (key, summary) in cands {
            let bloom = self.bloom(&key, &ro)?;
            if summary.bloom_may_match(&bloom, f) {
                out.push(Candidate {
                    key,
                    terms_in_attrs: summary.terms_need_attrs(&bloom, f),
                    summary,
                });
            }
        }
        drop(ro);
        Ok((out, snapshot))
    }

    pub(crate) fn read_block(&self, key: &Key, ro: &ReadOptions) -> Result<Block<'_>> {
        let cf = self.cf(CF_LOG_BLOCKS)?;
        let raw = self
            .db
            .get_pinned_cf_opt(cf, key, ro)
            .map_err(rocks_err)?
            .ok_or_else(|| Error::Corrupt {
                what: "log block",
                reason: "block listed in summaries is missing".into(),
            })?;
        Block::from_pinned(raw, &|id| self.dict(id))
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
        // The merged blocks are deleted right after: reading them must not push blocks that
        // queries use out of the block cache (nor grow the cache during pure ingestion).
        let mut ro = ReadOptions::default();
        ro.fill_cache(false);
        let mut recs: Vec<LogRecord> = Vec::new();
        for (k, _) in &group {
            let b = self.read_block(k, &ro)?;
            let cheap = b.cheap()?;
            let rows: Vec<usize> = (0..b.count).collect();
            recs.extend(b.records(&cheap, &rows, Need::ALL)?);
        }
        recs.sort_by_key(|r| r.timestamp);
        let mut batch = WriteBatch::default();
        let (new_blocks, new_dict) = self.add_blocks(&mut batch, &recs, self.merge_level, true)?;
        let cf_b = self.cf(CF_LOG_BLOCKS)?;
        let cf_s = self.cf(CF_LOG_SUMMARIES)?;
        let cf_t = self.cf(CF_LOG_TERMS)?;
        for (k, s) in &group {
            batch.delete_cf(cf_b, k);
            batch.delete_cf(cf_s, k);
            if s.indexed {
                let (from, to) = terms::block_range(k);
                batch.delete_range_cf(cf_t, from, to);
            }
        }
        let mut map = self.blocks.write().unwrap_or_else(PoisonError::into_inner);
        self.write(batch)?;
        for (k, _) in &group {
            self.unpublish(&mut map, k);
        }
        self.publish_dict(new_dict);
        self.publish(&mut map, new_blocks);
        self.log_merges
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.log_blocks_merged
            .fetch_add(group.len() as u64, std::sync::atomic::Ordering::Relaxed);
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
        let cf_t = self.cf(CF_LOG_TERMS)?;
        let _guard = self
            .merge_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut map = self.blocks.write().unwrap_or_else(PoisonError::into_inner);
        let doomed: Vec<(Key, bool)> = map
            .iter()
            .filter(|(k, s)| key_hour(k) < cutoff_hour || s.max_ts < cutoff)
            .map(|(k, s)| (*k, s.indexed))
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
        batch.delete_range_cf(cf_t, from, to);
        for (k, indexed) in doomed.iter().filter(|(k, _)| key_hour(k) >= cutoff_hour) {
            batch.delete_cf(cf_b, k);
            batch.delete_cf(cf_s, k);
            if *indexed {
                let (from, to) = terms::block_range(k);
                batch.delete_range_cf(cf_t, from, to);
            }
        }
        self.write(batch)?;
        let mut removed = 0u64;
        for (k, _) in &doomed {
            if let Some(s) = self.unpublish(&mut map, k) {
                removed += u64::from(s.count);
            }
        }
        drop(map);
        if cutoff_hour > 0 {
            self.db
                .compact_range_cf(cf_b, Some(&from[..]), Some(&to[..]));
            self.db
                .compact_range_cf(cf_t, Some(&from[..]), Some(&to[..]));
        }
        Ok(removed)
    }
}

/// Reads the term indexes of blocks (see `terms`) at a query's snapshot, with one iterator
/// for the whole query.
struct TermReader<'a> {
    it: rocksdb::DBRawIteratorWithThreadMode<'a, rocksdb::DB>,
}

impl<'a> TermReader<'a> {
    fn new(i: &'a Inner, snapshot: &Snapshot<'a>) -> Result<Self> {
        let mut ro = ReadOptions::default();
        ro.set_snapshot(snapshot);
        Ok(TermReader {
            it: i.db.raw_iterator_cf_opt(i.cf(CF_LOG_TERMS)?, ro),
        })
    }

    /// True when the iterator sits on a group of `block` in namespace `ns`.
    fn on(&self, block: &Key, ns: u8) -> Result<bool> {
        if !self.it.valid() {
            self.it.status().map_err(rocks_err)?;
            return Ok(false);
        }
        Ok(self.it.key().is_some_and(|k| {
            k.len() > block.len() && k[..block.len()] == block[..] && k[block.len()] == ns
        }))
    }

    /// The rows (ascending) of `block` holding `term` in namespace `ns`.
    fn rows(&mut self, block: &Key, ns: u8, term: &[u8], n_rows: usize) -> Result<Vec<usize>> {
        self.it.seek_for_prev(terms::seek_key(block, ns, term));
        if !self.on(block, ns)? {
            return Ok(Vec::new());
        }
        let value = self.it.value().unwrap_or_default();
        let rows = match terms::find(value, term)? {
            Some(p) => p.rows()?,
            None => Vec::new(),
        };
        terms::check_rows(&rows, n_rows)?;
        Ok(rows)
    }

    /// The rows (ascending) of `block` with a message word containing `needle`.
    fn rows_with_substring(
        &mut self,
        block: &Key,
        needle: &[u8],
        n_rows: usize,
    ) -> Result<Vec<usize>> {
        self.it.seek(terms::seek_key(block, terms::NS_WORDS, b""));
        let mut out = Vec::new();
        let finder = memchr::memmem::Finder::new(needle);
        while self.on(block, terms::NS_WORDS)? {
            let value = self.it.value().unwrap_or_default();
            terms::for_each_entry(value, &mut |t, p| {
                if finder.find(t).is_some() {
                    p.rows_into(&mut out)?;
                }
                Ok(true)
            })?;
            self.it.next();
        }
        out.sort_unstable();
        out.dedup();
        terms::check_rows(&out, n_rows)?;
        Ok(out)
    }
}

/// What a block's term index says about `f`'s words, word substrings and trace ids: the rows
/// (ascending) that may pass them, and whether exactly those rows pass every condition of
/// `f` but time, service and level (then the block's columns need no test). `None` when the
/// block has no index, or nothing of `f` can be answered by it, or `f`'s terms may sit in the
/// block's attribute values (the index holds message words only).
fn index_rows(
    tr: &mut TermReader<'_>,
    c: &Candidate,
    f: &LogFilter,
) -> Result<Option<(Vec<usize>, bool)>> {
    if !c.summary.indexed || (c.terms_in_attrs && !f.terms.is_empty()) {
        return Ok(None);
    }
    let n = c.summary.count as usize;
    let mut acc: Option<Vec<usize>> = None;
    let mut exact = f.attributes.is_empty();
    let and = |acc: Option<Vec<usize>>, rows: Vec<usize>| match acc {
        None => Some(rows),
        Some(a) => Some(intersect_sorted(&a, &rows)),
    };
    for t in &f.terms {
        let words: Vec<String> = tokenize(t).collect();
        // A phrase of several words needs their order checked in the message.
        exact &= words.len() <= 1;
        for w in words {
            acc = and(acc, tr.rows(&c.key, terms::NS_WORDS, w.as_bytes(), n)?);
        }
    }
    // An empty `CONTAINS` matches every message.
    if let Some(needle) = f
        .contains
        .as_ref()
        .map(|c| c.to_lowercase())
        .filter(|c| !c.is_empty())
    {
        if index_answers_contains(&needle) {
            acc = and(acc, tr.rows_with_substring(&c.key, needle.as_bytes(), n)?);
        } else {
            exact = false;
        }
    }
    if !f.trace_ids.is_empty() {
        let mut rows = Vec::new();
        for t in &f.trace_ids {
            rows.extend(tr.rows(&c.key, terms::NS_TRACES, t.as_bytes(), n)?);
        }
        rows.sort_unstable();
        rows.dedup();
        acc = and(acc, rows);
    }
    Ok(acc.map(|rows| (rows, exact)))
}

/// True when the term index answers `message CONTAINS needle` (lower-cased): the needle is
/// ASCII letters, digits and `_` only, so every match lies inside one word. Other needles are
/// searched in the messages.
pub(crate) fn index_answers_contains(needle: &str) -> bool {
    !needle.is_empty()
        && needle
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A decoded block with the rows that match the query.
struct Hit<'a> {
    block: Block<'a>,
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
        let (blocks, new_dict) = i.add_blocks(&mut batch, &logs, WRITE_ZSTD_LEVEL, false)?;
        let small = blocks.iter().any(|(_, s)| s.count < MERGE_BELOW);
        {
            // Write and publish under the lock, so queries see blocks and summaries agree.
            let mut map = i.blocks.write().unwrap_or_else(PoisonError::into_inner);
            i.write(batch)?;
            i.publish_dict(new_dict);
            i.publish(&mut map, blocks);
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

    fn explain_log_filter(&self, f: &LogFilter) -> Vec<String> {
        let quote = |s: &str| format!("'{}'", s.replace('\'', "''"));
        let mut out = Vec::new();
        for t in &f.terms {
            match tokenize(t).count() {
                0 => {}
                1 => out.push(format!(
                    "MATCH({}): rows from the term index (postings) of merged blocks; Bloom \
                     filters and a scan of the messages in blocks not merged yet, and for \
                     attribute values",
                    quote(t)
                )),
                _ => out.push(format!(
                    "MATCH({}): rows holding every word from the term index, the phrase then \
                     checked in those messages only",
                    quote(t)
                )),
            }
        }
        if let Some(c) = &f.contains {
            if index_answers_contains(&c.to_lowercase()) {
                out.push(format!(
                    "message CONTAINS {}: rows from the term index (the words holding it)",
                    quote(c)
                ));
            } else if !c.is_empty() {
                out.push(format!(
                    "message CONTAINS {}: scan of the messages (not part of a single word, \
                     so the term index cannot answer it)",
                    quote(c)
                ));
            }
        }
        if !f.trace_ids.is_empty() {
            out.push("trace_id: rows from the term index (postings) of merged blocks".into());
        }
        out
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
        let (cands, snapshot) = i.candidates(start, end, f)?;
        let mut tr = TermReader::new(i, &snapshot)?;
        let mut counter = LogCounter::default();
        let mut to_read = Vec::new();
        for c in &cands {
            if !count_from_summary(q, &c.summary, start, end, &mut counter)? {
                let indexed = index_rows(&mut tr, c, f)?;
                if let Some((rows, true)) = &indexed
                    && count_from_index(q, &c.summary, start, end, rows.len(), &mut counter)
                {
                    continue;
                }
                to_read.push((c, indexed));
            }
        }
        if !counter.is_empty() && !visit(counter.take()) {
            return Ok(());
        }
        let mut ro = ReadOptions::default();
        ro.set_snapshot(&snapshot);
        // Per block: counts by (service index, level, bucket), then one row per group.
        let mut groups: HashMap<(u32, Level, i64), u64> = HashMap::new();
        for (c, indexed) in to_read {
            if indexed.as_ref().is_some_and(|(rows, _)| rows.is_empty()) {
                continue;
            }
            let block = i.read_block(&c.key, &ro)?;
            let cheap = block.cheap()?;
            let rows = filtered_rows(&block, &cheap, start, end, f, c.terms_in_attrs, indexed)?;
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
/// attributes when a full-text term may be in an attribute value of the block
/// (`terms_in_attrs`, see [`Candidate`]).
fn need_for(f: &LogFilter, terms_in_attrs: bool) -> Need {
    let mut need = Need::for_filter(f);
    need.attrs |= terms_in_attrs;
    need
}

/// The `rows` that may pass `f`'s full-text terms: those whose message passes every
/// message condition, and those with an attribute value holding the longest word of some
/// term (a term matched in an attribute value holds all its words there).
fn text_candidates(block: &Block<'_>, rows: Vec<usize>, f: &LogFilter) -> Result<Vec<usize>> {
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

/// The rows of a block in `[start, end)` passing `f`, in block order; `indexed`: what the
/// block's term index says (see [`index_rows`]).
fn filtered_rows(
    block: &Block<'_>,
    cheap: &Cheap,
    start: i64,
    end: i64,
    f: &LogFilter,
    terms_in_attrs: bool,
    indexed: Option<(Vec<usize>, bool)>,
) -> Result<Vec<usize>> {
    let mut rows = match indexed {
        Some((ix, exact)) => {
            let rows = cheap.keep_rows(ix.into_iter(), start, end, f);
            if exact {
                return Ok(rows);
            }
            rows
        }
        None => cheap.candidate_rows(start, end, f),
    };
    if rows.is_empty() {
        return Ok(rows);
    }
    let need_f = need_for(f, terms_in_attrs);
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

/// Adds the `n` records of a block that pass the filter's text and trace conditions, as its
/// term index counted them exactly, to `counter`, when nothing else needs the block: it lies
/// wholly in the range and in one time bucket, and neither the filter nor the grouping names
/// services or levels. Returns false when the block must be read.
fn count_from_index(
    q: &LogCount,
    s: &BlockSummary,
    start: i64,
    end: i64,
    n: usize,
    counter: &mut LogCounter,
) -> bool {
    let f = &q.filter;
    let by_row_fields =
        q.by_service || q.by_level || !f.services.is_empty() || !f.levels.is_empty();
    if by_row_fields
        || s.min_ts < start
        || s.max_ts >= end
        || q.bucket_of(s.min_ts) != q.bucket_of(s.max_ts)
    {
        return false;
    }
    if n > 0 {
        counter.add(q, "", Level::Unspecified, s.min_ts, n as u64);
    }
    true
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
        let (cands, snapshot) = i.candidates(start, end, f)?;
        let mut ro = ReadOptions::default();
        ro.set_snapshot(&snapshot);
        let mut tr = TermReader::new(i, &snapshot)?;

        // `None` for a block of no matching record, which the term index may tell without
        // reading the block.
        let mut hits: HashMap<usize, Option<Hit<'_>>> = HashMap::new();
        let mut decode = |idx: usize| -> Result<Option<Hit<'_>>> {
            let c = &cands[idx];
            let indexed = index_rows(&mut tr, c, f)?;
            if indexed.as_ref().is_some_and(|(rows, _)| rows.is_empty()) {
                return Ok(None);
            }
            let block = i.read_block(&c.key, &ro)?;
            let cheap = block.cheap()?;
            let rows = filtered_rows(&block, &cheap, start, end, f, c.terms_in_attrs, indexed)?;
            // A block without matches is not kept (nor its bytes pinned).
            Ok((!rows.is_empty()).then_some(Hit { block, cheap, rows }))
        };

        // The total: from summaries where a block lies wholly in range and the filter only
        // names services and levels; by decoding otherwise.
        let mut total = 0u64;
        for (idx, s) in cands
            .iter()
            .map(|c| &c.summary)
            .enumerate()
            .filter(|_| with_total)
        {
            if need_f.is_cheap() && s.min_ts >= start && s.max_ts < end {
                // `need_f` is cheap only without terms, so attributes never matter here.
                total += s.count_service_level(f);
            } else {
                let hit = decode(idx)?;
                total += hit.as_ref().map_or(0, |h| h.rows.len() as u64);
                hits.insert(idx, hit);
            }
        }

        // The page: visit blocks in order until no unvisited block can hold a better record.
        let want = q.offset.saturating_add(q.limit);
        let newest = q.order == Order::NewestFirst;
        let mut order: Vec<usize> = (0..cands.len()).collect();
        if newest {
            order.sort_by_key(|&x| std::cmp::Reverse(cands[x].summary.max_ts));
        } else {
            order.sort_by_key(|&x| cands[x].summary.min_ts);
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
                let s = &cands[idx].summary;
                if picked.len() >= want {
                    let kth = picked[want - 1].0;
                    if (newest && kth > s.max_ts) || (!newest && kth < s.min_ts) {
                        break;
                    }
                }
                if let std::collections::hash_map::Entry::Vacant(e) = hits.entry(idx) {
                    e.insert(decode(idx)?);
                }
                let Some(hit) = &hits[&idx] else {
                    continue;
                };
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
            let Some(hit) = hits.get(&idx).and_then(Option::as_ref) else {
                continue;
            };
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
        let (mut cands, snapshot) = i.candidates(start, end, f)?;
        if newest {
            cands.sort_by_key(|c| std::cmp::Reverse(c.summary.max_ts));
        } else {
            cands.sort_by_key(|c| c.summary.min_ts);
        }
        let mut ro = ReadOptions::default();
        ro.set_snapshot(&snapshot);
        let mut tr = TermReader::new(i, &snapshot)?;
        for c in &cands {
            let indexed = index_rows(&mut tr, c, f)?;
            if indexed.as_ref().is_some_and(|(rows, _)| rows.is_empty()) {
                continue;
            }
            let block = i.read_block(&c.key, &ro)?;
            let cheap = block.cheap()?;
            let mut rows = cheap.candidate_rows(start, end, f);
            let mut exact = false;
            if let Some((ix, e)) = indexed {
                rows = intersect_sorted(&rows, &ix);
                exact = e;
            }
            if rows.is_empty() {
                continue;
            }
            let need_f = need_for(f, c.terms_in_attrs);
            // Message conditions alone are tested on the body column in place.
            let body_only = need_f.body && !need_f.attrs && !need_f.trace;
            // Rows the term index gave exactly need no test.
            if !exact {
                if body_only {
                    rows = block.filter_bodies(rows, f)?;
                } else if !f.terms.is_empty() {
                    rows = text_candidates(&block, rows, f)?;
                }
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
            if !(need_f.is_cheap() || body_only || exact) {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::query::{LogCount, TimeRange};
    use crate::traits::Maintenance;
    use heimsight_core::{Timestamp, TraceId};

    const HOUR: i64 = 3_600_000_000_000;

    /// `n` records from `t0`, a second apart, with words, attributes and traces that vary.
    fn logs(t0: i64, n: usize, tag: &str) -> Vec<LogRecord> {
        (0..n)
            .map(|i| {
                let level = if i % 7 == 0 {
                    Level::Error
                } else {
                    Level::Info
                };
                let mut r = LogRecord::new(
                    Timestamp(t0 + i as i64 * 1_000_000_000),
                    level,
                    format!("{tag} request {i} word{} done", i % 13),
                );
                r.service = ["api", "db", "web"][i % 3].into();
                r.attributes
                    .insert("user".into(), format!("user{}", i % 11).into());
                if i % 5 == 0 {
                    r.trace_id = Some(TraceId([(i % 250) as u8 + 1; 16]));
                }
                r
            })
            .collect()
    }

    fn queries() -> Vec<LogFilter> {
        vec![
            LogFilter::default(),
            LogFilter {
                terms: vec!["word3".into()],
                ..Default::default()
            },
            LogFilter {
                terms: vec!["beta request".into(), "word1".into()],
                levels: vec![Level::Error],
                ..Default::default()
            },
            LogFilter {
                terms: vec!["user7".into()],
                ..Default::default()
            },
            LogFilter {
                terms: vec!["absent".into()],
                ..Default::default()
            },
            LogFilter {
                attributes: vec![("user".into(), "user4".into())],
                services: vec!["db".into()],
                ..Default::default()
            },
            LogFilter {
                trace_ids: [TraceId([6; 16]), TraceId([99; 16])].into(),
                ..Default::default()
            },
        ]
    }

    fn all_records(store: &RocksStore) -> Vec<LogRecord> {
        store
            .query_logs(&LogQuery {
                limit: usize::MAX,
                ..LogQuery::default()
            })
            .unwrap()
            .logs
    }

    /// Every record `scan` gives, batch after batch.
    fn scanned(store: &RocksStore, scan: &LogScan) -> Vec<LogRecord> {
        let mut out = Vec::new();
        store
            .scan_logs(scan, &mut |b| {
                out.extend(b);
                true
            })
            .unwrap();
        out
    }

    /// Checks every filter of [`queries`] against the reference semantics over `all`.
    fn check_queries(store: &RocksStore, all: &[LogRecord]) {
        for f in queries() {
            let want: Vec<LogRecord> = all.iter().filter(|r| f.matches(r)).cloned().collect();
            let page = store
                .query_logs(&LogQuery {
                    filter: f.clone(),
                    limit: usize::MAX,
                    ..LogQuery::default()
                })
                .unwrap();
            assert_eq!(page.total, want.len() as u64, "{f:?}");
            assert_eq!(page.logs, want, "{f:?}");
            let mut scanned = scanned(
                store,
                &LogScan {
                    filter: f.clone(),
                    ..LogScan::default()
                },
            );
            scanned.sort_by_key(|r| std::cmp::Reverse(r.timestamp));
            assert_eq!(scanned.len(), want.len(), "{f:?}");
            let mut counted = 0;
            store
                .count_logs(
                    &LogCount {
                        range: TimeRange::ALL,
                        filter: f.clone(),
                        by_service: true,
                        by_level: false,
                        bucket: Some(HOUR),
                    },
                    &mut |rows| {
                        counted += rows.iter().map(|r| r.count).sum::<u64>();
                        true
                    },
                )
                .unwrap();
            assert_eq!(counted, want.len() as u64, "{f:?}");
        }
    }

    /// Several appends over a few hours: many blocks, some merged.
    fn fill(store: &RocksStore) {
        store.append_logs(logs(0, 300, "alpha")).unwrap();
        store
            .append_logs(logs(HOUR - 50_000_000_000, 200, "beta"))
            .unwrap();
        store.inner.merge_all().unwrap();
        for k in 0..6 {
            store
                .append_logs(logs(2 * HOUR + k * 1_000_000_000_000, 40, "gamma"))
                .unwrap();
        }
        store.append_logs(logs(5 * HOUR, 250, "beta")).unwrap();
    }

    /// Records for the term index: a rare word in several cases and inside longer words, a
    /// phrase, non-ASCII text, a word found only in an attribute, traces; over two hours, in
    /// more than one frame per block.
    fn term_logs() -> Vec<LogRecord> {
        (0..6000usize)
            .map(|i| {
                let body = match i % 97 {
                    0 => format!("fatal: ledger imbalance detected for batch {i}"),
                    1 => format!("Ledger IMBALANCE in batch {}", i / 10),
                    2 => format!("books imbalanced after batch {i}"),
                    3 => "reimbalance scheduled".to_string(),
                    4 => "Straße gesperrt: imbalance".to_string(),
                    5 => String::new(),
                    _ => format!("GET /orders/{i} took {}ms", i % 89),
                };
                let level = if i % 97 < 2 {
                    Level::Fatal
                } else {
                    Level::Info
                };
                let mut r = LogRecord::new(Timestamp(i as i64 * 1_300_000_000), level, body);
                r.service = ["api", "db", "web"][i % 3].into();
                if i % 211 == 0 {
                    r.attributes.insert("note".into(), "audit imbalance".into());
                }
                if i % 4 == 0 {
                    r.trace_id = Some(TraceId([(i % 200) as u8 + 1; 16]));
                }
                r
            })
            .collect()
    }

    #[test]
    fn term_indexes_answer_every_query_as_the_records_do() {
        let recs = term_logs();
        let open = |dir: &std::path::Path| {
            let store = RocksStore::builder(dir)
                .background_merge(false)
                .open()
                .unwrap();
            for batch in recs.chunks(500) {
                store.append_logs(batch.to_vec()).unwrap();
            }
            store
        };
        let (tmp_a, tmp_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        // Before: small appended blocks, without term indexes. After: merged, indexed.
        let before = open(tmp_a.path());
        let after = open(tmp_b.path());
        after.inner.merge_all().unwrap();
        {
            let map = before.inner.blocks.read().unwrap();
            assert!(map.values().all(|s| !s.indexed));
            let map = after.inner.blocks.read().unwrap();
            assert!(map.values().filter(|s| s.indexed).count() >= 2);
        }
        let mut all = recs.clone();
        all.reverse();
        let trace = |b: u8| TraceId([b; 16]);
        let term = |t: &str| LogFilter {
            terms: vec![t.into()],
            ..Default::default()
        };
        let contains = |c: &str| LogFilter {
            contains: Some(c.into()),
            ..Default::default()
        };
        let filters = vec![
            term("imbalance"),
            term("IMBALANCE"),
            term("ledger imbalance"),
            term("imbalanced"),
            term("nothere"),
            term("audit"),
            LogFilter {
                terms: vec!["imbalance".into(), "batch".into()],
                levels: vec![Level::Fatal],
                ..Default::default()
            },
            contains("imbalance"),
            contains("Imbal"),
            contains("imbalance detected"),
            contains("straße"),
            contains("zzz"),
            LogFilter {
                trace_ids: [trace(1)].into(),
                ..Default::default()
            },
            LogFilter {
                trace_ids: [trace(5), trace(9), trace(250)].into(),
                services: vec!["api".into()],
                ..Default::default()
            },
            LogFilter {
                trace_ids: [trace(1)].into(),
                terms: vec!["imbalance".into()],
                ..Default::default()
            },
            LogFilter {
                contains: Some("imbalance".into()),
                attributes: vec![("note".into(), "audit imbalance".into())],
                ..Default::default()
            },
        ];
        let ranges = [
            TimeRange::ALL,
            TimeRange::new(Timestamp(1_000_000_000_000), Timestamp(5_000_000_000_000)),
        ];
        for f in &filters {
            for range in ranges {
                let want: Vec<LogRecord> = all
                    .iter()
                    .filter(|r| range.contains(r.timestamp) && f.matches(r))
                    .cloned()
                    .collect();
                assert!(want.len() < all.len(), "{f:?} should not match everything");
                for store in [&before, &after] {
                    let page = store
                        .query_logs(&LogQuery {
                            range,
                            filter: f.clone(),
                            limit: usize::MAX,
                            ..LogQuery::default()
                        })
                        .unwrap();
                    assert_eq!(page.total, want.len() as u64, "{f:?}");
                    assert_eq!(page.logs, want, "{f:?}");
                    for (order, limit) in [(Order::NewestFirst, 7), (Order::OldestFirst, 3)] {
                        let page = scanned(
                            store,
                            &LogScan {
                                range,
                                filter: f.clone(),
                                order,
                                limit,
                                ..LogScan::default()
                            },
                        );
                        let mut expect = want.clone();
                        if order == Order::OldestFirst {
                            expect.reverse();
                        }
                        expect.truncate(limit);
                        assert_eq!(page, expect, "{f:?} {order:?}");
                    }
                    let mut scanned = scanned(
                        store,
                        &LogScan {
                            range,
                            filter: f.clone(),
                            ..LogScan::default()
                        },
                    );
                    scanned.sort_by_key(|r| std::cmp::Reverse(r.timestamp));
                    assert_eq!(scanned, want, "{f:?}");
                    for (by_service, bucket) in [(false, None), (true, Some(HOUR / 6))] {
                        let mut counted: HashMap<(Option<String>, Option<i64>), u64> =
                            HashMap::new();
                        store
                            .count_logs(
                                &LogCount {
                                    range,
                                    filter: f.clone(),
                                    by_service,
                                    by_level: false,
                                    bucket,
                                },
                                &mut |rows| {
                                    for r in rows {
                                        *counted
                                            .entry((r.service, r.bucket.map(|b| b.0)))
                                            .or_default() += r.count;
                                    }
                                    true
                                },
                            )
                            .unwrap();
                        let mut expect: HashMap<(Option<String>, Option<i64>), u64> =
                            HashMap::new();
                        for r in &want {
                            let key = (
                                by_service.then(|| r.service.clone()),
                                bucket.map(|b| r.timestamp.0 - r.timestamp.0.rem_euclid(b)),
                            );
                            *expect.entry(key).or_default() += 1;
                        }
                        counted.retain(|_, n| *n > 0);
                        assert_eq!(counted, expect, "{f:?} by_service={by_service}");
                    }
                }
            }
        }
    }

    #[test]
    fn frame_dictionaries_are_made_once_and_survive_a_restart() {
        let tmp = tempfile::tempdir().unwrap();
        let open = || {
            RocksStore::builder(tmp.path())
                .background_merge(false)
                .open()
                .unwrap()
        };
        // Records a tenth of a second apart: 12,000 in the first 20 minutes.
        let recs: Vec<LogRecord> = logs(0, 12_000, "alpha")
            .into_iter()
            .enumerate()
            .map(|(i, mut r)| {
                r.timestamp = Timestamp(i as i64 * 100_000_000);
                r
            })
            .collect();
        let dict_ids = |store: &RocksStore| {
            let mut ids: Vec<u32> = store
                .inner
                .log_dicts
                .read()
                .unwrap()
                .keys()
                .copied()
                .collect();
            ids.sort_unstable();
            (ids, store.inner.current_dict().map_or(0, |d| d.id))
        };
        let all = {
            let store = open();
            for batch in recs[..8000].chunks(1000) {
                store.append_logs(batch.to_vec()).unwrap();
            }
            assert_eq!(dict_ids(&store), (vec![], 0), "appends alone make none");
            store.inner.merge_all().unwrap();
            assert_eq!(dict_ids(&store), (vec![1], 1));
            let all = all_records(&store);
            assert_eq!(all.len(), 8000);
            check_queries(&store, &all);
            all
        };
        let store = open();
        assert_eq!(dict_ids(&store), (vec![1], 1), "loaded at open");
        assert_eq!(all_records(&store), all);
        check_queries(&store, &all);
        // Later blocks use the same dictionaries: no new ones.
        for batch in recs[8000..].chunks(1000) {
            store.append_logs(batch.to_vec()).unwrap();
        }
        store.inner.merge_all().unwrap();
        assert_eq!(dict_ids(&store), (vec![1], 1));
        let all = all_records(&store);
        assert_eq!(all.len(), 12_000);
        drop(store);
        let store = open();
        assert_eq!(all_records(&store), all);
        check_queries(&store, &all);
    }

    #[test]
    fn merges_are_counted_in_the_stores_activity() {
        use crate::Maintenance as _;
        let tmp = tempfile::tempdir().unwrap();
        let store = RocksStore::builder(tmp.path())
            .background_merge(false)
            .open()
            .unwrap();
        assert_eq!(store.activity().log_merges, 0);
        fill(&store);
        let a = store.activity();
        assert!(a.log_merges >= 1, "{a:?}");
        assert!(a.log_blocks_merged >= 2 * a.log_merges, "{a:?}");
    }

    #[test]
    fn a_tiny_bloom_cache_answers_full_text_queries_after_reopening() {
        let tmp = tempfile::tempdir().unwrap();
        let cap = 2 << 10;
        let open = || {
            RocksStore::builder(tmp.path())
                .background_merge(false)
                .bloom_cache_bytes(cap)
                .open()
                .unwrap()
        };
        let all = {
            let store = open();
            fill(&store);
            assert!(store.inner.blooms.bytes() <= cap);
            let all = all_records(&store);
            assert_eq!(all.len(), 990);
            check_queries(&store, &all);
            all
        };
        let store = open();
        let blocks = store.inner.blocks.read().unwrap().len();
        assert!(blocks > 5, "{blocks} blocks");
        // Warmed at open, up to the budget and not past it.
        assert!(store.inner.blooms.bytes() <= cap);
        assert!(store.inner.blooms.len() > 0);
        assert!(store.inner.blooms.len() < blocks);
        check_queries(&store, &all);
        assert!(store.inner.bloom_loads.load(Ordering::Relaxed) > 0);
        assert!(store.inner.blooms.bytes() <= cap);
        assert_eq!(all_records(&store), all);
    }

    #[test]
    fn queries_without_bloom_conditions_read_no_filters() {
        let tmp = tempfile::tempdir().unwrap();
        let store = RocksStore::builder(tmp.path())
            .background_merge(false)
            .bloom_cache_bytes(0)
            .open()
            .unwrap();
        fill(&store);
        assert_eq!(store.inner.blooms.len(), 0);
        let loads = || store.inner.bloom_loads.load(Ordering::Relaxed);
        let cheap = [
            LogFilter::default(),
            LogFilter {
                services: vec!["api".into()],
                levels: vec![Level::Error],
                ..Default::default()
            },
            LogFilter {
                contains: Some("request 1".into()),
                ..Default::default()
            },
        ];
        for f in cheap {
            let q = LogQuery {
                range: TimeRange::new(Timestamp(100), Timestamp(3 * HOUR)),
                filter: f.clone(),
                ..LogQuery::default()
            };
            store.query_logs(&q).unwrap();
            store
                .scan_logs(
                    &LogScan {
                        filter: f.clone(),
                        ..LogScan::default()
                    },
                    &mut |_| true,
                )
                .unwrap();
            store
                .count_logs(
                    &LogCount {
                        range: TimeRange::ALL,
                        filter: f,
                        by_service: true,
                        by_level: true,
                        bucket: None,
                    },
                    &mut |_| true,
                )
                .unwrap();
        }
        assert_eq!(loads(), 0);
        // With nothing cached, a full-text query reads one filter per block in range.
        let blocks = store.inner.blocks.read().unwrap().len() as u64;
        let all = all_records(&store);
        check_queries(&store, &all);
        assert!(loads() >= blocks, "{} < {blocks}", loads());
        assert_eq!(store.inner.blooms.len(), 0);
    }

    /// Merging reads the blocks it rewrites without putting them in the block cache: the
    /// cache is for queries, and ingestion alone must not grow it.
    #[test]
    fn merging_does_not_fill_the_block_cache() {
        let tmp = tempfile::tempdir().unwrap();
        let store = RocksStore::builder(tmp.path())
            .background_merge(false)
            .open()
            .unwrap();
        for k in 0..24 {
            store
                .append_logs(logs(k * 900_000_000_000, 400, "merge"))
                .unwrap();
        }
        let i = &store.inner;
        i.db.flush_cf(i.cf(CF_LOG_BLOCKS).unwrap()).unwrap();
        i.db.flush_cf(i.cf(CF_LOG_SUMMARIES).unwrap()).unwrap();
        let on_disk = i.cf_bytes(&[CF_LOG_BLOCKS]);
        let blocks = i.blocks.read().unwrap().len();
        let before = i.cache.get_usage();
        i.merge_all().unwrap();
        assert!(i.blocks.read().unwrap().len() < blocks);
        let grown = i.cache.get_usage().saturating_sub(before);
        // Reading every block with the cache filled would add about `on_disk`.
        assert!(on_disk > 16 << 10, "{on_disk}");
        assert!(grown < on_disk as usize / 8, "{grown} of {on_disk}");
        assert_eq!(all_records(&store).len(), 24 * 400);
    }

    #[test]
    fn the_cache_fills_from_queries_and_forgets_removed_blocks() {
        let tmp = tempfile::tempdir().unwrap();
        let store = RocksStore::builder(tmp.path())
            .background_merge(false)
            .open()
            .unwrap();
        let loads = || store.inner.bloom_loads.load(Ordering::Relaxed);
        // Every cached filter is a live block's; with `all`, every live block is cached.
        let cached_are_live = |all: bool| {
            let map = store.inner.blocks.read().unwrap();
            let live = map.keys().filter(|k| store.inner.blooms.get(k).is_some());
            assert_eq!(live.count(), store.inner.blooms.len());
            if all {
                assert_eq!(store.inner.blooms.len(), map.len());
            }
        };
        fill(&store);
        // Ingestion caches nothing.
        assert_eq!(store.inner.blooms.len(), 0);
        let all = all_records(&store);
        check_queries(&store, &all);
        let blocks = store.inner.blocks.read().unwrap().len() as u64;
        assert!(loads() >= blocks, "{} < {blocks}", loads());
        cached_are_live(true);
        // The same queries again: every filter from the cache.
        let before = loads();
        check_queries(&store, &all);
        assert_eq!(loads(), before);

        // Merging removes the merged blocks' filters; the new block's is read once.
        let n = store.inner.blocks.read().unwrap().len();
        store.compact().unwrap();
        assert!(store.inner.blocks.read().unwrap().len() < n);
        cached_are_live(false);
        assert!(store.inner.blooms.len() < n);
        check_queries(&store, &all);
        cached_are_live(true);
        let before = loads();
        check_queries(&store, &all);
        assert_eq!(loads(), before);

        store
            .delete_before(crate::query::Signal::Logs, Timestamp(2 * HOUR + 1))
            .unwrap();
        cached_are_live(false);
        let rest = all_records(&store);
        assert!(!rest.is_empty() && rest.len() < all.len());
        check_queries(&store, &rest);
    }

    #[test]
    fn removed_block_keys_never_come_back() {
        let tmp = tempfile::tempdir().unwrap();
        let mut seen = std::collections::BTreeSet::new();
        let mut gone = std::collections::BTreeSet::new();
        let mut check = |store: &RocksStore| {
            let map = store.inner.blocks.read().unwrap();
            for k in map.keys() {
                assert!(!gone.contains(k), "a removed block's key came back");
            }
            gone.extend(seen.iter().filter(|k| !map.contains_key(*k)).copied());
            seen.extend(map.keys().copied());
        };
        // Within a process, and after reopening (the cache starts empty then, but keys of
        // stored blocks are not reused either).
        for round in 0..2 {
            let store = RocksStore::builder(tmp.path())
                .background_merge(false)
                .open()
                .unwrap();
            for k in 0..3 {
                store.append_logs(logs(k * HOUR + round, 20, "x")).unwrap();
                check(&store);
            }
            store.inner.merge_all().unwrap();
            check(&store);
            store
                .delete_before(crate::query::Signal::Logs, Timestamp(HOUR))
                .unwrap();
            check(&store);
            store.append_logs(logs(round, 5, "y")).unwrap();
            check(&store);
        }
        assert!(!gone.is_empty());
    }
}
