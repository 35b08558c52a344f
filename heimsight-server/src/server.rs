//! [`HeimsightServer`]: the route groups and gRPC services, the background work (retention,
//! alert evaluation, notifications) and serving with graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use heimsight_store::Store;
use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::budget::IngestBudget;
use crate::layers::AccessControl;

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
    #[cfg(feature = "alerting")]
    alerting: heimsight_alert::ManagerConfig,
    #[cfg(feature = "alerting")]
    notify: heimsight_notify::NotifierConfig,
    memory_probe: Option<MemoryProbe>,
    access: Option<Arc<dyn AccessControl>>,
    admin_key: Option<String>,
}

/// Reports memory the store does not know about (for example the allocator's own figures),
/// as `(name, bytes)` pairs; see [`HeimsightServerBuilder::memory_probe`].
pub type MemoryProbe = Arc<dyn Fn() -> Vec<(&'static str, u64)> + Send + Sync>;

impl std::fmt::Debug for HeimsightServerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeimsightServerBuilder")
            .field("store", &self.store.as_ref().map(|_| "<store>"))
            .field("config", &self.config)
            .field("access_control", &self.access.is_some())
            .field("admin_key", &self.admin_key.as_ref().map(|_| "<secret>"))
            .finish_non_exhaustive()
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

    /// Who may use which route group: every HTTP route group asks `control` about each
    /// request (see [`AccessControl`]). Without one, every request is let through.
    pub fn access_control(mut self, control: impl AccessControl) -> Self {
        self.access = Some(Arc::new(control));
        self
    }

    /// An administrator key accepted besides the stored ones when `auth.enabled` is on (what
    /// `HEIMSIGHT_ADMIN_KEY` gives the `heimsight` binary): the way to make the first key. It
    /// is never stored.
    pub fn admin_key(mut self, key: impl Into<String>) -> Self {
        self.admin_key = Some(key.into());
        self
    }

    /// Tuning of alert evaluation and notification delivery (retries, backoff, history).
    #[cfg(feature = "alerting")]
    pub fn alerting(mut self, config: heimsight_alert::ManagerConfig) -> Self {
        self.alerting = config;
        self
    }

    /// Settings of the notification sender (timeouts).
    #[cfg(feature = "alerting")]
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

    /// Validates the configuration, opens the alert manager (with the `alerting` feature:
    /// rules, alert state and the notification outbox live in the store's metadata) and
    /// builds the server.
    pub fn build(self) -> Result<HeimsightServer> {
        let store = self.store.ok_or(Error::MissingStore)?;
        self.config.validate()?;
        let base_retention = self.config.retention.to_retention()?;
        let budget = IngestBudget::new(self.config.ingest_budget_bytes);
        let mut keys = crate::auth::ApiKeys::open(Arc::clone(&store))?;
        if let Some(k) = &self.admin_key {
            keys = keys.with_bootstrap_admin(k);
        }
        let keys = Arc::new(keys);
        // With `auth.enabled`, API keys guard every group unless the embedder brought its own
        // access control.
        // The UI's sign-in page and its views of the signed-in key belong to API keys only.
        let key_auth = self.access.is_none() && self.config.auth.enabled;
        // Clients are told apart by their key when keys are checked, else by address.
        let limits = Arc::new(crate::limits::RateLimits::new(
            self.config.rate_limit.clone(),
            key_auth.then(|| Arc::clone(&keys)),
            self.config.max_body_bytes,
        ));
        let access = match self.access {
            Some(a) => Some(a),
            None if self.config.auth.enabled => {
                Some(Arc::new(crate::auth::KeyAuth::new(Arc::clone(&keys)))
                    as Arc<dyn AccessControl>)
            }
            None => None,
        };
        let metrics = crate::telemetry::ServerMetrics::new();
        #[cfg(feature = "alerting")]
        let (alerts, channels) = {
            let sender = heimsight_notify::Notifier::new(self.notify)
                .map_err(|e| Error::Alerting(e.to_string()))?;
            let channels =
                crate::channels::Channels::new(Arc::clone(&store), sender, Arc::clone(&metrics));
            let alerts = heimsight_alert::AlertManager::open(
                Arc::clone(&store),
                Arc::new(channels.clone()),
                self.alerting,
            )
            .map_err(|e| Error::Alerting(e.to_string()))?;
            let observed = Arc::clone(&metrics);
            alerts.observe_evaluations(Arc::new(move |e| observed.evaluation(e)));
            (alerts, channels)
        };
        Ok(HeimsightServer {
            state: AppState {
                store,
                config: Arc::new(self.config),
                base_retention,
                retention_changed: Arc::new(Notify::new()),
                budget,
                #[cfg(feature = "alerting")]
                alerts,
                #[cfg(feature = "alerting")]
                channels,
                access,
                key_auth,
                keys,
                ingested: crate::ingest_stats::IngestStats::new(),
                metrics,
                limits,
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

    /// The reference server's router of every HTTP endpoint: the [`ingest`](Self::ingest_routes),
    /// [`read`](Self::read_routes) and [`admin`](Self::admin_routes) groups, the web UI under
    /// `/ui/` (feature `ui`; `/` redirects there) and JSON answers for unknown paths. Mount it in
    /// another axum app with `.nest_service("/prefix", router)` or `.merge(router)`, or pick groups
    /// instead.
    pub fn router(&self) -> Router {
        crate::routes::router(&self.state)
    }

    /// The ingest group: `POST /api/v1/{logs,traces,metrics}` (JSON) and OTLP/HTTP
    /// (`POST /v1/{logs,traces,metrics}`), behind the body limit and the ingest budget.
    /// Routes of different groups at the same path (`GET` and `POST /api/v1/logs`) merge.
    pub fn ingest_routes(&self) -> Router {
        crate::routes::ingest(&self.state)
    }

    /// The read group: `/health`, `GET /api/v1/{logs,traces,traces/{id},metrics,metrics/names}`,
    /// `/api/v1/query` (GET and POST), `/api/v1/stats`, `/api/v1/status`.
    pub fn read_routes(&self) -> Router {
        crate::routes::read(&self.state)
    }

    /// The admin group: `/api/v1/retention`, `/api/v1/dashboards`, `/api/v1/keys`, and with the `alerting`
    /// feature `/api/v1/alerts…`, `/api/v1/silences…`, `/api/v1/notifications/channels…`.
    pub fn admin_routes(&self) -> Router {
        crate::routes::admin(&self.state)
    }

    /// The web UI, at the root of the returned router: mount it under any path with
    /// `.nest_service("/observability", server.ui_routes())` (axum's `nest` would leave
    /// `/observability/` unmatched); its links and redirects stay under that path. It reads through the REST API's handlers, so it works without the other groups
    /// mounted. Unknown pages get an HTML 404.
    #[cfg(feature = "ui")]
    pub fn ui_routes(&self) -> Router {
        crate::routes::ui(&self.state)
    }

    /// A router of OTLP/HTTP alone (`POST /v1/logs`, `/v1/traces`, `/v1/metrics`), as served on
    /// the OTLP/HTTP port (4318).
    pub fn otlp_http_router(&self) -> Router {
        crate::routes::otlp_http_router(&self.state)
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
    /// outbox. Its evaluation and delivery loop is part of the [background
    /// work](Self::spawn_background).
    #[cfg(feature = "alerting")]
    pub fn alerts(&self) -> &Arc<heimsight_alert::AlertManager> {
        &self.state.alerts
    }

    /// The API keys (`/api/v1/keys`): make, list and revoke them from code too.
    pub fn api_keys(&self) -> &Arc<crate::auth::ApiKeys> {
        &self.state.keys
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
        crate::blocking::run(move || retention::effective(&*store, base))
            .await?
            .map_err(Error::from)
    }

    /// Runs one retention pass now: deletes every signal's data older than its time to live.
    /// Returns the number of records removed (an estimate for some backends).
    pub async fn enforce_retention(&self) -> Result<u64> {
        let base = self.state.base_retention;
        let store = Arc::clone(&self.state.store);
        let removed = crate::blocking::run(move || retention::enforce_each(&*store, base))
            .await?
            .map_err(Error::from)?;
        for (signal, n) in &removed {
            self.state.metrics.retention_deleted(*signal, *n);
        }
        Ok(removed.iter().map(|(_, n)| n).sum())
    }

    /// Enforces retention at once, then every `retention_check_interval` (and right after a
    /// change through the API), until `shutdown` completes. [`serve`](Self::serve) runs this
    /// itself; embedders that only mount the [`router`](Self::router) can spawn it.
    pub async fn run_retention<F>(&self, shutdown: F)
    where
        F: Future<Output = ()> + Send,
    {
        let interval = match self.state.config.retention_check_interval.to_std() {
            Some(d) if !d.is_zero() => d,
            _ => {
                tracing::error!(
                    interval = %self.state.config.retention_check_interval,
                    "retention task not started: retention_check_interval must be positive"
                );
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

    /// Runs the server's background work until `shutdown` completes: retention (see
    /// [`run_retention`](Self::run_retention)) and, with the `alerting` feature, alert
    /// evaluation and the notification outbox's deliveries
    /// ([`AlertManager::run`](heimsight_alert::AlertManager::run)). The store's own work
    /// (RocksDB's log block merges, metric chunk cuts, compactions) runs on the store's
    /// threads whatever the server does. [`serve_all`](Self::serve_all) runs this; an
    /// application that mounts route groups runs it too, or uses
    /// [`spawn_background`](Self::spawn_background).
    pub async fn run_background<F>(&self, shutdown: F)
    where
        F: Future<Output = ()> + Send,
    {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|stop| *stop).await;
        };
        let retention = self.run_retention(stopped(stop_rx.clone()));
        #[cfg(feature = "alerting")]
        let alerting = Arc::clone(&self.state.alerts).run(stopped(stop_rx.clone()));
        #[cfg(not(feature = "alerting"))]
        let alerting = std::future::ready(());
        let signal = async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        };
        tokio::join!(retention, alerting, signal);
        tracing::debug!("background work stopped");
    }

    /// Spawns the [background work](Self::run_background) on the current tokio runtime. It
    /// runs until [`BackgroundTasks::shutdown`] (or until the handle is dropped).
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn spawn_background(&self) -> BackgroundTasks {
        let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
        let server = self.clone();
        let task = tokio::spawn(async move {
            server
                .run_background(async move {
                    let _ = stop_rx.wait_for(|stop| *stop).await;
                })
                .await;
        });
        BackgroundTasks {
            stop: stop_tx,
            task: Some(task),
            store: Arc::clone(&self.state.store),
        }
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
    ///
    /// With a certificate in the configuration ([`TlsConfig`](crate::TlsConfig)) every
    /// listener serves TLS only (HTTPS, gRPC over TLS), and the certificate is reloaded when
    /// its files change or on `SIGHUP` (see [`tls`](crate::tls)); a certificate that cannot be
    /// read is an error before anything is served.
    pub async fn serve_all<F>(self, listeners: Listeners, shutdown: F) -> Result<()>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let tls = crate::tls::TlsCertificates::from_config(&self.state.config.tls)
            .map_err(|e| Error::Config(vec![format!("tls: {e}")]))?;
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let stop_tx = Arc::new(stop_tx);
        let background = {
            let server = self.clone();
            let mut stop_rx = stop_rx.clone();
            tokio::spawn(async move {
                server
                    .run_background(async move {
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
        if let Some(certs) = &tls {
            tokio::spawn(certs.clone().watch(stopped(stop_rx.clone())));
        }

        let Listeners {
            http,
            otlp_grpc,
            otlp_http,
        } = listeners;
        // Serves a router until shutdown; when it ends (for any reason) the others stop too.
        let spawn_http = |listener: TcpListener, router: Router| {
            // With the client's address, which rate limits go by when there are no keys.
            let served: std::pin::Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>> =
                match &tls {
                    None => Box::pin(
                        axum::serve(
                            listener,
                            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
                        )
                        .with_graceful_shutdown(stopped(stop_rx.clone()))
                        .into_future(),
                    ),
                    Some(certs) => {
                        use axum::serve::ListenerExt;
                        let router = router.layer(axum::Extension(crate::tls::ServedOverTls));
                        Box::pin(
                            axum::serve(
                                crate::tls::TlsListener::new(listener, certs.http_config())
                                    .tap_io(|_| {}),
                                router
                                    .into_make_service_with_connect_info::<std::net::SocketAddr>(),
                            )
                            .with_graceful_shutdown(stopped(stop_rx.clone()))
                            .into_future(),
                        )
                    }
                };
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
            let grpc_tls = tls.as_ref().map(crate::tls::TlsCertificates::grpc_config);
            tokio::spawn(async move {
                // HTTP/2 flow-control windows sized for OTLP batches (hundreds of KiB each,
                // several in flight on one connection), so a client does not wait for window
                // updates mid-request. tonic buffers each whole message before decoding it
                // anyway (up to the size limit), so this adds no memory per request.
                let router = tonic::transport::Server::builder()
                    .initial_stream_window_size(GRPC_STREAM_WINDOW)
                    .initial_connection_window_size(GRPC_CONNECTION_WINDOW)
                    .add_routes(routes);
                let r = match grpc_tls {
                    None => {
                        let incoming = tonic::transport::server::TcpIncoming::from(listener)
                            .with_nodelay(Some(true));
                        router.serve_with_incoming_shutdown(incoming, stop).await
                    }
                    Some(config) => {
                        let incoming = crate::tls::grpc_incoming(listener, config);
                        router.serve_with_incoming_shutdown(incoming, stop).await
                    }
                }
                .map_err(|e| Error::Grpc(e.to_string()));
                let _ = stop_tx.send(true);
                r
            })
        });

        let mut first_error: Option<Error> = None;
        let mut note = |r: std::result::Result<Result<()>, tokio::task::JoinError>| {
            let r = r.map_err(Error::from).and_then(|r| r);
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
        if let Err(e) = background.await {
            tracing::warn!(error = %e, "background work ended abnormally");
        }
        let store = Arc::clone(&self.state.store);
        let flushed = crate::blocking::run(move || store.flush()).await?;
        if let Some(e) = first_error {
            return Err(e);
        }
        flushed?;
        tracing::info!("store flushed; stopped");
        Ok(())
    }
}

/// The server's background work, spawned by [`HeimsightServer::spawn_background`]. Dropping
/// the handle stops the work without waiting for it.
pub struct BackgroundTasks {
    stop: tokio::sync::watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
    store: Arc<dyn Store>,
}

impl std::fmt::Debug for BackgroundTasks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackgroundTasks")
            .field(
                "running",
                &self.task.as_ref().is_some_and(|t| !t.is_finished()),
            )
            .finish_non_exhaustive()
    }
}

impl BackgroundTasks {
    /// Stops the background work, waits for it to finish (an alert evaluation or a retention
    /// pass under way completes) and flushes the store.
    pub async fn shutdown(mut self) -> Result<()> {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            task.await.map_err(Error::from)?;
        }
        let store = Arc::clone(&self.store);
        crate::blocking::run(move || store.flush()).await??;
        Ok(())
    }
}

impl Drop for BackgroundTasks {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
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
