//! Errors and validation problems.

use std::fmt;

/// One problem found while validating or decoding a value, with the path of the field at fault.
///
/// Paths use dots for object fields and brackets for array items, relative to the value being
/// validated: `attributes.http.status`, `events[2].timestamp`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    /// Path of the offending field (empty for the value as a whole).
    pub field: String,
    /// What is wrong with it.
    pub reason: String,
}

impl FieldError {
    /// Creates a problem for `field`.
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            f.write_str(&self.reason)
        } else {
            write!(f, "{}: {}", self.field, self.reason)
        }
    }
}

/// Every problem found in one value. Never empty when returned as an error.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    /// An empty set of problems.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a problem.
    pub fn push(&mut self, field: impl Into<String>, reason: impl Into<String>) {
        self.0.push(FieldError::new(field, reason));
    }

    /// True when no problem was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The recorded problems.
    pub fn errors(&self) -> &[FieldError] {
        &self.0
    }

    /// `Ok(value)` when empty, the problems otherwise.
    pub fn into_result<T>(self, value: T) -> Result<T> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(Error::Invalid(self))
        }
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// Errors of `heimsight-core`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A value failed validation; every problem is listed.
    #[error("invalid value: {0}")]
    Invalid(ValidationErrors),
    /// A time expression could not be parsed.
    #[error("invalid time {input:?}: {reason}")]
    Time {
        /// The text that was given.
        input: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A duration expression could not be parsed.
    #[error(
        "invalid duration {input:?}: expected a number followed by ns, us, ms, s, m, h, d or w (e.g. 15m)"
    )]
    Duration {
        /// The text that was given.
        input: String,
    },
}

impl Error {
    /// The field problems, when this is a validation error.
    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            Error::Invalid(v) => v.errors(),
            _ => &[],
        }
    }
}

/// Result type of `heimsight-core`.
pub type Result<T, E = Error> = std::result::Result<T, E>;
