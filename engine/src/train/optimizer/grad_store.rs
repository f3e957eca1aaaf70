//! [`GradStore`]: what gradient accumulation sums over micro-batches.

use std::collections::HashMap;

use burn::module::{Module as _, ModuleVisitor, Param, ParamId};
use burn::tensor::{Gradients, Tensor};

use super::{AdamWConfig, to_f32};
use crate::device::host_values::HostValues;
use crate::llama::LlamaForCausalLM;

/// Gradients of every parameter, flattened and detached from the graph, keyed by parameter id:
/// what gradient accumulation sums over micro-batches.
/// They are summed in f32 unless made with [`GradStore::in_param_dtype`].
#[derive(Debug, Default)]
pub struct GradStore {
    pub(super) grads: HashMap<ParamId, Tensor<1>>,
    param_dtype: bool,
}

impl GradStore {
    /// A store that sums gradients in the parameters' own dtype (bf16 for half weights), as HF
    /// does for a model loaded in bf16: 2 bytes per parameter instead of 4.
    pub fn in_param_dtype() -> Self {
        Self {
            grads: HashMap::new(),
            param_dtype: true,
        }
    }

    /// The store [`super::AdamW`] with `config` expects: f32 sums with master weights, otherwise sums in
    /// the parameters' dtype.
    pub fn for_config(config: &AdamWConfig) -> Self {
        if config.master_weights {
            Self::default()
        } else {
            Self::in_param_dtype()
        }
    }

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
                    let grad = grad.inner().reshape([numel]);
                    let grad = if self.store.param_dtype {
                        grad
                    } else {
                        to_f32(grad)
                    };
                    // Unscaled (one micro-batch per step) is the common case: no pass at all.
                    #[expect(clippy::float_cmp, reason = "exactly 1 leaves the values unchanged")]
                    let grad = if self.scale == 1.0 {
                        grad
                    } else {
                        grad.mul_scalar(self.scale)
                    };
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
            .map(|grad| {
                let squares = match HostValues::of(grad) {
                    Some(values) => values.sum_of_squares(),
                    None => to_f32(grad.clone()).square().sum().into_scalar::<f32>(),
                };
                f64::from(squares)
            })
            .sum::<f64>()
            .sqrt()
    }

    /// Whether nothing has been accumulated.
    pub fn is_empty(&self) -> bool {
        self.grads.is_empty()
    }
}
