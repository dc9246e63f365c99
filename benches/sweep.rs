//! The partitioned sweep at a million users (issue 22): an `entra-csa
//! emulator` process holding `--users` users (default 1,000,000) and 20,000
//! service principals, 5 % of them holding a value, with a per-page latency
//! that grows with the page (scaled down so a run fits in minutes: the goals
//! are ratios). A drift plan (`undeclaredAssignments: report`) and an
//! `export --assignments` run as `entra-csa` processes, once with the single
//! sweep (`ENTRA_CSA_SWEEP_PARTITIONS=1`) and once as the client chooses;
//! the rows give wall time, requests, peak RSS and the principals read,
//! counted against the emulator's own list.
//!
//! `cargo bench --bench sweep -- [--users N] [--latency-ms MS] [--latency-per-item-us US]`

use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SERVICE_PRINCIPALS: usize = 20_000;
/// One principal in 20 holds a value.
const HOLDER_EVERY: usize = 20;

fn arg(args: &[String], name: &str, default: u64) -> u64 {
    args.iter().position(|arg| arg == name).and_then(|at| args.get(at + 1)?.parse().ok()).unwrap_or(default)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let users = arg(&args, "--users", 1_000_000) as usize;
    let latency_ms = arg(&args, "--latency-ms", 5);
    let per_item_us = arg(&args, "--latency-per-item-us", 50);
    let folder = tempfile::tempdir().unwrap();
    let state = folder.path().join("tenant.json");
    write_tenant(&state, users);
    let desired = folder.path().join("desired.yaml");
    std::fs::write(&desired, DESIRED).unwrap();

    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let mut emulator = Command::new(env!("CARGO_BIN_EXE_entra-csa"))
        .args(["emulator", "--listen", &format!("127.0.0.1:{port}"), "--state"])
        .arg(&state)
        .args(["--latency-ms", &latency_ms.to_string(), "--latency-per-item-us", &per_item_us.to_string()])
        .args(["--page-size", "999"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    wait_until_up(&url);

    println!(
        "{users} users, {SERVICE_PRINCIPALS} service principals, 1 in {HOLDER_EVERY} holding a value; \
         latency {latency_ms} ms + {per_item_us} µs per item"
    );
    println!("| run | sweep | wall (s) | requests | principals read | kept | read twice | peak RSS (MB) |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|");
    let expected = (users + SERVICE_PRINCIPALS) as u64;
    let mut exports = Vec::new();
    for (run, command) in
        [("drift plan", vec!["plan", "-f"]), ("export --assignments", vec!["export", "--assignments", "-o"])]
    {
        let mut walls = Vec::new();
        for (label, partitions) in [("single", Some("1")), ("partitioned", None)] {
            let before = requests(&url);
            let output = folder.path().join(format!("export-{label}.yaml"));
            let mut process = Command::new(env!("CARGO_BIN_EXE_entra-csa"));
            process.arg("-vv").args(&command);
            process.arg(if run == "drift plan" { &desired } else { &output });
            process.args(["--graph-url", &url]).env("ENTRA_CSA_ACCESS_TOKEN", "bench-token");
            process.env_remove("ENTRA_CSA_SWEEP_PARTITIONS");
            if let Some(partitions) = partitions {
                process.env("ENTRA_CSA_SWEEP_PARTITIONS", partitions);
            }
            let started = Instant::now();
            let (status, stderr, peak_kb) = run_measured(process);
            let wall = started.elapsed().as_secs_f64();
            if status > 2 {
                emulator.kill().ok();
                panic!("{run} {label} failed ({status}): {stderr}");
            }
            let sent = requests(&url) - before;
            let (read, kept, twice) = swept(&stderr);
            println!(
                "| {run} | {label} | {wall:.1} | {sent} | {read} of {expected} | {kept} | {twice} | {} |",
                peak_kb / 1024
            );
            assert_eq!(read, expected, "{run} {label}: principals read against the emulator's list");
            walls.push((wall, sent));
            if run != "drift plan" {
                exports.push(std::fs::read(&output).unwrap());
            }
        }
        let ((single, single_requests), (parted, parted_requests)) = (walls[0], walls[1]);
        println!(
            "{run}: wall partitioned ÷ (single ÷ 16) = {:.2}; requests partitioned ÷ single = {:.3}",
            parted / (single / 16.0),
            parted_requests as f64 / single_requests as f64
        );
    }
    println!("export output identical to the single sweep's: {}", exports[0] == exports[1]);
    emulator.kill().ok();
    emulator.wait().ok();
}

const DESIRED: &str = "\
version: 1
policy:
  undeclaredAssignments: report
attributeSets:
  Bench:
    description: Benchmark set
    attributes:
      Tier:
        type: String
        description: A tier
";

/// The tenant as a state document, streamed: one attribute `Bench.Tier`,
/// every 20th principal holding it.
fn write_tenant(path: &Path, users: usize) {
    let mut out = BufWriter::new(std::fs::File::create(path).unwrap());
    let value = |index: usize| {
        if index.is_multiple_of(HOLDER_EVERY) {
            format!(
                r##"{{"Bench":{{"@odata.type":"#microsoft.graph.customSecurityAttributeValue","Tier":"T{}"}}}}"##,
                index % 7
            )
        } else {
            "null".to_owned()
        }
    };
    write!(
        out,
        r#"{{"attributeSets":[{{"id":"Bench","description":"Benchmark set","maxAttributesPerSet":25}}],"customSecurityAttributeDefinitions":[{{"attributeSet":"Bench","name":"Tier","description":"A tier","type":"String","isCollection":false,"isSearchable":true,"status":"Available","usePreDefinedValuesOnly":false}}],"users":["#
    )
    .unwrap();
    // UPNs in a shuffled order (Graph's list order is not the UPN order):
    // a multiplicative permutation of the indexes.
    for position in 0..users {
        let index = (position as u64 * 2_654_435_761 % users as u64) as usize;
        let comma = if position == 0 { "" } else { "," };
        write!(
            out,
            r#"{comma}{{"id":"00000000-0000-4000-8000-{index:012}","userPrincipalName":"user{index}@contoso.example","displayName":"User {index}","customSecurityAttributes":{}}}"#,
            value(index)
        )
        .unwrap();
    }
    write!(out, r#"],"servicePrincipals":["#).unwrap();
    for index in 0..SERVICE_PRINCIPALS {
        let comma = if index == 0 { "" } else { "," };
        let app_id = format!("{:08x}-2222-4000-8000-{index:012x}", (index as u64 * 2_654_435_761) as u32);
        write!(
            out,
            r#"{comma}{{"id":"11111111-0000-4000-8000-{index:012}","appId":"{app_id}","displayName":null,"customSecurityAttributes":{}}}"#,
            value(index)
        )
        .unwrap();
    }
    write!(out, "]}}").unwrap();
    out.flush().unwrap();
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn get(url: &str) -> Option<String> {
    let mut stream =
        std::net::TcpStream::connect(url.trim_start_matches("http://").split('/').next()?).ok()?;
    let path = format!("/{}", url.trim_start_matches("http://").split_once('/').map_or("", |(_, path)| path));
    write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut body = String::new();
    std::io::Read::read_to_string(&mut stream, &mut body).ok()?;
    Some(body.split_once("\r\n\r\n")?.1.to_owned())
}

fn wait_until_up(url: &str) {
    let started = Instant::now();
    while get(&format!("{url}/_emulator/stats")).is_none() {
        assert!(started.elapsed() < Duration::from_secs(600), "the emulator did not start");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Graph requests the emulator has served.
fn requests(url: &str) -> u64 {
    let stats: serde_json::Value =
        serde_json::from_str(&get(&format!("{url}/_emulator/stats")).unwrap()).unwrap();
    stats["requests"]
        .as_u64()
        .or_else(|| stats["totalRequests"].as_u64())
        .unwrap_or_else(|| panic!("{stats}"))
}

/// Runs `command`, polling its VmHWM (peak RSS, kB) until it exits.
fn run_measured(mut command: Command) -> (i32, String, u64) {
    let mut child = command.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut { stderr }, &mut text).ok();
        text
    });
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    let status = loop {
        if let Ok(status) = std::fs::read_to_string(&status_file)
            && let Some(kb) = status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|value| value.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        {
            peak = peak.max(kb);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (status.code().unwrap_or(-1), reader.join().unwrap(), peak)
}

/// The principals read, kept and read twice, from the reader's `swept` logs.
fn swept(stderr: &str) -> (u64, u64, u64) {
    let field = |line: &str, name: &str| {
        line.split_whitespace()
            .find_map(|word| word.strip_prefix(&format!("{name}=")))
            .and_then(|value| value.trim_matches(|c: char| !c.is_ascii_digit()).parse::<u64>().ok())
            .unwrap_or(0)
    };
    let mut totals = (0, 0, 0);
    for line in stderr.lines().filter(|line| line.contains("swept")) {
        totals.0 += field(line, "read");
        totals.1 += field(line, "kept");
        totals.2 += field(line, "read_twice");
    }
    totals
}
