//! Log blocks: many records stored together, column by column, each column compressed with
//! zstd; and the block summaries (time range, per-service level counts, a Bloom filter of
//! message tokens, attribute pairs and trace ids) that let queries skip blocks.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use heimsight_core::{
    AttributeValue, Attributes, Level, LogRecord, Scope, SpanId, Timestamp, TraceId,
};

use super::attrs;
use super::bloom::{self, Bloom};
use super::codec::{Reader, Writer};
use super::dict::ColumnDicts;
use crate::error::{Error, Result};
use crate::hash::FastHash;
use crate::query::{LogFilter, contains_ci, is_token_char, tokenize};

/// Format version of blocks written: 2 stores the row-heavy columns in frames (see
/// [`framed`]), 3 names the zstd dictionaries of those frames (see `dict`), 4 stores
/// attributes typed (see `attrs`); 1 to 3 are still read.
pub(crate) const BLOCK_VERSION: u8 = 4;
/// Format version of a block summary: 2 added the per-second counts and attribute-value
/// tokens, 3 a flag saying whether the tokens are there, 4 one saying whether the block has
/// a term index; 1 to 3 are still read.
const SUMMARY_VERSION: u8 = 4;
/// Nanoseconds per second.
const NS_PER_SEC: i64 = 1_000_000_000;

const C_TS: u8 = 0;
const C_OBS: u8 = 1;
const C_SEV: u8 = 2;
const C_SEVTEXT: u8 = 3;
const C_SERVICE: u8 = 4;
const C_BODY: u8 = 5;
const C_ATTRS: u8 = 6;
const C_RESOURCE: u8 = 7;
const C_SCOPE: u8 = 8;
const C_TRACE: u8 = 9;
const C_SPAN: u8 = 10;
const C_MISC: u8 = 11;
pub(crate) const N_COLS: usize = 12;

/// Bloom filter bits per distinct key (about 1% false positives).
const BLOOM_BITS_PER_KEY: usize = 10;

/// Summary of a block, kept in memory for every block: all of the stored summary but its
/// Bloom filter, which is most of its size and is kept apart, in a byte-capped cache
/// (`bloom_cache`), so that memory does not grow with the store.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BlockSummary {
    pub(crate) min_ts: i64,
    pub(crate) max_ts: i64,
    pub(crate) count: u32,
    /// Per service, the number of records at each level (indexed by `Level::index`).
    pub(crate) services: Vec<(String, [u32; 7])>,
    /// Compressed size of the block, bytes.
    pub(crate) bytes: u32,
    /// Records per second of the block (see [`seconds_histogram`]); `None` in summaries
    /// written before it existed.
    pub(crate) seconds: Option<Box<[u8]>>,
    /// Whether the Bloom filter holds the tokens of string attribute values. Blocks that the
    /// background merge will rewrite are written without them (the merge adds them), and
    /// version 1 summaries never had them; full-text terms then search the block's attribute
    /// columns.
    pub(crate) attr_tokens: bool,
    /// Whether the block has a term index (see `terms`): blocks written by merges do.
    pub(crate) indexed: bool,
}

/// The longest lower-case word every body passing `f`'s message conditions contains: the
/// lower-cased `contains` text and the tokens of the terms. `None` when there is none, or
/// when one is not ASCII (then the search over the column is not exact).
fn body_needle(f: &LogFilter) -> Option<String> {
    let mut words: Vec<String> = f.terms.iter().flat_map(|t| tokenize(t)).collect();
    if let Some(c) = &f.contains {
        words.push(c.to_lowercase());
    }
    if words.iter().any(|w| !w.is_ascii()) {
        return None;
    }
    words
        .into_iter()
        .max_by_key(String::len)
        .filter(|w| !w.is_empty())
}

/// The values in both ascending lists.
pub(crate) fn intersect_sorted(a: &[usize], b: &[usize]) -> Vec<usize> {
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

/// Decodes [`seconds_histogram`]'s output, calling `f(second, records)` in order.
fn decode_seconds(raw: &[u8], f: &mut dyn FnMut(i64, u64)) -> Result<()> {
    let mut r = Reader::new(raw, "log block per-second counts");
    let n = r.len()?;
    let mut sec = r.zigzag()?;
    for _ in 0..n {
        sec = sec.wrapping_add(r.varint()? as i64);
        f(sec, r.varint()?);
    }
    Ok(())
}

/// Encodes how many of the (sorted) timestamps fall in each Unix second: the count of
/// distinct seconds, the first second, then per second the gap to the previous one and the
/// count. A block spans at most an hour, so this is small.
pub(crate) fn seconds_histogram(sorted_ts: impl Iterator<Item = i64>) -> Box<[u8]> {
    let mut runs: Vec<(i64, u64)> = Vec::new();
    for t in sorted_ts {
        let sec = t.div_euclid(NS_PER_SEC);
        match runs.last_mut() {
            Some((s, n)) if *s == sec => *n += 1,
            _ => runs.push((sec, 1)),
        }
    }
    let mut w = Writer::with_capacity(runs.len() * 3 + 10);
    w.varint(runs.len() as u64);
    let mut prev = runs.first().map_or(0, |r| r.0);
    w.zigzag(prev);
    for (sec, n) in runs {
        w.varint(sec.wrapping_sub(prev) as u64);
        w.varint(n);
        prev = sec;
    }
    w.buf.into_boxed_slice()
}

/// True when testing `f` against a block summary needs the block's Bloom filter (full-text
/// terms, attribute equality, trace ids); time, service and level conditions do not.
pub(crate) fn needs_bloom(f: &LogFilter) -> bool {
    !f.terms.is_empty() || !f.attributes.is_empty() || !f.trace_ids.is_empty()
}

/// Reads the part of a stored summary before its Bloom filter: version, time range, counts,
/// compressed size and per-service level counts (the services only when `services`, else
/// skipped without allocating).
struct Head {
    version: u8,
    min_ts: i64,
    max_ts: i64,
    count: u32,
    bytes: u32,
    services: Vec<(String, [u32; 7])>,
}

fn decode_head(r: &mut Reader<'_>, services: bool) -> Result<Head> {
    let version = r.u8()?;
    if !(1..=SUMMARY_VERSION).contains(&version) {
        return Err(r.corrupt(format!("unknown summary version {version}")));
    }
    let min_ts = r.zigzag()?;
    let max_ts = r.zigzag()?;
    let count = u32::try_from(r.varint()?).map_err(|_| r.corrupt("count"))?;
    let bytes = u32::try_from(r.varint()?).map_err(|_| r.corrupt("bytes"))?;
    let n = r.len()?;
    let mut out = Vec::with_capacity(if services { n.min(1024) } else { 0 });
    for _ in 0..n {
        let s = if services {
            r.string()?
        } else {
            r.bytes()?;
            String::new()
        };
        let mut counts = [0u32; 7];
        for c in &mut counts {
            *c = u32::try_from(r.varint()?).map_err(|_| r.corrupt("level count"))?;
        }
        if services {
            out.push((s, counts));
        }
    }
    Ok(Head {
        version,
        min_ts,
        max_ts,
        count,
        bytes,
        services: out,
    })
}

/// The Bloom filter of a stored summary, without decoding the rest.
pub(crate) fn decode_bloom(b: &[u8]) -> Result<Bloom> {
    let mut r = Reader::new(b, "log block summary");
    decode_head(&mut r, false)?;
    Bloom::decode(&mut r)
}

impl BlockSummary {
    /// Bytes this summary takes in memory (about), with its entry in the block map.
    pub(crate) fn mem_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self
                .services
                .iter()
                .map(|(s, _)| std::mem::size_of::<(String, [u32; 7])>() + s.capacity())
                .sum::<usize>()
            + self.seconds.as_ref().map_or(0, |s| s.len())
            // The `Arc` counts, and the key and pointer in the map.
            + 2 * std::mem::size_of::<usize>()
            + 20
            + std::mem::size_of::<usize>()
    }

    /// The stored form of this summary with its Bloom filter.
    pub(crate) fn encode(&self, bloom: &Bloom) -> Vec<u8> {
        let seconds = self.seconds.as_deref().unwrap_or(&[]);
        let mut w = Writer::with_capacity(bloom.size_bytes() + seconds.len() + 128);
        w.u8(if self.seconds.is_some() {
            SUMMARY_VERSION
        } else {
            1
        });
        w.zigzag(self.min_ts);
        w.zigzag(self.max_ts);
        w.varint(u64::from(self.count));
        w.varint(u64::from(self.bytes));
        w.varint(self.services.len() as u64);
        for (s, counts) in &self.services {
            w.str(s);
            for c in counts {
                w.varint(u64::from(*c));
            }
        }
        bloom.encode(&mut w);
        if self.seconds.is_some() {
            w.bytes(seconds);
            w.u8(u8::from(self.attr_tokens));
            w.u8(u8::from(self.indexed));
        }
        w.buf
    }

    /// Decodes a stored summary, with its Bloom filter when `with_bloom` (else the filter is
    /// checked for size only and skipped, and `None` is returned for it).
    pub(crate) fn decode(b: &[u8], with_bloom: bool) -> Result<(Self, Option<Bloom>)> {
        let mut r = Reader::new(b, "log block summary");
        let Head {
            version: v,
            min_ts,
            max_ts,
            count,
            bytes,
            services,
        } = decode_head(&mut r, true)?;
        let bloom = if with_bloom {
            Some(Bloom::decode(&mut r)?)
        } else {
            Bloom::skip(&mut r)?;
            None
        };
        let seconds = if v >= 2 {
            let raw = r.bytes()?;
            // Reject counts that do not add up to the block's records now, so that counting
            // from them later cannot go wrong.
            let mut total = 0u64;
            decode_seconds(raw, &mut |_, n| total += n)?;
            if total != u64::from(count) {
                return Err(r.corrupt("per-second counts do not add up"));
            }
            Some(raw.into())
        } else {
            None
        };
        let attr_tokens = match v {
            1 => false,
            2 => true,
            _ => r.u8()? != 0,
        };
        let indexed = v >= 4 && r.u8()? != 0;
        let summary = BlockSummary {
            min_ts,
            max_ts,
            count,
            services,
            bytes,
            seconds,
            attr_tokens,
            indexed,
        };
        Ok((summary, bloom))
    }

    /// Calls `f(second, records)` for each Unix second holding records of the block, in
    /// order. Returns false (calling nothing) when the summary has no per-second counts.
    pub(crate) fn for_each_second(&self, f: &mut dyn FnMut(i64, u64)) -> Result<bool> {
        let Some(raw) = &self.seconds else {
            return Ok(false);
        };
        decode_seconds(raw, f)?;
        Ok(true)
    }

    /// Records in this block with an allowed service and level (the block-level part of a
    /// filter); counts every record when the filter names neither.
    pub(crate) fn count_service_level(&self, f: &LogFilter) -> u64 {
        let mut n = 0u64;
        for (s, counts) in &self.services {
            if !f.services.is_empty() && !f.services.contains(s) {
                continue;
            }
            if f.levels.is_empty() {
                n += counts.iter().map(|c| u64::from(*c)).sum::<u64>();
            } else {
                n += f
                    .levels
                    .iter()
                    .map(|l| u64::from(counts[l.index()]))
                    .sum::<u64>();
            }
        }
        n
    }

    /// False when the block certainly has no text (of the kind `seed` names) with every
    /// token of `term`.
    fn may_hold(bloom: &Bloom, seed: u64, term: &str) -> bool {
        tokenize(term).all(|t| bloom.may_contain(bloom::hash(seed, t.as_bytes())))
    }

    /// False when no attribute value of the block can hold `term` (by `bloom`, the block's
    /// filter); always true for summaries without attribute value tokens.
    fn attrs_may_hold(&self, bloom: &Bloom, term: &str) -> bool {
        !self.attr_tokens || Self::may_hold(bloom, bloom::SEED_ATTR_TOKEN, term)
    }

    /// True when some term of `f` may be held by an attribute value of the block (by
    /// `bloom`, the block's filter): then matching needs the attributes, not just the message.
    pub(crate) fn terms_need_attrs(&self, bloom: &Bloom, f: &LogFilter) -> bool {
        f.terms.iter().any(|t| self.attrs_may_hold(bloom, t))
    }

    /// False when no record of the block has a service and level the filter allows: the
    /// part of block pruning that needs no Bloom filter.
    pub(crate) fn may_match_counts(&self, f: &LogFilter) -> bool {
        (f.services.is_empty() && f.levels.is_empty()) || self.count_service_level(f) > 0
    }

    /// False when `bloom`, the block's filter, shows that no record of the block can pass
    /// the filter's terms, attribute pairs or trace ids: the part of block pruning that needs
    /// it (always true when [`needs_bloom`] is false).
    ///
    /// The filter of a block with a term index holds no message words nor trace ids (the
    /// index answers for them, exactly): for such a block, only attribute values are tested.
    pub(crate) fn bloom_may_match(&self, bloom: &Bloom, f: &LogFilter) -> bool {
        if !self.indexed {
            for term in &f.terms {
                if !Self::may_hold(bloom, bloom::SEED_TOKEN, term)
                    && !self.attrs_may_hold(bloom, term)
                {
                    return false;
                }
            }
        }
        for (k, v) in &f.attributes {
            if !bloom.may_contain(attr_hash(k, v)) {
                return false;
            }
        }
        if !self.indexed
            && !f.trace_ids.is_empty()
            && !f
                .trace_ids
                .iter()
                .any(|t| bloom.may_contain(bloom::hash(bloom::SEED_TRACE, t.as_bytes())))
        {
            return false;
        }
        true
    }

    /// False when no record of the block can match the filter (`bloom`: the block's filter).
    #[cfg(test)]
    pub(crate) fn may_match(&self, bloom: &Bloom, f: &LogFilter) -> bool {
        self.may_match_counts(f) && self.bloom_may_match(bloom, f)
    }
}

fn attr_hash(k: &str, v: &str) -> u64 {
    let mut key = Vec::with_capacity(k.len() + v.len() + 1);
    key.extend_from_slice(k.as_bytes());
    key.push(0);
    key.extend_from_slice(v.as_bytes());
    bloom::hash(bloom::SEED_ATTR, &key)
}

/// [`attr_hash`] of a key and a value's text, reusing `scratch` instead of allocating.
fn attr_value_hash(k: &str, v: &AttributeValue, scratch: &mut String) -> u64 {
    scratch.clear();
    scratch.push_str(k);
    scratch.push('\0');
    match v {
        AttributeValue::String(s) => scratch.push_str(s),
        AttributeValue::Int(i) => {
            let _ = write!(scratch, "{i}");
        }
        AttributeValue::Bool(b) => {
            let _ = write!(scratch, "{b}");
        }
        other => scratch.push_str(&other.to_text()),
    }
    bloom::hash(bloom::SEED_ATTR, scratch.as_bytes())
}

/// Pushes the Bloom hash of every token of `text` (the tokens of [`tokenize`]), lowercasing
/// into `scratch` only the tokens that need it.
fn token_hashes(text: &str, scratch: &mut String, out: &mut Vec<u64>) {
    seeded_token_hashes(bloom::SEED_TOKEN, text, scratch, out);
}

/// [`token_hashes`] with another seed (for the tokens of attribute values).
fn seeded_token_hashes(seed: u64, text: &str, scratch: &mut String, out: &mut Vec<u64>) {
    for t in text.split(|c: char| !is_token_char(c)) {
        if t.is_empty() {
            continue;
        }
        let h = if !t.is_ascii() {
            bloom::hash(seed, t.to_lowercase().as_bytes())
        } else if t.bytes().any(|b| b.is_ascii_uppercase()) {
            scratch.clear();
            scratch.extend(t.bytes().map(|b| char::from(b.to_ascii_lowercase())));
            bloom::hash(seed, scratch.as_bytes())
        } else {
            bloom::hash(seed, t.as_bytes())
        };
        out.push(h);
    }
}

thread_local! {
    /// A zstd compressor per thread and level, so appends do not create a context per column.
    static COMPRESSOR: std::cell::RefCell<Option<(i32, zstd::bulk::Compressor<'static>)>> =
        const { std::cell::RefCell::new(None) };
}

thread_local! {
    /// A zstd decompressor per thread: creating one per frame costs more than decompressing
    /// a small frame.
    static DECOMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        const { std::cell::RefCell::new(None) };
    /// Another, for frames with a dictionary (set before each use), so that the first one
    /// never holds a dictionary.
    static DICT_DECOMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        const { std::cell::RefCell::new(None) };
}

fn compress(data: &[u8], level: i32) -> Result<Vec<u8>> {
    let zerr = |e: std::io::Error| Error::backend("zstd", e);
    COMPRESSOR.with(|c| {
        let mut c = c.borrow_mut();
        if c.as_ref().is_none_or(|(l, _)| *l != level) {
            *c = Some((level, zstd::bulk::Compressor::new(level).map_err(zerr)?));
        }
        match c.as_mut() {
            Some((_, comp)) => comp.compress(data).map_err(zerr),
            None => Err(Error::backend("zstd", "no compressor")),
        }
    })
}

/// Interns strings to dense indexes.
#[derive(Default)]
struct Dict<'a> {
    map: HashMap<&'a str, u32>,
    items: Vec<&'a str>,
}

impl<'a> Dict<'a> {
    fn id(&mut self, s: &'a str) -> u32 {
        if let Some(i) = self.map.get(s) {
            return *i;
        }
        let i = self.items.len() as u32;
        self.items.push(s);
        self.map.insert(s, i);
        i
    }
}

fn bitmap_set(bm: &mut [u8], i: usize) {
    bm[i / 8] |= 1 << (i % 8);
}

fn bitmap_get(bm: &[u8], i: usize) -> bool {
    bm.get(i / 8).is_some_and(|b| b & (1 << (i % 8)) != 0)
}

/// Whether the row indexes into a dictionary of `entries` are single bytes: in blocks of
/// version 4 when there are at most 256 entries (else, and before, varints).
fn narrow_indexes(entries: usize, version: u8) -> bool {
    version >= 4 && entries <= 256
}

/// Writes the row indexes into a dictionary column of `entries` (see [`narrow_indexes`]).
fn write_indexes(w: &mut Writer, idx: &[u32], entries: usize, version: u8) {
    if narrow_indexes(entries, version) {
        w.buf.extend(idx.iter().map(|&i| i as u8));
    } else {
        for &i in idx {
            w.varint(u64::from(i));
        }
    }
}

/// Reads one row index into a dictionary column of `entries` (see [`narrow_indexes`]),
/// checked against `entries`.
fn read_index(r: &mut Reader<'_>, entries: usize, version: u8) -> Result<usize> {
    let i = if narrow_indexes(entries, version) {
        r.u8()? as usize
    } else {
        r.len()?
    };
    if i >= entries {
        return Err(r.corrupt("dictionary index out of range"));
    }
    Ok(i)
}

/// Rows per frame of the row-heavy columns of a version 2 block (see [`framed`]).
pub(crate) const FRAME_ROWS: usize = 1024;
/// Rows per frame of messages in a version 4 block: smaller, since a page of records read
/// from many blocks decompresses one message frame per record.
const BODY_FRAME_ROWS: usize = 256;

/// Rows per frame of column `id` (framed) in a block of format `version`.
fn frame_rows_of(id: u8, version: u8) -> usize {
    if version >= 4 && id == C_BODY {
        BODY_FRAME_ROWS
    } else {
        FRAME_ROWS
    }
}

/// True for the columns a version 2 block stores in frames of [`FRAME_ROWS`] rows, each
/// compressed on its own, so that building a few records decompresses one frame per column
/// rather than whole columns. The other columns (timestamps, levels, services, and the
/// dictionaries of resources and scopes) are read whole by every query of a block anyway.
fn framed(id: u8) -> bool {
    matches!(id, C_OBS | C_BODY | C_ATTRS | C_TRACE | C_SPAN | C_MISC)
}

/// Encodes one of the row-heavy columns (see [`framed`]) of `recs`, for a block of format
/// `version`.
fn encode_rows(id: u8, recs: &[LogRecord], version: u8) -> Vec<u8> {
    let n = recs.len();
    let mut w = Writer::default();
    match id {
        C_OBS => {
            for r in recs {
                let obs = if r.observed_timestamp.0 == 0 {
                    0
                } else {
                    let d = r.observed_timestamp.0.wrapping_sub(r.timestamp.0);
                    (((d << 1) ^ (d >> 63)) as u64).wrapping_add(1)
                };
                w.varint(obs);
            }
        }
        C_BODY => {
            // Lengths, then bytes.
            for r in recs {
                w.varint(r.body.len() as u64);
            }
            for r in recs {
                w.raw(r.body.as_bytes());
            }
        }
        C_ATTRS if version >= 4 => attrs::encode_frame(recs, &mut w),
        C_ATTRS => {
            // One stream per key: presence bitmap then the values of present rows. One pass
            // over the records fills every key's stream; keys are then written in sorted order.
            let mut streams: HashMap<&str, (Vec<u8>, Writer), FastHash> = HashMap::default();
            for (i, r) in recs.iter().enumerate() {
                for (k, v) in &r.attributes {
                    let (bm, vw) = streams
                        .entry(k.as_str())
                        .or_insert_with(|| (vec![0u8; n.div_ceil(8)], Writer::default()));
                    bitmap_set(bm, i);
                    vw.value(v);
                }
            }
            let mut keys: Vec<(&str, (Vec<u8>, Writer))> = streams.into_iter().collect();
            keys.sort_unstable_by(|a, b| a.0.cmp(b.0));
            w.varint(keys.len() as u64);
            for (k, (bm, vals)) in &keys {
                w.str(k);
                w.raw(bm);
                w.raw(&vals.buf);
            }
        }
        C_TRACE | C_SPAN => {
            // Presence bitmap, then the ids of present rows.
            let id_of = |r: &LogRecord| -> Option<Vec<u8>> {
                if id == C_TRACE {
                    r.trace_id.as_ref().map(|t| t.as_bytes().to_vec())
                } else {
                    r.span_id.as_ref().map(|s| s.as_bytes().to_vec())
                }
            };
            let mut bm = vec![0u8; n.div_ceil(8)];
            let mut ids = Vec::new();
            for (i, r) in recs.iter().enumerate() {
                if let Some(b) = id_of(r) {
                    bitmap_set(&mut bm, i);
                    ids.extend_from_slice(&b);
                }
            }
            w.raw(&bm);
            w.raw(&ids);
        }
        C_MISC => {
            for r in recs {
                w.varint(u64::from(r.flags));
                w.varint(u64::from(r.dropped_attributes_count));
            }
        }
        _ => {}
    }
    w.buf
}

/// Encodes records (sorted by timestamp) into a block at a zstd level. Returns the block, its
/// summary and the summary's Bloom filter; `attr_tokens`: whether the filter gets the tokens
/// of string attribute values (see [`BlockSummary::attr_tokens`]); `indexed`: whether the
/// block gets a term index (written by the caller), which then stands in for the message
/// words and trace ids in the filter (see [`BlockSummary::bloom_may_match`]).
///
/// `dicts`: the dictionaries to compress the frames of messages and attributes with.
pub(crate) fn encode_block(
    recs: &[LogRecord],
    level: i32,
    attr_tokens: bool,
    indexed: bool,
    dicts: Option<&ColumnDicts>,
) -> Result<(Vec<u8>, BlockSummary, Bloom)> {
    // Blocks without a term index are appended ones, which a merge soon rewrites: they take
    // the cheaper version 3 encoding of attributes.
    let version = if indexed { BLOCK_VERSION } else { 3 };
    encode_block_version(recs, level, attr_tokens, indexed, version, dicts)
}

/// What a dictionary for column `col` is sampled from (see [`ColumnDicts::sample`]): the
/// encoded column of `recs` for messages and attributes; nothing for the other columns (ids
/// are random, the rest small).
pub(crate) fn dict_content(col: u8, recs: &[LogRecord], version: u8) -> Vec<u8> {
    match col {
        C_BODY | C_ATTRS => encode_rows(col, recs, version),
        _ => Vec::new(),
    }
}

/// [`encode_block`] in a given block format version (1: every column whole; 2: the
/// row-heavy columns in frames). Only tests write version 1, to check it is still read.
pub(crate) fn encode_block_version(
    recs: &[LogRecord],
    level: i32,
    attr_tokens: bool,
    indexed: bool,
    version: u8,
    dicts: Option<&ColumnDicts>,
) -> Result<(Vec<u8>, BlockSummary, Bloom)> {
    let n = recs.len();
    let mut cols: Vec<Writer> = (0..N_COLS).map(|_| Writer::default()).collect();

    // Timestamps and levels.
    let mut prev = 0i64;
    for r in recs {
        cols[C_TS as usize].zigzag(r.timestamp.0.wrapping_sub(prev));
        prev = r.timestamp.0;
        cols[C_SEV as usize].u8(r.severity_number);
    }

    // Dictionary columns.
    let mut dict_col = |id: u8, get: &dyn Fn(&LogRecord) -> &str| {
        let mut d = Dict::default();
        let idx: Vec<u32> = recs.iter().map(|r| d.id(get(r))).collect();
        let w = &mut cols[id as usize];
        w.varint(d.items.len() as u64);
        for s in &d.items {
            w.str(s);
        }
        write_indexes(w, &idx, d.items.len(), version);
    };
    dict_col(C_SEVTEXT, &|r| r.severity_text.as_str());
    dict_col(C_SERVICE, &|r| r.service.as_str());

    // Resources and scopes: dictionaries of encoded values. Records usually share them (often
    // the very same map, see `SharedAttributes`), so a value seen at the same address is not
    // encoded again; other values are found by their encoding. `first_of_resource`: whether
    // a record is the first with its resource (the Bloom filter takes each resource's pairs
    // once).
    let mut first_of_resource = vec![false; n];
    for id in [C_RESOURCE, C_SCOPE] {
        let mut map: HashMap<Vec<u8>, u32, FastHash> = HashMap::default();
        let mut items: Vec<Vec<u8>> = Vec::new();
        let mut idx: Vec<u32> = Vec::with_capacity(n);
        let mut scratch = Writer::default();
        // Entries by the address of the shared value: the records hold their `Arc`s while
        // this runs, so an address stands for one value.
        let mut by_ptr: HashMap<usize, u32, FastHash> = HashMap::default();
        for (row, r) in recs.iter().enumerate() {
            let ptr = if id == C_RESOURCE {
                Arc::as_ptr(&r.resource) as usize
            } else {
                Arc::as_ptr(&r.scope) as usize
            };
            if let Some(&i) = by_ptr.get(&ptr) {
                idx.push(i);
                continue;
            }
            scratch.buf.clear();
            if id == C_RESOURCE {
                scratch.attributes(&r.resource);
            } else {
                scratch.scope(&r.scope);
            }
            let i = match map.get(scratch.buf.as_slice()) {
                Some(&i) => i,
                None => {
                    let i = items.len() as u32;
                    items.push(scratch.buf.clone());
                    map.insert(scratch.buf.clone(), i);
                    if id == C_RESOURCE {
                        first_of_resource[row] = true;
                    }
                    i
                }
            };
            by_ptr.insert(ptr, i);
            idx.push(i);
        }
        let w = &mut cols[id as usize];
        w.varint(items.len() as u64);
        for it in &items {
            w.bytes(it);
        }
        write_indexes(w, &idx, items.len(), version);
    }

    // Assemble: header, then each column compressed (version 2: the row-heavy ones frame by
    // frame, with the count of frames first).
    let min_ts = recs.first().map_or(0, |r| r.timestamp.0);
    let max_ts = recs.last().map_or(0, |r| r.timestamp.0);
    let mut out = Writer::with_capacity(n * 48);
    out.u8(version);
    out.varint(n as u64);
    out.zigzag(min_ts);
    out.zigzag(max_ts);
    if version >= 2 {
        out.varint(FRAME_ROWS as u64);
    }
    let dicts = dicts.filter(|_| version >= 3);
    if version >= 3 {
        out.varint(u64::from(dicts.map_or(0, |d| d.id)));
    }
    out.varint(N_COLS as u64);
    let zerr = |e: std::io::Error| Error::backend("zstd", e);
    for id in 0..N_COLS as u8 {
        out.u8(id);
        if framed(id) && version >= 2 {
            let frame_rows = frame_rows_of(id, version);
            if version >= 4 {
                out.varint(frame_rows as u64);
            }
            out.varint(n.div_ceil(frame_rows) as u64);
            let mut with_dict = match dicts.and_then(|d| d.raw(id)) {
                Some(d) => Some(zstd::bulk::Compressor::with_dictionary(level, d).map_err(zerr)?),
                None => None,
            };
            for chunk in recs.chunks(frame_rows) {
                let raw = encode_rows(id, chunk, version);
                out.varint(raw.len() as u64);
                match with_dict.as_mut() {
                    Some(c) => out.bytes(&c.compress(&raw).map_err(zerr)?),
                    None => out.bytes(&compress(&raw, level)?),
                }
            }
        } else {
            let raw = if framed(id) {
                encode_rows(id, recs, version)
            } else {
                std::mem::take(&mut cols[id as usize].buf)
            };
            out.varint(raw.len() as u64);
            out.bytes(&compress(&raw, level)?);
        }
    }

    // Summary.
    let mut services: Vec<(String, [u32; 7])> = Vec::new();
    let mut hashes: Vec<u64> = Vec::with_capacity(n * 8);
    let mut scratch = String::new();
    let mut last_service = usize::MAX;
    // Attribute pairs whose value was already tokenized: most values repeat within a block.
    let mut tokenized: std::collections::HashSet<u64, FastHash> =
        std::collections::HashSet::default();
    for (row, r) in recs.iter().enumerate() {
        let li = r.level().index();
        let si = match services.get(last_service) {
            Some((s, _)) if *s == r.service => last_service,
            _ => match services.iter().position(|(s, _)| *s == r.service) {
                Some(p) => p,
                None => {
                    services.push((r.service.clone(), [0u32; 7]));
                    services.len() - 1
                }
            },
        };
        services[si].1[li] += 1;
        last_service = si;
        if !indexed {
            token_hashes(&r.body, &mut scratch, &mut hashes);
        }
        let resource = if first_of_resource[row] {
            Some(r.resource.iter())
        } else {
            None
        };
        for (k, v) in r.attributes.iter().chain(resource.into_iter().flatten()) {
            let pair = attr_value_hash(k, v, &mut scratch);
            hashes.push(pair);
            if attr_tokens
                && let AttributeValue::String(s) = v
                && tokenized.insert(pair)
            {
                seeded_token_hashes(bloom::SEED_ATTR_TOKEN, s, &mut scratch, &mut hashes);
            }
        }
        if let Some(t) = r.trace_id.as_ref().filter(|_| !indexed) {
            hashes.push(bloom::hash(bloom::SEED_TRACE, t.as_bytes()));
        }
    }
    hashes.sort_unstable();
    hashes.dedup();
    let bloom = Bloom::from_hashes(&hashes, BLOOM_BITS_PER_KEY);
    let summary = BlockSummary {
        min_ts,
        max_ts,
        count: n as u32,
        services,
        bytes: out.buf.len() as u32,
        seconds: Some(seconds_histogram(recs.iter().map(|r| r.timestamp.0))),
        attr_tokens,
        indexed,
    };
    Ok((out.buf, summary, bloom))
}

/// Which columns to decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Need {
    pub(crate) body: bool,
    pub(crate) attrs: bool,
    pub(crate) trace: bool,
    pub(crate) all: bool,
}

impl Need {
    pub(crate) const ALL: Need = Need {
        body: true,
        attrs: true,
        trace: true,
        all: true,
    };

    /// The columns a filter reads beyond timestamp, service and level.
    pub(crate) fn for_filter(f: &LogFilter) -> Need {
        Need {
            body: f.contains.is_some() || !f.terms.is_empty(),
            attrs: !f.attributes.is_empty(),
            trace: !f.trace_ids.is_empty(),
            all: false,
        }
    }

    /// True when the filter needs no column beyond timestamp, service and level.
    pub(crate) fn is_cheap(&self) -> bool {
        !(self.body || self.attrs || self.trace || self.all)
    }
}

/// One compressed frame of a column: rows `start..start + rows`, `raw_len` bytes once
/// decompressed, stored at `at..at + len` of the block.
#[derive(Debug, Clone, Copy)]
struct Frame {
    start: usize,
    rows: usize,
    raw_len: usize,
    at: usize,
    len: usize,
}

/// A parsed block whose columns are decompressed on demand, frame by frame (a column of a
/// version 1 block, and a column a version 2 block keeps whole, is one frame of every row).
#[derive(Debug)]
pub(crate) struct Block<'a> {
    pub(crate) count: usize,
    /// The block's format version.
    version: u8,
    raw: BlockBytes<'a>,
    /// The dictionaries its framed columns were compressed with.
    dicts: Option<Arc<ColumnDicts>>,
    /// Per column, its frames in row order (empty: the column is missing).
    cols: Vec<Vec<Frame>>,
}

/// The stored bytes of a block: pinned where RocksDB holds them (no copy), or (in tests)
/// copied.
enum BlockBytes<'a> {
    #[cfg(test)]
    Owned(Vec<u8>),
    Pinned(rocksdb::DBPinnableSlice<'a>),
}

impl std::fmt::Debug for BlockBytes<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} bytes", self.as_ref().len())
    }
}

impl AsRef<[u8]> for BlockBytes<'_> {
    fn as_ref(&self) -> &[u8] {
        match self {
            #[cfg(test)]
            BlockBytes::Owned(v) => v,
            BlockBytes::Pinned(p) => p,
        }
    }
}

/// The lengths of a body frame of `n` rows turned into offsets (`n + 1` of them), and the
/// bytes of the bodies.
fn body_offsets(data: &[u8], n: usize) -> Result<(Vec<usize>, &[u8])> {
    let mut r = Reader::new(data, "log bodies");
    let mut offsets = Vec::with_capacity(n + 1);
    let mut at = 0usize;
    for _ in 0..n {
        offsets.push(at);
        at = at
            .checked_add(r.len()?)
            .ok_or_else(|| r.corrupt("body lengths"))?;
    }
    offsets.push(at);
    Ok((offsets, r.take(at)?))
}

/// The format version, the row count, the dictionary id (0: none) and the frames of every
/// column of a stored block.
fn parse_frames(raw: &[u8]) -> Result<(u8, usize, u32, Vec<Vec<Frame>>)> {
    let mut r = Reader::new(raw, "log block");
    let v = r.u8()?;
    if !(1..=BLOCK_VERSION).contains(&v) {
        return Err(r.corrupt(format!("unknown block version {v}")));
    }
    let count = r.len()?;
    let _min = r.zigzag()?;
    let _max = r.zigzag()?;
    let frame_rows = if v >= 2 { r.len()? } else { count };
    if v >= 2 && frame_rows == 0 {
        return Err(r.corrupt("frames of no rows"));
    }
    let dict_id = if v >= 3 {
        u32::try_from(r.varint()?).map_err(|_| r.corrupt("dictionary id"))?
    } else {
        0
    };
    let ncols = r.len()?;
    let base = raw.as_ptr() as usize;
    let mut cols: Vec<Vec<Frame>> = (0..N_COLS).map(|_| Vec::new()).collect();
    for _ in 0..ncols {
        let id = r.u8()?;
        let in_frames = v >= 2 && framed(id);
        let (nframes, rows_per) = if in_frames {
            // Version 4 gives each column's rows per frame.
            let frame_rows = if v >= 4 { r.len()? } else { frame_rows };
            if frame_rows == 0 {
                return Err(r.corrupt("frames of no rows"));
            }
            let n = r.len()?;
            if n != count.div_ceil(frame_rows) {
                return Err(r.corrupt(format!("column {id}: {n} frames")));
            }
            (n, frame_rows)
        } else {
            (1, count)
        };
        let mut frames = Vec::with_capacity(nframes);
        for f in 0..nframes {
            let raw_len = usize::try_from(r.varint()?).map_err(|_| r.corrupt("len"))?;
            let z = r.bytes()?;
            let start = f * rows_per;
            frames.push(Frame {
                start,
                rows: rows_per.min(count - start),
                raw_len,
                at: z.as_ptr() as usize - base,
                len: z.len(),
            });
        }
        if let Some(c) = cols.get_mut(id as usize) {
            *c = frames;
        }
    }
    Ok((v, count, dict_id, cols))
}

/// The dictionaries of a block's id, found by `lookup`; an error for an id not found.
fn block_dicts(
    id: u32,
    lookup: &dyn Fn(u32) -> Option<Arc<ColumnDicts>>,
) -> Result<Option<Arc<ColumnDicts>>> {
    if id == 0 {
        return Ok(None);
    }
    lookup(id).map(Some).ok_or_else(|| Error::Corrupt {
        what: "log block",
        reason: format!("unknown dictionary {id}"),
    })
}

#[cfg(test)]
impl Block<'static> {
    /// Parses a block from a copy of its bytes (without dictionaries).
    pub(crate) fn parse(raw: &[u8]) -> Result<Self> {
        Self::parse_with(raw, &|_| None)
    }

    /// Parses a block from a copy of its bytes, its dictionaries found by `lookup`.
    pub(crate) fn parse_with(
        raw: &[u8],
        lookup: &dyn Fn(u32) -> Option<Arc<ColumnDicts>>,
    ) -> Result<Self> {
        let (version, count, dict_id, cols) = parse_frames(raw)?;
        Ok(Block {
            count,
            version,
            raw: BlockBytes::Owned(raw.to_vec()),
            dicts: block_dicts(dict_id, lookup)?,
            cols,
        })
    }
}

impl<'a> Block<'a> {
    /// Parses a block in place, where RocksDB pinned it; its dictionaries found by `lookup`.
    pub(crate) fn from_pinned(
        raw: rocksdb::DBPinnableSlice<'a>,
        lookup: &dyn Fn(u32) -> Option<Arc<ColumnDicts>>,
    ) -> Result<Self> {
        let (version, count, dict_id, cols) = parse_frames(&raw)?;
        Ok(Block {
            count,
            version,
            dicts: block_dicts(dict_id, lookup)?,
            raw: BlockBytes::Pinned(raw),
            cols,
        })
    }

    /// Compressed bytes of each column (all its frames).
    #[cfg(test)]
    pub(crate) fn column_sizes(&self) -> Vec<usize> {
        self.cols
            .iter()
            .map(|fr| fr.iter().map(|f| f.len).sum())
            .collect()
    }

    fn missing(id: u8) -> Error {
        Error::Corrupt {
            what: "log block",
            reason: format!("column {id} missing"),
        }
    }

    fn decompress(&self, id: u8, f: &Frame) -> Result<Vec<u8>> {
        let z = &self.raw.as_ref()[f.at..f.at + f.len];
        let corrupt = |e: std::io::Error| Error::Corrupt {
            what: "log block",
            reason: format!("column {id}: {e}"),
        };
        let dict = self
            .dicts
            .as_ref()
            .filter(|_| framed(id))
            .and_then(|d| d.decoder(id));
        let local = if dict.is_some() {
            &DICT_DECOMPRESSOR
        } else {
            &DECOMPRESSOR
        };
        local.with(|d| {
            let mut d = d.borrow_mut();
            if d.is_none() {
                *d = Some(zstd::bulk::Decompressor::new().map_err(corrupt)?);
            }
            match d.as_mut() {
                Some(d) => {
                    if let Some(dict) = dict {
                        d.set_prepared_dictionary(dict).map_err(corrupt)?;
                    }
                    d.decompress(z, f.raw_len).map_err(corrupt)
                }
                None => Err(Error::backend("zstd", "no decompressor")),
            }
        })
    }

    /// A column kept whole (one frame of every row).
    fn column(&self, id: u8) -> Result<Vec<u8>> {
        match self.cols[id as usize].as_slice() {
            [f] if f.rows == self.count => self.decompress(id, f),
            [] if self.count == 0 => Ok(Vec::new()),
            [] => Err(Self::missing(id)),
            _ => Err(Error::Corrupt {
                what: "log block",
                reason: format!("column {id} is in frames"),
            }),
        }
    }

    /// Calls `f(data, start, n, k)` for each frame of column `id` holding some of `rows`
    /// (ascending): the frame's data decompressed, its first row and its number of rows, and
    /// the range of `rows` in it. Frames without any of `rows` are not decompressed.
    fn each_frame(
        &self,
        id: u8,
        rows: &[usize],
        mut f: impl FnMut(&[u8], usize, usize, std::ops::Range<usize>) -> Result<()>,
    ) -> Result<()> {
        let frames = &self.cols[id as usize];
        if frames.is_empty() && !rows.is_empty() {
            return Err(Self::missing(id));
        }
        let mut k = 0;
        for fr in frames {
            let k0 = k;
            while k < rows.len() && rows[k] < fr.start + fr.rows {
                k += 1;
            }
            if k > k0 {
                let data = self.decompress(id, fr)?;
                f(&data, fr.start, fr.rows, k0..k)?;
            }
        }
        Ok(())
    }

    /// Decodes the cheap columns (timestamps, levels, services) of every row.
    pub(crate) fn cheap(&self) -> Result<Cheap> {
        let n = self.count;
        let ts_raw = self.column(C_TS)?;
        let mut r = Reader::new(&ts_raw, "log timestamps");
        let mut ts = Vec::with_capacity(n);
        let mut prev = 0i64;
        for _ in 0..n {
            prev = prev.wrapping_add(r.zigzag()?);
            ts.push(prev);
        }
        let sev = self.column(C_SEV)?;
        if sev.len() != n {
            return Err(Error::Corrupt {
                what: "log block",
                reason: "severity column length".into(),
            });
        }
        let (sevtext_dict, sevtext) = self.dict(C_SEVTEXT)?;
        // Levels by severity number, and by text (parsed once per entry) for rows without one.
        let by_text: Vec<Level> = sevtext_dict
            .iter()
            .map(|t| t.parse().unwrap_or(Level::Unspecified))
            .collect();
        let levels = sev
            .iter()
            .zip(&sevtext)
            .map(|(&number, &text)| {
                if number != 0 {
                    Level::from_severity_number(number)
                } else {
                    by_text[text as usize]
                }
            })
            .collect();
        let (service_dict, service) = self.dict(C_SERVICE)?;
        Ok(Cheap {
            ts,
            sev,
            levels,
            sevtext_dict,
            sevtext,
            service_dict,
            service,
        })
    }

    fn dict(&self, id: u8) -> Result<(Vec<String>, Vec<u32>)> {
        let raw = self.column(id)?;
        let mut r = Reader::new(&raw, "log dictionary column");
        let nd = r.len()?;
        let mut dict = Vec::with_capacity(nd.min(self.count + 1));
        for _ in 0..nd {
            dict.push(r.string()?);
        }
        let mut idx = Vec::with_capacity(self.count);
        for _ in 0..self.count {
            idx.push(read_index(&mut r, nd, self.version)? as u32);
        }
        Ok((dict, idx))
    }

    /// The `rows` (ascending) with a string attribute value, of the record or its resource,
    /// holding one of `words` (lower-case) case-insensitively: the rows a full-text term can
    /// match through attributes, found without building records.
    pub(crate) fn rows_with_attr_words(
        &self,
        rows: &[usize],
        words: &[String],
    ) -> Result<Vec<usize>> {
        let n = self.count;
        let mut hit = vec![false; n];
        let ascii_words = words.iter().all(|w| w.is_ascii());
        // True when the (ASCII) text holds a word; non-ASCII text is tested as `contains_ci`
        // does, since Unicode lower-casing can turn other letters into ASCII ones.
        let holds_bytes = |b: &[u8]| -> Result<bool> {
            if ascii_words && b.is_ascii() {
                Ok(words.iter().any(|w| {
                    let w = w.as_bytes();
                    w.is_empty() || b.windows(w.len()).any(|x| x.eq_ignore_ascii_case(w))
                }))
            } else {
                let s = std::str::from_utf8(b).map_err(|_| Error::Corrupt {
                    what: "log attributes",
                    reason: "invalid UTF-8".into(),
                })?;
                Ok(words.iter().any(|w| contains_ci(s, w)))
            }
        };
        // A whole frame without any of the words (ASCII) needs no closer look.
        let may_hold = |col: &[u8]| {
            !(ascii_words && col.is_ascii()) || {
                let lower = col.to_ascii_lowercase();
                words
                    .iter()
                    .any(|w| memchr::memmem::find(&lower, w.as_bytes()).is_some())
            }
        };
        self.each_frame(C_ATTRS, rows, |data, start, fn_rows, _| {
            if self.version >= 4 {
                for s in attrs::parse_frame(data, fn_rows)? {
                    if s.strings_in_payload() && !may_hold(s.payload()) {
                        continue;
                    }
                    s.for_each_text(fn_rows, |i, t| {
                        if let attrs::Text::Str(b) = t {
                            let h = holds_bytes(b)?;
                            hit[start + i] |= h;
                        }
                        Ok(())
                    })?;
                }
                return Ok(());
            }
            if !may_hold(data) {
                return Ok(());
            }
            let mut r = Reader::new(data, "log attributes");
            let nk = r.len()?;
            for _ in 0..nk {
                r.bytes()?; // the key
                let bm = r.take(fn_rows.div_ceil(8))?;
                for i in 0..fn_rows {
                    if !bitmap_get(bm, i) {
                        continue;
                    }
                    if r.peek_u8()? == 0 {
                        r.u8()?;
                        let h = holds_bytes(r.bytes()?)?;
                        hit[start + i] |= h;
                    } else {
                        // Only top-level strings are searched, as in `attributes_have_phrase`.
                        r.skip_value()?;
                    }
                }
            }
            Ok(())
        })?;
        // Resources: each distinct one is tested once.
        let raw = self.column(C_RESOURCE)?;
        if may_hold(&raw) {
            let mut r = Reader::new(&raw, "log resources");
            let nd = r.len()?;
            let mut dict = Vec::with_capacity(nd.min(n + 1));
            for _ in 0..nd {
                let mut inner = Reader::new(r.bytes()?, "log resource");
                let mut holds = false;
                for v in inner.attributes()?.values() {
                    if let AttributeValue::String(s) = v {
                        holds |= holds_bytes(s.as_bytes())?;
                    }
                }
                dict.push(holds);
            }
            for h in hit.iter_mut() {
                *h |= dict[read_index(&mut r, nd, self.version)?];
            }
        }
        Ok(rows
            .iter()
            .copied()
            .filter(|&i| hit.get(i) == Some(&true))
            .collect())
    }

    /// Keeps the `rows` (ascending row numbers) whose body passes the filter's message
    /// conditions (`contains`, `terms`), reading the body column in place without building
    /// records, and only the frames holding some of `rows`.
    ///
    /// When a frame is ASCII and the conditions name an ASCII word, one search for that
    /// word over the whole lower-cased frame finds the few rows worth testing: a body
    /// that passes contains every such word, case-insensitively, within its own bytes.
    pub(crate) fn filter_bodies(&self, rows: Vec<usize>, f: &LogFilter) -> Result<Vec<usize>> {
        let needle = body_needle(f);
        let mut out = Vec::new();
        self.each_frame(C_BODY, &rows, |data, start, n, k| {
            let (offsets, bodies) = body_offsets(data, n)?;
            let mine: Vec<usize> = rows[k].iter().map(|r| r - start).collect();
            let cands = match &needle {
                Some(needle) if bodies.is_ascii() => {
                    let lower = bodies.to_ascii_lowercase();
                    let mut hits: Vec<usize> = Vec::new();
                    for pos in memchr::memmem::find_iter(&lower, needle.as_bytes()) {
                        // The body holding `pos`; the word must end inside it too.
                        let row = offsets.partition_point(|&o| o <= pos) - 1;
                        if pos + needle.len() <= offsets[row + 1] && hits.last() != Some(&row) {
                            hits.push(row);
                        }
                    }
                    intersect_sorted(&mine, &hits)
                }
                _ => mine,
            };
            for rel in cands {
                let b =
                    bodies
                        .get(offsets[rel]..offsets[rel + 1])
                        .ok_or_else(|| Error::Corrupt {
                            what: "log bodies",
                            reason: "body out of range".into(),
                        })?;
                let text = std::str::from_utf8(b).map_err(|_| Error::Corrupt {
                    what: "log bodies",
                    reason: "invalid UTF-8 in body".into(),
                })?;
                if f.matches_body(text) {
                    out.push(start + rel);
                }
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// Builds records for `rows` (ascending row numbers), with the columns in `need`
    /// (timestamp, level and service always). Unneeded fields stay at their defaults.
    pub(crate) fn records(
        &self,
        cheap: &Cheap,
        rows: &[usize],
        need: Need,
    ) -> Result<Vec<LogRecord>> {
        let mut out: Vec<LogRecord> = rows
            .iter()
            .map(|&i| LogRecord {
                timestamp: Timestamp(cheap.ts[i]),
                severity_number: cheap.sev[i],
                severity_text: cheap.sevtext_dict[cheap.sevtext[i] as usize].clone(),
                service: cheap.service_dict[cheap.service[i] as usize].clone(),
                ..LogRecord::default()
            })
            .collect();
        if rows.is_empty() {
            return Ok(out);
        }
        let corrupt = |what: &'static str, reason: &str| Error::Corrupt {
            what,
            reason: reason.into(),
        };
        if need.body {
            self.each_frame(C_BODY, rows, |data, start, n, k| {
                let (offsets, bodies) = body_offsets(data, n)?;
                for j in k {
                    let rel = rows[j] - start;
                    let b = bodies
                        .get(offsets[rel]..offsets[rel + 1])
                        .ok_or_else(|| corrupt("log bodies", "body out of range"))?;
                    out[j].body = std::str::from_utf8(b)
                        .map_err(|_| corrupt("log bodies", "invalid UTF-8 in body"))?
                        .to_string();
                }
                Ok(())
            })?;
        }
        if need.attrs {
            self.each_frame(C_ATTRS, rows, |data, start, n, k| {
                if self.version >= 4 {
                    // `k`'s rows relative to the frame.
                    let mine: Vec<usize> = rows[k.clone()].iter().map(|r| r - start).collect();
                    for s in attrs::parse_frame(data, n)? {
                        s.for_each_at(n, &mine, |j, v| {
                            out[k.start + j].attributes.insert(s.key.to_string(), v);
                        })?;
                    }
                    return Ok(());
                }
                let mut r = Reader::new(data, "log attributes");
                let nk = r.len()?;
                for _ in 0..nk {
                    let key = r.str()?;
                    let bm = r.take(n.div_ceil(8))?;
                    let mut j = k.start;
                    for i in 0..n {
                        if !bitmap_get(bm, i) {
                            continue;
                        }
                        while j < k.end && rows[j] - start < i {
                            j += 1;
                        }
                        if j < k.end && rows[j] - start == i {
                            let v = r.value()?;
                            out[j].attributes.insert(key.to_string(), v);
                        } else {
                            r.skip_value()?;
                        }
                    }
                }
                Ok(())
            })?;
            self.dict_values(
                C_RESOURCE,
                rows,
                &mut out,
                |r| r.attributes().map(Arc::new),
                |rec, v: Arc<Attributes>| rec.resource = v,
            )?;
        }
        if need.trace || need.all {
            for (id, width) in [(C_TRACE, 16usize), (C_SPAN, 8)] {
                self.each_frame(id, rows, |data, start, n, k| {
                    let mut r = Reader::new(data, "log trace and span ids");
                    let bm = r.take(n.div_ceil(8))?;
                    let ids = r.take(data.len() - n.div_ceil(8))?;
                    // The ids of present rows, in order: a row's is after those of the
                    // present rows before it.
                    let mut j = k.start;
                    let mut seen = 0usize;
                    for i in 0..n {
                        if !bitmap_get(bm, i) {
                            continue;
                        }
                        while j < k.end && rows[j] - start < i {
                            j += 1;
                        }
                        if j < k.end && rows[j] - start == i {
                            let b = ids
                                .get(seen * width..(seen + 1) * width)
                                .ok_or_else(|| r.corrupt("id out of range"))?;
                            if id == C_TRACE {
                                out[j].trace_id =
                                    Some(TraceId::from_slice(b).map_err(|e| r.corrupt(e))?);
                            } else {
                                out[j].span_id =
                                    Some(SpanId::from_slice(b).map_err(|e| r.corrupt(e))?);
                            }
                        }
                        seen += 1;
                    }
                    Ok(())
                })?;
            }
        }
        if need.trace || need.all {
            self.dict_values(
                C_SCOPE,
                rows,
                &mut out,
                |r| r.scope().map(Arc::new),
                |rec, v: Arc<Scope>| rec.scope = v,
            )?;
            self.each_frame(C_OBS, rows, |data, start, n, k| {
                let mut r = Reader::new(data, "log observed timestamps");
                let mut j = k.start;
                for i in 0..n {
                    let v = r.varint()?;
                    if j < k.end && rows[j] - start == i {
                        if v != 0 {
                            let z = v - 1;
                            let delta = ((z >> 1) as i64) ^ -((z & 1) as i64);
                            out[j].observed_timestamp =
                                Timestamp(out[j].timestamp.0.wrapping_add(delta));
                        }
                        j += 1;
                    }
                }
                Ok(())
            })?;
            self.each_frame(C_MISC, rows, |data, start, n, k| {
                let mut r = Reader::new(data, "log flags");
                let mut j = k.start;
                for i in 0..n {
                    let flags = r.varint()?;
                    let dropped = r.varint()?;
                    if j < k.end && rows[j] - start == i {
                        out[j].flags = u32::try_from(flags).unwrap_or(u32::MAX);
                        out[j].dropped_attributes_count =
                            u32::try_from(dropped).unwrap_or(u32::MAX);
                        j += 1;
                    }
                }
                Ok(())
            })?;
        }
        Ok(out)
    }

    fn dict_values<T: Clone>(
        &self,
        id: u8,
        rows: &[usize],
        out: &mut [LogRecord],
        read: impl Fn(&mut Reader<'_>) -> Result<T>,
        set: impl Fn(&mut LogRecord, T),
    ) -> Result<()> {
        let raw = self.column(id)?;
        let mut r = Reader::new(&raw, "log dictionary values");
        let nd = r.len()?;
        // The entries' bytes; an entry is decoded when a wanted row first uses it.
        let mut entries: Vec<(&[u8], Option<T>)> = Vec::with_capacity(nd.min(self.count + 1));
        for _ in 0..nd {
            entries.push((r.bytes()?, None));
        }
        // The entry of each wanted row: read directly when indexes are single bytes, else by
        // walking the indexes up to the last wanted row.
        let mut of_rows = Vec::with_capacity(rows.len());
        if narrow_indexes(nd, self.version) {
            let idx = r.take(self.count)?;
            for &row in rows {
                let i = *idx.get(row).ok_or_else(|| r.corrupt("row out of range"))? as usize;
                if i >= nd {
                    return Err(r.corrupt("dictionary index out of range"));
                }
                of_rows.push(i);
            }
        } else {
            let mut want = rows.iter().peekable();
            for i in 0..self.count {
                if want.peek().is_none() {
                    break;
                }
                let idx = read_index(&mut r, nd, self.version)?;
                if want.next_if(|row| **row == i).is_some() {
                    of_rows.push(idx);
                }
            }
        }
        for (rec, idx) in out.iter_mut().zip(of_rows) {
            let (b, v) = &mut entries[idx];
            let v = match v {
                Some(v) => v,
                None => v.insert(read(&mut Reader::new(b, "log dictionary value"))?),
            };
            set(rec, v.clone());
        }
        Ok(())
    }
}

/// The cheap columns of a block.
#[derive(Debug)]
pub(crate) struct Cheap {
    pub(crate) ts: Vec<i64>,
    sev: Vec<u8>,
    pub(crate) levels: Vec<Level>,
    sevtext_dict: Vec<String>,
    sevtext: Vec<u32>,
    service_dict: Vec<String>,
    service: Vec<u32>,
}

impl Cheap {
    /// The service dictionary index of a row.
    pub(crate) fn service_index(&self, row: usize) -> u32 {
        self.service[row]
    }

    /// The service of a dictionary index (empty when out of range).
    pub(crate) fn service_name(&self, index: u32) -> &str {
        self.service_dict
            .get(index as usize)
            .map_or("", String::as_str)
    }

    /// Rows in `[start, end)` whose service and level pass the filter.
    pub(crate) fn candidate_rows(&self, start: i64, end: i64, f: &LogFilter) -> Vec<usize> {
        self.keep_rows(0..self.ts.len(), start, end, f)
    }

    /// The `rows` in `[start, end)` whose service and level pass the filter.
    pub(crate) fn keep_rows(
        &self,
        rows: impl Iterator<Item = usize>,
        start: i64,
        end: i64,
        f: &LogFilter,
    ) -> Vec<usize> {
        let n = self.ts.len();
        if f.services.is_empty() && f.levels.is_empty() {
            if self.ts.first().is_some_and(|&t| t >= start)
                && self.ts.last().is_some_and(|&t| t < end)
            {
                // Timestamps are sorted: every row is in range.
                return rows.filter(|&i| i < n).collect();
            }
            return rows
                .filter(|&i| self.ts.get(i).is_some_and(|&t| t >= start && t < end))
                .collect();
        }
        let allowed: Vec<bool> = self
            .service_dict
            .iter()
            .map(|s| f.services.is_empty() || f.services.contains(s))
            .collect();
        rows.filter(|&i| {
            i < n
                && self.ts[i] >= start
                && self.ts[i] < end
                && allowed[self.service[i] as usize]
                && (f.levels.is_empty() || f.levels.contains(&self.levels[i]))
        })
        .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use heimsight_core::AttributeValue;

    #[test]
    fn token_hashes_match_query_tokens() {
        let texts = [
            "GET /api/v1/Orders took 35ms",
            "ΣΟΦΟΣ said: Straße_42 ÉCOLE",
            "",
            "  --  ",
            "user_id=42 ecc_uncorrectable",
        ];
        for t in texts {
            let mut got = Vec::new();
            token_hashes(t, &mut String::new(), &mut got);
            let want: Vec<u64> = tokenize(t)
                .map(|tok| bloom::hash(bloom::SEED_TOKEN, tok.as_bytes()))
                .collect();
            assert_eq!(got, want, "{t}");
        }
    }

    #[test]
    fn attr_value_hash_matches_text_form() {
        let vals = [
            AttributeValue::String("GET".into()),
            AttributeValue::Int(-7),
            AttributeValue::Bool(true),
            AttributeValue::Double(0.5),
        ];
        for v in vals {
            assert_eq!(
                attr_value_hash("k", &v, &mut String::new()),
                attr_hash("k", &v.to_text())
            );
        }
    }

    #[test]
    fn body_filters_agree_with_the_reference_on_ascii_and_other_text() {
        let ascii = [
            "GET /users 200",
            "connection REFUSED by db",
            "refused",
            "connection\trefused",
            "",
            "kernel panic: refusedconnection",
        ];
        let mixed = [
            "Straße gesperrt",
            "\u{212A}ernel panic",
            "café REFUSED",
            "ÉCHEC refused",
        ];
        let filters = [
            LogFilter {
                terms: vec!["refused".into()],
                ..Default::default()
            },
            LogFilter {
                terms: vec!["connection refused".into(), "db".into()],
                ..Default::default()
            },
            LogFilter {
                contains: Some("ReFuSeD".into()),
                ..Default::default()
            },
            LogFilter {
                contains: Some("\u{212A}ERNEL".into()),
                ..Default::default()
            },
            LogFilter {
                terms: vec!["kernel".into()],
                ..Default::default()
            },
            LogFilter {
                terms: vec!["échec".into()],
                ..Default::default()
            },
            LogFilter {
                contains: Some(String::new()),
                terms: vec!["...".into()],
                ..Default::default()
            },
        ];
        for bodies in [&ascii[..], &mixed[..]] {
            let recs: Vec<LogRecord> = bodies
                .iter()
                .enumerate()
                .map(|(i, b)| LogRecord::new(Timestamp(i as i64), Level::Info, *b))
                .collect();
            let (raw, _, _) = encode_block(&recs, 1, true, false, None).unwrap();
            let block = Block::parse(&raw).unwrap();
            let all: Vec<usize> = (0..recs.len()).collect();
            for f in &filters {
                let want: Vec<usize> = all
                    .iter()
                    .copied()
                    .filter(|&i| f.matches_body(&recs[i].body))
                    .collect();
                assert_eq!(block.filter_bodies(all.clone(), f).unwrap(), want, "{f:?}");
                // Only some candidate rows.
                let odd: Vec<usize> = all.iter().copied().filter(|i| i % 2 == 1).collect();
                let want_odd: Vec<usize> = want.iter().copied().filter(|i| i % 2 == 1).collect();
                assert_eq!(block.filter_bodies(odd, f).unwrap(), want_odd, "{f:?}");
            }
        }
    }

    #[test]
    fn attribute_word_rows_agree_with_the_records() {
        let mut recs = Vec::new();
        for i in 0..40i64 {
            let mut r = LogRecord::new(Timestamp(i), Level::Info, "body");
            match i % 5 {
                0 => {
                    r.attributes
                        .insert("user".into(), format!("U_{i} Zeta").into());
                }
                1 => {
                    r.attributes.insert(
                        "list".into(),
                        AttributeValue::Array(vec![AttributeValue::String("zeta".into())]),
                    );
                    r.attributes.insert("n".into(), AttributeValue::Int(i));
                }
                2 => {
                    Arc::make_mut(&mut r.resource).insert("host.name".into(), "zeta-host".into());
                }
                3 => {
                    r.attributes.insert("city".into(), "Straße".into());
                }
                _ => {}
            }
            recs.push(r);
        }
        let (raw, _, _) = encode_block(&recs, 1, true, false, None).unwrap();
        let block = Block::parse(&raw).unwrap();
        let all: Vec<usize> = (0..recs.len()).collect();
        for words in [
            vec!["zeta".to_string()],
            vec!["straße".into(), "u_7".into()],
            vec![],
        ] {
            let want: Vec<usize> = all
                .iter()
                .copied()
                .filter(|&i| {
                    recs[i].attributes.values().chain(recs[i].resource.values()).any(|v| {
                        matches!(v, AttributeValue::String(s) if words.iter().any(|w| contains_ci(s, w)))
                    })
                })
                .collect();
            assert_eq!(
                block.rows_with_attr_words(&all, &words).unwrap(),
                want,
                "{words:?}"
            );
        }
    }

    #[test]
    fn per_second_counts_round_trip_and_are_checked() {
        let sec = NS_PER_SEC;
        // Negative times, gaps, and several records per second.
        let ts = [
            -sec - 1,
            -1,
            0,
            5,
            sec,
            3 * sec + 7,
            3 * sec + 8,
            3_600 * sec,
        ];
        let mut recs: Vec<LogRecord> = ts
            .iter()
            .map(|t| LogRecord::new(Timestamp(*t), Level::Info, "x"))
            .collect();
        let (_, summary, bloom) = encode_block(&recs, 1, true, false, None).unwrap();
        let mut seen = Vec::new();
        assert!(
            summary
                .for_each_second(&mut |s, n| seen.push((s, n)))
                .unwrap()
        );
        assert_eq!(seen, [(-2, 1), (-1, 1), (0, 2), (1, 1), (3, 2), (3_600, 1)]);
        let decoded = BlockSummary::decode(&summary.encode(&bloom), true).unwrap();
        assert_eq!(decoded, (summary.clone(), Some(bloom.clone())));
        // Without the filter, or the filter alone.
        let raw = summary.encode(&bloom);
        assert_eq!(
            BlockSummary::decode(&raw, false).unwrap(),
            (summary.clone(), None)
        );
        assert_eq!(decode_bloom(&raw).unwrap(), bloom);

        // Without attribute-value tokens, the flag survives the round trip.
        let (_, untokenized, ubloom) = encode_block(&recs, 1, false, false, None).unwrap();
        assert!(!untokenized.attr_tokens);
        assert_eq!(
            BlockSummary::decode(&untokenized.encode(&ubloom), true).unwrap(),
            (untokenized, Some(ubloom))
        );

        // The term index flag survives the round trip, and a version-3 summary (written
        // before it, one byte shorter) decodes as a block without an index.
        let indexed = BlockSummary {
            indexed: true,
            ..summary.clone()
        };
        let raw_indexed = indexed.encode(&bloom);
        assert_eq!(
            BlockSummary::decode(&raw_indexed, true).unwrap(),
            (indexed, Some(bloom.clone()))
        );
        let mut raw_v3 = raw_indexed.clone();
        raw_v3[0] = 3;
        raw_v3.pop();
        let (v3, _) = BlockSummary::decode(&raw_v3, false).unwrap();
        assert!(!v3.indexed && v3.attr_tokens);

        // A version-1 summary (no per-second counts) still decodes, without them.
        let old = BlockSummary {
            seconds: None,
            attr_tokens: false,
            ..summary.clone()
        };
        let raw_old = old.encode(&bloom);
        assert_eq!(raw_old[0], 1);
        let (decoded, _) = BlockSummary::decode(&raw_old, false).unwrap();
        assert!(!decoded.for_each_second(&mut |_, _| {}).unwrap());
        assert_eq!(decode_bloom(&raw_old).unwrap(), bloom);

        // Counts that do not add up to the block's records are refused.
        recs.pop();
        let (_, fewer, _) = encode_block(&recs, 1, true, false, None).unwrap();
        let forged = BlockSummary {
            seconds: fewer.seconds,
            ..summary.clone()
        };
        assert!(BlockSummary::decode(&forged.encode(&bloom), true).is_err());
        assert!(BlockSummary::decode(&forged.encode(&bloom), false).is_err());
        // Truncations never panic, and are refused whenever they cut into what is read.
        let raw = summary.encode(&bloom);
        for cut in 0..raw.len() {
            assert!(BlockSummary::decode(&raw[..cut], true).is_err());
            assert!(BlockSummary::decode(&raw[..cut], false).is_err());
            let _ = decode_bloom(&raw[..cut]);
        }
    }

    /// Records over several frames: varied attributes (of every type), traces on some rows,
    /// resources and scopes that change, flags, observed times, non-ASCII text.
    fn framed_records(n: usize) -> Vec<LogRecord> {
        (0..n)
            .map(|i| {
                let body = match i % 5 {
                    0 => format!("payment {i} failed: ledger imbalance"),
                    1 => format!("GET /orders/{i} 200"),
                    2 => format!("Straße {i} gesperrt"),
                    3 => String::new(),
                    _ => format!("cache miss key=user:{i}"),
                };
                let mut r = LogRecord::new(Timestamp(1_000 + i as i64), Level::Info, body);
                r.service = format!("svc-{}", i % 3);
                if i % 4 == 0 {
                    r.attributes
                        .insert("user".into(), format!("u{}", i % 7).into());
                }
                if i % 6 == 1 {
                    r.attributes
                        .insert("n".into(), AttributeValue::Int(i as i64));
                    r.attributes.insert(
                        "list".into(),
                        AttributeValue::Array(vec![AttributeValue::Double(0.5), "x".into()]),
                    );
                }
                // Values of the typed attribute encodings (block version 4).
                if i % 3 == 0 {
                    r.attributes.insert(
                        "req".into(),
                        format!("{:016x}", (i as u64).wrapping_mul(2_654_435_761)).into(),
                    );
                }
                if i % 2 == 0 {
                    let ms = (i as f64 * 0.37 * 1000.0).round() / 1000.0;
                    r.attributes.insert("ms".into(), AttributeValue::Double(ms));
                }
                if i % 5 == 1 {
                    r.attributes
                        .insert("ip".into(), format!("10.0.{}.{}", i % 256, i % 200).into());
                }
                if i % 9 == 0 {
                    r.attributes
                        .insert("ok".into(), AttributeValue::Bool(i % 2 == 0));
                }
                if i % 4 == 1 {
                    r.attributes
                        .insert("acct".into(), format!("acct_{i}").into());
                }
                if i % 7 == 2 {
                    r.trace_id = Some(TraceId([(i % 251) as u8 + 1; 16]));
                }
                if i % 5 == 3 {
                    r.span_id = Some(SpanId([(i % 13) as u8 + 1; 8]));
                }
                Arc::make_mut(&mut r.resource)
                    .insert("pod".into(), format!("pod-{}", i / 700).into());
                Arc::make_mut(&mut r.scope).name = format!("scope-{}", i % 2);
                r.flags = (i % 3) as u32;
                r.dropped_attributes_count = (i % 2) as u32;
                if i % 2 == 0 {
                    r.observed_timestamp = Timestamp(2_000 + i as i64);
                }
                r
            })
            .collect()
    }

    #[test]
    fn framed_blocks_and_version_1_blocks_read_the_same() {
        let n = 2 * FRAME_ROWS + 300;
        let recs = framed_records(n);
        let row_sets: Vec<Vec<usize>> = vec![
            (0..n).collect(),
            vec![0],
            vec![n - 1],
            vec![3, FRAME_ROWS - 1, FRAME_ROWS, FRAME_ROWS + 7, n - 2],
            (0..n).step_by(97).collect(),
        ];
        let filters = [
            LogFilter {
                terms: vec!["imbalance".into()],
                ..Default::default()
            },
            LogFilter {
                contains: Some("STRASSE".into()),
                ..Default::default()
            },
            LogFilter {
                contains: Some("straße 2".into()),
                ..Default::default()
            },
            LogFilter {
                terms: vec!["u3".into()],
                ..Default::default()
            },
        ];
        // Dictionaries sampled from other records of the same kind.
        let dicts = Arc::new(ColumnDicts::sample(7, &framed_records(3000)[1000..]));
        assert!(dicts.raw(C_BODY).is_some() && dicts.raw(C_ATTRS).is_some());
        assert!(dicts.raw(C_TS).is_none() && dicts.raw(C_TRACE).is_none());
        let stored = ColumnDicts::decode(7, &dicts.encode()).unwrap();
        assert_eq!(stored.raw(C_BODY), dicts.raw(C_BODY));
        let lookup = |id: u32| (id == 7).then(|| stored.clone());
        let versions = [
            (1, None),
            (2, None),
            (3, None),
            (3, Some(&*dicts)),
            (4, None),
            (4, Some(&*dicts)),
        ];
        for (version, with) in versions {
            let (raw, _, _) = encode_block_version(&recs, 1, true, false, version, with).unwrap();
            let block = Block::parse_with(&raw, &lookup).unwrap();
            let cheap = block.cheap().unwrap();
            for rows in &row_sets {
                let want: Vec<LogRecord> = rows.iter().map(|&i| recs[i].clone()).collect();
                let got = block.records(&cheap, rows, Need::ALL).unwrap();
                assert_eq!(got, want, "version {version}, rows {rows:?}");
                let bodies = block
                    .records(
                        &cheap,
                        rows,
                        Need {
                            body: true,
                            attrs: false,
                            trace: false,
                            all: false,
                        },
                    )
                    .unwrap();
                assert!(bodies.iter().zip(&want).all(|(g, w)| g.body == w.body));
                for f in &filters {
                    let want: Vec<usize> = rows
                        .iter()
                        .copied()
                        .filter(|&i| f.matches_body(&recs[i].body))
                        .collect();
                    assert_eq!(block.filter_bodies(rows.clone(), f).unwrap(), want);
                }
                // Words in plain strings, in a hex id, an address and a prefixed number.
                let id_part = match &recs[(n - 1) / 3 * 3].attributes["req"] {
                    AttributeValue::String(s) => s[3..9].to_string(),
                    _ => unreachable!(),
                };
                for word in ["u3", id_part.as_str(), "0.17.1", "acct_41"] {
                    let want: Vec<usize> = rows
                        .iter()
                        .copied()
                        .filter(|&i| {
                            recs[i].attributes.values().chain(recs[i].resource.values()).any(
                                |v| matches!(v, AttributeValue::String(s) if contains_ci(s, word)),
                            )
                        })
                        .collect();
                    let got = block
                        .rows_with_attr_words(rows, &[word.to_string()])
                        .unwrap();
                    assert_eq!(got, want, "version {version}, word {word}");
                }
            }
        }
        // Frames make the block a little larger, not much.
        let v1 = encode_block_version(&recs, 3, true, false, 1, None)
            .unwrap()
            .0
            .len();
        let v2 = encode_block_version(&recs, 3, true, false, 2, None)
            .unwrap()
            .0
            .len();
        assert!(v2 < v1 * 2, "{v2} vs {v1}");
        // The dictionaries win back some of what frames cost.
        let v3 = encode_block_version(&recs, 3, true, false, 3, Some(&dicts))
            .unwrap()
            .0
            .len();
        assert!(v3 < v2, "{v3} vs {v2}");
        // A block naming a dictionary that is not there is an error, not a panic.
        let (raw, _, _) = encode_block(&recs, 1, true, false, Some(&dicts)).unwrap();
        let err = Block::parse(&raw).unwrap_err().to_string();
        assert!(err.contains("unknown dictionary 7"), "{err}");
        // A cut-off framed block is an error, never a panic.
        let (raw, _, _) = encode_block(&recs, 1, true, false, None).unwrap();
        for cut in (0..raw.len()).step_by(raw.len() / 50 + 1) {
            let res = Block::parse(&raw[..cut]).and_then(|b| {
                let cheap = b.cheap()?;
                b.records(&cheap, &[0, n - 1], Need::ALL)
            });
            assert!(res.is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn blocks_round_trip_and_summaries_prune() {
        let mut recs = Vec::new();
        for i in 0..100i64 {
            let mut r = LogRecord::new(
                Timestamp(1000 + i),
                if i % 10 == 0 {
                    Level::Error
                } else {
                    Level::Info
                },
                format!("request {i} done"),
            );
            r.service = if i % 2 == 0 {
                "api".into()
            } else {
                "db".into()
            };
            if i % 3 == 0 {
                r.attributes.insert("k".into(), AttributeValue::Int(i));
                r.trace_id = Some(TraceId([7; 16]));
                r.span_id = Some(SpanId([i as u8 + 1; 8]));
            }
            Arc::make_mut(&mut r.resource).insert("host".into(), "h".into());
            r.observed_timestamp = Timestamp(900 + i);
            recs.push(r);
        }
        let (raw, summary, bloom) = encode_block(&recs, 3, true, false, None).unwrap();
        assert_eq!(
            BlockSummary::decode(&summary.encode(&bloom), true).unwrap(),
            (summary.clone(), Some(bloom.clone()))
        );
        let block = Block::parse(&raw).unwrap();
        let cheap = block.cheap().unwrap();
        let rows: Vec<usize> = (0..100).collect();
        assert_eq!(block.records(&cheap, &rows, Need::ALL).unwrap(), recs);
        let some = block.records(&cheap, &[3, 50, 99], Need::ALL).unwrap();
        assert_eq!(
            some,
            vec![recs[3].clone(), recs[50].clone(), recs[99].clone()]
        );

        let f = LogFilter {
            levels: vec![Level::Error],
            services: vec!["api".into()],
            ..Default::default()
        };
        assert_eq!(summary.count_service_level(&f), 10);
        let f = LogFilter {
            terms: vec!["request 42".into()],
            ..Default::default()
        };
        assert!(summary.may_match(&bloom, &f));
        let f = LogFilter {
            terms: vec!["nonexistent".into()],
            ..Default::default()
        };
        assert!(!summary.may_match(&bloom, &f));
        assert!(summary.may_match_counts(&f));
        let f = LogFilter {
            attributes: vec![("k".into(), "3".into())],
            ..Default::default()
        };
        assert!(summary.may_match(&bloom, &f));
        for cut in [0, 1, 10, raw.len() / 2, raw.len() - 1] {
            let res = Block::parse(&raw[..cut]).and_then(|b| {
                let c = b.cheap()?;
                b.records(&c, &rows, Need::ALL)
            });
            assert!(res.is_err());
        }
    }
}
