//! TLS for the server's listeners, with rustls (on *ring*): HTTPS for the REST API, the web
//! UI and OTLP/HTTP, and gRPC over TLS for OTLP/gRPC.
//!
//! [`TlsCertificates`] holds the certificate chain and private key read from two PEM files
//! (`[tls] cert` and `key`, `--tls-cert`/`--tls-key`) and reloads them when asked
//! ([`reload`](TlsCertificates::reload)), when the files change or on `SIGHUP`
//! ([`watch`](TlsCertificates::watch)); connections made after a reload get the new
//! certificate, connections already open keep theirs. A reload that fails (a half-written
//! file, a key that does not match the certificate) is logged and the previous certificate
//! stays in use.
//!
//! [`TlsListener`] is an [`axum::serve::Listener`] that hands out connections whose TLS
//! handshake has completed (handshakes run on their own tasks, so a slow client does not hold
//! up the others); [`grpc_incoming`] is the same for a tonic server. [`HeimsightServer::serve_all`](crate::HeimsightServer::serve_all)
//! uses both when the configuration has a certificate; an application serving the routers
//! itself uses them the same way.
//!
//! ```no_run
//! use heimsight_server::tls::{TlsCertificates, TlsListener};
//!
//! # async fn run(router: axum::Router) -> Result<(), Box<dyn std::error::Error>> {
//! let certs = TlsCertificates::load("/etc/heimsight/cert.pem", "/etc/heimsight/key.pem")?;
//! tokio::spawn(certs.clone().watch(std::future::pending()));
//! let tcp = tokio::net::TcpListener::bind("0.0.0.0:8443").await?;
//! axum::serve(TlsListener::new(tcp, certs.http_config()), router).await?;
//! # Ok(()) }
//! ```

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex, RwLock};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use futures_util::Stream;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// How long a client has to complete its TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How often [`TlsCertificates::watch`] looks at the files.
pub const WATCH_INTERVAL: Duration = Duration::from_secs(2);

/// The certificate files could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read the TLS {what} {path}: {source}")]
    Read {
        /// `certificate` or `private key`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A file holds no usable PEM of the kind expected, or a broken one.
    #[error("the TLS {what} {path} is not usable: {reason}")]
    Invalid {
        /// `certificate` or `private key`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The private key is not the certificate's.
    #[error("the TLS private key {key} does not belong to the certificate {cert}")]
    Mismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
    },
}

/// A server certificate and its key, read from PEM files and reloadable (see the
/// [module](self)). Cheap to clone: clones share the certificate in use.
#[derive(Clone)]
pub struct TlsCertificates {
    inner: Arc<Inner>,
}

struct Inner {
    cert: PathBuf,
    key: PathBuf,
    provider: Arc<CryptoProvider>,
    current: RwLock<Arc<CertifiedKey>>,
    /// The files' modification times and sizes when last read.
    stamp: Mutex<Option<Stamp>>,
}

type Stamp = [(Option<SystemTime>, u64); 2];

impl std::fmt::Debug for TlsCertificates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsCertificates")
            .field("cert", &self.inner.cert)
            .field("key", &self.inner.key)
            .finish_non_exhaustive()
    }
}

impl TlsCertificates {
    /// Reads the certificate chain (`cert`: PEM, the server's certificate first, then the
    /// intermediates) and its private key (`key`: PEM, PKCS#8, PKCS#1 or SEC1). The error
    /// names the file and what is wrong with it.
    pub fn load(cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Result<Self, TlsError> {
        let cert = cert.into();
        let key = key.into();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let stamp = stamp(&cert, &key);
        let certified = read(&provider, &cert, &key)?;
        Ok(TlsCertificates {
            inner: Arc::new(Inner {
                cert,
                key,
                provider,
                current: RwLock::new(Arc::new(certified)),
                stamp: Mutex::new(stamp),
            }),
        })
    }

    /// The certificates of `config` (`None` when it has no certificate).
    pub fn from_config(config: &crate::config::TlsConfig) -> Result<Option<Self>, TlsError> {
        match (&config.cert, &config.key) {
            (Some(cert), Some(key)) => Self::load(cert, key).map(Some),
            _ => Ok(None),
        }
    }

    /// The certificate file.
    pub fn cert_path(&self) -> &Path {
        &self.inner.cert
    }

    /// The private key file.
    pub fn key_path(&self) -> &Path {
        &self.inner.key
    }

    /// Reads both files again; new connections get the new certificate. On error the
    /// certificate in use stays.
    pub fn reload(&self) -> Result<(), TlsError> {
        let stamp = stamp(&self.inner.cert, &self.inner.key);
        let certified = read(&self.inner.provider, &self.inner.cert, &self.inner.key)?;
        *self
            .inner
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(certified);
        *self
            .inner
            .stamp
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = stamp;
        Ok(())
    }

    /// Reloads when either file changed (modification time or size) since it was last read;
    /// `Ok(true)` when it did.
    pub fn reload_if_changed(&self) -> Result<bool, TlsError> {
        let now = stamp(&self.inner.cert, &self.inner.key);
        let seen = *self
            .inner
            .stamp
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if now.is_none() || now == seen {
            return Ok(false);
        }
        match self.reload() {
            Ok(()) => Ok(true),
            Err(e) => {
                // Not retried until the files change again (a key written after its
                // certificate changes them again).
                *self
                    .inner
                    .stamp
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = now;
                Err(e)
            }
        }
    }

    /// Reloads the certificate whenever its files change (looked at every
    /// [`WATCH_INTERVAL`]) and, on Unix, on `SIGHUP`, until `stop` completes. Failures are
    /// logged; the previous certificate stays in use.
    pub async fn watch<F>(self, stop: F)
    where
        F: Future<Output = ()> + Send,
    {
        #[cfg(unix)]
        let mut hangup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGHUP; TLS certificates reload when their files change");
                None
            }
        };
        let mut stop = std::pin::pin!(stop);
        let mut tick = tokio::time::interval(WATCH_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            #[cfg(unix)]
            let hup = async {
                match hangup.as_mut() {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending().await,
                }
            };
            #[cfg(not(unix))]
            let hup = std::future::pending::<()>();
            tokio::select! {
                _ = &mut stop => break,
                _ = tick.tick() => match self.reload_if_changed() {
                    Ok(true) => tracing::info!(cert = %self.inner.cert.display(), "TLS certificate files changed; reloaded"),
                    Ok(false) => {}
                    Err(e) => tracing::error!(error = %e, "TLS certificate files changed but cannot be used; keeping the previous certificate"),
                },
                () = hup => match self.reload() {
                    Ok(()) => tracing::info!(cert = %self.inner.cert.display(), "SIGHUP: TLS certificate reloaded"),
                    Err(e) => tracing::error!(error = %e, "SIGHUP: cannot reload the TLS certificate; keeping the previous one"),
                },
            }
        }
    }

    /// A rustls server configuration that serves this (reloadable) certificate and offers
    /// `alpn` protocols.
    pub fn server_config(&self, alpn: &[&[u8]]) -> Arc<rustls::ServerConfig> {
        let mut config =
            rustls::ServerConfig::builder_with_provider(Arc::clone(&self.inner.provider))
                .with_safe_default_protocol_versions()
                // The provider is ring's own default, which supports its default versions.
                .unwrap_or_else(|_| unreachable!("ring supports TLS 1.2 and 1.3"))
                .with_no_client_auth()
                .with_cert_resolver(Arc::new(Resolver(Arc::clone(&self.inner))));
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Arc::new(config)
    }

    /// The configuration of the HTTP listeners (REST API, web UI, OTLP/HTTP): HTTP/1.1.
    pub fn http_config(&self) -> Arc<rustls::ServerConfig> {
        self.server_config(&[b"http/1.1"])
    }

    /// The configuration of OTLP/gRPC: HTTP/2 (`h2`, which gRPC clients require).
    pub fn grpc_config(&self) -> Arc<rustls::ServerConfig> {
        self.server_config(&[b"h2"])
    }
}

/// Hands rustls the certificate in use.
struct Resolver(Arc<Inner>);

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolver")
            .field("cert", &self.0.cert)
            .finish_non_exhaustive()
    }
}

impl ResolvesServerCert for Resolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(
            &self
                .0
                .current
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        ))
    }
}

fn stamp(cert: &Path, key: &Path) -> Option<Stamp> {
    let one = |p: &Path| {
        std::fs::metadata(p)
            .ok()
            .map(|m| (m.modified().ok(), m.len()))
    };
    Some([one(cert)?, one(key)?])
}

fn read(provider: &CryptoProvider, cert: &Path, key: &Path) -> Result<CertifiedKey, TlsError> {
    let cert_pem = std::fs::read(cert).map_err(|source| TlsError::Read {
        what: "certificate",
        path: cert.to_path_buf(),
        source,
    })?;
    let key_pem = std::fs::read(key).map_err(|source| TlsError::Read {
        what: "private key",
        path: key.to_path_buf(),
        source,
    })?;
    let invalid = |what, path: &Path, reason: String| TlsError::Invalid {
        what,
        path: path.to_path_buf(),
        reason,
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| invalid("certificate", cert, e.to_string()))?;
    if chain.is_empty() {
        return Err(invalid(
            "certificate",
            cert,
            "no PEM certificate (-----BEGIN CERTIFICATE-----) in it".into(),
        ));
    }
    let private = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
        invalid(
            "private key",
            key,
            match e {
                rustls::pki_types::pem::Error::NoItemsFound => {
                    "no PEM private key (PKCS#8, PKCS#1 or SEC1) in it".into()
                }
                e => e.to_string(),
            },
        )
    })?;
    let signing = provider
        .key_provider
        .load_private_key(private)
        .map_err(|e| invalid("private key", key, e.to_string()))?;
    let certified = CertifiedKey::new(chain, signing);
    match certified.keys_match() {
        Ok(()) => Ok(certified),
        Err(rustls::Error::InconsistentKeys(_)) => Err(TlsError::Mismatch {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
        }),
        Err(e) => Err(invalid("certificate", cert, e.to_string())),
    }
}

/// Marks a request that came over TLS (in its extensions), for what differs under HTTPS
/// (the web UI's cookie is `Secure`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServedOverTls;

/// Accepts TCP connections on `listener` and completes their handshakes on tasks of their
/// own; the established connections come out of the receiver. Ends when the receiver is
/// dropped.
fn accept_loop(
    listener: TcpListener,
    config: Arc<rustls::ServerConfig>,
) -> mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)> {
    let (tx, rx) = mpsc::channel(64);
    let acceptor = TlsAcceptor::from(config);
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                a = listener.accept() => a,
                () = tx.closed() => break,
            };
            let (tcp, peer) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning (as
                    // axum's own listener does).
                    tracing::error!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            let _ = tcp.set_nodelay(true);
            let acceptor = acceptor.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                    Ok(Ok(tls)) => {
                        let _ = tx.send((tls, peer)).await;
                    }
                    Ok(Err(e)) => {
                        tracing::debug!(%peer, error = %e, "TLS handshake failed");
                    }
                    Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                }
            });
        }
    });
    rx
}

/// A TLS listener for `axum::serve`: TCP connections whose TLS handshake completed (see the
/// [module](self)). Use `.tap_io(|_| {})` on it for `into_make_service_with_connect_info::<SocketAddr>()`.
#[derive(Debug)]
pub struct TlsListener {
    local: SocketAddr,
    incoming: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
}

impl TlsListener {
    /// Serves TLS with `config` on `listener`. Must be called within a tokio runtime (it
    /// spawns the accepting task).
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn new(listener: TcpListener, config: Arc<rustls::ServerConfig>) -> Self {
        let local = listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        TlsListener {
            local,
            incoming: accept_loop(listener, config),
        }
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.incoming.recv().await {
            Some(c) => c,
            // The accepting task is gone (it only ends with the receiver): nothing more
            // will come.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// The connections of a TLS listener for tonic's
/// [`serve_with_incoming_shutdown`](tonic::transport::server::Router::serve_with_incoming_shutdown):
/// TCP connections whose handshake (offering `h2`, see [`TlsCertificates::grpc_config`])
/// completed. Requests carry the same [`TcpConnectInfo`](tonic::transport::server::TcpConnectInfo)
/// as over plain TCP.
///
/// # Panics
/// Outside a tokio runtime.
pub fn grpc_incoming(
    listener: TcpListener,
    config: Arc<rustls::ServerConfig>,
) -> impl Stream<Item = io::Result<TlsConnection>> + Send + 'static {
    futures_util::stream::unfold(accept_loop(listener, config), |mut rx| async move {
        let (stream, _) = rx.recv().await?;
        Some((Ok(TlsConnection(stream)), rx))
    })
}

/// One connection of [`grpc_incoming`].
#[derive(Debug)]
pub struct TlsConnection(TlsStream<TcpStream>);

impl tonic::transport::server::Connected for TlsConnection {
    type ConnectInfo = tonic::transport::server::TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        let tcp = self.0.get_ref().0;
        tonic::transport::server::TcpConnectInfo {
            local_addr: tcp.local_addr().ok(),
            remote_addr: tcp.peer_addr().ok(),
        }
    }
}

impl AsyncRead for TlsConnection {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsConnection {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }
}
