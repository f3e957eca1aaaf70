//! Helpers the kernels' unit tests share: reading a tensor back and comparing to burn's ops.

use burn::tensor::Tensor;

/// The values of an f32 tensor.
pub fn floats<const D: usize>(x: Tensor<D>) -> Vec<f32> {
    x.into_data().try_into_vec::<f32>().expect("f32")
}

/// Asserts `got` matches `expected` element by element, to 1e-5 relative (plus 1e-5 absolute).
pub fn close(got: Vec<f32>, expected: Vec<f32>, what: &str) {
    assert_eq!(got.len(), expected.len(), "{what}");
    for (i, (a, b)) in got.iter().zip(&expected).enumerate() {
        assert!(
            (a - b).abs() <= 1e-5 * (1.0 + b.abs()),
            "{what}[{i}]: {a} vs {b}"
        );
    }
}
