//! Log records.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use serde_json::{Map, Value};

use crate::attr::{Attributes, SharedAttributes, attributes_from_json, attributes_to_json};
use crate::error::ValidationErrors;
use crate::ids::{SpanId, TraceId};
use crate::json::FieldReader;
use crate::time::Timestamp;

/// The service name used when a record names none.
pub const UNKNOWN_SERVICE: &str = "unknown_service";

/// Severity levels, the coarse ranges of OTLP's severity number (1–24).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Severity number 0: not given.
    Unspecified = 0,
    /// Severity numbers 1–4.
    Trace = 1,
    /// Severity numbers 5–8.
    Debug = 5,
    /// Severity numbers 9–12.
    Info = 9,
    /// Severity numbers 13–16.
    Warn = 13,
    /// Severity numbers 17–20.
    Error = 17,
    /// Severity numbers 21–24.
    Fatal = 21,
}

impl Level {
    /// All levels, from least to most severe.
    pub const ALL: [Level; 7] = [
        Level::Unspecified,
        Level::Trace,
        Level::Debug,
        Level::Info,
        Level::Warn,
        Level::Error,
        Level::Fatal,
    ];

    /// The level of an OTLP severity number (0–24; larger values count as fatal).
    pub fn from_severity_number(n: u8) -> Level {
        match n {
            0 => Level::Unspecified,
            1..=4 => Level::Trace,
            5..=8 => Level::Debug,
            9..=12 => Level::Info,
            13..=16 => Level::Warn,
            17..=20 => Level::Error,
            _ => Level::Fatal,
        }
    }

    /// The lowest severity number of this level.
    pub fn severity_number(self) -> u8 {
        self as u8
    }

    /// The lower-case name (`info`, `error`, …; `unspecified` for none).
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Unspecified => "unspecified",
            Level::Trace => "trace",
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
            Level::Fatal => "fatal",
        }
    }

    /// A small dense index (0–6), handy for bitmasks.
    pub fn index(self) -> usize {
        match self {
            Level::Unspecified => 0,
            Level::Trace => 1,
            Level::Debug => 2,
            Level::Info => 3,
            Level::Warn => 4,
            Level::Error => 5,
            Level::Fatal => 6,
        }
    }
}

impl FromStr for Level {
    type Err = String;

    /// Parses a level name, case-insensitively, with common aliases
    /// (`warning`, `err`, `critical`, `information`, …).
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "trace" | "trc" | "verbose" => Level::Trace,
            "debug" | "dbg" => Level::Debug,
            "info" | "information" | "informational" | "notice" => Level::Info,
            "warn" | "warning" | "wrn" => Level::Warn,
            "error" | "err" | "eror" => Level::Error,
            "fatal" | "critical" | "crit" | "panic" | "emergency" | "emerg" | "alert" => {
                Level::Fatal
            }
            "unspecified" | "" => Level::Unspecified,
            other => {
                return Err(format!(
                    "unknown level {other:?}; expected one of trace, debug, info, warn, error, fatal"
                ));
            }
        })
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The instrumentation scope that produced a record or span.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scope {
    /// Scope (library) name.
    pub name: String,
    /// Scope version.
    pub version: String,
    /// Scope attributes.
    pub attributes: Attributes,
}

impl Scope {
    /// True when nothing is set.
    pub fn is_empty(&self) -> bool {
        self.name.is_empty() && self.version.is_empty() && self.attributes.is_empty()
    }

    /// The REST API's JSON shape: `{"name", "version"?, "attributes"?}`.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("name".into(), Value::String(self.name.clone()));
        if !self.version.is_empty() {
            m.insert("version".into(), Value::String(self.version.clone()));
        }
        if !self.attributes.is_empty() {
            m.insert("attributes".into(), attributes_to_json(&self.attributes));
        }
        Value::Object(m)
    }

    pub(crate) fn from_json(v: &Value, path: &str, errors: &mut ValidationErrors) -> Scope {
        let Some(mut r) = FieldReader::new(v, path, errors, "scope") else {
            return Scope::default();
        };
        let name = r.opt_str(&["name"]).unwrap_or_default();
        let version = r.opt_str(&["version"]).unwrap_or_default();
        let attrs = r.get(&["attributes"]).map(|(v, _)| v);
        let p = r.path("attributes");
        r.deny_unknown(&["name", "version", "attributes"]);
        let attributes = attrs
            .map(|a| attributes_from_json(a, &p, errors))
            .unwrap_or_default();
        Scope {
            name,
            version,
            attributes,
        }
    }
}

/// One log record.
///
/// JSON shape (the REST API's): `{timestamp, level, message, service, attributes, resource,
/// trace_id, span_id}` plus the optional `observed_timestamp`, `severity_number`,
/// `severity_text`, `scope`, `flags` and `dropped_attributes_count`.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRecord {
    /// When the event happened.
    pub timestamp: Timestamp,
    /// When the event was observed by the collection system (0 when unknown).
    pub observed_timestamp: Timestamp,
    /// OTLP severity number, 0 (unspecified) to 24.
    pub severity_number: u8,
    /// Severity text as the source wrote it (may be empty).
    pub severity_text: String,
    /// The message (OTLP body). Non-string bodies are kept as their JSON text.
    pub body: String,
    /// The emitting service (resource attribute `service.name`).
    pub service: String,
    /// Record attributes.
    pub attributes: Attributes,
    /// Resource attributes (shared by the records of one resource).
    pub resource: SharedAttributes,
    /// Instrumentation scope (shared by the records of one scope).
    pub scope: std::sync::Arc<Scope>,
    /// Trace the record belongs to.
    pub trace_id: Option<TraceId>,
    /// Span the record belongs to.
    pub span_id: Option<SpanId>,
    /// W3C trace flags.
    pub flags: u32,
    /// Attributes dropped by the producer.
    pub dropped_attributes_count: u32,
}

impl Default for LogRecord {
    fn default() -> Self {
        LogRecord {
            timestamp: Timestamp(0),
            observed_timestamp: Timestamp(0),
            severity_number: 0,
            severity_text: String::new(),
            body: String::new(),
            service: UNKNOWN_SERVICE.to_string(),
            attributes: Attributes::new(),
            resource: SharedAttributes::default(),
            scope: std::sync::Arc::default(),
            trace_id: None,
            span_id: None,
            flags: 0,
            dropped_attributes_count: 0,
        }
    }
}

const LOG_FIELDS: &[&str] = &[
    "timestamp",
    "observed_timestamp",
    "level",
    "severity_number",
    "severity_text",
    "message",
    "body",
    "service",
    "attributes",
    "resource",
    "scope",
    "trace_id",
    "span_id",
    "flags",
    "dropped_attributes_count",
];

impl LogRecord {
    /// A record with a timestamp, level and message; other fields default.
    pub fn new(timestamp: Timestamp, level: Level, message: impl Into<String>) -> Self {
        LogRecord {
            timestamp,
            severity_number: level.severity_number(),
            severity_text: level.as_str().to_string(),
            body: message.into(),
            ..LogRecord::default()
        }
    }

    /// The coarse level, from the severity number or, failing that, the severity text.
    pub fn level(&self) -> Level {
        if self.severity_number != 0 {
            Level::from_severity_number(self.severity_number)
        } else {
            self.severity_text.parse().unwrap_or(Level::Unspecified)
        }
    }

    /// Checks the record, reporting every problem with its field path.
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::new();
        self.validate_into("", &mut e);
        if e.is_empty() { Ok(()) } else { Err(e) }
    }

    fn validate_into(&self, prefix: &str, e: &mut ValidationErrors) {
        let p = |f: &str| crate::json::join(prefix, f);
        if !self.timestamp.in_record_range() {
            e.push(
                p("timestamp"),
                format!(
                    "{} is out of range (1970-01-01 to 2200-01-01)",
                    self.timestamp.0
                ),
            );
        }
        if self.observed_timestamp.0 != 0 && !self.observed_timestamp.in_record_range() {
            e.push(
                p("observed_timestamp"),
                "out of range (1970-01-01 to 2200-01-01)",
            );
        }
        if self.body.trim().is_empty() {
            e.push(p("message"), "must not be empty");
        }
        if self.severity_number > 24 {
            e.push(
                p("severity_number"),
                format!("{} is out of range 0-24", self.severity_number),
            );
        }
        if self.service.is_empty() {
            e.push(p("service"), "must not be empty");
        }
        if self.span_id.is_some() && self.trace_id.is_none() {
            e.push(p("trace_id"), "required when span_id is set");
        }
    }

    /// Converts to the REST API's JSON shape.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert(
            "timestamp".into(),
            Value::String(self.timestamp.to_rfc3339()),
        );
        if self.observed_timestamp.0 != 0 {
            m.insert(
                "observed_timestamp".into(),
                Value::String(self.observed_timestamp.to_rfc3339()),
            );
        }
        m.insert("level".into(), Value::String(self.level().as_str().into()));
        m.insert("severity_number".into(), Value::from(self.severity_number));
        if !self.severity_text.is_empty() {
            m.insert(
                "severity_text".into(),
                Value::String(self.severity_text.clone()),
            );
        }
        m.insert("message".into(), Value::String(self.body.clone()));
        m.insert("service".into(), Value::String(self.service.clone()));
        m.insert("attributes".into(), attributes_to_json(&self.attributes));
        m.insert("resource".into(), attributes_to_json(&self.resource));
        if !self.scope.is_empty() {
            m.insert("scope".into(), self.scope.to_json());
        }
        if let Some(t) = self.trace_id {
            m.insert("trace_id".into(), Value::String(t.to_hex()));
        }
        if let Some(s) = self.span_id {
            m.insert("span_id".into(), Value::String(s.to_hex()));
        }
        if self.flags != 0 {
            m.insert("flags".into(), Value::from(self.flags));
        }
        if self.dropped_attributes_count != 0 {
            m.insert(
                "dropped_attributes_count".into(),
                Value::from(self.dropped_attributes_count),
            );
        }
        Value::Object(m)
    }

    /// Reads a record from JSON and validates it, reporting every problem with its field path.
    ///
    /// A missing `timestamp` means "now"; `service` defaults to the resource's `service.name`,
    /// else [`UNKNOWN_SERVICE`]; `level` accepts names such as `warn`/`warning`/`ERROR`;
    /// `body` is accepted as an alias of `message`.
    pub fn from_json(v: &Value) -> Result<LogRecord, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let Some(rec) = Self::read_json(v, &mut errors, Reading::Strict) else {
            return Err(errors);
        };
        rec.validate_into("", &mut errors);
        dedup(&mut errors);
        if errors.is_empty() {
            Ok(rec)
        } else {
            Err(errors)
        }
    }

    /// Reads a record as a server wrote it ([`LogRecord::to_json`], the API's answers): the
    /// fields as they are, for clients. Nothing is validated or filled in (a stored record may
    /// have an empty message, `severity_text` stays as written, and `level` — derived from the
    /// severity — stands for it only where no `severity_number` is given, as in rows of
    /// `SELECT *`), and fields this version does not know are ignored, so that a
    /// newer server's answers still read. Only wrong types are problems. This is what
    /// `Deserialize` does; ingestion uses [`LogRecord::from_json`].
    ///
    /// ```
    /// use heimsight_core::LogRecord;
    ///
    /// let rec = LogRecord::read_back(&serde_json::json!({
    ///     "timestamp": "2026-01-01T00:00:00Z", "level": "error", "severity_number": 17,
    ///     "message": "", "service": "api", "added_later": true
    /// })).unwrap();
    /// assert_eq!(rec.body, "");
    /// assert_eq!((rec.severity_number, rec.severity_text.as_str()), (17, ""));
    /// // A row of `SELECT * FROM logs` has a level and no severity.
    /// let row = LogRecord::read_back(&serde_json::json!({"level": "warn", "message": "m"})).unwrap();
    /// assert_eq!(row.level(), heimsight_core::Level::Warn);
    /// assert!(LogRecord::from_json(&serde_json::json!({"message": ""})).is_err());
    /// ```
    pub fn read_back(v: &Value) -> Result<LogRecord, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        match Self::read_json(v, &mut errors, Reading::AsWritten) {
            Some(rec) if errors.is_empty() => Ok(rec),
            _ => Err(errors),
        }
    }

    fn read_json(v: &Value, errors: &mut ValidationErrors, how: Reading) -> Option<LogRecord> {
        let strict = how == Reading::Strict;
        let mut r = FieldReader::new(v, "", errors, "a log record")?;
        let mut rec = LogRecord::default();
        let mut bad_time = false;
        match r.get(&["timestamp"]) {
            Some((t, _)) => match Timestamp::from_json(t) {
                Ok(ts) => rec.timestamp = ts,
                Err(e) => {
                    bad_time = true;
                    r.err("timestamp", e);
                }
            },
            None => rec.timestamp = Timestamp::now(),
        }
        if let Some((t, _)) = r.get(&["observed_timestamp"]) {
            match Timestamp::from_json(t) {
                Ok(ts) => rec.observed_timestamp = ts,
                Err(e) => r.err("observed_timestamp", e),
            }
        }
        if let Some(n) = r.opt_u64(&["severity_number"]) {
            match u8::try_from(n) {
                Ok(n) if n <= 24 => rec.severity_number = n,
                _ => r.err("severity_number", format!("{n} is out of range 0-24")),
            }
        }
        if !strict {
            // Derived from the severity when written: it stands for the severity only where
            // that is not given (rows of `SELECT *` carry `level` alone).
            let level = r.opt_str(&["level"]).and_then(|l| l.parse::<Level>().ok());
            if let Some(l) = level
                && !r.has_key("severity_number")
            {
                rec.severity_number = l.severity_number();
            }
        } else if let Some(level) = r.opt_str(&["level"]) {
            match level.parse::<Level>() {
                Ok(l) => {
                    if rec.severity_number == 0 {
                        rec.severity_number = l.severity_number();
                    }
                    rec.severity_text = level;
                }
                Err(e) => r.err("level", e),
            }
        }
        if let Some(text) = r.opt_str(&["severity_text"]) {
            if strict
                && rec.severity_number == 0
                && let Ok(l) = text.parse::<Level>()
            {
                rec.severity_number = l.severity_number();
            }
            rec.severity_text = text;
        }
        match r.get(&["message", "body"]) {
            Some((Value::String(s), _)) => rec.body = s.clone(),
            // Structured bodies are kept as their JSON text.
            Some((other, _)) => rec.body = other.to_string(),
            None if strict => r.err("message", "missing; every log record needs a message"),
            None => {}
        }
        let service = r.opt_str(&["service"]);
        if let Some((t, _)) = r.get(&["trace_id"]) {
            match t.as_str().map(str::parse::<TraceId>) {
                Some(Ok(id)) => rec.trace_id = Some(id),
                Some(Err(e)) => r.err("trace_id", e),
                None => r.err("trace_id", "expected a hex string"),
            }
        }
        if let Some((t, _)) = r.get(&["span_id"]) {
            match t.as_str().map(str::parse::<SpanId>) {
                Some(Ok(id)) => rec.span_id = Some(id),
                Some(Err(e)) => r.err("span_id", e),
                None => r.err("span_id", "expected a hex string"),
            }
        }
        if let Some(f) = r.opt_u64(&["flags"]) {
            rec.flags = u32::try_from(f).unwrap_or(u32::MAX);
        }
        if let Some(f) = r.opt_u64(&["dropped_attributes_count"]) {
            rec.dropped_attributes_count = u32::try_from(f).unwrap_or(u32::MAX);
        }
        let attrs = r.get(&["attributes"]).map(|(v, _)| v);
        let res = r.get(&["resource"]).map(|(v, _)| v);
        let scope = r.get(&["scope"]).map(|(v, _)| v);
        if strict {
            r.deny_unknown(LOG_FIELDS);
        }
        if let Some(a) = attrs {
            rec.attributes = attributes_from_json(a, "attributes", errors);
        }
        if let Some(a) = res {
            rec.resource = attributes_from_json(a, "resource", errors).into();
        }
        if let Some(s) = scope {
            rec.scope = Scope::from_json(s, "scope", errors).into();
        }
        rec.service = service_name(service, &rec.resource);
        if bad_time {
            // Keep a valid placeholder so range validation doesn't report the same field twice.
            rec.timestamp = Timestamp::now();
        }
        Some(rec)
    }
}

fn dedup(errors: &mut ValidationErrors) {
    let mut seen = std::collections::HashSet::new();
    errors.0.retain(|e| seen.insert(e.field.clone()));
}

/// The service name: explicit, else the resource's `service.name`, else [`UNKNOWN_SERVICE`].
pub fn service_name(explicit: Option<String>, resource: &Attributes) -> String {
    match explicit {
        Some(s) if !s.is_empty() => s,
        _ => resource
            .get("service.name")
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
            .unwrap_or(UNKNOWN_SERVICE)
            .to_string(),
    }
}

impl serde::Serialize for LogRecord {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

/// Reads a record as written ([`LogRecord::read_back`]): for clients of the API.
impl<'de> serde::Deserialize<'de> for LogRecord {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        LogRecord::read_back(&v).map_err(serde::de::Error::custom)
    }
}

/// How a record's JSON is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reading {
    /// Ingestion: validated, defaults filled in, unknown fields refused.
    Strict,
    /// Read back from a server: as written, unknown fields ignored.
    AsWritten,
}

/// Where a tail of log records stands — records arriving oldest first from polls that each
/// ask again from the newest timestamp shown: that timestamp, and the records shown at exactly
/// that time, so that none is shown twice. Used by `heimsight logs --follow`, the TUI and the
/// web UI's live tail.
///
/// ```
/// use heimsight_core::{Level, LogRecord, TailCursor, Timestamp};
///
/// let mut cursor = TailCursor::default();
/// let a = LogRecord::new(Timestamp(10), Level::Info, "a");
/// let b = LogRecord::new(Timestamp(10), Level::Info, "b");
/// assert!(cursor.admit(&a));
/// // The next poll asks from time 10 again: `a` is not shown twice, `b` is new.
/// assert!(!cursor.admit(&a));
/// assert!(cursor.admit(&b));
/// assert!(!cursor.admit(&LogRecord::new(Timestamp(9), Level::Info, "late")));
/// assert_eq!(cursor.last(), Some(Timestamp(10)));
/// ```
#[derive(Debug, Default, Clone)]
pub struct TailCursor {
    last: Option<Timestamp>,
    at_last: HashSet<String>,
}

impl TailCursor {
    /// The newest timestamp shown, once something was.
    pub fn last(&self) -> Option<Timestamp> {
        self.last
    }

    /// Whether `record` is new — not older than the newest shown, and not shown already at
    /// that time — recording it as shown when it is. Records must come oldest first.
    pub fn admit(&mut self, record: &LogRecord) -> bool {
        let ts = record.timestamp;
        match self.last {
            Some(last) if ts < last => false,
            Some(last) if ts == last => self.at_last.insert(record.to_json().to_string()),
            _ => {
                self.last = Some(ts);
                self.at_last.clear();
                self.at_last.insert(record.to_json().to_string());
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {

    /// What a server stores and shows, a client reads back unchanged: an OTLP record with an
    /// empty body and no severity, a severity text of its own, a field of a newer server.
    #[test]
    fn records_read_back_as_written() {
        let mut empty =
            LogRecord::new(Timestamp(1_700_000_000_000_000_000), Level::Unspecified, "");
        empty.severity_number = 0;
        empty.service = "api".into();
        let mut texted = LogRecord::new(Timestamp(1_700_000_000_000_000_001), Level::Error, "boom");
        texted.severity_text = "E".into();
        for rec in [empty, texted] {
            let json = rec.to_json();
            assert_eq!(LogRecord::read_back(&json).unwrap(), rec, "{json}");
            let back: LogRecord = serde_json::from_value(json.clone()).unwrap();
            assert_eq!(back, rec);
            let mut newer = json;
            newer["added_later"] = serde_json::json!({"x": 1});
            assert_eq!(LogRecord::read_back(&newer).unwrap(), rec);
        }
        // Ingestion still checks.
        assert!(LogRecord::from_json(&serde_json::json!({"message": "", "x": 1})).is_err());
        // Wrong types are still problems.
        assert!(
            LogRecord::read_back(&serde_json::json!({"message": 5})).is_ok(),
            "structured bodies are text"
        );
        assert!(LogRecord::read_back(&serde_json::json!({"timestamp": true})).is_err());
    }
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_through_json() {
        let v = json!({
            "timestamp": "2026-01-02T03:04:05Z",
            "level": "error",
            "message": "connection refused",
            "service": "api",
            "attributes": {"http.status": 503, "retry": true},
            "resource": {"host.name": "web-1"},
            "trace_id": "5b8efff798038103d269b633813fc60c",
            "span_id": "eee19b7ec3c1b174"
        });
        let rec = LogRecord::from_json(&v).unwrap();
        assert_eq!(rec.level(), Level::Error);
        assert_eq!(rec.severity_number, 17);
        let back = LogRecord::from_json(&rec.to_json()).unwrap();
        assert_eq!(back, rec);
    }

    #[test]
    fn reports_every_problem_with_paths() {
        let v = json!({
            "timestamp": "yesterday",
            "level": "loud",
            "message": "",
            "trace_id": "abc",
            "attributes": {"a": null},
            "colour": "blue"
        });
        let errs = LogRecord::from_json(&v).unwrap_err();
        let fields: Vec<_> = errs.errors().iter().map(|e| e.field.as_str()).collect();
        for f in [
            "timestamp",
            "level",
            "message",
            "trace_id",
            "attributes.a",
            "colour",
        ] {
            assert!(fields.contains(&f), "missing {f} in {errs}");
        }
    }

    #[test]
    fn service_falls_back_to_resource() {
        let v = json!({"message": "hi", "resource": {"service.name": "checkout"}});
        let rec = LogRecord::from_json(&v).unwrap();
        assert_eq!(rec.service, "checkout");
        assert!(rec.timestamp.0 > 0);
    }

    #[test]
    fn out_of_range_timestamp_is_rejected() {
        let v = json!({"message": "hi", "timestamp": -5});
        let errs = LogRecord::from_json(&v).unwrap_err();
        assert_eq!(errs.errors()[0].field, "timestamp");
        assert!(errs.errors()[0].reason.contains("out of range"));
    }

    #[test]
    fn a_tail_cursor_admits_each_record_once_oldest_first() {
        let rec = |ts: &str, m: &str| {
            LogRecord::from_json(&json!({"timestamp": ts, "message": m})).unwrap()
        };
        let mut c = TailCursor::default();
        assert_eq!(c.last(), None);
        assert!(c.admit(&rec("2026-01-01T00:00:01.000000000Z", "a")));
        assert!(
            c.admit(&rec("2026-01-01T00:00:01.000000000Z", "b")),
            "same time, other record"
        );
        assert!(
            !c.admit(&rec("2026-01-01T00:00:01.000000000Z", "a")),
            "shown already"
        );
        assert!(
            !c.admit(&rec("2026-01-01T00:00:00.000000000Z", "z")),
            "older"
        );
        assert!(c.admit(&rec("2026-01-01T00:00:02.000000000Z", "a")));
        assert_eq!(
            c.last(),
            Some(Timestamp::parse("2026-01-01T00:00:02Z").unwrap())
        );
    }
}
