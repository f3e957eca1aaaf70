//! Key/value cache for incremental decoding: per layer, the rotated keys and the values of every
//! position so far (`[batch, kv_heads, past, head_dim]`), plus which of those positions are real
//! tokens (left padding) and how many real tokens each row has (its next RoPE position).

use burn::tensor::Tensor;

/// One layer's cached keys and values: burn tensors, or on the CPU at f32 host buffers that the
/// cached attention kernel writes in place ([`crate::device::cached_attention`]).
#[derive(Debug, Clone, Default)]
pub struct LayerCache {
    keys: Option<Tensor<4>>,
    values: Option<Tensor<4>>,
    /// The host buffers; empty unless the kernel runs.
    pub host: HostKv,
}

/// One layer's keys and values in host memory, appended in place. Keys are stored transposed per
/// head, `[batch, kv_heads, head_dim, capacity]`, so that a query's scores against every position
/// are multiply-adds along contiguous positions; values `[batch, kv_heads, capacity, head_dim]`.
/// The capacity doubles when a step does not fit, so a step writes its own positions only (a
/// concatenation copies the whole cache every step).
#[derive(Debug, Clone, Default)]
pub struct HostKv {
    /// Rows, key/value heads and head width; fixed by the first append.
    pub shape: [usize; 3],
    /// Positions held.
    pub len: usize,
    capacity: usize,
    keys: Vec<f32>,
    values: Vec<f32>,
}

impl HostKv {
    /// Positions that fit before the buffers grow.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Appends `seq` positions of `keys` and `values` (`[batch, heads, seq, dim]`, row-major).
    /// `false`, with nothing written, when the shape differs from the cache's.
    pub fn append(&mut self, shape: [usize; 3], seq: usize, keys: &[f32], values: &[f32]) -> bool {
        let [batch, heads, dim] = shape;
        let step = batch * heads * seq * dim;
        if (self.len > 0 && shape != self.shape) || keys.len() != step || values.len() != step {
            return false;
        }
        self.shape = shape;
        if self.len + seq > self.capacity {
            self.grow((self.len + seq) * 2);
        }
        let (len, capacity) = (self.len, self.capacity);
        for block in 0..batch * heads {
            let src = &keys[block * seq * dim..][..seq * dim];
            let dst = &mut self.keys[block * dim * capacity..][..dim * capacity];
            for (position, key) in src.chunks_exact(dim).enumerate() {
                for (p, &value) in key.iter().enumerate() {
                    dst[p * capacity + len + position] = value;
                }
            }
            self.values[(block * capacity + len) * dim..][..seq * dim]
                .copy_from_slice(&values[block * seq * dim..][..seq * dim]);
        }
        self.len += seq;
        true
    }

    /// Block `block` (`row * kv_heads + head`): its keys `[dim, capacity]` and values
    /// `[capacity, dim]`; positions past `len` hold zeros.
    pub fn block(&self, block: usize) -> (&[f32], &[f32]) {
        let size = self.shape[2] * self.capacity;
        (
            &self.keys[block * size..][..size],
            &self.values[block * size..][..size],
        )
    }

    fn grow(&mut self, capacity: usize) {
        let [batch, heads, dim] = self.shape;
        let mut keys = vec![0.0; batch * heads * dim * capacity];
        let mut values = vec![0.0; batch * heads * capacity * dim];
        for block in 0..batch * heads {
            for p in 0..dim {
                let row = (block * dim + p) * self.capacity;
                keys[(block * dim + p) * capacity..][..self.len]
                    .copy_from_slice(&self.keys[row..row + self.len]);
            }
            values[block * capacity * dim..][..self.len * dim]
                .copy_from_slice(&self.values[block * self.capacity * dim..][..self.len * dim]);
        }
        (self.keys, self.values, self.capacity) = (keys, values, capacity);
    }
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
