//! Exists to prove that throttling and faults do not change the outcome at
//! the sizes users have, not only on the Contoso example: an apply of 420
//! principals to a new tenant (5 sets, 45 definitions, 1,260 assignments:
//! 470 writes) under 10 % faults, through a throttling storm mid-apply and
//! through an outage, each against the emulator over loopback.
//!
//! What is scaled down so the suite stays short, and nothing else: the
//! emulator's `Retry-After` values (×0.05), the storm's and the outage's
//! length, the client's retry policy (the production one ×0.1: the same
//! rule, waits and budgets a tenth as long) and its write budget (×10, as
//! `--throttle-scale 10` does). `ENTRA_CSA_SCALE_SEEDS=N` runs N fault seeds
//! instead of one.

use std::collections::BTreeSet;
use std::time::Duration;

use entra_csa::desired::export::{ExportOptions, export_single};
use entra_csa::desired::load::load_texts;
use entra_csa::emulator::document::StateDocument;
use entra_csa::emulator::{EmulatorConfig, Window};
use entra_csa::graph::ClientOptions;
use entra_csa::graph::retry::RetryPolicy;
use entra_csa::graph::wire::TenantDocument;
use entra_csa::model::DesiredState;
use entra_csa::model::live::LiveState;
use entra_csa::model::synthetic::{Shape, fresh, generate};
use entra_csa::tenant::{Outcome, Tenant};

use crate::graph_support::*;

/// 412 users and 8 service principals, 5 sets of 9 attributes, 3 values each.
fn shape() -> Shape {
    Shape { users: 412, service_principals: 8, sets: 5, definitions_per_set: 9, ..Shape::default() }
}

/// The files and the new tenant they are applied to.
fn scenario() -> (DesiredState, StateDocument) {
    let generated = generate(&shape());
    let yaml = export_single(&generated.desired, &ExportOptions { assignments: true, ..Default::default() })
        .expect("the synthetic tenant exports");
    let desired = load_texts(&[("desired.yaml".to_owned(), yaml)]).expect("the export is valid");
    (desired, seed_of(&TenantDocument::from_live_state(&fresh(&generated.live))))
}

/// The production client, its retries a tenth as long, paced for a quota ten times Graph's.
fn options() -> ClientOptions {
    let defaults = ClientOptions::default();
    ClientOptions {
        retry: RetryPolicy::default().scaled(0.1),
        replication: defaults.replication.scaled(0.1),
        write_budget: defaults.write_budget * 10,
        request_timeout: Duration::from_secs(10),
        ..defaults
    }
}

/// What a fault-free apply of the files ends in.
async fn fault_free_end_state(desired: &DesiredState, seed: &StateDocument) -> LiveState {
    let clean = emulator(EmulatorConfig { seed_state: seed.clone(), ..Default::default() }).await;
    apply_and_converge(&tenant_with(&clean, "test-token", options()), desired).await;
    let state = live_of(&clean.state());
    clean.shutdown().await;
    state
}

fn seeds() -> u64 {
    std::env::var("ENTRA_CSA_SCALE_SEEDS").ok().and_then(|text| text.parse().ok()).unwrap_or(1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reliability_an_apply_of_420_principals_under_10_percent_faults_converges_with_nothing_failed() {
    let (desired, seed_state) = scenario();
    let expected = fault_free_end_state(&desired, &seed_state).await;
    for seed in 1..=seeds() {
        let faulty = emulator(EmulatorConfig {
            seed_state: seed_state.clone(),
            fault_rate: 0.1,
            seed,
            retry_after_scale: 0.05,
            ..Default::default()
        })
        .await;
        let client = tenant_with(&faulty, "test-token", options());
        let plan = apply_and_converge(&client, &desired).await;
        assert!(plan.changes.len() > 1_300, "the apply is of the intended size: {}", plan.changes.len());
        assert_eq!(live_of(&faulty.state()), expected, "seed {seed}: not the fault-free end state");
        let stats = faulty.stats();
        assert!(stats.faults >= 40, "seed {seed}: too few faults met: {stats:?}");
        assert!(stats.faults_by_kind.contains_key("TooManyRequests"), "{stats:?}");
        faulty.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reliability_a_throttling_storm_mid_apply_pauses_every_writer_and_the_apply_converges() {
    let (desired, seed_state) = scenario();
    let expected = fault_free_end_state(&desired, &seed_state).await;
    let stormy = emulator(EmulatorConfig {
        seed_state,
        storm: Some(Window { after_writes: 150, duration: Duration::from_secs(1) }),
        storm_retry_after: Duration::from_millis(200),
        ..Default::default()
    })
    .await;
    let client = tenant_with(&stormy, "test-token", options());
    apply_and_converge(&client, &desired).await;
    assert_eq!(live_of(&stormy.state()), expected);
    let stats = stormy.stats();
    assert!(stats.storm_refusals > 0, "the storm met the apply: {stats:?}");
    // Writers pause together: the storm refuses what was in flight when it
    // began (4 batches of 20) and one probe per pause (at most 5 in 1 s),
    // not every writer retrying on its own.
    assert!(stats.storm_refusals <= 4 * 20 + 5 * 20, "writers kept writing into the storm: {stats:?}");
    stormy.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reliability_an_outage_ends_the_apply_with_a_true_report_and_the_next_apply_finishes_the_job() {
    let (desired, seed_state) = scenario();
    let expected = fault_free_end_state(&desired, &seed_state).await;
    // Down long enough to spend the (shortened) retry budget: 18 s of own time.
    let down = emulator(EmulatorConfig {
        seed_state,
        outage: Some(Window { after_writes: 200, duration: Duration::from_secs(3_600) }),
        ..Default::default()
    })
    .await;
    let client = tenant_with(
        &down,
        "test-token",
        ClientOptions { retry: RetryPolicy::default().scaled(0.01), ..options() },
    );
    let plan = plan_of(&client, &desired).await;
    let report = client.apply(&plan.changes).await;
    assert!(!report.succeeded());
    let done = report.count(|outcome| *outcome == Outcome::Done);
    let failed = report.count(|outcome| matches!(outcome, Outcome::Failed(_)));
    let not_attempted = report.count(|outcome| *outcome == Outcome::NotAttempted);
    assert!(
        done > 0 && failed > 0 && not_attempted > 0,
        "{done} done, {failed} failed, {not_attempted} not attempted"
    );
    let failure = report
        .outcomes
        .iter()
        .find_map(|outcome| match &outcome.result {
            Outcome::Failed(message) => Some(message.clone()),
            _ => None,
        })
        .unwrap();
    assert!(failure.contains("503"), "the failure says what Graph answered: {failure}");
    // The report is true: what it calls done is in the tenant, the rest is not.
    let state = live_of(&down.state());
    let left: BTreeSet<String> = entra_csa::plan::build(&desired, &state, client.target())
        .changes
        .iter()
        .map(|change| change.address.to_string())
        .collect();
    let not_done: BTreeSet<String> = report
        .outcomes
        .iter()
        .filter(|outcome| outcome.result != Outcome::Done)
        .map(|outcome| outcome.address.clone())
        .collect();
    assert_eq!(left, not_done, "the report and the tenant disagree");
    down.shutdown().await;
    // Graph is back: the next apply, from that tenant, finishes the job.
    let back = emulator(EmulatorConfig {
        seed_state: seed_of(&TenantDocument::from_live_state(&state)),
        ..Default::default()
    })
    .await;
    apply_and_converge(&tenant_with(&back, "test-token", options()), &desired).await;
    assert_eq!(live_of(&back.state()), expected);
    back.shutdown().await;
}
