//! Channels: where notifications go, and their settings as JSON.

use heimsight_core::{FieldError, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::check::Problems;
use crate::discord::DiscordSettings;
use crate::email::EmailSettings;
use crate::fields::Fields;
use crate::opsgenie::OpsgenieSettings;
use crate::pagerduty::PagerDutySettings;
use crate::slack::SlackSettings;
use crate::webhook::WebhookSettings;

/// The channel kinds, as spelled in JSON's `type`.
pub const KINDS: &[&str] = &[
    "webhook",
    "slack",
    "discord",
    "email",
    "pagerduty",
    "opsgenie",
];

/// A configured destination for notifications.
///
/// JSON: `{"id", "name", "type": "slack", "settings": {…}, "created_at", "updated_at"}`.
/// Serializing writes the secrets in full (for storage); show [`Channel::redacted`] to people.
/// Deserializing checks the shape of the settings (see [`ChannelSettings::parse`]), not their
/// values, so stored channels stay readable when validation grows stricter.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Channel {
    /// Unique id.
    pub id: String,
    /// Name shown to people (and sent as a webhook's `receiver`).
    pub name: String,
    /// Kind and settings.
    #[serde(flatten)]
    pub settings: ChannelSettings,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it was last changed.
    pub updated_at: Timestamp,
}

impl Channel {
    /// The channel's JSON with every secret masked ([`ChannelSettings::redacted`]).
    pub fn redacted(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "type": self.settings.kind(),
            "settings": self.settings.redacted(),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        })
    }
}

impl<'de> Deserialize<'de> for Channel {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            id: String,
            name: String,
            #[serde(rename = "type")]
            kind: String,
            #[serde(default)]
            settings: Value,
            created_at: Timestamp,
            updated_at: Timestamp,
        }
        let raw = Raw::deserialize(d)?;
        let settings =
            ChannelSettings::parse(&raw.kind, &raw.settings).map_err(de_error::<D::Error>)?;
        Ok(Channel {
            id: raw.id,
            name: raw.name,
            settings,
            created_at: raw.created_at,
            updated_at: raw.updated_at,
        })
    }
}

fn de_error<E: serde::de::Error>(errors: Vec<FieldError>) -> E {
    E::custom(
        errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; "),
    )
}

/// A channel's kind and its settings. JSON: `{"type": "slack", "settings": {…}}`.
///
/// Each kind's settings name their secrets (URLs that carry tokens, keys, passwords):
/// [`redacted`](Self::redacted) masks them for display, and
/// [`keep_secrets_from`](Self::keep_secrets_from) lets an update send them back masked.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", content = "settings", rename_all = "lowercase")]
#[non_exhaustive]
pub enum ChannelSettings {
    /// A generic JSON webhook ([`crate::webhook`]).
    Webhook(WebhookSettings),
    /// A Slack incoming webhook ([`crate::slack`]).
    Slack(SlackSettings),
    /// A Discord webhook ([`crate::discord`]).
    Discord(DiscordSettings),
    /// Email over SMTP ([`crate::email`]).
    Email(EmailSettings),
    /// PagerDuty Events API v2 ([`crate::pagerduty`]).
    PagerDuty(PagerDutySettings),
    /// Opsgenie Alert API ([`crate::opsgenie`]).
    Opsgenie(OpsgenieSettings),
}

/// The path prefix of settings fields in problems: `settings.url`.
const PREFIX: &str = "settings";

impl ChannelSettings {
    /// Reads and validates settings of kind `kind` (`webhook`, `slack`, `discord`, `email`,
    /// `pagerduty`, `opsgenie`) from the JSON object `settings`, reporting *every* problem with
    /// its path (`type`, `settings.url`, `settings.to[1]`): an unknown kind (listing the known
    /// ones), unknown or mistyped fields, and values that [`validate`](Self::validate) rejects.
    ///
    /// For an update, where secrets may come back masked or be left out, use
    /// [`from_json_update`](Self::from_json_update).
    pub fn from_json(kind: &str, settings: &Value) -> Result<Self, Vec<FieldError>> {
        let (parsed, shape) = Self::read(kind, settings)?;
        Self::validated(parsed, shape)
    }

    /// [`from_json`](Self::from_json) for an update of a channel whose current settings are
    /// `previous`: secrets left out, empty or sent back masked keep their current values
    /// ([`keep_secrets_from`](Self::keep_secrets_from)) before validation. An optional secret
    /// (a webhook's `secret`) sent as JSON `null` is removed.
    pub fn from_json_update(
        kind: &str,
        settings: &Value,
        previous: &ChannelSettings,
    ) -> Result<Self, Vec<FieldError>> {
        let (mut parsed, shape) = Self::read(kind, settings)?;
        parsed.keep_secrets_from(previous);
        if let ChannelSettings::Webhook(w) = &mut parsed
            && settings.get("secret").is_some_and(Value::is_null)
        {
            w.secret = None;
        }
        Self::validated(parsed, shape)
    }

    /// Adds the value problems of `parsed` to its shape problems (leaving out fields that
    /// already have one), or returns it when there are none.
    fn validated(parsed: Self, mut problems: Vec<FieldError>) -> Result<Self, Vec<FieldError>> {
        if let Err(values) = parsed.validate() {
            for v in values {
                let covered = problems.iter().any(|s| {
                    v.field == s.field
                        || v.field.starts_with(&format!("{}.", s.field))
                        || v.field.starts_with(&format!("{}[", s.field))
                });
                if !covered {
                    problems.push(v);
                }
            }
        }
        if problems.is_empty() {
            Ok(parsed)
        } else {
            Err(problems)
        }
    }

    /// Reads settings of kind `kind` from JSON, checking their shape only: the kind is known,
    /// every field is known and of the right type. Values are not validated (a required field
    /// that is missing reads as empty); see [`validate`](Self::validate).
    pub fn parse(kind: &str, settings: &Value) -> Result<Self, Vec<FieldError>> {
        let (parsed, problems) = Self::read(kind, settings)?;
        if problems.is_empty() {
            Ok(parsed)
        } else {
            Err(problems)
        }
    }

    /// The settings as read (fields with problems at their defaults) and the shape problems;
    /// an error only for an unknown kind.
    fn read(kind: &str, settings: &Value) -> Result<(Self, Vec<FieldError>), Vec<FieldError>> {
        let mut errors = heimsight_core::ValidationErrors::new();
        let empty = Value::Object(serde_json::Map::new());
        // A missing `settings` reads as `{}`: its required fields are then reported missing.
        let settings = if settings.is_null() { &empty } else { settings };
        let mut f = Fields::new(settings, PREFIX, &mut errors);
        let parsed = match kind {
            "webhook" => ChannelSettings::Webhook(WebhookSettings::parse(&mut f)),
            "slack" => ChannelSettings::Slack(SlackSettings::parse(&mut f)),
            "discord" => ChannelSettings::Discord(DiscordSettings::parse(&mut f)),
            "email" => ChannelSettings::Email(EmailSettings::parse(&mut f)),
            "pagerduty" => ChannelSettings::PagerDuty(PagerDutySettings::parse(&mut f)),
            "opsgenie" => ChannelSettings::Opsgenie(OpsgenieSettings::parse(&mut f)),
            _ => {
                return Err(vec![FieldError::new(
                    "type",
                    format!(
                        "unknown channel type {kind:?}; expected one of {}",
                        KINDS.join(", ")
                    ),
                )]);
            }
        };
        f.finish();
        Ok((parsed, errors.0))
    }

    /// Checks the values: URLs parse and are `http`/`https`, email addresses parse (lettre's
    /// parser), ports are valid, required secrets are present and not masked, optional texts
    /// fit on one line… Every problem is reported, with paths like `settings.url`.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut p: Problems = Vec::new();
        match self {
            ChannelSettings::Webhook(s) => s.check(PREFIX, &mut p),
            ChannelSettings::Slack(s) => s.check(PREFIX, &mut p),
            ChannelSettings::Discord(s) => s.check(PREFIX, &mut p),
            ChannelSettings::Email(s) => s.check(PREFIX, &mut p),
            ChannelSettings::PagerDuty(s) => s.check(PREFIX, &mut p),
            ChannelSettings::Opsgenie(s) => s.check(PREFIX, &mut p),
        }
        if p.is_empty() { Ok(()) } else { Err(p) }
    }

    /// The kind, as in JSON's `type`: `webhook`, `slack`, `discord`, `email`, `pagerduty` or
    /// `opsgenie`.
    pub fn kind(&self) -> &'static str {
        match self {
            ChannelSettings::Webhook(_) => "webhook",
            ChannelSettings::Slack(_) => "slack",
            ChannelSettings::Discord(_) => "discord",
            ChannelSettings::Email(_) => "email",
            ChannelSettings::PagerDuty(_) => "pagerduty",
            ChannelSettings::Opsgenie(_) => "opsgenie",
        }
    }

    /// The settings JSON with every secret masked, never shown in full: `••••` followed by
    /// the last 4 characters for secrets of at least 12 characters, `••••` alone for shorter
    /// ones; secret URLs keep their scheme and host (`https://hooks.slack.com/••••wxyz`).
    pub fn redacted(&self) -> Value {
        match self {
            ChannelSettings::Webhook(s) => s.redacted(),
            ChannelSettings::Slack(s) => s.redacted(),
            ChannelSettings::Discord(s) => s.redacted(),
            ChannelSettings::Email(s) => s.redacted(),
            ChannelSettings::PagerDuty(s) => s.redacted(),
            ChannelSettings::Opsgenie(s) => s.redacted(),
        }
    }

    /// The names of the settings fields that hold secrets (for a webhook's `headers`, the
    /// values).
    pub fn secret_fields(&self) -> Vec<&'static str> {
        match self {
            ChannelSettings::Webhook(_) => WebhookSettings::SECRETS,
            ChannelSettings::Slack(_) => SlackSettings::SECRETS,
            ChannelSettings::Discord(_) => DiscordSettings::SECRETS,
            ChannelSettings::Email(_) => EmailSettings::SECRETS,
            ChannelSettings::PagerDuty(_) => PagerDutySettings::SECRETS,
            ChannelSettings::Opsgenie(_) => OpsgenieSettings::SECRETS,
        }
        .to_vec()
    }

    /// For an update: each secret that is empty, left out, or exactly what
    /// [`redacted`](Self::redacted) shows for the previous value takes the previous value,
    /// when `previous` is of the same kind (otherwise nothing changes). A webhook header keeps
    /// its previous value when it has the same name.
    pub fn keep_secrets_from(&mut self, previous: &ChannelSettings) {
        match (self, previous) {
            (ChannelSettings::Webhook(s), ChannelSettings::Webhook(p)) => s.keep_secrets_from(p),
            (ChannelSettings::Slack(s), ChannelSettings::Slack(p)) => s.keep_secrets_from(p),
            (ChannelSettings::Discord(s), ChannelSettings::Discord(p)) => s.keep_secrets_from(p),
            (ChannelSettings::Email(s), ChannelSettings::Email(p)) => s.keep_secrets_from(p),
            (ChannelSettings::PagerDuty(s), ChannelSettings::PagerDuty(p)) => {
                s.keep_secrets_from(p)
            }
            (ChannelSettings::Opsgenie(s), ChannelSettings::Opsgenie(p)) => s.keep_secrets_from(p),
            _ => {}
        }
    }
}

impl<'de> Deserialize<'de> for ChannelSettings {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            #[serde(rename = "type")]
            kind: String,
            #[serde(default)]
            settings: Value,
        }
        let raw = Raw::deserialize(d)?;
        ChannelSettings::parse(&raw.kind, &raw.settings).map_err(de_error::<D::Error>)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(errors: &[FieldError]) -> Vec<&str> {
        errors.iter().map(|e| e.field.as_str()).collect()
    }

    fn slack_url() -> &'static str {
        "https://hooks.slack.com/services/T000/B000/abcdefghijklmnopqrstuvwx"
    }

    #[test]
    fn every_kind_reads_from_json() {
        let cases = [
            (
                "webhook",
                json!({"url": "https://example.com/hook", "secret": "s3cret", "headers": {"Authorization": "Bearer abc"}}),
            ),
            ("slack", json!({"url": slack_url(), "channel": "#ops"})),
            (
                "discord",
                json!({"url": "https://discord.com/api/webhooks/1/tok", "username": "Heimsight"}),
            ),
            (
                "email",
                json!({"host": "smtp.example.com", "from": "alerts@example.com", "to": ["a@example.com", "B <b@example.com>"]}),
            ),
            (
                "pagerduty",
                json!({"routing_key": "R0123456789abcdef0123456789abcde"}),
            ),
            (
                "opsgenie",
                json!({"api_key": "key", "url": "https://api.eu.opsgenie.com"}),
            ),
        ];
        for (kind, settings) in cases {
            let s = ChannelSettings::from_json(kind, &settings)
                .unwrap_or_else(|e| panic!("{kind}: {e:?}"));
            assert_eq!(s.kind(), kind);
        }
    }

    #[test]
    fn defaults_fill_in() {
        let s = ChannelSettings::from_json("pagerduty", &json!({"routing_key": "k"})).expect("ok");
        let ChannelSettings::PagerDuty(p) = s else {
            panic!("kind")
        };
        assert_eq!(p.url, crate::pagerduty::DEFAULT_URL);
        let s = ChannelSettings::from_json(
            "email",
            &json!({"host": "smtp.example.com", "from": "a@example.com", "to": ["b@example.com"]}),
        )
        .expect("ok");
        let ChannelSettings::Email(e) = s else {
            panic!("kind")
        };
        assert_eq!(
            (e.port(), e.tls, e.skip_tls_verify),
            (587, crate::SmtpTls::Starttls, false)
        );
    }

    #[test]
    fn unknown_kind_names_the_type_field_and_the_known_kinds() {
        let e = ChannelSettings::from_json("teams", &json!({})).expect_err("unknown");
        assert_eq!(fields(&e), ["type"]);
        assert!(
            e[0].reason
                .contains("webhook, slack, discord, email, pagerduty, opsgenie"),
            "{}",
            e[0].reason
        );
    }

    #[test]
    fn every_problem_is_reported_with_its_path() {
        let e = ChannelSettings::from_json(
            "email",
            &json!({
                "host": "smtp://mail.example.com",
                "port": 70000,
                "tls": "ssl",
                "from": "not an address",
                "to": ["ok@example.com", "broken@", 7],
                "password": "pw",
                "colour": "red",
            }),
        )
        .expect_err("invalid");
        assert_eq!(
            fields(&e),
            [
                "settings.tls",
                "settings.port",
                "settings.to[2]",
                "settings.colour",
                "settings.host",
                "settings.username",
                "settings.from",
                "settings.to[1]",
            ]
        );
        assert!(e[4].reason.contains("not a URL"), "{}", e[4].reason);
    }

    #[test]
    fn bad_urls_empty_recipients_and_wrong_types_are_named() {
        let e = ChannelSettings::from_json("slack", &json!({"url": "ftp://example.com/x"}))
            .expect_err("scheme");
        assert_eq!(fields(&e), ["settings.url"]);
        assert!(e[0].reason.contains("http or https"));
        let e = ChannelSettings::from_json("slack", &json!({"url": "not a url"})).expect_err("url");
        assert_eq!(fields(&e), ["settings.url"]);
        let e = ChannelSettings::from_json("webhook", &json!({})).expect_err("missing url");
        assert_eq!(fields(&e), ["settings.url"]);
        assert!(e[0].reason.starts_with("required"));
        let e = ChannelSettings::from_json(
            "email",
            &json!({"host": "h", "from": "a@example.com", "to": []}),
        )
        .expect_err("empty to");
        assert_eq!(fields(&e), ["settings.to"]);
        let e = ChannelSettings::from_json(
            "email",
            &json!({"host": "h", "from": "a@example.com", "to": "b@example.com"}),
        )
        .expect_err("to not a list");
        assert_eq!(fields(&e), ["settings.to"]);
        assert!(
            e[0].reason
                .contains("expected an array of strings, found a string")
        );
        let e = ChannelSettings::from_json("opsgenie", &json!({"api_key": 42, "url": true}))
            .expect_err("types");
        assert_eq!(fields(&e), ["settings.api_key", "settings.url"]);
        let e = ChannelSettings::from_json("pagerduty", &json!([1])).expect_err("not an object");
        assert_eq!(fields(&e), ["settings"]);
        let e = ChannelSettings::from_json("webhook", &json!({"url": "https://x.example", "headers": {"Content-Type": "text/plain", "Bad Name": "v", "X-Ok": "a\nb"}})).expect_err("headers");
        assert_eq!(
            fields(&e),
            [
                "settings.headers.Bad Name",
                "settings.headers.Content-Type",
                "settings.headers.X-Ok"
            ]
        );
    }

    #[test]
    fn redaction_never_shows_a_secret() {
        let secrets = [
            "hook-token-0123456789",
            "whsec-0123456789abcdef",
            "Bearer tok-0123456789",
            "smtp-password-0123456789",
            "R0123456789abcdef0123456789abcde",
            "genie-0123456789abcdef",
            "sh0rt",
        ];
        let all = [
            ChannelSettings::from_json(
                "webhook",
                &json!({"url": format!("https://u:{}@example.com/h/{}?k={}", secrets[6], secrets[0], secrets[0]), "secret": secrets[1], "headers": {"Authorization": secrets[2]}}),
            ),
            ChannelSettings::from_json(
                "slack",
                &json!({"url": format!("https://hooks.slack.com/services/{}", secrets[0])}),
            ),
            ChannelSettings::from_json(
                "discord",
                &json!({"url": format!("https://discord.com/api/webhooks/1/{}", secrets[0])}),
            ),
            ChannelSettings::from_json(
                "email",
                &json!({"host": "h", "from": "a@example.com", "to": ["b@example.com"], "username": "u", "password": secrets[3]}),
            ),
            ChannelSettings::from_json("pagerduty", &json!({"routing_key": secrets[4]})),
            ChannelSettings::from_json("opsgenie", &json!({"api_key": secrets[5]})),
            ChannelSettings::from_json("opsgenie", &json!({"api_key": secrets[6]})),
        ];
        for s in all {
            let s = s.expect("valid");
            let shown = s.redacted().to_string();
            let debug = format!("{s:?}");
            for secret in secrets {
                assert!(!shown.contains(secret), "{secret} in {shown}");
                assert!(!debug.contains(secret), "{secret} in {debug}");
            }
            assert!(shown.contains(crate::secret::MASK), "{shown}");
            assert!(!s.secret_fields().is_empty());
        }
    }

    #[test]
    fn redacted_shapes() {
        let s = ChannelSettings::from_json(
            "pagerduty",
            &json!({"routing_key": "R0123456789abcdef0123456789abcde"}),
        )
        .expect("ok");
        assert_eq!(
            s.redacted(),
            json!({"routing_key": "••••bcde", "url": crate::pagerduty::DEFAULT_URL})
        );
        let s =
            ChannelSettings::from_json("slack", &json!({"url": slack_url(), "username": "bot"}))
                .expect("ok");
        assert_eq!(
            s.redacted(),
            json!({"url": "https://hooks.slack.com/••••uvwx", "username": "bot"})
        );
        assert_eq!(s.secret_fields(), ["url"]);
    }

    #[test]
    fn updates_keep_secrets_sent_back_masked_or_left_out() {
        let prev = ChannelSettings::from_json(
            "webhook",
            &json!({"url": "https://example.com/hook/0123456789abcdef", "secret": "whsec-0123456789", "headers": {"Authorization": "Bearer 0123456789abcdef", "X-Team": "infra"}}),
        )
        .expect("ok");
        // What a UI shows, sent back unchanged: everything is kept.
        let shown = prev.redacted();
        let same = ChannelSettings::from_json_update("webhook", &shown, &prev).expect("kept");
        assert_eq!(same, prev);
        // Left out: kept too; a changed header is taken, a removed header is gone.
        let upd = ChannelSettings::from_json_update(
            "webhook",
            &json!({"url": "", "headers": {"Authorization": "••••cdef", "X-Other": "new"}}),
            &prev,
        )
        .expect("kept");
        let ChannelSettings::Webhook(w) = &upd else {
            panic!("kind")
        };
        assert_eq!(w.url, "https://example.com/hook/0123456789abcdef");
        assert_eq!(w.secret.as_deref(), Some("whsec-0123456789"));
        assert_eq!(w.headers["Authorization"], "Bearer 0123456789abcdef");
        assert_eq!(w.headers["X-Other"], "new");
        assert!(!w.headers.contains_key("X-Team"));
        // null removes the optional secret.
        let upd = ChannelSettings::from_json_update("webhook", &json!({"secret": null}), &prev)
            .expect("ok");
        let ChannelSettings::Webhook(w) = &upd else {
            panic!("kind")
        };
        assert_eq!(w.secret, None);
        // A new value replaces.
        let mut s =
            ChannelSettings::parse("pagerduty", &json!({"routing_key": "new-key"})).expect("ok");
        s.keep_secrets_from(
            &ChannelSettings::parse("pagerduty", &json!({"routing_key": "old-key-0123456789"}))
                .expect("ok"),
        );
        assert_eq!(s.redacted()["routing_key"], "••••");
        let ChannelSettings::PagerDuty(p) = &s else {
            panic!("kind")
        };
        assert_eq!(p.routing_key, "new-key");
    }

    #[test]
    fn secrets_are_not_carried_across_kinds_and_masks_are_refused() {
        let prev = ChannelSettings::from_json("slack", &json!({"url": slack_url()})).expect("ok");
        let e = ChannelSettings::from_json_update(
            "discord",
            &json!({"url": "https://hooks.slack.com/••••uvwx"}),
            &prev,
        )
        .expect_err("a mask is not a URL to send to");
        assert_eq!(fields(&e), ["settings.url"]);
        assert!(e[0].reason.contains("mask"));
        let e = ChannelSettings::from_json("opsgenie", &json!({"api_key": "••••abcd"}))
            .expect_err("mask");
        assert_eq!(fields(&e), ["settings.api_key"]);
    }

    #[test]
    fn channels_round_trip_through_json() {
        let c = Channel {
            id: "ch-1".into(),
            name: "Ops".into(),
            settings: ChannelSettings::from_json("slack", &json!({"url": slack_url()}))
                .expect("ok"),
            created_at: Timestamp(1_000_000_000),
            updated_at: Timestamp(2_000_000_000),
        };
        let v = serde_json::to_value(&c).expect("serialize");
        assert_eq!(v["type"], "slack");
        assert_eq!(v["settings"]["url"], slack_url());
        assert_eq!(v["created_at"], "1970-01-01T00:00:01.000000000Z");
        let back: Channel = serde_json::from_value(v).expect("deserialize");
        assert_eq!(back, c);
        let r = c.redacted();
        assert_eq!(r["settings"]["url"], "https://hooks.slack.com/••••uvwx");
        assert_eq!(r["name"], "Ops");
        let bad = json!({"id": "x", "name": "n", "type": "fax", "settings": {}, "created_at": 0, "updated_at": 0});
        let err = serde_json::from_value::<Channel>(bad)
            .expect_err("unknown type")
            .to_string();
        assert!(err.contains("type: unknown channel type \"fax\""), "{err}");
        let s: ChannelSettings =
            serde_json::from_value(json!({"type": "opsgenie", "settings": {"api_key": "k"}}))
                .expect("settings");
        assert_eq!(s.kind(), "opsgenie");
    }
}
