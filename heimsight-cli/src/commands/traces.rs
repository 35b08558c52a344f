//! `heimsight traces` (search) and `heimsight trace <id>` (the span tree).

use std::io::Write;

use anyhow::Result;
use clap::Args;
use heimsight_core::api::{SpanNode, TraceDetail, TracesPage};
use heimsight_core::{Span, StatusCode};

use super::{Ctx, time_param};
use crate::args::Output;
use crate::client::path_segment;
use crate::output::{Color, Table, duration, spinner};

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
    let mut answer: TracesPage = {
        let _s = spinner("searching traces");
        ctx.api.get_as("/api/v1/traces", &q).await?
    };
    if args.errors {
        answer.traces.retain(|t| t.error);
    }
    let mut t = Table::new(&[
        "trace_id", "start", "root", "duration", "spans", "services", "status",
    ]);
    for tr in &answer.traces {
        t.colored_row(vec![
            (tr.trace_id.to_hex(), Color::Blue),
            (tr.start_time.to_rfc3339(), Color::Dim),
            (
                format!("{}: {}", tr.root_service, tr.root_name),
                Color::None,
            ),
            (duration(tr.duration_ns), Color::Bold),
            (tr.span_count.to_string(), Color::None),
            (tr.services.join(","), Color::None),
            if tr.error {
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
    let answer: TraceDetail = {
        let _s = spinner("reading the trace");
        ctx.api
            .get_as(
                &format!("/api/v1/traces/{}", path_segment(&args.trace_id)),
                &[],
            )
            .await?
    };
    let mut out = ctx.out();
    let t0 = answer
        .spans
        .iter()
        .map(|s| s.start_time.0)
        .min()
        .unwrap_or(0);
    let total = answer.summary.duration_ns.max(1);
    let mut rows = Vec::new();
    for root in &answer.tree {
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
                    s.span_id.to_hex(),
                    s.parent_span_id.map(|p| p.to_hex()).unwrap_or_default(),
                    s.service.clone(),
                    s.name.clone(),
                    (s.start_time.0 - t0).to_string(),
                    s.duration_nanos().to_string(),
                    s.status.code.as_str().into(),
                ]);
            }
            crate::output::write_csv(&mut out, &t)?;
        }
        Output::Table => {
            let s = &answer.summary;
            writeln!(
                out,
                "{} {}  {} spans, {}, services: {}",
                ctx.printer.paint("trace", Color::Bold),
                ctx.printer.paint(&answer.trace_id.to_hex(), Color::Blue),
                s.span_count,
                duration(total),
                s.services.join(","),
            )?;
            let mut t = Table::new(&["span", "service", "duration", "offset", "timeline"]);
            const WIDTH: i64 = 30;
            for (prefix, name, s) in &rows {
                let off = s.start_time.0 - t0;
                let d = s.duration_nanos();
                let a = (off * WIDTH / total).clamp(0, WIDTH - 1);
                let b = ((off + d) * WIDTH / total).clamp(a + 1, WIDTH);
                let bar = format!(
                    "{}{}{}",
                    " ".repeat(a as usize),
                    "█".repeat((b - a) as usize),
                    " ".repeat((WIDTH - b) as usize)
                );
                let error = s.status.code == StatusCode::Error;
                t.colored_row(vec![
                    (
                        format!("{prefix}{name}"),
                        if error { Color::Red } else { Color::None },
                    ),
                    (s.service.clone(), Color::Blue),
                    (duration(d), Color::Bold),
                    (format!("+{}", duration(off)), Color::Dim),
                    (
                        format!("|{bar}|"),
                        if error { Color::Red } else { Color::Green },
                    ),
                ]);
            }
            ctx.printer.write_table(&mut out, &t)?;
            let n = answer.logs_total;
            if args.logs {
                for l in &answer.logs {
                    writeln!(
                        out,
                        "{} {:<5} {} {}",
                        ctx.printer.paint(&l.timestamp.to_rfc3339(), Color::Dim),
                        l.level().as_str().to_uppercase(),
                        l.service,
                        l.body
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
    node: &'a SpanNode,
    prefix: &str,
    child_prefix: &str,
    rows: &mut Vec<(String, String, &'a Span)>,
) {
    let error = node.span.status.code == StatusCode::Error;
    let name = format!("{}{}", node.span.name, if error { " !" } else { "" });
    rows.push((prefix.to_string(), name, &node.span));
    let children = &node.children;
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
