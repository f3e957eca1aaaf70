//! Any client route the app does not know.

use leptos::prelude::*;
use leptos_router::hooks::use_location;

/// "No such page", naming the path.
#[component]
pub fn NotFoundPage() -> impl IntoView {
    let location = use_location();
    view! {
        <section data-testid="page-not-found">
            <h1>"No such page"</h1>
            <p>"Nothing lives at " <code>{move || location.pathname.get()}</code> "."</p>
        </section>
    }
}
