//! The new-run form's state and inputs: [`Form`] (the spec being edited, text that does not
//! parse, the server's 422, the one list of problems), and the text, number and select inputs
//! bound to spec fields, each with its messages.

use std::collections::BTreeMap;
use std::sync::Arc;

use leptos::prelude::*;
use shared::error::FieldError;
use shared::run::{ModelEntry, RetainLoss, RunSpec};

use crate::form::{self, SweepForm};

/// The form's shared state, handed to every field.
#[derive(Clone, Copy)]
pub(super) struct Form {
    pub(super) spec: RwSignal<RunSpec>,
    /// Text that did not parse, by field path.
    pub(super) unparsed: RwSignal<BTreeMap<String, String>>,
    /// The server's last 422, cleared on the next edit.
    pub(super) server: RwSignal<Vec<FieldError>>,
    pub(super) sweep: RwSignal<Option<SweepForm>>,
    /// Every current problem, computed once per change: every field's message, the submit
    /// button and the problem count read it (a sweep validates each of its runs).
    pub(super) problems: Memo<Vec<FieldError>>,
}

impl Form {
    /// An empty form on `spec`.
    pub(super) fn new(spec: RunSpec) -> Self {
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

    pub(super) fn edit(&self, change: impl FnOnce(&mut RunSpec)) {
        self.spec.update(change);
        self.server.set(Vec::new());
    }
}

/// The messages under one field.
#[component]
pub(super) fn FieldMessages(form: Form, field: String) -> impl IntoView {
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

pub(super) type Getter<T> = Arc<dyn Fn(&RunSpec) -> T + Send + Sync>;
pub(super) type Setter<T> = Arc<dyn Fn(&mut RunSpec, T) + Send + Sync>;
pub(super) type StrSetter = Arc<dyn Fn(&mut RunSpec, &str) + Send + Sync>;

/// A text input that parses into one spec field: the typed text stays while it does not parse,
/// and its message shows under the field. One non-generic body for every such field keeps the
/// wasm bundle small.
/// How one kind of text input reads and writes its value.
pub(super) struct Kind<T> {
    /// The `inputmode` phones pick a keyboard by.
    inputmode: &'static str,
    parse: fn(&str) -> Result<T, String>,
    show: fn(&T) -> String,
}

/// A number (`1e-5`).
pub(super) const NUMBER: Kind<f64> = Kind {
    inputmode: "decimal",
    parse: form::parse_number,
    show: show_number,
};
/// A whole number.
pub(super) const COUNT: Kind<u64> = Kind {
    inputmode: "numeric",
    parse: form::parse_count,
    show: show_count,
};
/// Free text (optional fields map empty text to `None`).
pub(super) const TEXT: Kind<String> = Kind {
    inputmode: "text",
    parse: parse_text,
    show: String::clone,
};

/// A number that may be left empty (`None`).
pub(super) const OPTIONAL_NUMBER: Kind<Option<f64>> = Kind {
    inputmode: "decimal",
    parse: |text| match text.trim() {
        "" => Ok(None),
        text => form::parse_number(text).map(Some),
    },
    show: |value| value.map(form::show_number).unwrap_or_default(),
};
/// A whole number that may be left empty (`None`).
pub(super) const OPTIONAL_COUNT: Kind<Option<u64>> = Kind {
    inputmode: "numeric",
    parse: |text| match text.trim() {
        "" => Ok(None),
        text => form::parse_count(text).map(Some),
    },
    show: |value| value.map(|v| v.to_string()).unwrap_or_default(),
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
pub(super) fn input<T: 'static>(
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
pub(super) fn parsed_input<T: 'static>(
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

/// A checkbox bound to one boolean spec field (`field` names its test id).
pub(super) fn checkbox_field(
    form: Form,
    label: &'static str,
    field: &'static str,
    get: impl Fn(&RunSpec) -> bool + Send + Sync + 'static,
    set: impl Fn(&mut RunSpec, bool) + Send + Sync + 'static,
) -> AnyView {
    view! {
        <div class="field checkbox">
            <label>
                <input type="checkbox" data-testid=format!("field-{field}")
                    prop:checked=move || form.spec.with(&get)
                    on:change=move |ev| { let on = event_target_checked(&ev); form.edit(|s| set(s, on)); }/>
                " " {label}
            </label>
        </div>
    }
    .into_any()
}

/// A `<select>` over `options` (`(wire value, label)`) bound to one spec field.
pub(super) fn select_field(
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

pub(super) fn select_input(
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

pub(super) fn optional(text: String) -> Option<String> {
    (!text.trim().is_empty()).then_some(text)
}

pub(super) fn options<T: Copy>(
    values: &[T],
    wire: impl Fn(T) -> String,
    text: impl Fn(T) -> String,
) -> Vec<(String, String)> {
    values.iter().map(|v| (wire(*v), text(*v))).collect()
}

pub(super) fn retain_name(retain: Option<RetainLoss>) -> &'static str {
    match retain {
        None => "default",
        Some(RetainLoss::None) => "none",
        Some(RetainLoss::Nll) => "nll",
        Some(RetainLoss::SummedNll) => "summed_nll",
        Some(RetainLoss::Kl) => "kl",
    }
}

pub(super) fn model_label(model: &ModelEntry) -> String {
    let size = model
        .parameters
        .map(|p| format!(", {:.1}M parameters", p as f64 / 1e6))
        .unwrap_or_default();
    format!("{} ({}{size})", model.id, model.family)
}
