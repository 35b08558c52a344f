#![allow(clippy::unwrap_used)]

use heimsight_core::{AttributeValue, MetricKind, MetricValue, SpanKind, StatusCode, Timestamp};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, any_value,
};
use opentelemetry_proto::tonic::logs::v1 as lpb;
use opentelemetry_proto::tonic::metrics::v1 as mpb;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1 as tpb;
use prost::Message;

use super::*;

const T: u64 = 1_700_000_000_000_000_000;

fn kv(k: &str, v: any_value::Value) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue { value: Some(v) }),
        ..KeyValue::default()
    }
}

fn s(v: &str) -> any_value::Value {
    any_value::Value::StringValue(v.into())
}

fn resource(service: &str) -> Resource {
    Resource {
        attributes: vec![kv("host.name", s("web-1")), kv("service.name", s(service))],
        dropped_attributes_count: 2,
        ..Resource::default()
    }
}

fn scope() -> InstrumentationScope {
    InstrumentationScope {
        name: "io.opentelemetry.test".into(),
        version: "1.2.3".into(),
        attributes: vec![kv("scope.attr", any_value::Value::BoolValue(true))],
        dropped_attributes_count: 1,
    }
}

fn logs_request() -> ExportLogsServiceRequest {
    let structured = AnyValue {
        value: Some(any_value::Value::KvlistValue(KeyValueList {
            values: vec![
                kv("code", any_value::Value::IntValue(42)),
                kv(
                    "tags",
                    any_value::Value::ArrayValue(ArrayValue {
                        values: vec![AnyValue {
                            value: Some(s("a")),
                        }],
                    }),
                ),
            ],
        })),
    };
    ExportLogsServiceRequest {
        resource_logs: vec![
            lpb::ResourceLogs {
                resource: Some(resource("checkout")),
                schema_url: "https://opentelemetry.io/schemas/1.24.0".into(),
                scope_logs: vec![lpb::ScopeLogs {
                    scope: Some(scope()),
                    schema_url: "https://scope.example/1".into(),
                    log_records: vec![
                        lpb::LogRecord {
                            time_unix_nano: T,
                            observed_time_unix_nano: T + 5,
                            severity_number: 17,
                            severity_text: "ERROR".into(),
                            body: Some(AnyValue {
                                value: Some(s("payment declined")),
                            }),
                            attributes: vec![
                                kv("bytes", any_value::Value::BytesValue(vec![0, 1, 255])),
                                kv("http.status_code", any_value::Value::IntValue(502)),
                                kv("ratio", any_value::Value::DoubleValue(0.5)),
                            ],
                            dropped_attributes_count: 3,
                            flags: 1,
                            trace_id: vec![0x5b; 16],
                            span_id: vec![0xee; 8],
                            event_name: "payment.failed".into(),
                        },
                        lpb::LogRecord {
                            time_unix_nano: T + 1,
                            severity_number: 9,
                            body: Some(structured),
                            ..lpb::LogRecord::default()
                        },
                    ],
                }],
            },
            lpb::ResourceLogs {
                resource: Some(Resource {
                    attributes: vec![kv("service.name", s("cart"))],
                    ..Resource::default()
                }),
                scope_logs: vec![lpb::ScopeLogs {
                    log_records: vec![lpb::LogRecord {
                        time_unix_nano: T + 2,
                        body: Some(AnyValue {
                            value: Some(s("added item")),
                        }),
                        ..lpb::LogRecord::default()
                    }],
                    ..lpb::ScopeLogs::default()
                }],
                ..lpb::ResourceLogs::default()
            },
        ],
    }
}

#[test]
fn logs_round_trip_field_for_field() {
    let req = logs_request();
    let conv = logs_from_otlp(req.clone(), Timestamp(1));
    assert_eq!(conv.rejected, 0, "{}", conv.error_message());
    assert_eq!(conv.items.len(), 3);
    let first = &conv.items[0];
    assert_eq!(first.service, "checkout");
    assert_eq!(first.timestamp, Timestamp(T as i64));
    assert_eq!(first.observed_timestamp, Timestamp(T as i64 + 5));
    assert_eq!(first.severity_number, 17);
    assert_eq!(first.body, "payment declined");
    assert_eq!(
        first.attributes["http.status_code"],
        AttributeValue::Int(502)
    );
    assert_eq!(first.scope.name, "io.opentelemetry.test");
    assert_eq!(first.trace_id.unwrap().to_hex(), "5b".repeat(16));
    let second = &conv.items[1];
    assert_eq!(second.body, r#"{"code":42,"tags":["a"]}"#);
    assert_eq!(conv.items[2].service, "cart");

    let back = logs_to_otlp(&conv.items);
    assert_eq!(back, req);
}

fn traces_request() -> ExportTraceServiceRequest {
    let root = tpb::Span {
        trace_id: vec![1; 16],
        span_id: vec![2; 8],
        trace_state: "vendor=x".into(),
        parent_span_id: vec![],
        flags: 0x301,
        name: "GET /checkout".into(),
        kind: 2,
        start_time_unix_nano: T,
        end_time_unix_nano: T + 1_000_000,
        attributes: vec![kv("http.method", s("GET"))],
        dropped_attributes_count: 1,
        events: vec![tpb::span::Event {
            time_unix_nano: T + 10,
            name: "exception".into(),
            attributes: vec![kv("exception.message", s("boom"))],
            dropped_attributes_count: 4,
        }],
        dropped_events_count: 2,
        links: vec![tpb::span::Link {
            trace_id: vec![9; 16],
            span_id: vec![8; 8],
            trace_state: "a=b".into(),
            attributes: vec![kv("link.kind", s("follows"))],
            dropped_attributes_count: 1,
            flags: 1,
        }],
        dropped_links_count: 3,
        status: Some(tpb::Status {
            message: "failed".into(),
            code: 2,
        }),
    };
    let child = tpb::Span {
        trace_id: vec![1; 16],
        span_id: vec![3; 8],
        parent_span_id: vec![2; 8],
        name: "SELECT".into(),
        kind: 3,
        start_time_unix_nano: T + 100,
        end_time_unix_nano: T + 900,
        ..tpb::Span::default()
    };
    ExportTraceServiceRequest {
        resource_spans: vec![tpb::ResourceSpans {
            resource: Some(resource("checkout")),
            scope_spans: vec![tpb::ScopeSpans {
                scope: Some(scope()),
                spans: vec![root, child],
                schema_url: String::new(),
            }],
            schema_url: "https://opentelemetry.io/schemas/1.24.0".into(),
        }],
    }
}

#[test]
fn traces_round_trip_field_for_field() {
    let req = traces_request();
    let conv = spans_from_otlp(req.clone());
    assert_eq!(conv.rejected, 0, "{}", conv.error_message());
    let root = &conv.items[0];
    assert_eq!(root.kind, SpanKind::Server);
    assert_eq!(root.status.code, StatusCode::Error);
    assert_eq!(root.service, "checkout");
    assert_eq!(root.events[0].name, "exception");
    assert_eq!(root.links[0].trace_state, "a=b");
    assert_eq!(conv.items[1].parent_span_id, Some(root.span_id));
    assert_eq!(spans_to_otlp(&conv.items), req);
}

fn gauge_point(v: f64) -> mpb::NumberDataPoint {
    mpb::NumberDataPoint {
        attributes: vec![kv("cpu", s("0"))],
        start_time_unix_nano: 0,
        time_unix_nano: T,
        exemplars: vec![mpb::Exemplar {
            filtered_attributes: vec![kv("user", s("u1"))],
            time_unix_nano: T - 5,
            span_id: vec![4; 8],
            trace_id: vec![5; 16],
            value: Some(mpb::exemplar::Value::AsDouble(0.9)),
        }],
        flags: 0,
        value: Some(mpb::number_data_point::Value::AsDouble(v)),
    }
}

fn metrics_request() -> ExportMetricsServiceRequest {
    use mpb::metric::Data;
    let metric = |name: &str, data| mpb::Metric {
        name: name.into(),
        description: format!("{name} description"),
        unit: "1".into(),
        metadata: vec![],
        data: Some(data),
    };
    ExportMetricsServiceRequest {
        resource_metrics: vec![mpb::ResourceMetrics {
            resource: Some(Resource {
                attributes: vec![kv("service.name", s("checkout"))],
                ..Resource::default()
            }),
            scope_metrics: vec![mpb::ScopeMetrics {
                scope: Some(InstrumentationScope {
                    name: "meter".into(),
                    version: "0.1".into(),
                    ..InstrumentationScope::default()
                }),
                metrics: vec![
                    metric(
                        "cpu.utilization",
                        Data::Gauge(mpb::Gauge {
                            data_points: vec![gauge_point(0.25)],
                        }),
                    ),
                    metric(
                        "http.requests",
                        Data::Sum(mpb::Sum {
                            data_points: vec![mpb::NumberDataPoint {
                                exemplars: vec![],
                                start_time_unix_nano: T - 1_000,
                                value: Some(mpb::number_data_point::Value::AsDouble(17.0)),
                                ..gauge_point(0.0)
                            }],
                            aggregation_temporality: 1,
                            is_monotonic: true,
                        }),
                    ),
                    metric(
                        "latency",
                        Data::Histogram(mpb::Histogram {
                            data_points: vec![mpb::HistogramDataPoint {
                                attributes: vec![kv("route", s("/"))],
                                start_time_unix_nano: T - 1_000,
                                time_unix_nano: T,
                                count: 6,
                                sum: Some(2.5),
                                bucket_counts: vec![3, 2, 1],
                                explicit_bounds: vec![0.1, 1.0],
                                exemplars: vec![],
                                flags: 0,
                                min: Some(0.01),
                                max: Some(3.0),
                            }],
                            aggregation_temporality: 2,
                        }),
                    ),
                    metric(
                        "latency.exp",
                        Data::ExponentialHistogram(mpb::ExponentialHistogram {
                            data_points: vec![mpb::ExponentialHistogramDataPoint {
                                attributes: vec![],
                                start_time_unix_nano: T - 1_000,
                                time_unix_nano: T,
                                count: 8,
                                sum: Some(12.5),
                                scale: 3,
                                zero_count: 1,
                                positive: Some(mpb::exponential_histogram_data_point::Buckets {
                                    offset: -2,
                                    bucket_counts: vec![1, 0, 4],
                                }),
                                negative: Some(mpb::exponential_histogram_data_point::Buckets {
                                    offset: 5,
                                    bucket_counts: vec![2],
                                }),
                                flags: 0,
                                exemplars: vec![],
                                min: Some(-40.0),
                                max: Some(1.3),
                                zero_threshold: 0.0,
                            }],
                            aggregation_temporality: 1,
                        }),
                    ),
                    metric(
                        "rpc.duration",
                        Data::Summary(mpb::Summary {
                            data_points: vec![mpb::SummaryDataPoint {
                                attributes: vec![],
                                start_time_unix_nano: 0,
                                time_unix_nano: T,
                                count: 10,
                                sum: 55.0,
                                quantile_values: vec![
                                    mpb::summary_data_point::ValueAtQuantile {
                                        quantile: 0.5,
                                        value: 5.0,
                                    },
                                    mpb::summary_data_point::ValueAtQuantile {
                                        quantile: 0.99,
                                        value: 9.9,
                                    },
                                ],
                                flags: 0,
                            }],
                        }),
                    ),
                ],
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

#[test]
fn metric_groups_share_resource_and_scope_labels_and_flatten_to_the_same_points() {
    let mut req = metrics_request();
    // A point attribute named like a resource attribute wins over it.
    let Some(mpb::metric::Data::Gauge(g)) =
        &mut req.resource_metrics[0].scope_metrics[0].metrics[0].data
    else {
        panic!("the first metric is a gauge")
    };
    g.data_points[0].attributes.push(kv(
        "service.name",
        any_value::Value::StringValue("own".into()),
    ));
    let groups = point_groups_from_otlp(&req);
    assert_eq!(groups.rejected, 0, "{}", groups.error_message());
    assert_eq!(groups.items.len(), 1, "one resource with one scope");
    let group = &groups.items[0];
    assert_eq!(group.labels["service.name"], "checkout");
    assert_eq!(group.labels[metrics::SCOPE_NAME], "meter");
    assert_eq!(group.points.len(), 5);
    let gauge = &group.points[0];
    assert_eq!(
        gauge.labels.len(),
        2,
        "only its own labels: {:?}",
        gauge.labels
    );
    assert_eq!(gauge.labels["cpu"], "0");

    let flat = points_from_otlp(&req);
    assert_eq!(
        groups
            .items
            .clone()
            .into_iter()
            .flat_map(|g| g.into_points())
            .collect::<Vec<_>>(),
        flat.items
    );
    assert_eq!(flat.items[0].labels["service.name"], "own");
    assert_eq!(flat.items[1].labels["service.name"], "checkout");

    // A resource attribute with an empty name rejects every point, as a point's own would.
    req.resource_metrics[0]
        .resource
        .as_mut()
        .unwrap()
        .attributes
        .push(kv("", any_value::Value::StringValue("x".into())));
    let bad = point_groups_from_otlp(&req);
    assert_eq!(bad.rejected, 5);
    assert!(bad.items.is_empty());
    assert!(
        bad.error_message()
            .contains("label names must not be empty"),
        "{}",
        bad.error_message()
    );
}

#[test]
fn metrics_round_trip_every_kind() {
    let req = metrics_request();
    let conv = points_from_otlp(&req);
    assert_eq!(conv.rejected, 0, "{}", conv.error_message());
    let kinds: Vec<MetricKind> = conv.items.iter().map(|p| p.kind).collect();
    assert_eq!(
        kinds,
        [
            MetricKind::Gauge,
            MetricKind::Counter,
            MetricKind::Histogram,
            MetricKind::ExponentialHistogram,
            MetricKind::Summary
        ]
    );
    let gauge = &conv.items[0];
    assert_eq!(gauge.labels["cpu"], "0");
    assert_eq!(gauge.labels["service.name"], "checkout");
    assert_eq!(gauge.labels[metrics::SCOPE_NAME], "meter");
    assert_eq!(gauge.value, MetricValue::Number(0.25));
    assert_eq!(gauge.exemplars[0].value, 0.9);
    assert_eq!(gauge.exemplars[0].trace_id.unwrap().0, [5; 16]);
    assert_eq!(
        conv.items[1].temporality,
        heimsight_core::Temporality::Delta
    );
    assert!(conv.items[1].monotonic);

    // The labels say where resource and scope came from, so the request comes back whole.
    let back = points_to_otlp(&conv.items);
    let again = points_from_otlp(&back);
    assert_eq!(again.items, conv.items);
    let mut want = req.clone();
    want.resource_metrics[0].scope_metrics[0]
        .metrics
        .sort_by(|a, b| a.name.cmp(&b.name));
    let mut got = back;
    got.resource_metrics[0].scope_metrics[0]
        .metrics
        .sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(got, want);
}

#[test]
fn bad_records_are_rejected_one_by_one() {
    let mut req = traces_request();
    let spans = &mut req.resource_spans[0].scope_spans[0].spans;
    let good = spans[1].clone();
    spans.push(tpb::Span {
        trace_id: vec![1; 3],
        ..good.clone()
    });
    spans.push(tpb::Span {
        kind: 9,
        ..good.clone()
    });
    spans.push(tpb::Span {
        start_time_unix_nano: 0,
        ..good.clone()
    });
    let conv = spans_from_otlp(req);
    assert_eq!(conv.items.len(), 2);
    assert_eq!(conv.rejected, 3);
    let msg = conv.error_message();
    assert!(
        msg.contains("spans[2].trace_id: expected 16 bytes (32 hex digits), found 3 bytes"),
        "{msg}"
    );
    assert!(
        msg.contains("spans[3].kind: 9 is not a known span kind"),
        "{msg}"
    );
    assert!(
        msg.contains("spans[4].start_time_unix_nano: missing (0)"),
        "{msg}"
    );

    let mut m = metrics_request();
    if let Some(mpb::metric::Data::Sum(sum)) =
        &mut m.resource_metrics[0].scope_metrics[0].metrics[1].data
    {
        sum.aggregation_temporality = 0;
    }
    let conv = points_from_otlp(&m);
    assert_eq!(conv.rejected, 1);
    assert!(
        conv.error_message()
            .contains("aggregation_temporality: unspecified")
    );
}

/// Found by fuzzing: an empty `AnyValue` body is an empty body, so the conversion is a fixed
/// point.
#[test]
fn empty_any_value_body_is_an_empty_body() {
    let mut req = logs_request();
    req.resource_logs[0].scope_logs[0].log_records[0].body = Some(AnyValue { value: None });
    let conv = logs_from_otlp(req, Timestamp(1));
    assert_eq!(conv.items[0].body, "");
    assert!(!conv.items[0].attributes.contains_key(logs::BODY_VALUE));
    let again = logs_from_otlp(logs_to_otlp(&conv.items), Timestamp(1));
    assert_eq!(again.items, conv.items);
}

#[test]
fn logs_without_time_use_observed_then_now() {
    let req = ExportLogsServiceRequest {
        resource_logs: vec![lpb::ResourceLogs {
            scope_logs: vec![lpb::ScopeLogs {
                log_records: vec![
                    lpb::LogRecord {
                        observed_time_unix_nano: T,
                        ..lpb::LogRecord::default()
                    },
                    lpb::LogRecord::default(),
                ],
                ..lpb::ScopeLogs::default()
            }],
            ..lpb::ResourceLogs::default()
        }],
    };
    let conv = logs_from_otlp(req, Timestamp(42));
    assert_eq!(conv.items[0].timestamp, Timestamp(T as i64));
    assert_eq!(conv.items[1].timestamp, Timestamp(42));
    assert_eq!(conv.items[1].service, heimsight_core::log::UNKNOWN_SERVICE);
}

#[test]
fn protobuf_and_json_decode_the_same_request() {
    let req = traces_request();
    let pb = req.encode_to_vec();
    assert_eq!(decode_traces(&pb, Encoding::Protobuf).unwrap(), req);
    let json = encode(&req, Encoding::Json);
    let text = String::from_utf8(json.clone()).unwrap();
    assert!(
        text.contains(r#""traceId":"01010101010101010101010101010101""#),
        "{text}"
    );
    assert_eq!(decode_traces(&json, Encoding::Json).unwrap(), req);
}

/// The example of the OTLP specification's repository (`examples/trace.json`), with its
/// string int64s, hex ids and numeric enums.
#[test]
fn spec_example_json_decodes() {
    let body = br#"{
      "resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "my.service"}}]},
        "scopeSpans": [{
          "scope": {"name": "my.library", "version": "1.0.0",
                    "attributes": [{"key": "my.scope.attribute", "value": {"stringValue": "some scope attribute"}}]},
          "spans": [{
            "traceId": "5B8EFFF798038103D269B633813FC60C",
            "spanId": "EEE19B7EC3C1B174",
            "parentSpanId": "EEE19B7EC3C1B173",
            "name": "I'm a server span",
            "startTimeUnixNano": "1544712660000000000",
            "endTimeUnixNano": "1544712661000000000",
            "kind": 2,
            "attributes": [
              {"key": "my.span.attr", "value": {"stringValue": "some value"}},
              {"key": "count", "value": {"intValue": 5893}},
              {"key": "big", "value": {"intValue": "9007199254740993"}}
            ]
          }]
        }]
      }]
    }"#;
    let req = decode_traces(body, Encoding::Json).unwrap();
    let conv = spans_from_otlp(req);
    assert_eq!(conv.rejected, 0, "{}", conv.error_message());
    let sp = &conv.items[0];
    assert_eq!(sp.trace_id.to_hex(), "5b8efff798038103d269b633813fc60c");
    assert_eq!(sp.service, "my.service");
    assert_eq!(sp.kind, SpanKind::Server);
    assert_eq!(sp.start_time, Timestamp(1_544_712_660_000_000_000));
    assert_eq!(sp.attributes["count"], AttributeValue::Int(5893));
    assert_eq!(
        sp.attributes["big"],
        AttributeValue::Int(9_007_199_254_740_993)
    );
}

#[test]
fn undecodable_bodies_are_errors_naming_the_problem() {
    let e = decode_logs(&[0xff, 0xff, 0xff], Encoding::Protobuf).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("malformed protobuf: the body is not a valid ExportLogsServiceRequest"),
        "{e}"
    );
    let truncated = &logs_request().encode_to_vec()[..40];
    assert!(decode_logs(truncated, Encoding::Protobuf).is_err());
    let e = decode_logs(br#"{"resourceLogs": 5}"#, Encoding::Json).unwrap_err();
    assert!(e.to_string().starts_with("malformed JSON at line 1"), "{e}");
    let e = decode_traces(
        br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz"}]}]}]}"#,
        Encoding::Json,
    )
    .unwrap_err();
    assert!(e.to_string().contains("malformed JSON"), "{e}");
}

/// Found by fuzzing: bucket counts whose sum overflows a u64 are a rejection, not a panic.
#[test]
fn overflowing_bucket_counts_are_rejected() {
    let mut m = metrics_request();
    if let Some(mpb::metric::Data::Histogram(h)) =
        &mut m.resource_metrics[0].scope_metrics[0].metrics[2].data
    {
        h.data_points[0].bucket_counts = vec![u64::MAX, 1, 1];
    }
    if let Some(mpb::metric::Data::ExponentialHistogram(h)) =
        &mut m.resource_metrics[0].scope_metrics[0].metrics[3].data
    {
        h.data_points[0].zero_count = u64::MAX;
    }
    let conv = points_from_otlp(&m);
    assert_eq!(conv.rejected, 2, "{}", conv.error_message());
    assert!(conv.error_message().contains("does not equal"));
}
