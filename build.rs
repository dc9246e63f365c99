//! Records the commit the binary is built from, for `entra-csa --version`:
//! `ENTRA_CSA_COMMIT` when a release build sets it, else this checkout's git
//! HEAD, else the commit `cargo package` wrote into `.cargo_vcs_info.json`,
//! else "unknown".

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=ENTRA_CSA_COMMIT");
    let commit = std::env::var("ENTRA_CSA_COMMIT")
        .ok()
        .filter(|commit| !commit.trim().is_empty())
        .or_else(git_head)
        .or_else(packaged_commit)
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=ENTRA_CSA_COMMIT={}", commit.trim());
}

fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    (output.status.success() && !text.trim().is_empty()).then(|| text.trim().to_owned())
}

/// HEAD of the repository this package is the top of (not of a repository
/// that merely contains an unpacked crate), rebuilt when HEAD moves.
fn git_head() -> Option<String> {
    let top = git(&["rev-parse", "--show-toplevel"])?;
    let here = std::env::var("CARGO_MANIFEST_DIR").ok()?;
    if Path::new(&top).canonicalize().ok()? != Path::new(&here).canonicalize().ok()? {
        return None;
    }
    // Only files that exist: a missing one would rerun this script on every build.
    let branch = git(&["symbolic-ref", "-q", "HEAD"]);
    for name in ["HEAD", "packed-refs"].into_iter().map(str::to_owned).chain(branch) {
        if let Some(path) = git(&["rev-parse", "--git-path", &name])
            && Path::new(&path).exists()
        {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    git(&["rev-parse", "--short=12", "HEAD"])
}

/// The commit `cargo package` recorded, in a crate built from crates.io.
fn packaged_commit() -> Option<String> {
    let text = std::fs::read_to_string(".cargo_vcs_info.json").ok()?;
    let start = text.find("\"sha1\"")?;
    let rest = &text[start + "\"sha1\"".len()..];
    let value = rest.split('"').nth(1)?;
    (value.len() >= 12 && value.chars().all(|c| c.is_ascii_hexdigit())).then(|| value[..12].to_owned())
}
