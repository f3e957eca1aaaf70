//! `lethe serve --executor slurm` against a real one-node SLURM cluster (`scripts/slurm-dev.sh`,
//! which the README's test command starts and stops): each run becomes one `sbatch` job that runs
//! `lethe worker` on the node; the server relays the worker's steps to websocket viewers,
//! cancels with `scancel`, fails with SLURM's reason, follows a requeue from scratch and
//! re-attaches after a restart. Skipped, saying so, where no cluster answers.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;
use shared::live::StepPoint;
use shared::run::{Created, RunState};

#[path = "support/serve.rs"]
mod support;
use support::{post, run, serve, serve_env, shared_dir, small_tofu, tiny_model_root};
#[path = "support/slurm.rs"]
mod slurm;
use slurm::{
    SLURM, Started, cluster, completed_jobs_in, fake_server, job_id, queued_jobs, started,
    steps_written, submit, terminal, view, view_counting, wait,
};

/// A real run (the engine on the tiny Llama fixture) submitted over HTTP becomes a SLURM job
/// whose worker streams its steps and evaluation progress to a websocket viewer, and succeeds
/// with metrics.
#[test]
fn a_run_becomes_a_slurm_job_that_streams_its_steps_and_succeeds() {
    let Some(shared) = shared_dir() else { return };
    if !cluster() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tofu = dir.path().join("tofu");
    small_tofu(&shared, &tofu);
    let fixtures = shared.join("fixtures");
    let mut args = SLURM.to_vec();
    args.extend([
        "--model-root",
        fixtures.to_str().unwrap(),
        "--tofu-dir",
        tofu.to_str().unwrap(),
    ]);
    let data = dir.path().join("data");
    let server = serve(&data, &args);
    let submitted = Instant::now();
    let created: Created = serde_json::from_value(post(
        &server.base,
        "/api/runs",
        &json!({
            "model": "tiny-llama",
            "objective": {"method": "npo"},
            "trainer": {"batch_size": 2, "grad_accum": 1, "epochs": 2, "lr": 1e-3},
            "eval": {"batch_size": 4, "max_new_tokens": 8}
        }),
    ))
    .unwrap();
    let id = created.ids[0];
    let viewer = {
        let base = server.base.clone();
        std::thread::spawn(move || view(&base, id))
    };
    let running = wait(&server.base, id, Duration::from_secs(120), |r| {
        r.summary.state.is_terminal()
            || r.placement.as_ref().and_then(|p| p.job_state.as_deref()) == Some("RUNNING")
    });
    eprintln!(
        "submit to RUNNING on the local cluster: {} ms (probe job included)",
        submitted.elapsed().as_millis()
    );
    let done = terminal(&server.base, id);
    assert_eq!(done.summary.state, RunState::Succeeded, "{:?}", done.error);
    let placement = done.placement.clone().unwrap();
    assert_eq!(placement.executor, "slurm");
    let job = job_id(&done);
    assert_eq!(job_id(&running), job);
    assert_eq!(placement.job_state.as_deref(), Some("COMPLETED"));
    assert!(
        done.summary.metrics.contains_key("model_utility"),
        "{:?}",
        done.summary.metrics
    );
    let run_dir = data.join("runs").join(id.to_string());
    assert!(run_dir.join("checkpoint/model.safetensors").is_file());
    assert!(
        run_dir.join("slurm.sh").is_file() && run_dir.join(format!("slurm-{job}.out")).is_file()
    );
    let viewed = viewer.join().unwrap();
    assert_eq!(viewed.state, Some(RunState::Succeeded));
    assert_eq!(
        viewed.steps.len(),
        steps_written(&run_dir),
        "the viewer saw every step"
    );
    assert!(!viewed.steps.is_empty());
    assert!(
        viewed.evals > 0,
        "the worker's evaluation progress reached the viewer"
    );
    let jobs = completed_jobs_in(&run_dir);
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert!(jobs[0].ends_with("|COMPLETED"), "{jobs:?}");
}

/// Cancelling a running job `scancel`s it: the run ends `cancelled` and the job leaves the
/// queue.
#[test]
fn cancelling_a_running_job_leaves_it_cancelled_and_gone_from_the_queue() {
    let Some(Started {
        dir: _dir,
        server,
        id,
        run_dir,
        job,
        ..
    }) = started(600, &[], 2)
    else {
        return;
    };
    assert!(queued_jobs().contains(&job));
    post(&server.base, &format!("/api/runs/{id}/cancel"), &json!({}));
    let done = terminal(&server.base, id);
    assert_eq!(done.summary.state, RunState::Cancelled, "{:?}", done.error);
    assert!(!queued_jobs().contains(&job), "job {job} left the queue");
    let log = std::fs::read_to_string(run_dir.join("log.txt")).unwrap();
    assert_eq!(log.lines().last(), Some("cancelled"), "{log}");
}

/// A worker killed on the node (SIGKILL: no chance to record an end) fails the run with
/// SLURM's account of the job, and the end of its output.
#[test]
fn a_killed_worker_fails_the_run_with_slurms_reason() {
    let Some(Started {
        dir: _dir,
        server,
        id,
        run_dir,
        job,
        ..
    }) = started(600, &[], 2)
    else {
        return;
    };
    let killed = Command::new("pkill")
        .args(["-KILL", "-f", &format!("worker {} ", run_dir.display())])
        .status()
        .unwrap();
    assert!(killed.success(), "the worker's process was found");
    let done = terminal(&server.base, id);
    assert_eq!(done.summary.state, RunState::Failed);
    let error = done.error.unwrap();
    assert!(
        error.starts_with(&format!("SLURM job {job} ended FAILED"))
            && error.contains("before the worker recorded how the run ended")
            && error.contains(&format!("slurm-{job}.out")),
        "{error}"
    );
}

/// With `--slurm-requeue`, a job SLURM requeues starts the run again from scratch: the run
/// shows the requeue, the first attempt's files are kept apart, and the second attempt's steps
/// are the run's.
#[test]
fn a_requeued_job_starts_the_run_again_from_scratch() {
    let Some(Started {
        dir: _dir,
        server,
        id,
        run_dir,
        job,
        ..
    }) = started(40, &["--slurm-requeue"], 3)
    else {
        return;
    };
    let requeue = Command::new("scontrol")
        .args(["requeue", &job])
        .output()
        .unwrap();
    assert!(
        requeue.status.success(),
        "{}",
        String::from_utf8_lossy(&requeue.stderr)
    );
    let requeued = wait(&server.base, id, Duration::from_secs(60), |r| {
        r.placement.as_ref().is_some_and(|p| p.requeues == 1)
    });
    assert_eq!(requeued.summary.state, RunState::Running);
    let done = terminal(&server.base, id);
    assert_eq!(done.summary.state, RunState::Succeeded, "{:?}", done.error);
    assert_eq!(job_id(&done), job, "the same job, not a second submission");
    assert!(run_dir.join("attempts/0/steps.jsonl").is_file());
    let steps = std::fs::read_to_string(run_dir.join("steps.jsonl")).unwrap();
    let numbers: Vec<usize> = steps
        .lines()
        .map(|l| serde_json::from_str::<StepPoint>(l).unwrap().step)
        .collect();
    assert_eq!(
        numbers,
        (1..=40).collect::<Vec<_>>(),
        "the new attempt's steps alone"
    );
    let log = std::fs::read_to_string(run_dir.join("log.txt")).unwrap();
    assert!(
        log.contains(&format!("requeued: SLURM requeued job {job}")),
        "{log}"
    );
}

/// A server killed while its job runs re-attaches when it starts again: no second submission,
/// and a viewer of the new server gets every step.
#[test]
fn a_restarted_server_reattaches_to_its_running_job() {
    let Some(Started {
        dir: _dir,
        root,
        data,
        server: first,
        id,
        run_dir,
        job,
    }) = started(80, &[], 5)
    else {
        return;
    };
    drop(first);
    let seen = steps_written(&run_dir);
    let restarted = Instant::now();
    let second = fake_server(&data, &root, 80, &[]);
    let again = run(&second.base, id);
    assert_eq!(again.summary.state, RunState::Running, "{:?}", again.error);
    assert_eq!(job_id(&again), job);
    let viewer = {
        let base = second.base.clone();
        std::thread::spawn(move || {
            let mut caught_up = None;
            let viewed = view_counting(&base, id, |count| {
                if count >= seen && caught_up.is_none() {
                    caught_up = Some(restarted.elapsed());
                }
            });
            (viewed, caught_up)
        })
    };
    let done = terminal(&second.base, id);
    assert_eq!(done.summary.state, RunState::Succeeded, "{:?}", done.error);
    let (viewed, caught_up) = viewer.join().unwrap();
    eprintln!(
        "re-attached to job {job}: a viewer of the new server had the {seen} earlier steps {} ms \
         after the restart began",
        caught_up.unwrap().as_millis()
    );
    assert_eq!(viewed.state, Some(RunState::Succeeded));
    let numbers: Vec<usize> = viewed.steps.iter().map(|s| s.step).collect();
    assert_eq!(numbers, (1..=80).collect::<Vec<_>>(), "no lost steps");
    let jobs = completed_jobs_in(&run_dir);
    assert_eq!(jobs.len(), 1, "exactly one job: {jobs:?}");
}

/// Six runs at once all finish, and SLURM never runs more of them together than the node has
/// CPUs.
#[test]
fn a_sweep_of_six_runs_finishes_within_the_partitions_cpus() {
    if !cluster() {
        return;
    }
    let cpus: usize = String::from_utf8_lossy(
        &Command::new("sinfo")
            .args(["-h", "-o", "%c"])
            .output()
            .unwrap()
            .stdout,
    )
    .trim()
    .parse()
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root = tiny_model_root(dir.path());
    let data = dir.path().join("data");
    let server = fake_server(&data, &root, 15, &[]);
    let start = Instant::now();
    let ids: Vec<i64> = (0..6).map(|_| submit(&server.base)).collect();
    let runs_dir: PathBuf = std::path::absolute(data.join("runs")).unwrap();
    let mut most = 0;
    loop {
        let out = Command::new("squeue")
            .args(["-h", "-t", "RUNNING", "-o", "%Z"])
            .output()
            .unwrap();
        let ours = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| Path::new(l.trim()).starts_with(&runs_dir))
            .count();
        most = most.max(ours);
        if ids
            .iter()
            .all(|id| run(&server.base, *id).summary.state.is_terminal())
        {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(300));
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!(
        "a sweep of 6 runs of 1.5 s each: {} ms, at most {most} at once on {cpus} CPUs",
        start.elapsed().as_millis()
    );
    for id in ids {
        let done = run(&server.base, id);
        assert_eq!(done.summary.state, RunState::Succeeded, "{:?}", done.error);
    }
    assert!((1..=cpus).contains(&most), "{most} running at once");
}

/// Bad settings fail the runs with the cause and leave the server up: an unknown partition,
/// `sbatch` missing from `PATH`, a job script that fails on the node, and a data directory the
/// node cannot write (jobs run as `nobody`, as on a root-squashed NFS export, and the test's
/// directory is private).
#[test]
fn bad_cluster_settings_fail_runs_with_the_cause_and_the_server_stays_up() {
    if !cluster() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = tiny_model_root(dir.path());
    let empty = dir.path().join("no-slurm-here");
    std::fs::create_dir_all(&empty).unwrap();
    // Name, flags, environment, what the error says.
    type Case<'a> = (&'a str, Vec<&'a str>, Vec<(&'a str, &'a str)>, &'a str);
    let cases: [Case<'_>; 4] = [
        (
            "partition",
            vec!["--slurm-partition", "no-such-partition"],
            vec![],
            "invalid partition",
        ),
        (
            "path",
            vec![],
            vec![("PATH", empty.to_str().unwrap())],
            "is SLURM installed and on PATH?",
        ),
        (
            "script",
            vec!["--slurm-lethe", "/bin/false"],
            vec![],
            "ended FAILED (exit 1:0",
        ),
        (
            "data-dir",
            vec!["--slurm-arg=--uid=nobody"],
            vec![],
            "is not shared with (or not writable from) the compute nodes",
        ),
    ];
    for (name, flags, env, expected) in cases {
        let data = dir.path().join(name);
        let mut args = SLURM.to_vec();
        args.extend(["--fake-executor", "--model-root", root.to_str().unwrap()]);
        args.extend(flags);
        let server = serve_env(&data, &args, &env);
        let id = submit(&server.base);
        let done = terminal(&server.base, id);
        assert_eq!(done.summary.state, RunState::Failed, "{name}");
        let error = done.error.unwrap();
        assert!(error.contains(expected), "{name}: {error}");
        let health = ureq::get(&format!("{}/api/health", server.base))
            .call()
            .unwrap();
        assert_eq!(health.status(), 200, "{name}: the server stays up");
        let log = std::fs::read_to_string(data.join("runs").join(id.to_string()).join("log.txt"))
            .unwrap();
        assert!(log.contains(expected), "{name}: the log says why: {log}");
    }
}
