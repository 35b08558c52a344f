//! Test peers: an HTTP receiver on 127.0.0.1 that records requests, receivers that misbehave,
//! and the Python peers (SMTP, HTTPS) of `peers.py` with certificates made by `openssl`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use heimsight_notify::{Notifier, NotifierConfig};

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: Method,
    /// Path and query, as sent.
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Recorded {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("no header {name} in {:?}", self.headers))
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// An HTTP server on 127.0.0.1 answering every request with one status and body, recording
/// what it receives.
pub struct Receiver {
    pub addr: SocketAddr,
    recorded: Arc<Mutex<Vec<Recorded>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    pub async fn start(status: u16, body: &'static str) -> Self {
        let recorded = Arc::new(Mutex::new(Vec::new()));
        let rec = recorded.clone();
        let status = StatusCode::from_u16(status).unwrap();
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, request: Bytes| {
                let rec = rec.clone();
                async move {
                    let path = uri
                        .path_and_query()
                        .map(ToString::to_string)
                        .unwrap_or_default();
                    rec.lock().unwrap().push(Recorded {
                        method,
                        path,
                        headers,
                        body: request,
                    });
                    let mut answer = axum::response::Response::new(axum::body::Body::from(
                        body_of(status, body),
                    ));
                    *answer.status_mut() = status;
                    if status == StatusCode::FOUND {
                        answer
                            .headers_mut()
                            .insert("location", "http://127.0.0.1:9/elsewhere".parse().unwrap());
                    }
                    answer
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Receiver {
            addr,
            recorded,
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.recorded.lock().unwrap().clone()
    }
}

fn body_of(status: StatusCode, body: &'static str) -> &'static str {
    if status == StatusCode::NO_CONTENT {
        ""
    } else {
        body
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A TCP server that accepts connections and never answers.
pub async fn silent_server() -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((conn, _)) = listener.accept().await {
            held.push(conn);
        }
    });
    (addr, task)
}

/// An address where nothing listens.
pub async fn closed_port() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

pub fn notifier(timeout: Duration) -> Notifier {
    Notifier::new(NotifierConfig {
        timeout,
        ..Default::default()
    })
    .unwrap()
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The test virtualenv's python (`scripts/otel-venv.sh`, which pins aiosmtpd), set up once per
/// test process.
pub fn python() -> &'static str {
    static PYTHON: OnceLock<String> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let out = Command::new("bash")
            .arg(repo_root().join("scripts/otel-venv.sh"))
            .output()
            .expect("running bash scripts/otel-venv.sh");
        assert!(
            out.status.success(),
            "scripts/otel-venv.sh failed; the email and HTTPS tests need python3 with the venv \
             module (Debian: apt-get install python3 python3-venv) and access to PyPI:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    })
}

/// A test certificate authority and a server certificate it signed for `localhost` and
/// `127.0.0.1`, made once per test process with the `openssl` command (installed with apt
/// when missing and possible).
pub struct Certs {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
    _dir: tempfile::TempDir,
}

pub fn certs() -> &'static Certs {
    static CERTS: OnceLock<Certs> = OnceLock::new();
    CERTS.get_or_init(|| {
        ensure_openssl();
        let dir = tempfile::tempdir().unwrap();
        let p = |name: &str| dir.path().join(name);
        std::fs::write(
            p("ext.cnf"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\n\
             basicConstraints=critical,CA:FALSE\n\
             keyUsage=critical,digitalSignature,keyEncipherment\n\
             extendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        let run = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(dir.path())
                .output()
                .expect("running openssl");
            assert!(
                out.status.success(),
                "openssl {args:?} failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        run(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=Heimsight Test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        run(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ]);
        run(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ]);
        Certs {
            ca: p("ca.pem"),
            cert: p("server.pem"),
            key: p("server.key"),
            _dir: dir,
        }
    })
}

fn ensure_openssl() {
    let present = || {
        Command::new("openssl")
            .arg("version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if present() {
        return;
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0"));
    let (cmd, pre): (&str, &[&str]) = if root {
        ("apt-get", &[])
    } else {
        ("sudo", &["apt-get"])
    };
    let _ = Command::new(cmd).args(pre).args(["update", "-qq"]).status();
    let _ = Command::new(cmd)
        .args(pre)
        .args(["install", "-y", "-qq", "openssl"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status();
    assert!(
        present(),
        "the openssl command is needed to make test certificates (Debian: apt-get install openssl)"
    );
}

/// A Python peer from `peers.py`, killed when dropped. Received messages land in `dir` as
/// numbered JSON files.
pub struct Peer {
    pub port: u16,
    pub dir: tempfile::TempDir,
    child: Child,
}

impl Peer {
    pub fn start(kind: &str, args: &[&str]) -> Peer {
        let dir = tempfile::tempdir().unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers.py");
        let mut child = Command::new(python())
            .arg(script)
            .arg(kind)
            .arg("--dir")
            .arg(dir.path())
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting the Python peer");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).unwrap();
        let port = line
            .strip_prefix("READY ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| {
                let _ = child.kill();
                panic!("the {kind} peer did not start (printed {line:?})")
            });
        Peer { port, dir, child }
    }

    /// The records received so far, waiting up to 10 s for at least `n`.
    pub fn received(&self, n: usize) -> Vec<serde_json::Value> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
                .unwrap()
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect();
            if files.len() >= n || Instant::now() > deadline {
                files.sort_by_key(|p| {
                    p.file_stem()
                        .and_then(|s| s.to_str())
                        .and_then(|s| s.parse::<u32>().ok())
                });
                return files
                    .iter()
                    .map(|f| serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap())
                    .collect();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
