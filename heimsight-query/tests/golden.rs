//! Golden tests of the query language: every case of `golden/queries.golden` against the
//! memory store.
#![allow(clippy::unwrap_used, missing_docs, unreachable_pub, dead_code)]

#[path = "support/golden.rs"]
mod golden_support;

use heimsight_store::MemoryStore;

#[test]
fn golden_queries_give_the_recorded_results() {
    let store = MemoryStore::new();
    golden_support::load(&store);
    let failures = golden_support::check_all(&store);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
