//! Turning `serve`'s raw arguments into a validated [`ServeConfig`]:
//! defaults < config file < environment < flags. clap has already merged the environment
//! into the flags (a flag wins over its variable), so what is left is to lay the given
//! arguments over the file.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use heimsight_core::Duration;
use heimsight_server::ServerConfig;
use heimsight_store::Durability;
use serde::Serialize;

use crate::args::ServeArgs;

/// What `heimsight serve` runs with: the server's settings, plus what only the binary uses
/// (where the store lives, how much it logs). One file (`--config`) holds them all, at its
/// top level.
/// Serialized for `--print-config`; read by [`load_file`] (the server's part refuses unknown
/// keys, which `#[serde(flatten)]` would not).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ServeConfig {
    /// Directory of the embedded RocksDB store.
    pub(crate) data_dir: PathBuf,
    /// When an acknowledged write is safe (`wal`, `sync`, `periodic:<duration>`).
    #[serde(serialize_with = "as_text")]
    pub(crate) durability: Durability,
    /// Log filter: a level (`error`, `warn`, `info`, `debug`, `trace`) or `tracing` directives
    /// such as `info,heimsight_store=debug`.
    pub(crate) log_level: String,
    /// Everything else: the server library's own settings.
    #[serde(flatten)]
    pub(crate) server: ServerConfig,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            data_dir: PathBuf::from("./data"),
            durability: Durability::Wal,
            log_level: "info".into(),
            server: ServerConfig::default(),
        }
    }
}

/// The effective configuration, validated.
pub(crate) fn resolve(args: &ServeArgs) -> Result<ServeConfig> {
    let mut config = match &args.config {
        Some(path) => load_file(path)?,
        None => ServeConfig::default(),
    };
    let ServeArgs {
        config: _,
        host,
        port,
        otlp_grpc_port,
        otlp_http_port,
        data_dir,
        durability,
        log_level,
        max_body_bytes,
        ingest_budget_bytes,
        retention_logs,
        retention_spans,
        retention_metrics,
        retention_check_interval,
        metrics_out_of_order_window,
        auth,
        auth_metrics_public,
        rate_limit_requests_per_second,
        rate_limit_ingest_bytes_per_second,
        rate_limit_query_concurrency,
        tls_cert,
        tls_key,
        print_config: _,
    } = args;
    let mut problems = Vec::new();
    let server = &mut config.server;
    set(&mut server.host, host);
    set(&mut server.port, port);
    set(&mut server.otlp_grpc_port, otlp_grpc_port);
    set(&mut server.otlp_http_port, otlp_http_port);
    set(&mut config.data_dir, data_dir);
    set(&mut config.log_level, log_level);
    set(&mut server.max_body_bytes, max_body_bytes);
    set(&mut server.ingest_budget_bytes, ingest_budget_bytes);
    set(&mut server.auth.enabled, auth);
    set(&mut server.auth.metrics_public, auth_metrics_public);
    let limits = &mut server.rate_limit;
    if rate_limit_requests_per_second.is_some() {
        limits.requests_per_second = *rate_limit_requests_per_second;
    }
    if rate_limit_ingest_bytes_per_second.is_some() {
        limits.ingest_bytes_per_second = *rate_limit_ingest_bytes_per_second;
    }
    if rate_limit_query_concurrency.is_some() {
        limits.query_concurrency = *rate_limit_query_concurrency;
    }
    if tls_cert.is_some() {
        server.tls.cert.clone_from(tls_cert);
    }
    if tls_key.is_some() {
        server.tls.key.clone_from(tls_key);
    }
    if let Some(text) = durability {
        match text.parse() {
            Ok(d) => config.durability = d,
            Err(e) => problems.push(format!("durability: {e}")),
        }
    }
    let mut duration = |what: &str, slot: &mut Duration, text: &Option<String>| {
        if let Some(text) = text {
            match Duration::parse(text) {
                Ok(d) => *slot = d,
                Err(e) => problems.push(format!("{what}: {e}")),
            }
        }
    };
    duration("retention.logs", &mut server.retention.logs, retention_logs);
    duration(
        "retention.spans",
        &mut server.retention.spans,
        retention_spans,
    );
    duration(
        "retention.metrics",
        &mut server.retention.metrics,
        retention_metrics,
    );
    duration(
        "retention_check_interval",
        &mut server.retention_check_interval,
        retention_check_interval,
    );
    duration(
        "metrics_out_of_order_window",
        &mut server.metrics_out_of_order_window,
        metrics_out_of_order_window,
    );

    match config.server.validate() {
        Ok(()) => {}
        Err(heimsight_server::Error::Config(p)) => problems.extend(p),
        Err(e) => return Err(e.into()),
    }
    if config.log_level.trim().is_empty() {
        problems.push("log_level: must not be empty (e.g. info)".into());
    } else if let Err(e) = tracing_subscriber::EnvFilter::try_new(&config.log_level) {
        problems.push(format!(
            "log_level: {:?} is not a level (error, warn, info, debug, trace) or a tracing filter: {e}",
            config.log_level
        ));
    }
    if config.data_dir.as_os_str().is_empty() {
        problems.push("data_dir: must not be empty".into());
    }
    if !problems.is_empty() {
        bail!("invalid configuration:\n  - {}", problems.join("\n  - "));
    }
    Ok(config)
}

fn as_text<S: serde::Serializer>(d: &Durability, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(d)
}

fn set<T: Clone>(slot: &mut T, value: &Option<T>) {
    if let Some(v) = value {
        *slot = v.clone();
    }
}

/// Reads a config file: the binary's own keys, and the rest as the server's settings (which
/// refuse unknown keys, naming them).
fn load_file(path: &Path) -> Result<ServeConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    let invalid = || format!("invalid config file {}", path.display());
    let mut table: toml::Table = toml::from_str(&text).with_context(invalid)?;
    let mut config = ServeConfig::default();
    if let Some(v) = table.remove("data_dir") {
        config.data_dir = v
            .try_into()
            .context("data_dir: expected a path")
            .with_context(invalid)?;
    }
    if let Some(v) = table.remove("durability") {
        let text: String = v
            .try_into()
            .context("durability: expected a string such as \"wal\"")
            .with_context(invalid)?;
        config.durability = text
            .parse()
            .map_err(|e| anyhow::anyhow!("durability: {e}"))
            .with_context(invalid)?;
    }
    if let Some(v) = table.remove("log_level") {
        config.log_level = v
            .try_into()
            .context("log_level: expected a string")
            .with_context(invalid)?;
    }
    config.server = table.try_into().with_context(invalid)?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::io::Write;

    use clap::Parser;

    use super::*;
    use crate::args::{Cli, Command};

    fn serve_args(argv: &[&str]) -> ServeArgs {
        let mut full = vec!["heimsight", "serve"];
        full.extend_from_slice(argv);
        match Cli::try_parse_from(full).unwrap().command {
            Command::Serve(a) => a,
            _ => panic!("not serve"),
        }
    }

    #[test]
    fn defaults_without_file_or_flags() {
        let c = resolve(&ServeArgs::default()).unwrap();
        assert_eq!(c, ServeConfig::default());
    }

    #[test]
    fn flags_override_the_file_which_overrides_defaults() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        writeln!(
            file,
            "port = 9000\nlog_level = \"debug\"\n[retention]\nlogs = \"3d\""
        )
        .unwrap();
        let path = file.path().to_str().unwrap();
        let c = resolve(&serve_args(&[
            "--config",
            path,
            "--port",
            "9100",
            "--otlp-grpc-port",
            "0",
            "--ingest-budget-bytes",
            "1000000",
        ]))
        .unwrap();
        assert_eq!(c.server.port, 9100);
        assert_eq!(c.server.otlp_grpc_port, 0);
        assert_eq!(c.server.otlp_http_port, 4318);
        assert_eq!(c.server.ingest_budget_bytes, 1_000_000);
        assert_eq!(c.log_level, "debug");
        assert_eq!(c.server.retention.logs.to_string(), "3d");
        assert_eq!(c.server.retention.spans.to_string(), "7d");
        assert_eq!(c.server.host, "0.0.0.0");
    }

    #[test]
    fn durability_comes_from_the_file_or_the_flag_and_is_checked() {
        use std::time::Duration;
        assert_eq!(ServeConfig::default().durability, Durability::Wal);
        let mut file = tempfile::NamedTempFile::new().unwrap();
        writeln!(file, "durability = \"sync\"").unwrap();
        let path = file.path().to_str().unwrap();
        let c = resolve(&serve_args(&["--config", path])).unwrap();
        assert_eq!(c.durability, Durability::Sync);
        let c = resolve(&serve_args(&[
            "--config",
            path,
            "--durability",
            "periodic:250ms",
        ]))
        .unwrap();
        assert_eq!(
            c.durability,
            Durability::Periodic(Duration::from_millis(250))
        );
        // Printed as it is written.
        let printed = toml::to_string(&c).unwrap();
        assert!(
            printed.contains("durability = \"periodic:250ms\""),
            "{printed}"
        );
        for bad in ["fsync", "periodic:0s", "periodic:soon"] {
            let err = resolve(&serve_args(&["--durability", bad])).unwrap_err();
            assert!(
                format!("{err:#}").contains("durability") && format!("{err:#}").contains(bad),
                "{bad}: {err:#}"
            );
        }
    }

    #[test]
    fn every_problem_is_reported_before_anything_runs() {
        let err = resolve(&serve_args(&[
            "--retention-logs",
            "forever",
            "--max-body-bytes",
            "0",
            "--otlp-http-port",
            "8080",
            "--log-level",
            "info,heimsight=bananas",
        ]))
        .unwrap_err()
        .to_string();
        assert!(err.contains("retention.logs"), "{err}");
        assert!(err.contains("max_body_bytes"), "{err}");
        assert!(
            err.contains("otlp_http_port: 8080 is already the port"),
            "{err}"
        );
        assert!(err.contains("log_level"), "{err}");
    }

    #[test]
    fn file_problems_name_the_file_and_field() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        writeln!(file, "prot = 9000").unwrap();
        let path = file.path().to_str().unwrap().to_string();
        let err = resolve(&serve_args(&["--config", &path])).unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains(&path) && msg.contains("prot"), "{msg}");
        let err = resolve(&serve_args(&["--config", "/nonexistent/heimsight.toml"])).unwrap_err();
        assert!(
            format!("{err:#}").contains("cannot read config file"),
            "{err:#}"
        );
    }

    #[test]
    fn bad_port_is_rejected_by_the_parser() {
        let err = Cli::try_parse_from(["heimsight", "serve", "--port", "http"]).unwrap_err();
        assert!(err.to_string().contains("--port"), "{err}");
    }
}
