//! Reading channel settings from JSON: the channel-specific readings (texts where empty
//! means absent, ports, lists and maps of strings) on top of `heimsight_core`'s
//! [`FieldReader`], which records every problem with its path (`settings.to[1]`).

use std::collections::BTreeMap;

use heimsight_core::{FieldReader, ValidationErrors};
use serde_json::Value;

/// Reads the fields of one JSON object under a path prefix (`settings`), collecting problems.
///
/// Absent and `null` fields read as their defaults; fields of the wrong type are problems;
/// [`Fields::finish`] reports the fields nobody asked for.
pub(crate) struct Fields<'a, 'e> {
    r: FieldReader<'a, 'e>,
}

impl<'a, 'e> Fields<'a, 'e> {
    /// Starts reading `value`, which must be an object (a problem is recorded otherwise).
    pub(crate) fn new(value: &'a Value, prefix: &str, errors: &'e mut ValidationErrors) -> Self {
        Self {
            r: FieldReader::new_or_empty(value, prefix, errors, ""),
        }
    }

    /// Records a problem with field `name`.
    pub(crate) fn problem(&mut self, name: &str, reason: impl Into<String>) {
        self.r.err(name, reason);
    }

    /// A string field; absent, `null` or of the wrong type reads as empty.
    pub(crate) fn string(&mut self, name: &'static str) -> String {
        self.opt_string(name).unwrap_or_default()
    }

    /// An optional string field; absent, `null` and `""` read as `None`.
    pub(crate) fn opt_string(&mut self, name: &'static str) -> Option<String> {
        self.r.opt_str(&[name]).filter(|s| !s.is_empty())
    }

    /// A boolean field.
    pub(crate) fn bool(&mut self, name: &'static str, default: bool) -> bool {
        self.r.opt_bool(&[name]).unwrap_or(default)
    }

    /// An optional TCP port (1 to 65535).
    pub(crate) fn opt_port(&mut self, name: &'static str) -> Option<u16> {
        let (v, _) = self.r.get(&[name])?;
        if !v.is_number() {
            self.r.wrong_type(name, "a port number", v);
            return None;
        }
        let port = v
            .as_u64()
            .and_then(|n| u16::try_from(n).ok())
            .filter(|p| *p != 0);
        if port.is_none() {
            self.r.err(
                name,
                format!("{v} is not a TCP port; expected an integer from 1 to 65535"),
            );
        }
        port
    }

    /// A list of strings; problems are reported per item (`settings.to[1]`), and an item of
    /// the wrong type reads as an empty string.
    pub(crate) fn string_list(&mut self, name: &'static str) -> Vec<String> {
        let Some((v, _)) = self.r.get(&[name]) else {
            return Vec::new();
        };
        let Value::Array(items) = v else {
            self.r.wrong_type(name, "an array of strings", v);
            return Vec::new();
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            match item {
                Value::String(s) => out.push(s.clone()),
                other => {
                    // Keep the indexes of the items after it.
                    out.push(String::new());
                    self.r
                        .wrong_type(&format!("{name}[{i}]"), "a string", other);
                }
            }
        }
        out
    }

    /// An object of strings; problems are reported per entry (`settings.headers.X-Key`).
    pub(crate) fn string_map(&mut self, name: &'static str) -> BTreeMap<String, String> {
        let Some((v, _)) = self.r.get(&[name]) else {
            return BTreeMap::new();
        };
        let Value::Object(entries) = v else {
            self.r.wrong_type(name, "an object of strings", v);
            return BTreeMap::new();
        };
        let mut out = BTreeMap::new();
        for (key, value) in entries {
            match value {
                Value::String(s) => {
                    out.insert(key.clone(), s.clone());
                }
                other => self
                    .r
                    .wrong_type(&format!("{name}.{key}"), "a string", other),
            }
        }
        out
    }

    /// Reports every field that was not read as unknown.
    pub(crate) fn finish(self) {
        self.r.finish();
    }
}
