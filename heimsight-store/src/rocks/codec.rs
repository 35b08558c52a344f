//! A small binary codec: varints, strings, typed attribute values. Every read is checked and
//! reports corruption instead of panicking.

use heimsight_core::{AttributeValue, Attributes, Scope};

use crate::error::{Error, Result};

/// Appends encoded values to a buffer.
#[derive(Debug, Default)]
pub(crate) struct Writer {
    pub(crate) buf: Vec<u8>,
}

impl Writer {
    pub(crate) fn with_capacity(n: usize) -> Self {
        Writer {
            buf: Vec::with_capacity(n),
        }
    }

    pub(crate) fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    pub(crate) fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.buf.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
    }

    pub(crate) fn zigzag(&mut self, v: i64) {
        self.varint(((v << 1) ^ (v >> 63)) as u64);
    }

    pub(crate) fn f64(&mut self, v: f64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub(crate) fn bytes(&mut self, b: &[u8]) {
        self.varint(b.len() as u64);
        self.buf.extend_from_slice(b);
    }

    pub(crate) fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }

    pub(crate) fn raw(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }

    pub(crate) fn value(&mut self, v: &AttributeValue) {
        match v {
            AttributeValue::String(s) => {
                self.u8(0);
                self.str(s);
            }
            AttributeValue::Bool(b) => self.u8(if *b { 2 } else { 1 }),
            AttributeValue::Int(i) => {
                self.u8(3);
                self.zigzag(*i);
            }
            AttributeValue::Double(d) => {
                self.u8(4);
                self.f64(*d);
            }
            AttributeValue::Bytes(b) => {
                self.u8(5);
                self.bytes(b);
            }
            AttributeValue::Array(a) => {
                self.u8(6);
                self.varint(a.len() as u64);
                for x in a {
                    self.value(x);
                }
            }
            AttributeValue::KvList(m) => {
                self.u8(7);
                self.attributes(m);
            }
        }
    }

    pub(crate) fn attributes(&mut self, a: &Attributes) {
        self.varint(a.len() as u64);
        for (k, v) in a {
            self.str(k);
            self.value(v);
        }
    }

    pub(crate) fn scope(&mut self, s: &Scope) {
        self.str(&s.name);
        self.str(&s.version);
        self.attributes(&s.attributes);
    }
}

/// Reads values written by [`Writer`].
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8], what: &'static str) -> Self {
        Reader { buf, pos: 0, what }
    }

    pub(crate) fn corrupt(&self, reason: impl Into<String>) -> Error {
        Error::Corrupt {
            what: self.what,
            reason: format!("{} at byte {}", reason.into(), self.pos),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// The next byte, without consuming it.
    pub(crate) fn peek_u8(&self) -> Result<u8> {
        self.buf
            .get(self.pos)
            .copied()
            .ok_or_else(|| self.corrupt("unexpected end"))
    }

    pub(crate) fn u8(&mut self) -> Result<u8> {
        let b = *self
            .buf
            .get(self.pos)
            .ok_or_else(|| self.corrupt("unexpected end"))?;
        self.pos += 1;
        Ok(b)
    }

    pub(crate) fn varint(&mut self) -> Result<u64> {
        let mut v = 0u64;
        let mut shift = 0;
        loop {
            let b = self.u8()?;
            if shift >= 64 {
                return Err(self.corrupt("varint too long"));
            }
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
            shift += 7;
        }
    }

    /// Skips `k` varints without decoding them.
    pub(crate) fn skip_varints(&mut self, k: usize) -> Result<()> {
        if k == 0 {
            return Ok(());
        }
        let mut left = k;
        let rest = &self.buf[self.pos.min(self.buf.len())..];
        for (i, &b) in rest.iter().enumerate() {
            if b < 0x80 {
                left -= 1;
                if left == 0 {
                    self.pos += i + 1;
                    return Ok(());
                }
            }
        }
        Err(self.corrupt("unexpected end"))
    }

    /// Reads a varint and returns its encoded bytes.
    pub(crate) fn varint_raw(&mut self) -> Result<&'a [u8]> {
        let start = self.pos;
        self.varint()?;
        Ok(&self.buf[start..self.pos])
    }

    pub(crate) fn len(&mut self) -> Result<usize> {
        let n = self.varint()?;
        let n = usize::try_from(n).map_err(|_| self.corrupt("length overflow"))?;
        if n > self.buf.len() - self.pos.min(self.buf.len()) + (1 << 20) {
            // Counts of items can exceed remaining bytes only slightly (bools are 1 byte);
            // anything far larger is corruption, not a reason to allocate.
            return Err(self.corrupt("length larger than the data"));
        }
        Ok(n)
    }

    pub(crate) fn zigzag(&mut self) -> Result<i64> {
        let v = self.varint()?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }

    pub(crate) fn f64(&mut self) -> Result<f64> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(f64::from_le_bytes(a))
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.buf.len())
            .ok_or_else(|| self.corrupt("unexpected end"))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    pub(crate) fn bytes(&mut self) -> Result<&'a [u8]> {
        let n = self.len()?;
        self.take(n)
    }

    pub(crate) fn str(&mut self) -> Result<&'a str> {
        let b = self.bytes()?;
        std::str::from_utf8(b).map_err(|_| self.corrupt("invalid UTF-8"))
    }

    pub(crate) fn string(&mut self) -> Result<String> {
        self.str().map(str::to_string)
    }

    pub(crate) fn value(&mut self) -> Result<AttributeValue> {
        self.value_depth(0)
    }

    fn value_depth(&mut self, depth: u32) -> Result<AttributeValue> {
        if depth > 64 {
            return Err(self.corrupt("attribute nesting too deep"));
        }
        Ok(match self.u8()? {
            0 => AttributeValue::String(self.string()?),
            1 => AttributeValue::Bool(false),
            2 => AttributeValue::Bool(true),
            3 => AttributeValue::Int(self.zigzag()?),
            4 => AttributeValue::Double(self.f64()?),
            5 => AttributeValue::Bytes(self.bytes()?.to_vec()),
            6 => {
                let n = self.len()?;
                let mut a = Vec::with_capacity(n.min(1024));
                for _ in 0..n {
                    a.push(self.value_depth(depth + 1)?);
                }
                AttributeValue::Array(a)
            }
            7 => AttributeValue::KvList(self.attributes_depth(depth + 1)?),
            t => return Err(self.corrupt(format!("unknown value tag {t}"))),
        })
    }

    /// Skips one value without building it.
    pub(crate) fn skip_value(&mut self) -> Result<()> {
        self.skip_value_depth(0)
    }

    fn skip_value_depth(&mut self, depth: u32) -> Result<()> {
        if depth > 64 {
            return Err(self.corrupt("attribute nesting too deep"));
        }
        match self.u8()? {
            0 | 5 => {
                self.bytes()?;
            }
            1 | 2 => {}
            3 => {
                self.varint()?;
            }
            4 => {
                self.take(8)?;
            }
            6 => {
                for _ in 0..self.len()? {
                    self.skip_value_depth(depth + 1)?;
                }
            }
            7 => {
                for _ in 0..self.len()? {
                    self.bytes()?;
                    self.skip_value_depth(depth + 1)?;
                }
            }
            t => return Err(self.corrupt(format!("unknown value tag {t}"))),
        }
        Ok(())
    }

    pub(crate) fn attributes(&mut self) -> Result<Attributes> {
        self.attributes_depth(0)
    }

    fn attributes_depth(&mut self, depth: u32) -> Result<Attributes> {
        let n = self.len()?;
        let mut a = Attributes::new();
        for _ in 0..n {
            let k = self.string()?;
            let v = self.value_depth(depth)?;
            a.insert(k, v);
        }
        Ok(a)
    }

    pub(crate) fn scope(&mut self) -> Result<Scope> {
        Ok(Scope {
            name: self.string()?,
            version: self.string()?,
            attributes: self.attributes()?,
        })
    }
}

/// Big-endian order-preserving encoding of a signed timestamp.
pub(crate) fn ts_key(ts: i64) -> [u8; 8] {
    ((ts as u64) ^ (1 << 63)).to_be_bytes()
}

/// Inverse of [`ts_key`].
pub(crate) fn ts_from_key(b: &[u8]) -> Option<i64> {
    let a: [u8; 8] = b.get(..8)?.try_into().ok()?;
    Some((u64::from_be_bytes(a) ^ (1 << 63)) as i64)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn round_trips_values_and_rejects_garbage() {
        let mut a = Attributes::new();
        a.insert("s".into(), "x".into());
        a.insert("i".into(), AttributeValue::Int(-5));
        a.insert("d".into(), AttributeValue::Double(1.5));
        a.insert("b".into(), AttributeValue::Bytes(vec![1, 2]));
        a.insert(
            "a".into(),
            AttributeValue::Array(vec![AttributeValue::Bool(true)]),
        );
        a.insert("m".into(), AttributeValue::KvList(a.clone()));
        let mut w = Writer::default();
        w.attributes(&a);
        w.zigzag(i64::MIN);
        let mut r = Reader::new(&w.buf, "test");
        assert_eq!(r.attributes().unwrap(), a);
        assert_eq!(r.zigzag().unwrap(), i64::MIN);
        assert!(r.is_empty());
        for cut in 0..w.buf.len() {
            let mut r = Reader::new(&w.buf[..cut], "test");
            assert!(r.attributes().is_err() || r.zigzag().is_err());
        }
        assert!(ts_key(-1) < ts_key(0) && ts_key(0) < ts_key(1));
        assert_eq!(ts_from_key(&ts_key(-77)), Some(-77));
    }
}
