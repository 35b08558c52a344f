//! Alert rules as the API takes them (`POST /api/v1/alerts/rules`): [`RuleSpec`], read from
//! JSON with every problem named by its field, and the typed settings it is made of
//! ([`RuleKind`], [`Condition`], [`TraceMeasure`], [`AnomalySettings`]).
//!
//! Reading a rule has two halves: its *shape* (types, required fields, values in range),
//! which this module checks, and its *meaning* (the query parses and returns a number, the
//! templates render), which needs the query language and is checked by a [`RuleChecks`]
//! given to [`RuleSpec::from_json_with`] (`heimsight-alert` has the one its manager uses).
//! Both halves run in one pass, so every problem is reported at once, in field order.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::{Duration, FieldError, FieldReader, Severity, ValidationErrors, parse_duration_nanos};

/// Smallest evaluation interval accepted (1 s).
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// Longest window a rule may look back (31 days).
pub const MAX_WINDOW: Duration = Duration::from_secs(31 * 86_400);

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
    /// Parses `p50`, `p90`, `p95`, `p99`, `avg`, `max`, `error_rate` or `count`.
    pub fn parse(s: &str) -> Option<Self> {
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

impl AnomalyMethod {
    /// `zscore` or `ewma`.
    pub fn as_str(self) -> &'static str {
        match self {
            AnomalyMethod::ZScore => "zscore",
            AnomalyMethod::Ewma => "ewma",
        }
    }
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

impl Direction {
    /// `above`, `below` or `both`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Above => "above",
            Direction::Below => "below",
            Direction::Both => "both",
        }
    }
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
        absent_for: Duration,
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

/// The checks of a rule's meaning that need more than its JSON: the query language and the
/// template engine. Each answers with the problem as one line, reported at the field it came
/// from. Every method accepts by default, so `()` is the checker of shape only (what a client
/// reading a rule back, or a store loading one, wants).
pub trait RuleChecks {
    /// An annotation template (`{{ $value }}`, `{{ $labels.service }}`).
    fn template(&self, _template: &str) -> Result<(), String> {
        Ok(())
    }

    /// A threshold query given without a condition that ends with one (`… > 0.9`): the query
    /// without it and the condition, when the whole is not a valid query and the rest is.
    fn split_condition(&self, _query: &str) -> Option<(String, Condition)> {
        None
    }

    /// The whole query of a `threshold`, `anomaly` or `absence` rule (`kind`).
    fn query(&self, _kind: &str, _query: &str) -> Result<(), String> {
        Ok(())
    }

    /// The filter (one condition) of a `log_pattern` or `trace` rule (`kind`).
    fn filter(&self, _kind: &str, _filter: &str) -> Result<(), String> {
        Ok(())
    }

    /// The full-text pattern of a log pattern rule.
    fn pattern(&self, _pattern: &str) -> Result<(), String> {
        Ok(())
    }

    /// One group-by expression of a `log_pattern` or `trace` rule (`kind`).
    fn group_by(&self, _kind: &str, _expr: &str) -> Result<(), String> {
        Ok(())
    }
}

/// Checks of shape only.
impl RuleChecks for () {}

/// An alert rule's settings: what `POST /api/v1/alerts/rules` takes and
/// `GET /api/v1/alerts/rules/{id}` shows (beside its id, times and state). Its JSON form:
///
/// ```json
/// {"name": "High CPU", "kind": "threshold",
///  "query": "SELECT service, avg(value) FROM metrics WHERE name = 'cpu' GROUP BY service",
///  "condition": {"op": ">", "threshold": 0.9},
///  "window": "5m", "interval": "30s", "for": "2m", "keep_firing_for": "0s",
///  "severity": "critical", "labels": {"team": "infra"},
///  "annotations": {"summary": "CPU of {{ $labels.service }} at {{ $value }}"},
///  "channels": ["ops-slack"], "enabled": true}
/// ```
///
/// ```
/// use heimsight_core::api::{RuleKind, RuleSpec};
/// use heimsight_core::{Duration, Severity};
///
/// let spec = RuleSpec::from_json(&serde_json::json!({
///     "name": "errors", "kind": "log_pattern", "filter": "level = 'error'",
///     "group_by": "service", "condition": {"threshold": 10}, "interval": "30s"}))?;
/// assert_eq!(spec.interval, Duration::from_secs(30));
/// assert_eq!(spec.severity, Severity::Warning);
/// assert!(matches!(&spec.kind, RuleKind::LogPattern { group_by, .. } if group_by == &["service"]));
/// // Its JSON form reads back to the same spec.
/// assert_eq!(RuleSpec::from_json(&spec.to_json())?, spec);
///
/// // Every problem, by field, in field order.
/// let errors = RuleSpec::from_json(&serde_json::json!(
///     {"name": "x", "kind": "psychic", "interval": "-1m"})).unwrap_err();
/// let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
/// assert_eq!(fields, ["interval", "kind"]);
/// # Ok::<(), Vec<heimsight_core::FieldError>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSpec {
    /// Name (the `alertname` label of its alerts).
    pub name: String,
    /// Free text.
    pub description: String,
    /// Kind and kind settings.
    pub kind: RuleKind,
    /// When a value is a problem (threshold, log pattern and trace rules).
    pub condition: Option<Condition>,
    /// How far back each evaluation looks (default 5 minutes).
    pub window: Duration,
    /// Time between evaluations (default 1 minute).
    pub interval: Duration,
    /// How long the condition must hold before the alert fires (pending until then).
    pub for_: Duration,
    /// How long a firing alert keeps firing after the condition cleared.
    pub keep_firing_for: Duration,
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
}

/// Fields the API shows beside a rule's settings; a rule read back (the PUT of a GET) may
/// carry them, and they are ignored.
const SHOWN: [&str; 7] = [
    "id",
    "created_at",
    "updated_at",
    "state",
    "last_evaluation",
    "last_error",
    "compiled_query",
];

impl RuleSpec {
    /// A rule of `kind` named `name` with every default: a 5 minute window, evaluated each
    /// minute, `warning`, no condition, labels, annotations or channels, enabled.
    pub fn new(name: impl Into<String>, kind: RuleKind) -> RuleSpec {
        RuleSpec {
            name: name.into(),
            description: String::new(),
            kind,
            condition: None,
            window: Duration::from_secs(5 * 60),
            interval: Duration::from_secs(60),
            for_: Duration::ZERO,
            keep_firing_for: Duration::ZERO,
            severity: Severity::Warning,
            labels: BTreeMap::new(),
            annotations: BTreeMap::new(),
            channels: Vec::new(),
            enabled: true,
        }
    }

    /// Reads a rule's JSON for its shape, with every problem named by its field: types,
    /// required fields, known kinds and values in range. The fields the API shows beside the
    /// settings (`id`, `state`, …) are accepted and ignored; any other unknown field is a
    /// problem. Queries and templates are taken as written (see
    /// [`RuleSpec::from_json_with`]).
    pub fn from_json(v: &Value) -> Result<RuleSpec, Vec<FieldError>> {
        RuleSpec::from_json_with(v, &())
    }

    /// [`RuleSpec::from_json`], with the rule's meaning checked by `checks` in the same
    /// pass: each problem at its field, in field order.
    pub fn from_json_with(v: &Value, checks: &dyn RuleChecks) -> Result<RuleSpec, Vec<FieldError>> {
        read(v, checks, true)
    }

    /// Reads a rule as a client or a store reads one back: for its shape, ignoring fields it
    /// does not know (a newer version's). What [`Deserialize`] does.
    pub fn read_back(v: &Value) -> Result<RuleSpec, Vec<FieldError>> {
        read(v, &(), false)
    }

    /// Checks a spec made in code as its JSON would be checked (one reader for both), and
    /// answers it as read: e.g. a threshold query ending with a comparison has it as its
    /// condition.
    pub fn checked(&self, checks: &dyn RuleChecks) -> Result<RuleSpec, Vec<FieldError>> {
        read(&self.to_json(), checks, true)
    }

    /// The JSON form (what the API shows, without id, times and state).
    pub fn to_json(&self) -> Value {
        Value::Object(self.to_map())
    }

    fn to_map(&self) -> Map<String, Value> {
        let mut obj = Map::new();
        let mut put = |k: &str, v: Value| {
            obj.insert(k.to_string(), v);
        };
        put("name", json!(self.name));
        put("description", json!(self.description));
        put("kind", json!(self.kind.name()));
        put("window", json!(self.window.to_string()));
        put("interval", json!(self.interval.to_string()));
        put("for", json!(self.for_.to_string()));
        put("keep_firing_for", json!(self.keep_firing_for.to_string()));
        put("severity", json!(self.severity.as_str()));
        put("labels", json!(self.labels));
        put("annotations", json!(self.annotations));
        put("channels", json!(self.channels));
        put("enabled", json!(self.enabled));
        if let Some(c) = &self.condition {
            put(
                "condition",
                json!({"op": c.op.as_str(), "threshold": c.threshold}),
            );
        }
        match &self.kind {
            RuleKind::Threshold { query } => put("query", json!(query)),
            RuleKind::LogPattern {
                pattern,
                filter,
                group_by,
            } => {
                put("pattern", json!(pattern));
                put("filter", json!(filter));
                put("group_by", json!(group_by));
            }
            RuleKind::Trace {
                filter,
                measure,
                group_by,
            } => {
                put("filter", json!(filter));
                put("measure", json!(measure.as_str()));
                put("group_by", json!(group_by));
            }
            RuleKind::Anomaly { query, settings } => {
                put("query", json!(query));
                put("method", json!(settings.method.as_str()));
                put("sensitivity", json!(settings.sensitivity));
                put("min_history", json!(settings.min_history));
                put("history", json!(settings.history));
                put("alpha", json!(settings.alpha));
                put("direction", json!(settings.direction.as_str()));
            }
            RuleKind::Absence { query, absent_for } => {
                put("query", json!(query));
                put("absent_for", json!(absent_for.to_string()));
            }
        }
        obj
    }
}

impl Serialize for RuleSpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_map().serialize(s)
    }
}

/// [`RuleSpec::read_back`].
impl<'de> Deserialize<'de> for RuleSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        RuleSpec::read_back(&v)
            .map_err(|errors| serde::de::Error::custom(super::invalid_text("rule", &errors)))
    }
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

/// Whether `k` is a label name: letters, digits, `_` and `.`, not starting with a digit.
fn valid_label_name(k: &str) -> bool {
    let mut chars = k.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

/// Reads a rule's JSON field by field, collecting every problem: the rule-specific readings
/// (durations, required texts, label maps, lists that may be one string) on top of
/// [`FieldReader`].
struct Reader<'a, 'e> {
    r: FieldReader<'a, 'e>,
}

impl<'a> Reader<'a, '_> {
    fn err(&mut self, key: &str, reason: impl Into<String>) {
        self.r.err(key, reason);
    }

    /// Records `result`'s problem, if any, at `key`.
    fn check(&mut self, key: &str, result: Result<(), String>) {
        if let Err(e) = result {
            self.err(key, e);
        }
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

    /// A duration: `"5m"`, `"1h30m"` or a number of seconds. Negative values are refused.
    fn duration(&mut self, key: &'static str) -> Option<Duration> {
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
            Ok(ns) => Some(Duration::from_nanos(ns)),
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

    /// The `condition` object.
    fn condition(&mut self) -> Option<Condition> {
        let c = match self.get("condition")? {
            Value::Object(c) => c,
            other => {
                self.err(
                    "condition",
                    format!(
                        "expected an object {{\"op\": \">\", \"threshold\": 1}}, found {}",
                        crate::json_type_name(other)
                    ),
                );
                return None;
            }
        };
        let op = match c.get("op") {
            None => Some(CmpOp::Gt),
            Some(Value::String(s)) => CmpOp::parse(s).or_else(|| {
                self.err(
                    "condition.op",
                    format!("unknown comparison {s:?}; expected >, >=, <, <=, == or !="),
                );
                None
            }),
            Some(other) => {
                self.r.wrong_type("condition.op", "a string", other);
                None
            }
        };
        let threshold = match c.get("threshold") {
            Some(Value::Number(n)) => n.as_f64(),
            None => {
                self.err("condition.threshold", "is required");
                None
            }
            Some(other) => {
                self.r.wrong_type("condition.threshold", "a number", other);
                None
            }
        };
        for k in c.keys() {
            if k != "op" && k != "threshold" {
                self.err(&format!("condition.{k}"), "unknown field");
            }
        }
        Some(Condition {
            op: op?,
            threshold: threshold?,
        })
    }

    /// "`condition` is required" (with `example`), unless a problem with it was reported.
    fn require_condition(&mut self, condition: &Option<Condition>, example: &str) {
        if condition.is_none() && !self.any_problem(|f| f.starts_with("condition")) {
            self.err("condition", format!("is required{example}"));
        }
    }
}

/// Reads a rule (see [`RuleSpec::from_json_with`]); `strict`: unknown fields are problems.
fn read(v: &Value, checks: &dyn RuleChecks, strict: bool) -> Result<RuleSpec, Vec<FieldError>> {
    let mut problems = ValidationErrors::new();
    let Some(fields) = FieldReader::new(v, "", &mut problems, "") else {
        return Err(problems.0);
    };
    let mut r = Reader { r: fields };
    let d = RuleSpec::new(
        "",
        RuleKind::Threshold {
            query: String::new(),
        },
    );
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
    let window = r.duration("window").unwrap_or(d.window);
    let interval = r.duration("interval").unwrap_or(d.interval);
    let for_ = r.duration("for").unwrap_or(d.for_);
    let keep_firing_for = r.duration("keep_firing_for").unwrap_or(d.keep_firing_for);
    if !window.is_positive() || window > MAX_WINDOW {
        r.err("window", "must be more than 0 and at most 31d");
    }
    if interval < MIN_INTERVAL {
        r.err("interval", "must be at least 1s");
    }
    let labels = r.string_map("labels");
    let annotations = r.string_map("annotations");
    let channels = r.string_list("channels");
    let enabled = r.r.opt_bool(&["enabled"]).unwrap_or(true);
    r.r.allow(&SHOWN);
    for k in labels.keys() {
        if !valid_label_name(k) {
            r.err(
                &format!("labels.{k}"),
                "label names are letters, digits, `_` and `.`, not starting with a digit",
            );
        }
    }
    for (k, t) in &annotations {
        let checked = checks.template(t);
        r.check(&format!("annotations.{k}"), checked);
    }
    let mut condition = r.condition();

    let kind = match kind_name.as_deref() {
        None => None,
        Some(kind @ "threshold") => r.required_string("query").map(|q| {
            let mut query = with_select(&q);
            if condition.is_none()
                && let Some((rest, c)) = checks.split_condition(&query)
            {
                query = rest;
                condition = Some(c);
            }
            let checked = checks.query(kind, &query);
            r.check("query", checked);
            r.require_condition(
                &condition,
                ": {\"op\": \">\", \"threshold\": 0.9}, or end the query with a comparison such as `> 0.9`",
            );
            RuleKind::Threshold { query }
        }),
        Some(kind @ "log_pattern") => {
            let pattern = r.string("pattern").filter(|p| !p.trim().is_empty());
            let filter = r.string("filter").filter(|p| !p.trim().is_empty());
            let group_by = r.string_list("group_by");
            if pattern.is_none() && filter.is_none() {
                r.err(
                    "pattern",
                    "a log pattern rule needs `pattern` (full-text) or `filter` (a condition), or both",
                );
            }
            if let Some(f) = &filter {
                let checked = checks.filter(kind, f);
                r.check("filter", checked);
            }
            if let Some(p) = &pattern {
                let checked = checks.pattern(p);
                r.check("pattern", checked);
            }
            for (i, g) in group_by.iter().enumerate() {
                let checked = checks.group_by(kind, g);
                r.check(&format!("group_by[{i}]"), checked);
            }
            r.require_condition(&condition, ", e.g. {\"op\": \">\", \"threshold\": 10}");
            Some(RuleKind::LogPattern {
                pattern,
                filter,
                group_by,
            })
        }
        Some(kind @ "trace") => {
            let filter = r.string("filter").filter(|p| !p.trim().is_empty());
            let group_by = r.string_list("group_by");
            let measure = match r.string("measure") {
                None => Some(TraceMeasure::Percentile(99)),
                Some(m) => TraceMeasure::parse(&m).or_else(|| {
                    r.err(
                        "measure",
                        format!(
                            "unknown measure {m:?}; expected p50, p90, p95, p99, avg, max, error_rate or count"
                        ),
                    );
                    None
                }),
            };
            if let Some(f) = &filter {
                let checked = checks.filter(kind, f);
                r.check("filter", checked);
            }
            for (i, g) in group_by.iter().enumerate() {
                let checked = checks.group_by(kind, g);
                r.check(&format!("group_by[{i}]"), checked);
            }
            r.require_condition(
                &condition,
                ", e.g. {\"op\": \">\", \"threshold\": 500} (milliseconds for durations)",
            );
            measure.map(|measure| RuleKind::Trace {
                filter,
                measure,
                group_by,
            })
        }
        Some(kind @ "anomaly") => {
            let query = r.required_string("query").map(|q| with_select(&q));
            if let Some(q) = &query {
                let checked = checks.query(kind, q);
                r.check("query", checked);
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
        Some(kind @ "absence") => {
            let query = r.required_string("query").map(|q| with_select(&q));
            if let Some(q) = &query {
                let checked = checks.query(kind, q);
                r.check("query", checked);
            }
            let absent_for = r.duration("absent_for");
            match absent_for {
                None if !r.any_problem(|f| f == "absent_for") => r.err(
                    "absent_for",
                    "is required: how long a series may be missing, e.g. \"10m\"",
                ),
                Some(a) if !a.is_positive() => r.err("absent_for", "must be more than 0"),
                _ => {}
            }
            match (query, absent_for) {
                (Some(query), Some(absent_for)) if absent_for.is_positive() => {
                    Some(RuleKind::Absence { query, absent_for })
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
    if strict && (kind.is_some() || kind_name.is_none()) {
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
    Ok(RuleSpec {
        name,
        description,
        kind,
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
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(errs: &[FieldError]) -> Vec<&str> {
        errs.iter().map(|e| e.field.as_str()).collect()
    }

    /// A checker that refuses what contains `bad`, and splits `… > 1` off threshold queries.
    struct Picky;

    impl RuleChecks for Picky {
        fn template(&self, t: &str) -> Result<(), String> {
            if t.contains("bad") {
                Err("bad template".into())
            } else {
                Ok(())
            }
        }
        fn split_condition(&self, q: &str) -> Option<(String, Condition)> {
            q.strip_suffix(" > 1").map(|rest| {
                (
                    rest.to_string(),
                    Condition {
                        op: CmpOp::Gt,
                        threshold: 1.0,
                    },
                )
            })
        }
        fn query(&self, _kind: &str, q: &str) -> Result<(), String> {
            if q.contains("bad") {
                Err("bad query".into())
            } else {
                Ok(())
            }
        }
        fn filter(&self, kind: &str, f: &str) -> Result<(), String> {
            if f.contains("bad") {
                Err(format!("bad {kind} filter"))
            } else {
                Ok(())
            }
        }
        fn group_by(&self, _kind: &str, g: &str) -> Result<(), String> {
            if g.contains("bad") {
                Err("bad group".into())
            } else {
                Ok(())
            }
        }
    }

    #[test]
    fn shape_and_meaning_problems_come_in_field_order() {
        let v = json!({
            "name": "x", "kind": "trace", "measure": "p42", "filter": "bad",
            "group_by": ["ok", "bad"], "annotations": {"s": "bad"}, "condition": {"threshold": 1}
        });
        let errs = RuleSpec::from_json_with(&v, &Picky).unwrap_err();
        assert_eq!(
            fields(&errs),
            ["annotations.s", "measure", "filter", "group_by[1]"],
            "{errs:?}"
        );
        assert!(errs[2].reason.contains("trace filter"), "{errs:?}");
        // Shape only: the checker's refusals are not problems.
        let errs = RuleSpec::from_json(&v).unwrap_err();
        assert_eq!(fields(&errs), ["measure"]);
    }

    #[test]
    fn the_checker_may_split_a_trailing_condition() {
        let v = json!({"name": "x", "kind": "threshold", "query": "count(*) FROM logs > 1"});
        let spec = RuleSpec::from_json_with(&v, &Picky).unwrap();
        assert_eq!(
            spec.kind,
            RuleKind::Threshold {
                query: "SELECT count(*) FROM logs".into()
            }
        );
        assert_eq!(
            spec.condition,
            Some(Condition {
                op: CmpOp::Gt,
                threshold: 1.0
            })
        );
        // Without it, the condition is missing.
        let errs = RuleSpec::from_json(&v).unwrap_err();
        assert_eq!(fields(&errs), ["condition"]);
        // A spec made in code is checked as its JSON would be.
        let mut made = RuleSpec::new(
            "x",
            RuleKind::Threshold {
                query: "count(*) FROM logs > 1".into(),
            },
        );
        assert_eq!(made.checked(&Picky).unwrap(), spec);
        made.annotations.insert("summary".into(), "bad".into());
        assert_eq!(
            fields(&made.checked(&Picky).unwrap_err()),
            ["annotations.summary"]
        );
    }

    #[test]
    fn every_kind_round_trips_through_its_json() {
        for v in [
            json!({"name": "t", "kind": "threshold", "query": "SELECT 1", "condition": {"op": "<", "threshold": 2}}),
            json!({"name": "l", "kind": "log_pattern", "pattern": "oops", "condition": {"threshold": 1},
                   "labels": {"team": "a"}, "annotations": {"summary": "s"}, "channels": "c1"}),
            json!({"name": "s", "kind": "trace", "measure": "error_rate", "group_by": ["service"],
                   "condition": {"threshold": 0.1}, "severity": "critical", "for": "2m"}),
            json!({"name": "a", "kind": "anomaly", "query": "SELECT 1", "method": "ewma",
                   "direction": "up", "alpha": 0.5, "enabled": false}),
            json!({"name": "b", "kind": "absence", "query": "SELECT 1", "absent_for": 600}),
        ] {
            let spec = RuleSpec::from_json(&v).unwrap();
            assert_eq!(RuleSpec::from_json(&spec.to_json()).unwrap(), spec, "{v}");
            let back: RuleSpec =
                serde_json::from_value(serde_json::to_value(&spec).unwrap()).unwrap();
            assert_eq!(back, spec);
        }
    }

    #[test]
    fn clients_read_rules_leniently_and_the_api_strictly() {
        let v = json!({"name": "b", "kind": "absence", "query": "SELECT 1", "absent_for": "10m",
                       "id": "r-1", "state": "firing", "from_a_newer_server": 1});
        let spec: RuleSpec = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(
            spec.kind,
            RuleKind::Absence {
                query: "SELECT 1".into(),
                absent_for: Duration::from_secs(600)
            }
        );
        assert_eq!(
            fields(&RuleSpec::from_json(&v).unwrap_err()),
            ["from_a_newer_server"]
        );
        let e = serde_json::from_value::<RuleSpec>(json!({"name": "b", "kind": "absence"}))
            .unwrap_err();
        assert!(e.to_string().contains("absent_for"), "{e}");
    }
}
