//! The rules that read the forgetting trajectory: which evaluated point `eval.select` keeps, and
//! whether a `trainer.stop_when` guard ends the run. Pure functions of the points so far;
//! `docs/EVALUATION.md` states them for people.

use shared::run::{Select, StopReason, StopWhen, Stopped, TrajectoryPoint};

/// The forget metrics whose standstill `no_change_after` looks for.
pub const FORGET_METRICS: [&str; 3] = ["forget_Q_A_Prob", "forget_Q_A_ROUGE", "forget_truth_ratio"];

/// A value "has not moved" when it changed by at most this share of its size.
pub const NO_CHANGE_TOLERANCE: f64 = 1e-3;

/// The gibberish score the guard reads: the classifier's when it ran, else the heuristic's.
pub fn gibberish(point: &TrajectoryPoint) -> Option<(&'static str, f64)> {
    [
        engine::metrics::gibberish::CLASSIFIER,
        engine::metrics::gibberish::HEURISTIC,
    ]
    .into_iter()
    .find_map(|name| point.metrics.get(name).map(|v| (name, *v)))
}

/// Model utility over the step-0 utility, capped at 1 (the utility itself when step 0 had none).
pub fn relative_utility(point: &TrajectoryPoint, first: &TrajectoryPoint) -> Option<f64> {
    let mu = point.model_utility()?;
    Some(match first.model_utility() {
        Some(base) if base > 0.0 => (mu / base).min(1.0),
        _ => mu.min(1.0),
    })
}

/// `best_balance`'s score: the harmonic mean of forget quality and [`relative_utility`].
pub fn balance(point: &TrajectoryPoint, first: &TrajectoryPoint) -> Option<f64> {
    let fq = point.forget_quality()?;
    let mu = relative_utility(point, first)?;
    Some(if fq + mu > 0.0 {
        2.0 * fq * mu / (fq + mu)
    } else {
        0.0
    })
}

/// The score `rule` ranks a point by (higher is better), with utility as the tie-break.
fn score(rule: Select, point: &TrajectoryPoint, first: &TrajectoryPoint) -> Option<(f64, f64)> {
    let primary = match rule {
        Select::Last => return Some((0.0, 0.0)),
        Select::BestForgetQuality => point.forget_quality()?,
        Select::BestBalance => balance(point, first)?,
    };
    Some((primary, point.model_utility().unwrap_or(0.0)))
}

/// Whether `point` beats `best` (both evaluated points of one run whose first point is `first`)
/// under `rule`: a higher score, then a higher utility, then the later step.
pub fn better(
    rule: Select,
    point: &TrajectoryPoint,
    best: Option<&TrajectoryPoint>,
    first: &TrajectoryPoint,
) -> bool {
    let Some(candidate) = score(rule, point, first) else {
        return false;
    };
    let Some(best) = best.and_then(|b| score(rule, b, first)) else {
        return true;
    };
    candidate.0 > best.0 || (candidate.0 == best.0 && candidate.1 >= best.1)
}

/// Why `rule` picked `point`, in words.
pub fn reason(rule: Select, point: &TrajectoryPoint, first: &TrajectoryPoint, of: usize) -> String {
    let fq = point.forget_quality().unwrap_or(f64::NAN);
    let mu = point.model_utility().unwrap_or(f64::NAN);
    match rule {
        Select::Last => format!("the last step (step {})", point.step),
        Select::BestForgetQuality => format!(
            "highest forget quality of {of} evaluations: {fq:.4} at step {} (model utility {mu:.4})",
            point.step
        ),
        Select::BestBalance => format!(
            "highest balance of {of} evaluations: {:.4} at step {} (forget quality {fq:.4}, \
             model utility {mu:.4} = {:.2} of step 0's)",
            balance(point, first).unwrap_or(f64::NAN),
            point.step,
            relative_utility(point, first).unwrap_or(f64::NAN),
        ),
    }
}

fn unchanged(a: f64, b: f64) -> bool {
    (a - b).abs() <= NO_CHANGE_TOLERANCE * a.abs().max(b.abs()) + 1e-12
}

/// The guard of `stop` that `points` (oldest first; the last one just evaluated) trip, if any.
/// Step 0 never trips one.
pub fn check(stop: &StopWhen, points: &[TrajectoryPoint]) -> Option<Stopped> {
    let (first, last) = (points.first()?, points.last()?);
    if last.step == 0 {
        return None;
    }
    let stopped = |reason, detail| {
        Some(Stopped {
            step: last.step,
            reason,
            detail,
        })
    };
    if let (Some(fraction), Some(mu), Some(base)) =
        (stop.mu_below, last.model_utility(), first.model_utility())
        && mu < fraction * base
    {
        return stopped(
            StopReason::CollapsedUtility,
            format!(
                "model utility {mu:.4} at step {} is below {fraction} × {base:.4} (step 0)",
                last.step
            ),
        );
    }
    if let (Some(floor), Some((name, score))) = (stop.gibberish_below, gibberish(last))
        && score < floor
    {
        return stopped(
            StopReason::Gibberish,
            format!("{name} {score:.4} at step {} is below {floor}", last.step),
        );
    }
    if let Some(after) = stop.no_change_after
        && let Some(from) = points.iter().rposition(|p| p.step + after <= last.step)
    {
        let values = |p: &TrajectoryPoint| {
            FORGET_METRICS
                .iter()
                .map(|name| p.metrics.get(*name).copied())
                .collect::<Option<Vec<f64>>>()
        };
        let now = values(last)?;
        let still = points[from..].iter().all(|p| {
            values(p).is_some_and(|then| then.iter().zip(&now).all(|(a, b)| unchanged(*a, *b)))
        });
        if still {
            return stopped(
                StopReason::NoChange,
                format!(
                    "forget probability, ROUGE and truth ratio moved by at most {} of their \
                     size from step {} to step {} ({} ≥ {after} steps)",
                    NO_CHANGE_TOLERANCE,
                    points[from].step,
                    last.step,
                    last.step - points[from].step
                ),
            );
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn point(step: usize, fq: f64, mu: f64) -> TrajectoryPoint {
        TrajectoryPoint {
            step,
            epoch: 0.0,
            eval_seconds: 0.0,
            metrics: BTreeMap::from([
                ("forget_quality".to_string(), fq),
                ("model_utility".to_string(), mu),
                ("forget_Q_A_Prob".to_string(), 0.5),
                ("forget_Q_A_ROUGE".to_string(), 0.4),
                ("forget_truth_ratio".to_string(), 0.6),
                (engine::metrics::gibberish::HEURISTIC.to_string(), 0.9),
            ]),
        }
    }

    fn pick(rule: Select, points: &[TrajectoryPoint]) -> usize {
        let mut best: Option<&TrajectoryPoint> = None;
        for p in points {
            if better(rule, p, best, &points[0]) {
                best = Some(p);
            }
        }
        best.unwrap().step
    }

    #[test]
    fn best_forget_quality_is_the_maximum_with_utility_then_lateness_breaking_ties() {
        let points = [
            point(0, 0.01, 0.6),
            point(5, 0.30, 0.5),
            point(10, 0.90, 0.3),
            point(15, 0.90, 0.4),
            point(20, 0.90, 0.4),
            point(25, 0.20, 0.6),
        ];
        assert_eq!(pick(Select::BestForgetQuality, &points), 20);
    }

    #[test]
    fn best_balance_weighs_utility_against_step_zero() {
        // FQ 0.9 at a third of the utility loses to FQ 0.5 at 90% of it:
        // HM(0.9, 1/3) = 0.486 < HM(0.5, 0.9) = 0.643.
        let points = [
            point(0, 0.01, 0.6),
            point(5, 0.5, 0.54),
            point(10, 0.9, 0.2),
        ];
        assert_eq!(pick(Select::BestBalance, &points), 5);
        assert!((balance(&points[1], &points[0]).unwrap() - 0.642_857).abs() < 1e-5);
        // Utility above step 0's counts as 1.
        assert_eq!(relative_utility(&point(3, 0.1, 0.9), &points[0]), Some(1.0));
    }

    #[test]
    fn points_without_forget_quality_are_never_selected() {
        let mut no_fq = point(5, 0.0, 0.5);
        no_fq.metrics.remove("forget_quality");
        assert!(!better(Select::BestForgetQuality, &no_fq, None, &no_fq));
    }

    #[test]
    fn the_utility_guard_trips_below_its_fraction_of_step_zero() {
        let stop = StopWhen {
            mu_below: Some(0.5),
            ..StopWhen::default()
        };
        let mut points = vec![point(0, 0.1, 0.6), point(5, 0.2, 0.31)];
        assert_eq!(check(&stop, &points), None);
        points.push(point(10, 0.3, 0.29));
        let stopped = check(&stop, &points).unwrap();
        assert_eq!(stopped.reason, StopReason::CollapsedUtility);
        assert_eq!(stopped.step, 10);
        assert!(stopped.detail.contains("0.2900"), "{}", stopped.detail);
    }

    #[test]
    fn the_gibberish_guard_prefers_the_classifier() {
        let stop = StopWhen {
            gibberish_below: Some(0.5),
            ..StopWhen::default()
        };
        let mut late = point(5, 0.1, 0.6);
        assert_eq!(check(&stop, &[point(0, 0.1, 0.6), late.clone()]), None);
        late.metrics
            .insert(engine::metrics::gibberish::CLASSIFIER.into(), 0.2);
        let stopped = check(&stop, &[point(0, 0.1, 0.6), late]).unwrap();
        assert_eq!(stopped.reason, StopReason::Gibberish);
        assert!(stopped.detail.starts_with("forget_Q_A_gibberish 0.2000"));
    }

    #[test]
    fn the_standstill_guard_needs_the_whole_window_unchanged() {
        let stop = StopWhen {
            no_change_after: Some(10),
            ..StopWhen::default()
        };
        let mut points = vec![point(0, 0.1, 0.6), point(5, 0.1, 0.6)];
        assert_eq!(check(&stop, &points), None, "5 steps is not 10");
        let mut moved = point(10, 0.1, 0.6);
        moved.metrics.insert("forget_Q_A_Prob".into(), 0.45);
        points.push(moved);
        assert_eq!(check(&stop, &points), None, "the probability moved");
        points.push(point(15, 0.1, 0.6));
        assert_eq!(check(&stop, &points), None, "steps 5 to 15, but 10 moved");
        points.push(point(20, 0.1, 0.6));
        assert_eq!(check(&stop, &points), None, "steps 10 to 20, but 10 moved");
        points.push(point(25, 0.1, 0.6));
        let stopped = check(&stop, &points).unwrap();
        assert_eq!((stopped.reason, stopped.step), (StopReason::NoChange, 25));
        assert!(
            stopped.detail.contains("from step 15 to step 25"),
            "{}",
            stopped.detail
        );
    }
}
