//! `heimsight health` and `heimsight status`.

use std::io::Write;

use anyhow::{Result, bail};
use heimsight_core::api::{AlertState, AlertsPage, Health, RetentionView, StatsView, StatusView};
use serde_json::json;

use super::Ctx;
use crate::args::Output;
use crate::output::{Color, Table, bytes, cell, duration, number};

/// Runs `heimsight health`: one line, or the server's answer with `-o json`; fails when the
/// server cannot be reached or is not healthy.
pub(crate) async fn health(ctx: &Ctx) -> Result<()> {
    let answer = ctx.api.get_as::<Health>("/health", &[]).await;
    let mut out = ctx.out();
    let answer = match answer {
        Ok(a) if a.is_ok() => a,
        Ok(a) => bail!(
            "Heimsight at {} is not healthy: {}",
            ctx.api.url(),
            serde_json::to_string(&a)?
        ),
        Err(e) if e.downcast_ref::<crate::client::ServerError>().is_some() => {
            bail!("Heimsight at {} is not healthy: {e}", ctx.api.url())
        }
        Err(e) => return Err(e),
    };
    match ctx.printer.format {
        Output::Json => writeln!(out, "{}", serde_json::to_value(&answer)?)?,
        Output::Csv => writeln!(
            out,
            "status,version,url\nok,{},{}",
            cell(&json!(answer.version)),
            ctx.api.url()
        )?,
        Output::Table => writeln!(out, "ok: Heimsight {} at {}", answer.version, ctx.api.url())?,
    }
    Ok(())
}

/// Runs `heimsight status`.
pub(crate) async fn status(ctx: &Ctx) -> Result<()> {
    let (status, stats, retention, alerts) = tokio::try_join!(
        ctx.api.get_as::<StatusView>("/api/v1/status", &[]),
        ctx.api.get_as::<StatsView>("/api/v1/stats", &[]),
        ctx.api.get_as::<RetentionView>("/api/v1/retention", &[]),
        ctx.api.get_as::<AlertsPage>("/api/v1/alerts", &[]),
    )?;
    let count = |state| alerts.alerts.iter().filter(|a| a.state == state).count();
    let firing = count(AlertState::Firing);
    let pending = count(AlertState::Pending);
    let all = json!({
        "url": ctx.api.url(),
        "version": status.version,
        "started_at": status.started_at,
        "uptime_seconds": status.uptime_seconds,
        "ingest": status.ingest,
        "memory": status.memory,
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
    let time = |t: Option<heimsight_core::Timestamp>| t.map_or(String::new(), |t| t.to_string());
    for ((s, st), (_, ing)) in stats.signals.iter().zip(status.ingest.iter()) {
        t.row([
            s.to_string(),
            st.records.to_string(),
            bytes(st.bytes),
            time(st.oldest),
            time(st.newest),
            retention.get(s).map_or(String::new(), |d| d.to_string()),
            number(ing.per_second),
            ing.total.to_string(),
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
                status.version,
                ctx.api.url(),
                duration(
                    i64::try_from(status.uptime_seconds).unwrap_or(i64::MAX / 1_000_000_000)
                        * 1_000_000_000
                ),
                status.started_at,
            )?;
            writeln!(out)?;
            p.write_table(&mut out, &t)?;
            writeln!(out, "\nmetric series: {}", stats.series)?;
            let mem = &status.memory;
            if let Some(rss) = mem.rss_bytes {
                let parts: Vec<String> = mem
                    .store
                    .iter()
                    .map(|(k, v)| format!("{k} {}", bytes(*v)))
                    .collect();
                let detail = if parts.is_empty() {
                    String::new()
                } else {
                    format!(" (store: {})", parts.join(", "))
                };
                writeln!(out, "memory: {} resident{detail}", bytes(rss))?;
                if let Some(je) = mem
                    .process
                    .as_ref()
                    .and_then(|p| p.get("jemalloc_resident").copied())
                {
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
