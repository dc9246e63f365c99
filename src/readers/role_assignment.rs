//! Azure role assignments whose condition reads a principal's custom security attributes.

pub mod condition;
