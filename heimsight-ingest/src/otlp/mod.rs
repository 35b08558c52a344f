//! OpenTelemetry (OTLP) ingestion: export requests in protobuf or OTLP JSON, decoded with the
//! `opentelemetry-proto` crate's generated types and converted to and from the core model.
//!
//! Decoding is two-level, as for plain JSON: a body that cannot be decoded at all is an
//! [`Error`] (the server answers 400 / `INVALID_ARGUMENT`); inside a decoded request, records
//! that break the model's rules are rejected one by one and counted in
//! [`Converted::rejected`] (the server answers with OTLP's `partial_success`), while the
//! others are kept.
//!
//! Where OTLP has a field the core model has no first-class place for, it lands in
//! attributes under an `otel.` key, and the conversion back to OTLP takes it out again:
//! non-string log bodies ([`logs::BODY_VALUE`]), log event names ([`logs::EVENT_NAME`]),
//! schema URLs and dropped-attribute counts of resources and scopes
//! ([`common::RESOURCE_SCHEMA_URL`] and friends). Metric series fold resource attributes
//! and the scope into their labels (see [`metrics`]).
//!
//! ```
//! use heimsight_core::Timestamp;
//! use heimsight_ingest::otlp::{self, Encoding};
//!
//! let body = br#"{"resourceLogs": [{
//!     "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "api"}}]},
//!     "scopeLogs": [{"logRecords": [
//!         {"timeUnixNano": "1700000000000000000", "severityNumber": 17,
//!          "body": {"stringValue": "connection refused"},
//!          "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174"},
//!         {"timeUnixNano": "1700000000000000001", "spanId": "0102"}
//!     ]}]
//! }]}"#;
//! let req = otlp::decode_logs(body, Encoding::Json)?;
//! let logs = otlp::logs_from_otlp(req, Timestamp::now());
//! assert_eq!(logs.items.len(), 1);
//! assert_eq!(logs.items[0].service, "api");
//! assert_eq!(logs.items[0].body, "connection refused");
//! assert_eq!(logs.rejected, 1);
//! assert!(logs.error_message().contains("log_records[1].span_id: expected 8 bytes"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod common;
pub mod logs;
pub mod metrics;
pub mod traces;

pub use logs::{logs_from_otlp, logs_to_otlp};
pub use metrics::{point_groups_from_otlp, points_from_otlp, points_to_otlp};
pub use opentelemetry_proto::tonic as proto;
pub use traces::{spans_from_otlp, spans_to_otlp};

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;

use crate::error::{Error, Result};

/// How many rejection messages [`Converted`] keeps (the count is always exact).
const MAX_MESSAGES: usize = 10;

/// The wire encoding of an OTLP/HTTP body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// `application/x-protobuf`.
    Protobuf,
    /// `application/json` (OTLP JSON: hex ids, lowerCamelCase names, enums as numbers).
    Json,
}

impl Encoding {
    /// The encoding of a `Content-Type` (parameters such as `charset` ignored), if OTLP has
    /// one for it.
    pub fn from_content_type(ct: &str) -> Option<Encoding> {
        let mime = ct.split(';').next().unwrap_or("").trim();
        if mime.eq_ignore_ascii_case("application/x-protobuf")
            || mime.eq_ignore_ascii_case("application/protobuf")
        {
            Some(Encoding::Protobuf)
        } else if mime.eq_ignore_ascii_case("application/json") {
            Some(Encoding::Json)
        } else {
            None
        }
    }

    /// The `Content-Type` of this encoding.
    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Protobuf => "application/x-protobuf",
            Encoding::Json => "application/json",
        }
    }
}

/// Records converted from one export request.
#[derive(Debug, Clone, PartialEq)]
pub struct Converted<T> {
    /// The records that were valid.
    pub items: Vec<T>,
    /// How many records (log records, spans or data points) were rejected.
    pub rejected: u64,
    /// The first few rejection reasons, each with the record's path in the request.
    pub messages: Vec<String>,
}

impl<T> Default for Converted<T> {
    fn default() -> Self {
        Converted {
            items: Vec::new(),
            rejected: 0,
            messages: Vec::new(),
        }
    }
}

impl<T> Converted<T> {
    pub(crate) fn reject(&mut self, message: String) {
        self.reject_n(1, message);
    }

    /// Counts `n` rejected records with one reason.
    pub(crate) fn reject_n(&mut self, n: u64, message: String) {
        self.rejected += n;
        if self.messages.len() < MAX_MESSAGES {
            self.messages.push(message);
        }
    }

    /// The `error_message` of an OTLP partial success: the kept reasons joined with `; `, and
    /// how many more there were. Empty when nothing was rejected.
    pub fn error_message(&self) -> String {
        let mut s = self.messages.join("; ");
        let more = self.rejected.saturating_sub(self.messages.len() as u64);
        if more > 0 {
            s.push_str(&format!("; and {more} more"));
        }
        s
    }
}

fn decode<M: Message + Default + serde::de::DeserializeOwned>(
    body: &[u8],
    enc: Encoding,
    what: &'static str,
) -> Result<M> {
    match enc {
        Encoding::Protobuf => M::decode(body).map_err(|e| Error::MalformedProtobuf {
            what,
            reason: e.to_string(),
        }),
        Encoding::Json => {
            let text = std::str::from_utf8(body).map_err(|e| Error::InvalidUtf8 {
                offset: e.valid_up_to(),
            })?;
            if text.trim().is_empty() {
                return Err(Error::EmptyBody);
            }
            serde_json::from_str(text).map_err(|e| Error::MalformedJson {
                line: e.line(),
                column: e.column(),
                reason: e.to_string(),
            })
        }
    }
}

/// Decodes an `ExportLogsServiceRequest`.
pub fn decode_logs(body: &[u8], enc: Encoding) -> Result<ExportLogsServiceRequest> {
    decode(body, enc, "ExportLogsServiceRequest")
}

/// Decodes an `ExportTraceServiceRequest`.
pub fn decode_traces(body: &[u8], enc: Encoding) -> Result<ExportTraceServiceRequest> {
    decode(body, enc, "ExportTraceServiceRequest")
}

/// Decodes an `ExportMetricsServiceRequest`.
pub fn decode_metrics(body: &[u8], enc: Encoding) -> Result<ExportMetricsServiceRequest> {
    decode(body, enc, "ExportMetricsServiceRequest")
}

/// Encodes a message (an export response, usually) in an encoding.
pub fn encode<M: Message + serde::Serialize>(msg: &M, enc: Encoding) -> Vec<u8> {
    match enc {
        Encoding::Protobuf => msg.encode_to_vec(),
        // Serializing generated types to a Vec cannot fail.
        Encoding::Json => serde_json::to_vec(msg).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests;
