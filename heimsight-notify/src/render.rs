//! Pieces of a notification shared by the channels' payloads.

use std::collections::BTreeMap;

use heimsight_core::{AlertInstance, AlertStatus, Notification, Timestamp};

/// The labels every alert of the notification has, with the same value.
pub(crate) fn common_labels(n: &Notification) -> BTreeMap<String, String> {
    common(n, |a| &a.labels)
}

/// The annotations every alert of the notification has, with the same value.
pub(crate) fn common_annotations(n: &Notification) -> BTreeMap<String, String> {
    common(n, |a| &a.annotations)
}

fn common(
    n: &Notification,
    map: fn(&AlertInstance) -> &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let Some((first, rest)) = n.alerts.split_first() else {
        return BTreeMap::new();
    };
    map(first)
        .iter()
        .filter(|(k, v)| rest.iter().all(|a| map(a).get(*k) == Some(*v)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// One line saying what an alert is about: its `summary` annotation, else its `description`,
/// else the notification's [`summary`](Notification::summary).
pub(crate) fn alert_summary(n: &Notification, a: &AlertInstance) -> String {
    ["summary", "description"]
        .iter()
        .find_map(|k| a.annotations.get(*k).filter(|s| !s.is_empty()))
        .cloned()
        .unwrap_or_else(|| n.summary())
}

/// The label naming the system an alert is about, when there is one.
pub(crate) fn source(a: &AlertInstance) -> Option<&str> {
    [
        "instance",
        "host",
        "host.name",
        "service",
        "service.name",
        "job",
    ]
    .iter()
    .find_map(|k| a.labels.get(*k).filter(|v| !v.is_empty()))
    .map(String::as_str)
}

/// `Firing` or `Resolved`.
pub(crate) fn status_word(s: AlertStatus) -> &'static str {
    match s {
        AlertStatus::Firing => "Firing",
        AlertStatus::Resolved => "Resolved",
    }
}

/// `k=v, k2=v2`.
pub(crate) fn labels_inline(labels: &BTreeMap<String, String>) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// RFC 3339 with milliseconds (`2026-01-02T03:04:05.123Z`), which every service's ISO 8601
/// parser reads (some reject nanoseconds).
pub(crate) fn iso_millis(t: Timestamp) -> String {
    let s = t.to_rfc3339();
    match s.find('.') {
        Some(dot) if s.len() >= dot + 4 && s.ends_with('Z') => format!("{}Z", &s[..dot + 4]),
        _ => s,
    }
}

/// `2026-01-02 03:04:05 UTC`, for people.
pub(crate) fn human_time(t: Timestamp) -> String {
    let s = t.to_rfc3339();
    match (s.get(..10), s.get(11..19)) {
        (Some(date), Some(time)) if s.ends_with('Z') => format!("{date} {time} UTC"),
        _ => s,
    }
}

/// The key identifying one alert instance at PagerDuty (`dedup_key`) and Opsgenie (`alias`):
/// `heimsight-<rule_id>-<fingerprint>`, with a `test` marker for test notifications
/// (`heimsight-test-<rule_id>-<fingerprint>`). Keys longer than PagerDuty's 255-character
/// limit are replaced by `heimsight-sha256-<hex>` of the full key, which is as stable.
pub fn dedup_key(n: &Notification, a: &AlertInstance) -> String {
    let marker = if n.test { "test-" } else { "" };
    let key = format!("heimsight-{marker}{}-{}", n.rule_id, a.fingerprint);
    if key.chars().count() <= 255 {
        key
    } else {
        let digest = ring::digest::digest(&ring::digest::SHA256, key.as_bytes());
        format!("heimsight-{marker}sha256-{}", hex(digest.as_ref()))
    }
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use heimsight_core::Severity;

    /// A notification with two firing alerts and one resolved, sharing some labels.
    pub(crate) fn sample() -> Notification {
        let alert = |fp: &str, host: &str, status: AlertStatus, value: f64| AlertInstance {
            fingerprint: fp.into(),
            status,
            labels: [
                ("alertname", "High CPU"),
                ("host", host),
                ("team", "infra"),
                ("component", "api"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
            annotations: [("summary", format!("CPU at {value}% on {host}"))]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            value: Some(value),
            starts_at: Timestamp(1_767_323_045_123_456_789),
            ends_at: (status == AlertStatus::Resolved)
                .then_some(Timestamp(1_767_323_645_000_000_000)),
        };
        Notification {
            id: "n-1".into(),
            rule_id: "rule-7".into(),
            rule_name: "High CPU".into(),
            description: "CPU above 90% for 5 minutes".into(),
            severity: Severity::Critical,
            status: AlertStatus::Firing,
            group_key: "rule-7".into(),
            alerts: vec![
                alert("aaaa", "web-1", AlertStatus::Firing, 97.5),
                alert("bbbb", "web-2", AlertStatus::Firing, 93.0),
                alert("cccc", "web-3", AlertStatus::Resolved, 40.0),
            ],
            created_at: Timestamp(1_767_323_700_000_000_000),
            test: false,
        }
    }

    #[test]
    fn common_labels_are_shared_by_all_alerts() {
        let n = sample();
        let common = common_labels(&n);
        assert_eq!(common.get("team").map(String::as_str), Some("infra"));
        assert!(!common.contains_key("host"));
        assert!(common_annotations(&n).is_empty());
    }

    #[test]
    fn dedup_keys_are_stable_marked_for_tests_and_bounded() {
        let mut n = sample();
        assert_eq!(dedup_key(&n, &n.alerts[0]), "heimsight-rule-7-aaaa");
        n.test = true;
        assert_eq!(dedup_key(&n, &n.alerts[0]), "heimsight-test-rule-7-aaaa");
        n.rule_id = "r".repeat(400);
        let k = dedup_key(&n, &n.alerts[0]);
        assert!(
            k.len() <= 255 && k.starts_with("heimsight-test-sha256-"),
            "{k}"
        );
        assert_eq!(k, dedup_key(&n, &n.alerts[0]));
        assert_ne!(k, dedup_key(&n, &n.alerts[1]));
    }

    #[test]
    fn times_print_with_milliseconds_or_seconds() {
        let t = Timestamp(1_767_323_045_123_456_789);
        assert_eq!(iso_millis(t), "2026-01-02T03:04:05.123Z");
        assert_eq!(human_time(t), "2026-01-02 03:04:05 UTC");
    }
}
