//! Shared pieces of every objective: per-token NLL of a batch with its answer mask, and the
//! sequence statistics of spec §1 (`S`, `n`, `M`, `T`).

use burn::tensor::{Tensor, TensorData};

/// Per-token NLL `c(t)` of a right-padded batch, `[batch, seq - 1]`, zero off the answer.
#[derive(Debug, Clone)]
pub struct TokenNll {
    /// `c(t)` on answer positions, 0 elsewhere (tracked when the model is).
    pub nll: Tensor<2>,
    /// 1 on answer positions, 0 elsewhere.
    pub mask: Tensor<2>,
    /// `n(x)` per row.
    pub counts: Vec<usize>,
}

impl TokenNll {
    /// Rows.
    pub fn batch(&self) -> usize {
        self.counts.len()
    }

    /// `S(x)`, the summed answer NLL per row, `[batch]`.
    pub fn sums(&self) -> Tensor<1> {
        let batch = self.batch();
        self.nll.clone().sum_dim(1).reshape([batch])
    }

    /// `M(x) = S(x) / max(1, n(x))`, `[batch]`.
    pub fn means(&self) -> Tensor<1> {
        let device = self.nll.device();
        #[expect(clippy::cast_precision_loss, reason = "token counts are small")]
        let counts: Vec<f32> = self.counts.iter().map(|n| (*n).max(1) as f32).collect();
        self.sums() / Tensor::from_data(TensorData::new(counts, [self.batch()]), &device)
    }

    /// `T(B) = Σ S / Σ n`: every answer token of the batch counts once, `[1]`.
    pub fn token_mean(&self) -> Tensor<1> {
        #[expect(clippy::cast_precision_loss, reason = "token counts are small")]
        let total = self.counts.iter().sum::<usize>().max(1) as f64;
        self.nll.clone().sum().div_scalar(total)
    }

    /// Total answer tokens `N`.
    pub fn total_tokens(&self) -> usize {
        self.counts.iter().sum()
    }

    /// The rows `rows` only.
    pub fn select(&self, rows: &[usize]) -> Self {
        let device = self.nll.device();
        let index: Vec<i64> = rows
            .iter()
            .map(|row| i64::try_from(*row).unwrap_or(0))
            .collect();
        let index = Tensor::<1, burn::tensor::Int>::from_data(
            TensorData::new(index, [rows.len()]),
            &device,
        );
        Self {
            nll: self.nll.clone().select(0, index.clone()),
            mask: self.mask.clone().select(0, index),
            counts: rows.iter().map(|row| self.counts[*row]).collect(),
        }
    }

    /// The same token NLLs as constants on `device` (a frozen reference's values beside a tracked
    /// policy).
    pub fn detached_on(&self, device: &burn::tensor::Device) -> Self {
        Self {
            nll: Tensor::from_data(self.nll.clone().into_data(), device),
            mask: Tensor::from_data(self.mask.clone().into_data(), device),
            counts: self.counts.clone(),
        }
    }
}

/// `softplus(x) = log(1 + e^x)`, stable for large |x|, with the derivative `sigmoid(x)` everywhere.
///
/// The value is `max(x, 0) + log1p(e^{-|x|})`, but autodiff through that form gives slope 1 at
/// exactly `x = 0` (the kink of `max` and `|x|` each pass a whole unit instead of half), and
/// `x = 0` is what NPO and DPO see on their first step, when the policy still equals its frozen
/// reference. So the gradient is attached separately: `value + (x - x̄)·σ(x̄)`, bars detached.
pub fn softplus<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let value = x.clone().clamp_min(0.0) + x.clone().abs().neg().exp().log1p();
    let slope = burn::tensor::activation::sigmoid(x.clone().detach());
    value.detach() + (x.clone() - x.detach()) * slope
}

/// Host copy of a float tensor.
pub fn host<const D: usize>(x: Tensor<D>) -> Vec<f64> {
    x.into_data().iter::<f32>().map(f64::from).collect()
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Tensor, TensorData};

    use super::softplus;
    use crate::DeviceSpec;

    #[test]
    fn softplus_has_the_sigmoid_as_derivative_at_its_kink_and_far_from_it() {
        let device = DeviceSpec::Cpu.device().expect("cpu device").autodiff();
        let points = [0.0_f32, 1e-3, -2.0, 30.0, -30.0];
        let x: Tensor<1> =
            Tensor::from_data(TensorData::new(points.to_vec(), [points.len()]), &device)
                .require_grad();
        let y = softplus(x.clone());
        let values: Vec<f32> = y.clone().into_data().iter::<f32>().collect();
        let grads = y.sum().backward();
        let slopes: Vec<f32> = x
            .grad(&grads)
            .expect("x is tracked")
            .into_data()
            .iter::<f32>()
            .collect();
        for ((x, value), slope) in points.iter().zip(values).zip(slopes) {
            let x = f64::from(*x);
            let want_value = x.max(0.0) + (-x.abs()).exp().ln_1p();
            let want_slope = 1.0 / (1.0 + (-x).exp());
            assert!(
                (f64::from(value) - want_value).abs() < 1e-6,
                "softplus({x}) = {value}, want {want_value}"
            );
            assert!(
                (f64::from(slope) - want_slope).abs() < 1e-6,
                "softplus'({x}) = {slope}, want {want_slope}"
            );
        }
    }
}
