//! AdamW as `torch.optim.AdamW` computes it, with HF Trainer's two parameter groups (weight decay
//! on matrices; none on biases and norm weights, which in these models are exactly the rank-1
//! parameters) and `clip_grad_norm_` over all parameters first.
//! burn's own AdamW defaults to ε = 1e-5 and decays every parameter (shared/toolchain/BURN.md).
//!
//! Half-precision weights: gradients are accumulated, moments kept and the update computed in f32
//! whatever the weights' dtype, like bitsandbytes' `paged_adamw_32bit` that OU uses. With
//! [`AdamWConfig::master_weights`] (the default) an f32 copy of every half-precision parameter is
//! updated and cast down after each step, so updates far below bf16's resolution (lr 1e-5 on
//! weights of order 1e-2) still accumulate; without it the half weights are updated in place as
//! HF Trainer does for a model loaded in bf16, saving 4 bytes per parameter.

use std::collections::HashMap;

use burn::module::{Module, ModuleMapper, Param, ParamId};
use burn::tensor::{DType, FloatDType, Gradients, Tensor, TensorData};

use crate::device::host_values::{self, HostValues};
use crate::llama::LlamaForCausalLM;

mod grad_store;
mod host;

pub use grad_store::GradStore;

/// `tensor` in f32 (`cast` returns it unchanged when it already is).
fn to_f32<const D: usize>(tensor: Tensor<D>) -> Tensor<D> {
    tensor.cast(FloatDType::F32)
}

/// The values of `data` as f32: its own buffer when it holds f32 that nothing else shares (no
/// copy), one `memcpy` when the f32 buffer is shared, else converted.
fn host_f32(data: TensorData) -> Vec<f32> {
    if data.as_slice::<f32>().is_ok() {
        // `as_slice` accepted the dtype and the bytes, which is all `try_into_vec` checks.
        return data.try_into_vec::<f32>().unwrap_or_default();
    }
    data.iter::<f32>().collect()
}

/// A gradient's values: read where they lie, or copied out of the device.
enum Grad {
    Host(HostValues),
    Copied(Vec<f32>),
}

impl Grad {
    fn as_slice(&self) -> &[f32] {
        match self {
            Self::Host(values) => values.as_slice(),
            Self::Copied(values) => values,
        }
    }
}

/// Hyperparameters (HF defaults).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamWConfig {
    /// β1 (0.9).
    pub beta1: f64,
    /// β2 (0.999).
    pub beta2: f64,
    /// ε (1e-8).
    pub eps: f64,
    /// Decoupled weight decay on matrices (0.01 in OU's TOFU experiments).
    pub weight_decay: f64,
    /// Global grad-norm clip (1.0); `None` turns clipping off.
    pub max_grad_norm: Option<f64>,
    /// Keep an f32 master copy of half-precision weights (no effect on f32 weights).
    pub master_weights: bool,
    /// Keep the moments and master weights in host memory and update on the CPU with every
    /// core: the device holds only the weights and the gradients.
    pub offload: bool,
    /// Update with burn tensor ops (a dozen passes over each parameter, each into a fresh
    /// buffer) even where the parameters already live in host memory (the CPU device). Off by
    /// default: there the update runs as `offload`'s fused loop, one pass and no copy of the
    /// state, with the same result to the last bit. GPU devices always use tensor ops unless
    /// `offload` is set. On, it keeps the two paths comparable in a test.
    pub tensor_update: bool,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        Self {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01,
            max_grad_norm: Some(1.0),
            master_weights: true,
            offload: false,
            tensor_update: false,
        }
    }
}

/// Optimizer state: first and second moments per parameter, flattened.
#[derive(Debug, Default)]
pub struct AdamW {
    /// Settings.
    pub config: AdamWConfig,
    moments: HashMap<ParamId, (Tensor<1>, Tensor<1>)>,
    masters: HashMap<ParamId, Tensor<1>>,
    host: HashMap<ParamId, host::HostState>,
    steps: u64,
}

/// What one step did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepReport {
    /// Global grad norm before clipping.
    pub grad_norm: f64,
    /// The factor gradients were scaled by (1 when not clipped).
    pub clip_coef: f64,
}

struct Update<'a> {
    optimizer: &'a mut AdamW,
    grads: &'a GradStore,
    lr: f64,
    scale: f64,
}

impl ModuleMapper for Update<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let id = param.id;
        let Some(grad) = self.grads.grads.get(&id) else {
            return param;
        };
        let config = self.optimizer.config;
        if config.offload || (!config.tensor_update && crate::device::is_cpu(&param.val().device()))
        {
            return self.on_host(param, grad);
        }
        let shape = param.val().dims();
        let grad: Tensor<1> = to_f32(grad.clone()).mul_scalar(self.scale);
        let (m, v) = match self.optimizer.moments.remove(&id) {
            Some((m, v)) => (
                m.mul_scalar(config.beta1) + grad.clone().mul_scalar(1.0 - config.beta1),
                v.mul_scalar(config.beta2) + grad.square().mul_scalar(1.0 - config.beta2),
            ),
            None => (
                grad.clone().mul_scalar(1.0 - config.beta1),
                grad.square().mul_scalar(1.0 - config.beta2),
            ),
        };
        let t = i32::try_from(self.optimizer.steps).unwrap_or(i32::MAX);
        let bias1 = 1.0 - config.beta1.powi(t);
        let bias2_sqrt = (1.0 - config.beta2.powi(t)).sqrt();
        let denom = v
            .clone()
            .sqrt()
            .div_scalar(bias2_sqrt)
            .add_scalar(config.eps);
        let step: Tensor<1> = (m.clone() / denom).mul_scalar(self.lr / bias1);
        self.optimizer.moments.insert(id, (m, v));
        let decay = if D >= 2 { config.weight_decay } else { 0.0 };
        let lr = self.lr;
        let master = self.optimizer.masters.remove(&id);
        let keep_master = config.master_weights;
        let mut new_master = None;
        let param = param.map(|value| {
            let tracked = value.is_autodiff();
            let value = value.inner();
            let dtype = value.dtype();
            let flat = match master {
                Some(master) => master,
                None => to_f32(value.reshape([shape.iter().product::<usize>()])),
            };
            let updated = flat.mul_scalar(1.0 - lr * decay) - step;
            let half = dtype != DType::F32;
            if half && keep_master {
                new_master = Some(updated.clone());
            }
            let updated = updated.reshape(shape);
            let updated = if half { updated.cast(dtype) } else { updated };
            if tracked {
                // A fresh leaf: the next forward records a new graph from here.
                updated.autodiff().require_grad()
            } else {
                updated
            }
        });
        if let Some(master) = new_master {
            self.optimizer.masters.insert(id, master);
        }
        param
    }
}

impl Update<'_> {
    /// The offloaded update of one parameter ([`host`]): the fused loop in host memory.
    fn on_host<const D: usize>(
        &mut self,
        param: Param<Tensor<D>>,
        grad: &Tensor<1>,
    ) -> Param<Tensor<D>> {
        let config = self.optimizer.config;
        let id = param.id;
        // Read in place where the gradient is a host tensor already (the CPU device).
        let grad = match HostValues::of(grad) {
            Some(values) => Grad::Host(values),
            None => Grad::Copied(host_f32(grad.clone().into_data())),
        };
        let grad = grad.as_slice();
        let t = i32::try_from(self.optimizer.steps).unwrap_or(i32::MAX);
        let scalars = host::Scalars {
            beta1: config.beta1,
            beta2: config.beta2,
            eps: config.eps,
            bias1: 1.0 - config.beta1.powi(t),
            bias2_sqrt: (1.0 - config.beta2.powi(t)).sqrt(),
            lr: self.lr,
            decay: if D >= 2 { config.weight_decay } else { 0.0 },
            scale: self.scale,
        };
        let state = self.optimizer.host.remove(&id);
        let mut new_state = None;
        let param = param.map(|value| {
            let tracked = value.is_autodiff();
            let value = value.inner();
            let (dtype, shape, device) = (value.dtype(), value.dims(), value.device());
            let half = dtype != DType::F32;
            // Taken by whichever update below runs.
            let mut state = Some(state);
            // f32 weights in host memory: updated in their own buffer.
            let value = if half {
                Err(value)
            } else {
                host_values::update_in_place(value, |w| {
                    new_state = state
                        .take()
                        .map(|state| host::update_in_place(state, grad, w, scalars));
                })
            };
            let updated = match value {
                Ok(updated) => updated,
                Err(value) => {
                    let current = || host_f32(value.into_data());
                    let (weights, state) = host::update(
                        state.take().flatten(),
                        grad,
                        current,
                        scalars,
                        half && config.master_weights,
                    );
                    new_state = Some(state);
                    let updated: Tensor<D> =
                        Tensor::from_data(TensorData::new(weights, shape), &device);
                    if half { updated.cast(dtype) } else { updated }
                }
            };
            if tracked {
                updated.autodiff().require_grad()
            } else {
                updated
            }
        });
        if let Some(state) = new_state {
            self.optimizer.host.insert(id, state);
        }
        param
    }
}

impl AdamW {
    /// Bytes of optimizer state held in host memory (with [`AdamWConfig::offload`]).
    pub fn host_bytes(&self) -> usize {
        self.host.values().map(host::HostState::bytes).sum()
    }

    /// A fresh optimizer.
    pub fn new(config: AdamWConfig) -> Self {
        Self {
            config,
            moments: HashMap::new(),
            masters: HashMap::new(),
            host: HashMap::new(),
            steps: 0,
        }
    }

    /// One update from a single backward pass (no accumulation).
    pub fn step(
        &mut self,
        model: LlamaForCausalLM,
        grads: &Gradients,
        lr: f64,
    ) -> (LlamaForCausalLM, StepReport) {
        let mut store = GradStore::default();
        store.accumulate(&model, grads, 1.0);
        self.step_accumulated(model, &store, lr)
    }

    /// Clips the accumulated gradients to the global norm and applies one AdamW update at `lr`.
    pub fn step_accumulated(
        &mut self,
        model: LlamaForCausalLM,
        grads: &GradStore,
        lr: f64,
    ) -> (LlamaForCausalLM, StepReport) {
        let norm = grads.norm();
        let clip_coef = self
            .config
            .max_grad_norm
            .map_or(1.0, |max| (max / (norm + 1e-6)).min(1.0));
        self.steps += 1;
        let mut update = Update {
            optimizer: self,
            grads,
            lr,
            scale: clip_coef,
        };
        let model = model.map(&mut update);
        (
            model,
            StepReport {
                grad_norm: norm,
                clip_coef,
            },
        )
    }
}
