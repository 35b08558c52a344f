//! The server's configuration.
//!
//! [`ServerConfig`] is what `heimsight.toml` holds; every field has a default, so an empty file
//! (or none) is valid. The CLI merges the file with `HEIMSIGHT_*` environment variables and
//! flags; this crate only defines and validates the result.

use heimsight_core::Duration;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::retention::Retention;

/// 16 MiB: the default limit of request bodies.
pub const DEFAULT_MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// 64 MiB: the default in-flight budget of ingestion (see [`ServerConfig::ingest_budget_bytes`]).
pub const DEFAULT_INGEST_BUDGET_BYTES: usize = 64 * 1024 * 1024;

/// The standard OTLP/gRPC port.
pub const DEFAULT_OTLP_GRPC_PORT: u16 = 4317;

/// The standard OTLP/HTTP port.
pub const DEFAULT_OTLP_HTTP_PORT: u16 = 4318;

/// The largest possible ingest budget (what a `tokio` semaphore can count).
pub const MAX_INGEST_BUDGET_BYTES: usize = tokio::sync::Semaphore::MAX_PERMITS;

/// Configuration of the reference server.
///
/// ```
/// use heimsight_server::ServerConfig;
///
/// let cfg = ServerConfig::default().with_port(9090);
/// assert_eq!(cfg.bind_address(), "0.0.0.0:9090");
/// assert_eq!(cfg.retention.metrics.to_string(), "30d");
/// cfg.validate()?;
/// # Ok::<(), heimsight_server::Error>(())
/// ```
///
/// More settings may come: build it from [`ServerConfig::default`] and the `with_*` methods
/// (or set its public fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Address to listen on (`0.0.0.0` for every IPv4 interface, `::` for IPv6).
    pub host: String,
    /// HTTP port of the REST API (which also serves OTLP/HTTP under `/v1/`). `0` picks a free
    /// port.
    pub port: u16,
    /// Port of OTLP/gRPC (default 4317). `0` picks a free port.
    pub otlp_grpc_port: u16,
    /// Port of the OTLP/HTTP listener (default 4318), which serves only `POST /v1/logs`,
    /// `/v1/traces` and `/v1/metrics`. `0` picks a free port.
    pub otlp_http_port: u16,
    /// Largest request body accepted, in bytes; larger ones get 413. For compressed OTLP bodies
    /// this limits the decompressed size too, and it is the largest OTLP/gRPC message.
    pub max_body_bytes: usize,
    /// The in-flight budget of ingestion, in bytes: request bodies being received, decompressed,
    /// decoded and stored, over every ingestion endpoint (OTLP/HTTP, OTLP/gRPC, `POST /api/v1/*`)
    /// together. When it is spent, requests are turned away with HTTP 429 / gRPC `UNAVAILABLE`
    /// (both retryable) instead of being queued, so memory stays bounded. A request that needs
    /// more than the whole budget gets 413.
    pub ingest_budget_bytes: usize,
    /// How long each signal is kept.
    pub retention: RetentionConfig,
    /// How often expired data is deleted (`1m`; in files a duration such as `30s`).
    pub retention_check_interval: Duration,
    /// How much older than its series' newest sample a Prometheus remote write sample may be
    /// and still be taken (`10m`); older ones are refused, as Prometheus refuses them.
    pub metrics_out_of_order_window: Duration,
    /// Access control with API keys (`[auth]`).
    pub auth: AuthConfig,
    /// Rate limits and quotas per client (`[rate_limit]`; unlimited unless set).
    pub rate_limit: crate::limits::RateLimitConfig,
    /// TLS on every listener (`[tls]`; plain HTTP and gRPC unless a certificate is given).
    pub tls: TlsConfig,
}

/// TLS on every listener (see [`tls`](crate::tls)): HTTPS for the REST API, the web UI and
/// OTLP/HTTP, gRPC over TLS for OTLP/gRPC. Off unless both files are given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct TlsConfig {
    /// PEM certificate chain, the server's certificate first (`HEIMSIGHT_TLS_CERT`,
    /// `--tls-cert`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert: Option<std::path::PathBuf>,
    /// PEM private key of the certificate: PKCS#8, PKCS#1 or SEC1 (`HEIMSIGHT_TLS_KEY`,
    /// `--tls-key`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<std::path::PathBuf>,
}

impl TlsConfig {
    /// TLS with the certificate chain in `cert` and its key in `key` (PEM files).
    pub fn new(cert: impl Into<std::path::PathBuf>, key: impl Into<std::path::PathBuf>) -> Self {
        TlsConfig {
            cert: Some(cert.into()),
            key: Some(key.into()),
        }
    }

    /// Whether TLS is on (both files given).
    pub fn enabled(&self) -> bool {
        self.cert.is_some() && self.key.is_some()
    }
}

/// Access control with API keys (see [`auth`](crate::auth)): off by default, like Prometheus
/// and Loki; when on, every route group and the OTLP/gRPC services need a key (`/health`
/// stays open).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct AuthConfig {
    /// Whether requests need an API key (`HEIMSIGHT_AUTH_ENABLED`, `--auth`).
    pub enabled: bool,
    /// Whether `GET /metrics` (the server's own metrics) is readable without a key, for
    /// scrapers (default `true`); when `false` it needs a `read` key like the API.
    pub metrics_public: bool,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            enabled: false,
            metrics_public: true,
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            host: "0.0.0.0".into(),
            port: 8080,
            otlp_grpc_port: DEFAULT_OTLP_GRPC_PORT,
            otlp_http_port: DEFAULT_OTLP_HTTP_PORT,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            ingest_budget_bytes: DEFAULT_INGEST_BUDGET_BYTES,
            retention: RetentionConfig::default(),
            retention_check_interval: Duration::from_secs(60),
            metrics_out_of_order_window: Duration::from_secs(600),
            auth: AuthConfig::default(),
            rate_limit: crate::limits::RateLimitConfig::default(),
            tls: TlsConfig::default(),
        }
    }
}

impl ServerConfig {
    /// With [`host`](Self::host).
    pub fn with_host(mut self, host: impl Into<String>) -> Self {
        self.host = host.into();
        self
    }

    /// With [`port`](Self::port).
    pub fn with_port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// With [`otlp_grpc_port`](Self::otlp_grpc_port).
    pub fn with_otlp_grpc_port(mut self, port: u16) -> Self {
        self.otlp_grpc_port = port;
        self
    }

    /// With [`otlp_http_port`](Self::otlp_http_port).
    pub fn with_otlp_http_port(mut self, port: u16) -> Self {
        self.otlp_http_port = port;
        self
    }

    /// With [`max_body_bytes`](Self::max_body_bytes).
    pub fn with_max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// With [`ingest_budget_bytes`](Self::ingest_budget_bytes).
    pub fn with_ingest_budget_bytes(mut self, bytes: usize) -> Self {
        self.ingest_budget_bytes = bytes;
        self
    }

    /// With [`retention`](Self::retention).
    pub fn with_retention(mut self, retention: RetentionConfig) -> Self {
        self.retention = retention;
        self
    }

    /// With [`tls`](Self::tls).
    pub fn with_tls(mut self, tls: TlsConfig) -> Self {
        self.tls = tls;
        self
    }

    /// With [`retention_check_interval`](Self::retention_check_interval).
    pub fn with_retention_check_interval(mut self, interval: Duration) -> Self {
        self.retention_check_interval = interval;
        self
    }
}

/// How long each signal is kept (in files durations such as `7d`, `36h` or `90m`; see
/// [`Duration`]). The values given at runtime through `PUT /api/v1/retention` take precedence
/// over these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct RetentionConfig {
    /// Time to live of log records (default `7d`).
    pub logs: Duration,
    /// Time to live of spans (default `7d`).
    pub spans: Duration,
    /// Time to live of metric points (default `30d`).
    pub metrics: Duration,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        const DAY: i64 = 86_400;
        RetentionConfig {
            logs: Duration::from_secs(7 * DAY),
            spans: Duration::from_secs(7 * DAY),
            metrics: Duration::from_secs(30 * DAY),
        }
    }
}

impl RetentionConfig {
    /// With [`logs`](Self::logs).
    pub fn with_logs(mut self, ttl: Duration) -> Self {
        self.logs = ttl;
        self
    }

    /// With [`spans`](Self::spans).
    pub fn with_spans(mut self, ttl: Duration) -> Self {
        self.spans = ttl;
        self
    }

    /// With [`metrics`](Self::metrics).
    pub fn with_metrics(mut self, ttl: Duration) -> Self {
        self.metrics = ttl;
        self
    }
}

/// `Err` naming `what` when `d` is not longer than zero.
fn positive(what: &str, d: Duration) -> std::result::Result<i64, String> {
    if d.is_positive() {
        Ok(d.as_nanos())
    } else {
        Err(format!("{what}: must be longer than zero, found {d}"))
    }
}

impl RetentionConfig {
    /// The durations in nanoseconds; an error lists every one that is not positive.
    pub fn to_retention(&self) -> Result<Retention> {
        let mut problems = Vec::new();
        let mut get = |what: &str, d: Duration| {
            positive(what, d).unwrap_or_else(|p| {
                problems.push(p);
                0
            })
        };
        let r = Retention {
            logs: get("retention.logs", self.logs),
            spans: get("retention.spans", self.spans),
            metrics: get("retention.metrics", self.metrics),
        };
        if problems.is_empty() {
            Ok(r)
        } else {
            Err(Error::Config(problems))
        }
    }
}

impl ServerConfig {
    /// Checks every field; the error lists every problem.
    pub fn validate(&self) -> Result<()> {
        let mut problems = Vec::new();
        if self.host.trim().is_empty() {
            problems.push("host: must not be empty (use 0.0.0.0 to listen everywhere)".into());
        }
        if self.max_body_bytes == 0 {
            problems.push("max_body_bytes: must be at least 1".into());
        }
        if self.ingest_budget_bytes == 0 {
            problems.push("ingest_budget_bytes: must be at least 1".into());
        } else if self.ingest_budget_bytes > MAX_INGEST_BUDGET_BYTES {
            problems.push(format!(
                "ingest_budget_bytes: must be at most {MAX_INGEST_BUDGET_BYTES}, found {}",
                self.ingest_budget_bytes
            ));
        }
        let ports = [
            ("port", self.port),
            ("otlp_grpc_port", self.otlp_grpc_port),
            ("otlp_http_port", self.otlp_http_port),
        ];
        for (i, (name, port)) in ports.iter().enumerate() {
            for (other, other_port) in &ports[..i] {
                if *port != 0 && port == other_port {
                    problems.push(format!(
                        "{name}: {port} is already the {other}; give each listener its own port \
                         (or 0 for a free one)"
                    ));
                }
            }
        }
        if let Err(Error::Config(p)) = self.retention.to_retention() {
            problems.extend(p);
        }
        if let Err(p) = positive("retention_check_interval", self.retention_check_interval) {
            problems.push(p);
        }
        let limits = &self.rate_limit;
        if let Some(r) = limits.requests_per_second
            && !(r > 0.0 && r.is_finite())
        {
            problems.push(format!(
                "rate_limit.requests_per_second: must be more than 0, found {r}"
            ));
        }
        if limits.ingest_bytes_per_second == Some(0) {
            problems.push("rate_limit.ingest_bytes_per_second: must be at least 1".into());
        }
        if limits.query_concurrency == Some(0) {
            problems.push("rate_limit.query_concurrency: must be at least 1".into());
        }
        match (&self.tls.cert, &self.tls.key) {
            (Some(_), None) => problems.push(
                "tls.key: a certificate (tls.cert) is given without its private key \
                 (HEIMSIGHT_TLS_KEY, --tls-key)"
                    .into(),
            ),
            (None, Some(_)) => problems.push(
                "tls.cert: a private key (tls.key) is given without its certificate \
                 (HEIMSIGHT_TLS_CERT, --tls-cert)"
                    .into(),
            ),
            _ => {}
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::Config(problems))
        }
    }

    /// `host:port` of the HTTP API for binding, with brackets around IPv6 hosts (`[::]:8080`).
    pub fn bind_address(&self) -> String {
        self.address_with_port(self.port)
    }

    /// `host:port` of the OTLP/gRPC listener.
    pub fn otlp_grpc_bind_address(&self) -> String {
        self.address_with_port(self.otlp_grpc_port)
    }

    /// `host:port` of the OTLP/HTTP listener.
    pub fn otlp_http_bind_address(&self) -> String {
        self.address_with_port(self.otlp_http_port)
    }

    fn address_with_port(&self, port: u16) -> String {
        let host = self.host.trim();
        if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn defaults_are_valid() {
        let c = ServerConfig::default();
        c.validate().unwrap();
        assert_eq!(c.bind_address(), "0.0.0.0:8080");
        let r = c.retention.to_retention().unwrap();
        assert_eq!(r.logs, 7 * 86_400 * 1_000_000_000);
        assert_eq!(r.metrics, 30 * 86_400 * 1_000_000_000);
        assert_eq!(c.retention_check_interval.to_string(), "1m");
    }

    #[test]
    fn every_problem_is_listed() {
        let c = ServerConfig {
            host: " ".into(),
            max_body_bytes: 0,
            retention: RetentionConfig {
                logs: Duration::from_secs(-5),
                spans: Duration::ZERO,
                metrics: Duration::from_secs(86_400),
            },
            retention_check_interval: Duration::ZERO,
            ..ServerConfig::default()
        };
        let Err(Error::Config(p)) = c.validate() else {
            panic!("expected a config error")
        };
        assert_eq!(p.len(), 5, "{p:?}");
        assert!(
            p[2].starts_with("retention.logs: must be longer than zero, found -5s"),
            "{p:?}"
        );
        assert!(
            p[3].contains("retention.spans: must be longer than zero"),
            "{p:?}"
        );
        assert!(p[4].starts_with("retention_check_interval"), "{p:?}");
    }

    #[test]
    fn files_hold_durations_as_text() {
        let c: ServerConfig =
            toml::from_str("retention_check_interval = \"30s\"\n[retention]\nlogs = \"36h\"")
                .unwrap();
        assert_eq!(c.retention.logs, Duration::from_secs(36 * 3600));
        assert_eq!(c.retention_check_interval, Duration::from_secs(30));
        let text = toml::to_string(&c).unwrap();
        assert!(text.contains("logs = \"1d12h\""), "{text}");
        let e = toml::from_str::<ServerConfig>("[retention]\nlogs = \"forever\"").unwrap_err();
        assert!(
            e.to_string().contains("invalid duration \"forever\""),
            "{e}"
        );
    }

    #[test]
    fn ipv6_hosts_are_bracketed() {
        let c = ServerConfig {
            host: "::1".into(),
            port: 9,
            ..ServerConfig::default()
        };
        assert_eq!(c.bind_address(), "[::1]:9");
        assert_eq!(c.otlp_grpc_bind_address(), "[::1]:4317");
    }

    #[test]
    fn ports_must_differ_unless_zero_and_the_budget_is_positive() {
        let c = ServerConfig {
            otlp_grpc_port: 8080,
            ingest_budget_bytes: 0,
            ..ServerConfig::default()
        };
        let Err(Error::Config(p)) = c.validate() else {
            panic!("expected a config error")
        };
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].starts_with("ingest_budget_bytes"), "{p:?}");
        assert!(
            p[1].contains("otlp_grpc_port: 8080 is already the port"),
            "{p:?}"
        );
        let c = ServerConfig {
            port: 0,
            otlp_grpc_port: 0,
            otlp_http_port: 0,
            ..ServerConfig::default()
        };
        c.validate().unwrap();
    }
}
