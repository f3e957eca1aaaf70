//! A run's log on disk (`runs/<id>/log.txt`): every line the executor reports while the run
//! works, then one line saying how it ended (`failed: <cause>` for a failure). The live page's
//! log panel reads it for runs that are no longer active, so the log outlives the process.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use shared::paths::ARTIFACT_LOG;

/// Lines a snapshot of a finished run carries (the newest).
pub const TAIL_LINES: usize = 200;

/// The log file of one run directory.
#[derive(Debug, Clone)]
pub struct RunLog {
    path: PathBuf,
}

impl RunLog {
    /// The log of the run whose directory is `dir`.
    pub fn new(dir: &Path) -> Self {
        Self {
            path: dir.join(ARTIFACT_LOG),
        }
    }

    /// Appends `text`, one line per line of it (a message never spans lines in the file).
    pub fn append(&self, text: &str) -> std::io::Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        let mut block = String::new();
        for line in text.lines() {
            block.push_str(line.trim_end());
            block.push('\n');
        }
        file.write_all(block.as_bytes())
    }

    /// The last `n` lines (none when the run never logged).
    pub fn tail(&self, n: usize) -> Vec<String> {
        let Ok(text) = std::fs::read_to_string(&self.path) else {
            return Vec::new();
        };
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..]
            .iter()
            .map(|l| (*l).to_string())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_append_split_and_tail() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let log = RunLog::new(dir.path());
        assert!(log.tail(5).is_empty(), "no file yet");
        log.append("first").unwrap_or_else(|e| panic!("{e}"));
        log.append("second\nthird  ")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(log.tail(10), ["first", "second", "third"]);
        assert_eq!(log.tail(2), ["second", "third"]);
    }
}
