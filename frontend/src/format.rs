//! Pure formatting of run data for tables (tested natively).

pub use shared::display::{gibberish, metric, objective};
use shared::run::{Placement, RunState};

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

/// Where a run ran, or runs: `Running on wgpu:0 and wgpu:1 of this host`, or `Running as
/// SLURM job 4242 (PENDING)`.
pub fn placement(placement: &Placement, state: RunState) -> String {
    let done = state.is_terminal();
    if let Some(job) = &placement.job_id {
        let verb = if done { "Ran" } else { "Running" };
        let cluster = if placement.executor == "slurm" {
            "SLURM".to_string()
        } else {
            placement.executor.clone()
        };
        let job_state = placement
            .job_state
            .as_ref()
            .map(|s| format!(" ({s})"))
            .unwrap_or_default();
        let requeues = match placement.requeues {
            0 => String::new(),
            1 => ", requeued once: started again from scratch".to_string(),
            n => format!(", requeued {n} times: started again from scratch"),
        };
        return format!("{verb} as {cluster} job {job}{job_state}{requeues}");
    }
    if placement.executor != "local" {
        return if done {
            format!("Handed to {}", placement.executor)
        } else {
            format!("Being submitted to {}", placement.executor)
        };
    }
    let verb = if done { "Ran" } else { "Running" };
    let devices = match placement.devices.as_slice() {
        [] => String::new(),
        [one] => format!(" on {one}"),
        [rest @ .., last] => format!(" on {} and {last}", rest.join(", ")),
    };
    format!("{verb}{devices} of this host")
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

    #[test]
    fn placements_name_the_devices() {
        let two = Placement::local(vec!["cuda:0".into(), "cuda:1".into()]);
        assert_eq!(
            placement(&two, RunState::Running),
            "Running on cuda:0 and cuda:1 of this host"
        );
        let three = Placement::local(vec!["wgpu:0".into(), "wgpu:1".into(), "wgpu:2".into()]);
        assert_eq!(
            placement(&three, RunState::Succeeded),
            "Ran on wgpu:0, wgpu:1 and wgpu:2 of this host"
        );
        let mut job = Placement::slurm(Some("4242".into()));
        assert_eq!(
            placement(&job, RunState::Running),
            "Running as SLURM job 4242"
        );
        job.job_state = Some("PENDING".into());
        assert_eq!(
            placement(&job, RunState::Running),
            "Running as SLURM job 4242 (PENDING)"
        );
        job.job_state = Some("COMPLETED".into());
        job.requeues = 1;
        assert_eq!(
            placement(&job, RunState::Succeeded),
            "Ran as SLURM job 4242 (COMPLETED), requeued once: started again from scratch"
        );
        assert_eq!(
            placement(&Placement::slurm(None), RunState::Running),
            "Being submitted to slurm"
        );
    }
}
