//! `/`: every run on this host, refreshed every two seconds while the page is open.

use leptos::prelude::*;
use shared::run::RunSummary;

use crate::api::client;
use crate::format;

/// How often the list refreshes.
const REFRESH_MS: u64 = 2000;

/// The runs list.
#[component]
pub fn RunsPage() -> impl IntoView {
    let tick = RwSignal::new(0_u32);
    let handle = set_interval_with_handle(
        move || tick.update(|t| *t = t.wrapping_add(1)),
        std::time::Duration::from_millis(REFRESH_MS),
    )
    .ok();
    on_cleanup(move || {
        if let Some(handle) = handle {
            handle.clear();
        }
    });
    let runs = LocalResource::new(move || {
        tick.get();
        client::list_runs("limit=100".to_string())
    });
    view! {
        <section data-testid="page-runs">
            <h1>"Runs"</h1>
            <p class="muted">
                "Every unlearning run on this host: its state, model, objective, split and TOFU metrics."
            </p>
            <Transition fallback=|| view! { <p class="muted">"Loading runs…"</p> }>
                {move || Suspend::new(async move {
                    match runs.await {
                        Ok(page) if page.runs.is_empty() => view! {
                            <p data-testid="runs-empty">"No runs yet: start one from " <a href="/runs/new">"New run"</a> "."</p>
                        }
                        .into_any(),
                        Ok(page) => view! { <RunsTable runs=page.runs total=page.total/> }.into_any(),
                        Err(error) => view! {
                            <p class="error" role="alert" data-testid="runs-error">{error.to_string()}</p>
                        }
                        .into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// The table itself.
#[component]
fn RunsTable(runs: Vec<RunSummary>, total: u64) -> impl IntoView {
    let now = js_sys_now();
    let rows = runs
        .into_iter()
        .map(|run| {
            let id = run.id;
            view! {
                <tr data-testid=format!("run-row-{id}")>
                    <td><a href=format!("/runs/{id}")>{run.name.clone()}</a></td>
                    <td>
                        <span class=format::state_class(run.state) data-testid=format!("run-state-{id}")>
                            {run.state.as_str()}
                        </span>
                    </td>
                    <td>{run.model.clone()}</td>
                    <td>{format::objective(run.method, &run.wrapper)}</td>
                    <td>{run.split.as_str()}</td>
                    <td class="num" data-testid=format!("run-fq-{id}")>
                        {format::metric(run.metrics.get("forget_quality").copied())}
                    </td>
                    <td class="num">{format::metric(run.metrics.get("model_utility").copied())}</td>
                    <td class="num">{format::gibberish(&run)}</td>
                    <td>{run.created_by.clone()}</td>
                    <td class="muted">{format::age(now, run.created_at_ms)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="runs-table" data-testid="runs-table">
            <caption class="muted">{format::count(total, "run")}</caption>
            <thead>
                <tr>
                    <th scope="col">"Run"</th>
                    <th scope="col">"State"</th>
                    <th scope="col">"Model"</th>
                    <th scope="col">"Objective"</th>
                    <th scope="col">"Split"</th>
                    <th scope="col" title="forget quality (KS p-value)">"FQ"</th>
                    <th scope="col" title="model utility">"MU"</th>
                    <th scope="col" title="P(clean) of the forget generations; * = offline detector">"Gibberish"</th>
                    <th scope="col">"By"</th>
                    <th scope="col">"Age"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
}

/// Milliseconds since the Unix epoch, from the browser's clock.
fn js_sys_now() -> i64 {
    #[expect(clippy::cast_possible_truncation, reason = "milliseconds fit in i64")]
    let now = web_time_now() as i64;
    now
}

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    #[wasm_bindgen::prelude::wasm_bindgen(js_namespace = Date, js_name = now)]
    fn web_time_now() -> f64;
}
