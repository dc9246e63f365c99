//! Progress bars on stderr for long reads and applies — only when stderr is
//! a terminal; otherwise hidden, so logs and CI output stay clean.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar or spinner that draws only on a terminal.
#[derive(Debug, Clone)]
pub struct Progress(ProgressBar);

fn target() -> ProgressDrawTarget {
    if std::io::stderr().is_terminal() { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() }
}

impl Progress {
    /// A bar of `len` steps.
    pub fn bar(len: u64, message: &str) -> Self {
        let bar = ProgressBar::with_draw_target(Some(len), target());
        if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({elapsed})") {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(message.to_owned());
        Progress(bar)
    }

    /// A spinner for work of unknown length.
    pub fn spinner(message: &str) -> Self {
        let bar = ProgressBar::with_draw_target(None, target());
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} {pos} ({elapsed})") {
            bar.set_style(style);
        }
        bar.set_message(message.to_owned());
        if std::io::stderr().is_terminal() {
            bar.enable_steady_tick(Duration::from_millis(120));
        }
        Progress(bar)
    }

    /// One more step done.
    pub fn inc(&self) {
        self.0.inc(1);
    }

    pub fn inc_by(&self, steps: u64) {
        self.0.inc(steps);
    }

    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}
