//! Integration tests: one binary, one module per area.

mod auth_cli;
mod check_access_cli;
mod ci_examples;
mod emulator;
mod export_cli;
mod graph_apply;
mod graph_cli;
mod graph_read;
mod graph_support;
mod graph_wire;
mod hostile_input;
mod json_contract;
mod plan_cli;
mod plan_goldens;
mod plan_properties;
mod reliability_concurrency;
mod reliability_faults;
mod reliability_hostile_graph;
mod reliability_interrupt;
mod reliability_no_delete;
mod reliability_security;
mod reliability_support;
mod validate_cases;
mod validate_cli;
mod validate_properties;
