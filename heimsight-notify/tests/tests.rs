//! Integration tests of `heimsight-notify` against real peers on 127.0.0.1: an HTTP receiver
//! (axum) standing in for webhook receivers, Slack, Discord, PagerDuty and Opsgenie, which
//! checks method, path, headers and the documented body schema; receivers that fail or hang;
//! a real SMTP server (Python's aiosmtpd) for email, plain and with STARTTLS, implicit TLS and
//! AUTH; and an HTTPS receiver with a private certificate authority.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub
)]

mod http;
mod smtp;
mod util;
