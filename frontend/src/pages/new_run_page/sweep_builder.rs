//! The sweep builder of the new-run form: which axes vary (models, methods, wrappers, splits,
//! learning rates, seeds) and how many runs that makes.

use leptos::prelude::*;
use shared::run::{Method, ModelEntry, Split};

use super::fields::{FieldMessages, Form};
use crate::form::{self, SweepForm, WRAPPER_KINDS};

/// The sweep builder: which axes vary, and how many runs that makes.
#[component]
pub(super) fn SweepBuilder(form: Form, models: RwSignal<Vec<ModelEntry>>) -> impl IntoView {
    let sweep = form.sweep;
    let edit = move |change: &dyn Fn(&mut SweepForm)| {
        sweep.update(|s| {
            if let Some(s) = s {
                change(s);
            }
        });
        form.server.set(Vec::new());
    };
    let checkboxes = move |test_prefix: &'static str,
                           items: Vec<(String, String)>,
                           is_on: fn(&SweepForm, &str) -> bool,
                           set: fn(&mut SweepForm, &str, bool)| {
        items
            .into_iter()
            .map(|(value, label)| {
                let v = value.clone();
                let v2 = value.clone();
                view! {
                    <label class="check">
                        <input type="checkbox" data-testid=format!("{test_prefix}-{value}")
                            prop:checked=move || sweep.with(|s| s.as_ref().is_some_and(|s| is_on(s, &v)))
                            on:change=move |ev| { let on = event_target_checked(&ev); edit(&|s| set(s, &v2, on)); }/>
                        " " {label}
                    </label>
                }
            })
            .collect_view()
    };
    view! {
        <fieldset data-testid="sweep-builder">
            <legend>
                <label>
                    <input type="checkbox" data-testid="sweep-toggle"
                        prop:checked=move || sweep.with(Option::is_some)
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            sweep.set(on.then(SweepForm::default));
                        }/>
                    " Sweep: vary some settings over a grid"
                </label>
            </legend>
            <Show when=move || sweep.with(Option::is_some)>
                <div class="field">
                    <label for="sweep-name">"Sweep name"</label>
                    <input id="sweep-name" data-testid="sweep-name" type="text"
                        prop:value=move || sweep.with(|s| s.as_ref().map(|s| s.name.clone()).unwrap_or_default())
                        on:input=move |ev| { let v = event_target_value(&ev); edit(&|s| s.name = v.clone()); }/>
                    <FieldMessages form=form field="name".to_string()/>
                </div>
                <div class="field"><span class="label">"Models"</span>
                    {move || checkboxes("sweep-model", models.get().iter().map(|m| (m.id.clone(), m.id.clone())).collect(),
                        |s, v| s.models.iter().any(|m| m == v),
                        |s, v, on| s.models = form::toggle(&s.models, &v.to_string(), on))}
                </div>
                <div class="field"><span class="label">"Methods"</span>
                    {checkboxes("sweep-method", Method::ALL.iter().map(|m| (m.as_str().to_string(), m.label().to_string())).collect(),
                        |s, v| s.methods.iter().any(|m| m.as_str() == v),
                        |s, v, on| if let Some(m) = Method::parse(v) { s.methods = form::toggle(&s.methods, &m, on) })}
                </div>
                <div class="field"><span class="label">"BalDRO"</span>
                    {checkboxes("sweep-wrapper", WRAPPER_KINDS.iter().map(|k| (k.to_string(), match *k { "dv" => "BalDRO-DV", "g" => "BalDRO-G", _ => "plain" }.to_string())).collect(),
                        |s, v| s.wrappers.contains(&v),
                        |s, v, on| if let Some(k) = WRAPPER_KINDS.iter().find(|k| **k == v) { s.wrappers = form::toggle(&s.wrappers, k, on) })}
                </div>
                <div class="field"><span class="label">"Splits"</span>
                    {checkboxes("sweep-split", Split::ALL.iter().map(|s| (s.as_str().to_string(), s.as_str().to_string())).collect(),
                        |s, v| s.splits.iter().any(|x| x.as_str() == v),
                        |s, v, on| if let Some(x) = Split::ALL.into_iter().find(|x| x.as_str() == v) { s.splits = form::toggle(&s.splits, &x, on) })}
                </div>
                <div class="field">
                    <label for="sweep-lrs">"Learning rates"</label>
                    <input id="sweep-lrs" data-testid="sweep-lrs" type="text" placeholder="1e-5, 2e-5"
                        prop:value=move || sweep.with(|s| s.as_ref().map(|s| s.lrs.clone()).unwrap_or_default())
                        on:input=move |ev| { let v = event_target_value(&ev); edit(&|s| s.lrs = v.clone()); }/>
                    <FieldMessages form=form field="grid.lrs".to_string()/>
                </div>
                <div class="field">
                    <label for="sweep-seeds">"Seeds"</label>
                    <input id="sweep-seeds" data-testid="sweep-seeds" type="text" placeholder="0, 1, 2"
                        prop:value=move || sweep.with(|s| s.as_ref().map(|s| s.seeds.clone()).unwrap_or_default())
                        on:input=move |ev| { let v = event_target_value(&ev); edit(&|s| s.seeds = v.clone()); }/>
                    <FieldMessages form=form field="grid.seeds".to_string()/>
                </div>
                <p data-testid="sweep-count" aria-live="polite">
                    {move || {
                        let spec = form.spec.get();
                        match sweep.get().map(|s| s.to_spec(&spec)) {
                            Some(Ok(sweep)) => format!("This grid makes {}.", crate::format::count(sweep.count() as u64, "run")),
                            _ => "Fix the lists to see the run count.".to_string(),
                        }
                    }}
                </p>
                <FieldMessages form=form field="grid".to_string()/>
            </Show>
        </fieldset>
    }
}
