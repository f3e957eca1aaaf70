//! `/runs/new`: configure an unlearning run, or a sweep of them. Every `RunSpec` field has an
//! input; `shared`'s validation runs as the user types, the server's 422 field errors appear
//! next to the same fields, and the sweep builder shows how many runs its grid makes.

use std::collections::BTreeMap;
use std::sync::Arc;

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use shared::error::FieldError;
use shared::paths;
use shared::run::{
    DataSource, Direction, Dtype, Method, ModelEntry, PromptFormat, RetainLoss, RunSpec, Split,
    Wrapper,
};

use crate::api::client;
use crate::api::error::FetchError;
use crate::form::{self, Preset, SweepForm, WRAPPER_KINDS};

/// The form's shared state, handed to every field.
#[derive(Clone, Copy)]
struct Form {
    spec: RwSignal<RunSpec>,
    /// Text that did not parse, by field path.
    unparsed: RwSignal<BTreeMap<String, String>>,
    /// The server's last 422, cleared on the next edit.
    server: RwSignal<Vec<FieldError>>,
    sweep: RwSignal<Option<SweepForm>>,
    /// Every current problem, computed once per change: every field's message, the submit
    /// button and the problem count read it (a sweep validates each of its runs).
    problems: Memo<Vec<FieldError>>,
}

impl Form {
    /// An empty form on `spec`.
    fn new(spec: RunSpec) -> Self {
        let spec = RwSignal::new(spec);
        let unparsed = RwSignal::new(BTreeMap::<String, String>::new());
        let server = RwSignal::new(Vec::<FieldError>::new());
        let sweep = RwSignal::new(None::<SweepForm>);
        // Parse errors, then `shared` validation, then the server's.
        let problems = Memo::new(move |_| {
            let mut errors: Vec<FieldError> = unparsed.with(|u| {
                u.iter()
                    .map(|(field, message)| FieldError {
                        field: field.clone(),
                        message: message.clone(),
                    })
                    .collect()
            });
            spec.with(|spec| match sweep.get() {
                Some(sweep) => match sweep.to_spec(spec) {
                    Ok(sweep) => errors.extend(sweep.validate()),
                    Err(list_errors) => errors.extend(list_errors),
                },
                None => errors.extend(spec.validate()),
            });
            errors.extend(server.get());
            errors
        });
        Self {
            spec,
            unparsed,
            server,
            sweep,
            problems,
        }
    }

    fn edit(&self, change: impl FnOnce(&mut RunSpec)) {
        self.spec.update(change);
        self.server.set(Vec::new());
    }
}

/// The messages under one field.
#[component]
fn FieldMessages(form: Form, field: String) -> impl IntoView {
    let test_id = format!("error-{field}");
    let messages = Memo::new(move |_| {
        form.problems
            .with(|errors| form::messages_for(errors, &field).join("; "))
    });
    view! {
        <p class="field-error" role="alert" data-testid=test_id hidden=move || messages.with(String::is_empty)>
            {messages}
        </p>
    }
}

type Getter<T> = Arc<dyn Fn(&RunSpec) -> T + Send + Sync>;
type Setter<T> = Arc<dyn Fn(&mut RunSpec, T) + Send + Sync>;
type StrSetter = Arc<dyn Fn(&mut RunSpec, &str) + Send + Sync>;

/// A text input that parses into one spec field: the typed text stays while it does not parse,
/// and its message shows under the field. One non-generic body for every such field keeps the
/// wasm bundle small.
/// How one kind of text input reads and writes its value.
struct Kind<T> {
    /// The `inputmode` phones pick a keyboard by.
    inputmode: &'static str,
    parse: fn(&str) -> Result<T, String>,
    show: fn(&T) -> String,
}

/// A number (`1e-5`).
const NUMBER: Kind<f64> = Kind {
    inputmode: "decimal",
    parse: form::parse_number,
    show: show_number,
};
/// A whole number.
const COUNT: Kind<u64> = Kind {
    inputmode: "numeric",
    parse: form::parse_count,
    show: show_count,
};
/// Free text (optional fields map empty text to `None`).
const TEXT: Kind<String> = Kind {
    inputmode: "text",
    parse: parse_text,
    show: String::clone,
};

fn show_number(value: &f64) -> String {
    form::show_number(*value)
}

fn show_count(value: &u64) -> String {
    value.to_string()
}

#[expect(
    clippy::unnecessary_wraps,
    reason = "the shape every Kind's parser has"
)]
fn parse_text(text: &str) -> Result<String, String> {
    Ok(text.to_string())
}

/// A text input bound to one spec field.
fn input<T: 'static>(
    form: Form,
    kind: Kind<T>,
    label: &'static str,
    field: impl Into<String>,
    help: &'static str,
    get: impl Fn(&RunSpec) -> T + Send + Sync + 'static,
    set: impl Fn(&mut RunSpec, T) + Send + Sync + 'static,
) -> AnyView {
    parsed_input(
        form,
        kind,
        label,
        field.into(),
        help,
        Arc::new(get),
        Arc::new(set),
    )
}

/// The one body of every text input: the typed text stays while it does not parse (its
/// message shows under the field), and one non-generic view keeps the wasm bundle small.
fn parsed_input<T: 'static>(
    form: Form,
    kind: Kind<T>,
    label: &'static str,
    key: String,
    help: &'static str,
    get: Getter<T>,
    set: Setter<T>,
) -> AnyView {
    let Kind {
        inputmode,
        parse,
        show,
    } = kind;
    let id = format!("field-{key}");
    let input_key = key.clone();
    let effect_key = key.clone();
    // The typed text is the input's own state: re-rendering it from the spec would turn
    // `0.000` into `0` mid-typing. It follows the spec only when the spec's value changes to
    // something the text does not already say (a preset, a method change).
    let text = RwSignal::new(form.spec.with_untracked(|s| show(&get(s))));
    let spec_value = {
        let get = Arc::clone(&get);
        move || form.spec.with(|s| show(&get(s)))
    };
    Effect::new(move |previous: Option<String>| {
        let shown = spec_value();
        let typed = text.with_untracked(|t| parse(t).ok().map(|v| show(&v)));
        if previous.is_some_and(|p| p != shown) && typed.as_ref() != Some(&shown) {
            text.set(shown.clone());
            form.unparsed.update(|u| {
                u.remove(&effect_key);
            });
        }
        shown
    });
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <input
                id=id.clone()
                data-testid=id
                type="text"
                inputmode=inputmode
                title=help
                prop:value=move || text.get()
                on:input=move |ev| {
                    let typed = event_target_value(&ev);
                    let parsed = parse(&typed);
                    text.set(typed);
                    match parsed {
                        Ok(value) => {
                            form.unparsed.update(|u| { u.remove(&input_key); });
                            form.edit(|s| set(s, value));
                        }
                        Err(message) => {
                            form.unparsed.update(|u| { u.insert(input_key.clone(), message); });
                        }
                    }
                }
            />
            <small class="muted">{help}</small>
            <FieldMessages form=form field=key/>
        </div>
    }
    .into_any()
}

/// A `<select>` over `options` (`(wire value, label)`) bound to one spec field.
fn select_field(
    form: Form,
    label: &'static str,
    field: impl Into<String>,
    options: Vec<(String, String)>,
    get: impl Fn(&RunSpec) -> String + Send + Sync + 'static,
    set: impl Fn(&mut RunSpec, &str) + Send + Sync + 'static,
) -> AnyView {
    select_input(
        form,
        label,
        field.into(),
        options,
        Arc::new(get),
        Arc::new(set),
    )
}

fn select_input(
    form: Form,
    label: &'static str,
    field: String,
    options: Vec<(String, String)>,
    get: Getter<String>,
    set: StrSetter,
) -> AnyView {
    let id = format!("field-{field}");
    let options = options
        .into_iter()
        .map(|(value, text)| view! { <option value=value>{text}</option> })
        .collect_view();
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <select
                id=id.clone()
                data-testid=id
                prop:value=move || form.spec.with(|s| get(s))
                on:change=move |ev| {
                    let value = event_target_value(&ev);
                    form.edit(|s| set(s, &value));
                }
            >
                {options}
            </select>
            <FieldMessages form=form field=field/>
        </div>
    }
    .into_any()
}

fn optional(text: String) -> Option<String> {
    (!text.trim().is_empty()).then_some(text)
}

fn options<T: Copy>(
    values: &[T],
    wire: impl Fn(T) -> String,
    text: impl Fn(T) -> String,
) -> Vec<(String, String)> {
    values.iter().map(|v| (wire(*v), text(*v))).collect()
}

fn retain_name(retain: Option<RetainLoss>) -> &'static str {
    match retain {
        None => "default",
        Some(RetainLoss::None) => "none",
        Some(RetainLoss::Nll) => "nll",
        Some(RetainLoss::SummedNll) => "summed_nll",
        Some(RetainLoss::Kl) => "kl",
    }
}

fn model_label(model: &ModelEntry) -> String {
    let size = model
        .parameters
        .map(|p| format!(", {:.1}M parameters", p as f64 / 1e6))
        .unwrap_or_default();
    format!("{} ({}{size})", model.id, model.family)
}

/// The new-run form.
#[component]
pub fn NewRunPage() -> impl IntoView {
    let form = Form::new(RunSpec::new("", Method::Npo));
    let models = LocalResource::new(client::list_models);
    let model_list = RwSignal::new(Vec::<ModelEntry>::new());
    Effect::new(move |_| {
        if let Some(Ok(list)) = models.get() {
            if form.spec.with_untracked(|s| s.model.is_empty())
                && let Some(first) = list.first()
            {
                let id = first.id.clone();
                form.spec.update(|s| s.model = id);
            }
            model_list.set(list);
        }
    });
    let method = Memo::new(move |_| form.spec.with(|s| s.objective.method));
    let submitting = RwSignal::new(false);
    let failure = RwSignal::new(None::<String>);
    let navigate = use_navigate();

    let apply_preset = move |preset: Preset| {
        let model = form.spec.with_untracked(|s| s.model.clone());
        let (spec, sweep) = preset.apply(&model);
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
                                form.edit(|s| s.model = value);
                            }
                        >
                            {move || model_list.get().iter().map(|m| view! { <option value=m.id.clone()>{model_label(m)}</option> }).collect_view()}
                        </select>
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
                        |s| match s.data.source { DataSource::Default => "default".into(), DataSource::Dir { .. } => "dir".into() },
                        |s, v| s.data.source = if v == "dir" { DataSource::Dir { path: String::new() } } else { DataSource::Default })}
                    <Show when=move || form.spec.with(|s| matches!(s.data.source, DataSource::Dir { .. }))>
                        {input(form, TEXT, "Data directory", "data.source.path", "TOFU split files (forget01.json, …) under a --data-root",
                            |s| match &s.data.source { DataSource::Dir { path } => path.clone(), DataSource::Default => String::new() },
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
                    {select_field(form, "Precision", "trainer.dtype", vec![("f32".into(), "f32".into()), ("bf16".into(), "bf16".into()), ("f16".into(), "f16".into())],
                        |s| match s.trainer.dtype { Dtype::F32 => "f32".into(), Dtype::Bf16 => "bf16".into(), Dtype::F16 => "f16".into() },
                        |s, v| s.trainer.dtype = match v { "bf16" => Dtype::Bf16, "f16" => Dtype::F16, _ => Dtype::F32 })}
                    <div class="field checkbox">
                        <label>
                            <input type="checkbox" data-testid="field-trainer.gradient_checkpointing"
                                prop:checked=move || form.spec.with(|s| s.trainer.gradient_checkpointing)
                                on:change=move |ev| { let on = event_target_checked(&ev); form.edit(|s| s.trainer.gradient_checkpointing = on); }/>
                            " Gradient checkpointing"
                        </label>
                    </div>
                </fieldset>

                <fieldset>
                    <legend>"Evaluation"</legend>
                    <div class="field checkbox">
                        <label>
                            <input type="checkbox" data-testid="field-eval.enabled"
                                prop:checked=move || form.spec.with(|s| s.eval.enabled)
                                on:change=move |ev| { let on = event_target_checked(&ev); form.edit(|s| s.eval.enabled = on); }/>
                            " Evaluate on TOFU after training"
                        </label>
                    </div>
                    {input(form, COUNT, "Eval batch size", "eval.batch_size", "rows per forward pass", |s| s.eval.batch_size as u64, |s, v| s.eval.batch_size = usize::try_from(v).unwrap_or(usize::MAX))}
                    {input(form, COUNT, "Max new tokens", "eval.max_new_tokens", "greedy generation length", |s| s.eval.max_new_tokens as u64, |s, v| s.eval.max_new_tokens = usize::try_from(v).unwrap_or(usize::MAX))}
                    {input(form, TEXT, "Retain reference", "eval.retain_ref", "a retain model's TOFU_EVAL.json on the server, for forget quality",
                        |s| s.eval.retain_ref.clone().unwrap_or_default(), |s, v| s.eval.retain_ref = optional(v))}
                </fieldset>

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

/// The sweep builder: which axes vary, and how many runs that makes.
#[component]
fn SweepBuilder(form: Form, models: RwSignal<Vec<ModelEntry>>) -> impl IntoView {
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
