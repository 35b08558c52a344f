//! Email through a real SMTP server: aiosmtpd, run by `peers.py`, which parses each message
//! with Python's email package and saves what it received.

use std::time::Duration;

use heimsight_core::{AlertInstance, AlertStatus, Notification, Severity, Timestamp};
use heimsight_notify::{ChannelSettings, Notifier, NotifierConfig};
use serde_json::{Value, json};

use crate::util::*;

fn notification() -> Notification {
    let mut labels: std::collections::BTreeMap<String, String> =
        [("alertname", "Disk full"), ("host", "db-1")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
    labels.insert("note".into(), "<b>bold</b> & \"quoted\"".into());
    Notification {
        id: "n-7".into(),
        rule_id: "disk".into(),
        rule_name: "Disk full".into(),
        description: "Free space below 5%".into(),
        severity: Severity::Warning,
        status: AlertStatus::Firing,
        group_key: "disk".into(),
        alerts: vec![AlertInstance {
            fingerprint: "d1".into(),
            status: AlertStatus::Firing,
            labels,
            annotations: [("summary".to_string(), "Disk 97% full on db-1".to_string())].into(),
            value: Some(97.0),
            starts_at: Timestamp(1_767_323_045_000_000_000),
            ends_at: None,
        }],
        created_at: Timestamp(1_767_323_700_000_000_000),
        test: false,
    }
}

fn email(settings: Value) -> ChannelSettings {
    ChannelSettings::from_json("email", &settings).unwrap_or_else(|e| panic!("{e:?}"))
}

fn part<'a>(msg: &'a Value, content_type: &str) -> &'a str {
    msg["parts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["content_type"] == content_type)
        .unwrap_or_else(|| panic!("no {content_type} part in {msg}"))["text"]
        .as_str()
        .unwrap()
}

#[tokio::test]
#[ignore = "e2e: needs the Python test peers from PyPI (scripts/otel-venv.sh); scripts/test.sh runs it"]
async fn plain_smtp_delivers_text_and_html_to_every_recipient() {
    let peer = Peer::start("smtp", &[]);
    let s = email(json!({
        "host": "127.0.0.1",
        "port": peer.port,
        "tls": "none",
        "from": "Heimsight <alerts@example.com>",
        "to": ["ops@example.com", "Dev Team <dev@example.com>", "oncall@example.org"],
        "subject_prefix": "[prod]",
    }));
    let d = notifier(Duration::from_secs(10))
        .send(&s, &notification())
        .await
        .unwrap();
    assert_eq!(d.status, Some(250));
    assert!(d.detail.contains("Ok: saved"), "{}", d.detail);

    let got = peer.received(1);
    assert_eq!(got.len(), 1);
    let r = &got[0];
    assert_eq!(r["mail_from"], "alerts@example.com");
    assert_eq!(
        r["rcpt_tos"],
        json!(["ops@example.com", "dev@example.com", "oncall@example.org"])
    );
    assert_eq!(r["tls"], false);
    let m = &r["message"];
    assert_eq!(m["subject"], "[prod] [FIRING:1] Disk full");
    assert_eq!(m["from"], "Heimsight <alerts@example.com>");
    assert!(m["to"].as_str().unwrap().contains("dev@example.com"));
    assert!(m["date"].is_string() && m["message_id"].is_string(), "{m}");
    assert_eq!(m["content_type"], "multipart/alternative");
    let text = part(m, "text/plain");
    for needle in [
        "[FIRING:1] Disk full",
        "Disk 97% full on db-1",
        "Free space below 5%",
        "warning",
        "host=db-1",
        "Value: 97",
    ] {
        assert!(text.contains(needle), "{needle} missing from\n{text}");
    }
    let html = part(m, "text/html");
    assert!(html.contains("Disk 97% full on db-1"));
    assert!(
        html.contains("&lt;b&gt;bold&lt;/b&gt; &amp; &quot;quoted&quot;"),
        "{html}"
    );
    assert!(!html.contains("<b>bold</b>"));
}

#[tokio::test]
#[ignore = "e2e: needs the Python test peers from PyPI (scripts/otel-venv.sh); scripts/test.sh runs it"]
async fn starttls_with_auth_against_a_self_signed_server() {
    let certs = certs();
    let peer = Peer::start(
        "smtp",
        &[
            "--tls-cert",
            certs.cert.to_str().unwrap(),
            "--tls-key",
            certs.key.to_str().unwrap(),
            "--starttls",
            "--auth",
            "alice:s3cret-passw0rd",
        ],
    );
    let s = email(json!({
        "host": "127.0.0.1",
        "port": peer.port,
        "tls": "starttls",
        "username": "alice",
        "password": "s3cret-passw0rd",
        "from": "alerts@example.com",
        "to": ["ops@example.com", "dev@example.com"],
        "skip_tls_verify": true,
    }));
    let d = notifier(Duration::from_secs(10))
        .send(&s, &notification())
        .await
        .unwrap();
    assert_eq!(d.status, Some(250));
    let r = &peer.received(1)[0];
    assert_eq!(r["tls"], true, "{r}");
    assert_eq!(r["authenticated"], true);
    assert_eq!(r["login"], "alice");
    assert_eq!(r["rcpt_tos"], json!(["ops@example.com", "dev@example.com"]));
    assert_eq!(r["message"]["subject"], "[FIRING:1] Disk full");

    // Without skip_tls_verify, the self-signed chain is refused before any credentials go out.
    let mut strict = s.clone();
    if let ChannelSettings::Email(e) = &mut strict {
        e.skip_tls_verify = false;
    }
    let e = notifier(Duration::from_secs(10))
        .send(&strict, &notification())
        .await
        .unwrap_err();
    assert!(e.retryable, "{e}");
    assert!(
        e.message.starts_with("email: sending through 127.0.0.1:"),
        "{e}"
    );
    assert_eq!(peer.received(1).len(), 1);
}

#[tokio::test]
#[ignore = "e2e: needs the Python test peers from PyPI (scripts/otel-venv.sh); scripts/test.sh runs it"]
async fn wrong_password_is_a_permanent_error_without_the_password() {
    let certs = certs();
    let peer = Peer::start(
        "smtp",
        &[
            "--tls-cert",
            certs.cert.to_str().unwrap(),
            "--tls-key",
            certs.key.to_str().unwrap(),
            "--starttls",
            "--auth",
            "alice:right-password",
        ],
    );
    let s = email(json!({
        "host": "127.0.0.1", "port": peer.port, "username": "alice", "password": "wrong-password-123",
        "from": "alerts@example.com", "to": ["ops@example.com"], "skip_tls_verify": true,
    }));
    let e = notifier(Duration::from_secs(10))
        .send(&s, &notification())
        .await
        .unwrap_err();
    assert!(!e.retryable, "{e}");
    assert_eq!(e.status, Some(535), "{e}");
    assert!(!e.message.contains("wrong-password-123"), "{e}");
    assert!(peer.received(0).is_empty());
}

#[tokio::test]
#[ignore = "e2e: needs the Python test peers from PyPI (scripts/otel-venv.sh); scripts/test.sh runs it"]
async fn implicit_tls_verified_with_an_extra_root() {
    let certs = certs();
    let peer = Peer::start(
        "smtp",
        &[
            "--tls-cert",
            certs.cert.to_str().unwrap(),
            "--tls-key",
            certs.key.to_str().unwrap(),
            "--implicit-tls",
            "--auth",
            "bob:hunter2-hunter2",
        ],
    );
    let s = email(json!({
        "host": "localhost", "port": peer.port, "tls": "tls", "username": "bob", "password": "hunter2-hunter2",
        "from": "alerts@example.com", "to": ["ops@example.com"],
    }));
    let n = Notifier::new(NotifierConfig {
        timeout: Duration::from_secs(10),
        extra_root_certificates: vec![std::fs::read_to_string(&certs.ca).unwrap()],
        ..Default::default()
    })
    .unwrap();
    n.send(&s, &notification()).await.unwrap();
    let r = &peer.received(1)[0];
    assert_eq!(r["tls"], true);
    assert_eq!(r["login"], "bob");
}

#[tokio::test]
#[ignore = "e2e: needs the Python test peers from PyPI (scripts/otel-venv.sh); scripts/test.sh runs it"]
async fn starttls_required_but_not_offered_is_refused() {
    let peer = Peer::start("smtp", &[]);
    let s = email(json!({
        "host": "127.0.0.1", "port": peer.port, "tls": "starttls",
        "from": "alerts@example.com", "to": ["ops@example.com"],
    }));
    let e = notifier(Duration::from_secs(10))
        .send(&s, &notification())
        .await
        .unwrap_err();
    assert!(e.message.starts_with("email: "), "{e}");
    assert!(
        peer.received(0).is_empty(),
        "nothing may be sent in clear text"
    );
}

#[tokio::test]
async fn a_silent_smtp_server_times_out() {
    let (addr, _server) = silent_server().await;
    let s = email(json!({
        "host": "127.0.0.1", "port": addr.port(), "tls": "none",
        "from": "alerts@example.com", "to": ["ops@example.com"],
    }));
    let started = std::time::Instant::now();
    let e = notifier(Duration::from_millis(500))
        .send(&s, &notification())
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(e.retryable, "{e}");
    assert!(e.message.starts_with("email: "), "{e}");
}
