//! The scale benchmarks of BENCHMARKS.md: a seeded synthetic tenant (100,000
//! users, 2,000 service principals, 5 sets × 8 attributes, 3 values each, 10%
//! differing), planned locally against the bare YAML parse and measured for
//! peak memory in a fresh process; the same at 1,000 and 10,000 principals for
//! growth. Run: `cargo bench --bench scale` (writes BENCHMARKS.md).
//!
//! `--quick` runs only the smaller sizes (for a try-out); `--local-only`
//! skips the emulator; `--out FILE` writes elsewhere; `--reliability` runs
//! only the throttling and fault rows (`reliability/mod.rs`, a few minutes)
//! and replaces their section of the existing file; `--report` likewise runs
//! only the rows of `entra-csa report`; `--groups` only the rows of
//! assigning by group (`groups/mod.rs`); `--million` only the local plan at
//! 100,000 to 1,000,000 principals; `--reads` only the reads of a plan
//! against the emulator ("Reading the tenant from the emulator"); `--pacing`
//! only the write pacer's rows (`pacing/mod.rs`, about 15 minutes;
//! `--pacing-only small,window,million` prints some of them). `SCALE_KEEP_DATA=DIR`
//! keeps the generated files, `SCALE_PHASES=1` prints the peak memory after
//! each phase of the measured plan. Internally, the binary re-runs itself with `--measure-plan DIR`
//! to measure one plan's peak memory in a process of its own.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use entra_csa::desired::export::{ExportOptions, export_single};
use entra_csa::desired::load::load_texts;
use entra_csa::emulator::{EmulatorConfig, RunningEmulator, Throttle, start};
use entra_csa::graph::endpoint::Cloud;
use entra_csa::graph::route::Route;
use entra_csa::graph::wire::TenantDocument;
use entra_csa::graph::{BearerToken, ClientOptions, GraphTenant, TokenSource, endpoint};
use entra_csa::model::synthetic::{Shape, generate};
use entra_csa::plan::{self, Target};
use entra_csa::tenant::{ReadScope, Tenant};

#[path = "groups/mod.rs"]
mod groups;
#[path = "pacing/mod.rs"]
mod pacing;
#[path = "reliability/mod.rs"]
mod reliability;

mod common;

/// The heading the throttling and fault section starts with.
const RELIABILITY_HEADING: &str = "## Throttling and faults";

use common::MILLION_HEADING;

/// The local plan of 100,000, 300,000 and 1,000,000 declared principals
/// within 2× of a bare parse, and its cost linear in the
/// principals: the cost per principal at a million within 1.25× of the cost
/// at 100,000.
fn million_section() -> String {
    let load_before = common::load_average();
    let mut rows = Vec::new();
    for principals in [100_000, 300_000, 1_000_000] {
        eprintln!("local plan at {principals} principals…");
        rows.push(local_row(principals));
    }
    let plan = |row: &LocalRow| (row.load_validate + row.diff_plan).as_secs_f64();
    let (first, last) = (&rows[0], &rows[rows.len() - 1]);
    let ratio = plan(last) / last.bare_parse.as_secs_f64();
    let per_principal = |row: &LocalRow| plan(row) / row.principals as f64 * 1e6;
    let growth = per_principal(last) / per_principal(first);
    let met = |holds: bool| if holds { "met" } else { "NOT MET" };
    format!(
        "{MILLION_HEADING} (`cargo bench --bench scale -- --million`)\n\n\
         The tenant of the tables above (`src/model/synthetic.rs`) at 100,000, 300,000 and 1,000,000 \
         principals, planned locally from one YAML file against a state file, on {}; release build, \
         timings the median of {RUNS} runs in one process; the whole `plan` process in a process of its own. \
         Load average (1, 5, 15 min) before: {load_before}; after: {}.\n\n{}\n\
         | case | goal | measured | result |\n|---|---|---|---|\n\
         | local plan of {} declared principals from YAML | ≤ 2 × a bare parse of the same YAML | load + validate + diff + plan {:.1} s = {ratio:.2} × the bare parse ({:.1} s) | {} |\n\
         | same, from {} to {} principals | cost linear: per principal at the largest ≤ 1.25 × at the smallest | {:.1} µs → {:.1} µs per principal ({growth:.2}×) | {} |\n",
        machine(),
        common::load_average(),
        local_table(&rows),
        last.principals,
        plan(last),
        last.bare_parse.as_secs_f64(),
        met(ratio <= 2.0),
        first.principals,
        last.principals,
        per_principal(first),
        per_principal(last),
        met(growth <= 1.25),
    )
}

/// Timing repetitions; the median is reported.
const RUNS: usize = 3;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(position) = args.iter().position(|arg| arg == "--measure-plan") {
        measure_plan_in_this_process(Path::new(&args[position + 1]));
        return;
    }
    if let Some(position) = args.iter().position(|arg| arg == "--measure-group-plan") {
        groups::measure_in_this_process(Path::new(&args[position + 1]), &args[position + 2]);
        return;
    }
    if let Some(position) = args.iter().position(|arg| arg == "--measure-report") {
        measure_report_in_this_process(&args[position + 1..]);
        return;
    }
    let quick = args.iter().any(|arg| arg == "--quick");
    let out = args
        .iter()
        .position(|arg| arg == "--out")
        .map(|position| PathBuf::from(&args[position + 1]))
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("BENCHMARKS.md"));
    if args.iter().any(|arg| arg == "--report") {
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
        let section = runtime.block_on(report_section());
        common::write_section(&out, REPORT_HEADING, &section);
        print!("{section}");
        return;
    }
    if args.iter().any(|arg| arg == "--reads") {
        // Only "Reading the tenant from the emulator": a plan's reads, by
        // either route, at the three sizes.
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
        let mut reads = Vec::new();
        for principals in [1_000, 10_000, 102_000] {
            eprintln!("emulator plan at {principals} principals…");
            reads.push(runtime.block_on(emulator_read_row(principals, None)));
            reads.push(runtime.block_on(emulator_read_row(principals, Some(Route::Batched))));
        }
        let mut section = reads_section(&reads);
        section.push_str(&format!(
            "\nWritten by `cargo bench --bench scale -- --reads` (release build). The forced batched reads are \
             paced by the read pacer at 90 % of 3,500 resource units per 10 s (1 unit a GET): on that route the \
             tenant's size, and so its larger quota, is never counted, hence their times. Load average (1, 5, \
             15 min) after: {}.\n",
            common::load_average()
        ));
        common::write_section(&out, READS_HEADING, &section);
        print!("{section}");
        return;
    }
    if args.iter().any(|arg| arg == "--million") {
        let section = million_section();
        common::write_section(&out, MILLION_HEADING, &section);
        print!("{section}");
        return;
    }
    if std::env::var_os("RUST_LOG").is_some() {
        // What the client and the emulator log, when asked (RUST_LOG=entra_csa=debug).
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .try_init();
    }
    if let Some(position) = args.iter().position(|arg| arg == "--pacing-only") {
        // A few of the pacer's rows (`small,window,million`), printed, not written.
        let cases: Vec<String> = args[position + 1].split(',').map(str::to_owned).collect();
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
        print!("{}", runtime.block_on(pacing::section_of(&cases)));
        return;
    }
    if args.iter().any(|arg| arg == "--pacing") {
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
        let section = runtime.block_on(pacing::section());
        common::write_section(&out, pacing::HEADING, &section);
        print!("{section}");
        return;
    }
    if let Some(position) = args.iter().position(|arg| arg == "--reliability-only") {
        // A few of the rows (`storm,faults,shared,outage`), printed, not written.
        let cases: Vec<String> = args[position + 1].split(',').map(str::to_owned).collect();
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
        print!("{}", runtime.block_on(reliability::section_of(&cases)));
        return;
    }
    if args.iter().any(|arg| arg == "--groups") {
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
        let section = runtime.block_on(groups::section());
        common::write_section(&out, groups::HEADING, &section);
        print!("{section}");
        return;
    }
    if args.iter().any(|arg| arg == "--reliability") {
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
        let section = runtime.block_on(reliability::section());
        common::write_section(&out, RELIABILITY_HEADING, &section);
        print!("{section}");
        return;
    }

    let sizes: &[usize] = if quick { &[1_000, 10_000] } else { &[1_000, 10_000, 102_000] };
    let mut rows = Vec::new();
    for &principals in sizes {
        eprintln!("local plan at {principals} principals…");
        rows.push(local_row(principals));
    }
    let local_only = args.iter().any(|arg| arg == "--local-only");
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let mut reads = Vec::new();
    for &principals in sizes.iter().filter(|_| !local_only) {
        eprintln!("emulator plan at {principals} principals…");
        reads.push(runtime.block_on(emulator_read_row(principals, None)));
        reads.push(runtime.block_on(emulator_read_row(principals, Some(Route::Batched))));
    }
    let apply_principals = if quick { 10_000 } else { 102_000 };
    eprintln!("emulator apply at {apply_principals} principals…");
    let applies = if local_only {
        Vec::new()
    } else {
        vec![
            runtime.block_on(emulator_apply_row(
                apply_principals,
                scaled(ClientOptions::default()),
                "entra-csa (batched, paced, 4 in flight)",
            )),
            runtime.block_on(emulator_apply_row(
                apply_principals,
                scaled(ClientOptions { batch_size: 1, concurrency: 1, ..ClientOptions::default() }),
                "one request at a time (as peers do)",
            )),
        ]
    };
    let mut report = report(&rows, &reads, &applies, quick);
    if !local_only {
        report.push('\n');
        report.push_str(&runtime.block_on(reliability::section()));
        report.push('\n');
        report.push_str(&runtime.block_on(report_section()));
    }
    report.push('\n');
    report.push_str(include_str!("history.md"));
    // The sections written by runs of their own stay.
    let existing = std::fs::read_to_string(&out).unwrap_or_default();
    let own_runs = [common::MILLION_HEADING, common::IMPACT_HEADING, groups::HEADING, pacing::HEADING];
    for heading in common::SWEEP_HEADINGS.into_iter().chain(own_runs) {
        if let Some(kept) = common::section_of(&existing, heading) {
            report = common::splice_section(&report, heading, &format!("{kept}\n"));
        }
    }
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
    parser_events: Duration,
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
            serde_saphyr::from_str_with_options(&yaml, bare_parse_options()).expect("parses");
        std::hint::black_box(value);
    });
    let parser_events = median(|| {
        for event in serde_saphyr::granit_parser::Parser::new_from_str(&yaml) {
            std::hint::black_box(event.expect("parses"));
        }
    });
    let files = vec![("desired.yaml".to_owned(), yaml.clone())];
    let load_validate = median(|| {
        std::hint::black_box(load_texts(&files).expect("valid"));
    });
    let read_state = median(|| {
        std::hint::black_box(entra_csa::tenant::state_file::parse(&state, "live.json").expect("valid"));
    });
    let desired = load_texts(&files).unwrap();
    let live = entra_csa::tenant::state_file::parse(&state, "live.json").unwrap();
    let target = Target::StateFile { path: "live.json".into() };
    let diff_plan = median(|| {
        std::hint::black_box(plan::build(&desired, &live, target.clone()));
    });
    let changes = plan::build(&desired, &live, target.clone()).changes.len();

    // Peak memory of a whole `plan`, in a fresh process of its own.
    let folder = tempfile::tempdir().unwrap();
    if let Some(keep) = std::env::var_os("SCALE_KEEP_DATA") {
        let keep = Path::new(&keep).join(principals.to_string());
        std::fs::create_dir_all(&keep).unwrap();
        std::fs::write(keep.join("desired.yaml"), &yaml).unwrap();
        std::fs::write(keep.join("live.json"), &state).unwrap();
    }
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
        parser_events,
        load_validate,
        read_state,
        diff_plan,
        peak_rss_kb,
        plan_process,
    }
}

/// The baseline's parser: serde-saphyr into a generic value, with the bounds
/// the loader keeps (YAML 1.2 booleans, duplicate keys refused, nesting,
/// alias expansion and size limited).
fn bare_parse_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::Error,
        strict_booleans: true,
        with_snippet: false,
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: entra_csa::desired::yaml::MAX_ALIAS_NODES,
        },
        budget: serde_saphyr::budget! {
            max_nodes: entra_csa::desired::yaml::MAX_NODES,
            max_events: 100_000_000,
            max_depth: entra_csa::desired::yaml::MAX_DEPTH,
            // The loader caps no total of scalar text (its 64 MiB default
            // refuses the YAML of a million principals).
            max_total_scalar_bytes: usize::MAX,
        },
    }
}

/// Loads, reads, plans and renders as `entra-csa plan --format json` does,
/// then prints this process's peak resident memory (kB).
fn measure_plan_in_this_process(folder: &Path) {
    let phases = std::env::var_os("SCALE_PHASES").is_some();
    let desired = entra_csa::desired::load::load_files(&[folder.join("desired.yaml")]).expect("valid");
    if phases {
        eprintln!("after load: peak {} kB", peak_rss_kb());
    }
    let tenant = entra_csa::tenant::state_file::StateFileTenant::new(folder.join("live.json"));
    let live = tenant.load().expect("valid");
    if phases {
        eprintln!("after state file: peak {} kB", peak_rss_kb());
    }
    let plan = plan::build(&desired, &live, Target::StateFile { path: "live.json".into() });
    if phases {
        eprintln!("after plan: peak {} kB", peak_rss_kb());
    }
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

/// The client's pacer told the quota the emulator enforces: Graph's 3,000
/// writes per 150 s, scaled by the same 10.
fn scaled(options: ClientOptions) -> ClientOptions {
    ClientOptions { write_budget: 3_000 * 10, ..options }
}

/// Emulator latency for every request, so reads and writes wait as on a network.
const LATENCY: Duration = Duration::from_millis(20);

async fn emulator_with(live: &entra_csa::model::live::LiveState, throttle: Throttle) -> RunningEmulator {
    start(EmulatorConfig {
        seed_state: entra_csa::emulator::document::StateDocument::from_shape(
            &TenantDocument::from_live_state(live),
        )
        .expect("one JSON shape"),
        latency: LATENCY,
        throttle,
        throttle_scale: 10.0,
        ..EmulatorConfig::default()
    })
    .await
    .expect("the emulator starts")
}

fn tenant_for(emulator: &RunningEmulator, options: ClientOptions) -> GraphTenant {
    let endpoint = endpoint::resolve(Cloud::Global, Some(&emulator.base_url()), false).unwrap();
    GraphTenant::new(endpoint, TokenSource::Fixed(BearerToken::new("benchmark")), options, None).unwrap()
}

/// The section "Reading the tenant from the emulator": a plan's reads of
/// every declared principal, by the route the client chooses and forced to
/// the other one (`cargo bench --bench scale -- --reads` writes it alone).
const READS_HEADING: &str = "## Reading the tenant from the emulator";

fn reads_section(reads: &[ReadRow]) -> String {
    let mut text = String::new();
    text.push_str(&format!(
        "## Reading the tenant from the emulator (`--latency-ms {}`)\n\n\
         The plan of every principal. The client chooses between the paged sweep (`$top=999`) and batched \
         GETs (20 per `$batch`); the forced rows show the other route's cost. \
         Lower bound: pages of 999 users and service principals, plus the set and definition lists. \
         Goal: ≤ 1.05× the bound. Beside the first page of each kind the client asks for the kind's \
         population (`/users/$count`, `/servicePrincipals/$count`, with `ConsistencyLevel: eventual`): a \
         request of its own, so that no page is read from the eventually consistent index, which sizes the \
         route and the split. A plan also reads what shows a change's impact: the Conditional Access \
         policies, the app management policies and the lifecycle workflows. The bound leaves both out; their \
         columns say how many of the requests they are, and the ratio is of the rest.{}\n\n",
        LATENCY.as_millis(),
        if cfg!(debug_assertions) {
            " These figures are from a debug build: requests, not times."
        } else {
            ""
        }
    ));
    text.push_str("| principals | route | HTTP requests | of which counts | of which impact reads | lower bound | ratio (the rest ÷ bound) | resource units | time (s) |\n|---:|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for row in reads {
        text.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {:.2}× | {} | {:.1} |\n",
            row.principals,
            row.route,
            row.requests,
            row.counts,
            row.impact_reads,
            row.lower_bound,
            (row.requests - row.counts - row.impact_reads) as f64 / row.lower_bound as f64,
            row.resource_units,
            row.elapsed.as_secs_f64()
        ));
    }
    let chosen: Vec<&ReadRow> = reads.iter().filter(|row| row.route == "chosen by the client").collect();
    if let (Some(first), Some(last)) = (chosen.first(), chosen.last())
        && last.principals > first.principals
    {
        text.push_str(&format!(
            "\nGrowth from {} to {} principals ({:.0}× the principals): requests {:.0}×, time {:.0}×.\n",
            first.principals,
            last.principals,
            last.principals as f64 / first.principals as f64,
            last.requests as f64 / first.requests as f64,
            last.elapsed.as_secs_f64() / first.elapsed.as_secs_f64(),
        ));
    }
    text
}

/// What reading a tenant cost, against the lower bound.
struct ReadRow {
    principals: usize,
    route: &'static str,
    requests: usize,
    /// Of the requests, those that count (`$count`) rather than read.
    counts: usize,
    /// Of the requests, those that read policies and workflows (impact).
    impact_reads: usize,
    resource_units: u64,
    lower_bound: usize,
    elapsed: Duration,
}

/// A plan's reads against the emulator: every declared principal.
async fn emulator_read_row(principals: usize, forced: Option<Route>) -> ReadRow {
    let shape = shape(principals);
    let generated = generate(&shape);
    let yaml = export_single(&generated.desired, &ExportOptions { assignments: true, ..Default::default() })
        .unwrap();
    let desired = load_texts(&[("desired.yaml".to_owned(), yaml)]).unwrap();
    let emulator = emulator_with(&generated.live, Throttle::None).await;
    let tenant = tenant_for(&emulator, ClientOptions { read_route: forced, ..ClientOptions::default() });
    let started = Instant::now();
    let live = tenant.read(&ReadScope::for_desired(&desired)).await.expect("the read succeeds");
    let elapsed = started.elapsed();
    assert_eq!(live.principals.len(), principals, "every principal was read");
    let sent: Vec<_> =
        emulator.requests().into_iter().filter(|request| request.batch_item.is_none()).collect();
    let requests = sent.len();
    let counts = sent
        .iter()
        .filter(|request| {
            request.path.contains("$count")
                || request.query.as_deref().is_some_and(|query| query.contains("$count=true"))
        })
        .count();
    let impact_reads = sent
        .iter()
        .filter(|request| {
            ["/v1.0/identity/", "/v1.0/policies/", "/v1.0/identityGovernance/", "/beta/"]
                .iter()
                .any(|prefix| request.path.starts_with(prefix))
        })
        .count();
    let stats = emulator.stats();
    // Pages of 999 users and of 999 service principals, one list of sets and
    // one of definitions (allowed values expanded).
    let lower_bound = shape.users.div_ceil(999) + shape.service_principals.div_ceil(999) + 2;
    emulator.shutdown().await;
    let route = match forced {
        None => "chosen by the client",
        Some(Route::Batched) => "forced: batched GETs",
        Some(Route::Sweep) => "forced: sweep",
    };
    ReadRow {
        principals,
        route,
        requests,
        counts,
        impact_reads,
        resource_units: stats.resource_units,
        lower_bound,
        elapsed,
    }
}

/// What an apply cost, against its floors.
struct ApplyRow {
    label: &'static str,
    changed_principals: usize,
    writes: u64,
    requests: usize,
    throttled: u64,
    elapsed: Duration,
    /// Writes ÷ the allowed write rate.
    floor: Duration,
}

async fn emulator_apply_row(principals: usize, options: ClientOptions, label: &'static str) -> ApplyRow {
    let generated = generate(&shape(principals));
    let yaml = export_single(&generated.desired, &ExportOptions { assignments: true, ..Default::default() })
        .unwrap();
    let desired = load_texts(&[("desired.yaml".to_owned(), yaml)]).unwrap();
    let emulator = emulator_with(&generated.live, Throttle::Graph).await;
    let tenant = tenant_for(&emulator, options);
    let live = tenant.read(&ReadScope::for_desired(&desired)).await.unwrap();
    let plan = plan::build(&desired, &live, tenant.target());
    let before = emulator.requests().len();
    let writes_before = emulator.stats().writes;
    let throttled_before = emulator.stats().throttled;
    let started = Instant::now();
    let report = tenant.apply(&plan.changes).await;
    let elapsed = started.elapsed();
    assert!(report.succeeded(), "the apply succeeds");
    let stats = emulator.stats();
    let requests =
        emulator.requests().iter().skip(before).filter(|request| request.batch_item.is_none()).count();
    let writes = stats.writes - writes_before;
    // Graph allows 3,000 writes per 150 s per app and tenant; the emulator scales it by 10.
    let allowed_per_second = 3_000.0 * 10.0 / 150.0;
    let floor = Duration::from_secs_f64(writes as f64 / allowed_per_second);
    emulator.shutdown().await;
    ApplyRow {
        label,
        changed_principals: generated.differing_principals,
        writes,
        requests,
        throttled: stats.throttled - throttled_before,
        elapsed,
        floor,
    }
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

pub(crate) fn machine() -> String {
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

/// The local plan's table, and its growth from the first row to the last.
fn local_table(rows: &[LocalRow]) -> String {
    let mut text = String::new();
    text.push_str("| principals | YAML | state file | changes | bare parse (ms) | parser events (ms) | load + validate (ms) | diff + plan (ms) | plan ÷ bare parse | read state file (ms) | whole `plan` process: time (ms) | peak RSS (MB) |\n");
    text.push_str("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for row in rows {
        let ratio = (row.load_validate + row.diff_plan).as_secs_f64() / row.bare_parse.as_secs_f64();
        text.push_str(&format!(
            "| {} | {:.1} MB | {:.1} MB | {} | {} | {} | {} | {} | {:.2}× | {} | {} | {:.0} |\n",
            row.principals,
            row.yaml_bytes as f64 / 1e6,
            row.state_bytes as f64 / 1e6,
            row.changes,
            ms(row.bare_parse),
            ms(row.parser_events),
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

fn report(rows: &[LocalRow], reads: &[ReadRow], applies: &[ApplyRow], quick: bool) -> String {
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
         principals differing between the files and the tenant (`src/model/synthetic.rs`). The files are the \
         desired tenant exported as one YAML file; the tenant is a state file.\n\n",
    );
    text.push_str("## Local plan: load + validate + diff + plan versus a bare YAML parse\n\n");
    text.push_str("Goal: the whole plan (load and validate the YAML, diff, order) within 2× of only parsing the same YAML into a generic value (`serde_json::Value`, with the same limits on nesting, aliases and size); peak memory under 300 MB at 100,000 principals. For scale, `parser events` is the time of only reading the YAML parser's events, with no value built: the floor of any YAML reader built on that parser, which the loader is.\n\n");
    text.push_str(&local_table(rows));
    text.push('\n');
    text.push_str(&reads_section(reads));
    text.push_str(
        "\n## Applying to the emulator (`--throttle graph --throttle-scale 10`, 20 ms latency)\n\n\
         Goals: one write per changed principal; HTTP requests ≤ 1.05 × writes ÷ 20; 429s ≤ 1% of writes; \
         wall time ≤ 1.15 × the throttling floor (writes ÷ 200 writes/s, Graph's 3,000 per 150 s scaled by 10).\n\n",
    );
    text.push_str("| client | changed principals | writes | HTTP requests | requests ÷ (writes ÷ 20) | 429s | time (s) | floor (s) | time ÷ floor |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for row in applies {
        text.push_str(&format!(
            "| {} | {} | {} | {} | {:.2} | {} | {:.1} | {:.1} | {:.2}× |\n",
            row.label,
            row.changed_principals,
            row.writes,
            row.requests,
            row.requests as f64 / (row.writes as f64 / 20.0),
            row.throttled,
            row.elapsed.as_secs_f64(),
            row.floor.as_secs_f64(),
            row.elapsed.as_secs_f64() / row.floor.as_secs_f64(),
        ));
    }
    text
}

/// The heading of the `report` section.
const REPORT_HEADING: &str = "## Who holds what: `entra-csa report`";

/// Runs `entra-csa report` with these arguments in this process (the token
/// from `ENTRA_CSA_ACCESS_TOKEN`), then prints its peak resident memory (kB).
fn measure_report_in_this_process(arguments: &[String]) {
    use clap::Parser;
    use entra_csa::cli::arguments::{Arguments, Command};
    let parsed = Arguments::try_parse_from(
        std::iter::once("entra-csa".to_owned())
            .chain(std::iter::once("report".to_owned()))
            .chain(arguments.iter().cloned()),
    )
    .expect("the report's arguments parse");
    let Command::Report(args) = parsed.command else { unreachable!("a report was asked for") };
    entra_csa::cli::report::run(args).expect("the report succeeds");
    println!("{}", peak_rss_kb());
}

/// One report of a generated tenant, in a process of its own.
struct ReportRow {
    principals: usize,
    source: &'static str,
    requests: Option<(usize, usize)>,
    output_bytes: u64,
    peak_rss_kb: u64,
}

fn report_in_a_process(arguments: &[&str], output: &Path) -> (u64, u64) {
    let measured = std::process::Command::new(std::env::current_exe().unwrap())
        .arg("--measure-report")
        .args(arguments)
        .arg("-o")
        .arg(output)
        .env("ENTRA_CSA_ACCESS_TOKEN", "benchmark")
        .output()
        .expect("the benchmark re-runs itself");
    assert!(measured.status.success(), "{}", String::from_utf8_lossy(&measured.stderr));
    let peak = String::from_utf8_lossy(&measured.stdout).trim().parse().unwrap_or(0);
    (peak, std::fs::metadata(output).map_or(0, |metadata| metadata.len()))
}

/// `report` of every principal as CSV: from the emulator (paged, streamed)
/// and from a state file, at three sizes, with its requests and peak memory.
async fn report_section() -> String {
    let mut rows = Vec::new();
    for principals in [1_000, 10_000, 102_000] {
        eprintln!("report at {principals} principals…");
        let shape = shape(principals);
        let generated = generate(&shape);
        let folder = tempfile::tempdir().unwrap();
        let state = folder.path().join("tenant.json");
        let text = serde_json::to_string(&TenantDocument::from_live_state(&generated.live)).unwrap();
        std::fs::write(&state, text).unwrap();
        let output = folder.path().join("holdings.csv");

        let emulator = emulator_with(&generated.live, Throttle::None).await;
        let url = emulator.base_url();
        let arguments = ["--graph-url", url.as_str()];
        let (peak, bytes) = tokio::task::block_in_place(|| report_in_a_process(&arguments, &output));
        let requests = emulator.requests().iter().filter(|request| request.batch_item.is_none()).count();
        let lower_bound = shape.users.div_ceil(999) + shape.service_principals.div_ceil(999) + 2;
        emulator.shutdown().await;
        rows.push(ReportRow {
            principals,
            source: "Graph (emulator, 20 ms latency)",
            requests: Some((requests, lower_bound)),
            output_bytes: bytes,
            peak_rss_kb: peak,
        });
        let state_text = state.to_str().unwrap().to_owned();
        let (peak, bytes) = report_in_a_process(&["--state", &state_text], &output);
        rows.push(ReportRow {
            principals,
            source: "state file",
            requests: None,
            output_bytes: bytes,
            peak_rss_kb: peak,
        });
    }
    let mut text = format!("{REPORT_HEADING} (`cargo bench --bench scale -- --report`)\n\n");
    text.push_str("Every principal's values as CSV (3 values per principal, the tenant of the tables above), in a process of its own. Goal: from Graph, requests = the pages of 999 users and service principals plus the set and definition lists (no principal read twice), and memory that does not grow with the tenant (one page at a time); from a state file, the memory of reading it whole, as a plan does.\n\n");
    if cfg!(debug_assertions) {
        text.push_str(
            "These figures are from a debug build (`--profile dev`): requests and memory, not times.\n\n",
        );
    }
    text.push_str("| principals | source | HTTP requests | lower bound | CSV written | peak RSS (MB) |\n|---:|---|---:|---:|---:|---:|\n");
    for row in &rows {
        let (requests, bound) = match row.requests {
            Some((requests, bound)) => (requests.to_string(), bound.to_string()),
            None => ("–".to_owned(), "–".to_owned()),
        };
        text.push_str(&format!(
            "| {} | {} | {requests} | {bound} | {:.1} MB | {:.0} |\n",
            row.principals,
            row.source,
            row.output_bytes as f64 / 1_048_576.0,
            row.peak_rss_kb as f64 / 1024.0,
        ));
    }
    text
}
