//! Query-string parameters: parsing and validation with messages that name the parameter.

use heimsight_core::{Timestamp, parse_duration_nanos};
use heimsight_store::TimeRange;

use crate::api_error::ApiError;

/// The parameters of one request, in order. Repeated parameters are kept.
#[derive(Debug)]
pub(crate) struct Params {
    pairs: Vec<(String, String)>,
    now: Timestamp,
}

impl Params {
    /// Parses a raw query string (or form body), keeping every parameter.
    pub(crate) fn parse_any(raw: Option<&str>) -> Params {
        Params {
            pairs: form_urlencoded::parse(raw.unwrap_or("").as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
            now: Timestamp::now(),
        }
    }

    /// Parses a raw query string, rejecting parameters not in `allowed`.
    pub(crate) fn parse(raw: Option<&str>, allowed: &[&str]) -> Result<Params, ApiError> {
        let params = Params::parse_any(raw);
        for (k, _) in &params.pairs {
            if !allowed.contains(&k.as_str()) {
                return Err(ApiError::bad_request(format!(
                    "unknown parameter {k:?}; this endpoint accepts: {}",
                    allowed.join(", ")
                )));
            }
        }
        Ok(params)
    }

    /// Every non-empty value of a parameter.
    pub(crate) fn all(&self, name: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.trim())
            .collect()
    }

    /// The value of a parameter that may be given once; empty values count as absent.
    pub(crate) fn one(&self, name: &str) -> Result<Option<&str>, ApiError> {
        let values = self.all(name);
        let first = values.first().copied();
        if values.len() > 1 {
            return Err(ApiError::bad_param(
                name,
                "given more than once; give it once",
            ));
        }
        Ok(first)
    }

    /// Every value of a repeatable, comma-separated parameter (`level=error,warn&level=info`).
    pub(crate) fn list(&self, name: &str) -> Vec<String> {
        self.all(name)
            .into_iter()
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// A time: RFC 3339, Unix nanoseconds, or relative to now (`now-15m`).
    pub(crate) fn time(&self, name: &str) -> Result<Option<Timestamp>, ApiError> {
        self.one(name)?
            .map(|v| {
                Timestamp::parse_relative(v, self.now).map_err(|e| ApiError::bad_param(name, e))
            })
            .transpose()
    }

    /// `start_time` and `end_time` as a range; `end_time` before `start_time` is an error.
    pub(crate) fn time_range(&self) -> Result<TimeRange, ApiError> {
        let start = self.time("start_time")?;
        let end = self.time("end_time")?;
        if let (Some(s), Some(e)) = (start, end)
            && e < s
        {
            return Err(ApiError::bad_request(format!(
                "invalid time range: end_time ({}) is before start_time ({})",
                e.to_rfc3339(),
                s.to_rfc3339()
            )));
        }
        Ok(TimeRange { start, end })
    }

    /// A non-negative whole number no larger than `max`, or `default` when absent.
    pub(crate) fn count(&self, name: &str, default: usize, max: usize) -> Result<usize, ApiError> {
        let Some(v) = self.one(name)? else {
            return Ok(default);
        };
        let expected = format!("expected a whole number from 0 to {max}");
        if v.starts_with('-') {
            return Err(ApiError::bad_param(
                name,
                format!("{v:?} is negative; {expected}"),
            ));
        }
        match v.parse::<u64>() {
            Ok(n) if n <= max as u64 => Ok(n as usize),
            Ok(_) => Err(ApiError::bad_param(
                name,
                format!("{v} is larger than the maximum {max}"),
            )),
            Err(_) => Err(ApiError::bad_param(
                name,
                format!("{expected}, found {v:?}"),
            )),
        }
    }

    /// A duration such as `250ms`, `1.5s` or `2m`, in nanoseconds.
    pub(crate) fn duration(&self, name: &str) -> Result<Option<i64>, ApiError> {
        self.one(name)?
            .map(|v| {
                if v.starts_with('-') {
                    return Err(ApiError::bad_param(name, format!("{v:?} is negative")));
                }
                parse_duration_nanos(v).map_err(|e| ApiError::bad_param(name, e))
            })
            .transpose()
    }

    /// `key:value` pairs of a repeatable parameter (`attr=http.method:GET`).
    pub(crate) fn pairs(&self, name: &str) -> Result<Vec<(String, String)>, ApiError> {
        self.all(name)
            .into_iter()
            .map(|v| match v.split_once(':') {
                Some((k, val)) if !k.trim().is_empty() => {
                    Ok((k.trim().to_string(), val.to_string()))
                }
                _ => Err(ApiError::bad_param(
                    name,
                    format!("expected key:value, found {v:?}"),
                )),
            })
            .collect()
    }
}

/// Splits a full-text query into terms: words, and "quoted phrases" kept whole.
pub(crate) fn split_terms(q: &str) -> Vec<String> {
    let mut terms = Vec::new();
    for (i, part) in q.split('"').enumerate() {
        if i % 2 == 1 {
            if !part.trim().is_empty() {
                terms.push(part.trim().to_string());
            }
        } else {
            terms.extend(part.split_whitespace().map(str::to_string));
        }
    }
    terms
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn terms_keep_quoted_phrases() {
        assert_eq!(
            split_terms(r#"timeout "connection refused"  db"#),
            ["timeout", "connection refused", "db"]
        );
        assert_eq!(split_terms(r#""unclosed phrase"#), ["unclosed phrase"]);
        assert!(split_terms("  ").is_empty());
    }

    #[test]
    fn counts_are_checked() {
        let p = Params::parse(Some("limit=-1&offset=abc&x=5"), &["limit", "offset", "x"]).unwrap();
        assert!(
            p.count("limit", 1, 10)
                .unwrap_err()
                .to_string()
                .contains("negative")
        );
        assert!(
            p.count("offset", 1, 10)
                .unwrap_err()
                .to_string()
                .contains("found \"abc\"")
        );
        assert!(
            p.count("x", 1, 4)
                .unwrap_err()
                .to_string()
                .contains("maximum 4")
        );
        assert_eq!(p.count("missing", 7, 10).unwrap(), 7);
        assert!(Params::parse(Some("nope=1"), &["limit"]).is_err());
    }

    #[test]
    fn lists_and_pairs() {
        let p = Params::parse(
            Some("level=error,%20warn&level=info&attr=a:b:c&attr=k:"),
            &["level", "attr"],
        )
        .unwrap();
        assert_eq!(p.list("level"), ["error", "warn", "info"]);
        assert_eq!(
            p.pairs("attr").unwrap(),
            [
                ("a".to_string(), "b:c".to_string()),
                ("k".to_string(), String::new())
            ]
        );
        let p = Params::parse(Some("attr=novalue"), &["attr"]).unwrap();
        assert!(p.pairs("attr").is_err());
    }
}
