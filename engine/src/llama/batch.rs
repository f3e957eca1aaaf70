//! A padded batch of token ids and its attention mask, plus the positions and the additive
//! attention bias derived from them.
//!
//! Positions follow transformers' generate: `cumsum(mask) - 1` per row, so a left-padded row gets
//! the same positions as the unpadded sequence (right padding leaves real tokens at 0..n either way).

use burn::tensor::{Device, Tensor, TensorData};

/// Row-major `[batch, seq]` ids with a mask that is `true` on real tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenBatch {
    /// Token ids, `batch * seq`.
    pub ids: Vec<u32>,
    /// `true` where `ids` is a real token, `false` on padding.
    pub mask: Vec<bool>,
    /// Rows.
    pub batch: usize,
    /// Columns.
    pub seq: usize,
}

/// Which side padding goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Padding {
    /// Training and probability metrics (OU's collator).
    Right,
    /// Generation.
    Left,
}

impl TokenBatch {
    /// One unpadded row.
    pub fn single(ids: &[u32]) -> Self {
        Self {
            ids: ids.to_vec(),
            mask: vec![true; ids.len()],
            batch: 1,
            seq: ids.len(),
        }
    }

    /// Pads `rows` to the longest with `pad_id`.
    pub fn padded(rows: &[Vec<u32>], pad_id: u32, side: Padding) -> Self {
        let seq = rows.iter().map(Vec::len).max().unwrap_or(0);
        let mut ids = Vec::with_capacity(rows.len() * seq);
        let mut mask = Vec::with_capacity(rows.len() * seq);
        for row in rows {
            let pad = seq - row.len();
            if side == Padding::Left {
                ids.extend(std::iter::repeat_n(pad_id, pad));
                mask.extend(std::iter::repeat_n(false, pad));
            }
            ids.extend(row);
            mask.extend(std::iter::repeat_n(true, row.len()));
            if side == Padding::Right {
                ids.extend(std::iter::repeat_n(pad_id, pad));
                mask.extend(std::iter::repeat_n(false, pad));
            }
        }
        Self {
            ids,
            mask,
            batch: rows.len(),
            seq,
        }
    }

    /// Row `row`'s mask.
    pub fn mask_row(&self, row: usize) -> &[bool] {
        &self.mask[row * self.seq..(row + 1) * self.seq]
    }

    /// `[batch, seq]` ids on `device`.
    pub fn ids_tensor(&self, device: &Device) -> Tensor<2, burn::tensor::Int> {
        let ids: Vec<i64> = self.ids.iter().map(|&id| i64::from(id)).collect();
        Tensor::from_data(TensorData::new(ids, [self.batch, self.seq]), device)
    }

    /// RoPE positions of every token, continuing from `past_real[row]` real tokens already seen.
    ///
    /// Real tokens count up from there (transformers' generate: `cumsum(mask) - 1`). Padding
    /// before the first real token gets 1 (`masked_fill_(mask == 0, 1)`); padding after a real
    /// token keeps counting, as the `arange` positions of a right-padded forward do. Padding is never
    /// attended to, but its own logits enter KL terms taken over every position (spec §2.1).
    pub fn positions(&self, past_real: &[usize]) -> Vec<usize> {
        let mut positions = Vec::with_capacity(self.ids.len());
        for row in 0..self.batch {
            let past = past_real.get(row).copied().unwrap_or(0);
            let (mut real_seen, mut pads_since) = (0, 0);
            let mut started = past > 0;
            for &real in self.mask_row(row) {
                started |= real;
                if real {
                    positions.push(past + real_seen);
                    real_seen += 1;
                    pads_since = 0;
                } else if started {
                    positions.push(past + real_seen + pads_since);
                    pads_since += 1;
                } else {
                    positions.push(1);
                }
            }
        }
        positions
    }
}

/// Additive attention bias `[batch, 1, seq, past + seq]` (f32): 0 where a query may attend,
/// `f32::MIN` elsewhere (transformers' eager mask value, so a row with nothing to attend to becomes
/// uniform instead of NaN). A key is visible when it is a real token, not in the future, and, with
/// a sliding window `w`, when `query - key < w`.
pub fn attention_bias(
    key_mask: &[Vec<bool>],
    seq: usize,
    window: Option<usize>,
    device: &Device,
) -> Tensor<4> {
    let batch = key_mask.len();
    let keys = key_mask.first().map_or(0, Vec::len);
    let past = keys - seq;
    let mut bias = Vec::with_capacity(batch * seq * keys);
    for row in key_mask {
        for query in 0..seq {
            let at = past + query;
            bias.extend(row.iter().enumerate().map(|(key, &real)| {
                let visible = real && key <= at && window.is_none_or(|window| at - key < window);
                if visible { 0.0 } else { f32::MIN }
            }));
        }
    }
    Tensor::from_data(TensorData::new(bias, [batch, 1, seq, keys]), device)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn left_padding_keeps_the_unpadded_positions() {
        let batch = TokenBatch::padded(&[vec![5, 6, 7], vec![8]], 0, Padding::Left);
        assert_eq!(batch.ids, [5, 6, 7, 0, 0, 8]);
        assert_eq!(batch.positions(&[0, 0]), [0, 1, 2, 1, 1, 0]);
        assert_eq!(batch.positions(&[3, 1]), [3, 4, 5, 1, 2, 1]);
        let right = TokenBatch::padded(&[vec![5, 6, 7], vec![8]], 0, Padding::Right);
        assert_eq!(right.mask, [true, true, true, true, false, false]);
        assert_eq!(right.positions(&[0, 0]), [0, 1, 2, 0, 1, 2]);
    }
}
