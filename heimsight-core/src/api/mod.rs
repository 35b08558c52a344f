//! Shapes of the REST API that its server writes and its clients read — one type per shape,
//! shared by the handlers, the web UI, the CLI and the TUI, so that a renamed field is a
//! compile error rather than a silent `null`. Requests are read with [`FieldReader`]
//! (every problem by field); responses derive serde.
//!
//! [`FieldReader`]: crate::FieldReader

use serde::{Deserialize, Serialize};

/// The body of every error answer of the API:
/// `{"error": "...", "details": [...], "errors": [...], "diagnostics": [...]}`, the last two
/// only when there are any.
///
/// ```
/// use heimsight_core::api::{ErrorBody, ErrorItem};
///
/// let body: ErrorBody = serde_json::from_str(
///     r#"{"error": "invalid rule: interval: must be at least 1s",
///         "details": ["interval: must be at least 1s"],
///         "errors": [{"field": "interval", "reason": "must be at least 1s"}]}"#,
/// )?;
/// assert_eq!(body.errors, [ErrorItem::new("interval", "must be at least 1s")]);
/// assert!(body.diagnostics.is_empty());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// What went wrong, in one line.
    pub error: String,
    /// Every individual problem as one line of text (absent only for a partly rejected
    /// batch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Vec<String>>,
    /// Every problem of an invalid object or batch, by field (and item).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ErrorItem>,
    /// Every problem of an invalid query, located in its text.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diagnostics: Vec<QueryDiagnostic>,
    /// For a partly rejected batch: the items stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted: Option<usize>,
    /// For a partly rejected batch: the items refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected: Option<usize>,
}

impl ErrorBody {
    /// An error with its message and individual problems.
    pub fn new(error: impl Into<String>, details: Vec<String>) -> ErrorBody {
        ErrorBody {
            error: error.into(),
            details: Some(details),
            ..ErrorBody::default()
        }
    }

    /// The individual problems (none when the answer has no `details`).
    pub fn details(&self) -> &[String] {
        self.details.as_deref().unwrap_or_default()
    }
}

/// One problem of an invalid object (`field` is its path, `""` for the whole) or of an item of
/// a batch (`index` is its position).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorItem {
    /// Position of the item in a batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    /// Path of the field at fault (`condition.threshold`, `matchers[0].op`).
    pub field: String,
    /// What is wrong with it.
    pub reason: String,
}

impl ErrorItem {
    /// A problem of `field`.
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> ErrorItem {
        ErrorItem {
            index: None,
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// A problem of `field` of the batch's item `index`.
    pub fn at(index: usize, field: impl Into<String>, reason: impl Into<String>) -> ErrorItem {
        ErrorItem {
            index: Some(index),
            ..ErrorItem::new(field, reason)
        }
    }
}

impl From<&crate::FieldError> for ErrorItem {
    fn from(e: &crate::FieldError) -> Self {
        ErrorItem::new(e.field.clone(), e.reason.clone())
    }
}

/// One problem of a query in the query language, located in its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QueryDiagnostic {
    /// Line of the problem (from 1).
    pub line: usize,
    /// Column of the problem (from 1, in characters).
    pub column: usize,
    /// Byte offset where the problem starts.
    pub start: usize,
    /// Byte offset where it ends.
    pub end: usize,
    /// What is wrong.
    pub message: String,
    /// The text found there.
    #[serde(default)]
    pub found: String,
    /// What would have been accepted there.
    #[serde(default)]
    pub expected: Vec<String>,
    /// A suggestion (`did you mean …?`).
    #[serde(default)]
    pub hint: Option<String>,
}

impl QueryDiagnostic {
    /// A diagnostic at `line`:`column`, bytes `start..end`.
    pub fn new(
        line: usize,
        column: usize,
        start: usize,
        end: usize,
        message: impl Into<String>,
    ) -> QueryDiagnostic {
        QueryDiagnostic {
            line,
            column,
            start,
            end,
            message: message.into(),
            found: String::new(),
            expected: Vec::new(),
            hint: None,
        }
    }
}

/// `invalid {what}: {field}: {reason}; …`: a spec's problems as one line (the error of a
/// `Deserialize` that reads with a `FieldReader`).
fn invalid_text(what: &str, errors: &[crate::FieldError]) -> String {
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    format!("invalid {what}: {}", text.join("; "))
}

mod admin;
mod alerts;
mod dashboards;
mod keys;
mod rule;
mod signals;

pub use admin::{
    Accepted, Health, IngestRate, MemoryView, PerSignal, RetentionUpdate, RetentionView,
    SignalStatsView, StatsView, StatusView,
};
pub use alerts::{
    Alert, AlertState, AlertsPage, ChannelSpec, ChannelTestResult, ChannelView, ChannelsPage,
    Delivery, HistoryEntry, HistoryPage, Matcher, PreviewSample, RulePreview, RuleState, RuleView,
    RulesPage, SilenceSpec, SilenceStatus, SilenceView, SilencesPage, StateChange,
};
pub use dashboards::{Dashboard, DashboardSpec, DashboardsPage, MAX_PANELS, Panel};
pub use keys::{CreatedKey, KeyLimits, KeySpec, KeyView, KeysPage, Scope};
pub use rule::{
    AnomalyMethod, AnomalySettings, CmpOp, Condition, Direction, KINDS, MAX_WINDOW, MIN_INTERVAL,
    RuleChecks, RuleKind, RuleSpec, TraceMeasure,
};
pub use signals::{
    ColumnView, Float, LogsPage, MetricNames, PlanView, PointView, QueryAnswer, QueryRequest,
    QueryStats, SeriesAnswer, SeriesView, SpanNode, TimeRef, TraceDetail, TraceSummary, TracesPage,
};
