//! Reading channel settings from JSON field by field, recording every problem with its path.

use std::collections::BTreeMap;

use heimsight_core::{FieldError, json_type_name};
use serde_json::{Map, Value};

/// Reads the fields of one JSON object under a path prefix (`settings`), collecting problems.
///
/// Absent and `null` fields read as their defaults; fields of the wrong type are problems;
/// [`Fields::finish`] reports the fields nobody asked for.
pub(crate) struct Fields<'a, 'e> {
    obj: Option<&'a Map<String, Value>>,
    prefix: &'a str,
    known: Vec<&'static str>,
    errors: &'e mut Vec<FieldError>,
}

impl<'a, 'e> Fields<'a, 'e> {
    /// Starts reading `value`, which must be an object (a problem is recorded otherwise).
    pub(crate) fn new(value: &'a Value, prefix: &'a str, errors: &'e mut Vec<FieldError>) -> Self {
        let obj = match value {
            Value::Object(obj) => Some(obj),
            other => {
                errors.push(FieldError::new(
                    prefix,
                    format!("expected a JSON object, found {}", json_type_name(other)),
                ));
                None
            }
        };
        Self {
            obj,
            prefix,
            known: Vec::new(),
            errors,
        }
    }

    /// The path of a field: `settings.url`.
    pub(crate) fn path(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.prefix)
        }
    }

    fn take(&mut self, name: &'static str) -> Option<&'a Value> {
        self.known.push(name);
        self.obj?.get(name).filter(|v| !v.is_null())
    }

    /// Records a problem with field `name`.
    pub(crate) fn problem(&mut self, name: &str, reason: impl Into<String>) {
        let path = self.path(name);
        self.errors.push(FieldError::new(path, reason));
    }

    fn wrong_type(&mut self, name: &str, expected: &str, found: &Value) {
        let path = self.path(name);
        self.errors.push(FieldError::new(
            path,
            format!("expected {expected}, found {}", json_type_name(found)),
        ));
    }

    /// A string field; absent, `null` or of the wrong type reads as empty.
    pub(crate) fn string(&mut self, name: &'static str) -> String {
        self.opt_string(name).unwrap_or_default()
    }

    /// An optional string field; absent, `null` and `""` read as `None`.
    pub(crate) fn opt_string(&mut self, name: &'static str) -> Option<String> {
        match self.take(name)? {
            Value::String(s) if s.is_empty() => None,
            Value::String(s) => Some(s.clone()),
            other => {
                self.wrong_type(name, "a string", other);
                None
            }
        }
    }

    /// A boolean field.
    pub(crate) fn bool(&mut self, name: &'static str, default: bool) -> bool {
        match self.take(name) {
            None => default,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                self.wrong_type(name, "true or false", other);
                default
            }
        }
    }

    /// An optional TCP port (1 to 65535).
    pub(crate) fn opt_port(&mut self, name: &'static str) -> Option<u16> {
        let v = self.take(name)?;
        if !v.is_number() {
            self.wrong_type(name, "a port number", v);
            return None;
        }
        let port = v
            .as_u64()
            .and_then(|n| u16::try_from(n).ok())
            .filter(|p| *p != 0);
        if port.is_none() {
            let path = self.path(name);
            self.errors.push(FieldError::new(
                path,
                format!("{v} is not a TCP port; expected an integer from 1 to 65535"),
            ));
        }
        port
    }

    /// A list of strings; problems are reported per item (`settings.to[1]`), and an item of
    /// the wrong type reads as an empty string.
    pub(crate) fn string_list(&mut self, name: &'static str) -> Vec<String> {
        let Some(v) = self.take(name) else {
            return Vec::new();
        };
        let Value::Array(items) = v else {
            self.wrong_type(name, "an array of strings", v);
            return Vec::new();
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            match item {
                Value::String(s) => out.push(s.clone()),
                other => {
                    // Keep the indexes of the items after it.
                    out.push(String::new());
                    let path = format!("{}[{i}]", self.path(name));
                    self.errors.push(FieldError::new(
                        path,
                        format!("expected a string, found {}", json_type_name(other)),
                    ));
                }
            }
        }
        out
    }

    /// An object of strings; problems are reported per entry (`settings.headers.X-Key`).
    pub(crate) fn string_map(&mut self, name: &'static str) -> BTreeMap<String, String> {
        let Some(v) = self.take(name) else {
            return BTreeMap::new();
        };
        let Value::Object(entries) = v else {
            self.wrong_type(name, "an object of strings", v);
            return BTreeMap::new();
        };
        let mut out = BTreeMap::new();
        for (key, value) in entries {
            match value {
                Value::String(s) => {
                    out.insert(key.clone(), s.clone());
                }
                other => {
                    let path = format!("{}.{key}", self.path(name));
                    self.errors.push(FieldError::new(
                        path,
                        format!("expected a string, found {}", json_type_name(other)),
                    ));
                }
            }
        }
        out
    }

    /// Reports every field that was not read as unknown.
    pub(crate) fn finish(self) {
        let Some(obj) = self.obj else { return };
        for key in obj.keys() {
            if !self.known.iter().any(|k| k == key) {
                let path = if self.prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{}.{key}", self.prefix)
                };
                self.errors.push(FieldError::new(
                    path,
                    format!("unknown field; expected one of {}", self.known.join(", ")),
                ));
            }
        }
    }
}
