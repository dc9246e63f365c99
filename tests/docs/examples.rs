//! The `console` examples of the book are run, and what each page shows is
//! held to what the binary prints (trycmd: a `$ ` line is a command, the
//! lines after it its stdout and stderr, `? N` its exit code, `[..]` any
//! text within a line, `...` any lines).
//!
//! Each page runs in a scratch folder of its own holding a copy of
//! `examples/`, `tenant.json` (a copy of `examples/contoso-live.json`, as
//! the pages tell the reader to make) and `mistakes/` (the validation
//! fixture `tests/fixtures/validate/first-hour/`), against an emulator of its own
//! seeded with Contoso's tenant: `ENTRA_CSA_GRAPH_URL` and
//! `ENTRA_CSA_ACCESS_TOKEN` point at it, as the tutorial's `export` line
//! does. No tenant, no credentials, no network.
//!
//! After changing what a command prints, `TRYCMD=overwrite cargo test
//! --test docs examples` rewrites the outputs in the pages; review the diff.

use std::path::{Path, PathBuf};

use entra_csa::emulator::document::StateDocument;
use entra_csa::emulator::{self, EmulatorConfig};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every page of the book with a `console` block.
fn pages_with_examples() -> Vec<PathBuf> {
    let mut pages = Vec::new();
    let mut folders = vec![root().join("docs/src")];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|extension| extension == "md")
                && std::fs::read_to_string(&path).unwrap().contains("```console")
            {
                pages.push(path);
            }
        }
    }
    pages.sort();
    pages
}

fn copy_folder(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_folder(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

/// A page's scratch folder: what the reader has after cloning and copying
/// the state file.
fn scratch_folder() -> tempfile::TempDir {
    let folder = tempfile::tempdir().unwrap();
    copy_folder(&root().join("examples"), &folder.path().join("examples"));
    copy_folder(&root().join("schema"), &folder.path().join("schema"));
    std::fs::copy(root().join("examples/contoso-live.json"), folder.path().join("tenant.json")).unwrap();
    // The file-format page shows what `validate` says of a file with mistakes.
    copy_folder(&root().join("tests/fixtures/validate/first-hour"), &folder.path().join("mistakes"));
    folder
}

fn contoso() -> StateDocument {
    serde_json::from_str(&std::fs::read_to_string(root().join("examples/contoso-live.json")).unwrap())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_books_console_examples_print_what_the_pages_show() {
    let pages = pages_with_examples();
    assert!(!pages.is_empty(), "no page of the book has a console example");
    for page in pages {
        let emulator =
            emulator::start(EmulatorConfig { seed_state: contoso(), ..Default::default() }).await.unwrap();
        let folder = scratch_folder();
        // trycmd runs a page without an `.in` folder in the process's
        // folder; this test binary runs its pages one after another.
        let cases = trycmd::TestCases::new();
        let base_url = emulator.base_url();
        let page_for_thread = page.clone();
        let folder_path = folder.path().to_owned();
        tokio::task::spawn_blocking(move || {
            std::env::set_current_dir(&folder_path).unwrap();
            cases
                .register_bin("entra-csa", PathBuf::from(env!("CARGO_BIN_EXE_entra-csa")))
                .env("ENTRA_CSA_GRAPH_URL", base_url)
                .env("ENTRA_CSA_ACCESS_TOKEN", "anything")
                .env("NO_COLOR", "1")
                .env("COLUMNS", "100")
                .case(&page_for_thread)
                .run();
        })
        .await
        .unwrap_or_else(|panic| panic!("{}: {panic:?}", page.display()));
        std::env::set_current_dir(root()).unwrap();
        drop(emulator);
    }
}

/// The file-format page shows the file its `validate` example checks, whole,
/// so the line numbers in the output point at the lines the reader sees.
#[test]
fn the_file_with_mistakes_is_shown_as_it_is_checked() {
    let page = std::fs::read_to_string(root().join("docs/src/reference/file-format.md")).unwrap();
    let fixture =
        std::fs::read_to_string(root().join("tests/fixtures/validate/first-hour/desired.yaml")).unwrap();
    assert!(
        page.contains(&format!("```yaml\n{fixture}```")),
        "docs/src/reference/file-format.md no longer shows the fixture"
    );
}
