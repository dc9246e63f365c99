//! How a request names one user or service principal. Most keys go in a
//! path segment (`/users/alice@contoso.com`), but Graph answers
//! `/users/$x@contoso.com` with 400: a segment that begins with `$` is read as
//! a system segment such as `$count`. Its user-get page says to write such a
//! key as a literal in parentheses, `/users('$x@contoso.com')`, which is what
//! this module does for every key that begins with `$`, in reads and writes.

use crate::model::PrincipalKind;

use super::client::{segment, segment_keeping};

/// The collection a kind of principal lives in.
pub fn collection(kind: PrincipalKind) -> &'static str {
    match kind {
        PrincipalKind::User => "users",
        PrincipalKind::ServicePrincipal => "servicePrincipals",
    }
}

/// `/users/{key}`, or `/users('{key}')` for a key beginning with `$`; `key`
/// is an object id or, for users, a userPrincipalName.
pub fn by_key(kind: PrincipalKind, key: &str) -> String {
    if key.starts_with('$') {
        format!("/{}({})", collection(kind), quoted(key))
    } else {
        format!("/{}/{}", collection(kind), segment(key))
    }
}

/// `/servicePrincipals(appId='{app id}')`, the alternate key Graph declares.
pub fn by_app_id(app_id: &str) -> String {
    format!("/servicePrincipals(appId={})", quoted(app_id))
}

/// An OData string literal (`'…'`, a quote doubled), percent-encoded as a
/// path segment but for `$` and `'`, which a path segment may hold as they
/// are (RFC 3986 sub-delims) and which Graph's documented form writes plain.
fn quoted(text: &str) -> String {
    format!("'{}'", segment_keeping(&text.replace('\'', "''"), b"$'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_beginning_with_a_dollar_is_a_parenthesized_literal() {
        assert_eq!(by_key(PrincipalKind::User, "alice@contoso.com"), "/users/alice@contoso.com");
        assert_eq!(by_key(PrincipalKind::User, "$x@contoso.com"), "/users('$x@contoso.com')");
        assert_eq!(by_key(PrincipalKind::User, "$o'neil@contoso.com"), "/users('$o''neil@contoso.com')");
        assert_eq!(by_key(PrincipalKind::User, "$g#EXT#@t.com"), "/users('$g%23EXT%23@t.com')");
        assert_eq!(by_key(PrincipalKind::ServicePrincipal, "abc"), "/servicePrincipals/abc");
        assert_eq!(by_app_id("a'b"), "/servicePrincipals(appId='a''b')");
    }
}
