//! Metric points not yet cut into chunks (the head), and the chunk format.
//!
//! Every append writes its points as one entry of the point log (column family `point_log`,
//! key: a sequence number) in the same RocksDB write as the series it registers, so an
//! acknowledged point is in the WAL, and adds them to the in-memory [`Head`], grouped by
//! series. A background thread (and retention, compaction) cuts the head into one chunk per
//! series and day (column family `points`, key: day · series id · sequence) and deletes the
//! log entries the chunks cover, in one atomic write. Reopening a store replays the log into
//! the head. So a batch of 2,000 points costs one RocksDB put instead of 2,000, and stored
//! points are compressed together: timestamps as delta-of-delta varints, plain numbers as
//! XOR with the previous value (Gorilla-style, at byte granularity).
//!
//! A point with the same series and timestamp as an earlier one replaces it: readers merge
//! chunks (in sequence order), then the head being cut, then the live head, and keep the last
//! point of each timestamp.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use super::codec::{Reader, Writer};
use crate::error::Result;

/// Version byte of chunk values.
const CHUNK_VERSION: u8 = 1;
/// Version byte of point log entries.
pub(crate) const LOG_VERSION: u8 = 1;

/// Points of one series in arrival order: timestamps, and encoded points (value and extras,
/// see `encode_point`) concatenated in one buffer.
#[derive(Debug, Default)]
pub(crate) struct HeadSeries {
    ts: Vec<i64>,
    ends: Vec<u32>,
    data: Vec<u8>,
}

impl HeadSeries {
    pub(crate) fn push(&mut self, ts: i64, encoded: &[u8]) {
        self.ts.push(ts);
        self.data.extend_from_slice(encoded);
        self.ends.push(self.data.len() as u32);
    }

    pub(crate) fn len(&self) -> usize {
        self.ts.len()
    }

    /// The i-th point: timestamp and encoded bytes.
    pub(crate) fn get(&self, i: usize) -> (i64, &[u8]) {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        (self.ts[i], &self.data[start..self.ends[i] as usize])
    }

    /// Indices of the points in timestamp order, keeping only the last-written point of each
    /// timestamp.
    pub(crate) fn sorted_unique(&self) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..self.len()).collect();
        // Stable: equal timestamps stay in arrival order, so the last one wins below.
        idx.sort_by_key(|&i| self.ts[i]);
        let mut out: Vec<usize> = Vec::with_capacity(idx.len());
        for i in idx {
            match out.last_mut() {
                Some(last) if self.ts[*last] == self.ts[i] => *last = i,
                _ => out.push(i),
            }
        }
        out
    }

    /// The encoding of the last-written point at `ts`, if any.
    pub(crate) fn last_at(&self, ts: i64) -> Option<&[u8]> {
        (0..self.len())
            .rev()
            .find(|&i| self.ts[i] == ts)
            .map(|i| self.get(i).1)
    }

    /// The points in `[start, end)` in arrival order: timestamp and encoded point.
    pub(crate) fn points_in(&self, start: i64, end: i64) -> impl Iterator<Item = (i64, &[u8])> {
        (0..self.len())
            .map(|i| self.get(i))
            .filter(move |(ts, _)| *ts >= start && *ts < end)
    }
}

/// Points not yet in chunks, by series id, and the point log entries they came from.
#[derive(Debug, Default)]
pub(crate) struct Head {
    pub(crate) series: HashMap<u64, HeadSeries>,
    /// Bytes held (timestamps, offsets and encoded points).
    pub(crate) bytes: usize,
    /// First and last point log sequence numbers whose points are here.
    pub(crate) log_range: Option<(u64, u64)>,
    /// When the first point arrived.
    pub(crate) since: Option<Instant>,
}

impl Head {
    /// Adds the points of log entry `seq`: `(series id, timestamp, encoded point)`.
    pub(crate) fn add<'a>(&mut self, seq: u64, points: impl Iterator<Item = (u64, i64, &'a [u8])>) {
        for (id, ts, enc) in points {
            self.series.entry(id).or_default().push(ts, enc);
            self.bytes += 12 + enc.len();
        }
        self.log_range = Some(match self.log_range {
            Some((first, last)) => (first.min(seq), last.max(seq)),
            None => (seq, seq),
        });
        self.since.get_or_insert_with(Instant::now);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.log_range.is_none()
    }
}

/// The live head and, while it is being cut into chunks, the previous one.
#[derive(Debug, Default)]
pub(crate) struct Heads {
    pub(crate) live: Head,
    pub(crate) cutting: Option<Arc<Head>>,
}

/// Starts a point log entry of `n` points; the caller then writes each point's series id
/// (varint), timestamp (zigzag) and encoded point (length-prefixed).
pub(crate) fn encode_log_entry(w: &mut Writer, n: usize) {
    w.u8(LOG_VERSION);
    w.varint(n as u64);
}

/// Decodes a point log entry: calls `f` with each `(series id, timestamp, encoded point)`.
pub(crate) fn decode_log_entry<'a>(
    b: &'a [u8],
    mut f: impl FnMut(u64, i64, &'a [u8]),
) -> Result<()> {
    let mut r = Reader::new(b, "point log entry");
    let v = r.u8()?;
    if v != LOG_VERSION {
        return Err(r.corrupt(format!("unknown point log version {v}")));
    }
    let n = r.varint()?;
    for _ in 0..n {
        let id = r.varint()?;
        let ts = r.zigzag()?;
        let enc = r.bytes()?;
        f(id, ts, enc);
    }
    Ok(())
}

/// True for an encoded point that is a plain number without extras (`encode_point` writes
/// tag 0 and the 8 bytes of the float).
fn plain_number(enc: &[u8]) -> Option<u64> {
    match enc {
        [0, rest @ ..] if rest.len() == 8 => {
            let mut b = [0u8; 8];
            b.copy_from_slice(rest);
            Some(u64::from_le_bytes(b))
        }
        _ => None,
    }
}

/// Encodes a chunk from points sorted by timestamp with unique timestamps.
///
/// Layout: version, count, min and max timestamp, encoding (0: plain numbers, 1: general),
/// first timestamp then delta-of-deltas (zigzag varints), then values: for plain numbers the
/// first float's bits and, for each next one, the XOR with the previous bits as a control
/// byte (leading zero bytes << 4 | trailing zero bytes) and the bytes between; otherwise each
/// encoded point with its length.
pub(crate) fn encode_chunk(points: &[(i64, &[u8])]) -> Vec<u8> {
    let mut w = Writer::with_capacity(16 + points.len() * 4);
    w.u8(CHUNK_VERSION);
    w.varint(points.len() as u64);
    let (min, max) = match (points.first(), points.last()) {
        (Some(f), Some(l)) => (f.0, l.0),
        _ => (0, 0),
    };
    w.zigzag(min);
    w.zigzag(max);
    let plain: Option<Vec<u64>> = points.iter().map(|(_, e)| plain_number(e)).collect();
    w.u8(u8::from(plain.is_none()));
    let (mut prev, mut prev_delta) = (0i64, 0i64);
    for (i, (ts, _)) in points.iter().enumerate() {
        if i == 0 {
            w.zigzag(*ts);
        } else {
            let delta = ts.wrapping_sub(prev);
            w.zigzag(delta.wrapping_sub(prev_delta));
            prev_delta = delta;
        }
        prev = *ts;
    }
    match plain {
        Some(bits) => {
            let mut prev = 0u64;
            for (i, b) in bits.into_iter().enumerate() {
                if i == 0 {
                    w.raw(&b.to_be_bytes());
                } else {
                    let x = b ^ prev;
                    let lead = (x.leading_zeros() / 8) as usize;
                    let trail = if x == 0 {
                        0
                    } else {
                        (x.trailing_zeros() / 8) as usize
                    };
                    w.u8(((lead as u8) << 4) | trail as u8);
                    w.raw(&x.to_be_bytes()[lead..8 - trail]);
                }
                prev = b;
            }
        }
        None => {
            for (_, enc) in points {
                w.bytes(enc);
            }
        }
    }
    w.buf
}

/// The time range of a chunk, from its header.
pub(crate) fn chunk_range(b: &[u8]) -> Result<(i64, i64)> {
    let mut r = Reader::new(b, "metric chunk");
    let v = r.u8()?;
    if v != CHUNK_VERSION {
        return Err(r.corrupt(format!("unknown chunk version {v}")));
    }
    r.varint()?;
    Ok((r.zigzag()?, r.zigzag()?))
}

/// Decodes a chunk, calling `f` with each point's timestamp and encoded point, in timestamp
/// order. Plain numbers are re-encoded into `scratch` as `encode_point` would write them.
pub(crate) fn decode_chunk(b: &[u8], mut f: impl FnMut(i64, &[u8]) -> Result<()>) -> Result<()> {
    let mut r = Reader::new(b, "metric chunk");
    let v = r.u8()?;
    if v != CHUNK_VERSION {
        return Err(r.corrupt(format!("unknown chunk version {v}")));
    }
    let n = r.len()?;
    r.zigzag()?;
    r.zigzag()?;
    let general = match r.u8()? {
        0 => false,
        1 => true,
        e => return Err(r.corrupt(format!("unknown chunk encoding {e}"))),
    };
    let mut stamps = Vec::with_capacity(n.min(1 << 20));
    let (mut prev, mut prev_delta) = (0i64, 0i64);
    for i in 0..n {
        let ts = if i == 0 {
            r.zigzag()?
        } else {
            let delta = prev_delta.wrapping_add(r.zigzag()?);
            prev_delta = delta;
            prev.wrapping_add(delta)
        };
        stamps.push(ts);
        prev = ts;
    }
    if general {
        for ts in stamps {
            f(ts, r.bytes()?)?;
        }
        return Ok(());
    }
    let mut prev = 0u64;
    let mut enc = [0u8; 9];
    for (i, ts) in stamps.into_iter().enumerate() {
        let bits = if i == 0 {
            let mut b = [0u8; 8];
            b.copy_from_slice(r.take(8)?);
            u64::from_be_bytes(b)
        } else {
            let c = r.u8()?;
            let (lead, trail) = ((c >> 4) as usize, (c & 0x0f) as usize);
            if lead + trail > 8 {
                return Err(r.corrupt(format!("bad XOR control byte {c:#x}")));
            }
            let mut b = [0u8; 8];
            b[lead..8 - trail].copy_from_slice(r.take(8 - lead - trail)?);
            prev ^ u64::from_be_bytes(b)
        };
        prev = bits;
        enc[0] = 0;
        enc[1..].copy_from_slice(&bits.to_le_bytes());
        f(ts, &enc)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(x: f64) -> Vec<u8> {
        let mut v = vec![0u8];
        v.extend_from_slice(&x.to_le_bytes());
        v
    }

    fn roundtrip(points: &[(i64, Vec<u8>)]) -> Vec<(i64, Vec<u8>)> {
        let refs: Vec<(i64, &[u8])> = points.iter().map(|(t, e)| (*t, e.as_slice())).collect();
        let chunk = encode_chunk(&refs);
        let mut out = Vec::new();
        decode_chunk(&chunk, |t, e| {
            out.push((t, e.to_vec()));
            Ok(())
        })
        .expect("decodes");
        if let (Some(f), Some(l)) = (points.first(), points.last()) {
            assert_eq!(chunk_range(&chunk).expect("range"), (f.0, l.0));
        }
        out
    }

    #[test]
    fn plain_numbers_round_trip_and_compress() {
        let points: Vec<(i64, Vec<u8>)> = (0..1000)
            .map(|i| {
                let v = match i % 7 {
                    0 => f64::NAN,
                    1 => -0.0,
                    2 => f64::INFINITY,
                    _ => 1000.0 + f64::from(i / 10),
                };
                (
                    1_700_000_000_000_000_000 + i64::from(i) * 15_000_000_000,
                    number(v),
                )
            })
            .collect();
        assert_eq!(roundtrip(&points), points);
        let refs: Vec<(i64, &[u8])> = points.iter().map(|(t, e)| (*t, e.as_slice())).collect();
        // 17 bytes per point raw (timestamp + tag + float); far less in a chunk.
        assert!(
            encode_chunk(&refs).len() < 1000 * 6,
            "{}",
            encode_chunk(&refs).len()
        );
    }

    #[test]
    fn general_points_and_edge_timestamps_round_trip() {
        let points = vec![
            (i64::MIN, vec![1, 2, 3]),
            (-5, number(1.5)),
            (0, vec![]),
            (i64::MAX, vec![9; 300]),
        ];
        assert_eq!(roundtrip(&points), points);
        assert_eq!(roundtrip(&[]), vec![]);
        assert_eq!(roundtrip(&[(7, number(2.0))]), vec![(7, number(2.0))]);
    }

    #[test]
    fn corrupt_chunks_are_errors_not_panics() {
        let refs: Vec<(i64, Vec<u8>)> = (0..50).map(|i| (i * 10, number(i as f64))).collect();
        let r: Vec<(i64, &[u8])> = refs.iter().map(|(t, e)| (*t, e.as_slice())).collect();
        let chunk = encode_chunk(&r);
        for cut in 0..chunk.len() {
            let _ = decode_chunk(&chunk[..cut], |_, _| Ok(()));
        }
        let mut bad = chunk.clone();
        for i in 0..bad.len() {
            bad[i] ^= 0xff;
            let _ = decode_chunk(&bad, |_, _| Ok(()));
            bad[i] ^= 0xff;
        }
    }

    #[test]
    fn head_keeps_the_last_point_of_a_timestamp() {
        let mut s = HeadSeries::default();
        s.push(20, &[1]);
        s.push(10, &[2]);
        s.push(20, &[3]);
        let order: Vec<(i64, Vec<u8>)> = s
            .sorted_unique()
            .into_iter()
            .map(|i| {
                let (t, e) = s.get(i);
                (t, e.to_vec())
            })
            .collect();
        assert_eq!(order, vec![(10, vec![2]), (20, vec![3])]);
    }
}
