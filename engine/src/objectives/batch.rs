//! One micro-batch's token statistics: the policy's (tracked) on the forget, retain and
//! I-don't-know rows, and the frozen reference's where the objective needs them, either computed
//! live by the reference model or taken from a cache computed before training.

use burn::tensor::{Tensor, TensorData};

use super::{ObjectiveConfig, RetainLoss, TokenNll};
use crate::EngineError;
use crate::llama::LlamaForCausalLM;
use crate::llama::batch::{Padding, TokenBatch};
use crate::llama::score::token_nll;

/// Token ids and OU labels (`-100` off the answer) of the rows of one micro-batch.
pub type Rows = (Vec<Vec<u32>>, Vec<Vec<i64>>);

/// The [`Rows`] of tokenised examples.
pub fn rows<'a>(examples: impl IntoIterator<Item = &'a crate::data::Encoded>) -> Rows {
    examples
        .into_iter()
        .map(|e| (e.input_ids.clone(), e.labels.clone()))
        .unzip()
}

/// Where the frozen reference's statistics of a micro-batch come from.
#[derive(Debug, Clone, Copy)]
pub enum Frozen<'a> {
    /// No reference model: only objectives that need none can run.
    Absent,
    /// The reference model itself, run on every micro-batch (on its plain device).
    Live(&'a LlamaForCausalLM),
    /// Its token NLLs of this micro-batch's forget and I-don't-know rows, computed before
    /// training (see `train::reference_cache`).
    Cached(&'a CachedStats),
}

impl<'a> From<Option<&'a LlamaForCausalLM>> for Frozen<'a> {
    fn from(reference: Option<&'a LlamaForCausalLM>) -> Self {
        reference.map_or(Self::Absent, Self::Live)
    }
}

/// A reference's token NLLs of some rows, held in host memory.
#[derive(Debug, Clone)]
pub struct HostNll {
    nll: TensorData,
    mask: TensorData,
    counts: Vec<usize>,
}

impl HostNll {
    /// NLLs `[batch, seq - 1]`, their answer mask of the same shape, and `n(x)` per row.
    pub fn new(nll: TensorData, mask: TensorData, counts: Vec<usize>) -> Self {
        Self { nll, mask, counts }
    }

    /// Copies `nll` to host memory.
    pub fn of(nll: &TokenNll) -> Self {
        Self {
            nll: nll.nll.clone().into_data(),
            mask: nll.mask.clone().into_data(),
            counts: nll.counts.clone(),
        }
    }

    /// The NLLs as constants on `device`.
    pub fn on(&self, device: &burn::tensor::Device) -> TokenNll {
        TokenNll {
            nll: Tensor::from_data(self.nll.clone(), device),
            mask: Tensor::from_data(self.mask.clone(), device),
            counts: self.counts.clone(),
        }
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.nll.as_bytes().len() + self.mask.as_bytes().len()
    }
}

/// The reference's statistics of one micro-batch, as the methods that compare with it read them.
#[derive(Debug, Clone)]
pub struct CachedStats {
    /// On the forget rows.
    pub forget: HostNll,
    /// On the I-don't-know rows (IdkDPO).
    pub win: Option<HostNll>,
}

/// Runs the policy (tracked) on one micro-batch and the frozen reference only where `config`
/// needs it: on the forget and I-don't-know rows for the methods that compare with it, on the
/// retain rows for a KL retain term.
pub fn micro_batch(
    config: &ObjectiveConfig,
    policy: &LlamaForCausalLM,
    reference: Option<&LlamaForCausalLM>,
    forget: &Rows,
    retain: &Rows,
    win: Option<&Rows>,
    pad_id: u32,
) -> Result<ObjectiveBatch, EngineError> {
    micro_batch_with(
        config,
        policy,
        reference.into(),
        forget,
        retain,
        win,
        pad_id,
    )
}

/// [`micro_batch`] with the reference's statistics from `frozen`: the model itself, or a cache
/// (which serves the methods' forget and I-don't-know terms, not a KL retain term, which needs
/// the reference's whole distribution).
pub fn micro_batch_with(
    config: &ObjectiveConfig,
    policy: &LlamaForCausalLM,
    frozen: Frozen<'_>,
    forget: &Rows,
    retain: &Rows,
    win: Option<&Rows>,
    pad_id: u32,
) -> Result<ObjectiveBatch, EngineError> {
    let live = match frozen {
        Frozen::Live(model) => Some(model),
        Frozen::Absent | Frozen::Cached(_) => None,
    };
    if config.needs_reference() {
        match frozen {
            Frozen::Absent => {
                return Err(EngineError::InvalidConfig {
                    field: "reference".into(),
                    reason: "this objective needs the frozen reference model".into(),
                });
            }
            Frozen::Cached(_) if config.retain == RetainLoss::Kl => {
                return Err(EngineError::InvalidConfig {
                    field: "reference_mode".into(),
                    reason: "a KL retain term needs the reference's whole distribution, which \
                             the cache does not hold: use the live reference"
                        .into(),
                });
            }
            Frozen::Live(_) | Frozen::Cached(_) => {}
        }
    }
    let device = policy.output_device();
    let frozen_nll =
        |rows: &Rows| live.map(|r| token_nll_of(r, &rows.0, &rows.1, pad_id).detached_on(&device));
    let uses_reference = config.method.needs_reference();
    let (retain_nll, retain_logits) = if config.retain == RetainLoss::Kl {
        let (nll, logits) = forward_stats(policy, &retain.0, &retain.1, pad_id);
        let reference = live.map(|r| frozen_stats(r, &retain.0, &retain.1, pad_id, &device).1);
        (nll, reference.map(|reference| (logits, reference)))
    } else {
        (token_nll_of(policy, &retain.0, &retain.1, pad_id), None)
    };
    let forget_nll = token_nll_of(policy, &forget.0, &forget.1, pad_id);
    let (forget_ref, win_ref) = match frozen {
        _ if !uses_reference => (None, None),
        Frozen::Cached(stats) => (
            Some(stats.forget.on(&device)),
            stats.win.as_ref().map(|win| win.on(&device)),
        ),
        Frozen::Live(_) | Frozen::Absent => (frozen_nll(forget), win.and_then(frozen_nll)),
    };
    Ok(ObjectiveBatch {
        forget: forget_nll,
        forget_ref,
        retain: retain_nll,
        win: win.map(|rows| token_nll_of(policy, &rows.0, &rows.1, pad_id)),
        win_ref,
        retain_logits,
    })
}

/// Token NLLs of one micro-batch.
#[derive(Debug, Clone)]
pub struct ObjectiveBatch {
    /// Policy on the forget rows (tracked).
    pub forget: TokenNll,
    /// Frozen reference on the forget rows (constants).
    pub forget_ref: Option<TokenNll>,
    /// Policy on the retain rows (tracked).
    pub retain: TokenNll,
    /// Policy on the I-don't-know answers of the forget questions (IdkDPO).
    pub win: Option<TokenNll>,
    /// Reference on the I-don't-know answers.
    pub win_ref: Option<TokenNll>,
    /// Retain logits of the policy (tracked) and the reference (constant), `[batch, seq, vocab]`,
    /// for [`RetainLoss::Kl`].
    pub retain_logits: Option<(Tensor<3>, Tensor<3>)>,
}

/// Token NLLs of `model` on right-padded rows with OU-style labels (`-100` off the answer). Only
/// the positions that predict a target are projected onto the vocabulary
/// ([`LlamaForCausalLM::target_nll`]).
pub fn token_nll_of(
    model: &LlamaForCausalLM,
    input_ids: &[Vec<u32>],
    labels: &[Vec<i64>],
    pad_id: u32,
) -> TokenNll {
    let batch = TokenBatch::padded(input_ids, pad_id, Padding::Right);
    let (nll, mask) = model.target_nll(model.forward_hidden_real(&batch), labels);
    TokenNll {
        nll,
        mask,
        counts: target_counts(labels),
    }
}

/// `n(x)` of each row: its labels other than `-100`, the first position excluded.
fn target_counts(labels: &[Vec<i64>]) -> Vec<usize> {
    labels
        .iter()
        .map(|row| {
            row.iter()
                .skip(1)
                .filter(|label| **label != crate::data::IGNORE_INDEX)
                .count()
        })
        .collect()
}

/// [`token_nll_of`] plus the logits of every position (for KL terms, which read the whole
/// distribution, padding included).
pub fn forward_stats(
    model: &LlamaForCausalLM,
    input_ids: &[Vec<u32>],
    labels: &[Vec<i64>],
    pad_id: u32,
) -> (TokenNll, Tensor<3>) {
    let batch = TokenBatch::padded(input_ids, pad_id, Padding::Right);
    let logits = model.forward(&batch, None);
    let (nll, mask) = token_nll(logits.clone(), labels);
    let counts = target_counts(labels);
    (TokenNll { nll, mask, counts }, logits)
}

/// [`forward_stats`] of a frozen model, returned as constants on `device` (the policy's autodiff
/// device), so the reference never records a graph.
pub fn frozen_stats(
    model: &LlamaForCausalLM,
    input_ids: &[Vec<u32>],
    labels: &[Vec<i64>],
    pad_id: u32,
    device: &burn::tensor::Device,
) -> (TokenNll, Tensor<3>) {
    let (nll, logits) = forward_stats(model, input_ids, labels, pad_id);
    (
        nll.detached_on(device),
        Tensor::from_data(logits.into_data(), device),
    )
}
