//! `/runs/{id}`: a run, live while it runs and its result when done.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::api::source::RunSource;
use crate::components::run_view::RunView;

/// The run page; a malformed id is answered in place.
#[component]
pub fn RunPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").and_then(|id| id.parse::<i64>().ok()));
    view! {
        {move || match id() {
            Some(id) => view! { <RunView source=RunSource::Run(id)/> }.into_any(),
            None => view! {
                <p class="error" role="alert" data-testid="run-id-error">"Run ids are numbers, as in /runs/12."</p>
            }
            .into_any(),
        }}
    }
}
