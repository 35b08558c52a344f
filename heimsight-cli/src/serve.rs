//! `heimsight serve`.

use std::io::IsTerminal;
use std::sync::Arc;

use anyhow::{Context, Result};
use heimsight_server::{HeimsightServer, Listeners};
use heimsight_store::{RocksStore, Store};

/// Opens the store, starts the server and serves until SIGINT or SIGTERM.
pub(crate) async fn run(config: crate::config::ServeConfig) -> Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log_level)
        .with_context(|| format!("invalid log level {:?}", config.log_level))?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stdout().is_terminal())
        .init();

    let data_dir = config.data_dir.clone();
    let durability = config.durability;
    let store = heimsight_server::blocking::run(move || {
        RocksStore::builder(&data_dir).durability(durability).open()
    })
    .await?
    .with_context(|| {
        format!(
            "cannot open the data directory {}",
            config.data_dir.display()
        )
    })?;
    tracing::info!(data_dir = %config.data_dir.display(), %durability, "store opened");
    let store: Arc<dyn Store> = Arc::new(store);

    let auth = config.server.auth.enabled;
    let scheme = if config.server.tls.enabled() {
        "https"
    } else {
        "http"
    };
    let metrics_public = config.server.auth.metrics_public;
    // A certificate that cannot be used is refused before anything is bound (the server
    // reads it again when it starts serving).
    heimsight_server::tls::TlsCertificates::from_config(&config.server.tls)?;
    let listeners = Listeners::bind(&config.server).await?;
    let mut builder = HeimsightServer::builder()
        .store(store)
        .config(config.server)
        .memory_probe(crate::memory::probe);
    if let Some(key) = admin_key()? {
        builder = builder.admin_key(key);
    }
    let server = builder.build()?;
    if !auth && !metrics_public {
        tracing::warn!(
            "auth.metrics_public = false has no effect while auth is off: /metrics is open like every endpoint"
        );
    }
    if auth {
        let keys = server.api_keys().list().len();
        tracing::info!(
            keys,
            "auth is on: every request needs an API key (make one with `heimsight keys create`)"
        );
    }
    let addrs = listeners.local_addrs()?;
    let show = |a: Option<std::net::SocketAddr>| a.map_or("off".to_string(), |a| a.to_string());
    // One line with every bound address (ports picked for port 0 included), for people and
    // for scripts and tests to parse.
    tracing::info!(
        http = %addrs.http,
        otlp_grpc = %show(addrs.otlp_grpc),
        otlp_http = %show(addrs.otlp_http),
        version = env!("CARGO_PKG_VERSION"),
        "Heimsight listening on {scheme}://{}",
        addrs.http
    );
    server.serve_all(listeners, shutdown_signal()).await?;
    Ok(())
}

/// The administrator key of the environment: `HEIMSIGHT_ADMIN_KEY`, or the first line of the
/// file named by `HEIMSIGHT_ADMIN_KEY_FILE` (for secrets mounted as files).
fn admin_key() -> Result<Option<String>> {
    admin_key_from(|name| std::env::var_os(name))
}

/// Shortest administrator key accepted: it can be guessed at every endpoint.
const MIN_ADMIN_KEY: usize = 24;

/// [`admin_key`] with the environment read through `var`; a key shorter than
/// [`MIN_ADMIN_KEY`] characters is refused.
fn admin_key_from(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> Result<Option<String>> {
    let key = admin_key_text(var)?;
    if let Some(k) = &key
        && k.chars().count() < MIN_ADMIN_KEY
    {
        anyhow::bail!(
            "the administrator key (HEIMSIGHT_ADMIN_KEY or its file) has {} characters; give at \
             least {MIN_ADMIN_KEY}, e.g. `openssl rand -hex 32`",
            k.chars().count()
        );
    }
    Ok(key)
}

fn admin_key_text(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> Result<Option<String>> {
    if let Some(k) = var("HEIMSIGHT_ADMIN_KEY")
        .and_then(|k| k.into_string().ok())
        .filter(|k| !k.trim().is_empty())
    {
        return Ok(Some(k.trim().to_string()));
    }
    match var("HEIMSIGHT_ADMIN_KEY_FILE") {
        None => Ok(None),
        Some(path) => {
            let path = std::path::PathBuf::from(path);
            let text = std::fs::read_to_string(&path).with_context(|| {
                format!("cannot read HEIMSIGHT_ADMIN_KEY_FILE {}", path.display())
            })?;
            let key = text.lines().next().unwrap_or("").trim().to_string();
            if key.is_empty() {
                anyhow::bail!("HEIMSIGHT_ADMIN_KEY_FILE {} is empty", path.display());
            }
            Ok(Some(key))
        }
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("received SIGINT"),
        _ = terminate => tracing::info!("received SIGTERM"),
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;

    use super::*;

    #[test]
    fn the_admin_key_comes_from_the_variable_or_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("admin-key");
        std::fs::write(&file, "  from-the-file-0123456789abcdef \nsecond line\n").unwrap();
        let env = |pairs: Vec<(&'static str, OsString)>| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.clone())
            }
        };
        assert_eq!(admin_key_from(env(vec![])).unwrap(), None);
        let both = env(vec![
            (
                "HEIMSIGHT_ADMIN_KEY",
                " direct-0123456789abcdef0123 ".into(),
            ),
            ("HEIMSIGHT_ADMIN_KEY_FILE", file.clone().into()),
        ]);
        assert_eq!(
            admin_key_from(both).unwrap().as_deref(),
            Some("direct-0123456789abcdef0123")
        );
        let short = env(vec![("HEIMSIGHT_ADMIN_KEY", "secret".into())]);
        let e = admin_key_from(short).unwrap_err().to_string();
        assert!(e.contains("at least 24"), "{e}");
        let from_file = env(vec![("HEIMSIGHT_ADMIN_KEY_FILE", file.clone().into())]);
        assert_eq!(
            admin_key_from(from_file).unwrap().as_deref(),
            Some("from-the-file-0123456789abcdef")
        );
        let missing = env(vec![(
            "HEIMSIGHT_ADMIN_KEY_FILE",
            dir.path().join("nope").into(),
        )]);
        let e = admin_key_from(missing).unwrap_err().to_string();
        assert!(e.contains("HEIMSIGHT_ADMIN_KEY_FILE"), "{e}");
        std::fs::write(&file, "\n").unwrap();
        let empty = env(vec![("HEIMSIGHT_ADMIN_KEY_FILE", file.into())]);
        assert!(
            admin_key_from(empty)
                .unwrap_err()
                .to_string()
                .contains("is empty")
        );
    }
}
