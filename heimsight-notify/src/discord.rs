//! Discord, through a channel webhook: one embed.
//!
//! Limits, from Discord's API reference (discord.com/developers/docs/resources/message,
//! "Embed Limits"): title at most 256 characters, description 4096, at most 25 fields with
//! names of at most 256 and values of at most 1024 characters, footer text 2048, and at most
//! 6000 characters across all of them in the message. A webhook's `username` is at most 80
//! characters. Discord answers a webhook execution with `204 No Content`. Mentions are turned
//! off (`allowed_mentions.parse = []`), so label values cannot ping `@everyone`.

use std::fmt;

use heimsight_core::{AlertStatus, Notification, Severity};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::check::{self, Problems};
use crate::fields::Fields;
use crate::notifier::{Delivered, Notifier, SendError};
use crate::render;
use crate::secret;
use crate::text::{self, truncate};

/// Embed title, at most 256 characters.
pub const MAX_TITLE: usize = 256;
/// Embed description, at most 4096 characters.
pub const MAX_DESCRIPTION: usize = 4096;
/// At most 25 fields in an embed.
pub const MAX_FIELDS: usize = 25;
/// Field name, at most 256 characters.
pub const MAX_FIELD_NAME: usize = 256;
/// Field value, at most 1024 characters.
pub const MAX_FIELD_VALUE: usize = 1024;
/// Footer text, at most 2048 characters.
pub const MAX_FOOTER: usize = 2048;
/// All the embed's text together, at most 6000 characters.
pub const MAX_TOTAL: usize = 6000;

/// Embed colour of resolved notifications (green).
pub const COLOR_RESOLVED: u32 = 0x2E_B6_7D;
/// Embed colour of firing critical notifications (red).
pub const COLOR_CRITICAL: u32 = 0xE0_1E_5A;
/// Embed colour of firing warnings (amber).
pub const COLOR_WARNING: u32 = 0xEC_B2_2E;
/// Embed colour of firing informational notifications (blue).
pub const COLOR_INFO: u32 = 0x36_C5_F0;

/// Settings of a Discord webhook.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscordSettings {
    /// The webhook URL (`https://discord.com/api/webhooks/<id>/<token>`). Secret.
    pub url: String,
    /// Name to post as instead of the webhook's (at most 80 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Avatar image URL to post with instead of the webhook's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar_url: Option<String>,
}

impl fmt::Debug for DiscordSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DiscordSettings")
            .field("url", &secret::mask_url(&self.url))
            .field("username", &self.username)
            .field("avatar_url", &self.avatar_url)
            .finish()
    }
}

impl DiscordSettings {
    pub(crate) const SECRETS: &'static [&'static str] = &["url"];

    pub(crate) fn parse(f: &mut Fields<'_, '_>) -> Self {
        Self {
            url: f.string("url"),
            username: f.opt_string("username"),
            avatar_url: f.opt_string("avatar_url"),
        }
    }

    pub(crate) fn check(&self, prefix: &str, p: &mut Problems) {
        check::http_url(
            p,
            &format!("{prefix}.url"),
            &self.url,
            "https://discord.com/api/webhooks/<id>/<token>",
        );
        if let Some(u) = &self.username {
            let path = format!("{prefix}.username");
            check::single_line(p, &path, u);
            check::max_chars(p, &path, u, 80);
        }
        if let Some(a) = &self.avatar_url {
            check::http_url(
                p,
                &format!("{prefix}.avatar_url"),
                a,
                "https://example.com/avatar.png",
            );
        }
    }

    pub(crate) fn redacted(&self) -> Value {
        let mut v = serde_json::to_value(self).unwrap_or_else(|_| json!({}));
        v["url"] = json!(secret::mask_url(&self.url));
        v
    }

    pub(crate) fn keep_secrets_from(&mut self, previous: &Self) {
        secret::keep(&mut self.url, &previous.url, secret::mask_url);
    }
}

/// The embed colour of a notification: green when resolved, else by severity.
pub fn color(n: &Notification) -> u32 {
    match (n.status, n.severity) {
        (AlertStatus::Resolved, _) => COLOR_RESOLVED,
        (AlertStatus::Firing, Severity::Critical) => COLOR_CRITICAL,
        (AlertStatus::Firing, Severity::Warning) => COLOR_WARNING,
        (AlertStatus::Firing, Severity::Info) => COLOR_INFO,
    }
}

/// The webhook body for `n`: one embed with the title, the summary and description, one field
/// per alert (status, value, times, labels), the colour, the time and a footer, within
/// Discord's limits; alerts that do not fit are counted in a last field.
pub fn payload(settings: &DiscordSettings, n: &Notification) -> Value {
    let title = truncate(&n.title(), MAX_TITLE);
    let footer = truncate(
        &format!("Heimsight · rule {} · severity {}", n.rule_name, n.severity),
        MAX_FOOTER.min(300),
    );
    let mut description = n.summary();
    if !n.description.is_empty() && n.description != description {
        description.push_str("\n\n");
        description.push_str(&n.description);
    }
    // The description may use what the title and footer leave, keeping room for alerts.
    let description = truncate(&description, MAX_DESCRIPTION.min(2000));
    let mut used = text::len(&title) + text::len(&footer) + text::len(&description);

    // Reserve room for a closing "more alerts" field.
    const MORE_RESERVE: usize = 40;
    let mut fields = Vec::new();
    for (i, a) in n.alerts.iter().enumerate() {
        let remaining = n.alerts.len() - i;
        // Keep the last slot for "…and N more" unless this alert is the last one.
        let slots_left = MAX_FIELDS - fields.len();
        if slots_left == 0 || (slots_left == 1 && remaining > 1) {
            break;
        }
        let name = truncate(
            &format!(
                "{} · {}",
                render::status_word(a.status),
                render::alert_summary(n, a)
            ),
            MAX_FIELD_NAME,
        );
        let mut value = String::new();
        if let Some(v) = a.value {
            value.push_str(&format!("**Value:** {}\n", text::format_value(v)));
        }
        value.push_str(&format!("**Since:** {}", render::human_time(a.starts_at)));
        if let Some(end) = a.ends_at {
            value.push_str(&format!("\n**Until:** {}", render::human_time(end)));
        }
        if !a.labels.is_empty() {
            value.push_str(&format!(
                "\n**Labels:** {}",
                render::labels_inline(&a.labels)
            ));
        }
        // Alerts share the room: each gets at most its part, within the field limit.
        let room = MAX_TOTAL.saturating_sub(used + MORE_RESERVE);
        let value = truncate(
            &value,
            MAX_FIELD_VALUE.min(room.saturating_sub(text::len(&name))),
        );
        let size = text::len(&name) + text::len(&value);
        if value.is_empty() || used + size + MORE_RESERVE > MAX_TOTAL {
            break;
        }
        used += size;
        fields.push(json!({ "name": name, "value": value, "inline": false }));
    }
    let hidden = n.alerts.len() - fields.len();
    if hidden > 0 {
        fields.push(json!({
            "name": "More alerts",
            "value": format!("…and {hidden} more alert{}", if hidden == 1 { "" } else { "s" }),
            "inline": false,
        }));
    }

    let mut p = json!({
        "embeds": [{
            "title": title,
            "description": description,
            "color": color(n),
            "timestamp": render::iso_millis(n.created_at),
            "footer": { "text": footer },
            "fields": fields,
        }],
        "allowed_mentions": { "parse": [] },
    });
    if let Some(u) = &settings.username {
        p["username"] = json!(u);
    }
    if let Some(a) = &settings.avatar_url {
        p["avatar_url"] = json!(a);
    }
    p
}

pub(crate) async fn send(
    notifier: &Notifier,
    settings: &DiscordSettings,
    n: &Notification,
) -> Result<Delivered, SendError> {
    let body = serde_json::to_vec(&payload(settings, n)).map_err(|e| {
        SendError::permanent("discord", format!("could not encode the payload: {e}"))
    })?;
    notifier
        .post_json("discord", &settings.url, &[], body)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::tests::sample;
    use heimsight_core::{AlertInstance, Timestamp};

    fn settings() -> DiscordSettings {
        DiscordSettings {
            url: "https://discord.com/api/webhooks/1/abcdefghijklmnop".into(),
            username: Some("Heimsight".into()),
            avatar_url: None,
        }
    }

    fn assert_within_limits(p: &Value) {
        let embeds = p["embeds"].as_array().expect("embeds");
        assert_eq!(embeds.len(), 1);
        let e = &embeds[0];
        let s = |v: &Value| text::len(v.as_str().expect("string"));
        assert!(s(&e["title"]) <= MAX_TITLE);
        assert!(s(&e["description"]) <= MAX_DESCRIPTION);
        assert!(s(&e["footer"]["text"]) <= MAX_FOOTER);
        let fields = e["fields"].as_array().expect("fields");
        assert!(fields.len() <= MAX_FIELDS);
        let mut total = s(&e["title"]) + s(&e["description"]) + s(&e["footer"]["text"]);
        for f in fields {
            assert!(s(&f["name"]) <= MAX_FIELD_NAME && s(&f["name"]) > 0);
            assert!(s(&f["value"]) <= MAX_FIELD_VALUE && s(&f["value"]) > 0);
            total += s(&f["name"]) + s(&f["value"]);
        }
        assert!(total <= MAX_TOTAL, "{total}");
        assert!(e["color"].is_u64());
    }

    #[test]
    fn embed_has_title_fields_colour_and_time() {
        let p = payload(&settings(), &sample());
        assert_within_limits(&p);
        assert_eq!(p["username"], "Heimsight");
        assert_eq!(p["allowed_mentions"]["parse"], json!([]));
        let e = &p["embeds"][0];
        assert_eq!(e["title"], "[FIRING:2] High CPU");
        assert_eq!(e["color"], COLOR_CRITICAL);
        assert_eq!(e["timestamp"], "2026-01-02T03:15:00.000Z");
        assert_eq!(e["fields"].as_array().map(Vec::len), Some(3));
        assert_eq!(e["fields"][0]["name"], "Firing · CPU at 97.5% on web-1");
        let v = e["fields"][0]["value"].as_str().expect("value");
        assert!(
            v.contains("**Value:** 97.5") && v.contains("host=web-1"),
            "{v}"
        );
        assert!(
            e["fields"][2]["value"]
                .as_str()
                .is_some_and(|v| v.contains("**Until:**"))
        );
    }

    #[test]
    fn colours_follow_status_and_severity() {
        let mut n = sample();
        n.severity = Severity::Warning;
        assert_eq!(color(&n), COLOR_WARNING);
        n.status = AlertStatus::Resolved;
        assert_eq!(color(&n), COLOR_RESOLVED);
    }

    #[test]
    fn huge_notifications_stay_within_embed_limits() {
        let mut n = sample();
        n.rule_name = "R".repeat(3000);
        n.description = "d".repeat(10_000);
        n.alerts = (0..100)
            .map(|i| AlertInstance {
                fingerprint: format!("{i}"),
                status: AlertStatus::Firing,
                labels: (0..30)
                    .map(|j| (format!("k{j}"), "v".repeat(100)))
                    .collect(),
                annotations: [("summary".to_string(), "😀".repeat(500))].into(),
                value: Some(1.5),
                starts_at: Timestamp(0),
                ends_at: None,
            })
            .collect();
        let p = payload(&settings(), &n);
        assert_within_limits(&p);
        let fields = p["embeds"][0]["fields"].as_array().expect("fields");
        let last = fields.last().expect("a field");
        assert_eq!(last["name"], "More alerts");
        assert!(
            last["value"]
                .as_str()
                .is_some_and(|v| v.ends_with("more alerts"))
        );
    }
}
