//! The plan as a pull-request comment, for a reviewer: the summary line first,
//! conflicts and deactivations in the open and loud, then the changes in apply
//! order (description edits as word diffs; a long list collapsed), drift and
//! notes collapsed. The comment stays under GitHub's size limit: rows that do
//! not fit are cut, and a note says how many and where to see them.
//!
//! Names, descriptions and values come from the files and the tenant, which a
//! pull request's author or anyone with a portal role can write: every such
//! text is escaped, so it cannot break a table (`|`, newlines), inject HTML
//! (`<img>`, `<details>`), format or link (`*`, `[`), ping people or teams
//! (`@name`) or cross-reference issues (`#12`, `GH-12`). Complete code spans
//! in the tool's own messages stay code spans, where GitHub renders neither
//! HTML nor mentions.

use std::fmt::Write as _;
use std::io::{self, Write};

use similar::ChangeTag;

use crate::plan::explain::{Actor, Explained, ExplainedFinding};
use crate::plan::{Action, Change, Drift, Kind, Mode, Plan, Snapshot};
use crate::readers::Effect;

use super::text::kind_words;
use super::{
    acknowledged_heading, change_words, drift_heading, impact_heading, no_changes_line, summary_line,
    target_words, word_runs,
};

/// GitHub refuses comments over 65,536 characters; keep a margin for a
/// pipeline's own header and footer.
pub const MAX_COMMENT_CHARS: usize = 60_000;

/// Up to this many changes the table is shown open; more are collapsed.
const OPEN_TABLE_ROWS: usize = 40;

/// Writes the Markdown plan.
pub fn render(plan: &Plan, out: &mut dyn Write) -> io::Result<()> {
    out.write_all(render_to_string(plan, MAX_COMMENT_CHARS).as_bytes())
}

/// Writes the Markdown plan, each drift finding with what the audit log
/// says about it (`plan --explain`): the body of a nightly drift issue.
pub fn render_explained(plan: &Plan, explained: &Explained, out: &mut dyn Write) -> io::Result<()> {
    out.write_all(render_explained_to_string(plan, explained, MAX_COMMENT_CHARS).as_bytes())
}

/// The Markdown plan, at most about `budget` characters long.
pub fn render_to_string(plan: &Plan, budget: usize) -> String {
    render_explained_to_string(plan, &Explained::default(), budget)
}

/// `render_to_string` with the drift findings' explanations.
pub fn render_explained_to_string(plan: &Plan, explained: &Explained, budget: usize) -> String {
    let summary = plan.summary();
    let mut head = String::new();
    match plan.mode {
        Mode::Plan => {
            let _ = writeln!(head, "## entra-csa plan\n");
        }
        Mode::Drift => {
            let _ = writeln!(head, "## entra-csa drift check\n");
            if !plan.drift.is_empty() {
                let _ = writeln!(
                    head,
                    "> [!CAUTION]\n> **The tenant differs from the files** in {} place(s): someone changed \
                     the tenant outside the files, or a merge was never applied.\n",
                    plan.drift.len()
                );
            }
        }
    }
    head.push_str(&super::coverage::markdown_caution(plan));
    impact(&mut head, plan);
    let _ = writeln!(head, "**{}**\n", summary_line(&summary));
    let _ = writeln!(head, "Target: {}\n", code(&target_words(&plan.target)));
    let _ = writeln!(
        head,
        "| create | update | deactivate | reactivate | assign | unassign | conflicts | drift |"
    );
    let _ = writeln!(head, "|---:|---:|---:|---:|---:|---:|---:|---:|");
    let _ = writeln!(
        head,
        "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
        summary.create,
        summary.update,
        summary.deactivate,
        summary.reactivate,
        summary.assign,
        summary.unassign,
        summary.conflicts,
        summary.drift
    );

    if !plan.conflicts.is_empty() {
        let _ =
            writeln!(head, "### :no_entry: Conflicts ({}): apply refuses this plan\n", plan.conflicts.len());
        let _ = writeln!(head, "| address | property | tenant | files | problem | hint |");
        let _ = writeln!(head, "|---|---|---|---|---|---|");
        for conflict in &plan.conflicts {
            let _ = writeln!(
                head,
                "| {} | {} | {} | {} | {} | {} |",
                code(&conflict.address.to_string()),
                code(&conflict.property),
                conflict.live.as_deref().map_or_else(|| "—".to_owned(), code),
                conflict.desired.as_deref().map_or_else(|| "—".to_owned(), code),
                cell(&conflict.message),
                cell(&conflict.hint)
            );
        }
        head.push('\n');
    }

    let deactivations: Vec<&Change> =
        plan.changes.iter().filter(|change| change.action == Action::Deactivate).collect();
    if !deactivations.is_empty() {
        let _ = writeln!(head, "> [!WARNING]");
        let _ = writeln!(
            head,
            "> **{} deactivation(s).** Deactivated attributes and values cannot be assigned any more; \
             they are never deleted and can be reactivated.",
            deactivations.len()
        );
        for change in &deactivations {
            let _ = writeln!(head, "> - {} {}", kind_words(change.kind()), code(&change.address.to_string()));
        }
        head.push('\n');
    }

    let mut tail = String::new();
    let findings = |tail: &mut String, heading: String, list: &[Drift], open: bool, explained: &Explained| {
        let open = if open { " open" } else { "" };
        let _ = writeln!(tail, "<details{open}><summary>{}</summary>\n", html_text(&heading));
        for drift in list {
            let _ = writeln!(
                tail,
                "- {} {}: {}",
                kind_words(drift.address.kind()),
                code(&drift.address.to_string()),
                cell(&drift.message)
            );
            if let Some(finding) = explained.finding(&drift.address) {
                explanation_items(tail, finding);
            }
        }
        let _ = writeln!(tail, "\n</details>\n");
    };
    if !plan.drift.is_empty() {
        // A drift check exists to show its findings: they are open there.
        findings(&mut tail, drift_heading(plan), &plan.drift, plan.mode == Mode::Drift, explained);
    }
    if !plan.acknowledged.is_empty() {
        findings(&mut tail, acknowledged_heading(plan), &plan.acknowledged, false, &Explained::default());
    }
    tail.push_str(&super::coverage::markdown(plan, &code, &cell));
    if !plan.notes.is_empty() {
        let _ = writeln!(tail, "<details><summary>Notes ({})</summary>\n", plan.notes.len());
        for note in &plan.notes {
            let _ = match &note.address {
                Some(address) => writeln!(tail, "- {}: {}", code(&address.to_string()), cell(&note.message)),
                None => writeln!(tail, "- {}", cell(&note.message)),
            };
        }
        let _ = writeln!(tail, "\n</details>\n");
    }

    let mut body = String::new();
    if plan.changes.is_empty() {
        if plan.conflicts.is_empty() {
            let _ = writeln!(body, "{}\n", no_changes_line(plan));
        }
    } else {
        let collapsed = plan.changes.len() > OPEN_TABLE_ROWS;
        let assignments = plan.changes.iter().filter(|change| change.kind() == Kind::Assignment).count();
        if collapsed {
            let _ = writeln!(
                body,
                "<details><summary>Changes ({}, of which {assignments} on assignments), in apply order</summary>\n",
                plan.changes.len()
            );
        } else {
            let _ = writeln!(body, "### Changes ({}), in apply order\n", plan.changes.len());
        }
        let _ = writeln!(body, "| # | action | kind | address | before | after |");
        let _ = writeln!(body, "|---:|---|---|---|---|---|");
        let closing = if collapsed { "\n</details>\n\n" } else { "\n" };
        // What the rows may use: the budget less everything else and a cut note.
        let room = budget.saturating_sub(head.len() + body.len() + tail.len() + closing.len() + 300);
        let mut rows = String::new();
        let mut shown = 0;
        for change in &plan.changes {
            let row = change_row(change, plan.sources.get(&change.address).map(String::as_str));
            if rows.len() + row.len() > room {
                break;
            }
            rows.push_str(&row);
            shown += 1;
        }
        body.push_str(&rows);
        if shown < plan.changes.len() {
            let _ = writeln!(
                body,
                "\n:scissors: {} more change(s) not shown, to keep this comment under {} characters. \
                 The whole plan: `entra-csa plan --format text`, or the JSON plan (`--format json`).",
                plan.changes.len() - shown,
                budget
            );
        }
        body.push_str(closing);
    }

    head + &body + &tail
}

/// A drift finding's explanation from the audit log, as sub-items: who
/// (escaped: names come from the tenant), when, the activity, the values.
fn explanation_items(out: &mut String, finding: ExplainedFinding<'_>) {
    match finding {
        ExplainedFinding::NothingSince(since) => {
            let _ = writeln!(out, "  - no change to it in the audit log since {}", code(since));
        }
        ExplainedFinding::Found(found) => {
            for entry in &found.entries {
                let who = match &entry.actor {
                    Actor::User { user_principal_name: Some(upn), .. } => format!("user {}", code(upn)),
                    Actor::App { display_name, app_id, .. } => {
                        let name = display_name.as_deref().map(cell).unwrap_or_else(|| "an app".to_owned());
                        match app_id {
                            Some(app_id) => format!("app {name} (appId {})", code(app_id)),
                            None => format!("app {name}"),
                        }
                    }
                    other => cell(&other.words()),
                };
                let changes: Vec<String> = entry
                    .changes
                    .iter()
                    .map(|change| {
                        let side =
                            |value: &Option<String>| value.as_deref().map_or_else(|| "—".to_owned(), code);
                        format!(
                            "{}: {} → {}",
                            code(&change.name),
                            side(&change.old_value),
                            side(&change.new_value)
                        )
                    })
                    .collect();
                let _ = writeln!(
                    out,
                    "  - **{}** by {who} ({}){}",
                    cell(&entry.at),
                    cell(&entry.activity),
                    if changes.is_empty() {
                        ": the entry does not name the attribute's values".to_owned()
                    } else {
                        format!(": {}", changes.join("; "))
                    }
                );
            }
            if found.older > 0 {
                let _ = writeln!(out, "  - and {} earlier change(s) in the audit log", found.older);
            }
        }
    }
}

/// Up to this many impact lines are shown; the JSON plan has them all.
const IMPACT_LINES: usize = 50;

/// The impact on Conditional Access, first: a reviewer sees which apps a
/// merge moves into or out of which policy before anything else.
fn impact(head: &mut String, plan: &Plan) {
    if plan.impact.is_empty() {
        return;
    }
    let _ = writeln!(head, "> [!IMPORTANT]\n> **{}**", cell(&impact_heading(plan)));
    for line in plan.impact.iter().take(IMPACT_LINES) {
        let what = format!("{} ({})", code(&line.reader.name), line.reader.state.describe());
        let via = line.via().map(|via| format!(" (through its {})", code(via))).unwrap_or_default();
        let who = format!("{} **{}**", line.noun, plain(&line.name()));
        let [enters, leaves, unchanged] = line.movement();
        let _ = match &line.effect {
            Effect::Enters => writeln!(head, "> - {who} {enters} {what}{via}"),
            Effect::Leaves => writeln!(head, "> - {who} {leaves} {what}{via}"),
            Effect::Unchanged => writeln!(head, "> - {who} {unchanged} {what}{via}"),
            Effect::Unknown(reason) => {
                writeln!(
                    head,
                    "> - :grey_question: impact unknown: {who} against {what}{via}: {}",
                    cell(reason)
                )
            }
        };
    }
    if plan.impact.len() > IMPACT_LINES {
        let _ = writeln!(
            head,
            "> - … and {} more: `plan --format json` lists them all under `impact`",
            plan.impact.len() - IMPACT_LINES
        );
    }
    head.push('\n');
}

/// One table row: number, action, kind, address, before, after.
fn change_row(change: &Change, source: Option<&str>) -> String {
    let (before, after) = change_words(change.before.as_ref(), change.after.as_ref());
    let after = match (&change.before, &change.after, after) {
        (Some(old), Some(new), Some(after)) if description_changed(old, new) => {
            Some(with_description_diff(&after, old, new))
        }
        (_, _, after) => after.map(|text| plain(&text)),
    };
    let dash = || "—".to_owned();
    format!(
        "| {} | `{} {}` | {} | {} | {} | {} |\n",
        change.seq,
        change.action.symbol(),
        change.action,
        kind_words(change.kind()),
        match source {
            Some(source) => format!("{} from {}", code(&change.address.to_string()), code(source)),
            None => code(&change.address.to_string()),
        },
        before.map_or_else(dash, |text| plain(&text)),
        after.unwrap_or_else(dash)
    )
}

fn descriptions<'a>(old: &'a Snapshot, new: &'a Snapshot) -> Option<(&'a str, &'a str)> {
    match (old, new) {
        (
            Snapshot::AttributeSet { description: Some(old), .. },
            Snapshot::AttributeSet { description: Some(new), .. },
        ) => Some((old, new)),
        (Snapshot::Definition(old), Snapshot::Definition(new)) => {
            Some((old.description.as_deref()?, new.description.as_deref()?))
        }
        _ => None,
    }
}

fn description_changed(old: &Snapshot, new: &Snapshot) -> bool {
    descriptions(old, new).is_some_and(|(old, new)| old != new)
}

/// The "after" words, escaped, with the description shown as a word diff:
/// `description: Active ~~projects~~ **project codes** for the user`. Only
/// the diff's own markers are Markdown; every word of it is escaped.
fn with_description_diff(after: &str, old: &Snapshot, new: &Snapshot) -> String {
    let Some((old_text, new_text)) = descriptions(old, new) else { return plain(after) };
    let quoted = format!("description: {new_text:?}");
    let Some((before_diff, after_diff)) = after.split_once(&quoted) else { return plain(after) };
    let mut diff = String::from("description: ");
    for (tag, run) in word_runs(old_text, new_text) {
        let (lead, core, trail) = split_spaces(&run);
        let (lead, core, trail) = (plain(lead), plain(core), plain(trail));
        match tag {
            ChangeTag::Equal => diff.push_str(&format!("{lead}{core}{trail}")),
            ChangeTag::Delete => diff.push_str(&format!("{lead}~~{core}~~{trail}")),
            ChangeTag::Insert => {
                let gap = if diff.ends_with("~~") && lead.is_empty() { " " } else { "" };
                diff.push_str(&format!("{gap}{lead}**{core}**{trail}"))
            }
        }
    }
    format!("{}{diff}{}", plain(before_diff), plain(after_diff))
}

/// Leading spaces, the text, trailing spaces: emphasis markers must touch the text.
fn split_spaces(run: &str) -> (&str, &str, &str) {
    let core = run.trim();
    if core.is_empty() {
        return (run, "", "");
    }
    let start = run.find(core).unwrap_or(0);
    (&run[..start], core, &run[start + core.len()..])
}

/// Breaks what GitHub would turn into a mention or a reference (`@team`,
/// `#12`, `GH-12`) with a zero-width space, leaving e-mail addresses
/// (`alice@contoso.com`) as they are. `previous` is the character before
/// `at`, `next` the one after it.
fn neutralise(out: &mut String, character: char, previous: Option<char>, rest: &str) {
    out.push(character);
    let next = rest.chars().next();
    let mention = character == '@'
        && !previous.is_some_and(|c| c.is_alphanumeric())
        && next.is_some_and(|c| c.is_alphanumeric() || c == '-' || c == '_');
    let reference = character == '#' && next.is_some_and(|c| c.is_ascii_digit());
    let gh = matches!(character, 'H' | 'h')
        && matches!(previous, Some('G' | 'g'))
        && rest.starts_with('-')
        && rest[1..].starts_with(|c: char| c.is_ascii_digit());
    if mention || reference || gh {
        out.push_str(ZERO_WIDTH_SPACE);
    }
}

/// What breaks a mention or a reference without showing.
const ZERO_WIDTH_SPACE: &str = "&#8203;";

/// Text from the files or the tenant, safe anywhere inline (a table cell,
/// emphasis, a list item): every character Markdown or HTML would read is
/// escaped, line breaks become spaces.
fn plain(text: &str) -> String {
    escaped(text, false)
}

/// Text inside an HTML block (`<summary>`), where Markdown is not read:
/// only HTML is escaped, and mentions and references neutralised.
fn html_text(text: &str) -> String {
    escaped(text, true)
}

/// The escaping of [`plain`] and [`html_text`]: HTML always, Markdown's
/// characters only where Markdown is read, attribute quotes only inside HTML.
fn escaped(text: &str, inside_html: bool) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut previous = None;
    for (at, character) in text.char_indices() {
        let rest = &text[at + character.len_utf8()..];
        match character {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if inside_html => out.push_str("&quot;"),
            '\\' | '`' | '*' | '_' | '~' | '[' | ']' | '|' | '!' if !inside_html => {
                out.push('\\');
                out.push(character);
            }
            '\n' | '\r' => out.push(' '),
            _ => neutralise(&mut out, character, previous, rest),
        }
        previous = Some(character);
    }
    out
}

/// A message of the tool's (which quotes names from the files or the
/// tenant), safe inside a table cell: its complete code spans stay code
/// spans, as CommonMark pairs them (a run of backticks closes at the next
/// run of the same length), where GitHub reads neither HTML nor mentions;
/// everything else is [`plain`] text.
fn cell(text: &str) -> String {
    let text = text.replace(['\n', '\r'], " ");
    let mut out = String::with_capacity(text.len() + 8);
    let mut at = 0;
    let mut plain_from = 0;
    while let Some(offset) = text[at..].find('`') {
        let start = at + offset;
        let run = backtick_run(&text[start..]);
        let content_from = start + run;
        let closing = find_run(&text[content_from..], run).map(|offset| content_from + offset);
        match closing {
            Some(end) => {
                out.push_str(&plain(&text[plain_from..start]));
                out.push_str(&text[start..content_from]);
                out.push_str(&text[content_from..end].replace('|', "\\|"));
                out.push_str(&text[end..end + run]);
                at = end + run;
                plain_from = at;
            }
            // An opening run with no closing one is plain backticks.
            None => at = content_from,
        }
    }
    out.push_str(&plain(&text[plain_from..]));
    out
}

/// How many backticks `text` starts with.
fn backtick_run(text: &str) -> usize {
    text.bytes().take_while(|&byte| byte == b'`').count()
}

/// Where the next run of exactly `length` backticks starts in `text`.
fn find_run(text: &str, length: usize) -> Option<usize> {
    let mut at = 0;
    while let Some(offset) = text[at..].find('`') {
        let start = at + offset;
        let run = backtick_run(&text[start..]);
        if run == length {
            return Some(start);
        }
        at = start + run;
    }
    None
}

/// Inline code, safe inside a table cell: the fence is longer than any run
/// of backticks in the text, so the text cannot close it.
fn code(text: &str) -> String {
    let text = text.replace(['\n', '\r'], " ").replace('|', "\\|");
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if longest > 0 || text.starts_with(' ') || text.ends_with(' ') { " " } else { "" };
    format!("{fence}{pad}{text}{pad}{fence}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::live::PrincipalId;
    use crate::model::{AttributeValue, PrincipalKey, PrincipalKind};
    use crate::plan::{Address, Fingerprint, Target};

    fn plan(changes: Vec<Change>) -> Plan {
        Plan {
            target: Target::StateFile { path: "live.json".into() },
            fingerprint: Fingerprint { desired: "sha256:a".into(), live: "sha256:b".into() },
            changes,
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

    fn assignment(seq: usize, user: usize) -> Change {
        Change {
            seq,
            action: Action::Assign,
            address: Address::Assignment {
                principal: PrincipalKey::User(format!("user{user:06}@contoso.com")),
                set: "Engineering".into(),
                attribute: "Project".into(),
            },
            before: None,
            after: Some(Snapshot::Assignment {
                principal: PrincipalId { kind: PrincipalKind::User, object_id: format!("{user}") },
                value: AttributeValue::strings(vec!["Alpine".into(), "Baker".into()]),
            }),
        }
    }

    #[test]
    fn a_huge_plan_stays_under_the_comment_limit_and_says_what_was_cut() {
        let changes: Vec<Change> = (1..=5_000).map(|n| assignment(n, n)).collect();
        let text = render_to_string(&plan(changes), MAX_COMMENT_CHARS);
        assert!(text.len() <= MAX_COMMENT_CHARS, "{} characters", text.len());
        assert!(text.contains("more change(s) not shown"), "{}", &text[text.len() - 500..]);
        assert!(text.contains("<details><summary>Changes (5000, of which 5000 on assignments)"));
        assert!(text.starts_with("## entra-csa plan\n\n**Plan: 0 to create, 0 to update, 0 to deactivate, 0 to reactivate, 5000 to assign"));
    }

    #[test]
    fn a_small_plan_is_shown_whole_and_open() {
        let text = render_to_string(&plan(vec![assignment(1, 1), assignment(2, 2)]), MAX_COMMENT_CHARS);
        assert!(text.contains("### Changes (2), in apply order"));
        assert!(!text.contains("not shown"));
        assert!(!text.contains("<details>"));
    }

    #[test]
    fn deactivations_are_called_out_before_the_changes() {
        let deactivate = Change {
            seq: 2,
            action: Action::Deactivate,
            address: Address::AllowedValue {
                set: "Engineering".into(),
                attribute: "Project".into(),
                value: "Legacy".into(),
            },
            before: Some(Snapshot::AllowedValue { is_active: true }),
            after: Some(Snapshot::AllowedValue { is_active: false }),
        };
        let text = render_to_string(&plan(vec![assignment(1, 1), deactivate]), MAX_COMMENT_CHARS);
        let warning = text.find("> [!WARNING]").expect("a warning");
        assert!(warning < text.find("### Changes").unwrap());
        assert!(text.contains("> - allowed value `Engineering.Project=Legacy`"), "{text}");
    }

    #[test]
    fn description_edits_are_word_diffs() {
        let set = |description: &str| Snapshot::AttributeSet {
            description: Some(description.into()),
            max_attributes_per_set: None,
        };
        let change = Change {
            seq: 1,
            action: Action::Update,
            address: Address::AttributeSet { set: "Engineering".into() },
            before: Some(set("Active projects for the user")),
            after: Some(set("Active project codes for the user")),
        };
        let row = change_row(&change, None);
        assert!(row.contains("description: Active ~~projects~~ **project codes** for the user"), "{row}");
    }

    fn description_change(old: &str, new: &str) -> Change {
        let set = |description: &str| Snapshot::AttributeSet {
            description: Some(description.into()),
            max_attributes_per_set: None,
        };
        Change {
            seq: 1,
            action: Action::Update,
            address: Address::AttributeSet { set: "Engineering".into() },
            before: Some(set(old)),
            after: Some(set(new)),
        }
    }

    #[test]
    fn html_and_mentions_in_a_description_come_out_escaped() {
        let hostile = "<img src=x onerror=alert(1)> ping @contoso/admins and @octocat about #12 and GH-34 | [click](https://evil.example) **now**";
        let created = Change {
            seq: 1,
            action: Action::Create,
            address: Address::AttributeSet { set: "Engineering".into() },
            before: None,
            after: Some(Snapshot::AttributeSet {
                description: Some(hostile.into()),
                max_attributes_per_set: None,
            }),
        };
        for row in [change_row(&created, None), change_row(&description_change("Cost centre", hostile), None)]
        {
            assert!(!row.contains("<img"), "{row}");
            assert!(row.contains("&lt;img src=x onerror=alert(1)&gt;"), "{row}");
            assert!(row.contains("@&#8203;contoso/admins") && row.contains("@&#8203;octocat"), "{row}");
            assert!(row.contains("#&#8203;12") && row.contains("GH&#8203;-34"), "{row}");
            assert!(row.contains("\\[click\\](https://evil.example)"), "{row}");
            assert!(!row.contains("**now**") && row.contains("\\*\\*now\\*\\*"), "{row}");
            // Six cells: the `|` of the text does not make a seventh.
            assert_eq!(row.matches(" | ").count(), 5, "{row}");
        }
    }

    #[test]
    fn e_mail_addresses_and_the_tools_own_code_spans_are_kept() {
        assert_eq!(plain("alice@contoso.com"), "alice@contoso.com");
        assert_eq!(
            cell("write `Engineering` as the tenant has it"),
            "write `Engineering` as the tenant has it"
        );
        assert_eq!(cell("`a|b` and <b>"), "`a\\|b` and &lt;b&gt;");
        // A lone backtick opens nothing: what follows it is still escaped.
        assert_eq!(cell("`<img src=x>"), "\\`&lt;img src=x&gt;");
        // A run of two closes only at the next run of two.
        assert_eq!(cell("``a`b`` @x"), "``a`b`` @&#8203;x");
        assert_eq!(html_text("Drift (2) <b>@team</b>"), "Drift (2) &lt;b&gt;@&#8203;team&lt;/b&gt;");
    }

    #[test]
    fn an_explanation_from_the_audit_log_cannot_ping_link_or_inject_html() {
        use crate::plan::explain::{Actor, Explained, Explanation, FindingExplanation, PropertyChange};
        let address = Address::Assignment {
            principal: PrincipalKey::User("alice@contoso.com".into()),
            set: "Engineering".into(),
            attribute: "Project".into(),
        };
        let mut drifted = plan(Vec::new());
        drifted.drift.push(Drift { address: address.clone(), message: "tenant: x; files: y".into() });
        drifted.mode = crate::plan::Mode::Drift;
        let hostile = "@security-team <img src=x> [link](http://evil) #12";
        let mut explained = Explained { since: Some("2026-12-01T00:00:00Z".into()), ..Explained::default() };
        explained.by_address.insert(
            address,
            FindingExplanation {
                entries: vec![Explanation {
                    at: "2026-12-02T00:00:00Z".into(),
                    actor: Actor::App {
                        display_name: Some(hostile.into()),
                        app_id: Some("1111".into()),
                        service_principal_id: None,
                    },
                    activity: hostile.into(),
                    changes: vec![PropertyChange {
                        name: "Engineering.Project".into(),
                        old_value: Some("[\"`a|b`\"]".into()),
                        new_value: None,
                    }],
                }],
                older: 2,
            },
        );
        let markdown = render_explained_to_string(&drifted, &explained, MAX_COMMENT_CHARS);
        let line = markdown.lines().find(|line| line.starts_with("  - **")).expect("the explanation line");
        assert!(!line.contains("<img"), "{line}");
        assert!(!line.contains("[link]("), "{line}");
        assert!(!line.contains(" @security-team"), "{line}");
        assert!(line.contains("(appId `1111`)"), "{line}");
        assert!(markdown.contains("  - and 2 earlier change(s) in the audit log"), "{markdown}");
        // Without explanations the Markdown is what it always was.
        assert_eq!(
            render_explained_to_string(&drifted, &Explained::default(), MAX_COMMENT_CHARS),
            render_to_string(&drifted, MAX_COMMENT_CHARS)
        );
    }

    #[test]
    fn code_spans_hold_any_backticks() {
        assert_eq!(code("Engineering"), "`Engineering`");
        assert_eq!(code("a`b"), "`` a`b ``");
        assert_eq!(code("a``b"), "``` a``b ```");
        assert_eq!(code("a|b"), "`a\\|b`");
    }

    proptest::proptest! {
        /// Whatever a description holds, its row has six cells, no HTML
        /// tag, no live mention and no line break.
        #[test]
        fn any_description_stays_inside_its_cell(
            old in "[ -~]{0,40}",
            new in "[ -~\n]{0,40}",
        ) {
            let row = change_row(&description_change(&old, &new), None);
            let unescaped_pipes = row.match_indices('|').filter(|(at, _)| !row[..*at].ends_with('\\')).count();
            proptest::prop_assert_eq!(unescaped_pipes, 7, "{}", row);
            proptest::prop_assert!(!row.contains('<'), "{}", row);
            proptest::prop_assert_eq!(row.lines().count(), 1);
            for (at, _) in row.match_indices('@') {
                let previous = row[..at].chars().next_back();
                let next = &row[at + 1..];
                proptest::prop_assert!(
                    previous.is_some_and(|c| c.is_alphanumeric())
                        || next.starts_with("&#8203;")
                        || !next.starts_with(|c: char| c.is_alphanumeric() || c == '-' || c == '_'),
                    "{}", row
                );
            }
        }
    }
}
