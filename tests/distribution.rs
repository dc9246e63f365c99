//! How people get the tool, run for real against local fakes: the GitHub
//! Action's scripts against a fake release served over loopback HTTP (the
//! default download address with the runner's default settings, the tool
//! cache, checksum refusals) and a fake GitHub REST API (the plan comment,
//! which only ever updates the workflow's own comment); the arguments, outputs
//! and plan files of `run.sh`; the release scripts (tag against version,
//! Homebrew and Scoop manifests); and the release and CI workflows, held to
//! runners GitHub still offers and to pinned, credential-free checkouts.
//! The packaged crate itself is built by `.ci/run`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::fake_http::{self, Request, Server};

const VERSION: &str = "9.8.7";
const TARGETS: [(&str, &str, &str); 5] = [
    ("Linux", "X64", "x86_64-unknown-linux-musl"),
    ("Linux", "ARM64", "aarch64-unknown-linux-musl"),
    ("macOS", "X64", "x86_64-apple-darwin"),
    ("macOS", "ARM64", "aarch64-apple-darwin"),
    ("Windows", "X64", "x86_64-pc-windows-msvc"),
];
/// The repository whose releases the action downloads by default.
const RELEASES_REPOSITORY: &str = "entra-csa/entra-csa";
const TOKEN: &str = "not-a-real-token-5f2b";

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo(path)).unwrap_or_else(|error| panic!("{path}: {error}"))
}

fn yaml(path: &str) -> Value {
    serde_saphyr::from_str(&read(path)).unwrap_or_else(|error| panic!("{path} is not valid YAML: {error}"))
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|byte| format!("{byte:02x}")).collect()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A release as release.yml publishes it, under
/// `ROOT/entra-csa/entra-csa/releases/download/vVERSION/`: one archive per
/// target, each holding a stand-in binary that prints its target, a
/// `.sha256` beside each, and SHA256SUMS. Returns (root, release folder).
fn fake_release() -> (tempfile::TempDir, PathBuf) {
    let root = tempfile::tempdir().unwrap();
    let release = root.path().join(RELEASES_REPOSITORY).join(format!("releases/download/v{VERSION}"));
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
        let line = format!("{}  {archive}\n", sha256_hex(&std::fs::read(release.join(&archive)).unwrap()));
        std::fs::write(release.join(format!("{archive}.sha256")), &line).unwrap();
        sums.push_str(&line);
    }
    std::fs::write(release.join("SHA256SUMS"), sums).unwrap();
    (root, release)
}

fn assert_success(command: &mut Command, folder: &Path) {
    let output = command.current_dir(folder).output().unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
}

/// What one run of action/install.sh left: exit code, stderr, the lines it
/// added to GITHUB_PATH.
struct Installed {
    code: i32,
    stderr: String,
    stdout: String,
    path: Vec<String>,
}

/// Runs action/install.sh as the action's step does, with the runner's
/// environment (GITHUB_SERVER_URL is the fake server) and the given extra
/// variables; `tool_cache` is the runner's RUNNER_TOOL_CACHE.
fn install(server: &str, os: &str, arch: &str, tool_cache: &Path, extra: &[(&str, &str)]) -> Installed {
    let runner_temp = tempfile::tempdir().unwrap();
    let github_path = runner_temp.path().join("github_path");
    std::fs::write(&github_path, "").unwrap();
    let mut command = Command::new("bash");
    command
        .arg(repo("action/install.sh"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("ENTRA_CSA_VERSION", VERSION)
        // What action.yml passes for inputs left at their defaults.
        .env("ENTRA_CSA_SHA256", "")
        .env("ENTRA_CSA_RELEASES", "")
        .env("GITHUB_SERVER_URL", server)
        .env("RUNNER_OS", os)
        .env("RUNNER_ARCH", arch)
        .env("RUNNER_TEMP", runner_temp.path())
        .env("RUNNER_TOOL_CACHE", tool_cache)
        .env("GITHUB_PATH", &github_path);
    for (name, value) in extra {
        command.env(name, value);
    }
    let output = command.output().unwrap();
    Installed {
        code: output.status.code().unwrap_or(-1),
        stderr: text(&output.stderr),
        stdout: text(&output.stdout),
        path: std::fs::read_to_string(&github_path).unwrap().lines().map(str::to_owned).collect(),
    }
}

#[test]
fn the_action_installs_from_its_default_address_with_default_settings() {
    let (root, _) = fake_release();
    let server = Server::start(fake_http::files(root.path().to_owned()));
    let cache = tempfile::tempdir().unwrap();
    for (os, arch, target) in TARGETS {
        let installed = install(&server.url, os, arch, cache.path(), &[]);
        assert_eq!(installed.code, 0, "{os} {arch}: {}", installed.stderr);
        assert_eq!(installed.path.len(), 1, "{os} {arch}: one folder goes on PATH: {:?}", installed.path);
        let exe = if target.contains("windows") { "entra-csa.exe" } else { "entra-csa" };
        let binary = Path::new(&installed.path[0]).join(exe);
        assert!(
            binary.starts_with(cache.path().join(format!("entra-csa/{VERSION}"))),
            "{}",
            binary.display()
        );
        let output = Command::new("sh").arg(&binary).output().unwrap();
        assert_eq!(text(&output.stdout).trim(), target, "{os} {arch} got another target");
    }
    // Everything came from this project's releases on the runner's server.
    let requests = server.requests();
    assert_eq!(requests.len(), 2 * TARGETS.len(), "SHA256SUMS and the archive, per target");
    for request in requests {
        assert!(
            request.path().starts_with(&format!("/{RELEASES_REPOSITORY}/releases/download/v{VERSION}/")),
            "{}",
            request.target
        );
    }
}

#[test]
fn the_default_address_names_the_crates_own_repository() {
    let script = read("action/install.sh");
    assert!(script.contains(&format!("RELEASES_REPOSITORY=\"{RELEASES_REPOSITORY}\"")), "install.sh");
    assert_eq!(env!("CARGO_PKG_REPOSITORY"), format!("https://github.com/{RELEASES_REPOSITORY}"));
    // Never from action_repository, which composite actions may leave empty.
    assert!(!read("action.yml").contains("action_repository"));
    let action = yaml("action.yml");
    assert_eq!(action["inputs"]["releases-url"]["default"], "", "the default address is install.sh's");
}

#[test]
fn the_tool_cache_serves_a_second_install_and_a_pin_still_holds() {
    let (root, release) = fake_release();
    let server = Server::start(fake_http::files(root.path().to_owned()));
    let cache = tempfile::tempdir().unwrap();
    assert_eq!(install(&server.url, "Linux", "X64", cache.path(), &[]).code, 0);
    assert_eq!(server.requests().len(), 2);
    let again = install(&server.url, "Linux", "X64", cache.path(), &[]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(again.stdout.contains("tool cache"), "{}", again.stdout);
    assert_eq!(server.requests().len(), 2, "a cache hit downloads nothing");
    // The right pin is a cache hit too.
    let archive = release.join(format!("entra-csa-v{VERSION}-x86_64-unknown-linux-musl.tar.gz"));
    let right = sha256_hex(&std::fs::read(&archive).unwrap()).to_uppercase();
    assert_eq!(install(&server.url, "Linux", "X64", cache.path(), &[("ENTRA_CSA_SHA256", &right)]).code, 0);
    assert_eq!(server.requests().len(), 2);
    // A pin the cached archive does not match is not served from the cache.
    let wrong = install(&server.url, "Linux", "X64", cache.path(), &[("ENTRA_CSA_SHA256", &"0".repeat(64))]);
    assert_eq!(wrong.code, 1, "{}", wrong.stderr);
    assert!(wrong.stderr.contains("the workflow pins"), "{}", wrong.stderr);
    assert!(wrong.path.is_empty());
    assert_eq!(server.requests().len(), 4, "downloaded again, then refused");
}

#[test]
fn the_action_refuses_an_archive_whose_checksum_differs() {
    let (root, release) = fake_release();
    // The `releases-url` input: a mirror, here a folder.
    let mirror =
        format!("file://{}", root.path().join(RELEASES_REPOSITORY).join("releases/download").display());
    let releases = [("ENTRA_CSA_RELEASES", mirror.as_str())];
    let archive = release.join(format!("entra-csa-v{VERSION}-x86_64-unknown-linux-musl.tar.gz"));
    let fresh_cache = || tempfile::tempdir().unwrap();

    let wrong_pin = [releases[0], ("ENTRA_CSA_SHA256", &"0".repeat(64))];
    let installed = install("http://127.0.0.1:9", "Linux", "X64", fresh_cache().path(), &wrong_pin);
    assert_eq!(installed.code, 1, "{}", installed.stderr);
    assert!(installed.stderr.contains("the workflow pins"), "{}", installed.stderr);
    assert!(installed.path.is_empty());

    // An archive replaced after the checksums were published.
    let mut bytes = std::fs::read(&archive).unwrap();
    bytes.push(0);
    std::fs::write(&archive, bytes).unwrap();
    let installed = install("http://127.0.0.1:9", "Linux", "X64", fresh_cache().path(), &releases);
    assert_eq!(installed.code, 1, "{}", installed.stderr);
    assert!(installed.stderr.contains("refusing it"), "{}", installed.stderr);
    assert!(installed.path.is_empty(), "nothing goes on PATH: {:?}", installed.path);

    // An archive SHA256SUMS does not list.
    std::fs::write(release.join("SHA256SUMS"), "").unwrap();
    let installed = install("http://127.0.0.1:9", "macOS", "ARM64", fresh_cache().path(), &releases);
    assert_eq!(installed.code, 1);
    assert!(installed.stderr.contains("does not list"), "{}", installed.stderr);
}

#[test]
fn the_action_names_what_it_cannot_install() {
    let (root, _) = fake_release();
    let server = Server::start(fake_http::files(root.path().to_owned()));
    let cache = tempfile::tempdir().unwrap();
    let installed = install(&server.url, "Windows", "ARM64", cache.path(), &[]);
    assert_eq!(installed.code, 1);
    assert!(
        installed.stderr.contains("no entra-csa release binary for Windows on ARM64"),
        "{}",
        installed.stderr
    );
    assert!(installed.path.is_empty());
    let nowhere = Server::start(|_: &Request| (404, b"{}".to_vec()));
    let installed = install(&nowhere.url, "Linux", "X64", cache.path(), &[]);
    assert_eq!(installed.code, 1);
    assert!(installed.stderr.contains("cannot download"), "{}", installed.stderr);
}

/// A stand-in `entra-csa` that records its arguments, one per line, then
/// runs the real binary with them.
fn recording_binary(folder: &Path) -> PathBuf {
    let real = env!("CARGO_BIN_EXE_entra-csa");
    let log = folder.join("argv.log");
    std::fs::write(
        folder.join("entra-csa"),
        format!("#!/bin/sh\nfor arg in \"$@\"; do printf '%s\\n' \"$arg\"; done > \"{}\"\nexec \"{real}\" \"$@\"\n", log.display()),
    )
    .unwrap();
    Command::new("chmod").arg("+x").arg(folder.join("entra-csa")).status().unwrap();
    log
}

/// What one run of action/run.sh left.
struct Ran {
    output: Output,
    outputs: String,
    argv: Vec<String>,
    plan_dir: PathBuf,
    _tools: tempfile::TempDir,
}

impl Ran {
    fn output(&self, name: &str) -> Option<String> {
        self.outputs.lines().find_map(|line| line.strip_prefix(&format!("{name}=")).map(str::to_owned))
    }
}

/// Runs action/run.sh in `case` as the action's step does.
fn run_action(command: &str, args: &str, case: &Path) -> Ran {
    let tools = tempfile::tempdir().unwrap();
    let log = recording_binary(tools.path());
    let path = format!("{}:{}", tools.path().display(), std::env::var("PATH").unwrap());
    let outputs = tools.path().join("outputs");
    let plan_dir = tools.path().join("plan");
    let output = Command::new("bash")
        .arg(repo("action/run.sh"))
        .current_dir(case)
        .env_clear()
        .env("PATH", path)
        .env("ENTRA_CSA_COMMAND", command)
        .env("ENTRA_CSA_ARGS", args)
        .env("ENTRA_CSA_PLAN_DIR", &plan_dir)
        .env("GITHUB_OUTPUT", &outputs)
        .env("RUNNER_TEMP", tools.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "run.sh never fails its step: {}", text(&output.stderr));
    let read = |path: &Path| std::fs::read_to_string(path).unwrap_or_default();
    Ran {
        outputs: read(&outputs),
        argv: read(&log).lines().map(str::to_owned).collect(),
        output,
        plan_dir,
        _tools: tools,
    }
}

fn plan_case(name: &str, folder: &str) -> tempfile::TempDir {
    let case = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(case.path().join(folder)).unwrap();
    for file in ["desired.yaml", "live.json"] {
        std::fs::copy(repo("tests/fixtures/plan").join(name).join(file), case.path().join(folder).join(file))
            .unwrap();
    }
    case
}

/// The real binary's plan of `case` in one format, for comparison.
fn plan_in(case: &Path, files: &str, state: &str, format: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_entra-csa"))
        .current_dir(case)
        .args(["plan", "-f", files, "--state", state, "--detailed-exitcode", "--format", format])
        .output()
        .unwrap();
    text(&output.stdout)
}

#[test]
fn args_take_one_argument_per_line_so_spaces_survive_and_flag_equals_forms_count() {
    let case = plan_case("contoso", "my attributes");
    let args = "  -f\n  my attributes/desired.yaml\n\n  --state=my attributes/live.json\n  --detailed-exitcode\n  --format=json\n";
    let ran = run_action("plan", args, case.path());
    assert_eq!(ran.output("exit-code").as_deref(), Some("2"), "{}", text(&ran.output.stderr));
    // The user's --format=json went to the log, and nothing clashed with it.
    let stdout: Value = serde_json::from_slice(&ran.output.stdout).expect("the user's JSON on stdout");
    assert!(stdout["changes"].as_array().is_some_and(|changes| !changes.is_empty()));
    assert_eq!(ran.argv.iter().filter(|arg| arg.starts_with("--format")).count(), 1, "{:?}", ran.argv);
    assert!(
        !ran.argv.iter().any(|arg| arg.starts_with("--auth")),
        "a state file needs no sign-in: {:?}",
        ran.argv
    );
    assert!(ran.argv.contains(&"my attributes/desired.yaml".to_owned()), "{:?}", ran.argv);

    // Three files from one run: each is what that --format prints.
    let (files, state) = ("my attributes/desired.yaml", "my attributes/live.json");
    for (output, format, file) in [
        ("plan-text", "text", "plan.txt"),
        ("plan-json", "json", "plan.json"),
        ("plan-markdown", "markdown", "plan.md"),
    ] {
        let path = ran.output(output).unwrap_or_else(|| panic!("no output {output}: {}", ran.outputs));
        assert_eq!(Path::new(&path), ran.plan_dir.join(file));
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            plan_in(case.path(), files, state, format),
            "{format}"
        );
    }
}

#[test]
fn the_actions_additions_never_duplicate_a_users_flag() {
    let case = plan_case("definition-description", "attributes");
    // No --auth: the action signs in with the runner's OIDC token.
    let ran = run_action("validate", "-f\nattributes/desired.yaml", case.path());
    assert_eq!(ran.output("exit-code").as_deref(), Some("0"), "{}", text(&ran.output.stderr));
    assert_eq!(ran.argv, ["validate", "-f", "attributes/desired.yaml"], "validate signs in nowhere");
    let ran = run_action("check-access", "-f\nattributes/desired.yaml", case.path());
    assert_eq!(ran.argv[ran.argv.len() - 2..], ["--auth", "workload"], "{:?}", ran.argv);
    // The user's own --auth, in either form, is the only one.
    for auth in ["--auth=token", "--auth\ntoken"] {
        let ran = run_action("check-access", &format!("-f\nattributes/desired.yaml\n{auth}"), case.path());
        assert_eq!(ran.argv.iter().filter(|arg| arg.starts_with("--auth")).count(), 1, "{:?}", ran.argv);
        assert!(!ran.argv.contains(&"workload".to_owned()), "{:?}", ran.argv);
        assert_eq!(ran.output("exit-code").as_deref(), Some("1"), "no token in ENTRA_CSA_ACCESS_TOKEN");
    }
    // The old space-separated form is refused with what to write instead.
    let ran = run_action("plan", "-f attributes/desired.yaml --state attributes/live.json", case.path());
    assert_eq!(ran.output("exit-code").as_deref(), Some("1"));
    assert!(ran.argv.is_empty(), "entra-csa did not run: {:?}", ran.argv);
    assert!(text(&ran.output.stderr).contains("one argument per line"), "{}", text(&ran.output.stderr));
    // The summary and the comment show that error where the plan would be.
    assert_eq!(ran.output("plan-directory").map(PathBuf::from), Some(ran.plan_dir.clone()));
    let error = std::fs::read_to_string(ran.plan_dir.join("stderr.txt")).unwrap();
    assert!(error.contains("one argument per line"), "{error}");
}

/// A pull request comment as the fake API keeps it.
#[derive(Clone, Debug)]
struct Comment {
    id: u64,
    login: String,
    body: String,
}

/// GitHub's REST API for one repository's pull request, number 42: the comments
/// (list, paginated; create; update) and GET /user, which refuses a
/// workflow's GITHUB_TOKEN as GitHub does.
struct FakeGitHub {
    server: Server,
    comments: Arc<Mutex<Vec<Comment>>>,
}

const COMMENTS: &str = "/repos/contoso/attributes/issues/42/comments";

impl FakeGitHub {
    fn start(comments: Vec<Comment>) -> FakeGitHub {
        let comments = Arc::new(Mutex::new(comments));
        let state = comments.clone();
        let server = Server::start(move |request: &Request| {
            if request.header("authorization") != Some(&format!("Bearer {TOKEN}")) {
                return (401, br#"{"message":"Bad credentials"}"#.to_vec());
            }
            let mut comments = state.lock().unwrap();
            let shown = |comment: &Comment| json!({"id": comment.id, "user": {"login": comment.login}, "body": comment.body});
            let body = || {
                serde_json::from_slice::<Value>(&request.body).unwrap()["body"].as_str().unwrap().to_owned()
            };
            match (request.method.as_str(), request.path()) {
                ("GET", "/user") => {
                    (403, br#"{"message":"Resource not accessible by integration"}"#.to_vec())
                }
                ("GET", COMMENTS) => {
                    let per_page: usize = request.query("per_page").unwrap_or("30").parse().unwrap();
                    let page: usize = request.query("page").unwrap_or("1").parse().unwrap();
                    let list: Vec<Value> =
                        comments.iter().skip((page - 1) * per_page).take(per_page).map(shown).collect();
                    (200, serde_json::to_vec(&list).unwrap())
                }
                ("POST", COMMENTS) => {
                    let id = 1000 + comments.len() as u64;
                    comments.push(Comment { id, login: "github-actions[bot]".into(), body: body() });
                    (201, serde_json::to_vec(&shown(comments.last().unwrap())).unwrap())
                }
                ("PATCH", path) => {
                    let id: u64 = path.rsplit('/').next().unwrap().parse().unwrap();
                    match comments.iter_mut().find(|comment| comment.id == id) {
                        Some(comment) => {
                            comment.body = body();
                            (200, serde_json::to_vec(&shown(comment)).unwrap())
                        }
                        None => (404, b"{}".to_vec()),
                    }
                }
                _ => (404, br#"{"message":"Not Found"}"#.to_vec()),
            }
        });
        FakeGitHub { server, comments }
    }

    fn comments(&self) -> Vec<Comment> {
        self.comments.lock().unwrap().clone()
    }
}

const MARKER: &str = "<!-- entra-csa-plan:default -->";
const HEAD_SHA: &str = "4f1c7a523d6e4b8a9f0e2a7b5c9d1e34aa55bb66";

/// A plan folder as run.sh leaves it, with this Markdown plan.
fn plan_folder(markdown: &str) -> tempfile::TempDir {
    let folder = tempfile::tempdir().unwrap();
    std::fs::write(folder.path().join("plan.md"), markdown).unwrap();
    folder
}

/// Runs one of the report scripts (comment.sh, summary.sh) as the action's steps do.
fn report(script: &str, api: &str, plan: &Path, event: &str, extra: &[(&str, &str)]) -> (Output, String) {
    let summary = tempfile::NamedTempFile::new().unwrap();
    let mut command = Command::new("bash");
    command
        .arg(repo(&format!("action/{script}")))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .env("GH_TOKEN", TOKEN)
        .env("GITHUB_API_URL", api)
        .env("GITHUB_SERVER_URL", "https://github.example")
        .env("GITHUB_REPOSITORY", "contoso/attributes")
        .env("GITHUB_EVENT_NAME", event)
        .env("GITHUB_RUN_ID", "8800")
        .env("GITHUB_RUN_ATTEMPT", "2")
        .env("GITHUB_STEP_SUMMARY", summary.path())
        .env("ENTRA_CSA_PULL_REQUEST", "42")
        .env("ENTRA_CSA_COMMIT", HEAD_SHA)
        .env("ENTRA_CSA_EXIT_CODE", "2")
        .env(
            "ENTRA_CSA_ARTIFACT_URL",
            "https://github.example/contoso/attributes/actions/runs/8800/artifacts/77",
        )
        .env("ENTRA_CSA_PLAN_DIR", plan);
    for (name, value) in extra {
        command.env(name, value);
    }
    let output = command.output().unwrap();
    (output, std::fs::read_to_string(summary.path()).unwrap())
}

#[test]
fn a_marker_comment_written_by_someone_else_is_never_edited() {
    let planted = Comment {
        id: 7,
        login: "mallory".into(),
        body: format!("{MARKER}\n## entra-csa plan\n\nNo changes. (planted)"),
    };
    let github = FakeGitHub::start(vec![planted.clone()]);
    let plan = plan_folder("## entra-csa plan\n\n**Plan: 1 to create**\n");
    let (output, _) = report("comment.sh", &github.server.url, plan.path(), "pull_request", &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        text(&output.stdout).contains("comment 7 by mallory"),
        "named in a warning: {}",
        text(&output.stdout)
    );

    let comments = github.comments();
    assert_eq!(comments.len(), 2, "a comment of its own: {comments:?}");
    assert_eq!(comments[0].body, planted.body, "mallory's comment is untouched");
    assert_eq!(comments[1].login, "github-actions[bot]");
    assert!(comments[1].body.starts_with(MARKER) && comments[1].body.contains("1 to create"));
    assert!(
        !github
            .server
            .requests()
            .iter()
            .any(|request| request.method == "PATCH" && request.path().ends_with("/7"))
    );

    // The next run updates the workflow's own comment, still not mallory's,
    // even when mallory's marker comment is the latest.
    github.comments.lock().unwrap().push(Comment { id: 9, ..planted.clone() });
    let plan = plan_folder("## entra-csa plan\n\n**Plan: 2 to create**\n");
    let (output, _) = report("comment.sh", &github.server.url, plan.path(), "pull_request", &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let comments = github.comments();
    assert_eq!(comments.len(), 3, "{comments:?}");
    assert!(comments[1].body.contains("2 to create"), "{}", comments[1].body);
    assert_eq!(comments[0].body, planted.body);
    assert_eq!(comments[2].body, planted.body);
    let patches: Vec<String> = github
        .server
        .requests()
        .iter()
        .filter(|r| r.method == "PATCH")
        .map(|r| r.path().to_owned())
        .collect();
    assert_eq!(patches, ["/repos/contoso/attributes/issues/comments/1001"]);
}

#[test]
fn the_comment_names_the_commit_the_run_and_the_whole_plan() {
    let github = FakeGitHub::start(Vec::new());
    let plan = plan_folder("## entra-csa plan\n\n**Plan: 1 to create**\n");
    let (output, summary) = report("comment.sh", &github.server.url, plan.path(), "pull_request", &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let body = &github.comments()[0].body;
    for needed in [
        format!("https://github.example/contoso/attributes/commit/{HEAD_SHA}"),
        "https://github.example/contoso/attributes/actions/runs/8800/attempts/2".to_owned(),
        "[the plan artifact](https://github.example/contoso/attributes/actions/runs/8800/artifacts/77)"
            .to_owned(),
        "exit code 2".to_owned(),
    ] {
        assert!(body.contains(&needed), "{needed} missing from:\n{body}");
    }
    assert!(summary.is_empty(), "the comment step writes no summary");
    // The token went in a header, never to the log.
    assert!(!text(&output.stdout).contains(TOKEN) && !text(&output.stderr).contains(TOKEN));
    assert!(github.server.requests().iter().all(|request| request.header("authorization").is_some()));
}

#[test]
fn comments_only_on_a_pull_request_event() {
    let github = FakeGitHub::start(Vec::new());
    let plan = plan_folder("## entra-csa plan\n");
    let (output, _) = report("comment.sh", &github.server.url, plan.path(), "push", &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("no pull request to comment on"), "{}", text(&output.stdout));
    assert!(github.server.requests().is_empty());
}

#[test]
fn the_comment_finds_its_own_among_many_pages_and_honours_a_named_author() {
    let mut comments: Vec<Comment> = (0..150)
        .map(|n| Comment { id: n, login: format!("user{n}"), body: format!("comment {n}") })
        .collect();
    comments[130] = Comment { id: 130, login: "entra-app[bot]".into(), body: format!("{MARKER}\nold plan") };
    let github = FakeGitHub::start(comments);
    let plan = plan_folder("## entra-csa plan\n\nnew plan\n");
    let author = [("ENTRA_CSA_COMMENT_AUTHOR", "entra-app[bot]")];
    let (output, _) = report("comment.sh", &github.server.url, plan.path(), "pull_request", &author);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let comments = github.comments();
    assert_eq!(comments.len(), 150, "updated, not posted");
    assert!(comments[130].body.contains("new plan"), "{}", comments[130].body);
}

#[test]
fn the_summary_holds_the_plan_or_the_error_and_links_the_artifact() {
    let plan = plan_folder("## entra-csa plan\n\n**Plan: 1 to create**\n");
    let (output, summary) = report("summary.sh", "http://127.0.0.1:9", plan.path(), "push", &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(summary.starts_with("## entra-csa plan"), "{summary}");
    assert!(summary.contains("[the plan artifact](https://github.example/"), "{summary}");

    let failed = tempfile::tempdir().unwrap();
    std::fs::write(failed.path().join("stderr.txt"), "error: cannot sign in: ```no token```\n").unwrap();
    let (_, summary) =
        report("summary.sh", "http://127.0.0.1:9", failed.path(), "push", &[("ENTRA_CSA_EXIT_CODE", "1")]);
    assert!(summary.contains("### entra-csa plan failed (exit 1)"), "{summary}");
    assert!(summary.contains("cannot sign in"), "{summary}");
    assert_eq!(summary.matches("```").count(), 2, "the error cannot close the fence: {summary}");
}

/// Done end to end: a description holding HTML and mentions, planned by the
/// action's run.sh and posted by its comment.sh, reaches the comment escaped.
#[test]
fn html_and_mentions_in_a_description_reach_the_comment_escaped() {
    let case = plan_case("definition-description", "attributes");
    let desired = case.path().join("attributes/desired.yaml");
    let hostile = "Active <img src=x onerror=alert(1)> codes, ask @contoso/admins (see #12)";
    let yaml = std::fs::read_to_string(&desired)
        .unwrap()
        .replace("Active project codes for the user", &format!("'{hostile}'"));
    std::fs::write(&desired, yaml).unwrap();
    let ran = run_action("plan", "-f\nattributes/desired.yaml\n--state\nattributes/live.json", case.path());
    assert_eq!(ran.output("exit-code").as_deref(), Some("0"), "{}", text(&ran.output.stderr));

    let github = FakeGitHub::start(Vec::new());
    let (output, _) = report("comment.sh", &github.server.url, &ran.plan_dir, "pull_request", &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let body = &github.comments()[0].body;
    assert!(!body.contains("<img"), "{body}");
    assert!(body.contains("&lt;img"), "{body}");
    assert!(body.contains("@&#8203;contoso/admins") && body.contains("#&#8203;12"), "{body}");
    // The JSON and text plans keep the description as it is.
    let json = std::fs::read_to_string(ran.plan_dir.join("plan.json")).unwrap();
    assert!(json.contains("<img src=x onerror=alert(1)>"));
}

#[test]
fn action_yml_wires_its_steps_outputs_and_token() {
    let action = yaml("action.yml");
    for input in
        ["version", "sha256", "command", "args", "comment", "github-token", "upload-plan", "releases-url"]
    {
        assert!(action["inputs"][input].is_object(), "action.yml has no input {input}");
    }
    assert_eq!(action["inputs"]["version"]["required"], Value::Bool(true));
    for output in ["exit-code", "plan-text", "plan-json", "plan-markdown"] {
        assert!(
            action["outputs"][output]["value"]
                .as_str()
                .is_some_and(|value| value.contains("steps.run.outputs")),
            "{output}"
        );
    }
    assert_eq!(action["runs"]["using"], "composite");
    let steps = action["runs"]["steps"].as_array().unwrap();
    for script in ["action/install.sh", "action/run.sh", "action/summary.sh", "action/comment.sh"] {
        assert!(
            steps.iter().any(|step| step["run"].as_str().is_some_and(|run| run.contains(script))),
            "{script}"
        );
        assert!(repo(script).is_file(), "{script} is missing");
    }
    // GH_TOKEN only where the comment is posted.
    let with_token: Vec<&str> = steps
        .iter()
        .filter(|step| !step["env"]["GH_TOKEN"].is_null())
        .map(|step| step["run"].as_str().unwrap())
        .collect();
    assert_eq!(with_token, ["bash \"$GITHUB_ACTION_PATH/action/comment.sh\""]);
    let comment = steps.iter().find(|step| step["name"] == "Plan comment").unwrap();
    assert_eq!(comment["env"]["GH_TOKEN"], "${{ inputs.github-token }}");
    // The whole plan is uploaded, and its link reaches the summary and the comment.
    let upload = steps.iter().find(|step| step["id"] == "upload").expect("an upload step");
    assert!(upload["uses"].as_str().unwrap().starts_with("actions/upload-artifact@"));
    let paths = upload["with"]["path"].as_str().unwrap();
    assert!(paths.contains("plan.txt") && paths.contains("plan.json"), "{paths}");
    for name in ["Plan summary", "Plan comment"] {
        let step = steps.iter().find(|step| step["name"] == name).unwrap();
        assert_eq!(
            step["env"]["ENTRA_CSA_ARTIFACT_URL"], "${{ steps.upload.outputs.artifact-url }}",
            "{name}"
        );
    }
    // The token is never fetched by hand: the tool signs in itself.
    assert!(!read("action.yml").contains("ACTIONS_ID_TOKEN_REQUEST_TOKEN"));
}

/// Runner labels GitHub has retired, or announced it retires: a job on one
/// waits for a runner that never comes. From the announcements of
/// actions/runner-images (ubuntu-20.04 in April 2025, windows-2019 in June
/// 2025, macos-13 in December 2025, macos-14 in November 2026; ubuntu-22.04
/// from April 2027).
const RETIRED_RUNNERS: [&str; 19] = [
    "ubuntu-16.04",
    "ubuntu-18.04",
    "ubuntu-20.04",
    "ubuntu-22.04",
    "ubuntu-22.04-arm",
    "macos-10.15",
    "macos-11",
    "macos-12",
    "macos-12-large",
    "macos-13",
    "macos-13-large",
    "macos-13-xlarge",
    "macos-14",
    "macos-14-large",
    "macos-14-xlarge",
    "windows-2016",
    "windows-2019",
    "windows-2019-large",
    "vs2017-win2016",
];

const WORKFLOWS: [&str; 4] = [
    ".github/workflows/release.yml",
    ".github/workflows/ci.yml",
    "examples/ci/github-actions.yml",
    "examples/ci/acceptance.yml",
];

/// Every runner label a workflow's jobs name, matrix values included.
fn runner_labels(workflow: &Value) -> Vec<String> {
    let mut labels = Vec::new();
    for job in workflow["jobs"].as_object().unwrap().values() {
        match &job["runs-on"] {
            Value::String(label) if label.contains("matrix.") => {
                for entry in job["strategy"]["matrix"]["include"].as_array().into_iter().flatten() {
                    labels.push(entry["os"].as_str().unwrap().to_owned());
                }
            }
            Value::String(label) => labels.push(label.clone()),
            Value::Array(list) => labels.extend(list.iter().filter_map(Value::as_str).map(str::to_owned)),
            other => panic!("runs-on: {other}"),
        }
    }
    labels
}

#[test]
fn no_workflow_names_a_retired_runner() {
    for path in WORKFLOWS {
        let labels = runner_labels(&yaml(path));
        assert!(!labels.is_empty(), "{path}");
        for label in labels {
            assert!(
                !RETIRED_RUNNERS.contains(&label.as_str()),
                "{path} runs on {label}, which GitHub retired"
            );
        }
    }
    let azure = read("examples/ci/azure-pipelines.yml");
    for label in RETIRED_RUNNERS {
        assert!(!azure.contains(&format!("vmImage: {label}")), "azure-pipelines.yml: {label}");
    }
    // The check itself catches one.
    let old: Value = serde_saphyr::from_str("jobs:\n  a:\n    runs-on: macos-13\n").unwrap();
    assert!(runner_labels(&old).iter().any(|label| RETIRED_RUNNERS.contains(&label.as_str())));
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
/// by version and checksum). No checkout keeps its credentials.
#[test]
fn workflows_pin_every_action_and_no_checkout_keeps_credentials() {
    for path in WORKFLOWS.iter().copied().chain(["action.yml"]) {
        let document = yaml(path);
        let mut found = Vec::new();
        uses(&document, &mut found);
        assert!(!found.is_empty(), "{path} uses no action");
        for reference in found {
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
        for step in steps_of(&document) {
            if step["uses"].as_str().is_some_and(|uses| uses.starts_with("actions/checkout@")) {
                assert_eq!(step["with"]["persist-credentials"], Value::Bool(false), "{path}: {step}");
            }
        }
    }
}

fn steps_of(workflow: &Value) -> Vec<Value> {
    let jobs: Vec<Value> =
        workflow["jobs"].as_object().map(|jobs| jobs.values().cloned().collect()).unwrap_or_default();
    jobs.iter()
        .chain([&workflow["runs"]])
        .flat_map(|job| job["steps"].as_array().cloned().unwrap_or_default())
        .collect()
}

#[test]
fn the_release_checks_before_it_builds_and_publishes_from_a_protected_environment() {
    let release = yaml(".github/workflows/release.yml");
    let jobs = &release["jobs"];
    let check = serde_json::to_string(&jobs["check"]["steps"]).unwrap();
    for needed in [
        "check-tag.sh",
        "cargo fmt --check",
        "cargo clippy --locked --all-targets -- -D warnings",
        "cargo test --locked",
    ] {
        assert!(check.contains(needed), "the check job does not run {needed}");
    }
    assert_eq!(jobs["build"]["needs"], "check");
    assert_eq!(jobs["extras"]["needs"], "check");
    assert_eq!(
        jobs["build"]["strategy"]["fail-fast"],
        Value::Bool(false),
        "one target must not cancel the rest"
    );
    for job in ["publish", "crate", "image", "image-manifest"] {
        assert_eq!(jobs[job]["environment"], "release", "{job}");
    }
    let text = read(".github/workflows/release.yml");
    for needed in [
        "attest-build-provenance",
        "SHA256SUMS",
        ".sha256",
        "cargo cyclonedx",
        "entra-csa man",
        "completions",
        "package-managers.sh",
        "rust-lang/crates-io-auth-action@",
        "cargo publish --locked",
        "push-to-registry: true",
    ] {
        assert!(text.contains(needed), "release.yml does not do {needed}");
    }
    assert!(!text.contains("secrets."), "publishing needs no stored secret");
    // The two image architectures, each built on its own runner.
    let platforms: Vec<&str> = jobs["image"]["strategy"]["matrix"]["include"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|entry| entry["platform"].as_str())
        .collect();
    assert_eq!(platforms, ["linux/amd64", "linux/arm64"]);
    // Installed tools at fixed releases.
    for line in text.lines().filter(|line| line.contains("cargo install")) {
        assert!(line.contains('@'), "unpinned: {line}");
    }
}

#[test]
fn the_tag_must_name_the_crates_version() {
    let check = |tag: &str, manifest: &Path| {
        Command::new("bash")
            .arg(repo(".github/scripts/check-tag.sh"))
            .arg(tag)
            .arg(manifest)
            .output()
            .unwrap()
    };
    let ours = repo("Cargo.toml");
    let version = env!("CARGO_PKG_VERSION");
    assert!(check(&format!("v{version}"), &ours).status.success());
    let wrong = check("v99.0.0", &ours);
    assert_eq!(wrong.status.code(), Some(1));
    assert!(
        text(&wrong.stderr).contains(&format!("does not match the crate's version {version}")),
        "{}",
        text(&wrong.stderr)
    );
    assert!(!check(version, &ours).status.success(), "a tag without its v");
    // Only [package]'s version counts, not a dependency's.
    let manifest = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        manifest.path(),
        "[dependencies]\nversion = \"1.0.0\"\n\n[package]\nname = \"x\"\nversion = \"2.0.0\"\n",
    )
    .unwrap();
    assert!(check("v2.0.0", manifest.path()).status.success());
    assert!(!check("v1.0.0", manifest.path()).status.success());
}

#[test]
fn homebrew_and_scoop_manifests_name_the_releases_archives_and_checksums() {
    let (_root, release) = fake_release();
    let out = tempfile::tempdir().unwrap();
    let output = Command::new("bash")
        .arg(repo(".github/scripts/package-managers.sh"))
        .args([VERSION, &release.join("SHA256SUMS").display().to_string(), &out.path().display().to_string()])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let sums = std::fs::read_to_string(release.join("SHA256SUMS")).unwrap();
    let sha_of = |target: &str| {
        sums.lines().find(|line| line.contains(target)).unwrap().split_whitespace().next().unwrap().to_owned()
    };
    let formula = std::fs::read_to_string(out.path().join("entra-csa.rb")).unwrap();
    for (_, _, target) in TARGETS.iter().filter(|(os, _, _)| *os != "Windows") {
        let url = format!(
            "https://github.com/{RELEASES_REPOSITORY}/releases/download/v{VERSION}/entra-csa-v{VERSION}-{target}.tar.gz"
        );
        let at = formula.find(&url).unwrap_or_else(|| panic!("{url} missing:\n{formula}"));
        assert!(formula[at..].lines().nth(1).unwrap().contains(&sha_of(target)), "{target}");
    }
    assert!(
        formula.contains(&format!("version \"{VERSION}\"")) && formula.contains("bin.install \"entra-csa\"")
    );
    let scoop: Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("entra-csa.json")).unwrap()).unwrap();
    assert_eq!(scoop["version"], VERSION);
    let windows = &scoop["architecture"]["64bit"];
    assert_eq!(windows["hash"], sha_of("x86_64-pc-windows-msvc"));
    assert!(
        windows["url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("entra-csa-v{VERSION}-x86_64-pc-windows-msvc.zip"))
    );
    assert_eq!(windows["extract_dir"], format!("entra-csa-v{VERSION}-x86_64-pc-windows-msvc"));
    assert_eq!(scoop["bin"], "entra-csa.exe");
    // A release missing an archive writes nothing wrong: it fails.
    std::fs::write(release.join("SHA256SUMS"), sums.lines().take(2).collect::<Vec<_>>().join("\n")).unwrap();
    let output = Command::new("bash")
        .arg(repo(".github/scripts/package-managers.sh"))
        .args([VERSION, &release.join("SHA256SUMS").display().to_string(), &out.path().display().to_string()])
        .output()
        .unwrap();
    assert!(!output.status.success());
}

#[test]
fn the_release_builds_every_target_the_action_installs() {
    let release = yaml(".github/workflows/release.yml");
    let matrix = release["jobs"]["build"]["strategy"]["matrix"]["include"].as_array().unwrap();
    let built: BTreeSet<&str> = matrix.iter().filter_map(|entry| entry["target"].as_str()).collect();
    let installed: BTreeSet<&str> = TARGETS.iter().map(|(_, _, target)| *target).collect();
    assert_eq!(built, installed);
    let script = read("action/install.sh");
    for target in installed {
        assert!(script.contains(target), "install.sh does not know {target}");
    }
}

/// The `cargo build` command lines of a text.
fn cargo_builds(text: &str) -> Vec<String> {
    text.lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .filter_map(|line| {
            line.find("cargo build").map(|at| line[at..].trim().trim_end_matches(['\\', '&', ' ']).to_owned())
        })
        .collect()
}

#[test]
fn the_dockerfile_builds_as_the_release_does_for_both_architectures_from_pinned_bases() {
    let dockerfile = read("Dockerfile");
    let release = read(".github/workflows/release.yml");
    let release_build = cargo_builds(&release)
        .into_iter()
        .find(|line| line.contains("--target"))
        .expect("release.yml builds per target");
    let docker_build = cargo_builds(&dockerfile);
    assert_eq!(docker_build, [release_build], "the image's build differs from the release's");

    let stages: Vec<&str> = dockerfile.lines().filter(|line| line.starts_with("FROM ")).collect();
    assert_eq!(stages.len(), 2, "multi-stage: {stages:?}");
    for stage in &stages {
        let digest =
            stage.split_whitespace().nth(1).unwrap().split_once("@sha256:").map(|(_, digest)| digest);
        assert!(
            digest.is_some_and(|d| d.len() == 64 && d.chars().all(|c| c.is_ascii_hexdigit())),
            "not pinned by digest: {stage}"
        );
    }
    // The build stage's Rust is the release's toolchain.
    let toolchain = release.lines().find_map(|line| line.trim().strip_prefix("RUST_TOOLCHAIN: \"")).unwrap();
    let toolchain = toolchain.split('"').next().unwrap();
    assert!(stages[0].contains(&format!("rust:{toolchain}-")), "{} vs {toolchain}", stages[0]);
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

    // The target the build picks for each architecture, run as the RUN line runs it.
    let run = dockerfile
        .split("RUN case")
        .nth(1)
        .expect("the architecture's case")
        .split("&& \\\n    cargo build")
        .next()
        .unwrap();
    let script = format!("case{}\necho \"$target\"", run.replace("\\\n", "\n"));
    for (arch, target) in [("amd64", "x86_64-unknown-linux-musl"), ("arm64", "aarch64-unknown-linux-musl")] {
        let output = Command::new("sh").args(["-c", &script]).env("TARGETARCH", arch).output().unwrap();
        assert_eq!(text(&output.stdout).trim(), target, "{arch}: {}", text(&output.stderr));
    }
    let output = Command::new("sh").args(["-c", &script]).env("TARGETARCH", "s390x").output().unwrap();
    assert!(!output.status.success() && text(&output.stderr).contains("no release target"));
}

#[test]
fn ci_runs_the_gate_on_pull_requests_and_main() {
    let ci = yaml(".github/workflows/ci.yml");
    assert!(ci["on"]["pull_request"].is_object() || ci["on"]["pull_request"].is_null());
    assert!(ci["on"].as_object().unwrap().contains_key("pull_request"));
    assert_eq!(ci["on"]["push"]["branches"][0], "main");
    let runs = serde_json::to_string(&ci["jobs"]).unwrap();
    for needed in [
        "cargo fmt --check",
        "cargo clippy --locked --all-targets -- -D warnings",
        "cargo test --locked",
        "cargo audit",
        "cargo deny check licenses bans sources",
    ] {
        assert!(runs.contains(needed), "ci.yml does not run {needed}");
    }
    let gate = read(".ci/run");
    for needed in ["cargo fmt --check", "cargo test --locked", "cargo audit --deny warnings", "cargo deny"] {
        assert!(gate.contains(needed), ".ci/run does not run {needed}");
    }
    // With a local copy of the advisory database beside the checkout, and
    // without one (then cargo-audit fetches it).
    assert!(gate.contains("--no-fetch") && gate.contains("if [[ -d \"$local_copy\" ]]"), ".ci/run");
    // One toolchain, the release's, wherever a workflow installs one.
    let release = yaml(".github/workflows/release.yml");
    let toolchain = release["env"]["RUST_TOOLCHAIN"].as_str().unwrap().to_owned();
    assert_eq!(ci["env"]["RUST_TOOLCHAIN"], toolchain.as_str());
    assert!(read("examples/ci/acceptance.yml").contains(&format!("rustup toolchain install {toolchain} ")));
    let deny = read("deny.toml");
    for table in ["[licenses]", "[bans]", "[sources]"] {
        assert!(deny.contains(table), "deny.toml has no {table}");
    }
}

/// The install step of examples/ci/azure-pipelines.yml, run against the fake release.
fn azure_install(releases: &str, pin: &str) -> (i32, String, PathBuf) {
    let pipeline = yaml("examples/ci/azure-pipelines.yml");
    let script =
        pipeline["stages"][0]["jobs"][0]["steps"][0]["bash"].as_str().expect("the first step installs");
    let temp = tempfile::tempdir().unwrap().keep();
    let output = Command::new("bash")
        .args(["-c", script])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("ENTRA_CSA_VERSION", VERSION)
        .env("ENTRA_CSA_RELEASES", releases)
        .env("ENTRA_CSA_SHA256", pin)
        .env("AGENT_TEMPDIRECTORY", &temp)
        .output()
        .unwrap();
    (output.status.code().unwrap_or(-1), format!("{}{}", text(&output.stdout), text(&output.stderr)), temp)
}

#[test]
fn the_azure_pipeline_installs_the_same_way() {
    let (root, release) = fake_release();
    let server = Server::start(fake_http::files(root.path().to_owned()));
    let releases = format!("{}/{RELEASES_REPOSITORY}/releases/download", server.url);
    let (code, shown, temp) = azure_install(&releases, "");
    assert_eq!(code, 0, "{shown}");
    let folder = temp.join(format!("entra-csa-v{VERSION}-x86_64-unknown-linux-musl"));
    assert!(shown.contains(&format!("##vso[task.prependpath]{}", folder.display())), "{shown}");
    assert!(folder.join("entra-csa").is_file());
    // A wrong pin, then a replaced archive, are refused.
    assert_ne!(azure_install(&releases, &"0".repeat(64)).0, 0);
    let archive = release.join(format!("entra-csa-v{VERSION}-x86_64-unknown-linux-musl.tar.gz"));
    let mut bytes = std::fs::read(&archive).unwrap();
    bytes.push(0);
    std::fs::write(&archive, bytes).unwrap();
    let (code, shown, _) = azure_install(&releases, "");
    assert_ne!(code, 0, "{shown}");
}
