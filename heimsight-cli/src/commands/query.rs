//! `heimsight query '<query>'`: runs a query of the query language.

use heimsight_core::api::{QueryAnswer, QueryDiagnostic, QueryRequest, TimeRef};
use std::io::Write;

use anyhow::{Result, anyhow};
use clap::Args;
use serde_json::json;

use super::{Ctx, time_param};
use crate::args::Output;
use crate::client::ServerError;
use crate::output::{Color, Table, cell, spinner};

/// Flags of `heimsight query`.
#[derive(Debug, Args)]
pub(crate) struct QueryArgs {
    /// The query, e.g. "SELECT level, count(*) FROM logs GROUP BY level"; `-` reads it from
    /// standard input. `EXPLAIN SELECT …` shows the plan.
    pub(crate) query: String,

    /// Start of the time range (15m, 2h, an RFC 3339 time) when the query has none
    #[arg(long, value_name = "WHEN")]
    pub(crate) since: Option<String>,

    /// End of the time range [default: now]
    #[arg(long, value_name = "WHEN")]
    pub(crate) until: Option<String>,

    /// At most this many rows, 1 to 100000 [default: the server's, 10000]
    #[arg(long, value_name = "N")]
    pub(crate) max_rows: Option<u32>,
}

/// Runs `heimsight query`.
pub(crate) async fn run(ctx: &Ctx, args: &QueryArgs) -> Result<()> {
    let text = if args.query == "-" {
        super::read_stdin()?
    } else {
        args.query.clone()
    };
    let time = |flag: &str, given: &Option<String>| -> Result<Option<TimeRef>> {
        given
            .as_deref()
            .map(|s| {
                time_param(s)
                    .parse::<TimeRef>()
                    .map_err(|e| anyhow::anyhow!("invalid {flag} {s:?}: {e}"))
            })
            .transpose()
    };
    let mut request = QueryRequest::new(text.clone());
    request.start = time("--since", &args.since)?;
    request.end = time("--until", &args.until)?;
    request.max_rows = args.max_rows.map(u64::from);
    let body = json!(request);
    let answer = {
        let _s = spinner("running the query");
        ctx.api.post_as::<QueryAnswer>("/api/v1/query", &body).await
    };
    let answer = answer.map_err(|e| explain_error(e, &text))?;
    let columns: Vec<&str> = answer.columns.iter().map(|c| c.name.as_str()).collect();
    let mut t = Table::new(&columns);
    for row in &answer.rows {
        t.row(row.iter().map(cell));
    }
    let mut out = ctx.out();
    ctx.printer.print(&mut out, &answer, &t)?;
    if ctx.printer.format == Output::Table {
        let s = &answer.stats;
        let note = format!(
            "{} rows ({} scanned) in {} ms{}",
            s.rows_returned,
            s.rows_scanned,
            s.elapsed_ms,
            if s.truncated {
                ", truncated: raise --max-rows"
            } else {
                ""
            }
        );
        let _ = writeln!(
            std::io::stderr(),
            "{}",
            ctx.printer.paint(&note, Color::Dim)
        );
    }
    Ok(())
}

/// An invalid query's error with the query below it and a caret under each problem.
fn explain_error(e: anyhow::Error, query: &str) -> anyhow::Error {
    let Some(se) = e.downcast_ref::<ServerError>() else {
        return e;
    };
    let diags = &se.body.diagnostics;
    if diags.is_empty() {
        return e;
    }
    let mut msg = se.message.clone();
    for d in diags {
        msg.push('\n');
        msg.push_str(&caret(query, d));
    }
    anyhow!(msg)
}

/// Where a diagnostic of the server points in `query`: line and column (from 1) and the
/// length of its span in characters (at least 1).
pub(crate) fn span(query: &str, d: &QueryDiagnostic) -> (usize, usize, usize) {
    let len = if d.end > d.start {
        query.get(d.start..d.end).map_or(1, |s| s.chars().count())
    } else {
        1
    };
    (d.line.max(1), d.column.max(1), len)
}

/// The line of the query a diagnostic points at, and `^^^` under its span.
fn caret(query: &str, d: &QueryDiagnostic) -> String {
    let (line_no, col, len) = span(query, d);
    let line = query.lines().nth(line_no - 1).unwrap_or("");
    let len = len.min(line.chars().count().saturating_sub(col - 1).max(1));
    format!("  {line}\n  {}{}", " ".repeat(col - 1), "^".repeat(len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carets_point_at_the_problem() {
        let q = "SELECT levle FROM logs";
        let d = QueryDiagnostic::new(1, 8, 7, 12, "unknown column");
        assert_eq!(caret(q, &d), "  SELECT levle FROM logs\n         ^^^^^");
        let q = "SELECT *\nFROM logz";
        let d = QueryDiagnostic::new(2, 6, 14, 18, "unknown table");
        assert_eq!(caret(q, &d), "  FROM logz\n       ^^^^");
    }
}
