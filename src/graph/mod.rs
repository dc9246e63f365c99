//! Microsoft Graph: the wire shapes, and (to come) the client that reads the
//! live tenant and applies plans.

pub mod wire;
