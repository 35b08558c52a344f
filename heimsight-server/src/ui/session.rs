//! Signing in to the web UI when `auth.enabled` is on: `login` takes an API key and keeps a
//! session token (never the key) in an `HttpOnly; SameSite=Strict` session cookie (`Secure`
//! over HTTPS, ours or a proxy's), `logout` ends the session and drops it. A browser without
//! a key is sent to `login` ([`to_sign_in`]); pages show admin actions only to admin keys
//! ([`can_admin`]).

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{OriginalUri, Request, State};
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use heimsight_core::Timestamp;
use heimsight_core::api::Scope;
use maud::{DOCTYPE, Markup, html};

use super::{Form, base_href, html_response, mount_prefix, qs};
use crate::auth::{SESSION_COOKIE, presented_key};
use crate::state::AppState;
use crate::tls::ServedOverTls;

/// Who is looking at a page.
#[derive(Debug, Clone, Default)]
pub(crate) struct Viewer {
    /// The key's name, when signed in with auth on.
    pub(crate) name: Option<String>,
    /// Whether admin actions are shown.
    pub(crate) admin: bool,
}

tokio::task_local! {
    static VIEWER: Viewer;
}

/// Whether the page's viewer may change things (always, with auth off).
pub(crate) fn can_admin() -> bool {
    VIEWER.try_with(|v| v.admin).unwrap_or(true)
}

/// The signed-in key's name, with auth on.
pub(crate) fn signed_in_as() -> Option<String> {
    VIEWER.try_with(|v| v.name.clone()).ok().flatten()
}

/// Finds who the request comes from and runs it with them in [`VIEWER`].
pub(crate) async fn viewer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let who = if state.key_auth {
        let principal = presented_key(req.headers())
            .and_then(|k| state.keys.authenticate(&k, Timestamp::now()));
        Viewer {
            admin: principal.as_ref().is_some_and(|p| p.allows(Scope::Admin)),
            name: principal.map(|p| p.name),
        }
    } else {
        Viewer {
            name: None,
            admin: true,
        }
    };
    VIEWER.scope(who, next.run(req)).await
}

/// Sends a `GET` that the access control refused for want of a key (401) to the sign-in page,
/// with the page asked for as `next`.
pub(crate) async fn to_sign_in(original: OriginalUri, req: Request, next: Next) -> Response {
    let base = mount_prefix(original.0.path(), req.uri().path());
    let get = req.method() == Method::GET;
    let res = next.run(req).await;
    if !get || res.status() != StatusCode::UNAUTHORIZED {
        return res;
    }
    let asked = original
        .0
        .path_and_query()
        .map_or_else(|| original.0.path().to_string(), ToString::to_string);
    let to = format!("{base}/login?{}", qs(&[("next", asked)]));
    let mut res = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(&to) {
        res.headers_mut().insert(LOCATION, v);
    }
    res
}

/// Where to go after signing in: `next` when it is a page of this UI, else its home.
fn next_page(next: &str) -> String {
    let base = base_href();
    let ok = next.starts_with(&base)
        && !next.contains("//")
        && !next.contains('\\')
        && !next.chars().any(char::is_control);
    if ok { next.to_string() } else { base }
}

/// Whether the browser reached us over HTTPS: our own TLS, or a proxy's
/// (`X-Forwarded-Proto: https`).
fn over_https(tls: Option<&Extension<ServedOverTls>>, headers: &HeaderMap) -> bool {
    tls.is_some()
        || headers
            .get("x-forwarded-proto")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"))
}

fn cookie(secure: bool, value: &str, max_age: Option<u32>) -> HeaderValue {
    let mut c = format!(
        "{SESSION_COOKIE}={value}; Path={}; HttpOnly; SameSite=Strict",
        base_href()
    );
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn login_page(next: &str, problem: Option<&str>) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                base href=(base_href());
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Sign in · Heimsight" }
                link rel="stylesheet" href="static/app.css";
            }
            body {
                main.sign-in {
                    h1 { "Heimsight" }
                    p { "This server needs an API key. Ask an administrator for one, or make one with "
                        code { "heimsight keys create --name me --scope read" } "." }
                    @if let Some(p) = problem { div.error role="alert" { (p) } }
                    form.stack method="post" action="login" {
                        input type="hidden" name="next" value=(next);
                        label { "API key "
                            input type="password" name="key" required autocomplete="current-password"
                                autofocus placeholder="hsk_…";
                        }
                        button type="submit" { "Sign in" }
                    }
                }
            }
        }
    }
}

/// `GET login`: the sign-in form.
pub(crate) async fn login_form(raw: axum::extract::RawQuery) -> Response {
    let form = Form::parse(raw.0.as_deref());
    html_response(login_page(form.str("next"), None))
}

/// `POST login`: checks the key; on success sets the session cookie and goes to `next`.
pub(crate) async fn login(
    State(state): State<AppState>,
    tls: Option<Extension<ServedOverTls>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = Form::parse(std::str::from_utf8(&body).ok());
    let key = form.str("key");
    // The cookie holds a session token, never the key.
    let opened = if key.is_empty() {
        None
    } else {
        match state.keys.open_session(key, Timestamp::now()) {
            Ok(o) => o,
            Err(e) => return e.into_response(),
        }
    };
    let Some((who, session)) = opened else {
        // At most a line a second, however fast keys are tried.
        static FAILURES: crate::auth::FailureLog = crate::auth::FailureLog::new();
        if let Some(skipped) = FAILURES.admit(0) {
            tracing::warn!(
                skipped,
                "web UI sign-in with an unknown, revoked or expired API key refused"
            );
        }
        let mut res = html_response(login_page(
            form.str("next"),
            Some("That key is unknown, revoked or expired."),
        ));
        *res.status_mut() = StatusCode::UNAUTHORIZED;
        return res;
    };
    tracing::info!(key = %who.key_id, name = %who.name, "signed in to the web UI");
    let mut res = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(&next_page(form.str("next"))) {
        res.headers_mut().insert(LOCATION, v);
    }
    res.headers_mut().insert(
        SET_COOKIE,
        cookie(over_https(tls.as_ref(), &headers), &session, None),
    );
    res
}

/// `POST logout`: ends the session and drops its cookie.
pub(crate) async fn logout(
    State(state): State<AppState>,
    tls: Option<Extension<ServedOverTls>>,
    headers: HeaderMap,
) -> Response {
    // Ended on the server too: the old cookie is worth nothing from now on.
    if let Some(token) = crate::auth::session_cookie(&headers) {
        state.keys.close_session(&token);
    }
    let mut res = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("{}login", base_href())) {
        res.headers_mut().insert(LOCATION, v);
    }
    res.headers_mut().insert(
        SET_COOKIE,
        cookie(over_https(tls.as_ref(), &headers), "", Some(0)),
    );
    res
}
