//! The live page's model of a run (tested natively): [`LiveState::apply`] folds the socket's
//! events into it, and reports a gap in the sequence numbers so the page reconnects and gets a
//! fresh snapshot rather than drawing a run with a hole in it.

use shared::live::{EvalPoint, ServerEvent, StepPoint};
use shared::run::{RunDetail, RunState, TrajectoryPoint};

/// Log lines kept for the tail.
pub const LOG_LINES: usize = 200;

/// Events arrived out of order: `expected` was next, `got` came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gap {
    /// The sequence number that should have come.
    pub expected: u64,
    /// The one that came.
    pub got: u64,
}

/// Everything the live page draws.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiveState {
    /// Sequence number of the last event applied.
    pub seq: Option<u64>,
    /// The run (from the snapshot, with state and metrics kept current).
    pub run: Option<RunDetail>,
    /// Every step so far.
    pub steps: Vec<StepPoint>,
    /// Latest evaluation progress.
    pub eval: Option<EvalPoint>,
    /// The evaluations during training so far.
    pub trajectory: Vec<TrajectoryPoint>,
    /// The log tail, oldest first.
    pub log: Vec<String>,
}

/// Where training is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Steps done.
    pub step: usize,
    /// Steps in the run.
    pub total: usize,
    /// Seconds left at the average pace so far, once a step has finished.
    pub eta_s: Option<f64>,
}

impl Progress {
    /// Fraction done, 0 to 1.
    pub fn fraction(&self) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        #[expect(clippy::cast_precision_loss, reason = "step counts")]
        let f = self.step as f64 / self.total as f64;
        f.clamp(0.0, 1.0)
    }
}

impl LiveState {
    /// Folds one event in. A snapshot replaces everything; any other event must carry the next
    /// sequence number, or nothing changes and the gap is returned.
    pub fn apply(&mut self, event: ServerEvent) -> Result<(), Gap> {
        if let ServerEvent::Snapshot { seq, snapshot } = event {
            let snapshot = *snapshot;
            self.seq = Some(seq);
            self.run = Some(snapshot.run);
            self.steps = snapshot.steps;
            self.eval = snapshot.eval;
            self.trajectory = snapshot.trajectory;
            self.log = snapshot.log;
            self.trim_log();
            return Ok(());
        }
        let got = event.seq();
        let expected = self.seq.map_or(0, |s| s + 1);
        if self.seq.is_none() || got != expected {
            return Err(Gap { expected, got });
        }
        self.seq = Some(got);
        match event {
            ServerEvent::Snapshot { .. } => {}
            ServerEvent::Step { point, .. } => self.steps.push(point),
            ServerEvent::Eval { point, .. } => self.eval = Some(point),
            ServerEvent::Trajectory { point, .. } => self.trajectory.push(point),
            ServerEvent::Metrics { metrics, .. } => {
                if let Some(run) = &mut self.run {
                    run.summary.metrics = metrics;
                }
            }
            ServerEvent::Log { line, .. } => {
                self.log.push(line);
                self.trim_log();
            }
            ServerEvent::State { state, error, .. } => {
                if let Some(run) = &mut self.run {
                    run.summary.state = state;
                    if error.is_some() {
                        run.error = error;
                    }
                }
            }
        }
        Ok(())
    }

    fn trim_log(&mut self) {
        let excess = self.log.len().saturating_sub(LOG_LINES);
        self.log.drain(..excess);
    }

    /// The run's state, once the snapshot arrived.
    pub fn state(&self) -> Option<RunState> {
        self.run.as_ref().map(|run| run.summary.state)
    }

    /// Training progress from the last step: the ETA assumes the remaining steps take as long
    /// as the finished ones did on average.
    pub fn progress(&self) -> Option<Progress> {
        let last = self.steps.last()?;
        #[expect(clippy::cast_precision_loss, reason = "step counts")]
        let eta_s = (last.step > 0 && last.elapsed_s > 0.0).then(|| {
            last.elapsed_s / last.step as f64 * last.total_steps.saturating_sub(last.step) as f64
        });
        Some(Progress {
            step: last.step,
            total: last.total_steps,
            eta_s,
        })
    }
}

/// The reconnect delay after `failures` consecutive failed connections: 0.5 s doubling to 10 s.
pub fn backoff_ms(failures: u32) -> u32 {
    500_u32.saturating_mul(1 << failures.min(5)).min(10_000)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::sample_grid::tests::step;
    use shared::live::Snapshot;
    use shared::run::{Method, RunSpec, RunSummary, Split};

    fn detail() -> RunDetail {
        RunDetail {
            summary: RunSummary {
                id: 1,
                name: "npo-forget01".into(),
                state: RunState::Running,
                model: "tiny".into(),
                method: Method::Npo,
                wrapper: "dv".into(),
                split: Split::Forget01,
                tags: vec![],
                created_by: "local".into(),
                created_at_ms: 0,
                started_at_ms: Some(0),
                finished_at_ms: None,
                sweep_id: None,
                metrics: BTreeMap::new(),
            },
            spec: RunSpec::new("tiny", Method::Npo),
            error: None,
            share_slug: None,
            artifacts: vec![],
            environment: BTreeMap::new(),
            placement: None,
        }
    }

    fn snapshot(seq: u64) -> ServerEvent {
        ServerEvent::Snapshot {
            seq,
            snapshot: Box::new(Snapshot {
                run: detail(),
                steps: vec![step(1, vec![0, 1], vec![])],
                eval: None,
                trajectory: vec![],
                log: vec!["started".into()],
            }),
        }
    }

    #[test]
    fn events_after_the_snapshot_apply_in_order() {
        let mut live = LiveState::default();
        assert_eq!(
            live.apply(ServerEvent::Log {
                seq: 0,
                line: "x".into()
            }),
            Err(Gap {
                expected: 0,
                got: 0
            }),
            "nothing applies before the snapshot"
        );
        live.apply(snapshot(3)).unwrap();
        live.apply(ServerEvent::Step {
            seq: 4,
            point: step(2, vec![2, 3], vec![]),
        })
        .unwrap();
        let progress = live.progress().unwrap();
        assert_eq!((progress.step, progress.total), (2, 4));
        assert_eq!(progress.eta_s, Some(4.0), "2 s per step, 2 steps left");
        assert!((progress.fraction() - 0.5).abs() < 1e-12);
        live.apply(ServerEvent::State {
            seq: 5,
            state: RunState::Failed,
            error: Some("out of memory".into()),
        })
        .unwrap();
        assert_eq!(live.state(), Some(RunState::Failed));
        assert_eq!(
            live.run.as_ref().unwrap().error.as_deref(),
            Some("out of memory")
        );
    }

    #[test]
    fn a_skipped_sequence_number_is_a_gap_and_changes_nothing() {
        let mut live = LiveState::default();
        live.apply(snapshot(3)).unwrap();
        let before = live.clone();
        let gap = live
            .apply(ServerEvent::Log {
                seq: 6,
                line: "late".into(),
            })
            .unwrap_err();
        assert_eq!(
            gap,
            Gap {
                expected: 4,
                got: 6
            }
        );
        assert_eq!(live, before);
        // The reconnect's snapshot resyncs.
        live.apply(snapshot(9)).unwrap();
        assert_eq!(live.seq, Some(9));
    }

    #[test]
    fn the_log_tail_is_capped() {
        let mut live = LiveState::default();
        live.apply(snapshot(0)).unwrap();
        for seq in 1..=(LOG_LINES as u64 + 10) {
            live.apply(ServerEvent::Log {
                seq,
                line: seq.to_string(),
            })
            .unwrap();
        }
        assert_eq!(live.log.len(), LOG_LINES);
        assert_eq!(live.log.last().map(String::as_str), Some("210"));
    }

    #[test]
    fn backoff_doubles_to_a_ceiling() {
        assert_eq!(backoff_ms(0), 500);
        assert_eq!(backoff_ms(1), 1000);
        assert_eq!(backoff_ms(4), 8000);
        assert_eq!(backoff_ms(9), 10_000);
    }
}
