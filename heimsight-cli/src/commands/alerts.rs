//! `heimsight alerts …`: rules (with their state), active alerts, history and silences.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use clap::{Args, Subcommand};
use heimsight_core::MatchOp;
use heimsight_core::api::{
    AlertsPage, HistoryEntry, HistoryPage, Matcher, RuleView, RulesPage, SilenceSpec, SilenceView,
    SilencesPage,
};
use serde_json::{Map, Value, json};

use super::{Ctx, key_value, read_object_file};
use crate::args::Output;
use crate::client::{ServerError, path_segment};
use crate::output::{Color, Table, cell, number, pairs};

/// `heimsight alerts …`.
#[derive(Debug, Subcommand)]
pub(crate) enum AlertsCommand {
    /// List the rules with their state (firing, pending, inactive, disabled) and since when.
    List,
    /// Show one rule (by id or name) and its alerts.
    Get {
        /// Rule id or name.
        rule: String,
    },
    /// Create a rule from flags or from a YAML or JSON file (-f rule.yaml; - for stdin).
    Create(RuleArgs),
    /// Change a rule: the fields given (flags or file) replace the stored ones.
    Update {
        /// Rule id or name.
        rule: String,
        #[command(flatten)]
        fields: RuleArgs,
    },
    /// Delete a rule (its firing alerts are resolved and notified).
    Delete {
        /// Rule id or name.
        rule: String,
    },
    /// Pending and firing alerts, one per rule and label set.
    Active {
        /// Also alerts resolved recently.
        #[arg(long)]
        include_resolved: bool,
    },
    /// State changes and deliveries, newest first.
    History {
        /// Only this rule (id or name).
        #[arg(long)]
        rule: Option<String>,
        /// At most this many entries.
        #[arg(long, short = 'n', default_value_t = 50)]
        limit: u32,
    },
    /// Silence alerts whose labels match, for a while: silenced alerts change state but send
    /// nothing. E.g. `heimsight alerts silence -m service=api --duration 2h -c deploying`.
    Silence(SilenceArgs),
    /// List silences.
    Silences,
    /// End a silence now.
    Unsilence {
        /// Silence id.
        id: String,
    },
}

/// A rule's fields as flags (or a file).
#[derive(Debug, Args, Default)]
pub(crate) struct RuleArgs {
    /// A rule in YAML or JSON (the API's fields); flags given too override its fields
    #[arg(long, short = 'f', value_name = "FILE")]
    pub(crate) file: Option<PathBuf>,
    /// Name of the rule
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// threshold, log_pattern, trace, anomaly or absence
    #[arg(long)]
    pub(crate) kind: Option<String>,
    /// The query (threshold, anomaly, absence), e.g. "avg(value) FROM metrics WHERE name='cpu'"
    #[arg(long)]
    pub(crate) query: Option<String>,
    /// Full-text pattern (log_pattern)
    #[arg(long)]
    pub(crate) pattern: Option<String>,
    /// Filter (log_pattern, trace), e.g. "service = 'api'"
    #[arg(long)]
    pub(crate) filter: Option<String>,
    /// What a trace rule measures: p50, p90, p95, p99, avg, max, error_rate or count
    #[arg(long)]
    pub(crate) measure: Option<String>,
    /// Comparison: >, >=, <, <=, ==, !=
    #[arg(long, value_name = "OP")]
    pub(crate) op: Option<String>,
    /// Threshold the value is compared with
    #[arg(long, allow_negative_numbers = true)]
    pub(crate) threshold: Option<f64>,
    /// Window of data each evaluation reads, e.g. 5m
    #[arg(long)]
    pub(crate) window: Option<String>,
    /// How often the rule is evaluated, e.g. 1m
    #[arg(long)]
    pub(crate) interval: Option<String>,
    /// How long the condition must hold before firing
    #[arg(long = "for", value_name = "DURATION")]
    pub(crate) for_: Option<String>,
    /// info, warning or critical
    #[arg(long)]
    pub(crate) severity: Option<String>,
    /// Rule description
    #[arg(long)]
    pub(crate) description: Option<String>,
    /// Label added to its alerts, key=value (repeatable)
    #[arg(long, value_name = "KEY=VALUE")]
    pub(crate) label: Vec<String>,
    /// Annotation with templates, key=value (repeatable), e.g. 'summary=CPU at {{ $value }}'
    #[arg(long, value_name = "KEY=VALUE")]
    pub(crate) annotation: Vec<String>,
    /// Notification channel id or name (repeatable)
    #[arg(long, value_name = "CHANNEL")]
    pub(crate) channel: Vec<String>,
    /// Enable (true) or disable (false) the rule
    #[arg(long, value_name = "BOOL")]
    pub(crate) enabled: Option<bool>,
}

impl RuleArgs {
    /// The rule body: the file's fields, then the flags over them.
    fn body(&self) -> Result<Map<String, Value>> {
        let mut body = match &self.file {
            Some(f) => read_rule_file(f)?,
            None => Map::new(),
        };
        let mut set = |k: &str, v: Option<Value>| {
            if let Some(v) = v {
                body.insert(k.to_string(), v);
            }
        };
        set("name", self.name.clone().map(Value::from));
        set("kind", self.kind.clone().map(Value::from));
        set("query", self.query.clone().map(Value::from));
        set("pattern", self.pattern.clone().map(Value::from));
        set("filter", self.filter.clone().map(Value::from));
        set("measure", self.measure.clone().map(Value::from));
        set("window", self.window.clone().map(Value::from));
        set("interval", self.interval.clone().map(Value::from));
        set("for", self.for_.clone().map(Value::from));
        set("severity", self.severity.clone().map(Value::from));
        set("description", self.description.clone().map(Value::from));
        set("enabled", self.enabled.map(Value::from));
        if !self.channel.is_empty() {
            set("channels", Some(json!(self.channel)));
        }
        for (field, pairs) in [("labels", &self.label), ("annotations", &self.annotation)] {
            if pairs.is_empty() {
                continue;
            }
            let mut m: BTreeMap<String, String> = BTreeMap::new();
            for p in pairs {
                let (k, v) = key_value(p, &format!("--{}", &field[..field.len() - 1]))?;
                m.insert(k, v);
            }
            set(field, Some(json!(m)));
        }
        if self.op.is_some() || self.threshold.is_some() {
            let mut c = body
                .get("condition")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            if let Some(op) = &self.op {
                c.insert("op".into(), json!(op));
            }
            if let Some(t) = self.threshold {
                c.insert("threshold".into(), json!(t));
            }
            body.insert("condition".into(), Value::Object(c));
        }
        Ok(body)
    }
}

/// A rule file: YAML (a superset of JSON), one object.
fn read_rule_file(path: &Path) -> Result<Map<String, Value>> {
    read_object_file(path, "rule (an object with name, kind, …)")
}

/// Flags of `heimsight alerts silence`.
#[derive(Debug, Args)]
pub(crate) struct SilenceArgs {
    /// Label matcher (repeatable): name=value, name!=value, name=~regex, name!~regex
    #[arg(
        long,
        short = 'm',
        value_name = "MATCHER",
        required_unless_present = "rule"
    )]
    pub(crate) matcher: Vec<String>,
    /// Silence every alert of this rule (id or name)
    #[arg(long)]
    pub(crate) rule: Option<String>,
    /// How long, e.g. 2h
    #[arg(long, short = 'd', default_value = "1h")]
    pub(crate) duration: String,
    /// Why
    #[arg(long, short = 'c')]
    pub(crate) comment: Option<String>,
    /// Who [default: $USER]
    #[arg(long)]
    pub(crate) created_by: Option<String>,
}

/// A matcher flag as the API takes it.
fn matcher(s: &str) -> Result<Matcher> {
    if let Some((name, op, value)) = heimsight_core::split_matcher(s) {
        return Ok(Matcher {
            name: name.to_string(),
            value: value.to_string(),
            op,
        });
    }
    bail!("invalid matcher {s:?}; expected name=value, name!=value, name=~regex or name!~regex")
}

/// Runs `heimsight alerts …`.
pub(crate) async fn run(ctx: &Ctx, cmd: &AlertsCommand) -> Result<()> {
    let mut out = ctx.out();
    match cmd {
        AlertsCommand::List => {
            let (rules, alerts): (RulesPage, AlertsPage) = tokio::try_join!(
                ctx.api.get_as("/api/v1/alerts/rules", &[]),
                ctx.api.get_as("/api/v1/alerts", &[]),
            )?;
            let mut t = Table::new(&[
                "id", "name", "kind", "state", "since", "severity", "channels",
            ]);
            let mut rows = Vec::new();
            for r in &rules.rules {
                let state = r.state.as_str();
                // Since when the rule is in its state: its oldest alert in that state.
                let since = alerts
                    .alerts
                    .iter()
                    .filter(|a| a.rule_id == r.id && a.state.as_str() == state)
                    .map(|a| a.since)
                    .min();
                let since_text = since.map(|t| t.to_rfc3339()).unwrap_or_default();
                let severity = r.rule.severity.as_str();
                t.colored_row(vec![
                    (r.id.clone(), Color::Blue),
                    (r.rule.name.clone(), Color::None),
                    (r.rule.kind.name().to_string(), Color::None),
                    (state.to_string(), Color::of_level(state)),
                    (since_text, Color::Dim),
                    (severity.to_string(), Color::of_level(severity)),
                    (r.rule.channels.join(","), Color::None),
                ]);
                let mut row = serde_json::to_value(r)?;
                row["since"] = json!(since);
                rows.push(row);
            }
            ctx.printer.print(&mut out, &json!({"rules": rows}), &t)
        }
        AlertsCommand::Get { rule } => {
            let rule: RuleView = ctx.api.get_as(&rule_path(ctx, rule).await?, &[]).await?;
            let alerts: AlertsPage = ctx
                .api
                .get_as(
                    "/api/v1/alerts",
                    &[
                        ("rule_id", rule.id.clone()),
                        ("include_resolved", "true".into()),
                    ],
                )
                .await?;
            let r = serde_json::to_value(&rule)?;
            if ctx.printer.format == Output::Json {
                let mut all = r.clone();
                all["alerts"] = serde_json::to_value(&alerts.alerts)?;
                writeln!(out, "{}", serde_json::to_string_pretty(&all)?)?;
                return Ok(());
            }
            let mut t = Table::new(&["field", "value"]);
            if let Some(m) = r.as_object() {
                for (k, v) in m {
                    t.row([k.clone(), cell(v)]);
                }
            }
            ctx.printer.print(&mut out, &r, &t)?;
            if ctx.printer.format == Output::Table {
                writeln!(out)?;
                ctx.printer.write_table(&mut out, &alerts_table(&alerts))?;
            }
            Ok(())
        }
        AlertsCommand::Create(args) => {
            let body = args.body()?;
            if body.is_empty() {
                bail!(
                    "give the rule's fields as flags (--name, --kind, --query, …) or in a file (-f rule.yaml)"
                );
            }
            let r = ctx
                .api
                .post_as("/api/v1/alerts/rules", &Value::Object(body))
                .await
                .map_err(invalid)?;
            print_rule(ctx, &mut out, "created", &r)
        }
        AlertsCommand::Update { rule, fields } => {
            let path = rule_path(ctx, rule).await?;
            let current: RuleView = ctx.api.get_as(&path, &[]).await?;
            let changes = fields.body()?;
            if changes.is_empty() {
                bail!("nothing to change; give fields as flags or in a file (-f rule.yaml)");
            }
            // The rule's own settings (not the ones the server keeps), with the changes over
            // them.
            let mut body = match current.rule.to_json() {
                Value::Object(settings) => settings,
                _ => Map::new(),
            };
            body.extend(changes);
            let r = ctx
                .api
                .put_as(&path, &Value::Object(body))
                .await
                .map_err(invalid)?;
            print_rule(ctx, &mut out, "updated", &r)
        }
        AlertsCommand::Delete { rule } => {
            let path = rule_path(ctx, rule).await?;
            ctx.api.delete(&path).await?;
            match ctx.printer.format {
                Output::Json => writeln!(out, "{}", json!({"deleted": rule}))?,
                _ => writeln!(out, "deleted rule {rule}")?,
            }
            Ok(())
        }
        AlertsCommand::Active { include_resolved } => {
            let mut q = Vec::new();
            if *include_resolved {
                q.push(("include_resolved", "true".to_string()));
            }
            let alerts: AlertsPage = ctx.api.get_as("/api/v1/alerts", &q).await?;
            ctx.printer.print(&mut out, &alerts, &alerts_table(&alerts))
        }
        AlertsCommand::History { rule, limit } => {
            let mut q = vec![("limit", limit.to_string())];
            if let Some(r) = rule {
                let id = rule_id(ctx, r).await?;
                q.push(("rule_id", id));
            }
            let h: HistoryPage = ctx.api.get_as("/api/v1/alerts/history", &q).await?;
            let mut t = Table::new(&["at", "kind", "rule", "what"]);
            for e in &h.history {
                let what = match e {
                    HistoryEntry::State(c) => format!(
                        "{} → {}{}",
                        c.from,
                        c.to,
                        c.value
                            .map_or(String::new(), |v| format!(" (value {})", number(v)))
                    ),
                    HistoryEntry::Delivered(d) | HistoryEntry::DeliveryFailed(d) => format!(
                        "{} {} via {} (attempt {}): {}",
                        d.status, d.notification_id, d.channel_id, d.attempts, d.message
                    ),
                    HistoryEntry::Unknown => String::new(),
                };
                let color = if matches!(e, HistoryEntry::DeliveryFailed(_)) {
                    Color::Red
                } else {
                    Color::None
                };
                t.colored_row(vec![
                    (e.at().to_rfc3339(), Color::Dim),
                    (e.kind().to_string(), color),
                    (e.rule_name().to_string(), Color::None),
                    (what, Color::None),
                ]);
            }
            ctx.printer.print(&mut out, &h, &t)
        }
        AlertsCommand::Silence(s) => {
            let mut matchers = s
                .matcher
                .iter()
                .map(|m| matcher(m))
                .collect::<Result<Vec<_>>>()?;
            if let Some(r) = &s.rule {
                let id = rule_id(ctx, r).await?;
                matchers.push(Matcher {
                    name: "rule_id".into(),
                    value: id,
                    op: MatchOp::Equal,
                });
            }
            let duration = heimsight_core::Duration::parse(&s.duration)
                .map_err(|e| anyhow::anyhow!("invalid --duration {:?}: {e}", s.duration))?;
            let body = json!(SilenceSpec {
                matchers,
                duration: Some(duration),
                created_by: s
                    .created_by
                    .clone()
                    .or_else(|| std::env::var("USER").ok())
                    .unwrap_or_else(|| "heimsight-cli".into()),
                comment: s.comment.clone().unwrap_or_default(),
                ..SilenceSpec::default()
            });
            let v: SilenceView = ctx
                .api
                .post_as("/api/v1/silences", &body)
                .await
                .map_err(invalid)?;
            match ctx.printer.format {
                Output::Json => writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?,
                _ => writeln!(out, "silence {} until {}", v.id, v.ends_at.to_rfc3339())?,
            }
            Ok(())
        }
        AlertsCommand::Silences => {
            let v: SilencesPage = ctx.api.get_as("/api/v1/silences", &[]).await?;
            let mut t = Table::new(&[
                "id", "status", "matchers", "starts", "ends", "by", "comment",
            ]);
            for s in &v.silences {
                let m = s
                    .matchers
                    .iter()
                    .map(|m| format!("{}{}{}", m.name, m.op, m.value))
                    .collect::<Vec<_>>()
                    .join(",");
                t.row([
                    s.id.clone(),
                    s.status.to_string(),
                    m,
                    s.starts_at.to_rfc3339(),
                    s.ends_at.to_rfc3339(),
                    s.created_by.clone(),
                    s.comment.clone(),
                ]);
            }
            ctx.printer.print(&mut out, &v, &t)
        }
        AlertsCommand::Unsilence { id } => {
            ctx.api
                .delete(&format!("/api/v1/silences/{}", path_segment(id)))
                .await?;
            match ctx.printer.format {
                Output::Json => writeln!(out, "{}", json!({"deleted": id}))?,
                _ => writeln!(out, "ended silence {id}")?,
            }
            Ok(())
        }
    }
}

fn alerts_table(alerts: &AlertsPage) -> Table {
    let mut t = Table::new(&["rule", "state", "since", "value", "labels", "silenced"]);
    for a in &alerts.alerts {
        let state = a.state.as_str();
        let labels = pairs(&a.labels, ",", &["alertname"]);
        t.colored_row(vec![
            (a.rule_name.clone(), Color::None),
            (state.to_string(), Color::of_level(state)),
            (a.since.to_rfc3339(), Color::Dim),
            (a.value.map_or(String::new(), number), Color::Bold),
            (labels, Color::None),
            (
                if a.silenced {
                    "yes".into()
                } else {
                    String::new()
                },
                Color::Yellow,
            ),
        ]);
    }
    t
}

fn print_rule(ctx: &Ctx, out: &mut dyn Write, what: &str, r: &RuleView) -> Result<()> {
    match ctx.printer.format {
        Output::Json => writeln!(out, "{}", serde_json::to_string_pretty(r)?)?,
        _ => writeln!(out, "{what} rule {} ({}), {}", r.id, r.rule.name, r.state)?,
    }
    Ok(())
}

/// A validation answer as one line per problem: `invalid rule: …` then `  field: reason`.
fn invalid(e: anyhow::Error) -> anyhow::Error {
    let Some(se) = e.downcast_ref::<ServerError>() else {
        return e;
    };
    let errors = &se.body.errors;
    if errors.len() <= 1 {
        return e;
    }
    let mut msg = format!(
        "the server answered {}: {} problems:",
        se.status,
        errors.len()
    );
    for x in errors {
        msg.push_str(&format!("\n  {}: {}", x.field, x.reason));
    }
    anyhow::anyhow!(msg)
}

/// The id of a rule given by id or name.
async fn rule_id(ctx: &Ctx, rule: &str) -> Result<String> {
    let rules: RulesPage = ctx.api.get_as("/api/v1/alerts/rules", &[]).await?;
    if let Some(r) = rules.rules.iter().find(|r| r.id == rule) {
        return Ok(r.id.to_string());
    }
    let named: Vec<&RuleView> = rules.rules.iter().filter(|r| r.rule.name == rule).collect();
    match named.as_slice() {
        [one] => Ok(one.id.clone()),
        [] => bail!("no rule with id or name {rule:?} (`heimsight alerts list` shows them)"),
        many => bail!(
            "{} rules are named {rule:?}; use an id: {}",
            many.len(),
            many.iter()
                .map(|r| r.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

async fn rule_path(ctx: &Ctx, rule: &str) -> Result<String> {
    Ok(format!(
        "/api/v1/alerts/rules/{}",
        path_segment(&rule_id(ctx, rule).await?)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_file_and_build_the_condition() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("rule.yaml");
        std::fs::write(
            &f,
            "name: High CPU\nkind: threshold\nquery: avg(value) FROM metrics WHERE name = 'cpu'\ncondition:\n  op: '>'\n  threshold: 0.9\nlabels:\n  team: infra\n",
        )
        .unwrap();
        let args = RuleArgs {
            file: Some(f),
            threshold: Some(0.8),
            severity: Some("critical".into()),
            annotation: vec!["summary=CPU at {{ $value }}".into()],
            ..RuleArgs::default()
        };
        let b = Value::Object(args.body().unwrap());
        assert_eq!(b["name"], "High CPU");
        assert_eq!(b["condition"], json!({"op": ">", "threshold": 0.8}));
        assert_eq!(b["severity"], "critical");
        assert_eq!(b["labels"], json!({"team": "infra"}));
        assert_eq!(b["annotations"], json!({"summary": "CPU at {{ $value }}"}));
    }

    #[test]
    fn rule_files_must_hold_one_object() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("r.json");
        std::fs::write(&f, "[1, 2]").unwrap();
        let e = read_rule_file(&f).unwrap_err().to_string();
        assert!(
            e.contains("must hold one rule") && e.contains("a list"),
            "{e}"
        );
        std::fs::write(&f, "name: [unclosed").unwrap();
        let e = format!("{:#}", read_rule_file(&f).unwrap_err());
        assert!(e.contains("not valid YAML or JSON"), "{e}");
    }

    #[test]
    fn matchers_take_every_operator() {
        assert_eq!(
            json!(matcher("service=api").unwrap()),
            json!({"name": "service", "value": "api", "op": "="})
        );
        assert_eq!(matcher("host=~web-.*").unwrap().op, MatchOp::Regex);
        assert_eq!(matcher("a!=b").unwrap().op, MatchOp::NotEqual);
        assert!(matcher("nothing").is_err());
    }
}
