use burn::tensor::activation::silu;
use burn::tensor::{Device, Distribution};

use super::*;
use crate::device::test_support::{close, floats};

fn random<const D: usize>(shape: [usize; D], scale: f64) -> Tensor<D> {
    Tensor::random(shape, Distribution::Normal(0.0, scale), &Device::flex())
}

/// Small (one thread) and large (rayon) shapes; inputs out to ±100, where `e^-|g|` meets the
/// clamp; NaN staying NaN.
#[test]
fn inference_agrees_with_burns_ops() {
    for shape in [[2, 3, 5], [8, 74, 176]] {
        let gate = random(shape, 30.0);
        let up = random(shape, 1.0);
        let expected = silu(gate.clone()) * up.clone();
        let got = silu_mul(&gate, &up).expect("a plain f32 CPU tensor");
        let scale: f32 = expected.clone().abs().max().into_scalar();
        let difference: f32 = (got - expected).abs().max().into_scalar();
        assert!(difference <= 1e-6 * scale, "{shape:?}");
    }
    let gate = Tensor::<1>::from_floats([f32::NAN, -100.0, 0.0, 100.0], &Device::flex());
    let up = Tensor::<1>::ones([4], &Device::flex());
    let got = floats(silu_mul(&gate, &up).expect("a plain f32 CPU tensor"));
    assert!(got[0].is_nan());
    assert_eq!(&got[1..], &[-0.0, 0.0, 100.0]);
}

/// Values and both gradients against burn's `silu(gate) * up`, through a weighted sum, with `up`
/// used a second time so that its gradients are summed; one thread and rayon's, on training
/// devices with and without gradient checkpointing.
#[test]
fn training_agrees_with_burns_ops() {
    for shape in [[2, 3, 5], [8, 74, 176]] {
        let (gate, up, weights) = (random(shape, 4.0), random(shape, 1.0), random(shape, 1.0));
        let run = |ours: bool, device: &Device| {
            let [gate, up] =
                [&gate, &up].map(|t| Tensor::from_data(t.to_data(), device).require_grad());
            let out = if ours {
                silu_mul(&gate, &up).expect("f32 autodiff CPU tensors")
            } else {
                silu(gate.clone()) * up.clone()
            };
            let loss = (out.clone() * Tensor::from_data(weights.to_data(), device)).sum()
                + up.clone().square().sum();
            let grads = loss.backward();
            let grad = |t: &Tensor<3>| floats(t.grad(&grads).expect("a gradient"));
            (floats(out.inner()), grad(&gate), grad(&up))
        };
        let plain = Device::flex().autodiff();
        for device in [plain.clone(), plain.gradient_checkpointing()] {
            let (ours, theirs) = (run(true, &device), run(false, &device));
            close(ours.0, theirs.0, "values");
            close(ours.1, theirs.1, "gate gradient");
            close(ours.2, theirs.2, "up gradient");
        }
    }
}

/// A gate that needs no gradient (a frozen projection) still passes one to `up`.
#[test]
fn one_input_without_a_gradient() {
    let device = Device::flex().autodiff();
    let gate: Tensor<2> = Tensor::from_data(random([4, 8], 1.0).to_data(), &device);
    let up: Tensor<2> = Tensor::from_data(random([4, 8], 1.0).to_data(), &device).require_grad();
    let grads = silu_mul(&gate, &up).expect("recorded").sum().backward();
    let expected = floats(silu(gate.clone()).inner());
    close(
        floats(up.grad(&grads).expect("a gradient")),
        expected,
        "up gradient",
    );
    assert!(gate.grad(&grads).is_none());
}

#[test]
fn other_dtypes_and_mismatched_shapes_keep_burns_ops() {
    let x = random([4, 8], 1.0);
    assert!(silu_mul(&x, &random([4, 9], 1.0)).is_none());
    let half = x.clone().cast(burn::tensor::FloatDType::BF16);
    assert!(silu_mul(&half, &half).is_none());
}
