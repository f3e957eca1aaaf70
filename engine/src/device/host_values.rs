//! Host tensors read and written where they lie, for the optimizer on the CPU: a gradient's values
//! without the copy `into_data` makes of a shared buffer, and a parameter updated in its own
//! buffer instead of a fresh one per step.

use burn::backend::Flex;
use burn::backend::flex::FlexTensor;
use burn::tensor::{DType, Tensor};
use rayon::prelude::*;

use super::fused::{PARALLEL_ELEMENTS, contiguous, host, sum_of_squares, values};
use super::vectorized::vectorized;

/// The values of a plain f32 CPU tensor, held without a copy where its storage is contiguous:
/// what the optimizer reads gradients through.
#[derive(Debug)]
pub struct HostValues(FlexTensor);

impl HostValues {
    /// `x`'s values, or `None` off the plain CPU device at f32.
    pub fn of<const D: usize>(x: &Tensor<D>) -> Option<Self> {
        host(x).map(Self)
    }

    /// The values in row-major order.
    pub fn as_slice(&self) -> &[f32] {
        values(&self.0)
    }

    /// Σ v², over sixteen lanes and rayon's threads.
    pub fn sum_of_squares(&self) -> f32 {
        let arch = pulp::Arch::new();
        self.as_slice()
            .par_chunks(PARALLEL_ELEMENTS)
            .map(|chunk| {
                vectorized(
                    arch,
                    #[inline(always)]
                    || sum_of_squares(chunk),
                )
            })
            .sum()
    }
}

/// Runs `body` on the values of `x` in its own buffer when nothing else holds that buffer (else
/// in one copy) and returns the tensor; gives `x` back untouched off the plain CPU device at f32.
#[expect(
    clippy::result_large_err,
    reason = "the tensor comes back by value either way; boxing it would allocate per parameter"
)]
pub fn update_in_place<const D: usize>(
    x: Tensor<D>,
    body: impl FnOnce(&mut [f32]),
) -> Result<Tensor<D>, Tensor<D>> {
    if x.dtype() != DType::F32 || x.is_autodiff() || !super::is_cpu(&x.device()) {
        return Err(x);
    }
    // A handle to give back if the conversion fails; dropped before the uniqueness matters.
    let spare = x.clone();
    let Ok(primitive) = x.try_into_primitive::<Flex>() else {
        return Err(spare);
    };
    drop(spare);
    let mut primitive = contiguous(primitive);
    let (start, count) = (
        primitive.layout().start_offset(),
        primitive.layout().num_elements(),
    );
    // Copies the buffer only when it is shared.
    body(&mut primitive.storage_mut::<f32>()[start..start + count]);
    Ok(Tensor::from_primitive::<Flex>(primitive))
}

#[cfg(test)]
mod tests {
    use burn::tensor::Device;

    use super::*;

    fn floats(x: Tensor<1>) -> Vec<f32> {
        x.into_data().try_into_vec::<f32>().expect("f32")
    }

    /// What another holder of the buffer (a reference model's weights) sees stays as it was.
    #[test]
    fn a_shared_buffer_is_copied_and_left_intact() {
        let x = Tensor::<1>::from_floats([1.0, 2.0, 3.0], &Device::flex());
        let other = x.clone();
        let updated = update_in_place(x, |v| v.iter_mut().for_each(|v| *v *= 2.0))
            .expect("a plain f32 CPU tensor");
        assert_eq!(floats(updated), [2.0, 4.0, 6.0]);
        assert_eq!(floats(other), [1.0, 2.0, 3.0]);
    }

    #[test]
    fn autodiff_tensors_come_back_untouched() {
        let x = Tensor::<1>::from_floats([1.0, 2.0], &Device::flex()).autodiff();
        let back = update_in_place(x, |v| v.fill(0.0)).expect_err("an autodiff tensor");
        assert_eq!(floats(back.inner()), [1.0, 2.0]);
        assert!(HostValues::of(&Tensor::<1>::ones([2], &Device::flex()).autodiff()).is_none());
    }

    #[test]
    fn sum_of_squares_over_threads_matches_burn() {
        let x = Tensor::<1>::random(
            [100_003],
            burn::tensor::Distribution::Normal(0.0, 1.0),
            &Device::flex(),
        );
        let expected: f32 = x.clone().square().sum().into_scalar();
        let got = HostValues::of(&x).expect("a host tensor").sum_of_squares();
        assert!(
            (got - expected).abs() <= 1e-5 * expected,
            "{got} vs {expected}"
        );
        assert_eq!(HostValues::of(&x).expect("host").as_slice().len(), 100_003);
    }
}
