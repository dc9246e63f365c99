//! Applying a plan through Graph, in its order: sets, definitions (allowed
//! values inline on create), values, assignments, deactivations. Each step's
//! writes are independent, so they go in `$batch` envelopes of up to 20, a
//! few in flight; changes to one object become one request (one PATCH per
//! principal carrying all its changed sets). Every item's status is checked;
//! a create whose outcome is unknown is settled by reading it back; an
//! assignment to a definition this run created is retried while it
//! replicates. The first failure stops the apply after the step in flight,
//! and the report says per change what was done. Nothing is ever deleted:
//! only POST and PATCH are built here.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Map, Value, json};
use tokio::task::JoinSet;

use crate::graph::access::{self, Claims};
use crate::model::live::PrincipalId;
use crate::model::{PrincipalKind, definition_id};
use crate::plan::order::step;
use crate::plan::{Action, Address, Change, Kind, Snapshot};
use crate::tenant::{ApplyReport, ChangeOutcome, Outcome};

use super::batch::{BatchRequest, MAX_BATCH_REQUESTS};
use super::client::{GraphClient, GraphError, item_error, segment};
use super::progress::ApplyProgress;
use super::wire::{AssignmentEdit, assignment_patch_body};

/// One request of the apply and the changes it carries out.
#[derive(Debug, Clone, PartialEq)]
pub struct Write {
    /// `POST` or `PATCH`; never anything else.
    pub method: &'static str,
    /// Relative to the v1.0 root, with a leading `/`.
    pub url: String,
    /// `Value::Null` for an assignment write until it is built (`body_of`).
    pub body: Value,
    /// An assignment write (one PATCH per principal): its body is built
    /// from its changes when it is sent (`body_of`), not when the apply
    /// starts, so a plan of a million principals starts writing at once
    /// and never holds a million bodies.
    pub assigns: bool,
    /// Indexes into the plan's changes.
    pub changes: Vec<usize>,
    /// For a create: where to read the object back when its outcome is unknown.
    pub read_back: Option<String>,
    /// Definition ids an assignment write uses.
    pub uses_definitions: Vec<String>,
}

/// A change that cannot be turned into a request (a malformed plan).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("change {seq} ({address}): {message}")]
pub struct WriteError {
    pub index: usize,
    pub seq: usize,
    pub address: String,
    pub message: String,
}

const SETS: &str = "/directory/attributeSets";
const DEFINITIONS: &str = "/directory/customSecurityAttributeDefinitions";

fn definition_url(set: &str, attribute: &str) -> String {
    format!("{DEFINITIONS}/{}", segment(&definition_id(set, attribute)))
}

fn value_url(set: &str, attribute: &str, value: &str) -> String {
    format!("{}/allowedValues/{}", definition_url(set, attribute), segment(value))
}

fn principal_url(kind: PrincipalKind, object_id: &str) -> String {
    super::principal_path::by_key(kind, object_id)
}

/// The writes of each step of the plan, in order, bodies and all. Pure.
pub fn plan_writes(changes: &[Change]) -> Result<Vec<Vec<Write>>, WriteError> {
    let mut steps = prepare_writes(changes)?;
    for write in steps.iter_mut().flatten() {
        write.body = body_of(write, changes);
    }
    Ok(steps)
}

/// The writes of each step, in order, with the bodies of assignment writes
/// left to `body_of` (built as each batch is sent). Every change is checked
/// here: a malformed plan fails before anything is sent.
fn prepare_writes(changes: &[Change]) -> Result<Vec<Vec<Write>>, WriteError> {
    let mut steps: Vec<Vec<Write>> = Vec::new();
    let mut index = 0;
    while index < changes.len() {
        let current = step(&changes[index]);
        let end = (index..changes.len()).find(|&i| step(&changes[i]) != current).unwrap_or(changes.len());
        steps.push(step_writes(changes, index..end)?);
        index = end;
    }
    Ok(steps)
}

/// The principal an assignment change writes to and its edit, when the
/// change carries the snapshot it needs.
fn assignment_edit(change: &Change) -> Option<(&PrincipalId, AssignmentEdit)> {
    match (change.action, &change.before, &change.after) {
        (Action::Assign | Action::Update, _, Some(Snapshot::Assignment { principal, value })) => {
            Some((principal, AssignmentEdit::Set(value.clone())))
        }
        (Action::Unassign, Some(Snapshot::Assignment { principal, value }), _) => Some((
            principal,
            if value.is_collection() {
                AssignmentEdit::RemoveCollection
            } else {
                AssignmentEdit::RemoveSingle
            },
        )),
        _ => None,
    }
}

/// The body `write` is sent with: for an assignment write, one PATCH of
/// every set and attribute its changes edit, built now from `changes`.
pub fn body_of(write: &Write, changes: &[Change]) -> Value {
    if !write.assigns {
        return write.body.clone();
    }
    let mut edits: BTreeMap<String, BTreeMap<String, AssignmentEdit>> = BTreeMap::new();
    for &index in &write.changes {
        let change = &changes[index];
        if let (Address::Assignment { set, attribute, .. }, Some((_, edit))) =
            (&change.address, assignment_edit(change))
        {
            edits.entry(set.clone()).or_default().insert(attribute.clone(), edit);
        }
    }
    assignment_patch_body(&edits)
}

fn step_writes(changes: &[Change], range: std::ops::Range<usize>) -> Result<Vec<Write>, WriteError> {
    let mut writes: Vec<Write> = Vec::new();
    // PATCHes to one URL merge into one request; assignments per principal.
    let mut patches: BTreeMap<String, usize> = BTreeMap::new();
    let mut principals: HashMap<(PrincipalKind, &str), usize> = HashMap::new();
    for index in range {
        let change = &changes[index];
        let fail = |message: &str| WriteError {
            index,
            seq: change.seq,
            address: change.address.to_string(),
            message: message.to_owned(),
        };
        if let Address::Assignment { set, attribute, .. } = &change.address {
            let Some((principal, _)) = assignment_edit(change) else {
                return Err(fail("an assignment change needs its assignment snapshot"));
            };
            let position =
                *principals.entry((principal.kind, principal.object_id.as_str())).or_insert_with(|| {
                    writes.push(Write {
                        method: "PATCH",
                        url: principal_url(principal.kind, &principal.object_id),
                        body: Value::Null,
                        assigns: true,
                        changes: Vec::new(),
                        read_back: None,
                        uses_definitions: Vec::new(),
                    });
                    writes.len() - 1
                });
            let write = &mut writes[position];
            write.changes.push(index);
            let id = definition_id(set, attribute);
            if !write.uses_definitions.contains(&id) {
                write.uses_definitions.push(id);
            }
            continue;
        }
        let (method, url, body, read_back) = match (&change.address, change.action, &change.after) {
            (
                Address::AttributeSet { set },
                Action::Create,
                Some(Snapshot::AttributeSet { description, max_attributes_per_set }),
            ) => {
                let mut body = Map::new();
                body.insert("id".into(), json!(set));
                if let Some(description) = description {
                    body.insert("description".into(), json!(description));
                }
                if let Some(max) = max_attributes_per_set {
                    body.insert("maxAttributesPerSet".into(), json!(max));
                }
                ("POST", SETS.to_owned(), Value::Object(body), Some(format!("{SETS}/{}", segment(set))))
            }
            (
                Address::AttributeSet { set },
                Action::Update,
                Some(Snapshot::AttributeSet { description, max_attributes_per_set }),
            ) => {
                let (old_description, old_max) = match &change.before {
                    Some(Snapshot::AttributeSet { description, max_attributes_per_set }) => {
                        (Some(description), Some(max_attributes_per_set))
                    }
                    _ => (None, None),
                };
                let mut body = Map::new();
                if old_description != Some(description) {
                    body.insert("description".into(), json!(description));
                }
                if old_max != Some(max_attributes_per_set) {
                    body.insert("maxAttributesPerSet".into(), json!(max_attributes_per_set));
                }
                ("PATCH", format!("{SETS}/{}", segment(set)), Value::Object(body), None)
            }
            (Address::Definition { set, attribute }, Action::Create, Some(Snapshot::Definition(after))) => {
                let mut body = Map::new();
                body.insert("attributeSet".into(), json!(set));
                body.insert("name".into(), json!(attribute));
                if let Some(description) = &after.description {
                    body.insert("description".into(), json!(description));
                }
                body.insert("type".into(), json!(after.data_type.as_str()));
                body.insert("isCollection".into(), json!(after.is_collection));
                body.insert("isSearchable".into(), json!(after.is_searchable));
                body.insert("status".into(), json!(after.status.as_str()));
                body.insert("usePreDefinedValuesOnly".into(), json!(after.use_pre_defined_values_only));
                if !after.allowed_values.is_empty() {
                    let values: Vec<Value> = after
                        .allowed_values
                        .iter()
                        .map(|(id, is_active)| json!({ "id": id, "isActive": is_active }))
                        .collect();
                    body.insert("allowedValues".into(), Value::Array(values));
                }
                ("POST", DEFINITIONS.to_owned(), Value::Object(body), Some(definition_url(set, attribute)))
            }
            (Address::Definition { set, attribute }, Action::Update, Some(Snapshot::Definition(after))) => {
                let before = match &change.before {
                    Some(Snapshot::Definition(before)) => Some(before),
                    _ => None,
                };
                let mut body = Map::new();
                if before.is_none_or(|before| before.description != after.description) {
                    body.insert("description".into(), json!(after.description));
                }
                if before.is_none_or(|before| {
                    before.use_pre_defined_values_only != after.use_pre_defined_values_only
                }) {
                    body.insert("usePreDefinedValuesOnly".into(), json!(after.use_pre_defined_values_only));
                }
                if before.is_some_and(|before| before.status != after.status) {
                    body.insert("status".into(), json!(after.status.as_str()));
                }
                ("PATCH", definition_url(set, attribute), Value::Object(body), None)
            }
            (Address::Definition { set, attribute }, Action::Deactivate | Action::Reactivate, _) => {
                let status = if change.action == Action::Deactivate { "Deprecated" } else { "Available" };
                ("PATCH", definition_url(set, attribute), json!({ "status": status }), None)
            }
            (
                Address::AllowedValue { set, attribute, value },
                Action::Create,
                Some(Snapshot::AllowedValue { is_active }),
            ) => (
                "POST",
                format!("{}/allowedValues", definition_url(set, attribute)),
                json!({ "id": value, "isActive": is_active }),
                Some(value_url(set, attribute, value)),
            ),
            (Address::AllowedValue { set, attribute, value }, Action::Deactivate | Action::Reactivate, _) => {
                (
                    "PATCH",
                    value_url(set, attribute, value),
                    json!({ "isActive": change.action == Action::Reactivate }),
                    None,
                )
            }
            _ => {
                return Err(fail(&format!(
                    "`{}` with this snapshot is not something Graph can do",
                    change.action
                )));
            }
        };
        if method == "PATCH"
            && let Some(&position) = patches.get(&url)
        {
            let write = &mut writes[position];
            if let (Value::Object(merged), Value::Object(more)) = (&mut write.body, body) {
                merged.extend(more);
            }
            write.changes.push(index);
            continue;
        }
        if method == "PATCH" {
            patches.insert(url.clone(), writes.len());
        }
        writes.push(Write {
            method,
            url,
            body,
            assigns: false,
            changes: vec![index],
            read_back,
            uses_definitions: Vec::new(),
        });
    }
    Ok(writes)
}

/// What became of one write (its position in the step).
type WriteResult = (usize, Ended);

/// How one write of a batch ended.
#[derive(Debug)]
enum Ended {
    /// Graph answered it (after any retries): done, or failed with why.
    Answered(Result<(), String>),
    /// The apply was stopped while the pacer held it: never sent.
    NotSent,
    /// The apply was stopped while the pacer held a retry of it: an earlier
    /// attempt was sent, so its outcome is not known for sure.
    CutOff,
}

/// Carries out `changes` through `client`. When `stop` is set, nothing new
/// is sent; the changes not started are reported as not attempted.
pub async fn apply(client: Arc<GraphClient>, changes: &[Change], stop: &AtomicBool) -> ApplyReport {
    let mut results: Vec<Outcome> = vec![Outcome::NotAttempted; changes.len()];
    let report = |results: Vec<Outcome>| ApplyReport {
        outcomes: changes
            .iter()
            .zip(results)
            .map(|(change, result)| ChangeOutcome {
                seq: change.seq,
                address: change.address.to_string(),
                result,
            })
            .collect(),
    };
    let preparing = std::time::Instant::now();
    let steps = match prepare_writes(changes) {
        Ok(steps) => steps,
        Err(error) => {
            results[error.index] = Outcome::Failed(error.message);
            return report(results);
        }
    };
    if let Some(missing) = missing_permissions(&client, changes).await
        && !results.is_empty()
    {
        results[0] = Outcome::Failed(missing);
        return report(results);
    }
    tracing::debug!("apply: permissions checked at {:?}", preparing.elapsed());
    let total_writes: usize = steps.iter().map(Vec::len).sum();
    tracing::debug!("apply: {total_writes} write(s) prepared in {:?}", preparing.elapsed());
    // The time left counts from the pace the client keeps: Graph's quota,
    // or the scaled one it was told (`ClientOptions::write_budget`).
    let paced = if client.options.pace_writes {
        crate::plan::apply_time::paced_time_at(
            total_writes,
            client.options.write_budget,
            client.options.write_window,
        )
    } else {
        Duration::ZERO
    };
    let progress = ApplyProgress::new(changes.len() as u64, total_writes as u64, paced);
    let mut created_definitions: HashSet<String> = HashSet::new();
    for (step, writes) in steps.into_iter().enumerate() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let writes = Arc::new(writes);
        tracing::debug!(
            "apply: step {step} of {} write(s) starts at {:?}",
            writes.len(),
            preparing.elapsed()
        );
        let first_alone = step == 0;
        let (outcomes, cut_off) =
            run_step(&client, changes, &writes, first_alone, &created_definitions, &progress, stop).await;
        for position in cut_off {
            for &index in &writes[position].changes {
                results[index] = Outcome::CutOff;
            }
        }
        let mut failed = false;
        for (position, outcome) in outcomes {
            let write = &writes[position];
            match outcome {
                Ok(()) => {
                    for &index in &write.changes {
                        results[index] = Outcome::Done;
                        if let (Address::Definition { set, attribute }, Action::Create) =
                            (&changes[index].address, changes[index].action)
                        {
                            created_definitions.insert(definition_id(set, attribute));
                        }
                    }
                }
                Err(message) => {
                    failed = true;
                    tracing::warn!("{} {} failed: {message}", write.method, write.url);
                    for &index in &write.changes {
                        results[index] = Outcome::Failed(message.clone());
                    }
                }
            }
        }
        if failed {
            break;
        }
    }
    progress.finish();
    report(results)
}

/// What the token lacks for these changes, when its claims can be read and
/// show a missing Graph permission: the apply then sends nothing rather than
/// fail half-way. A missing directory role only warns (roles scoped to an
/// attribute set do not show in the token).
async fn missing_permissions(client: &GraphClient, changes: &[Change]) -> Option<String> {
    let token = client.token().await.ok()?;
    let claims = Claims::from_jwt(token.expose()).ok()?;
    let writes_assignments = changes.iter().any(|change| change.kind() == Kind::Assignment);
    let writes_definitions = changes.iter().any(|change| change.kind() != Kind::Assignment);
    let checks =
        access::check(&claims, &access::needed_for_apply(false, writes_definitions, writes_assignments));
    for check in checks.iter().filter(|check| check.permission && check.role == Some(false)) {
        tracing::warn!("the signed-in user may lack a role: {check}");
    }
    let missing: Vec<String> =
        checks.iter().filter(|check| !check.permission).map(ToString::to_string).collect();
    (!missing.is_empty()).then(|| {
        format!(
            "the token's permissions do not allow this apply; nothing was sent:\n  {}",
            missing.join("\n  ")
        )
    })
}

/// How long the requests in flight may take to finish once an apply is
/// told to stop (a signal, the deadline). What has not answered by then is
/// abandoned and reported as cut off: a SIGTERM is followed by SIGKILL a few
/// seconds later (GitHub Actions, container runtimes), so the report must be
/// out before that.
pub const STOP_GRACE: Duration = Duration::from_secs(3);

/// How often a step waiting on its requests looks at the stop flag.
const STOP_POLL: Duration = Duration::from_millis(50);

/// Runs one step's writes in batches, a few in flight; after a failure no
/// new batch starts. Writes not started get no outcome, nor do those the
/// pacer held when the stop came (the client does not send them). With `first_alone`
/// (the apply's first step) the first write is a batch of its own: the
/// pacer holds the others until Graph answers it, so a quota that another
/// app has used up refuses one write, and its pressure report is heard
/// before the burst. Once `interrupted` is set nothing new starts, and the
/// batches still in flight after `STOP_GRACE` are abandoned: their writes
/// come back in the second list (cut off, outcome unknown).
async fn run_step(
    client: &Arc<GraphClient>,
    changes: &[Change],
    writes: &Arc<Vec<Write>>,
    first_alone: bool,
    created_definitions: &HashSet<String>,
    progress: &ApplyProgress,
    interrupted: &AtomicBool,
) -> (Vec<(usize, Result<(), String>)>, Vec<usize>) {
    let chunks = chunked(writes.len(), client.options.batch_size.clamp(1, MAX_BATCH_REQUESTS), first_alone);
    let mut pending = chunks.into_iter();
    let mut running = JoinSet::new();
    let mut in_flight: HashMap<tokio::task::Id, Vec<usize>> = HashMap::new();
    let mut grace_ends = None;
    let mut outcomes = Vec::new();
    let mut cut_off = Vec::new();
    let mut stop = false;
    loop {
        stop |= interrupted.load(Ordering::SeqCst);
        while !stop && running.len() < client.options.concurrency.max(1) {
            let Some(chunk) = pending.next() else { break };
            let replicating: HashSet<usize> = chunk
                .iter()
                .copied()
                .filter(|&position| {
                    writes[position].uses_definitions.iter().any(|id| created_definitions.contains(id))
                })
                .collect();
            // Built as the batch is sent: the first batch does not wait for
            // the bodies of the whole plan.
            let bodies: Vec<Value> =
                chunk.iter().map(|&position| body_of(&writes[position], changes)).collect();
            let task = running.spawn(run_batch(
                Arc::clone(client),
                Arc::clone(writes),
                chunk.clone(),
                bodies,
                replicating,
            ));
            in_flight.insert(task.id(), chunk);
        }
        let (id, batch_outcomes) = match next_joined(&mut running, interrupted, &mut grace_ends, progress)
            .await
        {
            Joined::Nothing => break,
            Joined::GraceOver => {
                running.abort_all();
                cut_off.extend(in_flight.into_values().flatten());
                tracing::warn!("stopped with {} write(s) in flight; their outcome is unknown", cut_off.len());
                return (outcomes, cut_off);
            }
            Joined::Batch(Ok((id, batch_outcomes))) => (id, batch_outcomes),
            Joined::Batch(Err(error)) => {
                (error.id(), vec![(usize::MAX, Ended::Answered(Err(format!("apply task failed: {error}"))))])
            }
        };
        in_flight.remove(&id);
        for (position, ended) in batch_outcomes {
            if position == usize::MAX {
                stop = true;
                continue;
            }
            match ended {
                Ended::Answered(outcome) => {
                    stop |= outcome.is_err();
                    progress.write_done(writes[position].changes.len() as u64);
                    outcomes.push((position, outcome));
                }
                // Only a stop holds writes back: nothing new starts.
                Ended::NotSent => stop = true,
                Ended::CutOff => {
                    stop = true;
                    cut_off.push(position);
                }
            }
        }
    }
    (outcomes, cut_off)
}

/// What waiting on a step's batches gave.
enum Joined {
    /// No batch is in flight.
    Nothing,
    /// A batch ended (or its task failed).
    Batch(Result<(tokio::task::Id, Vec<WriteResult>), tokio::task::JoinError>),
    /// The stop's grace ran out with batches still in flight.
    GraceOver,
}

/// The next batch of `running` to end, watching `stop`: once it is set,
/// the batches in flight have until `STOP_GRACE` later (kept in
/// `grace_ends`) to end. Meanwhile the progress line stays on time.
async fn next_joined(
    running: &mut JoinSet<Vec<WriteResult>>,
    stop: &AtomicBool,
    grace_ends: &mut Option<tokio::time::Instant>,
    progress: &ApplyProgress,
) -> Joined {
    loop {
        progress.tick();
        if grace_ends.is_none() && stop.load(Ordering::SeqCst) {
            *grace_ends = Some(tokio::time::Instant::now() + STOP_GRACE);
        }
        let wake = grace_ends.unwrap_or_else(|| tokio::time::Instant::now() + STOP_POLL);
        tokio::select! {
            joined = running.join_next_with_id() => {
                return joined.map_or(Joined::Nothing, Joined::Batch);
            }
            () = tokio::time::sleep_until(wake) => {
                if grace_ends.is_some_and(|end| tokio::time::Instant::now() >= end) {
                    return Joined::GraceOver;
                }
            }
        }
    }
}

/// The positions of `count` writes in batches of `size`, the first alone when asked.
fn chunked(count: usize, size: usize, first_alone: bool) -> Vec<Vec<usize>> {
    let positions: Vec<usize> = (0..count).collect();
    let alone = usize::from(first_alone && size > 1).min(count);
    let (first, rest) = positions.split_at(alone);
    std::iter::once(first.to_vec())
        .filter(|chunk| !chunk.is_empty())
        .chain(rest.chunks(size).map(<[usize]>::to_vec))
        .collect()
}

/// One batch of writes, with per-item retries and read-back of unsettled creates.
async fn run_batch(
    client: Arc<GraphClient>,
    writes: Arc<Vec<Write>>,
    chunk: Vec<usize>,
    bodies: Vec<Value>,
    replicating: HashSet<usize>,
) -> Vec<WriteResult> {
    let requests: Vec<BatchRequest> = chunk
        .iter()
        .zip(bodies)
        .enumerate()
        .map(|(slot, (&position, body))| {
            let write = &writes[position];
            let mut request = BatchRequest::patch((slot + 1).to_string(), write.url.clone(), body);
            request.method = write.method.to_owned();
            request
        })
        .collect();
    let position_of: HashMap<String, usize> =
        requests.iter().map(|request| request.id.clone()).zip(chunk.iter().copied()).collect();
    let replicating_ids: HashSet<String> = position_of
        .iter()
        .filter(|(_, position)| replicating.contains(position))
        .map(|(id, _)| id.clone())
        .collect();
    let policy = if replicating_ids.is_empty() { client.options.retry } else { client.options.replication };
    let retry_item = move |request: &BatchRequest, item: &super::batch::BatchItemResponse| {
        replicating_ids.contains(&request.id) && matches!(item.status, 400 | 404 | 422)
    };
    let answers = client.batch(requests, policy, &retry_item).await;
    let mut outcomes = Vec::new();
    for (request, answer) in answers {
        let position = position_of[&request.id];
        let write = &writes[position];
        let error = match answer {
            Ok(item) if item.is_success() => {
                outcomes.push((position, Ended::Answered(Ok(()))));
                continue;
            }
            Ok(item) => item_error(&request, &item),
            Err(GraphError::Stopped { sent_before: false }) => {
                outcomes.push((position, Ended::NotSent));
                continue;
            }
            Err(GraphError::Stopped { sent_before: true }) => {
                outcomes.push((position, Ended::CutOff));
                continue;
            }
            Err(error) => error,
        };
        outcomes.push((position, Ended::Answered(settle_create(&client, write, error).await)));
    }
    outcomes
}

/// Whether a failed create may in fact have happened (or the object exists).
fn outcome_unknown(error: &GraphError) -> bool {
    match error {
        GraphError::Status { status: 409, .. } => true,
        GraphError::Status { status: 400, message, code, .. } => {
            let text = format!("{} {message}", code.as_deref().unwrap_or_default()).to_ascii_lowercase();
            text.contains("exist") || text.contains("conflict")
        }
        other => other.is_retryable(),
    }
}

/// For a create that failed ambiguously, reads the object back: if it is
/// there, the create is done.
async fn settle_create(client: &GraphClient, write: &Write, error: GraphError) -> Result<(), String> {
    let Some(read_back) = write.read_back.as_deref().filter(|_| outcome_unknown(&error)) else {
        return Err(error.explained());
    };
    // Read back through `$batch`, where the relative URL is sent exactly as
    // built: a `Url` would resolve an encoded dot segment (a value `.`).
    let request = crate::graph::batch::BatchRequest::get("1", read_back);
    let answer = client.batch(vec![request], client.options.retry, &|_, _| false).await;
    let found = match answer.into_iter().next().map(|(_, answer)| answer) {
        Some(Ok(item)) if (200..300).contains(&item.status) => Ok(()),
        Some(Ok(item)) => Err(format!("status {}", item.status)),
        Some(Err(error)) => Err(error.to_string()),
        None => Err("no answer".to_owned()),
    };
    match found {
        Ok(()) => {
            tracing::info!(
                "{} {}: outcome was unclear ({error}); read back {read_back}: it exists",
                write.method,
                write.url
            );
            Ok(())
        }
        Err(read_error) => Err(format!("{error} (and reading it back failed: {read_error})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::live::PrincipalId;
    use crate::model::{AttributeValue, DataType, PrincipalKey, Status};
    use crate::plan::DefinitionSnapshot;

    fn change(
        seq: usize,
        action: Action,
        address: Address,
        before: Option<Snapshot>,
        after: Option<Snapshot>,
    ) -> Change {
        Change { seq, action, address, before, after }
    }

    fn assignment(principal: &str, attribute: &str) -> Address {
        Address::Assignment {
            principal: PrincipalKey::User(format!("{principal}@x.com")),
            set: "Eng".into(),
            attribute: attribute.into(),
        }
    }

    fn on(object_id: &str, value: AttributeValue) -> Option<Snapshot> {
        Some(Snapshot::Assignment {
            principal: PrincipalId { kind: PrincipalKind::User, object_id: object_id.into() },
            value,
        })
    }

    fn definition(status: Status, description: &str, values: Vec<(String, bool)>) -> DefinitionSnapshot {
        DefinitionSnapshot {
            description: Some(description.into()),
            data_type: DataType::String,
            is_collection: true,
            is_searchable: true,
            use_pre_defined_values_only: true,
            status,
            allowed_values: values,
        }
    }

    #[test]
    fn each_step_becomes_its_writes_and_nothing_deletes() {
        let set = Address::AttributeSet { set: "Eng".into() };
        let project = Address::Definition { set: "Eng".into(), attribute: "Project".into() };
        let changes = vec![
            change(
                1,
                Action::Create,
                set,
                None,
                Some(Snapshot::AttributeSet { description: Some("d".into()), max_attributes_per_set: None }),
            ),
            change(
                2,
                Action::Create,
                project.clone(),
                None,
                Some(Snapshot::Definition(definition(Status::Available, "p", vec![("Alpine".into(), true)]))),
            ),
            change(
                3,
                Action::Create,
                Address::AllowedValue {
                    set: "Eng".into(),
                    attribute: "Project".into(),
                    value: "Baker Street".into(),
                },
                None,
                Some(Snapshot::AllowedValue { is_active: true }),
            ),
            change(
                4,
                Action::Assign,
                assignment("a", "Project"),
                None,
                on("u1", AttributeValue::strings(vec!["Alpine".into()])),
            ),
            change(5, Action::Assign, assignment("a", "Level"), None, on("u1", AttributeValue::Integer(3))),
            change(6, Action::Unassign, assignment("b", "Level"), on("u2", AttributeValue::Integer(1)), None),
            change(7, Action::Deactivate, project, None, None),
        ];
        let steps = plan_writes(&changes).unwrap();
        assert_eq!(steps.len(), 5);
        assert_eq!(steps[0][0].method, "POST");
        assert_eq!(steps[0][0].url, "/directory/attributeSets");
        assert_eq!(steps[0][0].body, json!({ "id": "Eng", "description": "d" }));
        assert_eq!(steps[0][0].read_back.as_deref(), Some("/directory/attributeSets/Eng"));
        assert_eq!(
            steps[1][0].body,
            json!({ "attributeSet": "Eng", "name": "Project", "description": "p", "type": "String",
                    "isCollection": true, "isSearchable": true, "status": "Available",
                    "usePreDefinedValuesOnly": true, "allowedValues": [ { "id": "Alpine", "isActive": true } ] })
        );
        assert_eq!(
            steps[2][0].url,
            "/directory/customSecurityAttributeDefinitions/Eng_Project/allowedValues"
        );
        assert_eq!(
            steps[2][0].read_back.as_deref(),
            Some("/directory/customSecurityAttributeDefinitions/Eng_Project/allowedValues/Baker%20Street")
        );
        // One PATCH per principal, carrying all its edits.
        assert_eq!(steps[3].len(), 2);
        assert_eq!(steps[3][0].url, "/users/u1");
        assert_eq!(steps[3][0].changes, vec![3, 4]);
        assert_eq!(steps[3][0].uses_definitions, vec!["Eng_Project".to_owned(), "Eng_Level".to_owned()]);
        assert_eq!(
            steps[3][0].body,
            json!({ "customSecurityAttributes": { "Eng": {
                "@odata.type": "#Microsoft.DirectoryServices.CustomSecurityAttributeValue",
                "Level@odata.type": "#Int32", "Level": 3,
                "Project@odata.type": "#Collection(String)", "Project": ["Alpine"] } } })
        );
        assert_eq!(steps[3][1].body["customSecurityAttributes"]["Eng"]["Level"], Value::Null);
        assert_eq!(steps[4][0].body, json!({ "status": "Deprecated" }));
        assert!(steps.iter().flatten().all(|write| write.method == "POST" || write.method == "PATCH"));
    }

    #[test]
    fn changes_to_one_object_merge_into_one_patch() {
        let project = Address::Definition { set: "Eng".into(), attribute: "Project".into() };
        let before = definition(Status::Deprecated, "old", Vec::new());
        let mut after = definition(Status::Deprecated, "new", Vec::new());
        after.use_pre_defined_values_only = false;
        let changes = vec![
            change(1, Action::Reactivate, project.clone(), None, None),
            change(
                2,
                Action::Update,
                project,
                Some(Snapshot::Definition(before)),
                Some(Snapshot::Definition(after)),
            ),
        ];
        let steps = plan_writes(&changes).unwrap();
        assert_eq!(steps.len(), 1);
        assert_eq!(steps[0].len(), 1);
        assert_eq!(steps[0][0].changes, vec![0, 1]);
        assert_eq!(
            steps[0][0].body,
            json!({ "status": "Available", "description": "new", "usePreDefinedValuesOnly": false })
        );
    }

    #[test]
    fn a_collection_is_removed_with_an_empty_list() {
        let changes = vec![change(
            1,
            Action::Unassign,
            assignment("a", "Project"),
            on("u1", AttributeValue::strings(vec!["Alpine".into()])),
            None,
        )];
        let steps = plan_writes(&changes).unwrap();
        assert_eq!(steps[0][0].body["customSecurityAttributes"]["Eng"]["Project"], json!([]));
    }

    #[test]
    fn creates_that_may_have_happened_are_read_back() {
        let status = |status: u16, message: &str| GraphError::Status {
            method: "POST".into(),
            path: "/directory/attributeSets".into(),
            status,
            code: Some("Request_BadRequest".into()),
            message: message.into(),
            retry_after: None,
        };
        assert!(outcome_unknown(&status(409, "Conflict")));
        assert!(outcome_unknown(&status(400, "An attribute set with id 'Eng' already exists.")));
        assert!(outcome_unknown(&status(429, "Please retry again later.")));
        assert!(outcome_unknown(&status(503, "unavailable")));
        assert!(outcome_unknown(&GraphError::Transport {
            method: "POST".into(),
            path: "/$batch".into(),
            message: "timed out".into()
        }));
        assert!(!outcome_unknown(&status(400, "The name is too long.")));
        assert!(!outcome_unknown(&status(403, "Insufficient privileges to complete the operation.")));
    }

    #[test]
    fn the_first_write_of_an_apply_goes_alone() {
        let range = |range: std::ops::Range<usize>| range.collect::<Vec<_>>();
        assert_eq!(chunked(45, 20, true), vec![vec![0], range(1..21), range(21..41), range(41..45)]);
        assert_eq!(chunked(45, 20, false), vec![range(0..20), range(20..40), range(40..45)]);
        assert_eq!(chunked(1, 20, true), vec![vec![0]]);
        assert_eq!(chunked(3, 1, true), vec![vec![0], vec![1], vec![2]]);
        assert!(chunked(0, 20, true).is_empty());
    }

    #[test]
    fn a_malformed_change_is_refused_before_any_request() {
        let changes = vec![change(1, Action::Assign, assignment("a", "Project"), None, None)];
        let error = plan_writes(&changes).unwrap_err();
        assert_eq!(error.index, 0);
        assert!(error.message.contains("snapshot"), "{error}");
    }
}
