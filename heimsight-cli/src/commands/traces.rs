//! `heimsight traces` (search) and `heimsight trace <id>` (the span tree).

use std::io::Write;

use anyhow::Result;
use clap::Args;
use serde_json::Value;

use super::{Ctx, time_param};
use crate::args::Output;
use crate::client::path_segment;
use crate::output::{Color, Table, cell, duration, join_list, spinner};

/// Flags of `heimsight traces`.
#[derive(Debug, Args)]
pub(crate) struct TracesArgs {
    /// Some span of the trace belongs to this service
    #[arg(long, value_name = "SERVICE")]
    pub(crate) service: Option<String>,

    /// Some span of the trace has this name
    #[arg(long, value_name = "NAME")]
    pub(crate) operation: Option<String>,

    /// The trace lasts at least this long, e.g. 250ms
    #[arg(long, value_name = "DURATION")]
    pub(crate) min_duration: Option<String>,

    /// The trace lasts at most this long
    #[arg(long, value_name = "DURATION")]
    pub(crate) max_duration: Option<String>,

    /// Only traces with an error span
    #[arg(long)]
    pub(crate) errors: bool,

    /// Traces that started this long ago (15m, 2h) or since this time
    #[arg(long, value_name = "WHEN", default_value = "1h")]
    pub(crate) since: String,

    /// Until this long ago or this time [default: now]
    #[arg(long, value_name = "WHEN")]
    pub(crate) until: Option<String>,

    /// At most this many traces (newest first), 0 to 1000
    #[arg(long, short = 'n', default_value_t = 20)]
    pub(crate) limit: u32,
}

/// Flags of `heimsight trace`.
#[derive(Debug, Args)]
pub(crate) struct TraceArgs {
    /// The trace id: 32 hex characters
    pub(crate) trace_id: String,

    /// Also print the trace's logs
    #[arg(long)]
    pub(crate) logs: bool,
}

/// Runs `heimsight traces`.
pub(crate) async fn search(ctx: &Ctx, args: &TracesArgs) -> Result<()> {
    let mut q = vec![
        ("start_time", time_param(&args.since)),
        ("limit", args.limit.to_string()),
    ];
    for (k, v) in [
        ("service", &args.service),
        ("operation", &args.operation),
        ("min_duration", &args.min_duration),
        ("max_duration", &args.max_duration),
        ("end_time", &args.until.as_deref().map(time_param)),
    ] {
        if let Some(v) = v {
            q.push((k, v.clone()));
        }
    }
    let mut answer = {
        let _s = spinner("searching traces");
        ctx.api.get("/api/v1/traces", &q).await?
    };
    if args.errors
        && let Some(t) = answer["traces"].as_array_mut()
    {
        t.retain(|t| t["error"] == true);
    }
    let mut t = Table::new(&[
        "trace_id", "start", "root", "duration", "spans", "services", "status",
    ]);
    for tr in answer["traces"].as_array().into_iter().flatten() {
        let error = tr["error"] == true;
        t.colored_row(vec![
            (cell(&tr["trace_id"]), Color::Blue),
            (cell(&tr["start_time"]), Color::Dim),
            (
                format!("{}: {}", cell(&tr["root_service"]), cell(&tr["root_name"])),
                Color::None,
            ),
            (
                duration(tr["duration_ns"].as_i64().unwrap_or(0)),
                Color::Bold,
            ),
            (cell(&tr["span_count"]), Color::None),
            (join_list(&tr["services"]), Color::None),
            if error {
                ("error".into(), Color::Red)
            } else {
                ("ok".into(), Color::Green)
            },
        ]);
    }
    ctx.printer.print(&mut ctx.out(), &answer, &t)
}

/// Runs `heimsight trace <id>`.
pub(crate) async fn show(ctx: &Ctx, args: &TraceArgs) -> Result<()> {
    let answer = {
        let _s = spinner("reading the trace");
        ctx.api
            .get(
                &format!("/api/v1/traces/{}", path_segment(&args.trace_id)),
                &[],
            )
            .await?
    };
    let mut out = ctx.out();
    let start = answer["spans"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["start_time"].as_str())
        .min()
        .map(str::to_string);
    let total = answer["summary"]["duration_ns"]
        .as_i64()
        .unwrap_or(0)
        .max(1);
    let t0 = start.as_deref().map_or(0, nanos);
    let mut rows = Vec::new();
    for root in answer["tree"].as_array().into_iter().flatten() {
        walk(root, "", "", &mut rows);
    }
    match ctx.printer.format {
        Output::Json => writeln!(out, "{}", serde_json::to_string_pretty(&answer)?)?,
        Output::Csv => {
            let mut t = Table::new(&[
                "depth",
                "span_id",
                "parent_span_id",
                "service",
                "name",
                "offset_ns",
                "duration_ns",
                "status",
            ]);
            for (prefix, _, s) in &rows {
                t.row([
                    (prefix.chars().count() / 3).to_string(),
                    cell(&s["span_id"]),
                    cell(&s["parent_span_id"]),
                    cell(&s["service"]),
                    cell(&s["name"]),
                    (nanos(s["start_time"].as_str().unwrap_or("")) - t0).to_string(),
                    cell(&s["duration_ns"]),
                    cell(&s["status"]["code"]),
                ]);
            }
            crate::output::write_csv(&mut out, &t)?;
        }
        Output::Table => {
            let s = &answer["summary"];
            writeln!(
                out,
                "{} {}  {} spans, {}, services: {}",
                ctx.printer.paint("trace", Color::Bold),
                ctx.printer.paint(&cell(&answer["trace_id"]), Color::Blue),
                cell(&s["span_count"]),
                duration(total),
                join_list(&s["services"]),
            )?;
            let mut t = Table::new(&["span", "service", "duration", "offset", "timeline"]);
            const WIDTH: i64 = 30;
            for (prefix, name, s) in &rows {
                let off = nanos(s["start_time"].as_str().unwrap_or("")) - t0;
                let d = s["duration_ns"].as_i64().unwrap_or(0);
                let a = (off * WIDTH / total).clamp(0, WIDTH - 1);
                let b = ((off + d) * WIDTH / total).clamp(a + 1, WIDTH);
                let bar = format!(
                    "{}{}{}",
                    " ".repeat(a as usize),
                    "█".repeat((b - a) as usize),
                    " ".repeat((WIDTH - b) as usize)
                );
                let error = s["status"]["code"] == "error";
                t.colored_row(vec![
                    (
                        format!("{prefix}{name}"),
                        if error { Color::Red } else { Color::None },
                    ),
                    (cell(&s["service"]), Color::Blue),
                    (duration(d), Color::Bold),
                    (format!("+{}", duration(off)), Color::Dim),
                    (
                        format!("|{bar}|"),
                        if error { Color::Red } else { Color::Green },
                    ),
                ]);
            }
            ctx.printer.write_table(&mut out, &t)?;
            let n = answer["logs_total"].as_u64().unwrap_or(0);
            if args.logs {
                for l in answer["logs"].as_array().into_iter().flatten() {
                    writeln!(
                        out,
                        "{} {:<5} {} {}",
                        ctx.printer.paint(&cell(&l["timestamp"]), Color::Dim),
                        cell(&l["level"]).to_uppercase(),
                        cell(&l["service"]),
                        cell(&l["message"])
                    )?;
                }
            } else if n > 0 {
                writeln!(
                    out,
                    "{}",
                    ctx.printer.paint(
                        &format!("{n} logs of this trace (--logs to show them)"),
                        Color::Dim
                    )
                )?;
            }
        }
    }
    Ok(())
}

/// Depth-first: (tree prefix, name, span) for every span under `node`.
fn walk<'a>(
    node: &'a Value,
    prefix: &str,
    child_prefix: &str,
    rows: &mut Vec<(String, String, &'a Value)>,
) {
    let error = node["status"]["code"] == "error";
    let name = format!("{}{}", cell(&node["name"]), if error { " !" } else { "" });
    rows.push((prefix.to_string(), name, node));
    let children = node["children"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    for (i, c) in children.iter().enumerate() {
        let last = i + 1 == children.len();
        let (p, cp) = if last {
            ("└─ ", "   ")
        } else {
            ("├─ ", "│  ")
        };
        walk(
            c,
            &format!("{child_prefix}{p}"),
            &format!("{child_prefix}{cp}"),
            rows,
        );
    }
}

/// RFC 3339 (as the API writes it) to Unix nanoseconds; 0 when unreadable.
fn nanos(s: &str) -> i64 {
    heimsight_core::Timestamp::parse(s).map_or(0, |t| t.0)
}
