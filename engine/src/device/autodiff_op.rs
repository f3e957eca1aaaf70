//! Recording the CPU kernels' own backward steps ([`super::target_nll`], [`super::tied_logits`],
//! [`super::sequence_attention`]) in burn's autodiff graph, on training devices with and without
//! gradient checkpointing.
//!
//! A checkpointed device's tensors convert only to `Autodiff<Flex, BalancedCheckpointing>`, a
//! plain one's only to `Autodiff<Flex>`. A kernel that handled one of them alone would leave the
//! other on burn's ops, and the two devices would train to weights a rounding apart (and at
//! different speeds). Each kernel is generic over [`Strategy`] and tries both, plain first. It records itself
//! as compute-bound, so checkpointing keeps its output instead of recomputing it, and its state
//! holds what its backward reads.

use burn::backend::autodiff::checkpoint::strategy::{
    BalancedCheckpointing, CheckpointStrategy, NoCheckpointing,
};
use burn::backend::autodiff::ops::{Backward, NodeGuard, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, Flex};
use burn::tensor::Tensor;

/// A gradient-checkpointing strategy of the CPU's training devices.
pub(super) trait Strategy: CheckpointStrategy {
    /// `x`'s host primitive and graph node, or `None` unless `x` is an f32-capable autodiff CPU
    /// tensor under this strategy.
    fn parts<const D: usize>(x: &Tensor<D>) -> Option<(FlexTensor, NodeGuard)>;

    /// The output `out` of `op` on the tensors of `nodes`, recorded with `state` for its backward
    /// when any of them requires a gradient.
    fn record<Op: Backward<Flex, N>, const N: usize, const D: usize>(
        op: Op,
        nodes: [NodeGuard; N],
        state: Op::State,
        out: FlexTensor,
    ) -> Tensor<D>;
}

macro_rules! strategy {
    ($strategy:ty) => {
        impl Strategy for $strategy {
            fn parts<const D: usize>(x: &Tensor<D>) -> Option<(FlexTensor, NodeGuard)> {
                let tracked = x
                    .clone()
                    .try_into_primitive::<Autodiff<Flex, Self>>()
                    .ok()?;
                Some(tracked.into_parts())
            }

            fn record<Op: Backward<Flex, N>, const N: usize, const D: usize>(
                op: Op,
                nodes: [NodeGuard; N],
                state: Op::State,
                out: FlexTensor,
            ) -> Tensor<D> {
                let result = match op.prepare::<Self>(nodes).compute_bound().stateful() {
                    OpsKind::Tracked(prep) => prep.finish(state, out),
                    OpsKind::UnTracked(prep) => prep.finish(out),
                };
                Tensor::from_primitive::<Autodiff<Flex, Self>>(result)
            }
        }
    };
}

strategy!(NoCheckpointing);
strategy!(BalancedCheckpointing);

#[cfg(test)]
mod tests {
    use burn::tensor::{Device, Distribution, Tensor};

    use super::super::{target_nll::target_nll, tied_logits::matmul_transposed};

    fn floats(x: Option<Tensor<2>>) -> Vec<f32> {
        let x = x.expect("a gradient");
        x.into_data().try_into_vec::<f32>().expect("f32")
    }

    /// The tied head and the NLL record themselves on a checkpointed training device as on a
    /// plain one, with the same gradients to the bit (`sequence_attention`'s tests cover it on
    /// both devices against burn's ops).
    #[test]
    fn kernels_record_under_both_strategies() {
        let random =
            |shape| Tensor::<2>::random(shape, Distribution::Normal(0.0, 1.0), &Device::flex());
        let (x, w) = (random([5, 7]), random([11, 7]));
        let gradients = |device: &Device| {
            let x = Tensor::from_data(x.to_data(), device).require_grad();
            let w = Tensor::from_data(w.to_data(), device).require_grad();
            let logits = matmul_transposed(&x, &w).expect("recorded on this device");
            let nll = target_nll(&logits, &[0, 3, 10, 2, 5]).expect("recorded on this device");
            let grads = nll.sum().backward();
            (floats(x.grad(&grads)), floats(w.grad(&grads)))
        };
        let plain = Device::flex().autodiff();
        let checkpointed = plain.clone().gradient_checkpointing();
        assert_eq!(gradients(&plain), gradients(&checkpointed));
    }
}
