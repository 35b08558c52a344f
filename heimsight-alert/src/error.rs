//! The crate's errors.

use heimsight_core::FieldError;

/// What went wrong in alerting.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A rule, silence or other input is invalid; every problem names its field.
    #[error("invalid {what}: {}", .errors.iter().map(|e| if e.field.is_empty() { e.reason.clone() } else { format!("{}: {}", e.field, e.reason) }).collect::<Vec<_>>().join("; "))]
    Invalid {
        /// What was being validated (`rule`, `silence`).
        what: &'static str,
        /// Every problem.
        errors: Vec<FieldError>,
    },
    /// No such rule, silence or alert.
    #[error("{what} {id:?} not found")]
    NotFound {
        /// What was looked for.
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// A rule's query failed when it ran.
    #[error("rule {rule:?}: {message}")]
    Query {
        /// The rule's name.
        rule: String,
        /// Why.
        message: String,
    },
    /// The metadata store failed.
    #[error("storage: {0}")]
    Store(#[from] heimsight_store::Error),
    /// State could not be encoded for the metadata store (nothing was written).
    #[error("cannot encode {what} for the metadata store: {source}")]
    Encode {
        /// What.
        what: &'static str,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// Stored state could not be read back.
    #[error("corrupt {what} in the metadata store: {reason}")]
    Corrupt {
        /// What.
        what: &'static str,
        /// Why.
        reason: String,
    },
}

/// Result of this crate.
pub type Result<T> = std::result::Result<T, Error>;
