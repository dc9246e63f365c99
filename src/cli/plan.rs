//! `entra-csa plan`: load the files, read the tenant, print the plan in the
//! chosen format, and optionally save it (with its desired state) for
//! `apply PLANFILE`. Conflicts exit 1; with `--detailed-exitcode`, changes,
//! drift or coverage findings exit 2 and a tenant in sync exits 0.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;

use clap::ValueEnum;

use crate::cli::arguments::{AuthFlag, PlanArgs, PlanFormat};
use crate::cli::exit_status::ExitStatus;
use crate::cli::output::{self, tell, tell_part};
use crate::cli::target::open_tenant;
use crate::model::DesiredState;
use crate::plan::explain::Explained;
use crate::plan::{self, Action, Drift, Plan};
use crate::render::{self, Format};
use crate::tenant::ReadScope;

/// Runs `plan`.
pub fn run(args: PlanArgs) -> anyhow::Result<ExitStatus> {
    let desired = load_desired(&args.files)?;
    let tenant = open_tenant(&args.target)?;
    let runtime = runtime()?;
    let live = runtime.block_on(tenant.read(&ReadScope::for_desired(&desired)))?;
    let mut plan = plan::build(&desired, &live, tenant.target());
    if args.drift {
        report_differences_as_drift(&mut plan);
    }
    let explained = if args.explain {
        runtime.block_on(explain_drift(tenant.as_ref(), &mut plan, &live, args.since))
    } else {
        Explained::default()
    };

    // A closed pipe drops the rest of the plan; the plan is still saved and its status stands.
    let mut stdout = output::stdout();
    render::render_explained(&plan, &explained, render_format(args.format), colour(), &mut stdout)?;
    stdout.flush()?;
    for (format, path) in &args.render_to {
        let mut file = std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot write the plan to {}", path.display()))?,
        );
        render::render_explained(&plan, &explained, render_format(*format), false, &mut file)?;
        file.flush().with_context(|| format!("cannot write the plan to {}", path.display()))?;
    }

    if !plan.conflicts.is_empty() {
        if args.out.is_some() {
            tell!("The plan was not saved: it has conflicts.");
        }
        tell!("error: the plan has {} conflict(s); apply would refuse it", plan.conflicts.len());
        return Ok(ExitStatus::Failed);
    }
    if let Some(out) = &args.out {
        save_plan(&plan, &desired, out)?;
        tell!("Saved the plan to {}; apply it with `{}`.", out.display(), apply_command(out, &args));
    }
    // Coverage findings count like drift: the tenant is not as the files require.
    let findings = plan.coverage_findings() > 0;
    Ok(if args.detailed_exitcode && (!plan.changes.is_empty() || !plan.drift.is_empty() || findings) {
        ExitStatus::Changes
    } else {
        ExitStatus::Success
    })
}

pub fn render_format(format: PlanFormat) -> Format {
    match format {
        PlanFormat::Text => Format::Text,
        PlanFormat::Json => Format::Json,
        PlanFormat::Markdown => Format::Markdown,
    }
}

/// `plan --drift`: every change is also a drift finding, worded as what the
/// tenant has and what the files say, listed before the policy's findings.
fn report_differences_as_drift(plan: &mut Plan) {
    let differences = plan.changes.iter().map(|change| {
        let (tenant, files) = render::change_words(change.before.as_ref(), change.after.as_ref());
        let nothing = || match change.action {
            Action::Unassign => "(not assigned)".to_owned(),
            _ => "(none)".to_owned(),
        };
        Drift {
            address: change.address.clone(),
            message: format!(
                "tenant: {}; files: {}",
                tenant.unwrap_or_else(nothing),
                files.unwrap_or_else(nothing)
            ),
        }
    });
    let mut drift: Vec<Drift> = differences.collect();
    drift.append(&mut plan.drift);
    plan.drift = drift;
    plan.mode = plan::Mode::Drift;
}

/// `--explain`: the drift findings joined to the audit log of the last
/// `since` (one time-filtered read; none when there is no drift). A log
/// that cannot be read leaves the plan as it is, with a note saying why
/// its findings are unexplained.
async fn explain_drift(
    tenant: &dyn crate::tenant::Tenant,
    plan: &mut Plan,
    live: &crate::model::live::LiveState,
    since: std::time::Duration,
) -> Explained {
    if plan.drift.is_empty() {
        return Explained::default();
    }
    let now = time::OffsetDateTime::now_utc();
    let window_start = (now - since).replace_nanosecond(0).unwrap_or(now - since);
    let from = window_start.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    let note = |message: String| plan::Note { address: None, message: format!("plan --explain: {message}") };
    match tenant.audit_log(&from).await {
        Err(reason) => {
            plan.notes.push(note(reason));
            Explained::default()
        }
        Ok(log) => {
            let explained = plan::explain::explain(&plan.drift, &log.entries, live, &from);
            plan.notes.push(note(format!(
                "{} of {} drift finding(s) explained by the custom security attribute audit log since {from} \
                 ({} entries read in {} request(s))",
                plan.drift.iter().filter(|drift| explained.by_address.contains_key(&drift.address)).count(),
                plan.drift.len(),
                log.entries.len(),
                log.pages
            )));
            if log.not_understood > 0 {
                plan.notes.push(note(format!(
                    "{} audit entries without an id or activityDateTime were left out",
                    log.not_understood
                )));
            }
            if let Some(incomplete) = log.incomplete {
                plan.notes.push(note(incomplete));
            }
            explained
        }
    }
}

/// The command that applies the plan saved to `out`: the plan records its
/// target, so only a sign-in method other than `auto` needs repeating.
fn apply_command(out: &Path, args: &PlanArgs) -> String {
    let mut command = format!("entra-csa apply {}", shell_word(&out.display().to_string()));
    if args.target.state.is_none() && args.target.auth != AuthFlag::Auto {
        let auth = args.target.auth.to_possible_value().map(|value| value.get_name().to_owned());
        command.push_str(&format!(" --auth {}", auth.unwrap_or_default()));
    }
    command
}

/// `word` as one shell word: quoted when it holds anything a shell reads.
fn shell_word(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+,:@%=".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// The desired state the files declare; every problem in them is reported.
pub fn load_desired(files: &[PathBuf]) -> anyhow::Result<DesiredState> {
    crate::desired::load::load_files(files).map_err(|diagnostics| {
        for diagnostic in diagnostics.iter() {
            tell_part!("{diagnostic}");
        }
        anyhow::anyhow!("{} in the desired-state files; nothing was read or changed", diagnostics.summary())
    })
}

/// A current-thread runtime for the tenant's async calls.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Whether to colour text: stdout is a terminal and `NO_COLOR` is unset or empty.
pub fn colour() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
}

/// Writes the saved plan: the JSON plan plus the desired state.
fn save_plan(plan: &Plan, desired: &DesiredState, out: &Path) -> anyhow::Result<()> {
    let mut document = render::json::document(plan);
    document.desired_state = Some(plan::saved::desired_to_json(desired));
    let mut text = serde_json::to_string_pretty(&document)?;
    text.push('\n');
    std::fs::write(out, text).with_context(|| format!("cannot write the plan to {}", out.display()))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::arguments::{Arguments, Command};

    fn plan_args(args: &[&str]) -> PlanArgs {
        let argv = ["entra-csa", "plan", "-f", "x.yaml"].iter().chain(args);
        match Arguments::try_parse_from(argv).unwrap().command {
            Command::Plan(args) => args,
            _ => unreachable!(),
        }
    }

    #[test]
    fn the_printed_apply_command_works_as_printed() {
        let args = plan_args(&["--state", "t2.json"]);
        assert_eq!(apply_command(Path::new("saved.plan"), &args), "entra-csa apply saved.plan");
        let args = plan_args(&["--auth", "managed-identity"]);
        assert_eq!(
            apply_command(Path::new("my plan's.json"), &args),
            "entra-csa apply 'my plan'\\''s.json' --auth managed-identity"
        );
        let args = plan_args(&[]);
        assert_eq!(apply_command(Path::new("out/plan.json"), &args), "entra-csa apply out/plan.json");
    }
}
