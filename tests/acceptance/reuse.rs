//! Run 1 and run 1,000 leave the tenant the same size: two runs, each on a
//! new emulator serving the tenant the previous run persisted, move the
//! sandbox through every scene; the first creates the pool, the second
//! creates nothing, and the sets and definitions they leave are identical.

use serde_json::Value;

use crate::proofs::{first_scene, second_scene};
use crate::session::{Session, Suite, suite};

/// The attribute sets and definitions of a persisted emulator tenant.
fn schema_of(state: &std::path::Path) -> (Value, Value) {
    let document: Value = serde_json::from_str(&std::fs::read_to_string(state).unwrap()).unwrap();
    (document["attributeSets"].clone(), document["customSecurityAttributeDefinitions"].clone())
}

#[test]
fn a_second_run_reuses_the_pool_and_leaves_the_tenant_as_the_first_did() {
    if !suite().settings.is_emulator() {
        // A real tenant's runs are compared by running the suite twice
        // (docs/src/how-to/acceptance-suite.md).
        return;
    }
    let folder = Box::leak(Box::new(tempfile::tempdir().unwrap()));
    let state = folder.path().join("tenant.json");
    let mut after = Vec::new();
    let mut created = Vec::new();
    for _ in 0..2 {
        let run: &'static Suite =
            Box::leak(Box::new(Suite::emulator_at(state.clone(), &suite().settings.set)));
        let mut session = Session::begin_on(run, "reuse");
        created.push(session.created.clone());
        let resting = session.resting.clone();
        for scene in [first_scene(), second_scene(), resting.clone()] {
            session.converge(&scene);
        }
        session.finish();
        after.push(schema_of(&state));
    }
    let creates =
        |changes: &[(String, String)]| changes.iter().filter(|(action, _)| action == "create").count();
    assert_eq!(
        creates(&created[0]),
        1 + crate::sandbox::POOL.len(),
        "the first run creates the set and the pool: {:?}",
        created[0]
    );
    assert_eq!(created[1], Vec::<(String, String)>::new(), "the second run finds the sandbox at rest");
    assert_eq!(after[0], after[1], "the second run leaves the sets and definitions exactly as the first");
}
