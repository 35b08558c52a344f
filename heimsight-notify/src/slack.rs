//! Slack, through an incoming webhook: a Block Kit message.
//!
//! Limits, from Slack's Block Kit reference (docs.slack.dev/reference/block-kit): a message
//! has at most 50 blocks; a header block's `plain_text` at most 150 characters; a section's
//! `text` at most 3000 characters and its `fields` at most 10 items of at most 2000
//! characters each. Slack also rejects messages whose blocks hold too much text in total
//! (`msg_blocks_too_long`, seen around 13,000 characters, undocumented), so alerts are
//! listed until [`MAX_TOTAL_TEXT`] characters of block text and the rest are counted in a
//! closing line. User data in `mrkdwn` text is escaped (`&`, `<`, `>`), so labels cannot
//! mention `@channel` or forge links.

use std::fmt;

use heimsight_core::{AlertStatus, Notification, Severity};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::check::{self, Problems};
use crate::fields::Fields;
use crate::notifier::{Delivered, Notifier, SendError};
use crate::render;
use crate::secret;
use crate::text::{self, escape_truncate, truncate};

/// Block Kit: at most 50 blocks in a message.
pub const MAX_BLOCKS: usize = 50;
/// Block Kit: a header's text, at most 150 characters.
pub const MAX_HEADER: usize = 150;
/// Block Kit: a section's text, at most 3000 characters.
pub const MAX_SECTION_TEXT: usize = 3000;
/// Block Kit: at most 10 fields in a section.
pub const MAX_FIELDS: usize = 10;
/// Block Kit: a field's text, at most 2000 characters.
pub const MAX_FIELD_TEXT: usize = 2000;
/// Alerts shown one by one, at most (the rest are counted).
pub const MAX_ALERTS: usize = 20;
/// Block text budget of a message, below Slack's undocumented total limit.
pub const MAX_TOTAL_TEXT: usize = 11_000;
/// An alert's summary in its section, at most (keeps one alert well inside the budget).
const ALERT_TEXT: usize = 1000;
/// A label field of an alert, at most.
const LABEL_FIELD: usize = 500;

/// Settings of a Slack incoming webhook.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackSettings {
    /// The incoming webhook URL (`https://hooks.slack.com/services/…`). Secret.
    pub url: String,
    /// Channel to post to instead of the webhook's own (`#ops`; legacy webhooks only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// Name to post as (legacy webhooks only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Emoji to post with (`:rotating_light:`; legacy webhooks only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon_emoji: Option<String>,
}

impl fmt::Debug for SlackSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlackSettings")
            .field("url", &secret::mask_url(&self.url))
            .field("channel", &self.channel)
            .field("username", &self.username)
            .field("icon_emoji", &self.icon_emoji)
            .finish()
    }
}

impl SlackSettings {
    pub(crate) const SECRETS: &'static [&'static str] = &["url"];

    pub(crate) fn parse(f: &mut Fields<'_, '_>) -> Self {
        Self {
            url: f.string("url"),
            channel: f.opt_string("channel"),
            username: f.opt_string("username"),
            icon_emoji: f.opt_string("icon_emoji"),
        }
    }

    pub(crate) fn check(&self, prefix: &str, p: &mut Problems) {
        check::http_url(
            p,
            &format!("{prefix}.url"),
            &self.url,
            "https://hooks.slack.com/services/T000/B000/XXXX",
        );
        for (name, value) in [
            ("channel", &self.channel),
            ("username", &self.username),
            ("icon_emoji", &self.icon_emoji),
        ] {
            if let Some(v) = value {
                let path = format!("{prefix}.{name}");
                check::single_line(p, &path, v);
                check::max_chars(p, &path, v, 80);
            }
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

fn esc(s: &str, max: usize) -> String {
    escape_truncate(s, max, escape_mrkdwn)
}

/// Escapes text for Slack `mrkdwn`: `&`, `<` and `>` become entities.
pub fn escape_mrkdwn(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

fn mrkdwn(text: String) -> Value {
    json!({ "type": "mrkdwn", "text": text })
}

fn severity_emoji(n: &Notification) -> &'static str {
    match (n.status, n.severity) {
        (AlertStatus::Resolved, _) => ":large_green_circle:",
        (AlertStatus::Firing, Severity::Critical) => ":red_circle:",
        (AlertStatus::Firing, Severity::Warning) => ":large_orange_circle:",
        (AlertStatus::Firing, Severity::Info) => ":large_blue_circle:",
    }
}

/// Text size of a block, as Slack counts it towards its total.
fn block_text_len(block: &Value) -> usize {
    match block {
        Value::String(s) => text::len(s),
        Value::Array(items) => items.iter().map(block_text_len).sum(),
        Value::Object(map) => map
            .iter()
            .filter(|(k, _)| k.as_str() != "type")
            .map(|(_, v)| block_text_len(v))
            .sum(),
        _ => 0,
    }
}

/// The section describing one alert: its summary as text, and fields for status, value,
/// times and labels (labels beyond the 10-field limit share the last field).
fn alert_section(n: &Notification, a: &heimsight_core::AlertInstance) -> Value {
    let mut fields = vec![mrkdwn(format!(
        "*Status*\n{}",
        render::status_word(a.status)
    ))];
    if let Some(v) = a.value {
        fields.push(mrkdwn(format!(
            "*Value*\n{}",
            esc(&text::format_value(v), 1000)
        )));
    }
    let times = match a.ends_at {
        Some(end) => format!(
            "*Since*\n{}\n*Until*\n{}",
            render::human_time(a.starts_at),
            render::human_time(end)
        ),
        None => format!("*Since*\n{}", render::human_time(a.starts_at)),
    };
    fields.push(mrkdwn(times));
    let room = MAX_FIELDS - fields.len();
    let labels: Vec<_> = a.labels.iter().collect();
    let (own, shared) = if labels.len() > room {
        labels.split_at(room - 1)
    } else {
        (labels.as_slice(), &[][..])
    };
    for (k, v) in own {
        let key = esc(k, 200);
        let budget = LABEL_FIELD.saturating_sub(text::len(&key) + 3);
        fields.push(mrkdwn(format!("*{key}*\n{}", esc(v, budget))));
    }
    if !shared.is_empty() {
        let rest: Vec<String> = shared.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let head = "*More labels*\n";
        fields.push(mrkdwn(format!(
            "{head}{}",
            esc(&rest.join(", "), LABEL_FIELD - text::len(head))
        )));
    }
    json!({
        "type": "section",
        "text": mrkdwn(esc(&render::alert_summary(n, a), ALERT_TEXT)),
        "fields": fields,
    })
}

/// The Block Kit message for `n`: `text` (the notification fallback), `blocks` (a header with
/// the title, a section with the summary, one section per alert with its details, a context
/// line) and the settings' `channel`, `username` and `icon_emoji` when set.
pub fn payload(settings: &SlackSettings, n: &Notification) -> Value {
    let title = n.title();
    let mut blocks = vec![json!({
        "type": "header",
        "text": { "type": "plain_text", "text": truncate(&title, MAX_HEADER), "emoji": true },
    })];

    let mut intro = format!("{} {}", severity_emoji(n), escape_mrkdwn(&n.summary()));
    if !n.description.is_empty() && n.description != n.summary() {
        intro.push('\n');
        intro.push_str(&escape_mrkdwn(&n.description));
    }
    intro.push_str(&format!(
        "\n*Severity:* {} · *Rule:* {}",
        n.severity,
        escape_mrkdwn(&n.rule_name)
    ));
    blocks.push(json!({
        "type": "section",
        "text": mrkdwn(escape_truncate_escaped(&intro, MAX_SECTION_TEXT)),
    }));

    let context = json!({
        "type": "context",
        "elements": [mrkdwn(esc(
            &format!(
                "Heimsight · notification {} · {}",
                n.id,
                render::human_time(n.created_at)
            ),
            MAX_SECTION_TEXT,
        ))],
    });

    // What the intro and context take, and room for the "…and N more alerts" line.
    let mut used: usize =
        blocks.iter().map(block_text_len).sum::<usize>() + block_text_len(&context) + 40;
    // Room for the alerts: the blocks left after the intro, the "more" line and the context.
    let max_alerts = MAX_ALERTS.min(MAX_BLOCKS - blocks.len() - 2);
    let mut shown = 0;
    for a in n.alerts.iter().take(max_alerts) {
        let section = alert_section(n, a);
        let size = block_text_len(&section);
        if used + size > MAX_TOTAL_TEXT {
            break;
        }
        used += size;
        blocks.push(section);
        shown += 1;
    }
    let hidden = n.alerts.len() - shown;
    if hidden > 0 {
        blocks.push(json!({
            "type": "section",
            "text": mrkdwn(format!(
                "…and {hidden} more alert{}",
                if hidden == 1 { "" } else { "s" }
            )),
        }));
    }
    blocks.push(context);

    let mut p = json!({
        "text": esc(&format!("{title}: {}", n.summary()), MAX_SECTION_TEXT),
        "blocks": blocks,
    });
    if let Some(c) = &settings.channel {
        p["channel"] = json!(c);
    }
    if let Some(u) = &settings.username {
        p["username"] = json!(u);
    }
    if let Some(i) = &settings.icon_emoji {
        p["icon_emoji"] = json!(i);
    }
    p
}

/// Cuts already-escaped text to `max` units without splitting an entity.
fn escape_truncate_escaped(s: &str, max: usize) -> String {
    if text::len(s) <= max {
        return s.to_string();
    }
    let mut cut = truncate(s, max);
    cut.pop(); // the ellipsis
    if let Some(amp) = cut.rfind('&')
        && !cut[amp..].contains(';')
    {
        cut.truncate(amp);
    }
    cut.push('…');
    cut
}

pub(crate) async fn send(
    notifier: &Notifier,
    settings: &SlackSettings,
    n: &Notification,
) -> Result<Delivered, SendError> {
    let body = serde_json::to_vec(&payload(settings, n))
        .map_err(|e| SendError::permanent("slack", format!("could not encode the payload: {e}")))?;
    notifier.post_json("slack", &settings.url, &[], body).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::tests::sample;
    use heimsight_core::{AlertInstance, Timestamp};

    fn settings() -> SlackSettings {
        SlackSettings {
            url: "https://hooks.slack.com/services/T0/B0/abcdefghijklmnop".into(),
            channel: Some("#ops".into()),
            ..Default::default()
        }
    }

    /// Checks a message against the Block Kit limits.
    fn assert_within_limits(p: &Value) {
        let blocks = p["blocks"].as_array().expect("blocks");
        assert!(!blocks.is_empty() && blocks.len() <= MAX_BLOCKS);
        for b in blocks {
            match b["type"].as_str() {
                Some("header") => {
                    assert_eq!(b["text"]["type"], "plain_text");
                    let t = b["text"]["text"].as_str().expect("header text");
                    assert!(text::len(t) <= MAX_HEADER, "header {}", t.len());
                }
                Some("section") => {
                    let t = b["text"]["text"].as_str().expect("section text");
                    assert!(text::len(t) <= MAX_SECTION_TEXT);
                    if let Some(fields) = b["fields"].as_array() {
                        assert!(fields.len() <= MAX_FIELDS);
                        for f in fields {
                            assert_eq!(f["type"], "mrkdwn");
                            let t = f["text"].as_str().expect("field text");
                            assert!(text::len(t) <= MAX_FIELD_TEXT);
                        }
                    }
                }
                Some("context") => {
                    let els = b["elements"].as_array().expect("elements");
                    assert!(!els.is_empty() && els.len() <= 10);
                }
                other => panic!("unexpected block {other:?}"),
            }
        }
        assert!(p["text"].as_str().is_some_and(|t| !t.is_empty()));
    }

    #[test]
    fn message_has_header_summary_alerts_and_context() {
        let p = payload(&settings(), &sample());
        assert_within_limits(&p);
        assert_eq!(p["channel"], "#ops");
        assert!(p.get("username").is_none());
        let blocks = p["blocks"].as_array().expect("blocks");
        assert_eq!(blocks[0]["text"]["text"], "[FIRING:2] High CPU");
        let intro = blocks[1]["text"]["text"].as_str().expect("intro");
        assert!(
            intro.contains("CPU at 97.5% on web-1") && intro.contains("critical"),
            "{intro}"
        );
        // Three alerts, then the context.
        assert_eq!(blocks.len(), 2 + 3 + 1);
        let fields = blocks[2]["fields"].to_string();
        assert!(
            fields.contains("*host*\\nweb-1") && fields.contains("*Value*\\n97.5"),
            "{fields}"
        );
        assert_eq!(blocks[5]["type"], "context");
    }

    #[test]
    fn user_text_is_escaped() {
        let mut n = sample();
        n.alerts[0]
            .annotations
            .insert("summary".into(), "<!channel> & <https://evil|click>".into());
        let p = payload(&settings(), &n).to_string();
        assert!(!p.contains("<!channel>"));
        assert!(p.contains("&lt;!channel&gt; &amp; &lt;https://evil|click&gt;"));
    }

    #[test]
    fn huge_notifications_stay_within_block_kit_limits() {
        let mut n = sample();
        n.rule_name = "R".repeat(500);
        n.description = "<d>".repeat(5000);
        let many_labels: std::collections::BTreeMap<String, String> = (0..40)
            .map(|i| (format!("label{i}"), "&".repeat(3000)))
            .collect();
        n.alerts = (0..200)
            .map(|i| AlertInstance {
                fingerprint: format!("{i:016x}"),
                status: AlertStatus::Firing,
                labels: many_labels.clone(),
                annotations: [("summary".to_string(), "s".repeat(4000))].into(),
                value: Some(f64::from(i)),
                starts_at: Timestamp(0),
                ends_at: None,
            })
            .collect();
        let p = payload(&settings(), &n);
        assert_within_limits(&p);
        let blocks = p["blocks"].as_array().expect("blocks");
        let more = blocks[blocks.len() - 2]["text"]["text"]
            .as_str()
            .expect("more");
        assert!(
            more.starts_with("…and ") && more.ends_with("more alerts"),
            "{more}"
        );
        let total: usize = blocks.iter().map(block_text_len).sum();
        assert!(total <= MAX_TOTAL_TEXT, "{total}");
    }

    #[test]
    fn resolved_notifications_are_green() {
        let mut n = sample();
        n.status = AlertStatus::Resolved;
        let p = payload(&settings(), &n);
        assert_eq!(p["blocks"][0]["text"]["text"], "[RESOLVED] High CPU");
        assert!(
            p["blocks"][1]["text"]["text"]
                .as_str()
                .is_some_and(|t| t.starts_with(":large_green_circle:"))
        );
    }
}
