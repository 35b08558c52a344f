//! PagerDuty, through the Events API v2: one event per alert instance.
//!
//! From PagerDuty's Events API v2 reference (developer.pagerduty.com/docs/events-api-v2,
//! "Send an Alert Event"): `POST https://events.pagerduty.com/v2/enqueue` with `routing_key`
//! (the integration key), `event_action` (`trigger`, `acknowledge` or `resolve`) and
//! `dedup_key` (at most 255 characters); a trigger carries a `payload` with `summary` (at most
//! 1024 characters), `source`, `severity` (`critical`, `error`, `warning` or `info`) and the
//! optional `timestamp` (ISO 8601), `component`, `group`, `class` and `custom_details`.
//! A valid event is answered `202 Accepted`; `400` means the event is invalid (not worth
//! retrying), `429` that the rate limit was reached, `5xx` a PagerDuty problem.
//!
//! A firing alert triggers an event keyed `heimsight-<rule_id>-<fingerprint>`
//! ([`dedup_key`](crate::dedup_key)); its resolution resolves the same key.

use std::fmt;

use heimsight_core::{AlertInstance, AlertStatus, Notification, Severity};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::check::{self, Problems};
use crate::fields::Fields;
use crate::notifier::{Delivered, Notifier, SendError};
use crate::render;
use crate::secret;
use crate::text::{format_value, truncate};

/// The Events API v2 endpoint.
pub const DEFAULT_URL: &str = "https://events.pagerduty.com/v2/enqueue";
/// `payload.summary`, at most 1024 characters.
pub const MAX_SUMMARY: usize = 1024;
/// `dedup_key`, at most 255 characters.
pub const MAX_DEDUP_KEY: usize = 255;

/// Settings of a PagerDuty Events API v2 integration.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagerDutySettings {
    /// The integration ("routing") key of an Events API v2 integration. Secret.
    pub routing_key: String,
    /// The enqueue endpoint ([`DEFAULT_URL`]; EU accounts may use
    /// `https://events.eu.pagerduty.com/v2/enqueue`).
    #[serde(default = "default_url")]
    pub url: String,
}

fn default_url() -> String {
    DEFAULT_URL.to_string()
}

impl Default for PagerDutySettings {
    fn default() -> Self {
        Self {
            routing_key: String::new(),
            url: default_url(),
        }
    }
}

impl fmt::Debug for PagerDutySettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PagerDutySettings")
            .field("routing_key", &secret::mask(&self.routing_key))
            .field("url", &self.url)
            .finish()
    }
}

impl PagerDutySettings {
    pub(crate) const SECRETS: &'static [&'static str] = &["routing_key"];

    pub(crate) fn parse(f: &mut Fields<'_, '_>) -> Self {
        Self {
            routing_key: f.string("routing_key"),
            url: f.opt_string("url").unwrap_or_else(default_url),
        }
    }

    pub(crate) fn check(&self, prefix: &str, p: &mut Problems) {
        check::secret(
            p,
            &format!("{prefix}.routing_key"),
            &self.routing_key,
            "integration key of a PagerDuty Events API v2 integration",
        );
        check::http_url(p, &format!("{prefix}.url"), &self.url, DEFAULT_URL);
    }

    pub(crate) fn redacted(&self) -> Value {
        json!({ "routing_key": secret::mask(&self.routing_key), "url": self.url })
    }

    pub(crate) fn keep_secrets_from(&mut self, previous: &Self) {
        secret::keep(&mut self.routing_key, &previous.routing_key, secret::mask);
    }
}

/// PagerDuty's severity for ours: critical, warning and info map to themselves.
pub fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "critical",
        Severity::Warning => "warning",
        Severity::Info => "info",
    }
}

/// The event for one alert instance: `trigger` when firing, `resolve` when resolved.
pub fn event(settings: &PagerDutySettings, n: &Notification, a: &AlertInstance) -> Value {
    let dedup_key = render::dedup_key(n, a);
    match a.status {
        AlertStatus::Resolved => json!({
            "routing_key": settings.routing_key,
            "event_action": "resolve",
            "dedup_key": dedup_key,
        }),
        AlertStatus::Firing => {
            let summary = format!("{}: {}", n.rule_name, render::alert_summary(n, a));
            let mut custom = json!({
                "rule_id": n.rule_id,
                "rule_name": n.rule_name,
                "fingerprint": a.fingerprint,
                "labels": a.labels,
                "annotations": a.annotations,
                "notification_id": n.id,
            });
            if let Some(v) = a.value {
                custom["value"] = json!(format_value(v));
            }
            if !n.description.is_empty() {
                custom["description"] = json!(n.description);
            }
            if n.test {
                custom["test"] = json!(true);
            }
            let mut payload = json!({
                "summary": truncate(&summary, MAX_SUMMARY),
                "source": render::source(a).unwrap_or("heimsight"),
                "severity": severity(n.severity),
                "timestamp": render::iso_millis(a.starts_at),
                "custom_details": custom,
            });
            for key in ["component", "group", "class"] {
                if let Some(v) = a.labels.get(key).filter(|v| !v.is_empty()) {
                    payload[key] = json!(v);
                }
            }
            json!({
                "routing_key": settings.routing_key,
                "event_action": "trigger",
                "dedup_key": dedup_key,
                "client": "Heimsight",
                "payload": payload,
            })
        }
    }
}

/// The events for `n`, one per alert instance, in order.
pub fn events(settings: &PagerDutySettings, n: &Notification) -> Vec<Value> {
    n.alerts.iter().map(|a| event(settings, n, a)).collect()
}

pub(crate) async fn send(
    notifier: &Notifier,
    settings: &PagerDutySettings,
    n: &Notification,
) -> Result<Delivered, SendError> {
    let events = events(settings, n);
    let count = events.len();
    let mut last = Delivered {
        status: None,
        detail: "no alerts, nothing sent".into(),
    };
    for event in events {
        let body = serde_json::to_vec(&event).map_err(|e| {
            SendError::permanent("pagerduty", format!("could not encode an event: {e}"))
        })?;
        last = notifier
            .post_json("pagerduty", &settings.url, &[], body)
            .await?;
    }
    if count > 1 {
        last.detail = format!("{count} events accepted; last answer: {}", last.detail);
    }
    Ok(last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::tests::sample;

    fn settings() -> PagerDutySettings {
        PagerDutySettings {
            routing_key: "R0123456789abcdef0123456789abcde".into(),
            ..Default::default()
        }
    }

    #[test]
    fn firing_alerts_trigger_and_resolved_ones_resolve_with_the_same_key() {
        let n = sample();
        let ev = events(&settings(), &n);
        assert_eq!(ev.len(), 3);
        let t = &ev[0];
        assert_eq!(t["routing_key"], "R0123456789abcdef0123456789abcde");
        assert_eq!(t["event_action"], "trigger");
        assert_eq!(t["dedup_key"], "heimsight-rule-7-aaaa");
        let p = &t["payload"];
        assert_eq!(p["summary"], "High CPU: CPU at 97.5% on web-1");
        assert_eq!(p["source"], "web-1");
        assert_eq!(p["severity"], "critical");
        assert_eq!(p["timestamp"], "2026-01-02T03:04:05.123Z");
        assert_eq!(p["component"], "api");
        assert!(p.get("group").is_none());
        assert_eq!(p["custom_details"]["labels"]["team"], "infra");
        assert_eq!(p["custom_details"]["value"], "97.5");
        let r = &ev[2];
        assert_eq!(r["event_action"], "resolve");
        assert_eq!(r["dedup_key"], "heimsight-rule-7-cccc");
        assert!(r.get("payload").is_none());
    }

    #[test]
    fn severities_map_and_limits_hold() {
        assert_eq!(severity(Severity::Warning), "warning");
        assert_eq!(severity(Severity::Info), "info");
        let mut n = sample();
        n.rule_name = "x".repeat(5000);
        n.rule_id = "y".repeat(5000);
        let e = event(&settings(), &n, &n.alerts[0]);
        let summary = e["payload"]["summary"].as_str().expect("summary");
        assert!(summary.chars().count() <= MAX_SUMMARY);
        let key = e["dedup_key"].as_str().expect("key");
        assert!(key.chars().count() <= MAX_DEDUP_KEY);
    }

    #[test]
    fn test_notifications_carry_a_test_marker() {
        let n = Notification::test(heimsight_core::Timestamp(5));
        let e = event(&settings(), &n, &n.alerts[0]);
        assert_eq!(e["dedup_key"], "heimsight-test-test-0000000000000000");
        assert_eq!(e["payload"]["custom_details"]["test"], true);
        assert_eq!(e["payload"]["severity"], "info");
        assert_eq!(e["payload"]["source"], "heimsight");
    }
}
