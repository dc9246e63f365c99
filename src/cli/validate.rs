//! `entra-csa validate`: checks desired-state files offline — no network, no
//! credentials — and reports every problem with its place, or a short summary
//! of a valid desired state.
//!
//! `--format github` writes GitHub Actions annotations, within GitHub's
//! limits: a step shows at most 10 error annotations (and 10 warnings, 10
//! notices; 50 per job), so the first [`ANNOTATED_ERRORS`] problems are
//! annotated, a warning annotation says how many more there are, and every
//! problem goes to the log (stderr) and, when `GITHUB_STEP_SUMMARY` is set,
//! to the job summary. GitHub documents the limits in
//! <https://github.com/actions/toolkit/blob/main/docs/problem-matchers.md>
//! ("Limitations"); the job summary is described in
//! <https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-commands>,
//! and the runner refuses a step summary above 1 MiB ("supports content up
//! to a size of 1024k").

use std::io::Write;

use crate::cli::arguments::{DiagnosticFormat, ValidateArgs};
use crate::cli::exit_status::ExitStatus;
use crate::cli::output::{self, tell};
use crate::desired::diagnostic::Diagnostic;
use crate::desired::load::load_files;

/// Runs `validate`.
pub fn run(args: ValidateArgs) -> anyhow::Result<ExitStatus> {
    match load_files(&args.files) {
        Ok(desired) => {
            let attributes: usize = desired.attribute_sets.values().map(|set| set.attributes.len()).sum();
            let groups = match desired.group_assignments.len() {
                0 => String::new(),
                count => format!(", {count} group(s) assigning to their members"),
            };
            writeln!(
                std::io::stdout(),
                "valid: {} attribute set(s), {} attribute(s), {} principal(s) with assignments{groups}",
                desired.attribute_sets.len(),
                attributes,
                desired.assignments.len()
            )?;
            Ok(ExitStatus::Success)
        }
        Err(diagnostics) => {
            match args.format {
                DiagnosticFormat::Text => tell!("{diagnostics}"),
                DiagnosticFormat::Github => {
                    // The problems are the verdict: a closed pipe drops the rest, the status stands.
                    let mut stdout = output::stdout();
                    for diagnostic in diagnostics.iter().take(ANNOTATED_ERRORS) {
                        writeln!(stdout, "{}", github_annotation(diagnostic))?;
                    }
                    let more = diagnostics.len().saturating_sub(ANNOTATED_ERRORS);
                    let summary_file =
                        std::env::var_os("GITHUB_STEP_SUMMARY").filter(|path| !path.is_empty());
                    if more > 0 {
                        let listed_in =
                            if summary_file.is_some() { "the job summary and the log" } else { "the log" };
                        writeln!(
                            stdout,
                            "::warning title={}::{}",
                            escape_property("entra-csa validate"),
                            escape_data(&format!(
                                "{more} more problem(s) not annotated: GitHub shows at most {ANNOTATED_ERRORS} \
                                 error annotations per step. {listed_in} list all {}.",
                                diagnostics.len()
                            ))
                        )?;
                        // The log: every problem, in the text format.
                        tell!("{diagnostics}");
                    } else {
                        tell!("{}", diagnostics.summary());
                    }
                    if let Some(path) = summary_file {
                        append_step_summary(
                            std::path::Path::new(&path),
                            &step_summary(&diagnostics, SUMMARY_BUDGET),
                        )?;
                    }
                }
            }
            Ok(ExitStatus::Failed)
        }
    }
}

/// The error annotations a GitHub Actions step shows; more are dropped.
pub const ANNOTATED_ERRORS: usize = 10;

/// The bytes this step's summary may take: GitHub refuses a step summary
/// above 1 MiB, and other steps' summaries are not ours to crowd out.
pub const SUMMARY_BUDGET: usize = 512 * 1024;

/// Appends `text` to the step summary file GitHub names.
fn append_step_summary(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    use anyhow::Context;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot write the job summary {}", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("cannot write the job summary {}", path.display()))
}

/// The job summary of a failed validation (Markdown): every problem in the
/// text format, in a fence no message can close, within `budget` bytes —
/// cut at a problem's end, saying how many more the log holds.
pub fn step_summary(diagnostics: &crate::desired::diagnostic::Diagnostics, budget: usize) -> String {
    let texts: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
    let longest_run = texts.iter().flat_map(|text| text.split(|c| c != '`').map(str::len)).max().unwrap_or(0);
    let fence = "`".repeat(longest_run.max(2) + 1);
    let mut summary = format!("### entra-csa validate: {}\n\n", diagnostics.summary());
    if diagnostics.len() > ANNOTATED_ERRORS {
        summary.push_str(&format!(
            "GitHub annotates the first {ANNOTATED_ERRORS}; every problem is listed here.\n\n"
        ));
    }
    summary.push_str(&format!("{fence}text\n"));
    let closing = format!("{fence}\n\n");
    let mut listed = 0;
    for text in &texts {
        // Room for the closing fence and the line that says what was left out.
        if summary.len() + text.len() + closing.len() + 200 > budget {
            break;
        }
        summary.push_str(text);
        listed += 1;
    }
    summary.push_str(&closing);
    if listed < texts.len() {
        summary.push_str(&format!(
            "… and {} more, left out to keep the summary small: the step's log lists them all.\n\n",
            texts.len() - listed
        ));
    }
    summary
}

/// A GitHub Actions workflow command that annotates the file at the line.
pub fn github_annotation(diagnostic: &Diagnostic) -> String {
    format!(
        "::error file={},line={},col={},title={}::{}",
        escape_property(&diagnostic.place.file),
        diagnostic.place.line,
        diagnostic.place.column,
        escape_property("entra-csa validate"),
        escape_data(&diagnostic.one_line()),
    )
}

/// Escapes a workflow command's message (as the Actions toolkit does).
fn escape_data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// Escapes a workflow command's property value.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desired::diagnostic::Place;

    fn problems(count: usize) -> crate::desired::diagnostic::Diagnostics {
        crate::desired::diagnostic::Diagnostics(
            (1..=count as u64)
                .map(|line| {
                    Diagnostic::new(
                        Place { file: "a.yaml".into(), line, column: 3 },
                        "x",
                        format!("problem ```{line}"),
                    )
                })
                .collect(),
        )
    }

    #[test]
    fn the_step_summary_lists_every_problem_in_a_fence_no_message_closes() {
        let summary = step_summary(&problems(25), SUMMARY_BUDGET);
        assert!(summary.starts_with("### entra-csa validate: 25 errors\n"), "{summary}");
        assert!(summary.contains("GitHub annotates the first 10"), "{summary}");
        assert!(summary.contains("\n````text\n"), "a fence longer than the messages' ```: {summary}");
        for line in 1..=25 {
            assert!(summary.contains(&format!("a.yaml:{line}:3: error: problem ```{line}")), "{summary}");
        }
        assert!(!summary.contains("more, left out"), "{summary}");
    }

    #[test]
    fn the_step_summary_keeps_within_its_budget() {
        let summary = step_summary(&problems(20_000), 64 * 1024);
        assert!(summary.len() <= 64 * 1024, "{}", summary.len());
        assert!(summary.contains("more, left out to keep the summary small: the step's log lists them all"));
        assert!(summary.contains("a.yaml:1:3:"));
        assert!(!summary.contains("a.yaml:20000:3:"));
    }

    #[test]
    fn annotations_escape_their_parts() {
        let diagnostic =
            Diagnostic::new(Place { file: "a,b.yaml".into(), line: 3, column: 7 }, "x", "100% wrong\nreally");
        assert_eq!(
            github_annotation(&diagnostic),
            "::error file=a%2Cb.yaml,line=3,col=7,title=entra-csa validate::100%25 wrong%0Areally"
        );
    }
}
