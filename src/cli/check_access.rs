//! `entra-csa check-access`: signs in as `plan` and `apply` would, decodes the
//! token (without verifying it, and never printing it) and reports the tenant,
//! the identity, its Graph permissions and directory roles, against what
//! `plan` and `apply` of the given files need. Exit 0 when nothing the job
//! named by `--for` (default `apply`) needs is visibly missing, 1 otherwise:
//! `--for plan` passes a read-only identity, as a pull-request job uses.

use crate::cli::arguments::{AccessPurpose, CheckAccessArgs};
use crate::cli::exit_status::ExitStatus;
use crate::cli::output::{self, tell};
use crate::cli::plan::runtime;
use crate::cli::target::with_sign_in_advice;
use crate::desired::load::load_files;
use crate::graph::access::{self, Capability, Check, Claims, DirectoryRole};
use crate::graph::{auth, endpoint};
use std::io::Write;

/// Runs `check-access`.
pub fn run(args: CheckAccessArgs) -> anyhow::Result<ExitStatus> {
    if args.target.state.is_some() {
        anyhow::bail!("check-access judges a Microsoft Graph sign-in; a state file needs no access");
    }
    // What the files need: without files, everything the tool can do.
    let (reads_assignments, writes_assignments, by_group) = if args.files.is_empty() {
        (true, true, false)
    } else {
        let desired = load_files(&args.files).map_err(|diagnostics| {
            tell!("{diagnostics}");
            anyhow::anyhow!("the desired-state files are not valid")
        })?;
        // Requirements read the values of their populations and the
        // members of the groups they name, and write nothing.
        let requirement_groups = desired
            .requirements
            .iter()
            .any(|rule| matches!(rule.principals, crate::model::requirement::Population::Group(_)));
        let by_group = !desired.group_assignments.is_empty() || requirement_groups;
        let assigns = !desired.assignments.is_empty()
            || !desired.group_assignments.is_empty()
            || desired.policy.undeclared_assignments.needs_sweep();
        (assigns || !desired.requirements.is_empty(), assigns, by_group)
    };

    let target = &args.target;
    let endpoint =
        endpoint::resolve(target.cloud(), target.graph_url().as_deref(), target.allow_custom_graph_host)?;
    let env = |name: &str| std::env::var(name).ok();
    let sign_in =
        auth::choose(target.auth.into(), target.tenant_id.as_deref(), target.client_id.as_deref(), &env)?;
    let tokens = auth::token_source(&sign_in, endpoint.cloud, &endpoint.scope, &env)?;
    let tokens = with_sign_in_advice(tokens, target, &sign_in, &endpoint);
    let token = runtime()?.block_on(tokens.token())?;

    // The verdict is the status: a reader that goes away never changes it.
    let mut stdout = output::stdout();
    writeln!(stdout, "Graph:      {}", endpoint.display_root())?;
    writeln!(stdout, "Signed in:  {}", sign_in.describe())?;
    let claims = match Claims::from_jwt(token.expose()) {
        Ok(claims) => claims,
        Err(error) => {
            writeln!(
                stdout,
                "The token cannot be read ({error}), so its permissions cannot be judged here."
            )?;
            writeln!(stdout, "Graph will still accept or refuse it; `plan` tells on its first read.")?;
            return Ok(ExitStatus::Success);
        }
    };
    write!(stdout, "{}", report(&claims, reads_assignments, writes_assignments))?;
    let missing_among = |needed: Vec<Capability>| {
        access::check(&claims, &needed).iter().filter(|check| !check.granted()).count()
    };
    write!(stdout, "{}", azure_section(target.azure_role_assignments()))?;
    // Group members are read by plan and apply alike.
    let mut missing_for_groups = 0;
    if by_group {
        write!(stdout, "{}", group_section(&claims))?;
        missing_for_groups = usize::from(!access::reads_group_members(&claims));
    }
    let for_plan = missing_among(access::needed_for_plan(reads_assignments)) + missing_for_groups;
    let for_apply = missing_among(access::needed_for_apply(reads_assignments, true, writes_assignments))
        + missing_for_groups;
    let (job, missing, of_job) = match args.purpose {
        AccessPurpose::Apply => ("plan or apply", for_apply, ""),
        AccessPurpose::Plan => ("plan", for_plan, " for plan"),
        AccessPurpose::Drift => ("a drift check (plan --drift)", for_plan, " for a drift check"),
    };
    if missing > 0 {
        writeln!(stdout, "\n{missing} needed grant(s) missing{of_job}.")?;
        return Ok(ExitStatus::Failed);
    }
    writeln!(stdout, "\nNothing that {job} needs is missing.")?;
    if args.purpose != AccessPurpose::Apply && for_apply > 0 {
        writeln!(
            stdout,
            "apply would need {} more grant(s) (listed above); not counted with --for {}.",
            for_apply - for_plan,
            if args.purpose == AccessPurpose::Plan { "plan" } else { "drift" }
        )?;
    }
    Ok(ExitStatus::Success)
}

/// The claims in words, then the checks for plan and for apply. Pure.
pub fn report(claims: &Claims, reads_assignments: bool, writes_assignments: bool) -> String {
    let unknown = || "(not in the token)".to_owned();
    let mut text = String::new();
    text.push_str(&format!("Tenant:     {}\n", claims.tid.clone().unwrap_or_else(unknown)));
    let identity = match (&claims.upn, &claims.appid) {
        (Some(upn), _) => format!("user {upn}"),
        (None, Some(app)) => match &claims.app_displayname {
            Some(name) => format!("application {name} ({app})"),
            None => format!("application {app}"),
        },
        (None, None) => unknown(),
    };
    text.push_str(&format!("Identity:   {identity}\n"));
    if let Some(object) = &claims.oid {
        text.push_str(&format!("Object id:  {object}\n"));
    }
    let kind =
        if claims.is_delegated() { "delegated scopes (scp)" } else { "application permissions (roles)" };
    let permissions = claims.permissions();
    text.push_str(&format!(
        "Permissions, {kind}: {}\n",
        if permissions.is_empty() { "none".to_owned() } else { permissions.join(", ") }
    ));
    if claims.is_delegated() {
        let roles: Vec<&str> = [
            DirectoryRole::AttributeDefinitionReader,
            DirectoryRole::AttributeDefinitionAdministrator,
            DirectoryRole::AttributeAssignmentReader,
            DirectoryRole::AttributeAssignmentAdministrator,
        ]
        .into_iter()
        .filter(|role| claims.wids.iter().any(|held| held.eq_ignore_ascii_case(role.template_id())))
        .map(DirectoryRole::name)
        .collect();
        text.push_str(&format!(
            "Attribute roles: {}\n",
            if roles.is_empty() { "none".to_owned() } else { roles.join(", ") }
        ));
    }
    let section = |title: &str, checks: Vec<Check>| {
        let mut text = format!("\n{title}\n");
        for check in checks {
            text.push_str(&format!("  {check}\n"));
        }
        text
    };
    text.push_str(&section(
        "plan needs:",
        access::check(claims, &access::needed_for_plan(reads_assignments)),
    ));
    let mut apply = access::needed_for_apply(reads_assignments, true, writes_assignments);
    apply.retain(|capability| {
        matches!(capability, Capability::WriteDefinitions | Capability::WriteAssignments)
    });
    text.push_str(&section("apply also needs:", access::check(claims, &apply)));
    if reads_assignments {
        text.push_str(&companion_section(claims));
    }
    text.push_str(&optional_section(claims));
    text
}

/// `Policy.Read.All`, `LifecycleWorkflows.Read.All` and
/// `CustomSecAttributeAuditLogs.Read.All`: optional, never counted as
/// missing; what a plan loses without each.
fn optional_section(claims: &access::Claims) -> String {
    let mut text = String::from("\nOptional (not counted above):\n");
    let permission = access::POLICY_READ;
    if access::reads_policies(claims) {
        text.push_str(&format!(
            "  ok      {permission} (reads the Conditional Access and app management policies that name \
             attributes, for references and impact)\n"
        ));
        if claims.is_delegated() {
            text.push_str(
                "          a signed-in user also needs a directory role that may read these policies \
                 (Security Reader or Global Reader, for example)\n",
            );
        }
    } else {
        text.push_str(&format!(
            "  absent  {permission} — without it {}; each plan says that references and impact were not checked\n",
            access::POLICY_READ_LOSS
        ));
    }
    let least = crate::graph::workflows::LIFECYCLE_WORKFLOWS_READ[0];
    if access::reads_lifecycle_workflows(claims) {
        text.push_str(&format!(
            "  ok      {least} (reads the lifecycle workflows whose scope, trigger or tasks name attributes)\n"
        ));
    } else {
        text.push_str(&format!(
            "  absent  {least} — without it {}; each plan says that workflows were not checked\n",
            crate::graph::workflows::LIFECYCLE_WORKFLOWS_READ_LOSS
        ));
    }
    text.push_str(&audit_log_line(claims));
    text
}

/// `CustomSecAttributeAuditLogs.Read.All`, which `plan --explain` reads the
/// audit log with: optional, never counted as missing.
fn audit_log_line(claims: &access::Claims) -> String {
    let permission = crate::graph::audit::AUDIT_LOG_READ;
    let roles: Vec<&str> = access::ATTRIBUTE_LOG_ROLES.iter().map(|(name, _)| *name).collect();
    if !access::reads_audit_log(claims) {
        return format!(
            "  absent  {permission} — without it {}; each plan --explain says why its findings are unexplained\n",
            crate::graph::audit::AUDIT_LOG_READ_LOSS
        );
    }
    let mut line = format!(
        "  ok      {permission} (reads the custom security attribute audit log, Graph beta, for plan --explain: \
         who changed each drift finding, when, and its old and new values)\n"
    );
    if claims.is_delegated() && !access::holds_attribute_log_role(claims) {
        line.push_str(&format!(
            "          a signed-in user also needs the Entra role {}, which the token does not show\n",
            roles.join(" or ")
        ));
    }
    line
}

/// Azure role assignments with conditions (`--azure-role-assignments`):
/// their permission is an Azure role, not in the Graph token, so it is
/// named rather than judged.
pub fn azure_section(opted_in: bool) -> String {
    let permission = crate::azure::ROLE_ASSIGNMENT_READ;
    let loss = "a plan cannot say which Azure role assignment conditions (Azure ABAC) read an attribute or value \
                it deactivates, nor whose storage access a value change moves";
    if opted_in {
        format!(
            "\nAzure role assignments (--azure-role-assignments; not counted above):\n  \
             needs   {permission} at the management groups and subscriptions to check (the Reader role grants \
             it), through a second token for Azure Resource Manager from the same sign-in. Azure Resource Graph \
             lists only the scopes where it is held and is silent about the others: where it is missing, {loss}.\n"
        )
    } else {
        format!(
            "\nAzure role assignments: not read (opt in with --azure-role-assignments, which needs {permission} \
             at the scopes to check); without them {loss}.\n"
        )
    }
}

/// The read of groups' transitive members, which files that assign by
/// group need (counted as missing when absent).
pub fn group_section(claims: &access::Claims) -> String {
    let least = access::GROUP_MEMBER_READ[0];
    if access::reads_group_members(claims) {
        format!(
            "\nThe files assign by group:\n  ok      reads groups' transitive members ({least} or higher)\n"
        )
    } else {
        format!(
            "\nThe files assign by group:\n  MISSING reads groups' transitive members — needs Graph permission \
             {least} (or {})\n",
            access::GROUP_MEMBER_READ[1..].join(", ")
        )
    }
}

/// `User.Read.All` / `Application.Read.All`, which Microsoft's examples pair
/// with the assignment permissions: reported, not counted as missing.
fn companion_section(claims: &access::Claims) -> String {
    let mut text = String::from(
        "\nMicrosoft's examples pair the assignment permissions with (documented for delegated sign-in; \
         not counted above):\n",
    );
    for (permission, reaches, held) in access::companions(claims) {
        if held {
            text.push_str(&format!("  ok      {permission} (reads {reaches})\n"));
        } else if claims.is_delegated() {
            text.push_str(&format!(
                "  absent  {permission} (reads {reaches}) — Microsoft documents it as needed with a \
                 signed-in user: consent to it\n"
            ));
        } else {
            text.push_str(&format!(
                "  absent  {permission} (reads {reaches}) — grant it if Graph refuses to read or write the \
                 values of {reaches}\n"
            ));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_app_token_is_reported_with_what_it_lacks() {
        let claims = Claims {
            tid: Some("tenant-1".into()),
            appid: Some("app-1".into()),
            app_displayname: Some("pipeline".into()),
            roles: vec!["CustomSecAttributeDefinition.ReadWrite.All".into()],
            ..Claims::default()
        };
        let text = report(&claims, true, true);
        assert!(text.contains("Tenant:     tenant-1"), "{text}");
        assert!(text.contains("Identity:   application pipeline (app-1)"), "{text}");
        assert!(text.contains("ok      read attribute sets, definitions and values"), "{text}");
        assert!(text.contains("MISSING read assigned values"), "{text}");
        assert!(text.contains("MISSING assign and unassign values"), "{text}");
        assert!(text.contains("Microsoft's examples pair the assignment permissions with"), "{text}");
        assert!(text.contains("absent  User.Read.All (reads users)"), "{text}");
        assert!(text.contains("absent  Application.Read.All (reads service principals)"), "{text}");
    }

    #[test]
    fn the_paired_read_permissions_are_reported_when_held() {
        let claims = Claims {
            roles: vec![
                "CustomSecAttributeDefinition.ReadWrite.All".into(),
                "CustomSecAttributeAssignment.ReadWrite.All".into(),
                "User.Read.All".into(),
                "Application.Read.All".into(),
            ],
            ..Claims::default()
        };
        let text = report(&claims, true, true);
        assert!(text.contains("ok      User.Read.All (reads users)"), "{text}");
        assert!(text.contains("ok      Application.Read.All (reads service principals)"), "{text}");
        assert!(!text.contains("MISSING"), "{text}");
        assert!(text.contains("absent  Policy.Read.All — without it the plan cannot say"), "{text}");
    }

    #[test]
    fn the_policy_read_is_optional_and_says_what_is_lost() {
        let claims = Claims { roles: vec!["Policy.Read.All".into()], ..Claims::default() };
        let text = report(&claims, false, false);
        assert!(text.contains("Optional (not counted above):"), "{text}");
        assert!(text.contains("ok      Policy.Read.All (reads the Conditional Access"), "{text}");
        let without = report(&Claims::default(), false, false);
        assert!(without.contains("absent  Policy.Read.All — without it"), "{without}");
        assert!(
            without.contains("absent  LifecycleWorkflows.Read.All — without it the plan cannot say"),
            "{without}"
        );
        let workflows = Claims { roles: vec!["LifecycleWorkflows.Read.All".into()], ..Claims::default() };
        assert!(report(&workflows, true, true).contains("ok      LifecycleWorkflows.Read.All"));
        assert!(without.contains("references and impact were not checked"), "{without}");
    }

    #[test]
    fn the_audit_log_read_is_optional_and_says_what_is_lost() {
        let without = report(&Claims::default(), true, true);
        assert!(
            without.contains(
                "absent  CustomSecAttributeAuditLogs.Read.All — without it `plan --explain` cannot say who"
            ),
            "{without}"
        );
        let app = Claims { roles: vec!["CustomSecAttributeAuditLogs.Read.All".into()], ..Claims::default() };
        let text = report(&app, false, false);
        assert!(
            text.contains(
                "ok      CustomSecAttributeAuditLogs.Read.All (reads the custom security attribute audit log"
            ),
            "{text}"
        );
        assert!(!text.contains("Attribute Log Reader"), "an app needs no role: {text}");
        let user = Claims { scp: Some("CustomSecAttributeAuditLogs.Read.All".into()), ..Claims::default() };
        let text = report(&user, false, false);
        assert!(
            text.contains("needs the Entra role Attribute Log Reader or Attribute Log Administrator"),
            "{text}"
        );
        let with_role = Claims { wids: vec![access::ATTRIBUTE_LOG_ROLES[0].1.into()], ..user };
        assert!(
            !report(&with_role, false, false).contains("Attribute Log Reader or"),
            "the role is shown held"
        );
    }

    #[test]
    fn files_that_assign_by_group_need_to_read_members() {
        let without = group_section(&Claims::default());
        assert!(without.contains("MISSING reads groups' transitive members"), "{without}");
        assert!(without.contains("GroupMember.Read.All"), "{without}");
        let claims = Claims { roles: vec!["Directory.Read.All".into()], ..Claims::default() };
        assert!(group_section(&claims).contains("ok      reads groups' transitive members"));
    }

    #[test]
    fn files_without_assignments_need_no_assignment_grants() {
        let claims =
            Claims { roles: vec!["CustomSecAttributeDefinition.ReadWrite.All".into()], ..Claims::default() };
        let text = report(&claims, false, false);
        assert!(!text.contains("MISSING"), "{text}");
    }
}
