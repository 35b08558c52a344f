//! Backpressure: the in-flight budget of ingestion, and reading request bodies against it.
//!
//! Every ingestion request (OTLP/HTTP, OTLP/gRPC, `POST /api/v1/*`) reserves budget for the
//! bytes it holds — the body as received, and the decompressed body when it was compressed —
//! while it is received, decoded and stored, and gives it back when it is answered. Budget is
//! reserved without waiting: when it is spent, the request is turned away at once (HTTP 429,
//! gRPC `UNAVAILABLE`), so the memory held by ingestion stays a constant multiple of the budget
//! however many clients send at once.

use std::future::poll_fn;
use std::io::Read;
use std::pin::Pin;
use std::sync::Arc;

use axum::body::{Body, Bytes, HttpBody};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long a throttled client is asked to wait before retrying (`Retry-After`, `RetryInfo`).
pub const RETRY_AFTER_SECS: u64 = 1;

/// The in-flight budget of ingestion, in bytes, shared by every ingestion endpoint of a
/// [`HeimsightServer`](crate::HeimsightServer) (see
/// [`ServerConfig::ingest_budget_bytes`](crate::ServerConfig::ingest_budget_bytes)).
///
/// Cloning is cheap; clones share the budget.
///
/// ```
/// use heimsight_server::IngestBudget;
///
/// let budget = IngestBudget::new(1000);
/// let held = budget.try_reserve(600).expect("free");
/// assert_eq!(budget.available(), 400);
/// assert!(budget.try_reserve(500).is_none());
/// drop(held);
/// assert_eq!(budget.available(), 1000);
/// ```
#[derive(Debug, Clone)]
pub struct IngestBudget {
    semaphore: Arc<Semaphore>,
    total: usize,
}

impl IngestBudget {
    /// A budget of `total_bytes` (at most [`MAX_INGEST_BUDGET_BYTES`](crate::config::MAX_INGEST_BUDGET_BYTES);
    /// larger values are clamped).
    pub fn new(total_bytes: usize) -> IngestBudget {
        let total = total_bytes.min(Semaphore::MAX_PERMITS);
        IngestBudget {
            semaphore: Arc::new(Semaphore::new(total)),
            total,
        }
    }

    /// The whole budget in bytes.
    pub fn total(&self) -> usize {
        self.total
    }

    /// The bytes not reserved right now.
    pub fn available(&self) -> usize {
        self.semaphore.available_permits()
    }

    /// The bytes reserved by requests in flight right now.
    pub fn in_flight(&self) -> usize {
        self.total.saturating_sub(self.available())
    }

    /// Reserves `bytes` without waiting; `None` when fewer are available. The reservation
    /// lasts until the permit is dropped.
    pub fn try_reserve(&self, bytes: usize) -> Option<BudgetPermit> {
        let mut permit = BudgetPermit {
            semaphore: Arc::clone(&self.semaphore),
            permit: None,
            bytes: 0,
        };
        permit.grow(bytes).then_some(permit)
    }

    /// An empty reservation that can [`grow`](BudgetPermit::grow).
    fn empty_permit(&self) -> BudgetPermit {
        BudgetPermit {
            semaphore: Arc::clone(&self.semaphore),
            permit: None,
            bytes: 0,
        }
    }
}

/// Budget reserved by [`IngestBudget::try_reserve`]; given back when dropped.
#[derive(Debug)]
pub struct BudgetPermit {
    semaphore: Arc<Semaphore>,
    permit: Option<OwnedSemaphorePermit>,
    bytes: usize,
}

impl BudgetPermit {
    /// The bytes this permit holds.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Reserves `more` bytes too, without waiting; false (and nothing reserved) when fewer are
    /// available.
    pub fn grow(&mut self, more: usize) -> bool {
        if more == 0 {
            return true;
        }
        let Ok(n) = u32::try_from(more) else {
            // Beyond 4 GiB at once: in pieces, all or nothing.
            let mut extra = BudgetPermit {
                semaphore: Arc::clone(&self.semaphore),
                permit: None,
                bytes: 0,
            };
            let mut left = more;
            while left > 0 {
                let piece = left.min(u32::MAX as usize);
                if !extra.grow(piece) {
                    return false;
                }
                left -= piece;
            }
            self.absorb(extra);
            return true;
        };
        match Arc::clone(&self.semaphore).try_acquire_many_owned(n) {
            Ok(p) => {
                match &mut self.permit {
                    Some(mine) => mine.merge(p),
                    None => self.permit = Some(p),
                }
                self.bytes += more;
                true
            }
            Err(_) => false,
        }
    }

    /// Gives back `fewer` bytes (all of them when it holds fewer).
    pub fn shrink(&mut self, fewer: usize) {
        let fewer = fewer.min(self.bytes);
        if let Some(p) = &mut self.permit {
            drop(p.split(fewer));
        }
        self.bytes -= fewer;
    }

    fn absorb(&mut self, mut other: BudgetPermit) {
        if let Some(p) = other.permit.take() {
            match &mut self.permit {
                Some(mine) => mine.merge(p),
                None => self.permit = Some(p),
            }
        }
        self.bytes += std::mem::take(&mut other.bytes);
    }
}

/// Which limit a request went over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Limit {
    /// `max_body_bytes`, on the body as received.
    Body,
    /// `max_body_bytes`, on the decompressed body.
    Decompressed,
    /// The whole ingest budget.
    Budget,
}

/// Why a request body could not be taken in.
#[derive(Debug)]
pub(crate) enum BodyError {
    /// Over a limit: 413 (gRPC `RESOURCE_EXHAUSTED` without retry information).
    TooLarge {
        /// The limit in bytes.
        limit: usize,
        /// Which limit.
        which: Limit,
    },
    /// The budget is spent for now: 429 (gRPC `UNAVAILABLE`).
    Throttled {
        /// The whole budget, for the message.
        budget: usize,
    },
    /// The body could not be read (the connection failed…): 400.
    Read(String),
    /// The body is not valid gzip: 400.
    BadGzip(String),
}

impl BodyError {
    /// The message of this error, for people.
    pub(crate) fn message(&self) -> String {
        match self {
            BodyError::TooLarge { limit, which } => match which {
                Limit::Body => format!(
                    "request body too large: the limit is {limit} bytes (max_body_bytes); \
                     split the batch into smaller requests"
                ),
                Limit::Decompressed => format!(
                    "request body too large once decompressed: the limit is {limit} bytes \
                     (max_body_bytes) after decompression; split the batch into smaller requests"
                ),
                Limit::Budget => format!(
                    "request too large for the ingest budget: it needs more than the whole \
                     budget of {limit} bytes (ingest_budget_bytes); split the batch into smaller \
                     requests"
                ),
            },
            BodyError::Throttled { budget } => format!(
                "ingestion is at capacity (the in-flight budget of {budget} bytes, \
                 ingest_budget_bytes, is in use); retry after {RETRY_AFTER_SECS} s"
            ),
            BodyError::Read(e) => format!("could not read the request body: {e}"),
            BodyError::BadGzip(e) => {
                format!(
                    "the body is declared as gzip (Content-Encoding) but is not valid gzip: {e}"
                )
            }
        }
    }

    /// The error of a failed reservation of `needed` bytes in total: over the whole budget, or
    /// just not now.
    pub(crate) fn no_budget(budget: &IngestBudget, needed: usize) -> BodyError {
        if needed > budget.total() {
            BodyError::TooLarge {
                limit: budget.total(),
                which: Limit::Budget,
            }
        } else {
            BodyError::Throttled {
                budget: budget.total(),
            }
        }
    }
}

/// The length a request declares in `Content-Length`, if it is a number.
pub(crate) fn declared_length(headers: &axum::http::HeaderMap) -> Option<u64> {
    headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
}

/// Reads a whole request body of at most `limit` bytes, reserving budget for it as it arrives
/// (all at once when the length is declared, or known from the body). The permit holds the
/// body's bytes.
///
/// When the budget runs out part-way through a body of unknown length, what was read is let
/// go and the rest is read and counted without being kept, to tell a request that needs more
/// than the whole budget (413) from one that merely came at a busy time (429).
pub(crate) async fn read_body(
    mut body: Body,
    budget: &IngestBudget,
    limit: usize,
    declared: Option<u64>,
) -> Result<(Bytes, BudgetPermit), BodyError> {
    let declared = declared.or_else(|| body.size_hint().exact());
    let mut permit = budget.empty_permit();
    if let Some(len) = declared {
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        if len > limit {
            return Err(BodyError::TooLarge {
                limit,
                which: Limit::Body,
            });
        }
        if !permit.grow(len) {
            return Err(BodyError::no_budget(budget, len));
        }
    }
    let mut buf: Vec<u8> = Vec::new();
    let mut first: Option<Bytes> = None;
    // Bytes seen, and whether they are still kept (false once the budget ran out).
    let mut total = 0usize;
    let mut keeping = true;
    loop {
        let frame = poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await;
        let Some(frame) = frame else { break };
        let frame = frame.map_err(|e| BodyError::Read(e.to_string()))?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        if data.is_empty() {
            continue;
        }
        total += data.len();
        if total > limit {
            return Err(BodyError::TooLarge {
                limit,
                which: Limit::Body,
            });
        }
        if !keeping {
            if total > budget.total() {
                return Err(BodyError::no_budget(budget, total));
            }
            continue;
        }
        if total > permit.bytes() && !permit.grow(total - permit.bytes()) {
            if total > budget.total() {
                return Err(BodyError::no_budget(budget, total));
            }
            keeping = false;
            first = None;
            buf = Vec::new();
            permit = budget.empty_permit();
            continue;
        }
        // One frame (the usual case for small bodies) is kept as it is, without a copy.
        if buf.is_empty() && first.is_none() {
            first = Some(data);
        } else {
            if let Some(f) = first.take() {
                buf.reserve(declared_capacity(declared, limit).max(total));
                buf.extend_from_slice(&f);
            }
            buf.extend_from_slice(&data);
        }
    }
    if !keeping {
        return Err(BodyError::Throttled {
            budget: budget.total(),
        });
    }
    let bytes = match first {
        Some(f) => f,
        None => Bytes::from(buf),
    };
    // A declared length larger than the body gives the rest back.
    if permit.bytes() > bytes.len() {
        permit.shrink(permit.bytes() - bytes.len());
    }
    Ok((bytes, permit))
}

fn declared_capacity(declared: Option<u64>, limit: usize) -> usize {
    declared
        .and_then(|d| usize::try_from(d).ok())
        .unwrap_or(0)
        .min(limit)
}

/// Decompresses a gzip body of at most `limit` bytes once decompressed, appending to `out`
/// (which may hold a prefix already), and reserving budget on `permit` for what `out` grows
/// by.
pub(crate) fn gunzip_into(
    data: &[u8],
    out: &mut Vec<u8>,
    limit: usize,
    permit: &mut BudgetPermit,
    budget: &IngestBudget,
) -> Result<(), BodyError> {
    let start = out.len();
    let mut decoder = flate2::read::MultiGzDecoder::new(data);
    let mut chunk = vec![0u8; 64 * 1024];
    // What `out`'s capacity beyond the prefix is charged for.
    let mut charged = 0usize;
    loop {
        let n = match decoder.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(BodyError::BadGzip(e.to_string())),
        };
        let len = out.len() - start + n;
        if len > limit {
            return Err(BodyError::TooLarge {
                limit,
                which: Limit::Decompressed,
            });
        }
        if len > charged {
            // Grow by doubling (capped at the limit), and pay for the capacity first.
            let want = (charged * 2).max(len).max(64 * 1024).min(limit);
            if !permit.grow(want - charged) {
                return Err(BodyError::no_budget(
                    budget,
                    permit.bytes() + want - charged,
                ));
            }
            out.reserve_exact(start + want - out.len());
            charged = want;
        }
        out.extend_from_slice(&chunk[..n]);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::io::Write;

    use super::*;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn permits_grow_shrink_and_give_back() {
        let budget = IngestBudget::new(100);
        let mut p = budget.try_reserve(10).unwrap();
        assert!(p.grow(80));
        assert_eq!(p.bytes(), 90);
        assert!(!p.grow(11));
        assert_eq!(budget.available(), 10);
        p.shrink(50);
        assert_eq!(budget.available(), 60);
        assert_eq!(budget.in_flight(), 40);
        drop(p);
        assert_eq!(budget.available(), 100);
        assert!(budget.try_reserve(101).is_none());
        assert_eq!(budget.try_reserve(0).unwrap().bytes(), 0);
    }

    #[tokio::test]
    async fn bodies_are_charged_and_limited() {
        let budget = IngestBudget::new(1000);
        let (b, p) = read_body(Body::from(vec![7u8; 300]), &budget, 500, None)
            .await
            .unwrap();
        assert_eq!(b.len(), 300);
        assert_eq!(p.bytes(), 300);
        assert_eq!(budget.available(), 700);
        let e = read_body(Body::from(vec![7u8; 501]), &budget, 500, None)
            .await
            .unwrap_err();
        assert!(matches!(
            e,
            BodyError::TooLarge {
                which: Limit::Body,
                ..
            }
        ));
        let e = read_body(Body::from(vec![7u8; 10]), &budget, 500, Some(501))
            .await
            .unwrap_err();
        assert!(matches!(e, BodyError::TooLarge { .. }));
        let _hold = budget.try_reserve(500).unwrap();
        let e = read_body(Body::from(vec![7u8; 300]), &budget, 500, None)
            .await
            .unwrap_err();
        assert!(matches!(e, BodyError::Throttled { .. }), "{e:?}");
        // Nothing leaked by the failed attempts.
        drop(p);
        drop(_hold);
        assert_eq!(budget.available(), 1000);
        // Bigger than the whole budget: 413, not 429.
        let small = IngestBudget::new(100);
        let e = read_body(Body::from(vec![7u8; 300]), &small, 500, None)
            .await
            .unwrap_err();
        assert!(
            matches!(
                e,
                BodyError::TooLarge {
                    which: Limit::Budget,
                    limit: 100
                }
            ),
            "{e:?}"
        );
    }

    #[test]
    fn gunzip_charges_and_caps_the_decompressed_size() {
        let budget = IngestBudget::new(10 << 20);
        let data = vec![b'a'; 300_000];
        let gz = gzip(&data);
        let mut permit = budget.try_reserve(0).unwrap();
        let mut out = b"hdr".to_vec();
        gunzip_into(&gz, &mut out, 1 << 20, &mut permit, &budget).unwrap();
        assert_eq!(&out[3..], &data[..]);
        assert!(permit.bytes() >= 300_000 && permit.bytes() <= 1 << 20);
        // A bomb stops at the limit.
        let mut out = Vec::new();
        let e = gunzip_into(&gz, &mut out, 100_000, &mut permit, &budget).unwrap_err();
        assert!(matches!(
            e,
            BodyError::TooLarge {
                which: Limit::Decompressed,
                ..
            }
        ));
        assert!(out.capacity() <= 200_000);
        let e = gunzip_into(b"not gzip", &mut Vec::new(), 100, &mut permit, &budget).unwrap_err();
        assert!(matches!(e, BodyError::BadGzip(_)));
        drop(permit);
        assert_eq!(budget.available(), 10 << 20);
    }
}
