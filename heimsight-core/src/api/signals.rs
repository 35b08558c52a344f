//! Answers of the read endpoints: logs, traces, metrics and queries.

use std::collections::BTreeMap;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::{Duration, LogRecord, Span, Timestamp, TraceId};

/// `GET /api/v1/logs`: a page of records and how many match in all.
///
/// `R` is how the records are read: [`LogRecord`] (the default, strict) or a JSON object for a
/// client that must tolerate fields a newer server adds.
///
/// ```
/// use heimsight_core::api::LogsPage;
///
/// let page: LogsPage = serde_json::from_str(
///     r#"{"logs": [{"timestamp": "2026-01-01T00:00:00Z", "level": "error",
///                   "message": "disk full", "service": "api"}],
///         "total": 7, "limit": 1, "offset": 0}"#,
/// )?;
/// assert_eq!(page.logs[0].body, "disk full");
/// assert_eq!(page.total, 7);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(bound(deserialize = "R: Deserialize<'de>"))]
pub struct LogsPage<R = LogRecord> {
    /// The records of the page, in the order asked for.
    pub logs: Vec<R>,
    /// Records that match in all.
    pub total: u64,
    /// Page size asked for.
    pub limit: usize,
    /// Records skipped before the page.
    pub offset: usize,
}

/// One trace as search results show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TraceSummary {
    /// The trace.
    pub trace_id: TraceId,
    /// The root span's service (the earliest span's, when the root is missing).
    pub root_service: String,
    /// The root span's name.
    pub root_name: String,
    /// Earliest span start.
    pub start_time: Timestamp,
    /// Latest span end minus earliest start, in nanoseconds.
    pub duration_ns: i64,
    /// Spans stored.
    pub span_count: u64,
    /// Distinct services, sorted.
    pub services: Vec<String>,
    /// Distinct span names, sorted.
    pub operations: Vec<String>,
    /// Whether some span failed.
    pub error: bool,
}

impl TraceSummary {
    /// Builds the summary of a trace from its spans (`None` when there are none).
    pub fn from_spans(spans: &[crate::Span]) -> Option<TraceSummary> {
        let first = spans.first()?;
        let mut start = first.start_time;
        let mut end = first.end_time;
        let mut root: Option<&crate::Span> = None;
        let mut earliest = first;
        let mut services = std::collections::BTreeSet::new();
        let mut operations = std::collections::BTreeSet::new();
        let mut error = false;
        for s in spans {
            start = start.min(s.start_time);
            end = end.max(s.end_time);
            if s.start_time < earliest.start_time {
                earliest = s;
            }
            if s.parent_span_id.is_none() && root.is_none_or(|r| s.start_time < r.start_time) {
                root = Some(s);
            }
            services.insert(s.service.clone());
            operations.insert(s.name.clone());
            error |= s.status.code == crate::StatusCode::Error;
        }
        let head = root.unwrap_or(earliest);
        Some(TraceSummary {
            trace_id: first.trace_id,
            root_service: head.service.clone(),
            root_name: head.name.clone(),
            start_time: start,
            duration_ns: end.0.saturating_sub(start.0),
            span_count: spans.len() as u64,
            services: services.into_iter().collect(),
            operations: operations.into_iter().collect(),
            error,
        })
    }
}

/// `GET /api/v1/traces`: the traces found, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TracesPage {
    /// The traces.
    pub traces: Vec<TraceSummary>,
}

/// `GET /api/v1/traces/{id}`: a trace's spans, flat and as a tree, and its logs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound(
    serialize = "S: Serialize, R: Serialize",
    deserialize = "S: serde::de::DeserializeOwned, R: Deserialize<'de>"
))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TraceDetail<S = Span, R = LogRecord> {
    /// The trace.
    pub trace_id: TraceId,
    /// Its summary.
    pub summary: TraceSummary,
    /// Every span, by start time.
    pub spans: Vec<S>,
    /// The spans as a forest: spans whose parent is not stored are roots.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<SpanNode>))]
    pub tree: Vec<SpanNode<S>>,
    /// The trace's logs, oldest first (at most a thousand).
    pub logs: Vec<R>,
    /// The trace's logs in all.
    pub logs_total: u64,
}

/// A span of a trace's tree with its children: the span's own fields and `children`.
///
/// ```
/// use heimsight_core::api::SpanNode;
/// use heimsight_core::Span;
///
/// let node: SpanNode = serde_json::from_str(
///     r#"{"trace_id": "5b8efff798038103d269b633813fc60c", "span_id": "0000000000000001",
///         "name": "GET /", "start_time": 1, "end_time": 9,
///         "children": [{"trace_id": "5b8efff798038103d269b633813fc60c",
///                       "span_id": "0000000000000002", "parent_span_id": "0000000000000001",
///                       "name": "db", "start_time": 2, "end_time": 3, "children": []}]}"#,
/// )?;
/// assert_eq!(node.span.name, "GET /");
/// assert_eq!(node.children[0].span.name, "db");
/// assert_eq!(serde_json::to_value(&node)?["children"][0]["name"], "db");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SpanNode<S = Span> {
    /// The span.
    pub span: S,
    /// Its children, by start time.
    pub children: Vec<SpanNode<S>>,
}

impl<S: Serialize> Serialize for SpanNode<S> {
    fn serialize<Se: Serializer>(&self, s: Se) -> Result<Se::Ok, Se::Error> {
        let mut v = serde_json::to_value(&self.span).map_err(serde::ser::Error::custom)?;
        let Some(obj) = v.as_object_mut() else {
            return Err(serde::ser::Error::custom(
                "a span must serialize as an object",
            ));
        };
        let children = serde_json::to_value(&self.children).map_err(serde::ser::Error::custom)?;
        obj.insert("children".into(), children);
        v.serialize(s)
    }
}

impl<'de, S: serde::de::DeserializeOwned> Deserialize<'de> for SpanNode<S> {
    /// The span's own fields are read without `children` (a span refuses unknown fields).
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut obj = Map::<String, Value>::deserialize(d)?;
        let children = match obj.remove("children") {
            None | Some(Value::Null) => Vec::new(),
            Some(c) => serde_json::from_value(c).map_err(D::Error::custom)?,
        };
        let span = serde_json::from_value(Value::Object(obj)).map_err(D::Error::custom)?;
        Ok(SpanNode { span, children })
    }
}

/// `GET /api/v1/metrics/names`: every metric name, sorted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MetricNames {
    /// The names.
    pub names: Vec<String>,
}

/// `GET /api/v1/metrics`: the series found with their points; with `agg`, one point per `step`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SeriesAnswer {
    /// The series.
    pub series: Vec<SeriesView>,
    /// The aggregation applied in each step (`avg`, `sum`, `min`, `max`, `count`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agg: Option<String>,
    /// The width of a step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<Duration>,
}

/// One series and its points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SeriesView {
    /// Metric name.
    pub name: String,
    /// Kind: `gauge`, `counter`, `histogram`, `exponential_histogram` or `summary`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Its points, oldest first.
    pub points: Vec<PointView>,
}

/// One point of a series: its time, its value for gauges, counters and aggregates, and the
/// other fields of histograms and summaries (`buckets`, `sum`, `count`, `quantiles`, …) as
/// they are stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PointView {
    /// When.
    pub timestamp: Timestamp,
    /// The value (gauges, counters, aggregates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Float>,
    /// The other fields of the point.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl PointView {
    /// The number to plot: the value, or the `sum` of a histogram or summary; `None` when
    /// there is none or it is not finite.
    ///
    /// ```
    /// use heimsight_core::api::PointView;
    ///
    /// let p: PointView = serde_json::from_str(r#"{"timestamp": 1, "sum": 7.5, "count": 3}"#)?;
    /// assert_eq!(p.plotted(), Some(7.5));
    /// let p: PointView = serde_json::from_str(r#"{"timestamp": 1, "value": "NaN"}"#)?;
    /// assert_eq!(p.plotted(), None);
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn plotted(&self) -> Option<f64> {
        let v = match self.value {
            Some(v) => v.0,
            None => self.other.get("sum")?.as_f64()?,
        };
        v.is_finite().then_some(v)
    }
}

/// A number of the API that may be NaN or infinite: a JSON number, or the text `NaN`, `+Inf`
/// or `-Inf` (as Prometheus writes them).
///
/// ```
/// use heimsight_core::api::Float;
///
/// assert_eq!(serde_json::to_string(&Float(f64::INFINITY))?, r#""+Inf""#);
/// assert_eq!(serde_json::from_str::<Float>("2.5")?, Float(2.5));
/// assert!(serde_json::from_str::<Float>(r#""NaN""#)?.0.is_nan());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Float(pub f64);

impl Serialize for Float {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        crate::metric::f64_json(self.0).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Float {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Number(n) => n
                .as_f64()
                .map(Float)
                .ok_or_else(|| D::Error::custom("number out of range")),
            Value::String(s) => match s.as_str() {
                "NaN" => Ok(Float(f64::NAN)),
                "+Inf" | "Inf" => Ok(Float(f64::INFINITY)),
                "-Inf" => Ok(Float(f64::NEG_INFINITY)),
                other => other.parse().map(Float).map_err(|_| {
                    D::Error::custom(format!(
                        "expected a number, NaN, +Inf or -Inf, found {other:?}"
                    ))
                }),
            },
            other => Err(D::Error::custom(format!(
                "expected a number, found {}",
                crate::json::type_name(&other)
            ))),
        }
    }
}

/// `POST /api/v1/query` (and `GET` with `query=`): the result columns and rows, what the run
/// cost, and the plan it followed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QueryAnswer {
    /// The result columns.
    pub columns: Vec<ColumnView>,
    /// The rows, one value per column: numbers, text, booleans, `null`, timestamps as RFC 3339
    /// text, durations as nanoseconds, maps as objects.
    pub rows: Vec<Vec<Value>>,
    /// What the run cost.
    pub stats: QueryStats,
    /// The plan that ran.
    pub plan: PlanView,
}

impl QueryAnswer {
    /// Each row as an object keyed by column name.
    pub fn rows_as_objects(&self) -> Vec<Map<String, Value>> {
        self.rows
            .iter()
            .map(|r| {
                self.columns
                    .iter()
                    .zip(r)
                    .map(|(c, v)| (c.name.clone(), v.clone()))
                    .collect()
            })
            .collect()
    }
}

/// A result column: its name and type (`string`, `int`, `float`, `bool`, `timestamp`,
/// `duration`, `map`, `any`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ColumnView {
    /// Name (the alias, or the expression's text).
    pub name: String,
    /// Type.
    #[serde(rename = "type")]
    pub ty: String,
}

/// What a query run cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QueryStats {
    /// Records read from the store.
    pub rows_scanned: u64,
    /// Rows in the answer.
    pub rows_returned: usize,
    /// Wall time, in milliseconds.
    pub elapsed_ms: f64,
    /// Whether more rows matched than the answer holds.
    pub truncated: bool,
}

/// How a query reads the store and what it does after (what `EXPLAIN` shows).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(no_recursion))]
pub struct PlanView {
    /// The source read: `logs`, `spans` or `metrics`.
    pub source: String,
    /// How the store is read.
    pub access: String,
    /// The `WHERE` terms the store applies.
    #[serde(default)]
    pub pushed: Vec<String>,
    /// The `WHERE` terms applied after reading.
    #[serde(default)]
    pub residual: Vec<String>,
    /// What is done after reading: filter, group, order, page.
    #[serde(default)]
    pub steps: Vec<String>,
    /// The plans of the subqueries, run first.
    #[serde(default)]
    pub subqueries: Vec<PlanView>,
}

/// A time as a request gives it: absolute (RFC 3339 or Unix nanoseconds), or relative to when
/// the request is served (`now`, `now-15m`, `now+1h`). Written as that text.
///
/// ```
/// use heimsight_core::Timestamp;
/// use heimsight_core::api::TimeRef;
///
/// let an_hour_ago: TimeRef = "now-1h".parse()?;
/// let now = Timestamp(10_000_000_000_000);
/// assert_eq!(an_hour_ago.resolve(now), Timestamp(now.0 - 3_600_000_000_000));
/// assert_eq!(an_hour_ago.to_string(), "now-1h");
/// let at: TimeRef = "2026-01-01T00:00:00Z".parse()?;
/// assert_eq!(at.resolve(now).to_rfc3339(), "2026-01-01T00:00:00.000000000Z");
/// # Ok::<(), heimsight_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeRef {
    /// This time.
    At(Timestamp),
    /// This many nanoseconds from when the request is served (negative: before).
    FromNow(i64),
}

impl TimeRef {
    /// The time it stands for when the request is served at `now`.
    pub fn resolve(self, now: Timestamp) -> Timestamp {
        match self {
            TimeRef::At(t) => t,
            TimeRef::FromNow(offset) => now.saturating_add(offset),
        }
    }
}

impl std::str::FromStr for TimeRef {
    type Err = crate::Error;

    /// `now`, `now-<duration>`, `now+<duration>`, RFC 3339 or Unix nanoseconds.
    fn from_str(s: &str) -> Result<TimeRef, crate::Error> {
        if s.trim().starts_with("now") {
            // Relative to a `now` of zero, the time is the offset.
            Timestamp::parse_relative(s, Timestamp(0)).map(|t| TimeRef::FromNow(t.0))
        } else {
            Timestamp::parse_relative(s, Timestamp(0)).map(TimeRef::At)
        }
    }
}

impl std::fmt::Display for TimeRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            TimeRef::At(t) => f.write_str(&t.to_rfc3339()),
            TimeRef::FromNow(0) => f.write_str("now"),
            TimeRef::FromNow(n) if n < 0 => {
                write!(f, "now-{}", crate::Duration::from_nanos(n.saturating_neg()))
            }
            TimeRef::FromNow(n) => write!(f, "now+{}", crate::Duration::from_nanos(n)),
        }
    }
}

impl Serialize for TimeRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TimeRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::String(s) => s.parse().map_err(D::Error::custom),
            other => Timestamp::from_json(&other)
                .map(TimeRef::At)
                .map_err(D::Error::custom),
        }
    }
}

/// `POST /api/v1/query`: a query of the query language, the time range it runs over (both
/// ends optional) and its limits.
///
/// ```
/// use heimsight_core::api::{QueryRequest, TimeRef};
///
/// let r = QueryRequest::from_json(&serde_json::json!({
///     "query": "SELECT count(*) FROM logs", "start": "now-1h", "max_rows": 10
/// }))?;
/// assert_eq!(r.start, Some(TimeRef::FromNow(-3_600_000_000_000)));
/// assert_eq!(r.max_rows, Some(10));
/// let errors = QueryRequest::from_json(&serde_json::json!({"start": "yesterday", "limit": 5}))
///     .unwrap_err();
/// let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
/// assert_eq!(fields, ["query", "start", "limit"]);
/// # Ok::<(), Vec<heimsight_core::FieldError>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QueryRequest {
    /// The query text.
    pub query: String,
    /// Start of the range (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<TimeRef>,
    /// End of the range (exclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<TimeRef>,
    /// Time budget in milliseconds (the server's default when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// Most rows to return (the server's default when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_rows: Option<u64>,
}

impl QueryRequest {
    /// A request for `query` over the server's default range and limits.
    pub fn new(query: impl Into<String>) -> QueryRequest {
        QueryRequest {
            query: query.into(),
            start: None,
            end: None,
            timeout_ms: None,
            max_rows: None,
        }
    }

    /// Reads a request from the API's JSON, with every problem by field.
    pub fn from_json(v: &Value) -> Result<QueryRequest, Vec<crate::FieldError>> {
        let mut problems = crate::ValidationErrors::new();
        let Some(mut r) = crate::FieldReader::new(v, "", &mut problems, "a query request") else {
            return Err(problems.0);
        };
        let query = r.opt_str(&["query"]);
        if query.is_none() && !r.has_problem("query") {
            r.err("query", "is required: the query text");
        }
        let mut time = |name: &str| -> Option<TimeRef> {
            let (v, _) = r.get(&[name])?;
            let t = match v {
                Value::String(s) => s.parse::<TimeRef>().map_err(|e| e.to_string()),
                other => Timestamp::from_json(other).map(TimeRef::At),
            };
            t.map_err(|e| r.err(name, e)).ok()
        };
        let start = time("start");
        let end = time("end");
        let timeout_ms = r.opt_u64(&["timeout_ms"]);
        let max_rows = r.opt_u64(&["max_rows"]);
        r.finish();
        match query {
            Some(query) if problems.is_empty() => Ok(QueryRequest {
                query,
                start,
                end,
                timeout_ms,
                max_rows,
            }),
            _ => Err(problems.0),
        }
    }
}
