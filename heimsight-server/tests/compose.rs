//! The server as pieces: route groups mounted alone or under a path, the exported layers on
//! routes of an application, access control per group, and the background work handle.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::post;
use heimsight_server::layers::{BodyLimitLayer, IngestBudgetLayer, RequestTracingLayer};
use heimsight_server::{ApiError, HeimsightServer, IngestBudget, RouteGroup, ServerConfig};
use heimsight_store::{MemoryStore, Store};
use serde_json::json;

use crate::util::*;

fn server_on(store: &Arc<dyn Store>) -> HeimsightServer {
    HeimsightServer::builder()
        .store(Arc::clone(store))
        .build()
        .unwrap()
}

fn with_router(server: HeimsightServer, store: Arc<dyn Store>, router: Router) -> TestApp {
    TestApp {
        server,
        router,
        store,
    }
}

fn header<'a>(r: &'a axum::http::Response<Body>, name: &str) -> &'a str {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap())
        .unwrap_or("")
}

async fn raw(router: &Router, req: Request<Body>) -> axum::http::Response<Body> {
    use tower::ServiceExt;
    router.clone().oneshot(req).await.unwrap()
}

#[tokio::test]
async fn ingest_and_read_groups_mount_alone_next_to_an_apps_routes() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let server = server_on(&store);
    let router = Router::new()
        .route("/mine", axum::routing::get(|| async { "the app's own" }))
        .merge(server.ingest_routes())
        .merge(server.read_routes());
    let app = with_router(server, store, router);

    // GET and POST of /api/v1/logs come from two groups and share the path.
    let r = app
        .post(
            "/api/v1/logs",
            &json!({"message": "hello", "service": "api"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = app.get("/api/v1/logs").await;
    assert_eq!(r.json["logs"][0]["message"], "hello");
    let r = app
        .send(
            "POST",
            "/v1/logs",
            Some("application/json"),
            r#"{"resourceLogs": []}"#,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app.get("/mine").await;
    assert_eq!(r.text, "the app's own");
    // The admin group and the UI were not mounted.
    assert_eq!(app.get("/api/v1/retention").await.status, 404);
    assert_eq!(app.get("/ui/logs").await.status, 404);
    // Only the ingest group writes: POST /api/v1/query is read, PUT retention is admin.
    let r = app
        .post(
            "/api/v1/query",
            &json!({"query": "SELECT count(*) FROM logs"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn the_ui_lives_under_any_path_with_its_links_and_redirects() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let server = server_on(&store);
    let router = Router::new()
        .nest_service("/observability", server.ui_routes())
        .merge(server.ingest_routes());
    let app = with_router(server, store, router);
    app.post(
        "/api/v1/logs",
        &json!({"message": "mounted elsewhere", "service": "api"}),
    )
    .await;

    let r = app.get("/observability/logs").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        r.text.contains(r#"<base href="/observability/">"#),
        "{}",
        r.text
    );
    assert!(r.text.contains("mounted elsewhere"));
    // Every link and form of the page is relative to the base, none absolute.
    let page = r.text.replace(r#"<base href="/observability/">"#, "");
    assert!(!page.contains(r#"href="/"#), "absolute link in {page}");
    assert!(!page.contains(r#"action="/"#), "absolute form in {page}");
    assert!(
        !page.contains(r#"hx-get="/"#),
        "absolute htmx URL in {page}"
    );
    assert!(r.text.contains(r#"href="static/app.css""#));

    let res = raw(
        &app.router,
        Request::get("/observability/").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(header(&res, "location"), "/observability/logs");
    let res = raw(
        &app.router,
        Request::get("/observability").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(header(&res, "location"), "/observability/logs");
    // A whole SELECT in the logs search box goes to the query page, under the mount point.
    let res = raw(
        &app.router,
        Request::get("/observability/logs?q=SELECT%20count(*)%20FROM%20logs")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = header(&res, "location");
    assert!(to.starts_with("/observability/query?"), "{to}");

    // An unknown page of the UI is an HTML page, not the API's JSON.
    let res = raw(
        &app.router,
        Request::get("/observability/nope")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(header(&res, "content-type").starts_with("text/html"));
    let body = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    let body = String::from_utf8_lossy(&body);
    assert!(body.contains("There is no page"), "{body}");
    assert!(body.contains(r#"<base href="/observability/">"#), "{body}");
}

#[tokio::test]
async fn the_reference_router_nested_keeps_its_ui_under_the_prefix() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let server = server_on(&store);
    let router = Router::new().nest_service("/heimsight", server.router());
    let app = with_router(server, store, router);

    for path in ["/heimsight", "/heimsight/"] {
        let res = raw(&app.router, Request::get(path).body(Body::empty()).unwrap()).await;
        assert!(res.status().is_redirection(), "{path}: {}", res.status());
        assert_eq!(header(&res, "location"), "/heimsight/ui/", "{path}");
    }
    let res = raw(
        &app.router,
        Request::get("/heimsight/ui/").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(header(&res, "location"), "/heimsight/ui/logs");
    let r = app.get("/heimsight/ui/traces").await;
    assert_eq!(r.status, 200);
    assert!(r.text.contains(r#"<base href="/heimsight/ui/">"#));
    let r = app.get("/heimsight/ui/no-such-page").await;
    assert_eq!(r.status, 404);
    assert!(r.text.contains("There is no page"), "{}", r.text);
    // Outside the UI, unknown paths still get the API's JSON.
    let r = app.get("/heimsight/api/v1/nope").await;
    assert_eq!(r.status, 404);
    assert!(r.error().contains("no endpoint GET"), "{}", r.text);
}

#[tokio::test]
async fn access_control_decides_per_route_group() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let server = HeimsightServer::builder()
        .store(Arc::clone(&store))
        .access_control(
            |group: RouteGroup, req: &axum::http::request::Parts| -> Result<(), ApiError> {
                let token = req
                    .headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok());
                match (group, token) {
                    (_, Some("Bearer admin")) => Ok(()),
                    (RouteGroup::Ingest, Some("Bearer writer")) => Ok(()),
                    (RouteGroup::Read, None | Some("Bearer writer")) => Ok(()),
                    (_, None) => Err(ApiError::Unauthorized("no token".into())),
                    (group, Some(_)) => Err(ApiError::Forbidden(format!("not for {group}"))),
                }
            },
        )
        .build()
        .unwrap();
    let app = with_router(server.clone(), store, server.router());
    let with = |method: &str, uri: &str, token: Option<&str>, body: &str| {
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "application/json");
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        req.body(Body::from(body.to_string())).unwrap()
    };
    let log = r#"{"message": "m"}"#;
    let r = app.request(with("POST", "/api/v1/logs", None, log)).await;
    assert_client_error(&r, 401, &["no token"]);
    let r = app
        .request(with("POST", "/api/v1/logs", Some("writer"), log))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = app
        .request(with("POST", "/v1/logs", None, r#"{"resourceLogs": []}"#))
        .await;
    assert_eq!(r.status, 401, "OTLP/HTTP is ingest too: {}", r.text);
    let r = app.request(with("GET", "/api/v1/logs", None, "")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["logs"][0]["message"], "m");
    let r = app
        .request(with("GET", "/api/v1/logs", Some("nobody"), ""))
        .await;
    assert_client_error(&r, 403, &["not for read"]);
    // Health checks are never asked about, whatever the policy.
    let r = app
        .request(with("GET", "/health", Some("nobody"), ""))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app
        .request(with("GET", "/api/v1/retention", Some("writer"), ""))
        .await;
    assert_client_error(&r, 403, &["not for admin"]);
    let r = app
        .request(with("GET", "/api/v1/retention", Some("admin"), ""))
        .await;
    assert_eq!(r.status, 200);
    let r = app.request(with("GET", "/ui/logs", None, "")).await;
    assert_eq!(r.status, 401, "the UI is a group of its own");
    let r = app
        .request(with("GET", "/ui/logs", Some("admin"), ""))
        .await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn the_exported_layers_guard_an_apps_own_routes() {
    // An application's own ingestion endpoint with Heimsight's budget and limits.
    let budget = IngestBudget::new(100);
    let router = Router::new()
        .route(
            "/mine",
            post(|body: axum::body::Bytes| async move { format!("{} bytes", body.len()) }),
        )
        .layer(BodyLimitLayer::new(64))
        .layer(IngestBudgetLayer::new(budget.clone(), 64))
        .layer(RequestTracingLayer::new());
    let post_bytes = |n: usize| {
        Request::post("/mine")
            .header("content-length", n.to_string())
            .body(Body::from(vec![b'x'; n]))
            .unwrap()
    };
    let res = raw(&router, post_bytes(10)).await;
    assert_eq!(res.status(), 200);
    // Over the body limit: 413 in the API's JSON shape.
    let res = raw(&router, post_bytes(65)).await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(
        json["error"].as_str().unwrap().contains("64 bytes"),
        "{json}"
    );
    // The budget in use elsewhere: 429 with Retry-After, at once.
    let held = budget.try_reserve(90).unwrap();
    let res = raw(&router, post_bytes(20)).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&res, "retry-after"), "1");
    drop(held);
    let res = raw(&router, post_bytes(20)).await;
    assert_eq!(res.status(), 200);
    assert_eq!(budget.available(), 100, "the permit is given back");
}

#[tokio::test]
async fn spawned_background_work_enforces_retention_and_evaluates_rules() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let config = ServerConfig::default()
        .with_retention_check_interval("100ms".parse().unwrap())
        .with_retention(
            heimsight_server::RetentionConfig::default().with_logs("1h".parse().unwrap()),
        );
    let server = HeimsightServer::builder()
        .store(Arc::clone(&store))
        .config(config)
        .alerting(heimsight_alert::ManagerConfig::default().with_tick(Duration::from_millis(100)))
        .build()
        .unwrap();
    let app = with_router(server.clone(), Arc::clone(&store), server.router());
    let now = heimsight_core::Timestamp::now().0;
    let old = heimsight_core::Timestamp(now - 3 * 3600 * SEC).to_rfc3339();
    let r = app
        .post(
            "/api/v1/logs",
            &json!([
                {"timestamp": old, "message": "old", "service": "api"},
                {"message": "new", "service": "api", "level": "error"},
            ]),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = app
        .post(
            "/api/v1/alerts/rules",
            &json!({
                "name": "Errors", "kind": "log_pattern", "filter": "level = 'error'",
                "condition": {"op": ">", "threshold": 0}, "window": "1h",
                "interval": "1s", "for": "0s",
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    // Nothing runs until the background work does.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        app.get("/api/v1/logs").await.json["logs"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let background = server.spawn_background();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let logs = app.get("/api/v1/logs").await.json["logs"].clone();
        let alerts = app.get("/api/v1/alerts").await.json["alerts"].clone();
        let firing = alerts
            .as_array()
            .is_some_and(|a| a.iter().any(|a| a["state"] == "firing"));
        if logs.as_array().unwrap().len() == 1 && firing {
            assert_eq!(logs[0]["message"], "new");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "retention or alerting did not run: logs {logs}, alerts {alerts}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    background.shutdown().await.unwrap();
}
