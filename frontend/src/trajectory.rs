//! The forgetting trajectory as the pages draw it (tested natively): each run's evaluations
//! during training as a path through the forget-quality × model-utility plane, labelled by
//! step, with the checkpoint the run kept marked.

use shared::run::TrajectoryPoint;

/// One point of a [`Path`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stop {
    /// Optimizer steps done.
    pub step: usize,
    /// Forget quality.
    pub fq: f64,
    /// Model utility.
    pub mu: f64,
}

/// One run's path.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    /// Legend label.
    pub name: String,
    /// The points that have both forget quality and model utility, in step order.
    pub stops: Vec<Stop>,
    /// The step of the kept checkpoint, when the run selected one.
    pub selected: Option<usize>,
}

impl Path {
    /// The path of `points`; `selected` is the `selected_step` metric of a finished run.
    pub fn new(name: impl Into<String>, points: &[TrajectoryPoint], selected: Option<f64>) -> Self {
        let stops = points
            .iter()
            .filter_map(|p| {
                Some(Stop {
                    step: p.step,
                    fq: p.forget_quality()?,
                    mu: p.model_utility()?,
                })
            })
            .collect();
        Self {
            name: name.into(),
            stops,
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "a step number the server wrote as a float"
            )]
            selected: selected
                .filter(|s| s.is_finite() && *s >= 0.0)
                .map(|s| s as usize),
        }
    }

    /// The marked point, when it is on the path.
    pub fn selected_stop(&self) -> Option<Stop> {
        let step = self.selected?;
        self.stops.iter().copied().find(|s| s.step == step)
    }
}

/// Which points get a step label: the first, the last, the selected one and about `target` in
/// between, so a long trajectory stays readable.
pub fn labelled(path: &Path, target: usize) -> Vec<bool> {
    let n = path.stops.len();
    let stride = n.div_ceil(target.max(1)).max(1);
    path.stops
        .iter()
        .enumerate()
        .map(|(i, stop)| {
            i == 0 || i + 1 == n || i % stride == 0 || Some(stop.step) == path.selected
        })
        .collect()
}

/// The points of an `evals.jsonl` file; lines that do not parse (a torn last line) are skipped.
pub fn parse_lines(text: &str) -> Vec<TrajectoryPoint> {
    text.lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn point(step: usize, fq: Option<f64>, mu: f64) -> TrajectoryPoint {
        let mut metrics = BTreeMap::from([("model_utility".to_string(), mu)]);
        if let Some(fq) = fq {
            metrics.insert("forget_quality".into(), fq);
        }
        TrajectoryPoint {
            step,
            epoch: 0.0,
            eval_seconds: 0.1,
            metrics,
        }
    }

    #[test]
    fn a_path_keeps_the_points_it_can_place_and_finds_the_selected_one() {
        let points = [
            point(0, Some(0.01), 0.6),
            point(5, None, 0.5),
            point(10, Some(0.4), 0.5),
        ];
        let path = Path::new("npo", &points, Some(10.0));
        assert_eq!(
            path.stops.iter().map(|s| s.step).collect::<Vec<_>>(),
            [0, 10]
        );
        assert_eq!(path.selected_stop().map(|s| s.fq), Some(0.4));
        assert_eq!(Path::new("npo", &points, None).selected_stop(), None);
        assert_eq!(Path::new("npo", &points, Some(5.0)).selected_stop(), None);
    }

    #[test]
    fn labels_thin_out_but_keep_the_ends_and_the_selection() {
        let points: Vec<TrajectoryPoint> = (0..20).map(|s| point(s, Some(0.1), 0.5)).collect();
        let path = Path::new("npo", &points, Some(7.0));
        let shown: Vec<usize> = labelled(&path, 4)
            .iter()
            .enumerate()
            .filter(|(_, on)| **on)
            .map(|(i, _)| i)
            .collect();
        assert_eq!(shown, [0, 5, 7, 10, 15, 19]);
    }

    #[test]
    fn jsonl_lines_parse_and_torn_ones_are_skipped() {
        let text = format!(
            "{}\n{{\"step\": 3, \"epo",
            serde_json::to_string(&point(0, Some(1.0), 0.5)).unwrap()
        );
        let points = parse_lines(&text);
        assert_eq!(points.len(), 1);
        assert_eq!(points[0].forget_quality(), Some(1.0));
    }
}
