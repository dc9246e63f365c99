//! `acknowledgedDrift`: the drift a team knows of and accepts, written in the
//! files so that it is reviewed like any other change (Terraform's
//! `ignore_changes`). Here each entry is checked on its own — an address as
//! the plan prints it, in a set the files declare, with a reason, written
//! once — and gathered into the desired state. Whether it still matches
//! drift is the plan's business (`plan::acknowledge`).

use std::collections::BTreeMap;

use crate::desired::diagnostic::{Diagnostic, Place, nearest};
use crate::desired::manifest::{Entries, Located, ManifestFile};
use crate::model::DesiredState;

/// One kind of acknowledgement: where the files write it, which addresses it
/// takes, and what its messages say.
struct Kind {
    /// The top-level key, e.g. `acknowledgedDrift`.
    key: &'static str,
    entries: fn(&ManifestFile) -> &Entries<Located<String>>,
    /// The set an address names, when it is one this kind takes.
    set_of: fn(&str) -> Option<&str>,
    /// The message's end and the expected shape for an address it does not take.
    not_an_address: (&'static str, &'static str),
    /// Why an address in an undeclared set cannot match.
    undeclared: &'static str,
    /// What the reason should say.
    reason: &'static str,
}

const DRIFT: Kind = Kind {
    key: "acknowledgedDrift",
    entries: |manifest| &manifest.acknowledged_drift,
    set_of,
    not_an_address: (
        "is not an address of the plan",
        "`Set.Attribute`, `Set.Attribute=Value`, `user:<upn or id>/Set.Attribute` or \
         `servicePrincipal:<appId or id:object id>/Set.Attribute`, as the plan prints it under Drift",
    ),
    undeclared: "drift is only found in declared sets",
    reason: "why this drift is accepted, for the next reviewer",
};

const REFERENCES: Kind = Kind {
    key: "acknowledgedReferences",
    entries: |manifest| &manifest.acknowledged_references,
    set_of: |address| if address.contains('/') { None } else { set_of(address) },
    not_an_address: (
        "is not an address the plan deactivates",
        "`Set.Attribute` or `Set.Attribute=Value`, as the plan prints it",
    ),
    undeclared: "the plan only deactivates in declared sets",
    reason: "why the deactivation goes ahead although policies name it",
};

/// Adds every file's acknowledgements to `desired`, and a problem for each
/// one that cannot be drift as written.
pub fn gather(files: &[(String, ManifestFile)], desired: &mut DesiredState, problems: &mut Vec<Diagnostic>) {
    let gathered = gather_kind(&DRIFT, files, desired, problems);
    desired.acknowledged_drift.extend(gathered);
}

/// Adds every file's `acknowledgedReferences` to `desired`: each an
/// attribute or allowed value of a declared set (what a plan deactivates),
/// with a reason, written once.
pub fn gather_references(
    files: &[(String, ManifestFile)],
    desired: &mut DesiredState,
    problems: &mut Vec<Diagnostic>,
) {
    let gathered = gather_kind(&REFERENCES, files, desired, problems);
    desired.acknowledged_references.extend(gathered);
}

/// The acknowledgements of one kind, each checked on its own: an address
/// the kind takes, in a set the files declare, with a reason, written once.
fn gather_kind(
    kind: &Kind,
    files: &[(String, ManifestFile)],
    desired: &DesiredState,
    problems: &mut Vec<Diagnostic>,
) -> BTreeMap<String, String> {
    let mut gathered = BTreeMap::new();
    let mut first_place: BTreeMap<String, Place> = BTreeMap::new();
    for (file, manifest) in files {
        for (address, reason) in &(kind.entries)(manifest).0 {
            let here = Place { file: file.clone(), line: address.at.line, column: address.at.column };
            let path = format!("{}.{}", kind.key, address.value);
            let mut report = |message: String, expected: Option<&str>, suggestion: Option<String>| {
                let mut diagnostic = Diagnostic::new(here.clone(), path.clone(), message);
                diagnostic.expected = expected.map(str::to_owned);
                diagnostic.suggestion = suggestion;
                problems.push(diagnostic);
            };
            if let Some(first) = first_place.get(&address.value) {
                report(format!("`{}` is acknowledged twice", address.value), None, None);
                problems.last_mut().expect("just pushed").related = Some(first.clone());
                continue;
            }
            first_place.insert(address.value.clone(), here.clone());
            let Some(set) = (kind.set_of)(&address.value) else {
                let (message, expected) = kind.not_an_address;
                report(format!("`{}` {message}", address.value), Some(expected), None);
                continue;
            };
            if !desired.attribute_sets.contains_key(set) {
                let known = desired.attribute_sets.keys().map(String::as_str);
                report(
                    format!(
                        "`{}` is in the attribute set `{set}`, which the files do not declare; {}",
                        address.value, kind.undeclared
                    ),
                    Some("an address in a set the files declare"),
                    nearest(set, known).map(|known| format!("did you mean `{known}`?")),
                );
                continue;
            }
            if reason.value.trim().is_empty() {
                let at = Place { file: file.clone(), line: reason.at.line, column: reason.at.column };
                let mut diagnostic =
                    Diagnostic::new(at, path.clone(), format!("`{}` has no reason", address.value));
                diagnostic.expected = Some(kind.reason.to_owned());
                problems.push(diagnostic);
                continue;
            }
            gathered.insert(address.value.clone(), reason.value.trim().to_owned());
        }
    }
    gathered
}

/// The attribute set an address names, when it has the shape of one: a
/// definition, an allowed value or a principal's assignment. A whole set is
/// never drift (undeclared sets are left alone unseen).
fn set_of(address: &str) -> Option<&str> {
    let object = match address.split_once('/') {
        Some((principal, object)) => {
            let (kind, key) = principal.split_once(':')?;
            if !matches!(kind, "user" | "servicePrincipal") || key.is_empty() || object.contains('=') {
                return None;
            }
            object
        }
        None => address,
    };
    let (set, rest) = object.split_once('.')?;
    let attribute =
        rest.split_once('=').map_or(rest, |(attribute, value)| if value.is_empty() { "" } else { attribute });
    (!set.is_empty() && !attribute.is_empty()).then_some(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_of_the_plan_name_their_set() {
        assert_eq!(set_of("Engineering.Legacy"), Some("Engineering"));
        assert_eq!(set_of("Engineering.Project=Alpine"), Some("Engineering"));
        assert_eq!(set_of("user:bob@contoso.com/Marketing.Region"), Some("Marketing"));
        assert_eq!(set_of("servicePrincipal:id:9d8e/Security.Clearance"), Some("Security"));
        for not_drift in
            ["Engineering", "Engineering.", "group:x/Eng.A", "user:/Eng.A", "user:x/Eng.A=B", ".A"]
        {
            assert_eq!(set_of(not_drift), None, "{not_drift}");
        }
    }
}
