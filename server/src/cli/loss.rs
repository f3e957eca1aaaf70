//! `lethe loss`: one objective on one micro-batch, for researchers who want to see what an
//! objective does to given samples (and for checking Lethe against other implementations).
//! The forget and retain files form the micro-batch in file order; nothing is shuffled.

use std::collections::BTreeMap;
use std::io::Write;

use engine::objectives::{compute, grad_norm, micro_batch, rows};
use serde::Serialize;

use crate::config::LossArgs;
use crate::runner::Places;
use crate::runner::prepare::prepare;

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

/// Runs `lethe loss` and prints its JSON report.
pub fn run(args: &LossArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let spec = args.objective.spec(None, Some(&args.policy), None)?;
    let resolved = Places::default().resolve(&spec)?;
    let prepared = prepare(&spec, &resolved, &args.objective.device)?;
    let config = &prepared.config;
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
    let output = compute(config, &batch, spec.trainer.seed, None)?;
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
