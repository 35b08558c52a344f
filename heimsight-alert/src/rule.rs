//! Alert rules: what to watch, when it is a problem, whom to tell.
//!
//! A rule's settings are a [`RuleSpec`] (read from the REST API's JSON by
//! `heimsight-core`, every problem named by its field); [`QueryChecks`] checks their meaning
//! with the query language, and a [`Rule`] is a checked spec with its id, times and the one
//! query it runs, compiled once.

use heimsight_core::{FieldError, Timestamp};
use serde_json::{Value, json};

use heimsight_query::ast::{SelectItem, Source};

pub use heimsight_core::api::{
    AnomalyMethod, AnomalySettings, CmpOp, Condition, Direction, KINDS, MAX_WINDOW, MIN_INTERVAL,
    RuleChecks, RuleKind, RuleSpec, TraceMeasure,
};

use crate::compile::{self, CompiledQuery};
use crate::template;

/// An alert rule: its settings, identity and the query it runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Identifier (assigned at creation).
    pub id: String,
    /// Its settings.
    pub spec: RuleSpec,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last update.
    pub updated_at: Timestamp,
    /// Why the rule as stored fails this version's checks (empty when it passes); such a rule
    /// is not evaluated.
    problems: Vec<FieldError>,
    /// The query it runs, built from its settings when it was read.
    compiled: CompiledQuery,
}

/// The checks of a rule's meaning with the query language and the template engine: queries
/// parse, name known columns and return a number; filters are one condition; patterns are
/// full-text; group-by expressions group; templates render. Give it to
/// [`RuleSpec::from_json_with`] to read a rule's JSON with every problem at once.
#[derive(Debug, Clone, Copy, Default)]
pub struct QueryChecks;

/// The signal a `log_pattern` or `trace` rule reads.
fn source(kind: &str) -> Source {
    if kind == "trace" {
        Source::Spans
    } else {
        Source::Logs
    }
}

impl RuleChecks for QueryChecks {
    fn template(&self, t: &str) -> Result<(), String> {
        template::check(t)
    }

    /// A trailing comparison is the condition when the query is not valid with it (else it
    /// belongs to a WHERE or HAVING), and the query without it is: or at least parses, when
    /// the whole did not even parse (then the rest's own mistakes are reported).
    fn split_condition(&self, q: &str) -> Option<(String, Condition)> {
        if check_query(q).is_ok() {
            return None;
        }
        let (rest, c) = split_trailing_condition(q)?;
        (heimsight_query::parse(&rest).is_ok()
            && (check_query(&rest).is_ok() || heimsight_query::parse(q).is_err()))
        .then_some((rest, c))
    }

    fn query(&self, kind: &str, q: &str) -> Result<(), String> {
        let checked = check_query(q)?;
        if kind == "threshold" && checked.statement.explain {
            return Err("EXPLAIN cannot be alerted on".into());
        }
        if kind != "absence" && !has_numeric_column(&checked) {
            return Err("the query must return a numeric column (the value)".into());
        }
        Ok(())
    }

    fn filter(&self, kind: &str, filter: &str) -> Result<(), String> {
        let cond = compile::condition(filter)?;
        compile::check(compile::select(
            source(kind),
            vec![compile::value(compile::count_star())],
            vec![cond],
            Vec::new(),
        ))
    }

    fn pattern(&self, p: &str) -> Result<(), String> {
        compile::check(compile::select(
            Source::Logs,
            vec![compile::value(compile::count_star())],
            vec![compile::full_text(p)],
            Vec::new(),
        ))
    }

    fn group_by(&self, kind: &str, g: &str) -> Result<(), String> {
        let e = compile::condition(g)?;
        compile::check(compile::select(
            source(kind),
            vec![
                compile::group_item(g, &e),
                compile::value(compile::count_star()),
            ],
            Vec::new(),
            vec![e],
        ))
    }
}

/// Splits a trailing comparison off a threshold query: `avg(value) FROM metrics > 0.9` →
/// (`avg(value) FROM metrics`, `> 0.9`).
fn split_trailing_condition(query: &str) -> Option<(String, Condition)> {
    let t = query.trim_end().trim_end_matches(';').trim_end();
    let num_start = t
        .rfind(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-')))
        .map(|i| i + 1)?;
    let threshold: f64 = t[num_start..].parse().ok()?;
    let before = t[..num_start].trim_end();
    for op in [">=", "<=", "==", "!=", "<>", ">", "<", "="] {
        if let Some(rest) = before.strip_suffix(op) {
            // `x = 5` inside WHERE would also end like this; only split when what is left still
            // ends an expression that is not a column comparison in a WHERE clause: require the
            // rest to be a complete query (checked by the caller).
            let op = CmpOp::parse(op)?;
            return Some((rest.trim_end().to_string(), Condition { op, threshold }));
        }
    }
    None
}

/// Problems of a whole query written by the user, each as one line without positions.
fn check_query(sql: &str) -> Result<heimsight_query::ast::Checked, String> {
    heimsight_query::parse_and_check(sql).map_err(|d| compile::messages(&d))
}

impl Rule {
    /// A new rule from its settings, checked ([`QueryChecks`]) with every problem named by
    /// its field. `now` is its creation and update time.
    pub fn new(spec: &RuleSpec, id: &str, now: Timestamp) -> Result<Rule, Vec<FieldError>> {
        let spec = spec.checked(&QueryChecks)?;
        Ok(Rule::build(spec, id.to_string(), now, now, Vec::new()))
    }

    /// The same rule with new settings (checked as by [`Rule::new`]), updated at `now`.
    pub fn updated(&self, spec: &RuleSpec, now: Timestamp) -> Result<Rule, Vec<FieldError>> {
        let spec = spec.checked(&QueryChecks)?;
        Ok(Rule::build(
            spec,
            self.id.clone(),
            self.created_at,
            now,
            Vec::new(),
        ))
    }

    /// Reads a rule as stored (the JSON of [`Rule::to_json`]). Only a malformed shape is an
    /// error; fields it does not know (a newer version's) are ignored. A rule that no longer
    /// passes this version's checks of meaning still loads, with those [`Rule::problems`]:
    /// it is shown as invalid and not evaluated until it is updated.
    pub fn from_stored(v: &Value) -> Result<Rule, Vec<FieldError>> {
        let spec = RuleSpec::read_back(v)?;
        let text = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default();
        let time = |k: &str| {
            v.get(k)
                .and_then(|t| Timestamp::from_json(t).ok())
                .unwrap_or(Timestamp(0))
        };
        let (spec, problems) = match spec.checked(&QueryChecks) {
            Ok(checked) => (checked, Vec::new()),
            Err(problems) => (spec, problems),
        };
        Ok(Rule::build(
            spec,
            text("id").to_string(),
            time("created_at"),
            time("updated_at"),
            problems,
        ))
    }

    fn build(
        spec: RuleSpec,
        id: String,
        created_at: Timestamp,
        updated_at: Timestamp,
        problems: Vec<FieldError>,
    ) -> Rule {
        let compiled = compile(&spec.kind);
        Rule {
            id,
            spec,
            created_at,
            updated_at,
            problems,
            compiled,
        }
    }

    /// Why the rule as stored fails this version's checks; empty for a valid rule. A rule
    /// with problems is not evaluated.
    pub fn problems(&self) -> &[FieldError] {
        &self.problems
    }

    /// Whether it runs: enabled and valid.
    pub fn runs(&self) -> bool {
        self.spec.enabled && self.problems.is_empty()
    }

    /// The JSON form that is stored: the settings with `id`, `created_at` and `updated_at`.
    pub fn to_json(&self) -> Value {
        let mut v = self.spec.to_json();
        if let Some(o) = v.as_object_mut() {
            o.insert("id".into(), json!(self.id));
            o.insert("created_at".into(), json!(self.created_at));
            o.insert("updated_at".into(), json!(self.updated_at));
        }
        v
    }

    /// The query the rule runs at each evaluation (over its window), built when the rule
    /// was read.
    pub fn compiled(&self) -> &CompiledQuery {
        &self.compiled
    }

    /// The query the rule runs at each evaluation (over its window), as text.
    pub fn compiled_query(&self) -> String {
        self.compiled.text().to_string()
    }
}

/// Builds the query of a rule of this kind: a whole query is parsed and checked as written;
/// log-pattern and trace rules are assembled from their parts as a syntax tree.
fn compile(kind: &RuleKind) -> CompiledQuery {
    let (from, filter, group_by, measure) = match kind {
        RuleKind::Threshold { query }
        | RuleKind::Anomaly { query, .. }
        | RuleKind::Absence { query, .. } => return CompiledQuery::from_text(query),
        RuleKind::LogPattern {
            filter, group_by, ..
        } => (Source::Logs, filter, group_by, None),
        RuleKind::Trace {
            filter,
            measure,
            group_by,
        } => (Source::Spans, filter, group_by, Some(*measure)),
    };
    let mut written: Vec<&str> = group_by.iter().map(String::as_str).collect();
    if measure == Some(TraceMeasure::ErrorRate) {
        written.push("status");
    }
    // A part that does not parse leaves a query that says so and fails each evaluation.
    let parsed = |field: &str, text: &str| {
        compile::condition(text).map_err(|why| {
            (
                format!("(does not parse: {field} {text:?})"),
                format!("{field}: {why}"),
            )
        })
    };
    let mut conds = Vec::new();
    if let RuleKind::LogPattern {
        pattern: Some(p), ..
    } = kind
    {
        conds.push(compile::full_text(p));
    }
    if let Some(f) = filter {
        match parsed("filter", f) {
            Ok(c) => conds.push(c),
            Err((text, why)) => return CompiledQuery::failed(text, why),
        }
    }
    let groups = match written
        .iter()
        .map(|g| parsed("group_by", g))
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(groups) => groups,
        Err((text, why)) => return CompiledQuery::failed(text, why),
    };
    let duration = || compile::column("duration");
    let value = match measure {
        None | Some(TraceMeasure::ErrorRate | TraceMeasure::Count) => compile::count_star(),
        Some(TraceMeasure::Percentile(p)) => compile::call(
            "percentile",
            vec![duration(), compile::float(f64::from(p) / 100.0)],
        ),
        Some(TraceMeasure::Avg) => compile::call("avg", vec![duration()]),
        Some(TraceMeasure::Max) => compile::call("max", vec![duration()]),
    };
    let mut items: Vec<SelectItem> = written
        .iter()
        .zip(&groups)
        .map(|(w, g)| compile::group_item(w, g))
        .collect();
    items.push(compile::value(value));
    CompiledQuery::from_statement(compile::select(from, items, conds, groups))
}

fn has_numeric_column(c: &heimsight_query::ast::Checked) -> bool {
    use heimsight_query::schema::Type;
    c.columns.iter().any(|col| {
        matches!(
            col.ty,
            Type::Int | Type::Float | Type::Duration | Type::Any | Type::Bool
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: i64 = 1_000_000_000;

    fn rule(v: Value) -> Result<Rule, Vec<FieldError>> {
        let spec = RuleSpec::from_json_with(&v, &QueryChecks)?;
        Rule::new(&spec, "r1", Timestamp(1))
    }

    fn fields(errs: &[FieldError]) -> Vec<&str> {
        errs.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn threshold_rule_with_trailing_comparison() {
        let r = rule(json!({
            "name": "cpu", "kind": "threshold",
            "query": "avg(value) FROM metrics WHERE name='cpu' > 0.9"
        }))
        .unwrap();
        assert_eq!(
            r.spec.condition,
            Some(Condition {
                op: CmpOp::Gt,
                threshold: 0.9
            })
        );
        assert_eq!(
            r.compiled_query(),
            "SELECT avg(value) FROM metrics WHERE name='cpu'"
        );
        assert_eq!(r.spec.severity, heimsight_core::Severity::Warning);
        assert_eq!(r.spec.interval, heimsight_core::Duration::from_secs(60));
        // Round trip through the stored form.
        let back = Rule::from_stored(&r.to_json()).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn a_where_equality_is_not_taken_for_the_condition() {
        let errs = rule(json!({
            "name": "x", "kind": "threshold",
            "query": "SELECT count(*) FROM logs WHERE severity = 5"
        }))
        .unwrap_err();
        // The query without `= 5` is not a valid query, so nothing was split off.
        assert_eq!(fields(&errs), ["condition"]);
    }

    #[test]
    fn every_problem_is_named_by_its_field() {
        let errs = rule(json!({
            "kind": "threshold",
            "query": "SELECT levle FROM logs",
            "interval": "-5m",
            "for": "soon",
            "severity": "loud",
            "condition": {"op": "~", "threshold": "high"},
            "labels": {"9x": "a"},
            "annotations": {"summary": "{{ $valeu }}"},
            "channels": [1],
            "bogus": true
        }))
        .unwrap_err();
        let f = fields(&errs);
        for want in [
            "name",
            "severity",
            "interval",
            "for",
            "labels.9x",
            "annotations.summary",
            "condition.op",
            "condition.threshold",
            "query",
            "channels[0]",
            "bogus",
        ] {
            assert!(f.contains(&want), "{want} missing from {errs:?}");
        }
        let interval = errs.iter().find(|e| e.field == "interval").unwrap();
        assert!(interval.reason.contains("negative"), "{interval:?}");
        let query = errs.iter().find(|e| e.field == "query").unwrap();
        assert!(query.reason.contains("did you mean `level`"), "{query:?}");
    }

    #[test]
    fn unknown_kind_lists_the_kinds() {
        let errs = rule(json!({"name": "x", "kind": "psychic"})).unwrap_err();
        assert_eq!(fields(&errs), ["kind"]);
        assert!(errs[0].reason.contains("log_pattern"), "{errs:?}");
    }

    /// A filter is one condition: anything after it (a LIMIT, an ORDER BY, a second
    /// statement) is refused at the field, not left to fail at every evaluation. A trailing
    /// comment is only a comment: the condition is parsed on its own, never pasted into SQL
    /// text where the comment would swallow what follows.
    #[test]
    fn a_filter_that_is_more_than_a_condition_is_refused() {
        for (kind, filter) in [
            ("log_pattern", "level = 'error' LIMIT 5"),
            ("log_pattern", "level = 'error'; SELECT * FROM logs"),
            ("trace", "name = 'GET /' ORDER BY duration"),
            ("trace", "name = 'GET /')  OR (1 = 1"),
        ] {
            let errs = rule(json!({
                "name": "x", "kind": kind, "filter": filter, "condition": {"threshold": 1}
            }))
            .unwrap_err();
            assert_eq!(fields(&errs), ["filter"], "{kind} {filter:?}: {errs:?}");
        }
        // Every filter that is accepted compiles to a query that checks.
        for (kind, filter) in [
            ("log_pattern", "level = 'error' OR level = 'fatal'"),
            ("trace", "duration > 100ms"),
        ] {
            let r = rule(json!({
                "name": "x", "kind": kind, "filter": filter, "condition": {"threshold": 1}
            }))
            .unwrap();
            check_query(&r.compiled_query()).unwrap();
            r.compiled.checked().unwrap();
        }
        let r = rule(json!({
            "name": "x", "kind": "log_pattern", "filter": "level = 'error' -- errors only",
            "pattern": "timeout", "condition": {"threshold": 1}
        }))
        .unwrap();
        assert_eq!(
            r.compiled_query(),
            "SELECT count(*) AS value FROM logs WHERE MATCH('timeout') AND level = 'error'"
        );
        assert_eq!(r.to_json()["filter"], "level = 'error' -- errors only");
    }

    /// A stored rule is read for its shape: what only the query or template checkers refuse
    /// still loads (invalid, not run), what is malformed does not.
    #[test]
    fn stored_rules_are_read_for_their_shape_only() {
        let mut stored = rule(json!({
            "name": "x", "kind": "trace", "filter": "name = 'GET /'", "group_by": ["service"],
            "annotations": {"summary": "{{ $value }}"}, "condition": {"threshold": 1}
        }))
        .unwrap()
        .to_json();
        stored["filter"] = json!("nmae = 'GET /'");
        stored["group_by"] = json!(["servise"]);
        stored["annotations"]["summary"] = json!("{{ $value ");
        let errs = RuleSpec::from_json_with(&stored, &QueryChecks).unwrap_err();
        assert_eq!(
            fields(&errs),
            ["annotations.summary", "filter", "group_by[0]"],
            "{errs:?}"
        );
        // It loads, with those problems, and does not run.
        let r = Rule::from_stored(&stored).unwrap();
        assert_eq!(r.to_json()["filter"], "nmae = 'GET /'");
        assert_eq!(fields(r.problems()), fields(&errs));
        assert!(!r.runs());
        // A newer version's field is ignored on load.
        stored["from_the_future"] = json!(true);
        assert_eq!(Rule::from_stored(&stored).unwrap(), r);
        stored["interval"] = json!("-1m");
        let errs = Rule::from_stored(&stored).unwrap_err();
        assert_eq!(fields(&errs), ["interval"], "{errs:?}");
    }

    #[test]
    fn log_pattern_and_trace_rules_compile_to_queries() {
        let r = rule(json!({
            "name": "timeouts", "kind": "log_pattern",
            "pattern": "connection 'refused'", "filter": "level = 'error'",
            "group_by": ["service"], "condition": {"threshold": 10}
        }))
        .unwrap();
        assert_eq!(
            r.compiled_query(),
            "SELECT service, count(*) AS value FROM logs WHERE MATCH('connection ''refused''') AND level = 'error' GROUP BY service"
        );
        assert_eq!(r.spec.condition.unwrap().op, CmpOp::Gt);
        let t = rule(json!({
            "name": "slow", "kind": "trace", "filter": "name = 'GET /'",
            "measure": "p95", "condition": {"op": ">=", "threshold": 500}
        }))
        .unwrap();
        assert_eq!(
            t.compiled_query(),
            "SELECT percentile(duration, 0.95) AS value FROM spans WHERE name = 'GET /'"
        );
        let errs = rule(json!({
            "name": "slow", "kind": "trace", "measure": "p42",
            "group_by": ["servise"], "condition": {"threshold": 1}
        }))
        .unwrap_err();
        assert_eq!(fields(&errs), ["measure", "group_by[0]"]);
    }

    #[test]
    fn anomaly_and_absence_rules_validate_their_settings() {
        let errs = rule(json!({
            "name": "a", "kind": "anomaly", "query": "SELECT count(*) FROM logs",
            "sensitivity": -1, "alpha": 2, "method": "magic"
        }))
        .unwrap_err();
        assert_eq!(fields(&errs), ["method", "sensitivity", "alpha"]);
        let errs =
            rule(json!({"name": "a", "kind": "absence", "query": "SELECT count(*) FROM logs"}))
                .unwrap_err();
        assert_eq!(fields(&errs), ["absent_for"]);
        let ok = rule(json!({
            "name": "a", "kind": "absence", "absent_for": "10m",
            "query": "SELECT service, count(*) FROM logs GROUP BY service"
        }))
        .unwrap();
        assert_eq!(
            ok.spec.kind,
            RuleKind::Absence {
                query: "SELECT service, count(*) FROM logs GROUP BY service".into(),
                absent_for: heimsight_core::Duration::from_nanos(600 * SEC)
            }
        );
    }
}
