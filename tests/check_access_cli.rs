//! `entra-csa check-access` end to end with a token from
//! `ENTRA_CSA_ACCESS_TOKEN`: what it reports, its exit code, and that the
//! token itself never appears.

use std::path::Path;

use crate::launch::entra_csa;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

fn jwt(payload: &str) -> String {
    format!("eyJhbGciOiJub25lIn0.{}.c2VudGluZWwtc2lnbmF0dXJl", URL_SAFE_NO_PAD.encode(payload))
}

fn check_access(token: &str, files: &[&str]) -> (i32, String, String) {
    let mut command = entra_csa();
    command.current_dir(Path::new(env!("CARGO_MANIFEST_DIR"))).arg("-vv").arg("check-access");
    for file in files {
        command.args(["-f", file]);
    }
    let output = command
        .args(["--graph-url", "http://127.0.0.1:9", "--auth", "token"])
        .env("ENTRA_CSA_ACCESS_TOKEN", token)
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_token_with_every_grant_passes_and_is_never_printed() {
    let token = jwt(
        r#"{"tid":"11111111-2222-3333-4444-555555555555","appid":"app-sentinel","roles":["CustomSecAttributeDefinition.ReadWrite.All","CustomSecAttributeAssignment.ReadWrite.All"]}"#,
    );
    let (code, stdout, stderr) = check_access(&token, &["examples/contoso.yaml"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("Tenant:     11111111-2222-3333-4444-555555555555"), "{stdout}");
    assert!(stdout.contains("Nothing that plan or apply needs is missing."), "{stdout}");
    assert!(
        stdout.contains("absent  Policy.Read.All — without it the plan cannot say which Conditional Access"),
        "optional, so reported but not counted: {stdout}"
    );
    assert!(
        stdout.contains(
            "absent  CustomSecAttributeAuditLogs.Read.All — without it `plan --explain` cannot say who"
        ),
        "optional too: {stdout}"
    );
    for part in token.split('.') {
        assert!(!stdout.contains(part) && !stderr.contains(part), "a part of the token was printed");
    }
}

#[test]
fn a_missing_grant_exits_1_and_names_it() {
    let token = jwt(r#"{"tid":"t","appid":"a","roles":["CustomSecAttributeDefinition.Read.All"]}"#);
    let (code, stdout, _) = check_access(&token, &["examples/contoso.yaml"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("MISSING assign and unassign values — needs Graph permission CustomSecAttributeAssignment.ReadWrite.All"), "{stdout}");
    assert!(stdout.contains("needed grant(s) missing"), "{stdout}");
}

#[test]
fn files_without_assignments_need_only_definition_grants() {
    let token = jwt(r#"{"tid":"t","appid":"a","roles":["CustomSecAttributeDefinition.ReadWrite.All"]}"#);
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("sets.yaml");
    std::fs::write(&file, "version: 1\nattributeSets:\n  Eng: {}\n").unwrap();
    let (code, stdout, _) = check_access(&token, &[file.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}");
}

#[test]
fn an_opaque_token_cannot_be_judged() {
    let (code, stdout, stderr) = check_access("opaque-sentinel-token-value", &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("The token cannot be read"), "{stdout}");
    assert!(
        !stdout.contains("opaque-sentinel-token-value") && !stderr.contains("opaque-sentinel-token-value")
    );
}

#[test]
fn the_read_permissions_paired_with_assignments_are_reported_not_counted() {
    let without = jwt(
        r#"{"tid":"t","appid":"a","roles":["CustomSecAttributeDefinition.ReadWrite.All","CustomSecAttributeAssignment.ReadWrite.All"]}"#,
    );
    let (code, stdout, stderr) = check_access(&without, &["examples/contoso.yaml"]);
    assert_eq!(code, 0, "documented for delegated sign-in only, so not counted: {stdout}{stderr}");
    assert!(stdout.contains("Microsoft's examples pair the assignment permissions with"), "{stdout}");
    assert!(stdout.contains("absent  User.Read.All (reads users)"), "{stdout}");
    assert!(stdout.contains("absent  Application.Read.All (reads service principals)"), "{stdout}");

    let with = jwt(
        r#"{"tid":"t","appid":"a","roles":["CustomSecAttributeDefinition.ReadWrite.All","CustomSecAttributeAssignment.ReadWrite.All","User.Read.All","Application.Read.All"]}"#,
    );
    let (code, stdout, _) = check_access(&with, &["examples/contoso.yaml"]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("ok      User.Read.All (reads users)"), "{stdout}");
    assert!(stdout.contains("ok      Application.Read.All (reads service principals)"), "{stdout}");
}

#[test]
fn the_policy_read_is_reported_as_optional_when_held() {
    let token = jwt(
        r#"{"tid":"t","appid":"a","roles":["CustomSecAttributeDefinition.ReadWrite.All","CustomSecAttributeAssignment.ReadWrite.All","Policy.Read.All"]}"#,
    );
    let (code, stdout, _) = check_access(&token, &["examples/contoso.yaml"]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("Optional (not counted above):"), "{stdout}");
    assert!(stdout.contains("ok      Policy.Read.All"), "{stdout}");
}

#[test]
fn the_audit_log_read_is_optional_and_reported_when_held() {
    let token = jwt(
        r#"{"tid":"t","appid":"a","roles":["CustomSecAttributeDefinition.ReadWrite.All","CustomSecAttributeAssignment.ReadWrite.All","CustomSecAttributeAuditLogs.Read.All"]}"#,
    );
    let (code, stdout, _) = check_access(&token, &["examples/contoso.yaml"]);
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.contains(
            "ok      CustomSecAttributeAuditLogs.Read.All (reads the custom security attribute audit log"
        ),
        "{stdout}"
    );
    let without = jwt(
        r#"{"tid":"t","appid":"a","roles":["CustomSecAttributeDefinition.ReadWrite.All","CustomSecAttributeAssignment.ReadWrite.All"]}"#,
    );
    let (code, stdout, _) = check_access(&without, &["examples/contoso.yaml"]);
    assert_eq!(code, 0, "its absence is not counted: {stdout}");
    assert!(stdout.contains("absent  CustomSecAttributeAuditLogs.Read.All"), "{stdout}");
}

#[test]
fn files_that_assign_by_group_need_to_read_group_members() {
    let grants =
        r#""CustomSecAttributeDefinition.ReadWrite.All","CustomSecAttributeAssignment.ReadWrite.All""#;
    let without = jwt(&format!(r#"{{"tid":"t","appid":"a","roles":[{grants}]}}"#));
    let (code, stdout, _) = check_access(&without, &["examples/groups/groups.yaml"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains(
            "MISSING reads groups' transitive members — needs Graph permission GroupMember.Read.All"
        ),
        "{stdout}"
    );
    // Group-only files still need the assignment grants.
    assert!(stdout.contains("ok      assign and unassign values"), "{stdout}");
    let with = jwt(&format!(r#"{{"tid":"t","appid":"a","roles":[{grants},"GroupMember.Read.All"]}}"#));
    let (code, stdout, _) = check_access(&with, &["examples/groups/groups.yaml"]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("ok      reads groups' transitive members"), "{stdout}");
}

fn check_access_for(token: &str, files: &[&str], job: &str) -> (i32, String, String) {
    let mut command = entra_csa();
    command.current_dir(Path::new(env!("CARGO_MANIFEST_DIR"))).args(["check-access", "--for", job]);
    for file in files {
        command.args(["-f", file]);
    }
    let output = command
        .args(["--graph-url", "http://127.0.0.1:9", "--auth", "token"])
        .env("ENTRA_CSA_ACCESS_TOKEN", token)
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The read-only identity a pull-request job plans with passes `--for plan`
/// and `--for drift`, and still fails the default (`apply`).
#[test]
fn a_read_only_identity_passes_for_plan_and_drift_but_not_for_apply() {
    let read_only = jwt(
        r#"{"tid":"t","appid":"a","roles":["CustomSecAttributeDefinition.Read.All","CustomSecAttributeAssignment.Read.All"]}"#,
    );
    for job in ["plan", "drift"] {
        let (code, stdout, stderr) = check_access_for(&read_only, &["examples/contoso.yaml"], job);
        assert_eq!(code, 0, "--for {job}: {stdout}{stderr}");
        assert!(stdout.contains("needs is missing."), "{stdout}");
        assert!(
            stdout.contains(&format!(
                "apply would need 2 more grant(s) (listed above); not counted with --for {job}"
            )),
            "{stdout}"
        );
    }
    let (code, stdout, _) = check_access_for(&read_only, &["examples/contoso.yaml"], "apply");
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("2 needed grant(s) missing."), "{stdout}");
    let (code, stdout, _) = check_access(&read_only, &["examples/contoso.yaml"]);
    assert_eq!(code, 1, "the default is unchanged: {stdout}");

    // A token that cannot read the assigned values fails --for plan, naming the grant.
    let definitions_only =
        jwt(r#"{"tid":"t","appid":"a","roles":["CustomSecAttributeDefinition.Read.All"]}"#);
    let (code, stdout, _) = check_access_for(&definitions_only, &["examples/contoso.yaml"], "plan");
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("MISSING read assigned values"), "{stdout}");
    assert!(stdout.contains("1 needed grant(s) missing for plan."), "{stdout}");

    // Files that assign by group also need the group members read for plan.
    let (code, stdout, _) = check_access_for(&read_only, &["examples/groups/groups.yaml"], "plan");
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("MISSING reads groups' transitive members"), "{stdout}");
}

#[test]
fn files_with_requirements_need_to_read_the_values_they_judge() {
    let token = jwt(r#"{"tid":"t","appid":"a","roles":["CustomSecAttributeDefinition.ReadWrite.All"]}"#);
    // The example without its assignments: only the rule reads values.
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/agents/requirements.yaml"),
    )
    .unwrap();
    let (head, rules) = text.split_once("assignments:").unwrap();
    let rules = &rules[rules.find("requirements:").unwrap()..];
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("rules.yaml");
    std::fs::write(&file, format!("{head}{rules}")).unwrap();
    let (code, stdout, _) = check_access_for(&token, &[file.to_str().unwrap()], "plan");
    assert_eq!(code, 1, "the assignments the rules judge must be readable: {stdout}");
    assert!(stdout.contains("CustomSecAttributeAssignment"), "{stdout}");
}
