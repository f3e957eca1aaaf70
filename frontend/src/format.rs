//! Pure formatting of run data for tables (tested natively).

use shared::run::{Method, RunState, RunSummary};

/// A metric for a table cell: forget quality spans many orders of magnitude (1e-21 … 1), so
/// values below 0.001 use scientific notation; absent values are an en dash.
pub fn metric(value: Option<f64>) -> String {
    match value {
        None => "–".into(),
        Some(v) if !v.is_finite() => "–".into(),
        Some(0.0) => "0".into(),
        Some(v) if v.abs() < 1e-3 => format!("{v:.2e}"),
        Some(v) => format!("{v:.3}"),
    }
}

/// Time since `then_ms` (Unix milliseconds) as `5s`, `3m`, `2h`, `4d`.
pub fn age(now_ms: i64, then_ms: i64) -> String {
    let seconds = (now_ms - then_ms).max(0) / 1000;
    match seconds {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

/// `1 run`, `3 runs`.
pub fn count(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// CSS class of a state badge.
pub fn state_class(state: RunState) -> &'static str {
    match state {
        RunState::Queued => "badge badge-queued",
        RunState::Running => "badge badge-running",
        RunState::Succeeded => "badge badge-succeeded",
        RunState::Failed => "badge badge-failed",
        RunState::Cancelled | RunState::Interrupted => "badge badge-stopped",
    }
}

/// `NPO`, `BalDRO-DV + NPO`, `BalDRO-G + WGA`.
pub fn objective(method: Method, wrapper: &str) -> String {
    match wrapper {
        "dv" => format!("BalDRO-DV + {}", method.label()),
        "g" => format!("BalDRO-G + {}", method.label()),
        _ => method.label().to_string(),
    }
}

/// The gibberish value a table shows: the classifier's when present, else the offline
/// detector's (marked with `*`).
pub fn gibberish(run: &RunSummary) -> String {
    match (
        run.metrics.get("forget_Q_A_gibberish"),
        run.metrics.get("forget_Q_A_gibberish_heuristic"),
    ) {
        (Some(v), _) => metric(Some(*v)),
        (None, Some(v)) => format!("{}*", metric(Some(*v))),
        (None, None) => metric(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_switch_to_scientific_for_tiny_forget_quality() {
        assert_eq!(metric(Some(0.627_555)), "0.628");
        assert_eq!(metric(Some(0.001_270_814)), "0.001");
        assert_eq!(metric(Some(1.834e-21)), "1.83e-21");
        assert_eq!(metric(Some(0.0)), "0");
        assert_eq!(metric(None), "–");
        assert_eq!(metric(Some(f64::NAN)), "–");
    }

    #[test]
    fn ages_use_the_largest_whole_unit() {
        assert_eq!(age(10_000, 5_000), "5s");
        assert_eq!(age(200_000, 0), "3m");
        assert_eq!(age(7_300_000, 0), "2h");
        assert_eq!(age(400_000_000, 0), "4d");
        assert_eq!(age(0, 5_000), "0s");
    }

    #[test]
    fn objectives_read_like_the_papers() {
        assert_eq!(objective(Method::Npo, "none"), "NPO");
        assert_eq!(objective(Method::Npo, "dv"), "BalDRO-DV + NPO");
        assert_eq!(objective(Method::Wga, "g"), "BalDRO-G + WGA");
        assert_eq!(state_class(RunState::Interrupted), "badge badge-stopped");
        assert_eq!(count(1, "run"), "1 run");
        assert_eq!(count(0, "run"), "0 runs");
    }
}
