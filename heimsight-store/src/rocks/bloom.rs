//! A plain Bloom filter over 64-bit hashes (xxh3), with double hashing.

use xxhash_rust::xxh3::xxh3_64_with_seed;

use super::codec::{Reader, Writer};
use crate::error::Result;

/// Hash seeds separate the kinds of keys sharing one filter.
pub(crate) const SEED_TOKEN: u64 = 1;
pub(crate) const SEED_ATTR: u64 = 2;
pub(crate) const SEED_TRACE: u64 = 3;
/// Tokens of string attribute values (record and resource), apart from message tokens.
pub(crate) const SEED_ATTR_TOKEN: u64 = 4;

/// A Bloom filter.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Bloom {
    words: Vec<u64>,
    k: u32,
}

/// The hash of a key of some kind.
pub(crate) fn hash(seed: u64, key: &[u8]) -> u64 {
    xxh3_64_with_seed(key, seed)
}

impl Bloom {
    /// A filter sized for `n` distinct keys at `bits_per_key`.
    pub(crate) fn with_capacity(n: usize, bits_per_key: usize) -> Self {
        let bits = (n * bits_per_key).max(64);
        let words = bits.div_ceil(64);
        // k = ln2 * bits/key, between 1 and 8.
        let k = ((bits_per_key as f64) * 0.69).round().clamp(1.0, 8.0) as u32;
        Bloom {
            words: vec![0; words],
            k,
        }
    }

    /// Builds a filter from distinct hashes.
    pub(crate) fn from_hashes(hashes: &[u64], bits_per_key: usize) -> Self {
        let mut b = Bloom::with_capacity(hashes.len(), bits_per_key);
        for h in hashes {
            b.insert(*h);
        }
        b
    }

    fn positions(&self, h: u64) -> impl Iterator<Item = usize> + '_ {
        let m = (self.words.len() * 64) as u64;
        let h1 = h;
        let h2 = h.rotate_left(32) | 1;
        (0..u64::from(self.k)).map(move |i| (h1.wrapping_add(i.wrapping_mul(h2)) % m) as usize)
    }

    pub(crate) fn insert(&mut self, h: u64) {
        let pos: Vec<usize> = self.positions(h).collect();
        for p in pos {
            self.words[p / 64] |= 1 << (p % 64);
        }
    }

    /// False only when the key is certainly absent.
    pub(crate) fn may_contain(&self, h: u64) -> bool {
        self.positions(h)
            .all(|p| self.words[p / 64] & (1 << (p % 64)) != 0)
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.varint(u64::from(self.k));
        w.varint(self.words.len() as u64);
        for x in &self.words {
            w.raw(&x.to_le_bytes());
        }
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self> {
        let k = u32::try_from(r.varint()?).map_err(|_| r.corrupt("bad bloom k"))?;
        let n = r.len()?;
        let raw = r.take(n.checked_mul(8).ok_or_else(|| r.corrupt("bloom size"))?)?;
        let words = raw
            .chunks_exact(8)
            .map(|c| {
                let mut a = [0u8; 8];
                a.copy_from_slice(c);
                u64::from_le_bytes(a)
            })
            .collect::<Vec<_>>();
        if words.is_empty() || k == 0 {
            return Err(r.corrupt("empty bloom filter"));
        }
        Ok(Bloom { words, k })
    }

    /// Skips an encoded filter, checking it as [`decode`](Self::decode) does but without
    /// copying its bits.
    pub(crate) fn skip(r: &mut Reader<'_>) -> Result<()> {
        let k = r.varint()?;
        let n = r.len()?;
        r.take(n.checked_mul(8).ok_or_else(|| r.corrupt("bloom size"))?)?;
        if n == 0 || k == 0 || u32::try_from(k).is_err() {
            return Err(r.corrupt("bad bloom filter"));
        }
        Ok(())
    }

    /// Heap size in bytes.
    pub(crate) fn size_bytes(&self) -> usize {
        self.words.len() * 8
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn no_false_negatives_and_few_false_positives() {
        let hashes: Vec<u64> = (0..10_000u32)
            .map(|i| hash(SEED_TOKEN, &i.to_le_bytes()))
            .collect();
        let b = Bloom::from_hashes(&hashes, 10);
        assert!(hashes.iter().all(|h| b.may_contain(*h)));
        let fp = (10_000..110_000u32)
            .filter(|i| b.may_contain(hash(SEED_TOKEN, &i.to_le_bytes())))
            .count();
        assert!(fp < 3_000, "false positive rate too high: {fp}/100000");
        let mut w = Writer::default();
        b.encode(&mut w);
        let mut r = Reader::new(&w.buf, "bloom");
        assert_eq!(Bloom::decode(&mut r).unwrap(), b);
    }
}
