//! The planner's property test (feature `testkit`): random queries about records of a data
//! set give the same rows through the engine — with filters pushed down into the store — as
//! through the executor alone over every record. Load any realistic data set with [`load`]
//! (this repository's tests use its unpublished generator), then [`check`] a store:
//!
//! ```
//! use heimsight_core::{Level, LogRecord, Span, SpanId, Timestamp, TraceId};
//! use heimsight_query::testkit::pushdown;
//!
//! const SEC: i64 = 1_000_000_000;
//! let logs: Vec<LogRecord> = (0..60)
//!     .map(|i| LogRecord {
//!         service: ["api", "db"][i as usize % 2].into(),
//!         ..LogRecord::new(Timestamp(i * SEC), Level::Info, format!("request {i} served"))
//!     })
//!     .collect();
//! let spans: Vec<Span> = (0..20u8)
//!     .map(|i| {
//!         let start = Timestamp(i64::from(i) * SEC);
//!         Span::new(TraceId([i + 1; 16]), SpanId([i + 1; 8]), "GET /", "api", start, Timestamp(start.0 + SEC))
//!     })
//!     .collect();
//! let store = heimsight_store::MemoryStore::new();
//! pushdown::load(&store, &logs, &spans);
//! pushdown::check(&store, &logs, &spans, 40);
//! ```

use heimsight_core::{LogRecord, Span, Timestamp};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::engine::{Queryable, Request, run};
use crate::{ExecContext, execute, parse_and_check};

/// Appends `logs` (in batches of varied sizes) and `spans` to `store`.
pub fn load<S: Queryable + ?Sized>(store: &S, logs: &[LogRecord], spans: &[Span]) {
    for chunk in logs.chunks(700) {
        store.append_logs(chunk.to_vec()).expect("logs");
    }
    store.append_spans(spans.to_vec()).expect("spans");
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A random `WHERE` term about `rec`, mixing terms the store understands and others.
fn log_term(rng: &mut SmallRng, rec: &LogRecord) -> String {
    let word = rec
        .body
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() > 3)
        .nth(rng.random_range(0..3))
        .unwrap_or("error")
        .to_string();
    match rng.random_range(0..12) {
        0 => format!("service = {}", quote(&rec.service)),
        1 => format!("service IN ({}, 'auth')", quote(&rec.service)),
        2 => format!("level = {}", quote(rec.level().as_str())),
        3 => "level IN ('error', 'warn')".to_string(),
        4 => format!("MATCH({})", quote(&word)),
        5 => format!("message CONTAINS {}", quote(&word.to_uppercase())),
        6 => match rec.attributes.iter().nth(rng.random_range(0..4)) {
            Some((k, v)) => format!("attributes[{}] = {}", quote(k), quote(&v.to_text())),
            None => "attributes.missing IS NULL".to_string(),
        },
        7 => format!(
            "timestamp >= {}",
            quote(&Timestamp(rec.timestamp.0 - 1_800_000_000_000).to_rfc3339())
        ),
        8 => format!(
            "timestamp < {}",
            quote(&Timestamp(rec.timestamp.0 + 1_800_000_000_000).to_rfc3339())
        ),
        9 => match rec.trace_id {
            Some(t) => format!("trace_id = {}", quote(&t.to_hex())),
            None => "trace_id IS NULL".to_string(),
        },
        10 => format!("message LIKE {}", quote(&format!("%{word}%"))),
        _ => format!("NOT (service = {})", quote(&rec.service)),
    }
}

fn span_term(rng: &mut SmallRng, s: &Span) -> String {
    match rng.random_range(0..6) {
        0 => format!("service = {}", quote(&s.service)),
        1 => format!("name IN ({}, 'x')", quote(&s.name)),
        2 => format!("trace_id = {}", quote(&s.trace_id.to_hex())),
        3 => format!("duration > {}ms", rng.random_range(0..50)),
        4 => format!(
            "timestamp BETWEEN {} AND {}",
            quote(&Timestamp(s.start_time.0 - 3_600_000_000_000).to_rfc3339()),
            quote(&Timestamp(s.start_time.0 + 3_600_000_000_000).to_rfc3339())
        ),
        _ => "status != 'error'".to_string(),
    }
}

fn conditions(rng: &mut SmallRng, mut term: impl FnMut(&mut SmallRng) -> String) -> String {
    let n = rng.random_range(1..4);
    let mut parts = Vec::new();
    for _ in 0..n {
        if rng.random_bool(0.15) {
            parts.push(format!("({} OR {})", term(rng), term(rng)));
        } else {
            parts.push(term(rng));
        }
    }
    parts.join(" AND ")
}

fn compare<R: crate::Record>(
    store: &(impl Queryable + ?Sized),
    query: &str,
    all: impl Iterator<Item = R>,
) -> usize {
    let now = Timestamp::now();
    let req = Request::new(query).with_now(now);
    let got = run(store, &req)
        .unwrap_or_else(|e| panic!("{query}: {e}"))
        .result;
    let checked = parse_and_check(query).expect("valid");
    let mut ctx = ExecContext::new(now, Timestamp(0), now);
    ctx.max_rows = req.limits.max_rows;
    let want = execute(&checked, all, &ctx).expect("executes");
    assert_eq!(got.columns, want.columns, "{query}");
    assert_eq!(
        got.rows.len(),
        want.rows.len(),
        "row count of {query}\n got: {:?}\nwant: {:?}",
        got.rows.iter().take(3).collect::<Vec<_>>(),
        want.rows.iter().take(3).collect::<Vec<_>>()
    );
    assert_eq!(got.rows, want.rows, "rows of {query}");
    got.rows.len()
}

/// Runs `rounds` random log and span queries through both paths.
pub fn check<S: Queryable + ?Sized>(store: &S, logs: &[LogRecord], spans: &[Span], rounds: usize) {
    let mut rng = SmallRng::seed_from_u64(3);
    let mut nonempty = 0;
    for round in 0..rounds {
        let rec = &logs[rng.random_range(0..logs.len())];
        let cond = conditions(&mut rng, |r| log_term(r, rec));
        let query = match round % 4 {
            0 => format!(
                "SELECT timestamp, service, level, message, trace_id FROM logs WHERE {cond} \
                 ORDER BY timestamp DESC LIMIT {}",
                rng.random_range(1..60)
            ),
            1 => format!(
                "SELECT timestamp, message, attributes FROM logs WHERE {cond} ORDER BY timestamp \
                 LIMIT {} OFFSET {}",
                rng.random_range(1..40),
                rng.random_range(0..20)
            ),
            2 => format!(
                "SELECT service, level, count(*) AS n FROM logs WHERE {cond} \
                 GROUP BY service, level ORDER BY service, level"
            ),
            _ => {
                let s = &spans[rng.random_range(0..spans.len())];
                let cond = conditions(&mut rng, |r| span_term(r, s));
                let q = format!(
                    "SELECT name, count(*) AS n, max(duration) FROM spans WHERE {cond} \
                     GROUP BY name ORDER BY name"
                );
                if compare(store, &q, spans.iter()) > 0 {
                    nonempty += 1;
                }
                continue;
            }
        };
        if compare(store, &query, logs.iter()) > 0 {
            nonempty += 1;
        }
    }
    // The queries are about existing records, so most must find something.
    assert!(
        nonempty * 2 > rounds,
        "only {nonempty} of {rounds} queries found rows"
    );
}
