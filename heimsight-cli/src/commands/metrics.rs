//! `heimsight metrics`: series with their points, raw or aggregated, with a sparkline each.

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use clap::Args;
use heimsight_core::api::{MetricNames, PointView, SeriesAnswer};

use super::{Ctx, split_matcher, time_param};
use crate::output::{Color, Table, number, pairs, sparkline, spinner};

/// Flags of `heimsight metrics`.
#[derive(Debug, Args)]
pub(crate) struct MetricsArgs {
    /// Metric name; without it, the metric names are listed
    pub(crate) name: Option<String>,

    /// Label matcher (repeatable): `key=value`, `key!=value`, `key=~regex`, `key!~regex`
    #[arg(long, short = 'l', value_name = "MATCHER")]
    pub(crate) label: Vec<String>,

    /// Aggregate each series per step: avg, sum, min, max or count
    #[arg(long, short = 'a', value_name = "AGG")]
    pub(crate) agg: Option<String>,

    /// Window of --agg, e.g. 1m, 5m [default: 1m]
    #[arg(long, value_name = "DURATION")]
    pub(crate) step: Option<String>,

    /// From this long ago (15m, 2h, 7d) or this time
    #[arg(long, value_name = "WHEN", default_value = "1h")]
    pub(crate) since: String,

    /// Until this long ago or this time [default: now]
    #[arg(long, value_name = "WHEN")]
    pub(crate) until: Option<String>,
}

/// A parsed label matcher.
#[derive(Debug)]
struct Matcher {
    name: String,
    op: &'static str,
    value: String,
    regex: Option<regex::Regex>,
}

impl Matcher {
    fn parse(s: &str) -> Result<Matcher> {
        let Some((name, op, value)) = split_matcher(s) else {
            bail!("invalid --label {s:?}; expected key=value, key!=value, key=~regex or key!~regex")
        };
        let regex = if op.contains('~') {
            Some(regex::Regex::new(&format!("^(?:{value})$")).map_err(|e| {
                anyhow::anyhow!("invalid --label {s:?}: bad regular expression: {e}")
            })?)
        } else {
            None
        };
        Ok(Matcher {
            name: name.to_string(),
            op,
            value: value.to_string(),
            regex,
        })
    }

    fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let v = labels.get(&self.name).map_or("", String::as_str);
        match (self.op, &self.regex) {
            ("=", _) => v == self.value,
            ("!=", _) => v != self.value,
            ("=~", Some(r)) => r.is_match(v),
            ("!~", Some(r)) => !r.is_match(v),
            _ => false,
        }
    }
}

/// Runs `heimsight metrics`.
pub(crate) async fn run(ctx: &Ctx, args: &MetricsArgs) -> Result<()> {
    let mut out = ctx.out();
    let Some(name) = &args.name else {
        let answer: MetricNames = ctx.api.get_as("/api/v1/metrics/names", &[]).await?;
        let mut t = Table::new(&["name"]);
        for n in &answer.names {
            t.row([n.clone()]);
        }
        return ctx.printer.print(&mut out, &answer, &t);
    };
    let matchers = args
        .label
        .iter()
        .map(|m| Matcher::parse(m))
        .collect::<Result<Vec<_>>>()?;
    let mut q = vec![
        ("name", name.clone()),
        ("start_time", time_param(&args.since)),
    ];
    if let Some(u) = &args.until {
        q.push(("end_time", time_param(u)));
    }
    // Equality goes to the server; the other matchers are applied here.
    for m in matchers.iter().filter(|m| m.op == "=") {
        q.push(("label", format!("{}:{}", m.name, m.value)));
    }
    if let Some(a) = &args.agg {
        q.push(("agg", a.clone()));
        q.push(("step", args.step.clone().unwrap_or_else(|| "1m".into())));
    } else if args.step.is_some() {
        bail!("--step needs --agg (avg, sum, min, max or count)");
    }
    let mut answer: SeriesAnswer = {
        let _s = spinner("reading metrics");
        ctx.api.get_as("/api/v1/metrics", &q).await?
    };
    answer
        .series
        .retain(|s| matchers.iter().all(|m| m.matches(&s.labels)));
    let mut t = Table::new(&["name", "labels", "points", "last", "min", "max", "trend"]);
    for s in &answer.series {
        // The value of each point; the sum for histograms and summaries.
        let values: Vec<f64> = s.points.iter().filter_map(PointView::plotted).collect();
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let labels = pairs(&s.labels, ",", &[]);
        let fmt = |v: f64| {
            if v.is_finite() {
                number(v)
            } else {
                String::new()
            }
        };
        t.colored_row(vec![
            (s.name.clone(), Color::None),
            (labels, Color::Dim),
            (values.len().to_string(), Color::None),
            (
                values.last().map_or(String::new(), |v| number(*v)),
                Color::Bold,
            ),
            (fmt(min), Color::None),
            (fmt(max), Color::None),
            (sparkline(&values, 40), Color::Green),
        ]);
    }
    if t.rows.is_empty() && ctx.printer.format == crate::args::Output::Table {
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            format!("no points of {name} in the range (try --since 24h)\n").as_bytes(),
        );
        return Ok(());
    }
    ctx.printer.print(&mut out, &answer, &t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matchers_parse_and_match() {
        let labels: BTreeMap<String, String> = [("host", "web-1"), ("dc", "eu")]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into();
        let m = |s| Matcher::parse(s).unwrap().matches(&labels);
        assert!(m("host=web-1"));
        assert!(!m("host!=web-1"));
        assert!(m("host=~web-.*"));
        assert!(!m("host=~web"));
        assert!(m("dc!~us.*"));
        assert!(m("zone!=a"));
        assert!(Matcher::parse("=x").is_err());
        assert!(
            Matcher::parse("host=~(")
                .unwrap_err()
                .to_string()
                .contains("regular expression")
        );
        assert!(Matcher::parse("host").is_err());
    }
}
