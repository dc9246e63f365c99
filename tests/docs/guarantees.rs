//! Pages that name code must name code that exists: the guarantees page
//! cites the tests that hold each promise (a test renamed or removed would
//! leave a promise unproven while the page still claims it), the
//! permissions page the tool's own permission table, and ARCHITECTURE.md the
//! files where each thing lives.

use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn rust_sources(folder: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(folder).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_sources(&path, found);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            found.push(path);
        }
    }
}

/// The spans between backticks.
fn code_spans(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

/// A test function's name: snake case with several words.
fn looks_like_a_test_name(span: &str) -> bool {
    span.matches('_').count() >= 3
        && span
            .chars()
            .all(|character| character.is_ascii_lowercase() || character.is_ascii_digit() || character == '_')
}

#[test]
fn every_test_and_file_the_guarantees_name_exists() {
    let page = std::fs::read_to_string(root().join("docs/src/explanation/guarantees.md")).unwrap();
    let mut sources = Vec::new();
    rust_sources(&root().join("src"), &mut sources);
    rust_sources(&root().join("tests"), &mut sources);
    let code: String = sources.iter().map(|path| std::fs::read_to_string(path).unwrap()).collect();
    let mut named = 0;
    let mut missing = Vec::new();
    for span in code_spans(&page) {
        if looks_like_a_test_name(span) {
            named += 1;
            if !code.contains(&format!("fn {span}(")) {
                missing.push(format!("test `{span}`"));
            }
        } else if (span.starts_with("src/") || span.starts_with("tests/")) && !span.contains(' ') {
            named += 1;
            if !root().join(span.trim_end_matches('/')).exists() {
                missing.push(format!("file `{span}`"));
            }
        }
    }
    assert!(named > 30, "the page names only {named} tests and files");
    assert!(
        missing.is_empty(),
        "docs/src/explanation/guarantees.md names what does not exist:\n{}",
        missing.join("\n")
    );
}

/// Words that look like Graph permissions: `Resource.Access.All` and kin.
fn permission_words(text: &str) -> Vec<&str> {
    text.split(|character: char| !(character.is_ascii_alphanumeric() || character == '.'))
        .map(|word| word.trim_matches('.'))
        .filter(|word| {
            let parts: Vec<&str> = word.split('.').collect();
            parts.len() >= 3
                && parts
                    .iter()
                    .all(|part| part.chars().next().is_some_and(|first| first.is_ascii_uppercase()))
                && (word.ends_with(".All") || word.contains(".Read"))
        })
        .collect()
}

/// The permissions page grants what plan and apply need, as the tool's own
/// table says, and names no permission the tool does not know (or, for
/// group members, the broader ones Microsoft lists beside it).
#[test]
fn the_permissions_page_follows_the_tools_own_table() {
    use entra_csa::graph::access::{Capability, POLICY_READ, known_permissions};
    let page = std::fs::read_to_string(root().join("docs/src/reference/permissions.md")).unwrap();
    let known = known_permissions();
    let also = ["Group.Read.All", "Directory.Read.All", "Member.Read.Hidden"];
    for word in permission_words(&page) {
        assert!(
            known.contains(&word) || also.contains(&word),
            "the permissions page names {word}, which the tool does not know"
        );
    }
    for capability in [
        Capability::ReadDefinitions,
        Capability::WriteDefinitions,
        Capability::ReadAssignments,
        Capability::WriteAssignments,
    ] {
        let least = capability.permissions()[0];
        assert!(page.contains(least), "the permissions page does not name {least}");
    }
    assert!(page.contains(POLICY_READ));
}

/// ARCHITECTURE.md says where each thing lives; a file moved or renamed
/// must take the page with it.
#[test]
fn every_file_architecture_names_exists() {
    let page = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let mut named = 0;
    let mut missing = Vec::new();
    for span in code_spans(&page) {
        let plain =
            span.chars().all(|character| character.is_ascii_alphanumeric() || "/_.-".contains(character));
        if plain && (span.starts_with("src/") || span.starts_with("tests/") || span.starts_with("schema/")) {
            named += 1;
            if !root().join(span.trim_end_matches('/')).exists() {
                missing.push(span);
            }
        }
    }
    assert!(named > 40, "ARCHITECTURE.md names only {named} files");
    assert!(missing.is_empty(), "ARCHITECTURE.md names files that do not exist: {missing:?}");
}
