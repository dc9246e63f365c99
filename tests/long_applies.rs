//! Exists to prove that an apply longer than a CI job can be delivered in
//! several runs of one approved plan: the real binary, stopped again and
//! again by `--max-duration` and applied again from the same saved plan,
//! writes each change once in total and ends in the tenant one uncut run
//! leaves; a saved plan whose tenant also changed otherwise is still refused.

use std::collections::BTreeMap;
use std::path::Path;

use entra_csa::desired::export::{ExportOptions, export_single};
use entra_csa::emulator::RecordedRequest;
use entra_csa::graph::wire::TenantDocument;
use entra_csa::model::synthetic::{Shape, fresh, generate};

use crate::reliability_support::*;

/// A new tenant of `users` users and a few service principals (no sets,
/// definitions or values yet) served by an emulator with `args`, and the
/// files that set it up: every set, definition and assignment to create.
fn new_tenant(folder: &Path, users: usize, args: &[&str]) -> (SpawnedEmulator, String) {
    let generated = generate(&Shape {
        users,
        service_principals: users / 50,
        sets: 2,
        definitions_per_set: 4,
        assignments_per_principal: 2,
        differing_share: 0.0,
        seed: 31,
    });
    let options = ExportOptions { assignments: true, ..Default::default() };
    let files = folder.join("desired.yaml");
    std::fs::write(&files, export_single(&generated.desired, &options).unwrap()).unwrap();
    let seed = folder.join("seed.json");
    let document = TenantDocument::from_live_state(&fresh(&generated.desired));
    std::fs::write(&seed, serde_json::to_string(&document).unwrap()).unwrap();
    (SpawnedEmulator::start(&seed, args), files.display().to_string())
}

/// `plan --out plan.json`, saved in `folder`.
fn save_plan(emulator: &SpawnedEmulator, files: &str, folder: &Path) -> String {
    let out = folder.join("plan.json").display().to_string();
    let (code, stdout, stderr) =
        run(cli().args(["plan", "-f", files, "--graph-url", &emulator.base, "--out", &out]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    out
}

/// `apply PLANFILE --auto-approve`, with a deadline when given.
fn apply_saved(plan: &str, max_duration: Option<&str>) -> (i32, String, String) {
    let mut command = cli();
    command.args(["apply", plan, "--auto-approve"]);
    if let Some(limit) = max_duration {
        command.args(["--max-duration", limit]);
    }
    run(&mut command)
}

/// The write items Graph carried out (2xx), by what they write: a PATCH by
/// its path, a create by its path and the id or name it creates.
fn writes_done(requests: &[RecordedRequest]) -> BTreeMap<String, usize> {
    let mut done = BTreeMap::new();
    for request in requests {
        if request.method != "GET" && request.batch_item.is_some() && (200..300).contains(&request.status) {
            let created = request.body.as_ref().map_or(String::new(), |body| {
                let field = |name: &str| body.get(name).and_then(|value| value.as_str()).unwrap_or_default();
                format!("{}{}{}", field("id"), field("attributeSet"), field("name"))
            });
            let what = if request.method == "POST" { created } else { String::new() };
            *done.entry(format!("{} {} {what}", request.method, request.path)).or_default() += 1;
        }
    }
    done
}

#[test]
fn a_saved_plan_cut_by_max_duration_into_runs_writes_each_change_once_and_ends_as_one_uncut_run() {
    let folder = tempfile::tempdir().unwrap();
    let (emulator, files) = new_tenant(folder.path(), 500, &["--latency-ms", "150"]);
    let plan = save_plan(&emulator, &files, folder.path());

    // One uncut run: the tenant it leaves, and its writes.
    let (code, stdout, stderr) = apply_saved(&plan, None);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let expected = emulator.state();
    let uncut = writes_done(&emulator.requests());
    let principals = uncut.keys().filter(|write| write.starts_with("PATCH")).count();
    assert_eq!(principals, 510, "one write per principal: {uncut:?}");
    assert!(uncut.values().all(|count| *count == 1), "the uncut run wrote something twice");

    // The same saved plan from the same tenant, stopped by its deadline
    // until it finishes. A deadline that falls before the first write (the
    // reads take time too) is lengthened.
    emulator.reset();
    let mut limit_ms = 1_000;
    let (mut stopped_part_way, mut runs, mut written_before) = (0, 0, false);
    loop {
        runs += 1;
        assert!(runs <= 40, "the apply never finished");
        let before = emulator.requests().len();
        let (code, stdout, stderr) = apply_saved(&plan, Some(&format!("{limit_ms}ms")));
        let wrote = writes_done(&emulator.requests()[before..]).len();
        match code {
            0 => break,
            3 => {
                assert!(stdout.contains("Apply stopped before finishing (--max-duration "), "{stdout}");
                assert!(stdout.contains("To finish, apply the same saved plan again"), "{stdout}");
                assert!(!stdout.contains("FAILED"), "{stdout}");
                if written_before {
                    assert!(stderr.contains("Resuming the saved plan: "), "{stderr}");
                }
                if wrote == 0 {
                    limit_ms += 500;
                } else {
                    stopped_part_way += 1;
                }
            }
            _ => panic!("run {runs} exited {code}\n{stdout}\n{stderr}"),
        }
        written_before |= wrote > 0;
    }
    eprintln!("runs {runs}, stopped part-way {stopped_part_way}, last limit {limit_ms} ms");
    assert!(stopped_part_way >= 1, "no deadline fell among the writes");
    assert!(emulator.state() == expected, "the runs did not end in the tenant one uncut run leaves");
    let cut = writes_done(&emulator.requests());
    assert_eq!(cut, uncut, "the runs together wrote other than one uncut run: each change once");

    // Applied again once finished: nothing to do, nothing written.
    let before = emulator.requests().len();
    let (code, stdout, stderr) = apply_saved(&plan, None);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(writes_done(&emulator.requests()[before..]).is_empty(), "{stdout}");
}

#[test]
fn a_partly_applied_saved_plan_is_still_refused_when_something_else_changed_too() {
    let folder = tempfile::tempdir().unwrap();
    let (emulator, files) = new_tenant(folder.path(), 100, &[]);
    let plan = save_plan(&emulator, &files, folder.path());

    // The plan is carried out, then another writer gives a principal the
    // plan assigns a value of its own in a declared set.
    let (code, stdout, stderr) = apply_saved(&plan, None);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let saved: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    let upn = saved["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|change| {
            change["address"].as_str()?.strip_prefix("user:")?.split('/').next().map(str::to_owned)
        })
        .unwrap();
    let url = format!("{}/v1.0/users/{upn}", emulator.base);
    let body = serde_json::json!({ "customSecurityAttributes": { "Set0": {
        "@odata.type": "#Microsoft.DirectoryServices.CustomSecurityAttributeValue",
        "Attr2@odata.type": "#Int32", "Attr2": 7 } } });
    let status = tokio::runtime::Runtime::new().unwrap().block_on(async {
        reqwest::Client::new().patch(&url).bearer_auth(SENTINEL).json(&body).send().await.unwrap().status()
    });
    assert_eq!(status.as_u16(), 204);

    let before = emulator.requests().len();
    let (code, stdout, stderr) = apply_saved(&plan, None);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stderr.contains("is stale"), "{stderr}");
    assert!(
        stderr.contains("changes are in the tenant already, as when an apply of it stopped part-way, but the tenant changed otherwise too: "),
        "{stderr}"
    );
    assert!(writes_done(&emulator.requests()[before..]).is_empty(), "a stale plan wrote: {stdout}");
}

#[test]
fn without_a_terminal_an_apply_prints_progress_lines_with_the_time_left() {
    let folder = tempfile::tempdir().unwrap();
    let (emulator, files) = new_tenant(folder.path(), 200, &["--latency-ms", "100"]);
    // Every 30 s in a CI log; every 100 ms here.
    let (code, stdout, stderr) = run(cli().env("ENTRA_CSA_PROGRESS_LINE_MS", "100").args([
        "apply",
        "-f",
        &files,
        "--graph-url",
        &emulator.base,
        "--auto-approve",
    ]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|line| line.starts_with("applying: ")).collect();
    assert!(!lines.is_empty(), "{stderr}");
    for line in &lines {
        let rest = line.strip_prefix("applying: ").unwrap();
        let (done, rest) = rest.split_once(" of ").unwrap();
        let (total, rest) = rest.split_once(" changes done, ").unwrap();
        let (left, rest) = rest.split_once(" left, ").unwrap();
        let done: u64 = done.parse().unwrap();
        let total: u64 = total.parse().unwrap();
        assert_eq!(left.parse::<u64>().unwrap(), total - done, "{line}");
        assert!(rest.contains(" writes/s, about ") && rest.ends_with(" to go"), "{line}");
    }
}

#[test]
fn a_plan_past_one_window_of_the_write_quota_says_how_long_its_apply_takes() {
    let folder = tempfile::tempdir().unwrap();
    let (emulator, files) = new_tenant(folder.path(), 3_100, &[]);
    let (code, stdout, stderr) = run(cli().args(["plan", "-f", &files, "--graph-url", &emulator.base]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    // 3,100 users, 62 service principals, 2 sets, 8 definitions: 232 writes
    // past the pacer's 2,940 of the first window, at 19.6 per second.
    assert!(
        stdout.contains("Applying this plan takes about 12 s at Graph's write quota: 3,172 writes"),
        "{stdout}"
    );

    let (emulator, files) = new_tenant(folder.path(), 500, &[]);
    let (code, stdout, stderr) = run(cli().args(["plan", "-f", &files, "--graph-url", &emulator.base]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        !stdout.contains("Applying this plan takes"),
        "within one window it is latency, not quota: {stdout}"
    );
}

#[test]
fn a_deadline_that_is_not_a_duration_is_a_usage_error() {
    for (given, expected) in [
        ("banana", "expected a duration such as `5h30m`"),
        ("0s", "a deadline of zero would stop before anything is sent"),
        ("5 hours 30", "expected a duration such as `5h30m`"),
    ] {
        let (code, stdout, stderr) =
            run(cli().args(["apply", "-f", "nowhere.yaml", "--auto-approve", "--max-duration", given]));
        assert_eq!(code, 1, "{given}: {stdout}\n{stderr}");
        assert!(stderr.contains(expected), "{given}: {stderr}");
        assert!(stderr.contains("--max-duration"), "{given}: {stderr}");
    }
}
