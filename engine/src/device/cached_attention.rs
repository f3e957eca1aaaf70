//! Attention over a KV cache on the CPU: decoding, where each step adds one query per row and
//! reads every cached key and value.
//!
//! With burn's ops a step concatenates this step's keys and values onto the whole cache (a copy
//! of every cached position, every layer, every step) and the attention op copies its inputs
//! again before it reads them. Here the step's keys and values are written into host buffers
//! that grow by doubling ([`HostKv`]), and one pass per (row, key/value head) computes the
//! scores, the softmax and the weighted sum of values for the query heads sharing that key/value
//! head, reading the cache where it lies. Keys are stored transposed, so a query's scores against
//! all positions are multiply-adds along contiguous memory, as are the values' weighted sums.
//! Autodiff tensors, other dtypes and GPU devices return `None` and keep burn's ops.

use burn::tensor::Tensor;

use super::attention_rows::{KeyValues, attend_row, map_blocks};
use super::fused::{host, tensor, values};
use crate::llama::kv_cache::HostKv;

/// Below this many multiply-adds (per side: scores, weighted values) one thread does the step:
/// waking rayon's pool costs more than a small model's step.
const PARALLEL_WORK: usize = 1 << 18;

/// Scaled dot-product attention of `q` (`[batch, heads, seq, dim]`) over the cache after
/// appending `k` and `v` (`[batch, kv_heads, seq, dim]`) to it, with the additive `mask`
/// (`[batch, 1, seq, cached + seq]`). Returns `[batch, seq, heads * dim]`, the layout the output
/// projection takes, or `None` (the cache untouched) where the kernel does not apply.
pub fn attend(
    q: &Tensor<4>,
    k: &Tensor<4>,
    v: &Tensor<4>,
    mask: &Tensor<4>,
    scale: f64,
    cache: &mut HostKv,
) -> Option<Tensor<3>> {
    let [batch, heads, seq, dim] = q.dims();
    let [_, kv_heads, _, _] = k.dims();
    let keys = cache.len + seq;
    if k.dims() != [batch, kv_heads, seq, dim]
        || v.dims() != k.dims()
        || mask.dims() != [batch, 1, seq, keys]
        || kv_heads == 0
        || heads % kv_heads != 0
        || (cache.len > 0 && cache.shape != [batch, kv_heads, dim])
    {
        return None;
    }
    let (q, k, v, mask) = (host(q)?, host(k)?, host(v)?, host(mask)?);
    if !cache.append([batch, kv_heads, dim], seq, values(&k), values(&v)) {
        return None;
    }
    let (q, mask) = (values(&q), values(&mask));
    let group = heads / kv_heads;
    let capacity = cache.capacity();
    #[expect(
        clippy::cast_possible_truncation,
        reason = "burn scales f32 scores by an f32"
    )]
    let scale = scale as f32;
    let cache = &*cache;
    // One task per (row, key/value head): its query heads' outputs, `[group, seq, dim]`.
    let parts = map_blocks(
        batch * kv_heads,
        batch * heads * seq * keys * dim >= PARALLEL_WORK,
        #[inline(always)]
        |block| {
            let (row, kv_head) = (block / kv_heads, block % kv_heads);
            let (cached_keys, cached_values) = cache.block(block);
            let mut out = vec![0.0f32; group * seq * dim];
            let mut scores = vec![0.0f32; keys];
            let kv = KeyValues {
                keys_t: cached_keys,
                values: cached_values,
                stride: capacity,
            };
            for (index, out) in out.chunks_exact_mut(dim).enumerate() {
                let (member, position) = (index / seq, index % seq);
                let head = kv_head * group + member;
                let query = &q[((row * heads + head) * seq + position) * dim..][..dim];
                let bias = &mask[(row * seq + position) * keys..][..keys];
                attend_row(query, kv, bias, scale, &mut scores, out);
            }
            out
        },
    );
    let width = heads * dim;
    let mut out = vec![0.0f32; batch * seq * width];
    for (block, part) in parts.iter().enumerate() {
        let (row, kv_head) = (block / kv_heads, block % kv_heads);
        for (index, values) in part.chunks_exact(dim).enumerate() {
            let (member, position) = (index / seq, index % seq);
            let head = kv_head * group + member;
            out[(row * seq + position) * width + head * dim..][..dim].copy_from_slice(values);
        }
    }
    Some(tensor(out, [batch, seq, width]))
}

#[cfg(test)]
mod tests {
    use burn::tensor::activation::softmax;
    use burn::tensor::{Device, Distribution, TensorData};

    use super::*;

    fn random(shape: [usize; 4]) -> Tensor<4> {
        Tensor::random(shape, Distribution::Normal(0.0, 1.0), &Device::flex())
    }

    /// burn's separate ops on the whole key/value sequence: the reference.
    fn reference(q: Tensor<4>, k: Tensor<4>, v: Tensor<4>, mask: Tensor<4>) -> Tensor<3> {
        let [batch, heads, seq, dim] = q.dims();
        let kv_heads = k.dims()[1];
        let group = heads / kv_heads;
        let repeat = |t: Tensor<4>| {
            let [b, h, s, d] = t.dims();
            t.unsqueeze_dim::<5>(2)
                .repeat_dim(2, group)
                .reshape([b, h * group, s, d])
        };
        #[expect(clippy::cast_precision_loss, reason = "small")]
        let scale = 1.0 / (dim as f32).sqrt();
        let scores = q.matmul(repeat(k).swap_dims(2, 3)).mul_scalar(scale) + mask;
        softmax(scores, 3)
            .matmul(repeat(v))
            .swap_dims(1, 2)
            .reshape([batch, seq, heads * dim])
    }

    /// A prefill then single-token steps (the buffers grow on the way), left padding masked, and
    /// grouped heads: every step agrees with burn's ops over the whole sequence.
    #[test]
    fn steps_over_the_cache_agree_with_burns_ops() {
        let (batch, heads, kv_heads, dim) = (3, 6, 2, 16);
        let mut cache = HostKv::default();
        let (mut all_k, mut all_v): (Option<Tensor<4>>, Option<Tensor<4>>) = (None, None);
        let prompt = 5;
        for (step, seq) in [prompt, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]
            .into_iter()
            .enumerate()
        {
            let (q, k, v) = (
                random([batch, heads, seq, dim]),
                random([batch, kv_heads, seq, dim]),
                random([batch, kv_heads, seq, dim]),
            );
            let cat = |past: Option<Tensor<4>>, new: &Tensor<4>| match past {
                Some(past) => Tensor::cat(vec![past, new.clone()], 2),
                None => new.clone(),
            };
            all_k = Some(cat(all_k, &k));
            all_v = Some(cat(all_v, &v));
            let keys = cache.len + seq;
            // Row 1 is left-padded by two positions; the prompt is causal.
            let bias: Vec<f32> = (0..batch * seq * keys)
                .map(|flat| {
                    let (row, query, key) = (flat / (seq * keys), flat / keys % seq, flat % keys);
                    let future = key > cache.len + query;
                    if (row == 1 && key < 2) || future {
                        f32::MIN
                    } else {
                        0.0
                    }
                })
                .collect();
            let mask = Tensor::<4>::from_data(
                TensorData::new(bias, [batch, 1, seq, keys]),
                &Device::flex(),
            );
            let scale = 1.0 / (dim as f64).sqrt();
            let got = attend(&q, &k, &v, &mask, scale, &mut cache).expect("a plain f32 CPU tensor");
            let expected = reference(
                q,
                all_k.clone().expect("set above"),
                all_v.clone().expect("set above"),
                mask,
            );
            let difference: f32 = (got - expected).abs().max().into_scalar();
            assert!(difference < 1e-5, "step {step}: {difference}");
        }
        assert!(cache.capacity() >= cache.len && cache.len == prompt + 11);
    }

    #[test]
    fn autodiff_inputs_and_a_mismatched_mask_leave_the_cache_alone() {
        let mut cache = HostKv::default();
        let q = random([1, 2, 1, 8]);
        let k = random([1, 2, 1, 8]);
        let mask = Tensor::<4>::zeros([1, 1, 1, 1], &Device::flex());
        let tracked = q.clone().autodiff().require_grad();
        assert!(attend(&tracked, &k, &k, &mask, 1.0, &mut cache).is_none());
        let wrong = Tensor::<4>::zeros([1, 1, 1, 2], &Device::flex());
        assert!(attend(&q, &k, &k, &wrong, 1.0, &mut cache).is_none());
        assert_eq!(cache.len, 0);
        assert!(attend(&q, &k, &k, &mask, 1.0, &mut cache).is_some());
        assert_eq!(cache.len, 1);
    }
}
