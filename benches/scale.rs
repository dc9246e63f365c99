//! The scale benchmarks of BENCHMARKS.md: a seeded synthetic tenant (100,000
//! users, 2,000 service principals, 5 sets × 8 attributes, 3 values each, 10%
//! differing), planned locally against the bare YAML parse and measured for
//! peak memory in a fresh process; the same at 1,000 and 10,000 principals for
//! growth. Run: `cargo bench --bench scale` (writes BENCHMARKS.md).
//!
//! `--quick` runs only the smaller sizes (for a try-out); `--out FILE` writes
//! elsewhere. Internally, the binary re-runs itself with `--measure-plan DIR`
//! to measure one plan's peak memory in a process of its own.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use entra_csa::export::{ExportOptions, export_single};
use entra_csa::graph::wire::TenantDocument;
use entra_csa::load::load_texts;
use entra_csa::plan::{self, Target};
use entra_csa::synthetic::{Shape, generate};

/// Timing repetitions; the median is reported.
const RUNS: usize = 3;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(position) = args.iter().position(|arg| arg == "--measure-plan") {
        measure_plan_in_this_process(Path::new(&args[position + 1]));
        return;
    }
    let quick = args.iter().any(|arg| arg == "--quick");
    let out = args
        .iter()
        .position(|arg| arg == "--out")
        .map(|position| PathBuf::from(&args[position + 1]))
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("BENCHMARKS.md"));

    let sizes: &[usize] = if quick { &[1_000, 10_000] } else { &[1_000, 10_000, 102_000] };
    let mut rows = Vec::new();
    for &principals in sizes {
        eprintln!("local plan at {principals} principals…");
        rows.push(local_row(principals));
    }
    let report = report(&rows, quick);
    std::fs::write(&out, &report).expect("BENCHMARKS.md is writable");
    eprintln!("wrote {}", out.display());
    print!("{report}");
}

/// Figures of one size.
struct LocalRow {
    principals: usize,
    yaml_bytes: usize,
    state_bytes: usize,
    changes: usize,
    bare_parse: Duration,
    load_validate: Duration,
    read_state: Duration,
    diff_plan: Duration,
    peak_rss_kb: u64,
    plan_process: Duration,
}

/// The tenant of `principals` principals (2% service principals, as the default shape).
fn shape(principals: usize) -> Shape {
    let service_principals = principals / 51;
    Shape { users: principals - service_principals, service_principals, ..Shape::default() }
}

fn local_row(principals: usize) -> LocalRow {
    let generated = generate(&shape(principals));
    let yaml = export_single(&generated.desired, &ExportOptions { assignments: true, ..Default::default() })
        .expect("the synthetic tenant exports");
    let state = serde_json::to_string(&TenantDocument::from_live_state(&generated.live)).unwrap();

    let bare_parse = median(|| {
        let value: serde_json::Value =
            serde_saphyr::from_str_with_options(&yaml, entra_csa::yaml::options()).expect("parses");
        std::hint::black_box(value);
    });
    let files = vec![("desired.yaml".to_owned(), yaml.clone())];
    let load_validate = median(|| {
        std::hint::black_box(load_texts(&files).expect("valid"));
    });
    let read_state = median(|| {
        std::hint::black_box(entra_csa::state_file::parse(&state, "live.json").expect("valid"));
    });
    let desired = load_texts(&files).unwrap();
    let live = entra_csa::state_file::parse(&state, "live.json").unwrap();
    let target = Target::StateFile { path: "live.json".into() };
    let diff_plan = median(|| {
        std::hint::black_box(plan::build(&desired, &live, target.clone()));
    });
    let changes = plan::build(&desired, &live, target.clone()).changes.len();

    // Peak memory of a whole `plan`, in a fresh process of its own.
    let folder = tempfile::tempdir().unwrap();
    std::fs::write(folder.path().join("desired.yaml"), &yaml).unwrap();
    std::fs::write(folder.path().join("live.json"), &state).unwrap();
    let started = Instant::now();
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--measure-plan", folder.path().to_str().unwrap()])
        .output()
        .expect("the benchmark re-runs itself");
    let plan_process = started.elapsed();
    let peak_rss_kb = String::from_utf8_lossy(&output.stdout).trim().parse().unwrap_or(0);

    LocalRow {
        principals,
        yaml_bytes: yaml.len(),
        state_bytes: state.len(),
        changes,
        bare_parse,
        load_validate,
        read_state,
        diff_plan,
        peak_rss_kb,
        plan_process,
    }
}

/// Loads, reads, plans and renders as `entra-csa plan --format json` does,
/// then prints this process's peak resident memory (kB).
fn measure_plan_in_this_process(folder: &Path) {
    let desired = entra_csa::load::load_files(&[folder.join("desired.yaml")]).expect("valid");
    let tenant = entra_csa::state_file::StateFileTenant::new(folder.join("live.json"));
    let live = tenant.load().expect("valid");
    let plan = plan::build(&desired, &live, Target::StateFile { path: "live.json".into() });
    let mut sink = std::io::sink();
    entra_csa::render::render(&plan, entra_csa::render::Format::Json, false, &mut sink).unwrap();
    println!("{}", peak_rss_kb());
}

/// VmHWM of /proc/self/status: the peak resident set size, in kB (Linux).
fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status.lines().find_map(|line| {
                line.strip_prefix("VmHWM:")
                    .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            })
        })
        .unwrap_or(0)
}

fn median(mut run: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let started = Instant::now();
            run();
            started.elapsed()
        })
        .collect();
    times.sort();
    times[RUNS / 2]
}

fn ms(duration: Duration) -> String {
    format!("{:.1}", duration.as_secs_f64() * 1000.0)
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines().find_map(|line| {
                line.strip_prefix("model name")
                    .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
            })
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |cores| cores.get());
    format!("{cpu}, {cores} cores, {} {}", std::env::consts::OS, std::env::consts::ARCH)
}

fn report(rows: &[LocalRow], quick: bool) -> String {
    let mut text = String::new();
    text.push_str("# Benchmarks\n\n");
    text.push_str(&format!(
        "Produced by `cargo bench --bench scale{}` on {}. Release build; timings are the median of {RUNS} runs in one process.\n\n",
        if quick { " -- --quick" } else { "" },
        machine()
    ));
    text.push_str(
        "The data is generated, seeded: a tenant of 2% service principals and 98% users, 5 attribute sets of 8 \
         attributes (predefined String, String collection, Integer, Boolean), 3 values per principal, 10% of \
         principals differing between the files and the tenant (`src/synthetic.rs`). The files are the \
         desired tenant exported as one YAML file; the tenant is a state file (DESIGN §6).\n\n",
    );
    text.push_str("## Local plan: load + validate + diff + plan versus a bare YAML parse\n\n");
    text.push_str("Goal: the whole plan (load and validate the YAML, diff, order) within 2× of only parsing the same YAML into a generic value (`serde_json::Value`, with the loader's parser options); peak memory under 300 MB at 100,000 principals.\n\n");
    text.push_str("| principals | YAML | state file | changes | bare parse (ms) | load + validate (ms) | diff + plan (ms) | plan ÷ bare parse | read state file (ms) | whole `plan` process: time (ms) | peak RSS (MB) |\n");
    text.push_str("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for row in rows {
        let ratio = (row.load_validate + row.diff_plan).as_secs_f64() / row.bare_parse.as_secs_f64();
        text.push_str(&format!(
            "| {} | {:.1} MB | {:.1} MB | {} | {} | {} | {} | {:.2}× | {} | {} | {:.0} |\n",
            row.principals,
            row.yaml_bytes as f64 / 1e6,
            row.state_bytes as f64 / 1e6,
            row.changes,
            ms(row.bare_parse),
            ms(row.load_validate),
            ms(row.diff_plan),
            ratio,
            ms(row.read_state),
            ms(row.plan_process),
            row.peak_rss_kb as f64 / 1024.0,
        ));
    }
    if let (Some(first), Some(last)) = (rows.first(), rows.last())
        && last.principals > first.principals
    {
        let growth = |a: Duration, b: Duration| b.as_secs_f64() / a.as_secs_f64();
        let size = last.principals as f64 / first.principals as f64;
        text.push_str(&format!(
            "\nGrowth from {} to {} principals ({size:.0}× the principals): load + validate {:.0}×, diff + plan {:.0}×, peak memory {:.0}×.\n",
            first.principals,
            last.principals,
            growth(first.load_validate, last.load_validate),
            growth(first.diff_plan, last.diff_plan),
            last.peak_rss_kb as f64 / first.peak_rss_kb.max(1) as f64,
        ));
    }
    text
}
