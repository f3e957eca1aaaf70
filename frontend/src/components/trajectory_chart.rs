//! The forgetting trajectory: each run's evaluations during training as a path through the
//! forget quality (log) × model utility plane, every point labelled by its step (thinned on long
//! paths; labels and lines take no pointer events, so they never hide a point from a click),
//! the checkpoint each run kept drawn as a filled mark above every path. Geometry is
//! [`crate::trajectory`]'s and [`crate::chart`]'s; this only draws it.

use leptos::prelude::*;

use crate::chart::{self, Scale};
use crate::components::charts::{Axes, BOTTOM, ChartFrame, HEIGHT, LEFT, RIGHT, TOP, WIDTH};
use crate::format;
use crate::trajectory::{Path, labelled};

/// Step labels per path, about.
const LABELS: usize = 8;

/// Paths in the FQ × MU plane, with a legend naming each run and its kept step.
#[component]
pub fn TrajectoryChart(
    /// Chart title (also its accessible name).
    title: String,
    /// One path per run.
    paths: Vec<Path>,
    /// `data-testid`.
    test_id: &'static str,
) -> impl IntoView {
    let stops = || paths.iter().flat_map(|p| p.stops.iter());
    let xs = chart::extent(stops().map(|s| s.fq.max(chart::LOG_FLOOR)));
    let ys = chart::extent(stops().map(|s| s.mu));
    let body = xs.zip(ys).map(|((x0, x1), (y0, y1))| {
        let x = Scale::log10(x0, x1.max(1.0), LEFT, WIDTH - RIGHT);
        let y = Scale::linear(y0.min(0.0), y1.max(1.0), HEIGHT - BOTTOM, TOP);
        let drawn = paths
            .iter()
            .enumerate()
            .map(|(i, path)| {
                let class = i % 4;
                let line = chart::polyline(path.stops.iter().map(|s| (x.px(s.fq), y.px(s.mu))));
                let labels = labelled(path, LABELS);
                let marks = path
                    .stops
                    .iter()
                    .zip(labels)
                    .map(|(s, label)| {
                        let (px, py) = (x.px(s.fq), y.px(s.mu));
                        let tip = format!(
                            "{}: step {}, forget quality {}, model utility {}",
                            path.name,
                            s.step,
                            format::metric(Some(s.fq)),
                            format::metric(Some(s.mu))
                        );
                        // The kept point's marker lies under the kept mark.
                        let kept = if Some(s.step) == path.selected { " kept" } else { "" };
                        view! {
                            <circle cx=px cy=py r=3.0 class=format!("marker series-{class}{kept}") data-step=s.step>
                                <title>{tip}</title>
                            </circle>
                            {label.then(|| view! {
                                <text x=px + 5.0 y=py - 5.0 class="step-label">{s.step.to_string()}</text>
                            })}
                        }
                    })
                    .collect_view();
                view! {
                    <g class="trajectory" data-testid="trajectory-path">
                        <polyline class=format!("line series-{class}") points=line fill="none"/>
                        {marks}
                    </g>
                }
            })
            .collect_view();
        // The kept marks go on top of every path, so no other run's line or point hides one.
        let kept = paths
            .iter()
            .enumerate()
            .filter_map(|(i, path)| {
                let s = path.selected_stop()?;
                let tip = format!("{}: kept the checkpoint of step {}", path.name, s.step);
                Some(view! {
                    <circle cx=x.px(s.fq) cy=y.px(s.mu) r=6.5 class=format!("selected series-{}", i % 4)
                        data-testid="trajectory-selected" data-step=s.step>
                        <title>{tip}</title>
                    </circle>
                })
            })
            .collect_view();
        view! {
            <Axes x=x y=y x_label="forget quality (log)".to_string() y_label="model utility".to_string() log_x=true/>
            {drawn}
            <g class="kept">{kept}</g>
        }
    });
    let legend = paths
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let kept = p
                .selected_stop()
                .map(|s| format!(" · kept step {}", s.step))
                .unwrap_or_default();
            view! {
                <li><span class=format!("swatch series-{}", i % 4)></span>{p.name.clone()}
                    " " <span class="muted">{format!("{} points{kept}", p.stops.len())}</span></li>
            }
        })
        .collect_view();
    view! {
        <ChartFrame title=title test_id=test_id body=body.into_any()
            note="Each point is an evaluation during training, labelled by its step; up and right is better."
            below=view! { <ul class="legend">{legend}</ul> }.into_any()/>
    }
}
