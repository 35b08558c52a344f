//! Test kits for stores and servers (feature `testkit`). At the top level, the golden queries: a small data set of logs, spans and metric points
//! and some hundred queries with their recorded results (`tests/golden/data.json`,
//! `tests/golden/queries.golden`, built into the crate). Any [`Queryable`] store must give the
//! recorded results; this crate checks its memory store, the server's tests RocksDB, and a
//! third-party backend can run the same check:
//!
//! ```
//! use heimsight_query::testkit;
//!
//! let store = heimsight_store::MemoryStore::new();
//! testkit::load(&store);
//! let failures = testkit::check_all(&store);
//! assert!(failures.is_empty(), "{}", failures.join("\n"));
//! ```
//!
//! [`pushdown`] is the planner's property test over any data set.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::missing_panics_doc)]

pub mod pushdown;

use heimsight_core::{LogRecord, MetricPoint, Span};
use serde_json::Value;

use crate::engine::{Queryable, Request, run};

/// The golden data set as JSON (`tests/golden/data.json`): `{"logs": […], "spans": […],
/// "metrics": […]}` in the REST API's shapes.
pub const DATA: &str = include_str!("../../tests/golden/data.json");

/// The golden cases (`tests/golden/queries.golden`): `== title`, the query, then
/// `-- columns: name type, …` and `-- rows:` (one JSON array per line) or `-- error: text`.
pub const QUERIES: &str = include_str!("../../tests/golden/queries.golden");

/// The golden data set: logs, spans and metric points.
pub fn data() -> (Vec<LogRecord>, Vec<Span>, Vec<MetricPoint>) {
    let v: Value = serde_json::from_str(DATA).expect("data.json is JSON");
    let logs = v["logs"]
        .as_array()
        .expect("logs")
        .iter()
        .map(|x| LogRecord::from_json(x).expect("valid log"))
        .collect();
    let spans = v["spans"]
        .as_array()
        .expect("spans")
        .iter()
        .map(|x| Span::from_json(x).expect("valid span"))
        .collect();
    let points = v["metrics"]
        .as_array()
        .expect("metrics")
        .iter()
        .map(|x| MetricPoint::from_json(x).expect("valid point"))
        .collect();
    (logs, spans, points)
}

/// Loads the data set into `store`.
pub fn load<S: Queryable + ?Sized>(store: &S) {
    let (logs, spans, points) = data();
    store.append_logs(logs).expect("logs");
    store.append_spans(spans).expect("spans");
    store.append_points(points).expect("points");
}

/// One case of the golden file.
#[derive(Debug)]
pub struct Case {
    /// The line after `== `.
    pub title: String,
    /// The query text.
    pub query: String,
    /// The expected columns as (name, type), when the case gives them.
    pub columns: Option<Vec<(String, String)>>,
    /// The expected rows, for a case that succeeds.
    pub rows: Option<Vec<Value>>,
    /// Text the error must contain, for a case that fails.
    pub error: Option<String>,
}

/// The cases of [`QUERIES`].
pub fn cases() -> Vec<Case> {
    let text = QUERIES;
    let mut cases: Vec<Case> = Vec::new();
    let mut in_rows = false;
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if let Some(title) = line.strip_prefix("== ") {
            cases.push(Case {
                title: title.to_string(),
                query: String::new(),
                columns: None,
                rows: None,
                error: None,
            });
            in_rows = false;
            continue;
        }
        let case = cases.last_mut().expect("a case starts with ==");
        if let Some(cols) = line.strip_prefix("-- columns:") {
            case.columns = Some(
                cols.split(',')
                    .map(|c| {
                        let mut it = c.split_whitespace();
                        (
                            it.next().expect("column name").to_string(),
                            it.next().expect("column type").to_string(),
                        )
                    })
                    .collect(),
            );
        } else if line.starts_with("-- rows:") {
            case.rows = Some(Vec::new());
            in_rows = true;
        } else if let Some(e) = line.strip_prefix("-- error:") {
            case.error = Some(e.trim().to_string());
        } else if in_rows {
            let row: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{}: bad row {line}: {e}", case.title));
            case.rows.as_mut().expect("rows").push(row);
        } else {
            if !case.query.is_empty() {
                case.query.push('\n');
            }
            case.query.push_str(line);
        }
    }
    cases
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x.is_f64() == y.is_f64()
                && match (x.as_f64(), y.as_f64()) {
                    (Some(a), Some(b)) => (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0),
                    _ => x == y,
                }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// Runs every case against `store` (already loaded with [`load`]); returns the failures, one
/// line of text each.
pub fn check_all<S: Queryable + ?Sized>(store: &S) -> Vec<String> {
    let mut failures = Vec::new();
    let cases = cases();
    assert!(cases.len() > 30, "only {} golden cases", cases.len());
    for case in cases {
        let req = Request::new(&case.query);
        match (run(store, &req), &case.error) {
            (Ok(out), None) => {
                let json = out.to_json();
                if let Some(cols) = &case.columns {
                    let got: Vec<(String, String)> = json["columns"]
                        .as_array()
                        .expect("columns")
                        .iter()
                        .map(|c| {
                            (
                                c["name"].as_str().unwrap_or("").to_string(),
                                c["type"].as_str().unwrap_or("").to_string(),
                            )
                        })
                        .collect();
                    if &got != cols {
                        failures.push(format!(
                            "{}: columns {got:?}, expected {cols:?}",
                            case.title
                        ));
                    }
                }
                let want = Value::Array(case.rows.clone().unwrap_or_default());
                if !same(&json["rows"], &want) {
                    failures.push(format!(
                        "{}:\n  query: {}\n  rows: {}\n  expected: {}",
                        case.title, case.query, json["rows"], want
                    ));
                }
            }
            (Ok(out), Some(e)) => failures.push(format!(
                "{}: expected an error containing {e:?}, got rows {}",
                case.title,
                out.to_json()["rows"]
            )),
            (Err(err), Some(e)) => {
                if !err.to_string().contains(e.as_str()) {
                    failures.push(format!(
                        "{}: error {err} does not contain {e:?}",
                        case.title
                    ));
                }
            }
            (Err(err), None) => failures.push(format!("{}: failed: {err}", case.title)),
        }
    }
    failures
}
