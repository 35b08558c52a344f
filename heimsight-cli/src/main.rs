//! The `heimsight` command: `heimsight serve` runs the reference server, `heimsight health`
//! checks one, `heimsight bench` load-tests one. Raw arguments are turned into a validated configuration before anything runs;
//! failures print `error: …` and exit with status 1 (2 for usage errors, from clap).

mod args;
mod bench;
mod bench_sink;
mod config;
mod health;
mod serve;

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;

use crate::args::{Cli, Command};

fn main() -> ExitCode {
    // reqwest's rustls support is on in this build (heimsight-notify needs HTTPS) without a
    // built-in crypto provider; the binary, not a library, chooses the process-wide one.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve(args) => {
            let config = config::resolve(&args)?;
            if args.print_config {
                let text = toml::to_string(&config)?;
                write!(std::io::stdout().lock(), "{text}")?;
                return Ok(());
            }
            runtime()?.block_on(serve::run(config))
        }
        Command::Bench(args) => runtime()?.block_on(bench::run(args)),
        Command::Health(args) => {
            let mut out = std::io::stdout().lock();
            runtime()?.block_on(health::run(&args, &mut out))
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// Output cut short by a closed pipe (`heimsight … | head`) is not a failure.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
