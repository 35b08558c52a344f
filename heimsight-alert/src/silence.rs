//! Silences: label matchers and a time window during which matching alerts notify nobody
//! (they still change state, and the history says they were silenced).

use std::collections::BTreeMap;

use heimsight_core::api::{Matcher, SilenceSpec, SilenceStatus, SilenceView};
use heimsight_core::{FieldError, Timestamp};
use heimsight_store::LabelMatcher;
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
    /// Reads a silence's spec from the API's JSON with every problem by field, the matchers'
    /// regular expressions compiled as they are read (a bad one is a problem at its
    /// `matchers[i].value`).
    pub fn read_spec(v: &Value, now: Timestamp) -> Result<SilenceSpec, Vec<FieldError>> {
        SilenceSpec::from_json_with(v, now, |m| {
            LabelMatcher::new(m.name.clone(), m.op, m.value.clone())
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
    }

    /// Makes a silence of a spec: its window at `now` and its matchers with their regular
    /// expressions compiled. A spec made in code is checked as the API's JSON is
    /// ([`SilenceSpec::problems`]): a silence without matchers would mute every alert.
    pub fn from_spec(
        spec: &SilenceSpec,
        id: &str,
        now: Timestamp,
    ) -> Result<Silence, Vec<FieldError>> {
        let mut problems = spec.problems(now);
        let matchers = spec
            .matchers
            .iter()
            .enumerate()
            .filter_map(|(i, m)| {
                LabelMatcher::new(m.name.clone(), m.op, m.value.clone())
                    .map_err(|e| {
                        problems.push(FieldError::new(
                            format!("matchers[{i}].value"),
                            e.to_string(),
                        ))
                    })
                    .ok()
            })
            .collect();
        if !problems.is_empty() {
            return Err(problems);
        }
        let (starts_at, ends_at) = spec.window(now);
        Ok(Silence {
            id: id.to_string(),
            matchers,
            starts_at,
            ends_at,
            created_by: spec.created_by.clone(),
            comment: spec.comment.clone(),
        })
    }

    /// Reads a silence as stored (what [`Silence::view`] shows): the spec, and its `id`
    /// (`id` when the JSON has none). The regular expressions are compiled once, by
    /// [`Silence::from_spec`].
    pub fn from_json(v: &Value, id: &str, now: Timestamp) -> Result<Silence, Vec<FieldError>> {
        let spec = SilenceSpec::from_json(v, now)?;
        let id = v.get("id").and_then(Value::as_str).unwrap_or(id);
        Silence::from_spec(&spec, id, now)
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
                "comentt: unknown field; expected one of: matchers, starts_at, ends_at, duration, created_by, comment, id, status",
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

    /// A spec made in code is checked as the API's JSON is: no matchers would mute every
    /// alert; a bad regular expression is reported with the other problems, in order.
    #[test]
    fn specs_are_checked_however_they_are_made() {
        let errs = Silence::from_spec(&SilenceSpec::default(), "s", Timestamp(0)).unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["matchers", "ends_at"]);
        let errs = Silence::read_spec(
            &json!({"matchers": [{"name": "a", "value": "(", "op": "=~"}], "duration": "1h",
                    "comentt": "typo"}),
            Timestamp(0),
        )
        .unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["matchers[0].value", "comentt"]);
    }
}
