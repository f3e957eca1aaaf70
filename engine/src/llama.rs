//! One decoder-only transformer for the Llama, Qwen3 and Mistral families (and SmolLM2, a Llama).
//!
//! Reference: transformers `modeling_llama.py`, `modeling_qwen3.py`, `modeling_mistral.py`.

pub mod config;

pub use config::{Family, HfLlamaConfig, LlamaConfig, RopeConfig, RopeScaling};
