//! The attempts of one run directory. A cluster may start a run's worker more than once (SLURM
//! requeues a job after a node failure or a preemption); each start begins from scratch. The
//! files of the run itself (its spec, job script, log and SLURM's output) stay, what an earlier
//! attempt wrote moves to `attempts/<n>/`, and the `attempt` file says which attempt the other
//! files belong to, so a follower never mixes two attempts.

use std::path::Path;

use anyhow::Context as _;

/// The file naming the attempt that the directory's outputs belong to.
pub const FILE: &str = "attempt";
/// Where earlier attempts' outputs are kept.
pub const DIR: &str = "attempts";
/// The job script the SLURM executor writes.
pub const SCRIPT: &str = "slurm.sh";

/// Whether `name` belongs to the run rather than to one attempt.
fn kept(name: &str) -> bool {
    name == shared::paths::ARTIFACT_SPEC
        || name == shared::paths::ARTIFACT_LOG
        || name == SCRIPT
        || name == FILE
        || name == DIR
        || (name.starts_with("slurm-") && name.ends_with(".out"))
}

/// The attempt the directory's outputs belong to, once a worker began one.
pub fn current(dir: &Path) -> Option<u32> {
    std::fs::read_to_string(dir.join(FILE))
        .ok()
        .and_then(|text| text.trim().parse().ok())
}

/// Begins attempt `number` in `dir`: moves what an earlier attempt wrote to `attempts/<n>/`,
/// then records `number`.
pub fn begin(dir: &Path, number: u32) -> anyhow::Result<()> {
    let mut earlier = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry?;
        if !kept(&entry.file_name().to_string_lossy()) {
            earlier.push(entry.path());
        }
    }
    if !earlier.is_empty() {
        let name = current(dir).map_or_else(|| "earlier".to_string(), |n| n.to_string());
        let mut target = dir.join(DIR).join(&name);
        let mut suffix = 1;
        while target.exists() {
            target = dir.join(DIR).join(format!("{name}-{suffix}"));
            suffix += 1;
        }
        std::fs::create_dir_all(&target)
            .with_context(|| format!("creating {}", target.display()))?;
        for path in earlier {
            let to = target.join(path.file_name().unwrap_or_default());
            std::fs::rename(&path, &to)
                .with_context(|| format!("moving {} to {}", path.display(), to.display()))?;
        }
    }
    let partial = dir.join(format!("{FILE}.partial"));
    std::fs::write(&partial, format!("{number}\n"))
        .with_context(|| format!("writing {}", partial.display()))?;
    std::fs::rename(&partial, dir.join(FILE)).context("recording the attempt")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_attempt_moves_the_last_ones_outputs_aside() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("spec.json"), "{}").unwrap();
        std::fs::write(root.join("log.txt"), "submitted\n").unwrap();
        std::fs::write(root.join("slurm-7.out"), "").unwrap();
        begin(root, 0).unwrap();
        assert_eq!(current(root), Some(0));
        assert!(!root.join(DIR).exists(), "nothing to move on a first start");
        std::fs::write(root.join("steps.jsonl"), "{}\n").unwrap();
        std::fs::create_dir(root.join("checkpoint")).unwrap();
        std::fs::write(root.join("checkpoint/model.safetensors.partial"), "x").unwrap();
        begin(root, 1).unwrap();
        assert_eq!(current(root), Some(1));
        assert!(root.join("attempts/0/steps.jsonl").is_file());
        assert!(
            root.join("attempts/0/checkpoint/model.safetensors.partial")
                .is_file()
        );
        assert!(!root.join("steps.jsonl").exists());
        for kept in ["spec.json", "log.txt", "slurm-7.out"] {
            assert!(root.join(kept).is_file(), "{kept} stays");
        }
    }
}
