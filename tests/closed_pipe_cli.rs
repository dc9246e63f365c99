//! A reader that goes away early (`entra-csa plan … | head -1`) ends the
//! output quietly: never a panic (exit 101), never "error: Broken pipe".
//! Commands whose output is their result exit 0; commands whose status is a
//! verdict (`plan --detailed-exitcode`, `validate` with problems) keep it,
//! and `plan --out` still saves its plan.
//!
//! Two kinds of closed pipe: one whose reader is gone before the binary
//! writes (every write fails, whatever the timing), and one whose reader
//! takes the first line and then goes, with more output than a pipe holds
//! (the write fails half-way, as behind `head -1`).

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

use entra_csa::graph::wire::TenantDocument;
use entra_csa::model::synthetic::{Shape, generate};

use crate::launch::{entra_csa, finished};

fn repo(path: &str) -> String {
    format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))
}

/// A copy of the Contoso state file, so that nothing changes the committed one.
fn contoso_state(folder: &tempfile::TempDir) -> String {
    let path = folder.path().join("tenant.json");
    std::fs::copy(repo("examples/contoso-live.json"), &path).unwrap();
    path.display().to_string()
}

/// Runs `command` with a stdout whose reader has already gone.
fn with_stdout_closed(command: &mut Command) -> (i32, String) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let output = command.stdout(writer).stderr(Stdio::piped()).output().unwrap();
    let (code, _, stderr) = finished(output);
    (code, stderr)
}

/// Runs `command`, reads its first line of stdout and then closes the pipe.
fn with_first_line_read(command: &mut Command) -> (i32, String, String) {
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    drop(stdout);
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    let status = child.wait().unwrap();
    (status.code().unwrap_or(-1), first, stderr)
}

fn assert_quiet(what: &str, code: i32, expected: i32, stderr: &str) {
    assert_eq!(code, expected, "{what}: {stderr}");
    assert!(!stderr.contains("Broken pipe"), "{what}: {stderr}");
    assert!(!stderr.contains("panicked"), "{what}: {stderr}");
}

#[test]
fn every_command_that_prints_ends_quietly_on_a_closed_pipe() {
    let folder = tempfile::tempdir().unwrap();
    let state = contoso_state(&folder);
    let contoso = repo("examples/contoso.yaml");
    let saved = folder.path().join("saved.json").display().to_string();
    let man = folder.path().join("man").display().to_string();
    let mut saving = entra_csa();
    saving.args(["plan", "-f", &contoso, "--state", &state, "--out", &saved]);
    let (code, stderr) = with_stdout_closed(&mut saving);
    assert_quiet("plan --out", code, 0, &stderr);
    assert!(std::path::Path::new(&saved).exists(), "the plan is saved although nobody read it");

    let cases: Vec<(Vec<&str>, i32)> = vec![
        (vec!["validate", "-f", &contoso], 0),
        (vec!["plan", "-f", &contoso, "--state", &state], 0),
        (vec!["plan", "-f", &contoso, "--state", &state, "--format", "json"], 0),
        (vec!["plan", "-f", &contoso, "--state", &state, "--format", "markdown"], 0),
        // The verdict stands: changes are present.
        (vec!["plan", "-f", &contoso, "--state", &state, "--detailed-exitcode"], 2),
        (vec!["report", "--state", &state], 0),
        (vec!["report", "--state", &state, "--format", "json"], 0),
        (vec!["export", "--state", &state, "--assignments"], 0),
        (vec!["show", &saved], 0),
        (vec!["show", &saved, "--format", "markdown"], 0),
        (vec!["schema"], 0),
        (vec!["completions", "bash"], 0),
        (vec!["man", "--out-dir", &man], 0),
        (vec!["--help"], 0),
        (vec!["plan", "--help"], 0),
        (vec!["--version"], 0),
    ];
    for (args, expected) in cases {
        let (code, stderr) = with_stdout_closed(entra_csa().args(&args));
        assert_quiet(&args.join(" "), code, expected, &stderr);
    }
}

#[test]
fn validate_keeps_its_verdict_when_nobody_reads_the_annotations() {
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("bad.yaml");
    let mut text = String::from("version: 1\nattributeSets:\n");
    for index in 0..500 {
        text.push_str(&format!("  Set{index}:\n    descripton: typo\n"));
    }
    std::fs::write(&file, text).unwrap();
    let path = file.display().to_string();
    let (code, stderr) =
        with_stdout_closed(entra_csa().args(["validate", "-f", &path, "--format", "github"]));
    assert_quiet("validate --format github", code, 1, &stderr);
    // And with stderr closed too (`2>&1 | head -1`): no panic, the status stands.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let output = entra_csa().args(["validate", "-f", &path]).stderr(writer).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn a_reader_that_takes_one_line_of_a_long_output_ends_it_quietly() {
    let folder = tempfile::tempdir().unwrap();
    // Well beyond what a pipe holds (64 KiB on Linux), so the write fails half-way.
    let shape = Shape { users: 3_000, service_principals: 200, seed: 7, ..Shape::default() };
    let live = generate(&shape).live;
    let state = folder.path().join("large.json");
    std::fs::write(&state, serde_json::to_string(&TenantDocument::from_live_state(&live)).unwrap()).unwrap();
    let state = state.display().to_string();
    for args in [
        vec!["report", "--state", &state],
        vec!["report", "--state", &state, "--format", "json"],
        vec!["export", "--state", &state, "--assignments"],
    ] {
        let (code, first, stderr) = with_first_line_read(entra_csa().args(&args));
        assert!(!first.is_empty(), "{args:?}");
        assert_quiet(&args.join(" "), code, 0, &stderr);
    }
}
