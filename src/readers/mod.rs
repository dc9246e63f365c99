//! Everything in the tenant that reads a custom security attribute.

pub mod lifecycle_workflow;
pub mod role_assignment;
