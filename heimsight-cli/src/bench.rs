//! `heimsight bench`: a load driver that posts generated, realistic telemetry to a running
//! server's REST ingest endpoints and reports throughput, latency and the server's memory.
//!
//! Data comes from [`heimsight_store::datagen`] (the same generator as the store benchmarks),
//! produced and JSON-encoded on dedicated threads so that encoding does not stall the
//! requests; the summary says how long workers waited for data, which tells whether the
//! driver itself was the bottleneck. `--dry-run` measures that ceiling without a server.

#![allow(clippy::print_stdout)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use heimsight_core::Timestamp;
use heimsight_store::datagen::{Config, Generator};

/// Which signal `heimsight bench` sends.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BenchSignal {
    /// Log records to `/api/v1/logs`.
    Logs,
    /// Spans (whole traces of 3 to 15 spans) to `/api/v1/traces`.
    Traces,
    /// Metric points (gauges, counters, histograms) to `/api/v1/metrics`.
    Metrics,
}

impl BenchSignal {
    fn path(self) -> &'static str {
        match self {
            BenchSignal::Logs => "/api/v1/logs",
            BenchSignal::Traces => "/api/v1/traces",
            BenchSignal::Metrics => "/api/v1/metrics",
        }
    }

    fn unit(self) -> &'static str {
        match self {
            BenchSignal::Logs => "records",
            BenchSignal::Traces => "spans",
            BenchSignal::Metrics => "points",
        }
    }
}

/// Send generated telemetry to a server as fast as it takes it, and report how it went.
#[derive(clap::Args, Debug)]
pub(crate) struct BenchArgs {
    /// Base URL of the server.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub(crate) url: String,

    /// What to send.
    #[arg(long, value_enum, default_value_t = BenchSignal::Logs)]
    pub(crate) signal: BenchSignal,

    /// Records per request (for traces: spans, rounded up to whole traces).
    #[arg(long, default_value_t = 1000)]
    pub(crate) batch: usize,

    /// Requests in flight at once.
    #[arg(long, default_value_t = 4)]
    pub(crate) concurrency: usize,

    /// How long to send, e.g. 30s, 5m.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub(crate) duration: Duration,

    /// Seed of the generated data; each generator thread derives its own from it.
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,

    /// Process id of the server (same machine only), to report its memory (RSS) as it loads.
    #[arg(long)]
    pub(crate) pid: Option<u32>,

    /// Time between progress lines, e.g. 5s.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub(crate) interval: Duration,

    /// Threads generating and encoding data (0: half the cores, at least one).
    #[arg(long, default_value_t = 0)]
    pub(crate) generators: usize,

    /// Generate this many request bodies up front and send them over and over, instead of
    /// fresh data for every request (0). Takes the driver's own cost out of the measurement;
    /// repeated metric points replace each other instead of adding up.
    #[arg(long, default_value_t = 0)]
    pub(crate) pool: usize,

    /// Generate and encode only, sending nothing: the driver's own ceiling.
    #[arg(long)]
    pub(crate) dry_run: bool,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let nanos = heimsight_core::parse_duration_nanos(s).map_err(|e| e.to_string())?;
    if nanos <= 0 {
        return Err("must be positive".into());
    }
    Ok(Duration::from_nanos(nanos.unsigned_abs()))
}

/// One encoded request body.
#[derive(Clone)]
struct Body {
    json: Vec<u8>,
    records: u64,
}

/// Counters shared by the workers and the progress reporter.
#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    ok: AtomicU64,
    throttled: AtomicU64,
    client_errors: AtomicU64,
    server_errors: AtomicU64,
    transport_errors: AtomicU64,
    sent: AtomicU64,
    accepted: AtomicU64,
    bytes: AtomicU64,
    /// Microseconds workers spent waiting for a generated body.
    starved_us: AtomicU64,
    /// The first few distinct error descriptions.
    first_errors: Mutex<Vec<String>>,
}

impl Counters {
    fn note_error(&self, what: String) {
        let mut errors = self
            .first_errors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if errors.len() < 5 && !errors.contains(&what) {
            errors.push(what);
        }
    }
}

/// Runs the load driver until `args.duration` has passed, printing progress and a summary.
pub(crate) async fn run(args: BenchArgs) -> Result<()> {
    if args.batch == 0 || args.concurrency == 0 {
        bail!("--batch and --concurrency must be at least 1");
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let generators = if args.generators == 0 {
        (cores / 2).max(1)
    } else {
        args.generators
    };
    let base = args.url.trim_end_matches('/').to_string();
    let url = format!("{base}{}", args.signal.path());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .timeout(Duration::from_secs(60))
        .build()
        .context("building the HTTP client")?;
    if !args.dry_run {
        let health = format!("{base}/health");
        let resp = client
            .get(&health)
            .send()
            .await
            .with_context(|| format!("no Heimsight server answers at {health}"))?;
        if !resp.status().is_success() {
            bail!("{health} answered {}", resp.status());
        }
    }
    let server_rss_start = args.pid.and_then(|p| proc_rss(p).map(|r| r.0));

    println!(
        "heimsight bench: {} to {}{}, batches of {}, {} in flight, {} generator thread(s){}, for {:?} on {cores} cores",
        args.signal.unit(),
        if args.dry_run {
            "nowhere (dry run) instead of "
        } else {
            ""
        },
        url,
        args.batch,
        args.concurrency,
        generators,
        if args.pool > 0 {
            format!(", replaying {} pre-generated bodies", args.pool)
        } else {
            String::new()
        },
        args.duration,
    );

    // Generator threads feed a bounded queue of encoded bodies.
    let stop = Arc::new(AtomicBool::new(false));
    let (tx, rx) = tokio::sync::mpsc::channel::<Body>(args.concurrency * 2);
    let mut threads = Vec::new();
    for g in 0..generators {
        let tx = tx.clone();
        let stop = Arc::clone(&stop);
        let signal = args.signal;
        let batch = args.batch;
        let seed = args.seed.wrapping_mul(1_000_003).wrapping_add(g as u64 + 1);
        let pool_size = args.pool.div_ceil(generators);
        threads.push(std::thread::spawn(move || {
            let mut generator = Generator::with_config(seed, driver_config(signal));
            let mut pool: Vec<Body> = Vec::with_capacity(pool_size);
            while pool.len() < pool_size {
                match encode(&mut generator, signal, batch) {
                    Ok(b) => pool.push(b),
                    Err(_) => return,
                }
            }
            let mut next = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let body = if pool.is_empty() {
                    match encode(&mut generator, signal, batch) {
                        Ok(b) => b,
                        Err(_) => break,
                    }
                } else {
                    next = (next + 1) % pool.len();
                    pool[next].clone()
                };
                if tx.blocking_send(body).is_err() {
                    break;
                }
            }
        }));
    }
    drop(tx);

    let counters = Arc::new(Counters::default());
    let rx = Arc::new(tokio::sync::Mutex::new(rx));
    let started = Instant::now();
    let deadline = started + args.duration;
    let mut workers = Vec::new();
    for _ in 0..args.concurrency {
        let rx = Arc::clone(&rx);
        let counters = Arc::clone(&counters);
        let client = client.clone();
        let url = url.clone();
        let dry_run = args.dry_run;
        workers.push(tokio::spawn(async move {
            let mut latencies: Vec<Duration> = Vec::new();
            while Instant::now() < deadline {
                let wait = Instant::now();
                let Some(body) = rx.lock().await.recv().await else {
                    break;
                };
                counters
                    .starved_us
                    .fetch_add(wait.elapsed().as_micros() as u64, Ordering::Relaxed);
                if dry_run {
                    counters.requests.fetch_add(1, Ordering::Relaxed);
                    counters.ok.fetch_add(1, Ordering::Relaxed);
                    counters.sent.fetch_add(body.records, Ordering::Relaxed);
                    counters.accepted.fetch_add(body.records, Ordering::Relaxed);
                    counters
                        .bytes
                        .fetch_add(body.json.len() as u64, Ordering::Relaxed);
                    continue;
                }
                let t = Instant::now();
                post(&client, &url, body, &counters).await;
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }

    // Progress lines until every worker is done.
    let reporter = {
        let counters = Arc::clone(&counters);
        let interval = args.interval;
        let pid = args.pid;
        let unit = args.signal.unit();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.tick().await;
            let mut last_accepted = 0u64;
            let mut last_requests = 0u64;
            let mut last = Instant::now();
            loop {
                ticker.tick().await;
                let accepted = counters.accepted.load(Ordering::Relaxed);
                let requests = counters.requests.load(Ordering::Relaxed);
                let secs = last.elapsed().as_secs_f64().max(1e-9);
                let rss = pid.and_then(proc_rss);
                println!(
                    "{:>6.0}s  {:>10.0} {unit}/s  {:>7.1} req/s  {} errors{}",
                    started.elapsed().as_secs_f64(),
                    (accepted - last_accepted) as f64 / secs,
                    (requests - last_requests) as f64 / secs,
                    errors(&counters),
                    rss.map_or(String::new(), |(now, _)| format!(
                        "  server RSS {}",
                        mib(now)
                    )),
                );
                last_accepted = accepted;
                last_requests = requests;
                last = Instant::now();
            }
        })
    };

    let mut latencies = Vec::new();
    for w in workers {
        latencies.extend(w.await.context("a load worker panicked")?);
    }
    let elapsed = started.elapsed();
    reporter.abort();
    stop.store(true, Ordering::Relaxed);
    drop(rx);
    for t in threads {
        // A generator blocked on a full queue wakes up now that the receiver is gone.
        let _ = tokio::task::spawn_blocking(move || t.join()).await;
    }

    // Summary.
    latencies.sort();
    let secs = elapsed.as_secs_f64().max(1e-9);
    let c = &counters;
    let requests = c.requests.load(Ordering::Relaxed);
    let accepted = c.accepted.load(Ordering::Relaxed);
    let sent = c.sent.load(Ordering::Relaxed);
    let bytes = c.bytes.load(Ordering::Relaxed);
    let unit = args.signal.unit();
    println!();
    println!("duration            {secs:.1}s");
    println!(
        "{:<20}{accepted} accepted of {sent} sent, {:.0}/s",
        format!("{unit}:"),
        accepted as f64 / secs
    );
    println!(
        "requests            {requests}, {:.1}/s, {:.1} MB/s of JSON ({:.0} bytes per {})",
        requests as f64 / secs,
        bytes as f64 / secs / 1e6,
        bytes as f64 / sent.max(1) as f64,
        unit.trim_end_matches('s'),
    );
    println!(
        "responses           {} ok, {} throttled (429), {} other 4xx, {} 5xx, {} transport errors",
        c.ok.load(Ordering::Relaxed),
        c.throttled.load(Ordering::Relaxed),
        c.client_errors.load(Ordering::Relaxed),
        c.server_errors.load(Ordering::Relaxed),
        c.transport_errors.load(Ordering::Relaxed),
    );
    if !latencies.is_empty() {
        println!(
            "request latency     p50 {}  p90 {}  p99 {}  max {}",
            fmt_ms(percentile(&latencies, 0.50)),
            fmt_ms(percentile(&latencies, 0.90)),
            fmt_ms(percentile(&latencies, 0.99)),
            fmt_ms(latencies[latencies.len() - 1]),
        );
    }
    let starved = c.starved_us.load(Ordering::Relaxed) as f64 / 1e6;
    if !args.dry_run {
        println!(
            "driver              workers waited for generated data {:.0}% of the time{}",
            100.0 * starved / (secs * args.concurrency as f64),
            if starved > 0.2 * secs * args.concurrency as f64 {
                " (the driver, not the server, limited throughput; try --generators)"
            } else {
                ""
            },
        );
    }
    if let Some((rss, hwm)) = proc_rss(std::process::id()) {
        println!("driver RSS          {} (peak {})", mib(rss), mib(hwm));
    }
    if let Some(pid) = args.pid {
        match proc_rss(pid) {
            Some((rss, hwm)) => println!(
                "server RSS          {} at start, {} now, peak {} (VmHWM)",
                server_rss_start.map_or("?".to_string(), mib),
                mib(rss),
                mib(hwm)
            ),
            None => println!("server RSS          unknown: cannot read /proc/{pid}/status"),
        }
    }
    let first_errors = c
        .first_errors
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    for e in &first_errors {
        println!("error               {e}");
    }
    if accepted == 0 && requests > 0 {
        bail!("the server accepted nothing");
    }
    Ok(())
}

/// Generated data that keeps pace with the wall clock at realistic rates: starts now.
fn driver_config(signal: BenchSignal) -> Config {
    let mut config = Config {
        start: Timestamp::now(),
        logs_per_sec: 50_000.0,
        traces_per_sec: 5_000.0,
        ..Config::default()
    };
    if signal == BenchSignal::Metrics {
        // More pods, so that a high point rate does not race the timestamps ahead too fast:
        // 20 pods per service give 2,400 series per generator thread.
        config.pods_per_service = 20;
    }
    config
}

/// Generates and encodes one request body of about `batch` records.
fn encode(generator: &mut Generator, signal: BenchSignal, batch: usize) -> Result<Body> {
    let (items, records): (Vec<serde_json::Value>, usize) = match signal {
        BenchSignal::Logs => {
            let logs = generator.logs(batch);
            (logs.iter().map(|r| r.to_json()).collect(), logs.len())
        }
        BenchSignal::Traces => {
            let mut spans = Vec::with_capacity(batch + 16);
            while spans.len() < batch {
                spans.extend(generator.traces(1));
            }
            (spans.iter().map(|s| s.to_json()).collect(), spans.len())
        }
        BenchSignal::Metrics => {
            let points = generator.points(batch);
            (points.iter().map(|p| p.to_json()).collect(), points.len())
        }
    };
    Ok(Body {
        json: serde_json::to_vec(&items)?,
        records: records as u64,
    })
}

/// Posts one body, recording the outcome in `counters`.
async fn post(client: &reqwest::Client, url: &str, body: Body, c: &Counters) {
    let records = body.records;
    let len = body.json.len() as u64;
    c.requests.fetch_add(1, Ordering::Relaxed);
    c.sent.fetch_add(records, Ordering::Relaxed);
    c.bytes.fetch_add(len, Ordering::Relaxed);
    let resp = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body.json)
        .send()
        .await;
    let resp = match resp {
        Ok(r) => r,
        Err(e) => {
            c.transport_errors.fetch_add(1, Ordering::Relaxed);
            c.note_error(format!("transport: {e}"));
            return;
        }
    };
    let status = resp.status();
    let text = match resp.bytes().await {
        Ok(b) => b,
        Err(e) => {
            c.transport_errors.fetch_add(1, Ordering::Relaxed);
            c.note_error(format!("reading the response: {e}"));
            return;
        }
    };
    let accepted = serde_json::from_slice::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v.get("accepted").and_then(serde_json::Value::as_u64));
    if let Some(n) = accepted {
        c.accepted.fetch_add(n, Ordering::Relaxed);
    }
    if status.is_success() {
        c.ok.fetch_add(1, Ordering::Relaxed);
        if accepted.is_none() {
            c.note_error(format!("{status} without an \"accepted\" count"));
        }
        return;
    }
    if status.as_u16() == 429 {
        c.throttled.fetch_add(1, Ordering::Relaxed);
    } else if status.is_client_error() {
        c.client_errors.fetch_add(1, Ordering::Relaxed);
    } else {
        c.server_errors.fetch_add(1, Ordering::Relaxed);
    }
    let snippet: String = String::from_utf8_lossy(&text).chars().take(300).collect();
    c.note_error(format!("{status}: {snippet}"));
}

fn errors(c: &Counters) -> u64 {
    c.client_errors.load(Ordering::Relaxed)
        + c.server_errors.load(Ordering::Relaxed)
        + c.transport_errors.load(Ordering::Relaxed)
        + c.throttled.load(Ordering::Relaxed)
}

/// `(VmRSS, VmHWM)` of a process in bytes, from `/proc/PID/status` (Linux).
fn proc_rss(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb * 1024)
    };
    Some((field("VmRSS:")?, field("VmHWM:").unwrap_or(0)))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[idx]
}

fn fmt_ms(d: Duration) -> String {
    format!("{:.1}ms", d.as_secs_f64() * 1e3)
}

fn mib(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / (1024.0 * 1024.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn bodies_hold_about_a_batch() {
        for signal in [BenchSignal::Logs, BenchSignal::Traces, BenchSignal::Metrics] {
            let mut g = Generator::with_config(1, driver_config(signal));
            let body = encode(&mut g, signal, 100).unwrap_or_else(|e| panic!("{e}"));
            assert!(
                (100..=115).contains(&body.records),
                "{signal:?}: {}",
                body.records
            );
            let v: serde_json::Value =
                serde_json::from_slice(&body.json).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(v.as_array().map(Vec::len), Some(body.records as usize));
        }
    }

    #[test]
    fn percentiles() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&v, 0.5), Duration::from_millis(50));
        assert_eq!(percentile(&v, 0.99), Duration::from_millis(99));
        assert_eq!(percentile(&[], 0.5), Duration::ZERO);
    }
}
