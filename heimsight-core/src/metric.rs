//! Metric points and series.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value};

use crate::attr::Attributes;
use crate::error::ValidationErrors;
use crate::ids::{SpanId, TraceId};
use crate::json::{FieldReader, describe, number_f64, type_name};
use crate::time::Timestamp;

/// Metric labels: sorted name → value pairs (resource attributes folded in).
pub type Labels = BTreeMap<String, String>;

/// The kind of a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricKind {
    /// A value that goes up and down.
    Gauge,
    /// A sum (monotonic or not) with a temporality.
    Counter,
    /// Explicit-bucket histogram.
    Histogram,
    /// Pre-computed quantiles.
    Summary,
    /// Base-2 exponential-bucket histogram (OTLP `ExponentialHistogram`).
    ExponentialHistogram,
}

impl MetricKind {
    /// Lower-case name as used in JSON (`gauge`, `counter`, `histogram`, `summary`).
    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::Gauge => "gauge",
            MetricKind::Counter => "counter",
            MetricKind::Histogram => "histogram",
            MetricKind::Summary => "summary",
            MetricKind::ExponentialHistogram => "exponential_histogram",
        }
    }

    /// Parses a kind name (`sum` is accepted for counters).
    pub fn parse(s: &str) -> Option<MetricKind> {
        match s.to_ascii_lowercase().as_str() {
            "gauge" => Some(MetricKind::Gauge),
            "counter" | "sum" => Some(MetricKind::Counter),
            "histogram" => Some(MetricKind::Histogram),
            "summary" => Some(MetricKind::Summary),
            "exponential_histogram" | "exponentialhistogram" => {
                Some(MetricKind::ExponentialHistogram)
            }
            _ => None,
        }
    }
}

impl fmt::Display for MetricKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Aggregation temporality of counters and histograms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Temporality {
    /// Not given (gauges, summaries).
    Unspecified,
    /// Each point covers the time since the previous point.
    Delta,
    /// Each point covers the time since a fixed start.
    #[default]
    Cumulative,
}

impl Temporality {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Temporality::Unspecified => "unspecified",
            Temporality::Delta => "delta",
            Temporality::Cumulative => "cumulative",
        }
    }
}

/// An explicit-bucket histogram value, OTLP style: `counts[i]` is the number of observations
/// in `(bounds[i-1], bounds[i]]`, with one more count than bounds for the `+Inf` bucket.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HistogramValue {
    /// Upper bounds, strictly increasing, finite.
    pub bounds: Vec<f64>,
    /// Per-bucket (not cumulative) counts; `bounds.len() + 1` of them.
    pub counts: Vec<u64>,
    /// Sum of observations.
    pub sum: Option<f64>,
    /// Number of observations (equals the sum of `counts`).
    pub count: u64,
    /// Smallest observation.
    pub min: Option<f64>,
    /// Largest observation.
    pub max: Option<f64>,
}

/// One quantile of a summary.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quantile {
    /// The quantile, 0 to 1.
    pub quantile: f64,
    /// Its value.
    pub value: f64,
}

/// A summary value.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SummaryValue {
    /// Number of observations.
    pub count: u64,
    /// Sum of observations.
    pub sum: f64,
    /// Quantiles.
    pub quantiles: Vec<Quantile>,
}

/// One side (positive or negative) of an exponential histogram: `counts[i]` observations in
/// the bucket with index `offset + i`, bucket `k` covering `(base^k, base^(k+1)]` with
/// `base = 2^(2^-scale)`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExpBuckets {
    /// Index of the first bucket.
    pub offset: i32,
    /// Per-bucket counts.
    pub counts: Vec<u64>,
}

/// A base-2 exponential histogram value (OTLP `ExponentialHistogramDataPoint`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExpHistogramValue {
    /// Resolution: bucket boundaries are powers of `2^(2^-scale)`.
    pub scale: i32,
    /// Observations whose magnitude is at most `zero_threshold`.
    pub zero_count: u64,
    /// Width of the zero bucket.
    pub zero_threshold: f64,
    /// Buckets of positive observations.
    pub positive: ExpBuckets,
    /// Buckets of negative observations (by magnitude).
    pub negative: ExpBuckets,
    /// Sum of observations.
    pub sum: Option<f64>,
    /// Number of observations.
    pub count: u64,
    /// Smallest observation.
    pub min: Option<f64>,
    /// Largest observation.
    pub max: Option<f64>,
}

/// An exemplar: one raw measurement kept with a point, often linking it to a trace.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Exemplar {
    /// When it was measured.
    pub timestamp: Timestamp,
    /// The measured value.
    pub value: f64,
    /// Trace of the measurement, if sampled.
    pub trace_id: Option<TraceId>,
    /// Span of the measurement, if sampled.
    pub span_id: Option<SpanId>,
    /// Attributes filtered out of the point's series.
    pub attributes: Attributes,
}

/// The value of a point.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricValue {
    /// A gauge or counter value.
    Number(f64),
    /// A histogram.
    Histogram(HistogramValue),
    /// A summary.
    Summary(SummaryValue),
    /// An exponential histogram.
    ExponentialHistogram(ExpHistogramValue),
}

impl MetricValue {
    /// The number a point contributes to aggregations: the value itself for gauges and counters,
    /// the sum for histograms and summaries (the count when no sum is known).
    pub fn scalar(&self) -> f64 {
        match self {
            MetricValue::Number(v) => *v,
            MetricValue::Histogram(h) => h.sum.unwrap_or(h.count as f64),
            MetricValue::Summary(s) => s.sum,
            MetricValue::ExponentialHistogram(h) => h.sum.unwrap_or(h.count as f64),
        }
    }
}

/// One metric point: a series (name + labels) at a time with a value.
///
/// JSON shape: `{name, type: gauge|counter|histogram|summary, value, timestamp, labels}`;
/// histograms give `buckets: [{"le": 0.1, "count": 3}, …, {"le": "+Inf", "count": 1}]`
/// (per-bucket counts), `sum` and `count`; summaries give `quantiles: [{"quantile", "value"}]`,
/// `sum` and `count`. Optional: `temporality` (`cumulative` default, `delta`), `monotonic`
/// (counters, default true), `start_timestamp`, `unit`, `description`.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricPoint {
    /// Metric name.
    pub name: String,
    /// Kind.
    pub kind: MetricKind,
    /// Temporality (counters and histograms).
    pub temporality: Temporality,
    /// Whether a counter only goes up.
    pub monotonic: bool,
    /// Series labels.
    pub labels: Labels,
    /// Time of the point.
    pub timestamp: Timestamp,
    /// Start of the accumulation window (0 when unknown).
    pub start_timestamp: Timestamp,
    /// The value.
    pub value: MetricValue,
    /// Unit (UCUM, e.g. `ms`, `By`).
    pub unit: String,
    /// Description.
    pub description: String,
    /// Exemplars (raw measurements, often with trace ids).
    pub exemplars: Vec<Exemplar>,
    /// OTLP data point flags (bit 0: no recorded value).
    pub flags: u32,
}

impl MetricPoint {
    /// A gauge point.
    pub fn gauge(
        name: impl Into<String>,
        labels: Labels,
        timestamp: Timestamp,
        value: f64,
    ) -> Self {
        MetricPoint {
            name: name.into(),
            kind: MetricKind::Gauge,
            temporality: Temporality::Unspecified,
            monotonic: false,
            labels,
            timestamp,
            start_timestamp: Timestamp(0),
            value: MetricValue::Number(value),
            unit: String::new(),
            description: String::new(),
            exemplars: Vec::new(),
            flags: 0,
        }
    }

    /// A cumulative monotonic counter point.
    pub fn counter(
        name: impl Into<String>,
        labels: Labels,
        timestamp: Timestamp,
        value: f64,
    ) -> Self {
        MetricPoint {
            kind: MetricKind::Counter,
            temporality: Temporality::Cumulative,
            monotonic: true,
            ..MetricPoint::gauge(name, labels, timestamp, value)
        }
    }

    /// Checks the point, reporting every problem with its field path.
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::new();
        self.validate_into(&mut e);
        if e.is_empty() { Ok(()) } else { Err(e) }
    }

    fn validate_into(&self, e: &mut ValidationErrors) {
        if self.name.trim().is_empty() {
            e.push("name", "must not be empty");
        } else if self.name.len() > 255 {
            e.push("name", "longer than 255 bytes");
        }
        if !self.timestamp.in_record_range() {
            e.push("timestamp", "out of range (1970-01-01 to 2200-01-01)");
        }
        for k in self.labels.keys() {
            if k.is_empty() {
                e.push("labels", "label names must not be empty");
            }
        }
        match (&self.kind, &self.value) {
            (MetricKind::Gauge, MetricValue::Number(_)) => {}
            (MetricKind::Counter, MetricValue::Number(v)) => {
                if !v.is_finite() {
                    e.push(
                        "value",
                        "counters must be finite (NaN and infinities are not allowed)",
                    );
                } else if self.monotonic && *v < 0.0 && self.temporality == Temporality::Cumulative
                {
                    e.push("value", "a monotonic cumulative counter cannot be negative");
                }
            }
            (MetricKind::Histogram, MetricValue::Histogram(h)) => {
                if h.bounds.iter().any(|b| !b.is_finite()) {
                    e.push(
                        "buckets",
                        "bucket bounds must be finite (the last bucket is +Inf)",
                    );
                }
                if h.bounds.windows(2).any(|w| w[0] >= w[1]) {
                    e.push("buckets", "bucket bounds must be strictly increasing");
                }
                if h.counts.len() != h.bounds.len() + 1 {
                    e.push(
                        "buckets",
                        "there must be one more count than bounds (the +Inf bucket)",
                    );
                } else if saturating_sum(&h.counts) != h.count {
                    e.push(
                        "count",
                        format!(
                            "{} does not equal the sum of bucket counts ({})",
                            h.count,
                            saturating_sum(&h.counts)
                        ),
                    );
                }
                if h.sum.is_some_and(|s| !s.is_finite()) {
                    e.push("sum", "must be finite");
                }
            }
            (MetricKind::Summary, MetricValue::Summary(s)) => {
                if !s.sum.is_finite() {
                    e.push("sum", "must be finite");
                }
                for (i, q) in s.quantiles.iter().enumerate() {
                    if !(0.0..=1.0).contains(&q.quantile) {
                        e.push(
                            format!("quantiles[{i}].quantile"),
                            "must be between 0 and 1",
                        );
                    }
                }
            }
            (MetricKind::ExponentialHistogram, MetricValue::ExponentialHistogram(h)) => {
                if !(-10..=20).contains(&h.scale) {
                    e.push("scale", format!("{} is out of range -10 to 20", h.scale));
                }
                let buckets: u64 = saturating_sum(&h.positive.counts)
                    .saturating_add(saturating_sum(&h.negative.counts))
                    .saturating_add(h.zero_count);
                if buckets != h.count {
                    e.push(
                        "count",
                        format!(
                            "{} does not equal zero_count plus the bucket counts ({buckets})",
                            h.count
                        ),
                    );
                }
                if h.sum.is_some_and(|s| !s.is_finite()) {
                    e.push("sum", "must be finite");
                }
                if !(h.zero_threshold >= 0.0 && h.zero_threshold.is_finite()) {
                    e.push("zero_threshold", "must be a finite number of at least 0");
                }
            }
            (k, _) => e.push("value", format!("value does not match type {k}")),
        }
    }

    /// Converts to the REST API's JSON shape.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("name".into(), Value::String(self.name.clone()));
        m.insert("type".into(), Value::String(self.kind.as_str().into()));
        m.insert(
            "timestamp".into(),
            Value::String(self.timestamp.to_rfc3339()),
        );
        m.insert(
            "labels".into(),
            Value::Object(
                self.labels
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect(),
            ),
        );
        if matches!(
            self.kind,
            MetricKind::Counter | MetricKind::Histogram | MetricKind::ExponentialHistogram
        ) {
            m.insert(
                "temporality".into(),
                Value::String(self.temporality.as_str().into()),
            );
        }
        if self.kind == MetricKind::Counter {
            m.insert("monotonic".into(), Value::Bool(self.monotonic));
        }
        if self.start_timestamp.0 != 0 {
            m.insert(
                "start_timestamp".into(),
                Value::String(self.start_timestamp.to_rfc3339()),
            );
        }
        match &self.value {
            MetricValue::Number(v) => {
                m.insert("value".into(), f64_json(*v));
            }
            MetricValue::Histogram(h) => {
                let buckets = h
                    .counts
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        let le = h
                            .bounds
                            .get(i)
                            .map_or(Value::String("+Inf".into()), |b| f64_json(*b));
                        let mut o = Map::new();
                        o.insert("le".into(), le);
                        o.insert("count".into(), Value::from(*c));
                        Value::Object(o)
                    })
                    .collect();
                m.insert("buckets".into(), Value::Array(buckets));
                if let Some(s) = h.sum {
                    m.insert("sum".into(), f64_json(s));
                }
                m.insert("count".into(), Value::from(h.count));
                if let Some(v) = h.min {
                    m.insert("min".into(), f64_json(v));
                }
                if let Some(v) = h.max {
                    m.insert("max".into(), f64_json(v));
                }
            }
            MetricValue::Summary(s) => {
                m.insert("sum".into(), f64_json(s.sum));
                m.insert("count".into(), Value::from(s.count));
                m.insert(
                    "quantiles".into(),
                    Value::Array(
                        s.quantiles
                            .iter()
                            .map(|q| {
                                let mut o = Map::new();
                                o.insert("quantile".into(), f64_json(q.quantile));
                                o.insert("value".into(), f64_json(q.value));
                                Value::Object(o)
                            })
                            .collect(),
                    ),
                );
            }
            MetricValue::ExponentialHistogram(h) => {
                let side = |b: &ExpBuckets| {
                    let mut o = Map::new();
                    o.insert("offset".into(), Value::from(b.offset));
                    o.insert(
                        "counts".into(),
                        Value::Array(b.counts.iter().map(|c| Value::from(*c)).collect()),
                    );
                    Value::Object(o)
                };
                m.insert("scale".into(), Value::from(h.scale));
                m.insert("zero_count".into(), Value::from(h.zero_count));
                m.insert("zero_threshold".into(), f64_json(h.zero_threshold));
                m.insert("positive".into(), side(&h.positive));
                m.insert("negative".into(), side(&h.negative));
                if let Some(s) = h.sum {
                    m.insert("sum".into(), f64_json(s));
                }
                m.insert("count".into(), Value::from(h.count));
                if let Some(v) = h.min {
                    m.insert("min".into(), f64_json(v));
                }
                if let Some(v) = h.max {
                    m.insert("max".into(), f64_json(v));
                }
            }
        }
        if !self.exemplars.is_empty() {
            m.insert(
                "exemplars".into(),
                Value::Array(self.exemplars.iter().map(Exemplar::to_json).collect()),
            );
        }
        if self.flags != 0 {
            m.insert("flags".into(), Value::from(self.flags));
        }
        if !self.unit.is_empty() {
            m.insert("unit".into(), Value::String(self.unit.clone()));
        }
        if !self.description.is_empty() {
            m.insert(
                "description".into(),
                Value::String(self.description.clone()),
            );
        }
        Value::Object(m)
    }

    /// Reads a point from JSON and validates it, reporting every problem with its field path.
    pub fn from_json(v: &Value) -> Result<MetricPoint, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let Some(mut r) = FieldReader::new(v, "", &mut errors, "a metric point") else {
            return Err(errors);
        };
        let name = r.opt_str(&["name"]);
        if name.is_none() && !r.has_key("name") {
            r.err("name", "missing");
        }
        let kind = match r.opt_str(&["type", "kind"]) {
            Some(t) => MetricKind::parse(&t).or_else(|| {
                r.err(
                    "type",
                    format!("unknown type {t:?}; expected gauge, counter, histogram or summary"),
                );
                None
            }),
            None => Some(MetricKind::Gauge),
        };
        let timestamp = match r.get(&["timestamp"]) {
            Some((t, _)) => match Timestamp::from_json(t) {
                Ok(t) => Some(t),
                Err(e) => {
                    r.err("timestamp", e);
                    None
                }
            },
            None => Some(Timestamp::now()),
        };
        let start_timestamp = match r.get(&["start_timestamp"]) {
            Some((t, _)) => Timestamp::from_json(t).unwrap_or_else(|e| {
                r.err("start_timestamp", e);
                Timestamp(0)
            }),
            None => Timestamp(0),
        };
        let temporality = match r.opt_str(&["temporality"]) {
            None => None,
            Some(t) => match t.to_ascii_lowercase().as_str() {
                "delta" => Some(Temporality::Delta),
                "cumulative" => Some(Temporality::Cumulative),
                _ => {
                    r.err(
                        "temporality",
                        format!("unknown temporality {t:?}; expected cumulative or delta"),
                    );
                    None
                }
            },
        };
        let monotonic = r.opt_bool(&["monotonic"]);
        let unit = r.opt_str(&["unit"]).unwrap_or_default();
        let description = r.opt_str(&["description"]).unwrap_or_default();
        let mut labels = Labels::new();
        match r.get(&["labels"]) {
            None => {}
            Some((Value::Object(o), _)) => {
                for (k, val) in o {
                    match val {
                        Value::String(s) => {
                            labels.insert(k.clone(), s.clone());
                        }
                        Value::Number(_) | Value::Bool(_) => {
                            labels.insert(k.clone(), val.to_string());
                        }
                        other => r.err(
                            &format!("labels.{k}"),
                            format!("expected a string, found {}", type_name(other)),
                        ),
                    }
                }
            }
            Some((other, _)) => {
                let msg = format!(
                    "expected an object of label names to values, found {}",
                    type_name(other)
                );
                r.err("labels", msg);
            }
        }
        let value = match kind {
            Some(MetricKind::Gauge) | Some(MetricKind::Counter) => match r.get(&["value"]) {
                Some((v, _)) => match number_f64(v) {
                    Some(x) => Some(MetricValue::Number(x)),
                    None => {
                        let msg = format!("expected a number, found {}", describe(v));
                        r.err("value", msg);
                        None
                    }
                },
                None => {
                    r.err("value", "missing");
                    None
                }
            },
            Some(MetricKind::Histogram) => read_histogram(&mut r).map(MetricValue::Histogram),
            Some(MetricKind::Summary) => read_summary(&mut r).map(MetricValue::Summary),
            Some(MetricKind::ExponentialHistogram) => {
                read_exp_histogram(&mut r).map(MetricValue::ExponentialHistogram)
            }
            None => None,
        };
        let exemplars = match r.get(&["exemplars"]) {
            None => Vec::new(),
            Some((Value::Array(items), _)) => {
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    match Exemplar::from_json(item) {
                        Ok(x) => out.push(x),
                        Err(msg) => r.err(&format!("exemplars[{i}]"), msg),
                    }
                }
                out
            }
            Some((other, _)) => {
                let msg = format!("expected an array, found {}", type_name(other));
                r.err("exemplars", msg);
                Vec::new()
            }
        };
        let flags = r
            .opt_u64(&["flags"])
            .map(|f| {
                u32::try_from(f).unwrap_or_else(|_| {
                    r.err("flags", "out of range for a 32-bit unsigned integer");
                    0
                })
            })
            .unwrap_or(0);
        r.deny_unknown(&[
            "name",
            "type",
            "kind",
            "value",
            "timestamp",
            "start_timestamp",
            "labels",
            "temporality",
            "monotonic",
            "unit",
            "description",
            "buckets",
            "bounds",
            "bucket_counts",
            "sum",
            "count",
            "min",
            "max",
            "quantiles",
            "scale",
            "zero_count",
            "zero_threshold",
            "positive",
            "negative",
            "exemplars",
            "flags",
        ]);
        let (Some(name), Some(kind), Some(timestamp), Some(value)) = (name, kind, timestamp, value)
        else {
            return Err(errors);
        };
        let point = MetricPoint {
            name,
            kind,
            temporality: match kind {
                MetricKind::Counter | MetricKind::Histogram | MetricKind::ExponentialHistogram => {
                    temporality.unwrap_or_default()
                }
                _ => Temporality::Unspecified,
            },
            monotonic: kind == MetricKind::Counter && monotonic.unwrap_or(true),
            labels,
            timestamp,
            start_timestamp,
            value,
            unit,
            description,
            exemplars,
            flags,
        };
        point.validate_into(&mut errors);
        if errors.is_empty() {
            Ok(point)
        } else {
            Err(errors)
        }
    }
}

/// Metric points that share labels, as an OTLP request sends them: the resource's attributes
/// and the instrumentation scope once, then every data point with its own attributes.
///
/// A point's series labels are the group's [`labels`](Self::labels) with the point's own
/// [`MetricPoint::labels`] over them: on the same name the point's value wins. Stores take
/// groups so they can find a point's series without building (and later dropping) a copy of the
/// shared labels for every point.
///
/// ```
/// use heimsight_core::{Labels, MetricPoint, PointGroup, Timestamp};
///
/// let shared = Labels::from([("service.name".to_string(), "checkout".to_string())]);
/// let own = Labels::from([("route".to_string(), "/pay".to_string())]);
/// let group = PointGroup {
///     labels: shared,
///     points: vec![MetricPoint::gauge("queue_depth", own, Timestamp(1), 4.0)],
/// };
/// let points = group.into_points();
/// assert_eq!(points[0].labels.len(), 2);
/// assert_eq!(points[0].labels["service.name"], "checkout");
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PointGroup {
    /// Labels every point of the group has (unless the point sets the same name itself).
    pub labels: Labels,
    /// The points, each with only its own labels.
    pub points: Vec<MetricPoint>,
}

impl PointGroup {
    /// A group of points whose labels are complete (no shared labels).
    pub fn of_points(points: Vec<MetricPoint>) -> PointGroup {
        PointGroup {
            labels: Labels::new(),
            points,
        }
    }

    /// The series labels of `p` (one of this group's points), sorted by name, without
    /// building them.
    pub fn labels_of<'a>(&'a self, p: &'a MetricPoint) -> MergedLabels<'a> {
        MergedLabels {
            shared: self.labels.iter().peekable(),
            own: p.labels.iter().peekable(),
        }
    }

    /// The series labels of `p` (one of this group's points).
    pub fn series_labels(&self, p: &MetricPoint) -> Labels {
        if self.labels.is_empty() {
            return p.labels.clone();
        }
        self.labels_of(p)
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// The points with their complete series labels.
    pub fn into_points(self) -> Vec<MetricPoint> {
        if self.labels.is_empty() {
            return self.points;
        }
        let shared = self.labels;
        self.points
            .into_iter()
            .map(|mut p| {
                let mut labels = shared.clone();
                labels.append(&mut p.labels);
                p.labels = labels;
                p
            })
            .collect()
    }
}

/// The labels of a point in a [`PointGroup`], sorted by name: the shared ones with the
/// point's own over them. Made by [`PointGroup::labels_of`].
#[derive(Debug, Clone)]
pub struct MergedLabels<'a> {
    shared: std::iter::Peekable<std::collections::btree_map::Iter<'a, String, String>>,
    own: std::iter::Peekable<std::collections::btree_map::Iter<'a, String, String>>,
}

impl<'a> Iterator for MergedLabels<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        let next = match (self.shared.peek(), self.own.peek()) {
            (Some((a, _)), Some((b, _))) => match a.cmp(b) {
                std::cmp::Ordering::Less => self.shared.next(),
                std::cmp::Ordering::Equal => {
                    self.shared.next();
                    self.own.next()
                }
                std::cmp::Ordering::Greater => self.own.next(),
            },
            (Some(_), None) => self.shared.next(),
            (None, _) => self.own.next(),
        };
        next.map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// The sum of counts, saturating instead of overflowing (counts come from the network).
fn saturating_sum(counts: &[u64]) -> u64 {
    counts.iter().fold(0u64, |a, c| a.saturating_add(*c))
}

/// A float as JSON the way point values are written: a number, or the strings `"NaN"`,
/// `"+Inf"` and `"-Inf"`, which JSON numbers cannot express.
pub fn f64_json(v: f64) -> Value {
    serde_json::Number::from_f64(v)
        .map(Value::Number)
        .unwrap_or_else(|| {
            Value::String(if v.is_nan() {
                "NaN".into()
            } else if v > 0.0 {
                "+Inf".into()
            } else {
                "-Inf".into()
            })
        })
}

impl Exemplar {
    /// Converts to JSON: `{timestamp, value, trace_id?, span_id?, attributes?}`.
    pub fn to_json(&self) -> Value {
        let mut o = Map::new();
        o.insert(
            "timestamp".into(),
            Value::String(self.timestamp.to_rfc3339()),
        );
        o.insert("value".into(), f64_json(self.value));
        if let Some(t) = &self.trace_id {
            o.insert("trace_id".into(), Value::String(t.to_hex()));
        }
        if let Some(sp) = &self.span_id {
            o.insert("span_id".into(), Value::String(sp.to_hex()));
        }
        if !self.attributes.is_empty() {
            o.insert(
                "attributes".into(),
                Value::Object(
                    self.attributes
                        .iter()
                        .map(|(k, v)| (k.clone(), v.to_json()))
                        .collect(),
                ),
            );
        }
        Value::Object(o)
    }

    /// Reads an exemplar from JSON; the error says what is wrong.
    pub fn from_json(v: &Value) -> Result<Exemplar, String> {
        let Value::Object(o) = v else {
            return Err(format!("expected an object, found {}", type_name(v)));
        };
        let timestamp = match o.get("timestamp") {
            Some(t) => Timestamp::from_json(t).map_err(|e| format!("timestamp: {e}"))?,
            None => return Err("timestamp: missing".into()),
        };
        let value = match o.get("value") {
            Some(x) => number_f64(x)
                .ok_or_else(|| format!("value: expected a number, found {}", describe(x)))?,
            None => return Err("value: missing".into()),
        };
        let id = |k: &str| -> Result<Option<String>, String> {
            match o.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(other) => Err(format!(
                    "{k}: expected a hex string, found {}",
                    type_name(other)
                )),
            }
        };
        let trace_id = id("trace_id")?
            .map(|s| s.parse::<TraceId>().map_err(|e| format!("trace_id: {e}")))
            .transpose()?;
        let span_id = id("span_id")?
            .map(|s| s.parse::<SpanId>().map_err(|e| format!("span_id: {e}")))
            .transpose()?;
        let attributes = match o.get("attributes") {
            None | Some(Value::Null) => Attributes::new(),
            Some(v @ Value::Object(_)) => {
                let mut errs = ValidationErrors::new();
                let a = crate::attr::attributes_from_json(v, "attributes", &mut errs);
                if !errs.is_empty() {
                    return Err(errs.to_string());
                }
                a
            }
            Some(other) => {
                return Err(format!(
                    "attributes: expected an object, found {}",
                    type_name(other)
                ));
            }
        };
        Ok(Exemplar {
            timestamp,
            value,
            trace_id,
            span_id,
            attributes,
        })
    }
}

fn read_exp_histogram(r: &mut FieldReader<'_, '_>) -> Option<ExpHistogramValue> {
    let mut h = ExpHistogramValue {
        sum: r.opt_f64(&["sum"]),
        min: r.opt_f64(&["min"]),
        max: r.opt_f64(&["max"]),
        zero_count: r.opt_u64(&["zero_count"]).unwrap_or(0),
        zero_threshold: r.opt_f64(&["zero_threshold"]).unwrap_or(0.0),
        ..ExpHistogramValue::default()
    };
    match r.get(&["scale"]).map(|(v, _)| v.as_i64()) {
        Some(Some(x)) => match i32::try_from(x) {
            Ok(x) => h.scale = x,
            Err(_) => r.err("scale", "out of range"),
        },
        Some(None) => r.err("scale", "expected an integer"),
        None => r.err("scale", "missing"),
    }
    for (name, side) in [("positive", &mut h.positive), ("negative", &mut h.negative)] {
        let Some((v, _)) = r.get(&[name]) else {
            continue;
        };
        let offset = v
            .get("offset")
            .map(|o| o.as_i64().and_then(|x| i32::try_from(x).ok()));
        let counts = v.get("counts").map(|c| {
            c.as_array()
                .and_then(|a| a.iter().map(Value::as_u64).collect::<Option<Vec<u64>>>())
        });
        match (offset, counts) {
            (Some(Some(o)), Some(Some(c))) => {
                side.offset = o;
                side.counts = c;
            }
            (None, None) if v.is_object() => {}
            _ => r.err(
                name,
                "expected {\"offset\": integer, \"counts\": [non-negative integers]}",
            ),
        }
    }
    match r.opt_u64(&["count"]) {
        Some(c) => h.count = c,
        None => {
            h.count = saturating_sum(&h.positive.counts)
                .saturating_add(saturating_sum(&h.negative.counts))
                .saturating_add(h.zero_count)
        }
    }
    Some(h)
}

fn read_histogram(r: &mut FieldReader<'_, '_>) -> Option<HistogramValue> {
    let mut h = HistogramValue {
        sum: r.opt_f64(&["sum"]),
        min: r.opt_f64(&["min"]),
        max: r.opt_f64(&["max"]),
        ..HistogramValue::default()
    };
    let count = r.opt_u64(&["count"]);
    match r.get(&["buckets"]) {
        Some((Value::Array(items), _)) => {
            for (i, b) in items.iter().enumerate() {
                let le = b.get("le").and_then(number_f64);
                let c = b.get("count").and_then(|c| c.as_u64());
                match (le, c) {
                    (Some(le), Some(c)) => {
                        if le.is_infinite() && le > 0.0 {
                            if i + 1 != items.len() {
                                r.err(&format!("buckets[{i}].le"), "+Inf must be the last bucket");
                            }
                        } else {
                            h.bounds.push(le);
                        }
                        h.counts.push(c);
                    }
                    _ => r.err(
                        &format!("buckets[{i}]"),
                        "expected {\"le\": <number or \"+Inf\">, \"count\": <non-negative integer>}",
                    ),
                }
            }
            if h.counts.len() == h.bounds.len() {
                // No explicit +Inf bucket: it is empty.
                h.counts.push(0);
            }
        }
        Some((other, _)) => {
            let msg = format!("expected an array of buckets, found {}", type_name(other));
            r.err("buckets", msg);
            return None;
        }
        None => {
            // OTLP style: explicit bounds plus bucket counts.
            let bounds = r.get(&["bounds"]).map(|(v, _)| v.clone());
            let counts = r.get(&["bucket_counts"]).map(|(v, _)| v.clone());
            match (bounds, counts) {
                (Some(Value::Array(b)), Some(Value::Array(c))) => {
                    h.bounds = b.iter().filter_map(number_f64).collect();
                    h.counts = c
                        .iter()
                        .filter_map(|x| x.as_u64().or_else(|| x.as_str()?.parse().ok()))
                        .collect();
                    if h.bounds.len() != b.len() || h.counts.len() != c.len() {
                        r.err(
                            "bucket_counts",
                            "bounds must be numbers and counts non-negative integers",
                        );
                    }
                }
                _ => {
                    r.err(
                        "buckets",
                        "missing; histograms need buckets (or bounds and bucket_counts)",
                    );
                    return None;
                }
            }
        }
    }
    h.count = count.unwrap_or_else(|| saturating_sum(&h.counts));
    Some(h)
}

fn read_summary(r: &mut FieldReader<'_, '_>) -> Option<SummaryValue> {
    let sum = r.opt_f64(&["sum"]);
    let count = r.opt_u64(&["count"]);
    if sum.is_none() {
        r.err("sum", "missing");
    }
    if count.is_none() {
        r.err("count", "missing");
    }
    let mut quantiles = Vec::new();
    match r.get(&["quantiles"]) {
        None => {}
        Some((Value::Array(items), _)) => {
            for (i, q) in items.iter().enumerate() {
                match (
                    q.get("quantile").and_then(number_f64),
                    q.get("value").and_then(number_f64),
                ) {
                    (Some(quantile), Some(value)) => quantiles.push(Quantile { quantile, value }),
                    _ => r.err(
                        &format!("quantiles[{i}]"),
                        "expected {\"quantile\": <0..1>, \"value\": <number>}",
                    ),
                }
            }
        }
        Some((other, _)) => {
            let msg = format!("expected an array, found {}", type_name(other));
            r.err("quantiles", msg);
        }
    }
    Some(SummaryValue {
        count: count?,
        sum: sum?,
        quantiles,
    })
}

impl serde::Serialize for MetricPoint {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for MetricPoint {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        MetricPoint::from_json(&v).map_err(serde::de::Error::custom)
    }
}

/// How the points of a window are combined.
///
/// Every point contributes [`MetricValue::scalar`]: the
/// value of gauges and counters, the sum of histograms and summaries. NaN values are skipped
/// by `avg`, `sum`, `min` and `max` (a window of only NaNs gives NaN) and counted by `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Agg {
    /// Arithmetic mean.
    Avg,
    /// Sum.
    Sum,
    /// Smallest value.
    Min,
    /// Largest value.
    Max,
    /// Number of points.
    Count,
}

impl Agg {
    /// Every aggregation.
    pub const ALL: [Agg; 5] = [Agg::Avg, Agg::Sum, Agg::Min, Agg::Max, Agg::Count];

    /// Lower-case name (`avg`, `sum`, `min`, `max`, `count`).
    pub fn as_str(self) -> &'static str {
        match self {
            Agg::Avg => "avg",
            Agg::Sum => "sum",
            Agg::Min => "min",
            Agg::Max => "max",
            Agg::Count => "count",
        }
    }
}

impl fmt::Display for Agg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An aggregation name that is not one of [`Agg`]'s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown aggregation {input:?}; expected one of avg, sum, min, max, count")]
pub struct UnknownAgg {
    /// The text that was given.
    pub input: String,
}

impl std::str::FromStr for Agg {
    type Err = UnknownAgg;

    /// Parses a name, case-insensitively; `mean` is accepted for `avg`.
    fn from_str(s: &str) -> Result<Self, UnknownAgg> {
        match s.trim().to_ascii_lowercase().as_str() {
            "avg" | "mean" => Ok(Agg::Avg),
            "sum" => Ok(Agg::Sum),
            "min" => Ok(Agg::Min),
            "max" => Ok(Agg::Max),
            "count" => Ok(Agg::Count),
            _ => Err(UnknownAgg {
                input: s.to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn gauge_and_counter_round_trip() {
        let v = json!({"name": "cpu", "type": "gauge", "value": 0.5, "timestamp": 1_000_000_000, "labels": {"host": "a"}});
        let p = MetricPoint::from_json(&v).unwrap();
        assert_eq!(p.value, MetricValue::Number(0.5));
        assert_eq!(MetricPoint::from_json(&p.to_json()).unwrap(), p);
        let v = json!({"name": "reqs", "type": "counter", "value": 10, "labels": {"code": 200}});
        let p = MetricPoint::from_json(&v).unwrap();
        assert!(p.monotonic);
        assert_eq!(p.labels["code"], "200");
        assert_eq!(MetricPoint::from_json(&p.to_json()).unwrap(), p);
    }

    #[test]
    fn histogram_round_trips() {
        let v = json!({"name": "lat", "type": "histogram", "timestamp": "2026-01-01T00:00:00Z",
            "buckets": [{"le": 0.1, "count": 3}, {"le": 1, "count": 2}, {"le": "+Inf", "count": 1}],
            "sum": 2.5, "count": 6});
        let p = MetricPoint::from_json(&v).unwrap();
        let MetricValue::Histogram(h) = &p.value else {
            panic!("not a histogram")
        };
        assert_eq!(h.bounds, vec![0.1, 1.0]);
        assert_eq!(h.counts, vec![3, 2, 1]);
        assert_eq!(MetricPoint::from_json(&p.to_json()).unwrap(), p);
    }

    #[test]
    fn rejects_nan_counter_and_bad_histogram() {
        let v = json!({"name": "c", "type": "counter", "value": "NaN"});
        let e = MetricPoint::from_json(&v).unwrap_err();
        assert_eq!(e.errors()[0].field, "value");
        let v = json!({"name": "h", "type": "histogram", "buckets": [{"le": 1, "count": 1}, {"le": 0.5, "count": 1}], "count": 5});
        let e = MetricPoint::from_json(&v).unwrap_err();
        let fields: Vec<_> = e.errors().iter().map(|e| e.field.as_str()).collect();
        assert!(
            fields.contains(&"buckets") && fields.contains(&"count"),
            "{e}"
        );
    }

    #[test]
    fn reports_wrong_types() {
        let v = json!({"name": 5, "type": "meter", "value": "x", "labels": []});
        let e = MetricPoint::from_json(&v).unwrap_err();
        let fields: Vec<_> = e.errors().iter().map(|e| e.field.as_str()).collect();
        assert!(
            fields.contains(&"name") && fields.contains(&"type") && fields.contains(&"labels"),
            "{e}"
        );
    }

    #[test]
    fn a_groups_points_have_the_shared_labels_with_their_own_over_them() {
        let labels = |pairs: &[(&str, &str)]| -> Labels {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let group = PointGroup {
            labels: labels(&[("b", "shared"), ("d", "shared"), ("host", "h1")]),
            points: vec![
                MetricPoint::gauge(
                    "x",
                    labels(&[("a", "1"), ("d", "own"), ("z", "9")]),
                    Timestamp(1),
                    1.0,
                ),
                MetricPoint::gauge("x", Labels::new(), Timestamp(1), 2.0),
            ],
        };
        let first: Vec<_> = group.labels_of(&group.points[0]).collect();
        assert_eq!(
            first,
            [
                ("a", "1"),
                ("b", "shared"),
                ("d", "own"),
                ("host", "h1"),
                ("z", "9")
            ]
        );
        let second: Vec<_> = group.labels_of(&group.points[1]).collect();
        assert_eq!(second, [("b", "shared"), ("d", "shared"), ("host", "h1")]);
        let built: Vec<Labels> = group
            .points
            .iter()
            .map(|p| group.series_labels(p))
            .collect();
        let flat = group.clone().into_points();
        assert_eq!(flat[0].labels, built[0]);
        assert_eq!(flat[1].labels, built[1]);
        assert_eq!(flat[0].labels["d"], "own");
        let alone = PointGroup::of_points(flat.clone());
        assert_eq!(alone.labels_of(&flat[0]).count(), 5);
        assert_eq!(alone.into_points(), flat);
    }
}
