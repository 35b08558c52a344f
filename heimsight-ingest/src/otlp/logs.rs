//! OTLP logs to and from [`LogRecord`]s.

use std::sync::Arc;

use heimsight_core::{AttributeValue, LogRecord, SharedAttributes, Timestamp, log::service_name};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value};
use opentelemetry_proto::tonic::logs::v1 as pb;

use super::Converted;
use super::common::{
    Source, attributes_from_otlp_owned, attributes_to_otlp, group_by_resource_and_scope,
    resource_from_otlp, resource_to_otlp, scope_from_otlp, scope_to_otlp, span_id, time,
    time_to_otlp, trace_id, value_from_otlp_owned, value_to_otlp,
};

/// Attribute holding a log record's `event_name` (only when non-empty).
pub const EVENT_NAME: &str = "otel.event_name";
/// Attribute holding a log body that is not a string, with its OTLP type; the record's
/// `body` then holds the value's text (JSON for arrays and maps).
pub const BODY_VALUE: &str = "otel.body";

/// Converts an export request to log records. `now` stands in for records that carry
/// neither a time nor an observed time.
///
/// A record is rejected (and counted in [`Converted::rejected`]) when a trace or span id has
/// the wrong length, a span id comes without a trace id, its severity number is outside
/// 0–24, or a time is out of range.
///
/// The request is taken by value: strings and attribute values move into the records
/// rather than being copied (a request is converted once).
pub fn logs_from_otlp(req: ExportLogsServiceRequest, now: Timestamp) -> Converted<LogRecord> {
    let mut out = Converted::default();
    for (ri, rl) in req.resource_logs.into_iter().enumerate() {
        let resource =
            SharedAttributes::new(resource_from_otlp(rl.resource.as_ref(), &rl.schema_url));
        let service = service_name(None, &resource);
        for (si, sl) in rl.scope_logs.into_iter().enumerate() {
            let scope = Arc::new(scope_from_otlp(sl.scope.as_ref(), &sl.schema_url));
            let from = Source {
                service: &service,
                resource: &resource,
                scope: &scope,
            };
            for (li, lr) in sl.log_records.into_iter().enumerate() {
                match record(lr, now, &from) {
                    Ok(r) => out.items.push(r),
                    Err(e) => out.reject(format!(
                        "resource_logs[{ri}].scope_logs[{si}].log_records[{li}].{e}"
                    )),
                }
            }
        }
    }
    out
}

fn record(lr: pb::LogRecord, now: Timestamp, from: &Source<'_>) -> Result<LogRecord, String> {
    let ts = time("time_unix_nano", lr.time_unix_nano)?;
    let observed = time("observed_time_unix_nano", lr.observed_time_unix_nano)?;
    let timestamp = match (ts, observed) {
        (0, 0) => now,
        (0, o) => Timestamp(o),
        (t, _) => Timestamp(t),
    };
    if !timestamp.in_record_range() {
        return Err(format!(
            "time_unix_nano: {} is out of range (1970-01-01 to 2200-01-01)",
            timestamp.0
        ));
    }
    let severity_number = u8::try_from(lr.severity_number)
        .ok()
        .filter(|n| *n <= 24)
        .ok_or_else(|| {
            format!(
                "severity_number: {} is not a known severity (0-24)",
                lr.severity_number
            )
        })?;
    let trace = trace_id("trace_id", &lr.trace_id)?;
    let span = span_id("span_id", &lr.span_id)?;
    if span.is_some() && trace.is_none() {
        return Err("trace_id: required when span_id is set".into());
    }
    let mut attributes = attributes_from_otlp_owned(lr.attributes);
    let body = match lr.body {
        None | Some(AnyValue { value: None }) => String::new(),
        Some(AnyValue {
            value: Some(any_value::Value::StringValue(s)),
        }) => s,
        Some(v) => {
            let typed = value_from_otlp_owned(v);
            let text = typed.to_text();
            attributes.insert(BODY_VALUE.into(), typed);
            text
        }
    };
    if !lr.event_name.is_empty() {
        attributes.insert(EVENT_NAME.into(), AttributeValue::String(lr.event_name));
    }
    Ok(LogRecord {
        timestamp,
        observed_timestamp: Timestamp(observed),
        severity_number,
        severity_text: lr.severity_text,
        body,
        attributes,
        trace_id: trace,
        span_id: span,
        flags: lr.flags,
        dropped_attributes_count: lr.dropped_attributes_count,
        service: from.service.to_owned(),
        resource: from.resource.clone(),
        scope: from.scope.clone(),
    })
}

/// Converts log records to an export request, grouping them by resource and scope (the
/// inverse of [`logs_from_otlp`]).
pub fn logs_to_otlp(logs: &[LogRecord]) -> ExportLogsServiceRequest {
    let groups = group_by_resource_and_scope(logs, |r| &r.resource, |r| &r.scope);
    let resource_logs = groups
        .into_iter()
        .map(|scopes| {
            let (resource, schema_url) = resource_to_otlp(&scopes[0][0].resource);
            pb::ResourceLogs {
                resource: Some(resource),
                schema_url,
                scope_logs: scopes
                    .into_iter()
                    .map(|recs| {
                        let (scope, schema_url) = scope_to_otlp(&recs[0].scope);
                        pb::ScopeLogs {
                            scope,
                            schema_url,
                            log_records: recs.into_iter().map(record_to_otlp).collect(),
                        }
                    })
                    .collect(),
            }
        })
        .collect();
    ExportLogsServiceRequest { resource_logs }
}

fn record_to_otlp(r: &LogRecord) -> pb::LogRecord {
    let mut attributes = r.attributes.clone();
    let event_name = super::common::take_string(&mut attributes, EVENT_NAME);
    let body = match attributes.remove(BODY_VALUE) {
        Some(v) => Some(value_to_otlp(&v)),
        None if r.body.is_empty() => None,
        None => Some(value_to_otlp(&AttributeValue::String(r.body.clone()))),
    };
    pb::LogRecord {
        time_unix_nano: time_to_otlp(r.timestamp.0),
        observed_time_unix_nano: time_to_otlp(r.observed_timestamp.0),
        severity_number: i32::from(r.severity_number),
        severity_text: r.severity_text.clone(),
        body,
        attributes: attributes_to_otlp(&attributes),
        dropped_attributes_count: r.dropped_attributes_count,
        flags: r.flags,
        trace_id: r.trace_id.map(|t| t.0.to_vec()).unwrap_or_default(),
        span_id: r.span_id.map(|s| s.0.to_vec()).unwrap_or_default(),
        event_name,
    }
}
