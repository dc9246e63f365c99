//! Expanded allowed values are never silently short. Graph documents that
//! `$expand` on directory objects may stop at 20 with no nextLink; whether
//! `allowedValues` is affected is not documented, so the emulator can answer
//! an expansion whole, cut at 20 without a word, or paged with
//! `allowedValues@odata.nextLink`, and under every setting plan, apply and
//! export must give what they give against the whole answer.

use entra_csa::emulator::document::{AllowedValueShape, StateDocument};
use entra_csa::emulator::{EmulatorConfig, Expansion, RunningEmulator};
use entra_csa::plan::Plan;
use entra_csa::tenant::{ReadScope, Tenant};

use crate::graph_support::*;

/// Contoso with 46 values on `Engineering.Project` (40 the files do not
/// declare, listed first so a cut drops the declared ones) and exactly 20 on
/// `Marketing.Region` (18 undeclared): the policy deactivates what the files
/// do not declare, so the plan depends on every value being seen.
fn seed() -> StateDocument {
    let mut seed = contoso_seed();
    let mut prepend = |id: &str, prefix: &str, count: usize| {
        let definition = seed
            .custom_security_attribute_definitions
            .iter_mut()
            .find(|d| d.id.as_deref() == Some(id))
            .unwrap();
        let held = definition.allowed_values.take().unwrap_or_default();
        let mut values: Vec<AllowedValueShape> = (1..=count)
            .map(|index| AllowedValueShape { id: format!("{prefix}{index:02}"), is_active: true })
            .collect();
        values.extend(held);
        definition.allowed_values = Some(values);
    };
    prepend("Engineering_Project", "P", 40);
    prepend("Marketing_Region", "R", 18);
    seed
}

async fn emulator_with(expansion: Expansion) -> RunningEmulator {
    emulator(EmulatorConfig { seed_state: seed(), expansion, ..Default::default() }).await
}

/// What a plan says, without its target (each emulator has its own port).
fn findings(plan: &Plan) -> String {
    format!(
        "{:#?}\n{:#?}\n{:#?}\n{:#?}\n{:#?}",
        plan.fingerprint, plan.changes, plan.conflicts, plan.drift, plan.notes
    )
}

async fn export(emulator: &RunningEmulator) -> String {
    let (code, stdout, stderr) =
        run_cli(vec!["export".into(), "--graph-url".into(), emulator.base_url()], "expansion-token").await;
    assert_eq!(code, 0, "{stderr}");
    stdout
}

/// Plan, export, apply and the state after it under `expansion` equal
/// those of an emulator that answers expansions whole.
async fn same_as_whole(expansion: Expansion) {
    let desired = desired("examples/contoso.yaml");
    let whole = emulator_with(Expansion::Whole).await;
    let other = emulator_with(expansion).await;
    let (whole_tenant, other_tenant) = (tenant(&whole), tenant(&other));

    let scope = ReadScope::for_desired(&desired);
    let read = whole_tenant.read(&scope).await.unwrap();
    assert_eq!(read.definitions["Engineering_Project"].allowed_values.len(), 46);
    assert_eq!(read.definitions["Marketing_Region"].allowed_values.len(), 20);
    assert_eq!(other_tenant.read(&scope).await.unwrap(), read, "{expansion:?}: the read differs");

    let reference = plan_of(&whole_tenant, &desired).await;
    let plan = plan_of(&other_tenant, &desired).await;
    assert_eq!(findings(&plan), findings(&reference), "{expansion:?}: the plan differs");
    assert!(findings(&plan).contains("P40"), "the plan deactivates the values past the cut");
    assert_eq!(export(&other).await, export(&whole).await, "{expansion:?}: the export differs");

    apply_and_converge(&whole_tenant, &desired).await;
    apply_and_converge(&other_tenant, &desired).await;
    assert_eq!(other.state(), whole.state(), "{expansion:?}: the applies end apart");
    assert_eq!(export(&other).await, export(&whole).await, "{expansion:?}: the export after apply differs");
    whole.shutdown().await;
    other.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_expansion_of_20_or_more_values_is_read_again_in_one_batch() {
    let emulator = emulator_with(Expansion::Whole).await;
    tenant(&emulator).read(&ReadScope::default()).await.unwrap();
    let mut completed: Vec<String> = emulator
        .requests()
        .into_iter()
        .filter(|request| request.batch_item.is_some() && request.path.ends_with("/allowedValues"))
        .map(|request| request.path)
        .collect();
    completed.sort();
    assert_eq!(
        completed,
        [
            "/v1.0/directory/customSecurityAttributeDefinitions/Engineering_Project/allowedValues",
            "/v1.0/directory/customSecurityAttributeDefinitions/Marketing_Region/allowedValues",
        ],
        "only the expansions that may have been cut (20 values or more) are read again"
    );
    let batches = emulator.requests().iter().filter(|request| request.path == "/v1.0/$batch").count();
    assert_eq!(batches, 1, "both in one batch");
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expansion_cut_at_20_without_a_next_link_changes_nothing() {
    same_as_whole(Expansion::CutSilently).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expansion_paged_with_a_next_link_changes_nothing() {
    same_as_whole(Expansion::Paged(7)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expansion_paged_by_one_value_changes_nothing() {
    // Every value past the first comes from the link, and the collection
    // itself pages by one (the emulator's `$top` in the link).
    same_as_whole(Expansion::Paged(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expansion_paged_at_20_changes_nothing() {
    same_as_whole(Expansion::Paged(20)).await;
}
