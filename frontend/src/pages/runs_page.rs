//! `/`: every run on this host, filtered, sorted and paged from the page address, refreshed
//! every two seconds while the page is open.

use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::hooks::{use_navigate, use_query_map};
use shared::run::{Method, RunState, RunSummary};

use crate::api::client;
use crate::format;
use crate::refresh::refresh_tick;
use crate::runs_query::{RunsQuery, SORTS};

/// How often the list refreshes.
const REFRESH_MS: u64 = 2000;

/// The runs list.
#[component]
pub fn RunsPage() -> impl IntoView {
    let tick = refresh_tick(std::time::Duration::from_millis(REFRESH_MS));
    let params = use_query_map();
    let query = Memo::new(move |_| params.with(|p| RunsQuery::from_params(|k| p.get(k))));
    let navigate = use_navigate();
    let change = move |edit: &dyn Fn(&mut RunsQuery)| {
        let mut next = query.get_untracked();
        edit(&mut next);
        navigate(
            &next.address(),
            NavigateOptions {
                replace: true,
                scroll: false,
                ..NavigateOptions::default()
            },
        );
    };
    let runs = LocalResource::new(move || {
        tick.get();
        client::list_runs(query.get().api())
    });
    let filter_select = {
        let change = change.clone();
        move |id: &'static str,
              label: &'static str,
              options: Vec<(String, String)>,
              pick: fn(&mut RunsQuery, String),
              read: fn(&RunsQuery) -> String| {
            let change = change.clone();
            let options = options
                .into_iter()
                .map(|(value, text)| view! { <option value=value>{text}</option> })
                .collect_view();
            view! {
                <label class="filter">
                    {label}
                    <select data-testid=id prop:value=move || query.with(read)
                        on:change=move |ev| {
                            let value = event_target_value(&ev);
                            change(&|q| { pick(q, value.clone()); q.page = 0; });
                        }>
                        {options}
                    </select>
                </label>
            }
        }
    };
    let any = || vec![(String::new(), "any".to_string())];
    let states: Vec<(String, String)> = any()
        .into_iter()
        .chain(
            RunState::ALL
                .iter()
                .map(|s| (s.as_str().to_string(), s.as_str().to_string())),
        )
        .collect();
    let methods: Vec<(String, String)> = any()
        .into_iter()
        .chain(
            Method::ALL
                .iter()
                .map(|m| (m.as_str().to_string(), m.label().to_string())),
        )
        .collect();
    let sorts: Vec<(String, String)> = SORTS
        .iter()
        .map(|(value, label)| ((*value).to_string(), (*label).to_string()))
        .collect();
    let text_filter = {
        let change = change.clone();
        move |id: &'static str,
              label: &'static str,
              pick: fn(&mut RunsQuery, String),
              read: fn(&RunsQuery) -> String| {
            let change = change.clone();
            view! {
                <label class="filter">
                    {label}
                    <input type="search" data-testid=id prop:value=move || query.with(read)
                        on:change=move |ev| {
                            let value = event_target_value(&ev);
                            change(&|q| { pick(q, value.clone()); q.page = 0; });
                        }/>
                </label>
            }
        }
    };
    let pager = {
        let change = change.clone();
        move |total: u64, shown: usize| {
            let page = query.with_untracked(|q| q.page);
            let pages = RunsQuery::pages(total);
            let (back, forward) = (change.clone(), change.clone());
            view! {
                <nav class="pager" aria-label="Pages">
                    <button type="button" data-testid="page-prev" disabled={page == 0}
                        on:click=move |_| back(&|q| q.page = q.page.saturating_sub(1))>"← Newer"</button>
                    <span data-testid="page-range">{query.with_untracked(|q| q.range(shown, total))}</span>
                    <button type="button" data-testid="page-next" disabled={page + 1 >= pages}
                        on:click=move |_| forward(&|q| q.page += 1)>"Older →"</button>
                </nav>
            }
        }
    };
    view! {
        <section data-testid="page-runs">
            <h1>"Runs"</h1>
            <p class="muted">
                "Every unlearning run on this host: its state, model, objective, split and TOFU metrics."
            </p>
            <div class="filters" role="search">
                {filter_select("filter-state", "State", states, |q, v| q.state = v, |q| q.state.clone())}
                {filter_select("filter-method", "Method", methods, |q, v| q.method = v, |q| q.method.clone())}
                {text_filter("filter-model", "Model", |q, v| q.model = v, |q| q.model.clone())}
                {text_filter("filter-tag", "Tag", |q, v| q.tag = v, |q| q.tag.clone())}
                {filter_select("sort", "Sort", sorts, |q, v| q.sort = v, |q| if q.sort.is_empty() { "created".into() } else { q.sort.clone() })}
            </div>
            <Transition fallback=|| view! { <p class="muted">"Loading runs…"</p> }>
                {move || {
                    let pager = pager.clone();
                    Suspend::new(async move {
                        match runs.await {
                            Ok(page) if page.total == 0 => view! {
                                <p data-testid="runs-empty">"No runs here yet: start one from " <a href="/runs/new">"New run"</a> "."</p>
                            }
                            .into_any(),
                            Ok(page) => {
                                let shown = page.runs.len();
                                view! {
                                    <RunsTable runs=page.runs total=page.total/>
                                    {pager(page.total, shown)}
                                }
                                .into_any()
                            }
                            Err(error) => view! {
                                <p class="error" role="alert" data-testid="runs-error">{error.to_string()}</p>
                            }
                            .into_any(),
                        }
                    })
                }}
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
