//! `/compare?runs=<id>,<id>,…`: runs side by side, as the seed study lays them out (objective and
//! split × model → FQ, MU, gibberish), and the FQ-vs-MU scatter on a log FQ axis. The URL holds
//! the selection, so a comparison is shared by copying it.

use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::hooks::{use_navigate, use_query_map};
use shared::paths;
use shared::run::{RunState, RunSummary};

use crate::api::client;
use crate::api::error::FetchError;
use crate::api::source::RunSource;
use crate::compare::{self, Table};
use crate::components::charts::{ScatterChart, ScatterPoint};
use crate::components::trajectory_chart::TrajectoryChart;
use crate::form;
use crate::format;
use crate::trajectory::Path;

/// The compare page.
#[component]
pub fn ComparePage() -> impl IntoView {
    let query = use_query_map();
    let selected =
        Memo::new(move |_| query.with(|q| compare::parse_ids(&q.get("runs").unwrap_or_default())));
    let navigate = use_navigate();
    let select = move |ids: Vec<i64>| {
        navigate(
            &paths::page_compare(&ids),
            NavigateOptions {
                replace: true,
                scroll: false,
                ..NavigateOptions::default()
            },
        );
    };
    let recent = LocalResource::new(|| client::list_runs("limit=200".to_string()));
    let runs = LocalResource::new(move || {
        let ids = selected.get();
        async move {
            let mut runs = Vec::new();
            for id in ids {
                runs.push(load(id).await);
            }
            runs
        }
    });
    view! {
        <section data-testid="page-compare">
            <h1>"Compare"</h1>
            <p class="muted">
                "Forget quality against model utility for the runs you pick, objective by model. The address of this page keeps the selection: share it."
            </p>
            <Transition fallback=|| view! { <p class="muted">"Loading runs…"</p> }>
                {move || Suspend::new(async move {
                    let runs = runs.await;
                    let failed: Vec<String> = runs.iter().filter_map(|r| r.as_ref().err().map(ToString::to_string)).collect();
                    let (runs, paths): (Vec<RunSummary>, Vec<Path>) = runs.into_iter().filter_map(Result::ok).unzip();
                    view! {
                        {failed.into_iter().map(|e| view! { <p class="error" role="alert">{e}</p> }).collect_view()}
                        <CompareTable runs=runs.clone()/>
                        <Scatter runs=runs/>
                        <Trajectories paths=paths/>
                    }
                })}
            </Transition>
            <Transition fallback=|| ()>
                {move || {
                    let select = select.clone();
                    Suspend::new(async move {
                        match recent.await {
                            Ok(page) => view! { <Picker runs=page.runs selected=selected select=select/> }.into_any(),
                            Err(error) => view! { <p class="error" role="alert">{error.to_string()}</p> }.into_any(),
                        }
                    })
                }}
            </Transition>
        </section>
    }
}

/// Run `id` and its path through the FQ × MU plane (empty without evaluations during training).
async fn load(id: i64) -> Result<(RunSummary, Path), FetchError> {
    let run = client::get_run(RunSource::Run(id)).await?;
    let points = if run.artifacts.iter().any(|a| a == paths::ARTIFACT_EVALS) {
        client::get_trajectory(RunSource::Run(id)).await?
    } else {
        Vec::new()
    };
    let name = format!(
        "#{id} {}",
        format::objective(run.summary.method, &run.summary.wrapper)
    );
    let path = Path::new(
        name,
        &points,
        run.summary.metrics.get("selected_step").copied(),
    );
    Ok((run.summary, path))
}

/// The runs' forgetting trajectories overlaid, when any has one.
#[component]
fn Trajectories(paths: Vec<Path>) -> impl IntoView {
    let paths: Vec<Path> = paths.into_iter().filter(|p| !p.stops.is_empty()).collect();
    (!paths.is_empty()).then(|| {
        view! {
            <TrajectoryChart title="Forgetting trajectories: how each run moved through the trade-off while training".to_string()
                paths=paths test_id="compare-trajectories"/>
        }
    })
}

/// Objective and split × model → FQ / MU / gibberish.
#[component]
fn CompareTable(runs: Vec<RunSummary>) -> impl IntoView {
    if runs.is_empty() {
        return view! { <p data-testid="compare-empty">"Pick runs below to compare them."</p> }
            .into_any();
    }
    let table = Table::new(&runs);
    let header = table
        .models
        .iter()
        .map(|m| view! { <th scope="col">{m.clone()}<br/><span class="muted">"FQ · MU · gibberish; forget probability recovered by attacks"</span></th> })
        .collect_view();
    let rows = table
        .rows
        .iter()
        .map(|row| {
            let cells = row
                .cells
                .iter()
                .map(|runs| {
                    let entries = runs
                        .iter()
                        .map(|run| {
                            view! {
                                <div data-testid=format!("compare-cell-{}", run.id)>
                                    <a href=paths::page_run(run.id)>{format!("#{}", run.id)}</a> " "
                                    <span class="num">{format::metric(run.metrics.get(shared::tofu::FORGET_QUALITY).copied())}</span>
                                    " · " <span class="num">{format::metric(run.metrics.get(shared::tofu::MODEL_UTILITY).copied())}</span>
                                    " · " <span class="num">{format::gibberish(run)}</span>
                                    {(!compare::recovered(run).is_empty()).then(|| view! {
                                        <div class="muted" data-testid=format!("compare-recovered-{}", run.id)>
                                            "recovered: " {compare::recovered_text(run)}
                                        </div>
                                    })}
                                </div>
                            }
                        })
                        .collect_view();
                    view! { <td>{entries}</td> }
                })
                .collect_view();
            view! { <tr><th scope="row">{row.objective.clone()}<br/><span class="muted">{row.split.clone()}</span></th>{cells}</tr> }
        })
        .collect_view();
    view! {
        <div class="scroll">
            <table class="compare" data-testid="compare-table">
                <thead><tr><th scope="col">"Objective"</th>{header}</tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
    .into_any()
}

/// FQ (log) vs MU.
#[component]
fn Scatter(runs: Vec<RunSummary>) -> impl IntoView {
    let points: Vec<ScatterPoint> = compare::points(&runs)
        .into_iter()
        .map(|p| ScatterPoint {
            x: p.fq,
            y: p.mu,
            label: p.label,
            href: paths::page_run(p.id),
        })
        .collect();
    (!points.is_empty()).then(|| {
        view! {
            <ScatterChart title="Forget quality (log) vs model utility: up and right is better".to_string()
                points=points x_label="forget quality".to_string() y_label="model utility".to_string() test_id="compare-scatter"/>
        }
    })
}

/// Checkboxes over recent runs, and one button per sweep.
#[component]
fn Picker(
    runs: Vec<RunSummary>,
    selected: Memo<Vec<i64>>,
    select: impl Fn(Vec<i64>) + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let mut sweeps: Vec<i64> = runs.iter().filter_map(|r| r.sweep_id).collect();
    sweeps.sort_unstable();
    sweeps.dedup();
    let sweep_buttons = sweeps
        .into_iter()
        .map(|sweep| {
            let ids: Vec<i64> = runs.iter().filter(|r| r.sweep_id == Some(sweep)).map(|r| r.id).collect();
            let select = select.clone();
            view! {
                <button type="button" data-testid=format!("pick-sweep-{sweep}") on:click=move |_| select(ids.clone())>
                    {format!("Sweep {sweep}")}
                </button>
            }
        })
        .collect_view();
    let rows = runs
        .into_iter()
        .filter(|r| r.state == RunState::Succeeded || !r.metrics.is_empty())
        .map(|run| {
            let id = run.id;
            let select = select.clone();
            view! {
                <li>
                    <label>
                        <input type="checkbox" data-testid=format!("pick-run-{id}")
                            prop:checked=move || selected.with(|s| s.contains(&id))
                            on:change=move |ev| {
                                let on = event_target_checked(&ev);
                                select(form::toggle(&selected.get_untracked(), &id, on));
                            }/>
                        {format!(" #{id} {} · {} · {}", run.name, format::objective(run.method, &run.wrapper), run.model)}
                    </label>
                </li>
            }
        })
        .collect_view();
    view! {
        <h2>"Runs with results"</h2>
        <div class="presets">{sweep_buttons}</div>
        <ul class="picker" data-testid="compare-picker">{rows}</ul>
    }
}
