//! Generic webhook: the notification as JSON, POSTed to any URL, optionally signed.
//!
//! The payload follows Alertmanager's webhook payload (version 4: `receiver`, `status`,
//! `groupKey`, `groupLabels`, `commonLabels`, `commonAnnotations`, `alerts[]` with `status`,
//! `labels`, `annotations`, `startsAt`, `endsAt`, `fingerprint`), so receivers written for
//! Alertmanager read it, plus Heimsight's own fields: `id`, `rule_id`, `rule_name`,
//! `description`, `severity`, `title`, `summary`, `created_at`, `test` and each alert's
//! `value`.
//!
//! With a `secret`, each request carries `X-Heimsight-Signature: sha256=<hex>`, the
//! HMAC-SHA256 of the raw request body keyed with the secret (as GitHub signs its webhooks),
//! and `X-Heimsight-Timestamp` (Unix seconds when sent). The body holds the notification `id`
//! and `created_at`, so a receiver can reject replays by checking both after the signature.

use std::collections::BTreeMap;
use std::fmt;

use heimsight_core::Notification;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::check::{self, Problems};
use crate::fields::Fields;
use crate::notifier::{Delivered, Notifier, SendError};
use crate::render;
use crate::secret;

/// Header carrying the body's HMAC-SHA256 signature: `sha256=<hex>`.
pub const SIGNATURE_HEADER: &str = "X-Heimsight-Signature";
/// Header carrying the time of sending in Unix seconds.
pub const TIMESTAMP_HEADER: &str = "X-Heimsight-Timestamp";

/// Headers a webhook's `headers` may not set, because the notifier sets them.
const RESERVED_HEADERS: &[&str] = &[
    "content-type",
    "content-length",
    "host",
    "transfer-encoding",
    "connection",
    "x-heimsight-signature",
    "x-heimsight-timestamp",
];

/// Settings of a generic webhook.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    /// Where to POST. Secret as a whole: it may carry credentials in its user info, path or
    /// query, so it is shown as scheme and host only.
    pub url: String,
    /// Key of the HMAC-SHA256 body signature, if requests are to be signed. Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// Extra request headers (say, `Authorization`). Their values are secret.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
}

impl fmt::Debug for WebhookSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookSettings")
            .field("url", &secret::mask_url(&self.url))
            .field("secret", &self.secret.as_deref().map(secret::mask))
            .field("headers", &self.redacted_headers())
            .finish()
    }
}

impl WebhookSettings {
    pub(crate) const SECRETS: &'static [&'static str] = &["url", "secret", "headers"];

    pub(crate) fn parse(f: &mut Fields<'_, '_>) -> Self {
        Self {
            url: f.string("url"),
            secret: f.opt_string("secret"),
            headers: f.string_map("headers"),
        }
    }

    pub(crate) fn check(&self, prefix: &str, p: &mut Problems) {
        check::http_url(
            p,
            &format!("{prefix}.url"),
            &self.url,
            "https://example.com/hooks/heimsight",
        );
        if let Some(s) = &self.secret {
            check::secret_value(p, &format!("{prefix}.secret"), s);
        }
        for (name, value) in &self.headers {
            let path = format!("{prefix}.headers.{name}");
            if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                check::push(p, &path, "not a valid HTTP header name");
            } else if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
                check::push(p, &path, "set by Heimsight itself; it cannot be overridden");
            }
            check::secret_value(p, &path, value);
        }
    }

    fn redacted_headers(&self) -> BTreeMap<&str, String> {
        self.headers
            .iter()
            .map(|(k, v)| (k.as_str(), secret::mask(v)))
            .collect()
    }

    pub(crate) fn redacted(&self) -> Value {
        let mut v = json!({ "url": secret::mask_url(&self.url) });
        if let Some(s) = &self.secret {
            v["secret"] = json!(secret::mask(s));
        }
        if !self.headers.is_empty() {
            v["headers"] = json!(self.redacted_headers());
        }
        v
    }

    pub(crate) fn keep_secrets_from(&mut self, previous: &Self) {
        secret::keep(&mut self.url, &previous.url, secret::mask_url);
        secret::keep_opt(&mut self.secret, &previous.secret);
        for (name, value) in &mut self.headers {
            if let Some(prev) = previous.headers.get(name) {
                secret::keep(value, prev, secret::mask);
            }
        }
    }
}

/// The JSON body sent for `n`; `receiver` names the channel (Alertmanager's `receiver`).
pub fn payload(receiver: &str, n: &Notification) -> Value {
    let alerts: Vec<Value> = n
        .alerts
        .iter()
        .map(|a| {
            json!({
                "status": a.status,
                "labels": a.labels,
                "annotations": a.annotations,
                "startsAt": a.starts_at,
                "endsAt": a.ends_at,
                "fingerprint": a.fingerprint,
                "value": a.value.filter(|v| v.is_finite()),
            })
        })
        .collect();
    json!({
        "version": "4",
        "id": n.id,
        "receiver": receiver,
        "status": n.status,
        "groupKey": n.group_key,
        "truncatedAlerts": 0,
        "groupLabels": { "alertname": n.rule_name },
        "commonLabels": render::common_labels(n),
        "commonAnnotations": render::common_annotations(n),
        "alerts": alerts,
        "rule_id": n.rule_id,
        "rule_name": n.rule_name,
        "description": n.description,
        "severity": n.severity,
        "title": n.title(),
        "summary": n.summary(),
        "created_at": n.created_at,
        "test": n.test,
    })
}

/// The value of [`SIGNATURE_HEADER`] for `body`: `sha256=` and the lower-case hex
/// HMAC-SHA256 of the body keyed with `secret`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let tag = ring::hmac::sign(&key, body);
    format!("sha256={}", render::hex(tag.as_ref()))
}

pub(crate) async fn send(
    notifier: &Notifier,
    receiver: &str,
    settings: &WebhookSettings,
    n: &Notification,
) -> Result<Delivered, SendError> {
    let body = serde_json::to_vec(&payload(receiver, n)).map_err(|e| {
        SendError::permanent("webhook", format!("could not encode the payload: {e}"))
    })?;
    let mut headers: Vec<(String, String)> = settings
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    headers.push((TIMESTAMP_HEADER.to_string(), now.to_string()));
    if let Some(secret) = &settings.secret {
        headers.push((SIGNATURE_HEADER.to_string(), signature(secret, &body)));
    }
    notifier
        .post_json("webhook", &settings.url, &headers, body)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::tests::sample;

    #[test]
    fn payload_has_alertmanager_fields_and_ours() {
        let n = sample();
        let p = payload("ops", &n);
        assert_eq!(p["version"], "4");
        assert_eq!(p["receiver"], "ops");
        assert_eq!(p["status"], "firing");
        assert_eq!(p["groupKey"], "rule-7");
        assert_eq!(p["commonLabels"]["team"], "infra");
        assert_eq!(p["rule_id"], "rule-7");
        assert_eq!(p["severity"], "critical");
        assert_eq!(p["title"], "[FIRING:2] High CPU");
        assert_eq!(p["test"], false);
        let alerts = p["alerts"].as_array().map(Vec::len);
        assert_eq!(alerts, Some(3));
        let a = &p["alerts"][0];
        assert_eq!(a["fingerprint"], "aaaa");
        assert_eq!(a["labels"]["host"], "web-1");
        assert_eq!(a["annotations"]["summary"], "CPU at 97.5% on web-1");
        assert_eq!(a["value"], 97.5);
        assert_eq!(a["startsAt"], "2026-01-02T03:04:05.123456789Z");
        assert!(a["endsAt"].is_null());
        assert_eq!(p["alerts"][2]["status"], "resolved");
        assert!(p["alerts"][2]["endsAt"].is_string());
    }

    #[test]
    fn non_finite_values_are_null() {
        let mut n = sample();
        n.alerts[0].value = Some(f64::NAN);
        assert!(payload("x", &n)["alerts"][0]["value"].is_null());
    }

    #[test]
    fn signature_is_hmac_sha256_hex() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
