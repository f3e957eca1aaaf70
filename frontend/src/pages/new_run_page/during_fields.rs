//! The "While training" fieldset: the evaluation during training (`eval.during`), which
//! checkpoint the run keeps (`eval.select`) and the early-stop guards (`trainer.stop_when`).

use leptos::prelude::*;
use shared::run::{DURING_ITEMS, DuringEval, Every, RunSpec, Select, StopWhen};

use super::fields::{COUNT, Form, NUMBER, OPTIONAL_COUNT, OPTIONAL_NUMBER, input, select_field};

fn stop_when(spec: &mut RunSpec, change: impl FnOnce(&mut StopWhen)) {
    let mut stop = spec.trainer.stop_when.unwrap_or_default();
    change(&mut stop);
    spec.trainer.stop_when = stop.any().then_some(stop);
}

fn select_label(select: Select) -> &'static str {
    match select {
        Select::Last => "the last step",
        Select::BestForgetQuality => "best forget quality",
        Select::BestBalance => "best balance of forget quality and utility",
    }
}

/// The fieldset; its settings show once an interval is chosen.
#[component]
pub(super) fn DuringFields(form: Form) -> impl IntoView {
    let on = Memo::new(move |_| form.spec.with(|s| s.eval.during.is_some()));
    view! {
        <fieldset>
            <legend>"While training"</legend>
            {select_field(form, "Evaluate while training", "eval.during",
                vec![("off".into(), "off".into()), ("steps".into(), "every N steps".into()), ("epochs".into(), "every E epochs".into())],
                |s| match s.eval.during.map(|d| d.every) {
                    None => "off".into(),
                    Some(Every::Steps(_)) => "steps".into(),
                    Some(Every::Epochs(_)) => "epochs".into(),
                },
                |s, v| {
                    let items = s.eval.during.map_or(DURING_ITEMS, |d| d.items);
                    s.eval.during = match v {
                        "steps" => Some(DuringEval { every: Every::Steps(5), items }),
                        "epochs" => Some(DuringEval { every: Every::Epochs(1.0), items }),
                        _ => None,
                    };
                    if s.eval.during.is_none() {
                        s.eval.select = Select::Last;
                        s.trainer.stop_when = None;
                    }
                })}
            <Show when=move || on.get()>
                {input(form, NUMBER, "Interval", "eval.during.every", "steps or epochs between evaluations (and always step 0 and the last)",
                    |s| match s.eval.during.map(|d| d.every) {
                        #[expect(clippy::cast_precision_loss, reason = "a step count typed by a person")]
                        Some(Every::Steps(n)) => n as f64,
                        Some(Every::Epochs(e)) => e,
                        None => f64::NAN,
                    },
                    |s, v| if let Some(d) = &mut s.eval.during {
                        d.every = match d.every {
                            #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "validated as ≥ 1 below")]
                            Every::Steps(_) => Every::Steps(if v.is_finite() && v >= 0.0 { v.round() as usize } else { 0 }),
                            Every::Epochs(_) => Every::Epochs(v),
                        };
                    })}
                {input(form, COUNT, "Utility items", "eval.during.items", "rows of each utility set, evenly spaced, for model utility",
                    |s| s.eval.during.map_or(0, |d| d.items as u64),
                    |s, v| if let Some(d) = &mut s.eval.during { d.items = usize::try_from(v).unwrap_or(usize::MAX) })}
                {select_field(form, "Keep checkpoint", "eval.select",
                    Select::ALL.iter().map(|s| (s.as_str().to_string(), select_label(*s).to_string())).collect(),
                    |s| s.eval.select.as_str().to_string(),
                    |s, v| s.eval.select = Select::parse(v).unwrap_or_default())}
                {input(form, OPTIONAL_NUMBER, "Stop below utility", "trainer.stop_when.mu_below", "fraction of step 0's model utility; empty: off",
                    |s| s.trainer.stop_when.and_then(|w| w.mu_below),
                    |s, v| stop_when(s, |w| w.mu_below = v))}
                {input(form, OPTIONAL_NUMBER, "Stop below gibberish score", "trainer.stop_when.gibberish_below", "share of forget answers that read as text; empty: off",
                    |s| s.trainer.stop_when.and_then(|w| w.gibberish_below),
                    |s, v| stop_when(s, |w| w.gibberish_below = v))}
                {input(form, OPTIONAL_COUNT, "Stop if unchanged for", "trainer.stop_when.no_change_after", "steps without the forget metrics moving; empty: off",
                    |s| s.trainer.stop_when.and_then(|w| w.no_change_after).map(|n| n as u64),
                    |s, v| stop_when(s, |w| w.no_change_after = v.map(|n| usize::try_from(n).unwrap_or(usize::MAX))))}
            </Show>
        </fieldset>
    }
}
