//! `heimsight keys create|list|revoke`: API keys, through the server's API (admin key), or
//! with `--data-dir` straight in a stopped server's data directory (the way to make the first
//! key without `HEIMSIGHT_ADMIN_KEY`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use heimsight_core::Timestamp;
use heimsight_core::api::{CreatedKey, KeySpec, KeyView, KeysPage, Scope};
use heimsight_server::auth::ApiKeys;
use heimsight_store::{RocksStore, Store};
use serde_json::json;

use super::Ctx;
use crate::args::Output;
use crate::client::path_segment;
use crate::output::{Color, Table};

/// `heimsight keys …`.
#[derive(Debug, Subcommand)]
pub(crate) enum KeysCommand {
    /// Make a key and print it (the only time it is shown), e.g.
    /// `heimsight keys create --name collector --scope ingest`.
    Create {
        /// What the key is for
        #[arg(long)]
        name: String,
        /// ingest, read or admin (repeatable, or comma-separated); admin implies the others
        #[arg(
            long = "scope",
            value_name = "SCOPE",
            value_delimiter = ',',
            required = true
        )]
        scopes: Vec<String>,
        /// When it stops working: RFC 3339, or a duration from now such as 90d
        #[arg(long, value_name = "TIME")]
        expires: Option<String>,
        /// Work in this stopped server's data directory instead of through the API
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
    /// List the keys (never their secrets).
    List {
        /// Read this stopped server's data directory instead of the API
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
    /// Revoke a key at once.
    Revoke {
        /// The key's id (as listed)
        id: String,
        /// Work in this stopped server's data directory instead of through the API
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
}

/// The keys of a stopped server's data directory.
fn offline(dir: &Path) -> Result<ApiKeys> {
    let store = RocksStore::builder(dir).open().with_context(|| {
        format!(
            "cannot open the data directory {} (is a server still running on it?)",
            dir.display()
        )
    })?;
    let store: Arc<dyn Store> = Arc::new(store);
    Ok(ApiKeys::open(store)?)
}

fn spec(name: &str, scopes: &[String], expires: Option<&str>) -> Result<KeySpec> {
    let mut out = Vec::new();
    for s in scopes {
        match Scope::parse(s) {
            Some(s) => out.push(s),
            None => bail!("unknown scope {s:?}; expected ingest, read or admin"),
        }
    }
    let expires_at = match expires {
        None => None,
        Some(t) => Some(match heimsight_core::Duration::parse(t) {
            Ok(d) if d.is_positive() => Timestamp::now().saturating_add(d.as_nanos()),
            _ => Timestamp::parse(t).with_context(|| {
                format!("--expires {t:?}: expected RFC 3339 or a duration such as 90d")
            })?,
        }),
    };
    Ok(KeySpec {
        name: name.to_string(),
        scopes: out,
        expires_at,
        limits: None,
    })
}

fn scopes_text(v: &KeyView) -> String {
    v.scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

fn time_text(t: Option<Timestamp>) -> String {
    t.map(|t| t.to_rfc3339()).unwrap_or_default()
}

/// Runs `heimsight keys …`.
pub(crate) async fn run(ctx: &Ctx, cmd: &KeysCommand) -> Result<()> {
    let mut out = ctx.out();
    match cmd {
        KeysCommand::Create {
            name,
            scopes,
            expires,
            data_dir,
        } => {
            let spec = spec(name, scopes, expires.as_deref())?;
            let made: CreatedKey = match data_dir {
                Some(dir) => offline(dir)?
                    .create(&spec)
                    .map_err(|e| anyhow::anyhow!("{e}"))?,
                None => {
                    ctx.api
                        .post_as("/api/v1/keys", &serde_json::to_value(&spec)?)
                        .await?
                }
            };
            match ctx.printer.format {
                Output::Json => writeln!(out, "{}", serde_json::to_string_pretty(&made)?)?,
                Output::Csv => {
                    writeln!(out, "id,name,scopes,key")?;
                    writeln!(
                        out,
                        "{},{},\"{}\",{}",
                        made.view.id,
                        made.view.name,
                        scopes_text(&made.view),
                        made.key
                    )?;
                }
                Output::Table => {
                    writeln!(
                        out,
                        "created key {} ({}), scopes {}",
                        made.view.id,
                        made.view.name,
                        scopes_text(&made.view)
                    )?;
                    writeln!(out, "{}", ctx.printer.paint(&made.key, Color::Blue))?;
                    writeln!(
                        out,
                        "keep it now: it is not shown again (send it as `Authorization: Bearer <key>`)"
                    )?;
                }
            }
            Ok(())
        }
        KeysCommand::List { data_dir } => {
            let page = match data_dir {
                Some(dir) => KeysPage {
                    keys: offline(dir)?.list(),
                },
                None => ctx.api.get_as::<KeysPage>("/api/v1/keys", &[]).await?,
            };
            let mut t = Table::new(&["id", "name", "scopes", "created", "last used", "expires"]);
            for k in &page.keys {
                t.row([
                    k.id.clone(),
                    k.name.clone(),
                    scopes_text(k),
                    k.created_at.to_rfc3339(),
                    time_text(k.last_used_at),
                    time_text(k.expires_at),
                ]);
            }
            ctx.printer.print(&mut out, &page, &t)
        }
        KeysCommand::Revoke { id, data_dir } => {
            match data_dir {
                Some(dir) => {
                    if !offline(dir)?
                        .revoke(id)
                        .map_err(|e| anyhow::anyhow!("{e}"))?
                    {
                        bail!("no API key with id {id:?}");
                    }
                }
                None => {
                    ctx.api
                        .delete(&format!("/api/v1/keys/{}", path_segment(id)))
                        .await?;
                }
            }
            match ctx.printer.format {
                Output::Json => writeln!(out, "{}", json!({"revoked": id}))?,
                _ => writeln!(out, "revoked key {id}")?,
            }
            Ok(())
        }
    }
}
