//! AdamW with its state in host memory (`--optimizer-offload`): the moments and the f32 master
//! weights live in host `Vec`s; each step copies a parameter's gradient down, updates on the CPU
//! with every core (rayon), and copies the new weights up. The device keeps only the weights and
//! the gradients.
//!
//! The arithmetic is the on-device update's, operation by operation and in the same order, with
//! every scalar rounded to f32 as burn's `mul_scalar` rounds it, so the two agree to the last bit
//! on the CPU backend (`engine/tests/optimizer_offload.rs`).

use rayon::prelude::*;

/// One parameter's optimizer state in host memory.
#[derive(Debug, Clone)]
pub(super) struct HostState {
    m: Vec<f32>,
    v: Vec<f32>,
    /// The f32 master copy of half-precision weights.
    master: Option<Vec<f32>>,
}

impl HostState {
    /// Bytes held.
    pub(super) fn bytes(&self) -> usize {
        (self.m.len() + self.v.len() + self.master.as_ref().map_or(0, Vec::len)) * 4
    }
}

/// The step's constants, as f64 (rounded to f32 where they are applied, like burn's scalars).
#[derive(Debug, Clone, Copy)]
pub(super) struct Scalars {
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub bias1: f64,
    pub bias2_sqrt: f64,
    pub lr: f64,
    pub decay: f64,
    /// The clipping factor.
    pub scale: f64,
}

#[expect(
    clippy::cast_possible_truncation,
    reason = "burn rounds scalars to the element type"
)]
fn f32_of(x: f64) -> f32 {
    x as f32
}

/// One AdamW update of a parameter on the CPU: `grad` (its accumulated gradient, f32), `weights`
/// (its current value as f32, read only when there is no master copy), the previous `state`.
/// Returns the new f32 weights and state; `keep_master` keeps an f32 copy (half weights).
pub(super) fn update(
    state: Option<HostState>,
    grad: &[f32],
    weights: impl FnOnce() -> Vec<f32>,
    s: Scalars,
    keep_master: bool,
) -> (Vec<f32>, HostState) {
    let (state, master) = match state {
        Some(HostState { m, v, master }) => (Some(HostState { m, v, master: None }), master),
        None => (None, None),
    };
    let mut w = master.unwrap_or_else(weights);
    let mut state = update_in_place(state, grad, &mut w, s);
    state.master = keep_master.then(|| w.clone());
    (w, state)
}

/// [`update`] of f32 weights `w` in place (no master copy): the moments' state comes back.
pub(super) fn update_in_place(
    state: Option<HostState>,
    grad: &[f32],
    w: &mut [f32],
    s: Scalars,
) -> HostState {
    let (scale, b1, one_b1) = (f32_of(s.scale), f32_of(s.beta1), f32_of(1.0 - s.beta1));
    let (b2, one_b2) = (f32_of(s.beta2), f32_of(1.0 - s.beta2));
    let (bias2_sqrt, eps) = (f32_of(s.bias2_sqrt), f32_of(s.eps));
    let step_size = f32_of(s.lr / s.bias1);
    let keep = f32_of(1.0 - s.lr * s.decay);
    let n = grad.len();
    let (mut m, mut v) = match state {
        Some(state) => (state.m, state.v),
        None => (Vec::new(), Vec::new()),
    };
    let first = m.is_empty();
    if first {
        m = vec![0.0; n];
        v = vec![0.0; n];
    }
    // Chunks large enough to pay for a task, each a plain loop the compiler vectorizes.
    const CHUNK: usize = 1 << 14;
    w.par_chunks_mut(CHUNK)
        .zip(m.par_chunks_mut(CHUNK))
        .zip(v.par_chunks_mut(CHUNK))
        .zip(grad.par_chunks(CHUNK))
        .for_each(|(((w, m), v), g)| {
            for (((w, m), v), g) in w.iter_mut().zip(m).zip(v).zip(g) {
                let g = *g * scale;
                if first {
                    *m = g * one_b1;
                    *v = (g * g) * one_b2;
                } else {
                    *m = *m * b1 + g * one_b1;
                    *v = *v * b2 + (g * g) * one_b2;
                }
                let denom = v.sqrt() / bias2_sqrt + eps;
                let step = (*m / denom) * step_size;
                *w = *w * keep - step;
            }
        });
    HostState { m, v, master: None }
}
