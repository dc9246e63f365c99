//! What stops an apply before it finishes, and why: Ctrl-C (SIGINT),
//! SIGTERM (a cancelled CI job, `docker stop`) and the `--max-duration`
//! deadline all stop it the same way — nothing new is sent, the requests in
//! flight get a short grace, the report says what was done and what remains,
//! and the command exits 3. A second signal quits at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crate::cli::output::tell;

/// Why an apply stopped before finishing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// `--max-duration` ran out.
    Deadline(Duration),
    /// Ctrl-C (SIGINT).
    Interrupt,
    /// SIGTERM.
    Terminate,
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StopReason::Deadline(limit) => {
                write!(f, "--max-duration {} reached", humantime::format_duration(*limit))
            }
            StopReason::Interrupt => f.write_str("interrupted by Ctrl-C"),
            StopReason::Terminate => f.write_str("terminated by SIGTERM"),
        }
    }
}

/// The exit code of a second signal, which quits at once: 128 + the
/// signal's number, as a shell reports a process the signal killed.
fn quit_at_once_code(reason: StopReason) -> i32 {
    match reason {
        StopReason::Terminate => 143,
        _ => 130,
    }
}

/// Watches for what stops an apply while one runs; dropping it stops
/// watching. The deadline is an instant, counted from the command's start.
pub struct StopWatch {
    reason: Arc<OnceLock<StopReason>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl StopWatch {
    /// Starts watching on `runtime`: the first signal, or the deadline, sets
    /// `stop`; a second signal exits the process.
    pub fn start(
        runtime: &tokio::runtime::Runtime,
        stop: Arc<AtomicBool>,
        deadline: Option<(Instant, Duration)>,
    ) -> Self {
        let reason: Arc<OnceLock<StopReason>> = Arc::new(OnceLock::new());
        let mut tasks = Vec::new();
        let signals = {
            let (stop, reason) = (Arc::clone(&stop), Arc::clone(&reason));
            // Registered here, before the apply runs, so no signal slips by.
            let mut watcher = {
                let _inside = runtime.enter();
                Signals::new()
            };
            runtime.spawn(async move {
                let first = watcher.next().await;
                stop_for(first, &stop, &reason);
                let second = watcher.next().await;
                std::process::exit(quit_at_once_code(second));
            })
        };
        tasks.push(signals);
        if let Some((at, limit)) = deadline {
            // Already past (the reads took it all): stopped before the first write.
            if at <= Instant::now() {
                stop_for(StopReason::Deadline(limit), &stop, &reason);
            }
            let (stop, reason) = (Arc::clone(&stop), Arc::clone(&reason));
            tasks.push(runtime.spawn(async move {
                tokio::time::sleep_until(at.into()).await;
                stop_for(StopReason::Deadline(limit), &stop, &reason);
            }));
        }
        StopWatch { reason, tasks }
    }

    /// Why the apply was stopped, if it was.
    pub fn reason(&self) -> Option<StopReason> {
        self.reason.get().copied()
    }
}

impl Drop for StopWatch {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Sets `stop` for `why`, once, and says so on stderr.
fn stop_for(why: StopReason, stop: &AtomicBool, reason: &OnceLock<StopReason>) {
    if reason.set(why).is_err() {
        return;
    }
    stop.store(true, Ordering::SeqCst);
    let again = match why {
        StopReason::Interrupt => " (Ctrl-C again to quit at once)",
        StopReason::Terminate => " (a second signal quits at once)",
        StopReason::Deadline(_) => "",
    };
    let grace = crate::graph::apply::STOP_GRACE.as_secs();
    let head = match why {
        StopReason::Interrupt => "Interrupted".to_owned(),
        StopReason::Terminate => "Terminated (SIGTERM)".to_owned(),
        deadline @ StopReason::Deadline(_) => format!("Stopping: {deadline}"),
    };
    tell!("\n{head}: finishing the requests in flight (at most {grace} s), sending nothing new{again}.");
}

/// The signals that stop an apply: SIGINT and, on Unix, SIGTERM. A signal
/// that cannot be watched is left to its default (it ends the process).
struct Signals {
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    /// Registers the handlers; needs to run inside the runtime.
    fn new() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Signals {
                interrupt: signal(SignalKind::interrupt()).ok(),
                terminate: signal(SignalKind::terminate()).ok(),
            }
        }
        #[cfg(not(unix))]
        {
            Signals {}
        }
    }

    /// The next signal.
    async fn next(&mut self) -> StopReason {
        #[cfg(unix)]
        {
            async fn received(signal: Option<&mut tokio::signal::unix::Signal>) {
                match signal {
                    Some(signal) => {
                        signal.recv().await;
                    }
                    None => std::future::pending().await,
                }
            }
            tokio::select! {
                () = received(self.interrupt.as_mut()) => StopReason::Interrupt,
                () = received(self.terminate.as_mut()) => StopReason::Terminate,
            }
        }
        #[cfg(not(unix))]
        {
            match tokio::signal::ctrl_c().await {
                Ok(()) => StopReason::Interrupt,
                Err(_) => std::future::pending().await,
            }
        }
    }
}
