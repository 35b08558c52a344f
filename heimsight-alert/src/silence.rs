//! Silences: label matchers and a time window during which matching alerts notify nobody
//! (they still change state, and the history says they were silenced).

use std::collections::BTreeMap;

use heimsight_core::{FieldError, Timestamp, parse_duration_nanos};
use heimsight_store::{LabelMatcher, MatchOp};
use serde_json::{Value, json};

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
        let mut errors = Vec::new();
        let Some(obj) = v.as_object() else {
            return Err(vec![FieldError::new("", "expected a JSON object")]);
        };
        let mut matchers = Vec::new();
        match obj.get("matchers") {
            Some(Value::Array(ms)) if !ms.is_empty() => {
                for (i, m) in ms.iter().enumerate() {
                    let f = |k: &str| format!("matchers[{i}].{k}");
                    let name = m.get("name").and_then(Value::as_str).unwrap_or_default();
                    let value = m.get("value").and_then(Value::as_str);
                    if name.is_empty() {
                        errors.push(FieldError::new(f("name"), "is required"));
                    }
                    if value.is_none() {
                        errors.push(FieldError::new(f("value"), "is required (a string)"));
                    }
                    let op = match m.get("op").and_then(Value::as_str) {
                        Some(op) => match op.parse::<MatchOp>() {
                            Ok(op) => Some(op),
                            Err(reason) => {
                                errors.push(FieldError::new(f("op"), reason));
                                None
                            }
                        },
                        None => {
                            let regex = m.get("isRegex").and_then(Value::as_bool).unwrap_or(false);
                            let equal = m.get("isEqual").and_then(Value::as_bool).unwrap_or(true);
                            Some(match (regex, equal) {
                                (false, true) => MatchOp::Equal,
                                (false, false) => MatchOp::NotEqual,
                                (true, true) => MatchOp::Regex,
                                (true, false) => MatchOp::NotRegex,
                            })
                        }
                    };
                    if let (Some(op), Some(value)) = (op, value)
                        && !name.is_empty()
                    {
                        match LabelMatcher::new(name, op, value) {
                            Ok(m) => matchers.push(m),
                            Err(e) => errors.push(FieldError::new(f("value"), e.to_string())),
                        }
                    }
                }
            }
            Some(Value::Array(_)) | None => errors.push(FieldError::new(
                "matchers",
                "at least one matcher is required, e.g. [{\"name\": \"service\", \"value\": \"api\"}]",
            )),
            Some(_) => errors.push(FieldError::new("matchers", "expected a list of matchers")),
        }
        let time = |k: &str, errors: &mut Vec<FieldError>| -> Option<Timestamp> {
            let v = obj.get(k).filter(|v| !v.is_null())?;
            match Timestamp::from_json(v) {
                Ok(t) => Some(t),
                Err(e) => {
                    errors.push(FieldError::new(k, e));
                    None
                }
            }
        };
        let starts_at = time("starts_at", &mut errors).unwrap_or(now);
        let ends_at = match (time("ends_at", &mut errors), obj.get("duration")) {
            (Some(t), _) => Some(t),
            (None, Some(Value::String(d))) => match parse_duration_nanos(d) {
                Ok(ns) if ns > 0 => Some(starts_at.saturating_add(ns)),
                _ => {
                    errors.push(FieldError::new(
                        "duration",
                        format!("{d:?} is not a positive duration such as \"2h\""),
                    ));
                    None
                }
            },
            (None, Some(_)) => {
                errors.push(FieldError::new(
                    "duration",
                    "expected a duration such as \"2h\"",
                ));
                None
            }
            (None, None) => {
                if !errors.iter().any(|e| e.field == "ends_at") {
                    errors.push(FieldError::new(
                        "ends_at",
                        "is required (or give \"duration\", e.g. \"2h\")",
                    ));
                }
                None
            }
        };
        if let Some(end) = ends_at
            && end <= starts_at
        {
            errors.push(FieldError::new("ends_at", "must be after starts_at"));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Silence {
            id: obj
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or(id)
                .to_string(),
            matchers,
            starts_at,
            ends_at: ends_at.unwrap_or(now),
            created_by: obj
                .get("created_by")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            comment: obj
                .get("comment")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        })
    }

    /// `pending`, `active` or `expired` at `now`.
    pub fn status(&self, now: Timestamp) -> &'static str {
        if now < self.starts_at {
            "pending"
        } else if now < self.ends_at {
            "active"
        } else {
            "expired"
        }
    }

    /// Whether it silences an alert with these labels at `now`.
    pub fn silences(&self, labels: &BTreeMap<String, String>, now: Timestamp) -> bool {
        self.status(now) == "active"
            && self
                .matchers
                .iter()
                .all(|m| m.matches_value(labels.get(&m.name).map(String::as_str)))
    }

    /// The JSON form.
    pub fn to_json(&self, now: Timestamp) -> Value {
        json!({
            "id": self.id,
            "matchers": self.matchers.iter().map(|m| json!({
                "name": m.name, "value": m.value, "op": m.op.as_str(),
            })).collect::<Vec<_>>(),
            "starts_at": self.starts_at,
            "ends_at": self.ends_at,
            "created_by": self.created_by,
            "comment": self.comment,
            "status": self.status(now),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(s.to_json(Timestamp(200 * S))["status"], "active");
        let back = Silence::from_json(&s.to_json(Timestamp(0)), "x", Timestamp(0)).unwrap();
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
    }
}
