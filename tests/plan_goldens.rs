//! Golden plans: one case per plan rule (ARCHITECTURE.md, "Plan rules") under `tests/fixtures/plan/<case>/`,
//! each with `desired.yaml` and `live.json` (a state file), and the expected
//! `plan.txt`, `plan.json` and `plan.md`. The real binary runs in the case's
//! folder, so the target path in the output is just `live.json`.
//!
//! `UPDATE_GOLDENS=1 cargo test plan_goldens` rewrites the expected files;
//! review every diff by eye before committing it.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// The formats and the golden file of each.
pub const FORMATS: [(&str, &str); 3] = [("text", "plan.txt"), ("json", "plan.json"), ("markdown", "plan.md")];

/// Every case folder, sorted.
pub fn cases() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/plan");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("tests/fixtures/plan exists")
        .map(|entry| entry.expect("readable folder").path())
        .filter(|path| path.join("desired.yaml").is_file())
        .collect();
    cases.sort();
    cases
}

/// Runs `plan` on a case in `format`: (exit code, stdout, stderr).
pub fn run_plan(case: &Path, format: &str) -> (i32, String, String) {
    let output = crate::launch::entra_csa()
        .current_dir(case)
        .args(["plan", "-f", "desired.yaml", "--state", "live.json", "--format", format])
        .output()
        .expect("the binary runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stdout).expect("UTF-8 stdout"),
        String::from_utf8(output.stderr).expect("UTF-8 stderr"),
    )
}

fn name(case: &Path) -> String {
    case.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn every_case_matches_its_golden_plans() {
    let update = std::env::var_os("UPDATE_GOLDENS").is_some_and(|value| value == "1");
    let mut failures = Vec::new();
    for case in cases() {
        let mut conflicts = None;
        for (format, file) in FORMATS {
            let (code, stdout, stderr) = run_plan(&case, format);
            if format == "json" {
                let document: Value = serde_json::from_str(&stdout).unwrap_or_else(|error| {
                    panic!("{}: --format json is not JSON ({error}): {stderr}", name(&case))
                });
                conflicts = document["summary"]["conflicts"].as_u64();
            }
            let expected_code = match conflicts {
                Some(count) if count > 0 => 1,
                _ if stderr.contains("conflict") => 1,
                _ => 0,
            };
            if code != expected_code {
                failures.push(format!(
                    "{} --format {format}: exit {code}, expected {expected_code}\n{stderr}",
                    name(&case)
                ));
            }
            let golden = case.join(file);
            if update {
                std::fs::write(&golden, &stdout).expect("golden written");
                continue;
            }
            let expected = std::fs::read_to_string(&golden).unwrap_or_default();
            if expected != stdout {
                failures.push(format!(
                    "{} --format {format} differs from {file} (UPDATE_GOLDENS=1 rewrites it):\n{}",
                    name(&case),
                    line_diff(&expected, &stdout)
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn all_formats_list_the_changes_in_the_same_order() {
    for case in cases() {
        let json: Value =
            serde_json::from_str(&std::fs::read_to_string(case.join("plan.json")).unwrap()).unwrap();
        let addresses: Vec<String> = json["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|change| {
                format!("{} {}", change["action"].as_str().unwrap(), change["address"].as_str().unwrap())
            })
            .collect();
        for file in ["plan.txt", "plan.md"] {
            let text = std::fs::read_to_string(case.join(file)).unwrap();
            let mut from = 0;
            for address in &addresses {
                let (action, address) = address.split_once(' ').unwrap();
                let found = text[from..]
                    .find(&format!("{action}` | "))
                    .filter(|_| file == "plan.md")
                    .or_else(|| text[from..].find(&format!("{action} ")))
                    .and_then(|at| text[from + at..].find(address).map(|offset| from + at + offset));
                let Some(at) = found else {
                    panic!("{}/{file}: `{action} {address}` missing or out of order", name(&case));
                };
                from = at + address.len();
            }
        }
    }
}

/// A readable line diff for a failed comparison.
fn line_diff(expected: &str, actual: &str) -> String {
    similar::TextDiff::from_lines(expected, actual).unified_diff().header("expected", "actual").to_string()
}
