//! What the commands print: tables for people (aligned, coloured on a terminal), JSON and CSV
//! for scripts, and a spinner on stderr while a slow request runs.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use anyhow::Result;
use serde_json::Value;

use crate::args::{Global, Output};

/// A colour of a table cell (ANSI, only on a terminal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Color {
    /// No colour.
    None,
    /// Errors, firing alerts.
    Red,
    /// Warnings, pending alerts.
    Yellow,
    /// Info, ok.
    Green,
    /// Debug, ids.
    Blue,
    /// Trace, secondary text.
    Dim,
    /// Headers.
    Bold,
}

impl Color {
    fn code(self) -> &'static str {
        match self {
            Color::None => "",
            Color::Red => "\x1b[31m",
            Color::Yellow => "\x1b[33m",
            Color::Green => "\x1b[32m",
            Color::Blue => "\x1b[34m",
            Color::Dim => "\x1b[2m",
            Color::Bold => "\x1b[1m",
        }
    }

    /// The colour of a log level or an alert state.
    pub(crate) fn of_level(level: &str) -> Color {
        match level {
            "error" | "fatal" | "firing" | "critical" => Color::Red,
            "warn" | "warning" | "pending" => Color::Yellow,
            "info" | "ok" | "resolved" | "inactive" => Color::Green,
            "debug" => Color::Blue,
            "trace" | "disabled" => Color::Dim,
            _ => Color::None,
        }
    }
}

/// A table: a header and rows of text cells, some coloured.
#[derive(Debug, Default)]
pub(crate) struct Table {
    /// Column names.
    pub(crate) columns: Vec<String>,
    /// Rows of (text, colour).
    pub(crate) rows: Vec<Vec<(String, Color)>>,
}

impl Table {
    /// An empty table with these columns.
    pub(crate) fn new(columns: &[&str]) -> Self {
        Table {
            columns: columns.iter().map(|c| (*c).to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row of plain cells.
    pub(crate) fn row<I, S>(&mut self, cells: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.rows
            .push(cells.into_iter().map(|c| (c.into(), Color::None)).collect());
    }

    /// Adds a row of coloured cells.
    pub(crate) fn colored_row(&mut self, cells: Vec<(String, Color)>) {
        self.rows.push(cells);
    }
}

/// Where and how a command prints.
#[derive(Debug)]
pub(crate) struct Printer {
    /// The chosen format.
    pub(crate) format: Output,
    /// Whether to use ANSI colours.
    pub(crate) color: bool,
}

impl Printer {
    /// The printer `--output` and `--no-color` ask for: a table on a terminal, JSON otherwise;
    /// colours only on a terminal, without `--no-color` and without `NO_COLOR`.
    pub(crate) fn new(global: &Global) -> Self {
        let tty = std::io::stdout().is_terminal();
        let format = global
            .output
            .unwrap_or(if tty { Output::Table } else { Output::Json });
        let color =
            tty && !global.no_color && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        Printer { format, color }
    }

    /// `text` in `color` when colours are on.
    pub(crate) fn paint(&self, text: &str, color: Color) -> String {
        if self.color && color != Color::None {
            format!("{}{text}\x1b[0m", color.code())
        } else {
            text.to_string()
        }
    }

    /// Prints `json` (for `--output json`) or `table` (table and csv).
    pub(crate) fn print(
        &self,
        out: &mut dyn Write,
        json: &impl serde::Serialize,
        table: &Table,
    ) -> Result<()> {
        match self.format {
            Output::Json => writeln!(out, "{}", serde_json::to_string_pretty(json)?)?,
            Output::Csv => write_csv(out, table)?,
            Output::Table => self.write_table(out, table)?,
        }
        Ok(())
    }

    /// Prints a table aligned in columns; the last column is not padded.
    pub(crate) fn write_table(&self, out: &mut dyn Write, t: &Table) -> Result<()> {
        let mut widths: Vec<usize> = t.columns.iter().map(|c| c.chars().count()).collect();
        for row in &t.rows {
            for (i, (cell, _)) in row.iter().enumerate() {
                if let Some(w) = widths.get_mut(i) {
                    *w = (*w).max(cell.chars().count());
                }
            }
        }
        let line = |cells: Vec<(String, Color)>| -> String {
            let n = cells.len();
            let mut s = String::new();
            for (i, (cell, color)) in cells.into_iter().enumerate() {
                let pad = if i + 1 < n {
                    widths[i].saturating_sub(cell.chars().count()) + 2
                } else {
                    0
                };
                s.push_str(&self.paint(&cell, color));
                s.push_str(&" ".repeat(pad));
            }
            s.trim_end().to_string()
        };
        let header = t
            .columns
            .iter()
            .map(|c| (c.to_uppercase(), Color::Bold))
            .collect();
        writeln!(out, "{}", line(header))?;
        for row in &t.rows {
            writeln!(out, "{}", line(row.clone()))?;
        }
        Ok(())
    }
}

/// CSV as RFC 4180 says: fields with commas, quotes or line breaks quoted, quotes doubled.
pub(crate) fn write_csv(out: &mut dyn Write, t: &Table) -> Result<()> {
    let field = |s: &str| {
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    };
    let join =
        |cells: &mut dyn Iterator<Item = &str>| cells.map(field).collect::<Vec<_>>().join(",");
    writeln!(out, "{}", join(&mut t.columns.iter().map(String::as_str)))?;
    for row in &t.rows {
        writeln!(out, "{}", join(&mut row.iter().map(|(c, _)| c.as_str())))?;
    }
    Ok(())
}

/// A JSON value as one table cell: strings as is, `null` empty, the rest as JSON.
pub(crate) fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Labels as `k=v` joined by `sep`, leaving out the keys in `skip`.
pub(crate) fn pairs(
    labels: &std::collections::BTreeMap<String, String>,
    sep: &str,
    skip: &[&str],
) -> String {
    labels
        .iter()
        .filter(|(k, _)| !skip.contains(&k.as_str()))
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(sep)
}

/// `1.25s`, `340ms`, `12µs` from nanoseconds.
pub(crate) fn duration(ns: i64) -> String {
    let ns = ns.max(0);
    if ns >= 60_000_000_000 {
        let s = ns / 1_000_000_000;
        if s >= 3600 {
            format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
        } else {
            format!("{}m{:02}s", s / 60, s % 60)
        }
    } else if ns >= 1_000_000_000 {
        format!("{:.2}s", ns as f64 / 1e9)
    } else if ns >= 1_000_000 {
        format!("{:.1}ms", ns as f64 / 1e6)
    } else if ns >= 1_000 {
        format!("{}µs", ns / 1_000)
    } else {
        format!("{ns}ns")
    }
}

/// A number for a table: integers without a fraction, others with up to 4 significant
/// decimals.
pub(crate) fn number(v: f64) -> String {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else if v.is_finite() {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        v.to_string()
    }
}

/// Bytes as `1.5 MiB`.
pub(crate) fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// A sparkline of `values` in at most `width` characters (▁▂▃▄▅▆▇█); each character is the
/// mean of the values it covers.
pub(crate) fn sparkline(values: &[f64], width: usize) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let values: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if values.is_empty() || width == 0 {
        return String::new();
    }
    let n = values.len().min(width);
    let cols: Vec<f64> = (0..n)
        .map(|i| {
            let a = i * values.len() / n;
            let b = ((i + 1) * values.len() / n).max(a + 1);
            values[a..b].iter().sum::<f64>() / (b - a) as f64
        })
        .collect();
    let lo = cols.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = cols.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    cols.iter()
        .map(|v| {
            if hi > lo {
                let i = ((v - lo) / (hi - lo) * 7.0).round() as usize;
                BARS[i.min(7)]
            } else {
                BARS[3]
            }
        })
        .collect()
}

/// Shows a spinner with `label` on stderr (a terminal only) until the returned guard drops,
/// starting after a short delay so fast requests show nothing.
pub(crate) fn spinner(label: &str) -> Spinner {
    if !std::io::stderr().is_terminal() {
        return Spinner { task: None };
    }
    let label = label.to_string();
    let task = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
        let started = std::time::Instant::now();
        for i in 0.. {
            {
                let mut err = std::io::stderr().lock();
                let _ = write!(
                    err,
                    "\r\x1b[2K{} {label} ({:.1}s)",
                    frames[i % frames.len()],
                    started.elapsed().as_secs_f64()
                );
                let _ = err.flush();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    Spinner { task: Some(task) }
}

/// Stops and clears the spinner when dropped.
#[derive(Debug)]
pub(crate) struct Spinner {
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for Spinner {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparkline_scales_between_min_and_max() {
        assert_eq!(
            sparkline(&[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], 8),
            "▁▂▃▄▅▆▇█"
        );
        assert_eq!(sparkline(&[1.0, 1.0], 10), "▄▄");
        assert_eq!(sparkline(&[0.0, 0.0, 10.0, 10.0], 2), "▁█");
        assert_eq!(sparkline(&[], 5), "");
        assert_eq!(sparkline(&[f64::NAN, 2.0], 5), "▄");
    }

    #[test]
    fn csv_quotes_what_needs_it() {
        let mut t = Table::new(&["a", "b"]);
        t.row(["x,y", "say \"hi\""]);
        t.row(["plain", "two\nlines"]);
        let mut out = Vec::new();
        write_csv(&mut out, &t).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a,b\n\"x,y\",\"say \"\"hi\"\"\"\nplain,\"two\nlines\"\n"
        );
    }

    #[test]
    fn tables_align_and_colour_only_when_asked() {
        let mut t = Table::new(&["level", "message"]);
        t.colored_row(vec![
            ("error".into(), Color::Red),
            ("boom".into(), Color::None),
        ]);
        t.row(["info", "ok"]);
        let plain = Printer {
            format: Output::Table,
            color: false,
        };
        let mut out = Vec::new();
        plain.write_table(&mut out, &t).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "LEVEL  MESSAGE\nerror  boom\ninfo   ok\n"
        );
        let colored = Printer {
            format: Output::Table,
            color: true,
        };
        let mut out = Vec::new();
        colored.write_table(&mut out, &t).unwrap();
        assert!(
            String::from_utf8(out)
                .unwrap()
                .contains("\x1b[31merror\x1b[0m")
        );
    }

    #[test]
    fn durations_numbers_and_bytes_read_well() {
        assert_eq!(duration(1_250_000_000), "1.25s");
        assert_eq!(duration(340_000_000), "340.0ms");
        assert_eq!(duration(12_000), "12µs");
        assert_eq!(duration(125_000_000_000), "2m05s");
        assert_eq!(number(3.0), "3");
        assert_eq!(number(0.123456), "0.1235");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(12), "12 B");
    }
}
