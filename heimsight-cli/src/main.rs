//! The `heimsight` command: `heimsight serve` runs the reference server; `health`, `status`,
//! `logs`, `metrics`, `traces`, `trace`, `query`, `alerts`, `channels` and `retention` talk to
//! one over its REST API (the load driver is `heimsight-bench`, in `xtask/bench`). Raw arguments are turned into a validated
//! configuration before anything runs; failures print `error: …` and exit with status 1 (2
//! for usage errors, from clap); output cut short by a closed pipe is not a failure.

mod args;
mod client;
mod commands;
mod config;
mod memory;
mod output;
mod serve;
mod tui;

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;

use crate::args::{Cli, Command};

/// jemalloc: less fragmentation than glibc malloc's per-thread arenas under the server's
/// blocking pool, and unused memory goes back to the system in the background.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

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
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "heimsight", &mut std::io::stdout().lock());
            Ok(())
        }
        Command::Man { dir } => man(dir.as_deref()),
        Command::Compact { data_dir } => {
            compact(&data_dir, output::Printer::new(&cli.global).format)
        }
        Command::Config(args::ConfigCommand::Show) => config_show(&cli.global),
        Command::Tui => {
            let global = cli.global;
            runtime()?.block_on(async move {
                let api = client::Api::new(client::target(&global)?, commands::timeout(&global)?)?;
                // Fail before taking over the terminal when the server is not there.
                api.get("/health", &[]).await?;
                tui::run(api).await
            })
        }
        command => {
            let global = cli.global;
            runtime()?.block_on(async move {
                let ctx = commands::Ctx::new(&global)?;
                remote(&ctx, command).await
            })
        }
    }
}

/// `heimsight compact`: opens a stopped server's store, compacts it and reports the sizes.
fn compact(dir: &std::path::Path, format: args::Output) -> Result<()> {
    use anyhow::Context as _;
    let before = heimsight_store::RocksStore::dir_bytes(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?;
    let started = std::time::Instant::now();
    {
        let _spinner = output::spinner("compacting");
        let store = heimsight_store::RocksStore::builder(dir)
            .background_merge(false)
            .open()
            .with_context(|| {
                format!(
                    "cannot open the data directory {} (is a server still running on it?)",
                    dir.display()
                )
            })?;
        store.compact()?;
        heimsight_store::Maintenance::flush(&store)?;
    }
    let after = heimsight_store::RocksStore::dir_bytes(dir)?;
    let secs = started.elapsed().as_secs_f64();
    let mut out = std::io::stdout().lock();
    match format {
        args::Output::Json => writeln!(
            out,
            "{}",
            serde_json::json!({"data_dir": dir, "bytes_before": before, "bytes_after": after, "seconds": secs})
        )?,
        args::Output::Csv => {
            writeln!(out, "data_dir,bytes_before,bytes_after,seconds")?;
            writeln!(out, "{},{before},{after},{secs:.1}", dir.display())?;
        }
        args::Output::Table => writeln!(
            out,
            "compacted {} in {secs:.1} s: {:.1} MB → {:.1} MB",
            dir.display(),
            before as f64 / 1e6,
            after as f64 / 1e6
        )?,
    }
    Ok(())
}

/// The commands that talk to a server.
async fn remote(ctx: &commands::Ctx, command: Command) -> Result<()> {
    use commands::*;
    match command {
        Command::Health => status::health(ctx).await,
        Command::Status => status::status(ctx).await,
        Command::Logs(a) => logs::run(ctx, &a).await,
        Command::Metrics(a) => metrics::run(ctx, &a).await,
        Command::Traces(a) => traces::search(ctx, &a).await,
        Command::Trace(a) => traces::show(ctx, &a).await,
        Command::Query(a) => query::run(ctx, &a).await,
        Command::Alerts(c) => alerts::run(ctx, &c).await,
        Command::Channels(c) => channels::run(ctx, &c).await,
        Command::Retention(c) => retention::run(ctx, &c).await,
        Command::Keys(c) => keys::run(ctx, &c).await,
        Command::Serve(_)
        | Command::Compact { .. }
        | Command::Completions { .. }
        | Command::Man { .. }
        | Command::Config(_)
        | Command::Tui => unreachable!("handled in run"),
    }
}

/// `heimsight man [DIR]`: heimsight.1 to stdout, or every page into DIR.
fn man(dir: Option<&std::path::Path>) -> Result<()> {
    let cmd = <Cli as clap::CommandFactory>::command();
    match dir {
        None => {
            clap_mangen::Man::new(cmd).render(&mut std::io::stdout().lock())?;
        }
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            clap_mangen::generate_to(cmd, dir)?;
            let n = std::fs::read_dir(dir)?.count();
            writeln!(
                std::io::stderr(),
                "wrote {n} man pages to {}",
                dir.display()
            )?;
        }
    }
    Ok(())
}

/// `heimsight config show`: the server the CLI talks to and where that choice came from.
fn config_show(global: &args::Global) -> Result<()> {
    let target = client::target(global)?;
    let (_, config) = client::load_config(global)?;
    let printer = output::Printer::new(global);
    let masked = target.api_key.as_ref().map(|k| {
        let tail: String = k
            .chars()
            .rev()
            .take(4)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("••••{tail}")
    });
    let file = target
        .config_file
        .as_ref()
        .map(|p| p.display().to_string())
        .or_else(|| client::config_path(global).map(|p| format!("{} (not found)", p.display())));
    let json = serde_json::json!({
        "url": target.url,
        "source": target.source,
        "api_key": masked,
        "config_file": file,
        "default_server": config.default,
        "servers": config.servers.iter().map(|(k, v)| (k.clone(), serde_json::json!(v.url))).collect::<serde_json::Map<_, _>>(),
        "output": format!("{:?}", printer.format).to_lowercase(),
        "timeout": global.timeout,
    });
    let mut t = output::Table::new(&["setting", "value"]);
    t.row([
        "url".to_string(),
        format!("{} ({})", target.url, target.source),
    ]);
    t.row([
        "api_key".to_string(),
        masked.unwrap_or_else(|| "none".into()),
    ]);
    t.row([
        "config_file".to_string(),
        file.unwrap_or_else(|| "none".into()),
    ]);
    for (name, s) in &config.servers {
        let mark = if config.default.as_deref() == Some(name) {
            " (default)"
        } else {
            ""
        };
        t.row([format!("server {name}"), format!("{}{mark}", s.url)]);
    }
    t.row(["timeout".to_string(), global.timeout.clone()]);
    printer.print(&mut std::io::stdout().lock(), &json, &t)
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
