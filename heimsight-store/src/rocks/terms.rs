//! The term index of log blocks: for each block a merge writes, the distinct tokens of its
//! messages (as [`tokenize`] makes them) and its trace ids, each with the rows that hold it.
//!
//! It lives in a column family of its own, in groups of sorted entries: the key of a group is
//! the block's key, a namespace byte (`w` for words, `t` for trace ids) and the first entry of
//! the group; its value the group's entries (front-coded) with their row lists. Looking up a
//! word is one seek and one small value per block, whatever the block's size; a substring of
//! a word reads the block's word groups, never its messages.
//!
//! [`tokenize`]: crate::query::tokenize

use std::borrow::Cow;
use std::collections::HashMap;

use heimsight_core::LogRecord;

use super::codec::{Reader, Writer};
use crate::error::{Error, Result};
use crate::hash::FastHash;
use crate::query::is_token_char;

/// Namespace byte of message words.
pub(crate) const NS_WORDS: u8 = b'w';
/// Namespace byte of trace ids.
pub(crate) const NS_TRACES: u8 = b't';
/// Entries per group at most.
const GROUP_ENTRIES: usize = 128;
/// A group is closed once its value reaches this many bytes.
const GROUP_BYTES: usize = 4096;

/// The rows of a block holding one term, as stored: a count and either a bitmap of the
/// block's rows (for terms in many rows) or the row numbers as gaps.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Postings<'a> {
    count: usize,
    dense: bool,
    raw: &'a [u8],
}

impl Postings<'_> {
    /// Appends the rows (ascending) to `out`.
    pub(crate) fn rows_into(&self, out: &mut Vec<usize>) -> Result<()> {
        if self.dense {
            let before = out.len();
            for (i, b) in self.raw.iter().enumerate() {
                let mut b = *b;
                while b != 0 {
                    out.push(i * 8 + b.trailing_zeros() as usize);
                    b &= b - 1;
                }
            }
            if out.len() - before != self.count {
                return Err(Error::Corrupt {
                    what: "log term rows",
                    reason: "bitmap and count disagree".into(),
                });
            }
            return Ok(());
        }
        let mut r = Reader::new(self.raw, "log term rows");
        let mut row = 0usize;
        for k in 0..self.count {
            let gap = r.len()?;
            row = if k == 0 {
                gap
            } else {
                row.checked_add(gap)
                    .ok_or_else(|| r.corrupt("row overflow"))?
            };
            out.push(row);
        }
        Ok(())
    }

    /// The rows, ascending.
    pub(crate) fn rows(&self) -> Result<Vec<usize>> {
        let mut out = Vec::with_capacity(self.count);
        self.rows_into(&mut out)?;
        Ok(out)
    }
}

/// Postings are stored as a tag (count << 1 | dense), then: for one row, the row; for a
/// bitmap or a list of gaps, its length and bytes.
pub(crate) fn encode_postings(w: &mut Writer, rows: &[u32], n_rows: usize) {
    let dense = rows.len() > n_rows / 8;
    w.varint(((rows.len() as u64) << 1) | u64::from(dense));
    if let ([row], false) = (rows, dense) {
        w.varint(u64::from(*row));
    } else if dense {
        let mut bm = vec![0u8; n_rows.div_ceil(8)];
        for &r in rows {
            bm[r as usize / 8] |= 1 << (r % 8);
        }
        w.bytes(&bm);
    } else {
        let mut body = Writer::with_capacity(rows.len() * 2);
        let mut prev = 0u32;
        for (k, &r) in rows.iter().enumerate() {
            body.varint(u64::from(if k == 0 { r } else { r - prev }));
            prev = r;
        }
        w.bytes(&body.buf);
    }
}

/// The entries of a block's term index, by namespace, ready to be written: `(key suffix,
/// value)`, where the key suffix follows the block's key.
pub(crate) fn build(recs: &[LogRecord]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let n = recs.len();
    let mut words: HashMap<Cow<'_, str>, Vec<u32>, FastHash> = HashMap::default();
    let mut traces: HashMap<&[u8], Vec<u32>, FastHash> = HashMap::default();
    for (i, r) in recs.iter().enumerate() {
        let row = i as u32;
        for t in r.body.split(|c: char| !is_token_char(c)) {
            if t.is_empty() {
                continue;
            }
            let key = if t.is_ascii() && !t.bytes().any(|b| b.is_ascii_uppercase()) {
                Cow::Borrowed(t)
            } else {
                Cow::Owned(t.to_lowercase())
            };
            let list = words.entry(key).or_default();
            if list.last() != Some(&row) {
                list.push(row);
            }
        }
        if let Some(t) = &r.trace_id {
            let list = traces.entry(t.as_bytes()).or_default();
            if list.last() != Some(&row) {
                list.push(row);
            }
        }
    }
    let mut out = Vec::new();
    let mut words: Vec<(Cow<'_, str>, Vec<u32>)> = words.into_iter().collect();
    words.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    groups(NS_WORDS, &words, n, &mut out);
    let mut traces: Vec<(&[u8], Vec<u32>)> = traces.into_iter().collect();
    traces.sort_unstable_by(|a, b| a.0.cmp(b.0));
    groups(NS_TRACES, &traces, n, &mut out);
    out
}

/// The bytes of an entry's key: a word or a trace id.
trait KeyBytes {
    fn key_bytes(&self) -> &[u8];
}

impl KeyBytes for Cow<'_, str> {
    fn key_bytes(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl KeyBytes for &[u8] {
    fn key_bytes(&self) -> &[u8] {
        self
    }
}

/// Cuts sorted entries into groups (see the module's documentation).
fn groups<K: KeyBytes>(
    ns: u8,
    entries: &[(K, Vec<u32>)],
    n_rows: usize,
    out: &mut Vec<(Vec<u8>, Vec<u8>)>,
) {
    let mut start = 0;
    while start < entries.len() {
        let mut w = Writer::default();
        let mut body = Writer::default();
        let mut end = start;
        let mut prev: &[u8] = &[];
        let full = |end: usize, body: &Writer| {
            end - start >= GROUP_ENTRIES || body.buf.len() >= GROUP_BYTES
        };
        while end < entries.len() && !full(end, &body) {
            let (key, rows) = &entries[end];
            let key = key.key_bytes();
            let shared = if end == start {
                0
            } else {
                prev.iter()
                    .zip(key.iter())
                    .take_while(|(a, b)| a == b)
                    .count()
            };
            body.varint(shared as u64);
            body.bytes(&key[shared..]);
            encode_postings(&mut body, rows, n_rows);
            prev = key;
            end += 1;
        }
        w.varint((end - start) as u64);
        w.raw(&body.buf);
        let first = entries[start].0.key_bytes();
        let mut k = Vec::with_capacity(1 + first.len());
        k.push(ns);
        k.extend_from_slice(first);
        out.push((k, w.buf));
        start = end;
    }
}

/// Reads the next entry of a group: its term into `term` (which holds the previous one, for
/// the shared prefix), and its postings.
fn next_entry<'a>(r: &mut Reader<'a>, term: &mut Vec<u8>) -> Result<Postings<'a>> {
    let shared = r.len()?;
    if shared > term.len() {
        return Err(r.corrupt("shared prefix longer than the previous term"));
    }
    term.truncate(shared);
    term.extend_from_slice(r.bytes()?);
    let tag = r.varint()?;
    let raw = if tag == 2 {
        r.varint_raw()?
    } else {
        r.bytes()?
    };
    Ok(Postings {
        count: usize::try_from(tag >> 1).map_err(|_| r.corrupt("count"))?,
        dense: tag & 1 == 1,
        raw,
    })
}

/// Calls `f(term, postings)` for each entry of a stored group, in order; stops early when
/// `f` returns false. Returns whether it went through every entry.
pub(crate) fn for_each_entry(
    value: &[u8],
    f: &mut dyn FnMut(&[u8], Postings<'_>) -> Result<bool>,
) -> Result<bool> {
    let mut r = Reader::new(value, "log term group");
    let n = r.len()?;
    let mut term: Vec<u8> = Vec::with_capacity(64);
    for _ in 0..n {
        let postings = next_entry(&mut r, &mut term)?;
        if !f(&term, postings)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The postings of `term` in a stored group, if it holds the term.
pub(crate) fn find<'a>(value: &'a [u8], term: &[u8]) -> Result<Option<Postings<'a>>> {
    let mut r = Reader::new(value, "log term group");
    let n = r.len()?;
    let mut cur: Vec<u8> = Vec::with_capacity(64);
    for _ in 0..n {
        let postings = next_entry(&mut r, &mut cur)?;
        match cur.as_slice().cmp(term) {
            std::cmp::Ordering::Less => {}
            std::cmp::Ordering::Equal => return Ok(Some(postings)),
            std::cmp::Ordering::Greater => return Ok(None),
        }
    }
    Ok(None)
}

/// The key of the group that would hold `term` in namespace `ns` of the block `block`: seek
/// for the last key at or before it.
pub(crate) fn seek_key(block: &[u8], ns: u8, term: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(block.len() + 1 + term.len());
    k.extend_from_slice(block);
    k.push(ns);
    k.extend_from_slice(term);
    k
}

/// The range of keys of a block's index: `[from, to)`.
pub(crate) fn block_range(block: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let mut from = block.to_vec();
    from.push(0);
    let mut to = block.to_vec();
    to.push(0xff);
    (from, to)
}

/// Checks a postings' rows against the block's size.
pub(crate) fn check_rows(rows: &[usize], n_rows: usize) -> Result<()> {
    if rows.last().is_some_and(|&r| r >= n_rows) {
        return Err(Error::Corrupt {
            what: "log term index",
            reason: "row past the end of the block".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::query::tokenize;
    use heimsight_core::{Level, Timestamp, TraceId};

    #[test]
    fn every_word_and_trace_finds_exactly_its_rows() {
        let recs: Vec<LogRecord> = (0..5000)
            .map(|i| {
                let body = match i % 4 {
                    0 => format!("GET /orders/{i} took {}ms", i % 97),
                    1 => format!("Ledger IMBALANCE in batch {}", i / 10),
                    2 => "Straße gesperrt, ΣΟΦΟΣ".to_string(),
                    _ => String::new(),
                };
                let mut r = LogRecord::new(Timestamp(i), Level::Info, body);
                if i % 3 == 0 {
                    r.trace_id = Some(TraceId([(i % 50) as u8 + 1; 16]));
                }
                r
            })
            .collect();
        let groups = build(&recs);
        assert!(groups.len() > 1, "several groups");
        let mut want: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, r) in recs.iter().enumerate() {
            for t in tokenize(&r.body) {
                let v = want.entry(t).or_default();
                if v.last() != Some(&i) {
                    v.push(i);
                }
            }
        }
        let lookup = |ns: u8, term: &[u8]| -> Option<Vec<usize>> {
            let key = seek_key(&[], ns, term);
            // The last group of the namespace at or before the key, as a seek finds it.
            let (_, v) = groups
                .iter()
                .rev()
                .find(|(k, _)| k[0] == ns && k.as_slice() <= key.as_slice())?;
            find(v, term).unwrap().map(|p| p.rows().unwrap())
        };
        for (w, rows) in &want {
            assert_eq!(lookup(NS_WORDS, w.as_bytes()).as_ref(), Some(rows), "{w}");
        }
        for missing in ["nope", "imbalanc", "zzzz", ""] {
            assert_eq!(lookup(NS_WORDS, missing.as_bytes()), None, "{missing}");
        }
        for t in 1..=50u8 {
            let rows: Vec<usize> = recs
                .iter()
                .enumerate()
                .filter(|(_, r)| r.trace_id == Some(TraceId([t; 16])))
                .map(|(i, _)| i)
                .collect();
            assert_eq!(lookup(NS_TRACES, &[t; 16]), Some(rows));
        }
        // Every entry once, in order, across the word groups.
        let mut seen = Vec::new();
        for (k, v) in groups.iter().filter(|(k, _)| k[0] == NS_WORDS) {
            for_each_entry(v, &mut |t, _| {
                seen.push(t.to_vec());
                Ok(true)
            })
            .unwrap();
            assert_eq!(&k[1..], seen[seen.len() - for_each_count(v)].as_slice());
        }
        let mut sorted: Vec<Vec<u8>> = want.keys().map(|w| w.as_bytes().to_vec()).collect();
        sorted.sort();
        assert_eq!(seen, sorted);
        // Corrupt values are errors, not panics.
        for (_, v) in &groups {
            for cut in 0..v.len().min(200) {
                let _ = find(&v[..cut], b"ledger");
                let _ = for_each_entry(&v[..cut], &mut |_, p| {
                    let _ = p.rows();
                    Ok(true)
                });
            }
        }
    }

    fn for_each_count(v: &[u8]) -> usize {
        let mut n = 0;
        for_each_entry(v, &mut |_, _| {
            n += 1;
            Ok(true)
        })
        .unwrap();
        n
    }
}
