//! The Alerts page: active alerts, rules with their state, create/edit forms validated by the
//! API (each problem shown at its field), a preview that runs the rule now, silences, the
//! history, and notification channels with a test button.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use maud::{Markup, html};
use std::collections::BTreeMap;

use heimsight_core::Timestamp;
use heimsight_core::api::{ChannelView, HistoryEntry, Matcher, RulePreview};
use serde_json::{Map, Value, json};

use super::{
    Form, Nav, TimeRange, error_box, fmt_time, html_response, notice, qs, see_other, value_text,
};
use crate::api_error::ApiError;
use crate::body::JsonBody;
use crate::routes::{alerts as api, channels as ch_api};
use crate::state::AppState;

const KINDS: [&str; 5] = ["threshold", "log_pattern", "trace", "anomaly", "absence"];
const OPS: [&str; 6] = [">", ">=", "<", "<=", "==", "!="];
const SEVERITIES: [&str; 3] = ["info", "warning", "critical"];
const ANOMALY_METHODS: [&str; 2] = ["zscore", "ewma"];
const DIRECTIONS: [&str; 3] = ["both", "above", "below"];
/// The anomaly settings that are numbers (sent as numbers when they read as one).
const ANOMALY_NUMBERS: [&str; 4] = ["sensitivity", "min_history", "history", "alpha"];
const MEASURES: [&str; 8] = [
    "p99",
    "p95",
    "p90",
    "p50",
    "avg",
    "max",
    "error_rate",
    "count",
];

fn body_form(body: &Bytes) -> Form {
    Form::parse(std::str::from_utf8(body).ok())
}

fn json_body(v: &Value) -> JsonBody {
    JsonBody(Bytes::from(v.to_string()))
}

/// `GET /ui/alerts`.
pub(crate) async fn page(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Response {
    let form = Form::parse(raw.as_deref());
    let (range, _) = TimeRange::from_form(&form);
    let rules = api::list_rules(State(state.clone())).await.0.rules;
    let active = api::list_alerts(State(state.clone()), RawQuery(None))
        .await
        .map(|a| a.0.alerts);
    let history = api::history(State(state.clone()), RawQuery(Some("limit=50".into())))
        .await
        .map(|h| h.0.history);
    let silences = api::list_silences(State(state.clone())).await.0.silences;
    let channels = ch_api::list(State(state.clone()))
        .await
        .map(|page| page.0.channels);
    // Admin actions (forms that change things) only for keys that may use them.
    let admin = super::can_admin();
    let body = html! {
        @if let Some(m) = form.get("msg") { (notice(m)) }
        @if let Some(m) = form.get("err") { div.error role="alert" { (m) } }
        section #active {
            h2 { "Active alerts" }
            @match &active {
                Ok(alerts) => {
                    @if alerts.is_empty() { p.empty { "Nothing pending or firing." } }
                    @else {
                        table {
                            thead { tr { th { "state" } th { "rule" } th { "labels" } th { "value" } th { "since" } } }
                            tbody {
                                @for a in alerts {
                                    tr {
                                        td { (state_badge(a.state.as_str())) @if a.silenced { " " span.badge { "silenced" } } }
                                        td { (a.rule_name) }
                                        td.muted { (labels_text(&a.labels)) }
                                        td { (number_text(a.value)) }
                                        td { (time_text(a.since)) }
                                    }
                                }
                            }
                        }
                    }
                }
                Err(e) => (error_box(e)),
            }
        }
        section #rules {
            h2 { "Rules " @if admin { a.button href="alerts/new" { "New rule" } } }
            @if rules.is_empty() { p.empty { "No rules yet." } }
            @else {
                table.rules {
                    thead { tr { th { "state" } th { "name" } th { "kind" } th { "severity" } th { "last evaluation" } th {} } }
                    tbody {
                        @for r in &rules {
                            @let id = &r.id;
                            tr data-rule=(r.rule.name) {
                                td { (state_badge(r.state.as_str())) }
                                td {
                                    a href={ "alerts/rules/" (id) } { (r.rule.name) }
                                    @if let Some(e) = &r.last_error { br; small.err-text { (e) } }
                                }
                                td { (r.rule.kind.name()) }
                                td { span class={ "sev sev-" (r.rule.severity.as_str()) } { (r.rule.severity.as_str()) } }
                                td.muted { (r.last_evaluation.map(time_text).unwrap_or_default()) }
                                td {
                                    @if admin {
                                        form.inline method="post" action={ "alerts/rules/" (id) "/delete" }
                                            hx-confirm="Delete this rule?" {
                                            button.link.danger type="submit" { "delete" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section #silences {
            h2 { "Silences" }
            @if silences.is_empty() { p.muted { "No silences." } }
            @else {
                table {
                    thead { tr { th { "matchers" } th { "status" } th { "ends" } th { "comment" } th {} } }
                    tbody {
                        @for s in &silences {
                            tr {
                                td { (matchers_text(&s.matchers)) }
                                td { (s.status.as_str()) }
                                td { (time_text(s.ends_at)) }
                                td { (s.comment) }
                                td { @if admin { form.inline method="post" action={ "alerts/silences/" (s.id) "/delete" } { button.link.danger type="submit" { "expire" } } } }
                            }
                        }
                    }
                }
            }
            @if admin {
                form.filters method="post" action="alerts/silences" {
                    input type="text" name="matchers" required placeholder="matchers: alertname=High CPU, service=api" aria-label="Matchers";
                    input.short type="text" name="duration" value="2h" aria-label="Duration";
                    input type="text" name="comment" placeholder="comment" aria-label="Comment";
                    button type="submit" { "Silence" }
                }
            }
        }
        section #channels {
            h2 { "Notification channels" }
            @match &channels {
                Ok(list) => {
                    @if list.is_empty() { p.muted { "No channels yet." } }
                    @else {
                        table {
                            thead { tr { th { "name" } th { "type" } th { "settings" } th {} } }
                            tbody {
                                @for c in list {
                                    @let id = &c.id;
                                    tr {
                                        td { (c.name) }
                                        td { (c.kind) }
                                        td.muted { (pairs_text(&c.settings, ", ")) }
                                        td {
                                            @if admin {
                                            form.inline method="post" action={ "alerts/channels/" (id) "/test" }
                                                hx-post={ "alerts/channels/" (id) "/test" } hx-target="next .result" hx-swap="innerHTML" {
                                                button type="submit" { "Send test" }
                                            }
                                            span.result {}
                                            form.inline method="post" action={ "alerts/channels/" (id) "/delete" } {
                                                button.link.danger type="submit" { "delete" }
                                            }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                Err(e) => (error_box(e)),
            }
            @if admin {
            details.new-channel {
                summary { "Add a channel" }
                form.stack method="post" action="alerts/channels" {
                    label { "Name " input type="text" name="name" required; }
                    label { "Type " select name="type" { @for t in heimsight_notify::KINDS { option value=(t) { (t) } } } }
                    label { "Settings, one key=value per line (lists comma-separated)"
                        textarea name="settings" rows="4" placeholder="url=https://hooks.slack.com/services/…" {} }
                    button type="submit" { "Add channel" }
                }
            }
            }
        }
        section #history {
            h2 { "History" }
            @match &history {
                Ok(entries) => {
                    @let channel_names = channel_names(&channels);
                    @if entries.is_empty() { p.muted { "Nothing yet." } }
                    @else {
                        table {
                            thead { tr { th { "time" } th { "event" } th { "rule" } th { "labels" } th { "detail" } } }
                            tbody {
                                @for h in entries {
                                    tr {
                                        td { (time_text(h.at())) }
                                        td { (h.kind()) @if let HistoryEntry::State(c) = h { " → " (state_badge(c.to.as_str())) } }
                                        td { (h.rule_name()) }
                                        @match h {
                                            HistoryEntry::State(c) => {
                                                td.muted { (labels_text(&c.labels)) }
                                                td.muted { @if c.value.is_some() { "value " (number_text(c.value)) " " } }
                                            }
                                            HistoryEntry::Delivered(d) | HistoryEntry::DeliveryFailed(d) => {
                                                td.muted {}
                                                td.muted {
                                                    "channel " (channel_names.get(&d.channel_id).unwrap_or(&d.channel_id)) " "
                                                    (d.message)
                                                }
                                            }
                                            HistoryEntry::Unknown => { td.muted {} td.muted {} }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                Err(e) => (error_box(e)),
            }
        }
    };
    super::page(&state, "Alerts", Nav::Alerts, &range, &[], body).await
}

/// The names of the channels listed by the channels API, by id (a deleted channel is not
/// there: the history shows its id).
fn channel_names(
    channels: &Result<Vec<ChannelView>, ApiError>,
) -> std::collections::HashMap<String, String> {
    let Ok(list) = channels else {
        return std::collections::HashMap::new();
    };
    list.iter()
        .map(|c| (c.id.clone(), c.name.clone()))
        .collect()
}

/// A time of the alert API for people.
fn time_text(t: Timestamp) -> String {
    fmt_time(&t.to_rfc3339())
}

/// A rule's value for people: at most 4 decimals, no float noise (`0.7449999999999999` →
/// `0.745`); nothing when there is none.
fn number_text(v: Option<f64>) -> String {
    let Some(f) = v.filter(|f| f.is_finite()) else {
        return String::new();
    };
    let s = format!("{f:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn state_badge(s: &str) -> Markup {
    html! { span class={ "state state-" (s) } { (s) } }
}

/// An object's entries as `k=v` joined by `sep` (labels on one line, or one per line).
fn pairs_text(m: &Map<String, Value>, sep: &str) -> String {
    m.iter()
        .map(|(k, v)| format!("{k}={}", value_text(v)))
        .collect::<Vec<_>>()
        .join(sep)
}

fn labels_text(labels: &BTreeMap<String, String>) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn matchers_text(matchers: &[Matcher]) -> String {
    matchers
        .iter()
        .map(|m| format!("{}{}{}", m.name, m.op, m.value))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A rule's form values: from a rule's JSON (editing) or a submitted form.
#[derive(Debug, Default)]
struct RuleForm {
    values: Map<String, Value>,
}

impl RuleForm {
    fn from_rule(r: &Value) -> RuleForm {
        let mut v = r.as_object().cloned().unwrap_or_default();
        if let Some(c) = r["condition"].as_object() {
            v.insert("op".into(), c.get("op").cloned().unwrap_or(Value::Null));
            v.insert(
                "threshold".into(),
                c.get("threshold").cloned().unwrap_or(Value::Null),
            );
        }
        v.insert(
            "labels".into(),
            json!(
                r["labels"]
                    .as_object()
                    .map(|m| pairs_text(m, "\n"))
                    .unwrap_or_default()
            ),
        );
        v.insert("summary".into(), r["annotations"]["summary"].clone());
        // Annotations the form has no field for travel in a hidden field, so an edit keeps them.
        let mut extra = r["annotations"].as_object().cloned().unwrap_or_default();
        extra.remove("summary");
        if !extra.is_empty() {
            v.insert(
                "annotations_extra".into(),
                json!(Value::Object(extra).to_string()),
            );
        }
        if let Some(g) = r["group_by"].as_array() {
            v.insert(
                "group_by".into(),
                json!(g.iter().map(value_text).collect::<Vec<_>>().join(", ")),
            );
        }
        RuleForm { values: v }
    }

    fn get(&self, k: &str) -> String {
        self.values.get(k).map(value_text).unwrap_or_default()
    }

    fn channels(&self) -> Vec<String> {
        self.values
            .get("channels")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(value_text).collect())
            .unwrap_or_default()
    }
}

/// The rule JSON the API takes, from the form: empty fields are left out, so the API's
/// defaults apply.
fn rule_json(f: &Form) -> Value {
    let mut o = Map::new();
    for k in [
        "name",
        "kind",
        "description",
        "query",
        "pattern",
        "filter",
        "measure",
        "window",
        "interval",
        "for",
        "keep_firing_for",
        "absent_for",
        "severity",
    ] {
        if let Some(v) = f.get(k) {
            o.insert(k.into(), json!(v));
        }
    }
    if let Some(g) = f.get("group_by") {
        let groups: Vec<&str> = g
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        o.insert("group_by".into(), json!(groups));
    }
    // The form has the fields of every kind, with a method, a direction and an operator
    // always selected: only what belongs to the rule's kind is sent.
    let number = |s: &str| s.parse::<f64>().map_or_else(|_| json!(s), |n| json!(n));
    match f.str("kind") {
        "anomaly" => {
            for k in ["method", "direction"] {
                if let Some(v) = f.get(k) {
                    o.insert(k.into(), json!(v));
                }
            }
            for k in ANOMALY_NUMBERS {
                if let Some(v) = f.get(k) {
                    o.insert(k.into(), number(v));
                }
            }
        }
        // No condition: the rule fires when the query finds nothing.
        "absence" => {}
        // A condition when a threshold is given (a threshold query may end with its own
        // comparison instead).
        _ => {
            if let Some(t) = f.get("threshold") {
                o.insert(
                    "condition".into(),
                    json!({"op": f.get("op").unwrap_or(">"), "threshold": number(t)}),
                );
            }
        }
    }
    let labels: Map<String, Value> = f
        .str("labels")
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), json!(v.trim())))
        .filter(|(k, _)| !k.is_empty())
        .collect();
    if !labels.is_empty() {
        o.insert("labels".into(), Value::Object(labels));
    }
    let mut annotations: Map<String, Value> = f
        .get("annotations_extra")
        .and_then(|a| serde_json::from_str::<Value>(a).ok())
        .and_then(|a| a.as_object().cloned())
        .unwrap_or_default();
    if let Some(s) = f.get("summary") {
        annotations.insert("summary".into(), json!(s));
    }
    if !annotations.is_empty() {
        o.insert("annotations".into(), Value::Object(annotations));
    }
    let channels = f.all("channels");
    if !channels.is_empty() {
        o.insert("channels".into(), json!(channels));
    }
    o.insert("enabled".into(), json!(f.get("enabled").is_some()));
    Value::Object(o)
}

/// The problems of an invalid rule, by field (`condition.threshold` → `threshold`).
fn field_errors(e: &ApiError) -> Vec<(String, String)> {
    e.error_body()
        .errors
        .into_iter()
        .map(|x| {
            let field = x
                .field
                .strip_prefix("condition.")
                .map_or_else(|| x.field.clone(), str::to_string);
            (field, x.reason)
        })
        .collect()
}

async fn channel_list(state: &AppState) -> Vec<ChannelView> {
    ch_api::list(State(state.clone()))
        .await
        .map(|page| page.0.channels)
        .unwrap_or_default()
}

/// The create/edit form. `errors` are the API's problems by field; `extra` is shown above
/// the buttons (a preview).
async fn rule_form_page(
    state: &AppState,
    action: &str,
    title: &str,
    f: &RuleForm,
    error: Option<&ApiError>,
    extra: Option<Markup>,
) -> Response {
    let errors = error.map(field_errors).unwrap_or_default();
    let field_error = |k: &str| -> Markup {
        html! {
            @for (field, reason) in errors.iter().filter(|(f, _)| f == k || f.starts_with(&format!("{k}.")) || f.starts_with(&format!("{k}["))) {
                span.field-error role="alert" { (field) ": " (reason) }
            }
        }
    };
    let channels = channel_list(state).await;
    let chosen = f.channels();
    let kind = f.get("kind");
    let kind = if kind.is_empty() {
        "threshold".to_string()
    } else {
        kind
    };
    let enabled = f.values.get("enabled").is_none_or(|v| v != &json!(false));
    let text = |k: &str, label: &str, placeholder: &str| -> Markup {
        html! {
            label { (label) " " input type="text" name=(k) value=(f.get(k)) placeholder=(placeholder); (field_error(k)) }
        }
    };
    let body = html! {
        h1 { (title) }
        @if let Some(e) = error { (error_box(e)) }
        form.stack.rule-form method="post" action=(action) {
            (text("name", "Name", "High CPU"))
            label { "Kind "
                select name="kind" { @for k in KINDS { option value=(k) selected[k == kind] { (k) } } }
                (field_error("kind"))
            }
            (text("description", "Description", ""))
            label { "Query (threshold, anomaly, absence)"
                textarea name="query" rows="3" placeholder="SELECT avg(value) FROM metrics WHERE name = 'cpu'" { (f.get("query")) }
                (field_error("query"))
            }
            div.row {
                (text("pattern", "Pattern (log_pattern)", "\"connection refused\""))
                (text("filter", "Filter (log_pattern, trace)", "level = 'error'"))
                (text("group_by", "Group by", "service"))
                label { "Measure (trace) "
                    select name="measure" {
                        option value="" { "default" }
                        @for m in MEASURES { option value=(m) selected[f.get("measure") == m] { (m) } }
                    }
                    (field_error("measure"))
                }
            }
            div.row {
                label { "Condition "
                    select name="op" { @for o in OPS { option value=(o) selected[f.get("op") == o] { (o) } } }
                    (field_error("op"))
                }
                (text("threshold", "Threshold", "0.9"))
            }
            div.row {
                label { "Method (anomaly) "
                    select name="method" {
                        @for m in ANOMALY_METHODS { option value=(m) selected[f.get("method") == m] { (m) } }
                    }
                    (field_error("method"))
                }
                (text("sensitivity", "Sensitivity (anomaly)", "4"))
                (text("history", "History (anomaly, points)", "60"))
                (text("min_history", "Minimum history (anomaly)", "20"))
                (text("alpha", "Smoothing alpha (anomaly, ewma)", "0.1"))
                label { "Direction (anomaly) "
                    select name="direction" {
                        @for d in DIRECTIONS { option value=(d) selected[f.get("direction") == d] { (d) } }
                    }
                    (field_error("direction"))
                }
            }
            div.row {
                (text("window", "Window", "5m"))
                (text("interval", "Interval", "1m"))
                (text("for", "For", "0s"))
                (text("keep_firing_for", "Keep firing for", "0s"))
                (text("absent_for", "Absent for (absence)", "10m"))
            }
            label { "Severity "
                select name="severity" { @for s in SEVERITIES { option value=(s) selected[f.get("severity") == s || (f.get("severity").is_empty() && s == "warning")] { (s) } } }
                (field_error("severity"))
            }
            label { "Labels, one key=value per line" textarea name="labels" rows="2" { (f.get("labels")) } (field_error("labels")) }
            (text("summary", "Summary annotation", "CPU at {{ $value }} on {{ $labels.host }}"))
            fieldset {
                legend { "Channels" }
                @if channels.is_empty() { span.muted { "No channels yet (add one on the Alerts page)." } }
                @for c in &channels {
                    label.check { input type="checkbox" name="channels" value=(c.id) checked[chosen.contains(&c.id) || chosen.contains(&c.name)]; " " (c.name) " (" (c.kind) ")" }
                }
                (field_error("channels"))
            }
            label.check { input type="checkbox" name="enabled" value="true" checked[enabled]; " enabled" }
            @if !f.get("annotations_extra").is_empty() {
                input type="hidden" name="annotations_extra" value=(f.get("annotations_extra"));
            }
            @for (field, reason) in errors.iter().filter(|(f, _)| !FORM_FIELDS.iter().any(|k| f == k || f.starts_with(&format!("{k}.")) || f.starts_with(&format!("{k}[")))) {
                span.field-error role="alert" { (field) ": " (reason) }
            }
            div #preview { @if let Some(x) = extra { (x) } }
            @if super::can_admin() {
                div.buttons {
                    button type="submit" name="action" value="save" { "Save rule" }
                    button type="submit" name="action" value="preview" hx-post="alerts/preview" hx-target="#preview" hx-swap="innerHTML" { "Preview" }
                    a href="alerts" { "Cancel" }
                }
            } @else {
                p.muted { "Read only: changing rules needs an admin key. " a href="alerts" { "Back" } }
            }
        }
    };
    let (range, _) = TimeRange::from_form(&Form::default());
    super::page(state, title, Nav::Alerts, &range, &[], body).await
}

/// Fields the form shows errors next to.
const FORM_FIELDS: [&str; 25] = [
    "name",
    "kind",
    "query",
    "pattern",
    "filter",
    "group_by",
    "measure",
    "op",
    "threshold",
    "method",
    "sensitivity",
    "history",
    "min_history",
    "alpha",
    "direction",
    "window",
    "interval",
    "for",
    "keep_firing_for",
    "absent_for",
    "severity",
    "labels",
    "summary",
    "channels",
    "description",
];

/// `GET /ui/alerts/new`.
pub(crate) async fn new_form(State(state): State<AppState>) -> Response {
    rule_form_page(
        &state,
        "alerts/new",
        "New alert rule",
        &RuleForm::default(),
        None,
        None,
    )
    .await
}

fn form_values(f: &Form) -> RuleForm {
    let mut r = RuleForm::from_rule(&rule_json(f));
    // Keep the text the user typed, as typed.
    for k in [
        "labels",
        "group_by",
        "threshold",
        "sensitivity",
        "history",
        "min_history",
        "alpha",
        "op",
        "summary",
    ] {
        r.values.insert(k.into(), json!(f.str(k)));
    }
    r
}

/// `POST /ui/alerts/new`: creates the rule (or previews it), or shows the form again with
/// the API's problems.
pub(crate) async fn create(State(state): State<AppState>, body: Bytes) -> Response {
    let f = body_form(&body);
    let rule = rule_json(&f);
    if f.get("action") == Some("preview") {
        let p = preview_markup(&state, &rule).await;
        return rule_form_page(
            &state,
            "alerts/new",
            "New alert rule",
            &form_values(&f),
            None,
            Some(p),
        )
        .await;
    }
    match api::create_rule(State(state.clone()), json_body(&rule)).await {
        Ok(_) => see_other(&format!(
            "alerts?{}",
            qs(&[("msg", format!("Rule {:?} created.", f.str("name")))])
        )),
        Err(e) => {
            rule_form_page(
                &state,
                "alerts/new",
                "New alert rule",
                &form_values(&f),
                Some(&e),
                None,
            )
            .await
        }
    }
}

/// `GET /ui/alerts/rules/{id}`: the edit form.
pub(crate) async fn edit_form(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let action = format!("alerts/rules/{id}");
    match api::get_rule(State(state.clone()), Path(id)).await {
        Ok(axum::Json(r)) => {
            let title = format!("Edit rule {}", r.rule.name);
            rule_form_page(
                &state,
                &action,
                &title,
                &RuleForm::from_rule(&r.rule.to_json()),
                None,
                None,
            )
            .await
        }
        Err(e) => {
            rule_form_page(
                &state,
                &action,
                "Edit rule",
                &RuleForm::default(),
                Some(&e),
                None,
            )
            .await
        }
    }
}

/// `POST /ui/alerts/rules/{id}`: saves the whole rule (or previews it).
pub(crate) async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let f = body_form(&body);
    let rule = rule_json(&f);
    let action = format!("alerts/rules/{id}");
    let title = format!("Edit rule {}", f.str("name"));
    if f.get("action") == Some("preview") {
        let p = preview_markup(&state, &rule).await;
        return rule_form_page(&state, &action, &title, &form_values(&f), None, Some(p)).await;
    }
    match api::update_rule(State(state.clone()), Path(id), json_body(&rule)).await {
        Ok(_) => see_other(&format!(
            "alerts?{}",
            qs(&[("msg", format!("Rule {:?} saved.", f.str("name")))])
        )),
        Err(e) => rule_form_page(&state, &action, &title, &form_values(&f), Some(&e), None).await,
    }
}

/// `POST /ui/alerts/rules/{id}/delete`.
pub(crate) async fn delete(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    back_to_alerts(
        api::delete_rule(State(state), Path(id)).await,
        "Rule+deleted.",
    )
}

/// After a form's action: back to the Alerts page with `ok` as its notice (`ok` is a query
/// string value, already encoded, plus an optional `#anchor`), or with the API's error.
fn back_to_alerts<T>(result: Result<T, ApiError>, ok: &str) -> Response {
    match result {
        Ok(_) => see_other(&format!("alerts?msg={ok}")),
        Err(e) => back_with_error(&e),
    }
}

fn back_with_error(e: &ApiError) -> Response {
    let msg = value_text(&e.body()["error"]);
    see_other(&format!("alerts?{}", qs(&[("err", msg)])))
}

/// `POST /ui/alerts/preview` (htmx): what the rule sees now.
pub(crate) async fn preview(State(state): State<AppState>, body: Bytes) -> Response {
    let rule = rule_json(&body_form(&body));
    html_response(preview_markup(&state, &rule).await)
}

async fn preview_markup(state: &AppState, rule: &Value) -> Markup {
    match api::preview_rule(State(state.clone()), json_body(rule)).await {
        Ok(axum::Json(RulePreview { samples, .. })) => {
            html! {
                div.preview {
                    h3 { "Preview: what the rule sees now" }
                    @if samples.is_empty() { p.muted { "The query returned nothing in the window." } }
                    @else {
                        table {
                            thead { tr { th { "labels" } th { "value" } th { "condition" } } }
                            tbody {
                                @for s in &samples {
                                    tr {
                                        td { (labels_text(&s.labels)) }
                                        td.value { (number_text(s.value)) }
                                        td { @if s.active { span.state.state-firing { "holds" } } @else { span.state.state-inactive { "does not hold" } } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        Err(e) => html! { div.preview { (error_box(&e)) } },
    }
}

/// `POST /ui/alerts/silences`: `matchers` as `name=value, name!=value, …`.
pub(crate) async fn create_silence(State(state): State<AppState>, body: Bytes) -> Response {
    let f = body_form(&body);
    let matchers: Vec<Value> = f
        .str("matchers")
        .split(',')
        .filter_map(|m| {
            let (name, op, value) = heimsight_store::split_matcher(m.trim())?;
            Some(json!({"name": name, "value": value.trim(), "op": op.as_str()}))
        })
        .collect();
    let mut v = json!({"matchers": matchers, "duration": f.get("duration").unwrap_or("2h"), "created_by": "web UI"});
    if let Some(c) = f.get("comment") {
        v["comment"] = json!(c);
    }
    back_to_alerts(
        api::create_silence(State(state), json_body(&v)).await,
        "Silence+created.#silences",
    )
}

/// `POST /ui/alerts/silences/{id}/delete`.
pub(crate) async fn delete_silence(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Response {
    back_to_alerts(
        api::delete_silence(State(state), Path(id)).await,
        "Silence+expired.#silences",
    )
}

/// `POST /ui/alerts/channels`: `settings` as `key=value` lines; `to`, `headers`-less lists
/// are comma-separated.
pub(crate) async fn create_channel(State(state): State<AppState>, body: Bytes) -> Response {
    let f = body_form(&body);
    let mut settings = Map::new();
    for line in f.str("settings").lines() {
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let (k, v) = (k.trim(), v.trim());
        let value = match k {
            "to" => json!(
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
            ),
            "port" => v
                .parse::<u64>()
                .map(|n| json!(n))
                .unwrap_or_else(|_| json!(v)),
            "skip_tls_verify" => json!(v == "true"),
            _ => json!(v),
        };
        settings.insert(k.to_string(), value);
    }
    let v = json!({"name": f.str("name"), "type": f.str("type"), "settings": settings});
    back_to_alerts(
        ch_api::create(State(state), json_body(&v)).await,
        "Channel+added.#channels",
    )
}

/// `POST /ui/alerts/channels/{id}/test`: a fragment for htmx, or back to the page.
pub(crate) async fn test_channel(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
) -> Response {
    let result = ch_api::test(State(state), Path(id)).await;
    if headers.contains_key("hx-request") {
        return html_response(match result {
            Ok(_) => html! { span.ok { "✓ sent" } },
            Err(e) => html! { span.err-text { "✗ " (value_text(&e.body()["error"])) } },
        });
    }
    back_to_alerts(result, "Test+notification+sent.#channels")
}

/// `POST /ui/alerts/channels/{id}/delete`.
pub(crate) async fn delete_channel(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Response {
    back_to_alerts(
        ch_api::delete(State(state), Path(id)).await,
        "Channel+deleted.#channels",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_without_float_noise() {
        assert_eq!(number_text(Some(0.7449999999999999)), "0.745");
        assert_eq!(number_text(Some(2.0)), "2");
        assert_eq!(number_text(Some(3.0)), "3");
        assert_eq!(number_text(Some(-0.5)), "-0.5");
        assert_eq!(number_text(None), "");
    }

    #[test]
    fn the_form_becomes_the_api_rule() {
        let f = Form::parse(Some(
            "name=High+CPU&kind=threshold&query=avg(value)+FROM+metrics&op=%3E&threshold=0.9\
             &window=&labels=team%3Dops%0D%0Abad&summary=CPU+%7B%7B+%24value+%7D%7D&channels=c1",
        ));
        let r = rule_json(&f);
        assert_eq!(r["name"], "High CPU");
        assert_eq!(r["condition"], json!({"op": ">", "threshold": 0.9}));
        // A browser always sends the selected method and direction: they belong to anomaly
        // rules only, and only anomaly rules get the anomaly settings.
        let with = |kind: &str, rest: &str| {
            rule_json(&Form::parse(Some(&format!(
                "name=x&kind={kind}&query=q&method=zscore&direction=both&sensitivity=3&history=&op=%3E{rest}"
            ))))
        };
        let threshold = with("threshold", "&threshold=0.9");
        for k in ["method", "direction", "sensitivity", "history"] {
            assert!(threshold.get(k).is_none(), "{k} in {threshold}");
        }
        let anomaly = with("anomaly", "&threshold=0.9");
        assert_eq!(
            (
                &anomaly["method"],
                &anomaly["direction"],
                &anomaly["sensitivity"]
            ),
            (&json!("zscore"), &json!("both"), &json!(3.0))
        );
        assert!(
            anomaly.get("history").is_none(),
            "empty fields are not sent"
        );
        assert!(anomaly.get("condition").is_none(), "{anomaly}");
        // An absence rule has no condition, though the operator is always selected; nor has a
        // threshold rule without a threshold (its query ends with its own comparison).
        assert!(with("absence", "&threshold=").get("condition").is_none());
        assert!(with("threshold", "&threshold=").get("condition").is_none());
        assert!(
            r.get("window").is_none(),
            "empty fields keep the API's defaults"
        );
        assert_eq!(r["labels"], json!({"team": "ops"}));
        assert_eq!(r["annotations"]["summary"], "CPU {{ $value }}");
        assert_eq!(r["channels"], json!(["c1"]));
        assert_eq!(r["enabled"], false, "an unchecked box is not sent");
        // Annotations without a field of their own survive an edit.
        let rule = json!({"name": "x", "annotations": {"summary": "s", "runbook": "https://r"}});
        let form = RuleForm::from_rule(&rule);
        let f = Form::parse(Some(&qs(&[
            ("summary", form.get("summary")),
            ("annotations_extra", form.get("annotations_extra")),
        ])));
        assert_eq!(
            rule_json(&f)["annotations"],
            json!({"summary": "s", "runbook": "https://r"})
        );
    }
}
