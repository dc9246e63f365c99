//! Microsoft Graph as a `Tenant`: the wire shapes, sign-in, the HTTP client
//! (retries, pacing, batching, paging), reading the live tenant and applying
//! plans. Everything is tested end to end against the emulator over loopback.

pub mod apply;
pub mod auth;
pub mod batch;
pub mod client;
pub mod endpoint;
pub mod pacing;
pub mod progress;
pub mod read;
pub mod retry;
pub mod route;
pub mod wire;

use std::sync::Arc;

use async_trait::async_trait;

use crate::live_state::LiveState;
use crate::plan::{Change, Target};
use crate::tenant::{ApplyReport, ReadScope, Tenant};

pub use auth::{BearerToken, SignIn, TokenSource};
pub use client::{ClientOptions, GraphClient, GraphError};
pub use endpoint::GraphEndpoint;

/// A tenant reached through Microsoft Graph.
#[derive(Debug, Clone)]
pub struct GraphTenant {
    client: Arc<GraphClient>,
    tenant_id: Option<String>,
}

impl GraphTenant {
    pub fn new(
        endpoint: GraphEndpoint,
        tokens: TokenSource,
        options: ClientOptions,
        tenant_id: Option<String>,
    ) -> Result<Self, GraphError> {
        Ok(GraphTenant { client: Arc::new(GraphClient::new(endpoint, tokens, options)?), tenant_id })
    }

    pub fn client(&self) -> &GraphClient {
        &self.client
    }
}

#[async_trait]
impl Tenant for GraphTenant {
    fn target(&self) -> Target {
        Target::Graph { graph_url: self.client.endpoint().display_root(), tenant_id: self.tenant_id.clone() }
    }

    async fn read(&self, scope: &ReadScope) -> anyhow::Result<LiveState> {
        Ok(read::read(&self.client, scope).await?)
    }

    async fn apply(&self, changes: &[Change]) -> ApplyReport {
        apply::apply(Arc::clone(&self.client), changes).await
    }
}
