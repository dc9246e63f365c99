//! What a token lets the tool do. Decodes the claims of an access token
//! (without verifying it: Graph does that) and compares the Graph permissions
//! and directory roles they carry with what a plan or an apply of the given
//! files needs, so a pipeline learns of a missing grant before it fails
//! half-way. The token itself is never kept, printed or logged.
//!
//! Pure: the caller obtains the token.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

/// The claims of an access token that matter here.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Claims {
    /// Tenant id.
    #[serde(default)]
    pub tid: Option<String>,
    /// Application (client) id of the caller.
    #[serde(default)]
    pub appid: Option<String>,
    #[serde(default)]
    pub app_displayname: Option<String>,
    /// Signed-in user, in delegated tokens.
    #[serde(default)]
    pub upn: Option<String>,
    /// Object id of the caller (user or service principal).
    #[serde(default)]
    pub oid: Option<String>,
    /// Application permissions (app-only tokens).
    #[serde(default)]
    pub roles: Vec<String>,
    /// Delegated scopes, space-separated.
    #[serde(default)]
    pub scp: Option<String>,
    /// Directory role template ids of the signed-in user.
    #[serde(default)]
    pub wids: Vec<String>,
}

/// Why the claims could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimsError {
    #[error("the access token is not a JWT (expected three dot-separated parts)")]
    NotAJwt,
    #[error("the access token's payload is not base64url: {0}")]
    Encoding(String),
    #[error("the access token's payload is not the expected JSON: {0}")]
    Json(String),
}

impl Claims {
    /// Reads the payload of a JWT. The signature is not checked.
    pub fn from_jwt(token: &str) -> Result<Self, ClaimsError> {
        let mut parts = token.split('.');
        let (Some(_header), Some(payload), Some(_signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(ClaimsError::NotAJwt);
        };
        let bytes = URL_SAFE_NO_PAD
            .decode(payload.trim_end_matches('='))
            .map_err(|error| ClaimsError::Encoding(error.to_string()))?;
        serde_json::from_slice(&bytes).map_err(|error| ClaimsError::Json(error.to_string()))
    }

    /// Whether the token is for a signed-in user (delegated) rather than an app.
    pub fn is_delegated(&self) -> bool {
        self.scp.is_some()
    }

    /// The Graph permissions the token carries: app roles or delegated scopes.
    pub fn permissions(&self) -> Vec<&str> {
        match &self.scp {
            Some(scopes) => scopes.split_whitespace().collect(),
            None => self.roles.iter().map(String::as_str).collect(),
        }
    }

    fn has_permission(&self, any_of: &[&str]) -> bool {
        self.permissions().iter().any(|held| any_of.iter().any(|wanted| held.eq_ignore_ascii_case(wanted)))
    }

    fn has_role(&self, any_of: &[DirectoryRole]) -> bool {
        self.wids.iter().any(|held| any_of.iter().any(|role| held.eq_ignore_ascii_case(role.template_id())))
    }
}

/// The built-in Entra roles for custom security attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectoryRole {
    AttributeDefinitionReader,
    AttributeDefinitionAdministrator,
    AttributeAssignmentReader,
    AttributeAssignmentAdministrator,
}

impl DirectoryRole {
    pub const ALL: [DirectoryRole; 4] = [
        DirectoryRole::AttributeDefinitionReader,
        DirectoryRole::AttributeDefinitionAdministrator,
        DirectoryRole::AttributeAssignmentReader,
        DirectoryRole::AttributeAssignmentAdministrator,
    ];

    /// The role's template id, which tokens carry in `wids`.
    pub fn template_id(self) -> &'static str {
        match self {
            DirectoryRole::AttributeDefinitionReader => "1d336d2c-4ae8-42ef-9711-b3604ce3fc2c",
            DirectoryRole::AttributeDefinitionAdministrator => "8424c6f0-a189-499e-bbd0-26c1753c96d4",
            DirectoryRole::AttributeAssignmentReader => "ffd52fa5-98dc-465c-991d-fc073eb59f8f",
            DirectoryRole::AttributeAssignmentAdministrator => "58a13ea3-c632-46ae-9ee0-9c0d43cd7f3d",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            DirectoryRole::AttributeDefinitionReader => "Attribute Definition Reader",
            DirectoryRole::AttributeDefinitionAdministrator => "Attribute Definition Administrator",
            DirectoryRole::AttributeAssignmentReader => "Attribute Assignment Reader",
            DirectoryRole::AttributeAssignmentAdministrator => "Attribute Assignment Administrator",
        }
    }
}

/// One thing the tool will do, and what it needs for it (C-PERM, E-ROLES;
/// see ARCHITECTURE.md, "Where Microsoft says it").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capability {
    ReadDefinitions,
    WriteDefinitions,
    ReadAssignments,
    WriteAssignments,
}

impl Capability {
    pub fn describe(self) -> &'static str {
        match self {
            Capability::ReadDefinitions => "read attribute sets, definitions and values",
            Capability::WriteDefinitions => "create and update attribute sets, definitions and values",
            Capability::ReadAssignments => "read assigned values of users and service principals",
            Capability::WriteAssignments => "assign and unassign values",
        }
    }

    /// Graph permissions that grant it, least privileged first.
    pub fn permissions(self) -> &'static [&'static str] {
        match self {
            Capability::ReadDefinitions => {
                &["CustomSecAttributeDefinition.Read.All", "CustomSecAttributeDefinition.ReadWrite.All"]
            }
            Capability::WriteDefinitions => &["CustomSecAttributeDefinition.ReadWrite.All"],
            Capability::ReadAssignments => {
                &["CustomSecAttributeAssignment.Read.All", "CustomSecAttributeAssignment.ReadWrite.All"]
            }
            Capability::WriteAssignments => &["CustomSecAttributeAssignment.ReadWrite.All"],
        }
    }

    /// Entra roles a signed-in user also needs for it (delegated tokens).
    pub fn roles(self) -> &'static [DirectoryRole] {
        use DirectoryRole::*;
        match self {
            Capability::ReadDefinitions => &[
                AttributeDefinitionReader,
                AttributeDefinitionAdministrator,
                AttributeAssignmentReader,
                AttributeAssignmentAdministrator,
            ],
            Capability::WriteDefinitions => &[AttributeDefinitionAdministrator],
            Capability::ReadAssignments => &[AttributeAssignmentReader, AttributeAssignmentAdministrator],
            Capability::WriteAssignments => &[AttributeAssignmentAdministrator],
        }
    }
}

/// The read permissions Microsoft's examples pair with the assignment
/// permissions (C-EX): `User.Read.All` to reach users and
/// `Application.Read.All` to reach service principals. The docs state the
/// pairing for delegated sign-in and say nothing of app-only tokens, so
/// check-access reports them beside the checks without counting them.
pub const ASSIGNMENT_COMPANIONS: [(&str, &str); 2] =
    [("User.Read.All", "users"), ("Application.Read.All", "service principals")];

/// The optional permission that reads the policies naming custom security
/// attributes (Conditional Access application filters, app management
/// exemptions; https://learn.microsoft.com/graph/api/conditionalaccessroot-list-policies). Without it a plan still runs, but says
/// that it did not check which policies name what it deactivates.
pub const POLICY_READ: &str = "Policy.Read.All";

/// What a plan loses without `POLICY_READ`.
pub const POLICY_READ_LOSS: &str = "the plan cannot say which Conditional Access and app management \
     policies name an attribute or value it deactivates, so it cannot stop a deactivation an enabled \
     policy relies on, nor which apps an assignment change moves into or out of a Conditional Access \
     policy's scope";

/// The permissions that read groups' transitive members, least privileged
/// first (group-list-transitivemembers: `GroupMember.Read.All`, or a higher
/// one). Files that assign by group (`assignments.groups`) need one.
pub const GROUP_MEMBER_READ: [&str; 6] = [
    "GroupMember.Read.All",
    "GroupMember.ReadWrite.All",
    "Group.Read.All",
    "Group.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];

/// Whether the token may read groups' transitive members.
pub fn reads_group_members(claims: &Claims) -> bool {
    claims.has_permission(&GROUP_MEMBER_READ)
}

/// Whether the token carries `LifecycleWorkflows.Read.All` (or its ReadWrite form).
pub fn reads_lifecycle_workflows(claims: &Claims) -> bool {
    claims.has_permission(&crate::graph::workflows::LIFECYCLE_WORKFLOWS_READ)
}

/// The Entra roles that read the custom security attribute audit log, with
/// their template ids (Microsoft Entra built-in roles,
/// <https://learn.microsoft.com/entra/identity/role-based-access-control/permissions-reference>):
/// a signed-in user needs one besides the permission.
pub const ATTRIBUTE_LOG_ROLES: [(&str, &str); 2] = [
    ("Attribute Log Reader", "9c99539d-8186-4804-835f-fd51ef9e2dcd"),
    ("Attribute Log Administrator", "5b784334-f94b-471a-a387-e7219fc49ca2"),
];

/// Whether the token carries `CustomSecAttributeAuditLogs.Read.All`.
pub fn reads_audit_log(claims: &Claims) -> bool {
    claims.has_permission(&[crate::graph::audit::AUDIT_LOG_READ])
}

/// Whether a signed-in user's token shows an Attribute Log role (tenant-wide).
pub fn holds_attribute_log_role(claims: &Claims) -> bool {
    claims.wids.iter().any(|held| ATTRIBUTE_LOG_ROLES.iter().any(|(_, id)| held.eq_ignore_ascii_case(id)))
}

/// Whether the token carries `POLICY_READ`.
pub fn reads_policies(claims: &Claims) -> bool {
    claims.has_permission(&[POLICY_READ])
}

/// Every Graph permission the tool knows of: those that grant a capability,
/// the companions of the assignment permissions and the optional reads
/// (policies, group members, lifecycle workflows, the audit log). A set-up guide that
/// names another one is wrong (a test holds the set-up guide to this list).
pub fn known_permissions() -> Vec<&'static str> {
    let mut known: Vec<&'static str> = [
        Capability::ReadDefinitions,
        Capability::WriteDefinitions,
        Capability::ReadAssignments,
        Capability::WriteAssignments,
    ]
    .iter()
    .flat_map(|capability| capability.permissions().iter().copied())
    .chain(ASSIGNMENT_COMPANIONS.iter().map(|(permission, _)| *permission))
    .chain([
        POLICY_READ,
        GROUP_MEMBER_READ[0],
        crate::graph::workflows::LIFECYCLE_WORKFLOWS_READ[0],
        crate::graph::audit::AUDIT_LOG_READ,
    ])
    .collect();
    known.sort_unstable();
    known.dedup();
    known
}

/// Whether the token holds each companion of the assignment permissions.
pub fn companions(claims: &Claims) -> Vec<(&'static str, &'static str, bool)> {
    ASSIGNMENT_COMPANIONS
        .iter()
        .map(|&(permission, reaches)| (permission, reaches, claims.has_permission(&[permission])))
        .collect()
}

/// The verdict on one capability.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub capability: Capability,
    pub permission: bool,
    /// `None` for app-only tokens, where no role applies.
    pub role: Option<bool>,
}

impl Check {
    pub fn granted(&self) -> bool {
        self.permission && self.role.unwrap_or(true)
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mark = if self.granted() { "ok     " } else { "MISSING" };
        write!(f, "{mark} {}", self.capability.describe())?;
        if !self.permission {
            write!(f, " — needs Graph permission {}", self.capability.permissions().join(" or "))?;
        }
        if self.role == Some(false) {
            let roles: Vec<&str> = self.capability.roles().iter().map(|role| role.name()).collect();
            write!(f, " — needs the Entra role {}", roles.join(" or "))?;
        }
        Ok(())
    }
}

/// What the capabilities a run needs look like against the token's claims.
/// Role assignments scoped to an attribute set do not show in `wids`, so a
/// missing role on a delegated token is a warning, not proof.
pub fn check(claims: &Claims, needed: &[Capability]) -> Vec<Check> {
    needed
        .iter()
        .map(|&capability| Check {
            capability,
            permission: claims.has_permission(capability.permissions()),
            role: claims.is_delegated().then(|| claims.has_role(capability.roles())),
        })
        .collect()
}

/// What `plan` needs: definitions always, assignments when the files declare
/// any or the policy sweeps them.
pub fn needed_for_plan(reads_assignments: bool) -> Vec<Capability> {
    let mut needed = vec![Capability::ReadDefinitions];
    if reads_assignments {
        needed.push(Capability::ReadAssignments);
    }
    needed
}

/// What `apply` needs, given what the plan changes.
pub fn needed_for_apply(
    reads_assignments: bool,
    writes_definitions: bool,
    writes_assignments: bool,
) -> Vec<Capability> {
    let mut needed = needed_for_plan(reads_assignments || writes_assignments);
    if writes_definitions {
        needed.push(Capability::WriteDefinitions);
    }
    if writes_assignments {
        needed.push(Capability::WriteAssignments);
    }
    needed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(payload: &str) -> String {
        format!("eyJhbGciOiJub25lIn0.{}.c2lnbmF0dXJl", URL_SAFE_NO_PAD.encode(payload))
    }

    #[test]
    fn app_only_token_is_judged_by_roles_claim() {
        let claims = Claims::from_jwt(&jwt(
            r#"{"tid":"t","appid":"a","roles":["CustomSecAttributeDefinition.ReadWrite.All","CustomSecAttributeAssignment.Read.All"]}"#,
        ))
        .unwrap();
        assert!(!claims.is_delegated());
        let checks = check(&claims, &needed_for_apply(true, true, true));
        let granted: Vec<bool> = checks.iter().map(Check::granted).collect();
        assert_eq!(granted, [true, true, true, false]);
        assert_eq!(
            checks[3].to_string(),
            "MISSING assign and unassign values — needs Graph permission CustomSecAttributeAssignment.ReadWrite.All"
        );
    }

    #[test]
    fn delegated_token_needs_scope_and_role() {
        let claims = Claims::from_jwt(&jwt(&format!(
            r#"{{"scp":"User.Read CustomSecAttributeDefinition.Read.All","wids":["{}"]}}"#,
            DirectoryRole::AttributeDefinitionReader.template_id()
        )))
        .unwrap();
        let checks = check(&claims, &needed_for_plan(true));
        assert!(checks[0].granted());
        assert_eq!(checks[1].role, Some(false));
        assert!(
            checks[1]
                .to_string()
                .contains("Attribute Assignment Reader or Attribute Assignment Administrator")
        );
    }

    #[test]
    fn the_companions_are_known_and_judged_on_their_own() {
        let known = known_permissions();
        assert!(known.contains(&"User.Read.All") && known.contains(&"Application.Read.All"), "{known:?}");
        assert!(known.contains(&"CustomSecAttributeAssignment.ReadWrite.All"), "{known:?}");
        let claims = Claims { roles: vec!["user.read.all".into()], ..Claims::default() };
        assert_eq!(
            companions(&claims),
            [("User.Read.All", "users", true), ("Application.Read.All", "service principals", false)]
        );
    }

    #[test]
    fn opaque_tokens_are_reported_not_guessed() {
        assert_eq!(Claims::from_jwt("not-a-jwt"), Err(ClaimsError::NotAJwt));
        assert!(matches!(Claims::from_jwt("a.!!!.c"), Err(ClaimsError::Encoding(_))));
    }
}
