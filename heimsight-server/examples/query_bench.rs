//! Query-language benchmark: times the queries the query-language issue sets targets for, on
//! a RocksDB store filled by the store's `scale` example.
//!
//! ```text
//! cargo run --release -p heimsight-store --example scale -- \
//!     --logs 10000000 --traces 1000000 --dir /tmp/hs-scale --runs 1 --keep
//! cargo run --release -p heimsight-server --example query_bench -- --dir /tmp/hs-scale
//! ```
//!
//! Options: `--dir PATH` (default `/tmp/hs-scale`), `--runs N` (default 10) timed runs per
//! query, `--service NAME` (default `order-service`), `--only TEXT` (only the queries whose
//! name contains TEXT, e.g. for profiling one). Prints, per query, the median and
//! slowest time, rows returned and rows scanned; the last line times a simple query end to end
//! through the HTTP API (the axum router, JSON in and out).

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use heimsight_core::Timestamp;
use heimsight_datagen::{COMMON_TERM, RARE_TERM};
use heimsight_query::{Request, run};
use heimsight_server::{HeimsightServer, ServerConfig};
use heimsight_store::{Maintenance, RocksStore, Store};
use tower::ServiceExt;

struct Args {
    dir: std::path::PathBuf,
    runs: usize,
    service: String,
    only: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        dir: "/tmp/hs-scale".into(),
        runs: 10,
        service: "order-service".into(),
        only: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--dir" => a.dir = value()?.into(),
            "--runs" => {
                a.runs = value()?.parse().map_err(|e| format!("--runs: {e}"))?;
            }
            "--service" => a.service = value()?,
            "--only" => a.only = Some(value()?),
            _ => {
                return Err(
                    "usage: query_bench [--dir PATH] [--runs N] [--service NAME] [--only TEXT]"
                        .to_string(),
                );
            }
        }
    }
    Ok(a)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    let store = RocksStore::open(&args.dir)?;
    let stats = store.stats()?;
    let newest = stats.logs.newest.unwrap_or(Timestamp(0));
    eprintln!(
        "store: {} logs, {} spans, {} points",
        stats.logs.records, stats.spans.records, stats.metrics.records
    );
    let hour_ago = Timestamp(newest.0 - 3_600_000_000_000).to_rfc3339();
    let queries = [
        (
            "errors per service, all data",
            "SELECT service, count(*) FROM logs WHERE level = 'error' GROUP BY service".to_string(),
        ),
        (
            "rare term",
            format!("SELECT timestamp, service, message FROM logs WHERE MATCH('{RARE_TERM}')"),
        ),
        (
            "common term, LIMIT 100",
            format!(
                "SELECT timestamp, service, message FROM logs WHERE MATCH('{COMMON_TERM}') LIMIT 100"
            ),
        ),
        (
            "per-minute counts, last hour",
            format!(
                "SELECT bucket(timestamp, 1m) AS minute, count(*) FROM logs \
                 WHERE timestamp > '{hour_ago}' GROUP BY 1"
            ),
        ),
        (
            "p99 duration by operation, one service",
            format!(
                "SELECT name, percentile(duration, 0.99) FROM spans WHERE service = '{}' GROUP BY name",
                args.service
            ),
        ),
        (
            "newest 100 errors of a service",
            format!(
                "SELECT timestamp, message FROM logs WHERE level = 'error' AND service = '{}' LIMIT 100",
                args.service
            ),
        ),
    ];
    println!("| query | p50 ms | max ms | rows | rows scanned |");
    println!("|---|---|---|---|---|");
    for (name, q) in &queries {
        if args
            .only
            .as_ref()
            .is_some_and(|o| !name.contains(o.as_str()))
        {
            continue;
        }
        let mut times = Vec::new();
        let mut rows = 0;
        let mut scanned = 0;
        for _ in 0..args.runs {
            let req = Request::new(q);
            let t = Instant::now();
            let out = run(&store, &req)?;
            times.push(t.elapsed());
            rows = out.result.rows.len();
            scanned = out.result.rows_scanned;
        }
        times.sort();
        println!(
            "| {name} | {:.1} | {:.1} | {rows} | {scanned} |",
            ms(times[times.len() / 2]),
            ms(times[times.len() - 1])
        );
    }

    // End to end through the HTTP API's router.
    let shared: Arc<dyn Store> = Arc::new(store);
    let server = HeimsightServer::builder()
        .store(shared)
        .config(ServerConfig::default())
        .build()?;
    let router = server.router();
    let rt = tokio::runtime::Runtime::new()?;
    let body = serde_json::json!({
        "query": format!(
            "SELECT timestamp, level, message FROM logs WHERE service = '{}' AND level = 'error' LIMIT 20",
            args.service
        )
    })
    .to_string();
    let mut times = Vec::new();
    for _ in 0..args.runs {
        let req = axum::http::Request::post("/api/v1/query")
            .header("content-type", "application/json")
            .body(Body::from(body.clone()))?;
        let t = Instant::now();
        let res = rt.block_on(router.clone().oneshot(req))?;
        let status = res.status();
        let bytes = rt.block_on(axum::body::to_bytes(res.into_body(), usize::MAX))?;
        times.push(t.elapsed());
        if !status.is_success() {
            return Err(format!("HTTP {status}: {}", String::from_utf8_lossy(&bytes)).into());
        }
    }
    times.sort();
    println!(
        "| HTTP API: newest 20 errors of a service | {:.1} | {:.1} | 20 | |",
        ms(times[times.len() / 2]),
        ms(times[times.len() - 1])
    );
    Ok(())
}
