//! One saved plan delivered in three runs cut by `--max-duration`, against
//! one uncut run of the same plan: `entra-csa` processes against an
//! `entra-csa emulator` process with Graph's write quota scaled
//! (`--throttle graph --throttle-scale 10`, the client told the same scale),
//! on a new tenant where every principal gets its values. The goals: the
//! three runs together carry out exactly one write per changed principal
//! (and per set and definition) — nothing already written is written again
//! — and end in the tenant the uncut run leaves. Writes its section of
//! BENCHMARKS.md (`--out FILE` elsewhere, `--no-write` to only print it).
//!
//! `cargo bench --bench cut_apply -- [--users N] [--latency-ms MS] [--scale FACTOR]`

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use entra_csa::desired::export::{ExportOptions, export_single};
use entra_csa::emulator::RecordedRequest;
use entra_csa::graph::wire::TenantDocument;
use entra_csa::model::synthetic::{Shape, fresh, generate};

mod common;

const HEADING: &str = "## A long apply in three runs of one saved plan (`cargo bench --bench cut_apply`)";
const TOKEN: &str = "bench-token";

/// An emulator process, killed when dropped.
struct Emulator {
    child: Child,
    url: String,
}

impl Emulator {
    /// On `address` (`127.0.0.1:0` for any port).
    fn start(address: &str, seed: &Path, latency_ms: u64, scale: f64) -> Emulator {
        let mut child = Command::new(env!("CARGO_BIN_EXE_entra-csa"))
            .args(["emulator", "--listen", address, "--state"])
            .arg(seed)
            .args(["--latency-ms", &latency_ms.to_string(), "--throttle", "graph"])
            .args(["--throttle-scale", &scale.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let url =
            line.trim().strip_prefix("listening on ").expect("the emulator names its address").to_owned();
        Emulator { child, url }
    }

    fn control(&self, path: &str) -> String {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            reqwest::get(format!("{}/_emulator/{path}", self.url)).await.unwrap().text().await.unwrap()
        })
    }

    fn requests(&self) -> Vec<RecordedRequest> {
        serde_json::from_str(&self.control("requests")).unwrap()
    }

    fn state(&self) -> entra_csa::model::live::LiveState {
        let document: TenantDocument = serde_json::from_str(&self.control("state")).unwrap();
        document.to_live_state().unwrap()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the write items of a request log did: those Graph carried out, by
/// what they write (a PATCH by its path, a create by its path and id), and
/// how many were refused with a 429 (sent again later: not done).
fn writes(requests: &[RecordedRequest]) -> (BTreeMap<String, usize>, usize) {
    let mut done = BTreeMap::new();
    let mut refused = 0;
    for request in requests.iter().filter(|request| request.method != "GET" && request.batch_item.is_some()) {
        if request.status == 429 {
            refused += 1;
        }
        if !(200..300).contains(&request.status) {
            continue;
        }
        let created = request.body.as_ref().map_or(String::new(), |body| {
            let field = |name: &str| body.get(name).and_then(|value| value.as_str()).unwrap_or_default();
            format!("{}{}{}", field("id"), field("attributeSet"), field("name"))
        });
        let what = if request.method == "POST" { created } else { String::new() };
        *done.entry(format!("{} {} {what}", request.method, request.path)).or_default() += 1;
    }
    (done, refused)
}

/// An `entra-csa` run: exit code, stderr, wall seconds.
fn entra_csa(args: &[&str], scale: f64) -> (i32, String, f64) {
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_entra-csa"))
        .args(args)
        .env("ENTRA_CSA_ACCESS_TOKEN", TOKEN)
        .env("ENTRA_CSA_WRITE_QUOTA_SCALE", scale.to_string())
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
        started.elapsed().as_secs_f64(),
    )
}

fn main() {
    let mut users = 35_000;
    let mut latency_ms = 20;
    let mut scale = 10.0;
    let mut out = Some(PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/BENCHMARKS.md")));
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--users" => users = args.next().unwrap().parse().unwrap(),
            "--latency-ms" => latency_ms = args.next().unwrap().parse().unwrap(),
            "--scale" => scale = args.next().unwrap().parse().unwrap(),
            "--out" => out = Some(PathBuf::from(args.next().unwrap())),
            "--no-write" => out = None,
            _ => {}
        }
    }
    let load_before = common::load_average();
    let folder = tempfile::tempdir().unwrap();
    let generated = generate(&Shape {
        users,
        service_principals: users / 50,
        sets: 2,
        definitions_per_set: 4,
        assignments_per_principal: 2,
        differing_share: 0.0,
        seed: 31,
    });
    let principals = generated.desired.principals.len();
    let files = folder.path().join("desired.yaml");
    let options = ExportOptions { assignments: true, ..Default::default() };
    std::fs::write(&files, export_single(&generated.desired, &options).unwrap()).unwrap();
    let seed = folder.path().join("seed.json");
    let document = TenantDocument::from_live_state(&fresh(&generated.desired));
    std::fs::write(&seed, serde_json::to_string(&document).unwrap()).unwrap();
    let plan = folder.path().join("plan.json").display().to_string();
    let files = files.display().to_string();

    // The plan, saved once; its wall is what each run spends before writing.
    let emulator = Emulator::start("127.0.0.1:0", &seed, latency_ms, scale);
    let (code, stderr, plan_wall) =
        entra_csa(&["plan", "-f", &files, "--graph-url", &emulator.url, "--out", &plan], scale);
    assert_eq!(code, 0, "{stderr}");

    // One uncut run.
    let (code, stderr, uncut_wall) = entra_csa(&["apply", &plan, "--auto-approve"], scale);
    assert_eq!(code, 0, "{stderr}");
    let uncut_state = emulator.state();
    let (uncut_writes, uncut_refused) = writes(&emulator.requests());
    eprintln!("uncut: {uncut_wall:.1} s, {} writes", uncut_writes.len());

    // The same plan on a new emulator (a quota window of its own), cut so
    // that the writes fall into three runs: each run reads for about the
    // plan's wall, then writes until its deadline. Same address: a saved
    // plan applies to the Graph it was made for.
    let address = emulator.url.trim_start_matches("http://").to_owned();
    drop(emulator);
    let emulator = Emulator::start(&address, &seed, latency_ms, scale);
    let writing = (uncut_wall - plan_wall).max(1.0);
    let limit = Duration::from_secs_f64(plan_wall * 1.2 + writing / 3.0);
    let limit_text = format!("{}ms", limit.as_millis());
    let mut runs = Vec::new();
    loop {
        let before = emulator.requests().len();
        let (code, stderr, wall) =
            entra_csa(&["apply", &plan, "--auto-approve", "--max-duration", &limit_text], scale);
        let (run_writes, _) = writes(&emulator.requests()[before..]);
        let done: usize = run_writes.values().sum();
        eprintln!("run {}: exit {code}, {wall:.1} s, {done} writes", runs.len() + 1);
        assert!(code == 0 || code == 3, "{stderr}");
        runs.push((code, wall, done));
        if code == 0 || runs.len() >= 10 {
            break;
        }
    }
    let cut_state = emulator.state();
    let (cut_writes, cut_refused) = writes(&emulator.requests());
    let twice = cut_writes.values().filter(|count| **count > 1).count();
    let cut_total: usize = cut_writes.values().sum();
    let same_tenant = cut_state == uncut_state;
    // Three runs at least, the last one finishing: else nothing was cut.
    let goal_met = twice == 0
        && cut_writes == uncut_writes
        && same_tenant
        && runs.len() >= 3
        && runs.last().is_some_and(|run| run.0 == 0);

    let mut section = format!(
        "{HEADING}\n\n\
         Goal: the apply of one saved plan, cut by `--max-duration` into three runs (each run after the first \
         applies the same `plan.json` again), carries out exactly one write per changed principal, set and \
         definition in total, and ends in the tenant one uncut run of the plan leaves.\n\n\
         A new tenant of {principals} principals ({users} users, {} service principals) gets 2 sets, 8 definitions \
         and 2 values on every principal; an `entra-csa emulator` process with Graph's write quota scaled by {scale} \
         (`--throttle graph --throttle-scale {scale}`, {latency_ms} ms latency), the client told the same scale \
         (hidden `ENTRA_CSA_WRITE_QUOTA_SCALE`). The uncut run and the cut runs each had an emulator of their own \
         (a fresh quota window). The deadline, {:.1} s, is the plan's wall ({plan_wall:.1} s: what each run \
         spends reading) × 1.2 plus the uncut run's writing time ÷ 3. Writes are counted from the emulator's request \
         log: the write items it answered 2xx, keyed by what they write; a 429 is refused, not done, and sent \
         again. {} build, on the 2 shared cores of the head of this file; load average before: {load_before}; \
         after: {}.\n\n",
        users / 50,
        limit.as_secs_f64(),
        if cfg!(debug_assertions) { "Debug" } else { "Release" },
        common::load_average(),
    );
    // The quota's floor for these writes at this scale: the first window's
    // as fast as Graph answers, the rest at the scaled sustained rate.
    let window = f64::from(entra_csa::plan::apply_time::GRAPH_WRITES_PER_WINDOW) * scale;
    let floor = (uncut_writes.len() as f64 - window).max(0.0)
        / (entra_csa::plan::apply_time::sustained_writes_per_second() * scale);
    section.push_str(&format!(
        "The floor of these writes at the scaled quota is {floor:.1} s; how near the uncut run comes to it is \
         the pacer's business (its own rows above), not this row's.\n\n\
         | run | exit | wall (s) | writes carried out |\n|---|---:|---:|---:|\n"
    ));
    section.push_str(&format!(
        "| uncut | 0 | {uncut_wall:.1} | {} ({uncut_refused} refused with 429 and sent again) |\n",
        uncut_writes.values().sum::<usize>()
    ));
    for (index, (code, wall, done)) in runs.iter().enumerate() {
        section.push_str(&format!("| cut, run {} | {code} | {wall:.1} | {done} |\n", index + 1));
    }
    section.push_str(&format!(
        "| cut, all runs | — | {:.1} | {cut_total} ({cut_refused} refused with 429 and sent again) |\n\n\
         Result: {} runs; {} distinct writes against {} for the uncut run, {twice} written more than once; end \
         state {} the uncut run's. Goal {}.\n",
        runs.iter().map(|run| run.1).sum::<f64>(),
        runs.len(),
        cut_writes.len(),
        uncut_writes.len(),
        if same_tenant { "equal to" } else { "DIFFERENT from" },
        if goal_met { "met" } else { "NOT met" },
    ));
    print!("{section}");
    if let Some(out) = out {
        common::write_section(&out, HEADING, &section);
    }
}
