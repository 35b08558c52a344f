//! Turning `serve`'s raw arguments into a validated [`ServerConfig`]:
//! defaults < config file < environment < flags. clap has already merged the environment
//! into the flags (a flag wins over its variable), so what is left is to lay the given
//! arguments over the file.

use std::path::Path;

use anyhow::{Context, Result, bail};
use heimsight_server::ServerConfig;

use crate::args::ServeArgs;

/// The effective configuration, validated.
pub(crate) fn resolve(args: &ServeArgs) -> Result<ServerConfig> {
    let mut config = match &args.config {
        Some(path) => load_file(path)?,
        None => ServerConfig::default(),
    };
    let ServeArgs {
        config: _,
        host,
        port,
        otlp_grpc_port,
        otlp_http_port,
        data_dir,
        log_level,
        max_body_bytes,
        ingest_budget_bytes,
        retention_logs,
        retention_spans,
        retention_metrics,
        retention_check_interval,
        print_config: _,
    } = args;
    set(&mut config.host, host);
    set(&mut config.port, port);
    set(&mut config.otlp_grpc_port, otlp_grpc_port);
    set(&mut config.otlp_http_port, otlp_http_port);
    set(&mut config.data_dir, data_dir);
    set(&mut config.log_level, log_level);
    set(&mut config.max_body_bytes, max_body_bytes);
    set(&mut config.ingest_budget_bytes, ingest_budget_bytes);
    set(&mut config.retention.logs, retention_logs);
    set(&mut config.retention.spans, retention_spans);
    set(&mut config.retention.metrics, retention_metrics);
    set(
        &mut config.retention_check_interval,
        retention_check_interval,
    );

    let mut problems = match config.validate() {
        Ok(()) => Vec::new(),
        Err(heimsight_server::Error::Config(p)) => p,
        Err(e) => return Err(e.into()),
    };
    if let Err(e) = tracing_subscriber::EnvFilter::try_new(&config.log_level) {
        problems.push(format!(
            "log_level: {:?} is not a level (error, warn, info, debug, trace) or a tracing filter: {e}",
            config.log_level
        ));
    }
    if !problems.is_empty() {
        bail!("invalid configuration:\n  - {}", problems.join("\n  - "));
    }
    Ok(config)
}

fn set<T: Clone>(slot: &mut T, value: &Option<T>) {
    if let Some(v) = value {
        *slot = v.clone();
    }
}

fn load_file(path: &Path) -> Result<ServerConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("invalid config file {}", path.display()))
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
        assert_eq!(c, ServerConfig::default());
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
        assert_eq!(c.port, 9100);
        assert_eq!(c.otlp_grpc_port, 0);
        assert_eq!(c.otlp_http_port, 4318);
        assert_eq!(c.ingest_budget_bytes, 1_000_000);
        assert_eq!(c.log_level, "debug");
        assert_eq!(c.retention.logs, "3d");
        assert_eq!(c.retention.spans, "7d");
        assert_eq!(c.host, "0.0.0.0");
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
