//! Aggregation of metric points over time windows.
//!
//! [`aggregate`] folds the points of one series into windows of a fixed step. Windows are
//! aligned to multiples of the step since the Unix epoch (so a 60 s step gives windows that
//! start on the minute, whatever the query's start), each window is reported at its start,
//! and windows without points are left out.

use std::collections::BTreeMap;

use heimsight_core::Timestamp;
use heimsight_store::Point;

pub use heimsight_core::metric::{Agg, UnknownAgg};

#[derive(Debug, Clone, Copy)]
struct Acc {
    points: u64,
    values: u64,
    sum: f64,
    min: f64,
    max: f64,
}

impl Acc {
    const EMPTY: Acc = Acc {
        points: 0,
        values: 0,
        sum: 0.0,
        min: f64::INFINITY,
        max: f64::NEG_INFINITY,
    };

    fn add(&mut self, v: f64) {
        self.points += 1;
        if v.is_nan() {
            return;
        }
        self.values += 1;
        self.sum += v;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
    }

    fn result(&self, agg: Agg) -> f64 {
        if agg == Agg::Count {
            return self.points as f64;
        }
        if self.values == 0 {
            return f64::NAN;
        }
        match agg {
            Agg::Avg => self.sum / self.values as f64,
            Agg::Sum => self.sum,
            Agg::Min => self.min,
            Agg::Max => self.max,
            Agg::Count => self.points as f64,
        }
    }
}

/// Aggregates `points` falling in `[start, end)` into windows of `step_ns` nanoseconds.
///
/// Returns one `(window start, value)` per window holding at least one point, oldest first.
/// Windows are aligned to multiples of `step_ns` (the first window may begin before `start`,
/// but only points at or after `start` count). The points need not be sorted. A non-positive
/// `step_ns` is treated as one nanosecond, which groups only points of equal timestamps.
///
/// ```
/// use heimsight_core::{MetricValue, Timestamp};
/// use heimsight_query::metrics::{Agg, aggregate};
/// use heimsight_store::Point;
///
/// let s = 1_000_000_000; // one second in nanoseconds
/// let points: Vec<Point> = [(0, 1.0), (30, 3.0), (60, 10.0), (200, 7.0)]
///     .into_iter()
///     .map(|(t, v)| Point::new(Timestamp(t * s), MetricValue::Number(v)))
///     .collect();
/// let avg = aggregate(&points, Timestamp(0), Timestamp(300 * s), 60 * s, Agg::Avg);
/// assert_eq!(
///     avg,
///     [(Timestamp(0), 2.0), (Timestamp(60 * s), 10.0), (Timestamp(180 * s), 7.0)]
/// );
/// ```
pub fn aggregate(
    points: &[Point],
    start: Timestamp,
    end: Timestamp,
    step_ns: i64,
    agg: Agg,
) -> Vec<(Timestamp, f64)> {
    let step = step_ns.max(1);
    let mut windows: BTreeMap<i64, Acc> = BTreeMap::new();
    for p in points {
        let t = p.timestamp.0;
        if t < start.0 || t >= end.0 {
            continue;
        }
        let window = t - t.rem_euclid(step);
        windows
            .entry(window)
            .or_insert(Acc::EMPTY)
            .add(p.value.scalar());
    }
    windows
        .into_iter()
        .map(|(w, acc)| (Timestamp(w), acc.result(agg)))
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use heimsight_core::{HistogramValue, MetricValue, SummaryValue};

    const S: i64 = 1_000_000_000;

    fn pts(values: &[(i64, f64)]) -> Vec<Point> {
        values
            .iter()
            .map(|&(t, v)| Point::new(Timestamp(t), MetricValue::Number(v)))
            .collect()
    }

    fn run(points: &[Point], step: i64, agg: Agg) -> Vec<(i64, f64)> {
        aggregate(points, Timestamp(i64::MIN), Timestamp(i64::MAX), step, agg)
            .into_iter()
            .map(|(t, v)| (t.0, v))
            .collect()
    }

    #[test]
    fn every_aggregation() {
        let p = pts(&[(0, 4.0), (10 * S, 2.0), (59 * S, 6.0), (60 * S, 1.0)]);
        let step = 60 * S;
        assert_eq!(run(&p, step, Agg::Avg), [(0, 4.0), (60 * S, 1.0)]);
        assert_eq!(run(&p, step, Agg::Sum), [(0, 12.0), (60 * S, 1.0)]);
        assert_eq!(run(&p, step, Agg::Min), [(0, 2.0), (60 * S, 1.0)]);
        assert_eq!(run(&p, step, Agg::Max), [(0, 6.0), (60 * S, 1.0)]);
        assert_eq!(run(&p, step, Agg::Count), [(0, 3.0), (60 * S, 1.0)]);
    }

    #[test]
    fn windows_are_aligned_to_the_step_and_empty_ones_omitted() {
        // 2026-01-01T00:00:30Z and a point 5 minutes later.
        let t0 = 1_767_225_630 * S;
        let p = pts(&[(t0, 1.0), (t0 + 300 * S, 2.0)]);
        let got = aggregate(&p, Timestamp(t0), Timestamp(t0 + 600 * S), 60 * S, Agg::Sum);
        assert_eq!(
            got,
            [
                (Timestamp(t0 - 30 * S), 1.0),
                (Timestamp(t0 + 270 * S), 2.0)
            ]
        );
    }

    #[test]
    fn range_is_half_open_and_order_does_not_matter() {
        let p = pts(&[(100, 1.0), (50, 5.0), (10, 9.0), (200, 3.0)]);
        let got = aggregate(&p, Timestamp(10), Timestamp(200), 100, Agg::Sum);
        assert_eq!(got, [(Timestamp(0), 14.0), (Timestamp(100), 1.0)]);
    }

    #[test]
    fn negative_timestamps_align_downwards() {
        let p = pts(&[(-1, 1.0), (-100, 2.0), (0, 3.0)]);
        assert_eq!(run(&p, 100, Agg::Count), [(-100, 2.0), (0, 1.0)]);
    }

    #[test]
    fn nan_is_skipped_but_counted() {
        let p = pts(&[(0, f64::NAN), (1, 2.0)]);
        assert_eq!(run(&p, 10, Agg::Avg), [(0, 2.0)]);
        assert_eq!(run(&p, 10, Agg::Count), [(0, 2.0)]);
        let only_nan = run(&pts(&[(0, f64::NAN)]), 10, Agg::Max);
        assert!(only_nan[0].1.is_nan());
    }

    #[test]
    fn histograms_and_summaries_contribute_their_sum() {
        let p = vec![
            Point::new(
                Timestamp(0),
                MetricValue::Histogram(HistogramValue {
                    bounds: vec![1.0],
                    counts: vec![1, 1],
                    sum: Some(5.0),
                    count: 2,
                    min: None,
                    max: None,
                }),
            ),
            Point::new(
                Timestamp(1),
                MetricValue::Summary(SummaryValue {
                    count: 3,
                    sum: 7.0,
                    quantiles: vec![],
                }),
            ),
        ];
        assert_eq!(run(&p, 10, Agg::Sum), [(0, 12.0)]);
    }

    #[test]
    fn non_positive_step_groups_equal_timestamps() {
        let p = pts(&[(5, 1.0), (5, 2.0), (6, 4.0)]);
        assert_eq!(run(&p, 0, Agg::Sum), [(5, 3.0), (6, 4.0)]);
        assert_eq!(run(&p, -7, Agg::Sum), [(5, 3.0), (6, 4.0)]);
    }

    #[test]
    fn parses_names() {
        assert_eq!("AVG".parse::<Agg>().unwrap(), Agg::Avg);
        assert_eq!(" count ".parse::<Agg>().unwrap(), Agg::Count);
        for a in Agg::ALL {
            assert_eq!(a.as_str().parse::<Agg>().unwrap(), a);
        }
        let e = "median".parse::<Agg>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown aggregation \"median\"; expected one of avg, sum, min, max, count"
        );
    }
}
