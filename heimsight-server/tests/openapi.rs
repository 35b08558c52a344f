//! `GET /api/v1/openapi.json`: an OpenAPI 3.1 document that describes every `/api/v1/` route
//! the router really has (found in the router itself, so a route added later without a
//! description fails here), and nothing it does not have.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::Request;
use serde_json::Value;

use crate::util::*;

/// Every `/api/v1/` path the reference router has, as its template (`/api/v1/keys/{id}`).
/// axum's `Debug` of a router lists its paths; nothing else can forget one.
pub(crate) fn router_paths(app: &TestApp) -> BTreeSet<String> {
    let debug = format!("{:?}", app.server.router());
    debug
        .split('"')
        .filter(|s| s.starts_with("/api/v1/"))
        .map(str::to_string)
        .collect()
}

/// The methods a path answers: every method whose answer is not 405.
pub(crate) async fn router_methods(app: &TestApp, template: &str) -> BTreeSet<String> {
    let uri: String = template
        .split('/')
        .map(|seg| if seg.starts_with('{') { "probe" } else { seg })
        .collect::<Vec<_>>()
        .join("/");
    let mut methods = BTreeSet::new();
    for method in ["GET", "POST", "PUT", "DELETE", "PATCH"] {
        let r = app
            .request(
                Request::builder()
                    .method(method)
                    .uri(&uri)
                    .header("content-type", "application/json")
                    .body(Body::from("{}"))
                    .unwrap(),
            )
            .await;
        if r.status != 405 {
            methods.insert(method.to_lowercase());
        }
    }
    methods
}

#[tokio::test]
async fn the_document_describes_every_api_route_and_no_other() {
    let app = app();
    let r = app.get("/api/v1/openapi.json").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let doc = &r.json;
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().expect("paths");

    let in_router = router_paths(&app);
    assert!(
        in_router.len() > 20 && in_router.contains("/api/v1/openapi.json"),
        "the router's paths were not found in its Debug: {in_router:?}"
    );
    let mut missing = Vec::new();
    let mut extra = Vec::new();
    for path in &in_router {
        let methods = router_methods(&app, path).await;
        assert!(!methods.is_empty(), "{path} answers no method");
        let described: BTreeSet<String> = paths
            .get(path)
            .and_then(Value::as_object)
            .map(|item| {
                item.keys()
                    .filter(|k| ["get", "post", "put", "delete", "patch"].contains(&k.as_str()))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        for m in methods.difference(&described) {
            missing.push(format!("{} {path}", m.to_uppercase()));
        }
        for m in described.difference(&methods) {
            extra.push(format!("{} {path}", m.to_uppercase()));
        }
    }
    for path in paths.keys() {
        if !in_router.contains(path) {
            extra.push(format!("{path} (no such route)"));
        }
    }
    assert!(
        missing.is_empty(),
        "routes missing from the OpenAPI document: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "the OpenAPI document describes what the router does not serve: {extra:?}"
    );

    // Every operation says what it answers, errors included, and every reference resolves.
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|s| s.starts_with('2')),
                "{method} {path} has no success answer"
            );
            for status in ["400", "401", "403", "429"] {
                assert!(
                    responses.contains_key(status),
                    "{method} {path} lacks {status}"
                );
            }
        }
    }
    let text = r.text.clone();
    let unresolved: BTreeSet<&str> = text
        .split("\"#/components/schemas/")
        .skip(1)
        .map(|r| r.split('"').next().unwrap())
        .filter(|name| !schemas.contains_key(*name))
        .collect();
    assert!(
        unresolved.is_empty(),
        "unresolved references: {unresolved:?}"
    );
    assert!(schemas.contains_key("ErrorBody") && schemas.contains_key("LogsPage"));
}
