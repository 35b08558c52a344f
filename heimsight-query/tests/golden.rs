//! Golden tests of the query language: every case of `golden/queries.golden`
//! (`heimsight_query::testkit`) against the memory store and RocksDB.
#![allow(clippy::unwrap_used, missing_docs, unreachable_pub)]

use heimsight_query::testkit;
use heimsight_store::{MemoryStore, RocksStore};

#[test]
fn golden_queries_give_the_recorded_results() {
    let store = MemoryStore::new();
    testkit::load(&store);
    let failures = testkit::check_all(&store);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn golden_queries_on_rocksdb() {
    let dir = tempfile::tempdir().unwrap();
    let store = RocksStore::builder(dir.path())
        .background_merge(false)
        .open()
        .unwrap();
    testkit::load(&store);
    let failures = testkit::check_all(&store);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The same after merging blocks and cutting metric chunks.
    store.compact().unwrap();
    let failures = testkit::check_all(&store);
    assert!(
        failures.is_empty(),
        "after compaction: {}",
        failures.join("\n")
    );
}
