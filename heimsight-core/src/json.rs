//! Small helpers for reading JSON objects field by field while collecting every problem.

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

/// Reads fields of one JSON object, recording problems under a path prefix.
pub(crate) struct ObjectReader<'a, 'e> {
    pub(crate) obj: &'a Map<String, Value>,
    pub(crate) prefix: String,
    pub(crate) errors: &'e mut ValidationErrors,
}

impl<'a, 'e> ObjectReader<'a, 'e> {
    /// Starts reading `v`, which must be an object; records a problem otherwise.
    pub(crate) fn new(
        v: &'a Value,
        prefix: &str,
        errors: &'e mut ValidationErrors,
        what: &str,
    ) -> Option<Self> {
        match v {
            Value::Object(obj) => Some(Self {
                obj,
                prefix: prefix.to_string(),
                errors,
            }),
            other => {
                errors.push(
                    prefix,
                    format!(
                        "expected {what} as a JSON object, found {}",
                        type_name(other)
                    ),
                );
                None
            }
        }
    }

    pub(crate) fn path(&self, field: &str) -> String {
        join(&self.prefix, field)
    }

    /// The first present, non-null field of `names`.
    pub(crate) fn get<'n>(&self, names: &[&'n str]) -> Option<(&'a Value, &'n str)> {
        let obj: &'a Map<String, Value> = self.obj;
        for n in names {
            if let Some(v) = obj.get(*n)
                && !v.is_null()
            {
                return Some((v, n));
            }
        }
        None
    }

    pub(crate) fn err(&mut self, field: &str, reason: impl Into<String>) {
        let p = self.path(field);
        self.errors.push(p, reason);
    }

    /// An optional string field.
    pub(crate) fn opt_str(&mut self, names: &[&str]) -> Option<String> {
        let (v, n) = self.get(names)?;
        match v {
            Value::String(s) => Some(s.clone()),
            other => {
                let msg = format!("expected a string, found {}", type_name(other));
                self.err(n, msg);
                None
            }
        }
    }

    /// An optional unsigned integer field.
    pub(crate) fn opt_u64(&mut self, names: &[&str]) -> Option<u64> {
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

    /// An optional float field (numbers, or the strings "NaN", "Infinity", "-Infinity").
    pub(crate) fn opt_f64(&mut self, names: &[&str]) -> Option<f64> {
        let (v, n) = self.get(names)?;
        let parsed = number_f64(v);
        if parsed.is_none() {
            let msg = format!("expected a number, found {}", describe(v));
            self.err(n, msg);
        }
        parsed
    }

    /// An optional boolean field.
    pub(crate) fn opt_bool(&mut self, names: &[&str]) -> Option<bool> {
        let (v, n) = self.get(names)?;
        match v {
            Value::Bool(b) => Some(*b),
            other => {
                let msg = format!("expected true or false, found {}", type_name(other));
                self.err(n, msg);
                None
            }
        }
    }

    /// Records a problem for every field not in `known`.
    pub(crate) fn deny_unknown(&mut self, known: &[&str]) {
        let unknown: Vec<String> = self
            .obj
            .keys()
            .filter(|k| !known.contains(&k.as_str()))
            .cloned()
            .collect();
        for k in unknown {
            let msg = format!("unknown field; expected one of: {}", known.join(", "));
            self.err(&k, msg);
        }
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
