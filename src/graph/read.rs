//! Reading the live tenant: attribute sets, definitions with their allowed
//! values (every page), and the assignments of the declared principals —
//! batched GETs or a sweep, whichever `route` finds cheaper, and the sweep
//! when the policy needs every principal. A declared principal Graph does
//! not know is left out, so the plan reports it as a conflict naming it.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use tokio::task::JoinSet;

use serde_json::Value;

use crate::graph::access::{self, Capability, Claims};
use crate::model::live::{LivePrincipal, LiveState, NotUnderstood};
use crate::model::{PrincipalKey, PrincipalKind, PrincipalLookup};
use crate::tenant::{ReadScope, Retain};

use super::batch::{BatchRequest, MAX_BATCH_REQUESTS};
use super::client::{GraphClient, GraphError, item_error, segment};
use super::partition::{self, PrefixCount, Range};
use super::principal_path::{self, collection};
use super::progress::Progress;
use super::retry::RetryPolicy;
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

/// One principal as read, with what of it was not understood. `path`
/// names it (`users[12]`) for a message, and is spelled out only for one: a
/// sweep decodes a million principals.
fn decode_principal(
    value: Value,
    kind: PrincipalKind,
    path: impl Fn() -> String,
) -> Result<(LivePrincipal, Vec<NotUnderstood>), ReadError> {
    let wire: WirePrincipal = serde_path_to_error::deserialize(value).map_err(|error| {
        let field = error.path().to_string();
        ReadError::Shape {
            what: if field == "." { path() } else { format!("{}.{field}", path()) },
            message: error.into_inner().to_string(),
        }
    })?;
    wire.into_live(kind, &path).map_err(|error| ReadError::Shape { what: path(), message: error.to_string() })
}

/// Which principals a read keeps: the declared ones, those holding a value
/// not understood (to be reported), and what `Retain` asks for. The rest are
/// counted and dropped as they are read.
#[derive(Debug)]
struct Keep {
    retain: Retain,
    /// The declared keys of one kind, lowercased, by form.
    object_ids: HashSet<String>,
    user_principal_names: HashSet<String>,
    app_ids: HashSet<String>,
    /// The populations of the requirements that are of this kind: their
    /// principals are kept whatever they hold (coverage needs those that
    /// hold nothing).
    populations: Vec<crate::model::requirement::Population>,
}

impl Keep {
    fn new(retain: &Retain, declared: &[&PrincipalKey]) -> Self {
        let mut keep = Keep {
            retain: retain.clone(),
            object_ids: HashSet::new(),
            user_principal_names: HashSet::new(),
            app_ids: HashSet::new(),
            populations: Vec::new(),
        };
        for key in declared {
            let (set, text) = match key.lookup() {
                PrincipalLookup::ObjectId(id) => (&mut keep.object_ids, id),
                PrincipalLookup::UserPrincipalName(upn) => (&mut keep.user_principal_names, upn),
                PrincipalLookup::AppId(app_id) => (&mut keep.app_ids, app_id),
            };
            set.insert(text.to_ascii_lowercase());
        }
        keep
    }

    fn keeps(&self, principal: &LivePrincipal, not_understood: &[NotUnderstood]) -> bool {
        let declared = |set: &HashSet<String>, text: Option<&str>| {
            !set.is_empty() && text.is_some_and(|text| set.contains(&text.to_ascii_lowercase()))
        };
        if !not_understood.is_empty()
            || declared(&self.object_ids, Some(&principal.object_id))
            || declared(&self.user_principal_names, principal.user_principal_name.as_deref())
            || declared(&self.app_ids, principal.app_id.as_deref())
        {
            return true;
        }
        if self.populations.iter().any(|population| population.includes(principal)) {
            return true;
        }
        let mut held = principal
            .custom_security_attributes
            .iter()
            .flatten()
            .filter(|(_, values)| values.iter().any(|(_, value)| !value.is_empty_collection()));
        match &self.retain {
            Retain::Everything => true,
            Retain::AnyValue => held.next().is_some(),
            Retain::HoldersOf(sets) => held.any(|(set, _)| sets.contains(&set.to_ascii_lowercase())),
        }
    }
}

/// The principals of one kind that a read kept, and how many it read.
#[derive(Debug, Default)]
pub struct Swept {
    pub principals: Vec<LivePrincipal>,
    pub not_understood: Vec<NotUnderstood>,
    /// Principals read (kept or not).
    pub read: u64,
    /// Ranges the sweep was split into (1: the single sweep; 0: no sweep).
    pub partitions: usize,
    /// Principals read more than once: by different ranges (a UPN renamed
    /// during the sweep) among those kept. Kept once.
    pub read_twice: u64,
    /// An order-free digest of the object ids of every principal read
    /// (kept or not): the wrapping sum of their `id_digest`. With `read`,
    /// it lets a benchmark hold a sweep of a million principals to the
    /// tenant's own list — none missed, none read twice — without keeping
    /// them.
    pub ids_digest: u64,
    /// How the read went where it differs from the plan of it (a split
    /// Graph refused, and what was read instead), for the plan's notes.
    pub notes: Vec<String>,
    /// How long the read of this kind took, counts and all.
    pub took: std::time::Duration,
}

/// A 64-bit FNV-1a hash of an object id, the term of `Swept::ids_digest`.
pub fn id_digest(object_id: &str) -> u64 {
    object_id.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

impl Swept {
    fn take(&mut self, (principal, not_understood): (LivePrincipal, Vec<NotUnderstood>), keep: &Keep) {
        self.read += 1;
        self.ids_digest = self.ids_digest.wrapping_add(id_digest(&principal.object_id));
        if keep.keeps(&principal, &not_understood) {
            self.principals.push(principal);
            self.not_understood.extend(not_understood);
        }
    }

    fn into_live(self, live: &mut LiveState) {
        live.not_understood.extend(self.not_understood);
        live.read_notes.extend(self.notes);
        for principal in self.principals {
            live.principals.insert(principal.id(), principal);
        }
    }
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

    // Users and service principals are read side by side.
    let timed = |kind| async move {
        let started = Instant::now();
        read_kind(client, kind, scope).await.map(|mut read| {
            read.took = started.elapsed();
            read
        })
    };
    let (users, service_principals) =
        tokio::join!(timed(PrincipalKind::User), timed(PrincipalKind::ServicePrincipal));
    let mut complete = true;
    for (kind, read) in
        [(PrincipalKind::User, users?), (PrincipalKind::ServicePrincipal, service_principals?)]
    {
        complete &= read.partitions > 0;
        if read.partitions > 0 {
            live.complete_kinds.insert(kind);
            tracing::debug!(
                kind = kind.as_str(),
                read = read.read,
                kept = read.principals.len(),
                partitions = read.partitions,
                read_twice = read.read_twice,
                ids_digest = read.ids_digest,
                elapsed_ms = read.took.as_millis() as u64,
                "swept"
            );
        }
        read.into_live(&mut live);
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

/// Reads the principals of one kind that `scope` asks for.
async fn read_kind(
    client: &Arc<GraphClient>,
    kind: PrincipalKind,
    scope: &ReadScope,
) -> Result<Swept, ReadError> {
    let declared: Vec<&PrincipalKey> = scope.principals.iter().filter(|key| key.kind() == kind).collect();
    let mut keep = Keep::new(&scope.retain, &declared);
    keep.populations =
        scope.populations.iter().filter(|population| population.kind() == Some(kind)).cloned().collect();
    let keep = Arc::new(keep);
    // Group members come as object ids and may be principals the files
    // list by name: those are then read by name first.
    let names_first = !scope.groups.is_empty();
    read_principals(client, kind, &declared, scope.sweeps(kind), names_first, &keep).await
}

fn sweep_query(kind: PrincipalKind) -> String {
    format!("$top={SWEEP_PAGE_SIZE}&$select={}", select(kind))
}

/// The header of an advanced query. Only the population count carries it:
/// advanced queries are answered from an index Microsoft describes as
/// eventually consistent, and the pages a plan decides from must hold the
/// latest writes.
const EVENTUAL: &[(&str, &str)] = &[("ConsistencyLevel", "eventual")];

/// The first page of a sweep, read as every page is (no advanced query
/// parameters), with the population beside it.
struct Probe {
    page: super::client::Page,
    url: url::Url,
    /// The principals of the kind, from `population`: it only sizes the
    /// route, the split and the read quota, so an index that lags cannot
    /// change what a plan decides, only how fast it reads.
    count: Option<u64>,
}

/// Reads the first sweep page, and the population beside it: the page may
/// be the whole tenant, and the count tells how many pages a sweep takes.
async fn probe(client: &GraphClient, kind: PrincipalKind) -> Result<Probe, ReadError> {
    let url = client.url(&format!("{}?{}", collection(kind), sweep_query(kind)));
    let (page, count) = tokio::join!(client.page(&url, &[]), population(client, kind));
    let page = page?;
    // The tenant's size sets its read quota.
    if let (PrincipalKind::User, Some(users)) = (kind, count) {
        client.tenant_users(users);
    }
    Ok(Probe { page, url, count })
}

/// How many principals of `kind` the tenant holds: `GET /users/$count`
/// (or `/servicePrincipals/$count`) with `ConsistencyLevel: eventual`, a
/// request of its own so no page is read from the lagging index. `None`
/// when Graph does not answer it: the reader then keeps to what needs no
/// count (batched reads, the single sweep).
async fn population(client: &GraphClient, kind: PrincipalKind) -> Option<u64> {
    let url = client.url(&format!("{}/$count", collection(kind)));
    match client.send(reqwest::Method::GET, &url, None, EVENTUAL, 0).await {
        Ok(answer) => match answer.body {
            Value::Number(count) => count.as_u64(),
            Value::String(text) => text.trim().parse().ok(),
            _ => None,
        },
        Err(error) => {
            tracing::debug!("the number of {} is unknown: {error}", collection(kind));
            None
        }
    }
}

/// Reads the principals of one kind; `partitions` of the answer is 0
/// unless every principal of the kind was swept.
async fn read_principals(
    client: &Arc<GraphClient>,
    kind: PrincipalKind,
    declared: &[&PrincipalKey],
    sweep: bool,
    names_first: bool,
    keep: &Arc<Keep>,
) -> Result<Swept, ReadError> {
    if !sweep && declared.is_empty() {
        return Ok(Swept::default());
    }
    if sweep {
        return sweep_all(client, kind, keep).await;
    }
    match client.options.read_route {
        Some(Route::Sweep) => return sweep_all(client, kind, keep).await,
        Some(Route::Batched) => return read_batched(client, kind, declared, names_first, keep).await,
        None => {}
    }
    if !route::worth_probing(declared.len()) {
        return read_batched(client, kind, declared, names_first, keep).await;
    }
    let Probe { page, url: probe_url, count, .. } = probe(client, kind).await?;
    let page_len = page.items.len();
    let mut swept = Swept::default();
    let mut found: Vec<LivePrincipal> = Vec::new();
    for (index, item) in page.items.into_iter().enumerate() {
        let (principal, not_understood) =
            decode_principal(item, kind, || format!("{}[{index}]", collection(kind)))?;
        swept.read += 1;
        swept.ids_digest = swept.ids_digest.wrapping_add(id_digest(&principal.object_id));
        if keep.keeps(&principal, &not_understood) {
            swept.not_understood.extend(not_understood);
            found.push(principal);
        }
    }
    let on_page = LiveState {
        principals: found.into_iter().map(|principal| (principal.id(), principal)).collect(),
        ..LiveState::default()
    };
    let index = on_page.principal_index();
    let unresolved: Vec<&PrincipalKey> =
        declared.iter().copied().filter(|key| index.find(key).is_none()).collect();
    drop(index);
    swept.principals.extend(on_page.principals.into_values());
    let population = count.and_then(|count| usize::try_from(count).ok());
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
            sweep_from(client, kind, next, Some(&probe_url), keep, &mut swept, None).await?;
            swept.partitions = 1;
        }
        (Route::Sweep, None) => swept.partitions = 1,
        (Route::Batched, _) => {
            let batched = read_batched(client, kind, &unresolved, names_first, keep).await?;
            swept.read += batched.read;
            swept.ids_digest = swept.ids_digest.wrapping_add(batched.ids_digest);
            swept.principals.extend(batched.principals);
            swept.not_understood.extend(batched.not_understood);
        }
    }
    Ok(swept)
}

/// Every principal of `kind`: the single sweep, or ranges read side by side
/// when that is faster and within the split's share of the read quota
/// (`partition`). Public so tests can hold the ranges to reading every
/// principal exactly once.
pub async fn sweep(client: &Arc<GraphClient>, kind: PrincipalKind) -> Result<Swept, ReadError> {
    sweep_all(client, kind, &Arc::new(Keep::new(&Retain::Everything, &[]))).await
}

/// The splits a sweep tries, in order: each one Graph refuses (400) or
/// orders differently falls back to the next, and the last fallback is the
/// single sweep. Users: ranges of `userPrincipalName` cut where the counts
/// put the quantiles (`ge` is not in Microsoft's table), then one range per
/// first character (documented). Service principals: one range per first
/// hex digit of `appId` (not in the table).
async fn splits(
    client: &Arc<GraphClient>,
    kind: PrincipalKind,
    parts: usize,
    total: u64,
) -> Result<Vec<Vec<(Range, usize)>>, ReadError> {
    let whole_pages = |ranges: Vec<Range>| ranges.into_iter().map(|range| (range, SWEEP_PAGE_SIZE)).collect();
    let mut splits: Vec<Vec<(Range, usize)>> = match kind {
        PrincipalKind::User => match upn_counts(client, total, parts).await? {
            Some((first, counts)) => {
                let (ranges, users): (Vec<Range>, Vec<u64>) =
                    partition::user_ranges_estimated(&counts, parts).into_iter().unzip();
                let sizes = partition::staggered_page_sizes(&users, SWEEP_PAGE_SIZE);
                let mut splits = vec![ranges.into_iter().zip(sizes).collect()];
                splits.extend(partition::user_prefix_ranges(&first, total).map(whole_pages));
                splits
            }
            // Graph did not count: boundaries as if the names started
            // evenly with a letter or a digit. Still every user once,
            // only less evenly.
            None => {
                tracing::debug!("the users by UPN prefix are not counted: even boundaries");
                vec![whole_pages(partition::user_ranges(&partition::even_prefixes(), parts))]
            }
        },
        // Sixteen prefixes or none: the hex digits do not group into fewer.
        PrincipalKind::ServicePrincipal if parts >= partition::HEX_DIGITS.len() => {
            vec![whole_pages(partition::app_id_ranges())]
        }
        PrincipalKind::ServicePrincipal => Vec::new(),
    };
    splits.retain(|ranges| ranges.len() > 1);
    Ok(splits)
}

/// The share of the tenant's read quota (resource units per 10 s) the
/// counts that place a split's boundaries may spend, one unit each.
const COUNTS_QUOTA_SHARE: f64 = 0.2;

/// Users by UPN prefix: the first characters (kept apart, for the
/// documented split), then the prefixes `partition::to_refine` names, each
/// by its next character, until every prefix is small enough to cut at
/// (`partition`). The counts are advanced queries (`$count=true`,
/// `ConsistencyLevel: eventual`) of one user each, sent side by side; they
/// only place the boundaries. `None` when Graph does not count them: the
/// sweep is then not split.
async fn upn_counts(
    client: &Arc<GraphClient>,
    total: u64,
    parts: usize,
) -> Result<Option<(Vec<PrefixCount>, Vec<PrefixCount>)>, ReadError> {
    let most = (f64::from(client.read_quota()) * COUNTS_QUOTA_SHARE) as usize;
    if most < partition::first_prefixes().len() {
        return Ok(None);
    }
    let Some(first) = count_prefixes(client, partition::first_prefixes()).await else { return Ok(None) };
    let mut counts = first.clone();
    let mut sent = first.len();
    loop {
        // The fullest first, as many as the share allows.
        let mut heavy = partition::to_refine(&counts, total, parts);
        heavy.sort_by_key(|prefix| {
            std::cmp::Reverse(counts.iter().find(|(held, _)| held == prefix).map_or(0, |(_, count)| *count))
        });
        let per_prefix = partition::child_prefixes("").len();
        heavy.truncate(most.saturating_sub(sent) / per_prefix);
        let children: Vec<(String, Vec<String>)> =
            heavy.into_iter().map(|prefix| (prefix.clone(), partition::child_prefixes(&prefix))).collect();
        let asked: usize = children.iter().map(|(_, children)| children.len()).sum();
        if asked == 0 {
            break;
        }
        sent += asked;
        let all: Vec<String> = children.iter().flat_map(|(_, children)| children.iter().cloned()).collect();
        let Some(mut answered) = count_prefixes(client, all).await else { return Ok(None) };
        for (prefix, children) in children {
            let theirs: Vec<PrefixCount> = answered.drain(..children.len()).collect();
            partition::refined(&mut counts, &prefix, theirs);
        }
    }
    tracing::debug!(counts = sent, prefixes = counts.len(), "counted users by UPN prefix");
    Ok(Some((first, counts)))
}

/// How many users start with each of `prefixes`, in their order; `None`
/// when Graph does not answer a count.
async fn count_prefixes(client: &Arc<GraphClient>, prefixes: Vec<String>) -> Option<Vec<PrefixCount>> {
    let mut running = JoinSet::new();
    let mut answered: Vec<Option<PrefixCount>> = vec![None; prefixes.len()];
    let mut pending = prefixes.into_iter().enumerate();
    // Count requests are small (`$top=1`): sixteen times the pages in
    // flight, so a round refining a few heavy prefixes (45 counts each)
    // goes in one wave, each round one round trip. Their number is bounded
    // by `COUNTS_QUOTA_SHARE`.
    let most = client.options.read_concurrency.max(1) * 16;
    loop {
        while running.len() < most {
            let Some((at, prefix)) = pending.next() else { break };
            let client = Arc::clone(client);
            running.spawn(async move {
                let filter = super::client::query_value(&Range::filter_for_prefix(&prefix));
                let url = client.url(&format!("users?$filter={filter}&$count=true&$top=1&$select=id"));
                // One retry: a count only evens the ranges out.
                let policy = RetryPolicy { max_attempts: 1, ..client.options.retry };
                let count =
                    client.page_retried(&url, EVENTUAL, policy).await.ok().and_then(|page| page.count);
                (at, prefix, count)
            });
        }
        let Some(joined) = running.join_next().await else { break };
        let (at, prefix, count) = joined.ok()?;
        answered[at] = Some((prefix, count?));
    }
    answered.into_iter().collect()
}

/// How a split reads, for the plan's note: "by first character of
/// userPrincipalName (44 ranges)", "in one sweep".
fn described(ranges: Option<&Vec<(Range, usize)>>) -> String {
    match ranges.and_then(|ranges| Some((&ranges.first()?.0, ranges.len()))) {
        Some((Range::UserPrincipalNames { .. }, parts)) => format!("in {parts} ranges of userPrincipalName"),
        Some((Range::UserPrefix(_), parts)) => {
            format!("in {parts} ranges by first character of userPrincipalName")
        }
        Some((Range::AppIdPrefix(_), parts)) => format!("in {parts} ranges by first digit of appId"),
        None => "in one sweep".into(),
    }
}

async fn sweep_all(
    client: &Arc<GraphClient>,
    kind: PrincipalKind,
    keep: &Arc<Keep>,
) -> Result<Swept, ReadError> {
    // The population first, on its own: it decides whether to split, and a
    // count is answered faster than a page.
    let started = Instant::now();
    let count = population(client, kind).await;
    let took = started.elapsed();
    if let (PrincipalKind::User, Some(users)) = (kind, count) {
        client.tenant_users(users);
    }
    let pages = count.map(|count| usize::try_from(count).unwrap_or(usize::MAX).div_ceil(SWEEP_PAGE_SIZE));
    let parts = match (client.options.sweep_partitions, pages) {
        (Some(forced), _) => forced,
        // The count's time stands for a page's: it is shorter, so the
        // split's share of the quota is judged at its highest.
        (None, Some(pages)) => partition::partitions_for(
            pages,
            client.options.read_concurrency.max(1),
            took,
            client.read_quota(),
        ),
        // An unknown population: the single sweep, whose cost is known per page.
        (None, None) => 1,
    };
    let mut splits = match count {
        Some(total) if parts > 1 && total > 0 => splits(client, kind, parts, total).await?,
        _ => Vec::new(),
    }
    .into_iter()
    .peekable();
    let mut notes = Vec::new();
    while let Some(ranges) = splits.next() {
        let prefixes = matches!(ranges.first(), Some((Range::UserPrefix(_), _)));
        match read_ranges(client, kind, ranges, keep).await? {
            RangesRead::Whole(mut swept) => {
                // The documented split holds the UPNs Microsoft documents; a
                // read short of the count (which lags, so only a shortfall
                // counts) may have missed others: one sweep reads them all.
                match count.filter(|count| prefixes && swept.read < *count) {
                    Some(count) => notes.push(format!(
                        "reading {} by first character found {} of the {count} Graph counts: they were read in \
                         one sweep instead",
                        collection(kind),
                        swept.read
                    )),
                    None => {
                        swept.notes = notes;
                        return Ok(swept);
                    }
                }
                break;
            }
            RangesRead::Misplaced(filter) => {
                notes.push(format!(
                    "Graph orders {} differently from the range `{filter}`: they were read in one sweep instead",
                    collection(kind)
                ));
                break;
            }
            RangesRead::Refused { filter, error } => {
                notes.push(format!(
                    "Graph refused the range filter `{filter}` ({}): {} were read {} instead",
                    refusal(&error),
                    collection(kind),
                    described(splits.peek())
                ));
            }
        }
    }
    for note in &notes {
        tracing::info!("{note}");
    }
    let first_url = client.url(&format!("{}?{}", collection(kind), sweep_query(kind)));
    let mut swept = Swept { partitions: 1, notes, ..Swept::default() };
    sweep_from(client, kind, first_url, None, keep, &mut swept, None).await?;
    Ok(swept)
}

/// A refusal as the note shows it: `HTTP 400 Request_UnsupportedQuery`.
fn refusal(error: &GraphError) -> String {
    match error {
        GraphError::Status { status, code: Some(code), .. } => format!("HTTP {status} {code}"),
        GraphError::Status { status, .. } => format!("HTTP {status}"),
        other => other.to_string(),
    }
}

/// How reading a split ended.
#[derive(Debug)]
enum RangesRead {
    /// Every range was read.
    Whole(Swept),
    /// A principal was read in a range it does not belong to (`filter`):
    /// Graph orders keys differently from the boundaries, so the ranges may
    /// overlap or leave gaps.
    Misplaced(String),
    /// Graph refused a range (400): its filter is not supported there.
    Refused { filter: String, error: GraphError },
}

/// Reads `ranges` side by side (at most `read_concurrency` pages in
/// flight), each in pages of its own size (`$top`), none with advanced
/// query parameters. A range that ends the
/// split (refused, misplaced) stops the others; what they read is dropped,
/// so the fallback reads every principal once.
async fn read_ranges(
    client: &Arc<GraphClient>,
    kind: PrincipalKind,
    ranges: Vec<(Range, usize)>,
    keep: &Arc<Keep>,
) -> Result<RangesRead, ReadError> {
    let partitions = ranges.len();
    let progress = Progress::spinner(&format!("reading {} in {partitions} ranges", collection(kind)));
    let mut pending = ranges.into_iter();
    let mut running = JoinSet::new();
    let mut swept = Swept { partitions, ..Swept::default() };
    let mut seen: HashSet<String> = HashSet::new();
    loop {
        while running.len() < client.options.read_concurrency.max(1) {
            let Some((range, top)) = pending.next() else { break };
            let (client, keep, progress) = (Arc::clone(client), Arc::clone(keep), progress.clone());
            running.spawn(async move {
                let filter = super::client::query_value(&range.filter());
                let query = format!("$top={top}&$select={}&$filter={filter}", select(kind));
                let url = client.url(&format!("{}?{query}", collection(kind)));
                let mut part = Swept::default();
                let outcome =
                    sweep_from(&client, kind, url, None, &keep, &mut part, Some((&range, &progress))).await;
                (range, outcome.map(|misplaced| (part, misplaced)))
            });
        }
        let Some(joined) = running.join_next().await else { break };
        let (range, outcome) = joined.map_err(|error| ReadError::Shape {
            what: format!("a range of {}", collection(kind)),
            message: format!("the task failed: {error}"),
        })?;
        let (part, misplaced) = match outcome {
            Ok(read) => read,
            Err(ReadError::Graph(error)) if error.status() == Some(400) => {
                progress.finish();
                return Ok(RangesRead::Refused { filter: range.filter(), error });
            }
            Err(error) => return Err(error),
        };
        if misplaced {
            progress.finish();
            return Ok(RangesRead::Misplaced(range.filter()));
        }
        swept.read += part.read;
        swept.ids_digest = swept.ids_digest.wrapping_add(part.ids_digest);
        swept.not_understood.extend(part.not_understood);
        for principal in part.principals {
            if seen.insert(principal.object_id.clone()) {
                swept.principals.push(principal);
            } else {
                swept.read_twice += 1;
            }
        }
    }
    progress.finish();
    Ok(RangesRead::Whole(swept))
}

/// Pages through the principals of `kind` at `url` and on, into `swept`.
/// No page carries advanced query parameters: each is read from the
/// directory as it is now. With a `range`, each principal is checked to
/// belong to it; `true` when one does not (and the sweep stopped). The next
/// page is asked for as soon as its link is known, while this one is
/// decoded: a sweep waits for Graph, not for its own work between pages.
async fn sweep_from(
    client: &Arc<GraphClient>,
    kind: PrincipalKind,
    url: url::Url,
    already_read: Option<&url::Url>,
    keep: &Keep,
    swept: &mut Swept,
    range: Option<(&Range, &Progress)>,
) -> Result<bool, ReadError> {
    let own_progress;
    let progress = match range {
        Some((_, progress)) => progress,
        None => {
            own_progress = Progress::spinner(&format!("reading {}", collection(kind)));
            &own_progress
        }
    };
    let mut seen = HashSet::new();
    if let Some(first) = already_read {
        seen.insert(first.as_str().to_owned());
    }
    let fetch = |url: url::Url| {
        let client = Arc::clone(client);
        tokio::spawn(async move { client.page(&url, &[]).await })
    };
    let task_failed = |error: tokio::task::JoinError| ReadError::Shape {
        what: collection(kind).to_owned(),
        message: format!("reading a page failed: {error}"),
    };
    let mut next = Some(url);
    let mut fetching = None;
    loop {
        let page = match (fetching.take(), next.take()) {
            (Some(fetched), _) => fetched,
            (None, Some(url)) => {
                if !seen.insert(url.as_str().to_owned()) {
                    return Err(paging_loop(&url));
                }
                fetch(url)
            }
            (None, None) => break,
        };
        let page = page.await.map_err(task_failed)??;
        if let Some(url) = page.next {
            if !seen.insert(url.as_str().to_owned()) {
                return Err(paging_loop(&url));
            }
            fetching = Some(fetch(url));
        }
        // Dropped (and so stopped) if this page ends the sweep early.
        let mut following = AbortOnDrop(fetching.as_ref().map(tokio::task::JoinHandle::abort_handle));
        for item in page.items {
            let index = swept.read;
            let (principal, not_understood) =
                decode_principal(item, kind, || format!("{}[{index}]", collection(kind)))?;
            if let Some((range, _)) = range {
                let key = match kind {
                    PrincipalKind::User => principal.user_principal_name.as_deref(),
                    PrincipalKind::ServicePrincipal => principal.app_id.as_deref(),
                };
                // As `to_lowercase` compares, without a string per principal
                // (the boundaries are ASCII, so a final sigma cannot matter).
                let ignoring_case = |left: &str, right: &str| {
                    left.chars().flat_map(char::to_lowercase).cmp(right.chars().flat_map(char::to_lowercase))
                };
                if !key.is_some_and(|key| range.holds(key, ignoring_case)) {
                    return Ok(true);
                }
            }
            swept.take((principal, not_understood), keep);
            progress.inc();
        }
        // Read through: the page ahead is wanted.
        following.0 = None;
    }
    if range.is_none() {
        progress.finish();
    }
    Ok(false)
}

/// Stops a page read ahead when the sweep ends before it is needed.
struct AbortOnDrop(Option<tokio::task::AbortHandle>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(handle) = &self.0 {
            handle.abort();
        }
    }
}

fn paging_loop(url: &url::Url) -> ReadError {
    GraphError::Paging {
        path: super::client::shown(url),
        message: "`@odata.nextLink` repeats a page already read (a paging loop)".into(),
    }
    .into()
}

/// Reads `keys` with batched GETs, a few batches in flight; unknown ones
/// (404) are left out.
async fn read_batched(
    client: &Arc<GraphClient>,
    kind: PrincipalKind,
    keys: &[&PrincipalKey],
    names_first: bool,
    keep: &Keep,
) -> Result<Swept, ReadError> {
    let mut swept = Swept::default();
    let mut read_ids = HashSet::new();
    if !names_first {
        read_batched_keys(client, kind, keys, keep, &mut swept, &mut read_ids).await?;
        return Ok(swept);
    }
    // Keys by name (UPN, appId) first, then the object ids not read by name
    // already: a principal the files list by UPN and a group reaches by its
    // id is read once. It costs at most one partly filled `$batch` more.
    let (by_id, by_name): (Vec<&PrincipalKey>, Vec<&PrincipalKey>) =
        keys.iter().partition(|key| matches!(key.lookup(), PrincipalLookup::ObjectId(_)));
    read_batched_keys(client, kind, &by_name, keep, &mut swept, &mut read_ids).await?;
    let by_id: Vec<&PrincipalKey> = by_id
        .into_iter()
        .filter(|key| match key.lookup() {
            PrincipalLookup::ObjectId(id) => !read_ids.contains(id),
            _ => true,
        })
        .collect();
    read_batched_keys(client, kind, &by_id, keep, &mut swept, &mut read_ids).await?;
    Ok(swept)
}

/// One pass of `read_batched`: the principals of `keys`, 20 GETs to a
/// `$batch`, a few in flight; the object ids read are added to `read_ids`.
async fn read_batched_keys(
    client: &Arc<GraphClient>,
    kind: PrincipalKind,
    keys: &[&PrincipalKey],
    keep: &Keep,
    swept: &mut Swept,
    read_ids: &mut HashSet<String>,
) -> Result<(), ReadError> {
    if keys.is_empty() {
        return Ok(());
    }
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
                    let decoded = decode_principal(body, kind, || key.to_string())?;
                    read_ids.insert(decoded.0.id().object_id);
                    swept.take(decoded, keep);
                }
                404 => tracing::warn!("{key} was not found in the tenant"),
                _ => return Err(item_error(&request, &item).into()),
            }
            progress.inc();
        }
        // The users read so far prove the tenant's size class, which no
        // count told this route.
        if kind == PrincipalKind::User {
            client.tenant_has_at_least_users(read_ids.len() as u64);
        }
    }
    progress.finish();
    Ok(())
}

/// An all-`null` read of the declared principals (and of those the
/// requirements judge): an error when the token's claims show it lacks the
/// read permission, a warning otherwise.
async fn check_read_permission(
    client: &GraphClient,
    scope: &ReadScope,
    live: &LiveState,
) -> Result<(), ReadError> {
    let index = live.principal_index();
    let mut found: Vec<&LivePrincipal> = scope.principals.iter().filter_map(|key| index.find(key)).collect();
    // The principals a requirement judges: were their values hidden, every
    // one of them would look untagged.
    if !scope.populations.is_empty() {
        found.extend(
            live.principals.values().filter(|principal| {
                scope.populations.iter().any(|population| population.includes(principal))
            }),
        );
    }
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
