//! The causal LM: `embed_tokens` → decoder layers → `norm` → `lm_head` (or the embedding matrix
//! when tied), with fields named like the HF keys so `model.layers.3.mlp.up_proj.weight` is
//! `model.layers[3].mlp.up_proj.weight`.
//!
//! Paper: <https://arxiv.org/abs/2302.13971>. References: transformers `modeling_llama.py`,
//! candle `candle-transformers/src/models/llama.rs`.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use burn::module::{Module, Param};
use burn::nn::{Embedding, Linear};
use burn::tensor::module::embedding;
use burn::tensor::{Device, FloatDType, Tensor, TensorData};

use super::attention::Attention;
use super::batch::{TokenBatch, attention_bias};
use super::block::DecoderLayer;
use super::config::LlamaConfig;
use super::kv_cache::KvCache;
use super::mlp::Mlp;
use super::norm::RmsNorm;
use super::rope::{RopeTables, inverse_frequencies};
use super::weights::{Checkpoint, HostTensor};
use crate::EngineError;

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
    fn float(self) -> FloatDType {
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

/// Checkpoint keys that carry no parameter: RoPE buffers some older checkpoints saved, and a
/// duplicate `lm_head.weight` beside tied embeddings (transformers ignores it too).
fn ignorable(name: &str, config: &LlamaConfig) -> bool {
    name.ends_with("rotary_emb.inv_freq")
        || (config.tie_word_embeddings && name == "lm_head.weight")
}

fn list(names: &[String]) -> String {
    const SHOWN: usize = 8;
    let mut text = names
        .iter()
        .take(SHOWN)
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        text.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    text
}

/// Reads the expected tensors one by one and builds device tensors from them.
struct Loader<'a> {
    checkpoint: &'a mut Checkpoint,
    device: &'a Device,
    dtype: FloatDType,
}

impl Loader<'_> {
    fn read(&mut self, name: &str, shape: &[usize]) -> Result<HostTensor, EngineError> {
        let tensor = self.checkpoint.read(name)?;
        if tensor.shape != shape {
            return Err(EngineError::InvalidFile {
                path: self.checkpoint.path().to_path_buf(),
                reason: format!(
                    "`{name}` has shape {:?}; the config needs {shape:?}",
                    tensor.shape
                ),
            });
        }
        Ok(tensor)
    }

    fn upload<const D: usize>(&self, data: Vec<f32>, shape: [usize; D]) -> Tensor<D> {
        let tensor = Tensor::from_data(TensorData::new(data, shape), self.device);
        if self.dtype == FloatDType::F32 {
            tensor
        } else {
            tensor.cast(self.dtype)
        }
    }

    fn vector(&mut self, name: &str, len: usize) -> Result<Tensor<1>, EngineError> {
        let tensor = self.read(name, &[len])?;
        Ok(self.upload(tensor.data, [len]))
    }

    fn norm(&mut self, name: &str, len: usize, eps: f64) -> Result<RmsNorm, EngineError> {
        Ok(RmsNorm::new(
            self.vector(&format!("{name}.weight"), len)?,
            eps,
        ))
    }

    /// HF `[out, in]` -> burn `[in, out]`.
    fn linear(
        &mut self,
        name: &str,
        out: usize,
        inp: usize,
        bias: bool,
    ) -> Result<Linear, EngineError> {
        let weight = self.read(&format!("{name}.weight"), &[out, inp])?;
        let mut transposed = vec![0.0; weight.data.len()];
        for (row, values) in weight.data.chunks_exact(inp).enumerate() {
            for (col, value) in values.iter().enumerate() {
                transposed[col * out + row] = *value;
            }
        }
        let bias = if bias {
            Some(Param::from_tensor(
                self.vector(&format!("{name}.bias"), out)?,
            ))
        } else {
            None
        };
        Ok(Linear {
            weight: Param::from_tensor(self.upload(transposed, [inp, out])),
            bias,
        })
    }
}

impl LlamaForCausalLM {
    /// Builds the model from `checkpoint`, checking first that its tensor names are exactly the
    /// ones `config` needs (the error lists what is missing and what is unexpected).
    pub fn load(
        config: &LlamaConfig,
        checkpoint: &mut Checkpoint,
        device: &Device,
        dtype: WeightDtype,
    ) -> Result<Self, EngineError> {
        let expected = expected_tensors(config);
        let expected_names: BTreeSet<&str> =
            expected.iter().map(|(name, _)| name.as_str()).collect();
        let present = checkpoint.names();
        let missing: Vec<String> = expected_names
            .iter()
            .filter(|name| !present.contains(**name))
            .map(ToString::to_string)
            .collect();
        let unexpected: Vec<String> = present
            .iter()
            .filter(|name| !expected_names.contains(name.as_str()) && !ignorable(name, config))
            .cloned()
            .collect();
        if !missing.is_empty() || !unexpected.is_empty() {
            let mut reason = String::from("checkpoint does not match the config:");
            if !missing.is_empty() {
                reason.push_str(&format!(" missing {}", list(&missing)));
            }
            if !unexpected.is_empty() {
                reason.push_str(&format!(" unexpected {}", list(&unexpected)));
            }
            return Err(EngineError::InvalidFile {
                path: checkpoint.path().to_path_buf(),
                reason,
            });
        }
        let mut loader = Loader {
            checkpoint,
            device,
            dtype: dtype.float(),
        };
        let c = config;
        let (hidden, inter, head_dim) = (c.hidden_size, c.intermediate_size, c.head_dim);
        let (heads, kv_heads) = (c.num_attention_heads, c.num_key_value_heads);
        let embed = loader.read("model.embed_tokens.weight", &[c.vocab_size, hidden])?;
        let embed_tokens = Embedding {
            weight: Param::from_tensor(loader.upload(embed.data, [c.vocab_size, hidden])),
        };
        let mut layers = Vec::with_capacity(c.num_hidden_layers);
        for layer in 0..c.num_hidden_layers {
            let p = format!("model.layers.{layer}");
            let a = format!("{p}.self_attn");
            let qk_norm = |loader: &mut Loader<'_>, which: &str| {
                c.qk_norm
                    .then(|| loader.norm(&format!("{a}.{which}_norm"), head_dim, c.rms_norm_eps))
                    .transpose()
            };
            let self_attn = Attention {
                q_proj: loader.linear(
                    &format!("{a}.q_proj"),
                    heads * head_dim,
                    hidden,
                    c.attention_bias,
                )?,
                k_proj: loader.linear(
                    &format!("{a}.k_proj"),
                    kv_heads * head_dim,
                    hidden,
                    c.attention_bias,
                )?,
                v_proj: loader.linear(
                    &format!("{a}.v_proj"),
                    kv_heads * head_dim,
                    hidden,
                    c.attention_bias,
                )?,
                o_proj: loader.linear(
                    &format!("{a}.o_proj"),
                    hidden,
                    heads * head_dim,
                    c.attention_bias,
                )?,
                q_norm: qk_norm(&mut loader, "q")?,
                k_norm: qk_norm(&mut loader, "k")?,
                num_heads: heads,
                num_kv_heads: kv_heads,
                head_dim,
            };
            let mlp = Mlp {
                gate_proj: loader.linear(
                    &format!("{p}.mlp.gate_proj"),
                    inter,
                    hidden,
                    c.mlp_bias,
                )?,
                up_proj: loader.linear(&format!("{p}.mlp.up_proj"), inter, hidden, c.mlp_bias)?,
                down_proj: loader.linear(
                    &format!("{p}.mlp.down_proj"),
                    hidden,
                    inter,
                    c.mlp_bias,
                )?,
            };
            layers.push(DecoderLayer {
                self_attn,
                mlp,
                input_layernorm: loader.norm(
                    &format!("{p}.input_layernorm"),
                    hidden,
                    c.rms_norm_eps,
                )?,
                post_attention_layernorm: loader.norm(
                    &format!("{p}.post_attention_layernorm"),
                    hidden,
                    c.rms_norm_eps,
                )?,
            });
        }
        let norm = loader.norm("model.norm", hidden, c.rms_norm_eps)?;
        let lm_head = if c.tie_word_embeddings {
            None
        } else {
            Some(loader.linear("lm_head", c.vocab_size, hidden, false)?)
        };
        Ok(Self {
            model: LlamaModel {
                embed_tokens,
                layers,
                norm,
            },
            lm_head,
            inv_freq: inverse_frequencies(&c.rope, head_dim),
            config: c.clone(),
        })
    }

    /// The device the weights live on.
    pub fn device(&self) -> Device {
        self.model.embed_tokens.weight.val().device()
    }

    /// Final hidden states `[batch, seq, hidden]` (after `norm`). With a cache, `batch` holds only
    /// the new tokens and the cache is extended.
    pub fn forward_hidden(&self, batch: &TokenBatch, cache: Option<&mut KvCache>) -> Tensor<3> {
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
        if let Some(pad) = self.config.pad_token_id
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
        for (index, layer) in self.model.layers.iter().enumerate() {
            let layer_cache = if use_cache {
                cache_ref.layers.get_mut(index)
            } else {
                None
            };
            x = layer.forward(x, &rope, &bias, layer_cache);
        }
        self.model.norm.forward(x)
    }

    /// Logits `[batch, seq, vocab]` in the weights' dtype.
    pub fn logits(&self, hidden: Tensor<3>) -> Tensor<3> {
        match &self.lm_head {
            Some(head) => head.forward(hidden),
            None => {
                let [batch, seq, width] = hidden.dims();
                let embed = self.model.embed_tokens.weight.val();
                let vocab = embed.dims()[0];
                hidden
                    .reshape([batch * seq, width])
                    .matmul(embed.transpose())
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
