//! `config.json` of a Hugging Face checkpoint ([`HfLlamaConfig`], a serde mirror full of
//! `Option`s) and the validated form the model is built from ([`LlamaConfig`], no `Option`s).
//!
//! Accepts both RoPE spellings: the old top-level `rope_theta` (+ `rope_scaling`) and
//! transformers-5 `rope_parameters`. Reference: transformers `configuration_llama.py` and
//! `modeling_rope_utils.py` (`_compute_llama3_parameters`).

use std::path::Path;

use serde::Deserialize;

use crate::EngineError;

/// The model families this transformer covers, from `model_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// `llama` (Llama 2, Llama 3.x, SmolLM2).
    Llama,
    /// `qwen3`: per-head RMSNorm on queries and keys (`q_norm`, `k_norm`).
    Qwen3,
    /// `mistral`: optional sliding-window attention.
    Mistral,
}

/// A token id or a list of them (`eos_token_id` is either in HF configs).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum TokenIds {
    /// One id.
    One(u32),
    /// Several ids (Llama 3 lists `<|end_of_text|>`, `<|eom_id|>`, `<|eot_id|>`).
    Many(Vec<u32>),
}

/// RoPE parameters as either `rope_parameters` (transformers 5) or `rope_scaling` (older) spell them.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct HfRopeParameters {
    /// Base of the rotary frequencies (transformers 5 puts it here).
    pub rope_theta: Option<f64>,
    /// `default`, `llama3`, ... (older configs also spell it `type`).
    #[serde(alias = "type")]
    pub rope_type: Option<String>,
    /// Llama 3 scaling: how much longer the context is than in pre-training.
    pub factor: Option<f64>,
    /// Llama 3 scaling: wavelengths above `original / low_freq_factor` are divided by `factor`.
    pub low_freq_factor: Option<f64>,
    /// Llama 3 scaling: wavelengths below `original / high_freq_factor` are kept.
    pub high_freq_factor: Option<f64>,
    /// Llama 3 scaling: the pre-training context length.
    pub original_max_position_embeddings: Option<usize>,
}

/// A serde mirror of the `config.json` fields this transformer reads. Unknown fields are ignored.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct HfLlamaConfig {
    /// `llama`, `qwen3` or `mistral`.
    pub model_type: Option<String>,
    /// Vocabulary size (rows of `embed_tokens`).
    pub vocab_size: Option<usize>,
    /// Model width.
    pub hidden_size: Option<usize>,
    /// Width of the SwiGLU MLP.
    pub intermediate_size: Option<usize>,
    /// Number of decoder layers.
    pub num_hidden_layers: Option<usize>,
    /// Query heads.
    pub num_attention_heads: Option<usize>,
    /// Key/value heads (grouped-query attention); defaults to `num_attention_heads`.
    pub num_key_value_heads: Option<usize>,
    /// Per-head width; defaults to `hidden_size / num_attention_heads`.
    pub head_dim: Option<usize>,
    /// RMSNorm epsilon.
    pub rms_norm_eps: Option<f64>,
    /// Longest position the checkpoint was configured for.
    pub max_position_embeddings: Option<usize>,
    /// Old spelling of the RoPE base.
    pub rope_theta: Option<f64>,
    /// Old spelling of the RoPE scaling block (`null` when absent).
    pub rope_scaling: Option<HfRopeParameters>,
    /// Transformers-5 spelling of the RoPE block.
    pub rope_parameters: Option<HfRopeParameters>,
    /// Whether `lm_head` shares `embed_tokens`' weights.
    pub tie_word_embeddings: Option<bool>,
    /// Bias on q/k/v/o projections.
    pub attention_bias: Option<bool>,
    /// Bias on the MLP projections.
    pub mlp_bias: Option<bool>,
    /// Activation of the MLP; only `silu` is supported.
    pub hidden_act: Option<String>,
    /// Mistral (and Qwen with `use_sliding_window`): attend to at most this many past tokens.
    pub sliding_window: Option<usize>,
    /// Qwen: whether `sliding_window` applies at all.
    pub use_sliding_window: Option<bool>,
    /// Beginning-of-sequence id.
    pub bos_token_id: Option<TokenIds>,
    /// End-of-sequence id(s).
    pub eos_token_id: Option<TokenIds>,
    /// Padding id, if the checkpoint defines one.
    pub pad_token_id: Option<u32>,
}

/// Validated RoPE settings.
#[derive(Debug, Clone, PartialEq)]
pub struct RopeConfig {
    /// Base of the rotary frequencies.
    pub theta: f64,
    /// Frequency rescaling, if any.
    pub scaling: RopeScaling,
}

/// How RoPE frequencies are rescaled.
#[derive(Debug, Clone, PartialEq)]
pub enum RopeScaling {
    /// Plain RoPE.
    None,
    /// Llama 3.1/3.2 `rope_type: llama3`.
    Llama3 {
        /// Context extension factor.
        factor: f64,
        /// Low-frequency boundary factor.
        low_freq_factor: f64,
        /// High-frequency boundary factor.
        high_freq_factor: f64,
        /// Pre-training context length.
        original_max_position_embeddings: usize,
    },
}

/// The resolved configuration a model is built from: every default applied, every invariant checked.
#[derive(Debug, Clone, PartialEq)]
pub struct LlamaConfig {
    /// Which family's quirks apply.
    pub family: Family,
    /// Vocabulary size.
    pub vocab_size: usize,
    /// Model width.
    pub hidden_size: usize,
    /// MLP width.
    pub intermediate_size: usize,
    /// Decoder layers.
    pub num_hidden_layers: usize,
    /// Query heads.
    pub num_attention_heads: usize,
    /// Key/value heads; divides `num_attention_heads`.
    pub num_key_value_heads: usize,
    /// Per-head width (even, for RoPE).
    pub head_dim: usize,
    /// RMSNorm epsilon.
    pub rms_norm_eps: f64,
    /// Longest configured position.
    pub max_position_embeddings: usize,
    /// RoPE base and scaling.
    pub rope: RopeConfig,
    /// `lm_head` is `embed_tokens` transposed.
    pub tie_word_embeddings: bool,
    /// Bias on attention projections.
    pub attention_bias: bool,
    /// Bias on MLP projections.
    pub mlp_bias: bool,
    /// Qwen3's per-head RMSNorm on q and k.
    pub qk_norm: bool,
    /// Sliding attention window, when the family and config enable it.
    pub sliding_window: Option<usize>,
    /// Beginning-of-sequence id.
    pub bos_token_id: Option<u32>,
    /// Every id that ends generation.
    pub eos_token_ids: Vec<u32>,
    /// Padding id.
    pub pad_token_id: Option<u32>,
}

fn invalid(field: &str, reason: impl Into<String>) -> EngineError {
    EngineError::InvalidConfig {
        field: field.to_string(),
        reason: reason.into(),
    }
}

fn required<T>(value: Option<T>, field: &str) -> Result<T, EngineError> {
    value.ok_or_else(|| invalid(field, "missing from config.json"))
}

fn positive(value: Option<usize>, field: &str) -> Result<usize, EngineError> {
    match required(value, field)? {
        0 => Err(invalid(field, "must be > 0")),
        value => Ok(value),
    }
}

impl HfLlamaConfig {
    /// Reads `config.json`; errors name the file.
    pub fn from_file(path: &Path) -> Result<Self, EngineError> {
        let text = std::fs::read_to_string(path).map_err(|source| EngineError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        serde_json::from_str(&text)
            .map_err(|error| invalid(&path.display().to_string(), error.to_string()))
    }

    fn family(&self) -> Result<Family, EngineError> {
        match required(self.model_type.as_deref(), "model_type")? {
            "llama" => Ok(Family::Llama),
            "qwen3" => Ok(Family::Qwen3),
            "mistral" => Ok(Family::Mistral),
            other => Err(invalid(
                "model_type",
                format!("`{other}` is not supported; expected llama, qwen3 or mistral"),
            )),
        }
    }

    fn rope(&self) -> Result<RopeConfig, EngineError> {
        let parameters = self
            .rope_parameters
            .clone()
            .or_else(|| self.rope_scaling.clone())
            .unwrap_or_default();
        let theta = parameters
            .rope_theta
            .or(self.rope_theta)
            .unwrap_or(10_000.0);
        if !(theta.is_finite() && theta > 0.0) {
            return Err(invalid(
                "rope_theta",
                format!("{theta} is not a positive number"),
            ));
        }
        let field = if self.rope_parameters.is_some() {
            "rope_parameters"
        } else {
            "rope_scaling"
        };
        let scaling = match parameters.rope_type.as_deref().unwrap_or("default") {
            "default" => RopeScaling::None,
            "llama3" => {
                let factor = required(parameters.factor, &format!("{field}.factor"))?;
                let low_freq_factor = required(
                    parameters.low_freq_factor,
                    &format!("{field}.low_freq_factor"),
                )?;
                let high_freq_factor = required(
                    parameters.high_freq_factor,
                    &format!("{field}.high_freq_factor"),
                )?;
                let original_max_position_embeddings = required(
                    parameters.original_max_position_embeddings,
                    &format!("{field}.original_max_position_embeddings"),
                )?;
                if high_freq_factor <= low_freq_factor {
                    return Err(invalid(
                        &format!("{field}.high_freq_factor"),
                        "must exceed low_freq_factor",
                    ));
                }
                RopeScaling::Llama3 {
                    factor,
                    low_freq_factor,
                    high_freq_factor,
                    original_max_position_embeddings,
                }
            }
            other => {
                return Err(invalid(
                    &format!("{field}.rope_type"),
                    format!("`{other}` is not supported; expected default or llama3"),
                ));
            }
        };
        Ok(RopeConfig { theta, scaling })
    }
}

impl TryFrom<&HfLlamaConfig> for LlamaConfig {
    type Error = EngineError;

    fn try_from(hf: &HfLlamaConfig) -> Result<Self, Self::Error> {
        let family = hf.family()?;
        let hidden_size = positive(hf.hidden_size, "hidden_size")?;
        let num_attention_heads = positive(hf.num_attention_heads, "num_attention_heads")?;
        let num_key_value_heads = positive(
            hf.num_key_value_heads.or(hf.num_attention_heads),
            "num_key_value_heads",
        )?;
        if num_attention_heads % num_key_value_heads != 0 {
            return Err(invalid(
                "num_key_value_heads",
                format!(
                    "{num_key_value_heads} does not divide num_attention_heads {num_attention_heads}"
                ),
            ));
        }
        let head_dim = match hf.head_dim {
            Some(head_dim) => head_dim,
            None if hidden_size % num_attention_heads == 0 => hidden_size / num_attention_heads,
            None => {
                return Err(invalid(
                    "num_attention_heads",
                    format!(
                        "{num_attention_heads} heads do not divide hidden_size {hidden_size} and head_dim is not given"
                    ),
                ));
            }
        };
        if head_dim == 0 || head_dim % 2 != 0 {
            return Err(invalid(
                "head_dim",
                format!("{head_dim} must be even and > 0 for RoPE"),
            ));
        }
        if let Some(act) = hf.hidden_act.as_deref().filter(|act| *act != "silu") {
            return Err(invalid(
                "hidden_act",
                format!("`{act}` is not supported; expected silu"),
            ));
        }
        let rms_norm_eps = required(hf.rms_norm_eps, "rms_norm_eps")?;
        if !(rms_norm_eps.is_finite() && rms_norm_eps > 0.0) {
            return Err(invalid(
                "rms_norm_eps",
                format!("{rms_norm_eps} is not a positive number"),
            ));
        }
        let sliding_window = match family {
            Family::Mistral => hf.sliding_window,
            Family::Qwen3 if hf.use_sliding_window == Some(true) => hf.sliding_window,
            Family::Qwen3 | Family::Llama => None,
        };
        let token_ids = |ids: &Option<TokenIds>| match ids {
            Some(TokenIds::One(id)) => vec![*id],
            Some(TokenIds::Many(ids)) => ids.clone(),
            None => Vec::new(),
        };
        Ok(Self {
            family,
            vocab_size: positive(hf.vocab_size, "vocab_size")?,
            hidden_size,
            intermediate_size: positive(hf.intermediate_size, "intermediate_size")?,
            num_hidden_layers: positive(hf.num_hidden_layers, "num_hidden_layers")?,
            num_attention_heads,
            num_key_value_heads,
            head_dim,
            rms_norm_eps,
            max_position_embeddings: hf.max_position_embeddings.unwrap_or(4096),
            rope: hf.rope()?,
            tie_word_embeddings: hf.tie_word_embeddings.unwrap_or(false),
            attention_bias: hf.attention_bias.unwrap_or(false),
            mlp_bias: hf.mlp_bias.unwrap_or(false),
            qk_norm: family == Family::Qwen3,
            sliding_window,
            bos_token_id: token_ids(&hf.bos_token_id).first().copied(),
            eos_token_ids: token_ids(&hf.eos_token_id),
            pad_token_id: hf.pad_token_id,
        })
    }
}

impl LlamaConfig {
    /// Reads and validates `<dir>/config.json`.
    pub fn from_model_dir(dir: &Path) -> Result<Self, EngineError> {
        Self::try_from(&HfLlamaConfig::from_file(&dir.join("config.json"))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<LlamaConfig, EngineError> {
        LlamaConfig::try_from(&serde_json::from_str::<HfLlamaConfig>(json).unwrap())
    }

    /// `meta-llama/Llama-3.2-1B-Instruct` config.json (old RoPE spelling, llama3 scaling).
    const LLAMA_3_2_1B: &str = r#"{
        "architectures": ["LlamaForCausalLM"], "attention_bias": false, "bos_token_id": 128000,
        "eos_token_id": [128001, 128008, 128009], "head_dim": 64, "hidden_act": "silu",
        "hidden_size": 2048, "intermediate_size": 8192, "max_position_embeddings": 131072,
        "mlp_bias": false, "model_type": "llama", "num_attention_heads": 32,
        "num_hidden_layers": 16, "num_key_value_heads": 8, "rms_norm_eps": 1e-05,
        "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                         "original_max_position_embeddings": 8192, "rope_type": "llama3"},
        "rope_theta": 500000.0, "tie_word_embeddings": true, "vocab_size": 128256}"#;

    /// `mistralai/Mistral-7B-Instruct-v0.3` config.json.
    const MISTRAL_7B_V03: &str = r#"{
        "architectures": ["MistralForCausalLM"], "bos_token_id": 1, "eos_token_id": 2,
        "hidden_act": "silu", "hidden_size": 4096, "intermediate_size": 14336,
        "max_position_embeddings": 32768, "model_type": "mistral", "num_attention_heads": 32,
        "num_hidden_layers": 32, "num_key_value_heads": 8, "rms_norm_eps": 1e-05,
        "rope_theta": 1000000.0, "sliding_window": null, "tie_word_embeddings": false,
        "vocab_size": 32768}"#;

    #[test]
    fn llama_3_2_with_old_rope_spelling_and_llama3_scaling() {
        let config = parse(LLAMA_3_2_1B).unwrap();
        assert_eq!(config.family, Family::Llama);
        assert_eq!(config.head_dim, 64);
        assert_eq!(config.num_key_value_heads, 8);
        assert!(config.tie_word_embeddings);
        assert_eq!(config.eos_token_ids, [128001, 128008, 128009]);
        assert_eq!(config.bos_token_id, Some(128000));
        assert_eq!(
            config.rope,
            RopeConfig {
                theta: 500000.0,
                scaling: RopeScaling::Llama3 {
                    factor: 32.0,
                    low_freq_factor: 1.0,
                    high_freq_factor: 4.0,
                    original_max_position_embeddings: 8192,
                },
            }
        );
    }

    #[test]
    fn transformers_5_rope_parameters_are_read_too() {
        let new_spelling = LLAMA_3_2_1B
            .replace(r#""rope_theta": 500000.0,"#, "")
            .replace(
                r#""rope_scaling": {"#,
                r#""rope_parameters": {"rope_theta": 500000.0, "#,
            );
        assert_eq!(parse(&new_spelling).unwrap(), parse(LLAMA_3_2_1B).unwrap());
    }

    #[test]
    fn mistral_defaults_head_dim_and_keeps_a_null_window_off() {
        let config = parse(MISTRAL_7B_V03).unwrap();
        assert_eq!(config.family, Family::Mistral);
        assert_eq!(config.head_dim, 128);
        assert_eq!(config.sliding_window, None);
        assert_eq!(config.rope.scaling, RopeScaling::None);
        let windowed = parse(
            &MISTRAL_7B_V03.replace(r#""sliding_window": null"#, r#""sliding_window": 4096"#),
        )
        .unwrap();
        assert_eq!(windowed.sliding_window, Some(4096));
    }

    #[test]
    fn invalid_configs_name_the_field() {
        let cases = [
            (
                LLAMA_3_2_1B.replace(r#""num_key_value_heads": 8"#, r#""num_key_value_heads": 5"#),
                "num_key_value_heads",
            ),
            (
                MISTRAL_7B_V03.replace(r#""hidden_size": 4096"#, r#""hidden_size": 4001"#),
                "num_attention_heads",
            ),
            (
                LLAMA_3_2_1B.replace(r#""rope_type": "llama3""#, r#""rope_type": "yarn""#),
                "rope_scaling.rope_type",
            ),
            (
                LLAMA_3_2_1B.replace(r#""factor": 32.0, "#, ""),
                "rope_scaling.factor",
            ),
            (
                MISTRAL_7B_V03.replace(r#""model_type": "mistral""#, r#""model_type": "gpt2""#),
                "model_type",
            ),
            (
                MISTRAL_7B_V03.replace(r#""hidden_act": "silu""#, r#""hidden_act": "gelu""#),
                "hidden_act",
            ),
            (
                MISTRAL_7B_V03.replace(r#""vocab_size": 32768"#, r#""vocab_size": 0"#),
                "vocab_size",
            ),
        ];
        for (json, field) in cases {
            let message = parse(&json).unwrap_err().to_string();
            assert!(
                message.starts_with(&format!("invalid {field}:")),
                "{field}: {message}"
            );
        }
    }

    #[test]
    fn shared_fixture_configs_resolve() {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures");
        if !fixtures.exists() {
            eprintln!("skipped: {} is absent", fixtures.display());
            return;
        }
        let llama = LlamaConfig::from_model_dir(&fixtures.join("tiny-llama")).unwrap();
        assert_eq!(
            (llama.family, llama.head_dim, llama.tie_word_embeddings),
            (Family::Llama, 16, false)
        );
        assert_eq!(llama.rope.theta, 1e4);
        let qwen = LlamaConfig::from_model_dir(&fixtures.join("tiny-qwen3")).unwrap();
        assert_eq!(
            (qwen.family, qwen.qk_norm, qwen.tie_word_embeddings),
            (Family::Qwen3, true, true)
        );
        assert_eq!(qwen.rope.theta, 1e6);
        let mistral = LlamaConfig::from_model_dir(&fixtures.join("tiny-mistral")).unwrap();
        assert_eq!(mistral.sliding_window, Some(16));
    }
}
