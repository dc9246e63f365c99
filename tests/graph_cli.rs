//! `plan` and `apply` through the real binary against the emulator on
//! loopback: convergence, exit codes, `-vv` logs that never hold the token,
//! and the refusal of unsafe Graph URLs before any request.

use entra_csa::emulator::EmulatorConfig;

use crate::graph_support::*;

const SENTINEL: &str = "sentinel-token-7f3a9c1e-do-not-print";

/// `contoso.yaml` applied to a tenant that started empty: no changes, and
/// the only drift is its acknowledgement of `Engineering.Legacy`, an
/// attribute only Contoso's own tenant holds (so it is reported as stale).
fn assert_in_sync_but_for_the_acknowledgement(code: i32, stdout: &str, stderr: &str) {
    assert_eq!(code, 2, "{stdout}\n{stderr}");
    assert!(stdout.contains("No changes."), "{stdout}");
    assert!(stdout.contains("0 conflicts, 1 drift finding."), "{stdout}");
    assert!(
        stdout.contains("? attribute Engineering.Legacy: acknowledged in the files"),
        "the one finding is the stale acknowledgement: {stdout}"
    );
}

fn args(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|part| (*part).to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_apply_plan_converges_through_the_binary_and_never_shows_the_token() {
    // Faults too, so that retries are logged as well.
    let emulator =
        emulator(EmulatorConfig { seed_state: empty_seed(), fault_rate: 0.2, seed: 3, ..Default::default() })
            .await;
    let url = emulator.base_url();
    let example = repo("examples/contoso.yaml").display().to_string();
    let folder = tempfile::tempdir().unwrap();
    let saved = folder.path().join("plan.json").display().to_string();

    let mut everything = Vec::new();
    let (code, stdout, stderr) =
        run_cli(args(&["-vv", "plan", "-f", &example, "--graph-url", &url, "--out", &saved]), SENTINEL).await;
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("create"), "{stdout}");
    assert!(stderr.contains("status=200"), "-vv logs requests: {stderr}");
    everything.extend([stdout, stderr, std::fs::read_to_string(&saved).unwrap()]);

    let (code, stdout, stderr) =
        run_cli(args(&["-vv", "apply", &saved, "--graph-url", &url, "--auto-approve"]), SENTINEL).await;
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("Apply complete"), "{stdout}");
    assert!(!stderr.contains("applying ["), "a progress bar on a piped stderr: {stderr}");
    everything.extend([stdout, stderr]);

    let (code, stdout, stderr) =
        run_cli(args(&["-v", "plan", "-f", &example, "--graph-url", &url, "--detailed-exitcode"]), SENTINEL)
            .await;
    assert_in_sync_but_for_the_acknowledgement(code, &stdout, &stderr);
    everything.extend([stdout, stderr]);

    assert!(emulator.stats().faults > 0);
    assert!(everything.iter().any(|text| text.contains("retry")), "retries are logged");
    for text in &everything {
        assert!(!text.contains(SENTINEL), "the token leaked");
    }
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_apply_exits_1_and_the_error_names_no_token() {
    let emulator = emulator(EmulatorConfig {
        seed_state: empty_seed(),
        token: Some("another".into()),
        ..Default::default()
    })
    .await;
    let example = repo("examples/minimal/minimal.yaml").display().to_string();
    let (code, stdout, stderr) = run_cli(
        args(&["-vv", "apply", "-f", &example, "--graph-url", &emulator.base_url(), "--auto-approve"]),
        SENTINEL,
    )
    .await;
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stderr.contains("401"), "{stderr}");
    assert!(!stdout.contains(SENTINEL) && !stderr.contains(SENTINEL));
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsafe_graph_urls_are_refused_before_any_request() {
    let example = repo("examples/minimal/minimal.yaml").display().to_string();
    for (url, expected) in [
        ("http://graph.example.com", "plain http:// is only allowed for a loopback host"),
        ("https://graph.example.com", "--allow-custom-graph-host"),
    ] {
        let (code, _, stderr) = run_cli(args(&["plan", "-f", &example, "--graph-url", url]), SENTINEL).await;
        assert_eq!(code, 1);
        assert!(stderr.contains(expected), "{stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_apply_stops_cleanly_and_the_next_run_finishes_it() {
    let emulator = emulator(EmulatorConfig {
        seed_state: empty_seed(),
        latency: std::time::Duration::from_millis(200),
        ..Default::default()
    })
    .await;
    let url = emulator.base_url();
    let example = repo("examples/contoso.yaml").display().to_string();
    let mut command = entra_csa();
    command
        .env("ENTRA_CSA_ACCESS_TOKEN", SENTINEL)
        .args(["apply", "-f", &example, "--graph-url", &url, "--auto-approve"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = command.spawn().unwrap();
    // Interrupt once the first write batch has been served.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !emulator.requests().iter().any(|request| {
        request.path == "/v1.0/$batch"
            && request.body.as_ref().is_some_and(|body| body.to_string().contains("POST"))
    }) {
        assert!(std::time::Instant::now() < deadline, "no write was sent");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let status = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap()).await.unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    );
    assert_eq!(output.status.code(), Some(3), "stopped before finishing\n{stdout}\n{stderr}");
    assert!(stderr.contains("Interrupted"), "{stderr}");
    assert!(stdout.contains("(not attempted)"), "{stdout}");
    assert!(stdout.contains("  done "), "{stdout}");

    // The next apply does the rest, and the tenant ends as a clean run leaves it.
    let (code, stdout, stderr) =
        run_cli(args(&["apply", "-f", &example, "--graph-url", &url, "--auto-approve"]), SENTINEL).await;
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let (code, stdout, stderr) =
        run_cli(args(&["plan", "-f", &example, "--graph-url", &url, "--detailed-exitcode"]), SENTINEL).await;
    assert_in_sync_but_for_the_acknowledgement(code, &stdout, &stderr);
    let clean = emulator_state_after_clean_apply(&example).await;
    assert_eq!(live_of(&emulator.state()), clean);
    emulator.shutdown().await;
}

async fn emulator_state_after_clean_apply(example: &str) -> entra_csa::model::live::LiveState {
    let clean = emulator(EmulatorConfig { seed_state: empty_seed(), ..Default::default() }).await;
    let desired = entra_csa::desired::load::load_files(&[std::path::PathBuf::from(example)]).unwrap();
    apply_and_converge(&tenant(&clean), &desired).await;
    let state = live_of(&clean.state());
    clean.shutdown().await;
    state
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_reads_the_tenant_through_graph() {
    let emulator =
        emulator(EmulatorConfig { seed_state: contoso_seed(), page_size: 2, ..Default::default() }).await;
    let (code, stdout, stderr) =
        run_cli(args(&["export", "--assignments", "--graph-url", &emulator.base_url()]), SENTINEL).await;
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("Engineering") && stdout.contains("alice@contoso.com"), "{stdout}");
    assert!(!stdout.contains(SENTINEL) && !stderr.contains(SENTINEL));
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_graph_refuses_for_a_missing_role_fail_truthfully_and_change_nothing() {
    use entra_csa::graph::access::DirectoryRole;
    // A signed-in user with the write scopes but only the reader roles: the
    // token cannot show roles scoped to a set, so the client only warns, and
    // Graph (the emulator) refuses each write with 403.
    let reader = jwt(serde_json::json!({
        "scp": "CustomSecAttributeDefinition.ReadWrite.All CustomSecAttributeAssignment.ReadWrite.All",
        "wids": [
            DirectoryRole::AttributeDefinitionReader.template_id(),
            DirectoryRole::AttributeAssignmentReader.template_id()
        ]
    }));
    let emulator = emulator(EmulatorConfig { seed_state: contoso_seed(), ..Default::default() }).await;
    let seeded = emulator.state();
    let url = emulator.base_url();
    let example = repo("examples/contoso.yaml").display().to_string();
    let plan_json = |token: String| {
        let (example, url) = (example.clone(), url.clone());
        async move {
            let (code, stdout, stderr) =
                run_cli(args(&["plan", "-f", &example, "--graph-url", &url, "--format", "json"]), &token)
                    .await;
            assert_eq!(code, 0, "{stdout}\n{stderr}");
            let plan: serde_json::Value = serde_json::from_str(&stdout).unwrap();
            plan["changes"].clone()
        }
    };
    let before = plan_json(reader.clone()).await;
    assert!(!before.as_array().unwrap().is_empty());

    let (code, stdout, stderr) =
        run_cli(args(&["apply", "-f", &example, "--graph-url", &url, "--auto-approve"]), &reader).await;
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stderr.contains("Attribute Definition Administrator"), "the role is warned of: {stderr}");
    assert!(stdout.contains("Insufficient privileges"), "{stdout}");
    assert!(
        stdout.contains("changing sets and definitions needs CustomSecAttributeDefinition.ReadWrite.All"),
        "the hint says what the refused write needed: {stdout}"
    );
    assert!(emulator.stats().writes > 0, "the writes were sent");
    assert_eq!(emulator.state(), seeded, "a refused write changed the tenant");
    assert!(!stdout.contains(&reader) && !stderr.contains(&reader));

    // The next plan, with a sign-in that may write, is the same plan; its apply converges.
    assert_eq!(plan_json(SENTINEL.to_owned()).await, before);
    let (code, stdout, stderr) =
        run_cli(args(&["apply", "-f", &example, "--graph-url", &url, "--auto-approve"]), SENTINEL).await;
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    emulator.shutdown().await;
}

/// ARCHITECTURE.md, "The command line": progress bars on long reads and applies when stderr is a
/// terminal (a piped stderr gets none: see the first test of this file).
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_bars_draw_on_a_terminal_and_never_on_stdout() {
    use std::io::Read;
    use std::process::Stdio;

    let emulator = emulator(EmulatorConfig {
        seed_state: empty_seed(),
        latency: std::time::Duration::from_millis(40),
        ..Default::default()
    })
    .await;
    let url = emulator.base_url();
    let example = repo("examples/contoso.yaml").display().to_string();
    let apply = move |stderr: Stdio| {
        entra_csa()
            .env("ENTRA_CSA_ACCESS_TOKEN", SENTINEL)
            .env("NO_COLOR", "1")
            // A terminal names its type; without TERM, bars stay hidden.
            .env("TERM", "xterm-256color")
            .args(["apply", "-f", &example, "--graph-url", &url, "--auto-approve"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap()
    };

    // stderr on a pseudo-terminal, as a person running the tool sees it.
    let terminal = tokio::task::spawn_blocking(move || {
        use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
        let controller = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).unwrap();
        grantpt(&controller).unwrap();
        unlockpt(&controller).unwrap();
        let size = rustix::termios::Winsize { ws_row: 24, ws_col: 100, ws_xpixel: 0, ws_ypixel: 0 };
        rustix::termios::tcsetwinsize(&controller, size).unwrap();
        let name = ptsname(&controller, Vec::new()).unwrap();
        let side = std::fs::OpenOptions::new().read(true).write(true).open(name.to_str().unwrap()).unwrap();
        let child = apply(Stdio::from(side));
        let mut screen = Vec::new();
        // Reading ends with an error (EIO) once the child, the last holder
        // of the terminal's other side, has exited.
        let _ = std::fs::File::from(controller).read_to_end(&mut screen);
        let output = child.wait_with_output().unwrap();
        (output, String::from_utf8_lossy(&screen).into_owned())
    });
    let (output, screen) = terminal.await.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{screen}");
    assert!(screen.contains("applying ["), "no apply bar on the terminal: {screen:?}");
    assert!(screen.contains(" left)"), "the apply bar shows no time left: {screen:?}");
    assert!(screen.contains("reading"), "no read progress on the terminal: {screen:?}");
    assert!(!stdout.contains("applying ["), "a bar reached stdout: {stdout}");
    assert!(!screen.contains(SENTINEL));
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_plan_applies_to_the_graph_it_records_and_accepts_its_url_however_spelt() {
    let emulator = emulator(EmulatorConfig { seed_state: empty_seed(), ..Default::default() }).await;
    let url = emulator.base_url();
    let example = repo("examples/contoso.yaml").display().to_string();
    let folder = tempfile::tempdir().unwrap();
    let saved = folder.path().join("plan.json").display().to_string();

    let (code, _, stderr) =
        run_cli(args(&["plan", "-f", &example, "--graph-url", &url, "--out", &saved]), "any").await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains(&format!("apply it with `entra-csa apply {saved}`.")), "{stderr}");

    // The same root spelt with /v1.0/ and a trailing slash names the same target.
    let spelt = format!("{}/v1.0/", url.trim_end_matches('/'));
    let (code, stdout, stderr) =
        run_cli(args(&["apply", &saved, "--graph-url", &spelt, "--auto-approve"]), "any").await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("Apply complete"), "{stdout}");
    // Another Graph is refused before anything is sent to it.
    let (code, _, stderr) =
        run_cli(args(&["apply", &saved, "--graph-url", "http://127.0.0.1:9", "--auto-approve"]), "any").await;
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains(&format!("was made for Microsoft Graph at {url}")), "{stderr}");
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_plan_applies_without_target_flags_where_it_was_made() {
    let emulator = emulator(EmulatorConfig { seed_state: empty_seed(), ..Default::default() }).await;
    let url = emulator.base_url();
    let example = repo("examples/contoso.yaml").display().to_string();
    let folder = tempfile::tempdir().unwrap();
    let saved = folder.path().join("plan.json").display().to_string();
    let (code, _, stderr) =
        run_cli(args(&["plan", "-f", &example, "--graph-url", &url, "--out", &saved]), "any").await;
    assert_eq!(code, 0, "{stderr}");

    let (code, stdout, stderr) = run_cli(args(&["apply", &saved, "--auto-approve"]), "any").await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("Apply complete"), "{stdout}");
    let (code, stdout, stderr) =
        run_cli(args(&["plan", "-f", &example, "--graph-url", &url, "--detailed-exitcode"]), "any").await;
    // Applied to the emulator the plan recorded.
    assert_in_sync_but_for_the_acknowledgement(code, &stdout, &stderr);
    emulator.shutdown().await;
}

/// The binary run against `url` with retries shortened a hundredfold
/// (`ENTRA_CSA_RETRY_SCALE`; the rule stays the same), at default verbosity.
async fn plan_against(url: &str) -> (i32, String, String) {
    let example = repo("examples/contoso.yaml").display().to_string();
    let mut command = crate::launch::entra_csa();
    command
        .env("ENTRA_CSA_ACCESS_TOKEN", SENTINEL)
        .env("ENTRA_CSA_RETRY_SCALE", "0.01")
        .env("NO_COLOR", "1")
        .args(["plan", "-f", &example, "--graph-url", url, "--allow-custom-graph-host"]);
    crate::launch::run_off_runtime(command).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_that_does_not_resolve_is_shown_on_each_retry_and_given_up_after_two() {
    let (code, stdout, stderr) = plan_against("https://nonexistent.invalid").await;
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let retries: Vec<&str> = stderr.lines().filter(|line| line.contains("Graph unreachable")).collect();
    assert_eq!(retries.len(), 2, "one line a retry, two retries: {stderr}");
    assert!(
        retries[0].contains("Graph unreachable (name resolution failed): retrying in ")
            && retries[0].ends_with("attempt 2 of 3"),
        "{stderr}"
    );
    assert!(retries[1].ends_with("attempt 3 of 3"), "{stderr}");
    assert!(stderr.contains("name resolution failed"), "the error says why: {stderr}");
    assert!(!stderr.contains(SENTINEL));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_connection_fails_at_once_and_says_so() {
    // A loopback port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (code, stdout, stderr) = plan_against(&format!("http://127.0.0.1:{port}")).await;
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stderr.contains("could not connect") && stderr.to_lowercase().contains("refused"), "{stderr}");
    assert!(!stderr.contains("retrying"), "nothing listens there: not retried: {stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_breaks_is_shown_on_each_retry_at_default_verbosity() {
    // A server that accepts and closes every connection before answering.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else { break };
            drop(socket);
        }
    });
    let (code, stdout, stderr) = plan_against(&format!("http://127.0.0.1:{port}")).await;
    server.abort();
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let retries: Vec<&str> = stderr.lines().filter(|line| line.contains("Graph unreachable (")).collect();
    assert!(!retries.is_empty(), "{stderr}");
    assert!(retries[0].ends_with("attempt 2 of 9"), "{stderr}");
    assert!(retries.iter().all(|line| line.contains("retrying in ")), "{stderr}");
}
