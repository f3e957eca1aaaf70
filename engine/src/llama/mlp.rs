//! The SwiGLU MLP: `down_proj(silu(gate_proj(x)) * up_proj(x))` (`LlamaMLP`).
//! Paper: <https://arxiv.org/abs/2002.05202>. Three `Linear`s named like the HF keys
//! (STYLE.md §6: not burn's `SwiGlu`).

use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::Tensor;
use burn::tensor::activation::silu;

use crate::device::{linear, swiglu};

/// Gate, up and down projections.
#[derive(Module, Debug)]
pub struct Mlp {
    /// `[hidden, intermediate]` (burn layout: HF's `[out, in]` transposed at load).
    pub gate_proj: Linear,
    /// `[hidden, intermediate]`.
    pub up_proj: Linear,
    /// `[intermediate, hidden]`.
    pub down_proj: Linear,
}

impl Mlp {
    /// `[batch, seq, hidden] -> [batch, seq, hidden]`. On the CPU at f32 `silu(gate) * up` is one
    /// fused pass, with a backward of its own in training ([`crate::device::swiglu::silu_mul`]).
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let gate = linear(&self.gate_proj, x.clone());
        let up = linear(&self.up_proj, x);
        let hidden = swiglu::silu_mul(&gate, &up).unwrap_or_else(|| silu(gate) * up);
        linear(&self.down_proj, hidden)
    }
}
