//! Comparing gradients: every parameter's gradient of a model flattened in visiting order, and
//! the relative L2 distance of two such vectors.
#![allow(dead_code, reason = "each test crate uses part of it")]

use burn::module::{Module as _, ModuleVisitor, Param};
use burn::tensor::{Gradients, Tensor};
use engine::llama::LlamaForCausalLM;

/// Every parameter's gradient in `grads`, flattened in visiting order.
pub fn all_gradients(model: &LlamaForCausalLM, grads: &Gradients) -> Vec<f32> {
    struct Collect<'a> {
        grads: &'a Gradients,
        values: Vec<f32>,
    }
    impl ModuleVisitor for Collect<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(grad) = param.val().grad(self.grads) {
                self.values.extend(grad.into_data().iter::<f32>());
            }
        }
    }
    let mut visitor = Collect {
        grads,
        values: Vec::new(),
    };
    model.visit(&mut visitor);
    visitor.values
}

/// `‖ours − theirs‖ / ‖theirs‖`, in f64.
pub fn relative_l2(ours: &[f32], theirs: &[f32]) -> f64 {
    let diff: f64 = ours
        .iter()
        .zip(theirs)
        .map(|(a, b)| (f64::from(*a) - f64::from(*b)).powi(2))
        .sum::<f64>()
        .sqrt();
    let norm: f64 = theirs
        .iter()
        .map(|b| f64::from(*b).powi(2))
        .sum::<f64>()
        .sqrt();
    diff / norm.max(1e-30)
}
