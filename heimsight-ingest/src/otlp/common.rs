//! Pieces shared by the three signals: attribute values, ids, resources and scopes.

use std::sync::Arc;

use heimsight_core::{AttributeValue, Attributes, Scope, SharedAttributes, SpanId, TraceId};
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, any_value,
};
use opentelemetry_proto::tonic::resource::v1::Resource;

/// Resource attribute holding a `Resource*.schema_url` (only when non-empty).
pub const RESOURCE_SCHEMA_URL: &str = "otel.resource.schema_url";
/// Resource attribute holding a resource's `dropped_attributes_count` (only when non-zero).
pub const RESOURCE_DROPPED: &str = "otel.resource.dropped_attributes_count";
/// Scope attribute holding a `Scope*.schema_url` (only when non-empty).
pub const SCOPE_SCHEMA_URL: &str = "otel.scope.schema_url";
/// Scope attribute holding a scope's `dropped_attributes_count` (only when non-zero).
pub const SCOPE_DROPPED: &str = "otel.scope.dropped_attributes_count";

/// What the records (or spans) of one OTLP scope share.
pub(crate) struct Source<'a> {
    pub(crate) service: &'a str,
    pub(crate) resource: &'a SharedAttributes,
    pub(crate) scope: &'a Arc<Scope>,
}

/// Converts an OTLP `AnyValue`. An empty value (no variant set) becomes an empty string;
/// string-table references (used only by profiles) become their integer index.
pub fn value_from_otlp(v: &AnyValue) -> AttributeValue {
    value_from_otlp_owned(v.clone())
}

/// [`value_from_otlp`] taking the value: strings and bytes are moved, not copied.
pub fn value_from_otlp_owned(v: AnyValue) -> AttributeValue {
    match v.value {
        None => AttributeValue::String(String::new()),
        Some(any_value::Value::StringValue(s)) => AttributeValue::String(s),
        Some(any_value::Value::BoolValue(b)) => AttributeValue::Bool(b),
        Some(any_value::Value::IntValue(i)) => AttributeValue::Int(i),
        Some(any_value::Value::DoubleValue(d)) => AttributeValue::Double(d),
        Some(any_value::Value::BytesValue(b)) => AttributeValue::Bytes(b),
        Some(any_value::Value::ArrayValue(a)) => {
            AttributeValue::Array(a.values.into_iter().map(value_from_otlp_owned).collect())
        }
        Some(any_value::Value::KvlistValue(kv)) => {
            AttributeValue::KvList(attributes_from_otlp_owned(kv.values))
        }
        Some(any_value::Value::StringValueStrindex(i)) => AttributeValue::Int(i64::from(i)),
    }
}

/// Converts a value back to an OTLP `AnyValue`.
pub fn value_to_otlp(v: &AttributeValue) -> AnyValue {
    let value = match v {
        AttributeValue::String(s) => any_value::Value::StringValue(s.clone()),
        AttributeValue::Bool(b) => any_value::Value::BoolValue(*b),
        AttributeValue::Int(i) => any_value::Value::IntValue(*i),
        AttributeValue::Double(d) => any_value::Value::DoubleValue(*d),
        AttributeValue::Bytes(b) => any_value::Value::BytesValue(b.clone()),
        AttributeValue::Array(items) => any_value::Value::ArrayValue(ArrayValue {
            values: items.iter().map(value_to_otlp).collect(),
        }),
        AttributeValue::KvList(m) => any_value::Value::KvlistValue(KeyValueList {
            values: attributes_to_otlp(m),
        }),
    };
    AnyValue { value: Some(value) }
}

/// Converts OTLP key/value pairs; when a key repeats, the last value wins.
pub fn attributes_from_otlp(kvs: &[KeyValue]) -> Attributes {
    attributes_from_otlp_owned(kvs.to_vec())
}

/// [`attributes_from_otlp`] taking the pairs: keys and values are moved, not copied.
pub fn attributes_from_otlp_owned(kvs: Vec<KeyValue>) -> Attributes {
    kvs.into_iter()
        .map(|kv| {
            let v = kv
                .value
                .map_or(AttributeValue::String(String::new()), value_from_otlp_owned);
            (kv.key, v)
        })
        .collect()
}

/// Converts attributes to OTLP key/value pairs (sorted by key).
pub fn attributes_to_otlp(a: &Attributes) -> Vec<KeyValue> {
    a.iter()
        .map(|(k, v)| KeyValue {
            key: k.clone(),
            value: Some(value_to_otlp(v)),
            ..KeyValue::default()
        })
        .collect()
}

/// Resource attributes of an OTLP resource, with its schema URL and dropped count folded in
/// under [`RESOURCE_SCHEMA_URL`] and [`RESOURCE_DROPPED`] when set.
pub fn resource_from_otlp(r: Option<&Resource>, schema_url: &str) -> Attributes {
    let mut a = r.map_or_else(Attributes::new, |r| attributes_from_otlp(&r.attributes));
    if let Some(r) = r
        && r.dropped_attributes_count != 0
    {
        a.insert(
            RESOURCE_DROPPED.into(),
            AttributeValue::Int(i64::from(r.dropped_attributes_count)),
        );
    }
    if !schema_url.is_empty() {
        a.insert(
            RESOURCE_SCHEMA_URL.into(),
            AttributeValue::String(schema_url.into()),
        );
    }
    a
}

/// The OTLP resource and schema URL of resource attributes (inverse of
/// [`resource_from_otlp`]).
pub fn resource_to_otlp(a: &Attributes) -> (Resource, String) {
    let mut a = a.clone();
    let schema = take_string(&mut a, RESOURCE_SCHEMA_URL);
    let dropped = take_u32(&mut a, RESOURCE_DROPPED);
    (
        Resource {
            attributes: attributes_to_otlp(&a),
            dropped_attributes_count: dropped,
            ..Resource::default()
        },
        schema,
    )
}

/// Converts an instrumentation scope, folding its schema URL and dropped count into its
/// attributes under [`SCOPE_SCHEMA_URL`] and [`SCOPE_DROPPED`] when set.
pub fn scope_from_otlp(s: Option<&InstrumentationScope>, schema_url: &str) -> Scope {
    let mut scope = s.map_or_else(Scope::default, |s| Scope {
        name: s.name.clone(),
        version: s.version.clone(),
        attributes: attributes_from_otlp(&s.attributes),
    });
    if let Some(s) = s
        && s.dropped_attributes_count != 0
    {
        scope.attributes.insert(
            SCOPE_DROPPED.into(),
            AttributeValue::Int(i64::from(s.dropped_attributes_count)),
        );
    }
    if !schema_url.is_empty() {
        scope.attributes.insert(
            SCOPE_SCHEMA_URL.into(),
            AttributeValue::String(schema_url.into()),
        );
    }
    scope
}

/// The OTLP scope and schema URL of a scope (inverse of [`scope_from_otlp`]).
pub fn scope_to_otlp(s: &Scope) -> (Option<InstrumentationScope>, String) {
    if s.is_empty() {
        return (None, String::new());
    }
    let mut a = s.attributes.clone();
    let schema = take_string(&mut a, SCOPE_SCHEMA_URL);
    let dropped = take_u32(&mut a, SCOPE_DROPPED);
    let scope = InstrumentationScope {
        name: s.name.clone(),
        version: s.version.clone(),
        attributes: attributes_to_otlp(&a),
        dropped_attributes_count: dropped,
    };
    let empty = scope == InstrumentationScope::default();
    (if empty { None } else { Some(scope) }, schema)
}

/// Groups records by resource, then by scope, each in first-seen order: what an export
/// request nests. Neighbouring records usually share both, so the last group is tried first.
pub(crate) fn group_by_resource_and_scope<'a, T>(
    items: &'a [T],
    resource: impl Fn(&T) -> &Attributes,
    scope: impl Fn(&T) -> &Scope,
) -> Vec<Vec<Vec<&'a T>>> {
    let mut groups: Vec<Vec<Vec<&'a T>>> = Vec::new();
    for item in items {
        let same_resource = |g: &Vec<Vec<&T>>| resource(g[0][0]) == resource(item);
        let gi = match groups.last().filter(|g| same_resource(g)) {
            Some(_) => groups.len() - 1,
            None => match groups.iter().position(same_resource) {
                Some(gi) => gi,
                None => {
                    groups.push(Vec::new());
                    groups.len() - 1
                }
            },
        };
        let scopes = &mut groups[gi];
        match scopes.iter().position(|s| scope(s[0]) == scope(item)) {
            Some(si) => scopes[si].push(item),
            None => scopes.push(vec![item]),
        }
    }
    groups
}

/// Removes a string attribute, returning it (empty when absent or not a string).
pub(crate) fn take_string(a: &mut Attributes, key: &str) -> String {
    match a.remove(key) {
        Some(AttributeValue::String(s)) => s,
        Some(other) => {
            a.insert(key.into(), other);
            String::new()
        }
        None => String::new(),
    }
}

fn take_u32(a: &mut Attributes, key: &str) -> u32 {
    match a.remove(key) {
        Some(AttributeValue::Int(i)) => u32::try_from(i).unwrap_or(0),
        Some(other) => {
            a.insert(key.into(), other);
            0
        }
        None => 0,
    }
}

/// Reads an optional trace id: empty or all-zero bytes mean none; any length but 16 is an
/// error naming the field.
pub fn trace_id(field: &str, b: &[u8]) -> Result<Option<TraceId>, String> {
    match b.len() {
        0 => Ok(None),
        16 if b.iter().all(|x| *x == 0) => Ok(None),
        16 => TraceId::from_slice(b).map(Some),
        n => Err(format!(
            "{field}: expected 16 bytes (32 hex digits), found {n} bytes"
        )),
    }
}

/// Reads an optional span id: empty or all-zero bytes mean none; any length but 8 is an error
/// naming the field.
pub fn span_id(field: &str, b: &[u8]) -> Result<Option<SpanId>, String> {
    match b.len() {
        0 => Ok(None),
        8 if b.iter().all(|x| *x == 0) => Ok(None),
        8 => SpanId::from_slice(b).map(Some),
        n => Err(format!(
            "{field}: expected 8 bytes (16 hex digits), found {n} bytes"
        )),
    }
}

/// An OTLP time (Unix nanoseconds as `u64`) as a signed timestamp; times past the year 2262
/// do not fit and are an error.
pub fn time(field: &str, t: u64) -> Result<i64, String> {
    i64::try_from(t).map_err(|_| format!("{field}: {t} is out of range"))
}

/// A timestamp as an OTLP time (negative times become 0).
pub fn time_to_otlp(t: i64) -> u64 {
    u64::try_from(t).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip() {
        let v = AttributeValue::KvList(
            [
                ("a".to_string(), AttributeValue::Int(-3)),
                (
                    "b".to_string(),
                    AttributeValue::Array(vec![
                        AttributeValue::Bool(true),
                        AttributeValue::Double(0.25),
                        AttributeValue::Bytes(vec![1, 2, 255]),
                    ]),
                ),
                ("c".to_string(), AttributeValue::String("x".into())),
            ]
            .into_iter()
            .collect(),
        );
        assert_eq!(value_from_otlp(&value_to_otlp(&v)), v);
    }

    #[test]
    fn ids_of_wrong_length_are_named() {
        assert_eq!(trace_id("trace_id", &[]).unwrap(), None);
        assert_eq!(trace_id("trace_id", &[0; 16]).unwrap(), None);
        assert!(trace_id("trace_id", &[1; 16]).unwrap().is_some());
        let e = trace_id("trace_id", &[1; 5]).unwrap_err();
        assert_eq!(
            e,
            "trace_id: expected 16 bytes (32 hex digits), found 5 bytes"
        );
        let e = span_id("links[0].span_id", &[1; 9]).unwrap_err();
        assert!(e.starts_with("links[0].span_id: expected 8 bytes"), "{e}");
    }

    #[test]
    fn resource_and_scope_extras_round_trip() {
        let r = Resource {
            attributes: attributes_to_otlp(
                &[(
                    "service.name".to_string(),
                    AttributeValue::String("api".into()),
                )]
                .into_iter()
                .collect(),
            ),
            dropped_attributes_count: 3,
            ..Resource::default()
        };
        let a = resource_from_otlp(Some(&r), "https://opentelemetry.io/schemas/1.21.0");
        assert_eq!(a[RESOURCE_DROPPED], AttributeValue::Int(3));
        let (back, schema) = resource_to_otlp(&a);
        assert_eq!(back, r);
        assert_eq!(schema, "https://opentelemetry.io/schemas/1.21.0");

        let s = InstrumentationScope {
            name: "lib".into(),
            version: "1.2".into(),
            attributes: vec![],
            dropped_attributes_count: 1,
        };
        let core = scope_from_otlp(Some(&s), "");
        assert_eq!(scope_to_otlp(&core), (Some(s), String::new()));
    }
}
