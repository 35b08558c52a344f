//! Prometheus remote write (`POST /prometheus/api/v1/write`), through the router.

use axum::body::Body;
use axum::http::Request;
use heimsight_ingest::prometheus::proto::{
    Label, MetricMetadata, Sample, TimeSeries, WriteRequest,
};
use prost::Message as _;

use crate::util::*;

const WRITE: &str = "/prometheus/api/v1/write";

fn series(labels: &[(&str, &str)], samples: &[(i64, f64)]) -> TimeSeries {
    TimeSeries {
        labels: labels
            .iter()
            .map(|(n, v)| Label {
                name: n.to_string().into(),
                value: v.to_string().into(),
            })
            .collect(),
        samples: samples
            .iter()
            .map(|&(timestamp, value)| Sample { value, timestamp })
            .collect(),
        ..TimeSeries::default()
    }
}

fn snappy(req: &WriteRequest) -> Vec<u8> {
    snap::raw::Encoder::new()
        .compress_vec(&req.encode_to_vec())
        .unwrap()
}

/// A request as Prometheus sends it.
async fn write(app: &TestApp, body: Vec<u8>) -> Reply {
    let req = Request::post(WRITE)
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "snappy")
        .header("x-prometheus-remote-write-version", "0.1.0")
        .body(Body::from(body))
        .unwrap();
    app.request(req).await
}

/// Milliseconds of [`at`]`(secs)`.
fn ms(secs: i64) -> i64 {
    heimsight_core::Timestamp::parse(&at(secs)).unwrap().0 / 1_000_000
}

#[tokio::test]
async fn remote_write_stores_samples_and_metadata_and_answers_204() {
    let app = app();
    let req = WriteRequest {
        timeseries: vec![
            series(
                &[
                    ("__name__", "node_load1"),
                    ("instance", "a:9100"),
                    ("job", "node"),
                ],
                &[(ms(1), 0.5), (ms(2), 0.75)],
            ),
            series(
                &[
                    ("__name__", "node_load1"),
                    ("instance", "b:9100"),
                    ("job", "node"),
                ],
                &[(ms(1), 1.5)],
            ),
        ],
        metadata: vec![MetricMetadata {
            r#type: 2,
            metric_family_name: "node_load1".into(),
            help: "1m load average.".into(),
            unit: String::new(),
        }],
    };
    let r = write(&app, snappy(&req)).await;
    assert_eq!(r.status, 204, "{}", r.text);
    let r = app
        .get("/api/v1/metrics?name=node_load1&label=instance:a:9100")
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let points: Vec<f64> = r.json["series"][0]["points"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", r.text))
        .iter()
        .map(|p| p["value"].as_f64().unwrap())
        .collect();
    assert_eq!(points, [0.5, 0.75], "{}", r.text);
    assert_eq!(r.json["series"][0]["labels"]["job"], "node", "{}", r.text);
    let r = app.get("/api/v1/metrics?name=node_load1").await;
    assert_eq!(r.json["series"].as_array().unwrap().len(), 2, "{}", r.text);
    let meta = heimsight_ingest::prometheus::stored_metadata(&*app.store).unwrap();
    assert_eq!(meta[0].help, "1m load average.");
    let r = app.get("/api/v1/status").await;
    assert_eq!(r.json["ingest"]["metrics"]["total"], 3, "{}", r.text);
}

#[tokio::test]
async fn remote_write_refuses_bad_bodies_and_bad_series_with_reasons() {
    let app = app();
    // Not snappy.
    let r = write(&app, b"\xff\xff\xff\xff\xff".to_vec()).await;
    assert_client_error(&r, 400, &["malformed snappy"]);
    // Snappy, not a WriteRequest.
    let junk = snap::raw::Encoder::new().compress_vec(b"\x0a\xff").unwrap();
    let r = write(&app, junk).await;
    assert_client_error(&r, 400, &["WriteRequest"]);
    // Something else declared.
    let body = snappy(&WriteRequest::default());
    let req = Request::post(WRITE)
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "gzip")
        .body(Body::from(body.clone()))
        .unwrap();
    let r = app.request(req).await;
    assert_client_error(&r, 415, &["snappy"]);
    let req = Request::post(WRITE)
        .header(
            "content-type",
            "application/x-protobuf;proto=io.prometheus.write.v2.Request",
        )
        .header("content-encoding", "snappy")
        .body(Body::from(body))
        .unwrap();
    let r = app.request(req).await;
    assert_client_error(&r, 415, &["remote write 1.0"]);
    // A series without a name is refused by name; the good one is stored all the same.
    let req = WriteRequest {
        timeseries: vec![
            series(&[("job", "nameless")], &[(ms(1), 1.0)]),
            series(&[("__name__", "kept")], &[(ms(1), 2.0)]),
        ],
        metadata: vec![],
    };
    let r = write(&app, snappy(&req)).await;
    assert_client_error(
        &r,
        400,
        &["1 sample(s) refused, 1 stored", "timeseries[0]", "__name__"],
    );
    let r = app.get("/api/v1/metrics?name=kept").await;
    assert_eq!(r.json["series"].as_array().unwrap().len(), 1, "{}", r.text);
}

#[tokio::test]
async fn remote_write_bodies_over_the_limit_are_413() {
    let mut config = heimsight_server::ServerConfig::default();
    config.max_body_bytes = 1024;
    let app = app_with(config);
    // Compresses well below the limit, decompresses far above it.
    let many = vec![(ms(1), 1.0); 500];
    let req = WriteRequest {
        timeseries: vec![series(&[("__name__", "big")], &many)],
        metadata: vec![],
    };
    let body = snappy(&req);
    assert!(body.len() < 1024, "{} bytes", body.len());
    let r = write(&app, body).await;
    assert_client_error(&r, 413, &["decompress"]);
    let r = app.get("/api/v1/metrics?name=big").await;
    assert!(
        r.json["series"].as_array().unwrap().is_empty(),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn remote_write_refuses_other_values_and_old_samples_naming_the_series() {
    let app = app();
    let up = |samples: &[(i64, f64)]| WriteRequest {
        timeseries: vec![series(&[("__name__", "up"), ("job", "node")], samples)],
        metadata: vec![],
    };
    let r = write(&app, snappy(&up(&[(ms(1000), 1.0), (ms(2000), 1.0)]))).await;
    assert_eq!(r.status, 204, "{}", r.text);
    // Prometheus sends a batch again after a timeout: the exact duplicates are dropped silently.
    let r = write(&app, snappy(&up(&[(ms(1000), 1.0), (ms(2000), 1.0)]))).await;
    assert_eq!(r.status, 204, "{}", r.text);
    // Another value at a stored timestamp, and a sample far older than the window (10m).
    let r = write(
        &app,
        snappy(&up(&[
            (ms(2000), 0.0),
            (ms(2000 - 700), 1.0),
            (ms(2001), 1.0),
        ])),
    )
    .await;
    assert_client_error(
        &r,
        400,
        &[
            "2 sample(s) refused, 1 stored",
            "series up{job=\"node\"}",
            "duplicate sample",
            "too old",
        ],
    );
    let r = app.get("/api/v1/metrics?name=up").await;
    let points = r.json["series"][0]["points"].as_array().unwrap().len();
    assert_eq!(points, 3, "{}", r.text);
}
