//! The start-up check of `--executor slurm`: a tiny job writes a file into `--data-dir`, which
//! the server then looks for. A cluster whose nodes do not share the directory, a partition
//! that does not exist or a missing `sbatch` show up here, before any run is submitted.

use std::path::Path;
use std::time::{Duration, Instant};

use super::JobState;
use super::script::JobSettings;

/// Submits the probe job and waits up to `timeout` for its answer: `Ok(true)` when the file
/// arrived, `Ok(false)` when the job did not start in time (cancelled; nothing is known), and
/// an error naming the cause otherwise.
pub fn probe(
    settings: &JobSettings,
    data_dir: &Path,
    timeout: Duration,
    poll: Duration,
) -> anyhow::Result<bool> {
    let dir = data_dir.join("slurm-probe");
    std::fs::create_dir_all(&dir)?;
    let dir = dir.canonicalize()?;
    let token = format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis()
    );
    let answer = dir.join(format!("answer-{token}"));
    let script = dir.join(format!("probe-{token}.sh"));
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n# Lethe's check that compute nodes see --data-dir.\necho {token} > '{}'\n",
            answer.display()
        ),
    )?;
    let mut args = vec![
        "--job-name=lethe-probe".to_string(),
        "--output=/dev/null".into(),
        "--chdir=/".into(),
        "--time=1".into(),
    ];
    for (flag, value) in [
        ("partition", &settings.partition),
        ("account", &settings.account),
    ] {
        if let Some(value) = value {
            args.push(format!("--{flag}={value}"));
        }
    }
    args.extend(settings.extra.iter().cloned());
    let job = super::sbatch(&script, &args)?;
    let start = Instant::now();
    let outcome = loop {
        if std::fs::read_to_string(&answer).is_ok_and(|text| text.trim() == token) {
            break Ok(true);
        }
        let status = super::status(&job)?;
        match status {
            Some(status) if status.state.is_final() => {
                // The answer may trail the job's end on a network filesystem.
                std::thread::sleep(poll.max(Duration::from_secs(2)));
                if answer.is_file() {
                    break Ok(true);
                }
                break Err(anyhow::anyhow!(
                    "--data-dir {} is not shared with (or not writable from) the compute nodes: \
                     probe job {job} ended {} (exit {}) without writing {}",
                    data_dir.display(),
                    status.state.as_str(),
                    status.exit_code,
                    answer.display()
                ));
            }
            Some(status) if start.elapsed() > timeout && status.state == JobState::Pending => {
                let _ = super::scancel(&job);
                break Ok(false);
            }
            _ if start.elapsed() > timeout * 2 => {
                let _ = super::scancel(&job);
                break Ok(false);
            }
            _ => std::thread::sleep(poll),
        }
    };
    let _ = std::fs::remove_file(&answer);
    let _ = std::fs::remove_file(&script);
    outcome
}
