//! Exists to prove that two people (or two pipelines) applying at once do
//! not hurt each other: two applies of the same files converge with no
//! error to act on, of two different saved plans the one that starts after
//! the other has written is refused as stale, and two applies to one state
//! file take turns on its lock.

use std::process::Stdio;

use crate::graph_support::repo;
use crate::reliability_support::*;

#[test]
fn reliability_two_applies_of_the_same_files_at_once_both_succeed_and_converge() {
    let emulator = SpawnedEmulator::contoso(&["--latency-ms", "20"]);
    let (code, stdout, stderr) = run(&mut apply_contoso(&emulator));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let expected = emulator.state();

    // Started together, and one a little after the other (it reads while the first writes).
    for stagger in [0, 120, 300] {
        emulator.reset();
        let first = apply_contoso(&emulator).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(stagger));
        let second = apply_contoso(&emulator).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        for (name, child) in [("first", first), ("second", second)] {
            let output = child.wait_with_output().unwrap();
            let stdout = String::from_utf8_lossy(&output.stdout);
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(
                output.status.code(),
                Some(0),
                "stagger {stagger} ms, {name} apply:\n{stdout}\n{stderr}"
            );
            assert!(!stdout.contains("FAILED"), "{stdout}");
        }
        let changes = planned_changes(&emulator);
        assert!(changes.is_empty(), "stagger {stagger} ms: not converged: {changes:#?}");
        assert!(emulator.state() == expected, "stagger {stagger} ms: not the state of a single apply");
    }
}

#[test]
fn reliability_of_two_saved_plans_applied_at_once_the_later_one_is_refused_as_stale() {
    let emulator = SpawnedEmulator::contoso(&["--latency-ms", "100"]);
    let folder = tempfile::tempdir().unwrap();
    // A colleague's version of the files: one description differs.
    let theirs = folder.path().join("theirs.yaml");
    let text = std::fs::read_to_string(contoso_yaml()).unwrap();
    let edited = text.replacen("description: ", "description: Reviewed. ", 1);
    assert_ne!(edited, text);
    std::fs::write(&theirs, edited).unwrap();

    let mine_plan = folder.path().join("mine.plan.json");
    let theirs_plan = folder.path().join("theirs.plan.json");
    for (file, out) in [(contoso_yaml(), &mine_plan), (theirs.display().to_string(), &theirs_plan)] {
        let mut command = cli();
        command.args(["plan", "-f", &file, "--graph-url", &emulator.base, "--out"]).arg(out);
        let (code, stdout, stderr) = run(&mut command);
        assert_eq!(code, 0, "{stdout}\n{stderr}");
    }
    let apply = |plan: &std::path::Path| {
        let mut command = cli();
        command.arg("apply").arg(plan).args(["--graph-url", &emulator.base, "--auto-approve"]);
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        command
    };
    let writes_before = emulator.stats()["writes"].as_u64().unwrap();
    let mine = apply(&mine_plan).spawn().unwrap();
    emulator
        .wait_for("the first write", |emulator| emulator.stats()["writes"].as_u64().unwrap() > writes_before);
    let (code, stdout, stderr) = run(&mut apply(&theirs_plan));
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stderr.contains("is stale: the tenant changed since it was made"), "{stderr}");
    assert!(stderr.contains("Run `entra-csa plan` again"), "{stderr}");

    let output = mine.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let changes = planned_changes(&emulator);
    assert!(changes.is_empty(), "only the first plan was applied, whole: {changes:#?}");
}

/// `a.yaml` and `b.yaml`, each declaring one attribute set of its own
/// (`Alpha`, `Beta`) and nothing else.
fn write_set_files(folder: &std::path::Path) {
    for (file, set) in [("a.yaml", "Alpha"), ("b.yaml", "Beta")] {
        let text = format!("version: 1\nattributeSets:\n  {set}:\n    description: Added by {file}\n");
        std::fs::write(folder.join(file), text).unwrap();
    }
}

/// Two applies to one state file at once, each adding its own attribute
/// set: both sets are there afterwards, whatever the overlap (the second
/// waits for the first to write, then applies on top of it).
#[test]
fn reliability_two_state_file_applies_at_once_both_land() {
    use entra_csa::graph::wire::TenantDocument;
    use entra_csa::model::synthetic::{Shape, generate};

    let folder = tempfile::tempdir().unwrap();
    // A state file of about a megabyte, so that reading and writing it take a while.
    let generated = generate(&Shape { users: 800, service_principals: 20, seed: 9, ..Shape::default() });
    let seed_text = serde_json::to_string_pretty(&TenantDocument::from_live_state(&generated.live)).unwrap();
    write_set_files(folder.path());
    let apply = |file: &str| {
        let mut command = apply_to_state_file(folder.path(), &["-f", file]);
        command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
    };
    let mut waited = 0;
    for stagger in [0, 0, 0, 20, 40, 60, 80, 100] {
        std::fs::write(folder.path().join("live.json"), &seed_text).unwrap();
        let first = apply("a.yaml");
        std::thread::sleep(std::time::Duration::from_millis(stagger));
        let second = apply("b.yaml");
        for child in [first, second] {
            let output = child.wait_with_output().unwrap();
            let (stdout, stderr) =
                (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
            assert_eq!(output.status.code(), Some(0), "stagger {stagger} ms:\n{stdout}\n{stderr}");
            waited += usize::from(stderr.contains("waiting for another apply to live.json to finish"));
        }
        let text = std::fs::read_to_string(folder.path().join("live.json")).unwrap();
        let live = entra_csa::tenant::state_file::parse(&text, "live.json").unwrap();
        for set in ["Alpha", "Beta"] {
            assert!(live.attribute_sets.contains_key(set), "stagger {stagger} ms: {set} was lost");
        }
    }
    assert!(waited > 0, "the applies never overlapped, so the test proved nothing");
}

/// Two saved plans, made from one state file, applied to it at once: the
/// second reads the file only after the first has written it, so it is
/// refused as stale instead of being applied to a tenant nobody reviewed.
#[test]
fn reliability_of_two_saved_plans_applied_at_once_to_a_state_file_exactly_one_lands() {
    let folder = tempfile::tempdir().unwrap();
    let seed_text = std::fs::read_to_string(repo("examples/contoso-live.json")).unwrap();
    write_set_files(folder.path());
    for round in 0..4 {
        std::fs::write(folder.path().join("live.json"), &seed_text).unwrap();
        for file in ["a.yaml", "b.yaml"] {
            let mut command = cli();
            command.current_dir(folder.path()).args(["plan", "-f", file, "--state", "live.json", "--out"]);
            let (code, stdout, stderr) = run(command.arg(format!("{file}.plan.json")));
            assert_eq!(code, 0, "{stdout}\n{stderr}");
        }
        let apply = |file: &str| {
            let mut command = apply_to_state_file(folder.path(), &[&format!("{file}.plan.json")]);
            command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
        };
        let (first, second) = (apply("a.yaml"), apply("b.yaml"));
        let outputs = [first.wait_with_output().unwrap(), second.wait_with_output().unwrap()];
        let landed = outputs.iter().filter(|output| output.status.code() == Some(0)).count();
        assert_eq!(landed, 1, "round {round}: not exactly one apply landed");
        let refused = outputs.iter().find(|output| output.status.code() != Some(0)).unwrap();
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(stderr.contains("is stale: the tenant changed since it was made"), "round {round}: {stderr}");

        let text = std::fs::read_to_string(folder.path().join("live.json")).unwrap();
        let live = entra_csa::tenant::state_file::parse(&text, "live.json").unwrap();
        let added = ["Alpha", "Beta"].iter().filter(|set| live.attribute_sets.contains_key(**set)).count();
        assert_eq!(added, 1, "round {round}: the refused plan changed the file");
    }
}
