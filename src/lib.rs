//! entra-csa manages Microsoft Entra ID custom security attributes as code.
//!
//! YAML files are loaded into a `Manifest`, validated into a `DesiredState`,
//! and compared with the `LiveState` read from a `Tenant` (Microsoft Graph or
//! a local state file). The diff yields a `Plan` that only adds, updates,
//! deactivates or reactivates — never deletes, never renames — which is
//! rendered (text, JSON, Markdown) and applied.

// ── pure core: no async, no network, no filesystem, no environment, no clock ──
pub mod access;
pub mod diagnostic;
pub mod diff;
pub mod export;
pub mod live_state;
pub mod manifest;
pub mod model;
pub mod plan;
pub mod synthetic;
pub mod validate;
pub mod yaml;

// ── edges: talk to the world ──
pub mod cli;
pub mod emulator;
pub mod exit_status;
pub mod graph;
pub mod load;
pub mod render;
pub mod state_file;
pub mod tenant;
