//! Typed attribute frames of log blocks (block version 4).
//!
//! A frame holds the record attributes of up to [`FRAME_ROWS`](super::block::FRAME_ROWS)
//! rows, one stream per key (keys sorted). A stream is the key, which rows have it (all, or
//! a bitmap), and its values in the encoding that suits them, chosen per frame:
//!
//! | kind | values | stored as |
//! |---|---|---|
//! | `GENERIC` | anything (mixed types, arrays, maps, bytes) | tagged values, as [`Writer::value`] |
//! | `STR` | strings | their lengths, then their bytes |
//! | `DICT` | strings with few distinct values | the distinct strings, then one index per row |
//! | `HEX` | lower-case hexadecimal strings of one even length (ids) | the bytes they spell |
//! | `INT` | integers | zigzag varints |
//! | `DEC` | doubles that are decimals with at most 6 digits after the point | the decimal scale, then zigzag varints of the scaled integers |
//! | `BOOL` | booleans | a bitmap |
//! | `IPV4` | IPv4 addresses in dotted-quad form | 4 bytes each |
//! | `PREFIX_NUM` | a common prefix followed by a number (`user_123`) | the prefix, then varints |
//!
//! Every encoding gives back exactly the values written (a string that would not come back
//! byte for byte, or a double not exactly the scaled integer over its power of ten, keeps a
//! plainer encoding). Each stream's values are length-prefixed, so a reader skips keys it
//! does not need without decoding them.

use std::collections::HashMap;
use std::fmt::Write as _;

use heimsight_core::{AttributeValue, LogRecord};

use super::codec::{Reader, Writer};
use crate::error::Result;
use crate::hash::FastHash;

const GENERIC: u8 = 0;
const STR: u8 = 1;
const DICT: u8 = 2;
const HEX: u8 = 3;
const INT: u8 = 4;
const DEC: u8 = 5;
const BOOL: u8 = 6;
const IPV4: u8 = 7;
const PREFIX_NUM: u8 = 8;

/// Presence byte: every row of the frame has the key.
const ALL_ROWS: u8 = 1;
/// Presence byte: a bitmap of the rows that have it follows.
const SOME_ROWS: u8 = 0;

/// Largest decimal scale tried for `DEC`.
const MAX_SCALE: u8 = 6;

/// Exact powers of ten as doubles (all below 2^53).
const POW10: [f64; 7] = [1.0, 10.0, 100.0, 1_000.0, 10_000.0, 100_000.0, 1_000_000.0];

fn bitmap_get(bm: &[u8], i: usize) -> bool {
    bm.get(i / 8).is_some_and(|b| b & (1 << (i % 8)) != 0)
}

/// One key's rows (a bitmap) and values, while a frame is encoded.
type Gathered<'a> = (Vec<u8>, Vec<&'a AttributeValue>);

/// Encodes the attributes of the records of one frame.
pub(crate) fn encode_frame(recs: &[LogRecord], w: &mut Writer) {
    let n = recs.len();
    let mut streams: HashMap<&str, Gathered<'_>, FastHash> = HashMap::default();
    for (i, r) in recs.iter().enumerate() {
        for (k, v) in &r.attributes {
            let (bm, vals) = streams
                .entry(k.as_str())
                .or_insert_with(|| (vec![0u8; n.div_ceil(8)], Vec::new()));
            bm[i / 8] |= 1 << (i % 8);
            vals.push(v);
        }
    }
    let mut keys: Vec<(&str, Gathered<'_>)> = streams.into_iter().collect();
    keys.sort_unstable_by(|a, b| a.0.cmp(b.0));
    w.varint(keys.len() as u64);
    let mut payload = Writer::default();
    for (k, (bm, vals)) in &keys {
        w.str(k);
        if vals.len() == n {
            w.u8(ALL_ROWS);
        } else {
            w.u8(SOME_ROWS);
            w.raw(bm);
        }
        payload.buf.clear();
        let kind = encode_values(vals, &mut payload);
        w.u8(kind);
        w.bytes(&payload.buf);
    }
}

/// The values as `T`, when `get` gives one for every value.
fn all_of<'a, T>(
    vals: &[&'a AttributeValue],
    get: impl Fn(&'a AttributeValue) -> Option<T>,
) -> Option<Vec<T>> {
    vals.iter().map(|v| get(v)).collect()
}

/// Encodes values in the best-suited kind; returns the kind.
fn encode_values(vals: &[&AttributeValue], w: &mut Writer) -> u8 {
    use AttributeValue as V;
    if let Some(strs) = all_of(vals, |v| match v {
        V::String(s) => Some(s.as_str()),
        _ => None,
    }) {
        return encode_strings(&strs, w);
    }
    if let Some(ints) = all_of(vals, |v| match v {
        V::Int(i) => Some(*i),
        _ => None,
    }) {
        for i in ints {
            w.zigzag(i);
        }
        return INT;
    }
    if let Some(bools) = all_of(vals, |v| match v {
        V::Bool(b) => Some(*b),
        _ => None,
    }) {
        let mut bm = vec![0u8; bools.len().div_ceil(8)];
        for (i, _) in bools.iter().enumerate().filter(|(_, b)| **b) {
            bm[i / 8] |= 1 << (i % 8);
        }
        w.raw(&bm);
        return BOOL;
    }
    if let Some(ds) = all_of(vals, |v| match v {
        V::Double(d) => Some(*d),
        _ => None,
    }) && let Some(scale) = decimal_scale(&ds)
    {
        w.u8(scale);
        let p = POW10[scale as usize];
        for d in ds {
            w.zigzag((d * p).round() as i64);
        }
        return DEC;
    }
    for v in vals {
        w.value(v);
    }
    GENERIC
}

/// The smallest scale `s` at which every double is exactly an integer below 2^53 divided by
/// 10^s, if there is one up to [`MAX_SCALE`].
fn decimal_scale(ds: &[f64]) -> Option<u8> {
    let fits = |s: u8| {
        let p = POW10[s as usize];
        ds.iter().all(|&d| {
            let m = (d * p).round();
            m.abs() < 9_007_199_254_740_992.0 && ((m as i64) as f64 / p).to_bits() == d.to_bits()
        })
    };
    (0..=MAX_SCALE).find(|&s| fits(s))
}

/// Encodes strings; returns the kind.
fn encode_strings(strs: &[&str], w: &mut Writer) -> u8 {
    let m = strs.len();
    // Few distinct values: a dictionary.
    let mut distinct: HashMap<&str, u32, FastHash> = HashMap::default();
    let mut items: Vec<&str> = Vec::new();
    for s in strs {
        if !distinct.contains_key(s) {
            distinct.insert(s, items.len() as u32);
            items.push(s);
            if items.len() > m / 4 {
                break;
            }
        }
    }
    if items.len() <= m / 4 {
        w.varint(items.len() as u64);
        for s in &items {
            w.str(s);
        }
        let wide = items.len() > 256;
        for s in strs {
            let i = distinct[s];
            if wide {
                w.varint(u64::from(i));
            } else {
                w.u8(i as u8);
            }
        }
        return DICT;
    }
    if let Some(width) = hex_width(strs) {
        w.varint(width as u64);
        for s in strs {
            let b = s.as_bytes();
            for pair in b.chunks_exact(2) {
                w.u8((hex_digit(pair[0]) << 4) | hex_digit(pair[1]));
            }
        }
        return HEX;
    }
    if strs.iter().all(|s| ipv4(s).is_some()) {
        for s in strs {
            w.raw(&ipv4(s).unwrap_or_default());
        }
        return IPV4;
    }
    if let Some(prefix) = number_prefix(strs) {
        w.str(prefix);
        for s in strs {
            w.varint(s[prefix.len()..].parse::<u64>().unwrap_or(0));
        }
        return PREFIX_NUM;
    }
    let mut lens = Writer::with_capacity(m * 2);
    for s in strs {
        lens.varint(s.len() as u64);
    }
    w.bytes(&lens.buf);
    for s in strs {
        w.raw(s.as_bytes());
    }
    STR
}

fn hex_digit(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        _ => b - b'a' + 10,
    }
}

/// The byte width when every string is lower-case hex of one even length of 8 or more.
fn hex_width(strs: &[&str]) -> Option<usize> {
    let len = strs.first()?.len();
    let ok = len >= 8
        && len % 2 == 0
        && strs.iter().all(|s| {
            s.len() == len
                && s.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        });
    ok.then_some(len / 2)
}

/// The address, when `s` is an IPv4 address written exactly as it is printed back: four
/// decimal numbers up to 255 without leading zeros, joined by dots.
fn ipv4(s: &str) -> Option<[u8; 4]> {
    let mut out = [0u8; 4];
    let mut parts = s.split('.');
    for o in &mut out {
        let p = parts.next()?.as_bytes();
        if p.is_empty() || p.len() > 3 || (p.len() > 1 && p[0] == b'0') {
            return None;
        }
        let mut v = 0u32;
        for &b in p {
            if !b.is_ascii_digit() {
                return None;
            }
            v = v * 10 + u32::from(b - b'0');
        }
        *o = u8::try_from(v).ok()?;
    }
    parts.next().is_none().then_some(out)
}

/// The common prefix when every string is that prefix (not ending in a digit) followed by a
/// number that prints back the same (no leading zeros, below 2^64).
fn number_prefix<'a>(strs: &[&'a str]) -> Option<&'a str> {
    let first = strs.first()?;
    let cut = first.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    let prefix = &first[..cut];
    let ok = strs.iter().all(|s| {
        s.strip_prefix(prefix).is_some_and(|digits| {
            !digits.is_empty()
                && digits.len() <= 19
                && digits.bytes().all(|b| b.is_ascii_digit())
                && (digits == "0" || !digits.starts_with('0'))
        })
    });
    ok.then_some(prefix)
}

/// One key's stream of a parsed frame.
#[derive(Debug)]
pub(crate) struct KeyStream<'a> {
    pub(crate) key: &'a str,
    /// The rows of the frame that have the key, `None` for all of them.
    bitmap: Option<&'a [u8]>,
    kind: u8,
    payload: &'a [u8],
}

/// Parses a frame of `n` rows into its key streams (values not decoded).
pub(crate) fn parse_frame(data: &[u8], n: usize) -> Result<Vec<KeyStream<'_>>> {
    let mut r = Reader::new(data, "log attributes");
    let nk = r.len()?;
    let mut out = Vec::with_capacity(nk.min(1024));
    for _ in 0..nk {
        let key = r.str()?;
        let bitmap = match r.u8()? {
            ALL_ROWS => None,
            SOME_ROWS => Some(r.take(n.div_ceil(8))?),
            p => return Err(r.corrupt(format!("unknown presence {p}"))),
        };
        let kind = r.u8()?;
        if kind > PREFIX_NUM {
            return Err(r.corrupt(format!("unknown attribute kind {kind}")));
        }
        let payload = r.bytes()?;
        out.push(KeyStream {
            key,
            bitmap,
            kind,
            payload,
        });
    }
    Ok(out)
}

/// The text of a string value at hand, borrowed or rendered into a scratch buffer.
pub(crate) enum Text<'a> {
    /// A top-level string value.
    Str(&'a [u8]),
    /// A value that is not a string.
    Other,
}

impl<'a> KeyStream<'a> {
    /// The rows (of `0..n`) that have the key, in order.
    pub(crate) fn rows(&self, n: usize) -> impl Iterator<Item = usize> + '_ {
        (0..n).filter(move |&i| self.bitmap.is_none_or(|bm| bitmap_get(bm, i)))
    }

    /// Whether the stream's values are all strings kept as their bytes (so a search of
    /// the raw payload finds every word of them).
    pub(crate) fn strings_in_payload(&self) -> bool {
        matches!(self.kind, STR | DICT | GENERIC)
    }

    /// The raw payload (see [`KeyStream::strings_in_payload`]).
    pub(crate) fn payload(&self) -> &'a [u8] {
        self.payload
    }

    /// Calls `f(k, value)` for each `k` whose row `rows[k]` (ascending, of a frame of `n`
    /// rows) has the key. The values of other rows are skipped, many at a time, without
    /// being decoded.
    pub(crate) fn for_each_at(
        &self,
        n: usize,
        rows: &[usize],
        mut f: impl FnMut(usize, AttributeValue),
    ) -> Result<()> {
        let mut c = Cursor::new(self)?;
        // The cursor's place among the rows having the key, and the frame row it is at.
        let (mut cur, mut cur_row) = (0usize, 0usize);
        for (k, &row) in rows.iter().enumerate() {
            if row >= n || row < cur_row {
                return Err(c.r.corrupt("rows out of order or range"));
            }
            let j = match self.bitmap {
                None => row,
                Some(bm) => {
                    if !bitmap_get(bm, row) {
                        continue;
                    }
                    cur + (cur_row..row).filter(|&i| bitmap_get(bm, i)).count()
                }
            };
            c.skip_n(j - cur)?;
            f(k, c.value()?);
            cur = j + 1;
            cur_row = row + 1;
        }
        Ok(())
    }

    /// Calls `f(row, text)` for each row of `0..n` having the key, with the text of string
    /// values (ids, addresses and prefixed numbers rendered as they were written); other
    /// values are [`Text::Other`].
    pub(crate) fn for_each_text(
        &self,
        n: usize,
        mut f: impl FnMut(usize, Text<'_>) -> Result<()>,
    ) -> Result<()> {
        let mut c = Cursor::new(self)?;
        let mut scratch = String::new();
        for row in self.rows(n) {
            match c.kind {
                STR | DICT => f(row, Text::Str(c.str_bytes()?))?,
                HEX | IPV4 | PREFIX_NUM => {
                    scratch.clear();
                    c.render(&mut scratch)?;
                    f(row, Text::Str(scratch.as_bytes()))?;
                }
                GENERIC => {
                    if c.r.peek_u8()? == 0 {
                        c.r.u8()?;
                        f(row, Text::Str(c.r.bytes()?))?;
                    } else {
                        c.r.skip_value()?;
                        f(row, Text::Other)?;
                    }
                }
                _ => {
                    c.skip_n(1)?;
                    f(row, Text::Other)?;
                }
            }
        }
        Ok(())
    }
}

/// Reads a stream's values one after the other.
struct Cursor<'a> {
    kind: u8,
    r: Reader<'a>,
    /// `STR`: the lengths; `DICT`: the indexes.
    aux: Reader<'a>,
    items: Vec<&'a [u8]>,
    wide: bool,
    width: usize,
    scale: f64,
    prefix: &'a str,
    bools: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn new(s: &KeyStream<'a>) -> Result<Self> {
        let mut r = Reader::new(s.payload, "log attribute values");
        let mut c = Cursor {
            kind: s.kind,
            r: Reader::new(&[], "log attribute values"),
            aux: Reader::new(&[], "log attribute values"),
            items: Vec::new(),
            wide: false,
            width: 0,
            scale: 1.0,
            prefix: "",
            bools: &[],
            at: 0,
        };
        match s.kind {
            STR => {
                c.aux = Reader::new(r.bytes()?, "log attribute value lengths");
            }
            DICT => {
                let nd = r.len()?;
                for _ in 0..nd {
                    c.items.push(r.bytes()?);
                }
                c.wide = nd > 256;
            }
            HEX => {
                c.width = r.len()?;
            }
            DEC => {
                let scale = r.u8()?;
                c.scale = *POW10
                    .get(scale as usize)
                    .ok_or_else(|| r.corrupt(format!("decimal scale {scale}")))?;
            }
            PREFIX_NUM => {
                c.prefix = r.str()?;
            }
            BOOL => {
                c.bools = s.payload;
            }
            _ => {}
        }
        c.r = r;
        Ok(c)
    }

    /// The bytes of the next `STR` or `DICT` value.
    fn str_bytes(&mut self) -> Result<&'a [u8]> {
        if self.kind == STR {
            let len = self.aux.len()?;
            return self.r.take(len);
        }
        let i = if self.wide {
            self.r.len()?
        } else {
            self.r.u8()? as usize
        };
        self.items
            .get(i)
            .copied()
            .ok_or_else(|| self.r.corrupt("dictionary index out of range"))
    }

    /// Writes the text of the next `HEX`, `IPV4` or `PREFIX_NUM` value.
    fn render(&mut self, out: &mut String) -> Result<()> {
        match self.kind {
            HEX => {
                for b in self.r.take(self.width)? {
                    let _ = write!(out, "{b:02x}");
                }
            }
            IPV4 => {
                let b = self.r.take(4)?;
                let _ = write!(out, "{}.{}.{}.{}", b[0], b[1], b[2], b[3]);
            }
            _ => {
                let v = self.r.varint()?;
                let _ = write!(out, "{}{v}", self.prefix);
            }
        }
        Ok(())
    }

    fn value(&mut self) -> Result<AttributeValue> {
        let v = match self.kind {
            STR | DICT => {
                let b = self.str_bytes()?;
                AttributeValue::String(
                    std::str::from_utf8(b)
                        .map_err(|_| self.r.corrupt("invalid UTF-8"))?
                        .to_string(),
                )
            }
            HEX | IPV4 | PREFIX_NUM => {
                let mut s = String::new();
                self.render(&mut s)?;
                AttributeValue::String(s)
            }
            INT => AttributeValue::Int(self.r.zigzag()?),
            DEC => AttributeValue::Double(self.r.zigzag()? as f64 / self.scale),
            BOOL => {
                if self.at >= self.bools.len() * 8 {
                    return Err(self.r.corrupt("more values than the bitmap holds"));
                }
                AttributeValue::Bool(bitmap_get(self.bools, self.at))
            }
            _ => self.r.value()?,
        };
        self.at += 1;
        Ok(v)
    }

    /// Skips the next `k` values.
    fn skip_n(&mut self, k: usize) -> Result<()> {
        if k == 0 {
            return Ok(());
        }
        let too_many = |r: &Reader<'_>| r.corrupt("more values than the stream holds");
        match self.kind {
            STR => {
                let mut total = 0usize;
                for _ in 0..k {
                    total = total
                        .checked_add(self.aux.len()?)
                        .ok_or_else(|| too_many(&self.aux))?;
                }
                self.r.take(total)?;
            }
            DICT if !self.wide => {
                self.r.take(k)?;
            }
            HEX | IPV4 => {
                let width = if self.kind == HEX { self.width } else { 4 };
                let bytes = width.checked_mul(k).ok_or_else(|| too_many(&self.r))?;
                self.r.take(bytes)?;
            }
            DICT | INT | DEC | PREFIX_NUM => self.r.skip_varints(k)?,
            BOOL => {}
            _ => {
                for _ in 0..k {
                    self.r.skip_value()?;
                }
            }
        }
        self.at += k;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use heimsight_core::{Attributes, Level, Timestamp};

    fn rec(attrs: Vec<(&str, AttributeValue)>) -> LogRecord {
        let mut r = LogRecord::new(Timestamp(1), Level::Info, "m");
        for (k, v) in attrs {
            r.attributes.insert(k.into(), v);
        }
        r
    }

    fn round_trip(recs: &[LogRecord]) -> (Vec<Attributes>, Vec<(String, u8)>) {
        let mut w = Writer::default();
        encode_frame(recs, &mut w);
        let streams = parse_frame(&w.buf, recs.len()).unwrap();
        let kinds = streams
            .iter()
            .map(|s| (s.key.to_string(), s.kind))
            .collect();
        let mut out = vec![Attributes::new(); recs.len()];
        for s in &streams {
            let all: Vec<usize> = (0..recs.len()).collect();
            s.for_each_at(recs.len(), &all, |row, v| {
                out[row].insert(s.key.to_string(), v);
            })
            .unwrap();
            // Every few rows: the same values.
            let some: Vec<usize> = (0..recs.len()).filter(|i| i % 7 == 3).collect();
            s.for_each_at(recs.len(), &some, |k, v| {
                let want = &recs[some[k]].attributes[s.key];
                match (want, &v) {
                    (AttributeValue::Double(a), AttributeValue::Double(b)) => {
                        assert_eq!(a.to_bits(), b.to_bits(), "{}", s.key);
                    }
                    _ => assert_eq!(want, &v, "{}", s.key),
                }
            })
            .unwrap();
        }
        (out, kinds)
    }

    #[test]
    fn every_kind_gives_back_the_values_written() {
        use AttributeValue as V;
        let recs: Vec<LogRecord> = (0..300)
            .map(|i| {
                let mut a = vec![
                    ("id", V::String(format!("{:016x}", i * 7919 + 0xabc0_0000))),
                    ("method", V::String(["GET", "POST"][i % 2].into())),
                    ("user", V::String(format!("user_{}", i * 13))),
                    (
                        "ip",
                        V::String(format!("10.{}.{}.{}", i % 8, i % 256, i % 200)),
                    ),
                    ("status", V::Int([200, 404, -1][i % 3])),
                    ("ms", V::Double((i as f64 * 1.37 * 1000.0).round() / 1000.0)),
                    ("ratio", V::Double(1.0 / (i as f64 + 3.0))),
                    ("free", V::String(format!("free text {i} é"))),
                    (
                        "mixed",
                        if i % 2 == 0 {
                            V::Int(1)
                        } else {
                            V::String("x".into())
                        },
                    ),
                    ("arr", V::Array(vec![V::Int(i as i64), V::Bool(true)])),
                ];
                if i % 3 == 0 {
                    a.push(("hit", V::Bool(i % 2 == 0)));
                }
                if i == 5 {
                    a.push(("neg0", V::Double(-0.0)));
                    a.push(("nan", V::Double(f64::NAN)));
                }
                rec(a)
            })
            .collect();
        let (out, kinds) = round_trip(&recs);
        for (r, got) in recs.iter().zip(&out) {
            // NaN is not equal to itself: compare bit patterns of doubles.
            assert_eq!(r.attributes.len(), got.len());
            for (k, v) in &r.attributes {
                match (v, &got[k]) {
                    (V::Double(a), V::Double(b)) => assert_eq!(a.to_bits(), b.to_bits(), "{k}"),
                    (a, b) => assert_eq!(a, b, "{k}"),
                }
            }
        }
        let want = [
            ("id", HEX),
            ("method", DICT),
            ("user", PREFIX_NUM),
            ("ip", IPV4),
            ("status", INT),
            ("ms", DEC),
            ("ratio", GENERIC),
            ("free", STR),
            ("mixed", GENERIC),
            ("arr", GENERIC),
            ("hit", BOOL),
            ("neg0", GENERIC),
            ("nan", GENERIC),
        ];
        for (k, kind) in want {
            let got = kinds.iter().find(|(n, _)| n == k).unwrap().1;
            assert_eq!(got, kind, "{k}");
        }
    }

    #[test]
    fn look_alike_strings_keep_their_exact_text() {
        use AttributeValue as V;
        // Each column is of one compact kind but for one value, which would not print back
        // the same in it.
        type Make = fn(usize) -> String;
        let cols: Vec<(&str, Make, &str, u8)> = vec![
            ("hex", |i| format!("{i:016x}"), "0123456789ABCDEF", HEX),
            ("ip", |i| format!("10.0.0.{i}"), "10.0.0.01", IPV4),
            ("num", |i| format!("user_{i}"), "user_01", PREFIX_NUM),
            ("num2", |i| format!("user_{i}"), "user_", PREFIX_NUM),
            (
                "num3",
                |i| format!("a{i}"),
                "a99999999999999999999",
                PREFIX_NUM,
            ),
        ];
        for (k, make, odd, compact) in cols {
            let plain: Vec<LogRecord> = (0..40)
                .map(|i| rec(vec![(k, V::String(make(i)))]))
                .collect();
            assert_eq!(round_trip(&plain).1[0].1, compact, "{k}");
            let mut recs = plain;
            recs[7] = rec(vec![(k, V::String(odd.into()))]);
            let (out, kinds) = round_trip(&recs);
            assert_eq!(kinds[0].1, STR, "{k}");
            for (r, got) in recs.iter().zip(&out) {
                assert_eq!(r.attributes, *got, "{k}");
            }
        }
    }

    #[test]
    fn only_canonical_dotted_quads_are_addresses() {
        assert_eq!(ipv4("10.0.255.1"), Some([10, 0, 255, 1]));
        assert_eq!(ipv4("0.0.0.0"), Some([0, 0, 0, 0]));
        for bad in [
            "10.0.0",
            "10.0.0.1.2",
            "10.0.0.256",
            "10.0.0.01",
            "10..0.1",
            "1a.0.0.1",
            "",
            "+1.0.0.1",
            "10.0.0.1 ",
            "1000.0.0.1",
        ] {
            assert_eq!(ipv4(bad), None, "{bad}");
        }
    }

    #[test]
    fn texts_are_the_written_strings() {
        use AttributeValue as V;
        let recs: Vec<LogRecord> = (0..64)
            .map(|i| {
                rec(vec![
                    ("id", V::String(format!("{:016x}", i * 1_000_003))),
                    ("ip", V::String(format!("192.0.2.{i}"))),
                    ("n", V::Int(i as i64)),
                ])
            })
            .collect();
        let mut w = Writer::default();
        encode_frame(&recs, &mut w);
        for s in parse_frame(&w.buf, recs.len()).unwrap() {
            s.for_each_text(recs.len(), |row, t| {
                match (&recs[row].attributes[s.key], t) {
                    (V::String(want), Text::Str(got)) => assert_eq!(want.as_bytes(), got),
                    (V::Int(_), Text::Other) => {}
                    (v, _) => panic!("{v:?}"),
                }
                Ok(())
            })
            .unwrap();
        }
    }

    #[test]
    fn corrupt_frames_are_errors_not_panics() {
        let recs: Vec<LogRecord> = (0..50)
            .map(|i| {
                rec(vec![
                    ("a", AttributeValue::String(format!("{:016x}", i))),
                    ("b", AttributeValue::Bool(i % 2 == 0)),
                ])
            })
            .collect();
        let mut w = Writer::default();
        encode_frame(&recs, &mut w);
        for cut in 0..w.buf.len() {
            if let Ok(streams) = parse_frame(&w.buf[..cut], recs.len()) {
                for s in streams {
                    let _ = s.for_each_at(recs.len(), &[0, 3, 49], |_, _| {});
                }
            }
        }
        for i in 0..w.buf.len() {
            let mut b = w.buf.clone();
            b[i] ^= 0xff;
            if let Ok(streams) = parse_frame(&b, recs.len()) {
                for s in streams {
                    let _ = s.for_each_at(recs.len(), &[0, 3, 49], |_, _| {});
                    let _ = s.for_each_text(recs.len(), |_, _| Ok(()));
                }
            }
        }
    }
}
