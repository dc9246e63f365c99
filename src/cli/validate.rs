//! `entra-csa validate`: checks desired-state files offline — no network, no
//! credentials — and reports every problem with its place, or a short summary
//! of a valid desired state.

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
                    for diagnostic in diagnostics.iter() {
                        writeln!(stdout, "{}", github_annotation(diagnostic))?;
                    }
                    tell!("{}", diagnostics.summary());
                }
            }
            Ok(ExitStatus::Failed)
        }
    }
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
