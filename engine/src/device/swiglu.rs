//! `silu(gate) · up`, the SwiGLU MLP's activation, in one pass on the CPU at f32, with a backward
//! of its own on training devices.
//!
//! burn computes it as a sigmoid (libm's scalar `expf` per element), two products, each into a
//! buffer of its own, and its backward as five more element-wise ops. Here the forward reads
//! `gate` and `up` once and writes the product; the backward reads them and the output gradient
//! once and writes both input gradients,
//! `d gate = g · up · σ(gate) · (1 + gate · (1 - σ(gate)))` and `d up = g · silu(gate)`,
//! recomputing `σ` rather than keeping it. `e^x` is [`super::fused`]'s vectorized polynomial.

use burn::backend::Flex;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::{BalancedCheckpointing, NoCheckpointing};
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops};
use burn::backend::flex::FlexTensor;
use burn::tensor::{DType, Tensor, TensorData};
use rayon::prelude::*;

use super::autodiff_op::Strategy;
use super::fused::{PARALLEL_ELEMENTS, contiguous, exp_non_positive, for_chunks, host, values};
use super::vectorized::vectorized;

/// Elements per chunk: whole vectors, so that chunk `i` starts at `i * CHUNK`.
const CHUNK: usize = 1024;

/// `silu(gate) * up` (`silu(g) = g · sigmoid(g)`), element by element, or `None` off the CPU at
/// f32 or for shapes that differ.
pub fn silu_mul<const D: usize>(gate: &Tensor<D>, up: &Tensor<D>) -> Option<Tensor<D>> {
    let shape = gate.dims();
    if up.dims() != shape
        || [gate, up].iter().any(|t| t.dtype() != DType::F32)
        || !super::is_cpu(&gate.device())
    {
        return None;
    }
    if !gate.is_autodiff() {
        let (gate, up) = (host(gate)?, host(up)?);
        let out = forward(values(&gate), values(&up));
        return Some(super::fused::tensor(out, shape));
    }
    tracked::<NoCheckpointing, D>(gate, up)
        .or_else(|| tracked::<BalancedCheckpointing, D>(gate, up))
}

/// [`silu_mul`] of autodiff tensors under checkpointing strategy `C`, recorded with its backward.
fn tracked<C: Strategy, const D: usize>(gate: &Tensor<D>, up: &Tensor<D>) -> Option<Tensor<D>> {
    let (gate, gate_node) = C::parts(gate)?;
    let (up, up_node) = C::parts(up)?;
    let (gate, up) = (contiguous(gate), contiguous(up));
    let shape = gate.layout().shape().clone();
    let out = forward(values(&gate), values(&up));
    let out = FlexTensor::from_data(TensorData::new(out, shape));
    Some(C::record(
        SiluMulBackward,
        [gate_node, up_node],
        [gate, up],
        out,
    ))
}

/// `1 / (1 + e^-g)`, as burn computes it: through `e^-|g|`, which never overflows.
#[inline(always)]
fn sigmoid(g: f32) -> f32 {
    let e = exp_non_positive(-g.abs());
    let numerator = if g >= 0.0 { 1.0 } else { e };
    numerator / (1.0 + e)
}

fn forward(g: &[f32], u: &[f32]) -> Vec<f32> {
    let mut out = vec![0.0f32; g.len()];
    for_chunks(
        &mut out,
        CHUNK,
        #[inline(always)]
        |index, dst| {
            let start = index * CHUNK;
            let (g, u) = (&g[start..start + dst.len()], &u[start..start + dst.len()]);
            for ((o, &g), &u) in dst.iter_mut().zip(g).zip(u) {
                *o = g * sigmoid(g) * u;
            }
        },
    );
    out
}

/// The gradients of `gate` and `up` for the output gradient `grad`.
fn backward(g: &[f32], u: &[f32], grad: &[f32]) -> [Vec<f32>; 2] {
    let (mut grad_gate, mut grad_up) = (vec![0.0f32; g.len()], vec![0.0f32; g.len()]);
    let arch = pulp::Arch::new();
    let chunk = |index: usize, (dg, du): (&mut [f32], &mut [f32])| {
        let start = index * CHUNK;
        let range = start..start + dg.len();
        let (g, u, grad) = (&g[range.clone()], &u[range.clone()], &grad[range]);
        vectorized(
            arch,
            #[inline(always)]
            || {
                for ((((dg, du), &g), &u), &grad) in
                    dg.iter_mut().zip(du.iter_mut()).zip(g).zip(u).zip(grad)
                {
                    let s = sigmoid(g);
                    *dg = grad * u * s * (1.0 + g * (1.0 - s));
                    *du = grad * (g * s);
                }
            },
        );
    };
    if g.len() < PARALLEL_ELEMENTS {
        let pairs = grad_gate.chunks_mut(CHUNK).zip(grad_up.chunks_mut(CHUNK));
        pairs
            .enumerate()
            .for_each(|(index, pair)| chunk(index, pair));
    } else {
        grad_gate
            .par_chunks_mut(CHUNK)
            .zip(grad_up.par_chunks_mut(CHUNK))
            .enumerate()
            .with_min_len(PARALLEL_ELEMENTS / 4 / CHUNK)
            .for_each(|(index, pair)| chunk(index, pair));
    }
    [grad_gate, grad_up]
}

/// The backward step of [`silu_mul`]; its state is the forward's `gate` and `up`.
#[derive(Debug)]
struct SiluMulBackward;

impl Backward<Flex, 2> for SiluMulBackward {
    type State = [FlexTensor; 2];

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = contiguous(grads.consume::<Flex>(&ops.node));
        let [gate, up] = ops.state;
        let shape = gate.layout().shape().clone();
        let computed = backward(values(&gate), values(&up), values(&grad));
        for (parent, values) in ops.parents.into_iter().zip(computed) {
            if let Some(parent) = parent {
                let data = TensorData::new(values, shape.clone());
                grads.register::<Flex>(parent.id, FlexTensor::from_data(data));
            }
        }
    }
}

#[cfg(test)]
#[path = "swiglu_tests.rs"]
mod tests;
