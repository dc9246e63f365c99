//! The throttling and fault rows of BENCHMARKS.md: an apply of
//! 420 principals to a new tenant (5 sets, 45 definitions, 1,260
//! assignments: 470 writes) against the emulator on loopback, fault-free
//! and, side by side in the same run, through a 10 s storm, under 10 %
//! faults (5 seeds), with the quota shared with a second app, and through an
//! outage. The production client throughout, at Graph's real write quota,
//! except where a row says what it scales.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use entra_csa::desired::export::{ExportOptions, export_single};
use entra_csa::desired::load::load_texts;
use entra_csa::emulator::document::StateDocument;
use entra_csa::emulator::{EmulatorConfig, RunningEmulator, Throttle, Window, start};
use entra_csa::graph::endpoint::Cloud;
use entra_csa::graph::wire::TenantDocument;
use entra_csa::graph::{BearerToken, ClientOptions, GraphTenant, TokenSource, endpoint};
use entra_csa::model::DesiredState;
use entra_csa::model::live::LiveState;
use entra_csa::model::synthetic::{Shape, fresh, generate};
use entra_csa::plan;
use entra_csa::tenant::{ApplyReport, Outcome, ReadScope, Tenant};

/// The storm the benchmark injects: every write 429 with `Retry-After: 2` for 10 s.
const STORM: Duration = Duration::from_secs(10);
const STORM_RETRY_AFTER: Duration = Duration::from_secs(2);
/// What 10 % faults may add to an apply, beyond 1.5 × the fault-free wall.
/// The fault-free apply spends the quota's window at once (well under a
/// second), so a ratio alone would forbid a single backoff wait. The 470
/// writes go as 28 batches of up to 20, in about 10 rounds of 4 in flight
/// over the apply's three steps; at 10 % a batch of 20 meets a fault more
/// often than not, and a round waits for its slowest batch: one backoff or
/// `Retry-After` of up to 1 s a round.
const FAULTS_ALLOWANCE: Duration = Duration::from_secs(10);
/// The outage is Graph's 5 minutes, and the client's retry policy, both ×0.1.
const OUTAGE_SCALE: f64 = 0.1;
const OUTAGE: Duration = Duration::from_secs(300);

fn scenario(users: usize) -> (DesiredState, StateDocument) {
    let shape = Shape { users, service_principals: 8, sets: 5, definitions_per_set: 9, ..Shape::default() };
    let generated = generate(&shape);
    let yaml = export_single(&generated.desired, &ExportOptions { assignments: true, ..Default::default() })
        .expect("the synthetic tenant exports");
    let desired = load_texts(&[("desired.yaml".to_owned(), yaml)]).expect("valid");
    (desired, seed_of(&fresh(&generated.live)))
}

fn tenant_for(emulator: &RunningEmulator, options: ClientOptions) -> GraphTenant {
    let endpoint = endpoint::resolve(Cloud::Global, Some(&emulator.base_url()), false).unwrap();
    GraphTenant::new(endpoint, TokenSource::Fixed(BearerToken::new("benchmark")), options, None).unwrap()
}

/// One apply: its report, wall time and the end state.
struct Run {
    report: ApplyReport,
    wall: Duration,
    writes: u64,
    throttled: u64,
    end: LiveState,
    finished: Instant,
    /// Changes a plan finds afterwards.
    left: BTreeSet<String>,
}

async fn apply(
    config: EmulatorConfig,
    desired: &DesiredState,
    options: ClientOptions,
) -> (Run, RunningEmulator) {
    let emulator = start(config).await.expect("the emulator starts");
    let tenant = tenant_for(&emulator, options);
    let live = tenant.read(&ReadScope::for_desired(desired)).await.expect("the read succeeds");
    let changes = plan::build(desired, &live, tenant.target()).changes;
    let started = Instant::now();
    let report = tenant.apply(&changes).await;
    let wall = started.elapsed();
    let finished = Instant::now();
    let stats = emulator.stats();
    let end = live_of(&emulator.state());
    let left =
        plan::build(desired, &end, tenant.target()).changes.iter().map(|c| c.address.to_string()).collect();
    (Run { report, wall, writes: stats.writes, throttled: stats.throttled, end, finished, left }, emulator)
}

fn counts(report: &ApplyReport) -> (usize, usize, usize) {
    (
        report.count(|outcome| *outcome == Outcome::Done),
        report.count(|outcome| matches!(outcome, Outcome::Failed(_))),
        report.count(|outcome| *outcome == Outcome::NotAttempted),
    )
}

/// The section of BENCHMARKS.md, measured now.
pub async fn section() -> String {
    section_of(&["storm", "faults", "shared", "outage"].map(str::to_owned)).await
}

/// The fault-free row and the rows of `cases` (`storm`, `faults`, `shared`, `outage`).
pub async fn section_of(cases: &[String]) -> String {
    let wants = |case: &str| cases.iter().any(|wanted| wanted == case);
    let load_average = super::common::load_average();
    let (desired, seed_state) = scenario(412);
    let base = EmulatorConfig { seed_state: seed_state.clone(), ..EmulatorConfig::default() };
    let production = ClientOptions::default();

    eprintln!("reliability: fault-free apply of 420 principals…");
    let (clean, emulator) = apply(base.clone(), &desired, production.clone()).await;
    emulator.shutdown().await;
    assert!(clean.report.succeeded(), "the fault-free apply succeeds");
    let changes = clean.report.outcomes.len();

    let mut text = String::new();
    text.push_str(&format!(
        "## Throttling and faults: an apply of 420 principals (`cargo bench --bench scale -- --reliability`)\n\n\
         A new tenant gets 5 sets, 45 definitions and 1,260 assignments ({changes} changes, {} writes) from the \
         emulator on loopback, with the production client paced at Graph's real write quota (3,000 per 150 s; \
         the pacer spends up to 2,940 writes of an unused quota at once, then 19.6 per second). Every row ran side by side in one process; the \
         ratios compare with the fault-free row of the same run. Release build, on {}; load average {} when it \
         started.\n\n",
        clean.writes,
        super::machine(),
        load_average,
    ));
    text.push_str("| case | goal | wall (s) | ratio | writes | 429s | done / failed / not attempted | end state | result |\n");
    text.push_str("|---|---|---:|---:|---:|---:|---|---|---|\n");
    let (d, f, n) = counts(&clean.report);
    text.push_str(&format!(
        "| fault-free | — | {:.2} | 1.00× | {} | {} | {d} / {f} / {n} | reference | — |\n",
        clean.wall.as_secs_f64(),
        clean.writes,
        clean.throttled
    ));

    if wants("storm") {
        eprintln!("reliability: a 10 s storm…");
        let (storm, emulator) = apply(
            EmulatorConfig {
                storm: Some(Window { after_writes: 150, duration: STORM }),
                storm_retry_after: STORM_RETRY_AFTER,
                ..base.clone()
            },
            &desired,
            production.clone(),
        )
        .await;
        let storm_refusals = emulator.stats().storm_refusals;
        emulator.shutdown().await;
        // After the storm, the first probe may wait one Retry-After.
        let storm_goal =
            STORM.as_secs_f64() + (1.3 * clean.wall.as_secs_f64()).max(STORM_RETRY_AFTER.as_secs_f64());
        let (d, f, n) = counts(&storm.report);
        text.push_str(&format!(
            "| every write 429 (`Retry-After: 2`) for 10 s, from the 151st write | wall ≤ storm + 1.3 × fault-free, or + one `Retry-After` if longer = {storm_goal:.1} s | {:.1} | {:.2}× | {} | {} ({storm_refusals} by the storm) | {d} / {f} / {n} | {} | {} |\n",
            storm.wall.as_secs_f64(),
            storm.wall.as_secs_f64() / clean.wall.as_secs_f64(),
            storm.writes,
            storm.throttled,
            if storm.end == clean.end { "equal" } else { "DIFFERENT" },
            pass(storm.wall.as_secs_f64() <= storm_goal && storm.report.succeeded() && storm.end == clean.end),
        ));
    }

    for seed in (1..=5).filter(|_| wants("faults")) {
        eprintln!("reliability: 10% faults, seed {seed}…");
        let (run, emulator) =
            apply(EmulatorConfig { fault_rate: 0.1, seed, ..base.clone() }, &desired, production.clone())
                .await;
        let faults = emulator.stats().faults;
        emulator.shutdown().await;
        let (d, f, n) = counts(&run.report);
        let ratio = run.wall.as_secs_f64() / clean.wall.as_secs_f64();
        let goal =
            (1.5 * clean.wall.as_secs_f64()).max(clean.wall.as_secs_f64() + FAULTS_ALLOWANCE.as_secs_f64());
        text.push_str(&format!(
            "| 10 % faults (`--fault-rate 0.1 --seed {seed}`: {faults} faults) | ≤ 1.5 × fault-free, or fault-free + {} s if longer = {goal:.1} s; 0 failed, same end state | {:.1} | {ratio:.2}× | {} | {} | {d} / {f} / {n} | {} | {} |\n",
            FAULTS_ALLOWANCE.as_secs(),
            run.wall.as_secs_f64(),
            run.writes,
            run.throttled,
            if run.end == clean.end { "equal" } else { "DIFFERENT" },
            pass(run.wall.as_secs_f64() <= goal && f == 0 && n == 0 && run.end == clean.end),
        ));
    }

    if wants("shared") {
        // The shared quota: 2,000 principals at --throttle-scale 10 (the client
        // told the scaled quota), a second app using half of it.
        eprintln!("reliability: quota shared with a second app…");
        let (big, big_seed) = scenario(1_992);
        let scaled = ClientOptions { write_budget: production.write_budget * 10, ..production.clone() };
        let (shared, emulator) = apply(
            EmulatorConfig {
                seed_state: big_seed,
                throttle: Throttle::Graph,
                throttle_scale: 10.0,
                other_app_share: 0.5,
                ..EmulatorConfig::default()
            },
            &big,
            scaled,
        )
        .await;
        emulator.shutdown().await;
        let half_left = 3_000.0 * 10.0 / 150.0 * 0.5;
        let shared_rate = shared.writes as f64 / shared.wall.as_secs_f64();
        let (d, f, n) = counts(&shared.report);
        let rate_ratio = shared_rate / half_left;
        let throttled_share = shared.throttled as f64 / shared.writes as f64;
        text.push_str(&format!(
            "| quota shared with a second app using half of it (2,000 principals, `--throttle graph --throttle-scale 10 --other-app-share 0.5`; the client told the ×10 quota) | writes/s within 10 % of the half left ({half_left:.0}/s); 429s ≤ 1 % of writes | {:.1} | {shared_rate:.1} writes/s = {rate_ratio:.2}× the half left | {} | {} ({:.2} %) | {d} / {f} / {n} | — | {} |\n",
            shared.wall.as_secs_f64(),
            shared.writes,
            shared.throttled,
            throttled_share * 100.0,
            pass((0.9..=1.1).contains(&rate_ratio) && throttled_share <= 0.01 && shared.report.succeeded()),
        ));
    }

    if wants("outage") {
        eprintln!("reliability: an outage mid-apply…");
        text.push_str(&outage_row(&desired, &base, &production, &clean).await);
    }
    text
}

/// The outage row: Graph down for 5 minutes (×0.1) from the 201st write, then the next apply.
async fn outage_row(
    desired: &DesiredState,
    base: &EmulatorConfig,
    production: &ClientOptions,
    clean: &Run,
) -> String {
    let outage_options = ClientOptions {
        retry: production.retry.scaled(OUTAGE_SCALE),
        replication: production.replication.scaled(OUTAGE_SCALE),
        request_timeout: production.request_timeout.mul_f64(OUTAGE_SCALE),
        ..production.clone()
    };
    let bound = (production.retry.max_total_delay + production.request_timeout).mul_f64(OUTAGE_SCALE);
    let (outage, emulator) = apply(
        EmulatorConfig {
            outage: Some(Window { after_writes: 200, duration: OUTAGE.mul_f64(OUTAGE_SCALE) }),
            ..base.clone()
        },
        desired,
        outage_options,
    )
    .await;
    let began = emulator.outage_began().expect("the outage began");
    let report_after = outage.finished.saturating_duration_since(began);
    emulator.shutdown().await;
    let not_done: BTreeSet<String> = outage
        .report
        .outcomes
        .iter()
        .filter(|outcome| outcome.result != Outcome::Done)
        .map(|outcome| outcome.address.clone())
        .collect();
    let report_true = not_done == outage.left;
    let (rerun, emulator) = apply(
        EmulatorConfig { seed_state: seed_of(&outage.end), ..EmulatorConfig::default() },
        desired,
        production.clone(),
    )
    .await;
    emulator.shutdown().await;
    let (d, f, n) = counts(&outage.report);
    format!(
        "| Graph down (every request 503) for 5 min from the 201st write; time and retry policy ×{OUTAGE_SCALE} | exits with a failure within the README's bound (180 s + 60 s, ×{OUTAGE_SCALE} = {:.0} s after Graph went down); a true report; the next apply finishes | failed {:.1} s after Graph went down | — | {} | {} | {d} / {f} / {n}; {} | next apply: {} | {} |\n",
        bound.as_secs_f64(),
        report_after.as_secs_f64(),
        outage.writes,
        outage.throttled,
        if report_true {
            "what it calls done is in the tenant, the rest is what a plan finds left"
        } else {
            "REPORT DISAGREES WITH THE TENANT"
        },
        if rerun.report.succeeded() && rerun.end == clean.end {
            "succeeded, end state equal"
        } else {
            "DID NOT FINISH"
        },
        pass(
            !outage.report.succeeded()
                && report_after <= bound
                && report_true
                && rerun.report.succeeded()
                && rerun.end == clean.end
        ),
    )
}

fn pass(met: bool) -> &'static str {
    if met { "met" } else { "NOT MET" }
}

/// A live state as an emulator seed (the emulator reads the client's shapes only through their JSON).
fn seed_of(live: &LiveState) -> StateDocument {
    StateDocument::from_shape(&TenantDocument::from_live_state(live)).expect("one JSON shape")
}

/// The emulator's state as the client reads it.
fn live_of(document: &StateDocument) -> LiveState {
    document.to_shape::<TenantDocument>().expect("one JSON shape").into_live_state().expect("a valid state")
}
