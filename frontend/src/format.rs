//! Pure formatting of run data for tables (tested natively).

pub use shared::display::{gibberish, metric, objective};
use shared::run::RunState;

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

/// `1 run`, `3 runs`, `2 passes`.
pub fn count(n: u64, noun: &str) -> String {
    match (n, noun.ends_with('s')) {
        (1, _) => format!("1 {noun}"),
        (_, true) => format!("{n} {noun}es"),
        _ => format!("{n} {noun}s"),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_use_the_largest_whole_unit() {
        assert_eq!(age(10_000, 5_000), "5s");
        assert_eq!(age(200_000, 0), "3m");
        assert_eq!(age(7_300_000, 0), "2h");
        assert_eq!(age(400_000_000, 0), "4d");
        assert_eq!(age(0, 5_000), "0s");
    }

    #[test]
    fn badges_and_counts() {
        assert_eq!(state_class(RunState::Interrupted), "badge badge-stopped");
        assert_eq!(count(1, "run"), "1 run");
        assert_eq!(count(0, "run"), "0 runs");
        assert_eq!(count(8, "pass"), "8 passes");
    }
}
