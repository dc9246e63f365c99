//! Reading desired-state files from disk (`-f PATH`, repeatable; a folder
//! means every `*.yaml`/`*.yml` in it, sorted) and turning them into one
//! validated `DesiredState`, with every problem of every file in one report.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::desired::diagnostic::{Diagnostic, Diagnostics, Place};
use crate::desired::manifest::{self, ManifestFile};
use crate::desired::validate::validate;
use crate::desired::yaml;
use crate::model::DesiredState;

/// Loads and validates the files and folders `paths` name.
pub fn load_files(paths: &[PathBuf]) -> Result<DesiredState, Diagnostics> {
    let mut problems = Vec::new();
    let mut manifests = Vec::new();
    for file in expand(paths, &mut problems) {
        let name = display_name(&file);
        match std::fs::read(&file) {
            // Each text is freed as soon as its manifest is read.
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => read_manifest(name, &text, &mut manifests, &mut problems),
                Err(error) => problems.push(not_utf8(&name, error.as_bytes(), error.utf8_error())),
            },
            Err(error) => problems.push(Diagnostic::new(
                file_place(&name),
                "",
                format!("cannot read the file: {error}"),
            )),
        }
    }
    finish(&manifests, problems)
}

/// Parses and validates files already in memory: `(name, text)` pairs. No I/O.
pub fn load_texts(files: &[(String, String)]) -> Result<DesiredState, Diagnostics> {
    let mut problems = Vec::new();
    let mut manifests = Vec::new();
    for (name, text) in files {
        read_manifest(name.clone(), text, &mut manifests, &mut problems);
    }
    finish(&manifests, problems)
}

/// Parses one file into its manifest. What could be read is kept even when
/// the file has structural problems, so that one run reports everything.
fn read_manifest(
    name: String,
    text: &str,
    manifests: &mut Vec<(String, ManifestFile)>,
    problems: &mut Vec<Diagnostic>,
) {
    match yaml::parse(text) {
        Ok(root) => {
            let manifest = manifest::read(&name, root, problems);
            manifests.push((name, manifest));
        }
        Err(error) => problems.push(
            Diagnostic::new(
                Place { file: name, line: error.position.line, column: error.position.column },
                "",
                format!("invalid YAML: {}", error.message),
            )
            .expected("a YAML document"),
        ),
    }
}

/// Validates the manifests together, with the problems found while reading them.
fn finish(
    manifests: &[(String, ManifestFile)],
    mut problems: Vec<Diagnostic>,
) -> Result<DesiredState, Diagnostics> {
    match validate(manifests) {
        Ok(desired) if problems.is_empty() => Ok(desired),
        Ok(_) => {
            let mut diagnostics = Diagnostics(problems);
            diagnostics.sort();
            Err(diagnostics)
        }
        Err(Diagnostics(more)) => {
            problems.extend(more);
            let mut diagnostics = Diagnostics(problems);
            diagnostics.sort();
            Err(diagnostics)
        }
    }
}

/// The files `paths` name: files as given, folders expanded to their sorted
/// `*.yaml`/`*.yml` files. A path given twice is read once.
fn expand(paths: &[PathBuf], problems: &mut Vec<Diagnostic>) -> Vec<PathBuf> {
    let mut seen = BTreeSet::new();
    let mut files = Vec::new();
    for path in paths {
        let name = display_name(path);
        if path.is_dir() {
            let entries = match std::fs::read_dir(path) {
                Ok(entries) => entries,
                Err(error) => {
                    problems.push(Diagnostic::new(
                        file_place(&name),
                        "",
                        format!("cannot read the folder: {error}"),
                    ));
                    continue;
                }
            };
            let mut found: Vec<PathBuf> = entries
                .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                .filter(|file| file.is_file() && is_yaml(file))
                .collect();
            found.sort();
            if found.is_empty() {
                problems.push(
                    Diagnostic::new(file_place(&name), "", "the folder holds no desired-state files")
                        .expected("*.yaml or *.yml files"),
                );
            }
            for file in found {
                if seen.insert(std::fs::canonicalize(&file).unwrap_or_else(|_| file.clone())) {
                    files.push(file);
                }
            }
        } else if path.exists() {
            if seen.insert(std::fs::canonicalize(path).unwrap_or_else(|_| path.clone())) {
                files.push(path.clone());
            }
        } else {
            problems.push(Diagnostic::new(file_place(&name), "", "no such file or folder"));
        }
    }
    files
}

fn is_yaml(path: &Path) -> bool {
    path.extension().is_some_and(|extension| extension == "yaml" || extension == "yml")
}

fn display_name(path: &Path) -> String {
    path.display().to_string()
}

fn file_place(name: &str) -> Place {
    Place { file: name.to_owned(), line: 1, column: 1 }
}

/// A file that is not UTF-8, located at its first invalid byte.
fn not_utf8(name: &str, bytes: &[u8], error: std::str::Utf8Error) -> Diagnostic {
    let valid = &bytes[..error.valid_up_to()];
    let line = valid.iter().filter(|byte| **byte == b'\n').count() as u64 + 1;
    let line_start = valid.iter().rposition(|byte| *byte == b'\n').map_or(0, |index| index + 1);
    let column = String::from_utf8_lossy(&valid[line_start..]).chars().count() as u64 + 1;
    Diagnostic::new(
        Place { file: name.to_owned(), line, column },
        "",
        format!("the file is not UTF-8 (invalid byte 0x{:02X})", bytes[error.valid_up_to()]),
    )
    .expected("UTF-8 text")
    .suggestion("save the file as UTF-8")
}
