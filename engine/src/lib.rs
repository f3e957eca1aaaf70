//! Lethe's compute core, built on burn 0.22.
//!
//! The engine owns everything numeric: models, objectives, training and evaluation. It knows
//! nothing of HTTP, tokio or the wire types in `shared`; the server maps those onto engine types
//! in one file. Binaries and tests choose the compute device through [`device::DeviceSpec`], the
//! only place that names a burn backend.
//!
//! Entry points: [`DeviceSpec`] (parse `"cpu" | "wgpu" | "cuda:0"`), [`EngineError`].
#![warn(missing_docs)]
#![deny(rustdoc::broken_intra_doc_links)]

pub mod data;
pub mod device;
pub mod distilbert;
pub mod error;
pub mod eval;
pub mod llama;
pub mod lora;
pub mod metrics;
pub mod objectives;
pub mod plan;
pub mod quantize;
pub mod tokenizer;
pub mod train;

pub use burn::tensor::Device;
pub use device::{DeviceInfo, DeviceSpec, Devices, WgpuAdapter, training_device};
pub use error::EngineError;
pub use tokenizer::Tokenizer;
