//! Opsgenie, through the Alert API: create an alert per firing instance, close it when it
//! resolves.
//!
//! From Opsgenie's Alert API reference (docs.opsgenie.com/docs/alert-api): requests carry
//! `Authorization: GenieKey <api key>`; "Create Alert" is `POST /v2/alerts` with `message`
//! (the only mandatory field, at most 130 characters), `alias` (the de-duplication key, at
//! most 512), `description` (15,000), `tags` (at most 20, each at most 50 characters),
//! `details` (a map of strings, 8000 characters in total), `entity` (512), `source` (100) and
//! `priority` (`P1` to `P5`, default `P3`); "Close Alert" is
//! `POST /v2/alerts/{identifier}/close?identifierType=alias` with optional `source`, `user`
//! and `note` (25,000). Both are processed asynchronously and answered `202 Accepted`.
//! EU accounts use `https://api.eu.opsgenie.com`.
//!
//! The alias is the same key PagerDuty gets as `dedup_key` ([`dedup_key`](crate::dedup_key)).

use std::collections::BTreeMap;
use std::fmt;

use heimsight_core::{AlertInstance, AlertStatus, Notification, Severity};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::check::{self, Problems};
use crate::fields::Fields;
use crate::notifier::{Delivered, Notifier, SendError};
use crate::render;
use crate::secret;
use crate::text::{self, format_value, truncate};

/// The Alert API's base URL (US accounts).
pub const DEFAULT_URL: &str = "https://api.opsgenie.com";
/// `message`, at most 130 characters.
pub const MAX_MESSAGE: usize = 130;
/// `alias`, at most 512 characters.
pub const MAX_ALIAS: usize = 512;
/// `description`, at most 15,000 characters.
pub const MAX_DESCRIPTION: usize = 15_000;
/// At most 20 tags.
pub const MAX_TAGS: usize = 20;
/// A tag, at most 50 characters.
pub const MAX_TAG: usize = 50;
/// `details`, at most 8000 characters in total (keys and values).
pub const MAX_DETAILS: usize = 8000;
/// `entity`, at most 512 characters.
pub const MAX_ENTITY: usize = 512;
/// `source`, at most 100 characters.
pub const SOURCE: &str = "Heimsight";

/// Settings of an Opsgenie API integration.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpsgenieSettings {
    /// The API key of an Opsgenie "API" integration. Secret.
    pub api_key: String,
    /// The API base URL ([`DEFAULT_URL`]; EU accounts: `https://api.eu.opsgenie.com`).
    #[serde(default = "default_url")]
    pub url: String,
}

fn default_url() -> String {
    DEFAULT_URL.to_string()
}

impl Default for OpsgenieSettings {
    fn default() -> Self {
        Self {
            api_key: String::new(),
            url: default_url(),
        }
    }
}

impl fmt::Debug for OpsgenieSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpsgenieSettings")
            .field("api_key", &secret::mask(&self.api_key))
            .field("url", &self.url)
            .finish()
    }
}

impl OpsgenieSettings {
    pub(crate) const SECRETS: &'static [&'static str] = &["api_key"];

    pub(crate) fn parse(f: &mut Fields<'_, '_>) -> Self {
        Self {
            api_key: f.string("api_key"),
            url: f.opt_string("url").unwrap_or_else(default_url),
        }
    }

    pub(crate) fn check(&self, prefix: &str, p: &mut Problems) {
        check::secret(
            p,
            &format!("{prefix}.api_key"),
            &self.api_key,
            "API key of an Opsgenie API integration",
        );
        check::http_url(p, &format!("{prefix}.url"), &self.url, DEFAULT_URL);
    }

    pub(crate) fn redacted(&self) -> Value {
        json!({ "api_key": secret::mask(&self.api_key), "url": self.url })
    }

    pub(crate) fn keep_secrets_from(&mut self, previous: &Self) {
        secret::keep(&mut self.api_key, &previous.api_key, secret::mask);
    }
}

/// One Alert API request: where to POST and what.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// Full URL, query included.
    pub url: String,
    /// JSON body.
    pub body: Value,
}

/// Opsgenie's priority for our severity: critical → P1, warning → P3, info → P5.
pub fn priority(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "P1",
        Severity::Warning => "P3",
        Severity::Info => "P5",
    }
}

/// `{base}/v2/alerts` followed by `extra` path segments (each percent-encoded).
fn alerts_url(base: &str, extra: &[&str]) -> Option<reqwest::Url> {
    let mut url = reqwest::Url::parse(base).ok()?;
    {
        let mut segments = url.path_segments_mut().ok()?;
        segments
            .pop_if_empty()
            .extend(["v2", "alerts"])
            .extend(extra);
    }
    Some(url)
}

fn tags(a: &AlertInstance, n: &Notification) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    let candidates = std::iter::once(format!("severity:{}", n.severity))
        .chain(a.labels.iter().map(|(k, v)| format!("{k}:{v}")));
    for t in candidates {
        let t = truncate(&t, MAX_TAG);
        if !tags.contains(&t) {
            tags.push(t);
        }
        if tags.len() == MAX_TAGS {
            break;
        }
    }
    tags
}

/// Details: a string map of at most [`MAX_DETAILS`] characters. The rule and alert identity
/// come first, then labels and annotations while they fit.
fn details(a: &AlertInstance, n: &Notification) -> BTreeMap<String, String> {
    let mut entries: Vec<(String, String)> = vec![
        ("rule_id".into(), n.rule_id.clone()),
        ("rule_name".into(), n.rule_name.clone()),
        ("fingerprint".into(), a.fingerprint.clone()),
        ("notification_id".into(), n.id.clone()),
    ];
    if let Some(v) = a.value {
        entries.push(("value".into(), format_value(v)));
    }
    if n.test {
        entries.push(("test".into(), "true".into()));
    }
    entries.extend(a.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
    entries.extend(
        a.annotations
            .iter()
            .map(|(k, v)| (format!("annotation.{k}"), v.clone())),
    );
    let mut out = BTreeMap::new();
    let mut used = 0;
    for (k, v) in entries {
        if out.contains_key(&k) {
            continue;
        }
        let k = truncate(&k, 100);
        let room = MAX_DETAILS.saturating_sub(used + text::len(&k));
        if room < 2 {
            break;
        }
        let v = truncate(&v, room.min(1000));
        used += text::len(&k) + text::len(&v);
        out.insert(k, v);
    }
    out
}

/// The request for one alert instance: create when firing, close (by alias) when resolved.
/// `None` when the settings' URL cannot take a path (validation rejects such URLs).
pub fn request(
    settings: &OpsgenieSettings,
    n: &Notification,
    a: &AlertInstance,
) -> Option<Request> {
    let alias = truncate(&render::dedup_key(n, a), MAX_ALIAS);
    match a.status {
        AlertStatus::Firing => {
            let message = format!("{}: {}", n.rule_name, render::alert_summary(n, a));
            let mut description = format!("{}\n\n{}", n.title(), render::alert_summary(n, a));
            if !n.description.is_empty() {
                description.push_str("\n\n");
                description.push_str(&n.description);
            }
            if !a.labels.is_empty() {
                description.push_str("\n\nLabels: ");
                description.push_str(&render::labels_inline(&a.labels));
            }
            let entity = render::source(a).unwrap_or(&n.rule_name);
            let url = alerts_url(&settings.url, &[])?;
            Some(Request {
                url: url.to_string(),
                body: json!({
                    "message": truncate(&message, MAX_MESSAGE),
                    "alias": alias,
                    "description": truncate(&description, MAX_DESCRIPTION),
                    "tags": tags(a, n),
                    "details": details(a, n),
                    "entity": truncate(entity, MAX_ENTITY),
                    "source": SOURCE,
                    "priority": priority(n.severity),
                }),
            })
        }
        AlertStatus::Resolved => {
            let mut url = alerts_url(&settings.url, &[&alias, "close"])?;
            url.query_pairs_mut().append_pair("identifierType", "alias");
            let note = match a.ends_at {
                Some(end) => format!("Resolved at {} (Heimsight)", render::human_time(end)),
                None => "Resolved (Heimsight)".to_string(),
            };
            Some(Request {
                url: url.to_string(),
                body: json!({ "source": SOURCE, "note": note }),
            })
        }
    }
}

/// The requests for `n`, one per alert instance, in order.
pub fn requests(settings: &OpsgenieSettings, n: &Notification) -> Vec<Request> {
    n.alerts
        .iter()
        .filter_map(|a| request(settings, n, a))
        .collect()
}

pub(crate) async fn send(
    notifier: &Notifier,
    settings: &OpsgenieSettings,
    n: &Notification,
) -> Result<Delivered, SendError> {
    let requests = requests(settings, n);
    if requests.len() != n.alerts.len() {
        return Err(SendError::permanent(
            "opsgenie",
            "the API URL cannot take a path; expected a URL such as https://api.opsgenie.com",
        ));
    }
    let auth = [(
        "Authorization".to_string(),
        format!("GenieKey {}", settings.api_key),
    )];
    let count = requests.len();
    let mut last = Delivered {
        status: None,
        detail: "no alerts, nothing sent".into(),
    };
    for r in requests {
        let body = serde_json::to_vec(&r.body).map_err(|e| {
            SendError::permanent("opsgenie", format!("could not encode a request: {e}"))
        })?;
        last = notifier.post_json("opsgenie", &r.url, &auth, body).await?;
    }
    if count > 1 {
        last.detail = format!("{count} requests accepted; last answer: {}", last.detail);
    }
    Ok(last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::tests::sample;

    fn settings() -> OpsgenieSettings {
        OpsgenieSettings {
            api_key: "eb243592-faa2-4ba2-a551-1afdf565c889".into(),
            ..Default::default()
        }
    }

    #[test]
    fn firing_alerts_create_and_resolved_ones_close_by_alias() {
        let n = sample();
        let rs = requests(&settings(), &n);
        assert_eq!(rs.len(), 3);
        assert_eq!(rs[0].url, "https://api.opsgenie.com/v2/alerts");
        let b = &rs[0].body;
        assert_eq!(b["message"], "High CPU: CPU at 97.5% on web-1");
        assert_eq!(b["alias"], "heimsight-rule-7-aaaa");
        assert_eq!(b["priority"], "P1");
        assert_eq!(b["source"], "Heimsight");
        assert_eq!(b["entity"], "web-1");
        assert_eq!(b["details"]["host"], "web-1");
        assert_eq!(b["details"]["value"], "97.5");
        assert!(
            b["tags"]
                .as_array()
                .is_some_and(|t| t.contains(&json!("team:infra")))
        );
        assert!(
            b["description"]
                .as_str()
                .is_some_and(|d| d.contains("CPU above 90%"))
        );
        assert_eq!(
            rs[2].url,
            "https://api.opsgenie.com/v2/alerts/heimsight-rule-7-cccc/close?identifierType=alias"
        );
        assert_eq!(rs[2].body["source"], "Heimsight");
        assert!(
            rs[2].body["note"]
                .as_str()
                .is_some_and(|s| s.starts_with("Resolved at"))
        );
    }

    #[test]
    fn aliases_are_percent_encoded_in_the_close_path() {
        let mut n = sample();
        n.rule_id = "a/b c?d#e%".into();
        let rs = requests(
            &OpsgenieSettings {
                url: "https://api.eu.opsgenie.com/".into(),
                ..settings()
            },
            &n,
        );
        assert_eq!(
            rs[2].url,
            "https://api.eu.opsgenie.com/v2/alerts/heimsight-a%2Fb%20c%3Fd%23e%25-cccc/close?identifierType=alias"
        );
    }

    #[test]
    fn limits_hold_for_huge_input() {
        let mut n = sample();
        n.rule_name = "m".repeat(1000);
        n.description = "d".repeat(50_000);
        n.alerts[0].labels = (0..100)
            .map(|i| (format!("label-{i}-{}", "k".repeat(60)), "v".repeat(500)))
            .collect();
        let r = request(&settings(), &n, &n.alerts[0]).expect("request");
        let b = &r.body;
        let len = |v: &Value| text::len(v.as_str().expect("string"));
        assert!(len(&b["message"]) <= MAX_MESSAGE);
        assert!(len(&b["description"]) <= MAX_DESCRIPTION);
        assert!(len(&b["alias"]) <= MAX_ALIAS);
        let tags = b["tags"].as_array().expect("tags");
        assert!(tags.len() <= MAX_TAGS && tags.iter().all(|t| len(t) <= MAX_TAG));
        let details = b["details"].as_object().expect("details");
        let total: usize = details.iter().map(|(k, v)| text::len(k) + len(v)).sum();
        assert!(total <= MAX_DETAILS, "{total}");
        assert!(details.values().all(Value::is_string));
        assert_eq!(details["rule_id"], "rule-7");
    }

    #[test]
    fn priorities_map() {
        assert_eq!(priority(Severity::Critical), "P1");
        assert_eq!(priority(Severity::Warning), "P3");
        assert_eq!(priority(Severity::Info), "P5");
    }
}
