//! The one mapping from a [`RunSpec`]'s parts to the engine's own settings: typed values in,
//! typed values out, no text in between. The engine does not know `shared`; this is where the
//! two meet. Defaults are the spec's ([`shared::run::Method::params`]).

use engine::data::PromptTemplate;
use engine::llama::{LoadedModel, WeightDtype};
use engine::objectives::{self, ObjectiveConfig};
use engine::train::{AdamWConfig, TrainConfig};
use shared::run::{
    Direction, Dtype, LoraSpec, Method, PromptFormat, RetainLoss, RunSpec, TrainerSpec, Wrapper,
};

/// The engine's LoRA settings. The spec's target names (`shared::run::LORA_TARGETS`, which the
/// browser validates against) are the engine's projections (`engine::llama::PROJECTIONS`): the
/// two crates cannot share the list, so a test here keeps them equal.
pub fn lora(spec: &LoraSpec) -> engine::lora::LoraConfig {
    engine::lora::LoraConfig {
        rank: spec.rank,
        alpha: spec.alpha,
        targets: spec.targets.clone(),
    }
}

/// The engine's weight dtype.
pub fn dtype(d: Dtype) -> WeightDtype {
    match d {
        Dtype::F32 => WeightDtype::F32,
        Dtype::Bf16 => WeightDtype::Bf16,
        Dtype::F16 => WeightDtype::F16,
    }
}

/// The objective, hyperparameters, retain term and BalDRO wrapper of `spec`.
pub fn objective(spec: &RunSpec) -> ObjectiveConfig {
    let o = &spec.objective;
    // Every parameter of a method has a default, so a validated spec always has a value.
    let p = |name: &str| o.param(name).unwrap_or_default();
    let method = match o.method {
        Method::GradAscent => objectives::Method::GradAscent,
        Method::GradDiff => objectives::Method::GradDiff,
        Method::Npo => objectives::Method::Npo { beta: p("beta") },
        Method::SimNpo => objectives::Method::SimNpo {
            beta: p("beta"),
            delta: p("delta"),
        },
        Method::Wga => objectives::Method::Wga { beta: p("beta") },
        Method::Tnpo => objectives::Method::Tnpo { beta: p("beta") },
        Method::TnpoFork => objectives::Method::TnpoFork { beta: p("beta") },
        Method::SatImp => objectives::Method::SatImp {
            beta1: p("beta1"),
            beta2: p("beta2"),
        },
        Method::IdkDpo => objectives::Method::IdkDpo { beta: p("beta") },
    };
    let retain = match o.retain() {
        RetainLoss::None => objectives::RetainLoss::None,
        RetainLoss::Nll => objectives::RetainLoss::Nll,
        RetainLoss::SummedNll => objectives::RetainLoss::SummedNll,
        RetainLoss::Kl => objectives::RetainLoss::Kl,
    };
    let wrapper = match spec.wrapper {
        Wrapper::None => objectives::Wrapper::None,
        Wrapper::Dv { tau, direction } => objectives::Wrapper::Dv {
            tau,
            direction: match direction {
                Direction::SoftMin => objectives::Direction::SoftMin,
                Direction::SoftMax => objectives::Direction::SoftMax,
            },
        },
        Wrapper::G { ratio } => objectives::Wrapper::Group { ratio },
    };
    ObjectiveConfig {
        method,
        gamma: p("gamma"),
        alpha: p("alpha"),
        retain,
        wrapper,
    }
}

/// The wire name of an engine precision.
pub fn dtype_name(d: WeightDtype) -> &'static str {
    match d {
        WeightDtype::F32 => "f32",
        WeightDtype::Bf16 => "bf16",
        WeightDtype::F16 => "f16",
    }
}

/// The problem with training `t.dtype` on `device`, naming the field, or `None` when it trains
/// there.
pub fn precision_problem(t: &TrainerSpec, device: engine::DeviceSpec) -> Option<String> {
    let wanted = dtype(t.dtype);
    (!device.training_dtypes().contains(&wanted)).then(|| {
        format!(
            "{} does not train on {device}: {}",
            t.dtype.as_str(),
            device.half_precision_reason()
        )
    })
}

/// The schedule and optimizer of `t`.
pub fn train(t: &TrainerSpec) -> TrainConfig {
    TrainConfig {
        lr: t.lr,
        batch_size: t.batch_size,
        grad_accum: t.grad_accum,
        epochs: t.epochs,
        warmup_epochs: t.warmup_epochs,
        seed: t.seed,
        adamw: AdamWConfig {
            weight_decay: t.weight_decay,
            max_grad_norm: (t.max_grad_norm > 0.0).then_some(t.max_grad_norm),
            master_weights: t.master_weights,
            offload: t.optimizer_offload,
            ..AdamWConfig::default()
        },
    }
}

/// The checkpoint's precision: `save_dtype`, else the training dtype.
pub fn save_dtype(t: &TrainerSpec) -> WeightDtype {
    dtype(t.save_dtype.unwrap_or(t.dtype))
}

/// The prompt template `format` means for `loaded` (named `model` in errors).
pub fn template(
    format: PromptFormat,
    loaded: &LoadedModel,
    model: &str,
) -> anyhow::Result<PromptTemplate> {
    match format {
        PromptFormat::Plain => Ok(PromptTemplate::QuestionAnswer),
        PromptFormat::Chat => {
            PromptTemplate::chat_for(loaded.model.config.family, &loaded.tokenizer).ok_or_else(
                || {
                    anyhow::anyhow!(
                        "template: {model} has no chat template Lethe knows; use the plain \
                         template (--template plain)"
                    )
                },
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lora_targets_are_the_engine_projections() {
        assert_eq!(shared::run::LORA_TARGETS, engine::llama::PROJECTIONS);
    }

    #[test]
    fn spec_defaults_are_the_engine_objective() {
        let mut spec = RunSpec::new("m", Method::Tnpo);
        let config = objective(&spec);
        assert_eq!(config.method, objectives::Method::Tnpo { beta: 4.0 });
        assert_eq!(config.retain, objectives::RetainLoss::None);
        assert_eq!((config.gamma, config.alpha), (1.0, 1.0));
        spec.objective.method = Method::SimNpo;
        spec.objective.params.insert("delta".into(), 0.5);
        spec.objective.retain_loss = Some(RetainLoss::Kl);
        spec.wrapper = Wrapper::G { ratio: 0.25 };
        let config = objective(&spec);
        assert_eq!(
            config.method,
            objectives::Method::SimNpo {
                beta: 4.5,
                delta: 0.5
            }
        );
        assert_eq!(config.gamma, 0.125);
        assert_eq!(config.retain, objectives::RetainLoss::Kl);
        assert_eq!(config.wrapper, objectives::Wrapper::Group { ratio: 0.25 });
    }

    #[test]
    fn trainer_switches_reach_the_optimizer() {
        let mut t = TrainerSpec::default();
        let config = train(&t);
        assert_eq!(config.adamw.max_grad_norm, Some(1.0));
        assert!(config.adamw.master_weights);
        t.max_grad_norm = 0.0;
        t.master_weights = false;
        t.dtype = Dtype::Bf16;
        let config = train(&t);
        assert_eq!(config.adamw.max_grad_norm, None);
        assert!(!config.adamw.master_weights);
        assert_eq!(save_dtype(&t), WeightDtype::Bf16);
        t.save_dtype = Some(Dtype::F32);
        assert_eq!(save_dtype(&t), WeightDtype::F32);
    }
}
