//! `lethe demo build`: Lethe's embedded default, the TOFU protocol on a model small enough for a
//! CPU. It generates the default data (`lethe data generate`), builds a word-level tokenizer over
//! it and a tiny Llama config with random weights, fine-tunes the target model on `full` and one
//! retain model per split on `retainNN` (TOFU step 1; both also see the real-authors and
//! world-facts answers, standing in for what pre-training would have taught them), and evaluates
//! each retain model on its forget split. The target becomes the model `demo`; the retain
//! models' logs become its retain references, which runs on the default data use for forget
//! quality when a spec names none.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use anyhow::Context as _;
use engine::data::generate::{self, GenerateConfig};
use engine::tokenizer::Tokenizer;

use engine::data::tofu::TofuSource;
use shared::run::{Dtype, EvalSpec, PromptFormat, Split};

use crate::config::{FinetuneArgs, TemplateChoice, TrainArgs};
use crate::runner::EvalJob;

pub use crate::models::manifest::{
    DEFAULT_UNLEARN_LR, DemoManifest, MANIFEST, data_digest, retain_ref_for,
};

/// Where the default data lives under the data dir.
pub const DEFAULT_DATA: &str = "tofu-generated";

/// The demo model's settings.
#[derive(Debug, Clone)]
pub struct DemoSettings {
    /// The server's data dir (`lethe-data`).
    pub data_dir: PathBuf,
    /// Seed of data, weights and data order.
    pub seed: u64,
    /// Authors in the generated data.
    pub authors: usize,
    /// Questions per author.
    pub questions: usize,
    /// Fine-tuning epochs.
    pub epochs: f64,
    /// Peak learning rate of fine-tuning.
    pub lr: f64,
    /// The unlearning learning rate recorded as the model's recommendation.
    pub unlearn_lr: f64,
    /// Splits that get a retain model and reference.
    pub splits: Vec<String>,
    /// Compute device.
    pub device: engine::DeviceSpec,
    /// Train on this TOFU directory (real TOFU) instead of the generated data.
    pub tofu_dir: Option<PathBuf>,
    /// The model id (the directory under `<data_dir>/models`).
    pub name: String,
}

/// The tiny Llama: 4 layers of width 128, grouped-query attention, tied embeddings.
pub fn demo_config(vocab_size: usize) -> serde_json::Value {
    serde_json::json!({
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": 128,
        "intermediate_size": 384,
        "num_hidden_layers": 4,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "head_dim": 32,
        "hidden_act": "silu",
        "vocab_size": vocab_size,
        "max_position_embeddings": 256,
        "rms_norm_eps": 1e-6,
        "rope_theta": 10000.0,
        "tie_word_embeddings": true,
        "attention_bias": false,
        "mlp_bias": false,
        "initializer_range": 0.02,
        "bos_token_id": 1,
        "eos_token_id": 2,
        "pad_token_id": 2,
        "dtype": "float32"
    })
}

/// The generated default data under `data_dir`, written on first use (atomically).
pub fn ensure_default_data(data_dir: &Path, seed: u64) -> anyhow::Result<PathBuf> {
    let dir = data_dir.join(DEFAULT_DATA);
    if dir.join("full.jsonl").is_file() {
        return Ok(dir);
    }
    let staging = data_dir.join(format!(".{DEFAULT_DATA}.partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    let splits = generate::generate(&GenerateConfig {
        seed,
        ..GenerateConfig::default()
    })?;
    generate::write(&splits, &staging)?;
    std::fs::rename(&staging, &dir)
        .with_context(|| format!("moving the generated data to {}", dir.display()))?;
    Ok(dir)
}

fn concat(dir: &Path, splits: &[&str], out: &Path) -> anyhow::Result<()> {
    let mut text = String::new();
    for split in splits {
        let path = dir.join(format!("{split}.jsonl"));
        text.push_str(
            &std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?,
        );
    }
    std::fs::write(out, text).with_context(|| format!("writing {}", out.display()))
}

fn train_args(settings: &DemoSettings, out: PathBuf) -> TrainArgs {
    TrainArgs {
        lr: Some(settings.lr),
        batch_size: Some(16),
        grad_accum: Some(1),
        epochs: Some(settings.epochs),
        warmup_epochs: Some(1.0),
        seed: Some(settings.seed),
        out,
        ..TrainArgs::default()
    }
}

/// Builds the demo model into `<data_dir>/models/demo` (replacing it), printing progress lines.
pub fn build(settings: &DemoSettings, w: &mut impl Write) -> anyhow::Result<PathBuf> {
    let data_dir = &settings.data_dir;
    let data = if let Some(dir) = &settings.tofu_dir {
        dir.clone()
    } else if settings.authors == GenerateConfig::default().authors
        && settings.questions == GenerateConfig::default().questions
    {
        ensure_default_data(data_dir, settings.seed)?
    } else {
        let dir = data_dir.join(format!(
            "{DEFAULT_DATA}-{}x{}",
            settings.authors, settings.questions
        ));
        let splits = generate::generate(&GenerateConfig {
            seed: settings.seed,
            authors: settings.authors,
            questions: settings.questions,
        })?;
        generate::write(&splits, &dir)?;
        dir
    };
    let data = data
        .canonicalize()
        .context("resolving the data directory")?;
    let work = data_dir.join(format!("{}-build", settings.name));
    std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;

    // A closed vocabulary: every word of every split, plus the prompt template's.
    let mut texts = vec!["Question: Answer:".to_string()];
    for split in generate::SPLITS {
        let rows = engine::data::tofu::TofuSource::Dir(data.clone()).read(split)?;
        for row in rows {
            texts.push(row.question);
            texts.push(row.answer);
            texts.extend(row.paraphrased_answer);
            texts.extend(row.paraphrased_question);
            texts.extend(row.perturbed_answer);
        }
    }
    let tokenizer = Tokenizer::word_level(texts.iter().map(String::as_str))?;
    let init = work.join("init");
    engine::llama::init::write_random_checkpoint(
        &demo_config(tokenizer.vocab_size()),
        &tokenizer,
        settings.seed,
        &init,
    )?;
    writeln!(
        w,
        "tokenizer: {} words; random init in {}",
        tokenizer.vocab_size(),
        init.display()
    )?;

    let finetune = |name: &str, splits: &[&str]| -> anyhow::Result<PathBuf> {
        let rows = work.join(format!("{name}.jsonl"));
        concat(&data, splits, &rows)?;
        let out = work.join(name);
        crate::cli::finetune::run(&FinetuneArgs {
            model: init.to_string_lossy().into_owned(),
            data: rows,
            template: TemplateChoice::Plain,
            device: settings.device.into(),
            train: train_args(settings, out.clone()),
        })
        .with_context(|| format!("fine-tuning the {name} model"))?;
        Ok(out.join("checkpoint"))
    };
    let knowledge = ["real_authors_perturbed", "world_facts_perturbed"];
    let target = finetune("target", &["full", knowledge[0], knowledge[1]])?;
    writeln!(w, "target model: {}", target.display())?;

    let models = data_dir.join("models");
    let model_dir = models.join(&settings.name);
    let staging = models.join(format!(".{}.partial-{}", settings.name, std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&models).with_context(|| format!("creating {}", models.display()))?;
    copy_dir(&target, &staging)?;
    let mut retain_refs = std::collections::BTreeMap::new();
    for split in &settings.splits {
        let preset = engine::data::tofu::SplitPreset::parse(split)?;
        let retain = finetune(
            &preset.retain(),
            &[preset.retain().as_str(), knowledge[0], knowledge[1]],
        )?;
        let eval_out = work.join(format!("{}-eval", preset.retain()));
        crate::runner::evaluate(
            &EvalJob {
                model: retain.to_string_lossy().into_owned(),
                data: TofuSource::Dir(data.clone()),
                split: Split::parse(&preset.forget()).context("a forget split")?,
                template: PromptFormat::Plain,
                dtype: Dtype::F32,
                eval: EvalSpec {
                    max_new_tokens: 64,
                    ..EvalSpec::default()
                },
                retain_ref: None,
                gibberish_model: None,
            },
            &eval_out,
            settings.device,
            &mut |_| {},
            &AtomicBool::new(false),
        )
        .with_context(|| format!("evaluating the {} model", preset.retain()))?;
        let relative = PathBuf::from("retain_refs")
            .join(preset.forget())
            .join("TOFU_EVAL.json");
        let destination = staging.join(&relative);
        if let Some(parent) = destination.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::copy(eval_out.join("TOFU_EVAL.json"), &destination)
            .with_context(|| format!("copying the {} reference", preset.forget()))?;
        retain_refs.insert(preset.forget(), relative);
        writeln!(
            w,
            "retain reference for {}: {}",
            preset.forget(),
            destination.display()
        )?;
    }
    let manifest = DemoManifest {
        data_digest: Some(data_digest(&data)?),
        data,
        seed: settings.seed,
        epochs: settings.epochs,
        recommended_lr: settings.unlearn_lr,
        retain_refs,
    };
    std::fs::write(
        staging.join(MANIFEST),
        serde_json::to_string_pretty(&manifest)?,
    )?;
    if model_dir.exists() {
        std::fs::remove_dir_all(&model_dir)
            .with_context(|| format!("replacing {}", model_dir.display()))?;
    }
    std::fs::rename(&staging, &model_dir)
        .with_context(|| format!("moving the demo model to {}", model_dir.display()))?;
    writeln!(w, "demo model: {}", model_dir.display())?;
    Ok(model_dir)
}

fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let path = entry?.path();
        if path.is_file() {
            let name = path.file_name().context("a file name")?;
            std::fs::copy(&path, to.join(name))
                .with_context(|| format!("copying {}", path.display()))?;
        }
    }
    Ok(())
}
