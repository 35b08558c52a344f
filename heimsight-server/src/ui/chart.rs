//! Charts drawn on the server as SVG: line charts with axes, legend and hover values (each
//! point carries a `<title>`, which browsers show on hover), and the log histogram's bars.

use heimsight_core::Timestamp;
use maud::{Markup, html};

const W: f64 = 800.0;
const H: f64 = 240.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 26.0;
/// Most hover points drawn per line (beyond, the line is still whole).
const MAX_MARKS: usize = 300;

/// Colours of lines, in order.
const PALETTE: [&str; 10] = [
    "#3b82f6", "#ef4444", "#10b981", "#f59e0b", "#8b5cf6", "#ec4899", "#14b8a6", "#f97316",
    "#6366f1", "#84cc16",
];

/// One line of a chart: its legend label and its points (Unix nanoseconds, value).
#[derive(Debug, Clone)]
pub(crate) struct Line {
    pub(crate) label: String,
    pub(crate) points: Vec<(i64, f64)>,
}

/// A line chart of `lines` over `[start, end]` (nanoseconds).
pub(crate) fn line_chart(lines: &[Line], start: i64, end: i64) -> Markup {
    let values = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1))
        .filter(|v| v.is_finite());
    let (mut lo, mut hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if !lo.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    if lo > 0.0 && lo < hi * 0.5 {
        lo = 0.0;
    }
    if (hi - lo).abs() < f64::EPSILON {
        (lo, hi) = (lo - 1.0, hi + 1.0);
    }
    let yticks = nice_ticks(lo, hi, 5);
    let (lo, hi) = (
        yticks.first().copied().unwrap_or(lo).min(lo),
        yticks.last().copied().unwrap_or(hi).max(hi),
    );
    let span = (end - start).max(1) as f64;
    let x = |t: i64| LEFT + (t - start) as f64 / span * (W - LEFT - RIGHT);
    let y = |v: f64| TOP + (hi - v) / (hi - lo) * (H - TOP - BOTTOM);
    let total_points: usize = lines.iter().map(|l| l.points.len()).sum();
    html! {
        figure.chart {
            svg viewBox={ "0 0 " (W) " " (H) } role="img" preserveAspectRatio="none"
                aria-label={ "line chart of " (lines.len()) " series" } data-points=(total_points) {
                @for v in &yticks {
                    line.grid x1=(LEFT) x2=(W - RIGHT) y1=(r(y(*v))) y2=(r(y(*v))) {}
                    text.ylabel x=(LEFT - 6.0) y=(r(y(*v) + 4.0)) text-anchor="end" { (fmt_value(*v)) }
                }
                @for (t, label) in time_ticks(start, end) {
                    line.tick x1=(r(x(t))) x2=(r(x(t))) y1=(H - BOTTOM) y2=(H - BOTTOM + 4.0) {}
                    text.xlabel x=(r(x(t))) y=(H - 8.0) text-anchor="middle" { (label) }
                }
                line.axis x1=(LEFT) x2=(LEFT) y1=(TOP) y2=(H - BOTTOM) {}
                line.axis x1=(LEFT) x2=(W - RIGHT) y1=(H - BOTTOM) y2=(H - BOTTOM) {}
                @for (i, l) in lines.iter().enumerate() {
                    @let colour = PALETTE[i % PALETTE.len()];
                    @let pts: Vec<String> = l.points.iter().filter(|p| p.1.is_finite())
                        .map(|p| format!("{},{}", r(x(p.0)), r(y(p.1)))).collect();
                    g.series data-label=(l.label) {
                        polyline fill="none" stroke=(colour) stroke-width="1.6" points=(pts.join(" ")) {}
                        @let every = l.points.len().div_ceil(MAX_MARKS).max(1);
                        @for p in l.points.iter().step_by(every).filter(|p| p.1.is_finite()) {
                            circle.pt cx=(r(x(p.0))) cy=(r(y(p.1))) r="2.4" fill=(colour) {
                                title { (l.label) ": " (fmt_value(p.1)) " at " (super::fmt_time(&Timestamp(p.0).to_rfc3339())) }
                            }
                        }
                    }
                }
            }
            figcaption {
                ul.legend {
                    @for (i, l) in lines.iter().enumerate() {
                        li { span.swatch style={ "background:" (PALETTE[i % PALETTE.len()]) } {} (l.label) }
                    }
                }
            }
        }
    }
}

/// The log histogram: one bar per bucket `(start, count)` of `width` nanoseconds over
/// `[start, end]`; each bar links to `href(bucket_start, bucket_end)`.
pub(crate) fn histogram(
    buckets: &[(i64, u64)],
    start: i64,
    end: i64,
    width: i64,
    href: impl Fn(i64, i64) -> String,
) -> Markup {
    const HH: f64 = 110.0;
    let max = buckets.iter().map(|b| b.1).max().unwrap_or(0).max(1);
    let span = (end - start).max(1) as f64;
    let x = |t: i64| LEFT + (t.clamp(start, end) - start) as f64 / span * (W - LEFT - RIGHT);
    let bar_w = (width as f64 / span * (W - LEFT - RIGHT) - 1.0).max(1.0);
    let y = |n: u64| 6.0 + (1.0 - n as f64 / max as f64) * (HH - 6.0 - BOTTOM);
    html! {
        figure.histogram {
            svg viewBox={ "0 0 " (W) " " (HH) } role="img" preserveAspectRatio="none"
                aria-label="log count over time" {
                text.ylabel x=(LEFT - 6.0) y="14" text-anchor="end" { (max) }
                text.ylabel x=(LEFT - 6.0) y=(HH - BOTTOM) text-anchor="end" { "0" }
                @for (t, label) in time_ticks(start, end) {
                    text.xlabel x=(r(x(t))) y=(HH - 8.0) text-anchor="middle" { (label) }
                }
                line.axis x1=(LEFT) x2=(W - RIGHT) y1=(HH - BOTTOM) y2=(HH - BOTTOM) {}
                @for (t, n) in buckets {
                    a href=(href(*t, t + width)) {
                        rect.bar x=(r(x(*t))) y=(r(y(*n))) width=(r(bar_w)) height=(r(HH - BOTTOM - y(*n))) {
                            title { (n) " logs from " (super::fmt_time(&Timestamp(*t).to_rfc3339())) " — click to zoom in" }
                        }
                    }
                }
            }
        }
    }
}

/// A bucket width giving about `n` buckets over `span` nanoseconds, from a list of round
/// widths.
pub(crate) fn bucket_width(span: i64, n: i64) -> i64 {
    const S: i64 = 1_000_000_000;
    const WIDTHS: [i64; 16] = [
        S,
        2 * S,
        5 * S,
        10 * S,
        15 * S,
        30 * S,
        60 * S,
        120 * S,
        300 * S,
        600 * S,
        900 * S,
        1800 * S,
        3600 * S,
        3 * 3600 * S,
        6 * 3600 * S,
        24 * 3600 * S,
    ];
    let want = span / n.max(1);
    WIDTHS
        .iter()
        .copied()
        .find(|w| *w >= want)
        .unwrap_or(WIDTHS[WIDTHS.len() - 1])
}

/// Round ticks on the time axis, with labels as long as the span needs.
fn time_ticks(start: i64, end: i64) -> Vec<(i64, String)> {
    let span = (end - start).max(1);
    let step = bucket_width(span, 6);
    let first = start.div_euclid(step) * step + if start % step == 0 { 0 } else { step };
    let mut out = Vec::new();
    let mut t = first;
    while t <= end && out.len() < 12 {
        let s = Timestamp(t).to_rfc3339();
        let label = if span > 2 * 86_400_000_000_000 {
            format!(
                "{} {}",
                s.get(5..10).unwrap_or(""),
                s.get(11..16).unwrap_or("")
            )
        } else if step < 60_000_000_000 {
            s.get(11..19).unwrap_or("").to_string()
        } else {
            s.get(11..16).unwrap_or("").to_string()
        };
        out.push((t, label));
        t += step;
    }
    out
}

/// About `n` round values covering `[lo, hi]`.
fn nice_ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    let raw = (hi - lo) / n.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).floor() * step;
    let mut out = Vec::new();
    let mut v = first;
    while v <= hi + step * 0.5 && out.len() < 12 {
        out.push(if v.abs() < step * 1e-9 { 0.0 } else { v });
        v += step;
    }
    out
}

/// A value for an axis or a tooltip: short, without float noise.
pub(crate) fn fmt_value(v: f64) -> String {
    let a = v.abs();
    if a >= 1e9 {
        format!("{:.2}G", v / 1e9)
    } else if a >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.1}k", v / 1e3)
    } else if a == a.trunc() {
        format!("{v:.0}")
    } else {
        let s = if a >= 1.0 {
            format!("{v:.2}")
        } else {
            format!("{v:.4}")
        };
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// Rounds a coordinate to one decimal, to keep the SVG small.
fn r(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        let t = nice_ticks(0.13, 0.92, 5);
        assert_eq!(t.first().copied(), Some(0.0));
        assert!(t.last().copied().unwrap_or(0.0) >= 0.9);
        assert!(t.len() <= 8);
        assert_eq!(
            nice_ticks(0.0, 100.0, 5),
            [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
        );
    }

    #[test]
    fn bucket_widths_are_round() {
        use crate::retention::format_duration as width_literal;
        let hour = 3_600_000_000_000;
        assert_eq!(width_literal(bucket_width(hour, 60)), "1m");
        assert_eq!(width_literal(bucket_width(15 * 60_000_000_000, 60)), "15s");
        assert_eq!(width_literal(bucket_width(7 * 24 * hour, 60)), "3h");
    }

    #[test]
    fn chart_has_a_point_per_value_and_a_legend() {
        let lines = [Line {
            label: "cpu{host=\"a\"}".into(),
            points: vec![(0, 1.0), (60_000_000_000, 2.5), (120_000_000_000, f64::NAN)],
        }];
        let svg = line_chart(&lines, 0, 120_000_000_000).into_string();
        assert_eq!(svg.matches("<circle").count(), 2);
        assert!(svg.contains("cpu{host=&quot;a&quot;}: 2.5 at 1970-01-01 00:01:00"));
        assert!(svg.contains("class=\"legend\""));
    }
}
