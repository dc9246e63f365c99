//! Which entry of the troubleshooting page an error matches, so that every
//! sign-in failure and Graph error the tool prints ends with the page and
//! anchor that say what it means and what to do
//! (`see docs/src/troubleshooting.md#stale-plan`).
//!
//! The match reads the error as printed: the AADSTS code Microsoft Entra
//! puts in a failed sign-in's message, the `HTTP 403` / `HTTP 429` of a
//! Graph answer, the "could not connect" of an unreachable Graph. Those
//! texts are the same on every path an error takes (a read, a change of an
//! apply, check-access), which a typed match could not follow once an error
//! became one change's failure line. A test holds that every anchor named
//! here exists in the page.

/// The page, as a path from the repository's root.
pub const PAGE: &str = "docs/src/troubleshooting.md";

/// Every anchor an error can name; each is an `<a id="…">` of the page.
pub const ANCHORS: [&str; 18] = [
    FEDERATED_SUBJECT,
    "aadsts70025",
    "aadsts700024",
    "aadsts7000215",
    "aadsts7000222",
    "aadsts700016",
    "aadsts90002",
    "aadsts50034",
    "aadsts65001",
    "aadsts500011",
    OTHER_AADSTS,
    NO_SIGN_IN,
    "token-refused",
    "authorization-requestdenied",
    "throttled",
    GRAPH_UNREACHABLE,
    STALE_PLAN,
    "export-refuses-to-overwrite",
];

/// A federated credential whose issuer or subject matches nothing
/// (AADSTS700213, AADSTS700211, AADSTS70021).
const FEDERATED_SUBJECT: &str = "federated-credential-does-not-match";
const OTHER_AADSTS: &str = "other-aadsts-codes";
const NO_SIGN_IN: &str = "no-sign-in-configured";
const GRAPH_UNREACHABLE: &str = "graph-unreachable";
/// A saved plan whose tenant changed since it was made.
pub const STALE_PLAN: &str = "stale-plan";
/// `export -o` refusing files it did not write.
pub const EXPORT_REFUSED: &str = "export-refuses-to-overwrite";

/// The anchor of the entry that explains `message`, if one does.
pub fn anchor_for(message: &str) -> Option<&'static str> {
    if let Some(code) = aadsts_code(message) {
        return Some(match code {
            "700213" | "700211" | "70021" => FEDERATED_SUBJECT,
            "70025" => "aadsts70025",
            "700024" => "aadsts700024",
            "7000215" => "aadsts7000215",
            "7000222" => "aadsts7000222",
            "700016" => "aadsts700016",
            "90002" => "aadsts90002",
            "50034" => "aadsts50034",
            "65001" => "aadsts65001",
            "500011" => "aadsts500011",
            _ => OTHER_AADSTS,
        });
    }
    let has = |text: &str| message.contains(text);
    if has("found no sign-in configured") || (has("--auth ") && has(" is not set")) {
        Some(NO_SIGN_IN)
    } else if has("HTTP 401") {
        Some("token-refused")
    } else if has("HTTP 403") || has("Authorization_RequestDenied") {
        Some("authorization-requestdenied")
    } else if has("HTTP 429") {
        Some("throttled")
    } else if has(": could not connect: ") || has(": timed out: ") || has(": connection failed: ") {
        Some(GRAPH_UNREACHABLE)
    } else if has("is stale: the tenant changed since it was made") {
        Some(STALE_PLAN)
    } else if has("export would overwrite") {
        Some(EXPORT_REFUSED)
    } else {
        None
    }
}

/// The line that sends the reader to the entry: `see docs/src/troubleshooting.md#…`.
pub fn see(anchor: &str) -> String {
    format!("see {PAGE}#{anchor}")
}

/// The digits of the first `AADSTS<digits>` in `message`.
fn aadsts_code(message: &str) -> Option<&str> {
    let start = message.find("AADSTS")? + "AADSTS".len();
    let digits = &message[start..];
    let end = digits.find(|c: char| !c.is_ascii_digit()).unwrap_or(digits.len());
    (end > 0).then(|| &digits[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn microsofts_messages_find_their_entries() {
        for (message, anchor) in [
            (
                "sign-in failed (workload identity): AADSTS700213: No matching federated identity record found \
                 for presented assertion subject 'repo:contoso/attributes:pull_request'.",
                FEDERATED_SUBJECT,
            ),
            (
                "AADSTS70021: No matching federated identity record found for presented assertion.",
                FEDERATED_SUBJECT,
            ),
            ("AADSTS7000215: Invalid client secret provided.", "aadsts7000215"),
            ("AADSTS7000222: The provided client secret keys for app 'x' are expired.", "aadsts7000222"),
            ("AADSTS700016: Application with identifier 'x' was not found", "aadsts700016"),
            ("AADSTS90002: Tenant 'x' not found.", "aadsts90002"),
            ("AADSTS65001: The user or administrator has not consented", "aadsts65001"),
            ("AADSTS500011: The resource principal named https://graph.x was not found", "aadsts500011"),
            ("AADSTS700024: Client assertion is not within its valid time range.", "aadsts700024"),
            ("AADSTS70025: The client has no configured federated identity credentials.", "aadsts70025"),
            ("AADSTS50034: The user account does not exist", "aadsts50034"),
            ("AADSTS53003: Access has been blocked by Conditional Access policies.", OTHER_AADSTS),
            ("--auth secret: AZURE_CLIENT_SECRET is not set", NO_SIGN_IN),
            ("GET /v1.0/directory/attributeSets: HTTP 401 InvalidAuthenticationToken: x", "token-refused"),
            (
                "PATCH /v1.0/users/x: HTTP 403 Authorization_RequestDenied: Insufficient privileges",
                "authorization-requestdenied",
            ),
            ("POST /v1.0/$batch: HTTP 429 TooManyRequests: x", "throttled"),
            ("GET /v1.0/directory/attributeSets: could not connect: tcp connect error", GRAPH_UNREACHABLE),
            ("GET /v1.0/users: timed out: operation timed out", GRAPH_UNREACHABLE),
            ("the plan in p.json is stale: the tenant changed since it was made (live", STALE_PLAN),
            ("export would overwrite 1 file(s) in out/ that it did not write", EXPORT_REFUSED),
        ] {
            assert_eq!(anchor_for(message), Some(anchor), "{message}");
            assert!(ANCHORS.contains(&anchor), "{anchor}");
        }
        assert_eq!(anchor_for("plan.yaml:3:5: error: unknown key"), None);
        assert_eq!(anchor_for("AADSTS: no digits"), None);
    }
}
