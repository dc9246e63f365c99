//! Reading every user and service principal as a stream, for `report`: the
//! same paged sweep (`$top=999`, the values in `$select`) as a plan's read,
//! but each page is handed on principal by principal and dropped before the
//! next is asked for, so memory stays one page however large the tenant.
//! A plan's read lives in `read`; this module keeps the report out of it.

use crate::model::PrincipalKind;
use crate::tenant::PrincipalVisitor;

use super::client::{GraphClient, GraphError, shown};
use super::principal_path::collection;
use super::progress::Progress;
use super::read::{ReadError, select};
use super::route::SWEEP_PAGE_SIZE;
use super::wire::WirePrincipal;

/// Pages through every user, then every service principal, calling `visit`
/// with each. A page that does not decode stops the read, naming the item.
pub async fn each_principal(client: &GraphClient, visit: &mut PrincipalVisitor<'_>) -> anyhow::Result<()> {
    for kind in [PrincipalKind::User, PrincipalKind::ServicePrincipal] {
        let query = format!("$top={SWEEP_PAGE_SIZE}&$select={}", select(kind));
        let mut next = Some(client.url(&format!("{}?{query}", collection(kind))));
        let mut seen = std::collections::HashSet::new();
        let mut index = 0usize;
        let progress = Progress::spinner(&format!("reading {}", collection(kind)));
        while let Some(url) = next.take() {
            if !seen.insert(url.as_str().to_owned()) {
                return Err(ReadError::from(GraphError::Paging {
                    path: shown(&url),
                    message: "`@odata.nextLink` repeats a page already read (a paging loop)".into(),
                })
                .into());
            }
            let page = client.page(&url, &[]).await.map_err(ReadError::from)?;
            for item in page.items {
                let path = format!("{}[{index}]", collection(kind));
                let wire: WirePrincipal = serde_path_to_error::deserialize(item).map_err(|error| {
                    let field = error.path().to_string();
                    let what = if field == "." { path.clone() } else { format!("{path}.{field}") };
                    ReadError::Shape { what, message: error.into_inner().to_string() }
                })?;
                let (principal, not_understood) = wire
                    .into_live(kind, || path.clone())
                    .map_err(|error| ReadError::Shape { what: path.clone(), message: error.to_string() })?;
                visit(principal, not_understood)?;
                index += 1;
                progress.inc();
            }
            next = page.next;
        }
        progress.finish();
    }
    Ok(())
}
