//! The one file that names burn backends. Everything else takes a `&Device`.
//!
//! Backends, chosen at run time by [`DeviceSpec`] and at build time by cargo features:
//! `flex` (pure-Rust CPU, always present), `wgpu` (Vulkan/Metal/DX12; the default GPU path),
//! `cuda` (NVIDIA).

use std::fmt;
use std::str::FromStr;

use burn::nn::Linear;
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::EngineError;

#[cfg(feature = "flex")]
mod attention_rows;
#[cfg(feature = "flex")]
mod autodiff_op;
#[cfg(feature = "flex")]
pub mod cached_attention;
pub mod cpu_pool;
#[cfg(feature = "flex")]
pub mod few_rows;
#[cfg(feature = "flex")]
pub mod fused;
#[cfg(feature = "flex")]
pub mod host_values;
mod list;
#[cfg(feature = "flex")]
pub mod sequence_attention;
#[cfg(feature = "flex")]
pub mod swiglu;
#[cfg(feature = "flex")]
pub mod target_nll;
#[cfg(all(test, feature = "flex"))]
mod test_support;
#[cfg(feature = "flex")]
pub mod tied_logits;
#[cfg(feature = "flex")]
mod vectorized;
#[cfg(not(feature = "flex"))]
mod without_flex;

#[cfg(not(feature = "flex"))]
pub use without_flex::{
    cached_attention, fused, host_values, sequence_attention, swiglu, target_nll,
};

pub use cpu_pool::on_pool;
pub use list::Devices;

/// Which compute device to run on, as written on the command line: `cpu`, `wgpu`, `cuda:N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceSpec {
    /// burn's `flex` CPU backend.
    Cpu,
    /// A wgpu adapter (Vulkan, Metal or DX12).
    Wgpu(WgpuAdapter),
    /// The CUDA device with this index.
    Cuda(usize),
}

/// Which wgpu adapter: `wgpu`, `wgpu:N`, `wgpu:cpu`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WgpuAdapter {
    /// The best adapter wgpu finds (a discrete GPU first; Mesa lavapipe on a machine without one).
    Best,
    /// The discrete GPU with this index (`wgpu:N`), for hosts with several.
    Discrete(usize),
    /// The software adapter (`wgpu:cpu`: Mesa lavapipe). A second device beside `wgpu` on a
    /// machine without a GPU, which is how the split-model tests get two devices.
    Software,
}

/// What a device is, for logs and the server's health endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// The device as the user names it (`cpu`, `wgpu`, `cuda:0`).
    pub device: String,
    /// The burn backend behind it.
    pub backend: &'static str,
    /// The hardware, as the backend or the OS names it.
    pub adapter: String,
}

impl FromStr for DeviceSpec {
    type Err = EngineError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = |reason: String| EngineError::InvalidConfig {
            field: "device".into(),
            reason,
        };
        match text.trim() {
            "cpu" | "flex" => Ok(Self::Cpu),
            "wgpu" | "gpu" => Ok(Self::Wgpu(WgpuAdapter::Best)),
            "wgpu:cpu" => Ok(Self::Wgpu(WgpuAdapter::Software)),
            "cuda" => Ok(Self::Cuda(0)),
            other => {
                if let Some(index) = other.strip_prefix("cuda:") {
                    index.parse().map(Self::Cuda).map_err(|_| {
                        invalid(format!(
                            "`{other}`: the CUDA index must be a number, as in cuda:0"
                        ))
                    })
                } else if let Some(index) = other.strip_prefix("wgpu:") {
                    index
                        .parse()
                        .map(|index| Self::Wgpu(WgpuAdapter::Discrete(index)))
                        .map_err(|_| {
                            invalid(format!(
                                "`{other}`: use wgpu, wgpu:N (the N-th discrete GPU) or wgpu:cpu"
                            ))
                        })
                } else {
                    Err(invalid(format!(
                        "`{other}` is not a device; use cpu, wgpu, wgpu:N or cuda:N"
                    )))
                }
            }
        }
    }
}

impl fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cpu => f.write_str("cpu"),
            Self::Wgpu(WgpuAdapter::Best) => f.write_str("wgpu"),
            Self::Wgpu(WgpuAdapter::Discrete(index)) => write!(f, "wgpu:{index}"),
            Self::Wgpu(WgpuAdapter::Software) => f.write_str("wgpu:cpu"),
            Self::Cuda(index) => write!(f, "cuda:{index}"),
        }
    }
}

impl DeviceSpec {
    /// The best wgpu adapter (`wgpu`).
    pub const WGPU: Self = Self::Wgpu(WgpuAdapter::Best);

    /// The backend's name, for logs and for checking that a run's devices share one.
    pub fn backend(self) -> &'static str {
        match self {
            Self::Cpu => "flex",
            Self::Wgpu(_) => "wgpu",
            Self::Cuda(_) => "cuda",
        }
    }

    /// The weight precisions this device trains in. Half precision trains on CUDA only: on
    /// Vulkan and Metal (`wgpu`) bf16 is storage-only, and on the CPU backend f16 went NaN after
    /// one Adam step and bf16 drifted (shared/toolchain/BURN.md), so both train in f32.
    pub fn training_dtypes(self) -> &'static [crate::llama::WeightDtype] {
        use crate::llama::WeightDtype;
        match self {
            Self::Cuda(_) => &[WeightDtype::F32, WeightDtype::Bf16, WeightDtype::F16],
            Self::Cpu | Self::Wgpu(_) => &[WeightDtype::F32],
        }
    }

    /// Why `self` does not train in a precision outside [`Self::training_dtypes`].
    pub fn half_precision_reason(self) -> &'static str {
        match self {
            Self::Cuda(_) => "",
            Self::Wgpu(_) => {
                "bf16 and f16 are storage-only on Vulkan and Metal (wgpu): train in f32, or on cuda:N"
            }
            Self::Cpu => {
                "half precision diverges on the CPU backend (f16 NaN, bf16 drift): train in f32, or on cuda:N"
            }
        }
    }

    /// The burn device, or an error naming the cargo feature this binary lacks.
    pub fn device(self) -> Result<Device, EngineError> {
        match self {
            Self::Cpu => cpu_device(self),
            Self::Wgpu(adapter) => wgpu_device(self, adapter),
            Self::Cuda(index) => cuda_device(self, index),
        }
    }

    /// Opens the device and describes it. Opening a GPU device initialises its driver, so call
    /// this once at start-up, not per request.
    pub fn describe(self) -> Result<DeviceInfo, EngineError> {
        let device = self.device()?;
        let adapter = match self {
            Self::Cpu => cpu_name(),
            Self::Wgpu(_) | Self::Cuda(_) => gpu_name(&device),
        };
        Ok(DeviceInfo {
            device: self.to_string(),
            backend: self.backend(),
            adapter,
        })
    }
}

/// The autodiff device that trains on `plain`; with `checkpointing`, burn's balanced gradient
/// checkpointing recomputes memory-bound activations (norms, activations, element-wise ops) in the
/// backward pass instead of keeping them, while matmul outputs stay cached.
pub fn training_device(plain: &Device, checkpointing: bool) -> Device {
    let device = plain.clone().autodiff();
    if checkpointing {
        device.gradient_checkpointing()
    } else {
        device
    }
}

/// Whether `device` is the CPU device, plain or autodiff (burn's device equality does not tell
/// them apart): tensors there live in host memory, and the CPU-only fast paths apply.
pub fn is_cpu(device: &Device) -> bool {
    #[cfg(feature = "flex")]
    {
        *device == Device::flex()
    }
    #[cfg(not(feature = "flex"))]
    {
        let _ = device;
        false
    }
}

/// `layer.forward(x)`; on the CPU, with at most [`few_rows::MAX_ROWS`] rows (decoding), through
/// the few-rows kernel, which reads the weight in place instead of packing it.
pub fn linear(layer: &Linear, x: Tensor<3>) -> Tensor<3> {
    #[cfg(feature = "flex")]
    {
        few_rows::linear(layer, x)
    }
    #[cfg(not(feature = "flex"))]
    {
        layer.forward(x)
    }
}

/// `x · wᵀ` (`x` `[m, k]`, `w` `[n, k]`: a tied embedding as the head); few rows on the CPU take
/// the few-rows kernel, like [`linear`]; training on the CPU records [`tied_logits`], whose
/// backward writes the tied matrix's gradient contiguous.
pub fn matmul_transposed(x: Tensor<2>, w: Tensor<2>) -> Tensor<2> {
    #[cfg(feature = "flex")]
    {
        if let Some(out) = tied_logits::matmul_transposed(&x, &w) {
            return out;
        }
        few_rows::matmul_transposed(x, w)
    }
    #[cfg(not(feature = "flex"))]
    {
        x.matmul(w.transpose())
    }
}

/// `-log_softmax(logits)[target]` of each row of `logits` (`[rows, vocab]`): the fused pass and
/// backward of [`target_nll::target_nll`] on the CPU at f32, burn's ops elsewhere.
pub fn target_nll(logits: Tensor<2>, targets: &[i64]) -> Tensor<1> {
    let indices: Option<Vec<usize>> = targets.iter().map(|&t| usize::try_from(t).ok()).collect();
    if let Some(nll) = indices.and_then(|indices| target_nll::target_nll(&logits, &indices)) {
        return nll;
    }
    let rows = targets.len();
    let index: Tensor<2, Int> = Tensor::from_data(
        TensorData::new(targets.to_vec(), [rows, 1]),
        &logits.device(),
    );
    log_softmax(logits, 1)
        .gather(1, index)
        .reshape([rows])
        .neg()
}

/// The error for a device whose backend `feature` this binary was built without.
#[cfg(not(all(feature = "flex", feature = "wgpu", feature = "cuda")))]
fn not_compiled(spec: DeviceSpec, feature: &'static str) -> EngineError {
    EngineError::BackendNotCompiled {
        device: spec.to_string(),
        feature,
    }
}

#[cfg(feature = "flex")]
fn cpu_device(_spec: DeviceSpec) -> Result<Device, EngineError> {
    Ok(Device::flex())
}

#[cfg(not(feature = "flex"))]
fn cpu_device(spec: DeviceSpec) -> Result<Device, EngineError> {
    Err(not_compiled(spec, "flex"))
}

#[cfg(feature = "wgpu")]
fn wgpu_device(_spec: DeviceSpec, adapter: WgpuAdapter) -> Result<Device, EngineError> {
    use burn::tensor::DeviceKind;
    Ok(Device::wgpu(match adapter {
        WgpuAdapter::Best => DeviceKind::DefaultDevice,
        WgpuAdapter::Discrete(index) => DeviceKind::DiscreteGpu(index),
        WgpuAdapter::Software => DeviceKind::Cpu,
    }))
}

#[cfg(not(feature = "wgpu"))]
fn wgpu_device(spec: DeviceSpec, _adapter: WgpuAdapter) -> Result<Device, EngineError> {
    Err(not_compiled(spec, "wgpu"))
}

#[cfg(feature = "cuda")]
fn cuda_device(_spec: DeviceSpec, index: usize) -> Result<Device, EngineError> {
    Ok(Device::cuda(index))
}

#[cfg(not(feature = "cuda"))]
fn cuda_device(spec: DeviceSpec, _index: usize) -> Result<Device, EngineError> {
    Err(not_compiled(spec, "cuda"))
}

#[cfg(any(feature = "wgpu", feature = "cuda"))]
fn gpu_name(device: &Device) -> String {
    device
        .identity()
        .map_or_else(|| "unknown adapter".to_string(), |identity| identity.name)
}

#[cfg(not(any(feature = "wgpu", feature = "cuda")))]
fn gpu_name(_device: &Device) -> String {
    "unknown adapter".to_string()
}

/// The CPU model from `/proc/cpuinfo` (Linux) and the thread count burn's rayon pool uses.
fn cpu_name() -> String {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, name)| name.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    format!("{model} ({threads} threads)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_device_form() {
        assert_eq!("cpu".parse::<DeviceSpec>().unwrap(), DeviceSpec::Cpu);
        assert_eq!(
            "wgpu".parse::<DeviceSpec>().unwrap(),
            DeviceSpec::Wgpu(WgpuAdapter::Best)
        );
        assert_eq!(
            "wgpu:1".parse::<DeviceSpec>().unwrap(),
            DeviceSpec::Wgpu(WgpuAdapter::Discrete(1))
        );
        assert_eq!("cuda".parse::<DeviceSpec>().unwrap(), DeviceSpec::Cuda(0));
        assert_eq!("cuda:3".parse::<DeviceSpec>().unwrap(), DeviceSpec::Cuda(3));
        for spec in [
            DeviceSpec::Cpu,
            DeviceSpec::Wgpu(WgpuAdapter::Best),
            DeviceSpec::Wgpu(WgpuAdapter::Discrete(2)),
            DeviceSpec::Wgpu(WgpuAdapter::Software),
            DeviceSpec::Cuda(1),
        ] {
            assert_eq!(spec.to_string().parse::<DeviceSpec>().unwrap(), spec);
        }
    }

    #[test]
    fn rejects_unknown_devices_naming_the_field() {
        let message = "tpu".parse::<DeviceSpec>().unwrap_err().to_string();
        assert!(message.starts_with("invalid device:"), "{message}");
        assert!(message.contains("tpu"), "{message}");
        let message = "cuda:x".parse::<DeviceSpec>().unwrap_err().to_string();
        assert!(message.contains("cuda:0"), "{message}");
    }

    #[test]
    fn cpu_runs_a_tensor_op() {
        let device = DeviceSpec::Cpu.device().unwrap();
        let x = burn::tensor::Tensor::<2>::from_floats([[1.0, 2.0], [3.0, 4.0]], &device);
        let y = x.clone().matmul(x).into_data();
        y.assert_approx_eq::<f32>(
            &burn::tensor::TensorData::from([[7.0, 10.0], [15.0, 22.0]]),
            burn::tensor::Tolerance::absolute(1e-6),
        );
        let info = DeviceSpec::Cpu.describe().unwrap();
        assert_eq!(info.backend, "flex");
        assert!(info.adapter.contains("threads"), "{}", info.adapter);
    }
}
