//! Generated scenes: a seeded random walk through the pool (descriptions,
//! deactivated values, the `Retired` definition, and values of every type
//! on every test principal, extremes and awkward strings included) must
//! converge at each step, read back as declared, and never grow the
//! sandbox. Six scenes by default, a few seconds;
//! `ENTRA_CSA_ACCEPTANCE_SCENES=N` walks longer and
//! `ENTRA_CSA_ACCEPTANCE_SEED=S` replays a walk.

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use crate::proofs::assert_tenant_holds;
use crate::sandbox::{self, POOL, Scene, Values};
use crate::session::Session;

const TEXTS: [&str; 8] =
    ["plain", "with space", "Zürich", "it's", "\"quoted\"", "#hash: colon", "ünïcödé ✓", "0x1F"];

fn text(rng: &mut StdRng) -> Value {
    json!(TEXTS.choose(rng).unwrap())
}

fn number(rng: &mut StdRng) -> i32 {
    *[i32::MIN, -1, 0, 1, 42, i32::MAX].choose(rng).unwrap()
}

/// Up to three distinct members drawn by `draw`.
fn distinct(rng: &mut StdRng, mut draw: impl FnMut(&mut StdRng) -> Value) -> Value {
    let mut members: Vec<Value> = Vec::new();
    for _ in 0..rng.random_range(1..=3) {
        let member = draw(rng);
        if !members.contains(&member) {
            members.push(member);
        }
    }
    Value::Array(members)
}

/// A principal's values: each pooled attribute held or not, with a value
/// of its type; predefined-only ones from the scene's active values.
/// `Retired` never holds one: a value on a Deprecated attribute is kept,
/// never unassigned, so the next scene could not say what it holds.
fn principal_values(rng: &mut StdRng, scene: &Scene) -> Values {
    let mut values = Values::new();
    for pooled in POOL.iter().filter(|pooled| pooled.name != "Retired") {
        if rng.random_bool(0.5) {
            continue;
        }
        let active: Vec<&str> = pooled
            .values
            .iter()
            .copied()
            .filter(|value| !scene.inactive.contains(&(pooled.name, *value)))
            .collect();
        let value = match (pooled.data_type, pooled.is_collection, pooled.predefined_only) {
            (_, _, true) if active.is_empty() => continue,
            (_, false, true) => json!(active.choose(rng).unwrap()),
            (_, true, true) => distinct(rng, |rng| json!(active.choose(rng).unwrap())),
            (entra_csa::model::DataType::String, false, _) => text(rng),
            (entra_csa::model::DataType::String, true, _) => distinct(rng, text),
            (entra_csa::model::DataType::Integer, false, _) => json!(number(rng)),
            (entra_csa::model::DataType::Integer, true, _) => distinct(rng, |rng| json!(number(rng))),
            (entra_csa::model::DataType::Boolean, _, _) => json!(rng.random_bool(0.5)),
        };
        values.insert(pooled.name.to_owned(), value);
    }
    values
}

fn random_scene(rng: &mut StdRng, users: usize) -> Scene {
    let mut scene = Scene { set_described_by_run: rng.random_bool(0.5), ..Scene::default() };
    for pooled in &POOL {
        if rng.random_bool(0.3) {
            scene.described_by_run.insert(pooled.name);
        }
        for value in pooled.values {
            if rng.random_bool(0.25) {
                scene.inactive.insert((pooled.name, *value));
            }
        }
    }
    // Only `Retired` is ever deprecated, the one attribute never assigned.
    if rng.random_bool(0.5) {
        scene.deprecated.insert("Retired");
    }
    scene.users = (0..users).map(|_| principal_values(rng, &scene)).collect();
    scene.service_principal = principal_values(rng, &scene);
    scene
}

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|value| value.trim().parse().ok()).unwrap_or(default)
}

#[test]
fn generated_scenes_converge_read_back_and_never_grow_the_sandbox() {
    let seed = setting("ENTRA_CSA_ACCEPTANCE_SEED", 20);
    let scenes = setting("ENTRA_CSA_ACCEPTANCE_SCENES", 6);
    let mut session = Session::begin("generated");
    let mut rng = StdRng::seed_from_u64(seed);
    for step in 0..scenes {
        let scene = random_scene(&mut rng, session.users.len());
        eprintln!("acceptance: generated scene {step} of seed {seed}: {scene:?}");
        session.converge(&scene);
        assert_tenant_holds(&session, &scene);
        let size = sandbox::sandbox_size(&session.read(), session.set());
        assert_eq!(size, sandbox::pool_size(), "seed {seed}, scene {step}: the sandbox is the pool");
    }
    session.finish();
}
