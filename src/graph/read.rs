//! Reading the live tenant: attribute sets, definitions with their allowed
//! values (every page), and the assignments of the declared principals —
//! batched GETs or a sweep, whichever `route` finds cheaper, and the sweep
//! when the policy needs every principal. A declared principal Graph does
//! not know is left out, so the plan reports it as a conflict naming it.

use std::sync::Arc;

use tokio::task::JoinSet;

use serde_json::Value;

use crate::graph::access::{self, Capability, Claims};
use crate::model::live::{LivePrincipal, LiveState};
use crate::model::{PrincipalKey, PrincipalKind, PrincipalLookup};
use crate::tenant::ReadScope;

use super::batch::{BatchRequest, MAX_BATCH_REQUESTS};
use super::client::{GraphClient, GraphError, item_error, segment};
use super::principal_path::{self, collection};
use super::progress::Progress;
use super::route::{self, Route, SWEEP_PAGE_SIZE};
use super::wire::{WireAttributeSet, WireDefinition, WirePrincipal};

/// Why the tenant could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    // The message carries the Graph error (with its hint) itself; it is not
    // also a `source`, so error chains do not print it twice.
    #[error("reading from Microsoft Graph failed: {}", .0.explained())]
    Graph(GraphError),
    #[error("Microsoft Graph answered {what} in an unexpected shape: {message}")]
    Shape { what: String, message: String },
    #[error(
        "every declared principal reads `customSecurityAttributes: null`, and the token carries none of \
         {permissions}: Graph hides assignments from it, so a plan would re-assign everything. Grant the \
         permission (and admin consent) and sign in again."
    )]
    MissingReadPermission { permissions: String },
}

impl From<GraphError> for ReadError {
    fn from(error: GraphError) -> Self {
        ReadError::Graph(error)
    }
}

pub(super) fn select(kind: PrincipalKind) -> &'static str {
    match kind {
        PrincipalKind::User => "id,userPrincipalName,displayName,customSecurityAttributes",
        PrincipalKind::ServicePrincipal => "id,appId,displayName,customSecurityAttributes",
    }
}

/// The relative URL that reads one declared principal.
pub fn principal_url(key: &PrincipalKey) -> String {
    let kind = key.kind();
    let path = match key.lookup() {
        PrincipalLookup::ObjectId(id) | PrincipalLookup::UserPrincipalName(id) => {
            principal_path::by_key(kind, id)
        }
        PrincipalLookup::AppId(app_id) => principal_path::by_app_id(app_id),
    };
    format!("{path}?$select={}", select(kind))
}

/// One object of Graph's answer in its wire shape; a mistake names the field,
/// e.g. `customSecurityAttributeDefinitions[0].isCollection`.
fn decode<T: serde::de::DeserializeOwned>(value: Value, what: &str) -> Result<T, ReadError> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let field = error.path().to_string();
        ReadError::Shape {
            what: if field == "." { what.to_owned() } else { format!("{what}.{field}") },
            message: error.into_inner().to_string(),
        }
    })
}

/// One principal into `live`, with what of it was not understood.
fn decode_principal(
    value: Value,
    kind: PrincipalKind,
    path: &str,
    live: &mut LiveState,
) -> Result<(), ReadError> {
    let shape = |message: String| ReadError::Shape { what: path.to_owned(), message };
    let wire: WirePrincipal = decode(value, path)?;
    let (principal, not_understood) =
        wire.into_live(kind, || path.to_owned()).map_err(|error| shape(error.to_string()))?;
    live.not_understood.extend(not_understood);
    live.principals.insert(principal.id(), principal);
    Ok(())
}

/// Reads what `scope` asks for.
pub async fn read(client: &Arc<GraphClient>, scope: &ReadScope) -> Result<LiveState, ReadError> {
    let progress = Progress::spinner("reading attribute sets and definitions");
    let mut live = LiveState::default();
    let sets = client.all_pages(client.url("directory/attributeSets"), |_| progress.inc()).await?;
    for (index, set) in sets.into_iter().enumerate() {
        let set: WireAttributeSet = decode(set, &format!("attributeSets[{index}]"))?;
        live.attribute_sets.insert(set.id.clone(), (&set).into());
    }
    let mut definitions = client
        .all_pages(client.url("directory/customSecurityAttributeDefinitions?$expand=allowedValues"), |_| {
            progress.inc()
        })
        .await?;
    complete_expansions(client, &mut definitions).await?;
    for (index, definition) in definitions.into_iter().enumerate() {
        let definition: WireDefinition =
            decode(definition, &format!("customSecurityAttributeDefinitions[{index}]"))?;
        match definition.to_definition() {
            Ok(model) => {
                live.definitions.insert(model.id(), model);
            }
            Err(not_understood) => live.not_understood.push(not_understood),
        }
    }
    progress.finish();

    let mut complete = true;
    for kind in [PrincipalKind::User, PrincipalKind::ServicePrincipal] {
        let declared: Vec<&PrincipalKey> = scope.principals.iter().filter(|key| key.kind() == kind).collect();
        let swept = read_principals(client, kind, &declared, scope.sweep, &mut live).await?;
        complete &= swept;
    }
    live.principals_complete = complete;

    check_read_permission(client, scope, &live).await?;
    Ok(live)
}

/// An expansion this long may have been cut short: Graph documents that
/// `$expand` on directory objects returns at most 20 of them, with no
/// `@odata.nextLink` to say so.
const EXPANSION_MAY_BE_CUT_AT: usize = 20;

/// Makes every definition's `allowedValues` whole. A definition whose
/// expansion carries `allowedValues@odata.nextLink` gets the rest from that
/// link; one whose expansion holds 20 values or more (and may be cut without
/// saying so) has its `/allowedValues` collection read from the start. Both
/// go in `$batch` envelopes of 20, and every further page is followed.
async fn complete_expansions(client: &Arc<GraphClient>, definitions: &mut [Value]) -> Result<(), ReadError> {
    struct Completion {
        index: usize,
        url: String,
        /// Whether the expansion's values are the start of the list (a
        /// nextLink continues them) or are read again.
        continues: bool,
    }
    let mut completions = Vec::new();
    for (index, definition) in definitions.iter().enumerate() {
        // A definition that is not an object is reported when it is decoded.
        let Value::Object(object) = definition else { continue };
        let what = format!("customSecurityAttributeDefinitions[{index}]");
        match object.get("allowedValues@odata.nextLink") {
            Some(Value::String(link)) => completions.push(Completion {
                index,
                url: client.relative_link(link, &what)?,
                continues: true,
            }),
            None | Some(Value::Null) => {
                let expanded = object.get("allowedValues").and_then(Value::as_array).map_or(0, Vec::len);
                let id = object.get("id").and_then(Value::as_str);
                if let (true, Some(id)) = (expanded >= EXPANSION_MAY_BE_CUT_AT, id) {
                    let url = format!(
                        "/directory/customSecurityAttributeDefinitions/{}/allowedValues",
                        segment(id)
                    );
                    completions.push(Completion { index, url, continues: false });
                }
            }
            Some(_) => {
                return Err(ReadError::Shape {
                    what: format!("{what}.allowedValues@odata.nextLink"),
                    message: "is not a string".into(),
                });
            }
        }
    }
    if completions.is_empty() {
        return Ok(());
    }
    tracing::debug!(
        definitions = completions.len(),
        "reading allowed values an expansion may have cut short"
    );
    for chunk in completions.chunks(MAX_BATCH_REQUESTS) {
        let requests = chunk
            .iter()
            .enumerate()
            .map(|(position, completion)| {
                BatchRequest::get((position + 1).to_string(), completion.url.clone())
            })
            .collect();
        let answers = client.batch(requests, client.options.retry, &|_, _| false).await;
        for ((request, answer), completion) in answers.into_iter().zip(chunk) {
            let item = answer?;
            if item.status != 200 {
                return Err(item_error(&request, &item).into());
            }
            let what = format!("customSecurityAttributeDefinitions[{}].allowedValues", completion.index);
            let shape = |message: &str| ReadError::Shape { what: what.clone(), message: message.to_owned() };
            let Some(Value::Object(mut page)) = item.body else {
                return Err(shape("expected a JSON object"));
            };
            let Some(Value::Array(mut values)) = page.remove("value") else {
                return Err(shape("expected a `value` array"));
            };
            match page.remove("@odata.nextLink") {
                None | Some(Value::Null) => {}
                Some(Value::String(link)) => {
                    let next = client.next_link(&link, &request.url)?;
                    values.extend(client.all_pages(next, |_| {}).await?);
                }
                Some(_) => return Err(shape("`@odata.nextLink` is not a string")),
            }
            let Value::Object(definition) = &mut definitions[completion.index] else {
                unreachable!("only objects are completed")
            };
            definition.remove("allowedValues@odata.nextLink");
            let mut whole = match (completion.continues, definition.remove("allowedValues")) {
                (true, Some(Value::Array(expanded))) => expanded,
                _ => Vec::new(),
            };
            for value in values {
                let id = value.get("id");
                if id.is_none() || !whole.iter().any(|held| held.get("id") == id) {
                    whole.push(value);
                }
            }
            definition.insert("allowedValues".into(), Value::Array(whole));
        }
    }
    Ok(())
}

/// Reads the principals of one kind into `live`; true when all were swept.
async fn read_principals(
    client: &Arc<GraphClient>,
    kind: PrincipalKind,
    declared: &[&PrincipalKey],
    sweep: bool,
    live: &mut LiveState,
) -> Result<bool, ReadError> {
    if !sweep && declared.is_empty() {
        return Ok(false);
    }
    let query = format!("$top={SWEEP_PAGE_SIZE}&$select={}", select(kind));
    let first_url = client.url(&format!("{}?{query}", collection(kind)));
    if sweep {
        sweep_from(client, kind, first_url, None, &[], live).await?;
        return Ok(true);
    }
    match client.options.read_route {
        Some(Route::Sweep) => {
            sweep_from(client, kind, first_url, None, &[], live).await?;
            return Ok(true);
        }
        Some(Route::Batched) => {
            read_batched(client, kind, declared, live).await?;
            return Ok(false);
        }
        None => {}
    }
    if !route::worth_probing(declared.len()) {
        read_batched(client, kind, declared, live).await?;
        return Ok(false);
    }
    // Read the first sweep page with its count: it may be the whole tenant,
    // and it tells how many pages a sweep would take.
    let probe_url = client.url(&format!("{}?{query}&$count=true", collection(kind)));
    let eventual: &[(&str, &str)] = &[("ConsistencyLevel", "eventual")];
    let (page, headers) = match client.page(&probe_url, eventual).await {
        Ok(page) => (page, eventual),
        // A service that refuses the count: read the page without it.
        Err(error) if error.status() == Some(400) => (client.page(&first_url, &[]).await?, &[][..]),
        Err(error) => return Err(error.into()),
    };
    let page_len = page.items.len();
    for (index, item) in page.items.into_iter().enumerate() {
        decode_principal(item, kind, &format!("{}[{index}]", collection(kind)), live)?;
    }
    let index = live.principal_index();
    let unresolved: Vec<&PrincipalKey> =
        declared.iter().copied().filter(|key| index.find(key).is_none()).collect();
    let population = page.count.and_then(|count| usize::try_from(count).ok());
    let chosen = route::after_probe(unresolved.len(), population, page_len, page.next.is_some());
    tracing::debug!(
        kind = kind.as_str(),
        page_len,
        ?population,
        unresolved = unresolved.len(),
        ?chosen,
        "route"
    );
    match (chosen, page.next) {
        (Route::Sweep, Some(next)) => {
            sweep_from(client, kind, next, Some(&probe_url), headers, live).await?;
            Ok(true)
        }
        (Route::Sweep, None) => Ok(true),
        (Route::Batched, _) => {
            read_batched(client, kind, &unresolved, live).await?;
            Ok(false)
        }
    }
}

/// Pages through every principal of `kind`, starting at `url`. `headers`
/// go with every page: Graph does not carry them over to a nextLink.
async fn sweep_from(
    client: &GraphClient,
    kind: PrincipalKind,
    url: url::Url,
    already_read: Option<&url::Url>,
    headers: &[(&str, &str)],
    live: &mut LiveState,
) -> Result<(), ReadError> {
    let progress = Progress::spinner(&format!("reading {}", collection(kind)));
    let mut seen = std::collections::HashSet::new();
    if let Some(first) = already_read {
        seen.insert(first.as_str().to_owned());
    }
    let mut next = Some(url);
    let mut index = live.principals.len();
    while let Some(url) = next.take() {
        if !seen.insert(url.as_str().to_owned()) {
            return Err(GraphError::Paging {
                path: super::client::shown(&url),
                message: "`@odata.nextLink` repeats a page already read (a paging loop)".into(),
            }
            .into());
        }
        let page = client.page(&url, headers).await?;
        for item in page.items {
            decode_principal(item, kind, &format!("{}[{index}]", collection(kind)), live)?;
            index += 1;
            progress.inc();
        }
        next = page.next;
    }
    progress.finish();
    Ok(())
}

/// Reads `keys` with batched GETs, a few batches in flight; unknown ones
/// (404) are left out.
async fn read_batched(
    client: &Arc<GraphClient>,
    kind: PrincipalKind,
    keys: &[&PrincipalKey],
    live: &mut LiveState,
) -> Result<(), ReadError> {
    let progress = Progress::bar(keys.len() as u64, &format!("reading declared {}", collection(kind)));
    let mut chunks = keys
        .chunks(MAX_BATCH_REQUESTS)
        .map(|chunk| chunk.iter().map(|key| (*key).clone()).collect::<Vec<PrincipalKey>>())
        .collect::<Vec<_>>()
        .into_iter();
    let mut running = JoinSet::new();
    loop {
        while running.len() < client.options.concurrency.max(1) {
            let Some(chunk) = chunks.next() else { break };
            let client = Arc::clone(client);
            running.spawn(async move {
                let requests: Vec<BatchRequest> = chunk
                    .iter()
                    .enumerate()
                    .map(|(index, key)| BatchRequest::get((index + 1).to_string(), principal_url(key)))
                    .collect();
                let answers = client.batch(requests, client.options.retry, &|_, _| false).await;
                (chunk, answers)
            });
        }
        let Some(joined) = running.join_next().await else { break };
        let (chunk, answers) = joined.map_err(|error| ReadError::Shape {
            what: "a batched read".into(),
            message: format!("the task failed: {error}"),
        })?;
        for ((request, answer), key) in answers.into_iter().zip(&chunk) {
            let item = answer?;
            match item.status {
                200 => {
                    let body = item.body.unwrap_or(Value::Null);
                    decode_principal(body, kind, &key.to_string(), live)?;
                }
                404 => tracing::warn!("{key} was not found in the tenant"),
                _ => return Err(item_error(&request, &item).into()),
            }
            progress.inc();
        }
    }
    progress.finish();
    Ok(())
}

/// An all-`null` read of the declared principals: an error when the token's
/// claims show it lacks the read permission, a warning otherwise.
async fn check_read_permission(
    client: &GraphClient,
    scope: &ReadScope,
    live: &LiveState,
) -> Result<(), ReadError> {
    let index = live.principal_index();
    let found: Vec<&LivePrincipal> = scope.principals.iter().filter_map(|key| index.find(key)).collect();
    if found.is_empty() || found.iter().any(|principal| principal.custom_security_attributes.is_some()) {
        return Ok(());
    }
    let token = client.token().await?;
    match Claims::from_jwt(token.expose()) {
        Ok(claims) => {
            let verdict = access::check(&claims, &[Capability::ReadAssignments]).remove(0);
            if !verdict.permission {
                return Err(ReadError::MissingReadPermission {
                    permissions: Capability::ReadAssignments.permissions().join(" or "),
                });
            }
            if verdict.role == Some(false) {
                tracing::warn!(
                    "every declared principal reads `customSecurityAttributes: null`, and the signed-in user \
                     shows neither Attribute Assignment Reader nor Administrator at tenant scope: the values \
                     may be hidden"
                );
            }
        }
        Err(_) => tracing::warn!(
            "every declared principal reads `customSecurityAttributes: null`: nothing may be assigned yet, or \
             the sign-in may lack CustomSecAttributeAssignment.Read.All (the token is not a readable JWT, so \
             this could not be checked)"
        ),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principal_urls_select_what_the_plan_needs() {
        assert_eq!(
            principal_url(&PrincipalKey::User("alice@contoso.com".into())),
            "/users/alice@contoso.com?$select=id,userPrincipalName,displayName,customSecurityAttributes"
        );
        assert_eq!(
            principal_url(&PrincipalKey::ServicePrincipal("11111111-2222-3333-4444-555555555555".into())),
            "/servicePrincipals(appId='11111111-2222-3333-4444-555555555555')?$select=id,appId,displayName,customSecurityAttributes"
        );
        assert_eq!(
            principal_url(&PrincipalKey::ServicePrincipal("id:abc".into())),
            "/servicePrincipals/abc?$select=id,appId,displayName,customSecurityAttributes"
        );
        assert!(
            principal_url(&PrincipalKey::User("g_x.com#EXT#@t.com".into()))
                .starts_with("/users/g_x.com%23EXT%23@t.com?")
        );
        assert!(
            principal_url(&PrincipalKey::User("$x@contoso.com".into()))
                .starts_with("/users('$x@contoso.com')?")
        );
    }
}
