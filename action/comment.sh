#!/usr/bin/env bash
# Posts a Markdown file on the pull request as entra-csa's plan comment: the
# comment an earlier run posted (found by a hidden marker) is updated in
# place, so a pull request carries one plan comment, always the latest.
#
# Usage: comment.sh FILE. Environment: GH_TOKEN, GITHUB_REPOSITORY,
# ENTRA_CSA_PULL_REQUEST (the pull request's number), and optionally
# ENTRA_CSA_COMMENT_KEY to keep several plans apart on one pull request.
set -euo pipefail

file="${1:?usage: comment.sh FILE}"
repository="${GITHUB_REPOSITORY:?}"
pull_request="${ENTRA_CSA_PULL_REQUEST:?not a pull request: nothing to comment on}"
marker="<!-- entra-csa-plan:${ENTRA_CSA_COMMENT_KEY:-default} -->"

# GitHub refuses comments over 65,536 characters; keep the start and say where the rest is.
body="$(mktemp)"
{
  echo "$marker"
  if [[ "$(wc -c <"$file")" -gt 60000 ]]; then
    head -c 60000 "$file"
    echo
    echo
    echo "_The plan is longer than a comment can hold; the whole plan is in the job summary._"
  else
    cat "$file"
  fi
} >"$body"

existing="$(gh api --paginate "repos/$repository/issues/$pull_request/comments" \
  --jq ".[] | select(.body | startswith(\"$marker\")) | .id" | tail -n 1)"
if [[ -n "$existing" ]]; then
  gh api --method PATCH "repos/$repository/issues/comments/$existing" -F "body=@$body" >/dev/null
  echo "updated the plan comment $existing"
else
  gh api --method POST "repos/$repository/issues/$pull_request/comments" -F "body=@$body" >/dev/null
  echo "posted the plan comment"
fi
