//! The planner's pushdown never changes results (`heimsight_query::testkit::pushdown`): random
//! queries against the memory store, compared with the executor alone. The server's tests run
//! the same over RocksDB.
#![allow(clippy::unwrap_used, missing_docs, unreachable_pub)]

use heimsight_query::testkit::pushdown;
use heimsight_store::MemoryStore;

#[test]
fn pushed_down_queries_match_the_executor_alone() {
    let (logs, spans) = heimsight_datagen::pushdown_data();
    let store = MemoryStore::new();
    pushdown::load(&store, &logs, &spans);
    pushdown::check(&store, &logs, &spans, 300);
}
