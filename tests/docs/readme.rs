//! The README is a short start: at most 200 lines, opening with the two
//! commands a newcomer runs on a fresh machine, the main job and the tests.
//! (`tests/plan_cli.rs` runs the main job itself.)

use std::path::Path;

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap()
}

#[test]
fn the_readme_is_short_and_opens_with_the_main_job_and_the_tests() {
    let readme = readme();
    let lines = readme.lines().count();
    assert!(lines <= 200, "README.md has {lines} lines; move detail into the book (docs/)");
    let first_block = readme.split("```").nth(1).expect("the README opens with a code block");
    let commands: Vec<&str> = first_block.lines().skip(1).filter(|line| !line.trim().is_empty()).collect();
    assert_eq!(commands.len(), 2, "two commands: {commands:?}");
    assert!(
        commands[0].contains(" plan ") && commands[0].contains(" apply "),
        "the main job: {}",
        commands[0]
    );
    assert_eq!(commands[1], "cargo test --locked");
    let before: &str = readme.split("```").next().unwrap();
    assert!(before.lines().count() <= 5, "the commands come first, not after {before:?}");
}

/// The README's excerpt of a plan is not run, but the tutorial's plan is
/// (`examples.rs`), so every line of the excerpt must be a line of it.
#[test]
fn the_readmes_plan_excerpt_is_cut_from_the_tutorials_real_output() {
    let readme = readme();
    let start = readme.find("```text\n").expect("the README shows a plan excerpt") + "```text\n".len();
    let excerpt = &readme[start..start + readme[start..].find("```").unwrap()];
    let tutorial = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/src/tutorial/first-plan-on-the-emulator.md"),
    )
    .unwrap();
    let lines: Vec<&str> = tutorial.lines().collect();
    for line in excerpt.lines().filter(|line| !line.trim().is_empty()) {
        assert!(lines.contains(&line), "the README's plan line {line:?} is not in the tutorial's output");
    }
}
