//! Serves [`ui_under_path::app`] on 127.0.0.1 (port `PORT`, default 3000) over an in-memory
//! store until Ctrl-C.

use std::sync::Arc;

use anyhow::Context;
use heimsight_server::HeimsightServer;
use heimsight_store::MemoryStore;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_env_filter("info").init();
    let heimsight = HeimsightServer::builder()
        .store(Arc::new(MemoryStore::new()))
        .build()?;
    let background = heimsight.spawn_background();
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let address = format!("127.0.0.1:{port}");
    let listener = tokio::net::TcpListener::bind(&address)
        .await
        .with_context(|| format!("cannot listen on {address}"))?;
    tracing::info!(
        "listening on http://{address}; the UI is at http://{address}{}/",
        ui_under_path::UI_PATH
    );
    axum::serve(listener, ui_under_path::app(&heimsight))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    background.shutdown().await?;
    Ok(())
}
