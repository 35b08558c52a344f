//! This crate provides Heimsight's query engine. For now that is [`metrics`]: folding the
//! points of a metric series into time windows with an aggregation ([`Agg`]); the SQL-like
//! query language (parser, planner, executor) lands here next.
//!
//! The crate has no async runtime and no storage backend: it works on the types of
//! [`heimsight_store`]'s traits, which it depends on without default features.
//!
//! # Quick start
//!
//! ```
//! use heimsight_core::{Labels, MetricPoint, Timestamp};
//! use heimsight_query::metrics::{Agg, aggregate};
//! use heimsight_store::{MemoryStore, MetricStore, SeriesQuery};
//!
//! let store = MemoryStore::new();
//! let minute = 60_000_000_000;
//! store.append_points(
//!     (0..10)
//!         .map(|i| MetricPoint::gauge("cpu", Labels::new(), Timestamp(i * 20_000_000_000), i as f64))
//!         .collect(),
//! )?;
//! let series = store.query_points(&SeriesQuery { name: Some("cpu".into()), ..Default::default() })?;
//! let per_minute = aggregate(&series[0].points, Timestamp(0), Timestamp(10 * minute), minute, "max".parse()?);
//! assert_eq!(per_minute, [(Timestamp(0), 2.0), (Timestamp(minute), 5.0), (Timestamp(2 * minute), 8.0), (Timestamp(3 * minute), 9.0)]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Feature flags
//!
//! None yet.

pub mod ast;
pub mod check;
pub mod diagnostic;
pub mod error;
pub mod eval;
pub mod exec;
pub mod metrics;
pub mod parser;
pub mod record;
pub mod schema;
pub mod value;

pub use check::check;
pub use diagnostic::{Diagnostic, Diagnostics};
pub use error::{Error, Result};
pub use eval::{CompiledExpr, EvalContext, ExecError};
pub use exec::{ExecContext, ResultSet, execute};
pub use metrics::{Agg, aggregate};
pub use parser::{parse, parse_and_check};
pub use record::{MetricRow, Record};
pub use value::Value;
