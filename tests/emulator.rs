//! The Graph emulator over real HTTP, one module per area. Tests of
//! documented behaviour are named `doc_…` after their example file; tests of
//! behaviour Microsoft does not document are named `emulators_own_…`.

mod audit;
mod batching;
mod conformance;
mod control;
mod groups;
mod knobs;
mod permissions;
mod policies;
mod replay;
mod rules;
mod support;
