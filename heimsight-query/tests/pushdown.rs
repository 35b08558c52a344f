//! The planner's pushdown never changes results: random queries against the memory store,
//! compared with the executor alone.
#![allow(clippy::unwrap_used, missing_docs, unreachable_pub, dead_code)]

#[path = "support/pushdown.rs"]
mod pushdown_support;

use heimsight_store::MemoryStore;

#[test]
fn pushed_down_queries_match_the_executor_alone() {
    let store = MemoryStore::new();
    let (logs, spans) = pushdown_support::load(&store);
    pushdown_support::check(&store, &logs, &spans, 300);
}
