//! Exists to prove the security promises over the whole command line: a
//! sentinel token never shows in stdout, stderr, logs at any verbosity,
//! written files or the emulator's request log, on success and error paths;
//! plain `http://` is refused for every non-loopback host; an apply without
//! a terminal is refused without `--auto-approve`; an unexpected Graph host
//! needs `--allow-custom-graph-host`; the emulator listens on loopback by
//! default. Tests elsewhere that hold part of this are listed in
//! docs/src/explanation/guarantees.md.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use clap::Parser;
use entra_csa::cli::arguments::{Arguments, Command as Subcommand};
use entra_csa::emulator::{EmulatorConfig, RunningEmulator};

use crate::graph_support::*;
use crate::reliability_support::{SENTINEL, run};

/// The binary with only the sentinel token configured.
fn cli(folder: &Path) -> Command {
    let mut command = entra_csa();
    command.env("ENTRA_CSA_ACCESS_TOKEN", SENTINEL).env("RUST_BACKTRACE", "1").current_dir(folder);
    command
}

/// Every file under `folder`, as text.
fn files_under(folder: &Path) -> Vec<(PathBuf, String)> {
    let mut found = Vec::new();
    let mut pending = vec![folder.to_path_buf()];
    while let Some(path) = pending.pop() {
        if path.is_dir() {
            pending.extend(std::fs::read_dir(&path).unwrap().map(|entry| entry.unwrap().path()));
        } else {
            let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
            found.push((path, text));
        }
    }
    found
}

fn start(runtime: &tokio::runtime::Runtime, config: EmulatorConfig) -> RunningEmulator {
    runtime.block_on(entra_csa::emulator::start(config)).unwrap()
}

#[test]
fn reliability_the_token_never_appears_in_any_output_file_or_request_log_of_any_command() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // The emulator accepts only the sentinel, so every command that signs in really used it.
    let emulator = start(
        &runtime,
        EmulatorConfig { seed_state: contoso_seed(), token: Some(SENTINEL.into()), ..Default::default() },
    );
    let strict = start(
        &runtime,
        EmulatorConfig {
            seed_state: contoso_seed(),
            token: Some("another-token".into()),
            ..Default::default()
        },
    );
    let folder = tempfile::tempdir().unwrap();
    let dir = folder.path();
    let example = repo("examples/contoso.yaml").display().to_string();
    std::fs::write(dir.join("broken.yaml"), "version: 1\nattributeSets: [\n").unwrap();
    let url = emulator.base_url();

    // (arguments, expected exit code)
    let graph = ["--graph-url", url.as_str()];
    let mut runs: Vec<(Vec<String>, i32)> = Vec::new();
    let mut add = |prefix: &[&str], parts: &[&str], code: i32| {
        runs.push((prefix.iter().chain(parts).map(|part| (*part).to_owned()).collect(), code));
    };
    // No flag and -vv (which logs everything -v does, and more).
    for verbosity in [None, Some("-vv")] {
        let v: Vec<&str> = verbosity.into_iter().collect();
        add(&v, &["validate", "-f", &example], 0);
        add(&v, &["schema"], 0);
        add(&v, &[&["check-access", "-f", &example][..], &graph].concat(), 0);
        add(&v, &[&["plan", "-f", &example, "--format", "json"][..], &graph].concat(), 0);
        add(&v, &[&["plan", "-f", &example, "--format", "markdown"][..], &graph].concat(), 0);
        add(&v, &[&["export", "--assignments", "-o", "export.yaml"][..], &graph].concat(), 0);
        add(&v, &[&["export", "-o", "exported"][..], &graph].concat(), 0);
        // Error paths.
        add(&v, &["plan", "-f", &example, "--graph-url", &strict.base_url()], 1);
        add(&v, &["export", "--graph-url", &strict.base_url()], 1);
        add(&v, &["plan", "-f", &example, "--graph-url", "http://graph.example.com"], 1);
        add(&v, &["plan", "-f", &example, "--graph-url", "https://graph.example.com"], 1);
        add(&v, &["plan", "-f", "broken.yaml", "--graph-url", &url], 1);
        add(&v, &[&["apply", "-f", &example][..], &graph].concat(), 1); // no terminal, no --auto-approve
    }
    // Save a plan, apply it, then apply it again (nothing left to do), all at -vv.
    add(&[], &[&["-vv", "plan", "-f", &example, "--out", "saved.json"][..], &graph].concat(), 0);
    add(&[], &[&["-vv", "apply", "saved.json", "--auto-approve"][..], &graph].concat(), 0);
    add(&[], &[&["-vv", "apply", "saved.json", "--auto-approve"][..], &graph].concat(), 0);
    // In sync: the one undeclared attribute is acknowledged in contoso.yaml.
    add(&[], &[&["-vv", "plan", "-f", &example, "--detailed-exitcode"][..], &graph].concat(), 0);

    let mut outputs = Vec::new();
    for (args, expected) in &runs {
        let (code, stdout, stderr) = run(cli(dir).args(args));
        assert_eq!(code, *expected, "{args:?}\n{stdout}\n{stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        outputs.push((format!("{args:?}"), stdout, stderr));
    }
    for (args, stdout, stderr) in &outputs {
        assert!(!stdout.contains(SENTINEL), "the token is in the stdout of {args}");
        assert!(!stderr.contains(SENTINEL), "the token is in the stderr of {args}");
    }
    let files = files_under(dir);
    assert!(files.len() >= 4, "the plan and the exports were written: {files:?}");
    for (path, text) in &files {
        assert!(!text.contains(SENTINEL), "the token is in {}", path.display());
    }
    // What the commands sent: the token only ever in the Authorization header.
    for emulator in [&emulator, &strict] {
        let log = serde_json::to_string(&emulator.requests()).unwrap();
        assert!(!log.contains(SENTINEL), "the token is in a request's path, query or body");
        assert!(emulator.stats().requests > 0);
    }
    // -vv really logs requests, so the check above covered the logs.
    assert!(outputs.iter().any(|(args, _, stderr)| args.contains("-vv") && stderr.contains("status=200")));
    runtime.block_on(async {
        emulator.shutdown().await;
        strict.shutdown().await;
    });
}

#[test]
fn reliability_the_emulator_command_never_prints_its_token_even_at_debug() {
    emulator_command_logs_requests_but_not_its_token(&[], Some("debug"));
    emulator_command_logs_requests_but_not_its_token(&["-vv"], None);
}

fn emulator_command_logs_requests_but_not_its_token(verbosity: &[&str], rust_log: Option<&str>) {
    use std::io::{BufRead, BufReader, Read};
    let mut command = entra_csa();
    if let Some(filter) = rust_log {
        command.env("RUST_LOG", filter);
    }
    let mut child = command
        .args(verbosity)
        .args(["emulator", "--listen", "127.0.0.1:0", "--token", SENTINEL])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let base = line.trim().strip_prefix("listening on ").unwrap().to_owned();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let url = format!("{base}/v1.0/directory/attributeSets");
        for token in [SENTINEL, "wrong"] {
            let _ = client.get(&url).bearer_auth(token).send().await.unwrap();
        }
    });
    child.kill().unwrap();
    child.wait().unwrap();
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(stderr.contains("attributeSets"), "{verbosity:?} {rust_log:?} logs the requests: {stderr}");
    for text in [&line, &rest, &stderr] {
        assert!(!text.contains(SENTINEL), "the emulator printed its token");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reliability_plain_http_is_refused_for_every_host_that_is_not_loopback() {
    let example = repo("examples/contoso.yaml").display().to_string();
    for url in [
        "http://graph.microsoft.com",
        "http://localhost.example.com",
        "http://127.0.0.1.example.com",
        "http://10.1.2.3",
        "http://169.254.169.254",
        "http://[fe80::1]",
    ] {
        for extra in [None, Some("--allow-custom-graph-host")] {
            let mut args =
                vec!["plan".to_owned(), "-f".into(), example.clone(), "--graph-url".into(), url.into()];
            args.extend(extra.map(str::to_owned));
            let (code, _, stderr) = run_cli(args, SENTINEL).await;
            assert_eq!(code, 1, "{url} {extra:?}: {stderr}");
            assert!(stderr.contains("plain http:// is only allowed for a loopback host"), "{url}: {stderr}");
        }
    }
    // The environment variable is held to the same rules as the flag.
    let output = entra_csa()
        .env("ENTRA_CSA_ACCESS_TOKEN", SENTINEL)
        .env("ENTRA_CSA_GRAPH_URL", "https://graph.microsoft.com.example.net")
        .args(["plan", "-f", &example])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--allow-custom-graph-host"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reliability_a_graph_apply_without_a_terminal_sends_no_write_without_auto_approve() {
    let emulator = emulator(EmulatorConfig { seed_state: contoso_seed(), ..Default::default() }).await;
    let example = repo("examples/contoso.yaml").display().to_string();
    let args = ["apply", "-f", &example, "--graph-url", &emulator.base_url()];
    let (code, _, stderr) = run_cli(args.iter().map(|arg| (*arg).to_owned()).collect(), SENTINEL).await;
    assert_eq!(code, 1);
    assert!(stderr.contains("pass --auto-approve"), "{stderr}");
    assert_eq!(emulator.stats().writes, 0, "nothing was written");
    emulator.shutdown().await;
}

#[test]
fn reliability_the_emulator_listens_on_loopback_by_default() {
    let arguments = Arguments::try_parse_from(["entra-csa", "emulator"]).unwrap();
    let Subcommand::Emulator(emulator) = arguments.command else { panic!("not the emulator command") };
    assert!(emulator.listen.ip().is_loopback(), "{}", emulator.listen);
    assert!(!emulator.allow_non_loopback);
    assert!(EmulatorConfig::default().listen.ip().is_loopback());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reliability_bad_files_are_refused_before_any_request() {
    let emulator = emulator(EmulatorConfig { seed_state: contoso_seed(), ..Default::default() }).await;
    let folder = tempfile::tempdir().unwrap();
    // A YAML bomb: nine levels of aliases, each repeating the one before nine times.
    let mut bomb = String::from(
        "version: 1\nl0: &l0 [\"boom\",\"boom\",\"boom\",\"boom\",\"boom\",\"boom\",\"boom\",\"boom\",\"boom\"]\n",
    );
    for level in 1..10 {
        let previous = format!("*l{}", level - 1);
        bomb.push_str(&format!("l{level}: &l{level} [{}]\n", [previous.as_str(); 9].join(",")));
    }
    bomb.push_str("attributeSets: *l9\n");
    let mut not_utf8 = b"version: 1\nattributeSets:\n  Engineering:\n    description: \"".to_vec();
    not_utf8.extend([0xff, 0xfe, 0xc3, 0x28]);
    not_utf8.extend(b"\"\n");
    let huge_depth = format!("version: 1\nattributeSets: {}{}\n", "[".repeat(5_000), "]".repeat(5_000));
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("bomb.yaml", bomb.into_bytes()),
        ("not-utf8.yaml", not_utf8),
        ("deep.yaml", huge_depth.into_bytes()),
        ("truncated.yaml", b"version: 1\nattributeSets:\n  Engineering:\n    attributes: {".to_vec()),
        ("wrong-version.yaml", b"version: 2\nattributeSets: {}\n".to_vec()),
    ];
    for (name, bytes) in &cases {
        std::fs::write(folder.path().join(name), bytes).unwrap();
        let file = folder.path().join(name).display().to_string();
        for command in [&["plan"][..], &["apply", "--auto-approve"][..]] {
            let mut args: Vec<String> = command.iter().map(|part| (*part).to_owned()).collect();
            args.extend(["-f".to_owned(), file.clone(), "--graph-url".to_owned(), emulator.base_url()]);
            let started = std::time::Instant::now();
            let (code, stdout, stderr) = run_cli(args, SENTINEL).await;
            assert_eq!(code, 1, "{name} {command:?}\n{stdout}\n{stderr}");
            assert!(!stderr.contains("panicked"), "{name}: {stderr}");
            assert!(stderr.contains(name), "{name}: the error names the file: {stderr}");
            assert!(started.elapsed() < std::time::Duration::from_secs(10), "{name} took too long");
        }
    }
    assert_eq!(emulator.stats().requests, 0, "a bad file must be refused before any request");
    emulator.shutdown().await;
}
