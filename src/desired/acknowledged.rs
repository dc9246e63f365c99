//! `acknowledgedDrift`: the drift a team knows of and accepts, written in the
//! files so that it is reviewed like any other change (Terraform's
//! `ignore_changes`). Here each entry is checked on its own — an address as
//! the plan prints it, in a set the files declare, with a reason, written
//! once — and gathered into the desired state. Whether it still matches
//! drift is the plan's business (`plan::acknowledge`).

use std::collections::BTreeMap;

use crate::desired::diagnostic::{Diagnostic, Place, nearest};
use crate::desired::manifest::ManifestFile;
use crate::model::DesiredState;

/// Adds every file's acknowledgements to `desired`, and a problem for each
/// one that cannot be drift as written.
pub fn gather(files: &[(String, ManifestFile)], desired: &mut DesiredState, problems: &mut Vec<Diagnostic>) {
    let mut first_place: BTreeMap<String, Place> = BTreeMap::new();
    for (file, manifest) in files {
        for (address, reason) in &manifest.acknowledged_drift.0 {
            let here = Place { file: file.clone(), line: address.at.line, column: address.at.column };
            let path = format!("acknowledgedDrift.{}", address.value);
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
            let Some(set) = set_of(&address.value) else {
                report(
                    format!("`{}` is not an address of the plan", address.value),
                    Some(
                        "`Set.Attribute`, `Set.Attribute=Value`, `user:<upn or id>/Set.Attribute` or \
                         `servicePrincipal:<appId or id:object id>/Set.Attribute`, as the plan prints it \
                         under Drift",
                    ),
                    None,
                );
                continue;
            };
            if !desired.attribute_sets.contains_key(set) {
                let known = desired.attribute_sets.keys().map(String::as_str);
                report(
                    format!(
                        "`{}` is in the attribute set `{set}`, which the files do not declare; drift is only \
                         found in declared sets",
                        address.value
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
                diagnostic.expected = Some("why this drift is accepted, for the next reviewer".to_owned());
                problems.push(diagnostic);
                continue;
            }
            desired.acknowledged_drift.insert(address.value.clone(), reason.value.trim().to_owned());
        }
    }
}

/// Adds every file's `acknowledgedReferences` to `desired`: each an
/// attribute or allowed value of a declared set (what a plan deactivates),
/// with a reason, written once.
pub fn gather_references(
    files: &[(String, ManifestFile)],
    desired: &mut DesiredState,
    problems: &mut Vec<Diagnostic>,
) {
    let mut first_place: BTreeMap<String, Place> = BTreeMap::new();
    for (file, manifest) in files {
        for (address, reason) in &manifest.acknowledged_references.0 {
            let here = Place { file: file.clone(), line: address.at.line, column: address.at.column };
            let path = format!("acknowledgedReferences.{}", address.value);
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
            let set = match set_of(&address.value) {
                Some(set) if !address.value.contains('/') => set,
                _ => {
                    report(
                        format!("`{}` is not an address the plan deactivates", address.value),
                        Some("`Set.Attribute` or `Set.Attribute=Value`, as the plan prints it"),
                        None,
                    );
                    continue;
                }
            };
            if !desired.attribute_sets.contains_key(set) {
                let known = desired.attribute_sets.keys().map(String::as_str);
                report(
                    format!(
                        "`{}` is in the attribute set `{set}`, which the files do not declare; the plan only \
                         deactivates in declared sets",
                        address.value
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
                diagnostic.expected =
                    Some("why the deactivation goes ahead although policies name it".to_owned());
                problems.push(diagnostic);
                continue;
            }
            desired.acknowledged_references.insert(address.value.clone(), reason.value.trim().to_owned());
        }
    }
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
