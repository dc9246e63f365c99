//! Shared setup of the Graph tests: an emulator on loopback seeded with a
//! tenant, a `GraphTenant` (or the real binary) pointed at it with a fixed
//! token, and the examples as desired state. Retries are fast here so the
//! fault tests stay short; everything else is the production client.

use std::path::{Path, PathBuf};
use std::time::Duration;

use entra_csa::emulator::document::StateDocument;
use entra_csa::emulator::{EmulatorConfig, RunningEmulator, start};
use entra_csa::graph::endpoint::Cloud;
use entra_csa::graph::retry::RetryPolicy;
use entra_csa::graph::{BearerToken, ClientOptions, GraphTenant, TokenSource, endpoint};
use entra_csa::model::DesiredState;
use entra_csa::plan::{self, Plan};
use entra_csa::tenant::{ReadScope, Tenant};

pub use crate::launch::{entra_csa, run_off_runtime};

pub fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Contoso's tenant before the change (examples/contoso-live.json).
pub fn contoso_seed() -> StateDocument {
    let text = std::fs::read_to_string(repo("examples/contoso-live.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The same principals with no attribute sets, definitions or values.
pub fn empty_seed() -> StateDocument {
    let mut seed = contoso_seed();
    seed.attribute_sets.clear();
    seed.custom_security_attribute_definitions.clear();
    for principal in seed.users.iter_mut().chain(seed.service_principals.iter_mut()) {
        principal.custom_security_attributes = None;
    }
    seed
}

pub fn desired(path: &str) -> DesiredState {
    entra_csa::desired::load::load_files(&[repo(path)]).unwrap_or_else(|diagnostics| panic!("{diagnostics}"))
}

pub async fn emulator(config: EmulatorConfig) -> RunningEmulator {
    start(config).await.unwrap()
}

/// Client options with short, bounded retries.
pub fn fast_options() -> ClientOptions {
    ClientOptions {
        retry: RetryPolicy {
            min_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(200),
            max_attempts: 12,
            max_total_delay: Duration::from_secs(20),
            max_throttle_wait: Duration::from_secs(60),
        },
        replication: RetryPolicy {
            min_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(200),
            max_attempts: 60,
            max_total_delay: Duration::from_secs(20),
            max_throttle_wait: Duration::from_secs(60),
        },
        // The emulator holds Conditional Access reads to one a second only
        // when a test asks it to (`limit_conditional_access_reads`).
        conditional_access_interval: Duration::ZERO,
        ..ClientOptions::default()
    }
}

pub fn tenant_with(emulator: &RunningEmulator, token: &str, options: ClientOptions) -> GraphTenant {
    let endpoint = endpoint::resolve(Cloud::Global, Some(&emulator.base_url()), false).unwrap();
    GraphTenant::new(endpoint, TokenSource::Fixed(BearerToken::new(token)), options, None).unwrap()
}

pub fn tenant(emulator: &RunningEmulator) -> GraphTenant {
    tenant_with(emulator, "test-token", fast_options())
}

pub async fn plan_of(tenant: &GraphTenant, desired: &DesiredState) -> Plan {
    let live = tenant.read(&ReadScope::for_desired(desired)).await.unwrap();
    plan::build(desired, &live, tenant.target())
}

/// Plans, applies and checks that every change was done and a new plan is empty.
pub async fn apply_and_converge(tenant: &GraphTenant, desired: &DesiredState) -> Plan {
    let plan = plan_of(tenant, desired).await;
    assert!(plan.conflicts.is_empty(), "{:?}", plan.conflicts);
    assert!(!plan.changes.is_empty());
    let report = tenant.apply(&plan.changes).await;
    assert!(report.succeeded(), "{report:#?}");
    assert_eq!(report.outcomes.len(), plan.changes.len());
    let after = plan_of(tenant, desired).await;
    assert!(after.changes.is_empty(), "not converged: {:#?}", after.changes);
    plan
}

/// Runs the binary with this token, off the async runtime (the emulator keeps serving).
pub async fn run_cli(args: Vec<String>, token: &str) -> (i32, String, String) {
    let mut command = entra_csa();
    command.env("ENTRA_CSA_ACCESS_TOKEN", token).args(&args);
    run_off_runtime(command).await
}

/// An unsigned JWT with these claims.
pub fn jwt(claims: serde_json::Value) -> String {
    use base64::Engine;
    let encode = |value: serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(&value).unwrap())
    };
    format!("{}.{}.signature", encode(serde_json::json!({ "alg": "none" })), encode(claims))
}

/// The live state an emulator's document describes, read by the client's
/// own state-file code (the two meet only through the JSON).
pub fn live_of(document: &StateDocument) -> entra_csa::model::live::LiveState {
    document.to_shape::<entra_csa::graph::wire::TenantDocument>().unwrap().into_live_state().unwrap()
}

/// A document of the client's shapes as an emulator seed, through its JSON.
pub fn seed_of(document: &entra_csa::graph::wire::TenantDocument) -> StateDocument {
    StateDocument::from_shape(document).unwrap()
}
