//! The CPU kernels' entry points in a build without the CPU backend: each answers `None`, so
//! every caller keeps burn's ops.

/// See the `flex` build's `fused`.
pub mod fused {
    use burn::tensor::Tensor;

    /// `None`: burn's ops.
    pub fn rms_norm<const D: usize>(_: &Tensor<D>, _: &Tensor<1>, _: f64) -> Option<Tensor<D>> {
        None
    }

    /// `None`: burn's ops.
    pub fn silu_mul<const D: usize>(_: &Tensor<D>, _: &Tensor<D>) -> Option<Tensor<D>> {
        None
    }

    /// `None`: burn's ops.
    pub fn rope(_: &Tensor<4>, _: &Tensor<4>, _: &Tensor<4>) -> Option<Tensor<4>> {
        None
    }
}

/// See the `flex` build's `cached_attention`.
pub mod cached_attention {
    use burn::tensor::Tensor;

    use crate::llama::kv_cache::HostKv;

    /// `None`: burn's ops.
    pub fn attend(
        _: &Tensor<4>,
        _: &Tensor<4>,
        _: &Tensor<4>,
        _: &Tensor<4>,
        _: f64,
        _: &mut HostKv,
    ) -> Option<Tensor<3>> {
        None
    }
}
