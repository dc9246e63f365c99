#!/usr/bin/env bash
# Refuses a release whose tag does not name the crate's version: the tag
# v1.2.3 must come with `version = "1.2.3"` in Cargo.toml's [package], or the
# archives, the crate and the image would carry three different versions.
#
# Usage: check-tag.sh TAG [Cargo.toml]
set -euo pipefail

tag="${1:?usage: check-tag.sh TAG [Cargo.toml]}"
manifest="${2:-Cargo.toml}"
# The first `version = "…"` of the [package] table.
version="$(awk '
  /^\[/ { in_package = ($0 == "[package]") }
  in_package && /^version[[:space:]]*=/ {
    sub(/^version[[:space:]]*=[[:space:]]*"/, ""); sub(/".*$/, ""); print; exit
  }' "$manifest")"
[[ -n "$version" ]] || { echo "::error::$manifest has no version in [package]" >&2; exit 1; }
if [[ "$tag" != "v$version" ]]; then
  echo "::error::the tag $tag does not match the crate's version $version ($manifest): tag v$version, or bump the version first" >&2
  exit 1
fi
echo "the tag $tag matches the crate's version $version"
