//! The guide to setting up a real tenant (`docs/src/how-to/set-up-a-tenant.md`)
//! names only Graph permissions the tool's own permission table knows
//! (`graph::access::known_permissions`), grants every one a plan and an
//! apply need, creates the `entra` environment protected (required
//! reviewers, `main` only) through `gh api`, says what a plan exposes, and
//! its `entra-csa` commands parse with the tool's own argument parser.

use std::path::Path;

use clap::Parser;
use entra_csa::cli::arguments::Arguments;
use entra_csa::graph::access::{ASSIGNMENT_COMPANIONS, Capability, known_permissions};

/// The guide, whole.
fn setup_section() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/src/how-to/set-up-a-tenant.md");
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// Words that look like Graph permissions: `Resource.Access.Scope` with a capital first letter.
fn permission_words(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '.'))
        .map(|word| word.trim_matches('.'))
        .filter(|word| {
            let parts: Vec<&str> = word.split('.').collect();
            parts.len() >= 3
                && parts.iter().all(|part| part.chars().next().is_some_and(|c| c.is_ascii_uppercase()))
                && (word.ends_with(".All") || word.contains(".Read") || word.contains(".ReadWrite"))
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_setup_names_only_permissions_the_tool_knows_and_every_one_apply_needs() {
    let section = setup_section();
    let named = permission_words(&section);
    assert!(!named.is_empty(), "no permission found in the set-up section");
    let known = known_permissions();
    for permission in &named {
        assert!(
            known.contains(&permission.as_str()),
            "the guide names {permission}, which the tool does not know"
        );
    }
    // Every permissions loop: the reader's and the writer's grants.
    let granted: String = section
        .lines()
        .filter(|line| line.trim_start().starts_with("for PERMISSION in"))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(!granted.is_empty(), "no permissions loop");
    for capability in [Capability::WriteDefinitions, Capability::WriteAssignments] {
        assert!(
            capability.permissions().iter().any(|permission| granted.contains(permission)),
            "the set-up grants nothing for {capability:?}: {granted}"
        );
    }
    for (permission, _) in ASSIGNMENT_COMPANIONS {
        assert!(granted.contains(permission), "the pairing {permission} is not granted: {granted}");
    }
}

#[test]
fn the_permission_check_catches_a_made_up_permission() {
    assert_eq!(
        permission_words("grant CustomSecAttributeDefinition.ReadWrite.All now"),
        ["CustomSecAttributeDefinition.ReadWrite.All"]
    );
    let made_up = permission_words("Directory.ReadWrite.All");
    assert!(!known_permissions().contains(&made_up[0].as_str()));
}

#[test]
fn the_setup_commands_of_entra_csa_parse() {
    let section = setup_section();
    let commands: Vec<Vec<&str>> = section
        .lines()
        .map(|line| line.split('#').next().unwrap_or_default().trim())
        .filter(|line| line.starts_with("entra-csa "))
        .map(|line| line.split_whitespace().collect())
        .collect();
    assert!(commands.len() >= 2, "{commands:?}");
    for argv in commands {
        Arguments::try_parse_from(&argv).unwrap_or_else(|error| panic!("{argv:?}: {error}"));
    }
    for step in [
        "az ad app create",
        "az ad sp create",
        "az ad app permission add",
        "az ad app permission admin-consent",
        "az ad app federated-credential create",
    ] {
        assert!(section.contains(step), "{step} missing");
    }
    for subject in ["pull_request", "environment:entra", "ref:refs/heads/main"] {
        assert!(section.contains(subject), "no federated credential for {subject}");
    }
}

/// The environment the writer trusts exists protected before anything can
/// name it: required reviewers, no self-review, and `main` as its only
/// deployment branch, all through `gh api`.
#[test]
fn the_setup_protects_the_entra_environment() {
    let guide = setup_section();
    let environment = guide
        .find("gh api --method PUT \"repos/$REPO/environments/entra\"")
        .expect("the environment is made");
    let json = &guide[environment..guide[environment..].find("\nJSON").map(|end| environment + end).unwrap()];
    for needed in [
        "\"reviewers\"",
        "\"prevent_self_review\": true",
        "\"custom_branch_policies\": true",
        "\"protected_branches\": false",
    ] {
        assert!(json.contains(needed), "{needed} missing from the environment's settings:\n{json}");
    }
    let policy = "gh api --method POST \"repos/$REPO/environments/entra/deployment-branch-policies\"";
    let at = guide.find(policy).expect("a deployment branch policy");
    assert!(guide[at..].lines().take(2).collect::<String>().contains("-f name=main -f type=branch"));
    // The writer's credential is made before, its client id only after, the protection.
    assert!(guide.find("AZURE_APPLY_CLIENT_ID").unwrap() > at);
    // What a plan exposes, said plainly.
    for needed in ["public repository", "comment", "job summary", "artifact", "issue"] {
        assert!(guide.contains(needed), "the guide does not speak of {needed}");
    }
}
