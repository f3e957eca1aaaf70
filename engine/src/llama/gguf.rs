//! GGUF (llama.cpp) reader: metadata, tensor directory, de-quantisation to f32, and the mapping of
//! llama.cpp tensor names onto HF names, so a GGUF file builds the same [`super::LlamaForCausalLM`].
//!
//! Format: <https://github.com/ggml-org/ggml/blob/master/docs/gguf.md>. Block layouts follow
//! `ggml-common.h` and gguf-py `quants.py` (which transformers uses to load GGUF): the arithmetic
//! below is the same f32 `d * q + m`, so our weights equal transformers' bit for bit.
//!
//! llama.cpp's converter permutes the rows of `attn_q`/`attn_k` for its interleaved RoPE on the
//! `llama` architecture; [`unpermute_rows`] undoes it (transformers `reverse_permute_weights`).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::config::{HfLlamaConfig, HfRopeParameters, TokenIds};
use super::weights::HostTensor;
use crate::EngineError;

const MAGIC: &[u8; 4] = b"GGUF";
const DEFAULT_ALIGNMENT: u64 = 32;

/// A metadata value.
#[derive(Debug, Clone, PartialEq)]
pub enum GgufValue {
    /// Any unsigned integer type.
    Uint(u64),
    /// Any signed integer type.
    Int(i64),
    /// f32 or f64.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// A UTF-8 string.
    String(String),
    /// An array of values.
    Array(Vec<GgufValue>),
}

impl GgufValue {
    fn as_u64(&self) -> Option<u64> {
        match self {
            Self::Uint(value) => Some(*value),
            Self::Int(value) => u64::try_from(*value).ok(),
            _ => None,
        }
    }

    fn as_f64(&self) -> Option<f64> {
        match self {
            Self::Float(value) => Some(*value),
            #[expect(clippy::cast_precision_loss, reason = "metadata integers are small")]
            Self::Uint(value) => Some(*value as f64),
            _ => None,
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(value) => Some(value),
            _ => None,
        }
    }

    /// The array, if this is one.
    pub fn as_array(&self) -> Option<&[GgufValue]> {
        match self {
            Self::Array(values) => Some(values),
            _ => None,
        }
    }
}

/// ggml tensor types this reader de-quantises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GgmlType {
    F32,
    F16,
    Bf16,
    Q4_0,
    Q4_1,
    Q8_0,
}

impl GgmlType {
    fn from_id(id: u32) -> Option<Self> {
        match id {
            0 => Some(Self::F32),
            1 => Some(Self::F16),
            2 => Some(Self::Q4_0),
            3 => Some(Self::Q4_1),
            8 => Some(Self::Q8_0),
            30 => Some(Self::Bf16),
            _ => None,
        }
    }

    /// (elements per block, bytes per block)
    fn block(self) -> (usize, usize) {
        match self {
            Self::F32 => (1, 4),
            Self::F16 | Self::Bf16 => (1, 2),
            Self::Q4_0 => (32, 18),
            Self::Q4_1 => (32, 20),
            Self::Q8_0 => (32, 34),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::F32 => "F32",
            Self::F16 => "F16",
            Self::Bf16 => "BF16",
            Self::Q4_0 => "Q4_0",
            Self::Q4_1 => "Q4_1",
            Self::Q8_0 => "Q8_0",
        }
    }
}

#[derive(Debug, Clone)]
struct TensorInfo {
    /// HF order: outermost first (GGUF lists `ne[0]`, the innermost, first).
    shape: Vec<usize>,
    kind: Result<GgmlType, u32>,
    /// From the start of the data section.
    offset: u64,
}

/// An open GGUF file: metadata plus a tensor directory; tensors are read on demand.
#[derive(Debug)]
pub struct GgufFile {
    path: PathBuf,
    metadata: BTreeMap<String, GgufValue>,
    tensors: BTreeMap<String, TensorInfo>,
    data_start: u64,
}

fn bad(path: &Path, reason: impl Into<String>) -> EngineError {
    EngineError::InvalidFile {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

struct Reader<'a> {
    inner: BufReader<File>,
    path: &'a Path,
}

impl Reader<'_> {
    fn bytes<const N: usize>(&mut self) -> Result<[u8; N], EngineError> {
        let mut buf = [0_u8; N];
        self.inner
            .read_exact(&mut buf)
            .map_err(|error| bad(self.path, format!("truncated GGUF header: {error}")))?;
        Ok(buf)
    }

    fn u32(&mut self) -> Result<u32, EngineError> {
        Ok(u32::from_le_bytes(self.bytes()?))
    }

    fn u64(&mut self) -> Result<u64, EngineError> {
        Ok(u64::from_le_bytes(self.bytes()?))
    }

    fn string(&mut self) -> Result<String, EngineError> {
        let len = self.u64()?;
        if len > 1 << 24 {
            return Err(bad(self.path, format!("GGUF string of {len} bytes")));
        }
        let mut buf = vec![0_u8; usize::try_from(len).unwrap_or(0)];
        self.inner
            .read_exact(&mut buf)
            .map_err(|error| bad(self.path, format!("truncated GGUF string: {error}")))?;
        String::from_utf8(buf).map_err(|_| bad(self.path, "GGUF string is not UTF-8"))
    }

    fn value(&mut self, kind: u32) -> Result<GgufValue, EngineError> {
        Ok(match kind {
            0 => GgufValue::Uint(u64::from(self.bytes::<1>()?[0])),
            1 => GgufValue::Int(i64::from(i8::from_le_bytes(self.bytes()?))),
            2 => GgufValue::Uint(u64::from(u16::from_le_bytes(self.bytes()?))),
            3 => GgufValue::Int(i64::from(i16::from_le_bytes(self.bytes()?))),
            4 => GgufValue::Uint(u64::from(self.u32()?)),
            5 => GgufValue::Int(i64::from(i32::from_le_bytes(self.bytes()?))),
            6 => GgufValue::Float(f64::from(f32::from_le_bytes(self.bytes()?))),
            7 => GgufValue::Bool(self.bytes::<1>()?[0] != 0),
            8 => GgufValue::String(self.string()?),
            9 => {
                let item_kind = self.u32()?;
                let len = self.u64()?;
                if len > 1 << 26 {
                    return Err(bad(self.path, format!("GGUF array of {len} items")));
                }
                let mut items = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
                for _ in 0..len {
                    items.push(self.value(item_kind)?);
                }
                GgufValue::Array(items)
            }
            10 => GgufValue::Uint(self.u64()?),
            11 => GgufValue::Int(i64::from_le_bytes(self.bytes()?)),
            12 => GgufValue::Float(f64::from_le_bytes(self.bytes()?)),
            other => return Err(bad(self.path, format!("unknown GGUF value type {other}"))),
        })
    }
}

impl GgufFile {
    /// Reads the header, metadata and tensor directory of `path`.
    pub fn open(path: &Path) -> Result<Self, EngineError> {
        let file = File::open(path).map_err(|source| EngineError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let file_len = file.metadata().map(|meta| meta.len()).unwrap_or(0);
        let mut reader = Reader {
            inner: BufReader::new(file),
            path,
        };
        if &reader.bytes::<4>()? != MAGIC {
            return Err(bad(path, "not a GGUF file (bad magic)"));
        }
        let version = reader.u32()?;
        if !(2..=3).contains(&version) {
            return Err(bad(
                path,
                format!("GGUF version {version} is not supported (2 or 3)"),
            ));
        }
        let tensor_count = reader.u64()?;
        let kv_count = reader.u64()?;
        let mut metadata = BTreeMap::new();
        for _ in 0..kv_count {
            let key = reader.string()?;
            let kind = reader.u32()?;
            metadata.insert(key, reader.value(kind)?);
        }
        let mut tensors = BTreeMap::new();
        for _ in 0..tensor_count {
            let name = reader.string()?;
            let n_dims = reader.u32()?;
            if n_dims > 4 {
                return Err(bad(
                    path,
                    format!("tensor `{name}` has {n_dims} dimensions"),
                ));
            }
            let mut shape = Vec::new();
            for _ in 0..n_dims {
                shape.push(usize::try_from(reader.u64()?).unwrap_or(usize::MAX));
            }
            shape.reverse();
            let kind_id = reader.u32()?;
            let offset = reader.u64()?;
            tensors.insert(
                name,
                TensorInfo {
                    shape,
                    kind: GgmlType::from_id(kind_id).ok_or(kind_id),
                    offset,
                },
            );
        }
        let alignment = metadata
            .get("general.alignment")
            .and_then(GgufValue::as_u64)
            .unwrap_or(DEFAULT_ALIGNMENT)
            .max(1);
        let header_end = reader
            .inner
            .stream_position()
            .map_err(|error| bad(path, error.to_string()))?;
        let data_start = header_end.div_ceil(alignment) * alignment;
        let gguf = Self {
            path: path.to_path_buf(),
            metadata,
            tensors,
            data_start,
        };
        for (name, info) in &gguf.tensors {
            if let Ok(kind) = info.kind {
                let end = data_start + info.offset + gguf.byte_len(kind, &info.shape) as u64;
                if end > file_len {
                    return Err(bad(
                        path,
                        format!("tensor `{name}` runs past the end of the file"),
                    ));
                }
            }
        }
        Ok(gguf)
    }

    /// The file this was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// One metadata value.
    pub fn metadata(&self, key: &str) -> Option<&GgufValue> {
        self.metadata.get(key)
    }

    /// `general.architecture` (`llama`, `qwen3`, ...).
    pub fn architecture(&self) -> Option<&str> {
        self.metadata("general.architecture")
            .and_then(GgufValue::as_str)
    }

    fn byte_len(&self, kind: GgmlType, shape: &[usize]) -> usize {
        let (block, bytes) = kind.block();
        shape.iter().product::<usize>() / block * bytes
    }

    fn arch_u64(&self, key: &str) -> Option<usize> {
        let arch = self.architecture()?;
        self.metadata(&format!("{arch}.{key}"))
            .and_then(GgufValue::as_u64)
            .and_then(|value| usize::try_from(value).ok())
    }

    fn token_id(&self, key: &str) -> Option<u32> {
        self.metadata(&format!("tokenizer.ggml.{key}"))
            .and_then(GgufValue::as_u64)
            .and_then(|value| u32::try_from(value).ok())
    }

    /// The equivalent of the checkpoint's `config.json`, from the `{arch}.*` metadata.
    pub fn hf_config(&self) -> Result<HfLlamaConfig, EngineError> {
        let arch = self
            .architecture()
            .ok_or_else(|| bad(&self.path, "metadata has no general.architecture"))?;
        if arch != "llama" && arch != "qwen3" {
            return Err(bad(
                &self.path,
                format!("general.architecture `{arch}` is not supported; expected llama or qwen3"),
            ));
        }
        if self.tensors.contains_key("rope_freqs.weight") {
            return Err(bad(
                &self.path,
                "rope_freqs.weight (Llama 3.1 RoPE factors baked into the GGUF) is not supported; load the HF checkpoint",
            ));
        }
        let vocab_size = self
            .metadata("tokenizer.ggml.tokens")
            .and_then(GgufValue::as_array)
            .map(<[GgufValue]>::len)
            .or_else(|| self.arch_u64("vocab_size"));
        let hidden = self.arch_u64("embedding_length");
        let heads = self.arch_u64("attention.head_count");
        Ok(HfLlamaConfig {
            model_type: Some(arch.to_string()),
            vocab_size,
            hidden_size: hidden,
            intermediate_size: self.arch_u64("feed_forward_length"),
            num_hidden_layers: self.arch_u64("block_count"),
            num_attention_heads: heads,
            num_key_value_heads: self.arch_u64("attention.head_count_kv"),
            head_dim: self.arch_u64("attention.key_length"),
            rms_norm_eps: self
                .metadata(&format!("{arch}.attention.layer_norm_rms_epsilon"))
                .and_then(GgufValue::as_f64),
            max_position_embeddings: self.arch_u64("context_length"),
            rope_parameters: Some(HfRopeParameters {
                rope_theta: self
                    .metadata(&format!("{arch}.rope.freq_base"))
                    .and_then(GgufValue::as_f64),
                rope_type: Some("default".into()),
                ..HfRopeParameters::default()
            }),
            tie_word_embeddings: Some(!self.tensors.contains_key("output.weight")),
            attention_bias: Some(self.tensors.contains_key("blk.0.attn_q.bias")),
            hidden_act: Some("silu".into()),
            bos_token_id: self.token_id("bos_token_id").map(TokenIds::One),
            eos_token_id: self.token_id("eos_token_id").map(TokenIds::One),
            pad_token_id: self.token_id("padding_token_id"),
            ..HfLlamaConfig::default()
        })
    }

    /// Every tensor, under its HF name (unknown llama.cpp names keep theirs, so they are reported).
    pub fn hf_names(&self) -> BTreeSet<String> {
        self.tensors.keys().map(|name| hf_name(name)).collect()
    }

    /// The ggml type of the tensor with HF name `name`.
    pub fn dtype_of(&self, name: &str) -> Option<String> {
        let info = self.tensors.get(&gguf_name(name))?;
        Some(match info.kind {
            Ok(kind) => kind.name().to_string(),
            Err(id) => format!("ggml type {id}"),
        })
    }

    /// Reads the tensor with HF name `name`, de-quantised, in HF row order.
    pub fn read_hf(&self, name: &str) -> Result<HostTensor, EngineError> {
        let gguf = gguf_name(name);
        let info = self
            .tensors
            .get(&gguf)
            .ok_or_else(|| bad(&self.path, format!("no tensor `{gguf}` (for `{name}`)")))?;
        let kind = info.kind.map_err(|id| {
            bad(
                &self.path,
                format!("`{gguf}` has ggml type {id}; supported: F32, F16, BF16, Q4_0, Q4_1, Q8_0"),
            )
        })?;
        let mut bytes = vec![0_u8; self.byte_len(kind, &info.shape)];
        let mut file = File::open(&self.path).map_err(|source| EngineError::Io {
            path: self.path.clone(),
            source,
        })?;
        file.seek(SeekFrom::Start(self.data_start + info.offset))
            .and_then(|_| file.read_exact(&mut bytes))
            .map_err(|source| EngineError::Io {
                path: self.path.clone(),
                source,
            })?;
        let mut data = dequantize(kind, &bytes);
        if self.architecture() == Some("llama") {
            let heads = if name.ends_with("self_attn.q_proj.weight") {
                self.arch_u64("attention.head_count")
            } else if name.ends_with("self_attn.k_proj.weight") {
                self.arch_u64("attention.head_count_kv")
            } else {
                None
            };
            if let Some(heads) = heads {
                data = unpermute_rows(&data, &info.shape, heads);
            }
        }
        Ok(HostTensor {
            shape: info.shape.clone(),
            data,
        })
    }
}

/// llama.cpp tensor name -> HF name.
fn hf_name(gguf: &str) -> String {
    match gguf {
        "token_embd.weight" => return "model.embed_tokens.weight".into(),
        "output_norm.weight" => return "model.norm.weight".into(),
        "output.weight" => return "lm_head.weight".into(),
        _ => {}
    }
    let Some(rest) = gguf.strip_prefix("blk.") else {
        return gguf.into();
    };
    let Some((layer, leaf)) = rest.split_once('.') else {
        return gguf.into();
    };
    let Some((part, suffix)) = leaf.split_once('.') else {
        return gguf.into();
    };
    let hf = match part {
        "attn_norm" => "input_layernorm",
        "ffn_norm" => "post_attention_layernorm",
        "attn_q" => "self_attn.q_proj",
        "attn_k" => "self_attn.k_proj",
        "attn_v" => "self_attn.v_proj",
        "attn_output" => "self_attn.o_proj",
        "attn_q_norm" => "self_attn.q_norm",
        "attn_k_norm" => "self_attn.k_norm",
        "ffn_gate" => "mlp.gate_proj",
        "ffn_up" => "mlp.up_proj",
        "ffn_down" => "mlp.down_proj",
        _ => return gguf.into(),
    };
    format!("model.layers.{layer}.{hf}.{suffix}")
}

/// HF name -> llama.cpp tensor name (the inverse of [`hf_name`]).
fn gguf_name(hf: &str) -> String {
    match hf {
        "model.embed_tokens.weight" => return "token_embd.weight".into(),
        "model.norm.weight" => return "output_norm.weight".into(),
        "lm_head.weight" => return "output.weight".into(),
        _ => {}
    }
    let Some(rest) = hf.strip_prefix("model.layers.") else {
        return hf.into();
    };
    let Some((layer, leaf)) = rest.split_once('.') else {
        return hf.into();
    };
    let Some((part, suffix)) = leaf.rsplit_once('.') else {
        return hf.into();
    };
    let gguf = match part {
        "input_layernorm" => "attn_norm",
        "post_attention_layernorm" => "ffn_norm",
        "self_attn.q_proj" => "attn_q",
        "self_attn.k_proj" => "attn_k",
        "self_attn.v_proj" => "attn_v",
        "self_attn.o_proj" => "attn_output",
        "self_attn.q_norm" => "attn_q_norm",
        "self_attn.k_norm" => "attn_k_norm",
        "mlp.gate_proj" => "ffn_gate",
        "mlp.up_proj" => "ffn_up",
        "mlp.down_proj" => "ffn_down",
        _ => return hf.into(),
    };
    format!("blk.{layer}.{gguf}.{suffix}")
}

fn f16_at(bytes: &[u8], at: usize) -> f32 {
    half::f16::from_bits(u16::from_le_bytes([bytes[at], bytes[at + 1]])).to_f32()
}

fn dequantize(kind: GgmlType, bytes: &[u8]) -> Vec<f32> {
    match kind {
        GgmlType::F32 => bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        GgmlType::F16 => bytes.chunks_exact(2).map(|b| f16_at(b, 0)).collect(),
        GgmlType::Bf16 => bytes
            .chunks_exact(2)
            .map(|b| half::bf16::from_bits(u16::from_le_bytes([b[0], b[1]])).to_f32())
            .collect(),
        GgmlType::Q8_0 => bytes
            .chunks_exact(34)
            .flat_map(|block| {
                let scale = f16_at(block, 0);
                block[2..]
                    .iter()
                    .map(move |q| scale * f32::from(i8::from_le_bytes([*q])))
            })
            .collect(),
        // Low nibbles are elements 0..16 of the block, high nibbles 16..32.
        GgmlType::Q4_0 => bytes
            .chunks_exact(18)
            .flat_map(|block| {
                let scale = f16_at(block, 0);
                let quants = &block[2..];
                let low = quants.iter().map(|q| i16::from(q & 0x0f));
                let high = quants.iter().map(|q| i16::from(q >> 4));
                low.chain(high).map(move |q| scale * f32::from(q - 8))
            })
            .collect(),
        GgmlType::Q4_1 => bytes
            .chunks_exact(20)
            .flat_map(|block| {
                let (scale, min) = (f16_at(block, 0), f16_at(block, 2));
                let quants = &block[4..];
                let low = quants.iter().map(|q| q & 0x0f);
                let high = quants.iter().map(|q| q >> 4);
                low.chain(high).map(move |q| scale * f32::from(q) + min)
            })
            .collect(),
    }
}

/// Undoes llama.cpp's q/k permutation: within each head, GGUF row `2j + i` is HF row `i·half + j`.
pub fn unpermute_rows(data: &[f32], shape: &[usize], heads: usize) -> Vec<f32> {
    let (rows, cols) = (shape[0], shape.iter().skip(1).product::<usize>());
    let head_dim = rows / heads;
    let half = head_dim / 2;
    let mut out = vec![0.0; data.len()];
    for head in 0..heads {
        for i in 0..2 {
            for j in 0..half {
                let hf_row = head * head_dim + i * half + j;
                let gguf_row = head * head_dim + 2 * j + i;
                out[hf_row * cols..(hf_row + 1) * cols]
                    .copy_from_slice(&data[gguf_row * cols..(gguf_row + 1) * cols]);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for hf in [
            "model.embed_tokens.weight",
            "model.norm.weight",
            "lm_head.weight",
            "model.layers.7.self_attn.k_proj.weight",
            "model.layers.0.self_attn.q_norm.weight",
            "model.layers.12.mlp.down_proj.weight",
            "model.layers.3.post_attention_layernorm.weight",
            "model.layers.3.self_attn.q_proj.bias",
        ] {
            assert_eq!(hf_name(&gguf_name(hf)), hf);
        }
        assert_eq!(
            gguf_name("model.layers.2.self_attn.o_proj.weight"),
            "blk.2.attn_output.weight"
        );
    }

    #[test]
    fn dequantizes_the_block_formats() {
        let scale = half::f16::from_f32(0.5).to_le_bytes();
        let min = half::f16::from_f32(-1.0).to_le_bytes();
        let mut q4_1 = [scale, min].concat();
        q4_1.extend((0..16_u8).map(|i| i | (15 - i) << 4));
        let values = dequantize(GgmlType::Q4_1, &q4_1);
        assert_eq!(values[0], -1.0);
        assert_eq!(values[3], 0.5);
        assert_eq!(values[16], 6.5);
        let mut q4_0 = scale.to_vec();
        q4_0.extend([0x8f_u8; 16]);
        let values = dequantize(GgmlType::Q4_0, &q4_0);
        assert_eq!((values[0], values[16]), (3.5, 0.0));
        let mut q8_0 = scale.to_vec();
        q8_0.extend((0..32).map(|i: i8| (i - 16).to_le_bytes()[0]));
        let values = dequantize(GgmlType::Q8_0, &q8_0);
        assert_eq!((values[0], values[31]), (-8.0, 7.5));
    }

    #[test]
    fn unpermute_inverts_llama_cpp_permute() {
        // llama.cpp: w.reshape(heads, 2, rows/heads/2, cols).swapaxes(1, 2).reshape(rows, cols)
        let (heads, rows, cols) = (2, 8, 3);
        #[expect(clippy::cast_precision_loss, reason = "small test values")]
        let hf: Vec<f32> = (0..rows * cols).map(|v| v as f32).collect();
        let half = rows / heads / 2;
        let mut permuted = vec![0.0; hf.len()];
        for h in 0..heads {
            for j in 0..half {
                for i in 0..2 {
                    let src = h * 2 * half + i * half + j;
                    let dst = h * 2 * half + 2 * j + i;
                    permuted[dst * cols..(dst + 1) * cols]
                        .copy_from_slice(&hf[src * cols..(src + 1) * cols]);
                }
            }
        }
        assert_eq!(unpermute_rows(&permuted, &[rows, cols], heads), hf);
    }
}
