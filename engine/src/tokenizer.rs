//! Text ↔ token ids through the `tokenizers` crate (the Rust core of HF's Python tokenizers), plus
//! the special-token ids a model's `tokenizer_config.json` names.
//!
//! Sources: a model directory's `tokenizer.json` + `tokenizer_config.json`, or a GGUF file's
//! `tokenizer.ggml.*` metadata, converted the way transformers' `GGUFGPTConverter` does
//! (byte-level BPE from the vocabulary and merges; control tokens become special added tokens).

use std::path::{Path, PathBuf};

use tokenizers::models::bpe::{BPE, Vocab};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::whitespace::Whitespace;
use tokenizers::{
    AddedToken, OffsetReferential, OffsetType, PreTokenizedString, PreTokenizer as _,
    Tokenizer as HfTokenizer,
};

use crate::EngineError;
use crate::llama::gguf::{GgufFile, GgufValue};

/// A tokenizer and the ids of its special tokens.
#[derive(Debug, Clone)]
pub struct Tokenizer {
    inner: HfTokenizer,
    /// Beginning-of-sequence id, if the tokenizer has one.
    pub bos_id: Option<u32>,
    /// End-of-sequence id (Llama 3 instruct: `<|eot_id|>`).
    pub eos_id: Option<u32>,
    /// Padding id; `eos_id` when the tokenizer defines none (OU `src/model/__init__.py`).
    pub pad_id: Option<u32>,
    /// The Jinja chat template the checkpoint ships, if any (shown by `lethe model inspect`).
    pub chat_template: Option<String>,
    /// Where it was read from.
    pub source: PathBuf,
}

fn bad(path: &Path, reason: impl Into<String>) -> EngineError {
    EngineError::InvalidFile {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// `"<s>"` or `{"content": "<s>", ...}`, as `tokenizer_config.json` spells special tokens.
fn token_text(value: Option<&serde_json::Value>) -> Option<String> {
    match value? {
        serde_json::Value::String(text) => Some(text.clone()),
        serde_json::Value::Object(map) => map.get("content")?.as_str().map(str::to_string),
        _ => None,
    }
}

impl Tokenizer {
    /// Reads `dir/tokenizer.json` and, when present, `dir/tokenizer_config.json` (special tokens,
    /// chat template) and `dir/chat_template.jinja`.
    pub fn from_model_dir(dir: &Path) -> Result<Self, EngineError> {
        let path = dir.join("tokenizer.json");
        let inner = HfTokenizer::from_file(&path).map_err(|error| bad(&path, error.to_string()))?;
        let config_path = dir.join("tokenizer_config.json");
        let config: serde_json::Value = match std::fs::read_to_string(&config_path) {
            Ok(text) => {
                serde_json::from_str(&text).map_err(|error| bad(&config_path, error.to_string()))?
            }
            Err(_) => serde_json::Value::Null,
        };
        let id_of =
            |key: &str| token_text(config.get(key)).and_then(|token| inner.token_to_id(&token));
        let (bos_id, eos_id) = (id_of("bos_token"), id_of("eos_token"));
        let chat_template = config
            .get("chat_template")
            .and_then(serde_json::Value::as_str)
            .map(str::to_string)
            .or_else(|| std::fs::read_to_string(dir.join("chat_template.jinja")).ok());
        Ok(Self {
            pad_id: id_of("pad_token").or(eos_id),
            inner,
            bos_id,
            eos_id,
            chat_template,
            source: path,
        })
    }

    /// A word-level tokenizer over every word and punctuation run of `texts` (the demo model's:
    /// its data is generated, so its vocabulary is closed). `<unk>` 0, `<s>` 1 (prepended by the
    /// post-processor, as Llama's), `</s>` 2, then the words in first-seen order; decoding joins
    /// words with spaces and re-attaches punctuation (WordPiece's clean-up).
    pub fn word_level<'a>(texts: impl IntoIterator<Item = &'a str>) -> Result<Self, EngineError> {
        let mut vocab = serde_json::Map::new();
        for (id, token) in ["<unk>", "<s>", "</s>"].iter().enumerate() {
            vocab.insert((*token).to_string(), id.into());
        }
        let source = PathBuf::from("word-level tokenizer");
        for text in texts {
            // The very pre-tokenizer the tokenizer will use, so every training word is in vocab.
            let mut pieces = PreTokenizedString::from(text);
            Whitespace {}
                .pre_tokenize(&mut pieces)
                .map_err(|error| bad(&source, error.to_string()))?;
            for (word, _, _) in pieces.get_splits(OffsetReferential::Original, OffsetType::Char) {
                if !vocab.contains_key(word) {
                    let id = vocab.len();
                    vocab.insert(word.to_string(), id.into());
                }
            }
        }
        let special = |id: u32, content: &str| {
            serde_json::json!({"id": id, "content": content, "single_word": false, "lstrip": false,
                "rstrip": false, "normalized": false, "special": true})
        };
        let json = serde_json::json!({
            "version": "1.0",
            "truncation": null,
            "padding": null,
            "added_tokens": [special(0, "<unk>"), special(1, "<s>"), special(2, "</s>")],
            "normalizer": null,
            "pre_tokenizer": {"type": "Whitespace"},
            "post_processor": {
                "type": "TemplateProcessing",
                "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
                "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}
            },
            "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
            "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "<unk>"}
        });
        let inner: HfTokenizer = json
            .to_string()
            .parse()
            .map_err(|error: tokenizers::Error| bad(&source, error.to_string()))?;
        Ok(Self {
            inner,
            bos_id: Some(1),
            eos_id: Some(2),
            pad_id: Some(2),
            chat_template: None,
            source,
        })
    }

    /// Builds the tokenizer a GGUF file describes (`tokenizer.ggml.model = "gpt2"`).
    pub fn from_gguf(gguf: &GgufFile) -> Result<Self, EngineError> {
        let path = gguf.path();
        let model = gguf
            .metadata("tokenizer.ggml.model")
            .and_then(GgufValue::as_str);
        if model != Some("gpt2") {
            return Err(bad(
                path,
                format!(
                    "tokenizer.ggml.model {model:?} is not supported (gpt2 byte-level BPE only); pass a tokenizer.json"
                ),
            ));
        }
        let strings = |key: &str| -> Result<Vec<String>, EngineError> {
            gguf.metadata(key)
                .and_then(GgufValue::as_array)
                .ok_or_else(|| bad(path, format!("metadata has no {key}")))?
                .iter()
                .map(|value| {
                    value
                        .as_str()
                        .map(str::to_string)
                        .ok_or_else(|| bad(path, format!("{key} holds a non-string")))
                })
                .collect()
        };
        let tokens = strings("tokenizer.ggml.tokens")?;
        let merges: Vec<(String, String)> = strings("tokenizer.ggml.merges")?
            .into_iter()
            .map(|merge| {
                merge
                    .split_once(' ')
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .ok_or_else(|| bad(path, format!("merge `{merge}` has no space")))
            })
            .collect::<Result<_, _>>()?;
        let vocab: Vocab = tokens
            .iter()
            .enumerate()
            .map(|(id, token)| (token.clone(), u32::try_from(id).unwrap_or(u32::MAX)))
            .collect();
        let bpe = BPE::builder()
            .vocab_and_merges(vocab, merges)
            .build()
            .map_err(|error| bad(path, format!("BPE: {error}")))?;
        let mut inner = HfTokenizer::new(bpe);
        inner.with_pre_tokenizer(Some(ByteLevel::new(false, true, true)));
        inner.with_decoder(Some(ByteLevel::default()));
        inner.with_post_processor(Some(ByteLevel::new(false, false, true)));
        // token_type 3 = control (llama.cpp `LLAMA_TOKEN_TYPE_CONTROL`): `<|im_start|>` and friends.
        let control: Vec<AddedToken> = gguf
            .metadata("tokenizer.ggml.token_type")
            .and_then(GgufValue::as_array)
            .unwrap_or_default()
            .iter()
            .zip(&tokens)
            .filter(|(kind, _)| **kind == GgufValue::Int(3) || **kind == GgufValue::Uint(3))
            .map(|(_, token)| AddedToken::from(token.clone(), true))
            .collect();
        inner
            .add_special_tokens(control)
            .map_err(|error| bad(path, format!("special tokens: {error}")))?;
        let id = |key: &str| {
            gguf.metadata(&format!("tokenizer.ggml.{key}"))
                .and_then(|value| match value {
                    GgufValue::Uint(id) => u32::try_from(*id).ok(),
                    GgufValue::Int(id) => u32::try_from(*id).ok(),
                    _ => None,
                })
        };
        let eos_id = id("eos_token_id");
        Ok(Self {
            inner,
            bos_id: id("bos_token_id"),
            eos_id,
            pad_id: id("padding_token_id").or(eos_id),
            chat_template: gguf
                .metadata("tokenizer.chat_template")
                .and_then(GgufValue::as_str)
                .map(str::to_string),
            source: path.to_path_buf(),
        })
    }

    /// Token ids of `text`; `add_special_tokens` runs the post-processor (Llama prepends BOS).
    pub fn encode(&self, text: &str, add_special_tokens: bool) -> Result<Vec<u32>, EngineError> {
        self.inner
            .encode(text, add_special_tokens)
            .map(|encoding| encoding.get_ids().to_vec())
            .map_err(|error| bad(&self.source, format!("encoding failed: {error}")))
    }

    /// Token strings of `ids` (`Ġ` for a byte-level space).
    pub fn tokens(&self, ids: &[u32]) -> Vec<String> {
        ids.iter()
            .map(|id| self.inner.id_to_token(*id).unwrap_or_default())
            .collect()
    }

    /// Text of `ids`; special tokens are dropped when `skip_special_tokens`.
    pub fn decode(&self, ids: &[u32], skip_special_tokens: bool) -> Result<String, EngineError> {
        self.inner
            .decode(ids, skip_special_tokens)
            .map_err(|error| bad(&self.source, format!("decoding failed: {error}")))
    }

    /// The id of `token`, if it is in the vocabulary.
    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    /// Writes `tokenizer.json` and a `tokenizer_config.json` naming the special tokens (and the
    /// chat template) into `dir`.
    pub fn save(&self, dir: &Path) -> Result<(), EngineError> {
        let path = dir.join("tokenizer.json");
        self.inner
            .save(&path, false)
            .map_err(|error| bad(&path, format!("writing the tokenizer: {error}")))?;
        let token = |id: Option<u32>| id.and_then(|id| self.inner.id_to_token(id));
        let config = serde_json::json!({
            "bos_token": token(self.bos_id),
            "eos_token": token(self.eos_id),
            "pad_token": token(self.pad_id),
            "chat_template": self.chat_template,
            "tokenizer_class": "PreTrainedTokenizerFast",
        });
        let path = dir.join("tokenizer_config.json");
        std::fs::write(
            &path,
            serde_json::to_string_pretty(&config).unwrap_or_default(),
        )
        .map_err(|source| EngineError::Io {
            path: path.clone(),
            source,
        })
    }

    /// The id batches are padded with: the pad token, else EOS (OU's pad = eos), else 0.
    pub fn pad_or_eos(&self) -> u32 {
        self.pad_id.or(self.eos_id).unwrap_or(0)
    }

    /// Vocabulary size including added tokens.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }
}
