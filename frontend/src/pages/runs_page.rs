//! `/`: every run on this host.

use leptos::prelude::*;

/// The runs list.
#[component]
pub fn RunsPage() -> impl IntoView {
    view! {
        <section data-testid="page-runs">
            <h1>"Runs"</h1>
            <p class="muted">
                "Every unlearning run on this host: its state, model, objective, split and TOFU metrics."
            </p>
        </section>
    }
}
