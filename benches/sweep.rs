//! The partitioned sweep at a million users: an `entra-csa
//! emulator` process holding `--users` users (default 1,000,000) and 20,000
//! service principals, 5 % of them holding a value, with a per-page latency
//! that grows with the page (scaled down so a run fits in minutes: the goals
//! are ratios). A drift plan (`undeclaredAssignments: report`) and an
//! `export --assignments` run as `entra-csa` processes, once with the single
//! sweep (`ENTRA_CSA_SWEEP_PARTITIONS=1`) and once as the client chooses;
//! the rows give wall time, requests, peak RSS and the principals read,
//! held to the emulator's own list by count and by a digest of their ids.
//! Writes its section of BENCHMARKS.md (`--out FILE` elsewhere, `--no-write`
//! to only print it).
//!
//! `cargo bench --bench sweep -- [--users N] [--latency-ms MS] [--latency-per-item-us US]`

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use entra_csa::graph::read::id_digest;

mod common;

const SERVICE_PRINCIPALS: usize = 20_000;
/// One principal in 20 holds a value.
const HOLDER_EVERY: usize = 20;
/// The heading of this benchmark's section of BENCHMARKS.md.
const HEADING: &str = common::SWEEP_HEADING;
/// The goals a run is held to: partitions, wall time and requests against the single sweep, peak memory.
const PARTITIONS: f64 = 16.0;
const WALL_GOAL: f64 = 1.2;
const REQUEST_GOAL: f64 = 1.02;
const PEAK_RSS_GOAL_MB: u64 = 300;

fn arg(args: &[String], name: &str, default: u64) -> u64 {
    args.iter().position(|arg| arg == name).and_then(|at| args.get(at + 1)?.parse().ok()).unwrap_or(default)
}

/// One `entra-csa` run.
struct Run {
    command: &'static str,
    sweep: &'static str,
    wall: f64,
    requests: u64,
    swept: Swept,
    peak_mb: u64,
    /// CPU seconds the client and the emulator used during the run.
    client_cpu: f64,
    emulator_cpu: f64,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let users = arg(&args, "--users", 1_000_000) as usize;
    let latency_ms = arg(&args, "--latency-ms", 5);
    let per_item_us = arg(&args, "--latency-per-item-us", 50);
    let out = args
        .iter()
        .position(|arg| arg == "--out")
        .map(|position| PathBuf::from(&args[position + 1]))
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("BENCHMARKS.md"));
    let load_before = common::load_average();
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
    let listed = emulator_list(&url);
    eprintln!("the emulator lists {} principals", listed.read);

    let mut runs = Vec::new();
    let mut exports = Vec::new();
    for (command, arguments) in
        [("drift plan", vec!["plan", "-f"]), ("export --assignments", vec!["export", "--assignments", "-o"])]
    {
        for (sweep, partitions) in [("single", Some("1")), ("partitioned", None)] {
            eprintln!("{command}, {sweep} sweep…");
            let before = requests(&url);
            let output = folder.path().join(format!("export-{sweep}.yaml"));
            let mut process = Command::new(env!("CARGO_BIN_EXE_entra-csa"));
            process.arg("-vv").args(&arguments);
            process.arg(if command == "drift plan" { &desired } else { &output });
            process.args(["--graph-url", &url]).env("ENTRA_CSA_ACCESS_TOKEN", "bench-token");
            process.env_remove("ENTRA_CSA_SWEEP_PARTITIONS");
            if let Some(partitions) = partitions {
                process.env("ENTRA_CSA_SWEEP_PARTITIONS", partitions);
            }
            let emulator_cpu = cpu_seconds(emulator.id());
            let started = Instant::now();
            let (status, stderr, peak_kb, client_cpu) = run_measured(process);
            let wall = started.elapsed().as_secs_f64();
            if status > 2 {
                emulator.kill().ok();
                panic!("{command} {sweep} failed ({status}): {stderr}");
            }
            let sent = requests(&url) - before;
            runs.push(Run {
                command,
                sweep,
                wall,
                requests: sent,
                swept: swept(&stderr),
                peak_mb: peak_kb / 1024,
                client_cpu,
                emulator_cpu: cpu_seconds(emulator.id()) - emulator_cpu,
            });
            if command != "drift plan" {
                exports.push(std::fs::read(&output).unwrap());
            }
        }
    }
    emulator.kill().ok();
    emulator.wait().ok();

    let conditions = format!(
        "{users} users and {SERVICE_PRINCIPALS} service principals, one in {HOLDER_EVERY} holding a value; \
         each page waits {latency_ms} ms + {per_item_us} µs per item ({} ms for a page of 999). \
         Load average (1, 5, 15 min) before: {load_before}; after: {}.",
        latency_ms as f64 + per_item_us as f64 * 999.0 / 1000.0,
        common::load_average()
    );
    let command = format!(
        "cargo bench --bench sweep -- --users {users} --latency-ms {latency_ms} --latency-per-item-us {per_item_us}"
    );
    let section = section(&command, &conditions, &runs, &listed, exports[0] == exports[1]);
    print!("{section}");
    if !args.iter().any(|arg| arg == "--no-write") {
        common::write_section(&out, HEADING, &section);
    }
}

fn met(holds: bool) -> &'static str {
    if holds { "met" } else { "NOT MET" }
}

/// The section of BENCHMARKS.md: the runs, then the goals they are held to.
fn section(command: &str, conditions: &str, runs: &[Run], listed: &Swept, identical: bool) -> String {
    let mut text = format!(
        "{HEADING} (`cargo bench --bench sweep`)\n\n\
         `{command}`: an \
         `entra-csa emulator` process (release build) on loopback holds {conditions} Real Graph takes a \
         second or more for a page of 999; the latency is scaled down so a run fits in minutes (the goals \
         are ratios). Each run is an `entra-csa` process of its own: the single sweep forced with \
         `ENTRA_CSA_SWEEP_PARTITIONS=1`, the partitioned one as the client chooses (16 ranges of users; the \
         21 pages of service principals stay one sweep, as 2 % of them is less than one request). \
         Principals read are held to the emulator's own list (`/_emulator/state`) by count and by a digest \
         of their object ids (the wrapping sum of a 64-bit hash of each, logged by the reader), so a \
         principal missed and another read twice would not cancel out. Peak RSS is the process's VmHWM. \
         2-core machine shared with other builds, so single timings are noisy.\n\n\
         | run | sweep | wall (s) | HTTP requests | principals read | ids = the emulator's list | read twice | kept | peak RSS (MB) | CPU (s): client + emulator |\n\
         |---|---|---:|---:|---:|---|---:|---:|---:|---:|\n"
    );
    for run in runs {
        text.push_str(&format!(
            "| {} | {} | {:.1} | {} | {} of {} | {} | {} | {} | {} | {:.1} + {:.1} |\n",
            run.command,
            run.sweep,
            run.wall,
            run.requests,
            run.swept.read,
            listed.read,
            if run.swept.digest == listed.digest { "yes" } else { "NO" },
            run.swept.twice,
            run.swept.kept,
            run.peak_mb,
            run.client_cpu,
            run.emulator_cpu
        ));
    }
    let [single, parted, export_single, export_parted] = runs else { panic!("four runs") };
    let wall_ratio = parted.wall / (single.wall / PARTITIONS);
    let request_ratio = parted.requests as f64 / single.requests as f64;
    let exact = |run: &Run| {
        run.swept.read == listed.read && run.swept.digest == listed.digest && run.swept.twice == 0
    };
    text.push_str(&format!(
        "\n| case | goal | measured | result |\n|---|---|---|---|\n\
         | drift plan, partitioned vs single sweep | wall ≤ {WALL_GOAL} × (single ÷ 16); requests ≤ {REQUEST_GOAL} × single | \
         wall {:.1} s = {wall_ratio:.2} × ({:.1} s ÷ 16); requests {} = {request_ratio:.3} × {} | {} |\n\
         | same run | no principal missed or read twice | {} of {} read, ids digest {}, {} read twice | {} |\n\
         | same run | peak RSS ≤ {PEAK_RSS_GOAL_MB} MB | {} MB (single sweep: {} MB) | {} |\n\
         | `export --assignments`, same tenant | peak RSS ≤ {PEAK_RSS_GOAL_MB} MB; output identical to the single sweep's | \
         {} MB (single sweep: {} MB); output {} | {} |\n",
        parted.wall,
        single.wall,
        parted.requests,
        single.requests,
        met(wall_ratio <= WALL_GOAL && request_ratio <= REQUEST_GOAL),
        parted.swept.read,
        listed.read,
        if parted.swept.digest == listed.digest { "equal to the list's" } else { "DIFFERENT" },
        parted.swept.twice,
        met(exact(parted) && exact(single)),
        parted.peak_mb,
        single.peak_mb,
        met(parted.peak_mb <= PEAK_RSS_GOAL_MB),
        export_parted.peak_mb,
        export_single.peak_mb,
        if identical { "identical" } else { "DIFFERENT" },
        met(export_parted.peak_mb <= PEAK_RSS_GOAL_MB && identical && exact(export_parted)),
    ));
    let cpu = parted.client_cpu + parted.emulator_cpu;
    text.push_str(&format!(
        "\nThe partitioned drift plan used {cpu:.1} CPU seconds (client {:.1}, emulator {:.1}) in {:.1} s of \
         wall time: {:.2} cores busy on average, where the latency alone would take {:.1} s (the single \
         sweep's wall ÷ 16). Where that CPU time comes near the wall time the machine gives the two processes, \
         the partitioned sweep waits for the CPU, not for Graph; at Graph's real latency (about 5 × this \
         one's) the same CPU time is a fifth of the wait.\n",
        parted.client_cpu,
        parted.emulator_cpu,
        parted.wall,
        cpu / parted.wall,
        single.wall / PARTITIONS,
    ));
    text
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

/// CPU seconds (user and system) process `pid` has used, from
/// `/proc/PID/stat` (Linux; 100 ticks a second).
fn cpu_seconds(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            // The fields after the command's closing parenthesis: utime is the 12th, stime the 13th.
            let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
            Some((fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?) / 100.0)
        })
        .unwrap_or(0.0)
}

/// Runs `command`, polling its VmHWM (peak RSS, kB) and CPU time until it
/// exits.
fn run_measured(mut command: Command) -> (i32, String, u64, f64) {
    let mut child = command.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut { stderr }, &mut text).ok();
        text
    });
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    let mut cpu = 0.0f64;
    let status = loop {
        cpu = cpu.max(cpu_seconds(child.id()));
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
    (status.code().unwrap_or(-1), reader.join().unwrap(), peak, cpu)
}

/// What a sweep read: principals (kept or not), kept, read twice, and the
/// digest of their ids.
#[derive(Debug, Default)]
struct Swept {
    read: u64,
    kept: u64,
    twice: u64,
    digest: u64,
}

/// What the reader's `swept` log lines (one per kind) say it read.
fn swept(stderr: &str) -> Swept {
    let field = |line: &str, name: &str| {
        line.split_whitespace()
            .find_map(|word| word.strip_prefix(&format!("{name}=")))
            .and_then(|value| value.trim_matches(|c: char| !c.is_ascii_digit()).parse::<u64>().ok())
            .unwrap_or(0)
    };
    let mut totals = Swept::default();
    for line in stderr.lines().filter(|line| line.contains("swept")) {
        totals.read += field(line, "read");
        totals.kept += field(line, "kept");
        totals.twice += field(line, "read_twice");
        totals.digest = totals.digest.wrapping_add(field(line, "ids_digest"));
    }
    totals
}

/// The emulator's own list of users and service principals: how many, and
/// the digest of their ids.
fn emulator_list(url: &str) -> Swept {
    #[derive(serde::Deserialize)]
    struct Listed {
        id: String,
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct State {
        users: Vec<Listed>,
        service_principals: Vec<Listed>,
    }
    let state: State = serde_json::from_str(&get(&format!("{url}/_emulator/state")).unwrap()).unwrap();
    let mut listed = Swept::default();
    for principal in state.users.iter().chain(&state.service_principals) {
        listed.read += 1;
        listed.digest = listed.digest.wrapping_add(id_digest(&principal.id));
    }
    listed
}
