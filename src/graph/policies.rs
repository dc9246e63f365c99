//! Reading the policies that name custom security attributes: Conditional
//! Access policies (their application, service principal and agent
//! filters; <https://learn.microsoft.com/graph/api/resources/conditionalaccessfilter>)
//! and the app management policies (their
//! `excludeActors.customSecurityAttributes` exemptions;
//! <https://learn.microsoft.com/graph/api/resources/appmanagementpolicy>).
//! They are kept as Graph wrote them; the readers of attributes are found in
//! them (`readers`).
//!
//! The read is optional: without `Policy.Read.All` Graph answers 403, and the
//! plan then says that references were not checked, and why, instead of
//! failing. Kept apart from `read.rs` (the attributes and assignments).
//!
//! Conditional Access comes from two versions of Graph. v1.0 is the source
//! of every field it has; the fields that target agent identities
//! (`clientApplications.includeAgentIdServicePrincipals`,
//! `excludeAgentIdServicePrincipals`, `agentIdServicePrincipalFilter`, and
//! `conditions.agentIdRiskLevels`) exist only in beta
//! (<https://learn.microsoft.com/graph/api/resources/conditionalaccessclientapplications?view=graph-rest-beta>;
//! the v1.0 page and Graph's v1.0 metadata lack them), so they are read from
//! `GET /beta/identity/conditionalAccess/policies` and merged into the v1.0
//! policies by id. A beta read that fails leaves the v1.0 policies whole and
//! says that agent-targeted policies were not checked.
//!
//! Graph answers at most one Conditional Access request per second per
//! tenant, for all apps together, and its 429 beyond that carries no
//! `Retry-After`
//! (<https://learn.microsoft.com/graph/throttling-limits#identity-protection-and-conditional-access-service-limits>):
//! every page of both reads, retries included, starts at least a second
//! after the previous one ended.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use url::Url;

use crate::model::live::LivePolicies;

use super::client::{GraphClient, GraphError, Page};
use super::read::ReadError;

/// The path of the Conditional Access policies, under either version.
const CONDITIONAL_ACCESS_POLICIES: &str = "identity/conditionalAccess/policies";

/// Graph's documented rate for Conditional Access: one request a second.
pub const CONDITIONAL_ACCESS_INTERVAL: Duration = Duration::from_secs(1);

/// Attempts at one Conditional Access page before its read fails.
const CONDITIONAL_ACCESS_ATTEMPTS: usize = 6;

/// The beta-only fields of `conditions.clientApplications`.
pub const AGENT_CLIENT_FIELDS: [&str; 3] =
    ["includeAgentIdServicePrincipals", "excludeAgentIdServicePrincipals", "agentIdServicePrincipalFilter"];

/// The beta-only fields of `conditions`.
pub const AGENT_CONDITION_FIELDS: [&str; 1] = ["agentIdRiskLevels"];

/// Reads the policy endpoints, every page. A 403 on any v1.0 one leaves all
/// unread, with the reason; a beta read that fails leaves only the agent
/// fields unread.
pub async fn read(client: &Arc<GraphClient>) -> Result<LivePolicies, ReadError> {
    // One clock per client (per tenant), held for the whole read.
    let mut clock = client.conditional_access_clock.lock().await;
    let mut pacer =
        OncePerInterval { interval: client.options.conditional_access_interval, last_ended: &mut clock };
    let mut policies = match read_all(client, &mut pacer).await {
        Ok(policies) => policies,
        Err(error) if error.status() == Some(403) => {
            tracing::debug!("the policies that read attributes cannot be read: {error}");
            return Ok(LivePolicies {
                not_checked: Some(format!(
                    "Microsoft Graph refused to read the policies (403): the sign-in lacks {} (or, signed in \
                     as a user, a role that may read policies)",
                    crate::graph::access::POLICY_READ
                )),
                ..LivePolicies::default()
            });
        }
        Err(error) => return Err(error.into()),
    };
    // The two versions list the same policies, with more properties in beta
    // (Microsoft documents no policy that only one version lists), so a
    // tenant whose v1.0 list is empty has no agent fields to read: the
    // second request, and the second of Graph's one-a-second wait, are
    // spared.
    if policies.conditional_access_policies.as_ref().is_some_and(Vec::is_empty) {
        return Ok(policies);
    }
    let beta =
        conditional_access_pages(client, client.beta_url(CONDITIONAL_ACCESS_POLICIES), &mut pacer).await;
    match beta {
        Ok(items) => {
            if let Some(v1) = policies.conditional_access_policies.as_mut() {
                merge_agent_fields(v1, objects(items));
            }
        }
        Err(error) => {
            tracing::debug!("the beta Conditional Access policies cannot be read: {error}");
            policies.agents_not_checked = Some(format!(
                "Microsoft Graph beta did not answer `GET /beta/{CONDITIONAL_ACCESS_POLICIES}` ({error}); the \
                 fields that target agent identities exist only there"
            ));
        }
    }
    Ok(policies)
}

async fn read_all(
    client: &Arc<GraphClient>,
    pacer: &mut OncePerInterval<'_>,
) -> Result<LivePolicies, GraphError> {
    let conditional_access =
        objects(conditional_access_pages(client, client.url(CONDITIONAL_ACCESS_POLICIES), pacer).await?);
    let default = client.get(&client.url("policies/defaultAppManagementPolicy")).await?;
    let app_management =
        objects(client.all_pages(client.url("policies/appManagementPolicies"), |_| ()).await?);
    Ok(LivePolicies {
        conditional_access_policies: Some(conditional_access),
        default_app_management_policy: match default.body {
            // The context URL names the host that answered: not part of the policy.
            Value::Object(mut object) => {
                object.remove("@odata.context");
                Some(object)
            }
            _ => None,
        },
        app_management_policies: Some(app_management),
        ..LivePolicies::default()
    })
}

/// Every item of a Conditional Access collection, each page (and each
/// retry of one) one interval after the previous request ended.
async fn conditional_access_pages(
    client: &Arc<GraphClient>,
    url: Url,
    pacer: &mut OncePerInterval<'_>,
) -> Result<Vec<Value>, GraphError> {
    let mut items = Vec::new();
    let mut seen = HashSet::new();
    let mut next = Some(url);
    while let Some(url) = next.take() {
        if !seen.insert(url.as_str().to_owned()) {
            return Err(GraphError::Paging {
                path: url.path().to_owned(),
                message: "`@odata.nextLink` repeats a page already read (a paging loop)".into(),
            });
        }
        let page = paced_page(client, &url, pacer).await?;
        items.extend(page.items);
        next = page.next;
    }
    Ok(items)
}

async fn paced_page(
    client: &Arc<GraphClient>,
    url: &Url,
    pacer: &mut OncePerInterval<'_>,
) -> Result<Page, GraphError> {
    let mut attempts = 0;
    loop {
        pacer.wait().await;
        attempts += 1;
        let answer = client.page_once(url).await;
        pacer.ended(Instant::now());
        match answer {
            Ok(page) => return Ok(page),
            Err(error) if error.is_retryable() && attempts < CONDITIONAL_ACCESS_ATTEMPTS => {
                tracing::info!("reading Conditional Access policies again: {error}");
                // A 429 here has no Retry-After; should one come, it is honoured.
                if let Some(wait) = error.retry_after() {
                    tokio::time::sleep(wait).await;
                }
            }
            Err(error) => return Err(error),
        }
    }
}

/// Spaces requests so that each starts at least `interval` after the
/// previous one ended: the server then sees them at least that far apart,
/// however long each took on the way.
struct OncePerInterval<'a> {
    interval: Duration,
    last_ended: &'a mut Option<Instant>,
}

impl OncePerInterval<'_> {
    async fn wait(&self) {
        if let Some(ended) = *self.last_ended {
            let due = ended + self.interval;
            let now = Instant::now();
            if due > now {
                tokio::time::sleep(due - now).await;
            }
        }
    }

    fn ended(&mut self, at: Instant) {
        *self.last_ended = Some(at);
    }
}

/// Copies the beta-only agent fields of each beta policy into the v1.0
/// policy with the same id. A policy only beta lists is kept whole: v1.0 did
/// not return it, and skipping it would hide what it reads.
pub fn merge_agent_fields(v1: &mut Vec<Map<String, Value>>, beta: Vec<Map<String, Value>>) {
    for beta_policy in beta {
        let id = beta_policy.get("id").and_then(Value::as_str).map(str::to_owned);
        let Some(target) = v1
            .iter_mut()
            .find(|policy| id.is_some() && policy.get("id").and_then(Value::as_str) == id.as_deref())
        else {
            let mut whole = beta_policy;
            whole.remove("@odata.context");
            v1.push(whole);
            continue;
        };
        let Some(Value::Object(beta_conditions)) = beta_policy.get("conditions") else { continue };
        let conditions = target.entry("conditions").or_insert_with(|| Value::Object(Map::new()));
        if !conditions.is_object() {
            *conditions = Value::Object(Map::new());
        }
        let Value::Object(conditions) = conditions else { continue };
        for field in AGENT_CONDITION_FIELDS {
            if let Some(value) = beta_conditions.get(field) {
                conditions.insert(field.to_owned(), value.clone());
            }
        }
        let Some(Value::Object(beta_clients)) = beta_conditions.get("clientApplications") else { continue };
        let agent_fields: Vec<(&str, &Value)> = AGENT_CLIENT_FIELDS
            .iter()
            .filter_map(|field| beta_clients.get(*field).map(|value| (*field, value)))
            .collect();
        if agent_fields.is_empty() {
            continue;
        }
        let clients = conditions.entry("clientApplications").or_insert_with(|| Value::Object(Map::new()));
        if !clients.is_object() {
            *clients = Value::Object(Map::new());
        }
        if let Value::Object(clients) = clients {
            for (field, value) in agent_fields {
                clients.insert(field.to_owned(), value.clone());
            }
        }
    }
}

/// The JSON objects of a collection; anything else Graph might put there is
/// not a policy the tool can read, and is left out.
fn objects(items: Vec<Value>) -> Vec<Map<String, Value>> {
    items
        .into_iter()
        .filter_map(|item| match item {
            Value::Object(object) => Some(object),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn agent_fields_come_from_beta_and_everything_else_from_v1() {
        let mut v1 = vec![object(json!({
            "id": "p1", "displayName": "v1 name", "state": "enabled",
            "conditions": { "clientApplications": { "includeServicePrincipals": ["a"] } }
        }))];
        let beta = vec![
            object(json!({
                "id": "p1", "displayName": "beta name", "state": "disabled",
                "conditions": {
                    "agentIdRiskLevels": "high",
                    "clientApplications": {
                        "includeServicePrincipals": ["b"],
                        "includeAgentIdServicePrincipals": ["All"],
                        "agentIdServicePrincipalFilter": { "mode": "include", "rule": "x" }
                    }
                }
            })),
            object(json!({ "id": "p2", "displayName": "only in beta" })),
        ];
        merge_agent_fields(&mut v1, beta);
        assert_eq!(
            Value::Object(v1[0].clone()),
            json!({
                "id": "p1", "displayName": "v1 name", "state": "enabled",
                "conditions": {
                    "agentIdRiskLevels": "high",
                    "clientApplications": {
                        "includeServicePrincipals": ["a"],
                        "includeAgentIdServicePrincipals": ["All"],
                        "agentIdServicePrincipalFilter": { "mode": "include", "rule": "x" }
                    }
                }
            })
        );
        assert_eq!(v1[1].get("displayName"), Some(&json!("only in beta")));
    }
}
