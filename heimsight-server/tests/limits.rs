//! Rate limits (`[rate_limit]`): per client (key, else address) on requests and ingested
//! bytes, a key's own limits over the defaults; 429 with `Retry-After`, gRPC `UNAVAILABLE`.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use heimsight_core::api::{KeyLimits, KeySpec, Scope};
use heimsight_server::{HeimsightServer, ServerConfig};
use heimsight_store::MemoryStore;
use serde_json::json;
use tower::ServiceExt;

use crate::util::{Reply, TestApp, app_of, app_with};

async fn get_with(app: &TestApp, key: Option<&str>) -> Reply {
    let mut req = Request::get("/api/v1/logs");
    if let Some(k) = key {
        req = req.header("x-api-key", k);
    }
    app.request(req.body(Body::empty()).unwrap()).await
}

#[tokio::test]
async fn requests_over_the_rate_get_429_with_retry_after() {
    let mut config = ServerConfig::default();
    config.rate_limit.requests_per_second = Some(2.0);
    let app = app_with(config);
    assert_eq!(get_with(&app, None).await.status, StatusCode::OK);
    assert_eq!(get_with(&app, None).await.status, StatusCode::OK);
    let res = app
        .router
        .clone()
        .oneshot(Request::get("/api/v1/logs").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    let metrics = app.get("/metrics").await.text;
    assert!(
        metrics
            .contains(r#"heimsight_rate_limited_requests_total{group="read",reason="requests"} 1"#),
        "{metrics}"
    );
    // /health is never limited.
    assert_eq!(app.get("/health").await.status, StatusCode::OK);
}

#[tokio::test]
async fn each_key_has_its_own_buckets_and_may_have_its_own_limits() {
    let mut config = ServerConfig::default();
    config.auth.enabled = true;
    config.rate_limit.requests_per_second = Some(1.0);
    let server = HeimsightServer::builder()
        .store(Arc::new(MemoryStore::new()))
        .config(config)
        .build()
        .unwrap();
    let make = |name: &str, limits: Option<KeyLimits>| {
        server
            .api_keys()
            .create(&KeySpec {
                name: name.into(),
                scopes: vec![Scope::Read],
                expires_at: None,
                limits,
            })
            .unwrap()
            .key
    };
    let plain = make("plain", None);
    let other = make("other", None);
    let generous = make(
        "generous",
        Some(KeyLimits {
            requests_per_second: Some(100.0),
            ingest_bytes_per_second: None,
        }),
    );
    let app = app_of(server);
    assert_eq!(get_with(&app, Some(&plain)).await.status, StatusCode::OK);
    let r = get_with(&app, Some(&plain)).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    assert!(r.error().contains("requests limit"), "{}", r.text);
    // Another key is not affected; a key's own limit overrides the default.
    assert_eq!(get_with(&app, Some(&other)).await.status, StatusCode::OK);
    for _ in 0..5 {
        assert_eq!(get_with(&app, Some(&generous)).await.status, StatusCode::OK);
    }
    // A request refused by access control takes no tokens.
    assert_eq!(get_with(&app, None).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn ingested_bytes_over_the_rate_are_refused_and_nothing_before_is_lost() {
    let mut config = ServerConfig::default();
    config.max_body_bytes = 2_000;
    config.rate_limit.ingest_bytes_per_second = Some(1_000);
    let app = app_with(config);
    let body = json!([{"message": "x".repeat(800), "service": "api"}]);
    assert_eq!(
        app.post("/api/v1/logs", &body).await.status,
        StatusCode::CREATED
    );
    assert_eq!(
        app.post("/api/v1/logs", &body).await.status,
        StatusCode::CREATED
    );
    let r = app.post("/api/v1/logs", &body).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    assert!(r.error().contains("ingest bytes"), "{}", r.text);
    let stored = app.get("/api/v1/logs").await;
    assert_eq!(stored.json["total"], 2, "{}", stored.text);
}

#[tokio::test]
async fn otlp_grpc_over_the_rate_is_unavailable() {
    let mut config = ServerConfig::default();
    config.rate_limit.requests_per_second = Some(1.0);
    let app = app_with(config);
    let call = || async {
        let req = Request::post("/opentelemetry.proto.collector.logs.v1.LogsService/Export")
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .body(Body::from(vec![0u8, 0, 0, 0, 0]))
            .unwrap();
        let res = app.server.otlp_grpc_routes().oneshot(req).await.unwrap();
        tonic::Status::from_header_map(res.headers())
    };
    let first = call().await;
    assert!(first.is_none() || first.as_ref().is_some_and(|s| s.code() == tonic::Code::Ok));
    let second = call().await.expect("a refusal");
    assert_eq!(second.code(), tonic::Code::Unavailable, "{second:?}");
    assert!(second.message().contains("rate limit"), "{second:?}");
    assert!(!second.details().is_empty(), "RetryInfo is in the details");
}

/// Without any default limit, a key made after the start with limits of its own is held to
/// them (the buckets are in front of every request as soon as keys are in use).
#[tokio::test]
async fn a_key_made_later_with_its_own_limits_is_held_to_them() {
    let mut config = ServerConfig::default();
    config.auth.enabled = true;
    let app = app_of(
        HeimsightServer::builder()
            .store(Arc::new(MemoryStore::new()))
            .config(config)
            .build()
            .unwrap(),
    );
    let key = app
        .server
        .api_keys()
        .create(&KeySpec {
            name: "slow".into(),
            scopes: vec![Scope::Read],
            expires_at: None,
            limits: Some(KeyLimits {
                requests_per_second: Some(1.0),
                ingest_bytes_per_second: None,
            }),
        })
        .unwrap()
        .key;
    assert_eq!(get_with(&app, Some(&key)).await.status, StatusCode::OK);
    assert_eq!(
        get_with(&app, Some(&key)).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
}
