//! Helpers of the server tests: a router over a fresh memory store, and requests that return
//! the status and the JSON body.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use heimsight_server::{HeimsightServer, ServerConfig};
use heimsight_store::{MemoryStore, Store};
use serde_json::Value;
use tower::ServiceExt;

/// 2026-01-01T00:00:00Z in nanoseconds.
pub const T0: i64 = 1_767_225_600_000_000_000;
/// One second in nanoseconds.
pub const SEC: i64 = 1_000_000_000;
pub const TRACE: &str = "5b8efff798038103d269b633813fc60c";

/// A test server: its router and its store.
pub struct TestApp {
    pub server: HeimsightServer,
    pub router: Router,
    pub store: Arc<dyn Store>,
}

pub fn app() -> TestApp {
    app_with(ServerConfig::default())
}

pub fn app_with(config: ServerConfig) -> TestApp {
    app_on(Arc::new(MemoryStore::new()), config)
}

pub fn app_on(store: Arc<dyn Store>, config: ServerConfig) -> TestApp {
    let server = HeimsightServer::builder()
        .store(store)
        .config(config)
        .build()
        .unwrap();
    app_of(server)
}

/// A test app of a server built by the test.
pub fn app_of(server: HeimsightServer) -> TestApp {
    TestApp {
        router: server.router(),
        store: Arc::clone(server.store()),
        server,
    }
}

/// The answer to a request: status, JSON body (Null when the body is not JSON) and the raw
/// body text.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub json: Value,
    pub text: String,
}

impl Reply {
    /// The `error` message of an error answer.
    pub fn error(&self) -> &str {
        self.json["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error message in {} {}", self.status, self.text))
    }
}

impl TestApp {
    pub async fn request(&self, req: Request<Body>) -> Reply {
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply { status, json, text }
    }

    pub async fn get(&self, uri: &str) -> Reply {
        self.request(Request::get(uri).body(Body::empty()).unwrap())
            .await
    }

    /// Sends `body` with the given content type (none when `None`).
    pub async fn send(
        &self,
        method: &str,
        uri: &str,
        content_type: Option<&str>,
        body: impl Into<Body>,
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        self.request(req.body(body.into()).unwrap()).await
    }

    pub async fn post(&self, uri: &str, body: &Value) -> Reply {
        self.send("POST", uri, Some("application/json"), body.to_string())
            .await
    }

    pub async fn put(&self, uri: &str, body: &Value) -> Reply {
        self.send("PUT", uri, Some("application/json"), body.to_string())
            .await
    }
}

/// An RFC 3339 time `secs` seconds after [`T0`].
pub fn at(secs: i64) -> String {
    heimsight_core::Timestamp(T0 + secs * SEC).to_rfc3339()
}

/// Asserts a 4xx answer whose error message contains every one of `needles`.
#[track_caller]
pub fn assert_client_error(r: &Reply, status: u16, needles: &[&str]) {
    assert_eq!(r.status.as_u16(), status, "{}", r.text);
    let msg = r.error().to_string() + " " + &r.json["details"].to_string();
    for n in needles {
        assert!(msg.contains(n), "{n:?} not in {msg:?}");
    }
}

/// A real SMTP server on 127.0.0.1: aiosmtpd run by heimsight-notify's `tests/peers.py` in the
/// test virtualenv (`scripts/otel-venv.sh`). Each message received is parsed by Python's email
/// package and saved as a numbered JSON file; the server is killed when dropped.
pub struct SmtpPeer {
    pub port: u16,
    dir: tempfile::TempDir,
    child: std::process::Child,
}

impl SmtpPeer {
    pub fn start() -> SmtpPeer {
        use std::process::{Command, Stdio};
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .unwrap();
        let venv = Command::new("bash")
            .arg(root.join("scripts/otel-venv.sh"))
            .output()
            .expect("running bash scripts/otel-venv.sh");
        assert!(
            venv.status.success(),
            "scripts/otel-venv.sh failed (python3 with venv and PyPI are needed): {}",
            String::from_utf8_lossy(&venv.stderr)
        );
        let python = String::from_utf8(venv.stdout).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(python.trim())
            .arg(root.join("heimsight-notify/tests/peers.py"))
            .args(["smtp", "--dir"])
            .arg(dir.path())
            .stdout(Stdio::piped())
            .spawn()
            .expect("starting aiosmtpd");
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        let Some(port) = line
            .strip_prefix("READY ")
            .and_then(|p| p.trim().parse().ok())
        else {
            let _ = child.kill();
            panic!("the SMTP peer did not start (printed {line:?})");
        };
        SmtpPeer { port, dir, child }
    }

    /// The messages received so far, in order, waiting up to 10 s for at least `n`.
    pub fn received(&self, n: usize) -> Vec<Value> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let count = std::fs::read_dir(self.dir.path())
                .unwrap()
                .filter(|e| {
                    e.as_ref()
                        .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "json"))
                })
                .count();
            if count >= n || std::time::Instant::now() > deadline {
                return (0..count)
                    .map(|i| {
                        let f = self.dir.path().join(format!("{i}.json"));
                        serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap()
                    })
                    .collect();
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}

impl Drop for SmtpPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
