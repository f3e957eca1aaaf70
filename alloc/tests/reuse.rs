//! A freed buffer comes back without page faults after mimalloc has purged it: the behaviour
//! [`lethe_alloc::install`] exists for. Minor faults are read from `/proc/self/stat` (Linux).

use std::hint::black_box;

const BYTES: usize = 256 << 20;

/// Minor page faults of this process so far (`/proc/self/stat`, field 10).
fn minor_faults() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may hold spaces; the fields after it start past its ')'.
    let after_name = &stat[stat.rfind(')')? + 2..];
    after_name.split_whitespace().nth(7)?.parse().ok()
}

/// Allocates, writes and frees a `BYTES` buffer; returns the faults that took.
fn fill_and_free() -> Option<u64> {
    let before = minor_faults()?;
    let buffer = black_box(vec![1u8; BYTES]);
    drop(buffer);
    Some(minor_faults()? - before)
}

#[expect(
    unsafe_code,
    reason = "forces mimalloc's purge, which otherwise waits for its delay"
)]
fn purge_now() {
    // SAFETY: `mi_collect` only walks mimalloc's own structures.
    unsafe { libmimalloc_sys::mi_collect(true) }
}

#[test]
fn a_freed_buffer_comes_back_without_page_faults() {
    assert!(lethe_alloc::active(), "the global allocator is mimalloc");
    lethe_alloc::install();
    if std::env::var_os(lethe_alloc::PURGE_DECOMMITS_ENV).is_some() {
        eprintln!("skipped: {} is set", lethe_alloc::PURGE_DECOMMITS_ENV);
        return;
    }
    assert!(
        !lethe_alloc::purge_decommits(),
        "install() turns decommitting off"
    );
    let Some(first) = fill_and_free() else {
        eprintln!("skipped: /proc/self/stat is not readable here");
        return;
    };
    purge_now();
    let second = fill_and_free().expect("/proc/self/stat was readable a moment ago");
    // A fresh buffer faults at least once per 2 MiB (per page where the kernel backs mimalloc's
    // arenas with transparent huge pages, per 4 KiB page where it does not).
    let fewest_fresh = (BYTES >> 21) as u64;
    assert!(
        first >= fewest_fresh / 2,
        "the first fill faults its pages in ({first} faults)"
    );
    assert!(
        second * 8 < first,
        "the refill after a purge faulted {second} times, the first fill {first}"
    );
}
