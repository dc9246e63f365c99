//! Fingerprints of a plan's inputs: `sha256:<hex>` over a canonical JSON
//! form. Maps iterate in key order (BTreeMaps, `model::NameMap`s) and lists
//! are kept sorted by the model, so equal states give equal bytes; maps keyed
//! by principals are written as lists of pairs because JSON object keys must
//! be strings.

use std::io::{BufWriter, Write};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::model::live::{LivePrincipal, LiveState};
use crate::model::{DesiredState, PrincipalAssignments, PrincipalKey};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CanonicalDesired<'a> {
    policy: &'a crate::model::Policy,
    attribute_sets: &'a std::collections::BTreeMap<String, crate::model::AttributeSet>,
    assignments: Vec<(&'a PrincipalKey, &'a PrincipalAssignments)>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CanonicalLive<'a> {
    attribute_sets: &'a std::collections::BTreeMap<String, crate::model::live::LiveAttributeSet>,
    definitions: &'a std::collections::BTreeMap<String, crate::model::Definition>,
    principals: Vec<&'a LivePrincipal>,
    principals_complete: bool,
}

/// The fingerprint of a desired state.
pub fn desired(state: &DesiredState) -> String {
    hash(&CanonicalDesired {
        policy: &state.policy,
        attribute_sets: &state.attribute_sets,
        assignments: state.assignments.iter().collect(),
    })
}

/// The fingerprint of a live state.
pub fn live(state: &LiveState) -> String {
    hash(&CanonicalLive {
        attribute_sets: &state.attribute_sets,
        definitions: &state.definitions,
        principals: state.principals.values().collect(),
        principals_complete: state.principals_complete,
    })
}

/// Feeds serialised bytes straight into the hash, so that a tenant of
/// 100,000 principals is never held as one JSON text.
struct HashWriter(Sha256);

impl Write for HashWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.update(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn hash(value: &impl Serialize) -> String {
    // serde_json writes a few bytes at a time; the hasher takes them in blocks.
    let mut writer = BufWriter::with_capacity(64 * 1024, HashWriter(Sha256::new()));
    // Serialising plain data with string keys into a hasher cannot fail.
    let _ = serde_json::to_writer(&mut writer, value);
    let _ = writer.flush();
    let (HashWriter(hasher), _) = writer.into_parts();
    let digest = hasher.finalize();
    let mut text = String::with_capacity(7 + 64);
    text.push_str("sha256:");
    for byte in digest.iter() {
        text.push_str(&format!("{byte:02x}"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::live::LiveAttributeSet;

    #[test]
    fn equal_states_have_equal_fingerprints_and_any_difference_shows() {
        let mut state = LiveState::default();
        let empty = live(&state);
        assert!(empty.starts_with("sha256:") && empty.len() == 7 + 64, "{empty}");
        state.attribute_sets.insert(
            "Eng".into(),
            LiveAttributeSet { id: "Eng".into(), description: None, max_attributes_per_set: None },
        );
        assert_ne!(live(&state), empty);
        assert_eq!(live(&state.clone()), live(&state));
        let mut desired_state = DesiredState::default();
        desired_state.assignments.insert(PrincipalKey::User("a@x".into()), Default::default());
        assert_ne!(desired(&desired_state), desired(&DesiredState::default()));
    }
}
