//! Alerting's answers: alert instances (`GET /api/v1/alerts`), their history
//! (`GET /api/v1/alerts/history`), silences (`/api/v1/silences`) and rules as the API shows
//! them (`/api/v1/alerts/rules`, with their state and last evaluation, and a rule's preview).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{AlertStatus, MatchOp, Severity, Timestamp};

/// Where an alert instance (a rule and one label set) is in its life: inactive → pending →
/// firing → resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    /// The condition does not hold.
    Inactive,
    /// The condition holds, for less than the rule's `for` duration.
    Pending,
    /// The condition held long enough; notified.
    Firing,
    /// It fired and then cleared; notified.
    Resolved,
}

impl AlertState {
    /// `inactive`, `pending`, `firing` or `resolved`.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Inactive => "inactive",
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
            AlertState::Resolved => "resolved",
        }
    }
}

impl std::fmt::Display for AlertState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One alert instance as `GET /api/v1/alerts` lists it.
///
/// ```
/// use heimsight_core::api::{AlertState, AlertsPage};
///
/// let page: AlertsPage = serde_json::from_str(
///     r#"{"alerts": [{"fingerprint": "9f0c", "rule_id": "r-1", "rule_name": "errors",
///         "severity": "critical", "state": "firing", "since": 1700000000000000000,
///         "labels": {"alertname": "errors", "service": "api"}, "value": 12.0,
///         "silenced": false, "last_evaluation": 1700000000000000000}]}"#,
/// )?;
/// assert_eq!(page.alerts[0].state, AlertState::Firing);
/// assert_eq!(page.alerts[0].labels["service"], "api");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Stable identity of the rule + label set (hex).
    pub fingerprint: String,
    /// The rule's id.
    pub rule_id: String,
    /// The rule's name (also the `alertname` label).
    pub rule_name: String,
    /// The rule's severity.
    pub severity: Severity,
    /// Where the instance is.
    pub state: AlertState,
    /// When the current state began.
    pub since: Timestamp,
    /// When the condition started holding.
    #[serde(default)]
    pub active_at: Option<Timestamp>,
    /// When it began firing.
    #[serde(default)]
    pub fired_at: Option<Timestamp>,
    /// When it resolved.
    #[serde(default)]
    pub resolved_at: Option<Timestamp>,
    /// The last value seen (`null` when there is none, or it is not a finite number).
    #[serde(default)]
    pub value: Option<f64>,
    /// Its labels: the rule's, the instance's, `alertname`, `severity` and `rule_id`.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Whether an active silence mutes it.
    #[serde(default)]
    pub silenced: bool,
    /// The silence that mutes it.
    #[serde(default)]
    pub silenced_by: Option<String>,
    /// When its rule last evaluated it.
    pub last_evaluation: Timestamp,
}

/// `GET /api/v1/alerts`: the instances, most severe state first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertsPage {
    /// The instances.
    pub alerts: Vec<Alert>,
}

/// One entry of the alert history: a state change or the outcome of a delivery, told apart
/// by `kind` (`state`, `delivered` or `delivery_failed`).
///
/// ```
/// use heimsight_core::api::{AlertState, HistoryEntry};
///
/// let e: HistoryEntry = serde_json::from_str(
///     r#"{"kind": "state", "at": 1, "rule_id": "r-1", "rule_name": "errors",
///         "fingerprint": "9f0c", "from": "pending", "to": "firing", "value": 3.0}"#,
/// )?;
/// let HistoryEntry::State(change) = &e else { panic!("a state change") };
/// assert_eq!(change.to, AlertState::Firing);
/// assert_eq!(e.rule_id(), "r-1");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HistoryEntry {
    /// An instance changed state.
    State(StateChange),
    /// A notification reached its channel.
    Delivered(Delivery),
    /// A notification could not be delivered and will not be retried.
    DeliveryFailed(Delivery),
}

impl HistoryEntry {
    /// When it happened.
    pub fn at(&self) -> Timestamp {
        match self {
            HistoryEntry::State(s) => s.at,
            HistoryEntry::Delivered(d) | HistoryEntry::DeliveryFailed(d) => d.at,
        }
    }

    /// The rule it is about.
    pub fn rule_id(&self) -> &str {
        match self {
            HistoryEntry::State(s) => &s.rule_id,
            HistoryEntry::Delivered(d) | HistoryEntry::DeliveryFailed(d) => &d.rule_id,
        }
    }

    /// The rule's name.
    pub fn rule_name(&self) -> &str {
        match self {
            HistoryEntry::State(s) => &s.rule_name,
            HistoryEntry::Delivered(d) | HistoryEntry::DeliveryFailed(d) => &d.rule_name,
        }
    }

    /// `state`, `delivered` or `delivery_failed`.
    pub fn kind(&self) -> &'static str {
        match self {
            HistoryEntry::State(_) => "state",
            HistoryEntry::Delivered(_) => "delivered",
            HistoryEntry::DeliveryFailed(_) => "delivery_failed",
        }
    }
}

/// An alert instance's change of state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateChange {
    /// When.
    pub at: Timestamp,
    /// The rule's id.
    pub rule_id: String,
    /// The rule's name.
    pub rule_name: String,
    /// The instance.
    pub fingerprint: String,
    /// The instance's labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The state it left.
    pub from: AlertState,
    /// The state it entered.
    pub to: AlertState,
    /// The value seen.
    #[serde(default)]
    pub value: Option<f64>,
    /// The silence that kept it from being notified.
    #[serde(default)]
    pub silenced_by: Option<String>,
}

/// The outcome of delivering one notification to one channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// When.
    pub at: Timestamp,
    /// The rule's id.
    pub rule_id: String,
    /// The rule's name.
    pub rule_name: String,
    /// The notification.
    pub notification_id: String,
    /// The channel.
    pub channel_id: String,
    /// Whether the notification announced firing or resolved alerts.
    pub status: AlertStatus,
    /// Attempts so far.
    pub attempts: u32,
    /// The alert instances it carried.
    #[serde(default)]
    pub fingerprints: Vec<String>,
    /// The receiver's answer, or why it failed.
    #[serde(default)]
    pub message: String,
}

/// `GET /api/v1/alerts/history`: entries, newest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HistoryPage {
    /// The entries.
    pub history: Vec<HistoryEntry>,
}

/// One label matcher as the API writes it: `{"name": "service", "value": "api", "op": "="}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Matcher {
    /// The label.
    pub name: String,
    /// The value, or the regular expression for `=~`/`!~`.
    pub value: String,
    /// How it compares (`=` when absent).
    #[serde(default)]
    pub op: MatchOp,
}

/// Where a silence is in its time window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SilenceStatus {
    /// It has not started yet.
    Pending,
    /// It mutes matching alerts now.
    Active,
    /// Its window has passed.
    Expired,
}

impl SilenceStatus {
    /// `pending`, `active` or `expired`.
    pub fn as_str(self) -> &'static str {
        match self {
            SilenceStatus::Pending => "pending",
            SilenceStatus::Active => "active",
            SilenceStatus::Expired => "expired",
        }
    }
}

impl std::fmt::Display for SilenceStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A silence as the API shows it (and as it is stored).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SilenceView {
    /// Its id.
    pub id: String,
    /// All must match an alert's labels.
    pub matchers: Vec<Matcher>,
    /// Start of the window.
    pub starts_at: Timestamp,
    /// End of the window.
    pub ends_at: Timestamp,
    /// Who created it.
    #[serde(default)]
    pub created_by: String,
    /// Why.
    #[serde(default)]
    pub comment: String,
    /// Where it is in its window when it was shown.
    pub status: SilenceStatus,
}

/// `GET /api/v1/silences`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SilencesPage {
    /// Every silence, expired ones too until deleted.
    pub silences: Vec<SilenceView>,
}

/// A rule's state as the API shows it: the most severe state of its instances, or
/// `disabled`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleState {
    /// No instance is pending or firing.
    Inactive,
    /// An instance is pending, none firing.
    Pending,
    /// An instance is firing.
    Firing,
    /// The rule is switched off.
    Disabled,
}

impl RuleState {
    /// `inactive`, `pending`, `firing` or `disabled`.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleState::Inactive => "inactive",
            RuleState::Pending => "pending",
            RuleState::Firing => "firing",
            RuleState::Disabled => "disabled",
        }
    }
}

impl std::fmt::Display for RuleState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rule as the API shows it: its settings (as it was given, with defaults filled in) and
/// how it is doing.
///
/// ```
/// use heimsight_core::api::{RuleState, RuleView};
///
/// let r: RuleView = serde_json::from_str(
///     r#"{"id": "r-1", "name": "errors", "kind": "log_pattern", "enabled": true,
///         "state": "pending", "last_evaluation": null, "last_error": null,
///         "compiled_query": "SELECT count(*) FROM logs WHERE level = 'error'"}"#,
/// )?;
/// assert_eq!(r.state, RuleState::Pending);
/// assert_eq!(r.text("name"), "errors");
/// assert_eq!(r.text("kind"), "log_pattern");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleView {
    /// The rule's settings: `id`, `name`, `kind`, `interval`, `condition`, … — what
    /// `POST /api/v1/alerts/rules` takes, with every default filled in.
    #[serde(flatten)]
    pub rule: Map<String, Value>,
    /// The most severe state of its instances, or `disabled`.
    pub state: RuleState,
    /// When it last ran.
    #[serde(default)]
    pub last_evaluation: Option<Timestamp>,
    /// Why its last run failed.
    #[serde(default)]
    pub last_error: Option<String>,
    /// The query it runs.
    #[serde(default)]
    pub compiled_query: String,
}

impl RuleView {
    /// A text setting (`id`, `name`, `kind`, `severity`, `interval`, …), empty when absent or
    /// not text.
    pub fn text(&self, key: &str) -> &str {
        self.rule.get(key).and_then(Value::as_str).unwrap_or("")
    }

    /// The rule's id.
    pub fn id(&self) -> &str {
        self.text("id")
    }

    /// The rule's name.
    pub fn name(&self) -> &str {
        self.text("name")
    }

    /// Whether it is switched on (absent means on).
    pub fn enabled(&self) -> bool {
        self.rule
            .get("enabled")
            .and_then(Value::as_bool)
            .unwrap_or(true)
    }
}

/// `GET /api/v1/alerts/rules`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RulesPage {
    /// Every rule.
    pub rules: Vec<RuleView>,
}

/// `POST /api/v1/alerts/rules/preview`: what a rule would see if it ran now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RulePreview {
    /// The query it runs.
    pub query: String,
    /// When it ran.
    pub evaluated_at: Timestamp,
    /// One sample per label set.
    pub samples: Vec<PreviewSample>,
}

/// One label set of a preview.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreviewSample {
    /// The sample's labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Its value (`null` when there is none).
    #[serde(default)]
    pub value: Option<f64>,
    /// Whether the rule's condition holds for it.
    pub active: bool,
}
