//! How runs read in tables, shared by the UI and `lethe study report` so the two never drift
//! apart: metric values, objectives as papers name them, and the gibberish column.

use crate::run::{Method, RunSummary};
use crate::tofu;

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
        run.metrics.get(tofu::GIBBERISH),
        run.metrics.get(tofu::GIBBERISH_HEURISTIC),
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
    fn objectives_read_like_the_papers() {
        assert_eq!(objective(Method::Npo, "none"), "NPO");
        assert_eq!(objective(Method::Npo, "dv"), "BalDRO-DV + NPO");
        assert_eq!(objective(Method::Wga, "g"), "BalDRO-G + WGA");
    }
}
