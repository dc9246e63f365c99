//! What the benchmarks share: writing their section of BENCHMARKS.md in
//! place, and reading a process's peak memory.

/// `report` with the section starting with `heading` replaced by `section`
/// (inserted before the history when it has none).
pub fn splice_section(report: &str, heading: &str, section: &str) -> String {
    let start = report.find(heading);
    let (before, after) = match start {
        Some(start) => {
            let rest = &report[start + heading.len()..];
            let end = rest.find("\n## ").map_or(report.len(), |end| start + heading.len() + end + 1);
            (&report[..start], &report[end..])
        }
        None => {
            let at = report.find("## Changes made for these figures").unwrap_or(report.len());
            (&report[..at], &report[at..])
        }
    };
    format!("{before}{section}\n{after}")
}

/// The machine's load averages (`/proc/loadavg`), to set beside figures
/// taken on a shared machine.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|text| text.split_whitespace().take(3).collect::<Vec<_>>().join(", "))
        .unwrap_or_else(|| "unknown".into())
}
