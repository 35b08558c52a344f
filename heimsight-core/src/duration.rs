//! [`Duration`]: the one text form of a span of time — `250ms`, `15m`, `1h30m`, `7d`,
//! `1.5h`, `-5m` — shared by configuration, the REST API, alert rules, the CLI and the query
//! language's output.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};

/// Units of the text form, largest first: name and nanoseconds.
const UNITS: [(&str, i64); 8] = [
    ("w", 604_800_000_000_000),
    ("d", 86_400_000_000_000),
    ("h", 3_600_000_000_000),
    ("m", 60_000_000_000),
    ("s", 1_000_000_000),
    ("ms", 1_000_000),
    ("us", 1_000),
    ("ns", 1),
];

/// A span of time in nanoseconds, which may be negative.
///
/// Text form (parse with [`FromStr`], write with [`Display`](fmt::Display), the same in serde):
/// an optional `-`, then one or more *number unit* pairs, the number an integer or a decimal
/// fraction, the unit one of `ns`, `us` (or `µs`), `ms`, `s`, `m`, `h`, `d`, `w`. A bare integer
/// is seconds. Written back it uses `d`, `h`, `m`, `s`, `ms`, `us`, `ns`, largest first, each at
/// most once (`90m` → `1h30m`, `36h` → `1d12h`, `1.5s` → `1s500ms`), `0s` for zero; what
/// `Display` writes parses back to the same duration.
///
/// ```
/// use heimsight_core::Duration;
///
/// let d: Duration = "1h30m".parse()?;
/// assert_eq!(d.as_nanos(), 5_400_000_000_000);
/// assert_eq!(d.to_string(), "1h30m");
/// assert_eq!("1.5h".parse::<Duration>()?, d);
/// assert_eq!("-90s".parse::<Duration>()?.to_string(), "-1m30s");
/// assert_eq!("2w".parse::<Duration>()?.to_string(), "14d");
/// assert_eq!("60".parse::<Duration>()?, Duration::from_secs(60));
/// assert!("5 parsecs".parse::<Duration>().is_err());
/// assert_eq!(d.to_std(), Some(std::time::Duration::from_secs(5400)));
/// # Ok::<(), heimsight_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(i64);

impl Duration {
    /// No time at all.
    pub const ZERO: Duration = Duration(0);

    /// `nanos` nanoseconds.
    pub const fn from_nanos(nanos: i64) -> Duration {
        Duration(nanos)
    }

    /// `millis` milliseconds (saturating).
    pub const fn from_millis(millis: i64) -> Duration {
        Duration(millis.saturating_mul(1_000_000))
    }

    /// `secs` seconds (saturating).
    pub const fn from_secs(secs: i64) -> Duration {
        Duration(secs.saturating_mul(1_000_000_000))
    }

    /// The duration in nanoseconds.
    pub const fn as_nanos(self) -> i64 {
        self.0
    }

    /// Whether it is longer than zero.
    pub const fn is_positive(self) -> bool {
        self.0 > 0
    }

    /// As a [`std::time::Duration`]; `None` when negative.
    pub fn to_std(self) -> Option<std::time::Duration> {
        u64::try_from(self.0)
            .ok()
            .map(std::time::Duration::from_nanos)
    }

    /// From a [`std::time::Duration`], saturating at `i64::MAX` nanoseconds (292 years).
    pub fn from_std(d: std::time::Duration) -> Duration {
        Duration(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
    }

    /// Parses the text form (see the type's documentation).
    pub fn parse(input: &str) -> Result<Duration> {
        let err = || Error::Duration {
            input: input.to_string(),
        };
        let s = input.trim();
        let (negative, s) = match s.strip_prefix('-') {
            Some(rest) => (true, rest.trim_start()),
            None => (false, s),
        };
        if s.is_empty() {
            return Err(err());
        }
        // The magnitude, in i128 so that `-9223372036854775808ns` (i64::MIN) fits.
        let magnitude: i128 = if s.bytes().all(|b| b.is_ascii_digit()) {
            s.parse::<i128>()
                .ok()
                .and_then(|n| n.checked_mul(1_000_000_000))
                .ok_or_else(err)?
        } else {
            let mut total: i128 = 0;
            let mut rest = s;
            while !rest.is_empty() {
                let digits = rest
                    .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                    .ok_or_else(err)?;
                let number = &rest[..digits];
                rest = &rest[digits..];
                let unit_len = rest
                    .find(|c: char| c.is_ascii_digit() || c == '.')
                    .unwrap_or(rest.len());
                let unit = &rest[..unit_len];
                rest = &rest[unit_len..];
                let size = match unit {
                    "us" | "µs" => 1_000,
                    _ => UNITS
                        .iter()
                        .find(|(name, _)| *name == unit)
                        .map(|(_, size)| *size)
                        .ok_or_else(err)?,
                };
                total = total
                    .checked_add(part(number, size).ok_or_else(err)?)
                    .filter(|t| *t <= i128::from(i64::MAX) + 1)
                    .ok_or_else(err)?;
            }
            total
        };
        let signed = if negative { -magnitude } else { magnitude };
        i64::try_from(signed).map(Duration).map_err(|_| err())
    }
}

/// `number` (digits with at most one `.`, at least one digit) times `size` nanoseconds,
/// exactly: the fraction is taken digit by digit, so `1.1s` is 1,100,000,000 ns.
fn part(number: &str, size: i64) -> Option<i128> {
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() || fraction.contains('.') {
        return None;
    }
    let whole: i128 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut nanos = whole.checked_mul(i128::from(size))?;
    let mut scale = size;
    for digit in fraction.bytes() {
        scale /= 10;
        if scale == 0 {
            break;
        }
        nanos = nanos.checked_add(i128::from((digit - b'0') as i64 * scale))?;
    }
    Some(nanos)
}

impl FromStr for Duration {
    type Err = Error;

    fn from_str(s: &str) -> Result<Duration> {
        Duration::parse(s)
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("0s");
        }
        if self.0 < 0 {
            f.write_str("-")?;
        }
        let mut rest = self.0.unsigned_abs();
        // Weeks are read but not written: `14d` says more than `2w`.
        for (unit, size) in &UNITS[1..] {
            let size = size.unsigned_abs();
            let n = rest / size;
            if n > 0 {
                write!(f, "{n}{unit}")?;
                rest %= size;
            }
        }
        Ok(())
    }
}

impl From<std::time::Duration> for Duration {
    fn from(d: std::time::Duration) -> Duration {
        Duration::from_std(d)
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    /// The text form, or an integer number of seconds.
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Duration, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Duration;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as 15m, 1h30m or 7d")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<Duration, E> {
                Duration::parse(v).map_err(E::custom)
            }

            fn visit_i64<E: serde::de::Error>(self, v: i64) -> std::result::Result<Duration, E> {
                Ok(Duration::from_secs(v))
            }

            fn visit_u64<E: serde::de::Error>(self, v: u64) -> std::result::Result<Duration, E> {
                Ok(Duration::from_secs(i64::try_from(v).unwrap_or(i64::MAX)))
            }
        }
        d.deserialize_any(Visitor)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn d(s: &str) -> i64 {
        Duration::parse(s).unwrap().as_nanos()
    }

    #[test]
    fn parses_units_fractions_days_and_signs() {
        assert_eq!(d("250ms"), 250_000_000);
        assert_eq!(d("1h30m"), 5_400_000_000_000);
        assert_eq!(d("60"), 60_000_000_000);
        assert_eq!(d(" 7d "), 7 * 86_400_000_000_000);
        assert_eq!(d("2w"), 14 * 86_400_000_000_000);
        assert_eq!(d("1.5h"), 5_400_000_000_000);
        assert_eq!(d("0.1s"), 100_000_000);
        assert_eq!(d(".5s"), 500_000_000);
        assert_eq!(d("1.1s"), 1_100_000_000, "exact, not through f64");
        assert_eq!(
            d("1.0000000001s"),
            1_000_000_000,
            "below a nanosecond is dropped"
        );
        assert_eq!(d("5µs"), 5_000);
        assert_eq!(d("-5m"), -300_000_000_000);
        assert_eq!(d("- 5m"), -300_000_000_000);
        assert_eq!(d("0s"), 0);
        for bad in [
            "",
            "-",
            "m",
            "5 parsecs",
            "1..5s",
            "1.2.3s",
            "5mm",
            "s5",
            "--5m",
            "1e3s",
            "99999999999999999999s",
            "300000w",
            "1h-5m",
        ] {
            assert!(Duration::parse(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn writes_what_it_reads() {
        for (text, written) in [
            ("90m", "1h30m"),
            ("36h", "1d12h"),
            ("1.5s", "1s500ms"),
            ("0ms", "0s"),
            ("-90s", "-1m30s"),
            ("2w", "14d"),
            ("1d1ns", "1d1ns"),
            ("3723004005006ns", "1h2m3s4ms5us6ns"),
        ] {
            let parsed = Duration::parse(text).unwrap();
            assert_eq!(parsed.to_string(), written, "{text}");
            assert_eq!(Duration::parse(written).unwrap(), parsed, "{written}");
        }
        for nanos in [1, -1, i64::MAX, i64::MIN, 86_400_000_000_001] {
            let d = Duration::from_nanos(nanos);
            assert_eq!(Duration::parse(&d.to_string()).unwrap(), d, "{nanos}");
        }
    }

    #[test]
    fn serde_and_std() {
        let d: Duration = serde_json::from_str("\"15m\"").unwrap();
        assert_eq!(d, Duration::from_secs(900));
        assert_eq!(serde_json::to_string(&d).unwrap(), "\"15m\"");
        let d: Duration = serde_json::from_str("30").unwrap();
        assert_eq!(d, Duration::from_secs(30));
        let e = serde_json::from_str::<Duration>("\"soon\"").unwrap_err();
        assert!(e.to_string().contains("invalid duration \"soon\""), "{e}");
        assert_eq!(Duration::from_nanos(-1).to_std(), None);
        assert_eq!(
            Duration::from(std::time::Duration::from_millis(1500)).to_string(),
            "1s500ms"
        );
    }
}
