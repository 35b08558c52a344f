//! HTTP channels against a local receiver.

use std::time::{Duration, Instant};

use heimsight_core::{AlertInstance, AlertStatus, Notification, Severity, Timestamp};
use heimsight_notify::{Channel, ChannelSettings, Notifier, NotifierConfig, webhook};
use serde_json::json;

use crate::util::*;

/// Two firing alerts and one resolved one.
fn notification() -> Notification {
    let alert = |fp: &str, host: &str, status: AlertStatus| AlertInstance {
        fingerprint: fp.into(),
        status,
        labels: [("alertname", "High CPU"), ("host", host), ("team", "infra")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        annotations: [("summary".to_string(), format!("CPU high on {host}"))].into(),
        value: Some(97.5),
        starts_at: Timestamp(1_767_323_045_000_000_000),
        ends_at: (status == AlertStatus::Resolved).then_some(Timestamp(1_767_323_645_000_000_000)),
    };
    Notification {
        id: "n-42".into(),
        rule_id: "cpu".into(),
        rule_name: "High CPU".into(),
        description: "CPU above 90%".into(),
        severity: Severity::Critical,
        status: AlertStatus::Firing,
        group_key: "cpu".into(),
        alerts: vec![
            alert("f1", "web-1", AlertStatus::Firing),
            alert("f2", "web-2", AlertStatus::Firing),
            alert("f3", "web-3", AlertStatus::Resolved),
        ],
        created_at: Timestamp(1_767_323_700_000_000_000),
        test: false,
    }
}

fn settings(kind: &str, settings: serde_json::Value) -> ChannelSettings {
    ChannelSettings::from_json(kind, &settings).unwrap_or_else(|e| panic!("{kind}: {e:?}"))
}

fn assert_json_post(r: &Recorded) {
    assert_eq!(r.method, "POST");
    assert_eq!(r.header("content-type"), "application/json");
    assert!(
        r.header("user-agent").starts_with("Heimsight/"),
        "{}",
        r.header("user-agent")
    );
}

#[tokio::test]
async fn webhook_posts_the_signed_payload() {
    let rx = Receiver::start(200, "thanks").await;
    let s = settings(
        "webhook",
        json!({
            "url": rx.url("/hooks/heimsight?token=abc"),
            "secret": "whsec-0123456789",
            "headers": {"Authorization": "Bearer t0ken", "X-Team": "infra"},
        }),
    );
    let channel = Channel {
        id: "ch-1".into(),
        name: "ops-webhook".into(),
        settings: s,
        created_at: Timestamp(0),
        updated_at: Timestamp(0),
    };
    let d = notifier(Duration::from_secs(5))
        .send_to(&channel, &notification())
        .await
        .unwrap();
    assert_eq!(d.status, Some(200));
    assert_eq!(d.detail, "thanks");

    let reqs = rx.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_json_post(r);
    assert_eq!(r.path, "/hooks/heimsight?token=abc");
    assert_eq!(r.header("authorization"), "Bearer t0ken");
    assert_eq!(r.header("x-team"), "infra");
    let ts: u64 = r.header("x-heimsight-timestamp").parse().unwrap();
    assert!(ts > 1_700_000_000);
    // The signature is the HMAC-SHA256 of the raw body: verify it as a receiver would.
    let sig = r.header("x-heimsight-signature");
    let hex = sig.strip_prefix("sha256=").expect("sha256= prefix");
    let tag: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"whsec-0123456789");
    ring::hmac::verify(&key, &r.body, &tag).expect("the signature verifies");
    assert!(ring::hmac::verify(&key, b"tampered", &tag).is_err());

    let body = r.json();
    assert_eq!(body["version"], "4");
    assert_eq!(body["receiver"], "ops-webhook");
    assert_eq!(body["status"], "firing");
    assert_eq!(body["id"], "n-42");
    assert_eq!(body["rule_id"], "cpu");
    assert_eq!(body["title"], "[FIRING:2] High CPU");
    assert_eq!(
        body["commonLabels"],
        json!({"alertname": "High CPU", "team": "infra"})
    );
    assert_eq!(body["alerts"].as_array().unwrap().len(), 3);
    assert_eq!(body["alerts"][2]["status"], "resolved");
    assert_eq!(body["alerts"][0]["value"], 97.5);
    assert_eq!(webhook::signature("whsec-0123456789", &r.body), sig);
}

#[tokio::test]
async fn unsigned_webhooks_have_no_signature_and_send_names_the_receiver_heimsight() {
    let rx = Receiver::start(200, "").await;
    let s = settings("webhook", json!({"url": rx.url("/")}));
    notifier(Duration::from_secs(5))
        .send(&s, &Notification::test(Timestamp::now()))
        .await
        .unwrap();
    let r = &rx.requests()[0];
    assert!(r.headers.get("x-heimsight-signature").is_none());
    assert_eq!(r.json()["receiver"], "heimsight");
    assert_eq!(r.json()["test"], true);
}

#[tokio::test]
async fn slack_gets_block_kit() {
    let rx = Receiver::start(200, "ok").await;
    let s = settings(
        "slack",
        json!({"url": rx.url("/services/T000/B000/XXXXXXXX"), "username": "Heimsight", "icon_emoji": ":rotating_light:"}),
    );
    let d = notifier(Duration::from_secs(5))
        .send(&s, &notification())
        .await
        .unwrap();
    assert_eq!((d.status, d.detail.as_str()), (Some(200), "ok"));
    let r = &rx.requests()[0];
    assert_json_post(r);
    assert_eq!(r.path, "/services/T000/B000/XXXXXXXX");
    let b = r.json();
    assert_eq!(b["username"], "Heimsight");
    assert_eq!(b["icon_emoji"], ":rotating_light:");
    assert!(
        b["text"]
            .as_str()
            .unwrap()
            .starts_with("[FIRING:2] High CPU")
    );
    let blocks = b["blocks"].as_array().unwrap();
    assert_eq!(blocks[0]["type"], "header");
    assert_eq!(blocks[0]["text"]["type"], "plain_text");
    assert_eq!(blocks.last().unwrap()["type"], "context");
    assert!(blocks.iter().filter(|b| b["type"] == "section").count() >= 4);
}

#[tokio::test]
async fn discord_gets_one_embed_and_answers_204() {
    let rx = Receiver::start(204, "").await;
    let s = settings(
        "discord",
        json!({"url": rx.url("/api/webhooks/1/tok"), "avatar_url": "https://example.com/a.png"}),
    );
    let d = notifier(Duration::from_secs(5))
        .send(&s, &notification())
        .await
        .unwrap();
    assert_eq!(d.status, Some(204));
    assert_eq!(d.detail, "");
    let r = &rx.requests()[0];
    assert_json_post(r);
    assert_eq!(r.path, "/api/webhooks/1/tok");
    let b = r.json();
    assert_eq!(b["avatar_url"], "https://example.com/a.png");
    let e = &b["embeds"][0];
    assert_eq!(e["title"], "[FIRING:2] High CPU");
    assert_eq!(e["color"], 0xE0_1E_5A);
    assert_eq!(e["fields"].as_array().unwrap().len(), 3);
    assert_eq!(e["timestamp"], "2026-01-02T03:15:00.000Z");
}

#[tokio::test]
async fn pagerduty_triggers_and_resolves_one_event_per_alert() {
    let rx = Receiver::start(
        202,
        r#"{"status":"success","message":"Event processed","dedup_key":"x"}"#,
    )
    .await;
    let s = settings(
        "pagerduty",
        json!({"routing_key": "R0123456789abcdef0123456789abcde", "url": rx.url("/v2/enqueue")}),
    );
    let d = notifier(Duration::from_secs(5))
        .send(&s, &notification())
        .await
        .unwrap();
    assert_eq!(d.status, Some(202));
    assert!(d.detail.starts_with("3 events accepted"), "{}", d.detail);
    let reqs = rx.requests();
    assert_eq!(reqs.len(), 3);
    let actions: Vec<String> = reqs
        .iter()
        .map(|r| r.json()["event_action"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(actions, ["trigger", "trigger", "resolve"]);
    for r in &reqs {
        assert_json_post(r);
        assert_eq!(r.path, "/v2/enqueue");
        assert_eq!(r.json()["routing_key"], "R0123456789abcdef0123456789abcde");
    }
    let t = reqs[0].json();
    assert_eq!(t["dedup_key"], "heimsight-cpu-f1");
    assert_eq!(t["payload"]["severity"], "critical");
    assert_eq!(t["payload"]["source"], "web-1");
    assert_eq!(t["payload"]["summary"], "High CPU: CPU high on web-1");
    assert_eq!(reqs[2].json()["dedup_key"], "heimsight-cpu-f3");
}

#[tokio::test]
async fn opsgenie_creates_and_closes_with_the_genie_key() {
    let rx = Receiver::start(
        202,
        r#"{"result":"Request will be processed","took":0.1,"requestId":"r"}"#,
    )
    .await;
    // A base URL with a path prefix, as behind a proxy.
    let s = settings(
        "opsgenie",
        json!({"api_key": "genie-0123456789", "url": rx.url("/og")}),
    );
    let d = notifier(Duration::from_secs(5))
        .send(&s, &notification())
        .await
        .unwrap();
    assert_eq!(d.status, Some(202));
    let reqs = rx.requests();
    let paths: Vec<&str> = reqs.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/og/v2/alerts",
            "/og/v2/alerts",
            "/og/v2/alerts/heimsight-cpu-f3/close?identifierType=alias"
        ]
    );
    for r in &reqs {
        assert_json_post(r);
        assert_eq!(r.header("authorization"), "GenieKey genie-0123456789");
    }
    let c = reqs[0].json();
    assert_eq!(c["message"], "High CPU: CPU high on web-1");
    assert_eq!(c["alias"], "heimsight-cpu-f1");
    assert_eq!(c["priority"], "P1");
    assert_eq!(c["source"], "Heimsight");
    assert!(
        c["details"]
            .as_object()
            .unwrap()
            .values()
            .all(|v| v.is_string())
    );
    let close = reqs[2].json();
    assert_eq!(close["source"], "Heimsight");
    assert!(close["note"].as_str().unwrap().starts_with("Resolved at"));
}

#[tokio::test]
async fn server_errors_and_rate_limits_are_retryable_and_other_4xx_are_not() {
    let secret_path = "/services/T000/B000/SECRETTOKEN123";
    for (status, retryable) in [
        (500, true),
        (503, true),
        (429, true),
        (408, true),
        (400, false),
        (404, false),
        (403, false),
    ] {
        let rx = Receiver::start(status, "no_service").await;
        let s = settings("slack", json!({"url": rx.url(secret_path)}));
        let e = notifier(Duration::from_secs(5))
            .send(&s, &notification())
            .await
            .unwrap_err();
        assert_eq!(e.retryable, retryable, "{status}: {e}");
        assert_eq!(e.status, Some(status));
        let text = e.to_string();
        assert!(text.starts_with("slack: http://127.0.0.1:"), "{text}");
        assert!(
            text.contains(&format!("answered HTTP {status}")) && text.ends_with(": no_service"),
            "{text}"
        );
        assert!(!text.contains("SECRETTOKEN"), "{text}");
    }
}

#[tokio::test]
async fn a_failed_event_stops_pagerduty_and_says_why() {
    let rx = Receiver::start(
        400,
        r#"{"status":"invalid event","message":"Event object is invalid"}"#,
    )
    .await;
    let s = settings(
        "pagerduty",
        json!({"routing_key": "bad", "url": rx.url("/v2/enqueue")}),
    );
    let e = notifier(Duration::from_secs(5))
        .send(&s, &notification())
        .await
        .unwrap_err();
    assert!(!e.retryable);
    assert!(
        e.message.starts_with("pagerduty: ") && e.message.contains("Event object is invalid"),
        "{e}"
    );
    assert_eq!(rx.requests().len(), 1);
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let rx = Receiver::start(302, "").await;
    let s = settings("webhook", json!({"url": rx.url("/old")}));
    let e = notifier(Duration::from_secs(5))
        .send(&s, &notification())
        .await
        .unwrap_err();
    assert!(!e.retryable && e.status == Some(302), "{e}");
    assert!(e.message.contains("redirects are not followed"), "{e}");
}

#[tokio::test]
async fn a_hanging_receiver_times_out_with_a_retryable_error() {
    let (addr, _server) = silent_server().await;
    let s = settings(
        "discord",
        json!({"url": format!("http://{addr}/api/webhooks/1/tok")}),
    );
    let started = Instant::now();
    let e = notifier(Duration::from_millis(300))
        .send(&s, &notification())
        .await
        .unwrap_err();
    // The receiver never answers; the configured timeout ends the wait (a generous bound
    // checks it was the timeout and not some default).
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert!(e.retryable);
    assert_eq!(e.status, None);
    assert!(
        e.message
            .starts_with("discord: no answer from http://127.0.0.1:"),
        "{e}"
    );
    assert!(e.message.ends_with("within 300ms"), "{e}");
}

#[tokio::test]
async fn connection_refused_is_retryable() {
    let addr = closed_port().await;
    let s = settings(
        "opsgenie",
        json!({"api_key": "k", "url": format!("http://{addr}")}),
    );
    let e = notifier(Duration::from_secs(5))
        .send(&s, &notification())
        .await
        .unwrap_err();
    assert!(e.retryable, "{e}");
    assert!(
        e.message
            .starts_with("opsgenie: could not connect to http://127.0.0.1:"),
        "{e}"
    );
    assert!(!e.message.contains("GenieKey"), "{e}");
}

#[tokio::test]
#[ignore = "e2e: needs the Python test peers from PyPI (scripts/otel-venv.sh); scripts/test.sh runs it"]
async fn https_receivers_behind_a_private_ca_need_its_root() {
    let certs = certs();
    let peer = Peer::start(
        "https",
        &[
            "--tls-cert",
            certs.cert.to_str().unwrap(),
            "--tls-key",
            certs.key.to_str().unwrap(),
        ],
    );
    let s = settings(
        "webhook",
        json!({"url": format!("https://localhost:{}/hook", peer.port)}),
    );

    // The Mozilla roots alone do not trust the test CA: the TLS handshake fails.
    let e = notifier(Duration::from_secs(5))
        .send(&s, &notification())
        .await
        .unwrap_err();
    assert!(e.retryable, "{e}");
    assert!(
        e.message.contains("certificate") || e.message.contains("Certificate"),
        "{e}"
    );

    // With the CA as an extra root, the request goes through over TLS (rustls + ring).
    let n = Notifier::new(NotifierConfig {
        timeout: Duration::from_secs(5),
        extra_root_certificates: vec![std::fs::read_to_string(&certs.ca).unwrap()],
        ..Default::default()
    })
    .unwrap();
    let d = n.send(&s, &notification()).await.unwrap();
    assert_eq!((d.status, d.detail.as_str()), (Some(200), "ok"));
    let got = peer.received(1);
    assert_eq!(got[0]["path"], "/hook");
    assert_eq!(got[0]["headers"]["content-type"], "application/json");
    let body: serde_json::Value = serde_json::from_str(got[0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["id"], "n-42");
}
