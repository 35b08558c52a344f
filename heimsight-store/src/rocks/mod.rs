//! The embedded RocksDB backend.
//!
//! # Layout (on-disk format version 2)
//!
//! | column family | key | value |
//! |---|---|---|
//! | `default` | `heimsight.format` | format version (u32 BE) |
//! | `log_blocks` | hour (u32 BE) · min ts · block seq (u64 BE) | a block of up to 16,384 records, column by column, each zstd-compressed |
//! | `log_summaries` | same key | block summary: time range, per-service level counts, records per second, Bloom filter of tokens, attribute pairs and trace ids |
//! | `spans` | day (u32 BE) · trace id · span id | one span |
//! | `traces` | day · start ts · trace id | trace summary (for searches, newest first) |
//! | `trace_starts` | trace id | start ts of the trace's summary key |
//! | `span_index` | day · service (length-prefixed) · start ts · trace id · span id | parent id, kind, status code, duration, name: enough for most span queries without reading the span |
//! | `series` | series id (u64 BE) | series definition |
//! | `points` | day · series id · sequence | a chunk of one series' points (delta-of-delta timestamps, XOR-compressed floats) |
//! | `point_log` | sequence (u64 BE) | the points of one append not yet cut into chunks (replayed into the in-memory head on open) |
//! | `meta` | namespace · 0 · key | metadata value; also per-partition statistics |
//!
//! Time-partitioned keys make retention a range delete. Log blocks are written per append
//! (one block per hour touched) and merged in the background into large blocks compressed
//! harder. Block summaries are held in memory without their Bloom filters, which live in a
//! byte-capped cache ([`RocksStoreBuilder::bloom_cache_bytes`]): queries filtering on time,
//! service and level decide which blocks to read without I/O; full-text, attribute and
//! trace-id filters read the filters the cache lacks from `log_summaries`. Every write is one
//! atomic `WriteBatch` through the WAL: when an append returns, the data survives a crash of
//! the process; with [`Durability::Sync`] also of the machine.

mod attrs;
mod block;
mod bloom;
mod bloom_cache;
mod codec;
mod dict;
mod head;
mod logs;
mod metrics;
#[cfg(test)]
mod report;
mod spans;
mod terms;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

use heimsight_core::Timestamp;
use rocksdb::{
    BlockBasedOptions, Cache, ColumnFamily, ColumnFamilyDescriptor, DB, DBCompressionType, Options,
    SliceTransform, WriteBatch, WriteOptions,
};

use crate::error::{Error, Result};
use crate::query::{Signal, SignalStats, StoreStats};
use crate::traits::{Maintenance, MetaOp, MetaStore};

/// The on-disk format version this build reads and writes.
pub const FORMAT_VERSION: u32 = 2;
const FORMAT_KEY: &[u8] = b"heimsight.format";

const CF_LOG_BLOCKS: &str = "log_blocks";
const CF_LOG_SUMMARIES: &str = "log_summaries";
const CF_LOG_TERMS: &str = "log_terms";
const CF_SPANS: &str = "spans";
const CF_TRACES: &str = "traces";
const CF_TRACE_STARTS: &str = "trace_starts";
const CF_SPAN_INDEX: &str = "span_index";
const CF_SERIES: &str = "series";
const CF_POINTS: &str = "points";
const CF_POINT_LOG: &str = "point_log";
const CF_META: &str = "meta";
/// Every column family.
const ALL_CFS: [&str; 11] = [
    CF_LOG_BLOCKS,
    CF_LOG_SUMMARIES,
    CF_LOG_TERMS,
    CF_SPANS,
    CF_TRACES,
    CF_TRACE_STARTS,
    CF_SPAN_INDEX,
    CF_SERIES,
    CF_POINTS,
    CF_POINT_LOG,
    CF_META,
];
/// Meta namespace of the store's own bookkeeping.
const META_INTERNAL: &str = "_internal";

const HOUR_NS: i64 = 3_600_000_000_000;
const DAY_NS: i64 = 24 * HOUR_NS;

/// When an acknowledged write is safe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// In the write-ahead log before the append returns: survives a killed process, and a
    /// machine crash once the OS has written it out (the default).
    #[default]
    Wal,
    /// In the WAL and fsynced before the append returns: survives power loss. Slowest.
    Sync,
    /// In the WAL, with the WAL fsynced by a background thread at this interval.
    Periodic(Duration),
}

/// `wal`, `sync` or `periodic:<duration>` (e.g. `periodic:100ms`).
///
/// ```
/// use heimsight_store::Durability;
/// use std::time::Duration;
///
/// assert_eq!("periodic:100ms".parse::<Durability>(), Ok(Durability::Periodic(Duration::from_millis(100))));
/// assert_eq!(Durability::Sync.to_string(), "sync");
/// assert!("fsync".parse::<Durability>().unwrap_err().contains("wal, sync or periodic"));
/// ```
impl std::str::FromStr for Durability {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Durability, String> {
        let s = s.trim();
        match s.to_ascii_lowercase().as_str() {
            "wal" => return Ok(Durability::Wal),
            "sync" => return Ok(Durability::Sync),
            _ => {}
        }
        let bad = || {
            format!(
                "{s:?} is not a durability: expected wal, sync or periodic:<duration> (e.g. periodic:100ms)"
            )
        };
        let every = s
            .split_once(':')
            .filter(|(mode, _)| mode.eq_ignore_ascii_case("periodic"))
            .ok_or_else(bad)?
            .1;
        let d = heimsight_core::Duration::parse(every).map_err(|e| format!("{}: {e}", bad()))?;
        match d.to_std() {
            Some(d) if !d.is_zero() => Ok(Durability::Periodic(d)),
            _ => Err(format!("{}: the interval must be positive", bad())),
        }
    }
}

impl std::fmt::Display for Durability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Durability::Wal => f.write_str("wal"),
            Durability::Sync => f.write_str("sync"),
            Durability::Periodic(d) => {
                write!(f, "periodic:{}", heimsight_core::Duration::from_std(*d))
            }
        }
    }
}

/// Options of a [`RocksStore`]; see [`RocksStore::builder`].
#[derive(Debug, Clone)]
pub struct RocksStoreBuilder {
    path: PathBuf,
    durability: Durability,
    block_cache_bytes: usize,
    write_buffer_bytes: usize,
    memtable_budget_bytes: usize,
    merge_zstd_level: i32,
    background_merge: bool,
    metric_head_bytes: usize,
    metric_head_age: Duration,
    bloom_cache_bytes: usize,
}

impl RocksStoreBuilder {
    /// Durability of acknowledged writes (default [`Durability::Wal`]).
    pub fn durability(mut self, d: Durability) -> Self {
        self.durability = d;
        self
    }

    /// Size of the shared block cache (default 256 MiB).
    pub fn block_cache_bytes(mut self, n: usize) -> Self {
        self.block_cache_bytes = n;
        self
    }

    /// Memory for the Bloom filters of log block summaries (default 128 MiB). The rest of
    /// every summary (time range, counts, records per second) stays in memory; the filters,
    /// most of a summary's size (about 2–3 bytes per record), are cached up to this budget,
    /// newest blocks first at open. Only queries with full-text terms, attribute equality or
    /// trace ids check them; a filter not cached is read from disk and cached, so a smaller
    /// budget costs such queries I/O, never other results. 0 caches none.
    pub fn bloom_cache_bytes(mut self, n: usize) -> Self {
        self.bloom_cache_bytes = n;
        self
    }

    /// Memtable budget per column family (default 64 MiB).
    pub fn write_buffer_bytes(mut self, n: usize) -> Self {
        self.write_buffer_bytes = n;
        self
    }

    /// Memtable budget of all column families together (default 128 MiB): when the
    /// memtables hold more, the largest is flushed. Bounds the memory that writes hold.
    pub fn memtable_budget_bytes(mut self, n: usize) -> Self {
        self.memtable_budget_bytes = n;
        self
    }

    /// zstd level used when merging log blocks in the background (default 3). Higher
    /// levels store a little less (10M realistic logs: 37.0 B/record at 3, 33.7 B at 7) but
    /// take CPU from writes on small machines (312k vs 284k records/s on 2 cores).
    pub fn merge_zstd_level(mut self, level: i32) -> Self {
        self.merge_zstd_level = level;
        self
    }

    /// Whether a background thread merges small log blocks (default true). When off, merging
    /// happens only in [`RocksStore::compact`].
    pub fn background_merge(mut self, on: bool) -> Self {
        self.background_merge = on;
        self
    }

    /// Metric points are kept in memory (and in a log, so they are durable) until this many
    /// bytes of them, or points older than [`metric_head_age`](Self::metric_head_age), have
    /// gathered; then they are cut into compressed chunks per series (default 32 MiB).
    pub fn metric_head_bytes(mut self, n: usize) -> Self {
        self.metric_head_bytes = n;
        self
    }

    /// See [`metric_head_bytes`](Self::metric_head_bytes) (default 5 minutes).
    pub fn metric_head_age(mut self, d: Duration) -> Self {
        self.metric_head_age = d;
        self
    }

    /// Opens (creating if needed) the store.
    pub fn open(self) -> Result<RocksStore> {
        RocksStore::open_with(self)
    }
}

/// Per-partition statistics of spans and metrics (logs use their block summaries).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct PartStat {
    pub(crate) min_ts: i64,
    pub(crate) max_ts: i64,
    pub(crate) count: u64,
}

impl PartStat {
    fn add(&mut self, ts: i64) {
        if self.count == 0 {
            self.min_ts = ts;
            self.max_ts = ts;
        } else {
            self.min_ts = self.min_ts.min(ts);
            self.max_ts = self.max_ts.max(ts);
        }
        self.count += 1;
    }
}

pub(crate) struct Inner {
    pub(crate) db: DB,
    /// The block cache shared by every column family (data, index and filter blocks).
    cache: Cache,
    write_opts: WriteOptions,
    merge_level: i32,
    /// Log block summaries by block key, without their Bloom filters.
    pub(crate) blocks: RwLock<BTreeMap<[u8; 20], Arc<block::BlockSummary>>>,
    /// The Bloom filters of some log block summaries, by block key, up to a byte budget.
    pub(crate) blooms: bloom_cache::BloomCache,
    /// Bloom filters read from disk because they were not cached.
    pub(crate) bloom_loads: AtomicU64,
    /// The zstd dictionaries of log block frames by id (see `dict`); new blocks use the one
    /// of the highest id. Written under `blocks`' write lock, before the blocks that use them
    /// are published.
    pub(crate) log_dicts: RwLock<HashMap<u32, Arc<dict::ColumnDicts>>>,
    /// Span resources by id, as stored once for the spans that refer to them (see
    /// `spans::ResourceRef`); capped, read back from the store when missing.
    pub(crate) span_resources: RwLock<HashMap<[u8; 16], heimsight_core::SharedAttributes>>,
    /// The next dictionary id.
    pub(crate) log_dict_seq: std::sync::atomic::AtomicU32,
    /// Log block merges done, and the blocks they merged away (for `activity`).
    pub(crate) log_merges: AtomicU64,
    pub(crate) log_blocks_merged: AtomicU64,
    /// Metric head cuts written (for `activity`).
    pub(crate) metric_cuts: AtomicU64,
    pub(crate) block_seq: AtomicU64,
    /// Serializes block merges.
    merge_lock: Mutex<()>,
    /// Serializes span appends (trace summaries are read-modify-write).
    pub(crate) span_lock: Mutex<()>,
    /// Day partitions of spans and of metric points.
    pub(crate) span_parts: Mutex<BTreeMap<u32, PartStat>>,
    pub(crate) point_parts: Mutex<BTreeMap<u32, PartStat>>,
    pub(crate) registry: RwLock<metrics::Registry>,
    /// Serializes point appends (series registration, point log order); holds each
    /// series' newest point.
    pub(crate) point_lock: Mutex<metrics::Newest>,
    /// Metric points not yet in chunks.
    pub(crate) heads: RwLock<head::Heads>,
    /// Next point log sequence number.
    pub(crate) point_seq: AtomicU64,
    /// Serializes cutting the head into chunks.
    pub(crate) cut_lock: Mutex<()>,
    pub(crate) head_bytes: usize,
    pub(crate) head_age: Duration,
    stop: AtomicBool,
    wake: (Mutex<bool>, Condvar),
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RocksStore")
            .field("path", &self.db.path())
            .finish_non_exhaustive()
    }
}

/// The embedded, persistent store (RocksDB). Cheap to clone; clones share the database.
///
/// ```
/// use heimsight_core::{Level, LogRecord, Timestamp};
/// use heimsight_store::{LogQuery, LogStore, RocksStore};
///
/// let dir = tempfile::tempdir()?;
/// {
///     let store = RocksStore::builder(dir.path()).open()?;
///     store.append_logs(vec![LogRecord::new(Timestamp(1), Level::Info, "hello")])?;
/// }
/// let reopened = RocksStore::open(dir.path())?;
/// assert_eq!(reopened.query_logs(&LogQuery::default())?.total, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct RocksStore {
    pub(crate) inner: Arc<Inner>,
    _threads: Arc<Threads>,
}

#[derive(Debug, Default)]
struct Threads {
    handles: Mutex<Vec<JoinHandle<()>>>,
    inner: Mutex<Option<Arc<Inner>>>,
}

impl Drop for Threads {
    fn drop(&mut self) {
        if let Some(inner) = self
            .inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            inner.stop.store(true, Ordering::SeqCst);
            inner.notify();
        }
        for h in self
            .handles
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(..)
        {
            let _ = h.join();
        }
    }
}

fn rocks_err(e: rocksdb::Error) -> Error {
    Error::backend("RocksDB", e)
}

impl RocksStore {
    /// A builder for a store in `path` (a directory, created if missing).
    pub fn builder(path: impl AsRef<Path>) -> RocksStoreBuilder {
        RocksStoreBuilder {
            path: path.as_ref().to_path_buf(),
            durability: Durability::default(),
            block_cache_bytes: 256 << 20,
            write_buffer_bytes: 64 << 20,
            memtable_budget_bytes: 128 << 20,
            merge_zstd_level: 3,
            background_merge: true,
            metric_head_bytes: 32 << 20,
            metric_head_age: Duration::from_secs(300),
            bloom_cache_bytes: 128 << 20,
        }
    }

    /// Opens the store in `path` with default options.
    pub fn open(path: impl AsRef<Path>) -> Result<RocksStore> {
        Self::builder(path).open()
    }

    fn open_with(b: RocksStoreBuilder) -> Result<RocksStore> {
        std::fs::create_dir_all(&b.path)?;
        let cache = Cache::new_lru_cache(b.block_cache_bytes);
        let mut db_opts = Options::default();
        db_opts.create_if_missing(true);
        db_opts.create_missing_column_families(true);
        db_opts.increase_parallelism(2);
        db_opts.set_max_background_jobs(2);
        db_opts.set_keep_log_file_num(3);
        db_opts.set_max_total_wal_size(256 << 20);
        db_opts.set_db_write_buffer_size(b.memtable_budget_bytes);

        let cf = |compress: bool, prefix: Option<usize>| {
            let mut o = Options::default();
            let mut t = BlockBasedOptions::default();
            t.set_block_cache(&cache);
            t.set_bloom_filter(10.0, false);
            t.set_cache_index_and_filter_blocks(true);
            o.set_block_based_table_factory(&t);
            o.set_write_buffer_size(b.write_buffer_bytes);
            if compress {
                o.set_compression_type(DBCompressionType::Lz4);
                o.set_bottommost_compression_type(DBCompressionType::Zstd);
            } else {
                o.set_compression_type(DBCompressionType::None);
            }
            if let Some(n) = prefix {
                o.set_prefix_extractor(SliceTransform::create_fixed_prefix(n));
                o.set_memtable_prefix_bloom_ratio(0.1);
            }
            o
        };
        // The term index: zstd at every level, in data blocks of 16 KiB so that its small
        // values compress together (a lookup reads one such block).
        let terms_cf = || {
            let mut o = Options::default();
            let mut t = BlockBasedOptions::default();
            t.set_block_cache(&cache);
            t.set_bloom_filter(10.0, false);
            t.set_cache_index_and_filter_blocks(true);
            t.set_block_size(16 << 10);
            o.set_block_based_table_factory(&t);
            o.set_write_buffer_size(b.write_buffer_bytes);
            o.set_compression_type(DBCompressionType::Zstd);
            o.set_bottommost_compression_type(DBCompressionType::Zstd);
            o
        };
        // No RocksDB compression for log blocks (the store compresses them itself), their
        // summaries and the short-lived point log; spans and points get prefix extractors
        // for their key layouts.
        let cfs: Vec<ColumnFamilyDescriptor> = ALL_CFS
            .iter()
            .map(|&name| {
                let options = match name {
                    CF_LOG_BLOCKS | CF_LOG_SUMMARIES | CF_POINT_LOG => cf(false, None),
                    CF_LOG_TERMS => terms_cf(),
                    CF_SPANS => cf(true, Some(20)),
                    CF_POINTS => cf(true, Some(12)),
                    _ => cf(true, None),
                };
                ColumnFamilyDescriptor::new(name, options)
            })
            .collect();
        let db = DB::open_cf_descriptors(&db_opts, &b.path, cfs).map_err(rocks_err)?;

        match db.get(FORMAT_KEY).map_err(rocks_err)? {
            Some(v) => {
                let found = <[u8; 4]>::try_from(v.as_slice())
                    .map(u32::from_be_bytes)
                    .unwrap_or(0);
                if found != FORMAT_VERSION {
                    return Err(Error::FormatVersion {
                        found,
                        supported: FORMAT_VERSION,
                        hint: "use a Heimsight release that reads this version, or a new data directory",
                    });
                }
            }
            None => {
                let mut wo = WriteOptions::default();
                wo.set_sync(true);
                db.put_opt(FORMAT_KEY, FORMAT_VERSION.to_be_bytes(), &wo)
                    .map_err(rocks_err)?;
            }
        }

        let mut write_opts = WriteOptions::default();
        write_opts.set_sync(b.durability == Durability::Sync);

        let inner = Arc::new(Inner {
            db,
            cache,
            write_opts,
            merge_level: b.merge_zstd_level,
            blocks: RwLock::new(BTreeMap::new()),
            blooms: bloom_cache::BloomCache::new(b.bloom_cache_bytes),
            bloom_loads: AtomicU64::new(0),
            log_dicts: RwLock::new(HashMap::new()),
            span_resources: RwLock::new(HashMap::new()),
            log_dict_seq: std::sync::atomic::AtomicU32::new(1),
            log_merges: AtomicU64::new(0),
            log_blocks_merged: AtomicU64::new(0),
            metric_cuts: AtomicU64::new(0),
            block_seq: AtomicU64::new(0),
            merge_lock: Mutex::new(()),
            span_lock: Mutex::new(()),
            span_parts: Mutex::new(BTreeMap::new()),
            point_parts: Mutex::new(BTreeMap::new()),
            registry: RwLock::new(metrics::Registry::default()),
            point_lock: Mutex::new(metrics::Newest::default()),
            heads: RwLock::new(head::Heads::default()),
            point_seq: AtomicU64::new(0),
            cut_lock: Mutex::new(()),
            head_bytes: b.metric_head_bytes,
            head_age: b.metric_head_age,
            stop: AtomicBool::new(false),
            wake: (Mutex::new(false), Condvar::new()),
        });
        inner.load_log_dicts()?;
        let summary_bytes = inner.load_blocks()?;
        inner.load_parts()?;
        inner.build_span_index()?;
        inner.load_registry()?;
        inner.load_head()?;

        let threads = Arc::new(Threads::default());
        *threads.inner.lock().unwrap_or_else(PoisonError::into_inner) = Some(inner.clone());
        let mut handles = Vec::new();
        {
            let i = inner.clone();
            handles.push(
                std::thread::Builder::new()
                    .name("heimsight-chunks".into())
                    .spawn(move || i.head_loop())?,
            );
        }
        if b.background_merge {
            let i = inner.clone();
            handles.push(
                std::thread::Builder::new()
                    .name("heimsight-merge".into())
                    .spawn(move || i.merge_loop())?,
            );
        }
        if let Durability::Periodic(every) = b.durability {
            let i = inner.clone();
            handles.push(
                std::thread::Builder::new()
                    .name("heimsight-wal-sync".into())
                    .spawn(move || {
                        while !i.stop.load(Ordering::SeqCst) {
                            i.sleep(every);
                            if let Err(e) = i.db.flush_wal(true) {
                                tracing::warn!(error = %e, "periodic WAL sync failed");
                            }
                        }
                    })?,
            );
        }
        *threads
            .handles
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = handles;
        tracing::info!(
            path = %b.path.display(),
            log_blocks = inner.blocks.read().unwrap_or_else(PoisonError::into_inner).len(),
            log_block_summary_bytes = summary_bytes,
            log_bloom_cache_bytes = inner.blooms.bytes(),
            log_bloom_cache_filters = inner.blooms.len(),
            log_bloom_cache_budget = b.bloom_cache_bytes,
            "opened RocksDB store"
        );
        Ok(RocksStore {
            inner,
            _threads: threads,
        })
    }

    /// Merges all small log blocks and compacts every column family: the smallest on-disk
    /// size. Slow on large stores; the background merge does the same bit by bit.
    pub fn compact(&self) -> Result<()> {
        self.inner.merge_all()?;
        self.inner.cut_head(true)?;
        for name in ALL_CFS {
            let cf = self.inner.cf(name)?;
            self.inner
                .db
                .compact_range_cf(cf, None::<&[u8]>, None::<&[u8]>);
        }
        Ok(())
    }

    /// Bytes of the files under a data directory (of an open store or not): what it takes on
    /// disk, as `du` counts file sizes.
    pub fn dir_bytes(dir: &Path) -> std::io::Result<u64> {
        let mut total = 0;
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let meta = entry.metadata()?;
            total += if meta.is_dir() {
                Self::dir_bytes(&entry.path())?
            } else {
                meta.len()
            };
        }
        Ok(total)
    }

    /// The directory of the database.
    pub fn path(&self) -> &Path {
        self.inner.db.path()
    }
}

impl Inner {
    pub(crate) fn cf(&self, name: &str) -> Result<&ColumnFamily> {
        self.db
            .cf_handle(name)
            .ok_or_else(|| Error::backend("RocksDB", format!("column family {name} missing")))
    }

    pub(crate) fn write(&self, batch: WriteBatch) -> Result<()> {
        self.db
            .write_opt(batch, &self.write_opts)
            .map_err(rocks_err)
    }

    fn notify(&self) {
        let (m, c) = &self.wake;
        *m.lock().unwrap_or_else(PoisonError::into_inner) = true;
        c.notify_all();
    }

    /// Sleeps up to `d` or until notified.
    fn sleep(&self, d: Duration) {
        let (m, c) = &self.wake;
        let mut woken = m.lock().unwrap_or_else(PoisonError::into_inner);
        if !*woken {
            woken = c
                .wait_timeout(woken, d)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        *woken = false;
    }

    fn load_parts(&self) -> Result<()> {
        for (sig, map) in [("spans", &self.span_parts), ("points", &self.point_parts)] {
            let mut m = map.lock().unwrap_or_else(PoisonError::into_inner);
            for (k, v) in self.meta_list_raw(&format!("_parts_{sig}"))? {
                let day: u32 = k.parse().map_err(|_| Error::Corrupt {
                    what: "partition statistics",
                    reason: format!("bad key {k}"),
                })?;
                let mut r = codec::Reader::new(&v, "partition statistics");
                let st = PartStat {
                    min_ts: r.zigzag()?,
                    max_ts: r.zigzag()?,
                    count: r.varint()?,
                };
                m.insert(day, st);
            }
        }
        Ok(())
    }

    /// Adds partition statistics updates for `stamps` to a batch and to the in-memory map.
    pub(crate) fn add_parts(
        &self,
        batch: &mut WriteBatch,
        signal: &str,
        map: &Mutex<BTreeMap<u32, PartStat>>,
        stamps: impl Iterator<Item = i64>,
    ) -> Result<()> {
        let mut m = map.lock().unwrap_or_else(PoisonError::into_inner);
        let mut touched = std::collections::BTreeSet::new();
        for ts in stamps {
            let d = day_of(ts);
            m.entry(d).or_default().add(ts);
            touched.insert(d);
        }
        let cf = self.cf(CF_META)?;
        for d in touched {
            let st = m[&d];
            let mut w = codec::Writer::default();
            w.zigzag(st.min_ts);
            w.zigzag(st.max_ts);
            w.varint(st.count);
            batch.put_cf(
                cf,
                meta_key(&format!("_parts_{signal}"), &d.to_string()),
                w.buf,
            );
        }
        Ok(())
    }

    /// Forgets the partitions before `cutoff_day` (adding the deletes to a batch); returns
    /// how many records they held.
    pub(crate) fn drop_parts(
        &self,
        batch: &mut WriteBatch,
        signal: &str,
        map: &Mutex<BTreeMap<u32, PartStat>>,
        cutoff_day: u32,
    ) -> Result<u64> {
        let mut m = map.lock().unwrap_or_else(PoisonError::into_inner);
        let keep = m.split_off(&cutoff_day);
        let dropped = std::mem::replace(&mut *m, keep);
        let cf = self.cf(CF_META)?;
        for d in dropped.keys() {
            batch.delete_cf(cf, meta_key(&format!("_parts_{signal}"), &d.to_string()));
        }
        Ok(dropped.values().map(|p| p.count).sum())
    }

    fn meta_list_raw(&self, namespace: &str) -> Result<Vec<(String, Vec<u8>)>> {
        let cf = self.cf(CF_META)?;
        let prefix = meta_key(namespace, "");
        let mut out = Vec::new();
        for item in self.db.prefix_iterator_cf(cf, &prefix) {
            let (k, v) = item.map_err(rocks_err)?;
            if !k.starts_with(&prefix) {
                break;
            }
            let key = String::from_utf8_lossy(&k[prefix.len()..]).into_owned();
            out.push((key, v.to_vec()));
        }
        Ok(out)
    }

    fn cf_bytes(&self, names: &[&str]) -> u64 {
        names
            .iter()
            .filter_map(|n| self.cf(n).ok())
            .map(|cf| {
                let p = |name: &str| {
                    self.db
                        .property_int_value_cf(cf, name)
                        .ok()
                        .flatten()
                        .unwrap_or(0)
                };
                p("rocksdb.total-sst-files-size") + p("rocksdb.size-all-mem-tables")
            })
            .sum()
    }
}

/// Day partition of a timestamp.
pub(crate) fn day_of(ts: i64) -> u32 {
    u32::try_from(ts.div_euclid(DAY_NS).max(0)).unwrap_or(u32::MAX)
}

/// Hour partition of a timestamp.
pub(crate) fn hour_of(ts: i64) -> u32 {
    u32::try_from(ts.div_euclid(HOUR_NS).max(0)).unwrap_or(u32::MAX)
}

impl Inner {
    pub(crate) fn meta_get_raw(&self, namespace: &str, key: &str) -> Result<Option<Vec<u8>>> {
        self.db
            .get_cf(self.cf(CF_META)?, meta_key(namespace, key))
            .map_err(rocks_err)
    }
}

fn meta_key(namespace: &str, key: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(namespace.len() + key.len() + 1);
    k.extend_from_slice(namespace.as_bytes());
    k.push(0);
    k.extend_from_slice(key.as_bytes());
    k
}

impl MetaStore for RocksStore {
    fn meta_get(&self, namespace: &str, key: &str) -> Result<Option<Vec<u8>>> {
        self.inner.meta_get_raw(namespace, key)
    }

    fn meta_put(&self, namespace: &str, key: &str, value: &[u8]) -> Result<()> {
        let cf = self.inner.cf(CF_META)?;
        let mut b = WriteBatch::default();
        b.put_cf(cf, meta_key(namespace, key), value);
        self.inner.write(b)
    }

    fn meta_delete(&self, namespace: &str, key: &str) -> Result<bool> {
        let existed = self.meta_get(namespace, key)?.is_some();
        let cf = self.inner.cf(CF_META)?;
        let mut b = WriteBatch::default();
        b.delete_cf(cf, meta_key(namespace, key));
        self.inner.write(b)?;
        Ok(existed)
    }

    fn meta_list(&self, namespace: &str) -> Result<Vec<(String, Vec<u8>)>> {
        self.inner.meta_list_raw(namespace)
    }

    fn meta_write(&self, ops: &[MetaOp]) -> Result<()> {
        let cf = self.inner.cf(CF_META)?;
        let mut b = WriteBatch::default();
        for op in ops {
            match op {
                MetaOp::Put {
                    namespace,
                    key,
                    value,
                } => b.put_cf(cf, meta_key(namespace, key), value),
                MetaOp::Delete { namespace, key } => b.delete_cf(cf, meta_key(namespace, key)),
            }
        }
        self.inner.write(b)
    }
}

impl Maintenance for RocksStore {
    fn delete_before(&self, signal: Signal, cutoff: Timestamp) -> Result<u64> {
        match signal {
            Signal::Logs => self.inner.delete_logs_before(cutoff.0),
            Signal::Spans => self.inner.delete_spans_before(cutoff.0),
            Signal::Metrics => self.inner.delete_points_before(cutoff.0),
        }
    }

    fn activity(&self) -> crate::StoreActivity {
        let i = &self.inner;
        let prop =
            |name: &str| -> u64 { i.db.property_int_value(name).ok().flatten().unwrap_or(0) };
        crate::StoreActivity {
            log_merges: i.log_merges.load(Ordering::Relaxed),
            log_blocks_merged: i.log_blocks_merged.load(Ordering::Relaxed),
            metric_chunk_cuts: i.metric_cuts.load(Ordering::Relaxed),
            compactions_running: prop("rocksdb.num-running-compactions"),
            flushes_running: prop("rocksdb.num-running-flushes"),
            pending_compaction_bytes: ALL_CFS
                .iter()
                .filter_map(|n| i.cf(n).ok())
                .map(|cf| {
                    i.db.property_int_value_cf(cf, "rocksdb.estimate-pending-compaction-bytes")
                        .ok()
                        .flatten()
                        .unwrap_or(0)
                })
                .sum(),
        }
    }

    fn memory(&self) -> Vec<(&'static str, u64)> {
        let i = &self.inner;
        let prop = |name: &str| -> u64 {
            ALL_CFS
                .iter()
                .filter_map(|n| i.cf(n).ok())
                .map(|cf| {
                    i.db.property_int_value_cf(cf, name)
                        .ok()
                        .flatten()
                        .unwrap_or(0)
                })
                .sum()
        };
        let summaries: usize = i
            .blocks
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .map(|b| b.mem_bytes())
            .sum();
        let heads = {
            let h = i.heads.read().unwrap_or_else(PoisonError::into_inner);
            h.live.bytes + h.cutting.as_ref().map_or(0, |c| c.bytes)
        };
        vec![
            ("block_cache", i.cache.get_usage() as u64),
            ("block_cache_pinned", i.cache.get_pinned_usage() as u64),
            ("memtables", prop("rocksdb.cur-size-all-mem-tables")),
            ("table_readers", prop("rocksdb.estimate-table-readers-mem")),
            ("log_block_summaries", summaries as u64),
            ("log_bloom_cache", i.blooms.bytes() as u64),
            ("metric_heads", heads as u64),
        ]
    }

    fn stats(&self) -> Result<StoreStats> {
        let i = &self.inner;
        let logs = {
            let blocks = i.blocks.read().unwrap_or_else(PoisonError::into_inner);
            SignalStats {
                records: blocks.values().map(|b| u64::from(b.count)).sum(),
                bytes: i.cf_bytes(&[CF_LOG_BLOCKS, CF_LOG_SUMMARIES, CF_LOG_TERMS]),
                oldest: blocks.values().map(|b| b.min_ts).min().map(Timestamp),
                newest: blocks.values().map(|b| b.max_ts).max().map(Timestamp),
            }
        };
        let part_stats = |m: &Mutex<BTreeMap<u32, PartStat>>, cfs: &[&str]| {
            let m = m.lock().unwrap_or_else(PoisonError::into_inner);
            SignalStats {
                records: m.values().map(|p| p.count).sum(),
                bytes: i.cf_bytes(cfs),
                oldest: m.values().map(|p| p.min_ts).min().map(Timestamp),
                newest: m.values().map(|p| p.max_ts).max().map(Timestamp),
            }
        };
        Ok(StoreStats {
            logs,
            spans: part_stats(&i.span_parts, &[CF_SPANS, CF_TRACES, CF_TRACE_STARTS]),
            metrics: part_stats(&i.point_parts, &[CF_POINTS, CF_POINT_LOG, CF_SERIES]),
            series: i
                .registry
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .len() as u64,
        })
    }

    /// Syncs the WAL, then writes every column family's memtable to SST files (waiting for
    /// it), so that the WAL holds nothing the next open would have to replay.
    fn flush(&self) -> Result<()> {
        let i = &self.inner;
        i.db.flush_wal(true).map_err(rocks_err)?;
        let cfs = ALL_CFS
            .iter()
            .map(|n| i.cf(n))
            .collect::<Result<Vec<_>>>()?;
        let refs: Vec<&_> = cfs.iter().collect();
        let mut opts = rocksdb::FlushOptions::default();
        opts.set_wait(true);
        i.db.flush_cfs_opt(&refs, &opts).map_err(rocks_err)?;
        // The default column family (the format key and the log block dictionaries) too: a
        // WAL is kept until every column family has flushed past it.
        i.db.flush_opt(&opts).map_err(rocks_err)
    }
}
