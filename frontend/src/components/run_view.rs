//! One run, live: the header, progress with ETA, loss / lr / grad-norm / throughput curves,
//! per-sample forgetting dynamics with BalDRO's weights or selections, the log tail and the
//! cancel button; once the run succeeds, its result below. The owner's page and the read-only
//! share page both draw this, from a [`RunSource`].

use leptos::prelude::*;
use shared::live::StepPoint;
use shared::paths;
use shared::run::{RunDetail, RunState};

use crate::api::client;
use crate::api::live_socket::{Connection, LiveSocket};
use crate::api::source::RunSource;
use crate::chart;
use crate::components::charts::{Heatmap, LineChart, Series};
use crate::components::result_view::ResultView;
use crate::components::trajectory_chart::TrajectoryChart;
use crate::format;
use crate::live::LiveState;
use crate::sample_grid::{SampleGrid, samples_per_step};
use crate::trajectory::Path;

fn series(name: &str, steps: &[StepPoint], value: impl Fn(&StepPoint) -> Option<f64>) -> Series {
    #[expect(clippy::cast_precision_loss, reason = "step numbers")]
    let points = steps
        .iter()
        .filter_map(|p| Some((p.step as f64, value(p)?)))
        .collect();
    Series {
        name: name.into(),
        points,
    }
}

/// The live page of `source`.
#[component]
pub fn RunView(source: RunSource) -> impl IntoView {
    let live = RwSignal::new(LiveState::default());
    let connection = RwSignal::new(Connection::Connecting);
    let token = source.is_owner().then(client::saved_token).flatten();
    let socket = StoredValue::new_local(LiveSocket::open(&source.live(), token, live, connection));
    on_cleanup(move || socket.with_value(LiveSocket::stop));

    let state = Memo::new(move |_| live.with(LiveState::state));
    let steps = Memo::new(move |_| live.with(|l| l.steps.clone()));
    let detail = Memo::new(move |_| live.with(|l| l.run.clone()));
    let wrapper = Memo::new(move |_| {
        live.with(|l| {
            l.run
                .as_ref()
                .map(|r| r.summary.wrapper.clone())
                .unwrap_or_default()
        })
    });
    let owner = source.is_owner();
    let source_for_result = source.clone();

    view! {
        <section data-testid="page-run">
            <p class="muted connection" data-testid="connection" aria-live="polite">
                {move || match connection.get() {
                    Connection::Connecting => "Connecting…".to_string(),
                    Connection::Live => "Live".to_string(),
                    Connection::Reconnecting { in_ms, reason } => format!("{reason}; reconnecting in {:.1} s", f64::from(in_ms) / 1000.0),
                    Connection::Finished => "Finished".to_string(),
                }}
            </p>
            {move || detail.get().map(|run| view! { <RunHeader run=run owner=owner/> })}
            <Show when=move || state.get().is_some_and(|s| !s.is_terminal())>
                <ProgressPanel live=live owner=owner/>
            </Show>
            {move || {
                let source = source_for_result.clone();
                (state.get() == Some(RunState::Succeeded)).then(|| view! { <ResultView source=source/> })
            }}
            <Show when=move || live.with(|l| !l.trajectory.is_empty())>
                <Trajectory live=live/>
            </Show>
            <Show when=move || steps.with(|s| !s.is_empty())>
                <TrainingCharts steps=steps wrapper=wrapper/>
            </Show>
            <LogTail live=live/>
        </section>
    }
}

/// Name, state, objective, model, split, author, failure, and the share link for the owner.
#[component]
fn RunHeader(run: RunDetail, owner: bool) -> impl IntoView {
    let s = &run.summary;
    let share = run.share_slug.as_ref().filter(|_| owner).map(|slug| {
        let href = paths::page_share(slug);
        let text = href.clone();
        view! {
            <p>"Read-only link for anyone: " <a href=href data-testid="share-link">{text}</a></p>
        }
    });
    view! {
        <header class="run-header">
            <h1 data-testid="run-name">{s.name.clone()}</h1>
            <p>
                <span class=format::state_class(s.state) data-testid="run-state">{s.state.as_str()}</span>
                " " <strong data-testid="run-objective">{format::objective(s.method, &s.wrapper)}</strong>
                " on " <span data-testid="run-model">{s.model.clone()}</span>
                ", " {s.split.as_str()}
                <span class="muted">{format!(" · run {} by {}", s.id, s.created_by)}</span>
            </p>
            {run.placement.as_ref().map(|p| {
                let text = format::placement(p, s.state);
                view! { <p class="muted" data-testid="run-placement">{text}</p> }
            })}
            {run.error.clone().map(|e| view! { <p class="error" role="alert" data-testid="run-error">{e}</p> })}
            {share}
        </header>
    }
}

/// Progress bar with ETA, evaluation progress, and the cancel button.
#[component]
fn ProgressPanel(live: RwSignal<LiveState>, owner: bool) -> impl IntoView {
    let progress = Memo::new(move |_| live.with(LiveState::progress));
    let cancel_error = RwSignal::new(None::<String>);
    let cancelling = RwSignal::new(false);
    let cancel = move |_| {
        let Some(id) = live.with_untracked(|l| l.run.as_ref().map(|r| r.summary.id)) else {
            return;
        };
        cancelling.set(true);
        leptos::task::spawn_local(async move {
            if let Err(error) = client::cancel_run(id).await {
                cancel_error.set(Some(error.to_string()));
                cancelling.set(false);
            }
        });
    };
    view! {
        <div class="progress-panel">
            {move || match progress.get() {
                Some(p) => {
                    let percent = p.fraction() * 100.0;
                    view! {
                        <div class="progress" role="progressbar" aria-valuemin="0" aria-valuemax=p.total aria-valuenow=p.step data-testid="progress">
                            <div class="progress-fill" style=format!("width: {percent:.1}%")></div>
                        </div>
                        <p data-testid="progress-text">
                            {format!("step {} of {}", p.step, p.total)}
                            {p.eta_s.map(|eta| format!(" · about {} left", chart::duration(eta)))}
                        </p>
                    }
                    .into_any()
                }
                None => view! { <p class="muted" data-testid="progress-text">"Waiting for the first step…"</p> }.into_any(),
            }}
            {move || live.with(|l| l.eval.clone()).map(|e| view! {
                <p data-testid="eval-progress">{format!("Evaluating: {} {}/{}", e.stage, e.done, e.total)}</p>
            })}
            {owner.then(|| view! {
                <button type="button" class="danger" data-testid="cancel-run" on:click=cancel disabled=move || cancelling.get()>
                    {move || if cancelling.get() { "Cancelling…" } else { "Cancel run" }}
                </button>
            })}
            <p class="error" role="alert" hidden=move || cancel_error.get().is_none()>{move || cancel_error.get()}</p>
        </div>
    }
}

/// The evaluations during training: the path through the FQ × MU plane (with the kept
/// checkpoint once the run has chosen it) and the forget metrics by step.
#[component]
fn Trajectory(live: RwSignal<LiveState>) -> impl IntoView {
    view! {
        <h2>"Forgetting trajectory"</h2>
        {move || live.with(|l| {
            let Some(run) = &l.run else { return ().into_any() };
            let selected = run.summary.metrics.get("selected_step").copied();
            let path = Path::new(run.summary.name.clone(), &l.trajectory, selected);
            #[expect(clippy::cast_precision_loss, reason = "step numbers")]
            let by_step = |name: &str, metric: &str| Series {
                name: name.into(),
                points: l.trajectory.iter()
                    .filter_map(|p| Some((p.step as f64, *p.metrics.get(metric)?)))
                    .collect(),
            };
            let plane = (!path.stops.is_empty()).then(|| view! {
                <TrajectoryChart title="Forget quality vs model utility while training".to_string()
                    paths=vec![path] test_id="chart-trajectory"/>
            });
            view! {
                <div class="charts">
                    {plane}
                    <LineChart title="Forget metrics at each evaluation".to_string() x_label="step".to_string() test_id="chart-trajectory-metrics"
                        series=vec![
                            by_step("forget probability", "forget_Q_A_Prob"),
                            by_step("forget ROUGE-L", "forget_Q_A_ROUGE"),
                            by_step("model utility", "model_utility"),
                        ]/>
                </div>
            }
            .into_any()
        })}
    }
}

/// Loss, lr, grad norm and throughput over steps, and the per-sample dynamics.
#[component]
fn TrainingCharts(steps: Memo<Vec<StepPoint>>, wrapper: Memo<String>) -> impl IntoView {
    view! {
        <h2>"Training"</h2>
        {move || {
            let steps = steps.get();
            let wrapper = wrapper.get();
            let grid = SampleGrid::new(&steps);
            let samples: Vec<String> = grid.samples.iter().map(|s| format!("item {s}")).collect();
            let epochs = grid.column_labels();
            let weights = grid.has_weights().then(|| view! {
                <Heatmap title="BalDRO-DV weight of each forget item (within its micro-batch)".to_string()
                    rows=samples.clone() columns=epochs.clone() column_label="data epoch" cells=grid.weight.clone() class="cell-weight" test_id="chart-weights"/>
            });
            let has_retain = steps.iter().any(|p| p.retain_loss.is_some());
            // The retain term is often two orders of magnitude below the forget term: on one
            // axis it would hide the forget curve's shape, so it gets its own chart.
            let retain = has_retain.then(|| view! {
                <LineChart title="Retain loss".to_string() x_label="step".to_string() test_id="chart-retain-loss"
                    series=vec![series("retain", &steps, |p| p.retain_loss)]/>
            });
            let selection = (wrapper == "g").then(|| {
                #[expect(clippy::cast_precision_loss, reason = "counts")]
                let points = samples_per_step(&steps).into_iter().map(|(s, k)| (s as f64, k as f64)).collect();
                view! {
                    <LineChart title="BalDRO-G: forget samples kept per step (dropped items are blank in the grid)".to_string()
                        series=vec![Series { name: "kept".into(), points }] x_label="step".to_string() test_id="chart-kept"/>
                }
            });
            view! {
                <div class="charts">
                    <LineChart title="Loss: total and forget term".to_string() x_label="step".to_string() test_id="chart-loss"
                        series=vec![
                            series("total", &steps, |p| Some(p.loss)),
                            series("forget", &steps, |p| Some(p.forget_loss)),
                        ]/>
                    {retain}
                    <LineChart title="Learning rate".to_string() x_label="step".to_string() test_id="chart-lr"
                        series=vec![series("lr", &steps, |p| Some(p.lr))]/>
                    <LineChart title="Gradient norm (before clipping)".to_string() x_label="step".to_string() test_id="chart-grad-norm"
                        series=vec![series("grad norm", &steps, |p| Some(p.grad_norm))]/>
                    <LineChart title="Throughput".to_string() x_label="step".to_string() y_label="tokens/s".to_string() test_id="chart-throughput"
                        series=vec![series("tokens/s", &steps, |p| Some(p.tokens_per_s))]/>
                </div>
                <h2>"Per-sample forgetting"</h2>
                <p class="muted">"Each row is one forget item. Dark cells are items the objective still finds hard to forget."</p>
                <p class="muted" data-testid="per-sample-note">{grid.note()}</p>
                <div class="charts">
                    <Heatmap title="Forget loss of each item".to_string() rows=samples columns=epochs column_label="data epoch" cells=grid.loss class="cell-loss" test_id="chart-per-sample"/>
                    {weights}
                    {selection}
                </div>
            }
        }}
    }
}

/// The last log lines (kept with the run, so a finished or failed run shows its own, ending with
/// how it ended); a muted line while there are none.
#[component]
fn LogTail(live: RwSignal<LiveState>) -> impl IntoView {
    let empty = Memo::new(move |_| live.with(|l| l.log.is_empty()));
    view! {
        <details class="log" open=true>
            <summary>"Log"</summary>
            <p class="muted" data-testid="log-empty" hidden=move || !empty.get()>"No log lines yet."</p>
            <pre data-testid="log-tail" hidden=move || empty.get()>{move || live.with(|l| l.log.join("\n"))}</pre>
        </details>
    }
}
