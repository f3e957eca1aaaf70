//! WGA, weighted gradient ascent (Wang et al. 2025, <https://arxiv.org/abs/2502.19301>; OU
//! `wga.py` + `compute_wga_loss`, spec §2.7): per token `-sg(p^β)·c`, token mean over the batch.

use super::ForgetTerm;
use super::token_loss::TokenNll;

/// Per-token WGA losses.
pub fn forget_term(forget: &TokenNll, beta: f64) -> ForgetTerm {
    let weight = forget.nll.clone().detach().mul_scalar(-beta).exp();
    ForgetTerm::tokens((weight * forget.nll.clone()).neg(), forget)
}
