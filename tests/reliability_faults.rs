//! Exists to prove that faults never change the outcome of an apply: under
//! every fault the emulator injects (429 with and without `Retry-After`, 503,
//! connection resets, answers slower than the client's timeout, connections
//! reset after the write, batch items answered 503 after they were applied),
//! an apply of the Contoso change ends in exactly the state a fault-free
//! apply reaches, creates no object twice, and a plan afterwards is empty.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use entra_csa::emulator::document::StateDocument;
use entra_csa::emulator::{EmulatorConfig, RecordedRequest, RunningEmulator};
use entra_csa::model::live::LiveState;
use entra_csa::tenant::Tenant;
use serde_json::Value;

use crate::graph_support::*;

/// Seeds run per starting tenant; at least 20 on the Contoso change.
const CONTOSO_SEEDS: std::ops::RangeInclusive<u64> = 1..=20;
const EMPTY_SEEDS: std::ops::RangeInclusive<u64> = 101..=108;

/// The client gives up on an answer after this; the emulator's slow answers take longer.
const CLIENT_TIMEOUT: Duration = Duration::from_millis(300);
const SLOW_ANSWER: Duration = Duration::from_millis(700);

/// What a create names: its collection and the new object's id or name.
fn created_object(request: &RecordedRequest) -> String {
    let body = request.body.as_ref().cloned().unwrap_or(Value::Null);
    let name = match (&body["id"], &body["attributeSet"], &body["name"]) {
        (Value::String(id), _, _) => id.clone(),
        (_, Value::String(set), Value::String(name)) => format!("{set}_{name}"),
        _ => body.to_string(),
    };
    format!("{} {name}", request.path)
}

/// Successful creates per object, from the request log.
pub fn creates_per_object(requests: &[RecordedRequest]) -> BTreeMap<String, usize> {
    let mut creates = BTreeMap::new();
    for request in
        requests.iter().filter(|request| request.method == "POST" && !request.path.ends_with("$batch"))
    {
        let entry = creates.entry(created_object(request)).or_insert(0);
        if (200..300).contains(&request.status) {
            *entry += 1;
        }
    }
    creates
}

pub async fn clean_state(seed: StateDocument, example: &str) -> LiveState {
    let clean = emulator(EmulatorConfig { seed_state: seed, ..Default::default() }).await;
    apply_and_converge(&tenant(&clean), &desired(example)).await;
    let state = live_of(&clean.state());
    clean.shutdown().await;
    state
}

struct Run {
    faults_by_kind: BTreeMap<String, u64>,
    /// Creates sent again after their first attempt had succeeded (and were refused).
    repeated_creates: usize,
}

async fn faulty_apply(seed_state: StateDocument, seed: u64, expected: &LiveState) -> Run {
    let faulty: RunningEmulator = emulator(EmulatorConfig {
        seed_state,
        fault_rate: 0.1,
        seed,
        lost_answers: true,
        slow_answer: SLOW_ANSWER,
        page_size: 3,
        ..Default::default()
    })
    .await;
    let mut options = fast_options();
    options.request_timeout = CLIENT_TIMEOUT;
    let client = tenant_with(&faulty, "test-token", options);
    let desired = desired("examples/contoso.yaml");
    apply_and_converge(&client, &desired).await;
    assert_eq!(&live_of(&faulty.state()), expected, "seed {seed}: not the clean end state");

    let requests = faulty.requests();
    let creates = creates_per_object(&requests);
    for (object, count) in &creates {
        assert!(*count <= 1, "seed {seed}: {object} was created {count} times");
    }
    // Creates sent again after an attempt that had succeeded, and refused as duplicates.
    let mut created = BTreeSet::new();
    let mut repeated_creates = 0;
    for request in
        requests.iter().filter(|request| request.method == "POST" && !request.path.ends_with("$batch"))
    {
        let object = created_object(request);
        if (200..300).contains(&request.status) {
            created.insert(object);
        } else if created.contains(&object) && matches!(request.status, 400 | 409) {
            repeated_creates += 1;
        }
    }
    // A plan afterwards reads the same tenant and has nothing to do.
    let after = plan_of(&client, &desired).await;
    assert!(after.changes.is_empty(), "seed {seed}: {:#?}", after.changes);
    let _ = client.target();
    let stats = faulty.stats();
    assert_eq!(stats.deletes, 0);
    faulty.shutdown().await;
    Run { faults_by_kind: stats.faults_by_kind, repeated_creates }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reliability_every_fault_kind_over_many_seeds_ends_in_the_clean_state_and_creates_nothing_twice() {
    let contoso_expected = clean_state(contoso_seed(), "examples/contoso.yaml").await;
    let empty_expected = clean_state(empty_seed(), "examples/contoso.yaml").await;
    let mut runs = tokio::task::JoinSet::new();
    for seed in CONTOSO_SEEDS {
        let expected = contoso_expected.clone();
        runs.spawn(async move { faulty_apply(contoso_seed(), seed, &expected).await });
    }
    for seed in EMPTY_SEEDS {
        let expected = empty_expected.clone();
        runs.spawn(async move { faulty_apply(empty_seed(), seed, &expected).await });
    }
    let mut kinds: BTreeMap<String, u64> = BTreeMap::new();
    let mut repeated_creates = 0;
    while let Some(run) = runs.join_next().await {
        let run = run.unwrap_or_else(|error| std::panic::resume_unwind(error.into_panic()));
        for (kind, count) in run.faults_by_kind {
            *kinds.entry(kind).or_default() += count;
        }
        repeated_creates += run.repeated_creates;
    }
    let met: BTreeSet<&str> = kinds.keys().map(String::as_str).collect();
    for kind in [
        "TooManyRequests",
        "TooManyRequestsWithoutRetryAfter",
        "ServiceUnavailable",
        "ConnectionReset",
        "SlowAnswer",
        "ResetAfterWrite",
        "UnavailableAfterWrite",
    ] {
        assert!(met.contains(kind), "fault {kind} was never injected: {kinds:?}");
    }
    // The faults that hide a done create did hide some, and each was settled
    // by reading back instead of creating again.
    assert!(repeated_creates > 0, "no create was ever sent twice: the lost answers were not exercised");
}

/// The same faults from the `entra-csa emulator` command a person runs:
/// `--lost-answers` and `--slow-answer-ms` reach the injector, and the real
/// binary's apply still converges under them.
#[test]
fn reliability_the_emulator_command_injects_lost_answers_and_an_apply_still_converges() {
    use crate::reliability_support::{SpawnedEmulator, apply_contoso, planned_changes, run};
    let emulator = SpawnedEmulator::contoso(&[
        "--fault-rate",
        "0.15",
        "--seed",
        "11",
        "--lost-answers",
        "--slow-answer-ms",
        "50",
    ]);
    let (code, stdout, stderr) = run(&mut apply_contoso(&emulator));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let kinds = emulator.stats()["faultsByKind"].clone();
    let lost: u64 = ["SlowAnswer", "ResetAfterWrite", "UnavailableAfterWrite"]
        .iter()
        .filter_map(|kind| kinds[kind].as_u64())
        .sum();
    assert!(lost > 0, "no lost answer was injected: {kinds}");
    let changes = planned_changes(&emulator);
    assert!(changes.is_empty(), "{changes:#?}");
}
