//! Microsoft Graph as a `Tenant` (the other one is `tenant::state_file`): the
//! wire shapes, sign-in, the HTTP client
//! (retries, pacing, batching, paging), reading the live tenant and applying
//! plans. Everything is tested end to end against the emulator over loopback.

pub mod access;
pub mod apply;
pub mod audit;
pub mod auth;
pub mod batch;
pub mod client;
pub mod endpoint;
pub mod membership;
pub mod pacing;
pub mod partition;
pub mod policies;
pub mod principal_path;
pub mod progress;
pub mod read;
pub mod read_pacing;
pub mod recording;
pub mod retry;
pub mod route;
pub mod stream;
pub mod wire;
pub mod workflows;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use async_trait::async_trait;

use crate::model::PrincipalKey;
use crate::model::live::LiveState;
use crate::plan::{Change, Target};
use crate::tenant::{ApplyReport, PrincipalVisitor, ReadScope, Tenant};

pub use auth::{BearerToken, SignIn, TokenSource};
pub use client::{ClientOptions, GraphClient, GraphError};
pub use endpoint::GraphEndpoint;

/// A tenant reached through Microsoft Graph.
#[derive(Debug, Clone)]
pub struct GraphTenant {
    client: Arc<GraphClient>,
    tenant_id: Option<String>,
    /// Set to stop an apply (the command line sets it on a signal or at
    /// its deadline): nothing new is sent, not even a write the pacer
    /// holds (the client's own flag), requests in flight get a grace.
    stop: Arc<AtomicBool>,
    /// Azure Resource Manager, when the role assignments are to be read too.
    azure: Option<Arc<crate::azure::ArmClient>>,
}

impl GraphTenant {
    pub fn new(
        endpoint: GraphEndpoint,
        tokens: TokenSource,
        options: ClientOptions,
        tenant_id: Option<String>,
    ) -> Result<Self, GraphError> {
        let client = Arc::new(GraphClient::new(endpoint, tokens, options)?);
        Ok(GraphTenant { stop: client.stop_flag(), client, tenant_id, azure: None })
    }

    /// Reads the Azure role assignments with conditions through `azure` as
    /// well (`--azure-role-assignments`).
    pub fn with_azure(mut self, azure: crate::azure::ArmClient) -> Self {
        self.azure = Some(Arc::new(azure));
        self
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
        // Membership first: the members join the principals read below, in
        // the same batched GETs or sweep, so no principal is read twice.
        let memberships = membership::memberships(&self.client, &scope.groups).await?;
        let mut live = if memberships.is_empty() {
            read::read(&self.client, scope).await?
        } else {
            let mut scope = scope.clone();
            let declared: std::collections::BTreeSet<PrincipalKey> =
                scope.principals.iter().cloned().collect();
            scope.principals.extend(
                crate::tenant::member_keys(&memberships).into_iter().filter(|key| !declared.contains(key)),
            );
            read::read(&self.client, &scope).await?
        };
        live.memberships = memberships;
        live.policies = policies::read(&self.client).await?;
        match workflows::read(&self.client).await? {
            Ok(found) => live.policies.lifecycle_workflows = Some(found),
            Err(reason) => live.policies.lifecycle_workflows_not_checked = Some(reason),
        }
        if let Some(azure) = &self.azure {
            match azure.role_assignments_with_conditions().await {
                Ok(rows) => live.policies.azure_role_assignments = Some(rows),
                Err(error) if matches!(error.status(), Some(401 | 403)) => {
                    live.policies.azure_role_assignments_not_checked =
                        Some(crate::azure::not_checked(&error));
                }
                Err(error) => return Err(error.into()),
            }
        }
        live.set_aside_values_unlike_their_definitions();
        Ok(live)
    }

    async fn each_principal(&self, visit: &mut PrincipalVisitor<'_>) -> anyhow::Result<()> {
        stream::each_principal(&self.client, visit).await
    }

    async fn audit_log(&self, since: &str) -> Result<crate::plan::explain::AuditLog, String> {
        audit::read(&self.client, since).await
    }

    async fn apply(&self, changes: &[Change]) -> ApplyReport {
        apply::apply(Arc::clone(&self.client), changes, &self.stop).await
    }

    fn stop_handle(&self) -> Option<Arc<AtomicBool>> {
        Some(Arc::clone(&self.stop))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::endpoint::Cloud;

    #[test]
    fn a_tenant_prints_without_its_token() {
        let endpoint = endpoint::resolve(Cloud::Global, None, false).unwrap();
        let tokens = TokenSource::Fixed(BearerToken::new("sentinel-debug-token"));
        let tenant = GraphTenant::new(endpoint, tokens, ClientOptions::default(), Some("t".into())).unwrap();
        let printed = format!("{tenant:?} {:?}", tenant.client());
        assert!(!printed.contains("sentinel-debug-token"), "{printed}");
        assert_eq!(
            tenant.target(),
            Target::Graph { graph_url: "https://graph.microsoft.com".into(), tenant_id: Some("t".into()) }
        );
    }
}
