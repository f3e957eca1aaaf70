//! `lethe loss`: one objective on one micro-batch, for researchers who want to see what an
//! objective does to given samples (and for checking Lethe against other implementations).
//! The forget and retain files form the micro-batch in file order; nothing is shuffled.

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::{Context as _, bail};
use engine::objectives::{
    Direction, Method, ObjectiveConfig, RetainLoss, Wrapper, compute, grad_norm, micro_batch, rows,
};
use serde::Serialize;

use crate::config::LossArgs;

/// What `lethe loss` prints.
#[derive(Debug, Serialize)]
pub struct LossReport {
    /// γ·L_forget + α·L_retain.
    pub loss: f64,
    /// The named terms.
    pub components: BTreeMap<String, f64>,
    /// Unreduced forget losses per forget row (token objectives: the row's mean).
    pub per_sample: Vec<f64>,
    /// BalDRO-DV weights over the objective's units (samples or answer tokens).
    pub weights: Vec<f64>,
    /// BalDRO-G: the forget rows kept.
    pub selected: Vec<usize>,
    /// Global L2 norm of d loss / d policy parameters.
    pub grad_norm: f64,
}

const KEYS: [&str; 11] = [
    "alpha",
    "beta",
    "beta1",
    "beta2",
    "delta",
    "direction",
    "gamma",
    "ratio",
    "retain_loss_type",
    "seed",
    "tau",
];

/// `--set KEY=VALUE` pairs, checked against the known hyperparameter names.
pub(crate) struct Settings(BTreeMap<String, String>);

impl Settings {
    pub(crate) fn parse(pairs: &[String]) -> anyhow::Result<Self> {
        let mut map = BTreeMap::new();
        for pair in pairs {
            let Some((key, value)) = pair.split_once('=') else {
                bail!("--set {pair}: expected KEY=VALUE");
            };
            if !KEYS.contains(&key) {
                bail!(
                    "--set {key}: unknown hyperparameter; known: {}",
                    KEYS.join(", ")
                );
            }
            map.insert(key.to_string(), value.to_string());
        }
        Ok(Self(map))
    }

    pub(crate) fn number(&self, key: &str, default: f64) -> anyhow::Result<f64> {
        match self.0.get(key) {
            None => Ok(default),
            Some(text) => {
                let value: f64 = text
                    .parse()
                    .with_context(|| format!("--set {key}={text}: not a number"))?;
                if value.is_finite() {
                    Ok(value)
                } else {
                    bail!("--set {key}={text}: must be finite")
                }
            }
        }
    }
}

/// Spec §2 defaults for `objective` with `wrapper`, overridden by `--set`.
pub(crate) fn objective_config(
    objective: &str,
    wrapper: &str,
    settings: &Settings,
) -> anyhow::Result<ObjectiveConfig> {
    let n = |key: &str, default: f64| settings.number(key, default);
    // (method, default γ, default α, default retain term)
    let (method, gamma, alpha, retain) = match objective {
        "grad_ascent" => (Method::GradAscent, 1.0, 0.0, RetainLoss::None),
        "grad_diff" => (Method::GradDiff, 1.0, 1.0, RetainLoss::Nll),
        "npo" => (
            Method::Npo {
                beta: n("beta", 0.1)?,
            },
            1.0,
            1.0,
            RetainLoss::Nll,
        ),
        "simnpo" => (
            Method::SimNpo {
                beta: n("beta", 4.5)?,
                delta: n("delta", 0.0)?,
            },
            0.125,
            1.0,
            RetainLoss::Nll,
        ),
        "wga" => (
            Method::Wga {
                beta: n("beta", 1.0)?,
            },
            1.0,
            1.0,
            RetainLoss::Nll,
        ),
        "tnpo" => (
            Method::Tnpo {
                beta: n("beta", 4.0)?,
            },
            1.0,
            1.0,
            RetainLoss::None,
        ),
        "tnpo_fork" => (
            Method::TnpoFork {
                beta: n("beta", 0.1)?,
            },
            1.0,
            1.0,
            RetainLoss::Nll,
        ),
        "satimp" => (
            Method::SatImp {
                beta1: n("beta1", 5.0)?,
                beta2: n("beta2", 1.0)?,
            },
            0.1,
            1.0,
            RetainLoss::Nll,
        ),
        "idk_dpo" => (
            Method::IdkDpo {
                beta: n("beta", 0.1)?,
            },
            1.0,
            1.0,
            RetainLoss::Nll,
        ),
        other => bail!(
            "--objective {other}: expected grad_ascent, grad_diff, npo, simnpo, wga, tnpo, tnpo_fork, satimp or idk_dpo"
        ),
    };
    let retain = match settings.0.get("retain_loss_type").map(String::as_str) {
        None => retain,
        Some("none") => RetainLoss::None,
        Some("nll" | "NLL") => RetainLoss::Nll,
        Some("summed_nll") => RetainLoss::SummedNll,
        Some("kl" | "KL") => RetainLoss::Kl,
        Some(other) => {
            bail!("--set retain_loss_type={other}: expected none, nll, summed_nll or kl")
        }
    };
    let wrapper = match wrapper {
        "none" => Wrapper::None,
        "dv" => {
            let tau = n("tau", 1.0)?;
            if tau <= 0.0 {
                bail!("--set tau={tau}: must be > 0");
            }
            let direction = match settings.0.get("direction").map(String::as_str) {
                None | Some("soft_min" | "softmin") => Direction::SoftMin,
                Some("soft_max" | "softmax") => Direction::SoftMax,
                Some(other) => bail!("--set direction={other}: expected soft_min or soft_max"),
            };
            Wrapper::Dv { tau, direction }
        }
        "g" => {
            let ratio = n("ratio", 0.5)?;
            if !(ratio > 0.0 && ratio <= 1.0) {
                bail!("--set ratio={ratio}: must be in (0, 1]");
            }
            Wrapper::Group { ratio }
        }
        other => bail!("--wrapper {other}: expected none, dv or g"),
    };
    Ok(ObjectiveConfig {
        method,
        gamma: n("gamma", gamma)?,
        alpha: n("alpha", alpha)?,
        retain,
        wrapper,
    })
}

/// Runs `lethe loss` and prints its JSON report.
pub fn run(args: &LossArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let prepared = args
        .objective
        .prepare(&args.policy, "--policy", super::Precision::default())?;
    let (settings, config) = (&prepared.settings, &prepared.config);
    let tokenizer = &prepared.policy.tokenizer;
    let pad = tokenizer.pad_or_eos();
    let model = &prepared.policy.model;
    let win = prepared.idk.as_deref().map(rows);
    let batch = micro_batch(
        config,
        model,
        prepared.reference.as_ref().map(|r| &r.model),
        &rows(&prepared.forget),
        &rows(&prepared.retain),
        win.as_ref(),
        pad,
    )?;
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a seed"
    )]
    let seed = settings.number("seed", 0.0)? as u64;
    let output = compute(config, &batch, seed, None)?;
    let grads = output.loss.backward();
    let mut components = BTreeMap::from([
        ("forget_loss".to_string(), output.forget_loss),
        ("gamma".to_string(), config.gamma),
        ("alpha".to_string(), config.alpha),
    ]);
    if let Some(retain) = output.retain_loss {
        components.insert("retain_loss".into(), retain);
    }
    let report = LossReport {
        loss: output.loss_value,
        components,
        per_sample: output.per_sample,
        weights: output.weights,
        selected: output.selected,
        grad_norm: grad_norm(model, &grads),
    };
    writeln!(out, "{}", serde_json::to_string(&report)?)?;
    Ok(())
}
