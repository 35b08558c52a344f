//! Label matchers as Prometheus writes them: `name=value`, `name!=value`, `name=~regex`,
//! `name!~regex` — the operator and how a matcher's text splits. (Matching itself, with its
//! compiled regular expression, is `heimsight_store::LabelMatcher`.)

/// How a label matcher compares. Its text is Prometheus's: `=`, `!=`, `=~`, `!~` (`==` is read
/// as `=`).
///
/// ```
/// use heimsight_core::{MatchOp, split_matcher};
///
/// assert_eq!("=~".parse::<MatchOp>(), Ok(MatchOp::Regex));
/// assert_eq!(MatchOp::NotEqual.to_string(), "!=");
/// // The name ends at the first `=` or `!`; what follows the operator is the value.
/// assert_eq!(split_matcher("host!=web-1"), Some(("host", MatchOp::NotEqual, "web-1")));
/// assert_eq!(split_matcher("expr=a!=b"), Some(("expr", MatchOp::Equal, "a!=b")));
/// assert_eq!(split_matcher("path=~/api/.*"), Some(("path", MatchOp::Regex, "/api/.*")));
/// assert_eq!(split_matcher("no operator"), None);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum MatchOp {
    /// `=`: equal (a missing label equals the empty string).
    #[default]
    Equal,
    /// `!=`: not equal.
    NotEqual,
    /// `=~`: fully anchored regular expression.
    Regex,
    /// `!~`: does not match the fully anchored regular expression.
    NotRegex,
}

impl MatchOp {
    /// `=`, `!=`, `=~` or `!~`.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        }
    }
}

impl std::fmt::Display for MatchOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for MatchOp {
    type Err = String;

    /// `=` (or `==`), `!=`, `=~`, `!~`; the error says what was expected.
    fn from_str(s: &str) -> std::result::Result<MatchOp, String> {
        match s {
            "=" | "==" => Ok(MatchOp::Equal),
            "!=" => Ok(MatchOp::NotEqual),
            "=~" => Ok(MatchOp::Regex),
            "!~" => Ok(MatchOp::NotRegex),
            other => Err(format!(
                "unknown operator {other:?}; expected =, !=, =~ or !~"
            )),
        }
    }
}

/// Splits a matcher written `name OP value` (`host=web-1`, `env!=dev`, `path=~/api/.*`): the
/// name, trimmed, ends at the first `=` or `!`, which starts the operator; the value is the
/// rest, as it is. `None` without an operator or with an empty name.
pub fn split_matcher(s: &str) -> Option<(&str, MatchOp, &str)> {
    let at = s.find(['=', '!'])?;
    let (name, rest) = (s[..at].trim(), &s[at..]);
    let op = ["!=", "!~", "=~", "="]
        .into_iter()
        .find(|op| rest.starts_with(op))?;
    if name.is_empty() {
        return None;
    }
    let parsed = op.parse().ok()?;
    Some((name, parsed, &rest[op.len()..]))
}

impl serde::Serialize for MatchOp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for MatchOp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}
