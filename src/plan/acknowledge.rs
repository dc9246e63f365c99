//! Acknowledged drift: the findings the files accept (`acknowledgedDrift`)
//! move out of the plan's drift into its own list, which neither counts as
//! drift nor changes the exit code; an acknowledgement that matches no
//! finding any more becomes a finding itself, so that the list cannot rot.

use std::collections::BTreeMap;

use crate::desired::diagnostic::nearest;
use crate::model::PrincipalKey;
use crate::plan::{Address, Drift};

/// `drift` split by `acknowledged` (address → reason): what is still drift
/// (including the acknowledgements that match nothing), and what is accepted.
pub fn acknowledge(drift: Vec<Drift>, acknowledged: &BTreeMap<String, String>) -> (Vec<Drift>, Vec<Drift>) {
    if acknowledged.is_empty() {
        return (drift, Vec::new());
    }
    let mut unmatched: BTreeMap<&str, &str> =
        acknowledged.iter().map(|(address, reason)| (address.as_str(), reason.as_str())).collect();
    let mut open = Vec::new();
    let mut accepted = Vec::new();
    for finding in drift {
        let address = finding.address.to_string();
        match acknowledged.get(&address) {
            Some(reason) => {
                unmatched.remove(address.as_str());
                accepted
                    .push(Drift { message: format!("{} (accepted: {reason})", finding.message), ..finding });
            }
            None => open.push(finding),
        }
    }
    // A misspelt acknowledgement (`Engineering.Legasy`) names the open finding it likely meant.
    let open_addresses: Vec<String> = open.iter().map(|finding| finding.address.to_string()).collect();
    for (text, reason) in unmatched {
        // The files' validation made sure every acknowledgement parses.
        if let Some(address) = parse_address(text) {
            let advice = match nearest(text, open_addresses.iter().map(String::as_str)) {
                Some(near) => format!("did you mean `{near}`? If not, remove it from acknowledgedDrift"),
                None => "remove it from acknowledgedDrift".to_owned(),
            };
            open.push(Drift {
                address,
                message: format!(
                    "acknowledged in the files ({reason}), but the tenant shows no such drift any more; {advice}"
                ),
            });
        }
    }
    open.sort_by(|a, b| a.address.cmp(&b.address));
    (open, accepted)
}

/// An address as the plan prints it, read back.
pub fn parse_address(text: &str) -> Option<Address> {
    let (principal, object) = match text.split_once('/') {
        Some((principal, object)) => {
            let principal = match principal.split_once(':')? {
                ("user", key) if !key.is_empty() => PrincipalKey::User(key.to_owned()),
                ("servicePrincipal", key) if !key.is_empty() => {
                    PrincipalKey::ServicePrincipal(key.to_owned())
                }
                _ => return None,
            };
            (Some(principal), object)
        }
        None => (None, text),
    };
    let (set, rest) = object.split_once('.')?;
    let (attribute, value) = match rest.split_once('=') {
        Some((attribute, value)) => (attribute, Some(value)),
        None => (rest, None),
    };
    if set.is_empty() || attribute.is_empty() || value.is_some_and(str::is_empty) {
        return None;
    }
    let (set, attribute) = (set.to_owned(), attribute.to_owned());
    match (principal, value) {
        (Some(principal), None) => Some(Address::Assignment { principal, set, attribute }),
        (Some(_), Some(_)) => None,
        (None, Some(value)) => Some(Address::AllowedValue { set, attribute, value: value.to_owned() }),
        (None, None) => Some(Address::Definition { set, attribute }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(address: &str) -> Drift {
        Drift {
            address: parse_address(address).unwrap(),
            message: "exists in the tenant but is not declared".into(),
        }
    }

    #[test]
    fn every_drift_address_reads_back_as_itself() {
        for text in [
            "Engineering.Legacy",
            "Engineering.Project=Alpine",
            "Engineering.Project=Two words",
            "user:bob@contoso.com/Engineering.Project",
            "servicePrincipal:id:9d8e7f6a-5b4c-4d3e-8f2a-1b0c9d8e7f6a/Security.Clearance",
        ] {
            assert_eq!(parse_address(text).unwrap().to_string(), text);
        }
        for not_one in ["Engineering", "user:/E.A", "group:g/E.A", "E.A=", "user:u/E.A=B"] {
            assert_eq!(parse_address(not_one), None, "{not_one}");
        }
    }

    #[test]
    fn acknowledged_findings_move_aside_and_stale_acknowledgements_become_findings() {
        let drift = vec![finding("Eng.Legacy"), finding("Eng.Project=Old")];
        let acknowledged = BTreeMap::from([
            ("Eng.Legacy".to_owned(), "kept for the audit".to_owned()),
            ("Eng.Gone".to_owned(), "was removed".to_owned()),
        ]);
        let (open, accepted) = acknowledge(drift, &acknowledged);
        let open: Vec<String> = open.iter().map(|drift| drift.address.to_string()).collect();
        assert_eq!(open, ["Eng.Gone", "Eng.Project=Old"]);
        assert_eq!(accepted.len(), 1);
        assert_eq!(accepted[0].address.to_string(), "Eng.Legacy");
        assert!(accepted[0].message.ends_with("(accepted: kept for the audit)"));
    }
}
