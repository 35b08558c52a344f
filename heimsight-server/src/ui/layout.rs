//! The frame of every page: navigation, server status, the time-range picker, the theme
//! switch.

use axum::extract::State;
use axum::response::Response;
use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::{RANGES, TimeRange, html_response, qs};
use crate::state::AppState;

/// The page a request is on, for the navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Nav {
    Logs,
    Metrics,
    Traces,
    #[cfg_attr(not(feature = "alerting"), allow(dead_code))]
    Alerts,
    Query,
}

impl Nav {
    /// The pages in the navigation (Alerts only with the `alerting` feature).
    const ALL: &'static [Nav] = &[
        Nav::Logs,
        Nav::Metrics,
        Nav::Traces,
        #[cfg(feature = "alerting")]
        Nav::Alerts,
        Nav::Query,
    ];

    fn label(self) -> &'static str {
        match self {
            Nav::Logs => "Logs",
            Nav::Metrics => "Metrics",
            Nav::Traces => "Traces",
            Nav::Alerts => "Alerts",
            Nav::Query => "Query",
        }
    }

    fn path(self) -> &'static str {
        match self {
            Nav::Logs => "logs",
            Nav::Metrics => "metrics",
            Nav::Traces => "traces",
            Nav::Alerts => "alerts",
            Nav::Query => "query",
        }
    }
}

/// Sets the theme before the first paint (light, dark, or the system's when unset).
const THEME_BOOT: &str = "try{var t=localStorage.getItem('heimsight-theme');if(t)document.documentElement.dataset.theme=t;}catch(e){}";

/// A whole page. `keep` are the page's own parameters, kept when the time range changes.
pub(crate) async fn page(
    state: &AppState,
    title: &str,
    nav: Nav,
    range: &TimeRange,
    keep: &[(&str, String)],
    body: Markup,
) -> Response {
    let status = status_line(state).await;
    let range_qs = qs(&range.link_pairs());
    html_response(html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                // Every link of the UI is relative to where it is mounted.
                base href=(super::base_href());
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Heimsight" }
                script { (PreEscaped(THEME_BOOT)) }
                link rel="stylesheet" href="static/app.css";
                @if super::has_htmx() {
                    script src="static/htmx.min.js" defer {}
                }
                script src="static/app.js" defer {}
            }
            body hx-boost="false" {
                header.top {
                    a.brand href={ "logs?" (range_qs) } { "Heimsight" }
                    nav.main {
                        @for &n in Nav::ALL {
                            a href={ (n.path()) "?" (range_qs) }
                                class=[(n == nav).then_some("active")]
                                aria-current=[(n == nav).then_some("page")] { (n.label()) }
                        }
                    }
                    div #status.status hx-get="status" hx-trigger="every 15s" hx-swap="innerHTML" {
                        (status)
                    }
                    @if let Some(name) = super::session::signed_in_as() {
                        form.inline.signed-in method="post" action="logout" {
                            span.muted title="The API key you signed in with" { (name) }
                            " "
                            button.link type="submit" { "Sign out" }
                        }
                    }
                    button #theme.theme type="button" title="Switch between light and dark" aria-label="Switch theme" { "◐" }
                }
                form.range method="get" action=(nav.path()) {
                    @for (k, v) in keep {
                        @if !v.is_empty() { input type="hidden" name=(k) value=(v); }
                    }
                    label {
                        span.sr { "Time range" }
                        select name="range" {
                            @for (k, label) in RANGES {
                                option value=(k) selected[range.key == k] { (label) }
                            }
                            option value="custom" selected[range.key == "custom"] { "Custom…" }
                        }
                    }
                    label.custom { "from " input type="text" name="from" placeholder="2026-01-02T15:04" value=(custom_value(range, true)); }
                    label.custom { "to " input type="text" name="to" placeholder="now" value=(custom_value(range, false)); }
                    button type="submit" { "Apply" }
                    span.muted.range-text { (super::fmt_time(&range.start.to_rfc3339())) " → " (super::fmt_time(&range.end.to_rfc3339())) " UTC" }
                }
                main { (body) }
            }
        }
    })
}

fn custom_value(range: &TimeRange, from: bool) -> String {
    if range.key != "custom" {
        return String::new();
    }
    if from {
        range.from.clone()
    } else {
        range.to.clone()
    }
}

/// `GET /ui/status`: the status line, refreshed by htmx.
pub(crate) async fn status_fragment(State(state): State<AppState>) -> Response {
    html_response(status_line(&state).await)
}

/// Up, records per signal, firing alerts — from `/api/v1/stats` and `/api/v1/alerts`.
async fn status_line(state: &AppState) -> Markup {
    let stats = super::json_of(crate::routes::stats::stats(State(state.clone())).await);
    #[cfg(feature = "alerting")]
    let firing = state
        .alerts
        .alerts(false)
        .iter()
        .filter(|a| a.state == heimsight_core::api::AlertState::Firing)
        .count();
    #[cfg(not(feature = "alerting"))]
    let firing = 0;
    match stats {
        Ok(s) => {
            html! {
                span.dot.up title="server is up" {}
                span { (count(s.signals.logs.records)) " logs · " (count(s.signals.spans.records)) " spans · " (count(s.series)) " series" }
                @if firing > 0 {
                    " · " a.firing href="alerts" { (firing) " firing" }
                }
            }
        }
        Err(e) => html! { span.dot.down {} span { "store error: " (e.to_string()) } },
    }
}

/// `1234567` → `1.2M`.
pub(crate) fn count(n: u64) -> String {
    match n {
        0..=9_999 => n.to_string(),
        10_000..=999_999 => format!("{:.1}k", n as f64 / 1e3),
        1_000_000..=999_999_999 => format!("{:.1}M", n as f64 / 1e6),
        _ => format!("{:.1}G", n as f64 / 1e9),
    }
}

/// A parameter form's hidden copy of the range, for forms that are not the range picker.
pub(crate) fn range_inputs(range: &TimeRange) -> Markup {
    html! {
        @for (k, v) in range.link_pairs() {
            input type="hidden" name=(k) value=(v);
        }
    }
}
