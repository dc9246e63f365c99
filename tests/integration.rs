//! Integration tests: one binary, one module per area.
mod ci_examples;
