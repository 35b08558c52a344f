//! Storage report (development tool, an ignored test): bytes per log by column, per
//! attribute key and for the term index, of a stopped server's data directory, and the blocks
//! re-encoded in versions 3 and 4. See `docs/plans/log-search.md` (session 16) for the command.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::collections::BTreeMap;

use heimsight_core::{AttributeValue, LogRecord};
use rocksdb::ReadOptions;

use super::RocksStore;
use super::block::{self, Need};
use super::terms;

fn z(data: &[u8], level: i32) -> usize {
    zstd::bulk::compress(data, level).unwrap().len()
}

fn attr_streams(recs: &[LogRecord]) -> BTreeMap<String, Vec<AttributeValue>> {
    let mut m: BTreeMap<String, Vec<AttributeValue>> = BTreeMap::new();
    for r in recs {
        for (k, v) in &r.attributes {
            m.entry(k.clone()).or_default().push(v.clone());
        }
    }
    m
}

#[test]
#[ignore = "development tool: HEIMSIGHT_REPORT_DIR=<data dir of a stopped server>"]
fn storage_report() {
    let Ok(dir) = std::env::var("HEIMSIGHT_REPORT_DIR") else {
        return;
    };
    let store = RocksStore::builder(&dir).open().unwrap();
    let inner = &store.inner;
    let keys: Vec<_> = inner
        .blocks
        .read()
        .unwrap()
        .iter()
        .map(|(k, s)| (*k, s.count))
        .collect();
    let mut total = 0u64;
    let mut col_bytes = [0u64; block::N_COLS];
    let mut per_key_cur: BTreeMap<String, u64> = BTreeMap::new();
    let mut terms_raw = [0u64; 4];
    let mut terms_z = [0u64; 4];
    let mut digit_singles = 0u64;
    let mut pure_singles = 0u64;
    let mut pure_bytes = 0u64;
    let mut samples: Vec<String> = Vec::new();
    // Posting bytes of words (raw): all, and with identical lists stored once.
    let mut post_all = 0u64;
    let mut post_dedup = 0u64;
    let mut word_bytes = 0u64;
    let ro = ReadOptions::default();
    let limit: usize = std::env::var("HEIMSIGHT_REPORT_BLOCKS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(usize::MAX);
    let mut reenc = [0u64; 2];
    let mut dicts: Option<[super::dict::ColumnDicts; 2]> = None;
    for (key, count) in keys.iter().take(limit) {
        total += u64::from(*count);
        let b = inner.read_block(key, &ro).unwrap();
        for (c, bytes) in b.column_sizes().iter().enumerate() {
            col_bytes[c] += *bytes as u64;
        }
        let cheap = b.cheap().unwrap();
        let rows: Vec<usize> = (0..b.count).collect();
        let recs = b.records(&cheap, &rows, Need::ALL).unwrap();
        let d = dicts.get_or_insert_with(|| {
            [
                super::dict::ColumnDicts::sample_version(1, &recs, 3),
                super::dict::ColumnDicts::sample_version(2, &recs, 4),
            ]
        });
        for (i, v) in [3u8, 4].into_iter().enumerate() {
            let (raw, _, _) =
                block::encode_block_version(&recs, 3, true, true, v, Some(&d[i])).unwrap();
            reenc[i] += raw.len() as u64;
        }
        for chunk in recs.chunks(block::FRAME_ROWS) {
            for (k, vals) in attr_streams(chunk) {
                let mut w = super::codec::Writer::default();
                for v in &vals {
                    w.value(v);
                }
                *per_key_cur.entry(k).or_default() += z(&w.buf, 3) as u64;
            }
        }
        // Term index: singletons (one row), other words, trace ids.
        let mut seen: std::collections::HashSet<Vec<usize>> = std::collections::HashSet::new();
        for (suffix, value) in terms::build(&recs) {
            if suffix[0] == terms::NS_WORDS {
                terms::for_each_entry(&value, &mut |term, p| {
                    let rows = p.rows()?;
                    let rows32: Vec<u32> = rows.iter().map(|&r| r as u32).collect();
                    let mut w = super::codec::Writer::default();
                    terms::encode_postings(&mut w, &rows32, recs.len());
                    post_all += w.buf.len() as u64;
                    word_bytes += term.len() as u64 + 1;
                    if rows.len() > 1 && !seen.insert(rows) {
                        post_dedup += 2;
                    } else {
                        post_dedup += w.buf.len() as u64;
                    }
                    Ok(true)
                })
                .unwrap();
            }
            let ns = suffix[0];
            let mut single = super::codec::Writer::default();
            let mut dsingle = super::codec::Writer::default();
            let mut multi = super::codec::Writer::default();
            terms::for_each_entry(&value, &mut |term, p| {
                let rows = p.rows()?;
                let digit = term.iter().any(u8::is_ascii_digit);
                if rows.len() == 1 && digit {
                    digit_singles += 1;
                    if term.iter().all(u8::is_ascii_digit) {
                        pure_singles += 1;
                        pure_bytes += term.len() as u64;
                    } else if samples.len() < 30 && digit_singles.is_multiple_of(97) {
                        samples.push(String::from_utf8_lossy(term).to_string());
                    }
                }
                let w = match (rows.len() == 1, digit) {
                    (true, true) => &mut dsingle,
                    (true, false) => &mut single,
                    _ => &mut multi,
                };
                w.bytes(term);
                for r in rows {
                    w.varint(r as u64);
                }
                Ok(true)
            })
            .unwrap();
            if ns == terms::NS_TRACES {
                terms_raw[2] += value.len() as u64;
                terms_z[2] += z(&value, 3) as u64;
            } else {
                terms_raw[0] += single.buf.len() as u64;
                terms_z[0] += z(&single.buf, 3) as u64;
                terms_raw[1] += multi.buf.len() as u64;
                terms_z[1] += z(&multi.buf, 3) as u64;
                terms_raw[3] += dsingle.buf.len() as u64;
                terms_z[3] += z(&dsingle.buf, 3) as u64;
            }
        }
    }
    let per = |b: u64| b as f64 / total as f64;
    println!("blocks {} logs {total}", keys.len().min(limit));
    let names = [
        "ts", "obs", "sev", "sevtext", "service", "body", "attrs", "resource", "scope", "trace",
        "span", "misc",
    ];
    let sum: u64 = col_bytes.iter().sum();
    println!("block columns: {:.2} B/log", per(sum));
    println!(
        "re-encoded: version 3 {:.2} B/log, version 4 {:.2} B/log",
        per(reenc[0]),
        per(reenc[1])
    );
    for (n, b) in names.iter().zip(col_bytes) {
        println!("  {n:10} {:.2}", per(b));
    }
    println!("attributes per key (zstd 3, frame alone, no dict):");
    for (k, b) in &per_key_cur {
        println!("  {k:28} {:.2}", per(*b));
    }
    println!(
        "terms (raw/zstd3 per group): digit singles {:.2}/{:.2} ({:.2} per log) other singles {:.2}/{:.2} multi {:.2}/{:.2} traces {:.2}/{:.2}",
        per(terms_raw[3]),
        per(terms_z[3]),
        per(digit_singles),
        per(terms_raw[0]),
        per(terms_z[0]),
        per(terms_raw[1]),
        per(terms_z[1]),
        per(terms_raw[2]),
        per(terms_z[2])
    );
    println!(
        "word postings raw {:.2} B/log, identical lists once {:.2}; words {:.2}",
        per(post_all),
        per(post_dedup),
        per(word_bytes)
    );
    println!(
        "pure-digit singles {:.2} per log ({:.2} bytes); others e.g. {samples:?}",
        per(pure_singles),
        per(pure_bytes)
    );
    for cf in [
        super::CF_LOG_BLOCKS,
        super::CF_LOG_SUMMARIES,
        super::CF_LOG_TERMS,
    ] {
        let h = inner.cf(cf).unwrap();
        let v = inner
            .db
            .property_int_value_cf(h, "rocksdb.total-sst-files-size")
            .unwrap()
            .unwrap_or(0);
        println!("cf {cf}: {:.2} B/log", per(v));
    }
}
