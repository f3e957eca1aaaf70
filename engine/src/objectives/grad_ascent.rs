//! GradAscent (OU `grad_ascent.py`, spec §2.2): `L_forget = -T(F)`; the unit is the token
//! (`-c(t)`), which is what BalDRO-DV reweights.

use super::ForgetTerm;
use super::token_loss::TokenNll;

/// `-T(F)` and the per-token `-c(t)`.
pub fn forget_term(forget: &TokenNll) -> ForgetTerm {
    ForgetTerm::tokens(forget.nll.clone().neg(), forget)
}
