//! Errors of `heimsight-query`.

/// Errors of `heimsight-query`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An aggregation name that is not one of [`Agg`](crate::metrics::Agg)'s.
    #[error("unknown aggregation {input:?}; expected one of avg, sum, min, max, count")]
    UnknownAggregation {
        /// The text that was given.
        input: String,
    },
}

/// Result type of `heimsight-query`.
pub type Result<T, E = Error> = std::result::Result<T, E>;
