//! Holds the layering that `src/lib.rs` describes: imports run down the list
//! `cli` → `emulator` → `graph` | `azure` | `tenant` → `render` → `plan` → `readers`
//! → `desired` → `model`, never up it; and the pure core (`model`, `desired`
//! but its file loader, `readers`, `plan`, `render`) reaches for no network, runtime,
//! filesystem, environment or clock.

use std::path::{Path, PathBuf};

/// Each top-level module and its layer; a module may use its own layer and those below.
const LAYERS: [(&str, u8); 10] = [
    ("model", 0),
    ("desired", 1),
    ("readers", 2),
    ("plan", 3),
    ("render", 4),
    ("tenant", 5),
    ("graph", 5),
    ("azure", 5),
    ("emulator", 6),
    ("cli", 7),
];

/// The highest layer of the pure core.
const PURE_CORE: u8 = 4;

/// What the pure core never names.
const IMPURE: [&str; 8] =
    ["tokio", "reqwest", "axum", "std::fs", "std::env", "Instant::now", "SystemTime::now", "std::net"];

fn layer(module: &str) -> Option<u8> {
    LAYERS.iter().find(|(name, _)| *name == module).map(|(_, layer)| *layer)
}

fn sources(folder: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(folder).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, found);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            found.push(path);
        }
    }
}

/// Every `src/` file below a top-level module, with that module's name.
fn module_files() -> Vec<(String, PathBuf, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    files
        .into_iter()
        .filter_map(|path| {
            let relative = path.strip_prefix(&src).unwrap().to_owned();
            let top = relative.components().next()?.as_os_str().to_str()?.trim_end_matches(".rs").to_owned();
            let text = std::fs::read_to_string(&path).unwrap();
            // Comments may name any module; only code counts.
            let code = text
                .lines()
                .filter(|line| !line.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            Some((top, relative, code))
        })
        .collect()
}

/// The top-level modules a file's code names as `crate::X`.
fn crate_modules(code: &str) -> Vec<String> {
    code.match_indices("crate::")
        .map(|(at, _)| {
            code[at + "crate::".len()..]
                .chars()
                .take_while(|character| character.is_alphanumeric() || *character == '_')
                .collect()
        })
        .collect()
}

#[test]
fn every_file_belongs_to_a_layer() {
    for (top, relative, _) in module_files() {
        if matches!(top.as_str(), "lib" | "main") {
            continue;
        }
        assert!(layer(&top).is_some(), "src/{} is in no layer of tests/architecture.rs", relative.display());
    }
}

#[test]
fn no_import_runs_up_the_layers() {
    let mut upward = Vec::new();
    for (top, relative, code) in module_files() {
        let Some(own) = layer(&top) else { continue };
        for used in crate_modules(&code) {
            if let Some(used_layer) = layer(&used)
                && used_layer > own
            {
                upward.push(format!("src/{} ({top}) uses crate::{used}", relative.display()));
            }
        }
    }
    assert!(upward.is_empty(), "imports that run up the layers:\n{}", upward.join("\n"));
}

#[test]
fn the_pure_core_does_no_input_or_output() {
    let mut impure = Vec::new();
    for (top, relative, code) in module_files() {
        let pure =
            layer(&top).is_some_and(|layer| layer <= PURE_CORE) && !relative.ends_with("desired/load.rs");
        for word in IMPURE.iter().filter(|word| pure && code.contains(*word)) {
            impure.push(format!("src/{} names {word}", relative.display()));
        }
    }
    assert!(impure.is_empty(), "the pure core talks to the world:\n{}", impure.join("\n"));
}

/// The emulator parses requests and writes answers with its own code
/// (`emulator/document.rs`), never the client's `graph::wire`: with one codec
/// on both sides a wrong shape would pass every test and fail on a real
/// tenant. The documented examples are the only bridge between the two.
#[test]
fn the_emulator_does_not_share_the_clients_codec() {
    let shared: Vec<String> = module_files()
        .into_iter()
        .filter(|(top, _, code)| {
            top == "emulator" && (code.contains("graph::wire") || code.contains("wire::"))
        })
        .map(|(_, relative, _)| format!("src/{}", relative.display()))
        .collect();
    assert!(shared.is_empty(), "the emulator uses the client's codec: {shared:?}");
}

#[test]
fn the_checks_above_can_fail() {
    assert_eq!(crate_modules("use crate::cli::x; let y = crate::model::Z;"), ["cli", "model"]);
    assert!(layer("cli") > layer("emulator") && layer("graph") > layer("render"));
}
