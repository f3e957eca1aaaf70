//! Building a [`LlamaForCausalLM`]: from a checkpoint (the names checked against the config,
//! each tensor read, transposed where HF and burn differ, and uploaded to its device), or drawn
//! at random straight on the devices.

use std::collections::BTreeSet;

use burn::module::Param;
use burn::nn::{Embedding, Linear};
use burn::tensor::{Device, Distribution, FloatDType, Tensor, TensorData};

use super::attention::Attention;
use super::block::DecoderLayer;
use super::config::LlamaConfig;
use super::mlp::Mlp;
use super::model::{LlamaForCausalLM, LlamaModel, WeightDtype, expected_tensors};
use super::norm::RmsNorm;
use super::rope::inverse_frequencies;
use super::split::{LayerSplit, layer_split};
use super::weights::{Checkpoint, HostTensor};
use crate::EngineError;

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

/// Builds device tensors: read one by one from a checkpoint, or, without one, drawn on the
/// device (HF's Llama initialisation: normal(0, `std`) matrices, unit norms, zero biases).
struct Loader<'a> {
    checkpoint: Option<&'a mut Checkpoint>,
    /// Where the next tensors go: one of the model's devices.
    device: &'a Device,
    dtype: FloatDType,
    /// The random matrices' standard deviation.
    std: f64,
}

impl Loader<'_> {
    fn read(&mut self, name: &str, shape: &[usize]) -> Result<Option<HostTensor>, EngineError> {
        let Some(checkpoint) = self.checkpoint.as_deref_mut() else {
            return Ok(None);
        };
        let tensor = checkpoint.read(name)?;
        if tensor.shape != shape {
            return Err(EngineError::InvalidFile {
                path: checkpoint.path().to_path_buf(),
                reason: format!(
                    "`{name}` has shape {:?}; the config needs {shape:?}",
                    tensor.shape
                ),
            });
        }
        Ok(Some(tensor))
    }

    fn cast<const D: usize>(&self, tensor: Tensor<D>) -> Tensor<D> {
        if self.dtype == FloatDType::F32 {
            tensor
        } else {
            tensor.cast(self.dtype)
        }
    }

    fn upload<const D: usize>(&self, data: Vec<f32>, shape: [usize; D]) -> Tensor<D> {
        self.cast(Tensor::from_data(TensorData::new(data, shape), self.device))
    }

    fn random<const D: usize>(&self, shape: [usize; D]) -> Tensor<D> {
        self.cast(Tensor::random(
            shape,
            Distribution::Normal(0.0, self.std),
            self.device,
        ))
    }

    /// `[rows, cols]` as stored (the embedding).
    fn matrix(&mut self, name: &str, rows: usize, cols: usize) -> Result<Tensor<2>, EngineError> {
        Ok(match self.read(name, &[rows, cols])? {
            Some(tensor) => self.upload(tensor.data, [rows, cols]),
            None => self.random([rows, cols]),
        })
    }

    /// A vector, `fill` everywhere when drawn (1 for norms, 0 for biases).
    fn vector(&mut self, name: &str, len: usize, fill: f32) -> Result<Tensor<1>, EngineError> {
        Ok(match self.read(name, &[len])? {
            Some(tensor) => self.upload(tensor.data, [len]),
            None => self.cast(Tensor::full([len], fill, self.device)),
        })
    }

    fn norm(&mut self, name: &str, len: usize, eps: f64) -> Result<RmsNorm, EngineError> {
        Ok(RmsNorm::new(
            self.vector(&format!("{name}.weight"), len, 1.0)?,
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
        let weight = match self.read(&format!("{name}.weight"), &[out, inp])? {
            Some(weight) => {
                let mut transposed = vec![0.0; weight.data.len()];
                for (row, values) in weight.data.chunks_exact(inp).enumerate() {
                    for (col, value) in values.iter().enumerate() {
                        transposed[col * out + row] = *value;
                    }
                }
                self.upload(transposed, [inp, out])
            }
            None => self.random([inp, out]),
        };
        let bias = if bias {
            Some(Param::from_tensor(self.vector(
                &format!("{name}.bias"),
                out,
                0.0,
            )?))
        } else {
            None
        };
        Ok(Linear {
            weight: Param::from_tensor(weight),
            bias,
        })
    }
}

/// The first of `devices` (where the embedding goes) and the split of the layers over them.
fn placement<'a>(
    config: &LlamaConfig,
    devices: &'a [Device],
) -> Result<(&'a Device, LayerSplit), EngineError> {
    let first = devices.first().ok_or_else(|| EngineError::InvalidConfig {
        field: "devices".into(),
        reason: "no device to put the model on".into(),
    })?;
    Ok((first, layer_split(config, devices.len())?))
}

impl LlamaForCausalLM {
    /// Builds the model from `checkpoint` on `device`, checking first that its tensor names are
    /// exactly the ones `config` needs (the error lists what is missing and what is unexpected).
    pub fn load(
        config: &LlamaConfig,
        checkpoint: &mut Checkpoint,
        device: &Device,
        dtype: WeightDtype,
    ) -> Result<Self, EngineError> {
        Self::load_split(config, checkpoint, std::slice::from_ref(device), dtype)
    }

    /// [`Self::load`] over several devices: the decoder layers cut by [`layer_split`], each
    /// tensor uploaded straight to its device, so no device ever holds more than its share.
    pub fn load_split(
        config: &LlamaConfig,
        checkpoint: &mut Checkpoint,
        devices: &[Device],
        dtype: WeightDtype,
    ) -> Result<Self, EngineError> {
        let (first, split) = placement(config, devices)?;
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
        let loader = Loader {
            checkpoint: Some(checkpoint),
            device: first,
            dtype: dtype.float(),
            std: 0.0,
        };
        Self::build(config, loader, devices, &split)
    }

    /// A freshly initialised model of `config` drawn straight on `devices` (split as
    /// [`Self::load_split`] splits), seeded with `seed`: HF's Llama initialisation, normal(0,
    /// `std`) matrices (HF's `initializer_range`, 0.02 for every study model), unit norms, zero
    /// biases. For benchmarks and memory measurements of models whose weights are not on the
    /// machine; no checkpoint is written.
    pub fn random(
        config: &LlamaConfig,
        devices: &[Device],
        dtype: WeightDtype,
        std: f64,
        seed: u64,
    ) -> Result<Self, EngineError> {
        let (first, split) = placement(config, devices)?;
        for device in devices {
            device.seed(seed);
        }
        let loader = Loader {
            checkpoint: None,
            device: first,
            dtype: dtype.float(),
            std,
        };
        Self::build(config, loader, devices, &split)
    }

    /// The model, each tensor from `loader` on the device `split` gives its layer.
    fn build<'a>(
        config: &LlamaConfig,
        mut loader: Loader<'a>,
        devices: &'a [Device],
        split: &LayerSplit,
    ) -> Result<Self, EngineError> {
        let c = config;
        let (hidden, inter, head_dim) = (c.hidden_size, c.intermediate_size, c.head_dim);
        let (heads, kv_heads) = (c.num_attention_heads, c.num_key_value_heads);
        let embed_tokens = Embedding {
            weight: Param::from_tensor(loader.matrix(
                "model.embed_tokens.weight",
                c.vocab_size,
                hidden,
            )?),
        };
        let mut layers = Vec::with_capacity(c.num_hidden_layers);
        for layer in 0..c.num_hidden_layers {
            loader.device = &devices[split.layer_device[layer]];
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
        if let Some(last) = devices.last() {
            loader.device = last;
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
}
