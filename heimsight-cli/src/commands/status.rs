//! `heimsight health` and `heimsight status`.

use std::io::Write;

use anyhow::{Result, bail};
use serde_json::{Value, json};

use super::Ctx;
use crate::args::Output;
use crate::output::{Color, Table, bytes, cell, duration, number};

/// Runs `heimsight health`: one line, or the server's answer with `-o json`; fails when the
/// server cannot be reached or is not healthy.
pub(crate) async fn health(ctx: &Ctx) -> Result<()> {
    let answer = ctx.api.get("/health", &[]).await;
    let mut out = ctx.out();
    let answer = match answer {
        Ok(a) if a["status"] == "ok" => a,
        Ok(a) => bail!("Heimsight at {} is not healthy: {a}", ctx.api.url()),
        Err(e) if e.downcast_ref::<crate::client::ServerError>().is_some() => {
            bail!("Heimsight at {} is not healthy: {e}", ctx.api.url())
        }
        Err(e) => return Err(e),
    };
    match ctx.printer.format {
        Output::Json => writeln!(out, "{answer}")?,
        Output::Csv => writeln!(
            out,
            "status,version,url\nok,{},{}",
            cell(&answer["version"]),
            ctx.api.url()
        )?,
        Output::Table => writeln!(
            out,
            "ok: Heimsight {} at {}",
            answer["version"].as_str().unwrap_or("unknown"),
            ctx.api.url()
        )?,
    }
    Ok(())
}

/// Runs `heimsight status`.
pub(crate) async fn status(ctx: &Ctx) -> Result<()> {
    let (status, stats, retention, alerts) = tokio::try_join!(
        ctx.api.get("/api/v1/status", &[]),
        ctx.api.get("/api/v1/stats", &[]),
        ctx.api.get("/api/v1/retention", &[]),
        ctx.api.get("/api/v1/alerts", &[]),
    )?;
    let firing = count_state(&alerts, "firing");
    let pending = count_state(&alerts, "pending");
    let all = json!({
        "url": ctx.api.url(),
        "version": status["version"],
        "started_at": status["started_at"],
        "uptime_seconds": status["uptime_seconds"],
        "ingest": status["ingest"],
        "memory": status["memory"],
        "storage": stats,
        "retention": retention,
        "alerts": {"firing": firing, "pending": pending},
    });
    let mut t = Table::new(&[
        "signal",
        "records",
        "size",
        "oldest",
        "newest",
        "retention",
        "ingest/s",
        "ingested",
    ]);
    for s in ["logs", "spans", "metrics"] {
        let st = &stats[s];
        let ing = &status["ingest"][s];
        t.row([
            s.to_string(),
            cell(&st["records"]),
            bytes(st["bytes"].as_u64().unwrap_or(0)),
            cell(&st["oldest"]),
            cell(&st["newest"]),
            cell(&retention[s]),
            number(ing["per_second"].as_f64().unwrap_or(0.0)),
            cell(&ing["total"]),
        ]);
    }
    let mut out = ctx.out();
    match ctx.printer.format {
        Output::Json => writeln!(out, "{}", serde_json::to_string_pretty(&all)?)?,
        Output::Csv => crate::output::write_csv(&mut out, &t)?,
        Output::Table => {
            let p = &ctx.printer;
            writeln!(
                out,
                "{} {} at {}, up {} (since {})",
                p.paint("Heimsight", Color::Bold),
                cell(&status["version"]),
                ctx.api.url(),
                duration(status["uptime_seconds"].as_i64().unwrap_or(0) * 1_000_000_000),
                cell(&status["started_at"]),
            )?;
            writeln!(out)?;
            p.write_table(&mut out, &t)?;
            writeln!(out, "\nmetric series: {}", cell(&stats["series"]))?;
            let mem = &status["memory"];
            if let Some(rss) = mem["rss_bytes"].as_u64() {
                let parts: Vec<String> = mem["store"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter_map(|(k, v)| Some(format!("{k} {}", bytes(v.as_u64()?))))
                    .collect();
                let detail = if parts.is_empty() {
                    String::new()
                } else {
                    format!(" (store: {})", parts.join(", "))
                };
                writeln!(out, "memory: {} resident{detail}", bytes(rss))?;
                if let Some(je) = mem["process"]["jemalloc_resident"].as_u64() {
                    writeln!(
                        out,
                        "allocator: jemalloc {} resident, code and stacks {}",
                        bytes(je),
                        bytes(rss.saturating_sub(je))
                    )?;
                }
            }
            let alerts_line = format!("alerts: {firing} firing, {pending} pending");
            let color = if firing > 0 {
                Color::Red
            } else if pending > 0 {
                Color::Yellow
            } else {
                Color::Green
            };
            writeln!(out, "{}", p.paint(&alerts_line, color))?;
        }
    }
    Ok(())
}

fn count_state(alerts: &Value, state: &str) -> usize {
    alerts["alerts"]
        .as_array()
        .map_or(0, |a| a.iter().filter(|x| x["state"] == state).count())
}
