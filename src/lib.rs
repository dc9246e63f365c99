//! entra-csa manages Microsoft Entra ID custom security attributes as code.
//!
//! The pipeline, in the order of the modules below: YAML files become a
//! `DesiredState` (`desired`), a `Tenant` (`tenant`: a local state file, or
//! Microsoft Graph in `graph`) is read into a `LiveState` (`model::live`),
//! the two meet in the diff (`plan::diff`), which yields a `Plan` that only
//! adds, updates, deactivates or reactivates — never deletes, never renames.
//! `render` shows the plan (text, JSON, Markdown); the tenant applies it.
//!
//! What reads the attributes in the tenant (Conditional Access, app
//! management policies, …) is `readers`, which the plan consumes.
//!
//! Imports run down this list only: `cli` → `emulator` → `graph` | `azure` | `tenant`
//! → `render` → `plan` → `readers` → `desired` → `model`
//! (`tests/architecture.rs` holds it).

// ── pure core: no async, no network, no environment, no clock ──
// (`desired::load` alone reads the files it is given)
pub mod desired;
pub mod model;
pub mod readers;
pub mod plan;
pub mod render;

// ── edges: talk to the world ──
pub mod tenant;
pub mod graph;
pub mod azure;
pub mod emulator;
pub mod cli;
