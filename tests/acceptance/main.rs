//! The acceptance suite: `cargo test --test acceptance`. With
//! `ENTRA_CSA_ACCEPTANCE=1` and the settings of `settings.rs` it runs
//! against a real tenant, signed in as the command line signs in; without
//! them, against an emulator it starts itself, with the same sandbox rules.
//! Nothing can be deleted from a tenant, so the suite works in one
//! attribute set with a fixed pool of definitions and values that every run
//! reuses (`sandbox.rs`); the tests take turns with it (`session.rs`).
//! docs/src/how-to/acceptance-suite.md says how to set up a test tenant.

// Shared with the integration tests, which use all of it.
#[allow(dead_code)]
#[path = "../launch.rs"]
mod launch;

mod proofs;
mod random;
mod refusals;
mod replay;
mod reuse;
mod sandbox;
mod session;
mod settings;
mod workflow;
