//! This crate provides Heimsight's alert notifications: delivering a
//! [`heimsight_core::Notification`] to the places people watch — a generic JSON
//! [`webhook`], [`slack`], [`discord`], [`email`] over SMTP, [`pagerduty`] (Events API v2)
//! and [`opsgenie`] (Alert API).
//!
//! A [`Channel`] is a configured destination: a name and [`ChannelSettings`], one variant per
//! kind. Settings are read from JSON with [`ChannelSettings::from_json`], which reports every
//! problem with its field path (`settings.to[1]`); they name their secrets (URLs that carry
//! tokens, keys, passwords), which [`ChannelSettings::redacted`] masks for display and
//! [`ChannelSettings::keep_secrets_from`] keeps when an update sends them back masked.
//!
//! A [`Notifier`] sends: [`Notifier::send`] answers what the receiver said ([`Delivered`]) or
//! a [`SendError`] that says whether trying again may help, so a caller (the alert outbox)
//! can retry with backoff. Each channel module has the same shape: its settings type, a pure
//! payload builder (public, for tests and for other senders) and the send step. Endpoint URLs
//! are configurable for every kind, so tests and air-gapped installations can point them at
//! their own receivers.
//!
//! The crate depends on `heimsight-core` alone among Heimsight's crates; it knows nothing of
//! rules, stores or servers.
//!
//! # Quick start
//!
//! ```
//! use heimsight_core::{Notification, Timestamp};
//! use heimsight_notify::{ChannelSettings, slack};
//! use serde_json::json;
//!
//! // Settings as an API client sends them; every problem is reported with its path.
//! let settings = json!({
//!     "url": "https://hooks.slack.com/services/T000/B000/abcdefghijklmnopqrstuvwx",
//!     "channel": "#ops",
//! });
//! let channel = ChannelSettings::from_json("slack", &settings).expect("valid settings");
//! assert_eq!(channel.kind(), "slack");
//!
//! let problems = ChannelSettings::from_json("email", &json!({"to": ["ops@", 7]})).unwrap_err();
//! let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
//! assert_eq!(fields, ["settings.to[1]", "settings.host", "settings.from", "settings.to[0]"]);
//!
//! // Secrets are masked for display; sent back masked, they keep their value.
//! let shown = channel.redacted();
//! assert_eq!(shown["url"], "https://hooks.slack.com/••••uvwx");
//! let updated = ChannelSettings::from_json_update("slack", &shown, &channel).expect("kept");
//! assert_eq!(updated, channel);
//!
//! // The payload Slack would receive (no network involved).
//! let ChannelSettings::Slack(slack_settings) = &channel else { unreachable!() };
//! let message = slack::payload(slack_settings, &Notification::test(Timestamp::now()));
//! assert_eq!(message["blocks"][0]["text"]["text"], "[TEST] [FIRING:1] Heimsight test");
//! assert_eq!(message["channel"], "#ops");
//! ```
//!
//! Sending needs a tokio runtime:
//!
//! ```no_run
//! # async fn run(channel: heimsight_notify::ChannelSettings) -> heimsight_notify::Result<()> {
//! use heimsight_core::{Notification, Timestamp};
//! use heimsight_notify::{Notifier, NotifierConfig};
//!
//! let notifier = Notifier::new(NotifierConfig::default())?;
//! match notifier.send(&channel, &Notification::test(Timestamp::now())).await {
//!     Ok(delivered) => println!("delivered: {:?} {}", delivered.status, delivered.detail),
//!     Err(e) if e.retryable => println!("try again later: {e}"),
//!     Err(e) => println!("fix the channel: {e}"),
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # TLS
//!
//! HTTPS and SMTP over TLS use rustls with the *ring* crypto provider (no C++ or cmake build),
//! configured per client — the crate never installs a process-wide provider — and trust the
//! Mozilla roots compiled in from `webpki-roots`, plus
//! [`NotifierConfig::extra_root_certificates`] for private certificate authorities.
//!
//! To get there, this crate turns on reqwest's `rustls-no-provider` feature. Cargo unifies
//! features across a build, so *other* reqwest clients in the same build that were built
//! without TLS (reqwest with `default-features = false`) now have rustls without a crypto
//! provider, and reqwest panics when building them unless the process has one. Binaries install
//! one at startup (`heimsight` does):
//!
//! ```
//! let _ = rustls::crypto::ring::default_provider().install_default();
//! ```
//!
//! (or give those clients a preconfigured TLS configuration). Builds that use reqwest's default
//! TLS (aws-lc-rs) are not affected.
//!
//! # Feature flags
//!
//! None yet.

mod channel;
mod check;
pub mod discord;
pub mod email;
mod error;
mod fields;
mod notifier;
pub mod opsgenie;
pub mod pagerduty;
mod render;
pub mod secret;
pub mod slack;
pub mod text;
pub mod webhook;

pub use channel::{Channel, ChannelSettings, KINDS};
pub use discord::DiscordSettings;
pub use email::{EmailSettings, SmtpTls};
pub use error::{Error, Result};
pub use notifier::{Delivered, Notifier, NotifierConfig, SendError};
pub use opsgenie::OpsgenieSettings;
pub use pagerduty::PagerDutySettings;
pub use render::dedup_key;
pub use slack::SlackSettings;
pub use webhook::WebhookSettings;
