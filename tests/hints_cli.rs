//! Near misses get the name or spelling that was likely meant, through the
//! real binary: a YAML 1.1 boolean word (`yes`, `off`, `Y`) on any Boolean
//! key of the file format, a principal the tenant does not have, a misspelt
//! acknowledgement, a misspelt `--values-owned-by`.

use serde_json::Value;

use crate::launch::{entra_csa, run};

fn repo(path: &str) -> String {
    format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))
}

/// Every property of the JSON Schema whose type is boolean, by name.
fn boolean_keys(node: &Value, found: &mut std::collections::BTreeSet<String>) {
    match node {
        Value::Object(map) => {
            if let Some(Value::Object(properties)) = map.get("properties") {
                for (name, property) in properties {
                    let boolean = Value::String("boolean".into());
                    let typed = match property.get("type") {
                        Some(Value::Array(types)) => types.contains(&boolean),
                        other => other == Some(&boolean),
                    };
                    if typed {
                        found.insert(name.clone());
                    }
                }
            }
            map.values().for_each(|child| boolean_keys(child, found));
        }
        Value::Array(items) => items.iter().for_each(|child| boolean_keys(child, found)),
        _ => {}
    }
}

/// A file with `word` on every Boolean key of the format and on a Boolean attribute's value.
fn every_boolean_written_as(word: &str) -> String {
    format!(
        "version: 1
attributeSets:
  Access:
    attributes:
      Tier:
        type: String
        isCollection: {word}
        isSearchable: {word}
        usePreDefinedValuesOnly: {word}
        allowedValues:
          - {{value: A, active: {word}}}
      Flag:
        type: Boolean
assignments:
  users:
    a@contoso.com:
      Access:
        Flag: {word}
  groups:
    Team:
      Access:
        Tier:
          value: A
          authoritative: {word}
"
    )
}

#[test]
fn yaml_1_1_booleans_on_every_boolean_key_get_the_hint() {
    let schema: Value = serde_json::from_str(&run(entra_csa().arg("schema")).1).unwrap();
    let mut keys = std::collections::BTreeSet::new();
    boolean_keys(&schema, &mut keys);
    let covered = ["active", "authoritative", "isCollection", "isSearchable", "usePreDefinedValuesOnly"];
    assert_eq!(
        keys.iter().map(String::as_str).collect::<Vec<_>>(),
        covered,
        "a new Boolean key: add it here"
    );

    let folder = tempfile::tempdir().unwrap();
    for (word, meant) in
        [("yes", "true"), ("no", "false"), ("on", "true"), ("off", "false"), ("Y", "true"), ("n", "false")]
    {
        let file = folder.path().join(format!("{word}.yaml"));
        std::fs::write(&file, every_boolean_written_as(word)).unwrap();
        let (code, _, stderr) = run(entra_csa().args(["validate", "-f", file.to_str().unwrap()]));
        assert_eq!(code, 1, "{stderr}");
        let hint = format!("help: write {meant}: YAML 1.2 reads `{word}` as a string");
        for key in covered.iter().chain(&["Flag"]) {
            let at = stderr.lines().position(|line| line.starts_with("  at:") && line.ends_with(key));
            let at = at.unwrap_or_else(|| panic!("{key} not reported: {stderr}"));
            let block: Vec<&str> = stderr.lines().skip(at).take(3).collect();
            assert!(block.iter().any(|line| line.contains(&hint)), "{key} with {word}: {block:?}\n{stderr}");
        }
    }
    // Quoted "true" is a string too: written unquoted, it is the Boolean.
    let file = folder.path().join("quoted.yaml");
    std::fs::write(&file, every_boolean_written_as("\"true\"")).unwrap();
    let (_, _, stderr) = run(entra_csa().args(["validate", "-f", file.to_str().unwrap()]));
    assert_eq!(stderr.matches("help: write it unquoted: true").count(), 6, "{stderr}");
}

#[test]
fn a_principal_the_tenant_does_not_have_gets_the_nearest_one() {
    let folder = tempfile::tempdir().unwrap();
    let state = folder.path().join("tenant.json");
    std::fs::copy(repo("examples/contoso-live.json"), &state).unwrap();
    let text = std::fs::read_to_string(repo("examples/contoso.yaml")).unwrap();
    let file = folder.path().join("typo.yaml");
    std::fs::write(&file, text.replace("    alice@contoso.com:", "    alise@contoso.com:")).unwrap();
    let (code, stdout, stderr) =
        run(entra_csa().args(["plan", "-f", file.to_str().unwrap(), "--state", state.to_str().unwrap()]));
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stdout.contains("user `alise@contoso.com` was not found in the tenant"), "{stdout}");
    assert!(stdout.contains("hint:     did you mean `alice@contoso.com`?"), "{stdout}");

    // A stranger gets no guess; neither does a key that only resembles a principal the files list already.
    let file = folder.path().join("stranger.yaml");
    std::fs::write(&file, text.replace("    alice@contoso.com:", "    zed@fabrikam.example:")).unwrap();
    let (_, stdout, _) =
        run(entra_csa().args(["plan", "-f", file.to_str().unwrap(), "--state", state.to_str().unwrap()]));
    assert!(stdout.contains("user `zed@fabrikam.example` was not found"), "{stdout}");
    assert!(!stdout.contains("did you mean"), "{stdout}");
}

#[test]
fn a_misspelt_acknowledgement_names_the_drift_it_likely_meant() {
    let folder = tempfile::tempdir().unwrap();
    let state = folder.path().join("tenant.json");
    std::fs::copy(repo("examples/contoso-live.json"), &state).unwrap();
    let text = std::fs::read_to_string(repo("examples/contoso.yaml")).unwrap();
    assert!(text.contains("  Engineering.Legacy: "));
    let file = folder.path().join("typo.yaml");
    std::fs::write(&file, text.replace("  Engineering.Legacy: ", "  Engineering.Legasy: ")).unwrap();
    let (_, stdout, stderr) =
        run(entra_csa().args(["plan", "-f", file.to_str().unwrap(), "--state", state.to_str().unwrap()]));
    assert!(
        stdout.contains("no such drift any more; did you mean `Engineering.Legacy`? If not, remove it"),
        "{stdout}{stderr}"
    );
}

#[test]
fn a_misspelt_values_owned_by_names_the_nearest_attribute() {
    let folder = tempfile::tempdir().unwrap();
    let state = folder.path().join("tenant.json");
    std::fs::copy(repo("examples/contoso-live.json"), &state).unwrap();
    let (code, _, stderr) = run(entra_csa().args([
        "export",
        "--state",
        state.to_str().unwrap(),
        "--values-owned-by",
        "Engineering.Projekt=HR",
    ]));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("did you mean `Engineering.Project`?"), "{stderr}");
}

/// At a realistic size: among 20,000 users of a state file, the one a
/// transposed key (`uesr12345@…`) meant is named.
#[test]
fn among_twenty_thousand_users_the_nearest_one_is_named() {
    use entra_csa::desired::export::{ExportOptions, export_single};
    use entra_csa::graph::wire::TenantDocument;
    use entra_csa::model::synthetic::{Shape, generate};

    let shape = Shape { users: 20_000, service_principals: 50, sets: 2, seed: 11, ..Shape::default() };
    let live = generate(&shape).live;
    let folder = tempfile::tempdir().unwrap();
    let state = folder.path().join("tenant.json");
    std::fs::write(&state, serde_json::to_string(&TenantDocument::from_live_state(&live)).unwrap()).unwrap();
    let options = ExportOptions { assignments: true, ..ExportOptions::default() };
    let exported = export_single(&live, &options).unwrap();
    assert!(exported.contains("    user12345@contoso.example:"), "the user holds values");
    let file = folder.path().join("typo.yaml");
    std::fs::write(
        &file,
        exported.replace("    user12345@contoso.example:", "    uesr12345@contoso.example:"),
    )
    .unwrap();
    let (code, stdout, stderr) =
        run(entra_csa().args(["plan", "-f", file.to_str().unwrap(), "--state", state.to_str().unwrap()]));
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.contains("user `uesr12345@contoso.example` was not found in the tenant"), "{stderr}");
    assert!(stdout.contains("hint:     did you mean `user12345@contoso.example`?"), "{stderr}");
}

/// An unknown attribute or set in an assignment, directly or by group,
/// names the declared one it likely meant.
#[test]
fn an_unknown_attribute_names_the_declared_one() {
    let folder = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(repo("examples/contoso.yaml")).unwrap();
    let file = folder.path().join("projekt.yaml");
    std::fs::write(
        &file,
        text.replace("        Project: [Baker, Cascade]", "        Projekt: [Baker, Cascade]"),
    )
    .unwrap();
    let (code, _, stderr) = run(entra_csa().args(["validate", "-f", file.to_str().unwrap()]));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("attribute `Engineering.Projekt` is not declared in the files"), "{stderr}");
    assert!(stderr.contains("help: did you mean `Project`?"), "{stderr}");

    let groups = std::fs::read_to_string(repo("examples/groups/groups.yaml")).unwrap();
    let file = folder.path().join("groups.yaml");
    std::fs::write(&file, groups.replace("        Team: Payments", "        Taem: Payments")).unwrap();
    let (code, _, stderr) = run(entra_csa().args(["validate", "-f", file.to_str().unwrap()]));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("help: did you mean `Team`?"), "{stderr}");
}
