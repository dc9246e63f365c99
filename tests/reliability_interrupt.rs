//! Exists to prove that an apply can be stopped at any moment without harm:
//! the real binary killed with SIGKILL at ten points of a Graph apply, then
//! run again, ends where a clean run ends; Ctrl-C (SIGINT) and SIGTERM stop
//! after the requests in flight (within a grace, past which a batch is cut
//! off and said to be), exit 3, and report truthfully what was done; and a state-file
//! apply killed at random moments always leaves a whole file, old or new
//! (and at most a partial file named for what it is).

use std::collections::BTreeSet;
use std::process::Stdio;
use std::time::{Duration, Instant};

use entra_csa::desired::export::{ExportOptions, export_single};
use entra_csa::graph::wire::TenantDocument;
use entra_csa::model::synthetic::{Shape, generate};
use rand::{Rng, SeedableRng};

use crate::reliability_support::*;

/// How many points of the apply the kill test stops it at.
const KILL_POINTS: usize = 10;

#[test]
fn reliability_sigkill_at_ten_points_then_a_rerun_converges_to_the_clean_state() {
    let emulator = SpawnedEmulator::contoso(&["--latency-ms", "15"]);
    let seed_state = emulator.state();
    let (code, stdout, stderr) = run(&mut apply_contoso(&emulator));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let expected = emulator.state();
    let total = emulator.wire_requests();
    assert!(total >= KILL_POINTS, "the apply is too short to stop at {KILL_POINTS} points: {total}");

    let mut seen_at_kill = BTreeSet::new();
    let mut partial = 0;
    for point in 0..KILL_POINTS {
        emulator.reset();
        // Spread over the run: the reads, then each step of the writes.
        let after = 1 + point * (total - 1) / KILL_POINTS;
        let mut child = apply_contoso(&emulator).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while emulator.wire_requests() < after && child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "the apply stalled");
            std::thread::sleep(Duration::from_millis(2));
        }
        child.kill().unwrap(); // SIGKILL: no handler runs, no cleanup.
        child.wait().unwrap();
        seen_at_kill.insert(emulator.wire_requests());
        let at_kill = emulator.state();
        if at_kill != seed_state && at_kill != expected {
            partial += 1;
        }

        let (code, stdout, stderr) = run(&mut apply_contoso(&emulator));
        assert_eq!(
            code, 0,
            "kill point {point} (after {after} requests): the rerun failed\n{stdout}\n{stderr}"
        );
        let changes = planned_changes(&emulator);
        assert!(changes.is_empty(), "kill point {point}: a plan after the rerun is not empty: {changes:#?}");
        assert!(emulator.state() == expected, "kill point {point}: not the state of a clean run");
    }
    assert!(seen_at_kill.len() >= KILL_POINTS / 2, "the kills fell on too few points: {seen_at_kill:?}");
    assert!(partial >= 2, "too few kills fell in the middle of the writes ({partial})");
}

/// `"  done     12. create Engineering/Project"` → `"create Engineering/Project"`.
fn reported(stdout: &str, marker: &str) -> BTreeSet<String> {
    stdout
        .lines()
        .filter_map(|line| line.strip_prefix(marker))
        .map(|rest| {
            let rest = rest.trim_start();
            let rest = rest.split_once(". ").map_or(rest, |(_, change)| change);
            rest.trim_end_matches(" (not attempted)").to_owned()
        })
        .collect()
}

/// Starts the Contoso apply, waits for its first write batch, sends
/// `signal`, and checks what a stop must be: exit 3 within 5 s, the report
/// says why, what was done and what remains, and what it calls not attempted
/// is exactly what a plan now finds to do; a rerun does exactly the rest.
fn stops_cleanly_on(signal: &str, why: &str, announced: &str) {
    let emulator = SpawnedEmulator::contoso(&["--latency-ms", "150"]);
    let child = apply_contoso(&emulator).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    emulator.wait_for("the first write batch", |emulator| {
        emulator.requests().iter().any(|request| {
            request.path == "/v1.0/$batch"
                && request.batch_item.is_none()
                && request.body.as_ref().is_some_and(|body| {
                    let text = body.to_string();
                    text.contains("\"POST\"") || text.contains("\"PATCH\"")
                })
        })
    });
    let signalled = std::process::Command::new("kill").args([signal, &child.id().to_string()]).status();
    let signalled_at = Instant::now();
    assert!(signalled.unwrap().success());
    let output = child.wait_with_output().unwrap();
    let took = signalled_at.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(took < Duration::from_secs(5), "{signal} took {took:?} to end the apply");
    assert_eq!(output.status.code(), Some(3), "a stop exits 3\n{stdout}\n{stderr}");
    assert!(stderr.contains(announced), "{stderr}");
    assert!(stdout.contains(&format!("Apply stopped before finishing ({why}): ")), "{stdout}");
    assert!(stdout.contains("To finish, run the same apply again"), "{stdout}");
    let done = reported(&stdout, "  done");
    let skipped = reported(&stdout, "  skipped");
    assert!(reported(&stdout, "  FAILED").is_empty(), "a stop is not a failure: {stdout}");
    assert!(
        reported(&stdout, "  cut off").is_empty(),
        "at 150 ms a batch answers within the grace: {stdout}"
    );
    assert!(!done.is_empty() && !skipped.is_empty(), "{stdout}");

    // What the report calls not attempted is exactly what a plan now finds to do.
    let remaining: BTreeSet<String> = planned_changes(&emulator)
        .iter()
        .map(|change| {
            format!("{} {}", change["action"].as_str().unwrap(), change["address"].as_str().unwrap())
        })
        .collect();
    assert_eq!(remaining, skipped, "the report of the stopped apply is not what remains");

    let (code, stdout, stderr) = run(&mut apply_contoso(&emulator));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(reported(&stdout, "  done"), skipped, "the rerun does exactly the rest");
}

#[test]
fn reliability_sigint_stops_after_the_batch_in_flight_and_the_report_is_exactly_what_remains() {
    stops_cleanly_on("-INT", "interrupted by Ctrl-C", "Interrupted: finishing the requests in flight");
}

/// A cancelled GitHub Actions job gets SIGINT, then SIGTERM, then SIGKILL
/// seconds later; `docker stop` sends SIGTERM alone. Either way the apply
/// must stop as Ctrl-C stops it, with its report, before the SIGKILL.
#[cfg(unix)]
#[test]
fn reliability_sigterm_stops_like_ctrl_c_within_five_seconds_with_a_true_report() {
    stops_cleanly_on(
        "-TERM",
        "terminated by SIGTERM",
        "Terminated (SIGTERM): finishing the requests in flight",
    );
}

#[test]
fn reliability_a_state_file_apply_killed_at_random_moments_leaves_the_old_or_the_new_file() {
    let folder = tempfile::tempdir().unwrap();
    // Two tenants of 800 users that differ in a third of them; applying
    // one's files to the other's state rewrites a file of about a megabyte.
    let generated = generate(&Shape {
        users: 800,
        service_principals: 20,
        sets: 2,
        definitions_per_set: 4,
        assignments_per_principal: 2,
        differing_share: 0.3,
        seed: 5,
    });
    let options = ExportOptions { assignments: true, ..Default::default() };
    let files = [
        ("a.yaml", export_single(&generated.desired, &options).unwrap()),
        ("b.yaml", export_single(&generated.live, &options).unwrap()),
    ];
    for (name, text) in &files {
        std::fs::write(folder.path().join(name), text).unwrap();
    }
    let state = folder.path().join("live.json");
    let write_state = |live| {
        let text = serde_json::to_string_pretty(&TenantDocument::from_live_state(live)).unwrap();
        std::fs::write(&state, text).unwrap();
    };
    write_state(&generated.live);
    let apply = |file: &str| {
        let mut command = apply_to_state_file(folder.path(), &["-f", file]);
        command.stdout(Stdio::null()).stderr(Stdio::null());
        command
    };
    let parse = || {
        let text = std::fs::read_to_string(&state).expect("the state file is there");
        entra_csa::tenant::state_file::parse(&text, "live.json")
            .unwrap_or_else(|error| panic!("a killed apply left a broken state file: {error}"))
    };

    // The two whole states, and how long a whole apply takes: the shorter
    // of the two runs, as the first may pay for a cold cache.
    let timed_apply = |file: &str| {
        let started = Instant::now();
        assert_eq!(apply(file).status().unwrap().code(), Some(0));
        started.elapsed()
    };
    let first = timed_apply("a.yaml");
    let state_a = parse();
    let second = timed_apply("b.yaml");
    let state_b = parse();
    assert_ne!(state_a, state_b);
    let full = first.min(second);

    // Kills spread over the whole run, each at a random moment of its own
    // twelfth: the earliest falls before the file is written, whatever
    // the machine's speed, and most fall late, where it is written.
    let rounds = 12;
    let mut random = rand::rngs::StdRng::seed_from_u64(8);
    let mut outcomes = BTreeSet::new();
    for round in 0..rounds {
        let file = if round % 2 == 0 { "a.yaml" } else { "b.yaml" };
        let before = parse();
        let mut child = apply(file).spawn().unwrap();
        let share = (round as f64 + random.random_range(0.0..1.0)) / rounds as f64;
        let at = full.mul_f64(0.05 + 1.05 * share.sqrt());
        std::thread::sleep(at);
        let _ = child.kill();
        let status = child.wait().unwrap();
        let after = parse();
        let target = if file == "a.yaml" { &state_a } else { &state_b };
        assert!(after == before || after == *target, "round {round}: neither the old nor the new state");
        outcomes.insert(match (status.code(), after == before) {
            (Some(0), _) => "finished",
            (None, true) => "killed, old file",
            (None, false) => "killed, new file",
            (Some(_), _) => panic!("round {round}: the apply failed"),
        });
    }
    assert!(outcomes.contains("killed, old file"), "no kill fell before the rename: {outcomes:?}");
    // A kill while writing may leave a partial file, named for what it is
    // (the next write removes it once stale); besides it only the lock file
    // appears, and a killed apply's lock does not outlive it.
    for entry in std::fs::read_dir(folder.path()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        let partial =
            name.starts_with(".live.json.") && name.ends_with(entra_csa::tenant::state_file::PARTIAL_SUFFIX);
        let expected = ["a.yaml", "b.yaml", "live.json", ".live.json.entra-csa-lock"];
        assert!(partial || expected.contains(&name.as_str()), "left behind: {name}");
    }
    assert_eq!(apply("a.yaml").status().unwrap().code(), Some(0), "a killed apply left the file locked");
}

#[test]
fn reliability_a_second_sigint_quits_at_once_and_a_rerun_still_converges() {
    let emulator = SpawnedEmulator::contoso(&["--latency-ms", "1000"]);
    let (code, took, stderr) = apply_signalled_twice(&emulator, "-INT");
    assert_eq!(code, Some(130), "the second Ctrl-C quits with 130");
    assert!(took < Duration::from_millis(200), "it did not wait for the requests in flight");
    assert!(stderr.contains("Ctrl-C again to quit at once"), "{stderr}");

    let (code, stdout, stderr) = run(&mut apply_contoso(&emulator));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let changes = planned_changes(&emulator);
    assert!(changes.is_empty(), "{changes:#?}");
}

/// A batch Graph has not answered within the stop's grace is abandoned, so
/// the stop still ends in time, and the report calls its changes cut off
/// (sent, outcome unknown) rather than done or not attempted. Whatever Graph
/// did with them, the rerun converges.
#[cfg(unix)]
#[test]
fn reliability_a_batch_slower_than_the_grace_is_reported_cut_off_and_a_rerun_converges() {
    // After the first write, every write is refused for a while, each
    // refusal asking for 8 s: the batches in flight wait far past the grace.
    let emulator = SpawnedEmulator::contoso(&[
        "--storm-ms",
        "12000",
        "--storm-after-writes",
        "1",
        "--storm-retry-after-ms",
        "8000",
    ]);
    let child = apply_contoso(&emulator).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    emulator.wait_for("a refused write", |emulator| {
        emulator.requests().iter().any(|request| request.batch_item.is_some() && request.status == 429)
    });
    let signalled = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let signalled_at = Instant::now();
    assert!(signalled.unwrap().success());
    let output = child.wait_with_output().unwrap();
    let took = signalled_at.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(took < Duration::from_secs(5), "the stop waited {took:?} for a slow batch");
    assert_eq!(output.status.code(), Some(3), "{stdout}\n{stderr}");
    let cut_off = reported(&stdout, "  cut off");
    assert!(!cut_off.is_empty(), "the batch in flight is reported cut off: {stdout}");
    assert!(stdout.contains("may or may not be done"), "{stdout}");
    assert!(reported(&stdout, "  FAILED").is_empty(), "{stdout}");

    let (code, stdout, stderr) = run(&mut apply_contoso(&emulator));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let changes = planned_changes(&emulator);
    assert!(changes.is_empty(), "{changes:#?}");
}

#[cfg(unix)]
#[test]
fn reliability_a_second_sigterm_quits_at_once_with_143() {
    let emulator = SpawnedEmulator::contoso(&["--latency-ms", "1000"]);
    let (code, took, _) = apply_signalled_twice(&emulator, "-TERM");
    assert_eq!(code, Some(143), "the second SIGTERM quits with 143");
    assert!(took < Duration::from_millis(200), "it did not wait for the requests in flight");
}

/// Applies Contoso to `emulator` and sends it `signal` (a `kill` flag)
/// twice, 50 ms apart, once its first write is answered: its exit code, how
/// long it took to end after the second signal, and its stderr. Give the
/// emulator a second of latency, so the batches sent after the first write
/// are still in flight when both signals arrive, however slow the machine
/// is to deliver them (the apply sends them as soon as it can).
fn apply_signalled_twice(emulator: &SpawnedEmulator, signal: &str) -> (Option<i32>, Duration, String) {
    let mut child = apply_contoso(emulator).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    emulator.wait_for("the first write batch", |emulator| {
        emulator.requests().iter().any(|request| request.batch_item.is_some() && request.method != "GET")
    });
    let send = || {
        let signalled = std::process::Command::new("kill").args([signal, &child.id().to_string()]).status();
        assert!(signalled.unwrap().success());
    };
    send();
    std::thread::sleep(Duration::from_millis(50));
    let started = Instant::now();
    send();
    let status = child.wait().unwrap();
    let took = started.elapsed();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    (status.code(), took, stderr)
}
