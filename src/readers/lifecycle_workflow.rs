//! Lifecycle workflows whose scope, trigger or tasks name custom security attributes.

pub mod rule;
