//! Anomaly detection per series: a baseline of the series' own history (z-score over a
//! sliding window, or an exponentially weighted mean and variance) and a sensitivity in
//! standard deviations.
//!
//! A value far from the baseline is reported and enters the baseline clipped to the edge of
//! the normal band (winsorized), so one spike neither hides the next one (by inflating the
//! variance) nor is ignored forever: a lasting level shift is learned step by step.

use std::collections::VecDeque;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::rule::{AnomalyMethod, AnomalySettings, Direction};

/// The baseline of one series, persisted between evaluations.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// Values seen (all of them, for `min_history`).
    pub seen: u64,
    /// Z-score: the window of recent (winsorized) values.
    #[serde(default)]
    pub window: VecDeque<f64>,
    /// EWMA: the moving mean.
    #[serde(default)]
    pub mean: f64,
    /// EWMA: the moving variance.
    #[serde(default)]
    pub var: f64,
}

/// The verdict on one value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Verdict {
    /// Whether the value is anomalous (always false until `min_history` values were seen).
    pub anomalous: bool,
    /// Deviations from the baseline (signed), when there was a baseline.
    pub score: Option<f64>,
    /// The baseline's expected value, when there was one.
    pub expected: Option<f64>,
}

/// A standard deviation never below this share of the mean's magnitude (plus a tiny
/// absolute floor), so that a perfectly flat series does not call every wiggle an anomaly.
const MIN_REL_STD: f64 = 0.01;
const MIN_ABS_STD: f64 = 1e-9;

impl Baseline {
    fn stats(&self, s: &AnomalySettings) -> Option<(f64, f64)> {
        match s.method {
            AnomalyMethod::ZScore => {
                let n = self.window.len();
                if n < 2 {
                    return None;
                }
                let mean = self.window.iter().sum::<f64>() / n as f64;
                let var =
                    self.window.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n as f64 - 1.0);
                Some((mean, var.sqrt()))
            }
            AnomalyMethod::Ewma => (self.seen >= 2).then(|| (self.mean, self.var.sqrt())),
        }
    }

    /// Judges `x` against the baseline, then adds it.
    pub fn observe(&mut self, x: f64, s: &AnomalySettings) -> Verdict {
        if !x.is_finite() {
            return Verdict {
                anomalous: false,
                score: None,
                expected: None,
            };
        }
        let mut verdict = Verdict {
            anomalous: false,
            score: None,
            expected: None,
        };
        let mut added = x;
        if let Some((mean, std)) = self.stats(s) {
            let std = std.max(mean.abs() * MIN_REL_STD).max(MIN_ABS_STD);
            let z = (x - mean) / std;
            verdict.score = Some(z);
            verdict.expected = Some(mean);
            let out = match s.direction {
                Direction::Above => z > s.sensitivity,
                Direction::Below => z < -s.sensitivity,
                Direction::Both => z.abs() > s.sensitivity,
            };
            verdict.anomalous = out && self.seen >= u64::from(s.min_history);
            if z.abs() > s.sensitivity {
                added = mean + s.sensitivity * std * z.signum();
            }
        }
        self.seen += 1;
        match s.method {
            AnomalyMethod::ZScore => {
                self.window.push_back(added);
                while self.window.len() > s.history as usize {
                    self.window.pop_front();
                }
            }
            AnomalyMethod::Ewma => {
                if self.seen == 1 {
                    self.mean = added;
                    self.var = 0.0;
                } else {
                    let d = added - self.mean;
                    self.mean += s.alpha * d;
                    self.var = (1.0 - s.alpha) * (self.var + s.alpha * d * d);
                }
            }
        }
        verdict
    }
}

/// Precision, recall and false positives of a detector on a labelled series (for tests and
/// the benchmark that reports them).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Score {
    /// Injected anomalies reported.
    pub true_positives: u64,
    /// Normal points reported.
    pub false_positives: u64,
    /// Injected anomalies missed.
    pub false_negatives: u64,
    /// Normal points (after the warm-up).
    pub normal_points: u64,
}

impl Score {
    /// Reported anomalies that were real.
    pub fn precision(&self) -> f64 {
        let reported = self.true_positives + self.false_positives;
        if reported == 0 {
            1.0
        } else {
            self.true_positives as f64 / reported as f64
        }
    }

    /// Real anomalies reported.
    pub fn recall(&self) -> f64 {
        let real = self.true_positives + self.false_negatives;
        if real == 0 {
            1.0
        } else {
            self.true_positives as f64 / real as f64
        }
    }

    /// False positives per 1,000 normal points.
    pub fn false_positives_per_1000(&self) -> f64 {
        if self.normal_points == 0 {
            0.0
        } else {
            self.false_positives as f64 * 1000.0 / self.normal_points as f64
        }
    }
}

/// Runs a fresh baseline over `(value, is_anomaly)` points and scores it; points before
/// `min_history` are warm-up and not scored.
pub fn score(points: &[(f64, bool)], s: &AnomalySettings) -> Score {
    let mut b = Baseline::default();
    let mut out = Score::default();
    for (i, &(x, real)) in points.iter().enumerate() {
        let v = b.observe(x, s);
        if (i as u64) < u64::from(s.min_history) {
            continue;
        }
        match (v.anomalous, real) {
            (true, true) => out.true_positives += 1,
            (true, false) => out.false_positives += 1,
            (false, true) => out.false_negatives += 1,
            (false, false) => {}
        }
        if !real {
            out.normal_points += 1;
        }
    }
    out
}

/// A standard normal sample (Box–Muller).
fn normal(rng: &mut SmallRng) -> f64 {
    let u1: f64 = rng.random::<f64>().max(1e-12);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// A labelled synthetic series for evaluating detectors (tests and the
/// `anomaly_eval` example): level + slow daily-like seasonality + noise, with spikes and dips of
/// 6–12 standard deviations injected at 1% of the points.
pub fn synthetic(seed: u64, n: usize, seasonal: bool) -> Vec<(f64, bool)> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let sigma = 5.0;
    (0..n)
        .map(|i| {
            let season = if seasonal {
                20.0 * (i as f64 * 2.0 * std::f64::consts::PI / 1440.0).sin()
            } else {
                0.0
            };
            let base = 100.0 + season + sigma * normal(&mut rng);
            if i > 100 && rng.random::<f64>() < 0.01 {
                let k = rng.random_range(6.0..12.0) * if rng.random() { 1.0 } else { -1.0 };
                (base + k * sigma, true)
            } else {
                (base, false)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zscore_meets_the_targets_on_synthetic_series() {
        let s = AnomalySettings::default();
        let mut total = Score::default();
        for seed in 0..5 {
            let sc = score(&synthetic(seed, 20_000, true), &s);
            total.true_positives += sc.true_positives;
            total.false_positives += sc.false_positives;
            total.false_negatives += sc.false_negatives;
            total.normal_points += sc.normal_points;
        }
        assert!(total.recall() >= 0.9, "{total:?} recall {}", total.recall());
        assert!(
            total.false_positives_per_1000() <= 1.0,
            "{total:?} fp/1000 {}",
            total.false_positives_per_1000()
        );
    }

    #[test]
    fn ewma_meets_the_targets_on_a_flat_series() {
        let s = AnomalySettings {
            method: AnomalyMethod::Ewma,
            alpha: 0.05,
            ..AnomalySettings::default()
        };
        let sc = score(&synthetic(7, 50_000, false), &s);
        assert!(sc.recall() >= 0.9, "{sc:?}");
        assert!(sc.false_positives_per_1000() <= 1.0, "{sc:?}");
    }

    #[test]
    fn nothing_is_reported_before_min_history_and_a_level_shift_is_learned() {
        let s = AnomalySettings {
            min_history: 10,
            ..AnomalySettings::default()
        };
        let mut b = Baseline::default();
        for i in 0..10 {
            let v = b.observe(
                if i == 5 {
                    1000.0
                } else {
                    10.0 + f64::from(i % 3)
                },
                &s,
            );
            assert!(!v.anomalous, "value {i} reported during warm-up");
        }
        for i in 0..50 {
            b.observe(10.0 + f64::from(i % 3), &s);
        }
        assert!(b.observe(100.0, &s).anomalous);
        // The new level becomes normal after a while.
        let mut last = true;
        for _ in 0..200 {
            last = b.observe(100.0, &s).anomalous;
        }
        assert!(!last, "a lasting level shift is eventually learned");
        let below = AnomalySettings {
            direction: Direction::Above,
            ..s
        };
        assert!(!b.clone().observe(0.0, &below).anomalous);
    }
}
