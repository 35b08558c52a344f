//! Storage errors.

/// Errors of `heimsight-store`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The backend failed (I/O, a RocksDB error, compression…); `source` is the backend's
    /// own error.
    #[error("storage backend error in {context}: {source}")]
    Backend {
        /// What the store was doing (`RocksDB`, `zstd`, …).
        context: &'static str,
        /// The backend's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// Stored data could not be decoded.
    #[error("corrupt data in {what}: {reason}")]
    Corrupt {
        /// What was being read.
        what: &'static str,
        /// Why it could not be decoded.
        reason: String,
    },
    /// The data directory was written by an incompatible version of the on-disk format.
    #[error(
        "unsupported on-disk format version {found} (this build reads version {supported}); {hint}"
    )]
    FormatVersion {
        /// Version found on disk.
        found: u32,
        /// Version this build supports.
        supported: u32,
        /// What to do about it.
        hint: &'static str,
    },
    /// A request was invalid (bad matcher regex, limits, …).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// An I/O error outside the backend.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    /// A backend error of `context` caused by `source` (an error, or a message).
    pub fn backend(
        context: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Error {
        Error::Backend {
            context,
            source: source.into(),
        }
    }

    /// True when the caller made a mistake (map to HTTP 400), false for server-side failures.
    pub fn is_client_error(&self) -> bool {
        matches!(self, Error::InvalidRequest(_))
    }
}

/// Result type of `heimsight-store`.
pub type Result<T, E = Error> = std::result::Result<T, E>;
