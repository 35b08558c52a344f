//! The notifier: sends a notification to a channel over HTTP(S) or SMTP.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use heimsight_core::Notification;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use crate::channel::{Channel, ChannelSettings};
use crate::error::{Error, Result};
use crate::text::{describe, truncate};
use crate::{discord, email, opsgenie, pagerduty, secret, slack, webhook};

/// The receiver's answer kept in [`Delivered::detail`] and error messages, at most.
const MAX_DETAIL: usize = 512;
/// Bytes of a response body read, at most.
const MAX_BODY_READ: usize = 64 * 1024;

/// Settings of a [`Notifier`].
#[derive(Debug, Clone)]
pub struct NotifierConfig {
    /// Longest wait for one delivery: connecting, sending, the answer (per HTTP request; for
    /// email, the whole SMTP conversation). Default 10 s.
    pub timeout: Duration,
    /// `User-Agent` of HTTP requests. Default `Heimsight/<version>`.
    pub user_agent: String,
    /// Extra trusted root certificates, PEM (each string may hold several), for receivers
    /// behind a private certificate authority. The Mozilla roots are always trusted.
    pub extra_root_certificates: Vec<String>,
}

impl Default for NotifierConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            user_agent: concat!("Heimsight/", env!("CARGO_PKG_VERSION")).to_string(),
            extra_root_certificates: Vec::new(),
        }
    }
}

/// What the receiver answered to a delivered notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// The HTTP status (for email, the SMTP reply code), when there was one.
    pub status: Option<u16>,
    /// The receiver's answer (the body, or the SMTP reply text), cut to 512 characters.
    pub detail: String,
}

/// A notification that was not delivered.
///
/// Its message names the channel kind and what went wrong, and never contains a secret.
/// `retryable` says whether sending again later may succeed: timeouts, connection problems,
/// HTTP 408, 429 and 5xx (SMTP 4xx) are retryable; invalid settings and other HTTP 4xx
/// answers (SMTP 5xx) are not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendError {
    /// Whether trying again later may succeed.
    pub retryable: bool,
    /// What went wrong: `slack: HTTP 404 Not Found: no_service`.
    pub message: String,
    /// The HTTP status (for email, the SMTP reply code), when the receiver answered.
    pub status: Option<u16>,
}

impl SendError {
    /// A failure that sending again will not fix, for channel kind `kind`.
    pub fn permanent(kind: &str, message: impl fmt::Display) -> Self {
        Self {
            retryable: false,
            message: format!("{kind}: {message}"),
            status: None,
        }
    }

    /// A failure that may pass, for channel kind `kind`.
    pub fn retryable(kind: &str, message: impl fmt::Display) -> Self {
        Self {
            retryable: true,
            message: format!("{kind}: {message}"),
            status: None,
        }
    }
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SendError {}

/// Delivers notifications to channels. Cheap to clone: clones share one HTTP connection pool.
///
/// HTTPS uses rustls with the *ring* crypto provider, configured for this client alone (no
/// process-wide provider is installed), trusting the Mozilla roots (`webpki-roots`) plus
/// [`NotifierConfig::extra_root_certificates`]. Redirects are not followed: a receiver that
/// redirects gets a permanent error naming the status.
#[derive(Clone)]
pub struct Notifier {
    http: reqwest::Client,
    timeout: Duration,
    smtp_roots: Arc<Vec<lettre::transport::smtp::client::Certificate>>,
}

impl fmt::Debug for Notifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notifier")
            .field("timeout", &self.timeout)
            .field("extra_roots", &self.smtp_roots.len())
            .finish_non_exhaustive()
    }
}

impl Notifier {
    /// A notifier with `config`. Fails on a zero timeout, an unusable `User-Agent` or a
    /// root certificate that does not parse.
    pub fn new(config: NotifierConfig) -> Result<Self> {
        if config.timeout.is_zero() {
            return Err(Error::Config("timeout must be greater than zero".into()));
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let mut smtp_roots = Vec::new();
        for (i, pem) in config.extra_root_certificates.iter().enumerate() {
            let bad =
                |e: &dyn fmt::Display| Error::Config(format!("extra_root_certificates[{i}]: {e}"));
            let certs: Vec<CertificateDer<'static>> =
                CertificateDer::pem_slice_iter(pem.as_bytes())
                    .collect::<std::result::Result<_, _>>()
                    .map_err(|e| bad(&e))?;
            if certs.is_empty() {
                return Err(bad(&"no PEM certificate found"));
            }
            for cert in certs {
                roots.add(cert).map_err(|e| bad(&e))?;
            }
            smtp_roots.push(
                lettre::transport::smtp::client::Certificate::from_pem(pem.as_bytes())
                    .map_err(|e| bad(&e))?,
            );
        }
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Client(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let user_agent = HeaderValue::from_str(&config.user_agent)
            .map_err(|_| Error::Config("user_agent is not a valid header value".into()))?;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .user_agent(user_agent)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::Client(describe(&e)))?;
        Ok(Self {
            http,
            timeout: config.timeout,
            smtp_roots: Arc::new(smtp_roots),
        })
    }

    /// The configured timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    pub(crate) fn smtp_roots(&self) -> &[lettre::transport::smtp::client::Certificate] {
        &self.smtp_roots
    }

    /// Sends `n` to a channel with `settings`. Settings that fail validation are a permanent
    /// error. PagerDuty and Opsgenie get one request per alert instance, in order; the first
    /// failure stops and is returned (both services de-duplicate, so sending all again is
    /// safe). A webhook's `receiver` is `heimsight`; [`send_to`](Self::send_to) uses the
    /// channel's name.
    pub async fn send(
        &self,
        settings: &ChannelSettings,
        n: &Notification,
    ) -> std::result::Result<Delivered, SendError> {
        self.deliver("heimsight", settings, n).await
    }

    /// [`send`](Self::send) to `channel`, naming it as a webhook's `receiver`.
    pub async fn send_to(
        &self,
        channel: &Channel,
        n: &Notification,
    ) -> std::result::Result<Delivered, SendError> {
        self.deliver(&channel.name, &channel.settings, n).await
    }

    async fn deliver(
        &self,
        receiver: &str,
        settings: &ChannelSettings,
        n: &Notification,
    ) -> std::result::Result<Delivered, SendError> {
        let kind = settings.kind();
        if let Err(problems) = settings.validate() {
            let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
            return Err(SendError::permanent(
                kind,
                format!("invalid settings: {}", list.join("; ")),
            ));
        }
        let result = match settings {
            ChannelSettings::Webhook(s) => webhook::send(self, receiver, s, n).await,
            ChannelSettings::Slack(s) => slack::send(self, s, n).await,
            ChannelSettings::Discord(s) => discord::send(self, s, n).await,
            ChannelSettings::Email(s) => email::send(self, s, n).await,
            ChannelSettings::PagerDuty(s) => pagerduty::send(self, s, n).await,
            ChannelSettings::Opsgenie(s) => opsgenie::send(self, s, n).await,
        };
        match &result {
            Ok(d) => tracing::debug!(
                channel = kind,
                notification = %n.id,
                status = ?d.status,
                "notification delivered"
            ),
            Err(e) => tracing::debug!(
                channel = kind,
                notification = %n.id,
                retryable = e.retryable,
                error = %e,
                "notification not delivered"
            ),
        }
        result
    }

    /// POSTs a JSON `body` to `url` with extra `headers`, and classifies the answer.
    pub(crate) async fn post_json(
        &self,
        kind: &str,
        url: &str,
        headers: &[(String, String)],
        body: Vec<u8>,
    ) -> std::result::Result<Delivered, SendError> {
        let shown = secret::mask_url(url);
        let target = shown
            .split_once("://")
            .and_then(|(scheme, rest)| {
                rest.split('/')
                    .next()
                    .map(|host| format!("{scheme}://{host}"))
            })
            .unwrap_or(shown);
        let mut map = HeaderMap::new();
        map.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        for (name, value) in headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| SendError::permanent(kind, format!("invalid header name {name:?}")))?;
            let mut value = HeaderValue::from_str(value).map_err(|_| {
                SendError::permanent(kind, format!("invalid value for header {name}"))
            })?;
            value.set_sensitive(true);
            map.insert(name, value);
        }
        let response = self
            .http
            .post(url)
            .headers(map)
            .body(body)
            .send()
            .await
            .map_err(|e| self.request_error(kind, &target, e))?;
        let status = response.status();
        let detail = read_detail(response).await;
        let code = status.as_u16();
        let reason = status.canonical_reason().unwrap_or("");
        if status.is_success() {
            return Ok(Delivered {
                status: Some(code),
                detail,
            });
        }
        let retryable = code == 408 || code == 429 || status.is_server_error();
        let mut message = format!("{kind}: {target} answered HTTP {code} {reason}");
        if status.is_redirection() {
            message.push_str(" (redirects are not followed; configure the final URL)");
        }
        if !detail.is_empty() {
            message.push_str(": ");
            message.push_str(&detail);
        }
        Err(SendError {
            retryable,
            message,
            status: Some(code),
        })
    }

    fn request_error(&self, kind: &str, target: &str, e: reqwest::Error) -> SendError {
        let what = if e.is_timeout() {
            format!(
                "no answer from {target} within {}",
                human_duration(self.timeout)
            )
        } else if e.is_connect() {
            format!(
                "could not connect to {target}: {}",
                describe(&e.without_url())
            )
        } else {
            format!("request to {target} failed: {}", describe(&e.without_url()))
        };
        // Whatever failed before an answer may pass: timeouts, refused connections, resets,
        // DNS, TLS handshakes.
        SendError::retryable(kind, what)
    }
}

/// Reads up to [`MAX_BODY_READ`] bytes of the body as (lossy) text, cut to [`MAX_DETAIL`].
async fn read_detail(mut response: reqwest::Response) -> String {
    let mut body = Vec::new();
    while body.len() < MAX_BODY_READ {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    body.truncate(MAX_BODY_READ);
    let text = String::from_utf8_lossy(&body);
    truncate(text.trim(), MAX_DETAIL)
}

/// `10s`, `250ms`, `1s500ms` ([`heimsight_core::Duration`]'s text form).
pub(crate) fn human_duration(d: Duration) -> String {
    heimsight_core::Duration::from_std(d).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_is_checked() {
        let e = Notifier::new(NotifierConfig {
            timeout: Duration::ZERO,
            ..Default::default()
        })
        .expect_err("zero timeout");
        assert!(e.to_string().contains("timeout"));
        let e = Notifier::new(NotifierConfig {
            extra_root_certificates: vec!["not pem".into()],
            ..Default::default()
        })
        .expect_err("bad pem");
        assert!(e.to_string().contains("extra_root_certificates[0]"), "{e}");
        assert!(Notifier::new(NotifierConfig::default()).is_ok());
    }

    #[test]
    fn durations_print_short() {
        assert_eq!(human_duration(Duration::from_secs(10)), "10s");
        assert_eq!(human_duration(Duration::from_millis(300)), "300ms");
        assert_eq!(human_duration(Duration::from_millis(1500)), "1s500ms");
    }

    #[tokio::test]
    async fn invalid_settings_are_a_permanent_error_naming_the_kind() {
        let n = Notifier::new(NotifierConfig::default()).expect("notifier");
        let s = ChannelSettings::Slack(slack::SlackSettings::default());
        let e = n
            .send(&s, &Notification::test(heimsight_core::Timestamp(0)))
            .await
            .expect_err("invalid");
        assert!(!e.retryable);
        assert!(
            e.message
                .starts_with("slack: invalid settings: settings.url: required"),
            "{e}"
        );
    }
}
