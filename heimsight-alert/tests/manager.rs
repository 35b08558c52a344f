//! The alert manager over a memory store with a recording notifier: lifecycle, grouping,
//! silences, restarts, every rule kind, failing rules, and delivery retries and give-ups.
#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use heimsight_alert::{
    AlertManager, DeliveryError, DeliveryFuture, ManagerConfig, Notifier, RuleKind, Transition,
};
use heimsight_core::api::{
    Alert, AlertState as State, HistoryEntry, Matcher, RuleSpec, RuleState, SilenceSpec,
};
use heimsight_core::{
    AlertStatus, Level, LogRecord, MatchOp, MetricPoint, Notification, Span, SpanId, StatusCode,
    Timestamp, TraceId,
};
use heimsight_store::{LogStore, MemoryStore, MetricStore, SpanStore, Store};
use serde_json::{Value, json};

const S: i64 = 1_000_000_000;
/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600 * S;

/// How the recording notifier answers.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Accept,
    /// Retryable failures (a 500).
    Fail,
    /// Never answers.
    Hang,
}

struct Recorder {
    sent: Mutex<Vec<(String, Notification)>>,
    attempts: AtomicUsize,
    mode: Mutex<Mode>,
}

impl Recorder {
    fn new() -> Arc<Recorder> {
        Arc::new(Recorder {
            sent: Mutex::new(Vec::new()),
            attempts: AtomicUsize::new(0),
            mode: Mutex::new(Mode::Accept),
        })
    }

    fn sent(&self) -> Vec<(String, Notification)> {
        self.sent.lock().unwrap().clone()
    }
}

impl Notifier for Recorder {
    fn channel_exists(&self, id: &str) -> bool {
        id.starts_with("ch-")
    }

    fn deliver<'a>(&'a self, channel_id: &'a str, n: &'a Notification) -> DeliveryFuture<'a> {
        Box::pin(async move {
            self.attempts.fetch_add(1, Ordering::SeqCst);
            let mode = *self.mode.lock().unwrap();
            match mode {
                Mode::Accept => {
                    self.sent
                        .lock()
                        .unwrap()
                        .push((channel_id.to_string(), n.clone()));
                    Ok("200".to_string())
                }
                Mode::Fail => Err(DeliveryError {
                    retryable: true,
                    message: "receiver answered 500".into(),
                }),
                Mode::Hang => {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    Ok("late".into())
                }
            }
        })
    }
}

fn config() -> ManagerConfig {
    ManagerConfig::default()
        .with_max_attempts(3)
        .with_retry_base(Duration::from_millis(10))
        .with_retry_max(Duration::from_millis(20))
        .with_delivery_timeout(Duration::from_millis(300))
}

fn open(store: &Arc<MemoryStore>, rec: &Arc<Recorder>) -> Arc<AlertManager> {
    AlertManager::open(
        Arc::clone(store) as Arc<dyn Store>,
        Arc::clone(rec) as Arc<dyn Notifier>,
        config(),
    )
    .unwrap()
}

fn gauge(name: &str, host: &str, at: i64, v: f64) -> MetricPoint {
    let mut labels = BTreeMap::new();
    labels.insert("host".to_string(), host.to_string());
    MetricPoint::gauge(name, labels, Timestamp(at), v)
}

/// A rule's JSON read for its shape (the manager checks the rest).
fn spec(v: Value) -> RuleSpec {
    RuleSpec::from_json(&v).unwrap()
}

fn cpu_rule(extra: Value) -> Value {
    let mut v = json!({
        "name": "High CPU", "kind": "threshold",
        "query": "SELECT labels.host AS host, avg(value) FROM metrics WHERE name = 'cpu' GROUP BY host",
        "condition": {"op": ">", "threshold": 0.9},
        "window": "1m", "interval": "10s", "for": "20s",
        "annotations": {"summary": "{{ $labels.host }} at {{ $value }}"},
        "channels": ["ch-ops"],
    });
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    v
}

/// A manager with the CPU rule (`for` 0) and one high CPU point at `T0`, evaluated once at
/// `T0 + 1s` (so firing, with its notification queued), the notifier answering as `mode`.
fn firing(
    mode: Mode,
) -> (
    Arc<MemoryStore>,
    Arc<Recorder>,
    Arc<AlertManager>,
    heimsight_alert::Rule,
) {
    let store = Arc::new(MemoryStore::new());
    let rec = Recorder::new();
    *rec.mode.lock().unwrap() = mode;
    let m = open(&store, &rec);
    let rule = m
        .create_rule(&spec(cpu_rule(json!({"for": "0s"}))))
        .unwrap();
    store
        .append_points(vec![gauge("cpu", "web-1", T0, 0.95)])
        .unwrap();
    assert_eq!(m.evaluate_rule(&rule, Timestamp(T0 + S)).unwrap().len(), 1);
    (store, rec, m, rule)
}

/// Runs deliveries until the outbox is empty or `secs` passed.
async fn drain(m: &Arc<AlertManager>, secs: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while tokio::time::Instant::now() < deadline {
        m.deliver_due(Timestamp::now()).unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        if m.outbox().unwrap().is_empty() {
            // Let in-flight tasks record their result.
            tokio::time::sleep(Duration::from_millis(50)).await;
            if m.outbox().unwrap().is_empty() {
                return;
            }
        }
    }
}

#[tokio::test]
async fn fires_after_for_groups_and_resolves_once() {
    let store = Arc::new(MemoryStore::new());
    let rec = Recorder::new();
    let m = open(&store, &rec);
    let rule = m.create_rule(&spec(cpu_rule(json!({})))).unwrap();
    store
        .append_points(vec![
            gauge("cpu", "web-1", T0, 0.95),
            gauge("cpu", "web-2", T0, 0.97),
            gauge("cpu", "db-1", T0, 0.2),
        ])
        .unwrap();
    assert!(
        m.evaluate_rule(&rule, Timestamp(T0 + S))
            .unwrap()
            .is_empty()
    );
    let alerts = m.alerts(false);
    assert_eq!(alerts.len(), 2);
    assert!(alerts.iter().all(|a| a.state == State::Pending));
    // 20 s later: both fire, in one notification.
    store
        .append_points(vec![
            gauge("cpu", "web-1", T0 + 21 * S, 0.95),
            gauge("cpu", "web-2", T0 + 21 * S, 0.97),
        ])
        .unwrap();
    let t = m.evaluate_rule(&rule, Timestamp(T0 + 21 * S)).unwrap();
    assert_eq!(t.len(), 2);
    assert!(t.iter().all(|(_, t)| *t == Transition::Fired));
    // Still firing: nothing new.
    assert!(
        m.evaluate_rule(&rule, Timestamp(T0 + 31 * S))
            .unwrap()
            .is_empty()
    );
    drain(&m, 5).await;
    let sent = rec.sent();
    assert_eq!(sent.len(), 1, "one notification for the group");
    let n = &sent[0].1;
    assert_eq!(n.status, AlertStatus::Firing);
    assert_eq!(n.alerts.len(), 2);
    assert_eq!(n.title(), "[FIRING:2] High CPU");
    let hosts: Vec<&str> = n.alerts.iter().map(|a| a.labels["host"].as_str()).collect();
    assert_eq!(hosts.len(), 2);
    assert!(
        n.alerts
            .iter()
            .any(|a| a.annotations["summary"] == "web-2 at 0.97")
    );
    // The window slides past the high values: resolved, once.
    let t = m.evaluate_rule(&rule, Timestamp(T0 + 90 * S)).unwrap();
    assert_eq!(t.len(), 2);
    assert!(
        m.evaluate_rule(&rule, Timestamp(T0 + 100 * S))
            .unwrap()
            .is_empty()
    );
    drain(&m, 5).await;
    let sent = rec.sent();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1].1.status, AlertStatus::Resolved);
    assert!(sent[1].1.alerts.iter().all(|a| a.ends_at.is_some()));
    let h = m.history(Some(&rule.id), 100).unwrap();
    let states: Vec<(&str, &str)> = h
        .iter()
        .filter_map(|e| match e {
            HistoryEntry::State(c) => Some((c.from.as_str(), c.to.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(
        states,
        [
            ("firing", "resolved"),
            ("firing", "resolved"),
            ("pending", "firing"),
            ("pending", "firing")
        ]
    );
}

#[tokio::test]
async fn a_restart_neither_refires_nor_forgets() {
    let (store, rec, m, rule) = firing(Mode::Accept);
    // The notification is queued; "crash" before it is delivered.
    assert_eq!(m.outbox().unwrap().len(), 1);
    drop(m);
    let m = open(&store, &rec);
    assert_eq!(m.alerts(false)[0].state, State::Firing, "state survives");
    assert!(
        m.evaluate_rule(&rule, Timestamp(T0 + 2 * S))
            .unwrap()
            .is_empty(),
        "no second transition after the restart"
    );
    drain(&m, 5).await;
    assert_eq!(rec.sent().len(), 1, "the queued notification went out once");
}

#[tokio::test]
async fn silenced_alerts_change_state_but_send_nothing() {
    let store = Arc::new(MemoryStore::new());
    let rec = Recorder::new();
    let m = open(&store, &rec);
    let rule = m
        .create_rule(&spec(cpu_rule(json!({"for": "0s"}))))
        .unwrap();
    m.create_silence(&SilenceSpec {
        matchers: vec![Matcher {
            name: "host".into(),
            value: "web-1".into(),
            op: MatchOp::Equal,
        }],
        starts_at: Some(Timestamp(0)),
        ends_at: Some(Timestamp(i64::MAX)),
        ..SilenceSpec::default()
    })
    .unwrap();
    store
        .append_points(vec![
            gauge("cpu", "web-1", T0, 0.95),
            gauge("cpu", "web-2", T0, 0.95),
        ])
        .unwrap();
    m.evaluate_rule(&rule, Timestamp(T0 + S)).unwrap();
    let alerts = m.alerts(false);
    assert_eq!(alerts.len(), 2);
    let silenced: Vec<bool> = alerts.iter().map(|a| a.silenced).collect();
    assert!(silenced.contains(&true) && silenced.contains(&false));
    drain(&m, 5).await;
    let sent = rec.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].1.alerts.len(), 1);
    assert_eq!(sent[0].1.alerts[0].labels["host"], "web-2");
    let h = m.history(None, 100).unwrap();
    assert!(
        h.iter()
            .any(|e| matches!(e, HistoryEntry::State(c) if c.silenced_by.is_some()))
    );
}

#[tokio::test]
async fn a_failing_rule_does_not_stop_the_others() {
    let store = Arc::new(MemoryStore::new());
    let rec = Recorder::new();
    let m = open(&store, &rec);
    // Valid, but fails when it runs: division by zero.
    let bad = m
        .create_rule(&spec(json!({"name": "broken", "kind": "threshold",
            "query": "SELECT count(*) / (count(*) - count(*)) AS value FROM logs", "condition": {"threshold": 1},
            "interval": "1s"})))
        .unwrap();
    m.create_rule(&spec(cpu_rule(json!({"for": "0s", "interval": "1s"}))))
        .unwrap();
    let now = Timestamp::now();
    store
        .append_points(vec![gauge("cpu", "web-1", now.0 - S, 0.99)])
        .unwrap();
    assert_eq!(m.evaluate_due(now), 2);
    let rule = m.rule_view(&m.rule(&bad.id).unwrap());
    assert!(
        rule.last_error.as_deref().unwrap().contains("zero"),
        "{rule:?}"
    );
    assert_eq!(m.alerts(false)[0].rule_name, "High CPU");
    assert_eq!(m.alerts(false)[0].state, State::Firing);
}

#[tokio::test]
async fn deliveries_retry_then_give_up_and_a_hanging_receiver_times_out() {
    let (store, rec, m, rule) = firing(Mode::Fail);
    drain(&m, 5).await;
    assert_eq!(rec.attempts.load(Ordering::SeqCst), 3, "max_attempts");
    assert!(m.outbox().unwrap().is_empty(), "given up after 3 attempts");
    let h = m.history(None, 100).unwrap();
    let failed = h
        .iter()
        .find_map(|e| match e {
            HistoryEntry::DeliveryFailed(d) => Some(d),
            _ => None,
        })
        .unwrap();
    assert_eq!(failed.attempts, 3);
    assert!(failed.message.contains("500"));

    // A receiver that never answers is cut off by the delivery timeout and retried.
    *rec.mode.lock().unwrap() = Mode::Hang;
    store
        .append_points(vec![gauge("cpu", "web-1", T0 + 100 * S, 0.1)])
        .unwrap();
    m.evaluate_rule(&rule, Timestamp(T0 + 100 * S)).unwrap();
    m.deliver_due(Timestamp::now()).unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let queued = m.outbox().unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].attempts, 1);
    assert!(
        queued[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("no answer")
    );
    *rec.mode.lock().unwrap() = Mode::Accept;
    drain(&m, 5).await;
    assert_eq!(rec.sent().len(), 1);
    assert_eq!(rec.sent()[0].1.status, AlertStatus::Resolved);
}

#[tokio::test]
async fn deleting_a_firing_rule_resolves_its_alerts() {
    let (_store, rec, m, rule) = firing(Mode::Accept);
    m.delete_rule(&rule.id).unwrap();
    assert!(m.alerts(true).is_empty());
    drain(&m, 5).await;
    let statuses: Vec<AlertStatus> = rec.sent().iter().map(|(_, n)| n.status).collect();
    assert_eq!(statuses, [AlertStatus::Firing, AlertStatus::Resolved]);
}

#[tokio::test]
async fn log_trace_absence_and_anomaly_rules() {
    let store = Arc::new(MemoryStore::new());
    let rec = Recorder::new();
    let m = open(&store, &rec);

    // Log pattern: more than 2 "refused" per service in 5 minutes.
    let logs = m
        .create_rule(&spec(
            json!({"name": "refused", "kind": "log_pattern", "pattern": "refused",
            "group_by": ["service"], "condition": {"threshold": 2}}),
        ))
        .unwrap();
    let mut recs = Vec::new();
    for (i, svc) in ["api", "api", "api", "db"].iter().enumerate() {
        let mut r = LogRecord::new(
            Timestamp(T0 + i as i64 * S),
            Level::Error,
            "connection refused",
        );
        r.service = svc.to_string();
        recs.push(r);
    }
    store.append_logs(recs).unwrap();
    m.evaluate_rule(&logs, Timestamp(T0 + 10 * S)).unwrap();
    let firing: Vec<Alert> = m
        .alerts(false)
        .into_iter()
        .filter(|a| a.rule_id == logs.id)
        .collect();
    assert_eq!(firing.len(), 1);
    assert_eq!(firing[0].labels["service"], "api");
    assert_eq!(firing[0].value, Some(3.0));

    // Trace: error rate of checkout above 40%.
    let traces = m
        .create_rule(&spec(
            json!({"name": "errors", "kind": "trace", "filter": "service = 'checkout'",
            "measure": "error_rate", "condition": {"op": ">", "threshold": 0.4}}),
        ))
        .unwrap();
    let spans: Vec<Span> = (0..5)
        .map(|i| {
            let mut s = Span::new(
                TraceId([i as u8 + 1; 16]),
                SpanId([i as u8 + 1; 8]),
                "POST /pay",
                "checkout",
                Timestamp(T0 + i * S),
                Timestamp(T0 + i * S + 1_000_000),
            );
            if i < 3 {
                s.status.code = StatusCode::Error;
            }
            s
        })
        .collect();
    store.append_spans(spans).unwrap();
    m.evaluate_rule(&traces, Timestamp(T0 + 10 * S)).unwrap();
    let a: Vec<Alert> = m
        .alerts(false)
        .into_iter()
        .filter(|a| a.rule_id == traces.id)
        .collect();
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!(a[0].value, Some(0.6));

    // Absence: billing logs stop.
    let absent = m
        .create_rule(&spec(json!({"name": "quiet", "kind": "absence", "absent_for": "30s",
            "query": "SELECT service, count(*) FROM logs WHERE service = 'billing' GROUP BY service",
            "window": "10s"})))
        .unwrap();
    let mut r = LogRecord::new(Timestamp(T0 + 100 * S), Level::Info, "invoice sent");
    r.service = "billing".into();
    store.append_logs(vec![r]).unwrap();
    assert!(
        m.evaluate_rule(&absent, Timestamp(T0 + 101 * S))
            .unwrap()
            .is_empty()
    );
    assert!(
        m.evaluate_rule(&absent, Timestamp(T0 + 120 * S))
            .unwrap()
            .is_empty()
    );
    let t = m.evaluate_rule(&absent, Timestamp(T0 + 135 * S)).unwrap();
    assert_eq!(t.len(), 1, "missing for 35 s");
    let a: Vec<Alert> = m
        .alerts(false)
        .into_iter()
        .filter(|a| a.rule_id == absent.id)
        .collect();
    assert_eq!(a[0].labels["service"], "billing");

    // Anomaly: a steady series, then a spike; the baseline survives a restart.
    let anomaly = m
        .create_rule(&spec(
            json!({"name": "odd", "kind": "anomaly", "window": "10s",
            "query": "SELECT avg(value) FROM metrics WHERE name = 'rps'", "min_history": 10}),
        ))
        .unwrap();
    let base = T0 + 1000 * S;
    for i in 0..30 {
        let t = base + i * 10 * S;
        store
            .append_points(vec![gauge("rps", "web-1", t, 100.0 + (i % 5) as f64)])
            .unwrap();
        assert!(
            m.evaluate_rule(&anomaly, Timestamp(t + S))
                .unwrap()
                .is_empty(),
            "point {i}"
        );
    }
    drop(m);
    let m = open(&store, &rec);
    let t = base + 30 * 10 * S;
    store
        .append_points(vec![gauge("rps", "web-1", t, 400.0)])
        .unwrap();
    assert_eq!(
        m.evaluate_rule(&anomaly, Timestamp(t + S)).unwrap(),
        vec![(
            heimsight_alert::state::fingerprint(&anomaly.id, &BTreeMap::new()),
            Transition::Fired
        )]
    );
}

/// Stored rules are read back for their shape: a rule that a stricter checker (a newer
/// version, or a query referring to a field that is gone) would refuse still loads, so the
/// server starts; it shows as `invalid` with its problem as its last error, is not
/// evaluated, and runs again once updated with a valid rule.
#[tokio::test]
async fn a_stored_rule_that_no_longer_checks_still_loads() {
    use heimsight_store::MetaStore;
    let store = Arc::new(MemoryStore::new());
    let rec = Recorder::new();
    let m = open(&store, &rec);
    let good = m
        .create_rule(&spec(
            json!({"name": "errors", "kind": "log_pattern", "filter": "level = 'error'",
            "condition": {"threshold": 1}, "interval": "1s"}),
        ))
        .unwrap();
    // The same rule as stored, with a filter the checker refuses.
    let mut stored = json!(m.rule_view(&good));
    stored["filter"] = json!("levle = 'error'");
    assert!(
        m.create_rule(&spec(stored.clone())).is_err(),
        "the filter must be refused when a rule is created"
    );
    store
        .meta_put(
            heimsight_alert::manager::NS_RULES,
            &good.id,
            &serde_json::to_vec(&stored).unwrap(),
        )
        .unwrap();
    drop(m);
    let m = open(&store, &rec);
    let rule = m.rule_view(&m.rule(&good.id).unwrap());
    assert!(
        matches!(&rule.rule.kind, RuleKind::LogPattern { filter: Some(f), .. } if f == "levle = 'error'"),
        "{rule:?}"
    );
    assert_eq!(rule.state, RuleState::Invalid);
    let why = rule.last_error.as_deref().unwrap();
    assert!(why.contains("filter") && why.contains("level"), "{why}");
    assert_eq!(
        m.evaluate_due(Timestamp::now()),
        0,
        "an invalid rule is not run"
    );
    // Updated with a valid filter, it runs again.
    let mut fixed = rule.rule.clone();
    fixed.kind = RuleKind::LogPattern {
        pattern: None,
        filter: Some("level = 'error'".into()),
        group_by: Vec::new(),
    };
    m.update_rule(&good.id, &fixed).unwrap();
    assert_eq!(
        m.rule_view(&m.rule(&good.id).unwrap()).state,
        RuleState::Inactive
    );
    assert_eq!(m.evaluate_due(Timestamp::now()), 1);
}
