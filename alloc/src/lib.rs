//! The process allocator of Lethe's binaries (`lethe`, the engine's model bench): mimalloc,
//! configured so that a freed buffer comes back without page faults.
//!
//! Every burn op on the CPU writes into a fresh buffer. With glibc's malloc, a buffer past its
//! mmap threshold is a fresh mapping each time, and a freed heap top is trimmed back to the
//! kernel, so the next op faults every page in again and the kernel zeroes it
//! (`exc_page_fault`, `clear_page_erms`: 7–15 % of a forward or an NPO step in perf). mimalloc
//! keeps freed memory in its arenas; with `purge_decommits` off it purges what stays unused with
//! `MADV_FREE` instead of `MADV_DONTNEED`, so the kernel may take those pages back under memory
//! pressure but a reuse before then costs nothing. Measured (`scripts/bench-vs-torch.sh`, one run,
//! docs/PERFORMANCE.md): the tiny model's forward 58.8 K → 84.3 K tok/s, SmolLM2's NPO step
//! 174 → 201; mimalloc with its default (decommitting) purge lost almost half of the NPO step
//! instead, because a training step reuses its buffers seconds later, after the purge.
//!
//! The resident size a tool reports stays near the peak after a run until the kernel reclaims
//! the freed pages. `MIMALLOC_PURGE_DECOMMITS=1` in the environment restores the decommitting
//! purge. This crate holds the workspace's only `unsafe`: three calls into mimalloc's C API.

use libmimalloc_sys as sys;

/// `mi_option_purge_decommits` in mimalloc v3's `mimalloc.h` (the version `libmimalloc-sys`
/// builds by default), which the `-sys` crate does not export by name.
const PURGE_DECOMMITS: sys::mi_option_t = 5;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The environment variable that, when set, keeps mimalloc's own `purge_decommits` setting.
pub const PURGE_DECOMMITS_ENV: &str = "MIMALLOC_PURGE_DECOMMITS";

/// Configure the allocator; call first thing in `main`. Unless [`PURGE_DECOMMITS_ENV`] is set,
/// freed memory is purged lazily (`MADV_FREE`), not decommitted.
pub fn install() {
    if std::env::var_os(PURGE_DECOMMITS_ENV).is_none() {
        #[expect(unsafe_code, reason = "mimalloc's C option setter; any value is valid")]
        // SAFETY: `mi_option_set` stores an integer in mimalloc's option table; it has no
        // preconditions and is safe to call from any thread at any time.
        unsafe {
            sys::mi_option_set(PURGE_DECOMMITS, 0);
        }
    }
}

/// Whether mimalloc purges freed memory by decommitting it (`MADV_DONTNEED`): `false` after
/// [`install`].
pub fn purge_decommits() -> bool {
    #[expect(unsafe_code, reason = "mimalloc's C option getter")]
    // SAFETY: `mi_option_is_enabled` reads mimalloc's option table; no preconditions.
    unsafe {
        sys::mi_option_is_enabled(PURGE_DECOMMITS)
    }
}

/// Whether this process's heap allocations come from mimalloc (the crate is linked, so its
/// `#[global_allocator]` is the one in use).
pub fn active() -> bool {
    let probe = Box::new(0u64);
    let address: *const u64 = &raw const *probe;
    #[expect(unsafe_code, reason = "mimalloc's C heap query")]
    // SAFETY: `mi_is_in_heap_region` only compares the address with mimalloc's arenas; it never
    // dereferences it.
    unsafe {
        sys::mi_is_in_heap_region(address.cast())
    }
}
