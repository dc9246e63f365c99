//! The repository speaks only of itself: no file a reader or contributor
//! opens may point at notes outside it (a design document, research notes, a
//! sibling folder) or at issue numbers of a tracker they cannot see. Cite a
//! section of ARCHITECTURE.md, a page of the book, or Microsoft's public page.

use std::path::{Path, PathBuf};

/// What the checked files may not contain, each with why. The needles are
/// built from pieces so that this file, which is checked too, does not
/// contain them.
fn forbidden_words() -> Vec<(String, &'static str)> {
    vec![
        (["DES", "IGN"].concat(), "a design document outside the repository; cite ARCHITECTURE.md"),
        (
            ["graph-api", ".md"].concat(),
            "research notes outside the repository; cite the learn.microsoft.com page",
        ),
        (["../", "shared"].concat(), "a folder outside the repository"),
        (["shared/", "reference"].concat(), "a folder outside the repository"),
    ]
}

/// An issue or pull-request number (the word "issue", "issues", "PR" or
/// "pull request" before a number, with or without `#`, or a number in the
/// form `(#N)`), an issue named without one ("as the" and "issue" asks), or
/// a numbered section of a document that is not here (the section sign
/// before a number).
fn issue_or_section_reference(line: &str) -> Option<String> {
    let lower = line.to_lowercase();
    let bytes = lower.as_bytes();
    for word in ["issue", "issues", "pr", "pull request"] {
        for (at, _) in lower.match_indices(word) {
            let starts_word = at == 0 || !bytes[at - 1].is_ascii_alphanumeric();
            let mut rest = &lower[at + word.len()..];
            if !starts_word || rest.starts_with('s') && word.ends_with('e') {
                continue;
            }
            rest = rest.strip_prefix(' ').unwrap_or(rest);
            rest = rest.strip_prefix('#').unwrap_or(rest);
            if rest.starts_with(|character: char| character.is_ascii_digit()) {
                return Some(line[at..].chars().take(word.len() + 6).collect());
            }
        }
    }
    // A tracker's issue named without its number is no better. A GitHub
    // issue the example workflows open for drift is a thing of the user's
    // own, so only the phrasings of a request count.
    let phrases = [" asks", " says", "'s"].map(|tail| ["the ", "issue", tail].concat());
    for phrase in phrases.iter().map(String::as_str).chain([["this ", "issue"].concat().as_str()]) {
        if let Some(at) = lower.find(phrase) {
            return Some(line[at..].chars().take(phrase.len()).collect());
        }
    }
    for (at, _) in lower.match_indices("(#") {
        let digits: String = lower[at + 2..].chars().take_while(char::is_ascii_digit).collect();
        if !digits.is_empty() && lower[at + 2 + digits.len()..].starts_with(')') {
            return Some(format!("(#{digits})"));
        }
    }
    for (at, _) in line.match_indices('§') {
        if line[at + '§'.len_utf8()..].trim_start().starts_with(|character: char| character.is_ascii_digit())
        {
            return Some(line[at..].chars().take(5).collect());
        }
    }
    None
}

fn problems_in(text: &str) -> Vec<String> {
    let words = forbidden_words();
    let mut found = Vec::new();
    for (number, line) in text.lines().enumerate() {
        for (word, why) in &words {
            // The design document's name is written in capitals; the word
            // "design" in prose is fine.
            let contains = if word.chars().all(|character| character.is_ascii_uppercase()) {
                line.contains(word.as_str())
            } else {
                line.to_lowercase().contains(&word.to_lowercase())
            };
            if contains {
                found.push(format!("{}: `{word}`: {why}", number + 1));
            }
        }
        if let Some(reference) = issue_or_section_reference(line) {
            found.push(format!("{}: `{reference}`: a tracker's or another document's number", number + 1));
        }
    }
    found
}

fn files_under(path: &Path, found: &mut Vec<PathBuf>) {
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            files_under(&entry.unwrap().path(), found);
        }
    } else {
        found.push(path.to_owned());
    }
}

#[test]
fn nothing_points_outside_the_repository() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for top in ["README.md", "ARCHITECTURE.md", "docs", "src", "tests", "benches", "examples"] {
        if root.join(top).exists() {
            files_under(&root.join(top), &mut files);
        }
    }
    assert!(files.len() > 100, "the walk found too few files: {}", files.len());
    let mut problems = Vec::new();
    for file in files {
        // Binary fixtures are not prose.
        let Ok(text) = std::fs::read_to_string(&file) else { continue };
        for problem in problems_in(&text) {
            problems.push(format!("{}:{problem}", file.strip_prefix(root).unwrap().display()));
        }
    }
    assert!(problems.is_empty(), "references that lead outside the repository:\n{}", problems.join("\n"));
}

#[test]
fn the_check_finds_what_it_looks_for() {
    // Built from pieces, like the needles, so this file passes its own check.
    for line in [
        ["format version 1 of ", "DES", "IGN", "."].concat(),
        ["permissions (", "graph-api", ".md)"].concat(),
        ["The ten bugs of ", "issue", " 14, each"].concat(),
        ["see ", "Issues", " #3"].concat(),
        ["fixed in ", "PR", " 7"].concat(),
        ["a fix (", "#12) landed"].concat(),
        ["as the spec's ", "\u{a7}", " 4 says"].concat(),
        ["copy in `../", "shared`"].concat(),
        ["as the ", "issue", " asks"].concat(),
        ["then the ", "issue", "'s goals"].concat(),
    ] {
        assert_eq!(problems_in(&line).len(), 1, "{line}");
    }
    for line in [
        "a certificate (PKCS#12)",
        "an id like Q3 #1 100%",
        "tissue 3 and prime 5",
        "the issues the plan has",
        "ARCHITECTURE.md, \"Plan rules\"",
        "where the design leaves room",
        "when the files match again, the issue is closed",
    ] {
        assert!(problems_in(line).is_empty(), "{line}: {:?}", problems_in(line));
    }
}
