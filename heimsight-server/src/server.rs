//! [`HeimsightServer`]: the router, the retention task and serving with graceful shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use heimsight_store::Store;
use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::config::ServerConfig;
use crate::error::{Error, Result};
use crate::retention::{self, Retention};
use crate::state::AppState;

/// The Heimsight HTTP server over a store: an axum [`Router`] to serve or to mount in another
/// application, and the background work that goes with it (retention).
///
/// Cloning is cheap; clones share the store.
#[derive(Debug, Clone)]
pub struct HeimsightServer {
    state: AppState,
}

/// Builds a [`HeimsightServer`]; see [`HeimsightServer::builder`].
#[derive(Default)]
pub struct HeimsightServerBuilder {
    store: Option<Arc<dyn Store>>,
    config: ServerConfig,
}

impl std::fmt::Debug for HeimsightServerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeimsightServerBuilder")
            .field("store", &self.store.as_ref().map(|_| "<store>"))
            .field("config", &self.config)
            .finish()
    }
}

impl HeimsightServerBuilder {
    /// The store to serve (required).
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    /// The configuration (default: [`ServerConfig::default`]). Only the settings that concern
    /// the HTTP API are used here (body limit, retention); where to listen and the data
    /// directory are the caller's business.
    pub fn config(mut self, config: ServerConfig) -> Self {
        self.config = config;
        self
    }

    /// Validates the configuration and builds the server.
    pub fn build(self) -> Result<HeimsightServer> {
        let store = self.store.ok_or(Error::MissingStore)?;
        self.config.validate()?;
        let base_retention = self.config.retention.to_retention()?;
        Ok(HeimsightServer {
            state: AppState {
                store,
                config: Arc::new(self.config),
                base_retention,
                retention_changed: Arc::new(Notify::new()),
            },
        })
    }
}

impl HeimsightServer {
    /// Starts building a server.
    pub fn builder() -> HeimsightServerBuilder {
        HeimsightServerBuilder::default()
    }

    /// The router of every endpoint, with its layers (request tracing, body limit, panic
    /// safety net). Mount it in another axum app with `.nest("/prefix", router)` or
    /// `.merge(router)`; apps with a state of their own use `.nest_service`.
    pub fn router(&self) -> Router {
        crate::routes::router(self.state.clone())
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.state.config
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.state.store
    }

    /// The configured retention, before the overrides set at runtime.
    pub fn configured_retention(&self) -> Retention {
        self.state.base_retention
    }

    /// The retention in force: the configured one, overridden by what was set through
    /// `PUT /api/v1/retention`.
    pub async fn retention(&self) -> Result<Retention> {
        let base = self.state.base_retention;
        let store = Arc::clone(&self.state.store);
        tokio::task::spawn_blocking(move || retention::effective(&*store, base))
            .await
            .map_err(|e| Error::Task(e.to_string()))?
            .map_err(Error::from)
    }

    /// Runs one retention pass now: deletes every signal's data older than its time to live.
    /// Returns the number of records removed (an estimate for some backends).
    pub async fn enforce_retention(&self) -> Result<u64> {
        let base = self.state.base_retention;
        let store = Arc::clone(&self.state.store);
        tokio::task::spawn_blocking(move || retention::enforce(&*store, base))
            .await
            .map_err(|e| Error::Task(e.to_string()))?
            .map_err(Error::from)
    }

    /// Enforces retention at once, then every `retention_check_interval` (and right after a
    /// change through the API), until `shutdown` completes. [`serve`](Self::serve) runs this
    /// itself; embedders that only mount the [`router`](Self::router) can spawn it.
    pub async fn run_retention<F>(&self, shutdown: F)
    where
        F: Future<Output = ()> + Send,
    {
        let interval = match self.state.config.retention_check_interval_nanos() {
            Ok(ns) => Duration::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX)),
            Err(e) => {
                tracing::error!(error = %e, "retention task not started");
                return;
            }
        };
        tokio::pin!(shutdown);
        loop {
            if let Err(e) = self.enforce_retention().await {
                tracing::warn!(error = %e, "retention pass failed; retrying at the next interval");
            }
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = self.state.retention_changed.notified() => {}
                _ = &mut shutdown => break,
            }
        }
        tracing::debug!("retention task stopped");
    }

    /// Serves the API on `listener` until `shutdown` completes, then stops accepting, lets
    /// requests in flight finish, stops the retention task and flushes the store.
    pub async fn serve<F>(self, listener: TcpListener, shutdown: F) -> Result<()>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let retention = {
            let server = self.clone();
            let mut stop_rx = stop_rx.clone();
            tokio::spawn(async move {
                server
                    .run_retention(async move {
                        let _ = stop_rx.wait_for(|stop| *stop).await;
                    })
                    .await;
            })
        };
        let mut serve_stop = stop_rx;
        let graceful = async move {
            tokio::select! {
                _ = shutdown => {}
                _ = serve_stop.wait_for(|stop| *stop) => {}
            }
            tracing::info!("shutting down: finishing requests in flight");
        };
        let served = axum::serve(listener, self.router())
            .with_graceful_shutdown(graceful)
            .await;
        let _ = stop_tx.send(true);
        if let Err(e) = retention.await {
            tracing::warn!(error = %e, "retention task ended abnormally");
        }
        let store = Arc::clone(&self.state.store);
        let flushed = tokio::task::spawn_blocking(move || store.flush())
            .await
            .map_err(|e| Error::Task(e.to_string()))?;
        served?;
        flushed?;
        tracing::info!("store flushed; stopped");
        Ok(())
    }
}
