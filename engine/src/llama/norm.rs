//! RMSNorm as transformers computes it (`LlamaRMSNorm`): normalise in f32, cast back, then scale.
//! Paper: <https://arxiv.org/abs/1910.07467>.

use burn::module::{Module, Param};
use burn::tensor::{FloatDType, Tensor};

/// `weight * x / sqrt(mean(x²) + eps)`, over the last dimension. The field is named `weight`
/// like the HF key (burn's `RmsNorm` calls it `gamma`).
#[derive(Module, Debug)]
pub struct RmsNorm {
    /// Per-channel scale, `[dim]`.
    pub weight: Param<Tensor<1>>,
    /// Added to the mean square.
    pub eps: f64,
}

impl RmsNorm {
    /// A norm over `weight.dims()[0]` channels.
    pub fn new(weight: Tensor<1>, eps: f64) -> Self {
        Self {
            weight: Param::from_tensor(weight),
            eps,
        }
    }

    /// Normalises `x` (`[..., dim]`) in f32 and returns it in `x`'s dtype.
    /// Inference passes on the CPU take one fused pass ([`crate::device::fused::rms_norm`]).
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        if let Some(normed) = crate::device::fused::rms_norm(&x, &self.weight.val(), self.eps) {
            return normed;
        }
        let dtype = x.dtype();
        let x32 = x.cast(FloatDType::F32);
        let inv_rms = (x32.clone().square().mean_dim(D - 1) + self.eps)
            .sqrt()
            .recip();
        let normed = (x32 * inv_rms).cast(dtype);
        normed * self.weight.val().unsqueeze()
    }
}
