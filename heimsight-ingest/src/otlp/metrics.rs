//! OTLP metrics to and from [`MetricPoint`]s.
//!
//! A series is the metric name plus labels: the data point's attributes, the resource's
//! attributes folded in (a point attribute wins over a resource attribute of the same key),
//! and the instrumentation scope as [`SCOPE_NAME`] and [`SCOPE_VERSION`]. Label values are the
//! attribute values' text. Everything else (unit, description, temporality, monotonicity,
//! start time, flags, exemplars and every histogram field) is kept on the point.

use std::collections::BTreeMap;

use heimsight_core::{
    AttributeValue, Exemplar, ExpBuckets, ExpHistogramValue, HistogramValue, Labels, MetricKind,
    MetricPoint, MetricValue, PointGroup, Quantile, SummaryValue, Temporality, Timestamp,
};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1 as pb;
use opentelemetry_proto::tonic::resource::v1::Resource;

use super::Converted;
use super::common::{
    attributes_from_otlp, attributes_to_otlp, resource_from_otlp, span_id, time, time_to_otlp,
    trace_id,
};

/// Label holding the instrumentation scope's name (only when non-empty).
pub const SCOPE_NAME: &str = "otel.scope.name";
/// Label holding the instrumentation scope's version (only when non-empty).
pub const SCOPE_VERSION: &str = "otel.scope.version";

/// OTLP data point flag: the point has no recorded value (a staleness marker).
const NO_RECORDED_VALUE: u32 = 1;

/// Converts an export request to metric points with their complete labels.
///
/// A data point is rejected (and counted in [`Converted::rejected`]) when the metric has no
/// name or no data, a sum or histogram has no aggregation temporality, its time is zero or
/// out of range, a number point has no value, histogram buckets and bounds disagree, or an
/// exemplar's ids have the wrong length.
pub fn points_from_otlp(req: &ExportMetricsServiceRequest) -> Converted<MetricPoint> {
    let c = point_groups_from_otlp(req);
    Converted {
        items: c
            .items
            .into_iter()
            .flat_map(PointGroup::into_points)
            .collect(),
        rejected: c.rejected,
        messages: c.messages,
    }
}

/// Converts an export request to groups of metric points, one per resource and scope: the
/// group's labels are the resource's attributes and the scope, each point's labels its own
/// attributes (see [`PointGroup`]). The same points as [`points_from_otlp`] without a copy
/// of the shared labels per point; [`Converted::rejected`] counts data points.
pub fn point_groups_from_otlp(req: &ExportMetricsServiceRequest) -> Converted<PointGroup> {
    let mut out = Converted::default();
    for (ri, rm) in req.resource_metrics.iter().enumerate() {
        let resource = resource_from_otlp(rm.resource.as_ref(), &rm.schema_url);
        let mut base = Labels::new();
        for (k, v) in &resource {
            base.insert(k.clone(), v.to_text());
        }
        for (si, sm) in rm.scope_metrics.iter().enumerate() {
            let mut scope_labels = base.clone();
            if let Some(s) = &sm.scope {
                if !s.name.is_empty() {
                    scope_labels.insert(SCOPE_NAME.into(), s.name.clone());
                }
                if !s.version.is_empty() {
                    scope_labels.insert(SCOPE_VERSION.into(), s.version.clone());
                }
            }
            let mut points = Vec::new();
            for (mi, m) in sm.metrics.iter().enumerate() {
                let at = format!("resource_metrics[{ri}].scope_metrics[{si}].metrics[{mi}]");
                metric(m, &scope_labels, &at, &mut points, &mut out);
            }
            if !points.is_empty() {
                out.items.push(PointGroup {
                    labels: scope_labels,
                    points,
                });
            }
        }
    }
    out
}

/// What every point of one metric shares.
struct Meta<'a> {
    m: &'a pb::Metric,
    kind: MetricKind,
    temporality: Temporality,
    monotonic: bool,
    base: &'a Labels,
}

impl Meta<'_> {
    /// A gauge or sum data point.
    fn number_point(&self, dp: &pb::NumberDataPoint) -> Result<MetricPoint, String> {
        let v = number(dp.value.as_ref(), dp.flags)?;
        self.point(
            &dp.attributes,
            dp.start_time_unix_nano,
            dp.time_unix_nano,
            dp.flags,
            &dp.exemplars,
            MetricValue::Number(v),
        )
    }

    fn point(
        &self,
        attrs: &[KeyValue],
        start: u64,
        t: u64,
        flags: u32,
        exemplars: &[pb::Exemplar],
        value: MetricValue,
    ) -> Result<MetricPoint, String> {
        let timestamp = time("time_unix_nano", t)?;
        if t == 0 {
            return Err("time_unix_nano: missing (0)".into());
        }
        // The point's own labels; the shared ones are its group's.
        let mut labels = Labels::new();
        for kv in attrs {
            let text = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(any_value::Value::StringValue(s)) => s.clone(),
                Some(_) => kv
                    .value
                    .as_ref()
                    .map_or_else(String::new, |v| super::common::value_from_otlp(v).to_text()),
                None => String::new(),
            };
            labels.insert(kv.key.clone(), text);
        }
        let p = MetricPoint {
            name: self.m.name.clone(),
            kind: self.kind,
            temporality: self.temporality,
            monotonic: self.monotonic,
            labels,
            timestamp: Timestamp(timestamp),
            start_timestamp: Timestamp(time("start_time_unix_nano", start)?),
            value,
            unit: self.m.unit.clone(),
            description: self.m.description.clone(),
            exemplars: exemplars_from_otlp(exemplars)?,
            flags,
        };
        if flags & NO_RECORDED_VALUE == 0 {
            if self.base.contains_key("") {
                // Checked with the shared labels, which the point does not hold.
                let mut whole = p.clone();
                whole.labels = self.base.clone();
                whole.labels.extend(p.labels.clone());
                whole.validate().map_err(|e| e.to_string())?;
            }
            p.validate().map_err(|e| e.to_string())?;
        }
        Ok(p)
    }
}

fn temporality(t: i32, field: &str) -> Result<Temporality, String> {
    match t {
        1 => Ok(Temporality::Delta),
        2 => Ok(Temporality::Cumulative),
        0 => Err(format!(
            "{field}: unspecified; sums and histograms need DELTA (1) or CUMULATIVE (2)"
        )),
        n => Err(format!("{field}: {n} is not a known temporality")),
    }
}

fn number(v: Option<&pb::number_data_point::Value>, flags: u32) -> Result<f64, String> {
    match v {
        Some(pb::number_data_point::Value::AsDouble(d)) => Ok(*d),
        Some(pb::number_data_point::Value::AsInt(i)) => Ok(*i as f64),
        None if flags & NO_RECORDED_VALUE != 0 => Ok(f64::NAN),
        None => Err("value: missing (neither as_double nor as_int)".into()),
    }
}

fn metric(
    m: &pb::Metric,
    base: &Labels,
    at: &str,
    points: &mut Vec<MetricPoint>,
    out: &mut Converted<PointGroup>,
) {
    use pb::metric::Data;
    if m.name.trim().is_empty() {
        out.reject(format!("{at}.name: must not be empty"));
        return;
    }
    let Some(data) = &m.data else {
        out.reject(format!(
            "{at}: metric {:?} has no data (gauge, sum, histogram, exponential_histogram or summary)",
            m.name
        ));
        return;
    };
    // Sums and histograms need a temporality; without one the whole metric is rejected.
    let (field, code) = match data {
        Data::Sum(x) => ("sum", Some(x.aggregation_temporality)),
        Data::Histogram(x) => ("histogram", Some(x.aggregation_temporality)),
        Data::ExponentialHistogram(x) => ("exponential_histogram", Some(x.aggregation_temporality)),
        Data::Gauge(_) | Data::Summary(_) => ("", None),
    };
    let t = match code.map(|c| temporality(c, "aggregation_temporality")) {
        None => Temporality::Unspecified,
        Some(Ok(t)) => t,
        Some(Err(e)) => {
            out.reject(format!("{at}.{field}.{e}"));
            return;
        }
    };
    let meta = |kind, temporality, monotonic| Meta {
        m,
        kind,
        temporality,
        monotonic,
        base,
    };
    let mut push = |i: usize, field: &str, r: Result<MetricPoint, String>| match r {
        Ok(p) => points.push(p),
        Err(e) => out.reject(format!("{at}.{field}.data_points[{i}].{e}")),
    };
    match data {
        Data::Gauge(g) => {
            let meta = meta(MetricKind::Gauge, Temporality::Unspecified, false);
            for (i, dp) in g.data_points.iter().enumerate() {
                push(i, "gauge", meta.number_point(dp));
            }
        }
        Data::Sum(s) => {
            let meta = meta(MetricKind::Counter, t, s.is_monotonic);
            for (i, dp) in s.data_points.iter().enumerate() {
                push(i, "sum", meta.number_point(dp));
            }
        }
        Data::Histogram(h) => {
            let meta = meta(MetricKind::Histogram, t, false);
            for (i, dp) in h.data_points.iter().enumerate() {
                let counts = if dp.bucket_counts.is_empty() && dp.explicit_bounds.is_empty() {
                    vec![dp.count]
                } else {
                    dp.bucket_counts.clone()
                };
                let v = MetricValue::Histogram(HistogramValue {
                    bounds: dp.explicit_bounds.clone(),
                    counts,
                    sum: dp.sum,
                    count: dp.count,
                    min: dp.min,
                    max: dp.max,
                });
                let r = meta.point(
                    &dp.attributes,
                    dp.start_time_unix_nano,
                    dp.time_unix_nano,
                    dp.flags,
                    &dp.exemplars,
                    v,
                );
                push(i, "histogram", r);
            }
        }
        Data::ExponentialHistogram(h) => {
            let meta = meta(MetricKind::ExponentialHistogram, t, false);
            let side = |b: &Option<pb::exponential_histogram_data_point::Buckets>| {
                b.as_ref().map_or_else(ExpBuckets::default, |b| ExpBuckets {
                    offset: b.offset,
                    counts: b.bucket_counts.clone(),
                })
            };
            for (i, dp) in h.data_points.iter().enumerate() {
                let v = MetricValue::ExponentialHistogram(ExpHistogramValue {
                    scale: dp.scale,
                    zero_count: dp.zero_count,
                    zero_threshold: dp.zero_threshold,
                    positive: side(&dp.positive),
                    negative: side(&dp.negative),
                    sum: dp.sum,
                    count: dp.count,
                    min: dp.min,
                    max: dp.max,
                });
                let r = meta.point(
                    &dp.attributes,
                    dp.start_time_unix_nano,
                    dp.time_unix_nano,
                    dp.flags,
                    &dp.exemplars,
                    v,
                );
                push(i, "exponential_histogram", r);
            }
        }
        Data::Summary(s) => {
            let meta = meta(MetricKind::Summary, Temporality::Unspecified, false);
            for (i, dp) in s.data_points.iter().enumerate() {
                let v = MetricValue::Summary(SummaryValue {
                    count: dp.count,
                    sum: dp.sum,
                    quantiles: dp
                        .quantile_values
                        .iter()
                        .map(|q| Quantile {
                            quantile: q.quantile,
                            value: q.value,
                        })
                        .collect(),
                });
                let r = meta.point(
                    &dp.attributes,
                    dp.start_time_unix_nano,
                    dp.time_unix_nano,
                    dp.flags,
                    &[],
                    v,
                );
                push(i, "summary", r);
            }
        }
    }
}

fn exemplars_from_otlp(xs: &[pb::Exemplar]) -> Result<Vec<Exemplar>, String> {
    xs.iter()
        .enumerate()
        .map(|(i, x)| {
            let value = match x.value {
                Some(pb::exemplar::Value::AsDouble(d)) => d,
                Some(pb::exemplar::Value::AsInt(n)) => n as f64,
                None => return Err(format!("exemplars[{i}].value: missing")),
            };
            Ok(Exemplar {
                timestamp: Timestamp(time(
                    &format!("exemplars[{i}].time_unix_nano"),
                    x.time_unix_nano,
                )?),
                value,
                trace_id: trace_id(&format!("exemplars[{i}].trace_id"), &x.trace_id)?,
                span_id: span_id(&format!("exemplars[{i}].span_id"), &x.span_id)?,
                attributes: attributes_from_otlp(&x.filtered_attributes),
            })
        })
        .collect()
}

fn exemplars_to_otlp(xs: &[Exemplar]) -> Vec<pb::Exemplar> {
    xs.iter()
        .map(|x| pb::Exemplar {
            filtered_attributes: attributes_to_otlp(&x.attributes),
            time_unix_nano: time_to_otlp(x.timestamp.0),
            span_id: x.span_id.map(|s| s.0.to_vec()).unwrap_or_default(),
            trace_id: x.trace_id.map(|t| t.0.to_vec()).unwrap_or_default(),
            value: Some(pb::exemplar::Value::AsDouble(x.value)),
        })
        .collect()
}

fn temporality_number(t: Temporality) -> i32 {
    match t {
        Temporality::Unspecified => 0,
        Temporality::Delta => 1,
        Temporality::Cumulative => 2,
    }
}

/// Converts metric points to an export request (the inverse of [`points_from_otlp`], up to
/// where labels came from): the `service.name` label becomes the resource, [`SCOPE_NAME`]
/// and [`SCOPE_VERSION`] the scope, and every other label a string attribute of the point.
/// Points of the same name, kind and metadata share one `Metric`.
pub fn points_to_otlp(points: &[MetricPoint]) -> ExportMetricsServiceRequest {
    // (service, scope name, scope version) → metric key → points
    type Key = (String, String, String);
    let mut groups: BTreeMap<Key, BTreeMap<(String, String), Vec<&MetricPoint>>> = BTreeMap::new();
    for p in points {
        let g = (
            p.labels.get("service.name").cloned().unwrap_or_default(),
            p.labels.get(SCOPE_NAME).cloned().unwrap_or_default(),
            p.labels.get(SCOPE_VERSION).cloned().unwrap_or_default(),
        );
        let mk = (
            p.name.clone(),
            format!(
                "{:?}/{:?}/{}/{}/{}",
                p.kind, p.temporality, p.monotonic, p.unit, p.description
            ),
        );
        groups.entry(g).or_default().entry(mk).or_default().push(p);
    }
    let mut resource_metrics: Vec<pb::ResourceMetrics> = Vec::new();
    for ((service, scope_name, scope_version), metrics) in groups {
        let resource = Resource {
            attributes: if service.is_empty() {
                Vec::new()
            } else {
                attributes_to_otlp(
                    &[("service.name".to_string(), AttributeValue::String(service))]
                        .into_iter()
                        .collect(),
                )
            },
            ..Resource::default()
        };
        let scope =
            (!scope_name.is_empty() || !scope_version.is_empty()).then(|| InstrumentationScope {
                name: scope_name,
                version: scope_version,
                ..InstrumentationScope::default()
            });
        let metrics = metrics
            .into_values()
            .map(|pts| metric_to_otlp(&pts))
            .collect();
        resource_metrics.push(pb::ResourceMetrics {
            resource: Some(resource),
            scope_metrics: vec![pb::ScopeMetrics {
                scope,
                metrics,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        });
    }
    ExportMetricsServiceRequest { resource_metrics }
}

fn point_attributes(p: &MetricPoint) -> Vec<KeyValue> {
    let a = p
        .labels
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "service.name" | SCOPE_NAME | SCOPE_VERSION))
        .map(|(k, v)| (k.clone(), AttributeValue::String(v.clone())))
        .collect();
    attributes_to_otlp(&a)
}

fn metric_to_otlp(pts: &[&MetricPoint]) -> pb::Metric {
    use pb::metric::Data;
    let first = pts[0];
    let number_points = || {
        pts.iter()
            .map(|p| pb::NumberDataPoint {
                attributes: point_attributes(p),
                start_time_unix_nano: time_to_otlp(p.start_timestamp.0),
                time_unix_nano: time_to_otlp(p.timestamp.0),
                exemplars: exemplars_to_otlp(&p.exemplars),
                flags: p.flags,
                value: match &p.value {
                    MetricValue::Number(v) if !(v.is_nan() && p.flags & NO_RECORDED_VALUE != 0) => {
                        Some(pb::number_data_point::Value::AsDouble(*v))
                    }
                    MetricValue::Number(_) => None,
                    other => Some(pb::number_data_point::Value::AsDouble(other.scalar())),
                },
            })
            .collect()
    };
    let data = match first.kind {
        MetricKind::Gauge => Data::Gauge(pb::Gauge {
            data_points: number_points(),
        }),
        MetricKind::Counter => Data::Sum(pb::Sum {
            data_points: number_points(),
            aggregation_temporality: temporality_number(first.temporality),
            is_monotonic: first.monotonic,
        }),
        MetricKind::Histogram => Data::Histogram(pb::Histogram {
            data_points: pts
                .iter()
                .filter_map(|p| match &p.value {
                    MetricValue::Histogram(h) => Some(pb::HistogramDataPoint {
                        attributes: point_attributes(p),
                        start_time_unix_nano: time_to_otlp(p.start_timestamp.0),
                        time_unix_nano: time_to_otlp(p.timestamp.0),
                        count: h.count,
                        sum: h.sum,
                        bucket_counts: h.counts.clone(),
                        explicit_bounds: h.bounds.clone(),
                        exemplars: exemplars_to_otlp(&p.exemplars),
                        flags: p.flags,
                        min: h.min,
                        max: h.max,
                    }),
                    _ => None,
                })
                .collect(),
            aggregation_temporality: temporality_number(first.temporality),
        }),
        MetricKind::ExponentialHistogram => {
            let side = |b: &ExpBuckets| pb::exponential_histogram_data_point::Buckets {
                offset: b.offset,
                bucket_counts: b.counts.clone(),
            };
            Data::ExponentialHistogram(pb::ExponentialHistogram {
                data_points: pts
                    .iter()
                    .filter_map(|p| match &p.value {
                        MetricValue::ExponentialHistogram(h) => {
                            Some(pb::ExponentialHistogramDataPoint {
                                attributes: point_attributes(p),
                                start_time_unix_nano: time_to_otlp(p.start_timestamp.0),
                                time_unix_nano: time_to_otlp(p.timestamp.0),
                                count: h.count,
                                sum: h.sum,
                                scale: h.scale,
                                zero_count: h.zero_count,
                                positive: Some(side(&h.positive)),
                                negative: Some(side(&h.negative)),
                                flags: p.flags,
                                exemplars: exemplars_to_otlp(&p.exemplars),
                                min: h.min,
                                max: h.max,
                                zero_threshold: h.zero_threshold,
                            })
                        }
                        _ => None,
                    })
                    .collect(),
                aggregation_temporality: temporality_number(first.temporality),
            })
        }
        MetricKind::Summary => Data::Summary(pb::Summary {
            data_points: pts
                .iter()
                .filter_map(|p| match &p.value {
                    MetricValue::Summary(s) => Some(pb::SummaryDataPoint {
                        attributes: point_attributes(p),
                        start_time_unix_nano: time_to_otlp(p.start_timestamp.0),
                        time_unix_nano: time_to_otlp(p.timestamp.0),
                        count: s.count,
                        sum: s.sum,
                        quantile_values: s
                            .quantiles
                            .iter()
                            .map(|q| pb::summary_data_point::ValueAtQuantile {
                                quantile: q.quantile,
                                value: q.value,
                            })
                            .collect(),
                        flags: p.flags,
                    }),
                    _ => None,
                })
                .collect(),
        }),
    };
    pb::Metric {
        name: first.name.clone(),
        description: first.description.clone(),
        unit: first.unit.clone(),
        metadata: Vec::new(),
        data: Some(data),
    }
}
