//! The files: what the tenant should hold, as people write it, in both
//! directions.
//!
//! In: `load` reads the files and folders `-f` names; `yaml` turns each
//! file's text into a tree of located nodes; `manifest` reads that tree into
//! the file format as written (every key keeps its line and column);
//! `validate` checks the rules that need no tenant and builds one
//! `model::DesiredState`. Every problem on the way is a `diagnostic`, with
//! its place and a suggestion, and all of them are reported in one run.
//!
//! Out: `export` turns a `model::live::LiveState` back into YAML that plans
//! empty against the tenant it came from.
//!
//! Everything but `load` (which reads files) is pure.

pub mod acknowledged;
pub mod diagnostic;
pub mod export;
pub mod load;
pub mod manifest;
pub mod requirements;
pub mod validate;
pub mod yaml;
