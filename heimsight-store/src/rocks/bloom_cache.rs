//! A byte-capped cache of log block Bloom filters.
//!
//! Block summaries stay in memory for every block, but their Bloom filters (most of a
//! summary's size) would make memory grow with the store, so they live here instead, up to a
//! byte budget. A filter not cached is read back from the block's `log_summaries` entry.
//!
//! Eviction is CLOCK (second chance) per shard: a hit only sets a flag under the shard's read
//! lock, so concurrent queries do not serialize on the hit path; inserting sweeps the shard's
//! hand over the entries, sparing (and unflagging) those hit since the last sweep.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use xxhash_rust::xxh3::xxh3_64;

use super::bloom::Bloom;
use crate::hash::FastHash;

/// A block key (see `logs::block_key`).
pub(crate) type Key = [u8; 20];

/// Shards of a cache at least [`SHARDS`] × this large; smaller caches have one shard, so a
/// small budget is not split into pieces too small for one filter.
const MIN_SHARD_BYTES: usize = 4 << 20;
/// Shards of a large cache: fewer threads meet on one lock.
const SHARDS: usize = 16;

/// Bytes an entry costs beyond its filter's bit array: the slot, the index entry and the
/// `Arc`'d `Bloom` header. Counted so that a budget also bounds many tiny filters.
const ENTRY_OVERHEAD: usize = std::mem::size_of::<Slot>()
    + std::mem::size_of::<(Key, usize)>()
    + std::mem::size_of::<Bloom>()
    + 2 * std::mem::size_of::<usize>();

/// The bytes an entry for `bloom` counts against the budget.
pub(crate) fn cost(bloom: &Bloom) -> usize {
    bloom.size_bytes() + ENTRY_OVERHEAD
}

#[derive(Debug)]
struct Slot {
    key: Key,
    bloom: Arc<Bloom>,
    cost: usize,
    /// Set by hits, cleared by the clock hand: an entry hit since the hand last passed is
    /// spared once.
    referenced: AtomicBool,
}

/// One shard: the entries in clock order. Slots of removed entries are left empty and reused
/// (so removing never reorders the clock, which would put new entries under the hand), and
/// compacted away when they outnumber the entries.
#[derive(Debug, Default)]
struct Shard {
    index: HashMap<Key, usize, FastHash>,
    slots: Vec<Option<Slot>>,
    free: Vec<usize>,
    hand: usize,
    bytes: usize,
}

impl Shard {
    fn remove_at(&mut self, i: usize) {
        if let Some(slot) = self.slots.get_mut(i).and_then(Option::take) {
            self.index.remove(&slot.key);
            self.bytes -= slot.cost;
            self.free.push(i);
        }
        if self.free.len() > 64 && self.free.len() > self.index.len() {
            self.compact();
        }
    }

    /// Drops the empty slots, keeping the clock order.
    fn compact(&mut self) {
        let hand_key = self.slots[self.hand.min(self.slots.len())..]
            .iter()
            .flatten()
            .next()
            .map(|s| s.key);
        self.slots.retain(Option::is_some);
        self.free.clear();
        self.index.clear();
        for (i, slot) in self.slots.iter().flatten().enumerate() {
            self.index.insert(slot.key, i);
        }
        self.hand = hand_key
            .and_then(|k| self.index.get(&k).copied())
            .unwrap_or(0);
    }

    /// Evicts until `need` more bytes fit in `cap`. Each look at an entry either evicts it or
    /// clears its flag, so this ends within two sweeps.
    fn make_room(&mut self, need: usize, cap: usize) {
        while self.bytes + need > cap && !self.index.is_empty() {
            if self.hand >= self.slots.len() {
                self.hand = 0;
            }
            let i = self.hand;
            self.hand += 1;
            let Some(slot) = &self.slots[i] else {
                continue;
            };
            if !slot.referenced.swap(false, Ordering::Relaxed) {
                // The hand has moved past: the entry taking this slot is looked at last.
                self.remove_at(i);
            }
        }
    }

    fn push(&mut self, key: Key, bloom: Arc<Bloom>, cost: usize) {
        let slot = Slot {
            key,
            bloom,
            cost,
            // New entries are not spared: a query reading through many blocks once does not
            // push out the filters that other queries keep hitting.
            referenced: AtomicBool::new(false),
        };
        let i = match self.free.pop() {
            Some(i) => {
                self.slots[i] = Some(slot);
                i
            }
            None => {
                self.slots.push(Some(slot));
                self.slots.len() - 1
            }
        };
        self.index.insert(key, i);
        self.bytes += cost;
    }
}

/// A thread-safe cache of Bloom filters by block key, holding at most its budget in bytes
/// (as counted by [`cost`]).
#[derive(Debug)]
pub(crate) struct BloomCache {
    shards: Box<[RwLock<Shard>]>,
    shard_cap: usize,
}

impl BloomCache {
    /// An empty cache of `cap` bytes (0: caches nothing).
    pub(crate) fn new(cap: usize) -> Self {
        let n = if cap >= SHARDS * MIN_SHARD_BYTES {
            SHARDS
        } else {
            1
        };
        BloomCache {
            shards: (0..n).map(|_| RwLock::new(Shard::default())).collect(),
            shard_cap: cap / n,
        }
    }

    fn shard(&self, key: &Key) -> &RwLock<Shard> {
        let i = (xxh3_64(key) % self.shards.len() as u64) as usize;
        &self.shards[i]
    }

    /// The cached filter of a block, if any.
    pub(crate) fn get(&self, key: &Key) -> Option<Arc<Bloom>> {
        let shard = self
            .shard(key)
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let slot = shard.slots.get(*shard.index.get(key)?)?.as_ref()?;
        slot.referenced.store(true, Ordering::Relaxed);
        Some(slot.bloom.clone())
    }

    /// Caches a block's filter, evicting others as needed; returns false (caching nothing)
    /// when it is larger than a shard's budget.
    pub(crate) fn insert(&self, key: Key, bloom: Arc<Bloom>) -> bool {
        self.put(key, bloom, true)
    }

    /// Caches a block's filter only if it fits without evicting anything (for warming the
    /// cache at open); returns whether it was cached.
    pub(crate) fn insert_if_room(&self, key: Key, bloom: Arc<Bloom>) -> bool {
        self.put(key, bloom, false)
    }

    fn put(&self, key: Key, bloom: Arc<Bloom>, evict: bool) -> bool {
        let cost = cost(&bloom);
        let mut shard = self
            .shard(&key)
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(&i) = shard.index.get(&key) {
            shard.remove_at(i);
        }
        if cost > self.shard_cap {
            return false;
        }
        if evict {
            shard.make_room(cost, self.shard_cap);
        } else if shard.bytes + cost > self.shard_cap {
            return false;
        }
        shard.push(key, bloom, cost);
        true
    }

    /// Forgets a block's filter (the block is gone).
    pub(crate) fn remove(&self, key: &Key) {
        let mut shard = self
            .shard(key)
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(&i) = shard.index.get(key) {
            shard.remove_at(i);
        }
    }

    /// Bytes held, as counted against the budget.
    pub(crate) fn bytes(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.read().unwrap_or_else(PoisonError::into_inner).bytes)
            .sum()
    }

    /// Filters held.
    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.read().unwrap_or_else(PoisonError::into_inner).index.len())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn key(n: u64) -> Key {
        let mut k = [0u8; 20];
        k[12..].copy_from_slice(&n.to_be_bytes());
        k
    }

    /// A filter of `words` 64-bit words, with key `n` in it (so filters differ).
    fn bloom(words: usize, n: u64) -> Arc<Bloom> {
        let mut b = Bloom::with_capacity(words * 64 / 10, 10);
        b.insert(n);
        assert_eq!(b.size_bytes(), words * 8);
        Arc::new(b)
    }

    #[test]
    fn hit_after_put_and_remove_forgets() {
        let c = BloomCache::new(1 << 20);
        assert!(c.get(&key(1)).is_none());
        let b = bloom(16, 1);
        assert!(c.insert(key(1), b.clone()));
        assert_eq!(c.get(&key(1)).as_deref(), Some(&*b));
        assert!(c.get(&key(2)).is_none());
        assert_eq!(c.bytes(), cost(&b));
        c.remove(&key(1));
        assert!(c.get(&key(1)).is_none());
        assert_eq!((c.bytes(), c.len()), (0, 0));
        // Removing what is not there is fine.
        c.remove(&key(1));
    }

    #[test]
    fn the_budget_holds_and_old_unused_entries_go_first() {
        let one = cost(&bloom(16, 0));
        let cap = 10 * one;
        let c = BloomCache::new(cap);
        for n in 0..10 {
            assert!(c.insert(key(n), bloom(16, n)));
        }
        assert_eq!(c.len(), 10);
        // Keys 0..5 are hit, so the next five inserts evict 5..10.
        for n in 0..5 {
            assert!(c.get(&key(n)).is_some());
        }
        for n in 10..15 {
            assert!(c.insert(key(n), bloom(16, n)));
            assert!(c.bytes() <= cap);
        }
        for n in 0..5 {
            assert!(c.get(&key(n)).is_some(), "hit entry {n} was evicted");
        }
        for n in 5..10 {
            assert!(c.get(&key(n)).is_none(), "unused entry {n} stayed");
        }
        // Many more: the budget always holds.
        for n in 100..1000 {
            assert!(c.insert(key(n), bloom(1 + (n as usize % 40), n)));
            assert!(c.bytes() <= cap, "{} > {cap}", c.bytes());
            assert!(c.get(&key(n)).is_some());
        }
        // Re-inserting a key replaces it rather than counting it twice.
        let before = c.bytes();
        let b = c.get(&key(999)).unwrap();
        assert!(c.insert(key(999), b));
        assert_eq!(c.bytes(), before);
    }

    #[test]
    fn too_large_or_no_room_caches_nothing() {
        let c = BloomCache::new(0);
        assert!(!c.insert(key(1), bloom(1, 1)));
        assert!(c.get(&key(1)).is_none());
        assert_eq!(c.bytes(), 0);

        let cap = 3 * cost(&bloom(8, 0));
        let c = BloomCache::new(cap);
        assert!(!c.insert(key(1), bloom(1024, 1)));
        assert!(c.insert_if_room(key(2), bloom(8, 2)));
        assert!(c.insert_if_room(key(3), bloom(8, 3)));
        assert!(c.insert_if_room(key(4), bloom(8, 4)));
        // Full: warming does not evict.
        assert!(!c.insert_if_room(key(5), bloom(8, 5)));
        assert_eq!(c.len(), 3);
        assert!(c.get(&key(5)).is_none());
        assert_eq!(c.bytes(), cap);
    }

    #[test]
    fn large_caches_shard_and_stay_within_budget_across_threads() {
        let cap = SHARDS * MIN_SHARD_BYTES;
        let c = Arc::new(BloomCache::new(cap));
        assert_eq!(c.shards.len(), SHARDS);
        let big = bloom(16 << 10, 0); // 128 KiB
        let threads: Vec<_> = (0..4u64)
            .map(|t| {
                let c = c.clone();
                let big = big.clone();
                std::thread::spawn(move || {
                    for n in 0..200 {
                        let k = key(t * 1000 + n);
                        c.insert(k, big.clone());
                        let _ = c.get(&k);
                        if n % 7 == 0 {
                            c.remove(&k);
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert!(c.bytes() <= cap);
        assert!(c.len() > 0);
    }
}
