//! `/compare`: runs side by side.

use leptos::prelude::*;

/// The compare page.
#[component]
pub fn ComparePage() -> impl IntoView {
    view! {
        <section data-testid="page-compare">
            <h1>"Compare"</h1>
            <p class="muted">
                "Forget quality against model utility for the runs you pick, objective by model."
            </p>
        </section>
    }
}
