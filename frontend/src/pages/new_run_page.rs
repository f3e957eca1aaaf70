//! `/runs/new`: configure an unlearning run, or a sweep of them. Every `RunSpec` field has an
//! input; `shared`'s validation runs as the user types, the server's 422 field errors appear
//! next to the same fields, the memory plan follows the settings, and the sweep builder shows
//! how many runs its grid makes.

mod attack_fields;
mod during_fields;
mod fields;
mod lora_fields;
mod memory_plan;
mod sweep_builder;

use std::collections::BTreeMap;

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use shared::paths;
use shared::run::{
    DataSource, Direction, Dtype, Method, ModelEntry, PromptFormat, ReferenceMode, RetainLoss,
    RunSpec, Split, Wrapper,
};

use crate::api::client;
use crate::api::error::FetchError;
use crate::form::Preset;
use crate::model_choice;

use attack_fields::AttackFields;
use during_fields::DuringFields;
use fields::{
    COUNT, FieldMessages, Form, NUMBER, TEXT, checkbox_field, input, model_label, optional,
    options, retain_name, select_field,
};
use lora_fields::LoraFields;
use memory_plan::MemoryPlanLine;
use sweep_builder::SweepBuilder;

/// The new-run form.
#[component]
pub fn NewRunPage() -> impl IntoView {
    let form = Form::new(RunSpec::new("", Method::Npo));
    let models = LocalResource::new(client::list_models);
    let model_list = RwSignal::new(Vec::<ModelEntry>::new());
    // A fresh form starts on the model that brings its own retain reference (the embedded
    // default's `demo`), at the learning rate it recommends.
    Effect::new(move |_| {
        if let Some(Ok(list)) = models.get() {
            model_list.set(list.clone());
            if form.spec.with_untracked(|s| s.model.is_empty())
                && let Some(chosen) = model_choice::default_model(&list)
            {
                let (id, lr) = (chosen.id.clone(), model_choice::lr_for(&list, &chosen.id));
                form.spec.update(|s| {
                    s.model = id;
                    s.trainer.lr = lr;
                });
            }
        }
    });
    let method = Memo::new(move |_| form.spec.with(|s| s.objective.method));
    let submitting = RwSignal::new(false);
    let failure = RwSignal::new(None::<String>);
    let navigate = use_navigate();

    let apply_preset = move |preset: Preset| {
        let model = form.spec.with_untracked(|s| s.model.clone());
        let recommended =
            model_list.with_untracked(|list| model_choice::recommended_lr(list, &model));
        let (spec, sweep) = preset.apply(&model, recommended);
        form.unparsed.set(BTreeMap::new());
        form.server.set(Vec::new());
        form.spec.set(spec);
        form.sweep.set(sweep);
    };
    let presets = Preset::ALL
        .into_iter()
        .map(|preset| {
            view! {
                <button type="button" data-testid=preset.test_id() on:click=move |_| apply_preset(preset)>
                    {preset.label()}
                </button>
            }
        })
        .collect_view();

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if form.problems.with_untracked(|e| !e.is_empty()) || submitting.get_untracked() {
            return;
        }
        submitting.set(true);
        failure.set(None);
        let spec = form.spec.get_untracked();
        let sweep = form.sweep.get_untracked();
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            let result = match sweep.map(|s| s.to_spec(&spec)) {
                Some(Ok(sweep)) => client::create_sweep(sweep).await,
                Some(Err(errors)) => {
                    form.server.set(errors);
                    submitting.set(false);
                    return;
                }
                None => client::create_run(spec).await,
            };
            submitting.set(false);
            match result {
                Ok(created) if created.sweep_id.is_some() => {
                    navigate(&paths::page_compare(&created.ids), Default::default());
                }
                Ok(created) => {
                    if let Some(id) = created.ids.first() {
                        navigate(&paths::page_run(*id), Default::default());
                    }
                }
                Err(FetchError::Api { body, .. }) if !body.fields.is_empty() => {
                    failure.set(Some(body.message.clone()));
                    form.server.set(body.fields);
                }
                Err(error) => failure.set(Some(error.to_string())),
            }
        });
    };

    let method_options = options(
        &Method::ALL,
        |m| m.as_str().to_string(),
        |m| m.label().to_string(),
    );
    let split_options = options(
        &Split::ALL,
        |s| s.as_str().to_string(),
        |s| format!("{} (retain {})", s.as_str(), s.retain()),
    );

    view! {
        <section data-testid="page-new-run">
            <h1>"New run"</h1>
            <p class="muted">
                "Pick a model, a TOFU split, an objective (NPO, WGA, TNPO, …) with or without BalDRO, and the trainer settings. Defaults follow the spec (open-unlearning's TOFU settings)."
            </p>
            <div class="presets" role="group" aria-label="Presets">{presets}</div>
            <form class="run-form" on:submit=submit novalidate=true>
                <fieldset>
                    <legend>"Model and data"</legend>
                    <div class="field">
                        <label for="field-model">"Model"</label>
                        <select
                            id="field-model"
                            data-testid="field-model"
                            prop:value=move || form.spec.with(|s| s.model.clone())
                            on:change=move |ev| {
                                let value = event_target_value(&ev);
                                model_list.with_untracked(|list| form.edit(|s| model_choice::switch_model(s, list, &value)));
                            }
                        >
                            {move || model_list.get().iter().map(|m| {
                                let id = m.id.clone();
                                view! { <option value=m.id.clone() prop:selected=move || form.spec.with(|s| s.model == id)>{model_label(m)}</option> }
                            }).collect_view()}
                        </select>
                        <small class="muted" data-testid="model-note">
                            {move || {
                                let model = form.spec.with(|s| s.model.clone());
                                model_list.with(|list| list.iter().find(|m| m.id == model).and_then(model_choice::model_note))
                            }}
                        </small>
                        <small class="muted">
                            {move || match models.get() {
                                None => "loading the server's models…".to_string(),
                                Some(Ok(list)) if list.is_empty() => "the server has no models: start it with --model-root DIR".to_string(),
                                Some(Ok(_)) => "models on the server (--model-root and the Hugging Face cache)".to_string(),
                                Some(Err(error)) => error.to_string(),
                            }}
                        </small>
                        <FieldMessages form=form field="model".to_string()/>
                    </div>
                    {select_field(form, "Data", "data.source", vec![("default".into(), "the server's TOFU (or the hub)".into()), ("dir".into(), "a directory on the server".into())],
                        |s| match s.data.source { DataSource::Default => "default".into(), DataSource::Dir { .. } | DataSource::Files { .. } => "dir".into() },
                        |s, v| s.data.source = if v == "dir" { DataSource::Dir { path: String::new() } } else { DataSource::Default })}
                    <Show when=move || form.spec.with(|s| matches!(s.data.source, DataSource::Dir { .. }))>
                        {input(form, TEXT, "Data directory", "data.source.path", "TOFU split files (forget01.json, …) under a --data-root",
                            |s| match &s.data.source { DataSource::Dir { path } => path.clone(), DataSource::Default | DataSource::Files { .. } => String::new() },
                            |s, v| s.data.source = DataSource::Dir { path: v })}
                    </Show>
                    {select_field(form, "Forget split", "data.split", split_options.clone(), |s| s.data.split.as_str().to_string(),
                        |s, v| if let Some(split) = Split::ALL.into_iter().find(|x| x.as_str() == v) { s.data.split = split })}
                    {select_field(form, "Prompt format", "template", vec![("plain".into(), "Question: … Answer: (plain)".into()), ("chat".into(), "the model's chat template".into())],
                        |s| match s.template { PromptFormat::Plain => "plain".into(), PromptFormat::Chat => "chat".into() },
                        |s, v| s.template = if v == "chat" { PromptFormat::Chat } else { PromptFormat::Plain })}
                </fieldset>

                <fieldset>
                    <legend>"Objective"</legend>
                    {select_field(form, "Method", "objective.method", method_options.clone(), |s| s.objective.method.as_str().to_string(),
                        |s, v| if let Some(method) = Method::parse(v) {
                            s.objective.method = method;
                            s.objective.params.clear();
                        })}
                    {move || {
                        // Only a new method redraws these inputs (a redraw would steal the focus).
                        method.get().params().into_iter().map(|p| {
                            let name = p.name;
                            input(form, NUMBER, p.name, format!("objective.params.{name}"), p.help,
                                move |s| s.objective.param(name).unwrap_or(f64::NAN),
                                move |s, v| { s.objective.params.insert(name.to_string(), v); })
                        }).collect_view()
                    }}
                    {select_field(form, "Retain term", "objective.retain_loss",
                        vec![("default".into(), "the method's default".into()), ("none".into(), "none".into()), ("nll".into(), "NLL".into()), ("summed_nll".into(), "summed NLL (DrNPO)".into()), ("kl".into(), "KL to the reference".into())],
                        |s| retain_name(s.objective.retain_loss).to_string(),
                        |s, v| s.objective.retain_loss = match v { "none" => Some(RetainLoss::None), "nll" => Some(RetainLoss::Nll), "summed_nll" => Some(RetainLoss::SummedNll), "kl" => Some(RetainLoss::Kl), _ => None })}
                    {select_field(form, "BalDRO", "wrapper", vec![("none".into(), "none (plain objective)".into()), ("dv".into(), "BalDRO-DV (soft weighting)".into()), ("g".into(), "BalDRO-G (keep the hardest fraction)".into())],
                        |s| s.wrapper.as_str().to_string(),
                        |s, v| s.wrapper = match v { "dv" => Wrapper::Dv { tau: 1.0, direction: Direction::SoftMin }, "g" => Wrapper::G { ratio: 0.5 }, _ => Wrapper::None })}
                    <Show when=move || form.spec.with(|s| matches!(s.wrapper, Wrapper::Dv { .. }))>
                        {input(form, NUMBER, "τ", "wrapper.tau", "DV temperature (> 0)",
                            |s| match s.wrapper { Wrapper::Dv { tau, .. } => tau, _ => f64::NAN },
                            |s, v| if let Wrapper::Dv { tau, .. } = &mut s.wrapper { *tau = v })}
                        {select_field(form, "Direction", "wrapper.direction", vec![("soft_min".into(), "soft-min (the published code)".into()), ("soft_max".into(), "soft-max (the paper)".into())],
                            |s| match s.wrapper { Wrapper::Dv { direction: Direction::SoftMax, .. } => "soft_max".into(), _ => "soft_min".into() },
                            |s, v| if let Wrapper::Dv { direction, .. } = &mut s.wrapper { *direction = if v == "soft_max" { Direction::SoftMax } else { Direction::SoftMin } })}
                    </Show>
                    <Show when=move || form.spec.with(|s| matches!(s.wrapper, Wrapper::G { .. }))>
                        {input(form, NUMBER, "Ratio", "wrapper.ratio", "fraction of each micro-batch kept, in (0, 1]",
                            |s| match s.wrapper { Wrapper::G { ratio } => ratio, _ => f64::NAN },
                            |s, v| if let Wrapper::G { ratio } = &mut s.wrapper { *ratio = v })}
                    </Show>
                </fieldset>

                <fieldset>
                    <legend>"Trainer"</legend>
                    {input(form, NUMBER, "Learning rate", "trainer.lr", "peak lr, linear warm-up and decay", |s| s.trainer.lr, |s, v| s.trainer.lr = v)}
                    {input(form, NUMBER, "Epochs", "trainer.epochs", "passes over the forget set", |s| s.trainer.epochs, |s, v| s.trainer.epochs = v)}
                    {input(form, COUNT, "Batch size", "trainer.batch_size", "per micro-batch", |s| s.trainer.batch_size as u64, |s, v| s.trainer.batch_size = usize::try_from(v).unwrap_or(usize::MAX))}
                    {input(form, COUNT, "Gradient accumulation", "trainer.grad_accum", "micro-batches per step", |s| s.trainer.grad_accum as u64, |s, v| s.trainer.grad_accum = usize::try_from(v).unwrap_or(usize::MAX))}
                    {input(form, NUMBER, "Warm-up epochs", "trainer.warmup_epochs", "linear warm-up length", |s| s.trainer.warmup_epochs, |s, v| s.trainer.warmup_epochs = v)}
                    {input(form, NUMBER, "Weight decay", "trainer.weight_decay", "AdamW", |s| s.trainer.weight_decay, |s, v| s.trainer.weight_decay = v)}
                    {input(form, COUNT, "Seed", "trainer.seed", "data order and pairing", |s| s.trainer.seed, |s, v| s.trainer.seed = v)}
                    {select_field(form, "Precision", "trainer.dtype", vec![("f32".into(), "f32".into()), ("bf16".into(), "bf16 (trains on CUDA only)".into()), ("f16".into(), "f16 (trains on CUDA only)".into())],
                        |s| match s.trainer.dtype { Dtype::F32 => "f32".into(), Dtype::Bf16 => "bf16".into(), Dtype::F16 => "f16".into() },
                        |s, v| s.trainer.dtype = match v { "bf16" => Dtype::Bf16, "f16" => Dtype::F16, _ => Dtype::F32 })}
                    {select_field(form, "Reference", "trainer.reference_mode",
                        ReferenceMode::ALL.iter().map(|m| (m.as_str().to_string(), match m { ReferenceMode::Live => "live model".to_string(), ReferenceMode::Cached => "cached (frees the model)".to_string() })).collect(),
                        |s| s.trainer.reference_mode.as_str().to_string(),
                        |s, v| s.trainer.reference_mode = ReferenceMode::parse(v).unwrap_or_default())}
                    {checkbox_field(form, "Gradient checkpointing", "trainer.gradient_checkpointing", |s| s.trainer.gradient_checkpointing, |s, on| s.trainer.gradient_checkpointing = on)}
                    {checkbox_field(form, "Optimizer state in host memory (offload)", "trainer.optimizer_offload", |s| s.trainer.optimizer_offload, |s, on| s.trainer.optimizer_offload = on)}
                    <MemoryPlanLine form=form/>
                </fieldset>

                <fieldset>
                    <legend>"Evaluation"</legend>
                    {checkbox_field(form, "Evaluate on TOFU after training", "eval.enabled", |s| s.eval.enabled, |s, on| s.eval.enabled = on)}
                    {input(form, COUNT, "Eval batch size", "eval.batch_size", "rows per forward pass", |s| s.eval.batch_size as u64, |s, v| s.eval.batch_size = usize::try_from(v).unwrap_or(usize::MAX))}
                    {input(form, COUNT, "Max new tokens", "eval.max_new_tokens", "greedy generation length", |s| s.eval.max_new_tokens as u64, |s, v| s.eval.max_new_tokens = usize::try_from(v).unwrap_or(usize::MAX))}
                    {input(form, TEXT, "Retain reference", "eval.retain_ref", "a retain model's TOFU_EVAL.json on the server, for forget quality",
                        |s| s.eval.retain_ref.clone().unwrap_or_default(), |s, v| s.eval.retain_ref = optional(v))}
                </fieldset>

                <LoraFields form=form/>

                <DuringFields form=form/>

                <AttackFields form=form/>

                <fieldset>
                    <legend>"Label"</legend>
                    {input(form, TEXT, "Name", "name", "optional; defaults to <method>-<split>", |s| s.name.clone().unwrap_or_default(), |s, v| s.name = optional(v))}
                    {input(form, TEXT, "Tags", "tags", "comma-separated", |s| s.tags.join(", "),
                        |s, v| s.tags = v.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_string).collect())}
                </fieldset>

                <SweepBuilder form=form models=model_list/>

                <div class="actions">
                    <button type="submit" class="primary" data-testid="submit-run"
                        disabled=move || submitting.get() || form.problems.with(|e| !e.is_empty())>
                        {move || match form.sweep.get() {
                            Some(sweep) => {
                                let count = sweep.to_spec(&form.spec.get()).map(|s| s.count()).unwrap_or(0);
                                format!("Start sweep ({})", crate::format::count(count as u64, "run"))
                            }
                            None => "Start run".to_string(),
                        }}
                    </button>
                    <span class="muted" data-testid="form-problems">
                        {move || {
                            let n = form.problems.with(Vec::len);
                            (n > 0).then(|| crate::format::count(n as u64, "problem") + " to fix")
                        }}
                    </span>
                    <p class="error" role="alert" data-testid="submit-error" hidden=move || failure.get().is_none()>
                        {move || failure.get()}
                    </p>
                </div>
            </form>
        </section>
    }
}
