//! DPO / IdkDPO (Rafailov et al. 2023; OU `dpo.py`, spec §2.6): the "win" answer is an
//! I-don't-know reply, the "lose" answer the true one;
//! `ℓ = (2/β)·softplus(-β·(r_win - r_lose))`, `r = S_ref - S_θ`.

use super::ForgetTerm;
use super::token_loss::{TokenNll, softplus};

/// Per-sample DPO losses.
pub fn forget_term(
    lose: &TokenNll,
    lose_ref: &TokenNll,
    win: &TokenNll,
    win_ref: &TokenNll,
    beta: f64,
) -> ForgetTerm {
    let r_win = win_ref.sums() - win.sums();
    let r_lose = lose_ref.sums() - lose.sums();
    ForgetTerm::samples(softplus((r_win - r_lose).mul_scalar(-beta)).mul_scalar(2.0 / beta))
}
