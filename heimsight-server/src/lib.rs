//! This crate provides Heimsight's server: the REST API to ingest and query logs, traces and
//! metrics, and OTLP ingestion over HTTP and gRPC, built by [`HeimsightServer`] as an axum
//! [`Router`](axum::Router) (REST API and OTLP/HTTP under `/v1/`) and tonic services
//! ([`HeimsightServer::otlp_grpc_routes`]). Serve them on their own
//! ([`HeimsightServer::serve_all`] on the [`Listeners`] of the configuration, which is what
//! `heimsight serve` does), or mount them in an application of yours.
//!
//! Every endpoint is described in `docs/api.md`. REST errors are JSON
//! (`{"error": "...", "details": [...]}`) and map to status codes in one place, [`ApiError`];
//! OTLP errors follow the OTLP specification (see [`otlp`]). Mistakes of the client are 4xx
//! (gRPC `INVALID_ARGUMENT`…) with a message naming the problem, never a 500. Store calls run
//! on tokio's blocking pool.
//!
//! Ingestion is bounded: every ingestion request holds part of an in-flight [`IngestBudget`]
//! while it is received, decoded and stored; when the budget is in use, requests are turned
//! away at once (HTTP 429 with `Retry-After`, gRPC `UNAVAILABLE` with `RetryInfo`), so that
//! OpenTelemetry exporters retry later and memory never grows without bound.
//!
//! # Quick start
//!
//! ```
//! use std::sync::Arc;
//!
//! use axum::body::Body;
//! use axum::http::Request;
//! use heimsight_server::{HeimsightServer, ServerConfig};
//! use heimsight_store::MemoryStore;
//! use tower::ServiceExt;
//!
//! # tokio::runtime::Runtime::new()?.block_on(async {
//! let server = HeimsightServer::builder()
//!     .store(Arc::new(MemoryStore::new()))
//!     .config(ServerConfig::default())
//!     .build()?;
//!
//! // Mount it next to your own routes…
//! let app = axum::Router::new()
//!     .route("/", axum::routing::get(|| async { "my app" }))
//!     .nest_service("/heimsight", server.router());
//!
//! // …and use it (here without a socket).
//! let res = app
//!     .clone()
//!     .oneshot(
//!         Request::post("/heimsight/api/v1/logs")
//!             .header("content-type", "application/json")
//!             .body(Body::from(r#"{"level": "info", "message": "hello", "service": "api"}"#))?,
//!     )
//!     .await?;
//! assert_eq!(res.status(), 201);
//!
//! // OTLP/HTTP is on the same router, under /v1/.
//! let res = app
//!     .oneshot(
//!         Request::post("/heimsight/v1/logs")
//!             .header("content-type", "application/json")
//!             .body(Body::from(r#"{"resourceLogs": []}"#))?,
//!     )
//!     .await?;
//! assert_eq!(res.status(), 200);
//!
//! // OTLP/gRPC services, for a tonic server of yours:
//! let _grpc: tonic::service::Routes = server.otlp_grpc_routes();
//!
//! // To serve everything standalone (HTTP 8080, OTLP/gRPC 4317, OTLP/HTTP 4318), with graceful
//! // shutdown and a store flush at the end:
//! // let listeners = heimsight_server::Listeners::bind(server.config()).await?;
//! // server.serve_all(listeners, async { let _ = tokio::signal::ctrl_c().await; }).await?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Composing
//!
//! [`HeimsightServer::router`] is the reference assembly. An application can take the pieces
//! instead: the route groups [`ingest_routes`](HeimsightServer::ingest_routes),
//! [`read_routes`](HeimsightServer::read_routes), [`admin_routes`](HeimsightServer::admin_routes)
//! and `ui_routes` (feature `ui`, mountable under any path), the OTLP/gRPC services, the tower
//! layers of [`layers`] for its own routes, an [`AccessControl`] asked about every request of a
//! group, and the background work ([`HeimsightServer::spawn_background`]). See
//! `examples/otlp-ingest-query` and `examples/ui-under-path`.
//!
//! # Feature flags
//!
//! - `ui` (default): the web UI (`ui_routes`, `/ui/` in the reference router).
//! - `alerting` (default): alert rules, silences, notification channels, their routes in the
//!   admin group and their evaluation and delivery in the background work.
//! - `rocksdb`: turns on `heimsight-store/rocksdb` (the server itself opens no store; the
//!   `heimsight` binary opens a RocksDB store and turns every feature on).

mod api_error;
pub mod auth;
pub mod blocking;
mod body;
pub mod budget;
#[cfg(feature = "alerting")]
mod channels;
pub mod config;
pub mod error;
mod ingest_stats;
pub mod layers;
pub mod limits;
pub mod openapi;
pub mod otlp;
mod params;
pub mod retention;
mod routes;
mod server;
mod state;
mod telemetry;
pub mod tls;
#[cfg(feature = "ui")]
mod ui;

pub use api_error::ApiError;
pub use budget::{BudgetPermit, IngestBudget};
pub use config::{AuthConfig, RetentionConfig, ServerConfig, TlsConfig};
pub use error::{Error, Result};
pub use layers::{AccessControl, RouteGroup};
pub use limits::RateLimitConfig;
pub use retention::Retention;
pub use server::{
    BackgroundTasks, BoundAddrs, HeimsightServer, HeimsightServerBuilder, Listeners, MemoryProbe,
};
