//! API keys with `auth.enabled`: every route of every group refuses a missing, unknown or
//! revoked key (401 with `WWW-Authenticate`), refuses a key without the scope it needs (403
//! naming it), and lets the right scope through; OTLP/gRPC answers with gRPC statuses.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use heimsight_server::{HeimsightServer, ServerConfig};
use heimsight_store::MemoryStore;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::util::{Reply, TRACE, TestApp, app_of};

/// The administrator key of the environment (`HEIMSIGHT_ADMIN_KEY`).
const BOOTSTRAP: &str = "test-bootstrap-admin-key-0123456789";

fn secured() -> TestApp {
    let mut config = ServerConfig::default();
    config.auth.enabled = true;
    let server = HeimsightServer::builder()
        .store(Arc::new(MemoryStore::new()))
        .config(config)
        .admin_key(BOOTSTRAP)
        .build()
        .unwrap();
    app_of(server)
}

/// A request with the administrator key of the environment.
async fn as_admin(app: &TestApp, method: &str, uri: &str, body: &Value) -> Reply {
    call(app, method, uri, Presented::Bearer(BOOTSTRAP), body).await
}

/// The status of `GET uri` with `key`.
async fn get_status(app: &TestApp, uri: &str, key: &str) -> StatusCode {
    call(app, "GET", uri, Presented::Bearer(key), &Value::Null)
        .await
        .status
}

/// How a request presents its key.
#[derive(Clone, Copy)]
enum Presented<'a> {
    None,
    Bearer(&'a str),
    Header(&'a str),
    Basic(&'a str),
}

async fn call(app: &TestApp, method: &str, uri: &str, key: Presented<'_>, body: &Value) -> Reply {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json");
    req = match key {
        Presented::None => req,
        Presented::Bearer(k) => req.header("authorization", format!("Bearer {k}")),
        Presented::Header(k) => req.header("x-api-key", k),
        Presented::Basic(k) => {
            use base64::Engine as _;
            let token = base64::engine::general_purpose::STANDARD.encode(format!("grafana:{k}"));
            req.header("authorization", format!("Basic {token}"))
        }
    };
    let body = if body.is_null() {
        Body::empty()
    } else {
        Body::from(body.to_string())
    };
    app.request(req.body(body).unwrap()).await
}

async fn make_key(app: &TestApp, name: &str, scopes: &[&str]) -> (String, String) {
    let r = as_admin(
        app,
        "POST",
        "/api/v1/keys",
        &json!({"name": name, "scopes": scopes}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let key = r.json["key"].as_str().unwrap().to_string();
    assert!(key.starts_with("hsk_") && key.len() > 60, "{key}");
    (r.json["id"].as_str().unwrap().to_string(), key)
}

/// Every route of the REST API, OTLP/HTTP and the UI, with the scope it needs. A route added
/// to a group is protected by the group's layer; one added outside the groups would answer
/// here without a key.
fn routes() -> Vec<(&'static str, String, &'static str)> {
    let mut r: Vec<(&str, String, &str)> = vec![
        ("POST", "/api/v1/logs".into(), "ingest"),
        ("POST", "/api/v1/metrics".into(), "ingest"),
        ("POST", "/api/v1/traces".into(), "ingest"),
        ("POST", "/v1/logs".into(), "ingest"),
        ("POST", "/v1/traces".into(), "ingest"),
        ("POST", "/v1/metrics".into(), "ingest"),
        ("GET", "/api/v1/logs".into(), "read"),
        ("GET", "/api/v1/metrics?name=cpu".into(), "read"),
        ("GET", "/api/v1/metrics/names".into(), "read"),
        ("GET", "/api/v1/traces".into(), "read"),
        ("GET", format!("/api/v1/traces/{TRACE}"), "read"),
        ("GET", "/api/v1/stats".into(), "read"),
        ("GET", "/api/v1/status".into(), "read"),
        (
            "GET",
            "/api/v1/query?q=SELECT%20count(*)%20FROM%20logs".into(),
            "read",
        ),
        ("POST", "/api/v1/query".into(), "read"),
        ("GET", "/api/v1/openapi.json".into(), "read"),
        ("GET", "/api/v1/retention".into(), "read"),
        ("PUT", "/api/v1/retention".into(), "admin"),
        ("GET", "/api/v1/dashboards".into(), "read"),
        ("POST", "/api/v1/dashboards".into(), "admin"),
        ("GET", "/api/v1/dashboards/x".into(), "read"),
        ("PUT", "/api/v1/dashboards/x".into(), "admin"),
        ("DELETE", "/api/v1/dashboards/x".into(), "admin"),
        ("GET", "/api/v1/keys".into(), "admin"),
        ("POST", "/api/v1/keys".into(), "admin"),
        ("DELETE", "/api/v1/keys/x".into(), "admin"),
        ("GET", "/api/v1/alerts".into(), "read"),
        ("GET", "/api/v1/alerts/history".into(), "read"),
        ("GET", "/api/v1/alerts/rules".into(), "read"),
        ("POST", "/api/v1/alerts/rules".into(), "admin"),
        ("POST", "/api/v1/alerts/rules/preview".into(), "admin"),
        ("GET", "/api/v1/alerts/rules/x".into(), "read"),
        ("PUT", "/api/v1/alerts/rules/x".into(), "admin"),
        ("DELETE", "/api/v1/alerts/rules/x".into(), "admin"),
        ("GET", "/api/v1/silences".into(), "read"),
        ("POST", "/api/v1/silences".into(), "admin"),
        ("GET", "/api/v1/silences/x".into(), "read"),
        ("DELETE", "/api/v1/silences/x".into(), "admin"),
        ("GET", "/api/v1/notifications/channels".into(), "read"),
        ("POST", "/api/v1/notifications/channels".into(), "admin"),
        ("GET", "/api/v1/notifications/channels/x".into(), "read"),
        ("PUT", "/api/v1/notifications/channels/x".into(), "admin"),
        ("DELETE", "/api/v1/notifications/channels/x".into(), "admin"),
        (
            "POST",
            "/api/v1/notifications/channels/x/test".into(),
            "admin",
        ),
    ];
    for page in [
        "/ui/",
        "/ui/logs",
        "/ui/traces",
        "/ui/metrics",
        "/ui/query",
        "/ui/alerts",
        "/ui/alerts/new",
        "/ui/status",
    ] {
        r.push(("GET", page.into(), "read"));
    }
    for form in [
        "/ui/alerts/new",
        "/ui/alerts/preview",
        "/ui/alerts/silences",
        "/ui/alerts/channels",
        "/ui/metrics/dashboards",
        "/ui/alerts/rules/x/delete",
    ] {
        r.push(("POST", form.into(), "admin"));
    }
    r
}

/// The table above holds every `/api/v1/` route the router has (found in the router itself),
/// so a route added later is checked too.
#[tokio::test]
async fn the_route_table_has_every_api_route() {
    let app = crate::util::app();
    let table = routes();
    let matches = |template: &str, path: &str| {
        let path = path.split('?').next().unwrap();
        let (t, p): (Vec<&str>, Vec<&str>) =
            (template.split('/').collect(), path.split('/').collect());
        t.len() == p.len() && t.iter().zip(&p).all(|(t, p)| t.starts_with('{') || t == p)
    };
    let mut missing = Vec::new();
    for template in crate::openapi::router_paths(&app) {
        for method in crate::openapi::router_methods(&app, &template).await {
            let method = method.to_uppercase();
            if !table
                .iter()
                .any(|(m, p, _)| *m == method && matches(&template, p))
            {
                missing.push(format!("{method} {template}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "routes not in the auth test's table: {missing:?}"
    );
}

#[tokio::test]
async fn every_route_needs_a_key_with_the_right_scope() {
    let app = secured();
    let (_, ingest) = make_key(&app, "collector", &["ingest"]).await;
    let (_, read) = make_key(&app, "grafana", &["read"]).await;
    let (_, admin) = make_key(&app, "ops", &["admin"]).await;
    let unknown = format!("hsk_{}_{}", "0".repeat(12), "0".repeat(64));
    // Every weaker key: admin needs more than read and more than ingest.
    let lacking = |scope: &str| match scope {
        "ingest" => vec![read.clone()],
        "read" => vec![ingest.clone()],
        _ => vec![ingest.clone(), read.clone()],
    };
    let having = |scope: &str| match scope {
        "ingest" => ingest.as_str(),
        "read" => read.as_str(),
        _ => admin.as_str(),
    };
    for (method, path, scope) in routes() {
        let body = json!({});
        // Refused without a key, or with an unknown one: 401 with both challenges, or for
        // the UI's pages a redirect to its sign-in page.
        let page = method == "GET" && path.starts_with("/ui/");
        for key in [None, Some(unknown.as_str())] {
            let mut req = Request::builder().method(method).uri(&path);
            if let Some(k) = key {
                req = req.header("authorization", format!("Bearer {k}"));
            }
            let res = app
                .router
                .clone()
                .oneshot(req.body(Body::from(body.to_string())).unwrap())
                .await
                .unwrap();
            if page {
                assert_eq!(
                    res.status(),
                    StatusCode::SEE_OTHER,
                    "{method} {path} {key:?}"
                );
                let to = res.headers()["location"].to_str().unwrap();
                assert!(to.starts_with("/ui/login?next="), "{method} {path}: {to}");
            } else {
                assert_eq!(
                    res.status(),
                    StatusCode::UNAUTHORIZED,
                    "{method} {path} {key:?}"
                );
                let challenges: Vec<_> = res.headers().get_all("www-authenticate").iter().collect();
                assert_eq!(challenges.len(), 2, "{method} {path}: {challenges:?}");
            }
        }
        for weaker in lacking(scope) {
            let r = call(&app, method, &path, Presented::Bearer(&weaker), &body).await;
            assert_eq!(
                r.status,
                StatusCode::FORBIDDEN,
                "{method} {path} without {scope}: {}",
                r.text
            );
            assert!(
                r.error().contains(&format!("`{scope}` scope")),
                "{}",
                r.text
            );
        }
        for key in [having(scope), admin.as_str(), BOOTSTRAP] {
            let r = call(&app, method, &path, Presented::Bearer(key), &body).await;
            assert!(
                r.status != StatusCode::UNAUTHORIZED && r.status != StatusCode::FORBIDDEN,
                "{method} {path} with {scope}: {} {}",
                r.status,
                r.text
            );
        }
    }
    // /health stays open, for load balancers and probes.
    let r = call(&app, "GET", "/health", Presented::None, &Value::Null).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

#[tokio::test]
async fn keys_are_taken_in_every_form_and_revoked_at_once() {
    let app = secured();
    let (id, key) = make_key(&app, "shipper", &["ingest", "read"]).await;
    // A malformed basic header does not hide an X-Api-Key beside it.
    let r = app
        .request(
            Request::get("/api/v1/logs")
                .header("authorization", "Basic !!!")
                .header("x-api-key", &key)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    for presented in [
        Presented::Bearer(&key),
        Presented::Header(&key),
        Presented::Basic(&key),
    ] {
        let r = call(&app, "GET", "/api/v1/logs", presented, &Value::Null).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    // Listing shows the key, never its secret; its last use is recorded.
    let r = as_admin(&app, "GET", "/api/v1/keys", &Value::Null).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(!r.text.contains(&key[20..]), "{}", r.text);
    let listed = r.json["keys"].as_array().unwrap();
    let me = listed.iter().find(|k| k["id"] == id.as_str()).unwrap();
    assert_eq!(me["scopes"], json!(["ingest", "read"]));
    assert!(me["last_used_at"].is_string(), "{me}");
    assert!(me.get("key").is_none());
    // Nor is the secret in the store.
    let stored = app.store.meta_list("auth.keys").unwrap();
    assert!(
        stored
            .iter()
            .all(|(_, v)| !String::from_utf8_lossy(v).contains(&key[20..]))
    );

    let r = as_admin(&app, "DELETE", &format!("/api/v1/keys/{id}"), &Value::Null).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(
        get_status(&app, "/api/v1/logs", &key).await,
        StatusCode::UNAUTHORIZED,
        "revoked"
    );
    let r = as_admin(&app, "DELETE", &format!("/api/v1/keys/{id}"), &Value::Null).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // A key that expires works until then, not after; one expiring in the past is refused
    // when made. Bad bodies name their fields.
    let soon = heimsight_core::Timestamp::now().saturating_add(3_600_000_000_000);
    let made = app
        .server
        .api_keys()
        .create(&heimsight_core::api::KeySpec {
            name: "short-lived".into(),
            scopes: vec![heimsight_core::api::Scope::Read],
            expires_at: Some(soon),
            limits: None,
        })
        .unwrap();
    assert_eq!(
        get_status(&app, "/api/v1/logs", &made.key).await,
        StatusCode::OK
    );
    let keys = app.server.api_keys();
    assert!(
        keys.authenticate(&made.key, soon.saturating_add(-1))
            .is_some()
    );
    assert!(keys.authenticate(&made.key, soon).is_none(), "expired");
    let r = as_admin(
        &app,
        "POST",
        "/api/v1/keys",
        &json!({"name": "old", "scopes": ["read"], "expires_at": "2020-01-01T00:00:00Z"}),
    )
    .await;
    crate::util::assert_client_error(&r, 400, &["expires_at", "in the past"]);
    let r = as_admin(
        &app,
        "POST",
        "/api/v1/keys",
        &json!({"scopes": ["root"], "expires_at": "soon"}),
    )
    .await;
    crate::util::assert_client_error(&r, 400, &["name", "scopes[0]", "expires_at"]);
}

#[tokio::test]
async fn keys_survive_a_restart_and_auth_is_off_by_default() {
    let app = secured();
    let (_, key) = make_key(&app, "collector", &["ingest"]).await;
    // A second server over the same store (a restart) knows the key.
    let mut config = ServerConfig::default();
    config.auth.enabled = true;
    let again = app_of(
        HeimsightServer::builder()
            .store(Arc::clone(&app.store))
            .config(config)
            .build()
            .unwrap(),
    );
    let r = call(
        &again,
        "POST",
        "/api/v1/logs",
        Presented::Bearer(&key),
        &json!({"message": "m", "service": "api"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    // Without the setting, nothing needs a key.
    let open = crate::util::app();
    let r = call(&open, "GET", "/api/v1/logs", Presented::None, &Value::Null).await;
    assert_eq!(r.status, StatusCode::OK);
}

/// OTLP/gRPC reads the key from the call's metadata and answers with gRPC statuses.
#[tokio::test]
async fn otlp_grpc_needs_an_ingest_key() {
    let app = secured();
    let (_, ingest) = make_key(&app, "collector", &["ingest"]).await;
    let (_, read) = make_key(&app, "grafana", &["read"]).await;
    let grpc = |key: Option<String>| {
        let routes = app.server.otlp_grpc_routes();
        async move {
            let mut req =
                Request::post("/opentelemetry.proto.collector.logs.v1.LogsService/Export")
                    .header("content-type", "application/grpc")
                    .header("te", "trailers");
            if let Some(k) = key {
                req = req.header("authorization", format!("Bearer {k}"));
            }
            // An empty ExportLogsServiceRequest: one frame of zero bytes.
            let res = routes
                .oneshot(req.body(Body::from(vec![0u8, 0, 0, 0, 0])).unwrap())
                .await
                .unwrap();
            tonic::Status::from_header_map(res.headers()).map(|s| s.code())
        }
    };
    assert_eq!(grpc(None).await, Some(tonic::Code::Unauthenticated));
    assert_eq!(
        grpc(Some("hsk_nope".into())).await,
        Some(tonic::Code::Unauthenticated)
    );
    assert_eq!(grpc(Some(read)).await, Some(tonic::Code::PermissionDenied));
    let ok = grpc(Some(ingest)).await;
    assert!(ok.is_none() || ok == Some(tonic::Code::Ok), "{ok:?}");
}

/// The session token a `Set-Cookie` of the sign-in page sets.
fn session_of(set_cookie: &str) -> String {
    set_cookie
        .strip_prefix("heimsight_session=")
        .and_then(|c| c.split(';').next())
        .unwrap_or_else(|| panic!("no session cookie in {set_cookie:?}"))
        .to_string()
}

/// The web UI: a browser without a key is sent to the sign-in page, which sets an
/// `HttpOnly; SameSite=Strict` session cookie; admin actions show only to admin keys.
#[tokio::test]
async fn the_ui_signs_in_with_a_key_in_a_session_cookie() {
    let app = secured();
    let (_, read) = make_key(&app, "viewer", &["read"]).await;
    let (_, admin) = make_key(&app, "ops", &["admin"]).await;
    let raw = |method: &str, uri: &str, cookie: Option<&str>, body: &str| {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(c) = cookie {
            req = req.header("cookie", format!("theme=dark; heimsight_session={c}"));
        }
        if method == "POST" {
            req = req.header("content-type", "application/x-www-form-urlencoded");
        }
        app.router
            .clone()
            .oneshot(req.body(Body::from(body.to_string())).unwrap())
    };
    let header = |res: &axum::response::Response, name: &str| {
        res.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    let text = |res: axum::response::Response| async move {
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        String::from_utf8_lossy(&bytes).into_owned()
    };

    let res = raw("GET", "/ui/alerts?range=6h", None, "").await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        header(&res, "location"),
        "/ui/login?next=%2Fui%2Falerts%3Frange%3D6h"
    );
    let res = raw("GET", "/ui/login?next=%2Fui%2Falerts", None, "")
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let page = text(res).await;
    assert!(
        page.contains("name=\"key\"") && page.contains("value=\"/ui/alerts\""),
        "{page}"
    );
    // The stylesheet of the sign-in page is open too.
    let res = raw("GET", "/ui/static/app.css", None, "").await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    let res = raw(
        "POST",
        "/ui/login",
        None,
        "key=hsk_wrong&next=%2Fui%2Falerts",
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(header(&res, "set-cookie").is_empty());
    assert!(text(res).await.contains("unknown, revoked or expired"));

    let body = format!("key={read}&next=%2Fui%2Falerts");
    let res = raw("POST", "/ui/login", None, &body).await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(header(&res, "location"), "/ui/alerts");
    let cookie = header(&res, "set-cookie");
    for part in [
        "heimsight_session=hss_",
        "HttpOnly",
        "SameSite=Strict",
        "Path=/ui/",
    ] {
        assert!(cookie.contains(part), "{part} in {cookie}");
    }
    // The cookie holds a session token, never the key.
    assert!(!cookie.contains(&read), "{cookie}");
    let session = session_of(&cookie);
    // Signed in with a read key: the page, the key's name, no admin actions; posting is 403.
    let res = raw("GET", "/ui/alerts", Some(&session), "").await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let page = text(res).await;
    assert!(
        page.contains("viewer") && page.contains("Sign out"),
        "{page}"
    );
    assert!(
        !page.contains("New rule") && !page.contains("Add channel"),
        "{page}"
    );
    let res = raw(
        "POST",
        "/ui/alerts/silences",
        Some(&read),
        "matchers=a%3Db&duration=1h",
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let form = text(raw("GET", "/ui/alerts/new", Some(&read), "").await.unwrap()).await;
    assert!(
        form.contains("Read only") && !form.contains("Save rule"),
        "{form}"
    );
    // An admin key sees them.
    let page = text(raw("GET", "/ui/alerts", Some(&admin), "").await.unwrap()).await;
    assert!(
        page.contains("New rule") && page.contains("Add channel"),
        "{page}"
    );
    let form = text(
        raw("GET", "/ui/alerts/new", Some(&admin), "")
            .await
            .unwrap(),
    )
    .await;
    assert!(
        form.contains("Save rule") && !form.contains("Read only"),
        "{form}"
    );

    // `next` only ever leads into the UI.
    for next in [
        "https%3A%2F%2Fevil.example%2F",
        "%2F%2Fevil.example",
        "%2Fapi%2Fv1%2Flogs",
    ] {
        let res = raw(
            "POST",
            "/ui/login",
            None,
            &format!("key={read}&next={next}"),
        )
        .await
        .unwrap();
        assert_eq!(header(&res, "location"), "/ui/", "{next}");
    }
    // Signing out ends the session on the server and drops the cookie: the old cookie is
    // worth nothing.
    let res = raw("POST", "/ui/logout", Some(&session), "").await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(header(&res, "location"), "/ui/login");
    let cookie = header(&res, "set-cookie");
    assert!(
        cookie.contains("heimsight_session=;") && cookie.contains("Max-Age=0"),
        "{cookie}"
    );
    let res = raw("GET", "/ui/alerts", Some(&session), "").await.unwrap();
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "a closed session still works"
    );
    assert!(header(&res, "location").starts_with("/ui/login"));
    // Revoking the key ends its sessions at once.
    let (id, doomed) = make_key(&app, "doomed", &["read"]).await;
    let res = raw("POST", "/ui/login", None, &format!("key={doomed}"))
        .await
        .unwrap();
    let cookie = header(&res, "set-cookie");
    let session = session_of(&cookie);
    let res = raw("GET", "/ui/alerts", Some(&session), "").await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let r = as_admin(&app, "DELETE", &format!("/api/v1/keys/{id}"), &Value::Null).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let res = raw("GET", "/ui/alerts", Some(&session), "").await.unwrap();
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "a revoked key's session still works"
    );
    // A made-up session token is nobody.
    let res = raw(
        "GET",
        "/ui/alerts",
        Some(&format!("hss_{}", "0".repeat(64))),
        "",
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}

/// The UI's live tail (Server-Sent Events) ends when the key that opened it is revoked.
#[tokio::test]
async fn a_live_tail_ends_when_its_key_is_revoked() {
    use futures_util::StreamExt as _;
    let app = secured();
    let (id, key) = make_key(&app, "watcher", &["read"]).await;
    let res = app
        .router
        .clone()
        .oneshot(
            Request::get("/ui/logs/tail")
                .header("cookie", format!("heimsight_session={key}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let mut body = res.into_body().into_data_stream();
    let first = body.next().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("event: ready"));
    assert!(app.server.api_keys().revoke(&id).unwrap());
    let ended = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while let Some(chunk) = body.next().await {
            chunk.unwrap();
        }
    })
    .await;
    assert!(ended.is_ok(), "the tail went on after the key was revoked");
}
