//! The API token of a team server (`lethe serve --auth tokens`): pasted once, kept in this
//! browser's `localStorage`, sent with every request. A local single-user server needs none.

use leptos::prelude::*;

use crate::api::client;

/// The footer's token field.
#[component]
pub fn TokenControl() -> impl IntoView {
    let saved = RwSignal::new(client::saved_token().is_some());
    let draft = RwSignal::new(String::new());
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        client::save_token(&draft.get_untracked());
        // Every page reads the token when it loads; a reload puts the new one to use.
        if let Some(window) = web_sys::window() {
            drop(window.location().reload());
        }
    };
    let forget = move |_| {
        client::save_token("");
        saved.set(false);
        if let Some(window) = web_sys::window() {
            drop(window.location().reload());
        }
    };
    view! {
        <details class="token" data-testid="token-control">
            <summary>{move || if saved.get() { "API token: saved" } else { "API token" }}</summary>
            <form on:submit=save>
                <label for="api-token">"Token for a team server (from lethe token create)"</label>
                <input id="api-token" data-testid="token-input" type="password" autocomplete="off"
                    on:input=move |ev| draft.set(event_target_value(&ev))/>
                <button type="submit" data-testid="token-save">"Save"</button>
                <button type="button" data-testid="token-forget" on:click=forget disabled=move || !saved.get()>"Forget"</button>
            </form>
        </details>
    }
}
