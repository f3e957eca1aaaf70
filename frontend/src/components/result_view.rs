//! A finished run's result: forget quality with its retain reference, model utility with its
//! nine inputs, the other TOFU metrics, the truth-ratio histograms behind the KS test, ROUGE
//! examples with search, the memory plan against the measured peak, the config and environment
//! for reproduction, and downloads.

use leptos::prelude::*;
use shared::paths;
use shared::plan::PlanReport;
use shared::run::{AttackReport, RunDetail, RunOutcome};
use shared::tofu;

use crate::api::client;
use crate::api::error::FetchError;
use crate::api::source::RunSource;
use crate::components::charts::HistogramChart;
use crate::components::memory_view::MemoryView;
use crate::components::robustness_view::RobustnessView;
use crate::eval_view::{self, EvalView, RougeRow};
use crate::format;

/// ROUGE rows shown at once.
const ROUGE_ROWS: usize = 25;

/// Everything a result page loads: the finished run (its artifact list is only complete now),
/// its evaluation log, and the retain reference's.
#[derive(Clone)]
struct Loaded {
    run: RunDetail,
    log: Option<serde_json::Value>,
    reference: Option<serde_json::Value>,
    plan: Option<PlanReport>,
    outcome: Option<RunOutcome>,
    attacks: Vec<AttackReport>,
}

async fn load(source: RunSource) -> Result<Loaded, FetchError> {
    let run = client::get_run(source.clone()).await?;
    let has = |path: &str| run.artifacts.iter().any(|a| a == path);
    let log = if has(paths::ARTIFACT_EVAL_LOG) {
        Some(client::get_artifact(source.clone(), paths::ARTIFACT_EVAL_LOG).await?)
    } else {
        None
    };
    // The histogram can do without the reference, and the page without the memory plan.
    let reference = if has(paths::ARTIFACT_RETAIN_REF) {
        client::get_artifact(source.clone(), paths::ARTIFACT_RETAIN_REF)
            .await
            .ok()
    } else {
        None
    };
    let outcome = if has(paths::ARTIFACT_OUTCOME) {
        client::get_artifact(source.clone(), paths::ARTIFACT_OUTCOME)
            .await
            .ok()
            .and_then(|outcome| serde_json::from_value(outcome).ok())
    } else {
        None
    };
    // Every attack the run went through, from its spec or from `lethe attack` afterwards.
    let mut attacks = Vec::new();
    let reports = run.artifacts.iter().filter(|a| {
        a.strip_prefix(paths::ARTIFACT_ATTACKS)
            .is_some_and(|rest| rest.ends_with(&format!("/{}", paths::ATTACK_REPORT)))
    });
    for path in reports {
        if let Ok(report) = client::get_artifact(source.clone(), path).await
            && let Ok(report) = serde_json::from_value(report)
        {
            attacks.push(report);
        }
    }
    let plan = if has(paths::ARTIFACT_PLAN) {
        client::get_artifact(source, paths::ARTIFACT_PLAN)
            .await
            .ok()
            .and_then(|plan| serde_json::from_value(plan).ok())
    } else {
        None
    };
    Ok(Loaded {
        run,
        log,
        reference,
        plan,
        outcome,
        attacks,
    })
}

/// The result of the run at `source` (loaded once it has finished).
#[component]
pub fn ResultView(source: RunSource) -> impl IntoView {
    let loaded = LocalResource::new({
        let source = source.clone();
        move || load(source.clone())
    });
    view! {
        <section class="result" data-testid="result">
            <h2>"Result"</h2>
            <Suspense fallback=|| view! { <p class="muted">"Loading the evaluation…"</p> }>
                {move || {
                    let source = source.clone();
                    Suspend::new(async move {
                        match loaded.await {
                            Ok(Loaded { run, log, reference, plan, outcome, attacks }) => {
                                let robustness = (!attacks.is_empty()).then(|| view! { <RobustnessView reports=attacks/> });
                                let outcome = outcome.map(|outcome| view! { <Outcome outcome=outcome/> });
                                let body = match log {
                                    Some(log) => {
                                        let view = EvalView::from_log(&log);
                                        let reference = reference.as_ref().map(eval_view::truth_ratios).unwrap_or_default();
                                        view! { <EvalResult view=view reference=reference retain_ref=run.spec.eval.retain_ref.clone()/> }.into_any()
                                    }
                                    None => view! { <SummaryOnly metrics=run.summary.metrics.clone()/> }.into_any(),
                                };
                                let memory = plan.map(|plan| view! { <MemoryView plan=plan/> });
                                view! { {outcome} {body} {robustness} {memory} <Reproduce source=source run=run/> }.into_any()
                            }
                            Err(error) => view! { <p class="error" role="alert">{error.to_string()}</p> }.into_any(),
                        }
                    })
                }}
            </Suspense>
        </section>
    }
}

/// What the evaluation during training decided: the checkpoint kept, and an early stop.
#[component]
fn Outcome(outcome: RunOutcome) -> impl IntoView {
    let selected = outcome.selected.map(|s| view! {
        <p data-testid="outcome-selected">
            <strong>{format!("Kept the checkpoint of step {}", s.step)}</strong>
            {format!(" ({}): {}. The evaluation below and the download are of it.", s.rule.as_str(), s.reason)}
        </p>
    });
    let stopped = outcome.stopped.map(|s| view! {
        <p data-testid="outcome-stopped">
            <strong>{format!("Stopped early after step {}: {}.", s.step, s.reason.label())}</strong>
            {format!(" {}.", s.detail)}
        </p>
    });
    view! { <div class="notice outcome" role="note" data-testid="outcome">{stopped}{selected}</div> }
}

/// The headline metrics when the run has no evaluation log (evaluation off).
#[component]
fn SummaryOnly(metrics: std::collections::BTreeMap<String, f64>) -> impl IntoView {
    let rows = metrics
        .into_iter()
        .map(|(name, value)| view! { <tr><th scope="row">{name}</th><td class="num">{format::metric(Some(value))}</td></tr> })
        .collect_view();
    view! {
        <p class="muted">"This run has no evaluation log; its recorded metrics:"</p>
        <table class="metrics" data-testid="metrics-table"><tbody>{rows}</tbody></table>
    }
}

/// Metrics, MU inputs, truth-ratio histograms and ROUGE examples from the evaluation log.
#[component]
fn EvalResult(view: EvalView, reference: Vec<f64>, retain_ref: Option<String>) -> impl IntoView {
    let fq = view.get(tofu::FORGET_QUALITY);
    let fq_note = match (&retain_ref, fq) {
        (Some(path), _) => format!("KS test against the retain reference {path}"),
        (None, Some(_)) => "KS test against the retain reference".to_string(),
        (None, None) => {
            "no retain reference: set eval.retain_ref to get forget quality".to_string()
        }
    };
    let headline = tofu::HEADLINE
        .iter()
        .filter_map(|(key, label)| {
            let value = view.get(key)?;
            Some(view! {
                <tr data-testid=format!("metric-{key}")>
                    <th scope="row">{*label}</th>
                    <td class="num">{format::metric(Some(value))}</td>
                    <td class="muted"><code>{*key}</code></td>
                </tr>
            })
        })
        .collect_view();
    let mu_rows = view
        .mu
        .iter()
        .map(|(component, value)| {
            view! {
                <tr>
                    <th scope="row">{component.set}</th>
                    <td>{component.measure}</td>
                    <td class="num">{format::metric(*value)}</td>
                </tr>
            }
        })
        .collect_view();
    let mut samples = vec![("this run".to_string(), view.truth_ratios.clone())];
    if !reference.is_empty() {
        samples.push(("retain reference".to_string(), reference));
    }
    let histogram = (!view.truth_ratios.is_empty()).then(|| {
        view! {
            <HistogramChart title="Forget truth ratios: this run vs the retain reference (the KS test's two samples)".to_string()
                samples=samples x_label="truth ratio".to_string() test_id="truth-ratio-histogram"/>
        }
    });
    let rouge = view.rouge.clone();
    // Forget quality is the study's headline: its absence is said, with what to do.
    let missing_fq = fq.is_none().then(|| {
        view! {
            <div class="notice" role="note" data-testid="no-retain-ref">
                <strong>"No forget quality: this run had no retain reference."</strong>
                " Forget quality is a KS test of this run's truth ratios against a retain model's (a model trained without the forget set, TOFU step 1). "
                "Set " <em>"Retain reference"</em> " (" <code>"eval.retain_ref"</code> ") to that model's "
                <code>"TOFU_EVAL.json"</code> " under one of the server's " <code>"--data-root"</code> " directories, "
                "or run the " <code>"demo"</code> " model on the data it was built on (" <code>"lethe demo build"</code>
                " makes its retain references). The log below says why this run had none."
            </div>
        }
    });
    view! {
        {missing_fq}
        <table class="metrics" data-testid="metrics-table">
            <tbody>
                <tr data-testid="metric-forget_quality">
                    <th scope="row">"Forget quality"</th>
                    <td class="num" data-testid="forget-quality">{format::metric(fq)}</td>
                    <td class="muted">{fq_note}</td>
                </tr>
                <tr data-testid="metric-model_utility">
                    <th scope="row">"Model utility"</th>
                    <td class="num" data-testid="model-utility">{format::metric(view.get(tofu::MODEL_UTILITY))}</td>
                    <td class="muted">"harmonic mean of the nine numbers below"</td>
                </tr>
                {headline}
            </tbody>
        </table>
        <h3>"Model utility inputs"</h3>
        <table class="metrics" data-testid="mu-table">
            <thead><tr><th scope="col">"Set"</th><th scope="col">"Measure"</th><th scope="col">"Value"</th></tr></thead>
            <tbody>{mu_rows}</tbody>
        </table>
        {histogram}
        <RougeExamples rows=rouge/>
    }
}

/// Generations next to their references, searchable.
#[component]
fn RougeExamples(rows: Vec<RougeRow>) -> impl IntoView {
    let query = RwSignal::new(String::new());
    let rows = StoredValue::new(rows);
    view! {
        <h3>"Generations"</h3>
        <input type="search" placeholder="Search questions, answers and generations" aria-label="Search generations"
            data-testid="rouge-search" on:input=move |ev| query.set(event_target_value(&ev))/>
        {move || rows.with_value(|rows| {
            let (shown, total) = eval_view::search(rows, &query.get(), ROUGE_ROWS);
            let body = shown.into_iter().map(|row| view! {
                <tr data-testid="rouge-row">
                    <td>{format!("{} #{}", row.set, row.index)}</td>
                    <td>{row.input.clone()}</td>
                    <td>{row.ground_truth.clone()}</td>
                    <td>{row.generation.clone()}</td>
                    <td class="num">{format::metric(row.rouge_l)}</td>
                </tr>
            }).collect_view();
            view! {
                <p class="muted" data-testid="rouge-count">{format!("{} of {}", total.min(ROUGE_ROWS), format::count(total as u64, "generation"))}</p>
                <div class="scroll">
                    <table class="rouge">
                        <thead><tr><th scope="col">"Item"</th><th scope="col">"Question"</th><th scope="col">"Ground truth"</th><th scope="col">"Generation"</th><th scope="col">"ROUGE-L"</th></tr></thead>
                        <tbody>{body}</tbody>
                    </table>
                </div>
            }
        })}
    }
}

/// The spec, the environment, and the downloads.
#[component]
fn Reproduce(source: RunSource, run: RunDetail) -> impl IntoView {
    let config = serde_json::to_string_pretty(&run.spec).unwrap_or_default();
    let environment = run
        .environment
        .iter()
        .map(|(k, v)| view! { <tr><th scope="row">{k.clone()}</th><td>{v.clone()}</td></tr> })
        .collect_view();
    let mut downloads = vec![];
    for (path, label, id) in [
        (paths::ARTIFACT_EVAL_LOG, "TOFU_EVAL.json", "download-eval"),
        (
            paths::ARTIFACT_EVAL_SUMMARY,
            "TOFU_SUMMARY.json",
            "download-summary",
        ),
        (
            paths::ARTIFACT_SPEC,
            "config (spec.json)",
            "download-config",
        ),
    ] {
        if run.artifacts.iter().any(|a| a == path) {
            downloads.push((source.artifact(path), label, id));
        }
    }
    downloads.push((source.steps_csv(), "training steps (CSV)", "download-steps"));
    if let RunSource::Run(id) = source {
        downloads.push((
            format!("{}/export.csv?ids={id}", paths::API_RUNS),
            "metrics (CSV)",
            "download-metrics",
        ));
    }
    let links = downloads
        .into_iter()
        .map(|(href, label, id)| view! { <li><a href=href download="" data-testid=id>{label}</a></li> })
        .collect_view();
    view! {
        <h3>"Reproduce"</h3>
        <ul class="downloads">{links}</ul>
        <details>
            <summary>"Run config"</summary>
            <pre data-testid="run-config">{config}</pre>
        </details>
        <table class="metrics" data-testid="run-environment">
            <caption class="muted">"Environment"</caption>
            <tbody>{environment}</tbody>
        </table>
    }
}
