//! `heimsight logs`: search logs, or follow them (`--follow`) like `tail -f`.

use std::io::Write;
use std::time::Duration;

use anyhow::Result;
use clap::Args;
use heimsight_core::api::LogsPage;
use heimsight_core::{Attributes, LogRecord, TailCursor};

use super::{Ctx, key_value, line, time_param};
use crate::args::Output;
use crate::output::{Color, Table, spinner};

/// Flags of `heimsight logs`.
#[derive(Debug, Args)]
pub(crate) struct LogsArgs {
    /// Only these levels (repeatable or a comma list): trace, debug, info, warn, error, fatal
    #[arg(long, short = 'l', value_name = "LEVEL")]
    pub(crate) level: Vec<String>,

    /// Only these services (repeatable or a comma list)
    #[arg(long, value_name = "SERVICE")]
    pub(crate) service: Vec<String>,

    /// Case-insensitive substring of the message
    #[arg(long, short = 'c', value_name = "TEXT")]
    pub(crate) contains: Option<String>,

    /// Full-text search over the whole record (every word must appear; "quoted phrases")
    #[arg(long, short = 'q', value_name = "TERMS")]
    pub(crate) search: Option<String>,

    /// Attribute equals value, `key=value` (repeatable; all must hold)
    #[arg(long, value_name = "KEY=VALUE")]
    pub(crate) attr: Vec<String>,

    /// Only the records of this trace
    #[arg(long, value_name = "TRACE_ID")]
    pub(crate) trace_id: Option<String>,

    /// From this long ago (15m, 2h, 7d) or this time (RFC 3339, now-1h)
    #[arg(long, value_name = "WHEN", default_value = "15m")]
    pub(crate) since: String,

    /// Until this long ago or this time [default: now]
    #[arg(long, value_name = "WHEN")]
    pub(crate) until: Option<String>,

    /// At most this many records (the newest), 0 to 10000
    #[arg(long, short = 'n', default_value_t = 100)]
    pub(crate) limit: u32,

    /// Keep printing new records as they arrive, until interrupted (Ctrl-C)
    #[arg(long, short = 'f')]
    pub(crate) follow: bool,

    /// How often --follow asks the server for new records
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "1s",
        requires = "follow"
    )]
    pub(crate) poll: String,
}

impl LogsArgs {
    /// The query parameters of `GET /api/v1/logs` (without times, order and limit).
    fn filters(&self) -> Result<Vec<(&'static str, String)>> {
        let mut q = Vec::new();
        for l in &self.level {
            q.push(("level", l.clone()));
        }
        for s in &self.service {
            q.push(("service", s.clone()));
        }
        if let Some(c) = &self.contains {
            q.push(("contains", c.clone()));
        }
        if let Some(t) = &self.search {
            q.push(("q", t.clone()));
        }
        for a in &self.attr {
            let (k, v) = key_value(a, "--attr")?;
            q.push(("attr", format!("{k}:{v}")));
        }
        if let Some(t) = &self.trace_id {
            q.push(("trace_id", t.clone()));
        }
        Ok(q)
    }
}

/// Runs `heimsight logs`.
pub(crate) async fn run(ctx: &Ctx, args: &LogsArgs) -> Result<()> {
    let mut q = args.filters()?;
    q.push(("start_time", time_param(&args.since)));
    if let Some(u) = &args.until {
        q.push(("end_time", time_param(u)));
    }
    q.push(("limit", args.limit.to_string()));
    let answer: LogsPage = {
        let _s = spinner("searching logs");
        ctx.api.get_as("/api/v1/logs", &q).await?
    };
    let mut logs = answer.logs.clone();
    // Newest first from the server; print oldest first, like tail.
    logs.reverse();
    let mut out = ctx.out();
    if !args.follow {
        return match ctx.printer.format {
            Output::Json => {
                writeln!(out, "{}", serde_json::to_string_pretty(&answer)?)?;
                Ok(())
            }
            Output::Csv => {
                let mut t = Table::new(&CSV_COLUMNS);
                for l in &logs {
                    t.row(csv_row(l));
                }
                crate::output::write_csv(&mut out, &t)
            }
            Output::Table => {
                for l in &logs {
                    line(&mut out, &render(ctx, l))?;
                }
                let total = answer.total;
                if total > logs.len() as u64 {
                    let note = format!(
                        "({} of {total} matching records; --limit for more)",
                        logs.len()
                    );
                    let _ = writeln!(
                        std::io::stderr(),
                        "{}",
                        ctx.printer.paint(&note, Color::Dim)
                    );
                }
                Ok(())
            }
        };
    }
    if ctx.printer.format == Output::Csv {
        line(&mut out, &CSV_COLUMNS.join(","))?;
    }
    for l in &logs {
        emit(ctx, &mut out, l)?;
    }
    follow(ctx, args, &mut out, &logs).await
}

/// Polls for records newer than the last one printed and prints them as they come.
async fn follow(
    ctx: &Ctx,
    args: &LogsArgs,
    out: &mut dyn Write,
    printed: &[LogRecord],
) -> Result<()> {
    let poll = heimsight_core::parse_duration_nanos(&args.poll)
        .ok()
        .filter(|n| *n > 0)
        .map(|n| Duration::from_nanos(u64::try_from(n).unwrap_or(1_000_000_000)))
        .ok_or_else(|| {
            anyhow::anyhow!("invalid --poll {:?}; expected e.g. 1s or 500ms", args.poll)
        })?;
    let mut cursor = TailCursor::default();
    for l in printed {
        cursor.admit(l);
    }
    let filters = args.filters()?;
    // Nothing printed yet: everything since --since is new (the first query found none of it).
    let start = time_param(&args.since);
    loop {
        tokio::time::sleep(poll).await;
        let mut q = filters.clone();
        q.push((
            "start_time",
            cursor
                .last()
                .map_or_else(|| start.clone(), |t| t.to_rfc3339()),
        ));
        q.push(("order", "asc".into()));
        q.push(("limit", "1000".into()));
        let answer: LogsPage = match ctx.api.get_as("/api/v1/logs", &q).await {
            Ok(a) => a,
            Err(e) => {
                // A server restarting is not the end of a tail: say so and keep trying.
                let _ = writeln!(
                    std::io::stderr(),
                    "{}",
                    ctx.printer.paint(&format!("warning: {e:#}"), Color::Yellow)
                );
                continue;
            }
        };
        for l in &answer.logs {
            if cursor.admit(l) {
                emit(ctx, out, l)?;
            }
        }
    }
}

/// Prints one record while following: a line in table mode, one JSON object per line
/// otherwise, CSV rows without a header.
fn emit(ctx: &Ctx, out: &mut dyn Write, l: &LogRecord) -> Result<()> {
    match ctx.printer.format {
        Output::Table => line(out, &render(ctx, l)),
        Output::Json => line(out, &l.to_json().to_string()),
        Output::Csv => {
            let mut t = Table::new(&[]);
            t.row(csv_row(l));
            let mut buf = Vec::new();
            crate::output::write_csv(&mut buf, &t)?;
            // Drop the (empty) header line.
            let text = String::from_utf8_lossy(&buf);
            line(
                out,
                text.split_once('\n')
                    .map_or("", |(_, rest)| rest)
                    .trim_end(),
            )
        }
    }
}

/// `2026-11-26T09:00:00.123Z ERROR api  connection refused  http.status=503 trace=…`
fn render(ctx: &Ctx, l: &LogRecord) -> String {
    let ts = l.timestamp.to_rfc3339();
    // Milliseconds are enough on screen: 2026-11-26T09:00:00.123Z.
    let ts = match (ts.find('.'), ts.len()) {
        (Some(dot), n) if n > dot + 4 => format!("{}Z", &ts[..dot + 4]),
        _ => ts,
    };
    let level = l.level().as_str();
    let mut s = format!(
        "{} {} {} {}",
        ctx.printer.paint(&ts, Color::Dim),
        ctx.printer.paint(
            &format!("{:<5}", level.to_uppercase()),
            Color::of_level(level)
        ),
        ctx.printer.paint(&l.service, Color::Blue),
        l.body,
    );
    let a = attrs(&l.attributes);
    if !a.is_empty() {
        s.push_str("  ");
        s.push_str(&ctx.printer.paint(&a, Color::Dim));
    }
    if let Some(t) = l.trace_id {
        s.push_str(&ctx.printer.paint(&format!(" trace={t}"), Color::Dim));
    }
    s
}

/// The columns of `-o csv`.
const CSV_COLUMNS: [&str; 6] = [
    "timestamp",
    "level",
    "service",
    "message",
    "trace_id",
    "attributes",
];

/// A record as a CSV row.
fn csv_row(l: &LogRecord) -> [String; 6] {
    [
        l.timestamp.to_rfc3339(),
        l.level().as_str().into(),
        l.service.clone(),
        l.body.clone(),
        l.trace_id.map(|t| t.to_hex()).unwrap_or_default(),
        attrs(&l.attributes),
    ]
}

/// Attributes as `k=v k2=v2`.
fn attrs(a: &Attributes) -> String {
    a.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}
