//! One evaluation pass over a model: teacher-forced statistics, probability entries and greedy
//! generation with ROUGE, each reporting its batches as [`EvalProgress`].

use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Map, Value, json};

use super::{EvalConfig, EvalProgress};
use crate::EngineError;
use crate::data::tofu::TofuRow;
use crate::llama::score::StatsDetail;
use crate::llama::{GenerateOptions, LoadedModel, TokenStats};
use crate::metrics::probability::{finite_mean, prob};
use crate::metrics::rouge::rouge;

pub(super) struct Pass<'a> {
    pub model: &'a LoadedModel,
    pub config: &'a EvalConfig,
    pub on_progress: &'a mut dyn FnMut(&EvalProgress),
    pub cancel: &'a AtomicBool,
    pub pad: u32,
}

pub(super) fn items(values: impl IntoIterator<Item = Value>) -> Map<String, Value> {
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| (i.to_string(), v))
        .collect()
}

pub(super) fn entry(by_index: Map<String, Value>, agg: Option<f64>) -> Value {
    json!({ "agg_value": agg, "value_by_index": by_index })
}

impl Pass<'_> {
    fn check(&self) -> Result<(), EngineError> {
        if self.cancel.load(Ordering::Relaxed) {
            Err(EngineError::Cancelled)
        } else {
            Ok(())
        }
    }

    /// Teacher-forced statistics of `question` + `answer` pairs.
    pub(super) fn stats(
        &mut self,
        stage: &str,
        pairs: &[(&str, &str)],
        detail: StatsDetail,
    ) -> Result<Vec<TokenStats>, EngineError> {
        let tokenizer = &self.model.tokenizer;
        let encoded = pairs
            .iter()
            .map(|(q, a)| {
                self.config
                    .template
                    .encode(tokenizer, q, a, self.config.max_length)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let chunks: Vec<_> = encoded.chunks(self.config.batch_size.max(1)).collect();
        let mut out = Vec::with_capacity(encoded.len());
        for (done, chunk) in chunks.iter().enumerate() {
            self.check()?;
            out.extend(self.model.model.token_stats(chunk, self.pad, detail));
            (self.on_progress)(&EvalProgress {
                stage: stage.to_string(),
                done: done + 1,
                total: chunks.len(),
            });
        }
        Ok(out)
    }

    /// `{prob, avg_loss}` items for one answer per row, and for a list of options per row.
    pub(super) fn prob_entry(
        &mut self,
        stage: &str,
        rows: &[TofuRow],
        answer: impl Fn(&TofuRow) -> &str,
        detail: StatsDetail,
    ) -> Result<(Value, Vec<f64>, Vec<TokenStats>), EngineError> {
        let pairs: Vec<(&str, &str)> = rows
            .iter()
            .map(|r| (r.question.as_str(), answer(r)))
            .collect();
        let stats = self.stats(stage, &pairs, detail)?;
        let losses: Vec<f64> = stats.iter().map(TokenStats::avg_loss).collect();
        let by_index = items(
            losses
                .iter()
                .map(|l| json!({"prob": prob(*l), "avg_loss": l})),
        );
        let agg = finite_mean(losses.iter().map(|l| prob(*l)));
        Ok((entry(by_index, agg), losses, stats))
    }

    pub(super) fn options_entry(
        &mut self,
        stage: &str,
        rows: &[TofuRow],
    ) -> Result<(Value, Vec<Vec<f64>>), EngineError> {
        let pairs: Vec<(&str, &str)> = rows
            .iter()
            .flat_map(|r| {
                r.perturbed_answer
                    .iter()
                    .map(|a| (r.question.as_str(), a.as_str()))
            })
            .collect();
        let stats = self.stats(stage, &pairs, StatsDetail::LogProbs)?;
        let mut losses = stats.iter().map(TokenStats::avg_loss);
        let per_row: Vec<Vec<f64>> = rows
            .iter()
            .map(|r| losses.by_ref().take(r.perturbed_answer.len()).collect())
            .collect();
        let by_index = items(per_row.iter().map(
            |l| json!({"prob": l.iter().map(|x| prob(*x)).collect::<Vec<_>>(), "avg_loss": l}),
        ));
        let agg = finite_mean(
            per_row
                .iter()
                .filter_map(|l| finite_mean(l.iter().map(|x| prob(*x)))),
        );
        Ok((entry(by_index, agg), per_row))
    }

    pub(super) fn rouge_entry(
        &mut self,
        stage: &str,
        rows: &[TofuRow],
    ) -> Result<(Value, Vec<String>), EngineError> {
        let tokenizer = &self.model.tokenizer;
        let encoded = rows
            .iter()
            .map(|r| {
                self.config.template.encode(
                    tokenizer,
                    &r.question,
                    &r.answer,
                    self.config.max_length,
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        let eos = tokenizer.eos_id;
        let eos_text = eos
            .map(|id| tokenizer.decode(&[id], false))
            .transpose()?
            .filter(|t| !t.is_empty());
        let options = GenerateOptions {
            max_new_tokens: self.config.max_new_tokens,
            stop_ids: eos.into_iter().collect(),
            pad_id: self.pad,
            use_cache: true,
        };
        let chunks: Vec<_> = encoded.chunks(self.config.batch_size.max(1)).collect();
        let mut generations = Vec::with_capacity(rows.len());
        for (done, chunk) in chunks.iter().enumerate() {
            self.check()?;
            let prompts: Vec<Vec<u32>> = chunk.iter().map(|e| e.prompt_ids.clone()).collect();
            for generation in self.model.model.generate(&prompts, &options) {
                let mut text = tokenizer.decode(&generation.new_ids, true)?;
                if let Some(eos_text) = &eos_text
                    && let Some(cut) = text.find(eos_text.as_str())
                {
                    text.truncate(cut);
                }
                generations.push(text.trim().to_string());
            }
            (self.on_progress)(&EvalProgress {
                stage: stage.to_string(),
                done: done + 1,
                total: chunks.len(),
            });
        }
        let mut recalls = Vec::with_capacity(rows.len());
        let mut by_index = Vec::with_capacity(rows.len());
        for ((row, generation), encoded) in rows.iter().zip(&generations).zip(&encoded) {
            let gt = row.answer.trim();
            let scores = rouge(gt, generation);
            recalls.push(scores.rouge_l.recall);
            by_index.push(json!({
                "rouge1_recall": scores.rouge1.recall,
                "rougeL_f1": scores.rouge_l.fmeasure,
                "rougeL_recall": scores.rouge_l.recall,
                "input": tokenizer.decode(&encoded.prompt_ids, true)?,
                "ground_truth": gt,
                "generation": generation,
            }));
        }
        Ok((entry(items(by_index), finite_mean(recalls)), generations))
    }
}
