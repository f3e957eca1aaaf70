//! AdamW as `torch.optim.AdamW` computes it, with HF Trainer's two parameter groups (weight decay
//! on matrices; none on biases and norm weights, which in these models are exactly the rank-1
//! parameters) and `clip_grad_norm_` over all parameters first.
//! burn's own AdamW defaults to ε = 1e-5 and decays every parameter (shared/toolchain/BURN.md).

use std::collections::HashMap;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::tensor::{Gradients, Tensor};

use crate::llama::LlamaForCausalLM;

/// Gradients of every parameter, flattened and detached from the graph, keyed by parameter id:
/// what gradient accumulation sums over micro-batches.
#[derive(Debug, Default)]
pub struct GradStore {
    grads: HashMap<ParamId, Tensor<1>>,
}

impl GradStore {
    /// Adds `scale · d loss / d θ` of `model` from one backward pass.
    pub fn accumulate(&mut self, model: &LlamaForCausalLM, grads: &Gradients, scale: f64) {
        struct Collect<'a> {
            store: &'a mut GradStore,
            grads: &'a Gradients,
            scale: f64,
        }
        impl ModuleVisitor for Collect<'_> {
            fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
                if let Some(grad) = param.val().grad(self.grads) {
                    let numel = grad.dims().iter().product::<usize>();
                    let grad = grad.inner().reshape([numel]).mul_scalar(self.scale);
                    let entry = match self.store.grads.remove(&param.id) {
                        Some(sum) => sum + grad,
                        None => grad,
                    };
                    self.store.grads.insert(param.id, entry);
                }
            }
        }
        model.visit(&mut Collect {
            store: self,
            grads,
            scale,
        });
    }

    /// Global L2 norm over every stored gradient.
    pub fn norm(&self) -> f64 {
        self.grads
            .values()
            .map(|grad| f64::from(grad.clone().square().sum().into_scalar::<f32>()))
            .sum::<f64>()
            .sqrt()
    }

    /// Whether nothing has been accumulated.
    pub fn is_empty(&self) -> bool {
        self.grads.is_empty()
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
}

impl Default for AdamWConfig {
    fn default() -> Self {
        Self {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01,
            max_grad_norm: Some(1.0),
        }
    }
}

/// Optimizer state: first and second moments per parameter, flattened.
#[derive(Debug, Default)]
pub struct AdamW {
    /// Settings.
    pub config: AdamWConfig,
    moments: HashMap<ParamId, (Tensor<1>, Tensor<1>)>,
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
        let shape = param.val().dims();
        let grad: Tensor<1> = grad.clone().mul_scalar(self.scale);
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
        param.map(|value| {
            let tracked = value.is_autodiff();
            let updated = value.inner().mul_scalar(1.0 - lr * decay) - step.inner().reshape(shape);
            if tracked {
                // A fresh leaf: the next forward records a new graph from here.
                updated.autodiff().require_grad()
            } else {
                updated
            }
        })
    }
}

impl AdamW {
    /// A fresh optimizer.
    pub fn new(config: AdamWConfig) -> Self {
        Self {
            config,
            moments: HashMap::new(),
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
