//! The plan as a pull-request comment: a heading, the summary table,
//! conflicts first and in the open, then the changes, drift and notes in
//! collapsible `<details>` blocks. Table cells are escaped so that a `|` or a
//! newline in a description cannot break the table.

use std::io::{self, Write};

use crate::plan::Plan;

use super::text::kind_words;
use super::{NO_CHANGES, change_words, summary_line, target_words};

/// Writes the Markdown plan.
pub fn render(plan: &Plan, out: &mut dyn Write) -> io::Result<()> {
    let summary = plan.summary();
    writeln!(out, "## entra-csa plan")?;
    writeln!(out)?;
    writeln!(out, "Target: {}", code(&target_words(&plan.target)))?;
    writeln!(out)?;
    writeln!(out, "| create | update | deactivate | reactivate | assign | unassign | conflicts | drift |")?;
    writeln!(out, "|---:|---:|---:|---:|---:|---:|---:|---:|")?;
    writeln!(
        out,
        "| {} | {} | {} | {} | {} | {} | {} | {} |",
        summary.create,
        summary.update,
        summary.deactivate,
        summary.reactivate,
        summary.assign,
        summary.unassign,
        summary.conflicts,
        summary.drift
    )?;
    writeln!(out)?;

    if !plan.conflicts.is_empty() {
        writeln!(out, "### :no_entry: Conflicts ({}): apply refuses this plan", plan.conflicts.len())?;
        writeln!(out)?;
        writeln!(out, "| address | property | tenant | files | problem | hint |")?;
        writeln!(out, "|---|---|---|---|---|---|")?;
        for conflict in &plan.conflicts {
            writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                code(&conflict.address.to_string()),
                code(&conflict.property),
                conflict.live.as_deref().map_or_else(|| "—".to_owned(), code),
                conflict.desired.as_deref().map_or_else(|| "—".to_owned(), code),
                cell(&conflict.message),
                cell(&conflict.hint)
            )?;
        }
        writeln!(out)?;
    }

    if plan.changes.is_empty() {
        if plan.conflicts.is_empty() {
            writeln!(out, "{NO_CHANGES}")?;
            writeln!(out)?;
        }
    } else {
        writeln!(out, "<details><summary>Changes ({}), in apply order</summary>", plan.changes.len())?;
        writeln!(out)?;
        writeln!(out, "| # | action | kind | address | before | after |")?;
        writeln!(out, "|---:|---|---|---|---|---|")?;
        for change in &plan.changes {
            let (before, after) = change_words(change.before.as_ref(), change.after.as_ref());
            let words = |text: Option<String>| text.map_or_else(|| "—".to_owned(), |text| cell(&text));
            writeln!(
                out,
                "| {} | `{} {}` | {} | {} | {} | {} |",
                change.seq,
                change.action.symbol(),
                change.action,
                kind_words(change.kind()),
                code(&change.address.to_string()),
                words(before),
                words(after)
            )?;
        }
        writeln!(out)?;
        writeln!(out, "</details>")?;
        writeln!(out)?;
    }

    if !plan.drift.is_empty() {
        writeln!(out, "<details><summary>Drift ({}): left alone by policy</summary>", plan.drift.len())?;
        writeln!(out)?;
        for drift in &plan.drift {
            writeln!(
                out,
                "- {} {}: {}",
                kind_words(drift.address.kind()),
                code(&drift.address.to_string()),
                cell(&drift.message)
            )?;
        }
        writeln!(out)?;
        writeln!(out, "</details>")?;
        writeln!(out)?;
    }

    if !plan.notes.is_empty() {
        writeln!(out, "<details><summary>Notes ({})</summary>", plan.notes.len())?;
        writeln!(out)?;
        for note in &plan.notes {
            match &note.address {
                Some(address) => writeln!(out, "- {}: {}", code(&address.to_string()), cell(&note.message))?,
                None => writeln!(out, "- {}", cell(&note.message))?,
            }
        }
        writeln!(out)?;
        writeln!(out, "</details>")?;
        writeln!(out)?;
    }

    writeln!(out, "**{}**", summary_line(&summary))?;
    Ok(())
}

/// Text safe inside a table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// Inline code safe inside a table cell (backticks in the text widen the fence).
fn code(text: &str) -> String {
    let fence = if text.contains('`') { "``" } else { "`" };
    let pad = if text.contains('`') { " " } else { "" };
    format!("{fence}{pad}{}{pad}{fence}", cell(text))
}
