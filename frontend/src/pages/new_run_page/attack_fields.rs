//! The "Robustness attacks" fieldset: relearning (steps, learning rate, share of the forget
//! items) and quantized weights, run on the unlearned model after its evaluation (`attacks`).
//! Relearning, when on, is always the first attack, so its inputs are `attacks.0.…`.

use leptos::prelude::*;
use shared::run::{AttackSpec, RunSpec};

use super::fields::{COUNT, Form, NUMBER, checkbox_field, input};

fn relearn(spec: &RunSpec) -> Option<(usize, f64, f64)> {
    spec.attacks.iter().find_map(|a| match *a {
        AttackSpec::Relearn {
            steps,
            lr,
            fraction,
        } => Some((steps, lr, fraction)),
        AttackSpec::Quantize { .. } => None,
    })
}

fn set_relearn(spec: &mut RunSpec, change: impl FnOnce(&mut usize, &mut f64, &mut f64)) {
    if let Some(AttackSpec::Relearn {
        steps,
        lr,
        fraction,
    }) = spec.attacks.first_mut()
    {
        change(steps, lr, fraction);
    }
}

fn quantized(spec: &RunSpec, bits: u8) -> bool {
    spec.attacks.contains(&AttackSpec::Quantize { bits })
}

fn toggle_quantize(spec: &mut RunSpec, bits: u8, on: bool) {
    spec.attacks.retain(|a| *a != AttackSpec::Quantize { bits });
    if on {
        spec.attacks.push(AttackSpec::Quantize { bits });
    }
}

/// The fieldset.
#[component]
pub(super) fn AttackFields(form: Form) -> impl IntoView {
    let relearning = Memo::new(move |_| form.spec.with(|s| relearn(s).is_some()));
    view! {
        <fieldset>
            <legend>"Robustness attacks"</legend>
            {checkbox_field(form, "Relearn on part of the forget set", "attacks.relearn",
                |s| relearn(s).is_some(),
                |s, on| {
                    s.attacks.retain(|a| !matches!(a, AttackSpec::Relearn { .. }));
                    if on {
                        let lr = s.trainer.lr;
                        s.attacks.insert(0, AttackSpec::Relearn { steps: 20, lr, fraction: 0.5 });
                    }
                })}
            <Show when=move || relearning.get()>
                {input(form, COUNT, "Relearning steps", "attacks.0.steps", "optimizer steps of fine-tuning",
                    |s| relearn(s).map_or(0, |r| r.0 as u64),
                    |s, v| set_relearn(s, |steps, _, _| *steps = usize::try_from(v).unwrap_or(usize::MAX)))}
                {input(form, NUMBER, "Relearning lr", "attacks.0.lr", "constant learning rate",
                    |s| relearn(s).map_or(f64::NAN, |r| r.1),
                    |s, v| set_relearn(s, |_, lr, _| *lr = v))}
                {input(form, NUMBER, "Relearned share", "attacks.0.fraction", "of the forget items; the rest are held out",
                    |s| relearn(s).map_or(f64::NAN, |r| r.2),
                    |s, v| set_relearn(s, |_, _, fraction| *fraction = v))}
            </Show>
            {checkbox_field(form, "8-bit weights (llama.cpp Q8_0)", "attacks.quantize-8",
                |s| quantized(s, 8), |s, on| toggle_quantize(s, 8, on))}
            {checkbox_field(form, "4-bit weights (llama.cpp Q4_0)", "attacks.quantize-4",
                |s| quantized(s, 4), |s, on| toggle_quantize(s, 4, on))}
        </fieldset>
    }
}
