//! The life of one alert instance (a rule + one label set): inactive → pending → firing →
//! resolved, deduplicated by a fingerprint of the rule and the labels.

use std::collections::BTreeMap;

use heimsight_core::Timestamp;
use serde::{Deserialize, Serialize};

/// Where an instance is in its life (the API's [`AlertState`](heimsight_core::api::AlertState)).
pub use heimsight_core::api::AlertState as State;

/// One alert instance, persisted after every change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    /// Rule id + labels, hashed (hex).
    pub fingerprint: String,
    /// The rule.
    pub rule_id: String,
    /// The instance's own labels (from the query's label columns).
    pub labels: BTreeMap<String, String>,
    /// Current state.
    pub state: State,
    /// When the current state began.
    pub since: Timestamp,
    /// When the condition started holding (start of pending).
    pub active_at: Option<Timestamp>,
    /// When it began firing.
    pub fired_at: Option<Timestamp>,
    /// When it resolved.
    pub resolved_at: Option<Timestamp>,
    /// When the condition last held (for `keep_firing_for`).
    pub last_active: Option<Timestamp>,
    /// Last value seen.
    pub value: Option<f64>,
    /// Last evaluation that saw this instance.
    pub last_eval: Timestamp,
    /// Absence rules: when the series was last present.
    #[serde(default)]
    pub last_seen: Option<Timestamp>,
}

/// A change that must be notified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Pending (or inactive with `for` = 0) → firing.
    Fired,
    /// Firing → resolved.
    Resolved,
}

/// A stable 64-bit FNV-1a fingerprint of the rule id and the labels, as 16 hex digits.
pub fn fingerprint(rule_id: &str, labels: &BTreeMap<String, String>) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |b: &[u8]| {
        for &x in b {
            h ^= u64::from(x);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        // A separator that cannot occur inside UTF-8 text.
        h ^= 0xff;
        h = h.wrapping_mul(0x0100_0000_01b3);
    };
    feed(rule_id.as_bytes());
    for (k, v) in labels {
        feed(k.as_bytes());
        feed(v.as_bytes());
    }
    format!("{h:016x}")
}

impl Instance {
    /// A new inactive instance.
    pub fn new(rule_id: &str, labels: BTreeMap<String, String>, now: Timestamp) -> Self {
        Instance {
            fingerprint: fingerprint(rule_id, &labels),
            rule_id: rule_id.to_string(),
            labels,
            state: State::Inactive,
            since: now,
            active_at: None,
            fired_at: None,
            resolved_at: None,
            last_active: None,
            value: None,
            last_eval: now,
            last_seen: None,
        }
    }

    fn set(&mut self, state: State, now: Timestamp) {
        self.state = state;
        self.since = now;
    }

    /// Applies one evaluation: `active` says whether the condition holds now. Returns the
    /// transition to notify, if any.
    pub fn step(
        &mut self,
        active: bool,
        value: Option<f64>,
        now: Timestamp,
        for_: i64,
        keep_firing_for: i64,
    ) -> Option<Transition> {
        self.last_eval = now;
        if value.is_some() {
            self.value = value;
        }
        if active {
            self.last_active = Some(now);
        }
        match (self.state, active) {
            (State::Inactive | State::Resolved, true) => {
                self.active_at = Some(now);
                if for_ <= 0 {
                    self.fire(now);
                    return Some(Transition::Fired);
                }
                self.set(State::Pending, now);
                None
            }
            (State::Pending, true) => {
                let since = self.active_at.unwrap_or(self.since);
                if now.0.saturating_sub(since.0) >= for_ {
                    self.fire(now);
                    return Some(Transition::Fired);
                }
                None
            }
            (State::Pending, false) => {
                self.active_at = None;
                self.set(State::Inactive, now);
                None
            }
            (State::Firing, true) => None,
            (State::Firing, false) => {
                let last = self.last_active.unwrap_or(self.since);
                if now.0.saturating_sub(last.0) < keep_firing_for {
                    return None;
                }
                self.resolved_at = Some(now);
                self.active_at = None;
                self.set(State::Resolved, now);
                Some(Transition::Resolved)
            }
            (State::Inactive | State::Resolved, false) => None,
        }
    }

    fn fire(&mut self, now: Timestamp) {
        self.fired_at = Some(now);
        self.resolved_at = None;
        self.set(State::Firing, now);
    }

    /// Forces a firing instance to resolved (its rule was deleted or disabled).
    pub fn force_resolve(&mut self, now: Timestamp) -> Option<Transition> {
        if self.state == State::Firing {
            self.resolved_at = Some(now);
            self.set(State::Resolved, now);
            Some(Transition::Resolved)
        } else {
            self.set(State::Inactive, now);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    fn inst() -> Instance {
        let mut l = BTreeMap::new();
        l.insert("service".into(), "api".into());
        Instance::new("r1", l, Timestamp(0))
    }

    #[test]
    fn pending_then_firing_after_for_then_resolved() {
        let mut i = inst();
        assert_eq!(i.step(true, Some(1.0), Timestamp(0), 60 * S, 0), None);
        assert_eq!(i.state, State::Pending);
        assert_eq!(i.step(true, Some(1.0), Timestamp(30 * S), 60 * S, 0), None);
        assert_eq!(
            i.step(true, Some(2.0), Timestamp(60 * S), 60 * S, 0),
            Some(Transition::Fired)
        );
        assert_eq!(i.state, State::Firing);
        assert_eq!(i.step(true, Some(2.0), Timestamp(90 * S), 60 * S, 0), None);
        assert_eq!(
            i.step(false, Some(0.1), Timestamp(120 * S), 60 * S, 0),
            Some(Transition::Resolved)
        );
        assert_eq!(i.state, State::Resolved);
        assert_eq!(i.value, Some(0.1));
        assert_eq!(i.step(false, None, Timestamp(150 * S), 60 * S, 0), None);
    }

    #[test]
    fn a_blip_shorter_than_for_never_fires() {
        let mut i = inst();
        i.step(true, None, Timestamp(0), 60 * S, 0);
        assert_eq!(i.step(false, None, Timestamp(30 * S), 60 * S, 0), None);
        assert_eq!(i.state, State::Inactive);
        // The clock restarts.
        i.step(true, None, Timestamp(40 * S), 60 * S, 0);
        assert_eq!(i.step(true, None, Timestamp(90 * S), 60 * S, 0), None);
        assert_eq!(
            i.step(true, None, Timestamp(100 * S), 60 * S, 0),
            Some(Transition::Fired)
        );
    }

    #[test]
    fn keep_firing_for_holds_the_alert() {
        let mut i = inst();
        assert_eq!(
            i.step(true, None, Timestamp(0), 0, 60 * S),
            Some(Transition::Fired)
        );
        assert_eq!(i.step(false, None, Timestamp(30 * S), 0, 60 * S), None);
        assert_eq!(i.state, State::Firing);
        assert_eq!(
            i.step(false, None, Timestamp(60 * S), 0, 60 * S),
            Some(Transition::Resolved)
        );
    }

    #[test]
    fn fingerprints_depend_on_rule_and_labels_only() {
        let mut a = BTreeMap::new();
        a.insert("a".to_string(), "bc".to_string());
        let mut b = BTreeMap::new();
        b.insert("ab".to_string(), "c".to_string());
        assert_ne!(fingerprint("r", &a), fingerprint("r", &b));
        assert_ne!(fingerprint("r", &a), fingerprint("s", &a));
        assert_eq!(fingerprint("r", &a), fingerprint("r", &a.clone()));
        assert_eq!(fingerprint("r", &a).len(), 16);
    }
}
