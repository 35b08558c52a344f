//! The Metrics page: the metric list with search, a chart of the selected metric (label
//! filters, aggregation, step), and dashboards — several charts on one page, saved and
//! reopened through `/api/v1/dashboards`.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use heimsight_core::api::{Dashboard, Panel, SeriesAnswer};
use heimsight_core::{Agg, Duration};
use maud::{Markup, html};
use serde_json::{Value, json};

use super::chart::{Line, bucket_width, line_chart};
use super::layout::range_inputs;
use super::{Form, Nav, TimeRange, error_box, html_response, json_of, notice, qs, see_other};
use crate::retention::format_duration;
use crate::state::AppState;

/// Aggregations offered, `raw` being the stored points.
const AGGS: [&str; 6] = ["avg", "sum", "min", "max", "count", "raw"];
/// Steps offered; `auto` gives about 120 points over the range.
const STEPS: [&str; 7] = ["auto", "10s", "30s", "1m", "5m", "15m", "1h"];

/// The chart picked in the page's form: `name`, `labels` (`host=a, region=eu`), `agg` and
/// `step` (an unknown aggregation or step reads as the default: `avg`, `auto`).
fn panel_from_form(f: &Form) -> Panel {
    let mut p = Panel::new(f.str("name"));
    p.labels = parse_labels(f.str("labels")).into_iter().collect();
    p.agg = match f.get("agg").map(str::trim) {
        Some("raw") => None,
        Some(a) => Some(a.parse().unwrap_or(Agg::Avg)),
        None => Some(Agg::Avg),
    };
    p.step = f
        .get("step")
        .and_then(|s| Duration::parse(s).ok())
        .filter(|d| d.is_positive());
    p
}

fn labels_text(p: &Panel) -> String {
    p.labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A compact encoding for a hidden form field: the panel's JSON.
fn encode(p: &Panel) -> String {
    p.to_json().to_string()
}

fn decode(s: &str) -> Option<Panel> {
    serde_json::from_str::<Panel>(s)
        .ok()
        .filter(|p| !p.metric.is_empty())
}

fn heading(p: &Panel) -> String {
    if !p.title.is_empty() {
        return p.title.clone();
    }
    let mut h = p.metric.clone();
    if !p.labels.is_empty() {
        h.push_str(&format!("{{{}}}", labels_text(p)));
    }
    if let Some(agg) = p.agg {
        h = format!("{agg}({h})");
    }
    h
}

/// `host=a, region=eu` (or `host:a`) → pairs.
fn parse_labels(s: &str) -> Vec<(String, String)> {
    s.split(',')
        .filter_map(|p| {
            let p = p.trim();
            let (k, v) = p.split_once('=').or_else(|| p.split_once(':'))?;
            let k = k.trim();
            (!k.is_empty()).then(|| (k.to_string(), v.trim().trim_matches('"').to_string()))
        })
        .collect()
}

/// `GET /ui/metrics`.
pub(crate) async fn page(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Response {
    let form = Form::parse(raw.as_deref());
    let (range, range_problem) = TimeRange::from_form(&form);
    let current = panel_from_form(&form);
    // The panels of the dashboard being built (or opened).
    let mut panels: Vec<Panel> = form.all("panel").iter().filter_map(|p| decode(p)).collect();
    let mut dashboard: Option<Dashboard> = None;
    let mut problems = Vec::new();
    if let Some(id) = form.get("dashboard") {
        match json_of(
            crate::routes::dashboards::get(State(state.clone()), Path(id.to_string())).await,
        ) {
            Ok(d) => {
                // `edited`: the panels of the form are the dashboard's, even when none are left.
                if panels.is_empty() && form.get("edited").is_none() {
                    panels = d.spec.panels.clone();
                }
                dashboard = Some(d);
            }
            Err(e) => problems.push(error_box(&e)),
        }
    }
    if form.get("add").is_some() && !current.metric.is_empty() {
        panels.push(current.clone());
    }
    if let Some(i) = form.get("remove").and_then(|i| i.parse::<usize>().ok())
        && i < panels.len()
    {
        panels.remove(i);
    }
    let names = metric_names(&state, form.str("search")).await;
    let dashboards = json_of(crate::routes::dashboards::list(State(state.clone())).await)
        .map(|page| page.dashboards)
        .unwrap_or_default();
    let mut charts = Vec::new();
    if !current.metric.is_empty() && form.get("add").is_none() {
        charts.push((None, chart(&state, &range, &current).await));
    }
    for (i, p) in panels.iter().enumerate() {
        charts.push((Some(i), chart(&state, &range, p).await));
    }
    let panel_inputs = html! {
        @for p in &panels { input type="hidden" name="panel" value=(encode(p)); }
        @if let Some(d) = &dashboard {
            input type="hidden" name="dashboard" value=(d.id);
            input type="hidden" name="edited" value="1";
        }
    };
    let body = html! {
        @if let Some(p) = range_problem { (notice(&p)) }
        @for p in &problems { (p) }
        div.metrics {
            aside.names {
                form method="get" action="metrics" {
                    (range_inputs(&range))
                    (panel_inputs)
                    input type="search" name="search" value=(form.str("search")) placeholder="Search metrics"
                        aria-label="Search metrics"
                        hx-get="metrics/names" hx-trigger="input changed delay:200ms" hx-target="#metric-names"
                        hx-include="closest form";
                }
                ul #metric-names { (names_list(&names, &range, &panels, dashboard.as_ref())) }
                h3 { "Dashboards" }
                @if dashboards.is_empty() { p.muted { "None saved yet." } }
                ul.dashboards {
                    @for d in &dashboards {
                        li { a href={ "metrics?" (qs(&[("dashboard", d.id.as_str())])) "&" (qs(&range.link_pairs())) } { (d.spec.name) } }
                    }
                }
            }
            section.charts {
                @if let Some(d) = &dashboard {
                    h1 { "Dashboard: " (d.spec.name) }
                }
                @if !current.metric.is_empty() {
                    form.filters method="get" action="metrics" {
                        (range_inputs(&range))
                        (panel_inputs)
                        input type="hidden" name="name" value=(current.metric);
                        strong.metric-name { (current.metric) }
                        input type="text" name="labels" value=(labels_text(&current)) placeholder="label filters: host=a, region=eu" aria-label="Label filters";
                        select name="agg" aria-label="Aggregation" {
                            @for a in AGGS { option value=(a) selected[a == current.agg_name()] { (a) } }
                        }
                        select name="step" aria-label="Step" {
                            @for s in STEPS { option value=(s) selected[s == current.step_text()] { "step " (s) } }
                        }
                        button type="submit" { "Show" }
                        button type="submit" name="add" value="1" { "Add to dashboard" }
                    }
                } @else if panels.is_empty() {
                    p.empty { "Pick a metric on the left to chart it; add charts to build a dashboard." }
                }
                @for (i, c) in &charts {
                    article.panel {
                        (c)
                        @if let Some(i) = i {
                            form.inline method="get" action="metrics" {
                                (range_inputs(&range))
                                (panel_inputs)
                                input type="hidden" name="remove" value=(i);
                                button.link type="submit" { "Remove from dashboard" }
                            }
                        }
                    }
                }
                @if !panels.is_empty() && super::can_admin() {
                    form.filters method="post" action="metrics/dashboards" {
                        (range_inputs(&range))
                        (panel_inputs)
                        input type="text" name="dashboard_name" required placeholder="dashboard name"
                            value=(dashboard.as_ref().map(|d| d.spec.name.as_str()).unwrap_or_default()) aria-label="Dashboard name";
                        button type="submit" { @if dashboard.is_some() { "Save dashboard" } @else { "Save as dashboard" } }
                    }
                    @if let Some(d) = &dashboard {
                        form.inline method="post" action={ "metrics/dashboards/" (d.id) "/delete" } {
                            button.link.danger type="submit" { "Delete dashboard" }
                        }
                    }
                }
            }
        }
    };
    let mut keep = vec![
        ("name", current.metric.clone()),
        ("labels", labels_text(&current)),
    ];
    if !current.metric.is_empty() {
        keep.push(("agg", current.agg_name().to_string()));
        keep.push(("step", current.step_text()));
    }
    for p in &panels {
        keep.push(("panel", encode(p)));
    }
    if let Some(d) = &dashboard {
        keep.push(("dashboard", d.id.clone()));
    }
    super::page(&state, "Metrics", Nav::Metrics, &range, &keep, body).await
}

/// Metric names containing `search` (case-insensitively), from `/api/v1/metrics/names`.
async fn metric_names(state: &AppState, search: &str) -> Vec<String> {
    let needle = search.to_lowercase();
    json_of(crate::routes::metrics::names(State(state.clone())).await)
        .map(|v| {
            v.names
                .into_iter()
                .filter(|n| n.to_lowercase().contains(&needle))
                .collect()
        })
        .unwrap_or_default()
}

fn names_list(
    names: &[String],
    range: &TimeRange,
    panels: &[Panel],
    dashboard: Option<&Dashboard>,
) -> Markup {
    let mut carry: Vec<(&str, String)> = range.link_pairs();
    for p in panels {
        carry.push(("panel", encode(p)));
    }
    if let Some(d) = dashboard {
        carry.push(("dashboard", d.id.clone()));
    }
    html! {
        @if names.is_empty() { li.muted { "No metrics." } }
        @for n in names {
            li { a href={ "metrics?" (qs(&carry)) "&" (qs(&[("name", n)])) } { (n) } }
        }
    }
}

/// `GET /ui/metrics/names?search=…`: the filtered list, for htmx.
pub(crate) async fn names_fragment(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Response {
    let form = Form::parse(raw.as_deref());
    let (range, _) = TimeRange::from_form(&form);
    let panels: Vec<Panel> = form.all("panel").iter().filter_map(|p| decode(p)).collect();
    let names = metric_names(&state, form.str("search")).await;
    html_response(names_list(&names, &range, &panels, None))
}

/// One panel's chart, from `GET /api/v1/metrics`.
async fn chart(state: &AppState, range: &TimeRange, panel: &Panel) -> Markup {
    let mut p = range.api_pairs();
    p.push(("name", panel.metric.clone()));
    for (k, v) in &panel.labels {
        p.push(("label", format!("{k}:{v}")));
    }
    if let Some(agg) = panel.agg {
        p.push(("agg", agg.as_str().to_string()));
        let step = match panel.step {
            Some(d) => d.to_string(),
            None => format_duration(bucket_width(range.width(), 120)),
        };
        p.push(("step", step));
    }
    let answer =
        json_of(crate::routes::metrics::query(State(state.clone()), RawQuery(Some(qs(&p)))).await);
    html! {
        h3 { (heading(panel)) }
        @match answer {
            Ok(v) => {
                @let lines = lines_of(&v);
                @if lines.is_empty() {
                    p.empty { "No points for " (panel.metric) " in this range." }
                } @else {
                    (line_chart(&lines, range.start.0, range.end.0))
                }
            }
            Err(e) => (error_box(&e)),
        }
    }
}

/// The API's series as chart lines, labelled `name{k="v", …}`: the value of each point (the
/// sum for histograms and summaries).
fn lines_of(v: &SeriesAnswer) -> Vec<Line> {
    v.series
        .iter()
        .map(|s| {
            let labels = s
                .labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{v}\""))
                .collect::<Vec<_>>()
                .join(", ");
            let points = s
                .points
                .iter()
                .filter_map(|p| Some((p.timestamp.0, p.plotted()?)))
                .collect();
            Line {
                label: format!("{}{{{labels}}}", s.name),
                points,
            }
        })
        .filter(|l: &Line| !l.points.is_empty())
        .collect()
}

/// `POST /ui/metrics/dashboards`: saves the panels as a dashboard (a new one, or the open one
/// under its id), then opens it.
pub(crate) async fn save_dashboard(State(state): State<AppState>, body: Bytes) -> Response {
    let form = Form::parse(std::str::from_utf8(&body).ok());
    let (range, _) = TimeRange::from_form(&form);
    let panels: Vec<Value> = form
        .all("panel")
        .iter()
        .filter_map(|p| decode(p))
        .map(|p| p.to_json())
        .collect();
    // The form's fields, read as the API reads a dashboard's JSON (every problem named).
    let v = json!({"name": form.str("dashboard_name"), "panels": panels});
    let saved = match crate::routes::dashboards::read_spec(&v) {
        Err(e) => Err(e),
        Ok(spec) => match form.get("dashboard") {
            Some(id) => crate::routes::dashboards::update_spec(&state, id.to_string(), spec).await,
            None => crate::routes::dashboards::create_spec(&state, spec).await,
        },
    };
    match saved {
        Ok(d) => {
            let mut p = vec![("dashboard", d.id)];
            p.extend(range.link_pairs());
            see_other(&format!("metrics?{}", qs(&p)))
        }
        Err(e) => {
            super::page(
                &state,
                "Metrics",
                Nav::Metrics,
                &range,
                &[],
                html! { (error_box(&e)) p { a href="metrics" { "Back to metrics" } } },
            )
            .await
        }
    }
}

/// `POST /ui/metrics/dashboards/{id}/delete`.
pub(crate) async fn delete_dashboard(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Response {
    match crate::routes::dashboards::delete(State(state.clone()), Path(id)).await {
        Ok(_) => see_other("metrics"),
        Err(e) => html_response(error_box(&e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_parse_from_text() {
        assert_eq!(
            parse_labels("host=a, region:eu ,bad, =x"),
            [
                ("host".to_string(), "a".to_string()),
                ("region".to_string(), "eu".to_string())
            ]
        );
    }

    #[test]
    fn panels_round_trip_through_their_encoding() {
        let mut p = Panel::new("cpu");
        p.labels.insert("host".into(), "a".into());
        p.agg = Some(Agg::Max);
        p.step = Some(Duration::from_secs(60));
        assert_eq!(decode(&encode(&p)), Some(p.clone()));
        assert_eq!(heading(&p), "max(cpu{host=a})");
        p.agg = None;
        assert_eq!(decode(&encode(&p)), Some(p));
        assert_eq!(decode("{}"), None);
    }
}
