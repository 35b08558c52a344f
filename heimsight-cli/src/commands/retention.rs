//! `heimsight retention get|set`.

use anyhow::{Result, bail};
use clap::Subcommand;
use heimsight_core::api::RetentionView;
use serde_json::{Map, Value, json};

use super::Ctx;
use crate::output::Table;

/// `heimsight retention …`.
#[derive(Debug, Subcommand)]
pub(crate) enum RetentionCommand {
    /// Show how long each signal is kept.
    Get,
    /// Change how long some signals are kept (the others keep theirs), e.g.
    /// `heimsight retention set --logs 3d`.
    Set {
        /// Logs, e.g. 3d
        #[arg(long, value_name = "DURATION")]
        logs: Option<String>,
        /// Spans
        #[arg(long, value_name = "DURATION")]
        spans: Option<String>,
        /// Metric points
        #[arg(long, value_name = "DURATION")]
        metrics: Option<String>,
    },
}

/// Runs `heimsight retention …`.
pub(crate) async fn run(ctx: &Ctx, cmd: &RetentionCommand) -> Result<()> {
    let answer: RetentionView = match cmd {
        RetentionCommand::Get => ctx.api.get_as("/api/v1/retention", &[]).await?,
        RetentionCommand::Set {
            logs,
            spans,
            metrics,
        } => {
            let mut body = Map::new();
            for (k, v) in [("logs", logs), ("spans", spans), ("metrics", metrics)] {
                if let Some(v) = v {
                    body.insert(k.into(), json!(v));
                }
            }
            if body.is_empty() {
                bail!("nothing to set; give --logs, --spans or --metrics, e.g. --logs 3d");
            }
            ctx.api
                .put_as("/api/v1/retention", &Value::Object(body))
                .await?
        }
    };
    let mut t = Table::new(&["signal", "retention"]);
    for s in ["logs", "spans", "metrics"] {
        t.row([
            s.to_string(),
            answer.get(s).map_or(String::new(), |d| d.to_string()),
        ]);
    }
    ctx.printer
        .print(&mut ctx.out(), &serde_json::to_value(answer)?, &t)
}
