//! Alerting's answers: alert instances (`GET /api/v1/alerts`), their history
//! (`GET /api/v1/alerts/history`), silences (`/api/v1/silences`) and rules as the API shows
//! them (`/api/v1/alerts/rules`, with their state and last evaluation, and a rule's preview).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{AlertStatus, FieldError, FieldReader, MatchOp, Severity, Timestamp, ValidationErrors};

/// Where an alert instance (a rule and one label set) is in its life: inactive → pending →
/// firing → resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
/// // A kind of a newer server reads as `Unknown`.
/// let later: HistoryEntry = serde_json::from_str(r#"{"kind": "escalated", "at": 2}"#)?;
/// assert_eq!(later, HistoryEntry::Unknown);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HistoryEntry {
    /// An instance changed state.
    State(StateChange),
    /// A notification reached its channel.
    Delivered(Delivery),
    /// A notification could not be delivered and will not be retried.
    DeliveryFailed(Delivery),
    /// An entry of a kind this version does not know (written by a newer server).
    #[serde(other)]
    Unknown,
}

impl HistoryEntry {
    /// When it happened.
    pub fn at(&self) -> Timestamp {
        match self {
            HistoryEntry::State(s) => s.at,
            HistoryEntry::Delivered(d) | HistoryEntry::DeliveryFailed(d) => d.at,
            HistoryEntry::Unknown => Timestamp::default(),
        }
    }

    /// The rule it is about.
    pub fn rule_id(&self) -> &str {
        match self {
            HistoryEntry::State(s) => &s.rule_id,
            HistoryEntry::Delivered(d) | HistoryEntry::DeliveryFailed(d) => &d.rule_id,
            HistoryEntry::Unknown => "",
        }
    }

    /// The rule's name.
    pub fn rule_name(&self) -> &str {
        match self {
            HistoryEntry::State(s) => &s.rule_name,
            HistoryEntry::Delivered(d) | HistoryEntry::DeliveryFailed(d) => &d.rule_name,
            HistoryEntry::Unknown => "",
        }
    }

    /// `state`, `delivered`, `delivery_failed` (or `unknown`).
    pub fn kind(&self) -> &'static str {
        match self {
            HistoryEntry::State(_) => "state",
            HistoryEntry::Delivered(_) => "delivered",
            HistoryEntry::DeliveryFailed(_) => "delivery_failed",
            HistoryEntry::Unknown => "unknown",
        }
    }
}

/// An alert instance's change of state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HistoryPage {
    /// The entries.
    pub history: Vec<HistoryEntry>,
}

/// One label matcher as the API writes it: `{"name": "service", "value": "api", "op": "="}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SilencesPage {
    /// Every silence, expired ones too until deleted.
    pub silences: Vec<SilenceView>,
}

/// A rule's state as the API shows it: the most severe state of its instances, or
/// `disabled`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    /// The rule as stored no longer passes the checks of this version (e.g. its query uses
    /// something the query language no longer accepts): it is not evaluated, and its
    /// `last_error` says why. Updating it with a valid rule makes it run again.
    Invalid,
}

impl RuleState {
    /// `inactive`, `pending`, `firing`, `disabled` or `invalid`.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleState::Inactive => "inactive",
            RuleState::Pending => "pending",
            RuleState::Firing => "firing",
            RuleState::Disabled => "disabled",
            RuleState::Invalid => "invalid",
        }
    }
}

impl std::fmt::Display for RuleState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rule as the API shows it: its id and times, its settings (as it was given, with
/// defaults filled in) and how it is doing.
///
/// ```
/// use heimsight_core::api::{RuleKind, RuleState, RuleView};
///
/// let r: RuleView = serde_json::from_str(
///     r#"{"id": "r-1", "name": "errors", "kind": "log_pattern", "filter": "level = 'error'",
///         "condition": {"op": ">", "threshold": 10}, "enabled": true,
///         "created_at": 1700000000000000000, "updated_at": 1700000000000000000,
///         "state": "pending", "last_evaluation": null, "last_error": null,
///         "compiled_query": "SELECT count(*) AS value FROM logs WHERE level = 'error'"}"#,
/// )?;
/// assert_eq!(r.state, RuleState::Pending);
/// assert_eq!((r.id.as_str(), r.rule.name.as_str()), ("r-1", "errors"));
/// assert!(matches!(r.rule.kind, RuleKind::LogPattern { .. }));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RuleView {
    /// Its identifier.
    pub id: String,
    /// Its settings: what `POST /api/v1/alerts/rules` takes, with every default filled in.
    #[serde(flatten)]
    pub rule: crate::api::RuleSpec,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it was last changed.
    pub updated_at: Timestamp,
    /// The most severe state of its instances, `disabled`, or `invalid`.
    pub state: RuleState,
    /// When it last ran.
    #[serde(default)]
    pub last_evaluation: Option<Timestamp>,
    /// Why its last run failed, or why it is invalid.
    #[serde(default)]
    pub last_error: Option<String>,
    /// The query it runs.
    #[serde(default)]
    pub compiled_query: String,
}

/// `GET /api/v1/alerts/rules`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RulesPage {
    /// Every rule.
    pub rules: Vec<RuleView>,
}

/// `POST /api/v1/alerts/rules/preview`: what a rule would see if it ran now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

/// `POST /api/v1/silences`: what a new silence is made of.
///
/// ```
/// use heimsight_core::api::SilenceSpec;
/// use heimsight_core::{MatchOp, Timestamp};
///
/// let now = Timestamp(1_700_000_000_000_000_000);
/// let spec = SilenceSpec::from_json(
///     &serde_json::json!({"matchers": [{"name": "service", "value": "api|web", "op": "=~"}],
///                         "duration": "2h", "comment": "deploy"}),
///     now,
/// )?;
/// assert_eq!(spec.matchers[0].op, MatchOp::Regex);
/// assert_eq!(spec.window(now), (now, Timestamp(now.0 + 2 * 3_600_000_000_000)));
///
/// // Every problem, by field.
/// let errors = SilenceSpec::from_json(
///     &serde_json::json!({"matchers": [{"name": "", "value": "x"}], "comentt": "typo"}),
///     now,
/// ).unwrap_err();
/// let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
/// assert_eq!(fields, ["matchers[0].name", "ends_at", "comentt"]);
/// # Ok::<(), Vec<heimsight_core::FieldError>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SilenceSpec {
    /// All must match an alert's labels (at least one).
    pub matchers: Vec<Matcher>,
    /// Start of the window (when it is made, if absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<Timestamp>,
    /// End of the window; or give `duration`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<Timestamp>,
    /// How long it lasts from its start, when `ends_at` is absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<crate::Duration>,
    /// Who made it.
    #[serde(default)]
    pub created_by: String,
    /// Why.
    #[serde(default)]
    pub comment: String,
}

impl SilenceSpec {
    /// Reads a silence from the API's JSON with every problem named by its field:
    /// `{"matchers": [{"name", "value", "op"}], "starts_at", "ends_at" | "duration",
    /// "created_by", "comment"}`. `op` is `=`, `!=`, `=~` or `!~` (`=` when absent;
    /// Alertmanager's `isRegex`/`isEqual` flags are accepted instead). A silence as the API
    /// shows it reads back (`id` and `status` are accepted and ignored). `now` is the start
    /// when `starts_at` is absent. Regular expressions are compiled by whoever uses the
    /// matchers.
    pub fn from_json(v: &Value, now: Timestamp) -> Result<SilenceSpec, Vec<FieldError>> {
        SilenceSpec::from_json_with(v, now, |_| Ok(()))
    }

    /// [`SilenceSpec::from_json`], with each matcher also checked by `check` (e.g. that its
    /// regular expression compiles); its problem is reported at the matcher's `value`, in
    /// reading order with the others.
    pub fn from_json_with(
        v: &Value,
        now: Timestamp,
        check: impl Fn(&Matcher) -> Result<(), String>,
    ) -> Result<SilenceSpec, Vec<FieldError>> {
        let mut problems = ValidationErrors::new();
        let Some(mut r) = FieldReader::new(v, "", &mut problems, "") else {
            return Err(problems.0);
        };
        let mut matchers = Vec::new();
        match r.get(&["matchers"]).map(|(v, _)| v) {
            Some(Value::Array(ms)) if !ms.is_empty() => {
                for (i, m) in ms.iter().enumerate() {
                    let path = format!("matchers[{i}]");
                    if let Some(m) = read_matcher(&mut r, &path, m) {
                        match check(&m) {
                            Ok(()) => matchers.push(m),
                            Err(e) => r.err(&format!("{path}.value"), e),
                        }
                    }
                }
            }
            Some(Value::Array(_)) | None => r.err(
                "matchers",
                "at least one matcher is required, e.g. [{\"name\": \"service\", \"value\": \"api\"}]",
            ),
            Some(other) => r.wrong_type("matchers", "a list of matchers", other),
        }
        let mut time = |k: &str| -> Option<Timestamp> {
            let (v, _) = r.get(&[k])?;
            Timestamp::from_json(v).map_err(|e| r.err(k, e)).ok()
        };
        let starts_at = time("starts_at");
        let ends_at = time("ends_at");
        let start = starts_at.unwrap_or(now);
        let mut duration = None;
        let end = match (ends_at, r.get(&["duration"]).map(|(v, _)| v)) {
            (Some(t), _) => Some(t),
            (None, Some(Value::String(d))) => match crate::Duration::parse(d) {
                Ok(d) if d.is_positive() => {
                    duration = Some(d);
                    Some(start.saturating_add(d.as_nanos()))
                }
                _ => {
                    r.err(
                        "duration",
                        format!("{d:?} is not a positive duration such as \"2h\""),
                    );
                    None
                }
            },
            (None, Some(other)) => {
                r.wrong_type("duration", "a duration such as \"2h\"", other);
                None
            }
            (None, None) => {
                if !r.has_problem("ends_at") {
                    r.err("ends_at", "is required (or give \"duration\", e.g. \"2h\")");
                }
                None
            }
        };
        if let Some(end) = end
            && end <= start
        {
            r.err("ends_at", "must be after starts_at");
        }
        let created_by = r.opt_str(&["created_by"]).unwrap_or_default();
        let comment = r.opt_str(&["comment"]).unwrap_or_default();
        // Shown by the API; accepted back and ignored.
        r.allow(&["id", "status"]);
        r.finish();
        if !problems.is_empty() {
            return Err(problems.0);
        }
        Ok(SilenceSpec {
            matchers,
            starts_at,
            ends_at,
            duration,
            created_by,
            comment,
        })
    }

    /// The problems of a spec made in code (what [`SilenceSpec::from_json`] reports while it
    /// reads): no matcher, a matcher without a name, no end, an end not after the start.
    pub fn problems(&self, now: Timestamp) -> Vec<FieldError> {
        let mut out = Vec::new();
        if self.matchers.is_empty() {
            out.push(FieldError::new(
                "matchers",
                "at least one matcher is required",
            ));
        }
        for (i, m) in self.matchers.iter().enumerate() {
            if m.name.is_empty() {
                out.push(FieldError::new(
                    format!("matchers[{i}].name"),
                    "is required",
                ));
            }
        }
        match (self.ends_at, self.duration) {
            (None, None) => out.push(FieldError::new(
                "ends_at",
                "is required (or give \"duration\", e.g. \"2h\")",
            )),
            (None, Some(d)) if !d.is_positive() => {
                out.push(FieldError::new("duration", "must be positive"));
            }
            _ => {
                let (start, end) = self.window(now);
                if end <= start {
                    out.push(FieldError::new("ends_at", "must be after starts_at"));
                }
            }
        }
        out
    }

    /// Its window for a silence made at `now`: `starts_at` (or `now`) to `ends_at` (or the
    /// start plus `duration`; the start when neither is given).
    pub fn window(&self, now: Timestamp) -> (Timestamp, Timestamp) {
        let start = self.starts_at.unwrap_or(now);
        let end = self.ends_at.unwrap_or_else(|| {
            start.saturating_add(self.duration.map_or(0, crate::Duration::as_nanos))
        });
        (start, end)
    }
}

/// One matcher of a silence at `path` (`matchers[2]`): `{"name", "value", "op"}`, or
/// Alertmanager's `isRegex`/`isEqual` flags instead of `op`. Problems go to `r` under `path`.
fn read_matcher(r: &mut FieldReader<'_, '_>, path: &str, m: &Value) -> Option<Matcher> {
    let Value::Object(fields) = m else {
        r.wrong_type(path, "a matcher {\"name\", \"value\", \"op\"}", m);
        return None;
    };
    let at = |k: &str| format!("{path}.{k}");
    let text = |r: &mut FieldReader<'_, '_>, k: &str| match fields.get(k) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(other) => {
            r.wrong_type(&at(k), "a string", other);
            None
        }
    };
    let flag = |r: &mut FieldReader<'_, '_>, k: &str, default: bool| match fields.get(k) {
        None | Some(Value::Null) => default,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            r.wrong_type(&at(k), "true or false", other);
            default
        }
    };
    let name = text(r, "name").unwrap_or_default();
    let value = text(r, "value");
    if name.is_empty() && !r.has_problem(&at("name")) {
        r.err(&at("name"), "is required");
    }
    if value.is_none() && !r.has_problem(&at("value")) {
        r.err(&at("value"), "is required (a string)");
    }
    let op = match text(r, "op") {
        Some(op) => op
            .parse::<MatchOp>()
            .map_err(|reason| r.err(&at("op"), reason))
            .ok(),
        None => Some(
            match (flag(r, "isRegex", false), flag(r, "isEqual", true)) {
                (false, true) => MatchOp::Equal,
                (false, false) => MatchOp::NotEqual,
                (true, true) => MatchOp::Regex,
                (true, false) => MatchOp::NotRegex,
            },
        ),
    };
    for k in fields.keys() {
        if !["name", "value", "op", "isRegex", "isEqual"].contains(&k.as_str()) {
            r.err(
                &at(k),
                "unknown field; expected one of: name, value, op, isRegex, isEqual",
            );
        }
    }
    let (Some(op), Some(value)) = (op, value) else {
        return None;
    };
    if name.is_empty() {
        return None;
    }
    Some(Matcher {
        name: name.to_string(),
        value: value.to_string(),
        op,
    })
}

/// `POST /api/v1/notifications/channels`: what a channel is made of — a name, a type
/// (`webhook`, `slack`, `discord`, `email`, `pagerduty`, `opsgenie`) and the type's settings,
/// which `heimsight-notify` reads (give its reader to [`ChannelSpec::from_json_with`] to have
/// every problem at once).
///
/// ```
/// use heimsight_core::api::ChannelSpec;
/// use heimsight_core::FieldError;
///
/// let spec = ChannelSpec::from_json(&serde_json::json!(
///     {"name": " ops ", "type": "slack", "settings": {"url": "https://hooks.slack.com/x"}}))?;
/// assert_eq!((spec.name.as_str(), spec.kind.as_str()), ("ops", "slack"));
///
/// // The settings' problems come from the settings' reader, after the shape's.
/// let errors = ChannelSpec::from_json_with(
///     &serde_json::json!({"type": "slack", "settings": {}, "colour": "red"}),
///     |_kind, settings| match settings.get("url") {
///         Some(_) => Vec::new(),
///         None => vec![FieldError::new("settings.url", "is required")],
///     },
/// ).unwrap_err();
/// let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
/// assert_eq!(fields, ["name", "colour", "settings.url"]);
/// # Ok::<(), Vec<FieldError>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChannelSpec {
    /// Its name (unique; rules may name channels by it).
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: String,
    /// The type's settings (URL, addresses, keys, …).
    #[serde(default)]
    pub settings: Map<String, Value>,
}

impl ChannelSpec {
    /// Reads a channel's JSON for its shape, every problem named by its field: `name` and
    /// `type` are required texts, `settings` an object (`{}` when absent). A channel as the
    /// API shows it reads back (`id`, `created_at`, `updated_at` and `secure_fields` are
    /// accepted and ignored).
    pub fn from_json(v: &Value) -> Result<ChannelSpec, Vec<FieldError>> {
        ChannelSpec::from_json_with(v, |_, _| Vec::new())
    }

    /// [`ChannelSpec::from_json`], with the settings checked by `check` (given the type and
    /// the settings; it answers their problems, at `settings.…` paths) when the type is
    /// known.
    pub fn from_json_with(
        v: &Value,
        check: impl FnOnce(&str, &Map<String, Value>) -> Vec<FieldError>,
    ) -> Result<ChannelSpec, Vec<FieldError>> {
        let mut problems = ValidationErrors::new();
        let Some(mut r) = FieldReader::new(v, "", &mut problems, "") else {
            return Err(problems.0);
        };
        let name = r.opt_str(&["name"]).map(|s| s.trim().to_string());
        if name.as_deref().is_none_or(str::is_empty) && !r.has_problem("name") {
            r.err("name", "is required");
        }
        let kind = r.opt_str(&["type"]);
        if kind.is_none() && !r.has_problem("type") {
            r.err(
                "type",
                "is required: webhook, slack, discord, email, pagerduty or opsgenie",
            );
        }
        let settings = match r.get(&["settings"]) {
            None => Some(Map::new()),
            Some((Value::Object(m), _)) => Some(m.clone()),
            Some((other, _)) => {
                r.wrong_type("settings", "an object", other);
                None
            }
        };
        // Shown by the API; accepted back (PUT of a GET) and ignored.
        r.allow(&["id", "created_at", "updated_at", "secure_fields"]);
        r.finish();
        let mut errors = problems.0;
        if let (Some(kind), Some(settings)) = (&kind, &settings) {
            errors.extend(check(kind, settings));
        }
        match (name, kind, settings) {
            (Some(name), Some(kind), Some(settings)) if errors.is_empty() => Ok(ChannelSpec {
                name,
                kind,
                settings,
            }),
            _ => Err(errors),
        }
    }
}

/// A notification channel as the API shows it (`/api/v1/notifications/channels`): its
/// settings with every secret masked.
///
/// ```
/// use heimsight_core::api::ChannelsPage;
///
/// let page: ChannelsPage = serde_json::from_str(
///     r#"{"channels": [{"id": "c-1", "name": "ops", "type": "slack",
///         "settings": {"url": "https://hooks.slack.com/…"}, "secure_fields": ["url"],
///         "created_at": 1, "updated_at": 2}]}"#,
/// )?;
/// assert_eq!(page.channels[0].kind, "slack");
/// assert_eq!(page.channels[0].setting_text("url"), "https://hooks.slack.com/…");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChannelView {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// `webhook`, `slack`, `discord`, `email`, `pagerduty` or `opsgenie`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The kind's settings, secrets masked.
    #[serde(default)]
    pub settings: Map<String, Value>,
    /// The settings that are secrets (shown masked).
    #[serde(default)]
    pub secure_fields: Vec<String>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it was last changed.
    pub updated_at: Timestamp,
}

impl ChannelView {
    /// A setting as text: a string as it is, a list joined by commas, other values as JSON;
    /// empty when absent.
    pub fn setting_text(&self, key: &str) -> String {
        match self.settings.get(key) {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                .collect::<Vec<_>>()
                .join(","),
            Some(other) => other.to_string(),
        }
    }
}

/// `GET /api/v1/notifications/channels`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChannelsPage {
    /// Every channel.
    pub channels: Vec<ChannelView>,
}

/// `POST /api/v1/notifications/channels/{id}/test`: the receiver's answer to a test
/// notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChannelTestResult {
    /// Always `true` (a failed test is an error answer).
    pub ok: bool,
    /// The HTTP status (for email, the SMTP reply code), when there was one.
    #[serde(default)]
    pub status: Option<u16>,
    /// The receiver's answer.
    #[serde(default)]
    pub detail: String,
}
