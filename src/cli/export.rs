//! `entra-csa export`: reads the tenant and writes its attribute sets,
//! definitions, values (and with `--assignments`, every principal's values) as
//! desired-state YAML — the first step of adopting the tool on a tenant.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::cli::arguments::ExportArgs;
use crate::cli::exit_status::ExitStatus;
use crate::cli::plan::runtime;
use crate::cli::target::open_tenant;
use crate::desired::diagnostic::nearest;
use crate::desired::export::{ASSIGNMENTS_FILE, ExportOptions, export_folder, export_single};
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
            eprintln!(
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
    };

    match &args.output {
        None => {
            let text = export_single(&live, &options)?;
            std::io::stdout().lock().write_all(text.as_bytes())?;
        }
        Some(path) if is_folder_target(path) => {
            std::fs::create_dir_all(path)
                .with_context(|| format!("cannot create the folder {}", path.display()))?;
            options.schema_path = Some(SCHEMA_FILE.to_owned());
            let files = export_folder(&live, &options)?;
            write_atomically(&path.join(SCHEMA_FILE), &crate::desired::manifest::json_schema())?;
            for file in &files {
                write_atomically(&path.join(&file.name), &file.text)?;
            }
            eprintln!(
                "Exported {} attribute set(s) to {} file(s) in {}.",
                files.iter().filter(|file| file.name != ASSIGNMENTS_FILE).count(),
                files.len(),
                path.display()
            );
        }
        Some(path) => {
            write_atomically(path, &export_single(&live, &options)?)?;
            eprintln!("Exported the tenant to {}.", path.display());
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
            anyhow::bail!(
                "--values-owned-by {flag}: the tenant has no attribute set or attribute `{target}`"
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
        eprintln!(
            "warning: {address} holds {}, which this version does not understand; left out of the \
             export, and a plan never changes or removes it",
            item.what
        );
    }
}

/// A folder when it exists as one, ends with a separator, or has no YAML extension.
fn is_folder_target(path: &Path) -> bool {
    path.is_dir()
        || path.as_os_str().to_string_lossy().ends_with(['/', '\\'])
        || !path.extension().is_some_and(|extension| extension == "yaml" || extension == "yml")
}

/// Writes `text` to `path` through a temporary file in the same folder and a rename.
fn write_atomically(path: &PathBuf, text: &str) -> anyhow::Result<()> {
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
