//! Heimsight's query language: one SQL-like language over logs, spans and metrics.
//!
//! `SELECT service, count(*) FROM logs WHERE level = 'error' GROUP BY service` goes through
//! [`parser`] (a pest grammar → [`ast`] with byte positions), [`check`](mod@check) (names,
//! types, aggregates → a normalized [`ast::Checked`], or [`Diagnostics`] naming line, column,
//! what was found and expected), [`engine`] (the plan: what the store serves natively — time
//! range, equality/IN filters, full-text terms, ordered pages — and subqueries) and [`exec`]
//! (filters, grouping, aggregates, ordering, paging over [`record::Record`]s). The language is
//! described in `docs/query-language.md`; [`schema`] lists the columns of each source.
//!
//! The crate has no async runtime and no storage backend: it works on the types of
//! [`heimsight_store`]'s traits, which it depends on without default features.
//!
//! # Quick start
//!
//! ```
//! use heimsight_core::{Level, LogRecord, Timestamp};
//! use heimsight_query::{Request, Value, run};
//! use heimsight_store::{LogStore, MemoryStore};
//!
//! let store = MemoryStore::new();
//! let logs = ["api", "api", "db"].iter().enumerate().map(|(i, svc)| {
//!     let mut r = LogRecord::new(Timestamp(i as i64), Level::Error, "connection refused");
//!     r.service = svc.to_string();
//!     r
//! });
//! store.append_logs(logs.collect())?;
//!
//! let out = run(&store, &Request::new(
//!     "SELECT service, count(*) AS n FROM logs WHERE MATCH('refused') GROUP BY service ORDER BY n DESC",
//! ))?;
//! assert_eq!(out.result.rows[0], [Value::String("api".into()), Value::Int(2)]);
//!
//! // Mistakes come back with positions and suggestions.
//! let err = run(&store, &Request::new("SELECT levle FROM logs")).unwrap_err();
//! assert!(err.to_string().contains("line 1, column 8"), "{err}");
//! assert!(err.to_string().contains("did you mean `level`?"), "{err}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`parse_expr`] reads a lone expression (a `WHERE` condition); [`unparse`] prints a syntax
//! tree back to canonical text that parses to the same tree, and can point the tree's
//! positions into that text, so that a statement built in code can be checked
//! ([`check()`]) and run ([`run_checked`]) like one that was written.
//!
//! [`metrics`] also offers plain window aggregation of one series' points ([`aggregate`]).
//!
//! # Feature flags
//!
//! - `testkit`: `testkit`, the golden queries with their recorded results, which any
//!   [`Queryable`] store must answer the same way.

pub mod ast;
pub mod check;
pub mod diagnostic;
pub mod engine;
pub mod error;
pub mod eval;
pub mod exec;
pub mod metrics;
pub mod parser;
pub mod record;
pub mod schema;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod unparse;
pub mod value;

pub use ast::Checked;
pub use check::check;
pub use diagnostic::{Diagnostic, Diagnostics};
pub use engine::{
    ErrorClass, Limits, Output, Plan, QueryError, Queryable, Request, run, run_checked,
};
pub use error::{Error, Result};
pub use eval::{CompiledExpr, EvalContext, ExecError};
pub use exec::{ExecContext, ResultSet, execute};
pub use metrics::{Agg, aggregate};
pub use parser::{parse, parse_and_check, parse_expr};
pub use record::{MetricRow, Record};
pub use value::Value;
