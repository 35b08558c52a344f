//! What a query reads: the [`Record`] trait, which answers columns, attributes and full-text
//! matches of one row, and its implementations for log records, spans and metric points
//! ([`MetricRow`]).
//!
//! Column names are the canonical ones of [`crate::schema`]; unknown names give `NULL`.
//! Besides the schema's columns every source answers the map columns `attributes` and
//! `resource` (for metrics both, and `labels`, are the point's labels).

use heimsight_core::{Attributes, Labels, LogRecord, MetricValue, Span};
use heimsight_store::{
    LogCountRow, Point, Series, SpanRow, attributes_have_phrase, has_phrase, record_has_phrase,
};

use crate::value::Value;

/// One row a query can read.
///
/// The `*_str` methods are optional fast paths: when the value is text stored in the record
/// they may return it borrowed, saving an allocation; they must agree with the owned forms
/// (returning `None` is always allowed and makes the caller use the owned form).
pub trait Record {
    /// The column `canonical_name` (see [`crate::schema`]); `NULL` when absent or unknown.
    fn column(&self, canonical_name: &str) -> Value;

    /// The record attribute `key` (for metrics: the label); `NULL` when absent.
    fn attribute(&self, key: &str) -> Value;

    /// The resource attribute `key` (for metrics: the label); `NULL` when absent.
    fn resource(&self, key: &str) -> Value;

    /// `MATCH` semantics: true when the phrase's tokens occur, adjacent and in order, in one
    /// field of the record's searchable text ([`heimsight_store::has_phrase`]): for logs the
    /// message or a string value of the record's or resource's attributes; for spans the
    /// name, the status message or such an attribute value; for points the metric name.
    fn text_matches(&self, phrase: &str) -> bool;

    /// The column as borrowed text, when it is a string stored in the record.
    fn column_str(&self, canonical_name: &str) -> Option<&str> {
        let _ = canonical_name;
        None
    }

    /// The attribute as borrowed text, when it is a string.
    fn attribute_str(&self, key: &str) -> Option<&str> {
        let _ = key;
        None
    }

    /// The resource attribute as borrowed text, when it is a string.
    fn resource_str(&self, key: &str) -> Option<&str> {
        let _ = key;
        None
    }

    /// The metric series (name and labels) the row belongs to; `None` for logs and spans.
    /// `rate()` and `increase()` use it to follow each counter separately.
    fn series_identity(&self) -> Option<(&str, &Labels)> {
        None
    }

    /// How many records this row stands for: 1, except for the pre-counted groups a store
    /// returns for pushed-down counts ([`LogCountRow`]), which `count(*)` adds up.
    fn weight(&self) -> u64 {
        1
    }
}

impl<T: Record + ?Sized> Record for &T {
    fn column(&self, canonical_name: &str) -> Value {
        (**self).column(canonical_name)
    }
    fn attribute(&self, key: &str) -> Value {
        (**self).attribute(key)
    }
    fn resource(&self, key: &str) -> Value {
        (**self).resource(key)
    }
    fn text_matches(&self, phrase: &str) -> bool {
        (**self).text_matches(phrase)
    }
    fn column_str(&self, canonical_name: &str) -> Option<&str> {
        (**self).column_str(canonical_name)
    }
    fn attribute_str(&self, key: &str) -> Option<&str> {
        (**self).attribute_str(key)
    }
    fn resource_str(&self, key: &str) -> Option<&str> {
        (**self).resource_str(key)
    }
    fn series_identity(&self) -> Option<(&str, &Labels)> {
        (**self).series_identity()
    }
    fn weight(&self) -> u64 {
        (**self).weight()
    }
}

/// A group of log records counted by the store: it has the columns the count was grouped by
/// (`service`, `level`, and `timestamp` as the bucket's start) and the weight of its count.
impl Record for LogCountRow {
    fn column(&self, name: &str) -> Value {
        match name {
            "service" => self.service.clone().into(),
            "level" => self.level.map(|l| l.as_str().to_string()).into(),
            "timestamp" => self.bucket.map_or(Value::Null, |b| Value::Timestamp(b.0)),
            _ => Value::Null,
        }
    }

    fn attribute(&self, _key: &str) -> Value {
        Value::Null
    }

    fn resource(&self, _key: &str) -> Value {
        Value::Null
    }

    fn text_matches(&self, _phrase: &str) -> bool {
        false
    }

    fn column_str(&self, name: &str) -> Option<&str> {
        match name {
            "service" => self.service.as_deref(),
            "level" => self.level.map(|l| l.as_str()),
            _ => None,
        }
    }

    fn weight(&self) -> u64 {
        self.count
    }
}

fn attr(a: &Attributes, key: &str) -> Value {
    a.get(key).map_or(Value::Null, Value::from)
}

fn attr_str<'a>(a: &'a Attributes, key: &str) -> Option<&'a str> {
    a.get(key).and_then(|v| v.as_str())
}

fn attr_map(a: &Attributes) -> Value {
    Value::Map(a.iter().map(|(k, v)| (k.clone(), Value::from(v))).collect())
}

fn time_or_null(t: heimsight_core::Timestamp) -> Value {
    if t.0 == 0 {
        Value::Null
    } else {
        Value::Timestamp(t.0)
    }
}

impl Record for LogRecord {
    fn column(&self, name: &str) -> Value {
        match name {
            "timestamp" => Value::Timestamp(self.timestamp.0),
            "observed_timestamp" => time_or_null(self.observed_timestamp),
            "level" => Value::String(self.level().as_str().to_string()),
            "severity" => Value::Int(i64::from(self.severity_number)),
            "severity_text" => Value::String(self.severity_text.clone()),
            "service" => Value::String(self.service.clone()),
            "message" => Value::String(self.body.clone()),
            "trace_id" => self.trace_id.map(|t| t.to_hex()).into(),
            "span_id" => self.span_id.map(|s| s.to_hex()).into(),
            "scope" => Value::String(self.scope.name.clone()),
            "flags" => Value::Int(i64::from(self.flags)),
            "attributes" => attr_map(&self.attributes),
            "resource" => attr_map(&self.resource),
            _ => Value::Null,
        }
    }

    fn attribute(&self, key: &str) -> Value {
        attr(&self.attributes, key)
    }

    fn resource(&self, key: &str) -> Value {
        attr(&self.resource, key)
    }

    fn text_matches(&self, phrase: &str) -> bool {
        record_has_phrase(self, phrase)
    }

    fn column_str(&self, name: &str) -> Option<&str> {
        match name {
            "level" => Some(self.level().as_str()),
            "severity_text" => Some(&self.severity_text),
            "service" => Some(&self.service),
            "message" => Some(&self.body),
            "scope" => Some(&self.scope.name),
            _ => None,
        }
    }

    fn attribute_str(&self, key: &str) -> Option<&str> {
        attr_str(&self.attributes, key)
    }

    fn resource_str(&self, key: &str) -> Option<&str> {
        attr_str(&self.resource, key)
    }
}

impl Record for Span {
    fn column(&self, name: &str) -> Value {
        match name {
            "timestamp" => Value::Timestamp(self.start_time.0),
            "end_time" => Value::Timestamp(self.end_time.0),
            "duration" => Value::Duration(self.duration_nanos()),
            "trace_id" => Value::String(self.trace_id.to_hex()),
            "span_id" => Value::String(self.span_id.to_hex()),
            "parent_span_id" => self.parent_span_id.map(|s| s.to_hex()).into(),
            "service" => Value::String(self.service.clone()),
            "name" => Value::String(self.name.clone()),
            "kind" => Value::String(self.kind.as_str().to_string()),
            "status" => Value::String(self.status.code.as_str().to_string()),
            "status_message" => Value::String(self.status.message.clone()),
            "scope" => Value::String(self.scope.name.clone()),
            "trace_state" => Value::String(self.trace_state.clone()),
            "is_root" => Value::Bool(self.is_root()),
            "attributes" => attr_map(&self.attributes),
            "resource" => attr_map(&self.resource),
            _ => Value::Null,
        }
    }

    fn attribute(&self, key: &str) -> Value {
        attr(&self.attributes, key)
    }

    fn resource(&self, key: &str) -> Value {
        attr(&self.resource, key)
    }

    fn text_matches(&self, phrase: &str) -> bool {
        has_phrase(&self.name, phrase)
            || has_phrase(&self.status.message, phrase)
            || attributes_have_phrase([&self.attributes, &self.resource], phrase)
    }

    fn column_str(&self, name: &str) -> Option<&str> {
        match name {
            "service" => Some(&self.service),
            "name" => Some(&self.name),
            "kind" => Some(self.kind.as_str()),
            "status" => Some(self.status.code.as_str()),
            "status_message" => Some(&self.status.message),
            "scope" => Some(&self.scope.name),
            "trace_state" => Some(&self.trace_state),
            _ => None,
        }
    }

    fn attribute_str(&self, key: &str) -> Option<&str> {
        attr_str(&self.attributes, key)
    }

    fn resource_str(&self, key: &str) -> Option<&str> {
        attr_str(&self.resource, key)
    }
}

/// The indexed fields of a span: answers the span columns a store's span index holds
/// (`NULL` for the others, which queries reading them never get this type for).
impl Record for SpanRow {
    fn column(&self, name: &str) -> Value {
        match name {
            "timestamp" => Value::Timestamp(self.start_time.0),
            "end_time" => Value::Timestamp(self.end_time.0),
            "duration" => Value::Duration(self.duration_nanos()),
            "trace_id" => Value::String(self.trace_id.to_hex()),
            "span_id" => Value::String(self.span_id.to_hex()),
            "parent_span_id" => self.parent_span_id.map(|s| s.to_hex()).into(),
            "service" => Value::String(self.service.to_string()),
            "name" => Value::String(self.name.to_string()),
            "kind" => Value::String(self.kind.as_str().to_string()),
            "status" => Value::String(self.status.as_str().to_string()),
            "is_root" => Value::Bool(self.parent_span_id.is_none()),
            _ => Value::Null,
        }
    }

    fn attribute(&self, _key: &str) -> Value {
        Value::Null
    }

    fn resource(&self, _key: &str) -> Value {
        Value::Null
    }

    fn text_matches(&self, _phrase: &str) -> bool {
        false
    }

    fn column_str(&self, name: &str) -> Option<&str> {
        match name {
            "service" => Some(&self.service),
            "name" => Some(&self.name),
            "kind" => Some(self.kind.as_str()),
            "status" => Some(self.status.as_str()),
            _ => None,
        }
    }
}

/// One point of a metric series, as a row of the `metrics` source.
#[derive(Debug, Clone, Copy)]
pub struct MetricRow<'a> {
    /// The series (name, labels, kind, unit).
    pub series: &'a Series,
    /// The point.
    pub point: &'a Point,
}

impl<'a> MetricRow<'a> {
    /// The row of `point` in `series`.
    pub fn new(series: &'a Series, point: &'a Point) -> Self {
        MetricRow { series, point }
    }
}

fn label(labels: &Labels, key: &str) -> Value {
    labels
        .get(key)
        .map_or(Value::Null, |v| Value::String(v.clone()))
}

impl Record for MetricRow<'_> {
    fn column(&self, name: &str) -> Value {
        match name {
            "timestamp" => Value::Timestamp(self.point.timestamp.0),
            "name" => Value::String(self.series.name.clone()),
            "value" => Value::Float(self.point.value.scalar()),
            "service" => label(&self.series.labels, "service.name"),
            "kind" => Value::String(self.series.kind.as_str().to_string()),
            "unit" => Value::String(self.series.unit.clone()),
            "count" => match &self.point.value {
                MetricValue::Number(_) => Value::Null,
                MetricValue::Histogram(h) => Value::Int(saturating_i64(h.count)),
                MetricValue::Summary(s) => Value::Int(saturating_i64(s.count)),
                MetricValue::ExponentialHistogram(h) => Value::Int(saturating_i64(h.count)),
            },
            "start_timestamp" => time_or_null(self.point.start_timestamp),
            "attributes" | "resource" | "labels" => Value::Map(
                self.series
                    .labels
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect(),
            ),
            _ => Value::Null,
        }
    }

    fn attribute(&self, key: &str) -> Value {
        label(&self.series.labels, key)
    }

    fn resource(&self, key: &str) -> Value {
        label(&self.series.labels, key)
    }

    fn text_matches(&self, phrase: &str) -> bool {
        has_phrase(&self.series.name, phrase)
    }

    fn column_str(&self, name: &str) -> Option<&str> {
        match name {
            "name" => Some(&self.series.name),
            "service" => self.series.labels.get("service.name").map(String::as_str),
            "kind" => Some(self.series.kind.as_str()),
            "unit" => Some(&self.series.unit),
            _ => None,
        }
    }

    fn attribute_str(&self, key: &str) -> Option<&str> {
        self.series.labels.get(key).map(String::as_str)
    }

    fn resource_str(&self, key: &str) -> Option<&str> {
        self.series.labels.get(key).map(String::as_str)
    }

    fn series_identity(&self) -> Option<(&str, &Labels)> {
        Some((&self.series.name, &self.series.labels))
    }
}

fn saturating_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::Source;
    use crate::schema::{Type, columns};
    use heimsight_core::{
        AttributeValue, HistogramValue, Level, MetricPoint, Scope, SpanId, SpanKind, Status,
        StatusCode, Timestamp, TraceId,
    };

    fn attrs(pairs: &[(&str, AttributeValue)]) -> Attributes {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    fn full_log() -> LogRecord {
        LogRecord {
            observed_timestamp: Timestamp(5),
            severity_text: "WARN".into(),
            service: "api".into(),
            attributes: attrs(&[("http.method", "GET".into()), ("n", 3i64.into())]),
            resource: attrs(&[("host.name", "h1".into())]).into(),
            scope: Scope {
                name: "lib".into(),
                ..Scope::default()
            }
            .into(),
            trace_id: Some(TraceId([1; 16])),
            span_id: Some(SpanId([2; 8])),
            flags: 1,
            ..LogRecord::new(Timestamp(10), Level::Warn, "connection refused")
        }
    }

    fn full_span() -> Span {
        Span {
            trace_id: TraceId([1; 16]),
            span_id: SpanId([2; 8]),
            parent_span_id: Some(SpanId([3; 8])),
            name: "GET /users".into(),
            kind: SpanKind::Server,
            service: "api".into(),
            start_time: Timestamp(100),
            end_time: Timestamp(350),
            status: Status {
                code: StatusCode::Error,
                message: "db timeout".into(),
            },
            attributes: attrs(&[("http.status_code", 500i64.into())]),
            resource: attrs(&[("host.name", "h1".into())]).into(),
            scope: Scope {
                name: "lib".into(),
                ..Scope::default()
            }
            .into(),
            events: Vec::new(),
            links: Vec::new(),
            trace_state: "k=v".into(),
            flags: 0,
            dropped_attributes_count: 0,
            dropped_events_count: 0,
            dropped_links_count: 0,
        }
    }

    fn full_metric() -> (Series, Point) {
        let mut p = MetricPoint::gauge(
            "latency",
            [("service.name".to_string(), "api".to_string())].into(),
            Timestamp(1_000),
            0.0,
        );
        p.kind = heimsight_core::MetricKind::Histogram;
        p.unit = "ms".into();
        p.start_timestamp = Timestamp(500);
        p.value = MetricValue::Histogram(HistogramValue {
            bounds: vec![1.0],
            counts: vec![2, 1],
            sum: Some(4.5),
            count: 3,
            min: None,
            max: None,
        });
        (Series::of(&p), Point::of(&p))
    }

    fn check_all_columns(source: Source, r: &dyn Record) {
        for c in columns(source) {
            let v = r.column(c.name);
            assert!(!v.is_null(), "{source}.{} is NULL", c.name);
            assert_eq!(v.type_of(), c.ty, "{source}.{}", c.name);
            if let Some(s) = r.column_str(c.name) {
                assert_eq!(Some(s), v.as_str(), "{source}.{}", c.name);
            }
        }
        assert!(r.column("no_such_column").is_null());
    }

    #[test]
    fn every_column_is_answered() {
        check_all_columns(Source::Logs, &full_log());
        check_all_columns(Source::Spans, &full_span());
        let (s, p) = full_metric();
        check_all_columns(Source::Metrics, &MetricRow::new(&s, &p));
    }

    #[test]
    fn log_columns() {
        let r = full_log();
        assert_eq!(r.column("level"), Value::from("warn"));
        assert_eq!(
            r.column("trace_id"),
            Value::from("01010101010101010101010101010101")
        );
        assert_eq!(r.attribute("n"), Value::Int(3));
        assert_eq!(r.resource("host.name"), Value::from("h1"));
        assert!(r.attribute("missing").is_null());
        let bare = LogRecord::new(Timestamp(1), Level::Info, "x");
        assert!(bare.column("trace_id").is_null());
        assert!(bare.column("observed_timestamp").is_null());
        assert!(r.text_matches("Connection refused"));
        assert!(!r.text_matches("refused connection"));
        assert_eq!(r.column("attributes").type_of(), Type::Map);
    }

    #[test]
    fn span_and_metric_columns() {
        let s = full_span();
        assert_eq!(s.column("duration"), Value::Duration(250));
        assert_eq!(s.column("is_root"), Value::Bool(false));
        assert!(s.text_matches("timeout") && s.text_matches("users"));
        let (series, point) = full_metric();
        let m = MetricRow::new(&series, &point);
        assert_eq!(m.column("value"), Value::Float(4.5));
        assert_eq!(m.column("count"), Value::Int(3));
        assert_eq!(m.column("service"), Value::from("api"));
        assert_eq!(m.resource("service.name"), Value::from("api"));
        assert_eq!(m.attribute("service.name"), Value::from("api"));
        assert!(m.series_identity().is_some());
    }
}
