//! Command-line subcommands other than `serve`: thin layers that parse files, call the engine and
//! print. Each writes to the `Write` it is given, so tests capture the output. What several of
//! them share (prompt choice, data and model setup for an objective) lives here.

pub mod config_file;
pub mod data;
pub mod demo;
pub mod eval;
pub mod finetune;
pub mod loss;
pub mod model;
mod output;
pub mod progress;
pub mod run;
pub mod study;
pub mod tofu;
pub mod token;
pub mod unlearn;

use anyhow::{Context as _, bail};
use engine::data::{Encoded, PromptTemplate};
use engine::llama::{LoadedModel, ModelSource, WeightDtype, load};
use engine::objectives::{Method, ObjectiveConfig};
use engine::tokenizer::Tokenizer;
use engine::train::IdkAnswers;

use crate::config::{ObjectiveArgs, TemplateChoice};
use loss::{Settings, objective_config};
use model::{QaRow, read_rows};

/// The prompt template `choice` means for `loaded` (named `model` in errors).
pub(crate) fn template_for(
    choice: TemplateChoice,
    loaded: &LoadedModel,
    model: &str,
) -> anyhow::Result<PromptTemplate> {
    match choice {
        TemplateChoice::Plain => Ok(PromptTemplate::QuestionAnswer),
        TemplateChoice::Chat => PromptTemplate::chat_for(
            loaded.model.config.family,
            &loaded.tokenizer,
        )
        .with_context(|| {
            format!(
                "--template chat: {model} has no chat template Lethe knows; use --template plain"
            )
        }),
    }
}

/// Tokenises question/answer pairs with `template` (OU's max length 512 on the string path).
pub(crate) fn encode_pairs<'a>(
    template: &PromptTemplate,
    tokenizer: &Tokenizer,
    pairs: impl Iterator<Item = (&'a str, &'a str)>,
) -> anyhow::Result<Vec<Encoded>> {
    Ok(pairs
        .map(|(question, answer)| template.encode(tokenizer, question, answer, 512))
        .collect::<Result<_, _>>()?)
}

/// Everything an objective needs before it runs: resolved settings, data, models, template.
pub(crate) struct Prepared {
    /// `--set` values (some commands read more of them, e.g. `seed`).
    pub settings: Settings,
    /// The objective with spec defaults applied.
    pub config: ObjectiveConfig,
    /// Tokenised forget rows.
    pub forget: Vec<Encoded>,
    /// Tokenised retain rows.
    pub retain: Vec<Encoded>,
    /// Forget row i with I-don't-know answer i mod n, when `--idk` is given (`lethe loss`).
    pub idk: Option<Vec<Encoded>>,
    /// The answers themselves, for the loop's per-epoch random draw (`lethe unlearn`).
    pub idk_answers: Option<IdkAnswers>,
    /// The model being unlearned, on the autodiff device.
    pub policy: LoadedModel,
    /// The frozen reference on the plain device, when the objective needs one.
    pub reference: Option<LoadedModel>,
}

/// How the models of a run are held: weight dtype and gradient checkpointing on the policy.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Precision {
    /// Weights of the policy and the reference.
    pub dtype: WeightDtype,
    /// Balanced gradient checkpointing on the policy's autodiff device.
    pub checkpointing: bool,
}

impl Precision {
    /// Loads `model` (named by `flag` in errors) for training on `plain`'s autodiff device.
    pub(crate) fn load_policy(
        self,
        model: &str,
        flag: &str,
        plain: &engine::Device,
    ) -> anyhow::Result<LoadedModel> {
        let device = engine::training_device(plain, self.checkpointing);
        load(&ModelSource::parse(model)?, &device, self.dtype).with_context(|| flag.to_string())
    }
}

impl ObjectiveArgs {
    /// Resolves the objective, reads and tokenises the data and loads the models; `model` is the
    /// model being unlearned and `flag` the flag that named it (for errors).
    pub(crate) fn prepare(
        &self,
        model: &str,
        flag: &str,
        precision: Precision,
    ) -> anyhow::Result<Prepared> {
        let settings = Settings::parse(&self.set)?;
        let config = objective_config(&self.objective, &self.wrapper, &settings)?;
        let forget_rows = read_rows(&self.forget).context("--forget")?;
        let retain_rows = read_rows(&self.retain).context("--retain")?;
        if forget_rows.is_empty() || retain_rows.is_empty() {
            bail!("--forget and --retain need at least one row each");
        }
        let answers = match &self.idk {
            Some(path) => {
                let answers: Vec<String> = std::fs::read_to_string(path)
                    .with_context(|| format!("--idk {}", path.display()))?
                    .lines()
                    .filter(|line| !line.trim().is_empty())
                    .map(str::to_string)
                    .collect();
                if answers.is_empty() {
                    bail!("--idk {}: no answers", path.display());
                }
                Some(answers)
            }
            None if matches!(config.method, Method::IdkDpo { .. }) => {
                bail!("--objective idk_dpo needs --idk FILE (one I-don't-know answer per line)")
            }
            None => None,
        };
        let plain = self.device.device()?;
        let policy = precision.load_policy(model, flag, &plain)?;
        let reference = if config.needs_reference() {
            let source = self.reference.as_deref().unwrap_or(model);
            Some(
                load(&ModelSource::parse(source)?, &plain, precision.dtype)
                    .context("--reference")?,
            )
        } else {
            None
        };
        let template = template_for(self.template, &policy, model)?;
        let tokenizer = &policy.tokenizer;
        let pairs = |rows: &'_ [QaRow]| -> anyhow::Result<Vec<Encoded>> {
            encode_pairs(
                &template,
                tokenizer,
                rows.iter()
                    .map(|r| (r.question.as_str(), r.answer.as_str())),
            )
        };
        let forget = pairs(&forget_rows)?;
        let retain = pairs(&retain_rows)?;
        let idk_answers = answers.as_ref().map(|answers| IdkAnswers {
            answers: answers.clone(),
            questions: forget_rows.iter().map(|row| row.question.clone()).collect(),
            template: template.clone(),
            tokenizer: tokenizer.clone(),
            max_length: 512,
        });
        let idk = answers
            .map(|answers| {
                let rows = forget_rows
                    .iter()
                    .enumerate()
                    .map(|(i, row)| (row.question.as_str(), answers[i % answers.len()].as_str()));
                encode_pairs(&template, tokenizer, rows)
            })
            .transpose()?;
        Ok(Prepared {
            settings,
            config,
            forget,
            retain,
            idk,
            idk_answers,
            policy,
            reference,
        })
    }
}
