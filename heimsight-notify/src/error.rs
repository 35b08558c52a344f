//! Errors of `heimsight-notify`.

use heimsight_core::{FieldError, ValidationErrors};

/// Errors of `heimsight-notify`.
///
/// Failures to *deliver* a notification are not this type but a [`SendError`](crate::SendError),
/// which says whether trying again may help.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The notifier configuration is unusable (a zero timeout, a bad root certificate…).
    #[error("invalid notifier configuration: {0}")]
    Config(String),
    /// The HTTP client could not be built.
    #[error("could not build the HTTP client: {0}")]
    Client(String),
    /// Channel settings failed validation; every problem is listed.
    #[error("invalid channel settings: {0}")]
    InvalidSettings(ValidationErrors),
    /// An email could not be assembled from the settings and the notification.
    #[error("could not build the email: {0}")]
    Email(String),
}

impl Error {
    /// True when the caller's input is at fault (settings, configuration), false otherwise.
    pub fn is_client_error(&self) -> bool {
        matches!(
            self,
            Error::Config(_) | Error::InvalidSettings(_) | Error::Email(_)
        )
    }

    /// The field problems, when this is a validation error.
    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            Error::InvalidSettings(v) => v.errors(),
            _ => &[],
        }
    }
}

impl From<Vec<FieldError>> for Error {
    fn from(errors: Vec<FieldError>) -> Self {
        Error::InvalidSettings(ValidationErrors(errors))
    }
}

/// Result type of `heimsight-notify`.
pub type Result<T, E = Error> = std::result::Result<T, E>;
