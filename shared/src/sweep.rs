//! A sweep: one base [`RunSpec`] and a grid of axes, expanded into runs in a fixed order
//! (models, then splits, then objectives, then wrappers, then learning rates, then seeds). An
//! empty axis keeps the base value.

use serde::{Deserialize, Serialize};

use crate::error::FieldError;
use crate::run::{Direction, Method, ObjectiveSpec, RunSpec, Split, Wrapper};

/// The axes of a grid.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Grid {
    /// Model ids.
    pub models: Vec<String>,
    /// Forget splits.
    pub splits: Vec<Split>,
    /// Objectives with their hyperparameters.
    pub objectives: Vec<ObjectiveSpec>,
    /// Wrappers.
    pub wrappers: Vec<Wrapper>,
    /// Learning rates.
    pub lrs: Vec<f64>,
    /// Seeds.
    pub seeds: Vec<u64>,
}

/// A grid of runs submitted together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepSpec {
    /// Sweep label.
    pub name: String,
    /// What every run shares.
    pub base: RunSpec,
    /// What varies.
    #[serde(default)]
    pub grid: Grid,
}

/// Most runs one sweep may create.
pub const MAX_RUNS: usize = 1000;

fn axis<T: Clone>(values: &[T], base: T) -> Vec<T> {
    if values.is_empty() {
        vec![base]
    } else {
        values.to_vec()
    }
}

impl SweepSpec {
    /// The study Lethe was built for, on one model: NPO, WGA and TNPO, each plain, with
    /// BalDRO-DV (τ = 1, the code's soft-min) and with BalDRO-G (ratio 0.5), on forget01, 05 and
    /// 10, with the spec's training defaults: 27 runs, tagged `seed-study`.
    pub fn seed_study(model: &str) -> Self {
        Self {
            name: "seed-study".into(),
            base: RunSpec::new(model, Method::Npo),
            grid: Grid {
                objectives: [Method::Npo, Method::Wga, Method::Tnpo]
                    .map(ObjectiveSpec::new)
                    .to_vec(),
                wrappers: vec![
                    Wrapper::None,
                    Wrapper::Dv {
                        tau: 1.0,
                        direction: Direction::SoftMin,
                    },
                    Wrapper::G { ratio: 0.5 },
                ],
                splits: Split::ALL.to_vec(),
                ..Grid::default()
            },
        }
    }

    /// How many runs the grid makes (before validation).
    pub fn count(&self) -> usize {
        let g = &self.grid;
        [
            g.models.len(),
            g.splits.len(),
            g.objectives.len(),
            g.wrappers.len(),
            g.lrs.len(),
            g.seeds.len(),
        ]
        .iter()
        .map(|n| (*n).max(1))
        .fold(1_usize, usize::saturating_mul)
    }

    /// The runs, in grid order; each is named `<sweep>/<run>` and tagged with the sweep name.
    pub fn expand(&self) -> Vec<RunSpec> {
        let b = &self.base;
        let g = &self.grid;
        let mut runs = Vec::with_capacity(self.count().min(MAX_RUNS));
        for model in axis(&g.models, b.model.clone()) {
            for split in axis(&g.splits, b.data.split) {
                for objective in axis(&g.objectives, b.objective.clone()) {
                    for wrapper in axis(&g.wrappers, b.wrapper) {
                        for lr in axis(&g.lrs, b.trainer.lr) {
                            for seed in axis(&g.seeds, b.trainer.seed) {
                                let mut run = b.clone();
                                run.model.clone_from(&model);
                                run.data.split = split;
                                run.objective = objective.clone();
                                run.wrapper = wrapper;
                                run.trainer.lr = lr;
                                run.trainer.seed = seed;
                                run.name = None;
                                run.name = Some(format!("{}/{}", self.name, run.display_name()));
                                if !run.tags.contains(&self.name) {
                                    run.tags.push(self.name.clone());
                                }
                                runs.push(run);
                            }
                        }
                    }
                }
            }
        }
        runs
    }

    /// Problems with the sweep: its own fields, then the first bad run's fields prefixed
    /// `runs.<i>.`.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if self.name.trim().is_empty() || self.name.len() > 64 || self.name.contains(',') {
            errors.push(FieldError {
                field: "name".into(),
                message: "1 to 64 characters, no commas".into(),
            });
        }
        let count = self.count();
        if count > MAX_RUNS {
            errors.push(FieldError {
                field: "grid".into(),
                message: format!("the grid makes {count} runs; at most {MAX_RUNS}"),
            });
            return errors;
        }
        for (i, run) in self.expand().iter().enumerate() {
            let run_errors = run.validate();
            if !run_errors.is_empty() {
                errors.extend(run_errors.into_iter().map(|e| FieldError {
                    field: format!("runs.{i}.{}", e.field),
                    message: e.message,
                }));
                break;
            }
        }
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn study() -> SweepSpec {
        SweepSpec::seed_study("demo")
    }

    #[test]
    fn the_study_grid_expands_in_order() {
        let sweep = study();
        assert_eq!(sweep.count(), 27);
        let runs = sweep.expand();
        assert_eq!(runs.len(), 27);
        assert_eq!(runs[0].name.as_deref(), Some("seed-study/npo-forget01"));
        assert_eq!(runs[1].name.as_deref(), Some("seed-study/dv-npo-forget01"));
        assert_eq!(runs[3].objective.method, Method::Wga);
        assert_eq!(runs[9].data.split, Split::Forget05);
        assert!(runs.iter().all(|r| r.tags == ["seed-study"]));
        assert!(sweep.validate().is_empty());
    }

    #[test]
    fn oversized_and_invalid_grids_are_refused() {
        let mut sweep = study();
        sweep.grid.seeds = (0..100).collect();
        assert_eq!(sweep.count(), 2700);
        assert_eq!(sweep.validate()[0].field, "grid");
        let mut sweep = study();
        sweep.grid.lrs = vec![1e-5, -1.0];
        let errors = sweep.validate();
        assert_eq!(errors[0].field, "runs.1.trainer.lr", "{errors:?}");
    }
}
