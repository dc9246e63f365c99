//! Exists so that the tests can see who changed what, as Entra's custom
//! security attribute audit log says it: every write the emulator performs
//! (attribute sets, definitions, allowed values, assigned values) is
//! recorded as a `customSecurityAttributeAudit` entry, and
//! `GET /beta/auditLogs/customSecurityAttributeAudits` serves them, filtered
//! by `activityDateTime` and paged, to a token that holds
//! `CustomSecAttributeAuditLogs.Read.All` (a signed-in user also needs the
//! Attribute Log Reader or Administrator role); others get the documented 403.
//!
//! Written from Microsoft's documentation, not from the client's code (see
//! ARCHITECTURE.md, "The emulator does not share the client's codec"): the
//! resource page and its examples
//! (<https://learn.microsoft.com/graph/api/resources/customsecurityattributeaudit?view=graph-rest-beta>,
//! <https://learn.microsoft.com/graph/api/auditlogroot-list-customsecurityattributeaudits?view=graph-rest-beta>)
//! and the list of logged activities in "Manage access to custom security
//! attributes" (<https://learn.microsoft.com/entra/fundamentals/custom-security-attributes-manage#view-audit-logs-for-attribute-changes>).
//! Documented and followed: `category` `AttributeManagement`,
//! `loggedByService` `Core Directory`, `operationType` `Add` / `Update`,
//! `result` `success`, `initiatedBy` with `user` or `app`, the six activity
//! names, `modifiedProperties` with values as JSON text in an array
//! (`"[25]"`) and an `Included Updated Properties` item naming the others,
//! `$top` at most 100.
//!
//! Emulator's choices, where the documentation is silent:
//! - A value change names the attribute `Set.Attribute` in
//!   `modifiedProperties`, its values as a JSON array (`["Alpine"]`, `[]`
//!   for none). A definition's target has the definition id
//!   (`Engineering_Project`) as `id` and `displayName`; a set's, the set id.
//! - A predefined value's create or update is logged as "Update custom
//!   security attribute definition in an attribute set" on its definition,
//!   with an `AllowedValues` property (no activity is documented for it).
//! - Only writes that succeed are logged; a principal write that changes no
//!   value is not logged.
//! - The initiator is read from the token's claims: a user token (`scp`)
//!   logs `user` (`oid`, `upn`), an app token logs `app` (`appid`,
//!   `app_displayname`, `oid`). A token that is not a JWT logs the app
//!   `entra-csa emulator client`. Writes through the control endpoint
//!   `POST /_emulator/write` log the initiator they name (by default the
//!   user `admin@emulator.invalid`), as a change made in the portal would.
//! - Entries are served newest first (the order is not documented).
//!   `$filter` is served for `activityDateTime` with `eq`, `ge` and `le`
//!   joined by `and`; Graph also filters other properties, which the
//!   emulator refuses with 400. `$orderby` is refused likewise.

use std::collections::BTreeMap;

use axum::http::{Method, StatusCode};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::error::GraphError;
use super::odata::QueryOptions;
use super::routes::{GraphRequest, GraphResponse, ResponseBody, RouteContext, Written};
use super::store::{PrincipalRef, Store, allowed_value_json, attribute_set_json};
use crate::graph::access::Claims;
use crate::model::PrincipalKind;

/// The path of the log below `/beta/`.
pub const PATH: &str = "auditLogs/customSecurityAttributeAudits";

/// The documented default and maximum `$top` of the list.
const MAX_PAGE: usize = 100;

/// The app a token that is not a JWT is logged as.
pub const OPAQUE_TOKEN_APP_ID: &str = "00000000-0000-0000-0000-00000000e4a1";
pub const OPAQUE_TOKEN_APP_NAME: &str = "entra-csa emulator client";

/// Who a control-endpoint write is logged as when it names no one.
pub const CONTROL_USER: &str = "admin@emulator.invalid";
const CONTROL_USER_ID: &str = "00000000-0000-0000-0000-0000000ad111";

/// Who made a write, as `initiatedBy` says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Initiator {
    User { id: Option<String>, user_principal_name: Option<String> },
    App { app_id: Option<String>, display_name: Option<String>, service_principal_id: Option<String> },
}

impl Initiator {
    /// The caller of a bearer token, from its claims.
    pub fn of_token(token: &str) -> Initiator {
        match Claims::from_jwt(token) {
            Ok(claims) if claims.is_delegated() || claims.upn.is_some() => {
                Initiator::User { id: claims.oid, user_principal_name: claims.upn }
            }
            Ok(claims) => Initiator::App {
                app_id: claims.appid,
                display_name: claims.app_displayname,
                service_principal_id: claims.oid,
            },
            Err(_) => Initiator::App {
                app_id: Some(OPAQUE_TOKEN_APP_ID.into()),
                display_name: Some(OPAQUE_TOKEN_APP_NAME.into()),
                service_principal_id: None,
            },
        }
    }

    /// The user a control-endpoint write names by default.
    pub fn control_user() -> Initiator {
        Initiator::User { id: Some(CONTROL_USER_ID.into()), user_principal_name: Some(CONTROL_USER.into()) }
    }

    /// `initiatedBy` as the control endpoint takes it: `{"user": {"userPrincipalName", "id"}}`
    /// or `{"app": {"appId", "displayName"}}`.
    pub fn from_json(value: &Value) -> Result<Initiator, String> {
        let text = |object: &Value, key: &str| object.get(key).and_then(Value::as_str).map(str::to_owned);
        if let Some(user) = value.get("user").filter(|user| user.is_object()) {
            return Ok(Initiator::User {
                id: text(user, "id"),
                user_principal_name: text(user, "userPrincipalName"),
            });
        }
        if let Some(app) = value.get("app").filter(|app| app.is_object()) {
            return Ok(Initiator::App {
                app_id: text(app, "appId"),
                display_name: text(app, "displayName"),
                service_principal_id: text(app, "servicePrincipalId"),
            });
        }
        Err("initiatedBy names neither a user nor an app".into())
    }

    fn to_json(&self) -> Value {
        match self {
            Initiator::User { id, user_principal_name } => json!({
                "app": null,
                "user": {
                    "id": id, "displayName": null, "userPrincipalName": user_principal_name,
                    "ipAddress": "127.0.0.1", "userType": null, "homeTenantId": null, "homeTenantName": null
                }
            }),
            Initiator::App { app_id, display_name, service_principal_id } => json!({
                "user": null,
                "app": {
                    "appId": app_id, "displayName": display_name,
                    "servicePrincipalId": service_principal_id, "servicePrincipalName": null
                }
            }),
        }
    }
}

/// What a write is about, and how it stood before.
pub(super) struct Pending {
    written: Written,
    before: Option<Map<String, Value>>,
}

/// Notes what `request` is about to change, when it is a write the log records.
pub(super) fn before_write(store: &Store, request: &GraphRequest) -> Option<Pending> {
    if !request.is_write() || request.beta {
        return None;
    }
    let written = super::routes::written(&request.path)?;
    let before = snapshot(store, &written);
    Some(Pending { written, before })
}

/// The object a write names, as Graph would answer it now.
fn snapshot(store: &Store, written: &Written) -> Option<Map<String, Value>> {
    match written {
        Written::AttributeSet(id) => {
            store.attribute_set_index(id).map(|index| attribute_set_json(&store.attribute_sets[index]))
        }
        Written::Definition(id) => store.definition(id).ok().map(|definition| definition.to_json(false)),
        Written::AllowedValue(definition, value) => store
            .definition(definition)
            .ok()?
            .allowed_values()
            .iter()
            .find(|held| held.id == *value)
            .map(allowed_value_json),
        Written::Principal(kind, key, by_app_id) => {
            let reference =
                if *by_app_id { PrincipalRef::AppId(key) } else { PrincipalRef::IdOrUserPrincipalName(key) };
            let index = store.principal_index(*kind, reference)?;
            Some(store.principals(*kind)[index].to_json())
        }
        Written::AttributeSets | Written::Definitions | Written::AllowedValues(_) => None,
    }
}

/// The audit entry of a write that succeeded; `None` when nothing is logged.
pub(super) fn after_write(
    store: &Store,
    pending: Pending,
    response: &GraphResponse,
    initiator: &Initiator,
    at: OffsetDateTime,
    sequence: usize,
) -> Option<Value> {
    if !response.status.is_success() {
        return None;
    }
    let created = match &response.body {
        ResponseBody::Json(Value::Object(body)) => Some(
            body.iter()
                .filter(|(key, _)| !key.starts_with('@'))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        _ => None,
    };
    let after = snapshot(store, &pending.written);
    let before = pending.before;
    let other = |id: &str| target(id, Some(id), "Other", None);
    let (activity, operation, target) = match &pending.written {
        Written::AttributeSets => {
            let created: Map<String, Value> = created?;
            let id = created.get("id").and_then(Value::as_str)?.to_owned();
            ("Add an attribute set", "Add", other(&id).with(properties(None, Some(&created))))
        }
        Written::AttributeSet(id) => {
            ("Update an attribute set", "Update", other(id).with(properties(before.as_ref(), after.as_ref())))
        }
        Written::Definitions => {
            let created: Map<String, Value> = created?;
            let id = created.get("id").and_then(Value::as_str)?.to_owned();
            (
                "Add custom security attribute definition in an attribute set",
                "Add",
                other(&id).with(properties(None, Some(&created))),
            )
        }
        Written::Definition(id) => (
            "Update custom security attribute definition in an attribute set",
            "Update",
            other(id).with(properties(before.as_ref(), after.as_ref())),
        ),
        Written::AllowedValues(definition) | Written::AllowedValue(definition, _) => {
            let after = after.or(created);
            let values = |value: Option<&Map<String, Value>>| {
                value.map(|value| Value::String(Value::Array(vec![Value::Object(value.clone())]).to_string()))
            };
            let changes = vec![("AllowedValues".to_owned(), values(before.as_ref()), values(after.as_ref()))];
            let id = store.definition(definition).ok().map_or_else(|| definition.clone(), |held| held.id());
            (
                "Update custom security attribute definition in an attribute set",
                "Update",
                other(&id).with(changes),
            )
        }
        Written::Principal(kind, ..) => {
            let after = after?;
            let changes = value_changes(before.as_ref(), &after);
            if changes.is_empty() {
                return None;
            }
            let text = |key: &str| after.get(key).and_then(Value::as_str);
            let (activity, kind_name, upn) = match kind {
                PrincipalKind::User => {
                    ("Update attribute values assigned to a user", "User", text("userPrincipalName"))
                }
                PrincipalKind::ServicePrincipal => {
                    ("Update attribute values assigned to a servicePrincipal", "ServicePrincipal", None)
                }
            };
            (activity, "Update", target(text("id")?, text("displayName"), kind_name, upn).with(changes))
        }
    };
    let correlation = guid();
    let mut at = at;
    if let Ok(truncated) = at.replace_nanosecond(at.nanosecond() / 1_000 * 1_000) {
        at = truncated;
    }
    Some(json!({
        "id": format!("Directory_{correlation}_{sequence}"),
        "category": "AttributeManagement",
        "correlationId": correlation,
        "result": "success",
        "resultReason": "",
        "activityDisplayName": activity,
        "activityDateTime": at.format(&Rfc3339).unwrap_or_default(),
        "loggedByService": "Core Directory",
        "operationType": operation,
        "userAgent": null,
        "initiatedBy": initiator.to_json(),
        "targetResources": [target.0],
        "additionalDetails": []
    }))
}

/// A `targetResources[]` item being built.
struct Target(Value);

fn target(id: &str, display_name: Option<&str>, kind: &str, upn: Option<&str>) -> Target {
    Target(json!({
        "id": id, "displayName": display_name, "type": kind, "userPrincipalName": upn,
        "groupType": null, "modifiedProperties": []
    }))
}

impl Target {
    /// With these `(name, old, new)` changes, and the `Included Updated Properties` item naming them.
    fn with(mut self, changes: Vec<(String, Option<Value>, Option<Value>)>) -> Target {
        let names: Vec<&str> = changes.iter().map(|(name, ..)| name.as_str()).collect();
        let mut items: Vec<Value> = changes
            .iter()
            .map(|(name, old, new)| json!({ "displayName": name, "oldValue": old, "newValue": new }))
            .collect();
        items.push(json!({
            "displayName": "Included Updated Properties",
            "oldValue": null,
            "newValue": format!("\"{}\"", names.join(", ")),
        }));
        self.0["modifiedProperties"] = Value::Array(items);
        self
    }
}

/// The properties that differ, named as the documented example names them
/// (`MaxAttributesPerSet`), values as JSON text in an array (`"[25]"`).
fn properties(
    before: Option<&Map<String, Value>>,
    after: Option<&Map<String, Value>>,
) -> Vec<(String, Option<Value>, Option<Value>)> {
    let empty = Map::new();
    let (before, after) = (before.unwrap_or(&empty), after.unwrap_or(&empty));
    let mut keys: Vec<&String> = before.keys().chain(after.keys()).filter(|key| *key != "id").collect();
    keys.sort();
    keys.dedup();
    let wrapped = |value: Option<&Value>| match value {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => Some(Value::String(Value::Array(items.clone()).to_string())),
        Some(value) => Some(Value::String(format!("[{value}]"))),
    };
    keys.into_iter()
        .filter(|key| before.get(*key) != after.get(*key))
        .map(|key| {
            let mut name = key.clone();
            if let Some(first) = name.get_mut(0..1) {
                first.make_ascii_uppercase();
            }
            (name, wrapped(before.get(key)), wrapped(after.get(key)))
        })
        .collect()
}

/// The assigned values that differ, as `Set.Attribute` with JSON arrays.
fn value_changes(
    before: Option<&Map<String, Value>>,
    after: &Map<String, Value>,
) -> Vec<(String, Option<Value>, Option<Value>)> {
    let values = |principal: Option<&Map<String, Value>>| {
        let mut flat = BTreeMap::new();
        let Some(Value::Object(sets)) =
            principal.and_then(|principal| principal.get("customSecurityAttributes"))
        else {
            return flat;
        };
        for (set, members) in sets {
            let Value::Object(members) = members else { continue };
            for (attribute, value) in members.iter().filter(|(key, _)| !key.contains('@')) {
                flat.insert(format!("{set}.{attribute}"), value.clone());
            }
        }
        flat
    };
    let (before, after) = (values(before), values(Some(after)));
    let as_array = |value: Option<&Value>| {
        Some(Value::String(match value {
            None => "[]".to_owned(),
            Some(Value::Array(items)) => Value::Array(items.clone()).to_string(),
            Some(value) => format!("[{value}]"),
        }))
    };
    let mut names: Vec<&String> = before.keys().chain(after.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter(|name| before.get(*name) != after.get(*name))
        .map(|name| (name.clone(), as_array(before.get(name)), as_array(after.get(name))))
        .collect()
}

/// A random GUID, as `correlationId`.
fn guid() -> String {
    let bits: u128 = rand::random();
    let hex = format!("{bits:032x}");
    format!("{}-{}-4{}-a{}-{}", &hex[0..8], &hex[8..12], &hex[13..16], &hex[17..20], &hex[20..32])
}

/// `GET /beta/auditLogs/customSecurityAttributeAudits[/{id}]`.
pub(super) fn serve(
    entries: &[Value],
    request: &GraphRequest,
    context: &RouteContext,
    id: Option<&str>,
) -> Result<GraphResponse, GraphError> {
    if request.method != Method::GET {
        return Err(GraphError::method_not_allowed());
    }
    let context_url = format!("{}/beta/$metadata#{PATH}", context.base_url);
    if let Some(id) = id {
        let mut entry = entries
            .iter()
            .find(|entry| entry.get("id").and_then(Value::as_str) == Some(id))
            .cloned()
            .ok_or_else(|| GraphError::not_found(id))?;
        entry["@odata.context"] = json!(format!("{context_url}/$entity"));
        return Ok(GraphResponse::json(StatusCode::OK, entry));
    }
    let mut filter = None;
    let mut rest = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in url::form_urlencoded::parse(request.query.as_bytes()) {
        if key.eq_ignore_ascii_case("$filter") {
            filter = Some(value.into_owned());
        } else {
            rest.append_pair(&key, &value);
        }
    }
    let mut options = QueryOptions::parse(&rest.finish(), &["$top", "$skiptoken"])?;
    if options.top.is_some_and(|top| top > MAX_PAGE) {
        return Err(GraphError::bad_request(format!(
            "Invalid page size specified: '{}'. Must be between 1 and {MAX_PAGE} inclusive.",
            options.top.unwrap_or_default()
        )));
    }
    let bounds = match &filter {
        Some(text) => {
            options.parameters.push(("$filter".into(), text.clone()));
            time_filter(text)?
        }
        None => Vec::new(),
    };
    // Newest first.
    let matching: Vec<&Value> = entries
        .iter()
        .rev()
        .filter(|entry| {
            let at = entry
                .get("activityDateTime")
                .and_then(Value::as_str)
                .and_then(|at| OffsetDateTime::parse(at, &Rfc3339).ok());
            bounds.iter().all(|bound| at.is_some_and(|at| bound.holds(at)))
        })
        .collect();
    let page_size = context.page_size.min(MAX_PAGE);
    let total = matching.len();
    let start = options.skip_offset.min(total);
    let end = start.saturating_add(options.page_length(page_size).min(MAX_PAGE)).min(total);
    let mut body = Map::new();
    body.insert("@odata.context".into(), json!(context_url));
    if end < total {
        let link = options.next_link(&context.base_url, PATH, end).replacen("/v1.0/", "/beta/", 1);
        body.insert("@odata.nextLink".into(), json!(link));
    }
    body.insert(
        "value".into(),
        Value::Array(matching[start..end].iter().map(|entry| (*entry).clone()).collect()),
    );
    Ok(GraphResponse::json(StatusCode::OK, Value::Object(body)))
}

/// One comparison of `activityDateTime`.
struct Bound {
    operator: &'static str,
    at: OffsetDateTime,
}

impl Bound {
    fn holds(&self, at: OffsetDateTime) -> bool {
        match self.operator {
            "eq" => at == self.at,
            "ge" => at >= self.at,
            _ => at <= self.at,
        }
    }
}

/// `activityDateTime ge 2026-12-01T00:00:00Z and activityDateTime le …`.
fn time_filter(text: &str) -> Result<Vec<Bound>, GraphError> {
    let refused = || {
        GraphError::unsupported_query(format!(
            "Invalid filter clause: the emulator filters the audit log by activityDateTime with eq, ge and le \
             joined by 'and', not '{text}'."
        ))
    };
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut bounds = Vec::new();
    for (index, clause) in words.chunks(4).enumerate() {
        let (property, operator, literal) = match clause {
            [property, operator, literal] | [property, operator, literal, _] => (property, operator, literal),
            _ => return Err(refused()),
        };
        if clause.len() == 4 && !clause[3].eq_ignore_ascii_case("and") || index * 4 + 4 == words.len() {
            return Err(refused());
        }
        if !property.eq_ignore_ascii_case("activityDateTime") {
            return Err(refused());
        }
        let operator = match operator.to_ascii_lowercase().as_str() {
            "eq" => "eq",
            "ge" => "ge",
            "le" => "le",
            _ => return Err(refused()),
        };
        let at = OffsetDateTime::parse(literal, &Rfc3339).map_err(|_| refused())?;
        bounds.push(Bound { operator, at });
    }
    if bounds.is_empty() {
        return Err(refused());
    }
    Ok(bounds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_time_filter_takes_eq_ge_le_joined_by_and_only() {
        let bounds = time_filter(
            "activityDateTime ge 2026-12-01T00:00:00Z and activityDateTime le 2026-12-02T00:00:00Z",
        )
        .unwrap();
        assert_eq!(bounds.len(), 2);
        let noon = OffsetDateTime::parse("2026-12-01T12:00:00Z", &Rfc3339).unwrap();
        assert!(bounds.iter().all(|bound| bound.holds(noon)));
        for refused in [
            "activityDisplayName eq 'Add an attribute set'",
            "activityDateTime gt 2026-12-01T00:00:00Z",
            "activityDateTime ge 2026-12-01T00:00:00Z and",
            "activityDateTime ge 2026-12-01T00:00:00Z or activityDateTime le 2026-12-02T00:00:00Z",
            "activityDateTime ge yesterday",
            "",
        ] {
            assert!(time_filter(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn a_token_names_its_user_or_app_and_an_opaque_one_the_emulator_client() {
        use base64::Engine;
        let jwt = |claims: Value| {
            format!(
                "eyJhbGciOiJub25lIn0.{}.c2ln",
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.to_string())
            )
        };
        assert_eq!(
            Initiator::of_token(&jwt(json!({ "scp": "x", "upn": "bob@contoso.com", "oid": "b" }))),
            Initiator::User { id: Some("b".into()), user_principal_name: Some("bob@contoso.com".into()) }
        );
        assert!(matches!(
            Initiator::of_token(&jwt(json!({ "roles": [], "appid": "1111", "app_displayname": "HR sync" }))),
            Initiator::App { app_id: Some(id), display_name: Some(name), .. } if id == "1111" && name == "HR sync"
        ));
        assert!(matches!(
            Initiator::of_token("any"),
            Initiator::App { app_id: Some(id), .. } if id == OPAQUE_TOKEN_APP_ID
        ));
    }

    #[test]
    fn set_properties_are_named_and_wrapped_as_the_documented_example() {
        let before = json!({ "id": "DesignTest", "maxAttributesPerSet": 25, "description": "d" });
        let after = json!({ "id": "DesignTest", "maxAttributesPerSet": 20, "description": "d" });
        let changes = properties(before.as_object(), after.as_object());
        assert_eq!(
            changes,
            vec![("MaxAttributesPerSet".to_owned(), Some(json!("[25]")), Some(json!("[20]")))]
        );
        let target = target("DesignTest", Some("DesignTest"), "Other", None).with(changes);
        assert_eq!(
            target.0["modifiedProperties"][1],
            json!({ "displayName": "Included Updated Properties", "oldValue": null, "newValue": "\"MaxAttributesPerSet\"" })
        );
    }
}
