//! `heimsight channels …`: notification channels.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use clap::Subcommand;
use heimsight_core::api::{ChannelTestResult, ChannelView, ChannelsPage};
use serde_json::{Map, Value, json};

use super::{Ctx, key_value, read_object_file};
use crate::args::Output;
use crate::client::path_segment;
use crate::output::{Color, Table, cell};

/// `heimsight channels …`.
#[derive(Debug, Subcommand)]
pub(crate) enum ChannelsCommand {
    /// List the channels (secrets masked).
    List,
    /// Show one channel (by id or name).
    Get {
        /// Channel id or name.
        channel: String,
    },
    /// Create a channel, e.g. `heimsight channels create --name ops --type slack --set
    /// url=https://hooks.slack.com/services/…`.
    Create {
        /// Name of the channel
        #[arg(long, required_unless_present = "file")]
        name: Option<String>,
        /// webhook, slack, discord, email, pagerduty or opsgenie
        #[arg(long = "type", value_name = "TYPE", required_unless_present = "file")]
        kind: Option<String>,
        /// A setting, key=value (repeatable); lists (email's `to`) are comma-separated
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// The whole channel (name, type, settings) in YAML or JSON; flags override it
        #[arg(long, short = 'f', value_name = "FILE")]
        file: Option<PathBuf>,
    },
    /// Send a test notification through a channel now.
    Test {
        /// Channel id or name.
        channel: String,
    },
    /// Delete a channel.
    Delete {
        /// Channel id or name.
        channel: String,
    },
}

/// `key=value` settings as JSON: numbers and booleans typed, `to` split on commas.
fn settings(pairs: &[String]) -> Result<Map<String, Value>> {
    let mut m = Map::new();
    for p in pairs {
        let (k, v) = key_value(p, "--set")?;
        let value = if k == "to" {
            json!(
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
            )
        } else if let Ok(n) = v.parse::<u64>() {
            json!(n)
        } else if let Ok(b) = v.parse::<bool>() {
            json!(b)
        } else {
            json!(v)
        };
        m.insert(k, value);
    }
    Ok(m)
}

/// Runs `heimsight channels …`.
pub(crate) async fn run(ctx: &Ctx, cmd: &ChannelsCommand) -> Result<()> {
    let mut out = ctx.out();
    let base = "/api/v1/notifications/channels";
    match cmd {
        ChannelsCommand::List => {
            let v: ChannelsPage = ctx.api.get_as(base, &[]).await?;
            let mut t = Table::new(&["id", "name", "type", "target"]);
            for c in &v.channels {
                let target = ["url", "host", "to"]
                    .iter()
                    .map(|k| c.setting_text(k))
                    .find(|t| !t.is_empty())
                    .unwrap_or_default();
                t.colored_row(vec![
                    (c.id.clone(), Color::Blue),
                    (c.name.clone(), Color::None),
                    (c.kind.clone(), Color::None),
                    (target, Color::Dim),
                ]);
            }
            ctx.printer.print(&mut out, &v, &t)
        }
        ChannelsCommand::Get { channel } => {
            let v = ctx
                .api
                .get(&format!("{base}/{}", path_segment(channel)), &[])
                .await?;
            let mut t = Table::new(&["field", "value"]);
            for (k, val) in v.as_object().into_iter().flatten() {
                if k == "settings" {
                    for (sk, sv) in val.as_object().into_iter().flatten() {
                        t.row([format!("settings.{sk}"), cell(sv)]);
                    }
                } else {
                    t.row([k.clone(), cell(val)]);
                }
            }
            ctx.printer.print(&mut out, &v, &t)
        }
        ChannelsCommand::Create {
            name,
            kind,
            set,
            file,
        } => {
            let mut body = match file {
                Some(f) => read_object_file(f, "channel (an object with name, type, settings)")?,
                None => Map::new(),
            };
            if let Some(n) = name {
                body.insert("name".into(), json!(n));
            }
            if let Some(k) = kind {
                body.insert("type".into(), json!(k));
            }
            let mut s = body
                .get("settings")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            s.extend(settings(set)?);
            body.insert("settings".into(), Value::Object(s));
            let v: ChannelView = ctx.api.post_as(base, &Value::Object(body)).await?;
            match ctx.printer.format {
                Output::Json => writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?,
                _ => writeln!(out, "created channel {} ({})", v.id, v.name)?,
            }
            Ok(())
        }
        ChannelsCommand::Test { channel } => {
            let v: ChannelTestResult = ctx
                .api
                .post_as(
                    &format!("{base}/{}/test", path_segment(channel)),
                    &json!({}),
                )
                .await?;
            match ctx.printer.format {
                Output::Json => writeln!(out, "{}", serde_json::to_string(&v)?)?,
                _ => writeln!(
                    out,
                    "sent a test notification through {channel}: {}",
                    v.detail.trim()
                )?,
            }
            Ok(())
        }
        ChannelsCommand::Delete { channel } => {
            ctx.api
                .delete(&format!("{base}/{}", path_segment(channel)))
                .await?;
            match ctx.printer.format {
                Output::Json => writeln!(out, "{}", json!({"deleted": channel}))?,
                _ => writeln!(out, "deleted channel {channel}")?,
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_typed() {
        let s = settings(&[
            "port=2525".into(),
            "to=a@x.org, b@x.org".into(),
            "tls=none".into(),
            "url=https://h/x?a=b".into(),
        ])
        .unwrap();
        assert_eq!(
            Value::Object(s),
            json!({"port": 2525, "to": ["a@x.org", "b@x.org"], "tls": "none", "url": "https://h/x?a=b"})
        );
    }
}
