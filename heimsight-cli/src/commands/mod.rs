//! The commands that talk to a running server over its REST API.

pub(crate) mod alerts;
pub(crate) mod channels;
pub(crate) mod keys;
pub(crate) mod logs;
pub(crate) mod metrics;
pub(crate) mod query;
pub(crate) mod retention;
pub(crate) mod status;
pub(crate) mod traces;

use std::io::Write;
use std::time::Duration;

use anyhow::{Result, anyhow};

use crate::args::Global;
use crate::client::{Api, target};
use crate::output::Printer;

/// What every remote command gets: the API client and the printer.
#[derive(Debug)]
pub(crate) struct Ctx {
    /// The server's REST API.
    pub(crate) api: Api,
    /// How to print.
    pub(crate) printer: Printer,
}

impl Ctx {
    /// The client and printer the global options ask for.
    pub(crate) fn new(global: &Global) -> Result<Self> {
        Ok(Ctx {
            api: Api::new(target(global)?, timeout(global)?)?,
            printer: Printer::new(global),
        })
    }

    /// Standard output, locked.
    pub(crate) fn out(&self) -> std::io::StdoutLock<'static> {
        std::io::stdout().lock()
    }
}

/// `--timeout` as a duration.
pub(crate) fn timeout(global: &Global) -> Result<Duration> {
    heimsight_core::parse_duration_nanos(&global.timeout)
        .ok()
        .filter(|ns| *ns > 0)
        .map(|ns| Duration::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX)))
        .ok_or_else(|| {
            anyhow!(
                "invalid --timeout {:?}; expected e.g. 30s or 500ms",
                global.timeout
            )
        })
}

/// A time flag as the API takes it: a bare duration (`15m`) means that long ago (`now-15m`);
/// anything else (RFC 3339, Unix nanoseconds, `now-1h`) goes as is.
pub(crate) fn time_param(s: &str) -> String {
    let s = s.trim();
    if s.starts_with(|c: char| c.is_ascii_digit())
        && heimsight_core::parse_duration_nanos(s).is_ok()
        && !s.chars().all(|c| c.is_ascii_digit())
    {
        format!("now-{s}")
    } else {
        s.to_string()
    }
}

/// Splits `key=value` (or `key:value`) flags.
pub(crate) fn key_value(s: &str, what: &str) -> Result<(String, String)> {
    let (k, v) = s
        .split_once('=')
        .or_else(|| s.split_once(':'))
        .ok_or_else(|| anyhow!("invalid {what} {s:?}; expected key=value"))?;
    if k.trim().is_empty() {
        return Err(anyhow!("invalid {what} {s:?}; the key is empty"));
    }
    Ok((k.trim().to_string(), v.to_string()))
}

/// Splits a label matcher `name OP value` (OP `!=`, `=~`, `!~` or `=`) into its parts with
/// [`heimsight_store::split_matcher`], the operator as text.
pub(crate) fn split_matcher(s: &str) -> Option<(&str, &'static str, &str)> {
    heimsight_store::split_matcher(s).map(|(name, op, value)| (name, op.as_str(), value))
}

/// Standard input, whole (for arguments given as `-`).
pub(crate) fn read_stdin() -> Result<String> {
    let mut s = String::new();
    std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)?;
    Ok(s)
}

/// One object from a YAML (or JSON) file, `-` for standard input; `what` names it in errors,
/// e.g. "rule (an object with name, kind, …)".
pub(crate) fn read_object_file(
    path: &std::path::Path,
    what: &str,
) -> Result<serde_json::Map<String, serde_json::Value>> {
    use anyhow::Context;
    use serde_json::Value;
    let text = if path == std::path::Path::new("-") {
        read_stdin()?
    } else {
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?
    };
    let v: Value = serde_yaml_ng::from_str(&text)
        .with_context(|| format!("{} is not valid YAML or JSON", path.display()))?;
    match v {
        Value::Object(m) => Ok(m),
        other => Err(anyhow!(
            "{} must hold one {what}, not {}",
            path.display(),
            match other {
                Value::Array(_) => "a list",
                Value::Null => "nothing",
                _ => "a single value",
            }
        )),
    }
}

/// Writes one line (for streaming output).
pub(crate) fn line(out: &mut dyn Write, text: &str) -> Result<()> {
    writeln!(out, "{text}")?;
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_durations_mean_ago_and_times_pass_through() {
        assert_eq!(time_param("15m"), "now-15m");
        assert_eq!(time_param("1h30m"), "now-1h30m");
        assert_eq!(time_param("now-2h"), "now-2h");
        assert_eq!(time_param("2026-01-02T03:04:05Z"), "2026-01-02T03:04:05Z");
        assert_eq!(time_param("1767323045000000000"), "1767323045000000000");
    }

    #[test]
    fn key_values_split_on_equals_or_colon() {
        assert_eq!(
            key_value("host=web-1", "label").unwrap(),
            ("host".into(), "web-1".into())
        );
        assert_eq!(
            key_value("http.status:503", "attr").unwrap(),
            ("http.status".into(), "503".into())
        );
        assert!(
            key_value("novalue", "label")
                .unwrap_err()
                .to_string()
                .contains("key=value")
        );
    }
}
