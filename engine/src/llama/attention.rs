//! Grouped-query self-attention with RoPE, Qwen3's per-head q/k norms, optional biases and a KV
//! cache (`LlamaAttention`, `Qwen3Attention`, `MistralAttention` with eager attention).
//! Paper (GQA): <https://arxiv.org/abs/2305.13245>.
//!
//! Key/value heads are never copied `n_rep` times (HF's `repeat_kv`): the queries of one group are
//! stacked along the sequence axis and multiplied with their shared key/value head instead, which
//! is the same arithmetic on fewer bytes.

use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::activation::softmax;
use burn::tensor::{FloatDType, Tensor};

use super::kv_cache::LayerCache;
use super::norm::RmsNorm;
use super::packing::Packing;
use super::rope::RopeTables;
use crate::device::{cached_attention, linear, sequence_attention};

/// q/k/v/o projections (HF key names) and the head layout.
#[derive(Module, Debug)]
pub struct Attention {
    /// `[hidden, heads * head_dim]`.
    pub q_proj: Linear,
    /// `[hidden, kv_heads * head_dim]`.
    pub k_proj: Linear,
    /// `[hidden, kv_heads * head_dim]`.
    pub v_proj: Linear,
    /// `[heads * head_dim, hidden]`.
    pub o_proj: Linear,
    /// Qwen3: RMSNorm over each query head, before RoPE.
    pub q_norm: Option<RmsNorm>,
    /// Qwen3: RMSNorm over each key head, before RoPE.
    pub k_norm: Option<RmsNorm>,
    /// Query heads.
    pub num_heads: usize,
    /// Key/value heads.
    pub num_kv_heads: usize,
    /// Width of one head.
    pub head_dim: usize,
}

impl Attention {
    /// `x`: `[batch, seq, hidden]`, or with `packing` the real tokens `[1, tokens, hidden]` (the
    /// projections run on those, the attention itself on the padded layout); `mask`: additive
    /// f32 `[batch, 1, seq, past + seq]`.
    pub fn forward(
        &self,
        x: Tensor<3>,
        rope: &RopeTables,
        mask: &Tensor<4>,
        cache: Option<&mut LayerCache>,
        packing: Option<&Packing>,
    ) -> Tensor<3> {
        let [batch, seq] = match packing {
            Some(packing) => [packing.batch, packing.seq],
            None => [x.dims()[0], x.dims()[1]],
        };
        let (heads, kv_heads, head_dim) = (self.num_heads, self.num_kv_heads, self.head_dim);
        // `[.., n * head_dim]` -> `[batch, seq, n, head_dim]`, normed per head where Qwen3 does.
        let split = |t: Tensor<3>, n: usize, norm: Option<&RmsNorm>| {
            let t = match packing {
                Some(packing) => packing.unpack(t),
                None => t,
            };
            let t = t.reshape([batch, seq, n, head_dim]);
            match norm {
                Some(norm) => norm.forward(t),
                None => t,
            }
        };
        // RoPE returns the heads first: `[batch, n, seq, head_dim]`.
        let q = rope.apply(split(
            linear(&self.q_proj, x.clone()),
            heads,
            self.q_norm.as_ref(),
        ));
        let k = rope.apply(split(
            linear(&self.k_proj, x.clone()),
            kv_heads,
            self.k_norm.as_ref(),
        ));
        let v = split(linear(&self.v_proj, x), kv_heads, None).swap_dims(1, 2);
        #[expect(clippy::cast_precision_loss, reason = "head_dim is small")]
        let scale = (head_dim as f64).powf(-0.5);
        let out = match cache {
            // Decoding on the CPU: the kernel reads and extends the host cache in place.
            Some(cache) => match cached_attention::attend(&q, &k, &v, mask, scale, &mut cache.host)
            {
                Some(out) => out,
                None => {
                    let (k, v) = cache.append(k, v);
                    self.attend(q, k, v, mask, scale)
                }
            },
            None => self.attend(q, k, v, mask, scale),
        };
        let out = match packing {
            Some(packing) => packing.pack(out),
            None => out,
        };
        linear(&self.o_proj, out)
    }
}

impl Attention {
    /// `softmax(q·kᵀ · scale + mask) · v` with `q` `[batch, heads, seq, dim]` and `k`, `v`
    /// `[batch, kv_heads, keys, dim]`, returned as `[batch, seq, heads * dim]`.
    fn attend(
        &self,
        q: Tensor<4>,
        k: Tensor<4>,
        v: Tensor<4>,
        mask: &Tensor<4>,
        scale: f64,
    ) -> Tensor<3> {
        // The CPU at f32: one kernel per (row, key/value head), with its own backward.
        if let Some(out) = sequence_attention::attend(&q, &k, &v, mask, scale) {
            return out;
        }
        let [batch, heads, seq, head_dim] = q.dims();
        let (kv_heads, keys, dtype) = (k.dims()[1], k.dims()[2], q.dtype());
        let group = heads / kv_heads;
        // [b, heads, s, d] -> [b, kv_heads, group * s, d]: queries sharing a kv head, stacked.
        let q = q.reshape([batch, kv_heads, group * seq, head_dim]);
        let scores = q.matmul(k.swap_dims(2, 3)).mul_scalar(scale);
        let scores = scores
            .reshape([batch, heads, seq, keys])
            .cast(FloatDType::F32)
            + mask.clone();
        let probs = softmax(scores, 3).cast(dtype);
        probs
            .reshape([batch, kv_heads, group * seq, keys])
            .matmul(v)
            .reshape([batch, heads, seq, head_dim])
            .swap_dims(1, 2)
            .reshape([batch, seq, heads * head_dim])
    }
}
