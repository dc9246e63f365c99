//! The plan for a terminal: one line per change with a `+`/`~`/`-`/`^`
//! marker and the action in words, property details indented below it,
//! description edits as inline word diffs (`[-old-]{+new+}`), conflicts loud,
//! drift and notes listed, and Terraform's summary line at the end. Colour is
//! the caller's decision (a terminal without `NO_COLOR`), so output in tests
//! and pipes is plain.

use std::io::{self, Write};

use anstyle::{AnsiColor, Effects, Style};
use similar::ChangeTag;

use crate::plan::explain::Explained;
use crate::plan::{Action, Change, Kind, Mode, Plan, Snapshot};

use super::{
    acknowledged_heading, allowed_values_words, drift_heading, impact_heading, no_changes_line, shape_words,
    summary_line, target_words, value_words,
};

struct Paint {
    colour: bool,
}

impl Paint {
    fn paint(&self, style: Style, text: &str) -> String {
        if self.colour && !text.is_empty() { format!("{style}{text}{style:#}") } else { text.to_owned() }
    }
}

fn colour_of(action: Action) -> Style {
    let colour = match action {
        Action::Create | Action::Assign => AnsiColor::Green,
        Action::Update => AnsiColor::Yellow,
        Action::Deactivate | Action::Unassign => AnsiColor::Red,
        Action::Reactivate => AnsiColor::Cyan,
    };
    Style::new().fg_color(Some(colour.into()))
}

/// The kind of an object in words.
pub fn kind_words(kind: Kind) -> &'static str {
    match kind {
        Kind::AttributeSet => "attribute set",
        Kind::Definition => "attribute",
        Kind::AllowedValue => "allowed value",
        Kind::Assignment => "assignment",
    }
}

const BOLD: Style = Style::new().effects(Effects::BOLD);
const RED: Style = Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Red)));
const GREEN: Style = Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Green)));
const MAGENTA: Style = Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Magenta)));

/// Writes the text plan.
pub fn render(plan: &Plan, colour: bool, out: &mut dyn Write) -> io::Result<()> {
    render_explained(plan, &Explained::default(), colour, out)
}

/// Writes the text plan, each drift finding followed by what the audit log
/// says about it (`plan --explain`).
pub fn render_explained(
    plan: &Plan,
    explained: &Explained,
    colour: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    let paint = Paint { colour };
    writeln!(out, "Target: {}", target_words(&plan.target))?;
    writeln!(out)?;
    if !plan.changes.is_empty() {
        match plan.mode {
            Mode::Plan => writeln!(out, "entra-csa will make these changes, in this order:")?,
            Mode::Drift => writeln!(
                out,
                "The tenant differs from the files. An apply of the files would make these changes, in \
                 this order:"
            )?,
        }
        writeln!(out)?;
        for change in &plan.changes {
            write_change(change, plan.sources.get(&change.address).map(String::as_str), &paint, out)?;
        }
        writeln!(out)?;
    }
    if !plan.impact.is_empty() {
        writeln!(out, "{}", paint.paint(BOLD, &impact_heading(plan)))?;
        writeln!(out)?;
        for impact in &plan.impact {
            writeln!(out, "  > {}", impact.sentence())?;
        }
        writeln!(out)?;
    }
    if !plan.conflicts.is_empty() {
        let heading = format!(
            "Conflicts ({}): the files ask for what Graph cannot do; apply refuses this plan.",
            plan.conflicts.len()
        );
        writeln!(out, "{}", paint.paint(RED.effects(Effects::BOLD), &heading))?;
        writeln!(out)?;
        for conflict in &plan.conflicts {
            let line = format!(
                "  ! {} {}: {}",
                kind_words(conflict.address.kind()),
                conflict.address,
                conflict.message
            );
            writeln!(out, "{}", paint.paint(RED, &line))?;
            writeln!(out, "        property: {}", conflict.property)?;
            writeln!(out, "        tenant:   {}", conflict.live.as_deref().unwrap_or("(none)"))?;
            writeln!(out, "        files:    {}", conflict.desired.as_deref().unwrap_or("(none)"))?;
            writeln!(out, "        hint:     {}", conflict.hint)?;
        }
        writeln!(out)?;
    }
    if !plan.drift.is_empty() {
        writeln!(out, "{}", drift_heading(plan))?;
        writeln!(out)?;
        for drift in &plan.drift {
            let line =
                format!("  ? {} {}: {}", kind_words(drift.address.kind()), drift.address, drift.message);
            writeln!(out, "{}", paint.paint(MAGENTA, &line))?;
            for line in explained.finding(&drift.address).map(super::explain::lines).unwrap_or_default() {
                writeln!(out, "      {line}")?;
            }
        }
        writeln!(out)?;
    }
    if !plan.acknowledged.is_empty() {
        writeln!(out, "{}", acknowledged_heading(plan))?;
        writeln!(out)?;
        for drift in &plan.acknowledged {
            writeln!(out, "  = {} {}: {}", kind_words(drift.address.kind()), drift.address, drift.message)?;
        }
        writeln!(out)?;
    }
    super::coverage::write_text(plan, out)?;
    if !plan.notes.is_empty() {
        writeln!(out, "Notes:")?;
        writeln!(out)?;
        for note in &plan.notes {
            match &note.address {
                Some(address) => writeln!(out, "  * {address}: {}", note.message)?,
                None => writeln!(out, "  * {}", note.message)?,
            }
        }
        writeln!(out)?;
    }
    if plan.changes.is_empty() && plan.conflicts.is_empty() {
        writeln!(out, "{}", paint.paint(BOLD, no_changes_line(plan)))?;
    }
    writeln!(out, "{}", paint.paint(BOLD, &summary_line(&plan.summary())))?;
    Ok(())
}

fn write_change(change: &Change, source: Option<&str>, paint: &Paint, out: &mut dyn Write) -> io::Result<()> {
    let from = source.map(|source| format!("  (from {source})")).unwrap_or_default();
    let style = colour_of(change.action);
    let head = format!("{} {}", change.action.symbol(), change.action);
    let kind = kind_words(change.kind());
    let detail = |line: String| format!("        {line}");
    match (&change.before, &change.after) {
        (_, Some(Snapshot::Assignment { value, .. })) if change.action == Action::Assign => {
            writeln!(out, "  {} {} = {}{from}", paint.paint(style, &head), change.address, value_words(value))
        }
        (Some(Snapshot::Assignment { value: old, .. }), Some(Snapshot::Assignment { value: new, .. })) => {
            writeln!(
                out,
                "  {} {} = {} -> {}{from}",
                paint.paint(style, &head),
                change.address,
                value_words(old),
                value_words(new)
            )
        }
        (Some(Snapshot::Assignment { value, .. }), None) => {
            writeln!(
                out,
                "  {} {} (was {}){from}",
                paint.paint(style, &head),
                change.address,
                value_words(value)
            )
        }
        (before, after) => {
            writeln!(out, "  {} {kind} {}", paint.paint(style, &head), change.address)?;
            for line in detail_lines(before.as_ref(), after.as_ref(), paint) {
                writeln!(out, "{}", detail(line))?;
            }
            Ok(())
        }
    }
}

/// The property lines below a set, definition or value change.
fn detail_lines(before: Option<&Snapshot>, after: Option<&Snapshot>, paint: &Paint) -> Vec<String> {
    let mut lines = Vec::new();
    match (before, after) {
        (None, Some(Snapshot::AttributeSet { description, max_attributes_per_set })) => {
            if let Some(description) = description {
                lines.push(format!("description: {description:?}"));
            }
            if let Some(max) = max_attributes_per_set {
                lines.push(format!("maxAttributesPerSet: {max}"));
            }
        }
        (
            Some(Snapshot::AttributeSet { description: old_description, max_attributes_per_set: old_max }),
            Some(Snapshot::AttributeSet { description, max_attributes_per_set }),
        ) => {
            if old_description != description {
                lines.push(format!("description: {}", description_diff(old_description, description, paint)));
            }
            if old_max != max_attributes_per_set {
                lines.push(format!(
                    "maxAttributesPerSet: {} -> {}",
                    optional(old_max),
                    optional(max_attributes_per_set)
                ));
            }
        }
        (None, Some(Snapshot::Definition(definition))) => {
            lines.push(format!("type: {}", shape_words(definition)));
            if let Some(description) = &definition.description {
                lines.push(format!("description: {description:?}"));
            }
            if definition.status != crate::model::Status::Available {
                lines.push(format!("status: {}", definition.status));
            }
            if !definition.allowed_values.is_empty() {
                lines.push(format!("allowed values: {}", allowed_values_words(&definition.allowed_values)));
            }
        }
        (Some(Snapshot::Definition(old)), Some(Snapshot::Definition(new))) => {
            if old.description != new.description {
                lines.push(format!(
                    "description: {}",
                    description_diff(&old.description, &new.description, paint)
                ));
            }
            if old.use_pre_defined_values_only != new.use_pre_defined_values_only {
                lines.push(format!(
                    "usePreDefinedValuesOnly: {} -> {}",
                    old.use_pre_defined_values_only, new.use_pre_defined_values_only
                ));
            }
            if old.status != new.status {
                lines.push(format!("status: {} -> {}", old.status, new.status));
            }
        }
        (None, Some(Snapshot::AllowedValue { is_active: false })) => lines.push("inactive".to_owned()),
        _ => {}
    }
    lines
}

fn optional(value: &Option<i32>) -> String {
    value.map_or_else(|| "(none)".to_owned(), |value| value.to_string())
}

/// `"Active [-projects-]{+project codes+} for the user"`: an inline word diff.
fn description_diff(old: &Option<String>, new: &Option<String>, paint: &Paint) -> String {
    let (Some(old), Some(new)) = (old, new) else {
        return format!(
            "{} -> {}",
            old.as_ref().map_or_else(|| "(none)".to_owned(), |text| format!("{text:?}")),
            new.as_ref().map_or_else(|| "(none)".to_owned(), |text| format!("{text:?}"))
        );
    };
    let mut text = String::from("\"");
    for (tag, run) in super::word_runs(old, new) {
        match tag {
            ChangeTag::Equal => text.push_str(&run),
            ChangeTag::Delete => text.push_str(&paint.paint(RED, &format!("[-{run}-]"))),
            ChangeTag::Insert => text.push_str(&paint.paint(GREEN, &format!("{{+{run}+}}"))),
        }
    }
    text.push('"');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Address, Fingerprint, Target};

    fn plan_with_description_edit() -> Plan {
        let before = Snapshot::AttributeSet {
            description: Some("Active projects for the user".into()),
            max_attributes_per_set: None,
        };
        let after = Snapshot::AttributeSet {
            description: Some("Active project codes for the user".into()),
            max_attributes_per_set: Some(5),
        };
        Plan {
            target: Target::StateFile { path: "t.json".into() },
            fingerprint: Fingerprint { desired: "sha256:0".into(), live: "sha256:1".into() },
            changes: vec![Change {
                seq: 1,
                action: Action::Update,
                address: Address::AttributeSet { set: "Eng".into() },
                before: Some(before),
                after: Some(after),
            }],
            conflicts: Vec::new(),
            drift: Vec::new(),
            acknowledged: Vec::new(),
            mode: crate::plan::Mode::Plan,
            notes: Vec::new(),
            impact: Vec::new(),
            references: Vec::new(),
            sources: Default::default(),
            coverage: Vec::new(),
        }
    }

    fn text(plan: &Plan, colour: bool) -> String {
        let mut out = Vec::new();
        render(plan, colour, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn description_edits_show_as_inline_word_diffs() {
        let plain = text(&plan_with_description_edit(), false);
        assert!(plain.contains("  ~ update attribute set Eng\n"), "{plain}");
        assert!(
            plain.contains("description: \"Active [-projects-]{+project codes+} for the user\""),
            "{plain}"
        );
        assert!(plain.contains("maxAttributesPerSet: (none) -> 5"), "{plain}");
        assert!(plain.ends_with("Plan: 0 to create, 1 to update, 0 to deactivate, 0 to reactivate, 0 to assign, 0 to unassign; 0 conflicts, 0 drift findings.\n"), "{plain}");
        assert!(!plain.contains('\u{1b}'));
    }

    #[test]
    fn colour_only_when_asked() {
        let coloured = text(&plan_with_description_edit(), true);
        assert!(coloured.contains("\u{1b}["), "{coloured}");
        let empty = Plan { changes: Vec::new(), ..plan_with_description_edit() };
        assert!(text(&empty, false).contains("No changes. The tenant matches the files.\n"));
    }
}
