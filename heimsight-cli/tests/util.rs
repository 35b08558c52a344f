//! Helpers of the CLI tests: running the real `heimsight` binary.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

#[path = "../../heimsight-server/tests/pki.rs"]
mod pki;
pub use pki::Pki;

/// Path of the binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_heimsight");

/// A `heimsight` command with no `HEIMSIGHT_*` variables inherited from the environment.
pub fn heimsight() -> Command {
    let mut cmd = Command::new(BIN);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("HEIMSIGHT_") {
            cmd.env_remove(k);
        }
    }
    cmd.env_remove("RUST_LOG");
    cmd
}

/// Runs `cmd` and returns its standard output; fails the test, showing the command's standard
/// error, when it does not succeed.
pub fn stdout_of(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A port nobody listens on right now.
/// This crate's directory, read when the test runs (cargo sets it for test processes), so a
/// test binary built in another checkout still finds the files of this one.
pub fn manifest_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running `heimsight serve`.
pub struct Server {
    child: Option<Child>,
    /// Base URL of the HTTP API.
    pub url: String,
    /// `host:port` of OTLP/gRPC.
    pub otlp_grpc: String,
    /// `host:port` of OTLP/HTTP.
    pub otlp_http: String,
    /// The certificate authority of its TLS certificate (servers started with TLS).
    pub ca: Option<PathBuf>,
    log: PathBuf,
}

/// Distinguishes the log files of servers started by one test process.
static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl Server {
    /// Starts `heimsight serve` on 127.0.0.1 over `data_dir`, with every listener on a port the
    /// system picks, reads the bound addresses from its `listening` log line, and waits until
    /// it answers `/health`. Its output goes to `<data_dir>.<n>.log`.
    pub fn start(data_dir: &Path) -> Server {
        Server::start_with(data_dir, &[])
    }

    /// [`Server::start`] with more arguments of `serve` (e.g. `--auth`).
    pub fn start_with(data_dir: &Path, args: &[&str]) -> Server {
        Server::start_full(data_dir, args, None)
    }

    /// [`Server::start`] with TLS: the certificate and key of `pki`'s server certificate
    /// `name`. [`url`](Self::url) is `https://localhost:port`.
    pub fn start_tls(data_dir: &Path, pki: &Pki, name: &str, args: &[&str]) -> Server {
        let (cert, key) = pki.server(name, false);
        let mut all = vec![
            "--tls-cert".to_string(),
            cert.display().to_string(),
            "--tls-key".to_string(),
            key.display().to_string(),
        ];
        all.extend(args.iter().map(ToString::to_string));
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        Server::start_full(data_dir, &all, Some(pki.ca()))
    }

    fn start_full(data_dir: &Path, args: &[&str], ca: Option<PathBuf>) -> Server {
        let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let log = data_dir.with_extension(format!("{}.{n}.log", std::process::id()));
        let out = File::create(&log).unwrap();
        let child = heimsight()
            .args(["serve", "--host", "127.0.0.1", "--port", "0"])
            .args(["--otlp-grpc-port", "0", "--otlp-http-port", "0"])
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--log-level", "info"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        let mut server = Server {
            child: Some(child),
            url: String::new(),
            otlp_grpc: String::new(),
            otlp_http: String::new(),
            ca,
            log,
        };
        server.wait_listening();
        server.wait_healthy();
        server
    }

    /// Waits for the line `Heimsight listening on … http=… otlp_grpc=… otlp_http=…`.
    fn wait_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let output = self.output();
            if let Some(line) = output
                .lines()
                .find(|l| l.contains("Heimsight listening on"))
            {
                let field = |name: &str| {
                    line.split_whitespace()
                        .find_map(|w| w.strip_prefix(&format!("{name}=")))
                        .unwrap_or_else(|| panic!("no {name}= in {line:?}"))
                        .to_string()
                };
                self.url = if line.contains("listening on https://") {
                    let port = field("http").rsplit(':').next().unwrap().to_string();
                    format!("https://localhost:{port}")
                } else {
                    format!("http://{}", field("http"))
                };
                self.otlp_grpc = field("otlp_grpc");
                self.otlp_http = field("otlp_http");
                return;
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("server exited with {status}:\n{output}");
            }
            assert!(
                Instant::now() < deadline,
                "server not listening after 60 s:\n{output}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn wait_healthy(&mut self) {
        let client = self.client();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = client.get(format!("{}/health", self.url)).send()
                && r.status() == 200
            {
                return;
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("server exited with {status}:\n{}", self.output());
            }
            assert!(
                Instant::now() < deadline,
                "server not healthy after 60 s:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A client of this server (trusting its certificate authority, if it has TLS).
    pub fn client(&self) -> reqwest::blocking::Client {
        match &self.ca {
            None => client(),
            Some(ca) => {
                let _ = rustls::crypto::ring::default_provider().install_default();
                reqwest::blocking::Client::builder()
                    .add_root_certificate(
                        reqwest::Certificate::from_pem(&std::fs::read(ca).unwrap()).unwrap(),
                    )
                    .timeout(Duration::from_secs(30))
                    .build()
                    .unwrap()
            }
        }
    }

    /// Sends `signal` (e.g. `HUP`) to the server process.
    pub fn signal(&self, signal: &str) {
        let id = self.child.as_ref().unwrap().id().to_string();
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &id])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        self.child.as_mut().unwrap().try_wait().unwrap().is_none()
    }

    /// What the server printed so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `kill -9`: no chance to flush anything.
    pub fn kill_hard(mut self) {
        let mut child = self.child.take().unwrap();
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
    }

    /// SIGTERM, then waits for the process to exit.
    pub fn terminate(mut self) -> (ExitStatus, String) {
        let mut child = self.child.take().unwrap();
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return (status, self.output());
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!(
                    "server did not stop within 30 s of SIGTERM:\n{}",
                    self.output()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub fn client() -> reqwest::blocking::Client {
    // reqwest has rustls without a built-in crypto provider in this workspace (see main.rs).
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// The repository's root directory.
pub fn repo_root() -> PathBuf {
    manifest_dir().parent().unwrap().to_path_buf()
}

/// The test virtualenv's python (`scripts/otel-venv.sh`: the OpenTelemetry SDK, pyte), set up
/// once per test process.
pub fn python() -> &'static str {
    static PYTHON: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PYTHON.get_or_init(|| {
        let out = Command::new("bash")
            .arg(repo_root().join("scripts/otel-venv.sh"))
            .output()
            .expect("running scripts/otel-venv.sh");
        assert!(
            out.status.success(),
            "scripts/otel-venv.sh failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    })
}
