//! Spans: one operation of a trace.

use serde_json::{Map, Value};

use crate::attr::{Attributes, SharedAttributes, attributes_from_json, attributes_to_json};
use crate::error::ValidationErrors;
use crate::ids::{SpanId, TraceId};
use crate::json::{FieldReader, join, type_name};
use crate::log::Reading;
use crate::log::{Scope, service_name};
use crate::time::Timestamp;

/// What a span represents, as in OTLP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SpanKind {
    /// Not given.
    #[default]
    Unspecified = 0,
    /// An internal operation.
    Internal = 1,
    /// The server side of a request.
    Server = 2,
    /// The client side of a request.
    Client = 3,
    /// Sending a message.
    Producer = 4,
    /// Receiving a message.
    Consumer = 5,
}

impl SpanKind {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            SpanKind::Unspecified => "unspecified",
            SpanKind::Internal => "internal",
            SpanKind::Server => "server",
            SpanKind::Client => "client",
            SpanKind::Producer => "producer",
            SpanKind::Consumer => "consumer",
        }
    }

    /// From OTLP's enum number; unknown numbers give `None`.
    pub fn from_number(n: u64) -> Option<SpanKind> {
        Some(match n {
            0 => SpanKind::Unspecified,
            1 => SpanKind::Internal,
            2 => SpanKind::Server,
            3 => SpanKind::Client,
            4 => SpanKind::Producer,
            5 => SpanKind::Consumer,
            _ => return None,
        })
    }

    fn parse(s: &str) -> Option<SpanKind> {
        let l = s.to_ascii_lowercase();
        let l = l.strip_prefix("span_kind_").unwrap_or(&l);
        [
            SpanKind::Unspecified,
            SpanKind::Internal,
            SpanKind::Server,
            SpanKind::Client,
            SpanKind::Producer,
            SpanKind::Consumer,
        ]
        .into_iter()
        .find(|k| k.as_str() == l)
    }
}

/// A span's status code, as in OTLP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum StatusCode {
    /// Not set.
    #[default]
    Unset = 0,
    /// Completed successfully.
    Ok = 1,
    /// Failed.
    Error = 2,
}

impl StatusCode {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusCode::Unset => "unset",
            StatusCode::Ok => "ok",
            StatusCode::Error => "error",
        }
    }

    /// From OTLP's enum number.
    pub fn from_number(n: u64) -> Option<StatusCode> {
        match n {
            0 => Some(StatusCode::Unset),
            1 => Some(StatusCode::Ok),
            2 => Some(StatusCode::Error),
            _ => None,
        }
    }

    fn parse(s: &str) -> Option<StatusCode> {
        let l = s.to_ascii_lowercase();
        match l.strip_prefix("status_code_").unwrap_or(&l) {
            "unset" => Some(StatusCode::Unset),
            "ok" => Some(StatusCode::Ok),
            "error" => Some(StatusCode::Error),
            _ => None,
        }
    }
}

/// A span's status.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Status {
    /// The code.
    pub code: StatusCode,
    /// A description, usually set on errors.
    pub message: String,
}

/// A timestamped event inside a span.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanEvent {
    /// When it happened.
    pub timestamp: Timestamp,
    /// Event name (e.g. `exception`).
    pub name: String,
    /// Event attributes.
    pub attributes: Attributes,
    /// Attributes dropped by the producer.
    pub dropped_attributes_count: u32,
}

/// A link from a span to another span, possibly in another trace.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanLink {
    /// The linked trace.
    pub trace_id: TraceId,
    /// The linked span.
    pub span_id: SpanId,
    /// W3C trace state of the link.
    pub trace_state: String,
    /// Link attributes.
    pub attributes: Attributes,
    /// Attributes dropped by the producer.
    pub dropped_attributes_count: u32,
    /// W3C trace flags.
    pub flags: u32,
}

/// One span.
///
/// JSON shape: `{trace_id, span_id, parent_span_id, name, service, kind, start_time, end_time,
/// status, attributes, events, links}` plus the optional `resource`, `scope`, `trace_state`,
/// `flags` and dropped counts. Responses add `duration_ns`.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    /// The trace.
    pub trace_id: TraceId,
    /// This span.
    pub span_id: SpanId,
    /// The parent span; `None` for a root.
    pub parent_span_id: Option<SpanId>,
    /// Operation name.
    pub name: String,
    /// What the span represents.
    pub kind: SpanKind,
    /// Emitting service (resource `service.name`).
    pub service: String,
    /// Start time.
    pub start_time: Timestamp,
    /// End time (not before the start).
    pub end_time: Timestamp,
    /// Outcome.
    pub status: Status,
    /// Span attributes.
    pub attributes: Attributes,
    /// Resource attributes (shared by the records of one resource).
    pub resource: SharedAttributes,
    /// Instrumentation scope (shared by the records of one scope).
    pub scope: std::sync::Arc<Scope>,
    /// Events.
    pub events: Vec<SpanEvent>,
    /// Links.
    pub links: Vec<SpanLink>,
    /// W3C trace state.
    pub trace_state: String,
    /// W3C trace flags.
    pub flags: u32,
    /// Attributes dropped by the producer.
    pub dropped_attributes_count: u32,
    /// Events dropped by the producer.
    pub dropped_events_count: u32,
    /// Links dropped by the producer.
    pub dropped_links_count: u32,
}

const SPAN_FIELDS: &[&str] = &[
    "trace_id",
    "span_id",
    "parent_span_id",
    "name",
    "service",
    "kind",
    "start_time",
    "end_time",
    "duration_ns",
    "status",
    "attributes",
    "resource",
    "scope",
    "events",
    "links",
    "trace_state",
    "flags",
    "dropped_attributes_count",
    "dropped_events_count",
    "dropped_links_count",
];

impl Span {
    /// A span with these ids, name, service and times, and everything else empty: no parent,
    /// kind unspecified, status unset, no attributes, events or links.
    ///
    /// ```
    /// use heimsight_core::{Span, SpanId, Timestamp, TraceId};
    ///
    /// let s = Span::new(TraceId([1; 16]), SpanId([2; 8]), "GET /", "api", Timestamp(10), Timestamp(25));
    /// assert_eq!(s.duration_nanos(), 15);
    /// assert!(s.is_root());
    /// ```
    pub fn new(
        trace_id: TraceId,
        span_id: SpanId,
        name: impl Into<String>,
        service: impl Into<String>,
        start_time: Timestamp,
        end_time: Timestamp,
    ) -> Span {
        Span {
            trace_id,
            span_id,
            parent_span_id: None,
            name: name.into(),
            kind: SpanKind::default(),
            service: service.into(),
            start_time,
            end_time,
            status: Status::default(),
            attributes: Attributes::new(),
            resource: SharedAttributes::default(),
            scope: std::sync::Arc::default(),
            events: Vec::new(),
            links: Vec::new(),
            trace_state: String::new(),
            flags: 0,
            dropped_attributes_count: 0,
            dropped_events_count: 0,
            dropped_links_count: 0,
        }
    }

    /// Duration in nanoseconds.
    pub fn duration_nanos(&self) -> i64 {
        self.end_time.0.saturating_sub(self.start_time.0)
    }

    /// True for a span with no parent.
    pub fn is_root(&self) -> bool {
        self.parent_span_id.is_none()
    }

    /// Checks the span, reporting every problem with its field path.
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::new();
        self.validate_into(&mut e);
        if e.is_empty() { Ok(()) } else { Err(e) }
    }

    fn validate_into(&self, e: &mut ValidationErrors) {
        if self.name.trim().is_empty() {
            e.push("name", "must not be empty");
        }
        if !self.start_time.in_record_range() {
            e.push("start_time", "out of range (1970-01-01 to 2200-01-01)");
        }
        if !self.end_time.in_record_range() {
            e.push("end_time", "out of range (1970-01-01 to 2200-01-01)");
        }
        if self.end_time < self.start_time {
            e.push("end_time", "is before start_time");
        }
        if self.parent_span_id == Some(self.span_id) {
            e.push("parent_span_id", "a span cannot be its own parent");
        }
        for (i, ev) in self.events.iter().enumerate() {
            if ev.name.is_empty() {
                e.push(format!("events[{i}].name"), "must not be empty");
            }
            if !ev.timestamp.in_record_range() {
                e.push(format!("events[{i}].timestamp"), "out of range");
            }
        }
    }

    /// Converts to the REST API's JSON shape.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("trace_id".into(), Value::String(self.trace_id.to_hex()));
        m.insert("span_id".into(), Value::String(self.span_id.to_hex()));
        m.insert(
            "parent_span_id".into(),
            self.parent_span_id
                .map(|p| Value::String(p.to_hex()))
                .unwrap_or(Value::Null),
        );
        m.insert("name".into(), Value::String(self.name.clone()));
        m.insert("service".into(), Value::String(self.service.clone()));
        m.insert("kind".into(), Value::String(self.kind.as_str().into()));
        m.insert(
            "start_time".into(),
            Value::String(self.start_time.to_rfc3339()),
        );
        m.insert("end_time".into(), Value::String(self.end_time.to_rfc3339()));
        m.insert("duration_ns".into(), Value::from(self.duration_nanos()));
        let mut st = Map::new();
        st.insert(
            "code".into(),
            Value::String(self.status.code.as_str().into()),
        );
        if !self.status.message.is_empty() {
            st.insert("message".into(), Value::String(self.status.message.clone()));
        }
        m.insert("status".into(), Value::Object(st));
        m.insert("attributes".into(), attributes_to_json(&self.attributes));
        m.insert("resource".into(), attributes_to_json(&self.resource));
        if !self.scope.is_empty() {
            m.insert("scope".into(), self.scope.to_json());
        }
        m.insert(
            "events".into(),
            Value::Array(
                self.events
                    .iter()
                    .map(|e| {
                        let mut o = Map::new();
                        o.insert("timestamp".into(), Value::String(e.timestamp.to_rfc3339()));
                        o.insert("name".into(), Value::String(e.name.clone()));
                        o.insert("attributes".into(), attributes_to_json(&e.attributes));
                        if e.dropped_attributes_count != 0 {
                            o.insert(
                                "dropped_attributes_count".into(),
                                Value::from(e.dropped_attributes_count),
                            );
                        }
                        Value::Object(o)
                    })
                    .collect(),
            ),
        );
        m.insert(
            "links".into(),
            Value::Array(
                self.links
                    .iter()
                    .map(|l| {
                        let mut o = Map::new();
                        o.insert("trace_id".into(), Value::String(l.trace_id.to_hex()));
                        o.insert("span_id".into(), Value::String(l.span_id.to_hex()));
                        if !l.trace_state.is_empty() {
                            o.insert("trace_state".into(), Value::String(l.trace_state.clone()));
                        }
                        o.insert("attributes".into(), attributes_to_json(&l.attributes));
                        if l.dropped_attributes_count != 0 {
                            o.insert(
                                "dropped_attributes_count".into(),
                                Value::from(l.dropped_attributes_count),
                            );
                        }
                        if l.flags != 0 {
                            o.insert("flags".into(), Value::from(l.flags));
                        }
                        Value::Object(o)
                    })
                    .collect(),
            ),
        );
        if !self.trace_state.is_empty() {
            m.insert(
                "trace_state".into(),
                Value::String(self.trace_state.clone()),
            );
        }
        for (k, v) in [
            ("flags", self.flags),
            ("dropped_attributes_count", self.dropped_attributes_count),
            ("dropped_events_count", self.dropped_events_count),
            ("dropped_links_count", self.dropped_links_count),
        ] {
            if v != 0 {
                m.insert(k.into(), Value::from(v));
            }
        }
        Value::Object(m)
    }

    /// Reads a span from JSON and validates it, reporting every problem with its field path.
    ///
    /// `kind` accepts names (`server`, `SPAN_KIND_SERVER`) or OTLP numbers; `status` is an
    /// object `{code, message}` or just the code; `end_time` may be replaced by `duration_ns`.
    pub fn from_json(v: &Value) -> Result<Span, ValidationErrors> {
        Span::read(v, Reading::Strict)
    }

    /// Reads a span as a server wrote it ([`Span::to_json`], the API's answers): the fields as
    /// they are, for clients. Nothing is validated (a stored span may have an empty name or
    /// events without names), and fields this version does not know are ignored, so that a
    /// newer server's answers still read. Only wrong types and missing ids or times are
    /// problems. This is what `Deserialize` does; ingestion uses [`Span::from_json`].
    pub fn read_back(v: &Value) -> Result<Span, ValidationErrors> {
        Span::read(v, Reading::AsWritten)
    }

    fn read(v: &Value, how: Reading) -> Result<Span, ValidationErrors> {
        let strict = how == Reading::Strict;
        let mut errors = ValidationErrors::new();
        let Some(mut r) = FieldReader::new(v, "", &mut errors, "a span") else {
            return Err(errors);
        };
        let trace_id = read_id::<TraceId>(&mut r, "trace_id", true);
        let span_id = read_id::<SpanId>(&mut r, "span_id", true);
        let parent_span_id = read_id::<SpanId>(&mut r, "parent_span_id", false);
        let name = r.opt_str(&["name"]).unwrap_or_default();
        if strict && !r.has_key("name") {
            r.err("name", "missing");
        }
        let service = r.opt_str(&["service"]);
        let kind = match r.get(&["kind"]) {
            None => SpanKind::Unspecified,
            Some((Value::String(s), _)) => SpanKind::parse(s).unwrap_or_else(|| {
                r.err(
                    "kind",
                    format!("unknown kind {s:?}; expected internal, server, client, producer or consumer"),
                );
                SpanKind::Unspecified
            }),
            Some((Value::Number(n), _)) => n
                .as_u64()
                .and_then(SpanKind::from_number)
                .unwrap_or_else(|| {
                    r.err("kind", format!("unknown kind number {n}; expected 0-5"));
                    SpanKind::Unspecified
                }),
            Some((other, _)) => {
                let msg = format!("expected a string, found {}", type_name(other));
                r.err("kind", msg);
                SpanKind::Unspecified
            }
        };
        let start_time = read_time(&mut r, "start_time", true);
        let end_time = match r.get(&["end_time"]) {
            Some(_) => read_time(&mut r, "end_time", true),
            None => match r.opt_u64(&["duration_ns"]) {
                Some(d) => Some(Timestamp(
                    start_time
                        .unwrap_or_default()
                        .0
                        .saturating_add(i64::try_from(d).unwrap_or(i64::MAX)),
                )),
                None => {
                    r.err("end_time", "missing (give end_time or duration_ns)");
                    None
                }
            },
        };
        let status = match r.get(&["status"]) {
            None => Status::default(),
            Some((sv, _)) => read_status(sv, &mut r),
        };
        let trace_state = r.opt_str(&["trace_state"]).unwrap_or_default();
        let flags = r.opt_u64(&["flags"]).unwrap_or(0);
        let dac = r.opt_u64(&["dropped_attributes_count"]).unwrap_or(0);
        let dec = r.opt_u64(&["dropped_events_count"]).unwrap_or(0);
        let dlc = r.opt_u64(&["dropped_links_count"]).unwrap_or(0);
        let attrs = r.get(&["attributes"]).map(|(v, _)| v);
        let res = r.get(&["resource"]).map(|(v, _)| v);
        let scope = r.get(&["scope"]).map(|(v, _)| v);
        let events = r.get(&["events"]).map(|(v, _)| v);
        let links = r.get(&["links"]).map(|(v, _)| v);
        if strict {
            r.deny_unknown(SPAN_FIELDS);
        }
        let attributes = attrs
            .map(|a| attributes_from_json(a, "attributes", &mut errors))
            .unwrap_or_default();
        let resource = res
            .map(|a| attributes_from_json(a, "resource", &mut errors))
            .unwrap_or_default();
        let scope = scope
            .map(|s| Scope::from_json(s, "scope", &mut errors))
            .unwrap_or_default();
        let events = events
            .map(|e| read_events(e, &mut errors, strict))
            .unwrap_or_default();
        let links = links
            .map(|l| read_links(l, &mut errors, strict))
            .unwrap_or_default();
        let (Some(trace_id), Some(span_id), Some(start_time), Some(end_time)) =
            (trace_id, span_id, start_time, end_time)
        else {
            return Err(errors);
        };
        let span = Span {
            trace_id,
            span_id,
            parent_span_id,
            name,
            kind,
            service: service_name(service, &resource),
            start_time,
            end_time,
            status,
            attributes,
            resource: resource.into(),
            scope: scope.into(),
            events,
            links,
            trace_state,
            flags: clamp_u32(flags),
            dropped_attributes_count: clamp_u32(dac),
            dropped_events_count: clamp_u32(dec),
            dropped_links_count: clamp_u32(dlc),
        };
        if strict {
            span.validate_into(&mut errors);
        }
        let mut seen = std::collections::HashSet::new();
        errors.0.retain(|e| seen.insert(e.field.clone()));
        if errors.is_empty() {
            Ok(span)
        } else {
            Err(errors)
        }
    }
}

fn clamp_u32(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

fn read_id<T: std::str::FromStr<Err = String>>(
    r: &mut FieldReader<'_, '_>,
    field: &str,
    required: bool,
) -> Option<T> {
    match r.get(&[field]) {
        Some((Value::String(s), _)) if !required && s.is_empty() => None,
        Some((Value::String(s), _)) => match s.parse::<T>() {
            Ok(id) => Some(id),
            Err(e) => {
                r.err(field, e);
                None
            }
        },
        Some((other, _)) => {
            let msg = format!("expected a hex string, found {}", type_name(other));
            r.err(field, msg);
            None
        }
        None => {
            if required {
                r.err(field, "missing");
            }
            None
        }
    }
}

fn read_time(r: &mut FieldReader<'_, '_>, field: &str, required: bool) -> Option<Timestamp> {
    match r.get(&[field]) {
        Some((v, _)) => match Timestamp::from_json(v) {
            Ok(t) => Some(t),
            Err(e) => {
                r.err(field, e);
                None
            }
        },
        None => {
            if required {
                r.err(field, "missing");
            }
            None
        }
    }
}

fn read_status(v: &Value, r: &mut FieldReader<'_, '_>) -> Status {
    let code_of = |c: &Value| -> Option<StatusCode> {
        match c {
            Value::String(s) => StatusCode::parse(s),
            Value::Number(n) => n.as_u64().and_then(StatusCode::from_number),
            _ => None,
        }
    };
    match v {
        Value::Object(o) => {
            let code = match o.get("code") {
                None | Some(Value::Null) => Some(StatusCode::Unset),
                Some(c) => code_of(c),
            };
            let message = match o.get("message") {
                Some(Value::String(s)) => s.clone(),
                _ => String::new(),
            };
            if code.is_none() {
                r.err("status.code", "expected unset, ok or error");
            }
            Status {
                code: code.unwrap_or_default(),
                message,
            }
        }
        other => match code_of(other) {
            Some(code) => Status {
                code,
                message: String::new(),
            },
            None => {
                r.err(
                    "status",
                    "expected {\"code\": \"ok\"|\"error\"|\"unset\", \"message\": ...}",
                );
                Status::default()
            }
        },
    }
}

fn read_events(v: &Value, errors: &mut ValidationErrors, strict: bool) -> Vec<SpanEvent> {
    let Value::Array(items) = v else {
        errors.push(
            "events",
            format!("expected an array, found {}", type_name(v)),
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("events[{i}]");
        let Some(mut r) = FieldReader::new(item, &path, errors, "an event") else {
            continue;
        };
        let name = r.opt_str(&["name"]).unwrap_or_default();
        let ts = read_time(&mut r, "timestamp", true);
        let dac = r.opt_u64(&["dropped_attributes_count"]).unwrap_or(0);
        let attrs = r.get(&["attributes"]).map(|(v, _)| v);
        if strict {
            r.deny_unknown(&[
                "name",
                "timestamp",
                "attributes",
                "dropped_attributes_count",
            ]);
        }
        let attributes = attrs
            .map(|a| attributes_from_json(a, &join(&path, "attributes"), errors))
            .unwrap_or_default();
        if let Some(timestamp) = ts {
            out.push(SpanEvent {
                timestamp,
                name,
                attributes,
                dropped_attributes_count: clamp_u32(dac),
            });
        }
    }
    out
}

fn read_links(v: &Value, errors: &mut ValidationErrors, strict: bool) -> Vec<SpanLink> {
    let Value::Array(items) = v else {
        errors.push(
            "links",
            format!("expected an array, found {}", type_name(v)),
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("links[{i}]");
        let Some(mut r) = FieldReader::new(item, &path, errors, "a link") else {
            continue;
        };
        let trace_id = read_id::<TraceId>(&mut r, "trace_id", true);
        let span_id = read_id::<SpanId>(&mut r, "span_id", true);
        let trace_state = r.opt_str(&["trace_state"]).unwrap_or_default();
        let dac = r.opt_u64(&["dropped_attributes_count"]).unwrap_or(0);
        let flags = r.opt_u64(&["flags"]).unwrap_or(0);
        let attrs = r.get(&["attributes"]).map(|(v, _)| v);
        if strict {
            r.deny_unknown(&[
                "trace_id",
                "span_id",
                "trace_state",
                "attributes",
                "dropped_attributes_count",
                "flags",
            ]);
        }
        let attributes = attrs
            .map(|a| attributes_from_json(a, &join(&path, "attributes"), errors))
            .unwrap_or_default();
        if let (Some(trace_id), Some(span_id)) = (trace_id, span_id) {
            out.push(SpanLink {
                trace_id,
                span_id,
                trace_state,
                attributes,
                dropped_attributes_count: clamp_u32(dac),
                flags: clamp_u32(flags),
            });
        }
    }
    out
}

impl serde::Serialize for Span {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

/// Reads a span as written ([`Span::read_back`]): for clients of the API.
impl<'de> serde::Deserialize<'de> for Span {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        Span::read_back(&v).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {

    /// What a server stores and shows, a client reads back unchanged: an OTLP span with an
    /// empty name and an event without one, and a field of a newer server.
    #[test]
    fn spans_read_back_as_written() {
        let mut span = Span::from_json(&sample()).unwrap();
        span.name = String::new();
        span.events.push(SpanEvent {
            timestamp: span.start_time,
            name: String::new(),
            attributes: Default::default(),
            dropped_attributes_count: 0,
        });
        let mut json = span.to_json();
        assert!(
            Span::from_json(&json).is_err(),
            "ingestion refuses empty names"
        );
        assert_eq!(Span::read_back(&json).unwrap(), span);
        json["added_later"] = json!(1);
        let back: Span = serde_json::from_value(json).unwrap();
        assert_eq!(back, span);
    }
    use super::*;
    use serde_json::json;

    fn sample() -> Value {
        json!({
            "trace_id": "5b8efff798038103d269b633813fc60c",
            "span_id": "eee19b7ec3c1b174",
            "parent_span_id": "eee19b7ec3c1b173",
            "name": "GET /users",
            "service": "api",
            "kind": "server",
            "start_time": "2026-01-02T03:04:05Z",
            "end_time": "2026-01-02T03:04:05.250Z",
            "status": {"code": "error", "message": "boom"},
            "attributes": {"http.method": "GET"},
            "events": [{"name": "exception", "timestamp": "2026-01-02T03:04:05.1Z", "attributes": {"exception.type": "IOError"}}],
            "links": [{"trace_id": "5b8efff798038103d269b633813fc60d", "span_id": "eee19b7ec3c1b175"}]
        })
    }

    #[test]
    fn round_trips() {
        let s = Span::from_json(&sample()).unwrap();
        assert_eq!(s.duration_nanos(), 250_000_000);
        assert_eq!(s.kind, SpanKind::Server);
        assert_eq!(s.status.code, StatusCode::Error);
        assert_eq!(Span::from_json(&s.to_json()).unwrap(), s);
    }

    #[test]
    fn reports_all_problems() {
        let mut v = sample();
        v["trace_id"] = json!("abc");
        v["end_time"] = json!("2026-01-02T03:04:04Z");
        v["kind"] = json!(9);
        v["events"][0]["timestamp"] = json!(true);
        let errs = Span::from_json(&v).unwrap_err();
        let fields: Vec<_> = errs.errors().iter().map(|e| e.field.as_str()).collect();
        for f in ["trace_id", "kind", "events[0].timestamp"] {
            assert!(fields.contains(&f), "missing {f} in {errs}");
        }
        let mut v = sample();
        v["end_time"] = json!("2026-01-02T03:04:04Z");
        let errs = Span::from_json(&v).unwrap_err();
        assert_eq!(errs.errors()[0].field, "end_time");
    }
}
