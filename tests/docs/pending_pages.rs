//! Pages of the book that other branches write. Until they are merged, the
//! book links to them and the checks that read them let them be absent;
//! once merged, empty this list so an absent page fails again.

pub const PAGES_FROM_OTHER_BRANCHES: [&str; 4] = [
    "docs/src/how-to/policies.md",
    "docs/src/how-to/what-reads-my-attributes.md",
    "docs/src/explanation/talking-to-graph.md",
    "docs/src/reference/edge-cases.md",
];
