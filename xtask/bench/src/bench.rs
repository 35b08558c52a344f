//! The load driver that sends generated, realistic telemetry to a running
//! server, over the REST API or OTLP (HTTP protobuf, HTTP JSON or gRPC), and reports
//! throughput, latency and the server's memory.
//!
//! Data comes from [`heimsight_datagen`] (the same generator as the store benchmarks),
//! produced and encoded on dedicated threads so that encoding does not stall the requests;
//! the summary says how long workers waited for data, which tells whether the driver itself
//! was the bottleneck. `--dry-run` measures the generating ceiling without a server, and
//! `--sink` the driver's whole ceiling against an in-process server that discards
//! everything it receives.

#![allow(clippy::print_stdout)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use heimsight_core::Timestamp;
use heimsight_datagen::{Config, Generator};
use heimsight_ingest::otlp::{self, Encoding};
use prost::Message;

/// Which signal `heimsight-bench` sends.
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

/// How `heimsight-bench` sends.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BenchProtocol {
    /// JSON arrays to the REST API (`/api/v1/logs`, …; --url is the API's base URL).
    Rest,
    /// OTLP/HTTP with protobuf bodies (`/v1/logs`, …; --url e.g. http://127.0.0.1:4318).
    OtlpHttp,
    /// OTLP/HTTP with OTLP JSON bodies.
    OtlpJson,
    /// OTLP/gRPC (--url e.g. http://127.0.0.1:4317).
    OtlpGrpc,
    /// Prometheus remote write 1.0: Snappy protobuf to `/prometheus/api/v1/write` (metrics
    /// only, histograms as `_bucket`/`_sum`/`_count` series; --url is the API's base URL).
    PrometheusRemoteWrite,
}

impl BenchProtocol {
    fn path(self, signal: BenchSignal) -> &'static str {
        match (self, signal) {
            (BenchProtocol::Rest, s) => s.path(),
            (BenchProtocol::PrometheusRemoteWrite, _) => "/prometheus/api/v1/write",
            (_, BenchSignal::Logs) => "/v1/logs",
            (_, BenchSignal::Traces) => "/v1/traces",
            (_, BenchSignal::Metrics) => "/v1/metrics",
        }
    }

    fn default_url(self) -> &'static str {
        match self {
            BenchProtocol::Rest | BenchProtocol::PrometheusRemoteWrite => "http://127.0.0.1:8080",
            BenchProtocol::OtlpHttp | BenchProtocol::OtlpJson => "http://127.0.0.1:4318",
            BenchProtocol::OtlpGrpc => "http://127.0.0.1:4317",
        }
    }
}

/// Load-test a running Heimsight server with generated, realistic telemetry.
///
/// Sends batches of generated logs, spans or metric points over the REST API or OTLP
/// (--protocol otlp-http, otlp-json or otlp-grpc) from several concurrent clients for a
/// while, then reports records/s, requests/s, latency percentiles and errors (and the
/// server's memory with --pid). --sink measures the driver's own ceiling.
#[derive(clap::Parser, Debug)]
#[command(name = "heimsight-bench", version)]
pub(crate) struct BenchArgs {
    /// Base URL of the server [default: http://127.0.0.1:8080 for rest, :4318 for
    /// otlp-http and otlp-json, :4317 for otlp-grpc]
    #[arg(long)]
    pub(crate) url: Option<String>,

    /// How to send: rest, otlp-http (protobuf), otlp-json or otlp-grpc.
    #[arg(long, value_enum, default_value_t = BenchProtocol::Rest)]
    pub(crate) protocol: BenchProtocol,

    /// Compress request bodies with gzip (OTLP protocols).
    #[arg(long)]
    pub(crate) gzip: bool,

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
    /// repeated metric points replace each other instead of adding up — except over remote
    /// write, where each pass moves the samples' timestamps past the previous pass's (the
    /// bodies are encoded again), so every sample is a new one.
    #[arg(long, default_value_t = 0)]
    pub(crate) pool: usize,

    /// Generate and encode only, sending nothing: the driver's own ceiling.
    #[arg(long)]
    pub(crate) dry_run: bool,

    /// Send to an in-process server that decodes nothing and discards every body (ignores
    /// --url): the ceiling of the driver and the transport on this machine.
    #[arg(long, conflicts_with = "dry_run")]
    pub(crate) sink: bool,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let d = heimsight_core::Duration::parse(s).map_err(|e| e.to_string())?;
    match d.to_std() {
        Some(d) if !d.is_zero() => Ok(d),
        _ => Err("must be positive".into()),
    }
}

/// One request, ready to send.
#[derive(Clone)]
struct Body {
    payload: Payload,
    records: u64,
    /// Bytes on the wire (before gzip).
    len: u64,
}

/// What a request carries.
#[derive(Clone)]
enum Payload {
    /// An HTTP body (REST JSON or OTLP protobuf/JSON), gzipped when asked.
    Http(Vec<u8>),
    /// A gRPC export request of a signal, already encoded as protobuf, so that sending
    /// costs the driver no encoding (the same as the HTTP bodies).
    Grpc(BenchSignal, bytes::Bytes),
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
    let mut sink = None;
    let base = if args.sink {
        let s = crate::sink::start(args.protocol)
            .await
            .context("starting the discarding sink")?;
        let base = format!("http://{}", s.addr);
        sink = Some(s);
        base
    } else {
        args.url
            .clone()
            .unwrap_or_else(|| args.protocol.default_url().to_string())
            .trim_end_matches('/')
            .to_string()
    };
    let url = format!("{base}{}", args.protocol.path(args.signal));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .timeout(Duration::from_secs(60))
        .build()
        .context("building the HTTP client")?;
    let grpc = if args.protocol == BenchProtocol::OtlpGrpc && !args.dry_run {
        let channel = tonic::transport::Endpoint::from_shared(base.clone())
            .with_context(|| format!("{base} is not a valid gRPC URL"))?
            .connect()
            .await
            .with_context(|| format!("no OTLP/gRPC server answers at {base}"))?;
        Some(channel)
    } else {
        None
    };
    if args.protocol == BenchProtocol::PrometheusRemoteWrite {
        if args.signal != BenchSignal::Metrics {
            bail!("--protocol prometheus-remote-write sends metrics only (--signal metrics)");
        }
        if args.gzip {
            bail!("remote write bodies are Snappy-compressed; --gzip does not apply");
        }
    }
    if !args.dry_run
        && matches!(
            args.protocol,
            BenchProtocol::Rest | BenchProtocol::PrometheusRemoteWrite
        )
    {
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
        "heimsight-bench: {} over {:?}{} to {}{}, batches of {}, {} in flight, {} generator thread(s){}, for {:?} on {cores} cores",
        args.signal.unit(),
        args.protocol,
        if args.gzip { " (gzip)" } else { "" },
        if args.dry_run {
            "nowhere (dry run) instead of "
        } else if args.sink {
            "a discarding sink at "
        } else {
            ""
        },
        if args.protocol == BenchProtocol::OtlpGrpc {
            &base
        } else {
            &url
        },
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
        let how = How {
            protocol: args.protocol,
            gzip: args.gzip,
        };
        let seed = args.seed.wrapping_mul(1_000_003).wrapping_add(g as u64 + 1);
        let pool_size = args.pool.div_ceil(generators);
        threads.push(std::thread::spawn(move || {
            let mut generator = Generator::with_config(seed, driver_config(signal));
            if how.protocol == BenchProtocol::PrometheusRemoteWrite && pool_size > 0 {
                replay_shifted(&mut generator, batch, pool_size, &stop, &tx);
                return;
            }
            let mut pool: Vec<Body> = Vec::with_capacity(pool_size);
            while pool.len() < pool_size {
                match encode(&mut generator, signal, batch, how) {
                    Ok(b) => pool.push(b),
                    Err(_) => return,
                }
            }
            let mut next = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let body = if pool.is_empty() {
                    match encode(&mut generator, signal, batch, how) {
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
        let grpc = grpc.clone();
        let gzip = args.gzip;
        let protocol = args.protocol;
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
                    counters.bytes.fetch_add(body.len, Ordering::Relaxed);
                    continue;
                }
                let t = Instant::now();
                let (records, len) = (body.records, body.len);
                match (&grpc, body.payload) {
                    (Some(channel), Payload::Grpc(signal, bytes)) => {
                        let channel = channel.clone();
                        export_grpc(channel, gzip, signal, bytes, records, len, &counters).await;
                    }
                    (None, Payload::Http(bytes)) => {
                        post(
                            &client, &url, protocol, gzip, bytes, records, len, &counters,
                        )
                        .await;
                    }
                    _ => break,
                }
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
    if let Some(s) = sink {
        s.stop();
    }
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
        "requests            {requests}, {:.1}/s, {:.1} MB/s of payload before gzip ({:.0} bytes per {})",
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

/// How requests are encoded.
#[derive(Clone, Copy, Debug)]
struct How {
    protocol: BenchProtocol,
    gzip: bool,
}

/// Generates and encodes one request of about `batch` records.
fn encode(generator: &mut Generator, signal: BenchSignal, batch: usize, how: How) -> Result<Body> {
    let mut logs = Vec::new();
    let mut spans = Vec::new();
    let mut points = Vec::new();
    let records = match signal {
        BenchSignal::Logs => {
            logs = generator.logs(batch);
            logs.len()
        }
        BenchSignal::Traces => {
            spans.reserve(batch + 16);
            while spans.len() < batch {
                spans.extend(generator.traces(1));
            }
            spans.len()
        }
        BenchSignal::Metrics => {
            points = generator.points(batch);
            points.len()
        }
    };
    let mut records = records;
    let payload = match how.protocol {
        BenchProtocol::PrometheusRemoteWrite => {
            let req = heimsight_ingest::prometheus::points_to_write_request(&points);
            // Records are samples: a histogram point is several.
            records = req.timeseries.iter().map(|t| t.samples.len()).sum();
            Payload::Http(heimsight_ingest::prometheus::encode_write_request(&req))
        }
        BenchProtocol::Rest => {
            let items: Vec<serde_json::Value> = match signal {
                BenchSignal::Logs => logs.iter().map(|r| r.to_json()).collect(),
                BenchSignal::Traces => spans.iter().map(|s| s.to_json()).collect(),
                BenchSignal::Metrics => points.iter().map(|p| p.to_json()).collect(),
            };
            Payload::Http(serde_json::to_vec(&items)?)
        }
        BenchProtocol::OtlpHttp | BenchProtocol::OtlpJson => {
            let enc = if how.protocol == BenchProtocol::OtlpHttp {
                Encoding::Protobuf
            } else {
                Encoding::Json
            };
            Payload::Http(match signal {
                BenchSignal::Logs => otlp::encode(&otlp::logs_to_otlp(&logs), enc),
                BenchSignal::Traces => otlp::encode(&otlp::spans_to_otlp(&spans), enc),
                BenchSignal::Metrics => otlp::encode(&otlp::points_to_otlp(&points), enc),
            })
        }
        BenchProtocol::OtlpGrpc => match signal {
            BenchSignal::Logs => {
                Payload::Grpc(signal, otlp::logs_to_otlp(&logs).encode_to_vec().into())
            }
            BenchSignal::Traces => {
                Payload::Grpc(signal, otlp::spans_to_otlp(&spans).encode_to_vec().into())
            }
            BenchSignal::Metrics => {
                Payload::Grpc(signal, otlp::points_to_otlp(&points).encode_to_vec().into())
            }
        },
    };
    let (payload, len) = match payload {
        Payload::Http(bytes) => {
            let len = bytes.len() as u64;
            let bytes = if how.gzip
                && !matches!(
                    how.protocol,
                    BenchProtocol::Rest | BenchProtocol::PrometheusRemoteWrite
                ) {
                gzip(&bytes)?
            } else {
                bytes
            };
            (Payload::Http(bytes), len)
        }
        Payload::Grpc(signal, b) => {
            let len = b.len() as u64;
            (Payload::Grpc(signal, b), len)
        }
    };
    Ok(Body {
        payload,
        records: records as u64,
        len,
    })
}

/// Remote write with `--pool`: `pool_size` write requests generated once, then sent over and
/// over with every sample's timestamp moved past the previous pass, so each is a new sample.
fn replay_shifted(
    generator: &mut Generator,
    batch: usize,
    pool_size: usize,
    stop: &AtomicBool,
    tx: &tokio::sync::mpsc::Sender<Body>,
) {
    use heimsight_ingest::prometheus;
    let pool: Vec<prometheus::proto::WriteRequest> = (0..pool_size)
        .map(|_| prometheus::points_to_write_request(&generator.points(batch)))
        .collect();
    let stamps = || {
        pool.iter()
            .flat_map(|r| &r.timeseries)
            .flat_map(|t| &t.samples)
            .map(|s| s.timestamp)
    };
    let span = stamps().max().unwrap_or(0) - stamps().min().unwrap_or(0) + 1;
    for pass in 0i64.. {
        for req in &pool {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            let mut req = req.clone();
            for s in req.timeseries.iter_mut().flat_map(|t| &mut t.samples) {
                s.timestamp += pass * span;
            }
            let records = req.timeseries.iter().map(|t| t.samples.len() as u64).sum();
            let bytes = prometheus::encode_write_request(&req);
            let len = bytes.len() as u64;
            let body = Body {
                payload: Payload::Http(bytes),
                records,
                len,
            };
            if tx.blocking_send(body).is_err() {
                return;
            }
        }
    }
}

fn gzip(bytes: &[u8]) -> Result<Vec<u8>> {
    use std::io::Write as _;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes)?;
    Ok(e.finish()?)
}

/// Records rejected according to an OTLP export response (protobuf or JSON).
fn otlp_rejected(signal_path: &str, json: bool, body: &[u8]) -> Option<u64> {
    use otlp::proto::collector as c;
    if json {
        let v: serde_json::Value = serde_json::from_slice(body).ok()?;
        let ps = v.get("partialSuccess")?;
        let n = ps
            .as_object()?
            .iter()
            .find(|(k, _)| k.starts_with("rejected"))
            .map(|(_, v)| v)?;
        return n.as_u64().or_else(|| n.as_str()?.parse().ok());
    }
    let n = if signal_path.ends_with("logs") {
        c::logs::v1::ExportLogsServiceResponse::decode(body)
            .ok()?
            .partial_success?
            .rejected_log_records
    } else if signal_path.ends_with("traces") {
        c::trace::v1::ExportTraceServiceResponse::decode(body)
            .ok()?
            .partial_success?
            .rejected_spans
    } else {
        c::metrics::v1::ExportMetricsServiceResponse::decode(body)
            .ok()?
            .partial_success?
            .rejected_data_points
    };
    u64::try_from(n).ok()
}

/// Sends one gRPC export, recording the outcome in `counters`.
#[allow(clippy::too_many_arguments)]
async fn export_grpc(
    channel: tonic::transport::Channel,
    gzip: bool,
    signal: BenchSignal,
    bytes: bytes::Bytes,
    records: u64,
    len: u64,
    c: &Counters,
) {
    use otlp::proto::collector as col;
    use tonic::codec::CompressionEncoding::Gzip;
    use tonic::codegen::http::uri::PathAndQuery;
    c.requests.fetch_add(1, Ordering::Relaxed);
    c.sent.fetch_add(records, Ordering::Relaxed);
    c.bytes.fetch_add(len, Ordering::Relaxed);
    let path = PathAndQuery::from_static(match signal {
        BenchSignal::Logs => "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
        BenchSignal::Traces => "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
        BenchSignal::Metrics => "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
    });
    let mut grpc = tonic::client::Grpc::new(channel).max_decoding_message_size(64 << 20);
    if gzip {
        grpc = grpc.send_compressed(Gzip);
    }
    let rejected: std::result::Result<i64, tonic::Status> = async {
        grpc.ready()
            .await
            .map_err(|e| tonic::Status::unavailable(format!("channel not ready: {e}")))?;
        let resp = grpc
            .unary(
                tonic::Request::new(bytes),
                path,
                heimsight_server::otlp::RawCodec,
            )
            .await?
            .into_inner();
        let decode_err = |e: prost::DecodeError| tonic::Status::internal(e.to_string());
        Ok(match signal {
            BenchSignal::Logs => col::logs::v1::ExportLogsServiceResponse::decode(resp)
                .map_err(decode_err)?
                .partial_success
                .map_or(0, |p| p.rejected_log_records),
            BenchSignal::Traces => col::trace::v1::ExportTraceServiceResponse::decode(resp)
                .map_err(decode_err)?
                .partial_success
                .map_or(0, |p| p.rejected_spans),
            BenchSignal::Metrics => col::metrics::v1::ExportMetricsServiceResponse::decode(resp)
                .map_err(decode_err)?
                .partial_success
                .map_or(0, |p| p.rejected_data_points),
        })
    }
    .await;
    match rejected {
        Ok(n) => {
            c.ok.fetch_add(1, Ordering::Relaxed);
            let n = u64::try_from(n).unwrap_or(0).min(records);
            c.accepted.fetch_add(records - n, Ordering::Relaxed);
        }
        Err(status) => {
            match status.code() {
                tonic::Code::ResourceExhausted | tonic::Code::Unavailable => {
                    c.throttled.fetch_add(1, Ordering::Relaxed)
                }
                tonic::Code::InvalidArgument => c.client_errors.fetch_add(1, Ordering::Relaxed),
                _ => c.server_errors.fetch_add(1, Ordering::Relaxed),
            };
            c.note_error(format!("gRPC {:?}: {}", status.code(), status.message()));
        }
    }
}

/// Posts one HTTP body, recording the outcome in `counters`.
#[allow(clippy::too_many_arguments)]
async fn post(
    client: &reqwest::Client,
    url: &str,
    protocol: BenchProtocol,
    gzip: bool,
    bytes: Vec<u8>,
    records: u64,
    len: u64,
    c: &Counters,
) {
    c.requests.fetch_add(1, Ordering::Relaxed);
    c.sent.fetch_add(records, Ordering::Relaxed);
    c.bytes.fetch_add(len, Ordering::Relaxed);
    let content_type = match protocol {
        BenchProtocol::OtlpHttp | BenchProtocol::PrometheusRemoteWrite => "application/x-protobuf",
        _ => "application/json",
    };
    let mut req = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, content_type);
    if protocol == BenchProtocol::PrometheusRemoteWrite {
        req = req
            .header(reqwest::header::CONTENT_ENCODING, "snappy")
            .header("X-Prometheus-Remote-Write-Version", "0.1.0");
    }
    if gzip && protocol != BenchProtocol::Rest {
        req = req.header(reqwest::header::CONTENT_ENCODING, "gzip");
    }
    if protocol == BenchProtocol::Rest {
        req = req.header(crate::sink::RECORDS_HEADER, records.to_string());
    }
    let resp = req.body(bytes).send().await;
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
    let accepted = if protocol == BenchProtocol::Rest {
        serde_json::from_slice::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("accepted").and_then(serde_json::Value::as_u64))
    } else if status.is_success() && protocol == BenchProtocol::PrometheusRemoteWrite {
        // 2xx: every sample stored (refusals are 400s).
        Some(records)
    } else if status.is_success() {
        let rejected = otlp_rejected(url, protocol == BenchProtocol::OtlpJson, &text);
        Some(records - rejected.unwrap_or(0).min(records))
    } else {
        None
    };
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
            let how = How {
                protocol: BenchProtocol::Rest,
                gzip: false,
            };
            let body = encode(&mut g, signal, 100, how).unwrap_or_else(|e| panic!("{e}"));
            assert!(
                (100..=115).contains(&body.records),
                "{signal:?}: {}",
                body.records
            );
            let Payload::Http(json) = &body.payload else {
                panic!("REST bodies are HTTP bodies");
            };
            let v: serde_json::Value =
                serde_json::from_slice(json).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(v.as_array().map(Vec::len), Some(body.records as usize));

            // The same data over OTLP decodes back to as many records.
            let how = How {
                protocol: BenchProtocol::OtlpHttp,
                gzip: false,
            };
            let body = encode(&mut g, signal, 100, how).unwrap_or_else(|e| panic!("{e}"));
            let Payload::Http(pb) = &body.payload else {
                panic!("OTLP/HTTP bodies are HTTP bodies");
            };
            let n = match signal {
                BenchSignal::Logs => {
                    let req =
                        otlp::decode_logs(pb, Encoding::Protobuf).unwrap_or_else(|e| panic!("{e}"));
                    otlp::logs_from_otlp(req, Timestamp(1)).items.len()
                }
                BenchSignal::Traces => {
                    let req = otlp::decode_traces(pb, Encoding::Protobuf)
                        .unwrap_or_else(|e| panic!("{e}"));
                    otlp::spans_from_otlp(req).items.len()
                }
                BenchSignal::Metrics => {
                    let req = otlp::decode_metrics(pb, Encoding::Protobuf)
                        .unwrap_or_else(|e| panic!("{e}"));
                    otlp::points_from_otlp(&req).items.len()
                }
            };
            assert_eq!(n as u64, body.records, "{signal:?}");
        }
    }

    #[test]
    fn remote_write_bodies_decode_to_as_many_samples() {
        let mut g = Generator::with_config(1, driver_config(BenchSignal::Metrics));
        let how = How {
            protocol: BenchProtocol::PrometheusRemoteWrite,
            gzip: false,
        };
        let body = encode(&mut g, BenchSignal::Metrics, 100, how).unwrap_or_else(|e| panic!("{e}"));
        let Payload::Http(bytes) = &body.payload else {
            panic!("remote write bodies are HTTP bodies");
        };
        let req = heimsight_ingest::prometheus::decode_write_request(bytes, 64 << 20)
            .unwrap_or_else(|e| panic!("{e}"));
        let c = heimsight_ingest::prometheus::points_from_write_request(&req);
        assert_eq!(c.rejected, 0, "{:?}", c.messages);
        let samples: usize = c.items.iter().map(|g| g.points.len()).sum();
        assert_eq!(samples as u64, body.records);
        assert!(
            body.records >= 100,
            "{} samples from 100 points",
            body.records
        );
    }

    #[test]
    fn percentiles() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&v, 0.5), Duration::from_millis(50));
        assert_eq!(percentile(&v, 0.99), Duration::from_millis(99));
        assert_eq!(percentile(&[], 0.5), Duration::ZERO);
    }
}
