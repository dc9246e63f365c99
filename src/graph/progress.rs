//! Progress bars on stderr for long reads and applies — only when stderr is
//! a terminal; otherwise hidden, so logs and CI output stay clean, except
//! for an apply's line every 30 s (a long apply in a CI log must show it is
//! alive and when it ends).

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

/// How often an apply without a terminal (a CI log) prints a progress line.
pub const LOG_LINE_EVERY: Duration = Duration::from_secs(30);

/// Shortens `LOG_LINE_EVERY` (milliseconds) for the tests. Hidden: not for users.
const LOG_LINE_EVERY_ENV: &str = "ENTRA_CSA_PROGRESS_LINE_MS";

/// How far back the recent speed looks.
const RECENT: Duration = Duration::from_secs(30);

/// The progress of an apply, with the time left from the write quota and
/// the recent speed (`plan::apply_time::time_left`): a bar on a terminal;
/// without one, a line on stderr every `LOG_LINE_EVERY` (done, left, rate,
/// time left), so a CI log shows a long apply is alive and when it ends.
#[derive(Debug)]
pub struct ApplyProgress {
    bar: ProgressBar,
    /// Lines for a log, when stderr is not a terminal.
    every: Option<Duration>,
    total_changes: u64,
    total_writes: u64,
    clock: std::sync::Mutex<ApplyClock>,
}

/// What the time left is computed from.
#[derive(Debug)]
struct ApplyClock {
    started: std::time::Instant,
    /// How long all the apply's writes take at the client's pace
    /// (`plan::apply_time::paced_time_at`): the floor of the time left.
    paced: Duration,
    changes: u64,
    writes: u64,
    last_line: std::time::Instant,
    /// (when, writes done by then), over the last `RECENT`.
    recent: std::collections::VecDeque<(std::time::Instant, u64)>,
}

impl ApplyClock {
    fn recent_rate(&self, now: std::time::Instant) -> Option<f64> {
        let (since, writes) = *self.recent.front()?;
        let span = now.duration_since(since).as_secs_f64();
        (span >= 1.0).then(|| (self.writes - writes) as f64 / span)
    }

    fn time_left(&self, total_writes: u64, now: std::time::Instant) -> Duration {
        crate::plan::apply_time::time_left(
            self.writes,
            total_writes,
            now.duration_since(self.started),
            self.recent_rate(now),
            self.paced,
        )
    }
}

impl ApplyProgress {
    /// The progress of an apply of `changes` changes in `writes` requests,
    /// which take `paced` at the write pacer's pace.
    pub fn new(changes: u64, writes: u64, paced: Duration) -> Self {
        let terminal = std::io::stderr().is_terminal();
        let bar = ProgressBar::with_draw_target(Some(changes), target());
        if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({elapsed}{prefix})") {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message("applying");
        let every = (!terminal).then(|| {
            std::env::var(LOG_LINE_EVERY_ENV)
                .ok()
                .and_then(|value| value.trim().parse::<u64>().ok())
                .map_or(LOG_LINE_EVERY, Duration::from_millis)
        });
        let now = std::time::Instant::now();
        ApplyProgress {
            bar,
            every,
            total_changes: changes,
            total_writes: writes,
            clock: std::sync::Mutex::new(ApplyClock {
                started: now,
                paced,
                changes: 0,
                writes: 0,
                last_line: now,
                recent: std::collections::VecDeque::from([(now, 0)]),
            }),
        }
    }

    /// One write answered, carrying `changes` changes.
    pub fn write_done(&self, changes: u64) {
        let now = std::time::Instant::now();
        let left = {
            let mut clock = self.clock.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            clock.changes += changes;
            clock.writes += 1;
            let writes = clock.writes;
            clock.recent.push_back((now, writes));
            while clock.recent.len() > 2
                && clock.recent.get(1).is_some_and(|(at, _)| now.duration_since(*at) >= RECENT)
            {
                clock.recent.pop_front();
            }
            clock.time_left(self.total_writes, now)
        };
        self.bar.set_prefix(format!(", about {} left", crate::plan::apply_time::describe(left)));
        self.bar.inc(changes);
        self.tick();
    }

    /// Prints the log line when one is due (called on each answer and
    /// while the apply waits, so a pause shows too).
    pub fn tick(&self) {
        let Some(every) = self.every else { return };
        let now = std::time::Instant::now();
        let mut clock = self.clock.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if now.duration_since(clock.last_line) < every {
            return;
        }
        clock.last_line = now;
        let rate = clock.recent_rate(now).unwrap_or(0.0);
        let left = clock.time_left(self.total_writes, now);
        eprintln!(
            "{}",
            log_line(clock.changes, self.total_changes, rate, crate::plan::apply_time::describe(left))
        );
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// One progress line for a log.
fn log_line(done: u64, total: u64, writes_per_second: f64, left: String) -> String {
    format!(
        "applying: {done} of {total} changes done, {} left, {writes_per_second:.1} writes/s, about {left} to go",
        total.saturating_sub(done)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_line_says_done_left_rate_and_time_left() {
        assert_eq!(
            log_line(1_200, 5_000, 18.04, "3 min".into()),
            "applying: 1200 of 5000 changes done, 3800 left, 18.0 writes/s, about 3 min to go"
        );
    }

    #[test]
    fn the_time_left_counts_the_quota_not_only_the_recent_speed() {
        let start = std::time::Instant::now();
        let clock = ApplyClock {
            started: start,
            paced: crate::plan::apply_time::paced_time(10_000),
            changes: 3_000,
            writes: 3_000,
            last_line: start,
            recent: std::collections::VecDeque::from([(start, 0)]),
        };
        // 3,000 writes in 5 s is 600/s; the pacer holds the 7,060 past its
        // 2,940 of the window to 19.6/s: 360.2 s in all.
        let left = clock.time_left(10_000, start + Duration::from_secs(5));
        assert_eq!(left, Duration::from_secs_f64(7_060.0 / 19.6) - Duration::from_secs(5));
    }
}
