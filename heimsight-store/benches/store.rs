//! Criterion benchmarks of the store backends on generated, realistic telemetry
//! ([`heimsight_datagen`]).
//!
//! `cargo bench -p heimsight-store` runs them all in a few minutes; pass a filter to run some,
//! e.g. `cargo bench -p heimsight-store -- append_logs`. The data set is deliberately small
//! (100,000 logs, 10,000 traces); the 10-million-record figures come from the
//! `scale` example instead.
//!
//! - `append_logs/<store>`: `append_logs` of 1,000-record batches into a store that grows
//!   during a sample (throughput in records).
//! - `query/<query>/<store>`: queries on a loaded (and, for RocksDB, compacted) store: the
//!   100 newest logs, `level=error AND service=X` (page of 100 plus the total), a rare-term
//!   full-text search, a trace by id, and a trace search by service.

#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use heimsight_core::{Level, LogRecord, TraceId};
use heimsight_datagen::{Config, Generator, RARE_TERM, SplitMix64};
use heimsight_store::{LogFilter, LogQuery, MemoryStore, Store, TraceQuery};

const LOGS: usize = 100_000;
const TRACES: usize = 10_000;
const BATCH: usize = 1_000;
/// Five rare records in the 100,000 logs.
const RARE_EVERY: u64 = 20_000;
const SERVICE: &str = "order-service";

/// A store under test, with its temporary directory.
enum Fixture {
    Memory(MemoryStore),
    #[cfg(feature = "rocksdb")]
    Rocks(
        heimsight_store::RocksStore,
        #[allow(dead_code)] tempfile::TempDir,
    ),
}

impl Fixture {
    fn store(&self) -> &dyn Store {
        match self {
            Fixture::Memory(s) => s,
            #[cfg(feature = "rocksdb")]
            Fixture::Rocks(s, _) => s,
        }
    }

    /// Flushes and forces a full compaction where the backend has one.
    fn compact(&self) {
        self.store().flush().unwrap();
        #[cfg(feature = "rocksdb")]
        if let Fixture::Rocks(s, _) = self {
            s.compact().unwrap();
        }
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Memory,
    #[cfg(feature = "rocksdb")]
    Rocks(heimsight_store::Durability),
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Memory => "memory",
            #[cfg(feature = "rocksdb")]
            Kind::Rocks(heimsight_store::Durability::Sync) => "rocksdb_sync",
            #[cfg(feature = "rocksdb")]
            Kind::Rocks(_) => "rocksdb_wal",
        }
    }

    fn open(self) -> Fixture {
        match self {
            Kind::Memory => Fixture::Memory(MemoryStore::new()),
            #[cfg(feature = "rocksdb")]
            Kind::Rocks(durability) => {
                let dir = tempfile::tempdir().unwrap();
                let store = heimsight_store::RocksStore::builder(dir.path())
                    .durability(durability)
                    .open()
                    .unwrap();
                Fixture::Rocks(store, dir)
            }
        }
    }
}

fn kinds_for_writes() -> Vec<Kind> {
    #[allow(unused_mut)]
    let mut kinds = vec![Kind::Memory];
    #[cfg(feature = "rocksdb")]
    {
        kinds.push(Kind::Rocks(heimsight_store::Durability::Wal));
        kinds.push(Kind::Rocks(heimsight_store::Durability::Sync));
    }
    kinds
}

fn kinds_for_queries() -> Vec<Kind> {
    #[allow(unused_mut)]
    let mut kinds = vec![Kind::Memory];
    #[cfg(feature = "rocksdb")]
    kinds.push(Kind::Rocks(heimsight_store::Durability::Wal));
    kinds
}

fn config() -> Config {
    Config {
        rare_every: RARE_EVERY,
        ..Config::default()
    }
}

fn append_logs(c: &mut Criterion) {
    // A pool of batches, replayed with shifted timestamps so time keeps moving forward.
    let mut generator = Generator::with_config(1, config());
    let pool: Vec<Vec<LogRecord>> = (0..50).map(|_| generator.logs(BATCH)).collect();
    let pool_span = pool
        .last()
        .and_then(|b| b.last())
        .map_or(0, |r| r.timestamp.0 - pool[0][0].timestamp.0)
        + 1_000_000;
    let batch = |j: u64| -> Vec<LogRecord> {
        let shift = (j / pool.len() as u64) as i64 * pool_span;
        let mut b = pool[(j % pool.len() as u64) as usize].clone();
        for r in &mut b {
            r.timestamp.0 += shift;
        }
        b
    };

    let mut group = c.benchmark_group("append_logs");
    group.throughput(Throughput::Elements(BATCH as u64));
    for kind in kinds_for_writes() {
        group.bench_function(kind.name(), |b| {
            b.iter_custom(|iters| {
                // A fresh store per sample keeps memory bounded; only appends are timed.
                let fixture = kind.open();
                let mut elapsed = Duration::ZERO;
                for j in 0..iters {
                    let records = batch(j);
                    let t = Instant::now();
                    fixture.store().append_logs(records).unwrap();
                    elapsed += t.elapsed();
                }
                elapsed
            });
        });
    }
    group.finish();
}

/// A store loaded with the benchmark data set and compacted, and the ids of its traces.
fn loaded(kind: Kind) -> (Fixture, Vec<TraceId>) {
    let mut generator = Generator::with_config(2, config());
    let fixture = kind.open();
    for _ in 0..LOGS / BATCH {
        fixture.store().append_logs(generator.logs(BATCH)).unwrap();
    }
    let mut ids = Vec::new();
    for _ in 0..TRACES / 100 {
        let spans = generator.traces(100);
        ids.extend(spans.iter().filter(|s| s.is_root()).map(|s| s.trace_id));
        fixture.store().append_spans(spans).unwrap();
    }
    fixture.compact();
    assert_eq!(generator.rare_logs(), (LOGS as u64) / RARE_EVERY);
    (fixture, ids)
}

fn queries(c: &mut Criterion) {
    let mut group = c.benchmark_group("query");
    for kind in kinds_for_queries() {
        let (fixture, ids) = loaded(kind);
        let store = fixture.store();
        let name = kind.name();

        group.bench_function(format!("newest_100/{name}"), |b| {
            let q = LogQuery::default();
            b.iter(|| black_box(store.query_logs(&q).unwrap()));
        });

        let q = LogQuery::default().with_filter(
            LogFilter::default()
                .with_levels([Level::Error])
                .with_services([SERVICE]),
        );
        assert!(store.query_logs(&q).unwrap().total > 100);
        group.bench_function(format!("error_and_service/{name}"), |b| {
            b.iter(|| black_box(store.query_logs(&q).unwrap()));
        });

        let q = LogQuery::default().with_filter(LogFilter::default().with_terms([RARE_TERM]));
        assert_eq!(
            store.query_logs(&q).unwrap().total,
            LOGS as u64 / RARE_EVERY
        );
        group.bench_function(format!("rare_term/{name}"), |b| {
            b.iter(|| black_box(store.query_logs(&q).unwrap()));
        });

        group.bench_function(format!("trace_by_id/{name}"), |b| {
            let mut rng = SplitMix64::new(3);
            b.iter(|| {
                let id = ids[rng.below(ids.len() as u64) as usize];
                black_box(store.get_trace(&id).unwrap())
            });
        });

        let q = TraceQuery::default().with_service(SERVICE);
        group.bench_function(format!("find_traces_service/{name}"), |b| {
            b.iter(|| black_box(store.find_traces(&q).unwrap()));
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = append_logs, queries
}
criterion_main!(benches);
