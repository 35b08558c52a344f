//! TLS on every listener of `serve_all`, with certificates made by the `openssl` command:
//! HTTPS for the API, the web UI and OTLP/HTTP, gRPC over TLS, no plain-text fallback,
//! certificate reload when the files change, and clear errors for unusable files.

use std::sync::Arc;
use std::time::Duration;

use heimsight_ingest::otlp::proto::collector::logs::v1::logs_service_client::LogsServiceClient;
use heimsight_server::tls::{TlsCertificates, TlsError};
use heimsight_server::{HeimsightServer, ServerConfig, TlsConfig};
use heimsight_store::MemoryStore;
use prost::Message;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

use crate::otlp::{logs_request, loopback, running_app};
use crate::pki::Pki;
use crate::util::app_of;

const ADMIN: &str = "tls-test-admin-key-0123456789abcdef";

/// The authority's certificate as rustls takes it.
fn ca_der(pki: &Pki) -> CertificateDer<'static> {
    CertificateDer::from_pem_file(pki.ca()).unwrap()
}

fn client_config(ca: Option<CertificateDer<'static>>, alpn: &[&[u8]]) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    if let Some(ca) = ca {
        roots.add(ca).unwrap();
    }
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    config
}

fn https_client(ca: Option<CertificateDer<'static>>) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_backend_preconfigured(client_config(ca, &[]))
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// The certificate the server at `addr` presents, and the protocol ALPN settled on.
async fn presented(
    addr: &str,
    ca: CertificateDer<'static>,
    alpn: &[&[u8]],
) -> (CertificateDer<'static>, Option<Vec<u8>>) {
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client_config(Some(ca), alpn)));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let (_, session) = tls.get_ref();
    (
        session.peer_certificates().unwrap()[0].clone().into_owned(),
        session.alpn_protocol().map(<[u8]>::to_vec),
    )
}

fn port(addr: &str) -> u16 {
    addr.rsplit(':').next().unwrap().parse().unwrap()
}

/// Every listener serves TLS with the configured certificate, and nothing in plain text;
/// the UI's session cookie is `Secure`; a new certificate written over the files is served to
/// new connections without a restart.
#[tokio::test]
async fn every_listener_serves_tls_and_reloads_the_certificate() {
    let pki = Pki::new();
    let (cert, key) = pki.server("first", false);
    let mut config = loopback(ServerConfig::default()).with_tls(TlsConfig::new(&cert, &key));
    config.auth.enabled = true;
    let server = HeimsightServer::builder()
        .store(Arc::new(MemoryStore::new()))
        .config(config)
        .admin_key(ADMIN)
        .build()
        .unwrap();
    let srv = running_app(app_of(server)).await;
    let api = format!("https://localhost:{}", port(&srv.http));
    let otlp_http = format!("https://localhost:{}", port(&srv.otlp_http));
    let grpc = format!("https://localhost:{}", port(&srv.grpc));
    let client = https_client(Some(ca_der(&pki)));

    // HTTPS: the API (with a key), /health, OTLP/HTTP on both listeners.
    let r = client.get(format!("{api}/health")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = client
        .get(format!("{api}/api/v1/status"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    for base in [&api, &otlp_http] {
        let r = client
            .post(format!("{base}/v1/logs"))
            .bearer_auth(ADMIN)
            .header("content-type", "application/x-protobuf")
            .body(logs_request("https-app", &["over https"]).encode_to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{base}: {}", r.text().await.unwrap());
    }

    // gRPC over TLS (ALPN h2), with the key in the metadata.
    let channel = tonic::transport::Channel::from_shared(grpc.clone())
        .unwrap()
        .tls_config(
            tonic::transport::ClientTlsConfig::new()
                .ca_certificate(tonic::transport::Certificate::from_pem(
                    std::fs::read(pki.ca()).unwrap(),
                ))
                .domain_name("localhost"),
        )
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut logs = LogsServiceClient::new(channel);
    let mut req = tonic::Request::new(logs_request("grpc-tls-app", &["over grpc+tls"]));
    req.metadata_mut()
        .insert("authorization", format!("Bearer {ADMIN}").parse().unwrap());
    logs.export(req).await.unwrap();
    let r = client
        .get(format!("{api}/api/v1/logs?service=grpc-tls-app"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["logs"][0]["message"], "over grpc+tls", "{body}");
    let r = client
        .get(format!("{api}/api/v1/logs?service=https-app"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["logs"].as_array().unwrap().len(), 2, "{body}");

    // ALPN: HTTP/1.1 on the HTTP listeners, h2 on gRPC.
    let (_, alpn) = presented(&srv.http, ca_der(&pki), &[b"h2", b"http/1.1"]).await;
    assert_eq!(alpn.as_deref(), Some(&b"http/1.1"[..]));
    let (_, alpn) = presented(&srv.grpc["http://".len()..], ca_der(&pki), &[b"h2"]).await;
    assert_eq!(alpn.as_deref(), Some(&b"h2"[..]));

    // No plain text on any port, and no certificate a client does not trust.
    let plain = https_client(None);
    for addr in [&srv.http, &srv.otlp_http] {
        let r = plain.get(format!("http://{addr}/health")).send().await;
        assert!(r.is_err(), "plain HTTP answered on {addr}: {r:?}");
    }
    let r = https_client(None).get(format!("{api}/health")).send().await;
    let e = r.expect_err("a client without the CA refuses the certificate");
    assert!(
        format!("{e:?}").contains("UnknownIssuer"),
        "not a certificate error: {e:?}"
    );
    let h2c = LogsServiceClient::connect(srv.grpc.clone()).await;
    if let Ok(mut c) = h2c {
        let r = c.export(logs_request("plain", &["x"])).await;
        assert!(r.is_err(), "plain gRPC answered: {r:?}");
    }

    // The web UI's session cookie is Secure over HTTPS.
    let r = client
        .post(format!("{api}/ui/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("key={ADMIN}&next=%2Fui%2F"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict")
            && cookie.contains("; Secure"),
        "{cookie}"
    );

    // A new certificate (an EC key in SEC1 this time) written over the files is served to new
    // connections within a few seconds; the first one is no longer presented.
    let first = CertificateDer::from_pem_file(&cert).unwrap();
    let (next_cert, next_key) = pki.server("second", true);
    assert_eq!(presented(&srv.http, ca_der(&pki), &[]).await.0, first);
    std::fs::copy(&next_key, &key).unwrap();
    std::fs::copy(&next_cert, &cert).unwrap();
    let second = CertificateDer::from_pem_file(&next_cert).unwrap();
    let mut served = Vec::new();
    for _ in 0..100 {
        served = vec![
            presented(&srv.http, ca_der(&pki), &[]).await.0,
            presented(&srv.otlp_http, ca_der(&pki), &[]).await.0,
            presented(&srv.grpc["http://".len()..], ca_der(&pki), &[b"h2"])
                .await
                .0,
        ];
        if served.iter().all(|c| *c == second) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        served.iter().all(|c| *c == second),
        "the new certificate was not served within 10 s"
    );
    let r = client.get(format!("{api}/health")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    srv.stop().await;
}

/// Unusable files are refused with the file and the reason; a reload that fails keeps the
/// certificate in use.
#[tokio::test]
async fn unusable_certificates_are_named_and_a_failed_reload_keeps_the_old_one() {
    let pki = Pki::new();
    let (cert, key) = pki.server("good", false);
    let (_, other_key) = pki.server("other", true);
    let missing = pki.file("missing.pem");
    let e = TlsCertificates::load(&missing, &key).unwrap_err();
    assert!(matches!(e, TlsError::Read { .. }), "{e:?}");
    assert!(e.to_string().contains("missing.pem"), "{e}");

    std::fs::write(pki.file("junk.pem"), "not a certificate\n").unwrap();
    let e = TlsCertificates::load(pki.file("junk.pem"), &key).unwrap_err();
    assert!(
        e.to_string().contains("junk.pem") && e.to_string().contains("no PEM certificate"),
        "{e}"
    );
    let e = TlsCertificates::load(&cert, &cert).unwrap_err();
    assert!(e.to_string().contains("no PEM private key"), "{e}");
    let e = TlsCertificates::load(&cert, &other_key).unwrap_err();
    assert!(matches!(e, TlsError::Mismatch { .. }), "{e:?}");
    assert!(e.to_string().contains("does not belong"), "{e}");

    // A server with a certificate that cannot be read does not start.
    let config = loopback(ServerConfig::default()).with_tls(TlsConfig::new(&missing, &key));
    let server = HeimsightServer::builder()
        .store(Arc::new(MemoryStore::new()))
        .config(config.clone())
        .build()
        .unwrap();
    let listeners = heimsight_server::Listeners::bind(&config).await.unwrap();
    let e = server
        .serve_all(listeners, std::future::pending())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("missing.pem"), "{e}");

    // Half of a rotation (a new key, the old certificate) is refused; the old pair stays.
    let certs = TlsCertificates::load(&cert, &key).unwrap();
    let copy = pki.file("copy.key");
    std::fs::copy(&key, &copy).unwrap();
    let certs_copy = TlsCertificates::load(&cert, &copy).unwrap();
    std::fs::copy(&other_key, &copy).unwrap();
    assert!(certs_copy.reload().is_err());
    // Watching tries the changed files once, then waits for them to change again.
    assert!(certs_copy.reload_if_changed().is_err());
    assert!(!certs_copy.reload_if_changed().unwrap());
    assert!(!certs.reload_if_changed().unwrap());
    // The old pair is still what a handshake gets.
    let config = certs_copy.http_config();
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let _ = acceptor.accept(tcp).await;
    });
    let (got, _) = presented(&addr, ca_der(&pki), &[]).await;
    assert_eq!(got, CertificateDer::from_pem_file(&cert).unwrap());
}
