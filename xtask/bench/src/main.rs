//! `heimsight-bench`: a load driver that sends generated, realistic telemetry
//! ([`heimsight_datagen`]) to a running Heimsight server over the REST API or OTLP (HTTP
//! protobuf, HTTP JSON or gRPC) and reports throughput, latency and the server's memory.
//! `--sink` runs an in-process server that discards everything ([`sink`]), for the driver's
//! own ceiling. Not published: it is a tool of this repository, run with
//! `cargo run --release -p heimsight-bench -- --help`.

mod bench;
mod sink;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // reqwest is built without a TLS backend's default crypto provider; the binary chooses
    // the process-wide one (as the `heimsight` binary does), else building a client panics.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let args = bench::BenchArgs::parse();
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|rt| rt.block_on(bench::run(args)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
