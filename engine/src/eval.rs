//! The TOFU evaluation pass (spec §5): one teacher-forced pass per answer set and one greedy
//! generation pass per split, collected into open-unlearning's `TOFU_EVAL.json` layout so that
//! [`crate::metrics::tofu_log::EvalLog::recompute`] turns it into the aggregates. What is scored:
//!
//! | prefix | data | entries |
//! |---|---|---|
//! | `forget` | `forgetNN_perturbed` (+ `holdoutNN` for MIA) | `Q_A_Prob`, `Q_A_PARA_Prob`, `Q_A_PERT_Prob`, `truth_ratio`, `Q_A_ROUGE`, `Q_A_gibberish_heuristic` (+ `Q_A_gibberish` with the classifier), extraction strength, exact memorization, `mia_loss`, `mia_zlib`, `mia_min_k`, `mia_min_k_plus_plus` |
//! | `retain` | `retain_perturbed` | `Q_A_Prob`, `Q_A_PARA_Prob`, `Q_A_PERT_Prob`, `Truth_Ratio`, `Q_A_ROUGE` |
//! | `ra`, `wf` | `real_authors_perturbed`, `world_facts_perturbed` | `Q_A_Prob`, `Q_A_PERT_Prob`, `Q_A_Prob_normalised`, `Truth_Ratio`, `Q_A_ROUGE` |

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Map, Value, json};

use crate::EngineError;
use crate::data::PromptTemplate;
use crate::data::tofu::{SplitPreset, TofuRow, TofuSource};
use crate::distilbert::Classifier;
use crate::llama::score::StatsDetail;
use crate::llama::{GenerateOptions, LoadedModel, TokenStats};
use crate::metrics::extraction::{exact_memorization, extraction_strength};
use crate::metrics::gibberish;
use crate::metrics::privleak::roc_auc;
use crate::metrics::probability::{finite_mean, normalised, prob};
use crate::metrics::rouge::rouge;
use crate::metrics::tofu_log::EvalLog;
use crate::metrics::truth_ratio::truth_ratio;

/// How to evaluate.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalConfig {
    /// Prompt template (the model family's chat template, or question-answer).
    pub template: PromptTemplate,
    /// Rows per forward pass and per generation batch (OU: 32).
    pub batch_size: usize,
    /// Greedy generation length (OU: 200 new tokens).
    pub max_new_tokens: usize,
    /// Truncation of the string-path template (512).
    pub max_length: usize,
    /// Directory of the HF gibberish classifier (spec §5.9); without it only the offline
    /// detector's `forget_Q_A_gibberish_heuristic` is reported.
    pub gibberish_classifier: Option<PathBuf>,
    /// The classifier's truncation in tokens (TOFU: 32; MUSE: 512).
    pub classifier_max_length: usize,
}

impl Default for EvalConfig {
    fn default() -> Self {
        Self {
            template: PromptTemplate::QuestionAnswer,
            batch_size: 32,
            max_new_tokens: 200,
            max_length: 512,
            gibberish_classifier: None,
            classifier_max_length: gibberish::CLASSIFIER_MAX_LENGTH,
        }
    }
}

/// Progress of the pass: `stage` (e.g. `forget generation`) is `done` of `total` batches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalProgress {
    /// What is being computed.
    pub stage: String,
    /// Batches finished in this stage.
    pub done: usize,
    /// Batches in this stage.
    pub total: usize,
}

struct Pass<'a> {
    model: &'a LoadedModel,
    config: &'a EvalConfig,
    on_progress: &'a mut dyn FnMut(&EvalProgress),
    cancel: &'a AtomicBool,
    pad: u32,
}

fn items(values: impl IntoIterator<Item = Value>) -> Map<String, Value> {
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| (i.to_string(), v))
        .collect()
}

fn entry(by_index: Map<String, Value>, agg: Option<f64>) -> Value {
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
    fn stats(
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
    fn prob_entry(
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

    fn options_entry(
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

    fn rouge_entry(
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

/// The answer tokens MIA and memorization look at: the final EOS excluded.
fn without_eos(stats: &TokenStats, eos: Option<u32>) -> (Vec<f64>, Vec<u32>, Vec<u32>, Vec<f64>) {
    let mut len = stats.labels.len();
    if len > 0 && Some(stats.labels[len - 1]) == eos {
        len -= 1;
    }
    let z = (0..len)
        .map(|i| {
            (stats.logprobs[i] - stats.mean_logprob[i]) / stats.var_logprob[i].max(1e-6).sqrt()
        })
        .collect();
    (
        stats.logprobs[..len].to_vec(),
        stats.predictions[..len].to_vec(),
        stats.labels[..len].to_vec(),
        z,
    )
}

/// `-mean` of the lowest `max(1, floor(k·L))` values.
fn min_k(values: &[f64], k: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss,
        reason = "token counts"
    )]
    let take = ((k * sorted.len() as f64).floor() as usize)
        .max(1)
        .min(sorted.len());
    finite_mean(sorted[..take].iter().copied()).map_or(f64::NAN, |m| -m)
}

/// zlib-compressed length of `text` (default level).
fn zlib_len(text: &str) -> usize {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(text.as_bytes());
    encoder.finish().map_or(text.len(), |v| v.len())
}

fn mia_scores(stats: &[TokenStats], answers: &[&str], eos: Option<u32>) -> [(String, Vec<f64>); 4] {
    let mut loss = Vec::new();
    let mut zlib = Vec::new();
    let mut mink = Vec::new();
    let mut minkpp = Vec::new();
    for (s, answer) in stats.iter().zip(answers) {
        let avg = s.avg_loss();
        loss.push(avg);
        #[expect(clippy::cast_precision_loss, reason = "byte counts")]
        zlib.push(avg / zlib_len(answer) as f64);
        let (lp, _, _, z) = without_eos(s, eos);
        mink.push(min_k(&lp, 0.4));
        minkpp.push(min_k(&z, 0.4));
    }
    [
        ("mia_loss".into(), loss),
        ("mia_zlib".into(), zlib),
        ("mia_min_k".into(), mink),
        ("mia_min_k_plus_plus".into(), minkpp),
    ]
}

/// Evaluates `model` on the TOFU split `preset` from `data`; `retain` (a retain model's log)
/// adds forget quality and privleak. The returned log has every `agg_value` filled.
pub fn evaluate(
    model: &LoadedModel,
    data: &TofuSource,
    preset: SplitPreset,
    config: &EvalConfig,
    retain: Option<&EvalLog>,
    on_progress: &mut dyn FnMut(&EvalProgress),
    cancel: &AtomicBool,
) -> Result<EvalLog, EngineError> {
    let tokenizer = &model.tokenizer;
    let eos = tokenizer.eos_id;
    let classifier = config
        .gibberish_classifier
        .as_deref()
        .map(|dir| Classifier::load(dir, &model.model.device()))
        .transpose()?;
    let mut pass = Pass {
        model,
        config,
        on_progress,
        cancel,
        pad: tokenizer.pad_or_eos(),
    };
    let mut metrics = Map::new();
    let splits = [
        ("forget", preset.forget_perturbed()),
        ("retain", "retain_perturbed".to_string()),
        ("ra", "real_authors_perturbed".to_string()),
        ("wf", "world_facts_perturbed".to_string()),
    ];
    for (prefix, split) in splits {
        let rows = data.read(&split)?;
        let (entry_prob, losses, stats) = pass.prob_entry(
            &format!("{prefix} probabilities"),
            &rows,
            |r| r.answer.as_str(),
            // Memorization and MIA read the forget answers' full statistics.
            if prefix == "forget" {
                StatsDetail::Full
            } else {
                StatsDetail::LogProbs
            },
        )?;
        metrics.insert(format!("{prefix}_Q_A_Prob"), entry_prob);
        let correct = if matches!(prefix, "forget" | "retain") {
            let (entry_para, para, _) = pass.prob_entry(
                &format!("{prefix} paraphrases"),
                &rows,
                |r| r.paraphrased_answer.as_deref().unwrap_or(r.answer.as_str()),
                StatsDetail::LogProbs,
            )?;
            metrics.insert(format!("{prefix}_Q_A_PARA_Prob"), entry_para);
            para
        } else {
            losses.clone()
        };
        let (entry_pert, pert) =
            pass.options_entry(&format!("{prefix} perturbed answers"), &rows)?;
        metrics.insert(format!("{prefix}_Q_A_PERT_Prob"), entry_pert);
        let ratios: Vec<f64> = correct
            .iter()
            .zip(&pert)
            .map(|(c, w)| truth_ratio(*c, w))
            .collect();
        let name = if prefix == "forget" {
            "forget_truth_ratio".to_string()
        } else {
            format!("{prefix}_Truth_Ratio")
        };
        metrics.insert(
            name,
            entry(items(ratios.iter().map(|tr| json!({"score": tr}))), None),
        );
        if matches!(prefix, "ra" | "wf") {
            let values: Vec<f64> = losses
                .iter()
                .zip(&pert)
                .map(|(c, w)| {
                    normalised(
                        prob(*c),
                        &w.iter().map(|x| prob(*x)).collect::<Vec<_>>(),
                        1e-10,
                    )
                })
                .collect();
            metrics.insert(
                format!("{prefix}_Q_A_Prob_normalised"),
                entry(
                    items(values.iter().map(|p| json!({"prob": p}))),
                    finite_mean(values.iter().copied()),
                ),
            );
        }
        let (entry_rouge, generations) =
            pass.rouge_entry(&format!("{prefix} generation"), &rows)?;
        metrics.insert(format!("{prefix}_Q_A_ROUGE"), entry_rouge);
        if prefix == "forget" {
            let scores = |values: Vec<f64>| {
                entry(
                    items(values.iter().map(|s| json!({"score": s}))),
                    finite_mean(values.iter().copied()),
                )
            };
            metrics.insert(
                gibberish::HEURISTIC.into(),
                scores(
                    generations
                        .iter()
                        .map(|g| gibberish::heuristic(g).score)
                        .collect(),
                ),
            );
            if let Some(classifier) = &classifier {
                (pass.on_progress)(&EvalProgress {
                    stage: "gibberish classifier".into(),
                    done: 0,
                    total: 1,
                });
                let texts: Vec<&str> = generations.iter().map(String::as_str).collect();
                let clean = gibberish::clean_index(&classifier.labels);
                let probabilities = classifier.probabilities(
                    &texts,
                    config.classifier_max_length,
                    config.batch_size,
                )?;
                metrics.insert(
                    gibberish::CLASSIFIER.into(),
                    scores(probabilities.iter().map(|p| f64::from(p[clean])).collect()),
                );
                (pass.on_progress)(&EvalProgress {
                    stage: "gibberish classifier".into(),
                    done: 1,
                    total: 1,
                });
            }
            let (mut es, mut em) = (Vec::new(), Vec::new());
            for s in &stats {
                let (_, predictions, labels, _) = without_eos(s, eos);
                es.push(extraction_strength(&predictions, &labels));
                em.push(exact_memorization(&predictions, &labels).unwrap_or(f64::NAN));
            }
            metrics.insert(
                "extraction_strength".into(),
                entry(
                    items(es.iter().map(|v| json!({"score": v}))),
                    finite_mean(es.iter().copied()),
                ),
            );
            metrics.insert(
                "exact_memorization".into(),
                entry(
                    items(em.iter().map(|v| json!({"score": v}))),
                    finite_mean(em.iter().copied()),
                ),
            );
            let holdout = data.read(&preset.holdout())?;
            let (_, _, holdout_stats) = pass.prob_entry(
                "holdout probabilities",
                &holdout,
                |r| r.answer.as_str(),
                StatsDetail::Full,
            )?;
            let forget_answers: Vec<&str> = rows.iter().map(|r| r.answer.as_str()).collect();
            let holdout_answers: Vec<&str> = holdout.iter().map(|r| r.answer.as_str()).collect();
            let member = mia_scores(&stats, &forget_answers, eos);
            let non_member = mia_scores(&holdout_stats, &holdout_answers, eos);
            for ((name, forget), (_, holdout)) in member.into_iter().zip(non_member) {
                let auc = roc_auc(&forget, &holdout);
                let side = |scores: &[f64]| {
                    entry(
                        items(scores.iter().map(|s| json!({"score": s}))),
                        finite_mean(scores.iter().copied()),
                    )
                };
                metrics.insert(name, json!({"forget": side(&forget), "holdout": side(&holdout), "auc": auc, "agg_value": auc}));
            }
        }
    }
    let mut log = EvalLog {
        path: Path::new("TOFU_EVAL.json").to_path_buf(),
        metrics,
    };
    let recomputed = log.recompute(retain)?;
    for (name, r) in recomputed {
        match log.metrics.get_mut(&name) {
            Some(Value::Object(entry)) => {
                entry.insert("agg_value".into(), json!(r.value));
            }
            Some(_) => {}
            None => {
                if r.value.is_some() {
                    log.metrics.insert(name, json!({"agg_value": r.value}));
                }
            }
        }
    }
    Ok(log)
}
