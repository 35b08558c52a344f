//! The server's configuration.
//!
//! [`ServerConfig`] is what `heimsight.toml` holds; every field has a default, so an empty file
//! (or none) is valid. The CLI merges the file with `HEIMSIGHT_*` environment variables and
//! flags; this crate only defines and validates the result.

use std::path::PathBuf;

use heimsight_core::parse_duration_nanos;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::retention::Retention;

/// 16 MiB: the default limit of request bodies.
pub const DEFAULT_MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Configuration of the reference server.
///
/// ```
/// use heimsight_server::ServerConfig;
///
/// let cfg = ServerConfig { port: 9090, ..ServerConfig::default() };
/// assert_eq!(cfg.bind_address(), "0.0.0.0:9090");
/// assert_eq!(cfg.retention.metrics, "30d");
/// cfg.validate()?;
/// # Ok::<(), heimsight_server::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on (`0.0.0.0` for every IPv4 interface, `::` for IPv6).
    pub host: String,
    /// HTTP port.
    pub port: u16,
    /// Directory of the embedded RocksDB store.
    pub data_dir: PathBuf,
    /// Log filter: a level (`error`, `warn`, `info`, `debug`, `trace`) or `tracing` directives
    /// such as `info,heimsight_store=debug`.
    pub log_level: String,
    /// Largest request body accepted, in bytes; larger ones get 413.
    pub max_body_bytes: usize,
    /// How long each signal is kept.
    pub retention: RetentionConfig,
    /// How often expired data is deleted (a duration such as `1m`).
    pub retention_check_interval: String,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            host: "0.0.0.0".into(),
            port: 8080,
            data_dir: PathBuf::from("./data"),
            log_level: "info".into(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            retention: RetentionConfig::default(),
            retention_check_interval: "1m".into(),
        }
    }
}

/// How long each signal is kept, as durations such as `7d`, `36h` or `90m` (units `s`, `m`,
/// `h`, `d`, `w`, also `ms`, `us`, `ns`). The values given at runtime through
/// `PUT /api/v1/retention` take precedence over these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionConfig {
    /// Time to live of log records (default `7d`).
    pub logs: String,
    /// Time to live of spans (default `7d`).
    pub spans: String,
    /// Time to live of metric points (default `30d`).
    pub metrics: String,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            logs: "7d".into(),
            spans: "7d".into(),
            metrics: "30d".into(),
        }
    }
}

/// Parses a duration that must be positive, for error messages naming `what`.
pub(crate) fn positive_duration(what: &str, text: &str) -> std::result::Result<i64, String> {
    match parse_duration_nanos(text) {
        Ok(ns) if ns > 0 => Ok(ns),
        Ok(_) => Err(format!("{what}: must be longer than zero, found {text:?}")),
        Err(e) => Err(format!("{what}: {e}")),
    }
}

impl RetentionConfig {
    /// The durations in nanoseconds; an error lists every invalid one.
    pub fn to_retention(&self) -> Result<Retention> {
        let mut problems = Vec::new();
        let mut get = |what: &str, text: &str| {
            positive_duration(what, text).unwrap_or_else(|p| {
                problems.push(p);
                0
            })
        };
        let r = Retention {
            logs: get("retention.logs", &self.logs),
            spans: get("retention.spans", &self.spans),
            metrics: get("retention.metrics", &self.metrics),
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
        if self.log_level.trim().is_empty() {
            problems.push("log_level: must not be empty (e.g. info)".into());
        }
        if self.data_dir.as_os_str().is_empty() {
            problems.push("data_dir: must not be empty".into());
        }
        if let Err(Error::Config(p)) = self.retention.to_retention() {
            problems.extend(p);
        }
        if let Err(p) =
            positive_duration("retention_check_interval", &self.retention_check_interval)
        {
            problems.push(p);
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::Config(problems))
        }
    }

    /// The interval of the retention task, in nanoseconds.
    pub fn retention_check_interval_nanos(&self) -> Result<i64> {
        positive_duration("retention_check_interval", &self.retention_check_interval)
            .map_err(|p| Error::Config(vec![p]))
    }

    /// `host:port` for binding, with brackets around IPv6 hosts (`[::]:8080`).
    pub fn bind_address(&self) -> String {
        let host = self.host.trim();
        if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]:{}", self.port)
        } else {
            format!("{host}:{}", self.port)
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
        assert_eq!(c.retention_check_interval_nanos().unwrap(), 60_000_000_000);
    }

    #[test]
    fn every_problem_is_listed() {
        let c = ServerConfig {
            host: " ".into(),
            max_body_bytes: 0,
            retention: RetentionConfig {
                logs: "forever".into(),
                spans: "0s".into(),
                metrics: "1d".into(),
            },
            retention_check_interval: "soon".into(),
            ..ServerConfig::default()
        };
        let Err(Error::Config(p)) = c.validate() else {
            panic!("expected a config error")
        };
        assert_eq!(p.len(), 5, "{p:?}");
        assert!(
            p[2].starts_with("retention.logs: invalid duration \"forever\""),
            "{p:?}"
        );
        assert!(
            p[3].contains("retention.spans: must be longer than zero"),
            "{p:?}"
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
    }
}
