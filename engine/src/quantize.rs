//! Weight quantization as deployments do it, for the quantization attack on an unlearned model:
//! llama.cpp's `Q8_0` and `Q4_0` (ggml `ggml-quants.c`, `quantize_row_q8_0_ref` and
//! `quantize_row_q4_0_ref`), de-quantized back to f32 for the forward ("fake quantization": the
//! values the quantized model computes with, in Lethe's own kernels).
//!
//! Both are per-block symmetric integer formats: each row of a weight matrix (HF `[out, in]`,
//! so along the input features, as ggml lays rows out) is cut into blocks of 32 values with one
//! f16 scale `d` each.
//! - `Q8_0`: `d = max|x| / 127`, `q = round(x / d)` in [-127, 127], value `q·d`.
//! - `Q4_0`: `m` = the value of largest magnitude (with its sign), `d = m / -8`,
//!   `q = min(15, trunc(x / d + 8.5))` in [0, 15], value `(q − 8)·d`.
//!
//! What is quantized: the seven projection matrices of every decoder layer (`q_proj`, `k_proj`,
//! `v_proj`, `o_proj`, `gate_proj`, `up_proj`, `down_proj`), which hold nearly all of the
//! weights; embeddings, norms and biases stay as they are, as `bitsandbytes` and GPTQ leave them.
//! Zhang et al. (2024), "Does your LLM truly unlearn? An embarrassingly simple approach to
//! recover unlearned knowledge", showed that 4-bit quantization undoes much of the forgetting of
//! gradient-ascent-style methods.

use std::collections::BTreeMap;

use half::f16;

use crate::EngineError;

/// Values per block.
pub const BLOCK: usize = 32;

/// The projection weights a quantized deployment stores as integers.
pub fn is_quantized(name: &str) -> bool {
    name.starts_with("model.layers.")
        && name.ends_with("_proj.weight")
        && crate::llama::PROJECTIONS
            .iter()
            .any(|p| name.ends_with(&format!(".{p}.weight")))
}

fn q8_0(block: &mut [f32]) {
    let amax = block.iter().fold(0.0_f32, |m, x| m.max(x.abs()));
    let d = f16::from_f32(amax / 127.0).to_f32();
    let id = if d == 0.0 { 0.0 } else { 1.0 / d };
    for x in block {
        *x = (*x * id).round() * d;
    }
}

fn q4_0(block: &mut [f32]) {
    let max = block
        .iter()
        .copied()
        .fold(0.0_f32, |m, x| if x.abs() > m.abs() { x } else { m });
    let d = f16::from_f32(max / -8.0).to_f32();
    let id = if d == 0.0 { 0.0 } else { 1.0 / d };
    for x in block {
        #[expect(
            clippy::cast_possible_truncation,
            reason = "ggml truncates to int8 the same way"
        )]
        let q = ((*x * id + 8.5) as i8).min(15);
        *x = f32::from(q - 8) * d;
    }
}

/// Replaces `values` (rows of `row_len`) with their `bits`-bit blockwise quantization.
pub fn fake_quantize(values: &mut [f32], row_len: usize, bits: u8) -> Result<(), EngineError> {
    let quantize: fn(&mut [f32]) = match bits {
        8 => q8_0,
        4 => q4_0,
        other => {
            return Err(EngineError::InvalidConfig {
                field: "bits".into(),
                reason: format!("{other}: quantize to 8 or 4 bits"),
            });
        }
    };
    for row in values.chunks_mut(row_len.max(1)) {
        row.chunks_mut(BLOCK).for_each(quantize);
    }
    Ok(())
}

/// Quantizes the projection weights of a state dict (HF names and layout, as
/// [`crate::llama::LlamaForCausalLM::state_dict`] gives it) in place; returns how many values
/// were quantized.
pub fn quantize_state(
    state: &mut BTreeMap<String, (Vec<usize>, Vec<f32>)>,
    bits: u8,
) -> Result<usize, EngineError> {
    let mut count = 0;
    for (name, (shape, values)) in state.iter_mut() {
        if is_quantized(name) {
            fake_quantize(values, shape.last().copied().unwrap_or(1), bits)?;
            count += values.len();
        }
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_follow_ggml() {
        // One block: 8 bits keeps 127 levels of the largest magnitude, 4 bits 16.
        let original: Vec<f32> = (0..32_i16).map(|i| f32::from(i - 16) / 10.0).collect();
        let mut q8 = original.clone();
        fake_quantize(&mut q8, 32, 8).unwrap();
        let mut q4 = original.clone();
        fake_quantize(&mut q4, 32, 4).unwrap();
        let err = |q: &[f32]| {
            q.iter()
                .zip(&original)
                .fold(0.0_f32, |m, (a, b)| m.max((a - b).abs()))
        };
        // The largest magnitude is -1.6: Q4_0's d = 0.2 (rounded to f16), so -1.6 is its
        // lowest level (q = 0) and the error is at most d/2; Q8_0's d = 1.6/127.
        assert!(q4.iter().any(|x| (x + 1.6).abs() < 1e-3), "{q4:?}");
        // 7·d ≈ 1.3996 is the highest level, so 1.5 is off by slightly more than d/2.
        assert!(err(&q4) <= 0.101, "{}", err(&q4));
        assert!(err(&q8) <= 1.6 / 127.0 / 2.0 + 1e-4, "{}", err(&q8));
        assert!(err(&q8) < err(&q4));
        let levels: std::collections::BTreeSet<i64> =
            q4.iter().map(|x| (x / 0.2).round() as i64).collect();
        assert!(levels.len() <= 16, "{levels:?}");
        assert!(fake_quantize(&mut q8, 32, 3).is_err());
    }

    #[test]
    fn only_projection_weights_are_quantized() {
        assert!(is_quantized("model.layers.3.self_attn.q_proj.weight"));
        assert!(is_quantized("model.layers.0.mlp.down_proj.weight"));
        assert!(!is_quantized("model.layers.0.self_attn.q_proj.bias"));
        assert!(!is_quantized("model.embed_tokens.weight"));
        assert!(!is_quantized("lm_head.weight"));
        assert!(!is_quantized("model.layers.0.input_layernorm.weight"));
    }
}
