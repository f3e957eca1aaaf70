//! Checkpoints in Hugging Face layout, so that transformers, open-unlearning and Lethe itself load
//! them: `model.safetensors` (HF names, `[out, in]` linear weights, f32 or bf16), `config.json`
//! (the resolved config in HF spelling) and the tokenizer files. A checkpoint is written into a
//! temporary sibling directory and renamed into place, so a crash never leaves half a checkpoint.

use std::collections::BTreeMap;
use std::path::Path;

use burn::tensor::Tensor;

use crate::EngineError;
use crate::llama::config::RopeScaling;
use crate::llama::{LlamaForCausalLM, WeightDtype};
use crate::tokenizer::Tokenizer;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> EngineError + '_ {
    move |source| EngineError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn host<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    tensor
        .cast(burn::tensor::FloatDType::F32)
        .into_data()
        .iter::<f32>()
        .collect()
}

/// `[in, out]` (burn) → `[out, in]` (HF).
fn linear(weight: &burn::module::Param<Tensor<2>>) -> (Vec<usize>, Vec<f32>) {
    let [inp, out] = weight.val().dims();
    let data = host(weight.val().transpose());
    (vec![out, inp], data)
}

impl LlamaForCausalLM {
    /// Every parameter under its HF name, in HF layout, as f32.
    pub fn state_dict(&self) -> BTreeMap<String, (Vec<usize>, Vec<f32>)> {
        let mut out = BTreeMap::new();
        let vector = |p: &burn::module::Param<Tensor<1>>| (p.val().dims().to_vec(), host(p.val()));
        let embed = self.model.embed_tokens.weight.val();
        out.insert(
            "model.embed_tokens.weight".into(),
            (embed.dims().to_vec(), host(embed)),
        );
        for (i, layer) in self.model.layers.iter().enumerate() {
            let p = format!("model.layers.{i}");
            let a = &layer.self_attn;
            for (name, proj) in [
                ("q_proj", &a.q_proj),
                ("k_proj", &a.k_proj),
                ("v_proj", &a.v_proj),
                ("o_proj", &a.o_proj),
            ] {
                out.insert(format!("{p}.self_attn.{name}.weight"), linear(&proj.weight));
                if let Some(bias) = &proj.bias {
                    out.insert(format!("{p}.self_attn.{name}.bias"), vector(bias));
                }
            }
            if let (Some(q), Some(k)) = (&a.q_norm, &a.k_norm) {
                out.insert(format!("{p}.self_attn.q_norm.weight"), vector(&q.weight));
                out.insert(format!("{p}.self_attn.k_norm.weight"), vector(&k.weight));
            }
            for (name, proj) in [
                ("gate_proj", &layer.mlp.gate_proj),
                ("up_proj", &layer.mlp.up_proj),
                ("down_proj", &layer.mlp.down_proj),
            ] {
                out.insert(format!("{p}.mlp.{name}.weight"), linear(&proj.weight));
                if let Some(bias) = &proj.bias {
                    out.insert(format!("{p}.mlp.{name}.bias"), vector(bias));
                }
            }
            out.insert(
                format!("{p}.input_layernorm.weight"),
                vector(&layer.input_layernorm.weight),
            );
            out.insert(
                format!("{p}.post_attention_layernorm.weight"),
                vector(&layer.post_attention_layernorm.weight),
            );
        }
        out.insert("model.norm.weight".into(), vector(&self.model.norm.weight));
        if let Some(head) = &self.lm_head {
            out.insert("lm_head.weight".into(), linear(&head.weight));
        }
        out
    }

    /// `config.json` in HF spelling (transformers-5 `rope_parameters`).
    pub fn hf_config_json(&self) -> serde_json::Value {
        let c = &self.config;
        let (model_type, architecture) = match c.family {
            crate::llama::Family::Llama => ("llama", "LlamaForCausalLM"),
            crate::llama::Family::Qwen3 => ("qwen3", "Qwen3ForCausalLM"),
            crate::llama::Family::Mistral => ("mistral", "MistralForCausalLM"),
        };
        let rope = match c.rope.scaling {
            RopeScaling::None => {
                serde_json::json!({"rope_theta": c.rope.theta, "rope_type": "default"})
            }
            RopeScaling::Llama3 {
                factor,
                low_freq_factor,
                high_freq_factor,
                original_max_position_embeddings,
            } => serde_json::json!({
                "rope_theta": c.rope.theta, "rope_type": "llama3", "factor": factor,
                "low_freq_factor": low_freq_factor, "high_freq_factor": high_freq_factor,
                "original_max_position_embeddings": original_max_position_embeddings,
            }),
        };
        serde_json::json!({
            "architectures": [architecture],
            "model_type": model_type,
            "vocab_size": c.vocab_size,
            "hidden_size": c.hidden_size,
            "intermediate_size": c.intermediate_size,
            "num_hidden_layers": c.num_hidden_layers,
            "num_attention_heads": c.num_attention_heads,
            "num_key_value_heads": c.num_key_value_heads,
            "head_dim": c.head_dim,
            "rms_norm_eps": c.rms_norm_eps,
            "max_position_embeddings": c.max_position_embeddings,
            "rope_parameters": rope,
            "tie_word_embeddings": c.tie_word_embeddings,
            "attention_bias": c.attention_bias,
            "mlp_bias": c.mlp_bias,
            "hidden_act": "silu",
            "sliding_window": c.sliding_window,
            "use_sliding_window": c.sliding_window.is_some(),
            "bos_token_id": c.bos_token_id,
            "eos_token_id": c.eos_token_ids,
            "pad_token_id": c.pad_token_id,
            "torch_dtype": "float32",
        })
    }
}

/// Serialises tensors as safetensors bytes (`F32` or `BF16`), names sorted, header padded to 8.
pub fn safetensors_bytes(
    tensors: &BTreeMap<String, (Vec<usize>, Vec<f32>)>,
    dtype: WeightDtype,
) -> Vec<u8> {
    let (tag, size) = match dtype {
        WeightDtype::F32 => ("F32", 4),
        WeightDtype::F16 => ("F16", 2),
        WeightDtype::Bf16 => ("BF16", 2),
    };
    let mut header = serde_json::Map::new();
    header.insert(
        "__metadata__".into(),
        serde_json::json!({"format": "pt", "generator": "lethe"}),
    );
    let mut offset = 0;
    for (name, (shape, data)) in tensors {
        let len = data.len() * size;
        header.insert(name.clone(), serde_json::json!({"dtype": tag, "shape": shape, "data_offsets": [offset, offset + len]}));
        offset += len;
    }
    let mut header = serde_json::to_vec(&header).unwrap_or_default();
    while !header.len().is_multiple_of(8) {
        header.push(b' ');
    }
    let mut out = Vec::with_capacity(8 + header.len() + offset);
    out.extend((header.len() as u64).to_le_bytes());
    out.extend(header);
    for (_, data) in tensors.values() {
        for value in data {
            match dtype {
                WeightDtype::F32 => out.extend(value.to_le_bytes()),
                WeightDtype::F16 => out.extend(half::f16::from_f32(*value).to_le_bytes()),
                WeightDtype::Bf16 => out.extend(half::bf16::from_f32(*value).to_le_bytes()),
            }
        }
    }
    out
}

/// Writes `model` and `tokenizer` to `dir` (replacing it) as a HF checkpoint, atomically.
pub fn save(
    model: &LlamaForCausalLM,
    tokenizer: &Tokenizer,
    dir: &Path,
    dtype: WeightDtype,
) -> Result<(), EngineError> {
    save_state(&model.state_dict(), model, tokenizer, dir, dtype)
}

/// [`save`] with the weights `state` (HF names and layout) in place of `model`'s own, which
/// gives the config: a transformed copy of a model (quantized weights) written as a checkpoint.
pub fn save_state(
    state: &BTreeMap<String, (Vec<usize>, Vec<f32>)>,
    model: &LlamaForCausalLM,
    tokenizer: &Tokenizer,
    dir: &Path,
    dtype: WeightDtype,
) -> Result<(), EngineError> {
    let parent = dir.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(io(parent))?;
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let staging = parent.join(format!(".{name}.partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).map_err(io(&staging))?;
    let weights = staging.join("model.safetensors");
    std::fs::write(&weights, safetensors_bytes(state, dtype)).map_err(io(&weights))?;
    let config = staging.join("config.json");
    let text = serde_json::to_string_pretty(&model.hf_config_json()).unwrap_or_default();
    std::fs::write(&config, text).map_err(io(&config))?;
    tokenizer.save(&staging)?;
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(io(dir))?;
    }
    std::fs::rename(&staging, dir).map_err(io(dir))
}
