//! The columns each source offers, with their types.
//!
//! This is the one catalog the checker (name resolution, types), the executor (reading a
//! column of a record) and the documentation agree on. Attributes (`attributes.x`,
//! `resource.x`, for metrics also `labels.x`) are not listed: any key may be asked for and
//! its type is [`Type::Any`].

use std::fmt;

use crate::ast::Source;

/// The type of a value in a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Type {
    /// `true` / `false`.
    Bool,
    /// 64-bit signed integer.
    Int,
    /// 64-bit float.
    Float,
    /// Text.
    String,
    /// A point in time (nanoseconds since the Unix epoch).
    Timestamp,
    /// A length of time (nanoseconds).
    Duration,
    /// Only `NULL`.
    Null,
    /// A key/value map (the `attributes` and `resource` columns).
    Map,
    /// Decided per value at run time (attributes).
    Any,
}

impl Type {
    /// Lower-case name used in messages and in query results' column types.
    pub fn as_str(self) -> &'static str {
        match self {
            Type::Bool => "bool",
            Type::Int => "int",
            Type::Float => "float",
            Type::String => "string",
            Type::Timestamp => "timestamp",
            Type::Duration => "duration",
            Type::Null => "null",
            Type::Map => "map",
            Type::Any => "any",
        }
    }

    /// True for `int` and `float`.
    pub fn is_numeric(self) -> bool {
        matches!(self, Type::Int | Type::Float)
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A column of a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// Canonical name.
    pub name: &'static str,
    /// Other names accepted for it.
    pub aliases: &'static [&'static str],
    /// Its type.
    pub ty: Type,
    /// Whether `SELECT *` shows it.
    pub in_wildcard: bool,
    /// One-line description for docs and `EXPLAIN`.
    pub doc: &'static str,
}

const fn col(
    name: &'static str,
    aliases: &'static [&'static str],
    ty: Type,
    in_wildcard: bool,
    doc: &'static str,
) -> Column {
    Column {
        name,
        aliases,
        ty,
        in_wildcard,
        doc,
    }
}

const LOG_COLUMNS: &[Column] = &[
    col(
        "timestamp",
        &["time", "ts"],
        Type::Timestamp,
        true,
        "When the event happened.",
    ),
    col(
        "observed_timestamp",
        &[],
        Type::Timestamp,
        false,
        "When the collector saw it (NULL when unknown).",
    ),
    col(
        "level",
        &[],
        Type::String,
        true,
        "Coarse level: trace, debug, info, warn, error, fatal (lower case).",
    ),
    col(
        "severity",
        &["severity_number"],
        Type::Int,
        false,
        "OTLP severity number, 0 to 24.",
    ),
    col(
        "severity_text",
        &[],
        Type::String,
        false,
        "Severity text as the source wrote it.",
    ),
    col(
        "service",
        &["service_name"],
        Type::String,
        true,
        "Emitting service (resource `service.name`).",
    ),
    col(
        "message",
        &["body", "msg"],
        Type::String,
        true,
        "The message (OTLP body).",
    ),
    col(
        "trace_id",
        &[],
        Type::String,
        true,
        "Trace id, 32 lower-case hex digits (NULL when absent).",
    ),
    col(
        "span_id",
        &[],
        Type::String,
        true,
        "Span id, 16 lower-case hex digits (NULL when absent).",
    ),
    col(
        "scope",
        &["scope_name"],
        Type::String,
        false,
        "Instrumentation scope name.",
    ),
    col("flags", &[], Type::Int, false, "W3C trace flags."),
    col("attributes", &[], Type::Map, true, "Record attributes."),
    col("resource", &[], Type::Map, true, "Resource attributes."),
];

const SPAN_COLUMNS: &[Column] = &[
    col(
        "timestamp",
        &["start_time", "start", "time", "ts"],
        Type::Timestamp,
        true,
        "When the span started.",
    ),
    col(
        "end_time",
        &[],
        Type::Timestamp,
        false,
        "When the span ended.",
    ),
    col(
        "duration",
        &["duration_ns"],
        Type::Duration,
        true,
        "End minus start.",
    ),
    col(
        "trace_id",
        &[],
        Type::String,
        true,
        "Trace id, 32 lower-case hex digits.",
    ),
    col(
        "span_id",
        &[],
        Type::String,
        true,
        "Span id, 16 lower-case hex digits.",
    ),
    col(
        "parent_span_id",
        &["parent_id"],
        Type::String,
        true,
        "Parent span id (NULL for a root span).",
    ),
    col(
        "service",
        &["service_name"],
        Type::String,
        true,
        "Emitting service (resource `service.name`).",
    ),
    col(
        "name",
        &["operation", "span_name"],
        Type::String,
        true,
        "Operation name.",
    ),
    col(
        "kind",
        &["span_kind"],
        Type::String,
        false,
        "unspecified, internal, server, client, producer, consumer.",
    ),
    col(
        "status",
        &["status_code"],
        Type::String,
        true,
        "unset, ok or error.",
    ),
    col(
        "status_message",
        &[],
        Type::String,
        false,
        "Status message.",
    ),
    col(
        "scope",
        &["scope_name"],
        Type::String,
        false,
        "Instrumentation scope name.",
    ),
    col("trace_state", &[], Type::String, false, "W3C trace state."),
    col(
        "is_root",
        &["root"],
        Type::Bool,
        false,
        "True for a span without a parent.",
    ),
];

const METRIC_COLUMNS: &[Column] = &[
    col(
        "timestamp",
        &["time", "ts"],
        Type::Timestamp,
        true,
        "Time of the point.",
    ),
    col(
        "name",
        &["metric", "__name__"],
        Type::String,
        true,
        "Metric name.",
    ),
    col(
        "value",
        &[],
        Type::Float,
        true,
        "Value of gauges and counters; sum of histograms and summaries.",
    ),
    col(
        "service",
        &["service_name"],
        Type::String,
        true,
        "Label `service.name` (NULL when absent).",
    ),
    col(
        "kind",
        &["type"],
        Type::String,
        false,
        "gauge, counter, histogram, exponential_histogram or summary.",
    ),
    col("unit", &[], Type::String, false, "Unit (UCUM)."),
    col(
        "count",
        &[],
        Type::Int,
        false,
        "Observation count of histograms and summaries (NULL otherwise).",
    ),
    col(
        "start_timestamp",
        &[],
        Type::Timestamp,
        false,
        "Start of the accumulation window (NULL when unknown).",
    ),
];

/// The columns of `source`, in `SELECT *` order.
pub fn columns(source: Source) -> &'static [Column] {
    match source {
        Source::Logs => LOG_COLUMNS,
        Source::Spans => SPAN_COLUMNS,
        Source::Metrics => METRIC_COLUMNS,
    }
}

/// The column of `source` called `name` (canonical name or alias, case-insensitive).
pub fn column(source: Source, name: &str) -> Option<&'static Column> {
    columns(source).iter().find(|c| {
        c.name.eq_ignore_ascii_case(name) || c.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_aliases_are_unique_per_source() {
        for source in Source::ALL {
            let mut seen = std::collections::HashSet::new();
            for c in columns(source) {
                for n in std::iter::once(&c.name).chain(c.aliases) {
                    assert!(seen.insert(*n), "{source}: {n} twice");
                }
            }
        }
    }

    #[test]
    fn aliases_resolve_to_the_canonical_column() {
        assert_eq!(
            column(Source::Logs, "BODY").map(|c| c.name),
            Some("message")
        );
        assert_eq!(
            column(Source::Spans, "operation").map(|c| c.name),
            Some("name")
        );
        assert_eq!(column(Source::Metrics, "levle"), None);
    }
}
