//! The two Azure Resource Manager reads of role assignments, served from
//! the state document's optional `azureRoleAssignments` part (the rows of
//! Azure Resource Graph's `authorizationresources` table), so that the
//! tool's `--azure-role-assignments` is tested over loopback like its Graph
//! reads:
//!
//! - Azure Resource Graph's query, `POST /providers/Microsoft.ResourceGraph/resources`
//!   (<https://learn.microsoft.com/rest/api/azureresourcegraph/resourcegraph/resources/resources>):
//!   a body `{ query, options: { $top, $skip, $skipToken, resultFormat, authorizationScopeFilter } }`,
//!   answered `{ totalRecords, count, resultTruncated, $skipToken, data, facets }`;
//! - Resource Manager's list, `GET {scope}/providers/Microsoft.Authorization/roleAssignments`
//!   (<https://learn.microsoft.com/rest/api/authorization/role-assignments/list-for-scope>):
//!   the assignments at, above and below the scope, or with `$filter=atScope()`
//!   at and above it, or with `$filter=principalId eq '{id}'` those of one
//!   principal; answered `{ value: [...] }`.
//!
//! Both need an `api-version` and a bearer token. Emulator's choices: the
//! query language is not KQL but the few steps the tool's query uses
//! (`authorizationresources`, `where type =~ '…'`, `where
//! isnotempty(tostring(properties.<name>))`, `project …`, `order by id asc|desc`),
//! anything else answered 400; a token that is a readable JWT must be for
//! Resource Manager (its `aud`), as Resource Manager refuses another
//! audience with 401 `InvalidAuthenticationTokenAudience`; Azure RBAC is not
//! modelled, so a valid token reads every row (on Azure, the rows of the
//! scopes where it holds `Microsoft.Authorization/roleAssignments/read`);
//! "above" and "below" a scope are read from the scope paths alone, so the
//! management groups above a subscription (a hierarchy the document does
//! not hold) are not among its ancestors.

use axum::http::{HeaderMap, Method, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Map, Value, json};

use super::document::PolicyDocument;

/// An answer of Resource Manager: status and JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct ArmResponse {
    pub status: StatusCode,
    pub body: Value,
}

fn error(status: StatusCode, code: &str, message: impl Into<String>) -> ArmResponse {
    // Resource Manager's error envelope: { "error": { "code", "message" } }.
    ArmResponse { status, body: json!({ "error": { "code": code, "message": message.into() } }) }
}

/// Whether `path` is one of Resource Manager's, not Graph's.
pub fn is_arm_path(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    lower.starts_with("/providers/") || lower.starts_with("/subscriptions/")
}

/// The audiences a Resource Manager token may carry (each cloud's, with and
/// without the trailing slash, and the classic `management.core` one).
const AUDIENCES: [&str; 6] = [
    "https://management.azure.com",
    "https://management.core.windows.net",
    "https://management.usgovcloudapi.net",
    "https://management.core.usgovcloudapi.net",
    "https://management.chinacloudapi.cn",
    "https://management.core.chinacloudapi.cn",
];

/// Checks the bearer token: present, the configured one if any, and for
/// Resource Manager when it is a readable JWT.
fn authenticate(headers: &HeaderMap, expected: Option<&str>) -> Result<(), ArmResponse> {
    let presented = headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            let (scheme, token) = value.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .filter(|token| !token.is_empty());
    let Some(token) = presented else {
        return Err(error(
            StatusCode::UNAUTHORIZED,
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.",
        ));
    };
    if expected.is_some_and(|expected| expected != token) {
        return Err(error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "The access token is invalid.",
        ));
    }
    let audience = token.split('.').nth(1).and_then(|payload| {
        let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
        let claims: Value = serde_json::from_slice(&bytes).ok()?;
        Some(claims.get("aud").and_then(Value::as_str).unwrap_or_default().to_owned())
    });
    match audience {
        Some(audience)
            if !AUDIENCES.iter().any(|known| audience.trim_end_matches('/').eq_ignore_ascii_case(known)) =>
        {
            Err(error(
                StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationTokenAudience",
                format!("The access token has been obtained for wrong audience or resource '{audience}'."),
            ))
        }
        _ => Ok(()),
    }
}

/// Serves one Resource Manager request against the document's rows.
pub fn serve(
    rows: Option<&[PolicyDocument]>,
    method: &Method,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
    expected_token: Option<&str>,
) -> ArmResponse {
    if let Err(refused) = authenticate(headers, expected_token) {
        return refused;
    }
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect();
    let parameter = |name: &str| {
        pairs.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    };
    if parameter("api-version").is_none_or(str::is_empty) {
        return error(
            StatusCode::BAD_REQUEST,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        );
    }
    let rows = rows.unwrap_or_default();
    let lower = path.trim_end_matches('/').to_ascii_lowercase();
    if lower == "/providers/microsoft.resourcegraph/resources" {
        return if *method == Method::POST {
            resource_graph(rows, body)
        } else {
            error(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed", "The resources query is a POST.")
        };
    }
    if let Some(scope) = lower.strip_suffix("/providers/microsoft.authorization/roleassignments") {
        return if *method == Method::GET {
            list_for_scope(rows, &path[..scope.len()], parameter("$filter"))
        } else {
            error(
                StatusCode::METHOD_NOT_ALLOWED,
                "MethodNotAllowed",
                "The emulator serves role assignments read-only.",
            )
        };
    }
    error(
        StatusCode::NOT_FOUND,
        "InvalidResourceType",
        format!("The emulator serves no Resource Manager resource at '{path}'."),
    )
}

/// The steps of a query the emulator runs.
enum Step {
    WhereType(String),
    WhereNotEmpty(String),
    Project(Vec<String>),
    OrderById { descending: bool },
}

fn parse_query(query: &str) -> Result<Vec<Step>, String> {
    let mut parts = query.split('|').map(str::trim);
    let table = parts.next().unwrap_or_default();
    if !table.eq_ignore_ascii_case("authorizationresources") {
        return Err(format!("the emulator queries only the authorizationresources table, not '{table}'"));
    }
    let mut steps = Vec::new();
    for part in parts {
        let words: Vec<&str> = part.split_whitespace().collect();
        let step = match words.as_slice() {
            ["where", "type", "=~", literal] => Step::WhereType(unquote(literal)?.to_ascii_lowercase()),
            ["where", call] => {
                let inner = call
                    .strip_prefix("isnotempty(tostring(properties.")
                    .and_then(|rest| rest.strip_suffix("))"))
                    .ok_or_else(|| format!("the emulator does not run `{part}`"))?;
                Step::WhereNotEmpty(inner.to_owned())
            }
            ["project", ..] => Step::Project(
                part["project".len()..].split(',').map(|column| column.trim().to_owned()).collect(),
            ),
            ["order", "by", "id", direction]
                if direction.eq_ignore_ascii_case("asc") || direction.eq_ignore_ascii_case("desc") =>
            {
                Step::OrderById { descending: direction.eq_ignore_ascii_case("desc") }
            }
            _ => return Err(format!("the emulator does not run `{part}`")),
        };
        steps.push(step);
    }
    Ok(steps)
}

fn unquote(literal: &str) -> Result<&str, String> {
    literal
        .strip_prefix('\'')
        .and_then(|rest| rest.strip_suffix('\''))
        .or_else(|| literal.strip_prefix('"').and_then(|rest| rest.strip_suffix('"')))
        .ok_or_else(|| format!("expected a quoted string, not {literal}"))
}

/// Resource Graph's query over the rows, paged with `$skipToken` (the
/// emulator's token is the offset, base64-encoded: opaque to the client).
fn resource_graph(rows: &[PolicyDocument], body: &[u8]) -> ArmResponse {
    let bad = |message: String| error(StatusCode::BAD_REQUEST, "BadRequest", message);
    let Ok(Value::Object(request)) = serde_json::from_slice::<Value>(body) else {
        return bad("The request body is not a JSON object.".into());
    };
    let Some(query) = request.get("query").and_then(Value::as_str) else {
        return bad("The request body has no 'query'.".into());
    };
    let steps = match parse_query(query) {
        Ok(steps) => steps,
        Err(message) => return bad(message),
    };
    let options = request.get("options").and_then(Value::as_object).cloned().unwrap_or_default();
    if options
        .get("resultFormat")
        .and_then(Value::as_str)
        .is_some_and(|format| !format.eq_ignore_ascii_case("objectArray"))
    {
        return bad("The emulator answers only resultFormat objectArray.".into());
    }
    // "$top": 1 to 1000; Resource Graph's default page is 100 rows.
    let top = options.get("$top").and_then(Value::as_u64).unwrap_or(100);
    if !(1..=1000).contains(&top) {
        return bad(format!("$top must be between 1 and 1000, not {top}."));
    }
    let offset = match options.get("$skipToken").and_then(Value::as_str) {
        Some(token) => match STANDARD
            .decode(token)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|text| text.parse::<usize>().ok())
        {
            Some(offset) => offset,
            None => return bad("The $skipToken is not one the emulator gave.".into()),
        },
        None => options.get("$skip").and_then(Value::as_u64).unwrap_or(0) as usize,
    };
    let mut selected: Vec<Map<String, Value>> = rows.to_vec();
    for step in &steps {
        match step {
            Step::WhereType(wanted) => selected.retain(|row| {
                row.get("type").and_then(Value::as_str).is_some_and(|held| held.eq_ignore_ascii_case(wanted))
            }),
            Step::WhereNotEmpty(property) => selected.retain(|row| {
                match row.get("properties").and_then(|properties| properties.get(property)) {
                    None | Some(Value::Null) => false,
                    Some(Value::String(text)) => !text.is_empty(),
                    Some(_) => true,
                }
            }),
            Step::Project(columns) => {
                selected = selected
                    .into_iter()
                    .map(|row| {
                        columns
                            .iter()
                            .filter_map(|column| row.get(column).map(|value| (column.clone(), value.clone())))
                            .collect()
                    })
                    .collect();
            }
            Step::OrderById { descending } => {
                let id = |row: &Map<String, Value>| {
                    row.get("id").and_then(Value::as_str).unwrap_or_default().to_ascii_lowercase()
                };
                selected.sort_by_key(id);
                if *descending {
                    selected.reverse();
                }
            }
        }
    }
    let total = selected.len();
    let page: Vec<Value> = selected.into_iter().skip(offset).take(top as usize).map(Value::Object).collect();
    let next = offset + page.len();
    let mut answer = json!({
        "totalRecords": total,
        "count": page.len(),
        "resultTruncated": "false",
        "facets": [],
        "data": page,
    });
    if next < total {
        answer["$skipToken"] = Value::String(STANDARD.encode(next.to_string()));
    }
    ArmResponse { status: StatusCode::OK, body: answer }
}

/// Resource Manager's list of the role assignments for a scope.
fn list_for_scope(rows: &[PolicyDocument], scope: &str, filter: Option<&str>) -> ArmResponse {
    let scope = scope.trim_end_matches('/').to_ascii_lowercase();
    let (at_scope, principal) = match filter.map(str::trim).filter(|filter| !filter.is_empty()) {
        None => (false, None),
        Some(filter) if filter.eq_ignore_ascii_case("atScope()") => (true, None),
        Some(filter) => match filter.strip_prefix("principalId eq ").map(|rest| unquote(rest.trim())) {
            Some(Ok(id)) => (false, Some(id.to_ascii_lowercase())),
            _ => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "InvalidFilter",
                    format!(
                        "The emulator understands $filter=atScope() and principalId eq '{{id}}', not '{filter}'."
                    ),
                );
            }
        },
    };
    let value: Vec<Value> = rows
        .iter()
        .filter(|row| {
            row.get("type")
                .and_then(Value::as_str)
                .is_some_and(|kind| kind.eq_ignore_ascii_case("microsoft.authorization/roleassignments"))
        })
        .filter(|row| {
            let properties = row.get("properties");
            let held = |name: &str| {
                properties
                    .and_then(|properties| properties.get(name))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_ascii_lowercase()
            };
            let assigned = held("scope");
            let assigned = assigned.trim_end_matches('/');
            let above = scope == assigned
                || assigned.is_empty()
                || assigned == "/"
                || scope.starts_with(&format!("{assigned}/"));
            let below = assigned.starts_with(&format!("{scope}/"));
            let in_scope = if at_scope { above } else { above || below };
            in_scope && principal.as_ref().is_none_or(|wanted| held("principalId") == *wanted)
        })
        .map(|row| {
            // Resource Manager names the type in its own case.
            let mut shown = Map::new();
            for key in ["id", "name"] {
                if let Some(value) = row.get(key) {
                    shown.insert(key.into(), value.clone());
                }
            }
            shown.insert("type".into(), json!("Microsoft.Authorization/roleAssignments"));
            shown.insert("properties".into(), row.get("properties").cloned().unwrap_or_else(|| json!({})));
            Value::Object(shown)
        })
        .collect();
    ArmResponse { status: StatusCode::OK, body: json!({ "value": value }) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assignment(id: &str, scope: &str, principal: &str, condition: Option<&str>) -> PolicyDocument {
        json!({
            "id": format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{id}"),
            "name": id,
            "type": "microsoft.authorization/roleassignments",
            "properties": {
                "scope": scope,
                "principalId": principal,
                "principalType": "User",
                "roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
                "condition": condition,
                "conditionVersion": condition.map(|_| "2.0"),
            }
        })
        .as_object()
        .unwrap()
        .clone()
    }

    fn headers(token: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
        headers
    }

    const QUERY: &str = "authorizationresources | where type =~ 'microsoft.authorization/roleassignments' \
        | where isnotempty(tostring(properties.condition)) | project id, name, type, properties | order by id asc";

    #[test]
    fn the_query_pages_the_assignments_with_conditions() {
        let rows: Vec<PolicyDocument> = (0..5)
            .map(|index| {
                assignment(&format!("a{index}"), "/subscriptions/s1", "p", (index % 2 == 0).then_some("x"))
            })
            .collect();
        let ask = |token: Option<&str>| {
            let mut options = json!({ "$top": 2 });
            if let Some(token) = token {
                options["$skipToken"] = json!(token);
            }
            let body = json!({ "query": QUERY, "options": options }).to_string();
            serve(
                Some(&rows),
                &Method::POST,
                "/providers/Microsoft.ResourceGraph/resources",
                "api-version=2024-04-01",
                &headers("t"),
                body.as_bytes(),
                None,
            )
        };
        let first = ask(None);
        assert_eq!(first.status, StatusCode::OK);
        assert_eq!(first.body["totalRecords"], 3);
        assert_eq!(first.body["data"].as_array().unwrap().len(), 2);
        let second = ask(first.body["$skipToken"].as_str());
        assert_eq!(second.body["data"].as_array().unwrap().len(), 1);
        assert!(second.body.get("$skipToken").is_none());
    }

    #[test]
    fn the_list_covers_at_above_and_below_the_scope() {
        let rows = vec![
            assignment("root", "/providers/Microsoft.Management/managementGroups/mg", "p", None),
            assignment("sub", "/subscriptions/s1", "p", Some("x")),
            assignment("rg", "/subscriptions/s1/resourceGroups/rg", "q", Some("x")),
            assignment("other", "/subscriptions/s2", "p", None),
        ];
        let list = |filter: &str| {
            let query = format!("api-version=2022-04-01{filter}");
            let answer = serve(
                Some(&rows),
                &Method::GET,
                "/subscriptions/s1/providers/Microsoft.Authorization/roleAssignments",
                &query,
                &headers("t"),
                b"",
                None,
            );
            answer.body["value"]
                .as_array()
                .unwrap()
                .iter()
                .map(|row| row["name"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(list(""), ["sub", "rg"]);
        assert_eq!(list("&$filter=atScope()"), ["sub"]);
        assert_eq!(list("&$filter=principalId%20eq%20'q'"), ["rg"]);
    }

    #[test]
    fn a_graph_token_and_a_missing_api_version_are_refused() {
        let graph_token = format!(
            "e30.{}.c2ln",
            URL_SAFE_NO_PAD.encode(json!({ "aud": "https://graph.microsoft.com" }).to_string())
        );
        let answer = serve(
            None,
            &Method::GET,
            "/subscriptions/s1/providers/Microsoft.Authorization/roleAssignments",
            "api-version=2022-04-01",
            &headers(&graph_token),
            b"",
            None,
        );
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        assert_eq!(answer.body["error"]["code"], "InvalidAuthenticationTokenAudience");
        let answer = serve(
            None,
            &Method::GET,
            "/subscriptions/s1/providers/Microsoft.Authorization/roleAssignments",
            "",
            &headers("t"),
            b"",
            None,
        );
        assert_eq!(answer.status, StatusCode::BAD_REQUEST);
        let body = json!({ "query": "Resources | project id" }).to_string();
        let answer = serve(
            None,
            &Method::POST,
            "/providers/Microsoft.ResourceGraph/resources",
            "api-version=2024-04-01",
            &headers("t"),
            body.as_bytes(),
            None,
        );
        assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    }
}
