//! `GET /metrics`: the server's own metrics in the OpenMetrics text Prometheus scrapes.

use axum::http::StatusCode;
use heimsight_server::ServerConfig;
use serde_json::json;

use crate::util::{app, app_of, app_with};

/// The value of the sample `name{labels}` (labels as written, in order), if present.
pub(crate) fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test]
async fn metrics_count_ingestion_requests_and_show_the_store_and_the_process() {
    let app = app();
    let r = app
        .post(
            "/api/v1/logs",
            &json!([
                {"message": "a", "service": "api"},
                {"message": "b", "service": "api"},
                {"message": "", "service": "api"}
            ]),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = app
        .send(
            "POST",
            "/v1/logs",
            Some("application/json"),
            json!({"resourceLogs": [{"scopeLogs": [{"logRecords": [
                {"timeUnixNano": "1767225600000000000", "body": {"stringValue": "otlp"}}]}]}]})
            .to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    app.get("/api/v1/logs?limit=1").await;
    // Methods the client makes up are one series, not one each.
    for m in ["FOO1", "FOO2"] {
        app.send(m, "/v1/logs", None, "").await;
    }

    let res = app.get("/metrics").await;
    assert_eq!(res.status, StatusCode::OK);
    let text = res.text;
    assert!(text.ends_with("# EOF\n"), "{text}");
    let value =
        |series: &str| sample(&text, series).unwrap_or_else(|| panic!("no {series} in:\n{text}"));
    assert_eq!(
        value(r#"heimsight_ingested_records_total{signal="logs",protocol="json"}"#),
        2.0
    );
    assert_eq!(
        value(r#"heimsight_rejected_records_total{signal="logs",reason="invalid"}"#),
        1.0
    );
    assert_eq!(
        value(r#"heimsight_ingested_records_total{signal="logs",protocol="otlp_http"}"#),
        1.0
    );
    assert!(value(r#"heimsight_ingested_bytes_total{signal="logs",protocol="json"}"#) > 50.0);
    assert_eq!(
        value(
            r#"heimsight_http_requests_total{group="ingest",method="POST",route="/api/v1/logs",status="400"}"#
        ),
        1.0
    );
    assert_eq!(
        value(
            r#"heimsight_http_requests_total{group="read",method="GET",route="/api/v1/logs",status="200"}"#
        ),
        1.0
    );
    assert_eq!(
        value(
            r#"heimsight_http_request_duration_seconds_count{group="read",route="/api/v1/logs"}"#
        ),
        1.0
    );
    assert_eq!(value(r#"heimsight_stored_records{signal="logs"}"#), 3.0);
    assert!(!text.contains("FOO1"), "{text}");
    assert!(value("heimsight_process_resident_memory_bytes") > 1e6);
    assert!(value("heimsight_process_open_fds") > 2.0);
    assert!(
        text.contains("# TYPE heimsight_process_cpu_seconds counter"),
        "{text}"
    );
    assert!(text.contains("# TYPE heimsight_http_request_duration_seconds histogram"));
}

#[tokio::test]
async fn metrics_are_public_by_default_and_count_refusals() {
    let mut config = ServerConfig::default();
    config.auth.enabled = true;
    let app = app_with(config.clone());
    assert_eq!(
        app.get("/api/v1/logs").await.status,
        StatusCode::UNAUTHORIZED
    );
    // A browser sent to the sign-in page is a refusal too.
    assert_eq!(app.get("/ui/logs").await.status, StatusCode::SEE_OTHER);
    let r = app.get("/metrics").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    for group in ["read", "ui"] {
        let series =
            format!(r#"heimsight_auth_failures_total{{group="{group}",reason="unauthenticated"}}"#);
        assert_eq!(sample(&r.text, &series), Some(1.0), "{series}: {}", r.text);
    }
    // `auth.metrics_public = false`: a read key is needed.
    config.auth.metrics_public = false;
    let app = app_of(
        heimsight_server::HeimsightServer::builder()
            .store(std::sync::Arc::new(heimsight_store::MemoryStore::new()))
            .config(config)
            .admin_key("metrics-test-admin-key")
            .build()
            .unwrap(),
    );
    assert_eq!(app.get("/metrics").await.status, StatusCode::UNAUTHORIZED);
    let read = app
        .server
        .api_keys()
        .create(&heimsight_core::api::KeySpec {
            name: "prometheus".into(),
            scopes: vec![heimsight_core::api::Scope::Read],
            ..Default::default()
        })
        .unwrap()
        .key;
    let r = app
        .request(
            axum::http::Request::get("/metrics")
                .header("authorization", format!("Bearer {read}"))
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

/// Queries (ok and refused, timed, rows scanned), retention deletes and the store's background
/// work are counted.
#[tokio::test]
async fn metrics_count_queries_retention_deletes_and_store_work() {
    let app = app();
    let month_ago = heimsight_core::Timestamp::now()
        .saturating_add(-30 * 86_400 * 1_000_000_000)
        .to_rfc3339();
    let r = app
        .post(
            "/api/v1/logs",
            &json!([
                {"message": "old", "service": "api", "timestamp": month_ago},
                {"message": "new", "service": "api"},
                {"message": "newer", "service": "api"}
            ]),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = app
        .get("/api/v1/query?query=SELECT%20message%20FROM%20logs&start=now-60d")
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = app.get("/api/v1/query?query=SELEKT%20nothing").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    // The month-old record is past the default 7 days of logs.
    assert_eq!(app.server.enforce_retention().await.unwrap(), 1);

    let text = app.get("/metrics").await.text;
    let value =
        |series: &str| sample(&text, series).unwrap_or_else(|| panic!("no {series} in:\n{text}"));
    assert_eq!(value(r#"heimsight_queries_total{result="ok"}"#), 1.0);
    assert_eq!(value(r#"heimsight_queries_total{result="error"}"#), 1.0);
    assert_eq!(
        value(r#"heimsight_query_duration_seconds_count{result="ok"}"#),
        1.0
    );
    assert!(value("heimsight_query_rows_scanned_total") >= 3.0);
    assert_eq!(
        value(r#"heimsight_retention_deleted_records_total{signal="logs"}"#),
        1.0
    );
    // The memory store does no background work, but the series are there from the start.
    assert_eq!(
        value(r#"heimsight_store_background_work_total{work="log_merges"}"#),
        0.0
    );
    assert_eq!(
        value(r#"heimsight_store_background_running{work="compactions"}"#),
        0.0
    );
}
