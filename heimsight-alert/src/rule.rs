//! Alert rules: what to watch, when it is a problem, whom to tell.
//!
//! A rule is created from JSON (the REST API's body), validated with every problem named by
//! its field, and compiled into one query of the query language. Its JSON form:
//!
//! ```json
//! {"name": "High CPU", "kind": "threshold",
//!  "query": "SELECT service, avg(value) FROM metrics WHERE name = 'cpu' GROUP BY service",
//!  "condition": {"op": ">", "threshold": 0.9},
//!  "window": "5m", "interval": "30s", "for": "2m", "keep_firing_for": "0s",
//!  "severity": "critical", "labels": {"team": "infra"},
//!  "annotations": {"summary": "CPU of {{ $labels.service }} at {{ $value }}"},
//!  "channels": ["ops-slack"], "enabled": true}
//! ```

use std::collections::BTreeMap;

use heimsight_core::{
    FieldError, FieldReader, Severity, Timestamp, ValidationErrors, parse_duration_nanos,
};
use serde_json::{Value, json};

use heimsight_query::ast::{SelectItem, Source};

use crate::compile::{self, CompiledQuery};
use crate::template;

const SEC: i64 = 1_000_000_000;

/// Smallest evaluation interval accepted.
pub const MIN_INTERVAL_NS: i64 = SEC;
/// Longest window a rule may look back.
pub const MAX_WINDOW_NS: i64 = 31 * 86_400 * SEC;

/// A comparison of a value with a threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `==`
    Eq,
    /// `!=`
    Ne,
}

impl CmpOp {
    /// Parses `>`, `>=`, `<`, `<=`, `==` (or `=`), `!=` (or `<>`).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim() {
            ">" => CmpOp::Gt,
            ">=" => CmpOp::Ge,
            "<" => CmpOp::Lt,
            "<=" => CmpOp::Le,
            "==" | "=" => CmpOp::Eq,
            "!=" | "<>" => CmpOp::Ne,
            _ => return None,
        })
    }

    /// The operator as written in rules.
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
        }
    }

    /// Whether `value op threshold` holds.
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            CmpOp::Gt => value > threshold,
            CmpOp::Ge => value >= threshold,
            CmpOp::Lt => value < threshold,
            CmpOp::Le => value <= threshold,
            CmpOp::Eq => value == threshold,
            CmpOp::Ne => value != threshold,
        }
    }
}

/// `value op threshold`: when a sample is a problem.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Condition {
    /// The comparison.
    pub op: CmpOp,
    /// The threshold.
    pub threshold: f64,
}

/// What a trace rule measures over the matching spans of its window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceMeasure {
    /// Duration percentile, in milliseconds (50, 90, 95 or 99).
    Percentile(u8),
    /// Mean duration, milliseconds.
    Avg,
    /// Longest duration, milliseconds.
    Max,
    /// Share of spans with status `error`, 0–1.
    ErrorRate,
    /// Number of spans.
    Count,
}

impl TraceMeasure {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "p50" => TraceMeasure::Percentile(50),
            "p90" => TraceMeasure::Percentile(90),
            "p95" => TraceMeasure::Percentile(95),
            "p99" => TraceMeasure::Percentile(99),
            "avg" => TraceMeasure::Avg,
            "max" => TraceMeasure::Max,
            "error_rate" => TraceMeasure::ErrorRate,
            "count" => TraceMeasure::Count,
            _ => return None,
        })
    }

    /// The name used in rules (`p99`, `error_rate`, …).
    pub fn as_str(self) -> String {
        match self {
            TraceMeasure::Percentile(p) => format!("p{p}"),
            TraceMeasure::Avg => "avg".into(),
            TraceMeasure::Max => "max".into(),
            TraceMeasure::ErrorRate => "error_rate".into(),
            TraceMeasure::Count => "count".into(),
        }
    }
}

/// How an anomaly rule builds its baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnomalyMethod {
    /// Mean and standard deviation of the last `history` values.
    ZScore,
    /// Exponentially weighted moving mean and variance (`alpha`).
    Ewma,
}

/// Which deviations an anomaly rule reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Only values above the baseline.
    Above,
    /// Only values below it.
    Below,
    /// Both.
    Both,
}

/// Settings of an anomaly rule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnomalySettings {
    /// Baseline method.
    pub method: AnomalyMethod,
    /// How many standard deviations from the baseline count as anomalous (default 4).
    pub sensitivity: f64,
    /// Values needed before anything is reported (default 20).
    pub min_history: u32,
    /// Values kept for the z-score baseline (default 60).
    pub history: u32,
    /// EWMA smoothing factor in (0, 1] (default 0.1).
    pub alpha: f64,
    /// Which side is reported (default both).
    pub direction: Direction,
}

impl Default for AnomalySettings {
    fn default() -> Self {
        AnomalySettings {
            method: AnomalyMethod::ZScore,
            sensitivity: 4.0,
            min_history: 20,
            history: 60,
            alpha: 0.1,
            direction: Direction::Both,
        }
    }
}

/// The kind of a rule and its kind-specific settings.
#[derive(Debug, Clone, PartialEq)]
pub enum RuleKind {
    /// A query whose rows (label columns + one numeric value) are compared with the
    /// condition: `SELECT service, avg(value) FROM metrics WHERE name = 'cpu' GROUP BY service`.
    Threshold {
        /// The query.
        query: String,
    },
    /// The count of logs matching a full-text pattern and/or a condition, per group.
    LogPattern {
        /// Full-text pattern (the language's `MATCH` syntax: words and "quoted phrases").
        pattern: Option<String>,
        /// A `WHERE` condition on logs.
        filter: Option<String>,
        /// Group-by columns (each group is one alert instance).
        group_by: Vec<String>,
    },
    /// A measure of the spans matching a condition, per group.
    Trace {
        /// A `WHERE` condition on spans.
        filter: Option<String>,
        /// What is measured.
        measure: TraceMeasure,
        /// Group-by columns.
        group_by: Vec<String>,
    },
    /// Values of a query compared with their own history, per series.
    Anomaly {
        /// The query (label columns + one numeric value per row).
        query: String,
        /// Detector settings.
        settings: AnomalySettings,
    },
    /// Fires for a series (a row's labels) the query returned before but not for
    /// `absent_for`, or when it returns nothing at all for that long.
    Absence {
        /// The query.
        query: String,
        /// How long a series may be missing.
        absent_for: i64,
    },
}

impl RuleKind {
    /// `threshold`, `log_pattern`, `trace`, `anomaly` or `absence`.
    pub fn name(&self) -> &'static str {
        match self {
            RuleKind::Threshold { .. } => "threshold",
            RuleKind::LogPattern { .. } => "log_pattern",
            RuleKind::Trace { .. } => "trace",
            RuleKind::Anomaly { .. } => "anomaly",
            RuleKind::Absence { .. } => "absence",
        }
    }
}

/// The rule kinds, as written in rules.
pub const KINDS: [&str; 5] = ["threshold", "log_pattern", "trace", "anomaly", "absence"];

/// An alert rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Identifier (assigned at creation).
    pub id: String,
    /// Name (the `alertname` label of its alerts).
    pub name: String,
    /// Free text.
    pub description: String,
    /// Kind and kind settings.
    pub kind: RuleKind,
    /// When a value is a problem (threshold, log pattern and trace rules).
    pub condition: Option<Condition>,
    /// How far back each evaluation looks, nanoseconds (default 5 minutes).
    pub window: i64,
    /// Time between evaluations, nanoseconds (default 1 minute).
    pub interval: i64,
    /// How long the condition must hold before the alert fires (pending until then).
    pub for_: i64,
    /// How long a firing alert keeps firing after the condition cleared.
    pub keep_firing_for: i64,
    /// Severity of its alerts.
    pub severity: Severity,
    /// Labels added to every alert of the rule.
    pub labels: BTreeMap<String, String>,
    /// Annotation templates (`{{ $value }}`, `{{ $labels.service }}`).
    pub annotations: BTreeMap<String, String>,
    /// Notification channel ids.
    pub channels: Vec<String>,
    /// Whether it is evaluated.
    pub enabled: bool,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last update.
    pub updated_at: Timestamp,
    /// The query it runs, built from its settings when it was read.
    compiled: CompiledQuery,
}

/// Which problems [`Rule`]'s reader looks for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Checks {
    /// Shape and meaning: also that queries, filters, patterns, groupings and templates check.
    All,
    /// Shape only (types, required fields, values in range): for stored rules, which were
    /// checked when they were written; a checker that became stricter must not stop them from
    /// loading.
    Shape,
}

/// Reads a rule's JSON field by field, collecting every problem: the rule-specific readings
/// (durations, required texts, label maps, lists that may be one string) on top of
/// `heimsight_core`'s [`FieldReader`], and which checks run.
struct Reader<'a, 'e> {
    r: FieldReader<'a, 'e>,
    checks: Checks,
}

impl<'a, 'e> Reader<'a, 'e> {
    /// Whether the checks of meaning (queries and templates through their checkers) run.
    fn checks_meaning(&self) -> bool {
        self.checks == Checks::All
    }

    fn err(&mut self, key: &str, reason: impl Into<String>) {
        self.r.err(key, reason);
    }

    /// Whether a problem was recorded for a field whose path `matches`.
    fn any_problem(&self, matches: impl Fn(&str) -> bool) -> bool {
        self.r.problems().iter().any(|e| matches(&e.field))
    }

    fn get(&mut self, key: &'static str) -> Option<&'a Value> {
        self.r.get(&[key]).map(|(v, _)| v)
    }

    fn string(&mut self, key: &'static str) -> Option<String> {
        self.r.opt_str(&[key])
    }

    fn required_string(&mut self, key: &'static str) -> Option<String> {
        match self.string(key) {
            Some(s) if s.trim().is_empty() => {
                self.err(key, "must not be empty");
                None
            }
            Some(s) => Some(s),
            None => {
                if !self.r.has_problem(key) {
                    self.err(key, "is required");
                }
                None
            }
        }
    }

    fn number(&mut self, key: &'static str) -> Option<f64> {
        self.r.opt_number(&[key])
    }

    fn boolean(&mut self, key: &'static str) -> Option<bool> {
        self.r.opt_bool(&[key])
    }

    /// A duration: `"5m"`, `"1h30m"` or a number of seconds. Negative values are refused.
    fn duration(&mut self, key: &'static str) -> Option<i64> {
        let v = self.get(key)?;
        let parsed = match v {
            Value::String(s) => parse_duration_nanos(s).map_err(|_| {
                if s.trim_start().starts_with('-') {
                    format!("{s:?} is negative; durations must be positive")
                } else {
                    format!("{s:?} is not a duration (e.g. \"30s\", \"5m\", \"1h30m\")")
                }
            }),
            Value::Number(n) => match n.as_f64() {
                Some(x) if x < 0.0 => Err(format!("{x} is negative; durations must be positive")),
                Some(x) if x * 1e9 < i64::MAX as f64 => Ok((x * 1e9) as i64),
                _ => Err(format!("{n} is out of range")),
            },
            other => {
                self.r.wrong_type(key, "a duration such as \"5m\"", other);
                return None;
            }
        };
        match parsed {
            Ok(ns) => Some(ns),
            Err(e) => {
                self.err(key, e);
                None
            }
        }
    }

    /// An object of texts; numbers and booleans are taken as their text.
    fn string_map(&mut self, key: &'static str) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        match self.get(key) {
            None => {}
            Some(Value::Object(m)) => {
                for (k, v) in m {
                    match v {
                        Value::String(s) => {
                            out.insert(k.clone(), s.clone());
                        }
                        Value::Number(_) | Value::Bool(_) => {
                            out.insert(k.clone(), v.to_string());
                        }
                        other => self.r.wrong_type(&format!("{key}.{k}"), "a string", other),
                    }
                }
            }
            Some(other) => self.r.wrong_type(key, "an object of strings", other),
        }
        out
    }

    /// A list of non-empty texts; one text stands for a list of one.
    fn string_list(&mut self, key: &'static str) -> Vec<String> {
        match self.get(key) {
            None => Vec::new(),
            Some(Value::Array(a)) => {
                let mut out = Vec::new();
                for (i, v) in a.iter().enumerate() {
                    match v {
                        Value::String(s) if !s.trim().is_empty() => out.push(s.clone()),
                        Value::String(_) => self.err(&format!("{key}[{i}]"), "must not be empty"),
                        other => self.r.wrong_type(&format!("{key}[{i}]"), "a string", other),
                    }
                }
                out
            }
            Some(Value::String(s)) => vec![s.clone()],
            Some(other) => {
                self.r.wrong_type(key, "a list of strings", other);
                Vec::new()
            }
        }
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

/// Prefixes `SELECT ` when the text starts with an expression rather than `SELECT`/`EXPLAIN`.
fn with_select(query: &str) -> String {
    let t = query.trim_start();
    let head: String = t.chars().take(7).collect::<String>().to_ascii_lowercase();
    if head.starts_with("select") || head.starts_with("explain") {
        t.to_string()
    } else {
        format!("SELECT {t}")
    }
}

/// Problems of a whole query written by the user, each as one line without positions.
fn check_query(sql: &str) -> Result<heimsight_query::ast::Checked, String> {
    heimsight_query::parse_and_check(sql).map_err(|d| compile::messages(&d))
}

impl Rule {
    /// Builds a rule from the API's JSON, reporting every problem with its field. `id` and
    /// `now` are the identifier and time to use when the JSON does not carry them (creation);
    /// stored rules carry both.
    pub fn from_json(v: &Value, id: &str, now: Timestamp) -> Result<Rule, Vec<FieldError>> {
        Rule::read(v, id, now, Checks::All)
    }

    /// Reads a rule as stored (the JSON of [`Rule::to_json`]) for its shape only: the query,
    /// filter, pattern, grouping and template checks that [`Rule::from_json`] runs are not run
    /// again, so a rule accepted by an older or laxer checker still loads; if its query no
    /// longer runs, its evaluations fail and say why (the rule's `last_error`).
    pub fn from_stored(v: &Value) -> Result<Rule, Vec<FieldError>> {
        Rule::read(v, "", Timestamp(0), Checks::Shape)
    }

    fn read(v: &Value, id: &str, now: Timestamp, checks: Checks) -> Result<Rule, Vec<FieldError>> {
        let mut problems = ValidationErrors::new();
        let Some(fields) = FieldReader::new(v, "", &mut problems, "") else {
            return Err(problems.0);
        };
        let mut r = Reader { r: fields, checks };
        let id = r.string("id").unwrap_or_else(|| id.to_string());
        let name = r.required_string("name");
        let description = r.string("description").unwrap_or_default();
        let kind_name = r.required_string("kind");
        let severity = match r.string("severity") {
            None => Some(Severity::Warning),
            Some(s) => Severity::parse(&s).or_else(|| {
                r.err(
                    "severity",
                    format!("unknown severity {s:?}; expected info, warning or critical"),
                );
                None
            }),
        };
        let window = r.duration("window").unwrap_or(5 * 60 * SEC);
        let interval = r.duration("interval").unwrap_or(60 * SEC);
        let for_ = r.duration("for").unwrap_or(0);
        let keep_firing_for = r.duration("keep_firing_for").unwrap_or(0);
        if window <= 0 || window > MAX_WINDOW_NS {
            r.err("window", "must be more than 0 and at most 31d");
        }
        if interval < MIN_INTERVAL_NS {
            r.err("interval", "must be at least 1s");
        }
        let labels = r.string_map("labels");
        let annotations = r.string_map("annotations");
        let channels = r.string_list("channels");
        let enabled = r.boolean("enabled").unwrap_or(true);
        let created_at = r
            .get("created_at")
            .and_then(|v| Timestamp::from_json(v).ok())
            .unwrap_or(now);
        let updated_at = r
            .get("updated_at")
            .and_then(|v| Timestamp::from_json(v).ok())
            .unwrap_or(now);
        // Read-only fields the API shows; accepted back (PUT of a GET) and ignored.
        r.r.allow(&["state", "last_evaluation", "last_error", "compiled_query"]);
        for k in labels.keys() {
            if !valid_label_name(k) {
                r.err(
                    &format!("labels.{k}"),
                    "label names are letters, digits, `_` and `.`, not starting with a digit",
                );
            }
        }
        for (k, t) in &annotations {
            if r.checks_meaning()
                && let Err(e) = template::check(t)
            {
                r.err(&format!("annotations.{k}"), e);
            }
        }

        let mut condition = match r.get("condition") {
            None => None,
            Some(Value::Object(c)) => {
                let op = match c.get("op") {
                    None => Some(CmpOp::Gt),
                    Some(Value::String(s)) => CmpOp::parse(s).or_else(|| {
                        r.err(
                            "condition.op",
                            format!("unknown comparison {s:?}; expected >, >=, <, <=, == or !="),
                        );
                        None
                    }),
                    Some(other) => {
                        r.err(
                            "condition.op",
                            format!(
                                "expected a string, found {}",
                                heimsight_core::json_type_name(other)
                            ),
                        );
                        None
                    }
                };
                let threshold = match c.get("threshold") {
                    Some(Value::Number(n)) => n.as_f64(),
                    None => {
                        r.err("condition.threshold", "is required");
                        None
                    }
                    Some(other) => {
                        r.err(
                            "condition.threshold",
                            format!(
                                "expected a number, found {}",
                                heimsight_core::json_type_name(other)
                            ),
                        );
                        None
                    }
                };
                for k in c.keys() {
                    if k != "op" && k != "threshold" {
                        r.err(&format!("condition.{k}"), "unknown field");
                    }
                }
                match (op, threshold) {
                    (Some(op), Some(threshold)) => Some(Condition { op, threshold }),
                    _ => None,
                }
            }
            Some(other) => {
                r.err(
                    "condition",
                    format!(
                        "expected an object {{\"op\": \">\", \"threshold\": 1}}, found {}",
                        heimsight_core::json_type_name(other)
                    ),
                );
                None
            }
        };

        let kind = match kind_name.as_deref() {
            None => None,
            Some("threshold") => {
                let query = r.required_string("query");
                query.map(|q| {
                    let mut q = with_select(&q);
                    // A trailing comparison is the condition when the query is not valid with
                    // it (else it belongs to a WHERE or HAVING), and the query without it is:
                    // or at least parses, when the whole did not even parse (then the rest's
                    // own mistakes are reported).
                    if condition.is_none()
                        && check_query(&q).is_err()
                        && let Some((rest, c)) = split_trailing_condition(&q)
                        && heimsight_query::parse(&rest).is_ok()
                        && (check_query(&rest).is_ok() || heimsight_query::parse(&q).is_err())
                    {
                        q = rest;
                        condition = Some(c);
                    }
                    match r.checks_meaning().then(|| check_query(&q)) {
                        None => {}
                        Some(Ok(checked)) => {
                            if checked.statement.explain {
                                r.err("query", "EXPLAIN cannot be alerted on");
                            } else if !has_numeric_column(&checked) {
                                r.err("query", "the query must return a numeric column (the value)");
                            }
                        }
                        Some(Err(e)) => r.err("query", e),
                    }
                    if condition.is_none() && !r.any_problem(|f| f.starts_with("condition")) {
                        r.err(
                            "condition",
                            "is required: {\"op\": \">\", \"threshold\": 0.9}, or end the query with a comparison such as `> 0.9`",
                        );
                    }
                    RuleKind::Threshold { query: q }
                })
            }
            Some("log_pattern") => {
                let pattern = r.string("pattern").filter(|p| !p.trim().is_empty());
                let filter = r.string("filter").filter(|p| !p.trim().is_empty());
                let group_by = r.string_list("group_by");
                if pattern.is_none() && filter.is_none() {
                    r.err("pattern", "a log pattern rule needs `pattern` (full-text) or `filter` (a condition), or both");
                }
                if let Some(f) = &filter
                    && r.checks_meaning()
                    && let Err(e) = check_filter(Source::Logs, f)
                {
                    r.err("filter", e);
                }
                if let Some(p) = &pattern
                    && r.checks_meaning()
                    && let Err(e) = compile::check(compile::select(
                        Source::Logs,
                        vec![compile::value(compile::count_star())],
                        vec![compile::full_text(p)],
                        Vec::new(),
                    ))
                {
                    r.err("pattern", e);
                }
                check_group_by(&mut r, Source::Logs, &group_by);
                if condition.is_none() && !r.any_problem(|f| f.starts_with("condition")) {
                    r.err(
                        "condition",
                        "is required, e.g. {\"op\": \">\", \"threshold\": 10}",
                    );
                }
                Some(RuleKind::LogPattern {
                    pattern,
                    filter,
                    group_by,
                })
            }
            Some("trace") => {
                let filter = r.string("filter").filter(|p| !p.trim().is_empty());
                let group_by = r.string_list("group_by");
                let measure = match r.string("measure") {
                    None => Some(TraceMeasure::Percentile(99)),
                    Some(m) => TraceMeasure::parse(&m).or_else(|| {
                        r.err(
                            "measure",
                            format!("unknown measure {m:?}; expected p50, p90, p95, p99, avg, max, error_rate or count"),
                        );
                        None
                    }),
                };
                if let Some(f) = &filter
                    && r.checks_meaning()
                    && let Err(e) = check_filter(Source::Spans, f)
                {
                    r.err("filter", e);
                }
                check_group_by(&mut r, Source::Spans, &group_by);
                if condition.is_none() && !r.any_problem(|f| f.starts_with("condition")) {
                    r.err("condition", "is required, e.g. {\"op\": \">\", \"threshold\": 500} (milliseconds for durations)");
                }
                measure.map(|measure| RuleKind::Trace {
                    filter,
                    measure,
                    group_by,
                })
            }
            Some("anomaly") => {
                let query = r.required_string("query").map(|q| with_select(&q));
                if let Some(q) = &query
                    && r.checks_meaning()
                {
                    match check_query(q) {
                        Ok(c) if !has_numeric_column(&c) => r.err(
                            "query",
                            "the query must return a numeric column (the value)",
                        ),
                        Ok(_) => {}
                        Err(e) => r.err("query", e),
                    }
                }
                let d = AnomalySettings::default();
                let method = match r.string("method").as_deref() {
                    None | Some("zscore") | Some("z-score") => AnomalyMethod::ZScore,
                    Some("ewma") => AnomalyMethod::Ewma,
                    Some(m) => {
                        r.err(
                            "method",
                            format!("unknown method {m:?}; expected zscore or ewma"),
                        );
                        AnomalyMethod::ZScore
                    }
                };
                let sensitivity = r.number("sensitivity").unwrap_or(d.sensitivity);
                if !(sensitivity > 0.0 && sensitivity <= 100.0) {
                    r.err(
                        "sensitivity",
                        "must be more than 0 and at most 100 (standard deviations)",
                    );
                }
                let min_history = r.number("min_history").unwrap_or(f64::from(d.min_history));
                let history = r.number("history").unwrap_or(f64::from(d.history));
                if !(2.0..=10_000.0).contains(&min_history) || min_history.fract() != 0.0 {
                    r.err("min_history", "must be a whole number from 2 to 10000");
                }
                if !(2.0..=10_000.0).contains(&history) || history.fract() != 0.0 {
                    r.err("history", "must be a whole number from 2 to 10000");
                }
                let alpha = r.number("alpha").unwrap_or(d.alpha);
                if !(alpha > 0.0 && alpha <= 1.0) {
                    r.err("alpha", "must be more than 0 and at most 1");
                }
                let direction = match r.string("direction").as_deref() {
                    None | Some("both") => Direction::Both,
                    Some("above") | Some("up") => Direction::Above,
                    Some("below") | Some("down") => Direction::Below,
                    Some(x) => {
                        r.err(
                            "direction",
                            format!("unknown direction {x:?}; expected above, below or both"),
                        );
                        Direction::Both
                    }
                };
                query.map(|query| RuleKind::Anomaly {
                    query,
                    settings: AnomalySettings {
                        method,
                        sensitivity,
                        min_history: min_history as u32,
                        history: history as u32,
                        alpha,
                        direction,
                    },
                })
            }
            Some("absence") => {
                let query = r.required_string("query").map(|q| with_select(&q));
                if let Some(q) = &query
                    && r.checks_meaning()
                    && let Err(e) = check_query(q)
                {
                    r.err("query", e);
                }
                let absent_for = r.duration("absent_for");
                if absent_for.is_none() && !r.any_problem(|f| f == "absent_for") {
                    r.err(
                        "absent_for",
                        "is required: how long a series may be missing, e.g. \"10m\"",
                    );
                }
                match (query, absent_for) {
                    (Some(query), Some(absent_for)) if absent_for > 0 => {
                        Some(RuleKind::Absence { query, absent_for })
                    }
                    (_, Some(a)) if a <= 0 => {
                        r.err("absent_for", "must be more than 0");
                        None
                    }
                    _ => None,
                }
            }
            Some(other) => {
                r.err(
                    "kind",
                    format!(
                        "unknown rule kind {other:?}; expected one of {}",
                        KINDS.join(", ")
                    ),
                );
                None
            }
        };
        // The other kinds' fields are unknown here only when the kind is known.
        if kind.is_some() || kind_name.is_none() {
            r.r.finish();
        } else {
            drop(r);
        }
        let mut errors = problems.0;
        if matches!(
            kind,
            Some(RuleKind::Anomaly { .. }) | Some(RuleKind::Absence { .. })
        ) && condition.is_some()
        {
            errors.push(FieldError::new(
                "condition",
                "anomaly and absence rules have no condition (they compare with history / look for missing data)",
            ));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let (Some(name), Some(kind), Some(severity)) = (name, kind, severity) else {
            return Err(vec![FieldError::new("", "invalid rule")]);
        };
        let compiled = compile(&kind);
        Ok(Rule {
            id,
            name,
            description,
            kind,
            compiled,
            condition,
            window,
            interval,
            for_,
            keep_firing_for,
            severity,
            labels,
            annotations,
            channels,
            enabled,
            created_at,
            updated_at,
        })
    }

    /// The JSON form (what the API returns and what is stored).
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "kind": self.kind.name(),
            "window": fmt_duration(self.window),
            "interval": fmt_duration(self.interval),
            "for": fmt_duration(self.for_),
            "keep_firing_for": fmt_duration(self.keep_firing_for),
            "severity": self.severity.as_str(),
            "labels": self.labels,
            "annotations": self.annotations,
            "channels": self.channels,
            "enabled": self.enabled,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        });
        let Some(obj) = v.as_object_mut() else {
            return v;
        };
        if let Some(c) = &self.condition {
            obj.insert(
                "condition".into(),
                json!({"op": c.op.as_str(), "threshold": c.threshold}),
            );
        }
        match &self.kind {
            RuleKind::Threshold { query } => {
                obj.insert("query".into(), json!(query));
            }
            RuleKind::LogPattern {
                pattern,
                filter,
                group_by,
            } => {
                obj.insert("pattern".into(), json!(pattern));
                obj.insert("filter".into(), json!(filter));
                obj.insert("group_by".into(), json!(group_by));
            }
            RuleKind::Trace {
                filter,
                measure,
                group_by,
            } => {
                obj.insert("filter".into(), json!(filter));
                obj.insert("measure".into(), json!(measure.as_str()));
                obj.insert("group_by".into(), json!(group_by));
            }
            RuleKind::Anomaly { query, settings } => {
                obj.insert("query".into(), json!(query));
                obj.insert(
                    "method".into(),
                    json!(match settings.method {
                        AnomalyMethod::ZScore => "zscore",
                        AnomalyMethod::Ewma => "ewma",
                    }),
                );
                obj.insert("sensitivity".into(), json!(settings.sensitivity));
                obj.insert("min_history".into(), json!(settings.min_history));
                obj.insert("history".into(), json!(settings.history));
                obj.insert("alpha".into(), json!(settings.alpha));
                obj.insert(
                    "direction".into(),
                    json!(match settings.direction {
                        Direction::Above => "above",
                        Direction::Below => "below",
                        Direction::Both => "both",
                    }),
                );
            }
            RuleKind::Absence { query, absent_for } => {
                obj.insert("query".into(), json!(query));
                obj.insert("absent_for".into(), json!(fmt_duration(*absent_for)));
            }
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

/// A rule's filter on `from`: one condition that checks.
fn check_filter(from: Source, filter: &str) -> Result<(), String> {
    let cond = compile::condition(filter)?;
    compile::check(compile::select(
        from,
        vec![compile::value(compile::count_star())],
        vec![cond],
        Vec::new(),
    ))
}

fn check_group_by(r: &mut Reader<'_, '_>, from: Source, group_by: &[String]) {
    if !r.checks_meaning() {
        return;
    }
    for (i, g) in group_by.iter().enumerate() {
        let checked = compile::condition(g).and_then(|e| {
            compile::check(compile::select(
                from,
                vec![
                    compile::group_item(g, &e),
                    compile::value(compile::count_star()),
                ],
                Vec::new(),
                vec![e],
            ))
        });
        if let Err(e) = checked {
            r.err(&format!("group_by[{i}]"), e);
        }
    }
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

fn valid_label_name(k: &str) -> bool {
    let mut chars = k.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

/// Formats nanoseconds as the shortest duration text: `1h30m`, `500ms`, `0s`
/// ([`heimsight_core::Duration`]'s text form).
pub fn fmt_duration(ns: i64) -> String {
    heimsight_core::Duration::from_nanos(ns).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(v: Value) -> Result<Rule, Vec<FieldError>> {
        Rule::from_json(&v, "r1", Timestamp(1))
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
            r.condition,
            Some(Condition {
                op: CmpOp::Gt,
                threshold: 0.9
            })
        );
        assert_eq!(
            r.compiled_query(),
            "SELECT avg(value) FROM metrics WHERE name='cpu'"
        );
        assert_eq!(r.severity, Severity::Warning);
        assert_eq!(r.interval, 60 * SEC);
        // Round trip through the stored form.
        let back = Rule::from_json(&r.to_json(), "other", Timestamp(9)).unwrap();
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
    /// still loads, what is malformed does not.
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
        let errs = Rule::from_json(&stored, "x", Timestamp(1)).unwrap_err();
        assert_eq!(
            fields(&errs),
            ["annotations.summary", "filter", "group_by[0]"],
            "{errs:?}"
        );
        let r = Rule::from_stored(&stored).unwrap();
        assert_eq!(r.to_json()["filter"], "nmae = 'GET /'");
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
        assert_eq!(r.condition.unwrap().op, CmpOp::Gt);
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
            ok.kind,
            RuleKind::Absence {
                query: "SELECT service, count(*) FROM logs GROUP BY service".into(),
                absent_for: 600 * SEC
            }
        );
    }

    #[test]
    fn durations_format_compactly() {
        assert_eq!(fmt_duration(0), "0s");
        assert_eq!(fmt_duration(90 * 60 * SEC), "1h30m");
        assert_eq!(fmt_duration(500_000_000), "500ms");
        assert_eq!(fmt_duration(86_400 * SEC + 5 * SEC), "1d5s");
    }
}
