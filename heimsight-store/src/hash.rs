//! The hasher of the store's own hash maps.

/// A fast hasher for hash maps keyed by short byte strings or numbers the store builds on its
/// hot paths (xxh3; the std default, SipHash, resists flooding but costs several times more).
/// The keys come from the store itself or are bounded per block, so flooding is no concern.
#[derive(Debug, Default)]
pub(crate) struct Xxh3Hasher(u64);

impl std::hash::Hasher for Xxh3Hasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0 = xxhash_rust::xxh3::xxh3_64_with_seed(bytes, self.0);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// `BuildHasher` of [`Xxh3Hasher`].
pub(crate) type FastHash = std::hash::BuildHasherDefault<Xxh3Hasher>;
