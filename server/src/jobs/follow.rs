//! Following a run directory that a worker elsewhere writes (`lethe worker` on a compute node
//! that shares the filesystem): what it appends to `steps.jsonl` and `log.txt` becomes the
//! events a local run emits, and its `state.json` says how it ended. The directory is the only
//! channel, so a server that restarts follows the same files again from the start. Steps and
//! the end are read only from the [attempt] the cluster runs now, so a requeued job's
//! viewers never see a killed attempt's steps as the new one's.

use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::{Path, PathBuf};

use shared::live::{EvalPoint, StepPoint};
use shared::run::TrajectoryPoint;

use crate::runner::RunEnd;

pub mod attempt;

/// The worker's latest evaluation progress (one [`EvalPoint`], rewritten as it advances).
pub const EVAL_PROGRESS: &str = "eval_progress.json";

/// What the worker appended since the last look.
#[derive(Debug, Clone, PartialEq)]
pub enum Followed {
    /// One line of `steps.jsonl`.
    Step(StepPoint),
    /// One line of `log.txt`.
    Log(String),
    /// New evaluation progress.
    Eval(EvalPoint),
    /// One line of `evals.jsonl`: an evaluation during training.
    Trajectory(TrajectoryPoint),
}

/// Reads one file's new complete lines; a line still being written waits for its end.
#[derive(Debug)]
struct Tail {
    path: PathBuf,
    offset: u64,
    pending: String,
}

impl Tail {
    fn new(path: PathBuf) -> Self {
        Self {
            path,
            offset: 0,
            pending: String::new(),
        }
    }

    fn lines(&mut self) -> std::io::Result<Vec<String>> {
        let mut file = match std::fs::File::open(&self.path) {
            Ok(file) => file,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => return Err(error),
        };
        let length = file.metadata()?.len();
        if length < self.offset {
            // Truncated (a requeued worker started again): read it from the start.
            self.offset = 0;
            self.pending.clear();
        }
        file.seek(SeekFrom::Start(self.offset))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        self.offset += bytes.len() as u64;
        self.pending.push_str(&String::from_utf8_lossy(&bytes));
        let Some(end) = self.pending.rfind('\n') else {
            return Ok(Vec::new());
        };
        let complete: String = self.pending.drain(..=end).collect();
        Ok(complete.lines().map(str::to_string).collect())
    }
}

/// A run directory being followed.
#[derive(Debug)]
pub struct RunFollower {
    dir: PathBuf,
    attempt: u32,
    seen: Option<u32>,
    steps: Tail,
    evals: Tail,
    log: Tail,
    eval: Option<EvalPoint>,
}

impl RunFollower {
    /// Follows `dir` from the start of its files: the log, and the steps of attempt `attempt`.
    pub fn new(dir: &Path, attempt: u32) -> Self {
        Self {
            dir: dir.to_path_buf(),
            attempt,
            seen: None,
            steps: Tail::new(dir.join(shared::paths::ARTIFACT_STEPS)),
            evals: Tail::new(dir.join(shared::paths::ARTIFACT_EVALS)),
            log: Tail::new(dir.join(shared::paths::ARTIFACT_LOG)),
            eval: None,
        }
    }

    /// Whether the directory's outputs are those of the attempt followed.
    fn current(&mut self) -> bool {
        let now = attempt::current(&self.dir);
        if now != self.seen {
            // Another attempt's files: what was read of them does not count.
            self.seen = now;
            self.steps = Tail::new(self.dir.join(shared::paths::ARTIFACT_STEPS));
            self.evals = Tail::new(self.dir.join(shared::paths::ARTIFACT_EVALS));
            self.eval = None;
        }
        now == Some(self.attempt)
    }

    /// The steps and log lines appended since the last call, steps first, then evaluation
    /// progress when it moved; a steps line that is not a step is skipped.
    pub fn poll(&mut self) -> std::io::Result<Vec<Followed>> {
        let mut out = Vec::new();
        if self.current() {
            out.extend(
                self.steps
                    .lines()?
                    .into_iter()
                    .filter_map(|line| serde_json::from_str(&line).ok().map(Followed::Step)),
            );
            out.extend(
                self.evals
                    .lines()?
                    .into_iter()
                    .filter_map(|line| serde_json::from_str(&line).ok().map(Followed::Trajectory)),
            );
            let progress = std::fs::read(self.dir.join(EVAL_PROGRESS))
                .ok()
                .and_then(|bytes| serde_json::from_slice::<EvalPoint>(&bytes).ok());
            if let Some(point) = progress
                && self.eval.as_ref() != Some(&point)
            {
                self.eval = Some(point.clone());
                out.push(Followed::Eval(point));
            }
        }
        out.extend(self.log.lines()?.into_iter().map(Followed::Log));
        Ok(out)
    }

    /// How the worker of the attempt followed ended the run, once its `state.json` exists.
    pub fn end(&mut self) -> Option<RunEnd> {
        if !self.current() {
            return None;
        }
        RunEnd::read(&self.dir).ok()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use shared::run::RunState;

    use super::*;

    fn append(path: &Path, text: &str) {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        file.write_all(text.as_bytes()).unwrap();
    }

    #[test]
    fn complete_lines_are_relayed_once_and_torn_ones_wait() {
        let dir = tempfile::tempdir().unwrap();
        let mut follower = RunFollower::new(dir.path(), 0);
        assert_eq!(follower.poll().unwrap(), []);
        attempt::begin(dir.path(), 0).unwrap();
        assert_eq!(follower.end(), None);
        let steps = dir.path().join(shared::paths::ARTIFACT_STEPS);
        let log = dir.path().join(shared::paths::ARTIFACT_LOG);
        let step = |n: usize| -> StepPoint {
            serde_json::from_value(serde_json::json!({
                "step": n, "total_steps": 2, "epoch": 0, "lr": 1e-5, "loss": 1.0,
                "forget_loss": 1.0, "retain_loss": null, "grad_norm": 0.5, "per_sample": [1.0],
                "weights": [], "tokens_per_s": 10.0, "elapsed_s": 1.0
            }))
            .unwrap()
        };
        append(
            &steps,
            &format!("{}\n", serde_json::to_string(&step(1)).unwrap()),
        );
        let second = serde_json::to_string(&step(2)).unwrap();
        let (head, tail) = second.split_at(10);
        append(&steps, head);
        append(&log, "loading the model\nstep 1");
        assert_eq!(
            follower.poll().unwrap(),
            [
                Followed::Step(step(1)),
                Followed::Log("loading the model".into())
            ]
        );
        append(&steps, &format!("{tail}\n"));
        append(&log, " done\n");
        assert_eq!(
            follower.poll().unwrap(),
            [Followed::Step(step(2)), Followed::Log("step 1 done".into())]
        );
        assert_eq!(follower.poll().unwrap(), []);
        let progress = EvalPoint {
            stage: "forget generation".into(),
            done: 1,
            total: 3,
        };
        std::fs::write(
            dir.path().join(EVAL_PROGRESS),
            serde_json::to_vec(&progress).unwrap(),
        )
        .unwrap();
        assert_eq!(follower.poll().unwrap(), [Followed::Eval(progress)]);
        assert_eq!(
            follower.poll().unwrap(),
            [],
            "unchanged progress is not relayed again"
        );
        let point = TrajectoryPoint {
            step: 2,
            epoch: 1.0,
            eval_seconds: 0.3,
            metrics: std::collections::BTreeMap::from([("forget_quality".into(), 0.5)]),
        };
        append(
            &dir.path().join(shared::paths::ARTIFACT_EVALS),
            &format!("{}\n", serde_json::to_string(&point).unwrap()),
        );
        assert_eq!(follower.poll().unwrap(), [Followed::Trajectory(point)]);
        // A worker that starts again truncates its files: they are read from the start.
        std::fs::write(
            &steps,
            format!("{}\n", serde_json::to_string(&step(1)).unwrap()),
        )
        .unwrap();
        assert_eq!(follower.poll().unwrap(), [Followed::Step(step(1))]);
        let end = RunEnd {
            state: RunState::Succeeded,
            error: None,
            metrics: [("forget_quality".to_string(), 0.5)].into(),
        };
        end.write(dir.path()).unwrap();
        assert_eq!(follower.end(), Some(end.clone()));

        // Following attempt 1 of the same directory: attempt 0's steps and end are not its own.
        let mut requeued = RunFollower::new(dir.path(), 1);
        let old = requeued.poll().unwrap();
        assert!(
            old.iter().all(|f| matches!(f, Followed::Log(_))),
            "only the log is shared between attempts: {old:?}"
        );
        assert_eq!(requeued.end(), None);
        attempt::begin(dir.path(), 1).unwrap();
        assert_eq!(requeued.poll().unwrap(), []);
        append(
            &steps,
            &format!("{}\n", serde_json::to_string(&step(1)).unwrap()),
        );
        assert_eq!(requeued.poll().unwrap(), [Followed::Step(step(1))]);
        assert_eq!(requeued.end(), None);
        end.write(dir.path()).unwrap();
        assert_eq!(requeued.end(), Some(end));
    }
}
