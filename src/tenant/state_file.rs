//! The local state file (ARCHITECTURE.md, "The state file is the emulator's store") as a `Tenant`: a JSON document in
//! Graph's shapes (`graph::wire::TenantDocument`). Reading names the file,
//! line and column of a syntax error and the JSON path of a shape error.
//! Applying carries out the changes with `plan::effect::apply_change` — the
//! same rules Graph enforces — and rewrites the file atomically (a partial
//! file in the same folder, then a rename), so an interrupted apply leaves
//! either the old document or the new one, never half of one; a lock beside
//! the file makes applies to it take turns.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::error::Category;

use crate::graph::wire::{LiveDocument, TenantDocument, WireError};
use crate::model::PrincipalKind;
use crate::model::live::LiveState;
use crate::model::live::{NotUnderstood, PrincipalId};
use crate::plan::effect::apply_change;
use crate::plan::{Change, Target};
use crate::tenant::{ApplyReport, ChangeOutcome, Outcome, ReadScope, Tenant};

/// Why a state file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateFileError {
    #[error("cannot read state file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{path}:{line}:{column}: invalid JSON: {message}")]
    Syntax { path: String, line: usize, column: usize, message: String },
    #[error("{path}:{line}:{column}: at `{json_path}`: {message}")]
    Shape { path: String, line: usize, column: usize, json_path: String, message: String },
    #[error("{path}: at `{}`: {}", .source.path, .source.message)]
    Wire { path: String, source: WireError },
    #[error("cannot write state file {path}: {source}")]
    Write { path: String, source: std::io::Error },
    #[error("cannot lock state file {path} for the apply: {source}")]
    Lock { path: String, source: std::io::Error },
}

/// A tenant kept in a local JSON file.
#[derive(Debug)]
pub struct StateFileTenant {
    path: PathBuf,
    /// The lock `reserve_for_apply` took, held until this tenant is dropped.
    reserved: OnceLock<std::fs::File>,
}

impl StateFileTenant {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        StateFileTenant { path: path.into(), reserved: OnceLock::new() }
    }

    fn shown(&self) -> String {
        self.path.display().to_string()
    }

    /// Reads and checks the document.
    pub fn load(&self) -> Result<LiveState, StateFileError> {
        let text = std::fs::read_to_string(&self.path)
            .map_err(|source| StateFileError::Read { path: self.shown(), source })?;
        let document = parse_document(&text, &self.shown())?;
        drop(text);
        let mut live = document
            .into_live_state()
            .map_err(|source| StateFileError::Wire { path: self.shown(), source })?;
        live.set_aside_values_unlike_their_definitions();
        Ok(live)
    }

    /// The lock that makes applies to this file take turns, unless
    /// `reserve_for_apply` holds it already (`None` then): an exclusive lock
    /// on `.{file name}.entra-csa-lock` beside it, waited for when another
    /// apply holds it and released when dropped. The lock file stays:
    /// removing it would let a waiting apply and a new one lock two
    /// different files.
    fn lock_unless_reserved(&self) -> Result<Option<std::fs::File>, StateFileError> {
        if self.reserved.get().is_some() {
            return Ok(None);
        }
        let lock_error = |source: std::io::Error| StateFileError::Lock { path: self.shown(), source };
        let lock_path = folder_of(&self.path).join(format!("{}{LOCK_SUFFIX}", hidden_name(&self.path)));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(lock_error)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                tracing::warn!("waiting for another apply to {} to finish", self.shown());
                file.lock().map_err(lock_error)?;
            }
            Err(std::fs::TryLockError::Error(error)) => return Err(lock_error(error)),
        }
        Ok(Some(file))
    }

    /// Writes `live` as the document, atomically. What the file holds that
    /// was not understood is not in `live`; it is copied over from the file
    /// as written, so a write never loses it.
    pub fn store(&self, live: &LiveState) -> Result<(), StateFileError> {
        let mut document = TenantDocument::from_live_state(live);
        if !live.not_understood.is_empty() {
            let text = std::fs::read_to_string(&self.path)
                .map_err(|source| StateFileError::Read { path: self.shown(), source })?;
            let held: TenantDocument = serde_json::from_str(&text).map_err(|error| {
                StateFileError::Write { path: self.shown(), source: std::io::Error::other(error) }
            })?;
            carry_over_not_understood(&mut document, held, &live.not_understood);
        }
        write_document(&self.path, &document)
            .map_err(|source| StateFileError::Write { path: self.shown(), source })
    }
}

/// Copies into `document` what `held` (the file as written) holds that was
/// not understood: the definitions whole, and the principals' values as
/// written.
fn carry_over_not_understood(
    document: &mut TenantDocument,
    held: TenantDocument,
    not_understood: &[NotUnderstood],
) {
    for definition in held.custom_security_attribute_definitions {
        let unknown = not_understood.iter().any(|item| {
            item.principal.is_none()
                && item.set == definition.attribute_set
                && item.attribute.as_ref() == Some(&definition.name)
        });
        if unknown {
            document.custom_security_attribute_definitions.push(definition);
        }
    }
    for (kind, held_list) in
        [(PrincipalKind::User, held.users), (PrincipalKind::ServicePrincipal, held.service_principals)]
    {
        let list = match kind {
            PrincipalKind::User => &mut document.users,
            PrincipalKind::ServicePrincipal => &mut document.service_principals,
        };
        for held_principal in held_list {
            let id = PrincipalId { kind, object_id: held_principal.id.clone() };
            let items: Vec<&NotUnderstood> =
                not_understood.iter().filter(|item| item.principal.as_ref() == Some(&id)).collect();
            let (Some(held_sets), false) = (held_principal.custom_security_attributes, items.is_empty())
            else {
                continue;
            };
            let Some(principal) = list.iter_mut().find(|principal| principal.id == id.object_id) else {
                continue;
            };
            let sets = principal.custom_security_attributes.get_or_insert_with(Default::default);
            for item in items {
                let Some(serde_json::Value::Object(members)) = held_sets.get(&item.set) else { continue };
                let target = sets
                    .entry(item.set.clone())
                    .or_insert_with(|| serde_json::Value::Object(Default::default()));
                let serde_json::Value::Object(target) = target else { continue };
                for (key, value) in members {
                    let belongs = match &item.attribute {
                        None => true,
                        Some(attribute) => {
                            key == "@odata.type"
                                || key == attribute
                                || *key == format!("{attribute}@odata.type")
                        }
                    };
                    if belongs && !target.contains_key(key) {
                        target.insert(key.clone(), value.clone());
                    }
                }
            }
        }
    }
}

/// How the lock beside a state file is named: `.{file name}{LOCK_SUFFIX}`.
pub const LOCK_SUFFIX: &str = ".entra-csa-lock";

/// How a partly written state file is named while it is written:
/// `.{file name}.{random}{PARTIAL_SUFFIX}`, beside the file.
pub const PARTIAL_SUFFIX: &str = ".entra-csa-partial";

/// A partial file this old was left by a process that died while writing
/// (a write takes milliseconds), so the next write removes it.
const PARTIAL_STALE_AFTER: Duration = Duration::from_secs(3600);

/// Writes a state document atomically: a partial file in the same folder,
/// synced, then renamed over `path`, so a reader (or a kill) only ever sees
/// the old document or the new one. Partial files a killed writer left
/// behind are removed once stale.
pub fn write_document(path: &Path, document: &impl serde::Serialize) -> std::io::Result<()> {
    let mut text = serde_json::to_string_pretty(document).map_err(std::io::Error::other)?;
    text.push('\n');
    let folder = folder_of(path);
    let prefix = format!("{}.", hidden_name(path));
    let mut partial = tempfile::Builder::new().prefix(&prefix).suffix(PARTIAL_SUFFIX).tempfile_in(folder)?;
    partial.write_all(text.as_bytes())?;
    partial.as_file().sync_all()?;
    partial.persist(path).map_err(|error| error.error)?;
    remove_stale_partials(folder, &prefix);
    Ok(())
}

/// The folder a state file is in (`.` for a bare file name).
fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// `.{file name}`: how the lock and partial files beside a state file begin.
fn hidden_name(path: &Path) -> String {
    let name = path.file_name().map(|name| name.to_string_lossy()).unwrap_or_default();
    format!(".{name}")
}

/// Best effort: a partial file that cannot be removed is only logged.
fn remove_stale_partials(folder: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(folder) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with(prefix) && name.ends_with(PARTIAL_SUFFIX)) {
            continue;
        }
        let stale = entry
            .metadata()
            .and_then(|metadata| metadata.modified())
            .is_ok_and(|modified| modified.elapsed().is_ok_and(|age| age >= PARTIAL_STALE_AFTER));
        if stale && let Err(error) = std::fs::remove_file(entry.path()) {
            tracing::debug!("cannot remove the stale partial file {name}: {error}");
        }
    }
}

/// Parses a state document; `path` names it in errors.
pub fn parse(text: &str, path: &str) -> Result<LiveState, StateFileError> {
    parse_document(text, path)?
        .into_live_state()
        .map_err(|source| StateFileError::Wire { path: path.to_owned(), source })
}

/// The document, its principals converted to the live model as they are
/// parsed; the rest of the conversion waits for the whole to parse.
fn parse_document(text: &str, path: &str) -> Result<LiveDocument, StateFileError> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let document: LiveDocument = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let json_path = error.path().to_string();
        let inner = error.into_inner();
        let (line, column) = (inner.line(), inner.column());
        let message = strip_position(&inner.to_string());
        match inner.classify() {
            Category::Data => {
                StateFileError::Shape { path: path.to_owned(), line, column, json_path, message }
            }
            Category::Syntax | Category::Eof | Category::Io => {
                StateFileError::Syntax { path: path.to_owned(), line, column, message }
            }
        }
    })?;
    // Trailing characters after the document are a syntax error too.
    deserializer.end().map_err(|inner| StateFileError::Syntax {
        path: path.to_owned(),
        line: inner.line(),
        column: inner.column(),
        message: strip_position(&inner.to_string()),
    })?;
    Ok(document)
}

/// serde_json appends " at line L column C"; the error prints it up front.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(index) => message[..index].to_owned(),
        None => message.to_owned(),
    }
}

#[async_trait]
impl Tenant for StateFileTenant {
    fn target(&self) -> Target {
        Target::StateFile { path: self.shown() }
    }

    async fn read(&self, scope: &ReadScope) -> anyhow::Result<LiveState> {
        let mut live = self.load()?;
        live.memberships = super::memberships_in(&live, &scope.groups);
        Ok(live)
    }

    async fn reserve_for_apply(&self) -> anyhow::Result<()> {
        if let Some(lock) = self.lock_unless_reserved()? {
            let _ = self.reserved.set(lock);
        }
        Ok(())
    }

    async fn apply(&self, changes: &[Change]) -> ApplyReport {
        let mut report = ApplyReport::default();
        let outcome = |change: &Change, result: Outcome| ChangeOutcome {
            seq: change.seq,
            address: change.address.to_string(),
            result,
        };
        // Held until the file is written (or, when reserved, since the read
        // the plan was made from): a second apply to the same file waits,
        // then applies its changes on top of the first's.
        let (_lock, mut live) = match self.lock_unless_reserved().and_then(|lock| Ok((lock, self.load()?))) {
            Ok(locked) => locked,
            Err(error) => {
                for (index, change) in changes.iter().enumerate() {
                    let result =
                        if index == 0 { Outcome::Failed(error.to_string()) } else { Outcome::NotAttempted };
                    report.outcomes.push(outcome(change, result));
                }
                return report;
            }
        };
        let mut failed = false;
        for change in changes {
            let result = if failed {
                Outcome::NotAttempted
            } else {
                match apply_change(&mut live, change) {
                    Ok(()) => Outcome::Done,
                    Err(error) => {
                        failed = true;
                        Outcome::Failed(error.message)
                    }
                }
            };
            report.outcomes.push(outcome(change, result));
        }
        if let Err(error) = self.store(&live) {
            for entry in &mut report.outcomes {
                if entry.result == Outcome::Done {
                    entry.result = Outcome::Failed(format!("not saved: {error}"));
                }
            }
        }
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_name_line_and_column() {
        let error = parse("{\n  \"attributeSets\": [,]\n}", "t.json").unwrap_err().to_string();
        assert!(error.starts_with("t.json:2:21: invalid JSON"), "{error}");
    }

    #[test]
    fn shape_errors_name_the_json_path() {
        let text = r#"{ "customSecurityAttributeDefinitions": [
            { "attributeSet": "Eng", "name": "P", "type": 7, "isCollection": false, "status": "Available" } ] }"#;
        let error = parse(text, "t.json").unwrap_err().to_string();
        assert!(error.contains("at `customSecurityAttributeDefinitions[0].type`"), "{error}");
        assert!(error.starts_with("t.json:2:"), "{error}");
        let error = parse(r#"{ "devices": [] }"#, "t.json").unwrap_err().to_string();
        assert!(error.contains("unknown field `devices`"), "{error}");
    }

    #[test]
    fn a_write_replaces_the_file_and_clears_only_stale_partials_of_its_own() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("live.json");
        std::fs::write(&path, "old").unwrap();
        let leave = |name: &str, age: Duration| {
            let file = std::fs::File::create(folder.path().join(name)).unwrap();
            file.set_modified(std::time::SystemTime::now() - age).unwrap();
        };
        let hour = Duration::from_secs(3600);
        leave(".live.json.ab12cd.entra-csa-partial", 2 * hour);
        leave(".live.json.ef34gh.entra-csa-partial", Duration::ZERO);
        leave(".other.json.ij56kl.entra-csa-partial", 2 * hour);
        leave("notes.entra-csa-partial", 2 * hour);

        write_document(&path, &TenantDocument::default()).unwrap();

        assert!(parse(&std::fs::read_to_string(&path).unwrap(), "live.json").is_ok());
        let mut left: Vec<String> = std::fs::read_dir(folder.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                ".live.json.ef34gh.entra-csa-partial",
                ".other.json.ij56kl.entra-csa-partial",
                "live.json",
                "notes.entra-csa-partial"
            ]
        );
    }

    #[test]
    fn value_errors_name_the_principal() {
        let text = r#"{ "users": [ { "id": "u1", "customSecurityAttributes": { "Eng": { "P": {} } } } ] }"#;
        let error = parse(text, "t.json").unwrap_err().to_string();
        assert_eq!(
            error,
            "t.json: at `users[0].customSecurityAttributes.Eng.P`: expected a value, found an object"
        );
    }
}
