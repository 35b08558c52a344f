//! Golden tests of the query language: every case of `golden/queries.golden`
//! (`heimsight_query::testkit`) against the memory store. The server's tests run them over
//! RocksDB.
#![allow(clippy::unwrap_used, missing_docs, unreachable_pub)]

use heimsight_query::testkit;
use heimsight_store::MemoryStore;

#[test]
fn golden_queries_give_the_recorded_results() {
    let store = MemoryStore::new();
    testkit::load(&store);
    let failures = testkit::check_all(&store);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
