//! SVG charts. Geometry comes from [`crate::chart`] (pure, tested natively); these components
//! only draw it. Every chart has a `<title>` and an `aria-label` so screen readers announce what
//! it shows, and series colours come from CSS classes (`series-0` …) so contrast lives in one
//! stylesheet.

use leptos::prelude::*;

use crate::chart::{self, Scale};

/// Chart canvas size in SVG units (the SVG scales to its container's width).
pub(crate) const WIDTH: f64 = 440.0;
pub(crate) const HEIGHT: f64 = 220.0;
pub(crate) const LEFT: f64 = 60.0;
pub(crate) const RIGHT: f64 = 12.0;
pub(crate) const TOP: f64 = 12.0;
pub(crate) const BOTTOM: f64 = 36.0;

/// One line of a [`LineChart`].
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend label.
    pub name: String,
    /// `(x, y)` in data units.
    pub points: Vec<(f64, f64)>,
}

/// Axes, ticks and labels for a plot area; `x` and `y` map data to pixels.
#[component]
pub(crate) fn Axes(
    x: Scale,
    y: Scale,
    x_label: String,
    y_label: String,
    log_x: bool,
) -> impl IntoView {
    let x_ticks = x
        .ticks(6)
        .into_iter()
        .map(|t| {
            let px = x.px(t);
            view! {
                <g class="tick">
                    <line x1=px x2=px y1=TOP y2=HEIGHT - BOTTOM class="grid"/>
                    <text x=px y=HEIGHT - BOTTOM + 14.0 text-anchor="middle">{chart::tick_label(t, log_x)}</text>
                </g>
            }
        })
        .collect_view();
    let y_ticks = y
        .ticks(4)
        .into_iter()
        .map(|t| {
            let py = y.px(t);
            view! {
                <g class="tick">
                    <line x1=LEFT x2=WIDTH - RIGHT y1=py y2=py class="grid"/>
                    <text x=LEFT - 6.0 y=py + 4.0 text-anchor="end">{chart::tick_label(t, false)}</text>
                </g>
            }
        })
        .collect_view();
    view! {
        {x_ticks}
        {y_ticks}
        <line x1=LEFT x2=WIDTH - RIGHT y1=HEIGHT - BOTTOM y2=HEIGHT - BOTTOM class="axis"/>
        <line x1=LEFT x2=LEFT y1=TOP y2=HEIGHT - BOTTOM class="axis"/>
        <text x=(LEFT + WIDTH - RIGHT) / 2.0 y=HEIGHT - 4.0 text-anchor="middle" class="axis-label">{x_label}</text>
        <text
            x=12.0
            y=(TOP + HEIGHT - BOTTOM) / 2.0
            text-anchor="middle"
            class="axis-label"
            transform=format!("rotate(-90 12 {})", (TOP + HEIGHT - BOTTOM) / 2.0)
        >
            {y_label}
        </text>
    }
}

/// The frame every chart shares: caption, an SVG of `height` units with an accessible name,
/// and what goes under it (a legend).
#[component]
pub(crate) fn ChartFrame(
    title: String,
    test_id: &'static str,
    #[prop(default = HEIGHT)] height: f64,
    #[prop(optional, into)] note: Option<String>,
    body: AnyView,
    #[prop(optional)] below: Option<AnyView>,
) -> impl IntoView {
    let label = title.clone();
    view! {
        <figure class="chart" data-testid=test_id>
            <figcaption>{label.clone()} {note.map(|n| view! { " " <span class="muted">{n}</span> })}</figcaption>
            <svg viewBox=format!("0 0 {WIDTH} {height}") role="img" aria-label=label>
                <title>{title}</title>
                {body}
            </svg>
            {below}
        </figure>
    }
}

/// Lines over a shared x axis (steps), with a legend.
#[component]
pub fn LineChart(
    /// Chart title (also its accessible name).
    title: String,
    /// The lines.
    series: Vec<Series>,
    /// X axis label.
    x_label: String,
    /// Y axis label.
    #[prop(default = String::new())]
    y_label: String,
    /// `data-testid`.
    test_id: &'static str,
) -> impl IntoView {
    let xs = chart::extent(series.iter().flat_map(|s| s.points.iter().map(|p| p.0)));
    let ys = chart::extent(series.iter().flat_map(|s| s.points.iter().map(|p| p.1)));
    let body = match (xs, ys) {
        (Some((x0, x1)), Some((y0, y1))) => {
            let x = Scale::linear(x0, x1, LEFT, WIDTH - RIGHT);
            let y = Scale::linear(y0, y1, HEIGHT - BOTTOM, TOP);
            let lines = series
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let points = chart::polyline(s.points.iter().map(|(a, b)| (x.px(*a), y.px(*b))));
                    // The newest point gets a marker, so a one-step series is visible too.
                    let marker = s.points.last().map(|(a, b)| view! {
                        <circle cx=x.px(*a) cy=y.px(*b) r=3.0 class=format!("marker series-{i}")/>
                    });
                    view! { <polyline class=format!("line series-{i}") points=points fill="none"/> {marker} }
                })
                .collect_view();
            view! {
                <Axes x=x y=y x_label=x_label.clone() y_label=y_label.clone() log_x=false/>
                {lines}
            }
            .into_any()
        }
        _ => view! {
            <text x=WIDTH / 2.0 y=HEIGHT / 2.0 text-anchor="middle" class="muted">"No data yet"</text>
        }
        .into_any(),
    };
    let legend = series
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let last = s.points.last().map(|p| crate::format::metric(Some(p.1)));
            view! {
                <li><span class=format!("swatch series-{i}")></span>{s.name.clone()} " " <span class="muted">{last}</span></li>
            }
        })
        .collect_view();
    view! {
        <ChartFrame title=title test_id=test_id body=body.into_any()
            below=view! { <ul class="legend">{legend}</ul> }.into_any()/>
    }
}

/// Overlaid histograms (outlines) of several samples on one x range: the KS picture.
#[component]
pub fn HistogramChart(
    /// Chart title.
    title: String,
    /// `(name, values)` per sample.
    samples: Vec<(String, Vec<f64>)>,
    /// X axis label.
    x_label: String,
    /// Bins.
    #[prop(default = 20)]
    bins: usize,
    /// `data-testid`.
    test_id: &'static str,
) -> impl IntoView {
    let range = chart::extent(samples.iter().flat_map(|(_, v)| v.iter().copied()));
    let body = range.map(|(lo, hi)| {
        let hi = if hi > lo { hi } else { lo + 1.0 };
        let counts: Vec<Vec<usize>> = samples
            .iter()
            .map(|(_, v)| chart::histogram(v, lo, hi, bins))
            .collect();
        #[expect(clippy::cast_precision_loss, reason = "bin counts are small")]
        let top = counts.iter().flatten().copied().max().unwrap_or(1).max(1) as f64;
        let x = Scale::linear(lo, hi, LEFT, WIDTH - RIGHT);
        let y = Scale::linear(0.0, top, HEIGHT - BOTTOM, TOP);
        #[expect(clippy::cast_precision_loss, reason = "bin counts are small")]
        let width = (hi - lo) / bins as f64;
        let shapes = counts
            .iter()
            .enumerate()
            .map(|(i, c)| {
                // A step outline: up and across each bin.
                #[expect(clippy::cast_precision_loss, reason = "bin counts are small")]
                let points: Vec<(f64, f64)> = std::iter::once((x.px(lo), y.px(0.0)))
                    .chain(c.iter().enumerate().flat_map(|(b, n)| {
                        let left = lo + width * b as f64;
                        [(x.px(left), y.px(*n as f64)), (x.px(left + width), y.px(*n as f64))]
                    }))
                    .chain(std::iter::once((x.px(hi), y.px(0.0))))
                    .collect();
                view! { <polyline class=format!("bars series-{i}") points=chart::polyline(points)/> }
            })
            .collect_view();
        view! {
            <Axes x=x y=y x_label=x_label.clone() y_label="items".to_string() log_x=false/>
            {shapes}
        }
    });
    let legend = samples
        .iter()
        .enumerate()
        .map(|(i, (name, v))| {
            view! { <li><span class=format!("swatch series-{i}")></span>{format!("{name} ({} items)", v.len())}</li> }
        })
        .collect_view();
    view! {
        <ChartFrame title=title test_id=test_id body=body.into_any()
            below=view! { <ul class="legend">{legend}</ul> }.into_any()/>
    }
}

/// A labelled point of a [`ScatterChart`], linked to its page.
#[derive(Debug, Clone, PartialEq)]
pub struct ScatterPoint {
    /// x in data units.
    pub x: f64,
    /// y in data units.
    pub y: f64,
    /// Hover text.
    pub label: String,
    /// Where a click goes.
    pub href: String,
}

/// Points on a log x axis against a linear y axis (FQ vs MU).
#[component]
pub fn ScatterChart(
    /// Chart title.
    title: String,
    /// The points.
    points: Vec<ScatterPoint>,
    /// X axis label.
    x_label: String,
    /// Y axis label.
    y_label: String,
    /// `data-testid`.
    test_id: &'static str,
) -> impl IntoView {
    let xs = chart::extent(points.iter().map(|p| p.x.max(chart::LOG_FLOOR)));
    let ys = chart::extent(points.iter().map(|p| p.y));
    let body = xs.zip(ys).map(|((x0, x1), (y0, y1))| {
        let x = Scale::log10(x0, x1.max(1.0), LEFT, WIDTH - RIGHT);
        // Model utility lives in [0, 1]; a fixed axis keeps pictures comparable between pages.
        let y = Scale::linear(y0.min(0.0), y1.max(1.0), HEIGHT - BOTTOM, TOP);
        // The link must be SVG's `<a>`, not HTML's: an HTML element inside an SVG is not
        // rendered, and neither is anything in it. The view macro names an `<a>` by its
        // parent, so the `<g>` around it (in the same macro) makes it SVG's.
        let dots = points
            .iter()
            .map(|p| {
                view! {
                    <g class="point">
                        <a href=p.href.clone()>
                            <circle cx=x.px(p.x) cy=y.px(p.y) r=5.0 class="dot">
                                <title>{p.label.clone()}</title>
                            </circle>
                        </a>
                    </g>
                }
            })
            .collect_view();
        view! {
            <Axes x=x y=y x_label=x_label.clone() y_label=y_label.clone() log_x=true/>
            {dots}
        }
    });
    view! { <ChartFrame title=title test_id=test_id body=body.into_any()/> }
}

/// Rows × columns of shaded cells (per-sample losses or weights by epoch).
#[component]
pub fn Heatmap(
    /// Chart title.
    title: String,
    /// Row labels.
    rows: Vec<String>,
    /// Column labels (short: numbers).
    columns: Vec<String>,
    /// What the columns are (`epoch`).
    column_label: &'static str,
    /// `cells[row][column]`.
    cells: Vec<Vec<Option<f64>>>,
    /// CSS class of the cells' fill.
    class: &'static str,
    /// `data-testid`.
    test_id: &'static str,
) -> impl IntoView {
    let (lo, hi) = chart::extent(cells.iter().flatten().flatten().copied()).unwrap_or((0.0, 1.0));
    let cell_w = ((WIDTH - LEFT - RIGHT) / columns.len().max(1) as f64).min(40.0);
    let cell_h = (320.0 / rows.len().max(1) as f64).clamp(2.0, 22.0);
    #[expect(clippy::cast_precision_loss, reason = "row counts are small")]
    let height = TOP + cell_h * rows.len() as f64 + BOTTOM;
    let rects = cells
        .iter()
        .enumerate()
        .flat_map(|(r, row)| {
            let rows = &rows;
            let columns = &columns;
            row.iter().enumerate().filter_map(move |(c, value)| {
                let value = (*value)?;
                #[expect(clippy::cast_precision_loss, reason = "row counts are small")]
                let (x, y) = (LEFT + cell_w * c as f64, TOP + cell_h * r as f64);
                Some(view! {
                    <rect x=x y=y width=cell_w height=cell_h class=class fill-opacity=chart::shade(value, lo, hi)>
                        <title>{format!("{} · {column_label} {}: {}", rows[r], columns[c], crate::format::metric(Some(value)))}</title>
                    </rect>
                })
            })
        })
        .collect_view();
    let step = (rows.len() / 10).max(1);
    let row_labels = rows
        .iter()
        .enumerate()
        .filter(|(r, _)| r % step == 0)
        .map(|(r, label)| {
            #[expect(clippy::cast_precision_loss, reason = "row counts are small")]
            let y = TOP + cell_h * r as f64 + cell_h.min(10.0);
            view! { <text x=LEFT - 4.0 y=y text-anchor="end" class="tick-label">{label.clone()}</text> }
        })
        .collect_view();
    let column_step = columns.len().div_ceil(16).max(1);
    #[expect(clippy::cast_precision_loss, reason = "column counts are small")]
    let caption_x = LEFT + cell_w * columns.len() as f64 / 2.0;
    let column_labels = columns
        .iter()
        .enumerate()
        .filter(|(c, _)| c % column_step == 0)
        .map(|(c, label)| {
            #[expect(clippy::cast_precision_loss, reason = "column counts are small")]
            let x = LEFT + cell_w * (c as f64 + 0.5);
            view! { <text x=x y=height - BOTTOM + 14.0 text-anchor="middle" class="tick-label">{label.clone()}</text> }
        })
        .collect_view();
    let note = format!(
        "(light {} → dark {})",
        crate::format::metric(Some(lo)),
        crate::format::metric(Some(hi))
    );
    let body = view! {
        {rects}
        {row_labels}
        {column_labels}
        <text x=caption_x y=height - 4.0 text-anchor="middle" class="axis-label">{column_label}</text>
    };
    view! { <ChartFrame title=title test_id=test_id height=height note=note body=body.into_any()/> }
}
