//! zstd dictionaries for the framed columns of log blocks (messages and attributes).
//!
//! A block's row-heavy columns are compressed in frames of 1,024 rows so that a few records can
//! be read without decompressing whole columns; each frame alone compresses worse than the
//! whole column did, because it starts without history. A dictionary gives every frame that
//! history back: raw content sampled from the records of the first block that stays (merged,
//! or appended large), shared by every later block that stays. Dictionaries are stored in the
//! default column family under `heimsight.log_dict.` · id, in the same write batch as the first
//! block using them, loaded at open, and never deleted (a few tens of KiB each). A block names
//! its dictionary in its header (block version 3).

use std::sync::Arc;

use heimsight_core::LogRecord;
use zstd::dict::DecoderDictionary;

use super::block::{BLOCK_VERSION, N_COLS, dict_content};
use super::codec::{Reader, Writer};
use crate::error::Result;

/// Key prefix of stored dictionaries.
pub(crate) const KEY_PREFIX: &[u8] = b"heimsight.log_dict.";
/// Bytes of raw content sampled per column.
const BUDGET: usize = 64 << 10;

/// The key of dictionary `id`.
pub(crate) fn key(id: u32) -> Vec<u8> {
    let mut k = KEY_PREFIX.to_vec();
    k.extend_from_slice(&id.to_be_bytes());
    k
}

/// The dictionaries of one id: per block column, raw content or none.
pub(crate) struct ColumnDicts {
    pub(crate) id: u32,
    raw: Vec<Vec<u8>>,
    /// Prepared for decompression. Leaked on purpose: thread-local decompressors reference
    /// them for the life of the process, and a store makes a handful at most.
    dec: Vec<Option<&'static DecoderDictionary<'static>>>,
}

impl std::fmt::Debug for ColumnDicts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sizes: Vec<usize> = self.raw.iter().map(Vec::len).collect();
        write!(f, "ColumnDicts {{ id: {}, sizes: {sizes:?} }}", self.id)
    }
}

impl ColumnDicts {
    fn new(id: u32, raw: Vec<Vec<u8>>) -> Self {
        let dec = raw
            .iter()
            .map(|d| (!d.is_empty()).then(|| &*Box::leak(Box::new(DecoderDictionary::copy(d)))))
            .collect();
        ColumnDicts { id, raw, dec }
    }

    /// Dictionaries sampled from `recs` for the columns that get one (see
    /// [`dict_content`]).
    pub(crate) fn sample(id: u32, recs: &[LogRecord]) -> Self {
        Self::sample_version(id, recs, BLOCK_VERSION)
    }

    /// [`ColumnDicts::sample`] for blocks of format `version`.
    pub(crate) fn sample_version(id: u32, recs: &[LogRecord], version: u8) -> Self {
        let raw = (0..N_COLS as u8)
            .map(|col| {
                let full = dict_content(col, recs, version).len();
                if full == 0 {
                    return Vec::new();
                }
                // Every k-th record, so the sample spans the whole block.
                let step = (full / BUDGET).max(1);
                let picked: Vec<LogRecord> = recs.iter().step_by(step).cloned().collect();
                let mut d = dict_content(col, &picked, version);
                d.truncate(BUDGET);
                d
            })
            .collect();
        Self::new(id, raw)
    }

    /// The raw content for column `col`, if it has a dictionary.
    pub(crate) fn raw(&self, col: u8) -> Option<&[u8]> {
        self.raw
            .get(col as usize)
            .filter(|d| !d.is_empty())
            .map(Vec::as_slice)
    }

    /// The prepared decompression dictionary for column `col`, if any.
    pub(crate) fn decoder(&self, col: u8) -> Option<&'static DecoderDictionary<'static>> {
        self.dec.get(col as usize).copied().flatten()
    }

    /// The stored form.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.u8(1);
        w.varint(self.raw.len() as u64);
        for d in &self.raw {
            w.bytes(d);
        }
        w.buf
    }

    /// Decodes a stored dictionary set.
    pub(crate) fn decode(id: u32, b: &[u8]) -> Result<Arc<Self>> {
        let mut r = Reader::new(b, "log block dictionary");
        let v = r.u8()?;
        if v != 1 {
            return Err(r.corrupt(format!("unknown dictionary version {v}")));
        }
        let n = r.len()?;
        let mut raw = Vec::with_capacity(n.min(64));
        for _ in 0..n {
            raw.push(r.bytes()?.to_vec());
        }
        Ok(Arc::new(Self::new(id, raw)))
    }
}
