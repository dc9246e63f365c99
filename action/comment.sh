#!/usr/bin/env bash
# Posts the plan report (report.sh) on the pull request as entra-csa's plan
# comment, through GitHub's REST API: the comment an earlier run posted is
# updated in place, so a pull request carries one plan comment, always the
# latest. Only a comment the workflow's own identity wrote is ever updated:
# anyone may post a comment that starts with the marker, and a workflow that
# wrote the real plan into it would let its author edit the plan afterwards.
# Such comments are named in a warning and left alone.
#
# The identity: ENTRA_CSA_COMMENT_AUTHOR when set (a GitHub App's token:
# `my-app[bot]`), else the token's user (GET /user), else
# `github-actions[bot]`, the author of everything the workflow's GITHUB_TOKEN
# writes (GET /user refuses that token).
#
# Environment: GH_TOKEN, GITHUB_REPOSITORY, GITHUB_API_URL, GITHUB_EVENT_NAME,
# ENTRA_CSA_PULL_REQUEST (the pull request's number), ENTRA_CSA_COMMENT_KEY
# (keeps several plans apart on one pull request), ENTRA_CSA_COMMENT_AUTHOR,
# and those of report.sh.
set -euo pipefail

# shellcheck source=report.sh
source "$(dirname "$0")/report.sh"

if [[ "${GITHUB_EVENT_NAME:-}" != pull_request ]]; then
  echo "::notice title=entra-csa::comment is on, but a ${GITHUB_EVENT_NAME:-?} event has no pull request to comment on; the plan is in the job summary"
  exit 0
fi
repository="${GITHUB_REPOSITORY:?}"
pull_request="${ENTRA_CSA_PULL_REQUEST:?the pull_request event names no pull request}"
[[ "$pull_request" =~ ^[0-9]+$ ]] || { echo "::error title=entra-csa::not a pull request number: $pull_request" >&2; exit 1; }
api="${GITHUB_API_URL:-https://api.github.com}"
key="${ENTRA_CSA_COMMENT_KEY:-default}"
marker="<!-- entra-csa-plan:$key -->"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# One call to the API: METHOD PATH [BODY-FILE]. The token goes to curl on
# its standard input, never on a command line. Prints the answer, and
# returns 1 unless the status is 2xx.
call() {
  local method="$1" path="$2" data=()
  [[ -n "${3:-}" ]] && data=(--header "Content-Type: application/json" --data-binary "@$3")
  local status
  status="$(printf 'header = "Authorization: Bearer %s"\n' "${GH_TOKEN:?}" |
    curl --config - --silent --show-error --location --retry 3 \
      --request "$method" --header "Accept: application/vnd.github+json" \
      --header "X-GitHub-Api-Version: 2022-11-28" ${data[@]+"${data[@]}"} \
      --output "$work/answer" --write-out '%{http_code}' "$api/$path")" || return 1
  cat "$work/answer"
  [[ "$status" == 2* ]]
}

author="${ENTRA_CSA_COMMENT_AUTHOR:-}"
if [[ -z "$author" ]]; then
  author="$(call GET user 2>/dev/null | jq -r '.login // empty' 2>/dev/null || true)"
  author="${author:-github-actions[bot]}"
fi

# GitHub refuses comments over 65,536 characters; the Markdown plan keeps
# under 60,000, and an error report is short, but cut all the same.
{
  echo "$marker"
  plan_report "${ENTRA_CSA_PLAN_DIR:?}"
} >"$work/report.md"
if [[ "$(wc -c <"$work/report.md")" -gt 65000 ]]; then
  head -c 64000 "$work/report.md" >"$work/cut.md"
  printf '\n\n_Cut to fit a comment: the whole plan is in the job summary and the plan artifact._\n' >>"$work/cut.md"
  mv "$work/cut.md" "$work/report.md"
fi
jq --raw-input --slurp '{body: .}' <"$work/report.md" >"$work/body.json"

# Every comment on the pull request, 100 a page.
: >"$work/comments.json"
page=1
while :; do
  call GET "repos/$repository/issues/$pull_request/comments?per_page=100&page=$page" >"$work/page.json" ||
    { echo "::error title=entra-csa::cannot list the comments of #$pull_request: $(cat "$work/page.json")" >&2; exit 1; }
  jq -c '.[]' "$work/page.json" >>"$work/comments.json"
  [[ "$(jq length "$work/page.json")" -lt 100 ]] && break
  page=$((page + 1))
done

marked='select(.body | startswith($marker))'
jq -r --arg marker "$marker" --arg author "$author" \
  "$marked | select(.user.login != \$author) | \"\\(.id) \\(.user.login)\"" "$work/comments.json" |
  while read -r id login; do
    echo "::warning title=entra-csa::comment $id by $login starts with the plan marker but was not written by $author: left alone"
  done
existing="$(jq -r --arg marker "$marker" --arg author "$author" \
  "$marked | select(.user.login == \$author) | .id" "$work/comments.json" | tail -n 1)"

if [[ -n "$existing" ]]; then
  call PATCH "repos/$repository/issues/comments/$existing" "$work/body.json" >/dev/null ||
    { echo "::error title=entra-csa::cannot update the plan comment $existing: $(cat "$work/answer")" >&2; exit 1; }
  echo "updated the plan comment $existing (written by $author)"
else
  call POST "repos/$repository/issues/$pull_request/comments" "$work/body.json" >/dev/null ||
    { echo "::error title=entra-csa::cannot comment on #$pull_request (a pull request from a fork gets a read-only token): $(cat "$work/answer")" >&2; exit 1; }
  echo "posted the plan comment as $author"
fi
