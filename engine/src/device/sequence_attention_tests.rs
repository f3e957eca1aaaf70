use burn::tensor::activation::softmax;
use burn::tensor::{Device, Distribution, TensorData};

use super::*;
use crate::device::test_support::{close, floats};

fn random(shape: [usize; 4]) -> Tensor<4> {
    Tensor::random(shape, Distribution::Normal(0.0, 1.0), &Device::flex())
}

/// burn's separate ops, each key/value head repeated for its query heads: the reference.
fn reference(q: Tensor<4>, k: Tensor<4>, v: Tensor<4>, mask: Tensor<4>, scale: f64) -> Tensor<3> {
    let [batch, heads, seq, dim] = q.dims();
    let group = heads / k.dims()[1];
    let repeat = |t: Tensor<4>| {
        let [b, h, s, d] = t.dims();
        t.unsqueeze_dim::<5>(2)
            .repeat_dim(2, group)
            .reshape([b, h * group, s, d])
    };
    let scores = q.matmul(repeat(k).swap_dims(2, 3)).mul_scalar(scale) + mask;
    softmax(scores, 3)
        .matmul(repeat(v))
        .swap_dims(1, 2)
        .reshape([batch, seq, heads * dim])
}

/// A causal mask over `seq` positions for three rows: row 0 unpadded, row 1 left-padded by two
/// (its first queries see no key at all), row 2 right-padded by three.
fn mask(seq: usize, device: &Device) -> Tensor<4> {
    let bias: Vec<f32> = (0..3 * seq * seq)
        .map(|flat| {
            let (row, query, key) = (flat / (seq * seq), flat / seq % seq, flat % seq);
            let padded = (row == 1 && key < 2) || (row == 2 && key >= seq - 3);
            if padded || key > query { f32::MIN } else { 0.0 }
        })
        .collect();
    Tensor::from_data(TensorData::new(bias, [3, 1, seq, seq]), device)
}

/// Sequences shorter than one block of 16 keys and longer than 64 + 16 with a ragged tail.
#[test]
fn inference_agrees_with_burns_ops() {
    for seq in [9, 83] {
        inference_agrees_at(seq);
    }
}

fn inference_agrees_at(seq: usize) {
    let (heads, kv_heads, dim) = (6, 2, 16);
    let (q, k, v) = (
        random([3, heads, seq, dim]),
        random([3, kv_heads, seq, dim]),
        random([3, kv_heads, seq, dim]),
    );
    let mask = mask(seq, &Device::flex());
    let scale = 0.25;
    // `v` as the model passes it: a transposed view.
    let v_view = v.clone().swap_dims(1, 2).swap_dims(1, 2);
    let got = attend(&q, &k, &v_view, &mask, scale).expect("plain f32 CPU tensors");
    close(
        floats(got),
        floats(reference(q, k, v, mask, scale)),
        &format!("values, seq {seq}"),
    );
}

/// Values and the gradients of `q`, `k` and `v` against burn's ops, through a weighted sum of the
/// output, with `k` also used a second time so that its two gradients are summed; on training
/// devices with and without gradient checkpointing; short and long sequences as above.
#[test]
fn training_agrees_with_burns_ops() {
    for seq in [11, 83] {
        training_agrees_at(seq);
    }
}

fn training_agrees_at(seq: usize) {
    let (heads, kv_heads, dim) = (4, 2, 8);
    let (q, k, v) = (
        random([3, heads, seq, dim]),
        random([3, kv_heads, seq, dim]),
        random([3, kv_heads, seq, dim]),
    );
    let weights: Tensor<3> = Tensor::random(
        [3, seq, heads * dim],
        Distribution::Normal(0.0, 1.0),
        &Device::flex(),
    );
    let scale = 0.3;
    let run = |ours: bool, device: &Device| {
        let [q, k, v] = [&q, &k, &v].map(|t| Tensor::from_data(t.to_data(), device).require_grad());
        let mask = mask(seq, device);
        let out = if ours {
            attend(&q, &k, &v, &mask, scale).expect("f32 autodiff CPU tensors")
        } else {
            reference(q.clone(), k.clone(), v.clone(), mask, scale)
        };
        let loss = (out.clone() * Tensor::from_data(weights.to_data(), device)).sum()
            + k.clone().square().sum();
        let grads = loss.backward();
        let grad = |t: &Tensor<4>| floats(t.grad(&grads).expect("a gradient"));
        (floats(out.inner()), grad(&q), grad(&k), grad(&v))
    };
    let plain = Device::flex().autodiff();
    for device in [plain.clone(), plain.gradient_checkpointing()] {
        let (ours, theirs) = (run(true, &device), run(false, &device));
        close(ours.0, theirs.0, &format!("values, seq {seq}"));
        close(ours.1, theirs.1, &format!("q gradient, seq {seq}"));
        close(ours.2, theirs.2, &format!("k gradient, seq {seq}"));
        close(ours.3, theirs.3, &format!("v gradient, seq {seq}"));
    }
}

#[test]
fn other_dtypes_and_mismatched_shapes_keep_burns_ops() {
    let q = random([1, 2, 3, 4]);
    let mask = Tensor::<4>::zeros([1, 1, 3, 3], &Device::flex());
    assert!(attend(&q, &q, &q, &mask, 1.0).is_some());
    let wrong = Tensor::<4>::zeros([1, 1, 3, 2], &Device::flex());
    assert!(attend(&q, &q, &q, &wrong, 1.0).is_none());
    let three_heads = random([1, 3, 3, 4]);
    assert!(attend(&q, &three_heads, &three_heads, &mask, 1.0).is_none());
    let half = q.clone().cast(burn::tensor::FloatDType::BF16);
    assert!(attend(&half, &half, &half, &mask, 1.0).is_none());
}
