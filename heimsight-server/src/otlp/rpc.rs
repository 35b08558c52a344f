//! The few `google.rpc` messages that OTLP error answers use, hand-written with prost (the
//! generated OTLP crate does not include them).
//!
//! OTLP/HTTP answers every 4xx and 5xx with a [`Status`] in the request's encoding; OTLP/gRPC
//! carries one in the `grpc-status-details-bin` trailer when there are details, such as the
//! [`RetryInfo`] of a throttled request.

use prost::Message;
use serde_json::{Value, json};

/// The type URL of [`RetryInfo`] in an [`Any`].
pub const RETRY_INFO_TYPE_URL: &str = "type.googleapis.com/google.rpc.RetryInfo";

/// gRPC status codes used in [`Status::code`].
pub mod code {
    /// The request is malformed (OTLP: not retryable).
    pub const INVALID_ARGUMENT: i32 = 3;
    /// Out of some resource, such as a size limit (OTLP: retryable only with a [`RetryInfo`](super::RetryInfo)).
    pub const RESOURCE_EXHAUSTED: i32 = 8;
    /// The method or content is not supported.
    pub const UNIMPLEMENTED: i32 = 12;
    /// The server failed.
    pub const INTERNAL: i32 = 13;
    /// Try again later (OTLP: retryable).
    pub const UNAVAILABLE: i32 = 14;
}

/// `google.rpc.Status`: a status code, a message for developers, and details.
#[derive(Clone, PartialEq, Message)]
pub struct Status {
    /// A gRPC status code (see [`code`]).
    #[prost(int32, tag = "1")]
    pub code: i32,
    /// What went wrong, in English.
    #[prost(string, tag = "2")]
    pub message: String,
    /// Machine-readable details.
    #[prost(message, repeated, tag = "3")]
    pub details: Vec<Any>,
}

/// `google.protobuf.Any`: a message with its type.
#[derive(Clone, PartialEq, Message)]
pub struct Any {
    /// The type of `value`, as `type.googleapis.com/<full name>`.
    #[prost(string, tag = "1")]
    pub type_url: String,
    /// The encoded message.
    #[prost(bytes = "vec", tag = "2")]
    pub value: Vec<u8>,
}

/// `google.rpc.RetryInfo`: when the client may retry.
#[derive(Clone, PartialEq, Message)]
pub struct RetryInfo {
    /// How long to wait before retrying.
    #[prost(message, optional, tag = "1")]
    pub retry_delay: Option<Duration>,
}

/// `google.protobuf.Duration`.
#[derive(Clone, PartialEq, Message)]
pub struct Duration {
    /// Whole seconds.
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    /// Nanoseconds beyond the seconds.
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

impl Status {
    /// A status without details.
    pub fn new(code: i32, message: impl Into<String>) -> Status {
        Status {
            code,
            message: message.into(),
            details: Vec::new(),
        }
    }

    /// Adds a [`RetryInfo`] detail asking to wait `seconds`.
    pub fn with_retry_after(mut self, seconds: u64) -> Status {
        let info = RetryInfo {
            retry_delay: Some(Duration {
                seconds: i64::try_from(seconds).unwrap_or(i64::MAX),
                nanos: 0,
            }),
        };
        self.details.push(Any {
            type_url: RETRY_INFO_TYPE_URL.into(),
            value: info.encode_to_vec(),
        });
        self
    }

    /// The retry delay of the first [`RetryInfo`] detail, if any.
    pub fn retry_delay(&self) -> Option<std::time::Duration> {
        self.details
            .iter()
            .filter(|d| d.type_url == RETRY_INFO_TYPE_URL)
            .find_map(|d| RetryInfo::decode(d.value.as_slice()).ok()?.retry_delay)
            .map(|d| {
                std::time::Duration::new(
                    u64::try_from(d.seconds).unwrap_or(0),
                    u32::try_from(d.nanos).unwrap_or(0),
                )
            })
    }

    /// The protobuf JSON form: `{"code": 3, "message": "…", "details": [{"@type": …}]}`.
    pub fn to_json(&self) -> Value {
        let details: Vec<Value> = self
            .details
            .iter()
            .map(|d| {
                match (d.type_url.as_str(), RetryInfo::decode(d.value.as_slice())) {
                    (RETRY_INFO_TYPE_URL, Ok(info)) => {
                        let delay = info.retry_delay.unwrap_or_default();
                        json!({
                            "@type": RETRY_INFO_TYPE_URL,
                            "retryDelay": format_duration(&delay),
                        })
                    }
                    // Not produced by this crate; shown as protobuf JSON shows unknown Anys.
                    _ => json!({ "@type": d.type_url }),
                }
            })
            .collect();
        let mut v = json!({ "code": self.code, "message": self.message });
        if !details.is_empty() {
            v["details"] = Value::Array(details);
        }
        v
    }
}

/// A duration in protobuf JSON: `1s`, `1.500s`.
fn format_duration(d: &Duration) -> String {
    if d.nanos == 0 {
        format!("{}s", d.seconds)
    } else {
        format!("{}.{:09}s", d.seconds, d.nanos)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn retry_info_round_trips_and_renders_as_json() {
        let s = Status::new(code::UNAVAILABLE, "busy").with_retry_after(2);
        let back = Status::decode(s.encode_to_vec().as_slice()).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.retry_delay(), Some(std::time::Duration::from_secs(2)));
        assert_eq!(
            s.to_json(),
            json!({"code": 14, "message": "busy",
                   "details": [{"@type": RETRY_INFO_TYPE_URL, "retryDelay": "2s"}]})
        );
        assert_eq!(
            Status::new(3, "bad").to_json(),
            json!({"code": 3, "message": "bad"})
        );
    }
}
