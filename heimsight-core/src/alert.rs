//! What an alert notification carries: the shared language of `heimsight-alert` (which decides
//! when to notify) and `heimsight-notify` (which delivers to Slack, email, PagerDuty…). Neither
//! crate depends on the other; both depend on these types.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// How urgent an alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// For information; nobody needs to act now.
    Info,
    /// Someone should look soon.
    Warning,
    /// Someone must act now.
    Critical,
}

impl Severity {
    /// `info`, `warning` or `critical`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }

    /// Parses `info`, `warning` (or `warn`) or `critical` (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "info" => Some(Severity::Info),
            "warning" | "warn" => Some(Severity::Warning),
            "critical" | "crit" => Some(Severity::Critical),
            _ => None,
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a notification announces a problem or its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    /// The condition holds (after its `for` duration).
    Firing,
    /// The condition cleared.
    Resolved,
}

impl AlertStatus {
    /// `firing` or `resolved`.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Firing => "firing",
            AlertStatus::Resolved => "resolved",
        }
    }
}

impl std::fmt::Display for AlertStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One alert instance in a notification: a rule and one label set (one row of its query's
/// `GROUP BY`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertInstance {
    /// Stable identity of the rule + label set (hex), the deduplication key.
    pub fingerprint: String,
    /// Firing or resolved.
    pub status: AlertStatus,
    /// The rule's labels merged with the instance's own (rule labels win on conflict).
    pub labels: BTreeMap<String, String>,
    /// Rendered annotations (`summary`, `description`, … with `{{ $value }}` filled in).
    pub annotations: BTreeMap<String, String>,
    /// The value that triggered (or, when resolved, the last value seen), if any.
    pub value: Option<f64>,
    /// When the instance started firing.
    pub starts_at: Timestamp,
    /// When it resolved.
    pub ends_at: Option<Timestamp>,
}

/// A notification: the alerts of one rule that changed state in one evaluation, sent once
/// to each of the rule's channels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Notification {
    /// Unique id of this notification (receivers may use it to drop duplicates).
    pub id: String,
    /// The rule's id.
    pub rule_id: String,
    /// The rule's name.
    pub rule_name: String,
    /// The rule's description.
    #[serde(default)]
    pub description: String,
    /// The rule's severity.
    pub severity: Severity,
    /// Firing when any alert in it fires, else resolved.
    pub status: AlertStatus,
    /// Key identifying the group across notifications (the rule id): PagerDuty's
    /// `dedup_key` and Opsgenie's `alias` are built from it and the fingerprint.
    pub group_key: String,
    /// The alerts, firing ones first.
    pub alerts: Vec<AlertInstance>,
    /// When the notification was created.
    pub created_at: Timestamp,
    /// Whether this is a "send test notification" request rather than a real alert.
    #[serde(default)]
    pub test: bool,
}

impl Notification {
    /// A one-line title: `[FIRING:2] High CPU` or `[RESOLVED] High CPU`.
    pub fn title(&self) -> String {
        let firing = self
            .alerts
            .iter()
            .filter(|a| a.status == AlertStatus::Firing)
            .count();
        let prefix = if self.test { "[TEST] " } else { "" };
        match self.status {
            AlertStatus::Firing => format!("{prefix}[FIRING:{firing}] {}", self.rule_name),
            AlertStatus::Resolved => format!("{prefix}[RESOLVED] {}", self.rule_name),
        }
    }

    /// The first alert's `summary` annotation, else the rule description, else the title.
    pub fn summary(&self) -> String {
        self.alerts
            .iter()
            .find_map(|a| a.annotations.get("summary").filter(|s| !s.is_empty()))
            .cloned()
            .or_else(|| Some(self.description.clone()).filter(|d| !d.is_empty()))
            .unwrap_or_else(|| self.title())
    }

    /// A test notification for a channel's "send test" button.
    pub fn test(now: Timestamp) -> Self {
        let mut labels = BTreeMap::new();
        labels.insert("alertname".to_string(), "Heimsight test".to_string());
        let mut annotations = BTreeMap::new();
        annotations.insert(
            "summary".to_string(),
            "This is a test notification from Heimsight.".to_string(),
        );
        Notification {
            id: format!("test-{}", now.0),
            rule_id: "test".into(),
            rule_name: "Heimsight test".into(),
            description: "A test notification: if you can read this, the channel works.".into(),
            severity: Severity::Info,
            status: AlertStatus::Firing,
            group_key: "test".into(),
            alerts: vec![AlertInstance {
                fingerprint: "0000000000000000".into(),
                status: AlertStatus::Firing,
                labels,
                annotations,
                value: Some(1.0),
                starts_at: now,
                ends_at: None,
            }],
            created_at: now,
            test: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_count_firing_alerts() {
        let mut n = Notification::test(Timestamp(1));
        assert_eq!(n.title(), "[TEST] [FIRING:1] Heimsight test");
        n.test = false;
        n.status = AlertStatus::Resolved;
        assert_eq!(n.title(), "[RESOLVED] Heimsight test");
        assert_eq!(n.summary(), "This is a test notification from Heimsight.");
    }

    #[test]
    fn severities_parse_and_print() {
        for s in [Severity::Info, Severity::Warning, Severity::Critical] {
            assert_eq!(Severity::parse(s.as_str()), Some(s));
        }
        assert_eq!(Severity::parse("WARN"), Some(Severity::Warning));
        assert_eq!(Severity::parse("loud"), None);
        assert_eq!(
            serde_json::to_string(&Severity::Critical).unwrap(),
            "\"critical\""
        );
    }
}
