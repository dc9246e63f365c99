#!/usr/bin/env bash
# Installs the entra-csa release binary for this runner: picks the archive for
# the runner's OS and architecture, downloads it with the release's
# SHA256SUMS, refuses it unless its SHA-256 is the one listed (and the one
# pinned, when the workflow pins one), unpacks it and puts it on PATH.
#
# Environment: ENTRA_CSA_VERSION (e.g. 0.2.0), ENTRA_CSA_SHA256 (optional pin),
# ENTRA_CSA_RELEASES (base URL, …/releases/download), RUNNER_OS, RUNNER_ARCH,
# RUNNER_TEMP, GITHUB_PATH (all set by GitHub Actions but the first three).
set -euo pipefail

fail() {
  echo "::error title=entra-csa::$*" >&2
  exit 1
}

# The Rust target of a runner's OS and architecture, as release.yml builds them.
target_for() {
  case "$1/$2" in
    Linux/X64) echo x86_64-unknown-linux-musl ;;
    Linux/ARM64) echo aarch64-unknown-linux-musl ;;
    macOS/X64) echo x86_64-apple-darwin ;;
    macOS/ARM64) echo aarch64-apple-darwin ;;
    Windows/X64) echo x86_64-pc-windows-msvc ;;
    *) return 1 ;;
  esac
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  else
    shasum -a 256 "$1" | cut -d' ' -f1
  fi
}

version="${ENTRA_CSA_VERSION:?set the action input version, e.g. 0.2.0}"
version="${version#v}"
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$ ]] || fail "version '$version' is not a release version such as 0.2.0"
target="$(target_for "${RUNNER_OS:-}" "${RUNNER_ARCH:-}")" ||
  fail "no entra-csa release binary for ${RUNNER_OS:-?} on ${RUNNER_ARCH:-?}; build it with cargo install --locked entra-csa"
releases="${ENTRA_CSA_RELEASES:?the release download URL is not set}"

name="entra-csa-v${version}-${target}"
if [[ "$target" == *windows* ]]; then archive="$name.zip"; else archive="$name.tar.gz"; fi
work="$(mktemp -d "${RUNNER_TEMP:-/tmp}/entra-csa.XXXXXX")"
cd "$work"

download() {
  curl --fail --silent --show-error --location --retry 3 --output "$2" "$releases/v$version/$1" ||
    fail "cannot download $releases/v$version/$1"
}
download SHA256SUMS SHA256SUMS
download "$archive" "$archive"

listed="$(awk -v file="$archive" '$2 == file || $2 == "*" file { print $1 }' SHA256SUMS)"
[[ -n "$listed" ]] || fail "SHA256SUMS of v$version does not list $archive"
actual="$(sha256_of "$archive")"
[[ "$actual" == "$listed" ]] || fail "$archive has SHA-256 $actual, but SHA256SUMS lists $listed: refusing it"
pinned="$(printf '%s' "${ENTRA_CSA_SHA256:-}" | tr '[:upper:]' '[:lower:]')"
if [[ -n "$pinned" && "$actual" != "$pinned" ]]; then
  fail "$archive has SHA-256 $actual, but the workflow pins ${ENTRA_CSA_SHA256}: refusing it"
fi

if [[ "$archive" == *.zip ]]; then unzip -q "$archive"; else tar -xzf "$archive"; fi
binary="$work/$name/entra-csa"
[[ "$target" == *windows* ]] && binary="$binary.exe"
[[ -f "$binary" ]] || fail "$archive holds no $name/$(basename "$binary")"
chmod +x "$binary"
echo "$work/$name" >>"${GITHUB_PATH:?}"
echo "entra-csa v$version ($target) installed; SHA-256 $actual verified"
