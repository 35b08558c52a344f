//! This crate provides Heimsight's HTTP server: the REST API to ingest and query logs,
//! traces and metrics, as an axum [`Router`](axum::Router) built by [`HeimsightServer`]. Serve
//! it on its own ([`HeimsightServer::serve`], which is what `heimsight serve` does), or mount it
//! in an axum application of yours.
//!
//! Every endpoint is described in `docs/api.md`. Errors are JSON
//! (`{"error": "...", "details": [...]}`) and map to status codes in one place, [`ApiError`]:
//! mistakes of the client are 4xx with a message naming the problem, never a 500. Store calls
//! run on tokio's blocking pool.
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
//!     .nest("/heimsight", server.router());
//!
//! // …and use it (here without a socket).
//! let res = app
//!     .oneshot(
//!         Request::post("/heimsight/api/v1/logs")
//!             .header("content-type", "application/json")
//!             .body(Body::from(r#"{"level": "info", "message": "hello", "service": "api"}"#))?,
//!     )
//!     .await?;
//! assert_eq!(res.status(), 201);
//!
//! // To serve it standalone, with graceful shutdown and a store flush at the end:
//! // let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await?;
//! // server.serve(listener, async { let _ = tokio::signal::ctrl_c().await; }).await?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Feature flags
//!
//! None. The crate depends on `heimsight-store` with its default `rocksdb` backend, which
//! the reference server opens.

mod api_error;
mod body;
pub mod config;
pub mod error;
mod params;
pub mod retention;
mod routes;
mod server;
mod state;

pub use api_error::ApiError;
pub use config::{RetentionConfig, ServerConfig};
pub use error::{Error, Result};
pub use retention::Retention;
pub use server::{HeimsightServer, HeimsightServerBuilder};
