//! Integration tests of `heimsight-store`: the compliance suite (`heimsight_store::testkit`)
//! for every backend.
#![allow(clippy::unwrap_used, missing_docs, unreachable_pub)]

use heimsight_store::compliance_suite;
#[cfg(feature = "rocksdb")]
use heimsight_store::testkit as compliance;

compliance_suite!(memory, |dir| {
    let _ = dir;
    heimsight_store::MemoryStore::new()
});

#[cfg(feature = "rocksdb")]
compliance_suite!(rocksdb, |dir| heimsight_store::RocksStore::builder(dir)
    .background_merge(false)
    .open()
    .unwrap());

// The same suite with every metric append cut into chunks right away by the background
// thread, so queries read a mix of chunks and head.
#[cfg(feature = "rocksdb")]
compliance_suite!(rocksdb_chunks, |dir| heimsight_store::RocksStore::builder(
    dir
)
.metric_head_bytes(0)
.open()
.unwrap());

// The same suite with a Bloom filter cache of a few KB, so that nearly every full-text,
// attribute and trace-id check misses, reads the block's summary from disk and evicts
// another filter; merges run in the background too.
#[cfg(feature = "rocksdb")]
compliance_suite!(rocksdb_tiny_bloom_cache, |dir| {
    heimsight_store::RocksStore::builder(dir)
        .bloom_cache_bytes(4 << 10)
        .open()
        .unwrap()
});

/// The same suite with a background merge running and every check followed by a full
/// compaction, so merged blocks are exercised too.
#[cfg(feature = "rocksdb")]
mod rocksdb_compacted {
    use super::compliance;
    use heimsight_store::{LogQuery, LogStore, RocksStore};

    #[test]
    fn merged_blocks_answer_like_the_reference() {
        let tmp = tempfile::tempdir().unwrap();
        let store = RocksStore::builder(tmp.path()).open().unwrap();
        compliance::log_queries_agree_with_reference(&store);
        let before = store
            .query_logs(&LogQuery::default().with_limit(500).with_offset(100))
            .unwrap();
        store.compact().unwrap();
        let after = store
            .query_logs(&LogQuery::default().with_limit(500).with_offset(100))
            .unwrap();
        assert_eq!(before, after);
        assert_eq!(after.total, 6000);
    }
}

#[cfg(feature = "rocksdb")]
mod rocksdb_persistence {
    use super::compliance::{self, T0, full_log, full_span, trace_id};
    use heimsight_core::{Labels, MetricPoint, PointGroup, Timestamp};
    use heimsight_store::{
        Error, LogQuery, LogStore, Maintenance, MetaStore, MetricStore, RocksStore, SeriesQuery,
        SpanStore, TraceQuery,
    };

    #[test]
    fn everything_survives_reopening() {
        let tmp = tempfile::tempdir().unwrap();
        let span = full_span();
        {
            let store = RocksStore::open(tmp.path()).unwrap();
            store.append_logs(vec![full_log()]).unwrap();
            store.append_spans(vec![span.clone()]).unwrap();
            store
                .append_points(vec![MetricPoint::gauge(
                    "g",
                    Labels::new(),
                    Timestamp(T0),
                    1.5,
                )])
                .unwrap();
            store.meta_put("settings", "k", b"v").unwrap();
        }
        let store = RocksStore::open(tmp.path()).unwrap();
        assert_eq!(
            store.query_logs(&LogQuery::default()).unwrap().logs,
            vec![full_log()]
        );
        assert_eq!(store.get_trace(&span.trace_id).unwrap(), vec![span.clone()]);
        assert_eq!(store.find_traces(&TraceQuery::default()).unwrap().len(), 1);
        let pts = store
            .query_points(&SeriesQuery::default().with_name("g"))
            .unwrap();
        assert_eq!(pts[0].points.len(), 1);
        assert_eq!(
            store.meta_get("settings", "k").unwrap().as_deref(),
            Some(&b"v"[..])
        );
        let stats = store.stats().unwrap();
        assert_eq!(
            (
                stats.logs.records,
                stats.spans.records,
                stats.metrics.records,
                stats.series
            ),
            (1, 1, 1, 1)
        );
        // New writes after reopening do not collide with old block keys.
        store.append_logs(vec![full_log()]).unwrap();
        assert_eq!(store.query_logs(&LogQuery::default()).unwrap().total, 2);
        assert!(store.get_trace(&trace_id(12345)).unwrap().is_empty());
    }

    /// Bytes of the RocksDB write-ahead log files in `dir`.
    fn wal_bytes(dir: &std::path::Path) -> u64 {
        std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".log"))
            .map(|e| e.metadata().unwrap().len())
            .sum()
    }

    /// `flush` (what a clean shutdown does) leaves nothing in the write-ahead log: every
    /// signal's data is in SST files and the next open replays nothing.
    #[test]
    fn flush_empties_the_write_ahead_log() {
        let tmp = tempfile::tempdir().unwrap();
        {
            let store = RocksStore::builder(tmp.path())
                .background_merge(false)
                .open()
                .unwrap();
            for batch in 0..20 {
                let logs: Vec<_> = (0..100)
                    .map(|i| {
                        let mut l = full_log();
                        l.body = format!("request {batch}-{i} took {} ms", i * 7919 % 1000);
                        l
                    })
                    .collect();
                store.append_logs(logs).unwrap();
            }
            store.append_spans(vec![full_span()]).unwrap();
            store
                .append_points(vec![MetricPoint::gauge(
                    "g",
                    Labels::new(),
                    Timestamp(T0),
                    1.5,
                )])
                .unwrap();
            let before = wal_bytes(tmp.path());
            assert!(
                before > 20_000,
                "the appends are in the WAL: {before} bytes"
            );
            store.flush().unwrap();
            assert!(
                wal_bytes(tmp.path()) < 4096,
                "{} bytes of WAL left after flush",
                wal_bytes(tmp.path())
            );
        }
        let store = RocksStore::open(tmp.path()).unwrap();
        assert_eq!(store.query_logs(&LogQuery::default()).unwrap().total, 2000);
        assert_eq!(store.stats().unwrap().metrics.records, 1);
    }

    #[test]
    fn a_newer_format_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        drop(RocksStore::open(tmp.path()).unwrap());
        {
            let db = rocksdb_raw_open(tmp.path());
            db.put(b"heimsight.format", 99u32.to_be_bytes()).unwrap();
        }
        match RocksStore::open(tmp.path()) {
            Err(Error::FormatVersion {
                found: 99,
                supported: heimsight_store::rocks::FORMAT_VERSION,
                ..
            }) => {}
            other => panic!("expected a format version error, got {other:?}"),
        }
        let _ = compliance::T0;
    }

    fn gauge(ts: i64, v: f64) -> MetricPoint {
        MetricPoint::gauge("g", Labels::new(), Timestamp(T0 + ts), v)
    }

    fn values(store: &RocksStore) -> Vec<(i64, f64)> {
        store
            .query_points(&SeriesQuery::default().with_name("g"))
            .unwrap()
            .into_iter()
            .flat_map(|s| s.points)
            .map(|p| (p.timestamp.0 - T0, p.value.scalar()))
            .collect()
    }

    /// Points in chunks and in the head (replayed from the point log after reopening) read
    /// the same, and a later point of the same series and timestamp wins wherever each is.
    #[test]
    fn metric_points_in_chunks_and_head_agree() {
        let tmp = tempfile::tempdir().unwrap();
        let mut want: Vec<(i64, f64)> = (0..10).map(|i| (i, 1.0)).collect();
        {
            let store = RocksStore::open(tmp.path()).unwrap();
            store
                .append_points((0..10).map(|i| gauge(i, 1.0)).collect())
                .unwrap();
            store.compact().unwrap();
            // Overwrites half of the chunked points, from the head.
            store
                .append_points((5..15).map(|i| gauge(i, 2.0)).collect())
                .unwrap();
            want.truncate(5);
            want.extend((5..15).map(|i| (i, 2.0)));
            assert_eq!(values(&store), want);
            // Twice the same timestamp in one batch: the later one wins.
            store
                .append_points(vec![gauge(20, 3.0), gauge(20, 4.0)])
                .unwrap();
            want.push((20, 4.0));
            assert_eq!(values(&store), want);
        }
        // Reopened without a cut: the head comes back from the point log.
        let store = RocksStore::open(tmp.path()).unwrap();
        assert_eq!(values(&store), want);
        assert_eq!(store.stats().unwrap().metrics.records, 22);
        store.compact().unwrap();
        assert_eq!(values(&store), want);
        store.append_points(vec![gauge(0, 9.0)]).unwrap();
        want[0] = (0, 9.0);
        drop(store);
        let store = RocksStore::open(tmp.path()).unwrap();
        assert_eq!(values(&store), want);
        store.compact().unwrap();
        drop(store);
        let store = RocksStore::open(tmp.path()).unwrap();
        assert_eq!(values(&store), want);
        // Sequence numbers continue after an emptied log: new appends are not lost.
        store.append_points(vec![gauge(30, 5.0)]).unwrap();
        drop(store);
        let store = RocksStore::open(tmp.path()).unwrap();
        want.push((30, 5.0));
        assert_eq!(values(&store), want);
    }

    /// Requests appending the same new series at once (their series are looked up before
    /// the append lock is taken) make one series each, with every point, before and after a
    /// reopen.
    #[test]
    fn concurrent_appends_of_new_series_make_each_series_once() {
        let tmp = tempfile::tempdir().unwrap();
        let shared: Labels = [("service.name".to_string(), "api".to_string())].into();
        {
            let store = RocksStore::open(tmp.path()).unwrap();
            std::thread::scope(|s| {
                for t in 0..4i64 {
                    let (store, shared) = (&store, &shared);
                    s.spawn(move || {
                        for round in 0..50i64 {
                            let points = (0..20)
                                .map(|k| {
                                    // New series every round, for the threads to race on.
                                    let own = [
                                        ("k".to_string(), k.to_string()),
                                        ("round".to_string(), round.to_string()),
                                    ]
                                    .into();
                                    let ts = Timestamp(T0 + t);
                                    MetricPoint::gauge("c", own, ts, 1.0)
                                })
                                .collect();
                            let group = PointGroup {
                                labels: shared.clone(),
                                points,
                            };
                            store.append_point_groups(vec![group]).unwrap();
                        }
                    });
                }
            });
            let series = store
                .query_points(&SeriesQuery::default().with_name("c"))
                .unwrap();
            assert_eq!(series.len(), 1000);
            assert!(series.iter().all(|s| s.points.len() == 4));
            assert!(
                series
                    .iter()
                    .all(|s| s.series.labels["service.name"] == "api")
            );
        }
        let store = RocksStore::open(tmp.path()).unwrap();
        let series = store
            .query_points(&SeriesQuery::default().with_name("c"))
            .unwrap();
        assert_eq!(series.len(), 1000);
        assert!(series.iter().all(|s| s.points.len() == 4));
        assert_eq!(store.stats().unwrap().series, 1000);
    }

    /// Checked appends know each series' newest point after a reopen (from the point log), and
    /// a log entry some of whose points were refused replays as what was taken.
    #[test]
    fn checked_appends_survive_a_reopen() {
        const WINDOW: i64 = 600_000_000_000;
        let tmp = tempfile::tempdir().unwrap();
        let group = |points: Vec<MetricPoint>| {
            [PointGroup {
                labels: Labels::new(),
                points,
            }]
        };
        {
            let store = RocksStore::open(tmp.path()).unwrap();
            let r = store
                .append_point_groups_checked(&group(vec![gauge(10, 1.0), gauge(20, 2.0)]), WINDOW)
                .unwrap();
            assert!(r.is_empty(), "{r:?}");
            // One refused (another value at 20), one dropped (the same at 10), one taken.
            let r = store
                .append_point_groups_checked(
                    &group(vec![gauge(20, 9.0), gauge(10, 1.0), gauge(30, 3.0)]),
                    WINDOW,
                )
                .unwrap();
            assert_eq!(r.len(), 1, "{r:?}");
            assert_eq!((r[0].point, r[0].reason.contains("duplicate")), (0, true));
        }
        let store = RocksStore::open(tmp.path()).unwrap();
        assert_eq!(values(&store), [(10, 1.0), (20, 2.0), (30, 3.0)]);
        let r = store
            .append_point_groups_checked(&group(vec![gauge(30, 4.0), gauge(30, 3.0)]), WINDOW)
            .unwrap();
        assert_eq!(r.len(), 1, "{r:?}");
        assert_eq!(values(&store), [(10, 1.0), (20, 2.0), (30, 3.0)]);
    }

    fn rocksdb_raw_open(path: &std::path::Path) -> rocksdb::DB {
        let cfs = rocksdb::DB::list_cf(&rocksdb::Options::default(), path).unwrap();
        rocksdb::DB::open_cf(&rocksdb::Options::default(), path, cfs).unwrap()
    }
}
