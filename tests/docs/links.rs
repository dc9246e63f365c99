//! Every relative link in README.md, ARCHITECTURE.md and the book resolves:
//! the file exists, and a `#fragment` into a Markdown file names one of its
//! headings. The book's `SUMMARY.md` lists every page, as mdBook needs.

use std::path::{Component, Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The Markdown files whose links are checked, relative to the root.
fn documents() -> Vec<PathBuf> {
    let mut found = vec![PathBuf::from("README.md"), PathBuf::from("ARCHITECTURE.md")];
    let mut folders = vec![root().join("docs")];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|extension| extension == "md") {
                found.push(path.strip_prefix(root()).unwrap().to_owned());
            }
        }
    }
    found.sort();
    found
}

/// The targets of the inline links `[text](target)` outside code.
fn link_targets(markdown: &str) -> Vec<String> {
    let mut targets = Vec::new();
    let mut in_fence = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        // Inline code is not a link: drop what sits between backticks.
        let prose: String =
            line.split('`').enumerate().filter(|(at, _)| at % 2 == 0).map(|(_, part)| part).collect();
        let mut rest = prose.as_str();
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let Some(end) = after.find(')') else { break };
            targets.push(after[..end].trim().to_owned());
            rest = &after[end..];
        }
    }
    targets
}

/// A heading's anchor as GitHub and mdBook make it.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|character| character.is_alphanumeric() || matches!(character, ' ' | '-' | '_'))
        .map(|character| if character == ' ' { '-' } else { character })
        .collect()
}

/// The anchors of a page: its headings', and those set by hand with
/// `<a id="…">` (or `name="…"`) or a heading's `{#…}`.
fn anchors(markdown: &str) -> Vec<String> {
    let mut in_fence = false;
    let mut found = Vec::new();
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        if line.starts_with('#') {
            match line.rsplit_once("{#") {
                Some((_, custom)) => found.push(custom.trim_end().trim_end_matches('}').to_owned()),
                None => found.push(anchor(line.trim_start_matches('#'))),
            }
        }
        for attribute in ["id=\"", "name=\""] {
            for (at, _) in line.match_indices(attribute) {
                let value = &line[at + attribute.len()..];
                if let Some(end) = value.find('"') {
                    found.push(value[..end].to_owned());
                }
            }
        }
    }
    found
}

/// `base/../x` made plain, without touching the filesystem.
fn normalise(path: &Path) -> PathBuf {
    let mut plain = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                plain.pop();
            }
            Component::CurDir => {}
            other => plain.push(other),
        }
    }
    plain
}

fn problems_in(document: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(root().join(document)).unwrap();
    let folder = document.parent().unwrap_or(Path::new(""));
    let mut problems = Vec::new();
    for target in link_targets(&text) {
        if target.contains("://") || target.starts_with("mailto:") {
            continue;
        }
        let (file, fragment) = match target.split_once('#') {
            Some((file, fragment)) => (file, Some(fragment)),
            None => (target.as_str(), None),
        };
        let resolved = if file.is_empty() { document.to_owned() } else { normalise(&folder.join(file)) };
        let shown = resolved.display().to_string();
        if !root().join(&resolved).exists() {
            problems.push(format!("{}: `{target}`: {shown} does not exist", document.display()));
            continue;
        }
        if let Some(fragment) = fragment
            && shown.ends_with(".md")
            && !anchors(&std::fs::read_to_string(root().join(&resolved)).unwrap())
                .iter()
                .any(|a| a == fragment)
        {
            problems.push(format!("{}: `{target}`: {shown} has no heading #{fragment}", document.display()));
        }
    }
    problems
}

#[test]
fn every_relative_link_resolves() {
    let documents = documents();
    assert!(documents.len() > 15, "{documents:?}");
    let problems: Vec<String> = documents.iter().flat_map(|document| problems_in(document)).collect();
    assert!(problems.is_empty(), "broken links:\n{}", problems.join("\n"));
}

#[test]
fn the_summary_lists_every_page_of_the_book() {
    let summary = std::fs::read_to_string(root().join("docs/src/SUMMARY.md")).unwrap();
    let listed: Vec<String> =
        link_targets(&summary).into_iter().map(|target| format!("docs/src/{target}")).collect();
    for document in documents() {
        let page = document.display().to_string();
        if page.starts_with("docs/src/") && page != "docs/src/SUMMARY.md" {
            assert!(listed.contains(&page), "{page} is not in docs/src/SUMMARY.md");
        }
    }
    assert!(root().join("docs/book.toml").exists());
}

#[test]
fn the_link_check_can_fail() {
    assert_eq!(
        link_targets("see [a](b.md#c), `[x](y)`, and\n```\n[no](link)\n```\n[d](https://e)"),
        ["b.md#c", "https://e"]
    );
    assert_eq!(anchor("The state file is the emulator's store"), "the-state-file-is-the-emulators-store");
    assert_eq!(anchor(" `entra-csa emulator`"), "entra-csa-emulator");
    assert_eq!(
        anchors(
            "## Sign-in\n<a id=\"aadsts70025\"></a>\n### Throttled {#throttled}\n```\n# not a heading\n```"
        ),
        ["sign-in", "aadsts70025", "throttled"]
    );
    assert_eq!(normalise(Path::new("docs/src/how-to/../../../README.md")), PathBuf::from("README.md"));
    let problems = problems_in(Path::new("docs/src/SUMMARY.md"));
    assert!(problems.is_empty(), "{problems:?}");
}

fn text_files(folder: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(folder).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            text_files(&path, found);
        } else {
            found.push(path);
        }
    }
}

/// The `docs/src/….md` paths a text names.
fn book_paths(text: &str) -> Vec<&str> {
    text.match_indices("docs/src/")
        .filter_map(|(at, _)| {
            let rest = &text[at..];
            let end = rest.find(".md")? + ".md".len();
            let path = &rest[..end];
            path.chars()
                .all(|character| character.is_ascii_alphanumeric() || "/-_.".contains(character))
                .then_some(path)
        })
        .collect()
}

/// Code, tests, examples and error messages that send the reader to a page
/// of the book send them to one that exists.
#[test]
fn every_book_page_the_code_names_exists() {
    let mut files = vec![root().join("Cargo.toml")];
    for folder in ["src", "tests", "examples", "benches"] {
        text_files(&root().join(folder), &mut files);
    }
    let mut missing = Vec::new();
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else { continue };
        for path in book_paths(&text) {
            if !root().join(path).exists() {
                missing.push(format!("{}: {path}", file.strip_prefix(root()).unwrap().display()));
            }
        }
    }
    assert!(missing.is_empty(), "pages of the book that do not exist:\n{}", missing.join("\n"));
    // Built from pieces, so this file names no page that does not exist.
    let book = ["docs", "/src/"].concat();
    let sample = format!("see {book}how-to/x.md, or \"{book}{{page}}.md\"");
    assert_eq!(book_paths(&sample), [format!("{book}how-to/x.md")], "the scan finds plain paths only");
}
