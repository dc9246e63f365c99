//! What the benchmarks share: writing their sections of BENCHMARKS.md in
//! place, and the machine's load to set beside figures.

// Each benchmark uses a part of it.
#![allow(dead_code)]

/// Where the section starting with `heading` lies in `report`: up to the
/// next `## ` heading, or the end.
fn section_span(report: &str, heading: &str) -> Option<(usize, usize)> {
    let start = report.find(heading)?;
    let rest = &report[start + heading.len()..];
    Some((start, rest.find("\n## ").map_or(report.len(), |end| start + heading.len() + end + 1)))
}

/// `report` with the section starting with `heading` replaced by `section`
/// (inserted before the history when it has none).
pub fn splice_section(report: &str, heading: &str, section: &str) -> String {
    let (before, after) = match section_span(report, heading) {
        Some((start, end)) => (&report[..start], &report[end..]),
        None => {
            let at = report.find("## Changes made for these figures").unwrap_or(report.len());
            (&report[..at], &report[at..])
        }
    };
    format!("{before}{section}\n{after}")
}

/// The headings of the sections that runs of their own write (`--million`,
/// `--groups`, `cargo bench --bench sweep` and `--bench impact`): a whole run
/// of the scale benchmark keeps them.
pub const MILLION_HEADING: &str = "## Local plan at a million principals";
/// `cargo bench --bench sweep -- --config NAME`, one section each.
pub const SWEEP_HEADINGS: [&str; 3] = [
    "## Partitioned sweep: 40,000 users with skewed names",
    "## Partitioned sweep: 200,000 principals",
    "## Partitioned sweep: a million principals",
];
/// `cargo bench --bench impact` prints its section, pasted in by hand.
pub const IMPACT_HEADING: &str = "## Impact on Conditional Access";

/// The section of `report` starting with `heading`, up to the next one.
pub fn section_of<'a>(report: &'a str, heading: &str) -> Option<&'a str> {
    section_span(report, heading).map(|(start, end)| report[start..end].trim_end())
}

/// Replaces the section starting with `heading` of the file `out` (most
/// often BENCHMARKS.md) by `section`, and says so.
pub fn write_section(out: &std::path::Path, heading: &str, section: &str) {
    let existing = std::fs::read_to_string(out).unwrap_or_default();
    std::fs::write(out, splice_section(&existing, heading, section)).expect("BENCHMARKS.md is writable");
    eprintln!("wrote {}", out.display());
}

/// The machine's load averages (`/proc/loadavg`), to set beside figures
/// taken on a shared machine.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|text| text.split_whitespace().take(3).collect::<Vec<_>>().join(", "))
        .unwrap_or_else(|| "unknown".into())
}
