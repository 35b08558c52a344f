//! The compliance suite every storage backend must pass (feature `testkit`).
//!
//! Each check takes a fresh, empty store and panics, as a test does, when the backend
//! answers differently from what the traits promise; many checks compare with the reference
//! [`MemoryStore`]. A backend's tests instantiate the whole suite with
//! [`compliance_suite!`](crate::compliance_suite), which makes one `#[test]` per check:
//!
//! ```
//! heimsight_store::compliance_suite!(memory, |dir| {
//!     let _ = dir; // a fresh temporary directory, for backends that keep files
//!     heimsight_store::MemoryStore::new()
//! });
//! # fn main() {}
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::missing_panics_doc)]

use heimsight_core::{
    AttributeValue, Attributes, HistogramValue, Labels, Level, LogRecord, MetricKind, MetricPoint,
    MetricValue, PointGroup, Scope, Span, SpanEvent, SpanId, SpanKind, SpanLink, Status,
    StatusCode, Temporality, Timestamp, TraceId,
};
use std::collections::BTreeMap;
use std::sync::Arc;

use crate::{
    LabelMatcher, LogCount, LogFields, LogFilter, LogQuery, LogScan, LogStore, MatchOp,
    MemoryStore, MetaOp, Order, SeriesQuery, Signal, SpanScan, Store, TimeRange, TraceQuery,
};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// A temporary directory for one check, removed when dropped.
#[derive(Debug)]
pub struct TestDir(tempfile::TempDir);

impl TestDir {
    /// A new, empty temporary directory.
    pub fn new() -> TestDir {
        TestDir(tempfile::tempdir().expect("creating a temporary directory"))
    }

    /// Its path.
    pub fn path(&self) -> &std::path::Path {
        self.0.path()
    }
}

impl Default for TestDir {
    fn default() -> Self {
        TestDir::new()
    }
}

/// Base time for generated data: 2026-01-01T00:00:00Z.
pub const T0: i64 = 1_767_225_600_000_000_000;
const SEC: i64 = 1_000_000_000;

/// A distinct trace id for each `n` (the tests' ids are made from numbers).
pub fn trace_id(n: u64) -> TraceId {
    let mut b = [0u8; 16];
    b[8..].copy_from_slice(&(n + 1).to_be_bytes());
    b[0] = 0xab;
    TraceId(b)
}

/// A distinct span id for each `n`.
pub fn span_id(n: u64) -> SpanId {
    SpanId((n + 1).to_be_bytes())
}

fn log(ts: i64, level: Level, service: &str, msg: &str) -> LogRecord {
    LogRecord {
        service: service.to_string(),
        ..LogRecord::new(Timestamp(ts), level, msg)
    }
}

/// A record with every field set, to check nothing is lost on the way through the store.
pub fn full_log() -> LogRecord {
    let mut attributes = heimsight_core::Attributes::new();
    attributes.insert("http.method".into(), "GET".into());
    attributes.insert("http.status".into(), AttributeValue::Int(503));
    attributes.insert("ratio".into(), AttributeValue::Double(0.25));
    attributes.insert("ok".into(), AttributeValue::Bool(false));
    attributes.insert("raw".into(), AttributeValue::Bytes(vec![0, 1, 254, 255]));
    attributes.insert(
        "list".into(),
        AttributeValue::Array(vec![AttributeValue::Int(1), "two".into()]),
    );
    let mut inner = heimsight_core::Attributes::new();
    inner.insert("deep".into(), AttributeValue::Double(f64::INFINITY));
    attributes.insert("map".into(), AttributeValue::KvList(inner));
    let mut resource = heimsight_core::Attributes::new();
    resource.insert("service.name".into(), "api".into());
    resource.insert("host.name".into(), "web-1".into());
    LogRecord {
        timestamp: Timestamp(T0 + 123_456_789),
        observed_timestamp: Timestamp(T0 + 223_456_789),
        severity_number: 18,
        severity_text: "ERROR2".into(),
        body: "connection refused: übel ✓".into(),
        service: "api".into(),
        attributes,
        resource: resource.into(),
        scope: Scope {
            name: "my.lib".into(),
            version: "1.2.3".into(),
            attributes: [("scope.attr".to_string(), AttributeValue::Int(7))].into(),
        }
        .into(),
        trace_id: Some(trace_id(42)),
        span_id: Some(span_id(7)),
        flags: 1,
        dropped_attributes_count: 3,
    }
}

/// A span with every field set (events, links, status, scope, resource).
pub fn full_span() -> Span {
    Span {
        trace_id: trace_id(1),
        span_id: span_id(2),
        parent_span_id: Some(span_id(1)),
        name: "GET /users/{id}".into(),
        kind: SpanKind::Server,
        service: "api".into(),
        start_time: Timestamp(T0),
        end_time: Timestamp(T0 + 250_000_000),
        status: Status {
            code: StatusCode::Error,
            message: "boom".into(),
        },
        attributes: [(
            "http.route".to_string(),
            AttributeValue::from("/users/{id}"),
        )]
        .into(),
        resource: Attributes::from([("service.name".to_string(), AttributeValue::from("api"))])
            .into(),
        scope: Scope {
            name: "tracer".into(),
            version: "0.1".into(),
            attributes: Default::default(),
        }
        .into(),
        events: vec![SpanEvent {
            timestamp: Timestamp(T0 + 100),
            name: "exception".into(),
            attributes: [(
                "exception.type".to_string(),
                AttributeValue::from("IOError"),
            )]
            .into(),
            dropped_attributes_count: 1,
        }],
        links: vec![SpanLink {
            trace_id: trace_id(9),
            span_id: span_id(9),
            trace_state: "k=v".into(),
            attributes: Default::default(),
            dropped_attributes_count: 0,
            flags: 1,
        }],
        trace_state: "a=b".into(),
        flags: 1,
        dropped_attributes_count: 2,
        dropped_events_count: 3,
        dropped_links_count: 4,
    }
}

fn span(
    trace: u64,
    id: u64,
    parent: Option<u64>,
    service: &str,
    name: &str,
    start: i64,
    dur: i64,
) -> Span {
    Span {
        trace_id: trace_id(trace),
        span_id: span_id(id),
        parent_span_id: parent.map(span_id),
        name: name.into(),
        kind: SpanKind::Internal,
        service: service.into(),
        start_time: Timestamp(start),
        end_time: Timestamp(start + dur),
        status: Status::default(),
        attributes: Default::default(),
        resource: Default::default(),
        scope: Default::default(),
        events: vec![],
        links: vec![],
        trace_state: String::new(),
        flags: 0,
        dropped_attributes_count: 0,
        dropped_events_count: 0,
        dropped_links_count: 0,
    }
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A record with every field set comes back exactly as written.
pub fn log_round_trip(store: &dyn Store) {
    let rec = full_log();
    store.append_logs(vec![rec.clone()]).unwrap();
    let page = store.query_logs(&LogQuery::default()).unwrap();
    assert_eq!(page.total, 1);
    assert_eq!(page.logs, vec![rec]);
}

/// Time ranges are half-open, both orders hold, and offset/limit page through the matches.
pub fn log_time_ranges_orders_and_paging(store: &dyn Store) {
    // 50 records one second apart, appended in three out-of-order batches.
    let recs: Vec<LogRecord> = (0..50)
        .map(|i| log(T0 + i * SEC, Level::Info, "api", &format!("message {i}")))
        .collect();
    store.append_logs(recs[20..].to_vec()).unwrap();
    store.append_logs(recs[..10].to_vec()).unwrap();
    store.append_logs(recs[10..20].to_vec()).unwrap();

    let all = store
        .query_logs(&LogQuery {
            limit: 1000,
            ..LogQuery::default()
        })
        .unwrap();
    assert_eq!(all.total, 50);
    let ts: Vec<i64> = all.logs.iter().map(|r| r.timestamp.0).collect();
    let mut expected: Vec<i64> = (0..50).map(|i| T0 + i * SEC).collect();
    expected.reverse();
    assert_eq!(ts, expected, "newest first by default");

    let q = LogQuery {
        range: TimeRange::new(Timestamp(T0 + 10 * SEC), Timestamp(T0 + 20 * SEC)),
        order: Order::OldestFirst,
        limit: 3,
        offset: 2,
        ..LogQuery::default()
    };
    let page = store.query_logs(&q).unwrap();
    assert_eq!(page.total, 10, "end is exclusive, start inclusive");
    let bodies: Vec<&str> = page.logs.iter().map(|r| r.body.as_str()).collect();
    assert_eq!(bodies, ["message 12", "message 13", "message 14"]);

    let newest = store
        .query_logs(
            &LogQuery {
                limit: 2,
                offset: 1,
                ..q.clone()
            }
            .with_order(Order::NewestFirst),
        )
        .unwrap();
    let bodies: Vec<&str> = newest.logs.iter().map(|r| r.body.as_str()).collect();
    assert_eq!(bodies, ["message 18", "message 17"]);

    let beyond = store
        .query_logs(&LogQuery {
            offset: 100,
            ..q.clone()
        })
        .unwrap();
    assert!(beyond.logs.is_empty());
    assert_eq!(beyond.total, 10);

    let open_start = LogQuery {
        range: TimeRange {
            start: None,
            end: Some(Timestamp(T0 + 5 * SEC)),
        },
        ..LogQuery::default()
    };
    assert_eq!(store.query_logs(&open_start).unwrap().total, 5);
    let empty = LogQuery {
        range: TimeRange::new(Timestamp(T0 + 5 * SEC), Timestamp(T0 + 5 * SEC)),
        ..LogQuery::default()
    };
    assert_eq!(store.query_logs(&empty).unwrap().total, 0);
}

/// Every log filter (level, service, text, phrases, attributes, trace id) selects what the
/// reference does.
pub fn log_filters(store: &dyn Store) {
    let mut a = log(
        T0,
        Level::Error,
        "api",
        "Connection refused by upstream db-1",
    );
    a.attributes
        .insert("http.status".into(), AttributeValue::Int(503));
    a.trace_id = Some(trace_id(1));
    let mut b = log(T0 + SEC, Level::Info, "api", "user 42 logged in");
    Arc::make_mut(&mut b.resource).insert("host.name".into(), "web-2".into());
    let mut c = log(
        T0 + 2 * SEC,
        Level::Error,
        "billing",
        "payment timeout after 30s",
    );
    c.attributes
        .insert("http.status".into(), AttributeValue::Int(504));
    Arc::make_mut(&mut c.resource).insert("host.name".into(), "web-2".into());
    let d = log(
        T0 + 3 * SEC,
        Level::Warn,
        "billing",
        "slow query: SELECT * FROM timeouts",
    );
    store.append_logs(vec![a, b, c, d]).unwrap();

    let bodies = |filter: LogFilter| -> Vec<String> {
        let page = store
            .query_logs(&LogQuery {
                filter,
                order: Order::OldestFirst,
                ..LogQuery::default()
            })
            .unwrap();
        assert_eq!(page.total as usize, page.logs.len());
        page.logs.into_iter().map(|r| r.body).collect()
    };
    let f = LogFilter::default;
    assert_eq!(
        bodies(LogFilter {
            services: vec!["billing".into()],
            ..f()
        })
        .len(),
        2
    );
    assert_eq!(
        bodies(LogFilter {
            levels: vec![Level::Error],
            services: vec!["api".into()],
            ..f()
        }),
        ["Connection refused by upstream db-1"]
    );
    assert_eq!(
        bodies(LogFilter {
            levels: vec![Level::Warn, Level::Info],
            ..f()
        })
        .len(),
        2
    );
    assert_eq!(
        bodies(LogFilter {
            attributes: vec![("http.status".into(), "504".into())],
            ..f()
        }),
        ["payment timeout after 30s"]
    );
    assert_eq!(
        bodies(LogFilter {
            attributes: vec![("host.name".into(), "web-2".into())],
            ..f()
        })
        .len(),
        2,
        "attribute filters fall back to resource attributes"
    );
    assert_eq!(
        bodies(LogFilter {
            contains: Some("TIMEOUT".into()),
            ..f()
        }),
        [
            "payment timeout after 30s",
            "slow query: SELECT * FROM timeouts"
        ],
        "contains is a case-insensitive substring"
    );
    assert_eq!(
        bodies(LogFilter {
            terms: vec!["timeout".into()],
            ..f()
        }),
        ["payment timeout after 30s"],
        "terms match whole tokens"
    );
    assert_eq!(
        bodies(LogFilter {
            terms: vec!["connection REFUSED".into()],
            ..f()
        }),
        ["Connection refused by upstream db-1"],
        "a multi-word term is a phrase"
    );
    assert!(
        bodies(LogFilter {
            terms: vec!["refused connection".into()],
            ..f()
        })
        .is_empty()
    );
    assert_eq!(
        bodies(LogFilter {
            terms: vec!["db".into(), "upstream".into()],
            ..f()
        })
        .len(),
        1
    );
    assert_eq!(
        bodies(LogFilter {
            trace_ids: [trace_id(1)].into(),
            ..f()
        }),
        ["Connection refused by upstream db-1"]
    );
    assert!(
        bodies(LogFilter {
            services: vec!["nope".into()],
            ..f()
        })
        .is_empty()
    );
    assert!(
        bodies(LogFilter {
            terms: vec!["zebra".into()],
            ..f()
        })
        .is_empty()
    );
}

/// Random records and queries, checked against the reference [`MemoryStore`].
pub fn log_queries_agree_with_reference(store: &dyn Store) {
    let reference = MemoryStore::new();
    let mut rng = SmallRng::seed_from_u64(7);
    let services = ["api", "billing", "auth", "search"];
    let words = [
        "alpha", "beta", "gamma", "delta", "timeout", "refused", "ok",
    ];
    let levels = [Level::Debug, Level::Info, Level::Warn, Level::Error];
    // Unique timestamps spread over 3 days so time partitions are crossed; batches of
    // random sizes, partly out of order.
    let n = 6000;
    let mut ts: Vec<i64> = (0..n)
        .map(|i| T0 + i * 43 * SEC + rng.random_range(0..SEC))
        .collect();
    let mut i = 0;
    while i < ts.len() {
        let len = rng.random_range(1..700).min(ts.len() - i);
        let batch: Vec<LogRecord> = ts[i..i + len]
            .iter()
            .map(|t| {
                let mut r = log(
                    *t,
                    levels[rng.random_range(0..levels.len())],
                    services[rng.random_range(0..services.len())],
                    &format!(
                        "{} {} request {}",
                        words[rng.random_range(0..words.len())],
                        words[rng.random_range(0..words.len())],
                        rng.random_range(0..1000)
                    ),
                );
                r.attributes
                    .insert("shard".into(), AttributeValue::Int(rng.random_range(0..5)));
                // Words in attribute values too: full-text terms search them.
                if rng.random_bool(0.3) {
                    r.attributes.insert(
                        "note".into(),
                        format!("Zeta {}", words[rng.random_range(0..words.len())]).into(),
                    );
                }
                if rng.random_bool(0.5) {
                    r.trace_id = Some(trace_id(rng.random_range(0..50)));
                }
                r
            })
            .collect();
        store.append_logs(batch.clone()).unwrap();
        reference.append_logs(batch).unwrap();
        i += len;
    }
    ts.sort();
    let in_range = |range: TimeRange| {
        reference
            .query_logs(&LogQuery {
                range,
                limit: usize::MAX,
                ..LogQuery::default()
            })
            .unwrap()
            .logs
    };
    for round in 0..150 {
        let a = ts[rng.random_range(0..ts.len())];
        let b = ts[rng.random_range(0..ts.len())];
        let range = match round % 4 {
            0 => TimeRange::ALL,
            1 => TimeRange {
                start: Some(Timestamp(a.min(b))),
                end: None,
            },
            _ => TimeRange::new(Timestamp(a.min(b)), Timestamp(a.max(b) + 1)),
        };
        let mut filter = LogFilter::default();
        if rng.random_bool(0.3) {
            filter.services = vec![services[rng.random_range(0..services.len())].into()];
        }
        if rng.random_bool(0.3) {
            filter.levels = vec![levels[rng.random_range(0..levels.len())]];
        }
        if rng.random_bool(0.2) {
            filter.terms = vec![words[rng.random_range(0..words.len())].into()];
        }
        if rng.random_bool(0.1) {
            // A phrase only attribute values hold.
            filter
                .terms
                .push(format!("zeta {}", words[rng.random_range(0..words.len())]));
        }
        if rng.random_bool(0.1) {
            filter.contains = Some("TA GAM".into());
        }
        if rng.random_bool(0.1) {
            filter.attributes = vec![("shard".into(), rng.random_range(0..5).to_string())];
        }
        if rng.random_bool(0.1) {
            filter.trace_ids = (0..rng.random_range(1..4))
                .map(|_| trace_id(rng.random_range(0..50)))
                .collect();
        }
        let q = LogQuery {
            range,
            filter,
            order: if rng.random_bool(0.5) {
                Order::NewestFirst
            } else {
                Order::OldestFirst
            },
            limit: rng.random_range(0..150),
            offset: if rng.random_bool(0.5) {
                0
            } else {
                rng.random_range(0..3000)
            },
        };
        let got = store.query_logs(&q).unwrap();
        let want = reference.query_logs(&q).unwrap();
        assert_eq!(got.total, want.total, "total for {q:?}");
        assert_eq!(got.logs, want.logs, "page for {q:?}");

        // A scan visits exactly the matching records, each once.
        let scan = LogScan {
            range: q.range,
            filter: q.filter.clone(),
            order: q.order,
            fields: LogFields::ALL,
            limit: 0,
        };
        // With a limit: exactly the first page, in order.
        if q.limit > 0 {
            let mut page = Vec::new();
            store
                .scan_logs(
                    &LogScan {
                        limit: q.limit,
                        ..scan.clone()
                    },
                    &mut |batch| {
                        page.extend(batch);
                        true
                    },
                )
                .unwrap();
            let want = reference
                .query_logs(&LogQuery {
                    offset: 0,
                    ..q.clone()
                })
                .unwrap()
                .logs;
            assert_eq!(page, want, "limited scan for {q:?}");
        }
        let mut scanned = Vec::new();
        store
            .scan_logs(&scan, &mut |batch| {
                scanned.extend(batch);
                true
            })
            .unwrap();
        scanned.sort_by_key(|r| r.timestamp);
        let mut all = reference
            .query_logs(&LogQuery {
                limit: usize::MAX,
                offset: 0,
                order: Order::OldestFirst,
                ..q.clone()
            })
            .unwrap()
            .logs;
        all.sort_by_key(|r| r.timestamp);
        assert_eq!(scanned, all, "scan for {q:?}");

        // Counts per group add up to the matching records' groups: for this query's filter
        // with random grouping, and for its time range alone by time bucket (which stores
        // may answer from summaries).
        let widths = [
            None,
            Some(SEC),
            Some(60 * SEC),
            Some(3600 * SEC),
            Some(7 * SEC + 1),
        ];
        let bucket = widths[round % widths.len()];
        let counts = [
            (
                LogCount {
                    range: q.range,
                    filter: q.filter.clone(),
                    by_service: rng.random_bool(0.5),
                    by_level: rng.random_bool(0.5),
                    bucket,
                },
                &all,
            ),
            (
                LogCount {
                    range: q.range,
                    bucket,
                    ..LogCount::default()
                },
                &in_range(q.range),
            ),
        ];
        for (count, matching) in counts {
            type Key = (Option<String>, Option<Level>, Option<i64>);
            let mut want: BTreeMap<Key, u64> = BTreeMap::new();
            for r in matching {
                let key = (
                    count.by_service.then(|| r.service.clone()),
                    count.by_level.then(|| r.level()),
                    count
                        .bucket
                        .map(|w| r.timestamp.0 - r.timestamp.0.rem_euclid(w)),
                );
                *want.entry(key).or_insert(0) += 1;
            }
            let mut got: BTreeMap<Key, u64> = BTreeMap::new();
            store
                .count_logs(&count, &mut |rows| {
                    for row in rows {
                        assert!(row.count > 0, "empty group {row:?}");
                        let key = (row.service, row.level, row.bucket.map(|b| b.0));
                        *got.entry(key).or_insert(0) += row.count;
                    }
                    true
                })
                .unwrap();
            assert_eq!(got, want, "counts for {count:?}");
        }
    }

    // A bucket width below 1 ns is a request error, not a panic.
    let err = store
        .count_logs(
            &LogCount {
                bucket: Some(0),
                ..LogCount::default()
            },
            &mut |_| true,
        )
        .unwrap_err();
    assert!(err.is_client_error(), "{err}");

    // Fewer fields: timestamp, level and service are filled; a false return stops the scan.
    let mut batches = 0;
    let mut first = Vec::new();
    store
        .scan_logs(
            &LogScan {
                fields: LogFields::default(),
                ..LogScan::default()
            },
            &mut |batch| {
                batches += 1;
                first = batch;
                false
            },
        )
        .unwrap();
    assert_eq!(batches, 1);
    let newest = reference
        .query_logs(&LogQuery {
            limit: 1,
            ..LogQuery::default()
        })
        .unwrap()
        .logs;
    assert!(!first.is_empty());
    let top = first.iter().max_by_key(|r| r.timestamp).unwrap();
    assert_eq!(
        (top.timestamp, top.level(), &top.service),
        (newest[0].timestamp, newest[0].level(), &newest[0].service)
    );
}

/// Span scans: filters, projections and batches.
pub fn span_scans(store: &dyn Store) {
    let mut all = Vec::new();
    for t in 0..60u64 {
        for n in 0..4u64 {
            let mut s = full_span();
            s.trace_id = trace_id(t);
            s.span_id = span_id(n);
            s.parent_span_id = (n > 0).then(|| span_id(0));
            s.service = ["api", "db", "auth"][((t + n) % 3) as usize].into();
            s.name = ["GET /", "SELECT", "login", "POST /pay"][n as usize].into();
            s.start_time = Timestamp(T0 + t as i64 * 3_600 * SEC + n as i64 * SEC);
            s.end_time = Timestamp(s.start_time.0 + (n as i64 + 1) * 1_000_000);
            all.push(s);
        }
    }
    // Spans before 1970 share the first day partition with the rest of day 0.
    let mut early = full_span();
    early.trace_id = trace_id(1000);
    early.service = "db".into();
    early.start_time = Timestamp(-5 * SEC);
    early.end_time = Timestamp(-4 * SEC);
    all.push(early);
    store.append_spans(all.clone()).unwrap();
    let scans = [
        SpanScan::default(),
        SpanScan {
            services: vec!["db".into(), "auth".into()],
            range: TimeRange::new(Timestamp(-10 * SEC), Timestamp(T0 + 20 * 3_600 * SEC + 1)),
            ..SpanScan::default()
        },
        SpanScan {
            services: vec!["api".into(), "nope".into()],
            names: vec!["GET /".into()],
            range: TimeRange::new(
                Timestamp(T0 + 30 * 3_600 * SEC + 1),
                Timestamp(T0 + 50 * 3_600 * SEC),
            ),
            ..SpanScan::default()
        },
        SpanScan {
            services: vec!["db".into()],
            ..SpanScan::default()
        },
        SpanScan {
            names: vec!["login".into(), "SELECT".into()],
            range: TimeRange::new(
                Timestamp(T0 + 10 * 3_600 * SEC),
                Timestamp(T0 + 40 * 3_600 * SEC),
            ),
            ..SpanScan::default()
        },
        SpanScan {
            trace_ids: vec![trace_id(3), trace_id(59)],
            services: vec!["api".into()],
            ..SpanScan::default()
        },
    ];
    // Every scan twice: whole spans, and only the indexed fields.
    let indexed = |s: &Span| {
        (
            s.trace_id,
            s.span_id,
            s.parent_span_id,
            s.service.clone(),
            s.name.clone(),
            s.kind,
            s.status.code,
            s.start_time,
            s.end_time,
        )
    };
    for scan in scans {
        for index_only in [false, true] {
            let scan = SpanScan {
                index_only,
                ..scan.clone()
            };
            let mut got = Vec::new();
            store
                .scan_spans(&scan, &mut |batch| {
                    got.extend(batch);
                    true
                })
                .unwrap();
            let key = |s: &Span| (s.start_time, s.trace_id, s.span_id);
            got.sort_by_key(key);
            let mut want: Vec<Span> = all.iter().filter(|s| scan.matches(s)).cloned().collect();
            want.sort_by_key(key);
            assert!(!want.is_empty());
            if index_only {
                let got: Vec<_> = got.iter().map(indexed).collect();
                let want: Vec<_> = want.iter().map(indexed).collect();
                assert_eq!(got, want, "{scan:?}");
                // The same fields as shared rows.
                let mut rows = Vec::new();
                store
                    .scan_span_rows(&scan, &mut |batch| {
                        rows.extend(batch);
                        true
                    })
                    .unwrap();
                rows.sort_by_key(|r| (r.start_time, r.trace_id, r.span_id));
                let rows: Vec<_> = rows
                    .iter()
                    .map(|r| {
                        (
                            r.trace_id,
                            r.span_id,
                            r.parent_span_id,
                            r.service.to_string(),
                            r.name.to_string(),
                            r.kind,
                            r.status,
                            r.start_time,
                            r.end_time,
                        )
                    })
                    .collect();
                assert_eq!(rows, want, "rows of {scan:?}");
            } else {
                assert_eq!(got, want, "{scan:?}");
            }
        }
    }
    // A scan stops when told to.
    let mut batches = 0;
    store
        .scan_spans(
            &SpanScan {
                index_only: true,
                ..SpanScan::default()
            },
            &mut |_| {
                batches += 1;
                false
            },
        )
        .unwrap();
    assert_eq!(batches, 1);
    let mut batches = 0;
    store
        .scan_span_rows(&SpanScan::default(), &mut |_| {
            batches += 1;
            false
        })
        .unwrap();
    assert_eq!(batches, 1);
}

/// Traces: spans of one trace, trace search and summaries.
pub fn traces(store: &dyn Store) {
    assert!(store.get_trace(&trace_id(1)).unwrap().is_empty());
    let mut full = full_span();
    full.trace_id = trace_id(100);
    full.start_time = Timestamp(T0 - 3600 * SEC);
    full.end_time = Timestamp(T0 - 3599 * SEC);
    store.append_spans(vec![full.clone()]).unwrap();
    assert_eq!(store.get_trace(&trace_id(100)).unwrap(), vec![full]);

    // Trace 1: api root (100 ms) with a db child; child arrives in a later batch.
    // Trace 2: billing only, 2 s, error. Trace 3: api, 10 ms, a minute later.
    store
        .append_spans(vec![
            span(1, 1, None, "api", "GET /users", T0, 100_000_000),
            span(2, 10, None, "billing", "charge", T0 + SEC, 2 * SEC),
        ])
        .unwrap();
    let mut err = span(2, 11, Some(10), "billing", "card", T0 + SEC + 5, SEC);
    err.status.code = StatusCode::Error;
    store
        .append_spans(vec![
            span(1, 2, Some(1), "db", "SELECT", T0 + 10_000_000, 50_000_000),
            err,
            span(3, 20, None, "api", "GET /health", T0 + 60 * SEC, 10_000_000),
        ])
        .unwrap();

    let t1 = store.get_trace(&trace_id(1)).unwrap();
    assert_eq!(t1.len(), 2);
    assert_eq!(t1[0].name, "GET /users", "sorted by start time");
    assert_eq!(t1[1].parent_span_id, Some(span_id(1)));

    let q = |q: TraceQuery| -> Vec<TraceId> {
        store
            .find_traces(&q)
            .unwrap()
            .into_iter()
            .map(|t| t.trace_id)
            .collect()
    };
    let range = TimeRange::new(Timestamp(T0), Timestamp(T0 + 3600 * SEC));
    let base = TraceQuery {
        range,
        ..TraceQuery::default()
    };
    assert_eq!(
        q(base.clone()),
        [trace_id(3), trace_id(2), trace_id(1)],
        "newest first"
    );
    assert_eq!(
        q(TraceQuery {
            service: Some("db".into()),
            ..base.clone()
        }),
        [trace_id(1)],
        "a trace matches on any of its spans' services"
    );
    assert_eq!(
        q(TraceQuery {
            min_duration: Some(SEC),
            ..base.clone()
        }),
        [trace_id(2)]
    );
    assert_eq!(
        q(TraceQuery {
            max_duration: Some(50_000_000),
            ..base.clone()
        }),
        [trace_id(3)]
    );
    assert_eq!(
        q(TraceQuery {
            limit: 1,
            ..base.clone()
        }),
        [trace_id(3)]
    );
    assert_eq!(
        q(TraceQuery {
            operation: Some("card".into()),
            ..base.clone()
        }),
        [trace_id(2)]
    );
    let s = store
        .find_traces(&TraceQuery {
            service: Some("billing".into()),
            ..base.clone()
        })
        .unwrap();
    assert_eq!(s[0].span_count, 2);
    assert!(s[0].error);
    assert_eq!(s[0].root_name, "charge");
    assert_eq!(s[0].duration_ns, 2 * SEC);
    let s1 = store
        .find_traces(&TraceQuery {
            service: Some("db".into()),
            ..base
        })
        .unwrap();
    assert_eq!(s1[0].services, ["api", "db"]);
    assert_eq!(s1[0].root_service, "api");
    assert_eq!(s1[0].span_count, 2);
}

/// Checked appends (Prometheus's rules): newer points taken, exact duplicates dropped, other
/// values at a stored timestamp and points older than the out-of-order window refused.
pub fn checked_metric_appends(store: &dyn Store) {
    const WINDOW: i64 = 600 * SEC;
    let shared = labels(&[("job", "node")]);
    let at =
        |secs: i64, v: f64| MetricPoint::gauge("up", Labels::new(), Timestamp(T0 + secs * SEC), v);
    let append = |points: Vec<MetricPoint>| -> Vec<String> {
        let group = PointGroup {
            labels: shared.clone(),
            points,
        };
        store
            .append_point_groups_checked(&[group], WINDOW)
            .unwrap()
            .into_iter()
            .map(|r| format!("{}: {}", r.point, r.reason))
            .collect()
    };
    assert!(append(vec![at(1000, 1.0), at(2000, 2.0)]).is_empty());
    // The same newest point again: dropped silently. Another value there: refused.
    assert!(append(vec![at(2000, 2.0)]).is_empty());
    let r = append(vec![at(2000, 3.0)]);
    assert!(
        r.len() == 1 && r[0].starts_with("0: duplicate sample for timestamp"),
        "{r:?}"
    );
    // Out of order within the window: taken; then the same again dropped, another refused.
    assert!(append(vec![at(1500, 1.5)]).is_empty());
    assert!(append(vec![at(1500, 1.5)]).is_empty());
    let r = append(vec![at(1500, 9.0), at(2001, 4.0)]);
    assert!(r.len() == 1 && r[0].starts_with("0: duplicate"), "{r:?}");
    // Older than the window: refused, naming how much older.
    let r = append(vec![at(2001 - 601, 5.0)]);
    assert!(
        r.len() == 1 && r[0].contains("too old") && r[0].contains("10m"),
        "{r:?}"
    );
    // Plain appends count as the newest point too.
    store
        .append_points(vec![MetricPoint::gauge(
            "up",
            shared.clone(),
            Timestamp(T0 + 3000 * SEC),
            6.0,
        )])
        .unwrap();
    let r = append(vec![at(3000, 7.0)]);
    assert!(r.len() == 1 && r[0].contains("duplicate"), "{r:?}");
    let got: Vec<(i64, f64)> = store
        .query_points(&SeriesQuery::default().with_name("up"))
        .unwrap()
        .into_iter()
        .flat_map(|s| s.points)
        .map(|p| ((p.timestamp.0 - T0) / SEC, p.value.scalar()))
        .collect();
    assert_eq!(
        got,
        [
            (1000, 1.0),
            (1500, 1.5),
            (2000, 2.0),
            (2001, 4.0),
            (3000, 6.0)
        ]
    );
}

/// Metric points: series, label matchers, time ranges, kinds and values.
pub fn metrics(store: &dyn Store) {
    let mut pts = Vec::new();
    // The later half of the `cpu` points come in a group sharing `dc` (and a `host` that each
    // point's own `host` overrides): they must land in the same two series.
    let mut grouped = PointGroup {
        labels: labels(&[("dc", "x"), ("host", "shared")]),
        points: Vec::new(),
    };
    for i in 0..10 {
        let t = Timestamp(T0 + i * 10 * SEC);
        let cpu = |host, v| {
            if i < 5 {
                MetricPoint::gauge("cpu", labels(&[("host", host), ("dc", "x")]), t, v)
            } else {
                MetricPoint::gauge("cpu", labels(&[("host", host)]), t, v)
            }
        };
        let (a, b) = (cpu("a", i as f64), cpu("b", 10.0 + i as f64));
        if i < 5 {
            pts.extend([a, b]);
        } else {
            grouped.points.extend([a, b]);
        }
        pts.push(MetricPoint::counter(
            "requests_total",
            labels(&[("code", "200")]),
            t,
            100.0 * i as f64,
        ));
    }
    // Out of order, and one overwrite of an existing point.
    pts.reverse();
    store.append_points(pts).unwrap();
    store.append_point_groups(vec![grouped]).unwrap();
    store
        .append_points(vec![MetricPoint::gauge(
            "cpu",
            labels(&[("host", "a"), ("dc", "x")]),
            Timestamp(T0),
            99.0,
        )])
        .unwrap();
    let hist = MetricPoint {
        name: "latency".into(),
        kind: MetricKind::Histogram,
        temporality: Temporality::Delta,
        monotonic: false,
        labels: labels(&[("route", "/")]),
        timestamp: Timestamp(T0),
        start_timestamp: Timestamp(T0 - SEC),
        value: MetricValue::Histogram(HistogramValue {
            bounds: vec![0.1, 1.0],
            counts: vec![3, 2, 1],
            sum: Some(2.5),
            count: 6,
            min: Some(0.01),
            max: Some(3.0),
        }),
        unit: "s".into(),
        description: "request latency".into(),
        exemplars: vec![heimsight_core::Exemplar {
            timestamp: Timestamp(T0 - 1),
            value: 0.7,
            trace_id: Some(heimsight_core::TraceId([7; 16])),
            span_id: Some(heimsight_core::SpanId([8; 8])),
            attributes: [(
                "user".to_string(),
                heimsight_core::AttributeValue::String("u1".into()),
            )]
            .into_iter()
            .collect(),
        }],
        flags: 0,
    };
    store.append_points(vec![hist.clone()]).unwrap();

    assert_eq!(
        store.metric_names().unwrap(),
        ["cpu", "latency", "requests_total"]
    );

    let all = TimeRange::ALL;
    let cpu = store
        .query_points(&SeriesQuery {
            name: Some("cpu".into()),
            range: all,
            ..SeriesQuery::default()
        })
        .unwrap();
    assert_eq!(cpu.len(), 2);
    assert_eq!(cpu[0].series.labels["host"], "a");
    assert_eq!(cpu[0].points.len(), 10);
    assert_eq!(
        cpu[0].points[0].value,
        MetricValue::Number(99.0),
        "overwritten"
    );
    assert_eq!(
        cpu[0].points[1].timestamp,
        Timestamp(T0 + 10 * SEC),
        "oldest first"
    );

    let ranged = store
        .query_points(&SeriesQuery {
            name: Some("cpu".into()),
            matchers: vec![LabelMatcher::equal("host", "b")],
            range: TimeRange::new(Timestamp(T0 + 20 * SEC), Timestamp(T0 + 50 * SEC)),
            limit: 0,
        })
        .unwrap();
    assert_eq!(ranged.len(), 1);
    let vals: Vec<_> = ranged[0].points.iter().map(|p| p.value.clone()).collect();
    assert_eq!(vals, [12.0, 13.0, 14.0].map(MetricValue::Number));

    let regex = store
        .series(&SeriesQuery {
            matchers: vec![
                LabelMatcher::new("__name__", MatchOp::Regex, "cpu|req.*").unwrap(),
                LabelMatcher::new("host", MatchOp::NotEqual, "a").unwrap(),
            ],
            range: all,
            ..SeriesQuery::default()
        })
        .unwrap();
    let names: Vec<_> = regex
        .iter()
        .map(|s| (s.name.as_str(), s.labels.get("host").cloned()))
        .collect();
    assert_eq!(
        names,
        [("cpu", Some("b".to_string())), ("requests_total", None)]
    );
    assert_eq!(regex[1].kind, MetricKind::Counter);
    assert!(regex[1].monotonic);

    let h = store
        .query_points(&SeriesQuery {
            name: Some("latency".into()),
            range: all,
            ..SeriesQuery::default()
        })
        .unwrap();
    assert_eq!(h[0].points[0].value, hist.value);
    assert_eq!(h[0].points[0].exemplars, hist.exemplars, "exemplars kept");
    assert_eq!(h[0].points[0].start_timestamp, hist.start_timestamp);
    assert_eq!(h[0].series.unit, "s");
    assert_eq!(h[0].series.temporality, Temporality::Delta);

    let exp = MetricPoint {
        name: "latency_exp".into(),
        kind: MetricKind::ExponentialHistogram,
        value: MetricValue::ExponentialHistogram(heimsight_core::ExpHistogramValue {
            scale: 3,
            zero_count: 1,
            zero_threshold: 0.0,
            positive: heimsight_core::ExpBuckets {
                offset: -2,
                counts: vec![1, 0, 4],
            },
            negative: heimsight_core::ExpBuckets {
                offset: 5,
                counts: vec![2],
            },
            sum: Some(12.5),
            count: 8,
            min: Some(-40.0),
            max: Some(1.3),
        }),
        flags: 1,
        ..MetricPoint::gauge("latency_exp", Labels::new(), Timestamp(T0), 0.0)
    };
    exp.validate().unwrap();
    store.append_points(vec![exp.clone()]).unwrap();
    let e = store
        .query_points(&SeriesQuery {
            name: Some("latency_exp".into()),
            range: all,
            ..SeriesQuery::default()
        })
        .unwrap();
    assert_eq!(e[0].series.kind, MetricKind::ExponentialHistogram);
    assert_eq!(e[0].points[0].value, exp.value);
    assert_eq!(e[0].points[0].flags, 1);

    let none = store
        .series(&SeriesQuery {
            name: Some("cpu".into()),
            range: TimeRange::new(Timestamp(T0 + 3600 * SEC), Timestamp(T0 + 7200 * SEC)),
            ..SeriesQuery::default()
        })
        .unwrap();
    assert!(
        none.is_empty(),
        "series without points in range are left out"
    );
}

/// The metadata store: puts, deletes, prefix listing and atomic batches.
pub fn meta(store: &dyn Store) {
    assert_eq!(store.meta_get("settings", "retention").unwrap(), None);
    store
        .meta_put("settings", "retention", b"{\"logs\":\"7d\"}")
        .unwrap();
    store.meta_put("settings", "a", b"1").unwrap();
    store.meta_put("rules", "a", b"2").unwrap();
    assert_eq!(
        store.meta_get("settings", "retention").unwrap().as_deref(),
        Some(&b"{\"logs\":\"7d\"}"[..])
    );
    let list = store.meta_list("settings").unwrap();
    assert_eq!(
        list.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        ["a", "retention"]
    );
    assert!(store.meta_delete("settings", "a").unwrap());
    assert!(!store.meta_delete("settings", "a").unwrap());
    assert_eq!(store.meta_list("settings").unwrap().len(), 1);
    assert_eq!(
        store.meta_get("rules", "a").unwrap().as_deref(),
        Some(&b"2"[..])
    );

    // A batch applies puts and deletes across namespaces, in order.
    store
        .meta_write(&[
            MetaOp::put("state", "x", b"1".to_vec()),
            MetaOp::put("outbox", "n1", b"payload".to_vec()),
            MetaOp::delete("rules", "a"),
            MetaOp::put("state", "x", b"2".to_vec()),
            MetaOp::delete("outbox", "never-existed"),
        ])
        .unwrap();
    assert_eq!(
        store.meta_get("state", "x").unwrap().as_deref(),
        Some(&b"2"[..])
    );
    assert_eq!(
        store.meta_get("outbox", "n1").unwrap().as_deref(),
        Some(&b"payload"[..])
    );
    assert_eq!(store.meta_get("rules", "a").unwrap(), None);
    store.meta_write(&[]).unwrap();
}

/// Retention deletes what is older than the cut-off, per signal, and statistics follow.
pub fn retention_and_stats(store: &dyn Store) {
    let day = 86_400 * SEC;
    let old = T0 - 10 * day;
    store
        .append_logs(vec![
            log(old, Level::Info, "api", "old"),
            log(T0, Level::Info, "api", "new"),
        ])
        .unwrap();
    store
        .append_spans(vec![
            span(1, 1, None, "api", "old", old, SEC),
            span(2, 2, None, "api", "new", T0, SEC),
        ])
        .unwrap();
    store
        .append_points(vec![
            MetricPoint::gauge("g", Labels::new(), Timestamp(old), 1.0),
            MetricPoint::gauge("g", Labels::new(), Timestamp(T0), 2.0),
        ])
        .unwrap();
    let stats = store.stats().unwrap();
    assert_eq!(stats.logs.records, 2);
    assert_eq!(stats.logs.oldest, Some(Timestamp(old)));
    assert_eq!(stats.logs.newest, Some(Timestamp(T0)));
    assert_eq!(stats.spans.records, 2);
    assert_eq!(stats.metrics.records, 2);
    assert_eq!(stats.series, 1);

    let cutoff = Timestamp(T0 - day);
    for s in Signal::ALL {
        store.delete_before(s, cutoff).unwrap();
    }
    let logs = store.query_logs(&LogQuery::default()).unwrap();
    assert_eq!(
        logs.logs
            .iter()
            .map(|r| r.body.as_str())
            .collect::<Vec<_>>(),
        ["new"]
    );
    assert!(store.get_trace(&trace_id(1)).unwrap().is_empty());
    assert_eq!(store.get_trace(&trace_id(2)).unwrap().len(), 1);
    let traces = store.find_traces(&TraceQuery::default()).unwrap();
    assert_eq!(traces.len(), 1);
    let pts = store
        .query_points(&SeriesQuery {
            name: Some("g".into()),
            ..SeriesQuery::default()
        })
        .unwrap();
    assert_eq!(pts[0].points.len(), 1);
    store.flush().unwrap();
    let stats = store.stats().unwrap();
    assert_eq!(stats.logs.oldest, Some(Timestamp(T0)));
    assert_eq!(stats.logs.records, 1);
}

/// Instantiates every check of [`testkit`](crate::testkit) for a backend, as a module named
/// `$backend` holding one `#[test]` per check. `$make` is an expression that yields a fresh
/// store; it may use the variable named before it (a `&Path` to a temporary directory kept
/// alive for the test).
#[macro_export]
macro_rules! compliance_suite {
    ($backend:ident, |$dir:ident| $make:expr) => {
        mod $backend {
            use $crate::testkit as compliance;
            fn run(check: fn(&dyn $crate::Store)) {
                let tmp = $crate::testkit::TestDir::new();
                let $dir: &::std::path::Path = tmp.path();
                let store = $make;
                check(&store);
            }
            #[test]
            fn log_round_trip() {
                run(compliance::log_round_trip)
            }
            #[test]
            fn log_time_ranges_orders_and_paging() {
                run(compliance::log_time_ranges_orders_and_paging)
            }
            #[test]
            fn log_filters() {
                run(compliance::log_filters)
            }
            #[test]
            fn log_queries_agree_with_reference() {
                run(compliance::log_queries_agree_with_reference)
            }
            #[test]
            fn traces() {
                run(compliance::traces)
            }
            #[test]
            fn span_scans() {
                run(compliance::span_scans)
            }
            #[test]
            fn metrics() {
                run(compliance::metrics)
            }
            #[test]
            fn checked_metric_appends() {
                run(compliance::checked_metric_appends)
            }
            #[test]
            fn meta() {
                run(compliance::meta)
            }
            #[test]
            fn retention_and_stats() {
                run(compliance::retention_and_stats)
            }
        }
    };
}
