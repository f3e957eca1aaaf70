//! The "LoRA" fieldset: train low-rank adapters on the projections instead of every weight
//! (`trainer.lora`); the frozen base is the reference and the adapters are also saved for peft.

use leptos::prelude::*;
use shared::run::{LoraSpec, RunSpec};

use super::fields::{COUNT, Form, NUMBER, TEXT, checkbox_field, input};

fn edit(spec: &mut RunSpec, change: impl FnOnce(&mut LoraSpec)) {
    if let Some(lora) = &mut spec.trainer.lora {
        change(lora);
    }
}

/// The fieldset; rank, alpha and targets show once LoRA is on.
#[component]
pub(super) fn LoraFields(form: Form) -> impl IntoView {
    let on = Memo::new(move |_| form.spec.with(|s| s.trainer.lora.is_some()));
    view! {
        <fieldset>
            <legend>"LoRA"</legend>
            {checkbox_field(form, "Train LoRA adapters only (the frozen base is the reference)", "trainer.lora",
                |s| s.trainer.lora.is_some(),
                |s, on| s.trainer.lora = on.then(LoraSpec::default))}
            <Show when=move || on.get()>
                {input(form, COUNT, "Rank", "trainer.lora.rank", "of each adapter",
                    |s| s.trainer.lora.as_ref().map_or(0, |l| l.rank as u64),
                    |s, v| edit(s, |l| l.rank = usize::try_from(v).unwrap_or(usize::MAX)))}
                {input(form, NUMBER, "Alpha", "trainer.lora.alpha", "the update is alpha / rank · B A",
                    |s| s.trainer.lora.as_ref().map_or(f64::NAN, |l| l.alpha),
                    |s, v| edit(s, |l| l.alpha = v))}
                {input(form, TEXT, "Targets", "trainer.lora.targets", "comma-separated projections",
                    |s| s.trainer.lora.as_ref().map(|l| l.targets.join(", ")).unwrap_or_default(),
                    |s, v| edit(s, |l| l.targets = v.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_string).collect()))}
            </Show>
        </fieldset>
    }
}
