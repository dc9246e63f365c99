//! Reading the lifecycle workflows, whose scope rule, attribute-change
//! trigger or task arguments may name custom security attributes
//! (`readers::lifecycle_workflow` finds them). The list answers without
//! the execution conditions and tasks, so each workflow is then read on its
//! own, its tasks expanded by default ("List workflows" and "Get workflow",
//! <https://learn.microsoft.com/graph/api/identitygovernance-lifecycleworkflowscontainer-list-workflows>,
//! <https://learn.microsoft.com/graph/api/identitygovernance-workflow-get>).
//!
//! The read is optional: without `LifecycleWorkflows.Read.All` Graph answers
//! 403, and the plan then says which checks were not made instead of failing.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::client::{GraphClient, GraphError};

/// The permission the read needs (least privileged first).
pub const LIFECYCLE_WORKFLOWS_READ: [&str; 2] =
    ["LifecycleWorkflows.Read.All", "LifecycleWorkflows.ReadWrite.All"];

/// What a plan loses without it.
pub const LIFECYCLE_WORKFLOWS_READ_LOSS: &str = "the plan cannot say which lifecycle workflows name an attribute \
     or value it deactivates (scope rules, attribute-change triggers, task arguments), nor whom a value change \
     moves into or out of a workflow's scope";

/// Every workflow with its execution conditions and tasks; `Err(reason)`
/// when Graph refused the read, with what was not checked.
pub async fn read(client: &Arc<GraphClient>) -> Result<Result<Vec<Map<String, Value>>, String>, GraphError> {
    match read_all(client).await {
        Ok(workflows) => Ok(Ok(workflows)),
        Err(error) if error.status() == Some(403) => Ok(Err(format!(
            "Microsoft Graph refused to read the lifecycle workflows (403): the sign-in lacks {} (or, signed in \
             as a user, a role that may read them)",
            LIFECYCLE_WORKFLOWS_READ[0]
        ))),
        Err(error) if matches!(error.status(), Some(400 | 404)) => Ok(Err(format!(
            "Microsoft Graph does not serve lifecycle workflows here ({error}); they exist only with \
             Microsoft Entra ID Governance"
        ))),
        Err(error) => Err(error),
    }
}

async fn read_all(client: &Arc<GraphClient>) -> Result<Vec<Map<String, Value>>, GraphError> {
    let listed =
        client.all_pages(client.url("identityGovernance/lifecycleWorkflows/workflows"), |_| ()).await?;
    let mut workflows = Vec::with_capacity(listed.len());
    for item in listed {
        let Some(id) = item.get("id").and_then(Value::as_str) else { continue };
        let url = client.url(&format!("identityGovernance/lifecycleWorkflows/workflows/{}", encode(id)));
        if let Value::Object(mut workflow) = client.get(&url).await?.body {
            // The context URL names the host that answered: not part of the workflow.
            workflow.remove("@odata.context");
            workflow.remove("tasks@odata.context");
            workflows.push(workflow);
        }
    }
    Ok(workflows)
}

/// A path segment, percent-encoded.
fn encode(segment: &str) -> String {
    url::form_urlencoded::byte_serialize(segment.as_bytes()).collect::<String>().replace('+', "%20")
}
