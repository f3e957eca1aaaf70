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
    pub fn rope(_: &Tensor<4>, _: &Tensor<4>, _: &Tensor<4>) -> Option<Tensor<4>> {
        None
    }
}

/// See the `flex` build's `swiglu`.
pub mod swiglu {
    use burn::tensor::Tensor;

    /// `None`: burn's ops.
    pub fn silu_mul<const D: usize>(_: &Tensor<D>, _: &Tensor<D>) -> Option<Tensor<D>> {
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

/// See the `flex` build's `sequence_attention`.
pub mod sequence_attention {
    use burn::tensor::Tensor;

    /// `None`: burn's ops.
    pub fn attend(
        _: &Tensor<4>,
        _: &Tensor<4>,
        _: &Tensor<4>,
        _: &Tensor<4>,
        _: f64,
    ) -> Option<Tensor<3>> {
        None
    }
}

/// See the `flex` build's `target_nll`.
pub mod target_nll {
    use burn::tensor::Tensor;

    /// `None`: burn's ops.
    pub fn target_nll(_: &Tensor<2>, _: &[usize]) -> Option<Tensor<1>> {
        None
    }
}

/// See the `flex` build's `host_values`.
pub mod host_values {
    use burn::tensor::Tensor;

    /// Never made: no tensor lives in host memory without the CPU backend.
    #[derive(Debug)]
    pub struct HostValues(std::convert::Infallible);

    impl HostValues {
        /// `None`: no tensor is a host tensor.
        pub fn of<const D: usize>(_: &Tensor<D>) -> Option<Self> {
            None
        }

        /// Unreachable: there is no value of this type.
        pub fn as_slice(&self) -> &[f32] {
            match self.0 {}
        }

        /// Unreachable: there is no value of this type.
        pub fn sum_of_squares(&self) -> f32 {
            match self.0 {}
        }
    }

    /// Gives `x` back: burn's ops.
    #[expect(
        clippy::result_large_err,
        reason = "the tensor comes back by value either way; boxing it would allocate per parameter"
    )]
    pub fn update_in_place<const D: usize>(
        x: Tensor<D>,
        _: impl FnOnce(&mut [f32]),
    ) -> Result<Tensor<D>, Tensor<D>> {
        Err(x)
    }
}
