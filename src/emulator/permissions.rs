//! Exists so that a token's grants matter on the emulator as they do on
//! Graph (C-PERM, E-ROLES): a readable JWT is judged by its claims, `roles`
//! for an app, `scp` plus the directory roles in `wids` for a signed-in
//! user. What it lacks is refused with Graph's documented 403
//! `Authorization_RequestDenied` (E-TS), except reading assignments: without
//! that grant a principal still reads, with `customSecurityAttributes: null`
//! (R-USER), exactly as "nothing assigned" reads.
//!
//! Reading the Conditional Access and app management policies needs
//! `Policy.Read.All`, refused with the same 403 otherwise. Reading groups
//! and their (transitive) members needs `GroupMember.Read.All` or a higher
//! one (`Group.Read.All`, `Directory.Read.All`, their ReadWrite forms;
//! list-groups and group-list-transitivemembers), likewise.
//!
//! Reading lifecycle workflows needs `LifecycleWorkflows.Read.All` or
//! `LifecycleWorkflows.ReadWrite.All` ("List workflows",
//! <https://learn.microsoft.com/graph/api/identitygovernance-lifecycleworkflowscontainer-list-workflows>).
//!
//! Emulator's choices: a token that is not a readable JWT holds every grant
//! (so `ENTRA_CSA_ACCESS_TOKEN=anything` works); directory roles count only
//! at tenant scope (`wids`), as role assignments scoped to an attribute set
//! are not modelled; reading the user or service principal object itself
//! needs no grant of its own (User.Read.All and Application.Read.All are
//! not checked).
//!
//! The table of what grants what is written here from C-PERM and E-ROLES, not
//! taken from the client's `access::Capability`, so that the client's checks
//! meet an independent reading of the documentation; only the decoding of
//! claims and the role template ids are shared.

use crate::graph::access::{self, Claims, DirectoryRole};

/// The template ids of Attribute Log Reader and Attribute Log Administrator
/// (<https://learn.microsoft.com/entra/identity/role-based-access-control/permissions-reference>),
/// written here rather than taken from the client's table.
const ATTRIBUTE_LOG_ROLES: [&str; 2] =
    ["9c99539d-8186-4804-835f-fd51ef9e2dcd", "5b784334-f94b-471a-a387-e7219fc49ca2"];

/// What a request needs besides a valid token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Nothing,
    ReadDefinitions,
    WriteDefinitions,
    ReadAssignments,
    WriteAssignments,
    /// Conditional Access and app management policies: `Policy.Read.All`.
    ReadPolicies,
    /// Groups and their members: `GroupMember.Read.All` or higher.
    ReadGroups,
    /// Lifecycle workflows: `LifecycleWorkflows.Read.All` or its ReadWrite form.
    ReadLifecycleWorkflows,
    /// The custom security attribute audit log: `CustomSecAttributeAuditLogs.Read.All`.
    ReadAuditLogs,
}

/// What the caller's token allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grants {
    read_definitions: bool,
    write_definitions: bool,
    read_assignments: bool,
    write_assignments: bool,
    read_policies: bool,
    read_groups: bool,
    read_lifecycle_workflows: bool,
    read_audit_logs: bool,
}

impl Grants {
    pub const ALL: Grants = Grants {
        read_definitions: true,
        write_definitions: true,
        read_assignments: true,
        write_assignments: true,
        read_policies: true,
        read_groups: true,
        read_lifecycle_workflows: true,
        read_audit_logs: true,
    };

    /// The grants of a bearer token: from its claims when it is a readable
    /// JWT, all of them otherwise.
    pub fn of_token(token: &str) -> Grants {
        match Claims::from_jwt(token) {
            Ok(claims) => Grants::of_claims(&claims),
            Err(_) => Grants::ALL,
        }
    }

    fn of_claims(claims: &Claims) -> Grants {
        // C-PERM and E-ROLES, one row per grant: (permissions, roles a signed-in user needs).
        use DirectoryRole::*;
        let grant = |permissions: &[&str], roles: &[DirectoryRole]| {
            let permission = claims
                .permissions()
                .iter()
                .any(|held| permissions.iter().any(|wanted| held.eq_ignore_ascii_case(wanted)));
            let role = !claims.is_delegated()
                || claims
                    .wids
                    .iter()
                    .any(|held| roles.iter().any(|role| held.eq_ignore_ascii_case(role.template_id())));
            permission && role
        };
        Grants {
            read_definitions: grant(
                &["CustomSecAttributeDefinition.Read.All", "CustomSecAttributeDefinition.ReadWrite.All"],
                &[
                    AttributeDefinitionReader,
                    AttributeDefinitionAdministrator,
                    AttributeAssignmentReader,
                    AttributeAssignmentAdministrator,
                ],
            ),
            write_definitions: grant(
                &["CustomSecAttributeDefinition.ReadWrite.All"],
                &[AttributeDefinitionAdministrator],
            ),
            read_assignments: grant(
                &["CustomSecAttributeAssignment.Read.All", "CustomSecAttributeAssignment.ReadWrite.All"],
                &[AttributeAssignmentReader, AttributeAssignmentAdministrator],
            ),
            write_assignments: grant(
                &["CustomSecAttributeAssignment.ReadWrite.All"],
                &[AttributeAssignmentAdministrator],
            ),
            // Policy.Read.All is the documented grant of the three policy
            // reads (C-PERM). Emulator's choice: the directory
            // roles a signed-in user also needs for them (Security Reader,
            // Global Reader, ...) are not modelled, so the scope suffices.
            read_policies: access::reads_policies(claims),
            // Emulator's choice: a signed-in user needs only the scope (a
            // member may read groups by the directory's default user
            // permissions), as for the policies.
            read_groups: access::reads_group_members(claims),
            // "List workflows" and "Get workflow": LifecycleWorkflows.Read.All
            // or LifecycleWorkflows.ReadWrite.All, for an app and a signed-in
            // user alike. Emulator's choice: the Lifecycle Workflows roles a
            // signed-in user also needs are not modelled.
            read_lifecycle_workflows: claims.permissions().iter().any(|held| {
                held.eq_ignore_ascii_case("LifecycleWorkflows.Read.All")
                    || held.eq_ignore_ascii_case("LifecycleWorkflows.ReadWrite.All")
            }),
            // "List customSecurityAttributeAudits": CustomSecAttributeAuditLogs.Read.All,
            // for an app and a signed-in user alike; the user also needs the
            // Attribute Log Reader or Attribute Log Administrator role (their
            // template ids: Microsoft Entra built-in roles reference).
            read_audit_logs: claims
                .permissions()
                .iter()
                .any(|held| held.eq_ignore_ascii_case("CustomSecAttributeAuditLogs.Read.All"))
                && (!claims.is_delegated()
                    || claims
                        .wids
                        .iter()
                        .any(|held| ATTRIBUTE_LOG_ROLES.iter().any(|role| held.eq_ignore_ascii_case(role)))),
        }
    }

    pub fn allow(self, need: Need) -> bool {
        match need {
            Need::Nothing => true,
            Need::ReadDefinitions => self.read_definitions,
            Need::WriteDefinitions => self.write_definitions,
            Need::ReadAssignments => self.read_assignments,
            Need::WriteAssignments => self.write_assignments,
            Need::ReadPolicies => self.read_policies,
            Need::ReadGroups => self.read_groups,
            Need::ReadLifecycleWorkflows => self.read_lifecycle_workflows,
            Need::ReadAuditLogs => self.read_audit_logs,
        }
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    fn token(claims: serde_json::Value) -> String {
        format!("eyJhbGciOiJub25lIn0.{}.c2ln", URL_SAFE_NO_PAD.encode(claims.to_string()))
    }

    fn allowed(grants: Grants) -> [bool; 4] {
        [Need::ReadDefinitions, Need::WriteDefinitions, Need::ReadAssignments, Need::WriteAssignments]
            .map(|need| grants.allow(need))
    }

    #[test]
    fn groups_are_read_with_group_member_read_all_or_higher() {
        for permission in ["GroupMember.Read.All", "group.read.all", "Directory.Read.All"] {
            let app = token(serde_json::json!({ "roles": [permission] }));
            assert!(Grants::of_token(&app).allow(Need::ReadGroups), "{permission}");
        }
        let without = token(serde_json::json!({ "roles": ["CustomSecAttributeAssignment.ReadWrite.All"] }));
        assert!(!Grants::of_token(&without).allow(Need::ReadGroups));
    }

    #[test]
    fn an_opaque_token_holds_every_grant() {
        assert_eq!(Grants::of_token("any"), Grants::ALL);
        assert_eq!(Grants::of_token("a.!!.c"), Grants::ALL);
    }

    #[test]
    fn an_app_token_is_judged_by_its_roles_and_write_implies_read() {
        let app = token(serde_json::json!({
            "roles": ["CustomSecAttributeDefinition.ReadWrite.All", "customsecattributeassignment.read.all"]
        }));
        assert_eq!(allowed(Grants::of_token(&app)), [true, true, true, false]);
        let writer = token(serde_json::json!({ "roles": ["CustomSecAttributeAssignment.ReadWrite.All"] }));
        assert_eq!(allowed(Grants::of_token(&writer)), [false, false, true, true]);
        let bare = token(serde_json::json!({ "appid": "a" }));
        assert_eq!(allowed(Grants::of_token(&bare)), [false; 4]);
    }

    #[test]
    fn a_user_token_needs_the_scope_and_a_tenant_wide_role() {
        let scopes =
            "User.Read CustomSecAttributeDefinition.ReadWrite.All CustomSecAttributeAssignment.ReadWrite.All";
        let no_role = token(serde_json::json!({ "scp": scopes }));
        assert_eq!(allowed(Grants::of_token(&no_role)), [false; 4]);
        let assignment_admin = token(serde_json::json!({
            "scp": scopes,
            "wids": [DirectoryRole::AttributeAssignmentAdministrator.template_id()]
        }));
        assert_eq!(allowed(Grants::of_token(&assignment_admin)), [true, false, true, true]);
        let definition_reader = token(serde_json::json!({
            "scp": scopes,
            "wids": [DirectoryRole::AttributeDefinitionReader.template_id()]
        }));
        assert_eq!(allowed(Grants::of_token(&definition_reader)), [true, false, false, false]);
    }
}
