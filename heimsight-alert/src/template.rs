//! Annotation templates: `CPU of {{ $labels.service }} at {{ $value }}`.
//!
//! Placeholders are `{{ $value }}` (the instance's value), `{{ $labels.<name> }}` (a label of
//! the instance, empty when missing; the name may contain dots), `{{ $rule }}` (the rule's
//! name) and `{{ $severity }}`. Anything else between `{{` and `}}` is an error when the rule
//! is saved, so a typo never reaches a notification.

use std::collections::BTreeMap;

/// What a template can refer to.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// `$value`.
    pub value: Option<f64>,
    /// `$labels`.
    pub labels: &'a BTreeMap<String, String>,
    /// `$rule`.
    pub rule: &'a str,
    /// `$severity`.
    pub severity: &'a str,
}

enum Part<'t> {
    Text(&'t str),
    Value,
    Label(&'t str),
    Rule,
    Severity,
}

fn parse(t: &str) -> Result<Vec<Part<'_>>, String> {
    let mut parts = Vec::new();
    let mut rest = t;
    while let Some(open) = rest.find("{{") {
        parts.push(Part::Text(&rest[..open]));
        let after = &rest[open + 2..];
        let close = after.find("}}").ok_or_else(|| {
            format!(
                "`{{{{` at byte {} is never closed with `}}}}`",
                t.len() - rest.len() + open
            )
        })?;
        let expr = after[..close].trim();
        parts.push(match expr {
            "$value" | ".Value" => Part::Value,
            "$rule" => Part::Rule,
            "$severity" => Part::Severity,
            _ => match expr
                .strip_prefix("$labels.")
                .or_else(|| expr.strip_prefix(".Labels."))
            {
                Some(name) if !name.is_empty() => Part::Label(name),
                _ => {
                    return Err(format!(
                        "unknown placeholder `{{{{ {expr} }}}}`; use {{{{ $value }}}}, {{{{ $labels.<name> }}}}, {{{{ $rule }}}} or {{{{ $severity }}}}"
                    ));
                }
            },
        });
        rest = &after[close + 2..];
    }
    parts.push(Part::Text(rest));
    Ok(parts)
}

/// Checks a template; the error names the bad placeholder.
pub fn check(t: &str) -> Result<(), String> {
    parse(t).map(|_| ())
}

/// Formats a value the way people read it: integers without a fraction, others with up to
/// four decimals.
pub fn fmt_value(v: f64) -> String {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else if v.is_finite() {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        v.to_string()
    }
}

/// Renders a template (a template that does not parse is returned as written).
pub fn render(t: &str, ctx: &Context<'_>) -> String {
    let Ok(parts) = parse(t) else {
        return t.to_string();
    };
    let mut out = String::with_capacity(t.len());
    for p in parts {
        match p {
            Part::Text(s) => out.push_str(s),
            Part::Value => {
                if let Some(v) = ctx.value {
                    out.push_str(&fmt_value(v));
                }
            }
            Part::Label(name) => {
                if let Some(v) = ctx.labels.get(name) {
                    out.push_str(v);
                }
            }
            Part::Rule => out.push_str(ctx.rule),
            Part::Severity => out.push_str(ctx.severity),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_values_and_labels() {
        let mut labels = BTreeMap::new();
        labels.insert("service".to_string(), "api".to_string());
        labels.insert("http.route".to_string(), "/x".to_string());
        let ctx = Context {
            value: Some(0.934_56),
            labels: &labels,
            rule: "High CPU",
            severity: "critical",
        };
        assert_eq!(
            render(
                "{{ $rule }}: {{$labels.service}} {{ $labels.http.route }} at {{ $value }} ({{ $severity }}){{ $labels.none }}",
                &ctx
            ),
            "High CPU: api /x at 0.9346 (critical)"
        );
        assert_eq!(fmt_value(12.0), "12");
        assert_eq!(fmt_value(0.5), "0.5");
    }

    #[test]
    fn bad_placeholders_are_errors() {
        assert!(check("{{ $valeu }}").unwrap_err().contains("$valeu"));
        assert!(check("x {{ $value").unwrap_err().contains("never closed"));
        assert!(check("no placeholders").is_ok());
    }
}
