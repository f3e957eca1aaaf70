//! SatImp (Yang et al. 2025; OU `satimp.py` + `compute_satimp_loss`, spec §2.9): per token
//! `-sg(p^β1·(1-p)^β2)·c`, token mean over the batch.

use super::ForgetTerm;
use super::token_loss::TokenNll;

/// Per-token SatImp losses.
pub fn forget_term(forget: &TokenNll, beta1: f64, beta2: f64) -> ForgetTerm {
    let p = forget.nll.clone().detach().neg().exp();
    let weight = p.clone().powf_scalar(beta1) * p.neg().add_scalar(1.0).powf_scalar(beta2);
    ForgetTerm::tokens((weight * forget.nll.clone()).neg(), forget)
}
