//! Counts of records ingested since the server started, per signal, and the rate over the
//! last minute, for `GET /api/v1/status`.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use heimsight_core::Timestamp;
use heimsight_core::api::{IngestRate, PerSignal};
use heimsight_store::Signal;

/// Seconds over which `per_second` is averaged.
const WINDOW_SECS: u64 = 60;

/// Ingest counters shared by every ingestion endpoint (REST and OTLP).
#[derive(Debug, Clone)]
pub(crate) struct IngestStats {
    started: Instant,
    started_at: Timestamp,
    counters: Arc<Mutex<[Counter; 3]>>,
}

#[derive(Debug, Default)]
struct Counter {
    total: u64,
    /// (second since start, records) for the last minute.
    recent: VecDeque<(u64, u64)>,
}

fn index(signal: Signal) -> usize {
    match signal {
        Signal::Logs => 0,
        Signal::Spans => 1,
        Signal::Metrics => 2,
    }
}

impl IngestStats {
    /// Counters starting now.
    pub(crate) fn new() -> Self {
        IngestStats {
            started: Instant::now(),
            started_at: Timestamp::now(),
            counters: Arc::default(),
        }
    }

    /// Records that `n` records of `signal` were stored.
    pub(crate) fn add(&self, signal: Signal, n: usize) {
        if n == 0 {
            return;
        }
        let sec = self.started.elapsed().as_secs();
        let mut g = self.counters.lock().unwrap_or_else(PoisonError::into_inner);
        let c = &mut g[index(signal)];
        c.total += n as u64;
        match c.recent.back_mut() {
            Some((s, count)) if *s == sec => *count += n as u64,
            _ => c.recent.push_back((sec, n as u64)),
        }
        while c
            .recent
            .front()
            .is_some_and(|(s, _)| *s + WINDOW_SECS < sec)
        {
            c.recent.pop_front();
        }
    }

    /// The start time, the uptime in seconds and the records per signal since the start:
    /// `per_second` is the mean over the last minute (over the uptime in the first minute).
    pub(crate) fn snapshot(&self) -> (Timestamp, u64, PerSignal<IngestRate>) {
        let elapsed = self.started.elapsed();
        let now = elapsed.as_secs();
        let span = elapsed.as_secs_f64().clamp(1.0, WINDOW_SECS as f64);
        let g = self.counters.lock().unwrap_or_else(PoisonError::into_inner);
        let rate = |s: Signal| {
            let c = &g[index(s)];
            let recent: u64 = c
                .recent
                .iter()
                .filter(|(sec, _)| sec + WINDOW_SECS > now)
                .map(|(_, n)| n)
                .sum();
            IngestRate {
                total: c.total,
                per_second: recent as f64 / span,
            }
        };
        let ingest = PerSignal {
            logs: rate(Signal::Logs),
            spans: rate(Signal::Spans),
            metrics: rate(Signal::Metrics),
        };
        (self.started_at, elapsed.as_secs(), ingest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_signal_and_rates_over_the_last_minute() {
        let s = IngestStats::new();
        s.add(Signal::Logs, 30);
        s.add(Signal::Logs, 10);
        s.add(Signal::Metrics, 5);
        s.add(Signal::Spans, 0);
        let (_, uptime, ingest) = s.snapshot();
        assert_eq!(ingest.logs.total, 40);
        assert_eq!(ingest.metrics.total, 5);
        assert_eq!(ingest.spans.total, 0);
        // In the first second the rate is over one second.
        assert_eq!(ingest.logs.per_second, 40.0);
        assert_eq!(uptime, 0);
    }
}
