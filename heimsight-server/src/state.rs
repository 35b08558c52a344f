//! What every handler shares.

use std::sync::Arc;

use heimsight_store::Store;
use tokio::sync::Notify;

use crate::api_error::ApiError;
use crate::budget::IngestBudget;
use crate::config::ServerConfig;
use crate::retention::Retention;

/// The state of the router: the store and the configuration.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) config: Arc<ServerConfig>,
    /// The configured retention (before runtime overrides).
    pub(crate) base_retention: Retention,
    /// Woken when the retention changes, so that the retention task runs at once.
    pub(crate) retention_changed: Arc<Notify>,
    /// The in-flight budget of every ingestion endpoint.
    pub(crate) budget: IngestBudget,
    /// Alert rules, instances, silences and the notification outbox.
    #[cfg(feature = "alerting")]
    pub(crate) alerts: Arc<heimsight_alert::AlertManager>,
    /// Notification channels.
    #[cfg(feature = "alerting")]
    pub(crate) channels: crate::channels::Channels,
    /// Who may use which route group (none: everyone everything).
    pub(crate) access: Option<Arc<dyn crate::layers::AccessControl>>,
    /// Whether the access control is the API keys' (`auth.enabled` without an access control
    /// of the embedder's): the UI then has its sign-in page.
    #[cfg_attr(not(feature = "ui"), allow(dead_code))]
    pub(crate) key_auth: bool,
    /// The API keys (`/api/v1/keys`; checked by the access control when auth is on).
    pub(crate) keys: Arc<crate::auth::ApiKeys>,
    /// Rate limits and quotas per client.
    pub(crate) limits: Arc<crate::limits::RateLimits>,
    /// The server's own metrics (`GET /metrics`).
    pub(crate) metrics: Arc<crate::telemetry::ServerMetrics>,
    /// Records ingested since start, per signal.
    pub(crate) ingested: crate::ingest_stats::IngestStats,
    /// Extra memory figures for the status endpoint.
    pub(crate) memory_probe: Option<crate::server::MemoryProbe>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("config", &self.config)
            .field("base_retention", &self.base_retention)
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// Runs `f` with the store on tokio's blocking pool: every store call goes through here,
    /// so that slow disk work never stalls the async workers.
    pub(crate) async fn blocking<T, E, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&dyn Store) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: Into<ApiError> + Send + 'static,
    {
        let store = Arc::clone(&self.store);
        crate::blocking::run(move || f(&*store))
            .await?
            .map_err(Into::into)
    }
}
