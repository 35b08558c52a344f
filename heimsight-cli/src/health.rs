//! `heimsight health`.

use std::io::Write;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use heimsight_core::parse_duration_nanos;
use serde_json::Value;

use crate::args::{HealthArgs, Output};

/// Asks the server at `args.url` for `/health` and prints the answer.
pub(crate) async fn run(args: &HealthArgs, out: &mut dyn Write) -> Result<()> {
    let timeout = parse_duration_nanos(&args.timeout)
        .ok()
        .filter(|ns| *ns > 0)
        .ok_or_else(|| {
            anyhow!(
                "invalid --timeout {:?}; expected e.g. 5s or 500ms",
                args.timeout
            )
        })?;
    let base = args.url.trim_end_matches('/');
    let url = format!("{base}/health");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_nanos(
            u64::try_from(timeout).unwrap_or(u64::MAX),
        ))
        .build()
        .context("cannot create an HTTP client")?;
    let res = client
        .get(&url)
        .send()
        .await
        .map_err(|e| anyhow!("cannot reach Heimsight at {base}: {}", error_chain(&e)))?;
    let status = res.status();
    let body = res
        .text()
        .await
        .with_context(|| format!("cannot read the answer of {url}"))?;
    let json: Option<Value> = serde_json::from_str(&body).ok();
    let healthy = status.is_success()
        && json
            .as_ref()
            .and_then(|j| j.get("status"))
            .and_then(Value::as_str)
            == Some("ok");
    match args.output {
        Output::Json => {
            let text = match &json {
                Some(j) => j.to_string(),
                None => serde_json::json!({"status": "error", "http_status": status.as_u16(), "body": body})
                    .to_string(),
            };
            writeln!(out, "{text}")?;
        }
        Output::Text => {
            if healthy {
                let version = json
                    .as_ref()
                    .and_then(|j| j.get("version"))
                    .and_then(Value::as_str)
                    .unwrap_or("unknown");
                writeln!(out, "ok: Heimsight {version} at {base}")?;
            }
        }
    }
    if !healthy {
        bail!(
            "Heimsight at {base} is not healthy: HTTP {status}: {}",
            body.trim()
        );
    }
    Ok(())
}

/// The error and its sources, e.g. "error sending request: connection refused".
fn error_chain(e: &dyn std::error::Error) -> String {
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
