//! A progress bar on stderr for long CLI jobs (training, evaluation): redrawn in place on a
//! terminal, one line per update otherwise (logs, CI, tests).

use std::io::{IsTerminal as _, Write};
use std::time::Instant;

/// One bar: `label [#####-----] done/total pct eta detail`.
pub struct Progress {
    label: &'static str,
    total: usize,
    started: Instant,
    tty: bool,
}

const WIDTH: usize = 24;

/// `m:ss` or `h:mm:ss`.
fn clock(seconds: f64) -> String {
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a duration in whole seconds"
    )]
    let s = seconds.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

impl Progress {
    /// A bar for `total` units, drawn on stderr.
    pub fn new(label: &'static str, total: usize) -> Self {
        Self {
            label,
            total,
            started: Instant::now(),
            tty: std::io::stderr().is_terminal(),
        }
    }

    /// The bar's text after `done` units, with `detail` appended.
    pub fn line(&self, done: usize, elapsed_s: f64, detail: &str) -> String {
        let total = self.total.max(1);
        let done = done.min(total);
        let filled = WIDTH * done / total;
        #[expect(clippy::cast_precision_loss, reason = "counts")]
        let (fraction, remaining) = (
            done as f64 / total as f64,
            (total - done) as f64 * elapsed_s / done.max(1) as f64,
        );
        format!(
            "{} [{}{}] {done}/{total} {:>3.0}% eta {} {detail}",
            self.label,
            "#".repeat(filled),
            "-".repeat(WIDTH - filled),
            100.0 * fraction,
            clock(remaining),
        )
    }

    /// Draws the bar after `done` units.
    pub fn update(&self, done: usize, detail: &str) {
        let line = self.line(done, self.started.elapsed().as_secs_f64(), detail);
        let mut err = std::io::stderr().lock();
        // A progress bar that cannot be drawn is not worth failing a run for.
        let _ = if self.tty {
            write!(err, "\r\x1b[2K{line}")
        } else {
            writeln!(err, "{line}")
        };
        let _ = err.flush();
    }

    /// Ends the bar's line on a terminal.
    pub fn finish(&self) {
        if self.tty {
            let _ = writeln!(std::io::stderr());
        }
    }
}

/// Progress bars for a run's events: one for training (`unlearn`), then one per evaluation
/// stage.
#[derive(Default)]
pub struct RunProgress {
    bar: Option<(String, Progress)>,
}

impl RunProgress {
    /// Draws `event`; log lines go to the log (`tracing`).
    pub fn show(&mut self, event: &crate::runner::RunEvent) {
        use crate::runner::RunEvent;
        let (stage, label, done, total, detail) = match event {
            RunEvent::Step(point) => (
                "train",
                "unlearn",
                point.step,
                point.total_steps,
                format!(
                    "loss {:.4} lr {:.2e} |g| {:.3} {:.0} tok/s",
                    point.loss, point.lr, point.grad_norm, point.tokens_per_s
                ),
            ),
            RunEvent::Eval(point) => (
                point.stage.as_str(),
                "eval",
                point.done,
                point.total,
                point.stage.clone(),
            ),
            RunEvent::Log(line) => {
                tracing::info!("{line}");
                return;
            }
            // The runner logs each evaluation during training as a line too.
            RunEvent::Trajectory(_) => return,
        };
        if self
            .bar
            .as_ref()
            .is_none_or(|(current, _)| current != stage)
        {
            self.finish();
            self.bar = Some((stage.to_string(), Progress::new(label, total)));
        }
        if let Some((_, bar)) = &self.bar {
            bar.update(done, &detail);
        }
    }

    /// Ends the current bar.
    pub fn finish(&mut self) {
        if let Some((_, bar)) = self.bar.take() {
            bar.finish();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_fills_with_progress_and_estimates_the_rest() {
        let bar = Progress::new("unlearn", 10);
        let line = bar.line(3, 30.0, "loss 0.69");
        assert_eq!(
            line,
            "unlearn [#######-----------------] 3/10  30% eta 1:10 loss 0.69"
        );
        assert!(
            bar.line(10, 5.0, "")
                .contains("[########################] 10/10 100% eta 0:00")
        );
        assert_eq!(clock(3725.0), "1:02:05");
    }
}
