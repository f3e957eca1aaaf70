//! The causal LM: `embed_tokens` → decoder layers → `norm` → `lm_head` (or the embedding matrix
//! when tied), with fields named like the HF keys so `model.layers.3.mlp.up_proj.weight` is
//! `model.layers[3].mlp.up_proj.weight`.
//!
//! Paper: <https://arxiv.org/abs/2302.13971>. References: transformers `modeling_llama.py`,
//! candle `candle-transformers/src/models/llama.rs`.

use std::fmt;
use std::str::FromStr;

use burn::module::Module;
use burn::nn::{Embedding, Linear};
use burn::tensor::module::embedding;
use burn::tensor::{Device, FloatDType, Tensor, TensorData};

use super::batch::{TokenBatch, attention_bias};
use super::block::DecoderLayer;
use super::config::LlamaConfig;
use super::kv_cache::KvCache;
use super::norm::RmsNorm;
use super::packing::Packing;
use super::rope::RopeTables;
use crate::EngineError;
use crate::device;

/// The precision weights are held in on the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WeightDtype {
    /// f32 (CPU default; parity tests).
    #[default]
    F32,
    /// IEEE half.
    F16,
    /// bfloat16 (what the study's checkpoints are stored in).
    Bf16,
}

impl WeightDtype {
    pub(crate) fn float(self) -> FloatDType {
        match self {
            Self::F32 => FloatDType::F32,
            Self::F16 => FloatDType::F16,
            Self::Bf16 => FloatDType::BF16,
        }
    }
}

impl FromStr for WeightDtype {
    type Err = EngineError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "f32" | "float32" => Ok(Self::F32),
            "f16" | "float16" => Ok(Self::F16),
            "bf16" | "bfloat16" => Ok(Self::Bf16),
            other => Err(EngineError::InvalidConfig {
                field: "dtype".into(),
                reason: format!("`{other}` is not a dtype; use f32, f16 or bf16"),
            }),
        }
    }
}

impl fmt::Display for WeightDtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::F32 => "f32",
            Self::F16 => "f16",
            Self::Bf16 => "bf16",
        })
    }
}

/// Embedding, decoder layers and final norm (HF's `model.` prefix).
#[derive(Module, Debug)]
pub struct LlamaModel {
    /// `[vocab, hidden]`.
    pub embed_tokens: Embedding,
    /// Decoder layers.
    pub layers: Vec<DecoderLayer>,
    /// Final RMSNorm.
    pub norm: RmsNorm,
}

/// A decoder-only causal LM of the Llama family.
#[derive(Module, Debug)]
pub struct LlamaForCausalLM {
    /// The transformer body.
    pub model: LlamaModel,
    /// Output projection `[hidden, vocab]`; `None` when tied to `embed_tokens`.
    pub lm_head: Option<Linear>,
    /// The resolved configuration.
    #[module(skip)]
    pub config: LlamaConfig,
    /// RoPE inverse frequencies, `[head_dim / 2]`.
    #[module(skip)]
    pub inv_freq: Vec<f32>,
}

/// Every parameter of a model with `config`, in HF names and HF shapes (`[out, in]`).
pub fn expected_tensors(config: &LlamaConfig) -> Vec<(String, Vec<usize>)> {
    let (hidden, inter, head_dim) = (
        config.hidden_size,
        config.intermediate_size,
        config.head_dim,
    );
    let q_width = config.num_attention_heads * head_dim;
    let kv_width = config.num_key_value_heads * head_dim;
    let mut out = vec![(
        "model.embed_tokens.weight".to_string(),
        vec![config.vocab_size, hidden],
    )];
    for layer in 0..config.num_hidden_layers {
        let p = format!("model.layers.{layer}.");
        let mut push = |name: &str, shape: Vec<usize>| out.push((format!("{p}{name}"), shape));
        push("input_layernorm.weight", vec![hidden]);
        push("post_attention_layernorm.weight", vec![hidden]);
        for (proj, width) in [("q", q_width), ("k", kv_width), ("v", kv_width)] {
            push(
                &format!("self_attn.{proj}_proj.weight"),
                vec![width, hidden],
            );
            if config.attention_bias {
                push(&format!("self_attn.{proj}_proj.bias"), vec![width]);
            }
        }
        push("self_attn.o_proj.weight", vec![hidden, q_width]);
        if config.attention_bias {
            push("self_attn.o_proj.bias", vec![hidden]);
        }
        if config.qk_norm {
            push("self_attn.q_norm.weight", vec![head_dim]);
            push("self_attn.k_norm.weight", vec![head_dim]);
        }
        for (proj, shape) in [
            ("gate_proj", vec![inter, hidden]),
            ("up_proj", vec![inter, hidden]),
            ("down_proj", vec![hidden, inter]),
        ] {
            let bias = shape[0];
            push(&format!("mlp.{proj}.weight"), shape);
            if config.mlp_bias {
                push(&format!("mlp.{proj}.bias"), vec![bias]);
            }
        }
    }
    out.push(("model.norm.weight".into(), vec![hidden]));
    if !config.tie_word_embeddings {
        out.push(("lm_head.weight".into(), vec![config.vocab_size, hidden]));
    }
    out
}

impl LlamaForCausalLM {
    /// The device the embedding lives on: the first device of a split model, the only one
    /// otherwise. Inputs are built here.
    pub fn device(&self) -> Device {
        self.model.embed_tokens.weight.val().device()
    }

    /// The same weights on the plain device: no autodiff graph is recorded and no gradient is
    /// kept. The tensors are shared, not copied. What an evaluation during training runs.
    pub fn without_autodiff(&self) -> Self {
        self.valid()
    }

    /// The device the logits come out on: the output projection's (the last device of a split
    /// model; the first when the projection is tied to the embedding).
    pub fn output_device(&self) -> Device {
        match &self.lm_head {
            Some(head) => head.weight.val().device(),
            None => self.device(),
        }
    }

    /// Final hidden states `[batch, seq, hidden]` (after `norm`). With a cache, `batch` holds only
    /// the new tokens and the cache is extended.
    pub fn forward_hidden(&self, batch: &TokenBatch, cache: Option<&mut KvCache>) -> Tensor<3> {
        self.hidden(batch, cache, false)
    }

    /// [`Self::forward_hidden`] of the real tokens only: the layers skip the padding
    /// ([`Packing`]), and what comes out at padded positions is a placeholder. For losses and
    /// metrics that read real positions only.
    pub fn forward_hidden_real(&self, batch: &TokenBatch) -> Tensor<3> {
        self.hidden(batch, None, true)
    }

    fn hidden(
        &self,
        batch: &TokenBatch,
        cache: Option<&mut KvCache>,
        skip_pads: bool,
    ) -> Tensor<3> {
        let device = self.device();
        let mut scratch;
        let cache_ref = match cache {
            Some(cache) => cache,
            None => {
                scratch = KvCache::new(0, batch.batch);
                &mut scratch
            }
        };
        let past_real: Vec<usize> = cache_ref
            .key_mask
            .iter()
            .map(|row| row.iter().filter(|real| **real).count())
            .collect();
        let positions = batch.positions(&past_real);
        let rope = RopeTables::new(&self.inv_freq, &positions, batch.batch, batch.seq, &device);
        for (row, keys) in cache_ref.key_mask.iter_mut().enumerate() {
            keys.extend_from_slice(batch.mask_row(row));
        }
        let bias = attention_bias(
            &cache_ref.key_mask,
            batch.seq,
            self.config.sliding_window,
            &device,
        );
        let mut x = embedding(
            self.model.embed_tokens.weight.val(),
            batch.ids_tensor(&device),
        );
        // Only a gradient can tell the two terms below apart: a plain pass skips them.
        if let Some(pad) = self.config.pad_token_id
            && x.is_autodiff()
            && batch.ids.contains(&pad)
        {
            // torch's `nn.Embedding(padding_idx=pad_token_id)`, which HF Llama/Qwen3/Mistral use:
            // the pad row never receives a gradient (it matters for KL terms over padded positions).
            let keep: Vec<f32> = batch
                .ids
                .iter()
                .map(|id| f32::from(u8::from(*id != pad)))
                .collect();
            let keep: Tensor<3> =
                Tensor::<2>::from_data(TensorData::new(keep, [batch.batch, batch.seq]), &device)
                    .unsqueeze_dim(2)
                    .cast(x.dtype());
            x = x.clone() * keep.clone() + x.detach() * keep.neg().add_scalar(1.0);
        }
        let use_cache = cache_ref.layers.len() == self.model.layers.len();
        // `skip_pads` comes only without a cache (`forward_hidden_real`).
        let mut packing = if skip_pads {
            Packing::of(batch, &device)
        } else {
            None
        };
        if let Some(packing) = &packing {
            x = packing.pack(x);
        }
        let (mut rope, mut bias, mut here) = (rope, bias, device);
        for (index, layer) in self.model.layers.iter().enumerate() {
            // A split model's layers are contiguous per device: the activations, the RoPE
            // tables and the mask move once at each boundary (autodiff moves the gradient back).
            let target = layer.device();
            if target != here {
                x = x.to_device(&target);
                rope = rope.to_device(&target);
                bias = bias.to_device(&target);
                packing = packing.map(|packing| packing.to_device(&target));
                here = target;
            }
            let layer_cache = if use_cache {
                cache_ref.layers.get_mut(index)
            } else {
                None
            };
            x = layer.forward(x, &rope, &bias, layer_cache, packing.as_ref());
        }
        let target = self.model.norm.weight.val().device();
        if target != here {
            x = x.to_device(&target);
            packing = packing.map(|packing| packing.to_device(&target));
        }
        let x = self.model.norm.forward(x);
        match packing {
            Some(packing) => packing.unpack(x),
            None => x,
        }
    }

    /// Logits `[batch, seq, vocab]` in the weights' dtype.
    pub fn logits(&self, hidden: Tensor<3>) -> Tensor<3> {
        let target = self.output_device();
        let hidden = if hidden.device() == target {
            hidden
        } else {
            hidden.to_device(&target)
        };
        match &self.lm_head {
            Some(head) => device::linear(head, hidden),
            None => {
                let [batch, seq, width] = hidden.dims();
                let embed = self.model.embed_tokens.weight.val();
                let vocab = embed.dims()[0];
                device::matmul_transposed(hidden.reshape([batch * seq, width]), embed)
                    .reshape([batch, seq, vocab])
            }
        }
    }

    /// Logits for every position of `batch`.
    pub fn forward(&self, batch: &TokenBatch, cache: Option<&mut KvCache>) -> Tensor<3> {
        self.logits(self.forward_hidden(batch, cache))
    }

    /// A fresh cache for `batch` rows.
    pub fn new_cache(&self, batch: usize) -> KvCache {
        KvCache::new(self.model.layers.len(), batch)
    }

    /// Parameter count (tied embeddings counted once).
    pub fn parameter_count(&self) -> usize {
        self.num_params()
    }
}
