//! The planner's pushdown never changes results: random queries against the memory store and
//! RocksDB, compared with the executor alone.
#![allow(clippy::unwrap_used, missing_docs, unreachable_pub, dead_code)]

#[path = "support/pushdown.rs"]
mod pushdown_support;

use heimsight_store::{MemoryStore, RocksStore};

#[test]
fn pushed_down_queries_match_the_executor_alone() {
    let store = MemoryStore::new();
    let (logs, spans) = pushdown_support::load(&store);
    pushdown_support::check(&store, &logs, &spans, 300);
}

fn rocks(bloom_cache_bytes: Option<usize>) -> (tempfile::TempDir, RocksStore) {
    let dir = tempfile::tempdir().unwrap();
    let mut builder = RocksStore::builder(dir.path()).background_merge(false);
    if let Some(bytes) = bloom_cache_bytes {
        builder = builder.bloom_cache_bytes(bytes);
    }
    let store = builder.open().unwrap();
    (dir, store)
}

#[test]
fn pushdown_on_rocksdb_matches_the_executor_alone() {
    let (_dir, store) = rocks(None);
    let (logs, spans) = pushdown_support::load(&store);
    pushdown_support::check(&store, &logs, &spans, 200);
}

/// The same with a Bloom filter cache of a few KB: nearly every block filter check reads the
/// filter from disk and evicts another.
#[test]
fn pushdown_on_rocksdb_with_a_tiny_bloom_cache_matches_the_executor_alone() {
    let (_dir, store) = rocks(Some(4 << 10));
    let (logs, spans) = pushdown_support::load(&store);
    pushdown_support::check(&store, &logs, &spans, 200);
}
