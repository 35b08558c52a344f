//! Timestamps in Unix nanoseconds: parsing RFC 3339, integers and relative forms, and formatting.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};

/// Nanoseconds since the Unix epoch, UTC.
///
/// Serialized as an RFC 3339 string with nanosecond precision; deserialized from an RFC 3339
/// string or an integer of Unix nanoseconds (also as a decimal string).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

/// The earliest timestamp records may carry: 1970-01-01.
pub const MIN_TIMESTAMP: Timestamp = Timestamp(0);
/// The latest timestamp records may carry: 2200-01-01T00:00:00Z.
pub const MAX_TIMESTAMP: Timestamp = Timestamp(7_258_118_400_000_000_000);

impl Timestamp {
    /// The current wall-clock time.
    pub fn now() -> Self {
        let d = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
    }

    /// Nanoseconds since the epoch.
    pub fn as_nanos(self) -> i64 {
        self.0
    }

    /// From milliseconds since the epoch (saturating).
    pub fn from_millis(ms: i64) -> Self {
        Timestamp(ms.saturating_mul(1_000_000))
    }

    /// True when inside the range records may carry (1970 to 2200).
    pub fn in_record_range(self) -> bool {
        self >= MIN_TIMESTAMP && self < MAX_TIMESTAMP
    }

    /// Adds a signed number of nanoseconds, saturating.
    pub fn saturating_add(self, nanos: i64) -> Self {
        Timestamp(self.0.saturating_add(nanos))
    }

    /// Formats as RFC 3339 with nanoseconds (`2026-01-02T03:04:05.000000006Z`).
    pub fn to_rfc3339(self) -> String {
        let secs = self.0.div_euclid(1_000_000_000);
        let nanos = u32::try_from(self.0.rem_euclid(1_000_000_000)).unwrap_or(0);
        match chrono::DateTime::from_timestamp(secs, nanos) {
            Some(dt) => dt.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
            None => self.0.to_string(),
        }
    }

    /// Parses an absolute time: RFC 3339 (`2026-01-02T03:04:05Z`, any offset, optional
    /// fraction) or an integer of Unix nanoseconds.
    pub fn parse(input: &str) -> Result<Self> {
        Self::parse_relative(input, Timestamp::now())
    }

    /// Parses an absolute or relative time. Relative forms are `now`, `now-15m`, `now+1h`
    /// (units ns, us, ms, s, m, h, d, w), evaluated against `now`.
    pub fn parse_relative(input: &str, now: Timestamp) -> Result<Self> {
        let s = input.trim();
        let err = |reason: &str| Error::Time {
            input: input.to_string(),
            reason: reason.to_string(),
        };
        if s.is_empty() {
            return Err(err("empty; expected RFC 3339, Unix nanoseconds or now-15m"));
        }
        if let Some(rest) = s.strip_prefix("now") {
            let rest = rest.trim();
            if rest.is_empty() {
                return Ok(now);
            }
            let (sign, dur) = match rest.as_bytes()[0] {
                b'-' => (-1i64, &rest[1..]),
                b'+' => (1i64, &rest[1..]),
                _ => return Err(err("expected now, now-<duration> or now+<duration>")),
            };
            let d = parse_duration_nanos(dur.trim())
                .map_err(|_| err("bad duration after now; expected e.g. now-15m"))?;
            return Ok(now.saturating_add(sign.saturating_mul(d)));
        }
        if s.bytes().all(|b| b.is_ascii_digit())
            || (s.starts_with('-') && s.len() > 1 && s[1..].bytes().all(|b| b.is_ascii_digit()))
        {
            return s
                .parse::<i64>()
                .map(Timestamp)
                .map_err(|_| err("integer out of range for Unix nanoseconds"));
        }
        match chrono::DateTime::parse_from_rfc3339(s) {
            Ok(dt) => dt
                .timestamp_nanos_opt()
                .map(Timestamp)
                .ok_or_else(|| err("outside the representable range (1677 to 2262)")),
            Err(e) => Err(err(&format!(
                "{e}; expected RFC 3339 (2026-01-02T03:04:05Z), Unix nanoseconds or now-15m"
            ))),
        }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        Timestamp::from_json(&v).map_err(serde::de::Error::custom)
    }
}

impl Timestamp {
    /// Reads a timestamp from JSON: an RFC 3339 string, an integer of Unix nanoseconds, or a
    /// string holding such an integer.
    pub fn from_json(v: &serde_json::Value) -> std::result::Result<Self, String> {
        match v {
            serde_json::Value::String(s) => Timestamp::parse(s).map_err(|e| e.to_string()),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Ok(Timestamp(i)),
                None => match n.as_u64() {
                    Some(_) => Err("integer too large for Unix nanoseconds".into()),
                    None => Err("expected integer Unix nanoseconds, found a fraction".into()),
                },
            },
            other => Err(format!(
                "expected RFC 3339 string or integer Unix nanoseconds, found {}",
                crate::json::type_name(other)
            )),
        }
    }
}

/// Parses a duration that cannot be negative (`250ms`, `15m`, `1h30m`, `1.5h`, `2d`) into
/// nanoseconds: [`Duration`](crate::Duration)'s text form, with a negative duration refused.
pub fn parse_duration_nanos(input: &str) -> Result<i64> {
    match crate::Duration::parse(input)?.as_nanos() {
        n if n < 0 => Err(Error::Duration {
            input: input.to_string(),
        }),
        n => Ok(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc3339_and_nanos() {
        let t = Timestamp::parse("2026-01-02T03:04:05.5Z").unwrap();
        assert_eq!(t.0, 1_767_323_045_500_000_000);
        assert_eq!(Timestamp::parse("1767323045500000000").unwrap(), t);
        assert_eq!(Timestamp::parse("2026-01-02T04:04:05.5+01:00").unwrap(), t);
        assert_eq!(t.to_rfc3339(), "2026-01-02T03:04:05.500000000Z");
    }

    #[test]
    fn parses_relative() {
        let now = Timestamp(10_000_000_000_000);
        assert_eq!(Timestamp::parse_relative("now", now).unwrap(), now);
        assert_eq!(
            Timestamp::parse_relative("now-15m", now).unwrap().0,
            now.0 - 900_000_000_000
        );
        assert_eq!(
            Timestamp::parse_relative("now+1h", now).unwrap().0,
            now.0 + 3_600_000_000_000
        );
        assert!(Timestamp::parse_relative("now*3", now).is_err());
        assert!(Timestamp::parse_relative("yesterday", now).is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration_nanos("250ms").unwrap(), 250_000_000);
        assert_eq!(parse_duration_nanos("1h30m").unwrap(), 5_400_000_000_000);
        assert_eq!(parse_duration_nanos("60").unwrap(), 60_000_000_000);
        assert!(parse_duration_nanos("5 parsecs").is_err());
        assert!(parse_duration_nanos("").is_err());
        assert!(parse_duration_nanos("m").is_err());
    }
}
