//! The web UI (at `/ui/` in the reference router, under any path in an application): server-rendered HTML (maud) enhanced with htmx, embedded in the
//! binary.
//!
//! Every page gets its data by calling the REST API's own handlers ([`crate::routes`]) with
//! the query string the API would get, so the UI shows exactly what the API returns. Pages
//! are plain HTML forms and links first: browsing, searching, zooming, paging, details (as
//! `<details>` elements) and forms all work with JavaScript disabled; htmx adds in-place
//! updates (load more on scroll, filtering the metric list as you type, previews, test
//! buttons) and `app.js` the live tail (Server-Sent Events) and the theme switch.

use axum::Router;
use axum::extract::{OriginalUri, Request};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::{Next, from_fn};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use heimsight_core::Timestamp;
use maud::{Markup, html};
use serde_json::Value;

use crate::api_error::ApiError;
use crate::params::Params;
use crate::state::AppState;

#[cfg(feature = "alerting")]
mod alerts;
mod chart;
mod layout;
mod logs;
mod metrics;
mod query;
mod session;
mod traces;

pub(crate) use layout::{Nav, page};
pub(crate) use session::{can_admin, to_sign_in};

/// htmx, from the npm package `htmx.org` (see `build.rs`); empty when it was not installed.
static HTMX_JS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/htmx.min.js"));
/// The UI's own script: theme switch, live tail, small conveniences.
static APP_JS: &str = include_str!("assets/app.js");
/// The UI's stylesheet (plain CSS, light and dark).
static APP_CSS: &str = include_str!("assets/app.css");

tokio::task_local! {
    /// The path the UI is mounted at (`/ui` in the reference server, `` at the root), set for
    /// each request by [`mount_point`]: pages put it in `<base href>`, so that every link of
    /// the UI is relative to it, and redirects start with it.
    static BASE: String;
}

/// The routes of the UI, at the root of this router: mount it under any path
/// (`.nest_service("/ui", …)` in the reference server, `.nest_service("/observability", …)` in an app of
/// yours); its links are relative to where it is mounted.
pub(crate) fn routes(state: &AppState) -> Router<AppState> {
    let router = Router::new()
        .route("/login", get(session::login_form).post(session::login))
        .route("/logout", post(session::logout))
        .route("/", get(|| async { see_other("logs") }))
        .route("/status", get(layout::status_fragment))
        .route("/logs", get(logs::page))
        .route("/logs/more", get(logs::more))
        .route("/logs/tail", get(logs::tail))
        .route("/traces", get(traces::search))
        .route("/traces/{id}", get(traces::detail))
        .route("/metrics", get(metrics::page))
        .route("/metrics/names", get(metrics::names_fragment))
        .route("/metrics/dashboards", post(metrics::save_dashboard))
        .route(
            "/metrics/dashboards/{id}/delete",
            post(metrics::delete_dashboard),
        )
        .route("/query", get(query::page));
    #[cfg(feature = "alerting")]
    let router = router
        .route("/alerts", get(alerts::page))
        .route("/alerts/new", get(alerts::new_form).post(alerts::create))
        .route(
            "/alerts/rules/{id}",
            get(alerts::edit_form).post(alerts::update),
        )
        .route("/alerts/rules/{id}/delete", post(alerts::delete))
        .route("/alerts/preview", post(alerts::preview))
        .route("/alerts/silences", post(alerts::create_silence))
        .route("/alerts/silences/{id}/delete", post(alerts::delete_silence))
        .route("/alerts/channels", post(alerts::create_channel))
        .route("/alerts/channels/{id}/test", post(alerts::test_channel))
        .route("/alerts/channels/{id}/delete", post(alerts::delete_channel));
    router
        .route("/static/htmx.min.js", get(htmx_js))
        .route("/static/app.js", get(app_js))
        .route("/static/app.css", get(app_css))
        .fallback(not_found)
        .layer(from_fn(same_site_only))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            session::viewer,
        ))
        .layer(from_fn(mount_point))
}

/// Finds where the UI is mounted — the request's original path less the path this router
/// sees — and runs the rest of the request with it in [`BASE`].
async fn mount_point(original: OriginalUri, req: Request, next: Next) -> Response {
    let base = mount_prefix(original.0.path(), req.uri().path());
    BASE.scope(base, next.run(req)).await
}

/// The path a router is mounted at, without a trailing `/`: the request's full path (`full`)
/// less the path the mounted router sees (`inner`); `` at the root.
pub(crate) fn mount_prefix(full: &str, inner: &str) -> String {
    full.strip_suffix(inner)
        .unwrap_or_else(|| full.trim_end_matches('/'))
        .trim_end_matches('/')
        .to_string()
}

/// Where the UI is mounted, with a trailing `/`: the `<base href>` of its pages.
pub(crate) fn base_href() -> String {
    let base = BASE.try_with(Clone::clone).unwrap_or_default();
    format!("{base}/")
}

/// An unknown page of the UI: an HTML page saying so, with a way back.
async fn not_found(uri: axum::http::Uri) -> Response {
    let base = base_href();
    let mut res = Html(
        html! {
            (maud::DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    base href=(base);
                    title { "Not found · Heimsight" }
                    link rel="stylesheet" href="static/app.css";
                }
                body {
                    main {
                        h1 { "Not found" }
                        p { "There is no page " code { (uri.path()) } " in Heimsight's web UI." }
                        p { a href="logs" { "Go to the logs" } }
                    }
                }
            }
        }
        .into_string(),
    )
    .into_response();
    *res.status_mut() = StatusCode::NOT_FOUND;
    res
}

/// Refuses form posts that a browser says come from anywhere but this origin
/// (`Sec-Fetch-Site: cross-site` or `same-site` — a sibling subdomain is another site too), so
/// that a page elsewhere cannot make a visitor's browser delete rules or channels through the
/// UI's forms. Clients that send no such header (scripts, old browsers) are let through.
async fn same_site_only(req: Request, next: Next) -> Response {
    let cross_site = req
        .headers()
        .get("sec-fetch-site")
        .is_some_and(|v| matches!(v.as_bytes(), b"cross-site" | b"same-site"));
    if req.method() != Method::GET && req.method() != Method::HEAD && cross_site {
        return (
            StatusCode::FORBIDDEN,
            "the web UI refuses form posts from other sites",
        )
            .into_response();
    }
    next.run(req).await
}

/// Whether htmx was embedded at build time.
pub(crate) fn has_htmx() -> bool {
    !HTMX_JS.is_empty()
}

async fn htmx_js() -> Response {
    if HTMX_JS.is_empty() {
        return (
            StatusCode::NOT_FOUND,
            "htmx was not installed at build time",
        )
            .into_response();
    }
    asset(HTMX_JS, "text/javascript; charset=utf-8")
}

async fn app_js() -> Response {
    asset(APP_JS.as_bytes(), "text/javascript; charset=utf-8")
}

async fn app_css() -> Response {
    asset(APP_CSS.as_bytes(), "text/css; charset=utf-8")
}

fn asset(body: &'static [u8], content_type: &'static str) -> Response {
    let mut res = body.into_response();
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    res.headers_mut().insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    res
}

/// The parameters of a UI request (a query string or a form body): the API's [`Params`],
/// without its list of allowed names (pages ignore what they do not know).
#[derive(Debug)]
pub(crate) struct Form(Params);

impl Default for Form {
    fn default() -> Self {
        Form::parse(None)
    }
}

impl Form {
    /// Parses `a=1&b=2` (a query string or an `application/x-www-form-urlencoded` body).
    pub(crate) fn parse(raw: Option<&str>) -> Form {
        Form(Params::parse_any(raw))
    }

    /// The first non-empty value of `name`, trimmed.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.all(name).into_iter().next()
    }

    /// The value of `name`, or `""`.
    pub(crate) fn str(&self, name: &str) -> &str {
        self.get(name).unwrap_or("")
    }

    /// Every non-empty value of `name`, trimmed.
    pub(crate) fn all(&self, name: &str) -> Vec<&str> {
        self.0.all(name)
    }
}

/// Builds a query string from pairs, leaving out empty values.
pub(crate) fn qs<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if !v.as_ref().is_empty() {
            s.append_pair(k.as_ref(), v.as_ref());
        }
    }
    s.finish()
}

/// The time range every page honours: `range=15m|1h|6h|24h|7d` (relative to now), or
/// `range=custom` with `from` and `to` (RFC 3339, or the `YYYY-MM-DDTHH:MM` of a
/// `datetime-local` input, read as UTC).
#[derive(Debug, Clone)]
pub(crate) struct TimeRange {
    /// `15m`, `1h`, … or `custom`.
    pub(crate) key: String,
    pub(crate) start: Timestamp,
    pub(crate) end: Timestamp,
    /// As given, for the custom inputs.
    pub(crate) from: String,
    pub(crate) to: String,
}

/// The choices of the range picker.
pub(crate) const RANGES: [(&str, &str); 5] = [
    ("15m", "Last 15 minutes"),
    ("1h", "Last hour"),
    ("6h", "Last 6 hours"),
    ("24h", "Last 24 hours"),
    ("7d", "Last 7 days"),
];

impl TimeRange {
    /// The range of a request; unknown or invalid values fall back to the last hour, and the
    /// problem is returned to show.
    pub(crate) fn from_form(f: &Form) -> (TimeRange, Option<String>) {
        let now = Timestamp::now();
        let last_hour = |problem: String| {
            let range = TimeRange::last(now, "1h").unwrap_or_else(|| TimeRange::custom(now, now));
            (range, Some(format!("{problem}; showing the last hour")))
        };
        let key = f.get("range").unwrap_or("1h");
        if key != "custom" {
            return match TimeRange::last(now, key) {
                Some(r) => (r, None),
                None => last_hour(format!("unknown range {key:?}")),
            };
        }
        let (from, to) = (f.str("from").to_string(), f.str("to").to_string());
        let end = if to.is_empty() {
            Ok(now)
        } else {
            parse_time(&to, now)
        };
        match (parse_time(&from, now), end) {
            (Ok(start), Ok(end)) if end > start => (
                TimeRange {
                    key: key.to_string(),
                    start,
                    end,
                    from,
                    to,
                },
                None,
            ),
            (Ok(_), Ok(_)) => last_hour("the custom range ends before it starts".into()),
            (Err(e), _) | (_, Err(e)) => last_hour(format!("invalid custom range: {e}")),
        }
    }

    /// The last `key` (one of [`RANGES`]) up to `now`.
    fn last(now: Timestamp, key: &str) -> Option<TimeRange> {
        RANGES.iter().find(|(k, _)| *k == key)?;
        let d = heimsight_core::parse_duration_nanos(key).ok()?;
        Some(TimeRange {
            key: key.to_string(),
            start: Timestamp(now.0.saturating_sub(d)),
            end: now,
            from: String::new(),
            to: String::new(),
        })
    }

    /// A custom range from `start` to `end` (what a click on a histogram bar zooms to).
    pub(crate) fn custom(start: Timestamp, end: Timestamp) -> TimeRange {
        TimeRange {
            key: "custom".into(),
            start,
            end,
            from: start.to_rfc3339(),
            to: end.to_rfc3339(),
        }
    }

    /// The range as the API's `start_time`/`end_time` parameters.
    pub(crate) fn api_pairs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("start_time", self.start.to_rfc3339()),
            ("end_time", self.end.to_rfc3339()),
        ]
    }

    /// The range as UI parameters, to carry it over in links.
    pub(crate) fn link_pairs(&self) -> Vec<(&'static str, String)> {
        if self.key == "custom" {
            vec![
                ("range", "custom".into()),
                ("from", self.start.to_rfc3339()),
                ("to", self.end.to_rfc3339()),
            ]
        } else {
            vec![("range", self.key.clone())]
        }
    }

    /// Length in nanoseconds.
    pub(crate) fn width(&self) -> i64 {
        (self.end.0 - self.start.0).max(1)
    }
}

fn parse_time(s: &str, now: Timestamp) -> Result<Timestamp, String> {
    if s.is_empty() {
        return Err("a custom range needs a start (from)".into());
    }
    // A datetime-local input: no seconds, no zone.
    let candidate = if s.len() == 16 && s.as_bytes().get(10) == Some(&b'T') {
        format!("{s}:00Z")
    } else if s.len() == 19 && s.as_bytes().get(10) == Some(&b'T') {
        format!("{s}Z")
    } else {
        s.to_string()
    };
    let t = Timestamp::parse_relative(&candidate, now).map_err(|e| format!("{s:?}: {e}"))?;
    // 1970 to 2200: beyond, range arithmetic would overflow.
    if !(0..=7_258_118_400_000_000_000).contains(&t.0) {
        return Err(format!("{s:?} is outside 1970–2200"));
    }
    Ok(t)
}

/// Unwraps a handler's JSON answer.
pub(crate) fn json_of<T>(r: Result<axum::Json<T>, ApiError>) -> Result<T, ApiError> {
    r.map(|axum::Json(v)| v)
}

/// An error of the API, as the page shows it: the message and its details.
pub(crate) fn error_box(e: &ApiError) -> Markup {
    let body = e.error_body();
    let details = body.details();
    html! {
        div.error role="alert" {
            strong { "Error: " } (body.error)
            @if details.len() > 1 {
                ul { @for d in details { li { (d) } } }
            }
        }
    }
}

/// A notice (not an error) at the top of a page.
pub(crate) fn notice(text: &str) -> Markup {
    html! { div.notice role="status" { (text) } }
}

/// `2026-11-26T12:03:04.123456789Z` → `2026-11-26 12:03:04.123`.
pub(crate) fn fmt_time(rfc3339: &str) -> String {
    let s = rfc3339.trim_end_matches('Z').replacen('T', " ", 1);
    match s.find('.') {
        Some(dot) => s[..(dot + 4).min(s.len())].to_string(),
        None => s,
    }
}

/// A duration in nanoseconds for people: `850µs`, `12.3ms`, `1.20s`, `2m05s`.
pub(crate) fn fmt_duration(ns: i64) -> String {
    let ns = ns.max(0) as f64;
    if ns < 1_000.0 {
        format!("{ns}ns")
    } else if ns < 1_000_000.0 {
        format!("{:.0}µs", ns / 1e3)
    } else if ns < 1_000_000_000.0 {
        let ms = ns / 1e6;
        if ms < 10.0 {
            format!("{ms:.2}ms")
        } else {
            format!("{ms:.1}ms")
        }
    } else if ns < 60e9 {
        format!("{:.2}s", ns / 1e9)
    } else {
        let s = (ns / 1e9) as i64;
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

/// A JSON value as text: strings bare, everything else as JSON.
pub(crate) fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A table of attributes (of a record, a span, a resource).
pub(crate) fn attributes_table(attrs: &heimsight_core::Attributes) -> Markup {
    html! {
        @if attrs.is_empty() {
            p.muted { "none" }
        } @else {
            table.kv {
                @for (k, v) in attrs {
                    tr { th { (k) } td { (v) } }
                }
            }
        }
    }
}

/// A colour for a name (service, series): the same name always gets the same colour.
pub(crate) fn colour_of(name: &str) -> String {
    let h = name.bytes().fold(2_166_136_261u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(16_777_619)
    });
    format!("hsl({}, 62%, 52%)", h % 360)
}

/// A 303 to `to`: after a form's POST, the browser loads the page again with GET.
/// A redirect to `to`, a path relative to where the UI is mounted (`alerts?msg=…`).
pub(crate) fn see_other(to: &str) -> Response {
    Redirect::to(&format!("{}{to}", base_href())).into_response()
}

/// An HTML page or fragment.
pub(crate) fn html_response(m: Markup) -> Response {
    Html(m.into_string()).into_response()
}
