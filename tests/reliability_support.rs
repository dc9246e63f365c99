//! Exists so the reliability tests can drive the real binary against a real
//! `entra-csa emulator` process (a separate process can be killed without
//! killing the test): spawn it, read its `listening on` line, query its
//! control endpoints, and check on drop that it never received a DELETE.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use entra_csa::emulator::RecordedRequest;
use entra_csa::graph::wire::TenantDocument;
use entra_csa::model::live::LiveState;

use crate::graph_support::repo;
use crate::launch::entra_csa;
pub use crate::launch::run;

pub const SENTINEL: &str = "sentinel-token-5d1e08b2-never-print-me";

/// An `entra-csa emulator` process; killed when dropped, after checking that
/// it received no DELETE.
pub struct SpawnedEmulator {
    child: Child,
    pub base: String,
    address: String,
}

impl SpawnedEmulator {
    /// Serves `state` (a state file) with these extra arguments.
    pub fn start(state: &Path, args: &[&str]) -> SpawnedEmulator {
        let mut child = entra_csa()
            .args(["emulator", "--listen", "127.0.0.1:0", "--state"])
            .arg(state)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the binary starts");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout is piped");
        let read = BufReader::new(stdout).read_line(&mut line);
        let mut spawned = SpawnedEmulator { child, base: String::new(), address: String::new() };
        read.expect("the first line is read");
        let base = line.trim().strip_prefix("listening on ").expect("the first line names the address");
        assert!(base.starts_with("http://127.0.0.1:"), "the emulator binds to loopback: {base}");
        spawned.base = base.to_owned();
        spawned.address = base.trim_start_matches("http://").to_owned();
        spawned
    }

    /// Contoso's tenant before the change.
    pub fn contoso(args: &[&str]) -> SpawnedEmulator {
        SpawnedEmulator::start(&repo("examples/contoso-live.json"), args)
    }

    /// A control endpoint's answer (`GET`), or `POST` for reset; blocking,
    /// with plain HTTP/1.1 so it needs no runtime.
    fn control(&self, method: &str, path: &str) -> String {
        let mut stream = std::net::TcpStream::connect(&self.address).expect("the emulator answers");
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(
            stream,
            "{method} /_emulator/{path} HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.address
        )
        .unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).unwrap();
        let answer = String::from_utf8_lossy(&answer).into_owned();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
        // Bodies come back whole or chunked; a chunked one is a size line, the data, a 0.
        if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
            let mut rest = body;
            let mut data = String::new();
            while let Some((size, tail)) = rest.split_once("\r\n") {
                let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
                if size == 0 {
                    break;
                }
                data.push_str(&tail[..size]);
                rest = &tail[size + 2..];
            }
            data
        } else {
            body.to_owned()
        }
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        serde_json::from_str(&self.control("GET", "requests")).expect("the request log is JSON")
    }

    /// Requests on the wire (a `$batch` envelope counts once, its items not).
    pub fn wire_requests(&self) -> usize {
        self.requests().iter().filter(|request| request.batch_item.is_none()).count()
    }

    pub fn stats(&self) -> serde_json::Value {
        serde_json::from_str(&self.control("GET", "stats")).expect("the stats are JSON")
    }

    pub fn state(&self) -> LiveState {
        let document: TenantDocument =
            serde_json::from_str(&self.control("GET", "state")).expect("the state is JSON");
        document.to_live_state().expect("the emulator's state is valid")
    }

    /// Back to the seed state, with an empty log.
    pub fn reset(&self) {
        self.control("POST", "reset");
    }

    /// Waits until `ready` holds, polling every few milliseconds.
    pub fn wait_for(&self, what: &str, mut ready: impl FnMut(&SpawnedEmulator) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !ready(self) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(3));
        }
    }
}

impl Drop for SpawnedEmulator {
    fn drop(&mut self) {
        let deletes =
            if std::thread::panicking() { 0 } else { self.stats()["deletes"].as_u64().unwrap_or(0) };
        let _ = self.child.kill();
        let _ = self.child.wait();
        assert_eq!(deletes, 0, "the emulator process received a DELETE");
    }
}

/// The binary with a clean environment and the sentinel token.
pub fn cli() -> Command {
    let mut command = entra_csa();
    command.env("ENTRA_CSA_ACCESS_TOKEN", SENTINEL).env("NO_COLOR", "1");
    command
}

pub fn contoso_yaml() -> String {
    repo("examples/contoso.yaml").display().to_string()
}

/// `apply -f examples/contoso.yaml` against the emulator, no questions asked.
pub fn apply_contoso(emulator: &SpawnedEmulator) -> Command {
    let mut command = cli();
    command.args(["apply", "-f", &contoso_yaml(), "--graph-url", &emulator.base, "--auto-approve"]);
    command
}

/// `plan --detailed-exitcode`: 0 when in sync.
pub fn plan_contoso(emulator: &SpawnedEmulator, more: &[&str]) -> Command {
    let mut command = cli();
    command.args(["plan", "-f", &contoso_yaml(), "--graph-url", &emulator.base]).args(more);
    command
}

/// `apply SOURCE --state live.json --auto-approve`, run in `folder`; the
/// source is `["-f", FILE]` or `[PLANFILE]`.
pub fn apply_to_state_file(folder: &std::path::Path, source: &[&str]) -> Command {
    let mut command = cli();
    command.current_dir(folder).arg("apply").args(source).args(["--state", "live.json", "--auto-approve"]);
    command
}

/// The changes a plan of the Contoso files finds now (drift is not a change).
pub fn planned_changes(emulator: &SpawnedEmulator) -> Vec<serde_json::Value> {
    let (code, stdout, stderr) = run(&mut plan_contoso(emulator, &["--format", "json"]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let plan: serde_json::Value = serde_json::from_str(&stdout).expect("the plan is JSON");
    plan["changes"].as_array().expect("the plan lists changes").clone()
}
