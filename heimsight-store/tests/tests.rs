//! Integration tests of `heimsight-store`: the compliance suite for every backend.
#![allow(clippy::unwrap_used, missing_docs, unreachable_pub)]

mod compliance;

compliance_suite!(memory, |dir| {
    let _ = dir;
    heimsight_store::MemoryStore::new()
});
