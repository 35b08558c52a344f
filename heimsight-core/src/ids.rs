//! Trace and span identifiers.

use std::fmt;
use std::str::FromStr;

/// Lower-case hex of `bytes`.
pub fn hex_encode(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    s
}

/// Decodes hex (either case) into exactly `N` bytes.
pub fn hex_decode<const N: usize>(s: &str) -> Result<[u8; N], String> {
    let b = s.as_bytes();
    if b.len() != N * 2 {
        return Err(format!(
            "expected {} hex characters ({N} bytes), found {}",
            N * 2,
            b.len()
        ));
    }
    let mut out = [0u8; N];
    for (i, chunk) in b.chunks_exact(2).enumerate() {
        let hi = hex_val(chunk[0]);
        let lo = hex_val(chunk[1]);
        match (hi, lo) {
            (Some(h), Some(l)) => out[i] = (h << 4) | l,
            _ => return Err(format!("not a hex string: {s:?}")),
        }
    }
    Ok(out)
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

macro_rules! id_type {
    ($name:ident, $n:expr, $what:expr) => {
        #[doc = concat!("A ", $what, " of ", stringify!($n), " bytes, written as ", stringify!($n), "×2 lower-case hex characters. All zeros is invalid.")]
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub [u8; $n]);

        impl $name {
            /// The raw bytes.
            pub fn as_bytes(&self) -> &[u8; $n] {
                &self.0
            }

            /// Builds from a byte slice, which must be exactly the right length and not all zeros.
            pub fn from_slice(b: &[u8]) -> Result<Self, String> {
                let arr: [u8; $n] = b.try_into().map_err(|_| {
                    format!("expected {} bytes, found {}", $n, b.len())
                })?;
                if arr == [0u8; $n] {
                    return Err(concat!("an all-zero ", $what, " is invalid").to_string());
                }
                Ok($name(arr))
            }

            /// Lower-case hex.
            pub fn to_hex(&self) -> String {
                hex_encode(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                let arr = hex_decode::<$n>(s)?;
                $name::from_slice(&arr)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.to_hex())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_hex())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

id_type!(TraceId, 16, "trace id");
id_type!(SpanId, 8, "span id");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_id_round_trips_and_rejects_bad_lengths() {
        let t: TraceId = "5B8EFFF798038103D269B633813FC60C".parse().unwrap();
        assert_eq!(t.to_hex(), "5b8efff798038103d269b633813fc60c");
        assert!("abc".parse::<TraceId>().unwrap_err().contains("32 hex"));
        assert!(
            "00000000000000000000000000000000"
                .parse::<TraceId>()
                .is_err()
        );
        assert!(
            "zz8efff798038103d269b633813fc60c"
                .parse::<TraceId>()
                .is_err()
        );
        let s: SpanId = "eee19b7ec3c1b174".parse().unwrap();
        assert_eq!(s.to_string(), "eee19b7ec3c1b174");
    }
}
