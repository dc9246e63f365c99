//! The Graph v1.0 endpoints the tool uses (R-OV lists them), mapped from a
//! method and path onto the store: attribute sets, definitions, allowed
//! values, users and service principals. Requests arrive here already
//! authenticated, throttled and fault-free, with their token's grants, which
//! each route checks (`need`); the same function serves a direct HTTP
//! request and a `$batch` item.

use std::time::{Duration, Instant};

use axum::http::{HeaderMap, Method, StatusCode};
use serde_json::{Map, Value, json};

use super::document::PolicyDocument;
use super::error::GraphError;
use super::expansion::Expansion;
use super::odata::{Filter, QueryOptions, select_properties};
use super::permissions::{Grants, Need};
use super::store::{PrincipalRef, Store, StoredPrincipal, allowed_value_json, attribute_set_json};
use crate::model::{PrincipalKind, definition_id};

/// One Graph request, as the HTTP edge or a batch item hands it over.
#[derive(Debug, Clone)]
pub struct GraphRequest {
    pub method: Method,
    /// The path below `/v1.0/`, still percent-encoded, without a leading `/`.
    pub path: String,
    /// The raw query string, without `?`.
    pub query: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// What the caller's token allows (a batch item inherits its batch's).
    pub grants: Grants,
    /// Sent under `/beta/` rather than `/v1.0/` (only the Conditional Access
    /// policies and the audit log are served there).
    pub beta: bool,
    /// Who the caller is, as the audit log records a write (`emulator::audit`).
    pub initiator: super::audit::Initiator,
}

impl GraphRequest {
    /// `POST` and `PATCH` change the store; so would `PUT` and `DELETE`.
    pub fn is_write(&self) -> bool {
        matches!(self.method, Method::POST | Method::PATCH | Method::PUT | Method::DELETE)
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// `ConsistencyLevel: eventual`, which advanced queries need (C-AQ).
    fn eventual_consistency(&self) -> bool {
        self.header("consistencylevel").is_some_and(|level| level.trim().eq_ignore_ascii_case("eventual"))
    }

    /// An advanced query, answered from Graph's eventually consistent
    /// index: a read with `ConsistencyLevel: eventual`, which every advanced
    /// query (`$count`, `$search`, the advanced operators) needs; without it
    /// `$search` and `/$count` are refused and `$count=true` is ignored.
    pub fn is_advanced(&self) -> bool {
        !self.is_write() && self.eventual_consistency()
    }
}

/// What the request sees of the emulator besides the store.
#[derive(Debug, Clone)]
pub struct RouteContext {
    /// `http://host:port`, for `@odata.context` and `@odata.nextLink`.
    pub base_url: String,
    pub page_size: usize,
    pub expansion: Expansion,
    pub replication_lag: Duration,
    pub now: Instant,
    /// Filters a stricter Graph refuses (`EmulatorConfig::refuse_upn_ranges`,
    /// `refuse_app_id_prefix`).
    pub refuse_upn_ranges: bool,
    pub refuse_app_id_prefix: bool,
    /// `EmulatorConfig::limit_conditional_access_reads`.
    pub limit_conditional_access_reads: bool,
}

/// A response body before the HTTP edge renders it.
#[derive(Debug, Clone, PartialEq)]
pub enum ResponseBody {
    Empty,
    Json(Value),
    Text(String),
    Error(GraphError),
}

/// A Graph response before the HTTP edge (or a batch) renders it.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphResponse {
    pub status: StatusCode,
    pub headers: Vec<(String, String)>,
    pub body: ResponseBody,
}

impl GraphResponse {
    pub fn json(status: StatusCode, body: Value) -> Self {
        GraphResponse { status, headers: Vec::new(), body: ResponseBody::Json(body) }
    }

    pub fn no_content() -> Self {
        GraphResponse { status: StatusCode::NO_CONTENT, headers: Vec::new(), body: ResponseBody::Empty }
    }

    pub fn error(error: GraphError) -> Self {
        GraphResponse { status: error.status, headers: Vec::new(), body: ResponseBody::Error(error) }
    }

    fn with_header(mut self, name: &str, value: String) -> Self {
        self.headers.push((name.to_owned(), value));
        self
    }
}

/// Which resource a path names.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    AttributeSets,
    AttributeSet(String),
    Definitions,
    Definition(String),
    AllowedValues(String),
    AllowedValue(String, String),
    Principals(PrincipalKind),
    PrincipalCount(PrincipalKind),
    Principal(PrincipalKind, PrincipalKey),
    /// `/identity/conditionalAccess/policies`, read-only.
    ConditionalAccessPolicies,
    /// `/policies/defaultAppManagementPolicy`, read-only.
    DefaultAppManagementPolicy,
    /// `/policies/appManagementPolicies`, read-only.
    AppManagementPolicies,
    /// One policy of a collection above, by id (`identity/conditionalAccess/policies`
    /// or `policies/appManagementPolicies`), read-only.
    Policy {
        collection: &'static str,
        id: String,
    },
    /// `/groups`, read-only.
    Groups,
    /// `/groups/{id}`, read-only.
    Group(String),
    /// `/groups/{id}/members` (false) or `/transitiveMembers` (true), read-only.
    GroupMembers(String, bool),
    /// `/identityGovernance/lifecycleWorkflows/workflows`, read-only.
    Workflows,
    /// `/identityGovernance/lifecycleWorkflows/workflows/{id}`, read-only.
    Workflow(String),
    /// `/auditLogs/customSecurityAttributeAudits[/{id}]`, beta only, read-only.
    AuditLog(Option<String>),
}

/// What a write's path names, for the audit log (`emulator::audit`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    AttributeSets,
    AttributeSet(String),
    Definitions,
    Definition(String),
    AllowedValues(String),
    AllowedValue(String, String),
    /// The kind, the key as the path gives it, and whether it is an appId.
    Principal(PrincipalKind, String, bool),
}

/// What the path of a write names, when the audit log records such writes.
pub fn written(path: &str) -> Option<Written> {
    Some(match parse_route(path).ok()? {
        Route::AttributeSets => Written::AttributeSets,
        Route::AttributeSet(id) => Written::AttributeSet(id),
        Route::Definitions => Written::Definitions,
        Route::Definition(id) => Written::Definition(id),
        Route::AllowedValues(id) => Written::AllowedValues(id),
        Route::AllowedValue(id, value) => Written::AllowedValue(id, value),
        Route::Principal(kind, PrincipalKey::IdOrUserPrincipalName(key)) => {
            Written::Principal(kind, key, false)
        }
        Route::Principal(kind, PrincipalKey::AppId(key)) => Written::Principal(kind, key, true),
        _ => return None,
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PrincipalKey {
    IdOrUserPrincipalName(String),
    AppId(String),
}

impl PrincipalKey {
    fn lookup(&self) -> PrincipalRef<'_> {
        match self {
            PrincipalKey::IdOrUserPrincipalName(key) => PrincipalRef::IdOrUserPrincipalName(key),
            PrincipalKey::AppId(app_id) => PrincipalRef::AppId(app_id),
        }
    }
}

/// Serves one Graph request against the store.
pub fn dispatch(store: &mut Store, request: &GraphRequest, context: &RouteContext) -> GraphResponse {
    match route(store, request, context) {
        Ok(response) => response,
        Err(error) => GraphResponse::error(error),
    }
}

fn parse_route(path: &str) -> Result<Route, GraphError> {
    let segments: Vec<String> =
        path.trim_matches('/').split('/').filter(|s| !s.is_empty()).map(percent_decode).collect();
    let segments = keys_as_segments(segments)?;
    let lower: Vec<String> = segments.iter().map(|s| s.to_ascii_lowercase()).collect();
    let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
    let route = match lower.as_slice() {
        ["directory", "attributesets"] => Route::AttributeSets,
        ["directory", "attributesets", _] => Route::AttributeSet(segments[2].clone()),
        ["directory", "customsecurityattributedefinitions"] => Route::Definitions,
        ["directory", "customsecurityattributedefinitions", _] => Route::Definition(segments[2].clone()),
        ["directory", "customsecurityattributedefinitions", _, "allowedvalues"] => {
            Route::AllowedValues(segments[2].clone())
        }
        ["directory", "customsecurityattributedefinitions", _, "allowedvalues", _] => {
            Route::AllowedValue(segments[2].clone(), segments[4].clone())
        }
        ["identity", "conditionalaccess", "policies"] => Route::ConditionalAccessPolicies,
        ["identity", "conditionalaccess", "policies", _] => {
            Route::Policy { collection: "identity/conditionalAccess/policies", id: segments[3].clone() }
        }
        ["policies", "appmanagementpolicies", _] => {
            Route::Policy { collection: "policies/appManagementPolicies", id: segments[2].clone() }
        }
        ["policies", "defaultappmanagementpolicy"] => Route::DefaultAppManagementPolicy,
        ["policies", "appmanagementpolicies"] => Route::AppManagementPolicies,
        ["identitygovernance", "lifecycleworkflows", "workflows"] => Route::Workflows,
        ["identitygovernance", "lifecycleworkflows", "workflows", _] => Route::Workflow(segments[3].clone()),
        ["auditlogs", "customsecurityattributeaudits"] => Route::AuditLog(None),
        ["auditlogs", "customsecurityattributeaudits", _] => Route::AuditLog(Some(segments[2].clone())),
        ["groups"] => Route::Groups,
        ["groups", _] => Route::Group(segments[1].clone()),
        ["groups", _, "members"] => Route::GroupMembers(segments[1].clone(), false),
        ["groups", _, "transitivemembers"] => Route::GroupMembers(segments[1].clone(), true),
        ["users"] => Route::Principals(PrincipalKind::User),
        ["users", "$count"] => Route::PrincipalCount(PrincipalKind::User),
        ["users", key] if key.starts_with('$') => {
            // user-get: "/users/$x@contoso.com" fails with 400; the key must
            // be written as a literal, /users('$x@contoso.com'). The message
            // is the emulator's choice.
            return Err(GraphError::bad_request(format!(
                "Resource not found for the segment '{}'. A key that begins with '$' must be written as users('{}').",
                segments[1], segments[1]
            )));
        }
        ["users", _] => {
            Route::Principal(PrincipalKind::User, PrincipalKey::IdOrUserPrincipalName(segments[1].clone()))
        }
        [single] if single.starts_with("users(") => Route::Principal(
            PrincipalKind::User,
            PrincipalKey::IdOrUserPrincipalName(user_key_literal(&segments[0])?),
        ),
        ["serviceprincipals"] => Route::Principals(PrincipalKind::ServicePrincipal),
        ["serviceprincipals", "$count"] => Route::PrincipalCount(PrincipalKind::ServicePrincipal),
        ["serviceprincipals", _] => Route::Principal(
            PrincipalKind::ServicePrincipal,
            PrincipalKey::IdOrUserPrincipalName(segments[1].clone()),
        ),
        [single] if single.starts_with("serviceprincipals(appid=") => {
            let app_id = segments[0]["servicePrincipals(appId=".len()..]
                .trim_end_matches(')')
                .trim_matches('\'')
                .to_owned();
            Route::Principal(PrincipalKind::ServicePrincipal, PrincipalKey::AppId(app_id))
        }
        _ => {
            // Emulator's choice: Graph answers unknown segments with a 400.
            return Err(GraphError::bad_request(format!(
                "Resource not found for the segment '{}'.",
                segments.last().map(String::as_str).unwrap_or_default()
            )));
        }
    };
    Ok(route)
}

/// The collections whose members are also addressed with the key in
/// parentheses: OData's canonical form, `customSecurityAttributeDefinitions('Eng_Project')`,
/// beside the key as a segment, `customSecurityAttributeDefinitions/Eng_Project`
/// (OData URL Conventions 4.01, "Addressing Entities" and "Key-as-Segment
/// Convention": https://docs.oasis-open.org/odata/odata/v4.01/odata-v4.01-part2-url-conventions.html).
/// Graph writes the parenthesised form itself in `@odata.context` (the
/// allowed-value examples: `customSecurityAttributeDefinitions('Engineering_Project')/allowedValues`),
/// and this emulator in its `Location` answers too.
const KEYED_IN_PARENTHESES: &[&str] =
    &["attributesets", "customsecurityattributedefinitions", "allowedvalues"];

/// `name('key')` of those collections split into `name` and `key` (an
/// OData string literal, `''` for a quote), so both forms route alike. A key
/// that is not a quoted literal is refused, as Graph refuses it.
fn keys_as_segments(segments: Vec<String>) -> Result<Vec<String>, GraphError> {
    let mut split = Vec::with_capacity(segments.len() + 2);
    for segment in segments {
        let keyed = segment.split_once('(').filter(|(name, rest)| {
            KEYED_IN_PARENTHESES.contains(&name.to_ascii_lowercase().as_str()) && rest.ends_with(')')
        });
        let Some((name, rest)) = keyed else {
            split.push(segment);
            continue;
        };
        let literal = rest.strip_suffix(')').unwrap_or(rest).trim();
        match literal.strip_prefix('\'').and_then(|inner| inner.strip_suffix('\'')) {
            Some(key) if !key.is_empty() => {
                split.push(name.to_owned());
                split.push(key.replace("''", "'"));
            }
            _ => {
                return Err(GraphError::bad_request(format!(
                    "Bad Request - Error in query syntax: '{segment}'."
                )));
            }
        }
    }
    Ok(split)
}

/// The key of `users('…')` or of the alternate key the metadata declares,
/// `users(userPrincipalName='…')`: an OData string literal, `''` for a quote.
fn user_key_literal(segment: &str) -> Result<String, GraphError> {
    let inner = segment["users(".len()..].strip_suffix(')');
    let literal = inner.map(|inner| match inner.split_once('=') {
        Some((name, literal)) if name.trim().eq_ignore_ascii_case("userPrincipalName") => literal.trim(),
        Some(_) => "",
        None => inner.trim(),
    });
    match literal.and_then(|literal| literal.strip_prefix('\'')?.strip_suffix('\'')) {
        Some(key) if !key.is_empty() => Ok(key.replace("''", "'")),
        _ => Err(GraphError::bad_request(format!("Bad Request - Error in query syntax: '{segment}'."))),
    }
}

fn route(
    store: &mut Store,
    request: &GraphRequest,
    context: &RouteContext,
) -> Result<GraphResponse, GraphError> {
    let method = &request.method;
    if *method != Method::GET && *method != Method::POST && *method != Method::PATCH {
        // No DELETE (or PUT) exists for any resource the emulator serves
        // (R-AS, R-DEF, R-AV), so it is refused whatever the path.
        return Err(GraphError::method_not_allowed());
    }
    // C-AQ: `$search` without `ConsistencyLevel: eventual` fails on any directory collection.
    let searches = url::form_urlencoded::parse(request.query.as_bytes())
        .any(|(key, _)| key.eq_ignore_ascii_case("$search"));
    if searches && !request.eventual_consistency() {
        return Err(search_needs_eventual_consistency());
    }
    let route = parse_route(&request.path)?;
    let audit_log = matches!(route, Route::AuditLog(_));
    if request.beta && route != Route::ConditionalAccessPolicies && !audit_log {
        // Emulator's choice: beta serves only what the client reads there.
        return Err(GraphError::bad_request(format!(
            "the emulator serves only identity/conditionalAccess/policies and {} under /beta/, not '{}'",
            super::audit::PATH,
            request.path
        )));
    }
    if audit_log && !request.beta {
        // The log exists only in beta; the message is the emulator's choice.
        return Err(GraphError::bad_request(format!(
            "Resource not found for the segment 'customSecurityAttributeAudits': {} is served under /beta/ only.",
            super::audit::PATH
        )));
    }
    if !request.grants.allow(need(&route, method)) {
        return Err(GraphError::forbidden());
    }
    if let Route::AuditLog(id) = &route {
        return super::audit::serve(&store.audit, request, context, id.as_deref());
    }
    match (route, method) {
        (Route::AttributeSets, &Method::GET) => list_attribute_sets(store, request, context),
        (Route::AttributeSets, &Method::POST) => {
            let set = store.create_attribute_set(&json_object(&request.body)?)?;
            let mut body = attribute_set_json(&set);
            body.insert(
                "@odata.context".into(),
                json!(context_url(context, "directory/attributeSets/$entity")),
            );
            Ok(created(
                body,
                format!("{}/v1.0/directory/attributeSets({})", context.base_url, key_literal(&set.id)),
            ))
        }
        (Route::AttributeSet(id), &Method::GET) => {
            let options = QueryOptions::parse(&request.query, &["$select"])?;
            let index = store.attribute_set_index(&id).ok_or_else(|| GraphError::not_found(&id))?;
            let entity = attribute_set_json(&store.attribute_sets[index]);
            check_select(&options, &["id", "description", "maxAttributesPerSet"], "attributeSet")?;
            Ok(entity_response(
                entity,
                &options,
                context_url(context, &select_fragment("directory/attributeSets", &options, true)),
            ))
        }
        (Route::AttributeSet(id), &Method::PATCH) => {
            store.update_attribute_set(&id, &json_object(&request.body)?)?;
            Ok(GraphResponse::no_content())
        }
        (Route::Definitions, &Method::GET) => list_definitions(store, request, context),
        (Route::Definitions, &Method::POST) => {
            let definition = store.create_definition(&json_object(&request.body)?, context.now)?;
            let mut body = definition.to_json(false);
            body.insert(
                "@odata.context".into(),
                json!(context_url(context, "directory/customSecurityAttributeDefinitions/$entity")),
            );
            Ok(created(
                body,
                format!(
                    "{}/v1.0/directory/customSecurityAttributeDefinitions({})",
                    context.base_url,
                    key_literal(&definition.id())
                ),
            ))
        }
        (Route::Definition(id), &Method::GET) => {
            let options = QueryOptions::parse(&request.query, &["$select", "$expand"])?;
            let expand = expand_allowed_values(&options)?;
            check_select(&options, DEFINITION_PROPERTIES, "customSecurityAttributeDefinition")?;
            let definition = store.definition(&id)?;
            let entity = definition.to_json(expand);
            let mut body = select_properties(&entity, options.selected());
            if expand && options.selected().is_some() {
                body.insert(
                    "allowedValues".into(),
                    entity.get("allowedValues").cloned().unwrap_or(json!([])),
                );
            }
            context.expansion.apply(&mut body, &definition.id(), &context.base_url);
            body.insert(
                "@odata.context".into(),
                json!(context_url(
                    context,
                    &select_fragment("directory/customSecurityAttributeDefinitions", &options, true)
                )),
            );
            Ok(GraphResponse::json(StatusCode::OK, Value::Object(body)))
        }
        (Route::Definition(id), &Method::PATCH) => {
            let odata_401 = request.header("odata-version").is_some_and(|version| version.trim() == "4.01");
            store.update_definition(&id, &json_object(&request.body)?, odata_401)?;
            Ok(GraphResponse::no_content())
        }
        (Route::AllowedValues(id), &Method::GET) => {
            let options = QueryOptions::parse(&request.query, &["$select", "$top", "$skiptoken"])?;
            check_select(&options, &["id", "isActive"], "allowedValue")?;
            let definition = store.definition(&id)?;
            let base =
                format!("directory/customSecurityAttributeDefinitions('{}')/allowedValues", definition.id());
            let context_fragment = select_fragment(&base, &options, false);
            Ok(list_response(
                definition.allowed_values(),
                |value| select_properties(&allowed_value_json(value), options.selected()),
                &options,
                context_url(context, &context_fragment),
                &request.path,
                context,
                false,
            ))
        }
        (Route::AllowedValues(id), &Method::POST) => {
            let (definition, value) = store.create_allowed_value(&id, &json_object(&request.body)?)?;
            let mut body = allowed_value_json(&value);
            body.insert(
                "@odata.context".into(),
                json!(context_url(
                    context,
                    &format!(
                        "directory/customSecurityAttributeDefinitions('{definition}')/allowedValues/$entity"
                    )
                )),
            );
            Ok(created(
                body,
                format!(
                    "{}/v1.0/directory/customSecurityAttributeDefinitions({})/allowedValues({})",
                    context.base_url,
                    key_literal(&definition),
                    key_literal(&value.id)
                ),
            ))
        }
        (Route::AllowedValue(id, value_id), &Method::GET) => {
            let options = QueryOptions::parse(&request.query, &["$select"])?;
            check_select(&options, &["id", "isActive"], "allowedValue")?;
            let definition = store.definition(&id)?;
            let value = definition
                .allowed_values()
                .iter()
                .find(|value| value.id == value_id)
                .ok_or_else(|| GraphError::not_found(&value_id))?;
            let base =
                format!("directory/customSecurityAttributeDefinitions('{}')/allowedValues", definition.id());
            Ok(entity_response(
                allowed_value_json(value),
                &options,
                context_url(context, &select_fragment(&base, &options, true)),
            ))
        }
        (Route::AllowedValue(id, value_id), &Method::PATCH) => {
            store.update_allowed_value(&id, &value_id, &json_object(&request.body)?)?;
            Ok(GraphResponse::no_content())
        }
        (Route::Principals(kind), &Method::GET) => list_principals(store, kind, request, context),
        (Route::PrincipalCount(kind), &Method::GET) => count_principals(store, kind, request, context),
        (Route::Principal(kind, key), &Method::GET) => {
            let options = QueryOptions::parse(&request.query, &["$select"])?;
            let index = store
                .principal_index(kind, key.lookup())
                .ok_or_else(|| GraphError::not_found(key_text(&key)))?;
            let entity =
                principal_view(&store.principals(kind)[index].to_json(), kind, &options, request.grants);
            let fragment = select_fragment(collection_name(kind), &options, true);
            let mut body = entity;
            body.insert("@odata.context".into(), json!(context_url(context, &fragment)));
            Ok(GraphResponse::json(StatusCode::OK, Value::Object(body)))
        }
        (Route::Principal(kind, key), &Method::PATCH) => {
            store.patch_principal(
                kind,
                key.lookup(),
                &json_object(&request.body)?,
                context.now,
                context.replication_lag,
            )?;
            Ok(GraphResponse::no_content())
        }
        (Route::ConditionalAccessPolicies, &Method::GET) => {
            conditional_access_policies(store, request, context)
        }
        (Route::Groups, &Method::GET) => {
            let options = QueryOptions::parse(&request.query, &["$select", "$top", "$skiptoken", "$filter"])?;
            check_select(&options, GROUP_PROPERTIES, "group")?;
            if let Some(filter) = &options.filter {
                check_filter_properties(filter, GROUP_PROPERTIES, "group")?;
            }
            // `displayName eq '…'` is how a client finds a group by name
            // (resources/group.md: displayName supports `eq`); Entra compares
            // the name ignoring case.
            let groups: Vec<Map<String, Value>> = store
                .groups
                .as_deref()
                .unwrap_or_default()
                .iter()
                .map(Store::group_json)
                .filter(|group| {
                    options.filter.as_ref().is_none_or(|filter| filter.matches(group, &["id", "displayName"]))
                })
                .collect();
            Ok(list_response(
                &groups,
                |group| select_properties(group, options.selected()),
                &options,
                context_url(context, &select_fragment("groups", &options, false)),
                &request.path,
                context,
                false,
            ))
        }
        (Route::Group(id), &Method::GET) => {
            let options = QueryOptions::parse(&request.query, &["$select"])?;
            check_select(&options, GROUP_PROPERTIES, "group")?;
            let group = store.group(&id).ok_or_else(|| GraphError::not_found(&id))?;
            Ok(entity_response(
                Store::group_json(group),
                &options,
                context_url(context, &select_fragment("groups", &options, true)),
            ))
        }
        (Route::GroupMembers(id, transitive), &Method::GET) => {
            let options = QueryOptions::parse(&request.query, &["$select", "$top", "$skiptoken"])?;
            let group = store.group(&id).ok_or_else(|| GraphError::not_found(&id))?;
            let members =
                if transitive { store.transitive_members(group) } else { store.direct_members(group) };
            Ok(list_response(
                &members,
                |member| member_view(member, &options, request.grants),
                &options,
                context_url(context, "directoryObjects"),
                &request.path,
                context,
                false,
            ))
        }
        (Route::Policy { collection, id }, &Method::GET) => {
            let options = QueryOptions::parse(&request.query, &[])?;
            let policies = if collection.starts_with("identity/") {
                store.conditional_access_policies.as_deref()
            } else {
                store.app_management_policies.as_deref()
            };
            let entity = policy_by_id(policies.unwrap_or_default(), &id)?;
            Ok(entity_response(entity, &options, context_url(context, &format!("{collection}/$entity"))))
        }
        (Route::AppManagementPolicies, &Method::GET) => Ok(list_policies(
            store.app_management_policies.as_deref().unwrap_or_default(),
            request,
            context,
            "policies/appManagementPolicies",
        )?),
        (Route::DefaultAppManagementPolicy, &Method::GET) => {
            let options = QueryOptions::parse(&request.query, &[])?;
            // Every tenant has one (tenantAppManagementPolicy); one the
            // document does not give reads as disabled, with no restrictions.
            let entity = store.default_app_management_policy.clone().unwrap_or_else(|| {
                let mut policy = Map::new();
                policy.insert("id".into(), json!("00000000-0000-0000-0000-000000000000"));
                policy.insert("displayName".into(), json!("Default app management tenant policy"));
                policy.insert("isEnabled".into(), json!(false));
                policy
            });
            Ok(entity_response(
                entity,
                &options,
                context_url(context, "policies/defaultAppManagementPolicy/$entity"),
            ))
        }
        // "List workflows" answers each workflow without its tasks, a
        // relationship that only "Get workflow" expands (by default).
        (Route::Workflows, &Method::GET) => {
            let listed: Vec<PolicyDocument> = store
                .lifecycle_workflows
                .as_deref()
                .unwrap_or_default()
                .iter()
                .map(|workflow| {
                    let mut listed = workflow.clone();
                    listed.remove("tasks");
                    listed
                })
                .collect();
            list_policies(&listed, request, context, "identityGovernance/lifecycleWorkflows/workflows")
        }
        (Route::Workflow(id), &Method::GET) => {
            let options = QueryOptions::parse(&request.query, &["$select"])?;
            let workflow = policy_by_id(store.lifecycle_workflows.as_deref().unwrap_or_default(), &id)?;
            Ok(entity_response(
                workflow,
                &options,
                context_url(context, "identityGovernance/lifecycleWorkflows/workflows/$entity"),
            ))
        }
        // The policies are served read-only: the tool never writes them.
        _ => Err(GraphError::method_not_allowed()),
    }
}

/// The policy (or workflow) of `policies` whose `id` is `id`, compared as
/// Graph compares ids (ignoring case); 404 when none is.
fn policy_by_id(policies: &[PolicyDocument], id: &str) -> Result<PolicyDocument, GraphError> {
    policies
        .iter()
        .find(|policy| {
            policy.get("id").and_then(Value::as_str).is_some_and(|held| held.eq_ignore_ascii_case(id))
        })
        .cloned()
        .ok_or_else(|| GraphError::not_found(id))
}

/// A page of policies, each as the state document holds it.
fn list_policies(
    policies: &[PolicyDocument],
    request: &GraphRequest,
    context: &RouteContext,
    fragment: &str,
) -> Result<GraphResponse, GraphError> {
    let options = QueryOptions::parse(&request.query, &["$top", "$skiptoken"])?;
    Ok(list_response(
        policies,
        Clone::clone,
        &options,
        context_url(context, fragment),
        &request.path,
        context,
        false,
    ))
}

/// `GET /{v1.0|beta}/identity/conditionalAccess/policies`
/// (<https://learn.microsoft.com/graph/api/conditionalaccessroot-list-policies>,
/// with `Policy.Read.All`). The state document holds each policy as beta
/// writes it; v1.0 answers without the fields that exist only in beta
/// (`clientApplications.includeAgentIdServicePrincipals`,
/// `excludeAgentIdServicePrincipals`, `agentIdServicePrincipalFilter` and
/// `conditions.agentIdRiskLevels`:
/// <https://learn.microsoft.com/graph/api/resources/conditionalaccessclientapplications?view=graph-rest-beta>
/// against the v1.0 page), as a real tenant does. With
/// `limit_conditional_access_reads`, at most one request a second is
/// answered, for all callers; the next is refused with 429 and no
/// `Retry-After`
/// (<https://learn.microsoft.com/graph/throttling-limits#identity-protection-and-conditional-access-service-limits>).
fn conditional_access_policies(
    store: &mut Store,
    request: &GraphRequest,
    context: &RouteContext,
) -> Result<GraphResponse, GraphError> {
    if context.limit_conditional_access_reads
        && let Some(last) = store.last_conditional_access_read
        && context.now.saturating_duration_since(last) < CONDITIONAL_ACCESS_INTERVAL
    {
        return Err(GraphError::too_many_requests());
    }
    store.last_conditional_access_read = Some(context.now);
    let policies: Vec<PolicyDocument> = store
        .conditional_access_policies
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|policy| if request.beta { policy.clone() } else { without_beta_fields(policy) })
        .collect();
    let mut response = list_policies(&policies, request, context, "identity/conditionalAccess/policies")?;
    if request.beta
        && let ResponseBody::Json(Value::Object(body)) = &mut response.body
    {
        for key in ["@odata.context", "@odata.nextLink"] {
            if let Some(Value::String(link)) = body.get_mut(key) {
                *link = link.replacen("/v1.0/", "/beta/", 1);
            }
        }
    }
    Ok(response)
}

/// Graph's documented rate for Conditional Access reads.
pub const CONDITIONAL_ACCESS_INTERVAL: Duration = Duration::from_secs(1);

/// A policy as v1.0 shows it: the beta-only agent fields left out.
fn without_beta_fields(policy: &PolicyDocument) -> PolicyDocument {
    let mut policy = policy.clone();
    if let Some(Value::Object(conditions)) = policy.get_mut("conditions") {
        conditions.remove("agentIdRiskLevels");
        if let Some(Value::Object(clients)) = conditions.get_mut("clientApplications") {
            for field in [
                "includeAgentIdServicePrincipals",
                "excludeAgentIdServicePrincipals",
                "agentIdServicePrincipalFilter",
            ] {
                clients.remove(field);
            }
        }
    }
    policy
}

/// The grant a request needs (C-PERM, E-ROLES). Reading principals
/// needs none of its own: without the assignment read grant their values
/// read `null` (`principal_view`).
fn need(route: &Route, method: &Method) -> Need {
    let writes = *method != Method::GET;
    match route {
        Route::AttributeSets
        | Route::AttributeSet(_)
        | Route::Definitions
        | Route::Definition(_)
        | Route::AllowedValues(_)
        | Route::AllowedValue(..) => {
            if writes {
                Need::WriteDefinitions
            } else {
                Need::ReadDefinitions
            }
        }
        Route::Principal(..) if writes => Need::WriteAssignments,
        Route::Principals(_) | Route::PrincipalCount(_) | Route::Principal(..) => Need::Nothing,
        // The policies are read-only here: a write is refused with 405
        // whatever the caller holds, as for a DELETE.
        Route::ConditionalAccessPolicies
        | Route::DefaultAppManagementPolicy
        | Route::AppManagementPolicies
        | Route::Policy { .. }
            if writes =>
        {
            Need::Nothing
        }
        Route::ConditionalAccessPolicies
        | Route::DefaultAppManagementPolicy
        | Route::AppManagementPolicies
        | Route::Policy { .. } => Need::ReadPolicies,
        Route::Groups | Route::Group(_) | Route::GroupMembers(..) => Need::ReadGroups,
        Route::Workflows | Route::Workflow(_) => Need::ReadLifecycleWorkflows,
        Route::AuditLog(_) => Need::ReadAuditLogs,
    }
}

const GROUP_PROPERTIES: &[&str] = &["id", "displayName"];

/// A member of a group as Graph lists it: its `@odata.type` always, the
/// selected properties (or the defaults, which leave the values out), and
/// `customSecurityAttributes` `null` to a caller who may not read them.
fn member_view(entity: &Map<String, Value>, options: &QueryOptions, grants: Grants) -> Map<String, Value> {
    let mut shown = match options.selected() {
        Some(selected) => select_properties(entity, Some(selected)),
        None => {
            let mut shown = entity.clone();
            shown.remove("customSecurityAttributes");
            shown
        }
    };
    if !grants.allow(Need::ReadAssignments)
        && let Some(values) = shown.get_mut("customSecurityAttributes")
    {
        *values = Value::Null;
    }
    if let Some(odata_type) = entity.get("@odata.type") {
        shown.insert("@odata.type".into(), odata_type.clone());
    }
    shown
}

const DEFINITION_PROPERTIES: &[&str] = &[
    "id",
    "attributeSet",
    "name",
    "description",
    "type",
    "isCollection",
    "isSearchable",
    "status",
    "usePreDefinedValuesOnly",
];

fn list_attribute_sets(
    store: &Store,
    request: &GraphRequest,
    context: &RouteContext,
) -> Result<GraphResponse, GraphError> {
    let options = QueryOptions::parse(&request.query, &["$select", "$top", "$skiptoken", "$orderby"])?;
    check_select(&options, &["id", "description", "maxAttributesPerSet"], "attributeSet")?;
    let mut sets = store.attribute_sets.clone();
    if let Some((property, descending)) = &options.order_by {
        match property.as_str() {
            "id" => sets.sort_by_key(|set| set.id.to_lowercase()),
            "description" => sets.sort_by(|a, b| a.description.cmp(&b.description)),
            other => {
                return Err(GraphError::bad_request(format!(
                    "The emulator cannot order attribute sets by '{other}'."
                )));
            }
        }
        if *descending {
            sets.reverse();
        }
    }
    let fragment = select_fragment("directory/attributeSets", &options, false);
    Ok(list_response(
        &sets,
        |set| select_properties(&attribute_set_json(set), options.selected()),
        &options,
        context_url(context, &fragment),
        &request.path,
        context,
        false,
    ))
}

fn list_definitions(
    store: &Store,
    request: &GraphRequest,
    context: &RouteContext,
) -> Result<GraphResponse, GraphError> {
    let options =
        QueryOptions::parse(&request.query, &["$select", "$top", "$skiptoken", "$filter", "$expand"])?;
    let expand = expand_allowed_values(&options)?;
    check_select(&options, DEFINITION_PROPERTIES, "customSecurityAttributeDefinition")?;
    if let Some(filter) = &options.filter {
        check_filter_properties(filter, DEFINITION_PROPERTIES, "CustomSecurityAttributeDefinition")?;
    }
    let mut items = Vec::new();
    for definition in &store.definitions {
        let entity = definition.to_json(expand);
        if options
            .filter
            .as_ref()
            .is_none_or(|filter| filter.matches(&entity, &["id", "attributeSet", "name"]))
        {
            let mut shown = select_properties(&entity, options.selected());
            if expand && options.selected().is_some() {
                shown.insert(
                    "allowedValues".into(),
                    entity.get("allowedValues").cloned().unwrap_or(json!([])),
                );
            }
            context.expansion.apply(&mut shown, &definition.id(), &context.base_url);
            items.push(shown);
        }
    }
    let fragment = select_fragment("directory/customSecurityAttributeDefinitions", &options, false);
    Ok(list_response(
        &items,
        Map::clone,
        &options,
        context_url(context, &fragment),
        &request.path,
        context,
        false,
    ))
}

/// The properties a principal filter may name, besides custom security attributes.
fn filterable_principal_properties(kind: PrincipalKind) -> &'static [&'static str] {
    match kind {
        PrincipalKind::User => &["id", "userPrincipalName", "displayName"],
        PrincipalKind::ServicePrincipal => &["id", "appId", "displayName"],
    }
}

fn resource_name(kind: PrincipalKind) -> &'static str {
    match kind {
        PrincipalKind::User => "User",
        PrincipalKind::ServicePrincipal => "ServicePrincipal",
    }
}

/// Checks a principal filter: custom security attribute paths need
/// `ConsistencyLevel: eventual` and `$count=true` (C-EX, E-TS) and must name
/// an existing attribute; `endsWith` needs them too (C-AQ).
fn check_principal_filter(
    store: &Store,
    kind: PrincipalKind,
    filter: &Filter,
    advanced: bool,
    grants: Grants,
    context: &RouteContext,
) -> Result<(), GraphError> {
    for path in filter.paths() {
        match path {
            [csa, set, attribute] if csa == "customSecurityAttributes" => {
                // Emulator's choice: filtering on values the caller cannot
                // read is refused rather than answered from hidden values.
                if !grants.allow(Need::ReadAssignments) {
                    return Err(GraphError::forbidden());
                }
                let id = definition_id(set, attribute);
                if !advanced {
                    return Err(GraphError::unsupported_attribute_filter(&id));
                }
                // Emulator's choice: an unknown attribute gets the documented filter error too.
                let known = store.definition(&id).is_ok_and(|definition| {
                    definition.shape.attribute_set == *set && definition.shape.name == *attribute
                });
                if !known {
                    return Err(GraphError::unsupported_attribute_filter(&id));
                }
            }
            [property] if filterable_principal_properties(kind).contains(&property.as_str()) => {}
            other => {
                return Err(GraphError::unsupported_query(format!(
                    "Unsupported or invalid query filter clause specified for property '{}' of resource '{}'.",
                    other.join("/"),
                    resource_name(kind)
                )));
            }
        }
    }
    // Graph documents `ge` and `le` among the principals' properties on
    // `userPrincipalName` only.
    let bounded = |bounded: &Filter| match bounded {
        Filter::Bound { path, .. } => {
            !(kind == PrincipalKind::User && path.len() == 1 && path[0] == "userPrincipalName")
        }
        _ => false,
    };
    if filter_any(filter, &bounded) {
        return Err(GraphError::unsupported_query(format!(
            "Unsupported or invalid query filter clause specified for property 'ge/le' of resource '{}'.",
            resource_name(kind)
        )));
    }
    // Emulator's choice: Microsoft's filter table marks `le` on
    // `userPrincipalName` as supported by default and leaves `ge` blank;
    // both are served here, and `refuse_upn_ranges` refuses both (the
    // stricter reading, which the reader must survive).
    if filter.uses_bounds() && context.refuse_upn_ranges {
        return Err(GraphError::unsupported_query(
            "Operator 'ge'/'le' is not supported because the required parameters might be missing. Try adding $count=true query parameter and ConsistencyLevel:eventual header. Refer to https://aka.ms/graph-docs/advanced-queries for more information",
        ));
    }
    // The same for `startsWith` on `appId`, listed on the servicePrincipal
    // page and blank in the table: served, or refused without the advanced
    // query parameters under `refuse_app_id_prefix`.
    let app_id_prefix = |part: &Filter| matches!(part, Filter::StartsWith { path, .. } if path.len() == 1 && path[0] == "appId");
    if kind == PrincipalKind::ServicePrincipal
        && context.refuse_app_id_prefix
        && !advanced
        && filter_any(filter, &app_id_prefix)
    {
        return Err(GraphError::unsupported_query(
            "Operator 'startsWith' is not supported because the required parameters might be missing. Try adding $count=true query parameter and ConsistencyLevel:eventual header. Refer to https://aka.ms/graph-docs/advanced-queries for more information",
        ));
    }
    if filter.uses_ends_with() && !advanced {
        return Err(GraphError::unsupported_query(
            "Operator 'endsWith' is not supported because the required parameters might be missing. Try adding $count=true query parameter and ConsistencyLevel:eventual header. Refer to https://aka.ms/graph-docs/advanced-queries for more information",
        ));
    }
    Ok(())
}

/// Whether any part of `filter` is one `test` holds for.
fn filter_any(filter: &Filter, test: &dyn Fn(&Filter) -> bool) -> bool {
    test(filter)
        || match filter {
            Filter::Not(inner) => filter_any(inner, test),
            Filter::And(left, right) | Filter::Or(left, right) => {
                filter_any(left, test) || filter_any(right, test)
            }
            _ => false,
        }
}

fn principal_options(
    store: &Store,
    kind: PrincipalKind,
    request: &GraphRequest,
    context: &RouteContext,
) -> Result<QueryOptions, GraphError> {
    let options = QueryOptions::parse(
        &request.query,
        &["$select", "$top", "$skiptoken", "$filter", "$count", "$search"],
    )?;
    if options.search.is_some() {
        if !request.eventual_consistency() {
            return Err(search_needs_eventual_consistency());
        }
        return Err(GraphError::bad_request("The emulator does not support $search."));
    }
    if let Some(filter) = &options.filter {
        check_principal_filter(
            store,
            kind,
            filter,
            request.eventual_consistency() && options.count,
            request.grants,
            context,
        )?;
    }
    Ok(options)
}

/// The principals the filter keeps (all without one); the JSON a filter
/// reads is built only when there is a filter.
fn matching_principals<'a>(
    store: &'a Store,
    kind: PrincipalKind,
    options: &QueryOptions,
) -> Vec<&'a StoredPrincipal> {
    let case_insensitive: &[&str] = &["id", "userPrincipalName", "displayName", "appId"];
    // A range of the key a partitioned sweep splits on: a binary search,
    // answered in the key's order.
    let key = match kind {
        PrincipalKind::User => "userPrincipalName",
        PrincipalKind::ServicePrincipal => "appId",
    };
    if let Some(range) = options.filter.as_ref().and_then(|filter| filter.key_range(key)) {
        return store.principals_in_key_range(kind, &range);
    }
    store
        .principals(kind)
        .iter()
        .filter(|principal| {
            options
                .filter
                .as_ref()
                .is_none_or(|filter| filter.matches(&principal.to_json(), case_insensitive))
        })
        .collect()
}

fn list_principals(
    store: &Store,
    kind: PrincipalKind,
    request: &GraphRequest,
    context: &RouteContext,
) -> Result<GraphResponse, GraphError> {
    let options = principal_options(store, kind, request, context)?;
    let fragment = select_fragment(collection_name(kind), &options, false);
    // `$count=true` without ConsistencyLevel is silently ignored (C-AQ).
    let count = options.count && request.eventual_consistency();
    let render =
        |principal: &StoredPrincipal| principal_view(&principal.to_json(), kind, &options, request.grants);
    let url = context_url(context, &fragment);
    Ok(if options.filter.is_none() {
        // Every principal: the page is cut from the store itself, not from
        // a list of a million references built for each page.
        list_response(store.principals(kind), render, &options, url, &request.path, context, count)
    } else {
        let matching = matching_principals(store, kind, &options);
        list_response(&matching, |principal| render(principal), &options, url, &request.path, context, count)
    })
}

/// The documented error of `$search` without `ConsistencyLevel` (C-AQ).
fn search_needs_eventual_consistency() -> GraphError {
    GraphError::unsupported_query(
        "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'",
    )
}

/// `/users/$count` needs `ConsistencyLevel: eventual` (C-AQ, documented error).
fn count_principals(
    store: &Store,
    kind: PrincipalKind,
    request: &GraphRequest,
    context: &RouteContext,
) -> Result<GraphResponse, GraphError> {
    if !request.eventual_consistency() {
        return Err(GraphError::bad_request("$count is not currently supported."));
    }
    let options = principal_options(store, kind, request, context)?;
    let count = matching_principals(store, kind, &options).len();
    Ok(GraphResponse {
        status: StatusCode::OK,
        headers: Vec::new(),
        body: ResponseBody::Text(count.to_string()),
    })
}

/// A principal as a list or get shows it: the `$select`ed properties, or
/// Graph's default ones (never `customSecurityAttributes`, which is
/// "returned only on `$select`", R-USER). Without the grant to read
/// assignments the values read `null`, as when nothing is assigned (R-USER).
fn principal_view(
    entity: &Map<String, Value>,
    kind: PrincipalKind,
    options: &QueryOptions,
    grants: Grants,
) -> Map<String, Value> {
    let mut shown = match options.selected() {
        Some(selected) => {
            let mut shown = select_properties(entity, Some(selected));
            if !grants.allow(Need::ReadAssignments)
                && let Some(values) = shown.get_mut("customSecurityAttributes")
            {
                *values = Value::Null;
            }
            shown
        }
        None => {
            let defaults: &[&str] = match kind {
                PrincipalKind::User => &["id", "displayName", "userPrincipalName"],
                PrincipalKind::ServicePrincipal => &["id", "appId", "displayName"],
            };
            defaults
                .iter()
                .map(|property| {
                    ((*property).to_owned(), entity.get(*property).cloned().unwrap_or(Value::Null))
                })
                .collect()
        }
    };
    // An object of a derived type (an agent identity among service
    // principals) names its type whatever is selected, as OData requires.
    if let Some(odata_type) = entity.get("@odata.type") {
        let mut typed = Map::new();
        typed.insert("@odata.type".into(), odata_type.clone());
        typed.extend(shown);
        shown = typed;
    }
    shown
}

fn collection_name(kind: PrincipalKind) -> &'static str {
    match kind {
        PrincipalKind::User => "users",
        PrincipalKind::ServicePrincipal => "servicePrincipals",
    }
}

fn key_text(key: &PrincipalKey) -> &str {
    match key {
        PrincipalKey::IdOrUserPrincipalName(key) | PrincipalKey::AppId(key) => key,
    }
}

/// `$expand=allowedValues` is the only expansion (A-DEF-LIST).
fn expand_allowed_values(options: &QueryOptions) -> Result<bool, GraphError> {
    match options.expand.as_deref() {
        None => Ok(false),
        Some(expand) if expand.trim().eq_ignore_ascii_case("allowedValues") => Ok(true),
        Some(other) => Err(GraphError::bad_request(format!(
            "Could not expand '{other}': only allowedValues can be expanded."
        ))),
    }
}

fn check_select(options: &QueryOptions, known: &[&str], resource: &str) -> Result<(), GraphError> {
    if let Some(unknown) = options.selected().into_iter().flatten().find(|p| !known.contains(&p.as_str())) {
        return Err(GraphError::bad_request(format!(
            "Could not find a property named '{unknown}' on type 'microsoft.graph.{resource}'."
        )));
    }
    Ok(())
}

fn check_filter_properties(filter: &Filter, known: &[&str], resource: &str) -> Result<(), GraphError> {
    for path in filter.paths() {
        if !(path.len() == 1 && known.contains(&path[0].as_str())) {
            return Err(GraphError::unsupported_query(format!(
                "Unsupported or invalid query filter clause specified for property '{}' of resource '{resource}'.",
                path.join("/")
            )));
        }
    }
    Ok(())
}

/// `users`, `users(id,displayName)`, with `/$entity` for a single entity.
fn select_fragment(base: &str, options: &QueryOptions, entity: bool) -> String {
    let mut fragment = match options.selected() {
        Some(selected) => format!("{base}({})", selected.join(",")),
        None => base.to_owned(),
    };
    if entity {
        fragment.push_str("/$entity");
    }
    fragment
}

fn context_url(context: &RouteContext, fragment: &str) -> String {
    format!("{}/v1.0/$metadata#{fragment}", context.base_url)
}

fn entity_response(entity: Map<String, Value>, options: &QueryOptions, context_url: String) -> GraphResponse {
    let mut body = select_properties(&entity, options.selected());
    body.insert("@odata.context".into(), json!(context_url));
    GraphResponse::json(StatusCode::OK, Value::Object(body))
}

/// A key in a `Location` header: an OData string literal (`'…'`, a quote
/// doubled), percent-encoded, since a header carries a URL and an allowed
/// value may hold spaces or any character.
fn key_literal(key: &str) -> String {
    let mut encoded = String::from("'");
    for byte in key.replace('\'', "''").bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'\'' | b'@' | b'$' => {
                encoded.push(byte as char)
            }
            other => encoded.push_str(&format!("%{other:02X}")),
        }
    }
    encoded.push('\'');
    encoded
}

fn created(body: Map<String, Value>, location: String) -> GraphResponse {
    GraphResponse::json(StatusCode::CREATED, Value::Object(body)).with_header("Location", location)
}

/// One page of a collection: `@odata.context`, `@odata.count` (first page
/// only, C-PAGE), `@odata.nextLink` while more remain, and `value`. Only the
/// items on the page are rendered (`render` shows their `$select`ed
/// properties), so a large tenant costs one page of work per request.
fn list_response<T>(
    items: &[T],
    render: impl Fn(&T) -> Map<String, Value>,
    options: &QueryOptions,
    context_url: String,
    path: &str,
    context: &RouteContext,
    with_count: bool,
) -> GraphResponse {
    let total = items.len();
    let start = options.skip_offset.min(total);
    let end = start.saturating_add(options.page_length(context.page_size)).min(total);
    let mut body = Map::new();
    body.insert("@odata.context".into(), json!(context_url));
    if with_count && options.skip_offset == 0 {
        body.insert("@odata.count".into(), json!(total));
    }
    if end < total {
        body.insert(
            "@odata.nextLink".into(),
            json!(options.next_link(&context.base_url, path.trim_start_matches('/'), end)),
        );
    }
    let page: Vec<Value> = items[start..end].iter().map(|item| Value::Object(render(item))).collect();
    body.insert("value".into(), Value::Array(page));
    GraphResponse::json(StatusCode::OK, Value::Object(body))
}

/// The request body as a JSON object. Emulator's choice: a body that is not
/// strict JSON (such as the trailing comma kept verbatim in
/// `update-definition.http`) is a 400.
fn json_object(body: &[u8]) -> Result<Map<String, Value>, GraphError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(GraphError::bad_request("A request body is required."));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(GraphError::bad_request("The request body must be a JSON object.")),
        Err(error) => Err(GraphError::bad_request(format!("The request body is not valid JSON: {error}."))),
    }
}

/// Decodes `%XX` escapes in a path segment.
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%'
            && let Some(hex) = text.get(index + 1..index + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            decoded.push(byte);
            index += 3;
            continue;
        }
        decoded.push(bytes[index]);
        index += 1;
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_their_resources_ignoring_case_of_literals() {
        assert_eq!(
            parse_route(
                "directory/customSecurityAttributeDefinitions/Engineering_Project/allowedValues/Alpine"
            ),
            Ok(Route::AllowedValue("Engineering_Project".into(), "Alpine".into()))
        );
        assert_eq!(parse_route("Directory/AttributeSets"), Ok(Route::AttributeSets));
        assert_eq!(
            parse_route("servicePrincipals(appId='00000003-0000-0000-c000-000000000000')"),
            Ok(Route::Principal(
                PrincipalKind::ServicePrincipal,
                PrincipalKey::AppId("00000003-0000-0000-c000-000000000000".into())
            ))
        );
        assert_eq!(
            parse_route("users/alice%40contoso.com"),
            Ok(Route::Principal(
                PrincipalKind::User,
                PrincipalKey::IdOrUserPrincipalName("alice@contoso.com".into())
            ))
        );
        assert_eq!(parse_route("Groups/G1/transitiveMembers"), Ok(Route::GroupMembers("G1".into(), true)));
        assert!(parse_route("devices").is_err());
    }
}
