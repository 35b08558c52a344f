//! This crate provides Heimsight's storage: one trait per signal ([`LogStore`],
//! [`SpanStore`], [`MetricStore`]), a [`MetaStore`] for settings and alert state, and
//! [`Maintenance`] for retention and statistics, all bundled as [`Store`]; plus the
//! backends that implement them.
//!
//! # Quick start
//!
//! ```
//! use heimsight_core::{Level, LogRecord, Timestamp};
//! use heimsight_store::{LogFilter, LogQuery, LogStore, MemoryStore};
//!
//! let store = MemoryStore::new();
//! store.append_logs(vec![
//!     LogRecord::new(Timestamp(1_000), Level::Info, "user logged in"),
//!     LogRecord::new(Timestamp(2_000), Level::Error, "connection refused"),
//! ])?;
//! let page = store
//!     .query_logs(&LogQuery::default().with_filter(LogFilter::default().with_contains("refused")))?;
//! assert_eq!(page.total, 1);
//! assert_eq!(page.logs[0].body, "connection refused");
//! # Ok::<(), heimsight_store::Error>(())
//! ```
//!
//! # Feature flags
//!
//! - `rocksdb` (default): [`RocksStore`], the embedded persistent backend.
//! - `testkit`: `testkit`, the compliance suite every backend passes, and the
//!   `compliance_suite!` macro that runs it as tests of another backend.
//!
//! Crates that only need the traits depend on this one with `default-features = false`.

mod checked;
pub mod error;
mod hash;
pub mod memory;
pub mod query;
#[cfg(feature = "rocksdb")]
pub mod rocks;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod traits;

pub use error::{Error, Result};
pub use memory::MemoryStore;
pub use query::{
    LabelMatcher, LogCount, LogCountRow, LogCounter, LogFields, LogFilter, LogPage, LogQuery,
    LogScan, MatchOp, Order, Point, Series, SeriesPoints, SeriesQuery, Signal, SignalStats,
    SpanRow, SpanScan, StoreActivity, StoreStats, TimeRange, TraceQuery, TraceSummary,
    attributes_have_phrase, contains_ci, has_phrase, record_has_phrase, split_matcher,
};
#[cfg(feature = "rocksdb")]
pub use rocks::{Durability, RocksStore, RocksStoreBuilder};
pub use traits::{
    LogStore, Maintenance, MetaOp, MetaStore, MetricStore, RefusedPoint, SpanStore, Store,
};
