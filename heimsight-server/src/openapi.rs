//! The REST API described as an OpenAPI 3.1 document, generated from the code with utoipa:
//! the request and answer shapes are the `heimsight_core::api` types (their `ToSchema`, feature
//! `openapi` of heimsight-core), the operations are declared here, one per route of the
//! `/api/v1/` routers, and [`openapi`] assembles them (with the error answers every operation
//! can give, and the ways to send an API key). `GET /api/v1/openapi.json` serves it; a test
//! compares it with the routes the router really has.

#![allow(dead_code)] // The functions below only carry `#[utoipa::path]` declarations.

use heimsight_core::api::*;
use serde_json::{Value, json};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{Object, Schema};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, PartialSchema, ToSchema};

/// The OpenAPI document of every `/api/v1/` route this build serves (the alerting routes only
/// with the `alerting` feature).
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    #[cfg(feature = "alerting")]
    doc.merge(AlertingDoc::openapi());
    Common.modify(&mut doc);
    doc
}

fn from_json(v: Value) -> RefOr<Schema> {
    serde_json::from_value(v).unwrap_or_else(|_| RefOr::T(Schema::Object(Object::new())))
}

macro_rules! schema {
    ($(#[$doc:meta])* $name:ident, $json:expr) => {
        $(#[$doc])*
        pub(crate) struct $name;
        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                from_json($json)
            }
        }
        impl ToSchema for $name {}
    };
}

fn one_or_many(item: Value) -> Value {
    json!({"oneOf": [item.clone(), {"type": "array", "items": item}]})
}

fn attributes() -> Value {
    json!({"type": "object", "description": "Attributes: values keep their JSON types (no null)."})
}

schema!(
    /// `POST /api/v1/logs`: one log record or an array of them.
    LogsInput,
    one_or_many(json!({
        "type": "object",
        "required": ["message"],
        "properties": {
            "message": {"type": "string", "description": "Required, not blank (`body` is an alias)."},
            "timestamp": {"description": "RFC 3339, Unix nanoseconds or `now-5m`; default: arrival.", "type": ["string", "integer"]},
            "level": {"type": "string", "description": "trace, debug, info, warn, error, fatal (aliases accepted)."},
            "service": {"type": "string"},
            "attributes": attributes(),
            "resource": attributes(),
            "trace_id": {"type": "string", "description": "32 hex digits."},
            "span_id": {"type": "string", "description": "16 hex digits; needs trace_id."}
        }
    }))
);

schema!(
    /// `POST /api/v1/traces`: one span or an array of them.
    SpansInput,
    one_or_many(json!({
        "type": "object",
        "required": ["trace_id", "span_id", "name", "start_time"],
        "properties": {
            "trace_id": {"type": "string", "description": "32 hex digits, not all zeros."},
            "span_id": {"type": "string", "description": "16 hex digits, not all zeros."},
            "parent_span_id": {"type": ["string", "null"]},
            "name": {"type": "string"},
            "service": {"type": "string"},
            "kind": {"type": "string", "description": "internal, server, client, producer, consumer."},
            "start_time": {"type": ["string", "integer"]},
            "end_time": {"type": ["string", "integer"]},
            "duration_ns": {"type": "integer"},
            "status": {"description": "`{\"code\": \"unset\"|\"ok\"|\"error\", \"message\"}` or the code."},
            "attributes": attributes(),
            "resource": attributes(),
            "events": {"type": "array", "items": {"type": "object"}},
            "links": {"type": "array", "items": {"type": "object"}}
        }
    }))
);

schema!(
    /// `POST /api/v1/metrics`: one metric point or an array of them.
    MetricsInput,
    one_or_many(json!({
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": {"type": "string"},
            "type": {"type": "string", "description": "gauge (default), counter, histogram, summary."},
            "value": {"description": "A number, or NaN, +Inf, -Inf as text (gauges)."},
            "timestamp": {"type": ["string", "integer"]},
            "labels": {"type": "object"},
            "buckets": {"type": "array", "items": {"type": "object"}},
            "sum": {"type": "number"},
            "count": {"type": "number"},
            "min": {"type": "number"},
            "max": {"type": "number"},
            "quantiles": {"type": "array", "items": {"type": "object"}},
            "temporality": {"type": "string", "description": "cumulative (default) or delta."},
            "monotonic": {"type": "boolean"}
        }
    }))
);

/// The error answers every operation may give besides its own, and the security schemes.
struct Common;

impl Modify for Common {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        // `ErrorBody` itself is among `ApiDoc`'s components.
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API key: `Authorization: Bearer hsk_…`"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Api-Key"))),
        );
        components.add_security_scheme(
            "basic",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some("Any user name, the API key as the password"))
                    .build(),
            ),
        );
        let error = |description: &str| -> RefOr<utoipa::openapi::Response> {
            RefOr::T(
                utoipa::openapi::ResponseBuilder::new()
                    .description(description)
                    .content(
                        "application/json",
                        utoipa::openapi::ContentBuilder::new()
                            .schema(Some(utoipa::openapi::Ref::from_schema_name("ErrorBody")))
                            .build(),
                    )
                    .build(),
            )
        };
        let common = [
            (
                "400",
                "The request is invalid: the error names each problem.",
            ),
            (
                "401",
                "No API key, or an unknown, revoked or expired one (with `auth.enabled`).",
            ),
            ("403", "The key lacks the scope the route needs."),
            ("405", "The path exists, not with this method."),
            ("413", "The body is larger than `max_body_bytes`."),
            ("415", "The body is not of a type this route reads."),
            (
                "429",
                "Over a rate limit or the ingest budget: retry after `Retry-After` seconds.",
            ),
            ("500", "The server failed (a bug: please report it)."),
            ("503", "The store is unavailable; retry later."),
        ];
        for item in doc.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                for (status, description) in common {
                    op.responses
                        .responses
                        .entry(status.to_string())
                        .or_insert_with(|| error(description));
                }
            }
        }
        doc.security = Some(vec![
            utoipa::openapi::security::SecurityRequirement::default(),
            utoipa::openapi::security::SecurityRequirement::new("bearer", Vec::<String>::new()),
            utoipa::openapi::security::SecurityRequirement::new("api_key", Vec::<String>::new()),
            utoipa::openapi::security::SecurityRequirement::new("basic", Vec::<String>::new()),
        ]);
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Heimsight REST API",
        description = "Logs, traces and metrics: ingest, query, administer. Every error answer is `ErrorBody`. With `auth.enabled` every route needs an API key (`ingest`, `read` or `admin` scope; see docs/operations.md). The full reference is docs/api.md.",
    ),
    paths(
        logs_ingest, logs_query, metrics_ingest, metrics_query, metric_names, traces_ingest,
        traces_search, trace, stats, status, query_get, query_post, retention_show,
        retention_update, dashboards_list, dashboards_create, dashboard_get, dashboard_update,
        dashboard_delete, keys_list, keys_create, keys_revoke, openapi_json,
    ),
    components(schemas(
        ErrorBody, LogsInput, SpansInput, MetricsInput, heimsight_core::LogRecord, heimsight_core::Span,
    )),
    tags(
        (name = "ingest", description = "Sending telemetry as JSON (OTLP is at /v1/ and on its own ports)."),
        (name = "read", description = "Queries, searches and the server's state."),
        (name = "admin", description = "Retention, dashboards, API keys, alerting."),
    )
)]
struct ApiDoc;

const TIME: &str = "RFC 3339, Unix nanoseconds, or relative to now (`now-1h`).";

#[utoipa::path(post, path = "/api/v1/logs", tag = "ingest",
    summary = "Store log records (one or an array)",
    request_body(content = LogsInput, content_type = "application/json"),
    responses(
        (status = 201, description = "Every record stored.", body = Accepted),
        (status = 400, description = "Invalid records: none stored if all are invalid; otherwise the valid ones are stored and the answer counts `accepted` and `rejected`.", body = ErrorBody),
    ))]
fn logs_ingest() {}

#[utoipa::path(get, path = "/api/v1/logs", tag = "read",
    summary = "Search logs, newest first",
    params(
        ("start_time" = Option<String>, Query, description = TIME),
        ("end_time" = Option<String>, Query, description = TIME),
        ("level" = Option<String>, Query, description = "One level or a comma list (`error,warn`)."),
        ("service" = Option<String>, Query, description = "One service or a comma list."),
        ("contains" = Option<String>, Query, description = "Case-insensitive substring of the message."),
        ("q" = Option<String>, Query, description = "Full-text: every word, `\"quoted phrases\"`."),
        ("attr" = Option<String>, Query, description = "`key:value`: an attribute (or resource attribute) equals value."),
        ("trace_id" = Option<String>, Query, description = "Only the records of this trace (32 hex digits)."),
        ("order" = Option<String>, Query, description = "`desc` (default) or `asc`."),
        ("limit" = Option<u32>, Query, description = "Page size, 0 to 10000 (default 100)."),
        ("offset" = Option<u32>, Query, description = "Matches to skip, 0 to 1000000."),
    ),
    responses((status = 200, description = "A page of matching records.", body = LogsPage)))]
fn logs_query() {}

#[utoipa::path(post, path = "/api/v1/metrics", tag = "ingest",
    summary = "Store metric points (one or an array)",
    request_body(content = MetricsInput, content_type = "application/json"),
    responses(
        (status = 201, description = "Every point stored.", body = Accepted),
        (status = 400, description = "Invalid points (the valid ones of a batch are stored).", body = ErrorBody),
    ))]
fn metrics_ingest() {}

#[utoipa::path(get, path = "/api/v1/metrics", tag = "read",
    summary = "Series and their points",
    params(
        ("name" = Option<String>, Query, description = "Metric name (all metrics without it)."),
        ("label" = Option<String>, Query, description = "`key:value`: the series' label equals value."),
        ("start_time" = Option<String>, Query, description = TIME),
        ("end_time" = Option<String>, Query, description = TIME),
        ("agg" = Option<String>, Query, description = "`avg`, `sum`, `min`, `max` or `count` per `step`."),
        ("step" = Option<String>, Query, description = "Window of `agg` (a duration; default 60s)."),
    ),
    responses((status = 200, description = "The matching series.", body = SeriesAnswer)))]
fn metrics_query() {}

#[utoipa::path(get, path = "/api/v1/metrics/names", tag = "read",
    summary = "Every metric name",
    responses((status = 200, description = "The names, sorted.", body = MetricNames)))]
fn metric_names() {}

#[utoipa::path(post, path = "/api/v1/traces", tag = "ingest",
    summary = "Store spans (one or an array)",
    request_body(content = SpansInput, content_type = "application/json"),
    responses(
        (status = 201, description = "Every span stored.", body = Accepted),
        (status = 400, description = "Invalid spans (the valid ones of a batch are stored).", body = ErrorBody),
    ))]
fn traces_ingest() {}

#[utoipa::path(get, path = "/api/v1/traces", tag = "read",
    summary = "Find traces, newest first",
    params(
        ("service" = Option<String>, Query, description = "Some span belongs to this service."),
        ("operation" = Option<String>, Query, description = "Some span has this name."),
        ("start_time" = Option<String>, Query, description = TIME),
        ("end_time" = Option<String>, Query, description = TIME),
        ("min_duration" = Option<String>, Query, description = "At least this long (`250ms`)."),
        ("max_duration" = Option<String>, Query, description = "At most this long."),
        ("status" = Option<String>, Query, description = "`error` or `ok`."),
        ("limit" = Option<u32>, Query, description = "At most this many, 0 to 1000 (default 20)."),
    ),
    responses((status = 200, description = "Summaries of the matching traces.", body = TracesPage)))]
fn traces_search() {}

#[utoipa::path(get, path = "/api/v1/traces/{trace_id}", tag = "read",
    summary = "One trace: spans, tree and correlated logs",
    params(("trace_id" = String, Path, description = "32 hex digits.")),
    responses(
        (status = 200, description = "The trace.", body = TraceDetail),
        (status = 404, description = "No span of this trace is stored.", body = ErrorBody),
    ))]
fn trace() {}

#[utoipa::path(get, path = "/api/v1/stats", tag = "read",
    summary = "What is stored, per signal",
    responses((status = 200, description = "Records, bytes, oldest and newest per signal.", body = StatsView)))]
fn stats() {}

#[utoipa::path(get, path = "/api/v1/status", tag = "read",
    summary = "The server: version, uptime, ingest rates, storage, memory, retention",
    responses((status = 200, description = "The server's state.", body = StatusView)))]
fn status() {}

#[utoipa::path(get, path = "/api/v1/query", tag = "read",
    summary = "Run a query of the query language",
    params(
        ("query" = String, Query, description = "The query (`SELECT … FROM logs WHERE …`)."),
        ("start" = Option<String>, Query, description = TIME),
        ("end" = Option<String>, Query, description = TIME),
        ("timeout_ms" = Option<u64>, Query, description = "Give up after this long."),
        ("max_rows" = Option<u64>, Query, description = "At most this many rows."),
    ),
    responses(
        (status = 200, description = "Columns and rows.", body = QueryAnswer),
        (status = 400, description = "The query does not parse or check: `diagnostics` locate each problem.", body = ErrorBody),
    ))]
fn query_get() {}

#[utoipa::path(post, path = "/api/v1/query", tag = "read",
    summary = "Run a query of the query language (JSON body)",
    request_body(content = QueryRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Columns and rows.", body = QueryAnswer),
        (status = 400, description = "The query does not parse or check: `diagnostics` locate each problem.", body = ErrorBody),
    ))]
fn query_post() {}

#[utoipa::path(get, path = "/api/v1/retention", tag = "admin",
    summary = "How long each signal is kept",
    responses((status = 200, description = "The retention in use.", body = RetentionView)))]
fn retention_show() {}

#[utoipa::path(put, path = "/api/v1/retention", tag = "admin",
    summary = "Change how long signals are kept (persisted)",
    request_body(content = RetentionUpdate, content_type = "application/json"),
    responses((status = 200, description = "The retention now in use.", body = RetentionView)))]
fn retention_update() {}

#[utoipa::path(get, path = "/api/v1/dashboards", tag = "admin",
    summary = "Saved dashboards",
    responses((status = 200, description = "Every dashboard.", body = DashboardsPage)))]
fn dashboards_list() {}

#[utoipa::path(post, path = "/api/v1/dashboards", tag = "admin",
    summary = "Save a dashboard",
    request_body(content = DashboardSpec, content_type = "application/json"),
    responses((status = 201, description = "Saved.", body = Dashboard)))]
fn dashboards_create() {}

#[utoipa::path(get, path = "/api/v1/dashboards/{id}", tag = "admin",
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "The dashboard.", body = Dashboard),
        (status = 404, description = "No such dashboard.", body = ErrorBody),
    ))]
fn dashboard_get() {}

#[utoipa::path(put, path = "/api/v1/dashboards/{id}", tag = "admin",
    params(("id" = String, Path)),
    request_body(content = DashboardSpec, content_type = "application/json"),
    responses(
        (status = 200, description = "Replaced.", body = Dashboard),
        (status = 404, description = "No such dashboard.", body = ErrorBody),
    ))]
fn dashboard_update() {}

#[utoipa::path(delete, path = "/api/v1/dashboards/{id}", tag = "admin",
    params(("id" = String, Path)),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, description = "No such dashboard.", body = ErrorBody),
    ))]
fn dashboard_delete() {}

#[utoipa::path(get, path = "/api/v1/keys", tag = "admin",
    summary = "API keys (never their secrets)",
    responses((status = 200, description = "Every key.", body = KeysPage)))]
fn keys_list() {}

#[utoipa::path(post, path = "/api/v1/keys", tag = "admin",
    summary = "Make an API key (the key is in this answer only)",
    request_body(content = KeySpec, content_type = "application/json"),
    responses((status = 201, description = "Made.", body = CreatedKey)))]
fn keys_create() {}

#[utoipa::path(delete, path = "/api/v1/keys/{id}", tag = "admin",
    summary = "Revoke an API key, at once on every listener",
    params(("id" = String, Path)),
    responses(
        (status = 204, description = "Revoked."),
        (status = 404, description = "No such key.", body = ErrorBody),
    ))]
fn keys_revoke() {}

#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "read",
    summary = "This document",
    responses((status = 200, description = "The OpenAPI 3.1 document of the REST API.", content_type = "application/json", body = Value)))]
fn openapi_json() {}

#[cfg(feature = "alerting")]
#[derive(OpenApi)]
#[openapi(paths(
    alerts_list,
    alerts_history,
    rules_list,
    rules_create,
    rules_preview,
    rule_get,
    rule_update,
    rule_delete,
    silences_list,
    silences_create,
    silence_get,
    silence_delete,
    channels_list,
    channels_create,
    channel_get,
    channel_update,
    channel_delete,
    channel_test,
))]
struct AlertingDoc;

#[utoipa::path(get, path = "/api/v1/alerts", tag = "admin",
    summary = "Pending and firing alerts",
    params(
        ("state" = Option<String>, Query, description = "`pending`, `firing` or `resolved` (a comma list)."),
        ("include_resolved" = Option<bool>, Query, description = "Resolved alerts too."),
        ("rule_id" = Option<String>, Query, description = "Only this rule's."),
    ),
    responses((status = 200, description = "The alerts.", body = AlertsPage)))]
fn alerts_list() {}

#[utoipa::path(get, path = "/api/v1/alerts/history", tag = "admin",
    summary = "State changes and deliveries, newest first",
    params(
        ("rule_id" = Option<String>, Query, description = "Only this rule's."),
        ("limit" = Option<u32>, Query, description = "At most this many."),
    ),
    responses((status = 200, description = "The history.", body = HistoryPage)))]
fn alerts_history() {}

#[utoipa::path(get, path = "/api/v1/alerts/rules", tag = "admin",
    summary = "Alert rules",
    responses((status = 200, description = "Every rule with its state.", body = RulesPage)))]
fn rules_list() {}

#[utoipa::path(post, path = "/api/v1/alerts/rules", tag = "admin",
    summary = "Make an alert rule",
    request_body(content = RuleSpec, content_type = "application/json"),
    responses((status = 201, description = "Made.", body = RuleView)))]
fn rules_create() {}

#[utoipa::path(post, path = "/api/v1/alerts/rules/preview", tag = "admin",
    summary = "Evaluate a rule once without saving it",
    request_body(content = RuleSpec, content_type = "application/json"),
    responses((status = 200, description = "What it would do now.", body = RulePreview)))]
fn rules_preview() {}

#[utoipa::path(get, path = "/api/v1/alerts/rules/{id}", tag = "admin",
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "The rule.", body = RuleView),
        (status = 404, description = "No such rule.", body = ErrorBody),
    ))]
fn rule_get() {}

#[utoipa::path(put, path = "/api/v1/alerts/rules/{id}", tag = "admin",
    params(("id" = String, Path)),
    request_body(content = RuleSpec, content_type = "application/json"),
    responses(
        (status = 200, description = "Replaced.", body = RuleView),
        (status = 404, description = "No such rule.", body = ErrorBody),
    ))]
fn rule_update() {}

#[utoipa::path(delete, path = "/api/v1/alerts/rules/{id}", tag = "admin",
    params(("id" = String, Path)),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, description = "No such rule.", body = ErrorBody),
    ))]
fn rule_delete() {}

#[utoipa::path(get, path = "/api/v1/silences", tag = "admin",
    responses((status = 200, description = "Every silence.", body = SilencesPage)))]
fn silences_list() {}

#[utoipa::path(post, path = "/api/v1/silences", tag = "admin",
    summary = "Silence alerts whose labels match, for a while",
    request_body(content = SilenceSpec, content_type = "application/json"),
    responses((status = 201, description = "Made.", body = SilenceView)))]
fn silences_create() {}

#[utoipa::path(get, path = "/api/v1/silences/{id}", tag = "admin",
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "The silence.", body = SilenceView),
        (status = 404, description = "No such silence.", body = ErrorBody),
    ))]
fn silence_get() {}

#[utoipa::path(delete, path = "/api/v1/silences/{id}", tag = "admin",
    params(("id" = String, Path)),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, description = "No such silence.", body = ErrorBody),
    ))]
fn silence_delete() {}

#[utoipa::path(get, path = "/api/v1/notifications/channels", tag = "admin",
    responses((status = 200, description = "Every channel (secrets masked).", body = ChannelsPage)))]
fn channels_list() {}

#[utoipa::path(post, path = "/api/v1/notifications/channels", tag = "admin",
    summary = "Make a notification channel (webhook, slack, discord, email, pagerduty, opsgenie)",
    request_body(content = ChannelSpec, content_type = "application/json"),
    responses((status = 201, description = "Made.", body = ChannelView)))]
fn channels_create() {}

#[utoipa::path(get, path = "/api/v1/notifications/channels/{id}", tag = "admin",
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "The channel (secrets masked).", body = ChannelView),
        (status = 404, description = "No such channel.", body = ErrorBody),
    ))]
fn channel_get() {}

#[utoipa::path(put, path = "/api/v1/notifications/channels/{id}", tag = "admin",
    params(("id" = String, Path)),
    request_body(content = ChannelSpec, content_type = "application/json"),
    responses(
        (status = 200, description = "Replaced.", body = ChannelView),
        (status = 404, description = "No such channel.", body = ErrorBody),
    ))]
fn channel_update() {}

#[utoipa::path(delete, path = "/api/v1/notifications/channels/{id}", tag = "admin",
    params(("id" = String, Path)),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, description = "No such channel.", body = ErrorBody),
    ))]
fn channel_delete() {}

#[utoipa::path(post, path = "/api/v1/notifications/channels/{id}/test", tag = "admin",
    summary = "Send a test notification through the channel now",
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "Whether the receiver took it.", body = ChannelTestResult),
        (status = 404, description = "No such channel.", body = ErrorBody),
        (status = 502, description = "The receiver refused or could not be reached.", body = ErrorBody),
    ))]
fn channel_test() {}
