//! Silences: label matchers and a time window during which matching alerts notify nobody
//! (they still change state, and the history says they were silenced).

use std::collections::BTreeMap;

use heimsight_core::api::{Matcher, SilenceStatus, SilenceView};
use heimsight_core::{FieldError, FieldReader, Timestamp, ValidationErrors, parse_duration_nanos};
use heimsight_store::{LabelMatcher, MatchOp};
use serde_json::Value;

/// A silence.
#[derive(Debug, Clone, PartialEq)]
pub struct Silence {
    /// Identifier.
    pub id: String,
    /// All must match an alert's labels (the rule's and the instance's, plus `alertname`,
    /// `severity` and `rule_id`).
    pub matchers: Vec<LabelMatcher>,
    /// Start of the window.
    pub starts_at: Timestamp,
    /// End of the window.
    pub ends_at: Timestamp,
    /// Who created it.
    pub created_by: String,
    /// Why.
    pub comment: String,
}

impl Silence {
    /// Builds a silence from the API's JSON: `{"matchers": [{"name", "value", "op"}],
    /// "starts_at", "ends_at" | "duration", "created_by", "comment"}`. `op` is `=`, `!=`, `=~`
    /// or `!~` (Alertmanager's `isRegex`/`isEqual` flags are accepted too).
    pub fn from_json(v: &Value, id: &str, now: Timestamp) -> Result<Silence, Vec<FieldError>> {
        let mut problems = ValidationErrors::new();
        let Some(mut r) = FieldReader::new(v, "", &mut problems, "") else {
            return Err(problems.0);
        };
        let mut matchers = Vec::new();
        match r.get(&["matchers"]).map(|(v, _)| v) {
            Some(Value::Array(ms)) if !ms.is_empty() => {
                for (i, m) in ms.iter().enumerate() {
                    if let Some(m) = read_matcher(&mut r, &format!("matchers[{i}]"), m) {
                        matchers.push(m);
                    }
                }
            }
            Some(Value::Array(_)) | None => r.err(
                "matchers",
                "at least one matcher is required, e.g. [{\"name\": \"service\", \"value\": \"api\"}]",
            ),
            Some(other) => r.wrong_type("matchers", "a list of matchers", other),
        }
        let mut time = |k: &str| -> Option<Timestamp> {
            let (v, _) = r.get(&[k])?;
            Timestamp::from_json(v).map_err(|e| r.err(k, e)).ok()
        };
        let starts_at = time("starts_at").unwrap_or(now);
        let ends_at = time("ends_at");
        let ends_at = match (ends_at, r.get(&["duration"]).map(|(v, _)| v)) {
            (Some(t), _) => Some(t),
            (None, Some(Value::String(d))) => match parse_duration_nanos(d) {
                Ok(ns) if ns > 0 => Some(starts_at.saturating_add(ns)),
                _ => {
                    r.err(
                        "duration",
                        format!("{d:?} is not a positive duration such as \"2h\""),
                    );
                    None
                }
            },
            (None, Some(other)) => {
                r.wrong_type("duration", "a duration such as \"2h\"", other);
                None
            }
            (None, None) => {
                if !r.has_problem("ends_at") {
                    r.err("ends_at", "is required (or give \"duration\", e.g. \"2h\")");
                }
                None
            }
        };
        if let Some(end) = ends_at
            && end <= starts_at
        {
            r.err("ends_at", "must be after starts_at");
        }
        let id = r.opt_str(&["id"]).unwrap_or_else(|| id.to_string());
        let created_by = r.opt_str(&["created_by"]).unwrap_or_default();
        let comment = r.opt_str(&["comment"]).unwrap_or_default();
        // Shown by the API; accepted back and ignored.
        r.allow(&["status"]);
        r.finish();
        if !problems.is_empty() {
            return Err(problems.0);
        }
        Ok(Silence {
            id,
            matchers,
            starts_at,
            ends_at: ends_at.unwrap_or(now),
            created_by,
            comment,
        })
    }

    /// Where it is in its window at `now`.
    pub fn status(&self, now: Timestamp) -> SilenceStatus {
        if now < self.starts_at {
            SilenceStatus::Pending
        } else if now < self.ends_at {
            SilenceStatus::Active
        } else {
            SilenceStatus::Expired
        }
    }

    /// Whether it silences an alert with these labels at `now`.
    pub fn silences(&self, labels: &BTreeMap<String, String>, now: Timestamp) -> bool {
        self.status(now) == SilenceStatus::Active
            && self
                .matchers
                .iter()
                .all(|m| m.matches_value(labels.get(&m.name).map(String::as_str)))
    }

    /// As the API shows it (and as it is stored), with its status at `now`.
    pub fn view(&self, now: Timestamp) -> SilenceView {
        SilenceView {
            id: self.id.clone(),
            matchers: self
                .matchers
                .iter()
                .map(|m| Matcher {
                    name: m.name.clone(),
                    value: m.value.clone(),
                    op: m.op,
                })
                .collect(),
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            created_by: self.created_by.clone(),
            comment: self.comment.clone(),
            status: self.status(now),
        }
    }
}

/// One matcher of a silence at `path` (`matchers[2]`): `{"name", "value", "op"}`, or
/// Alertmanager's `isRegex`/`isEqual` flags instead of `op`. Problems go to `r` under `path`.
fn read_matcher(r: &mut FieldReader<'_, '_>, path: &str, m: &Value) -> Option<LabelMatcher> {
    let Value::Object(fields) = m else {
        r.wrong_type(path, "a matcher {\"name\", \"value\", \"op\"}", m);
        return None;
    };
    let at = |k: &str| format!("{path}.{k}");
    let text = |r: &mut FieldReader<'_, '_>, k: &str| match fields.get(k) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(other) => {
            r.wrong_type(&at(k), "a string", other);
            None
        }
    };
    let flag = |r: &mut FieldReader<'_, '_>, k: &str, default: bool| match fields.get(k) {
        None | Some(Value::Null) => default,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            r.wrong_type(&at(k), "true or false", other);
            default
        }
    };
    let name = text(r, "name").unwrap_or_default();
    let value = text(r, "value");
    if name.is_empty() && !r.has_problem(&at("name")) {
        r.err(&at("name"), "is required");
    }
    if value.is_none() && !r.has_problem(&at("value")) {
        r.err(&at("value"), "is required (a string)");
    }
    let op = match text(r, "op") {
        Some(op) => op
            .parse::<MatchOp>()
            .map_err(|reason| r.err(&at("op"), reason))
            .ok(),
        None => Some(
            match (flag(r, "isRegex", false), flag(r, "isEqual", true)) {
                (false, true) => MatchOp::Equal,
                (false, false) => MatchOp::NotEqual,
                (true, true) => MatchOp::Regex,
                (true, false) => MatchOp::NotRegex,
            },
        ),
    };
    for k in fields.keys() {
        if !["name", "value", "op", "isRegex", "isEqual"].contains(&k.as_str()) {
            r.err(
                &at(k),
                "unknown field; expected one of: name, value, op, isRegex, isEqual",
            );
        }
    }
    let (Some(op), Some(value)) = (op, value) else {
        return None;
    };
    if name.is_empty() {
        return None;
    }
    LabelMatcher::new(name, op, value)
        .map_err(|e| r.err(&at("value"), e.to_string()))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const S: i64 = 1_000_000_000;

    #[test]
    fn matches_labels_within_its_window() {
        let s = Silence::from_json(
            &json!({"matchers": [{"name": "service", "value": "api|web", "op": "=~"},
                                 {"name": "severity", "value": "info", "op": "!="}],
                    "duration": "1h"}),
            "s1",
            Timestamp(100 * S),
        )
        .unwrap();
        let mut l = BTreeMap::new();
        l.insert("service".to_string(), "api".to_string());
        l.insert("severity".to_string(), "critical".to_string());
        assert!(s.silences(&l, Timestamp(200 * S)));
        assert!(!s.silences(&l, Timestamp(50 * S)), "not before it starts");
        assert!(!s.silences(&l, Timestamp(3700 * S)), "not after it ends");
        l.insert("service".to_string(), "db".to_string());
        assert!(!s.silences(&l, Timestamp(200 * S)));
        assert_eq!(s.view(Timestamp(200 * S)).status, SilenceStatus::Active);
        assert_eq!(s.view(Timestamp(0)).status, SilenceStatus::Pending);
        assert_eq!(s.view(Timestamp(3700 * S)).status, SilenceStatus::Expired);
        let back = Silence::from_json(&json!(s.view(Timestamp(0))), "x", Timestamp(0)).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn problems_are_named() {
        let errs = Silence::from_json(
            &json!({"matchers": [{"name": "", "value": "(", "op": "=~"}, {"name": "a", "value": "b", "op": "~"}],
                    "starts_at": "2026-01-02T00:00:00Z", "ends_at": "2026-01-01T00:00:00Z"}),
            "s",
            Timestamp(0),
        )
        .unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["matchers[0].name", "matchers[1].op", "ends_at"]);
        let errs = Silence::from_json(&json!({"matchers": []}), "s", Timestamp(0)).unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["matchers", "ends_at"]);
        // Wrong types and unknown fields are problems too, not silently dropped.
        let errs = Silence::from_json(
            &json!({"matchers": [{"name": "a", "value": 5, "regex": true}], "duration": "1h",
                    "created_by": 7, "comentt": "typo"}),
            "s",
            Timestamp(0),
        )
        .unwrap_err();
        let got: Vec<String> = errs.iter().map(ToString::to_string).collect();
        assert_eq!(
            got,
            [
                "matchers[0].value: expected a string, found a number",
                "matchers[0].regex: unknown field; expected one of: name, value, op, isRegex, isEqual",
                "created_by: expected a string, found a number",
                "comentt: unknown field; expected one of: matchers, starts_at, ends_at, duration, id, created_by, comment, status",
            ]
        );
        // What the API shows comes back unchanged.
        let s = Silence::from_json(
            &json!({"matchers": [{"name": "a", "value": "b"}], "duration": "1h"}),
            "s",
            Timestamp(0),
        )
        .unwrap();
        let again =
            Silence::from_json(&json!(s.view(Timestamp(0))), "other", Timestamp(5)).unwrap();
        assert_eq!(again, s);
    }
}
