//! Padding-free layers: the projections, norms and MLPs of a padded batch run on its real tokens
//! only, stacked as one `[1, tokens, width]` sequence, and only attention sees the padded
//! `[batch, seq, ..]` layout (it needs each row's positions and mask). A TOFU batch of 8 is about
//! a quarter padding, so this removes about a quarter of the matrix products, forward and
//! backward, with the same values at every real position. Positions that are padding come out
//! holding a copy of the first token's values instead of what a padded pass computes there, so a
//! caller that reads them (a KL term over the whole padded batch) uses the padded pass instead.

use burn::tensor::{Device, Int, Tensor, TensorData};

use super::batch::TokenBatch;

/// Where a batch's real tokens sit in its padded layout.
#[derive(Debug, Clone)]
pub struct Packing {
    /// Rows of the padded batch.
    pub batch: usize,
    /// Positions per row.
    pub seq: usize,
    /// Real tokens.
    pub tokens: usize,
    /// `[tokens]`: the padded flat index (`row * seq + position`) of each real token, in order.
    real: Tensor<1, Int>,
    /// `[batch * seq]`: the packed index of each padded position (0 for padding).
    padded: Tensor<1, Int>,
}

impl Packing {
    /// The packing of `batch`, or `None` when it has no padding (nothing to remove).
    pub fn of(batch: &TokenBatch, device: &Device) -> Option<Self> {
        if batch.mask.iter().all(|real| *real) {
            return None;
        }
        let mut real = Vec::new();
        let mut padded = vec![0_i64; batch.mask.len()];
        for (flat, is_real) in batch.mask.iter().enumerate() {
            if *is_real {
                padded[flat] = i64::try_from(real.len()).unwrap_or(0);
                real.push(i64::try_from(flat).unwrap_or(0));
            }
        }
        let tokens = real.len();
        if tokens == 0 {
            return None;
        }
        Some(Self {
            batch: batch.batch,
            seq: batch.seq,
            tokens,
            real: Tensor::from_data(TensorData::new(real, [tokens]), device),
            padded: Tensor::from_data(TensorData::new(padded, [batch.mask.len()]), device),
        })
    }

    /// The same packing on `device` (a split model's next stage).
    pub fn to_device(self, device: &Device) -> Self {
        Self {
            real: self.real.to_device(device),
            padded: self.padded.to_device(device),
            ..self
        }
    }

    /// `[batch, seq, width]` → `[1, tokens, width]`: the real positions, in order.
    pub fn pack(&self, x: Tensor<3>) -> Tensor<3> {
        let width = x.dims()[2];
        x.reshape([self.batch * self.seq, width])
            .select(0, self.real.clone())
            .reshape([1, self.tokens, width])
    }

    /// `[1, tokens, width]` → `[batch, seq, width]`; padding takes the first token's values.
    pub fn unpack(&self, x: Tensor<3>) -> Tensor<3> {
        let width = x.dims()[2];
        x.reshape([self.tokens, width])
            .select(0, self.padded.clone())
            .reshape([self.batch, self.seq, width])
    }
}
