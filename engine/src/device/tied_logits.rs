//! `x · wᵀ` in training on the CPU, with a backward that writes `w`'s gradient in `w`'s own
//! layout: the output projection of a model whose embedding matrix is tied to it (SmolLM2, the
//! Llama-3.2 models), which is `[vocab, hidden]` and so enters the product transposed.
//!
//! With burn's ops `wᵀ` is a transposed view, and its gradient comes back as `(xᵀ · g)ᵀ`: a view
//! whose vocabulary index has the unit stride. The embedding's own gradient (contiguous) is then
//! added to it element by element across that stride, where nearly every read misses the cache
//! (`zip_apply_inplace` under the autodiff's gradient registration: 4–10 % of SmolLM2's NPO step
//! in perf). Here the backward computes `gᵀ · x` (gemm reads the transposed operand through its
//! strides), so both gradients of the tied matrix are contiguous and their sum is one streaming
//! pass.

use burn::backend::Flex;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::{BalancedCheckpointing, NoCheckpointing};
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, binary};
use burn::backend::flex::FlexTensor;
use burn::tensor::{DType, Tensor};

use super::autodiff_op::Strategy;

/// `x · wᵀ` (`x` `[m, k]`, `w` `[n, k]`) recorded with the backward above, or `None` unless both
/// are f32 autodiff tensors on the CPU (inference passes have their own kernels).
pub fn matmul_transposed(x: &Tensor<2>, w: &Tensor<2>) -> Option<Tensor<2>> {
    if !x.is_autodiff()
        || !w.is_autodiff()
        || x.dtype() != DType::F32
        || w.dtype() != DType::F32
        || !super::is_cpu(&x.device())
        || x.dims()[1] != w.dims()[1]
    {
        return None;
    }
    tracked::<NoCheckpointing>(x, w).or_else(|| tracked::<BalancedCheckpointing>(x, w))
}

/// [`matmul_transposed`] under checkpointing strategy `C`, recorded with its backward.
fn tracked<C: Strategy>(x: &Tensor<2>, w: &Tensor<2>) -> Option<Tensor<2>> {
    let ((x, x_node), (w, w_node)) = (C::parts(x)?, C::parts(w)?);
    let out = primitive(plain(x.clone()).matmul(plain(w.clone()).transpose()));
    Some(C::record(TransposedProduct, [x_node, w_node], (x, w), out))
}

fn plain(x: FlexTensor) -> Tensor<2> {
    Tensor::from_primitive::<Flex>(x)
}

fn primitive(x: Tensor<2>) -> FlexTensor {
    match x.try_into_primitive::<Flex>() {
        Ok(x) => x,
        Err(error) => unreachable!("a product of Flex tensors is a Flex tensor: {error:?}"),
    }
}

/// `d/dx = g · w`, `d/dw = gᵀ · x` (`[n, k]`, contiguous).
#[derive(Debug)]
struct TransposedProduct;

impl Backward<Flex, 2> for TransposedProduct {
    type State = (FlexTensor, FlexTensor);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let (x, w) = ops.state;
        binary::<Flex, _, _>(
            ops.parents,
            ops.node,
            grads,
            |g| primitive(plain(g).matmul(plain(w))),
            |g| primitive(plain(g).transpose().matmul(plain(x))),
        );
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Device, Distribution};

    use super::*;
    use crate::device::test_support::{close, floats};

    /// Values and both gradients against burn's ops, with `w` also used elsewhere (as the tied
    /// embedding is) so that its two gradients are summed.
    #[test]
    fn agrees_with_burns_transposed_product() {
        let device = Device::flex();
        let x: Tensor<2> = Tensor::random([37, 24], Distribution::Normal(0.0, 1.0), &device);
        let w: Tensor<2> = Tensor::random([101, 24], Distribution::Normal(0.0, 1.0), &device);
        let g: Tensor<2> = Tensor::random([37, 101], Distribution::Normal(0.0, 1.0), &device);
        let run = |ours: bool| {
            let (x, w) = (
                x.clone().autodiff().require_grad(),
                w.clone().autodiff().require_grad(),
            );
            let out = if ours {
                matmul_transposed(&x, &w).expect("f32 autodiff CPU tensors")
            } else {
                x.clone().matmul(w.clone().transpose())
            };
            let loss = (out.clone() * g.clone().autodiff()).sum() + w.clone().square().sum();
            let grads = loss.backward();
            (
                floats(out.inner()),
                floats(x.grad(&grads).expect("x's gradient")),
                floats(w.grad(&grads).expect("w's gradient")),
            )
        };
        let (ours, theirs) = (run(true), run(false));
        close(ours.0, theirs.0, "values");
        close(ours.1, theirs.1, "x gradient");
        close(ours.2, theirs.2, "w gradient");
    }

    #[test]
    fn plain_tensors_keep_their_own_paths() {
        let x: Tensor<2> = Tensor::ones([2, 3], &Device::flex());
        assert!(matmul_transposed(&x, &x).is_none());
    }
}
