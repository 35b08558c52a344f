//! Plain-JSON bodies of the REST API: one object, or an array of objects.
//!
//! Decoding is two-level. A body that is not JSON at all (invalid UTF-8, malformed JSON, a
//! string or number at the top level) is an [`Error`]. A body that is JSON is split into
//! items; each item is read with the `heimsight-core` `from_json` of its type, and every
//! problem of an item becomes an [`ItemError`] with the item's index and the field path, while
//! the valid items are returned in [`Batch::accepted`].

use std::collections::BTreeSet;

use heimsight_core::{LogRecord, MetricPoint, Span, ValidationErrors};
use heimsight_store::{LogStore, MetricStore, SpanStore};
use serde_json::Value;

use crate::error::{Error, Result};

/// One problem of one item of a batch.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ItemError {
    /// Position of the item in the body (0 for a body holding a single object).
    pub index: usize,
    /// Path of the field at fault inside the item (empty for the item as a whole).
    pub field: String,
    /// What is wrong with it.
    pub reason: String,
}

impl std::fmt::Display for ItemError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.field.is_empty() {
            write!(f, "item {}: {}", self.index, self.reason)
        } else {
            write!(f, "item {}: {}: {}", self.index, self.field, self.reason)
        }
    }
}

/// The decoded items of a body: the valid ones, and the problems of the others.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch<T> {
    /// The valid items, in body order.
    pub accepted: Vec<T>,
    /// Every problem of the invalid items, in body order; an item may have several.
    pub rejected: Vec<ItemError>,
}

impl<T> Default for Batch<T> {
    fn default() -> Self {
        Batch {
            accepted: Vec::new(),
            rejected: Vec::new(),
        }
    }
}

impl<T> Batch<T> {
    /// How many items were rejected (distinct indexes in [`Batch::rejected`]).
    pub fn rejected_items(&self) -> usize {
        self.rejected
            .iter()
            .map(|e| e.index)
            .collect::<BTreeSet<_>>()
            .len()
    }

    /// True when every item was valid.
    pub fn all_valid(&self) -> bool {
        self.rejected.is_empty()
    }
}

/// Decodes a body of log records.
pub fn decode_logs(body: &[u8]) -> Result<Batch<LogRecord>> {
    decode(body, LogRecord::from_json)
}

/// Decodes a body of spans (of any traces).
pub fn decode_spans(body: &[u8]) -> Result<Batch<Span>> {
    decode(body, Span::from_json)
}

/// Decodes a body of metric points.
pub fn decode_points(body: &[u8]) -> Result<Batch<MetricPoint>> {
    decode(body, MetricPoint::from_json)
}

/// What happened to a body sent to one of the `ingest_*` functions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Receipt {
    /// Items stored.
    pub accepted: usize,
    /// Items rejected.
    pub rejected_items: usize,
    /// The problems of the rejected items.
    pub errors: Vec<ItemError>,
}

impl Receipt {
    fn of<T>(batch: &Batch<T>) -> Receipt {
        Receipt {
            accepted: batch.accepted.len(),
            rejected_items: batch.rejected_items(),
            errors: batch.rejected.clone(),
        }
    }
}

/// Decodes a body of log records and appends the valid ones to `store`.
///
/// Returns an error only when the body as a whole is unreadable or the store fails; invalid
/// items are reported in the [`Receipt`].
pub fn ingest_logs<S: LogStore + ?Sized>(store: &S, body: &[u8]) -> Result<Receipt> {
    let batch = decode_logs(body)?;
    let receipt = Receipt::of(&batch);
    if !batch.accepted.is_empty() {
        store.append_logs(batch.accepted)?;
    }
    Ok(receipt)
}

/// Decodes a body of spans and appends the valid ones to `store`.
pub fn ingest_spans<S: SpanStore + ?Sized>(store: &S, body: &[u8]) -> Result<Receipt> {
    let batch = decode_spans(body)?;
    let receipt = Receipt::of(&batch);
    if !batch.accepted.is_empty() {
        store.append_spans(batch.accepted)?;
    }
    Ok(receipt)
}

/// Decodes a body of metric points and appends the valid ones to `store`.
pub fn ingest_points<S: MetricStore + ?Sized>(store: &S, body: &[u8]) -> Result<Receipt> {
    let batch = decode_points(body)?;
    let receipt = Receipt::of(&batch);
    if !batch.accepted.is_empty() {
        store.append_points(batch.accepted)?;
    }
    Ok(receipt)
}

/// Parses a body into its items: the object itself, or the elements of the array.
pub fn parse_items(body: &[u8]) -> Result<Vec<Value>> {
    match parse_json(body)? {
        Value::Array(items) => Ok(items),
        obj @ Value::Object(_) => Ok(vec![obj]),
        other => Err(Error::WrongTopLevel {
            found: heimsight_core::json_type_name(&other),
        }),
    }
}

/// Parses a body as one JSON value, with errors that name the problem (and for malformed
/// JSON, its line and column).
pub fn parse_json(body: &[u8]) -> Result<Value> {
    let text = std::str::from_utf8(body).map_err(|e| Error::InvalidUtf8 {
        offset: e.valid_up_to(),
    })?;
    if text.trim().is_empty() {
        return Err(Error::EmptyBody);
    }
    serde_json::from_str(text).map_err(|e| {
        let full = e.to_string();
        let suffix = format!(" at line {} column {}", e.line(), e.column());
        let reason = full.strip_suffix(&suffix).unwrap_or(&full).to_string();
        Error::MalformedJson {
            line: e.line(),
            column: e.column(),
            reason,
        }
    })
}

fn decode<T>(body: &[u8], read: fn(&Value) -> Result<T, ValidationErrors>) -> Result<Batch<T>> {
    let items = parse_items(body)?;
    let mut batch = Batch {
        accepted: Vec::with_capacity(items.len()),
        rejected: Vec::new(),
    };
    for (index, item) in items.iter().enumerate() {
        match read(item) {
            Ok(v) => batch.accepted.push(v),
            Err(errors) => {
                if errors.is_empty() {
                    // Defensive: a rejection always names at least one problem.
                    batch.rejected.push(ItemError {
                        index,
                        field: String::new(),
                        reason: "invalid item".into(),
                    });
                }
                batch
                    .rejected
                    .extend(errors.errors().iter().map(|e| ItemError {
                        index,
                        field: e.field.clone(),
                        reason: e.reason.clone(),
                    }));
            }
        }
    }
    if !batch.rejected.is_empty() {
        tracing::debug!(
            accepted = batch.accepted.len(),
            rejected = batch.rejected_items(),
            "decoded a batch with invalid items"
        );
    }
    Ok(batch)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use heimsight_store::{LogQuery, MemoryStore};

    #[test]
    fn one_object_or_an_array() {
        let b = decode_logs(br#"{"message": "hi"}"#).unwrap();
        assert_eq!(b.accepted.len(), 1);
        assert!(b.all_valid());
        let b = decode_logs(br#"[{"message": "a"}, {"message": "b"}]"#).unwrap();
        assert_eq!(b.accepted.len(), 2);
        let b = decode_logs(b"[]").unwrap();
        assert!(b.accepted.is_empty() && b.all_valid());
    }

    #[test]
    fn item_problems_are_reported_with_index_and_field() {
        let body =
            br#"[{"message": "ok"}, {"level": "loud"}, 7, {"message": "x", "trace_id": "abc"}]"#;
        let b = decode_logs(body).unwrap();
        assert_eq!(b.accepted.len(), 1);
        assert_eq!(b.rejected_items(), 3);
        let got: Vec<(usize, &str)> = b
            .rejected
            .iter()
            .map(|e| (e.index, e.field.as_str()))
            .collect();
        assert_eq!(
            got,
            [(1, "level"), (1, "message"), (2, ""), (3, "trace_id")]
        );
        assert!(b.rejected[2].reason.contains("found a number"));
    }

    #[test]
    fn body_level_errors_name_the_problem() {
        let e = decode_logs(b"[{\"message\": \"a\",}]").unwrap_err();
        let Error::MalformedJson { line, column, .. } = &e else {
            panic!("{e}")
        };
        assert_eq!((*line, *column), (1, 18));
        assert!(e.to_string().contains("line 1, column 18"), "{e}");

        let e = decode_logs(b"{\"message\": \"\xff\"}").unwrap_err();
        assert!(matches!(e, Error::InvalidUtf8 { offset: 13 }), "{e}");

        let e = decode_spans(b"\"a string\"").unwrap_err();
        assert_eq!(
            e.to_string(),
            "expected a JSON object or an array of objects, found a string"
        );
        assert!(matches!(
            decode_points(b"  \n").unwrap_err(),
            Error::EmptyBody
        ));
        assert!(e.is_client_error());
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let body = "[".repeat(100_000);
        let e = decode_logs(body.as_bytes()).unwrap_err();
        assert!(matches!(e, Error::MalformedJson { .. }), "{e}");
    }

    #[test]
    fn ingest_stores_the_valid_items() {
        let store = MemoryStore::new();
        let r = ingest_logs(&store, br#"[{"message": "a"}, {"message": ""}]"#).unwrap();
        assert_eq!((r.accepted, r.rejected_items), (1, 1));
        assert_eq!(r.errors[0].field, "message");
        assert_eq!(store.query_logs(&LogQuery::default()).unwrap().total, 1);

        let span =
            br#"{"trace_id": "5b8efff798038103d269b633813fc60c", "span_id": "eee19b7ec3c1b174",
            "name": "GET /", "start_time": 1000, "end_time": 2000}"#;
        assert_eq!(ingest_spans(&store, span).unwrap().accepted, 1);
        let point = br#"{"name": "cpu", "value": 0.5}"#;
        assert_eq!(ingest_points(&store, point).unwrap().accepted, 1);
    }
}
