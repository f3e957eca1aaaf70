//! Key/value cache for incremental decoding: per layer, the rotated keys and the values of every
//! position so far (`[batch, kv_heads, past, head_dim]`), plus which of those positions are real
//! tokens (left padding) and how many real tokens each row has (its next RoPE position).

use burn::tensor::Tensor;

/// One layer's cached keys and values.
#[derive(Debug, Clone, Default)]
pub struct LayerCache {
    keys: Option<Tensor<4>>,
    values: Option<Tensor<4>>,
}

impl LayerCache {
    /// Appends this step's `k`, `v` and returns the full cached tensors.
    pub fn append(&mut self, k: Tensor<4>, v: Tensor<4>) -> (Tensor<4>, Tensor<4>) {
        let keys = match self.keys.take() {
            Some(past) => Tensor::cat(vec![past, k], 2),
            None => k,
        };
        let values = match self.values.take() {
            Some(past) => Tensor::cat(vec![past, v], 2),
            None => v,
        };
        self.keys = Some(keys.clone());
        self.values = Some(values.clone());
        (keys, values)
    }
}

/// The cache of a whole model for one batch.
#[derive(Debug, Clone)]
pub struct KvCache {
    /// Per decoder layer.
    pub layers: Vec<LayerCache>,
    /// `[batch][past]`: whether each cached position is a real token.
    pub key_mask: Vec<Vec<bool>>,
}

impl KvCache {
    /// An empty cache for `layers` layers and `batch` rows.
    pub fn new(layers: usize, batch: usize) -> Self {
        Self {
            layers: vec![LayerCache::default(); layers],
            key_mask: vec![Vec::new(); batch],
        }
    }

    /// Cached positions (equal for every row).
    pub fn len(&self) -> usize {
        self.key_mask.first().map_or(0, Vec::len)
    }

    /// Whether nothing is cached yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
