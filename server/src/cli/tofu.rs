//! `lethe tofu summarize` and `lethe tofu rescore`: published TOFU eval logs, recomputed from
//! their own per-item values. Both read open-unlearning's `TOFU_EVAL.json` and the original TOFU
//! repository's log directories.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use engine::metrics::legacy::LegacyLogs;
use engine::metrics::rouge::rouge;
use engine::metrics::tofu_log::EvalLog;

/// Relative difference above which a recomputed value is reported as disagreeing.
const TOLERANCE: f64 = 1e-9;

enum Log {
    Open(EvalLog),
    Legacy(LegacyLogs),
}

fn open(path: &Path, flag: &str) -> anyhow::Result<Log> {
    if path.is_dir() && LegacyLogs::is_legacy_dir(path) {
        return Ok(Log::Legacy(
            LegacyLogs::read(path).with_context(|| flag.to_string())?,
        ));
    }
    let file: PathBuf = if path.is_dir() {
        path.join("TOFU_EVAL.json")
    } else {
        path.to_path_buf()
    };
    Ok(Log::Open(
        EvalLog::read(&file).with_context(|| flag.to_string())?,
    ))
}

fn print_values(
    values: &BTreeMap<String, f64>,
    stored: &BTreeMap<String, Option<f64>>,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    if json {
        writeln!(out, "{}", serde_json::to_string(values)?)?;
        return Ok(());
    }
    writeln!(
        out,
        "{:<32} {:>24} {:>24}",
        "metric", "recomputed", "stored"
    )?;
    for (name, value) in values {
        let stored = stored
            .get(name)
            .copied()
            .flatten()
            .map_or_else(|| "-".to_string(), |s| format!("{s:.15e}"));
        writeln!(out, "{name:<32} {value:>24.15e} {stored:>24}")?;
    }
    Ok(())
}

/// Runs `lethe tofu summarize`.
pub fn summarize(
    log: &Path,
    retain_ref: Option<&Path>,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let retain = retain_ref.map(|p| open(p, "--retain-ref")).transpose()?;
    match (open(log, "log")?, retain) {
        (Log::Open(log), retain) => {
            let retain = match retain {
                Some(Log::Open(retain)) => Some(retain),
                Some(Log::Legacy(_)) => {
                    anyhow::bail!(
                        "--retain-ref: an original TOFU log cannot serve as the retain reference of an open-unlearning log"
                    )
                }
                None => None,
            };
            let recomputed = log.recompute(retain.as_ref())?;
            let mut values = BTreeMap::new();
            let mut stored = BTreeMap::new();
            for (name, r) in &recomputed {
                if r.disagrees(TOLERANCE) {
                    tracing::warn!(
                        metric = %name,
                        stored = r.stored,
                        recomputed = r.value,
                        "the log's stored value disagrees with its per-item values"
                    );
                }
                if let Some(value) = r.value {
                    values.insert(name.clone(), value);
                    stored.insert(name.clone(), r.stored);
                }
            }
            print_values(&values, &stored, json, out)
        }
        (Log::Legacy(log), retain) => {
            let retain = match retain {
                Some(Log::Legacy(retain)) => Some(retain),
                Some(Log::Open(_)) => {
                    anyhow::bail!(
                        "--retain-ref: an original TOFU log needs an original TOFU retain log"
                    )
                }
                None => None,
            };
            let values = log.metrics(retain.as_ref())?;
            print_values(&values, &BTreeMap::new(), json, out)
        }
    }
}

/// Agreement of one recomputed per-item quantity with the stored one.
#[derive(Debug, Default, serde::Serialize)]
struct Agreement {
    items: usize,
    mismatches: usize,
    max_abs_diff: f64,
}

impl Agreement {
    fn add(&mut self, recomputed: f64, stored: f64, tolerance: f64) {
        let diff = (recomputed - stored).abs();
        self.items += 1;
        self.max_abs_diff = self.max_abs_diff.max(diff);
        if diff > tolerance * stored.abs().max(recomputed.abs()) + 1e-12 {
            self.mismatches += 1;
        }
    }
}

/// Runs `lethe tofu rescore`.
pub fn rescore(log: &Path, json: bool, out: &mut impl Write) -> anyhow::Result<()> {
    let mut report: BTreeMap<String, Agreement> = BTreeMap::new();
    match open(log, "log")? {
        Log::Legacy(log) => {
            for (file, _) in engine::metrics::legacy::FILES {
                let entry = report.entry(format!("{file}/truth_ratio")).or_default();
                for (ours, stored) in log.truth_ratio_pairs(file)? {
                    // The original logs computed it in f32 from losses up to ~10, whose
                    // rounding exp() turns into ~1e-6 relative.
                    entry.add(ours, stored, 1e-5);
                }
            }
            for item in log.generations()? {
                let scores = rouge(&item.ground_truth, &item.generation);
                let key = |what: &str| format!("{}/{what}", item.file);
                report.entry(key("rougeL_recall")).or_default().add(
                    scores.rouge_l.recall,
                    item.rouge_l_recall,
                    TOLERANCE,
                );
                report.entry(key("rouge1_recall")).or_default().add(
                    scores.rouge1.recall,
                    item.rouge1_recall,
                    TOLERANCE,
                );
            }
        }
        Log::Open(log) => {
            for name in log.metrics.keys() {
                if name.ends_with("_ROUGE") {
                    let Some(items) = log.items(name)? else {
                        continue;
                    };
                    for (index, item) in items {
                        let text = |field: &str| {
                            item.get(field).and_then(|v| v.as_str()).with_context(|| {
                                format!("{}: {name}.{index} has no `{field}`", log.path.display())
                            })
                        };
                        let scores = rouge(text("ground_truth")?, text("generation")?);
                        for (field, value) in [
                            ("rougeL_recall", scores.rouge_l.recall),
                            ("rouge1_recall", scores.rouge1.recall),
                            ("rougeL_f1", scores.rouge_l.fmeasure),
                        ] {
                            if let Some(stored) =
                                item.get(field).and_then(serde_json::Value::as_f64)
                            {
                                report
                                    .entry(format!("{name}/{field}"))
                                    .or_default()
                                    .add(value, stored, TOLERANCE);
                            }
                        }
                    }
                }
            }
            for (metric, prefix) in [
                ("forget_truth_ratio", "forget"),
                ("retain_Truth_Ratio", "retain"),
                ("ra_Truth_Ratio", "ra"),
                ("wf_Truth_Ratio", "wf"),
            ] {
                let (Some(stored), Some(ours)) =
                    (log.field(metric, "score")?, log.truth_ratios(prefix)?)
                else {
                    continue;
                };
                let entry = report.entry(format!("{metric}/score")).or_default();
                for (index, value) in ours {
                    if let Some(s) = stored.get(&index) {
                        entry.add(value, *s, 1e-6);
                    }
                }
            }
        }
    }
    if json {
        writeln!(out, "{}", serde_json::to_string(&report)?)?;
    } else {
        writeln!(
            out,
            "{:<48} {:>6} {:>10} {:>12}",
            "value", "items", "mismatches", "max |diff|"
        )?;
        for (name, a) in &report {
            writeln!(
                out,
                "{name:<48} {:>6} {:>10} {:>12.3e}",
                a.items, a.mismatches, a.max_abs_diff
            )?;
        }
    }
    Ok(())
}
