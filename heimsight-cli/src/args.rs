//! The command line as clap sees it: raw arguments, before any merging or validation.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Heimsight: a self-hosted observability platform for logs, traces and metrics.
///
/// Run `heimsight serve` to start a server that stores telemetry in a local directory and
/// answers the REST API on port 8080, then `heimsight health` to check it.
#[derive(Debug, Parser)]
#[command(name = "heimsight", version, propagate_version = true)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
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
    Health(HealthArgs),
    /// Load-test a running server with generated, realistic telemetry.
    ///
    /// Sends batches of generated logs, spans or metric points over the REST API or OTLP
    /// (--protocol otlp-http, otlp-json or otlp-grpc) from several concurrent clients for a
    /// while, then reports records/s, requests/s, latency percentiles and errors (and the
    /// server's memory with --pid). --sink measures the driver's own ceiling.
    Bench(crate::bench::BenchArgs),
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

    /// Print the effective settings (defaults, file, environment and flags merged) as TOML,
    /// and exit without starting the server.
    #[arg(long)]
    pub(crate) print_config: bool,
}

/// Flags of `heimsight health`.
#[derive(Debug, Args)]
pub(crate) struct HealthArgs {
    /// Base URL of the server.
    #[arg(
        long,
        env = "HEIMSIGHT_URL",
        value_name = "URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub(crate) url: String,

    /// Output format: text for people, json for scripts (the server's answer as is).
    #[arg(long, short = 'o', value_enum, default_value_t = Output::Text)]
    pub(crate) output: Output,

    /// Give up after this long, e.g. 5s or 500ms.
    #[arg(long, value_name = "DURATION", default_value = "5s")]
    pub(crate) timeout: String,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Output {
    /// One line for people.
    Text,
    /// JSON.
    Json,
}
