//! This crate provides Heimsight's data model: [`LogRecord`]s, [`Span`]s and [`MetricPoint`]s
//! with OpenTelemetry-typed [`AttributeValue`]s, their JSON form, and validation that reports
//! every problem with its field path.
//!
//! It has no async runtime, no protobuf and no storage: third parties can build on it cheaply.
//!
//! # Quick start
//!
//! ```
//! use heimsight_core::{Level, LogRecord};
//!
//! let rec = LogRecord::from_json(&serde_json::json!({
//!     "timestamp": "2026-01-02T03:04:05Z",
//!     "level": "error",
//!     "message": "connection refused",
//!     "service": "api",
//!     "attributes": {"http.status": 503}
//! }))
//! .expect("a valid record");
//! assert_eq!(rec.level(), Level::Error);
//!
//! // Every problem is reported, each with its field path.
//! let errors = LogRecord::from_json(&serde_json::json!({"level": "loud", "trace_id": "abc"}))
//!     .unwrap_err();
//! let fields: Vec<_> = errors.errors().iter().map(|e| e.field.as_str()).collect();
//! assert_eq!(fields, ["level", "message", "trace_id"]);
//! ```
//!
//! # Feature flags
//!
//! None: this crate is always minimal.

pub mod alert;
pub mod api;
pub mod attr;
mod duration;
pub mod error;
pub mod ids;
mod json;
pub mod log;
pub mod matcher;
pub mod metric;
#[cfg(feature = "openapi")]
mod openapi;
pub mod span;
pub mod time;

pub use alert::{AlertInstance, AlertStatus, Notification, Severity};
pub use attr::{AttributeValue, Attributes, SharedAttributes};
pub use duration::Duration;
pub use error::{Error, FieldError, Result, ValidationErrors};
pub use ids::{SpanId, TraceId};
pub use json::{FieldReader, type_name as json_type_name};
pub use log::{Level, LogRecord, Scope, TailCursor};
pub use matcher::{MatchOp, split_matcher};
pub use metric::{
    Agg, Exemplar, ExpBuckets, ExpHistogramValue, HistogramValue, Labels, MergedLabels, MetricKind,
    MetricPoint, MetricValue, PointGroup, Quantile, SummaryValue, Temporality,
};
pub use span::{Span, SpanEvent, SpanKind, SpanLink, Status, StatusCode};
pub use time::{Timestamp, parse_duration_nanos};
