//! Rotary position embeddings, HF layout: the head is split in halves and rotated with
//! `rotate_half` (burn's `RotaryEncoding` rotates interleaved pairs instead, so it does not match
//! HF logits; shared/toolchain/BURN.md). Paper: <https://arxiv.org/abs/2104.09864>.
//! Frequencies follow transformers `modeling_rope_utils.py` (`default`, `llama3`), in f32 like it.

use burn::tensor::{Device, Tensor, TensorData};

use super::config::{RopeConfig, RopeScaling};

/// The inverse frequencies of one head, `[head_dim / 2]`, with Llama 3 rescaling applied.
pub fn inverse_frequencies(rope: &RopeConfig, head_dim: usize) -> Vec<f32> {
    #[expect(
        clippy::cast_possible_truncation,
        reason = "transformers computes these in f32"
    )]
    let base = rope.theta as f32;
    #[expect(clippy::cast_precision_loss, reason = "head_dim is small")]
    let plain = (0..head_dim)
        .step_by(2)
        .map(|i| 1.0 / base.powf(i as f32 / head_dim as f32));
    match rope.scaling {
        RopeScaling::None => plain.collect(),
        RopeScaling::Llama3 {
            factor,
            low_freq_factor,
            high_freq_factor,
            original_max_position_embeddings,
        } => {
            #[expect(clippy::cast_precision_loss, reason = "context lengths are small")]
            let original = original_max_position_embeddings as f64;
            let low_freq_wavelen = original / low_freq_factor;
            let high_freq_wavelen = original / high_freq_factor;
            plain
                .map(|freq| {
                    let freq = f64::from(freq);
                    let wavelen = 2.0 * std::f64::consts::PI / freq;
                    let scaled = if wavelen > low_freq_wavelen {
                        freq / factor
                    } else {
                        freq
                    };
                    let medium = wavelen >= high_freq_wavelen && wavelen <= low_freq_wavelen;
                    let result = if medium {
                        let smooth = (original / wavelen - low_freq_factor)
                            / (high_freq_factor - low_freq_factor);
                        (1.0 - smooth) * scaled / factor + smooth * scaled
                    } else {
                        scaled
                    };
                    #[expect(clippy::cast_possible_truncation, reason = "f32 like transformers")]
                    let result = result as f32;
                    result
                })
                .collect()
        }
    }
}

/// `cos` and `sin` for given positions, each `[batch, 1, seq, head_dim]` (halves duplicated, as
/// HF's `cat((freqs, freqs), -1)`).
#[derive(Debug, Clone)]
pub struct RopeTables {
    /// Cosines.
    pub cos: Tensor<4>,
    /// Sines.
    pub sin: Tensor<4>,
}

impl RopeTables {
    /// Tables for `positions` (`[batch * seq]`, row-major).
    pub fn new(
        inv_freq: &[f32],
        positions: &[usize],
        batch: usize,
        seq: usize,
        device: &Device,
    ) -> Self {
        let half = inv_freq.len();
        let mut cos = Vec::with_capacity(positions.len() * half * 2);
        let mut sin = Vec::with_capacity(positions.len() * half * 2);
        for &position in positions {
            #[expect(clippy::cast_precision_loss, reason = "positions < 2^24")]
            let position = position as f32;
            let angles: Vec<f32> = inv_freq.iter().map(|freq| freq * position).collect();
            for _ in 0..2 {
                cos.extend(angles.iter().map(|angle| angle.cos()));
                sin.extend(angles.iter().map(|angle| angle.sin()));
            }
        }
        let shape = [batch, 1, seq, half * 2];
        Self {
            cos: Tensor::from_data(TensorData::new(cos, shape), device),
            sin: Tensor::from_data(TensorData::new(sin, shape), device),
        }
    }

    /// The same tables on `device`.
    pub fn to_device(self, device: &Device) -> Self {
        Self {
            cos: self.cos.to_device(device),
            sin: self.sin.to_device(device),
        }
    }

    /// RoPE of `x` `[batch, seq, heads, head_dim]` (a projection split into heads), returned as
    /// `[batch, heads, seq, head_dim]`, the attention's layout. Inference passes on the CPU take
    /// one fused pass ([`crate::device::fused::rope`]), the rest [`Self::apply_separately`].
    pub fn apply(&self, x: Tensor<4>) -> Tensor<4> {
        crate::device::fused::rope(&x, &self.cos, &self.sin)
            .unwrap_or_else(|| self.apply_separately(x.swap_dims(1, 2)))
    }

    /// `x * cos + rotate_half(x) * sin` for `x` of shape `[batch, heads, seq, head_dim]`, in
    /// burn's ops (autodiff derives their backward).
    pub fn apply_separately(&self, x: Tensor<4>) -> Tensor<4> {
        let [_, _, _, head_dim] = x.dims();
        let half = head_dim / 2;
        let first = x.clone().narrow(3, 0, half);
        let second = x.clone().narrow(3, half, half);
        let rotated = Tensor::cat(vec![second.neg(), first], 3);
        let dtype = x.dtype();
        x * self.cos.clone().cast(dtype) + rotated * self.sin.clone().cast(dtype)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn llama3_scaling_matches_transformers() {
        // transformers 5.24 `_compute_llama3_parameters` for Llama-3.2-1B (theta 5e5, head_dim 64,
        // factor 32, low 1, high 4, original 8192): first, a medium and the last frequency.
        let rope = RopeConfig {
            theta: 500_000.0,
            scaling: RopeScaling::Llama3 {
                factor: 32.0,
                low_freq_factor: 1.0,
                high_freq_factor: 4.0,
                original_max_position_embeddings: 8192,
            },
        };
        let freqs = inverse_frequencies(&rope, 64);
        assert_eq!(freqs.len(), 32);
        assert!((freqs[0] - 1.0).abs() < 1e-7);
        let plain = inverse_frequencies(
            &RopeConfig {
                theta: 500_000.0,
                scaling: RopeScaling::None,
            },
            64,
        );
        // High frequencies are untouched, the lowest are divided by the factor.
        assert_eq!(freqs[..10], plain[..10]);
        assert!((freqs[31] - plain[31] / 32.0).abs() < 1e-12);
        // The band in between is interpolated: strictly between plain/32 and plain.
        let medium: Vec<usize> = (0..32)
            .filter(|&i| freqs[i] < plain[i] && freqs[i] > plain[i] / 32.0)
            .collect();
        assert!(!medium.is_empty(), "{freqs:?}");
    }
}
