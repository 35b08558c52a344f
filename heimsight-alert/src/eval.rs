//! Running a rule's query: rows become samples (labels + value).

use std::collections::BTreeMap;

use heimsight_core::Timestamp;
use heimsight_query::engine::Queryable;
use heimsight_query::{Request, ResultSet, Value};

use crate::rule::{Rule, RuleKind, TraceMeasure};
use crate::{Error, Result};

/// One row of a rule's query: its label columns and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The label columns (name → value as text); NULL labels are left out.
    pub labels: BTreeMap<String, String>,
    /// The value (durations in milliseconds, booleans as 0/1); `None` when NULL.
    pub value: Option<f64>,
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        Value::Duration(ns) => Some(*ns as f64 / 1e6),
        Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        _ => None,
    }
}

fn label_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Timestamp(t) => Some(Timestamp(*t).to_rfc3339()),
        other => Some(other.to_json().to_string().trim_matches('"').to_string()),
    }
}

/// Turns a result into samples: the value is the column named `value`, else the last numeric
/// column; every other column is a label.
pub fn samples(result: &ResultSet) -> Vec<Sample> {
    let cols = &result.columns;
    let by_name = cols
        .iter()
        .position(|c| c.name.eq_ignore_ascii_case("value"));
    let value_col = by_name.or_else(|| {
        // The last column holding a number in any row.
        (0..cols.len()).rev().find(|&i| {
            result
                .rows
                .iter()
                .any(|r| r.get(i).and_then(number).is_some())
        })
    });
    result
        .rows
        .iter()
        .map(|row| {
            let mut labels = BTreeMap::new();
            for (i, c) in cols.iter().enumerate() {
                if Some(i) == value_col {
                    continue;
                }
                if let Some(t) = row.get(i).and_then(label_text) {
                    labels.insert(c.name.clone(), t);
                }
            }
            Sample {
                labels,
                value: value_col.and_then(|i| row.get(i)).and_then(number),
            }
        })
        .collect()
}

/// Runs the rule's query over its window ending at `now` and returns its samples (for trace
/// rules measuring the error rate, the per-status counts are folded into one rate per group).
pub fn evaluate<S: Queryable + ?Sized>(
    store: &S,
    rule: &Rule,
    now: Timestamp,
) -> Result<Vec<Sample>> {
    let failed = |message: String| Error::Query {
        rule: rule.spec.name.clone(),
        message,
    };
    // The statement built when the rule was read: nothing is parsed here.
    let checked = rule
        .compiled()
        .checked()
        .map_err(|e| failed(e.to_string()))?;
    let mut req = Request::new(rule.compiled().text());
    req.now = now;
    req.start = Some(Timestamp(now.0.saturating_sub(rule.spec.window.as_nanos())));
    req.end = Some(Timestamp(now.0.saturating_add(1)));
    let out = heimsight_query::run_checked(store, &req, checked.clone())
        .map_err(|e| failed(e.to_string()))?;
    let rows = samples(&out.result);
    if let RuleKind::Trace {
        measure: TraceMeasure::ErrorRate,
        ..
    } = rule.spec.kind
    {
        let mut groups: BTreeMap<BTreeMap<String, String>, (f64, f64)> = BTreeMap::new();
        for mut s in rows {
            let is_error = s.labels.remove("status").as_deref() == Some("error");
            let e = groups.entry(s.labels).or_default();
            let n = s.value.unwrap_or(0.0);
            e.1 += n;
            if is_error {
                e.0 += n;
            }
        }
        return Ok(groups
            .into_iter()
            .map(|(labels, (err, total))| Sample {
                labels,
                value: (total > 0.0).then(|| err / total),
            })
            .collect());
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rule::RuleSpec;
    use heimsight_core::{Level, LogRecord};
    use heimsight_store::{LogStore, MemoryStore};
    use serde_json::json;

    const S: i64 = 1_000_000_000;

    #[test]
    fn log_pattern_counts_per_group_within_the_window() {
        let store = MemoryStore::new();
        let now = Timestamp(1_800_000_000 * S);
        let mut logs = Vec::new();
        for (age, svc, msg) in [
            (10, "api", "connection refused"),
            (20, "api", "connection refused again"),
            (30, "db", "connection refused"),
            (400, "api", "connection refused long ago"),
            (5, "api", "all good"),
        ] {
            let mut r = LogRecord::new(Timestamp(now.0 - age * S), Level::Error, msg);
            r.service = svc.into();
            logs.push(r);
        }
        store.append_logs(logs).unwrap();
        let spec = RuleSpec::from_json(&json!({
            "name": "refused", "kind": "log_pattern", "pattern": "refused",
            "group_by": ["service"], "window": "5m", "condition": {"threshold": 1}
        }))
        .unwrap();
        let rule = Rule::new(&spec, "r", now).unwrap();
        let mut got = evaluate(&store, &rule, now).unwrap();
        got.sort_by(|a, b| a.labels.cmp(&b.labels));
        let flat: Vec<_> = got
            .iter()
            .map(|s| (s.labels["service"].as_str(), s.value))
            .collect();
        assert_eq!(flat, [("api", Some(2.0)), ("db", Some(1.0))]);
    }
}
