//! Hostile and broken desired-state files never panic the loader: 10,000
//! mutations of a realistic file each load or are refused with located
//! problems; deeply nested and huge documents are refused cleanly.

use entra_csa::desired::load::load_texts;
use proptest::prelude::*;

fn contoso() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/contoso.yaml")).unwrap()
}

/// One edit of a text, at a byte position chosen by `at` (0..1).
#[derive(Debug, Clone)]
enum Mutation {
    DeleteChar(f64),
    InsertChar(f64, char),
    DuplicateLine(f64),
    DeleteLine(f64),
    SwapLines(f64, f64),
    Indent(f64, usize),
    Truncate(f64),
    ReplaceToken(f64, &'static str),
}

const TOKENS: &[&str] = &[
    "",
    " ",
    ":",
    "- ",
    "[",
    "]",
    "{",
    "}",
    "&a",
    "*a",
    "!!str",
    "? ",
    "|",
    ">",
    "\"",
    "'",
    "#",
    "\t",
    "null",
    "~",
    "true",
    "-1",
    "99999999999999999999",
    "1.5",
    "<<: *a",
    "---",
    "...",
    "%YAML 1.2",
    "@",
    "\u{0}",
    "é",
    "\u{FEFF}",
];

fn mutation() -> impl Strategy<Value = Mutation> {
    let at = 0.0..1.0f64;
    prop_oneof![
        at.clone().prop_map(Mutation::DeleteChar),
        (at.clone(), any::<char>()).prop_map(|(at, c)| Mutation::InsertChar(at, c)),
        at.clone().prop_map(Mutation::DuplicateLine),
        at.clone().prop_map(Mutation::DeleteLine),
        (at.clone(), at.clone()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        (at.clone(), 0..9usize).prop_map(|(at, n)| Mutation::Indent(at, n)),
        at.clone().prop_map(Mutation::Truncate),
        (at, 0..TOKENS.len()).prop_map(|(at, token)| Mutation::ReplaceToken(at, TOKENS[token])),
    ]
}

fn char_boundary(text: &str, at: f64) -> usize {
    let mut index = ((text.len() as f64) * at) as usize;
    while index > 0 && !text.is_char_boundary(index) {
        index -= 1;
    }
    index.min(text.len())
}

fn apply(text: &str, mutation: &Mutation) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    if lines.is_empty() {
        lines.push(String::new());
    }
    let line = |at: f64, lines: &Vec<String>| ((lines.len() as f64) * at) as usize % lines.len().max(1);
    match mutation {
        Mutation::DeleteChar(at) => {
            let index = char_boundary(text, *at);
            let mut out = text.to_owned();
            if index < out.len() {
                out.remove(index);
            }
            out
        }
        Mutation::InsertChar(at, c) => {
            let mut out = text.to_owned();
            out.insert(char_boundary(text, *at), *c);
            out
        }
        Mutation::DuplicateLine(at) => {
            let index = line(*at, &lines);
            let copy = lines[index].clone();
            lines.insert(index, copy);
            lines.join("\n")
        }
        Mutation::DeleteLine(at) => {
            let index = line(*at, &lines);
            lines.remove(index);
            lines.join("\n")
        }
        Mutation::SwapLines(a, b) => {
            let (a, b) = (line(*a, &lines), line(*b, &lines));
            lines.swap(a, b);
            lines.join("\n")
        }
        Mutation::Indent(at, spaces) => {
            let index = line(*at, &lines);
            lines[index] = format!("{}{}", " ".repeat(*spaces), lines[index].trim_start());
            lines.join("\n")
        }
        Mutation::Truncate(at) => text[..char_boundary(text, *at)].to_owned(),
        Mutation::ReplaceToken(at, token) => {
            let start = char_boundary(text, *at);
            let end = text[start..].find(char::is_whitespace).map_or(text.len(), |offset| start + offset);
            format!("{}{token}{}", &text[..start], &text[end..])
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10_000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_files_load_or_are_refused_with_located_problems(
        mutations in proptest::collection::vec(mutation(), 1..4)
    ) {
        let mut text = contoso();
        for mutation in &mutations {
            text = apply(&text, mutation);
        }
        let lines = text.lines().count() as u64 + 1;
        match load_texts(&[("mutated.yaml".to_owned(), text.clone())]) {
            Ok(_) => {}
            Err(diagnostics) => {
                prop_assert!(!diagnostics.is_empty());
                for diagnostic in diagnostics.iter() {
                    prop_assert_eq!(diagnostic.place.file.as_str(), "mutated.yaml");
                    prop_assert!(diagnostic.place.line >= 1 && diagnostic.place.line <= lines,
                        "line {} of {}: {}", diagnostic.place.line, lines, diagnostic);
                    prop_assert!(diagnostic.place.column >= 1, "{}", diagnostic);
                    prop_assert!(!diagnostic.message.is_empty());
                }
            }
        }
    }
}

#[test]
fn deep_nesting_is_refused_not_a_stack_overflow() {
    for depth in [100, 10_000, 200_000] {
        let flow = format!("version: 1\nattributeSets: {}{}\n", "[".repeat(depth), "]".repeat(depth));
        let diagnostics = load_texts(&[("deep.yaml".into(), flow)]).unwrap_err();
        assert!(diagnostics.iter().next().unwrap().place.line >= 1);
        let block: String =
            (0..depth.min(5_000)).map(|level| format!("{}k{level}:\n", " ".repeat(level))).collect();
        let diagnostics = load_texts(&[("deep.yaml".into(), format!("version: 1\n{block}"))]).unwrap_err();
        assert!(!diagnostics.is_empty());
    }
}

#[test]
fn a_huge_single_value_is_refused_with_its_place() {
    let text =
        format!("version: 1\nattributeSets:\n  Eng:\n    description: {}\n", "x".repeat(8 * 1024 * 1024));
    let diagnostics = load_texts(&[("huge.yaml".into(), text)]).unwrap_err();
    let first = diagnostics.iter().next().unwrap();
    assert_eq!((first.place.line, first.place.column), (4, 18), "{first}");
    assert!(first.message.contains("8388608 characters"), "{first}");
}

#[test]
fn several_documents_in_one_file_are_refused() {
    let diagnostics = load_texts(&[("two.yaml".into(), "version: 1\n---\nversion: 1\n".into())]).unwrap_err();
    assert!(diagnostics.to_string().contains("two.yaml:"), "{diagnostics}");
}
