//! The process's allocator, for `GET /api/v1/status` (`memory.process`): jemalloc is the
//! global allocator and, built unprefixed on Linux, also the `malloc` of RocksDB's C++ code.
//! With its figures and the store's own breakdown beside the resident size, the parts of
//! the resident memory can be told apart: what is not jemalloc's is code and thread stacks.

/// jemalloc's statistics as `(name, bytes)` (refreshed by advancing its epoch): bytes
/// allocated by the program, in active pages, resident (incl. dirty pages not yet returned),
/// its own metadata and address space retained without RAM; a figure that cannot be read is
/// left out.
#[cfg(not(target_env = "msvc"))]
pub(crate) fn probe() -> Vec<(&'static str, u64)> {
    use tikv_jemalloc_ctl::{epoch, stats};
    if epoch::advance().is_err() {
        return Vec::new();
    }
    [
        ("jemalloc_allocated", stats::allocated::read()),
        ("jemalloc_active", stats::active::read()),
        ("jemalloc_resident", stats::resident::read()),
        ("jemalloc_metadata", stats::metadata::read()),
        ("jemalloc_retained", stats::retained::read()),
    ]
    .into_iter()
    .filter_map(|(name, v)| Some((name, v.ok()? as u64)))
    .collect()
}

/// No jemalloc on MSVC: nothing to report.
#[cfg(target_env = "msvc")]
pub(crate) fn probe() -> Vec<(&'static str, u64)> {
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The unit tests run with the binary's global allocator (jemalloc).
    #[cfg(not(target_env = "msvc"))]
    #[test]
    fn probe_reports_what_jemalloc_holds() {
        let before = probe();
        let get = |p: &[(&str, u64)], name: &str| {
            p.iter().find(|(n, _)| *n == name).map(|(_, v)| *v).unwrap()
        };
        let held: Vec<u8> = vec![7; 32 << 20];
        let during = probe();
        // Other tests of this binary allocate and free at the same time, so the growth is
        // only roughly the 32 MiB held here (once it was 30.3 MiB); a probe that does not see
        // the allocation at all grows by nothing.
        let grown =
            get(&during, "jemalloc_allocated").saturating_sub(get(&before, "jemalloc_allocated"));
        assert!(grown >= held.len() as u64 / 2, "{before:?} then {during:?}");
        assert!(get(&during, "jemalloc_resident") >= get(&during, "jemalloc_allocated"));
        drop(held);
    }
}
