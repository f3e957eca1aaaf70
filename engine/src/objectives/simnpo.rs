//! SimNPO (Fan et al. 2024, <https://arxiv.org/abs/2410.07163>; OU `simnpo.py`, spec §2.5):
//! `ℓ(x) = -(2/β)·logσ(β·(M_θ(x) - δ)) = (2/β)·softplus(-β·(M - δ))`; no reference model.

use super::ForgetTerm;
use super::token_loss::{TokenNll, softplus};

/// Per-sample SimNPO losses.
pub fn forget_term(forget: &TokenNll, beta: f64, delta: f64) -> ForgetTerm {
    let margin = forget.means().sub_scalar(delta).mul_scalar(-beta);
    ForgetTerm::samples(softplus(margin).mul_scalar(2.0 / beta))
}
