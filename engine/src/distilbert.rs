//! DistilBERT sequence classification (`DistilBertForSequenceClassification`), for the gibberish
//! detector open-unlearning scores generations with (spec §5.9:
//! `madhurjindal/autonlp-Gibberish-Detector-492513457`, labels clean / mild gibberish / noise /
//! word salad). Post-LN encoder: embeddings + `LayerNorm`, then per layer
//! `sa_layer_norm(x + attention(x))` and `output_layer_norm(x + lin2(gelu(lin1(x))))`; the head
//! reads the `[CLS]` state through `pre_classifier` → ReLU → `classifier`. Fields are named like
//! the HF keys (`distilbert.transformer.layer.3.attention.q_lin.weight`; only `LayerNorm` is
//! snake-cased).
//!
//! Paper: <https://arxiv.org/abs/1910.01108>. Reference: transformers
//! `models/distilbert/modeling_distilbert.py`.
//!
//! A classifier directory holds `config.json`, `model.safetensors` and `tokenizer.json` (or a BERT
//! `vocab.txt`). Checkpoints published only as `pytorch_model.bin` convert with one line of Python
//! (see `docs/EVALUATION.md`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::tensor::activation::{gelu, relu, softmax};
use burn::tensor::module::embedding;
use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::Deserialize;
use tokenizers::models::wordpiece::WordPiece;
use tokenizers::normalizers::BertNormalizer;
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::processors::bert::BertProcessing;
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams, TruncationStrategy};

use crate::EngineError;
use crate::llama::weights::{HostTensor, SafetensorsFiles};

/// The fields of a DistilBERT `config.json` the forward pass uses.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DistilBertConfig {
    /// Tokens in the vocabulary.
    pub vocab_size: usize,
    /// Hidden width.
    pub dim: usize,
    /// Encoder layers.
    pub n_layers: usize,
    /// Attention heads.
    pub n_heads: usize,
    /// Feed-forward width.
    pub hidden_dim: usize,
    /// Learned positions.
    pub max_position_embeddings: usize,
    /// `gelu` (the only activation DistilBERT checkpoints use in practice) or `relu`.
    #[serde(default = "default_activation")]
    pub activation: String,
    /// Class index → name (`{"0": "clean", ...}`).
    #[serde(default)]
    pub id2label: BTreeMap<String, String>,
}

fn default_activation() -> String {
    "gelu".into()
}

impl DistilBertConfig {
    /// Class names in index order (`LABEL_i` where the config names none).
    pub fn labels(&self, classes: usize) -> Vec<String> {
        (0..classes)
            .map(|i| {
                self.id2label
                    .get(&i.to_string())
                    .cloned()
                    .unwrap_or_else(|| format!("LABEL_{i}"))
            })
            .collect()
    }
}

/// `LayerNorm` as torch computes it (biased variance), with HF's field names.
#[derive(Module, Debug)]
pub struct LayerNorm {
    /// Scale, `[dim]`.
    pub weight: Param<Tensor<1>>,
    /// Shift, `[dim]`.
    pub bias: Param<Tensor<1>>,
    /// Added to the variance (DistilBERT: 1e-12).
    pub eps: f64,
}

impl LayerNorm {
    /// Normalises the last dimension of `x`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let mean = x.clone().mean_dim(2);
        let centred = x - mean;
        let var = centred.clone().square().mean_dim(2);
        centred / (var + self.eps).sqrt() * self.weight.val().unsqueeze()
            + self.bias.val().unsqueeze()
    }
}

/// Word and position embeddings, then `LayerNorm`.
#[derive(Module, Debug)]
pub struct Embeddings {
    /// `[vocab, dim]`.
    pub word_embeddings: Param<Tensor<2>>,
    /// `[max_positions, dim]`.
    pub position_embeddings: Param<Tensor<2>>,
    /// Applied to the sum (HF key `embeddings.LayerNorm`, snake-cased here).
    pub layer_norm: LayerNorm,
}

/// Multi-head self-attention with biased projections.
#[derive(Module, Debug)]
pub struct MultiHeadSelfAttention {
    /// Query projection.
    pub q_lin: Linear,
    /// Key projection.
    pub k_lin: Linear,
    /// Value projection.
    pub v_lin: Linear,
    /// Output projection.
    pub out_lin: Linear,
    /// Heads.
    pub n_heads: usize,
}

impl MultiHeadSelfAttention {
    /// `x`: `[batch, seq, dim]`; `bias`: `[batch, 1, 1, seq]`, 0 for real keys and a large
    /// negative number for padding.
    pub fn forward(&self, x: Tensor<3>, bias: &Tensor<4>) -> Tensor<3> {
        let [batch, seq, dim] = x.dims();
        let head = dim / self.n_heads;
        let split = |t: Tensor<3>| t.reshape([batch, seq, self.n_heads, head]).swap_dims(1, 2);
        let q = split(self.q_lin.forward(x.clone())).div_scalar((head as f64).sqrt());
        let k = split(self.k_lin.forward(x.clone()));
        let v = split(self.v_lin.forward(x));
        let scores = q.matmul(k.swap_dims(2, 3)) + bias.clone();
        let context = softmax(scores, 3)
            .matmul(v)
            .swap_dims(1, 2)
            .reshape([batch, seq, dim]);
        self.out_lin.forward(context)
    }
}

/// The position-wise feed-forward block.
#[derive(Module, Debug)]
pub struct Ffn {
    /// `dim → hidden_dim`.
    pub lin1: Linear,
    /// `hidden_dim → dim`.
    pub lin2: Linear,
    /// GELU (true) or ReLU.
    pub gelu: bool,
}

/// One encoder layer.
#[derive(Module, Debug)]
pub struct TransformerBlock {
    /// Self-attention.
    pub attention: MultiHeadSelfAttention,
    /// After the attention residual.
    pub sa_layer_norm: LayerNorm,
    /// Feed-forward.
    pub ffn: Ffn,
    /// After the feed-forward residual.
    pub output_layer_norm: LayerNorm,
}

/// The encoder stack (`distilbert.transformer`).
#[derive(Module, Debug)]
pub struct Transformer {
    /// `n_layers` blocks.
    pub layer: Vec<TransformerBlock>,
}

/// `distilbert`: embeddings and encoder.
#[derive(Module, Debug)]
pub struct DistilBertModel {
    /// Token and position embeddings.
    pub embeddings: Embeddings,
    /// Encoder layers.
    pub transformer: Transformer,
}

/// The classification model.
#[derive(Module, Debug)]
pub struct DistilBertForSequenceClassification {
    /// The encoder.
    pub distilbert: DistilBertModel,
    /// `dim → dim` on the `[CLS]` state.
    pub pre_classifier: Linear,
    /// `dim → classes`.
    pub classifier: Linear,
}

impl DistilBertForSequenceClassification {
    /// Logits `[batch, classes]` of right-padded `ids` (`[batch, seq]`) with `mask` 1 on real
    /// tokens.
    pub fn forward(&self, ids: Tensor<2, Int>, mask: &[u32], device: &Device) -> Tensor<2> {
        let [batch, seq] = ids.dims();
        let embeddings = &self.distilbert.embeddings;
        let positions: Tensor<2, Int> = Tensor::from_data(
            TensorData::new((0..seq as i64).collect::<Vec<_>>(), [1, seq]),
            device,
        );
        let mut x = embedding(embeddings.word_embeddings.val(), ids)
            + embedding(embeddings.position_embeddings.val(), positions);
        x = embeddings.layer_norm.forward(x);
        let bias: Vec<f32> = mask
            .iter()
            .map(|m| if *m == 0 { f32::MIN } else { 0.0 })
            .collect();
        let bias: Tensor<4> = Tensor::from_data(TensorData::new(bias, [batch, 1, 1, seq]), device);
        for block in &self.distilbert.transformer.layer {
            x = block
                .sa_layer_norm
                .forward(x.clone() + block.attention.forward(x, &bias));
            let hidden = block.ffn.lin1.forward(x.clone());
            let hidden = if block.ffn.gelu {
                gelu(hidden)
            } else {
                relu(hidden)
            };
            x = block
                .output_layer_norm
                .forward(x + block.ffn.lin2.forward(hidden));
        }
        let dim = x.dims()[2];
        let cls = x.slice([0..batch, 0..1, 0..dim]).reshape([batch, dim]);
        self.classifier
            .forward(relu(self.pre_classifier.forward(cls)))
    }
}

/// A loaded classifier with its tokenizer.
#[derive(Debug)]
pub struct Classifier {
    /// The parsed `config.json`.
    pub config: DistilBertConfig,
    /// Class names in index order.
    pub labels: Vec<String>,
    /// Truncating tokenizer (`[CLS] … [SEP]`).
    pub tokenizer: Tokenizer,
    /// The network.
    pub model: DistilBertForSequenceClassification,
    /// Where it was loaded from.
    pub dir: PathBuf,
    device: Device,
}

fn bad(path: &Path, reason: impl Into<String>) -> EngineError {
    EngineError::InvalidFile {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// `tokenizer.json`, or bert-base-uncased's pipeline over `vocab.txt`.
fn load_tokenizer(dir: &Path) -> Result<Tokenizer, EngineError> {
    let json = dir.join("tokenizer.json");
    if json.is_file() {
        return Tokenizer::from_file(&json).map_err(|e| bad(&json, e.to_string()));
    }
    let vocab = dir.join("vocab.txt");
    if !vocab.is_file() {
        return Err(bad(dir, "no tokenizer.json or vocab.txt in this directory"));
    }
    let wordpiece = WordPiece::from_file(&vocab.to_string_lossy())
        .unk_token("[UNK]".into())
        .build()
        .map_err(|e| bad(&vocab, e.to_string()))?;
    let mut tokenizer = Tokenizer::new(wordpiece);
    let id = |token: &str| {
        tokenizer
            .token_to_id(token)
            .ok_or_else(|| bad(&vocab, format!("no `{token}` in the vocabulary")))
    };
    let (cls, sep) = (id("[CLS]")?, id("[SEP]")?);
    tokenizer
        .with_normalizer(Some(BertNormalizer::new(true, true, None, true)))
        .map_err(|e| bad(&vocab, e.to_string()))?;
    tokenizer.with_pre_tokenizer(Some(BertPreTokenizer));
    tokenizer.with_post_processor(Some(BertProcessing::new(
        ("[SEP]".into(), sep),
        ("[CLS]".into(), cls),
    )));
    Ok(tokenizer)
}

struct Loader<'a> {
    files: &'a SafetensorsFiles,
    device: &'a Device,
}

impl Loader<'_> {
    fn read(&self, name: &str, shape: &[usize]) -> Result<HostTensor, EngineError> {
        let tensor = self
            .files
            .read(name)
            .or_else(|_| self.files.read(&format!("distilbert.{name}")))?;
        if tensor.shape != shape {
            return Err(bad(
                self.files.root(),
                format!(
                    "`{name}` has shape {:?}; the config needs {shape:?}",
                    tensor.shape
                ),
            ));
        }
        Ok(tensor)
    }

    fn tensor<const D: usize>(
        &self,
        name: &str,
        shape: [usize; D],
    ) -> Result<Tensor<D>, EngineError> {
        let host = self.read(name, &shape)?;
        Ok(Tensor::from_data(
            TensorData::new(host.data, shape),
            self.device,
        ))
    }

    fn norm(&self, name: &str, dim: usize) -> Result<LayerNorm, EngineError> {
        Ok(LayerNorm {
            weight: Param::from_tensor(self.tensor(&format!("{name}.weight"), [dim])?),
            bias: Param::from_tensor(self.tensor(&format!("{name}.bias"), [dim])?),
            eps: 1e-12,
        })
    }

    /// HF `[out, in]` → burn `[in, out]`.
    fn linear(&self, name: &str, out: usize, inp: usize) -> Result<Linear, EngineError> {
        let weight: Tensor<2> = self.tensor(&format!("{name}.weight"), [out, inp])?;
        Ok(Linear {
            weight: Param::from_tensor(weight.transpose()),
            bias: Some(Param::from_tensor(
                self.tensor(&format!("{name}.bias"), [out])?,
            )),
        })
    }
}

impl Classifier {
    /// Loads `dir` (`config.json`, `model.safetensors`, `tokenizer.json` or `vocab.txt`) onto
    /// `device` in f32. Errors name the file and what is wrong with it.
    pub fn load(dir: &Path, device: &Device) -> Result<Self, EngineError> {
        let config_path = dir.join("config.json");
        let text = std::fs::read_to_string(&config_path).map_err(|source| EngineError::Io {
            path: config_path.clone(),
            source,
        })?;
        let config: DistilBertConfig =
            serde_json::from_str(&text).map_err(|e| bad(&config_path, e.to_string()))?;
        if config.n_heads == 0 || !config.dim.is_multiple_of(config.n_heads) {
            return Err(bad(
                &config_path,
                format!(
                    "dim {} is not divisible by n_heads {}",
                    config.dim, config.n_heads
                ),
            ));
        }
        let gelu = match config.activation.as_str() {
            "gelu" => true,
            "relu" => false,
            other => {
                return Err(bad(
                    &config_path,
                    format!("activation `{other}` is not supported (gelu or relu)"),
                ));
            }
        };
        if !dir.join("model.safetensors").is_file() && dir.join("pytorch_model.bin").is_file() {
            return Err(bad(
                dir,
                "only pytorch_model.bin is here; convert it to model.safetensors first \
                 (docs/EVALUATION.md shows the one-line conversion)",
            ));
        }
        let files = SafetensorsFiles::open_dir(dir)?;
        let loader = Loader {
            files: &files,
            device,
        };
        let dim = config.dim;
        let classes = files
            .read("classifier.bias")
            .map(|t| t.data.len())
            .map_err(|_| bad(dir, "no `classifier.bias`: not a sequence classifier"))?;
        let layer = (0..config.n_layers)
            .map(|i| {
                let p = format!("transformer.layer.{i}");
                Ok(TransformerBlock {
                    attention: MultiHeadSelfAttention {
                        q_lin: loader.linear(&format!("{p}.attention.q_lin"), dim, dim)?,
                        k_lin: loader.linear(&format!("{p}.attention.k_lin"), dim, dim)?,
                        v_lin: loader.linear(&format!("{p}.attention.v_lin"), dim, dim)?,
                        out_lin: loader.linear(&format!("{p}.attention.out_lin"), dim, dim)?,
                        n_heads: config.n_heads,
                    },
                    sa_layer_norm: loader.norm(&format!("{p}.sa_layer_norm"), dim)?,
                    ffn: Ffn {
                        lin1: loader.linear(&format!("{p}.ffn.lin1"), config.hidden_dim, dim)?,
                        lin2: loader.linear(&format!("{p}.ffn.lin2"), dim, config.hidden_dim)?,
                        gelu,
                    },
                    output_layer_norm: loader.norm(&format!("{p}.output_layer_norm"), dim)?,
                })
            })
            .collect::<Result<Vec<_>, EngineError>>()?;
        let model = DistilBertForSequenceClassification {
            distilbert: DistilBertModel {
                embeddings: Embeddings {
                    word_embeddings: Param::from_tensor(loader.tensor(
                        "embeddings.word_embeddings.weight",
                        [config.vocab_size, dim],
                    )?),
                    position_embeddings: Param::from_tensor(loader.tensor(
                        "embeddings.position_embeddings.weight",
                        [config.max_position_embeddings, dim],
                    )?),
                    layer_norm: loader.norm("embeddings.LayerNorm", dim)?,
                },
                transformer: Transformer { layer },
            },
            pre_classifier: loader.linear("pre_classifier", dim, dim)?,
            classifier: loader.linear("classifier", classes, dim)?,
        };
        Ok(Self {
            labels: config.labels(classes),
            tokenizer: load_tokenizer(dir)?,
            config,
            model,
            dir: dir.to_path_buf(),
            device: device.clone(),
        })
    }

    /// The tokenizer with truncation to `max_length` tokens (special tokens included) and, when
    /// `pad`, padding to each batch's longest.
    fn truncating(&self, max_length: usize, pad: bool) -> Result<Tokenizer, EngineError> {
        let mut tokenizer = self.tokenizer.clone();
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: max_length.min(self.config.max_position_embeddings),
                strategy: TruncationStrategy::LongestFirst,
                ..TruncationParams::default()
            }))
            .map_err(|e| bad(&self.dir, e.to_string()))?
            .with_padding(pad.then(|| PaddingParams {
                strategy: PaddingStrategy::BatchLongest,
                pad_id: self.pad_id(),
                pad_token: "[PAD]".into(),
                ..PaddingParams::default()
            }));
        Ok(tokenizer)
    }

    fn pad_id(&self) -> u32 {
        self.tokenizer.token_to_id("[PAD]").unwrap_or(0)
    }

    /// Token ids of each text as the classifier sees it (`[CLS] … [SEP]`, truncated).
    pub fn token_ids(
        &self,
        texts: &[&str],
        max_length: usize,
    ) -> Result<Vec<Vec<u32>>, EngineError> {
        let tokenizer = self.truncating(max_length, false)?;
        texts
            .iter()
            .map(|text| {
                tokenizer
                    .encode(*text, true)
                    .map(|e| e.get_ids().to_vec())
                    .map_err(|e| bad(&self.dir, e.to_string()))
            })
            .collect()
    }

    /// Class probabilities of each text, batched like transformers' pipeline in OU
    /// `classifier_prob`: padding to each batch's longest, truncation to `max_length` tokens
    /// (special tokens included), `batch_size` texts per forward pass.
    pub fn probabilities(
        &self,
        texts: &[&str],
        max_length: usize,
        batch_size: usize,
    ) -> Result<Vec<Vec<f32>>, EngineError> {
        let tokenizer = self.truncating(max_length, true)?;
        let pad_id = self.pad_id();
        let mut out = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(batch_size.max(1)) {
            let encodings = tokenizer
                .encode_batch(chunk.to_vec(), true)
                .map_err(|e| bad(&self.dir, e.to_string()))?;
            let seq = encodings.iter().map(|e| e.len()).max().unwrap_or(0).max(1);
            let mut ids = Vec::with_capacity(chunk.len() * seq);
            let mut mask = Vec::with_capacity(chunk.len() * seq);
            for encoding in &encodings {
                let (row_ids, row_mask) = (encoding.get_ids(), encoding.get_attention_mask());
                for j in 0..seq {
                    ids.push(i64::from(row_ids.get(j).copied().unwrap_or(pad_id)));
                    mask.push(row_mask.get(j).copied().unwrap_or(0));
                }
            }
            let ids = Tensor::from_data(TensorData::new(ids, [chunk.len(), seq]), &self.device);
            let logits = self.model.forward(ids, &mask, &self.device);
            let classes = logits.dims()[1];
            let probs: Vec<f32> = softmax(logits, 1).into_data().iter::<f32>().collect();
            out.extend(probs.chunks(classes).map(<[f32]>::to_vec));
        }
        Ok(out)
    }
}
