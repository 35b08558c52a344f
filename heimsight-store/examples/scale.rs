//! Large-scale store benchmark: loads millions of generated logs and traces into a store, then
//! times the queries the foundation issue sets targets for.
//!
//! ```text
//! cargo run --release -p heimsight-store --example scale -- \
//!     --logs 10000000 --traces 1000000 --dir /tmp/hs-scale
//! ```
//!
//! Options (all optional):
//!
//! - `--logs N` (default 1,000,000), `--traces N` (default 100,000)
//! - `--dir PATH` (default `/tmp/hs-scale`): the RocksDB directory. It must be absent, empty,
//!   or a RocksDB directory from an earlier run (which is then deleted).
//! - `--store rocks|memory` (default `rocks` when built with the `rocksdb` feature)
//! - `--durability wal|sync|periodic:MS` (default `wal`)
//! - `--merge-level N` (default 3): zstd level of the background merges of log blocks
//! - `--batch N` (default 1,000 logs per `append_logs`), `--trace-batch N` (default 100
//!   traces per `append_spans`)
//! - `--runs N` (default 20) timed runs per query; `--lookups N` (default 1,000) trace-by-id
//!   lookups of random stored traces
//! - `--log-rate R` (default 2,000) and `--trace-rate R` (default 200): records per simulated
//!   second, i.e. how much time the data spans
//! - `--rare-every N` (default 1,000,000): one log in N carries the rare term
//! - `--service NAME` (default `order-service`) for the `level=error AND service=X` query and
//!   the trace search
//! - `--seed N` (default 1), `--reopen` (close and reopen the store before querying, so caches
//!   start cold), `--keep` (leave the directory in place)
//!
//! Prints a Markdown table with the core count and peak RSS, ready to paste into a note.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::error::Error as StdError;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use heimsight_core::{Level, TraceId};
use heimsight_datagen::{COMMON_TERM, Config, Generator, RARE_TERM, SplitMix64};
use heimsight_store::{LogFilter, LogQuery, MemoryStore, Store, TraceQuery};

type AnyResult<T> = Result<T, Box<dyn StdError>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Memory,
    #[cfg(feature = "rocksdb")]
    Rocks,
}

#[derive(Debug)]
struct Args {
    logs: u64,
    traces: u64,
    dir: PathBuf,
    backend: Backend,
    durability: String,
    merge_level: i32,
    batch: usize,
    trace_batch: usize,
    runs: usize,
    lookups: usize,
    log_rate: f64,
    trace_rate: f64,
    rare_every: u64,
    service: String,
    seed: u64,
    reopen: bool,
    keep: bool,
}

const USAGE: &str = "usage: scale [--logs N] [--traces N] [--dir PATH] [--store rocks|memory] \
[--durability wal|sync|periodic:MS] [--batch N] [--trace-batch N] [--runs N] [--lookups N] \
[--log-rate R] [--trace-rate R] [--rare-every N] [--service NAME] [--seed N] [--reopen] [--keep]";

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        logs: 1_000_000,
        traces: 100_000,
        dir: PathBuf::from("/tmp/hs-scale"),
        #[cfg(feature = "rocksdb")]
        backend: Backend::Rocks,
        #[cfg(not(feature = "rocksdb"))]
        backend: Backend::Memory,
        durability: "wal".into(),
        merge_level: 3,
        batch: 1_000,
        trace_batch: 100,
        runs: 20,
        lookups: 1_000,
        log_rate: 2_000.0,
        trace_rate: 200.0,
        rare_every: 1_000_000,
        service: "order-service".into(),
        seed: 1,
        reopen: false,
        keep: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
        };
        fn num<T: std::str::FromStr>(flag: &str, v: String) -> Result<T, String> {
            v.replace('_', "")
                .parse()
                .map_err(|_| format!("{flag}: {v:?} is not a valid number"))
        }
        match flag.as_str() {
            "--logs" => a.logs = num(&flag, value()?)?,
            "--traces" => a.traces = num(&flag, value()?)?,
            "--dir" => a.dir = PathBuf::from(value()?),
            "--store" => {
                a.backend = match value()?.as_str() {
                    "memory" => Backend::Memory,
                    #[cfg(feature = "rocksdb")]
                    "rocks" | "rocksdb" => Backend::Rocks,
                    other => return Err(format!("--store: unknown store {other:?}")),
                }
            }
            "--durability" => a.durability = value()?,
            "--merge-level" => a.merge_level = num(&flag, value()?)?,
            "--batch" => a.batch = num(&flag, value()?)?,
            "--trace-batch" => a.trace_batch = num(&flag, value()?)?,
            "--runs" => a.runs = num(&flag, value()?)?,
            "--lookups" => a.lookups = num(&flag, value()?)?,
            "--log-rate" => a.log_rate = num(&flag, value()?)?,
            "--trace-rate" => a.trace_rate = num(&flag, value()?)?,
            "--rare-every" => a.rare_every = num(&flag, value()?)?,
            "--service" => a.service = value()?,
            "--seed" => a.seed = num(&flag, value()?)?,
            "--reopen" => a.reopen = true,
            "--keep" => a.keep = true,
            "-h" | "--help" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    if a.batch == 0 || a.trace_batch == 0 || a.runs == 0 || a.lookups == 0 {
        return Err("--batch, --trace-batch, --runs and --lookups must be positive".into());
    }
    if !(a.log_rate > 0.0 && a.trace_rate > 0.0) {
        return Err("--log-rate and --trace-rate must be positive".into());
    }
    Ok(a)
}

/// The store under test, with the backend-specific operations the traits don't have.
enum Opened {
    Memory(MemoryStore),
    #[cfg(feature = "rocksdb")]
    Rocks(heimsight_store::RocksStore),
}

impl Opened {
    fn open(args: &Args) -> AnyResult<Opened> {
        match args.backend {
            Backend::Memory => Ok(Opened::Memory(MemoryStore::new())),
            #[cfg(feature = "rocksdb")]
            Backend::Rocks => {
                use heimsight_store::{Durability, RocksStore};
                let durability = match args.durability.as_str() {
                    "wal" => Durability::Wal,
                    "sync" => Durability::Sync,
                    other => match other.strip_prefix("periodic:") {
                        Some(ms) => Durability::Periodic(Duration::from_millis(ms.parse()?)),
                        None => return Err(format!("unknown durability {other:?}").into()),
                    },
                };
                Ok(Opened::Rocks(
                    RocksStore::builder(&args.dir)
                        .durability(durability)
                        .merge_zstd_level(args.merge_level)
                        .open()?,
                ))
            }
        }
    }

    fn store(&self) -> &dyn Store {
        match self {
            Opened::Memory(s) => s,
            #[cfg(feature = "rocksdb")]
            Opened::Rocks(s) => s,
        }
    }

    fn compact(&self) -> AnyResult<()> {
        match self {
            Opened::Memory(_) => Ok(()),
            #[cfg(feature = "rocksdb")]
            Opened::Rocks(s) => Ok(s.compact()?),
        }
    }

    fn on_disk(&self, dir: &Path) -> AnyResult<Option<u64>> {
        match self {
            Opened::Memory(_) => Ok(None),
            #[cfg(feature = "rocksdb")]
            Opened::Rocks(_) => Ok(Some(heimsight_store::RocksStore::dir_bytes(dir)?)),
        }
    }
}

fn prepare_dir(dir: &Path) -> AnyResult<()> {
    if !dir.exists() {
        return Ok(());
    }
    let empty = std::fs::read_dir(dir)?.next().is_none();
    if empty || dir.join("CURRENT").exists() {
        std::fs::remove_dir_all(dir)?;
        Ok(())
    } else {
        Err(format!(
            "{} exists and is not a RocksDB directory; refusing to delete it",
            dir.display()
        )
        .into())
    }
}

/// `(VmRSS, VmHWM)` of this process in bytes.
fn rss() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else if ms >= 1.0 {
        format!("{ms:.2} ms")
    } else {
        format!("{:.0} µs", ms * 1e3)
    }
}

fn rate(n: u64, d: Duration) -> String {
    let r = n as f64 / d.as_secs_f64().max(1e-9);
    let mut s = format!("{:.0}", r);
    // Thousands separators.
    let mut i = s.len() as isize - 3;
    while i > 0 {
        s.insert(i as usize, ',');
        i -= 3;
    }
    s
}

/// Timings of one query.
struct Timing {
    name: String,
    matches: String,
    first: Duration,
    p50: Duration,
    p99: Duration,
    max: Duration,
    target: &'static str,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[idx]
}

/// Runs `f` `runs` times; the first run is reported on its own (cold caches).
fn time_query(
    name: &str,
    target: &'static str,
    runs: usize,
    mut f: impl FnMut(usize) -> AnyResult<String>,
) -> AnyResult<Timing> {
    let mut times = Vec::with_capacity(runs);
    let mut matches = String::new();
    for i in 0..runs {
        let t = Instant::now();
        let m = f(i)?;
        times.push(t.elapsed());
        if i == 0 {
            matches = m;
        }
    }
    let first = times[0];
    times.sort();
    let timing = Timing {
        name: name.to_string(),
        matches,
        first,
        p50: percentile(&times, 0.5),
        p99: percentile(&times, 0.99),
        max: times[times.len() - 1],
        target,
    };
    eprintln!(
        "  {name}: p50 {} p99 {} ({})",
        ms(timing.p50),
        ms(timing.p99),
        timing.matches
    );
    Ok(timing)
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(&args) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> AnyResult<()> {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    if args.backend == Backend::Memory && args.logs > 2_000_000 {
        eprintln!("warning: the memory store keeps everything in RAM (~1 KiB per log record)");
    }
    if args.backend != Backend::Memory {
        prepare_dir(&args.dir)?;
    }
    let mut opened = Opened::open(args)?;
    let config = Config {
        logs_per_sec: args.log_rate,
        traces_per_sec: args.trace_rate,
        rare_every: args.rare_every,
        ..Config::default()
    };
    let mut generator = Generator::with_config(args.seed, config);

    // ---- logs ----
    eprintln!("loading {} logs in batches of {}…", args.logs, args.batch);
    let mut append_time = Duration::ZERO;
    let mut gen_time = Duration::ZERO;
    let (mut json_bytes, mut json_records) = (0u64, 0u64);
    let load_start = Instant::now();
    let mut loaded = 0u64;
    let mut batch_no = 0u64;
    let progress_every = (args.logs / 10).max(1);
    let mut next_progress = progress_every;
    while loaded < args.logs {
        let n = (args.logs - loaded).min(args.batch as u64) as usize;
        let t = Instant::now();
        let batch = generator.logs(n);
        gen_time += t.elapsed();
        if batch_no.is_multiple_of(16) {
            for r in &batch {
                json_bytes += serde_json::to_vec(&r.to_json())?.len() as u64;
            }
            json_records += batch.len() as u64;
        }
        let t = Instant::now();
        opened.store().append_logs(batch)?;
        append_time += t.elapsed();
        loaded += n as u64;
        batch_no += 1;
        if loaded >= next_progress {
            eprintln!(
                "  {loaded} logs, {} records/s in append_logs",
                rate(loaded, append_time)
            );
            next_progress += progress_every;
        }
    }
    let log_wall = load_start.elapsed();
    let t = Instant::now();
    opened.store().flush()?;
    opened.compact()?;
    let log_compact = t.elapsed();
    let log_disk = opened.on_disk(&args.dir)?;
    let log_stats = opened.store().stats()?.logs;

    // ---- traces ----
    eprintln!(
        "loading {} traces in batches of {}…",
        args.traces, args.trace_batch
    );
    let mut span_time = Duration::ZERO;
    let mut spans_loaded = 0u64;
    let (mut span_json_bytes, mut span_json_records) = (0u64, 0u64);
    let mut traces_loaded = 0u64;
    let mut trace_ids: Vec<TraceId> = Vec::new();
    let keep_every = (args.traces / 100_000).max(1);
    let mut batch_no = 0u64;
    while traces_loaded < args.traces {
        let n = (args.traces - traces_loaded).min(args.trace_batch as u64) as usize;
        let spans = generator.traces(n);
        let mut last = None;
        for s in &spans {
            if last != Some(s.trace_id) {
                if traces_loaded.is_multiple_of(keep_every) {
                    trace_ids.push(s.trace_id);
                }
                traces_loaded += 1;
                last = Some(s.trace_id);
            }
        }
        if batch_no.is_multiple_of(16) {
            for s in &spans {
                span_json_bytes += serde_json::to_vec(&s.to_json())?.len() as u64;
            }
            span_json_records += spans.len() as u64;
        }
        spans_loaded += spans.len() as u64;
        let t = Instant::now();
        opened.store().append_spans(spans)?;
        span_time += t.elapsed();
        batch_no += 1;
    }
    let t = Instant::now();
    opened.store().flush()?;
    opened.compact()?;
    let span_compact = t.elapsed();
    let total_disk = opened.on_disk(&args.dir)?;

    if args.reopen {
        if let Opened::Memory(_) = opened {
            eprintln!("--reopen has no effect on the memory store");
        } else {
            drop(opened);
            let t = Instant::now();
            opened = Opened::open(args)?;
            eprintln!("reopened in {}", ms(t.elapsed()));
        }
    }

    // ---- queries ----
    eprintln!("querying…");
    let store = opened.store();
    let mut timings = Vec::new();
    timings.push(time_query(
        "page of 100 newest, all time",
        "< 20 ms",
        args.runs,
        |_| {
            let page = store.query_logs(&LogQuery::default())?;
            Ok(format!("{} rows of {}", page.logs.len(), page.total))
        },
    )?);
    let svc = args.service.clone();
    timings.push(time_query(
        &format!("level=error AND service={svc}, page 100 + total"),
        "< 300 ms",
        args.runs,
        |_| {
            let page = store.query_logs(
                &LogQuery::default().with_filter(
                    LogFilter::default()
                        .with_levels([Level::Error])
                        .with_services([svc.clone()]),
                ),
            )?;
            Ok(format!("{} rows of {}", page.logs.len(), page.total))
        },
    )?);
    let expected_rare = generator.rare_logs();
    timings.push(time_query(
        &format!("rare term \"{RARE_TERM}\""),
        "< 300 ms",
        args.runs,
        |_| {
            let page = store.query_logs(
                &LogQuery::default().with_filter(LogFilter::default().with_terms([RARE_TERM])),
            )?;
            if page.total != expected_rare {
                eprintln!(
                    "  WARNING: rare term found {} times, {expected_rare} were generated",
                    page.total
                );
            }
            Ok(format!("{} (expected {expected_rare})", page.total))
        },
    )?);
    timings.push(time_query(
        &format!("common term \"{COMMON_TERM}\", limit 100"),
        "",
        args.runs,
        |_| {
            let page = store.query_logs(
                &LogQuery::default().with_filter(LogFilter::default().with_terms([COMMON_TERM])),
            )?;
            Ok(format!("{} rows of {}", page.logs.len(), page.total))
        },
    )?);
    if !trace_ids.is_empty() {
        let mut rng = SplitMix64::new(args.seed ^ 0x5eed);
        let mut missing = 0u64;
        let mut spans_found = 0u64;
        let mut t = time_query(
            "trace by id (random stored traces)",
            "p99 < 10 ms",
            args.lookups,
            |_| {
                let id = trace_ids[rng.below(trace_ids.len() as u64) as usize];
                let spans = store.get_trace(&id)?;
                missing += u64::from(spans.is_empty());
                spans_found += spans.len() as u64;
                Ok(String::new())
            },
        )?;
        t.matches = format!(
            "{:.1} spans avg, {missing} missing",
            spans_found as f64 / args.lookups as f64
        );
        timings.push(t);
        let svc = args.service.clone();
        timings.push(time_query(
            &format!("find_traces service={svc}, limit 20"),
            "",
            args.runs,
            |_| {
                let found = store.find_traces(&TraceQuery::default().with_service(svc.clone()))?;
                Ok(format!("{} traces", found.len()))
            },
        )?);
        timings.push(time_query(
            "find_traces min_duration=500ms, limit 20",
            "",
            args.runs,
            |_| {
                let found =
                    store.find_traces(&TraceQuery::default().with_min_duration(500_000_000))?;
                Ok(format!("{} traces", found.len()))
            },
        )?);
    }
    let (rss_now, rss_peak) = rss();

    // ---- report ----
    let backend = match args.backend {
        Backend::Memory => "memory".to_string(),
        #[cfg(feature = "rocksdb")]
        Backend::Rocks => format!("rocksdb (durability {})", args.durability),
    };
    println!();
    println!(
        "## Heimsight store scale benchmark: {backend}, {cores} cores, seed {}",
        args.seed
    );
    println!();
    println!("| measure | value | target |");
    println!("|---|---|---|");
    println!(
        "| log writes, batches of {} (time in `append_logs`) | {} records/s | ≥ 300,000/s |",
        args.batch,
        rate(args.logs, append_time)
    );
    println!(
        "| log load wall clock incl. generation | {} records/s ({} generating) | |",
        rate(args.logs, log_wall),
        ms(gen_time)
    );
    println!(
        "| span writes, batches of {} traces | {} spans/s ({} traces, {} spans) | |",
        args.trace_batch,
        rate(spans_loaded, span_time),
        traces_loaded,
        spans_loaded
    );
    println!(
        "| flush + compact after logs / after spans | {} / {} | |",
        ms(log_compact),
        ms(span_compact)
    );
    let raw_json = json_bytes as f64 / json_records.max(1) as f64;
    match log_disk {
        Some(bytes) => println!(
            "| on-disk bytes per log record after compaction | {:.1} B ({} for {} logs) | ≤ 40 B |",
            bytes as f64 / args.logs.max(1) as f64,
            mib(bytes),
            args.logs
        ),
        None => println!("| on-disk bytes per log record | n/a (memory store) | ≤ 40 B |"),
    }
    println!("| raw JSON bytes per log record (REST shape) | {raw_json:.1} B | |");
    println!(
        "| store-reported log bytes per record | {:.1} B | |",
        log_stats.bytes as f64 / args.logs.max(1) as f64
    );
    if let (Some(logs), Some(total)) = (log_disk, total_disk) {
        println!(
            "| on-disk bytes per span (after compaction) | {:.1} B (raw JSON {:.1} B) | |",
            total.saturating_sub(logs) as f64 / spans_loaded.max(1) as f64,
            span_json_bytes as f64 / span_json_records.max(1) as f64
        );
        println!("| directory size at the end | {} | |", mib(total));
    }
    println!(
        "| RSS at the end / peak (VmHWM) | {} / {} | |",
        mib(rss_now),
        mib(rss_peak)
    );
    println!();
    println!(
        "Queries over {} logs and {} traces ({} runs each; trace lookups: {}):",
        args.logs, traces_loaded, args.runs, args.lookups
    );
    println!();
    println!("| query | result | first | p50 | p99 | max | target |");
    println!("|---|---|---|---|---|---|---|");
    for t in &timings {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} |",
            t.name,
            t.matches,
            ms(t.first),
            ms(t.p50),
            ms(t.p99),
            ms(t.max),
            t.target
        );
    }
    drop(opened);
    if args.backend != Backend::Memory && !args.keep {
        std::fs::remove_dir_all(&args.dir)?;
    }
    Ok(())
}
