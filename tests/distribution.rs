//! How people get the tool: the GitHub Action's shell logic run for real
//! against a local fake release folder (OS and architecture choice, checksum
//! verification, the plan comment through a stand-in `gh`), the release
//! workflow's targets and pins, and the Dockerfile's build beside the
//! release's. The packaged crate itself is built by `.ci/run`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use sha2::{Digest, Sha256};

const VERSION: &str = "9.8.7";
const TARGETS: [(&str, &str, &str); 5] = [
    ("Linux", "X64", "x86_64-unknown-linux-musl"),
    ("Linux", "ARM64", "aarch64-unknown-linux-musl"),
    ("macOS", "X64", "x86_64-apple-darwin"),
    ("macOS", "ARM64", "aarch64-apple-darwin"),
    ("Windows", "X64", "x86_64-pc-windows-msvc"),
];

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn yaml(path: &str) -> Value {
    let text = std::fs::read_to_string(repo(path)).unwrap_or_else(|error| panic!("{path}: {error}"));
    serde_saphyr::from_str(&text).unwrap_or_else(|error| panic!("{path} is not valid YAML: {error}"))
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|byte| format!("{byte:02x}")).collect()
}

/// A release folder as release.yml publishes it: one archive per target, each
/// holding a stand-in binary that prints its target, and SHA256SUMS.
fn fake_release() -> tempfile::TempDir {
    let folder = tempfile::tempdir().unwrap();
    let release = folder.path().join(format!("v{VERSION}"));
    std::fs::create_dir_all(&release).unwrap();
    let mut sums = String::new();
    for (_, _, target) in TARGETS {
        let name = format!("entra-csa-v{VERSION}-{target}");
        let staging = tempfile::tempdir().unwrap();
        std::fs::create_dir(staging.path().join(&name)).unwrap();
        let exe = if target.contains("windows") { "entra-csa.exe" } else { "entra-csa" };
        std::fs::write(staging.path().join(&name).join(exe), format!("#!/bin/sh\necho {target}\n")).unwrap();
        let archive = if target.contains("windows") {
            let archive = format!("{name}.zip");
            let zip = release.join(&archive).display().to_string();
            assert_success(Command::new("zip").args(["-qr", &zip, &name]), staging.path());
            archive
        } else {
            let archive = format!("{name}.tar.gz");
            let tarball = release.join(&archive).display().to_string();
            assert_success(Command::new("tar").args(["-czf", &tarball, &name]), staging.path());
            archive
        };
        let bytes = std::fs::read(release.join(&archive)).unwrap();
        sums.push_str(&format!("{}  {archive}\n", sha256_hex(&bytes)));
    }
    std::fs::write(release.join("SHA256SUMS"), sums).unwrap();
    folder
}

fn assert_success(command: &mut Command, folder: &Path) {
    let output = command.current_dir(folder).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

/// Runs action/install.sh as the action's step does: (exit code, stderr, the GITHUB_PATH file's lines).
fn install(release: &Path, os: &str, arch: &str, pin: Option<&str>) -> (i32, String, Vec<String>) {
    let runner_temp = tempfile::tempdir().unwrap();
    let github_path = runner_temp.path().join("github_path");
    std::fs::write(&github_path, "").unwrap();
    let mut command = Command::new("bash");
    command
        .arg(repo("action/install.sh"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("ENTRA_CSA_VERSION", VERSION)
        .env("ENTRA_CSA_RELEASES", format!("file://{}", release.display()))
        .env("RUNNER_OS", os)
        .env("RUNNER_ARCH", arch)
        .env("RUNNER_TEMP", runner_temp.path())
        .env("GITHUB_PATH", &github_path);
    if let Some(pin) = pin {
        command.env("ENTRA_CSA_SHA256", pin);
    }
    let output = command.output().unwrap();
    let lines = std::fs::read_to_string(&github_path).unwrap().lines().map(str::to_owned).collect();
    // Keep the unpacked binary for the caller to run.
    std::mem::forget(runner_temp);
    (output.status.code().unwrap_or(-1), String::from_utf8_lossy(&output.stderr).into_owned(), lines)
}

#[test]
fn the_action_installs_the_binary_of_each_runner_after_checking_its_sha256() {
    let release = fake_release();
    for (os, arch, target) in TARGETS {
        let (code, stderr, path) = install(release.path(), os, arch, None);
        assert_eq!(code, 0, "{os} {arch}: {stderr}");
        assert_eq!(path.len(), 1, "{os} {arch}: one folder goes on PATH: {path:?}");
        let exe = if target.contains("windows") { "entra-csa.exe" } else { "entra-csa" };
        let binary = Path::new(&path[0]).join(exe);
        let output = Command::new("sh").arg(&binary).output().unwrap();
        assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), target, "{os} {arch} got another target");
    }
}

#[test]
fn the_action_refuses_an_archive_whose_checksum_differs() {
    let release = fake_release();
    let folder = release.path().join(format!("v{VERSION}"));
    let archive = folder.join(format!("entra-csa-v{VERSION}-x86_64-unknown-linux-musl.tar.gz"));

    // A pin the archive does not match.
    let (code, stderr, path) = install(release.path(), "Linux", "X64", Some(&"0".repeat(64)));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("the workflow pins"), "{stderr}");
    assert!(path.is_empty());
    // The right pin passes (in either case).
    let right = sha256_hex(&std::fs::read(&archive).unwrap()).to_uppercase();
    assert_eq!(install(release.path(), "Linux", "X64", Some(&right)).0, 0);

    // An archive replaced after the checksums were published.
    let mut bytes = std::fs::read(&archive).unwrap();
    bytes.push(0);
    std::fs::write(&archive, bytes).unwrap();
    let (code, stderr, path) = install(release.path(), "Linux", "X64", None);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("refusing it"), "{stderr}");
    assert!(path.is_empty(), "nothing goes on PATH: {path:?}");

    // An archive SHA256SUMS does not list.
    std::fs::write(folder.join("SHA256SUMS"), "").unwrap();
    let (code, stderr, _) = install(release.path(), "macOS", "ARM64", None);
    assert_eq!(code, 1);
    assert!(stderr.contains("does not list"), "{stderr}");
}

#[test]
fn the_action_names_what_it_cannot_install() {
    let release = fake_release();
    let (code, stderr, path) = install(release.path(), "Windows", "ARM64", None);
    assert_eq!(code, 1);
    assert!(stderr.contains("no entra-csa release binary for Windows on ARM64"), "{stderr}");
    assert!(path.is_empty());
    let (code, stderr, _) = install(&release.path().join("nowhere"), "Linux", "X64", None);
    assert_eq!(code, 1);
    assert!(stderr.contains("cannot download"), "{stderr}");
}

/// A stand-in `gh` that logs its arguments and answers the comment listing
/// with `comments` (a JSON array, already filtered as `--jq` would).
fn fake_gh(folder: &Path, existing_id: Option<u64>) {
    let listing = existing_id.map(|id| id.to_string()).unwrap_or_default();
    let script = format!(
        "#!/bin/sh\necho \"$*\" >> \"{log}\"\nfor arg in \"$@\"; do case \"$arg\" in body=@*) cat \"${{arg#body=@}}\" > \"{body}\";; esac; done\ncase \"$*\" in *--paginate*) echo '{listing}';; esac\n",
        log = folder.join("gh.log").display(),
        body = folder.join("body.md").display(),
    );
    std::fs::write(folder.join("gh"), script).unwrap();
    Command::new("chmod").arg("+x").arg(folder.join("gh")).status().unwrap();
}

/// Runs action/run.sh with the real binary on PATH: (exit code, GITHUB_OUTPUT, step summary, gh log, posted body).
fn run_action(
    args: &str,
    existing_comment: Option<u64>,
    case: &Path,
) -> (i32, String, String, String, String) {
    let tools = tempfile::tempdir().unwrap();
    fake_gh(tools.path(), existing_comment);
    let binary_folder = Path::new(env!("CARGO_BIN_EXE_entra-csa")).parent().unwrap().to_owned();
    let path =
        format!("{}:{}:{}", tools.path().display(), binary_folder.display(), std::env::var("PATH").unwrap());
    let summary = tools.path().join("summary.md");
    let outputs = tools.path().join("outputs");
    let output = Command::new("bash")
        .arg(repo("action/run.sh"))
        .current_dir(case)
        .env_clear()
        .env("PATH", path)
        .env("ENTRA_CSA_COMMAND", "plan")
        .env("ENTRA_CSA_ARGS", args)
        .env("ENTRA_CSA_COMMENT", "true")
        .env("ENTRA_CSA_PULL_REQUEST", "42")
        .env("GITHUB_REPOSITORY", "contoso/attributes")
        .env("GH_TOKEN", "not-a-real-token")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_OUTPUT", &outputs)
        .env("RUNNER_TEMP", tools.path())
        .output()
        .unwrap();
    let read = |path: PathBuf| std::fs::read_to_string(path).unwrap_or_default();
    (
        output.status.code().unwrap_or(-1),
        read(outputs),
        read(summary),
        read(tools.path().join("gh.log")),
        read(tools.path().join("body.md")),
    )
}

fn plan_case(name: &str) -> tempfile::TempDir {
    let folder = tempfile::tempdir().unwrap();
    for file in ["desired.yaml", "live.json"] {
        std::fs::copy(repo("tests/fixtures/plan").join(name).join(file), folder.path().join(file)).unwrap();
    }
    folder
}

#[test]
fn the_action_posts_the_plan_once_and_then_updates_that_comment() {
    let case = plan_case("contoso");
    let args = "-f desired.yaml --state live.json --detailed-exitcode";
    let (code, outputs, summary, gh, body) = run_action(args, None, case.path());
    assert_eq!(code, 0, "exit 2 (changes) is an answer, not a failure: {outputs}");
    assert!(outputs.contains("exit-code=2"), "{outputs}");
    assert!(summary.contains("entra-csa plan") || summary.contains("| "), "{summary}");
    assert!(gh.contains("--method POST repos/contoso/attributes/issues/42/comments"), "{gh}");
    assert!(body.starts_with("<!-- entra-csa-plan:default -->"), "{body}");
    assert!(body.contains(summary.lines().next().unwrap()), "the comment is the plan");

    let (_, _, _, gh, _) = run_action(args, Some(777), case.path());
    assert!(gh.contains("--method PATCH repos/contoso/attributes/issues/comments/777"), "{gh}");
    assert!(!gh.contains("POST"), "{gh}");
}

#[test]
fn the_action_posts_a_plan_with_conflicts_and_fails_the_step() {
    let case = plan_case("immutable-properties");
    let (code, outputs, summary, gh, body) =
        run_action("-f desired.yaml --state live.json", None, case.path());
    assert_eq!(code, 1);
    assert!(outputs.contains("exit-code=1"), "{outputs}");
    assert!(summary.to_lowercase().contains("conflict"), "{summary}");
    assert!(gh.contains("POST"), "the reviewer sees the conflicts: {gh}");
    assert!(body.to_lowercase().contains("conflict"), "{body}");
}

#[test]
fn action_yml_runs_the_scripts_it_ships() {
    let action = yaml("action.yml");
    for input in ["version", "sha256", "command", "args", "comment"] {
        assert!(action["inputs"][input].is_object(), "action.yml has no input {input}");
    }
    assert_eq!(action["inputs"]["version"]["required"], Value::Bool(true));
    assert_eq!(action["runs"]["using"], "composite");
    let steps = action["runs"]["steps"].as_array().unwrap();
    for script in ["action/install.sh", "action/run.sh"] {
        assert!(steps.iter().any(|step| step["run"].as_str().is_some_and(|run| run.contains(script))));
        assert!(repo(script).is_file(), "{script} is missing");
    }
    // The token is never fetched by hand: the tool signs in itself.
    let text = std::fs::read_to_string(repo("action.yml")).unwrap();
    assert!(!text.contains("ACTIONS_ID_TOKEN_REQUEST_TOKEN"));
}

/// Every `uses:` of a workflow, with what it points at.
fn uses(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                match (key.as_str(), child) {
                    ("uses", Value::String(reference)) => found.push(reference.clone()),
                    _ => uses(child, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| uses(item, found)),
        _ => {}
    }
}

/// Every action a workflow uses is pinned to a commit SHA, except this
/// project's own action, which the example names by the release tag it
/// installs (its comment says to pin the tag's commit; the binary is pinned
/// by version and checksum).
#[test]
fn workflows_pin_every_action_to_a_commit() {
    for path in [".github/workflows/release.yml", "examples/ci/github-actions.yml"] {
        let mut found = Vec::new();
        uses(&yaml(path), &mut found);
        assert!(!found.is_empty(), "{path} uses no action");
        for reference in found {
            if reference.starts_with("./") {
                continue;
            }
            if let Some(tag) = reference.strip_prefix("entra-csa/entra-csa@") {
                assert_eq!(
                    tag,
                    format!("v{}", env!("CARGO_PKG_VERSION")),
                    "{path}: our action at another release"
                );
                continue;
            }
            let (_, pin) =
                reference.rsplit_once('@').unwrap_or_else(|| panic!("{path}: {reference} is not pinned"));
            assert!(
                pin.len() == 40 && pin.chars().all(|c| c.is_ascii_hexdigit()),
                "{path}: {reference} is not pinned to a commit SHA"
            );
        }
    }
}

/// The `cargo build` command lines of a text.
fn cargo_builds(text: &str) -> Vec<String> {
    text.lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .filter_map(|line| line.find("cargo build").map(|at| line[at..].trim().to_owned()))
        .collect()
}

#[test]
fn the_release_builds_every_target_the_action_installs() {
    let release = yaml(".github/workflows/release.yml");
    let matrix = release["jobs"]["build"]["strategy"]["matrix"]["include"].as_array().unwrap();
    let built: BTreeSet<&str> = matrix.iter().filter_map(|entry| entry["target"].as_str()).collect();
    let installed: BTreeSet<&str> = TARGETS.iter().map(|(_, _, target)| *target).collect();
    assert_eq!(built, installed);
    let script = std::fs::read_to_string(repo("action/install.sh")).unwrap();
    for target in installed {
        assert!(script.contains(target), "install.sh does not know {target}");
    }
    let text = std::fs::read_to_string(repo(".github/workflows/release.yml")).unwrap();
    for needed in ["attest-build-provenance", "SHA256SUMS", "cargo cyclonedx", "entra-csa man", "completions"]
    {
        assert!(text.contains(needed), "release.yml does not do {needed}");
    }
}

#[test]
fn the_dockerfile_builds_as_the_release_does_and_runs_as_non_root() {
    let dockerfile = std::fs::read_to_string(repo("Dockerfile")).unwrap();
    let release = std::fs::read_to_string(repo(".github/workflows/release.yml")).unwrap();
    let release_build = cargo_builds(&release)
        .into_iter()
        .find(|line| line.contains("--target"))
        .expect("release.yml builds per target");
    let docker_build = cargo_builds(&dockerfile);
    assert_eq!(docker_build.len(), 1, "{docker_build:?}");
    assert_eq!(
        docker_build[0],
        release_build.replace("\"${{ matrix.target }}\"", "x86_64-unknown-linux-musl"),
        "the image's build differs from the release's"
    );
    let stages: Vec<&str> = dockerfile.lines().filter(|line| line.starts_with("FROM ")).collect();
    assert_eq!(stages.len(), 2, "multi-stage: {stages:?}");
    assert!(stages[1].contains("distroless/static") || stages[1].contains("scratch"), "{}", stages[1]);
    let user = dockerfile.lines().rev().find(|line| line.starts_with("USER ")).expect("a USER line");
    let name = user["USER ".len()..].trim().split(':').next().unwrap_or_default();
    assert!(!matches!(name, "" | "root" | "0"), "the image runs as root: {user}");
    assert!(
        !dockerfile
            .lines()
            .skip_while(|line| !line.starts_with(stages[1]))
            .any(|line| line.starts_with("RUN "))
    );
}

/// The install step of examples/ci/azure-pipelines.yml, run against the fake release.
fn azure_install(release: &Path, pin: &str) -> (i32, String, PathBuf) {
    let text = std::fs::read_to_string(repo("examples/ci/azure-pipelines.yml")).unwrap();
    let pipeline: Value = serde_saphyr::from_str(&text).unwrap();
    let script =
        pipeline["stages"][0]["jobs"][0]["steps"][0]["bash"].as_str().expect("the first step installs");
    let temp = tempfile::tempdir().unwrap().keep();
    let output = Command::new("bash")
        .args(["-c", script])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("ENTRA_CSA_VERSION", VERSION)
        .env("ENTRA_CSA_RELEASES", format!("file://{}", release.display()))
        .env("ENTRA_CSA_SHA256", pin)
        .env("AGENT_TEMPDIRECTORY", &temp)
        .output()
        .unwrap();
    let shown =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.code().unwrap_or(-1), shown, temp)
}

#[test]
fn the_azure_pipeline_installs_the_same_way() {
    let release = fake_release();
    let (code, shown, temp) = azure_install(release.path(), "");
    assert_eq!(code, 0, "{shown}");
    let folder = temp.join(format!("entra-csa-v{VERSION}-x86_64-unknown-linux-musl"));
    assert!(shown.contains(&format!("##vso[task.prependpath]{}", folder.display())), "{shown}");
    assert!(folder.join("entra-csa").is_file());
    // A wrong pin, then a replaced archive, are refused.
    assert_ne!(azure_install(release.path(), &"0".repeat(64)).0, 0);
    let archive =
        release.path().join(format!("v{VERSION}/entra-csa-v{VERSION}-x86_64-unknown-linux-musl.tar.gz"));
    let mut bytes = std::fs::read(&archive).unwrap();
    bytes.push(0);
    std::fs::write(&archive, bytes).unwrap();
    let (code, shown, _) = azure_install(release.path(), "");
    assert_ne!(code, 0, "{shown}");
}
