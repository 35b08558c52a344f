//! The alert manager: rules, their evaluation, alert instances, silences, history and the
//! durable notification outbox, all kept in the store's metadata namespaces.
//!
//! Each evaluation writes the instances' new states, the anomaly baselines, the history and
//! the outbox entries of its notifications in ONE [`MetaStore::meta_write`](heimsight_store::MetaStore::meta_write), so a crash
//! leaves either the old state (the next evaluation redoes the transition) or the new state
//! with its notifications queued: a restart neither fires twice nor forgets. Delivery reads
//! the outbox, sends through a [`Notifier`], and removes an entry only once it was delivered
//! (or finally failed), retrying with exponential backoff and jitter in between.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use heimsight_core::api::{
    Alert, Delivery, HistoryEntry, PreviewSample, RulePreview, RuleSpec, RuleState, RuleView,
    SilenceSpec, StateChange,
};
use heimsight_core::{AlertInstance, AlertStatus, FieldError, Notification, Timestamp};
use heimsight_store::{MetaOp, Store};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tracing::{debug, info, warn};

use crate::anomaly::Baseline;
use crate::eval::{Sample, evaluate};
use crate::rule::{Rule, RuleKind};
use crate::silence::Silence;
use crate::state::{Instance, State, Transition};
use crate::template::{self, Context};
use crate::{Error, Result};

/// Metadata namespace of the rules.
pub const NS_RULES: &str = "alert.rules";
/// Metadata namespace of the alert instances (key `rule id/fingerprint`).
pub const NS_INSTANCES: &str = "alert.instances";
/// Metadata namespace of the history (key: time and sequence, so sorted by time).
pub const NS_HISTORY: &str = "alert.history";
/// Metadata namespace of the silences.
pub const NS_SILENCES: &str = "alert.silences";
/// Metadata namespace of the outbox (one entry per notification and channel).
pub const NS_OUTBOX: &str = "alert.outbox";
/// Metadata namespace of the anomaly baselines (key `rule id/fingerprint`).
pub const NS_BASELINES: &str = "alert.baselines";

/// Why a delivery failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryError {
    /// Whether trying again later may succeed (timeouts, 5xx, 429).
    pub retryable: bool,
    /// What happened.
    pub message: String,
}

/// A boxed future of a delivery.
pub type DeliveryFuture<'a> =
    Pin<Box<dyn Future<Output = std::result::Result<String, DeliveryError>> + Send + 'a>>;

/// Sends notifications to channels; implemented by the server with `heimsight-notify`, and by
/// tests with anything.
pub trait Notifier: Send + Sync + 'static {
    /// Whether a channel with this id exists (checked when rules are saved).
    fn channel_exists(&self, id: &str) -> bool;
    /// Delivers `n` to the channel; on success, a short description of the receiver's answer.
    fn deliver<'a>(&'a self, channel_id: &'a str, n: &'a Notification) -> DeliveryFuture<'a>;
}

/// Tuning of the manager. More settings may come: build it from [`ManagerConfig::default`]
/// and the `with_*` methods (or set its public fields).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ManagerConfig {
    /// Delivery attempts before a notification is given up (recorded in the history).
    pub max_attempts: u32,
    /// Wait before the first retry; doubles each attempt (with ±50% jitter).
    pub retry_base: Duration,
    /// Longest wait between attempts.
    pub retry_max: Duration,
    /// Upper bound of one delivery attempt (the notifier has its own timeouts too).
    pub delivery_timeout: Duration,
    /// History entries kept (oldest dropped first).
    pub history_limit: usize,
    /// How long resolved instances stay listed before they are forgotten.
    pub resolved_retention: Duration,
    /// How often the loop looks for due rules and deliveries.
    pub tick: Duration,
}

impl Default for ManagerConfig {
    fn default() -> Self {
        ManagerConfig {
            max_attempts: 8,
            retry_base: Duration::from_secs(2),
            retry_max: Duration::from_secs(300),
            delivery_timeout: Duration::from_secs(30),
            history_limit: 10_000,
            resolved_retention: Duration::from_secs(3600),
            tick: Duration::from_millis(500),
        }
    }
}

impl ManagerConfig {
    /// With [`max_attempts`](Self::max_attempts).
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// With [`retry_base`](Self::retry_base).
    pub fn with_retry_base(mut self, d: Duration) -> Self {
        self.retry_base = d;
        self
    }

    /// With [`retry_max`](Self::retry_max).
    pub fn with_retry_max(mut self, d: Duration) -> Self {
        self.retry_max = d;
        self
    }

    /// With [`delivery_timeout`](Self::delivery_timeout).
    pub fn with_delivery_timeout(mut self, d: Duration) -> Self {
        self.delivery_timeout = d;
        self
    }

    /// With [`history_limit`](Self::history_limit).
    pub fn with_history_limit(mut self, n: usize) -> Self {
        self.history_limit = n;
        self
    }

    /// With [`resolved_retention`](Self::resolved_retention).
    pub fn with_resolved_retention(mut self, d: Duration) -> Self {
        self.resolved_retention = d;
        self
    }

    /// With [`tick`](Self::tick).
    pub fn with_tick(mut self, d: Duration) -> Self {
        self.tick = d;
        self
    }
}

/// One queued delivery.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// Its key in the outbox.
    pub key: String,
    /// The channel.
    pub channel_id: String,
    /// What to send.
    pub notification: Notification,
    /// Attempts made so far.
    pub attempts: u32,
    /// Not before this time.
    pub next_attempt_at: Timestamp,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
}

/// How a rule's last evaluation went.
#[derive(Debug, Clone, Default)]
pub struct RuleHealth {
    /// When it last ran.
    pub last_evaluation: Option<Timestamp>,
    /// Its error, if it failed.
    pub last_error: Option<String>,
    /// How long it took, ms.
    pub last_duration_ms: f64,
}

#[derive(Default)]
struct Inner {
    rules: BTreeMap<String, Rule>,
    /// rule id → fingerprint → instance.
    instances: HashMap<String, BTreeMap<String, Instance>>,
    silences: BTreeMap<String, Silence>,
    next_eval: HashMap<String, Timestamp>,
    health: HashMap<String, RuleHealth>,
    history_len: usize,
}

/// The alert manager. Cheap to share (`Arc`); see the module docs.
pub struct AlertManager {
    store: Arc<dyn Store>,
    notifier: Arc<dyn Notifier>,
    config: ManagerConfig,
    inner: Mutex<Inner>,
    seq: AtomicU64,
    in_flight: Mutex<HashSet<String>>,
    /// Rules are evaluated one at a time (the store is the shared resource).
    eval_lock: Mutex<()>,
    /// Told about every evaluation (see [`AlertManager::observe_evaluations`]).
    observer: std::sync::OnceLock<EvaluationObserver>,
}

/// One rule evaluation, as told to an [`EvaluationObserver`].
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Evaluation<'a> {
    /// The rule's kind (`threshold`, `log_pattern`, `trace`, `anomaly`, `absence`).
    pub kind: &'a str,
    /// How long the evaluation took (running the query and applying the result).
    pub duration: Duration,
    /// Whether it succeeded (a failure is in the rule's health).
    pub ok: bool,
}

/// Told about every rule evaluation, e.g. to count and time them for `/metrics`.
pub type EvaluationObserver = Arc<dyn Fn(&Evaluation<'_>) + Send + Sync>;

impl std::fmt::Debug for AlertManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertManager")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn corrupt(what: &'static str) -> impl Fn(serde_json::Error) -> Error {
    move |e| Error::Corrupt {
        what,
        reason: e.to_string(),
    }
}

/// A generator seeded from the clock and a sequence number: ids and retry jitter need
/// variety, not secrecy.
fn rng(seq: u64) -> SmallRng {
    SmallRng::seed_from_u64((Timestamp::now().0 as u64) ^ seq.rotate_left(32))
}

fn new_id(prefix: &str, seq: u64) -> String {
    let now = Timestamp::now().0 as u64;
    let r: u32 = rng(seq).random();
    format!("{prefix}{:x}{:04x}{r:08x}", now / 1_000_000, seq & 0xffff)
}

fn dur_ns(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

/// The full label set of an alert: the instance's labels, the rule's labels (which win), and
/// `alertname`, `severity` and `rule_id`.
pub fn alert_labels(rule: &Rule, inst: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut l = inst.clone();
    for (k, v) in &rule.spec.labels {
        l.insert(k.clone(), v.clone());
    }
    l.insert("alertname".into(), rule.spec.name.clone());
    l.insert("severity".into(), rule.spec.severity.as_str().into());
    l.insert("rule_id".into(), rule.id.clone());
    l
}

/// `v` as JSON bytes for the metadata store; an error (never empty bytes) when it cannot be
/// encoded.
fn to_bytes(what: &'static str, v: &impl Serialize) -> Result<Vec<u8>> {
    serde_json::to_vec(v).map_err(|source| Error::Encode { what, source })
}

impl AlertManager {
    /// Opens the manager over a store: loads rules, instances and silences.
    pub fn open(
        store: Arc<dyn Store>,
        notifier: Arc<dyn Notifier>,
        config: ManagerConfig,
    ) -> Result<Arc<AlertManager>> {
        let mut inner = Inner::default();
        for (_, v) in store.meta_list(NS_RULES)? {
            let json: Value = serde_json::from_slice(&v).map_err(corrupt("alert rule"))?;
            // A rule stored under laxer checks must not stop the start: it loads as invalid.
            let rule = Rule::from_stored(&json).map_err(|e| Error::Corrupt {
                what: "alert rule",
                reason: Error::Invalid {
                    what: "rule",
                    errors: e,
                }
                .to_string(),
            })?;
            if !rule.problems().is_empty() {
                warn!(
                    rule = %rule.spec.name,
                    id = %rule.id,
                    problems = ?rule.problems(),
                    "alert rule fails this version's checks; it is not evaluated until updated"
                );
            }
            inner.rules.insert(rule.id.clone(), rule);
        }
        for (_, v) in store.meta_list(NS_INSTANCES)? {
            let inst: Instance = serde_json::from_slice(&v).map_err(corrupt("alert instance"))?;
            inner
                .instances
                .entry(inst.rule_id.clone())
                .or_default()
                .insert(inst.fingerprint.clone(), inst);
        }
        let now = Timestamp::now();
        for (id, v) in store.meta_list(NS_SILENCES)? {
            let json: Value = serde_json::from_slice(&v).map_err(corrupt("silence"))?;
            let s = Silence::from_json(&json, &id, now).map_err(|e| Error::Corrupt {
                what: "silence",
                reason: format!("{e:?}"),
            })?;
            inner.silences.insert(s.id.clone(), s);
        }
        inner.history_len = store.meta_list(NS_HISTORY)?.len();
        info!(
            rules = inner.rules.len(),
            instances = inner.instances.values().map(BTreeMap::len).sum::<usize>(),
            silences = inner.silences.len(),
            "alert manager opened"
        );
        Ok(Arc::new(AlertManager {
            store,
            notifier,
            config,
            inner: Mutex::new(inner),
            seq: AtomicU64::new(0),
            in_flight: Mutex::new(HashSet::new()),
            eval_lock: Mutex::new(()),
            observer: std::sync::OnceLock::new(),
        }))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed)
    }

    fn history_key(&self, at: Timestamp) -> String {
        format!("{:020}-{:08}", at.0.max(0), self.next_seq() % 100_000_000)
    }

    fn check_channels(&self, rule: &Rule) -> Result<()> {
        let errors: Vec<FieldError> = rule
            .spec
            .channels
            .iter()
            .enumerate()
            .filter(|(_, c)| !self.notifier.channel_exists(c))
            .map(|(i, c)| {
                FieldError::new(
                    format!("channels[{i}]"),
                    format!("no notification channel with id {c:?}"),
                )
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Error::Invalid {
                what: "rule",
                errors,
            })
        }
    }

    /// Checks ([`Rule::new`]) and stores a new rule; the manager assigns its id and times.
    /// Read a rule's JSON with [`RuleSpec::from_json_with`] and
    /// [`QueryChecks`](crate::rule::QueryChecks) to report every problem at once.
    pub fn create_rule(&self, spec: &RuleSpec) -> Result<Rule> {
        let now = Timestamp::now();
        let id = new_id("r", self.next_seq());
        let rule = Rule::new(spec, &id, now).map_err(|errors| Error::Invalid {
            what: "rule",
            errors,
        })?;
        self.check_channels(&rule)?;
        self.store
            .meta_put(NS_RULES, &rule.id, &to_bytes("rule", &rule.to_json())?)?;
        let mut g = self.lock();
        g.next_eval.insert(rule.id.clone(), now);
        g.rules.insert(rule.id.clone(), rule.clone());
        info!(rule = %rule.spec.name, id = %rule.id, kind = rule.spec.kind.name(), "alert rule created");
        Ok(rule)
    }

    /// Replaces a rule's settings (same id and creation time). Instances of a rule whose
    /// query or kind changed start over.
    pub fn update_rule(&self, id: &str, spec: &RuleSpec) -> Result<Rule> {
        let now = Timestamp::now();
        let old = self.rule(id)?;
        let rule = old.updated(spec, now).map_err(|errors| Error::Invalid {
            what: "rule",
            errors,
        })?;
        self.check_channels(&rule)?;
        let restart = rule.spec.kind != old.spec.kind || !rule.spec.enabled;
        let _eval = self
            .eval_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut ops = vec![MetaOp::put(
            NS_RULES,
            id,
            to_bytes("rule", &rule.to_json())?,
        )];
        if restart {
            self.retire_instances(&old, now, &mut ops)?;
        }
        self.store.meta_write(&ops)?;
        let mut g = self.lock();
        if restart {
            g.instances.remove(id);
        }
        g.rules.insert(id.to_string(), rule.clone());
        g.next_eval.insert(id.to_string(), now);
        Ok(rule)
    }

    /// Deletes a rule; its firing alerts are resolved (and notified as such).
    pub fn delete_rule(&self, id: &str) -> Result<()> {
        let now = Timestamp::now();
        let rule = self.rule(id)?;
        let _eval = self
            .eval_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut ops = vec![MetaOp::delete(NS_RULES, id)];
        self.retire_instances(&rule, now, &mut ops)?;
        self.store.meta_write(&ops)?;
        let mut g = self.lock();
        g.rules.remove(id);
        g.instances.remove(id);
        g.next_eval.remove(id);
        g.health.remove(id);
        info!(rule = %rule.spec.name, id, "alert rule deleted");
        Ok(())
    }

    /// Adds to `ops` what retiring a rule's instances takes: resolved notifications for the
    /// firing ones, deleting instances and baselines.
    fn retire_instances(&self, rule: &Rule, now: Timestamp, ops: &mut Vec<MetaOp>) -> Result<()> {
        let mut insts: Vec<Instance> = self
            .lock()
            .instances
            .get(&rule.id)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default();
        let mut changed = Vec::new();
        for inst in &mut insts {
            ops.push(MetaOp::delete(
                NS_INSTANCES,
                &format!("{}/{}", rule.id, inst.fingerprint),
            ));
            ops.push(MetaOp::delete(
                NS_BASELINES,
                &format!("{}/{}", rule.id, inst.fingerprint),
            ));
            let from = inst.state;
            if let Some(t) = inst.force_resolve(now) {
                changed.push((inst.clone(), from, t));
            }
        }
        self.notify_ops(rule, &changed, now, ops)
    }

    /// A rule by id.
    pub fn rule(&self, id: &str) -> Result<Rule> {
        self.lock()
            .rules
            .get(id)
            .cloned()
            .ok_or_else(|| Error::NotFound {
                what: "rule",
                id: id.to_string(),
            })
    }

    /// Every rule, by id.
    pub fn rules(&self) -> Vec<Rule> {
        self.lock().rules.values().cloned().collect()
    }

    /// A rule as the API shows it: its settings plus `state` (the most severe state of its
    /// instances), `last_evaluation`, `last_error` and `compiled_query`.
    pub fn rule_view(&self, rule: &Rule) -> RuleView {
        let g = self.lock();
        let state = g
            .instances
            .get(&rule.id)
            .map(|m| {
                m.values()
                    .fold(RuleState::Inactive, |acc, i| match (acc, i.state) {
                        (RuleState::Firing, _) | (_, State::Firing) => RuleState::Firing,
                        (RuleState::Pending, _) | (_, State::Pending) => RuleState::Pending,
                        _ => RuleState::Inactive,
                    })
            })
            .unwrap_or(RuleState::Inactive);
        let health = g.health.get(&rule.id).cloned().unwrap_or_default();
        drop(g);
        let (state, last_error) = if !rule.problems().is_empty() {
            let why: Vec<String> = rule.problems().iter().map(ToString::to_string).collect();
            (
                RuleState::Invalid,
                Some(format!(
                    "the rule as stored fails this version's checks (update it to fix): {}",
                    why.join("; ")
                )),
            )
        } else if !rule.spec.enabled {
            (RuleState::Disabled, health.last_error)
        } else {
            (state, health.last_error)
        };
        RuleView {
            id: rule.id.clone(),
            rule: rule.spec.clone(),
            created_at: rule.created_at,
            updated_at: rule.updated_at,
            state,
            last_evaluation: health.last_evaluation,
            last_error,
            compiled_query: rule.compiled_query(),
        }
    }

    /// Checks a rule and evaluates it once now, without keeping anything: what the rule
    /// would see (`samples` with `active` per sample).
    pub fn preview(&self, spec: &RuleSpec) -> Result<RulePreview> {
        let now = Timestamp::now();
        let rule = Rule::new(spec, "preview", now).map_err(|errors| Error::Invalid {
            what: "rule",
            errors,
        })?;
        let samples = evaluate(&*self.store, &rule, now)?;
        let samples = samples
            .into_iter()
            .map(|s| {
                let active = match (&rule.spec.kind, rule.spec.condition) {
                    (_, Some(c)) => s.value.is_some_and(|v| c.op.holds(v, c.threshold)),
                    _ => false,
                };
                PreviewSample {
                    labels: s.labels,
                    value: s.value,
                    active,
                }
            })
            .collect();
        Ok(RulePreview {
            query: rule.compiled_query(),
            evaluated_at: now,
            samples,
        })
    }

    /// Calls `observer` after every rule evaluation from now on (once per manager: `false` when
    /// one is already set).
    pub fn observe_evaluations(&self, observer: EvaluationObserver) -> bool {
        self.observer.set(observer).is_ok()
    }

    /// Evaluates every enabled, valid rule whose time has come; returns how many ran. Rule errors
    /// are recorded in the rule's health and never stop the other rules.
    pub fn evaluate_due(&self, now: Timestamp) -> usize {
        let due: Vec<Rule> = {
            let g = self.lock();
            g.rules
                .values()
                .filter(|r| r.runs() && g.next_eval.get(&r.id).is_none_or(|t| *t <= now))
                .cloned()
                .collect()
        };
        for rule in &due {
            {
                let mut g = self.lock();
                g.next_eval.insert(
                    rule.id.clone(),
                    Timestamp(now.0.saturating_add(rule.spec.interval.as_nanos())),
                );
            }
            if let Err(e) = self.evaluate_rule(rule, now) {
                warn!(rule = %rule.spec.name, error = %e, "alert rule evaluation failed");
            }
        }
        due.len()
    }

    /// Evaluates one rule at `now` (what [`evaluate_due`](Self::evaluate_due) does per rule),
    /// returning the transitions it caused.
    pub fn evaluate_rule(&self, rule: &Rule, now: Timestamp) -> Result<Vec<(String, Transition)>> {
        let _eval = self
            .eval_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // The rule may have been deleted or changed while waiting.
        let Some(rule) = self.lock().rules.get(&rule.id).cloned() else {
            return Ok(Vec::new());
        };
        let started = std::time::Instant::now();
        let result = evaluate(&*self.store, &rule, now);
        let elapsed = started.elapsed().as_secs_f64() * 1e3;
        let observe = |ok: bool| {
            if let Some(f) = self.observer.get() {
                f(&Evaluation {
                    kind: rule.spec.kind.name(),
                    duration: started.elapsed(),
                    ok,
                });
            }
        };
        let samples = match result {
            Ok(s) => s,
            Err(e) => {
                observe(false);
                let mut g = self.lock();
                g.health.insert(
                    rule.id.clone(),
                    RuleHealth {
                        last_evaluation: Some(now),
                        last_error: Some(e.to_string()),
                        last_duration_ms: elapsed,
                    },
                );
                return Err(e);
            }
        };
        let out = self.apply(&rule, samples, now);
        observe(out.is_ok());
        let mut g = self.lock();
        g.health.insert(
            rule.id.clone(),
            RuleHealth {
                last_evaluation: Some(now),
                last_error: out.as_ref().err().map(ToString::to_string),
                last_duration_ms: elapsed,
            },
        );
        out
    }

    /// Moves the rule's instances according to `samples` and writes the result.
    fn apply(
        &self,
        rule: &Rule,
        samples: Vec<Sample>,
        now: Timestamp,
    ) -> Result<Vec<(String, Transition)>> {
        let mut insts: BTreeMap<String, Instance> = self
            .lock()
            .instances
            .get(&rule.id)
            .cloned()
            .unwrap_or_default();
        let mut ops = Vec::new();
        let mut seen = HashSet::new();
        let mut changed: Vec<(Instance, State, Transition)> = Vec::new();

        // What each sample says: (labels, value, active).
        let mut verdicts: Vec<(BTreeMap<String, String>, Option<f64>, bool)> = Vec::new();
        match &rule.spec.kind {
            RuleKind::Threshold { .. } | RuleKind::LogPattern { .. } | RuleKind::Trace { .. } => {
                let c = rule.spec.condition;
                for s in samples {
                    let active =
                        c.is_some_and(|c| s.value.is_some_and(|v| c.op.holds(v, c.threshold)));
                    verdicts.push((s.labels, s.value, active));
                }
            }
            RuleKind::Anomaly { settings, .. } => {
                for s in samples {
                    let Some(v) = s.value else { continue };
                    let fp = crate::state::fingerprint(&rule.id, &s.labels);
                    let key = format!("{}/{fp}", rule.id);
                    let mut b: Baseline = match self.store.meta_get(NS_BASELINES, &key)? {
                        Some(raw) => serde_json::from_slice(&raw).unwrap_or_default(),
                        None => Baseline::default(),
                    };
                    let verdict = b.observe(v, settings);
                    ops.push(MetaOp::put(NS_BASELINES, &key, to_bytes("baseline", &b)?));
                    verdicts.push((s.labels, Some(v), verdict.anomalous));
                }
            }
            RuleKind::Absence { absent_for, .. } => {
                let mut present = HashSet::new();
                for s in samples {
                    if s.value.is_some_and(|v| v != 0.0) {
                        let fp = crate::state::fingerprint(&rule.id, &s.labels);
                        present.insert(fp);
                        verdicts.push((s.labels, s.value, false));
                    }
                }
                // Series known from earlier evaluations that are missing now.
                for inst in insts.values() {
                    if present.contains(&inst.fingerprint) {
                        continue;
                    }
                    // The label-less instance of "nothing at all" clears once any series
                    // reports.
                    if inst.labels.is_empty() && inst.last_seen.is_none() && !present.is_empty() {
                        verdicts.push((BTreeMap::new(), None, false));
                        continue;
                    }
                    let last = inst.last_seen.unwrap_or(rule.created_at);
                    let missing = now.0.saturating_sub(last.0) >= absent_for.as_nanos();
                    verdicts.push((inst.labels.clone(), None, missing));
                }
                // Nothing at all, ever: the rule's own empty label set.
                if insts.is_empty() && present.is_empty() {
                    let missing = now.0.saturating_sub(rule.created_at.0) >= absent_for.as_nanos();
                    verdicts.push((BTreeMap::new(), None, missing));
                }
            }
        }

        for (labels, value, active) in verdicts {
            let fp = crate::state::fingerprint(&rule.id, &labels);
            if !seen.insert(fp.clone()) {
                continue;
            }
            let inst = insts
                .entry(fp.clone())
                .or_insert_with(|| Instance::new(&rule.id, labels, now));
            if matches!(rule.spec.kind, RuleKind::Absence { .. }) && value.is_some() {
                inst.last_seen = Some(now);
            }
            let from = inst.state;
            if let Some(t) = inst.step(
                active,
                value,
                now,
                rule.spec.for_.as_nanos(),
                rule.spec.keep_firing_for.as_nanos(),
            ) {
                changed.push((inst.clone(), from, t));
            }
        }
        // Instances the query no longer returns: the condition does not hold for them.
        for (fp, inst) in insts.iter_mut() {
            if seen.contains(fp) {
                continue;
            }
            let from = inst.state;
            if let Some(t) = inst.step(
                false,
                None,
                now,
                rule.spec.for_.as_nanos(),
                rule.spec.keep_firing_for.as_nanos(),
            ) {
                changed.push((inst.clone(), from, t));
            }
        }
        // Keep what matters; forget inactive instances and long-resolved ones.
        let forget_after = dur_ns(self.config.resolved_retention);
        let mut keep = BTreeMap::new();
        for (fp, inst) in insts {
            let key = format!("{}/{fp}", rule.id);
            let stale = match inst.state {
                State::Inactive => {
                    !matches!(rule.spec.kind, RuleKind::Absence { .. })
                        || (inst.labels.is_empty() && inst.last_seen.is_none())
                }
                State::Resolved => now.0.saturating_sub(inst.since.0) > forget_after,
                _ => false,
            };
            if stale {
                ops.push(MetaOp::delete(NS_INSTANCES, &key));
            } else {
                ops.push(MetaOp::put(
                    NS_INSTANCES,
                    &key,
                    to_bytes("alert instance", &inst)?,
                ));
                keep.insert(fp, inst);
            }
        }
        self.notify_ops(rule, &changed, now, &mut ops)?;
        self.store.meta_write(&ops)?;
        let added = ops
            .iter()
            .filter(|o| matches!(o, MetaOp::Put { namespace, .. } if namespace == NS_HISTORY))
            .count();
        let mut g = self.lock();
        g.instances.insert(rule.id.clone(), keep);
        g.history_len += added;
        let over = g.history_len.saturating_sub(self.config.history_limit);
        drop(g);
        if over > 0 {
            self.trim_history();
        }
        Ok(changed
            .into_iter()
            .map(|(i, _, t)| (i.fingerprint, t))
            .collect())
    }

    /// Adds the history entries of the transitions, and for those not silenced, one
    /// notification per channel to the outbox.
    fn notify_ops(
        &self,
        rule: &Rule,
        changed: &[(Instance, State, Transition)],
        now: Timestamp,
        ops: &mut Vec<MetaOp>,
    ) -> Result<()> {
        if changed.is_empty() {
            return Ok(());
        }
        let silences: Vec<Silence> = self.lock().silences.values().cloned().collect();
        let mut alerts = Vec::new();
        for (inst, from, t) in changed {
            let labels = alert_labels(rule, &inst.labels);
            let silenced_by = silences
                .iter()
                .find(|s| s.silences(&labels, now))
                .map(|s| s.id.clone());
            let to = match t {
                Transition::Fired => State::Firing,
                Transition::Resolved => State::Resolved,
            };
            info!(rule = %rule.spec.name, fingerprint = %inst.fingerprint, from = from.as_str(), to = to.as_str(), silenced = silenced_by.is_some(), "alert state changed");
            ops.push(MetaOp::put(
                NS_HISTORY,
                &self.history_key(now),
                to_bytes(
                    "history entry",
                    &HistoryEntry::State(StateChange {
                        at: now,
                        rule_id: rule.id.clone(),
                        rule_name: rule.spec.name.clone(),
                        fingerprint: inst.fingerprint.clone(),
                        labels: labels.clone(),
                        from: *from,
                        to,
                        value: inst.value,
                        silenced_by: silenced_by.clone(),
                    }),
                )?,
            ));
            if silenced_by.is_some() {
                continue;
            }
            let ctx = Context {
                value: inst.value,
                labels: &labels,
                rule: &rule.spec.name,
                severity: rule.spec.severity.as_str(),
            };
            let annotations = rule
                .spec
                .annotations
                .iter()
                .map(|(k, t)| (k.clone(), template::render(t, &ctx)))
                .collect();
            alerts.push(AlertInstance {
                fingerprint: inst.fingerprint.clone(),
                status: match t {
                    Transition::Fired => AlertStatus::Firing,
                    Transition::Resolved => AlertStatus::Resolved,
                },
                labels,
                annotations,
                value: inst.value,
                starts_at: inst.fired_at.unwrap_or(now),
                ends_at: inst.resolved_at,
            });
        }
        if alerts.is_empty() || rule.spec.channels.is_empty() {
            return Ok(());
        }
        alerts.sort_by_key(|a| a.status != AlertStatus::Firing);
        let status = if alerts.iter().any(|a| a.status == AlertStatus::Firing) {
            AlertStatus::Firing
        } else {
            AlertStatus::Resolved
        };
        let n = Notification {
            id: format!("{}-{}-{:x}", rule.id, now.0, self.next_seq()),
            rule_id: rule.id.clone(),
            rule_name: rule.spec.name.clone(),
            description: rule.spec.description.clone(),
            severity: rule.spec.severity,
            status,
            group_key: rule.id.clone(),
            alerts,
            created_at: now,
            test: false,
        };
        for ch in &rule.spec.channels {
            let key = format!("{:020}/{}/{ch}", now.0.max(0), n.id);
            let entry = OutboxEntry {
                key: key.clone(),
                channel_id: ch.clone(),
                notification: n.clone(),
                attempts: 0,
                next_attempt_at: now,
                last_error: None,
            };
            ops.push(MetaOp::put(
                NS_OUTBOX,
                &key,
                to_bytes("outbox entry", &entry)?,
            ));
        }
        Ok(())
    }

    fn trim_history(&self) {
        let Ok(all) = self.store.meta_list(NS_HISTORY) else {
            return;
        };
        let over = all.len().saturating_sub(self.config.history_limit);
        let ops: Vec<MetaOp> = all
            .iter()
            .take(over)
            .map(|(k, _)| MetaOp::delete(NS_HISTORY, k))
            .collect();
        if self.store.meta_write(&ops).is_ok() {
            self.lock().history_len = all.len() - over;
        }
    }

    /// The alert instances that are pending or firing (and recently resolved ones when
    /// `include_resolved`), most severe state first, each with its rule, labels, value and
    /// whether a silence mutes it.
    pub fn alerts(&self, include_resolved: bool) -> Vec<Alert> {
        let now = Timestamp::now();
        let g = self.lock();
        let mut out: Vec<(u8, Alert)> = Vec::new();
        for (rule_id, insts) in &g.instances {
            let Some(rule) = g.rules.get(rule_id) else {
                continue;
            };
            for inst in insts.values() {
                let rank = match inst.state {
                    State::Firing => 0,
                    State::Pending => 1,
                    State::Resolved if include_resolved => 2,
                    _ => continue,
                };
                let labels = alert_labels(rule, &inst.labels);
                let silenced_by = g
                    .silences
                    .values()
                    .find(|s| s.silences(&labels, now))
                    .map(|s| s.id.clone());
                out.push((
                    rank,
                    Alert {
                        fingerprint: inst.fingerprint.clone(),
                        rule_id: rule.id.clone(),
                        rule_name: rule.spec.name.clone(),
                        severity: rule.spec.severity,
                        state: inst.state,
                        since: inst.since,
                        active_at: inst.active_at,
                        fired_at: inst.fired_at,
                        resolved_at: inst.resolved_at,
                        value: inst.value,
                        labels,
                        silenced: silenced_by.is_some(),
                        silenced_by,
                        last_evaluation: inst.last_eval,
                    },
                ));
            }
        }
        out.sort_by(|a, b| {
            a.0.cmp(&b.0)
                .then_with(|| a.1.rule_name.cmp(&b.1.rule_name))
        });
        out.into_iter().map(|(_, v)| v).collect()
    }

    /// History entries, newest first: state changes, deliveries and delivery failures.
    pub fn history(&self, rule_id: Option<&str>, limit: usize) -> Result<Vec<HistoryEntry>> {
        let all = self.store.meta_list(NS_HISTORY)?;
        let mut out = Vec::new();
        let mut unreadable = 0;
        for (_, v) in all.iter().rev() {
            let Ok(e) = serde_json::from_slice::<HistoryEntry>(v) else {
                unreadable += 1;
                continue;
            };
            if rule_id.is_some_and(|r| e.rule_id() != r) {
                continue;
            }
            out.push(e);
            if out.len() >= limit {
                break;
            }
        }
        if unreadable > 0 {
            debug!(unreadable, "skipped history entries that do not read");
        }
        Ok(out)
    }

    /// Creates a silence (read from the API's JSON with [`SilenceSpec::from_json`]).
    pub fn create_silence(&self, spec: &SilenceSpec) -> Result<Silence> {
        let now = Timestamp::now();
        let id = new_id("s", self.next_seq());
        let s = Silence::from_spec(spec, &id, now).map_err(|errors| Error::Invalid {
            what: "silence",
            errors,
        })?;
        self.store
            .meta_put(NS_SILENCES, &s.id, &to_bytes("silence", &s.view(now))?)?;
        self.lock().silences.insert(s.id.clone(), s.clone());
        info!(id = %s.id, "silence created");
        Ok(s)
    }

    /// Every silence (expired ones too, until deleted).
    pub fn silences(&self) -> Vec<Silence> {
        self.lock().silences.values().cloned().collect()
    }

    /// Deletes a silence.
    pub fn delete_silence(&self, id: &str) -> Result<()> {
        if !self.lock().silences.contains_key(id) {
            return Err(Error::NotFound {
                what: "silence",
                id: id.to_string(),
            });
        }
        self.store.meta_delete(NS_SILENCES, id)?;
        self.lock().silences.remove(id);
        Ok(())
    }

    /// The queued deliveries, oldest first.
    pub fn outbox(&self) -> Result<Vec<OutboxEntry>> {
        let mut out = Vec::new();
        for (_, v) in self.store.meta_list(NS_OUTBOX)? {
            out.push(serde_json::from_slice(&v).map_err(corrupt("outbox entry"))?);
        }
        Ok(out)
    }

    /// The wait before attempt `attempts + 1`: base × 2^attempts, capped, ±50% jitter.
    fn backoff(&self, attempts: u32) -> Duration {
        let base = self.config.retry_base.as_secs_f64() * 2f64.powi(attempts.min(30) as i32);
        let capped = base.min(self.config.retry_max.as_secs_f64());
        let jitter: f64 = rng(self.next_seq()).random_range(0.5..1.5);
        Duration::from_secs_f64((capped * jitter).min(self.config.retry_max.as_secs_f64()))
    }

    /// Starts delivering every due outbox entry that is not already being delivered; each
    /// runs as its own task, so a hanging receiver delays nothing else. Returns how many
    /// started. Needs a tokio runtime.
    pub fn deliver_due(self: &Arc<Self>, now: Timestamp) -> Result<usize> {
        let entries = self.outbox()?;
        let mut started = 0;
        // Notifications of one rule to one channel go out in order (a resolve must not
        // overtake its trigger): an entry waits while an older one of the same rule and
        // channel is waiting or in flight.
        let mut blocked: HashSet<(String, String)> = HashSet::new();
        for entry in entries {
            let lane = (
                entry.channel_id.clone(),
                entry.notification.group_key.clone(),
            );
            if !blocked.insert(lane) {
                continue;
            }
            if entry.next_attempt_at > now {
                continue;
            }
            {
                let mut f = self
                    .in_flight
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                if !f.insert(entry.key.clone()) {
                    continue;
                }
            }
            started += 1;
            let me = Arc::clone(self);
            tokio::spawn(async move {
                let key = entry.key.clone();
                me.deliver_one(entry).await;
                me.in_flight
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(&key);
            });
        }
        Ok(started)
    }

    async fn deliver_one(&self, mut entry: OutboxEntry) {
        let result = match tokio::time::timeout(
            self.config.delivery_timeout,
            self.notifier
                .deliver(&entry.channel_id, &entry.notification),
        )
        .await
        {
            Ok(r) => r,
            Err(_) => Err(DeliveryError {
                retryable: true,
                message: format!("no answer within {:?}", self.config.delivery_timeout),
            }),
        };
        let now = Timestamp::now();
        entry.attempts += 1;
        let n = entry.notification.clone();
        let (channel_id, attempts) = (entry.channel_id.clone(), entry.attempts);
        let delivery = |message: &str| Delivery {
            at: now,
            rule_id: n.rule_id.clone(),
            rule_name: n.rule_name.clone(),
            notification_id: n.id.clone(),
            channel_id: channel_id.clone(),
            status: n.status,
            attempts,
            fingerprints: n.alerts.iter().map(|a| a.fingerprint.clone()).collect(),
            message: message.to_string(),
        };
        let ops = || -> Result<Vec<MetaOp>> {
            Ok(match result {
                Ok(detail) => {
                    debug!(channel = %entry.channel_id, notification = %n.id, "notification delivered");
                    vec![
                        MetaOp::delete(NS_OUTBOX, &entry.key),
                        MetaOp::put(
                            NS_HISTORY,
                            &self.history_key(now),
                            to_bytes("history entry", &HistoryEntry::Delivered(delivery(&detail)))?,
                        ),
                    ]
                }
                Err(e) if e.retryable && entry.attempts < self.config.max_attempts => {
                    let wait = self.backoff(entry.attempts - 1);
                    warn!(channel = %entry.channel_id, notification = %n.id, attempts = entry.attempts, error = %e.message, retry_in = ?wait, "notification delivery failed; will retry");
                    entry.next_attempt_at = Timestamp(now.0.saturating_add(dur_ns(wait)));
                    entry.last_error = Some(e.message.clone());
                    vec![MetaOp::put(
                        NS_OUTBOX,
                        &entry.key,
                        to_bytes("outbox entry", &entry)?,
                    )]
                }
                Err(e) => {
                    warn!(channel = %entry.channel_id, notification = %n.id, attempts = entry.attempts, error = %e.message, "notification delivery failed for good");
                    vec![
                        MetaOp::delete(NS_OUTBOX, &entry.key),
                        MetaOp::put(
                            NS_HISTORY,
                            &self.history_key(now),
                            to_bytes(
                                "history entry",
                                &HistoryEntry::DeliveryFailed(delivery(&e.message)),
                            )?,
                        ),
                    ]
                }
            })
        };
        let ops = match ops() {
            Ok(ops) => ops,
            Err(e) => {
                warn!(error = %e, "could not record a delivery result; it will be retried");
                return;
            }
        };
        let history = ops
            .iter()
            .filter(|o| matches!(o, MetaOp::Put { namespace, .. } if namespace == NS_HISTORY))
            .count();
        // The store is written on the blocking pool, never on an async worker.
        let store = Arc::clone(&self.store);
        match on_blocking_pool(move || store.meta_write(&ops)).await {
            Ok(Ok(())) => self.lock().history_len += history,
            Ok(Err(e)) => {
                warn!(error = %e, "could not record a delivery result; it will be retried");
            }
            Err(e) => warn!(error = %e, "recording a delivery result failed; it will be retried"),
        }
    }

    /// Evaluates due rules and starts due deliveries until `shutdown` resolves. Every store
    /// call — rule evaluation, reading the outbox, recording delivery results — runs on
    /// tokio's blocking pool.
    pub async fn run(self: Arc<Self>, shutdown: impl Future<Output = ()> + Send) {
        let mut shutdown = std::pin::pin!(shutdown);
        let mut tick = tokio::time::interval(self.config.tick);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                _ = tick.tick() => {}
            }
            let me = Arc::clone(&self);
            if let Err(e) = on_blocking_pool(move || me.evaluate_due(Timestamp::now())).await {
                warn!(error = %e, "alert evaluation task failed");
            }
            // Reading the outbox is a store call: on the blocking pool too (the deliveries it
            // starts are tasks of the runtime).
            let me = Arc::clone(&self);
            match on_blocking_pool(move || me.deliver_due(Timestamp::now())).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => warn!(error = %e, "could not read the notification outbox"),
                Err(e) => warn!(error = %e, "the outbox task failed"),
            }
        }
    }
}

/// The alert manager's one way to reach the store from async code: `f` on tokio's blocking
/// pool (the store's calls block on disk). Errs when `f` panicked or the runtime shut down.
async fn on_blocking_pool<T, F>(f: F) -> std::result::Result<T, tokio::task::JoinError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(f).await
}
