//! Errors of `heimsight-query`.

/// Errors of `heimsight-query`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An aggregation name that is not one of [`Agg`](crate::metrics::Agg)'s.
    #[error(transparent)]
    UnknownAggregation(#[from] heimsight_core::metric::UnknownAgg),
}

/// Result type of `heimsight-query`.
pub type Result<T, E = Error> = std::result::Result<T, E>;
