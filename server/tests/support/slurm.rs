//! Helpers of the tests that submit to the one-node SLURM cluster of `scripts/slurm-dev.sh`:
//! a SLURM server, waiting on runs and their files, SLURM's queue and completion log, and a
//! websocket viewer.
#![allow(dead_code, reason = "each test crate uses part of it")]
#![expect(
    clippy::unwrap_used,
    reason = "fixture helpers panic on setup failure, like the tests"
)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use serde_json::json;
use shared::live::{ServerEvent, StepPoint};
use shared::run::{Created, RunDetail, RunState};
use tokio_tungstenite::tungstenite::Message;

use crate::support::{Serve, post, run, serve_in};

/// A fake-worker run that is running on the cluster: the server, its run and the run's job.
pub struct Started {
    /// Holds the test's files.
    pub dir: tempfile::TempDir,
    /// The model root of [`fake_server`].
    pub root: std::path::PathBuf,
    /// The server's data dir.
    pub data: std::path::PathBuf,
    /// The server.
    pub server: Serve,
    /// The run.
    pub id: i64,
    /// `data/runs/<id>`.
    pub run_dir: std::path::PathBuf,
    /// Its SLURM job.
    pub job: String,
}

/// Starts a [`fake_server`] whose runs take `steps` steps, submits one run and waits until its
/// worker wrote `at_least` steps; `None` (skipped, saying so) where no cluster answers.
pub fn started(steps: usize, extra: &[&str], at_least: usize) -> Option<Started> {
    if !cluster() {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = crate::support::tiny_model_root(dir.path());
    let data = dir.path().join("data");
    let server = fake_server(&data, &root, steps, extra);
    let id = submit(&server.base);
    let run_dir = data.join("runs").join(id.to_string());
    wait_for_steps(&run_dir, at_least);
    let job = job_id(&run(&server.base, id));
    Some(Started {
        dir,
        root,
        data,
        server,
        id,
        run_dir,
        job,
    })
}

/// Whether a SLURM cluster answers (else the caller skips, and this says so).
pub fn cluster() -> bool {
    let up = Command::new("sinfo")
        .arg("-h")
        .output()
        .is_ok_and(|out| out.status.success());
    if !up {
        eprintln!(
            "skipped: no SLURM cluster answers (scripts/slurm-dev.sh start, then export \
             SLURM_CONF=/tmp/lethe-slurm/slurm.conf)"
        );
    }
    up
}

/// The flags every server here takes: SLURM, no GPUs on this node, a quick look at the queue.
pub const SLURM: [&str; 6] = [
    "--executor",
    "slurm",
    "--slurm-gres",
    "none",
    "--slurm-poll",
    "0.2",
];

/// A SLURM server whose workers fake `steps` steps of 100 ms each, started in `data`'s parent
/// with `--data-dir` relative to it, as `lethe serve`'s default `lethe-data` is (the jobs still
/// get absolute paths).
pub fn fake_server(data: &Path, root: &Path, steps: usize, extra: &[&str]) -> Serve {
    let steps = steps.to_string();
    let mut args = SLURM.to_vec();
    args.extend([
        "--fake-executor",
        "--fake-steps",
        &steps,
        "--model-root",
        root.to_str().unwrap(),
    ]);
    args.extend(extra);
    let relative = Path::new(data.file_name().unwrap());
    serve_in(data.parent(), relative, &args, &[])
}

pub fn submit(base: &str) -> i64 {
    let created: Created = serde_json::from_value(post(
        base,
        "/api/runs",
        &json!({"model": "tiny", "objective": {"method": "npo"}}),
    ))
    .unwrap();
    created.ids[0]
}

/// Polls run `id` until `done` holds, for up to `limit`.
pub fn wait(base: &str, id: i64, limit: Duration, done: impl Fn(&RunDetail) -> bool) -> RunDetail {
    let start = Instant::now();
    loop {
        let detail = run(base, id);
        if done(&detail) {
            return detail;
        }
        assert!(
            start.elapsed() < limit,
            "run {id}: {:?} {:?} {:?}",
            detail.summary.state,
            detail.placement,
            detail.error
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn terminal(base: &str, id: i64) -> RunDetail {
    wait(base, id, Duration::from_secs(300), |r| {
        r.summary.state.is_terminal()
    })
}

pub fn job_id(detail: &RunDetail) -> String {
    detail
        .placement
        .as_ref()
        .and_then(|p| p.job_id.clone())
        .unwrap_or_else(|| panic!("no job id: {:?}", detail.placement))
}

/// Lines the worker wrote to `steps.jsonl` so far.
pub fn steps_written(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("steps.jsonl")).map_or(0, |t| t.lines().count())
}

pub fn wait_for_steps(dir: &Path, at_least: usize) {
    let start = Instant::now();
    while steps_written(dir) < at_least {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "{}: no steps",
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The job ids SLURM's queue holds now (pending, running, completing).
pub fn queued_jobs() -> Vec<String> {
    let out = Command::new("squeue")
        .args(["-h", "-o", "%i"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().to_string())
        .collect()
}

/// The jobs of SLURM's completion log that ran in `dir`.
pub fn completed_jobs_in(dir: &Path) -> Vec<String> {
    let out = Command::new("sacct")
        .args(["-c", "-n", "-P", "-o", "JobID,WorkDir,State"])
        .output()
        .unwrap();
    let dir = dir.to_string_lossy();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.split('|').nth(1) == Some(&*dir))
        .map(str::to_string)
        .collect()
}

/// What a websocket viewer of a run ends up with.
#[derive(Debug)]
pub struct Viewed {
    /// Every step (a snapshot replaces what came before).
    pub steps: Vec<StepPoint>,
    /// The last state it was told.
    pub state: Option<RunState>,
    /// Evaluation progress events received.
    pub evals: usize,
}

/// What a websocket viewer of run `id` ends up with, once the server closes the socket.
pub fn view(base: &str, id: i64) -> Viewed {
    view_counting(base, id, |_| {})
}

/// [`view`], telling `count` how many steps the viewer holds after each event.
pub fn view_counting(base: &str, id: i64, mut count: impl FnMut(usize)) -> Viewed {
    let url = format!("{}/api/runs/{id}/live", base.replace("http://", "ws://"));
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(async move {
            let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
            let mut viewed = Viewed {
                steps: Vec::new(),
                state: None,
                evals: 0,
            };
            while let Some(message) = tokio::time::timeout(Duration::from_secs(300), socket.next())
                .await
                .unwrap()
            {
                let Message::Text(text) = message.unwrap() else {
                    continue;
                };
                match serde_json::from_str::<ServerEvent>(&text).unwrap() {
                    ServerEvent::Snapshot { snapshot, .. } => {
                        viewed.steps = snapshot.steps;
                        viewed.state = Some(snapshot.run.summary.state);
                    }
                    ServerEvent::Step { point, .. } => viewed.steps.push(point),
                    ServerEvent::State { state, .. } => viewed.state = Some(state),
                    ServerEvent::Eval { .. } => viewed.evals += 1,
                    _ => {}
                }
                count(viewed.steps.len());
            }
            viewed
        })
}
