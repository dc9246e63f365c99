#!/usr/bin/env bash
# Installs the entra-csa release binary for this runner: picks the archive for
# the runner's OS and architecture, downloads it with the release's
# SHA256SUMS, refuses it unless its SHA-256 is the one listed (and the one
# pinned, when the workflow pins one), unpacks it into the runner's tool cache
# and puts it on PATH. A later step or job on the same runner (self-hosted
# runners keep their tool cache) finds it there and downloads nothing.
#
# Where releases come from: this project's own repository, named below as a
# constant, on the GitHub server the runner talks to (GITHUB_SERVER_URL,
# which the runner always sets). Not `github.action_repository`, which GitHub
# leaves empty inside composite actions
# (https://github.com/actions/runner/issues/2473). ENTRA_CSA_RELEASES (the
# action's `releases-url` input) points elsewhere: a mirror, or a fork's
# own releases.
#
# Environment: ENTRA_CSA_VERSION (e.g. 0.2.0), ENTRA_CSA_SHA256 (optional pin),
# ENTRA_CSA_RELEASES (optional base URL, …/releases/download), and what the
# runner sets: GITHUB_SERVER_URL, RUNNER_OS, RUNNER_ARCH, RUNNER_TEMP,
# RUNNER_TOOL_CACHE, GITHUB_PATH, GITHUB_OUTPUT.
set -euo pipefail

# The repository whose releases hold the binaries (Cargo.toml's `repository`).
RELEASES_REPOSITORY="entra-csa/entra-csa"

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
releases="${ENTRA_CSA_RELEASES:-}"
if [[ -z "$releases" ]]; then
  releases="${GITHUB_SERVER_URL:-https://github.com}/$RELEASES_REPOSITORY/releases/download"
fi
pinned="$(printf '%s' "${ENTRA_CSA_SHA256:-}" | tr '[:upper:]' '[:lower:]')"

name="entra-csa-v${version}-${target}"
if [[ "$target" == *windows* ]]; then
  archive="$name.zip" exe="entra-csa.exe"
else
  archive="$name.tar.gz" exe="entra-csa"
fi

# The tool cache (the layout of @actions/tool-cache: TOOL/VERSION/ARCH, and
# ARCH.complete beside it once the folder is whole). The archive's SHA-256
# is kept with it, so that a pin is checked on a cache hit too.
cache="${RUNNER_TOOL_CACHE:-${RUNNER_TEMP:-/tmp}/tool-cache}/entra-csa/$version"
folder="$cache/$target"
put_on_path() {
  echo "$folder" >>"${GITHUB_PATH:?}"
  echo "path=$folder/$exe" >>"${GITHUB_OUTPUT:-/dev/null}"
}
if [[ -f "$cache/$target.complete" && -x "$folder/$exe" && -f "$folder/archive.sha256" ]]; then
  cached="$(cat "$folder/archive.sha256")"
  if [[ -z "$pinned" || "$cached" == "$pinned" ]]; then
    put_on_path
    echo "entra-csa v$version ($target) found in the tool cache; SHA-256 $cached verified when it was stored"
    exit 0
  fi
  echo "::warning title=entra-csa::the cached $archive has SHA-256 $cached, not the pinned $pinned: downloading it again"
fi

work="$(mktemp -d "${RUNNER_TEMP:-/tmp}/entra-csa.XXXXXX")"
trap 'rm -rf "$work"' EXIT
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
if [[ -n "$pinned" && "$actual" != "$pinned" ]]; then
  fail "$archive has SHA-256 $actual, but the workflow pins ${ENTRA_CSA_SHA256}: refusing it"
fi

if [[ "$archive" == *.zip ]]; then unzip -q "$archive"; else tar -xzf "$archive"; fi
[[ -f "$name/$exe" ]] || fail "$archive holds no $name/$exe"
rm -rf "$folder" "$cache/$target.complete"
mkdir -p "$folder"
cp "$name/$exe" "$folder/$exe"
chmod +x "$folder/$exe"
echo "$actual" >"$folder/archive.sha256"
touch "$cache/$target.complete"
put_on_path
echo "entra-csa v$version ($target) installed from $releases; SHA-256 $actual verified"
