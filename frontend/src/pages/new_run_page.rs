//! `/runs/new`: configure an unlearning run.

use leptos::prelude::*;

/// The new-run form.
#[component]
pub fn NewRunPage() -> impl IntoView {
    view! {
        <section data-testid="page-new-run">
            <h1>"New run"</h1>
            <p class="muted">
                "Pick a model, a TOFU split, an objective (NPO, WGA, TNPO, …) with or without BalDRO, and the trainer settings."
            </p>
        </section>
    }
}
