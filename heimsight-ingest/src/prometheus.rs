//! Prometheus remote write 1.0: a Snappy-compressed (block format) protobuf `WriteRequest`,
//! as a Prometheus server's `remote_write` block sends it, decoded into metric points.
//!
//! Each time series becomes a [`PointGroup`] whose labels are the series' labels but
//! `__name__` (the metric name); its samples become gauge points (Prometheus does not say a
//! sample's type; the metadata a request may carry is returned apart, by
//! [`metadata_from_write_request`]). A sample whose value is Prometheus's staleness marker (a
//! NaN with one exact bit pattern) is kept as a point with no recorded value, as OTLP's flag
//! says it. Timestamps are milliseconds.
//!
//! A series is rejected whole (every sample counted in [`Converted::rejected`]) when it has no
//! `__name__`, a label with an empty or repeated name, or native histograms (not supported
//! yet); a sample alone when its timestamp is out of range. Labels with an empty value are
//! dropped, as Prometheus drops them.
//!
//! ```
//! use heimsight_ingest::prometheus::{self, proto};
//! use prost::Message as _;
//!
//! let req = proto::WriteRequest {
//!     timeseries: vec![proto::TimeSeries {
//!         labels: vec![
//!             proto::Label { name: "__name__".into(), value: "up".into() },
//!             proto::Label { name: "job".into(), value: "node".into() },
//!         ],
//!         samples: vec![proto::Sample { value: 1.0, timestamp: 1_700_000_000_000 }],
//!         ..Default::default()
//!     }],
//!     metadata: vec![],
//! };
//! let body = snap::raw::Encoder::new().compress_vec(&req.encode_to_vec())?;
//!
//! let decoded = prometheus::decode_write_request(&body, 1 << 20)?;
//! let points = prometheus::points_from_write_request(&decoded);
//! assert_eq!(points.rejected, 0);
//! let group = &points.items[0];
//! assert_eq!(group.labels["job"], "node");
//! assert_eq!(group.points[0].name, "up");
//! assert_eq!(group.points[0].timestamp.0, 1_700_000_000_000_000_000);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use heimsight_core::{Labels, MetricPoint, PointGroup, Timestamp};
use prost::Message;

use crate::error::{Error, Result};
use crate::otlp::Converted;

/// The label holding a series' metric name.
pub const NAME_LABEL: &str = "__name__";

/// Prometheus's staleness marker: a NaN with this bit pattern ends a series.
pub const STALE_NAN: u64 = 0x7ff0_0000_0000_0002;

/// OTLP's data point flag for a point with no recorded value (a staleness marker).
const NO_RECORDED_VALUE: u32 = 1;

/// The messages of Prometheus's `prompb` package that remote write 1.0 sends
/// (`remote.proto`, `types.proto`), with their field numbers.
pub mod proto {
    /// One remote write request.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct WriteRequest {
        /// The series, each with its samples.
        #[prost(message, repeated, tag = "1")]
        pub timeseries: Vec<TimeSeries>,
        /// Metric families' type, help and unit.
        #[prost(message, repeated, tag = "3")]
        pub metadata: Vec<MetricMetadata>,
    }

    /// A series: its labels and samples.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TimeSeries {
        /// The labels, `__name__` among them, sorted by name.
        #[prost(message, repeated, tag = "1")]
        pub labels: Vec<Label>,
        /// The samples, oldest first.
        #[prost(message, repeated, tag = "2")]
        pub samples: Vec<Sample>,
        /// Exemplars.
        #[prost(message, repeated, tag = "3")]
        pub exemplars: Vec<Exemplar>,
        /// Native histograms, kept encoded (counted and refused: not supported yet).
        #[prost(bytes = "vec", repeated, tag = "4")]
        pub histograms: Vec<Vec<u8>>,
    }

    /// A label. Name and value are protobuf strings, held as bytes that share the decoded
    /// body's buffer (no allocation per label); they are checked to be UTF-8 when converted.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Label {
        /// Name.
        #[prost(bytes = "bytes", tag = "1")]
        pub name: prost::bytes::Bytes,
        /// Value.
        #[prost(bytes = "bytes", tag = "2")]
        pub value: prost::bytes::Bytes,
    }

    /// A sample.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Sample {
        /// Value.
        #[prost(double, tag = "1")]
        pub value: f64,
        /// Milliseconds since the Unix epoch.
        #[prost(int64, tag = "2")]
        pub timestamp: i64,
    }

    /// An exemplar.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Exemplar {
        /// Its labels (`trace_id`, …).
        #[prost(message, repeated, tag = "1")]
        pub labels: Vec<Label>,
        /// Value.
        #[prost(double, tag = "2")]
        pub value: f64,
        /// Milliseconds since the Unix epoch.
        #[prost(int64, tag = "3")]
        pub timestamp: i64,
    }

    /// A metric family's metadata.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct MetricMetadata {
        /// The type: 0 unknown, 1 counter, 2 gauge, 3 histogram, 4 gauge histogram, 5 summary,
        /// 6 info, 7 state set.
        #[prost(int32, tag = "1")]
        pub r#type: i32,
        /// The family's name.
        #[prost(string, tag = "2")]
        pub metric_family_name: String,
        /// Help text.
        #[prost(string, tag = "4")]
        pub help: String,
        /// Unit.
        #[prost(string, tag = "5")]
        pub unit: String,
    }
}

/// A metric family's metadata as the Prometheus HTTP API's `/api/v1/metadata` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Metadata {
    /// The family's name.
    pub family: String,
    /// `counter`, `gauge`, `histogram`, `gaugehistogram`, `summary`, `info`, `stateset` or
    /// `unknown`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Help text.
    pub help: String,
    /// Unit.
    pub unit: String,
}

/// The size a remote write body says it decompresses to (from Snappy's header), if it is
/// Snappy at all: to reserve room before decompressing.
pub fn decompressed_len(body: &[u8]) -> Option<usize> {
    snap::raw::decompress_len(body).ok()
}

/// Decompresses (Snappy, block format) and decodes a remote write body. `max_bytes` bounds
/// the decompressed size, which is checked from the block's header before anything is
/// decompressed.
pub fn decode_write_request(body: &[u8], max_bytes: usize) -> Result<proto::WriteRequest> {
    if body.is_empty() {
        return Err(Error::MalformedSnappy {
            reason: "the body is empty; expected a Snappy-compressed protobuf WriteRequest".into(),
        });
    }
    let len = snap::raw::decompress_len(body).map_err(|e| Error::MalformedSnappy {
        reason: format!(
            "{e} (remote write bodies are Snappy's block format, not its framed format)"
        ),
    })?;
    if len > max_bytes {
        return Err(Error::MalformedSnappy {
            reason: format!(
                "the body decompresses to {len} bytes, more than the limit of {max_bytes} \
                 (max_body_bytes); send smaller batches (queue_config.max_samples_per_send)"
            ),
        });
    }
    let raw = snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|e| Error::MalformedSnappy {
            reason: e.to_string(),
        })?;
    proto::WriteRequest::decode(prost::bytes::Bytes::from(raw)).map_err(|e| {
        Error::MalformedProtobuf {
            what: "WriteRequest",
            reason: e.to_string(),
        }
    })
}

/// Converts the series of a write request to groups of points, one group per series (see the
/// module's documentation). [`Converted::rejected`] counts samples.
pub fn points_from_write_request(req: &proto::WriteRequest) -> Converted<PointGroup> {
    let mut out = Converted::default();
    for (i, ts) in req.timeseries.iter().enumerate() {
        let refuse = |out: &mut Converted<PointGroup>, why: String| {
            let n = ts.samples.len() + ts.histograms.len();
            out.reject_n(n.max(1) as u64, format!("timeseries[{i}]: {why}"));
        };
        let (name, labels) = match series_labels(&ts.labels) {
            Ok(x) => x,
            Err(why) => {
                refuse(&mut out, why);
                continue;
            }
        };
        if !ts.histograms.is_empty() {
            refuse(
                &mut out,
                format!("series {name}: native histograms are not supported yet"),
            );
            continue;
        }
        let mut points = Vec::with_capacity(ts.samples.len());
        for (j, s) in ts.samples.iter().enumerate() {
            let Some(ns) = s.timestamp.checked_mul(1_000_000) else {
                out.reject(format!(
                    "timeseries[{i}].samples[{j}]: series {name}: timestamp {} ms is out of range",
                    s.timestamp
                ));
                continue;
            };
            let mut p = MetricPoint::gauge(name.as_str(), Labels::new(), Timestamp(ns), s.value);
            if s.value.to_bits() == STALE_NAN {
                p.flags = NO_RECORDED_VALUE;
            } else if let Err(e) = p.validate() {
                out.reject(format!("timeseries[{i}].samples[{j}]: series {name}: {e}"));
                continue;
            }
            points.push(p);
        }
        if !points.is_empty() {
            out.items.push(PointGroup { labels, points });
        }
    }
    out
}

/// The text of a label's name or value.
fn text<'a>(b: &'a [u8], what: &str) -> std::result::Result<&'a str, String> {
    std::str::from_utf8(b).map_err(|_| format!("a label {what} is not valid UTF-8"))
}

/// The metric name and the other labels of a series, or what is wrong with them.
fn series_labels(pairs: &[proto::Label]) -> std::result::Result<(String, Labels), String> {
    let mut name = None;
    let mut labels = Labels::new();
    for l in pairs {
        let (k, v) = (text(&l.name, "name")?, text(&l.value, "value")?);
        if k.is_empty() {
            return Err("a label has an empty name".into());
        }
        if k == NAME_LABEL {
            if name.replace(v.to_string()).is_some() {
                return Err(format!("label {NAME_LABEL} appears twice"));
            }
            continue;
        }
        if v.is_empty() {
            continue;
        }
        if labels.insert(k.to_string(), v.to_string()).is_some() {
            return Err(format!("label {k:?} appears twice"));
        }
    }
    match name {
        Some(n) if !n.is_empty() => Ok((n, labels)),
        _ => Err(format!(
            "no {NAME_LABEL} label (every series needs a metric name)"
        )),
    }
}

/// A group's series as Prometheus writes it: `name{label="value", …}`.
fn series_name(g: &PointGroup) -> String {
    let name = g.points.first().map_or("", |p| p.name.as_str());
    if g.labels.is_empty() {
        return name.to_string();
    }
    let labels: Vec<String> = g.labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{name}{{{}}}", labels.join(", "))
}

/// The metric families' metadata a write request carries (Prometheus sends it in requests of
/// its own, once a minute by default).
pub fn metadata_from_write_request(req: &proto::WriteRequest) -> Vec<Metadata> {
    req.metadata
        .iter()
        .filter(|m| !m.metric_family_name.is_empty())
        .map(|m| Metadata {
            family: m.metric_family_name.clone(),
            kind: match m.r#type {
                1 => "counter",
                2 => "gauge",
                3 => "histogram",
                4 => "gaugehistogram",
                5 => "summary",
                6 => "info",
                7 => "stateset",
                _ => "unknown",
            }
            .into(),
            help: m.help.clone(),
            unit: m.unit.clone(),
        })
        .collect()
}

/// Writes metric points as Prometheus would send them: one series per number point;
/// histograms as `_bucket` series with cumulative counts by `le` (`+Inf` last), `_sum` and
/// `_count`; summaries as series by `quantile`, `_sum` and `_count`; exponential histograms as
/// `_sum` and `_count`. Points with no recorded value become staleness markers. For load
/// drivers and tests; labels are taken as they are (no renaming).
pub fn points_to_write_request(points: &[MetricPoint]) -> proto::WriteRequest {
    use heimsight_core::MetricValue;
    let mut out = proto::WriteRequest::default();
    for p in points {
        let ts = p.timestamp.0 / 1_000_000;
        let mut push = |suffix: &str, extra: Option<(&str, String)>, value: f64| {
            let value = if p.flags & NO_RECORDED_VALUE != 0 {
                f64::from_bits(STALE_NAN)
            } else {
                value
            };
            let mut labels: Vec<proto::Label> = p
                .labels
                .iter()
                .map(|(k, v)| proto::Label {
                    name: k.clone().into(),
                    value: v.clone().into(),
                })
                .collect();
            labels.push(proto::Label {
                name: NAME_LABEL.into(),
                value: format!("{}{suffix}", p.name).into(),
            });
            if let Some((k, v)) = extra {
                labels.push(proto::Label {
                    name: k.to_string().into(),
                    value: v.into(),
                });
            }
            labels.sort_by(|a, b| a.name.cmp(&b.name));
            out.timeseries.push(proto::TimeSeries {
                labels,
                samples: vec![proto::Sample {
                    value,
                    timestamp: ts,
                }],
                ..proto::TimeSeries::default()
            });
        };
        match &p.value {
            MetricValue::Number(v) => push("", None, *v),
            MetricValue::Histogram(h) => {
                let mut cumulative = 0u64;
                for (i, c) in h.counts.iter().enumerate() {
                    cumulative = cumulative.saturating_add(*c);
                    let le = h
                        .bounds
                        .get(i)
                        .map_or_else(|| "+Inf".to_string(), |b| b.to_string());
                    push("_bucket", Some(("le", le)), cumulative as f64);
                }
                push("_sum", None, h.sum.unwrap_or(0.0));
                push("_count", None, h.count as f64);
            }
            MetricValue::Summary(s) => {
                for q in &s.quantiles {
                    push("", Some(("quantile", q.quantile.to_string())), q.value);
                }
                push("_sum", None, s.sum);
                push("_count", None, s.count as f64);
            }
            MetricValue::ExponentialHistogram(h) => {
                push("_sum", None, h.sum.unwrap_or(0.0));
                push("_count", None, h.count as f64);
            }
        }
    }
    out
}

/// Compresses a write request as remote write sends it (Snappy block format).
pub fn encode_write_request(req: &proto::WriteRequest) -> Vec<u8> {
    // Compressing into a buffer sized by `max_compress_len` cannot fail.
    snap::raw::Encoder::new()
        .compress_vec(&req.encode_to_vec())
        .unwrap_or_default()
}

/// The metadata store namespace of metric families' metadata, by family name (JSON of
/// [`Metadata`]).
pub const METADATA_NAMESPACE: &str = "prometheus.metadata";

/// What [`store_write_request`] did.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Stored {
    /// Samples stored.
    pub accepted: usize,
    /// Samples refused (see [`Converted::rejected`]).
    pub rejected: u64,
    /// Why, the first few (see [`Converted::error_message`]).
    pub error_message: String,
    /// Metric families whose metadata was new or changed, and stored.
    pub metadata_changed: usize,
}

/// Converts a write request and stores its valid samples and its metadata, the way
/// Prometheus takes samples (see
/// [`MetricStore::append_point_groups_checked`](heimsight_store::MetricStore::append_point_groups_checked)):
/// a sample more than `out_of_order_window_ns` older than its series' newest, or with another
/// value at a timestamp the series has, is refused; an exact duplicate is dropped silently.
/// Samples that were refused are counted in [`Stored::rejected`], with the series they belong
/// to; the others are stored all the same.
pub fn store_write_request(
    store: &dyn heimsight_store::Store,
    req: &proto::WriteRequest,
    out_of_order_window_ns: i64,
) -> Result<Stored> {
    let mut c = points_from_write_request(req);
    let mut accepted: usize = c.items.iter().map(|g| g.points.len()).sum();
    if !c.items.is_empty() {
        let groups = std::mem::take(&mut c.items);
        let refused = store.append_point_groups_checked(&groups, out_of_order_window_ns)?;
        accepted -= refused.len();
        for r in refused {
            c.reject(format!(
                "series {}: {}",
                series_name(&groups[r.group]),
                r.reason
            ));
        }
    }
    let error_message = c.error_message();
    let mut ops = Vec::new();
    for m in metadata_from_write_request(req) {
        let value = serde_json::to_vec(&m).unwrap_or_default();
        if store.meta_get(METADATA_NAMESPACE, &m.family)?.as_deref() != Some(value.as_slice()) {
            ops.push(heimsight_store::MetaOp::put(
                METADATA_NAMESPACE,
                &m.family,
                value,
            ));
        }
    }
    if !ops.is_empty() {
        store.meta_write(&ops)?;
    }
    Ok(Stored {
        accepted,
        rejected: c.rejected,
        error_message,
        metadata_changed: ops.len(),
    })
}

/// The metadata of every metric family stored by [`store_write_request`], by family name.
pub fn stored_metadata(store: &dyn heimsight_store::Store) -> Result<Vec<Metadata>> {
    Ok(store
        .meta_list(METADATA_NAMESPACE)?
        .into_iter()
        .filter_map(|(_, v)| serde_json::from_slice(&v).ok())
        .collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::proto::{Label, MetricMetadata, Sample, TimeSeries, WriteRequest};
    use super::*;

    /// Ten minutes, in nanoseconds.
    const WINDOW: i64 = 600_000_000_000;

    fn label(n: &str, v: &str) -> Label {
        Label {
            name: n.to_string().into(),
            value: v.to_string().into(),
        }
    }

    fn series(labels: Vec<Label>, samples: &[(i64, f64)]) -> TimeSeries {
        TimeSeries {
            labels,
            samples: samples
                .iter()
                .map(|&(timestamp, value)| Sample { value, timestamp })
                .collect(),
            ..TimeSeries::default()
        }
    }

    fn body(req: &WriteRequest) -> Vec<u8> {
        snap::raw::Encoder::new()
            .compress_vec(&req.encode_to_vec())
            .unwrap()
    }

    #[test]
    fn series_become_groups_of_points_and_bad_series_are_rejected_whole() {
        let req = WriteRequest {
            timeseries: vec![
                series(
                    vec![
                        label("__name__", "http_requests_total"),
                        label("code", "200"),
                        label("empty", ""),
                        label("job", "api"),
                    ],
                    &[
                        (1_000, 1.0),
                        (2_000, 3.0),
                        (3_000, f64::from_bits(STALE_NAN)),
                    ],
                ),
                series(vec![label("job", "api")], &[(1_000, 1.0), (2_000, 2.0)]),
                series(
                    vec![label("__name__", "x"), label("a", "1"), label("a", "2")],
                    &[(1_000, 1.0)],
                ),
                series(
                    vec![label("__name__", "far"), label("", "v")],
                    &[(1_000, 1.0)],
                ),
                series(
                    vec![label("__name__", "late")],
                    &[(i64::MAX, 1.0), (5, 2.0)],
                ),
                series(
                    vec![
                        label("__name__", "bytes"),
                        Label {
                            name: "v".into(),
                            value: prost::bytes::Bytes::from_static(b"\xff"),
                        },
                    ],
                    &[(1_000, 1.0)],
                ),
            ],
            metadata: vec![MetricMetadata {
                r#type: 1,
                metric_family_name: "http_requests_total".into(),
                help: "Requests.".into(),
                unit: String::new(),
            }],
        };
        let decoded = decode_write_request(&body(&req), 1 << 20).unwrap();
        // (NaN is not equal to itself: the encodings are compared.)
        assert_eq!(decoded.encode_to_vec(), req.encode_to_vec());
        let c = points_from_write_request(&decoded);
        assert_eq!(c.rejected, 2 + 1 + 1 + 1 + 1, "{:?}", c.messages);
        let msgs = c.error_message();
        assert!(msgs.contains("timeseries[1]: no __name__ label"), "{msgs}");
        assert!(
            msgs.contains("timeseries[2]: label \"a\" appears twice"),
            "{msgs}"
        );
        assert!(
            msgs.contains("timeseries[3]: a label has an empty name"),
            "{msgs}"
        );
        assert!(
            msgs.contains("timeseries[4].samples[0]: series late"),
            "{msgs}"
        );
        assert!(
            msgs.contains("timeseries[5]: a label value is not valid UTF-8"),
            "{msgs}"
        );
        assert_eq!(c.items.len(), 2);
        let g = &c.items[0];
        assert_eq!(
            g.labels.len(),
            2,
            "no __name__, no empty label: {:?}",
            g.labels
        );
        assert_eq!(g.points.len(), 3);
        assert_eq!(g.points[1].timestamp, Timestamp(2_000_000_000));
        assert_eq!(g.points[2].flags, NO_RECORDED_VALUE, "staleness marker");
        assert_eq!(c.items[1].points[0].name, "late");

        let meta = metadata_from_write_request(&decoded);
        assert_eq!(meta[0].kind, "counter");
        assert_eq!(meta[0].help, "Requests.");
    }

    #[test]
    fn bodies_that_are_not_snappy_protobuf_or_too_large_are_refused_with_the_reason() {
        let e = decode_write_request(b"", 100).unwrap_err().to_string();
        assert!(e.contains("empty"), "{e}");
        let e = decode_write_request(b"\xff\xff\xff\xff\xff\xff", 100)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("malformed snappy"), "{e}");
        // Snappy's framed format is not what remote write sends.
        let mut framed = snap::write::FrameEncoder::new(Vec::new());
        std::io::Write::write_all(&mut framed, b"hello").unwrap();
        let framed = framed.into_inner().unwrap();
        assert!(decode_write_request(&framed, 100).is_err());
        let big = WriteRequest {
            timeseries: vec![series(vec![label("__name__", "x")], &[(1, 1.0); 50])],
            metadata: vec![],
        };
        let e = decode_write_request(&body(&big), 100)
            .unwrap_err()
            .to_string();
        assert!(e.contains("more than the limit of 100"), "{e}");
        let not_proto = snap::raw::Encoder::new().compress_vec(b"\x0a\xff").unwrap();
        let e = decode_write_request(&not_proto, 100)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a valid WriteRequest"), "{e}");
    }

    #[test]
    fn stored_samples_and_metadata_read_back() {
        let store = heimsight_store::MemoryStore::new();
        let req = WriteRequest {
            timeseries: vec![
                series(
                    vec![label("__name__", "up"), label("job", "node")],
                    &[(1_000, 1.0), (2_000, 0.0)],
                ),
                series(vec![label("job", "nameless")], &[(1_000, 1.0)]),
            ],
            metadata: vec![MetricMetadata {
                r#type: 2,
                metric_family_name: "up".into(),
                help: "Whether the target is up.".into(),
                unit: String::new(),
            }],
        };
        let stored = store_write_request(&store, &req, WINDOW).unwrap();
        assert_eq!((stored.accepted, stored.rejected), (2, 1));
        assert!(stored.error_message.contains("no __name__"), "{stored:?}");
        assert_eq!(stored.metadata_changed, 1);
        let series = heimsight_store::MetricStore::query_points(
            &store,
            &heimsight_store::SeriesQuery::default().with_name("up"),
        )
        .unwrap();
        assert_eq!(series.len(), 1);
        assert_eq!(series[0].series.labels["job"], "node");
        assert_eq!(series[0].points.len(), 2);
        assert_eq!(stored_metadata(&store).unwrap()[0].kind, "gauge");
        // The same metadata again changes nothing.
        assert_eq!(
            store_write_request(&store, &req, WINDOW)
                .unwrap()
                .metadata_changed,
            0
        );
    }

    #[test]
    fn points_written_as_prometheus_sends_them_read_back() {
        use heimsight_core::{HistogramValue, MetricKind, MetricValue};
        let labels: Labels = [("job".to_string(), "api".to_string())].into();
        let gauge = MetricPoint::gauge("temp", labels.clone(), Timestamp(5_000_000), 21.5);
        let hist = MetricPoint {
            kind: MetricKind::Histogram,
            value: MetricValue::Histogram(HistogramValue {
                bounds: vec![0.1, 1.0],
                counts: vec![3, 2, 1],
                sum: Some(2.5),
                count: 6,
                min: None,
                max: None,
            }),
            ..MetricPoint::gauge("lat", labels, Timestamp(5_000_000), 0.0)
        };
        let req = points_to_write_request(&[gauge, hist]);
        let back = decode_write_request(&encode_write_request(&req), 1 << 20).unwrap();
        let c = points_from_write_request(&back);
        assert_eq!(c.rejected, 0, "{:?}", c.messages);
        let got: Vec<(String, Option<String>, f64)> = c
            .items
            .iter()
            .map(|g| {
                let p = &g.points[0];
                assert_eq!(p.timestamp, Timestamp(5_000_000));
                assert_eq!(g.labels["job"], "api");
                (
                    p.name.clone(),
                    g.labels.get("le").cloned(),
                    p.value.scalar(),
                )
            })
            .collect();
        let le = |s: &str| Some(s.to_string());
        assert_eq!(
            got,
            [
                ("temp".to_string(), None, 21.5),
                ("lat_bucket".to_string(), le("0.1"), 3.0),
                ("lat_bucket".to_string(), le("1"), 5.0),
                ("lat_bucket".to_string(), le("+Inf"), 6.0),
                ("lat_sum".to_string(), None, 2.5),
                ("lat_count".to_string(), None, 6.0),
            ]
        );
    }
}
