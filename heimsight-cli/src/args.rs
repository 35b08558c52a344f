//! The command line as clap sees it: raw arguments, before any merging or validation.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Heimsight: a self-hosted observability platform for logs, traces and metrics.
///
/// Run `heimsight serve` to start a server that stores telemetry in a local directory and
/// answers the REST API on port 8080, then `heimsight status` to check it, `heimsight logs`,
/// `query`, `traces`, `alerts` … to use it, or `heimsight tui` to explore it. The client
/// commands take --url (default http://localhost:8080) and -o table|json|csv.
#[derive(Debug, Parser)]
#[command(name = "heimsight", version, propagate_version = true)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: Global,

    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Options of every command that talks to a server, accepted before or after the command.
#[derive(Debug, Args, Default, Clone)]
pub(crate) struct Global {
    /// Base URL of the server [default: the config file's default server, else
    /// http://localhost:8080]
    #[arg(long, global = true, env = "HEIMSIGHT_URL", value_name = "URL")]
    pub(crate) url: Option<String>,

    /// A server named in the client config file (its url and api_key)
    #[arg(
        long,
        short = 's',
        global = true,
        env = "HEIMSIGHT_SERVER",
        value_name = "NAME"
    )]
    pub(crate) server: Option<String>,

    /// API key, sent as `Authorization: Bearer <key>` (for a proxy in front of the server)
    #[arg(
        long,
        global = true,
        env = "HEIMSIGHT_API_KEY",
        value_name = "KEY",
        hide_env_values = true
    )]
    pub(crate) api_key: Option<String>,

    /// PEM file of the certificate authority that signed an https:// server's certificate,
    /// trusted besides the usual public roots (for self-signed or private-CA servers)
    #[arg(long, global = true, env = "HEIMSIGHT_CA_CERT", value_name = "FILE")]
    pub(crate) ca_cert: Option<PathBuf>,

    /// Client config file of named servers [default: ~/.config/heimsight/cli.toml]
    #[arg(
        long,
        global = true,
        env = "HEIMSIGHT_CLIENT_CONFIG",
        value_name = "FILE"
    )]
    pub(crate) client_config: Option<PathBuf>,

    /// Output format: table for people, json or csv for scripts [default: table when
    /// stdout is a terminal, else json]
    #[arg(long, short = 'o', global = true, value_enum, value_name = "FORMAT")]
    pub(crate) output: Option<Output>,

    /// No colours (also when NO_COLOR is set or stdout is not a terminal)
    #[arg(long, global = true)]
    pub(crate) no_color: bool,

    /// Give up on a request after this long, e.g. 30s or 500ms
    #[arg(long, global = true, value_name = "DURATION", default_value = "30s")]
    pub(crate) timeout: String,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Start the Heimsight server.
    ///
    /// Settings come from, in increasing priority: built-in defaults, the config file
    /// (--config), HEIMSIGHT_* environment variables, and these flags. Data is stored in an
    /// embedded RocksDB database in --data-dir. Stop with Ctrl-C or SIGTERM: requests in
    /// flight finish and the data is flushed to disk before exit.
    Serve(ServeArgs),
    /// Check that a Heimsight server is up.
    ///
    /// Prints the server's status and version; exits with status 1 when the server cannot be
    /// reached or is not healthy.
    Health,
    /// Show the server's version, uptime, ingest rates, storage per signal, retention and
    /// active alerts.
    Status,
    /// Search logs, or follow them as they arrive (--follow).
    Logs(crate::commands::logs::LogsArgs),
    /// Show metric series: raw points or aggregated per step, with a sparkline per series.
    Metrics(crate::commands::metrics::MetricsArgs),
    /// Search traces by service, operation, duration and time.
    Traces(crate::commands::traces::TracesArgs),
    /// Show one trace as an indented span tree with durations.
    Trace(crate::commands::traces::TraceArgs),
    /// Run a query of the query language, e.g.
    /// `heimsight query "SELECT service, count(*) FROM logs GROUP BY service"`.
    Query(crate::commands::query::QueryArgs),
    /// Alert rules and alerts: list, get, create, update, delete, silence.
    #[command(subcommand)]
    Alerts(crate::commands::alerts::AlertsCommand),
    /// Notification channels: list, create, test, delete.
    #[command(subcommand)]
    Channels(crate::commands::channels::ChannelsCommand),
    /// How long each signal is kept: get, or set at runtime.
    #[command(subcommand)]
    Retention(crate::commands::retention::RetentionCommand),
    /// API keys: create (shown once), list, revoke; --data-dir works on a stopped server's
    /// data directory (to make the first key).
    #[command(subcommand)]
    Keys(crate::commands::keys::KeysCommand),
    /// Compact a stopped server's data directory: merge every small log block and rewrite the
    /// database files, giving back the space of merged, replaced and expired data at once
    /// instead of bit by bit. Prints the directory's size before and after.
    Compact {
        /// The data directory (of a server that is not running)
        #[arg(long, value_name = "DIR", env = "HEIMSIGHT_DATA_DIR")]
        data_dir: PathBuf,
    },
    /// The CLI's own settings.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Explore a server in the terminal: live logs, queries, traces, metrics and alerts
    /// (press ? for the keys).
    Tui,
    /// Print a shell completion script, e.g. `heimsight completions bash >
    /// /etc/bash_completion.d/heimsight`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write man pages: heimsight.1 and one per command into DIR (or heimsight.1 to stdout
    /// without DIR).
    Man {
        /// Directory to write the pages into.
        dir: Option<PathBuf>,
    },
}

/// Flags of `heimsight serve`. Every one is optional: what is not given here or in the
/// environment comes from the config file, and failing that from the default.
#[derive(Debug, Args, Default)]
pub(crate) struct ServeArgs {
    /// Config file in TOML (see heimsight.example.toml for every setting). Without it, only
    /// defaults, environment and flags apply.
    #[arg(long, env = "HEIMSIGHT_CONFIG", value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,

    /// Address to listen on: 0.0.0.0 for every interface, 127.0.0.1 for this machine only
    /// [default: 0.0.0.0]
    #[arg(long, env = "HEIMSIGHT_HOST", value_name = "ADDRESS")]
    pub(crate) host: Option<String>,

    /// HTTP port of the API, which also serves OTLP/HTTP under /v1/; 0 picks a free port
    /// [default: 8080]
    #[arg(long, short = 'p', env = "HEIMSIGHT_PORT", value_name = "PORT")]
    pub(crate) port: Option<u16>,

    /// Port of OTLP/gRPC; 0 picks a free port [default: 4317]
    #[arg(long, env = "HEIMSIGHT_OTLP_GRPC_PORT", value_name = "PORT")]
    pub(crate) otlp_grpc_port: Option<u16>,

    /// Port of OTLP/HTTP (POST /v1/logs, /v1/traces, /v1/metrics); 0 picks a free port
    /// [default: 4318]
    #[arg(long, env = "HEIMSIGHT_OTLP_HTTP_PORT", value_name = "PORT")]
    pub(crate) otlp_http_port: Option<u16>,

    /// Directory where data is stored; created if missing [default: ./data]
    #[arg(long, env = "HEIMSIGHT_DATA_DIR", value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,

    /// When an acknowledged write is safe: wal (in the write-ahead log: survives a killed
    /// process), sync (fsynced before the answer: survives power loss, slowest) or
    /// periodic:DURATION (fsynced every interval, e.g. periodic:100ms: power loss costs at
    /// most that much) [default: wal]
    #[arg(long, env = "HEIMSIGHT_DURABILITY", value_name = "MODE")]
    pub(crate) durability: Option<String>,

    /// How much the server logs: error, warn, info, debug or trace, or a tracing filter such
    /// as "info,heimsight_store=debug" [default: info]
    #[arg(long, env = "HEIMSIGHT_LOG_LEVEL", value_name = "LEVEL")]
    pub(crate) log_level: Option<String>,

    /// Largest request body accepted, in bytes; larger requests get 413 [default: 16777216,
    /// i.e. 16 MiB]
    #[arg(long, env = "HEIMSIGHT_MAX_BODY_BYTES", value_name = "BYTES")]
    pub(crate) max_body_bytes: Option<usize>,

    /// In-flight budget of ingestion in bytes, over every ingestion endpoint together: when it
    /// is in use, requests are turned away with HTTP 429 / gRPC UNAVAILABLE (clients retry)
    /// [default: 67108864, i.e. 64 MiB]
    #[arg(long, env = "HEIMSIGHT_INGEST_BUDGET_BYTES", value_name = "BYTES")]
    pub(crate) ingest_budget_bytes: Option<usize>,

    /// How long log records are kept, e.g. 7d, 36h, 90m [default: 7d]
    #[arg(long, env = "HEIMSIGHT_RETENTION_LOGS", value_name = "DURATION")]
    pub(crate) retention_logs: Option<String>,

    /// How long spans are kept [default: 7d]
    #[arg(long, env = "HEIMSIGHT_RETENTION_SPANS", value_name = "DURATION")]
    pub(crate) retention_spans: Option<String>,

    /// How long metric points are kept [default: 30d]
    #[arg(long, env = "HEIMSIGHT_RETENTION_METRICS", value_name = "DURATION")]
    pub(crate) retention_metrics: Option<String>,

    /// How often expired data is deleted [default: 1m]
    #[arg(
        long,
        env = "HEIMSIGHT_RETENTION_CHECK_INTERVAL",
        value_name = "DURATION"
    )]
    pub(crate) retention_check_interval: Option<String>,

    /// How much older than its series' newest sample a Prometheus remote write sample may be
    /// and still be taken; older ones are refused [default: 10m]
    #[arg(
        long,
        env = "HEIMSIGHT_METRICS_OUT_OF_ORDER_WINDOW",
        value_name = "DURATION"
    )]
    pub(crate) metrics_out_of_order_window: Option<String>,

    /// Require an API key on every request (REST, OTLP over HTTP and gRPC, the web UI);
    /// /health stays open. The administrator key in HEIMSIGHT_ADMIN_KEY (or the file named by
    /// HEIMSIGHT_ADMIN_KEY_FILE) is accepted besides the keys made with `heimsight keys`
    #[arg(long, env = "HEIMSIGHT_AUTH_ENABLED", value_name = "BOOL", num_args = 0..=1,
          default_missing_value = "true")]
    pub(crate) auth: Option<bool>,

    /// Whether GET /metrics is readable without a key when auth is on [default: true]
    #[arg(long, env = "HEIMSIGHT_AUTH_METRICS_PUBLIC", value_name = "BOOL")]
    pub(crate) auth_metrics_public: Option<bool>,

    /// Requests per second per client (per API key with --auth, else per address)
    /// [default: unlimited]
    #[arg(
        long,
        env = "HEIMSIGHT_RATE_LIMIT_REQUESTS_PER_SECOND",
        value_name = "N"
    )]
    pub(crate) rate_limit_requests_per_second: Option<f64>,

    /// Ingested request bytes per second per client [default: unlimited]
    #[arg(
        long,
        env = "HEIMSIGHT_RATE_LIMIT_INGEST_BYTES_PER_SECOND",
        value_name = "BYTES"
    )]
    pub(crate) rate_limit_ingest_bytes_per_second: Option<u64>,

    /// Queries (/api/v1/query) one client runs at once; more wait up to 2 s, then 429
    /// [default: unlimited]
    #[arg(long, env = "HEIMSIGHT_RATE_LIMIT_QUERY_CONCURRENCY", value_name = "N")]
    pub(crate) rate_limit_query_concurrency: Option<usize>,

    /// PEM certificate chain to serve HTTPS and gRPC over TLS on every port (with --tls-key);
    /// reloaded when the file changes or on SIGHUP
    #[arg(long, env = "HEIMSIGHT_TLS_CERT", value_name = "FILE")]
    pub(crate) tls_cert: Option<PathBuf>,

    /// PEM private key of --tls-cert (PKCS#8, PKCS#1 or SEC1)
    #[arg(long, env = "HEIMSIGHT_TLS_KEY", value_name = "FILE")]
    pub(crate) tls_key: Option<PathBuf>,

    /// Print the effective settings (defaults, file, environment and flags merged) as TOML,
    /// and exit without starting the server.
    #[arg(long)]
    pub(crate) print_config: bool,
}

/// `heimsight config …`.
#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Show the server the CLI talks to, where that came from, and the named servers.
    Show,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Output {
    /// Aligned columns for people (`text` is accepted too).
    #[value(alias = "text")]
    Table,
    /// JSON: the server's answer.
    Json,
    /// Comma-separated values with a header line.
    Csv,
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_options_go_before_or_after_the_command() {
        let a = Cli::try_parse_from([
            "heimsight",
            "--url",
            "http://h:1",
            "-o",
            "csv",
            "logs",
            "-n",
            "5",
        ])
        .unwrap();
        let b = Cli::try_parse_from([
            "heimsight",
            "logs",
            "-n",
            "5",
            "--url",
            "http://h:1",
            "-o",
            "csv",
        ])
        .unwrap();
        for cli in [a, b] {
            assert_eq!(cli.global.url.as_deref(), Some("http://h:1"));
            assert_eq!(cli.global.output, Some(Output::Csv));
            let Command::Logs(l) = cli.command else {
                panic!("{:?}", cli.command)
            };
            assert_eq!(l.limit, 5);
            assert_eq!(l.since, "15m");
        }
        // `text` is the old name of `table`.
        let c = Cli::try_parse_from(["heimsight", "health", "-o", "text"]).unwrap();
        assert_eq!(c.global.output, Some(Output::Table));
        let e = Cli::try_parse_from(["heimsight", "health", "-o", "yaml"])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("invalid value 'yaml'") && e.contains("table, json, csv"),
            "{e}"
        );
    }

    #[test]
    fn subcommands_parse_their_flags() {
        let c = Cli::try_parse_from([
            "heimsight",
            "alerts",
            "create",
            "--name",
            "cpu",
            "--kind",
            "threshold",
            "--op",
            ">",
            "--threshold",
            "-1.5",
            "--for",
            "2m",
            "--label",
            "team=infra",
            "--channel",
            "ops",
        ])
        .unwrap();
        let Command::Alerts(crate::commands::alerts::AlertsCommand::Create(r)) = c.command else {
            panic!("{:?}", c.command)
        };
        assert_eq!(r.threshold, Some(-1.5));
        assert_eq!(r.for_.as_deref(), Some("2m"));
        assert_eq!(r.label, ["team=infra"]);
        let c = Cli::try_parse_from([
            "heimsight",
            "metrics",
            "cpu",
            "-l",
            "host=~web.*",
            "--agg",
            "avg",
            "--step",
            "5m",
        ])
        .unwrap();
        let Command::Metrics(m) = c.command else {
            panic!()
        };
        assert_eq!(
            (m.name.as_deref(), m.agg.as_deref(), m.step.as_deref()),
            (Some("cpu"), Some("avg"), Some("5m"))
        );
        // --poll only makes sense with --follow.
        assert!(Cli::try_parse_from(["heimsight", "logs", "--poll", "1s"]).is_err());
        // A silence needs matchers or a rule.
        assert!(Cli::try_parse_from(["heimsight", "alerts", "silence"]).is_err());
        assert!(Cli::try_parse_from(["heimsight", "alerts", "silence", "--rule", "cpu"]).is_ok());
        let c = Cli::try_parse_from(["heimsight", "completions", "zsh"]).unwrap();
        assert!(matches!(
            c.command,
            Command::Completions {
                shell: clap_complete::Shell::Zsh
            }
        ));
    }
}
