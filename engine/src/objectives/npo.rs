//! NPO (Zhang et al. 2024, <https://arxiv.org/abs/2404.05868>; OU `npo.py` +
//! `compute_dpo_loss`, spec §2.4): `ℓ(x) = (2/β)·softplus(β·r(x))`, `r = S_ref - S_θ` on summed
//! sequence log-probs; mean over samples.

use super::ForgetTerm;
use super::token_loss::{TokenNll, softplus};

/// Per-sample NPO losses over the forget batch.
pub fn forget_term(forget: &TokenNll, reference: &TokenNll, beta: f64) -> ForgetTerm {
    let ratio = reference.sums() - forget.sums();
    ForgetTerm::samples(softplus(ratio.mul_scalar(beta)).mul_scalar(2.0 / beta))
}
