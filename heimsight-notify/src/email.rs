//! Email over SMTP (with lettre): a `multipart/alternative` message with a plain-text and an
//! HTML part, the subject being the notification's title.
//!
//! Every piece of user data in the HTML part is escaped. Connections use STARTTLS on port 587
//! by default (`tls: "starttls"`), or TLS from the start (`tls: "tls"`, port 465 by default),
//! or plain text (`tls: "none"`, port 25 by default; only for trusted local relays).
//! Certificates are checked against the Mozilla roots (and the notifier's extra roots) unless
//! `skip_tls_verify` is set, which is meant for self-signed test servers only.

use std::fmt;

use heimsight_core::{AlertInstance, Notification};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{CertificateStore, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::check::{self, Problems};
use crate::error::{Error, Result};
use crate::fields::Fields;
use crate::notifier::{Delivered, Notifier, SendError};
use crate::render;
use crate::secret;
use crate::text::{describe, escape_html, format_value, one_line, truncate};

/// Alerts listed one by one in an email, at most (the rest are counted).
pub const MAX_ALERTS: usize = 100;

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain connection upgraded with `STARTTLS`, which the server must offer (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte, "implicit TLS" (port 465).
    Tls,
    /// No encryption at all (port 25); for trusted local relays and tests.
    None,
}

impl SmtpTls {
    /// `starttls`, `tls` or `none`.
    pub fn as_str(self) -> &'static str {
        match self {
            SmtpTls::Starttls => "starttls",
            SmtpTls::Tls => "tls",
            SmtpTls::None => "none",
        }
    }

    /// The usual port: 587, 465 or 25.
    pub fn default_port(self) -> u16 {
        match self {
            SmtpTls::Starttls => 587,
            SmtpTls::Tls => 465,
            SmtpTls::None => 25,
        }
    }
}

/// Settings of an email channel.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailSettings {
    /// SMTP server host name or IP address (no scheme, no port).
    pub host: String,
    /// SMTP port; when unset, the usual port of [`tls`](Self::tls) (587, 465 or 25).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// How the connection is secured.
    #[serde(default)]
    pub tls: SmtpTls,
    /// SMTP AUTH user name, if the server wants one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// SMTP AUTH password. Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Sender: `alerts@example.com` or `Heimsight <alerts@example.com>`.
    pub from: String,
    /// Recipients, at least one, each like `from`.
    pub to: Vec<String>,
    /// Text put before the title in the subject (`[prod]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_prefix: Option<String>,
    /// Accept any server certificate. Only for self-signed test servers.
    #[serde(default)]
    pub skip_tls_verify: bool,
}

impl fmt::Debug for EmailSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmailSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_deref().map(secret::mask))
            .field("from", &self.from)
            .field("to", &self.to)
            .field("subject_prefix", &self.subject_prefix)
            .field("skip_tls_verify", &self.skip_tls_verify)
            .finish()
    }
}

impl EmailSettings {
    pub(crate) const SECRETS: &'static [&'static str] = &["password"];

    /// The port to connect to: [`port`](Self::port), else the usual one for [`tls`](Self::tls).
    pub fn port(&self) -> u16 {
        self.port.unwrap_or_else(|| self.tls.default_port())
    }

    pub(crate) fn parse(f: &mut Fields<'_, '_>) -> Self {
        let tls = match f.opt_string("tls").as_deref() {
            None | Some("starttls") => SmtpTls::Starttls,
            Some("tls") => SmtpTls::Tls,
            Some("none") => SmtpTls::None,
            Some(other) => {
                f.problem(
                    "tls",
                    format!("unknown TLS mode {other:?}; expected starttls, tls or none"),
                );
                SmtpTls::Starttls
            }
        };
        Self {
            host: f.string("host"),
            port: f.opt_port("port"),
            tls,
            username: f.opt_string("username"),
            password: f.opt_string("password"),
            from: f.string("from"),
            to: f.string_list("to"),
            subject_prefix: f.opt_string("subject_prefix"),
            skip_tls_verify: f.bool("skip_tls_verify", false),
        }
    }

    pub(crate) fn check(&self, prefix: &str, p: &mut Problems) {
        let host = self.host.trim();
        let path = format!("{prefix}.host");
        if host.is_empty() {
            check::push(
                p,
                &path,
                "required; the SMTP server's host name, such as smtp.example.com",
            );
        } else if host.contains("://") {
            check::push(
                p,
                &path,
                "a host name, not a URL: leave out the scheme (set tls and port instead)",
            );
        } else if host.contains(['/', ' ', '@']) || host.chars().any(char::is_control) {
            check::push(p, &path, "not a host name (such as smtp.example.com)");
        }
        if self.port == Some(0) {
            check::push(p, &format!("{prefix}.port"), "0 is not a TCP port");
        }
        match (&self.username, &self.password) {
            (Some(u), Some(pw)) => {
                check::single_line(p, &format!("{prefix}.username"), u);
                check::secret_value(p, &format!("{prefix}.password"), pw);
            }
            (Some(_), None) => check::push(
                p,
                &format!("{prefix}.password"),
                "required when a username is set",
            ),
            (None, Some(_)) => check::push(
                p,
                &format!("{prefix}.username"),
                "required when a password is set",
            ),
            (None, None) => {}
        }
        let path = format!("{prefix}.from");
        if self.from.trim().is_empty() {
            check::push(
                p,
                &path,
                "required; the sender, such as Heimsight <alerts@example.com>",
            );
        } else if let Err(e) = self.from.parse::<Mailbox>() {
            check::push(p, &path, format!("not an email address ({e})"));
        }
        if self.to.is_empty() {
            check::push(
                p,
                &format!("{prefix}.to"),
                "at least one recipient is required",
            );
        }
        for (i, to) in self.to.iter().enumerate() {
            if let Err(e) = to.parse::<Mailbox>() {
                check::push(
                    p,
                    &format!("{prefix}.to[{i}]"),
                    format!("not an email address ({e}): {to:?}"),
                );
            }
        }
        if let Some(s) = &self.subject_prefix {
            let path = format!("{prefix}.subject_prefix");
            check::single_line(p, &path, s);
            check::max_chars(p, &path, s, 100);
        }
    }

    pub(crate) fn redacted(&self) -> Value {
        let mut v = serde_json::to_value(self).unwrap_or_else(|_| json!({}));
        if let Some(pw) = &self.password {
            v["password"] = json!(secret::mask(pw));
        }
        v
    }

    pub(crate) fn keep_secrets_from(&mut self, previous: &Self) {
        secret::keep_opt(&mut self.password, &previous.password);
    }
}

/// The subject: the settings' prefix, then the notification's title, on one line.
pub fn subject(settings: &EmailSettings, n: &Notification) -> String {
    let title = n.title();
    let subject = match settings.subject_prefix.as_deref().map(str::trim) {
        Some(p) if !p.is_empty() => format!("{p} {title}"),
        _ => title,
    };
    truncate(&one_line(&subject), 250)
}

fn alert_lines(a: &AlertInstance) -> Vec<(&'static str, String)> {
    let mut lines = Vec::new();
    if let Some(v) = a.value {
        lines.push(("Value", format_value(v)));
    }
    lines.push(("Since", render::human_time(a.starts_at)));
    if let Some(end) = a.ends_at {
        lines.push(("Until", render::human_time(end)));
    }
    if !a.labels.is_empty() {
        lines.push(("Labels", render::labels_inline(&a.labels)));
    }
    lines.push(("Fingerprint", a.fingerprint.clone()));
    lines
}

/// Annotations other than the one used as the alert's summary.
fn other_annotations<'a>(
    n: &Notification,
    a: &'a AlertInstance,
) -> impl Iterator<Item = (&'a String, &'a String)> {
    let summary = render::alert_summary(n, a);
    a.annotations
        .iter()
        .filter(move |(_, v)| !v.is_empty() && **v != summary)
}

/// The plain-text part.
pub fn text_body(n: &Notification) -> String {
    let mut out = format!("{}\n\n{}\n", n.title(), n.summary());
    if !n.description.is_empty() && n.description != n.summary() {
        out.push_str(&format!("{}\n", n.description));
    }
    out.push_str(&format!(
        "\nSeverity: {}\nRule:     {} ({})\nTime:     {}\n",
        n.severity,
        n.rule_name,
        n.rule_id,
        render::human_time(n.created_at)
    ));
    out.push_str(&format!("\nAlerts ({}):\n", n.alerts.len()));
    for a in n.alerts.iter().take(MAX_ALERTS) {
        out.push_str(&format!(
            "\n* {} · {}\n",
            render::status_word(a.status),
            render::alert_summary(n, a)
        ));
        for (k, v) in alert_lines(a) {
            out.push_str(&format!("  {k}: {v}\n"));
        }
        for (k, v) in other_annotations(n, a) {
            out.push_str(&format!("  {k}: {v}\n"));
        }
    }
    if n.alerts.len() > MAX_ALERTS {
        out.push_str(&format!(
            "\n…and {} more alerts\n",
            n.alerts.len() - MAX_ALERTS
        ));
    }
    out.push_str(&format!(
        "\n-- \nSent by Heimsight · notification {}\n",
        n.id
    ));
    out
}

/// The HTML part. Every piece of user data in it is escaped.
pub fn html_body(n: &Notification) -> String {
    let e = escape_html;
    let color = format!("#{:06x}", crate::discord::color(n));
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>");
    out.push_str(&e(&n.title()));
    out.push_str("</title></head>\n<body style=\"font-family: sans-serif; color: #1d1c1d;\">\n");
    out.push_str(&format!(
        "<h2 style=\"border-left: 6px solid {color}; padding-left: 8px;\">{}</h2>\n",
        e(&n.title())
    ));
    out.push_str(&format!("<p><strong>{}</strong></p>\n", e(&n.summary())));
    if !n.description.is_empty() && n.description != n.summary() {
        out.push_str(&format!("<p>{}</p>\n", e(&n.description)));
    }
    out.push_str(&format!(
        "<p>Severity: <strong>{}</strong> · Rule: {} <code>{}</code> · {}</p>\n",
        e(n.severity.as_str()),
        e(&n.rule_name),
        e(&n.rule_id),
        e(&render::human_time(n.created_at))
    ));
    out.push_str(&format!("<h3>Alerts ({})</h3>\n", n.alerts.len()));
    for a in n.alerts.iter().take(MAX_ALERTS) {
        out.push_str(&format!(
            "<h4>{} · {}</h4>\n<table cellpadding=\"4\" style=\"border-collapse: collapse;\">\n",
            e(render::status_word(a.status)),
            e(&render::alert_summary(n, a))
        ));
        for (k, v) in alert_lines(a)
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .chain(other_annotations(n, a).map(|(k, v)| (k.clone(), v.clone())))
        {
            out.push_str(&format!(
                "<tr><th align=\"left\" valign=\"top\">{}</th><td>{}</td></tr>\n",
                e(&k),
                e(&v)
            ));
        }
        out.push_str("</table>\n");
    }
    if n.alerts.len() > MAX_ALERTS {
        out.push_str(&format!(
            "<p>…and {} more alerts</p>\n",
            n.alerts.len() - MAX_ALERTS
        ));
    }
    out.push_str(&format!(
        "<p style=\"color: #616061; font-size: small;\">Sent by Heimsight · notification {}</p>\n",
        e(&n.id)
    ));
    out.push_str("</body></html>\n");
    out
}

/// The whole email: sender, recipients, subject and the two parts.
pub fn message(settings: &EmailSettings, n: &Notification) -> Result<Message> {
    let bad = |what: &str, e: &dyn fmt::Display| Error::Email(format!("{what}: {e}"));
    let from: Mailbox = settings.from.parse().map_err(|e| bad("from", &e))?;
    let mut builder = Message::builder()
        .from(from)
        .subject(subject(settings, n))
        .message_id(None)
        .user_agent("Heimsight".to_string());
    for (i, to) in settings.to.iter().enumerate() {
        let to: Mailbox = to.parse().map_err(|e| bad(&format!("to[{i}]"), &e))?;
        builder = builder.to(to);
    }
    builder
        .multipart(MultiPart::alternative_plain_html(
            text_body(n),
            html_body(n),
        ))
        .map_err(|e| bad("message", &e))
}

fn classify(e: &lettre::transport::smtp::Error) -> (bool, Option<u16>) {
    let status = e.status().map(u16::from);
    if e.is_permanent() || e.is_client() {
        (false, status)
    } else {
        // 4xx replies, timeouts, connection, TLS and I/O errors may pass.
        (true, status)
    }
}

pub(crate) async fn send(
    notifier: &Notifier,
    settings: &EmailSettings,
    n: &Notification,
) -> Result<Delivered, SendError> {
    let email = message(settings, n).map_err(|e| SendError::permanent("email", e.to_string()))?;
    let host = settings.host.trim();
    let port = settings.port();
    let tls = if settings.tls == SmtpTls::None {
        Tls::None
    } else {
        let mut params = TlsParameters::builder(host.to_string())
            .certificate_store(CertificateStore::WebpkiRoots)
            .dangerous_accept_invalid_certs(settings.skip_tls_verify)
            .dangerous_accept_invalid_hostnames(settings.skip_tls_verify);
        for cert in notifier.smtp_roots() {
            params = params.add_root_certificate(cert.clone());
        }
        let params = params.build_rustls().map_err(|e| {
            SendError::permanent("email", format!("could not set up TLS: {}", describe(&e)))
        })?;
        match settings.tls {
            SmtpTls::Tls => Tls::Wrapper(params),
            _ => Tls::Required(params),
        }
    };
    let timeout = notifier.timeout();
    let mut transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        .port(port)
        .tls(tls)
        .timeout(Some(timeout));
    if let (Some(user), Some(password)) = (&settings.username, &settings.password) {
        transport = transport.credentials(Credentials::new(user.clone(), password.clone()));
    }
    let transport = transport.build();
    let server = format!("{host}:{port}");
    match tokio::time::timeout(timeout, transport.send(email)).await {
        Err(_) => Err(SendError {
            retryable: true,
            message: format!(
                "email: the SMTP server {server} did not finish within {}",
                crate::notifier::human_duration(timeout)
            ),
            status: None,
        }),
        Ok(Err(e)) => {
            let (retryable, status) = classify(&e);
            Err(SendError {
                retryable,
                message: format!("email: sending through {server} failed: {}", describe(&e)),
                status,
            })
        }
        Ok(Ok(response)) => Ok(Delivered {
            status: Some(u16::from(response.code())),
            detail: truncate(&response.message().collect::<Vec<_>>().join(" "), 512),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::tests::sample;

    fn settings() -> EmailSettings {
        EmailSettings {
            host: "smtp.example.com".into(),
            from: "Heimsight <alerts@example.com>".into(),
            to: vec!["ops@example.com".into(), "Dev <dev@example.com>".into()],
            subject_prefix: Some("[prod]".into()),
            ..Default::default()
        }
    }

    #[test]
    fn subject_is_prefix_and_title_on_one_line() {
        let mut n = sample();
        assert_eq!(subject(&settings(), &n), "[prod] [FIRING:2] High CPU");
        n.rule_name = "evil\r\nBcc: victim@example.com".into();
        let s = subject(&settings(), &n);
        assert!(!s.contains('\n') && !s.contains('\r'), "{s}");
    }

    #[test]
    fn bodies_carry_every_alert() {
        let n = sample();
        let text = text_body(&n);
        for needle in [
            "[FIRING:2] High CPU",
            "CPU at 97.5% on web-1",
            "host=web-2",
            "Value: 93",
            "Until:",
            "critical",
            "rule-7",
        ] {
            assert!(text.contains(needle), "{needle} missing from\n{text}");
        }
        let html = html_body(&n);
        assert!(html.contains("CPU at 97.5% on web-1") && html.contains("web-3"));
    }

    #[test]
    fn html_escapes_all_user_data() {
        let mut n = sample();
        n.rule_name = "<script>alert(1)</script>".into();
        n.description = "a & b \"quoted\"".into();
        n.alerts[0]
            .labels
            .insert("<k>".into(), "<img src=x onerror=alert(1)>".into());
        n.alerts[0]
            .annotations
            .insert("runbook".into(), "<a href='javascript:x'>".into());
        let html = html_body(&n);
        assert!(!html.contains("<script>") && !html.contains("<img") && !html.contains("<a href"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("a &amp; b &quot;quoted&quot;"));
        assert!(html.contains("&lt;k&gt;=&lt;img src=x onerror=alert(1)&gt;"));
        assert!(html.contains("&lt;a href=&#39;javascript:x&#39;&gt;"));
    }

    #[test]
    fn message_is_multipart_alternative_with_both_parts() {
        let m = message(&settings(), &sample()).expect("message");
        let raw = String::from_utf8(m.formatted()).expect("utf-8");
        assert!(raw.contains("Subject: [prod] [FIRING:2] High CPU"), "{raw}");
        assert!(raw.contains("multipart/alternative"));
        assert!(raw.contains("text/plain") && raw.contains("text/html"));
        let to: Vec<String> = m.envelope().to().iter().map(ToString::to_string).collect();
        assert_eq!(to, ["ops@example.com", "dev@example.com"]);
    }

    #[test]
    fn ports_follow_the_tls_mode() {
        let mut s = settings();
        assert_eq!(s.port(), 587);
        s.tls = SmtpTls::Tls;
        assert_eq!(s.port(), 465);
        s.tls = SmtpTls::None;
        assert_eq!(s.port(), 25);
        s.port = Some(2525);
        assert_eq!(s.port(), 2525);
    }
}
