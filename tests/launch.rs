//! The one way the tests start the binary, so that every test runs it in the
//! same clean environment: nothing of the machine running the tests (sign-in
//! variables, `NO_COLOR`, `RUST_LOG`, proxies, `PATH`) reaches it, and it
//! reads no standard input. A test adds exactly what it means to give.

use std::process::{Command, Output, Stdio};

/// `entra-csa` with an empty environment and no standard input.
pub fn entra_csa() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_entra-csa"));
    command.env_clear().stdin(Stdio::null());
    command
}

/// Runs `command` to the end: exit code (-1 when killed by a signal), stdout, stderr.
pub fn run(command: &mut Command) -> (i32, String, String) {
    finished(command.output().expect("the binary runs"))
}

/// As `run`, off the async runtime, so that an emulator in this process
/// keeps serving while the binary talks to it.
pub async fn run_off_runtime(mut command: Command) -> (i32, String, String) {
    tokio::task::spawn_blocking(move || run(&mut command)).await.expect("the binary's run is joined")
}

/// A finished run as (exit code, stdout, stderr).
pub fn finished(output: Output) -> (i32, String, String) {
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
