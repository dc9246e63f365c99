//! `entra-csa export`: reads the tenant and writes its attribute sets,
//! definitions, values (and with `--assignments`, every principal's values) as
//! desired-state YAML — the first step of adopting the tool on a tenant.
//! Written to a file or folder, it overwrites only the files it wrote itself
//! and nobody edited since (its record, `.entra-csa-export.json`, holds a
//! hash of each), unless `--force`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::cli::arguments::ExportArgs;
use crate::cli::exit_status::ExitStatus;
use crate::cli::output::tell;
use crate::cli::plan::runtime;
use crate::cli::target::open_tenant;
use crate::desired::diagnostic::nearest;
use crate::desired::export::{
    ASSIGNMENTS_FILE, ExportOptions, NOT_UNDERSTOOD_WRITER, export_folder, export_single,
    values_left_to_their_writer,
};
use crate::plan::diff::principal_key;
use crate::tenant::{ReadScope, Retain};

/// The schema's file name beside a folder export.
const SCHEMA_FILE: &str = "entra-csa.schema.json";

/// Runs `export`.
pub fn run(args: ExportArgs) -> anyhow::Result<ExitStatus> {
    let tenant = open_tenant(&args.target)?;
    let scope = ReadScope { sweep: args.assignments, retain: Retain::AnyValue, ..ReadScope::default() };
    let live = runtime()?.block_on(tenant.read(&scope))?;

    for wanted in &args.sets {
        if !live.attribute_sets.contains_key(wanted) {
            let suggestion = nearest(wanted, live.attribute_sets.keys().map(String::as_str))
                .map(|near| format!("; did you mean `{near}`?"))
                .unwrap_or_default();
            anyhow::bail!("the tenant has no attribute set `{wanted}`{suggestion}");
        }
    }
    warn_not_understood(&live, &args.sets, args.assignments);
    let values_owned_elsewhere = values_owned_elsewhere(&live, &args.values_owned_by)?;
    if args.assignments {
        for (owned, writer) in &values_owned_elsewhere {
            tell!(
                "note: the values of {owned} are owned by {writer}: left out of the assignments \
                 (the files cannot assign them)"
            );
        }
    }
    let mut options = ExportOptions {
        sets: args.sets.clone(),
        assignments: args.assignments,
        schema_path: None,
        values_owned_elsewhere,
        owned_because: BTreeMap::new(),
    };
    // Values the export cannot write go under `valuesOwnedBy`, so that no
    // plan of the files ever unassigns them.
    options.owned_because = values_left_to_their_writer(&live, &options);
    for (target, reasons) in &options.owned_because {
        options.values_owned_elsewhere.insert(target.clone(), NOT_UNDERSTOOD_WRITER.to_owned());
        tell!(
            "note: {target} is written with `valuesOwnedBy`, its values left out of the assignments: {}              value(s) there are not understood ({}), and files without them would unassign them; a plan of              this export never assigns or unassigns {target}'s values",
            reasons.len(),
            reasons.first().map(String::as_str).unwrap_or_default()
        );
    }

    match &args.output {
        None => {
            let text = export_single(&live, &options)?;
            std::io::stdout().lock().write_all(text.as_bytes())?;
        }
        Some(path) if is_folder_target(path) => {
            options.schema_path = Some(SCHEMA_FILE.to_owned());
            let files = export_folder(&live, &options)?;
            let mut writes = vec![(SCHEMA_FILE.to_owned(), crate::desired::manifest::json_schema())];
            writes.extend(files.iter().map(|file| (file.name.clone(), file.text.clone())));
            std::fs::create_dir_all(path)
                .with_context(|| format!("cannot create the folder {}", path.display()))?;
            write_owned(path, &writes, args.force)?;
            tell!(
                "Exported {} attribute set(s) to {} file(s) in {}.",
                files.iter().filter(|file| file.name != ASSIGNMENTS_FILE).count(),
                files.len(),
                path.display()
            );
        }
        Some(path) => {
            let text = export_single(&live, &options)?;
            let folder = match path.parent() {
                Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
                _ => PathBuf::from("."),
            };
            let name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
            write_owned(&folder, &[(name, text)], args.force)?;
            tell!("Exported the tenant to {}.", path.display());
        }
    }
    Ok(ExitStatus::Success)
}

/// The `--values-owned-by SET[.ATTRIBUTE]=WRITER` flags, each naming a set
/// or attribute the tenant holds, as `Set` or `Set.Attribute` → writer.
fn values_owned_elsewhere(
    live: &crate::model::live::LiveState,
    flags: &[String],
) -> anyhow::Result<BTreeMap<String, String>> {
    let mut owned = BTreeMap::new();
    for flag in flags {
        let Some((target, writer)) = flag.split_once('=').filter(|(_, writer)| !writer.trim().is_empty())
        else {
            anyhow::bail!(
                "--values-owned-by {flag}: expected SET[.ATTRIBUTE]=WRITER, e.g. \
                 --values-owned-by HR=\"Workday inbound provisioning\""
            );
        };
        let known = match target.split_once('.') {
            Some((set, attribute)) => {
                live.definitions.contains_key(&crate::model::definition_id(set, attribute))
            }
            None => live.attribute_sets.contains_key(target),
        };
        if !known {
            let names: Vec<String> = live
                .attribute_sets
                .keys()
                .cloned()
                .chain(
                    live.definitions
                        .values()
                        .map(|definition| format!("{}.{}", definition.attribute_set, definition.name)),
                )
                .collect();
            let suggestion = nearest(target, names.iter().map(String::as_str))
                .map(|near| format!("; did you mean `{near}`?"))
                .unwrap_or_default();
            anyhow::bail!(
                "--values-owned-by {flag}: the tenant has no attribute set or attribute `{target}`{suggestion}"
            );
        }
        owned.insert(target.to_owned(), writer.trim().to_owned());
    }
    Ok(owned)
}

/// Names on stderr what the tenant holds that this version does not
/// understand and so leaves out of the export, so the export is never short
/// without a word.
fn warn_not_understood(live: &crate::model::live::LiveState, sets: &[String], assignments: bool) {
    for item in &live.not_understood {
        if !sets.is_empty() && !sets.contains(&item.set) {
            continue;
        }
        let attribute = item.attribute.as_deref().unwrap_or("*");
        let address = match &item.principal {
            None => format!("{}.{attribute}", item.set),
            Some(_) if !assignments => continue,
            Some(id) => match live.principals.get(id) {
                Some(principal) => format!("{}/{}.{attribute}", principal_key(principal), item.set),
                None => continue,
            },
        };
        tell!(
            "warning: {address} holds {}, which this version does not understand; left out of the \
             export, and a plan never changes or removes it",
            item.what
        );
    }
}

/// The record export keeps, in the folder it writes to, of the files it
/// wrote last and a hash of each: a file it did not write, or one edited
/// since, is never overwritten without `--force`.
pub const RECORD_FILE: &str = ".entra-csa-export.json";

/// Writes each `(name, text)` into `folder`, unless one of them would
/// overwrite a file export did not write or that was edited since it
/// wrote it: then nothing is written and the error names every such file.
/// A file that already holds exactly the text, or nothing, is no obstacle. The
/// record of what was written is updated afterwards.
fn write_owned(folder: &Path, writes: &[(String, String)], force: bool) -> anyhow::Result<()> {
    let record_path = folder.join(RECORD_FILE);
    let mut record = read_record(&record_path);
    let mut refused = Vec::new();
    for (name, text) in writes {
        let Ok(current) = std::fs::read(folder.join(name)) else { continue };
        // The same text, or an empty file: nothing to lose.
        if current == text.as_bytes() || current.trim_ascii().is_empty() {
            continue;
        }
        match record.get(name) {
            Some(hash) if *hash == sha256(&current) => {}
            Some(_) => refused.push(format!("{name} (edited since export wrote it)")),
            None => refused.push(format!("{name} (not written by export: not in {RECORD_FILE})")),
        }
    }
    if !refused.is_empty() && !force {
        anyhow::bail!(
            "export would overwrite {} file(s) in {} that it did not write or that were edited since:\n  {}\n\
             Nothing was written. Move them away, export to another folder and compare, or pass --force to \
             overwrite them.",
            refused.len(),
            folder.display(),
            refused.join("\n  ")
        );
    }
    for (name, text) in writes {
        write_atomically(&folder.join(name), text)?;
        record.insert(name.clone(), sha256(text.as_bytes()));
    }
    let mut text = serde_json::to_string_pretty(&serde_json::json!({
        "comment": "Written by `entra-csa export`: the files it wrote here and a hash of each. A file that is \
                    not listed, or whose hash differs (edited since), is not overwritten without --force.",
        "files": record,
    }))?;
    text.push('\n');
    write_atomically(&record_path, &text)
}

/// The files and hashes of the record; none when it is missing or unreadable
/// (then every existing file counts as not written by export).
fn read_record(path: &Path) -> BTreeMap<String, String> {
    let Ok(text) = std::fs::read_to_string(path) else { return BTreeMap::new() };
    serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|value| serde_json::from_value(value.get("files")?.clone()).ok())
        .unwrap_or_default()
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(bytes);
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("sha256:{hex}")
}

/// A folder when it exists as one, ends with a separator, or has no YAML extension.
fn is_folder_target(path: &Path) -> bool {
    path.is_dir()
        || path.as_os_str().to_string_lossy().ends_with(['/', '\\'])
        || !path.extension().is_some_and(|extension| extension == "yaml" || extension == "yml")
}

/// Writes `text` to `path` through a temporary file in the same folder and a rename.
fn write_atomically(path: &Path, text: &str) -> anyhow::Result<()> {
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut temporary = tempfile::NamedTempFile::new_in(folder)
        .with_context(|| format!("cannot write in {}", folder.display()))?;
    temporary.write_all(text.as_bytes())?;
    temporary.persist(path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
