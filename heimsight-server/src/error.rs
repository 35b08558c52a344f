//! Errors of `heimsight-server` itself (building and running it). How errors of requests
//! become HTTP responses is [`ApiError`](crate::ApiError)'s business.

/// Errors of building or running the server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is invalid; every problem is listed.
    #[error("invalid configuration: {}", .0.join("; "))]
    Config(Vec<String>),
    /// [`HeimsightServerBuilder::build`](crate::HeimsightServerBuilder::build) was called
    /// without a store.
    #[error("no store given: call HeimsightServerBuilder::store before build")]
    MissingStore,
    /// Serving failed (accepting connections, …).
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// A listening address could not be bound.
    #[error("cannot listen for {what} on {address}: {source}")]
    Bind {
        /// Which listener.
        what: String,
        /// The address.
        address: String,
        /// Why.
        source: std::io::Error,
    },
    /// The OTLP/gRPC server failed.
    #[error("OTLP/gRPC server error: {0}")]
    Grpc(String),
    /// The store failed (e.g. flushing on shutdown).
    #[error("storage error: {0}")]
    Store(#[from] heimsight_store::Error),
    /// A stored API key could not be read.
    #[error("API key {id} is unreadable: {source}")]
    KeyRecord {
        /// The key's id.
        id: String,
        /// Why.
        source: serde_json::Error,
    },
    /// The alert manager or the notification sender could not start.
    #[error("alerting: {0}")]
    Alerting(String),
    /// A background or blocking task panicked or was cancelled.
    #[error(transparent)]
    Task(#[from] crate::blocking::TaskFailed),
}

/// Result type of `heimsight-server`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<tokio::task::JoinError> for Error {
    fn from(e: tokio::task::JoinError) -> Self {
        Error::Task(e.into())
    }
}
