//! Reading JSON objects field by field while collecting every problem: [`FieldReader`].

use serde_json::{Map, Value};

use crate::error::ValidationErrors;

/// The JSON type name of a value with its article (`a string`, `an array`, `null`), for
/// error messages.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Joins a path prefix and a field name.
pub(crate) fn join(prefix: &str, field: &str) -> String {
    if prefix.is_empty() {
        field.to_string()
    } else {
        format!("{prefix}.{field}")
    }
}

/// Reads the fields of one JSON object, recording every problem under its path
/// (`prefix.field`, `prefix.list[3]`) instead of stopping at the first: the one reader of
/// Heimsight's JSON — records, alert rules and silences, channel settings, the server's
/// dashboards and channels. Absent and `null` fields read as absent; a field of the wrong
/// type is a problem ("expected a string, found a number"); [`FieldReader::finish`] reports
/// every field nobody read.
///
/// ```
/// use heimsight_core::{FieldReader, ValidationErrors};
///
/// let body = serde_json::json!({"name": 5, "url": "https://example.com", "color": "red"});
/// let mut errors = ValidationErrors::new();
/// let mut r = FieldReader::new(&body, "settings", &mut errors, "channel settings").unwrap();
/// let name = r.opt_str(&["name"]);
/// let url = r.opt_str(&["url", "href"]); // the first name present wins
/// r.finish();
/// assert_eq!((name, url.as_deref()), (None, Some("https://example.com")));
/// let problems: Vec<String> = errors.errors().iter().map(|e| e.to_string()).collect();
/// assert_eq!(problems, [
///     "settings.name: expected a string, found a number",
///     "settings.color: unknown field; expected one of: name, url, href",
/// ]);
/// ```
#[derive(Debug)]
pub struct FieldReader<'a, 'e> {
    obj: Option<&'a Map<String, Value>>,
    prefix: String,
    errors: &'e mut ValidationErrors,
    seen: Vec<String>,
}

impl<'a, 'e> FieldReader<'a, 'e> {
    /// Starts reading `v`, which must be an object; otherwise records "expected {what} as a
    /// JSON object" (or "expected a JSON object" when `what` is empty) at `prefix` and returns
    /// `None`.
    pub fn new(
        v: &'a Value,
        prefix: &str,
        errors: &'e mut ValidationErrors,
        what: &str,
    ) -> Option<Self> {
        let r = Self::new_or_empty(v, prefix, errors, what);
        r.obj.is_some().then_some(r)
    }

    /// As [`FieldReader::new`], but a value that is not an object reads as an empty one (after
    /// its problem is recorded), so that callers can go on and report the rest.
    pub fn new_or_empty(
        v: &'a Value,
        prefix: &str,
        errors: &'e mut ValidationErrors,
        what: &str,
    ) -> Self {
        let obj = match v {
            Value::Object(obj) => Some(obj),
            other => {
                let expected = if what.is_empty() {
                    "a JSON object".to_string()
                } else {
                    format!("{what} as a JSON object")
                };
                errors.push(
                    prefix,
                    format!("expected {expected}, found {}", type_name(other)),
                );
                None
            }
        };
        Self {
            obj,
            prefix: prefix.to_string(),
            errors,
            seen: Vec::new(),
        }
    }

    /// The path of a field: `prefix.field`, or `field` at the top.
    pub fn path(&self, field: &str) -> String {
        join(&self.prefix, field)
    }

    /// Records a problem with `field` (a name, or a path below this object such as
    /// `to[1]`).
    pub fn err(&mut self, field: &str, reason: impl Into<String>) {
        let p = self.path(field);
        self.errors.push(p, reason);
    }

    /// Records "expected {expected}, found {the type of found}" for `field`.
    pub fn wrong_type(&mut self, field: &str, expected: &str, found: &Value) {
        self.err(
            field,
            format!("expected {expected}, found {}", type_name(found)),
        );
    }

    /// Every problem recorded so far (by this reader and before it, in the same list).
    pub fn problems(&self) -> &[crate::FieldError] {
        self.errors.errors()
    }

    /// Whether a problem was already recorded for `field`.
    pub fn has_problem(&self, field: &str) -> bool {
        let p = self.path(field);
        self.errors.errors().iter().any(|e| e.field == p)
    }

    /// The first present, non-null field of `names` (aliases of one field), with the name it
    /// was found under. Every name counts as read.
    pub fn get<'n>(&mut self, names: &[&'n str]) -> Option<(&'a Value, &'n str)> {
        for n in names {
            if !self.seen.iter().any(|s| s == n) {
                self.seen.push((*n).to_string());
            }
        }
        let obj = self.obj?;
        for n in names {
            if let Some(v) = obj.get(*n)
                && !v.is_null()
            {
                return Some((v, n));
            }
        }
        None
    }

    /// Whether the object has the key `name` (even with `null`).
    pub fn has_key(&self, name: &str) -> bool {
        self.obj.is_some_and(|o| o.contains_key(name))
    }

    /// Fields accepted without being read (e.g. read-only fields an update sends back).
    pub fn allow(&mut self, names: &[&str]) {
        self.seen.extend(names.iter().map(|n| (*n).to_string()));
    }

    /// An optional string field.
    pub fn opt_str(&mut self, names: &[&str]) -> Option<String> {
        let (v, n) = self.get(names)?;
        match v {
            Value::String(s) => Some(s.clone()),
            other => {
                self.wrong_type(n, "a string", other);
                None
            }
        }
    }

    /// An optional unsigned integer field (a number, or its decimal text as OTLP JSON writes
    /// 64-bit integers).
    pub fn opt_u64(&mut self, names: &[&str]) -> Option<u64> {
        let (v, n) = self.get(names)?;
        let parsed = match v {
            Value::Number(num) => num.as_u64(),
            Value::String(s) => s.parse::<u64>().ok(),
            _ => None,
        };
        if parsed.is_none() {
            let msg = format!("expected a non-negative integer, found {}", describe(v));
            self.err(n, msg);
        }
        parsed
    }

    /// An optional float field: a number, or the strings "NaN", "Infinity", "-Infinity" and
    /// numeric text (as OTLP JSON writes them).
    pub fn opt_f64(&mut self, names: &[&str]) -> Option<f64> {
        let (v, n) = self.get(names)?;
        let parsed = number_f64(v);
        if parsed.is_none() {
            let msg = format!("expected a number, found {}", describe(v));
            self.err(n, msg);
        }
        parsed
    }

    /// An optional number field that must be a JSON number (no text).
    pub fn opt_number(&mut self, names: &[&str]) -> Option<f64> {
        let (v, n) = self.get(names)?;
        match v {
            Value::Number(x) => x.as_f64(),
            other => {
                self.wrong_type(n, "a number", other);
                None
            }
        }
    }

    /// An optional boolean field.
    pub fn opt_bool(&mut self, names: &[&str]) -> Option<bool> {
        let (v, n) = self.get(names)?;
        match v {
            Value::Bool(b) => Some(*b),
            other => {
                self.wrong_type(n, "true or false", other);
                None
            }
        }
    }

    /// Records a problem for every field not in `known` (whether read or not).
    pub fn deny_unknown(&mut self, known: &[&str]) {
        let Some(obj) = self.obj else { return };
        let unknown: Vec<String> = obj
            .keys()
            .filter(|k| !known.contains(&k.as_str()))
            .cloned()
            .collect();
        for k in unknown {
            let msg = format!("unknown field; expected one of: {}", known.join(", "));
            self.err(&k, msg);
        }
    }

    /// Records a problem for every field that was neither read nor allowed, naming the ones
    /// that were.
    pub fn finish(mut self) {
        let seen = std::mem::take(&mut self.seen);
        let known: Vec<&str> = seen.iter().map(String::as_str).collect();
        self.deny_unknown(&known);
    }
}

/// A JSON value as f64: numbers, or "NaN"/"Infinity"/"-Infinity"/numeric strings.
pub(crate) fn number_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.as_str() {
            "NaN" => Some(f64::NAN),
            "Infinity" | "+Inf" | "+Infinity" | "inf" => Some(f64::INFINITY),
            "-Infinity" | "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
            other => other.parse::<f64>().ok(),
        },
        _ => None,
    }
}

/// A short description of a value for error messages: its type, and the text if short.
pub(crate) fn describe(v: &Value) -> String {
    match v {
        Value::String(s) if s.len() <= 40 => format!("the string {s:?}"),
        Value::Number(n) => format!("the number {n}"),
        other => type_name(other).to_string(),
    }
}
