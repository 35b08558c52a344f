//! OpenAPI schemas (utoipa's `ToSchema`, feature `openapi`) of the types whose JSON is written
//! by hand rather than derived: times, durations, ids, Prometheus-style floats, label matcher
//! operators, dashboard panels and rule specifications. The derived shapes of [`api`](crate::api)
//! refer to these.

use serde_json::{Value, json};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{Object, Schema};

/// A schema written as JSON Schema.
fn from_json(v: Value) -> RefOr<Schema> {
    serde_json::from_value(v).unwrap_or_else(|_| RefOr::T(Schema::Object(Object::new())))
}

macro_rules! schema {
    ($ty:ty, $json:expr) => {
        impl utoipa::PartialSchema for $ty {
            fn schema() -> RefOr<Schema> {
                from_json($json)
            }
        }
        impl utoipa::ToSchema for $ty {}
    };
}

fn duration() -> Value {
    json!({
        "type": "string",
        "description": "A duration: a number and a unit (ns, us, ms, s, m, h, d, w), e.g. `30s`, `5m`, `1h30m`.",
        "examples": ["5m"]
    })
}

schema!(
    crate::Timestamp,
    json!({
        "type": "string",
        "format": "date-time",
        "description": "A time in RFC 3339 with nanoseconds, UTC (`2026-01-01T12:00:00.000000001Z`). Requests also take Unix nanoseconds and times relative to now (`now-15m`).",
    })
);
schema!(crate::Duration, duration());
schema!(
    crate::TraceId,
    json!({"type": "string", "pattern": "^[0-9a-f]{32}$", "description": "A trace id: 32 lowercase hex digits."})
);
schema!(
    crate::SpanId,
    json!({"type": "string", "pattern": "^[0-9a-f]{16}$", "description": "A span id: 16 lowercase hex digits."})
);
schema!(
    crate::MatchOp,
    json!({"type": "string", "enum": ["=", "!=", "=~", "!~"], "description": "How a label matcher compares, as Prometheus writes it."})
);
schema!(
    crate::api::Float,
    json!({
        "description": "A number, or `+Inf`, `-Inf` or `NaN` as text (as Prometheus writes them).",
        "oneOf": [{"type": "number"}, {"type": "string", "enum": ["+Inf", "-Inf", "NaN"]}]
    })
);
schema!(
    crate::api::TimeRef,
    json!({
        "type": "string",
        "description": "A time: `now`, `now-<duration>`, `now+<duration>` or RFC 3339.",
        "examples": ["now-1h"]
    })
);
schema!(
    crate::api::Panel,
    json!({
        "type": "object",
        "description": "A chart of a dashboard: a metric, label matches, an aggregation and a step.",
        "required": ["metric", "agg", "step"],
        "properties": {
            "metric": {"type": "string", "description": "Metric name."},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}, "description": "Labels the series must have."},
            "agg": {"type": "string", "enum": ["raw", "avg", "sum", "min", "max", "count"], "description": "How points are aggregated per step (`raw`: none)."},
            "step": {"type": "string", "description": "A duration such as `1m`, or `auto`."},
            "title": {"type": "string"}
        }
    })
);
schema!(
    crate::api::RuleSpec,
    json!({
        "type": "object",
        "description": "An alert rule's settings. `kind` decides which of the kind settings apply: `query` (threshold, anomaly, absence), `pattern`/`filter`/`group_by` (log_pattern), `filter`/`measure`/`group_by` (trace), `method`/`sensitivity`/`min_history`/`history`/`alpha`/`direction` (anomaly), `absent_for` (absence).",
        "required": ["name", "kind"],
        "properties": {
            "name": {"type": "string"},
            "description": {"type": "string"},
            "kind": {"type": "string", "enum": ["threshold", "log_pattern", "trace", "anomaly", "absence"]},
            "window": duration(),
            "interval": duration(),
            "for": duration(),
            "keep_firing_for": duration(),
            "severity": {"type": "string", "enum": ["info", "warning", "critical"]},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
            "channels": {"type": "array", "items": {"type": "string"}},
            "enabled": {"type": "boolean"},
            "condition": {
                "type": "object",
                "required": ["op", "threshold"],
                "properties": {
                    "op": {"type": "string", "enum": [">", ">=", "<", "<=", "==", "!="]},
                    "threshold": {"type": "number"}
                }
            },
            "query": {"type": "string", "description": "A query of the query language whose numbers are compared."},
            "pattern": {"type": ["string", "null"]},
            "filter": {"type": ["string", "null"]},
            "group_by": {"type": "array", "items": {"type": "string"}},
            "measure": {"type": "string", "description": "`p50`…`p99.9`, `avg`, `max`, `error_rate` or `count`."},
            "method": {"type": "string", "enum": ["zscore", "ewma"]},
            "sensitivity": {"type": "number"},
            "min_history": {"type": "integer", "minimum": 0},
            "history": {"type": "integer", "minimum": 0},
            "alpha": {"type": "number"},
            "direction": {"type": "string", "enum": ["above", "below", "both"]},
            "absent_for": duration()
        }
    })
);

fn time() -> Value {
    json!({"type": "string", "format": "date-time"})
}

fn attributes() -> Value {
    json!({"type": "object", "description": "Attributes; values keep their JSON types."})
}

fn scope() -> Value {
    json!({
        "type": "object",
        "description": "The instrumentation scope.",
        "properties": {"name": {"type": "string"}, "version": {"type": "string"}, "attributes": attributes()}
    })
}

schema!(
    crate::LogRecord,
    json!({
        "type": "object",
        "description": "A log record.",
        "required": ["timestamp", "level", "severity_number", "message", "service", "attributes", "resource"],
        "properties": {
            "timestamp": time(),
            "observed_timestamp": time(),
            "level": {"type": "string", "enum": ["unspecified", "trace", "debug", "info", "warn", "error", "fatal"]},
            "severity_number": {"type": "integer", "minimum": 0, "maximum": 24},
            "severity_text": {"type": "string"},
            "message": {"type": "string"},
            "service": {"type": "string"},
            "attributes": attributes(),
            "resource": attributes(),
            "scope": scope(),
            "trace_id": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
            "span_id": {"type": "string", "pattern": "^[0-9a-f]{16}$"},
            "flags": {"type": "integer", "minimum": 0},
            "dropped_attributes_count": {"type": "integer", "minimum": 0}
        }
    })
);

schema!(
    crate::Span,
    json!({
        "type": "object",
        "description": "A span.",
        "required": ["trace_id", "span_id", "parent_span_id", "name", "service", "kind", "start_time", "end_time", "duration_ns", "status", "attributes", "resource", "events", "links"],
        "properties": {
            "trace_id": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
            "span_id": {"type": "string", "pattern": "^[0-9a-f]{16}$"},
            "parent_span_id": {"type": ["string", "null"]},
            "name": {"type": "string"},
            "service": {"type": "string"},
            "kind": {"type": "string", "enum": ["unspecified", "internal", "server", "client", "producer", "consumer"]},
            "start_time": time(),
            "end_time": time(),
            "duration_ns": {"type": "integer"},
            "status": {
                "type": "object",
                "required": ["code"],
                "properties": {"code": {"type": "string", "enum": ["unset", "ok", "error"]}, "message": {"type": "string"}}
            },
            "attributes": attributes(),
            "resource": attributes(),
            "scope": scope(),
            "events": {"type": "array", "items": {
                "type": "object",
                "required": ["timestamp", "name", "attributes"],
                "properties": {"timestamp": time(), "name": {"type": "string"}, "attributes": attributes(), "dropped_attributes_count": {"type": "integer"}}
            }},
            "links": {"type": "array", "items": {
                "type": "object",
                "required": ["trace_id", "span_id", "attributes"],
                "properties": {"trace_id": {"type": "string"}, "span_id": {"type": "string"}, "trace_state": {"type": "string"}, "attributes": attributes(), "dropped_attributes_count": {"type": "integer"}, "flags": {"type": "integer"}}
            }},
            "trace_state": {"type": "string"},
            "flags": {"type": "integer"},
            "dropped_attributes_count": {"type": "integer"},
            "dropped_events_count": {"type": "integer"},
            "dropped_links_count": {"type": "integer"}
        }
    })
);

/// A span with its children (`children`: spans of the same shape, by start time).
impl<S> utoipa::PartialSchema for crate::api::SpanNode<S> {
    fn schema() -> RefOr<Schema> {
        from_json(json!({
            "allOf": [
                {"$ref": "#/components/schemas/Span"},
                {
                    "type": "object",
                    "required": ["children"],
                    "properties": {"children": {"type": "array", "items": {"$ref": "#/components/schemas/SpanNode"}}}
                }
            ]
        }))
    }
}

impl<S> utoipa::ToSchema for crate::api::SpanNode<S> {
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("SpanNode")
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((
            "Span".into(),
            <crate::Span as utoipa::PartialSchema>::schema(),
        ));
    }
}
