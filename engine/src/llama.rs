//! One decoder-only transformer for the Llama, Qwen3 and Mistral families (and SmolLM2, a Llama),
//! loaded from HF safetensors or llama.cpp GGUF.
//!
//! Reference: transformers `modeling_llama.py`, `modeling_qwen3.py`, `modeling_mistral.py`.
//! Files are ordered bottom-up like `modeling_llama.py`: [`norm`], [`rope`], [`attention`],
//! [`mlp`], [`block`], [`model`]; then loading ([`weights`], [`gguf`], [`build`], [`mod@load`], over several devices [`split`]) and running
//! ([`batch`], [`kv_cache`], [`generate`], [`score`]).

pub mod attention;
pub mod batch;
pub mod block;
pub mod build;
pub mod config;
pub mod generate;
pub mod gguf;
pub mod init;
pub mod kv_cache;
pub mod load;
pub mod mlp;
pub mod model;
pub mod norm;
pub mod packing;
pub mod rope;
pub mod score;
pub mod split;
pub mod weights;

pub use batch::{Padding, TokenBatch};

/// The seven projection matrices of a decoder layer, in HF's names (attention, then MLP): what
/// LoRA adapts and what a quantized deployment stores as integers.
pub const PROJECTIONS: [&str; 7] = [
    "q_proj",
    "k_proj",
    "v_proj",
    "o_proj",
    "gate_proj",
    "up_proj",
    "down_proj",
];
pub use config::{Family, HfLlamaConfig, LlamaConfig, RopeConfig, RopeScaling};
pub use generate::{GenerateOptions, Generation};
pub use kv_cache::KvCache;
pub use load::{LoadedModel, ModelInfo, ModelSource, inspect, load, load_split};
pub use model::{LlamaForCausalLM, WeightDtype};
pub use score::{SequenceNll, TokenStats};
pub use split::{LayerSplit, layer_split};
pub use weights::{Checkpoint, HostTensor, SafetensorsFiles};
