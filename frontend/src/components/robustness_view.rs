//! The result page's *Robustness* section: for each attack on the unlearned model (relearning,
//! quantized weights), the forget probability and ROUGE of the target, the unlearned and the
//! attacked model, and the share of what unlearning removed that came back.

use leptos::prelude::*;
use shared::run::{AttackReport, AttackSpec};

use crate::format;

fn percent(share: f64) -> String {
    if share.is_finite() {
        // `+ 0.0` turns a rounded -0 into 0.
        format!("{:.0}%", (share * 100.0).round() + 0.0)
    } else {
        "–".into()
    }
}

/// One row per attack.
#[component]
pub fn RobustnessView(reports: Vec<AttackReport>) -> impl IntoView {
    let rows = reports
        .into_iter()
        .map(|r| {
            let name = r.attack.dir_name();
            let settings = match r.attack {
                AttackSpec::Relearn { steps, lr, fraction } => format!(
                    "{steps} steps at lr {}, on {} of the forget items",
                    format::metric(Some(lr)),
                    percent(fraction)
                ),
                AttackSpec::Quantize { bits } => format!("llama.cpp Q{bits}_0 blocks"),
            };
            let held_out = r.held_out.map(|[before, after]| {
                format!(
                    "held-out items: {} → {}",
                    format::metric(Some(before.prob)),
                    format::metric(Some(after.prob))
                )
            });
            view! {
                <tr data-testid=format!("attack-{name}")>
                    <th scope="row">{r.attack.label()}<br/><span class="muted">{settings}</span></th>
                    <td class="num">{format::metric(Some(r.target.prob))}</td>
                    <td class="num">{format::metric(Some(r.unlearned.prob))}</td>
                    <td class="num">{format::metric(Some(r.attacked.prob))}
                        {held_out.map(|h| view! { <br/><span class="muted">{h}</span> })}</td>
                    <td class="num" data-testid=format!("attack-{name}-recovered")>{percent(r.recovered.prob)}</td>
                    <td class="num">{percent(r.recovered.rouge)}</td>
                    <td class="num">{format!("{:.1} s", r.seconds)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <h3>"Robustness"</h3>
        <p class="muted">
            "Does the forgotten knowledge come back? Forget probability of the target (before unlearning), the unlearned model and the attacked one; "
            "recovered = (attacked − unlearned) ÷ (target − unlearned)."
        </p>
        <div class="scroll">
            <table class="metrics" data-testid="robustness">
                <thead><tr>
                    <th scope="col">"Attack"</th><th scope="col">"Target"</th><th scope="col">"Unlearned"</th>
                    <th scope="col">"Attacked"</th><th scope="col">"Probability recovered"</th>
                    <th scope="col">"ROUGE recovered"</th><th scope="col">"Time"</th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}
