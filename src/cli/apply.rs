//! `entra-csa apply`: carry out a plan, planned anew from the files or read
//! from a saved plan. A saved plan is refused when the tenant changed since
//! it was made (its live fingerprint differs; the message lists what would
//! plan differently now), and otherwise exactly its changes are executed: the
//! plan is computed again from its saved desired state and must equal it.
//! Apply asks on a terminal, needs `--auto-approve` without one, refuses a
//! plan with conflicts, and exits 1 when any change failed, 3 when it was
//! stopped before finishing (`--max-duration`, SIGTERM, Ctrl-C; `cli/stop.rs`).
//! A saved plan that an apply carried out in part is finished by applying
//! it again (`plan::resume`): what is done is not written again.

use std::collections::BTreeSet;
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::time::Instant;

use anyhow::Context;

use crate::cli::arguments::ApplyArgs;
use crate::cli::exit_status::ExitStatus;
use crate::cli::output::{self, tell, tell_part};
use crate::cli::plan::{colour, load_desired, runtime};
use crate::cli::stop::StopWatch;
use crate::cli::target::{args_for_saved_target, describe, is_same_target, open_tenant};
use crate::cli::troubleshooting;
use crate::model::DesiredState;
use crate::plan::{self, FORMAT_VERSION, Plan, READABLE_FORMAT_VERSIONS};
use crate::render::json::document;
use crate::render::json_types::{JsonChange, JsonPlan};
use crate::render::{self, Format};
use crate::tenant::{ApplyReport, Outcome, ReadScope, Tenant};

/// Runs `apply`.
pub fn run(args: ApplyArgs) -> anyhow::Result<ExitStatus> {
    // `--max-duration` counts from here: the reads and the prompt are part
    // of the time a CI job has.
    let started = Instant::now();
    let runtime = runtime()?;
    let (tenant, plan) = match &args.plan_file {
        Some(path) => {
            let (saved, desired) = read_saved_plan(path)?;
            // The target the plan records, unless the flags name one.
            let tenant = if args.target.names_a_target() {
                open_tenant(&args.target)?
            } else {
                open_tenant(&args_for_saved_target(&args.target, &saved.target))?
            };
            match check_saved_plan_now(path, &saved, desired, tenant.as_ref(), &runtime)? {
                Ok(plan) => (tenant, plan),
                Err(refused) => {
                    tell!("error: {refused}");
                    if let Some(anchor) = troubleshooting::anchor_for(&refused) {
                        tell!("{}", troubleshooting::see(anchor));
                    }
                    return Ok(ExitStatus::Failed);
                }
            }
        }
        None => {
            let tenant = open_tenant(&args.target)?;
            let desired = load_desired(&args.files)?;
            reserve(tenant.as_ref(), &runtime)?;
            let live = runtime
                .block_on(tenant.read(&ReadScope::for_desired(&desired)))
                .context("cannot read the tenant; nothing was applied")?;
            let plan = plan::build(&desired, &live, tenant.target());
            (tenant, plan)
        }
    };

    // A reader that goes away never stops an apply half-way: what it cannot read is dropped.
    let mut stdout = output::stdout();
    render::render(&plan, Format::Text, colour(), &mut stdout)?;
    stdout.flush()?;

    if !plan.conflicts.is_empty() {
        tell!("error: the plan has {} conflict(s); nothing was applied", plan.conflicts.len());
        return Ok(ExitStatus::Failed);
    }
    if plan.changes.is_empty() {
        return Ok(ExitStatus::Success);
    }
    if !args.auto_approve {
        if !std::io::stdin().is_terminal() {
            tell!("error: stdin is not a terminal; pass --auto-approve to apply without confirmation");
            return Ok(ExitStatus::Failed);
        }
        tell_part!("\nApply these {} changes? [y/N] ", plan.changes.len());
        std::io::stderr().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
            tell!("Apply cancelled; nothing was changed.");
            return Ok(ExitStatus::Failed);
        }
    }

    let watch = tenant.stop_handle().map(|stop| {
        StopWatch::start(&runtime, stop, args.max_duration.map(|limit| (started + limit, limit)))
    });
    let report = runtime.block_on(tenant.apply(&plan.changes));
    let stopped = watch.as_ref().and_then(StopWatch::reason);
    drop(watch);
    print_report(&mut stdout, &plan, &report)?;
    let done = report.count(|outcome| *outcome == Outcome::Done);
    let failed = report.count(|outcome| matches!(outcome, Outcome::Failed(_)));
    let cut_off = report.count(|outcome| *outcome == Outcome::CutOff);
    let skipped = report.count(|outcome| *outcome == Outcome::NotAttempted);
    writeln!(stdout)?;
    if report.succeeded() && report.outcomes.len() == plan.changes.len() {
        writeln!(stdout, "Apply complete: {done} changes done.")?;
        return Ok(ExitStatus::Success);
    }
    if let Some(reason) = stopped
        && failed == 0
    {
        writeln!(
            stdout,
            "Apply stopped before finishing ({reason}): {done} done, {cut_off} cut off in flight \
             (their outcome is unknown), {skipped} not attempted."
        )?;
        let again = match &args.plan_file {
            Some(path) => format!(
                "apply the same saved plan again (`entra-csa apply {}`): what is done is not written \
                 again, and the rest is",
                path.display()
            ),
            None => "run the same apply again: it plans and applies what remains".to_owned(),
        };
        writeln!(stdout, "To finish, {again}.")?;
        return Ok(ExitStatus::Stopped);
    }
    writeln!(
        stdout,
        "Apply failed: {done} done, {failed} failed, {}not attempted.",
        if cut_off > 0 { format!("{cut_off} cut off in flight, {skipped} ") } else { format!("{skipped} ") }
    )?;
    // What the failures mean, once per kind (a 403 on every change is one entry).
    let mut named = BTreeSet::new();
    for outcome in &report.outcomes {
        if let Outcome::Failed(message) = &outcome.result
            && let Some(anchor) = troubleshooting::anchor_for(message)
            && named.insert(anchor)
        {
            tell!("{}", troubleshooting::see(anchor));
        }
    }
    Ok(ExitStatus::Failed)
}

/// One line per change: done, failed (why), cut off in flight, or skipped.
fn print_report(stdout: &mut impl Write, plan: &Plan, report: &ApplyReport) -> std::io::Result<()> {
    writeln!(stdout)?;
    for (change, outcome) in plan.changes.iter().zip(&report.outcomes) {
        let what = format!("{:>3}. {} {}", change.seq, change.action, change.address);
        match &outcome.result {
            Outcome::Done => writeln!(stdout, "  done     {what}")?,
            Outcome::Failed(message) => writeln!(stdout, "  FAILED   {what}: {message}")?,
            Outcome::CutOff => writeln!(
                stdout,
                "  cut off  {what} (sent, no answer before the stop: may or may not be done)"
            )?,
            Outcome::NotAttempted => writeln!(stdout, "  skipped  {what} (not attempted)")?,
        }
    }
    Ok(())
}

/// Keeps other applies out from the read the plan is made from to the end of
/// this apply, where the tenant can (a state file's lock): what is shown,
/// checked for staleness and confirmed is then what gets applied.
fn reserve(tenant: &dyn Tenant, runtime: &tokio::runtime::Runtime) -> anyhow::Result<()> {
    runtime.block_on(tenant.reserve_for_apply()).context("nothing was applied")
}

/// A saved plan file and the desired state it carries.
fn read_saved_plan(path: &Path) -> anyhow::Result<(JsonPlan, DesiredState)> {
    let shown = path.display();
    let saved = read_plan_document(path, "apply")?;
    let Some(desired_json) = saved.desired_state.clone() else {
        anyhow::bail!(
            "{shown}: not a saved plan (it has no desiredState); save one with `entra-csa plan --out FILE`"
        );
    };
    let desired = plan::saved::desired_from_json(desired_json)
        .with_context(|| format!("{shown}: the saved desired state is malformed"))?;
    Ok((saved, desired))
}

/// A JSON plan document (`plan --out`, or `plan --format json` saved to a
/// file) in a format version this entra-csa reads. Desired-state YAML given
/// by mistake is refused with the `meant` command (`apply -f FILE`).
pub fn read_plan_document(path: &Path, meant: &str) -> anyhow::Result<JsonPlan> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read plan file {shown}"))?;
    let yaml = path.extension().is_some_and(|extension| extension == "yaml" || extension == "yml");
    if yaml || (serde_json::from_str::<serde_json::Value>(&text).is_err() && text.contains("version:")) {
        anyhow::bail!(
            "{shown} is not a saved plan but looks like desired-state YAML; did you mean `{meant} -f {shown}`?"
        );
    }
    let version: Option<u64> = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|value| value.get("formatVersion").and_then(serde_json::Value::as_u64));
    if let Some(version) = version
        && !READABLE_FORMAT_VERSIONS.iter().any(|readable| u64::from(*readable) == version)
    {
        anyhow::bail!(
            "{shown}: plan format version {version}; this entra-csa reads versions 1 to {FORMAT_VERSION}"
        );
    }
    let mut deserializer = serde_json::Deserializer::from_str(&text);
    let saved: JsonPlan = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let at = error.path().to_string();
        anyhow::anyhow!("{shown}: not a saved plan: at `{at}`: {}", error.into_inner())
    })?;
    Ok(saved)
}

/// The plan of a saved plan file, checked against the tenant as it is now.
/// `Ok(Err(message))`: the tenant is another one than the plan was made
/// for, or the plan is stale or does not match its own inputs.
fn check_saved_plan_now(
    path: &Path,
    saved: &JsonPlan,
    desired: DesiredState,
    tenant: &dyn Tenant,
    runtime: &tokio::runtime::Runtime,
) -> anyhow::Result<Result<Plan, String>> {
    let shown = path.display();
    if !is_same_target(&saved.target, &tenant.target()) {
        return Ok(Err(format!(
            "the plan in {shown} was made for {}, not for {}; apply it without a target flag to \
             apply it there, or plan again against this target",
            describe(&saved.target),
            describe(&document(&empty_plan(tenant.target())).target),
        )));
    }

    reserve(tenant, runtime)?;
    let live = runtime
        .block_on(tenant.read(&ReadScope::for_desired(&desired)))
        .context("cannot read the tenant; nothing was applied")?;
    let judged = judge_saved_plan(saved, &desired, &live, tenant.target());
    if let Ok((rest, done)) = &judged
        && *done > 0
        && rest.changes.is_empty()
    {
        tell!(
            "The saved plan is applied already: all {done} of its changes are in the tenant; nothing to do."
        );
    } else if let Ok((rest, done)) = &judged
        && *done > 0
    {
        tell!(
            "Resuming the saved plan: {done} of its {} changes are in the tenant already (an earlier \
             apply of it stopped) and are not written again; {} remain.",
            done + rest.changes.len(),
            rest.changes.len()
        );
    }
    Ok(judged.map(|(plan, _)| plan).map_err(|problem| format!("the plan in {shown} {problem}")))
}

/// What of `saved` to apply to the tenant `live`, and how many of its
/// changes are in the tenant already: all of it when the tenant is as the
/// plan found it; the rest when it differs by the plan's own changes only
/// (an apply of it stopped part-way). The error completes the sentence
/// "the plan in FILE ...". No I/O.
pub fn judge_saved_plan(
    saved: &JsonPlan,
    desired: &DesiredState,
    live: &crate::model::live::LiveState,
    target: plan::Target,
) -> Result<(Plan, usize), String> {
    let fresh = plan::build(desired, live, target.clone());
    let Err(problem) = check_saved_plan(saved, &fresh) else {
        return Ok((fresh, 0));
    };
    match resume_saved_plan(saved, desired, live, target) {
        None => Err(problem),
        Some(Ok(rest)) => Ok(rest),
        // Said before the advice to plan again, which ends the message.
        Some(Err(why)) => Err(match problem.rfind("\nRun `entra-csa plan` again") {
            Some(at) => format!("{}\n{why}{}", &problem[..at], &problem[at..]),
            None => format!("{problem}\n{why}"),
        }),
    }
}

/// The rest of a saved plan an earlier apply carried out in part: `None`
/// when none of it is in the tenant (the plan is then judged as any other);
/// `Some(Err(why))` when some of it is but the tenant changed otherwise too
/// (still stale); `Some(Ok)` with the changes still to do, when the tenant
/// differs from the plan's snapshot by the plan's own changes only
/// (ARCHITECTURE.md, "Finishing a saved plan").
fn resume_saved_plan(
    saved: &JsonPlan,
    desired: &DesiredState,
    live: &crate::model::live::LiveState,
    target: plan::Target,
) -> Option<Result<(Plan, usize), String>> {
    let saved_changes = crate::render::json_read::plan_from_document(saved).ok()?.changes;
    let done = plan::resume::done_count(live, &saved_changes);
    let not_only_its_own = |detail: String| {
        Err(format!(
            "{done} of its {} changes are in the tenant already, as when an apply of it stopped \
             part-way, but the tenant changed otherwise too: {detail}.",
            saved_changes.len()
        ))
    };
    let resumption = match plan::resume::before_the_plan(live, &saved_changes) {
        Ok(resumption) if resumption.done_count() > 0 => resumption,
        Ok(_) => return None,
        Err(foreign) => return (done > 0).then(|| not_only_its_own(foreign.to_string())),
    };
    let at_snapshot = plan::build(desired, &resumption.snapshot, target);
    if check_saved_plan(saved, &at_snapshot).is_err() {
        return Some(not_only_its_own(
            "with its changes taken back, the tenant is still not the one the plan was made from".to_owned(),
        ));
    }
    let mut rest = at_snapshot;
    let mut done = resumption.done.iter();
    rest.changes.retain(|_| done.next().is_some_and(|done| !done));
    // How long the apply takes is now how long the rest takes.
    rest.notes.retain(|note| !note.message.starts_with(plan::apply_time::NOTE_PREFIX));
    rest.notes.extend(plan::apply_time::note(&rest.changes, &rest.target));
    rest.notes.sort_by(|a, b| (&a.address, &a.message).cmp(&(&b.address, &b.message)));
    Some(Ok((rest, resumption.done_count())))
}

/// A plan with nothing in it but its target, to render the target as JSON does.
fn empty_plan(target: plan::Target) -> Plan {
    Plan {
        target,
        fingerprint: plan::Fingerprint { desired: String::new(), live: String::new() },
        changes: Vec::new(),
        conflicts: Vec::new(),
        drift: Vec::new(),
        acknowledged: Vec::new(),
        mode: plan::Mode::Plan,
        notes: Vec::new(),
        impact: Vec::new(),
        references: Vec::new(),
        sources: Default::default(),
        coverage: Vec::new(),
    }
}

/// Whether `saved` may be applied, given `fresh`: the plan of its own desired
/// state against the tenant as it is now. The tenant must not have changed
/// since (same live fingerprint), and the fresh plan must have exactly the
/// saved changes. The error completes the sentence "the plan in FILE ...".
pub fn check_saved_plan(saved: &JsonPlan, fresh: &Plan) -> Result<(), String> {
    let fresh_document = document(fresh);
    if fresh.fingerprint.live != saved.fingerprint.live {
        let mut message = format!(
            "is stale: the tenant changed since it was made (live fingerprint {} is now {}).",
            saved.fingerprint.live, fresh.fingerprint.live
        );
        let differences = change_differences(&saved.changes, &fresh_document.changes);
        if differences.is_empty() {
            message.push_str(
                "\nPlanning again now gives the same changes, but the tenant is not the one reviewed.",
            );
        } else {
            message.push_str("\nPlanning again now differs from the saved plan:");
            for line in differences {
                message.push_str("\n  ");
                message.push_str(&line);
            }
        }
        message.push_str("\nRun `entra-csa plan` again and review the new plan.");
        return Err(message);
    }
    if fresh_document.changes != saved.changes || fresh_document.conflicts != saved.conflicts {
        return Err("does not match what its own desired state plans against this tenant (was the file \
                    edited?); refusing it"
            .to_owned());
    }
    Ok(())
}

/// What is in one list of changes and not the other, ignoring `seq`.
fn change_differences(saved: &[JsonChange], fresh: &[JsonChange]) -> Vec<String> {
    let key = |change: &JsonChange| {
        format!("{} {} {} -> {}", change.action, change.address, change.before, change.after)
    };
    let saved_keys: BTreeSet<String> = saved.iter().map(key).collect();
    let fresh_keys: BTreeSet<String> = fresh.iter().map(key).collect();
    let mut lines: Vec<String> =
        saved_keys.difference(&fresh_keys).map(|change| format!("no longer planned: {change}")).collect();
    lines.extend(fresh_keys.difference(&saved_keys).map(|change| format!("now planned:       {change}")));
    lines
}
