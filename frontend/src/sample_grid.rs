//! Per-sample forgetting dynamics (tested natively): each forget item's loss and BalDRO-DV
//! weight in each pass over the forget set, from the steps a run reported.

use std::collections::BTreeMap;

use shared::live::StepPoint;

use crate::format::count;

/// Per-sample forgetting dynamics: each forget item's loss (and BalDRO-DV weight) in each data
/// epoch (pass over the forget set), the mean when it trained more than once in a pass. Every
/// item is drawn once per pass, so rows are items and columns passes; a blank cell is an item
/// not drawn in that pass's optimizer steps (the run stopped mid-pass, or BalDRO-G dropped it).
/// Each sample counts in the pass it was drawn in, not the step's: HF counts epochs in
/// optimizer steps, and a step can straddle two passes. Steps from logs without sample ids use
/// the position in the step as the id, and without sample epochs the step's epoch.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SampleGrid {
    /// Forget item ids, ascending (the rows).
    pub samples: Vec<usize>,
    /// Data epochs (0-based passes over the forget set), ascending (the columns).
    pub epochs: Vec<usize>,
    /// Samples drawn over all steps (a pass draws each item once).
    pub draws: usize,
    /// Optimizer steps.
    pub steps: usize,
    /// `loss[row][column]`.
    pub loss: Vec<Vec<Option<f64>>>,
    /// `weight[row][column]`; all `None` without DV.
    pub weight: Vec<Vec<Option<f64>>>,
}

/// Sums and counts of one grid cell.
#[derive(Debug, Clone, Copy, Default)]
struct Cell {
    loss: (f64, usize),
    weight: (f64, usize),
}

impl SampleGrid {
    /// The grid of `steps`.
    pub fn new(steps: &[StepPoint]) -> Self {
        let mut cells: BTreeMap<(usize, usize), Cell> = BTreeMap::new();
        let mut samples = Vec::new();
        let mut epochs = Vec::new();
        let mut draws = 0;
        for point in steps {
            for (k, loss) in point.per_sample.iter().enumerate() {
                let id = point.samples.get(k).copied().unwrap_or(k);
                let epoch = point.sample_epochs.get(k).copied().unwrap_or(point.epoch);
                draws += 1;
                let cell = cells.entry((id, epoch)).or_default();
                cell.loss.0 += loss;
                cell.loss.1 += 1;
                if let Some(weight) = point.weights.get(k) {
                    cell.weight.0 += weight;
                    cell.weight.1 += 1;
                }
                samples.push(id);
                epochs.push(epoch);
            }
        }
        samples.sort_unstable();
        samples.dedup();
        epochs.sort_unstable();
        epochs.dedup();
        #[expect(clippy::cast_precision_loss, reason = "small counts")]
        let mean = |(sum, n): (f64, usize)| (n > 0).then(|| sum / n as f64);
        let table = |pick: &dyn Fn(&Cell) -> Option<f64>| {
            samples
                .iter()
                .map(|s| {
                    epochs
                        .iter()
                        .map(|e| cells.get(&(*s, *e)).and_then(pick))
                        .collect()
                })
                .collect()
        };
        let loss = table(&|c| mean(c.loss));
        let weight = table(&|c| mean(c.weight));
        Self {
            samples,
            epochs,
            draws,
            steps: steps.len(),
            loss,
            weight,
        }
    }

    /// Column labels: passes counted from 1.
    pub fn column_labels(&self) -> Vec<String> {
        self.epochs.iter().map(|e| (e + 1).to_string()).collect()
    }

    /// What the columns are and what a blank cell means, in this run's numbers.
    pub fn note(&self) -> String {
        let items = self.samples.len();
        let passes = self.epochs.len();
        let holes = self.loss.iter().flatten().filter(|c| c.is_none()).count();
        let mut note = format!(
            "Each column is one pass over the forget set (a data epoch): {} drew {} of {}, {}. \
             The trainer counts epochs as HF does, in optimizer steps, so a step can straddle two passes; \
             each sample counts in the pass it was drawn in.",
            count(self.steps as u64, "optimizer step"),
            count(self.draws as u64, "sample"),
            count(items as u64, "forget item"),
            count(passes as u64, "pass"),
        );
        if holes > 0 {
            note.push_str(&format!(
                " A blank cell is an item not drawn in that pass's optimizer steps ({}): the run stopped mid-pass, or BalDRO-G dropped it.",
                count(holes as u64, "blank cell")
            ));
        }
        note
    }

    /// Whether any cell has a weight.
    pub fn has_weights(&self) -> bool {
        self.weight.iter().flatten().any(Option::is_some)
    }
}

/// How many forget samples each step trained on: `(step, count)`. Under BalDRO-G this is the
/// kept fraction of each micro-batch.
pub fn samples_per_step(steps: &[StepPoint]) -> Vec<(usize, usize)> {
    steps.iter().map(|p| (p.step, p.per_sample.len())).collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A step of 4 with `samples` (losses `sample + step`) and their DV `weights`; the live
    /// state's tests use it too.
    pub(crate) fn step(step: usize, samples: Vec<usize>, weights: Vec<f64>) -> StepPoint {
        StepPoint {
            step,
            total_steps: 4,
            epoch: 0,
            lr: 1e-5,
            loss: 1.0,
            forget_loss: 1.0,
            retain_loss: None,
            grad_norm: 1.0,
            per_sample: samples.iter().map(|s| *s as f64 + step as f64).collect(),
            sample_epochs: Vec::new(),
            samples,
            weights,
            tokens_per_s: 100.0,
            elapsed_s: step as f64 * 2.0,
        }
    }

    #[test]
    fn the_grid_follows_each_forget_item_across_epochs() {
        let mut steps = vec![
            step(1, vec![3, 0], vec![0.7, 0.3]),
            step(2, vec![0, 5], vec![0.4, 0.6]),
            step(3, vec![3], vec![1.0]),
        ];
        steps[2].epoch = 1;
        let grid = SampleGrid::new(&steps);
        assert_eq!(grid.samples, [0, 3, 5]);
        assert_eq!(grid.epochs, [0, 1]);
        // Item 0 trained twice in epoch 0 (losses 1 and 2): the mean.
        assert_eq!(grid.loss[0], [Some(1.5), None]);
        assert_eq!(grid.loss[1], [Some(4.0), Some(6.0)]);
        assert_eq!(grid.weight[1], [Some(0.7), Some(1.0)]);
        assert!(grid.has_weights());
        assert_eq!(samples_per_step(&steps), [(1, 2), (2, 2), (3, 1)]);
        assert!(!SampleGrid::new(&[step(1, vec![0], vec![])]).has_weights());
    }

    /// forget01 at bs 8 × GA 4: each step draws 32 of 40 items, so the second step holds the
    /// last 8 of pass 0 and 24 of pass 1. Cells follow the pass each sample was drawn in, not
    /// the step's epoch, so no pass has holes or doubles.
    #[test]
    fn samples_count_in_the_pass_they_were_drawn_in() {
        let mut order: Vec<usize> = Vec::new();
        let mut passes: Vec<usize> = Vec::new();
        for pass in 0..2 {
            order.extend((0..40).map(|i| (i * 7 + pass * 3) % 40));
            passes.extend([pass; 40]);
        }
        let steps: Vec<StepPoint> = (0..2)
            .map(|k| {
                let range = k * 32..(k + 1) * 32;
                let mut point = step(k + 1, order[range.clone()].to_vec(), vec![]);
                point.sample_epochs = passes[range].to_vec();
                point.epoch = passes[(k + 1) * 32 - 1];
                point
            })
            .collect();
        let grid = SampleGrid::new(&steps);
        assert_eq!(grid.epochs, [0, 1]);
        assert_eq!(grid.column_labels(), ["1", "2"]);
        assert_eq!(grid.samples.len(), 40);
        assert!(
            grid.loss.iter().all(|row| row[0].is_some()),
            "pass 0 is whole"
        );
        let drawn_in_pass_1 = grid.loss.iter().filter(|row| row[1].is_some()).count();
        assert_eq!(drawn_in_pass_1, 24);
        let note = grid.note();
        assert!(
            note.contains("2 optimizer steps drew 64 samples of 40 forget items, 2 passes"),
            "{note}"
        );
        assert!(note.contains("16 blank cells"), "{note}");
        // The step-epoch grid this replaces put pass 0's last 8 items in column 1 only.
        let mut old_style = steps.clone();
        for point in &mut old_style {
            point.sample_epochs.clear();
        }
        assert!(
            SampleGrid::new(&old_style)
                .loss
                .iter()
                .any(|row| row[0].is_none())
        );
    }
}
