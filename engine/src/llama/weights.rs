//! Checkpoint readers. Both formats hand the model builder HF-named tensors as f32 host data, one
//! tensor at a time, so a 16 GB checkpoint never sits in memory twice.
//!
//! - safetensors: one `model.safetensors`, or shards listed in `model.safetensors.index.json`;
//!   f32, f16 and bf16 on disk (<https://github.com/huggingface/safetensors#format>).
//! - GGUF: see [`super::gguf`].
//!
//! burn-store's `SafetensorsStore` (STYLE.md §6) reads neither sharded indexes nor tied embeddings,
//! and it loads into an already initialised model; building the parameters straight from the file
//! avoids a second random copy of a 7B model, so the engine reads the format itself (it is a JSON
//! header and raw little-endian arrays).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::gguf::GgufFile;
use crate::EngineError;

/// A tensor read from a checkpoint, in HF layout (`[out, in]` for linear weights), as f32.
#[derive(Debug, Clone, PartialEq)]
pub struct HostTensor {
    /// Dimensions, outermost first.
    pub shape: Vec<usize>,
    /// Row-major values.
    pub data: Vec<f32>,
}

/// Where the weights come from.
#[derive(Debug)]
pub enum Checkpoint {
    /// A Hugging Face model directory with safetensors files.
    Safetensors(SafetensorsFiles),
    /// A llama.cpp GGUF file.
    Gguf(Box<GgufFile>),
}

impl Checkpoint {
    /// Every tensor name, in HF spelling.
    pub fn names(&self) -> BTreeSet<String> {
        match self {
            Self::Safetensors(files) => files.entries.keys().cloned().collect(),
            Self::Gguf(file) => file.hf_names(),
        }
    }

    /// The on-disk type of `name`, as the format spells it (`BF16`, `Q4_1`, ...).
    pub fn dtype(&self, name: &str) -> Option<String> {
        match self {
            Self::Safetensors(files) => files.entries.get(name).map(|entry| entry.dtype.clone()),
            Self::Gguf(file) => file.dtype_of(name),
        }
    }

    /// Reads one tensor, converted to f32.
    pub fn read(&mut self, name: &str) -> Result<HostTensor, EngineError> {
        match self {
            Self::Safetensors(files) => files.read(name),
            Self::Gguf(file) => file.read_hf(name),
        }
    }

    /// The file or directory, for error messages.
    pub fn path(&self) -> &Path {
        match self {
            Self::Safetensors(files) => &files.root,
            Self::Gguf(file) => file.path(),
        }
    }
}

#[derive(Debug, Deserialize)]
struct HeaderEntry {
    dtype: String,
    shape: Vec<usize>,
    data_offsets: [usize; 2],
}

#[derive(Debug, Clone)]
struct Entry {
    file: PathBuf,
    dtype: String,
    shape: Vec<usize>,
    /// Absolute byte range in `file`.
    start: u64,
    len: usize,
}

/// The safetensors files of one model, indexed by tensor name.
#[derive(Debug)]
pub struct SafetensorsFiles {
    root: PathBuf,
    entries: BTreeMap<String, Entry>,
}

#[derive(Debug, Deserialize)]
struct ShardIndex {
    weight_map: BTreeMap<String, String>,
}

fn bad(path: &Path, reason: impl Into<String>) -> EngineError {
    EngineError::InvalidFile {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> EngineError + '_ {
    move |source| EngineError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl SafetensorsFiles {
    /// Opens `dir/model.safetensors`, or every shard named in `dir/model.safetensors.index.json`.
    pub fn open_dir(dir: &Path) -> Result<Self, EngineError> {
        let single = dir.join("model.safetensors");
        let index = dir.join("model.safetensors.index.json");
        let files = if single.is_file() {
            vec![single]
        } else if index.is_file() {
            let text = std::fs::read_to_string(&index).map_err(io(&index))?;
            let parsed: ShardIndex =
                serde_json::from_str(&text).map_err(|error| bad(&index, error.to_string()))?;
            let shards: BTreeSet<&String> = parsed.weight_map.values().collect();
            shards.into_iter().map(|shard| dir.join(shard)).collect()
        } else {
            return Err(bad(
                dir,
                "no model.safetensors or model.safetensors.index.json in this directory",
            ));
        };
        let mut entries = BTreeMap::new();
        for file in files {
            for (name, entry) in read_header(&file)? {
                if let Some(previous) = entries.insert(name.clone(), entry) {
                    return Err(bad(
                        &file,
                        format!("tensor `{name}` is also in {}", previous.file.display()),
                    ));
                }
            }
        }
        Ok(Self {
            root: dir.to_path_buf(),
            entries,
        })
    }

    /// The tensor names, sorted.
    pub fn names(&self) -> Vec<String> {
        self.entries.keys().cloned().collect()
    }

    /// Opens one `.safetensors` file (reference logits, checkpoints written by Lethe).
    pub fn open_file(file: &Path) -> Result<Self, EngineError> {
        Ok(Self {
            root: file.to_path_buf(),
            entries: read_header(file)?.into_iter().collect(),
        })
    }

    /// The directory or file this was opened from.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Reads one tensor as f32.
    pub fn read(&self, name: &str) -> Result<HostTensor, EngineError> {
        let entry = self
            .entries
            .get(name)
            .ok_or_else(|| bad(&self.root, format!("no tensor named `{name}`")))?;
        let mut bytes = vec![0_u8; entry.len];
        let mut file = File::open(&entry.file).map_err(io(&entry.file))?;
        file.seek(SeekFrom::Start(entry.start))
            .and_then(|_| file.read_exact(&mut bytes))
            .map_err(io(&entry.file))?;
        let data = decode(&entry.dtype, &bytes).ok_or_else(|| {
            bad(
                &entry.file,
                format!("`{name}` has unsupported dtype {}", entry.dtype),
            )
        })?;
        Ok(HostTensor {
            shape: entry.shape.clone(),
            data,
        })
    }
}

fn element_size(dtype: &str) -> Option<usize> {
    match dtype {
        "F64" => Some(8),
        "F32" => Some(4),
        "F16" | "BF16" => Some(2),
        _ => None,
    }
}

/// Little-endian bytes of `dtype` to f32; `None` for a dtype the model cannot use.
fn decode(dtype: &str, bytes: &[u8]) -> Option<Vec<f32>> {
    let pairs = || {
        bytes
            .chunks_exact(2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
    };
    match dtype {
        "F32" => Some(
            bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
        ),
        "F16" => Some(
            pairs()
                .map(|bits| half::f16::from_bits(bits).to_f32())
                .collect(),
        ),
        "BF16" => Some(
            pairs()
                .map(|bits| half::bf16::from_bits(bits).to_f32())
                .collect(),
        ),
        #[expect(
            clippy::cast_possible_truncation,
            reason = "f64 weights are stored as f32"
        )]
        "F64" => Some(
            bytes
                .chunks_exact(8)
                .map(|b| {
                    f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32
                })
                .collect(),
        ),
        _ => None,
    }
}

fn read_header(file: &Path) -> Result<Vec<(String, Entry)>, EngineError> {
    let mut handle = File::open(file).map_err(io(file))?;
    let file_len = handle.metadata().map_err(io(file))?.len();
    let mut len_bytes = [0_u8; 8];
    handle.read_exact(&mut len_bytes).map_err(io(file))?;
    let header_len = u64::from_le_bytes(len_bytes);
    if header_len > file_len.saturating_sub(8) || header_len > 100 << 20 {
        return Err(bad(
            file,
            format!("not a safetensors file (header length {header_len})"),
        ));
    }
    let mut header = vec![0_u8; usize::try_from(header_len).unwrap_or(0)];
    handle.read_exact(&mut header).map_err(io(file))?;
    let raw: BTreeMap<String, serde_json::Value> = serde_json::from_slice(&header)
        .map_err(|error| bad(file, format!("safetensors header: {error}")))?;
    let data_start = 8 + header_len;
    let mut entries = Vec::with_capacity(raw.len());
    for (name, value) in raw {
        if name == "__metadata__" {
            continue;
        }
        let entry: HeaderEntry = serde_json::from_value(value)
            .map_err(|error| bad(file, format!("safetensors header entry `{name}`: {error}")))?;
        let [start, end] = entry.data_offsets;
        let count: usize = entry.shape.iter().product();
        let expected = element_size(&entry.dtype).map(|size| size * count);
        if expected.is_some_and(|bytes| bytes != end.saturating_sub(start))
            || data_start + end as u64 > file_len
        {
            return Err(bad(
                file,
                format!(
                    "tensor `{name}`: offsets {start}..{end} do not fit {:?} {:?}",
                    entry.dtype, entry.shape
                ),
            ));
        }
        entries.push((
            name,
            Entry {
                file: file.to_path_buf(),
                dtype: entry.dtype,
                shape: entry.shape,
                start: data_start + start as u64,
                len: end - start,
            },
        ));
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_safetensors(path: &Path, tensors: &[(&str, &str, Vec<usize>, Vec<u8>)]) {
        let mut header = serde_json::Map::new();
        let mut offset = 0;
        for (name, dtype, shape, bytes) in tensors {
            header.insert(
                (*name).to_string(),
                serde_json::json!({"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + bytes.len()]}),
            );
            offset += bytes.len();
        }
        let header = serde_json::to_vec(&header).unwrap();
        let mut out = (header.len() as u64).to_le_bytes().to_vec();
        out.extend(header);
        for (_, _, _, bytes) in tensors {
            out.extend(bytes);
        }
        std::fs::write(path, out).unwrap();
    }

    #[test]
    fn reads_f32_f16_bf16_and_sharded_indexes() {
        let dir = tempfile::tempdir().unwrap();
        let f16: Vec<u8> = [1.5_f32, -2.0]
            .iter()
            .flat_map(|v| half::f16::from_f32(*v).to_le_bytes())
            .collect();
        let bf16: Vec<u8> = [0.25_f32, 3.0]
            .iter()
            .flat_map(|v| half::bf16::from_f32(*v).to_le_bytes())
            .collect();
        let f32: Vec<u8> = [7.0_f32].iter().flat_map(|v| v.to_le_bytes()).collect();
        write_safetensors(
            &dir.path().join("a.safetensors"),
            &[("x", "F16", vec![2], f16), ("y", "BF16", vec![1, 2], bf16)],
        );
        write_safetensors(
            &dir.path().join("b.safetensors"),
            &[("z", "F32", vec![1], f32)],
        );
        std::fs::write(
            dir.path().join("model.safetensors.index.json"),
            r#"{"metadata": {}, "weight_map": {"x": "a.safetensors", "y": "a.safetensors", "z": "b.safetensors"}}"#,
        )
        .unwrap();
        let files = SafetensorsFiles::open_dir(dir.path()).unwrap();
        assert_eq!(files.read("x").unwrap().data, [1.5, -2.0]);
        let y = files.read("y").unwrap();
        assert_eq!((y.shape, y.data), (vec![1, 2], vec![0.25, 3.0]));
        assert_eq!(files.read("z").unwrap().data, [7.0]);
        let message = files.read("w").unwrap_err().to_string();
        assert!(message.contains("no tensor named `w`"), "{message}");
    }

    #[test]
    fn truncated_files_are_rejected_with_the_tensor_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.safetensors");
        write_safetensors(&path, &[("w", "F32", vec![4], vec![0; 8])]);
        let message = SafetensorsFiles::open_dir(dir.path())
            .unwrap_err()
            .to_string();
        assert!(message.contains("tensor `w`"), "{message}");
        let empty = tempfile::tempdir().unwrap();
        let message = SafetensorsFiles::open_dir(empty.path())
            .unwrap_err()
            .to_string();
        assert!(message.contains("no model.safetensors"), "{message}");
    }
}
