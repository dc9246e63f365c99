//! Pages of the book that other branches write. Until they are merged, the
//! book links to them and the checks that read them let them be absent;
//! once merged, empty this list so an absent page fails again.

pub const PAGES_FROM_OTHER_BRANCHES: [&str; 10] = [
    "docs/src/how-to/policies.md",
    "docs/src/how-to/what-reads-my-attributes.md",
    "docs/src/explanation/talking-to-graph.md",
    "docs/src/reference/edge-cases.md",
    "docs/src/how-to/github-actions.md",
    "docs/src/how-to/azure-devops.md",
    "docs/src/how-to/set-up-a-tenant.md",
    "docs/src/how-to/install.md",
    "docs/src/troubleshooting.md",
    "docs/src/reference/show-and-check-access.md",
];
