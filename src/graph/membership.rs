//! Reading groups' transitive members from Graph, for assigning by group:
//! `GET /groups/{id}/transitiveMembers?$select=id&$top=999`, the first page
//! of up to 20 groups in one `$batch`, each further page by its nextLink.
//! Requests scale with pages of members, not with members. Each member
//! keeps the `@odata.type` Graph gave it, so a type this version does not
//! know is carried, not guessed at.
//!
//! `memberships` finds the groups the files name first: an object id as
//! it is, a display name by `GET /groups?$filter=displayName eq '…'` (`in`
//! with its case forms for a name with letters beyond ASCII, `name_filter`)
//! (resources/group.md: displayName supports `$filter` `eq`; api/group-list.md:
//! `GroupMember.Read.All` or higher), up to 20 names in one
//! `$batch`. Transitive membership is documented in
//! group-list-transitivemembers.md: users, service principals (agent
//! identities among them), devices, contacts and nested groups, each once.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::model::is_guid;
use crate::model::live::{GroupMember, Membership};

use super::batch::{BatchRequest, MAX_BATCH_REQUESTS};
use super::client::{GraphClient, item_error, query_value, segment};
use super::read::ReadError;
use super::route::SWEEP_PAGE_SIZE;

/// The transitive members of each group in `group_ids`, by group id as
/// given. A group Graph does not know (404) is left out of the map, so the
/// caller can name it.
pub async fn transitive_members(
    client: &GraphClient,
    group_ids: &[String],
) -> Result<BTreeMap<String, Vec<GroupMember>>, ReadError> {
    let mut members = BTreeMap::new();
    for chunk in group_ids.chunks(MAX_BATCH_REQUESTS) {
        let requests = chunk
            .iter()
            .enumerate()
            .map(|(index, id)| {
                let url =
                    format!("/groups/{}/transitiveMembers?$select=id&$top={SWEEP_PAGE_SIZE}", segment(id));
                BatchRequest::get((index + 1).to_string(), url)
            })
            .collect();
        let answers = client.batch(requests, client.options.retry, &|_, _| false).await;
        for ((request, answer), id) in answers.into_iter().zip(chunk) {
            let item = answer?;
            match item.status {
                200 => {}
                404 => {
                    tracing::warn!("group {id} was not found in the tenant");
                    continue;
                }
                _ => return Err(item_error(&request, &item).into()),
            }
            let shape = |message: &str| ReadError::Shape {
                what: format!("groups/{id}/transitiveMembers"),
                message: message.to_owned(),
            };
            let Some(Value::Object(mut page)) = item.body else {
                return Err(shape("expected a JSON object"));
            };
            let Some(Value::Array(mut items)) = page.remove("value") else {
                return Err(shape("expected a `value` array"));
            };
            match page.remove("@odata.nextLink") {
                None | Some(Value::Null) => {}
                Some(Value::String(link)) => {
                    let next = client.next_link(&link, &request.url)?;
                    items.extend(client.all_pages(next, |_| {}).await?);
                }
                Some(_) => return Err(shape("`@odata.nextLink` is not a string")),
            }
            let decoded = items
                .into_iter()
                .enumerate()
                .map(|(index, member)| {
                    serde_json::from_value::<GroupMember>(member).map_err(|error| ReadError::Shape {
                        what: format!("groups/{id}/transitiveMembers[{index}]"),
                        message: error.to_string(),
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            members.insert(id.clone(), decoded);
        }
    }
    Ok(members)
}

/// The `$filter` that finds the groups named `name`: `displayName eq '…'`,
/// or, for a name with letters outside ASCII that have a case,
/// `displayName in (…)` with its lower-case, upper-case and as-written
/// forms. Microsoft documents `eq` and `in` on `displayName`
/// (resources/group.md) but not how they compare letter case; asking for
/// the case forms too means a Graph that folds only ASCII still returns
/// `Ärzte` to a file naming `ärzte`, so the name reads as ambiguous here
/// as it does in `validate` and the state file (`model::display_name_fold`).
/// Every group Graph returns is a candidate: a wider comparison on Graph's
/// side only ever makes a name ambiguous, never resolves it to another group.
pub fn name_filter(name: &str) -> String {
    let literal = |text: &str| format!("'{}'", text.replace('\'', "''"));
    let cased_beyond_ascii = name.chars().any(|c| !c.is_ascii() && (c.is_lowercase() || c.is_uppercase()));
    if !cased_beyond_ascii {
        return format!("displayName eq {}", literal(name));
    }
    let mut forms = vec![name.to_owned(), name.to_lowercase(), name.to_uppercase()];
    forms.dedup();
    forms.sort();
    forms.dedup();
    let forms: Vec<String> = forms.iter().map(|form| literal(form)).collect();
    format!("displayName in ({})", forms.join(", "))
}

/// How each group in `keys` (as the files name them) is found in the
/// tenant, with its transitive members: by object id, or by a display
/// name that must name exactly one group.
pub async fn memberships(
    client: &GraphClient,
    keys: &[String],
) -> Result<BTreeMap<String, Membership>, ReadError> {
    let mut found = BTreeMap::new();
    // Key → (group id, display name) of the groups to read members of.
    let mut resolved: Vec<(String, String, Option<String>)> = Vec::new();
    let (ids, names): (Vec<&String>, Vec<&String>) = keys.iter().partition(|key| is_guid(key));
    resolved.extend(ids.into_iter().map(|id| (id.clone(), id.clone(), None)));
    for chunk in names.chunks(MAX_BATCH_REQUESTS) {
        let requests = chunk
            .iter()
            .enumerate()
            .map(|(index, name)| {
                let filter = query_value(&name_filter(name));
                let url = format!("/groups?$filter={filter}&$select=id,displayName&$top={SWEEP_PAGE_SIZE}");
                BatchRequest::get((index + 1).to_string(), url)
            })
            .collect();
        let answers = client.batch(requests, client.options.retry, &|_, _| false).await;
        for ((request, answer), name) in answers.into_iter().zip(chunk) {
            let item = answer?;
            if item.status != 200 {
                return Err(item_error(&request, &item).into());
            }
            let groups =
                item.body.as_ref().and_then(|body| body.get("value")).and_then(Value::as_array).ok_or_else(
                    || ReadError::Shape {
                        what: format!("groups named {name}"),
                        message: "expected a `value` array".into(),
                    },
                )?;
            let named: Vec<(String, String)> = groups
                .iter()
                .filter_map(|group| {
                    let id = group.get("id")?.as_str()?;
                    let shown = group.get("displayName").and_then(Value::as_str).unwrap_or_default();
                    Some((id.to_owned(), shown.to_owned()))
                })
                .collect();
            match named.as_slice() {
                [] => {
                    found.insert((*name).clone(), Membership::NotFound { suggestion: None });
                }
                [(id, shown)] => resolved.push(((*name).clone(), id.clone(), Some(shown.clone()))),
                _ => {
                    found.insert((*name).clone(), Membership::Ambiguous { candidates: named });
                }
            }
        }
    }
    let group_ids: Vec<String> = resolved.iter().map(|(_, id, _)| id.clone()).collect();
    let members = transitive_members(client, &group_ids).await?;
    for (key, id, shown) in resolved {
        let membership = match members.get(&id) {
            Some(members) => Membership::of_group(&id, shown.as_deref(), members),
            None => Membership::NotFound { suggestion: None },
        };
        found.insert(key, membership);
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::name_filter;

    #[test]
    fn a_name_with_cased_letters_beyond_ascii_asks_for_its_case_forms() {
        assert_eq!(name_filter("Ops 'A'"), "displayName eq 'Ops ''A'''");
        assert_eq!(name_filter("Ärzte"), "displayName in ('ÄRZTE', 'Ärzte', 'ärzte')");
        assert_eq!(name_filter("ärzte"), "displayName in ('ÄRZTE', 'ärzte')");
        // Characters without case need no forms.
        assert_eq!(name_filter("医生 2"), "displayName eq '医生 2'");
    }
}
