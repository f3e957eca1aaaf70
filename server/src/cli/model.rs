//! `lethe model inspect` and `lethe model score`.

use std::io::Write;

use anyhow::Context as _;
use engine::data::{Encoded, PromptTemplate};
use engine::llama::{ModelSource, inspect as inspect_model, load};
use serde::{Deserialize, Serialize};

use crate::config::ScoreArgs;
use crate::runner::engine_config;
use crate::runner::prepare::read_rows;

/// Prints what `model` is, from its headers alone.
pub fn inspect(model: &str, out: &mut impl Write) -> anyhow::Result<()> {
    let source = ModelSource::parse(model)?;
    let info = inspect_model(&source)?;
    let c = &info.config;
    let tokenizer = &info.tokenizer;
    let token = |id: Option<u32>| {
        id.map_or_else(
            || "none".to_string(),
            |id| format!("{} ({id})", tokenizer.tokens(&[id]).concat()),
        )
    };
    let (kind, path) = match &info.source {
        ModelSource::Dir(path) => ("safetensors", path),
        ModelSource::Gguf(path) => ("gguf", path),
    };
    let dtypes: Vec<String> = info
        .dtypes
        .iter()
        .map(|(dtype, n)| format!("{dtype} x{n}"))
        .collect();
    let template = PromptTemplate::chat_for(c.family, tokenizer);
    writeln!(out, "source:          {kind} {}", path.display())?;
    writeln!(
        out,
        "architecture:    {:?} ({} layers, hidden {}, mlp {})",
        c.family, c.num_hidden_layers, c.hidden_size, c.intermediate_size
    )?;
    writeln!(
        out,
        "attention:       {} heads, {} kv heads, head_dim {}{}{}",
        c.num_attention_heads,
        c.num_key_value_heads,
        c.head_dim,
        if c.qk_norm { ", q/k norm" } else { "" },
        c.sliding_window
            .map(|w| format!(", sliding window {w}"))
            .unwrap_or_default()
    )?;
    writeln!(
        out,
        "rope:            theta {} {:?}",
        c.rope.theta, c.rope.scaling
    )?;
    writeln!(
        out,
        "parameters:      {} ({:.1}M){}",
        info.parameter_count,
        info.parameter_count as f64 / 1e6,
        if c.tie_word_embeddings {
            ", tied embeddings"
        } else {
            ""
        }
    )?;
    writeln!(out, "dtype on disk:   {}", dtypes.join(", "))?;
    writeln!(
        out,
        "tokenizer:       {} tokens, bos {}, eos {}, pad {} ({})",
        tokenizer.vocab_size(),
        token(tokenizer.bos_id),
        token(tokenizer.eos_id),
        token(tokenizer.pad_id),
        tokenizer.source.display()
    )?;
    writeln!(
        out,
        "chat template:   {}{}",
        template
            .as_ref()
            .map_or("none (use --template plain)", PromptTemplate::name),
        if tokenizer.chat_template.is_some() {
            " (checkpoint ships a Jinja template)"
        } else {
            ""
        }
    )?;
    Ok(())
}

/// One line of `lethe model score` output.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct ScoreLine {
    /// Row index in the input file (0-based).
    pub index: usize,
    /// Answer tokens that carry loss (EOS included).
    pub n_tokens: usize,
    /// Summed NLL over them (nats).
    pub sum_nll: f64,
    /// `sum_nll / n_tokens`; `null` when there are no answer tokens.
    pub avg_nll: Option<f64>,
}

/// Scores every row of `args.data` and prints one JSON object per row, in input order.
pub fn score(args: &ScoreArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let rows = read_rows(&args.data).with_context(|| "--data".to_string())?;
    let source = ModelSource::parse(&args.model)?;
    let device = args.device.device()?;
    let loaded = load(&source, &device, args.dtype)?;
    let tokenizer = &loaded.tokenizer;
    let template = engine_config::template(args.template.into(), &loaded, &args.model)?;
    let pad = tokenizer.pad_or_eos();
    let encoded: Vec<Encoded> = rows
        .iter()
        .map(|row| template.encode(tokenizer, &row.question, &row.answer, args.max_length))
        .collect::<Result<_, _>>()?;
    for (chunk_index, chunk) in encoded.chunks(usize::from(args.batch_size)).enumerate() {
        let first = chunk_index * usize::from(args.batch_size);
        for (offset, nll) in loaded
            .model
            .sequence_nll(chunk, pad)
            .into_iter()
            .enumerate()
        {
            let index = first + offset;
            if nll.n_tokens == 0 {
                tracing::warn!(
                    index,
                    "no answer tokens after the prompt (spec §6.4 boundary case)"
                );
            }
            let line = ScoreLine {
                index,
                n_tokens: nll.n_tokens,
                sum_nll: nll.sum_nll,
                avg_nll: (nll.n_tokens > 0).then(|| nll.avg_nll()),
            };
            writeln!(out, "{}", serde_json::to_string(&line)?)?;
        }
    }
    Ok(())
}
