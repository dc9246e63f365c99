//! Integration tests: one binary, one module per area.

mod ci_examples;
mod emulator;
mod json_contract;
mod plan_cli;
mod plan_goldens;
mod plan_properties;
