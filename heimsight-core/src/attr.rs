//! Attribute values with OpenTelemetry's types.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

use crate::error::ValidationErrors;
use crate::json::type_name;

/// Attributes: keys to typed values, sorted by key.
pub type Attributes = BTreeMap<String, AttributeValue>;

/// Attributes shared by many records, such as a resource: every record of one OTLP resource
/// points at the same map, so converting, copying and dropping records does not copy it.
/// Change one record's with [`Arc::make_mut`](std::sync::Arc::make_mut).
pub type SharedAttributes = std::sync::Arc<Attributes>;

/// An attribute value with OTLP's `AnyValue` types.
///
/// In JSON, strings, booleans, arrays and objects map to themselves; integral numbers become
/// [`AttributeValue::Int`], other numbers [`AttributeValue::Double`]. Bytes are written as a
/// lower-case hex string.
#[derive(Debug, Clone, PartialEq)]
pub enum AttributeValue {
    /// A UTF-8 string.
    String(String),
    /// A boolean.
    Bool(bool),
    /// A signed 64-bit integer.
    Int(i64),
    /// A 64-bit float (may be NaN or infinite, as OTLP allows).
    Double(f64),
    /// Raw bytes.
    Bytes(Vec<u8>),
    /// An ordered list of values.
    Array(Vec<AttributeValue>),
    /// Nested key/value pairs.
    KvList(Attributes),
}

impl AttributeValue {
    /// The value as text, the way it is matched by equality filters: strings as they are,
    /// numbers and booleans in their usual notation, bytes as hex, arrays and maps as JSON.
    pub fn to_text(&self) -> String {
        match self {
            AttributeValue::String(s) => s.clone(),
            AttributeValue::Bool(b) => b.to_string(),
            AttributeValue::Int(i) => i.to_string(),
            AttributeValue::Double(d) => d.to_string(),
            AttributeValue::Bytes(b) => crate::ids::hex_encode(b),
            other => other.to_json().to_string(),
        }
    }

    /// The string inside, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            AttributeValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// Converts to JSON.
    pub fn to_json(&self) -> Value {
        match self {
            AttributeValue::String(s) => Value::String(s.clone()),
            AttributeValue::Bool(b) => Value::Bool(*b),
            AttributeValue::Int(i) => Value::from(*i),
            AttributeValue::Double(d) => serde_json::Number::from_f64(*d)
                .map(Value::Number)
                .unwrap_or_else(|| Value::String(d.to_string())),
            AttributeValue::Bytes(b) => Value::String(crate::ids::hex_encode(b)),
            AttributeValue::Array(a) => Value::Array(a.iter().map(Self::to_json).collect()),
            AttributeValue::KvList(m) => {
                Value::Object(m.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
            }
        }
    }

    /// Reads a value from JSON, recording problems (such as `null`) under `path`.
    pub fn from_json(v: &Value, path: &str, errors: &mut ValidationErrors) -> Option<Self> {
        Some(match v {
            Value::String(s) => AttributeValue::String(s.clone()),
            Value::Bool(b) => AttributeValue::Bool(*b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => AttributeValue::Int(i),
                None => AttributeValue::Double(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    if let Some(x) = Self::from_json(item, &format!("{path}[{i}]"), errors) {
                        out.push(x);
                    }
                }
                AttributeValue::Array(out)
            }
            Value::Object(_) => AttributeValue::KvList(attributes_from_json(v, path, errors)),
            Value::Null => {
                errors.push(
                    path,
                    "attribute values cannot be null; omit the key instead",
                );
                return None;
            }
        })
    }
}

impl fmt::Display for AttributeValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

impl From<&str> for AttributeValue {
    fn from(s: &str) -> Self {
        AttributeValue::String(s.to_string())
    }
}
impl From<String> for AttributeValue {
    fn from(s: String) -> Self {
        AttributeValue::String(s)
    }
}
impl From<i64> for AttributeValue {
    fn from(i: i64) -> Self {
        AttributeValue::Int(i)
    }
}
impl From<f64> for AttributeValue {
    fn from(d: f64) -> Self {
        AttributeValue::Double(d)
    }
}
impl From<bool> for AttributeValue {
    fn from(b: bool) -> Self {
        AttributeValue::Bool(b)
    }
}

impl serde::Serialize for AttributeValue {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for AttributeValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        let mut errors = ValidationErrors::new();
        match Self::from_json(&v, "", &mut errors) {
            Some(a) if errors.is_empty() => Ok(a),
            _ => Err(serde::de::Error::custom(errors)),
        }
    }
}

/// Reads an attribute map from a JSON object, recording problems under `path`.
pub fn attributes_from_json(v: &Value, path: &str, errors: &mut ValidationErrors) -> Attributes {
    let mut out = Attributes::new();
    match v {
        Value::Object(obj) => {
            for (k, val) in obj {
                let p = crate::json::join(path, k);
                if k.is_empty() {
                    errors.push(p, "attribute keys cannot be empty");
                    continue;
                }
                if let Some(a) = AttributeValue::from_json(val, &p, errors) {
                    out.insert(k.clone(), a);
                }
            }
        }
        Value::Null => {}
        other => errors.push(
            path,
            format!(
                "expected an object of attributes, found {}",
                type_name(other)
            ),
        ),
    }
    out
}

/// Serde helper: attributes as a JSON object.
pub(crate) fn attributes_to_json(a: &Attributes) -> Value {
    Value::Object(a.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_types_map_to_otlp_types() {
        let v: Value = serde_json::json!({"s": "x", "b": true, "i": 3, "d": 2.5, "a": [1, "y"], "m": {"k": 1}});
        let mut errs = ValidationErrors::new();
        let a = attributes_from_json(&v, "attributes", &mut errs);
        assert!(errs.is_empty());
        assert_eq!(a["s"], AttributeValue::String("x".into()));
        assert_eq!(a["b"], AttributeValue::Bool(true));
        assert_eq!(a["i"], AttributeValue::Int(3));
        assert_eq!(a["d"], AttributeValue::Double(2.5));
        assert_eq!(attributes_to_json(&a), v);
    }

    #[test]
    fn null_values_are_reported_with_path() {
        let v: Value = serde_json::json!({"ok": 1, "bad": null, "nested": {"x": null}});
        let mut errs = ValidationErrors::new();
        let a = attributes_from_json(&v, "attributes", &mut errs);
        assert_eq!(a.len(), 2);
        let fields: Vec<_> = errs.errors().iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["attributes.bad", "attributes.nested.x"]);
    }
}
