//! [`HeimsightServer`]: the routers and gRPC services, the retention task and serving with
//! graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use heimsight_store::Store;
use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::budget::IngestBudget;

/// HTTP/2 receive window of one OTLP/gRPC stream (request).
const GRPC_STREAM_WINDOW: u32 = 4 << 20;
/// HTTP/2 receive window of one OTLP/gRPC connection (all its streams).
const GRPC_CONNECTION_WINDOW: u32 = 16 << 20;
use crate::config::ServerConfig;
use crate::error::{Error, Result};
use crate::retention::{self, Retention};
use crate::state::AppState;

/// The Heimsight server over a store: an axum [`Router`] (REST API and OTLP/HTTP), the
/// OTLP/gRPC services ([`otlp_grpc_routes`](Self::otlp_grpc_routes)), to serve or to mount in
/// another application, and the background work that goes with them (retention).
///
/// Cloning is cheap; clones share the store and the ingest budget.
#[derive(Debug, Clone)]
pub struct HeimsightServer {
    state: AppState,
}

/// Builds a [`HeimsightServer`]; see [`HeimsightServer::builder`].
#[derive(Default)]
pub struct HeimsightServerBuilder {
    store: Option<Arc<dyn Store>>,
    config: ServerConfig,
    alerting: heimsight_alert::ManagerConfig,
    notify: heimsight_notify::NotifierConfig,
    memory_probe: Option<MemoryProbe>,
}

/// Reports memory the store does not know about (for example the allocator's own figures),
/// as `(name, bytes)` pairs; see [`HeimsightServerBuilder::memory_probe`].
pub type MemoryProbe = Arc<dyn Fn() -> Vec<(&'static str, u64)> + Send + Sync>;

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
    /// the APIs are used here (body limit, ingest budget, retention); where to listen
    /// ([`Listeners::bind`] reads it) and the data directory are the caller's business.
    pub fn config(mut self, config: ServerConfig) -> Self {
        self.config = config;
        self
    }

    /// Tuning of alert evaluation and notification delivery (retries, backoff, history).
    pub fn alerting(mut self, config: heimsight_alert::ManagerConfig) -> Self {
        self.alerting = config;
        self
    }

    /// Settings of the notification sender (timeouts).
    pub fn notifications(mut self, config: heimsight_notify::NotifierConfig) -> Self {
        self.notify = config;
        self
    }

    /// A probe whose figures `GET /api/v1/status` shows under `memory.process`, beside the
    /// resident size and the store's own breakdown. The `heimsight` binary reports its
    /// allocator here (jemalloc, which on Linux is also RocksDB's `malloc`), so that the
    /// parts of the resident memory can be told apart. Without a probe there is no
    /// `memory.process`.
    pub fn memory_probe(
        mut self,
        probe: impl Fn() -> Vec<(&'static str, u64)> + Send + Sync + 'static,
    ) -> Self {
        self.memory_probe = Some(Arc::new(probe));
        self
    }

    /// Validates the configuration, opens the alert manager (rules, alert state and the
    /// notification outbox live in the store's metadata) and builds the server.
    pub fn build(self) -> Result<HeimsightServer> {
        let store = self.store.ok_or(Error::MissingStore)?;
        self.config.validate()?;
        let base_retention = self.config.retention.to_retention()?;
        let budget = IngestBudget::new(self.config.ingest_budget_bytes);
        let sender = heimsight_notify::Notifier::new(self.notify)
            .map_err(|e| Error::Alerting(e.to_string()))?;
        let channels = crate::channels::Channels::new(Arc::clone(&store), sender);
        let alerts = heimsight_alert::AlertManager::open(
            Arc::clone(&store),
            Arc::new(channels.clone()),
            self.alerting,
        )
        .map_err(|e| Error::Alerting(e.to_string()))?;
        Ok(HeimsightServer {
            state: AppState {
                store,
                config: Arc::new(self.config),
                base_retention,
                retention_changed: Arc::new(Notify::new()),
                budget,
                alerts,
                channels,
                ingested: crate::ingest_stats::IngestStats::new(),
                memory_probe: self.memory_probe,
            },
        })
    }
}

impl HeimsightServer {
    /// Starts building a server.
    pub fn builder() -> HeimsightServerBuilder {
        HeimsightServerBuilder::default()
    }

    /// The router of every HTTP endpoint — the REST API, `/health` and OTLP/HTTP
    /// (`POST /v1/logs`, `/v1/traces`, `/v1/metrics`) — with its layers (request tracing, body
    /// limit, ingest budget, panic safety net). Mount it in another axum app with
    /// `.nest("/prefix", router)` or `.merge(router)`; apps with a state of their own use
    /// `.nest_service`.
    pub fn router(&self) -> Router {
        crate::routes::router(self.state.clone())
    }

    /// A router of OTLP/HTTP alone (`POST /v1/logs`, `/v1/traces`, `/v1/metrics`), as served on
    /// the OTLP/HTTP port (4318).
    pub fn otlp_http_router(&self) -> Router {
        crate::routes::otlp_http_router(self.state.clone())
    }

    /// The OTLP/gRPC services (`opentelemetry.proto.collector.{logs,trace,metrics}.v1`), with
    /// gzip accepted (and sent to clients that accept it), `max_body_bytes` as the largest
    /// message, and the ingest budget in front. Serve them with
    /// `tonic::transport::Server::builder().add_routes(server.otlp_grpc_routes())`, or turn them
    /// into an axum router with [`Routes::into_axum_router`](tonic::service::Routes::into_axum_router)
    /// to serve over HTTP/2 with other routes.
    pub fn otlp_grpc_routes(&self) -> tonic::service::Routes {
        crate::otlp::grpc::routes(self.state.clone())
    }

    /// The in-flight budget shared by every ingestion endpoint.
    pub fn ingest_budget(&self) -> &IngestBudget {
        &self.state.budget
    }

    /// The alert manager: rules, alert instances, silences, history and the notification
    /// outbox. [`serve_all`](Self::serve_all) runs its evaluation and delivery loop; an
    /// application that mounts the router instead runs [`AlertManager::run`](heimsight_alert::AlertManager::run) itself.
    pub fn alerts(&self) -> &Arc<heimsight_alert::AlertManager> {
        &self.state.alerts
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

    /// Serves the HTTP API (with OTLP/HTTP under `/v1/`) on `listener` until `shutdown`
    /// completes, then stops accepting, lets requests in flight finish, stops the retention
    /// task and flushes the store. [`serve_all`](Self::serve_all) serves the OTLP ports too.
    pub async fn serve<F>(self, listener: TcpListener, shutdown: F) -> Result<()>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.serve_all(Listeners::http_only(listener), shutdown)
            .await
    }

    /// Serves every listener of `listeners` — the HTTP API, OTLP/gRPC and OTLP/HTTP — until
    /// `shutdown` completes (or one of them fails), then stops accepting on all of them, lets
    /// requests in flight finish, stops the retention task and flushes the store. This is what
    /// `heimsight serve` runs.
    pub async fn serve_all<F>(self, listeners: Listeners, shutdown: F) -> Result<()>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let stop_tx = Arc::new(stop_tx);
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
        let alerting = {
            let alerts = Arc::clone(&self.state.alerts);
            let mut stop_rx = stop_rx.clone();
            tokio::spawn(async move {
                alerts
                    .run(async move {
                        let _ = stop_rx.wait_for(|stop| *stop).await;
                    })
                    .await;
            })
        };
        // The caller's signal stops everything.
        let signal = {
            let stop_tx = Arc::clone(&stop_tx);
            let mut stop_rx = stop_rx.clone();
            tokio::spawn(async move {
                tokio::select! {
                    _ = shutdown => tracing::info!("shutting down: finishing requests in flight"),
                    _ = stop_rx.wait_for(|stop| *stop) => {}
                }
                let _ = stop_tx.send(true);
            })
        };
        let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|stop| *stop).await;
        };

        let Listeners {
            http,
            otlp_grpc,
            otlp_http,
        } = listeners;
        // Serves a router until shutdown; when it ends (for any reason) the others stop too.
        let spawn_http = |listener: TcpListener, router: Router| {
            let served = axum::serve(listener, router)
                .with_graceful_shutdown(stopped(stop_rx.clone()))
                .into_future();
            let stop_tx = Arc::clone(&stop_tx);
            tokio::spawn(async move {
                let r = served.await.map_err(Error::from);
                let _ = stop_tx.send(true);
                r
            })
        };
        let http = spawn_http(http, self.router());
        let otlp_http = otlp_http.map(|listener| spawn_http(listener, self.otlp_http_router()));
        let otlp_grpc = otlp_grpc.map(|listener| {
            let routes = self.otlp_grpc_routes();
            let stop = stopped(stop_rx.clone());
            let stop_tx = Arc::clone(&stop_tx);
            tokio::spawn(async move {
                let incoming =
                    tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
                // HTTP/2 flow-control windows sized for OTLP batches (hundreds of KiB each,
                // several in flight on one connection), so a client does not wait for window
                // updates mid-request. tonic buffers each whole message before decoding it
                // anyway (up to the size limit), so this adds no memory per request.
                let r = tonic::transport::Server::builder()
                    .initial_stream_window_size(GRPC_STREAM_WINDOW)
                    .initial_connection_window_size(GRPC_CONNECTION_WINDOW)
                    .add_routes(routes)
                    .serve_with_incoming_shutdown(incoming, stop)
                    .await
                    .map_err(|e| Error::Grpc(e.to_string()));
                let _ = stop_tx.send(true);
                r
            })
        });

        let mut first_error: Option<Error> = None;
        let mut note = |r: std::result::Result<Result<()>, tokio::task::JoinError>| {
            let r = r.map_err(|e| Error::Task(e.to_string())).and_then(|r| r);
            if let Err(e) = r {
                tracing::error!(error = %e, "a listener failed; stopping the others");
                first_error.get_or_insert(e);
            }
        };
        note(http.await);
        if let Some(h) = otlp_http {
            note(h.await);
        }
        if let Some(h) = otlp_grpc {
            note(h.await);
        }
        let _ = stop_tx.send(true);
        let _ = signal.await;
        if let Err(e) = retention.await {
            tracing::warn!(error = %e, "retention task ended abnormally");
        }
        if let Err(e) = alerting.await {
            tracing::warn!(error = %e, "alerting task ended abnormally");
        }
        let store = Arc::clone(&self.state.store);
        let flushed = tokio::task::spawn_blocking(move || store.flush())
            .await
            .map_err(|e| Error::Task(e.to_string()))?;
        if let Some(e) = first_error {
            return Err(e);
        }
        flushed?;
        tracing::info!("store flushed; stopped");
        Ok(())
    }
}

/// The sockets [`HeimsightServer::serve_all`] serves: the HTTP API (required), OTLP/gRPC and
/// OTLP/HTTP (each optional: `None` serves no such listener).
#[derive(Debug)]
pub struct Listeners {
    /// The REST API, `/health` and OTLP/HTTP under `/v1/` (port 8080 by default).
    pub http: TcpListener,
    /// OTLP/gRPC (port 4317 by default).
    pub otlp_grpc: Option<TcpListener>,
    /// OTLP/HTTP alone (port 4318 by default).
    pub otlp_http: Option<TcpListener>,
}

impl Listeners {
    /// Only the HTTP API.
    pub fn http_only(http: TcpListener) -> Listeners {
        Listeners {
            http,
            otlp_grpc: None,
            otlp_http: None,
        }
    }

    /// Binds the three listeners of `config` (`host` with `port`, `otlp_grpc_port` and
    /// `otlp_http_port`; port 0 picks a free port). The error names the address that could not
    /// be bound.
    pub async fn bind(config: &ServerConfig) -> Result<Listeners> {
        async fn bind_one(what: &str, address: String) -> Result<TcpListener> {
            TcpListener::bind(&address).await.map_err(|e| Error::Bind {
                what: what.to_string(),
                address,
                source: e,
            })
        }
        Ok(Listeners {
            http: bind_one("the HTTP API (port)", config.bind_address()).await?,
            otlp_grpc: Some(
                bind_one(
                    "OTLP/gRPC (otlp_grpc_port)",
                    config.otlp_grpc_bind_address(),
                )
                .await?,
            ),
            otlp_http: Some(
                bind_one(
                    "OTLP/HTTP (otlp_http_port)",
                    config.otlp_http_bind_address(),
                )
                .await?,
            ),
        })
    }

    /// The addresses actually bound (with the ports picked for port 0).
    pub fn local_addrs(&self) -> Result<BoundAddrs> {
        Ok(BoundAddrs {
            http: self.http.local_addr()?,
            otlp_grpc: self
                .otlp_grpc
                .as_ref()
                .map(TcpListener::local_addr)
                .transpose()?,
            otlp_http: self
                .otlp_http
                .as_ref()
                .map(TcpListener::local_addr)
                .transpose()?,
        })
    }
}

/// The addresses of [`Listeners`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoundAddrs {
    /// The HTTP API.
    pub http: SocketAddr,
    /// OTLP/gRPC, if served.
    pub otlp_grpc: Option<SocketAddr>,
    /// OTLP/HTTP, if served.
    pub otlp_http: Option<SocketAddr>,
}
