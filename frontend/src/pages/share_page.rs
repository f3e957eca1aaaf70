//! `/s/{slug}`: a run's result, read-only, for anyone with the link (no token).

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::api::source::RunSource;
use crate::components::run_view::RunView;

/// The shared result page.
#[component]
pub fn SharePage() -> impl IntoView {
    let params = use_params_map();
    let slug = move || params.with(|p| p.get("slug").unwrap_or_default());
    view! {
        <div data-testid="page-share">
            <p class="muted">"A shared Lethe result (read-only)."</p>
            {move || view! { <RunView source=RunSource::Share(slug())/> }}
        </div>
    }
}
