//! The REST client the CLI and the TUI share: where the server is (flags, environment, the
//! client config file of named servers), and requests whose failures read as one line naming
//! the server and its reason.

use heimsight_core::api::ErrorBody;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;

use crate::args::Global;

/// Where the CLI finds its servers when no `--url` is given.
pub(crate) const DEFAULT_URL: &str = "http://localhost:8080";

/// The CLI's own settings file: named servers.
///
/// ```toml
/// default = "local"
///
/// [servers.local]
/// url = "http://localhost:8080"
///
/// [servers.prod]
/// url = "https://heimsight.example.com"
/// api_key = "…"
/// ca_cert = "/etc/heimsight/ca.pem"
/// ```
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClientConfig {
    /// The server used when neither `--url` nor `--server` is given.
    #[serde(default)]
    pub(crate) default: Option<String>,
    /// Named servers.
    #[serde(default)]
    pub(crate) servers: std::collections::BTreeMap<String, ServerEntry>,
}

/// One named server of the client config file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ServerEntry {
    /// Base URL of its API.
    pub(crate) url: String,
    /// Sent as `Authorization: Bearer <key>`.
    #[serde(default)]
    pub(crate) api_key: Option<String>,
    /// PEM file of the certificate authority of an `https://` server (besides the public
    /// roots).
    #[serde(default)]
    pub(crate) ca_cert: Option<PathBuf>,
}

/// The file `--client-config` names, else `$XDG_CONFIG_HOME/heimsight/cli.toml`, else
/// `~/.config/heimsight/cli.toml`.
pub(crate) fn config_path(global: &Global) -> Option<PathBuf> {
    if let Some(p) = &global.client_config {
        return Some(p.clone());
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("heimsight/cli.toml"))
}

/// Reads the client config file; a missing file is an empty config unless it was named
/// explicitly.
pub(crate) fn load_config(global: &Global) -> Result<(Option<PathBuf>, ClientConfig)> {
    let Some(path) = config_path(global) else {
        return Ok((None, ClientConfig::default()));
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let config: ClientConfig = toml::from_str(&text)
                .with_context(|| format!("invalid client config {}", path.display()))?;
            Ok((Some(path), config))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && global.client_config.is_none() => {
            Ok((None, ClientConfig::default()))
        }
        Err(e) => Err(e).with_context(|| format!("cannot read client config {}", path.display())),
    }
}

/// The server the CLI talks to, and where that choice came from.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// Base URL without a trailing slash.
    pub(crate) url: String,
    /// The API key, if any.
    pub(crate) api_key: Option<String>,
    /// A certificate authority trusted for `https://` besides the public roots.
    pub(crate) ca_cert: Option<PathBuf>,
    /// `--url`, `--server NAME`, `default server NAME`, or `built-in default`.
    pub(crate) source: String,
    /// The client config file read, if any.
    pub(crate) config_file: Option<PathBuf>,
}

/// Resolves the target server: `--url` (or `HEIMSIGHT_URL`) first, then `--server NAME`, then
/// the config file's default server, then `http://localhost:8080`.
pub(crate) fn target(global: &Global) -> Result<Target> {
    let (config_file, config) = load_config(global)?;
    let named = |name: &str, how: &str| -> Result<(ServerEntry, String)> {
        match config.servers.get(name) {
            Some(s) => Ok((s.clone(), format!("{how} {name}"))),
            None => {
                let known: Vec<&str> = config.servers.keys().map(String::as_str).collect();
                bail!(
                    "no server named {name:?} in {}; known: {}",
                    config_file
                        .as_ref()
                        .map_or("the client config (none found)".to_string(), |p| p
                            .display()
                            .to_string()),
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                )
            }
        }
    };
    let (url, mut api_key, mut ca_cert, source) = if let Some(url) = &global.url {
        (url.clone(), None, None, "--url".to_string())
    } else if let Some(name) = &global.server {
        let (s, how) = named(name, "--server")?;
        (s.url, s.api_key, s.ca_cert, how)
    } else if let Some(name) = &config.default {
        let (s, how) = named(name, "default server")?;
        (s.url, s.api_key, s.ca_cert, how)
    } else {
        (
            DEFAULT_URL.to_string(),
            None,
            None,
            "built-in default".to_string(),
        )
    };
    if global.api_key.is_some() {
        api_key.clone_from(&global.api_key);
    }
    if global.ca_cert.is_some() {
        ca_cert.clone_from(&global.ca_cert);
    }
    let url = url.trim_end_matches('/').to_string();
    let parsed = reqwest::Url::parse(&url)
        .map_err(|e| anyhow!("invalid server URL {url:?} ({source}): {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        bail!("invalid server URL {url:?} ({source}): expected http:// or https://");
    }
    Ok(Target {
        url,
        api_key,
        ca_cert,
        source,
        config_file,
    })
}

/// The TLS settings of the client: rustls on *ring*, the Mozilla roots (`webpki-roots`) and
/// the certificates of `ca_cert` (a PEM file) if given.
pub(crate) fn tls_config(ca_cert: Option<&std::path::Path>) -> Result<rustls::ClientConfig> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;

    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_cert {
        let pem = std::fs::read(path)
            .with_context(|| format!("cannot read the CA certificate {}", path.display()))?;
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| anyhow!("the CA certificate {} is not PEM: {e}", path.display()))?;
        if certs.is_empty() {
            bail!(
                "the CA certificate {} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                path.display()
            );
        }
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| anyhow!("the CA certificate {} is unusable: {e}", path.display()))?;
        }
    }
    Ok(
        rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .context("TLS setup")?
        .with_root_certificates(roots)
        .with_no_client_auth(),
    )
}

/// A client of one Heimsight server's REST API.
#[derive(Debug, Clone)]
pub(crate) struct Api {
    http: reqwest::Client,
    target: Target,
}

/// An answer of the server that is not a success: its status and its reason.
#[derive(Debug)]
pub(crate) struct ServerError {
    /// HTTP status.
    pub(crate) status: u16,
    /// The server's `error` text (or the body).
    pub(crate) message: String,
    /// The answer, when it was the API's error body (else empty).
    pub(crate) body: ErrorBody,
}

impl std::fmt::Display for ServerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the server answered {}: {}", self.status, self.message)
    }
}

impl std::error::Error for ServerError {}

impl Api {
    /// A client of `target`, giving up on a request after `timeout`. `https://` trusts the
    /// Mozilla roots and the target's `ca_cert`.
    pub(crate) fn new(target: Target, timeout: Duration) -> Result<Self> {
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls_config(target.ca_cert.as_deref())?)
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("heimsight-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("cannot create an HTTP client")?;
        Ok(Api { http, target })
    }

    /// The server's base URL.
    pub(crate) fn url(&self) -> &str {
        &self.target.url
    }

    /// `GET path?query`, the JSON answer.
    pub(crate) async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Value> {
        self.call(Method::GET, path, query, None).await
    }

    /// `GET path?query`, the answer read as the API shape `T`; an answer of another shape is an
    /// error naming the path and what did not fit.
    pub(crate) async fn get_as<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T> {
        let answer = self.get(path, query).await?;
        self.decode(path, answer)
    }

    /// `POST path` with a JSON body, the answer read as the API shape `T`.
    pub(crate) async fn post_as<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &Value,
    ) -> Result<T> {
        let answer = self.post(path, body).await?;
        self.decode(path, answer)
    }

    /// `PUT path` with a JSON body, the answer read as the API shape `T`.
    pub(crate) async fn put_as<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &Value,
    ) -> Result<T> {
        let answer = self.put(path, body).await?;
        self.decode(path, answer)
    }

    /// `answer` of `path` as the API shape `T`.
    fn decode<T: serde::de::DeserializeOwned>(&self, path: &str, answer: Value) -> Result<T> {
        serde_json::from_value(answer).map_err(|e| {
            anyhow!(
                "{}{path} answered in a shape this CLI does not know ({e}); is it a Heimsight \
                 server of a compatible version?",
                self.target.url
            )
        })
    }

    /// `POST path` with a JSON body.
    pub(crate) async fn post(&self, path: &str, body: &Value) -> Result<Value> {
        self.call(Method::POST, path, &[], Some(body)).await
    }

    /// `PUT path` with a JSON body.
    pub(crate) async fn put(&self, path: &str, body: &Value) -> Result<Value> {
        self.call(Method::PUT, path, &[], Some(body)).await
    }

    /// `DELETE path`.
    pub(crate) async fn delete(&self, path: &str) -> Result<Value> {
        self.call(Method::DELETE, path, &[], None).await
    }

    /// One request; the answer's JSON (`null` for an empty answer). Failures: "cannot reach
    /// Heimsight at URL: reason (start one with `heimsight serve`)" or [`ServerError`].
    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Value> {
        let mut url = format!("{}{path}", self.target.url);
        if !query.is_empty() {
            let mut q = form_urlencoded::Serializer::new(String::new());
            for (k, v) in query {
                q.append_pair(k, v);
            }
            url.push('?');
            url.push_str(&q.finish());
        }
        let mut req = self.http.request(method, &url);
        if let Some(key) = &self.target.api_key {
            req = req.bearer_auth(key);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let res = req.send().await.map_err(|e| self.unreachable(&e))?;
        let status = res.status();
        let text = res
            .text()
            .await
            .with_context(|| format!("cannot read the answer of {url}"))?;
        let json: Option<Value> = if text.trim().is_empty() {
            Some(Value::Null)
        } else {
            serde_json::from_str(&text).ok()
        };
        if status.is_success() {
            return json.ok_or_else(|| {
                anyhow!(
                    "{url} answered {status} with something that is not JSON: {}",
                    text.chars().take(200).collect::<String>()
                )
            });
        }
        let body: ErrorBody = json
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default();
        let mut message = if body.error.is_empty() {
            text.trim().to_string()
        } else {
            body.error.clone()
        };
        if message.is_empty() {
            message = status
                .canonical_reason()
                .unwrap_or("no reason given")
                .to_string();
        }
        Err(ServerError {
            status: status.as_u16(),
            message,
            body,
        }
        .into())
    }

    fn unreachable(&self, e: &reqwest::Error) -> anyhow::Error {
        let reason = error_chain(e);
        let hint = if reason.contains("certificate") {
            " (the server's TLS certificate is not trusted: give the certificate authority that \
             signed it with --ca-cert or HEIMSIGHT_CA_CERT)"
        } else if e.is_connect() {
            " (is the server running? start one with `heimsight serve`, or point --url or \
             HEIMSIGHT_URL at yours)"
        } else {
            ""
        };
        anyhow!(
            "cannot reach Heimsight at {}: {reason}{hint}",
            self.target.url
        )
    }
}

/// The error and its sources, e.g. "error sending request: connection refused".
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

/// URL-path-safe form of an id typed by a user.
pub(crate) fn path_segment(id: &str) -> String {
    form_urlencoded::byte_serialize(id.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}
