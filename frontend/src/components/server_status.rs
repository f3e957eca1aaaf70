//! The status line: which server build answers, and what it computes on.

use leptos::prelude::*;

use crate::api::client;

/// Fetches `GET /api/health` once and shows version, commit, device, backend, adapter and the
/// precisions runs train in there.
#[component]
pub fn ServerStatus() -> impl IntoView {
    let health = LocalResource::new(client::get_health);
    view! {
        <div class="server-status" data-testid="server-status">
            <Suspense fallback=|| view! { <span class="muted">"Connecting to the server…"</span> }>
                {move || Suspend::new(async move {
                    match health.await {
                        Ok(health) => view! {
                            <span data-testid="server-version">"Lethe " {health.version}</span>
                            <span class="muted" data-testid="server-commit">{health.git_commit}</span>
                            <span data-testid="server-device">
                                {health.backend.device} " (" {health.backend.backend} ")"
                            </span>
                            <span class="muted" data-testid="server-adapter">{health.backend.adapter}</span>
                            <span class="muted" data-testid="server-precisions"
                                title="weight precisions runs may train in on this device (half precision trains on CUDA only)">
                                "trains in " {health.backend.precisions.join(", ")}
                            </span>
                        }
                        .into_any(),
                        Err(error) => view! {
                            <span class="error" role="alert" data-testid="server-error">
                                {error.to_string()}
                            </span>
                        }
                        .into_any(),
                    }
                })}
            </Suspense>
        </div>
    }
}
