//! Exists so that `plan --explain` can say who changed what drifted: one
//! time-filtered read of Entra's custom security attribute audit log,
//! `GET /beta/auditLogs/customSecurityAttributeAudits` ("List
//! customSecurityAttributeAudits",
//! <https://learn.microsoft.com/graph/api/auditlogroot-list-customsecurityattributeaudits?view=graph-rest-beta>),
//! turned into `plan::explain::AuditEntry`s for the pure join.
//!
//! Cost: the window is filtered on the server (`activityDateTime ge …`; the
//! resource page documents `eq`, `ge` and `le` for it) and read in pages of `$top=100`, the documented default and
//! maximum. So a read costs ceil(E / 100) requests, E the entries in the
//! window: it grows with the changes made, never with the tenant's size,
//! and is made once whatever the number of findings, which are joined
//! locally. It stops after `MAX_PAGES` pages (5,000 entries at Graph's page
//! size) and says so. The documentation does not say in which order the
//! entries come, so past the cap the newest may be among those not read.
//!
//! The log is beta, and needs `CustomSecAttributeAuditLogs.Read.All` (a
//! signed-in user also needs the Attribute Log Reader or Administrator
//! role). Any failure — a 403, a beta that is not served, a timeout — is
//! returned as the reason the findings are unexplained; the plan never
//! fails because of it.

use serde_json::Value;

use super::client::{GraphClient, GraphError};
use crate::plan::explain::{Actor, AuditEntry, AuditLog, AuditTarget, ModifiedProperty};

/// The permission the log needs.
pub const AUDIT_LOG_READ: &str = "CustomSecAttributeAuditLogs.Read.All";

/// What `plan --explain` loses without it.
pub const AUDIT_LOG_READ_LOSS: &str = "`plan --explain` cannot say who changed a drift finding, when, with which \
     app, nor its old and new values: the findings stay unexplained";

/// The log's path below the beta service root.
pub const AUDIT_LOG: &str = "auditLogs/customSecurityAttributeAudits";

/// Entries per page: the documented default and maximum of `$top`.
pub const PAGE_SIZE: usize = 100;

/// Pages read at most (5,000 entries).
pub const MAX_PAGES: usize = 50;

/// The entries of the log from `since` on (RFC 3339, UTC), or why they
/// could not be read. There is no upper bound: Graph's clock, not this
/// machine's, says what "now" is.
pub async fn read(client: &GraphClient, since: &str) -> Result<AuditLog, String> {
    match read_pages(client, since).await {
        Ok(log) => Ok(log),
        Err(error) if error.status() == Some(403) => Err(format!(
            "Microsoft Graph refused to read the custom security attribute audit log (403): the sign-in lacks \
             {AUDIT_LOG_READ} (a signed-in user also needs the Attribute Log Reader role), so the drift findings \
             are unexplained"
        )),
        Err(error) => Err(format!(
            "the custom security attribute audit log (Microsoft Graph beta) could not be read ({error}), so \
             the drift findings are unexplained"
        )),
    }
}

async fn read_pages(client: &GraphClient, since: &str) -> Result<AuditLog, GraphError> {
    let mut url = client.beta_url(AUDIT_LOG);
    url.query_pairs_mut()
        .append_pair("$filter", &format!("activityDateTime ge {since}"))
        .append_pair("$top", &PAGE_SIZE.to_string());
    let mut log = AuditLog::default();
    let mut next = Some(url);
    let mut pages = 0;
    while let Some(url) = next.take() {
        if pages == MAX_PAGES {
            log.incomplete = Some(format!(
                "the audit log holds more entries since {since} than the {MAX_PAGES} pages read ({} entries), so \
                 some findings may lack their latest changes (narrow the window with --since)",
                log.entries.len() + log.not_understood
            ));
            break;
        }
        let page = client.page(&url, &[]).await?;
        pages += 1;
        for item in &page.items {
            match entry(item) {
                Some(entry) => log.entries.push(entry),
                None => log.not_understood += 1,
            }
        }
        next = page.next;
    }
    log.pages = pages;
    tracing::debug!(pages, entries = log.entries.len(), "read the custom security attribute audit log");
    Ok(log)
}

/// One entry from its JSON; `None` without an `id` or `activityDateTime`.
pub fn entry(value: &Value) -> Option<AuditEntry> {
    let text = |value: &Value, key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
    Some(AuditEntry {
        id: text(value, "id")?,
        at: text(value, "activityDateTime")?,
        activity: text(value, "activityDisplayName").unwrap_or_default(),
        result: text(value, "result"),
        actor: actor(value.get("initiatedBy")),
        targets: value
            .get("targetResources")
            .and_then(Value::as_array)
            .map(|targets| targets.iter().map(target).collect())
            .unwrap_or_default(),
    })
}

/// `initiatedBy`: the user when there is one, else the app.
fn actor(initiated_by: Option<&Value>) -> Actor {
    let text = |value: &Value, key: &str| {
        value.get(key).and_then(Value::as_str).filter(|text| !text.is_empty()).map(str::to_owned)
    };
    let present = |key: &str| initiated_by.and_then(|by| by.get(key)).filter(|value| value.is_object());
    if let Some(user) = present("user") {
        return Actor::User {
            user_principal_name: text(user, "userPrincipalName"),
            id: text(user, "id"),
            display_name: text(user, "displayName"),
        };
    }
    if let Some(app) = present("app") {
        return Actor::App {
            display_name: text(app, "displayName"),
            app_id: text(app, "appId"),
            service_principal_id: text(app, "servicePrincipalId"),
        };
    }
    Actor::Unknown
}

fn target(value: &Value) -> AuditTarget {
    let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
    AuditTarget {
        id: text("id"),
        display_name: text("displayName"),
        kind: text("type"),
        user_principal_name: text("userPrincipalName"),
        modified: value
            .get("modifiedProperties")
            .and_then(Value::as_array)
            .map(|properties| properties.iter().filter_map(modified_property).collect())
            .unwrap_or_default(),
    }
}

/// A modified property; its values are strings in the documented examples
/// (JSON text such as `"[25]"`), anything else is kept as its JSON.
fn modified_property(value: &Value) -> Option<ModifiedProperty> {
    let side = |key: &str| match value.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(text.clone()),
        Some(other) => Some(other.to_string()),
    };
    Some(ModifiedProperty {
        name: value.get("displayName").and_then(Value::as_str)?.to_owned(),
        old_value: side("oldValue"),
        new_value: side("newValue"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The documented example of "Get customSecurityAttributeAudit"
    /// (api-reference/beta/api/customsecurityattributeaudit-get.md), as Graph answers it.
    const DOCUMENTED: &str = r#"{
       "id": "Directory_46ef8262-896f-4a39-9666-db82e22e778b_GXP3K_386490241",
       "category": "AttributeManagement",
       "correlationId": "f3b07799-da67-4a79-bb56-eed7ba2ca404",
       "result": "success",
       "resultReason": "",
       "activityDisplayName": "Update an attribute set",
       "activityDateTime": "2023-07-27T00:36:52.014638Z",
       "loggedByService": "Core Directory",
       "operationType": "Update",
       "userAgent": null,
       "initiatedBy": {
           "app": null,
           "user": {
               "id": "573bfb22-436c-40c7-82c2-d1b67677c33c",
               "displayName": null,
               "userPrincipalName": "admin1@contoso.com",
               "ipAddress": "{ipAddress}",
               "userType": null,
               "homeTenantId": null,
               "homeTenantName": null
           }
       },
       "targetResources": [
           {
               "id": "dd707ff2-fd98-4ce5-9733-eafa781d3b12",
               "displayName": "DesignTest",
               "type": "Other",
               "userPrincipalName": null,
               "groupType": null,
               "modifiedProperties": [
                   { "displayName": "MaxAttributesPerSet", "oldValue": "[25]", "newValue": "[20]" },
                   { "displayName": "Included Updated Properties", "oldValue": null, "newValue": "\"MaxAttributesPerSet\"" }
               ]
           }
       ],
       "additionalDetails": [ { "key": "User-Agent", "value": "Mozilla/5.0" } ]
    }"#;

    #[test]
    fn the_documented_entry_reads_with_its_user_target_and_values() {
        let entry = entry(&serde_json::from_str(DOCUMENTED).unwrap()).unwrap();
        assert_eq!(entry.activity, "Update an attribute set");
        assert_eq!(entry.at, "2023-07-27T00:36:52.014638Z");
        assert_eq!(entry.actor.words(), "user admin1@contoso.com");
        assert_eq!(entry.targets[0].display_name.as_deref(), Some("DesignTest"));
        assert_eq!(
            entry.targets[0].modified[0],
            ModifiedProperty {
                name: "MaxAttributesPerSet".into(),
                old_value: Some("[25]".into()),
                new_value: Some("[20]".into())
            }
        );
    }

    #[test]
    fn an_app_initiator_and_an_entry_without_its_time() {
        let app = serde_json::json!({
            "id": "1", "activityDateTime": "2026-12-01T00:00:00Z",
            "initiatedBy": { "user": null, "app": { "appId": "1111", "displayName": "HR sync" } }
        });
        assert_eq!(entry(&app).unwrap().actor.words(), "app HR sync (appId 1111)");
        assert_eq!(entry(&serde_json::json!({ "id": "2" })), None);
    }
}
