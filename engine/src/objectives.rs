//! Unlearning objectives (spec §2) and the BalDRO wrappers over them (spec §3), one method per
//! file like open-unlearning's `trainer/unlearn/*.py`. Each method turns token NLLs of the policy
//! (and of the frozen reference where it needs one) into a [`ForgetTerm`]: the unreduced losses in
//! the method's natural unit (sample or token). [`compute`] then reduces them (mean, BalDRO-DV or
//! BalDRO-G), adds the retain term and reports the diagnostics.
//!
//! `L = γ·L_forget + α·L_retain` throughout (OU calls γ `gamma`, α `alpha`).

pub mod baldro;
pub mod batch;
pub mod dpo;
pub mod grad_ascent;
pub mod npo;
pub mod satimp;
pub mod simnpo;
pub mod tnpo;
pub mod tnpo_fork;
pub mod token_loss;
pub mod wga;

use burn::tensor::Tensor;

pub use baldro::{Direction, Wrapper};
pub use batch::{
    CachedStats, Frozen, HostNll, ObjectiveBatch, Rows, forward_stats, frozen_stats, micro_batch,
    micro_batch_with, rows, token_nll_of,
};
pub use token_loss::TokenNll;

use crate::EngineError;
use crate::llama::LlamaForCausalLM;

/// What one unreduced forget loss is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// One value per forget sequence (NPO, SimNPO, DPO, fork TNPO).
    Sample,
    /// One value per answer token of the micro-batch (GA, WGA, TNPO, SatImp).
    Token,
}

/// Unreduced forget losses: `values[i]` counts where `mask[i] = 1`.
#[derive(Debug, Clone)]
pub struct ForgetTerm {
    /// `[rows * width]`, row-major.
    pub values: Tensor<1>,
    /// 1 on valid units.
    pub mask: Tensor<1>,
    /// Rows (forget samples).
    pub rows: usize,
    /// Units per row (1 for samples, `seq - 1` for tokens).
    pub width: usize,
    /// Valid units.
    pub count: usize,
    /// Sample or token.
    pub unit: Unit,
}

impl ForgetTerm {
    /// One loss per sample, `[batch]`.
    pub fn samples(values: Tensor<1>) -> Self {
        let rows = values.dims()[0];
        let mask = Tensor::ones([rows], &values.device());
        Self {
            values,
            mask,
            rows,
            width: 1,
            count: rows,
            unit: Unit::Sample,
        }
    }

    /// One loss per answer token, `[batch, seq - 1]`, zero off the answer.
    pub fn tokens(values: Tensor<2>, like: &TokenNll) -> Self {
        let [rows, width] = values.dims();
        Self {
            values: values.reshape([rows * width]),
            mask: like.mask.clone().reshape([rows * width]),
            rows,
            width,
            count: like.total_tokens(),
            unit: Unit::Token,
        }
    }

    /// The base method's own reduction: mean over samples, or over every answer token of the batch.
    pub fn mean(&self) -> Tensor<1> {
        #[expect(clippy::cast_precision_loss, reason = "unit counts are small")]
        let count = self.count.max(1) as f64;
        (self.values.clone() * self.mask.clone())
            .sum()
            .div_scalar(count)
    }

    /// Per-sample view of the losses: the value itself, or the mean over the row's answer tokens.
    pub fn per_sample(&self) -> Vec<f64> {
        let values = token_loss::host(self.values.clone() * self.mask.clone());
        let mask = token_loss::host(self.mask.clone());
        values
            .chunks(self.width)
            .zip(mask.chunks(self.width))
            .map(|(v, m)| v.iter().sum::<f64>() / m.iter().sum::<f64>().max(1.0))
            .collect()
    }

    /// Sums unit values (`[count]`, valid units in row-major order, as [`baldro::dv`] returns
    /// its weights) per row: one value per forget sample.
    pub fn per_row(&self, unit_values: &[f64]) -> Vec<f64> {
        let mask = token_loss::host(self.mask.clone());
        let mut values = unit_values.iter();
        mask.chunks(self.width.max(1))
            .map(|row| {
                row.iter()
                    .filter(|valid| **valid > 0.5)
                    .filter_map(|_| values.next())
                    .sum()
            })
            .collect()
    }
}

/// The forget objective, with its hyperparameters under their spec names.
#[derive(Debug, Clone, PartialEq)]
pub enum Method {
    /// `-T(F)` (§2.2).
    GradAscent,
    /// `-T(F)` plus a retain term (§2.3).
    GradDiff,
    /// §2.4.
    Npo {
        /// Inverse temperature (0.1).
        beta: f64,
    },
    /// §2.5.
    SimNpo {
        /// Inverse temperature (4.5).
        beta: f64,
        /// Margin inside the β scaling (0).
        delta: f64,
    },
    /// §2.7.
    Wga {
        /// Weight exponent (1).
        beta: f64,
    },
    /// Official G-effect TNPO (§2.8).
    Tnpo {
        /// Weight exponent (4).
        beta: f64,
    },
    /// The BalDRO fork's TNPO (§2.8 FORK).
    TnpoFork {
        /// Weight exponent (0.1).
        beta: f64,
    },
    /// §2.9.
    SatImp {
        /// Exponent of `p` (5).
        beta1: f64,
        /// Exponent of `1 - p` (1).
        beta2: f64,
    },
    /// DPO against I-don't-know answers (§2.6).
    IdkDpo {
        /// Inverse temperature (0.1).
        beta: f64,
    },
}

impl Method {
    /// Whether the frozen reference model's token NLLs are needed.
    pub fn needs_reference(&self) -> bool {
        matches!(
            self,
            Self::Npo { .. } | Self::Tnpo { .. } | Self::TnpoFork { .. } | Self::IdkDpo { .. }
        )
    }

    /// The unreduced forget losses of `forget` (and the reference/win batches it needs).
    pub fn forget_term(&self, batch: &ObjectiveBatch) -> Result<ForgetTerm, EngineError> {
        let reference = || {
            batch
                .forget_ref
                .as_ref()
                .ok_or_else(|| EngineError::InvalidConfig {
                    field: "reference".into(),
                    reason: "this objective needs the frozen reference model".into(),
                })
        };
        let forget = &batch.forget;
        Ok(match *self {
            Self::GradAscent | Self::GradDiff => grad_ascent::forget_term(forget),
            Self::Npo { beta } => npo::forget_term(forget, reference()?, beta),
            Self::SimNpo { beta, delta } => simnpo::forget_term(forget, beta, delta),
            Self::Wga { beta } => wga::forget_term(forget, beta),
            Self::Tnpo { beta } => tnpo::forget_term(forget, reference()?, beta),
            Self::TnpoFork { beta } => tnpo_fork::forget_term(forget, reference()?, beta),
            Self::SatImp { beta1, beta2 } => satimp::forget_term(forget, beta1, beta2),
            Self::IdkDpo { beta } => {
                let missing = || EngineError::InvalidConfig {
                    field: "idk".into(),
                    reason: "idk_dpo needs the I-don't-know answers of the forget questions".into(),
                };
                let win = batch.win.as_ref().ok_or_else(missing)?;
                let win_ref = batch.win_ref.as_ref().ok_or_else(missing)?;
                dpo::forget_term(forget, reference()?, win, win_ref, beta)
            }
        })
    }
}

/// The retain term.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetainLoss {
    /// No retain term (GradAscent, G-effect TNPO/WGA without `_kl`).
    None,
    /// `T_θ(R)`, token-mean NLL (OU default).
    Nll,
    /// `mean_x S_θ(x)`: BalDRO's DrNPO/DrSatImp/DrTNPO quirk (summed NLL per sequence, averaged).
    SummedNll,
    /// `KL(p_ref ‖ p_θ)` summed over the vocabulary and averaged over every position of the
    /// padded retain batch, prompt and padding included (OU `compute_kl_divergence`, "batchmean").
    Kl,
}

/// A whole objective: method, weights, retain term, wrapper.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectiveConfig {
    /// The forget loss.
    pub method: Method,
    /// Forget weight γ.
    pub gamma: f64,
    /// Retain weight α.
    pub alpha: f64,
    /// Retain term.
    pub retain: RetainLoss,
    /// BalDRO wrapper.
    pub wrapper: Wrapper,
}

impl ObjectiveConfig {
    /// Whether the frozen reference model must run: for the method's forget term, or for a KL
    /// retain term.
    pub fn needs_reference(&self) -> bool {
        self.method.needs_reference() || self.retain == RetainLoss::Kl
    }
}

/// The loss and what a researcher wants to see about it.
#[derive(Debug, Clone)]
pub struct ObjectiveOutput {
    /// The scalar to differentiate, `[1]`.
    pub loss: Tensor<1>,
    /// γ·L_forget + α·L_retain as a number.
    pub loss_value: f64,
    /// L_forget (after the wrapper).
    pub forget_loss: f64,
    /// L_retain, if there is a retain term.
    pub retain_loss: Option<f64>,
    /// Unreduced forget losses per sample (token units: the row's mean).
    pub per_sample: Vec<f64>,
    /// BalDRO-DV weights over the units (sum to 1).
    pub weights: Vec<f64>,
    /// BalDRO-DV weights summed per forget row, aligned with `per_sample` (empty without DV).
    pub sample_weights: Vec<f64>,
    /// BalDRO-G: the kept forget rows.
    pub selected: Vec<usize>,
    /// BalDRO-G: the retain rows kept with them.
    pub retain_selected: Vec<usize>,
    /// The method's unit.
    pub unit: Unit,
}

fn scalar(x: &Tensor<1>) -> f64 {
    token_loss::host(x.clone())[0]
}

/// Evaluates `config` on one micro-batch. `seed` draws BalDRO-G's retain rows; pass the rows
/// themselves in `retain_rows` to reproduce another run's draw.
pub fn compute(
    config: &ObjectiveConfig,
    batch: &ObjectiveBatch,
    seed: u64,
    retain_rows: Option<&[usize]>,
) -> Result<ObjectiveOutput, EngineError> {
    let (batch, selected, retain_selected) = match config.wrapper {
        Wrapper::Group { ratio } => {
            let (sub, selected, retain_rows) =
                baldro::group_select(batch, ratio, seed, retain_rows);
            (sub, selected, retain_rows)
        }
        _ => (batch.clone(), Vec::new(), Vec::new()),
    };
    let term = config.method.forget_term(&batch)?;
    let per_sample = term.per_sample();
    let (forget, weights) = match config.wrapper {
        Wrapper::Dv { tau, direction } => {
            let (value, weights) = baldro::dv(&term, tau, direction);
            (value, weights)
        }
        Wrapper::None | Wrapper::Group { .. } => (term.mean(), Vec::new()),
    };
    let sample_weights = if weights.is_empty() {
        Vec::new()
    } else {
        term.per_row(&weights)
    };
    let retain = match config.retain {
        RetainLoss::None => None,
        RetainLoss::Nll => Some(batch.retain.token_mean()),
        RetainLoss::SummedNll => Some(batch.retain.sums().mean()),
        RetainLoss::Kl => {
            let (policy, reference) =
                batch
                    .retain_logits
                    .as_ref()
                    .ok_or_else(|| EngineError::InvalidConfig {
                        field: "retain_loss_type".into(),
                        reason: "KL needs the retain logits of the policy and the frozen reference"
                            .into(),
                    })?;
            Some(kl_batchmean(policy.clone(), reference.clone()))
        }
    };
    let forget_loss = scalar(&forget);
    let retain_loss = retain.as_ref().map(scalar);
    let mut loss = forget.mul_scalar(config.gamma);
    if let Some(retain) = retain {
        loss = loss + retain.mul_scalar(config.alpha);
    }
    let loss_value = scalar(&loss);
    if !loss_value.is_finite() {
        return Err(EngineError::NonFinite {
            what: "objective loss".into(),
            value: loss_value,
        });
    }
    Ok(ObjectiveOutput {
        loss,
        loss_value,
        forget_loss,
        retain_loss,
        per_sample,
        weights,
        sample_weights,
        selected,
        retain_selected,
        unit: term.unit,
    })
}

/// `Σ_v p_ref·(log p_ref - log p_θ)` summed over positions and divided by `batch·seq`, `[1]`.
pub fn kl_batchmean(policy_logits: Tensor<3>, reference_logits: Tensor<3>) -> Tensor<1> {
    use burn::tensor::activation::log_softmax;
    let [batch, seq, _] = policy_logits.dims();
    let log_p = log_softmax(policy_logits, 2);
    let log_ref = log_softmax(reference_logits.detach(), 2);
    #[expect(clippy::cast_precision_loss, reason = "batch sizes are small")]
    let rows = (batch * seq) as f64;
    (log_ref.clone().exp() * (log_ref - log_p))
        .sum()
        .div_scalar(rows)
}

/// Global L2 norm of the gradients of every parameter of `model` (tied weights once), as HF's
/// `clip_grad_norm_` computes it.
pub fn grad_norm(model: &LlamaForCausalLM, grads: &burn::tensor::Gradients) -> f64 {
    use burn::module::Module as _;
    struct SquareSum<'a> {
        grads: &'a burn::tensor::Gradients,
        sum: f64,
    }
    impl burn::module::ModuleVisitor for SquareSum<'_> {
        fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
            if let Some(grad) = param.val().grad(self.grads) {
                self.sum += f64::from(grad.square().sum().into_scalar::<f32>());
            }
        }
    }
    let mut visitor = SquareSum { grads, sum: 0.0 };
    model.visit(&mut visitor);
    visitor.sum.sqrt()
}

/// A constant `[n]` tensor.
#[cfg(test)]
pub(crate) fn constant(values: Vec<f32>, device: &burn::tensor::Device) -> Tensor<1> {
    let len = values.len();
    Tensor::from_data(burn::tensor::TensorData::new(values, [len]), device)
}
