//! The troubleshooting page and the errors that point at it: every anchor an
//! error can name (and every `troubleshooting.md#…` the code writes) exists
//! on the page, every link within the page lands, and the real binary names
//! the right entry for an unreachable Graph, a 403 from the emulator, a
//! stale plan and an export that would overwrite a hand-written file.

use std::collections::BTreeSet;
use std::path::Path;

use entra_csa::cli::troubleshooting::{ANCHORS, PAGE, see};
use entra_csa::emulator::EmulatorConfig;
use serde_json::json;

use crate::graph_support::{contoso_seed, emulator, jwt, run_cli};
use crate::launch::{entra_csa, run};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn page() -> String {
    std::fs::read_to_string(root().join(PAGE)).expect("the troubleshooting page exists")
}

/// The `<a id="…">` anchors of the page.
fn page_anchors() -> BTreeSet<String> {
    let page = page();
    page.split("<a id=\"").skip(1).map(|rest| rest[..rest.find('"').unwrap()].to_owned()).collect()
}

/// Every `troubleshooting.md#anchor` written in `src/`.
fn anchors_in_source(folder: &Path, found: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(folder).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            anchors_in_source(&path, found);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            for rest in text.split("troubleshooting.md#").skip(1) {
                let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '-')).unwrap_or(rest.len());
                // `troubleshooting.md#…` in a comment is a placeholder, not an anchor.
                if end > 0 {
                    found.insert(rest[..end].to_owned());
                }
            }
        }
    }
}

#[test]
fn every_anchor_an_error_names_exists_on_the_page() {
    let on_page = page_anchors();
    for anchor in ANCHORS {
        assert!(on_page.contains(anchor), "{PAGE} has no <a id=\"{anchor}\">");
    }
    let mut in_source = BTreeSet::new();
    anchors_in_source(&root().join("src"), &mut in_source);
    for anchor in &in_source {
        assert!(on_page.contains(anchor), "src names {PAGE}#{anchor}, which the page lacks");
    }
    // And no entry of the page is unreachable from an error.
    let named: BTreeSet<String> = ANCHORS.iter().map(|anchor| (*anchor).to_owned()).collect();
    assert_eq!(on_page, named, "the page's entries and the errors' anchors differ");
}

#[test]
fn every_link_within_the_page_lands_on_an_anchor() {
    let page = page();
    let anchors = page_anchors();
    let links: Vec<&str> = page.split("](#").skip(1).map(|rest| &rest[..rest.find(')').unwrap()]).collect();
    assert!(links.len() >= ANCHORS.len(), "{links:?}");
    for link in links {
        assert!(anchors.contains(link), "#{link} is no anchor of {PAGE}");
    }
}

#[test]
fn an_unreachable_graph_names_its_entry() {
    let folder = tempfile::tempdir().unwrap();
    let file = root().join("examples/minimal/minimal.yaml");
    // Nothing listens on port 9 of loopback: the connection is refused at once.
    let (code, _, stderr) = run(entra_csa()
        .current_dir(folder.path())
        .env("ENTRA_CSA_ACCESS_TOKEN", "t")
        .args(["plan", "-f", file.to_str().unwrap(), "--graph-url", "http://127.0.0.1:9"]));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("could not connect"), "{stderr}");
    assert!(stderr.trim_end().ends_with(&see("graph-unreachable")), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_of_graph_names_its_entry() {
    let emulator = emulator(EmulatorConfig { seed_state: contoso_seed(), ..Default::default() }).await;
    let url = emulator.base_url();
    let example = root().join("examples/contoso.yaml").display().to_string();
    // Values may be read, but not the definitions: Graph answers 403.
    let token = jwt(json!({ "roles": ["CustomSecAttributeAssignment.Read.All"] }));
    let args: Vec<String> =
        ["plan", "-f", &example, "--graph-url", &url].iter().map(|part| (*part).to_owned()).collect();
    let (code, _, stderr) = run_cli(args, &token).await;
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("HTTP 403 Authorization_RequestDenied"), "{stderr}");
    assert!(stderr.trim_end().ends_with(&see("authorization-requestdenied")), "{stderr}");
}

#[test]
fn a_stale_plan_and_a_refused_export_name_their_entries() {
    let folder = tempfile::tempdir().unwrap();
    let state = folder.path().join("tenant.json");
    std::fs::copy(root().join("examples/contoso-live.json"), &state).unwrap();
    let state = state.to_str().unwrap();
    let example = root().join("examples/contoso.yaml");
    let saved = folder.path().join("plan.json");
    let saved = saved.to_str().unwrap();
    let (code, _, stderr) =
        run(entra_csa().args(["plan", "-f", example.to_str().unwrap(), "--state", state, "--out", saved]));
    assert_eq!(code, 0, "{stderr}");
    // Someone changes the tenant: a set's description, in the state file.
    let text = std::fs::read_to_string(state).unwrap();
    let changed = text.replacen("\"description\": \"", "\"description\": \"Changed since: ", 1);
    assert_ne!(text, changed);
    std::fs::write(state, changed).unwrap();
    let (code, _, stderr) = run(entra_csa().args(["apply", saved, "--auto-approve"]));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("is stale"), "{stderr}");
    assert!(stderr.trim_end().ends_with(&see("stale-plan")), "{stderr}");

    std::fs::write(folder.path().join("all.yaml"), "# written by hand\n").unwrap();
    let (code, _, stderr) =
        run(entra_csa().current_dir(folder.path()).args(["export", "--state", state, "-o", "all.yaml"]));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.trim_end().ends_with(&see("export-refuses-to-overwrite")), "{stderr}");
}
