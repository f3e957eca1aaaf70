//! The SwiGLU MLP: `down_proj(silu(gate_proj(x)) * up_proj(x))` (`LlamaMLP`).
//! Paper: <https://arxiv.org/abs/2002.05202>. Three `Linear`s named like the HF keys
//! (STYLE.md §6: not burn's `SwiGlu`).

use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::Tensor;
use burn::tensor::activation::silu;

use crate::device::linear;

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
    /// `[batch, seq, hidden] -> [batch, seq, hidden]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let gate = silu(linear(&self.gate_proj, x.clone()));
        linear(&self.down_proj, gate * linear(&self.up_proj, x))
    }
}
