//! Integration tests: one binary, one module per area.

mod plan_properties;
mod plan_goldens;
mod json_contract;
