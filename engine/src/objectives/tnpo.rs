//! TNPO, token-wise NPO (Wang et al. 2025; G-effect `dataloader.py` loss `tnpo`, spec §2.8,
//! official form): `w = sg(2·p^β / (p^β + p_ref^β + 1e-5))`, per token `-w·c`, token mean; β = 4.

use super::ForgetTerm;
use super::token_loss::TokenNll;

/// Per-token TNPO losses (weights detached).
pub fn forget_term(forget: &TokenNll, reference: &TokenNll, beta: f64) -> ForgetTerm {
    let p_beta = forget.nll.clone().detach().mul_scalar(-beta).exp();
    let p_ref_beta = reference.nll.clone().mul_scalar(-beta).exp();
    let weight = p_beta.clone().mul_scalar(2.0) / (p_beta + p_ref_beta).add_scalar(1e-5);
    ForgetTerm::tokens((weight * forget.nll.clone()).neg(), forget)
}
