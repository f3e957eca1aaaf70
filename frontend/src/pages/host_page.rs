//! `/host`: the host's device pool, each device's memory and the runs on it now, refreshed
//! every two seconds while the page is open.

use leptos::prelude::*;
use shared::health::DeviceSlot;
use shared::paths;
use shared::plan::human_bytes;

use crate::api::client;
use crate::refresh::refresh_tick;

/// How often the pool refreshes.
const REFRESH_MS: u64 = 2000;

/// The Host view.
#[component]
pub fn HostPage() -> impl IntoView {
    let tick = refresh_tick(std::time::Duration::from_millis(REFRESH_MS));
    let health = LocalResource::new(move || {
        tick.get();
        client::get_health()
    });
    view! {
        <section data-testid="page-host">
            <h1>"Host"</h1>
            <Transition fallback=|| view! { <p class="muted">"Loading the devices…"</p> }>
                {move || Suspend::new(async move {
                    match health.await {
                        Ok(health) if health.executor != "local" => view! {
                            <p class="muted" data-testid="host-summary">
                                {format!(
                                    "Runs go to a {} cluster as jobs, which its scheduler places; \
                                     each run's page names its job.",
                                    if health.executor == "slurm" { "SLURM" } else { health.executor.as_str() }
                                )}
                            </p>
                        }
                        .into_any(),
                        Ok(health) => {
                            let busy = health.devices.iter().filter(|d| !d.runs.is_empty()).count();
                            let summary = format!(
                                "{} of {} devices busy · {} ({})",
                                busy,
                                health.devices.len(),
                                health.backend.adapter,
                                health.backend.backend
                            );
                            let rows = health.devices.into_iter().map(device_row).collect_view();
                            view! {
                                <p class="muted" data-testid="host-summary">{summary}</p>
                                <table class="runs-table" data-testid="host-devices">
                                    <thead><tr><th>"Device"</th><th>"Memory"</th><th>"Runs"</th></tr></thead>
                                    <tbody>{rows}</tbody>
                                </table>
                            }
                            .into_any()
                        }
                        Err(error) => view! {
                            <p class="error" role="alert" data-testid="host-error">{error.to_string()}</p>
                        }
                        .into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// One device: its name, memory, and links to the runs it holds (or `idle`).
fn device_row(slot: DeviceSlot) -> impl IntoView {
    let memory = slot
        .memory_bytes
        .map_or_else(|| "unknown".to_string(), human_bytes);
    let runs = if slot.runs.is_empty() {
        view! { <span class="muted">"idle"</span> }.into_any()
    } else {
        slot.runs
            .into_iter()
            .map(|id| {
                view! { <a href=paths::page_run(id) data-testid="host-run">{format!("run {id}")}</a> " " }
            })
            .collect_view()
            .into_any()
    };
    view! {
        <tr data-testid="host-device">
            <td data-testid="host-device-name"><code>{slot.device}</code></td>
            <td>{memory}</td>
            <td>{runs}</td>
        </tr>
    }
}
