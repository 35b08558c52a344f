//! Values of the query language: what expressions evaluate to and result sets hold.
//!
//! [`Value`] has two notions of sameness:
//! - [`PartialEq`]/[`Eq`]/[`Hash`] are *identity*: same variant and same contents (floats by
//!   value, with `-0.0 == 0.0` and NaN equal to itself). `Int(1)` and `Float(1.0)` are
//!   different. Group keys and `count(DISTINCT x)` use this.
//! - [`Value::sql_eq`] and [`Value::sql_cmp`] are SQL's: NULL compares as unknown and numbers
//!   compare across `Int` and `Float`.
//!
//! [`Value::total_cmp`] is the total order of `ORDER BY`, `min` and `max`.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

use heimsight_core::AttributeValue;

use crate::schema::Type;

/// A value in a query.
#[derive(Debug, Clone)]
pub enum Value {
    /// SQL `NULL`: missing or unknown.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A 64-bit signed integer.
    Int(i64),
    /// A 64-bit float (may be NaN or infinite).
    Float(f64),
    /// Text.
    String(String),
    /// A point in time, nanoseconds since the Unix epoch (UTC).
    Timestamp(i64),
    /// A length of time in nanoseconds.
    Duration(i64),
    /// Key/value pairs sorted by key (the `attributes` and `resource` columns).
    Map(Vec<(String, Value)>),
}

impl Value {
    /// True for [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The type of this value ([`Type::Null`] for `NULL`).
    pub fn type_of(&self) -> Type {
        match self {
            Value::Null => Type::Null,
            Value::Bool(_) => Type::Bool,
            Value::Int(_) => Type::Int,
            Value::Float(_) => Type::Float,
            Value::String(_) => Type::String,
            Value::Timestamp(_) => Type::Timestamp,
            Value::Duration(_) => Type::Duration,
            Value::Map(_) => Type::Map,
        }
    }

    /// The value as a float, for `Int` and `Float`.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// The string inside, for `String`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The value as text: strings as they are, everything else as [`fmt::Display`] writes it.
    pub fn to_text(&self) -> Cow<'_, str> {
        match self {
            Value::String(s) => Cow::Borrowed(s),
            other => Cow::Owned(other.to_string()),
        }
    }

    /// Converts to JSON: `NULL` is `null`; timestamps are RFC 3339 strings with nanoseconds in
    /// UTC (`2026-11-26T01:02:03.000000004Z`); durations are integer nanoseconds; NaN and
    /// infinite floats are the strings `"NaN"`, `"+Inf"`, `"-Inf"`; maps are objects.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Float(f) => heimsight_core::metric::f64_json(*f),
            Value::String(s) => serde_json::Value::String(s.clone()),
            Value::Timestamp(t) => {
                serde_json::Value::String(heimsight_core::Timestamp(*t).to_rfc3339())
            }
            Value::Duration(d) => serde_json::Value::from(*d),
            Value::Map(m) => {
                serde_json::Value::Object(m.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
            }
        }
    }

    /// The total order of `ORDER BY ... ASC`, `min` and `max`: `NULL` sorts after everything;
    /// `Int` and `Float` compare by numeric value (exactly, without rounding the integer), NaN
    /// after every other number; values of different kinds sort by kind: booleans, numbers,
    /// strings, timestamps, durations, maps.
    pub fn total_cmp(&self, other: &Value) -> Ordering {
        match (self, other) {
            (Value::Null, Value::Null) => Ordering::Equal,
            (Value::Null, _) => Ordering::Greater,
            (_, Value::Null) => Ordering::Less,
            (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
            (Value::Int(a), Value::Int(b)) => a.cmp(b),
            (Value::Float(a), Value::Float(b)) => cmp_f64(*a, *b),
            (Value::Int(a), Value::Float(b)) => cmp_int_float(*a, *b),
            (Value::Float(a), Value::Int(b)) => cmp_int_float(*b, *a).reverse(),
            (Value::String(a), Value::String(b)) => a.cmp(b),
            (Value::Timestamp(a), Value::Timestamp(b)) => a.cmp(b),
            (Value::Duration(a), Value::Duration(b)) => a.cmp(b),
            (Value::Map(a), Value::Map(b)) => {
                for ((ka, va), (kb, vb)) in a.iter().zip(b) {
                    let o = ka.cmp(kb).then_with(|| va.total_cmp(vb));
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                a.len().cmp(&b.len())
            }
            (a, b) => a.rank().cmp(&b.rank()),
        }
    }

    /// SQL comparison of two values of the same kind (numbers across `Int` and `Float`):
    /// `None` when either is `NULL` or the kinds differ.
    pub fn sql_cmp(&self, other: &Value) -> Option<Ordering> {
        if self.is_null() || other.is_null() || self.rank() != other.rank() {
            return None;
        }
        Some(self.total_cmp(other))
    }

    /// SQL equality: `None` (unknown) when either side is `NULL` or the kinds differ.
    pub fn sql_eq(&self, other: &Value) -> Option<bool> {
        self.sql_cmp(other).map(Ordering::is_eq)
    }

    /// Sort rank of the kind, for ordering values of different kinds.
    fn rank(&self) -> u8 {
        match self {
            Value::Bool(_) => 0,
            Value::Int(_) | Value::Float(_) => 1,
            Value::String(_) => 2,
            Value::Timestamp(_) => 3,
            Value::Duration(_) => 4,
            Value::Map(_) => 5,
            Value::Null => 6,
        }
    }
}

/// Floats in total order: numbers by value (`-0.0 == 0.0`), NaN after every number.
fn cmp_f64(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}

/// Compares an integer with a float exactly (`i as f64` would round large integers).
fn cmp_int_float(i: i64, f: f64) -> Ordering {
    if f.is_nan() {
        return Ordering::Less;
    }
    // 2^63: every i64 is below it, and it is exactly representable.
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if f >= TWO_63 {
        return Ordering::Less;
    }
    if f < -TWO_63 {
        return Ordering::Greater;
    }
    // Now f's integer part fits in an i64.
    let t = f.trunc();
    let ti = t as i64;
    match i.cmp(&ti) {
        Ordering::Equal => 0.0_f64.partial_cmp(&(f - t)).unwrap_or(Ordering::Equal),
        o => o,
    }
}

/// Canonical bits of a float for identity: `-0.0` as `0.0`, one NaN.
fn float_key(f: f64) -> u64 {
    if f.is_nan() {
        f64::NAN.to_bits()
    } else if f == 0.0 {
        0
    } else {
        f.to_bits()
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Null, Value::Null) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => float_key(*a) == float_key(*b),
            (Value::String(a), Value::String(b)) => a == b,
            (Value::Timestamp(a), Value::Timestamp(b)) => a == b,
            (Value::Duration(a), Value::Duration(b)) => a == b,
            (Value::Map(a), Value::Map(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for Value {}

impl Hash for Value {
    fn hash<H: Hasher>(&self, state: &mut H) {
        std::mem::discriminant(self).hash(state);
        match self {
            Value::Null => {}
            Value::Bool(b) => b.hash(state),
            Value::Int(i) | Value::Timestamp(i) | Value::Duration(i) => i.hash(state),
            Value::Float(f) => float_key(*f).hash(state),
            Value::String(s) => s.hash(state),
            Value::Map(m) => m.hash(state),
        }
    }
}

/// Writes `NULL`, `true`, numbers as Rust prints them, strings as they are, timestamps in RFC
/// 3339, durations in the query language's notation (`1h30m`, `250ms`, `-5s`, `0s`) and maps
/// as JSON.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::String(s) => f.write_str(s),
            Value::Timestamp(t) => f.write_str(&heimsight_core::Timestamp(*t).to_rfc3339()),
            Value::Duration(d) => f.write_str(&format_duration(*d)),
            Value::Map(_) => write!(f, "{}", self.to_json()),
        }
    }
}

/// Formats nanoseconds in the query language's duration notation: `1h30m`, `1s500ms`, `2d`,
/// `0s` ([`heimsight_core::Duration`]'s text form).
pub fn format_duration(nanos: i64) -> String {
    heimsight_core::Duration::from_nanos(nanos).to_string()
}

impl From<&AttributeValue> for Value {
    /// Strings, booleans, integers and doubles keep their type; bytes, arrays and nested maps
    /// become their text ([`AttributeValue::to_text`]).
    fn from(a: &AttributeValue) -> Value {
        match a {
            AttributeValue::String(s) => Value::String(s.clone()),
            AttributeValue::Bool(b) => Value::Bool(*b),
            AttributeValue::Int(i) => Value::Int(*i),
            AttributeValue::Double(d) => Value::Float(*d),
            other => Value::String(other.to_text()),
        }
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Int(i)
    }
}

impl From<f64> for Value {
    fn from(f: f64) -> Value {
        Value::Float(f)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(o: Option<T>) -> Value {
        o.map_or(Value::Null, Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_compare_exactly_across_int_and_float() {
        assert_eq!(Value::Int(1).total_cmp(&Value::Float(1.5)), Ordering::Less);
        assert_eq!(Value::Float(2.0).total_cmp(&Value::Int(2)), Ordering::Equal);
        assert_eq!(
            Value::Int(-3).total_cmp(&Value::Float(-3.5)),
            Ordering::Greater
        );
        // i64::MAX as f64 rounds up to 2^63; the exact comparison does not.
        assert_eq!(
            Value::Int(i64::MAX).total_cmp(&Value::Float(i64::MAX as f64)),
            Ordering::Less
        );
        assert_eq!(
            Value::Int(i64::MAX - 1).total_cmp(&Value::Float(f64::NAN)),
            Ordering::Less
        );
        assert_eq!(
            Value::Float(f64::INFINITY).total_cmp(&Value::Int(i64::MAX)),
            Ordering::Greater
        );
    }

    #[test]
    fn null_sorts_last_and_kinds_apart() {
        let mut v = vec![
            Value::Null,
            Value::String("b".into()),
            Value::Int(3),
            Value::Float(0.5),
            Value::Bool(true),
            Value::String("a".into()),
        ];
        v.sort_by(Value::total_cmp);
        assert_eq!(
            v,
            [
                Value::Bool(true),
                Value::Float(0.5),
                Value::Int(3),
                Value::String("a".into()),
                Value::String("b".into()),
                Value::Null
            ]
        );
        assert_eq!(Value::Null.sql_eq(&Value::Null), None);
        assert_eq!(Value::Int(2).sql_eq(&Value::Float(2.0)), Some(true));
        assert_eq!(Value::Int(2).sql_eq(&Value::String("2".into())), None);
    }

    #[test]
    fn identity_hash_and_eq() {
        use std::collections::HashSet;
        let set: HashSet<Value> = [
            Value::Float(0.0),
            Value::Float(-0.0),
            Value::Float(f64::NAN),
            Value::Float(f64::NAN),
            Value::Int(0),
        ]
        .into_iter()
        .collect();
        assert_eq!(set.len(), 3);
    }

    #[test]
    fn json_forms() {
        assert_eq!(
            Value::Timestamp(1_795_654_923_000_000_004).to_json(),
            serde_json::json!("2026-11-26T01:02:03.000000004Z")
        );
        assert_eq!(Value::Duration(1_500).to_json(), serde_json::json!(1_500));
        assert_eq!(Value::Float(f64::NAN).to_json(), serde_json::json!("NaN"));
        assert_eq!(
            Value::Map(vec![("a".into(), Value::Int(1)), ("b".into(), Value::Null)]).to_json(),
            serde_json::json!({"a": 1, "b": null})
        );
    }

    #[test]
    fn durations_print_in_query_notation() {
        assert_eq!(format_duration(0), "0s");
        assert_eq!(format_duration(5_400_000_000_000), "1h30m");
        assert_eq!(format_duration(1_500_000_000), "1s500ms");
        assert_eq!(format_duration(-2_000), "-2us");
        assert_eq!(
            heimsight_core::parse_duration_nanos(&format_duration(3_723_004_005_006)).ok(),
            Some(3_723_004_005_006)
        );
    }

    #[test]
    fn attribute_values_convert() {
        assert_eq!(Value::from(&AttributeValue::Double(2.5)), Value::Float(2.5));
        assert_eq!(
            Value::from(&AttributeValue::Array(vec![AttributeValue::Int(1)])),
            Value::String("[1]".into())
        );
    }
}
