//! Precision, recall and false positives of the anomaly detectors on synthetic series with
//! injected spikes and dips of 6–12 standard deviations (1% of the points).
//!
//! `cargo run --release --example anomaly_eval [-- --points N --seeds K]`

// A report printed for people.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use heimsight_alert::anomaly::{Score, score, synthetic};
use heimsight_alert::rule::{AnomalyMethod, AnomalySettings};

fn main() {
    let mut points = 20_000usize;
    let mut seeds = 10u64;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--points" => points = args.next().and_then(|v| v.parse().ok()).unwrap_or(points),
            "--seeds" => seeds = args.next().and_then(|v| v.parse().ok()).unwrap_or(seeds),
            other => {
                eprintln!("unknown argument {other:?}; use --points N --seeds K");
                std::process::exit(2);
            }
        }
    }
    let zscore = AnomalySettings::default();
    let ewma = AnomalySettings {
        method: AnomalyMethod::Ewma,
        alpha: 0.05,
        ..AnomalySettings::default()
    };
    println!(
        "{:<8} {:<9} {:>9} {:>7} {:>8} {:>6} {:>6} {:>9} {:>7}",
        "method", "series", "points", "tp", "fp", "fn", "", "precision", "recall"
    );
    for (name, s) in [("zscore", zscore), ("ewma", ewma)] {
        for seasonal in [false, true] {
            let mut t = Score::default();
            for seed in 0..seeds {
                let sc = score(&synthetic(seed, points, seasonal), &s);
                t.true_positives += sc.true_positives;
                t.false_positives += sc.false_positives;
                t.false_negatives += sc.false_negatives;
                t.normal_points += sc.normal_points;
            }
            println!(
                "{name:<8} {:<9} {:>9} {:>7} {:>8} {:>6} {:>6} {:>9.4} {:>7.4}   fp/1000 normal: {:.3}",
                if seasonal { "seasonal" } else { "flat" },
                points as u64 * seeds,
                t.true_positives,
                t.false_positives,
                t.false_negatives,
                "",
                t.precision(),
                t.recall(),
                t.false_positives_per_1000(),
            );
        }
    }
}
