//! The book's command reference (`docs/src/reference/commands.md`) is
//! generated from the clap definitions the parser uses, so it names every
//! command and flag and no other. After changing a command or a flag:
//! `ENTRA_CSA_BLESS=1 cargo test --test docs commands` rewrites the page;
//! commit it with the change.

use std::fmt::Write;
use std::path::Path;

use clap::CommandFactory;
use entra_csa::cli::arguments::Arguments;

const PAGE: &str = "docs/src/reference/commands.md";

/// A help text on one table line: paragraphs joined, pipes escaped.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ").replace('|', "\\|").replace('*', "\\*")
}

fn flag(argument: &clap::Arg) -> String {
    let value = argument
        .get_value_names()
        .map(|names| names.iter().map(|name| format!(" <{name}>")).collect::<String>())
        .filter(|_| argument.get_action().takes_values())
        .unwrap_or_default();
    if argument.is_positional() {
        let name = argument.get_value_names().and_then(|names| names.first().map(|name| name.to_string()));
        return format!("`<{}>`", name.unwrap_or_else(|| argument.get_id().to_string().to_uppercase()));
    }
    let mut spellings = Vec::new();
    if let Some(short) = argument.get_short() {
        spellings.push(format!("`-{short}{value}`"));
    }
    if let Some(long) = argument.get_long() {
        spellings.push(format!("`--{long}{value}`"));
    }
    spellings.join(", ")
}

fn details(argument: &clap::Arg) -> String {
    let mut parts = Vec::new();
    let choices: Vec<String> = argument
        .get_possible_values()
        .iter()
        .filter(|choice| !choice.is_hide_set())
        .map(|choice| format!("`{}`", choice.get_name()))
        .collect();
    if !choices.is_empty() && argument.get_action().takes_values() {
        parts.push(format!("one of {}", choices.join(", ")));
    }
    let defaults: Vec<String> =
        argument.get_default_values().iter().map(|value| format!("`{}`", value.to_string_lossy())).collect();
    if !defaults.is_empty() && argument.get_action().takes_values() {
        parts.push(format!("default {}", defaults.join(" ")));
    }
    if let Some(variable) = argument.get_env() {
        parts.push(format!("env `{}`", variable.to_string_lossy()));
    }
    if argument.is_required_set() {
        parts.push("required".to_owned());
    }
    parts.join("; ")
}

fn section(out: &mut String, path: &str, command: &clap::Command) {
    let _ = writeln!(out, "## `{path}`\n");
    if let Some(about) = command.get_long_about().or(command.get_about()) {
        let _ = writeln!(out, "{}\n", about.to_string().trim());
    }
    let usage = command.clone().render_usage().to_string();
    let usage = usage.trim_start_matches("Usage: ").trim();
    let _ = writeln!(out, "```text\n{usage}\n```\n");
    let arguments: Vec<&clap::Arg> = command
        .get_arguments()
        .filter(|argument| !argument.is_hide_set())
        .filter(|argument| !matches!(argument.get_id().as_str(), "help" | "version"))
        .collect();
    if !arguments.is_empty() {
        let _ = writeln!(out, "| flag | values | meaning |\n|---|---|---|");
        for argument in arguments {
            let help = argument.get_long_help().or(argument.get_help()).map(|help| help.to_string());
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                flag(argument),
                details(argument),
                one_line(&help.unwrap_or_default())
            );
        }
        out.push('\n');
    }
    for sub in command.get_subcommands().filter(|sub| !sub.is_hide_set() && sub.get_name() != "help") {
        section(out, &format!("{path} {}", sub.get_name()), sub);
    }
}

/// The page as the clap definitions give it.
fn generated() -> String {
    let mut command = Arguments::command();
    command.build();
    let mut out = String::from(
        "<!-- Generated from the clap definitions (src/cli/arguments.rs) by tests/docs/commands.rs.\n     \
         Do not edit: after changing a command or flag, run\n     \
         ENTRA_CSA_BLESS=1 cargo test --test docs commands\n     and commit the result. -->\n\n\
         # Commands and flags\n\n\
         Every command and flag of `entra-csa`, as `entra-csa COMMAND --help` prints them.\n\
         Exit codes and environment variables: [exit codes and environment\n\
         variables](exit-codes-and-environment.md).\n\n",
    );
    let commands: Vec<String> = command
        .get_subcommands()
        .filter(|sub| !sub.is_hide_set() && sub.get_name() != "help")
        .map(|sub| format!("[`{}`](#entra-csa-{})", sub.get_name(), sub.get_name()))
        .collect();
    let _ = writeln!(out, "Commands: {}.\n", commands.join(", "));
    section(&mut out, "entra-csa", &command);
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

#[test]
fn the_command_reference_is_what_clap_defines() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(PAGE);
    let expected = generated();
    if std::env::var_os("ENTRA_CSA_BLESS").is_some() {
        std::fs::write(&path, &expected).unwrap();
        return;
    }
    let written = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        written == expected,
        "{PAGE} differs from the clap definitions: run `ENTRA_CSA_BLESS=1 cargo test --test docs commands` and commit it"
    );
}

#[test]
fn the_reference_names_every_command_and_flag() {
    let page = generated();
    for command in ["validate", "plan", "apply", "export", "report", "schema", "check-access", "emulator"] {
        assert!(page.contains(&format!("## `entra-csa {command}`")), "{command}");
    }
    for flag in ["`--detailed-exitcode`", "`--auto-approve`", "`--state <FILE>`", "`--listen <ADDR>`"] {
        assert!(page.contains(flag), "{flag}");
    }
    assert!(!page.contains("--retry-scale"), "a hidden flag is not documented");
}

/// The words of a shell command line: split on blanks, with double- and
/// single-quoted spans kept whole (their quotes removed).
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote = None;
    let mut in_word = false;
    for character in line.chars() {
        match (quote, character) {
            (None, '"' | '\'') => {
                quote = Some(character);
                in_word = true;
            }
            (Some(open), _) if character == open => quote = None,
            (None, blank) if blank.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            _ => {
                word.push(character);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// The `entra-csa` command lines of the `sh` blocks of a Markdown text
/// (`cargo run -q --` counts as `entra-csa`): continuation lines joined,
/// comments dropped, each command of a `&&`, `||`, `|` or `;` chain apart.
fn shell_commands(markdown: &str) -> Vec<Vec<String>> {
    let mut commands = Vec::new();
    let mut in_sh = false;
    let mut pending = String::new();
    for line in markdown.lines() {
        let fence = line.trim_start();
        if fence.starts_with("```") {
            in_sh = !in_sh && matches!(fence.trim_start_matches('`').trim(), "sh" | "bash" | "shell");
            continue;
        }
        if !in_sh {
            continue;
        }
        let code = match line.find(" #") {
            Some(at) if !line[..at].contains('"') || line[..at].matches('"').count() % 2 == 0 => &line[..at],
            _ => line,
        };
        if let Some(continued) = code.trim_end().strip_suffix('\\') {
            pending.push_str(continued);
            pending.push(' ');
            continue;
        }
        pending.push_str(code);
        let full = std::mem::take(&mut pending);
        for part in full.split(['|', ';', '&']) {
            let words = shell_words(part);
            let start = match words.first().map(String::as_str) {
                Some("entra-csa") => 1,
                Some("cargo") if words.get(1).map(String::as_str) == Some("run") => {
                    match words.iter().position(|word| word == "--") {
                        Some(at) => at + 1,
                        None => continue,
                    }
                }
                _ => continue,
            };
            let mut command = vec!["entra-csa".to_owned()];
            let mut rest = words[start..].iter();
            while let Some(word) = rest.next() {
                // A redirection is the shell's, not an argument.
                if matches!(word.as_str(), ">" | ">>" | "2>" | "<") {
                    rest.next();
                } else if !word.starts_with('>') && !word.starts_with("2>") {
                    command.push(word.clone());
                }
            }
            commands.push(command);
        }
    }
    commands
}

/// The `entra-csa` commands the README and the book show in `sh` blocks
/// (which the tests do not run, unlike the `console` ones) parse with the
/// tool's own parser: a renamed flag cannot linger in a page.
#[test]
fn every_command_the_pages_show_parses() {
    use clap::Parser;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut pages = vec![root.join("README.md")];
    let mut folders = vec![root.join("docs/src")];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|extension| extension == "md") {
                pages.push(path);
            }
        }
    }
    let mut checked = 0;
    let mut refused = Vec::new();
    for page in pages {
        for command in shell_commands(&std::fs::read_to_string(&page).unwrap()) {
            checked += 1;
            if let Err(error) = Arguments::try_parse_from(&command)
                && !matches!(
                    error.kind(),
                    clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
                )
            {
                refused.push(format!(
                    "{}: `{}`: {}",
                    page.strip_prefix(root).unwrap().display(),
                    command.join(" "),
                    error.to_string().lines().next().unwrap_or_default()
                ));
            }
        }
    }
    assert!(checked > 20, "only {checked} commands found");
    assert!(refused.is_empty(), "commands the pages show that do not parse:\n{}", refused.join("\n"));
}

#[test]
fn the_shell_reader_finds_commands_as_a_shell_would() {
    let page = "```sh\ncp a b && cargo run -q -- plan -f x/ --state b \\\n  --detailed-exitcode  # exit 0\nentra-csa export --values-owned-by \"HR=Workday inbound\" > out.yaml\n```\n```text\nentra-csa nonsense\n```";
    assert_eq!(
        shell_commands(page),
        [
            vec!["entra-csa", "plan", "-f", "x/", "--state", "b", "--detailed-exitcode"],
            vec!["entra-csa", "export", "--values-owned-by", "HR=Workday inbound"],
        ]
    );
}
