//! The write pacer's rows of BENCHMARKS.md: applies against the emulator at
//! Graph's real write quota (`--throttle graph`, 20 ms latency). An apply
//! of 1,000 and of 2,900 writes on an unused quota, each beside the same
//! writes sent with pacing switched off (`ClientOptions::pace_writes`: the
//! same batches of 20 and 4 in flight); an apply of 10,000 writes against
//! the floor of the quota, (writes − 3,000) ÷ 20 per second; and an apply
//! of 1,000,000 writes against the quota scaled by 100 (a fresh emulator
//! each). Each principal gets one value it did not hold: one PATCH each.

use std::time::{Duration, Instant};

use entra_csa::emulator::document::StateDocument;
use entra_csa::emulator::{EmulatorConfig, Throttle, start};
use entra_csa::graph::ClientOptions;
use entra_csa::graph::wire::TenantDocument;
use entra_csa::model::live::LiveState;
use entra_csa::model::synthetic::{Shape, generate};
use entra_csa::model::{AttributeSet, DesiredState, PrincipalKey, PrincipalKind};
use entra_csa::plan;
use entra_csa::tenant::Tenant;

/// The heading of the section.
pub const HEADING: &str = "## Applying at Graph's write quota";

/// Latency of every emulator request, as in the other apply rows.
const LATENCY: Duration = Duration::from_millis(20);

/// Graph's write quota: 3,000 writes per 150 s per app and tenant.
const QUOTA: f64 = 3_000.0;
const REFILL_PER_SECOND: f64 = QUOTA / 150.0;

/// `users` users, each holding one value the files change (but about one in
/// a million, whose redrawn value happened to equal the old one).
fn scenario(users: usize) -> (DesiredState, LiveState) {
    let generated = generate(&Shape {
        users,
        service_principals: 0,
        sets: 1,
        definitions_per_set: 4,
        assignments_per_principal: 1,
        differing_share: 1.0,
        seed: 31,
    });
    (desired_of(&generated.desired), generated.live)
}

/// The files that declare `tenant` as it is: its sets, definitions and
/// every user's values (built directly: a million principals through YAML
/// would measure the loader, not the pacer).
fn desired_of(tenant: &LiveState) -> DesiredState {
    let mut desired = DesiredState::default();
    for (id, set) in &tenant.attribute_sets {
        desired.attribute_sets.insert(
            id.clone(),
            AttributeSet {
                id: id.clone(),
                description: set.description.clone(),
                max_attributes_per_set: set.max_attributes_per_set,
                attributes: Default::default(),
            },
        );
    }
    for definition in tenant.definitions.values() {
        if let Some(set) = desired.attribute_sets.get_mut(&definition.attribute_set) {
            set.attributes.insert(definition.name.clone(), definition.clone());
        }
    }
    for principal in tenant.principals.values().filter(|principal| principal.kind == PrincipalKind::User) {
        if let (Some(upn), Some(values)) =
            (&principal.user_principal_name, &principal.custom_security_attributes)
        {
            desired.assignments.insert(PrincipalKey::User(upn.clone()), values.clone());
        }
    }
    desired
}

/// One apply on a fresh emulator at `scale` × Graph's quota.
struct Run {
    writes: u64,
    throttled: u64,
    wall: Duration,
    /// When the emulator had the first write (to half a second).
    first_write: Duration,
    succeeded: bool,
}

async fn apply(desired: &DesiredState, live: &LiveState, scale: f64, pace_writes: bool) -> Run {
    let emulator = start(EmulatorConfig {
        seed_state: StateDocument::from_shape(&TenantDocument::from_live_state(live))
            .expect("one JSON shape"),
        latency: LATENCY,
        throttle: Throttle::Graph,
        throttle_scale: scale,
        // The counters are all these rows read: a log of every request and
        // its body would hold gigabytes at a million writes.
        keep_request_log: false,
        ..EmulatorConfig::default()
    })
    .await
    .expect("the emulator starts");
    let options =
        ClientOptions { write_budget: (QUOTA * scale) as u32, pace_writes, ..ClientOptions::default() };
    let tenant = super::tenant_for(&emulator, options);
    // Planned against the tenant as generated, which the emulator holds.
    let changes = plan::build(desired, live, tenant.target()).changes;
    // Every user's value differs (a random redraw may, about once in a
    // million, draw the same value again: that user has no change).
    assert!(changes.len() * 1000 >= live.principals.len() * 999, "one change per user: {}", changes.len());
    let started = Instant::now();
    tracing::debug!("pacing: apply of {} changes begins", changes.len());
    // The writes the emulator had every half second: when the first came,
    // and where a long apply's time goes.
    let apply = tenant.apply(&changes);
    tokio::pin!(apply);
    let mut samples: Vec<(Duration, u64)> = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    let report = loop {
        tokio::select! {
            report = &mut apply => break report,
            _ = tick.tick() => {
                let writes = emulator.stats().writes;
                if writes > 0 && samples.last().is_none_or(|(_, before)| *before == 0) {
                    tracing::debug!("pacing: the emulator had its first write at {:?}", started.elapsed());
                }
                samples.push((started.elapsed(), writes));
            }
        }
    };
    let wall = started.elapsed();
    let first_write = samples.iter().find(|(_, writes)| *writes > 0).map(|(at, _)| *at);
    if samples.len() > 60 {
        let every = samples.len() / 12;
        let shown: Vec<String> = samples
            .iter()
            .step_by(every.max(1))
            .map(|(at, writes)| format!("{:.0} s: {writes}", at.as_secs_f64()))
            .collect();
        eprintln!("pacing: writes received by the emulator at {}", shown.join(", "));
    }
    let stats = emulator.stats();
    emulator.shutdown().await;
    Run {
        writes: stats.writes,
        throttled: stats.throttled,
        wall,
        first_write: first_write.unwrap_or(wall),
        succeeded: report.succeeded(),
    }
}

fn pass(met: bool) -> &'static str {
    if met { "met" } else { "NOT MET" }
}

/// The section, measured now; `cases` picks rows (`small`, `window`, `million`).
pub async fn section_of(cases: &[String]) -> String {
    let wants = |case: &str| cases.iter().any(|wanted| wanted == case);
    let load_before = super::common::load_average();
    let mut text = format!(
        "{HEADING} (`cargo bench --bench scale -- --pacing`)\n\n\
         Applies to the emulator on loopback at Graph's documented write quota (`--throttle graph`: a token \
         bucket of 3,000 writes refilled at 20 a second, full on an unused quota), every request waiting \
         {} ms. Each user gets one value it did not hold: one PATCH each, in `$batch`es of 20, 4 in flight, \
         the first write alone. \"Unpaced\" is the same client with pacing switched off \
         (`ClientOptions::pace_writes`: the same batches and concurrency, waiting only for a `Retry-After`). \
         The floor is what the quota admits: (writes − 3,000 × scale) ÷ (20 × scale) per second. A fresh \
         emulator for every apply; release build, on {}. Load average (1, 5, 15 min) before: {load_before}.\n\n",
        LATENCY.as_millis(),
        super::machine(),
    );
    text.push_str("| case | quota | writes | time (s) | compared with | ratio | 429s | goal | result |\n");
    text.push_str("|---|---|---:|---:|---|---:|---:|---|---|\n");
    for users in [1_000, 2_900].into_iter().filter(|_| wants("small")) {
        eprintln!("pacing: {users} writes, paced and unpaced…");
        let (desired, live) = scenario(users);
        let paced = apply(&desired, &live, 1.0, true).await;
        let unpaced = apply(&desired, &live, 1.0, false).await;
        let ratio = paced.wall.as_secs_f64() / unpaced.wall.as_secs_f64();
        text.push_str(&format!(
            "| {users} writes on an unused quota | Graph's | {} | {:.2} | unpaced: {:.2} s, {} 429s | {ratio:.2}× | {} | ≤ 1.2 × unpaced, 0 429s | {} |\n",
            paced.writes,
            paced.wall.as_secs_f64(),
            unpaced.wall.as_secs_f64(),
            unpaced.throttled,
            paced.throttled,
            pass(ratio <= 1.2 && paced.throttled == 0 && paced.succeeded && unpaced.succeeded),
        ));
    }
    for (users, scale, label) in [(10_000, 1.0, "window"), (1_000_000, 100.0, "million")] {
        if !wants(label) {
            continue;
        }
        eprintln!("pacing: {users} writes at {scale} × the quota…");
        let (desired, live) = scenario(users);
        let run = apply(&desired, &live, scale, true).await;
        let floor = (run.writes as f64 - QUOTA * scale) / (REFILL_PER_SECOND * scale);
        let ratio = run.wall.as_secs_f64() / floor;
        // The apply prepares its writes before the first is sent (seconds
        // at a million changes): the pacer's part is from the first write.
        let writing = run.wall.saturating_sub(run.first_write).as_secs_f64() / floor;
        let quota = if scale == 1.0 {
            "Graph's".to_owned()
        } else {
            format!("×{scale:.0} (`--throttle-scale {scale:.0}`)")
        };
        text.push_str(&format!(
            "| {users} writes, past the first window | {quota} | {} | {:.1} (first write after {:.1}) | the floor: {floor:.1} s | {ratio:.3}× (from the first write: {writing:.3}×) | {} | ≤ 1.05 × the floor | {} |\n",
            run.writes,
            run.wall.as_secs_f64(),
            run.first_write.as_secs_f64(),
            run.throttled,
            pass(ratio <= 1.05 && run.succeeded),
        ));
    }
    text.push_str(&format!("\nLoad average (1, 5, 15 min) after: {}.\n", super::common::load_average()));
    text
}

/// Every row.
pub async fn section() -> String {
    section_of(&["small", "window", "million"].map(str::to_owned)).await
}
