//! `entra-csa show PLANFILE`: a saved plan printed again, in every format,
//! exactly as `plan` printed it — from the golden JSON plan of every case,
//! and from `plan --out` of examples with group sources, drift mode,
//! acknowledged drift and conflicts. `show` takes no target flag, so it
//! cannot reach a tenant.

use std::path::Path;

use crate::launch::{entra_csa, run};
use crate::plan_goldens::{FORMATS, cases};

fn repo(path: &str) -> String {
    format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_golden_json_plan_shows_as_its_golden_text_json_and_markdown() {
    let mut shown = 0;
    for case in cases() {
        for (format, file) in FORMATS {
            let (code, stdout, stderr) =
                run(entra_csa().current_dir(&case).args(["show", "plan.json", "--format", format]));
            assert_eq!(code, 0, "{}: {stderr}", case.display());
            let golden = std::fs::read_to_string(case.join(file)).unwrap();
            assert_eq!(stdout, golden, "{}: show --format {format} differs from {file}", case.display());
            shown += 1;
        }
    }
    assert!(shown >= 3 * 15, "{shown}");
}

/// `plan` in each format, `plan --out`, then `show` in each format: the same bytes.
fn assert_show_repeats_plan(folder: &Path, plan_args: &[&str]) {
    let saved = folder.join("saved.plan");
    let saved = saved.to_str().unwrap();
    let mut args = vec!["plan"];
    args.extend_from_slice(plan_args);
    let (code, _, stderr) = run(entra_csa().args(&args).args(["--out", saved]));
    assert!(code == 0 || code == 2, "{args:?}: {stderr}");
    for (format, _) in FORMATS {
        let (_, planned, _) = run(entra_csa().args(&args).args(["--format", format]));
        let (code, shown, stderr) = run(entra_csa().args(["show", saved, "--format", format]));
        assert_eq!(code, 0, "{stderr}");
        assert_eq!(shown, planned, "{args:?} --format {format}");
    }
    // Text is the default.
    let (_, planned, _) = run(entra_csa().args(&args));
    assert_eq!(run(entra_csa().args(["show", saved])).1, planned);
}

#[test]
fn a_saved_plan_shows_as_plan_printed_it() {
    let folder = tempfile::tempdir().unwrap();
    let contoso = folder.path().join("contoso.json");
    std::fs::copy(repo("examples/contoso-live.json"), &contoso).unwrap();
    let contoso = contoso.to_str().unwrap();
    let groups = folder.path().join("groups.json");
    std::fs::copy(repo("examples/groups/groups-live.json"), &groups).unwrap();
    let groups = groups.to_str().unwrap();

    // Every kind of change, and acknowledged drift.
    assert_show_repeats_plan(folder.path(), &["-f", &repo("examples/contoso.yaml"), "--state", contoso]);
    // Drift mode.
    assert_show_repeats_plan(
        folder.path(),
        &["-f", &repo("examples/contoso.yaml"), "--state", contoso, "--drift", "--detailed-exitcode"],
    );
    // Changes a group gives, with their source.
    assert_show_repeats_plan(folder.path(), &["-f", &repo("examples/groups/"), "--state", groups]);
    let saved = std::fs::read_to_string(folder.path().join("saved.plan")).unwrap();
    assert!(saved.contains("\"source\": \"group:"), "the case covers group sources");
}

#[test]
fn show_refuses_what_is_not_a_plan_and_names_the_command_meant() {
    let (code, _, stderr) = run(entra_csa().args(["show", &repo("examples/contoso.yaml")]));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("looks like desired-state YAML; did you mean `plan -f"), "{stderr}");

    let folder = tempfile::tempdir().unwrap();
    let missing = folder.path().join("missing.plan");
    let (code, _, stderr) = run(entra_csa().args(["show", missing.to_str().unwrap()]));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("cannot read plan file"), "{stderr}");

    let future = folder.path().join("future.plan");
    std::fs::write(&future, r#"{"formatVersion": 99}"#).unwrap();
    let (code, _, stderr) = run(entra_csa().args(["show", future.to_str().unwrap()]));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("plan format version 99"), "{stderr}");
}

#[test]
fn show_takes_no_target_so_it_signs_in_nowhere() {
    let folder = tempfile::tempdir().unwrap();
    for flag in ["--state", "--graph-url", "--auth"] {
        let (code, _, stderr) = run(entra_csa().args(["show", "saved.plan", flag, "x"]));
        assert_eq!(code, 1, "{flag}: {stderr}");
        assert!(stderr.contains(&format!("unexpected argument '{flag}'")), "{stderr}");
    }
    drop(folder);
}
