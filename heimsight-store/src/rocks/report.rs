//! Storage report, a development tool: bytes per log by block column, per attribute key and
//! for the term index, and the blocks re-encoded in versions 3 and 4. Its test builds a small
//! store and checks the report's accounts; with `HEIMSIGHT_REPORT_DIR` set to a stopped
//! server's data directory it prints the report of that directory instead (see
//! `docs/plans/log-search.md`, session 16, for the command).
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::collections::BTreeMap;
use std::fmt;

use heimsight_core::{AttributeValue, LogRecord};
use rocksdb::ReadOptions;

use super::RocksStore;
use super::block::{self, Need};
use super::codec::Writer;
use super::dict::ColumnDicts;
use super::terms;

/// Names of the block columns, by column id.
const COLUMNS: [&str; block::N_COLS] = [
    "ts", "obs", "sev", "sevtext", "service", "body", "attrs", "resource", "scope", "trace",
    "span", "misc",
];

/// Term index entries by kind: words of one row holding a digit (numbers, ids), other words
/// of one row, words of several rows, trace ids.
const TERM_KINDS: [&str; 4] = [
    "one-row words with a digit",
    "other one-row words",
    "words of several rows",
    "trace ids",
];

/// What a store's log blocks are made of, in bytes.
#[derive(Debug, Default)]
struct Report {
    blocks: usize,
    logs: u64,
    /// Stored bytes per column (all frames).
    columns: [u64; block::N_COLS],
    /// The blocks re-encoded in versions 3 and 4 (dictionaries sampled from the first).
    reencoded: [u64; 2],
    /// Per attribute key, its values tagged and compressed frame by frame (zstd 3, no
    /// dictionary).
    per_key: BTreeMap<String, u64>,
    /// Term index entries by kind (see [`TERM_KINDS`]): count, and bytes compressed (zstd 3).
    terms: [(u64, u64); 4],
    /// Size of the SST files of the log column families.
    cfs: Vec<(&'static str, u64)>,
}

fn zstd3(data: &[u8]) -> u64 {
    zstd::bulk::compress(data, 3).unwrap().len() as u64
}

fn report(store: &RocksStore) -> Report {
    let inner = &store.inner;
    let keys: Vec<_> = inner.blocks.read().unwrap().keys().copied().collect();
    let mut rep = Report {
        blocks: keys.len(),
        ..Report::default()
    };
    let ro = ReadOptions::default();
    let mut dicts: Option<[ColumnDicts; 2]> = None;
    for key in &keys {
        let b = inner.read_block(key, &ro).unwrap();
        for (c, bytes) in b.column_sizes().iter().enumerate() {
            rep.columns[c] += *bytes as u64;
        }
        let rows: Vec<usize> = (0..b.count).collect();
        let recs = b.records(&b.cheap().unwrap(), &rows, Need::ALL).unwrap();
        rep.logs += recs.len() as u64;
        let d = dicts.get_or_insert_with(|| {
            [
                ColumnDicts::sample_version(1, &recs, 3),
                ColumnDicts::sample_version(2, &recs, 4),
            ]
        });
        for (i, v) in [3u8, 4].into_iter().enumerate() {
            let (raw, _, _) =
                block::encode_block_version(&recs, 3, true, true, v, Some(&d[i])).unwrap();
            rep.reencoded[i] += raw.len() as u64;
        }
        add_keys(&mut rep.per_key, &recs);
        add_terms(&mut rep.terms, &recs);
    }
    for cf in [
        super::CF_LOG_BLOCKS,
        super::CF_LOG_SUMMARIES,
        super::CF_LOG_TERMS,
    ] {
        let bytes = inner
            .db
            .property_int_value_cf(inner.cf(cf).unwrap(), "rocksdb.total-sst-files-size")
            .unwrap()
            .unwrap_or(0);
        rep.cfs.push((cf, bytes));
    }
    rep
}

/// Adds each attribute key's values of `recs`, tagged and compressed frame by frame.
fn add_keys(per_key: &mut BTreeMap<String, u64>, recs: &[LogRecord]) {
    for chunk in recs.chunks(block::FRAME_ROWS) {
        let mut streams: BTreeMap<&str, Writer> = BTreeMap::new();
        for r in chunk {
            for (k, v) in &r.attributes {
                streams.entry(k).or_default().value(v);
            }
        }
        for (k, w) in streams {
            *per_key.entry(k.to_string()).or_default() += zstd3(&w.buf);
        }
    }
}

/// Adds the term index entries of `recs` by kind: each kind's entries (term, then rows)
/// compressed together per group.
fn add_terms(totals: &mut [(u64, u64); 4], recs: &[LogRecord]) {
    for (suffix, value) in terms::build(recs) {
        let mut kinds: [Writer; 4] = Default::default();
        let mut counts = [0u64; 4];
        terms::for_each_entry(&value, &mut |term, p| {
            let rows = p.rows()?;
            let kind = match (suffix[0] == terms::NS_TRACES, rows.len() == 1) {
                (true, _) => 3,
                (false, true) if term.iter().any(u8::is_ascii_digit) => 0,
                (false, true) => 1,
                (false, false) => 2,
            };
            counts[kind] += 1;
            kinds[kind].bytes(term);
            for r in rows {
                kinds[kind].varint(r as u64);
            }
            Ok(true)
        })
        .unwrap();
        for (i, w) in kinds.iter().enumerate() {
            totals[i].0 += counts[i];
            if !w.buf.is_empty() {
                totals[i].1 += zstd3(&w.buf);
            }
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let per = |b: u64| b as f64 / self.logs.max(1) as f64;
        writeln!(f, "blocks {} logs {}", self.blocks, self.logs)?;
        let sum: u64 = self.columns.iter().sum();
        writeln!(f, "block columns: {:.2} B/log", per(sum))?;
        for (n, b) in COLUMNS.iter().zip(self.columns) {
            writeln!(f, "  {n:10} {:.2}", per(b))?;
        }
        writeln!(
            f,
            "re-encoded: version 3 {:.2} B/log, version 4 {:.2} B/log",
            per(self.reencoded[0]),
            per(self.reencoded[1])
        )?;
        writeln!(
            f,
            "attributes per key (tagged, zstd 3 per frame, no dictionary):"
        )?;
        for (k, b) in &self.per_key {
            writeln!(f, "  {k:28} {:.2}", per(*b))?;
        }
        writeln!(f, "term index entries (per log: entries, zstd 3 bytes):")?;
        for (name, (n, b)) in TERM_KINDS.iter().zip(self.terms) {
            writeln!(f, "  {name:28} {:.2} {:.2}", per(n), per(b))?;
        }
        for (cf, b) in &self.cfs {
            writeln!(f, "cf {cf}: {:.2} B/log", per(*b))?;
        }
        Ok(())
    }
}

#[test]
fn storage_report_accounts_for_every_log() {
    use crate::traits::LogStore;
    use heimsight_core::{Level, Timestamp};

    if let Ok(dir) = std::env::var("HEIMSIGHT_REPORT_DIR") {
        print!("{}", report(&RocksStore::builder(&dir).open().unwrap()));
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let store = RocksStore::open(tmp.path()).unwrap();
    let t0 = 1_764_028_800_000_000_000i64; // 2025-11-25T00:00:00Z
    for batch in 0..3i64 {
        let recs: Vec<LogRecord> = (0..4000i64)
            .map(|j| {
                let i = batch * 4000 + j;
                let mut r = LogRecord::new(
                    Timestamp(t0 + i * 1_000_000),
                    Level::Info,
                    format!("request {i} done in {}ms", i % 97),
                );
                let id = format!("{:016x}", (i as u64).wrapping_mul(2_654_435_761));
                r.attributes.insert("request.id".into(), id.into());
                let ms = ((i % 977) as f64 * 1.37 * 1000.0).round() / 1000.0;
                r.attributes
                    .insert("duration_ms".into(), AttributeValue::Double(ms));
                r
            })
            .collect();
        store.append_logs(recs).unwrap();
    }
    store.inner.merge_all().unwrap();
    let rep = report(&store);
    assert_eq!(rep.logs, 12_000);
    assert_eq!(rep.blocks, store.inner.blocks.read().unwrap().len());
    assert!(rep.columns.iter().all(|&b| b > 0), "{rep}");
    assert!(
        rep.per_key.keys().eq(["duration_ms", "request.id"]),
        "{rep}"
    );
    // Hex ids and decimals are what version 4 stores more compactly than version 3.
    assert!(rep.reencoded[1] < rep.reencoded[0], "{rep}");
    // Every message has its own request number (a word of one row with a digit), and
    // shares "request", "done" and "in" with the others.
    assert!(rep.terms[0].0 >= 12_000, "{rep}");
    assert!(rep.terms[2].0 >= 3, "{rep}");
}
