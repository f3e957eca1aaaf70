//! SLURM, through its own commands: `sbatch --parsable` submits, `squeue --json` follows the
//! jobs SLURM is running, `scontrol show job -o` and then `sacct -c` (the `jobcomp/filetxt` log,
//! which works without slurmdbd) say how a finished job ended, and `scancel` cancels. The
//! commands find the cluster as any SLURM client does (`SLURM_CONF`, or the default
//! configuration). [`SlurmExecutor`] runs the server's runs as jobs through them.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use anyhow::Context as _;
use serde_json::Value;

mod executor;
mod probe;
pub mod script;
mod watch;

pub use executor::SlurmExecutor;

/// A job's state, as SLURM names it (`JOB_STATE_STRING` without the `JOB_` prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobState {
    /// Waiting for resources.
    Pending,
    /// Executing.
    Running,
    /// Suspended by the scheduler.
    Suspended,
    /// Finishing: its processes are ending.
    Completing,
    /// Ended with exit code 0.
    Completed,
    /// Ended with a non-zero exit code.
    Failed,
    /// Cancelled (`scancel`).
    Cancelled,
    /// Reached its time limit.
    Timeout,
    /// Its node failed.
    NodeFail,
    /// Preempted by a job of higher priority.
    Preempted,
    /// Exceeded its memory.
    OutOfMemory,
    /// Put back in the queue (node failure or preemption with requeue).
    Requeued,
    /// Any other state, as SLURM wrote it.
    Other(String),
}

impl JobState {
    /// Reads SLURM's name (`RUNNING`, `CANCELLED by 0`, `OUT_OF_MEMORY`).
    pub fn parse(text: &str) -> Self {
        let word = text.split_whitespace().next().unwrap_or_default();
        match word.to_ascii_uppercase().as_str() {
            "PENDING" => Self::Pending,
            "RUNNING" => Self::Running,
            "SUSPENDED" => Self::Suspended,
            "COMPLETING" => Self::Completing,
            "COMPLETED" => Self::Completed,
            "FAILED" => Self::Failed,
            "CANCELLED" => Self::Cancelled,
            "TIMEOUT" => Self::Timeout,
            "NODE_FAIL" => Self::NodeFail,
            "PREEMPTED" => Self::Preempted,
            "OUT_OF_MEMORY" => Self::OutOfMemory,
            "REQUEUED" | "REQUEUE_FED" | "REQUEUE_HOLD" => Self::Requeued,
            _ => Self::Other(word.to_string()),
        }
    }

    /// Whether the job has ended for good (it will not run again without a new submission).
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            Self::Completed
                | Self::Failed
                | Self::Cancelled
                | Self::Timeout
                | Self::NodeFail
                | Self::Preempted
                | Self::OutOfMemory
        )
    }

    /// SLURM's name for it.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Pending => "PENDING",
            Self::Running => "RUNNING",
            Self::Suspended => "SUSPENDED",
            Self::Completing => "COMPLETING",
            Self::Completed => "COMPLETED",
            Self::Failed => "FAILED",
            Self::Cancelled => "CANCELLED",
            Self::Timeout => "TIMEOUT",
            Self::NodeFail => "NODE_FAIL",
            Self::Preempted => "PREEMPTED",
            Self::OutOfMemory => "OUT_OF_MEMORY",
            Self::Requeued => "REQUEUED",
            Self::Other(name) => name,
        }
    }
}

/// What SLURM says about one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobStatus {
    /// Its state.
    pub state: JobState,
    /// Why it is in that state (`None`, `Resources`, `NonZeroExitCode`, `TimeLimit`), when SLURM
    /// says.
    pub reason: String,
    /// `exit:signal`, when known (`3:0`).
    pub exit_code: String,
    /// Times SLURM requeued it (`restart_cnt`, `Restarts=`); 0 where the source does not say.
    pub restarts: u32,
}

impl JobStatus {
    /// SLURM's reason, when it gives one (not empty, not `None`).
    pub fn reason(&self) -> Option<&str> {
        (!self.reason.is_empty() && self.reason != "None").then_some(self.reason.as_str())
    }
}

fn command(program: &str) -> Command {
    let mut command = Command::new(program);
    command.env_remove("SLURM_JOB_ID");
    command
}

fn output(mut command: Command, what: &str) -> anyhow::Result<String> {
    let out = command
        .output()
        .with_context(|| format!("running {what} (is SLURM installed and on PATH?)"))?;
    if !out.status.success() {
        anyhow::bail!(
            "{what} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `sbatch --parsable [args] SCRIPT`: the job id.
pub fn sbatch(script: &Path, args: &[String]) -> anyhow::Result<String> {
    let mut sbatch = command("sbatch");
    sbatch.arg("--parsable").args(args).arg(script);
    let text = output(sbatch, "sbatch")?;
    // `--parsable` prints `id` or `id;cluster`.
    let id = text
        .trim()
        .split(';')
        .next()
        .unwrap_or_default()
        .to_string();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
        anyhow::bail!("sbatch printed `{}`, not a job id", text.trim());
    }
    Ok(id)
}

/// `scancel JOB`.
pub fn scancel(job: &str) -> anyhow::Result<()> {
    let mut scancel = command("scancel");
    scancel.arg(job);
    output(scancel, "scancel").map(drop)
}

/// `squeue --json`: the jobs SLURM holds now (pending, running, and recently ended while it
/// still remembers them), by id.
pub fn squeue() -> anyhow::Result<BTreeMap<String, JobStatus>> {
    let mut squeue = command("squeue");
    squeue.arg("--json");
    parse_squeue(&output(squeue, "squeue --json")?)
}

/// The active (not ended) job named `name` whose working directory is `dir`, if SLURM holds one.
pub fn find(name: &str, dir: &Path) -> anyhow::Result<Option<String>> {
    let mut squeue = command("squeue");
    squeue.arg("--json");
    parse_find(&output(squeue, "squeue --json")?, name, dir)
}

/// Reads `squeue --json` for [`find`].
pub fn parse_find(text: &str, name: &str, dir: &Path) -> anyhow::Result<Option<String>> {
    let value: Value = serde_json::from_str(text).context("squeue --json: not JSON")?;
    Ok(value["jobs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|job| {
            job["name"].as_str() == Some(name)
                && job["current_working_directory"].as_str().map(Path::new) == Some(dir)
                && !job_state(job).is_final()
        })
        .find_map(|job| job["job_id"].as_u64().map(|id| id.to_string())))
}

/// How a job stands: `scontrol show job -o` while SLURM remembers it, then the completion log
/// (`sacct -c`); `None` when neither knows it.
pub fn status(job: &str) -> anyhow::Result<Option<JobStatus>> {
    let mut scontrol = command("scontrol");
    scontrol.args(["show", "job", "-o", job]);
    if let Ok(text) = output(scontrol, "scontrol show job")
        && let Some(status) = parse_scontrol(&text)
    {
        return Ok(Some(status));
    }
    let mut sacct = command("sacct");
    sacct.args(["-c", "-n", "-P", "-o", "JobID,State,ExitCode", "-j", job]);
    Ok(output(sacct, "sacct -c")
        .ok()
        .and_then(|text| parse_sacct(&text, job)))
}

/// The state of one job of `squeue --json` (a string in Slurm 22.05, a list of flags later).
fn job_state(job: &Value) -> JobState {
    match &job["job_state"] {
        Value::String(state) => JobState::parse(state),
        Value::Array(states) => {
            JobState::parse(states.first().and_then(Value::as_str).unwrap_or_default())
        }
        _ => JobState::parse(""),
    }
}

/// Reads `squeue --json` (Slurm 22.05 writes `job_state` as a string, later versions as a list
/// of flags).
pub fn parse_squeue(text: &str) -> anyhow::Result<BTreeMap<String, JobStatus>> {
    let value: Value = serde_json::from_str(text).context("squeue --json: not JSON")?;
    let jobs = value["jobs"]
        .as_array()
        .context("squeue --json: no `jobs` list")?;
    let mut out = BTreeMap::new();
    for job in jobs {
        let Some(id) = job["job_id"].as_u64() else {
            continue;
        };
        out.insert(
            id.to_string(),
            JobStatus {
                state: job_state(job),
                reason: job["state_reason"].as_str().unwrap_or_default().to_string(),
                exit_code: String::new(),
                restarts: job["restart_cnt"]
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .unwrap_or(0),
            },
        );
    }
    Ok(out)
}

/// Reads one line of `scontrol show job -o` (space-separated `Key=Value`).
pub fn parse_scontrol(text: &str) -> Option<JobStatus> {
    let line = text.lines().find(|l| l.starts_with("JobId="))?;
    let field = |key: &str| {
        line.split_whitespace()
            .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
            .unwrap_or_default()
            .to_string()
    };
    Some(JobStatus {
        state: JobState::parse(&field("JobState")),
        reason: field("Reason"),
        exit_code: field("ExitCode"),
        restarts: field("Restarts").parse().unwrap_or(0),
    })
}

/// Reads `sacct -c -n -P -o JobID,State,ExitCode` for `job` (its last record).
pub fn parse_sacct(text: &str, job: &str) -> Option<JobStatus> {
    text.lines().rev().find_map(|line| {
        let mut parts = line.split('|');
        let id = parts.next()?;
        (id == job).then(|| JobStatus {
            state: JobState::parse(parts.next().unwrap_or_default()),
            reason: String::new(),
            exit_code: parts.next().unwrap_or_default().to_string(),
            restarts: 0,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn squeue_json_of_slurm_22_and_later_reads_alike() {
        let old = r#"{"meta": {}, "errors": [], "jobs": [
            {"job_id": 12, "job_state": "RUNNING", "state_reason": "None", "restart_cnt": 1},
            {"job_id": 13, "job_state": "PENDING", "state_reason": "Resources"}]}"#;
        let jobs = parse_squeue(old).unwrap();
        assert_eq!(jobs["12"].state, JobState::Running);
        assert_eq!(jobs["12"].restarts, 1);
        assert_eq!(jobs["13"].reason, "Resources");
        let new =
            r#"{"jobs": [{"job_id": 7, "job_state": ["NODE_FAIL"], "state_reason": "NodeDown"}]}"#;
        let jobs = parse_squeue(new).unwrap();
        assert_eq!(jobs["7"].state, JobState::NodeFail);
        assert!(jobs["7"].state.is_final());
        assert!(parse_squeue("not json").is_err());
    }

    #[test]
    fn a_runs_active_job_is_found_by_name_and_directory() {
        let text = r#"{"jobs": [
            {"job_id": 3, "name": "lethe-1", "current_working_directory": "/a/runs/1", "job_state": "COMPLETED"},
            {"job_id": 4, "name": "lethe-1", "current_working_directory": "/b/runs/1", "job_state": "RUNNING"},
            {"job_id": 5, "name": "lethe-1", "current_working_directory": "/a/runs/1", "job_state": "PENDING"}]}"#;
        let dir = Path::new("/a/runs/1");
        assert_eq!(
            parse_find(text, "lethe-1", dir).unwrap().as_deref(),
            Some("5")
        );
        assert_eq!(parse_find(text, "lethe-2", dir).unwrap(), None);
        let ended = r#"{"jobs": [{"job_id": 3, "name": "lethe-1",
            "current_working_directory": "/a/runs/1", "job_state": "COMPLETED"}]}"#;
        assert_eq!(
            parse_find(ended, "lethe-1", dir).unwrap(),
            None,
            "an ended job is not followed"
        );
    }

    #[test]
    fn scontrol_and_sacct_say_how_a_job_ended() {
        let line = "JobId=1 UserId=root(0) Name=wrap JobState=FAILED Reason=NonZeroExitCode \
                    Dependency=(null) Restarts=2 ExitCode=3:0 NodeList=vm";
        let status = parse_scontrol(line).unwrap();
        assert_eq!(status.state, JobState::Failed);
        assert_eq!(status.reason, "NonZeroExitCode");
        assert_eq!(status.exit_code, "3:0");
        assert_eq!(status.restarts, 2);
        assert_eq!(
            parse_scontrol("slurm_load_jobs error: Invalid job id"),
            None
        );
        let sacct = "4|COMPLETED|0:0\n5|CANCELLED by 0|0:15\n";
        assert_eq!(parse_sacct(sacct, "5").unwrap().state, JobState::Cancelled);
        assert_eq!(parse_sacct(sacct, "6"), None);
        assert_eq!(JobState::parse("OUT_OF_MEMORY"), JobState::OutOfMemory);
        assert_eq!(JobState::parse("BOOT_FAIL").as_str(), "BOOT_FAIL");
        assert!(!JobState::Requeued.is_final());
    }
}
