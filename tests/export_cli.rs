//! `entra-csa export` against a state file: the files it writes are valid,
//! and a plan of them against the same tenant reports no changes — as one
//! file, as a folder, with and without assignments.

use std::path::{Path, PathBuf};

use crate::launch::entra_csa;

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples").join(name)
}

fn run(folder: &Path, args: &[&str]) -> (i32, String, String) {
    let output = entra_csa().current_dir(folder).args(args).output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A scratch folder holding the Contoso tenant as `tenant.json`.
fn contoso() -> tempfile::TempDir {
    let folder = tempfile::tempdir().unwrap();
    std::fs::copy(example("contoso-live.json"), folder.path().join("tenant.json")).unwrap();
    folder
}

fn assert_in_sync(folder: &Path, files: &str) {
    let (code, stdout, stderr) =
        run(folder, &["plan", "-f", files, "--state", "tenant.json", "--detailed-exitcode"]);
    assert_eq!(code, 0, "plan of the export is not empty:\n{stdout}{stderr}");
    assert!(stdout.contains("No changes."), "{stdout}");
}

/// The Contoso tenant after the example is applied: a Deprecated attribute
/// (`Engineering.ProjectCode`) that still holds a value on bob, deactivated
/// values, every type, collections.
fn contoso_applied() -> tempfile::TempDir {
    let folder = contoso();
    let path = folder.path().join("tenant.json");
    let mut tenant: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let bob = tenant["users"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|user| user["userPrincipalName"] == "bob@contoso.com")
        .unwrap();
    bob["customSecurityAttributes"]["Engineering"]["ProjectCode"] = "PC-17".into();
    std::fs::write(&path, serde_json::to_string_pretty(&tenant).unwrap()).unwrap();
    let examples = example("contoso.yaml");
    let (code, _, stderr) = run(
        folder.path(),
        &["apply", "-f", examples.to_str().unwrap(), "--state", "tenant.json", "--auto-approve"],
    );
    assert_eq!(code, 0, "{stderr}");
    folder
}

#[test]
fn an_exported_file_plans_no_changes() {
    let folder = contoso_applied();
    let (code, _, stderr) =
        run(folder.path(), &["export", "--state", "tenant.json", "--assignments", "-o", "all.yaml"]);
    assert_eq!(code, 0, "{stderr}");
    let text = std::fs::read_to_string(folder.path().join("all.yaml")).unwrap();
    assert!(text.contains("Finance:") && text.contains("alice@contoso.com:"), "{text}");
    assert!(text.contains("status: Deprecated"), "{text}");
    assert!(text.contains("active: false"), "{text}");
    assert!(!text.contains("PC-17"), "a Deprecated attribute's value is not exported:\n{text}");
    assert_in_sync(folder.path(), "all.yaml");
    let tenant = std::fs::read_to_string(folder.path().join("tenant.json")).unwrap();
    assert!(tenant.contains("PC-17"), "the value on the Deprecated attribute stays in the tenant");
}

#[test]
fn an_exported_folder_plans_no_changes_and_carries_its_schema() {
    let folder = contoso_applied();
    let (code, _, stderr) =
        run(folder.path(), &["export", "--state", "tenant.json", "--assignments", "-o", "tenant/"]);
    assert_eq!(code, 0, "{stderr}");
    let mut names: Vec<String> = std::fs::read_dir(folder.path().join("tenant"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            ".entra-csa-export.json",
            "Engineering.yaml",
            "Finance.yaml",
            "Marketing.yaml",
            "Security.yaml",
            "_assignments.yaml",
            "entra-csa.schema.json"
        ]
    );
    let engineering = std::fs::read_to_string(folder.path().join("tenant/Engineering.yaml")).unwrap();
    assert!(
        engineering.starts_with("# yaml-language-server: $schema=entra-csa.schema.json"),
        "{engineering}"
    );
    let (code, _, stderr) = run(folder.path(), &["validate", "-f", "tenant"]);
    assert_eq!(code, 0, "{stderr}");
    assert_in_sync(folder.path(), "tenant");
}

#[test]
fn export_without_assignments_and_of_chosen_sets() {
    let folder = contoso();
    let (code, stdout, stderr) =
        run(folder.path(), &["export", "--state", "tenant.json", "--set", "Marketing"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("Marketing:") && !stdout.contains("Engineering:"), "{stdout}");
    assert!(!stdout.contains("assignments:"), "{stdout}");
    std::fs::write(folder.path().join("marketing.yaml"), &stdout).unwrap();
    assert_in_sync(folder.path(), "marketing.yaml");
}

#[test]
fn an_unknown_set_is_named_with_a_suggestion() {
    let folder = contoso();
    let (code, _, stderr) = run(folder.path(), &["export", "--state", "tenant.json", "--set", "Marketting"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("the tenant has no attribute set `Marketting`; did you mean `Marketing`?"),
        "{stderr}"
    );
}

/// Export through Microsoft Graph (the emulator), then plan the export
/// against the same tenant: no changes. The tenant holds Contoso after its
/// change (a Deprecated attribute with a value left on it, deactivated values,
/// every type, collections) and 3,060 synthetic principals more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_through_graph_of_thousands_of_principals_plans_no_changes() {
    use crate::graph_support::*;
    use entra_csa::emulator::EmulatorConfig;
    use entra_csa::graph::wire::TenantDocument;
    use entra_csa::model::synthetic::{Shape, generate};

    let mut seed = contoso_seed();
    let bob = seed
        .users
        .iter_mut()
        .find(|user| user.user_principal_name.as_deref() == Some("bob@contoso.com"))
        .unwrap();
    bob.custom_security_attributes.as_mut().unwrap()["Engineering"]["ProjectCode"] = "PC-17".into();
    let synthetic = generate(&Shape { users: 3_000, service_principals: 60, ..Shape::default() });
    let more = seed_of(&TenantDocument::from_live_state(&synthetic.live));
    seed.attribute_sets.extend(more.attribute_sets);
    seed.custom_security_attribute_definitions.extend(more.custom_security_attribute_definitions);
    seed.users.extend(more.users);
    seed.service_principals.extend(more.service_principals);

    let emulator = emulator(EmulatorConfig { seed_state: seed, ..Default::default() }).await;
    apply_and_converge(&tenant(&emulator), &desired("examples/contoso.yaml")).await;

    let folder = tempfile::tempdir().unwrap();
    let out = folder.path().join("tenant");
    let url = emulator.base_url();
    let token = "export-round-trip-token";
    let (code, stdout, stderr) = run_cli(
        vec![
            "export".into(),
            "--assignments".into(),
            "-o".into(),
            out.display().to_string() + "/",
            "--graph-url".into(),
            url.clone(),
        ],
        token,
    )
    .await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    let assignments = std::fs::read_to_string(out.join("_assignments.yaml")).unwrap();
    assert!(assignments.contains("user2999@contoso.example"), "the synthetic principals are exported");
    assert!(!assignments.contains("PC-17"), "a Deprecated attribute's value is not exported");

    let (code, stdout, stderr) = run_cli(
        vec![
            "plan".into(),
            "-f".into(),
            out.display().to_string(),
            "--graph-url".into(),
            url,
            "--detailed-exitcode".into(),
        ],
        token,
    )
    .await;
    assert_eq!(code, 0, "the plan of the export is not empty:\n{stdout}{stderr}");
    assert!(stdout.contains("No changes."), "{stdout}");
    let state = emulator.state();
    assert!(serde_json::to_string(&state).unwrap().contains("PC-17"), "the value stays in the tenant");
    emulator.shutdown().await;
}

/// `export -o DIR` (and `-o FILE`) overwrites only what it wrote itself and
/// nobody edited since, as its record `.entra-csa-export.json` says; any
/// other file makes it refuse, write nothing and name the file, unless
/// `--force`. A file that already holds the export's text is no obstacle.
#[test]
fn export_never_overwrites_a_file_it_did_not_write_without_force() {
    let folder = contoso();
    let export = |extra: &[&str]| {
        let mut args = vec!["export", "--state", "tenant.json", "--assignments", "-o", "tenant/"];
        args.extend_from_slice(extra);
        run(folder.path(), &args)
    };
    let tenant = folder.path().join("tenant");
    std::fs::create_dir(&tenant).unwrap();
    std::fs::write(tenant.join("Engineering.yaml"), "# written by hand\n").unwrap();
    std::fs::write(tenant.join("notes.txt"), "kept\n").unwrap();

    let (code, _, stderr) = export(&[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("Engineering.yaml (not written by export"), "{stderr}");
    assert!(stderr.contains("Nothing was written") && stderr.contains("--force"), "{stderr}");
    let names = |folder: &Path| {
        let mut names: Vec<String> = std::fs::read_dir(folder)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    };
    assert_eq!(names(&tenant), ["Engineering.yaml", "notes.txt"], "nothing was written");

    let (code, _, stderr) = export(&["--force"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(names(&tenant).contains(&".entra-csa-export.json".to_owned()));
    assert_eq!(std::fs::read_to_string(tenant.join("notes.txt")).unwrap(), "kept\n", "never touched");
    assert_in_sync(folder.path(), "tenant/");

    // Unedited, the export's own files are overwritten freely.
    let (code, _, stderr) = export(&[]);
    assert_eq!(code, 0, "{stderr}");

    // Edited by hand since: refused again, the edit kept.
    let edited = std::fs::read_to_string(tenant.join("Marketing.yaml")).unwrap() + "# reviewed by Dana\n";
    std::fs::write(tenant.join("Marketing.yaml"), &edited).unwrap();
    let (code, _, stderr) = export(&[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("Marketing.yaml (edited since export wrote it)"), "{stderr}");
    assert_eq!(std::fs::read_to_string(tenant.join("Marketing.yaml")).unwrap(), edited);

    // One file: the same rule, the record beside it.
    std::fs::write(folder.path().join("all.yaml"), "# mine\n").unwrap();
    let (code, _, stderr) = run(folder.path(), &["export", "--state", "tenant.json", "-o", "all.yaml"]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(std::fs::read_to_string(folder.path().join("all.yaml")).unwrap(), "# mine\n");
    let (code, _, stderr) =
        run(folder.path(), &["export", "--state", "tenant.json", "-o", "all.yaml", "--force"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) =
        run(folder.path(), &["export", "--state", "tenant.json", "--set", "Engineering", "-o", "all.yaml"]);
    assert_eq!(code, 0, "its own file, unedited: {stderr}");
}

#[test]
fn a_set_over_its_cap_exports_and_plans_no_changes() {
    // The portal lowered the cap after three definitions were made; one is
    // Deprecated, and deprecated definitions count.
    let definition = |name: &str, status: &str| {
        serde_json::json!({
            "id": format!("Engineering_{name}"), "attributeSet": "Engineering", "name": name,
            "description": null, "type": "String", "isCollection": false, "isSearchable": true,
            "status": status, "usePreDefinedValuesOnly": false, "allowedValues": []
        })
    };
    let tenant = serde_json::json!({
        "attributeSets": [{ "id": "Engineering", "description": null, "maxAttributesPerSet": 2 }],
        "customSecurityAttributeDefinitions": [
            definition("Project", "Available"), definition("Level", "Available"), definition("Old", "Deprecated")
        ],
        "users": [], "servicePrincipals": []
    });
    let folder = tempfile::tempdir().unwrap();
    std::fs::write(folder.path().join("tenant.json"), tenant.to_string()).unwrap();
    let (code, _, stderr) = run(folder.path(), &["export", "--state", "tenant.json", "-o", "all.yaml"]);
    assert_eq!(code, 0, "{stderr}");
    let text = std::fs::read_to_string(folder.path().join("all.yaml")).unwrap();
    assert!(text.contains("maxAttributesPerSet: 2"), "{text}");
    assert_in_sync(folder.path(), "all.yaml");

    // One more definition in that set is a conflict.
    let more = text.replace("      Project:\n", "      Newer:\n        type: String\n      Project:\n");
    assert_ne!(more, text, "{text}");
    std::fs::write(folder.path().join("more.yaml"), more).unwrap();
    let (code, stdout, stderr) = run(folder.path(), &["plan", "-f", "more.yaml", "--state", "tenant.json"]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(format!("{stdout}{stderr}").contains("maxAttributesPerSet"), "{stdout}{stderr}");
}

#[test]
fn an_apply_to_a_state_file_keeps_values_unlike_their_definition_as_written() {
    let folder = contoso();
    let path = folder.path().join("tenant.json");
    let mut tenant: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let alice = tenant["users"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|user| user["userPrincipalName"] == "alice@contoso.com")
        .unwrap();
    // CostCenter is an Integer (and annotated `#Int32` in this file);
    // Unlisted has no definition at all.
    alice["customSecurityAttributes"]["Engineering"]["CostCenter"] = "8".into();
    alice["customSecurityAttributes"]["Engineering"]["Unlisted"] = "kept".into();
    std::fs::write(&path, serde_json::to_string_pretty(&tenant).unwrap()).unwrap();
    let files = example("contoso.yaml");
    let (code, stdout, stderr) = run(
        folder.path(),
        &["apply", "-f", files.to_str().unwrap(), "--state", "tenant.json", "--auto-approve"],
    );
    // contoso.yaml assigns alice's CostCenter: a conflict, and nothing is written.
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stdout.contains("user:alice@contoso.com/Engineering.CostCenter` holds the string `\"8\"`"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Engineering.Unlisted` holds a value of an attribute whose definition"),
        "{stdout}"
    );
    let after: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(after, tenant, "a refused apply writes nothing");

    // Files that leave Engineering to the tenant apply (the file is
    // rewritten), and the values are written back as they were.
    let (code, stdout, stderr) =
        run(folder.path(), &["export", "--state", "tenant.json", "--assignments", "-o", "all.yaml"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stderr.contains("Engineering.CostCenter holds the string `\"8\"`"), "{stderr}");
    std::fs::write(
        folder.path().join("marketing.yaml"),
        "version: 1\nattributeSets:\n  Marketing:\n    description: Edited by the files\n",
    )
    .unwrap();
    let (code, stdout, stderr) =
        run(folder.path(), &["apply", "-f", "marketing.yaml", "--state", "tenant.json", "--auto-approve"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let after: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let alice_after = after["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|user| user["userPrincipalName"] == "alice@contoso.com")
        .unwrap();
    assert_eq!(alice_after["customSecurityAttributes"]["Engineering"]["CostCenter"], "8");
    assert_eq!(alice_after["customSecurityAttributes"]["Engineering"]["Unlisted"], "kept");
    let marketing = after["attributeSets"].as_array().unwrap().iter().find(|set| set["id"] == "Marketing");
    assert_eq!(marketing.unwrap()["description"], "Edited by the files", "the apply wrote the file");
}
