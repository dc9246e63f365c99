//! Reading the policies that name custom security attributes: Conditional
//! Access policies (their application and service principal filters) and the
//! app management policies (their `excludeActors.customSecurityAttributes`
//! exemptions; https://learn.microsoft.com/graph/api/resources/conditionalaccessfilter,
//! https://learn.microsoft.com/graph/api/resources/appmanagementpolicy).
//! They are kept as Graph wrote them; the readers of attributes are found in
//! them (`readers`).
//!
//! The read is optional: without `Policy.Read.All` Graph answers 403, and the
//! plan then says that references were not checked, and why, instead of
//! failing. Kept apart from `read.rs` (the attributes and assignments).

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::model::live::LivePolicies;

use super::client::{GraphClient, GraphError};
use super::read::ReadError;

/// Reads the three policy endpoints, every page. A 403 on any of them leaves
/// all three unread, with the reason.
pub async fn read(client: &Arc<GraphClient>) -> Result<LivePolicies, ReadError> {
    match read_all(client).await {
        Ok(policies) => Ok(policies),
        Err(error) if error.status() == Some(403) => {
            tracing::debug!("the policies that read attributes cannot be read: {error}");
            Ok(LivePolicies {
                not_checked: Some(format!(
                    "Microsoft Graph refused to read the policies (403): the sign-in lacks {} (or, signed in \
                     as a user, a role that may read policies)",
                    crate::graph::access::POLICY_READ
                )),
                ..LivePolicies::default()
            })
        }
        Err(error) => Err(error.into()),
    }
}

async fn read_all(client: &Arc<GraphClient>) -> Result<LivePolicies, GraphError> {
    let conditional_access =
        objects(client.all_pages(client.url("identity/conditionalAccess/policies"), |_| ()).await?);
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
        not_checked: None,
    })
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
