//! The new-run form's memory line: the plan of the spec being edited on the server's device
//! (`POST /api/plan`, the same plan that refuses a run that cannot fit), redrawn as the settings
//! change.

use leptos::prelude::*;
use shared::plan::{PlanReport, human_bytes};

use super::fields::Form;
use crate::api::client;

/// What the line says about `plan`, and whether it fits (`yes`, `no`, `unknown`).
fn describe(plan: &PlanReport) -> (String, &'static str) {
    let s = &plan.settings;
    let place = if s.devices > 1 {
        format!("each of {} × {}", s.devices, s.device)
    } else {
        s.device.clone()
    };
    let peak = human_bytes(plan.peak_bytes);
    match (plan.device_memory, plan.fits) {
        (Some(memory), Some(true)) => (
            format!(
                "Memory plan: peak {peak} on {place}, of {}: fits",
                human_bytes(memory)
            ),
            "yes",
        ),
        (Some(memory), _) => (
            format!(
                "Memory plan: peak {peak} on {place}, of {}: does not fit. Try gradient \
                 checkpointing, the cached reference, optimizer offload or a smaller batch.",
                human_bytes(memory)
            ),
            "no",
        ),
        (None, _) => (
            format!(
                "Memory plan: peak {peak} on {place} (the server does not know its device's \
                 memory: start it with --device-memory)"
            ),
            "unknown",
        ),
    }
}

/// The plan of `form`'s spec, once the spec is valid.
#[component]
pub(super) fn MemoryPlanLine(form: Form) -> impl IntoView {
    let spec = Memo::new(move |_| form.spec.get());
    let plan = LocalResource::new(move || {
        let spec = spec.get();
        async move {
            if spec.model.is_empty() || !spec.validate().is_empty() {
                return None;
            }
            Some(client::plan_run(spec).await)
        }
    });
    view! {
        {move || {
            let (text, fits) = match plan.get() {
                None => ("Memory plan: planning…".to_string(), "unknown"),
                Some(None) => ("Memory plan: fix the problems above first".to_string(), "unknown"),
                Some(Some(Ok(report))) => describe(&report),
                Some(Some(Err(error))) => (format!("Memory plan: {error}"), "unknown"),
            };
            let class = if fits == "no" { "memory-plan error" } else { "memory-plan muted" };
            view! { <p class=class data-testid="memory-plan-line" data-fits=fits>{text}</p> }
        }}
    }
}
