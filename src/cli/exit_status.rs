//! The process exit codes, in the one place that knows the numbers.

use std::process::ExitCode;

/// How a run ended, as the exit code tells a pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Success; with `--detailed-exitcode`, also "no changes".
    Success = 0,
    /// Bad input or usage, conflicts, a stale plan, a failed apply, any error.
    Failed = 1,
    /// Changes, drift or coverage findings present (only with `--detailed-exitcode`).
    Changes = 2,
    /// An apply stopped before finishing (`--max-duration`, SIGTERM, Ctrl-C):
    /// run the same apply again.
    Stopped = 3,
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        ExitCode::from(status as u8)
    }
}
