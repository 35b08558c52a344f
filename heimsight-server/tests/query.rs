//! The query language over the RocksDB store (the golden queries and the pushdown property
//! test of `heimsight_query::testkit`) and through `POST /api/v1/query`.

use std::sync::Arc;

use heimsight_query::testkit::{self as golden, pushdown};
use heimsight_server::ServerConfig;
use heimsight_store::RocksStore;
use serde_json::json;

use crate::util::app_on;

fn rocks() -> (tempfile::TempDir, RocksStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = RocksStore::builder(dir.path())
        .background_merge(false)
        .open()
        .unwrap();
    (dir, store)
}

/// A test server over a RocksDB store holding the golden data set.
fn golden_app() -> (tempfile::TempDir, crate::util::TestApp) {
    let (dir, store) = rocks();
    golden::load(&store);
    (dir, app_on(Arc::new(store), ServerConfig::default()))
}

#[test]
fn golden_queries_on_rocksdb() {
    let (_dir, store) = rocks();
    golden::load(&store);
    let failures = golden::check_all(&store);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The same after merging blocks and cutting metric chunks.
    store.compact().unwrap();
    let failures = golden::check_all(&store);
    assert!(
        failures.is_empty(),
        "after compaction: {}",
        failures.join("\n")
    );
}

#[test]
fn pushdown_on_rocksdb_matches_the_executor_alone() {
    let (_dir, store) = rocks();
    let (logs, spans) = heimsight_datagen::pushdown_data();
    pushdown::load(&store, &logs, &spans);
    pushdown::check(&store, &logs, &spans, 200);
}

/// The same with a Bloom filter cache of a few KB: nearly every block filter check reads the
/// filter from disk and evicts another.
#[test]
fn pushdown_on_rocksdb_with_a_tiny_bloom_cache_matches_the_executor_alone() {
    let dir = tempfile::tempdir().unwrap();
    let store = RocksStore::builder(dir.path())
        .background_merge(false)
        .bloom_cache_bytes(4 << 10)
        .open()
        .unwrap();
    let (logs, spans) = heimsight_datagen::pushdown_data();
    pushdown::load(&store, &logs, &spans);
    pushdown::check(&store, &logs, &spans, 200);
}

#[tokio::test]
async fn query_endpoint_answers_columns_rows_stats_and_plan() {
    let (_dir, app) = golden_app();
    let r = app
        .post(
            "/api/v1/query",
            &json!({"query": "SELECT service, count(*) AS n FROM logs WHERE level = 'error' GROUP BY service ORDER BY n DESC, service"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json["columns"],
        json!([{"name": "service", "type": "string"}, {"name": "n", "type": "int"}])
    );
    assert_eq!(
        r.json["rows"],
        json!([["api", 2], ["billing", 1], ["db", 1]])
    );
    assert_eq!(r.json["stats"]["rows_returned"], 3);
    assert_eq!(r.json["stats"]["rows_scanned"], 4);
    assert!(r.json["stats"]["elapsed_ms"].as_f64().is_some());
    assert_eq!(r.json["plan"]["pushed"], json!(["level = 'error'"]));
    // Counted by the store, not record by record.
    let access = r.json["plan"]["access"].as_str().unwrap();
    assert!(
        access.starts_with("count logs by service in the store"),
        "{access}"
    );

    // Attribute equality is not exact in the store, so such a count reads records; the
    // answer is the same either way.
    let r = app
        .post(
            "/api/v1/query",
            &json!({"query": "SELECT count(*) FROM logs WHERE attributes.http.method = 'GET'"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let access = r.json["plan"]["access"].as_str().unwrap();
    assert!(access.starts_with("read logs"), "{access}");

    // Span queries reading only indexed fields say so.
    let r = app
        .post(
            "/api/v1/query",
            &json!({"query": "SELECT name, p99(duration) FROM spans WHERE service = 'api' GROUP BY name"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let access = r.json["plan"]["access"].as_str().unwrap();
    assert!(
        access.starts_with("read spans (indexed fields only)"),
        "{access}"
    );

    // start/end narrow the range; GET works too.
    let r = app
        .get("/api/v1/query?query=SELECT%20count(*)%20FROM%20logs&start=2026-01-01T00:02:00Z&end=2026-01-01T00:04:00Z")
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["rows"], json!([[4]]));

    // EXPLAIN shows what is pushed down and what is not.
    let r = app
        .post(
            "/api/v1/query",
            &json!({"query": "EXPLAIN SELECT message FROM logs WHERE service = 'api' AND message LIKE '%GET%' LIMIT 5"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let lines: Vec<String> = r.json["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row[0].as_str().unwrap().to_string())
        .collect();
    let text = lines.join("\n");
    assert!(text.contains("pushed down: service = 'api'"), "{text}");
    assert!(
        text.contains("filtered after reading: message LIKE '%GET%'"),
        "{text}"
    );

    // And how the store finds words: from its term index, or by scanning the messages when a
    // substring is not part of one word.
    let explain = |q: &str| {
        let app = &app;
        let q = format!("EXPLAIN {q}");
        async move {
            let r = app.post("/api/v1/query", &json!({ "query": q })).await;
            assert_eq!(r.status, 200, "{}", r.text);
            (
                r.json["rows"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|row| row[0].as_str().unwrap().to_string())
                    .collect::<Vec<_>>()
                    .join("\n"),
                r.json["plan"]["access"].as_str().unwrap().to_string(),
            )
        }
    };
    let (text, access) = explain(
        "SELECT * FROM logs WHERE MATCH('refused') AND message CONTAINS 'conn' ORDER BY timestamp DESC LIMIT 5",
    )
    .await;
    assert!(
        text.contains("store: MATCH('refused'): rows from the term index (postings)"),
        "{text}"
    );
    assert!(
        text.contains("store: message CONTAINS 'conn': rows from the term index"),
        "{text}"
    );
    assert!(access.contains("term index"), "{access}");
    let (text, _) =
        explain("SELECT count(*) FROM logs WHERE message CONTAINS 'connection refused'").await;
    assert!(
        text.contains("store: message CONTAINS 'connection refused': scan of the messages"),
        "{text}"
    );
    let (text, _) =
        explain("SELECT count(*) FROM logs WHERE trace_id = '0af7651916cd43dd8448eb211c80319c'")
            .await;
    assert!(
        text.contains("store: trace_id: rows from the term index"),
        "{text}"
    );
}

#[tokio::test]
async fn bad_queries_are_400s_with_positions() {
    let (_dir, app) = golden_app();
    let r = app
        .post(
            "/api/v1/query",
            &json!({"query": "SELECT levle,\n  foo(1) FROM logs"}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    let d = r.json["diagnostics"].as_array().unwrap();
    assert_eq!(d.len(), 2, "{}", r.text);
    assert_eq!(
        (d[0]["line"].as_u64(), d[0]["column"].as_u64()),
        (Some(1), Some(8))
    );
    assert_eq!(d[0]["hint"], "did you mean `level`?");
    assert_eq!(
        (d[1]["line"].as_u64(), d[1]["column"].as_u64()),
        (Some(2), Some(3))
    );
    assert!(r.error().contains("levle"), "{}", r.error());

    let cases = [
        (
            json!({"query": "SELECT * FROM logs WHERE message = 'unterminated"}),
            "unterminated",
        ),
        (
            json!({"query": format!("SELECT * FROM logs WHERE {}1 = 1{}", "(".repeat(1000), ")".repeat(1000))}),
            "nest",
        ),
        (
            json!({"query": "SELECT count(*) FROM logs WHERE attributes.amount / (attributes.amount - 120) > 1"}),
            "division by zero",
        ),
        (json!({"query": "x".repeat(2 << 20)}), "bytes"),
        (json!({"query": 5}), "expected a string"),
        (json!({"qeury": "SELECT 1"}), "unknown field"),
        (
            json!({"query": "SELECT count(*) FROM logs", "start": "yesterday"}),
            "start",
        ),
        (
            json!({"query": "SELECT count(*) FROM logs", "start": "2026-01-02T00:00:00Z", "end": "2026-01-01T00:00:00Z"}),
            "empty time range",
        ),
    ];
    for (body, want) in cases {
        let r = app.post("/api/v1/query", &body).await;
        assert_eq!(r.status, 400, "{body:.100}: {}", r.text);
        assert!(
            r.error().to_lowercase().contains(want),
            "{:.100}: {} lacks {want}",
            body.to_string(),
            r.error()
        );
    }
    // A huge IN list is fine.
    let list: Vec<String> = (0..20_000).map(|i| format!("'s{i}'")).collect();
    let q = format!(
        "SELECT count(*) FROM logs WHERE service IN ({}, 'api')",
        list.join(", ")
    );
    let r = app.post("/api/v1/query", &json!({"query": q})).await;
    assert_eq!(r.status, 200, "{:.300}", r.text);
    assert_eq!(r.json["rows"], json!([[6]]));
}

/// A query over its time budget is the server's limit, not the client's mistake: 503, with the
/// message saying what to do.
#[tokio::test]
async fn a_query_over_its_time_budget_is_503() {
    use heimsight_core::{Level, LogRecord, Timestamp};
    use heimsight_store::{LogStore, MemoryStore};
    let store = Arc::new(MemoryStore::new());
    let now = Timestamp::now().0;
    for chunk in 0..20 {
        let records = (0..10_000)
            .map(|i| {
                let mut r = LogRecord::new(
                    Timestamp(now - (chunk * 10_000 + i) * 1_000_000),
                    Level::Info,
                    format!("record {i} of chunk {chunk}"),
                );
                r.service = format!("svc{}", i % 7);
                r
            })
            .collect();
        store.append_logs(records).unwrap();
    }
    let app = app_on(store, ServerConfig::default());
    let r = app
        .post(
            "/api/v1/query",
            &json!({"query": "SELECT body, count(*) FROM logs GROUP BY body ORDER BY body",
                    "start": "now-1h", "timeout_ms": 1}),
        )
        .await;
    assert_eq!(r.status, 503, "{}", r.text);
    assert!(r.error().contains("time budget"), "{}", r.text);
}
