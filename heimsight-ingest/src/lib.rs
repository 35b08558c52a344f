//! This crate provides Heimsight's ingestion: turning telemetry as it arrives over the wire
//! into validated [`heimsight_core`] records, ready for a [`heimsight_store`] backend.
//!
//! That is the plain-JSON bodies of the REST API ([`json`]), where a body is one JSON object
//! or an array of them, and OpenTelemetry export requests in protobuf or OTLP JSON
//! ([`otlp`]), and Prometheus remote write ([`prometheus`]). A body that cannot be read at all is an [`Error`]; items with problems
//! are reported one [`ItemError`] per problem, with the item's index and the field path, while
//! the valid items of the same body are still accepted.
//!
//! For a service's own telemetry there is [`layer`]: a [`tracing_subscriber::Layer`]
//! ([`HeimsightLayer`]) that records the service's events as logs and its spans as spans
//! straight into an embedded store, batched on a background thread, with no server at all.
//!
//! The crate has no async runtime: call it from a blocking context (the server runs it on
//! tokio's blocking pool).
//!
//! # Quick start
//!
//! ```
//! use heimsight_ingest::json;
//! use heimsight_store::{LogQuery, LogStore, MemoryStore};
//!
//! let body = br#"[
//!     {"timestamp": "2026-01-02T03:04:05Z", "level": "error", "message": "connection refused",
//!      "service": "api"},
//!     {"level": "loud"}
//! ]"#;
//!
//! // Decode only…
//! let batch = json::decode_logs(body)?;
//! assert_eq!(batch.accepted.len(), 1);
//! let problems: Vec<String> = batch.rejected.iter().map(|e| e.to_string()).collect();
//! assert_eq!(problems.len(), 2);
//! assert!(problems[0].starts_with("item 1: level: unknown level \"loud\""));
//! assert_eq!(problems[1], "item 1: message: missing; every log record needs a message");
//!
//! // …or decode and store the valid items in one go.
//! let store = MemoryStore::new();
//! let receipt = json::ingest_logs(&store, body)?;
//! assert_eq!((receipt.accepted, receipt.rejected_items), (1, 1));
//! assert_eq!(store.query_logs(&LogQuery::default())?.total, 1);
//!
//! // A body that is not JSON is an error naming where it went wrong.
//! let err = json::decode_logs(b"{\"message\": oops}").unwrap_err();
//! assert!(err.to_string().starts_with("malformed JSON at line 1, column 13"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Feature flags
//!
//! None yet. The crate depends on `heimsight-store` without default features, so it never
//! pulls in a storage backend.

pub mod error;
pub mod json;
pub mod layer;
pub mod otlp;
pub mod prometheus;

pub use error::{Error, Result};
pub use json::{Batch, ItemError, Receipt};
pub use layer::{HeimsightLayer, HeimsightLayerBuilder, LayerGuard, LayerStats};
