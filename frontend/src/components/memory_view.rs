//! A run's memory: the peak its plan predicted (`plan.json`, written before training) against
//! the peak measured while it trained, and the plan's largest parts.

use leptos::prelude::*;
use shared::plan::{PlanReport, human_bytes};

/// The plan's parts shown, largest first.
const PARTS_SHOWN: usize = 4;

/// The planned and measured peak of a run.
#[component]
pub fn MemoryView(plan: PlanReport) -> impl IntoView {
    let s = &plan.settings;
    let place = if s.devices > 1 {
        format!("each of {} × {}", s.devices, s.device)
    } else {
        s.device.clone()
    };
    let planned = format!("{} on {place}", human_bytes(plan.peak_bytes));
    let (measured, ratio) = match plan.measured_peak_bytes {
        Some(peak) if peak > 0 => {
            #[expect(clippy::cast_precision_loss, reason = "a ratio for people")]
            let ratio = plan.peak_bytes as f64 / peak as f64;
            (human_bytes(peak), format!("{ratio:.2}"))
        }
        _ => ("not measured".to_string(), "–".to_string()),
    };
    let mut parts: Vec<(String, u64)> = plan
        .parts
        .device
        .iter()
        .filter(|(_, bytes)| **bytes > 0)
        .map(|(name, bytes)| (name.replace('_', " "), *bytes))
        .collect();
    parts.sort_by_key(|part| std::cmp::Reverse(part.1));
    let parts = parts
        .into_iter()
        .take(PARTS_SHOWN)
        .map(|(name, bytes)| format!("{name} {}", human_bytes(bytes)))
        .collect::<Vec<_>>()
        .join(", ");
    view! {
        <h3>"Memory"</h3>
        <table class="metrics" data-testid="memory-plan">
            <tbody>
                <tr><th scope="row">"planned peak"</th><td data-testid="memory-planned">{planned}</td></tr>
                <tr><th scope="row">"measured peak"</th><td data-testid="memory-measured">{measured}</td></tr>
                <tr><th scope="row">"plan / measured"</th><td class="num" data-testid="memory-ratio">{ratio}</td></tr>
                <tr><th scope="row">"largest parts"</th><td>{parts}</td></tr>
            </tbody>
        </table>
    }
}
