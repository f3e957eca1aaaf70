//! `lethe study`: the seed study as one sweep (`spec`), and its report (`report`): the seed-style
//! table (objective and split × model → FQ · MU · gibberish) as Markdown and the FQ-vs-MU scatter
//! (log FQ axis) as SVG, both read from the runs stored in the server's database.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;

use anyhow::Context as _;
use shared::run::{AttackSpec, RunState, RunSummary};
use shared::sweep::SweepSpec;
use shared::{display, tofu};

use crate::db::{self, Db};

/// The robustness attacks `lethe study spec --attacks` adds to every run: relearning on half the
/// forget items for 20 steps at the run's learning rate, and 8- and 4-bit weights.
pub fn study_attacks(lr: f64) -> Vec<AttackSpec> {
    vec![
        AttackSpec::Relearn {
            steps: 20,
            lr,
            fraction: 0.5,
        },
        AttackSpec::Quantize { bits: 8 },
        AttackSpec::Quantize { bits: 4 },
    ]
}

/// The seed study on `models` (NPO/WGA/TNPO × plain/DV/G × forget01/05/10), with `lr` when
/// given (the spec's 1e-5 otherwise), and with [`study_attacks`] after each run when `attacks`.
pub fn spec(models: &[String], lr: Option<f64>, attacks: bool) -> anyhow::Result<SweepSpec> {
    let first = models.first().context("--model: name at least one")?;
    let mut sweep = SweepSpec::seed_study(first);
    sweep.grid.models = models.to_vec();
    if let Some(lr) = lr {
        sweep.base.trainer.lr = lr;
    }
    if attacks {
        sweep.base.attacks = study_attacks(sweep.base.trainer.lr);
    }
    let errors = sweep.validate();
    if let Some(error) = errors.first() {
        anyhow::bail!("{}: {}", error.field, error.message);
    }
    Ok(sweep)
}

fn objective(run: &RunSummary) -> String {
    display::objective(run.method, &run.wrapper)
}

/// The table: one row per (objective, split) in first-seen order, one column per model; a cell
/// holds `FQ · MU · gibberish` per run (several for seeds), or the run's state.
pub fn table_markdown(runs: &[RunSummary]) -> String {
    let mut models: Vec<&str> = Vec::new();
    let mut rows: Vec<(String, String)> = Vec::new();
    let mut cells: BTreeMap<(usize, usize), Vec<String>> = BTreeMap::new();
    for run in runs {
        if !models.contains(&run.model.as_str()) {
            models.push(&run.model);
        }
        let key = (objective(run), run.split.as_str().to_string());
        if !rows.contains(&key) {
            rows.push(key.clone());
        }
        let row = rows.iter().position(|r| *r == key).unwrap_or(0);
        let column = models.iter().position(|m| *m == run.model).unwrap_or(0);
        let text = if run.state == RunState::Succeeded {
            format!(
                "{} · {} · {}",
                display::metric(run.metrics.get(tofu::FORGET_QUALITY).copied()),
                display::metric(run.metrics.get(tofu::MODEL_UTILITY).copied()),
                display::gibberish(run)
            )
        } else {
            run.state.as_str().to_string()
        };
        cells.entry((row, column)).or_default().push(text);
    }
    let mut out = String::from("| objective | split |");
    for model in &models {
        let _ = write!(out, " {model} (FQ · MU · gibberish) |");
    }
    out.push_str("\n|---|---|");
    out.push_str(&"---|".repeat(models.len()));
    out.push('\n');
    for (r, (objective, split)) in rows.iter().enumerate() {
        let _ = write!(out, "| {objective} | {split} |");
        for c in 0..models.len() {
            let cell = cells
                .get(&(r, c))
                .map(|v| v.join("<br>"))
                .unwrap_or_default();
            let _ = write!(out, " {cell} |");
        }
        out.push('\n');
    }
    out
}

/// Colours of the objectives in the scatter (plain, DV, G).
fn colour(wrapper: &str) -> &'static str {
    match wrapper {
        "dv" => "#c2410c",
        "g" => "#15803d",
        _ => "#2f5bd3",
    }
}

/// The FQ (log10, from the smallest decade to 1) vs MU (0 to 1) scatter of the succeeded runs.
pub fn scatter_svg(runs: &[RunSummary]) -> String {
    let points: Vec<(f64, f64, &RunSummary)> = runs
        .iter()
        .filter(|run| run.state == RunState::Succeeded)
        .filter_map(|run| {
            Some((
                *run.metrics.get(tofu::FORGET_QUALITY)?,
                *run.metrics.get(tofu::MODEL_UTILITY)?,
                run,
            ))
        })
        .collect();
    let (width, height, left, right, top, bottom) = (640.0, 400.0, 70.0, 20.0, 20.0, 50.0);
    let low = points
        .iter()
        .map(|p| p.0.max(1e-30).log10().floor())
        .fold(-1.0_f64, f64::min);
    let x = |fq: f64| left + (fq.max(1e-30).log10() - low) / -low * (width - left - right);
    let y = |mu: f64| height - bottom - mu.clamp(0.0, 1.0) * (height - top - bottom);
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12"><title>Forget quality (log) vs model utility</title><rect width="{width}" height="{height}" fill="white"/>"#
    );
    #[expect(
        clippy::cast_possible_truncation,
        reason = "decade exponents are small"
    )]
    let decades = (low as i32)..=0;
    for e in decades {
        let px = x(10_f64.powi(e));
        let _ = write!(
            svg,
            r##"<line x1="{px:.1}" x2="{px:.1}" y1="{top}" y2="{}" stroke="#e6e9f0"/><text x="{px:.1}" y="{}" text-anchor="middle" fill="#5a6478">1e{e}</text>"##,
            height - bottom,
            height - bottom + 16.0
        );
    }
    for tick in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let py = y(tick);
        let _ = write!(
            svg,
            r##"<line x1="{left}" x2="{}" y1="{py:.1}" y2="{py:.1}" stroke="#e6e9f0"/><text x="{}" y="{:.1}" text-anchor="end" fill="#5a6478">{tick}</text>"##,
            width - right,
            left - 6.0,
            py + 4.0
        );
    }
    let _ = write!(
        svg,
        r#"<text x="{}" y="{}" text-anchor="middle">forget quality (KS p-value, log scale)</text><text x="16" y="{}" text-anchor="middle" transform="rotate(-90 16 {})">model utility</text>"#,
        (left + width - right) / 2.0,
        height - 8.0,
        (top + height - bottom) / 2.0,
        (top + height - bottom) / 2.0
    );
    for (fq, mu, run) in &points {
        let _ = write!(
            svg,
            r#"<circle cx="{:.1}" cy="{:.1}" r="5" fill="{}" fill-opacity="0.8"><title>#{} {} · {} · {}: FQ {} MU {}</title></circle>"#,
            x(*fq),
            y(*mu),
            colour(&run.wrapper),
            run.id,
            objective(run),
            run.model,
            run.split.as_str(),
            display::metric(Some(*fq)),
            display::metric(Some(*mu))
        );
    }
    for (i, (label, wrapper)) in [("plain", "none"), ("BalDRO-DV", "dv"), ("BalDRO-G", "g")]
        .iter()
        .enumerate()
    {
        #[expect(clippy::cast_precision_loss, reason = "three legend rows")]
        let ly = top + 14.0 * i as f64 + 6.0;
        let _ = write!(
            svg,
            r#"<circle cx="{}" cy="{ly}" r="5" fill="{}"/><text x="{}" y="{}">{label}</text>"#,
            width - right - 90.0,
            colour(wrapper),
            width - right - 80.0,
            ly + 4.0
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// Reads sweep `sweep` from the database in `data_dir`, prints the table, and writes
/// `study.md` and `study.svg` into `out` when given.
pub fn report(
    data_dir: &Path,
    sweep: i64,
    out: Option<&Path>,
    w: &mut impl Write,
) -> anyhow::Result<()> {
    let path = data_dir.join("lethe.db");
    if !path.is_file() {
        anyhow::bail!("--data-dir: no database at {}", path.display());
    }
    let db = Db::open(&path)?;
    let runs = db.call_blocking(|conn| {
        let row = db::get_sweep(conn, sweep)?
            .with_context(|| format!("--sweep: no sweep {sweep} in {}", path.display()))?;
        row.run_ids
            .iter()
            .map(|id| {
                db::get_run(conn, *id)?
                    .map(|run| run.summary)
                    .with_context(|| format!("run {id} of sweep {sweep} is gone"))
            })
            .collect::<anyhow::Result<Vec<_>>>()
    })?;
    let table = table_markdown(&runs);
    w.write_all(table.as_bytes())?;
    if let Some(out) = out {
        std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
        std::fs::write(out.join("study.md"), &table)?;
        std::fs::write(out.join("study.svg"), scatter_svg(&runs))?;
        writeln!(w, "\nwrote {0}/study.md and {0}/study.svg", out.display())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::run::{Method, Split};

    fn run(id: i64, model: &str, method: Method, wrapper: &str, fq: f64) -> RunSummary {
        RunSummary {
            id,
            name: String::new(),
            state: RunState::Succeeded,
            model: model.into(),
            method,
            wrapper: wrapper.into(),
            split: Split::Forget01,
            tags: vec![],
            created_by: "local".into(),
            created_at_ms: 0,
            started_at_ms: None,
            finished_at_ms: None,
            sweep_id: Some(1),
            metrics: BTreeMap::from([("forget_quality".into(), fq), ("model_utility".into(), 0.5)]),
        }
    }

    #[test]
    fn the_table_puts_each_run_in_its_objective_row_and_model_column() {
        let mut queued = run(3, "qwen", Method::Npo, "none", 0.0);
        queued.state = RunState::Queued;
        let runs = [
            run(1, "demo", Method::Npo, "none", 0.02),
            run(2, "demo", Method::Wga, "dv", 3e-5),
            queued,
        ];
        let table = table_markdown(&runs);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines[0],
            "| objective | split | demo (FQ · MU · gibberish) | qwen (FQ · MU · gibberish) |"
        );
        assert_eq!(lines[2], "| NPO | forget01 | 0.020 · 0.500 · – | queued |");
        assert_eq!(
            lines[3],
            "| BalDRO-DV + WGA | forget01 | 3.00e-5 · 0.500 · – |  |"
        );
        let svg = scatter_svg(&runs);
        assert_eq!(
            svg.matches("<circle").count(),
            2 + 3,
            "two runs with metrics, three legend dots"
        );
        assert!(svg.contains(">1e-5<"), "decades down to the smallest FQ");
    }

    #[test]
    fn the_study_spec_spans_models_and_keeps_the_grid() {
        let sweep = spec(&["demo".into(), "tiny".into()], Some(1e-4), false)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(sweep.count(), 54);
        assert!(
            sweep
                .expand()
                .iter()
                .all(|r| (r.trainer.lr - 1e-4).abs() < 1e-18)
        );
        assert!(spec(&[], None, false).is_err());
        let attacked = spec(&["demo".into()], Some(1e-4), true).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            attacked.base.attacks,
            study_attacks(1e-4),
            "at the run's lr"
        );
    }
}
