//! Usage errors clap cannot explain: a long flag typed with one dash, as
//! Terraform spells its flags (`-out`, `-detailed-exitcode`). clap reads
//! `-out` as the short flags `-o -u -t` and says only "unexpected argument
//! '-o'"; worse, where the first letter is a short flag that takes a value,
//! `export -output dir` would quietly mean `--output utput`. So the command
//! line is read for such words before clap parses it.

use clap::Command;

/// A word of the command line that is a long flag of the command typed with one dash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SingleDashFlag {
    /// The word as typed, e.g. `-out=p.json`.
    pub typed: String,
    /// The flag it names, with its two dashes: `--out`.
    pub long: String,
    /// The usage line of the command it was given to.
    pub usage: String,
}

impl SingleDashFlag {
    /// The usage error, in clap's layout.
    pub fn message(&self) -> String {
        format!(
            "error: unexpected argument '{}' found\n\n  tip: long flags take two dashes: '{}'\n\n{}\n\n\
             For more information, try '--help'.\n",
            self.typed, self.long, self.usage
        )
    }
}

/// The first word of `args` (without the program name) that is one of the
/// long flags of the command it is given to, written with a single dash
/// (`-out`, `-detailed-exitcode=true`). A word that is the value of the flag
/// before it (`--set -state`) is a value, not a flag; nothing after `--` is
/// read. `root` is built (`Command::build`), so that usage lines name the
/// whole command. `-vv` and other clusters of short flags name no long flag and pass.
pub fn single_dash_long_flag(root: &Command, args: &[String]) -> Option<SingleDashFlag> {
    let mut command = root;
    let mut value_expected = false;
    for word in args {
        if std::mem::take(&mut value_expected) {
            continue;
        }
        if word == "--" {
            return None;
        }
        if let Some(long) = word.strip_prefix("--") {
            value_expected =
                !long.contains('=') && takes_value(root, command, |arg| arg.get_long() == Some(long));
            continue;
        }
        let Some(name) = word.strip_prefix('-') else {
            if let Some(sub) = command.find_subcommand(word) {
                command = sub;
            }
            continue;
        };
        let name = name.split_once('=').map_or(name, |(name, _)| name);
        if name.chars().count() >= 2 && is_long_flag(root, command, name) {
            let usage = command.clone().render_usage().to_string();
            return Some(SingleDashFlag { typed: word.clone(), long: format!("--{name}"), usage });
        }
        // A short flag, or a cluster of them: a value follows when the last
        // one takes a value and none is attached (`-f file`, not `-ffile`).
        if let Some(short) = name.chars().next()
            && name.chars().count() == 1
        {
            value_expected = takes_value(root, command, |arg| arg.get_short() == Some(short));
        }
    }
    None
}

/// Whether `name` is a long flag of `command` or a global flag of `root`.
fn is_long_flag(root: &Command, command: &Command, name: &str) -> bool {
    let named = |arg: &clap::Arg| !arg.is_hide_set() && arg.get_long() == Some(name);
    command.get_arguments().any(named) || root.get_arguments().any(|arg| arg.is_global_set() && named(arg))
}

/// Whether the flag `matches` finds among `command`'s (or `root`'s global) flags takes a value.
fn takes_value(root: &Command, command: &Command, matches: impl Fn(&clap::Arg) -> bool) -> bool {
    let found = command
        .get_arguments()
        .find(|arg| matches(arg))
        .or_else(|| root.get_arguments().find(|arg| arg.is_global_set() && matches(arg)));
    found.is_some_and(|arg| arg.get_action().takes_values())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;
    use crate::cli::arguments::Arguments;

    fn found(line: &str) -> Option<String> {
        let args: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
        let mut root = Arguments::command();
        root.build();
        single_dash_long_flag(&root, &args).map(|flag| flag.long)
    }

    #[test]
    fn terraforms_single_dash_flags_are_found() {
        assert_eq!(found("plan -f x.yaml -out p.json").as_deref(), Some("--out"));
        assert_eq!(found("plan -f x.yaml -detailed-exitcode").as_deref(), Some("--detailed-exitcode"));
        assert_eq!(found("plan -f x.yaml -out=p.json").as_deref(), Some("--out"));
        assert_eq!(found("export -output dir").as_deref(), Some("--output"));
        assert_eq!(found("apply -auto-approve p.json").as_deref(), Some("--auto-approve"));
        assert_eq!(found("plan -file x.yaml").as_deref(), Some("--file"));
        assert_eq!(found("plan -verbose -f x.yaml").as_deref(), Some("--verbose"));
    }

    #[test]
    fn real_short_flags_values_and_other_commands_flags_pass() {
        assert_eq!(found("plan -vv -f x.yaml --out p.json"), None);
        assert_eq!(found("plan -f -out"), None, "the value of -f");
        assert_eq!(found("export --set -state"), None, "the value of --set");
        assert_eq!(found("validate -f x.yaml -drift"), None, "validate has no --drift");
        assert_eq!(found("plan -f x.yaml -- -out"), None);
        assert_eq!(found("emulator -retry-scale 2"), None);
        assert_eq!(found("plan -f x.yaml -retry-scale 2"), None, "hidden flags are not suggested");
    }
}
