//! Reading groups' transitive members from Graph, for assigning by group:
//! `GET /groups/{id}/transitiveMembers?$select=id&$top=999`, the first page
//! of up to 20 groups in one `$batch`, each further page by its nextLink.
//! Requests scale with pages of members, not with members. Each member
//! keeps the `@odata.type` Graph gave it, so a type this version does not
//! know is carried, not guessed at.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::model::live::GroupMember;

use super::batch::{BatchRequest, MAX_BATCH_REQUESTS};
use super::client::{GraphClient, item_error, segment};
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
