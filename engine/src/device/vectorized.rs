//! Run-time SIMD dispatch that reaches the kernel's body.
//!
//! pulp's `Arch::dispatch` compiles the operation it is given inside a function that carries the
//! processor's features (AVX-512, or AVX2 and FMA), so the loops in it vectorize for them, but only
//! what is inlined into that function. A closure handed over by value is called through its
//! `FnOnce` shim, which LLVM keeps out of line once the body is large: the kernel then compiles
//! for the baseline (SSE2) on every processor. That was the case for every kernel in this module
//! (perf: their hot loops held no `ymm` or `zmm` register). Called by reference, the closure's own
//! body is what runs, and `#[inline(always)]` on it is honoured.

use pulp::{Arch, Simd, WithSimd};

/// Runs `body` compiled for the best instruction set `arch` found. Mark `body`, and every closure
/// it calls, `#[inline(always)]`: what is not inlined compiles for the baseline.
#[inline(always)]
pub(super) fn vectorized<R>(arch: Arch, mut body: impl FnMut() -> R) -> R {
    arch.dispatch(ByRef(&mut body))
}

/// A closure that pulp calls through `FnMut::call_mut`, which is the closure's own body.
struct ByRef<'a, F>(&'a mut F);

impl<R, F: FnMut() -> R> WithSimd for ByRef<'_, F> {
    type Output = R;

    #[inline(always)]
    fn with_simd<S: Simd>(self, _simd: S) -> R {
        (self.0)()
    }
}
